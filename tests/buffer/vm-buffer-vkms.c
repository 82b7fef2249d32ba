// SPDX-License-Identifier: MIT
/*
 * Buffers against the real kernel, on vkms with udmabufs:
 *  1. dmabuf_attributes_check() accepts a udmabuf and names the field of
 *     each bad one (size, stride, format, fds that are no dma-buf);
 *  2. the CPU reads a udmabuf through its mapping bracketed by SYNC;
 *  3. kms_fb_import() makes a framebuffer that a commit shows exactly
 *     (writeback), returns the same one the second time, and leaves no GEM
 *     handle open, also when two planes share one dma-buf;
 *  4. the copy path draws a udmabuf, a converted and scaled RGB565 udmabuf
 *     and a placeholder fill into a scanout swapchain buffer; the writeback
 *     capture equals the picture the test computes on its own; a second
 *     frame converts ABGR8888 in the other swapchain buffer; a GBM swapchain
 *     shows a copy exactly too.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "kmstest.h"
#include "render/copy.h"
#include "render/scanout.h"
#include "udmabuf.h"
#include "util/log.h"

#define TIMEOUT_MS 5000

static int logged_errors;

static void sink(enum log_level level, const char *line, void *data)
{
	fprintf(stderr, "log: %s\n", line);
	if (level == LOG_LEVEL_ERROR)
		logged_errors++;
}

static void expect_rejected(const struct dmabuf_attributes *a, const char *want)
{
	char msg[256] = "";
	int ret = dmabuf_attributes_check(a, msg, sizeof(msg));
	kt_assertf(ret == -EINVAL, "check returned %d for \"%s\"", ret, want);
	kt_assertf(strcmp(msg, want) == 0, "message \"%s\", want \"%s\"", msg, want);
	kt_log("rejected: %s", msg);
}

static void test_check(struct kt_device *dev)
{
	struct kt_udmabuf u;
	struct dmabuf_attributes a;
	char msg[256] = "", want[256];

	kt_udmabuf_create(&u, 1024 * 4 * 768);
	kt_assert(dmabuf_fd_is_dmabuf(u.fd));

	a = test_udmabuf_attrs(&u, 1024, 768, DRM_FORMAT_XRGB8888, 4096);
	kt_assertf(dmabuf_attributes_check(&a, msg, sizeof(msg)) == 0, "valid: %s", msg);
	int fd = a.fd[0];

	a.stride[0] = 4000;
	expect_rejected(&a, "plane 0: stride 4000 is smaller than width 1024 × 4 bytes");
	a.stride[0] = 4100;
	expect_rejected(&a, "plane 0: offset 0 + stride 4100 × height 768 = 3148800 exceeds the "
			    "dma-buf's size 3145728");
	a.stride[0] = 4096;
	a.offset[0] = 4096;
	expect_rejected(&a, "plane 0: offset 4096 + stride 4096 × height 768 = 3149824 exceeds "
			    "the dma-buf's size 3145728");
	a.offset[0] = 0;
	a.fourcc = 0x12345678;
	expect_rejected(&a, "format 0x12345678 is not supported");
	a.fourcc = DRM_FORMAT_XRGB8888;
	a.fd[1] = u.fd;
	snprintf(want, sizeof(want), "plane 1: fd %d given, format XR24 (XRGB8888) has 1 planes",
		 u.fd);
	expect_rejected(&a, want);
	a.fd[1] = -1;

	/* A too small dma-buf. */
	struct kt_udmabuf small;
	kt_udmabuf_create(&small, 1 << 20);
	struct dmabuf_attributes s =
		test_udmabuf_attrs(&small, 1024, 768, DRM_FORMAT_XRGB8888, 4096);
	expect_rejected(&s, "plane 0: offset 0 + stride 4096 × height 768 = 3145728 exceeds the "
			    "dma-buf's size 1048576");
	dmabuf_attributes_finish(&s);
	kt_udmabuf_destroy(&small);

	/* Fds that are no dma-buf: a regular file, the memfd behind it, the DRM device. */
	int others[] = {open("/etc/passwd", O_RDONLY | O_CLOEXEC), u.memfd, dev->fd};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		kt_assert_errno(others[i] >= 0);
		a.fd[0] = others[i];
		snprintf(want, sizeof(want), "plane 0: fd %d is not a dma-buf", others[i]);
		expect_rejected(&a, want);
	}
	close(others[0]);
	a.fd[0] = fd;

	/* NV12 with both planes in one dma-buf. */
	struct dmabuf_attributes nv = test_udmabuf_attrs(&u, 1024, 768, DRM_FORMAT_NV12, 1024);
	nv.n_planes = 2;
	nv.fd[1] = fcntl(nv.fd[0], F_DUPFD_CLOEXEC, 0);
	nv.offset[1] = 1024 * 768;
	nv.stride[1] = 1024;
	kt_assertf(dmabuf_attributes_check(&nv, msg, sizeof(msg)) == 0, "NV12: %s", msg);
	nv.offset[1] = 3145728 - 1024 * 383;
	expect_rejected(&nv, "plane 1: offset 2753536 + stride 1024 × height 384 = 3146752 "
			     "exceeds the dma-buf's size 3145728");
	dmabuf_attributes_finish(&nv);

	dmabuf_attributes_finish(&a);
	kt_udmabuf_destroy(&u);
}

static void test_cpu_read(void)
{
	struct kt_udmabuf u;
	kt_udmabuf_create(&u, 64 * 4 * 32 + 4096);
	uint32_t *px = (uint32_t *)((char *)u.map + 4096);
	for (uint32_t i = 0; i < 64 * 32; i++)
		px[i] = 0xff000000u | (i * 2654435761u >> 8);

	struct dmabuf_attributes a = test_udmabuf_attrs(&u, 64, 32, DRM_FORMAT_XRGB8888, 256);
	a.offset[0] = 4096;
	struct buffer *b = buffer_create_dmabuf(&a);
	kt_assert(b != NULL);
	kt_assert(a.fd[0] == -1);

	const void *data;
	uint32_t stride;
	kt_assert_ok(buffer_begin_read(b, &data, &stride));
	kt_assert(stride == 256);
	kt_assertf(memcmp(data, px, 64 * 4 * 32) == 0, "the mapping differs from the memfd");
	kt_assert(buffer_begin_read(b, &data, &stride) == -EBUSY);
	kt_assert_ok(buffer_end_read(b));
	buffer_unref(b);

	/* Tiled memory is not read as if it were linear. */
	a = test_udmabuf_attrs(&u, 64, 32, DRM_FORMAT_XRGB8888, 256);
	a.modifier = I915_FORMAT_MOD_X_TILED;
	b = buffer_create_dmabuf(&a);
	kt_assert(b != NULL);
	kt_assert(buffer_begin_read(b, &data, &stride) == -EOPNOTSUPP);
	struct render_rect r = {0, 0, 64, 32};
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 64, 32, NULL, 0);
	kt_assert(render_copy(img, &r, b, &r, RENDER_OP_SRC) == -EOPNOTSUPP);
	kt_assert(!b->reading);
	pixman_image_unref(img);
	buffer_unref(b);
	kt_udmabuf_destroy(&u);
	kt_log("CPU read through the dma-buf mapping matches the memfd");
}

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352d;
	v ^= v >> 15;
	v *= 0x846ca68b;
	v ^= v >> 16;
	return v;
}

static uint32_t rgb565_to_xrgb(uint16_t p)
{
	uint32_t r = p >> 11, g = (p >> 5) & 0x3f, b = p & 0x1f;
	r = (r << 3) | (r >> 2);
	g = (g << 2) | (g >> 4);
	b = (b << 3) | (b >> 2);
	return 0xff000000u | r << 16 | g << 8 | b;
}

static void commit_and_capture(struct kt_device *dev, struct kt_pipe *pipe, uint32_t fb_id,
			       struct kt_buffer *out)
{
	struct kt_atomic a;
	int fence_fd = -1;

	kt_fill_rect(&out->img, 0, 0, out->img.width, out->img.height, 0);
	kt_atomic_init(&a, dev);
	kt_atomic_add_modeset(&a, dev, pipe);
	kt_atomic_add_plane(&a, pipe->primary_id, pipe->crtc_id, fb_id, pipe->mode.hdisplay,
			    pipe->mode.vdisplay, 0, 0);
	kt_atomic_add_writeback(&a, pipe, out, &fence_fd);
	kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&a);
	kt_assertf(fence_fd >= 0, "no writeback fence");
	kt_assert_ok(kt_fence_wait(fence_fd, TIMEOUT_MS));
	close(fence_fd);
}

int main(void)
{
	struct kt_device dev;
	struct kt_pipe pipe;
	struct kt_buffer out;
	struct kt_image want;
	uint64_t differ = 0;

	log_set_sink(sink, NULL);
	log_init(LOG_LEVEL_DEBUG);
	kt_device_open_or_skip(&dev, "vkms");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	kt_assertf(pipe.writeback_id, "vkms has no writeback connector (enable_writeback=1?)");
	uint32_t w = pipe.mode.hdisplay, h = pipe.mode.vdisplay;
	uint64_t cap = 0;
	bool modifiers = drmGetCap(dev.fd, DRM_CAP_ADDFB2_MODIFIERS, &cap) == 0 && cap;
	struct kms_fb_registry fbs;
	kms_fb_registry_init(&fbs, dev.fd, modifiers);
	kt_log("vkms %" PRIu32 "x%" PRIu32 ", ADDFB2_MODIFIERS %d", w, h, modifiers);

	test_check(&dev);
	test_cpu_read();

	/* Created before any import, so no handle of it can be taken for a stale one. */
	kt_assert_ok(kt_dumb_create(&dev, &out, w, h, DRM_FORMAT_XRGB8888));
	kt_assert_ok(kt_image_alloc(&want, w, h, DRM_FORMAT_XRGB8888));

	/* 3. Direct import. */
	struct kt_udmabuf ux;
	kt_udmabuf_create(&ux, (size_t)w * 4 * h);
	struct kt_image ux_img = {w, h, w * 4, DRM_FORMAT_XRGB8888, ux.map};
	kt_fill_pattern(&ux_img, 0x5ca1);
	struct dmabuf_attributes a = test_udmabuf_attrs(&ux, w, h, DRM_FORMAT_XRGB8888, w * 4);
	struct buffer *bx = buffer_create_dmabuf(&a);
	kt_assert(bx != NULL);

	enum kms_fb_failure failure = KMS_FB_FAIL__COUNT;
	struct kms_fb *fb = kms_fb_import(&fbs, bx, &failure);
	kt_assertf(fb != NULL, "import failed: %s", kms_fb_failure_name(failure));
	kt_assert(failure == KMS_FB_FAIL_NONE);
	kt_assert(fb->fb_id != 0 && fb->handles[0] != 0);
	kt_assert(fb->width == w && fb->height == h && fb->fourcc == DRM_FORMAT_XRGB8888);

	/* The GEM handle is closed already: closing it again fails, AddFB with it too. */
	uint32_t stale = fb->handles[0], stale_fb = 0;
	uint32_t handles[4] = {stale}, pitches[4] = {w * 4}, offsets[4] = {0};
	kt_assertf(drmCloseBufferHandle(dev.fd, stale) != 0 && errno == EINVAL,
		   "GEM handle %" PRIu32 " was still open", stale);
	kt_assertf(drmModeAddFB2(dev.fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets,
				 &stale_fb, 0) != 0,
		   "AddFB2 with the closed handle %" PRIu32 " succeeded", stale);
	kt_log("import: fb %" PRIu32 ", GEM handle %" PRIu32 " closed", fb->fb_id, stale);

	struct kms_fb *again = kms_fb_import(&fbs, bx, NULL);
	kt_assertf(again == fb, "the second import made another framebuffer");
	kt_assert(fb->refcnt == 3); /* cache + two callers */
	kms_fb_unref(again);

	commit_and_capture(&dev, &pipe, fb->fb_id, &out);
	differ += kt_compare(&out.img, &ux_img, 0x00ffffff, "import");

	/* forget() drops the cache: the next import is a new framebuffer. */
	uint32_t old_id = fb->fb_id;
	kms_fb_forget(bx, &fbs);
	kt_assert(buffer_get_import(bx, &fbs) == NULL);
	kt_assert(fb->refcnt == 1);
	struct kms_fb *fb2 = kms_fb_import(&fbs, bx, NULL);
	kt_assert(fb2 != NULL && fb2 != fb && fb2->fb_id != old_id);
	kms_fb_unref(fb2);
	kms_fb_unref(fb);
	drmModeFBPtr old = drmModeGetFB(dev.fd, old_id);
	kt_assertf(old == NULL, "framebuffer %" PRIu32 " outlived its last reference", old_id);

	/* NV12 with both planes in one dma-buf: one GEM handle, closed once. */
	struct kt_udmabuf un;
	kt_udmabuf_create(&un, (size_t)w * h * 3 / 2);
	struct dmabuf_attributes nv = test_udmabuf_attrs(&un, w, h, DRM_FORMAT_NV12, w);
	nv.n_planes = 2;
	nv.fd[1] = fcntl(nv.fd[0], F_DUPFD_CLOEXEC, 0);
	nv.offset[1] = w * h;
	nv.stride[1] = w;
	struct buffer *bn = buffer_create_dmabuf(&nv);
	kt_assert(bn != NULL);
	int errors_before = logged_errors;
	struct kms_fb *fbn = kms_fb_import(&fbs, bn, &failure);
	kt_log("NV12 import: %s (%s)", fbn != NULL ? "accepted" : "refused",
	       kms_fb_failure_name(failure));
	if (fbn != NULL) {
		kt_assert(fbn->handles[0] == fbn->handles[1]);
		kt_assert(drmCloseBufferHandle(dev.fd, fbn->handles[0]) != 0);
	} else {
		kt_assert(failure == KMS_FB_FAIL_ADDFB);
	}
	kt_assertf(logged_errors == errors_before, "closing the shared GEM handle failed");
	kms_fb_unref(fbn);
	buffer_unref(bn);
	kt_udmabuf_destroy(&un);

	/* 4. The copy path: a swapchain of two buffers on vkms. */
	struct scanout_swapchain *sc =
		scanout_swapchain_create(&fbs, w, h, DRM_FORMAT_XRGB8888, 2, SCANOUT_ALLOC_AUTO);
	kt_assert(sc != NULL);
	kt_log("swapchain: %s buffers", sc->alloc == SCANOUT_ALLOC_GBM ? "GBM" : "dumb");
	struct scanout_buffer *s1 = scanout_swapchain_acquire(sc);
	kt_assert(s1 != NULL);

	/* RGB565, a quarter of the screen, shown 2x in the bottom right quarter. */
	uint32_t qw = w / 4, qh = h / 4;
	struct kt_udmabuf u565;
	kt_udmabuf_create(&u565, (size_t)qw * 2 * qh);
	uint16_t *p565 = u565.map;
	for (uint32_t i = 0; i < qw * qh; i++)
		p565[i] = (uint16_t)hash32(i ^ 0x565);
	struct dmabuf_attributes a565 =
		test_udmabuf_attrs(&u565, qw, qh, DRM_FORMAT_RGB565, qw * 2);
	struct buffer *b565 = buffer_create_dmabuf(&a565);
	kt_assert(b565 != NULL);

	struct render_rect all = {0, 0, w, h};
	kt_assert_ok(render_fill(s1->image, &all, 0xff203040));
	struct render_rect src = {(int32_t)w / 4, (int32_t)h / 4, w / 2, h / 2};
	struct render_rect dst = {0, 0, w / 2, h / 2};
	kt_assert_ok(render_copy(s1->image, &dst, bx, &src, RENDER_OP_SRC));
	struct render_rect src565 = {0, 0, qw, qh};
	struct render_rect dst565 = {(int32_t)(w / 2), (int32_t)(h / 2), 2 * qw, 2 * qh};
	kt_assert_ok(render_copy(s1->image, &dst565, b565, &src565, RENDER_OP_SRC));

	kt_fill_rect(&want, 0, 0, w, h, 0xff203040);
	for (uint32_t y = 0; y < h / 2; y++)
		for (uint32_t x = 0; x < w / 2; x++)
			*kt_pixel(&want, x, y) = *kt_pixel(&ux_img, x + w / 4, y + h / 4);
	for (uint32_t y = 0; y < 2 * qh; y++)
		for (uint32_t x = 0; x < 2 * qw; x++)
			*kt_pixel(&want, w / 2 + x, h / 2 + y) =
				rgb565_to_xrgb(p565[(y / 2) * qw + x / 2]);

	scanout_buffer_set_busy(s1);
	commit_and_capture(&dev, &pipe, s1->fb->fb_id, &out);
	differ += kt_compare(&out.img, &want, 0x00ffffff, "copy");

	/* Second frame in the other buffer: ABGR8888 converted, full screen. */
	struct scanout_buffer *s2 = scanout_swapchain_acquire(sc);
	kt_assert(s2 != NULL && s2 != s1);
	scanout_buffer_set_busy(s2);
	kt_assert(scanout_swapchain_acquire(sc) == NULL);

	struct kt_udmabuf uab;
	kt_udmabuf_create(&uab, (size_t)w * 4 * h);
	uint32_t *pab = uab.map;
	for (uint32_t i = 0; i < w * h; i++)
		pab[i] = hash32(i ^ 0xab);
	struct dmabuf_attributes aab = test_udmabuf_attrs(&uab, w, h, DRM_FORMAT_ABGR8888, w * 4);
	struct buffer *bab = buffer_create_dmabuf(&aab);
	kt_assert(bab != NULL);
	uint64_t t0 = kt_now_ns();
	kt_assert_ok(render_copy(s2->image, &all, bab, &all, RENDER_OP_SRC));
	uint64_t t_convert = kt_now_ns() - t0;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint32_t p = pab[y * w + x];
			*kt_pixel(&want, x, y) =
				0xff000000u | (p & 0xff) << 16 | (p & 0xff00) | ((p >> 16) & 0xff);
		}
	commit_and_capture(&dev, &pipe, s2->fb->fb_id, &out);
	scanout_buffer_release(s1);
	differ += kt_compare(&out.img, &want, 0x00ffffff, "convert");
	kt_assert(scanout_swapchain_acquire(sc) == s1);

	/* Timing of a straight blit of the whole screen into the first buffer. */
	t0 = kt_now_ns();
	kt_assert_ok(render_copy(s1->image, &all, bx, &all, RENDER_OP_SRC));
	uint64_t t_blit = kt_now_ns() - t0;
	kt_log("%" PRIu32 "x%" PRIu32 " copy: XRGB->XRGB %.2f ms, ABGR->XRGB %.2f ms", w, h,
	       (double)t_blit / 1e6, (double)t_convert / 1e6);

	/* The same through a GBM swapchain (Mesa's kms_swrast on vkms). */
	struct scanout_swapchain *gsc =
		scanout_swapchain_create(&fbs, w, h, DRM_FORMAT_XRGB8888, 2, SCANOUT_ALLOC_GBM);
	kt_assert(gsc != NULL && gsc->alloc == SCANOUT_ALLOC_GBM);
	struct scanout_buffer *g = scanout_swapchain_acquire(gsc);
	kt_assert_ok(render_copy(g->image, &all, bx, &all, RENDER_OP_SRC));
	commit_and_capture(&dev, &pipe, g->fb->fb_id, &out);
	differ += kt_compare(&out.img, &ux_img, 0x00ffffff, "gbm");
	commit_and_capture(&dev, &pipe, s1->fb->fb_id, &out);
	scanout_swapchain_destroy(gsc);

	kt_assertf(differ == 0, "%" PRIu64 " pixels differ", differ);

	/* Dropping the buffer drops its cached framebuffer. */
	fb = kms_fb_import(&fbs, bx, NULL);
	uint32_t fb_id = fb->fb_id;
	kms_fb_unref(fb);
	buffer_unref(bx);
	drmModeFBPtr gone = drmModeGetFB(dev.fd, fb_id);
	kt_assertf(gone == NULL, "framebuffer %" PRIu32 " outlived its buffer", fb_id);

	buffer_unref(b565);
	buffer_unref(bab);
	scanout_swapchain_destroy(sc);
	kt_udmabuf_destroy(&ux);
	kt_udmabuf_destroy(&u565);
	kt_udmabuf_destroy(&uab);
	kt_image_free(&want);
	kt_buffer_destroy(&dev, &out);
	kt_pipe_finish(&dev, &pipe);
	kms_fb_registry_finish(&fbs);
	kt_device_close(&dev);
	kt_assertf(logged_errors == 0, "%d errors logged", logged_errors);
	kt_log("PASS");
	return 0;
}
