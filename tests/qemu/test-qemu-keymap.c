// SPDX-License-Identifier: MIT
/*
 * Evdev key codes to QEMU's key numbers: the main block keeps its codes,
 * the extended keys carry the 0xe0 prefix in bit 7, keys set 1 lacks give
 * 0, and no two keys give the same number (the guest could not tell them
 * apart).
 */
#include <assert.h>
#include <linux/input-event-codes.h>
#include <stdbool.h>
#include <stdio.h>

#include "qemu/keymap.h"

#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

static void test_spots(void)
{
	assert(qemu_keymap_from_evdev(KEY_RESERVED) == 0);
	assert(qemu_keymap_from_evdev(KEY_ESC) == 0x01);
	assert(qemu_keymap_from_evdev(KEY_A) == 0x1e);
	assert(qemu_keymap_from_evdev(KEY_LEFTSHIFT) == 0x2a);
	assert(qemu_keymap_from_evdev(KEY_KPDOT) == 0x53);
	assert(qemu_keymap_from_evdev(KEY_102ND) == 0x56);
	assert(qemu_keymap_from_evdev(KEY_F11) == 0x57);
	assert(qemu_keymap_from_evdev(KEY_F12) == 0x58);
	assert(qemu_keymap_from_evdev(KEY_KPENTER) == 0x9c);
	assert(qemu_keymap_from_evdev(KEY_RIGHTCTRL) == 0x9d);
	assert(qemu_keymap_from_evdev(KEY_KPSLASH) == 0xb5);
	assert(qemu_keymap_from_evdev(KEY_SYSRQ) == 0x54);
	assert(qemu_keymap_from_evdev(KEY_PRINT) == 0xb7);
	assert(qemu_keymap_from_evdev(KEY_RIGHTALT) == 0xb8);
	assert(qemu_keymap_from_evdev(KEY_HOME) == 0xc7);
	assert(qemu_keymap_from_evdev(KEY_UP) == 0xc8);
	assert(qemu_keymap_from_evdev(KEY_PAGEUP) == 0xc9);
	assert(qemu_keymap_from_evdev(KEY_LEFT) == 0xcb);
	assert(qemu_keymap_from_evdev(KEY_RIGHT) == 0xcd);
	assert(qemu_keymap_from_evdev(KEY_END) == 0xcf);
	assert(qemu_keymap_from_evdev(KEY_DOWN) == 0xd0);
	assert(qemu_keymap_from_evdev(KEY_PAGEDOWN) == 0xd1);
	assert(qemu_keymap_from_evdev(KEY_INSERT) == 0xd2);
	assert(qemu_keymap_from_evdev(KEY_DELETE) == 0xd3);
	assert(qemu_keymap_from_evdev(KEY_LEFTMETA) == 0xdb);
	assert(qemu_keymap_from_evdev(KEY_RIGHTMETA) == 0xdc);
	assert(qemu_keymap_from_evdev(KEY_COMPOSE) == 0xdd);
	assert(qemu_keymap_from_evdev(KEY_PAUSE) == 0xc6);
	assert(qemu_keymap_from_evdev(KEY_F13) == 0x64);
	assert(qemu_keymap_from_evdev(KEY_MUTE) == 0xa0);
	assert(qemu_keymap_from_evdev(KEY_VOLUMEUP) == 0xb0);
	/* No scancode in set 1, or beyond every key. */
	assert(qemu_keymap_from_evdev(KEY_MACRO) == 0);
	assert(qemu_keymap_from_evdev(KEY_F24) == 0);
	assert(qemu_keymap_from_evdev(BTN_LEFT) == 0);
	assert(qemu_keymap_from_evdev(KEY_MAX) == 0);
	assert(qemu_keymap_from_evdev(KEY_CNT) == 0);
	assert(qemu_keymap_from_evdev(UINT32_MAX) == 0);
}

static void test_unique(void)
{
	int owner[256];
	for (int i = 0; i < 256; i++)
		owner[i] = -1;
	unsigned int mapped = 0;
	for (uint32_t key = 0; key < KEY_CNT; key++) {
		uint32_t qnum = qemu_keymap_from_evdev(key);
		if (qnum == 0)
			continue;
		/* One byte: the prefix is folded into bit 7. */
		assert(qnum < 256);
		if (owner[qnum] != -1) {
			fprintf(stderr, "keys %d and %u both give 0x%02x\n", owner[qnum], key,
				qnum);
			assert(false);
		}
		owner[qnum] = (int)key;
		mapped++;
	}
	/* The main block and a good part of the rest. */
	assert(mapped >= 83 + 40);
}

int main(void)
{
	test_spots();
	test_unique();
	return 0;
}
