// SPDX-License-Identifier: MIT
#include "vfio-guest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

/* Offset of VBE register 0 in the MMIO BAR (bochs "dispi" interface). */
#define VBE_MMIO_BASE 0x500

static int write_sysfs(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int make_uuid(char uuid[VG_UUID_SIZE])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4: random */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(uuid, VG_UUID_SIZE,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

bool vg_mdev_parent_present(const char *parent)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/mdev_bus/%s/mdev_supported_types", parent);
	return access(path, F_OK) == 0;
}

int vg_mdev_create(const char *parent, const char *type, char uuid[VG_UUID_SIZE])
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "/sys/class/mdev_bus/%s/mdev_supported_types/%s/create",
		 parent, type);
	if (access(path, W_OK) < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	ret = make_uuid(uuid);
	if (ret < 0)
		return ret;
	return write_sysfs(path, uuid);
}

int vg_mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	return write_sysfs(path, "1");
}

/* The /dev/vfio/<group> path of the mdev uuid, from its iommu_group link. */
static int group_path(const char *uuid, char *out, size_t size)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *name;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	name = strrchr(target, '/');
	name = name ? name + 1 : target;
	if ((size_t)snprintf(out, size, "/dev/vfio/%s", name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int ensure_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -errno;
	if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int vg_region_info(struct vg_guest *guest, uint32_t index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(guest->device_fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0)
		return -errno;
	return 0;
}

static int open_device(struct vg_guest *guest)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	char path[PATH_MAX];
	int ret, fd;

	guest->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (guest->container_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (ioctl(guest->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EPROTO;
	if (ioctl(guest->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0)
		return -EOPNOTSUPP;

	ret = group_path(guest->uuid, path, sizeof(path));
	if (ret < 0)
		return ret;
	guest->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (guest->group_fd < 0)
		return -errno;
	if (ioctl(guest->group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(guest->group_fd, VFIO_GROUP_SET_CONTAINER, &guest->container_fd) < 0)
		return -errno;
	if (ioctl(guest->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;

	fd = ioctl(guest->group_fd, VFIO_GROUP_GET_DEVICE_FD, guest->uuid);
	if (fd < 0)
		return -errno;
	guest->device_fd = fd;
	ret = ensure_cloexec(fd);
	if (ret < 0)
		return ret;

	ret = vg_region_info(guest, VFIO_PCI_BAR0_REGION_INDEX, &guest->vram_region);
	if (ret < 0)
		return ret;
	if (guest->vram_region.size == 0)
		return -ENODEV;
	/* mdpy has no BAR2: its guest only draws, it has no mode registers. */
	ret = vg_region_info(guest, VFIO_PCI_BAR2_REGION_INDEX, &guest->mmio_region);
	if (ret < 0 || guest->mmio_region.size < VBE_MMIO_BASE + 2 * VG_VBE__COUNT)
		guest->mmio_region = (struct vfio_region_info){0};
	return 0;
}

static struct vg_guest *guest_alloc(const char *uuid)
{
	struct vg_guest *guest = calloc(1, sizeof(*guest));

	if (!guest)
		return NULL;
	snprintf(guest->uuid, sizeof(guest->uuid), "%s", uuid);
	guest->container_fd = -1;
	guest->group_fd = -1;
	guest->device_fd = -1;
	return guest;
}

struct vg_guest *vg_guest_open(const char *uuid)
{
	struct vg_guest *guest = guest_alloc(uuid);
	int ret;

	if (!guest)
		return NULL;
	ret = open_device(guest);
	if (ret < 0) {
		vg_guest_destroy(guest);
		errno = -ret;
		return NULL;
	}
	return guest;
}

struct vg_guest *vg_guest_create(const char *parent, const char *type)
{
	char uuid[VG_UUID_SIZE];
	struct vg_guest *guest;
	int ret;

	ret = vg_mdev_create(parent, type, uuid);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	guest = guest_alloc(uuid);
	if (!guest) {
		ret = -errno;
		goto error_mdev;
	}
	snprintf(guest->parent, sizeof(guest->parent), "%s", parent);
	guest->owns_mdev = true;
	ret = open_device(guest);
	if (ret < 0) {
		vg_guest_destroy(guest);
		errno = -ret;
		return NULL;
	}
	return guest;

error_mdev:
	vg_mdev_remove(uuid);
	errno = -ret;
	return NULL;
}

void vg_guest_destroy(struct vg_guest *guest)
{
	if (!guest)
		return;
	if (guest->vram)
		munmap(guest->vram, guest->vram_size);
	if (guest->device_fd >= 0)
		close(guest->device_fd);
	if (guest->group_fd >= 0)
		close(guest->group_fd);
	if (guest->container_fd >= 0)
		close(guest->container_fd);
	if (guest->owns_mdev) {
		int ret = vg_mdev_remove(guest->uuid);

		if (ret < 0)
			fprintf(stderr, "vfio-guest: mdev %s: remove: %s\n", guest->uuid,
				strerror(-ret));
	}
	free(guest);
}

int vg_vram_map(struct vg_guest *guest)
{
	void *map;

	if (guest->vram)
		return 0;
	if (!(guest->vram_region.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -EOPNOTSUPP;
	map = mmap(NULL, guest->vram_region.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   guest->device_fd, (off_t)guest->vram_region.offset);
	if (map == MAP_FAILED)
		return -errno;
	guest->vram = map;
	guest->vram_size = guest->vram_region.size;
	return 0;
}

int vg_vbe_read(struct vg_guest *guest, enum vg_vbe_index index, uint16_t *value)
{
	if (guest->mmio_region.size == 0)
		return -ENODEV;
	off_t off = (off_t)(guest->mmio_region.offset + VBE_MMIO_BASE + 2 * (unsigned int)index);
	uint16_t v;
	ssize_t n;

	n = pread(guest->device_fd, &v, sizeof(v), off);
	if (n < 0)
		return -errno;
	if (n != sizeof(v))
		return -EIO;
	*value = v;
	return 0;
}

int vg_vbe_write(struct vg_guest *guest, enum vg_vbe_index index, uint16_t value)
{
	if (guest->mmio_region.size == 0)
		return -ENODEV;
	off_t off = (off_t)(guest->mmio_region.offset + VBE_MMIO_BASE + 2 * (unsigned int)index);
	ssize_t n;

	n = pwrite(guest->device_fd, &value, sizeof(value), off);
	if (n < 0)
		return -errno;
	if (n != sizeof(value))
		return -EIO;
	return 0;
}

int vg_bochs_set_mode(struct vg_guest *guest, const struct vg_bochs_mode *mode)
{
	const struct {
		enum vg_vbe_index index;
		uint16_t value;
	} writes[] = {
		{VG_VBE_ENABLE, 0},
		{VG_VBE_BPP, mode->bpp},
		{VG_VBE_XRES, mode->width},
		{VG_VBE_YRES, mode->height},
		{VG_VBE_BANK, 0},
		{VG_VBE_VIRT_WIDTH, mode->virt_width ? mode->virt_width : mode->width},
		{VG_VBE_VIRT_HEIGHT, mode->virt_height ? mode->virt_height : mode->height},
		{VG_VBE_X_OFFSET, mode->x_offset},
		{VG_VBE_Y_OFFSET, mode->y_offset},
		{VG_VBE_ENABLE, VG_VBE_ENABLED | VG_VBE_LFB_ENABLED},
	};
	uint16_t id = 0;
	size_t i;
	int ret;

	ret = vg_vbe_read(guest, VG_VBE_ID, &id);
	if (ret < 0)
		return ret;
	if ((id & 0xfff0) != (VG_VBE_ID5 & 0xfff0))
		return -ENODEV;
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		ret = vg_vbe_write(guest, writes[i].index, writes[i].value);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vg_bochs_pan(struct vg_guest *guest, uint16_t x, uint16_t y)
{
	int ret = vg_vbe_write(guest, VG_VBE_X_OFFSET, x);

	if (ret < 0)
		return ret;
	return vg_vbe_write(guest, VG_VBE_Y_OFFSET, y);
}

size_t vg_bochs_offset(const struct vg_bochs_mode *mode)
{
	size_t bytepp = mode->bpp / 8;
	size_t virt_width = mode->virt_width > mode->width ? mode->virt_width : mode->width;

	return (size_t)mode->y_offset * virt_width * bytepp + (size_t)mode->x_offset * bytepp;
}

int vg_gfx_probe(struct vg_guest *guest, uint32_t flags)
{
	struct vfio_device_gfx_plane_info info = {
		.argsz = sizeof(info),
		.flags = VFIO_GFX_PLANE_TYPE_PROBE | flags,
	};

	if (ioctl(guest->device_fd, VFIO_DEVICE_QUERY_GFX_PLANE, &info) < 0)
		return -errno;
	return 0;
}

static int query_once(struct vg_guest *guest, uint32_t drm_plane_type,
		      struct vfio_device_gfx_plane_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->flags = VFIO_GFX_PLANE_TYPE_DMABUF;
	info->drm_plane_type = drm_plane_type;
	if (ioctl(guest->device_fd, VFIO_DEVICE_QUERY_GFX_PLANE, info) < 0)
		return -errno;
	return 0;
}

int vg_gfx_query(struct vg_guest *guest, uint32_t drm_plane_type,
		 struct vfio_device_gfx_plane_info *info)
{
	int ret = query_once(guest, drm_plane_type, info);

	if (ret == -ENOMEM) {
		guest->query_retries++;
		ret = query_once(guest, drm_plane_type, info);
	}
	return ret;
}

int vg_gfx_dmabuf(struct vg_guest *guest, uint32_t dmabuf_id)
{
	int fd, ret;

	fd = ioctl(guest->device_fd, VFIO_DEVICE_GET_GFX_DMABUF, &dmabuf_id);
	if (fd < 0)
		return -errno;
	/*
	 * mbochs exports without O_CLOEXEC. Test processes are single-threaded,
	 * so no exec can run between the export and this.
	 */
	ret = ensure_cloexec(fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}
