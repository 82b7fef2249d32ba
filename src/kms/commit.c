// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "kms/writeback.h"
#include "util/log.h"

/*
 * One frame, driven by kms_output_commit():
 *   1. build (frame.c): each layer's buffer is imported (a remembered
 *      failure is fast) and pre-filtered by the formats of the planes the
 *      output's CRTC can use; a composition buffer is taken; the last
 *      placement is reused when only framebuffers changed;
 *   2. place (place.c): the last placement with the new FB_IDs and no test
 *      commit, or libliftoff places the layers with TEST_ONLY commits, the
 *      composition layer holding the scanout buffer when a layer is visible,
 *      the placeholder layer when none is;
 *   3. compose (compose.c): layers left without a plane are copied into the
 *      composition buffer, over the placeholder colour;
 *   4. commit (here): kms_flip_decide() picks vsync or async, the commit
 *      goes out, and a rejected async commit is committed again with vsync;
 *   5. a reused placement the kernel rejects (which changed nothing) is
 *      placed again from step 2;
 *   6. a real commit the kernel refuses with layers on planes goes out again
 *      from step 1 with every layer copied (those buffers are copied from
 *      then on); a frame no commit takes is announced on events.failed;
 *   7. present (present.c): the committed frame is in flight until its flip
 *      event.
 */

/* How one pass of steps 2-4 ended. */
enum submit_result {
	SUBMIT_OK,
	SUBMIT_NO_CONFIG, /* no plane configuration could be built */
	SUBMIT_WAIT,      /* a buffer to copy is still being written: not committed */
	SUBMIT_REFUSED,   /* the kernel refused the commit */
};

/* Whether a commit failed because the device is no longer ours or gone. */
static bool device_lost(int ret)
{
	return ret == -EACCES || ret == -EPERM || ret == -ENODEV;
}

void kms_output_frame_failed(struct kms_output *output)
{
	output->stats.frames_failed++;
	wl_signal_emit_mutable(&output->events.failed, output);
}

static void add_modeset(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_device *device = output->device;
	struct kms_crtc *crtc = output->crtc;

	if (output->mode_blob == 0 &&
	    drmModeCreatePropertyBlob(device->fd, &output->mode, sizeof(output->mode),
				      &output->mode_blob) != 0) {
		atomic->error = atomic->error ? atomic->error : -errno;
		return;
	}
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_ACTIVE], 1);
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_MODE_ID], output->mode_blob);
	kms_atomic_add(atomic, output->connector_id, output->connector_props[KMS_CONNECTOR_CRTC_ID],
		       crtc->id);
	if (output->connector_props[KMS_CONNECTOR_LINK_STATUS] != 0)
		kms_atomic_add(atomic, output->connector_id,
			       output->connector_props[KMS_CONNECTOR_LINK_STATUS],
			       DRM_MODE_LINK_STATUS_GOOD);
	/* Other connectors someone left on this CRTC come off it. */
	struct kms_output *other;
	wl_list_for_each (other, &device->outputs, link) {
		uint64_t bound = 0;
		if (other == output || other->state == KMS_OUTPUT_ON)
			continue;
		if (kms_prop_get(device->fd, other->connector_id, DRM_MODE_OBJECT_CONNECTOR,
				 other->connector_props[KMS_CONNECTOR_CRTC_ID], &bound) == 0 &&
		    bound == crtc->id)
			kms_atomic_add(atomic, other->connector_id,
				       other->connector_props[KMS_CONNECTOR_CRTC_ID], 0);
	}
}

void kms_output_add_off(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_crtc *crtc = output->crtc;
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_ACTIVE], 0);
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_MODE_ID], 0);
	kms_atomic_add(atomic, output->connector_id, output->connector_props[KMS_CONNECTOR_CRTC_ID],
		       0);
	kms_capture_unbind(output, atomic);
	kms_place_add_planes_off(output, atomic);
}

/*
 * The request's start: flags, the mode when it goes out, a writeback job.
 * The request is the output's, emptied: nothing is allocated frame after
 * frame.
 */
static void request_begin(struct kms_output *output, struct kms_frame *frame)
{
	frame->atomic = output->atomic_spare;
	output->atomic_spare = (struct kms_atomic){0};
	kms_atomic_reset(&frame->atomic);
	frame->flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
	if (frame->modeset) {
		add_modeset(output, &frame->atomic);
		frame->flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	}
	frame->capture = false;
	if (output->capture != NULL) {
		bool bind = false;
		frame->capture = kms_capture_prepare(output, &frame->atomic, &bind) == 0;
		if (bind)
			frame->flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	}
}

/* The request is done with: the output keeps it for the next one. */
static void request_end(struct kms_output *output, struct kms_frame *frame)
{
	if (frame->atomic.req == NULL && frame->atomic.items == NULL)
		return;
	kms_atomic_finish(&output->atomic_spare);
	output->atomic_spare = frame->atomic;
	frame->atomic = (struct kms_atomic){0};
}

/* Step 4: commit with the flip method chosen; async falls back to vsync. */
static int flip(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	bool primary_only = frame->planes_on == 1 && frame->primary_fb != 0;
	struct kms_flip_input in = {
		.policy = output->settings.flip,
		.cap_atomic_async = device->caps.atomic_async_page_flip,
		.cap_legacy_async = device->caps.async_page_flip,
		.atomic_probe = output->atomic_async_probe,
		.legacy_probe = output->legacy_async_probe,
		.modeset = frame->modeset || (frame->flags & DRM_MODE_ATOMIC_ALLOW_MODESET),
		.capture = frame->capture,
		.primary_only = primary_only,
		/* Only the reused placement's request is FB_IDs alone. */
		.fb_only = frame->reuse && primary_only && output->last_primary_fb != 0,
	};
	struct kms_flip_decision decision = kms_flip_decide(&in);
	enum kms_flip_method method = decision.method;
	int ret;
	if (method == KMS_FLIP_METHOD_ATOMIC_ASYNC && decision.probe) {
		/* The kernel refuses an event on a test: the probe asks none. */
		uint32_t test = (frame->flags & ~(uint32_t)DRM_MODE_PAGE_FLIP_EVENT) |
				DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_ASYNC;
		ret = kms_atomic_commit(&frame->atomic, device->fd, test, NULL);
		kms_flip_record(&output->atomic_async_probe, &output->legacy_async_probe, method,
				ret);
		if (ret != 0) {
			log_info("output %s: atomic async flips rejected (%s), flipping on vblank",
				 output->name, strerror(-ret));
			method = KMS_FLIP_METHOD_VSYNC;
			output->stats.async_fallbacks++;
		}
	}
	ret = -EINVAL;
	if (method == KMS_FLIP_METHOD_ATOMIC_ASYNC) {
		ret = kms_atomic_commit(&frame->atomic, device->fd,
					frame->flags | DRM_MODE_PAGE_FLIP_ASYNC, device);
	} else if (method == KMS_FLIP_METHOD_LEGACY_ASYNC) {
		ret = drmModePageFlip(device->fd, output->crtc->id, frame->primary_fb,
				      DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_PAGE_FLIP_ASYNC, device);
		if (ret < 0 && errno > 0)
			ret = -errno;
	}
	if (method != KMS_FLIP_METHOD_VSYNC) {
		kms_flip_record(&output->atomic_async_probe, &output->legacy_async_probe, method,
				ret);
		if (kms_commit_rejected(ret)) {
			log_info("output %s: %s flip rejected (%s), flipping on vblank",
				 output->name, kms_flip_method_name(method), strerror(-ret));
			method = KMS_FLIP_METHOD_VSYNC;
			output->stats.async_fallbacks++;
		}
	}
	if (method == KMS_FLIP_METHOD_VSYNC)
		ret = kms_atomic_commit(&frame->atomic, device->fd, frame->flags, device);
	frame->method = method;
	return ret;
}

/* Steps 2-4 on a built frame; *error gets the failure's negative errno. */
static enum submit_result submit(struct kms_output *output, struct kms_frame *frame, int *error)
{
	request_begin(output, frame);
	int ret = frame->atomic.error;
	if (ret == 0)
		ret = kms_place_frame(output, frame);
	if (ret == 0)
		ret = frame->atomic.error;
	if (ret < 0) {
		char flags_str[96];
		log_error("output %s: no plane configuration (%s): %s", output->name,
			  kms_commit_flags_str(frame->flags, flags_str, sizeof(flags_str)),
			  strerror(-ret));
		*error = ret;
		return SUBMIT_NO_CONFIG;
	}
	/* Not committed: the frame is composed once they are (compose.c). */
	if (kms_compose_frame(output, frame) == -EAGAIN)
		return SUBMIT_WAIT;
	*error = flip(output, frame);
	return *error < 0 ? SUBMIT_REFUSED : SUBMIT_OK;
}

/* Steps 1-6: returns how the last pass ended. */
static enum submit_result commit_frame(struct kms_output *output, struct kms_frame *frame,
				       int *refused)
{
	char flags_str[96];
	int error = 0;
	*refused = 0;
	if (kms_frame_build(output, frame, false) < 0)
		return SUBMIT_NO_CONFIG;
	enum submit_result res = submit(output, frame, &error);
	if (res == SUBMIT_REFUSED && frame->reuse && kms_commit_rejected(error)) {
		/* Step 5: the rejection changed nothing; place the same frame anew. */
		log_debug("output %s: the last placement was rejected (%s), placing again",
			  output->name, strerror(-error));
		request_end(output, frame);
		frame->reuse = false;
		res = submit(output, frame, &error);
	}
	if (frame->capture && (res == SUBMIT_OK || res == SUBMIT_REFUSED))
		kms_capture_committed(output, res == SUBMIT_OK ? 0 : error);
	if (res != SUBMIT_REFUSED)
		return res;
	output->stats.commit_failures++;
	log_error("output %s: commit (%s) failed: %s", output->name,
		  kms_commit_flags_str(frame->flags, flags_str, sizeof(flags_str)),
		  strerror(-error));
	if (frame->n_direct == 0 || device_lost(error))
		return res;

	/*
	 * Step 6: a test commit cannot catch everything (a driver maps the
	 * buffers only for the real one): the same frame, every layer copied.
	 */
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link)
		layer->refused = layer->state.direct;
	request_end(output, frame);
	output->placed_valid = false;
	output->stats.copy_fallbacks++;
	*refused = -error;
	if (kms_frame_build(output, frame, true) < 0)
		return SUBMIT_NO_CONFIG;
	res = submit(output, frame, &error);
	if (frame->capture && (res == SUBMIT_OK || res == SUBMIT_REFUSED))
		kms_capture_committed(output, res == SUBMIT_OK ? 0 : error);
	if (res == SUBMIT_REFUSED) {
		output->stats.commit_failures++;
		log_error("output %s: commit (%s) failed: %s", output->name,
			  kms_commit_flags_str(frame->flags, flags_str, sizeof(flags_str)),
			  strerror(-error));
	}
	return res;
}

void kms_output_commit(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (!device->active || output->state != KMS_OUTPUT_ON || output->flip_pending)
		return;
	if (kms_capture_in_flight(output)) {
		/* Committed again once the writeback job is done. */
		output->frame_wanted = true;
		return;
	}
	output->frame_wanted = false;

	struct kms_frame frame;
	int refused;
	enum submit_result res = commit_frame(output, &frame, &refused);
	struct kms_layer *layer;
	switch (res) {
	case SUBMIT_OK:
		request_end(output, &frame);
		/* The copies went out: the buffers the kernel refused are copied from now on. */
		wl_list_for_each (layer, &output->layers, link) {
			if (layer->refused && layer->buffer != NULL)
				kms_fb_poison(layer->buffer, &device->fbs, refused);
			layer->refused = false;
		}
		kms_present_queue(output, &frame);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char flags_str[96];
			log_debug("output %s: committed (%s, %s)%s%s", output->name,
				  kms_commit_flags_str(frame.flags, flags_str, sizeof(flags_str)),
				  kms_flip_method_name(frame.method),
				  frame.copied ? ", copied" : "",
				  frame.reuse ? ", placement reused" : "");
		}
		return;
	case SUBMIT_WAIT:
		output->placed_valid = false;
		request_end(output, &frame);
		output->frame_wanted = true;
		return;
	case SUBMIT_NO_CONFIG:
	case SUBMIT_REFUSED:
		output->placed_valid = false;
		request_end(output, &frame);
		wl_list_for_each (layer, &output->layers, link)
			layer->refused = false;
		kms_output_frame_failed(output);
		return;
	}
}
