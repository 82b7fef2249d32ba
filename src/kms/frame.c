// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <string.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "render/scanout.h"
#include "util/log.h"

/*
 * The first step of a frame: what each layer brings (a framebuffer of this
 * device, or why a plane cannot take it) and whether the last placement
 * still holds.
 */

void kms_layer_rects(const struct kms_layer *layer, struct kms_rect *dst,
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

/* Whether a plane the output's CRTC can use lists the format (any modifier for INVALID). */
static bool format_usable(struct kms_output *output, uint32_t fourcc, uint64_t modifier)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (!kms_plane_can_use_crtc(plane, output->crtc))
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

/* Whether a plane the output's CRTC can use has a "rotation" property that can turn by `rotation`.
 */
static bool rotation_usable(struct kms_output *output, enum kms_rotation rotation)
{
	if (rotation == KMS_ROTATION_0)
		return true;
	struct kms_device *device = output->device;
	uint64_t bit = kms_rotation_plane_value(rotation);
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		if (kms_plane_can_use_crtc(plane, output->crtc) &&
		    plane->props[KMS_PLANE_ROTATION] != 0 && (plane->rotations & bit))
			return true;
	}
	return false;
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
	if (layer->fb == NULL && failure == KMS_FB_FAIL_NOT_DMABUF)
		st->miss = KMS_LAYER_MISS_PIXELS_ONLY;
	/* Since Linux 6.2 the GEM helpers refuse a format no plane lists. */
	else if (layer->fb == NULL)
		st->miss = format_usable(output, st->fourcc, layer->buffer->modifier)
				   ? KMS_LAYER_MISS_IMPORT
				   : KMS_LAYER_MISS_FORMAT;
	else if (!format_usable(output, layer->fb->fourcc, layer->fb->modifier))
		st->miss = KMS_LAYER_MISS_FORMAT;
	else if (!rotation_usable(output, output->settings.rotation))
		st->miss = KMS_LAYER_MISS_ROTATION;
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

int kms_frame_build(struct kms_output *output, struct kms_frame *frame, bool copy_all)
{
	struct kms_device *device = output->device;
	bool force_copy = device->force_copy || output->force_copy || copy_all;

	*frame = (struct kms_frame){.copy_all = copy_all};
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		layer_import(layer, force_copy);
		frame->any_visible |= layer->state.visible;
	}
	frame->comp = scanout_swapchain_acquire(output->swapchain);
	if (frame->comp == NULL) {
		log_error("output %s: no free scanout buffer", output->name);
		return -ENOMEM;
	}
	frame->modeset = output->needs_modeset;
	frame->reuse = !copy_all && !frame->modeset && output->capture == NULL &&
		       placement_reusable(output, frame->any_visible);
	return 0;
}
