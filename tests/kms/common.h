/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the real-kernel tests of the KMS core: udmabuf-backed
 * buffers, waiting on the event loop, captures and present counting.
 * Failures go through kt_fail() (tests/kernel/kmstest.h).
 */
#ifndef VSCANOUT_TESTS_KMS_COMMON_H
#define VSCANOUT_TESTS_KMS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "kmstest.h"

struct buffer;
struct kms_device;
struct kms_output;
struct kms_output_settings;

#define TK_TIMEOUT_MS 20000

/* A memfd, its udmabuf and a struct buffer around it. */
struct tk_udmabuf {
	struct kt_udmabuf mem;
	void *map; /* the memfd's own mapping (mem.map) */
	size_t size;
	uint32_t width, height, stride, fourcc;
	struct buffer *buffer; /* one reference, owned */
};

/* width × height of fourcc (bytes per pixel bpp), zeroed; skips without /dev/udmabuf. */
void tk_udmabuf_create(struct tk_udmabuf *u, uint32_t width, uint32_t height, uint32_t fourcc,
		       uint32_t bpp);

/* Drop the buffer reference and free the memory. */
void tk_udmabuf_destroy(struct tk_udmabuf *u);

/* A kt_image over the mapping (32-bit formats only). */
struct kt_image tk_udmabuf_image(struct tk_udmabuf *u);

/* Dispatch loop until *flag or the timeout (then fail with what). */
void tk_wait(struct wl_event_loop *loop, const bool *flag, const char *what);

/* Counts present events of one output. */
struct tk_presents {
	struct wl_listener listener;
	struct kms_output *output;
	uint64_t count;
	uint32_t last_flags;
	struct buffer *last_buffer; /* of layer 0 in the last present, may be NULL */
};

void tk_presents_init(struct tk_presents *p, struct kms_output *output);
void tk_presents_finish(struct tk_presents *p);

/*
 * Wait until p->count reaches count. No present for TK_TIMEOUT_MS is taken
 * as the test bed hanging: the output's state (flip pending, frame wanted,
 * capture in flight, commits) is printed to show where, and the test exits
 * KT_EXIT_HUNG.
 */
void tk_wait_presents(struct wl_event_loop *loop, struct tk_presents *p, uint64_t count);

/*
 * The usual start of a KMS core test: open the card driven by `driver` into
 * dev (exit 77 without one), log at info (debug with VSCANOUT_DEBUG), take
 * the card over with the KMS core on a new event loop, light its output
 * Virtual-1 with settings and wait for the first present, counted in
 * presents (initialised here). Returns the output; *loop and *device are
 * the caller's to destroy.
 */
struct kms_output *tk_light_virtual1(struct kt_device *dev, const char *driver,
				     const struct kms_output_settings *settings,
				     struct wl_event_loop **loop, struct kms_device **device,
				     struct tk_presents *presents);

/* Capture the output's next frame into img (allocated, XRGB8888). */
void tk_capture(struct wl_event_loop *loop, struct kms_output *output, struct kt_image *img);

#endif
