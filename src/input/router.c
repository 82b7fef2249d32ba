// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#include "input/router.h"

/*
 * Key and button state, per code below KEY_CNT:
 *   held       how many devices hold it down (the seat's count), for keys
 *              and buttons apart
 *   consumed   pressed as a hotkey: neither press nor release is forwarded
 *   sent       the focused target saw it pressed and not released
 * `sent` is per focus (keys for the keyboard focus, buttons for the pointer
 * focus) and is what the leave events list.
 */

#define BITS_PER_WORD (8 * sizeof(unsigned long))
#define BITMAP_WORDS  ((KEY_CNT + BITS_PER_WORD - 1) / BITS_PER_WORD)

struct bitmap {
	unsigned long words[BITMAP_WORDS];
};

struct touch_point {
	bool active;
	bool framed; /* got an event since the last frame */
	int32_t id;
	struct input_target *target;
};

struct hotkey_binding {
	struct hotkey hotkey;
	int action;
};

struct router {
	enum router_focus focus_mode;
	router_hotkey_func hotkey_func; /* may be NULL */
	void *hotkey_data;

	uint8_t held_keys[KEY_CNT];
	uint8_t held_buttons[KEY_CNT];
	struct bitmap consumed;

	struct input_target *keyboard; /* may be NULL */
	struct bitmap keys_sent;
	struct input_target *pointer; /* may be NULL */
	struct bitmap buttons_sent;

	struct touch_point touches[ROUTER_TOUCH_MAX];

	struct hotkey_binding hotkeys[ROUTER_HOTKEY_MAX];
	size_t n_hotkeys;
};

static bool bit_get(const struct bitmap *b, uint32_t code)
{
	return b->words[code / BITS_PER_WORD] >> (code % BITS_PER_WORD) & 1;
}

static void bit_set(struct bitmap *b, uint32_t code, bool on)
{
	unsigned long mask = 1ul << (code % BITS_PER_WORD);
	if (on)
		b->words[code / BITS_PER_WORD] |= mask;
	else
		b->words[code / BITS_PER_WORD] &= ~mask;
}

/* The codes set in `b`, in increasing order; `codes` holds KEY_CNT. */
static size_t bit_list(const struct bitmap *b, uint32_t *codes)
{
	size_t n = 0;
	for (uint32_t code = 0; code < KEY_CNT; code++) {
		if (bit_get(b, code))
			codes[n++] = code;
	}
	return n;
}

struct router *router_create(enum router_focus focus, router_hotkey_func hotkey, void *data)
{
	struct router *router = calloc(1, sizeof(*router));
	if (router == NULL)
		return NULL;
	router->focus_mode = focus;
	router->hotkey_func = hotkey;
	router->hotkey_data = data;
	return router;
}

void router_destroy(struct router *router)
{
	free(router);
}

int router_bind_hotkey(struct router *router, const struct hotkey *hotkey, int action)
{
	for (size_t i = 0; i < router->n_hotkeys; i++) {
		if (router->hotkeys[i].hotkey.key == hotkey->key &&
		    router->hotkeys[i].hotkey.modifiers == hotkey->modifiers)
			return -EEXIST;
	}
	if (router->n_hotkeys == ROUTER_HOTKEY_MAX)
		return -ENOSPC;
	router->hotkeys[router->n_hotkeys++] = (struct hotkey_binding){*hotkey, action};
	return 0;
}

uint32_t router_modifiers(const struct router *router)
{
	static const uint32_t modifier_keys[] = {KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTCTRL,
						 KEY_RIGHTCTRL, KEY_LEFTALT,    KEY_RIGHTALT,
						 KEY_LEFTMETA,  KEY_RIGHTMETA};
	uint32_t modifiers = 0;
	for (size_t i = 0; i < sizeof(modifier_keys) / sizeof(modifier_keys[0]); i++) {
		if (router->held_keys[modifier_keys[i]] > 0)
			modifiers |= hotkey_modifier_of_key(modifier_keys[i]);
	}
	return modifiers;
}

void router_set_keyboard_focus(struct router *router, struct input_target *target)
{
	if (target == router->keyboard)
		return;
	uint32_t keys[KEY_CNT];
	if (router->keyboard != NULL) {
		size_t n = bit_list(&router->keys_sent, keys);
		router->keyboard->impl->keyboard_leave(router->keyboard, keys, n);
	}
	memset(&router->keys_sent, 0, sizeof(router->keys_sent));
	router->keyboard = target;
	if (target == NULL)
		return;
	/* Every key held on the host, hotkeys excepted. */
	for (uint32_t code = 0; code < KEY_CNT; code++) {
		if (router->held_keys[code] > 0 && !bit_get(&router->consumed, code))
			bit_set(&router->keys_sent, code, true);
	}
	size_t n = bit_list(&router->keys_sent, keys);
	target->impl->keyboard_enter(target, keys, n);
}

static const struct hotkey_binding *find_hotkey(const struct router *router, uint32_t key)
{
	uint32_t modifiers = router_modifiers(router);
	for (size_t i = 0; i < router->n_hotkeys; i++) {
		if (hotkey_match(&router->hotkeys[i].hotkey, key, modifiers))
			return &router->hotkeys[i];
	}
	return NULL;
}

void router_key(struct router *router, uint64_t time_usec, uint32_t key, bool pressed)
{
	if (key >= KEY_CNT)
		return;
	if (pressed) {
		if (router->held_keys[key]++ > 0) {
			if (router->held_keys[key] == 0)
				router->held_keys[key] = UINT8_MAX; /* saturate */
			return;
		}
		const struct hotkey_binding *binding = find_hotkey(router, key);
		if (binding != NULL) {
			bit_set(&router->consumed, key, true);
			if (router->hotkey_func != NULL)
				router->hotkey_func(router->hotkey_data, binding->action);
			return;
		}
	} else {
		if (router->held_keys[key] == 0 || --router->held_keys[key] > 0)
			return;
		if (bit_get(&router->consumed, key)) {
			bit_set(&router->consumed, key, false);
			return;
		}
	}
	struct input_target *target = router->keyboard;
	if (target == NULL)
		return;
	/* A release goes only to a target that saw the press. */
	if (!pressed && !bit_get(&router->keys_sent, key))
		return;
	bit_set(&router->keys_sent, key, pressed);
	target->impl->key(target, time_usec, key, pressed);
}

static void set_pointer_focus(struct router *router, struct input_target *target, double x,
			      double y)
{
	if (target == router->pointer)
		return;
	if (router->pointer != NULL) {
		uint32_t buttons[KEY_CNT];
		size_t n = bit_list(&router->buttons_sent, buttons);
		router->pointer->impl->pointer_leave(router->pointer, buttons, n);
	}
	memset(&router->buttons_sent, 0, sizeof(router->buttons_sent));
	router->pointer = target;
	if (target != NULL)
		target->impl->pointer_enter(target, x, y);
}

void router_pointer_motion(struct router *router, uint64_t time_usec, struct input_target *under,
			   double x, double y)
{
	if (under != router->pointer) {
		set_pointer_focus(router, under, x, y);
		if (under != NULL && router->focus_mode == ROUTER_FOCUS_POINTER)
			router_set_keyboard_focus(router, under);
	}
	if (router->pointer != NULL)
		router->pointer->impl->motion(router->pointer, time_usec, x, y);
}

void router_pointer_button(struct router *router, uint64_t time_usec, uint32_t button, bool pressed)
{
	if (button >= KEY_CNT)
		return;
	if (pressed) {
		if (router->held_buttons[button]++ > 0) {
			if (router->held_buttons[button] == 0)
				router->held_buttons[button] = UINT8_MAX;
			return;
		}
		if (router->focus_mode == ROUTER_FOCUS_CLICK && router->pointer != NULL)
			router_set_keyboard_focus(router, router->pointer);
	} else if (router->held_buttons[button] == 0 || --router->held_buttons[button] > 0) {
		return;
	}
	struct input_target *target = router->pointer;
	if (target == NULL || (!pressed && !bit_get(&router->buttons_sent, button)))
		return;
	bit_set(&router->buttons_sent, button, pressed);
	target->impl->button(target, time_usec, button, pressed);
}

void router_pointer_scroll(struct router *router, uint64_t time_usec, enum input_scroll_axis axis,
			   double value, int32_t value120)
{
	if (router->pointer != NULL)
		router->pointer->impl->scroll(router->pointer, time_usec, axis, value, value120);
}

static struct touch_point *find_touch(struct router *router, int32_t id)
{
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		if (router->touches[i].active && router->touches[i].id == id)
			return &router->touches[i];
	}
	return NULL;
}

void router_touch_down(struct router *router, uint64_t time_usec, struct input_target *under,
		       int32_t id, double x, double y)
{
	if (find_touch(router, id) != NULL)
		return; /* already down: the device is confused */
	struct touch_point *touch = NULL;
	for (size_t i = 0; i < ROUTER_TOUCH_MAX && touch == NULL; i++) {
		/* A slot whose point went up is free once its frame is sent. */
		if (!router->touches[i].active && !router->touches[i].framed)
			touch = &router->touches[i];
	}
	if (touch == NULL)
		return;
	/* A touch on no target is followed too, so that it never lands elsewhere. */
	*touch = (struct touch_point){.active = true, .id = id, .target = under};
	if (under == NULL)
		return;
	if (router->focus_mode == ROUTER_FOCUS_CLICK)
		router_set_keyboard_focus(router, under);
	touch->framed = true;
	under->impl->touch_down(under, time_usec, id, x, y);
}

struct input_target *router_touch_target(const struct router *router, int32_t id)
{
	struct touch_point *touch = find_touch((struct router *)router, id);
	return touch != NULL ? touch->target : NULL;
}

void router_touch_motion(struct router *router, uint64_t time_usec, int32_t id, double x, double y)
{
	struct touch_point *touch = find_touch(router, id);
	if (touch == NULL || touch->target == NULL)
		return;
	touch->framed = true;
	touch->target->impl->touch_motion(touch->target, time_usec, id, x, y);
}

void router_touch_up(struct router *router, uint64_t time_usec, int32_t id)
{
	struct touch_point *touch = find_touch(router, id);
	if (touch == NULL)
		return;
	touch->active = false;
	if (touch->target == NULL)
		return;
	/* Kept as framed until the frame: the slot is free, the frame still owed. */
	touch->framed = true;
	touch->target->impl->touch_up(touch->target, time_usec, id);
}

void router_touch_frame(struct router *router)
{
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		struct touch_point *t = &router->touches[i];
		if (!t->framed)
			continue;
		/* One frame per target: the first of its points sends it. */
		bool first = true;
		for (size_t j = 0; j < i; j++) {
			if (router->touches[j].framed && router->touches[j].target == t->target)
				first = false;
		}
		if (first && t->target != NULL)
			t->target->impl->touch_frame(t->target);
	}
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		router->touches[i].framed = false;
		if (!router->touches[i].active)
			router->touches[i].target = NULL;
	}
}

void router_touch_cancel(struct router *router)
{
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		struct touch_point *t = &router->touches[i];
		if (!t->active || t->target == NULL)
			continue;
		bool first = true;
		for (size_t j = 0; j < i; j++) {
			if (router->touches[j].active && router->touches[j].target == t->target)
				first = false;
		}
		if (first)
			t->target->impl->touch_cancel(t->target);
	}
	memset(router->touches, 0, sizeof(router->touches));
}

struct input_target *router_keyboard_focus(const struct router *router)
{
	return router->keyboard;
}

struct input_target *router_pointer_focus(const struct router *router)
{
	return router->pointer;
}

void router_remove_target(struct router *router, struct input_target *target)
{
	if (target == NULL)
		return;
	if (router->keyboard == target) {
		router->keyboard = NULL;
		memset(&router->keys_sent, 0, sizeof(router->keys_sent));
	}
	if (router->pointer == target) {
		router->pointer = NULL;
		memset(&router->buttons_sent, 0, sizeof(router->buttons_sent));
	}
	/* Its touch points stay followed, going nowhere, until they go up. */
	for (size_t i = 0; i < ROUTER_TOUCH_MAX; i++) {
		if (router->touches[i].target == target) {
			router->touches[i].target = NULL;
			router->touches[i].framed = false;
		}
	}
}
