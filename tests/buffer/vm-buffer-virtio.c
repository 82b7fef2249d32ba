// SPDX-License-Identifier: MIT
/*
 * Buffers on virtio-gpu, which on Linux 6.1 and 6.12 imports no foreign dma-buf:
 *  1. kms_fb_import() of a udmabuf fails with KMS_FB_FAIL_IMPORT and ENODEV,
 *     remembered on the buffer and logged once;
 *  2. a second call does not touch the kernel: the DRM fd's number is made to
 *     point at /dev/null meanwhile, where any ioctl would fail with ENOTTY,
 *     yet the answer is still the remembered ENODEV;
 *  3. kms_fb_forget() makes the next call try the kernel again;
 *  4. the copy path is the way out: the udmabuf is copied into a scanout
 *     swapchain buffer (dumb and GBM, both measured), the buffer read back
 *     equals the udmabuf and a flip to it completes.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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
#define COPIES     10

static int logged_warnings;

static void sink(enum log_level level, const char *line, void *data)
{
	fprintf(stderr, "log: %s\n", line);
	if (level <= LOG_LEVEL_WARN)
		logged_warnings++;
}

static void flip_to(struct kt_device *dev, struct kt_pipe *pipe, uint32_t fb_id, bool modeset)
{
	struct kt_atomic a;
	struct kt_flip flip = {0};

	kt_atomic_init(&a, dev);
	if (modeset)
		kt_atomic_add_modeset(&a, dev, pipe);
	kt_atomic_add_plane(&a, pipe->primary_id, pipe->crtc_id, fb_id, pipe->mode.hdisplay,
			    pipe->mode.vdisplay, 0, 0);
	kt_assert_ok(kt_atomic_commit(&a,
				      DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_ATOMIC_NONBLOCK |
					      (modeset ? DRM_MODE_ATOMIC_ALLOW_MODESET : 0),
				      &flip));
	kt_atomic_finish(&a);
	kt_assert_ok(kt_flip_wait(dev, &flip, TIMEOUT_MS));
}

static void copy_path(struct kt_device *dev, struct kt_pipe *pipe, bool modifiers,
		      struct buffer *src, const struct kt_image *want, enum scanout_alloc alloc,
		      bool modeset)
{
	uint32_t w = want->width, h = want->height;
	uint64_t t_create = kt_now_ns();
	struct kms_fb_registry fbs;
	kms_fb_registry_init(&fbs, dev->fd, modifiers);
	struct scanout_swapchain *sc =
		scanout_swapchain_create(&fbs, w, h, DRM_FORMAT_XRGB8888, 2, alloc);
	t_create = kt_now_ns() - t_create;
	if (sc == NULL && alloc == SCANOUT_ALLOC_GBM) {
		kt_log("GBM: no swapchain on this device");
		return;
	}
	kt_assert(sc != NULL);
	const char *kind = sc->alloc == SCANOUT_ALLOC_GBM ? "GBM" : "dumb";

	struct render_rect all = {0, 0, w, h};
	struct scanout_buffer *s = NULL;
	/* Untimed: the first write to each buffer faults its pages in. */
	for (unsigned int i = 0; i < sc->n_buffers; i++)
		kt_assert_ok(render_copy(sc->buffers[i].image, &all, src, &all, RENDER_OP_SRC));
	uint64_t t0 = kt_now_ns();
	for (int i = 0; i < COPIES; i++) {
		s = scanout_swapchain_acquire(sc);
		kt_assert(s != NULL);
		kt_assert_ok(render_copy(s->image, &all, src, &all, RENDER_OP_SRC));
		scanout_buffer_set_busy(s);
		scanout_buffer_release(s);
	}
	uint64_t t = (kt_now_ns() - t0) / COPIES;

	struct kt_image got = {w, h, s->stride, DRM_FORMAT_XRGB8888, s->data};
	uint64_t t1 = kt_now_ns();
	uint64_t differ = kt_compare(&got, want, 0x00ffffff, kind);
	uint64_t t_read = kt_now_ns() - t1;
	flip_to(dev, pipe, s->fb->fb_id, modeset);
	kt_log("%s (asked %d): swapchain created in %.1f ms, %" PRIu32 "x%" PRIu32
	       " copy %.2f ms per frame, read back and compare %.1f ms, flip done",
	       kind, alloc, (double)t_create / 1e6, w, h, (double)t / 1e6, (double)t_read / 1e6);
	kt_assertf(differ == 0, "%s: %" PRIu64 " pixels differ", kind, differ);

	/* The plane must not keep a freed framebuffer: show nothing before destroying. */
	struct kt_atomic a;
	kt_atomic_init(&a, dev);
	kt_atomic_disable_plane(&a, pipe->primary_id);
	kt_atomic_add(&a, pipe->crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	kt_atomic_add(&a, pipe->crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
	kt_atomic_add(&a, pipe->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&a);
	scanout_swapchain_destroy(sc);
	kms_fb_registry_finish(&fbs);
}

int main(void)
{
	struct kt_device dev;
	struct kt_pipe pipe;

	log_set_sink(sink, NULL);
	log_init(LOG_LEVEL_DEBUG);
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	uint32_t w = pipe.mode.hdisplay, h = pipe.mode.vdisplay;
	uint64_t cap = 0;
	bool modifiers = drmGetCap(dev.fd, DRM_CAP_ADDFB2_MODIFIERS, &cap) == 0 && cap;
	struct kms_fb_registry fbs;
	kms_fb_registry_init(&fbs, dev.fd, modifiers);
	char *render = drmGetRenderDeviceNameFromFd(dev.fd);
	kt_log("virtio_gpu %" PRIu32 "x%" PRIu32 ", ADDFB2_MODIFIERS %d, render node %s", w, h,
	       modifiers, render != NULL ? render : "none");
	free(render);

	struct kt_udmabuf u;
	kt_udmabuf_create(&u, (size_t)w * 4 * h);
	struct kt_image img = {w, h, w * 4, DRM_FORMAT_XRGB8888, u.map};
	kt_fill_pattern(&img, 0x7e57);
	struct dmabuf_attributes a = test_udmabuf_attrs(&u, w, h, DRM_FORMAT_XRGB8888, w * 4);
	struct buffer *b = buffer_create_dmabuf(&a);
	kt_assert(b != NULL);

	/* 1. Refused, and remembered. */
	enum kms_fb_failure failure = KMS_FB_FAIL_NONE;
	errno = 0;
	kt_assert(kms_fb_import(&fbs, b, &failure) == NULL);
	kt_assertf(failure == KMS_FB_FAIL_IMPORT, "failure %s", kms_fb_failure_name(failure));
	kt_assertf(errno == ENODEV, "errno %d", errno);
	struct buffer_import *import = buffer_get_import(b, &fbs);
	kt_assert(import != NULL && import->fb == NULL);
	kt_assert(import->failure == KMS_FB_FAIL_IMPORT && import->error == ENODEV);
	kt_log("first import: %s: %s", kms_fb_failure_name(import->failure), import->message);
	kt_assertf(logged_warnings == 1, "%d warnings for one failed import", logged_warnings);

	/* 2. Not retried: the fd number now leads to /dev/null. */
	int saved = fcntl(dev.fd, F_DUPFD_CLOEXEC, 0);
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	kt_assert_errno(saved >= 0 && null_fd >= 0);
	kt_assert_errno(dup3(null_fd, dev.fd, O_CLOEXEC) == dev.fd);
	for (int i = 0; i < 3; i++) {
		failure = KMS_FB_FAIL_NONE;
		errno = 0;
		kt_assert(kms_fb_import(&fbs, b, &failure) == NULL);
		kt_assertf(failure == KMS_FB_FAIL_IMPORT && errno == ENODEV,
			   "call %d: %s, errno %d: the kernel was asked again", i + 2,
			   kms_fb_failure_name(failure), errno);
	}
	kt_assert(buffer_get_import(b, &fbs) == import && import->error == ENODEV);
	kt_assertf(logged_warnings == 1, "the failure was logged again");
	kt_assert_errno(dup3(saved, dev.fd, O_CLOEXEC) == dev.fd);
	close(saved);
	close(null_fd);
	kt_log("calls 2-4: remembered failure, no ioctl");

	/* 3. Forgotten: asked again, refused again. */
	kms_fb_forget(b, &fbs);
	kt_assert(buffer_get_import(b, &fbs) == NULL);
	errno = 0;
	kt_assert(kms_fb_import(&fbs, b, &failure) == NULL);
	kt_assert(failure == KMS_FB_FAIL_IMPORT && errno == ENODEV);
	kt_assert(logged_warnings == 2);

	/* 4. The copy path instead. */
	copy_path(&dev, &pipe, modifiers, b, &img, SCANOUT_ALLOC_DUMB, true);
	copy_path(&dev, &pipe, modifiers, b, &img, SCANOUT_ALLOC_GBM, true);
	copy_path(&dev, &pipe, modifiers, b, &img, SCANOUT_ALLOC_AUTO, true);

	buffer_unref(b);
	kt_udmabuf_destroy(&u);
	kt_pipe_finish(&dev, &pipe);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
