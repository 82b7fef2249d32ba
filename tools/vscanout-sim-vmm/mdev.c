// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mdev.h"

void mdev_device_init(struct mdev_device *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->container_fd = dev->group_fd = dev->device_fd = -1;
}

void mdev_device_close(struct mdev_device *dev)
{
	if (dev->bar0_map != NULL)
		munmap(dev->bar0_map, dev->bar0_map_size);
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	if (dev->group_fd >= 0)
		close(dev->group_fd);
	if (dev->container_fd >= 0)
		close(dev->container_fd);
	mdev_device_init(dev);
}

/* The group's device node, from the mdev's iommu_group link. */
static int group_path(const char *uuid, char *out, size_t size, char *msg, size_t msg_size)
{
	char link[PATH_MAX], target[PATH_MAX];

	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		int ret = -errno;
		snprintf(msg, msg_size, "no mdev %s (%s: %s)", uuid, link, strerror(errno));
		return ret;
	}
	target[n] = '\0';
	const char *name = strrchr(target, '/');
	name = name != NULL ? name + 1 : target;
	if ((size_t)snprintf(out, size, "/dev/vfio/%s", name) >= size) {
		snprintf(msg, msg_size, "IOMMU group name too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

static int region_info(struct mdev_device *dev, uint32_t index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dev->device_fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0 ? -errno : 0;
}

#define FAIL(...)                                     \
	do {                                          \
		ret = errno > 0 ? -errno : -EIO;      \
		snprintf(msg, msg_size, __VA_ARGS__); \
		goto error;                           \
	} while (0)

int mdev_device_open(struct mdev_device *dev, const char *uuid, char *msg, size_t msg_size)
{
	char path[PATH_MAX];
	int ret;

	mdev_device_init(dev);
	ret = group_path(uuid, path, sizeof(path), msg, msg_size);
	if (ret < 0)
		return ret;

	errno = 0;
	dev->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (dev->container_fd < 0)
		FAIL("cannot open /dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(dev->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		errno = EPROTO;
		FAIL("/dev/vfio/vfio speaks another VFIO API version");
	}
	if (ioctl(dev->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		errno = EOPNOTSUPP;
		FAIL("the VFIO container has no type1 IOMMU (modprobe vfio_iommu_type1)");
	}

	dev->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->group_fd < 0)
		FAIL("cannot open %s: %s", path, strerror(errno));
	struct vfio_group_status status = {.argsz = sizeof(status)};
	if (ioctl(dev->group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		FAIL("%s: VFIO_GROUP_GET_STATUS: %s", path, strerror(errno));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		FAIL("%s is not viable: a device of the group is bound to another driver", path);
	}
	if (ioctl(dev->group_fd, VFIO_GROUP_SET_CONTAINER, &dev->container_fd) < 0)
		FAIL("%s: VFIO_GROUP_SET_CONTAINER: %s", path, strerror(errno));
	if (ioctl(dev->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		FAIL("VFIO_SET_IOMMU(TYPE1): %s", strerror(errno));

	dev->device_fd = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev->device_fd < 0)
		FAIL("%s: VFIO_GROUP_GET_DEVICE_FD(%s): %s", path, uuid, strerror(errno));
	/* The kernel gives the device fd O_CLOEXEC; make sure. */
	int flags = fcntl(dev->device_fd, F_GETFD);
	if (flags < 0 || fcntl(dev->device_fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		FAIL("F_SETFD on the device fd: %s", strerror(errno));

	ret = region_info(dev, VFIO_PCI_BAR0_REGION_INDEX, &dev->bar0);
	if (ret == 0)
		ret = region_info(dev, VFIO_PCI_BAR2_REGION_INDEX, &dev->bar2);
	if (ret < 0) {
		snprintf(msg, msg_size, "mdev %s: VFIO_DEVICE_GET_REGION_INFO: %s", uuid,
			 strerror(-ret));
		goto error;
	}
	return 0;

error:
	mdev_device_close(dev);
	return ret;
}

#undef FAIL

int mdev_device_map_bar0(struct mdev_device *dev)
{
	if (dev->bar0_map != NULL)
		return 0;
	if (!(dev->bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) || dev->bar0.size == 0)
		return -EOPNOTSUPP;
	void *map = mmap(NULL, dev->bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->device_fd,
			 (off_t)dev->bar0.offset);
	if (map == MAP_FAILED)
		return -errno;
	dev->bar0_map = map;
	dev->bar0_map_size = dev->bar0.size;
	return 0;
}

int mdev_device_read16(struct mdev_device *dev, uint64_t offset, uint16_t *value)
{
	if (offset + sizeof(*value) > dev->bar2.size)
		return -ERANGE;
	ssize_t n =
		pread(dev->device_fd, value, sizeof(*value), (off_t)(dev->bar2.offset + offset));
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*value) ? 0 : -EIO;
}

int mdev_device_write16(struct mdev_device *dev, uint64_t offset, uint16_t value)
{
	if (offset + sizeof(value) > dev->bar2.size)
		return -ERANGE;
	ssize_t n =
		pwrite(dev->device_fd, &value, sizeof(value), (off_t)(dev->bar2.offset + offset));
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(value) ? 0 : -EIO;
}
