// SPDX-License-Identifier: MIT
/*
 * vscanout-sim-vmm: a reference VMM for vscanoutd, in one of two modes.
 *
 * Guest RAM (the default): its "guest" draws into framebuffers in guest
 * RAM (a memfd), which are handed to vscanoutd as udmabuf dma-bufs and
 * flipped with the vscanout-v1 protocol, paced by the vGPU's vblank
 * ticks fd. A buffer is drawn into only while vscanoutd does not hold it
 * (between its release event and the next commit using it).
 *
 * VFIO (--vfio-mdev UUID): it opens a mediated vGPU's VFIO device as a VMM
 * does (mdev.h) and hands it to vscanoutd with set_vfio_device; vscanoutd
 * then reads the guest's planes itself and nothing is committed. With
 * --guest it also plays the guest's bochs display driver (bochs.h): a mode
 * set, then an animation drawn into VRAM and flipped by panning, one frame
 * per vblank of the ticks fd (or per tick of a timer). Before it exits it
 * releases the device and waits until vscanoutd has let go of it.
 */
#include <ctype.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>

#include "bochs.h"
#include "draw.h"
#include "guest.h"
#include "mdev.h"
#include "stats.h"
#include "vscanout-v1-client-protocol.h"
#include "vscanout-vblank.h"

#define PROGRAM     "vscanout-sim-vmm"
#define MAX_BUFFERS 4
/* Commits remembered until answered; the protocol allows at most two outstanding. */
#define COMMIT_RING 64

enum pace {
	PACE_VBLANK, /* one frame per vblank of the vGPU's vblank ticks fd */
	PACE_TIMER,  /* one frame per tick of a timer at the output's refresh rate */
	PACE_FREE,   /* whenever a buffer is free */
};

static const char *const pace_names[] = {
	[PACE_VBLANK] = "vblank",
	[PACE_TIMER] = "timer",
	[PACE_FREE] = "free",
};

/* Where a VFIO device handed to vscanoutd stands. */
enum vfio_state {
	VFIO_NONE,      /* none handed over */
	VFIO_WAITING,   /* set_vfio_device sent, no answer yet */
	VFIO_ACTIVE,    /* the vGPU's source */
	VFIO_RELEASING, /* release_vfio_device sent */
	VFIO_GONE,      /* released, refused or lost: vscanoutd holds nothing */
};

struct options {
	const char *socket_path; /* NULL: the daemon's default */
	const char *vgpu;
	uint32_t width, height; /* 0: the output's mode */
	unsigned int buffers;
	uint64_t frames; /* 0: until --seconds or a signal */
	double seconds;  /* 0: until --frames or a signal */
	enum pace pace;
	bool cursor;
	bool still;
	uint32_t seed;
	uint32_t pattern;
	const char *vfio_mdev; /* may be NULL: guest RAM mode */
	bool guest;            /* with vfio_mdev: play the guest's display driver */
	bool trace;
};

struct sim_buffer {
	struct sim *sim;
	struct vscanout_buffer_v1 *proxy;
	struct draw_target target;
	size_t offset, size;
	bool busy; /* held by vscanoutd: committed and not yet released */
};

struct sim_commit {
	uint32_t serial;
	uint64_t time_ns;
	bool outstanding;
};

struct sim {
	struct options opt;
	struct guest_ram ram;

	struct wl_display *display;
	struct wl_registry *registry;
	struct vscanout_manager_v1 *manager;
	struct vscanout_vgpu_v1 *vgpu;

	/* The first (clock) output, from the output events. */
	bool have_output, outputs_done;
	char output_name[64];
	uint32_t output_width, output_height, output_refresh_mhz;

	struct sim_buffer buffers[MAX_BUFFERS];
	struct sim_buffer cursor;
	unsigned int next_buffer;

	int vblank_fd;                               /* -1 until the vblank_source event */
	const struct vscanout_vblank_record *record; /* may be NULL */
	size_t record_size;
	bool vblank_ready;   /* a vblank passed since the last commit */
	uint64_t ticks;      /* vblanks or timer ticks seen */
	uint64_t idle_ticks; /* ... that passed without a new guest frame (VFIO mode) */

	int signal_fd, timer_fd;
	int pace_fd;   /* timerfd of --pace timer, -1 otherwise */
	bool stopping; /* no more commits; wait for the answers */

	uint64_t frame;
	uint32_t serial;
	struct sim_commit commits[COMMIT_RING];
	uint64_t outstanding;
	struct stats stats;
	bool failed;

	/* --vfio-mdev */
	struct mdev_device mdev;
	struct bochs_guest bochs;
	enum vfio_state vfio_state;
	char vfio_kind[16]; /* "dmabuf" or "region" once accepted */
	uint64_t guest_start_ns, guest_end_ns;
};

static void fail(struct sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sim *sim, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, PROGRAM ": ");
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
	sim->failed = true;
	sim->stopping = true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *flags_str(uint32_t flags, char *buf, size_t size)
{
	static const char *const names[] = {"vsync", "async", "zero-copy", "copied"};
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned int i = 0; i < 4; i++) {
		if (flags & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", names[i]);
		if (n >= size)
			break;
	}
	return buf;
}

/* ---- protocol events ---------------------------------------------------- */

static void handle_release(void *data, struct vscanout_buffer_v1 *proxy)
{
	struct sim_buffer *buffer = data;
	buffer->busy = false;
	if (buffer->sim->opt.trace)
		printf("release buffer=%td\n", buffer - buffer->sim->buffers);
}

static const struct vscanout_buffer_v1_listener buffer_listener = {
	.release = handle_release,
};

static void handle_output(void *data, struct vscanout_vgpu_v1 *vgpu, const char *name,
			  uint32_t width, uint32_t height, uint32_t refresh_mhz,
			  uint32_t phys_width_mm, uint32_t phys_height_mm)
{
	struct sim *sim = data;
	if (sim->outputs_done) {
		/* A new burst: the first output of it is the clock. */
		sim->outputs_done = false;
		sim->have_output = false;
	}
	if (sim->have_output)
		return;
	sim->have_output = true;
	snprintf(sim->output_name, sizeof(sim->output_name), "%s", name);
	sim->output_width = width;
	sim->output_height = height;
	sim->output_refresh_mhz = refresh_mhz;
}

static void handle_done(void *data, struct vscanout_vgpu_v1 *vgpu)
{
	struct sim *sim = data;
	sim->outputs_done = true;
	if (sim->opt.trace)
		printf("output name=%s size=%ux%u refresh_mhz=%u\n",
		       sim->have_output ? sim->output_name : "-", sim->output_width,
		       sim->output_height, sim->output_refresh_mhz);
}

static struct sim_commit *find_commit(struct sim *sim, uint32_t serial)
{
	struct sim_commit *c = &sim->commits[serial % COMMIT_RING];
	return c->outstanding && c->serial == serial ? c : NULL;
}

static void handle_presented(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial,
			     uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
			     uint32_t refresh_ns, uint32_t sequence_hi, uint32_t sequence_lo,
			     uint32_t flags)
{
	struct sim *sim = data;
	struct sim_commit *c = find_commit(sim, serial);
	if (c == NULL) {
		fail(sim, "presented for serial %u, which is not outstanding", serial);
		return;
	}
	uint64_t time_ns = ((uint64_t)tv_sec_hi << 32 | tv_sec_lo) * 1000000000u + tv_nsec;
	uint64_t sequence = (uint64_t)sequence_hi << 32 | sequence_lo;
	if (sim->opt.trace) {
		char buf[64];
		printf("presented serial=%u time_ns=%" PRIu64 " sequence=%" PRIu64
		       " refresh_ns=%u flags=%s\n",
		       serial, time_ns, sequence, refresh_ns, flags_str(flags, buf, sizeof(buf)));
	}
	if (stats_add_presented(&sim->stats, c->time_ns, time_ns, sequence, flags) < 0)
		fail(sim, "out of memory");
	c->outstanding = false;
	sim->outstanding--;
}

static void handle_discarded(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial)
{
	struct sim *sim = data;
	struct sim_commit *c = find_commit(sim, serial);
	if (c == NULL) {
		fail(sim, "discarded for serial %u, which is not outstanding", serial);
		return;
	}
	if (sim->opt.trace)
		printf("discarded serial=%u\n", serial);
	sim->stats.discarded++;
	c->outstanding = false;
	sim->outstanding--;
}

static void handle_vblank_source(void *data, struct vscanout_vgpu_v1 *vgpu, int ticks,
				 int record_memfd, uint32_t flags)
{
	struct sim *sim = data;
	if (sim->vblank_fd >= 0) {
		close(ticks);
		close(record_memfd);
		return;
	}
	sim->vblank_fd = ticks;
	sim->record_size = sizeof(struct vscanout_vblank_record);
	void *map = mmap(NULL, sim->record_size, PROT_READ, MAP_SHARED, record_memfd, 0);
	if (map != MAP_FAILED)
		sim->record = map;
	else
		fprintf(stderr, PROGRAM ": cannot map the vblank record: %s\n", strerror(errno));
	close(record_memfd);
	if (sim->opt.trace)
		printf("vblank-source flags=%s\n",
		       flags & VSCANOUT_VGPU_V1_VBLANK_SOURCE_FLAGS_TIMER ? "timer" : "vblank");
}

static void handle_vfio_status(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t status,
			       const char *message)
{
	struct sim *sim = data;
	const char *sep = message[0] != '\0' ? ": " : "";

	if (sim->opt.trace)
		printf("vfio-status status=%u message=%s\n", status, message);
	switch (status) {
	case VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF:
	case VSCANOUT_VGPU_V1_VFIO_STATUS_REGION:
		if (sim->vfio_state != VFIO_WAITING) {
			fail(sim, "VFIO status %u without set_vfio_device", status);
			return;
		}
		snprintf(sim->vfio_kind, sizeof(sim->vfio_kind), "%s",
			 status == VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF ? "dmabuf" : "region");
		sim->vfio_state = VFIO_ACTIVE;
		fprintf(stderr, PROGRAM ": vGPU %s shows mdev %s (%s)\n", sim->opt.vgpu,
			sim->opt.vfio_mdev, message[0] != '\0' ? message : sim->vfio_kind);
		break;
	case VSCANOUT_VGPU_V1_VFIO_STATUS_REFUSED:
		sim->vfio_state = VFIO_GONE;
		fail(sim, "vscanoutd refused mdev %s%s%s", sim->opt.vfio_mdev, sep, message);
		break;
	case VSCANOUT_VGPU_V1_VFIO_STATUS_LOST:
		sim->vfio_state = VFIO_GONE;
		fail(sim, "vscanoutd lost mdev %s%s%s", sim->opt.vfio_mdev, sep, message);
		break;
	case VSCANOUT_VGPU_V1_VFIO_STATUS_RELEASED:
		if (sim->vfio_state != VFIO_RELEASING)
			fail(sim, "VFIO device released without release_vfio_device%s%s", sep,
			     message);
		sim->vfio_state = VFIO_GONE;
		break;
	default:
		fail(sim, "unknown VFIO status %u%s%s", status, sep, message);
		break;
	}
}

static const struct vscanout_vgpu_v1_listener vgpu_listener = {
	.output = handle_output,
	.done = handle_done,
	.presented = handle_presented,
	.discarded = handle_discarded,
	.vblank_source = handle_vblank_source,
	.vfio_status = handle_vfio_status,
};

static void handle_global(void *data, struct wl_registry *registry, uint32_t name,
			  const char *interface, uint32_t version)
{
	struct sim *sim = data;
	if (strcmp(interface, vscanout_manager_v1_interface.name) == 0 && sim->manager == NULL)
		sim->manager = wl_registry_bind(registry, name, &vscanout_manager_v1_interface, 1);
}

static void handle_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_global,
	.global_remove = handle_global_remove,
};

/* ---- connection ----------------------------------------------------------- */

static void print_protocol_error(struct sim *sim)
{
	int err = wl_display_get_error(sim->display);
	if (err != EPROTO) {
		fprintf(stderr, PROGRAM ": connection to vscanoutd lost: %s\n", strerror(err));
		return;
	}
	const struct wl_interface *interface = NULL;
	uint32_t id = 0;
	uint32_t code = wl_display_get_protocol_error(sim->display, &interface, &id);
	fprintf(stderr, PROGRAM ": protocol error %u on %s@%u\n", code,
		interface ? interface->name : "unknown interface", id);
}

/* libwayland reports a protocol error's message through its log. */
static void handle_wayland_log(const char *fmt, va_list args)
{
	fprintf(stderr, PROGRAM ": ");
	vfprintf(stderr, fmt, args);
}

static int default_socket_path(char *buf, size_t size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int n;
	if (runtime != NULL && runtime[0] == '/')
		n = snprintf(buf, size, "%s/vscanout-0", runtime);
	else
		n = snprintf(buf, size, "/run/vscanout/vscanout-0");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int connect_socket(struct sim *sim)
{
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	if (sim->opt.socket_path != NULL) {
		if (strlen(sim->opt.socket_path) >= sizeof(path)) {
			fprintf(stderr, PROGRAM ": socket path %s is too long\n",
				sim->opt.socket_path);
			return -ENAMETOOLONG;
		}
		snprintf(path, sizeof(path), "%s", sim->opt.socket_path);
	} else if (default_socket_path(path, sizeof(path)) < 0) {
		fprintf(stderr, PROGRAM ": $XDG_RUNTIME_DIR is too long for a socket path\n");
		return -ENAMETOOLONG;
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int ret = -errno;
		fprintf(stderr, PROGRAM ": cannot create a socket: %s\n", strerror(errno));
		return ret;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int ret = -errno;
		fprintf(stderr, PROGRAM ": cannot connect to %s: %s\n", path, strerror(errno));
		close(fd);
		return ret;
	}
	/* The display takes the fd, also when it fails. */
	sim->display = wl_display_connect_to_fd(fd);
	if (sim->display == NULL) {
		fprintf(stderr, PROGRAM ": cannot set up a connection on %s: %s\n", path,
			strerror(errno));
		return -EIO;
	}
	return 0;
}

/* A roundtrip that reports a failure; returns 0 or -1. */
static int roundtrip(struct sim *sim)
{
	if (wl_display_roundtrip(sim->display) < 0) {
		print_protocol_error(sim);
		sim->failed = true;
		return -1;
	}
	return 0;
}

/* ---- buffers -------------------------------------------------------------- */

/* Make buffer b of width × height in fourcc from a slice of guest RAM. */
static int buffer_create(struct sim *sim, struct sim_buffer *b, uint32_t width, uint32_t height,
			 uint32_t fourcc)
{
	uint32_t stride = (width * 4 + 63) & ~63u;
	b->sim = sim;
	b->size = guest_ram_page_align((size_t)stride * height);
	int ret = guest_ram_alloc(&sim->ram, b->size, &b->offset);
	if (ret < 0) {
		fprintf(stderr, PROGRAM ": guest RAM exhausted\n");
		return ret;
	}
	draw_target_init(&b->target, sim->ram.map + b->offset, width, height, stride);

	int fd = guest_ram_export(&sim->ram, b->offset, b->size);
	if (fd == -ENOENT) {
		fprintf(stderr, PROGRAM ": /dev/udmabuf does not exist (modprobe udmabuf)\n");
		return fd;
	} else if (fd < 0) {
		fprintf(stderr, PROGRAM ": cannot make a dma-buf of guest RAM: %s\n",
			strerror(-fd));
		return fd;
	}
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(sim->vgpu);
	vscanout_buffer_params_v1_add(params, fd, 0, 0, stride, DRM_FORMAT_MOD_LINEAR >> 32,
				      DRM_FORMAT_MOD_LINEAR & 0xffffffff);
	close(fd); /* the request carries a duplicate */
	b->proxy = vscanout_buffer_params_v1_create(params, (int32_t)width, (int32_t)height, fourcc,
						    0);
	vscanout_buffer_params_v1_destroy(params);
	vscanout_buffer_v1_add_listener(b->proxy, &buffer_listener, b);
	return 0;
}

static struct sim_buffer *free_buffer(struct sim *sim)
{
	for (unsigned int i = 0; i < sim->opt.buffers; i++) {
		struct sim_buffer *b = &sim->buffers[(sim->next_buffer + i) % sim->opt.buffers];
		if (!b->busy)
			return b;
	}
	return NULL;
}

/* ---- frames --------------------------------------------------------------- */

static bool may_commit(struct sim *sim)
{
	if (sim->stopping || sim->failed || sim->opt.vfio_mdev != NULL)
		return false;
	/*
	 * Paced: one frame per vblank, once the previous one is on screen.
	 * A commit made while the previous one still waits for its flip would
	 * wait a whole refresh in vscanoutd, and every later one with it.
	 */
	if (sim->opt.pace != PACE_FREE && (!sim->vblank_ready || sim->outstanding > 0))
		return false;
	/* Free: mailbox semantics keep at most two outstanding; more means the output is off. */
	return sim->outstanding < COMMIT_RING / 2 && free_buffer(sim) != NULL;
}

static void commit_frame(struct sim *sim)
{
	struct sim_buffer *b = free_buffer(sim);
	sim->next_buffer = (unsigned int)(b - sim->buffers + 1) % sim->opt.buffers;

	if (!sim->opt.still)
		draw_frame(&b->target, sim->frame);
	vscanout_vgpu_v1_set_primary(sim->vgpu, b->proxy, 0, 0);
	if (sim->opt.cursor) {
		int32_t x, y;
		draw_cursor_position(sim->opt.still ? sim->opt.seed : sim->frame, sim->output_width,
				     sim->output_height, &x, &y);
		vscanout_vgpu_v1_set_cursor(sim->vgpu, sim->cursor.proxy, x, y, 0, 0);
	}
	b->busy = true;

	uint32_t serial = ++sim->serial;
	struct sim_commit *c = &sim->commits[serial % COMMIT_RING];
	if (c->outstanding) {
		fail(sim, "commit %u still unanswered after %d later commits", c->serial,
		     COMMIT_RING);
		return;
	}
	c->serial = serial;
	c->outstanding = true;
	c->time_ns = now_ns();
	vscanout_vgpu_v1_commit(sim->vgpu, serial);
	wl_display_flush(sim->display);
	if (sim->opt.trace)
		printf("commit serial=%u time_ns=%" PRIu64 " frame=%" PRIu64 "\n", serial,
		       c->time_ns, sim->frame);

	sim->outstanding++;
	sim->stats.committed++;
	sim->frame++;
	sim->vblank_ready = false;
	if (sim->opt.frames != 0 && sim->stats.committed >= sim->opt.frames)
		sim->stopping = true;
}

static void handle_vblank(struct sim *sim)
{
	uint64_t count, woke_ns = now_ns();
	ssize_t n = read(sim->vblank_fd, &count, sizeof(count));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(count)) {
		fail(sim, "cannot read the vblank ticks fd: %s",
		     n < 0    ? strerror(errno)
		     : n == 0 ? "it ended (the vGPU is gone)"
			      : "short read");
		return;
	}
	sim->ticks += count;
	sim->idle_ticks += count - 1;
	sim->vblank_ready = true;
	if (sim->opt.trace && sim->record != NULL) {
		struct vscanout_vblank_state state;
		vscanout_vblank_record_read(sim->record, &state);
		printf("vblank count=%" PRIu64 " sequence=%" PRIu64 " time_ns=%" PRIu64
		       " woke_ns=%" PRIu64 "\n",
		       count, state.sequence, state.timestamp_ns, woke_ns);
	}
}

static void handle_pace_timer(struct sim *sim)
{
	uint64_t expirations;
	if (read(sim->pace_fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
		return;
	sim->ticks += expirations;
	sim->idle_ticks += expirations - 1;
	sim->vblank_ready = true;
}

/*
 * VFIO mode: at each tick the guest draws its next frame and pans to it;
 * once stopping, the device is released.
 */
static void guest_step(struct sim *sim)
{
	if (sim->failed)
		return;
	if (sim->stopping) {
		if (sim->vfio_state == VFIO_ACTIVE) {
			vscanout_vgpu_v1_release_vfio_device(sim->vgpu);
			sim->vfio_state = VFIO_RELEASING;
		}
		return;
	}
	if (!sim->opt.guest || !sim->vblank_ready)
		return;
	sim->vblank_ready = false;
	int ret = bochs_guest_next_frame(&sim->bochs);
	if (ret < 0) {
		fail(sim, "guest: cannot pan: %s", strerror(-ret));
		return;
	}
	sim->guest_end_ns = now_ns();
	if (sim->opt.trace)
		printf("guest frame=%" PRIu64 " y_offset=%u time_ns=%" PRIu64 "\n",
		       sim->bochs.frame - 1, sim->bochs.shown * sim->bochs.height,
		       sim->guest_end_ns);
	if (sim->opt.frames != 0 && sim->bochs.frame >= sim->opt.frames)
		sim->stopping = true;
}

/* Whether the loop is done: stopped with nothing left to wait for, or failed. */
static bool finished(struct sim *sim)
{
	if (sim->failed)
		return true;
	if (!sim->stopping)
		return false;
	if (sim->opt.vfio_mdev != NULL)
		return sim->vfio_state == VFIO_NONE || sim->vfio_state == VFIO_GONE;
	return sim->outstanding == 0;
}

static void handle_signal(struct sim *sim)
{
	struct signalfd_siginfo info;
	if (read(sim->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
		sim->stopping = true;
}

static void handle_timer(struct sim *sim)
{
	uint64_t expirations;
	if (read(sim->timer_fd, &expirations, sizeof(expirations)) > 0)
		sim->stopping = true;
}

/*
 * The loop: wayland events, vblanks (or the pace timer), the --seconds
 * timer and signals, all polled; a frame is committed whenever the pacing
 * and a free buffer allow (in VFIO mode the guest draws and pans instead).
 * Ends once stopping and every commit is answered, or the VFIO device is
 * released.
 */
static int run(struct sim *sim)
{
	while (!finished(sim)) {
		if (sim->opt.vfio_mdev != NULL) {
			guest_step(sim);
		} else {
			while (may_commit(sim))
				commit_frame(sim);
		}
		if (finished(sim))
			break;

		while (wl_display_prepare_read(sim->display) != 0) {
			if (wl_display_dispatch_pending(sim->display) < 0)
				goto error_connection;
		}
		struct pollfd fds[5] = {
			{.fd = wl_display_get_fd(sim->display), .events = POLLIN},
			{.fd = sim->vblank_fd, .events = POLLIN},
			{.fd = sim->signal_fd, .events = POLLIN},
			{.fd = sim->timer_fd, .events = POLLIN},
			{.fd = sim->pace_fd, .events = POLLIN},
		};
		if (wl_display_flush(sim->display) < 0) {
			if (errno == EAGAIN) {
				fds[0].events |= POLLOUT;
			} else {
				wl_display_cancel_read(sim->display);
				goto error_connection;
			}
		}
		if (poll(fds, 5, -1) < 0) {
			wl_display_cancel_read(sim->display);
			if (errno == EINTR)
				continue;
			fail(sim, "poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (wl_display_read_events(sim->display) < 0)
				goto error_connection;
		} else {
			wl_display_cancel_read(sim->display);
		}
		if (wl_display_dispatch_pending(sim->display) < 0)
			goto error_connection;
		if (fds[1].revents & POLLIN)
			handle_vblank(sim);
		if (fds[2].revents & POLLIN)
			handle_signal(sim);
		if (fds[3].revents & POLLIN)
			handle_timer(sim);
		if (fds[4].revents & POLLIN)
			handle_pace_timer(sim);
	}
	return sim->failed ? -1 : 0;

error_connection:
	print_protocol_error(sim);
	sim->failed = true;
	return -1;
}

static int setup_pace_timer(struct sim *sim)
{
	uint32_t mhz = sim->output_refresh_mhz != 0 ? sim->output_refresh_mhz : 60000;
	uint64_t period_ns = 1000000000000ull / mhz;
	struct timespec period = {.tv_sec = (time_t)(period_ns / 1000000000u),
				  .tv_nsec = (long)(period_ns % 1000000000u)};
	struct itimerspec spec = {.it_value = period, .it_interval = period};
	sim->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sim->pace_fd < 0 || timerfd_settime(sim->pace_fd, 0, &spec, NULL) < 0) {
		fprintf(stderr, PROGRAM ": cannot set up the pace timer: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * VFIO mode: open the mdev's device, hand it to vscanoutd and wait for its
 * answer; with --guest set the guest's mode and draw its first frame.
 */
static int setup_vfio(struct sim *sim, uint32_t width, uint32_t height)
{
	char msg[256];
	int ret = mdev_device_open(&sim->mdev, sim->opt.vfio_mdev, msg, sizeof(msg));
	if (ret < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return -1;
	}
	vscanout_vgpu_v1_set_vfio_device(sim->vgpu, sim->mdev.device_fd);
	sim->vfio_state = VFIO_WAITING;
	while (sim->vfio_state == VFIO_WAITING && !sim->failed) {
		if (roundtrip(sim) < 0)
			return -1;
	}
	if (sim->failed)
		return -1;
	if (!sim->opt.guest)
		return 0;

	ret = bochs_guest_init(&sim->bochs, &sim->mdev, width, height, sim->opt.pattern);
	if (ret == -ENODEV) {
		fprintf(stderr, PROGRAM ": mdev %s has no bochs VBE interface in BAR2\n",
			sim->opt.vfio_mdev);
		return -1;
	} else if (ret == -ENOSPC) {
		fprintf(stderr,
			PROGRAM ": a %ux%u frame does not fit in the %" PRIu64
				" MiB of VRAM of mdev %s\n",
			width, height, (uint64_t)sim->mdev.bar0.size >> 20, sim->opt.vfio_mdev);
		return -1;
	} else if (ret < 0) {
		fprintf(stderr, PROGRAM ": guest: cannot set a %ux%u mode on mdev %s: %s\n", width,
			height, sim->opt.vfio_mdev, strerror(-ret));
		return -1;
	}
	if (sim->bochs.n_frames < 2)
		fprintf(stderr,
			PROGRAM ": two %ux%u frames do not fit in VRAM; the guest draws into the "
				"frame shown\n",
			width, height);
	sim->guest_start_ns = sim->guest_end_ns = now_ns();
	return 0;
}

static int setup(struct sim *sim)
{
	if (connect_socket(sim) < 0)
		return -1;
	sim->registry = wl_display_get_registry(sim->display);
	wl_registry_add_listener(sim->registry, &registry_listener, sim);
	if (roundtrip(sim) < 0)
		return -1;
	if (sim->manager == NULL) {
		fprintf(stderr, PROGRAM ": the server offers no %s\n",
			vscanout_manager_v1_interface.name);
		return -1;
	}

	sim->vgpu = vscanout_manager_v1_attach(sim->manager, sim->opt.vgpu);
	vscanout_vgpu_v1_add_listener(sim->vgpu, &vgpu_listener, sim);
	if (sim->opt.pace == PACE_VBLANK)
		vscanout_vgpu_v1_get_vblank_source(sim->vgpu);
	if (roundtrip(sim) < 0)
		return -1;
	if (!sim->outputs_done || !sim->have_output) {
		fprintf(stderr, PROGRAM ": vGPU %s is not shown on any output\n", sim->opt.vgpu);
		return -1;
	}
	bool draws = sim->opt.vfio_mdev == NULL || sim->opt.guest;
	if (draws && sim->output_width == 0 && sim->opt.width == 0) {
		fprintf(stderr, PROGRAM ": output %s of vGPU %s is off; give --size\n",
			sim->output_name, sim->opt.vgpu);
		return -1;
	}
	if (sim->opt.pace == PACE_VBLANK && sim->vblank_fd < 0) {
		fprintf(stderr, PROGRAM ": no vblank source received\n");
		return -1;
	}
	if (sim->opt.pace == PACE_TIMER && setup_pace_timer(sim) < 0)
		return -1;

	uint32_t width = sim->opt.width ? sim->opt.width : sim->output_width;
	uint32_t height = sim->opt.height ? sim->opt.height : sim->output_height;
	if (sim->opt.vfio_mdev != NULL)
		return setup_vfio(sim, width, height);
	size_t frame_size = guest_ram_page_align((size_t)((width * 4 + 63) & ~63u) * height);
	size_t cursor_size = guest_ram_page_align(DRAW_CURSOR_SIZE * DRAW_CURSOR_SIZE * 4);
	int ret = guest_ram_init(&sim->ram, frame_size * sim->opt.buffers + cursor_size);
	if (ret < 0) {
		fprintf(stderr, PROGRAM ": cannot create guest RAM: %s\n", strerror(-ret));
		return -1;
	}
	for (unsigned int i = 0; i < sim->opt.buffers; i++) {
		struct sim_buffer *b = &sim->buffers[i];
		if (buffer_create(sim, b, width, height, DRM_FORMAT_XRGB8888) < 0)
			return -1;
		draw_target_set_pattern(&b->target, sim->opt.pattern);
		if (sim->opt.still)
			draw_still(&b->target, sim->opt.seed);
		else
			draw_background(&b->target);
	}
	if (sim->opt.cursor) {
		if (buffer_create(sim, &sim->cursor, DRAW_CURSOR_SIZE, DRAW_CURSOR_SIZE,
				  DRM_FORMAT_ARGB8888) < 0)
			return -1;
		draw_cursor(&sim->cursor.target);
	}
	/* Buffers are checked when created: fail here on a bad one, not mid-run. */
	if (roundtrip(sim) < 0)
		return -1;
	if (sim->opt.pace == PACE_FREE)
		sim->vblank_ready = true;
	return 0;
}

static void teardown(struct sim *sim)
{
	for (unsigned int i = 0; i < MAX_BUFFERS; i++) {
		if (sim->buffers[i].proxy != NULL)
			vscanout_buffer_v1_destroy(sim->buffers[i].proxy);
	}
	if (sim->cursor.proxy != NULL)
		vscanout_buffer_v1_destroy(sim->cursor.proxy);
	if (sim->vgpu != NULL)
		vscanout_vgpu_v1_destroy(sim->vgpu);
	if (sim->manager != NULL)
		vscanout_manager_v1_destroy(sim->manager);
	if (sim->registry != NULL)
		wl_registry_destroy(sim->registry);
	if (sim->display != NULL)
		wl_display_disconnect(sim->display);
	if (sim->record != NULL)
		munmap((void *)sim->record, sim->record_size);
	if (sim->vblank_fd >= 0)
		close(sim->vblank_fd);
	if (sim->pace_fd >= 0)
		close(sim->pace_fd);
	if (sim->timer_fd >= 0)
		close(sim->timer_fd);
	/* vscanoutd has let go of the device (or the connection is gone): close ours. */
	mdev_device_close(&sim->mdev);
	if (sim->signal_fd >= 0)
		close(sim->signal_fd);
	guest_ram_finish(&sim->ram);
	stats_finish(&sim->stats);
}

/* ---- command line --------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [options]\n"
		"\n"
		"A reference VMM for vscanoutd: guest RAM in a memfd, framebuffers as udmabuf\n"
		"dma-bufs, animated frames paced by the vGPU's vblank ticks fd, and\n"
		"presentation statistics at the end. With --vfio-mdev it hands a mediated\n"
		"vGPU's VFIO device to vscanoutd instead, which then reads the guest's planes\n"
		"itself; --guest also plays the guest's bochs display driver on it.\n"
		"\n"
		"options:\n"
		"  -s, --socket PATH    vscanoutd's socket (default: $XDG_RUNTIME_DIR/vscanout-0,\n"
		"                       or /run/vscanout/vscanout-0 without XDG_RUNTIME_DIR)\n"
		"  -g, --vgpu NAME      the vGPU to attach to (required)\n"
		"      --size WxH       framebuffer size (default: the output's mode)\n"
		"  -b, --buffers N      framebuffers to cycle through, 2 to %d (default: 3)\n"
		"  -n, --frames N       commit N frames, then wait for their answers and stop\n"
		"  -t, --seconds S      commit frames for S seconds (decimals allowed)\n"
		"  -p, --pace MODE      vblank: one frame per vblank of the ticks fd, once the\n"
		"                       previous frame is on screen (default);\n"
		"                       timer: the same, per tick of a timer at the output's\n"
		"                       refresh rate; free: commit whenever a buffer is free\n"
		"  -c, --cursor         show a cursor that moves around\n"
		"      --still SEED     show one still picture (a hash of x, y and SEED)\n"
		"                       in every frame instead of the animation\n"
		"      --pattern N      the animation's look, 0 to %d (default: 0)\n"
		"      --vfio-mdev UUID open the VFIO device of mdev UUID as a VMM does and hand\n"
		"                       it to vscanoutd (set_vfio_device); nothing is committed\n"
		"      --guest          with --vfio-mdev: set a bochs VBE mode of the output's\n"
		"                       size (or --size) and animate it in VRAM, flipping by\n"
		"                       panning, one frame per vblank (or timer tick)\n"
		"      --trace          print every commit, vblank and event on stdout\n"
		"  -h, --help           show this help and exit\n"
		"\n"
		"Without --frames or --seconds it runs until SIGINT or SIGTERM. Exit status:\n"
		"0 when every frame was answered and at least one presented (VFIO mode: when\n"
		"the device was accepted and released again), 1 on an error (VFIO mode: also\n"
		"when vscanoutd refused or lost the device), 2 on a bad option.\n",
		MAX_BUFFERS, DRAW_PATTERNS - 1);
}

static int parse_u64(const char *text, uint64_t *value)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		return -EINVAL;
	*value = v;
	return 0;
}

static int parse_size(const char *text, uint32_t *width, uint32_t *height)
{
	unsigned int w, h;
	int n = 0;
	if (sscanf(text, "%5ux%5u%n", &w, &h, &n) != 2 || text[n] != '\0' || w == 0 || h == 0 ||
	    w > 16384 || h > 16384)
		return -EINVAL;
	*width = w;
	*height = h;
	return 0;
}

/* A UUID in its text form: 8-4-4-4-12 hexadecimal digits. */
static bool valid_uuid(const char *text)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(text) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i] != '\0'; i++) {
		if (form[i] == '-' ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
			return false;
	}
	return true;
}

/* Returns 0, 1 to exit successfully (help), or 2 on a bad option (reported). */
static int parse_options(struct options *opt, int argc, char **argv)
{
	enum { OPT_SIZE = 256, OPT_STILL, OPT_TRACE, OPT_PATTERN, OPT_VFIO_MDEV, OPT_GUEST };
	static const struct option long_options[] = {
		{"socket", required_argument, NULL, 's'},
		{"vgpu", required_argument, NULL, 'g'},
		{"size", required_argument, NULL, OPT_SIZE},
		{"buffers", required_argument, NULL, 'b'},
		{"frames", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{"pace", required_argument, NULL, 'p'},
		{"cursor", no_argument, NULL, 'c'},
		{"still", required_argument, NULL, OPT_STILL},
		{"trace", no_argument, NULL, OPT_TRACE},
		{"pattern", required_argument, NULL, OPT_PATTERN},
		{"vfio-mdev", required_argument, NULL, OPT_VFIO_MDEV},
		{"guest", no_argument, NULL, OPT_GUEST},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t value;
	char *end;
	bool buffers_set = false;

	*opt = (struct options){.buffers = 3, .pace = PACE_VBLANK};
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, ":s:g:b:n:t:p:ch", long_options, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 's':
			opt->socket_path = optarg;
			break;
		case 'g':
			opt->vgpu = optarg;
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &opt->width, &opt->height) < 0) {
				fprintf(stderr,
					PROGRAM ": --size '%s' is not WxH (1 to 16384 each)\n",
					optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_u64(optarg, &value) < 0 || value < 2 || value > MAX_BUFFERS) {
				fprintf(stderr, PROGRAM ": --buffers '%s' is not 2 to %d\n", optarg,
					MAX_BUFFERS);
				return 2;
			}
			opt->buffers = (unsigned int)value;
			buffers_set = true;
			break;
		case 'n':
			if (parse_u64(optarg, &opt->frames) < 0 || opt->frames == 0) {
				fprintf(stderr,
					PROGRAM ": --frames '%s' is not a positive number\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			errno = 0;
			opt->seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(opt->seconds > 0) ||
			    opt->seconds > 1e6) {
				fprintf(stderr,
					PROGRAM ": --seconds '%s' is not a positive number\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			if (strcmp(optarg, "vblank") == 0) {
				opt->pace = PACE_VBLANK;
			} else if (strcmp(optarg, "timer") == 0) {
				opt->pace = PACE_TIMER;
			} else if (strcmp(optarg, "free") == 0) {
				opt->pace = PACE_FREE;
			} else {
				fprintf(stderr,
					PROGRAM ": --pace '%s' is not vblank, timer or free\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			opt->cursor = true;
			break;
		case OPT_STILL:
			if (parse_u64(optarg, &value) < 0 || value > UINT32_MAX) {
				fprintf(stderr,
					PROGRAM ": --still '%s' is not a number below 2^32\n",
					optarg);
				return 2;
			}
			opt->still = true;
			opt->seed = (uint32_t)value;
			break;
		case OPT_TRACE:
			opt->trace = true;
			break;
		case OPT_PATTERN:
			if (parse_u64(optarg, &value) < 0 || value >= DRAW_PATTERNS) {
				fprintf(stderr, PROGRAM ": --pattern '%s' is not 0 to %d\n", optarg,
					DRAW_PATTERNS - 1);
				return 2;
			}
			opt->pattern = (uint32_t)value;
			break;
		case OPT_VFIO_MDEV:
			if (!valid_uuid(optarg)) {
				fprintf(stderr,
					PROGRAM ": --vfio-mdev '%s' is not a UUID "
						"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n",
					optarg);
				return 2;
			}
			opt->vfio_mdev = optarg;
			break;
		case OPT_GUEST:
			opt->guest = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, PROGRAM ": option '%s' needs an argument\n",
				argv[optind - 1]);
			return 2;
		default:
			if (optopt != 0)
				fprintf(stderr, PROGRAM ": unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, PROGRAM ": unknown option '%s'\n",
					argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROGRAM ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (opt->vgpu == NULL) {
		fprintf(stderr, PROGRAM ": --vgpu NAME is required\n");
		return 2;
	}
	if (opt->guest && opt->vfio_mdev == NULL) {
		fprintf(stderr, PROGRAM ": --guest needs --vfio-mdev UUID\n");
		return 2;
	}
	if (opt->vfio_mdev != NULL) {
		/* vscanoutd reads the guest's planes: there is nothing to commit. */
		const char *conflict = opt->cursor              ? "--cursor"
				       : opt->still             ? "--still"
				       : buffers_set            ? "--buffers"
				       : opt->pace == PACE_FREE ? "--pace free"
								: NULL;
		if (conflict != NULL) {
			fprintf(stderr, PROGRAM ": %s does not go with --vfio-mdev\n", conflict);
			return 2;
		}
	}
	return 0;
}

static void print_vfio_summary(struct sim *sim)
{
	printf("vgpu %s on output %s (%ux%u at %u.%03u Hz), VFIO mdev %s (%s), pace %s\n",
	       sim->opt.vgpu, sim->output_name, sim->output_width, sim->output_height,
	       sim->output_refresh_mhz / 1000, sim->output_refresh_mhz % 1000, sim->opt.vfio_mdev,
	       sim->vfio_kind, pace_names[sim->opt.pace]);
	if (sim->opt.guest) {
		const struct bochs_guest *g = &sim->bochs;
		double seconds = (double)(sim->guest_end_ns - sim->guest_start_ns) / 1e9;
		printf("guest mode: %ux%u, pattern %u, %s\n", g->width, g->height, sim->opt.pattern,
		       g->n_frames == 2 ? "double-buffered by panning" : "one frame");
		printf("guest frames drawn: %" PRIu64 "\n", g->frame);
		printf("guest pans: %" PRIu64 "\n", g->pans);
		printf("guest frames per second: %.2f\n",
		       seconds > 0 ? (double)(g->frame - 1) / seconds : 0.0);
		printf("%s without a new frame: %" PRIu64 "\n",
		       sim->opt.pace == PACE_VBLANK ? "vblanks" : "timer ticks", sim->idle_ticks);
	}
	printf("VFIO device released\n");
}

static int setup_signals_and_timer(struct sim *sim)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sim->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sim->signal_fd < 0)
		return -errno;
	if (sim->opt.seconds > 0) {
		sim->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (sim->timer_fd < 0)
			return -errno;
		uint64_t ns = (uint64_t)(sim->opt.seconds * 1e9);
		struct itimerspec spec = {
			.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
				     .tv_nsec = (long)(ns % 1000000000u)},
		};
		if (timerfd_settime(sim->timer_fd, 0, &spec, NULL) < 0)
			return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sim sim = {.vblank_fd = -1, .signal_fd = -1, .timer_fd = -1, .pace_fd = -1};
	sim.ram.memfd = sim.ram.udmabuf = -1;
	mdev_device_init(&sim.mdev);

	int ret = parse_options(&sim.opt, argc, argv);
	if (ret != 0)
		return ret == 1 ? EXIT_SUCCESS : 2;
	stats_init(&sim.stats);
	wl_log_set_handler_client(handle_wayland_log);
	/* Lines of --trace reach a pipe as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = setup_signals_and_timer(&sim);
	if (ret < 0) {
		fprintf(stderr, PROGRAM ": cannot set up signals and timer: %s\n", strerror(-ret));
		teardown(&sim);
		return EXIT_FAILURE;
	}
	if (setup(&sim) < 0 || run(&sim) < 0) {
		teardown(&sim);
		return EXIT_FAILURE;
	}

	if (sim.opt.vfio_mdev != NULL) {
		print_vfio_summary(&sim);
		teardown(&sim);
		return EXIT_SUCCESS;
	}
	printf("vgpu %s on output %s (%ux%u at %u.%03u Hz), pace %s\n", sim.opt.vgpu,
	       sim.output_name, sim.output_width, sim.output_height, sim.output_refresh_mhz / 1000,
	       sim.output_refresh_mhz % 1000, pace_names[sim.opt.pace]);
	stats_print(&sim.stats, stdout);
	bool ok = sim.stats.presented > 0;
	if (!ok)
		fprintf(stderr, PROGRAM ": no frame was presented\n");
	teardown(&sim);
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
