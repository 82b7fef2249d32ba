// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <libevdev/libevdev.h>
#include <linux/input-event-codes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "input/hotkey.h"

/*
 * Names besides those of linux/input-event-codes.h (libevdev's): aliases
 * people write. They are read, never written.
 */
static const struct {
	const char *name;
	uint32_t code;
} key_aliases[] = {
	{"ESCAPE", KEY_ESC},        {"RETURN", KEY_ENTER}, {"DEL", KEY_DELETE},
	{"INS", KEY_INSERT},        {"PGUP", KEY_PAGEUP},  {"PGDN", KEY_PAGEDOWN},
	{"PRINTSCREEN", KEY_SYSRQ},
};

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
	if (key == 0 || key >= KEY_MAX || hotkey_modifier_of_key(key) != 0)
		return NULL;
	const char *name = libevdev_event_code_get_name(EV_KEY, key);
	if (name == NULL || strncmp(name, "KEY_", 4) != 0)
		return NULL;
	return name + 4;
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

/*
 * The key code of name: an alias, or the name of linux/input-event-codes.h
 * without KEY_, in any case, looked up by libevdev. Modifier keys are found
 * too (the caller refuses them); KEY_RESERVED and KEY_MAX are not keys.
 */
static bool find_key(const char *name, uint32_t *code)
{
	for (size_t i = 0; i < ARRAY_LEN(key_aliases); i++) {
		if (strcasecmp(name, key_aliases[i].name) == 0) {
			*code = key_aliases[i].code;
			return true;
		}
	}
	char full[64] = "KEY_";
	size_t len = strlen(name);
	if (len >= sizeof(full) - 4)
		return false;
	for (size_t i = 0; i <= len; i++)
		full[4 + i] = (char)toupper((unsigned char)name[i]);
	int found = libevdev_event_code_from_name(EV_KEY, full);
	if (found <= 0 || found >= KEY_MAX)
		return false;
	*code = (uint32_t)found;
	return true;
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
		} else if (find_key(part, &key) && hotkey_modifier_of_key(key) != 0) {
			set_error(
				error, error_size,
				"uses '%s' as a key: modifiers are written Shift, Ctrl, Alt, Super "
				"and a key must follow them",
				part);
			return -EINVAL;
		} else if (key != 0) {
			have_key = true;
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
