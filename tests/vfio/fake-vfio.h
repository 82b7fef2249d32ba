/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_VFIO_FAKE_VFIO_H
#define VSCANOUT_TESTS_VFIO_FAKE_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>

/*
 * A fake VFIO device for tests and fuzzing: the answers a device gives,
 * set field by field, to the real device layer (src/vfio/device.c).
 *
 * The device's fd is a memfd: pread(), pwrite() and mmap() of its regions
 * are real and reach the memfd's bytes at the regions' offsets (see
 * fake_vfio_memory()). The VFIO ioctls on it are answered from struct
 * fake_vfio: programs using this link with -Wl,--wrap=ioctl, which sends
 * every ioctl() of the program through fake-vfio.c; those on other fds go
 * to the real ioctl().
 */

#define FAKE_VFIO_REGIONS 8

/* What VFIO_DEVICE_GET_REGION_INFO answers for one region. */
struct fake_vfio_region {
	int err; /* != 0: the ioctl fails with this errno */
	/* The answer: struct vfio_region_info and its capability chain. */
	_Alignas(struct vfio_region_info) uint8_t bytes[512];
	uint32_t size; /* bytes of the answer, the argsz the device asks for */
};

struct fake_vfio {
	int fd; /* the memfd; owned until vfio_display_open() takes it */

	int get_info_err; /* VFIO_DEVICE_GET_INFO fails with this errno */
	struct vfio_device_info info;

	bool dmabuf_planes, region_planes; /* which probes succeed */
	struct fake_vfio_region regions[FAKE_VFIO_REGIONS];

	/* VFIO_DEVICE_QUERY_GFX_PLANE answers: [0] primary, [1] cursor. */
	struct vfio_device_gfx_plane_info planes[2];
	int query_err[2];

	/* VFIO_DEVICE_GET_GFX_DMABUF: a dup of this fd, or fails with dmabuf_err. */
	int dmabuf_fd;
	int dmabuf_err;

	/* Counters of what was asked. */
	unsigned queries, region_queries, dmabuf_exports;
};

/*
 * Make a fake device with a memfd of memory_size bytes and make it the one
 * the ioctl wrapper answers for: GET_INFO succeeds with no regions, no
 * probe succeeds, every query answers a plane that is off. Returns 0 or a
 * negative errno.
 */
int fake_vfio_init(struct fake_vfio *fake, size_t memory_size);

/* Close what init made unless vfio_display_open() took the fd. */
void fake_vfio_finish(struct fake_vfio *fake, bool fd_taken);

/*
 * Set region `index` to a plain answer: the struct with the given flags,
 * offset and size, and no capability (the region count grows to cover it).
 */
void fake_vfio_set_region(struct fake_vfio *fake, uint32_t index, uint32_t flags, uint64_t offset,
			  uint64_t size);

/*
 * Make region `index` a VFIO_REGION_TYPE_GFX / SUBTYPE_GFX_EDID region at
 * offset, size bytes, and write its registers (struct vfio_region_gfx_edid)
 * into the memfd. cap_offset places the type capability in the answer
 * (sizeof(struct vfio_region_info) where the kernel puts it).
 */
void fake_vfio_set_edid_region(struct fake_vfio *fake, uint32_t index, uint64_t offset,
			       uint64_t size, uint32_t cap_offset,
			       const struct vfio_region_gfx_edid *regs);

/* Write bytes into the device's memory (the memfd) at offset. Returns 0 or -errno. */
int fake_vfio_write(struct fake_vfio *fake, uint64_t offset, const void *data, size_t size);

#endif
