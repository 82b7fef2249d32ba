// SPDX-License-Identifier: MIT
/*
 * The client's vscanout_input_v1 object as its vGPU's input sink: what the
 * input router sends the vGPU (vgpu/input.c) becomes events of that
 * object, if the client made one; and the vGPU's virtual evdev devices
 * ([vgpu] uinput = yes) are announced there.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "input/router.h"
#include "input/uinput.h"
#include "protocol/private.h"
#include "util/log.h"
#include "vgpu/vgpu.h"
#include "vscanout-v1-server-protocol.h"

static struct protocol_vgpu *vgpu_of(struct input_target *sink)
{
	struct protocol_vgpu *vgpu = wl_container_of(sink, vgpu, sink);
	return vgpu;
}

#define TIME_ARGS(t) (uint32_t)((t) >> 32), (uint32_t)(t)

static void send_keys(struct wl_resource *input, const uint32_t *keys, size_t n_keys, bool enter)
{
	struct wl_array array;
	wl_array_init(&array);
	uint32_t *dst = wl_array_add(&array, n_keys * sizeof(*keys));
	if (dst != NULL || n_keys == 0) {
		if (n_keys > 0)
			memcpy(dst, keys, n_keys * sizeof(*keys));
		if (enter)
			vscanout_input_v1_send_keyboard_enter(input, &array);
		else
			vscanout_input_v1_send_keyboard_leave(input, &array);
	}
	wl_array_release(&array);
}

static void target_keyboard_enter(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		send_keys(vgpu->input, keys, n_keys, true);
}

static void target_keyboard_leave(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		send_keys(vgpu->input, keys, n_keys, false);
}

static void target_key(struct input_target *target, uint64_t time_usec, uint32_t key, bool pressed)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_key(vgpu->input, TIME_ARGS(time_usec), key,
					   pressed ? VSCANOUT_INPUT_V1_KEY_STATE_PRESSED
						   : VSCANOUT_INPUT_V1_KEY_STATE_RELEASED);
}

static void target_pointer_enter(struct input_target *target, double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_enter(vgpu->input, wl_fixed_from_double(x),
						     wl_fixed_from_double(y));
}

static void target_pointer_leave(struct input_target *target, const uint32_t *buttons,
				 size_t n_buttons)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_leave(vgpu->input);
}

static void target_motion(struct input_target *target, uint64_t time_usec, double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_motion(vgpu->input, TIME_ARGS(time_usec),
						      wl_fixed_from_double(x),
						      wl_fixed_from_double(y));
}

static void target_button(struct input_target *target, uint64_t time_usec, uint32_t button,
			  bool pressed)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_button(
			vgpu->input, TIME_ARGS(time_usec), button,
			pressed ? VSCANOUT_INPUT_V1_KEY_STATE_PRESSED
				: VSCANOUT_INPUT_V1_KEY_STATE_RELEASED);
}

static void target_scroll(struct input_target *target, uint64_t time_usec,
			  enum input_scroll_axis axis, double value, int32_t value120)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (value120 == 0)
		return;
	bool vertical = axis == INPUT_SCROLL_VERTICAL;
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_scroll(
			vgpu->input, TIME_ARGS(time_usec),
			vertical ? VSCANOUT_INPUT_V1_SCROLL_AXIS_VERTICAL
				 : VSCANOUT_INPUT_V1_SCROLL_AXIS_HORIZONTAL,
			value120);
}

static void target_touch_down(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			      double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_down(vgpu->input, TIME_ARGS(time_usec), id,
						  wl_fixed_from_double(x), wl_fixed_from_double(y));
}

static void target_touch_motion(struct input_target *target, uint64_t time_usec, int32_t id,
				double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_motion(vgpu->input, TIME_ARGS(time_usec), id,
						    wl_fixed_from_double(x),
						    wl_fixed_from_double(y));
}

static void target_touch_up(struct input_target *target, uint64_t time_usec, int32_t id)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_up(vgpu->input, TIME_ARGS(time_usec), id);
}

static void target_touch_frame(struct input_target *target)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_frame(vgpu->input);
}

static void target_touch_cancel(struct input_target *target)
{
	/* The protocol has no cancel: the vGPU core ended the points; a frame closes them. */
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_frame(vgpu->input);
}

static void sink_relative_motion(struct input_target *target, uint64_t time_usec, double dx,
				 double dy)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_relative_motion(vgpu->input, TIME_ARGS(time_usec),
							       wl_fixed_from_double(dx),
							       wl_fixed_from_double(dy));
}

const struct input_target_impl protocol_input_sink_impl = {
	.keyboard_enter = target_keyboard_enter,
	.keyboard_leave = target_keyboard_leave,
	.key = target_key,
	.pointer_enter = target_pointer_enter,
	.pointer_leave = target_pointer_leave,
	.motion = target_motion,
	.button = target_button,
	.scroll = target_scroll,
	.touch_down = target_touch_down,
	.touch_motion = target_touch_motion,
	.touch_up = target_touch_up,
	.touch_frame = target_touch_frame,
	.touch_cancel = target_touch_cancel,
	.relative_motion = sink_relative_motion,
};

/* Revokes the fds of uinput_device_fd when their input object goes. */
struct input_readers {
	struct wl_listener destroy;
};

static void handle_input_destroy(struct wl_listener *listener, void *data)
{
	struct input_readers *readers = wl_container_of(listener, readers, destroy);
	/* NULL once the vGPU is gone: its devices are gone with it. */
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(data);
	if (vgpu != NULL) {
		for (size_t i = 0; i < UINPUT_KIND__COUNT; i++) {
			if (vgpu_get_uinput(vgpu->core, (enum uinput_kind)i) != NULL)
				uinput_device_revoke_reader(
					vgpu_get_uinput(vgpu->core, (enum uinput_kind)i));
		}
	}
	wl_list_remove(&readers->destroy.link);
	free(readers);
}

/* Open the device for the client and send it; the device keeps its copy. */
static void send_reader(struct protocol_vgpu *vgpu, struct uinput_device *dev, uint32_t kind)
{
	int fd = uinput_device_open_reader(dev);
	if (fd < 0) {
		log_warn("vgpu %s: cannot open %s for the client: %s", vgpu->name,
			 uinput_device_path(dev), strerror(-fd));
		return;
	}
	vscanout_input_v1_send_uinput_device_fd(vgpu->input, kind, fd);
}

void protocol_vgpu_send_uinput_devices(struct protocol_vgpu *vgpu)
{
	/* The devices exist all or none (vgpu_create_uinput()). */
	if (vgpu->input == NULL || vgpu_get_uinput(vgpu->core, UINPUT_KEYBOARD) == NULL)
		return;
	bool fds = wl_resource_get_version(vgpu->input) >=
		   VSCANOUT_INPUT_V1_UINPUT_DEVICE_FD_SINCE_VERSION;
	if (fds) {
		struct input_readers *readers = calloc(1, sizeof(*readers));
		if (readers == NULL) {
			log_error("vgpu %s: out of memory: the virtual devices' fds are not sent",
				  vgpu->name);
			fds = false;
		} else {
			readers->destroy.notify = handle_input_destroy;
			wl_resource_add_destroy_listener(vgpu->input, &readers->destroy);
		}
	}
	static const struct {
		enum uinput_kind kind;
		uint32_t protocol_kind;
	} map[] = {
		{UINPUT_KEYBOARD, VSCANOUT_INPUT_V1_INPUT_KIND_KEYBOARD},
		{UINPUT_POINTER, VSCANOUT_INPUT_V1_INPUT_KIND_POINTER},
		{UINPUT_TOUCHSCREEN, VSCANOUT_INPUT_V1_INPUT_KIND_TOUCH},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct uinput_device *dev = vgpu_get_uinput(vgpu->core, map[i].kind);
		if (dev == NULL)
			continue;
		vscanout_input_v1_send_uinput_device(vgpu->input, map[i].protocol_kind,
						     uinput_device_path(dev));
		if (fds)
			send_reader(vgpu, dev, map[i].protocol_kind);
	}
}
