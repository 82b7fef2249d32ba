// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buffer/buffer.h"
#include "buffer/dmabuf.h"
#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "util/log.h"

void tk_udmabuf_create(struct tk_udmabuf *u, uint32_t width, uint32_t height, uint32_t fourcc,
		       uint32_t bpp)
{
	memset(u, 0, sizeof(*u));
	u->width = width;
	u->height = height;
	u->fourcc = fourcc;
	u->stride = (width * bpp + 63) & ~63u;
	kt_udmabuf_create(&u->mem, (size_t)u->stride * height);
	u->map = u->mem.map;
	u->size = u->mem.size;
	int fd = fcntl(u->mem.fd, F_DUPFD_CLOEXEC, 0);
	kt_assert_errno(fd >= 0);

	struct dmabuf_attributes attrs;
	dmabuf_attributes_init(&attrs);
	attrs.width = width;
	attrs.height = height;
	attrs.fourcc = fourcc;
	attrs.modifier = DRM_FORMAT_MOD_LINEAR;
	attrs.n_planes = 1;
	attrs.fd[0] = fd;
	attrs.stride[0] = u->stride;
	u->buffer = buffer_create_dmabuf(&attrs);
	kt_assertf(u->buffer != NULL, "buffer_create_dmabuf failed");
}

void tk_udmabuf_destroy(struct tk_udmabuf *u)
{
	buffer_unref(u->buffer);
	kt_udmabuf_destroy(&u->mem);
	memset(u, 0, sizeof(*u));
}

struct kt_image tk_udmabuf_image(struct tk_udmabuf *u)
{
	return (struct kt_image){
		.width = u->width,
		.height = u->height,
		.stride = u->stride,
		.format = DRM_FORMAT_XRGB8888,
		.data = u->map,
	};
}

void tk_wait(struct wl_event_loop *loop, const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		uint64_t now = kt_now_ns();
		kt_assertf(now < deadline, "timed out waiting for %s", what);
		int ret = wl_event_loop_dispatch(loop, (int)((deadline - now) / 1000000u) + 1);
		kt_assertf(ret >= 0 || errno == EINTR, "event loop: %s", strerror(errno));
	}
}

static void handle_present(struct wl_listener *listener, void *data)
{
	struct tk_presents *p = wl_container_of(listener, p, listener);
	const struct kms_present_event *ev = data;
	p->count++;
	p->last_flags = ev->flags;
	p->last_buffer = ev->n_layers > 0 ? ev->layers[0].buffer : NULL;
}

void tk_presents_init(struct tk_presents *p, struct kms_output *output)
{
	memset(p, 0, sizeof(*p));
	p->output = output;
	p->listener.notify = handle_present;
	wl_signal_add(&output->events.present, &p->listener);
}

void tk_presents_finish(struct tk_presents *p)
{
	wl_list_remove(&p->listener.link);
}

void tk_wait_presents(struct wl_event_loop *loop, struct tk_presents *p, uint64_t count)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (p->count < count) {
		uint64_t now = kt_now_ns();
		if (now >= deadline) {
			const struct kms_output *o = p->output;
			fflush(stdout);
			fprintf(stderr,
				"timed out waiting for present %llu (have %llu): output %s "
				"state %d, flip pending %d, frame wanted %d, capture in flight "
				"%d, %llu commits; the test bed hung\n",
				(unsigned long long)count, (unsigned long long)p->count, o->name,
				(int)o->state, o->flip_pending, o->frame_wanted,
				kms_capture_in_flight(o), (unsigned long long)o->stats.commits);
			exit(KT_EXIT_HUNG);
		}
		wl_event_loop_dispatch(loop, (int)((deadline - now) / 1000000u) + 1);
	}
}

struct capture_wait {
	bool done;
	struct kt_image *img;
};

static void handle_capture(struct kms_output *output, int status, const void *pixels,
			   uint32_t width, uint32_t height, uint32_t stride, void *data)
{
	struct capture_wait *w = data;
	kt_check_capture_status(status);
	kt_assert_ok(kt_image_alloc(w->img, width, height, DRM_FORMAT_XRGB8888));
	for (uint32_t y = 0; y < height; y++)
		memcpy(kt_pixel(w->img, 0, y), (const char *)pixels + (size_t)y * stride,
		       (size_t)width * 4);
	w->done = true;
}

void tk_capture(struct wl_event_loop *loop, struct kms_output *output, struct kt_image *img)
{
	struct capture_wait w = {.img = img};
	kt_assert_ok(kms_output_capture(output, handle_capture, &w));
	tk_wait(loop, &w.done, "a writeback capture");
}

struct kms_output *tk_light_virtual1(struct kt_device *dev, const char *driver,
				     const struct kms_output_settings *settings,
				     struct wl_event_loop **loop, struct kms_device **device,
				     struct tk_presents *presents)
{
	kt_device_open_or_skip(dev, driver);
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	*loop = wl_event_loop_create();
	kt_assert(*loop != NULL);
	*device = kms_device_create(*loop, dev->fd, driver);
	kt_assert(*device != NULL);
	struct kms_output *output = kms_device_find_output(*device, "Virtual-1");
	kt_assert(output != NULL);
	tk_presents_init(presents, output);
	kt_assert_ok(kms_output_enable(output, settings));
	tk_wait_presents(*loop, presents, 1);
	return output;
}
