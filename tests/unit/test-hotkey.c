// SPDX-License-Identifier: MIT
#include <libevdev/libevdev.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <string.h>

#include "input/hotkey.h"
#include "test.h"

static void test_valid(void)
{
	static const struct {
		const char *text;
		uint32_t modifiers;
		uint32_t key;
		const char *canonical;
	} cases[] = {
		{"Ctrl+Alt+Right", HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, KEY_RIGHT, "Ctrl+Alt+Right"},
		{"Super+F1", HOTKEY_MOD_SUPER, KEY_F1, "Super+F1"},
		{"Ctrl+Shift+Alt+Escape", HOTKEY_MOD_CTRL | HOTKEY_MOD_SHIFT | HOTKEY_MOD_ALT,
		 KEY_ESC, "Shift+Ctrl+Alt+Esc"},
		{"ctrl+alt+LEFT", HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, KEY_LEFT, "Ctrl+Alt+Left"},
		{" Control + Logo + a ", HOTKEY_MOD_CTRL | HOTKEY_MOD_SUPER, KEY_A, "Ctrl+Super+A"},
		{"Meta+Space", HOTKEY_MOD_SUPER, KEY_SPACE, "Super+Space"},
		{"F12", 0, KEY_F12, "F12"},
		{"Alt+1", HOTKEY_MOD_ALT, KEY_1, "Alt+1"},
		{"Shift+PgUp", HOTKEY_MOD_SHIFT, KEY_PAGEUP, "Shift+Pageup"},
		{"Ctrl+Alt+KP5", HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, KEY_KP5, "Ctrl+Alt+Kp5"},
		{"Alt+SysRq", HOTKEY_MOD_ALT, KEY_SYSRQ, "Alt+Sysrq"},
		{"Ctrl+Return", HOTKEY_MOD_CTRL, KEY_ENTER, "Ctrl+Enter"},
		/* Any name of linux/input-event-codes.h libevdev knows. */
		{"Super+Calc", HOTKEY_MOD_SUPER, KEY_CALC, "Super+Calc"},
		{"alt+brightness_auto", HOTKEY_MOD_ALT, KEY_BRIGHTNESS_AUTO, "Alt+Brightness_auto"},
		{"Ctrl+VolumeUp", HOTKEY_MOD_CTRL, KEY_VOLUMEUP, "Ctrl+Volumeup"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hotkey hk = {0, 0};
		char error[256] = "";
		check_int_eq(hotkey_parse(cases[i].text, &hk, error, sizeof(error)), 0);
		check_str_eq(error, "");
		check_int_eq(hk.modifiers, cases[i].modifiers);
		check_int_eq(hk.key, cases[i].key);
		char text[64];
		check_int_eq(hotkey_format(&hk, text, sizeof(text)), 0);
		check_str_eq(text, cases[i].canonical);
		/* The canonical text reads back the same. */
		struct hotkey again;
		check_int_eq(hotkey_parse(text, &again, NULL, 0), 0);
		check_int_eq(again.modifiers, hk.modifiers);
		check_int_eq(again.key, hk.key);
	}
	struct hotkey hk = {HOTKEY_MOD_CTRL, KEY_A};
	char small[7];
	check_int_eq(hotkey_format(&hk, small, sizeof(small)), 0);
	check_str_eq(small, "Ctrl+A");
	check_int_eq(hotkey_format(&hk, small, 6), -ENAMETOOLONG);
}

static void test_invalid(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"", "has an empty part"},
		{"Ctrl++Right", "has an empty part"},
		{"Ctrl+Alt+", "has an empty part"},
		{"Ctrl+Alt+Rigth", "has unknown key 'Rigth' (key names as in "
				   "linux/input-event-codes.h without KEY_, e.g. Right, F1"},
		{"Ctrl+Alt", "has no key after the modifiers"},
		{"Right+Ctrl", "has more than one key"},
		{"A+B", "has more than one key"},
		{"Ctrl+Ctrl+A", "names modifier 'Ctrl' twice"},
		{"Ctrl+Control+A", "names modifier 'Control' twice"},
		{"Ctrl+LeftAlt", "uses 'LeftAlt' as a key"},
		{"Hyper+A", "has unknown key 'Hyper'"},
		{"KEY_A", "has unknown key 'KEY_A'"},
		{"Ctrl+Alt+Right Left", "has unknown key 'Right Left'"},
		/* KEY_RESERVED and KEY_MAX are no keys, BTN_ codes no key names. */
		{"Reserved", "has unknown key 'Reserved'"},
		{"Ctrl+Max", "has unknown key 'Max'"},
		{"Btn_Left", "has unknown key 'Btn_Left'"},
		{"Ctrl+RightMeta", "uses 'RightMeta' as a key"},

	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hotkey hk = {HOTKEY_MOD_SHIFT, KEY_Z};
		char error[256] = "";
		check_int_eq(hotkey_parse(cases[i].text, &hk, error, sizeof(error)), -EINVAL);
		check_contains(error, cases[i].message);
		/* Untouched on failure. */
		check_int_eq(hk.modifiers, HOTKEY_MOD_SHIFT);
		check_int_eq(hk.key, KEY_Z);
	}
	/* Too long to be a key combination. */
	char text[200];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	char error[64] = "";
	struct hotkey untouched = {0, 0};
	check_int_eq(hotkey_parse(text, &untouched, error, sizeof(error)), -EINVAL);
	check_str_eq(error, "is too long");
	check_int_eq(untouched.key, 0);

	/* No error buffer is fine. */
	struct hotkey hk;
	check_int_eq(hotkey_parse("Nope", &hk, NULL, 0), -EINVAL);
}

static void test_match(void)
{
	struct hotkey hk;
	check_int_eq(hotkey_parse("Ctrl+Alt+Right", &hk, NULL, 0), 0);
	check(hotkey_match(&hk, KEY_RIGHT, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT));
	check(!hotkey_match(&hk, KEY_LEFT, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT));
	check(!hotkey_match(&hk, KEY_RIGHT, HOTKEY_MOD_CTRL));
	check(!hotkey_match(&hk, KEY_RIGHT, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT | HOTKEY_MOD_SHIFT));

	/* Left and right modifier keys are the same modifier. */
	check_int_eq(hotkey_modifier_of_key(KEY_LEFTCTRL), HOTKEY_MOD_CTRL);
	check_int_eq(hotkey_modifier_of_key(KEY_RIGHTCTRL), HOTKEY_MOD_CTRL);
	check_int_eq(hotkey_modifier_of_key(KEY_LEFTALT), HOTKEY_MOD_ALT);
	check_int_eq(hotkey_modifier_of_key(KEY_RIGHTALT), HOTKEY_MOD_ALT);
	check_int_eq(hotkey_modifier_of_key(KEY_LEFTSHIFT), HOTKEY_MOD_SHIFT);
	check_int_eq(hotkey_modifier_of_key(KEY_RIGHTSHIFT), HOTKEY_MOD_SHIFT);
	check_int_eq(hotkey_modifier_of_key(KEY_LEFTMETA), HOTKEY_MOD_SUPER);
	check_int_eq(hotkey_modifier_of_key(KEY_RIGHTMETA), HOTKEY_MOD_SUPER);
	check_int_eq(hotkey_modifier_of_key(KEY_A), 0);

	check_str_eq(hotkey_key_name(KEY_ESC), "ESC");
	check(hotkey_key_name(KEY_LEFTCTRL) == NULL);
}

static void test_none(void)
{
	struct hotkey hk = {HOTKEY_MOD_CTRL, KEY_A};
	check_int_eq(hotkey_parse("none", &hk, NULL, 0), 0);
	check_int_eq(hk.key, 0);
	check_int_eq(hk.modifiers, 0);
	hk.key = KEY_A;
	check_int_eq(hotkey_parse(" NONE ", &hk, NULL, 0), 0);
	check_int_eq(hk.key, 0);
	char text[16];
	check_int_eq(hotkey_format(&hk, text, sizeof(text)), 0);
	check_str_eq(text, "none");
	/* Nothing matches no key, not even key 0 without modifiers. */
	check(!hotkey_match(&hk, 0, 0));
	check(!hotkey_match(&hk, KEY_A, 0));
	check_int_eq(hotkey_parse("Ctrl+none", &hk, NULL, 0), -EINVAL);
}

/* Every key libevdev names reads back from its canonical text, modifiers excepted. */
static void test_every_name(void)
{
	unsigned int keys = 0;
	for (uint32_t code = 1; code < KEY_MAX; code++) {
		const char *name = libevdev_event_code_get_name(EV_KEY, code);
		if (name == NULL || strncmp(name, "KEY_", 4) != 0)
			continue;
		struct hotkey hk = {HOTKEY_MOD_SHIFT, code};
		char text[64], error[256] = "";
		if (hotkey_modifier_of_key(code) != 0) {
			check(hotkey_key_name(code) == NULL);
			check_int_eq(hotkey_parse(name + 4, &hk, error, sizeof(error)), -EINVAL);
			check_contains(error, "as a key");
			continue;
		}
		check_str_eq(hotkey_key_name(code), name + 4);
		check_int_eq(hotkey_format(&hk, text, sizeof(text)), 0);
		struct hotkey again = {0, 0};
		check_int_eq(hotkey_parse(text, &again, error, sizeof(error)), 0);
		check_int_eq(again.key, code);
		check_int_eq(again.modifiers, HOTKEY_MOD_SHIFT);
		keys++;
	}
	/* input-event-codes.h has some 500 key names. */
	check(keys > 400);
	printf("%u key names read back\n", keys);
}

int main(void)
{
	test_every_name();
	test_none();
	test_valid();
	test_invalid();
	test_match();
	return 0;
}
