// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "daemon/display.h"
#include "input/forward.h"
#include "input/hotkey.h"
#include "input/input.h"
#include "input/layout.h"
#include "input/router.h"
#include "kms/output.h"
#include "render/cursor.h"
#include "util/log.h"
#include "vgpu/layout.h"
#include "vgpu/vgpu.h"

enum forward_action {
	ACTION_NEXT_OUTPUT,
	ACTION_PREV_OUTPUT,
	ACTION_NEXT_VGPU,
	ACTION_PREV_VGPU,
};

/* What the layout was built from, to notice changes. */
struct layout_key {
	struct kms_output *output; /* may be NULL: not present */
	uint32_t width, height;
};

struct input_forward {
	const struct config *config; /* borrowed */
	struct display *displays;    /* borrowed */
	struct vgpu_manager *vgpus;  /* borrowed */
	struct input *input;
	struct router *router;
	struct layout layout;
	struct layout_key *keys; /* one per [output], in configuration order */
	size_t n_outputs;
	bool layout_valid;
	double x, y;     /* the pointer in the layout */
	uint64_t events; /* device events handled */
	struct wl_listener event;
	input_forward_assign_fn assign; /* may be NULL: the vGPU hotkeys do nothing */
	void *assign_data;

	/* The host cursor, on the output under the pointer when its VM has none. */
	struct kms_output *cursor_output; /* may be NULL */
	struct kms_layer *cursor_layer;   /* may be NULL: on cursor_output */
	struct wl_listener cursor_output_destroy;
};

static void hide_cursor(struct input_forward *forward)
{
	if (forward->cursor_output == NULL)
		return;
	kms_layer_destroy(forward->cursor_layer);
	wl_list_remove(&forward->cursor_output_destroy.link);
	wl_list_init(&forward->cursor_output_destroy.link);
	forward->cursor_output = NULL;
	forward->cursor_layer = NULL;
}

/* The output is being freed with its layers: forget ours. */
static void handle_cursor_output_destroy(struct wl_listener *listener, void *data)
{
	struct input_forward *forward = wl_container_of(listener, forward, cursor_output_destroy);
	wl_list_remove(&forward->cursor_output_destroy.link);
	wl_list_init(&forward->cursor_output_destroy.link);
	forward->cursor_output = NULL;
	forward->cursor_layer = NULL;
}

/*
 * Show the host cursor at point x,y of output's logical space, unless its
 * [output] says cursor = hidden or the VM there shows a cursor of its own.
 */
static void show_cursor(struct input_forward *forward, struct kms_output *output,
			const struct config_output *co, struct input_target *target, double x,
			double y)
{
	if (co == NULL || co->cursor == CONFIG_CURSOR_HIDDEN ||
	    (target != NULL && vgpu_has_cursor(vgpu_from_input_target(target)))) {
		hide_cursor(forward);
		return;
	}
	/* The card's own image, freed with the card. */
	struct buffer *image = kms_device_get_cursor_image(output->device);
	if (image == NULL)
		return;
	if (forward->cursor_output != output) {
		hide_cursor(forward);
		forward->cursor_layer = kms_output_create_layer(output, VGPU_HOST_CURSOR_ZPOS);
		if (forward->cursor_layer == NULL)
			return;
		forward->cursor_output = output;
		forward->cursor_output_destroy.notify = handle_cursor_output_destroy;
		wl_signal_add(&output->events.destroy, &forward->cursor_output_destroy);
	}
	struct kms_rect dst = {(int32_t)x, (int32_t)y, RENDER_CURSOR_SIZE, RENDER_CURSOR_SIZE};
	kms_layer_set_buffer(forward->cursor_layer, image, NULL, &dst);
}

static struct kms_output *config_output_at(struct input_forward *forward, size_t index,
					   const struct config_output **co_out)
{
	size_t i = 0;
	const struct config_output *co;
	wl_list_for_each (co, &forward->config->outputs, link) {
		if (i++ == index) {
			*co_out = co;
			return display_find_output(forward->displays, co->name);
		}
	}
	*co_out = NULL;
	return NULL;
}

/* Rebuild the layout when an output appeared, went or changed its mode. */
static void update_layout(struct input_forward *forward)
{
	bool changed = !forward->layout_valid;
	for (size_t i = 0; i < forward->n_outputs && !changed; i++) {
		const struct config_output *co;
		struct kms_output *output = config_output_at(forward, i, &co);
		uint32_t w = 0, h = 0;
		if (output != NULL)
			kms_output_get_mode_size(output, &w, &h);
		changed = output != forward->keys[i].output || w != forward->keys[i].width ||
			  h != forward->keys[i].height;
	}
	if (!changed)
		return;

	layout_finish(&forward->layout);
	layout_init(&forward->layout);
	for (size_t i = 0; i < forward->n_outputs; i++) {
		const struct config_output *co;
		struct kms_output *output = config_output_at(forward, i, &co);
		uint32_t w = 0, h = 0;
		if (output != NULL)
			kms_output_get_mode_size(output, &w, &h);
		forward->keys[i] = (struct layout_key){output, w, h};
		if (output == NULL || w == 0)
			continue;
		struct layout_output_config lc = {
			.position_set = co->position_set,
			.x = co->x,
			.y = co->y,
			.width = w,
			.height = h,
			.rotation = (enum layout_rotation)co->rotation,
			.order = (int)i,
		};
		if (layout_output_create(&forward->layout, co->name, &lc, output) == NULL)
			log_error("input: out of memory placing output %s", co->name);
	}
	forward->layout_valid = true;
	/* The pointer stays where it was, if that is still on an output. */
	layout_clamp(&forward->layout, &forward->x, &forward->y);
}

/*
 * The target shown on lo and the guest coordinates of its point lx,ly (in
 * its box: the logical space its layers are placed in, kms/rotation.h).
 * NULL when no vGPU is attached there.
 */
static struct input_target *target_at(struct input_forward *forward, struct layout_output *lo,
				      double lx, double ly, double *gx, double *gy)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;
	bool picture = false;
	struct vgpu *vgpu =
		vgpu_manager_vgpu_at(forward->vgpus, lo->data, lx, ly, &src, &dst, &picture);
	struct input_target *target = vgpu != NULL ? vgpu_input_target(vgpu) : NULL;
	layout_output_set_picture(lo, picture ? &src : NULL, picture ? &dst : NULL);
	if (!layout_output_to_guest(lo, lx, ly, gx, gy)) {
		/* No picture: output coordinates, clamped by the layout. */
		if (!picture) {
			*gx = lx;
			*gy = ly;
		}
	}
	return target;
}

static void pointer_moved(struct input_forward *forward, uint64_t time_usec)
{
	struct layout_output *lo = layout_clamp(&forward->layout, &forward->x, &forward->y);
	if (lo == NULL) {
		router_pointer_motion(forward->router, time_usec, NULL, 0, 0);
		return;
	}
	double lx, ly, gx, gy;
	layout_to_box(lo, forward->x, forward->y, &lx, &ly);
	struct input_target *target = target_at(forward, lo, lx, ly, &gx, &gy);
	router_pointer_motion(forward->router, time_usec, target, gx, gy);
	show_cursor(forward, lo->data, config_find_output(forward->config, lo->name), target, lx,
		    ly);
}

/*
 * A vGPU attached, detached or started showing on the output under a
 * still pointer: the focus follows before a key or button is routed.
 */
static void refresh_pointer(struct input_forward *forward, uint64_t time_usec)
{
	struct layout_output *lo = layout_output_at(&forward->layout, forward->x, forward->y);
	struct input_target *under = NULL;
	if (lo != NULL) {
		struct kms_fixed_rect src;
		struct kms_rect dst;
		bool picture;
		double lx, ly;
		layout_to_box(lo, forward->x, forward->y, &lx, &ly);
		struct vgpu *vgpu = vgpu_manager_vgpu_at(forward->vgpus, lo->data, lx, ly, &src,
							 &dst, &picture);
		under = vgpu != NULL ? vgpu_input_target(vgpu) : NULL;
	}
	if (under != router_pointer_focus(forward->router))
		pointer_moved(forward, time_usec);
}

/*
 * The output a touchscreen (or tablet) is bound to: its [touchscreen]
 * section's, else udev's WL_OUTPUT, else the first configured output, else
 * the first lit one (layout_touch_output()).
 */
static struct layout_output *touch_output(struct input_forward *forward,
					  const struct input_device *device)
{
	if (device == NULL)
		return layout_output_cycle(&forward->layout, NULL, true);
	const struct config_touchscreen *ts =
		config_find_touchscreen(forward->config, device->name);
	return layout_touch_output(&forward->layout, ts != NULL ? ts->output : NULL,
				   device->output_name,
				   config_touchscreen_output(forward->config, device->name));
}

static void touch_point(struct input_forward *forward, const struct input_seat_event *ev,
			struct input_target **target, double *gx, double *gy)
{
	struct layout_output *lo = touch_output(forward, ev->device);
	*target = NULL;
	*gx = *gy = 0;
	if (lo == NULL)
		return;
	double mx, my, x, y, lx, ly;
	layout_touch_to_mode(lo, ev->touch.x, ev->touch.y, &mx, &my);
	layout_from_mode(lo, mx, my, &x, &y);
	layout_to_box(lo, x, y, &lx, &ly);
	*target = target_at(forward, lo, lx, ly, gx, gy);
}

static void handle_event(struct wl_listener *listener, void *data)
{
	struct input_forward *forward = wl_container_of(listener, forward, event);
	const struct input_seat_event *ev = data;
	update_layout(forward);
	forward->events++;
	struct input_target *target;
	double gx, gy;

	switch (ev->type) {
	case INPUT_EVENT_KEY:
		refresh_pointer(forward, ev->time_usec);
		router_key(forward->router, ev->time_usec, ev->key.code, ev->key.pressed);
		break;
	case INPUT_EVENT_POINTER_MOTION:
		forward->x += ev->motion.dx;
		forward->y += ev->motion.dy;
		pointer_moved(forward, ev->time_usec);
		target = router_pointer_focus(forward->router);
		if (target != NULL)
			vgpu_relative_motion(vgpu_from_input_target(target), ev->time_usec,
					     ev->motion.dx_unaccel, ev->motion.dy_unaccel);
		break;
	case INPUT_EVENT_POINTER_MOTION_ABSOLUTE: {
		/* Absolute pointers (tablets) span the output touchscreens go to. */
		struct layout_output *lo = touch_output(forward, ev->device);
		if (lo != NULL) {
			double mx, my;
			layout_touch_to_mode(lo, ev->absolute.x, ev->absolute.y, &mx, &my);
			layout_from_mode(lo, mx, my, &forward->x, &forward->y);
			pointer_moved(forward, ev->time_usec);
		}
		break;
	}
	case INPUT_EVENT_POINTER_BUTTON:
		refresh_pointer(forward, ev->time_usec);
		router_pointer_button(forward->router, ev->time_usec, ev->button.code,
				      ev->button.pressed);
		break;
	case INPUT_EVENT_POINTER_SCROLL:
		router_pointer_scroll(forward->router, ev->time_usec, ev->scroll.axis,
				      ev->scroll.value120 / 120.0, ev->scroll.value120);
		break;
	case INPUT_EVENT_TOUCH_DOWN:
		touch_point(forward, ev, &target, &gx, &gy);
		router_touch_down(forward->router, ev->time_usec, target, ev->touch.seat_slot, gx,
				  gy);
		break;
	case INPUT_EVENT_TOUCH_MOTION:
		touch_point(forward, ev, &target, &gx, &gy);
		router_touch_motion(forward->router, ev->time_usec, ev->touch.seat_slot, gx, gy);
		break;
	case INPUT_EVENT_TOUCH_UP:
		router_touch_up(forward->router, ev->time_usec, ev->touch.seat_slot);
		break;
	case INPUT_EVENT_TOUCH_FRAME:
		router_touch_frame(forward->router);
		break;
	case INPUT_EVENT_TOUCH_CANCEL:
		router_touch_cancel(forward->router);
		break;
	case INPUT_EVENT_DEVICE_ADDED:
	case INPUT_EVENT_DEVICE_REMOVED:
	case INPUT_EVENT__COUNT:
		break;
	}
}

/*
 * The slot of co whose region of `here` holds the pointer: the topmost, or
 * the only one (a vGPU alone on its output has all of it), or 0 when the
 * output shows none. -1 when the pointer is in no region.
 */
static int slot_at_pointer(struct input_forward *forward, struct layout_output *here,
			   const struct config_output *co)
{
	uint32_t width = 0, height = 0;
	if (here->data != NULL)
		kms_output_get_size(here->data, &width, &height);
	struct kms_rect regions[CONFIG_OUTPUT_MAX_VGPUS];
	size_t n = vgpu_layout_output(co, width, height, regions);
	if (n <= 1)
		return 0;
	double lx, ly;
	layout_to_box(here, forward->x, forward->y, &lx, &ly);
	return vgpu_layout_slot_at(regions, n, lx, ly);
}

/* The region under the pointer shows the next (previous) vGPU of the configuration. */
static void cycle_vgpu(struct input_forward *forward, struct layout_output *here, bool next)
{
	if (here == NULL || forward->assign == NULL)
		return;
	const struct config_output *co = config_find_output(forward->config, here->name);
	if (co == NULL)
		return;
	int slot = slot_at_pointer(forward, here, co);
	if (slot < 0) {
		log_debug("input: hotkey: the pointer is in no vGPU's region of output %s",
			  here->name);
		return;
	}
	const char *vgpu =
		config_cycle_vgpu(forward->config, config_output_vgpu(co, (size_t)slot), next);
	if (vgpu == NULL)
		return;
	char name[64], msg[256];
	snprintf(name, sizeof(name), "%s", vgpu); /* the configuration changes under it */
	if (forward->assign(forward->assign_data, name, here->name, (size_t)slot, msg,
			    sizeof(msg)) < 0) {
		log_warn("input: hotkey: %s", msg);
		return;
	}
	/* Whoever is shown there now has the pointer and the keyboard. */
	pointer_moved(forward, 0);
	router_set_keyboard_focus(forward->router, router_pointer_focus(forward->router));
}

/*
 * A hotkey: the pointer (and keyboard focus) go to the centre of the next
 * output, or the output under the pointer shows the next vGPU.
 */
static void handle_hotkey(void *data, int action)
{
	struct input_forward *forward = data;
	update_layout(forward);
	struct layout_output *here = layout_output_at(&forward->layout, forward->x, forward->y);
	if (action == ACTION_NEXT_VGPU || action == ACTION_PREV_VGPU) {
		cycle_vgpu(forward, here, action == ACTION_NEXT_VGPU);
		return;
	}
	struct layout_output *next =
		layout_output_cycle(&forward->layout, here, action == ACTION_NEXT_OUTPUT);
	if (next == NULL)
		return;
	layout_output_center(next, &forward->x, &forward->y);
	pointer_moved(forward, 0);
	router_set_keyboard_focus(forward->router, router_pointer_focus(forward->router));
	log_debug("input: hotkey: focus on output %s", next->name);
}

static int bind_hotkey(struct input_forward *forward, const struct hotkey *hotkey, int action)
{
	if (hotkey->key == 0)
		return 0;
	int ret = router_bind_hotkey(forward->router, hotkey, action);
	if (ret < 0) {
		char text[64];
		hotkey_format(hotkey, text, sizeof(text));
		log_warn("input: hotkey %s cannot be bound: %s", text, strerror(-ret));
	}
	return ret;
}

struct input_forward *input_forward_create(struct wl_event_loop *loop, const struct config *config,
					   struct session *session, struct display *displays,
					   struct vgpu_manager *vgpus)
{
	struct input_forward *forward = calloc(1, sizeof(*forward));
	if (forward == NULL)
		return NULL;
	forward->config = config;
	forward->displays = displays;
	forward->vgpus = vgpus;
	wl_list_init(&forward->cursor_output_destroy.link);
	layout_init(&forward->layout);
	forward->n_outputs = (size_t)wl_list_length(&config->outputs);
	forward->keys = calloc(forward->n_outputs + 1, sizeof(*forward->keys));
	forward->router = router_create(config->focus == CONFIG_FOCUS_CLICK ? ROUTER_FOCUS_CLICK
									    : ROUTER_FOCUS_POINTER,
					handle_hotkey, forward);
	if (forward->keys == NULL || forward->router == NULL)
		goto error_forward;
	bind_hotkey(forward, &config->hotkey_next_output, ACTION_NEXT_OUTPUT);
	bind_hotkey(forward, &config->hotkey_prev_output, ACTION_PREV_OUTPUT);
	bind_hotkey(forward, &config->hotkey_next_vgpu, ACTION_NEXT_VGPU);
	bind_hotkey(forward, &config->hotkey_prev_vgpu, ACTION_PREV_VGPU);

	forward->input = input_create(loop, session);
	if (forward->input == NULL)
		goto error_forward;
	forward->event.notify = handle_event;
	wl_signal_add(&forward->input->events.event, &forward->event);
	update_layout(forward);
	/* The pointer starts in the middle of the first output. */
	struct layout_output *first = layout_output_cycle(&forward->layout, NULL, true);
	if (first != NULL)
		layout_output_center(first, &forward->x, &forward->y);
	return forward;

error_forward:
	input_forward_destroy(forward);
	return NULL;
}

void input_forward_destroy(struct input_forward *forward)
{
	if (forward == NULL)
		return;
	if (forward->input != NULL) {
		wl_list_remove(&forward->event.link);
		input_destroy(forward->input);
	}
	hide_cursor(forward);
	router_destroy(forward->router);
	layout_finish(&forward->layout);
	free(forward->keys);
	free(forward);
}

void input_forward_set_assign(struct input_forward *forward, input_forward_assign_fn assign,
			      void *data)
{
	if (forward == NULL)
		return;
	forward->assign = assign;
	forward->assign_data = data;
}

void input_forward_remove_target(struct input_forward *forward, struct input_target *target)
{
	if (forward != NULL)
		router_remove_target(forward->router, target);
}

void input_forward_get_pointer(const struct input_forward *forward, double *x, double *y)
{
	*x = forward->x;
	*y = forward->y;
}

uint64_t input_forward_events(const struct input_forward *forward)
{
	return forward->events;
}

void input_forward_reconfigure(struct input_forward *forward)
{
	if (forward == NULL)
		return;
	size_t n = (size_t)wl_list_length(&forward->config->outputs);
	struct layout_key *keys = calloc(n + 1, sizeof(*keys));
	if (keys == NULL) {
		log_error("input: out of memory applying the new configuration");
		return;
	}
	free(forward->keys);
	forward->keys = keys;
	forward->n_outputs = n;
	forward->layout_valid = false;
	/* The pointer is clamped into the new layout; nothing moves until it does. */
	update_layout(forward);
}
