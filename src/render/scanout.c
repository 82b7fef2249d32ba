// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <drm_fourcc.h>
#include <gbm.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kms/fb.h"
#include "render/scanout.h"
#include "util/fourcc.h"
#include "util/log.h"

static int buffer_init_dumb(struct scanout_swapchain *sc, struct scanout_buffer *buf,
			    const struct fourcc_info *info)
{
	uint32_t handle, pitch;
	uint64_t size, offset;

	if (drmModeCreateDumbBuffer(sc->drm_fd, sc->width, sc->height, info->bpp[0] * 8u, 0,
				    &handle, &pitch, &size) != 0)
		return -errno;
	buf->handle = handle;
	buf->stride = pitch;
	buf->size = size;
	if (drmModeMapDumbBuffer(sc->drm_fd, handle, &offset) != 0)
		return -errno;
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sc->drm_fd, (off_t)offset);
	if (map == MAP_FAILED)
		return -errno;
	buf->data = map;
	return 0;
}

static int buffer_init_gbm(struct scanout_swapchain *sc, struct scanout_buffer *buf)
{
	uint32_t stride = 0;

	buf->bo = gbm_bo_create(sc->gbm, sc->width, sc->height, sc->fourcc,
				GBM_BO_USE_SCANOUT | GBM_BO_USE_LINEAR);
	if (buf->bo == NULL)
		return errno != 0 ? -errno : -ENOMEM;
	/* Kept mapped for the buffer's life: linear bos map their own memory. */
	buf->data = gbm_bo_map(buf->bo, 0, 0, sc->width, sc->height, GBM_BO_TRANSFER_READ_WRITE,
			       &stride, &buf->gbm_map_data);
	if (buf->data == NULL)
		return errno != 0 ? -errno : -EIO;
	buf->stride = stride;
	buf->size = (size_t)stride * sc->height;
	return 0;
}

static int buffer_init(struct scanout_swapchain *sc, struct scanout_buffer *buf,
		       const struct fourcc_info *info)
{
	uint32_t offsets[1] = {0}, handles[1], strides[1];
	int ret;

	buf->swapchain = sc;
	if (sc->alloc == SCANOUT_ALLOC_GBM)
		ret = buffer_init_gbm(sc, buf);
	else
		ret = buffer_init_dumb(sc, buf, info);
	if (ret < 0)
		return ret;
	if (buf->stride % 4 != 0)
		return -EINVAL;
	memset(buf->data, 0, buf->size);

	handles[0] = buf->bo != NULL ? gbm_bo_get_handle(buf->bo).u32 : buf->handle;
	strides[0] = buf->stride;
	buf->fb = kms_fb_create(sc->fbs, sc->width, sc->height, sc->fourcc, DRM_FORMAT_MOD_LINEAR,
				1, handles, strides, offsets);
	if (buf->fb == NULL)
		return -errno;
	buf->image = pixman_image_create_bits_no_clear(
		info->pixman, (int)sc->width, (int)sc->height, buf->data, (int)buf->stride);
	if (buf->image == NULL)
		return -ENOMEM;
	return 0;
}

static void buffer_finish(struct scanout_swapchain *sc, struct scanout_buffer *buf)
{
	if (buf->image != NULL)
		pixman_image_unref(buf->image);
	kms_fb_unref(buf->fb);
	if (buf->bo != NULL) {
		if (buf->data != NULL)
			gbm_bo_unmap(buf->bo, buf->gbm_map_data);
		gbm_bo_destroy(buf->bo);
	} else {
		if (buf->data != NULL)
			munmap(buf->data, buf->size);
		if (buf->handle != 0)
			drmModeDestroyDumbBuffer(sc->drm_fd, buf->handle);
	}
	*buf = (struct scanout_buffer){0};
}

/* All buffers or none: on failure those made are freed again. */
static int buffers_init(struct scanout_swapchain *sc, const struct fourcc_info *info)
{
	for (unsigned int i = 0; i < sc->n_buffers; i++) {
		int ret = buffer_init(sc, &sc->buffers[i], info);
		if (ret < 0) {
			for (unsigned int j = 0; j <= i; j++)
				buffer_finish(sc, &sc->buffers[j]);
			return ret;
		}
	}
	return 0;
}

struct scanout_swapchain *scanout_swapchain_create(struct kms_fb_registry *fbs, uint32_t width,
						   uint32_t height, uint32_t fourcc,
						   unsigned int n_buffers, enum scanout_alloc alloc)
{
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	char name[FOURCC_STR_SIZE];

	if (info == NULL || info->pixman == 0 || info->n_planes != 1) {
		log_error("scanout: format %s cannot be drawn by the CPU",
			  fourcc_str(fourcc, name, sizeof(name)));
		return NULL;
	}
	if (n_buffers < 1 || n_buffers > SCANOUT_MAX_BUFFERS || width < 1 || height < 1 ||
	    width > 16384 || height > 16384) {
		log_error("scanout: %u buffers of %" PRIu32 "x%" PRIu32 " is out of range",
			  n_buffers, width, height);
		return NULL;
	}

	struct scanout_swapchain *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->fbs = fbs;
	sc->drm_fd = fbs->drm_fd;
	sc->width = width;
	sc->height = height;
	sc->fourcc = fourcc;
	sc->n_buffers = n_buffers;

	sc->alloc = alloc == SCANOUT_ALLOC_GBM ? SCANOUT_ALLOC_GBM : SCANOUT_ALLOC_DUMB;
	if (sc->alloc == SCANOUT_ALLOC_GBM) {
		sc->gbm = gbm_create_device(sc->drm_fd);
		if (sc->gbm == NULL) {
			log_error("scanout: GBM cannot use this device");
			goto error_swapchain;
		}
	}

	int ret = buffers_init(sc, info);
	if (ret < 0) {
		errno = -ret;
		log_error_errno("scanout: allocating %u %" PRIu32 "x%" PRIu32 " %s buffers",
				n_buffers, width, height, fourcc_str(fourcc, name, sizeof(name)));
		goto error_swapchain;
	}
	log_debug("scanout: %u %s buffers of %" PRIu32 "x%" PRIu32 " %s", n_buffers,
		  sc->alloc == SCANOUT_ALLOC_GBM ? "GBM" : "dumb", width, height,
		  fourcc_str(fourcc, name, sizeof(name)));
	return sc;

error_swapchain:
	scanout_swapchain_destroy(sc);
	return NULL;
}

void scanout_swapchain_destroy(struct scanout_swapchain *sc)
{
	if (sc == NULL)
		return;
	for (unsigned int i = 0; i < SCANOUT_MAX_BUFFERS; i++)
		buffer_finish(sc, &sc->buffers[i]);
	if (sc->gbm != NULL)
		gbm_device_destroy(sc->gbm);
	free(sc);
}

struct scanout_buffer *scanout_swapchain_acquire(struct scanout_swapchain *sc)
{
	struct scanout_buffer *best = NULL;
	for (unsigned int i = 0; i < sc->n_buffers; i++) {
		struct scanout_buffer *buf = &sc->buffers[i];
		if (!buf->busy && (best == NULL || buf->released_seq < best->released_seq))
			best = buf;
	}
	return best;
}

void scanout_buffer_set_busy(struct scanout_buffer *buffer)
{
	buffer->busy = true;
}

void scanout_buffer_release(struct scanout_buffer *buffer)
{
	buffer->busy = false;
	buffer->released_seq = ++buffer->swapchain->release_seq;
}
