// SPDX-License-Identifier: MIT
/*
 * bench-vfio: guest-frame-to-scanout latency of a mediated vGPU shown
 * through vscanoutd, on vkms. The daemon's code runs in this process; a
 * forked child creates an mbochs mdev, hands its VFIO device over with
 * set_vfio_device and plays a guest that pans between two buffers at
 * random moments (50..80 ms apart: more than the slowest latency, and the pans fall on every phase
 * of the refresh). For each pan it sends the CLOCK_MONOTONIC time taken right before it; the
 * latency is from then to the page-flip timestamp of the first frame showing the new buffer.
 *
 * Two runs, one after the other with the same guest: poll = vblank (polls
 * paced just before each vblank) and poll = 30ms (a fixed interval, as
 * QEMU's UI refreshes). Prints p50/p99 of both and exits with status 1
 * when the vblank-paced p99 exceeds one refresh period + 2 ms or is not at
 * least 2× lower than the fixed interval's.
 * usage: bench-vfio [PANS]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include <xf86drmMode.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "util/log.h"
#include "util/percentile.h"
#include "vfio-guest.h"
#include "vfio/feed.h"
#include "vfio/source.h"

#define SOCKET_PATH "/tmp/vscanout-bench-vfio/vscanout-0"
#define WIDTH       1024
#define HEIGHT      768
#define WARMUP      6

static const char *const configs[] = {
	"[daemon]\nsocket = " SOCKET_PATH "\n"
	"[output Virtual-1]\nvgpu = a\nmode = 1024x768\nflip = vsync\n"
	"[vgpu a]\npoll = vblank\n",
	"[daemon]\nsocket = " SOCKET_PATH "\n"
	"[output Virtual-1]\nvgpu = a\nmode = 1024x768\nflip = vsync\n"
	"[vgpu a]\npoll = 30ms\n",
};
static const char *const names[] = {"poll=vblank", "poll=30ms"};

static int n_pans = 300;

/* The time of the daemon's last real atomic commit (drmModeAtomicCommit is wrapped). */
static uint64_t last_commit_ns;

int __real_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data);
int __wrap_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data);

int __wrap_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data)
{
	int ret = __real_drmModeAtomicCommit(fd, req, flags, user_data);
	if (!(flags & DRM_MODE_ATOMIC_TEST_ONLY))
		last_commit_ns = kt_now_ns();
	return ret;
}
static int times_w, go_r; /* child side */

/* The child: the VMM hands the device over, the guest pans at random moments. */
static void child_guest(int arg)
{
	struct vg_guest *guest = vg_guest_create("mbochs", "mbochs-medium");
	if (guest == NULL || vg_vram_map(guest) != 0)
		client_fail("mbochs mdev: %s", strerror(errno));
	struct vg_bochs_mode mode = {
		.width = WIDTH, .height = HEIGHT, .bpp = 32, .virt_height = 2 * HEIGHT};
	for (uint32_t i = 0; i < (uint32_t)WIDTH * 2 * HEIGHT; i++)
		((uint32_t *)guest->vram)[i] = i < (uint32_t)WIDTH * HEIGHT ? 0x208040 : 0x804020;
	if (vg_bochs_set_mode(guest, &mode) != 0)
		client_fail("set mode");
	srand((unsigned int)getpid());
	for (int run = 0; run < 2; run++) {
		char go;
		if (read(go_r, &go, 1) != 1)
			client_fail("no go");
		struct client c;
		client_connect(&c, SOCKET_PATH);
		struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
		vscanout_vgpu_v1_set_vfio_device(vgpu, guest->device_fd);
		client_roundtrip(&c);
		if (c.vfio_status != VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF)
			client_fail("vfio_status %d: %s", c.vfio_status, c.vfio_message);
		for (int i = 0; i < n_pans; i++) {
			struct timespec wait = {.tv_nsec = (50 + rand() % 31) * 1000000L};
			nanosleep(&wait, NULL);
			uint64_t t0 = kt_now_ns();
			if (write(times_w, &t0, sizeof(t0)) != sizeof(t0))
				client_fail("cannot report");
			if (vg_bochs_pan(guest, 0, (uint16_t)((i % 2 == 0) ? HEIGHT : 0)) != 0)
				client_fail("pan");
		}
		/* Attached until the daemon's figures are read, then a 0 says detached. */
		if (read(go_r, &go, 1) != 1)
			client_fail("no go");
		vscanout_vgpu_v1_release_vfio_device(vgpu);
		client_roundtrip(&c);
		vscanout_vgpu_v1_destroy(vgpu);
		client_roundtrip(&c);
		wl_display_disconnect(c.display);
		uint64_t zero = 0;
		if (write(times_w, &zero, sizeof(zero)) != sizeof(zero))
			client_fail("cannot report");
	}
	vg_guest_destroy(guest);
	_exit(0);
}

/* The daemon side of one run. */
struct run {
	struct kms_output *output;
	struct wl_listener present;
	const struct buffer *last; /* primary buffer of the last presented frame */
	uint64_t pans[4096];       /* pan times not yet seen on screen */
	size_t n_pending, n_seen;
	struct percentile latency;
	struct percentile commit_lead; /* commit ioctl done -> flip, µs */
	uint64_t max_ns;
};

static void handle_present(struct wl_listener *listener, void *data)
{
	struct run *run = wl_container_of(listener, run, present);
	const struct kms_present_event *ev = data;
	const struct buffer *primary = NULL;
	for (size_t i = 0; i < ev->n_layers; i++) {
		if (ev->layers[i].layer->zpos == 1)
			primary = ev->layers[i].buffer;
	}
	if (primary == NULL || primary == run->last)
		return;
	bool first = run->last == NULL;
	run->last = primary;
	if (first || run->n_pending == 0)
		return;
	/* The oldest pan not yet on screen is the one this frame shows. */
	uint64_t t0 = run->pans[0];
	memmove(run->pans, run->pans + 1, (run->n_pending - 1) * sizeof(run->pans[0]));
	run->n_pending--;
	run->n_seen++;
	if (run->n_seen <= WARMUP || ev->time_ns < t0)
		return;
	if (ev->time_ns > last_commit_ns)
		percentile_add(&run->commit_lead,
			       (uint32_t)((ev->time_ns - last_commit_ns) / 1000u));
	uint64_t lat = ev->time_ns - t0;
	percentile_add(&run->latency, (uint32_t)(lat / 1000u));
	if (lat > run->max_ns)
		run->max_ns = lat;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n_pans = atoi(argv[1]);
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (!vg_mdev_parent_present("mbochs"))
		kt_skip("no mbochs mdev parent");

	int times[2], go[2];
	kt_assert_errno(pipe2(times, O_CLOEXEC) == 0);
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	times_w = times[1];
	go_r = go[0];
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0)
		child_guest(0);
	close(times[1]);
	close(go[0]);

	uint32_t p50[2], p99[2], period_us = 0;
	for (int r = 0; r < 2; r++) {
		struct config config;
		config_init(&config);
		FILE *f = fmemopen((void *)configs[r], strlen(configs[r]), "r");
		kt_assert(f != NULL);
		kt_assert_ok(config_parse(&config, f, names[r]));
		fclose(f);
		struct daemon *daemon = daemon_create(&config);
		kt_assert(daemon != NULL);
		static struct run run;
		run = (struct run){0};
		percentile_init(&run.latency);
		percentile_init(&run.commit_lead);
		run.output = display_find_output(daemon->display_manager, "Virtual-1");
		kt_assert(run.output != NULL);
		run.present.notify = handle_present;
		wl_signal_add(&run.output->events.present, &run.present);

		kt_assert_errno(write(go[1], "g", 1) == 1);
		uint64_t deadline = kt_now_ns() + (uint64_t)n_pans * 90000000u + 30000000000u;
		size_t received = 0;
		while (received < (size_t)n_pans || run.n_pending > 0) {
			kt_assertf(kt_now_ns() < deadline, "%s: %zu of %d pans seen", names[r],
				   run.n_seen, n_pans);
			struct pollfd pfd = {.fd = times[0], .events = POLLIN};
			while (poll(&pfd, 1, 0) == 1) {
				uint64_t t0;
				kt_assert(read(times[0], &t0, sizeof(t0)) == sizeof(t0));
				kt_assert(run.n_pending < 4096);
				run.pans[run.n_pending++] = t0;
				received++;
			}
			wl_display_flush_clients(daemon->display);
			kt_assert(wl_event_loop_dispatch(daemon->loop, 5) >= 0);
		}
		struct vfio_source_stats stats = {0};
		struct protocol_vgpu *vgpu;
		wl_list_for_each (vgpu, &daemon->server->vgpus, link) {
			if (vgpu->vfio != NULL)
				vfio_source_get_stats(vfio_feed_get_source(vgpu->vfio), &stats);
		}
		kt_assert_errno(write(go[1], "r", 1) == 1);
		for (uint64_t t0 = 1; t0 != 0;) {
			struct pollfd pfd = {.fd = times[0], .events = POLLIN};
			if (poll(&pfd, 1, 0) == 1)
				kt_assert(read(times[0], &t0, sizeof(t0)) == sizeof(t0));
			else
				kt_assert(wl_event_loop_dispatch(daemon->loop, 5) >= 0);
			wl_display_flush_clients(daemon->display);
		}
		p50[r] = percentile_get(&run.latency, 50);
		p99[r] = percentile_get(&run.latency, 99);
		uint32_t mhz = 0;
		if (run.output->mode.htotal && run.output->mode.vtotal)
			mhz = (uint32_t)((uint64_t)run.output->mode.clock * 1000000u /
					 run.output->mode.htotal / run.output->mode.vtotal);
		period_us = mhz ? (uint32_t)(1000000000ull / mhz) : 16667;
		printf("%-12s pan -> flip over %u pans: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       names[r], percentile_held(&run.latency), p50[r] / 1000.0, p99[r] / 1000.0,
		       (double)run.max_ns / 1e6);
		printf("%-12s daemon: %" PRIu64 " polls, %" PRIu64 " changes, %" PRIu64
		       " transient errors, %" PRIu64 " imports, %" PRIu64
		       " late frames; poll -> flip p50 %.2f ms, p99 %.2f ms; margin %.2f ms\n",
		       names[r], stats.polls, stats.changes, stats.transient_errors, stats.imports,
		       stats.late_frames, stats.latency_p50_us / 1000.0,
		       stats.latency_p99_us / 1000.0, stats.margin_us / 1000.0);
		printf("%-12s commit ioctl -> flip: p1 %.2f ms, p50 %.2f ms, p99 %.2f ms\n",
		       names[r], percentile_get(&run.commit_lead, 1) / 1000.0,
		       percentile_get(&run.commit_lead, 50) / 1000.0,
		       percentile_get(&run.commit_lead, 99) / 1000.0);
		wl_list_remove(&run.present.link);
		daemon_destroy(daemon);
		config_finish(&config);
	}
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "guest status 0x%x", status);

	double target = period_us / 1000.0 + 2.0;
	printf("refresh period %.2f ms; target: vblank-paced p99 <= %.2f ms and <= half of the "
	       "fixed interval's (%.2f ms)\n",
	       period_us / 1000.0, target, p99[1] / 2000.0);
	bool met = p99[0] / 1000.0 <= target && p99[0] * 2 <= p99[1];
	printf("%s: p99 %.2f ms vs %.2f ms (%.1fx lower)\n", met ? "met" : "NOT met",
	       p99[0] / 1000.0, p99[1] / 1000.0, p99[0] ? (double)p99[1] / p99[0] : 0.0);
	return met ? 0 : 1;
}
