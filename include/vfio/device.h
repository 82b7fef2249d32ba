/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_DEVICE_H
#define VSCANOUT_VFIO_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>
#include <wayland-server-core.h>

/*
 * The display of one VFIO device: the ioctls of the VFIO display uAPI
 * (linux/vfio.h) around a device fd a VMM handed over, without policy.
 * vfio/source.c decides when to poll and what to do with the answers.
 *
 * A mediated vGPU shows its guest's planes in one of two ways:
 *  - dma-buf planes (mbochs, Intel GVT-g): VFIO_DEVICE_QUERY_GFX_PLANE names
 *    a dmabuf_id per scanout configuration and VFIO_DEVICE_GET_GFX_DMABUF
 *    turns it into a dma-buf (vfio_display_import());
 *  - region planes (mdpy): the plane's pixels sit in a device region the
 *    daemon maps for the CPU (vfio_display_map_region()) and copies.
 * A device may also have an EDID region (VFIO_REGION_SUBTYPE_GFX_EDID): the
 * monitor the guest sees, written with vfio_display_write_edid().
 *
 * Every value a device answers is checked before it is used (for range,
 * overflow and alignment): the device is an untrusted party, as the guest
 * that programs it is.
 *
 * Conventions: functions return 0 or a negative errno, the constructor
 * returns NULL and sets errno. Messages for users go into msg buffers (the
 * caller reports them once); this layer logs itself only what it decides
 * alone: an EDID region it ignores (an error naming the display and the
 * value), and debug messages.
 */

/* Most regions a device may report (VFIO_DEVICE_GET_INFO num_regions). */
#define VFIO_DISPLAY_MAX_REGIONS 256
/* VFIO's "no hotspot" value of x_hot and y_hot. */
#define VFIO_DISPLAY_NO_HOTSPOT 0xffffffffu

enum vfio_display_kind {
	VFIO_DISPLAY_DMABUF, /* VFIO_GFX_PLANE_TYPE_DMABUF */
	VFIO_DISPLAY_REGION, /* VFIO_GFX_PLANE_TYPE_REGION */
};

struct vfio_display {
	int fd;        /* owned, O_CLOEXEC: the VFIO device */
	char name[64]; /* for messages: "vgpu NAME", or "vfio fd N" */
	enum vfio_display_kind kind;
	uint32_t plane_flags; /* VFIO_GFX_PLANE_TYPE_DMABUF or _REGION, for queries */
	uint32_t num_regions; /* from VFIO_DEVICE_GET_INFO */

	/* The EDID region; everything below is 0 when has_edid is false. */
	bool has_edid;
	uint32_t edid_region_index;
	uint64_t edid_region_offset; /* offset of the region in the device fd */
	uint64_t edid_region_size;
	uint32_t max_xres, max_yres; /* largest mode the device shows; 0: no limit */
	uint32_t edid_max_size;      /* bytes of EDID the region takes */
	uint32_t edid_offset;        /* offset of the EDID blob in the region */

	/* private: struct vfio_region_map.link, CPU mappings of regions */
	struct wl_list maps;
};

/*
 * Open the display of the VFIO device fd (taken: kept on success, closed on
 * failure). name (may be NULL: "vfio fd N") starts the messages this layer
 * logs, e.g. "vgpu kiosk-a". Checks, in order:
 *  - VFIO_DEVICE_GET_INFO: any fd that is not a VFIO device is refused with
 *    "fd 7 is not a VFIO device (VFIO_DEVICE_GET_INFO: Inappropriate ioctl
 *    for device)", errno set to the ioctl's; a device reporting more than
 *    VFIO_DISPLAY_MAX_REGIONS regions is refused with errno EPROTO;
 *  - VFIO_DEVICE_QUERY_GFX_PLANE with PROBE | DMABUF, then PROBE | REGION:
 *    the first kind the device accepts is used; a device that takes neither
 *    is refused with "the VFIO device has no display (neither dma-buf nor
 *    region planes)", errno ENODEV;
 *  - each region (VFIO_DEVICE_GET_REGION_INFO with its capability chain)
 *    for a VFIO_REGION_TYPE_GFX / VFIO_REGION_SUBTYPE_GFX_EDID region, whose
 *    struct vfio_region_gfx_edid fills the EDID fields. A device without
 *    one opens without EDID; so does one whose EDID region makes no sense
 *    (a capability chain with a misaligned, overlapping or out-of-bounds
 *    entry, a region whose offset + size wraps or exceeds the largest file
 *    offset, an EDID blob that does not lie inside the region or has room
 *    for less than one 128-byte block, max_xres or max_yres beyond
 *    DMABUF_MAX_DIMENSION): that is logged as an error naming the value.
 * The fd is set O_CLOEXEC. msg (msg_size bytes, 256 is plenty) receives
 * the reason of a failure; it is not written on success.
 */
struct vfio_display *vfio_display_open(int fd, const char *name, char *msg, size_t msg_size);

/*
 * Unmap every region mapping and close the device fd. Buffers imported
 * from it keep their own dma-buf fds. NULL is a no-op.
 */
void vfio_display_destroy(struct vfio_display *display);

/*
 * VFIO_DEVICE_QUERY_GFX_PLANE for drm_plane_type (DRM_PLANE_TYPE_PRIMARY or
 * DRM_PLANE_TYPE_CURSOR) with the display's plane kind; fills *info. A
 * plane the guest has switched off answers 0 with info->drm_format == 0
 * (and dmabuf_id 0 for dma-buf planes). Returns 0 or the ioctl's negative
 * errno: see vfio_error_is_fatal(). mbochs on Linux 6.1 fails the first
 * query of every new scanout configuration (a mode set, a pan) once with
 * -ENOMEM; the next query succeeds.
 */
int vfio_display_query(struct vfio_display *display, uint32_t drm_plane_type,
		       struct vfio_device_gfx_plane_info *info);

/*
 * Whether a failure (a negative errno; a positive one is read the same) of
 * a query, an import or a region access means the device is gone: ENODEV,
 * EIO, EBADF, ENXIO, EFAULT, EPIPE. Everything else (ENOMEM, EAGAIN, EBUSY,
 * EINTR, ...) is transient: retry at the next poll.
 */
bool vfio_error_is_fatal(int err);

/*
 * Check the answer of a successful query of a plane that is on
 * (info->drm_format != 0, width and height not 0) before anything uses it:
 *  - the format is one vscanoutd handles, with one plane; for region
 *    planes one the CPU can read, with a linear layout;
 *  - width and height in 1..DMABUF_MAX_DIMENSION, stride >= width × bytes
 *    per pixel (region planes: a multiple of 4);
 *  - dma-buf planes: a dmabuf_id other than 0 (the dma-buf's own size is
 *    checked against stride × height when it is imported);
 *  - region planes: size >= stride × height (the region region_index
 *    names is checked when it is mapped: mdpy's lies beyond the region
 *    count the device reports);
 *  - cursor planes: x_pos and y_pos up to DMABUF_MAX_DIMENSION, x_hot and
 *    y_hot inside the image or VFIO_DISPLAY_NO_HOTSPOT.
 * Returns 0, or -EINVAL with the reason in msg, e.g. "stride 100 is
 * smaller than width 64 × 4 bytes".
 */
int vfio_display_check_plane(const struct vfio_display *display, uint32_t drm_plane_type,
			     const struct vfio_device_gfx_plane_info *info, char *msg,
			     size_t msg_size);

/*
 * The dma-buf of the plane info describes (a successful query of a dma-buf
 * display, plane on) as a new buffer with one reference:
 * VFIO_DEVICE_GET_GFX_DMABUF(info->dmabuf_id), set O_CLOEXEC, wrapped with
 * width, height, drm_format, stride and drm_format_mod (0 from a device is
 * DRM_FORMAT_MOD_LINEAR) at offset 0 after dmabuf_attributes_check(). The
 * buffer owns the new dma-buf fd; each call makes another fd, so callers
 * keep buffers in a cache (vfio/cache.h).
 *
 * On failure returns NULL, sets errno and writes the reason into msg:
 * EINVAL for a region display, a plane that is off, a format with more than
 * one plane or attributes the dma-buf does not match; the ioctl's errno
 * (ENOENT for an unknown id, ...) otherwise.
 */
struct buffer *vfio_display_import(struct vfio_display *display,
				   const struct vfio_device_gfx_plane_info *info, char *msg,
				   size_t msg_size);

/*
 * A read-only CPU mapping of region region_index (a region plane's
 * info->region_index) that holds at least size_needed bytes: the whole
 * region, mapped PROT_READ, MAP_SHARED at its offset in the device fd. The
 * mapping is kept and handed out again for later calls on the same index
 * without any ioctl. When size_needed grows beyond it the region is
 * looked up and mapped again; the old mapping stays valid (buffers may
 * still point into it) until vfio_display_destroy().
 *
 * On success *data points at the region's first byte. Returns 0,
 * -EOPNOTSUPP when the region cannot be mmapped, -ENOSPC when it is smaller
 * than size_needed, -EOVERFLOW when its offset is not page aligned or
 * offset + size wraps or exceeds the largest file offset, -EPROTO when the
 * device answers for another region, or the negative errno of the ioctl or
 * mmap; msg (may be NULL) receives the reason of a failure.
 */
int vfio_display_map_region(struct vfio_display *display, uint32_t region_index,
			    uint64_t size_needed, const void **data, char *msg, size_t msg_size);

/*
 * Show the guest a new monitor: with pwrite() into the EDID region, set
 * link_state to VFIO_DEVICE_GFX_LINK_STATE_DOWN, write the size bytes of
 * blob at edid_offset, set edid_size to size, and set link_state to
 * VFIO_DEVICE_GFX_LINK_STATE_UP (the guest sees a hotplug). Returns 0,
 * -ENOTSUP when the device has no EDID region, -EINVAL for an empty
 * blob, -ENOSPC when size exceeds edid_max_size, or the negative errno of a
 * write (-EIO for a short one); after a failed write the link may stay down.
 */
int vfio_display_write_edid(struct vfio_display *display, const uint8_t *blob, size_t size);

#endif
