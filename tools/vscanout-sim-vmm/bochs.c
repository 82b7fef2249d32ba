// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "bochs.h"
#include "mdev.h"

/* Where VBE register 0 sits in BAR2, and the registers used here. */
#define VBE_MMIO_BASE 0x500

enum vbe_index {
	VBE_ID = 0x0,
	VBE_XRES = 0x1,
	VBE_YRES = 0x2,
	VBE_BPP = 0x3,
	VBE_ENABLE = 0x4,
	VBE_BANK = 0x5,
	VBE_VIRT_WIDTH = 0x6,
	VBE_VIRT_HEIGHT = 0x7,
	VBE_X_OFFSET = 0x8,
	VBE_Y_OFFSET = 0x9,
};

#define VBE_ID0         0xb0c0 /* ids 0xb0c0..0xb0c5 */
#define VBE_ENABLED     0x01
#define VBE_LFB_ENABLED 0x40

static int vbe_write(struct bochs_guest *guest, enum vbe_index index, uint16_t value)
{
	return mdev_device_write16(guest->dev, VBE_MMIO_BASE + 2 * (uint64_t)index, value);
}

int bochs_guest_init(struct bochs_guest *guest, struct mdev_device *dev, uint32_t width,
		     uint32_t height, uint32_t pattern)
{
	uint16_t id = 0;
	int ret;

	memset(guest, 0, sizeof(*guest));
	guest->dev = dev;
	if (width == 0 || height == 0 || width > UINT16_MAX / 2 || height > UINT16_MAX / 2)
		return -EINVAL;
	ret = mdev_device_read16(dev, VBE_MMIO_BASE + 2 * VBE_ID, &id);
	if (ret < 0)
		return ret == -ERANGE ? -ENODEV : ret;
	if ((id & 0xfff0) != VBE_ID0)
		return -ENODEV;
	ret = mdev_device_map_bar0(dev);
	if (ret < 0)
		return ret;

	guest->width = width;
	guest->height = height;
	guest->stride = width * 4;
	size_t frame_size = (size_t)guest->stride * height;
	if (frame_size > dev->bar0_map_size)
		return -ENOSPC;
	guest->n_frames = 2 * frame_size <= dev->bar0_map_size ? 2 : 1;
	for (unsigned int i = 0; i < guest->n_frames; i++) {
		struct draw_target *t = &guest->frames[i];
		draw_target_init(t, dev->bar0_map + i * frame_size, width, height, guest->stride);
		draw_target_set_pattern(t, pattern);
		draw_background(t);
	}
	draw_frame(&guest->frames[0], 0);
	guest->frame = 1;

	/* The order of a bochs driver: off, format and geometry, then on. */
	const struct {
		enum vbe_index index;
		uint16_t value;
	} mode[] = {
		{VBE_ENABLE, 0},
		{VBE_BPP, 32},
		{VBE_XRES, (uint16_t)width},
		{VBE_YRES, (uint16_t)height},
		{VBE_BANK, 0},
		{VBE_VIRT_WIDTH, (uint16_t)width},
		{VBE_VIRT_HEIGHT, (uint16_t)(height * guest->n_frames)},
		{VBE_X_OFFSET, 0},
		{VBE_Y_OFFSET, 0},
		{VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED},
	};
	for (size_t i = 0; i < sizeof(mode) / sizeof(mode[0]); i++) {
		ret = vbe_write(guest, mode[i].index, mode[i].value);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int bochs_guest_next_frame(struct bochs_guest *guest)
{
	unsigned int next = (guest->shown + 1) % guest->n_frames;

	draw_frame(&guest->frames[next], guest->frame++);
	if (next == guest->shown)
		return 0;
	int ret = vbe_write(guest, VBE_Y_OFFSET, (uint16_t)(next * guest->height));
	if (ret < 0)
		return ret;
	guest->shown = next;
	guest->pans++;
	return 0;
}

int bochs_guest_disable(struct bochs_guest *guest)
{
	return vbe_write(guest, VBE_ENABLE, 0);
}
