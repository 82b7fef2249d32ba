// SPDX-License-Identifier: MIT
#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "render/scanout.h"

/*
 * The last step of a frame: from a successful commit to its flip event.
 * The committed buffers are queued (locked) until the flip, then current;
 * the flip event emits events.present, then unlocks the buffers the frame
 * replaced, so that a source hears "presented" before "release".
 */

void kms_present_queue(struct kms_output *output, struct kms_frame *frame)
{
	output->placed_valid = true;
	output->stats.commits++;
	output->commit_seq++;
	output->flip_pending = true;
	output->queued_method = frame->method;
	output->queued_copied = frame->copied;
	output->last_primary_fb =
		frame->planes_on == 1 && frame->primary_fb != 0 ? frame->primary_fb : 0;
	if (frame->modeset) {
		output->stats.modesets++;
		output->needs_modeset = false;
	}
	if (frame->comp_used) {
		scanout_buffer_set_busy(frame->comp);
		output->comp_queued = frame->comp;
	}
	kms_place_queued(output);
	struct kms_present_event *ev = &output->present_event;
	ev->output = output;
	ev->n_layers = 0;
	ev->flags =
		(frame->method == KMS_FLIP_METHOD_VSYNC ? KMS_PRESENT_VSYNC : KMS_PRESENT_ASYNC) |
		(frame->modeset ? KMS_PRESENT_MODESET : 0) |
		(output->turned ? KMS_PRESENT_TURNED : 0);
	output->turned = false;
	if (frame->any_visible && !frame->copied)
		ev->flags |= KMS_PRESENT_ZERO_COPY;
	struct kms_layer *layer;
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
}

static void comp_release(struct scanout_buffer **slot)
{
	if (*slot != NULL)
		scanout_buffer_release(*slot);
	*slot = NULL;
}

void kms_output_handle_flip(struct kms_output *output, uint32_t sequence, uint64_t time_ns)
{
	if (!output->flip_pending)
		return;
	output->flip_pending = false;
	if (output->state == KMS_OUTPUT_DISABLING) {
		if (output->off_committed) {
			kms_output_release_hw(output);
		} else {
			/* The last frame landed: now the commit that turns the CRTC off. */
			kms_place_flipped(output);
			output->state = KMS_OUTPUT_ON;
			kms_output_turn_off(output);
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
	/* Planes this frame no longer uses are free for the other outputs. */
	kms_place_flipped(output);
	wl_list_for_each_safe (layer, tmp, &output->dead_layers, link) {
		if (layer->dead_seq < output->commit_seq)
			kms_layer_free(layer);
	}

	struct kms_present_event *ev = &output->present_event;
	output->last_flip_ns = time_ns;
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

	/* Changes made meanwhile go out by their deadline, with those still to come. */
	if (output->frame_wanted && output->state == KMS_OUTPUT_ON)
		kms_output_schedule_frame(output);
}
