// SPDX-License-Identifier: MIT
/*
 * input-devices: the seat input reads the seat's devices through libinput
 * and libseat, and the virtual devices carry exactly what is emitted.
 *
 * Run in the VM with udevd and uinput, under libseat's noop backend. The
 * "physical" devices are made by this test with /dev/uinput directly:
 *  1. a keyboard present before input_create() is listed at once; a mouse
 *     and a touchscreen plugged afterwards are announced with their
 *     capabilities and the touchscreen's size in mm;
 *  2. a scripted sequence (keys, relative motion, buttons, hi-res wheel,
 *     two-finger touch) arrives with the right values, in order, with
 *     nothing extra;
 *  3. unplugging the mouse mid-sequence gives DEVICE_REMOVED, plugging a new
 *     one DEVICE_ADDED, and events keep flowing from both keyboard and the
 *     new mouse;
 *  4. the session's disable signal releases every device (all fds handed
 *     back to the session), enable opens them again;
 *  5. uinput_device_create() devices are never opened by the seat input, and
 *     a raw read() on their /dev/input/eventN returns exactly the events
 *     emitted.
 */
#include <fcntl.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "input/input.h"
#include "input/uinput.h"
#include "kmstest.h"
#include "seatest.h"
#include "util/log.h"

/* ------------------------------------------------------------------ */
/* "Physical" devices, made with /dev/uinput without the code under test. */

struct phys_abs {
	uint16_t code;
	int32_t max;
	int32_t resolution;
};

struct phys {
	int fd;
	const char *name;
};

static void phys_create(struct phys *phys, const char *name, const int *keys, size_t n_keys,
			const int *rels, size_t n_rels, const struct phys_abs *abs, size_t n_abs,
			bool direct)
{
	phys->name = name;
	phys->fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	kt_assertf(phys->fd >= 0, "/dev/uinput: %s", strerror(errno));
	int fd = phys->fd;
	kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_SYN) == 0);
	if (n_keys > 0)
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_KEY) == 0);
	for (size_t i = 0; i < n_keys; i++)
		kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, keys[i]) == 0);
	if (n_rels > 0)
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_REL) == 0);
	for (size_t i = 0; i < n_rels; i++)
		kt_assert_errno(ioctl(fd, UI_SET_RELBIT, rels[i]) == 0);
	if (n_abs > 0)
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0);
	for (size_t i = 0; i < n_abs; i++) {
		struct uinput_abs_setup setup = {
			.code = abs[i].code,
			.absinfo = {.maximum = abs[i].max, .resolution = abs[i].resolution},
		};
		kt_assert_errno(ioctl(fd, UI_SET_ABSBIT, abs[i].code) == 0);
		kt_assert_errno(ioctl(fd, UI_ABS_SETUP, &setup) == 0);
	}
	if (direct)
		kt_assert_errno(ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT) == 0);
	struct uinput_setup setup = {
		.id = {.bustype = BUS_USB, .vendor = 0x1234, .product = 0x5678}};
	snprintf(setup.name, sizeof(setup.name), "%s", name);
	kt_assert_errno(ioctl(fd, UI_DEV_SETUP, &setup) == 0);
	kt_assert_errno(ioctl(fd, UI_DEV_CREATE) == 0);
	kt_log("plugged %s", name);
}

static void phys_destroy(struct phys *phys)
{
	kt_assert_errno(ioctl(phys->fd, UI_DEV_DESTROY) == 0);
	close(phys->fd);
	phys->fd = -1;
	kt_log("unplugged %s", phys->name);
}

static void phys_emit(struct phys *phys, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev = {.type = type, .code = code, .value = value};
	kt_assert_errno(write(phys->fd, &ev, sizeof(ev)) == sizeof(ev));
}

static void phys_syn(struct phys *phys)
{
	phys_emit(phys, EV_SYN, SYN_REPORT, 0);
}

static void keyboard_create(struct phys *phys, const char *name)
{
	int keys[KEY_MICMUTE];
	size_t n = 0;
	for (int code = KEY_ESC; code <= KEY_MICMUTE; code++)
		keys[n++] = code;
	phys_create(phys, name, keys, n, NULL, 0, NULL, 0, false);
}

static void mouse_create(struct phys *phys, const char *name)
{
	static const int keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};
	static const int rels[] = {
		REL_X, REL_Y, REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES};
	phys_create(phys, name, keys, 3, rels, 6, NULL, 0, false);
}

/* 2000x1000 units at 10 units per mm: 199.9 x 99.9 mm as libinput counts. */
#define TOUCH_W 2000
#define TOUCH_H 1000

static void touchscreen_create(struct phys *phys, const char *name)
{
	static const int keys[] = {BTN_TOUCH};
	static const struct phys_abs abs[] = {
		{ABS_X, TOUCH_W - 1, 10},
		{ABS_Y, TOUCH_H - 1, 10},
		{ABS_MT_SLOT, 4, 0},
		{ABS_MT_TRACKING_ID, 65535, 0},
		{ABS_MT_POSITION_X, TOUCH_W - 1, 10},
		{ABS_MT_POSITION_Y, TOUCH_H - 1, 10},
	};
	phys_create(phys, name, keys, 1, NULL, 0, abs, sizeof(abs) / sizeof(abs[0]), true);
}

/* ------------------------------------------------------------------ */
/* What the seat input emits. */

#define MAX_RECORDS 1024

struct record {
	struct input_seat_event event;
	char name[128]; /* the device's, copied: a removed device is freed */
};

static struct {
	struct wl_listener listener;
	struct record records[MAX_RECORDS];
	int count;
	int checked; /* records already compared with an expectation */
} rec;

static const char *const type_names[INPUT_EVENT__COUNT] = {
	[INPUT_EVENT_DEVICE_ADDED] = "added",
	[INPUT_EVENT_DEVICE_REMOVED] = "removed",
	[INPUT_EVENT_KEY] = "key",
	[INPUT_EVENT_POINTER_MOTION] = "motion",
	[INPUT_EVENT_POINTER_MOTION_ABSOLUTE] = "motion-absolute",
	[INPUT_EVENT_POINTER_BUTTON] = "button",
	[INPUT_EVENT_POINTER_SCROLL] = "scroll",
	[INPUT_EVENT_TOUCH_DOWN] = "touch-down",
	[INPUT_EVENT_TOUCH_MOTION] = "touch-motion",
	[INPUT_EVENT_TOUCH_UP] = "touch-up",
	[INPUT_EVENT_TOUCH_CANCEL] = "touch-cancel",
	[INPUT_EVENT_TOUCH_FRAME] = "touch-frame",
};

static void handle_event(struct wl_listener *listener, void *data)
{
	struct input_seat_event *event = data;
	kt_assert(event->device != NULL);
	kt_assertf(strncmp(event->device->name, UINPUT_NAME_PREFIX, strlen(UINPUT_NAME_PREFIX)) !=
			   0,
		   "the seat input took %s", event->device->name);
	/* The VM's own keyboard and mouse (PS/2) are left alone. */
	if (strncmp(event->device->name, "test ", 5) != 0)
		return;
	kt_assert(rec.count < MAX_RECORDS);
	struct record *r = &rec.records[rec.count++];
	r->event = *event;
	snprintf(r->name, sizeof(r->name), "%s", event->device->name);
	switch (event->type) {
	case INPUT_EVENT_KEY:
		kt_log("event: %s key %u %s", r->name, event->key.code,
		       event->key.pressed ? "pressed" : "released");
		break;
	case INPUT_EVENT_POINTER_MOTION:
		kt_log("event: %s motion %.2f %.2f (unaccelerated %.2f %.2f)", r->name,
		       event->motion.dx, event->motion.dy, event->motion.dx_unaccel,
		       event->motion.dy_unaccel);
		break;
	case INPUT_EVENT_POINTER_SCROLL:
		kt_log("event: %s scroll axis %d source %d v120 %d", r->name, event->scroll.axis,
		       event->scroll.source, event->scroll.value120);
		break;
	case INPUT_EVENT_TOUCH_DOWN:
	case INPUT_EVENT_TOUCH_MOTION:
		kt_log("event: %s %s slot %d seat slot %d %.4f %.4f", r->name,
		       type_names[event->type], event->touch.slot, event->touch.seat_slot,
		       event->touch.x, event->touch.y);
		break;
	default:
		kt_log("event: %s %s", r->name, type_names[event->type]);
		break;
	}
}

/* One expected event; fields not used by the type are ignored. */
struct expect {
	enum input_event_type type;
	const char *name;
	uint32_t code; /* key, button */
	bool pressed;  /* key, button */
	double a, b;   /* motion: unaccelerated dx, dy; touch: x, y */
	int32_t value; /* scroll: value120; touch: slot */
	int32_t axis;  /* scroll */
	uint32_t caps; /* added */
};

/* Dispatch until the n expected events are in, then compare them. */
static void expect_events(struct wl_event_loop *loop, const struct expect *want, int n,
			  const char *what)
{
	int want_count = rec.checked + n;
	seatest_wait(loop, &rec.count, want_count, what);
	for (int i = 0; i < n; i++) {
		const struct expect *e = &want[i];
		const struct record *r = &rec.records[rec.checked + i];
		const struct input_seat_event *ev = &r->event;
		kt_assertf(ev->type == e->type, "%s: event %d is %s, want %s", what, i,
			   type_names[ev->type], type_names[e->type]);
		kt_assertf(strcmp(r->name, e->name) == 0, "%s: event %d from %s, want %s", what, i,
			   r->name, e->name);
		switch (e->type) {
		case INPUT_EVENT_DEVICE_ADDED:
			kt_assertf(ev->device->caps == e->caps, "%s: %s caps %#x, want %#x", what,
				   r->name, ev->device->caps, e->caps);
			break;
		case INPUT_EVENT_KEY:
			kt_assertf(ev->key.code == e->code && ev->key.pressed == e->pressed,
				   "%s: key %u %d, want %u %d", what, ev->key.code, ev->key.pressed,
				   e->code, e->pressed);
			kt_assert(ev->time_usec > 0);
			break;
		case INPUT_EVENT_POINTER_BUTTON:
			kt_assertf(ev->button.code == e->code && ev->button.pressed == e->pressed,
				   "%s: button %#x %d, want %#x %d", what, ev->button.code,
				   ev->button.pressed, e->code, e->pressed);
			break;
		case INPUT_EVENT_POINTER_MOTION:
			kt_assertf(ev->motion.dx_unaccel == e->a && ev->motion.dy_unaccel == e->b,
				   "%s: unaccelerated motion %.3f %.3f, want %.3f %.3f", what,
				   ev->motion.dx_unaccel, ev->motion.dy_unaccel, e->a, e->b);
			/* Acceleration scales, never turns the direction. */
			kt_assert(ev->motion.dx * e->a > 0 || (e->a == 0 && ev->motion.dx == 0));
			kt_assert(ev->motion.dy * e->b > 0 || (e->b == 0 && ev->motion.dy == 0));
			break;
		case INPUT_EVENT_POINTER_SCROLL:
			kt_assertf(ev->scroll.axis == (enum input_scroll_axis)e->axis &&
					   ev->scroll.value120 == e->value &&
					   ev->scroll.source == INPUT_SCROLL_WHEEL,
				   "%s: scroll axis %d v120 %d source %d, want axis %d v120 %d "
				   "wheel",
				   what, ev->scroll.axis, ev->scroll.value120, ev->scroll.source,
				   e->axis, e->value);
			break;
		case INPUT_EVENT_TOUCH_DOWN:
		case INPUT_EVENT_TOUCH_MOTION:
			/* libinput maps 0..max onto [0, 1): a unit of slack. */
			kt_assertf(ev->touch.x >= e->a - 1e-3 && ev->touch.x <= e->a + 1e-3 &&
					   ev->touch.y >= e->b - 2e-3 && ev->touch.y <= e->b + 2e-3,
				   "%s: touch at %.5f %.5f, want %.5f %.5f", what, ev->touch.x,
				   ev->touch.y, e->a, e->b);
			/* fall through */
		case INPUT_EVENT_TOUCH_UP:
			kt_assertf(ev->touch.slot == e->value, "%s: touch slot %d, want %d", what,
				   ev->touch.slot, e->value);
			kt_assert(ev->touch.seat_slot >= 0);
			break;
		default:
			break;
		}
	}
	rec.checked = want_count;
}

/* Nothing more than expected arrived: a key press and release go through last. */
static void expect_nothing_more(struct wl_event_loop *loop, struct phys *keyboard, const char *what)
{
	phys_emit(keyboard, EV_KEY, KEY_Z, 1);
	phys_syn(keyboard);
	phys_emit(keyboard, EV_KEY, KEY_Z, 0);
	phys_syn(keyboard);
	const struct expect marker[] = {
		{INPUT_EVENT_KEY, keyboard->name, .code = KEY_Z, .pressed = true},
		{INPUT_EVENT_KEY, keyboard->name, .code = KEY_Z, .pressed = false},
	};
	expect_events(loop, marker, 2, what);
}

static struct input_device *find_device(struct input *input, const char *name)
{
	struct input_device *device;
	wl_list_for_each (device, &input->devices, link) {
		if (strcmp(device->name, name) == 0)
			return device;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

static void check_keys(struct wl_event_loop *loop, struct phys *kbd)
{
	phys_emit(kbd, EV_KEY, KEY_A, 1);
	phys_syn(kbd);
	phys_emit(kbd, EV_KEY, KEY_A, 0);
	phys_syn(kbd);
	phys_emit(kbd, EV_KEY, KEY_LEFTSHIFT, 1);
	phys_emit(kbd, EV_KEY, KEY_B, 1);
	phys_syn(kbd);
	phys_emit(kbd, EV_KEY, KEY_B, 0);
	phys_emit(kbd, EV_KEY, KEY_LEFTSHIFT, 0);
	phys_syn(kbd);
	const struct expect want[] = {
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_A, .pressed = true},
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_A, .pressed = false},
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_LEFTSHIFT, .pressed = true},
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_B, .pressed = true},
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_B, .pressed = false},
		{INPUT_EVENT_KEY, kbd->name, .code = KEY_LEFTSHIFT, .pressed = false},
	};
	expect_events(loop, want, 6, "keys");
	int first = rec.checked - 6;
	for (int i = first + 1; i < rec.checked; i++)
		kt_assert(rec.records[i].event.time_usec >= rec.records[i - 1].event.time_usec);
}

static void check_mouse(struct wl_event_loop *loop, struct phys *mouse)
{
	phys_emit(mouse, EV_REL, REL_X, 5);
	phys_emit(mouse, EV_REL, REL_Y, -3);
	phys_syn(mouse);
	const struct expect motion[] = {
		{INPUT_EVENT_POINTER_MOTION, mouse->name, .a = 5, .b = -3},
	};
	expect_events(loop, motion, 1, "motion");

	phys_emit(mouse, EV_KEY, BTN_LEFT, 1);
	phys_syn(mouse);
	const struct expect press[] = {
		{INPUT_EVENT_POINTER_BUTTON, mouse->name, .code = BTN_LEFT, .pressed = true},
	};
	expect_events(loop, press, 1, "button press");
	phys_emit(mouse, EV_KEY, BTN_LEFT, 0);
	phys_syn(mouse);
	const struct expect release[] = {
		{INPUT_EVENT_POINTER_BUTTON, mouse->name, .code = BTN_LEFT, .pressed = false},
	};
	expect_events(loop, release, 1, "button release");

	/* One detent up (evdev: positive up), libinput: -120. */
	phys_emit(mouse, EV_REL, REL_WHEEL, 1);
	phys_emit(mouse, EV_REL, REL_WHEEL_HI_RES, 120);
	phys_syn(mouse);
	const struct expect up[] = {
		{INPUT_EVENT_POINTER_SCROLL, mouse->name, .axis = INPUT_SCROLL_VERTICAL,
		 .value = -120},
	};
	expect_events(loop, up, 1, "wheel up");
	phys_emit(mouse, EV_REL, REL_WHEEL, 1);
	phys_emit(mouse, EV_REL, REL_WHEEL_HI_RES, 120);
	phys_syn(mouse);
	expect_events(loop, up, 1, "wheel up again");

	phys_emit(mouse, EV_REL, REL_HWHEEL, 1);
	phys_emit(mouse, EV_REL, REL_HWHEEL_HI_RES, 120);
	phys_syn(mouse);
	const struct expect right[] = {
		{INPUT_EVENT_POINTER_SCROLL, mouse->name, .axis = INPUT_SCROLL_HORIZONTAL,
		 .value = 120},
	};
	expect_events(loop, right, 1, "wheel right");
}

static void touch_slot(struct phys *ts, int slot)
{
	phys_emit(ts, EV_ABS, ABS_MT_SLOT, slot);
}

static void check_touch(struct wl_event_loop *loop, struct phys *ts)
{
	touch_slot(ts, 0);
	phys_emit(ts, EV_ABS, ABS_MT_TRACKING_ID, 1);
	phys_emit(ts, EV_ABS, ABS_MT_POSITION_X, 1000);
	phys_emit(ts, EV_ABS, ABS_MT_POSITION_Y, 500);
	phys_emit(ts, EV_KEY, BTN_TOUCH, 1);
	phys_emit(ts, EV_ABS, ABS_X, 1000);
	phys_emit(ts, EV_ABS, ABS_Y, 500);
	phys_syn(ts);
	const struct expect down[] = {
		{INPUT_EVENT_TOUCH_DOWN, ts->name, .a = 0.5, .b = 0.5, .value = 0},
		{INPUT_EVENT_TOUCH_FRAME, ts->name, .code = 0},
	};
	expect_events(loop, down, 2, "touch down");

	phys_emit(ts, EV_ABS, ABS_MT_POSITION_X, 1500);
	phys_emit(ts, EV_ABS, ABS_MT_POSITION_Y, 250);
	phys_emit(ts, EV_ABS, ABS_X, 1500);
	phys_emit(ts, EV_ABS, ABS_Y, 250);
	phys_syn(ts);
	const struct expect move[] = {
		{INPUT_EVENT_TOUCH_MOTION, ts->name, .a = 0.75, .b = 0.25, .value = 0},
		{INPUT_EVENT_TOUCH_FRAME, ts->name, .code = 0},
	};
	expect_events(loop, move, 2, "touch motion");

	touch_slot(ts, 1);
	phys_emit(ts, EV_ABS, ABS_MT_TRACKING_ID, 2);
	phys_emit(ts, EV_ABS, ABS_MT_POSITION_X, 200);
	phys_emit(ts, EV_ABS, ABS_MT_POSITION_Y, 100);
	phys_syn(ts);
	const struct expect second[] = {
		{INPUT_EVENT_TOUCH_DOWN, ts->name, .a = 0.1, .b = 0.1, .value = 1},
		{INPUT_EVENT_TOUCH_FRAME, ts->name, .code = 0},
	};
	expect_events(loop, second, 2, "second finger down");

	touch_slot(ts, 0);
	phys_emit(ts, EV_ABS, ABS_MT_TRACKING_ID, -1);
	phys_syn(ts);
	const struct expect up0[] = {
		{INPUT_EVENT_TOUCH_UP, ts->name, .value = 0},
		{INPUT_EVENT_TOUCH_FRAME, ts->name, .code = 0},
	};
	expect_events(loop, up0, 2, "first finger up");

	touch_slot(ts, 1);
	phys_emit(ts, EV_ABS, ABS_MT_TRACKING_ID, -1);
	phys_emit(ts, EV_KEY, BTN_TOUCH, 0);
	phys_syn(ts);
	const struct expect up1[] = {
		{INPUT_EVENT_TOUCH_UP, ts->name, .value = 1},
		{INPUT_EVENT_TOUCH_FRAME, ts->name, .code = 0},
	};
	expect_events(loop, up1, 2, "second finger up");
}

/* ------------------------------------------------------------------ */
/* Virtual devices: raw reads carry exactly what was emitted. */

struct raw {
	uint16_t type, code;
	int32_t value;
};

static void expect_raw(int fd, const struct raw *want, size_t n, const char *what)
{
	struct input_event evs[64];
	ssize_t got = read(fd, evs, sizeof(evs));
	kt_assertf(got >= 0, "%s: read: %s", what, strerror(errno));
	size_t count = (size_t)got / sizeof(evs[0]);
	for (size_t i = 0; i < count; i++)
		kt_log("%s: raw %u %u %d", what, evs[i].type, evs[i].code, evs[i].value);
	kt_assertf(count == n, "%s: %zu events, want %zu", what, count, n);
	for (size_t i = 0; i < n; i++) {
		kt_assertf(evs[i].type == want[i].type && evs[i].code == want[i].code &&
				   evs[i].value == want[i].value,
			   "%s: event %zu is %u/%u/%d, want %u/%u/%d", what, i, evs[i].type,
			   evs[i].code, evs[i].value, want[i].type, want[i].code, want[i].value);
	}
	/* and nothing after */
	kt_assert(read(fd, evs, sizeof(evs)) < 0 && errno == EAGAIN);
}

static struct uinput_device *virtual_create(enum uinput_kind kind, uint32_t w, uint32_t h, int *fd)
{
	char name[UINPUT_MAX_NAME_SIZE];
	kt_assert_ok(uinput_device_name(kind, "test-vgpu", name, sizeof(name)));
	struct uinput_device *device = uinput_device_create(kind, name, w, h);
	kt_assertf(device != NULL, "cannot create %s", name);
	const char *path = uinput_device_path(device);
	kt_assertf(strncmp(path, "/dev/input/event", 16) == 0, "path %s", path);
	/* The node may still be on its way through udev's permissions: devtmpfs has it. */
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	kt_assertf(*fd >= 0, "%s: %s", path, strerror(errno));
	char kernel_name[UINPUT_MAX_NAME_SIZE] = "";
	kt_assert_errno(ioctl(*fd, EVIOCGNAME(sizeof(kernel_name)), kernel_name) >= 0);
	kt_assertf(strcmp(kernel_name, name) == 0, "%s is %s, want %s", path, kernel_name, name);
	kt_log("%s at %s", name, path);
	return device;
}

static void check_virtual(struct wl_event_loop *loop, struct input *input, struct phys *kbd)
{
	int kfd, pfd, mfd, tfd;
	struct uinput_device *keyboard = virtual_create(UINPUT_KEYBOARD, 1, 1, &kfd);
	struct uinput_device *pointer = virtual_create(UINPUT_POINTER, 1280, 720, &pfd);
	struct uinput_device *mouse = virtual_create(UINPUT_MOUSE, 1, 1, &mfd);
	struct uinput_device *touch = virtual_create(UINPUT_TOUCHSCREEN, 1280, 720, &tfd);

	/* The seat input does not take them: a device plugged after them is the only news. */
	struct phys marker;
	mouse_create(&marker, "test marker mouse");
	const struct expect added[] = {
		{INPUT_EVENT_DEVICE_ADDED, marker.name, .caps = INPUT_DEVICE_CAP_POINTER},
	};
	expect_events(loop, added, 1, "marker mouse added");
	struct input_device *device;
	wl_list_for_each (device, &input->devices, link) {
		kt_assertf(strncmp(device->name, UINPUT_NAME_PREFIX, strlen(UINPUT_NAME_PREFIX)) !=
				   0,
			   "the seat input opened %s", device->name);
	}
	phys_destroy(&marker);
	const struct expect removed[] = {{INPUT_EVENT_DEVICE_REMOVED, marker.name, .code = 0}};
	expect_events(loop, removed, 1, "marker mouse removed");

	kt_assert_ok(uinput_device_key(keyboard, KEY_A, true));
	kt_assert_ok(uinput_device_frame(keyboard));
	kt_assert_ok(uinput_device_key(keyboard, KEY_A, false));
	kt_assert_ok(uinput_device_key(keyboard, KEY_LEFTCTRL, true));
	kt_assert_ok(uinput_device_frame(keyboard));
	kt_assert(uinput_device_key(keyboard, BTN_LEFT, true) == -EINVAL);
	const struct raw kraw[] = {
		{EV_KEY, KEY_A, 1},        {EV_SYN, SYN_REPORT, 0}, {EV_KEY, KEY_A, 0},
		{EV_KEY, KEY_LEFTCTRL, 1}, {EV_SYN, SYN_REPORT, 0},
	};
	expect_raw(kfd, kraw, sizeof(kraw) / sizeof(kraw[0]), "virtual keyboard");

	kt_assert_ok(uinput_device_motion_absolute(pointer, 100, 50));
	kt_assert_ok(uinput_device_frame(pointer));
	kt_assert_ok(uinput_device_motion_absolute(pointer, 5000, -3));
	kt_assert_ok(uinput_device_key(pointer, BTN_RIGHT, true));
	kt_assert_ok(uinput_device_frame(pointer));
	kt_assert_ok(uinput_device_scroll(pointer, UINPUT_SCROLL_VERTICAL, 60));
	kt_assert_ok(uinput_device_frame(pointer));
	kt_assert_ok(uinput_device_scroll(pointer, UINPUT_SCROLL_VERTICAL, 60));
	kt_assert_ok(uinput_device_frame(pointer));
	kt_assert_ok(uinput_device_scroll(pointer, UINPUT_SCROLL_HORIZONTAL, -240));
	kt_assert_ok(uinput_device_frame(pointer));
	kt_assert(uinput_device_motion_relative(pointer, 1, 1) == -EINVAL);
	kt_assert(uinput_device_key(pointer, KEY_A, true) == -EINVAL);
	const struct raw praw[] = {
		{EV_ABS, ABS_X, 100},
		{EV_ABS, ABS_Y, 50},
		{EV_SYN, SYN_REPORT, 0},
		{EV_ABS, ABS_X, 1279},
		{EV_ABS, ABS_Y, 0},
		{EV_KEY, BTN_RIGHT, 1},
		{EV_SYN, SYN_REPORT, 0},
		{EV_REL, REL_WHEEL_HI_RES, -60},
		{EV_SYN, SYN_REPORT, 0},
		{EV_REL, REL_WHEEL_HI_RES, -60},
		{EV_REL, REL_WHEEL, -1},
		{EV_SYN, SYN_REPORT, 0},
		{EV_REL, REL_HWHEEL_HI_RES, -240},
		{EV_REL, REL_HWHEEL, -2},
		{EV_SYN, SYN_REPORT, 0},
	};
	expect_raw(pfd, praw, sizeof(praw) / sizeof(praw[0]), "virtual pointer");

	kt_assert_ok(uinput_device_motion_relative(mouse, 3, -4));
	kt_assert_ok(uinput_device_key(mouse, BTN_LEFT, true));
	kt_assert_ok(uinput_device_frame(mouse));
	kt_assert(uinput_device_motion_absolute(mouse, 1, 1) == -EINVAL);
	const struct raw mraw[] = {
		{EV_REL, REL_X, 3},
		{EV_REL, REL_Y, -4},
		{EV_KEY, BTN_LEFT, 1},
		{EV_SYN, SYN_REPORT, 0},
	};
	expect_raw(mfd, mraw, sizeof(mraw) / sizeof(mraw[0]), "virtual mouse");

	kt_assert_ok(uinput_device_touch_down(touch, 0, 10, 20));
	kt_assert_ok(uinput_device_frame(touch));
	kt_assert_ok(uinput_device_touch_motion(touch, 0, 11, 21));
	kt_assert_ok(uinput_device_frame(touch));
	kt_assert(uinput_device_touch_down(touch, 0, 1, 1) == -EBUSY);
	kt_assert_ok(uinput_device_touch_down(touch, 1, 30, 40));
	kt_assert_ok(uinput_device_frame(touch));
	kt_assert_ok(uinput_device_touch_motion(touch, 1, 2000, 41));
	kt_assert_ok(uinput_device_touch_up(touch, 0));
	kt_assert_ok(uinput_device_frame(touch));
	kt_assert_ok(uinput_device_touch_up(touch, 1));
	kt_assert_ok(uinput_device_frame(touch));
	kt_assert(uinput_device_touch_up(touch, 1) == -EINVAL);
	kt_assert(uinput_device_touch_down(touch, UINPUT_TOUCH_SLOTS, 1, 1) == -EINVAL);
	const struct raw traw[] = {
		{EV_ABS, ABS_MT_TRACKING_ID, 0},
		{EV_ABS, ABS_MT_POSITION_X, 10},
		{EV_ABS, ABS_MT_POSITION_Y, 20},
		{EV_ABS, ABS_X, 10},
		{EV_ABS, ABS_Y, 20},
		{EV_KEY, BTN_TOUCH, 1},
		{EV_SYN, SYN_REPORT, 0},
		{EV_ABS, ABS_MT_POSITION_X, 11},
		{EV_ABS, ABS_MT_POSITION_Y, 21},
		{EV_ABS, ABS_X, 11},
		{EV_ABS, ABS_Y, 21},
		{EV_SYN, SYN_REPORT, 0},
		{EV_ABS, ABS_MT_SLOT, 1},
		{EV_ABS, ABS_MT_TRACKING_ID, 1},
		{EV_ABS, ABS_MT_POSITION_X, 30},
		{EV_ABS, ABS_MT_POSITION_Y, 40},
		{EV_SYN, SYN_REPORT, 0},
		{EV_ABS, ABS_MT_POSITION_X, 1279},
		{EV_ABS, ABS_MT_POSITION_Y, 41},
		{EV_ABS, ABS_MT_SLOT, 0},
		{EV_ABS, ABS_MT_TRACKING_ID, -1},
		{EV_SYN, SYN_REPORT, 0},
		{EV_ABS, ABS_MT_SLOT, 1},
		{EV_ABS, ABS_MT_TRACKING_ID, -1},
		{EV_KEY, BTN_TOUCH, 0},
		{EV_SYN, SYN_REPORT, 0},
	};
	expect_raw(tfd, traw, sizeof(traw) / sizeof(traw[0]), "virtual touchscreen");

	/* None of that reached the seat input. */
	expect_nothing_more(loop, kbd, "after the virtual devices");

	close(kfd);
	close(pfd);
	close(mfd);
	close(tfd);
	uinput_device_destroy(keyboard);
	uinput_device_destroy(pointer);
	uinput_device_destroy(mouse);
	uinput_device_destroy(touch);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(LOG_LEVEL_DEBUG);
	if (access("/dev/uinput", F_OK) != 0)
		kt_fail(__FILE__, __LINE__, "/dev/uinput is missing (modprobe uinput)");

	/* A keyboard present from the start, settled by udev. */
	struct phys kbd, mouse, ts;
	keyboard_create(&kbd, "test keyboard");
	kt_assert(system("udevadm settle") == 0);

	struct wl_event_loop *loop = wl_event_loop_create();
	kt_assert(loop != NULL);
	struct session *session = session_create(loop, NULL);
	kt_assert(session != NULL && session->active);
	struct input *input = input_create(loop, session);
	kt_assert(input != NULL);
	/* The VM has devices of its own (PS/2 keyboard and mouse, power button). */
	int others = wl_list_length(&input->devices) - 1;
	struct input_device *kdev = find_device(input, kbd.name);
	kt_assert(kdev != NULL);
	kt_assertf(kdev->caps == INPUT_DEVICE_CAP_KEYBOARD, "keyboard caps %#x", kdev->caps);
	kt_assert(!kdev->has_size);
	kt_assert(wl_list_length(&session->inputs) == others + 1);

	rec.listener.notify = handle_event;
	wl_signal_add(&input->events.event, &rec.listener);

	/* 1. Hotplugged devices are announced. */
	mouse_create(&mouse, "test mouse");
	touchscreen_create(&ts, "test touchscreen");
	const struct expect plugged[] = {
		{INPUT_EVENT_DEVICE_ADDED, "test mouse", .caps = INPUT_DEVICE_CAP_POINTER},
		{INPUT_EVENT_DEVICE_ADDED, "test touchscreen", .caps = INPUT_DEVICE_CAP_TOUCH},
	};
	expect_events(loop, plugged, 2, "mouse and touchscreen added");
	struct input_device *tdev = find_device(input, ts.name);
	kt_assert(tdev != NULL);
	kt_assertf(tdev->has_size && tdev->width_mm > 199.8 && tdev->width_mm < 200.1 &&
			   tdev->height_mm > 99.8 && tdev->height_mm < 100.1,
		   "touchscreen size %d %.2f x %.2f mm", tdev->has_size, tdev->width_mm,
		   tdev->height_mm);
	kt_assert(find_device(input, mouse.name)->vendor == 0x1234);
	kt_assert(wl_list_length(&session->inputs) == others + 3);

	/* 2. The scripted sequence. */
	check_keys(loop, &kbd);
	check_mouse(loop, &mouse);
	check_touch(loop, &ts);
	expect_nothing_more(loop, &kbd, "after the sequence");

	/* 3. Unplug the mouse mid-sequence, plug another. */
	phys_emit(&mouse, EV_KEY, BTN_MIDDLE, 1);
	phys_syn(&mouse);
	const struct expect middle[] = {
		{INPUT_EVENT_POINTER_BUTTON, "test mouse", .code = BTN_MIDDLE, .pressed = true},
	};
	expect_events(loop, middle, 1, "middle button");
	phys_destroy(&mouse);
	/* libinput releases the held button of a device that goes away. */
	seatest_wait(loop, &rec.count, rec.checked + 1, "mouse removal");
	if (rec.records[rec.checked].event.type == INPUT_EVENT_POINTER_BUTTON) {
		const struct expect released[] = {
			{INPUT_EVENT_POINTER_BUTTON, "test mouse", .code = BTN_MIDDLE,
			 .pressed = false},
		};
		expect_events(loop, released, 1, "middle button released at removal");
	}
	const struct expect unplugged[] = {{INPUT_EVENT_DEVICE_REMOVED, "test mouse", .code = 0}};
	expect_events(loop, unplugged, 1, "mouse removed");
	kt_assert(find_device(input, "test mouse") == NULL);
	kt_assert(wl_list_length(&session->inputs) == others + 2);
	check_keys(loop, &kbd);
	mouse_create(&mouse, "test mouse 2");
	const struct expect replugged[] = {
		{INPUT_EVENT_DEVICE_ADDED, "test mouse 2", .caps = INPUT_DEVICE_CAP_POINTER},
	};
	expect_events(loop, replugged, 1, "second mouse added");
	check_mouse(loop, &mouse);
	expect_nothing_more(loop, &kbd, "after the replug");

	/* 4. The session goes away and comes back (the noop backend never does it itself). */
	session->active = false;
	wl_signal_emit(&session->events.disable, session);
	kt_assertf(wl_list_empty(&input->devices), "%d devices while inactive",
		   wl_list_length(&input->devices));
	kt_assertf(wl_list_empty(&session->inputs), "%d input fds still open while inactive",
		   wl_list_length(&session->inputs));
	kt_assert(rec.count == rec.checked + 3);
	for (int i = rec.checked; i < rec.count; i++)
		kt_assert(rec.records[i].event.type == INPUT_EVENT_DEVICE_REMOVED);
	rec.checked = rec.count;
	session->active = true;
	wl_signal_emit(&session->events.enable, session);
	kt_assert(rec.count == rec.checked + 3);
	for (int i = rec.checked; i < rec.count; i++)
		kt_assert(rec.records[i].event.type == INPUT_EVENT_DEVICE_ADDED);
	rec.checked = rec.count;
	kt_assert(wl_list_length(&input->devices) == others + 3);
	kt_assert(wl_list_length(&session->inputs) == others + 3);
	check_keys(loop, &kbd);

	/* 5. Virtual devices. */
	check_virtual(loop, input, &kbd);

	/* Teardown: every device is removed, every fd handed back. */
	int before = rec.count;
	input_destroy(input);
	kt_assertf(rec.count == before + 3, "%d removals at destroy, want 3", rec.count - before);
	kt_assert(wl_list_empty(&session->inputs));

	/* A session destroyed under a live input: every fd goes back first. */
	struct input *late = input_create(loop, session);
	kt_assert(late != NULL && wl_list_length(&late->devices) == others + 3);
	session_destroy(session);
	kt_assert(wl_list_empty(&late->devices));
	input_destroy(late);
	phys_destroy(&kbd);
	phys_destroy(&mouse);
	phys_destroy(&ts);
	wl_event_loop_destroy(loop);
	kt_log("ok");
	return 0;
}
