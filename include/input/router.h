/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_ROUTER_H
#define VSCANOUT_INPUT_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/axis.h"
#include "input/hotkey.h"

/*
 * Which guest receives the host's input: keyboard focus, pointer focus,
 * touch capture and hotkeys, independent of libinput and of the protocol.
 *
 * Targets are the caller's (a vGPU with a client); the router calls them
 * through struct input_target_impl and never owns them. The caller turns
 * device events into router calls with the target under the pointer (or
 * touch) and coordinates in that target's guest framebuffer (see
 * input/layout.h).
 *
 * Guarantees:
 * - A target gets key events only between keyboard_enter and
 *   keyboard_leave, pointer events only between pointer_enter and
 *   pointer_leave, and touch events only for touch points that went down
 *   on it.
 * - keyboard_enter lists the keys held on the host (those of a hotkey
 *   excepted); keyboard_leave lists the keys the target saw pressed and
 *   not released (entered with, or forwarded since), which it should
 *   release. pointer_leave does the same for buttons. Nothing stays stuck.
 * - Keys and buttons are counted over all devices of the seat: a press is
 *   forwarded when the first device presses, a release when the last one
 *   releases.
 * - A hotkey is matched when its key goes down with exactly its modifiers
 *   held; its press and release are consumed (the modifiers are not) and
 *   the caller's hotkey callback is called with the binding's action.
 *
 * Focus modes:
 * - ROUTER_FOCUS_POINTER: the keyboard focus follows the pointer onto
 *   every target it enters; over an output without a target it stays.
 * - ROUTER_FOCUS_CLICK: a button press or a touch down moves the keyboard
 *   focus to the target under it (if any).
 * router_set_keyboard_focus() moves it explicitly in both modes.
 */

struct input_target;

/*
 * What a target does with input; every callback but relative_motion must be set. Times are
 * the device's, in microseconds. Coordinates are guest framebuffer pixels.
 * Callbacks must not call back into the router.
 */
struct input_target_impl {
	void (*keyboard_enter)(struct input_target *target, const uint32_t *keys, size_t n_keys);
	void (*keyboard_leave)(struct input_target *target, const uint32_t *keys, size_t n_keys);
	void (*key)(struct input_target *target, uint64_t time_usec, uint32_t key, bool pressed);
	void (*pointer_enter)(struct input_target *target, double x, double y);
	void (*pointer_leave)(struct input_target *target, const uint32_t *buttons,
			      size_t n_buttons);
	void (*motion)(struct input_target *target, uint64_t time_usec, double x, double y);
	void (*button)(struct input_target *target, uint64_t time_usec, uint32_t button,
		       bool pressed);
	/* value: as libinput's scroll value; value120: wheel clicks × 120, 0 if not a wheel */
	void (*scroll)(struct input_target *target, uint64_t time_usec, enum input_scroll_axis axis,
		       double value, int32_t value120);
	void (*touch_down)(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			   double y);
	void (*touch_motion)(struct input_target *target, uint64_t time_usec, int32_t id, double x,
			     double y);
	void (*touch_up)(struct input_target *target, uint64_t time_usec, int32_t id);
	/* the end of a set of touch events; sent to each target that got one */
	void (*touch_frame)(struct input_target *target);
	/* every touch point of the target is gone, without touch_up */
	void (*touch_cancel)(struct input_target *target);
	/*
	 * Optional, never called by the router: the unaccelerated motion of
	 * the mouse while the target has the pointer focus (its caller sends it).
	 */
	void (*relative_motion)(struct input_target *target, uint64_t time_usec, double dx,
				double dy);
};

/* Embed in the caller's object; find it back with wl_container_of(). */
struct input_target {
	const struct input_target_impl *impl;
};

enum router_focus {
	ROUTER_FOCUS_POINTER = 0, /* the default */
	ROUTER_FOCUS_CLICK,
};

/* Most touch points followed at once; more are ignored until some go up. */
#define ROUTER_TOUCH_MAX 32
/* Most hotkeys bound at once. */
#define ROUTER_HOTKEY_MAX 16

/* Called when a hotkey is pressed, with the action it was bound with. */
typedef void (*router_hotkey_func)(void *data, int action);

struct router;

/* A router with no focus. `hotkey` may be NULL. Returns NULL without memory. */
struct router *router_create(enum router_focus focus, router_hotkey_func hotkey, void *data);

/* Free the router without calling any target; NULL is a no-op. */
void router_destroy(struct router *router);

/*
 * Consume `hotkey` and report `action` when it is pressed. Returns 0,
 * -EEXIST when the combination is bound already, -ENOSPC beyond
 * ROUTER_HOTKEY_MAX.
 */
int router_bind_hotkey(struct router *router, const struct hotkey *hotkey, int action);

/* A key (evdev code below KEY_CNT) went down or up on a device of the seat. */
void router_key(struct router *router, uint64_t time_usec, uint32_t key, bool pressed);

/* The modifiers (enum hotkey_modifier) held on the host. */
uint32_t router_modifiers(const struct router *router);

/*
 * The pointer is now over `under` (may be NULL: no target there) at x,y of
 * its guest framebuffer. Moves the pointer focus (pointer_leave and
 * pointer_enter) when `under` changed, then sends motion. Also used after
 * a warp or when the target under a still pointer changed.
 */
void router_pointer_motion(struct router *router, uint64_t time_usec, struct input_target *under,
			   double x, double y);

/* A button (BTN_* below KEY_CNT) went down or up. */
void router_pointer_button(struct router *router, uint64_t time_usec, uint32_t button,
			   bool pressed);

void router_pointer_scroll(struct router *router, uint64_t time_usec, enum input_scroll_axis axis,
			   double value, int32_t value120);

/*
 * Touch point `id` (libinput's seat slot) went down on `under` (may be
 * NULL) at x,y of its guest framebuffer. The point belongs to that target
 * until it goes up, wherever it moves.
 */
void router_touch_down(struct router *router, uint64_t time_usec, struct input_target *under,
		       int32_t id, double x, double y);

/* The target touch point `id` belongs to, or NULL. */
struct input_target *router_touch_target(const struct router *router, int32_t id);

void router_touch_motion(struct router *router, uint64_t time_usec, int32_t id, double x, double y);
void router_touch_up(struct router *router, uint64_t time_usec, int32_t id);

/* Sends touch_frame to each target that got touch events since the last frame. */
void router_touch_frame(struct router *router);

/* Every touch point is gone: touch_cancel to each target holding some. */
void router_touch_cancel(struct router *router);

/*
 * Move the keyboard focus to `target` (may be NULL): keyboard_leave to the
 * old one, keyboard_enter to the new one. Nothing when it is the same.
 */
void router_set_keyboard_focus(struct router *router, struct input_target *target);

struct input_target *router_keyboard_focus(const struct router *router);
struct input_target *router_pointer_focus(const struct router *router);

/*
 * Forget `target`, which is going away: it loses every focus and touch
 * point without being called. The pointer focus is then NULL until the
 * next router_pointer_motion().
 */
void router_remove_target(struct router *router, struct input_target *target);

#endif
