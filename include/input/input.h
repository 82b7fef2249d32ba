/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_INPUT_H
#define VSCANOUT_INPUT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "input/axis.h"

/*
 * The seat's input devices: keyboards, mice, touchpads, touchscreens and
 * tablets, read through libinput and turned into neutral events that the
 * daemon forwards to VMs.
 *
 * libinput runs with its udev backend on the session's seat
 * (session->seat_name): it finds every input device udev assigns to that
 * seat and follows devices that come and go. Devices are opened and closed
 * through the session (libseat), so no root and no direct open() is needed
 * under seatd or logind. When the session goes inactive every device is
 * released (libinput_suspend) and each emits INPUT_EVENT_DEVICE_REMOVED;
 * when it comes back they are opened again and emit INPUT_EVENT_DEVICE_ADDED.
 *
 * Devices the daemon itself creates for VMs through /dev/uinput (names
 * starting with UINPUT_NAME_PREFIX, see input/uinput.h) are never opened, so
 * forwarded input does not come back as seat input.
 *
 * Everything runs on the daemon's wl_event_loop: libinput's fd is a source
 * on it and every event is emitted from its dispatch. Nothing here tracks
 * state (held keys, focus): a router listening to `events.event` does.
 *
 * Lifetime: input_create() -> events -> input_destroy(), which should come
 * before session_destroy(). A session destroyed first makes the input release
 * every device (each emits INPUT_EVENT_DEVICE_REMOVED) and stay empty until
 * input_destroy().
 */

struct libinput;
struct libinput_device;
struct session;

/* What a device can do: bits of input_device.caps. */
enum input_device_cap {
	INPUT_DEVICE_CAP_KEYBOARD = 1u << 0,
	INPUT_DEVICE_CAP_POINTER = 1u << 1,
	INPUT_DEVICE_CAP_TOUCH = 1u << 2,
	INPUT_DEVICE_CAP_TABLET = 1u << 3,
	INPUT_DEVICE_CAP_GESTURE = 1u << 4,
	INPUT_DEVICE_CAP_SWITCH = 1u << 5,
};

/* One device libinput has open. Read-only for users. */
struct input_device {
	struct input *input;
	struct wl_list link; /* input.devices */

	char *name;    /* the kernel's name, e.g. "Logitech USB Receiver" */
	char *sysname; /* the event node's name, e.g. "event3" */
	uint32_t caps; /* enum input_device_cap bits */
	unsigned int vendor, product;
	/*
	 * Physical size in millimetres of touchscreens and tablets, when the
	 * kernel reports a resolution (has_size); zero otherwise.
	 */
	bool has_size;
	double width_mm, height_mm;
	/*
	 * may be NULL: udev's WL_OUTPUT property of the device, the output
	 * (connector name) a touchscreen or tablet is laminated to, as weston
	 * reads it.
	 */
	char *output_name;

	/* private */
	struct libinput_device *handle; /* referenced */
};

enum input_event_type {
	/* A device appeared (or came back after the session was re-enabled). */
	INPUT_EVENT_DEVICE_ADDED,
	/*
	 * A device is going away: unplugged, or released because the session
	 * went inactive or the input is being destroyed. The device is still
	 * valid during the emission and freed afterwards.
	 */
	INPUT_EVENT_DEVICE_REMOVED,
	INPUT_EVENT_KEY,
	INPUT_EVENT_POINTER_MOTION,
	INPUT_EVENT_POINTER_MOTION_ABSOLUTE,
	INPUT_EVENT_POINTER_BUTTON,
	INPUT_EVENT_POINTER_SCROLL,
	INPUT_EVENT_TOUCH_DOWN,
	INPUT_EVENT_TOUCH_MOTION,
	INPUT_EVENT_TOUCH_UP,
	INPUT_EVENT_TOUCH_CANCEL,
	INPUT_EVENT_TOUCH_FRAME,
	INPUT_EVENT__COUNT,
};

/* Where a scroll came from (libinput's scroll sources). */
enum input_scroll_source {
	INPUT_SCROLL_WHEEL,      /* a wheel, in detents */
	INPUT_SCROLL_FINGER,     /* two-finger or edge scrolling on a touchpad */
	INPUT_SCROLL_CONTINUOUS, /* a trackball or button scrolling */
};

/*
 * Every event, tagged by `type`; the member of the union named after the
 * type is the one set. Valid during the emission only.
 */
struct input_seat_event {
	enum input_event_type type;
	struct input_device *device;
	uint64_t time_usec; /* CLOCK_MONOTONIC of the kernel event; 0 for device events */
	union {
		/* INPUT_EVENT_KEY */
		struct {
			uint32_t code; /* evdev KEY_* code */
			bool pressed;
		} key;
		/* INPUT_EVENT_POINTER_MOTION: relative, in libinput's units (pixels
		 * of a 1000 dpi mouse). */
		struct {
			double dx, dy;                 /* with pointer acceleration */
			double dx_unaccel, dy_unaccel; /* without */
		} motion;
		/* INPUT_EVENT_POINTER_MOTION_ABSOLUTE: tablets, absolute pointers. */
		struct {
			double x, y; /* 0 (left, top) to 1 (exclusive) over the device */
		} absolute;
		/* INPUT_EVENT_POINTER_BUTTON */
		struct {
			uint32_t code; /* evdev BTN_* code */
			bool pressed;
		} button;
		/*
		 * INPUT_EVENT_POINTER_SCROLL: one axis per event. value120 is in
		 * 1/120 of a wheel detent (the kernel's REL_WHEEL_HI_RES unit),
		 * positive down and right (libinput's direction; REL_WHEEL is
		 * positive up). Finger and continuous scrolling are converted at
		 * INPUT_SCROLL_PX_PER_DETENT pixels per detent; their end of
		 * scroll (a zero value) is not emitted.
		 */
		struct {
			enum input_scroll_axis axis;
			enum input_scroll_source source;
			int32_t value120;
		} scroll;
		/*
		 * INPUT_EVENT_TOUCH_*: slot is the touch's slot on its device,
		 * seat_slot unique over the seat. x, y (DOWN and MOTION only)
		 * run from 0 (left, top) to 1 (exclusive) over the device. FRAME
		 * ends a set of touch events that happened at once; it carries
		 * no slot (-1).
		 */
		struct {
			int32_t slot, seat_slot;
			double x, y;
		} touch;
	};
};

/* Pixels of finger or continuous scrolling that make one wheel detent. */
#define INPUT_SCROLL_PX_PER_DETENT 15.0

struct input {
	/* The devices open now, in the order they appeared. */
	struct wl_list devices; /* input_device.link */

	struct {
		/* Every event. Data: a struct input_seat_event. */
		struct wl_signal event;
		/*
		 * input_destroy() has begun: every device has emitted
		 * INPUT_EVENT_DEVICE_REMOVED. Data: the struct input.
		 */
		struct wl_signal destroy;
	} events;

	/* private */
	struct session *session;    /* borrowed */
	struct wl_event_loop *loop; /* borrowed */
	struct libinput *libinput;
	struct wl_event_source *source;
	struct wl_listener session_enable;
	struct wl_listener session_disable;
	struct wl_listener session_destroy;
	bool assigned;              /* libinput has the seat */
	bool suspended;             /* released while the session is inactive */
	double scroll_remainder[2]; /* finger/continuous, per axis, in v120 units */
};

/*
 * Start reading the seat's input devices.
 *
 * `loop` and `session` are borrowed and must outlive the input. When the
 * session is active, the devices present now are opened and listed in
 * `devices` before this returns (without INPUT_EVENT_DEVICE_ADDED: the
 * caller has no listener yet); when it is inactive, they are opened and
 * announced at its first activation.
 *
 * Returns NULL after logging why.
 */
struct input *input_create(struct wl_event_loop *loop, struct session *session);

/*
 * Close every device (each emits INPUT_EVENT_DEVICE_REMOVED), emit `destroy`
 * and free. NULL is a no-op. Must not be called from inside an emission of
 * `events.event`.
 */
void input_destroy(struct input *input);

/*
 * Convert finger or continuous scrolling of `px` pixels into v120 units, at
 * INPUT_SCROLL_PX_PER_DETENT pixels per detent. Fractions of a unit are
 * carried in *remainder (start at 0) to the next call, so slow scrolling is
 * not lost; a change of direction drops what was carried.
 */
int32_t input_scroll_px_to_v120(double px, double *remainder);

/* A name such as "keyboard, pointer, touch" for enum input_device_cap bits. */
void input_device_caps_str(uint32_t caps, char *buf, size_t size);

#endif
