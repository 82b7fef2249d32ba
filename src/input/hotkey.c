// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "input/hotkey.h"

struct key_name {
	const char *name;
	uint32_t code;
};

#define KEY(name)                 \
	{                         \
#name, KEY_##name \
	}

/* Names as in linux/input-event-codes.h; the first of a code is canonical. */
static const struct key_name key_names[] = {
	KEY(ESC),
	KEY(1),
	KEY(2),
	KEY(3),
	KEY(4),
	KEY(5),
	KEY(6),
	KEY(7),
	KEY(8),
	KEY(9),
	KEY(0),
	KEY(MINUS),
	KEY(EQUAL),
	KEY(BACKSPACE),
	KEY(TAB),
	KEY(Q),
	KEY(W),
	KEY(E),
	KEY(R),
	KEY(T),
	KEY(Y),
	KEY(U),
	KEY(I),
	KEY(O),
	KEY(P),
	KEY(LEFTBRACE),
	KEY(RIGHTBRACE),
	KEY(ENTER),
	KEY(A),
	KEY(S),
	KEY(D),
	KEY(F),
	KEY(G),
	KEY(H),
	KEY(J),
	KEY(K),
	KEY(L),
	KEY(SEMICOLON),
	KEY(APOSTROPHE),
	KEY(GRAVE),
	KEY(BACKSLASH),
	KEY(Z),
	KEY(X),
	KEY(C),
	KEY(V),
	KEY(B),
	KEY(N),
	KEY(M),
	KEY(COMMA),
	KEY(DOT),
	KEY(SLASH),
	KEY(KPASTERISK),
	KEY(SPACE),
	KEY(CAPSLOCK),
	KEY(F1),
	KEY(F2),
	KEY(F3),
	KEY(F4),
	KEY(F5),
	KEY(F6),
	KEY(F7),
	KEY(F8),
	KEY(F9),
	KEY(F10),
	KEY(NUMLOCK),
	KEY(SCROLLLOCK),
	KEY(KP7),
	KEY(KP8),
	KEY(KP9),
	KEY(KPMINUS),
	KEY(KP4),
	KEY(KP5),
	KEY(KP6),
	KEY(KPPLUS),
	KEY(KP1),
	KEY(KP2),
	KEY(KP3),
	KEY(KP0),
	KEY(KPDOT),
	KEY(102ND),
	KEY(F11),
	KEY(F12),
	KEY(KPENTER),
	KEY(KPSLASH),
	KEY(SYSRQ),
	KEY(HOME),
	KEY(UP),
	KEY(PAGEUP),
	KEY(LEFT),
	KEY(RIGHT),
	KEY(END),
	KEY(DOWN),
	KEY(PAGEDOWN),
	KEY(INSERT),
	KEY(DELETE),
	KEY(MUTE),
	KEY(VOLUMEDOWN),
	KEY(VOLUMEUP),
	KEY(POWER),
	KEY(KPEQUAL),
	KEY(PAUSE),
	KEY(KPCOMMA),
	KEY(COMPOSE),
	KEY(F13),
	KEY(F14),
	KEY(F15),
	KEY(F16),
	KEY(F17),
	KEY(F18),
	KEY(F19),
	KEY(F20),
	KEY(F21),
	KEY(F22),
	KEY(F23),
	KEY(F24),
	KEY(PLAYPAUSE),
	KEY(NEXTSONG),
	KEY(PREVIOUSSONG),
	KEY(STOPCD),
	KEY(PRINT),
	KEY(SLEEP),
	KEY(WAKEUP),
	KEY(HELP),
	KEY(MENU),
	/* Aliases. */
	{"ESCAPE", KEY_ESC},
	{"RETURN", KEY_ENTER},
	{"DEL", KEY_DELETE},
	{"INS", KEY_INSERT},
	{"PGUP", KEY_PAGEUP},
	{"PGDN", KEY_PAGEDOWN},
	{"PRINTSCREEN", KEY_SYSRQ},
};

#undef KEY

struct modifier_name {
	const char *name;
	uint32_t bit;
};

/* The first of a bit is canonical; hotkey_format() writes them in this order. */
static const struct modifier_name modifier_names[] = {
	{"Shift", HOTKEY_MOD_SHIFT}, {"Ctrl", HOTKEY_MOD_CTRL},    {"Alt", HOTKEY_MOD_ALT},
	{"Super", HOTKEY_MOD_SUPER}, {"Control", HOTKEY_MOD_CTRL}, {"Logo", HOTKEY_MOD_SUPER},
	{"Meta", HOTKEY_MOD_SUPER},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void set_error(char *error, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t size, const char *fmt, ...)
{
	if (error == NULL || size == 0)
		return;
	va_list args;
	va_start(args, fmt);
	vsnprintf(error, size, fmt, args);
	va_end(args);
}

uint32_t hotkey_modifier_of_key(uint32_t key)
{
	switch (key) {
	case KEY_LEFTSHIFT:
	case KEY_RIGHTSHIFT:
		return HOTKEY_MOD_SHIFT;
	case KEY_LEFTCTRL:
	case KEY_RIGHTCTRL:
		return HOTKEY_MOD_CTRL;
	case KEY_LEFTALT:
	case KEY_RIGHTALT:
		return HOTKEY_MOD_ALT;
	case KEY_LEFTMETA:
	case KEY_RIGHTMETA:
		return HOTKEY_MOD_SUPER;
	default:
		return 0;
	}
}

const char *hotkey_key_name(uint32_t key)
{
	for (size_t i = 0; i < ARRAY_LEN(key_names); i++) {
		if (key_names[i].code == key)
			return key_names[i].name;
	}
	return NULL;
}

static bool find_modifier(const char *name, uint32_t *bit)
{
	for (size_t i = 0; i < ARRAY_LEN(modifier_names); i++) {
		if (strcasecmp(name, modifier_names[i].name) == 0) {
			*bit = modifier_names[i].bit;
			return true;
		}
	}
	return false;
}

static bool find_key(const char *name, uint32_t *code)
{
	for (size_t i = 0; i < ARRAY_LEN(key_names); i++) {
		if (strcasecmp(name, key_names[i].name) == 0) {
			*code = key_names[i].code;
			return true;
		}
	}
	return false;
}

/* Modifier key names that are keys in input-event-codes.h but not hotkey keys. */
static bool is_modifier_key_name(const char *name)
{
	static const char *const names[] = {"LEFTSHIFT", "RIGHTSHIFT", "LEFTCTRL", "RIGHTCTRL",
					    "LEFTALT",   "RIGHTALT",   "LEFTMETA", "RIGHTMETA"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (strcasecmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

#define KEY_HINT \
	"key names as in linux/input-event-codes.h without KEY_, e.g. Right, F1, A, Escape, Space"

int hotkey_parse(const char *text, struct hotkey *hotkey, char *error, size_t error_size)
{
	char copy[128];
	if (strlen(text) >= sizeof(copy)) {
		set_error(error, error_size, "is too long");
		return -EINVAL;
	}
	strcpy(copy, text);
	const char *start = copy;
	while (isspace((unsigned char)*start))
		start++;
	size_t span = strlen(start);
	while (span > 0 && isspace((unsigned char)start[span - 1]))
		span--;
	if (span == 4 && strncasecmp(start, "none", 4) == 0) {
		*hotkey = (struct hotkey){0};
		return 0;
	}

	uint32_t modifiers = 0, key = 0;
	bool have_key = false;
	char *part = copy;
	for (;;) {
		char *plus = strchr(part, '+');
		if (plus != NULL)
			*plus = '\0';
		while (isspace((unsigned char)*part))
			part++;
		size_t len = strlen(part);
		while (len > 0 && isspace((unsigned char)part[len - 1]))
			part[--len] = '\0';

		if (len == 0) {
			set_error(error, error_size,
				  "has an empty part (expected modifiers and a key joined by '+', "
				  "e.g. Ctrl+Alt+Right)");
			return -EINVAL;
		}
		if (have_key) {
			set_error(error, error_size,
				  "has more than one key: only modifiers (Shift, Ctrl, Alt, Super) "
				  "may come before the key");
			return -EINVAL;
		}
		uint32_t bit;
		if (find_modifier(part, &bit)) {
			if (modifiers & bit) {
				set_error(error, error_size, "names modifier '%s' twice", part);
				return -EINVAL;
			}
			modifiers |= bit;
		} else if (find_key(part, &key)) {
			have_key = true;
		} else if (is_modifier_key_name(part)) {
			set_error(
				error, error_size,
				"uses '%s' as a key: modifiers are written Shift, Ctrl, Alt, Super "
				"and a key must follow them",
				part);
			return -EINVAL;
		} else {
			set_error(error, error_size, "has unknown key '%s' (" KEY_HINT ")", part);
			return -EINVAL;
		}
		if (plus == NULL)
			break;
		part = plus + 1;
	}
	if (!have_key) {
		set_error(error, error_size,
			  "has no key after the modifiers (e.g. Ctrl+Alt+Right)");
		return -EINVAL;
	}
	hotkey->modifiers = modifiers;
	hotkey->key = key;
	return 0;
}

int hotkey_format(const struct hotkey *hotkey, char *buf, size_t size)
{
	size_t len = 0;
	int n;
	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (hotkey->key == 0) {
		n = snprintf(buf, size, "none");
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!(hotkey->modifiers & modifier_names[i].bit))
			continue;
		n = snprintf(buf + len, size - len, "%s+", modifier_names[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return -ENAMETOOLONG;
		len += (size_t)n;
	}
	const char *name = hotkey_key_name(hotkey->key);
	char upper_rest[32];
	if (name == NULL) {
		snprintf(upper_rest, sizeof(upper_rest), "key%u", (unsigned)hotkey->key);
	} else {
		/* "RIGHT" is written "Right", "PAGEUP" "Pageup", "F1" "F1". */
		size_t i = 0;
		for (; name[i] != '\0' && i + 1 < sizeof(upper_rest); i++)
			upper_rest[i] = (char)(i == 0 ? name[i] : tolower((unsigned char)name[i]));
		upper_rest[i] = '\0';
	}
	n = snprintf(buf + len, size - len, "%s", upper_rest);
	if (n < 0 || (size_t)n >= size - len)
		return -ENAMETOOLONG;
	return 0;
}

bool hotkey_match(const struct hotkey *hotkey, uint32_t key, uint32_t modifiers)
{
	return hotkey->key != 0 && key == hotkey->key && modifiers == hotkey->modifiers;
}
