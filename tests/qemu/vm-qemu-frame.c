// SPDX-License-Identifier: MIT
/*
 * The picture of a QEMU console (qemu/frame.c) against the real kernel:
 *  - with /dev/udmabuf the ring's buffers are dma-bufs a plane can scan
 *    out, holding the picture;
 *  - the same dma-buf sent again with another fd is recognised by its
 *    inode and gives the same buffer (no new fd kept); a different one, or
 *    the same one described otherwise, gives another; the cache keeps the
 *    4 most recently sent; one sent as ARGB8888 is shown opaque;
 *  - an upside-down dma-buf (y0_top false) is copied turned;
 *  - one under a write fence (vgem's, signalled when the test says) is not
 *    read until the fence signals: the call returns at once, the loop
 *    copies it after the signal and says so.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <pixman.h>
#include <xf86drm.h>

#include "buffer/buffer.h"
#include "kmstest.h"
#include "qemu/frame.h"
#include "util/log.h"

/* include/uapi/drm/vgem_drm.h, absent from libdrm's headers. */
#define VGEM_FENCE_WRITE 0x1
struct vgem_fence_attach {
	uint32_t handle;
	uint32_t flags;
	uint32_t out_fence;
	uint32_t pad;
};
struct vgem_fence_signal {
	uint32_t fence;
	uint32_t flags;
};
#define VGEM_IOCTL_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct vgem_fence_attach)
#define VGEM_IOCTL_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct vgem_fence_signal)

#define W 64
#define H 40

static struct wl_event_loop *loop;
static int n_changed;
static char msg[256];

static void on_changed(void *data)
{
	(void)data;
	n_changed++;
}

static void fill(uint32_t *px, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		px[i] = 0xff000000u | (seed >> 8);
	}
}

/* Whether buffer's pixels are want (W x H, rows W apart), turned upside down if flipped. */
static bool buffer_equals(struct buffer *buffer, const uint32_t *want, bool flipped)
{
	kt_assert(buffer != NULL);
	kt_assert(buffer->width == W && buffer->height == H);
	const void *data;
	uint32_t stride;
	kt_assert_ok(buffer_begin_read(buffer, &data, &stride));
	bool same = true;
	for (uint32_t y = 0; y < H && same; y++) {
		uint32_t wy = flipped ? H - 1 - y : y;
		same = memcmp((const uint8_t *)data + (size_t)y * stride, want + (size_t)wy * W,
			      W * 4) == 0;
	}
	kt_assert_ok(buffer_end_read(buffer));
	return same;
}

static struct buffer *primary(struct qemu_frame *frame)
{
	struct vgpu_frame out;
	qemu_frame_get(frame, &out);
	return out.primary;
}

/* A udmabuf of W x H XRGB8888, rows W * 4 apart, holding want. */
static void udmabuf_picture(struct kt_udmabuf *u, const uint32_t *want)
{
	kt_udmabuf_create(u, W * H * 4);
	memcpy(u->map, want, W * H * 4);
}

static int scanout_dmabuf(struct qemu_frame *frame, int fd, bool y0_top)
{
	return qemu_frame_scanout_dmabuf(frame, fd, W, H, W * 4, DRM_FORMAT_XRGB8888,
					 DRM_FORMAT_MOD_LINEAR, y0_top, msg, sizeof(msg));
}

static void test_ring(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	static uint32_t picture[W * H];
	fill(picture, W * H, 1);
	kt_assert_ok(qemu_frame_scanout(frame, W, H, W * 4, 0x20028888, picture, sizeof(picture),
					msg, sizeof(msg)));
	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	kt_assertf(info.udmabuf, "the ring's buffers are not udmabufs");
	struct buffer *b = primary(frame);
	kt_assert(b->type == BUFFER_DMABUF);
	kt_assert(b->modifier == DRM_FORMAT_MOD_LINEAR);
	kt_assert(b->fourcc == DRM_FORMAT_XRGB8888);
	kt_assert(buffer_equals(b, picture, false));

	/* An update while the first buffer is on screen lands in another one. */
	buffer_lock(b);
	uint32_t patch[4 * 3];
	fill(patch, 12, 2);
	for (int y = 0; y < 3; y++)
		memcpy(picture + (size_t)(7 + y) * W + 9, patch + y * 4, 16);
	kt_assert_ok(qemu_frame_update(frame, 9, 7, 4, 3, 16, 0x20028888, patch, sizeof(patch), msg,
				       sizeof(msg)));
	kt_assert(primary(frame) != b);
	kt_assert(primary(frame)->type == BUFFER_DMABUF);
	kt_assert(buffer_equals(primary(frame), picture, false));
	buffer_unlock(b);

	/* The cursor is a udmabuf too. */
	uint32_t argb[8 * 8];
	fill(argb, 64, 3);
	kt_assert_ok(
		qemu_frame_cursor_define(frame, 8, 8, 0, 0, argb, sizeof(argb), msg, sizeof(msg)));
	qemu_frame_mouse_set(frame, 1, 1, 1);
	struct vgpu_frame out;
	qemu_frame_get(frame, &out);
	kt_assert(out.cursor != NULL && out.cursor->type == BUFFER_DMABUF);
	kt_assert(out.cursor->fourcc == DRM_FORMAT_ARGB8888);
	qemu_frame_destroy(frame);
	kt_log("ring and cursor are udmabufs holding the picture");
}

static void test_recognised(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	static uint32_t picture[W * H];
	fill(picture, W * H, 4);
	struct kt_udmabuf u;
	udmabuf_picture(&u, picture);

	int fd1 = fcntl(u.fd, F_DUPFD_CLOEXEC, 0), fd2 = fcntl(u.fd, F_DUPFD_CLOEXEC, 0);
	kt_assert_errno(fd1 >= 0 && fd2 >= 0);
	n_changed = 0;
	kt_assert_ok(scanout_dmabuf(frame, fd1, true));
	kt_assert(n_changed == 1);
	struct buffer *b = primary(frame);
	kt_assert(b != NULL && b->type == BUFFER_DMABUF);
	kt_assert(b->dmabuf.fd[0] != fd1);
	kt_assert(buffer_equals(b, picture, false));
	close(fd1); /* borrowed: QEMU's to close */

	kt_assert_ok(scanout_dmabuf(frame, fd2, true));
	kt_assert(n_changed == 2);
	kt_assertf(primary(frame) == b, "the same dma-buf sent again gave another buffer");
	kt_assert(b->dmabuf.fd[0] != fd2);
	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	kt_assert(info.kind == QEMU_FRAME_DMABUF && !info.flipped);
	kt_assertf(info.dmabuf_fds == 2 && info.dmabufs == 1, "dmabuf_fds %llu dmabufs %llu",
		   (unsigned long long)info.dmabuf_fds, (unsigned long long)info.dmabufs);

	/* UpdateDMABUF: the same buffer, a new frame. */
	kt_assert_ok(qemu_frame_update_dmabuf(frame, 0, 0, W, H, msg, sizeof(msg)));
	kt_assert(n_changed == 3);
	kt_assert(primary(frame) == b);
	kt_assert(qemu_frame_update_dmabuf(frame, 0, 0, W + 1, H, msg, sizeof(msg)) < 0);
	kt_assert(strstr(msg, "UpdateDMABUF: rectangle") == msg);

	/* The same dma-buf described otherwise is another buffer. */
	kt_assert_ok(qemu_frame_scanout_dmabuf(frame, fd2, W, H / 2, W * 4, DRM_FORMAT_XRGB8888,
					       DRM_FORMAT_MOD_LINEAR, true, msg, sizeof(msg)));
	kt_assert(primary(frame) != b);
	qemu_frame_get_info(frame, &info);
	kt_assert(info.dmabufs == 2 && info.dmabuf_fds == 3);

	/* Four others push the first out of the cache: sent again, it is made anew. */
	struct kt_udmabuf others[4];
	for (int i = 0; i < 4; i++) {
		udmabuf_picture(&others[i], picture);
		kt_assert_ok(scanout_dmabuf(frame, others[i].fd, true));
	}
	qemu_frame_get_info(frame, &info);
	kt_assert(info.dmabufs == 6);
	kt_assert_ok(scanout_dmabuf(frame, others[1].fd, true)); /* still cached */
	qemu_frame_get_info(frame, &info);
	kt_assert(info.dmabufs == 6);
	kt_assert_ok(scanout_dmabuf(frame, fd2, true));
	qemu_frame_get_info(frame, &info);
	kt_assert(info.dmabufs == 7 && info.dmabuf_fds == 9);

	/* Sent as ARGB8888, a console's picture is shown opaque. */
	kt_assert_ok(qemu_frame_scanout_dmabuf(frame, fd2, W, H, W * 4, DRM_FORMAT_ARGB8888,
					       DRM_FORMAT_MOD_LINEAR, true, msg, sizeof(msg)));
	kt_assert(primary(frame)->fourcc == DRM_FORMAT_XRGB8888);
	qemu_frame_get_info(frame, &info);
	kt_assert(info.dmabufs == 8 && info.fourcc == DRM_FORMAT_XRGB8888);

	/* A buffer the core holds outlives the frame. */
	b = primary(frame);
	buffer_lock(b);
	qemu_frame_destroy(frame);
	kt_assert(buffer_equals(b, picture, false));
	buffer_unlock(b);
	close(fd2);
	for (int i = 0; i < 4; i++)
		kt_udmabuf_destroy(&others[i]);
	kt_udmabuf_destroy(&u);
	kt_log("the same dma-buf with another fd is the same buffer");
}

static void test_flipped(void)
{
	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	static uint32_t picture[W * H];
	fill(picture, W * H, 5);
	struct kt_udmabuf u;
	udmabuf_picture(&u, picture);
	n_changed = 0;
	kt_assert_ok(scanout_dmabuf(frame, u.fd, false));
	kt_assert(n_changed == 1);
	struct qemu_frame_info info;
	qemu_frame_get_info(frame, &info);
	kt_assert(info.kind == QEMU_FRAME_DMABUF && info.flipped && info.udmabuf);
	struct buffer *b = primary(frame);
	kt_assert(b != NULL && b->type == BUFFER_DMABUF);
	kt_assert(b->dmabuf.fd[0] != u.fd);
	kt_assertf(buffer_equals(b, picture, true), "the copy is not turned upside down");

	/* QEMU draws again: the update is copied turned too. */
	fill(picture, W * H, 6);
	memcpy(u.map, picture, sizeof(picture));
	kt_assert_ok(qemu_frame_update_dmabuf(frame, 0, 0, W, H, msg, sizeof(msg)));
	kt_assert(n_changed == 2);
	kt_assert(buffer_equals(primary(frame), picture, true));
	qemu_frame_destroy(frame);
	kt_udmabuf_destroy(&u);
	kt_log("an upside-down dma-buf is copied turned");
}

static int vgem_open(void)
{
	for (int i = 0; i < 16; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersion *ver = drmGetVersion(fd);
		bool vgem = ver != NULL && strcmp(ver->name, "vgem") == 0;
		drmFreeVersion(ver);
		if (vgem)
			return fd;
		close(fd);
	}
	return -1;
}

/* Dispatch the loop until `changed` was called `want` times, at most timeout_ms. */
static bool wait_changed(int want, int timeout_ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (n_changed < want) {
		uint64_t now = kt_now_ns();
		if (now >= end)
			return false;
		struct pollfd p = {.fd = wl_event_loop_get_fd(loop), .events = POLLIN};
		poll(&p, 1, (int)((end - now) / 1000000u) + 1);
		kt_assert_ok(wl_event_loop_dispatch(loop, 0));
	}
	return true;
}

static void test_fenced(void)
{
	int vgem = vgem_open();
	if (vgem < 0) {
		kt_log("no vgem card: the fenced dma-buf is not tried");
		return;
	}
	struct drm_mode_create_dumb create = {.width = W, .height = H, .bpp = 32};
	kt_assert_errno(drmIoctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &create) == 0);
	kt_assert(create.pitch == W * 4);
	struct drm_mode_map_dumb map = {.handle = create.handle};
	kt_assert_errno(drmIoctl(vgem, DRM_IOCTL_MODE_MAP_DUMB, &map) == 0);
	uint32_t *pixels = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, vgem,
				(off_t)map.offset);
	kt_assert_errno(pixels != MAP_FAILED);
	static uint32_t picture[W * H];
	fill(picture, W * H, 7);
	memcpy(pixels, picture, sizeof(picture));
	int dmabuf;
	kt_assert_errno(drmPrimeHandleToFD(vgem, create.handle, DRM_CLOEXEC | DRM_RDWR, &dmabuf) ==
			0);

	struct qemu_frame *frame = qemu_frame_create(loop, on_changed, NULL);
	/* An earlier picture of another size, so that nothing turned is shown yet. */
	uint32_t small[4 * 4] = {0};
	kt_assert_ok(qemu_frame_scanout(frame, 4, 4, 16, PIXMAN_x8r8g8b8, small, sizeof(small), msg,
					sizeof(msg)));
	n_changed = 0;

	/* A write fence vgem signals only when told (or after its 10 s timeout). */
	struct vgem_fence_attach attach = {.handle = create.handle, .flags = VGEM_FENCE_WRITE};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_ATTACH, &attach) == 0);
	uint64_t t0 = kt_now_ns();
	kt_assert_ok(scanout_dmabuf(frame, dmabuf, false));
	kt_assert_ok(qemu_frame_update_dmabuf(frame, 0, 0, W, H, msg, sizeof(msg)));
	uint64_t took = kt_now_ns() - t0;
	kt_assertf(took < 500000000u, "the calls waited %llu ms for the fence",
		   (unsigned long long)(took / 1000000u));
	kt_assert(n_changed == 0);
	kt_assert(primary(frame) == NULL);
	kt_assert(!wait_changed(1, 300)); /* the loop does not read it either */
	kt_assert(primary(frame) == NULL);

	struct vgem_fence_signal sig = {.fence = attach.out_fence};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_SIGNAL, &sig) == 0);
	kt_assertf(wait_changed(1, 5000), "the signalled dma-buf was not copied");
	kt_assert(n_changed == 1);
	kt_assert(buffer_equals(primary(frame), picture, true));

	qemu_frame_destroy(frame);
	close(dmabuf);
	munmap(pixels, create.size);
	close(vgem);
	kt_log("a fenced dma-buf is read only once its fence signalled");
}

int main(void)
{
	log_init(LOG_LEVEL_INFO);
	loop = wl_event_loop_create();
	kt_assert(loop != NULL);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("/dev/udmabuf is absent (--modprobe udmabuf)");
	test_ring();
	test_recognised();
	test_flipped();
	test_fenced();
	wl_event_loop_destroy(loop);
	return 0;
}
