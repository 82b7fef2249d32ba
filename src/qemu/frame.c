// SPDX-License-Identifier: MIT
/*
 * The ring: three buffers of the daemon's own memory holding copies of the
 * picture. Each remembers in `damage` what changed since it was last
 * written. A change (an Update's rectangle, a whole new picture) is added
 * to every buffer's damage; then the buffer to write next (neither locked
 * by the KMS core nor the one handed out, `current`) gets its whole
 * damage copied and becomes current:
 *
 *   damage of the written buffer
 *     = the changes since current    <- from the call's pixels or the
 *       (`staged`, the call's)          shared memory (only the rectangles
 *                                       QEMU named)
 *     + changes it missed before     <- from current
 *
 * An upside-down dma-buf is copied whole, turned, at each change.
 * When no buffer may be written, the change waits: pixels that arrived in
 * a message are kept in `staging` until a buffer is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/udmabuf.h>
#include <pixman.h>

#include "buffer/buffer.h"
#include "buffer/dmabuf.h"
#include "qemu/frame.h"
#include "util/fourcc.h"
#include "util/log.h"

#define RING_SIZE     3
#define DMABUF_CACHE  4
#define ROW_ALIGN     256
#define CURSOR_MAX    512
#define CURSOR_FORMAT DRM_FORMAT_ARGB8888
#define CURSOR_BPP    4
/* Most bytes of one ring buffer: 8192x8192 XRGB8888 (each side still up to 16384). */
#define RING_MAX_BYTES (256u << 20)

/* One buffer of our own memory: a ring buffer or the cursor. */
struct slot {
	struct qemu_frame *frame; /* NULL once dropped (the buffer lives on while locked) */
	struct buffer *buffer;    /* our reference while frame is set */
	void *map;                /* read-write mapping of the memfd */
	size_t map_size;
	uint32_t stride;
	bool udmabuf;
	pixman_region32_t damage;   /* what it misses of the picture */
	struct wl_listener release; /* buffer.events.release, while frame is set */
	struct wl_listener destroy; /* buffer.events.destroy */
};

/* A dma-buf seen before, recognised by its inode when sent again. */
struct cached_dmabuf {
	struct buffer *buffer; /* a reference; NULL: empty entry */
	dev_t dev;
	ino_t ino;
	uint32_t width, height, stride, fourcc;
	uint64_t modifier;
	uint64_t used; /* frame.use_clock when last sent */
};

struct qemu_frame {
	struct wl_event_loop *loop;
	qemu_frame_changed_fn changed;
	void *data;

	enum qemu_frame_kind kind;
	uint32_t width, height, fourcc, pixman_format, bpp;

	/* The ring (PIXELS, MAP, a dma-buf turned): all NULL or all set. */
	struct slot *ring[RING_SIZE];
	int current;                  /* the ring buffer handed out, -1: none yet */
	bool pending;                 /* a change waits for a ring buffer or a dma-buf's fences */
	struct wl_event_source *idle; /* may be NULL: finishes what was pending */

	/* PIXELS: changes waiting for a ring buffer, width x height */
	uint8_t *staging; /* may be NULL */
	uint32_t staging_stride;
	pixman_region32_t staged;

	/* MAP: QEMU's shared memory */
	const uint8_t *map; /* may be NULL: read with pread() from map_fd */
	size_t map_size;
	int map_fd; /* -1 unless read with pread() */
	uint64_t map_offset;
	uint32_t map_stride;

	/* DMABUF: the buffer shown as it is, or turned into the ring */
	struct buffer *dmabuf; /* may be NULL: a reference */
	bool flipped;
	struct buffer_waiter waiter;
	struct cached_dmabuf cache[DMABUF_CACHE];
	uint64_t use_clock;

	struct slot *cursor;       /* may be NULL */
	struct slot *cursor_spare; /* may be NULL: the shape before, reused when free */
	int32_t hot_x, hot_y, mouse_x, mouse_y;
	bool cursor_on;

	uint64_t updates, dmabuf_fds, dmabufs;
};

static const uint32_t rgb_formats[] = {
	DRM_FORMAT_XRGB8888,    DRM_FORMAT_ARGB8888,    DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,    DRM_FORMAT_RGBX8888,    DRM_FORMAT_RGBA8888,
	DRM_FORMAT_BGRX8888,    DRM_FORMAT_BGRA8888,    DRM_FORMAT_RGB565,
	DRM_FORMAT_BGR565,      DRM_FORMAT_RGB888,      DRM_FORMAT_BGR888,
	DRM_FORMAT_XRGB2101010, DRM_FORMAT_ARGB2101010, DRM_FORMAT_XBGR2101010,
	DRM_FORMAT_ABGR2101010,
};

uint32_t qemu_fourcc_from_pixman(uint32_t pixman_format)
{
	if (pixman_format == 0)
		return 0;
	for (size_t i = 0; i < sizeof(rgb_formats) / sizeof(rgb_formats[0]); i++) {
		const struct fourcc_info *info = fourcc_info_get(rgb_formats[i]);
		if (info != NULL && info->n_planes == 1 && (uint32_t)info->pixman == pixman_format)
			return info->opaque;
	}
	return 0;
}

static void changed(struct qemu_frame *frame)
{
	if (frame->changed != NULL)
		frame->changed(frame->data);
}

/* ---- buffers of our own memory ---- */

static void slot_handle_release(struct wl_listener *listener, void *data);

static void slot_handle_destroy(struct wl_listener *listener, void *data)
{
	(void)data;
	struct slot *slot = wl_container_of(listener, slot, destroy);
	wl_list_remove(&slot->destroy.link);
	if (slot->frame != NULL)
		wl_list_remove(&slot->release.link);
	munmap(slot->map, slot->map_size);
	pixman_region32_fini(&slot->damage);
	free(slot);
}

/*
 * A buffer of width x height in fourcc, rows `stride` bytes apart: a memfd
 * sealed against shrinking, mapped read-write, made a dma-buf through
 * udmabuf_dev (-1: none) when it can be, CPU pixels otherwise.
 */
static struct slot *slot_create(struct qemu_frame *frame, int udmabuf_dev, uint32_t width,
				uint32_t height, uint32_t fourcc, uint32_t stride)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t size = (uint64_t)stride * height;
	size = (size + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
	if (size > DMABUF_MAX_PLANE_END) {
		errno = EINVAL;
		return NULL;
	}

	struct slot *slot = calloc(1, sizeof(*slot));
	if (slot == NULL)
		return NULL;
	int memfd = memfd_create("vscanout-qemu", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		goto error_slot;
	if (ftruncate(memfd, (off_t)size) < 0 || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		goto error_memfd;
	slot->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (slot->map == MAP_FAILED)
		goto error_memfd;
	slot->map_size = size;
	slot->stride = stride;

	if (udmabuf_dev >= 0) {
		struct udmabuf_create create = {
			.memfd = (uint32_t)memfd,
			.flags = UDMABUF_FLAGS_CLOEXEC,
			.offset = 0,
			.size = size,
		};
		int fd = ioctl(udmabuf_dev, UDMABUF_CREATE, &create);
		if (fd >= 0) {
			struct dmabuf_attributes attrs;
			dmabuf_attributes_init(&attrs);
			attrs.width = width;
			attrs.height = height;
			attrs.fourcc = fourcc;
			attrs.modifier = DRM_FORMAT_MOD_LINEAR;
			attrs.n_planes = 1;
			attrs.fd[0] = fd;
			attrs.offset[0] = 0;
			attrs.stride[0] = stride;
			slot->buffer = buffer_create_dmabuf(&attrs);
			if (slot->buffer == NULL)
				dmabuf_attributes_finish(&attrs);
			else
				slot->udmabuf = true;
		} else {
			log_debug_errno("qemu: udmabuf of %" PRIu64 " bytes", size);
		}
	}
	if (slot->buffer == NULL)
		slot->buffer = buffer_create_cpu(slot->map, width, height, stride, fourcc);
	if (slot->buffer == NULL)
		goto error_map;
	close(memfd);

	slot->frame = frame;
	pixman_region32_init(&slot->damage);
	slot->release.notify = slot_handle_release;
	wl_signal_add(&slot->buffer->events.release, &slot->release);
	slot->destroy.notify = slot_handle_destroy;
	wl_signal_add(&slot->buffer->events.destroy, &slot->destroy);
	return slot;

error_map:
	munmap(slot->map, size);
error_memfd:
	close(memfd);
error_slot:
	free(slot);
	if (errno == 0)
		errno = ENOMEM;
	return NULL;
}

/* Drop our reference; the memory goes with the buffer (now, or once unlocked). */
static void slot_drop(struct slot *slot)
{
	if (slot == NULL)
		return;
	wl_list_remove(&slot->release.link);
	slot->frame = NULL;
	buffer_unref(slot->buffer);
}

static int open_udmabuf(void)
{
	return open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
}

/* ---- the ring ---- */

static void staging_free(struct qemu_frame *frame)
{
	free(frame->staging);
	frame->staging = NULL;
	pixman_region32_clear(&frame->staged);
}

static void map_free(struct qemu_frame *frame)
{
	if (frame->map != NULL)
		munmap((void *)frame->map, frame->map_size);
	frame->map = NULL;
	frame->map_size = 0;
	if (frame->map_fd >= 0)
		close(frame->map_fd);
	frame->map_fd = -1;
}

static void dmabuf_free(struct qemu_frame *frame)
{
	buffer_waiter_cancel(&frame->waiter);
	buffer_unref(frame->dmabuf);
	frame->dmabuf = NULL;
	frame->flipped = false;
}

static void ring_free(struct qemu_frame *frame)
{
	for (int i = 0; i < RING_SIZE; i++) {
		slot_drop(frame->ring[i]);
		frame->ring[i] = NULL;
	}
	frame->current = -1;
	frame->pending = false;
	staging_free(frame);
}

/* Everything the picture holds goes; the dma-buf cache stays. */
static void picture_free(struct qemu_frame *frame)
{
	ring_free(frame);
	map_free(frame);
	dmabuf_free(frame);
	frame->kind = QEMU_FRAME_NONE;
	frame->width = frame->height = frame->fourcc = frame->pixman_format = frame->bpp = 0;
}

static bool ring_fits(const struct qemu_frame *frame, uint32_t width, uint32_t height,
		      uint32_t fourcc)
{
	return frame->ring[0] != NULL && frame->width == width && frame->height == height &&
	       frame->fourcc == fourcc;
}

/*
 * A ring for width x height in fourcc, made before anything of the old
 * picture goes: on failure the picture is left as it was.
 */
static int ring_create(struct qemu_frame *frame, struct slot *ring[RING_SIZE], uint32_t width,
		       uint32_t height, uint32_t fourcc, char *msg, size_t msg_size,
		       const char *call)
{
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	uint64_t row = (uint64_t)width * info->bpp[0];
	uint32_t stride = (uint32_t)((row + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN);
	if ((uint64_t)stride * height > RING_MAX_BYTES) {
		snprintf(msg, msg_size,
			 "%s: a %" PRIu32 "x%" PRIu32 " picture needs %" PRIu64
			 " bytes per copy, more than the %u kept",
			 call, width, height, (uint64_t)stride * height, RING_MAX_BYTES);
		return -E2BIG;
	}
	int dev = open_udmabuf();
	for (int i = 0; i < RING_SIZE; i++) {
		errno = 0;
		ring[i] = slot_create(frame, dev, width, height, fourcc, stride);
		if (ring[i] == NULL) {
			int err = errno != 0 ? errno : ENOMEM;
			snprintf(msg, msg_size,
				 "%s: no memory for a %" PRIu32 "x%" PRIu32 " picture: %s", call,
				 width, height, strerror(err));
			for (int j = 0; j < i; j++)
				slot_drop(ring[j]);
			if (dev >= 0)
				close(dev);
			return -err;
		}
	}
	if (dev >= 0)
		close(dev);
	return 0;
}

/* The picture is now width x height in fourcc: a new ring unless the old one fits. */
static int ring_prepare(struct qemu_frame *frame, uint32_t width, uint32_t height, uint32_t fourcc,
			char *msg, size_t msg_size, const char *call)
{
	if (ring_fits(frame, width, height, fourcc))
		return 0;
	struct slot *ring[RING_SIZE];
	int ret = ring_create(frame, ring, width, height, fourcc, msg, msg_size, call);
	if (ret < 0)
		return ret;
	ring_free(frame);
	memcpy(frame->ring, ring, sizeof(ring));
	frame->current = -1;
	return 0;
}

/*
 * A change of the picture: every ring buffer misses it. One in shared
 * memory is to be read from there (staged).
 */
static void ring_damage(struct qemu_frame *frame, const pixman_box32_t *box)
{
	if (frame->kind == QEMU_FRAME_MAP)
		pixman_region32_union_rect(&frame->staged, &frame->staged, box->x1, box->y1,
					   (unsigned)(box->x2 - box->x1),
					   (unsigned)(box->y2 - box->y1));
	for (int i = 0; i < RING_SIZE; i++)
		pixman_region32_union_rect(&frame->ring[i]->damage, &frame->ring[i]->damage,
					   box->x1, box->y1, (unsigned)(box->x2 - box->x1),
					   (unsigned)(box->y2 - box->y1));
}

static void ring_damage_all(struct qemu_frame *frame)
{
	pixman_box32_t box = {0, 0, (int32_t)frame->width, (int32_t)frame->height};
	ring_damage(frame, &box);
}

static int free_slot(const struct qemu_frame *frame)
{
	for (int i = 0; i < RING_SIZE; i++) {
		if (i != frame->current && frame->ring[i]->buffer->n_locks == 0)
			return i;
	}
	return -1;
}

/*
 * Pixels to copy from: row 0 of data holds the picture's row y0 from
 * column x0 on (0,0 for a whole picture, the rectangle's corner for an
 * Update's pixels); flip_height != 0: the picture's row y is read from row
 * flip_height - 1 - y (a dma-buf upside down).
 */
struct source {
	const uint8_t *data;
	uint32_t stride;
	int32_t x0, y0;
	uint32_t flip_height;
};

/* Copy the boxes of region (inside what src holds) from src into dst at the same place. */
static void copy_region(struct slot *dst, const pixman_region32_t *region, const struct source *src,
			uint32_t bpp)
{
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		size_t x = (size_t)boxes[i].x1 * bpp;
		size_t sx = (size_t)(boxes[i].x1 - src->x0) * bpp;
		size_t len = (size_t)(boxes[i].x2 - boxes[i].x1) * bpp;
		for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++) {
			size_t sy = src->flip_height != 0 ? src->flip_height - 1 - (uint32_t)y
							  : (size_t)(y - src->y0);
			memcpy((uint8_t *)dst->map + (size_t)y * dst->stride + x,
			       src->data + sy * src->stride + sx, len);
		}
	}
}

/* The boxes of region from QEMU's shared memory read with pread(). */
static int pread_region(struct qemu_frame *frame, struct slot *dst, const pixman_region32_t *region)
{
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		size_t x = (size_t)boxes[i].x1 * frame->bpp;
		size_t len = (size_t)(boxes[i].x2 - boxes[i].x1) * frame->bpp;
		int32_t rows = 1;
		/* Whole rows laid out alike: one read for them all (and the padding between). */
		if (boxes[i].x1 == 0 && (uint32_t)boxes[i].x2 == frame->width &&
		    dst->stride == frame->map_stride) {
			rows = boxes[i].y2 - boxes[i].y1;
			len += (size_t)(rows - 1) * dst->stride;
		}
		for (int32_t y = boxes[i].y1; y < boxes[i].y2; y += rows) {
			uint64_t off = frame->map_offset + (uint64_t)y * frame->map_stride + x;
			ssize_t got = pread(frame->map_fd,
					    (uint8_t *)dst->map + (size_t)y * dst->stride + x, len,
					    (off_t)off);
			if (got < 0)
				return -errno;
			if ((size_t)got != len)
				return -ENODATA; /* the memory shrank since ScanoutMap */
		}
	}
	return 0;
}

/* Pixels of a call: the rectangle box, row 0 at data, stride apart. */
struct call_pixels {
	pixman_box32_t box;
	const uint8_t *data;
	uint32_t stride;
};

static void staging_put(struct qemu_frame *frame, const struct call_pixels *in)
{
	if (frame->staging == NULL) {
		frame->staging_stride = frame->width * frame->bpp;
		frame->staging = malloc((size_t)frame->staging_stride * frame->height);
		if (frame->staging == NULL) {
			log_warn("qemu: no memory to keep an update until a buffer is free; "
				 "dropped");
			return;
		}
	}
	size_t x = (size_t)in->box.x1 * frame->bpp;
	size_t len = (size_t)(in->box.x2 - in->box.x1) * frame->bpp;
	for (int32_t y = in->box.y1; y < in->box.y2; y++)
		memcpy(frame->staging + (size_t)y * frame->staging_stride + x,
		       in->data + (size_t)(y - in->box.y1) * in->stride, len);
	pixman_region32_union_rect(&frame->staged, &frame->staged, in->box.x1, in->box.y1,
				   (unsigned)(in->box.x2 - in->box.x1),
				   (unsigned)(in->box.y2 - in->box.y1));
}

static void handle_fences(struct buffer_waiter *waiter);

/*
 * Bring a free ring buffer up to date (with in: the change of this call,
 * already added to the damage) and make it current. Returns 1 when done,
 * 0 when it waits (for a free buffer or the dma-buf's fences), or a
 * negative errno with the reason in msg.
 */
static int ring_flush(struct qemu_frame *frame, const struct call_pixels *in, char *msg,
		      size_t msg_size)
{
	int t = free_slot(frame);
	if (t < 0) {
		if (in != NULL)
			staging_put(frame, in);
		frame->pending = true;
		return 0;
	}
	struct slot *dst = frame->ring[t];
	struct slot *cur = frame->current >= 0 ? frame->ring[frame->current] : NULL;
	int ret = 0;

	switch (frame->kind) {
	case QEMU_FRAME_PIXELS: {
		pixman_region32_t from_cur, from_staging;
		pixman_region32_init(&from_cur);
		pixman_region32_init(&from_staging);
		pixman_region32_subtract(&from_cur, &dst->damage, &frame->staged);
		pixman_region32_copy(&from_staging, &frame->staged);
		if (in != NULL) {
			pixman_region32_t r;
			pixman_region32_init_rect(&r, in->box.x1, in->box.y1,
						  (unsigned)(in->box.x2 - in->box.x1),
						  (unsigned)(in->box.y2 - in->box.y1));
			pixman_region32_subtract(&from_cur, &from_cur, &r);
			pixman_region32_subtract(&from_staging, &from_staging, &r);
			pixman_region32_fini(&r);
		}
		if (cur != NULL)
			copy_region(dst, &from_cur,
				    &(struct source){cur->map, cur->stride, 0, 0, 0}, frame->bpp);
		if (frame->staging != NULL)
			copy_region(
				dst, &from_staging,
				&(struct source){frame->staging, frame->staging_stride, 0, 0, 0},
				frame->bpp);
		if (in != NULL) {
			pixman_region32_t r;
			pixman_region32_init_rect(&r, in->box.x1, in->box.y1,
						  (unsigned)(in->box.x2 - in->box.x1),
						  (unsigned)(in->box.y2 - in->box.y1));
			copy_region(
				dst, &r,
				&(struct source){in->data, in->stride, in->box.x1, in->box.y1, 0},
				frame->bpp);
			pixman_region32_fini(&r);
		}
		pixman_region32_fini(&from_cur);
		pixman_region32_fini(&from_staging);
		pixman_region32_clear(&frame->staged);
		break;
	}
	case QEMU_FRAME_MAP: {
		/* The rectangles QEMU named from its memory, the rest from current. */
		pixman_region32_t from_cur;
		pixman_region32_init(&from_cur);
		pixman_region32_subtract(&from_cur, &dst->damage, &frame->staged);
		if (cur != NULL)
			copy_region(dst, &from_cur,
				    &(struct source){cur->map, cur->stride, 0, 0, 0}, frame->bpp);
		pixman_region32_fini(&from_cur);
		if (frame->map != NULL) {
			copy_region(dst, &frame->staged,
				    &(struct source){frame->map + frame->map_offset,
						     frame->map_stride, 0, 0, 0},
				    frame->bpp);
		} else {
			ret = pread_region(frame, dst, &frame->staged);
			if (ret < 0) {
				snprintf(msg, msg_size, "reading the shared memory: %s",
					 ret == -ENODATA ? "it is smaller than the picture now"
							 : strerror(-ret));
			}
		}
		pixman_region32_clear(&frame->staged);
		break;
	}
	case QEMU_FRAME_DMABUF: {
		const void *data;
		uint32_t stride;
		ret = buffer_begin_read(frame->dmabuf, &data, &stride);
		if (ret == -EAGAIN) {
			ret = buffer_waiter_wait(&frame->waiter, frame->dmabuf, frame->loop,
						 handle_fences);
			if (ret == 0) {
				frame->pending = true;
				return 0;
			}
		}
		if (ret < 0) {
			snprintf(msg, msg_size, "reading the dma-buf: %s", strerror(-ret));
			break;
		}
		copy_region(dst, &dst->damage, &(struct source){data, stride, 0, 0, frame->height},
			    frame->bpp);
		buffer_end_read(frame->dmabuf);
		break;
	}
	case QEMU_FRAME_NONE:
		return 0;
	}
	if (ret < 0) {
		frame->pending = false;
		return ret;
	}
	pixman_region32_clear(&dst->damage);
	frame->current = t;
	frame->pending = false;
	return 1;
}

/* From the loop: finish what was pending, then tell. */
static void flush_later(struct qemu_frame *frame)
{
	char msg[256];
	int ret = ring_flush(frame, NULL, msg, sizeof(msg));
	if (ret < 0)
		log_warn("qemu: %s", msg);
	else if (ret > 0)
		changed(frame);
}

static void handle_idle(void *data)
{
	struct qemu_frame *frame = data;
	frame->idle = NULL;
	if (frame->pending && frame->ring[0] != NULL)
		flush_later(frame);
}

static void slot_handle_release(struct wl_listener *listener, void *data)
{
	(void)data;
	struct slot *slot = wl_container_of(listener, slot, release);
	struct qemu_frame *frame = slot->frame;
	/* Not from within the KMS core's unlock: from the loop, once idle. */
	if (frame->pending && frame->idle == NULL)
		frame->idle = wl_event_loop_add_idle(frame->loop, handle_idle, frame);
}

static void handle_fences(struct buffer_waiter *waiter)
{
	struct qemu_frame *frame = wl_container_of(waiter, frame, waiter);
	if (frame->pending && frame->ring[0] != NULL)
		flush_later(frame);
}

/* ---- the calls ---- */

struct qemu_frame *qemu_frame_create(struct wl_event_loop *loop, qemu_frame_changed_fn changed_fn,
				     void *data)
{
	struct qemu_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL)
		return NULL;
	frame->loop = loop;
	frame->changed = changed_fn;
	frame->data = data;
	frame->current = -1;
	frame->map_fd = -1;
	pixman_region32_init(&frame->staged);
	return frame;
}

void qemu_frame_destroy(struct qemu_frame *frame)
{
	if (frame == NULL)
		return;
	picture_free(frame);
	for (int i = 0; i < DMABUF_CACHE; i++)
		buffer_unref(frame->cache[i].buffer);
	slot_drop(frame->cursor);
	slot_drop(frame->cursor_spare);
	if (frame->idle != NULL)
		wl_event_source_remove(frame->idle);
	pixman_region32_fini(&frame->staged);
	free(frame);
}

/* The format of a call: a supported pixman code with a one-plane fourcc. */
static int check_pixman(uint32_t pixman_format, uint32_t *fourcc, uint32_t *bpp, char *msg,
			size_t msg_size, const char *call)
{
	*fourcc = qemu_fourcc_from_pixman(pixman_format);
	if (*fourcc == 0) {
		snprintf(msg, msg_size, "%s: pixman format 0x%08" PRIx32 " is not supported", call,
			 pixman_format);
		return -EINVAL;
	}
	*bpp = fourcc_info_get(*fourcc)->bpp[0];
	return 0;
}

static int check_size(uint32_t width, uint32_t height, char *msg, size_t msg_size, const char *call)
{
	if (width < 1 || width > DMABUF_MAX_DIMENSION || height < 1 ||
	    height > DMABUF_MAX_DIMENSION) {
		snprintf(msg, msg_size, "%s: size %" PRIu32 "x%" PRIu32 " is out of range 1..%d",
			 call, width, height, DMABUF_MAX_DIMENSION);
		return -EINVAL;
	}
	return 0;
}

/* Rows of width pixels, stride apart, in size bytes. */
static int check_rows(uint32_t width, uint32_t height, uint32_t stride, uint32_t bpp, uint64_t size,
		      char *msg, size_t msg_size, const char *call)
{
	uint64_t row = (uint64_t)width * bpp;
	if (stride < row) {
		snprintf(msg, msg_size,
			 "%s: stride %" PRIu32 " is smaller than width %" PRIu32 " × %" PRIu32
			 " bytes",
			 call, stride, width, bpp);
		return -EINVAL;
	}
	uint64_t need = (uint64_t)stride * (height - 1) + row;
	if (size < need) {
		snprintf(msg, msg_size,
			 "%s: %" PRIu64 " bytes of pixels are fewer than the %" PRIu64
			 " that %" PRIu32 " rows of %" PRIu32 " bytes need",
			 call, size, need, height, stride);
		return -EINVAL;
	}
	return 0;
}

/* A rectangle of the picture, inside it; an empty one is *empty. */
static int check_rect(const struct qemu_frame *frame, int32_t x, int32_t y, int32_t width,
		      int32_t height, bool *empty, char *msg, size_t msg_size, const char *call)
{
	*empty = false;
	if (frame->kind == QEMU_FRAME_NONE) {
		snprintf(msg, msg_size, "%s: there is no scanout to update", call);
		return -EINVAL;
	}
	if (x < 0 || y < 0 || width < 0 || height < 0 ||
	    (int64_t)x + width > (int64_t)frame->width ||
	    (int64_t)y + height > (int64_t)frame->height) {
		snprintf(msg, msg_size,
			 "%s: rectangle %" PRId32 ",%" PRId32 " %" PRId32 "x%" PRId32
			 " is outside the %" PRIu32 "x%" PRIu32 " scanout",
			 call, x, y, width, height, frame->width, frame->height);
		/* Inside a picture of another size: QEMU's may have changed without a Scanout. */
		bool fits_larger = x >= 0 && y >= 0 && width >= 0 && height >= 0 &&
				   (int64_t)x + width <= DMABUF_MAX_DIMENSION &&
				   (int64_t)y + height <= DMABUF_MAX_DIMENSION;
		return fits_larger ? -ERANGE : -EINVAL;
	}
	*empty = width == 0 || height == 0;
	return 0;
}

/* Show the ring's picture after a change already in its damage. */
static int ring_change(struct qemu_frame *frame, const struct call_pixels *in, char *msg,
		       size_t msg_size, const char *call)
{
	char reason[200];
	int ret = ring_flush(frame, in, reason, sizeof(reason));
	if (ret < 0) {
		snprintf(msg, msg_size, "%s: %s", call, reason);
		return ret;
	}
	if (ret > 0)
		changed(frame);
	return 0;
}

int qemu_frame_scanout(struct qemu_frame *frame, uint32_t width, uint32_t height, uint32_t stride,
		       uint32_t pixman_format, const void *data, size_t size, char *msg,
		       size_t msg_size)
{
	const char *call = "Scanout";
	uint32_t fourcc, bpp;
	int ret = check_pixman(pixman_format, &fourcc, &bpp, msg, msg_size, call);
	if (ret == 0)
		ret = check_size(width, height, msg, msg_size, call);
	if (ret == 0)
		ret = check_rows(width, height, stride, bpp, data != NULL ? size : 0, msg, msg_size,
				 call);
	if (ret < 0)
		return ret;
	ret = ring_prepare(frame, width, height, fourcc, msg, msg_size, call);
	if (ret < 0)
		return ret;

	map_free(frame);
	dmabuf_free(frame);
	staging_free(frame);
	frame->kind = QEMU_FRAME_PIXELS;
	frame->width = width;
	frame->height = height;
	frame->fourcc = fourcc;
	frame->bpp = bpp;
	frame->pixman_format = pixman_format;
	frame->updates++;
	ring_damage_all(frame);
	struct call_pixels in = {
		.box = {0, 0, (int32_t)width, (int32_t)height},
		.data = data,
		.stride = stride,
	};
	return ring_change(frame, &in, msg, msg_size, call);
}

int qemu_frame_update(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width, int32_t height,
		      uint32_t stride, uint32_t pixman_format, const void *data, size_t size,
		      char *msg, size_t msg_size)
{
	const char *call = "Update";
	bool empty;
	int ret = check_rect(frame, x, y, width, height, &empty, msg, msg_size, call);
	if (ret < 0)
		return ret;
	if (frame->kind != QEMU_FRAME_PIXELS) {
		snprintf(msg, msg_size, "%s: the scanout is not one of pixels sent by Scanout",
			 call);
		return -EINVAL;
	}
	if (pixman_format != frame->pixman_format) {
		uint32_t fourcc, bpp;
		ret = check_pixman(pixman_format, &fourcc, &bpp, msg, msg_size, call);
		if (ret == 0 && fourcc != frame->fourcc) {
			snprintf(msg, msg_size,
				 "%s: pixman format 0x%08" PRIx32
				 " differs from the scanout's 0x%08" PRIx32,
				 call, pixman_format, frame->pixman_format);
			ret = -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	if (empty) {
		frame->updates++;
		return 0;
	}
	ret = check_rows((uint32_t)width, (uint32_t)height, stride, frame->bpp,
			 data != NULL ? size : 0, msg, msg_size, call);
	if (ret < 0)
		return ret;

	frame->updates++;
	pixman_box32_t box = {x, y, x + width, y + height};
	ring_damage(frame, &box);
	struct call_pixels in = {.box = box, .data = data, .stride = stride};
	return ring_change(frame, &in, msg, msg_size, call);
}

int qemu_frame_scanout_map(struct qemu_frame *frame, int fd, uint32_t offset, uint32_t width,
			   uint32_t height, uint32_t stride, uint32_t pixman_format, char *msg,
			   size_t msg_size)
{
	const char *call = "ScanoutMap";
	uint32_t fourcc, bpp;
	int ret = check_pixman(pixman_format, &fourcc, &bpp, msg, msg_size, call);
	if (ret == 0)
		ret = check_size(width, height, msg, msg_size, call);
	if (ret == 0)
		ret = check_rows(width, height, stride, bpp, UINT64_MAX, msg, msg_size, call);
	if (ret < 0)
		return ret;

	struct stat st;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(msg, msg_size, "%s: fd %d: %s", call, fd, strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msg_size, "%s: fd %d is not shared memory (a memfd)", call, fd);
		return -EINVAL;
	}
	uint64_t end = (uint64_t)offset + (uint64_t)stride * height;
	if (st.st_size < 0 || (uint64_t)st.st_size < end) {
		snprintf(msg, msg_size,
			 "%s: the shared memory's %" PRId64 " bytes are fewer than offset %" PRIu32
			 " + %" PRIu32 " rows of %" PRIu32 " bytes",
			 call, (int64_t)st.st_size, offset, height, stride);
		return -EINVAL;
	}
	if (end > SIZE_MAX / 2) {
		snprintf(msg, msg_size, "%s: the picture's %" PRIu64 " bytes are too many", call,
			 end);
		return -EINVAL;
	}
	/*
	 * Memory QEMU may shrink under us would fault the mapping's reader
	 * (SIGBUS): only memory sealed against shrinking is mapped, other
	 * memory is read with pread(), which sees the end instead.
	 */
	int seals = fcntl(fd, F_GET_SEALS);
	const uint8_t *map = NULL;
	int map_fd = -1;
	if (seals >= 0 && (seals & F_SEAL_SHRINK) != 0) {
		void *m = mmap(NULL, (size_t)end, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			ret = -errno;
			snprintf(msg, msg_size, "%s: mapping the shared memory: %s", call,
				 strerror(errno));
			return ret;
		}
		map = m;
	} else {
		map_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (map_fd < 0) {
			ret = -errno;
			snprintf(msg, msg_size, "%s: duplicating fd %d: %s", call, fd,
				 strerror(errno));
			return ret;
		}
	}

	ret = ring_prepare(frame, width, height, fourcc, msg, msg_size, call);
	if (ret < 0) {
		if (map != NULL)
			munmap((void *)map, (size_t)end);
		if (map_fd >= 0)
			close(map_fd);
		return ret;
	}
	map_free(frame);
	dmabuf_free(frame);
	staging_free(frame);
	frame->kind = QEMU_FRAME_MAP;
	frame->map = map;
	frame->map_size = (size_t)end;
	frame->map_fd = map_fd;
	frame->map_offset = offset;
	frame->map_stride = stride;
	frame->width = width;
	frame->height = height;
	frame->fourcc = fourcc;
	frame->bpp = bpp;
	frame->pixman_format = pixman_format;
	frame->updates++;
	ring_damage_all(frame);
	return ring_change(frame, NULL, msg, msg_size, call);
}

int qemu_frame_update_map(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width,
			  int32_t height, char *msg, size_t msg_size)
{
	const char *call = "UpdateMap";
	bool empty;
	int ret = check_rect(frame, x, y, width, height, &empty, msg, msg_size, call);
	if (ret < 0)
		return ret;
	if (frame->kind != QEMU_FRAME_MAP) {
		snprintf(msg, msg_size, "%s: the scanout is not in shared memory (ScanoutMap)",
			 call);
		return -EINVAL;
	}
	frame->updates++;
	if (empty)
		return 0;
	pixman_box32_t box = {x, y, x + width, y + height};
	ring_damage(frame, &box);
	return ring_change(frame, NULL, msg, msg_size, call);
}

/* The cache's entry of this dma-buf, or NULL. */
static struct cached_dmabuf *cache_find(struct qemu_frame *frame, const struct stat *st,
					uint32_t width, uint32_t height, uint32_t stride,
					uint32_t fourcc, uint64_t modifier)
{
	for (int i = 0; i < DMABUF_CACHE; i++) {
		struct cached_dmabuf *c = &frame->cache[i];
		if (c->buffer != NULL && c->dev == st->st_dev && c->ino == st->st_ino &&
		    c->width == width && c->height == height && c->stride == stride &&
		    c->fourcc == fourcc && c->modifier == modifier)
			return c;
	}
	return NULL;
}

/* The empty entry, or the least recently used one emptied. */
static struct cached_dmabuf *cache_evict(struct qemu_frame *frame)
{
	struct cached_dmabuf *oldest = &frame->cache[0];
	for (int i = 0; i < DMABUF_CACHE; i++) {
		if (frame->cache[i].buffer == NULL)
			return &frame->cache[i];
		if (frame->cache[i].used < oldest->used)
			oldest = &frame->cache[i];
	}
	buffer_unref(oldest->buffer);
	oldest->buffer = NULL;
	return oldest;
}

int qemu_frame_scanout_dmabuf(struct qemu_frame *frame, int fd, uint32_t width, uint32_t height,
			      uint32_t stride, uint32_t fourcc, uint64_t modifier, bool y0_top,
			      char *msg, size_t msg_size)
{
	const char *call = "ScanoutDMABUF";
	char name[FOURCC_STR_SIZE], mod[FOURCC_STR_SIZE];
	frame->dmabuf_fds++;
	int ret = check_size(width, height, msg, msg_size, call);
	if (ret < 0)
		return ret;
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	if (info == NULL || info->n_planes != 1) {
		snprintf(msg, msg_size, "%s: format %s is not supported", call,
			 fourcc_str(fourcc, name, sizeof(name)));
		return -EINVAL;
	}
	if (!y0_top && (info->pixman == 0 || (modifier != DRM_FORMAT_MOD_LINEAR &&
					      modifier != DRM_FORMAT_MOD_INVALID))) {
		snprintf(msg, msg_size,
			 "%s: a picture upside down in %s with modifier %s cannot be turned", call,
			 fourcc_str(fourcc, name, sizeof(name)),
			 fourcc_modifier_str(modifier, mod, sizeof(mod)));
		return -EINVAL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(msg, msg_size, "%s: fd %d: %s", call, fd, strerror(errno));
		return ret;
	}

	struct cached_dmabuf *c = cache_find(frame, &st, width, height, stride, fourcc, modifier);
	struct buffer *buffer;
	if (c != NULL) {
		buffer = c->buffer;
	} else {
		struct dmabuf_attributes attrs;
		dmabuf_attributes_init(&attrs);
		attrs.width = width;
		attrs.height = height;
		attrs.fourcc = info->opaque; /* a console's picture has no alpha */
		attrs.modifier = modifier;
		attrs.n_planes = 1;
		attrs.fd[0] = fd; /* borrowed for the check */
		attrs.stride[0] = stride;
		char reason[200];
		ret = dmabuf_attributes_check(&attrs, reason, sizeof(reason));
		if (ret < 0) {
			snprintf(msg, msg_size, "%s: %s", call, reason);
			return ret;
		}
		attrs.fd[0] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (attrs.fd[0] < 0) {
			ret = -errno;
			snprintf(msg, msg_size, "%s: duplicating fd %d: %s", call, fd,
				 strerror(errno));
			return ret;
		}
		buffer = buffer_create_dmabuf(&attrs);
		if (buffer == NULL) {
			ret = errno != 0 ? -errno : -ENOMEM;
			dmabuf_attributes_finish(&attrs);
			snprintf(msg, msg_size, "%s: the dma-buf cannot be used: %s", call,
				 strerror(-ret));
			return ret;
		}
		c = cache_evict(frame);
		c->buffer = buffer;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->width = width;
		c->height = height;
		c->stride = stride;
		c->fourcc = fourcc;
		c->modifier = modifier;
		frame->dmabufs++;
	}
	c->used = ++frame->use_clock;
	if (!y0_top) {
		ret = ring_prepare(frame, width, height, info->opaque, msg, msg_size, call);
		if (ret < 0)
			return ret;
	}

	buffer_ref(buffer);
	map_free(frame);
	dmabuf_free(frame);
	staging_free(frame);
	if (y0_top)
		ring_free(frame);
	frame->kind = QEMU_FRAME_DMABUF;
	frame->dmabuf = buffer;
	frame->flipped = !y0_top;
	frame->width = width;
	frame->height = height;
	frame->fourcc = info->opaque;
	frame->bpp = info->bpp[0];
	frame->pixman_format = 0;
	frame->updates++;
	if (y0_top) {
		changed(frame);
		return 0;
	}
	ring_damage_all(frame);
	return ring_change(frame, NULL, msg, msg_size, call);
}

int qemu_frame_update_dmabuf(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width,
			     int32_t height, char *msg, size_t msg_size)
{
	const char *call = "UpdateDMABUF";
	bool empty;
	int ret = check_rect(frame, x, y, width, height, &empty, msg, msg_size, call);
	if (ret < 0)
		return ret;
	if (frame->kind != QEMU_FRAME_DMABUF) {
		snprintf(msg, msg_size, "%s: the scanout is not a dma-buf (ScanoutDMABUF)", call);
		return -EINVAL;
	}
	frame->updates++;
	if (!frame->flipped) {
		changed(frame);
		return 0;
	}
	/* Which rows changed is not certain for a picture upside down: all of it is copied. */
	ring_damage_all(frame);
	return ring_change(frame, NULL, msg, msg_size, call);
}

void qemu_frame_disable(struct qemu_frame *frame)
{
	picture_free(frame);
	changed(frame);
}

int qemu_frame_cursor_define(struct qemu_frame *frame, int32_t width, int32_t height, int32_t hot_x,
			     int32_t hot_y, const void *data, size_t size, char *msg,
			     size_t msg_size)
{
	const char *call = "CursorDefine";
	if (width < 0 || width > CURSOR_MAX || height < 0 || height > CURSOR_MAX) {
		snprintf(msg, msg_size, "%s: size %" PRId32 "x%" PRId32 " is out of range 0..%d",
			 call, width, height, CURSOR_MAX);
		return -EINVAL;
	}
	uint64_t need = (uint64_t)width * (uint64_t)height * CURSOR_BPP;
	if (data == NULL)
		size = 0;
	if (size != need) {
		snprintf(msg, msg_size,
			 "%s: %zu bytes of pixels are not the %" PRIu64 " of %" PRId32 "x%" PRId32
			 " ARGB8888",
			 call, size, need, width, height);
		return -EINVAL;
	}
	if (hot_x < 0 || hot_x > width || hot_y < 0 || hot_y > height) {
		snprintf(msg, msg_size,
			 "%s: hotspot %" PRId32 ",%" PRId32 " is outside the %" PRId32 "x%" PRId32
			 " cursor",
			 call, hot_x, hot_y, width, height);
		return -EINVAL;
	}
	/*
	 * An animated cursor is defined again and again in one size: the shape
	 * before the last is written anew when the core no longer holds it.
	 */
	struct slot *cursor = NULL, *spare = frame->cursor_spare;
	if (width > 0 && height > 0) {
		if (spare != NULL && spare->buffer->width == (uint32_t)width &&
		    spare->buffer->height == (uint32_t)height && spare->buffer->n_locks == 0) {
			cursor = spare;
			spare = NULL;
		} else {
			int dev = open_udmabuf();
			errno = 0;
			cursor = slot_create(frame, dev, (uint32_t)width, (uint32_t)height,
					     CURSOR_FORMAT, (uint32_t)width * CURSOR_BPP);
			int err = errno != 0 ? errno : ENOMEM;
			if (dev >= 0)
				close(dev);
			if (cursor == NULL) {
				snprintf(msg, msg_size, "%s: no memory for the cursor: %s", call,
					 strerror(err));
				return -err;
			}
		}
		for (int32_t y = 0; y < height; y++)
			memcpy((uint8_t *)cursor->map + (size_t)y * cursor->stride,
			       (const uint8_t *)data + (size_t)y * (size_t)width * CURSOR_BPP,
			       (size_t)width * CURSOR_BPP);
	}
	slot_drop(spare);
	frame->cursor_spare = frame->cursor;
	frame->cursor = cursor;
	frame->hot_x = hot_x;
	frame->hot_y = hot_y;
	changed(frame);
	return 0;
}

void qemu_frame_mouse_set(struct qemu_frame *frame, int32_t x, int32_t y, int32_t on)
{
	frame->mouse_x = x;
	frame->mouse_y = y;
	frame->cursor_on = on != 0;
	changed(frame);
}

void qemu_frame_get(struct qemu_frame *frame, struct vgpu_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->placement = VGPU_PLACE_SCALED;
	if (frame->kind == QEMU_FRAME_DMABUF && !frame->flipped)
		out->primary = frame->dmabuf;
	else if (frame->kind != QEMU_FRAME_NONE && frame->current >= 0)
		out->primary = frame->ring[frame->current]->buffer;
	/* The cursor is placed in the picture's pixels: no picture (Disable), no cursor. */
	if (out->primary != NULL && frame->cursor != NULL && frame->cursor_on) {
		out->cursor = frame->cursor->buffer;
		out->cursor_x = (int32_t)((int64_t)frame->mouse_x - frame->hot_x);
		out->cursor_y = (int32_t)((int64_t)frame->mouse_y - frame->hot_y);
	}
}

void qemu_frame_get_info(const struct qemu_frame *frame, struct qemu_frame_info *info)
{
	memset(info, 0, sizeof(*info));
	info->enabled = frame->kind != QEMU_FRAME_NONE;
	info->width = frame->width;
	info->height = frame->height;
	info->fourcc = frame->fourcc;
	info->pixman_format = frame->pixman_format;
	info->kind = frame->kind;
	info->flipped = frame->kind == QEMU_FRAME_DMABUF && frame->flipped;
	info->udmabuf = frame->ring[0] != NULL;
	for (int i = 0; i < RING_SIZE && info->udmabuf; i++)
		info->udmabuf = frame->ring[i]->udmabuf;
	info->updates = frame->updates;
	info->dmabuf_fds = frame->dmabuf_fds;
	info->dmabufs = frame->dmabufs;
}
