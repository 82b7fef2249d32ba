// SPDX-License-Identifier: MIT
/*
 * The vGPU core: every guest frame goes one way through it.
 *
 *   source (vscanout-v1 client, VFIO device)
 *     │ vgpu_show(frame), vgpu_track(serial)
 *     ▼
 *   vgpu ── each view places the frame in its region of its output
 *     │ kms_layer_set_buffer()                              (view.c)
 *     ▼
 *   kms output: build, place on planes, commit, flip        (kms/)
 *     │ events.present / off / failed
 *     ▼
 *   vgpu ── on its clock output: which tracked frame is on screen
 *     │ source->impl->presented(), frame_done(serial)
 *     ▼
 *   source (answers its VMM: presented / discarded; VFIO pacing)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "daemon/display.h"
#include "input/forward.h"
#include "kms/output.h"
#include "kms/vblank.h"
#include "util/log.h"
#include "vgpu/private.h"

static void answer(struct vgpu *vgpu, struct vgpu_commit *commit,
		   const struct vgpu_present *present)
{
	wl_list_remove(&commit->link);
	uint32_t serial = commit->serial;
	free(commit);
	if (vgpu->source != NULL && vgpu->source->impl->frame_done != NULL)
		vgpu->source->impl->frame_done(vgpu->source, serial, present);
}

void vgpu_discard_commits(struct vgpu *vgpu)
{
	while (!wl_list_empty(&vgpu->commits)) {
		struct vgpu_commit *commit = wl_container_of(vgpu->commits.next, commit, link);
		answer(vgpu, commit, NULL);
	}
}

static struct kms_output *clock_output(const struct vgpu *vgpu)
{
	return vgpu->clock != NULL ? vgpu->clock->output : NULL;
}

/*
 * Choose the clock view again (after the views or the configuration
 * changed): clock= when the vGPU is shown there, else the first view.
 * What it paces follows: the source and the vblank source, whose fds the
 * VMM keeps. Frames waiting for a frame of the old clock are discarded:
 * the new one counts its frames apart.
 */
void vgpu_update_clock(struct vgpu *vgpu)
{
	const char *want = config_vgpu_clock(vgpu->manager->config, vgpu->name);
	struct vgpu_view *clock = NULL, *view;
	wl_list_for_each (view, &vgpu->views, link) {
		if (want != NULL && strcmp(view->name, want) == 0) {
			clock = view;
			break;
		}
	}
	bool missing = want != NULL && clock == NULL;
	if (clock == NULL && !wl_list_empty(&vgpu->views))
		clock = wl_container_of(vgpu->views.next, clock, link);
	if (missing && !vgpu->clock_missing) {
		if (clock != NULL)
			log_warn("vgpu %s: clock output %s is not present, output %s paces it",
				 vgpu->name, want, clock->name);
		else
			log_warn("vgpu %s: clock output %s is not present, nor any other of its "
				 "outputs",
				 vgpu->name, want);
	}
	vgpu->clock_missing = missing;
	if (clock != vgpu->clock) {
		if (vgpu->clock != NULL && clock != NULL)
			log_info("vgpu %s: the clock moves from output %s to %s", vgpu->name,
				 vgpu->clock->name, clock->name);
		vgpu_discard_commits(vgpu);
		vgpu->clock = clock;
	}
	struct kms_output *output = clock_output(vgpu);
	if (vgpu->source != NULL && vgpu->source->impl->set_clock != NULL)
		vgpu->source->impl->set_clock(vgpu->source, output);
	vgpu_tell_clock_region(vgpu);
	/* Shown nowhere: the vblank source stays where it was. */
	if (vgpu->vblank_source != NULL && output != NULL)
		kms_vblank_source_set_output(vgpu->vblank_source, output);
}

/* What the frame ev put on screen was for the vGPU's layers on view. */
static void make_present(const struct vgpu_view *view, const struct kms_present_event *ev,
			 struct vgpu_present *present)
{
	*present = (struct vgpu_present){
		.output = ev->output,
		.time_ns = ev->time_ns,
		.sequence = ev->sequence,
		.refresh_mhz = kms_mode_refresh_mhz(&ev->output->mode),
		.async = (ev->flags & KMS_PRESENT_ASYNC) != 0,
		.zero_copy = true,
		.shown = true,
		.new_mode = (ev->flags & (KMS_PRESENT_MODESET | KMS_PRESENT_TURNED)) != 0,
	};
	for (size_t i = 0; i < ev->n_layers; i++) {
		const struct kms_present_layer *l = &ev->layers[i];
		if (l->layer != view->primary && l->layer != view->cursor)
			continue;
		present->zero_copy &= l->zero_copy;
		/* Neither a plane nor the copy path could show it: the placeholder is there. */
		present->shown &= l->shown;
		if (l->layer == view->primary)
			present->primary = l->buffer;
	}
}

static bool primary_in(const struct vgpu_view *view, const struct kms_present_event *ev)
{
	for (size_t i = 0; i < ev->n_layers; i++) {
		if (ev->layers[i].layer == view->primary)
			return true;
	}
	return false;
}

void vgpu_handle_present(struct vgpu_view *view, const struct kms_present_event *ev)
{
	struct vgpu *vgpu = view->vgpu;
	struct vgpu_source *source = vgpu->source;
	if (ev->flags & (KMS_PRESENT_MODESET | KMS_PRESENT_TURNED)) {
		/* A new mode or rotation: the regions follow, the frame is placed again. */
		vgpu_view_update(view, NULL);
		wl_signal_emit_mutable(&vgpu->views_changed, vgpu);
		if (view == vgpu->clock && source != NULL &&
		    source->impl->clock_mode_changed != NULL)
			source->impl->clock_mode_changed(source);
	}
	if (view != vgpu->clock)
		return;

	struct vgpu_present present;
	make_present(view, ev, &present);
	if (source != NULL && source->impl->presented != NULL && primary_in(view, ev))
		source->impl->presented(source, &present);

	/* The newest frame this one carries is presented, older ones were replaced. */
	struct vgpu_commit *commit, *newest = NULL;
	wl_list_for_each (commit, &vgpu->commits, link) {
		if (commit->target <= view->output->commit_seq)
			newest = commit;
	}
	if (newest == NULL)
		return;
	while (!wl_list_empty(&vgpu->commits)) {
		commit = wl_container_of(vgpu->commits.next, commit, link);
		if (commit == newest) {
			answer(vgpu, commit, present.shown ? &present : NULL);
			break;
		}
		answer(vgpu, commit, NULL);
	}
}

/*
 * The output stops showing frames or could not commit one: if it is the
 * clock, no frame of it answers the frames waiting, so they are discarded
 * now; the next one tries again.
 */
void vgpu_handle_output_stopped(struct vgpu_view *view)
{
	if (view->vgpu->clock == view)
		vgpu_discard_commits(view->vgpu);
}

void vgpu_handle_view_gone(struct vgpu_view *view)
{
	struct vgpu *vgpu = view->vgpu;
	if (vgpu->clock == view) {
		vgpu_discard_commits(vgpu);
		vgpu->clock = NULL;
	}
	vgpu_view_destroy(view);
	vgpu_update_clock(vgpu);
	wl_signal_emit_mutable(&vgpu->views_changed, vgpu);
}

struct vgpu *vgpu_create(struct vgpu_manager *manager, const char *name, struct vgpu_source *source,
			 struct input_target *sink)
{
	struct vgpu *vgpu = calloc(1, sizeof(*vgpu));
	if (vgpu == NULL)
		return NULL;
	vgpu->manager = manager;
	vgpu->source = source;
	vgpu->sink = sink;
	vgpu->target.impl = &vgpu_target_impl;
	wl_list_init(&vgpu->views);
	wl_list_init(&vgpu->commits);
	wl_signal_init(&vgpu->views_changed);
	wl_list_insert(&manager->vgpus, &vgpu->link);
	vgpu->name = strdup(name);
	if (vgpu->name == NULL)
		goto error;

	const struct config_output *co;
	wl_list_for_each (co, &manager->config->outputs, link) {
		if (config_output_vgpu_index(co, name) < 0)
			continue;
		struct kms_output *output = display_find_output(manager->displays, co->name);
		if (output == NULL) {
			log_warn("vgpu %s: output %s is not present", name, co->name);
			continue;
		}
		if (vgpu_view_create(vgpu, co, output) == NULL)
			goto error;
	}
	vgpu_update_clock(vgpu);
	return vgpu;

error:
	vgpu->source = NULL;
	vgpu_destroy(vgpu);
	return NULL;
}

void vgpu_destroy(struct vgpu *vgpu)
{
	if (vgpu == NULL)
		return;
	/* Forgotten unanswered: whoever destroys it is going away. */
	struct vgpu_commit *commit, *commit_tmp;
	wl_list_for_each_safe (commit, commit_tmp, &vgpu->commits, link) {
		wl_list_remove(&commit->link);
		free(commit);
	}
	struct vgpu_view *view, *view_tmp;
	wl_list_for_each_safe (view, view_tmp, &vgpu->views, link)
		vgpu_view_destroy(view);
	vgpu->clock = NULL;
	kms_vblank_source_destroy(vgpu->vblank_source);
	input_forward_remove_target(vgpu->manager->forward, &vgpu->target);
	vgpu_destroy_uinput(vgpu);
	buffer_unref(vgpu->frame.primary);
	buffer_unref(vgpu->frame.cursor);
	wl_list_remove(&vgpu->link);
	free(vgpu->name);
	free(vgpu);
}

const char *vgpu_get_name(const struct vgpu *vgpu)
{
	return vgpu->name;
}

void vgpu_set_owner(struct vgpu *vgpu, const struct vgpu_owner_info *owner)
{
	vgpu->owner = *owner;
}

void vgpu_get_owner(const struct vgpu *vgpu, struct vgpu_owner_info *owner)
{
	*owner = vgpu->owner;
}

void vgpu_tell_clock_region(struct vgpu *vgpu)
{
	struct vgpu_source *source = vgpu->source;
	if (source == NULL || source->impl->set_clock_region == NULL)
		return;
	struct kms_rect none = {0};
	const struct kms_rect *r = vgpu->clock != NULL ? &vgpu->clock->region : &none;
	source->impl->set_clock_region(source, r->width, r->height);
}

void vgpu_set_source(struct vgpu *vgpu, struct vgpu_source *source)
{
	if (vgpu->source == source)
		return;
	vgpu_discard_commits(vgpu);
	vgpu->source = source;
	if (source != NULL && source->impl->set_clock != NULL)
		source->impl->set_clock(source, clock_output(vgpu));
	vgpu_tell_clock_region(vgpu);
}

struct vgpu_source *vgpu_get_source(const struct vgpu *vgpu)
{
	return vgpu->source;
}

void vgpu_show(struct vgpu *vgpu, const struct vgpu_frame *frame)
{
	struct buffer *primary = frame->primary != NULL ? buffer_ref(frame->primary) : NULL;
	struct buffer *cursor = frame->cursor != NULL ? buffer_ref(frame->cursor) : NULL;
	buffer_unref(vgpu->frame.primary);
	buffer_unref(vgpu->frame.cursor);
	vgpu->frame = *frame;
	vgpu->frame.primary = primary;
	vgpu->frame.cursor = cursor;
	struct vgpu_view *view;
	wl_list_for_each (view, &vgpu->views, link)
		vgpu_view_show(view);
}

const struct vgpu_frame *vgpu_get_frame(const struct vgpu *vgpu)
{
	return &vgpu->frame;
}

int vgpu_track(struct vgpu *vgpu, uint32_t serial)
{
	struct kms_output *clock = clock_output(vgpu);
	bool showable = clock != NULL && clock->state == KMS_OUTPUT_ON;
	uint64_t target = showable ? clock->commit_seq + 1 : 0;
	/* Frames aimed at the same vblank replace each other (mailbox). */
	struct vgpu_commit *commit, *tmp;
	wl_list_for_each_safe (commit, tmp, &vgpu->commits, link) {
		if (!showable || commit->target == target)
			answer(vgpu, commit, NULL);
	}
	commit = showable ? calloc(1, sizeof(*commit)) : NULL;
	if (commit == NULL) {
		if (vgpu->source != NULL && vgpu->source->impl->frame_done != NULL)
			vgpu->source->impl->frame_done(vgpu->source, serial, NULL);
		return showable ? -ENOMEM : 0;
	}
	commit->serial = serial;
	commit->target = target;
	wl_list_insert(vgpu->commits.prev, &commit->link);
	return 0;
}

size_t vgpu_n_tracked(const struct vgpu *vgpu)
{
	return (size_t)wl_list_length(&vgpu->commits);
}

const char *vgpu_get_clock_name(const struct vgpu *vgpu)
{
	return vgpu->clock != NULL ? vgpu->clock->name : NULL;
}

int vgpu_get_vblank_fds(struct vgpu *vgpu, int *ticks, int *memfd, bool *timer)
{
	struct kms_output *clock = clock_output(vgpu);
	if (clock == NULL)
		return -ENODEV;
	if (vgpu->vblank_source == NULL)
		vgpu->vblank_source = kms_vblank_source_create(clock);
	if (vgpu->vblank_source == NULL ||
	    kms_vblank_source_get_fds(vgpu->vblank_source, ticks, memfd) != 0)
		return -ENOMEM;
	struct vscanout_vblank_state state;
	kms_vblank_source_get_state(vgpu->vblank_source, &state);
	*timer = (state.flags & VSCANOUT_VBLANK_TIMER) != 0;
	return 0;
}

size_t vgpu_n_views(const struct vgpu *vgpu)
{
	return (size_t)wl_list_length(&vgpu->views);
}

bool vgpu_get_view(const struct vgpu *vgpu, size_t i, struct vgpu_view_info *info)
{
	const struct vgpu_view *view;
	wl_list_for_each (view, &vgpu->views, link) {
		if (i-- > 0)
			continue;
		*info = (struct vgpu_view_info){
			.output_name = view->name,
			.output = view->output,
			.slot = view->slot,
			.region = view->region,
			.primary = view->primary,
			.cursor = view->cursor,
		};
		uint32_t width, height, mm_width, mm_height;
		kms_output_get_size(view->output, &width, &height);
		kms_output_get_physical_size(view->output, &mm_width, &mm_height);
		if (width > 0 && height > 0) {
			info->refresh_mhz = kms_mode_refresh_mhz(&view->output->mode);
			info->mm_width =
				(uint32_t)((uint64_t)mm_width * view->region.width / width);
			info->mm_height =
				(uint32_t)((uint64_t)mm_height * view->region.height / height);
		}
		return true;
	}
	return false;
}

void vgpu_add_views_listener(struct vgpu *vgpu, struct wl_listener *listener)
{
	wl_signal_add(&vgpu->views_changed, listener);
}
