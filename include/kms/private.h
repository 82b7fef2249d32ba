/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_PRIVATE_H
#define VSCANOUT_KMS_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "kms/device.h"
#include "kms/flip.h"
#include "kms/output.h"
#include "kms/properties.h"

/*
 * What the files of src/kms share to build an output's frames. Nothing
 * outside src/kms includes this header.
 *
 * A frame goes one way through these steps, each in the file named for it
 * (kms_output_commit() in commit.c drives them):
 *
 *   frame.c    build: import each layer's buffer as a framebuffer, check it
 *              against the formats and rotations of the planes the output's
 *              CRTC can use, take a composition buffer and decide whether
 *              the last placement still holds (struct kms_frame)
 *   place.c    place: the last placement again with new FB_IDs, or a new
 *              one from libliftoff on the device's shared planes; the
 *              request gets this output's planes only
 *   compose.c  compose: the layers no plane took are copied into the
 *              composition buffer over the placeholder colour
 *   commit.c   commit: the flip method, async → vsync fallback, a reused
 *              placement the kernel rejects is placed again, a refused
 *              commit goes out again with every layer copied, a frame no
 *              commit takes is announced (events.failed)
 *   present.c  present: the flip event turns the frame in flight into the
 *              one on screen, emits events.present, unlocks the buffers it
 *              replaced and frees dead layers
 *
 * output.c holds the output's lifecycle (enable, disable, update, destroy),
 * layer.c the layer API, info.c the inspection snapshot.
 */

struct scanout_buffer;

/* The frame being built and committed by kms_output_commit(). */
struct kms_frame {
	/* build (frame.c) */
	bool copy_all;               /* every layer is copied: a commit with planes was refused */
	bool any_visible;            /* a layer has a buffer */
	struct scanout_buffer *comp; /* composition (or placeholder) buffer */
	bool modeset;                /* the output's mode goes out with the frame */
	bool reuse;                  /* the last placement, with new FB_IDs */

	/* request (commit.c) */
	struct kms_atomic atomic;
	uint32_t flags;
	bool capture; /* a writeback job rides on the commit */

	/* what went where (place.c) */
	bool copied;            /* a visible layer is not on a plane */
	unsigned int planes_on; /* planes lit by the frame */
	unsigned int n_direct;  /* layers on a plane */
	uint32_t primary_fb;    /* whole-screen FB_ID on the primary plane, 0: none */
	bool comp_used;         /* the composition buffer is on a plane */
	enum kms_flip_method method;
};

/* ---- frame.c ---- */

/*
 * Start a frame: import the layers' buffers (all of them copied when
 * copy_all), take a composition buffer and decide whether the last
 * placement may be reused. Returns 0, or -ENOMEM when no composition buffer
 * is free (logged).
 */
int kms_frame_build(struct kms_output *output, struct kms_frame *frame, bool copy_all);

/* The layer's rectangles with the defaults filled in; dst in the logical space. */
void kms_layer_rects(const struct kms_layer *layer, struct kms_rect *dst,
		     struct kms_fixed_rect *src);

/* ---- place.c ---- */

/*
 * The device's libliftoff context, with every plane of the device
 * registered. NULL on failure (logged).
 */
struct liftoff_device *kms_place_device_create(struct kms_device *device);

/* The output's libliftoff output and layers for its CRTC. Returns 0 or a negative errno. */
int kms_place_setup(struct kms_output *output);
void kms_place_teardown(struct kms_output *output);

/* Give the layer its libliftoff layer if the output has placement set up. */
int kms_place_attach_layer(struct kms_layer *layer);

/*
 * Put the frame's layers on planes: the last placement with new FB_IDs
 * (frame->reuse), or a new placement from libliftoff. Adds this output's
 * planes, and only those, to frame->atomic, and fills in what went where
 * (state of each layer, frame->copied, planes_on, primary_fb, comp_used).
 * Returns 0 or a negative errno (no plane configuration).
 */
int kms_place_frame(struct kms_output *output, struct kms_frame *frame);

/* Whether plane is on screen or in flight for an output other than output. */
bool kms_plane_busy(const struct kms_plane *plane, const struct kms_output *output);

/* The planes of frame are in flight for output (the commit succeeded). */
void kms_place_queued(struct kms_output *output);

/* Output's commit in flight flipped: its planes are on screen, others released. */
void kms_place_flipped(struct kms_output *output);

/* Output lit nothing any more (off or gone): its planes are free. */
void kms_place_released(struct kms_output *output);

/*
 * Add the planes output has on screen or in flight, and those someone else
 * left on its CRTC (read from the kernel), turned off, to atomic.
 */
void kms_place_add_planes_off(struct kms_output *output, struct kms_atomic *atomic);

const struct kms_plane *kms_plane_by_id(const struct kms_device *device, uint32_t id);

/* ---- compose.c ---- */

/*
 * Copy the layers no plane took (or only the placeholder) into the frame's
 * composition buffer. Returns 0, or -EAGAIN when a buffer to copy is still
 * being written: the output waits for it on the loop and commits again.
 */
int kms_compose_frame(struct kms_output *output, struct kms_frame *frame);

/* ---- commit.c ---- */

/* Add the output's CRTC, connector and planes turned off (and writeback unbound). */
void kms_output_add_off(struct kms_output *output, struct kms_atomic *atomic);

/* No commit took the frame: say so, so that no source waits for it. */
void kms_output_frame_failed(struct kms_output *output);

/* ---- present.c ---- */

/* The frame's commit succeeded: its buffers, planes and present event are in flight. */
void kms_present_queue(struct kms_output *output, struct kms_frame *frame);

/* ---- output.c ---- */

/* The output stops showing frames: tell events.off, once per lighting. */
void kms_output_announce_off(struct kms_output *output);

/* Forget everything the CRTC showed; the hardware is off or gone. */
void kms_output_release_hw(struct kms_output *output);

/* Commit the CRTC off (or wait for the flip in flight first). */
void kms_output_turn_off(struct kms_output *output);

/* ---- layer.c ---- */

/* Unlock and drop the buffers in flight and on screen. */
void kms_layer_drop_slots(struct kms_layer *layer);

/* Free a layer (live or dead) and everything it holds. */
void kms_layer_free(struct kms_layer *layer);

#endif
