// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drmMode.h>

#include "fake-vfio.h"

/* The device the ioctl wrapper answers for; NULL: none. */
static struct fake_vfio *current;

int __real_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);

static int fail(int err)
{
	errno = err;
	return -1;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int answer_get_info(struct fake_vfio *fake, struct vfio_device_info *info)
{
	if (fake->get_info_err != 0)
		return fail(fake->get_info_err);
	uint32_t argsz = info->argsz;
	if (argsz < sizeof(*info))
		return fail(EINVAL);
	*info = fake->info;
	info->argsz = argsz;
	return 0;
}

static int answer_query(struct fake_vfio *fake, struct vfio_device_gfx_plane_info *plane)
{
	uint32_t argsz = plane->argsz, flags = plane->flags;
	if (argsz < sizeof(*plane))
		return fail(EINVAL);
	if (flags & VFIO_GFX_PLANE_TYPE_PROBE) {
		if (((flags & VFIO_GFX_PLANE_TYPE_DMABUF) && fake->dmabuf_planes) ||
		    ((flags & VFIO_GFX_PLANE_TYPE_REGION) && fake->region_planes))
			return 0;
		return fail(EINVAL);
	}
	fake->queries++;
	size_t i = plane->drm_plane_type == DRM_PLANE_TYPE_CURSOR ? 1 : 0;
	if (fake->query_err[i] != 0)
		return fail(fake->query_err[i]);
	*plane = fake->planes[i];
	plane->argsz = argsz;
	plane->flags = flags;
	return 0;
}

static int answer_region_info(struct fake_vfio *fake, struct vfio_region_info *info)
{
	fake->region_queries++;
	if (info->argsz < sizeof(*info))
		return fail(EINVAL);
	if (info->index >= FAKE_VFIO_REGIONS)
		return fail(EINVAL);
	const struct fake_vfio_region *region = &fake->regions[info->index];
	if (region->err != 0)
		return fail(region->err);
	/* The answer as the device has it, its argsz included, cut to the room given. */
	memcpy(info, region->bytes,
	       min_size(min_size(info->argsz, region->size), sizeof(region->bytes)));
	return 0;
}

static int answer(struct fake_vfio *fake, unsigned long request, void *arg)
{
	switch (request) {
	case VFIO_DEVICE_GET_INFO:
		return answer_get_info(fake, arg);
	case VFIO_DEVICE_QUERY_GFX_PLANE:
		return answer_query(fake, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return answer_region_info(fake, arg);
	case VFIO_DEVICE_GET_GFX_DMABUF:
		fake->dmabuf_exports++;
		if (fake->dmabuf_err != 0)
			return fail(fake->dmabuf_err);
		/* Devices export without O_CLOEXEC. */
		return fcntl(fake->dmabuf_fd, F_DUPFD, 0);
	default:
		return fail(ENOTTY);
	}
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list args;
	va_start(args, request);
	void *arg = va_arg(args, void *);
	va_end(args);
	if (current == NULL || fd != current->fd)
		return __real_ioctl(fd, request, arg);
	return answer(current, request, arg);
}

int fake_vfio_init(struct fake_vfio *fake, size_t memory_size)
{
	*fake = (struct fake_vfio){.dmabuf_fd = -1, .dmabuf_err = ENOENT};
	fake->fd = memfd_create("fake-vfio", MFD_CLOEXEC);
	if (fake->fd < 0)
		return -errno;
	if (ftruncate(fake->fd, (off_t)memory_size) != 0) {
		int err = errno;
		close(fake->fd);
		return -err;
	}
	fake->info = (struct vfio_device_info){
		.argsz = sizeof(fake->info),
		.flags = VFIO_DEVICE_FLAGS_PCI,
	};
	current = fake;
	return 0;
}

void fake_vfio_finish(struct fake_vfio *fake, bool fd_taken)
{
	if (!fd_taken)
		close(fake->fd);
	if (current == fake)
		current = NULL;
}

static void grow_regions(struct fake_vfio *fake, uint32_t index)
{
	if (fake->info.num_regions <= index)
		fake->info.num_regions = index + 1;
}

void fake_vfio_set_region(struct fake_vfio *fake, uint32_t index, uint32_t flags, uint64_t offset,
			  uint64_t size)
{
	struct fake_vfio_region *region = &fake->regions[index];
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.flags = flags,
		.index = index,
		.size = size,
		.offset = offset,
	};
	memset(region, 0, sizeof(*region));
	memcpy(region->bytes, &info, sizeof(info));
	region->size = sizeof(info);
	grow_regions(fake, index);
}

void fake_vfio_set_edid_region(struct fake_vfio *fake, uint32_t index, uint64_t offset,
			       uint64_t size, uint32_t cap_offset,
			       const struct vfio_region_gfx_edid *regs)
{
	struct fake_vfio_region *region = &fake->regions[index];
	struct vfio_region_info_cap_type cap = {
		.header = {.id = VFIO_REGION_INFO_CAP_TYPE, .version = 1},
		.type = VFIO_REGION_TYPE_GFX,
		.subtype = VFIO_REGION_SUBTYPE_GFX_EDID,
	};
	uint32_t end = cap_offset + (uint32_t)sizeof(cap);
	struct vfio_region_info info = {
		.argsz = end,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_CAPS,
		.index = index,
		.cap_offset = cap_offset,
		.size = size,
		.offset = offset,
	};
	memset(region, 0, sizeof(*region));
	if (end <= sizeof(region->bytes)) {
		memcpy(region->bytes, &info, sizeof(info));
		memcpy(region->bytes + cap_offset, &cap, sizeof(cap));
		region->size = end;
	}
	grow_regions(fake, index);
	if (regs != NULL)
		fake_vfio_write(fake, offset, regs, sizeof(*regs));
}

int fake_vfio_write(struct fake_vfio *fake, uint64_t offset, const void *data, size_t size)
{
	if (offset > INT64_MAX)
		return -EINVAL;
	ssize_t n = pwrite(fake->fd, data, size, (off_t)offset);
	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}
