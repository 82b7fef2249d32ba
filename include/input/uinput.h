/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_UINPUT_H
#define VSCANOUT_INPUT_UINPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Virtual evdev devices made through /dev/uinput: what a vGPU's VM (or the
 * VMM serving it) reads as its keyboard, pointer and touchscreen.
 *
 * Each device is an ordinary /dev/input/eventN node, made root's alone
 * (0600 root:root) as soon as it exists, so that neither group input nor
 * another VMM can read it. Its VMM gets access one of two ways: an fd the
 * daemon opened for it (uinput_device_open_reader(), revoked with
 * EVIOCREVOKE), or a POSIX ACL entry for its uid on the node
 * (uinput_device_allow_uid()) for a VMM that opens the path itself (e.g.
 * qemu's -object input-linux,evdev=PATH). Every emit function
 * queues events; nothing reaches readers until uinput_device_frame() (an
 * EV_SYN SYN_REPORT), except where a function says it ends the frame itself.
 * The kernel drops events that change nothing (a key already down pressed
 * again, an axis set to the value it has), so readers see only changes.
 *
 * All functions return 0 or a negative errno; an event the device's kind
 * does not have gives -EINVAL. Functions never block.
 */

/*
 * Devices whose name starts with this are the daemon's own: the seat input
 * (input/input.h) never opens them.
 */
#define UINPUT_NAME_PREFIX "vscanout "

enum uinput_kind {
	/* Every key of a PC keyboard (KEY_ESC .. KEY_MICMUTE). */
	UINPUT_KEYBOARD,
	/*
	 * An absolute pointer (like qemu's usb-tablet): ABS_X/ABS_Y over
	 * 0..width-1 and 0..height-1, the mouse buttons BTN_LEFT ..
	 * BTN_TASK, and wheels (REL_WHEEL, REL_HWHEEL and their _HI_RES).
	 */
	UINPUT_POINTER,
	/* A relative mouse: REL_X/REL_Y, the same buttons and wheels. */
	UINPUT_MOUSE,
	/*
	 * A multitouch touchscreen (INPUT_PROP_DIRECT) with UINPUT_TOUCH_SLOTS
	 * type B slots: ABS_MT_SLOT, ABS_MT_TRACKING_ID, ABS_MT_POSITION_X/Y
	 * over 0..width-1 and 0..height-1, plus BTN_TOUCH and ABS_X/ABS_Y
	 * following the first finger down, for single-touch readers.
	 */
	UINPUT_TOUCHSCREEN,
	UINPUT_KIND__COUNT,
};

/* Touch slots of a UINPUT_TOUCHSCREEN. */
#define UINPUT_TOUCH_SLOTS 10

enum uinput_scroll_axis {
	UINPUT_SCROLL_VERTICAL,
	UINPUT_SCROLL_HORIZONTAL,
};

struct uinput_device;

/*
 * Create a device of `kind` named `name` (at most 79 bytes; by convention
 * UINPUT_NAME_PREFIX "NAME keyboard", see uinput_device_name()). `width`
 * and `height` (at least 1) set the absolute range of UINPUT_POINTER and
 * UINPUT_TOUCHSCREEN and are ignored for the others.
 *
 * The event node exists when this returns; udev may still be processing it.
 * Returns NULL after logging why; when /dev/uinput is missing the message
 * says to load the uinput module.
 */
struct uinput_device *uinput_device_create(enum uinput_kind kind, const char *name, uint32_t width,
					   uint32_t height);

/*
 * Remove the device (readers see ENODEV) and free it, after revoking its
 * reader and taking back the ACL. NULL is a no-op.
 */
void uinput_device_destroy(struct uinput_device *device);

/*
 * The device's event node, e.g. "/dev/input/event7", found through
 * UI_GET_SYSNAME and /sys/devices/virtual/input/NAME/eventN. Owned by the
 * device; never NULL.
 */
const char *uinput_device_path(const struct uinput_device *device);

/* The device's kind. */
enum uinput_kind uinput_device_kind(const struct uinput_device *device);

/*
 * Open the event node for one reader (a VMM): O_RDONLY | O_NONBLOCK |
 * O_CLOEXEC, checked to be this device's node. The device keeps the fd:
 * the caller borrows it (to send a duplicate over a socket) and must not
 * close it. A device has one reader at a time: opening another revokes the
 * previous one first. Returns the fd or a negative errno.
 */
int uinput_device_open_reader(struct uinput_device *device);

/*
 * Revoke the reader (EVIOCREVOKE on the device's copy: every duplicate of
 * it, in any process, then fails reads and ioctls with ENODEV) and close
 * the device's copy. No-op without a reader.
 */
void uinput_device_revoke_reader(struct uinput_device *device);

/*
 * Give `uid` read and write access to the event node with a POSIX ACL
 * entry (the node shows mode 0660 then, its group entry still granting
 * nothing), for a VMM that opens the path itself; uid 0 takes the ACL away
 * again, leaving 0600 root:root. Opened fds are not affected. Returns 0 or
 * a negative errno: -EOPNOTSUPP when /dev has no POSIX ACL support.
 */
int uinput_device_allow_uid(struct uinput_device *device, uid_t uid);

/*
 * Write the conventional name of a vGPU's device of `kind` into buf:
 * UINPUT_NAME_PREFIX "VGPU keyboard" / "pointer" / "mouse" / "touchscreen".
 * Returns 0, or -ENAMETOOLONG when it does not fit in `size` or in a uinput
 * name.
 */
int uinput_device_name(enum uinput_kind kind, const char *vgpu, char *buf, size_t size);

/* Press or release an evdev KEY_* (UINPUT_KEYBOARD) or BTN_* (pointers) code. */
int uinput_device_key(struct uinput_device *device, uint32_t code, bool pressed);

/* Move a UINPUT_POINTER to (x, y), clamped to its range. */
int uinput_device_motion_absolute(struct uinput_device *device, int32_t x, int32_t y);

/* Move a UINPUT_MOUSE by (dx, dy). */
int uinput_device_motion_relative(struct uinput_device *device, int32_t dx, int32_t dy);

/*
 * Scroll a pointer or mouse by `value120` 1/120 detents, positive down and
 * right (libinput's direction, see input_event.scroll). Emits REL_WHEEL_HI_RES
 * (or REL_HWHEEL_HI_RES) with the kernel's sign (vertical: positive up), and
 * REL_WHEEL (REL_HWHEEL) whenever the hi-res total crosses a whole detent, as
 * a high-resolution mouse does; partial detents are carried per axis and
 * dropped when the direction changes.
 */
int uinput_device_scroll(struct uinput_device *device, enum uinput_scroll_axis axis,
			 int32_t value120);

/*
 * Touch of a UINPUT_TOUCHSCREEN. `slot` is 0..UINPUT_TOUCH_SLOTS-1. down
 * starts a contact in a free slot (-EBUSY if it is in use), motion moves it,
 * up ends it (-EINVAL if the slot has no contact). x and y are clamped to the
 * range.
 */
int uinput_device_touch_down(struct uinput_device *device, uint32_t slot, int32_t x, int32_t y);
int uinput_device_touch_motion(struct uinput_device *device, uint32_t slot, int32_t x, int32_t y);
int uinput_device_touch_up(struct uinput_device *device, uint32_t slot);

/* End the frame: EV_SYN SYN_REPORT. Readers see the queued events now. */
int uinput_device_frame(struct uinput_device *device);

/*
 * Carry of partial wheel detents (pure logic of uinput_device_scroll()):
 * adds `value120` to *remainder and returns the whole detents it now holds
 * (with the sign of value120), leaving the rest in *remainder. A value of
 * the opposite sign to *remainder first drops it.
 */
int32_t uinput_scroll_detents(int32_t value120, int32_t *remainder);

#endif
