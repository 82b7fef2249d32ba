/* SPDX-License-Identifier: MIT */
/*
 * The daemon in the test process and vscanout-sim-vmm as its child: the
 * child's output (--trace lines, then its statistics) and its exit are
 * watched on the daemon's event loop, which the test dispatches while it
 * waits. Failures go through kt_fail() (tests/kernel/kmstest.h).
 */
#ifndef VSCANOUT_TESTS_E2E_CHILD_H
#define VSCANOUT_TESTS_E2E_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

#include "kms/output.h"

struct daemon;

#define E2E_TIMEOUT_MS 30000

/* A --trace line "commit serial=S time_ns=T frame=F". */
struct e2e_commit {
	uint32_t serial;
	uint64_t time_ns;
};

/* A --trace line "presented serial=S time_ns=T sequence=Q refresh_ns=R flags=F". */
struct e2e_presented {
	uint32_t serial;
	uint64_t time_ns;
	uint64_t sequence;
	bool zero_copy, vsync;
};

struct e2e_child {
	pid_t pid;
	int out_fd; /* owned: read end of the child's output, or its file when quiet */
	bool quiet; /* output into a file, read at the exit */
	int pidfd;  /* owned */
	struct wl_event_source *out_source;  /* may be NULL: quiet */
	struct wl_event_source *exit_source; /* may be NULL after the exit */
	bool eof, exited;
	int status; /* from waitpid, once exited */

	char *text; /* everything the child printed (stdout and stderr), NUL-terminated */
	size_t len, cap, parsed;

	struct e2e_commit *commits;
	size_t n_commits, cap_commits;
	struct e2e_presented *presented;
	size_t n_presented, cap_presented;
	size_t n_discarded;
};

/*
 * Start argv[0] with argv, its stdout and stderr into one pipe, watched on
 * loop with its exit.
 */
void e2e_child_spawn(struct e2e_child *child, struct wl_event_loop *loop, char *const argv[]);

/*
 * Like e2e_child_spawn(), but the child writes into a file read once it has
 * exited: nothing of it reaches the loop while it runs (for benchmarks).
 */
void e2e_child_spawn_quiet(struct e2e_child *child, struct wl_event_loop *loop, char *const argv[]);

/* Send sig to the child, if it still runs. */
void e2e_child_kill(struct e2e_child *child, int sig);

/* Close everything (the child must have exited). */
void e2e_child_finish(struct e2e_child *child);

/* The line of the child's final statistics that starts with prefix, or fail. */
const char *e2e_child_stat(const struct e2e_child *child, const char *prefix);

/*
 * One round of the daemon's loop: flush the protocol clients, then
 * dispatch. Fails the test with what once deadline_ns (CLOCK_MONOTONIC)
 * has passed.
 */
void e2e_dispatch(struct daemon *daemon, uint64_t deadline_ns, const char *what);

/* Every present event of one output, as the KMS core reported it. */
struct e2e_present_log {
	struct wl_listener listener;
	struct e2e_present *entries;
	size_t n, cap;
};

struct e2e_present {
	uint32_t sequence;
	uint64_t time_ns;
	uint32_t flags; /* enum kms_present_flags */
};

void e2e_present_log_init(struct e2e_present_log *log, struct kms_output *output);
void e2e_present_log_finish(struct e2e_present_log *log);

/* The entry of the flip at sequence, or NULL. */
const struct e2e_present *e2e_present_log_find(const struct e2e_present_log *log,
					       uint64_t sequence);

/* Start the daemon on configuration text (LIBSEAT_BACKEND=noop). */
struct daemon *e2e_daemon_create(const char *text);

#endif
