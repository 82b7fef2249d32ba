// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <libliftoff.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "render/copy.h"
#include "render/scanout.h"
#include "util/fourcc.h"
#include "util/log.h"

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

const char *kms_layer_miss_name(enum kms_layer_miss bit)
{
	switch (bit) {
	case KMS_LAYER_MISS_IMPORT:
		return "import";
	case KMS_LAYER_MISS_PIXELS_ONLY:
		return "pixels-only";
	case KMS_LAYER_MISS_FORMAT:
		return "format";
	case KMS_LAYER_MISS_NO_PLANE:
		return "no-plane";
	case KMS_LAYER_MISS_FORCED_COPY:
		return "forced-copy";
	case KMS_LAYER_MISS_ROTATION:
		return "rotation";
	case KMS_LAYER_MISS_UNREADABLE:
		return "unreadable";
	default:
		return "unknown";
	}
}

static void handle_idle(void *data)
{
	struct kms_output *output = data;
	output->idle = NULL;
	kms_output_commit(output);
}

void kms_output_schedule_frame(struct kms_output *output)
{
	output->frame_wanted = true;
	if (output->idle != NULL || output->flip_pending || output->state != KMS_OUTPUT_ON)
		return;
	output->idle = wl_event_loop_add_idle(output->device->loop, handle_idle, output);
	if (output->idle == NULL)
		log_error("output %s: cannot schedule a frame", output->name);
}

/* ---- layers ---------------------------------------------------------- */

static int layer_attach_liftoff(struct kms_layer *layer)
{
	if (layer->output->liftoff_output == NULL || layer->liftoff != NULL)
		return 0;
	layer->liftoff = liftoff_layer_create(layer->output->liftoff_output);
	return layer->liftoff != NULL ? 0 : -ENOMEM;
}

struct kms_layer *kms_output_create_layer(struct kms_output *output, int zpos)
{
	struct kms_layer *layer = calloc(1, sizeof(*layer));
	if (layer == NULL)
		return NULL;
	layer->output = output;
	layer->zpos = zpos;
	if (layer_attach_liftoff(layer) < 0) {
		free(layer);
		return NULL;
	}
	struct kms_layer *other;
	struct wl_list *pos = &output->layers;
	wl_list_for_each (other, &output->layers, link) {
		if (other->zpos > zpos) {
			pos = &other->link;
			break;
		}
	}
	wl_list_insert(pos->prev, &layer->link);
	output->placed_valid = false;
	return layer;
}

static void layer_drop_slots(struct kms_layer *layer)
{
	if (layer->queued_buffer != NULL)
		buffer_unlock(layer->queued_buffer);
	if (layer->current_buffer != NULL)
		buffer_unlock(layer->current_buffer);
	kms_fb_unref(layer->queued_fb);
	kms_fb_unref(layer->current_fb);
	layer->queued_buffer = layer->current_buffer = NULL;
	layer->queued_fb = layer->current_fb = NULL;
}

static void layer_free(struct kms_layer *layer)
{
	layer_drop_slots(layer);
	if (layer->buffer != NULL)
		buffer_unlock(layer->buffer);
	kms_fb_unref(layer->fb);
	liftoff_layer_destroy(layer->liftoff);
	wl_list_remove(&layer->link);
	free(layer);
}

void kms_layer_destroy(struct kms_layer *layer)
{
	if (layer == NULL)
		return;
	struct kms_output *output = layer->output;
	liftoff_layer_destroy(layer->liftoff);
	layer->liftoff = NULL;
	output->placed_valid = false;
	if (output->state == KMS_OUTPUT_OFF || output->state == KMS_OUTPUT_WAITING ||
	    (layer->queued_buffer == NULL && layer->current_buffer == NULL)) {
		layer_free(layer);
		kms_output_schedule_frame(output);
		return;
	}
	layer->dead = true;
	layer->dead_seq = output->commit_seq;
	wl_list_remove(&layer->link);
	wl_list_insert(&output->dead_layers, &layer->link);
	kms_output_schedule_frame(output);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void kms_layer_set_buffer(struct kms_layer *layer, struct buffer *buffer,
			  const struct kms_fixed_rect *src, const struct kms_rect *dst)
{
	/* A buffer no commit took, replaced by another: that frame is lost. */
	if (layer->fresh && layer->buffer != NULL && buffer != layer->buffer)
		layer->output->stats.frames_discarded++;
	layer->fresh = buffer != NULL;
	layer->submitted_ns = buffer != NULL ? now_ns() : 0;
	if (buffer != NULL)
		buffer_lock(buffer);
	if (layer->buffer != NULL)
		buffer_unlock(layer->buffer);
	layer->buffer = buffer;
	layer->src = src != NULL ? *src : (struct kms_fixed_rect){0};
	layer->dst = dst != NULL ? *dst : (struct kms_rect){0};
	kms_output_schedule_frame(layer->output);
}

void kms_layer_set_buffer_int(struct kms_layer *layer, struct buffer *buffer,
			      const struct kms_rect *src, const struct kms_rect *dst)
{
	struct kms_fixed_rect fixed;
	if (src != NULL)
		fixed = (struct kms_fixed_rect){KMS_FIXED(src->x), KMS_FIXED(src->y),
						KMS_FIXED(src->width), KMS_FIXED(src->height)};
	kms_layer_set_buffer(layer, buffer, src != NULL ? &fixed : NULL, dst);
}

void kms_layer_get_state(const struct kms_layer *layer, struct kms_layer_state *state)
{
	*state = layer->state;
}

static void layer_rects(const struct kms_layer *layer, struct kms_rect *dst,
			struct kms_fixed_rect *src);

bool kms_layer_get_rects(const struct kms_layer *layer, struct kms_fixed_rect *src,
			 struct kms_rect *dst)
{
	if (layer->buffer == NULL)
		return false;
	layer_rects(layer, dst, src);
	return true;
}

/* ---- planes and libliftoff -------------------------------------------- */

/*
 * libliftoff 0.3 dup()s the fd without O_CLOEXEC. The duplicate takes the
 * lowest free descriptor, which F_DUPFD_CLOEXEC finds first (one thread), so
 * the flag is set on it afterwards.
 */
static struct liftoff_device *liftoff_device_create_cloexec(int fd)
{
	int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (probe >= 0)
		close(probe);
	struct liftoff_device *device = liftoff_device_create(fd);
	struct stat a, b;
	if (device != NULL && probe >= 0 && fstat(probe, &a) == 0 && fstat(fd, &b) == 0 &&
	    a.st_rdev == b.st_rdev)
		fcntl(probe, F_SETFD, FD_CLOEXEC);
	return device;
}

/* Claim the CRTC's primary plane, one cursor plane and the free overlays. */
static void claim_planes(struct kms_output *output)
{
	struct kms_device *device = output->device;
	uint32_t bit = 1u << output->crtc->index;
	bool have_primary = false, have_cursor = false;

	/* Exclusive primary and cursor planes first, then shared ones. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < device->n_planes; i++) {
			struct kms_plane *plane = &device->planes[i];
			if (plane->owner != NULL || !(plane->possible_crtcs & bit))
				continue;
			if (pass == 0 && plane->possible_crtcs != bit)
				continue;
			if (plane->type == DRM_PLANE_TYPE_PRIMARY && !have_primary) {
				plane->owner = output;
				have_primary = true;
			} else if (plane->type == DRM_PLANE_TYPE_CURSOR && !have_cursor) {
				plane->owner = output;
				have_cursor = true;
			} else if (plane->type == DRM_PLANE_TYPE_OVERLAY) {
				plane->owner = output;
			}
		}
	}
}

static void release_planes(struct kms_output *output)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].owner == output)
			device->planes[i].owner = NULL;
	}
}

static int liftoff_setup(struct kms_output *output)
{
	struct kms_device *device = output->device;
	output->liftoff_device = liftoff_device_create_cloexec(device->fd);
	if (output->liftoff_device == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].owner != output)
			continue;
		if (liftoff_plane_create(output->liftoff_device, device->planes[i].id) == NULL)
			return -errno ? -errno : -ENOMEM;
	}
	output->liftoff_output = liftoff_output_create(output->liftoff_device, output->crtc->id);
	if (output->liftoff_output == NULL)
		return -ENOMEM;
	output->placeholder_layer = liftoff_layer_create(output->liftoff_output);
	output->composition_layer = liftoff_layer_create(output->liftoff_output);
	if (output->placeholder_layer == NULL || output->composition_layer == NULL)
		return -ENOMEM;
	liftoff_output_set_composition_layer(output->liftoff_output, output->composition_layer);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer_attach_liftoff(layer) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void liftoff_teardown(struct kms_output *output)
{
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		liftoff_layer_destroy(layer->liftoff);
		layer->liftoff = NULL;
	}
	liftoff_layer_destroy(output->placeholder_layer);
	liftoff_layer_destroy(output->composition_layer);
	liftoff_output_destroy(output->liftoff_output);
	liftoff_device_destroy(output->liftoff_device);
	output->placeholder_layer = output->composition_layer = NULL;
	output->liftoff_output = NULL;
	output->liftoff_device = NULL;
}

/* Whether a plane this output holds lists the format (any modifier for INVALID). */
static bool format_usable(struct kms_output *output, uint32_t fourcc, uint64_t modifier)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (plane->owner != output)
			continue;
		for (size_t f = 0; f < plane->n_formats; f++) {
			if (plane->formats[f].fourcc == fourcc &&
			    (modifier == DRM_FORMAT_MOD_INVALID ||
			     plane->formats[f].modifier == modifier))
				return true;
		}
	}
	return false;
}

/* Whether a plane this output holds has a "rotation" property that can turn by `rotation`. */
static bool rotation_usable(struct kms_output *output, enum kms_rotation rotation)
{
	if (rotation == KMS_ROTATION_0)
		return true;
	struct kms_device *device = output->device;
	uint64_t bit = kms_rotation_plane_value(rotation);
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		if (plane->owner == output && plane->props[KMS_PLANE_ROTATION] != 0 &&
		    (plane->rotations & bit))
			return true;
	}
	return false;
}

static const struct kms_plane *plane_by_id(struct kms_device *device, uint32_t id)
{
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].id == id)
			return &device->planes[i];
	}
	return NULL;
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

/* ---- lighting and turning off ----------------------------------------- */

static void comp_release(struct scanout_buffer **slot)
{
	if (*slot != NULL)
		scanout_buffer_release(*slot);
	*slot = NULL;
}

/* The output stops showing frames: tell events.off, once per lighting. */
static void announce_off(struct kms_output *output)
{
	if (output->off_announced)
		return;
	output->off_announced = true;
	wl_signal_emit_mutable(&output->events.off, output);
}

/* Forget everything the CRTC showed; the hardware is off or gone. */
static void output_release_hw(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (output->state == KMS_OUTPUT_ON)
		announce_off(output);
	kms_capture_cancel(output);
	buffer_waiter_cancel(&output->readable_wait);
	if (output->idle != NULL)
		wl_event_source_remove(output->idle);
	output->idle = NULL;
	struct kms_layer *layer, *tmp;
	wl_list_for_each (layer, &output->layers, link) {
		layer_drop_slots(layer);
		kms_fb_unref(layer->fb);
		layer->fb = NULL;
		memset(&layer->state, 0, sizeof(layer->state));
	}
	wl_list_for_each_safe (layer, tmp, &output->dead_layers, link)
		layer_free(layer);
	liftoff_teardown(output);
	comp_release(&output->comp_queued);
	comp_release(&output->comp_current);
	scanout_swapchain_destroy(output->swapchain);
	output->swapchain = NULL;
	release_planes(output);
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
	claim_planes(output);
	int ret = liftoff_setup(output);
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
	output_release_hw(output);
	return ret;
}

static void add_planes_off(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (plane->owner != output)
			continue;
		kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_FB_ID], 0);
		kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_CRTC_ID], 0);
	}
}

static void add_crtc_off(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_crtc *crtc = output->crtc;
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_ACTIVE], 0);
	kms_atomic_add(atomic, crtc->id, crtc->props[KMS_CRTC_MODE_ID], 0);
	kms_atomic_add(atomic, output->connector_id, output->connector_props[KMS_CONNECTOR_CRTC_ID],
		       0);
	kms_capture_unbind(output, atomic);
	add_planes_off(output, atomic);
}

static void output_turn_off(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (output->state != KMS_OUTPUT_ON)
		return;
	if (output->flip_pending) {
		/* Turned off from the flip event of the commit in flight. */
		announce_off(output);
		output->state = KMS_OUTPUT_DISABLING;
		output->off_committed = false;
		return;
	}
	if (!device->active) {
		output_release_hw(output);
		return;
	}
	struct kms_atomic atomic;
	kms_atomic_init(&atomic);
	add_crtc_off(output, &atomic);
	int ret = kms_atomic_commit(&atomic, device->fd,
				    DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_ATOMIC_ALLOW_MODESET |
					    DRM_MODE_PAGE_FLIP_EVENT,
				    device);
	kms_atomic_finish(&atomic);
	if (ret < 0) {
		log_warn("output %s: cannot turn the CRTC off: %s", output->name, strerror(-ret));
		output_release_hw(output);
		return;
	}
	log_info("output %s: turning off", output->name);
	announce_off(output);
	output->state = KMS_OUTPUT_DISABLING;
	output->off_committed = true;
	output->flip_pending = true;
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
		output_turn_off(output);
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
	output_turn_off(output);
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
		output_turn_off(output);
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
			add_crtc_off(output, &atomic);
			int ret = kms_atomic_commit(&atomic, device->fd,
						    DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
			if (ret < 0)
				log_debug("output %s: cannot turn the CRTC off: %s", output->name,
					  strerror(-ret));
			kms_atomic_finish(&atomic);
		}
		output->enabled = false;
		output_release_hw(output);
	}
	buffer_waiter_cancel(&output->readable_wait);
	struct kms_layer *layer, *tmp;
	wl_list_for_each_safe (layer, tmp, &output->layers, link)
		layer_free(layer);
	wl_list_remove(&output->link);
	free(output->modes);
	free(output);
}

/* ---- frames ------------------------------------------------------------ */

/*
 * Offer a framebuffer at dst (mode pixels) from src, turned as
 * plane_rotation says. The rotation is always set, DRM_MODE_ROTATE_0 too:
 * a plane keeps the last value written to it, so a plane that once showed a
 * turned layer must be told when it shows an upright one. (libliftoff skips
 * ROTATE_0 on planes without the property, so they still take the layer.)
 */
static void set_layer_rect(struct liftoff_layer *l, uint32_t fb_id, const struct kms_rect *dst,
			   const struct kms_fixed_rect *src, uint64_t plane_rotation)
{
	liftoff_layer_set_property(l, "rotation", plane_rotation);
	liftoff_layer_set_property(l, "FB_ID", fb_id);
	liftoff_layer_set_property(l, "CRTC_X", (uint64_t)(int64_t)dst->x);
	liftoff_layer_set_property(l, "CRTC_Y", (uint64_t)(int64_t)dst->y);
	liftoff_layer_set_property(l, "CRTC_W", dst->width);
	liftoff_layer_set_property(l, "CRTC_H", dst->height);
	liftoff_layer_set_property(l, "SRC_X", src->x);
	liftoff_layer_set_property(l, "SRC_Y", src->y);
	liftoff_layer_set_property(l, "SRC_W", src->width);
	liftoff_layer_set_property(l, "SRC_H", src->height);
}

/* The layer's rectangles with the defaults filled in; dst in the logical space. */
static void layer_rects(const struct kms_layer *layer, struct kms_rect *dst,
			struct kms_fixed_rect *src)
{
	const struct kms_output *output = layer->output;
	*dst = layer->dst;
	if (dst->width == 0 || dst->height == 0) {
		*dst = (struct kms_rect){0};
		kms_rotation_logical_size(output->settings.rotation, output->mode.hdisplay,
					  output->mode.vdisplay, &dst->width, &dst->height);
	}
	*src = layer->src;
	if (src->width == 0 || src->height == 0)
		*src = (struct kms_fixed_rect){0, 0, KMS_FIXED(layer->buffer->width),
					       KMS_FIXED(layer->buffer->height)};
}

/* Import the layer's buffer and decide whether a plane may take it (state.miss). */
static void layer_import(struct kms_layer *layer, bool force_copy)
{
	struct kms_output *output = layer->output;
	struct kms_device *device = output->device;
	struct kms_layer_state *st = &layer->state;

	memset(st, 0, sizeof(*st));
	kms_fb_unref(layer->fb);
	layer->fb = NULL;
	if (layer->buffer == NULL)
		return;
	st->visible = true;
	st->fourcc = layer->buffer->fourcc;
	if (force_copy) {
		st->miss = KMS_LAYER_MISS_FORCED_COPY;
		return;
	}
	enum kms_fb_failure failure = KMS_FB_FAIL_NONE;
	layer->fb = kms_fb_import(&device->fbs, layer->buffer, &failure);
	if (layer->fb == NULL)
		st->miss = failure == KMS_FB_FAIL_NOT_DMABUF ? KMS_LAYER_MISS_PIXELS_ONLY
							     : KMS_LAYER_MISS_IMPORT;
	else if (!format_usable(output, layer->fb->fourcc, layer->fb->modifier))
		st->miss = KMS_LAYER_MISS_FORMAT;
	else if (!rotation_usable(output, output->settings.rotation))
		st->miss = KMS_LAYER_MISS_ROTATION;
}

/* Offer the layer to libliftoff: its framebuffer, or composition. */
static void layer_offer(struct kms_layer *layer)
{
	const struct kms_layer_state *st = &layer->state;
	if (!st->visible) {
		liftoff_layer_set_property(layer->liftoff, "FB_ID", 0);
		return;
	}
	if (st->miss != 0) {
		liftoff_layer_set_fb_composited(layer->liftoff);
		return;
	}
	struct kms_rect dst, mode_dst;
	struct kms_fixed_rect src;
	layer_rects(layer, &dst, &src);
	kms_output_rect_to_mode(layer->output, &dst, &mode_dst);
	set_layer_rect(layer->liftoff, layer->fb->fb_id, &mode_dst, &src,
		       kms_rotation_plane_value(layer->output->settings.rotation));
	liftoff_layer_set_property(layer->liftoff, "zpos", (uint64_t)(int64_t)layer->zpos);
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

/* Draw one layer into image (the mode's size), turned and scaled as it is shown. */
static int draw_layer(struct kms_output *output, pixman_image_t *image, struct kms_layer *layer,
		      enum render_op op)
{
	struct kms_rect dst, mode_dst;
	struct kms_fixed_rect src;
	layer_rects(layer, &dst, &src);
	kms_output_rect_to_mode(output, &dst, &mode_dst);
	struct render_rect rdst = {mode_dst.x, mode_dst.y, mode_dst.width, mode_dst.height};
	struct render_rect rsrc = {(int32_t)(src.x >> 16), (int32_t)(src.y >> 16), src.width >> 16,
				   src.height >> 16};
	return render_copy_rotated(image, &rdst, layer->buffer, &rsrc, op,
				   (uint32_t)output->settings.rotation);
}

int kms_output_compose(struct kms_output *output, pixman_image_t *image)
{
	if (output->state != KMS_OUTPUT_ON)
		return -ENODEV;
	struct render_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	int ret = render_fill(image, &full, 0xff000000u | output->settings.placeholder);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->buffer == NULL)
			continue;
		const struct fourcc_info *info = fourcc_info_get(layer->buffer->fourcc);
		int r = draw_layer(output, image, layer,
				   info != NULL && info->has_alpha ? RENDER_OP_OVER
								   : RENDER_OP_SRC);
		if (r < 0) {
			log_debug("output %s: cannot read the layer at zpos %d: %s", output->name,
				  layer->zpos, strerror(-r));
			ret = ret < 0 ? ret : r;
		}
	}
	return ret;
}

/* Draw the copied layers (or only the placeholder) into buf. */
static void compose(struct kms_output *output, struct scanout_buffer *buf)
{
	struct render_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->state.copied)
			break;
	}
	/* The fill is skipped when the bottom copied layer covers the screen opaquely. */
	const struct fourcc_info *info =
		&layer->link != &output->layers ? fourcc_info_get(layer->buffer->fourcc) : NULL;
	if (info == NULL || info->has_alpha || layer->dst.width != 0)
		render_fill(buf->image, &full, 0xff000000u | output->settings.placeholder);
	bool first = true;
	wl_list_for_each (layer, &output->layers, link) {
		if (!layer->state.copied)
			continue;
		int ret = draw_layer(output, buf->image, layer,
				     first ? RENDER_OP_SRC : RENDER_OP_OVER);
		if (ret < 0)
			log_debug("output %s: cannot copy a layer: %s", output->name,
				  strerror(-ret));
		first = false;
	}
}

static void handle_readable(struct buffer_waiter *waiter)
{
	struct kms_output *output = wl_container_of(waiter, output, readable_wait);
	kms_output_schedule_frame(output);
}

/*
 * Whether every buffer to copy may be read now. A dma-buf whose producer
 * has not finished writing (an unsignalled write fence) is never waited
 * for here: the output waits for it on the loop, one buffer at a time.
 */
static bool copy_sources_readable(struct kms_output *output)
{
	struct kms_layer *layer;
	buffer_waiter_cancel(&output->readable_wait);
	wl_list_for_each (layer, &output->layers, link) {
		if (!layer->state.copied || buffer_readable(layer->buffer))
			continue;
		int ret = buffer_waiter_wait(&output->readable_wait, layer->buffer,
					     output->device->loop, handle_readable);
		if (ret < 0) {
			/* The copy leaves the layer out rather than wait (buffer_begin_read()). */
			log_error("output %s: cannot wait for a buffer's write fence: %s",
				  output->name, strerror(-ret));
			return true;
		}
		log_debug("output %s: the buffer at zpos %d is still being written, "
			  "composing once its write fence signals",
			  output->name, layer->zpos);
		return false;
	}
	return true;
}

/*
 * Whether the last placement holds for this frame with nothing but new
 * FB_IDs: same layers, same visibility and reasons, same geometry, and
 * framebuffers of the same size, format and modifier on the same planes.
 */
static bool placement_reusable(struct kms_output *output, bool any_visible)
{
	if (!output->placed_valid || output->placed_any_visible != any_visible)
		return false;
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		const struct kms_layer_state *st = &layer->state;
		const struct kms_layer_placed *p = &layer->placed;
		if (!p->valid || p->visible != st->visible || p->import_miss != st->miss)
			return false;
		if (!st->visible || p->plane_id == 0)
			continue;
		const struct kms_fb *fb = layer->fb;
		if (fb->width != p->width || fb->height != p->height || fb->fourcc != p->fourcc ||
		    fb->modifier != p->modifier ||
		    memcmp(&layer->dst, &p->dst, sizeof(p->dst)) != 0 ||
		    memcmp(&layer->src, &p->src, sizeof(p->src)) != 0 ||
		    (layer->src.width == 0 &&
		     (layer->buffer->width != p->width || layer->buffer->height != p->height)))
			return false;
	}
	return true;
}

/* The last placement again: the new FB_IDs on the same planes. */
static void add_reused(struct kms_output *output, struct kms_atomic *atomic,
		       struct scanout_buffer *comp)
{
	struct kms_device *device = output->device;
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		struct kms_layer_state *st = &layer->state;
		if (!st->visible)
			continue;
		st->miss = layer->placed.miss;
		st->plane_id = layer->placed.plane_id;
		st->direct = st->plane_id != 0;
		st->copied = !st->direct && !(st->miss & KMS_LAYER_MISS_UNREADABLE);
		const struct kms_plane *plane = plane_by_id(device, st->plane_id);
		if (st->direct && plane != NULL)
			kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_FB_ID],
				       layer->fb->fb_id);
	}
	const struct kms_plane *plane = plane_by_id(device, output->placed_comp_plane);
	if (plane != NULL)
		kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_FB_ID], comp->fb->fb_id);
}

/* libliftoff places the layers with TEST_ONLY commits; record where they went. */
static int place(struct kms_output *output, struct kms_atomic *atomic, uint32_t flags,
		 struct scanout_buffer *comp, bool any_visible)
{
	struct kms_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	struct kms_fixed_rect full_src = {0, 0, KMS_FIXED(full.width), KMS_FIXED(full.height)};
	struct kms_layer *layer;

	output->placed_valid = false;
	wl_list_for_each (layer, &output->layers, link)
		layer_offer(layer);
	set_layer_rect(output->composition_layer, any_visible ? comp->fb->fb_id : 0, &full,
		       &full_src, DRM_MODE_ROTATE_0);
	set_layer_rect(output->placeholder_layer, any_visible ? 0 : comp->fb->fb_id, &full,
		       &full_src, DRM_MODE_ROTATE_0);
	int ret = liftoff_output_apply(output->liftoff_output, atomic->req, flags);
	if (ret < 0)
		return ret;

	wl_list_for_each (layer, &output->layers, link) {
		struct kms_layer_state *st = &layer->state;
		struct kms_layer_placed *p = &layer->placed;
		*p = (struct kms_layer_placed){
			.valid = true,
			.visible = st->visible,
			.import_miss = st->miss,
			.dst = layer->dst,
			.src = layer->src,
		};
		if (!st->visible)
			continue;
		struct liftoff_plane *lp = liftoff_layer_get_plane(layer->liftoff);
		if (lp != NULL && !liftoff_layer_needs_composition(layer->liftoff)) {
			st->direct = true;
			st->plane_id = liftoff_plane_get_id(lp);
			p->width = layer->fb->width;
			p->height = layer->fb->height;
			p->fourcc = layer->fb->fourcc;
			p->modifier = layer->fb->modifier;
		} else {
			if (st->miss == 0)
				st->miss = KMS_LAYER_MISS_NO_PLANE;
			/* Never a scrambled picture: the placeholder shows instead. */
			if (render_copy_can_read(layer->buffer))
				st->copied = true;
			else
				st->miss |= KMS_LAYER_MISS_UNREADABLE;
		}
		p->plane_id = st->plane_id;
		p->miss = st->miss;
	}
	struct liftoff_layer *comp_layer =
		any_visible ? output->composition_layer : output->placeholder_layer;
	struct liftoff_plane *lp = liftoff_layer_get_plane(comp_layer);
	output->placed_comp_plane = lp != NULL ? liftoff_plane_get_id(lp) : 0;
	output->placed_any_visible = any_visible;
	return 0;
}

/* Whether a commit failed because the device is no longer ours or gone. */
static bool device_lost(int ret)
{
	return ret == -EACCES || ret == -EPERM || ret == -ENODEV;
}

/* No commit took the frame: say so, so that no source waits for it. */
static void frame_failed(struct kms_output *output)
{
	output->stats.frames_failed++;
	wl_signal_emit_mutable(&output->events.failed, output);
}

/*
 * One frame:
 *   1. each layer's buffer is imported (a remembered failure is fast) and
 *      pre-filtered by the formats of the planes this output holds;
 *   2. when only framebuffers changed since the last placement, that
 *      placement is committed again with the new FB_IDs and no test commit
 *      (a rejection, which changes nothing, falls back to step 3);
 *   3. otherwise libliftoff places the layers with TEST_ONLY commits
 *      (reusing its last placement costs one), the composition layer holding
 *      a scanout buffer when a layer is visible, the placeholder layer when
 *      none is;
 *   4. layers left without a plane are copied into the composition buffer,
 *      over the placeholder colour;
 *   5. kms_flip_decide() picks vsync or async, the commit goes out, and a
 *      rejected async commit is committed again with vsync;
 *   6. a real commit the kernel refuses with layers on planes goes out
 *      again with every layer copied (those buffers are copied from then
 *      on); a frame no commit takes is announced on events.failed.
 */
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

	bool force_copy = device->force_copy || output->force_copy;
	bool copy_all = false; /* a commit with layers on planes was refused: copy them all */
	int refused = 0;       /* its error, positive */
	bool failed = false;   /* no commit takes the frame */
	bool any_visible;
	struct kms_layer *layer;
	struct scanout_buffer *comp;
frame:
	any_visible = false;
	wl_list_for_each (layer, &output->layers, link) {
		layer_import(layer, force_copy || copy_all);
		any_visible |= layer->state.visible;
	}
	comp = scanout_swapchain_acquire(output->swapchain);
	if (comp == NULL) {
		log_error("output %s: no free scanout buffer", output->name);
		frame_failed(output);
		return;
	}

	bool modeset = output->needs_modeset;
	bool reuse = !copy_all && !modeset && output->capture == NULL &&
		     placement_reusable(output, any_visible);
	struct kms_atomic atomic;
	uint32_t flags;
	bool capture;
	char flags_str[96];
	int ret;
retry:
	kms_atomic_init(&atomic);
	flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
	if (modeset) {
		add_modeset(output, &atomic);
		flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	}
	capture = false;
	if (output->capture != NULL) {
		bool bind = false;
		capture = kms_capture_prepare(output, &atomic, &bind) == 0;
		if (bind)
			flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	}
	ret = atomic.error;
	if (ret == 0 && reuse)
		add_reused(output, &atomic, comp);
	else if (ret == 0)
		ret = place(output, &atomic, flags, comp, any_visible);
	if (ret == 0)
		ret = atomic.error;
	if (ret < 0) {
		log_error("output %s: no plane configuration (%s): %s", output->name,
			  kms_commit_flags_str(flags, flags_str, sizeof(flags_str)),
			  strerror(-ret));
		failed = true;
		goto error;
	}

	/* What went where. */
	bool copied = false;
	unsigned int planes_on = 0, n_direct = 0;
	uint32_t primary_fb = 0;
	wl_list_for_each (layer, &output->layers, link) {
		const struct kms_layer_state *st = &layer->state;
		if (!st->visible)
			continue;
		if (!st->direct) {
			copied = true;
			continue;
		}
		planes_on++;
		n_direct++;
		const struct kms_plane *plane = plane_by_id(device, st->plane_id);
		if (plane != NULL && plane->type == DRM_PLANE_TYPE_PRIMARY && layer->dst.width == 0)
			primary_fb = layer->fb->fb_id;
	}
	bool comp_used = output->placed_comp_plane != 0;
	if (comp_used && !copy_sources_readable(output)) {
		/* Not committed: the frame is composed once they are (handle_readable()). */
		output->frame_wanted = true;
		goto error;
	}
	if (comp_used) {
		compose(output, comp);
		const struct kms_plane *plane = plane_by_id(device, output->placed_comp_plane);
		if (plane != NULL && plane->type == DRM_PLANE_TYPE_PRIMARY)
			primary_fb = comp->fb->fb_id;
		planes_on++;
	} else if (copied || !any_visible) {
		log_error("output %s: the composition buffer got no plane", output->name);
	}

	struct kms_flip_input in = {
		.policy = output->settings.flip,
		.cap_atomic_async = device->caps.atomic_async_page_flip,
		.cap_legacy_async = device->caps.async_page_flip,
		.atomic_probe = output->atomic_async_probe,
		.legacy_probe = output->legacy_async_probe,
		.modeset = modeset || (flags & DRM_MODE_ATOMIC_ALLOW_MODESET),
		.capture = capture,
		.primary_only = planes_on == 1 && primary_fb != 0,
		/* Only the reused placement's request is FB_IDs alone. */
		.fb_only =
			reuse && planes_on == 1 && primary_fb != 0 && output->last_primary_fb != 0,
	};
	struct kms_flip_decision decision = kms_flip_decide(&in);
	enum kms_flip_method method = decision.method;
	if (method == KMS_FLIP_METHOD_ATOMIC_ASYNC && decision.probe) {
		ret = kms_atomic_commit(
			&atomic, device->fd,
			flags | DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_ASYNC, NULL);
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
		ret = kms_atomic_commit(&atomic, device->fd, flags | DRM_MODE_PAGE_FLIP_ASYNC,
					device);
	} else if (method == KMS_FLIP_METHOD_LEGACY_ASYNC) {
		ret = drmModePageFlip(device->fd, output->crtc->id, primary_fb,
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
		ret = kms_atomic_commit(&atomic, device->fd, flags, device);
	if (reuse && kms_commit_rejected(ret)) {
		log_debug("output %s: the last placement was rejected (%s), placing again",
			  output->name, strerror(-ret));
		kms_atomic_finish(&atomic);
		reuse = false;
		goto retry;
	}
	if (capture)
		kms_capture_committed(output, ret);
	if (ret < 0) {
		output->stats.commit_failures++;
		log_error("output %s: commit (%s) failed: %s", output->name,
			  kms_commit_flags_str(flags, flags_str, sizeof(flags_str)),
			  strerror(-ret));
		if (!copy_all && n_direct > 0 && !device_lost(ret)) {
			/*
			 * A test commit cannot catch everything (a driver maps
			 * the buffers only for the real one): the same frame,
			 * every layer copied.
			 */
			wl_list_for_each (layer, &output->layers, link)
				layer->refused = layer->state.direct;
			kms_atomic_finish(&atomic);
			output->placed_valid = false;
			output->stats.copy_fallbacks++;
			copy_all = true;
			refused = -ret;
			goto frame;
		}
		failed = true;
		goto error;
	}
	kms_atomic_finish(&atomic);
	/* The copies went out: the buffers the kernel refused are copied from now on. */
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->refused && layer->buffer != NULL)
			kms_fb_poison(layer->buffer, &device->fbs, refused);
		layer->refused = false;
	}

	/* In flight: take the slots. */
	output->placed_valid = true;
	output->stats.commits++;
	output->commit_seq++;
	output->flip_pending = true;
	output->queued_method = method;
	output->queued_copied = copied;
	output->last_primary_fb = in.primary_only ? primary_fb : 0;
	if (modeset) {
		output->stats.modesets++;
		output->needs_modeset = false;
	}
	if (comp_used) {
		scanout_buffer_set_busy(comp);
		output->comp_queued = comp;
	}
	struct kms_present_event *ev = &output->present_event;
	ev->output = output;
	ev->n_layers = 0;
	ev->flags = (method == KMS_FLIP_METHOD_VSYNC ? KMS_PRESENT_VSYNC : KMS_PRESENT_ASYNC) |
		    (modeset ? KMS_PRESENT_MODESET : 0) | (output->turned ? KMS_PRESENT_TURNED : 0);
	output->turned = false;
	if (any_visible && !copied)
		ev->flags |= KMS_PRESENT_ZERO_COPY;
	wl_list_for_each (layer, &output->layers, link) {
		if (!layer->state.visible)
			continue;
		buffer_lock(layer->buffer);
		layer->queued_buffer = layer->buffer;
		layer->queued_fb = layer->state.direct ? kms_fb_ref(layer->fb) : NULL;
		if (ev->n_layers < KMS_PRESENT_MAX_LAYERS)
			ev->layers[ev->n_layers++] = (struct kms_present_layer){
				.layer = layer,
				.buffer = layer->buffer,
				.zero_copy = layer->state.direct,
				.shown = !(layer->state.miss & KMS_LAYER_MISS_UNREADABLE),
				.submitted_ns = layer->fresh ? layer->submitted_ns : 0,
			};
		layer->fresh = false;
	}
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("output %s: committed (%s, %s)%s%s", output->name,
			  kms_commit_flags_str(flags, flags_str, sizeof(flags_str)),
			  kms_flip_method_name(method), copied ? ", copied" : "",
			  reuse ? ", placement reused" : "");
	return;

error:
	output->placed_valid = false;
	kms_atomic_finish(&atomic);
	if (failed) {
		wl_list_for_each (layer, &output->layers, link)
			layer->refused = false;
		frame_failed(output);
	}
}

void kms_output_handle_flip(struct kms_output *output, uint32_t sequence, uint64_t time_ns)
{
	if (!output->flip_pending)
		return;
	output->flip_pending = false;
	if (output->state == KMS_OUTPUT_DISABLING) {
		if (output->off_committed) {
			output_release_hw(output);
		} else {
			/* The last frame landed: now the commit that turns the CRTC off. */
			output->state = KMS_OUTPUT_ON;
			output_turn_off(output);
			if (output->state == KMS_OUTPUT_DISABLING)
				return;
		}
		if (output->enabled)
			kms_output_update(output);
		return;
	}

	/*
	 * Queued becomes current. The buffers it replaced are unlocked after
	 * the present event, so that a source hears "presented" before "release".
	 */
	struct buffer *replaced[KMS_PRESENT_MAX_LAYERS];
	size_t n_replaced = 0;
	struct kms_layer *layer, *tmp;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->current_buffer != NULL && n_replaced < KMS_PRESENT_MAX_LAYERS)
			replaced[n_replaced++] = layer->current_buffer;
		else if (layer->current_buffer != NULL)
			buffer_unlock(layer->current_buffer);
		kms_fb_unref(layer->current_fb);
		layer->current_buffer = layer->queued_buffer;
		layer->current_fb = layer->queued_fb;
		layer->queued_buffer = NULL;
		layer->queued_fb = NULL;
	}
	comp_release(&output->comp_current);
	output->comp_current = output->comp_queued;
	output->comp_queued = NULL;
	wl_list_for_each_safe (layer, tmp, &output->dead_layers, link) {
		if (layer->dead_seq < output->commit_seq)
			layer_free(layer);
	}

	struct kms_present_event *ev = &output->present_event;
	ev->time_ns = time_ns;
	ev->sequence = sequence;
	if (output->queued_method == KMS_FLIP_METHOD_VSYNC)
		output->stats.flips_vsync++;
	else
		output->stats.flips_async++;
	if (ev->n_layers > 0) {
		if (output->queued_copied)
			output->stats.frames_copied++;
		else
			output->stats.frames_direct++;
	}
	/*
	 * The kernel's flip time is the vblank's, which a buffer handed over
	 * as that vblank was being handled may postdate (vkms under emulation):
	 * such a frame counts as shown at once.
	 */
	for (size_t i = 0; i < ev->n_layers; i++) {
		uint64_t submitted = ev->layers[i].submitted_ns;
		if (submitted != 0)
			percentile_add(&output->latency,
				       time_ns > submitted
					       ? (uint32_t)((time_ns - submitted) / 1000u)
					       : 0);
	}
	wl_signal_emit_mutable(&output->events.present, ev);
	for (size_t i = 0; i < n_replaced; i++)
		buffer_unlock(replaced[i]);

	if (output->frame_wanted && output->state == KMS_OUTPUT_ON)
		kms_output_commit(output);
}
