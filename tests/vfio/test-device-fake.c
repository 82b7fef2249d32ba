// SPDX-License-Identifier: MIT
/*
 * The VFIO device layer and source against a fake device (fake-vfio.h)
 * whose answers make no sense: every bad value is refused with a message
 * naming it, an EDID region that makes no sense is ignored, and a plane
 * refused shows the placeholder until the device describes a valid one.
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "fake-vfio.h"
#include "test.h"
#include "util/log.h"
#include "vfio/device.h"
#include "vfio/edid.h"
#include "vfio/source.h"

#define MEMORY_SIZE  (256 * 1024)
#define EDID_OFFSET  0x10000
#define PLANE_REGION 1
#define PLANE_OFFSET 0x20000
#define PLANE_SIZE   0x10000
#define REGION_FLAGS (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP)

struct capture {
	char text[8192];
	size_t len;
	int errors;
};

static struct capture cap;

static void capture_sink(enum log_level level, const char *line, void *data)
{
	int n = snprintf(cap.text + cap.len, sizeof(cap.text) - cap.len, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(cap.text) - cap.len)
		cap.len += (size_t)n;
	if (level == LOG_LEVEL_ERROR)
		cap.errors++;
}

static void capture_start(void)
{
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, NULL);
	log_init(LOG_LEVEL_WARN);
}

static const struct vfio_region_gfx_edid good_regs = {
	.edid_offset = 256,
	.edid_max_size = 512,
	.max_xres = 1920,
	.max_yres = 1200,
};

/* Open the fake (its fd is taken either way); fake_vfio_finish() after destroying it. */
static struct vfio_display *open_fake(struct fake_vfio *fake, char *msg, size_t msg_size)
{
	return vfio_display_open(fake->fd, "vgpu test", msg, msg_size);
}

static void test_region_count(void)
{
	struct fake_vfio fake;
	char msg[256] = "";
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.region_planes = true;
	fake.info.num_regions = 100000;
	errno = 0;
	check(open_fake(&fake, msg, sizeof(msg)) == NULL);
	check_int_eq(errno, EPROTO);
	fake_vfio_finish(&fake, true);
	check_str_eq(msg, "the VFIO device reports 100000 regions (at most 256)");
}

static void test_edid_good(void)
{
	struct fake_vfio fake;
	char msg[256] = "";
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.dmabuf_planes = true;
	fake_vfio_set_region(&fake, 0, REGION_FLAGS, 0, 4096);
	fake_vfio_set_edid_region(&fake, 1, EDID_OFFSET, 4096, sizeof(struct vfio_region_info),
				  &good_regs);
	int fd = fake.fd;
	capture_start();
	struct vfio_display *display = open_fake(&fake, msg, sizeof(msg));
	check(display != NULL);
	check_int_eq(cap.errors, 0);
	check(display->has_edid);
	check_int_eq(display->edid_region_index, 1);
	check_int_eq(display->edid_max_size, 512);
	check_int_eq(display->max_xres, 1920);

	/* The EDID lands in the region, the link goes up. */
	drmModeModeInfo mode = {.clock = 148500,
				.hdisplay = 1920,
				.hsync_start = 2008,
				.hsync_end = 2052,
				.htotal = 2200,
				.vdisplay = 1080,
				.vsync_start = 1084,
				.vsync_end = 1089,
				.vtotal = 1125};
	uint8_t blob[EDID_BLOCK_SIZE], got[EDID_BLOCK_SIZE];
	check_int_eq(edid_generate(&mode, 0, 0, "test", blob), 0);
	check_int_eq(vfio_display_write_edid(display, blob, sizeof(blob)), 0);
	check_int_eq(pread(fd, got, sizeof(got), EDID_OFFSET + 256), (ssize_t)sizeof(got));
	check(memcmp(got, blob, sizeof(got)) == 0);
	struct vfio_region_gfx_edid regs;
	check_int_eq(pread(fd, &regs, sizeof(regs), EDID_OFFSET), (ssize_t)sizeof(regs));
	check_int_eq(regs.edid_size, sizeof(blob));
	check_int_eq(regs.link_state, VFIO_DEVICE_GFX_LINK_STATE_UP);
	vfio_display_destroy(display);
	fake_vfio_finish(&fake, true);
	log_set_sink(NULL, NULL);
}

/* An EDID region answer edited by `bad`, which must be ignored with `reason` logged. */
static void check_edid_ignored(void (*bad)(struct fake_vfio *fake), const char *reason)
{
	struct fake_vfio fake;
	char msg[256] = "";
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.dmabuf_planes = true;
	fake_vfio_set_edid_region(&fake, 0, EDID_OFFSET, 4096, sizeof(struct vfio_region_info),
				  &good_regs);
	bad(&fake);
	capture_start();
	struct vfio_display *display = open_fake(&fake, msg, sizeof(msg));
	check(display != NULL);
	check(!display->has_edid);
	check_int_eq(cap.errors, 1);
	check_contains(cap.text, "vgpu test: VFIO device: ");
	check_contains(cap.text, reason);
	check_int_eq(vfio_display_write_edid(display, (const uint8_t *)"x", 1), -ENOTSUP);
	vfio_display_destroy(display);
	fake_vfio_finish(&fake, true);
	log_set_sink(NULL, NULL);
}

static struct vfio_region_info *region0(struct fake_vfio *fake)
{
	return (struct vfio_region_info *)fake->regions[0].bytes;
}

static void offset_wraps(struct fake_vfio *fake)
{
	region0(fake)->offset = 0xfffffffffffff000ull;
}

static void size_wraps(struct fake_vfio *fake)
{
	region0(fake)->offset = 0x7ffffffffffff000ull;
	region0(fake)->size = 0x2000;
}

static void cap_misaligned(struct fake_vfio *fake)
{
	/* The capability moved by two bytes: still inside the answer. */
	struct fake_vfio_region *r = &fake->regions[0];
	uint32_t at = sizeof(struct vfio_region_info);
	memmove(r->bytes + at + 2, r->bytes + at, sizeof(struct vfio_region_info_cap_type));
	region0(fake)->cap_offset = at + 2;
	region0(fake)->argsz += 2;
	r->size += 2;
}

static void cap_beyond(struct fake_vfio *fake)
{
	region0(fake)->cap_offset = 4096;
}

static void cap_cut_short(struct fake_vfio *fake)
{
	region0(fake)->argsz -= 4;
	fake->regions[0].size -= 4;
}

static void cap_loops(struct fake_vfio *fake)
{
	/* A first capability of another kind whose next points at itself. */
	struct fake_vfio_region *r = &fake->regions[0];
	uint32_t at = sizeof(struct vfio_region_info);
	struct vfio_info_cap_header other = {.id = 77, .version = 1, .next = at};
	memcpy(r->bytes + at, &other, sizeof(other));
}

static void cap_inside_info(struct fake_vfio *fake)
{
	region0(fake)->cap_offset = 8;
}

static void edid_outside(struct fake_vfio *fake)
{
	struct vfio_region_gfx_edid regs = good_regs;
	regs.edid_offset = 0xffffff00u;
	regs.edid_max_size = 0x200;
	fake_vfio_write(fake, EDID_OFFSET, &regs, sizeof(regs));
}

static void edid_over_registers(struct fake_vfio *fake)
{
	struct vfio_region_gfx_edid regs = good_regs;
	regs.edid_offset = 4;
	fake_vfio_write(fake, EDID_OFFSET, &regs, sizeof(regs));
}

static void edid_tiny(struct fake_vfio *fake)
{
	struct vfio_region_gfx_edid regs = good_regs;
	regs.edid_max_size = 64;
	fake_vfio_write(fake, EDID_OFFSET, &regs, sizeof(regs));
}

static void edid_huge_mode(struct fake_vfio *fake)
{
	struct vfio_region_gfx_edid regs = good_regs;
	regs.max_xres = 1u << 31;
	fake_vfio_write(fake, EDID_OFFSET, &regs, sizeof(regs));
}

static void edid_read_only(struct fake_vfio *fake)
{
	region0(fake)->flags &= ~VFIO_REGION_INFO_FLAG_WRITE;
}

static void edid_small_region(struct fake_vfio *fake)
{
	region0(fake)->size = 8;
}

static void test_edid_refused(void)
{
	check_edid_ignored(offset_wraps, "offset 0xfffffffffffff000 + size 0x1000 exceeds the "
					 "largest file offset");
	check_edid_ignored(size_wraps, "offset 0x7ffffffffffff000 + size 0x2000 exceeds");
	check_edid_ignored(cap_misaligned, "region 0 ignored: capability at offset 34 is not "
					   "4-byte aligned");
	check_edid_ignored(cap_beyond, "capability at offset 4096 lies beyond the 48 bytes");
	check_edid_ignored(cap_cut_short, "is cut short by the end of the answer (12 of 16 bytes)");
	check_edid_ignored(cap_loops, "capability at offset 32 overlaps what precedes it");
	check_edid_ignored(cap_inside_info, "capability at offset 8 overlaps");
	check_edid_ignored(edid_outside, "edid_offset 4294967040 + edid_max_size 512 does not lie "
					 "inside the region (24..4096)");
	check_edid_ignored(edid_over_registers, "edid_offset 4 + edid_max_size 512 does not lie");
	check_edid_ignored(edid_tiny, "edid_max_size 64 is less than one EDID block (128)");
	check_edid_ignored(edid_huge_mode, "max_xres 2147483648 or max_yres 1200 exceeds 16384");
	check_edid_ignored(edid_read_only, "flags 0x9 are not both readable and writable");
	check_edid_ignored(edid_small_region, "size 8 is smaller than its registers (24 bytes)");
}

static const struct vfio_device_gfx_plane_info good_region_plane = {
	.drm_plane_type = DRM_PLANE_TYPE_PRIMARY,
	.drm_format = DRM_FORMAT_XRGB8888,
	.width = 64,
	.height = 32,
	.stride = 256,
	.size = 256 * 32,
	.x_hot = VFIO_DISPLAY_NO_HOTSPOT,
	.y_hot = VFIO_DISPLAY_NO_HOTSPOT,
	.region_index = PLANE_REGION,
};

static const struct vfio_device_gfx_plane_info good_cursor = {
	.drm_plane_type = DRM_PLANE_TYPE_CURSOR,
	.drm_format = DRM_FORMAT_ARGB8888,
	.width = 64,
	.height = 64,
	.stride = 256,
	.size = 256 * 64,
	.x_pos = 100,
	.y_pos = 50,
	.x_hot = 3,
	.y_hot = 4,
	.dmabuf_id = 7,
};

struct plane_case {
	void (*edit)(struct vfio_device_gfx_plane_info *info);
	const char *message;
};

static void unknown_format(struct vfio_device_gfx_plane_info *i)
{
	i->drm_format = DRM_FORMAT_YUYV;
}
static void two_planes(struct vfio_device_gfx_plane_info *i)
{
	i->drm_format = DRM_FORMAT_NV12;
}
static void too_wide(struct vfio_device_gfx_plane_info *i)
{
	i->width = 16385;
}
static void short_stride(struct vfio_device_gfx_plane_info *i)
{
	i->stride = 100;
}
static void odd_stride(struct vfio_device_gfx_plane_info *i)
{
	i->stride = 258;
	i->size = 258 * 32;
}
static void tiled(struct vfio_device_gfx_plane_info *i)
{
	i->drm_format_mod = I915_FORMAT_MOD_X_TILED;
}
static void small_size(struct vfio_device_gfx_plane_info *i)
{
	i->size = 256 * 31;
}
static void no_dmabuf(struct vfio_device_gfx_plane_info *i)
{
	i->dmabuf_id = 0;
}
static void far_cursor(struct vfio_device_gfx_plane_info *i)
{
	i->x_pos = 0xfffffff0u;
}
static void hotspot_outside(struct vfio_device_gfx_plane_info *i)
{
	i->y_hot = 64;
}
static void no_hotspot(struct vfio_device_gfx_plane_info *i)
{
	i->x_hot = i->y_hot = VFIO_DISPLAY_NO_HOTSPOT;
}

static void test_check_plane(void)
{
	static const struct plane_case region_cases[] = {
		{unknown_format, "format YUYV is not supported for region planes"},
		{two_planes, "format NV12 (NV12) is not supported for region planes"},
		{too_wide, "size 16385x32 is out of range 1..16384"},
		{short_stride, "stride 100 is smaller than width 64 × 4 bytes"},
		{odd_stride, "stride 258 is not a multiple of 4"},
		{tiled, "modifier 0x0100000000000001 is not linear"},
		{small_size, "size 7936 is smaller than stride 256 × height 32"},
	};
	static const struct plane_case cursor_cases[] = {
		{no_dmabuf, "dmabuf_id 0 names no dma-buf"},
		{far_cursor, "position 4294967280,50 is beyond 16384,16384"},
		{hotspot_outside, "hotspot 3,64 lies outside the 64x64 image"},
		{short_stride, "stride 100 is smaller than width 64 × 4 bytes"},
		{no_hotspot, NULL},
	};
	struct vfio_display region_display = {.kind = VFIO_DISPLAY_REGION, .num_regions = 2};
	struct vfio_display dmabuf_display = {.kind = VFIO_DISPLAY_DMABUF, .num_regions = 2};
	char msg[256];

	check_int_eq(vfio_display_check_plane(&region_display, DRM_PLANE_TYPE_PRIMARY,
					      &good_region_plane, msg, sizeof(msg)),
		     0);
	for (size_t i = 0; i < sizeof(region_cases) / sizeof(region_cases[0]); i++) {
		struct vfio_device_gfx_plane_info info = good_region_plane;
		region_cases[i].edit(&info);
		msg[0] = '\0';
		check_int_eq(vfio_display_check_plane(&region_display, DRM_PLANE_TYPE_PRIMARY,
						      &info, msg, sizeof(msg)),
			     -EINVAL);
		check_contains(msg, region_cases[i].message);
	}
	check_int_eq(vfio_display_check_plane(&dmabuf_display, DRM_PLANE_TYPE_CURSOR, &good_cursor,
					      msg, sizeof(msg)),
		     0);
	for (size_t i = 0; i < sizeof(cursor_cases) / sizeof(cursor_cases[0]); i++) {
		struct vfio_device_gfx_plane_info info = good_cursor;
		cursor_cases[i].edit(&info);
		msg[0] = '\0';
		int ret = vfio_display_check_plane(&dmabuf_display, DRM_PLANE_TYPE_CURSOR, &info,
						   msg, sizeof(msg));
		if (cursor_cases[i].message == NULL) {
			check_int_eq(ret, 0);
			continue;
		}
		check_int_eq(ret, -EINVAL);
		check_contains(msg, cursor_cases[i].message);
	}
}

/* What the source handed over last. */
struct frames {
	int count;
	bool primary, cursor;
	uint32_t width;
	int lost;
};

static void handle_frame(void *data, const struct vfio_source_frame *frame)
{
	struct frames *f = data;
	f->count++;
	f->primary = frame->primary != NULL;
	f->cursor = frame->cursor != NULL;
	f->width = frame->primary != NULL ? frame->primary->width : 0;
}

static void handle_lost(void *data, const char *message)
{
	struct frames *f = data;
	f->lost++;
}

static const struct vfio_source_impl impl = {
	.frame = handle_frame,
	.lost = handle_lost,
};

static struct vfio_source *source_on_fake(struct wl_event_loop *loop, struct fake_vfio *fake,
					  struct frames *frames)
{
	const struct vfio_source_options options = {.name = "vgpu test",
						    .edid = VFIO_SOURCE_EDID_OFF};
	char msg[256] = "";
	struct vfio_source *source =
		vfio_source_create(loop, fake->fd, &options, &impl, frames, msg, sizeof(msg));
	check(source != NULL);
	return source;
}

/* A region plane refused is hidden, logged once, and shown again once valid. */
static void test_source_region(void)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	struct fake_vfio fake;
	struct frames frames = {0};
	check(loop != NULL);
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.region_planes = true;
	fake_vfio_set_region(&fake, 0, 0, 0, 0);
	fake_vfio_set_region(&fake, PLANE_REGION, REGION_FLAGS, PLANE_OFFSET, PLANE_SIZE);
	fake.planes[0] = good_region_plane;
	capture_start();
	struct vfio_source *source = source_on_fake(loop, &fake, &frames);

	vfio_source_poll_now(source);
	check_int_eq(frames.count, 1);
	check(frames.primary);
	check_int_eq(frames.width, 64);
	check_int_eq(cap.errors, 0);

	/* A stride too short for the width: the placeholder shows, one error. */
	fake.planes[0].stride = 128;
	vfio_source_poll_now(source);
	check_int_eq(frames.count, 2);
	check(!frames.primary);
	check_int_eq(cap.errors, 1);
	check_contains(cap.text, "vgpu test: VFIO device: primary plane refused, the placeholder "
				 "shows: stride 128 is smaller than width 64 × 4 bytes");
	/* The same answer again: nothing new, no new message. */
	vfio_source_poll_now(source);
	vfio_source_poll_now(source);
	check_int_eq(frames.count, 2);
	check_int_eq(cap.errors, 1);

	/* Valid again: shown. */
	fake.planes[0] = good_region_plane;
	vfio_source_poll_now(source);
	check_int_eq(frames.count, 3);
	check(frames.primary);

	/* A plane larger than its region: refused when mapping (within 10 s: debug only). */
	fake.planes[0].height = 300;
	fake.planes[0].size = 256 * 300;
	vfio_source_poll_now(source);
	check(!frames.primary);
	check_int_eq(frames.count, 4);
	check_int_eq(cap.errors, 1);

	struct vfio_source_stats stats;
	vfio_source_get_stats(source, &stats);
	check_int_eq(stats.refused_planes, 2);
	check_int_eq(frames.lost, 0);
	vfio_source_destroy(source);
	fake_vfio_finish(&fake, true);
	wl_event_loop_destroy(loop);
	log_set_sink(NULL, NULL);
}

/* The region's own answers when a plane is mapped. */
static void test_map_region(void)
{
	static const struct {
		uint32_t flags;
		uint64_t offset, size, needed;
		int ret;
		const char *message;
	} cases[] = {
		{REGION_FLAGS, PLANE_OFFSET, PLANE_SIZE, PLANE_SIZE, 0, NULL},
		{REGION_FLAGS, PLANE_OFFSET, PLANE_SIZE, PLANE_SIZE + 1, -ENOSPC,
		 "region 1 holds 65536 bytes, the plane needs 65537"},
		{VFIO_REGION_INFO_FLAG_READ, PLANE_OFFSET, PLANE_SIZE, 16, -EOPNOTSUPP,
		 "region 1 (flags 0x1, 65536 bytes) cannot be mapped for reading"},
		{REGION_FLAGS, PLANE_OFFSET + 16, PLANE_SIZE, 16, -EOVERFLOW,
		 "region 1: offset 0x20010 + size 0x10000 is not page aligned"},
		{REGION_FLAGS, 0xfffffffffffff000ull, 0x2000, 16, -EOVERFLOW,
		 "exceeds the largest file offset"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_vfio fake;
		char msg[256] = "";
		check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
		fake.region_planes = true;
		fake_vfio_set_region(&fake, PLANE_REGION, cases[i].flags, cases[i].offset,
				     cases[i].size);
		struct vfio_display *display = open_fake(&fake, msg, sizeof(msg));
		check(display != NULL);
		const void *data = NULL;
		check_int_eq(vfio_display_map_region(display, PLANE_REGION, cases[i].needed, &data,
						     msg, sizeof(msg)),
			     cases[i].ret);
		if (cases[i].message != NULL)
			check_contains(msg, cases[i].message);
		else
			check(data != NULL);
		vfio_display_destroy(display);
		fake_vfio_finish(&fake, true);
	}

	/* An answer about another region than the one asked for. */
	struct fake_vfio fake;
	char msg[256] = "";
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.region_planes = true;
	fake_vfio_set_region(&fake, PLANE_REGION, REGION_FLAGS, PLANE_OFFSET, PLANE_SIZE);
	((struct vfio_region_info *)fake.regions[PLANE_REGION].bytes)->index = 0;
	struct vfio_display *display = open_fake(&fake, msg, sizeof(msg));
	const void *data;
	check_int_eq(vfio_display_map_region(display, PLANE_REGION, 16, &data, msg, sizeof(msg)),
		     -EPROTO);
	vfio_display_destroy(display);
	fake_vfio_finish(&fake, true);
}

/* dma-buf planes: an id that names nothing and a cursor with a bad hotspot are refused. */
static void test_source_dmabuf(void)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	struct fake_vfio fake;
	struct frames frames = {0};
	check(loop != NULL);
	check_int_eq(fake_vfio_init(&fake, MEMORY_SIZE), 0);
	fake.dmabuf_planes = true;
	fake.planes[0] = good_cursor;
	fake.planes[0].drm_plane_type = DRM_PLANE_TYPE_PRIMARY;
	fake.planes[0].dmabuf_id = 0;
	capture_start();
	struct vfio_source *source = source_on_fake(loop, &fake, &frames);

	vfio_source_poll_now(source);
	check_int_eq(frames.count, 0); /* nothing was shown, nothing to hide */
	check_int_eq(cap.errors, 1);
	check_contains(cap.text, "primary plane refused, the placeholder shows: dmabuf_id 0 "
				 "names no dma-buf");
	check_int_eq(fake.dmabuf_exports, 0);

	/* An id the device cannot export: refused once, not asked again. */
	fake.planes[0].dmabuf_id = 9;
	fake.dmabuf_err = ENOENT;
	vfio_source_poll_now(source);
	vfio_source_poll_now(source);
	check_int_eq(fake.dmabuf_exports, 1);
	check_int_eq(frames.count, 0);
	check_int_eq(frames.lost, 0);

	/* A file that is no dma-buf. */
	fake.planes[0].dmabuf_id = 10;
	fake.dmabuf_err = 0;
	fake.dmabuf_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(fake.dmabuf_fd >= 0);
	vfio_source_poll_now(source);
	check_int_eq(fake.dmabuf_exports, 2);
	check_int_eq(frames.lost, 0);
	close(fake.dmabuf_fd);

	/* A device gone is still told apart from a refusal. */
	fake.query_err[0] = ENODEV;
	vfio_source_poll_now(source);
	wl_event_loop_dispatch_idle(loop);
	check_int_eq(frames.lost, 1);

	vfio_source_destroy(source);
	fake_vfio_finish(&fake, true);
	wl_event_loop_destroy(loop);
	log_set_sink(NULL, NULL);
}

int main(void)
{
	test_region_count();
	test_edid_good();
	test_edid_refused();
	test_check_plane();
	test_map_region();
	test_source_region();
	test_source_dmabuf();
	return 0;
}
