// SPDX-License-Identifier: MIT
/*
 * The picture of a QEMU console as its D-Bus listener calls build it
 * (qemu/frame.c), on the host: without /dev/udmabuf the ring's buffers are
 * CPU pixels. The KMS core is played by the test: it locks what it shows
 * and unlocks it when the next flip is done. Every buffer handed out holds
 * the whole picture, a locked buffer never changes, a change that finds no
 * free buffer waits for a release, and bad calls change nothing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <pixman.h>

#include "buffer/buffer.h"
#include "qemu/frame.h"
#include "test.h"

#define W 64
#define H 40

static struct wl_event_loop *loop;
static int n_changed;
static uint32_t picture[W * H]; /* what the picture must be */
static char msg[256];

static void on_changed(void *data)
{
	(void)data;
	n_changed++;
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* Whether buffer's pixels equal the w x h pixels at want (rows w apart). */
static bool buffer_equals(struct buffer *buffer, const uint32_t *want, uint32_t w, uint32_t h)
{
	check(buffer != NULL);
	check_int_eq(buffer->width, w);
	check_int_eq(buffer->height, h);
	const void *data;
	uint32_t stride;
	check_int_eq(buffer_begin_read(buffer, &data, &stride), 0);
	bool same = true;
	for (uint32_t y = 0; y < h && same; y++)
		same = memcmp((const uint8_t *)data + (size_t)y * stride, want + (size_t)y * w,
			      (size_t)w * 4) == 0;
	check_int_eq(buffer_end_read(buffer), 0);
	return same;
}

static struct buffer *primary(struct qemu_frame *frame)
{
	struct vgpu_frame out;
	qemu_frame_get(frame, &out);
	check_int_eq(out.placement, VGPU_PLACE_SCALED);
	return out.primary;
}

static void fill_random(uint32_t *pixels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pixels[i] = rng() | 0xff000000u;
}

/* A full Scanout of `picture`, rows padded to a stride of its own. */
static void scanout(struct qemu_frame *frame)
{
	uint32_t stride = W * 4 + 12;
	uint8_t *data = calloc(H, stride);
	for (int y = 0; y < H; y++)
		memcpy(data + (size_t)y * stride, picture + (size_t)y * W, W * 4);
	check_int_eq(qemu_frame_scanout(frame, W, H, stride, 0x20028888 /* as QEMU 7.2 */, data,
					(size_t)stride * H, msg, sizeof(msg)),
		     0);
	free(data);
}

/* An Update of x,y w x h with new random pixels, applied to `picture` too. */
static void update(struct qemu_frame *frame, int x, int y, int w, int h)
{
	uint32_t *data = calloc((size_t)w * h, 4);
	fill_random(data, (size_t)w * h);
	for (int r = 0; r < h; r++)
		memcpy(picture + (size_t)(y + r) * W + x, data + (size_t)r * w, (size_t)w * 4);
	check_int_eq(qemu_frame_update(frame, x, y, w, h, (uint32_t)w * 4, PIXMAN_x8r8g8b8, data,
				       (size_t)w * h * 4, msg, sizeof(msg)),
		     0);
	free(data);
}

static void test_formats(void)
{
	/* What QEMU 7.2 sends (PIXMAN_a8r8g8b8): a console's picture is opaque. */
	check_int_eq(qemu_fourcc_from_pixman(0x20028888), DRM_FORMAT_XRGB8888);
	check_int_eq(qemu_fourcc_from_pixman(PIXMAN_x8r8g8b8), DRM_FORMAT_XRGB8888);
	check_int_eq(qemu_fourcc_from_pixman(PIXMAN_a8b8g8r8), DRM_FORMAT_XBGR8888);
	check_int_eq(qemu_fourcc_from_pixman(PIXMAN_r5g6b5), DRM_FORMAT_RGB565);
	check_int_eq(qemu_fourcc_from_pixman(PIXMAN_x8b8g8r8), DRM_FORMAT_XBGR8888);
	check_int_eq(qemu_fourcc_from_pixman(0x12345678), 0);
	check_int_eq(qemu_fourcc_from_pixman(0), 0);
}

/* Scanout, then an Update: the buffer handed out holds both. */
static void test_scanout_update(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	n_changed = 0;
	check(primary(frame) == NULL);

	fill_random(picture, W * H);
	scanout(frame);
	check_int_eq(n_changed, 1);
	struct buffer *b = primary(frame);
	check(buffer_equals(b, picture, W, H));

	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	check(info.enabled);
	check_int_eq(info.kind, QEMU_FRAME_PIXELS);
	check_int_eq(info.width, W);
	check_int_eq(info.height, H);
	check_int_eq(info.fourcc, DRM_FORMAT_XRGB8888);
	check_int_eq(info.pixman_format, 0x20028888);
	check(!info.udmabuf);
	check(!info.flipped);
	check_int_eq(info.updates, 1);

	update(frame, 10, 5, 7, 3);
	check_int_eq(n_changed, 2);
	check(buffer_equals(primary(frame), picture, W, H));
	update(frame, 0, 0, W, 1);
	update(frame, W - 1, H - 1, 1, 1);
	check(buffer_equals(primary(frame), picture, W, H));
	qemu_frame_get_info(frame, &info);
	check_int_eq(info.updates, 4);

	/* An empty rectangle changes nothing and is no error. */
	check_int_eq(
		qemu_frame_update(frame, 3, 3, 0, 5, 4, PIXMAN_x8r8g8b8, NULL, 0, msg, sizeof(msg)),
		0);
	check(buffer_equals(primary(frame), picture, W, H));

	qemu_frame_disable(frame);
	check(primary(frame) == NULL);
	qemu_frame_get_info(frame, &info);
	check(!info.enabled);
	check_int_eq(info.kind, QEMU_FRAME_NONE);
	check(qemu_frame_update(frame, 0, 0, 1, 1, 4, PIXMAN_x8r8g8b8, picture, 4, msg,
				sizeof(msg)) < 0);
	check_contains(msg, "Update: ");
	qemu_frame_destroy(frame);
}

#define SHOWN_MAX 3

/* The KMS core as the test plays it: what it holds locked, with the pixels they had. */
struct kms {
	struct buffer *locked[SHOWN_MAX];
	uint32_t pixels[SHOWN_MAX][W * H];
	int n;
};

static void kms_lock(struct kms *kms, struct buffer *b)
{
	check(kms->n < SHOWN_MAX);
	buffer_lock(b);
	kms->locked[kms->n] = b;
	const void *data;
	uint32_t stride;
	check_int_eq(buffer_begin_read(b, &data, &stride), 0);
	for (int y = 0; y < H; y++)
		memcpy(kms->pixels[kms->n] + y * W, (const uint8_t *)data + (size_t)y * stride,
		       W * 4);
	check_int_eq(buffer_end_read(b), 0);
	kms->n++;
}

/* The oldest lock goes (a flip done). */
static void kms_unlock_oldest(struct kms *kms)
{
	check(kms->n > 0);
	buffer_unlock(kms->locked[0]);
	kms->n--;
	memmove(&kms->locked[0], &kms->locked[1], sizeof(kms->locked[0]) * (size_t)kms->n);
	memmove(kms->pixels[0], kms->pixels[1], sizeof(kms->pixels[0]) * (size_t)kms->n);
}

/* No locked buffer changed since it was locked. */
static void kms_check_untouched(struct kms *kms)
{
	for (int i = 0; i < kms->n; i++)
		check(buffer_equals(kms->locked[i], kms->pixels[i], W, H));
}

/*
 * Many updates while the core holds one or two buffers: every buffer handed
 * out is the whole picture, and never one the core holds locked.
 */
static void test_damage(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	struct kms kms = {0};
	fill_random(picture, W * H);
	scanout(frame);
	kms_lock(&kms, primary(frame));

	for (int i = 0; i < 200; i++) {
		int w = 1 + (int)(rng() % W), h = 1 + (int)(rng() % H);
		int x = (int)(rng() % (uint32_t)(W - w + 1)),
		    y = (int)(rng() % (uint32_t)(H - h + 1));
		n_changed = 0;
		update(frame, x, y, w, h);
		check_int_eq(n_changed, 1);
		kms_check_untouched(&kms);
		struct buffer *b = primary(frame);
		for (int k = 0; k < kms.n; k++)
			check(b != kms.locked[k]);
		check(buffer_equals(b, picture, W, H));
		/* Sometimes queued behind the one on screen, sometimes shown at once. */
		if (kms.n == 2 || (kms.n > 0 && rng() % 3 == 0))
			kms_unlock_oldest(&kms);
		if (rng() % 4 != 0)
			kms_lock(&kms, b);
	}
	while (kms.n > 0)
		kms_unlock_oldest(&kms);
	qemu_frame_destroy(frame);
}

/*
 * Two buffers locked and the third handed out: updates wait (the buffer
 * handed out is not written either), and the first release finishes them.
 */
static void test_pending(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	struct kms kms = {0};
	fill_random(picture, W * H);
	scanout(frame);
	kms_lock(&kms, primary(frame));
	update(frame, 1, 1, 5, 5);
	kms_lock(&kms, primary(frame));
	update(frame, 20, 2, 30, 8);
	struct buffer *handed = primary(frame);
	static uint32_t before[W * H];
	memcpy(before, picture, sizeof(picture));

	n_changed = 0;
	update(frame, 0, 10, W, 4);
	update(frame, 3, 3, 50, 30); /* overlaps the previous one */
	update(frame, 60, 0, 4, 40);
	check_int_eq(n_changed, 0);
	check(primary(frame) == handed);
	check(buffer_equals(handed, before, W, H));
	kms_check_untouched(&kms);
	/* Nothing to do for the loop yet. */
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(n_changed, 0);

	/* The flip: the buffer on screen before is released; the loop finishes the updates. */
	struct buffer *released = kms.locked[0];
	kms_unlock_oldest(&kms);
	check_int_eq(n_changed, 0);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(n_changed, 1);
	check(primary(frame) == released);
	check(buffer_equals(released, picture, W, H));
	kms_check_untouched(&kms);

	/* Later updates start from there. */
	kms_lock(&kms, primary(frame));
	update(frame, 7, 7, 9, 9);
	check_int_eq(n_changed, 2);
	check(buffer_equals(primary(frame), picture, W, H));

	/* Destroyed while the core still holds buffers: they stay readable until unlocked. */
	qemu_frame_destroy(frame);
	kms_check_untouched(&kms);
	while (kms.n > 0)
		kms_unlock_oldest(&kms);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
}

/* Every bad call fails with the call's name and the picture stays. */
static void test_bad_input(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	uint32_t px[W * H] = {0};

	/* Before any Scanout. */
	check(qemu_frame_update(frame, 0, 0, 1, 1, 4, PIXMAN_x8r8g8b8, px, 4, msg, sizeof(msg)) <
	      0);
	check_contains(msg, "Update: ");
	check(qemu_frame_update_map(frame, 0, 0, 1, 1, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateMap: ");
	check(qemu_frame_update_dmabuf(frame, 0, 0, 1, 1, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateDMABUF: ");

	fill_random(picture, W * H);
	scanout(frame);
	struct buffer *b = primary(frame);
	n_changed = 0;
	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	uint64_t updates = info.updates;

	/* Scanout */
	check(qemu_frame_scanout(frame, W, H, W * 4, 0x12345678, px, sizeof(px), msg, sizeof(msg)) <
	      0);
	check_str_eq(msg, "Scanout: pixman format 0x12345678 is not supported");
	check(qemu_frame_scanout(frame, 0, H, W * 4, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				 sizeof(msg)) < 0);
	check_contains(msg, "Scanout: size 0x40");
	check(qemu_frame_scanout(frame, 20000, 1, 80000, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				 sizeof(msg)) < 0);
	check_contains(msg, "Scanout: size 20000x1");
	check(qemu_frame_scanout(frame, W, H, W * 4 - 4, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				 sizeof(msg)) < 0);
	check_contains(msg, "Scanout: stride 252");
	check(qemu_frame_scanout(frame, W, H, W * 4, PIXMAN_x8r8g8b8, px, sizeof(px) - 1, msg,
				 sizeof(msg)) < 0);
	check_contains(msg, "Scanout: 10239 bytes");
	check(qemu_frame_scanout(frame, W, H, W * 4, PIXMAN_x8r8g8b8, NULL, sizeof(px), msg,
				 sizeof(msg)) < 0);
	check_contains(msg, "Scanout: ");
	/* The last row needs no padding after it. */
	check(qemu_frame_scanout(frame, W, 2, W * 4 + 64, PIXMAN_x8r8g8b8, px, W * 4 * 2 + 63, msg,
				 sizeof(msg)) < 0);

	/* Update */
	/* Outside the picture but inside a larger one: -ERANGE (its size may have changed). */
	check_int_eq(qemu_frame_update(frame, 10, 10, W, 2, W * 4, PIXMAN_x8r8g8b8, px, sizeof(px),
				       msg, sizeof(msg)),
		     -ERANGE);
	check_str_eq(msg, "Update: rectangle 10,10 64x2 is outside the 64x40 scanout");
	check_int_eq(qemu_frame_update(frame, -1, 0, 2, 2, 8, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				       sizeof(msg)),
		     -EINVAL);
	check_contains(msg, "Update: rectangle -1,0");
	check_int_eq(qemu_frame_update(frame, 16380, 0, 8, 1, 32, PIXMAN_x8r8g8b8, px, sizeof(px),
				       msg, sizeof(msg)),
		     -EINVAL);
	check_contains(msg, "Update: rectangle 16380,0 8x1 is outside");
	check(qemu_frame_update(frame, 0, 0, 2, -2, 8, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check(qemu_frame_update(frame, 0, H - 1, 1, 2, 4, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check(qemu_frame_update(frame, INT32_MAX, 0, 1, 1, 4, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check(qemu_frame_update(frame, 1, 0, INT32_MAX, 1, 4, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check(qemu_frame_update(frame, 0, 0, 4, 4, 15, PIXMAN_x8r8g8b8, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check_contains(msg, "Update: stride 15");
	check(qemu_frame_update(frame, 0, 0, 4, 4, 16, PIXMAN_x8r8g8b8, px, 16 * 3 + 15, msg,
				sizeof(msg)) < 0);
	check_contains(msg, "Update: 63 bytes");
	check(qemu_frame_update(frame, 0, 0, 4, 4, 16, 0x12345678, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check_contains(msg, "Update: pixman format 0x12345678 is not supported");
	check(qemu_frame_update(frame, 0, 0, 4, 4, 8, PIXMAN_r5g6b5, px, sizeof(px), msg,
				sizeof(msg)) < 0);
	check_contains(msg, "Update: pixman format 0x10020565 differs from the scanout's");
	check(qemu_frame_update_map(frame, 0, 0, 1, 1, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateMap: ");
	check(qemu_frame_update_dmabuf(frame, 0, 0, 1, 1, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateDMABUF: ");

	/* ScanoutDMABUF of what is not a dma-buf, or of a format not handled */
	int memfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	check(memfd >= 0);
	check_int_eq(ftruncate(memfd, W * H * 4), 0);
	check(qemu_frame_scanout_dmabuf(frame, memfd, W, H, W * 4, DRM_FORMAT_XRGB8888,
					DRM_FORMAT_MOD_LINEAR, true, msg, sizeof(msg)) < 0);
	check_contains(msg, "ScanoutDMABUF: ");
	check_contains(msg, "not a dma-buf");
	check(qemu_frame_scanout_dmabuf(frame, memfd, W, H, W * 4, DRM_FORMAT_NV12,
					DRM_FORMAT_MOD_LINEAR, true, msg, sizeof(msg)) < 0);
	check_contains(msg, "ScanoutDMABUF: format");
	check(qemu_frame_scanout_dmabuf(frame, memfd, W, H, W * 4, DRM_FORMAT_XRGB8888,
					I915_FORMAT_MOD_X_TILED, false, msg, sizeof(msg)) < 0);
	check_contains(msg, "cannot be turned");
	check(qemu_frame_scanout_dmabuf(frame, -1, W, H, W * 4, DRM_FORMAT_XRGB8888,
					DRM_FORMAT_MOD_LINEAR, true, msg, sizeof(msg)) < 0);
	check_contains(msg, "ScanoutDMABUF: fd -1");

	/* ScanoutMap of memory too small, or not memory */
	check(qemu_frame_scanout_map(frame, memfd, 4, W, H, W * 4, PIXMAN_x8r8g8b8, msg,
				     sizeof(msg)) < 0);
	check_contains(msg, "ScanoutMap: the shared memory's 10240 bytes are fewer");
	check(qemu_frame_scanout_map(frame, memfd, 0, W, H, W * 4, 0x87654321, msg, sizeof(msg)) <
	      0);
	check_contains(msg, "ScanoutMap: pixman format 0x87654321");
	int p[2];
	check(pipe2(p, O_CLOEXEC) == 0);
	check(qemu_frame_scanout_map(frame, p[0], 0, 1, 1, 4, PIXMAN_x8r8g8b8, msg, sizeof(msg)) <
	      0);
	check_contains(msg, "ScanoutMap: fd");
	close(p[0]);
	close(p[1]);
	close(memfd);
	/* A picture within the sizes but more memory than a copy may take. */
	memfd = memfd_create("huge", MFD_CLOEXEC);
	check(memfd >= 0);
	check_int_eq(ftruncate(memfd, (off_t)16384 * 16384 * 4), 0); /* sparse */
	check_int_eq(qemu_frame_scanout_map(frame, memfd, 0, 16384, 16384, 16384 * 4,
					    PIXMAN_x8r8g8b8, msg, sizeof(msg)),
		     -E2BIG);
	check_contains(msg, "ScanoutMap: a 16384x16384 picture needs 1073741824 bytes");
	close(memfd);

	/* CursorDefine */
	check(qemu_frame_cursor_define(frame, 513, 1, 0, 0, px, 513 * 4, msg, sizeof(msg)) < 0);
	check_contains(msg, "CursorDefine: size 513x1");
	check(qemu_frame_cursor_define(frame, 4, 4, 0, 0, px, 4 * 4 * 4 - 1, msg, sizeof(msg)) < 0);
	check_contains(msg, "CursorDefine: 63 bytes");
	check(qemu_frame_cursor_define(frame, 4, 4, 0, 0, px, 4 * 4 * 4 + 4, msg, sizeof(msg)) < 0);
	check(qemu_frame_cursor_define(frame, 4, 4, 5, 0, px, 4 * 4 * 4, msg, sizeof(msg)) < 0);
	check_contains(msg, "CursorDefine: hotspot");

	/* Nothing changed. */
	check_int_eq(n_changed, 0);
	check(primary(frame) == b);
	check(buffer_equals(b, picture, W, H));
	qemu_frame_get_info(frame, &info);
	check_int_eq(info.updates, updates);
	check_int_eq(info.kind, QEMU_FRAME_PIXELS);
	check_int_eq(info.width, W);
	struct vgpu_frame out;
	qemu_frame_get(frame, &out);
	check(out.cursor == NULL);
	qemu_frame_destroy(frame);
}

/* A new size: a new ring; the old buffer the core holds stays as it was. */
static void test_resize(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	struct kms kms = {0};
	fill_random(picture, W * H);
	scanout(frame);
	kms_lock(&kms, primary(frame));

	uint32_t small[8 * 4];
	fill_random(small, 8 * 4);
	check_int_eq(qemu_frame_scanout(frame, 8, 4, 32, PIXMAN_x8r8g8b8, small, sizeof(small), msg,
					sizeof(msg)),
		     0);
	struct buffer *b = primary(frame);
	check(b != kms.locked[0]);
	check(buffer_equals(b, small, 8, 4));
	kms_check_untouched(&kms);

	/* Another format, same size: the ring follows it. */
	uint16_t rgb565[8 * 4];
	for (int i = 0; i < 8 * 4; i++)
		rgb565[i] = (uint16_t)rng();
	check_int_eq(qemu_frame_scanout(frame, 8, 4, 16, PIXMAN_r5g6b5, rgb565, sizeof(rgb565), msg,
					sizeof(msg)),
		     0);
	b = primary(frame);
	check_int_eq(b->fourcc, DRM_FORMAT_RGB565);
	const void *data;
	uint32_t stride;
	check_int_eq(buffer_begin_read(b, &data, &stride), 0);
	for (int y = 0; y < 4; y++)
		check(memcmp((const uint8_t *)data + y * stride, rgb565 + y * 8, 16) == 0);
	check_int_eq(buffer_end_read(b), 0);

	kms_unlock_oldest(&kms);
	qemu_frame_destroy(frame);
}

/* ScanoutMap/UpdateMap: the picture read from shared memory. */
static void test_map(bool sealed, uint32_t stride)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	const uint32_t offset = 4096;
	size_t size = offset + (size_t)stride * H;
	int fd = memfd_create("qemu-surface", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	check(fd >= 0);
	check_int_eq(ftruncate(fd, (off_t)size), 0);
	if (sealed)
		check_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(map != MAP_FAILED);

	fill_random(picture, W * H);
	for (int y = 0; y < H; y++)
		memcpy(map + offset + (size_t)y * stride, picture + y * W, W * 4);
	n_changed = 0;
	check_int_eq(qemu_frame_scanout_map(frame, fd, offset, W, H, stride, PIXMAN_x8r8g8b8, msg,
					    sizeof(msg)),
		     0);
	check_int_eq(n_changed, 1);
	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	check_int_eq(info.kind, QEMU_FRAME_MAP);
	check(buffer_equals(primary(frame), picture, W, H));

	/* QEMU draws; only what UpdateMap names is taken. */
	struct kms kms = {0};
	kms_lock(&kms, primary(frame));
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			((uint32_t *)(map + offset + (size_t)y * stride))[x] = 0xff000000u | rng();
	for (int y = 5; y < 9; y++)
		memcpy(picture + y * W + 3, map + offset + (size_t)y * stride + 12, 10 * 4);
	check_int_eq(qemu_frame_update_map(frame, 3, 5, 10, 4, msg, sizeof(msg)), 0);
	check_int_eq(n_changed, 2);
	check(buffer_equals(primary(frame), picture, W, H));
	kms_check_untouched(&kms);
	check(qemu_frame_update_map(frame, 3, 5, 10, H, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateMap: rectangle 3,5 10x40 is outside");
	check(qemu_frame_update(frame, 0, 0, 1, 1, 4, PIXMAN_x8r8g8b8, picture, 4, msg,
				sizeof(msg)) < 0);

	/* The fd was duplicated or mapped: QEMU closing its own changes nothing. */
	close(fd);
	for (int y = 0; y < H; y++)
		memcpy(picture + y * W, map + offset + (size_t)y * stride, W * 4);
	check_int_eq(qemu_frame_update_map(frame, 0, 0, W, H, msg, sizeof(msg)), 0);
	check(buffer_equals(primary(frame), picture, W, H));
	kms_unlock_oldest(&kms);
	munmap(map, size);
	qemu_frame_destroy(frame);
}

/* Unsealed memory shrunk by QEMU: an error, not a crash. */
static void test_map_shrunk(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	size_t size = (size_t)W * 4 * H;
	int fd = memfd_create("qemu-surface", MFD_CLOEXEC);
	check(fd >= 0);
	check_int_eq(ftruncate(fd, (off_t)size), 0);
	check_int_eq(qemu_frame_scanout_map(frame, fd, 0, W, H, W * 4, PIXMAN_x8r8g8b8, msg,
					    sizeof(msg)),
		     0);
	struct buffer *b = primary(frame);
	check(b != NULL);
	check_int_eq(ftruncate(fd, 4096), 0);
	check(qemu_frame_update_map(frame, 0, 0, W, H, msg, sizeof(msg)) < 0);
	check_contains(msg, "UpdateMap: reading the shared memory");
	close(fd);
	qemu_frame_destroy(frame);
}

static void test_cursor(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	uint32_t argb[5 * 3];
	fill_random(argb, 5 * 3);
	n_changed = 0;
	check_int_eq(
		qemu_frame_cursor_define(frame, 5, 3, 2, 1, argb, sizeof(argb), msg, sizeof(msg)),
		0);
	check_int_eq(n_changed, 1);
	struct vgpu_frame out;
	qemu_frame_get(frame, &out);
	check(out.cursor == NULL); /* not placed yet */
	check(out.primary == NULL);

	qemu_frame_mouse_set(frame, 100, 50, 1);
	check_int_eq(n_changed, 2);
	qemu_frame_get(frame, &out);
	check(out.cursor == NULL); /* placed, but there is no picture to place it in */
	scanout(frame);
	qemu_frame_get(frame, &out);
	check(out.cursor != NULL);
	check_int_eq(out.cursor->fourcc, DRM_FORMAT_ARGB8888);
	check(buffer_equals(out.cursor, argb, 5, 3));
	check_int_eq(out.cursor_x, 98);
	check_int_eq(out.cursor_y, 49);

	/* Hidden, then shown again elsewhere. */
	qemu_frame_mouse_set(frame, 100, 50, 0);
	qemu_frame_get(frame, &out);
	check(out.cursor == NULL);
	qemu_frame_mouse_set(frame, 0, 0, 1);
	qemu_frame_get(frame, &out);
	check_int_eq(out.cursor_x, -2);
	check_int_eq(out.cursor_y, -1);

	/* A new shape while the old one is on screen: the old one stays as it was. */
	struct buffer *old = out.cursor;
	buffer_lock(old);
	uint32_t argb2[2 * 2] = {0x80ff0000u, 0x8000ff00u, 0x800000ffu, 0};
	check_int_eq(
		qemu_frame_cursor_define(frame, 2, 2, 0, 0, argb2, sizeof(argb2), msg, sizeof(msg)),
		0);
	qemu_frame_get(frame, &out);
	check(out.cursor != old);
	check(buffer_equals(out.cursor, argb2, 2, 2));
	check(buffer_equals(old, argb, 5, 3));
	buffer_unlock(old);

	struct buffer *b2 = out.cursor;

	/* An empty shape: no cursor. */
	check_int_eq(qemu_frame_cursor_define(frame, 0, 0, 0, 0, NULL, 0, msg, sizeof(msg)), 0);
	qemu_frame_get(frame, &out);
	check(out.cursor == NULL);

	/* One size again and again (animated): the shape before the last is reused once free. */
	uint32_t shapes[4][2 * 2];
	fill_random(&shapes[0][0], 4 * 4);
	check_int_eq(qemu_frame_cursor_define(frame, 2, 2, 0, 0, shapes[0], 16, msg, sizeof(msg)),
		     0);
	qemu_frame_get(frame, &out);
	check(out.cursor == b2);
	check(buffer_equals(b2, shapes[0], 2, 2));
	buffer_lock(b2); /* on screen */
	check_int_eq(qemu_frame_cursor_define(frame, 2, 2, 0, 0, shapes[1], 16, msg, sizeof(msg)),
		     0);
	qemu_frame_get(frame, &out);
	struct buffer *b3 = out.cursor;
	check(b3 != b2);
	check(buffer_equals(b3, shapes[1], 2, 2));
	/* b2, the shape before, is still locked: not written, another buffer instead. */
	check_int_eq(qemu_frame_cursor_define(frame, 2, 2, 0, 0, shapes[2], 16, msg, sizeof(msg)),
		     0);
	qemu_frame_get(frame, &out);
	check(out.cursor != b2 && out.cursor != b3);
	check(buffer_equals(out.cursor, shapes[2], 2, 2));
	check(buffer_equals(b2, shapes[0], 2, 2));
	buffer_unlock(b2);
	/* b3 is free: written again. */
	check_int_eq(qemu_frame_cursor_define(frame, 2, 2, 0, 0, shapes[3], 16, msg, sizeof(msg)),
		     0);
	qemu_frame_get(frame, &out);
	check(out.cursor == b3);
	check(buffer_equals(b3, shapes[3], 2, 2));

	/* Disabled: neither picture nor cursor. */
	qemu_frame_disable(frame);
	qemu_frame_get(frame, &out);
	check(out.primary == NULL && out.cursor == NULL);
	qemu_frame_destroy(frame);
}

/* A buffer the random core holds, with the pixels it had then. */
struct held {
	struct buffer *buffer;
	uint32_t *pixels;
	uint32_t w, h;
};

static uint32_t *read_all(struct buffer *b)
{
	uint32_t *px = malloc((size_t)b->width * b->height * 4);
	const void *data;
	uint32_t stride;
	check_int_eq(buffer_begin_read(b, &data, &stride), 0);
	for (uint32_t y = 0; y < b->height; y++)
		memcpy(px + (size_t)y * b->width, (const uint8_t *)data + (size_t)y * stride,
		       (size_t)b->width * 4);
	check_int_eq(buffer_end_read(b), 0);
	return px;
}

/*
 * Random calls, good and bad, while a random core locks and unlocks what
 * it is handed: whenever `changed` is called the buffer handed out is the
 * whole picture, a held buffer never changes, and a bad call changes
 * nothing.
 */
static void test_random(void)
{
	static const uint32_t sizes[][2] = {{16, 8}, {24, 10}, {16, 8}};
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	static uint32_t model[24 * 10];
	uint32_t mw = 0, mh = 0;
	struct held held[3] = {0};
	int n_held = 0;
	uint32_t buf[2 * 24 * 10];

	for (int op = 0; op < 3000; op++) {
		int before = n_changed;
		uint32_t kind = rng() % 10;
		if (kind == 0) {
			const uint32_t *sz = sizes[rng() % 3];
			fill_random(buf, sz[0] * sz[1]);
			bool bad = rng() % 4 == 0;
			int ret = qemu_frame_scanout(
				frame, sz[0], sz[1], sz[0] * 4, PIXMAN_x8r8g8b8, buf,
				sz[0] * sz[1] * 4 - (bad ? 1 : 0), msg, sizeof(msg));
			check_int_eq(ret, bad ? -EINVAL : 0);
			if (!bad) {
				mw = sz[0];
				mh = sz[1];
				memcpy(model, buf, (size_t)mw * mh * 4);
			}
		} else if (kind == 1 && n_held > 0) {
			int i = (int)(rng() % (uint32_t)n_held);
			buffer_unlock(held[i].buffer);
			free(held[i].pixels);
			held[i] = held[--n_held];
		} else if (kind == 2 && n_held < 3) {
			struct buffer *b = primary(frame);
			if (b != NULL) {
				buffer_lock(b);
				held[n_held++] = (struct held){b, read_all(b), b->width, b->height};
			}
		} else if (kind == 3) {
			check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
		} else if (kind == 4) {
			qemu_frame_disable(frame);
			mw = mh = 0;
		} else if (mw > 0) {
			int32_t x = (int32_t)(rng() % mw), y = (int32_t)(rng() % mh);
			int32_t w = 1 + (int32_t)(rng() % (mw - (uint32_t)x));
			int32_t h = 1 + (int32_t)(rng() % (mh - (uint32_t)y));
			bool bad = rng() % 5 == 0;
			if (bad)
				w += (int32_t)mw; /* outside */
			fill_random(buf, (size_t)w * h);
			int ret = qemu_frame_update(frame, x, y, w, h, (uint32_t)w * 4,
						    PIXMAN_x8r8g8b8, buf, (size_t)w * h * 4, msg,
						    sizeof(msg));
			check_int_eq(ret, bad ? -ERANGE : 0);
			if (!bad)
				for (int r = 0; r < h; r++)
					memcpy(model + (size_t)(y + r) * mw + x,
					       buf + (size_t)r * w, (size_t)w * 4);
		}
		if (n_changed != before) {
			struct buffer *b = primary(frame);
			if (mw == 0) {
				check(b == NULL);
			} else {
				check(buffer_equals(b, model, mw, mh));
				for (int i = 0; i < n_held; i++)
					check(b != held[i].buffer);
			}
		}
		for (int i = 0; i < n_held; i++)
			check(buffer_equals(held[i].buffer, held[i].pixels, held[i].w, held[i].h));
	}
	/* What is pending is finished once everything is released. */
	while (n_held > 0) {
		buffer_unlock(held[n_held - 1].buffer);
		free(held[--n_held].pixels);
	}
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	if (mw > 0)
		check(buffer_equals(primary(frame), model, mw, mh));
	qemu_frame_destroy(frame);
}

int main(void)
{
	loop = wl_event_loop_create();
	check(loop != NULL);
	if (access("/dev/udmabuf", F_OK) == 0) {
		fprintf(stderr, "/dev/udmabuf exists: this test is for the CPU fallback\n");
		return 77;
	}
	test_formats();
	test_scanout_update();
	test_damage();
	test_pending();
	test_bad_input();
	test_resize();
	/* Mapped (sealed), or read (the rows as the ring's, or not). */
	test_map(true, W * 4 + 64);
	test_map(false, W * 4 + 64);
	test_map(false, W * 4);
	test_map_shrunk();
	test_cursor();
	test_random();
	wl_event_loop_destroy(loop);
	return 0;
}
