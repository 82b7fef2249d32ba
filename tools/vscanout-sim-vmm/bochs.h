/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SIM_VMM_BOCHS_H
#define VSCANOUT_SIM_VMM_BOCHS_H

#include <stdbool.h>
#include <stdint.h>

#include "draw.h"

struct mdev_device;

/*
 * The guest's display driver on a bochs-like mdev (mbochs): it programs the
 * bochs VBE ("dispi") registers, 16 bits each at 0x500 + 2 * index in BAR2,
 * and draws into VRAM (BAR0) through the VMM's mapping, as the guest would
 * through its own.
 *
 * The framebuffer is double-buffered by panning: the virtual screen is two
 * frames high (virt_height = 2 * height), the guest draws the next frame
 * into the half not shown and moves y_offset to it (0 or height). mbochs
 * exports each half as its own dma-buf, so the device's reader sees a new
 * plane at every pan. When two frames do not fit in VRAM the guest draws
 * into its only frame (front-buffer rendering).
 */
struct bochs_guest {
	struct mdev_device *dev; /* borrowed */
	uint32_t width, height, stride;
	struct draw_target frames[2];
	unsigned int n_frames; /* 1 or 2 */
	unsigned int shown;    /* index of the frame y_offset points at */
	uint64_t frame;        /* frames drawn */
	uint64_t pans;
};

/*
 * Map VRAM, check the VBE interface's id, paint the background of pattern
 * into every frame and set a width × height mode at 32 bits per pixel.
 * Returns 0, -ENODEV when BAR2 does not hold a bochs VBE interface,
 * -ENOSPC when one frame does not fit in VRAM, or another negative errno.
 */
int bochs_guest_init(struct bochs_guest *guest, struct mdev_device *dev, uint32_t width,
		     uint32_t height, uint32_t pattern);

/*
 * Draw the next frame of the animation (draw_frame()) into the frame not
 * shown and pan to it. Returns 0 or a negative errno.
 */
int bochs_guest_next_frame(struct bochs_guest *guest);

/* Switch the display off (VBE disabled), as a guest shutting down does. */
int bochs_guest_disable(struct bochs_guest *guest);

#endif
