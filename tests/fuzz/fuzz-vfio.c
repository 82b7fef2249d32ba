// SPDX-License-Identifier: MIT
/*
 * A VFIO device that answers anything: the input is read as the answers of
 * a fake device (tests/vfio/fake-vfio.h) to the device layer and the
 * source, then as a sequence of plane answers, errors, polls and EDID
 * writes. Whatever the device says, the daemon must neither crash nor read
 * outside what it mapped, and every plane it hands over must be one it can
 * show.
 *
 * Input layout (missing bytes read as 0):
 *   u8 flags (bit 0: dma-buf planes, bit 1: region planes, bit 2: GET_INFO
 *      fails), u16 num_regions,
 *   per region of the fake: u8 kind, then
 *      kind 0: the ioctl fails; 1: u32 flags, u64 offset, u64 size;
 *      2: an EDID region: u64 offset, u64 size, u8 cap_offset,
 *         struct vfio_region_gfx_edid; 3: u16 n and n bytes of raw answer,
 *   then operations: u8 op and its operands (see run_ops()).
 * The operations run twice: against the device layer alone, then through
 * a vfio_source.
 */
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "fake-vfio.h"
#include "util/fourcc.h"
#include "util/log.h"
#include "vfio/device.h"
#include "vfio/edid.h"
#include "vfio/source.h"

/* The fake's memory: regions that can be mapped lie inside it. */
#define MEMORY_SIZE (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size;
};

static void take(struct input *in, void *out, size_t n)
{
	size_t have = in->size < n ? in->size : n;
	memcpy(out, in->data, have);
	memset((uint8_t *)out + have, 0, n - have);
	in->data += have;
	in->size -= have;
}

static uint8_t take_u8(struct input *in)
{
	uint8_t v;
	take(in, &v, sizeof(v));
	return v;
}

static uint16_t take_u16(struct input *in)
{
	uint16_t v;
	take(in, &v, sizeof(v));
	return v;
}

static uint32_t take_u32(struct input *in)
{
	uint32_t v;
	take(in, &v, sizeof(v));
	return v;
}

static uint64_t take_u64(struct input *in)
{
	uint64_t v;
	take(in, &v, sizeof(v));
	return v;
}

static const int errors[] = {0, ENOMEM, EINVAL, EAGAIN, ENODEV, EIO, ENOENT, EBUSY};

static int take_errno(struct input *in)
{
	return errors[take_u8(in) % (sizeof(errors) / sizeof(errors[0]))];
}

/* Read the device's answers; in is left where the operations start. */
static void set_up(struct fake_vfio *fake, struct input *in)
{
	uint8_t flags = take_u8(in);
	fake->dmabuf_planes = flags & 1;
	fake->region_planes = flags & 2;
	fake->get_info_err = flags & 4 ? ENOTTY : 0;
	uint16_t num_regions = take_u16(in);
	for (uint32_t i = 0; i < FAKE_VFIO_REGIONS; i++) {
		struct fake_vfio_region *region = &fake->regions[i];
		switch (take_u8(in) % 4) {
		case 0:
			region->err = EINVAL;
			break;
		case 1: {
			uint32_t region_flags = take_u32(in);
			uint64_t offset = take_u64(in);
			uint64_t region_size = take_u64(in);
			fake_vfio_set_region(fake, i, region_flags, offset, region_size);
			break;
		}
		case 2: {
			uint64_t offset = take_u64(in);
			uint64_t region_size = take_u64(in);
			uint8_t cap_offset = take_u8(in);
			struct vfio_region_gfx_edid regs;
			take(in, &regs, sizeof(regs));
			fake_vfio_set_edid_region(fake, i, offset, region_size, cap_offset, &regs);
			break;
		}
		case 3: {
			uint16_t n = take_u16(in);
			if (n > sizeof(region->bytes))
				n = sizeof(region->bytes);
			take(in, region->bytes, n);
			region->size = n;
			break;
		}
		}
		/*
		 * A real device backs what it lets be mapped; the fake's memory
		 * ends at MEMORY_SIZE, and touching a mapping beyond it would
		 * fault in the fake, not in the code tested.
		 */
		struct vfio_region_info info;
		memcpy(&info, region->bytes, sizeof(info));
		if ((info.flags & VFIO_REGION_INFO_FLAG_MMAP) &&
		    (info.offset > MEMORY_SIZE || info.size > MEMORY_SIZE - info.offset)) {
			info.flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
			memcpy(region->bytes, &info, sizeof(info));
		}
	}
	fake->info.num_regions = num_regions;
}

/* Touch the first and last row of a plane handed over, as the copy path would. */
static unsigned read_rows(const uint8_t *data, uint32_t width, uint32_t height, uint32_t stride,
			  uint32_t fourcc)
{
	const struct fourcc_info *format = fourcc_info_get(fourcc);
	if (format == NULL || width == 0 || height == 0)
		abort(); /* a plane that was not checked */
	size_t row = (size_t)fourcc_plane_min_stride(format, 0, width);
	if (row > stride)
		abort();
	unsigned sum = 0;
	for (size_t i = 0; i < row; i++)
		sum += data[i] + data[(size_t)(height - 1) * stride + i];
	return sum;
}

static volatile unsigned sink;

struct frames {
	unsigned count;
	bool lost;
};

static void handle_frame(void *data, const struct vfio_source_frame *frame)
{
	struct frames *frames = data;
	frames->count++;
	const struct buffer *buffers[] = {frame->primary, frame->cursor};
	for (size_t i = 0; i < 2; i++) {
		const struct buffer *b = buffers[i];
		if (b == NULL)
			continue;
		if (b->width < 1 || b->width > DMABUF_MAX_DIMENSION || b->height < 1 ||
		    b->height > DMABUF_MAX_DIMENSION)
			abort();
		if (b->type == BUFFER_CPU)
			sink += read_rows(b->cpu.data, b->width, b->height, b->cpu.stride,
					  b->fourcc);
	}
}

static void handle_lost(void *data, const char *message)
{
	struct frames *frames = data;
	frames->lost = true;
}

static const struct vfio_source_impl impl = {
	.frame = handle_frame,
	.lost = handle_lost,
};

/* One plane answer straight through the device layer, as the source would use it. */
static void use_plane(struct vfio_display *display, uint32_t type,
		      const struct vfio_device_gfx_plane_info *info)
{
	char msg[256];
	if (info->drm_format == 0 || info->width == 0 || info->height == 0)
		return;
	if (vfio_display_check_plane(display, type, info, msg, sizeof(msg)) < 0)
		return;
	if (display->kind == VFIO_DISPLAY_DMABUF) {
		buffer_unref(vfio_display_import(display, info, msg, sizeof(msg)));
		return;
	}
	const void *pixels;
	if (vfio_display_map_region(display, info->region_index,
				    (uint64_t)info->stride * info->height, &pixels, msg,
				    sizeof(msg)) == 0)
		sink += read_rows(pixels, info->width, info->height, info->stride,
				  info->drm_format);
}

/*
 * Operations, each a u8 and its operands:
 *   0: the primary plane's next answer (struct vfio_device_gfx_plane_info)
 *   1: the cursor plane's next answer
 *   2: u8, u8: how queries of the primary and cursor fail (0: they do not)
 *   3: u8: GET_GFX_DMABUF fails (or, for 0, gives a file that is no dma-buf)
 *   4: poll
 *   5: u16 n: write an EDID of n bytes
 */
static void run_ops(struct fake_vfio *fake, struct input in, struct vfio_display *display,
		    struct vfio_source *source)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fake->dmabuf_fd = null_fd;
	for (unsigned n = 0; in.size > 0 && n < 256; n++) {
		switch (take_u8(&in) % 6) {
		case 0:
			take(&in, &fake->planes[0], sizeof(fake->planes[0]));
			break;
		case 1:
			take(&in, &fake->planes[1], sizeof(fake->planes[1]));
			break;
		case 2:
			fake->query_err[0] = take_errno(&in);
			fake->query_err[1] = take_errno(&in);
			break;
		case 3:
			fake->dmabuf_err = take_errno(&in);
			break;
		case 4:
			if (source != NULL) {
				vfio_source_poll_now(source);
			} else {
				struct vfio_device_gfx_plane_info info;
				if (vfio_display_query(display, DRM_PLANE_TYPE_PRIMARY, &info) == 0)
					use_plane(display, DRM_PLANE_TYPE_PRIMARY, &info);
				if (vfio_display_query(display, DRM_PLANE_TYPE_CURSOR, &info) == 0)
					use_plane(display, DRM_PLANE_TYPE_CURSOR, &info);
			}
			break;
		case 5: {
			uint8_t blob[1024];
			size_t len = take_u16(&in) % sizeof(blob);
			memset(blob, 0x5a, len);
			if (display != NULL)
				vfio_display_write_edid(display, blob, len);
			break;
		}
		}
	}
	fake->dmabuf_fd = -1;
	if (null_fd >= 0)
		close(null_fd);
}

static void quiet(enum log_level level, const char *line, void *data)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_sink(quiet, NULL);
	log_init(LOG_LEVEL_DEBUG); /* every message is formatted */

	struct input in = {data, size};
	struct fake_vfio fake;
	char msg[256];

	/* The device layer alone. */
	if (fake_vfio_init(&fake, MEMORY_SIZE) != 0)
		return 0;
	set_up(&fake, &in);
	struct input ops = in;
	struct vfio_display *display = vfio_display_open(fake.fd, "vgpu fuzz", msg, sizeof(msg));
	if (display != NULL) {
		if (display->has_edid &&
		    ((uint64_t)display->edid_offset + display->edid_max_size >
			     display->edid_region_size ||
		     display->edid_region_offset + display->edid_region_size > (uint64_t)INT64_MAX))
			abort();
		run_ops(&fake, ops, display, NULL);
		vfio_display_destroy(display);
	}
	fake_vfio_finish(&fake, true);

	/* The same answers through a source. */
	struct wl_event_loop *loop = wl_event_loop_create();
	if (loop == NULL || fake_vfio_init(&fake, MEMORY_SIZE) != 0) {
		if (loop != NULL)
			wl_event_loop_destroy(loop);
		return 0;
	}
	in = (struct input){data, size};
	set_up(&fake, &in);
	struct frames frames = {0};
	const struct vfio_source_options options = {.name = "vgpu fuzz"};
	struct vfio_source *source =
		vfio_source_create(loop, fake.fd, &options, &impl, &frames, msg, sizeof(msg));
	if (source != NULL) {
		run_ops(&fake, ops, NULL, source);
		wl_event_loop_dispatch_idle(loop);
		vfio_source_destroy(source);
	}
	fake_vfio_finish(&fake, true);
	wl_event_loop_destroy(loop);
	return 0;
}
