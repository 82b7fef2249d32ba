// SPDX-License-Identifier: MIT
#include <string.h>

#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "render/scanout.h"

/* The inspection snapshot of an output (kms_output_get_info()). */

const char *kms_plane_content_name(enum kms_plane_content content)
{
	switch (content) {
	case KMS_PLANE_CONTENT_LAYER:
		return "layer";
	case KMS_PLANE_CONTENT_COMPOSITION:
		return "composition";
	case KMS_PLANE_CONTENT_PLACEHOLDER:
		return "placeholder";
	default:
		return "none";
	}
}

/*
 * What the output's last successful commit put on plane, derived from the
 * layers' placement and the framebuffers the commit took (queued while it
 * is in flight, current once it flipped).
 */
static void plane_info(const struct kms_output *output, const struct kms_plane *plane,
		       struct kms_plane_info *info)
{
	bool lit = output->crtc != NULL &&
		   (output->state == KMS_OUTPUT_ON ||
		    (output->state == KMS_OUTPUT_DISABLING && !output->off_committed));
	*info = (struct kms_plane_info){.id = plane->id, .type = plane->type};
	struct kms_rect dst = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	struct kms_fixed_rect src = {0, 0, KMS_FIXED(dst.width), KMS_FIXED(dst.height)};

	const struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		const struct kms_layer_placed *p = &layer->placed;
		if (!lit || !p->valid || !p->visible || p->plane_id != plane->id)
			continue;
		const struct kms_fb *fb =
			output->flip_pending ? layer->queued_fb : layer->current_fb;
		if (fb == NULL)
			continue;
		info->content = KMS_PLANE_CONTENT_LAYER;
		info->layer_zpos = layer->zpos;
		info->fb_id = fb->fb_id;
		info->rotation = kms_rotation_degrees(output->settings.rotation);
		if (p->dst.width != 0 && p->dst.height != 0)
			kms_output_rect_to_mode(output, &p->dst, &dst);
		src = p->src;
		if (src.width == 0 || src.height == 0)
			src = (struct kms_fixed_rect){0, 0, KMS_FIXED(p->width),
						      KMS_FIXED(p->height)};
	}
	const struct scanout_buffer *comp =
		output->flip_pending ? output->comp_queued : output->comp_current;
	if (lit && info->fb_id == 0 && output->placed_comp_plane == plane->id && comp != NULL) {
		info->content = output->placed_any_visible ? KMS_PLANE_CONTENT_COMPOSITION
							   : KMS_PLANE_CONTENT_PLACEHOLDER;
		info->fb_id = comp->fb->fb_id;
	}
	if (info->fb_id != 0) {
		info->crtc_id = output->crtc->id;
		info->crtc = dst;
		info->src = src;
	}
}

void kms_output_get_info(const struct kms_output *output, struct kms_output_info *info)
{
	const struct kms_device *device = output->device;
	bool on = output->state == KMS_OUTPUT_ON || output->state == KMS_OUTPUT_DISABLING;

	*info = (struct kms_output_info){
		.state = output->state,
		.enabled = output->enabled,
		.connected = output->connected,
		.connector_id = output->connector_id,
		.crtc_id = output->crtc != NULL ? output->crtc->id : 0,
		.mode_blob = output->mode_blob,
		.has_mode = on && output->mode.hdisplay != 0,
		.settings = output->settings,
		.force_copy = output->force_copy || device->force_copy,
		.capture = output->capture != NULL,
		.stats = output->stats,
		.latency_samples = percentile_held(&output->latency),
		.latency_p50_us = percentile_get(&output->latency, 50),
		.latency_p99_us = percentile_get(&output->latency, 99),
	};
	if (info->has_mode)
		info->mode = output->mode;
	if (output->crtc == NULL)
		return;
	for (size_t i = 0; i < device->n_planes && info->n_planes < KMS_OUTPUT_INFO_MAX_PLANES;
	     i++) {
		const struct kms_plane *plane = &device->planes[i];
		if (kms_plane_can_use_crtc(plane, output->crtc))
			plane_info(output, plane, &info->planes[info->n_planes++]);
	}
}
