// SPDX-License-Identifier: MIT
/*
 * Planes shared by the outputs of one device: a plane one output scans out
 * (in flight or on screen) is never another output's until the flip that
 * takes it off, and an output that gave up a layer's plane for it places
 * again once it is free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xf86drmMode.h>

#include "../unit/test.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/private.h"

struct bed {
	struct wl_event_loop *loop;
	struct kms_device device;
	struct kms_crtc crtcs[2];
	struct kms_plane planes[3]; /* primary of CRTC 0, primary of CRTC 1, shared overlay */
	struct kms_output *outputs[2];
};

static struct kms_output *bed_output(struct bed *bed, int i)
{
	struct kms_output *output = calloc(1, sizeof(*output));
	check(output != NULL);
	output->device = &bed->device;
	snprintf(output->name, sizeof(output->name), "Virtual-%d", i + 1);
	wl_list_init(&output->layers);
	wl_list_init(&output->dead_layers);
	output->state = KMS_OUTPUT_ON;
	output->crtc = &bed->crtcs[i];
	wl_list_insert(bed->device.outputs.prev, &output->link);
	return output;
}

static void bed_init(struct bed *bed)
{
	*bed = (struct bed){0};
	bed->loop = wl_event_loop_create();
	check(bed->loop != NULL);
	bed->device.loop = bed->loop;
	bed->device.active = true;
	wl_list_init(&bed->device.outputs);
	for (uint32_t i = 0; i < 2; i++)
		bed->crtcs[i] = (struct kms_crtc){.id = 40 + i, .index = i};
	bed->planes[0] =
		(struct kms_plane){.id = 31, .type = DRM_PLANE_TYPE_PRIMARY, .possible_crtcs = 1};
	bed->planes[1] =
		(struct kms_plane){.id = 32, .type = DRM_PLANE_TYPE_PRIMARY, .possible_crtcs = 2};
	bed->planes[2] =
		(struct kms_plane){.id = 33, .type = DRM_PLANE_TYPE_OVERLAY, .possible_crtcs = 3};
	for (int i = 0; i < 3; i++) {
		bed->planes[i].props[KMS_PLANE_FB_ID] = 100;
		bed->planes[i].props[KMS_PLANE_CRTC_ID] = 101;
	}
	bed->device.crtcs = bed->crtcs;
	bed->device.n_crtcs = 2;
	bed->device.planes = bed->planes;
	bed->device.n_planes = 3;
	for (int i = 0; i < 2; i++)
		bed->outputs[i] = bed_output(bed, i);
}

static void bed_finish(struct bed *bed)
{
	for (int i = 0; i < 2; i++) {
		struct kms_output *output = bed->outputs[i];
		struct kms_layer *layer, *tmp;
		wl_list_for_each_safe (layer, tmp, &output->layers, link)
			kms_layer_free(layer);
		if (output->idle != NULL)
			wl_event_source_remove(output->idle);
		free(output);
	}
	wl_event_loop_destroy(bed->loop);
}

/* A frame of output with its layer on plane_id (0: copied) and its composition on comp_plane. */
static void frame_on(struct kms_output *output, struct kms_layer *layer, uint32_t plane_id,
		     uint32_t comp_plane)
{
	layer->state = (struct kms_layer_state){
		.visible = true, .direct = plane_id != 0, .plane_id = plane_id};
	output->placed_comp_plane = comp_plane;
}

static void test_shared_overlay(void)
{
	struct bed bed;
	bed_init(&bed);
	struct kms_output *a = bed.outputs[0], *b = bed.outputs[1];
	struct kms_plane *overlay = &bed.planes[2];
	struct kms_layer *la = kms_output_create_layer(a, 0);
	struct kms_layer *lb = kms_output_create_layer(b, 0);
	check(la != NULL && lb != NULL);

	/* Free: either output may take it. */
	check(!kms_plane_busy(overlay, a) && !kms_plane_busy(overlay, b));

	/* B commits a frame with its layer on the overlay: in flight, B's. */
	frame_on(b, lb, overlay->id, bed.planes[1].id);
	kms_place_queued(b);
	check(overlay->queued_on == b);
	check(kms_plane_busy(overlay, a) && !kms_plane_busy(overlay, b));
	kms_place_flipped(b);
	check(overlay->current_on == b && overlay->queued_on == NULL);
	check(kms_plane_busy(overlay, a));

	/* A wanted it meanwhile and copied its layer instead. */
	a->plane_wait = true;
	a->placed_valid = true;

	/* B's next frame copies its layer: the overlay stays B's until that flip. */
	frame_on(b, lb, 0, bed.planes[1].id);
	kms_place_queued(b);
	check(overlay->current_on == b && overlay->queued_on == NULL);
	check(kms_plane_busy(overlay, a));
	check(a->idle == NULL && a->plane_wait);

	/* The flip takes it off: free, and A places again. */
	kms_place_flipped(b);
	check(overlay->current_on == NULL && !kms_plane_busy(overlay, a));
	check(!a->plane_wait && !a->placed_valid && a->idle != NULL);

	/* A takes it; turning B off never names it, turning A off does. */
	frame_on(a, la, overlay->id, bed.planes[0].id);
	kms_place_queued(a);
	kms_place_flipped(a);
	check(overlay->current_on == a && kms_plane_busy(overlay, b));
	struct kms_atomic atomic;
	kms_atomic_init(&atomic);
	check(atomic.req != NULL);
	kms_place_add_planes_off(b, &atomic);
	int b_props = drmModeAtomicGetCursor(atomic.req);
	kms_place_add_planes_off(a, &atomic);
	int a_props = drmModeAtomicGetCursor(atomic.req) - b_props;
	kms_atomic_finish(&atomic);
	/* B: its primary (FB_ID, CRTC_ID); A: its primary and the overlay. */
	check_int_eq(b_props, 2);
	check_int_eq(a_props, 4);

	/* A gone: the overlay is free again. */
	kms_place_released(a);
	check(overlay->current_on == NULL && overlay->queued_on == NULL);
	check(!kms_plane_busy(overlay, b));
	bed_finish(&bed);
}

int main(void)
{
	test_shared_overlay();
	return 0;
}
