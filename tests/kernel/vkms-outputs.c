// SPDX-License-Identifier: MIT
/*
 * vkms-outputs: prove the test bed's vkms with two outputs on one card
 * (vkms num_outputs=2, tests/vm/patches/vkms-2-outputs.patch) whose overlay
 * planes are shared by both CRTCs.
 *
 * The card must have two CRTCs, Virtual-1 and Virtual-2 each on its own
 * CRTC, a writeback connector per CRTC, a primary and a cursor plane per
 * CRTC, and overlays that list both CRTCs in possible_crtcs, listed (and so
 * composed) after every primary and before every cursor. Then, each step
 * checked on the pixels both writeback connectors capture:
 *
 *   1. both outputs lit in one commit, the overlay on the first: one
 *      page-flip event per CRTC;
 *   2. the overlay moved to the second CRTC, under that CRTC's cursor: off
 *      in one commit, on in the next, as the kernel refuses a direct switch
 *      (the kernel's state names the new CRTC);
 *   3. flips on both CRTCs pending at once, each event on its own CRTC;
 *   4. vblank events queued on each CRTC arrive on their own, a frame apart;
 *   5. one output turned off while the other keeps its vblanks and picture,
 *      then the other way round, then both off and both on in one commit.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"

#define N_OUTPUTS   2
#define N_OVERLAYS  8 /* the module's default num_overlays */
#define TIMEOUT_MS  5000
#define CURSOR_SIZE 64

struct output {
	struct kt_pipe pipe;
	struct kt_buffer primary[2]; /* flipped between */
	unsigned int shown;          /* index into primary of the buffer on screen */
	struct kt_buffer out;        /* writeback target */
};

/* What is on screen besides the primaries. */
struct scene {
	uint32_t overlay_id; /* the shared overlay plane */
	int overlay_on;      /* CRTC index the overlay is on, -1 for none */
	uint32_t ox, oy;     /* its position */
	bool cursor_on[N_OUTPUTS];
	uint32_t cx, cy; /* every shown cursor's position */
	struct kt_buffer overlay, cursor;
};

/* Events seen so far, per CRTC index. */
static struct {
	uint32_t crtc_ids[N_OUTPUTS];
	unsigned int flips[N_OUTPUTS];
	unsigned int vblanks[N_OUTPUTS];
	uint64_t vblank_seq[N_OUTPUTS];
	uint64_t vblank_ns[N_OUTPUTS];
} ev;

static uint64_t frame_ns;

static void flip_handler(int fd, unsigned int sequence, unsigned int tv_sec, unsigned int tv_usec,
			 unsigned int crtc_id, void *user_data)
{
	unsigned int i = 0;

	(void)fd;
	(void)sequence;
	(void)tv_sec;
	(void)tv_usec;
	(void)user_data;
	while (i < N_OUTPUTS && ev.crtc_ids[i] != crtc_id)
		i++;
	kt_assertf(i < N_OUTPUTS, "page-flip event for unknown CRTC %u", crtc_id);
	ev.flips[i]++;
}

static void sequence_handler(int fd, uint64_t sequence, uint64_t ns, uint64_t user_data)
{
	(void)fd;
	kt_assertf(user_data < N_OUTPUTS, "vblank event with user data %" PRIu64, user_data);
	ev.vblanks[user_data]++;
	ev.vblank_seq[user_data] = sequence;
	ev.vblank_ns[user_data] = ns;
}

/*
 * Dispatch events until each CRTC has seen the given totals of page-flip
 * and vblank events, then check that no CRTC has seen more.
 */
static void wait_events(struct kt_device *dev, const unsigned int flips[N_OUTPUTS],
			const unsigned int vblanks[N_OUTPUTS])
{
	drmEventContext ctx = {
		.version = 4,
		.page_flip_handler2 = flip_handler,
		.sequence_handler = sequence_handler,
	};
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	struct pollfd pfd = {.fd = dev->fd, .events = POLLIN};

	for (;;) {
		bool done = true;
		uint64_t now = kt_now_ns();

		for (unsigned int i = 0; i < N_OUTPUTS; i++)
			done = done && ev.flips[i] >= flips[i] && ev.vblanks[i] >= vblanks[i];
		if (done)
			break;
		kt_assertf(now < deadline,
			   "events missing: flips %u/%u and %u/%u, vblanks %u/%u and %u/%u",
			   ev.flips[0], flips[0], ev.flips[1], flips[1], ev.vblanks[0], vblanks[0],
			   ev.vblanks[1], vblanks[1]);
		int n = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		kt_assert_errno(n >= 0 || errno == EINTR);
		if (n > 0)
			kt_assert_errno(drmHandleEvent(dev->fd, &ctx) == 0);
	}
	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		kt_assertf(ev.flips[i] == flips[i], "CRTC %u: %u page-flip events, expected %u", i,
			   ev.flips[i], flips[i]);
		kt_assertf(ev.vblanks[i] == vblanks[i], "CRTC %u: %u vblank events, expected %u", i,
			   ev.vblanks[i], vblanks[i]);
	}
}

/* Wait for page-flip events alone: no vblank event may come meanwhile. */
static void wait_flips(struct kt_device *dev, const unsigned int flips[N_OUTPUTS])
{
	unsigned int vblanks[N_OUTPUTS];

	memcpy(vblanks, ev.vblanks, sizeof(vblanks));
	wait_events(dev, flips, vblanks);
}

/* Bitmask of CRTC indices the encoders of conn can drive. */
static uint32_t connector_crtcs(struct kt_device *dev, const drmModeConnector *conn)
{
	uint32_t mask = 0;

	for (int i = 0; i < conn->count_encoders; i++) {
		drmModeEncoder *enc = drmModeGetEncoder(dev->fd, conn->encoders[i]);

		kt_assert(enc);
		mask |= enc->possible_crtcs;
		drmModeFreeEncoder(enc);
	}
	return mask;
}

static bool one_bit(uint32_t mask)
{
	return mask && !(mask & (mask - 1));
}

/* The connectors: Virtual-N and a writeback connector on CRTC N - 1. */
static void find_connectors(struct kt_device *dev, const drmModeRes *res, struct output *outs)
{
	for (int c = 0; c < res->count_connectors; c++) {
		drmModeConnector *conn = drmModeGetConnector(dev->fd, res->connectors[c]);
		uint32_t crtcs;
		unsigned int i;

		kt_assert(conn);
		crtcs = connector_crtcs(dev, conn);
		kt_assertf(one_bit(crtcs), "connector %" PRIu32 " can use CRTCs 0x%" PRIx32,
			   conn->connector_id, crtcs);
		i = (unsigned int)__builtin_ctz(crtcs);
		kt_assert(i < N_OUTPUTS);
		if (conn->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			kt_assertf(!outs[i].pipe.writeback_id,
				   "two writeback connectors on CRTC %u", i);
			outs[i].pipe.writeback_id = conn->connector_id;
		} else {
			struct kt_pipe *p = &outs[i].pipe;

			kt_assert(conn->connector_type == DRM_MODE_CONNECTOR_VIRTUAL);
			kt_assertf(conn->connector_type_id == i + 1,
				   "Virtual-%" PRIu32 " drives CRTC %u", conn->connector_type_id,
				   i);
			kt_assert(!p->connector_id);
			kt_assert(conn->connection == DRM_MODE_CONNECTED && conn->count_modes > 0);
			p->connector_id = conn->connector_id;
			p->mode = conn->modes[0];
			for (int m = 0; m < conn->count_modes; m++) {
				if (conn->modes[m].type & DRM_MODE_TYPE_PREFERRED) {
					p->mode = conn->modes[m];
					break;
				}
			}
		}
		drmModeFreeConnector(conn);
	}
	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		kt_assertf(outs[i].pipe.connector_id, "no Virtual-%u connector", i + 1);
		kt_assertf(outs[i].pipe.writeback_id, "no writeback connector on CRTC %u", i);
	}
}

/*
 * The planes: a primary and a cursor of its own per CRTC, N_OVERLAYS shared
 * overlays, in the order primaries, overlays, cursors. Returns the first
 * overlay.
 */
static uint32_t find_planes(struct kt_device *dev, struct output *outs)
{
	drmModePlaneRes *planes = drmModeGetPlaneResources(dev->fd);
	uint64_t last_type = DRM_PLANE_TYPE_PRIMARY;
	uint32_t overlay = 0;
	unsigned int n_overlays = 0;

	kt_assert(planes);
	for (uint32_t p = 0; p < planes->count_planes; p++) {
		drmModePlane *plane = drmModeGetPlane(dev->fd, planes->planes[p]);
		uint64_t type;
		unsigned int i;
		/* Composition order: primary (1), overlay (0), cursor (2). */
		static const int rank[] = {1, 0, 2};

		kt_assert(plane);
		kt_assert_ok(
			kt_prop_get(dev, plane->plane_id, DRM_MODE_OBJECT_PLANE, "type", &type));
		kt_assert(type <= DRM_PLANE_TYPE_CURSOR);
		kt_log("plane %" PRIu32 ": %s, possible_crtcs 0x%" PRIx32, plane->plane_id,
		       type == DRM_PLANE_TYPE_PRIMARY  ? "primary"
		       : type == DRM_PLANE_TYPE_CURSOR ? "cursor"
						       : "overlay",
		       plane->possible_crtcs);
		kt_assertf(rank[type] >= rank[last_type],
			   "plane %" PRIu32 " is listed out of composition order", plane->plane_id);
		last_type = type;
		if (type == DRM_PLANE_TYPE_OVERLAY) {
			kt_assertf(plane->possible_crtcs == (1u << N_OUTPUTS) - 1,
				   "overlay %" PRIu32 " can use CRTCs 0x%" PRIx32 ", not all",
				   plane->plane_id, plane->possible_crtcs);
			if (!overlay)
				overlay = plane->plane_id;
			n_overlays++;
		} else {
			kt_assertf(one_bit(plane->possible_crtcs),
				   "plane %" PRIu32 " can use CRTCs 0x%" PRIx32, plane->plane_id,
				   plane->possible_crtcs);
			i = (unsigned int)__builtin_ctz(plane->possible_crtcs);
			kt_assert(i < N_OUTPUTS);
			uint32_t *slot = type == DRM_PLANE_TYPE_PRIMARY ? &outs[i].pipe.primary_id
									: &outs[i].pipe.cursor_id;
			kt_assertf(!*slot, "CRTC %u has two planes of type %" PRIu64, i, type);
			*slot = plane->plane_id;
		}
		drmModeFreePlane(plane);
	}
	drmModeFreePlaneResources(planes);
	kt_assertf(n_overlays == N_OVERLAYS, "%u overlays, expected %u", n_overlays, N_OVERLAYS);
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		kt_assertf(outs[i].pipe.primary_id && outs[i].pipe.cursor_id,
			   "CRTC %u lacks a primary or a cursor plane", i);
	return overlay;
}

/* The CRTC the kernel's atomic state (debugfs) shows plane_id on. */
static void state_plane_crtc(struct kt_device *dev, uint32_t plane_id, char *crtc, size_t size)
{
	unsigned int minor;
	char path[96], line[256], header[32];
	bool in_plane = false;
	FILE *f;

	kt_assert(sscanf(strrchr(dev->path, '/'), "/card%u", &minor) == 1);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/state", minor);
	f = fopen(path, "re");
	kt_assertf(f, "%s: %s", path, strerror(errno));
	snprintf(header, sizeof(header), "plane[%" PRIu32 "]:", plane_id);
	snprintf(crtc, size, "(plane not found)");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] != '\t') {
			in_plane = strncmp(line, header, strlen(header)) == 0;
		} else if (in_plane && strncmp(line, "\tcrtc=", 6) == 0) {
			size_t n = strcspn(line + 6, "\n");

			n = n < size ? n : size - 1;
			memcpy(crtc, line + 6, n);
			crtc[n] = '\0';
			break;
		}
	}
	fclose(f);
}

static void expect_state_crtc(struct kt_device *dev, uint32_t plane_id, const char *want)
{
	char got[64];

	state_plane_crtc(dev, plane_id, got, sizeof(got));
	kt_assertf(strcmp(got, want) == 0,
		   "plane %" PRIu32 " is on %s in the kernel's state, not %s", plane_id, got, want);
}

static void copy_rect(struct kt_image *dst, const struct kt_image *src, uint32_t x0, uint32_t y0)
{
	for (uint32_t y = 0; y < src->height && y0 + y < dst->height; y++)
		for (uint32_t x = 0; x < src->width && x0 + x < dst->width; x++)
			*kt_pixel(dst, x0 + x, y0 + y) = *kt_pixel(src, x, y);
}

/*
 * Capture output i and compare it with its primary, the overlay and its
 * cursor composed in that order (all opaque: composing is copying).
 */
static uint64_t check_output(struct kt_device *dev, struct output *outs, unsigned int i,
			     const struct scene *s, const char *step)
{
	struct output *o = &outs[i];
	struct kt_image want;
	char what[64];
	uint64_t differ;

	kt_assert_ok(kt_image_alloc(&want, o->pipe.mode.hdisplay, o->pipe.mode.vdisplay,
				    DRM_FORMAT_XRGB8888));
	copy_rect(&want, &o->primary[o->shown].img, 0, 0);
	if (s->overlay_on == (int)i)
		copy_rect(&want, &s->overlay.img, s->ox, s->oy);
	if (s->cursor_on[i])
		copy_rect(&want, &s->cursor.img, s->cx, s->cy);

	kt_fill_rect(&o->out.img, 0, 0, want.width, want.height, 0);
	kt_check_capture_status(kt_capture(dev, &o->pipe, &o->out, TIMEOUT_MS));
	snprintf(what, sizeof(what), "%s-output%u", step, i + 1);
	differ = kt_compare(&o->out.img, &want, 0x00ffffff, what);
	kt_image_free(&want);
	return differ;
}

static void add_primary(struct kt_atomic *a, struct output *o)
{
	const struct kt_buffer *b = &o->primary[o->shown];

	kt_atomic_add_plane(a, o->pipe.primary_id, o->pipe.crtc_id, b->fb_id, b->img.width,
			    b->img.height, 0, 0);
}

static void add_overlay(struct kt_atomic *a, struct output *outs, const struct scene *s)
{
	if (s->overlay_on < 0) {
		kt_atomic_disable_plane(a, s->overlay_id);
		return;
	}
	kt_atomic_add_plane(a, s->overlay_id, outs[s->overlay_on].pipe.crtc_id, s->overlay.fb_id,
			    s->overlay.img.width, s->overlay.img.height, (int32_t)s->ox,
			    (int32_t)s->oy);
}

static void add_cursor(struct kt_atomic *a, struct output *o, unsigned int i, const struct scene *s)
{
	if (!s->cursor_on[i]) {
		kt_atomic_disable_plane(a, o->pipe.cursor_id);
		return;
	}
	kt_atomic_add_plane(a, o->pipe.cursor_id, o->pipe.crtc_id, s->cursor.fb_id, CURSOR_SIZE,
			    CURSOR_SIZE, (int32_t)s->cx, (int32_t)s->cy);
}

/* Light output i with its planes as the scene says. */
static void add_on(struct kt_atomic *a, struct kt_device *dev, struct output *outs, unsigned int i,
		   const struct scene *s)
{
	kt_atomic_add_modeset(a, dev, &outs[i].pipe);
	add_primary(a, &outs[i]);
	add_cursor(a, &outs[i], i, s);
}

/*
 * Turn output i off: its connector, its writeback connector (left on the
 * CRTC by the last capture), its mode and its own planes detached.
 */
static void add_off(struct kt_atomic *a, struct output *o)
{
	kt_atomic_add(a, o->pipe.connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	kt_atomic_add(a, o->pipe.writeback_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	kt_atomic_add(a, o->pipe.crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	kt_atomic_add(a, o->pipe.crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
	kt_atomic_disable_plane(a, o->pipe.primary_id);
	kt_atomic_disable_plane(a, o->pipe.cursor_id);
}

static void commit(struct kt_atomic *a, uint32_t flags)
{
	kt_assert_ok(kt_atomic_commit(a, flags, NULL));
	kt_atomic_finish(a);
}

/*
 * Queue one vblank event on each CRTC in mask, rounds times in a row, and
 * check each arrives with the sequence it was queued for, the timestamps a
 * whole number of frames apart; CRTCs outside mask must refuse the request
 * (they are off).
 */
static void check_vblanks(struct kt_device *dev, uint32_t mask, unsigned int rounds)
{
	unsigned int want_flips[N_OUTPUTS], want_vblanks[N_OUTPUTS];
	uint64_t queued[N_OUTPUTS], first_seq[N_OUTPUTS], first_ns[N_OUTPUTS];

	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		want_flips[i] = ev.flips[i];
		want_vblanks[i] = ev.vblanks[i];
		if (!(mask & (1u << i))) {
			int ret =
				drmCrtcQueueSequence(dev->fd, ev.crtc_ids[i],
						     DRM_CRTC_SEQUENCE_RELATIVE, 1, &queued[i], i);
			kt_assertf(ret < 0 && errno == EINVAL,
				   "a vblank event on CRTC %u, which is off: %d (errno %d)", i, ret,
				   errno);
		}
	}
	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < N_OUTPUTS; i++) {
			if (!(mask & (1u << i)))
				continue;
			kt_assert_ok(drmCrtcQueueSequence(dev->fd, ev.crtc_ids[i],
							  DRM_CRTC_SEQUENCE_RELATIVE, 1, &queued[i],
							  i));
			want_vblanks[i]++;
		}
		wait_events(dev, want_flips, want_vblanks);
		for (unsigned int i = 0; i < N_OUTPUTS; i++) {
			if (!(mask & (1u << i)))
				continue;
			kt_assertf(ev.vblank_seq[i] == queued[i],
				   "CRTC %u: vblank event for sequence %" PRIu64
				   ", queued %" PRIu64,
				   i, ev.vblank_seq[i], queued[i]);
			if (r == 0) {
				first_seq[i] = ev.vblank_seq[i];
				first_ns[i] = ev.vblank_ns[i];
			}
		}
	}
	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		if (!(mask & (1u << i)))
			continue;
		uint64_t frames = ev.vblank_seq[i] - first_seq[i];
		uint64_t ns = ev.vblank_ns[i] - first_ns[i];

		kt_assertf(frames >= rounds - 1, "CRTC %u: %" PRIu64 " vblanks in %u rounds", i,
			   frames, rounds);
		/* The timer's period is exact; allow for the clock's rounding. */
		kt_assertf(ns + 1000 * frames >= frames * frame_ns &&
				   ns <= frames * frame_ns + 1000 * frames,
			   "CRTC %u: %" PRIu64 " vblanks took %" PRIu64 " ns, expected %" PRIu64
			   " each",
			   i, frames, ns, frame_ns);
		kt_log("CRTC %u: %" PRIu64 " vblanks %.3f ms apart", i, frames,
		       (double)ns / (double)frames / 1e6);
	}
}

int main(void)
{
	struct output outs[N_OUTPUTS] = {0};
	struct scene s = {.overlay_on = -1};
	unsigned int flips[N_OUTPUTS] = {0};
	struct kt_device dev;
	struct kt_atomic a;
	drmModeRes *res;
	uint64_t differ = 0;
	uint32_t w, h;

	kt_device_open_or_skip(&dev, "vkms");
	res = drmModeGetResources(dev.fd);
	kt_assert(res);
	kt_assertf(res->count_crtcs == N_OUTPUTS, "vkms has %d CRTCs (num_outputs=%d?)",
		   res->count_crtcs, N_OUTPUTS);
	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		outs[i].pipe.crtc_index = i;
		outs[i].pipe.crtc_id = res->crtcs[i];
		ev.crtc_ids[i] = res->crtcs[i];
	}
	find_connectors(&dev, res, outs);
	drmModeFreeResources(res);
	s.overlay_id = find_planes(&dev, outs);
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		kt_log("output %u: connector %" PRIu32 ", CRTC %" PRIu32 ", primary %" PRIu32
		       ", cursor %" PRIu32 ", writeback %" PRIu32 ", mode %s",
		       i + 1, outs[i].pipe.connector_id, outs[i].pipe.crtc_id,
		       outs[i].pipe.primary_id, outs[i].pipe.cursor_id, outs[i].pipe.writeback_id,
		       outs[i].pipe.mode.name);

	w = outs[0].pipe.mode.hdisplay;
	h = outs[0].pipe.mode.vdisplay;
	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		kt_assert(outs[i].pipe.mode.hdisplay == w && outs[i].pipe.mode.vdisplay == h);
		for (unsigned int b = 0; b < 2; b++) {
			kt_assert_ok(kt_dumb_create(&dev, &outs[i].primary[b], w, h,
						    DRM_FORMAT_XRGB8888));
			kt_fill_pattern(&outs[i].primary[b].img, 0x100u * (i + 1) + b);
		}
		kt_assert_ok(kt_dumb_create(&dev, &outs[i].out, w, h, DRM_FORMAT_XRGB8888));
	}
	kt_assert_ok(kt_dumb_create(&dev, &s.overlay, w / 4, h / 4, DRM_FORMAT_ARGB8888));
	kt_fill_pattern(&s.overlay.img, 0x0e);
	kt_assert_ok(
		kt_dumb_create(&dev, &s.cursor, CURSOR_SIZE, CURSOR_SIZE, DRM_FORMAT_ARGB8888));
	kt_fill_pattern(&s.cursor.img, 0xc0);
	{
		const drmModeModeInfo *m = &outs[0].pipe.mode;

		frame_ns = (uint64_t)m->htotal * m->vtotal * 1000000u / m->clock;
	}

	/* 1. Both outputs lit in one commit, the overlay on the first. */
	s.overlay_on = 0;
	s.ox = w / 10 + 1;
	s.oy = h / 10 + 3;
	kt_atomic_init(&a, &dev);
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		add_on(&a, &dev, outs, i, &s);
	add_overlay(&a, outs, &s);
	commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_PAGE_FLIP_EVENT);
	flips[0]++;
	flips[1]++;
	wait_flips(&dev, flips);
	expect_state_crtc(&dev, s.overlay_id, "crtc-0");
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		differ += check_output(&dev, outs, i, &s, "lit");
	kt_log("1. both outputs lit, the overlay on the first");

	/*
	 * 2. The overlay moved to the second CRTC, where the cursor covers a
	 * corner of it. The kernel refuses to switch a plane's CRTC in one
	 * commit: it goes off in one (an event on the first CRTC only) and on
	 * in the next (an event on the second only).
	 */
	s.overlay_on = 1;
	s.ox = w / 2 + 13;
	s.oy = h / 2 + 7;
	s.cursor_on[1] = true;
	s.cx = s.ox + s.overlay.img.width - CURSOR_SIZE / 2;
	s.cy = s.oy - CURSOR_SIZE / 2;
	kt_atomic_init(&a, &dev);
	add_overlay(&a, outs, &s);
	kt_assertf(kt_atomic_commit(&a, DRM_MODE_ATOMIC_TEST_ONLY, NULL) == -EINVAL,
		   "the kernel switched a plane's CRTC in one commit");
	kt_atomic_finish(&a);

	kt_atomic_init(&a, &dev);
	kt_atomic_disable_plane(&a, s.overlay_id);
	commit(&a, DRM_MODE_PAGE_FLIP_EVENT);
	flips[0]++;
	wait_flips(&dev, flips);
	expect_state_crtc(&dev, s.overlay_id, "(null)");

	kt_atomic_init(&a, &dev);
	add_overlay(&a, outs, &s);
	add_cursor(&a, &outs[1], 1, &s);
	commit(&a, DRM_MODE_PAGE_FLIP_EVENT);
	flips[1]++;
	wait_flips(&dev, flips);
	expect_state_crtc(&dev, s.overlay_id, "crtc-1");
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		differ += check_output(&dev, outs, i, &s, "moved");
	kt_log("2. the overlay moved to the second CRTC, under its cursor");

	/* 3. Flips on both CRTCs pending at once, three rounds. */
	for (unsigned int r = 0; r < 3; r++) {
		for (unsigned int i = 0; i < N_OUTPUTS; i++) {
			outs[i].shown ^= 1;
			kt_atomic_init(&a, &dev);
			add_primary(&a, &outs[i]);
			commit(&a, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT);
			flips[i]++;
		}
		wait_flips(&dev, flips);
	}
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		differ += check_output(&dev, outs, i, &s, "flipped");
	kt_log("3. flips on both CRTCs pending at once");

	/* 4. Vblank events on each CRTC. */
	check_vblanks(&dev, 0x3, 4);
	kt_log("4. vblank events on each CRTC");

	/* 5. One output off, then the other, then both off and both on. */
	kt_atomic_init(&a, &dev);
	add_off(&a, &outs[0]);
	commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET);
	check_vblanks(&dev, 0x2, 3);
	differ += check_output(&dev, outs, 1, &s, "first-off");

	kt_atomic_init(&a, &dev);
	add_on(&a, &dev, outs, 0, &s);
	add_off(&a, &outs[1]);
	s.overlay_on = -1; /* off with the second output */
	add_overlay(&a, outs, &s);
	commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET);
	check_vblanks(&dev, 0x1, 3);
	differ += check_output(&dev, outs, 0, &s, "second-off");

	kt_atomic_init(&a, &dev);
	add_off(&a, &outs[0]);
	commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET);
	check_vblanks(&dev, 0x0, 0);

	/* Both on, the overlay back on the first output. */
	s.overlay_on = 0;
	s.cursor_on[0] = true;
	kt_atomic_init(&a, &dev);
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		add_on(&a, &dev, outs, i, &s);
	add_overlay(&a, outs, &s);
	commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_PAGE_FLIP_EVENT);
	flips[0]++;
	flips[1]++;
	wait_flips(&dev, flips);
	check_vblanks(&dev, 0x3, 2);
	for (unsigned int i = 0; i < N_OUTPUTS; i++)
		differ += check_output(&dev, outs, i, &s, "relit");
	kt_log("5. outputs turned off and on, each and both");

	kt_assertf(differ == 0, "%" PRIu64 " pixels differ from the expected composition", differ);

	for (unsigned int i = 0; i < N_OUTPUTS; i++) {
		kt_buffer_destroy(&dev, &outs[i].out);
		for (unsigned int b = 0; b < 2; b++)
			kt_buffer_destroy(&dev, &outs[i].primary[b]);
		kt_pipe_finish(&dev, &outs[i].pipe);
	}
	kt_buffer_destroy(&dev, &s.cursor);
	kt_buffer_destroy(&dev, &s.overlay);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
