/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SIM_VMM_MDEV_H
#define VSCANOUT_SIM_VMM_MDEV_H

#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>

/*
 * The VMM's side of a mediated vGPU (an mdev such as mbochs): its VFIO
 * device opened the way a VMM opens it, and the PCI regions a guest driver
 * reaches through it.
 *
 *   /dev/vfio/vfio (the container)
 *   /dev/vfio/N    (the group, N from /sys/bus/mdev/devices/UUID/iommu_group)
 *   VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU(TYPE1)
 *   VFIO_GROUP_GET_DEVICE_FD(UUID) -> the device fd
 *
 * The device fd is what vscanout_vgpu_v1.set_vfio_device hands to
 * vscanoutd (the request carries a duplicate; the VMM keeps its own).
 * Functions return 0 or a negative errno. Every fd is O_CLOEXEC.
 */
struct mdev_device {
	int container_fd;             /* owned, -1 when closed */
	int group_fd;                 /* owned, -1 when closed */
	int device_fd;                /* owned, -1 when closed */
	struct vfio_region_info bar0; /* VRAM on a bochs-like device */
	struct vfio_region_info bar2; /* MMIO registers */
	uint8_t *bar0_map;            /* all of BAR0, shared; may be NULL */
	size_t bar0_map_size;
};

/* A closed device: every fd -1, nothing mapped. */
void mdev_device_init(struct mdev_device *dev);

/*
 * Open the VFIO device of the mdev uuid (container, group, IOMMU, device)
 * and read the info of BAR0 and BAR2. On failure writes what went wrong
 * into msg ("cannot open /dev/vfio/0: Device or resource busy") and leaves
 * dev closed. Returns 0 or a negative errno.
 */
int mdev_device_open(struct mdev_device *dev, const char *uuid, char *msg, size_t msg_size);

/* Unmap BAR0 and close the device, group and container. Idempotent. */
void mdev_device_close(struct mdev_device *dev);

/* Map all of BAR0 shared into bar0_map. Idempotent. Returns 0 or -errno. */
int mdev_device_map_bar0(struct mdev_device *dev);

/* Read or write 16 bits of BAR2 at offset, as a guest's MMIO access. */
int mdev_device_read16(struct mdev_device *dev, uint64_t offset, uint16_t *value);
int mdev_device_write16(struct mdev_device *dev, uint64_t offset, uint16_t value);

#endif
