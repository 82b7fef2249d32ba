// SPDX-License-Identifier: MIT
/*
 * Linux evdev key codes to QEMU's key numbers, from the PC/XT scancode
 * set 1. The main block of the keyboard, KEY_ESC (1) to KEY_KPDOT (83), has
 * the evdev code of its scancode; the table holds the rest: the keys of
 * the AT-101 and later keyboards behind the 0xe0 prefix (folded into bit 7),
 * the Windows keys, the international keys and the multimedia keys that set
 * 1 defines. Where two evdev keys share a scancode one is left out, so no
 * two keys of the table give the same number.
 */
#include <linux/input-event-codes.h>

#include "qemu/keymap.h"

/* 0xe0 xx */
#define EXT(code) (0x80 | (code))

static const uint8_t keymap[] = {
	[KEY_ZENKAKUHANKAKU] = 0x76,
	[KEY_102ND] = 0x56,
	[KEY_F11] = 0x57,
	[KEY_F12] = 0x58,
	[KEY_RO] = 0x73,
	[KEY_KATAKANA] = 0x78,
	[KEY_HIRAGANA] = 0x77,
	[KEY_HENKAN] = 0x79,
	[KEY_KATAKANAHIRAGANA] = 0x70,
	[KEY_MUHENKAN] = 0x7b,
	[KEY_KPJPCOMMA] = 0x5c,
	[KEY_KPENTER] = EXT(0x1c),
	[KEY_RIGHTCTRL] = EXT(0x1d),
	[KEY_KPSLASH] = EXT(0x35),
	/* Alt + Print Screen; QEMU turns it into Print Screen */
	[KEY_SYSRQ] = 0x54,
	[KEY_RIGHTALT] = EXT(0x38),
	[KEY_HOME] = EXT(0x47),
	[KEY_UP] = EXT(0x48),
	[KEY_PAGEUP] = EXT(0x49),
	[KEY_LEFT] = EXT(0x4b),
	[KEY_RIGHT] = EXT(0x4d),
	[KEY_END] = EXT(0x4f),
	[KEY_DOWN] = EXT(0x50),
	[KEY_PAGEDOWN] = EXT(0x51),
	[KEY_INSERT] = EXT(0x52),
	[KEY_DELETE] = EXT(0x53),
	[KEY_MUTE] = EXT(0x20),
	[KEY_VOLUMEDOWN] = EXT(0x2e),
	[KEY_VOLUMEUP] = EXT(0x30),
	[KEY_POWER] = EXT(0x5e),
	[KEY_KPEQUAL] = 0x59,
	/* Pause sends e1 1d 45; QEMU numbers it as Ctrl + Break, e0 46 */
	[KEY_PAUSE] = EXT(0x46),
	[KEY_KPCOMMA] = 0x7e,
	[KEY_HANGEUL] = 0xf2,
	[KEY_HANJA] = 0xf1,
	[KEY_YEN] = 0x7d,
	[KEY_LEFTMETA] = EXT(0x5b),
	[KEY_RIGHTMETA] = EXT(0x5c),
	[KEY_COMPOSE] = EXT(0x5d),
	/* WWW Stop */
	[KEY_STOP] = EXT(0x68),
	[KEY_CALC] = EXT(0x21),
	[KEY_SLEEP] = EXT(0x5f),
	[KEY_WAKEUP] = EXT(0x63),
	[KEY_MAIL] = EXT(0x6c),
	/* WWW Favorites */
	[KEY_BOOKMARKS] = EXT(0x66),
	/* My Computer */
	[KEY_COMPUTER] = EXT(0x6b),
	[KEY_BACK] = EXT(0x6a),
	[KEY_FORWARD] = EXT(0x69),
	[KEY_NEXTSONG] = EXT(0x19),
	[KEY_PLAYPAUSE] = EXT(0x22),
	[KEY_PREVIOUSSONG] = EXT(0x10),
	[KEY_STOPCD] = EXT(0x24),
	[KEY_HOMEPAGE] = EXT(0x32),
	[KEY_REFRESH] = EXT(0x67),
	[KEY_F13] = 0x64,
	[KEY_F14] = 0x65,
	[KEY_F15] = 0x66,
	[KEY_F16] = 0x67,
	[KEY_F17] = 0x68,
	[KEY_F18] = 0x69,
	[KEY_F19] = 0x6a,
	[KEY_F20] = 0x6b,
	[KEY_F21] = 0x6c,
	[KEY_F22] = 0x6d,
	[KEY_F23] = 0x6e,
	/* F24 is 0x76 as well, taken by Zenkaku/Hankaku */
	[KEY_PRINT] = EXT(0x37),
	[KEY_SEARCH] = EXT(0x65),
	/* Media Select */
	[KEY_MEDIA] = EXT(0x6d),
};

uint32_t qemu_keymap_from_evdev(uint32_t key)
{
	if (key >= KEY_ESC && key <= KEY_KPDOT)
		return key;
	if (key < sizeof(keymap) / sizeof(keymap[0]))
		return keymap[key];
	return 0;
}
