// SPDX-License-Identifier: MIT
/*
 * A vGPU as a target of the input router (input/router.h): what the router
 * decides this vGPU receives goes to its virtual evdev devices ([vgpu]
 * uinput = yes) and to the input sink of whoever attached it (the
 * vscanout-v1 client's input object).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "buffer/buffer.h"
#include "input/router.h"
#include "input/uinput.h"
#include "util/log.h"
#include "vgpu/private.h"

static struct vgpu *vgpu_of(struct input_target *target)
{
	struct vgpu *vgpu = wl_container_of(target, vgpu, target);
	return vgpu;
}

struct vgpu *vgpu_from_input_target(struct input_target *target)
{
	return vgpu_of(target);
}

struct input_target *vgpu_input_target(struct vgpu *vgpu)
{
	return &vgpu->target;
}

/* The sink's callback `name` with its arguments after the target, when there is a sink. */
#define SINK(vgpu, name, ...)                                                \
	do {                                                                 \
		if ((vgpu)->sink != NULL)                                    \
			(vgpu)->sink->impl->name((vgpu)->sink, __VA_ARGS__); \
	} while (0)

static void press_all(struct uinput_device *dev, const uint32_t *keys, size_t n_keys, bool pressed)
{
	if (dev == NULL || n_keys == 0)
		return;
	for (size_t i = 0; i < n_keys; i++)
		uinput_device_key(dev, keys[i], pressed);
	uinput_device_frame(dev);
}

static void target_keyboard_enter(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, keyboard_enter, keys, n_keys);
	/*
	 * The virtual keyboard presses what is held, so that its state is the
	 * host's (the kernel drops a release of a key it never saw pressed).
	 */
	press_all(vgpu->uinput[UINPUT_KEYBOARD], keys, n_keys, true);
}

static void target_keyboard_leave(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, keyboard_leave, keys, n_keys);
	/* The virtual keyboard lets go of what it pressed. */
	press_all(vgpu->uinput[UINPUT_KEYBOARD], keys, n_keys, false);
}

static void target_key(struct input_target *target, uint64_t time_usec, uint32_t key, bool pressed)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, key, time_usec, key, pressed);
	press_all(vgpu->uinput[UINPUT_KEYBOARD], &key, 1, pressed);
}

/*
 * The virtual devices' absolute axes span UINPUT_RANGE over the guest's
 * framebuffer (whatever its size, which may change): guest pixel x,y to
 * axis values.
 */
#define UINPUT_RANGE 32768

static void to_axes(const struct vgpu *vgpu, double x, double y, int32_t *ax, int32_t *ay)
{
	uint32_t width = 0, height = 0;
	if (vgpu->frame.primary != NULL) {
		width = vgpu->frame.primary->width;
		height = vgpu->frame.primary->height;
	}
	if (width == 0 || height == 0) {
		*ax = *ay = 0;
		return;
	}
	*ax = (int32_t)floor(x * UINPUT_RANGE / width);
	*ay = (int32_t)floor(y * UINPUT_RANGE / height);
}

static void pointer_to(struct vgpu *vgpu, double x, double y)
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
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, pointer_enter, x, y);
	pointer_to(vgpu, x, y);
}

static void target_pointer_leave(struct input_target *target, const uint32_t *buttons,
				 size_t n_buttons)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, pointer_leave, buttons, n_buttons);
	press_all(vgpu->uinput[UINPUT_POINTER], buttons, n_buttons, false);
}

static void target_motion(struct input_target *target, uint64_t time_usec, double x, double y)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, motion, time_usec, x, y);
	pointer_to(vgpu, x, y);
}

static void target_button(struct input_target *target, uint64_t time_usec, uint32_t button,
			  bool pressed)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, button, time_usec, button, pressed);
	press_all(vgpu->uinput[UINPUT_POINTER], &button, 1, pressed);
}

static void target_scroll(struct input_target *target, uint64_t time_usec,
			  enum input_scroll_axis axis, double value, int32_t value120)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, scroll, time_usec, axis, value, value120);
	struct uinput_device *ptr = vgpu->uinput[UINPUT_POINTER];
	if (ptr != NULL && value120 != 0) {
		bool vertical = axis == INPUT_SCROLL_VERTICAL;
		uinput_device_scroll(ptr,
				     vertical ? UINPUT_SCROLL_VERTICAL : UINPUT_SCROLL_HORIZONTAL,
				     value120);
		uinput_device_frame(ptr);
	}
}

static void target_touch_down(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			      double y)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, touch_down, time_usec, id, x, y);
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
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, touch_motion, time_usec, id, x, y);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL) {
		int32_t ax, ay;
		to_axes(vgpu, x, y, &ax, &ay);
		uinput_device_touch_motion(touch, (uint32_t)id % UINPUT_TOUCH_SLOTS, ax, ay);
	}
}

static void target_touch_up(struct input_target *target, uint64_t time_usec, int32_t id)
{
	struct vgpu *vgpu = vgpu_of(target);
	SINK(vgpu, touch_up, time_usec, id);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL)
		uinput_device_touch_up(touch, (uint32_t)id % UINPUT_TOUCH_SLOTS);
}

static void target_touch_frame(struct input_target *target)
{
	struct vgpu *vgpu = vgpu_of(target);
	if (vgpu->sink != NULL)
		vgpu->sink->impl->touch_frame(vgpu->sink);
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL)
		uinput_device_frame(touch);
}

static void target_touch_cancel(struct input_target *target)
{
	struct vgpu *vgpu = vgpu_of(target);
	/* Every point of this vGPU is gone: up, as evdev has no cancel. */
	struct uinput_device *touch = vgpu->uinput[UINPUT_TOUCHSCREEN];
	if (touch != NULL) {
		for (uint32_t slot = 0; slot < UINPUT_TOUCH_SLOTS; slot++)
			uinput_device_touch_up(touch, slot);
		uinput_device_frame(touch);
	}
	if (vgpu->sink != NULL)
		vgpu->sink->impl->touch_cancel(vgpu->sink);
}

const struct input_target_impl vgpu_target_impl = {
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

void vgpu_relative_motion(struct vgpu *vgpu, uint64_t time_usec, double dx, double dy)
{
	if (vgpu->sink != NULL && vgpu->sink->impl->relative_motion != NULL)
		vgpu->sink->impl->relative_motion(vgpu->sink, time_usec, dx, dy);
}

bool vgpu_has_cursor(const struct vgpu *vgpu)
{
	return vgpu->frame.cursor != NULL;
}

/* uid may open the nodes itself (an unmodified VMM given the path); root needs no entry. */
static void allow_uid(struct vgpu *vgpu, uid_t uid)
{
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

int vgpu_create_uinput(struct vgpu *vgpu, uid_t uid)
{
	static const enum uinput_kind kinds[] = {UINPUT_KEYBOARD, UINPUT_POINTER,
						 UINPUT_TOUCHSCREEN};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char name[128];
		uinput_device_name(kinds[i], vgpu->name, name, sizeof(name));
		vgpu->uinput[kinds[i]] =
			uinput_device_create(kinds[i], name, UINPUT_RANGE, UINPUT_RANGE);
		if (vgpu->uinput[kinds[i]] == NULL) {
			log_warn("vgpu %s: cannot create the virtual device \"%s\"", vgpu->name,
				 name);
			vgpu_destroy_uinput(vgpu);
			return -1;
		}
		log_info("vgpu %s: virtual device \"%s\" at %s", vgpu->name, name,
			 uinput_device_path(vgpu->uinput[kinds[i]]));
	}
	allow_uid(vgpu, uid);
	return 0;
}

void vgpu_destroy_uinput(struct vgpu *vgpu)
{
	for (size_t i = 0; i < UINPUT_KIND__COUNT; i++) {
		uinput_device_destroy(vgpu->uinput[i]);
		vgpu->uinput[i] = NULL;
	}
}

struct uinput_device *vgpu_get_uinput(const struct vgpu *vgpu, enum uinput_kind kind)
{
	return vgpu->uinput[kind];
}
