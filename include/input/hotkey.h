/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_HOTKEY_H
#define VSCANOUT_INPUT_HOTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Key combinations the daemon keeps for itself, such as "Ctrl+Alt+Right":
 * modifiers, then exactly one key, joined by '+' (blanks around the parts
 * are allowed).
 *
 * Modifiers, case-insensitive: Shift, Ctrl (or Control), Alt, Super (or
 * Logo, Meta). The left and right keys of a modifier both count: AltGr
 * (KEY_RIGHTALT) is Alt.
 *
 * Keys: the names of linux/input-event-codes.h without KEY_,
 * case-insensitive ("Right", "F1", "A", "1", "Esc", "Space", "PageUp",
 * "KP5", "SysRq", "VolumeUp"...), as libevdev knows them
 * (libevdev_event_code_from_name() of "KEY_" and the name in capitals),
 * plus the aliases Escape, Return, Del, Ins, PgUp, PgDn and PrintScreen.
 * A modifier key cannot be the key; KEY_RESERVED and KEY_MAX are none.
 *
 * "none" (case-insensitive) is no key combination at all: key 0, which
 * never matches.
 */

/* Modifiers, as bits. */
enum hotkey_modifier {
	HOTKEY_MOD_SHIFT = 1u << 0,
	HOTKEY_MOD_CTRL = 1u << 1,
	HOTKEY_MOD_ALT = 1u << 2,
	HOTKEY_MOD_SUPER = 1u << 3,
};

struct hotkey {
	uint32_t modifiers; /* enum hotkey_modifier bits */
	uint32_t key;       /* evdev key code, KEY_* */
};

/*
 * Parse `text` into `hotkey`. Returns 0, or -EINVAL with `hotkey` untouched
 * and a message naming the problem written to `error` (may be NULL when
 * error_size is 0), e.g. "unknown key 'Rigth' (...)".
 */
int hotkey_parse(const char *text, struct hotkey *hotkey, char *error, size_t error_size);

/*
 * Write the canonical text of `hotkey` ("Ctrl+Alt+Right": Shift, Ctrl, Alt,
 * Super in that order, then the key's name; "none" for key 0) into buf. Returns 0, or
 * -ENAMETOOLONG when it does not fit (buf then holds a truncated string).
 */
int hotkey_format(const struct hotkey *hotkey, char *buf, size_t size);

/*
 * The name of the evdev key code `key` as hotkey_parse() reads it
 * (libevdev's name without KEY_, static), or NULL for a modifier key, a
 * code without a KEY_ name, 0 and KEY_MAX and above.
 */
const char *hotkey_key_name(uint32_t key);

/* The modifier bit the evdev key `key` is (KEY_LEFTCTRL: HOTKEY_MOD_CTRL), or 0. */
uint32_t hotkey_modifier_of_key(uint32_t key);

/*
 * Whether pressing `key` while exactly the modifiers `modifiers` are held
 * (as built from hotkey_modifier_of_key() of the held keys, not counting
 * `key` itself) triggers `hotkey`. Extra modifiers prevent a match:
 * Ctrl+Shift+Alt+Right is not Ctrl+Alt+Right.
 */
bool hotkey_match(const struct hotkey *hotkey, uint32_t key, uint32_t modifiers);

#endif
