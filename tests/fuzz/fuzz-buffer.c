// SPDX-License-Identifier: MIT
/*
 * Buffer descriptions from a hostile source. Width, height, format,
 * modifier and each plane's fd, offset and stride go through
 * dmabuf_attributes_check(); a description it accepts becomes a buffer
 * that the copy path reads (scaled, turned, converted, blended) into a
 * small destination. The dma-bufs are memfds of a fuzzed size whose pages
 * past the end fault (fake-dmabuf.h), so a read outside what the check
 * accepted crashes. The same copies run from CPU pixels in an allocation
 * of exactly stride × height bytes, where AddressSanitizer sees any byte
 * read past it.
 *
 * Also held: the check accepts exactly the descriptions whose planes fit
 * their dma-bufs (worked out here independently), a refusal comes with a
 * message, every fd is closed once, and an unscaled, upright copy of
 * XRGB8888 or ARGB8888 into XRGB8888 gives the source's colours.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <pixman.h>

#include "buffer/buffer.h"
#include "buffer/dmabuf.h"
#include "fake-dmabuf.h"
#include "fuzz-input.h"
#include "render/copy.h"
#include "test.h"
#include "util/fourcc.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Destinations stay small: the work of a copy is bounded by them. */
#define DST_MAX 64
/* CPU sources are allocated for real. */
#define CPU_MAX_BYTES (4u << 20)

/* A 32-bit value: mostly below 16384, sometimes at an edge, sometimes anything. */
static uint32_t take_u32(struct input *in)
{
	static const uint32_t edges[] = {
		0,          1,          2,          3,          4,          4095,
		4096,       16383,      16384,      16385,      32767,      65536,
		0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0x40000000, 0x3fffffff,
	};
	uint32_t sel = (uint32_t)take(in, 1);
	if (sel < 0xc0)
		return (sel & 0x3f) << 8 | (uint32_t)take(in, 1);
	if (sel < 0xf0)
		return edges[(sel - 0xc0) % (sizeof(edges) / sizeof(edges[0]))];
	return (uint32_t)take(in, 4);
}

static const uint32_t formats[] = {
	DRM_FORMAT_XRGB8888,    DRM_FORMAT_ARGB8888,    DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,    DRM_FORMAT_RGBX8888,    DRM_FORMAT_RGBA8888,
	DRM_FORMAT_BGRX8888,    DRM_FORMAT_BGRA8888,    DRM_FORMAT_RGB565,
	DRM_FORMAT_BGR565,      DRM_FORMAT_RGB888,      DRM_FORMAT_BGR888,
	DRM_FORMAT_XRGB2101010, DRM_FORMAT_ARGB2101010, DRM_FORMAT_XBGR2101010,
	DRM_FORMAT_ABGR2101010, DRM_FORMAT_NV12,        DRM_FORMAT_YUV420,
};

static uint32_t take_format(struct input *in)
{
	uint32_t sel = (uint32_t)take(in, 1);
	if (sel < 0xf0)
		return formats[sel % (sizeof(formats) / sizeof(formats[0]))];
	return (uint32_t)take(in, 4);
}

static uint64_t take_modifier(struct input *in)
{
	switch (take(in, 1) % 8) {
	case 4:
		return DRM_FORMAT_MOD_INVALID;
	case 5:
		return I915_FORMAT_MOD_X_TILED;
	case 6:
		return take(in, 8);
	default:
		return DRM_FORMAT_MOD_LINEAR;
	}
}

/* Bytes per row and rows of a plane, worked out apart from the code under test. */
static uint64_t plane_min_stride(const struct fourcc_info *info, unsigned int plane, uint32_t width)
{
	uint64_t w = plane == 0 ? width : ((uint64_t)width + info->hsub - 1) / info->hsub;
	return w * info->bpp[plane];
}

static uint64_t plane_rows(const struct fourcc_info *info, unsigned int plane, uint32_t height)
{
	return plane == 0 ? height : ((uint64_t)height + info->vsub - 1) / info->vsub;
}

/* Whether attrs describes planes that all lie inside their dma-bufs. */
static bool fits(const struct dmabuf_attributes *a, const bool *fake, const uint64_t *sizes)
{
	const struct fourcc_info *info = fourcc_info_get(a->fourcc);
	if (info == NULL || a->width < 1 || a->width > DMABUF_MAX_DIMENSION || a->height < 1 ||
	    a->height > DMABUF_MAX_DIMENSION || a->n_planes != info->n_planes)
		return false;
	for (unsigned int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (i >= a->n_planes) {
			if (a->fd[i] >= 0)
				return false;
			continue;
		}
		if (a->fd[i] < 0 || !fake[i] || a->stride[i] < plane_min_stride(info, i, a->width))
			return false;
		uint64_t end =
			a->offset[i] + (uint64_t)a->stride[i] * plane_rows(info, i, a->height);
		if (end > sizes[i] || end > DMABUF_MAX_PLANE_END)
			return false;
	}
	return true;
}

static uint32_t pattern(uint32_t x, uint32_t y)
{
	uint32_t v = x * 0x9e3779b1u ^ y * 0x85ebca77u;
	return v ^ v >> 15;
}

/* The pixels an oracle copy reads: rows of src (w × h at x, y) written into plane 0. */
static void write_pattern(const struct buffer *buffer, const struct render_rect *src)
{
	uint32_t row[DST_MAX];
	for (uint32_t j = 0; j < src->height; j++) {
		for (uint32_t i = 0; i < src->width; i++)
			row[i] = pattern((uint32_t)src->x + i, (uint32_t)src->y + j);
		off_t at = (off_t)buffer->dmabuf.offset[0] +
			   (off_t)((uint64_t)buffer->dmabuf.stride[0] * ((uint32_t)src->y + j)) +
			   (off_t)src->x * 4;
		check(pwrite(buffer->dmabuf.fd[0], row, src->width * 4, at) ==
		      (ssize_t)(src->width * 4));
	}
}

struct dst {
	pixman_image_t *image;
	uint32_t *bits;
	uint32_t width, height, stride;
	pixman_format_code_t format;
};

static void dst_init(struct dst *dst, struct input *in)
{
	static const pixman_format_code_t dst_formats[] = {
		PIXMAN_x8r8g8b8, PIXMAN_a8r8g8b8,    PIXMAN_r5g6b5,
		PIXMAN_a8b8g8r8, PIXMAN_x2r10g10b10, PIXMAN_r8g8b8,
	};
	dst->format = dst_formats[take(in, 1) % (sizeof(dst_formats) / sizeof(dst_formats[0]))];
	dst->width = 1 + (uint32_t)take(in, 1) % DST_MAX;
	dst->height = 1 + (uint32_t)take(in, 1) % DST_MAX;
	uint32_t bytes = (uint32_t)PIXMAN_FORMAT_BPP(dst->format) / 8;
	dst->stride = (dst->width * bytes + 3) & ~3u;
	dst->bits = malloc((size_t)dst->stride * dst->height);
	check(dst->bits != NULL);
	memset(dst->bits, 0x5a, (size_t)dst->stride * dst->height);
	dst->image = pixman_image_create_bits(dst->format, (int)dst->width, (int)dst->height,
					      dst->bits, (int)dst->stride);
	check(dst->image != NULL);
}

static void dst_finish(struct dst *dst)
{
	pixman_image_unref(dst->image);
	free(dst->bits);
}

/* A source rectangle: mostly inside the buffer, sometimes anything. */
static void take_src_rect(struct input *in, const struct buffer *b, struct render_rect *r)
{
	if (take(in, 1) < 0xf0) {
		r->x = (int32_t)(take_u32(in) % b->width);
		r->y = (int32_t)(take_u32(in) % b->height);
		r->width = 1 + take_u32(in) % (b->width - (uint32_t)r->x);
		r->height = 1 + take_u32(in) % (b->height - (uint32_t)r->y);
	} else {
		r->x = (int32_t)take_u32(in);
		r->y = (int32_t)take_u32(in);
		r->width = take_u32(in);
		r->height = take_u32(in);
	}
}

/*
 * Whether a copy of src (inside the buffer) to out (not empty, within the
 * copy path's range) from memory whose rows are 4-byte aligned must work.
 */
static bool copy_makes_sense(const struct buffer *buffer, const struct render_rect *src,
			     const struct render_rect *out)
{
	uint32_t stride =
		buffer->type == BUFFER_DMABUF ? buffer->dmabuf.stride[0] : buffer->cpu.stride;
	uint32_t offset = buffer->type == BUFFER_DMABUF ? buffer->dmabuf.offset[0] : 0;
	return src->x >= 0 && src->y >= 0 && src->width >= 1 && src->height >= 1 &&
	       (uint64_t)src->x + src->width <= buffer->width &&
	       (uint64_t)src->y + src->height <= buffer->height && out->width >= 1 &&
	       out->height >= 1 && out->width <= 32767 && out->height <= 32767 &&
	       out->x >= -32767 && out->x <= 32767 && out->y >= -32767 && out->y <= 32767 &&
	       stride % 4 == 0 && offset % 4 == 0;
}

/*
 * A few copies from buffer into dst. When oracle is set (plane 0 of a
 * fake dma-buf), an upright, unscaled XRGB8888/ARGB8888 copy is checked
 * pixel by pixel.
 */
static void copies(struct input *in, struct buffer *buffer, struct dst *dst, bool oracle)
{
	const struct fourcc_info *info = fourcc_info_get(buffer->fourcc);
	unsigned int n = 1 + (unsigned int)take(in, 1) % 3;

	for (unsigned int k = 0; k < n; k++) {
		struct render_rect src, out;
		take_src_rect(in, buffer, &src);
		uint32_t sel = (uint32_t)take(in, 1);
		enum render_op op = (sel & 1) ? RENDER_OP_OVER : RENDER_OP_SRC;
		uint32_t turns = (sel & 0x80) ? take_u32(in) : (sel >> 1) % 4;
		bool same_size = (sel & 0x40) != 0;
		out.x = (int32_t)(int8_t)take(in, 1);
		out.y = (int32_t)(int8_t)take(in, 1);
		if (same_size) {
			out.width = turns % 2 ? src.height : src.width;
			out.height = turns % 2 ? src.width : src.height;
		} else if (take(in, 1) < 0xf0) {
			out.width = 1 + (uint32_t)take(in, 1) % (2 * DST_MAX);
			out.height = 1 + (uint32_t)take(in, 1) % (2 * DST_MAX);
		} else {
			out.width = take_u32(in);
			out.height = take_u32(in);
		}
		bool fail_sync = take(in, 1) == 0xff;

		bool check_pixels =
			oracle && buffer->type == BUFFER_DMABUF &&
			(buffer->fourcc == DRM_FORMAT_XRGB8888 ||
			 buffer->fourcc == DRM_FORMAT_ARGB8888) &&
			dst->format == PIXMAN_x8r8g8b8 && op == RENDER_OP_SRC && turns == 0 &&
			same_size && !fail_sync && src.x >= 0 && src.y >= 0 &&
			src.width <= DST_MAX && src.height <= DST_MAX && out.x >= 0 && out.y >= 0 &&
			(uint64_t)src.x + src.width <= buffer->width &&
			(uint64_t)src.y + src.height <= buffer->height &&
			out.x + out.width <= dst->width && out.y + out.height <= dst->height &&
			(buffer->modifier == DRM_FORMAT_MOD_LINEAR ||
			 buffer->modifier == DRM_FORMAT_MOD_INVALID);
		if (check_pixels)
			write_pattern(buffer, &src);

		fake_dmabuf_fail_sync(fail_sync && buffer->type == BUFFER_DMABUF);
		int ret = render_copy_rotated(dst->image, &out, buffer, &src, op, turns);
		fake_dmabuf_fail_sync(false);
		check(ret == 0 || ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EIO);
		/* What the copy path says it can read, it reads, given rectangles that make sense.
		 */
		if (info == NULL || !render_copy_can_read(buffer))
			check(ret == -EINVAL || ret == -EOPNOTSUPP);
		else if (copy_makes_sense(buffer, &src, &out))
			check(ret == (fail_sync && buffer->type == BUFFER_DMABUF ? -EIO : 0));
		/* A read ends whatever happened: the next one may begin. */
		check(!buffer->reading);

		if (check_pixels && ret == 0) {
			for (uint32_t j = 0; j < src.height; j++) {
				for (uint32_t i = 0; i < src.width; i++) {
					uint32_t got = dst->bits[(uint32_t)(out.y + (int32_t)j) *
									 (dst->stride / 4) +
								 (uint32_t)out.x + i];
					uint32_t want =
						pattern((uint32_t)src.x + i, (uint32_t)src.y + j);
					/* Colour only: a straight blit keeps the X byte. */
					check((got & 0xffffffu) == (want & 0xffffffu));
				}
			}
		}
	}
}

/* The same image from CPU pixels: an allocation of exactly stride × height bytes. */
static void copies_from_cpu(struct input *in, const struct dmabuf_attributes *a, struct dst *dst)
{
	const struct fourcc_info *info = fourcc_info_get(a->fourcc);
	if (info == NULL || info->pixman == 0 || (uint64_t)a->stride[0] * a->height > CPU_MAX_BYTES)
		return;
	size_t bytes = (size_t)a->stride[0] * a->height;
	uint8_t *pixels = malloc(bytes);
	check(pixels != NULL);
	memset(pixels, 0xa5, bytes);
	struct buffer *buffer =
		buffer_create_cpu(pixels, a->width, a->height, a->stride[0], a->fourcc);
	/* The check accepted the dimensions and the stride; only alignment may differ. */
	check((buffer != NULL) == (a->stride[0] % 4 == 0));
	if (buffer != NULL) {
		copies(in, buffer, dst, false);
		buffer_lock(buffer);
		buffer_unref(buffer);
		buffer_unlock(buffer);
	}
	free(pixels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialized;
	if (!initialized) {
		/* Refusals are expected: keep the run quiet. */
		log_init(LOG_LEVEL_SILENT);
		initialized = true;
	}
	struct input in = {data, size};
	int fds_before = fake_dmabuf_count_fds();
	fake_dmabuf_reset();

	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = take_u32(&in);
	a.height = take_u32(&in);
	a.fourcc = take_format(&in);
	a.modifier = take_modifier(&in);
	const struct fourcc_info *info = fourcc_info_get(a.fourcc);
	uint32_t sel = (uint32_t)take(&in, 1);
	a.n_planes = sel < 0xe0 ? (info != NULL ? info->n_planes : 1) : sel % 6;

	bool fake[FOURCC_MAX_PLANES] = {false};
	uint64_t sizes[FOURCC_MAX_PLANES] = {0};
	long page = sysconf(_SC_PAGESIZE);
	for (unsigned int i = 0; i < FOURCC_MAX_PLANES; i++) {
		uint32_t kind = (uint32_t)take(&in, 1) % 8;
		if (i >= a.n_planes && kind != 0)
			continue; /* mostly no fd past the planes */
		if (kind == 7)
			continue;
		if (kind == 6 && i > 0) {
			/* The same fd number as plane 0. */
			a.fd[i] = a.fd[0];
			fake[i] = fake[0];
			sizes[i] = sizes[0];
		} else {
			/* Whole pages: reading past the end faults. */
			uint64_t bytes = ((uint64_t)take_u32(&in) + (uint64_t)page - 1) &
					 ~((uint64_t)page - 1);
			if (kind == 5) {
				a.fd[i] = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
				check(a.fd[i] >= 0 && ftruncate(a.fd[i], (off_t)bytes) == 0);
			} else {
				a.fd[i] = fake_dmabuf_create(bytes);
				check(a.fd[i] >= 0);
				fake[i] = true;
			}
			sizes[i] = bytes;
		}
		a.offset[i] = take(&in, 1) < 0xc0 ? (uint32_t)take(&in, 1) * 4 : take_u32(&in);
		if (take(&in, 1) < 0xc0 && info != NULL && i < info->n_planes)
			a.stride[i] = (uint32_t)(plane_min_stride(info, i, a.width) +
						 (uint32_t)take(&in, 1));
		else
			a.stride[i] = take_u32(&in);
	}

	char msg[256] = "";
	int ret = dmabuf_attributes_check(&a, msg, sizeof(msg));
	check(ret == 0 || ret == -EINVAL);
	bool fit = fits(&a, fake, sizes);
	/* Accepted exactly when it fits. */
	check((ret == 0) == fit);
	if (ret != 0) {
		check(msg[0] != '\0');
		dmabuf_attributes_finish(&a);
		check(fake_dmabuf_count_fds() == fds_before);
		return 0;
	}

	/* A duplicate holds its own fds and passes the same check. */
	struct dmabuf_attributes dup;
	check(dmabuf_attributes_dup(&dup, &a) == 0);
	check(dmabuf_attributes_check(&dup, NULL, 0) == 0);
	dmabuf_attributes_finish(&dup);

	struct dst dst;
	dst_init(&dst, &in);
	struct dmabuf_attributes kept = a; /* numbers only: the buffer takes the fds */
	struct buffer *buffer = buffer_create_dmabuf(&a);
	check(buffer != NULL);
	check(a.fd[0] == -1);
	copies(&in, buffer, &dst, true);
	buffer_unref(buffer);
	copies_from_cpu(&in, &kept, &dst);
	dst_finish(&dst);

	check(fake_dmabuf_count_fds() == fds_before);
	return 0;
}
