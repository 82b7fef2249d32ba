/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the control tests: the real vscanoutctl run in a child while
 * the daemon's loop is dispatched in this process, its output captured;
 * a raw vscanout_control_v1 client for children that misbehave; the status
 * document fetched and parsed. Failures go through kt_fail().
 */
#ifndef VSCANOUT_TESTS_CONTROL_HELPERS_H
#define VSCANOUT_TESTS_CONTROL_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "control/json.h"
#include "vscanout-v1-client-protocol.h"

/* What one run of vscanoutctl did. */
struct ctl_result {
	int status;      /* from waitpid() */
	int exit_code;   /* -1 unless it exited */
	char *out, *err; /* its standard output and error, NUL-terminated, owned */
	size_t out_len;
};

/*
 * Run the vscanoutctl at path with args (NULL-terminated), as uid unless
 * uid is 0 (then gid = uid, and group, unless 0, its one supplementary
 * group), dispatching display's loop (flushing its clients) until it
 * exits. The output is printed for the log.
 */
void ctl_run(struct wl_display *display, struct ctl_result *r, uid_t uid, gid_t group,
	     const char *path, ...) __attribute__((sentinel));

void ctl_result_finish(struct ctl_result *r);

/*
 * Check a status document against doc/vscanoutctl-status.schema.json with
 * tests/control/validate-json.py (python3-jsonschema); fail the test, with
 * the validator's reasons on standard error, when it does not match.
 */
void status_check_schema(const char *text, size_t len);

/*
 * Run `vscanoutctl --socket socket status --json`, check that it exits 0,
 * parse its output (fail if it is not JSON), check it against the schema
 * (status_check_schema()) and return it.
 */
struct json_value *ctl_status(struct wl_display *display, const char *ctl, const char *socket);

/* The output called name in a status document, or NULL. */
const struct json_value *status_output(const struct json_value *status, const char *name);

/* The vGPU called name in a status document, or NULL. */
const struct json_value *status_vgpu(const struct json_value *status, const char *name);

/* The layer of zpos in an output of the document, or NULL. */
const struct json_value *status_layer(const struct json_value *output, int zpos);

/*
 * The kernel's atomic state of DRM minor, /sys/kernel/debug/dri/MINOR/state
 * (malloc'd, NUL-terminated; fails the test when it cannot be read).
 */
char *debugfs_state(unsigned int minor);

/* "active=" of crtc[crtc_id] in a state text; fails the test when absent. */
int debugfs_crtc_active(const char *state, uint32_t crtc_id);

/* The output's "minor" in the status; fails the test when missing. */
unsigned int status_minor(const struct json_value *output);

/*
 * In a forked child: die with the test process, so that a failed test
 * leaves no child holding the daemon's socket and lock behind.
 */
void child_die_with_parent(void);

/* The last message libwayland-client logged in a child (a protocol error's text). */
extern char control_last_log[512];

/* A bare connection with the control global bound (children; exits 1 on failure). */
#define CONTROL_CLIENT_SERIALS 16

struct control_answer {
	int answered; /* 0: not yet, 1: done, -1: failed */
	uint32_t value;
	char message[256];
	bool image; /* a capture's image event came, with: */
	uint32_t width, height, stride, format;
};

struct control_client {
	struct wl_display *display;
	struct vscanout_control_v1 *control;
	struct control_answer answers[CONTROL_CLIENT_SERIALS]; /* by serial */
	uint32_t version; /* asked for: bound at most at the daemon's */
};

/* Bound at version 1. */
void control_client_connect(struct control_client *c, const char *socket);

/* Bound at version, or the daemon's if lower (3 for capture). */
void control_client_connect_version(struct control_client *c, const char *socket, uint32_t version);

/*
 * Dispatch until the request of serial (below CONTROL_CLIENT_SERIALS) is
 * answered and return the answer; exits 1 on a connection error.
 */
const struct control_answer *control_client_wait(struct control_client *c, uint32_t serial);

#endif
