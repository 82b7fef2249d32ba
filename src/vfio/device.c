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
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "buffer/dmabuf.h"
#include "util/fourcc.h"
#include "util/log.h"
#include "vfio/device.h"
#include "vfio/edid.h"

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
		if (info->index != index) {
			errno = EPROTO; /* an answer about another region */
			goto error_info;
		}
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

/* Whether a region's offset and size lie within the file offsets of the device fd. */
static bool region_span_ok(const struct vfio_region_info *info)
{
	return info->offset <= (uint64_t)INT64_MAX &&
	       info->size <= (uint64_t)INT64_MAX - info->offset;
}

/*
 * Copy the first `size` bytes of capability `id` of info (info_size bytes
 * as the device answered, at most what was allocated) into cap. Each entry
 * must lie inside the answer, aligned for its header, after the region
 * info and after the entry before it (so a chain cannot loop). Returns 0,
 * -ENOENT when the chain has no such entry, or -EPROTO with the reason in
 * msg when it is broken.
 */
static int region_cap_find(const struct vfio_region_info *info, uint32_t info_size, uint16_t id,
			   void *cap, size_t size, char *msg, size_t msg_size)
{
	const size_t align = _Alignof(struct vfio_info_cap_header);
	uint64_t offset = info->cap_offset, min_offset = sizeof(*info);

	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS) || offset == 0)
		return -ENOENT;
	for (;;) {
		struct vfio_info_cap_header header;

		if (offset < min_offset) {
			set_msg(msg, msg_size,
				"capability at offset %" PRIu64
				" overlaps what precedes it (%" PRIu64 " bytes)",
				offset, min_offset);
			return -EPROTO;
		}
		if (offset % align != 0) {
			set_msg(msg, msg_size,
				"capability at offset %" PRIu64 " is not %zu-byte aligned", offset,
				align);
			return -EPROTO;
		}
		if (offset > info_size || info_size - offset < sizeof(header)) {
			set_msg(msg, msg_size,
				"capability at offset %" PRIu64 " lies beyond the %" PRIu32
				" bytes of the answer",
				offset, info_size);
			return -EPROTO;
		}
		memcpy(&header, (const char *)info + offset, sizeof(header));
		if (header.id == id) {
			if (info_size - offset < size) {
				set_msg(msg, msg_size,
					"capability %" PRIu16 " at offset %" PRIu64
					" is cut short by the end of the answer (%" PRIu64
					" of %zu bytes)",
					id, offset, info_size - offset, size);
				return -EPROTO;
			}
			memcpy(cap, (const char *)info + offset, size);
			return 0;
		}
		if (header.next == 0)
			return -ENOENT;
		min_offset = offset + sizeof(header);
		offset = header.next;
	}
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

/*
 * Read the EDID registers of region info into display if they make sense.
 * Returns 0, or -EPROTO (or a read's negative errno) with the reason in msg.
 */
static int edid_region_use(struct vfio_display *display, const struct vfio_region_info *info,
			   char *msg, size_t msg_size)
{
	struct vfio_region_gfx_edid regs;
	uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	int ret;

	if ((info->flags & flags) != flags) {
		set_msg(msg, msg_size, "flags 0x%" PRIx32 " are not both readable and writable",
			info->flags);
		return -EPROTO;
	}
	if (!region_span_ok(info)) {
		set_msg(msg, msg_size,
			"offset 0x%" PRIx64 " + size 0x%" PRIx64 " exceeds the largest file offset",
			(uint64_t)info->offset, (uint64_t)info->size);
		return -EPROTO;
	}
	if (info->size < sizeof(regs)) {
		set_msg(msg, msg_size, "size %" PRIu64 " is smaller than its registers (%zu bytes)",
			(uint64_t)info->size, sizeof(regs));
		return -EPROTO;
	}
	ret = pread_exact(display->fd, &regs, sizeof(regs), info->offset);
	if (ret < 0) {
		set_msg(msg, msg_size, "reading its registers: %s", strerror(-ret));
		return ret;
	}
	if (regs.edid_offset < sizeof(regs) || regs.edid_offset > info->size ||
	    regs.edid_max_size > info->size - regs.edid_offset) {
		set_msg(msg, msg_size,
			"edid_offset %" PRIu32 " + edid_max_size %" PRIu32
			" does not lie inside the region (%zu..%" PRIu64 ")",
			regs.edid_offset, regs.edid_max_size, sizeof(regs), (uint64_t)info->size);
		return -EPROTO;
	}
	if (regs.edid_max_size < EDID_BLOCK_SIZE) {
		set_msg(msg, msg_size, "edid_max_size %" PRIu32 " is less than one EDID block (%d)",
			regs.edid_max_size, EDID_BLOCK_SIZE);
		return -EPROTO;
	}
	if (regs.max_xres > DMABUF_MAX_DIMENSION || regs.max_yres > DMABUF_MAX_DIMENSION) {
		set_msg(msg, msg_size, "max_xres %" PRIu32 " or max_yres %" PRIu32 " exceeds %d",
			regs.max_xres, regs.max_yres, DMABUF_MAX_DIMENSION);
		return -EPROTO;
	}
	display->has_edid = true;
	display->edid_region_index = info->index;
	display->edid_region_offset = info->offset;
	display->edid_region_size = info->size;
	display->max_xres = regs.max_xres;
	display->max_yres = regs.max_yres;
	display->edid_max_size = regs.edid_max_size;
	display->edid_offset = regs.edid_offset;
	return 0;
}

static void find_edid_region(struct vfio_display *display)
{
	for (uint32_t i = 0; i < display->num_regions && !display->has_edid; i++) {
		struct vfio_region_info_cap_type cap;
		struct vfio_region_info *info = region_info_get(display->fd, i);
		char msg[256];
		int ret;

		if (info == NULL) {
			log_debug_errno("%s: region %" PRIu32 ": GET_REGION_INFO", display->name,
					i);
			continue;
		}
		ret = region_cap_find(info, info->argsz, VFIO_REGION_INFO_CAP_TYPE, &cap,
				      sizeof(cap), msg, sizeof(msg));
		if (ret == -EPROTO)
			log_error("%s: VFIO device: region %" PRIu32 " ignored: %s", display->name,
				  i, msg);
		if (ret == 0 && cap.type == VFIO_REGION_TYPE_GFX &&
		    cap.subtype == VFIO_REGION_SUBTYPE_GFX_EDID &&
		    edid_region_use(display, info, msg, sizeof(msg)) < 0)
			log_error("%s: VFIO device: EDID region %" PRIu32
				  " ignored, the guest gets "
				  "no EDID: %s",
				  display->name, i, msg);
		free(info);
	}
}

struct vfio_display *vfio_display_open(int fd, const char *name, char *msg, size_t msg_size)
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
	if (dev_info.num_regions > VFIO_DISPLAY_MAX_REGIONS) {
		set_msg(msg, msg_size, "the VFIO device reports %" PRIu32 " regions (at most %d)",
			dev_info.num_regions, VFIO_DISPLAY_MAX_REGIONS);
		err = EPROTO;
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
	if (name != NULL)
		snprintf(display->name, sizeof(display->name), "%s", name);
	else
		snprintf(display->name, sizeof(display->name), "vfio fd %d", fd);
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
		log_debug("%s: %s planes, %" PRIu32 " regions, EDID in region %" PRIu32
			  " (up to %" PRIu32 " bytes, modes up to %" PRIu32 "x%" PRIu32 ")",
			  display->name,
			  display->kind == VFIO_DISPLAY_DMABUF ? "dma-buf" : "region",
			  display->num_regions, display->edid_region_index, display->edid_max_size,
			  display->max_xres, display->max_yres);
	else
		log_debug("%s: %s planes, %" PRIu32 " regions, no EDID", display->name,
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

int vfio_display_check_plane(const struct vfio_display *display, uint32_t drm_plane_type,
			     const struct vfio_device_gfx_plane_info *info, char *msg,
			     size_t msg_size)
{
	const struct fourcc_info *format = fourcc_info_get(info->drm_format);
	bool region = display->kind == VFIO_DISPLAY_REGION;
	char name[FOURCC_STR_SIZE];

	if (format == NULL || format->n_planes != 1 || (region && format->pixman == 0)) {
		set_msg(msg, msg_size, "format %s is not supported%s",
			fourcc_str(info->drm_format, name, sizeof(name)),
			region ? " for region planes" : "");
		return -EINVAL;
	}
	if (info->width < 1 || info->width > DMABUF_MAX_DIMENSION || info->height < 1 ||
	    info->height > DMABUF_MAX_DIMENSION) {
		set_msg(msg, msg_size, "size %" PRIu32 "x%" PRIu32 " is out of range 1..%d",
			info->width, info->height, DMABUF_MAX_DIMENSION);
		return -EINVAL;
	}
	if (info->stride < fourcc_plane_min_stride(format, 0, info->width)) {
		set_msg(msg, msg_size,
			"stride %" PRIu32 " is smaller than width %" PRIu32 " × %u bytes",
			info->stride, info->width, format->bpp[0]);
		return -EINVAL;
	}
	if (region) {
		uint64_t needed = (uint64_t)info->stride * info->height;
		if (info->stride % 4 != 0) {
			set_msg(msg, msg_size, "stride %" PRIu32 " is not a multiple of 4",
				info->stride);
			return -EINVAL;
		}
		if (info->drm_format_mod != DRM_FORMAT_MOD_LINEAR) {
			set_msg(msg, msg_size, "modifier 0x%016" PRIx64 " is not linear",
				(uint64_t)info->drm_format_mod);
			return -EINVAL;
		}
		if (info->size < needed) {
			set_msg(msg, msg_size,
				"size %" PRIu32 " is smaller than stride %" PRIu32
				" × height %" PRIu32,
				info->size, info->stride, info->height);
			return -EINVAL;
		}
	} else if (info->dmabuf_id == 0) {
		set_msg(msg, msg_size, "dmabuf_id 0 names no dma-buf");
		return -EINVAL;
	}
	if (drm_plane_type == DRM_PLANE_TYPE_CURSOR) {
		if (info->x_pos > DMABUF_MAX_DIMENSION || info->y_pos > DMABUF_MAX_DIMENSION) {
			set_msg(msg, msg_size, "position %" PRIu32 ",%" PRIu32 " is beyond %d,%d",
				info->x_pos, info->y_pos, DMABUF_MAX_DIMENSION,
				DMABUF_MAX_DIMENSION);
			return -EINVAL;
		}
		if ((info->x_hot != VFIO_DISPLAY_NO_HOTSPOT && info->x_hot >= info->width) ||
		    (info->y_hot != VFIO_DISPLAY_NO_HOTSPOT && info->y_hot >= info->height)) {
			set_msg(msg, msg_size,
				"hotspot %" PRIu32 ",%" PRIu32 " lies outside the %" PRIu32
				"x%" PRIu32 " image",
				info->x_hot, info->y_hot, info->width, info->height);
			return -EINVAL;
		}
	}
	return 0;
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
			    uint64_t size_needed, const void **data, char *msg, size_t msg_size)
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
	if (info == NULL) {
		ret = -errno;
		set_msg(msg, msg_size, "region %" PRIu32 ": VFIO_DEVICE_GET_REGION_INFO: %s",
			region_index, strerror(-ret));
		return ret;
	}
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    !(info->flags & VFIO_REGION_INFO_FLAG_READ) || info->size == 0 ||
	    info->size > SIZE_MAX) {
		set_msg(msg, msg_size,
			"region %" PRIu32 " (flags 0x%" PRIx32 ", %" PRIu64
			" bytes) cannot be mapped for reading",
			region_index, info->flags, (uint64_t)info->size);
		ret = -EOPNOTSUPP;
		goto error_info;
	}
	if (!region_span_ok(info) || info->offset % (uint64_t)sysconf(_SC_PAGESIZE) != 0) {
		set_msg(msg, msg_size,
			"region %" PRIu32 ": offset 0x%" PRIx64 " + size 0x%" PRIx64
			" is not page aligned or exceeds the largest file offset",
			region_index, (uint64_t)info->offset, (uint64_t)info->size);
		ret = -EOVERFLOW;
		goto error_info;
	}
	if (info->size < size_needed) {
		set_msg(msg, msg_size,
			"region %" PRIu32 " holds %" PRIu64 " bytes, the plane needs %" PRIu64,
			region_index, (uint64_t)info->size, size_needed);
		ret = -ENOSPC;
		goto error_info;
	}
	ptr = mmap(NULL, (size_t)info->size, PROT_READ, MAP_SHARED, display->fd,
		   (off_t)info->offset);
	if (ptr == MAP_FAILED) {
		ret = -errno;
		set_msg(msg, msg_size, "region %" PRIu32 ": mmap: %s", region_index,
			strerror(-ret));
		goto error_info;
	}
	if (map != NULL)
		map->retired = true;
	map = calloc(1, sizeof(*map));
	if (map == NULL) {
		ret = -ENOMEM;
		set_msg(msg, msg_size, "out of memory");
		munmap(ptr, (size_t)info->size);
		goto error_info;
	}
	map->index = region_index;
	map->data = ptr;
	map->size = (size_t)info->size;
	wl_list_insert(&display->maps, &map->link);
	log_debug("%s: region %" PRIu32 " mapped, %zu bytes", display->name, region_index,
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
	log_debug("%s: EDID of %zu bytes written, link up", display->name, size);
	return 0;
}
