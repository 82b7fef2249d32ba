/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the real-kernel tests of the vblank sources: a client that
 * reads a source's eventfd on the event loop and checks the memfd record at
 * every wakeup, and loop-time waits. Failures go through kt_fail().
 */
#ifndef VSCANOUT_TESTS_VBLANK_COMMON_H
#define VSCANOUT_TESTS_VBLANK_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "kms/vblank.h"
#include "kmstest.h"

/* A client of one source, as a VMM would be, living on the test's loop. */
struct tv_client {
	int eventfd, memfd;                          /* duplicates, owned */
	const struct vscanout_vblank_record *record; /* read-only mapping of memfd */
	struct wl_event_source *source;
	uint64_t total;                           /* sum of the eventfd reads */
	uint64_t wakeups;                         /* reads that returned a count */
	struct vscanout_vblank_state first, last; /* record at the first and last wakeup */
	/* Largest |timestamp step / sequence step - refresh_ns| seen, ns. */
	uint64_t max_step_error_ns;
	/*
	 * Set by the test: ticks stopped, the next record's sequence may jump
	 * (as it may when the flags change between wakeups).
	 */
	bool resumed;
};

/*
 * Take the fds of source, check their flags (close-on-exec, non-blocking
 * eventfd, sealed memfd a client cannot write) and watch the eventfd on loop.
 */
void tv_client_init(struct tv_client *c, struct wl_event_loop *loop,
		    struct kms_vblank_source *source);

/* Stop watching; close the fds. */
void tv_client_finish(struct tv_client *c);

/* Take what the eventfd counted so far now, without dispatching the loop. */
void tv_client_drain(struct tv_client *c);

/* Read the record through the client's mapping. */
void tv_client_read(const struct tv_client *c, struct vscanout_vblank_state *state);

/* Dispatch loop for ms milliseconds of loop time (a timerfd on the loop). */
/* For tv_run_until(): whether the struct kms_output *data is off. */
bool tv_output_off(void *data);

void tv_run_for(struct wl_event_loop *loop, uint32_t ms);

/* Dispatch loop until pred(data) holds; fail with what after 20 s. */
void tv_run_until(struct wl_event_loop *loop, bool (*pred)(void *data), void *data,
		  const char *what);

/* Dispatch loop until c has counted n more ticks; fail with what after 20 s. */
void tv_wait_ticks(struct wl_event_loop *loop, struct tv_client *c, uint64_t n, const char *what);

#endif
