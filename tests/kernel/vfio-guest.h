/* SPDX-License-Identifier: MIT */
/*
 * vfio-guest: a simulated guest and VMM for an emulated (mdev) VFIO display
 * device, for tests that run against a real kernel inside the VM test bed.
 *
 * The test process plays both roles a real deployment splits between a VM
 * and its VMM:
 *  - as the VMM it creates an mdev (e.g. mbochs-medium) through sysfs, opens
 *    the VFIO container, group and device, and asks the device for its
 *    display planes (VFIO_DEVICE_QUERY_GFX_PLANE) and their dma-bufs
 *    (VFIO_DEVICE_GET_GFX_DMABUF), exactly as the daemon will;
 *  - as the guest's display driver it programs the bochs VBE ("dispi")
 *    registers through BAR2 and draws into VRAM through a BAR0 mapping.
 *
 * Register layout (Linux samples/vfio-mdev/mbochs.c): BAR2 is a 4 KiB MMIO
 * BAR; the 16-bit VBE registers sit at 0x500 + 2 * index. BAR0 is VRAM. The
 * device reads the VBE registers when it is queried, so a mode set or a pan
 * takes effect at the next VFIO_DEVICE_QUERY_GFX_PLANE.
 *
 * Conventions: functions return 0 or a negative errno; constructors return
 * NULL and set errno. Every fd is O_CLOEXEC. Nothing here sleeps.
 *
 * Lifetime: a dma-buf exported by the device refers to the mdev's state, so
 * every dma-buf fd from vg_gfx_dmabuf() and everything that imported one
 * (GEM handles, framebuffers on a plane) must be released before
 * vg_guest_destroy() removes an mdev it created.
 */
#ifndef VFIO_GUEST_H
#define VFIO_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>

/* Room for a UUID in its 36-character text form and the terminating NUL. */
#define VG_UUID_SIZE 37

/* Bochs VBE ("dispi") register indices, as in the bochs display interface. */
enum vg_vbe_index {
	VG_VBE_ID = 0x0,
	VG_VBE_XRES = 0x1,
	VG_VBE_YRES = 0x2,
	VG_VBE_BPP = 0x3,
	VG_VBE_ENABLE = 0x4,
	VG_VBE_BANK = 0x5,
	VG_VBE_VIRT_WIDTH = 0x6,
	VG_VBE_VIRT_HEIGHT = 0x7,
	VG_VBE_X_OFFSET = 0x8,
	VG_VBE_Y_OFFSET = 0x9,
	VG_VBE_VIDEO_MEMORY_64K = 0xa,
	VG_VBE__COUNT,
};

/* Values of VG_VBE_ENABLE and the identification in VG_VBE_ID. */
#define VG_VBE_ENABLED     0x01
#define VG_VBE_LFB_ENABLED 0x40
#define VG_VBE_ID5         0xb0c5

/* A display mode of the bochs VBE interface. */
struct vg_bochs_mode {
	uint16_t width, height;           /* visible size in pixels */
	uint16_t bpp;                     /* bits per pixel; mbochs knows only 32 */
	uint16_t virt_width, virt_height; /* size of the scanout area in VRAM */
	uint16_t x_offset, y_offset;      /* top left of the visible part */
};

/* An opened VFIO display device and, optionally, the mdev behind it. */
struct vg_guest {
	char uuid[VG_UUID_SIZE];
	char parent[64];                     /* mdev parent, e.g. "mbochs" */
	bool owns_mdev;                      /* vg_guest_destroy() removes the mdev */
	int container_fd;                    /* /dev/vfio/vfio, owned */
	int group_fd;                        /* /dev/vfio/<group>, owned */
	int device_fd;                       /* owned */
	struct vfio_region_info vram_region; /* BAR0 */
	struct vfio_region_info mmio_region; /* BAR2; size 0 without one (mdpy) */
	void *vram;                          /* shared mapping of all of BAR0; may be NULL */
	size_t vram_size;                    /* bytes mapped at vram */
	unsigned int query_retries;          /* transient query failures retried so far */
};

/*
 * True if the mdev parent device parent (e.g. "mbochs", "mdpy") is
 * registered, i.e. its module is loaded and the mdev core is present.
 */
bool vg_mdev_parent_present(const char *parent);

/*
 * Create an mdev of type (e.g. "mbochs-medium") on parent (e.g. "mbochs")
 * with a fresh random UUID, written as text into uuid.
 * Returns 0, -ENODEV if the parent or type does not exist, or another
 * negative errno from the parent (e.g. when its memory is used up).
 */
int vg_mdev_create(const char *parent, const char *type, char uuid[VG_UUID_SIZE]);

/*
 * Remove the mdev uuid. The kernel waits until the device is no longer
 * open. Returns 0 or a negative errno.
 */
int vg_mdev_remove(const char *uuid);

/*
 * Open the VFIO device of the existing mdev uuid: container, the group named
 * by the mdev's iommu_group link, VFIO_SET_IOMMU(TYPE1), the device fd, and
 * the region info of BAR0 (VRAM) and BAR2 (MMIO). The mdev is not removed by
 * vg_guest_destroy(). Returns NULL and sets errno on failure.
 */
struct vg_guest *vg_guest_open(const char *uuid);

/*
 * Create an mdev of type on parent (vg_mdev_create()) and open it
 * (vg_guest_open()); vg_guest_destroy() removes the mdev again.
 * Returns NULL and sets errno (ENODEV when the parent or type is missing).
 */
struct vg_guest *vg_guest_create(const char *parent, const char *type);

/*
 * Unmap VRAM, close the device, group and container, and remove the mdev if
 * vg_guest_create() made it. NULL is a no-op; works on a half-opened guest.
 * See the lifetime note at the top of this file.
 */
void vg_guest_destroy(struct vg_guest *guest);

/*
 * VFIO_DEVICE_GET_REGION_INFO for region index (VFIO_PCI_*_REGION_INDEX).
 * Fills *info (argsz, flags, index, size, offset). Returns 0 or a negative
 * errno.
 */
int vg_region_info(struct vg_guest *guest, uint32_t index, struct vfio_region_info *info);

/*
 * Map all of VRAM (BAR0) shared, read and write, into guest->vram and
 * guest->vram_size. Idempotent. Returns 0 or a negative errno.
 */
int vg_vram_map(struct vg_guest *guest);

/* Read VBE register index through BAR2 into *value. Returns 0 or -errno. */
int vg_vbe_read(struct vg_guest *guest, enum vg_vbe_index index, uint16_t *value);

/* Write value to VBE register index through BAR2. Returns 0 or -errno. */
int vg_vbe_write(struct vg_guest *guest, enum vg_vbe_index index, uint16_t value);

/*
 * Program a mode the way a bochs guest driver does: check the interface id,
 * disable, set BPP, resolution, virtual size and offsets, then enable with
 * the linear framebuffer. virt_width/virt_height of 0 mean width/height.
 * Returns 0, -ENODEV if the id register is not a bochs VBE id, or -errno.
 */
int vg_bochs_set_mode(struct vg_guest *guest, const struct vg_bochs_mode *mode);

/*
 * Pan: move the visible part of the virtual screen to (x, y), as a guest
 * flipping between buffers in VRAM does. Returns 0 or a negative errno.
 */
int vg_bochs_pan(struct vg_guest *guest, uint16_t x, uint16_t y);

/*
 * Byte offset into VRAM of the pixel (0, 0) of a mode, as the device
 * computes it (offsets times the stride of the virtual width).
 */
size_t vg_bochs_offset(const struct vg_bochs_mode *mode);

/*
 * VFIO_DEVICE_QUERY_GFX_PLANE with VFIO_GFX_PLANE_TYPE_PROBE | flags:
 * returns 0 if the device exports planes of that kind (flags is
 * VFIO_GFX_PLANE_TYPE_DMABUF or VFIO_GFX_PLANE_TYPE_REGION), otherwise a
 * negative errno (-EINVAL or -ENOTTY: not supported).
 */
int vg_gfx_probe(struct vg_guest *guest, uint32_t flags);

/*
 * Query the plane of drm_plane_type (DRM_PLANE_TYPE_PRIMARY or _CURSOR) as
 * a dma-buf and fill *info. A plane that is currently off gives 0 with
 * info->drm_format == 0 and info->dmabuf_id == 0.
 *
 * The first query after a mode change can fail once with ENOMEM on mbochs
 * (Linux 6.1 allocates the new buffer but reports the failure); the query
 * is then repeated once and counted in guest->query_retries. Returns 0 or a
 * negative errno.
 */
int vg_gfx_query(struct vg_guest *guest, uint32_t drm_plane_type,
		 struct vfio_device_gfx_plane_info *info);

/*
 * VFIO_DEVICE_GET_GFX_DMABUF: a new dma-buf fd (O_CLOEXEC, owned by the
 * caller) for dmabuf_id from vg_gfx_query(). Returns the fd or a negative
 * errno.
 */
int vg_gfx_dmabuf(struct vg_guest *guest, uint32_t dmabuf_id);

#endif /* VFIO_GUEST_H */
