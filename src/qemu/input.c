// SPDX-License-Identifier: MIT
/*
 * A QEMU console's input over D-Bus (qemu/input.h).
 *
 * Every call goes out with sd_bus_call_async() and a reply callback; the
 * calls in flight are listed so that destroying the input cancels them.
 * The list is bounded twice:
 *
 *   in flight < MOTION_IN_FLIGHT   everything is sent
 *   in flight < MAX_IN_FLIGHT      motion is held back: the latest absolute
 *                                  position, the sum of relative motion and
 *                                  the latest place of each touch point
 *                                  are sent when replies bring the count
 *                                  down; keys, buttons and touch begin, end
 *                                  and cancel still go out (after the held
 *                                  motion, so a click lands where the
 *                                  pointer is)
 *   beyond                         everything is dropped and counted
 */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-util.h>

#include "input/router.h"
#include "qemu/input.h"
#include "qemu/keymap.h"
#include "util/log.h"

#define KEYBOARD_IFACE   "org.qemu.Display1.Keyboard"
#define MOUSE_IFACE      "org.qemu.Display1.Mouse"
#define TOUCH_IFACE      "org.qemu.Display1.MultiTouch"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

#define MOTION_IN_FLIGHT 64
#define MAX_IN_FLIGHT    1024

/* Wheel clicks sent for one scroll event at most. */
#define MAX_CLICKS 32
/* Relative motion of one event at most, in pixels. */
#define MAX_DELTA 1e6

enum qemu_button {
	QEMU_BUTTON_LEFT = 0,
	QEMU_BUTTON_MIDDLE,
	QEMU_BUTTON_RIGHT,
	QEMU_BUTTON_WHEEL_UP,
	QEMU_BUTTON_WHEEL_DOWN,
	QEMU_BUTTON_SIDE,
	QEMU_BUTTON_EXTRA,
	QEMU_BUTTON__COUNT,
};

enum qemu_touch_kind {
	QEMU_TOUCH_BEGIN = 0,
	QEMU_TOUCH_UPDATE,
	QEMU_TOUCH_END,
	QEMU_TOUCH_CANCEL,
};

enum call_kind {
	CALL_INPUT = 0,
	CALL_GET_ABSOLUTE,
	CALL_GET_SLOTS,
};

struct qemu_input;

struct call {
	struct wl_list link; /* qemu_input.calls */
	struct qemu_input *input;
	sd_bus_slot *slot;
	enum call_kind kind;
	const char *member; /* static */
};

struct touch_point {
	bool live;
	bool update_held; /* an Update held back by the bound on calls */
	int32_t id;       /* the router's */
	double x, y;
};

#define KEY_WORDS (KEY_CNT / 32)

struct qemu_input {
	struct input_target target;
	sd_bus *bus;
	char *destination; /* may be NULL */
	char *path;
	sd_bus_slot *properties_changed; /* may be NULL */
	struct wl_list calls;            /* call.link */
	size_t in_flight;

	bool absolute_known;
	bool absolute;
	int touch_slots;

	uint32_t keys_held[KEY_WORDS];   /* evdev codes pressed in QEMU */
	uint32_t keys_logged[KEY_WORDS]; /* evdev codes without a QEMU number, logged */
	unsigned int n_keys_held;
	uint32_t buttons_held; /* bits of enum qemu_button */

	bool pointer_in;
	double x, y;           /* the pointer, in guest framebuffer pixels */
	bool relative_events;  /* the caller sends relative_motion */
	bool absolute_held;    /* a SetAbsPosition of x,y is held back */
	double rest_x, rest_y; /* fractions of relative motion not sent */
	int64_t rel_x, rel_y;  /* whole pixels of relative motion not sent */
	int32_t scroll_v120;   /* wheel motion short of a click */

	struct touch_point touch[ROUTER_TOUCH_MAX];

	uint64_t sent, failed, coalesced, dropped;
	struct log_ratelimit failure_log, drop_log;
};

static bool bit_test(const uint32_t *bits, uint32_t n)
{
	return bits[n / 32] & (UINT32_C(1) << (n % 32));
}

static void bit_set(uint32_t *bits, uint32_t n, bool on)
{
	if (on)
		bits[n / 32] |= UINT32_C(1) << (n % 32);
	else
		bits[n / 32] &= ~(UINT32_C(1) << (n % 32));
}

static void note_failure(struct qemu_input *input, const char *member, const char *why)
{
	input->failed++;
	unsigned long held_back;
	if (log_ratelimit_pass(&input->failure_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		log_warn("qemu input %s: %s failed: %s (%lu more failures not logged)", input->path,
			 member, why, held_back);
}

static void note_drop(struct qemu_input *input, const char *member)
{
	input->dropped++;
	unsigned long held_back;
	if (log_ratelimit_pass(&input->drop_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		log_warn("qemu input %s: %s dropped: %zu calls without a reply, QEMU is not "
			 "answering (%lu more drops not logged)",
			 input->path, member, input->in_flight, held_back);
}

static void forget_call(struct call *call)
{
	call->input->in_flight--;
	wl_list_remove(&call->link);
	sd_bus_slot_unref(call->slot);
	free(call);
}

static void set_absolute(struct qemu_input *input, bool absolute);
static void set_touch_slots(struct qemu_input *input, int32_t slots);
static void flush(struct qemu_input *input);

static void handle_reply(struct call *call, sd_bus_message *m)
{
	struct qemu_input *input = call->input;
	const sd_bus_error *error = sd_bus_message_get_error(m);
	int ret;

	switch (call->kind) {
	case CALL_INPUT:
		if (error != NULL)
			note_failure(input, call->member,
				     error->message ? error->message : error->name);
		break;
	case CALL_GET_ABSOLUTE: {
		int absolute;
		if (error != NULL) {
			note_failure(input, "reading Mouse.IsAbsolute",
				     error->message ? error->message : error->name);
			break;
		}
		ret = sd_bus_message_read(m, "v", "b", &absolute);
		if (ret < 0) {
			note_failure(input, "reading Mouse.IsAbsolute", strerror(-ret));
			break;
		}
		set_absolute(input, absolute);
		break;
	}
	case CALL_GET_SLOTS: {
		int32_t slots;
		if (error != NULL) {
			log_info("qemu input %s: no MultiTouch (%s): touch is dropped", input->path,
				 error->message ? error->message : error->name);
			set_touch_slots(input, 0);
			break;
		}
		ret = sd_bus_message_read(m, "v", "i", &slots);
		if (ret < 0) {
			note_failure(input, "reading MultiTouch.MaxSlots", strerror(-ret));
			break;
		}
		set_touch_slots(input, slots);
		break;
	}
	}
}

static int call_done(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct call *call = userdata;
	struct qemu_input *input = call->input;
	handle_reply(call, m);
	forget_call(call);
	flush(input);
	return 0;
}

static int send_callv(struct qemu_input *input, enum call_kind kind, const char *iface,
		      const char *member, const char *types, va_list ap)
{
	if (input->in_flight >= MAX_IN_FLIGHT) {
		note_drop(input, member);
		return -ENOBUFS;
	}
	struct call *call = calloc(1, sizeof(*call));
	if (call == NULL) {
		note_drop(input, member);
		return -ENOMEM;
	}
	call->input = input;
	call->kind = kind;
	call->member = member;
	int ret = sd_bus_call_method_asyncv(input->bus, &call->slot, input->destination,
					    input->path, iface, member, call_done, call, types, ap);
	if (ret < 0) {
		free(call);
		note_failure(input, member, strerror(-ret));
		return ret;
	}
	wl_list_insert(input->calls.prev, &call->link);
	input->in_flight++;
	input->sent++;
	return 0;
}

static int send_call(struct qemu_input *input, const char *iface, const char *member,
		     const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int ret = send_callv(input, CALL_INPUT, iface, member, types, ap);
	va_end(ap);
	return ret;
}

static int send_kind(struct qemu_input *input, enum call_kind kind, const char *iface,
		     const char *member, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int ret = send_callv(input, kind, iface, member, types, ap);
	va_end(ap);
	return ret;
}

static void get_property(struct qemu_input *input, enum call_kind kind, const char *iface,
			 const char *name)
{
	send_kind(input, kind, PROPERTIES_IFACE, "Get", "ss", iface, name);
}

/* Pixel coordinate: rounded down, at least 0. */
static uint32_t to_pixel(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= (double)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)v;
}

static double clamp_delta(double d)
{
	if (!isfinite(d))
		return 0;
	return fmin(fmax(d, -MAX_DELTA), MAX_DELTA);
}

/* Sends the held-back motion, whatever the count in flight. */
static void send_held_motion(struct qemu_input *input)
{
	if (input->absolute_held) {
		input->absolute_held = false;
		send_call(input, MOUSE_IFACE, "SetAbsPosition", "uu", to_pixel(input->x),
			  to_pixel(input->y));
	}
	if (input->rel_x != 0 || input->rel_y != 0) {
		int32_t dx = (int32_t)(input->rel_x > INT32_MAX    ? INT32_MAX
				       : input->rel_x < -INT32_MAX ? -INT32_MAX
								   : input->rel_x);
		int32_t dy = (int32_t)(input->rel_y > INT32_MAX    ? INT32_MAX
				       : input->rel_y < -INT32_MAX ? -INT32_MAX
								   : input->rel_y);
		input->rel_x -= dx;
		input->rel_y -= dy;
		send_call(input, MOUSE_IFACE, "RelMotion", "ii", dx, dy);
	}
}

static int send_touch(struct qemu_input *input, enum qemu_touch_kind kind, size_t slot)
{
	struct touch_point *point = &input->touch[slot];
	return send_call(input, TOUCH_IFACE, "SendEvent", "utdd", (uint32_t)kind, (uint64_t)slot,
			 fmax(point->x, 0), fmax(point->y, 0));
}

/* What was held back, as far as the count in flight allows. */
static void flush(struct qemu_input *input)
{
	if (input->in_flight < MOTION_IN_FLIGHT)
		send_held_motion(input);
	for (size_t i = 0; i < ROUTER_TOUCH_MAX && input->in_flight < MOTION_IN_FLIGHT; i++) {
		struct touch_point *point = &input->touch[i];
		if (point->live && point->update_held) {
			point->update_held = false;
			send_touch(input, QEMU_TOUCH_UPDATE, i);
		}
	}
}

static bool motion_may_go(struct qemu_input *input)
{
	if (input->in_flight < MOTION_IN_FLIGHT)
		return true;
	input->coalesced++;
	return false;
}

static void move_absolute(struct qemu_input *input)
{
	input->absolute_held = true;
	if (motion_may_go(input))
		send_held_motion(input);
}

static void move_relative(struct qemu_input *input, double dx, double dy)
{
	input->rest_x += clamp_delta(dx);
	input->rest_y += clamp_delta(dy);
	double whole_x = trunc(input->rest_x), whole_y = trunc(input->rest_y);
	input->rest_x -= whole_x;
	input->rest_y -= whole_y;
	if (whole_x == 0 && whole_y == 0)
		return;
	input->rel_x += (int64_t)whole_x;
	input->rel_y += (int64_t)whole_y;
	if (motion_may_go(input))
		send_held_motion(input);
}

static void set_absolute(struct qemu_input *input, bool absolute)
{
	if (input->absolute_known && input->absolute == absolute)
		return;
	input->absolute_known = true;
	input->absolute = absolute;
	/* What was held back belongs to the other mode. */
	input->absolute_held = false;
	input->rel_x = input->rel_y = 0;
	input->rest_x = input->rest_y = 0;
	log_info("qemu input %s: the guest's mouse is %s", input->path,
		 absolute ? "absolute" : "relative");
	if (absolute && input->pointer_in)
		move_absolute(input);
}

static void set_touch_slots(struct qemu_input *input, int32_t slots)
{
	input->touch_slots = slots > 0 ? slots : 0;
}

static struct qemu_input *input_of(struct input_target *target)
{
	struct qemu_input *input = wl_container_of(target, input, target);
	return input;
}

static void press_key(struct qemu_input *input, uint32_t key, bool pressed)
{
	if (key >= KEY_CNT)
		return;
	uint32_t qnum = qemu_keymap_from_evdev(key);
	if (qnum == 0) {
		if (!bit_test(input->keys_logged, key)) {
			bit_set(input->keys_logged, key, true);
			log_debug("qemu input %s: key %u has no QEMU number: dropped", input->path,
				  key);
		}
		return;
	}
	bool held = bit_test(input->keys_held, key);
	if (!pressed && !held)
		return; /* never pressed in QEMU */
	if (send_call(input, KEYBOARD_IFACE, pressed ? "Press" : "Release", "u", qnum) < 0)
		return; /* a release not sent stays held, to be sent again on leave */
	if (pressed != held) {
		bit_set(input->keys_held, key, pressed);
		if (pressed)
			input->n_keys_held++;
		else
			input->n_keys_held--;
	}
}

static void release_keys(struct qemu_input *input)
{
	for (uint32_t key = 0; key < KEY_CNT && input->n_keys_held > 0; key++) {
		if (bit_test(input->keys_held, key))
			press_key(input, key, false);
	}
}

static void target_keyboard_enter(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	struct qemu_input *input = input_of(target);
	/* The guest holds what the host holds, as the router releases them on leave. */
	for (size_t i = 0; i < n_keys; i++)
		press_key(input, keys[i], true);
}

static void target_keyboard_leave(struct input_target *target, const uint32_t *keys, size_t n_keys)
{
	/* Those the router lists and any other still held: nothing stays pressed. */
	release_keys(input_of(target));
}

static void target_key(struct input_target *target, uint64_t time_usec, uint32_t key, bool pressed)
{
	press_key(input_of(target), key, pressed);
}

static int qemu_button_of(uint32_t button)
{
	switch (button) {
	case BTN_LEFT:
		return QEMU_BUTTON_LEFT;
	case BTN_MIDDLE:
		return QEMU_BUTTON_MIDDLE;
	case BTN_RIGHT:
		return QEMU_BUTTON_RIGHT;
	case BTN_SIDE:
		return QEMU_BUTTON_SIDE;
	case BTN_EXTRA:
		return QEMU_BUTTON_EXTRA;
	default:
		return -1;
	}
}

static void press_button(struct qemu_input *input, int button, bool pressed)
{
	uint32_t bit = UINT32_C(1) << button;
	bool held = input->buttons_held & bit;
	if (!pressed && !held)
		return;
	/* The click lands where the pointer is. */
	send_held_motion(input);
	if (send_call(input, MOUSE_IFACE, pressed ? "Press" : "Release", "u", (uint32_t)button) < 0)
		return;
	if (pressed)
		input->buttons_held |= bit;
	else
		input->buttons_held &= ~bit;
}

static void release_buttons(struct qemu_input *input)
{
	for (int button = 0; button < QEMU_BUTTON__COUNT; button++) {
		if (input->buttons_held & (UINT32_C(1) << button))
			press_button(input, button, false);
	}
}

static void target_pointer_enter(struct input_target *target, double x, double y)
{
	struct qemu_input *input = input_of(target);
	input->pointer_in = true;
	input->x = x;
	input->y = y;
	if (input->absolute_known && input->absolute)
		move_absolute(input);
}

static void target_pointer_leave(struct input_target *target, const uint32_t *buttons,
				 size_t n_buttons)
{
	struct qemu_input *input = input_of(target);
	release_buttons(input);
	input->pointer_in = false;
}

static void target_motion(struct input_target *target, uint64_t time_usec, double x, double y)
{
	struct qemu_input *input = input_of(target);
	double dx = x - input->x, dy = y - input->y;
	input->x = x;
	input->y = y;
	if (!input->absolute_known)
		return;
	if (input->absolute)
		move_absolute(input);
	else if (!input->relative_events)
		move_relative(input, dx, dy);
}

static void target_relative_motion(struct input_target *target, uint64_t time_usec, double dx,
				   double dy)
{
	struct qemu_input *input = input_of(target);
	input->relative_events = true;
	if (input->absolute_known && !input->absolute)
		move_relative(input, dx, dy);
}

static void target_button(struct input_target *target, uint64_t time_usec, uint32_t button,
			  bool pressed)
{
	int qemu_button = qemu_button_of(button);
	if (qemu_button >= 0)
		press_button(input_of(target), qemu_button, pressed);
}

static void click(struct qemu_input *input, int button)
{
	send_held_motion(input);
	send_call(input, MOUSE_IFACE, "Press", "u", (uint32_t)button);
	send_call(input, MOUSE_IFACE, "Release", "u", (uint32_t)button);
}

static void target_scroll(struct input_target *target, uint64_t time_usec,
			  enum input_scroll_axis axis, double value, int32_t value120)
{
	struct qemu_input *input = input_of(target);
	if (axis != INPUT_SCROLL_VERTICAL)
		return;
	int32_t v120 = value120;
	if (v120 == 0 && isfinite(value))
		v120 = (int32_t)lround(fmin(fmax(value, -MAX_CLICKS), MAX_CLICKS) * 120);
	/* A change of direction starts afresh. */
	if ((v120 > 0 && input->scroll_v120 < 0) || (v120 < 0 && input->scroll_v120 > 0))
		input->scroll_v120 = 0;
	int64_t sum = (int64_t)input->scroll_v120 + v120;
	int clicks = 0;
	for (; sum >= 120 && clicks < MAX_CLICKS; sum -= 120, clicks++)
		click(input, QEMU_BUTTON_WHEEL_DOWN);
	for (; sum <= -120 && clicks < MAX_CLICKS; sum += 120, clicks++)
		click(input, QEMU_BUTTON_WHEEL_UP);
	input->scroll_v120 = (int32_t)(sum % 120);
}

static struct touch_point *find_touch(struct qemu_input *input, int32_t id, size_t *slot)
{
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		if (input->touch[i].live && input->touch[i].id == id) {
			*slot = i;
			return &input->touch[i];
		}
	}
	return NULL;
}

static void target_touch_down(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			      double y)
{
	struct qemu_input *input = input_of(target);
	size_t slot;
	struct touch_point *point = find_touch(input, id, &slot);
	if (point == NULL) {
		size_t slots = input->touch_slots < ROUTER_TOUCH_MAX ? (size_t)input->touch_slots
								     : ROUTER_TOUCH_MAX;
		for (slot = 0; slot < slots && input->touch[slot].live; slot++)
			;
		if (slot == slots) {
			log_debug("qemu input %s: touch point %d dropped: %d slots, none free",
				  input->path, (int)id, input->touch_slots);
			return;
		}
		point = &input->touch[slot];
	}
	point->x = x;
	point->y = y;
	point->update_held = false;
	send_held_motion(input);
	if (send_touch(input, QEMU_TOUCH_BEGIN, slot) < 0)
		return;
	point->live = true;
	point->id = id;
}

static void target_touch_motion(struct input_target *target, uint64_t time_usec, int32_t id,
				double x, double y)
{
	struct qemu_input *input = input_of(target);
	size_t slot;
	struct touch_point *point = find_touch(input, id, &slot);
	if (point == NULL)
		return;
	point->x = x;
	point->y = y;
	if (!motion_may_go(input)) {
		point->update_held = true;
		return;
	}
	point->update_held = false;
	send_touch(input, QEMU_TOUCH_UPDATE, slot);
}

static void target_touch_up(struct input_target *target, uint64_t time_usec, int32_t id)
{
	struct qemu_input *input = input_of(target);
	size_t slot;
	struct touch_point *point = find_touch(input, id, &slot);
	if (point == NULL)
		return;
	if (point->update_held)
		send_touch(input, QEMU_TOUCH_UPDATE, slot);
	send_touch(input, QEMU_TOUCH_END, slot);
	point->live = false;
	point->update_held = false;
}

static void target_touch_frame(struct input_target *target)
{
	/* Each SendEvent is a frame of its own in QEMU. */
}

static void cancel_touch(struct qemu_input *input)
{
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		struct touch_point *point = &input->touch[i];
		if (!point->live)
			continue;
		send_touch(input, QEMU_TOUCH_CANCEL, i);
		point->live = false;
		point->update_held = false;
	}
}

static void target_touch_cancel(struct input_target *target)
{
	cancel_touch(input_of(target));
}

static const struct input_target_impl qemu_input_impl = {
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
	.relative_motion = target_relative_motion,
};

static int handle_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct qemu_input *input = userdata;
	const char *iface, *name;
	int ret = sd_bus_message_read(m, "s", &iface);
	if (ret < 0)
		goto error_read;
	bool mouse = strcmp(iface, MOUSE_IFACE) == 0;
	bool touch = strcmp(iface, TOUCH_IFACE) == 0;
	if (!mouse && !touch)
		return 0;

	ret = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (ret < 0)
		goto error_read;
	while ((ret = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		ret = sd_bus_message_read(m, "s", &name);
		if (ret < 0)
			goto error_read;
		if (mouse && strcmp(name, "IsAbsolute") == 0) {
			int absolute;
			ret = sd_bus_message_read(m, "v", "b", &absolute);
			if (ret >= 0)
				set_absolute(input, absolute);
		} else if (touch && strcmp(name, "MaxSlots") == 0) {
			int32_t slots;
			ret = sd_bus_message_read(m, "v", "i", &slots);
			if (ret >= 0)
				set_touch_slots(input, slots);
		} else {
			ret = sd_bus_message_skip(m, "v");
		}
		if (ret < 0)
			goto error_read;
		ret = sd_bus_message_exit_container(m);
		if (ret < 0)
			goto error_read;
	}
	if (ret < 0)
		goto error_read;
	ret = sd_bus_message_exit_container(m);
	if (ret < 0)
		goto error_read;

	/* Properties changed without their value: read them again. */
	ret = sd_bus_message_enter_container(m, 'a', "s");
	if (ret < 0)
		goto error_read;
	while ((ret = sd_bus_message_read(m, "s", &name)) > 0) {
		if (mouse && strcmp(name, "IsAbsolute") == 0)
			get_property(input, CALL_GET_ABSOLUTE, MOUSE_IFACE, "IsAbsolute");
		else if (touch && strcmp(name, "MaxSlots") == 0)
			get_property(input, CALL_GET_SLOTS, TOUCH_IFACE, "MaxSlots");
	}
	if (ret < 0)
		goto error_read;
	return 0;

error_read:
	log_warn("qemu input %s: a PropertiesChanged signal that cannot be read: %s", input->path,
		 strerror(-ret));
	return 0;
}

struct qemu_input *qemu_input_create(sd_bus *bus, const char *destination, const char *path)
{
	struct qemu_input *input = calloc(1, sizeof(*input));
	if (input == NULL)
		return NULL;
	input->target.impl = &qemu_input_impl;
	input->bus = bus;
	wl_list_init(&input->calls);
	input->path = strdup(path);
	if (input->path == NULL)
		goto error_input;
	if (destination != NULL) {
		input->destination = strdup(destination);
		if (input->destination == NULL)
			goto error_input;
	}

	/* The match first, so that no change is missed between it and the reads. */
	int ret = sd_bus_match_signal_async(bus, &input->properties_changed, destination, path,
					    PROPERTIES_IFACE, "PropertiesChanged",
					    handle_properties_changed, NULL, input);
	if (ret < 0)
		log_warn("qemu input %s: cannot follow the mouse's mode: %s", path, strerror(-ret));
	get_property(input, CALL_GET_ABSOLUTE, MOUSE_IFACE, "IsAbsolute");
	get_property(input, CALL_GET_SLOTS, TOUCH_IFACE, "MaxSlots");
	return input;

error_input:
	free(input->path);
	free(input);
	return NULL;
}

/* A call whose reply nobody waits for, past every bound. */
static void send_last(struct qemu_input *input, const char *iface, const char *member,
		      const char *types, ...)
{
	sd_bus_message *m = NULL;
	int ret = sd_bus_message_new_method_call(input->bus, &m, input->destination, input->path,
						 iface, member);
	if (ret >= 0) {
		va_list ap;
		va_start(ap, types);
		ret = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (ret >= 0)
		ret = sd_bus_message_set_expect_reply(m, 0);
	if (ret >= 0)
		ret = sd_bus_send(input->bus, m, NULL);
	sd_bus_message_unref(m);
	if (ret < 0)
		note_failure(input, member, strerror(-ret));
	else
		input->sent++;
}

void qemu_input_destroy(struct qemu_input *input)
{
	if (input == NULL)
		return;
	for (uint32_t key = 0; key < KEY_CNT; key++) {
		if (bit_test(input->keys_held, key))
			send_last(input, KEYBOARD_IFACE, "Release", "u",
				  qemu_keymap_from_evdev(key));
	}
	for (uint32_t button = 0; button < QEMU_BUTTON__COUNT; button++) {
		if (input->buttons_held & (UINT32_C(1) << button))
			send_last(input, MOUSE_IFACE, "Release", "u", button);
	}
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		struct touch_point *point = &input->touch[i];
		if (point->live)
			send_last(input, TOUCH_IFACE, "SendEvent", "utdd",
				  (uint32_t)QEMU_TOUCH_CANCEL, (uint64_t)i, fmax(point->x, 0),
				  fmax(point->y, 0));
	}
	sd_bus_slot_unref(input->properties_changed);
	struct call *call, *tmp;
	wl_list_for_each_safe (call, tmp, &input->calls, link)
		forget_call(call);
	free(input->destination);
	free(input->path);
	free(input);
}

struct input_target *qemu_input_target(struct qemu_input *input)
{
	return &input->target;
}

void qemu_input_get_info(const struct qemu_input *input, struct qemu_input_info *info)
{
	*info = (struct qemu_input_info){
		.absolute = input->absolute,
		.touch_slots = input->touch_slots,
		.sent = input->sent,
		.failed = input->failed,
		.coalesced = input->coalesced,
		.dropped = input->dropped,
		.keys_held = input->n_keys_held,
		.in_flight = (unsigned int)input->in_flight,
	};
}
