// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "util/fourcc.h"
#include "util/log.h"
#include "vfio/device.h"

/* Largest region info with capabilities accepted from a device. */
#define REGION_INFO_MAX_SIZE 65536

/* A CPU mapping of one region (vfio_display.maps). */
struct vfio_region_map {
	struct wl_list link; /* vfio_display.maps */
	uint32_t index;
	void *data;
	size_t size;
	bool retired; /* replaced by a larger mapping; kept until destroy */
};

static void set_msg(char *msg, size_t msg_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msg_size, const char *fmt, ...)
{
	va_list args;

	if (msg == NULL || msg_size == 0)
		return;
	va_start(args, fmt);
	vsnprintf(msg, msg_size, fmt, args);
	va_end(args);
}

static int set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -errno;
	if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int probe(int fd, uint32_t plane_type)
{
	struct vfio_device_gfx_plane_info info = {
		.argsz = sizeof(info),
		.flags = VFIO_GFX_PLANE_TYPE_PROBE | plane_type,
	};

	if (ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, &info) < 0)
		return -errno;
	return 0;
}

/*
 * VFIO_DEVICE_GET_REGION_INFO with room for the capability chain: asked
 * first with the bare struct, then again with the argsz the device wants.
 * (Devices may refuse an argsz larger than they expect, mbochs does.)
 * Returns a malloc'ed info or NULL with errno set.
 */
static struct vfio_region_info *region_info_get(int fd, uint32_t index)
{
	struct vfio_region_info *info, *bigger;
	uint32_t argsz = sizeof(*info);

	info = calloc(1, argsz);
	if (info == NULL)
		return NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(info, 0, argsz);
		info->argsz = argsz;
		info->index = index;
		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0)
			goto error_info;
		if (info->argsz <= argsz)
			return info;
		if (info->argsz > REGION_INFO_MAX_SIZE) {
			errno = E2BIG;
			goto error_info;
		}
		argsz = info->argsz;
		bigger = realloc(info, argsz);
		if (bigger == NULL)
			goto error_info;
		info = bigger;
	}
	errno = EPROTO; /* the device asked for more room twice */
error_info:
	free(info);
	return NULL;
}

/* The struct vfio_region_info_cap_type of info, or NULL if it has none. */
static const struct vfio_region_info_cap_type *region_cap_type(const struct vfio_region_info *info,
							       uint32_t info_size)
{
	uint32_t offset = info->cap_offset;

	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return NULL;
	/* Every capability lies after the struct; a chain longer than that loops. */
	for (uint32_t n = 0; offset != 0 && n < info_size / sizeof(struct vfio_info_cap_header);
	     n++) {
		const struct vfio_info_cap_header *header;

		if (offset < sizeof(*info) || offset > info_size ||
		    info_size - offset < sizeof(*header))
			return NULL;
		header = (const void *)((const char *)info + offset);
		if (header->id == VFIO_REGION_INFO_CAP_TYPE) {
			if (info_size - offset < sizeof(struct vfio_region_info_cap_type))
				return NULL;
			return (const void *)header;
		}
		offset = header->next;
	}
	return NULL;
}

static int pread_exact(int fd, void *buf, size_t size, uint64_t offset)
{
	ssize_t n = pread(fd, buf, size, (off_t)offset);

	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

static int pwrite_exact(int fd, const void *buf, size_t size, uint64_t offset)
{
	ssize_t n = pwrite(fd, buf, size, (off_t)offset);

	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

/* Read the EDID registers of region info into display if they make sense. */
static void edid_region_use(struct vfio_display *display, const struct vfio_region_info *info)
{
	struct vfio_region_gfx_edid regs;
	uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	int ret;

	if ((info->flags & flags) != flags || info->size < sizeof(regs)) {
		log_debug("vfio fd %d: EDID region %" PRIu32 " is not read-write or too small",
			  display->fd, info->index);
		return;
	}
	ret = pread_exact(display->fd, &regs, sizeof(regs), info->offset);
	if (ret < 0) {
		log_debug("vfio fd %d: EDID region %" PRIu32 ": read: %s", display->fd, info->index,
			  strerror(-ret));
		return;
	}
	if (regs.edid_max_size == 0 || regs.edid_offset < sizeof(regs) ||
	    regs.edid_offset > info->size || regs.edid_max_size > info->size - regs.edid_offset) {
		log_debug("vfio fd %d: EDID region %" PRIu32 ": blob of %" PRIu32
			  " bytes at %" PRIu32 " does not fit in %" PRIu64 " bytes",
			  display->fd, info->index, regs.edid_max_size, regs.edid_offset,
			  (uint64_t)info->size);
		return;
	}
	display->has_edid = true;
	display->edid_region_index = info->index;
	display->edid_region_offset = info->offset;
	display->edid_region_size = info->size;
	display->max_xres = regs.max_xres;
	display->max_yres = regs.max_yres;
	display->edid_max_size = regs.edid_max_size;
	display->edid_offset = regs.edid_offset;
}

static void find_edid_region(struct vfio_display *display)
{
	for (uint32_t i = 0; i < display->num_regions && !display->has_edid; i++) {
		const struct vfio_region_info_cap_type *cap;
		struct vfio_region_info *info = region_info_get(display->fd, i);

		if (info == NULL) {
			log_debug_errno("vfio fd %d: region %" PRIu32 ": GET_REGION_INFO",
					display->fd, i);
			continue;
		}
		cap = region_cap_type(info, info->argsz);
		if (cap != NULL && cap->type == VFIO_REGION_TYPE_GFX &&
		    cap->subtype == VFIO_REGION_SUBTYPE_GFX_EDID)
			edid_region_use(display, info);
		free(info);
	}
}

struct vfio_display *vfio_display_open(int fd, char *msg, size_t msg_size)
{
	struct vfio_device_info dev_info = {.argsz = sizeof(dev_info)};
	struct vfio_display *display;
	int err;

	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &dev_info) < 0) {
		err = errno;
		set_msg(msg, msg_size, "fd %d is not a VFIO device (VFIO_DEVICE_GET_INFO: %s)", fd,
			strerror(err));
		goto error_fd;
	}
	err = -set_cloexec(fd);
	if (err != 0) {
		set_msg(msg, msg_size, "fd %d: FD_CLOEXEC: %s", fd, strerror(err));
		goto error_fd;
	}

	display = calloc(1, sizeof(*display));
	if (display == NULL) {
		err = errno;
		set_msg(msg, msg_size, "out of memory");
		goto error_fd;
	}
	display->fd = fd;
	display->num_regions = dev_info.num_regions;
	wl_list_init(&display->maps);

	if (probe(fd, VFIO_GFX_PLANE_TYPE_DMABUF) == 0) {
		display->kind = VFIO_DISPLAY_DMABUF;
		display->plane_flags = VFIO_GFX_PLANE_TYPE_DMABUF;
	} else if (probe(fd, VFIO_GFX_PLANE_TYPE_REGION) == 0) {
		display->kind = VFIO_DISPLAY_REGION;
		display->plane_flags = VFIO_GFX_PLANE_TYPE_REGION;
	} else {
		set_msg(msg, msg_size,
			"the VFIO device has no display (neither dma-buf nor region planes)");
		free(display);
		err = ENODEV;
		goto error_fd;
	}

	find_edid_region(display);
	if (display->has_edid)
		log_debug("vfio fd %d: %s planes, %" PRIu32 " regions, EDID in region %" PRIu32
			  " (up to %" PRIu32 " bytes, modes up to %" PRIu32 "x%" PRIu32 ")",
			  fd, display->kind == VFIO_DISPLAY_DMABUF ? "dma-buf" : "region",
			  display->num_regions, display->edid_region_index, display->edid_max_size,
			  display->max_xres, display->max_yres);
	else
		log_debug("vfio fd %d: %s planes, %" PRIu32 " regions, no EDID", fd,
			  display->kind == VFIO_DISPLAY_DMABUF ? "dma-buf" : "region",
			  display->num_regions);
	return display;

error_fd:
	close(fd);
	errno = err;
	return NULL;
}

void vfio_display_destroy(struct vfio_display *display)
{
	struct vfio_region_map *map, *tmp;

	if (display == NULL)
		return;
	wl_list_for_each_safe (map, tmp, &display->maps, link) {
		munmap(map->data, map->size);
		wl_list_remove(&map->link);
		free(map);
	}
	if (display->fd >= 0)
		close(display->fd);
	free(display);
}

int vfio_display_query(struct vfio_display *display, uint32_t drm_plane_type,
		       struct vfio_device_gfx_plane_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->flags = display->plane_flags;
	info->drm_plane_type = drm_plane_type;
	if (ioctl(display->fd, VFIO_DEVICE_QUERY_GFX_PLANE, info) < 0)
		return -errno;
	return 0;
}

bool vfio_error_is_fatal(int err)
{
	switch (err < 0 ? -err : err) {
	case ENODEV:
	case EIO:
	case EBADF:
	case ENXIO:
	case EFAULT:
	case EPIPE:
		return true;
	default:
		return false;
	}
}

struct buffer *vfio_display_import(struct vfio_display *display,
				   const struct vfio_device_gfx_plane_info *info, char *msg,
				   size_t msg_size)
{
	const struct fourcc_info *format = fourcc_info_get(info->drm_format);
	char name[FOURCC_STR_SIZE], check[256];
	struct dmabuf_attributes attrs;
	struct buffer *buffer;
	uint32_t id = info->dmabuf_id;
	int fd, err;

	if (display->kind != VFIO_DISPLAY_DMABUF) {
		set_msg(msg, msg_size, "the device has region planes, not dma-bufs");
		errno = EINVAL;
		return NULL;
	}
	if (info->drm_format == 0 || id == 0) {
		set_msg(msg, msg_size, "the plane is off");
		errno = EINVAL;
		return NULL;
	}
	if (format != NULL && format->n_planes != 1) {
		set_msg(msg, msg_size, "dma-buf %" PRIu32 ": format %s has %u planes", id,
			fourcc_str(info->drm_format, name, sizeof(name)), format->n_planes);
		errno = EINVAL;
		return NULL;
	}

	fd = ioctl(display->fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	if (fd < 0) {
		err = errno;
		set_msg(msg, msg_size, "VFIO_DEVICE_GET_GFX_DMABUF(%" PRIu32 "): %s", id,
			strerror(err));
		errno = err;
		return NULL;
	}
	/*
	 * Devices export without O_CLOEXEC (mbochs, GVT-g). The daemon runs one
	 * thread, so nothing can exec between the ioctl and this.
	 */
	err = -set_cloexec(fd);
	if (err != 0) {
		set_msg(msg, msg_size, "dma-buf %" PRIu32 ": FD_CLOEXEC: %s", id, strerror(err));
		goto error_fd;
	}

	dmabuf_attributes_init(&attrs);
	attrs.width = info->width;
	attrs.height = info->height;
	attrs.fourcc = info->drm_format;
	/* DRM_FORMAT_MOD_LINEAR is 0: what devices that know no modifiers report. */
	attrs.modifier = info->drm_format_mod;
	attrs.n_planes = 1;
	attrs.fd[0] = fd;
	attrs.offset[0] = 0;
	attrs.stride[0] = info->stride;

	if (dmabuf_attributes_check(&attrs, check, sizeof(check)) < 0) {
		set_msg(msg, msg_size, "dma-buf %" PRIu32 ": %s", id, check);
		err = EINVAL;
		goto error_fd;
	}
	buffer = buffer_create_dmabuf(&attrs);
	if (buffer == NULL) {
		err = errno;
		set_msg(msg, msg_size, "dma-buf %" PRIu32 ": %s", id, strerror(err));
		goto error_fd;
	}
	return buffer;

error_fd:
	close(fd);
	errno = err;
	return NULL;
}

static struct vfio_region_map *map_find(struct vfio_display *display, uint32_t index)
{
	struct vfio_region_map *map;

	wl_list_for_each (map, &display->maps, link) {
		if (map->index == index && !map->retired)
			return map;
	}
	return NULL;
}

int vfio_display_map_region(struct vfio_display *display, uint32_t region_index,
			    uint64_t size_needed, const void **data)
{
	struct vfio_region_map *map = map_find(display, region_index);
	struct vfio_region_info *info;
	void *ptr;
	int ret;

	if (map != NULL && size_needed <= map->size) {
		*data = map->data;
		return 0;
	}

	info = region_info_get(display->fd, region_index);
	if (info == NULL)
		return -errno;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    !(info->flags & VFIO_REGION_INFO_FLAG_READ) || info->size == 0 ||
	    info->size > SIZE_MAX) {
		ret = -EOPNOTSUPP;
		goto error_info;
	}
	if (info->size < size_needed) {
		ret = -ENOSPC;
		goto error_info;
	}
	ptr = mmap(NULL, (size_t)info->size, PROT_READ, MAP_SHARED, display->fd,
		   (off_t)info->offset);
	if (ptr == MAP_FAILED) {
		ret = -errno;
		goto error_info;
	}
	if (map != NULL)
		map->retired = true;
	map = calloc(1, sizeof(*map));
	if (map == NULL) {
		ret = -ENOMEM;
		munmap(ptr, (size_t)info->size);
		goto error_info;
	}
	map->index = region_index;
	map->data = ptr;
	map->size = (size_t)info->size;
	wl_list_insert(&display->maps, &map->link);
	log_debug("vfio fd %d: region %" PRIu32 " mapped, %zu bytes", display->fd, region_index,
		  map->size);
	free(info);
	*data = ptr;
	return 0;

error_info:
	free(info);
	return ret;
}

int vfio_display_write_edid(struct vfio_display *display, const uint8_t *blob, size_t size)
{
	const uint64_t regs = display->edid_region_offset;
	const uint32_t down = VFIO_DEVICE_GFX_LINK_STATE_DOWN;
	const uint32_t up = VFIO_DEVICE_GFX_LINK_STATE_UP;
	uint32_t edid_size = (uint32_t)size;
	int ret;

	if (!display->has_edid)
		return -ENOTSUP;
	if (size == 0)
		return -EINVAL;
	if (size > display->edid_max_size)
		return -ENOSPC;

	ret = pwrite_exact(display->fd, &down, sizeof(down),
			   regs + offsetof(struct vfio_region_gfx_edid, link_state));
	if (ret < 0)
		return ret;
	ret = pwrite_exact(display->fd, blob, size, regs + display->edid_offset);
	if (ret < 0)
		return ret;
	ret = pwrite_exact(display->fd, &edid_size, sizeof(edid_size),
			   regs + offsetof(struct vfio_region_gfx_edid, edid_size));
	if (ret < 0)
		return ret;
	ret = pwrite_exact(display->fd, &up, sizeof(up),
			   regs + offsetof(struct vfio_region_gfx_edid, link_state));
	if (ret < 0)
		return ret;
	log_debug("vfio fd %d: EDID of %zu bytes written, link up", display->fd, size);
	return 0;
}
