// SPDX-License-Identifier: MIT
/*
 * The nested QEMU's guest (tests/qemu/guest.S) and the harness
 * (tests/qemu/nested.h), without the daemon: QEMU with its D-Bus display
 * and nobody attached starts, runs the guest, and its screendump is the
 * 640x400 picture of mode 13h, made of 32x64 blocks of one colour each
 * (bands of 16 pixels, rows of 32, each doubled). A key typed through
 * QMP moves every colour one band to the left: the block at bx,by then
 * has the colour block bx+1,by had. Killed, it is gone and its sockets
 * too. Skipped without qemu-system-x86_64.
 *
 * argv[1]: the floppy image.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmstest.h"
#include "nested.h"

#define BLOCK_W 32
#define BLOCK_H 64

/*
 * The colour of each block of a 640x400 screendump; false (with why in
 * `why`) when it is not that size or a block has several colours: the
 * guest is still painting it.
 */
static bool blocks(const struct kt_image *img, uint32_t *colours, size_t n, char *why,
		   size_t why_size)
{
	if (img->width != 640 || img->height != 400) {
		snprintf(why, why_size, "screendump %ux%u, not 640x400", img->width, img->height);
		return false;
	}
	uint32_t bw = img->width / BLOCK_W, bh = (img->height + BLOCK_H - 1) / BLOCK_H;
	kt_assert(n >= (size_t)bw * bh);
	for (uint32_t y = 0; y < img->height; y++) {
		for (uint32_t x = 0; x < img->width; x++) {
			uint32_t c = *kt_pixel(img, x, y) & 0xffffff;
			uint32_t *b = &colours[(y / BLOCK_H) * bw + x / BLOCK_W];
			if (x % BLOCK_W == 0 && y % BLOCK_H == 0)
				*b = c;
			if (*b != c) {
				snprintf(why, why_size, "pixel %u,%u is 0x%06x, its block's 0x%06x",
					 x, y, c, *b);
				return false;
			}
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s GUEST_IMAGE", argv[0]);
	/* A folder of this run's own: the asan build's run may be at the same time. */
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/vscanout-qemu-guest-test-%d", (int)getpid());
	mkdir(dir, 0700);
	struct nested_qemu q;
	nested_qemu_init(&q, "qemu-guest", dir, argv[1], "dbus,p2p=yes");
	nested_qemu_start(&q);
	kt_assert(nested_qemu_running(&q));

	/*
	 * The first screendumps may show the BIOS' text, a blank screen or
	 * the guest halfway through painting: take them until the guest's
	 * whole picture is up (640x400, one colour per block).
	 */
	struct kt_image before = {0}, after = {0};
	uint64_t end = kt_now_ns() + (uint64_t)NESTED_TIMEOUT_MS * 1000000u;
	enum { BW = 640 / BLOCK_W, BH = (400 + BLOCK_H - 1) / BLOCK_H };
	uint32_t a[BW * BH], b[BW * BH];
	char why[128];
	for (;;) {
		nested_qemu_screendump(&q, "qemu-guest-before", &before);
		if (blocks(&before, a, BW * BH, why, sizeof(why)) && a[0] != a[1])
			break;
		kt_assertf(kt_now_ns() < end, "the guest's picture never came: %s", why);
		kt_image_free(&before);
		/* Nothing to wait on in QEMU for the guest's progress: a pause. */
		usleep(100 * 1000);
	}
	kt_assertf(a[0] != a[1] && a[0] != a[BW], "the pattern has no bands: 0x%06x everywhere",
		   a[0]);

	nested_qemu_send_key(&q, "a");
	/* The guest repaints as soon as it reads the key: until the whole picture changed. */
	for (;;) {
		nested_qemu_screendump(&q, "qemu-guest-after", &after);
		bool whole = blocks(&after, b, BW * BH, why, sizeof(why));
		if (whole && b[BW * BH - 2] != a[BW * BH - 2])
			break;
		kt_assertf(kt_now_ns() < end, "the key changed nothing (%s)",
			   whole ? "the picture is as before" : why);
		kt_image_free(&after);
		usleep(100 * 1000);
	}
	for (uint32_t by = 0; by < BH; by++) {
		for (uint32_t bx = 0; bx + 1 < BW; bx++) {
			kt_assertf(b[by * BW + bx] == a[by * BW + bx + 1],
				   "block %u,%u is 0x%06x after the key, not 0x%06x (block %u,%u "
				   "before)",
				   bx, by, b[by * BW + bx], a[by * BW + bx + 1], bx + 1, by);
		}
	}
	nested_qemu_kill(&q);
	kt_assertf(access(q.test_qmp, F_OK) != 0 && access(q.daemon_qmp, F_OK) != 0,
		   "QEMU's sockets are left");
	kt_image_free(&before);
	kt_image_free(&after);
	rmdir(dir);
	printf("qemu-guest: ok\n");
	return 0;
}
