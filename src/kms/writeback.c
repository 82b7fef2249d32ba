// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "kms/fb.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "util/log.h"

struct kms_capture {
	struct kms_output *output;
	struct kms_writeback *wb;
	kms_capture_func callback;
	void *data;
	uint32_t width, height, pitch;
	uint32_t handle; /* dumb buffer */
	uint64_t size;
	void *map; /* may be NULL */
	struct kms_fb *fb;
	int32_t fence_fd; /* written by the kernel through WRITEBACK_OUT_FENCE_PTR */
	bool binds;       /* this commit binds the connector to the CRTC */
	bool committed;
	struct wl_event_source *fence_source; /* may be NULL */
	struct wl_event_source *deadline;     /* may be NULL */
};

/*
 * How long a capture may take from the request: the next commit takes it
 * within a frame or two and the driver runs the writeback job at the next
 * vblank or two. A job that has not signalled by then never will (a lost
 * job), and the output, which holds its frames back meanwhile, must not
 * freeze; a capture no commit could take (the session went away, the
 * commit failed before the kernel saw it) must not wait forever either.
 */
#define CAPTURE_DEADLINE_MS 2000

static void capture_free(struct kms_capture *capture)
{
	int fd = capture->output->device->fd;
	if (capture->fence_source != NULL)
		wl_event_source_remove(capture->fence_source);
	if (capture->deadline != NULL)
		wl_event_source_remove(capture->deadline);
	if (capture->fence_fd >= 0)
		close(capture->fence_fd);
	if (capture->map != NULL)
		munmap(capture->map, capture->size);
	kms_fb_unref(capture->fb);
	if (capture->handle != 0) {
		struct drm_mode_destroy_dumb destroy = {.handle = capture->handle};
		drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	}
	free(capture);
}

/* Detach the capture from its output, then report status and free it. */
static void capture_finish(struct kms_capture *capture, int status)
{
	struct kms_output *output = capture->output;
	bool held_frames = capture->committed;
	output->capture = NULL;
	if (status == 0)
		capture->callback(output, 0, capture->map, capture->width, capture->height,
				  capture->pitch, capture->data);
	else
		capture->callback(output, status, NULL, 0, 0, 0, capture->data);
	capture_free(capture);
	/* Frames held back while the writeback job ran go out now. */
	if (held_frames && output->frame_wanted)
		kms_output_schedule_frame(output);
}

static int handle_fence(int fd, uint32_t mask, void *data)
{
	struct kms_capture *capture = data;
	wl_event_source_remove(capture->fence_source);
	capture->fence_source = NULL;
	capture_finish(capture, (mask & WL_EVENT_ERROR) ? -EIO : 0);
	return 0;
}

static int handle_deadline(void *data)
{
	struct kms_capture *capture = data;
	log_error("output %s: %s within %d ms; capture abandoned", capture->output->name,
		  capture->committed ? "the writeback job did not complete"
				     : "no commit could take the capture",
		  CAPTURE_DEADLINE_MS);
	capture_finish(capture, -ETIMEDOUT);
	return 0;
}

static int create_target(struct kms_capture *capture, struct kms_device *device)
{
	struct drm_mode_create_dumb create = {
		.width = capture->width,
		.height = capture->height,
		.bpp = 32,
	};
	if (drmIoctl(device->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) != 0)
		return -errno;
	capture->handle = create.handle;
	capture->pitch = create.pitch;
	capture->size = create.size;
	struct drm_mode_map_dumb map = {.handle = create.handle};
	if (drmIoctl(device->fd, DRM_IOCTL_MODE_MAP_DUMB, &map) != 0)
		return -errno;
	capture->map = mmap(NULL, capture->size, PROT_READ | PROT_WRITE, MAP_SHARED, device->fd,
			    (off_t)map.offset);
	if (capture->map == MAP_FAILED) {
		capture->map = NULL;
		return -errno;
	}
	uint32_t handles[1] = {capture->handle}, strides[1] = {capture->pitch}, offsets[1] = {0};
	capture->fb =
		kms_fb_create(&device->fbs, capture->width, capture->height, DRM_FORMAT_XRGB8888,
			      DRM_FORMAT_MOD_INVALID, 1, handles, strides, offsets);
	return capture->fb != NULL ? 0 : -errno;
}

int kms_output_capture(struct kms_output *output, kms_capture_func callback, void *data)
{
	struct kms_device *device = output->device;
	if (output->state != KMS_OUTPUT_ON)
		return -ENODEV;
	if (output->capture != NULL)
		return -EBUSY;
	struct kms_writeback *wb = NULL;
	for (size_t i = 0; i < device->n_writebacks && wb == NULL; i++) {
		struct kms_writeback *w = &device->writebacks[i];
		if ((w->possible_crtcs & (1u << output->crtc->index)) &&
		    (w->bound == NULL || w->bound == output))
			wb = w;
	}
	if (wb == NULL)
		return -ENOTSUP;

	struct kms_capture *capture = calloc(1, sizeof(*capture));
	if (capture == NULL)
		return -ENOMEM;
	capture->output = output;
	capture->wb = wb;
	capture->callback = callback;
	capture->data = data;
	capture->width = output->mode.hdisplay;
	capture->height = output->mode.vdisplay;
	capture->fence_fd = -1;
	int ret = create_target(capture, device);
	if (ret < 0) {
		log_error("output %s: cannot allocate a capture buffer: %s", output->name,
			  strerror(-ret));
		capture_free(capture);
		return ret;
	}
	capture->deadline = wl_event_loop_add_timer(device->loop, handle_deadline, capture);
	if (capture->deadline == NULL ||
	    wl_event_source_timer_update(capture->deadline, CAPTURE_DEADLINE_MS) < 0) {
		capture_free(capture);
		return -ENOMEM;
	}
	output->capture = capture;
	kms_output_schedule_frame(output);
	return 0;
}

int kms_capture_prepare(struct kms_output *output, struct kms_atomic *atomic, bool *modeset)
{
	struct kms_capture *capture = output->capture;
	if (capture == NULL || capture->committed)
		return -EBUSY;
	struct kms_writeback *wb = capture->wb;
	capture->binds = wb->bound != output;
	if (capture->binds) {
		kms_atomic_add(atomic, wb->id, wb->props[KMS_CONNECTOR_CRTC_ID], output->crtc->id);
		*modeset = true;
	}
	capture->fence_fd = -1;
	kms_atomic_add(atomic, wb->id, wb->props[KMS_CONNECTOR_WRITEBACK_FB_ID],
		       capture->fb->fb_id);
	kms_atomic_add(atomic, wb->id, wb->props[KMS_CONNECTOR_WRITEBACK_OUT_FENCE_PTR],
		       (uint64_t)(uintptr_t)&capture->fence_fd);
	return atomic->error;
}

void kms_capture_committed(struct kms_output *output, int ret)
{
	struct kms_capture *capture = output->capture;
	if (capture == NULL)
		return;
	if (ret < 0 || capture->fence_fd < 0) {
		log_error("output %s: the capture commit failed: %s", output->name,
			  strerror(ret < 0 ? -ret : EIO));
		capture_finish(capture, ret < 0 ? ret : -EIO);
		return;
	}
	if (capture->binds)
		capture->wb->bound = output;
	capture->committed = true;
	struct wl_event_loop *loop = output->device->loop;
	capture->fence_source = wl_event_loop_add_fd(loop, capture->fence_fd, WL_EVENT_READABLE,
						     handle_fence, capture);
	if (capture->fence_source == NULL)
		capture_finish(capture, -ENOMEM);
}

bool kms_capture_in_flight(const struct kms_output *output)
{
	return output->capture != NULL && output->capture->committed;
}

void kms_capture_unbind(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_writebacks; i++) {
		struct kms_writeback *wb = &device->writebacks[i];
		if (wb->bound != output)
			continue;
		kms_atomic_add(atomic, wb->id, wb->props[KMS_CONNECTOR_CRTC_ID], 0);
		kms_atomic_add(atomic, wb->id, wb->props[KMS_CONNECTOR_WRITEBACK_FB_ID], 0);
	}
}

void kms_capture_cancel(struct kms_output *output)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_writebacks; i++) {
		if (device->writebacks[i].bound == output)
			device->writebacks[i].bound = NULL;
	}
	if (output->capture != NULL)
		capture_finish(output->capture, -ENODEV);
}
