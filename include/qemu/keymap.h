/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_KEYMAP_H
#define VSCANOUT_QEMU_KEYMAP_H

#include <stdint.h>

/*
 * QEMU's key numbers ("qnum"): the PC/XT scancode set 1 of the key, with
 * the 0xe0 prefix of extended keys folded into bit 7 (0xe0 0x48, the up
 * arrow, is 0xc8). org.qemu.Display1.Keyboard takes these.
 */

/* The QEMU key number of Linux evdev key code `key` (KEY_*), or 0 when it has none. */
uint32_t qemu_keymap_from_evdev(uint32_t key);

#endif
