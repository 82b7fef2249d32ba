// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <libliftoff.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "kms/writeback.h"
#include "render/scanout.h"
#include "util/log.h"

/*
 * An output's lifecycle: settings and sizes, lighting a CRTC with a mode,
 * turning it off, following the connector and the session, and freeing it.
 * Its frames go through the steps listed in kms/private.h.
 */

#define SWAPCHAIN_BUFFERS 2

void kms_output_settings_init(struct kms_output_settings *settings)
{
	*settings = (struct kms_output_settings){
		.flip = KMS_FLIP_ASYNC,
		.placeholder = KMS_PLACEHOLDER_DEFAULT,
	};
}

void kms_output_get_mode_size(const struct kms_output *output, uint32_t *width, uint32_t *height)
{
	bool on = output->state == KMS_OUTPUT_ON;
	*width = on ? output->mode.hdisplay : 0;
	*height = on ? output->mode.vdisplay : 0;
}

void kms_output_get_size(const struct kms_output *output, uint32_t *width, uint32_t *height)
{
	uint32_t w, h;
	kms_output_get_mode_size(output, &w, &h);
	kms_rotation_logical_size(output->settings.rotation, w, h, width, height);
}

void kms_output_rect_to_mode(const struct kms_output *output, const struct kms_rect *logical,
			     struct kms_rect *mode)
{
	kms_rotation_rect_to_mode(output->settings.rotation, output->mode.hdisplay,
				  output->mode.vdisplay, logical, mode);
}

static void handle_idle(void *data)
{
	struct kms_output *output = data;
	output->idle = NULL;
	kms_output_commit(output);
}

static int handle_frame_timer(void *data)
{
	struct kms_output *output = data;
	output->frame_timer_armed = false;
	if (output->frame_wanted)
		kms_output_commit(output);
	return 0;
}

/* Whether the next frame may be an async flip, which does not wait for a vblank. */
static bool may_flip_async(const struct kms_output *output)
{
	const struct kms_device *device = output->device;
	return output->settings.flip == KMS_FLIP_ASYNC &&
	       ((device->caps.atomic_async_page_flip &&
		 output->atomic_async_probe != KMS_ASYNC_REJECTED) ||
		(device->caps.async_page_flip && output->legacy_async_probe != KMS_ASYNC_REJECTED));
}

/*
 * When a frame that flips on a vblank is committed: not before a third of
 * a refresh ahead of the vblank it aims at. A commit made earlier would
 * flip on that same vblank, but changes made after it would then wait for
 * its flip event and the next vblank: two vGPUs of one output (or a guest
 * and the host cursor) each answering their own presented event would take
 * turns, each at half the refresh rate. Waiting until the deadline puts
 * all the changes of one refresh into one commit. Returns the deadline
 * (CLOCK_MONOTONIC), or 0 to commit at once (past it, no flip seen yet, or
 * async flips possible).
 */
static uint64_t frame_deadline(const struct kms_output *output)
{
	uint32_t mhz = kms_mode_refresh_mhz(&output->mode);
	if (output->last_flip_ns == 0 || mhz == 0 || may_flip_async(output))
		return 0;
	uint64_t period = 1000000000000ull / mhz;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now < output->last_flip_ns)
		return 0;
	uint64_t vblank =
		output->last_flip_ns + ((now - output->last_flip_ns) / period + 1) * period;
	uint64_t deadline = vblank - period / 3;
	return deadline > now + 1000000u ? deadline - now : 0;
}

void kms_output_schedule_frame(struct kms_output *output)
{
	output->frame_wanted = true;
	if (output->idle != NULL || output->frame_timer_armed || output->flip_pending ||
	    output->state != KMS_OUTPUT_ON)
		return;
	uint64_t wait_ns = frame_deadline(output);
	if (wait_ns > 0) {
		if (output->frame_timer == NULL)
			output->frame_timer = wl_event_loop_add_timer(output->device->loop,
								      handle_frame_timer, output);
		if (output->frame_timer != NULL &&
		    wl_event_source_timer_update(output->frame_timer, (int)(wait_ns / 1000000u)) ==
			    0) {
			output->frame_timer_armed = true;
			return;
		}
	}
	output->idle = wl_event_loop_add_idle(output->device->loop, handle_idle, output);
	if (output->idle == NULL)
		log_error("output %s: cannot schedule a frame", output->name);
}

/* ---- modes and CRTCs -------------------------------------------------- */

static const drmModeModeInfo *pick_mode(struct kms_output *output)
{
	const struct kms_output_settings *s = &output->settings;
	const drmModeModeInfo *preferred = NULL, *best = NULL;

	for (int i = 0; i < output->n_modes; i++) {
		const drmModeModeInfo *mode = &output->modes[i];
		if ((mode->type & DRM_MODE_TYPE_PREFERRED) && preferred == NULL)
			preferred = mode;
		if (s->width == 0 || mode->hdisplay != s->width || mode->vdisplay != s->height)
			continue;
		uint32_t rate = kms_mode_refresh_mhz(mode);
		if (s->refresh_mhz == 0) {
			if (best == NULL || rate > kms_mode_refresh_mhz(best))
				best = mode;
		} else if ((rate > s->refresh_mhz ? rate - s->refresh_mhz : s->refresh_mhz - rate) <
			   500) {
			best = mode;
		}
	}
	if (best != NULL)
		return best;
	if (s->width != 0)
		log_warn("output %s: no mode %ux%u@%u.%03u, using the preferred one", output->name,
			 s->width, s->height, s->refresh_mhz / 1000, s->refresh_mhz % 1000);
	if (preferred == NULL && output->n_modes > 0)
		preferred = &output->modes[0];
	return preferred;
}

static struct kms_crtc *pick_crtc(struct kms_output *output)
{
	struct kms_device *device = output->device;
	uint64_t bound = 0;
	kms_prop_get(device->fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR,
		     output->connector_props[KMS_CONNECTOR_CRTC_ID], &bound);
	struct kms_crtc *found = NULL;
	for (size_t i = 0; i < device->n_crtcs; i++) {
		struct kms_crtc *crtc = &device->crtcs[i];
		if (crtc->owner != NULL || !(output->possible_crtcs & (1u << crtc->index)))
			continue;
		if (crtc->id == bound)
			return crtc;
		if (found == NULL)
			found = crtc;
	}
	return found;
}

static void comp_release(struct scanout_buffer **slot)
{
	if (*slot != NULL)
		scanout_buffer_release(*slot);
	*slot = NULL;
}

void kms_output_announce_off(struct kms_output *output)
{
	if (output->off_announced)
		return;
	output->off_announced = true;
	wl_signal_emit_mutable(&output->events.off, output);
}

void kms_output_release_hw(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (output->state == KMS_OUTPUT_ON)
		kms_output_announce_off(output);
	kms_capture_cancel(output);
	buffer_waiter_cancel(&output->readable_wait);
	if (output->idle != NULL)
		wl_event_source_remove(output->idle);
	output->idle = NULL;
	if (output->frame_timer_armed)
		wl_event_source_timer_update(output->frame_timer, 0);
	output->frame_timer_armed = false;
	output->last_flip_ns = 0;
	struct kms_layer *layer, *tmp;
	wl_list_for_each (layer, &output->layers, link) {
		kms_layer_drop_slots(layer);
		kms_fb_unref(layer->fb);
		layer->fb = NULL;
		memset(&layer->state, 0, sizeof(layer->state));
	}
	wl_list_for_each_safe (layer, tmp, &output->dead_layers, link)
		kms_layer_free(layer);
	kms_place_teardown(output);
	comp_release(&output->comp_queued);
	comp_release(&output->comp_current);
	scanout_swapchain_destroy(output->swapchain);
	output->swapchain = NULL;
	kms_place_released(output);
	if (output->crtc != NULL)
		output->crtc->owner = NULL;
	output->crtc = NULL;
	if (output->mode_blob != 0)
		drmModeDestroyPropertyBlob(device->fd, output->mode_blob);
	output->mode_blob = 0;
	output->flip_pending = false;
	output->last_primary_fb = 0;
	output->placed_valid = false;
	output->state = output->enabled ? KMS_OUTPUT_WAITING : KMS_OUTPUT_OFF;
}

static int output_light(struct kms_output *output)
{
	struct kms_device *device = output->device;
	const drmModeModeInfo *mode = pick_mode(output);
	if (mode == NULL) {
		log_error("output %s: no mode to light it with", output->name);
		return -ENOENT;
	}
	struct kms_crtc *crtc = pick_crtc(output);
	if (crtc == NULL) {
		log_warn("output %s: no free CRTC, waiting", output->name);
		return -EBUSY;
	}
	output->crtc = crtc;
	crtc->owner = output;
	output->mode = *mode;
	int ret = kms_place_setup(output);
	if (ret < 0) {
		log_error("output %s: cannot set up plane placement: %s", output->name,
			  strerror(-ret));
		goto error_hw;
	}
	output->swapchain = scanout_swapchain_create(&device->fbs, mode->hdisplay, mode->vdisplay,
						     DRM_FORMAT_XRGB8888, SWAPCHAIN_BUFFERS,
						     SCANOUT_ALLOC_AUTO);
	if (output->swapchain == NULL) {
		ret = -ENOMEM;
		goto error_hw;
	}
	output->state = KMS_OUTPUT_ON;
	output->off_announced = false;
	output->needs_modeset = true;
	log_info("output %s: lighting %ux%u@%.3f on CRTC %u, flips %s, placeholder #%06x",
		 output->name, mode->hdisplay, mode->vdisplay, kms_mode_refresh_mhz(mode) / 1000.0,
		 crtc->id, kms_flip_policy_name(output->settings.flip),
		 output->settings.placeholder & 0xffffff);
	kms_output_schedule_frame(output);
	return 0;

error_hw:
	kms_output_release_hw(output);
	return ret;
}

void kms_output_turn_off(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (output->state != KMS_OUTPUT_ON)
		return;
	if (output->flip_pending) {
		/* Turned off from the flip event of the commit in flight. */
		kms_output_announce_off(output);
		output->state = KMS_OUTPUT_DISABLING;
		output->off_committed = false;
		return;
	}
	if (!device->active) {
		kms_output_release_hw(output);
		return;
	}
	struct kms_atomic atomic;
	kms_atomic_init(&atomic);
	kms_output_add_off(output, &atomic);
	int ret = kms_atomic_commit(&atomic, device->fd,
				    DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_ATOMIC_ALLOW_MODESET |
					    DRM_MODE_PAGE_FLIP_EVENT,
				    device);
	kms_atomic_finish(&atomic);
	if (ret < 0) {
		log_warn("output %s: cannot turn the CRTC off: %s", output->name, strerror(-ret));
		kms_output_release_hw(output);
		return;
	}
	log_info("output %s: turning off", output->name);
	kms_output_announce_off(output);
	output->state = KMS_OUTPUT_DISABLING;
	output->off_committed = true;
	output->flip_pending = true;
	/*
	 * Its layers leave libliftoff now, so that other outputs' test
	 * commits stop writing its planes onto a CRTC being turned off; the
	 * planes stay its own until the flip (kms_plane_busy()).
	 */
	kms_place_teardown(output);
}

int kms_output_enable(struct kms_output *output, const struct kms_output_settings *settings)
{
	int ret;
	struct kms_output_settings old = output->settings;
	if (settings != NULL)
		output->settings = *settings;
	else
		kms_output_settings_init(&output->settings);
	output->enabled = true;

	switch (output->state) {
	case KMS_OUTPUT_OFF:
	case KMS_OUTPUT_WAITING:
		output->state = KMS_OUTPUT_WAITING;
		if (!output->connected)
			return 0;
		ret = output_light(output);
		return ret == -EBUSY ? 0 : ret; /* no free CRTC: wait for one */
	case KMS_OUTPUT_DISABLING:
		return 0; /* lit again once off */
	case KMS_OUTPUT_ON:
		break;
	}
	const drmModeModeInfo *mode = pick_mode(output);
	if (mode != NULL && memcmp(mode, &output->mode, sizeof(*mode)) != 0) {
		/* A new size needs new scanout buffers: off, then on again. */
		kms_output_turn_off(output);
		return 0;
	}
	if (old.flip != output->settings.flip)
		output->atomic_async_probe = output->legacy_async_probe = KMS_ASYNC_UNKNOWN;
	if (old.rotation != output->settings.rotation) {
		output->placed_valid = false; /* every layer goes elsewhere on the mode */
		output->turned = true;
	}
	kms_output_schedule_frame(output);
	return 0;
}

void kms_output_disable(struct kms_output *output)
{
	output->enabled = false;
	if (output->state == KMS_OUTPUT_WAITING)
		output->state = KMS_OUTPUT_OFF;
	kms_output_turn_off(output);
}

void kms_output_set_force_copy(struct kms_output *output, bool force_copy)
{
	output->force_copy = force_copy;
	kms_output_schedule_frame(output);
}

void kms_output_update(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (!output->enabled)
		return;
	if (output->state == KMS_OUTPUT_ON && !output->connected) {
		log_info("output %s: connector gone, turning off until it returns", output->name);
		kms_output_turn_off(output);
		return;
	}
	if (output->state == KMS_OUTPUT_WAITING && output->connected) {
		output_light(output);
		return;
	}
	if (output->state != KMS_OUTPUT_ON || !device->active)
		return;
	uint64_t link = DRM_MODE_LINK_STATUS_GOOD;
	kms_prop_get(device->fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR,
		     output->connector_props[KMS_CONNECTOR_LINK_STATUS], &link);
	if (link == DRM_MODE_LINK_STATUS_BAD) {
		log_warn("output %s: link-status BAD, committing the mode again", output->name);
		output->needs_modeset = true;
	}
	if (output->needs_modeset)
		kms_output_schedule_frame(output);
}

void kms_output_destroy(struct kms_output *output)
{
	struct kms_device *device = output->device;
	wl_signal_emit_mutable(&output->events.destroy, output);
	if (output->state == KMS_OUTPUT_ON || output->state == KMS_OUTPUT_DISABLING) {
		if (device->active && output->state == KMS_OUTPUT_ON) {
			/* Teardown: nothing can wait for an event any more. */
			struct kms_atomic atomic;
			kms_atomic_init(&atomic);
			kms_output_add_off(output, &atomic);
			int ret = kms_atomic_commit(&atomic, device->fd,
						    DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
			if (ret < 0)
				log_debug("output %s: cannot turn the CRTC off: %s", output->name,
					  strerror(-ret));
			kms_atomic_finish(&atomic);
		}
		output->enabled = false;
		kms_output_release_hw(output);
	}
	buffer_waiter_cancel(&output->readable_wait);
	if (output->frame_timer != NULL)
		wl_event_source_remove(output->frame_timer);
	output->frame_timer = NULL;
	kms_atomic_finish(&output->atomic_spare);
	struct kms_layer *layer, *tmp;
	wl_list_for_each_safe (layer, tmp, &output->layers, link)
		kms_layer_free(layer);
	wl_list_remove(&output->link);
	free(output->modes);
	free(output);
}
