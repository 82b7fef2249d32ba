// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/vfio.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "kms/output.h"
#include "kms/vblank.h"
#include "util/log.h"
#include "util/percentile.h"
#include "vfio/cache.h"
#include "vfio/device.h"
#include "vfio/edid.h"
#include "vfio/pacer.h"
#include "vfio/source.h"

#define IDLE_POLL_NS       1000000000ull /* shown nowhere: once a second */
#define FALLBACK_PERIOD_NS 16666667ull   /* on, but no vblank known yet */
#define RESYNC_NS          1000000000ull /* how often the timer's phase is read again */
/*
 * A guest screen unchanged for BACKOFF_POLLS polls is polled every second
 * refresh, then every 4th, up to every STRIDE_MAX-th (133 ms at 60 Hz):
 * the first change after a pause may wait that long, later ones are polled
 * at every refresh again.
 */
#define BACKOFF_POLLS 15
#define STRIDE_MAX    8

/* Refusals of one plane are logged as errors at most this often. */
#define REFUSAL_LOG_NS 10000000000ull

/* One guest plane as last seen. */
struct plane_slot {
	struct vfio_device_gfx_plane_info info;
	bool have_info;
	bool unsupported;      /* the device does not have this plane */
	struct buffer *buffer; /* may be NULL: a reference */
	/* The last answer refused, not looked at again while it repeats. */
	struct vfio_device_gfx_plane_info refused_info;
	bool refused;
	uint64_t refusal_logged_ns; /* 0: never */
};

/* Ties a buffer made from the device to the source, which outlives it. */
struct source_buffer {
	struct vfio_source *source;
	struct wl_listener destroy;
};

/* How many shown frames may wait for their flip at once. */
#define PENDING_MAX 4

/* A primary buffer shown and waiting for its flip. */
struct pending_frame {
	const struct buffer *primary; /* compared only */
	uint64_t seen_ns;             /* the poll that saw it */
	uint64_t target_ns;           /* the vblank that poll aimed at, 0: not paced */
};

struct vfio_source {
	struct wl_event_loop *loop;
	struct vfio_display *display;
	enum vfio_source_kind kind;
	struct vfio_source_options options;
	const struct vfio_source_impl *impl;
	void *data;

	struct vfio_cache cache;
	struct plane_slot primary, cursor;

	int timer_fd;
	struct wl_event_source *timer;
	uint64_t next_poll_ns;    /* due time of the next tick */
	uint64_t poll_target_ns;  /* the vblank the next tick aims at, 0: not paced */
	uint64_t tick_ns;         /* the timer's period */
	uint32_t ticks_to_resync; /* ticks until the phase is read again */
	uint32_t stride;          /* refreshes per poll: 1, more while the screen is static */
	uint32_t unchanged_polls; /* polls without a change at this stride */

	struct kms_output *clock;         /* may be NULL */
	struct wl_listener clock_destroy; /* clock's events.destroy */
	/* The guest's region of the clock output (vfio_source_set_region()), 0 x 0: all of it */
	uint32_t region_width, region_height;
	struct pacer pacer;

	/*
	 * The changes waiting for their flip, oldest first, for latency and the
	 * pacer. Several may wait: a poll may see the next frame before the
	 * flip of the last one, and a frame replaced before its commit is
	 * never shown (dropped when a newer one is).
	 */
	struct pending_frame pending[PENDING_MAX];
	size_t n_pending;
	uint64_t poll_start_ns;
	struct wl_event_source *cost_idle; /* may be NULL */
	struct wl_event_source *lost_idle; /* may be NULL: reports the loss */
	char lost_message[256];

	uint8_t edid[128]; /* the last EDID written, edid_size 0: none */
	size_t edid_size;

	bool lost;
	bool dead;        /* destroyed by its user, waiting for its buffers */
	int live_buffers; /* buffers made from the device that still exist */

	struct percentile latency;
	struct vfio_source_stats stats;
};

static void pending_clear(struct vfio_source *source)
{
	source->n_pending = 0;
}

/* A new primary buffer was shown: remember when it was seen, dropping the oldest when full. */
static void pending_add(struct vfio_source *source, const struct buffer *primary)
{
	if (source->n_pending == PENDING_MAX) {
		memmove(&source->pending[0], &source->pending[1],
			(PENDING_MAX - 1) * sizeof(source->pending[0]));
		source->n_pending--;
	}
	source->pending[source->n_pending++] = (struct pending_frame){
		.primary = primary,
		.seen_ns = source->poll_start_ns,
		.target_ns = source->poll_target_ns,
	};
}

/*
 * The newest waiting frame showing primary, taken out with every older one
 * (those were replaced before reaching the screen). Returns false when none
 * shows it.
 */
static bool pending_take(struct vfio_source *source, const struct buffer *primary,
			 struct pending_frame *frame)
{
	for (size_t i = source->n_pending; i-- > 0;) {
		if (source->pending[i].primary != primary)
			continue;
		*frame = source->pending[i];
		memmove(&source->pending[0], &source->pending[i + 1],
			(source->n_pending - i - 1) * sizeof(source->pending[0]));
		source->n_pending -= i + 1;
		return true;
	}
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void source_free(struct vfio_source *source)
{
	vfio_display_destroy(source->display);
	free(source);
}

static void handle_buffer_destroy(struct wl_listener *listener, void *data)
{
	struct source_buffer *sb = wl_container_of(listener, sb, destroy);
	struct vfio_source *source = sb->source;
	wl_list_remove(&sb->destroy.link);
	free(sb);
	source->live_buffers--;
	if (source->dead && source->live_buffers == 0)
		source_free(source);
}

/* Count buffer as made from the device: the device stays open while it lives. */
static int track_buffer(struct vfio_source *source, struct buffer *buffer)
{
	struct source_buffer *sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return -ENOMEM;
	sb->source = source;
	sb->destroy.notify = handle_buffer_destroy;
	wl_signal_add(&buffer->events.destroy, &sb->destroy);
	source->live_buffers++;
	return 0;
}

static void slot_set(struct plane_slot *slot, struct buffer *buffer,
		     const struct vfio_device_gfx_plane_info *info)
{
	buffer_unref(slot->buffer);
	slot->buffer = buffer;
	if (info != NULL) {
		slot->info = *info;
		slot->have_info = true;
	} else {
		slot->have_info = false;
	}
}

static bool same_image(const struct vfio_device_gfx_plane_info *a,
		       const struct vfio_device_gfx_plane_info *b)
{
	return a->drm_format == b->drm_format && a->drm_format_mod == b->drm_format_mod &&
	       a->width == b->width && a->height == b->height && a->stride == b->stride &&
	       a->size == b->size && a->dmabuf_id == b->dmabuf_id;
}

static bool same_position(const struct vfio_device_gfx_plane_info *a,
			  const struct vfio_device_gfx_plane_info *b)
{
	return a->x_pos == b->x_pos && a->y_pos == b->y_pos && a->x_hot == b->x_hot &&
	       a->y_hot == b->y_hot;
}

/*
 * The buffer for a dma-buf plane: from the cache or newly exported. NULL:
 * errno set, the reason in msg.
 */
static struct buffer *dmabuf_buffer(struct vfio_source *source,
				    const struct vfio_device_gfx_plane_info *info, char *msg,
				    size_t msg_size)
{
	struct buffer *buffer = vfio_cache_lookup(&source->cache, info);
	if (buffer != NULL) {
		source->stats.cache_hits++;
		return buffer_ref(buffer);
	}
	buffer = vfio_display_import(source->display, info, msg, msg_size);
	if (buffer == NULL) {
		int err = errno;
		errno = err != 0 ? err : EIO;
		return NULL;
	}
	if (track_buffer(source, buffer) != 0) {
		buffer_unref(buffer);
		snprintf(msg, msg_size, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	source->stats.imports++;
	vfio_cache_insert(&source->cache, info, buffer);
	return buffer;
}

/*
 * A CPU buffer over the mapped region of a region plane (checked with
 * vfio_display_check_plane()). NULL: errno set, the reason in msg.
 */
static struct buffer *region_buffer(struct vfio_source *source,
				    const struct vfio_device_gfx_plane_info *info, char *msg,
				    size_t msg_size)
{
	uint64_t needed = (uint64_t)info->stride * info->height;
	const void *data;
	int ret = vfio_display_map_region(source->display, info->region_index, needed, &data, msg,
					  msg_size);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	struct buffer *buffer =
		buffer_create_cpu(data, info->width, info->height, info->stride, info->drm_format);
	if (buffer == NULL) {
		snprintf(msg, msg_size, "no CPU buffer can be made of it");
		errno = EINVAL;
		return NULL;
	}
	if (track_buffer(source, buffer) != 0) {
		buffer_unref(buffer);
		snprintf(msg, msg_size, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	return buffer;
}

/* Whether a failure to make a plane's buffer says the device's answer was wrong. */
static bool is_refusal(int err)
{
	switch (err) {
	case EINVAL:
	case ENOENT:
	case ENOSPC:
	case EOPNOTSUPP:
	case EOVERFLOW:
	case EPROTO:
		return true;
	default:
		return false;
	}
}

/* The device described the plane with values that make no sense: hide it. */
static void refuse_plane(struct vfio_source *source, struct plane_slot *slot, uint32_t type,
			 const struct vfio_device_gfx_plane_info *info, const char *msg,
			 bool *changed)
{
	bool cursor = type == DRM_PLANE_TYPE_CURSOR;
	uint64_t now = now_ns();
	source->stats.refused_planes++;
	if (slot->refusal_logged_ns == 0 || now - slot->refusal_logged_ns >= REFUSAL_LOG_NS) {
		slot->refusal_logged_ns = now;
		log_error("%s: VFIO device: %s plane refused, %s: %s", source->display->name,
			  cursor ? "cursor" : "primary",
			  cursor ? "no cursor shows" : "the placeholder shows", msg);
	} else {
		log_debug("%s: VFIO device: %s plane refused: %s", source->display->name,
			  cursor ? "cursor" : "primary", msg);
	}
	slot->refused = true;
	slot->refused_info = *info;
	if (slot->buffer != NULL || slot->have_info) {
		slot_set(slot, NULL, NULL);
		*changed = true;
	}
}

/*
 * Query one plane and bring slot up to date. Returns 0 (*changed and
 * *moved tell what happened) or a negative errno.
 */
static int update_plane(struct vfio_source *source, struct plane_slot *slot, uint32_t type,
			bool *changed, bool *moved)
{
	*changed = *moved = false;
	if (slot->unsupported)
		return 0;
	struct vfio_device_gfx_plane_info info;
	int ret = vfio_display_query(source->display, type, &info);
	if (ret == -ENOMEM) {
		/*
		 * mbochs (Linux 6.1) makes the buffer of a new scanout (a mode
		 * set, every pan) but fails the query that made it: asking
		 * again at once saves a whole refresh.
		 */
		source->stats.transient_errors++;
		ret = vfio_display_query(source->display, type, &info);
	}
	if (ret == -EINVAL && type == DRM_PLANE_TYPE_CURSOR) {
		/* Devices without a cursor plane may refuse to be asked for one. */
		slot->unsupported = true;
		if (slot->buffer != NULL) {
			slot_set(slot, NULL, NULL);
			*changed = true;
		}
		return 0;
	}
	if (ret < 0)
		return ret;

	if (info.drm_format == 0 || info.width == 0 || info.height == 0) {
		/* The guest turned the plane off. */
		if (slot->buffer != NULL || slot->have_info) {
			slot_set(slot, NULL, NULL);
			*changed = true;
		}
		return 0;
	}
	if (slot->refused && same_image(&slot->refused_info, &info) &&
	    same_position(&slot->refused_info, &info))
		return 0; /* refused already: the plane stays hidden */
	char msg[256] = "";
	if (vfio_display_check_plane(source->display, type, &info, msg, sizeof(msg)) < 0) {
		refuse_plane(source, slot, type, &info, msg, changed);
		return 0;
	}
	if (source->kind == VFIO_SOURCE_DMABUF && slot->have_info && slot->buffer != NULL &&
	    same_image(&slot->info, &info)) {
		if (!same_position(&slot->info, &info)) {
			slot->info = info;
			*moved = true;
		}
		return 0;
	}
	if (source->kind == VFIO_SOURCE_REGION && slot->have_info && slot->buffer != NULL &&
	    slot->info.drm_format == info.drm_format && slot->info.width == info.width &&
	    slot->info.height == info.height && slot->info.stride == info.stride &&
	    slot->info.region_index == info.region_index) {
		/* The pixels may have changed: shown (copied) again at every poll. */
		*changed = true;
		return 0;
	}

	struct buffer *buffer = source->kind == VFIO_SOURCE_DMABUF
					? dmabuf_buffer(source, &info, msg, sizeof(msg))
					: region_buffer(source, &info, msg, sizeof(msg));
	if (buffer == NULL) {
		int err = errno;
		if (!is_refusal(err)) {
			log_debug("%s: VFIO device: %s", source->display->name, msg);
			return -err;
		}
		refuse_plane(source, slot, type, &info, msg, changed);
		return 0;
	}
	slot->refused = false;
	slot_set(slot, buffer, &info);
	*changed = true;
	return 0;
}

static void handle_lost_idle(void *data)
{
	struct vfio_source *source = data;
	source->lost_idle = NULL;
	/* Last: the user may destroy the source. */
	source->impl->lost(source->data, source->lost_message);
}

/* The device is gone: stop, drop its buffers, tell the user from the loop. */
static void lose(struct vfio_source *source, int err, const char *what)
{
	snprintf(source->lost_message, sizeof(source->lost_message), "%s: %s", what, strerror(err));
	log_warn("%s: VFIO device gone: %s", source->display->name, source->lost_message);
	source->lost = true;
	if (source->timer_fd >= 0) {
		struct itimerspec off = {0};
		timerfd_settime(source->timer_fd, 0, &off, NULL);
	}
	slot_set(&source->primary, NULL, NULL);
	slot_set(&source->cursor, NULL, NULL);
	vfio_cache_finish(&source->cache);
	vfio_cache_init(&source->cache);
	pending_clear(source);
	source->lost_idle = wl_event_loop_add_idle(source->loop, handle_lost_idle, source);
}

static void handle_cost_idle(void *data)
{
	struct vfio_source *source = data;
	source->cost_idle = NULL;
	pacer_add_cost(&source->pacer, now_ns() - source->poll_start_ns);
}

static void emit_frame(struct vfio_source *source, bool primary_changed, bool cursor_changed)
{
	struct vfio_source_frame frame = {
		.primary = source->primary.buffer,
		.cursor = source->cursor.buffer,
		.primary_changed = primary_changed,
		.cursor_changed = cursor_changed,
	};
	if (source->cursor.buffer != NULL) {
		frame.cursor_x = (int32_t)source->cursor.info.x_pos;
		frame.cursor_y = (int32_t)source->cursor.info.y_pos;
	}
	source->impl->frame(source->data, &frame);
}

static void arm_timer(struct vfio_source *source);

static bool clock_is_on(const struct vfio_source *source)
{
	return source->clock != NULL && source->clock->state == KMS_OUTPUT_ON;
}

/* Query the planes and hand changes over. Returns whether anything changed. */
static bool poll_device(struct vfio_source *source)
{
	if (source->lost || source->dead)
		return false;
	/* The timer's due time: the cost measured includes the wakeup. */
	source->poll_start_ns = source->next_poll_ns;
	source->stats.polls++;

	bool primary_changed, primary_moved, cursor_changed = false, cursor_moved = false;
	int ret = update_plane(source, &source->primary, DRM_PLANE_TYPE_PRIMARY, &primary_changed,
			       &primary_moved);
	if (ret == 0 && source->kind == VFIO_SOURCE_DMABUF)
		ret = update_plane(source, &source->cursor, DRM_PLANE_TYPE_CURSOR, &cursor_changed,
				   &cursor_moved);
	if (ret < 0) {
		if (vfio_error_is_fatal(ret)) {
			lose(source, -ret, "querying the guest's planes");
			return false;
		}
		/* Transient: the planes on screen stay, the next poll asks again. */
		source->stats.transient_errors++;
		log_debug("%s: VFIO device: transient failure, retried at the next poll: %s",
			  source->display->name, strerror(-ret));
		return true;
	}

	bool show_primary = primary_changed || primary_moved;
	bool show_cursor = cursor_changed || cursor_moved;
	if (show_primary || show_cursor) {
		source->stats.changes++;
		if (primary_changed && source->primary.buffer != NULL)
			pending_add(source, source->primary.buffer);
		emit_frame(source, show_primary, show_cursor);
		if (source->cost_idle == NULL)
			source->cost_idle =
				wl_event_loop_add_idle(source->loop, handle_cost_idle, source);
	}
	return show_primary || show_cursor;
}

static int handle_timer(int fd, uint32_t mask, void *data)
{
	struct vfio_source *source = data;
	uint64_t expirations = 0;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn_errno("%s: reading the poll timer", source->display->name);
	if (expirations == 0)
		return 0;
	/* The ticks of a periodic timer, late ones included, advance the schedule. */
	uint64_t late = (expirations - 1) * source->tick_ns;
	source->next_poll_ns += late;
	if (source->poll_target_ns != 0)
		source->poll_target_ns += late;
	bool changed = poll_device(source);
	if (source->lost || source->dead)
		return 0;
	source->next_poll_ns += source->tick_ns;
	if (source->poll_target_ns != 0)
		source->poll_target_ns += source->tick_ns;

	/* A static screen is polled less often; any change restores every refresh. */
	bool rearm = --source->ticks_to_resync == 0;
	if (changed) {
		source->unchanged_polls = 0;
		rearm |= source->stride != 1;
		source->stride = 1;
	} else if (++source->unchanged_polls >= BACKOFF_POLLS && source->stride < STRIDE_MAX &&
		   source->options.poll_interval_ms == 0 && clock_is_on(source)) {
		source->unchanged_polls = 0;
		source->stride *= 2;
		rearm = true;
	}
	if (rearm)
		arm_timer(source);
	return 0;
}

/*
 * Start the periodic poll timer: its phase from the clock's last vblank
 * (drmCrtcGetSequence, no vblank event needed), its period the refresh.
 * Predictions drift little, so the phase is read again only about once a
 * second; a poll costs a timer wakeup and the plane queries.
 */
static void arm_timer(struct vfio_source *source)
{
	if (source->lost || source->dead || source->timer_fd < 0)
		return;
	uint64_t now = now_ns();
	uint64_t next, tick;
	source->poll_target_ns = 0;
	if (!clock_is_on(source)) {
		tick = IDLE_POLL_NS;
		next = now + tick;
	} else if (source->options.poll_interval_ms > 0) {
		tick = (uint64_t)source->options.poll_interval_ms * 1000000u;
		next = now + tick;
	} else {
		uint64_t last = 0, period = 0;
		int ret = kms_output_get_last_vblank(source->clock, &last, &period);
		tick = (period != 0 ? period : FALLBACK_PERIOD_NS) * source->stride;
		if (ret < 0 || last == 0 || period == 0) {
			/* No vblank timestamps (virtio-gpu): polls at the refresh rate. */
			next = now + tick;
		} else {
			next = pacer_next_poll(&source->pacer, last, period, now,
					       &source->poll_target_ns);
			if (source->stride > 1)
				source->poll_target_ns = 0; /* idle: nothing to learn from */
			source->stats.margin_us =
				(uint32_t)(pacer_margin(&source->pacer, period) / 1000u);
		}
	}
	source->next_poll_ns = next;
	source->tick_ns = tick;
	source->ticks_to_resync = (uint32_t)((RESYNC_NS + tick - 1) / tick);
	struct itimerspec its = {
		.it_value = {.tv_sec = (time_t)(next / 1000000000u),
			     .tv_nsec = (long)(next % 1000000000u)},
		.it_interval = {.tv_sec = (time_t)(tick / 1000000000u),
				.tv_nsec = (long)(tick % 1000000000u)},
	};
	if (timerfd_settime(source->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_error_errno("%s: arming the poll timer", source->display->name);
}

/*
 * A mode of width x height at the refresh rate of `mode`, replacing it:
 * blanking as small as CVT's reduced blanking (160 pixels, 30 lines), so
 * that a guest takes the region's size as its preferred mode.
 */
static void region_mode(drmModeModeInfo *mode, uint32_t width, uint32_t height)
{
	uint32_t mhz = kms_mode_refresh_mhz(mode);
	if (mhz == 0)
		mhz = 60000;
	width &= ~7u; /* DTDs and guests like whole character cells */
	if (width > 4096)
		width = 4096;
	if (height > 4095 - 30)
		height = 4095 - 30;
	drmModeModeInfo m = {0};
	m.hdisplay = (uint16_t)width;
	m.hsync_start = (uint16_t)(width + 48);
	m.hsync_end = (uint16_t)(width + 80);
	m.htotal = (uint16_t)(width + 160);
	m.vdisplay = (uint16_t)height;
	m.vsync_start = (uint16_t)(height + 3);
	m.vsync_end = (uint16_t)(height + 8);
	m.vtotal = (uint16_t)(height + 30);
	m.clock = (uint32_t)((uint64_t)m.htotal * m.vtotal * mhz / 1000000u);
	m.vrefresh = (mhz + 500) / 1000;
	m.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_NVSYNC;
	snprintf(m.name, sizeof(m.name), "%ux%u", width, height);
	*mode = m;
}

/* Write the EDID describing the clock output (or the guest's region of it), if the device takes
 * one. */
static void write_edid(struct vfio_source *source)
{
	const struct vfio_display *display = source->display;
	if (source->lost || source->options.edid == VFIO_SOURCE_EDID_OFF || !display->has_edid ||
	    !clock_is_on(source))
		return;
	struct kms_output *output = source->clock;
	uint8_t blob[512];
	size_t size = 0;
	const char *what = "generated";
	/* A turned monitor's own EDID describes it unturned: the guest gets its upright mode. */
	enum kms_rotation rotation = output->settings.rotation;
	bool turned = kms_rotation_swaps(rotation);
	uint32_t width, height;
	kms_output_get_size(output, &width, &height);
	/* A region of the output: the guest gets a mode of the region's size. */
	bool region = source->region_width != 0 &&
		      (source->region_width != width || source->region_height != height);

	if (source->options.edid == VFIO_SOURCE_EDID_MONITOR && !turned && !region) {
		uint8_t *monitor = NULL;
		size_t monitor_size = 0;
		drmModeModeInfo preferred;
		if (kms_output_read_edid(output, &monitor, &monitor_size) == 0 &&
		    monitor_size <= sizeof(blob) && monitor_size <= display->edid_max_size &&
		    edid_valid(monitor, monitor_size) &&
		    edid_preferred_mode(monitor, monitor_size, &preferred) == 0 &&
		    (display->max_xres == 0 || preferred.hdisplay <= display->max_xres) &&
		    (display->max_yres == 0 || preferred.vdisplay <= display->max_yres)) {
			memcpy(blob, monitor, monitor_size);
			size = monitor_size;
			what = "the monitor's";
		}
		free(monitor);
	}
	if (size == 0) {
		uint32_t mm[2] = {0, 0};
		kms_output_get_physical_size(output, &mm[0], &mm[1]);
		drmModeModeInfo mode;
		kms_rotation_mode(rotation, &output->mode, &mode);
		uint32_t mm_width = mm[turned], mm_height = mm[!turned];
		if (region) {
			region_mode(&mode, source->region_width, source->region_height);
			mm_width = width > 0
					   ? (uint32_t)((uint64_t)mm_width * mode.hdisplay / width)
					   : 0;
			mm_height =
				height > 0
					? (uint32_t)((uint64_t)mm_height * mode.vdisplay / height)
					: 0;
		}
		if (edid_generate(&mode, mm_width, mm_height, output->name, blob) != 0) {
			log_warn("%s: output %s: mode %s cannot be described in an EDID",
				 display->name, output->name, output->mode.name);
			return;
		}
		size = 128;
	}
	if (size == source->edid_size && memcmp(blob, source->edid, size) == 0)
		return;
	int ret = vfio_display_write_edid(source->display, blob, size);
	if (ret < 0) {
		log_warn("%s: writing the EDID: %s", display->name, strerror(-ret));
		return;
	}
	if (size <= sizeof(source->edid)) {
		memcpy(source->edid, blob, size);
		source->edid_size = size;
	} else {
		source->edid_size = 0;
	}
	if (region)
		log_info("%s: EDID for its %ux%u region of output %s written (generated)",
			 display->name, source->region_width, source->region_height, output->name);
	else
		log_info("%s: EDID for output %s written (%s, %ux%u)", display->name, output->name,
			 what, output->mode.hdisplay, output->mode.vdisplay);
}

static void handle_clock_destroy(struct wl_listener *listener, void *data)
{
	struct vfio_source *source = wl_container_of(listener, source, clock_destroy);
	vfio_source_set_clock(source, NULL);
}

struct vfio_source *vfio_source_create(struct wl_event_loop *loop, int fd,
				       const struct vfio_source_options *options,
				       const struct vfio_source_impl *impl, void *data, char *msg,
				       size_t msg_size)
{
	struct vfio_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		close(fd);
		snprintf(msg, msg_size, "out of memory");
		return NULL;
	}
	source->loop = loop;
	source->options = *options;
	source->impl = impl;
	source->data = data;
	source->timer_fd = -1;
	wl_list_init(&source->clock_destroy.link);
	vfio_cache_init(&source->cache);
	pacer_init(&source->pacer);
	source->stride = 1;
	percentile_init(&source->latency);

	source->display = vfio_display_open(fd, options->name, msg, msg_size);
	if (source->display == NULL)
		goto error_source;
	source->kind = source->display->kind == VFIO_DISPLAY_REGION ? VFIO_SOURCE_REGION
								    : VFIO_SOURCE_DMABUF;

	source->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (source->timer_fd < 0) {
		snprintf(msg, msg_size, "timerfd_create: %s", strerror(errno));
		goto error_source;
	}
	source->timer = wl_event_loop_add_fd(loop, source->timer_fd, WL_EVENT_READABLE,
					     handle_timer, source);
	if (source->timer == NULL) {
		snprintf(msg, msg_size, "cannot watch the poll timer");
		goto error_source;
	}
	arm_timer(source);
	return source;

error_source:
	if (source->timer_fd >= 0)
		close(source->timer_fd);
	vfio_display_destroy(source->display);
	free(source);
	return NULL;
}

void vfio_source_destroy(struct vfio_source *source)
{
	if (source == NULL)
		return;
	source->dead = true; /* no more polls, from here on */
	vfio_source_set_clock(source, NULL);
	if (source->cost_idle != NULL)
		wl_event_source_remove(source->cost_idle);
	if (source->lost_idle != NULL)
		wl_event_source_remove(source->lost_idle);
	source->cost_idle = source->lost_idle = NULL;
	if (source->timer != NULL)
		wl_event_source_remove(source->timer);
	if (source->timer_fd >= 0)
		close(source->timer_fd);
	source->timer = NULL;
	source->timer_fd = -1;
	/* Dropping the buffers may free some: the source must outlive that. */
	source->live_buffers++;
	slot_set(&source->primary, NULL, NULL);
	slot_set(&source->cursor, NULL, NULL);
	vfio_cache_finish(&source->cache);
	/* Buffers still on screen keep the device open until they are gone. */
	if (--source->live_buffers == 0)
		source_free(source);
}

enum vfio_source_kind vfio_source_get_kind(const struct vfio_source *source)
{
	return source->kind;
}

void vfio_source_set_clock(struct vfio_source *source, struct kms_output *output)
{
	if (source->clock == output)
		return;
	wl_list_remove(&source->clock_destroy.link);
	wl_list_init(&source->clock_destroy.link);
	source->clock = output;
	pending_clear(source);
	if (output != NULL) {
		source->clock_destroy.notify = handle_clock_destroy;
		wl_signal_add(&output->events.destroy, &source->clock_destroy);
		write_edid(source);
	}
	if (!source->dead && !source->lost) {
		source->next_poll_ns = now_ns();
		source->poll_target_ns = 0;
		poll_device(source);
		arm_timer(source);
	}
}

void vfio_source_set_region(struct vfio_source *source, uint32_t width, uint32_t height)
{
	if (source->region_width == width && source->region_height == height)
		return;
	source->region_width = width;
	source->region_height = height;
	write_edid(source);
}

void vfio_source_output_changed(struct vfio_source *source)
{
	write_edid(source);
	if (!source->dead && !source->lost)
		arm_timer(source);
}

void vfio_source_presented(struct vfio_source *source, const struct buffer *primary,
			   uint64_t time_ns)
{
	struct pending_frame frame;
	if (primary == NULL || !pending_take(source, primary, &frame))
		return;
	source->stats.frames_presented++;
	/* A flip time before the poll that saw the frame: shown at once. */
	percentile_add(&source->latency,
		       time_ns > frame.seen_ns ? (uint32_t)((time_ns - frame.seen_ns) / 1000u) : 0);
	uint64_t last, period;
	if (frame.target_ns != 0 && source->clock != NULL) {
		kms_output_get_last_vblank(source->clock, &last, &period);
		if (period != 0 &&
		    !pacer_add_flip(&source->pacer, frame.target_ns, time_ns, period))
			source->stats.late_frames++;
	}
}

void vfio_source_poll_now(struct vfio_source *source)
{
	/* Timed from now; the timer's schedule stays as it was. */
	uint64_t next = source->next_poll_ns, target = source->poll_target_ns;
	source->next_poll_ns = now_ns();
	source->poll_target_ns = 0;
	poll_device(source);
	source->next_poll_ns = next;
	source->poll_target_ns = target;
}

void vfio_source_get_stats(const struct vfio_source *source, struct vfio_source_stats *stats)
{
	*stats = source->stats;
	stats->poll_stride = source->stride;
	stats->latency_p50_us = percentile_get(&source->latency, 50);
	stats->latency_p99_us = percentile_get(&source->latency, 99);
}
