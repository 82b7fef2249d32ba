// SPDX-License-Identifier: MIT
#include <libliftoff.h>
#include <stdlib.h>
#include <time.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"

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

struct kms_layer *kms_output_create_layer(struct kms_output *output, int zpos)
{
	struct kms_layer *layer = calloc(1, sizeof(*layer));
	if (layer == NULL)
		return NULL;
	layer->output = output;
	layer->zpos = zpos;
	if (kms_place_attach_layer(layer) < 0) {
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

void kms_layer_drop_slots(struct kms_layer *layer)
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

void kms_layer_free(struct kms_layer *layer)
{
	kms_layer_drop_slots(layer);
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
		kms_layer_free(layer);
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

bool kms_layer_get_rects(const struct kms_layer *layer, struct kms_fixed_rect *src,
			 struct kms_rect *dst)
{
	if (layer->buffer == NULL)
		return false;
	kms_layer_rects(layer, dst, src);
	return true;
}
