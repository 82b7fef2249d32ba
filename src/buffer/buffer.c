// SPDX-License-Identifier: MIT
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "util/log.h"

static struct buffer *buffer_alloc(enum buffer_type type, uint32_t width, uint32_t height,
				   uint32_t fourcc, uint64_t modifier)
{
	struct buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL)
		return NULL;
	buffer->type = type;
	buffer->width = width;
	buffer->height = height;
	buffer->fourcc = fourcc;
	buffer->modifier = modifier;
	buffer->refcnt = 1;
	dmabuf_attributes_init(&buffer->dmabuf);
	buffer->mapping.fd = -1;
	wl_signal_init(&buffer->events.release);
	wl_signal_init(&buffer->events.destroy);
	wl_list_init(&buffer->imports);
	wl_list_init(&buffer->waiters);
	return buffer;
}

struct buffer *buffer_create_dmabuf(struct dmabuf_attributes *attrs)
{
	char msg[256];
	if (dmabuf_attributes_check(attrs, msg, sizeof(msg)) < 0) {
		log_warn("buffer: %s", msg);
		errno = EINVAL;
		return NULL;
	}
	struct buffer *buffer = buffer_alloc(BUFFER_DMABUF, attrs->width, attrs->height,
					     attrs->fourcc, attrs->modifier);
	if (buffer == NULL)
		return NULL;
	buffer->dmabuf = *attrs;
	dmabuf_attributes_init(attrs);
	return buffer;
}

struct buffer *buffer_create_cpu(const void *data, uint32_t width, uint32_t height, uint32_t stride,
				 uint32_t fourcc)
{
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	char name[FOURCC_STR_SIZE];

	if (info == NULL || info->pixman == 0) {
		log_warn("buffer: format %s cannot be read by the CPU",
			 fourcc_str(fourcc, name, sizeof(name)));
		goto error_invalid;
	}
	if (width < 1 || width > DMABUF_MAX_DIMENSION || height < 1 ||
	    height > DMABUF_MAX_DIMENSION) {
		log_warn("buffer: size %" PRIu32 "x%" PRIu32 " is out of range 1..%d", width,
			 height, DMABUF_MAX_DIMENSION);
		goto error_invalid;
	}
	if (stride < fourcc_plane_min_stride(info, 0, width) || stride % 4 != 0) {
		log_warn("buffer: stride %" PRIu32 " is smaller than width %" PRIu32
			 " × %u bytes or not a multiple of 4",
			 stride, width, info->bpp[0]);
		goto error_invalid;
	}
	if (data == NULL) {
		log_warn("buffer: no pixels");
		goto error_invalid;
	}

	struct buffer *buffer =
		buffer_alloc(BUFFER_CPU, width, height, fourcc, DRM_FORMAT_MOD_LINEAR);
	if (buffer == NULL)
		return NULL;
	buffer->cpu.data = data;
	buffer->cpu.stride = stride;
	return buffer;

error_invalid:
	errno = EINVAL;
	return NULL;
}

struct buffer *buffer_ref(struct buffer *buffer)
{
	assert(buffer->refcnt > 0);
	buffer->refcnt++;
	return buffer;
}

static void fence_source_remove(struct buffer *buffer)
{
	if (buffer->fence_source != NULL)
		wl_event_source_remove(buffer->fence_source);
	buffer->fence_source = NULL;
}

/* Every waiter is done: each is idle again when its notify runs. */
static void notify_waiters(struct buffer *buffer)
{
	fence_source_remove(buffer);
	struct wl_list done;
	wl_list_init(&done);
	wl_list_insert_list(&done, &buffer->waiters);
	wl_list_init(&buffer->waiters);
	/* A notify may cancel a waiter still in `done`: that unlinks it from there. */
	while (!wl_list_empty(&done)) {
		struct buffer_waiter *waiter = wl_container_of(done.next, waiter, link);
		wl_list_remove(&waiter->link);
		wl_list_init(&waiter->link);
		waiter->buffer = NULL;
		waiter->notify(waiter);
	}
}

void buffer_unref(struct buffer *buffer)
{
	if (buffer == NULL)
		return;
	assert(buffer->refcnt > 0);
	if (--buffer->refcnt > 0)
		return;
	assert(buffer->n_locks == 0);

	/* Listeners (kms/fb.c's caches among them) remove themselves. */
	wl_signal_emit_mutable(&buffer->events.destroy, buffer);
	assert(wl_list_empty(&buffer->imports));
	/* Nothing to wait for any more; the waiters' owners hear of the change otherwise. */
	struct buffer_waiter *waiter, *tmp;
	wl_list_for_each_safe (waiter, tmp, &buffer->waiters, link)
		buffer_waiter_cancel(waiter);
	dmabuf_mapping_finish(&buffer->mapping);
	dmabuf_attributes_finish(&buffer->dmabuf);
	free(buffer);
}

void buffer_lock(struct buffer *buffer)
{
	buffer_ref(buffer);
	buffer->n_locks++;
}

void buffer_unlock(struct buffer *buffer)
{
	assert(buffer->n_locks > 0);
	if (--buffer->n_locks == 0)
		wl_signal_emit_mutable(&buffer->events.release, buffer);
	buffer_unref(buffer);
}

struct buffer_import *buffer_get_import(struct buffer *buffer, const void *owner)
{
	struct buffer_import *import;
	wl_list_for_each (import, &buffer->imports, link) {
		if (import->owner == owner)
			return import;
	}
	return NULL;
}

int buffer_begin_read(struct buffer *buffer, const void **data, uint32_t *stride)
{
	if (buffer->reading)
		return -EBUSY;
	if (buffer->type == BUFFER_CPU) {
		*data = buffer->cpu.data;
		*stride = buffer->cpu.stride;
		buffer->reading = true;
		return 0;
	}

	if (buffer->modifier != DRM_FORMAT_MOD_LINEAR &&
	    buffer->modifier != DRM_FORMAT_MOD_INVALID) {
		char mod[FOURCC_STR_SIZE];
		log_warn("buffer: a dma-buf with modifier %s cannot be read by the CPU",
			 fourcc_modifier_str(buffer->modifier, mod, sizeof(mod)));
		return -EOPNOTSUPP;
	}
	if (!dmabuf_fd_readable(buffer->dmabuf.fd[0]))
		return -EAGAIN;
	if (buffer->mapping.map == NULL) {
		int ret = dmabuf_mapping_init(&buffer->mapping, &buffer->dmabuf, 0);
		if (ret < 0) {
			errno = -ret;
			log_warn_errno("buffer: mapping the dma-buf");
			return ret;
		}
	}
	int ret = dmabuf_mapping_begin_read(&buffer->mapping);
	if (ret < 0) {
		dmabuf_mapping_finish(&buffer->mapping);
		return ret;
	}
	*data = buffer->mapping.data;
	*stride = buffer->mapping.stride;
	buffer->reading = true;
	return 0;
}

int buffer_end_read(struct buffer *buffer)
{
	if (!buffer->reading)
		return -EINVAL;
	buffer->reading = false;
	if (buffer->type == BUFFER_CPU)
		return 0;
	int ret = dmabuf_mapping_end_read(&buffer->mapping);
	/*
	 * No mapping is kept between reads: a client's pages stay mapped in
	 * vscanoutd only while it copies them. (Linux 6.1's udmabuf reports
	 * "Bad page cache" for every page still mapped when the client's
	 * memfd goes, e.g. when the client exits, and stalls that exit.)
	 */
	dmabuf_mapping_finish(&buffer->mapping);
	return ret;
}

bool buffer_readable(struct buffer *buffer)
{
	return buffer->type != BUFFER_DMABUF || dmabuf_attributes_busy_fd(&buffer->dmabuf) < 0;
}

static int arm_fence_source(struct buffer *buffer);

static int handle_fence(int fd, uint32_t mask, void *data)
{
	struct buffer *buffer = data;
	/* One plane's fences signalled: wait on the next busy one, if any. */
	fence_source_remove(buffer);
	if (!buffer_readable(buffer) && arm_fence_source(buffer) == 0)
		return 0;
	buffer_ref(buffer);
	notify_waiters(buffer);
	buffer_unref(buffer);
	return 0;
}

/* The fd source on the first busy plane fd (plane 0's when none is busy any more). */
static int arm_fence_source(struct buffer *buffer)
{
	int fd = dmabuf_attributes_busy_fd(&buffer->dmabuf);
	if (fd < 0)
		fd = buffer->dmabuf.fd[0];
	buffer->fence_source = wl_event_loop_add_fd(buffer->fence_loop, fd, WL_EVENT_READABLE,
						    handle_fence, buffer);
	if (buffer->fence_source == NULL)
		return errno > 0 ? -errno : -ENOMEM;
	return 0;
}

int buffer_waiter_wait(struct buffer_waiter *waiter, struct buffer *buffer,
		       struct wl_event_loop *loop, void (*notify)(struct buffer_waiter *waiter))
{
	buffer_waiter_cancel(waiter);
	if (buffer->type != BUFFER_DMABUF)
		return -EINVAL;
	assert(buffer->fence_loop == NULL || buffer->fence_loop == loop);
	buffer->fence_loop = loop;
	if (buffer->fence_source == NULL) {
		int ret = arm_fence_source(buffer);
		if (ret < 0)
			return ret;
	}
	waiter->buffer = buffer;
	waiter->notify = notify;
	wl_list_insert(buffer->waiters.prev, &waiter->link);
	return 0;
}

void buffer_waiter_cancel(struct buffer_waiter *waiter)
{
	struct buffer *buffer = waiter->buffer;
	if (buffer == NULL)
		return;
	wl_list_remove(&waiter->link);
	wl_list_init(&waiter->link);
	waiter->buffer = NULL;
	if (wl_list_empty(&buffer->waiters))
		fence_source_remove(buffer);
}
