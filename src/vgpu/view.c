// SPDX-License-Identifier: MIT
/*
 * A vGPU on one output: its region of the output, and its frame placed
 * there on two layers (primary and cursor) above those of the vGPUs listed
 * before it.
 */
#include <stdlib.h>
#include <string.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "kms/output.h"
#include "kms/scale.h"
#include "util/log.h"
#include "vgpu/layout.h"
#include "vgpu/private.h"

/*
 * The view's region of its output's logical space now (vgpu/layout.h);
 * empty while the output has no mode.
 */
static void view_region(const struct vgpu_view *view, struct kms_rect *region)
{
	uint32_t width, height;
	kms_output_get_size(view->output, &width, &height);
	const struct config_output *co =
		config_find_output(view->vgpu->manager->config, view->name);
	if (co == NULL) {
		*region = (struct kms_rect){.width = width, .height = height};
		return;
	}
	vgpu_layout_slot(co, view->slot, width, height, region);
}

static bool whole_output(const struct vgpu_view *view)
{
	uint32_t width, height;
	kms_output_get_size(view->output, &width, &height);
	return view->region.x == 0 && view->region.y == 0 && view->region.width == width &&
	       view->region.height == height;
}

/*
 * Cut dst (and src with it, 1:1) down to the view's region. False when
 * nothing of it is left.
 */
static bool clip_to_region(const struct vgpu_view *view, struct kms_rect *src, struct kms_rect *dst)
{
	const struct kms_rect *r = &view->region;
	int64_t x0 = dst->x, y0 = dst->y;
	int64_t x1 = x0 + dst->width, y1 = y0 + dst->height;
	int64_t rx1 = (int64_t)r->x + r->width, ry1 = (int64_t)r->y + r->height;
	int64_t cx0 = x0 > r->x ? x0 : r->x, cy0 = y0 > r->y ? y0 : r->y;
	int64_t cx1 = x1 < rx1 ? x1 : rx1, cy1 = y1 < ry1 ? y1 : ry1;
	if (cx1 <= cx0 || cy1 <= cy0)
		return false;
	src->x += (int32_t)(cx0 - x0);
	src->y += (int32_t)(cy0 - y0);
	src->width = (uint32_t)(cx1 - cx0);
	src->height = (uint32_t)(cy1 - cy0);
	*dst = (struct kms_rect){(int32_t)cx0, (int32_t)cy0, (uint32_t)(cx1 - cx0),
				 (uint32_t)(cy1 - cy0)};
	return true;
}

/* A buffer 1:1 at x,y of the region. */
static void show_positioned(const struct vgpu_view *view, struct kms_layer *layer,
			    struct buffer *buffer, int32_t x, int32_t y)
{
	if (buffer == NULL) {
		kms_layer_set_buffer(layer, NULL, NULL, NULL);
		return;
	}
	struct kms_rect src = {0, 0, buffer->width, buffer->height};
	struct kms_rect dst = {
		.x = (int32_t)((int64_t)view->region.x + x),
		.y = (int32_t)((int64_t)view->region.y + y),
		.width = buffer->width,
		.height = buffer->height,
	};
	/* Alone on its output, a buffer may reach past the edges, as the kms layer allows. */
	if (!whole_output(view) && !clip_to_region(view, &src, &dst)) {
		kms_layer_set_buffer(layer, NULL, NULL, NULL);
		return;
	}
	kms_layer_set_buffer_int(layer, buffer, &src, &dst);
}

/* The guest's framebuffer scaled into the region, its cursor following. */
static void show_scaled(const struct vgpu_view *view)
{
	const struct vgpu_frame *frame = &view->vgpu->frame;
	const struct kms_rect *r = &view->region;
	if (frame->primary == NULL || r->width == 0 || r->height == 0) {
		kms_layer_set_buffer(view->primary, NULL, NULL, NULL);
		kms_layer_set_buffer(view->cursor, NULL, NULL, NULL);
		return;
	}
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place(view->scale, frame->primary->width, frame->primary->height, r->width,
			r->height, &src, &dst);
	dst.x += r->x;
	dst.y += r->y;
	kms_layer_set_buffer(view->primary, frame->primary, &src, &dst);
	if (frame->cursor == NULL || view->cursor_hidden) {
		kms_layer_set_buffer(view->cursor, NULL, NULL, NULL);
		return;
	}
	/* The cursor follows the primary's scaling: position and size. */
	struct kms_rect cursor_dst;
	kms_scale_point(&src, &dst, frame->cursor_x, frame->cursor_y, &cursor_dst.x, &cursor_dst.y);
	kms_scale_size(&src, &dst, frame->cursor->width, frame->cursor->height, &cursor_dst.width,
		       &cursor_dst.height);
	kms_layer_set_buffer(view->cursor, frame->cursor, NULL, &cursor_dst);
}

void vgpu_view_show(struct vgpu_view *view)
{
	const struct vgpu_frame *frame = &view->vgpu->frame;
	if (frame->placement == VGPU_PLACE_SCALED) {
		show_scaled(view);
		return;
	}
	show_positioned(view, view->primary, frame->primary, frame->primary_x, frame->primary_y);
	show_positioned(view, view->cursor, view->cursor_hidden ? NULL : frame->cursor,
			frame->cursor_x, frame->cursor_y);
}

static void handle_present(struct wl_listener *listener, void *data)
{
	struct vgpu_view *view = wl_container_of(listener, view, present);
	vgpu_handle_present(view, data);
}

static void handle_output_off(struct wl_listener *listener, void *data)
{
	struct vgpu_view *view = wl_container_of(listener, view, output_off);
	vgpu_handle_output_stopped(view);
}

static void handle_output_failed(struct wl_listener *listener, void *data)
{
	struct vgpu_view *view = wl_container_of(listener, view, output_failed);
	vgpu_handle_output_stopped(view);
}

/* The output's card went away: its layers go with it, the view with them. */
static void handle_output_destroy(struct wl_listener *listener, void *data)
{
	struct vgpu_view *view = wl_container_of(listener, view, output_destroy);
	log_info("vgpu %s: output %s is gone", view->vgpu->name, view->name);
	view->primary = view->cursor = NULL;
	vgpu_handle_view_gone(view);
}

static int create_layers(struct vgpu_view *view)
{
	view->primary = kms_output_create_layer(view->output, VGPU_ZPOS(view->slot));
	view->cursor = kms_output_create_layer(view->output, VGPU_ZPOS(view->slot) + 1);
	return view->primary != NULL && view->cursor != NULL ? 0 : -1;
}

static void destroy_layers(struct vgpu_view *view)
{
	kms_layer_destroy(view->primary);
	kms_layer_destroy(view->cursor);
	view->primary = view->cursor = NULL;
}

struct vgpu_view *vgpu_view_create(struct vgpu *vgpu, const struct config_output *co,
				   struct kms_output *output)
{
	struct vgpu_view *view = calloc(1, sizeof(*view));
	if (view == NULL)
		return NULL;
	view->vgpu = vgpu;
	view->output = output;
	view->name = strdup(co->name);
	int slot = config_output_vgpu_index(co, vgpu->name);
	view->slot = slot > 0 ? (size_t)slot : 0;
	view->scale = co->scale;
	view->cursor_hidden = co->cursor == CONFIG_CURSOR_HIDDEN;
	view_region(view, &view->region);
	if (view->name == NULL || create_layers(view) != 0) {
		destroy_layers(view);
		free(view->name);
		free(view);
		return NULL;
	}
	wl_list_insert(vgpu->views.prev, &view->link);
	view->output_destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &view->output_destroy);
	view->output_off.notify = handle_output_off;
	wl_signal_add(&output->events.off, &view->output_off);
	view->output_failed.notify = handle_output_failed;
	wl_signal_add(&output->events.failed, &view->output_failed);
	view->present.notify = handle_present;
	wl_signal_add(&output->events.present, &view->present);
	return view;
}

void vgpu_view_destroy(struct vgpu_view *view)
{
	wl_list_remove(&view->present.link);
	wl_list_remove(&view->output_off.link);
	wl_list_remove(&view->output_failed.link);
	wl_list_remove(&view->output_destroy.link);
	destroy_layers(view);
	wl_list_remove(&view->link);
	free(view->name);
	free(view);
}

bool vgpu_view_update(struct vgpu_view *view, const struct config_output *co)
{
	bool replace = false;
	if (co != NULL) {
		int slot = config_output_vgpu_index(co, view->vgpu->name);
		bool hidden = co->cursor == CONFIG_CURSOR_HIDDEN;
		if (slot >= 0 && (size_t)slot != view->slot) {
			/* Another place in the stack: new layers at their zpos. */
			view->slot = (size_t)slot;
			destroy_layers(view);
			if (create_layers(view) != 0)
				log_error("vgpu %s: out of memory moving it on output %s",
					  view->vgpu->name, view->name);
			replace = true;
		}
		if (view->scale != co->scale || view->cursor_hidden != hidden) {
			view->scale = co->scale;
			view->cursor_hidden = hidden;
			replace = true;
		}
	}
	struct kms_rect region;
	view_region(view, &region);
	bool moved = memcmp(&region, &view->region, sizeof(region)) != 0;
	view->region = region;
	if ((replace || moved) && view->primary != NULL && view->cursor != NULL)
		vgpu_view_show(view);
	if (moved && view->vgpu->clock == view)
		vgpu_tell_clock_region(view->vgpu);
	return moved;
}
