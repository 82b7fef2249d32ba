// SPDX-License-Identifier: MIT
#include <linux/input-event-codes.h>
#include <stdarg.h>

#include "input/router.h"
#include "test.h"

/* Every call a target gets, as one line of text each, in order. */
static char calls[8192];
static size_t calls_len;

static void record(const struct input_target *target, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct rec_target {
	struct input_target base;
	const char *name;
};

static void record(const struct input_target *target, const char *fmt, ...)
{
	const struct rec_target *t = (const struct rec_target *)target;
	int n = snprintf(calls + calls_len, sizeof(calls) - calls_len, "%s:", t->name);
	check(n > 0 && (size_t)n < sizeof(calls) - calls_len);
	calls_len += (size_t)n;
	va_list args;
	va_start(args, fmt);
	n = vsnprintf(calls + calls_len, sizeof(calls) - calls_len, fmt, args);
	va_end(args);
	check(n >= 0 && (size_t)n + 1 < sizeof(calls) - calls_len);
	calls_len += (size_t)n;
	calls[calls_len++] = '\n';
	calls[calls_len] = '\0';
}

static void record_list(const struct input_target *target, const char *what, const uint32_t *codes,
			size_t n)
{
	char list[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u", i ? "," : "",
					(unsigned)codes[i]);
	record(target, "%s[%s]", what, list);
}

/* The calls since the last check, which must be exactly `expected`. */
static void check_calls(const char *expected)
{
	check_str_eq(calls, expected);
	calls_len = 0;
	calls[0] = '\0';
}

static void rec_keyboard_enter(struct input_target *t, const uint32_t *keys, size_t n)
{
	record_list(t, "kenter", keys, n);
}

static void rec_keyboard_leave(struct input_target *t, const uint32_t *keys, size_t n)
{
	record_list(t, "kleave", keys, n);
}

static void rec_key(struct input_target *t, uint64_t time, uint32_t key, bool pressed)
{
	record(t, "key %u %s @%llu", (unsigned)key, pressed ? "down" : "up",
	       (unsigned long long)time);
}

static void rec_pointer_enter(struct input_target *t, double x, double y)
{
	record(t, "penter %g,%g", x, y);
}

static void rec_pointer_leave(struct input_target *t, const uint32_t *buttons, size_t n)
{
	record_list(t, "pleave", buttons, n);
}

static void rec_motion(struct input_target *t, uint64_t time, double x, double y)
{
	(void)time;
	record(t, "motion %g,%g", x, y);
}

static void rec_button(struct input_target *t, uint64_t time, uint32_t button, bool pressed)
{
	(void)time;
	record(t, "button %u %s", (unsigned)button, pressed ? "down" : "up");
}

static void rec_scroll(struct input_target *t, uint64_t time, enum input_scroll_axis axis,
		       double value, int32_t value120)
{
	(void)time;
	record(t, "scroll %d %g %d", (int)axis, value, (int)value120);
}

static void rec_touch_down(struct input_target *t, uint64_t time, int32_t id, double x, double y)
{
	(void)time;
	record(t, "tdown %d %g,%g", (int)id, x, y);
}

static void rec_touch_motion(struct input_target *t, uint64_t time, int32_t id, double x, double y)
{
	(void)time;
	record(t, "tmotion %d %g,%g", (int)id, x, y);
}

static void rec_touch_up(struct input_target *t, uint64_t time, int32_t id)
{
	(void)time;
	record(t, "tup %d", (int)id);
}

static void rec_touch_frame(struct input_target *t)
{
	record(t, "tframe");
}

static void rec_touch_cancel(struct input_target *t)
{
	record(t, "tcancel");
}

static const struct input_target_impl rec_impl = {
	.keyboard_enter = rec_keyboard_enter,
	.keyboard_leave = rec_keyboard_leave,
	.key = rec_key,
	.pointer_enter = rec_pointer_enter,
	.pointer_leave = rec_pointer_leave,
	.motion = rec_motion,
	.button = rec_button,
	.scroll = rec_scroll,
	.touch_down = rec_touch_down,
	.touch_motion = rec_touch_motion,
	.touch_up = rec_touch_up,
	.touch_frame = rec_touch_frame,
	.touch_cancel = rec_touch_cancel,
};

static struct rec_target target_a = {{&rec_impl}, "A"};
static struct rec_target target_b = {{&rec_impl}, "B"};
#define A (&target_a.base)
#define B (&target_b.base)

static int hotkey_actions[8];
static size_t n_hotkey_actions;

static void on_hotkey(void *data, int action)
{
	check(data == &n_hotkey_actions);
	check(n_hotkey_actions < 8);
	hotkey_actions[n_hotkey_actions++] = action;
}

/* Keys below, by evdev code: LEFTCTRL 29, LEFTALT 56, RIGHTALT 100, A 30, S 31, RIGHT 106. */

static void test_pointer_focus(void)
{
	struct router *r = router_create(ROUTER_FOCUS_POINTER, NULL, NULL);
	check(r != NULL);

	/* Nothing has focus: keys and buttons go nowhere, but are tracked. */
	router_key(r, 1, KEY_LEFTCTRL, true);
	router_pointer_button(r, 2, BTN_LEFT, true);
	router_pointer_scroll(r, 3, INPUT_SCROLL_VERTICAL, 15, 120);
	check_calls("");

	/* The pointer enters A: pointer then keyboard focus, with the held Ctrl. */
	router_pointer_motion(r, 4, A, 10, 20);
	check_calls("A:penter 10,20\n"
		    "A:kenter[29]\n"
		    "A:motion 10,20\n");
	check(router_pointer_focus(r) == A);
	check(router_keyboard_focus(r) == A);

	/* A never saw the button go down: its release is not sent. */
	router_pointer_button(r, 5, BTN_LEFT, false);
	router_key(r, 6, KEY_A, true);
	router_pointer_button(r, 7, BTN_RIGHT, true);
	router_pointer_scroll(r, 8, INPUT_SCROLL_HORIZONTAL, -7.5, 0);
	check_calls("A:key 30 down @6\n"
		    "A:button 273 down\n"
		    "A:scroll 1 -7.5 0\n");

	/* Moving within A. */
	router_pointer_motion(r, 9, A, 11, 21);
	check_calls("A:motion 11,21\n");

	/* Onto B with Ctrl, A and the right button held. */
	router_pointer_motion(r, 10, B, 0, 5);
	check_calls("A:pleave[273]\n"
		    "B:penter 0,5\n"
		    "A:kleave[29,30]\n"
		    "B:kenter[29,30]\n"
		    "B:motion 0,5\n");

	/* B releases what it was entered with; the button it never saw is not sent. */
	router_key(r, 11, KEY_A, false);
	router_pointer_button(r, 12, BTN_RIGHT, false);
	router_key(r, 13, KEY_S, true);
	check_calls("B:key 30 up @11\n"
		    "B:key 31 down @13\n");

	/* Over an output without a vGPU: B loses the pointer, keeps the keyboard. */
	router_pointer_motion(r, 14, NULL, 0, 0);
	router_pointer_button(r, 15, BTN_LEFT, true);
	router_pointer_button(r, 16, BTN_LEFT, false);
	router_key(r, 17, KEY_S, false);
	check_calls("B:pleave[]\n"
		    "B:key 31 up @17\n");
	check(router_pointer_focus(r) == NULL);
	check(router_keyboard_focus(r) == B);

	/* Back onto A: B leaves with only Ctrl still down. */
	router_pointer_motion(r, 18, A, 1, 1);
	check_calls("A:penter 1,1\n"
		    "B:kleave[29]\n"
		    "A:kenter[29]\n"
		    "A:motion 1,1\n");

	/* Two keyboards hold Ctrl: one release is not the end of it. */
	router_key(r, 19, KEY_LEFTCTRL, true);
	router_key(r, 20, KEY_LEFTCTRL, false);
	check_calls("");
	router_key(r, 21, KEY_LEFTCTRL, false);
	check_calls("A:key 29 up @21\n");
	/* A release of a key not held is dropped. */
	router_key(r, 22, KEY_LEFTCTRL, false);
	router_key(r, 23, KEY_CNT, true);
	check_calls("");

	/* A target going away is forgotten without a call. */
	router_remove_target(r, A);
	check(router_pointer_focus(r) == NULL);
	check(router_keyboard_focus(r) == NULL);
	router_key(r, 24, KEY_A, true);
	router_pointer_button(r, 25, BTN_LEFT, true);
	check_calls("");
	router_destroy(r);
	router_destroy(NULL);
}

static void test_click_focus(void)
{
	struct router *r = router_create(ROUTER_FOCUS_CLICK, NULL, NULL);
	router_pointer_motion(r, 1, A, 5, 5);
	router_key(r, 2, KEY_A, true);
	check_calls("A:penter 5,5\n"
		    "A:motion 5,5\n");
	check(router_keyboard_focus(r) == NULL);

	/* A press gives A the keyboard (with the held key), then the button. */
	router_pointer_button(r, 3, BTN_LEFT, true);
	router_pointer_button(r, 4, BTN_LEFT, false);
	router_key(r, 5, KEY_A, false);
	check_calls("A:kenter[30]\n"
		    "A:button 272 down\n"
		    "A:button 272 up\n"
		    "A:key 30 up @5\n");

	/* Moving onto B does not move the keyboard focus. */
	router_pointer_motion(r, 6, B, 7, 8);
	router_key(r, 7, KEY_S, true);
	check_calls("A:pleave[]\n"
		    "B:penter 7,8\n"
		    "B:motion 7,8\n"
		    "A:key 31 down @7\n");

	/* Clicking on B does, and A releases S. */
	router_pointer_button(r, 8, BTN_RIGHT, true);
	check_calls("A:kleave[31]\n"
		    "B:kenter[31]\n"
		    "B:button 273 down\n");
	check(router_keyboard_focus(r) == B);

	/* A click over no target leaves the keyboard where it is. */
	router_pointer_motion(r, 9, NULL, 0, 0);
	router_pointer_button(r, 10, BTN_LEFT, true);
	check_calls("B:pleave[273]\n");
	check(router_keyboard_focus(r) == B);

	/* Explicit focus changes work in this mode too. */
	router_set_keyboard_focus(r, A);
	router_set_keyboard_focus(r, A);
	check_calls("B:kleave[31]\n"
		    "A:kenter[31]\n");
	router_set_keyboard_focus(r, NULL);
	check_calls("A:kleave[31]\n");
	router_destroy(r);
}

static void test_touch(void)
{
	struct router *r = router_create(ROUTER_FOCUS_CLICK, NULL, NULL);

	/* Two points on A and one on B; each stays with its target. */
	router_touch_down(r, 1, A, 0, 10, 10);
	router_touch_down(r, 1, A, 1, 20, 20);
	router_touch_down(r, 1, B, 2, 30, 30);
	router_touch_frame(r);
	check_calls("A:kenter[]\n"
		    "A:tdown 0 10,10\n"
		    "A:tdown 1 20,20\n"
		    "A:kleave[]\n" /* click focus: a touch down is a click */
		    "B:kenter[]\n"
		    "B:tdown 2 30,30\n"
		    "A:tframe\n"
		    "B:tframe\n");
	check(router_touch_target(r, 1) == A);
	check(router_touch_target(r, 2) == B);
	check(router_touch_target(r, 3) == NULL);

	/* Motion goes to the point's target whatever is under it now. */
	router_touch_motion(r, 2, 0, 500, 500);
	router_touch_motion(r, 2, 7, 1, 1); /* unknown point */
	router_touch_frame(r);
	check_calls("A:tmotion 0 500,500\n"
		    "A:tframe\n");

	/* Up, then the frame; the freed slot is reused after it. */
	router_touch_up(r, 3, 0);
	router_touch_frame(r);
	check_calls("A:tup 0\n"
		    "A:tframe\n");
	check(router_touch_target(r, 0) == NULL);
	router_touch_motion(r, 4, 0, 1, 1);
	router_touch_frame(r);
	check_calls("");

	/* A touch down on nothing is followed, and never lands elsewhere. */
	router_touch_down(r, 5, NULL, 5, 1, 1);
	router_touch_motion(r, 5, 5, 2, 2);
	router_touch_up(r, 5, 5);
	router_touch_frame(r);
	check_calls("");

	/* Cancel: each target holding points hears it once. */
	router_touch_cancel(r);
	check_calls("A:tcancel\n"
		    "B:tcancel\n");
	router_touch_up(r, 6, 1);
	router_touch_frame(r);
	check_calls("");

	/* A removed target's points are dropped until they go up. */
	router_touch_down(r, 7, A, 9, 1, 1);
	router_touch_frame(r);
	check_calls("B:kleave[]\n"
		    "A:kenter[]\n"
		    "A:tdown 9 1,1\n"
		    "A:tframe\n");
	router_remove_target(r, A);
	router_touch_motion(r, 8, 9, 2, 2);
	router_touch_up(r, 8, 9);
	router_touch_frame(r);
	check_calls("");

	/* No more than ROUTER_TOUCH_MAX points at once. */
	for (int32_t id = 0; id < ROUTER_TOUCH_MAX + 2; id++)
		router_touch_down(r, 9, B, id, 0, 0);
	check(router_touch_target(r, ROUTER_TOUCH_MAX - 1) == B);
	check(router_touch_target(r, ROUTER_TOUCH_MAX) == NULL);
	router_destroy(r);
	check_calls(calls); /* discard */
}

static void test_hotkeys(void)
{
	struct router *r = router_create(ROUTER_FOCUS_POINTER, on_hotkey, &n_hotkey_actions);
	struct hotkey next, prev;
	check_int_eq(hotkey_parse("Ctrl+Alt+Right", &next, NULL, 0), 0);
	check_int_eq(hotkey_parse("Ctrl+Alt+Left", &prev, NULL, 0), 0);
	check_int_eq(router_bind_hotkey(r, &next, 1), 0);
	check_int_eq(router_bind_hotkey(r, &prev, 2), 0);
	check_int_eq(router_bind_hotkey(r, &next, 3), -EEXIST);

	router_pointer_motion(r, 1, A, 0, 0);
	check_calls("A:penter 0,0\nA:kenter[]\nA:motion 0,0\n");

	/* Ctrl and AltGr reach A; Right is consumed and reported. */
	router_key(r, 2, KEY_LEFTCTRL, true);
	router_key(r, 3, KEY_RIGHTALT, true);
	check_int_eq(router_modifiers(r), HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT);
	router_key(r, 4, KEY_RIGHT, true);
	check_int_eq(n_hotkey_actions, 1);
	check_int_eq(hotkey_actions[0], 1);
	check_calls("A:key 29 down @2\n"
		    "A:key 100 down @3\n");

	/* The caller moves the focus to B: B is entered without the consumed key. */
	router_pointer_motion(r, 5, B, 50, 50);
	check_calls("A:pleave[]\n"
		    "B:penter 50,50\n"
		    "A:kleave[29,100]\n"
		    "B:kenter[29,100]\n"
		    "B:motion 50,50\n");

	/* The release of the consumed key goes nowhere, then modifiers go up. */
	router_key(r, 6, KEY_RIGHT, false);
	router_key(r, 7, KEY_RIGHTALT, false);
	router_key(r, 8, KEY_LEFTCTRL, false);
	check_calls("B:key 100 up @7\n"
		    "B:key 29 up @8\n");

	/* Extra modifiers or a missing one: no hotkey, the key is forwarded. */
	router_key(r, 9, KEY_LEFTCTRL, true);
	router_key(r, 10, KEY_LEFT, true);
	router_key(r, 11, KEY_LEFT, false);
	router_key(r, 12, KEY_LEFTSHIFT, true);
	router_key(r, 13, KEY_LEFTALT, true);
	router_key(r, 14, KEY_LEFT, true);
	router_key(r, 15, KEY_LEFT, false);
	check_int_eq(n_hotkey_actions, 1);
	check_calls("B:key 29 down @9\n"
		    "B:key 105 down @10\n"
		    "B:key 105 up @11\n"
		    "B:key 42 down @12\n"
		    "B:key 56 down @13\n"
		    "B:key 105 down @14\n"
		    "B:key 105 up @15\n");
	/* Without Shift, the other hotkey. */
	router_key(r, 16, KEY_LEFTSHIFT, false);
	router_key(r, 17, KEY_LEFT, true);
	check_int_eq(n_hotkey_actions, 2);
	check_int_eq(hotkey_actions[1], 2);
	check_calls("B:key 42 up @16\n");
	/* A focus change while it is held: the consumed key is never listed. */
	router_set_keyboard_focus(r, A);
	router_key(r, 18, KEY_LEFT, false);
	check_calls("B:kleave[29,56]\n"
		    "A:kenter[29,56]\n");

	/* A hotkey fires with no focus at all. */
	router_set_keyboard_focus(r, NULL);
	router_key(r, 19, KEY_RIGHT, true);
	router_key(r, 20, KEY_RIGHT, false);
	check_int_eq(n_hotkey_actions, 3);
	check_calls("A:kleave[29,56]\n");

	/* Bindings are bounded. */
	for (uint32_t i = 2; i < ROUTER_HOTKEY_MAX; i++) {
		struct hotkey h = {HOTKEY_MOD_SUPER, KEY_F1 + i};
		check_int_eq(router_bind_hotkey(r, &h, (int)i), 0);
	}
	struct hotkey extra = {HOTKEY_MOD_SUPER, KEY_A};
	check_int_eq(router_bind_hotkey(r, &extra, 99), -ENOSPC);
	router_destroy(r);
}

int main(void)
{
	test_pointer_focus();
	test_click_focus();
	test_touch();
	test_hotkeys();
	return 0;
}
