// SPDX-License-Identifier: MIT
#include <stdint.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "test.h"

struct events {
	char order[16]; /* 'r' release, 'd' destroy */
	int n;
	struct wl_listener release, destroy;
	struct buffer *seen;
};

static void on_release(struct wl_listener *l, void *data)
{
	struct events *ev = wl_container_of(l, ev, release);
	check(ev->n < 15);
	ev->order[ev->n++] = 'r';
	ev->seen = data;
}

static void on_destroy(struct wl_listener *l, void *data)
{
	struct events *ev = wl_container_of(l, ev, destroy);
	check(ev->n < 15);
	ev->order[ev->n++] = 'd';
	ev->seen = data;
	wl_list_remove(&ev->release.link);
	wl_list_remove(&ev->destroy.link);
}

static void listen(struct buffer *b, struct events *ev)
{
	*ev = (struct events){0};
	ev->release.notify = on_release;
	ev->destroy.notify = on_destroy;
	wl_signal_add(&b->events.release, &ev->release);
	wl_signal_add(&b->events.destroy, &ev->destroy);
}

static uint32_t pixels[4 * 4];

static void test_lock_release_destroy(void)
{
	struct events ev;
	struct buffer *b = buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_XRGB8888);
	check(b != NULL);
	check_int_eq(b->type, BUFFER_CPU);
	check_int_eq(b->refcnt, 1);
	listen(b, &ev);

	/* Two users: release only when the last one goes. */
	buffer_lock(b);
	buffer_lock(b);
	check_int_eq(b->refcnt, 3);
	buffer_unlock(b);
	check_str_eq(ev.order, "");
	buffer_unlock(b);
	check_str_eq(ev.order, "r");
	check(ev.seen == b);

	/* Locked again, the creator drops its reference: still alive until unlocked. */
	buffer_lock(b);
	buffer_unref(b);
	check_str_eq(ev.order, "r");
	check_int_eq(b->refcnt, 1);
	buffer_unlock(b);
	check_str_eq(ev.order, "rrd");

	buffer_unref(NULL);
}

static void test_destroy_without_lock(void)
{
	struct events ev;
	struct buffer *b = buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_ARGB8888);
	check(b != NULL);
	listen(b, &ev);
	check(buffer_ref(b) == b);
	buffer_unref(b);
	check_str_eq(ev.order, "");
	buffer_unref(b);
	check_str_eq(ev.order, "d");
}

static void test_cpu_read(void)
{
	struct buffer *b = buffer_create_cpu(pixels, 3, 4, 16, DRM_FORMAT_XRGB8888);
	const void *data = NULL;
	uint32_t stride = 0;
	check(b != NULL);
	check_int_eq(buffer_begin_read(b, &data, &stride), 0);
	check(data == pixels);
	check_int_eq(stride, 16);
	check_int_eq(buffer_begin_read(b, &data, &stride), -EBUSY);
	check_int_eq(buffer_end_read(b), 0);
	check_int_eq(buffer_end_read(b), -EINVAL);
	buffer_unref(b);
}

static void test_cpu_bad_args(void)
{
	errno = 0;
	check(buffer_create_cpu(pixels, 4, 4, 16, 0x12345678) == NULL);
	check_int_eq(errno, EINVAL);
	check(buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_NV12) == NULL);
	check(buffer_create_cpu(pixels, 0, 4, 16, DRM_FORMAT_XRGB8888) == NULL);
	check(buffer_create_cpu(pixels, 4, 16385, 16, DRM_FORMAT_XRGB8888) == NULL);
	check(buffer_create_cpu(pixels, 5, 4, 16, DRM_FORMAT_XRGB8888) == NULL);
	check(buffer_create_cpu(pixels, 3, 4, 14, DRM_FORMAT_RGB565) == NULL);
	check(buffer_create_cpu(NULL, 4, 4, 16, DRM_FORMAT_XRGB8888) == NULL);

	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = 4;
	a.height = 4;
	a.fourcc = DRM_FORMAT_XRGB8888;
	a.n_planes = 1;
	a.fd[0] = 0; /* stdin: not a dma-buf, and left alone on failure */
	a.stride[0] = 16;
	check(buffer_create_dmabuf(&a) == NULL);
	check_int_eq(a.fd[0], 0);
}

/* A CPU buffer is never offered to the kernel: the failure is remembered per device. */
static void test_import_cpu_buffer(void)
{
	struct buffer *b = buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_XRGB8888);
	enum kms_fb_failure failure = KMS_FB_FAIL_NONE;
	struct kms_fb_registry dev_a, dev_b;
	/* Both devices behind one fd number: the key is the device, not the number. */
	kms_fb_registry_init(&dev_a, 1000, true);
	kms_fb_registry_init(&dev_b, 1000, false);
	check(b != NULL);
	check(buffer_get_import(b, &dev_a) == NULL);

	check(kms_fb_import(&dev_a, b, &failure) == NULL);
	check_int_eq(failure, KMS_FB_FAIL_NOT_DMABUF);
	struct buffer_import *import = buffer_get_import(b, &dev_a);
	check(import != NULL);
	check_int_eq(import->failure, KMS_FB_FAIL_NOT_DMABUF);
	check(import->fb == NULL);
	check_str_eq(kms_fb_failure_name(import->failure), "not a dma-buf");

	failure = KMS_FB_FAIL_NONE;
	check(kms_fb_import(&dev_a, b, &failure) == NULL);
	check_int_eq(failure, KMS_FB_FAIL_NOT_DMABUF);
	check(buffer_get_import(b, &dev_a) == import);
	check(buffer_get_import(b, &dev_b) == NULL);

	kms_fb_forget(b, &dev_a);
	check(buffer_get_import(b, &dev_a) == NULL);
	kms_fb_forget(b, &dev_a);

	/* A device going away drops what every buffer remembers about it. */
	check(kms_fb_import(&dev_a, b, NULL) == NULL);
	check(kms_fb_import(&dev_b, b, NULL) == NULL);
	kms_fb_registry_finish(&dev_a);
	check(buffer_get_import(b, &dev_a) == NULL);
	check(buffer_get_import(b, &dev_b) != NULL);

	/* Remembered entries are freed with the buffer (ASan checks the leak). */
	buffer_unref(b);
	check(wl_list_empty(&dev_b.imports));
	kms_fb_registry_finish(&dev_b);
	kms_fb_unref(NULL);
}

int main(void)
{
	test_lock_release_destroy();
	test_destroy_without_lock();
	test_cpu_read();
	test_cpu_bad_args();
	test_import_cpu_buffer();
	return 0;
}
