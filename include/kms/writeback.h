/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_WRITEBACK_H
#define VSCANOUT_KMS_WRITEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "kms/properties.h"

/*
 * Capturing what an output's CRTC shows through a writeback connector of its
 * device (vkms has one; most display hardware of phones and some desktop
 * ones too). The capture rides on the output's next commit: a dumb buffer is
 * attached to WRITEBACK_FB_ID, the commit's out-fence is watched on the
 * event loop (never waited for), and the pixels are handed to a callback.
 *
 * The writeback connector stays bound to the CRTC after the first capture,
 * so later captures need no modeset; it is unbound when the output turns off.
 */

struct kms_output;

struct kms_writeback {
	uint32_t id;
	uint32_t possible_crtcs;
	uint32_t props[KMS_CONNECTOR_PROP__COUNT];
	struct kms_output *bound; /* may be NULL: the output whose CRTC it is on */
};

/*
 * Receives a capture: XRGB8888 pixels (width × height, stride bytes per
 * row), valid during the call only. status is 0, or a negative errno when
 * the capture failed (then pixels is NULL): -ENODEV when the output turned
 * off first, -ETIMEDOUT when it was not done within 2 s of the request (no
 * commit could take it, or the driver lost the writeback job; the output's
 * frames, held back meanwhile, go on), or the commit's error.
 */
typedef void (*kms_capture_func)(struct kms_output *output, int status, const void *pixels,
				 uint32_t width, uint32_t height, uint32_t stride, void *data);

/*
 * Capture the frame of the output's next commit (one is scheduled) and call
 * callback with it. One capture per output at a time. Returns 0, -ENOTSUP
 * when the device has no writeback connector for the output's CRTC,
 * -ENODEV when the output is not on, -EBUSY when a capture is already
 * waiting.
 */
int kms_output_capture(struct kms_output *output, kms_capture_func callback, void *data);

/* private, for kms/output.c */

struct kms_capture;

/*
 * Add the capture's writeback job to atomic (binding the connector to the
 * CRTC if needed; *modeset is set then). Returns 0 or a negative errno.
 */
int kms_capture_prepare(struct kms_output *output, struct kms_atomic *atomic, bool *modeset);

/* The commit carrying the capture returned ret: watch the fence, or fail. */
void kms_capture_committed(struct kms_output *output, int ret);

/*
 * Whether a committed capture still waits for its writeback fence. The
 * output commits nothing else meanwhile: a writeback job that a following
 * commit overtakes before the driver ran it may never signal (seen on vkms
 * with a frame every vblank).
 */
bool kms_capture_in_flight(const struct kms_output *output);

/* Unbind the writeback connector in atomic if it is bound to output. */
void kms_capture_unbind(struct kms_output *output, struct kms_atomic *atomic);

/* The output turned off or is destroyed: fail a pending capture with -ENODEV. */
void kms_capture_cancel(struct kms_output *output);

#endif
