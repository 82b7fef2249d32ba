// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pixman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "control/control.h"
#include "control/private.h"
#include "control/screenshot.h"
#include "daemon/display.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "render/copy.h"
#include "util/fourcc.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

/*
 * The seals a capture's memfd gets once its pixels are written. Not
 * F_SEAL_WRITE: the kernel adds it only after waiting for pages pinned by
 * others (up to some 150 ms), which a client could cause; F_SEAL_FUTURE_WRITE
 * waits for nothing, and the daemon closes its fd right after anyway.
 */
#define CAPTURE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE)

/* How long a composed screenshot waits for the buffers it reads to be written. */
#define COMPOSED_WAIT_MS 2000

/*
 * A composed screenshot waiting for a buffer of the output whose producer
 * is still writing it (an unsignalled write fence): the requests join it
 * like a writeback capture and are answered from the loop once every
 * buffer is readable, or fail at the deadline.
 */
struct composed_capture {
	struct control_capture base; /* first: capture_free() frees the whole */
	struct buffer_waiter waiter;
	struct wl_event_source *deadline;
	struct wl_listener output_destroy; /* base.output->events.destroy */
	struct wl_listener output_present; /* base.output->events.present: layers changed */
};

int control_compose(struct kms_output *output, uint32_t **pixels, uint32_t *width, uint32_t *height)
{
	uint32_t w, h;
	kms_output_get_mode_size(output, &w, &h);
	if (output->state != KMS_OUTPUT_ON || w == 0 || h == 0)
		return -ENODEV;
	uint32_t *data = malloc((size_t)w * h * 4);
	if (data == NULL)
		return -ENOMEM;
	pixman_image_t *image =
		pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, data, (int)w * 4);
	if (image == NULL) {
		free(data);
		return -ENOMEM;
	}
	/* A layer that cannot be read is left out (logged); the rest is the picture. */
	kms_output_compose(output, image);
	pixman_image_unref(image);
	*pixels = data;
	*width = w;
	*height = h;
	return 0;
}

struct kms_output *control_find_output(struct display *displays, const char *name, char *msg,
				       size_t msg_size)
{
	struct kms_output *output = display_find_output(displays, name);
	if (output != NULL)
		return output;
	int matches = 0;
	struct display_device *dev;
	wl_list_for_each (dev, &displays->devices, link)
		matches += dev->kms != NULL && kms_device_find_output(dev->kms, name) != NULL;
	if (matches > 1)
		snprintf(msg, msg_size, "several devices have an output \"%s\": name it as CARD:%s",
			 name, name);
	else
		snprintf(msg, msg_size, "no output \"%s\"", name);
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int control_write_pixels(int fd, const void *pixels, uint32_t width, uint32_t height,
			 uint32_t stride)
{
	size_t size = (size_t)stride * height;
	if (ftruncate(fd, (off_t)size) != 0)
		return -errno;
	int ret = control_pwrite_all(fd, pixels, (size_t)stride * (height - 1) + (size_t)width * 4);
	if (ret < 0)
		return ret;
	if (fcntl(fd, F_ADD_SEALS, CAPTURE_SEALS) != 0)
		return -errno;
	return 0;
}

static void answer(struct wl_resource *resource, uint32_t serial, const char *name, int fd,
		   const void *pixels, uint32_t width, uint32_t height, uint32_t stride,
		   enum vscanout_control_v1_screenshot_source source)
{
	uint64_t start = now_ns();
	int ret = control_write_pixels(fd, pixels, width, height, stride);
	uint64_t took = now_ns() - start;
	if (ret == -EPERM)
		control_send_failed(resource, serial,
				    "output %s: the memfd was sealed meanwhile: cannot write the "
				    "pixels",
				    name);
	else if (ret < 0)
		control_send_failed(resource, serial, "output %s: cannot write the pixels: %s",
				    name, strerror(-ret));
	if (ret < 0)
		return;
	log_debug("output %s: %ux%u screenshot, %zu bytes of pixels handed over in %" PRIu64 " us",
		  name, width, height, (size_t)stride * height, took / 1000);
	vscanout_control_v1_send_image(resource, serial, width, height, stride,
				       DRM_FORMAT_XRGB8888);
	vscanout_control_v1_send_done(resource, serial, source);
}

static void capture_free(struct control_capture *capture)
{
	struct control_wait *wait, *tmp;
	wl_list_for_each_safe (wait, tmp, &capture->waits, link)
		control_wait_free(wait);
	wl_list_remove(&capture->link);
	free(capture);
}

static void handle_capture(struct kms_output *output, int status, const void *pixels,
			   uint32_t width, uint32_t height, uint32_t stride, void *data)
{
	struct control_capture *capture = data;
	struct control_wait *wait;
	wl_list_for_each (wait, &capture->waits, link) {
		struct wl_resource *resource = wait->cr->resource;
		if (status == -ENODEV)
			control_send_failed(resource, wait->serial,
					    "output %s turned off before the capture",
					    capture->name);
		else if (status == -ETIMEDOUT)
			control_send_failed(resource, wait->serial,
					    "output %s: the writeback capture did not complete "
					    "within 2 s (no commit could take it, or the driver "
					    "lost the job)",
					    capture->name);
		else if (status < 0)
			control_send_failed(resource, wait->serial,
					    "output %s: the capture failed: %s", capture->name,
					    strerror(-status));
		else
			answer(resource, wait->serial, capture->name, wait->fd, pixels, width,
			       height, stride, VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_WRITEBACK);
	}
	capture_free(capture);
}

/* The capture waiting on output, started if there is none. NULL with *ret set otherwise. */
static struct control_capture *get_capture(struct control *control, struct kms_output *output,
					   const char *name, int *ret)
{
	struct control_capture *capture;
	wl_list_for_each (capture, &control->captures, link) {
		if (capture->output == output)
			return capture;
	}
	capture = calloc(1, sizeof(*capture));
	if (capture == NULL) {
		*ret = -ENOMEM;
		return NULL;
	}
	capture->control = control;
	capture->output = output;
	snprintf(capture->name, sizeof(capture->name), "%s", name);
	wl_list_init(&capture->waits);
	*ret = kms_output_capture(output, handle_capture, capture);
	if (*ret < 0) {
		free(capture);
		return NULL;
	}
	wl_list_insert(&control->captures, &capture->link);
	return capture;
}

/* The first buffer on the output that the CPU may not read now, or NULL. */
static struct buffer *busy_buffer(struct kms_output *output)
{
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->buffer != NULL && !buffer_readable(layer->buffer))
			return layer->buffer;
	}
	return NULL;
}

static void composed_finish(struct composed_capture *cc, int status)
{
	struct control_capture *capture = &cc->base;
	wl_event_source_remove(cc->deadline);
	buffer_waiter_cancel(&cc->waiter);
	wl_list_remove(&cc->output_destroy.link);
	wl_list_remove(&cc->output_present.link);

	uint32_t *pixels = NULL, width = 0, height = 0;
	if (status == 0 && !wl_list_empty(&capture->waits))
		status = control_compose(capture->output, &pixels, &width, &height);
	struct control_wait *wait;
	wl_list_for_each (wait, &capture->waits, link) {
		struct wl_resource *resource = wait->cr->resource;
		if (status == -ENODEV)
			control_send_failed(resource, wait->serial, "output %s is off or gone",
					    capture->name);
		else if (status == -ETIMEDOUT)
			control_send_failed(
				resource, wait->serial,
				"output %s: a buffer it shows is still being written "
				"(its dma-buf's write fence did not signal within %d s)",
				capture->name, COMPOSED_WAIT_MS / 1000);
		else if (status < 0)
			control_send_failed(resource, wait->serial, "output %s: %s", capture->name,
					    strerror(-status));
		else
			answer(resource, wait->serial, capture->name, wait->fd, pixels, width,
			       height, width * 4, VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_COMPOSED);
	}
	free(pixels);
	capture_free(capture);
}

static void composed_wait(struct composed_capture *cc);

static void handle_composed_readable(struct buffer_waiter *waiter)
{
	struct composed_capture *cc = wl_container_of(waiter, cc, waiter);
	composed_wait(cc);
}

/* Wait for the next busy buffer of the output, or compose now that there is none. */
static void composed_wait(struct composed_capture *cc)
{
	struct kms_output *output = cc->base.output;
	if (output->state != KMS_OUTPUT_ON) {
		composed_finish(cc, -ENODEV);
		return;
	}
	struct buffer *busy = busy_buffer(output);
	if (busy == NULL) {
		composed_finish(cc, 0);
		return;
	}
	int ret = buffer_waiter_wait(&cc->waiter, busy, output->device->loop,
				     handle_composed_readable);
	if (ret < 0)
		composed_finish(cc, ret);
}

static int handle_composed_deadline(void *data)
{
	composed_finish(data, -ETIMEDOUT);
	return 0;
}

/* A new frame: the buffer waited for may be gone (a waiter hears nothing then). */
static void handle_composed_present(struct wl_listener *listener, void *data)
{
	struct composed_capture *cc = wl_container_of(listener, cc, output_present);
	composed_wait(cc);
}

static void handle_composed_output_destroy(struct wl_listener *listener, void *data)
{
	struct composed_capture *cc = wl_container_of(listener, cc, output_destroy);
	composed_finish(cc, -ENODEV);
}

/*
 * A composed capture of output, waiting for its busy buffers, or NULL: with
 * *ret 0 when every buffer may be read now (compose at once), else the
 * error.
 */
static struct control_capture *start_composed(struct control *control, struct kms_output *output,
					      const char *name, int *ret)
{
	struct buffer *busy = busy_buffer(output);
	*ret = 0;
	if (busy == NULL)
		return NULL;
	struct composed_capture *cc = calloc(1, sizeof(*cc));
	if (cc == NULL) {
		*ret = -ENOMEM;
		return NULL;
	}
	struct wl_event_loop *loop = output->device->loop;
	cc->deadline = wl_event_loop_add_timer(loop, handle_composed_deadline, cc);
	if (cc->deadline == NULL ||
	    wl_event_source_timer_update(cc->deadline, COMPOSED_WAIT_MS) < 0) {
		*ret = errno > 0 ? -errno : -ENOMEM;
		goto error_timer;
	}
	*ret = buffer_waiter_wait(&cc->waiter, busy, loop, handle_composed_readable);
	if (*ret < 0)
		goto error_timer;
	struct control_capture *capture = &cc->base;
	capture->control = control;
	capture->output = output;
	snprintf(capture->name, sizeof(capture->name), "%s", name);
	wl_list_init(&capture->waits);
	wl_list_insert(&control->captures, &capture->link);
	cc->output_destroy.notify = handle_composed_output_destroy;
	wl_signal_add(&output->events.destroy, &cc->output_destroy);
	cc->output_present.notify = handle_composed_present;
	wl_signal_add(&output->events.present, &cc->output_present);
	log_debug("output %s: the screenshot waits for a buffer that is still being written", name);
	return capture;

error_timer:
	if (cc->deadline != NULL)
		wl_event_source_remove(cc->deadline);
	free(cc);
	return NULL;
}

static void screenshot_composed(struct control_resource *cr, uint32_t serial, const char *name,
				struct kms_output *output, int fd)
{
	uint32_t *pixels, width, height;
	int ret = control_compose(output, &pixels, &width, &height);
	if (ret == -ENODEV)
		control_send_failed(cr->resource, serial, "output %s is off", name);
	else if (ret < 0)
		control_send_failed(cr->resource, serial, "output %s: %s", name, strerror(-ret));
	else
		answer(cr->resource, serial, name, fd, pixels, width, height, width * 4,
		       VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_COMPOSED);
	if (ret == 0)
		free(pixels);
	close(fd);
}

void control_screenshot(struct control_resource *cr, uint32_t serial, const char *name, int fd)
{
	struct control *control = cr->control;
	char msg[160];
	struct kms_output *output = control_find_output(control->displays, name, msg, sizeof(msg));
	if (output == NULL) {
		control_send_failed(cr->resource, serial, "%s", msg);
		close(fd);
		return;
	}
	if (output->state != KMS_OUTPUT_ON) {
		control_send_failed(cr->resource, serial, "output %s is off", name);
		close(fd);
		return;
	}
	if (!output->device->active) {
		/* Another session owns the display: nothing would be captured. */
		control_send_failed(
			cr->resource, serial,
			"output %s: the seat is not active, the display is not ours now", name);
		close(fd);
		return;
	}
	if (cr->n_waits >= CONTROL_MAX_SCREENSHOTS) {
		control_send_failed(cr->resource, serial,
				    "too many screenshots waiting (at most %d at a time)",
				    CONTROL_MAX_SCREENSHOTS);
		close(fd);
		return;
	}

	int ret;
	struct control_capture *capture = get_capture(control, output, name, &ret);
	if (capture == NULL && ret == -ENOTSUP) {
		/* No writeback: composed, once the buffers it reads are written. */
		capture = start_composed(control, output, name, &ret);
		if (capture == NULL && ret == 0) {
			screenshot_composed(cr, serial, name, output, fd);
			return;
		}
	}
	if (capture == NULL) {
		if (ret == -EBUSY)
			control_send_failed(cr->resource, serial,
					    "output %s: another capture is in progress", name);
		else
			control_send_failed(cr->resource, serial,
					    "output %s: cannot start a capture: %s", name,
					    strerror(-ret));
		close(fd);
		return;
	}
	struct control_wait *wait = calloc(1, sizeof(*wait));
	if (wait == NULL) {
		/* The capture stays; its callback finds no one waiting. */
		control_send_failed(cr->resource, serial, "out of memory");
		close(fd);
		return;
	}
	wait->capture = capture;
	wait->cr = cr;
	wait->serial = serial;
	wait->fd = fd;
	wl_list_insert(capture->waits.prev, &wait->link);
	wl_list_insert(cr->waits.prev, &wait->resource_link);
	cr->n_waits++;
}

void control_screenshot_finish(struct control *control)
{
	struct control_capture *capture, *tmp;
	wl_list_for_each_safe (capture, tmp, &control->captures, link) {
		struct control_wait *wait, *wait_tmp;
		wl_list_for_each_safe (wait, wait_tmp, &capture->waits, link)
			control_wait_free(wait);
		capture->control = NULL;
		wl_list_remove(&capture->link);
		wl_list_init(&capture->link);
	}
}
