// SPDX-License-Identifier: MIT
/*
 * A vGPU as a target of the input router (input/router.h): what the router
 * decides this vGPU receives goes to its vscanout_input_v1 object, if the
 * client made one, and to its virtual evdev devices, with [vgpu] uinput=yes.
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
#include "vscanout-v1-server-protocol.h"

static struct protocol_vgpu *vgpu_of(struct input_target *target)
{
	struct protocol_vgpu *vgpu = wl_container_of(target, vgpu, target);
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
	/*
	 * The virtual keyboard presses what is held, so that its state is the
	 * host's (the kernel drops a release of a key it never saw pressed).
	 */
	struct uinput_device *kbd = vgpu->uinput[UINPUT_KEYBOARD];
	if (kbd != NULL && n_keys > 0) {
		for (size_t i = 0; i < n_keys; i++)
			uinput_device_key(kbd, keys[i], true);
		uinput_device_frame(kbd);
	}
}

static void target_keyboard_leave(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		send_keys(vgpu->input, keys, n_keys, false);
	/* The virtual keyboard lets go of what it pressed. */
	struct uinput_device *kbd = vgpu->uinput[UINPUT_KEYBOARD];
	if (kbd != NULL && n_keys > 0) {
		for (size_t i = 0; i < n_keys; i++)
			uinput_device_key(kbd, keys[i], false);
		uinput_device_frame(kbd);
	}
}

static void target_key(struct input_target *target, uint64_t time_usec, uint32_t key, bool pressed)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_key(vgpu->input, TIME_ARGS(time_usec), key,
					   pressed ? VSCANOUT_INPUT_V1_KEY_STATE_PRESSED
						   : VSCANOUT_INPUT_V1_KEY_STATE_RELEASED);
	struct uinput_device *kbd = vgpu->uinput[UINPUT_KEYBOARD];
	if (kbd != NULL) {
		uinput_device_key(kbd, key, pressed);
		uinput_device_frame(kbd);
	}
}

/*
 * The virtual devices' absolute axes span UINPUT_RANGE over the guest's
 * framebuffer (whatever its size, which may change): guest pixel x,y to
 * axis values.
 */
#define UINPUT_RANGE 32768

static void to_axes(struct protocol_vgpu *vgpu, double x, double y, int32_t *ax, int32_t *ay)
{
	uint32_t width = 0, height = 0;
	if (vgpu->primary.buffer != NULL) {
		width = vgpu->primary.buffer->width;
		height = vgpu->primary.buffer->height;
	}
	if (width == 0 || height == 0) {
		*ax = *ay = 0;
		return;
	}
	*ax = (int32_t)floor(x * UINPUT_RANGE / width);
	*ay = (int32_t)floor(y * UINPUT_RANGE / height);
}

static void pointer_to(struct protocol_vgpu *vgpu, double x, double y)
{
	struct uinput_device *ptr = vgpu->uinput[UINPUT_POINTER];
	if (ptr != NULL) {
		int32_t ax, ay;
		to_axes(vgpu, x, y, &ax, &ay);
		uinput_device_motion_absolute(ptr, ax, ay);
		uinput_device_frame(ptr);
	}
}

static void target_pointer_enter(struct input_target *target, double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_enter(vgpu->input, wl_fixed_from_double(x),
						     wl_fixed_from_double(y));
	pointer_to(vgpu, x, y);
}

static void target_pointer_leave(struct input_target *target, const uint32_t *buttons,
				 size_t n_buttons)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_leave(vgpu->input);
	struct uinput_device *ptr = vgpu->uinput[UINPUT_POINTER];
	if (ptr != NULL && n_buttons > 0) {
		for (size_t i = 0; i < n_buttons; i++)
			uinput_device_key(ptr, buttons[i], false);
		uinput_device_frame(ptr);
	}
}

static void target_motion(struct input_target *target, uint64_t time_usec, double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_motion(vgpu->input, TIME_ARGS(time_usec),
						      wl_fixed_from_double(x),
						      wl_fixed_from_double(y));
	pointer_to(vgpu, x, y);
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
	struct uinput_device *ptr = vgpu->uinput[UINPUT_POINTER];
	if (ptr != NULL) {
		uinput_device_key(ptr, button, pressed);
		uinput_device_frame(ptr);
	}
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
	struct uinput_device *ptr = vgpu->uinput[UINPUT_POINTER];
	if (ptr != NULL) {
		uinput_device_scroll(ptr,
				     vertical ? UINPUT_SCROLL_VERTICAL : UINPUT_SCROLL_HORIZONTAL,
				     value120);
		uinput_device_frame(ptr);
	}
}

static void target_touch_down(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			      double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_down(vgpu->input, TIME_ARGS(time_usec), id,
						  wl_fixed_from_double(x), wl_fixed_from_double(y));
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL) {
		int32_t ax, ay;
		to_axes(vgpu, x, y, &ax, &ay);
		uinput_device_touch_down(touch, (uint32_t)id % UINPUT_TOUCH_SLOTS, ax, ay);
	}
}

static void target_touch_motion(struct input_target *target, uint64_t time_usec, int32_t id,
				double x, double y)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_motion(vgpu->input, TIME_ARGS(time_usec), id,
						    wl_fixed_from_double(x),
						    wl_fixed_from_double(y));
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL) {
		int32_t ax, ay;
		to_axes(vgpu, x, y, &ax, &ay);
		uinput_device_touch_motion(touch, (uint32_t)id % UINPUT_TOUCH_SLOTS, ax, ay);
	}
}

static void target_touch_up(struct input_target *target, uint64_t time_usec, int32_t id)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_up(vgpu->input, TIME_ARGS(time_usec), id);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL)
		uinput_device_touch_up(touch, (uint32_t)id % UINPUT_TOUCH_SLOTS);
}

static void target_touch_frame(struct input_target *target)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_frame(vgpu->input);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL)
		uinput_device_frame(touch);
}

static void target_touch_cancel(struct input_target *target)
{
	/* Every point of this vGPU is gone: up, as the protocol has no cancel. */
	struct protocol_vgpu *vgpu = vgpu_of(target);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL) {
		for (uint32_t slot = 0; slot < UINPUT_TOUCH_SLOTS; slot++)
			uinput_device_touch_up(touch, slot);
		uinput_device_frame(touch);
	}
	if (vgpu->input != NULL)
		vscanout_input_v1_send_touch_frame(vgpu->input);
}

const struct input_target_impl protocol_vgpu_target_impl = {
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
};

/*
 * The attaching client's uid may open the nodes itself (an unmodified VMM
 * given the path); root needs no entry.
 */
static void allow_client(struct protocol_vgpu *vgpu)
{
	uid_t uid;
	wl_client_get_credentials(wl_resource_get_client(vgpu->resource), NULL, &uid, NULL);
	if (uid == 0)
		return;
	for (size_t i = 0; i < UINPUT_KIND__COUNT; i++) {
		struct uinput_device *dev = vgpu->uinput[i];
		if (dev == NULL)
			continue;
		int ret = uinput_device_allow_uid(dev, uid);
		if (ret == -EOPNOTSUPP) {
			log_warn("vgpu %s: /dev has no POSIX ACLs: uid %u cannot open the virtual "
				 "devices' nodes, only the fds of uinput_device_fd",
				 vgpu->name, (unsigned int)uid);
			return;
		}
		if (ret < 0)
			log_warn("vgpu %s: cannot give uid %u access to %s: %s", vgpu->name,
				 (unsigned int)uid, uinput_device_path(dev), strerror(-ret));
	}
}

int protocol_vgpu_uinput_create(struct protocol_vgpu *vgpu)
{
	uint32_t width = UINPUT_RANGE, height = UINPUT_RANGE;
	static const enum uinput_kind kinds[] = {UINPUT_KEYBOARD, UINPUT_POINTER,
						 UINPUT_TOUCHSCREEN};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char name[128];
		uinput_device_name(kinds[i], vgpu->name, name, sizeof(name));
		vgpu->uinput[kinds[i]] = uinput_device_create(kinds[i], name, width, height);
		if (vgpu->uinput[kinds[i]] == NULL) {
			log_warn("vgpu %s: cannot create the virtual device \"%s\"", vgpu->name,
				 name);
			protocol_vgpu_uinput_destroy(vgpu);
			return -1;
		}
		log_info("vgpu %s: virtual device \"%s\" at %s", vgpu->name, name,
			 uinput_device_path(vgpu->uinput[kinds[i]]));
	}
	allow_client(vgpu);
	return 0;
}

void protocol_vgpu_uinput_destroy(struct protocol_vgpu *vgpu)
{
	for (size_t i = 0; i < UINPUT_KIND__COUNT; i++) {
		uinput_device_destroy(vgpu->uinput[i]);
		vgpu->uinput[i] = NULL;
	}
}

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
			if (vgpu->uinput[i] != NULL)
				uinput_device_revoke_reader(vgpu->uinput[i]);
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
	/* The devices exist all or none (protocol_vgpu_uinput_create()). */
	if (vgpu->input == NULL || vgpu->uinput[UINPUT_KEYBOARD] == NULL)
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
		struct uinput_device *dev = vgpu->uinput[map[i].kind];
		if (dev == NULL)
			continue;
		vscanout_input_v1_send_uinput_device(vgpu->input, map[i].protocol_kind,
						     uinput_device_path(dev));
		if (fds)
			send_reader(vgpu, dev, map[i].protocol_kind);
	}
}

struct input_target *protocol_server_input_target(struct protocol_server *server,
						  struct kms_output *output,
						  struct kms_fixed_rect *src, struct kms_rect *dst,
						  bool *picture)
{
	*picture = false;
	struct protocol_vgpu *vgpu;
	wl_list_for_each (vgpu, &server->vgpus, link) {
		struct protocol_vgpu_output *vo;
		wl_list_for_each (vo, &vgpu->outputs, link) {
			if (vo->output != output)
				continue;
			*picture = kms_layer_get_rects(vo->primary, src, dst);
			return &vgpu->target;
		}
	}
	return NULL;
}

void protocol_vgpu_relative_motion(struct input_target *target, uint64_t time_usec, double dx,
				   double dy)
{
	struct protocol_vgpu *vgpu = vgpu_of(target);
	if (vgpu->input != NULL)
		vscanout_input_v1_send_pointer_relative_motion(vgpu->input, TIME_ARGS(time_usec),
							       wl_fixed_from_double(dx),
							       wl_fixed_from_double(dy));
}

bool protocol_vgpu_has_cursor(struct input_target *target)
{
	return vgpu_of(target)->cursor.buffer != NULL;
}
