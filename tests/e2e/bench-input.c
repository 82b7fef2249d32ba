// SPDX-License-Identifier: MIT
/*
 * bench-input: latency of a host key press through vscanoutd to the VM's
 * client. The daemon's code runs in this process with udevd; this process
 * also owns a "physical" keyboard made with /dev/uinput. A forked VMM
 * attached to the vGPU on screen takes its vscanout_input_v1 and, beside
 * it, reads the physical keyboard's own evdev node directly: the floor, an
 * event's arrival in another process without any daemon.
 *
 * For each of N key presses and releases, 5 ms apart: t0 right before the
 * write to /dev/uinput, t_evdev when the VMM read it from the evdev node,
 * t_proto when the VMM received the key event from vscanoutd. Prints p50
 * and p99 of write -> client (t_proto - t0), of the floor (t_evdev - t0)
 * and of what vscanoutd adds (t_proto - t_evdev); exits with status 1 when
 * the added p99 is 1 ms or more.
 * usage: bench-input [EVENTS]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>

#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "input-harness.h"
#include "input/forward.h"
#include "kmstest.h"
#include "util/percentile.h"

#define SOCKET_PATH "/tmp/vscanout-bench-input/vscanout-0"
#define KBD_NAME    "vscanout-bench keyboard"

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "[vgpu a]\n";

static int n_events = 1000;
static int times_w, ready_w;
static char evdev_path[64];

/* What the VMM saw of event i. */
struct arrival {
	uint64_t evdev_ns, proto_ns;
};
static struct arrival *arrivals;
static int n_evdev, n_proto;

static void in_key(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, uint32_t key,
		   uint32_t state)
{
	if (n_proto < n_events)
		arrivals[n_proto++].proto_ns = kt_now_ns();
}

/* Every other event only logged, never handed over. */
static struct vscanout_input_v1_listener listener;

static void vmm(int arg)
{
	arrivals = calloc((size_t)n_events, sizeof(*arrivals));
	int evdev = open(evdev_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (arrivals == NULL || evdev < 0)
		client_fail("%s: %s", evdev_path, strerror(errno));
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	struct vscanout_input_v1 *input = vscanout_vgpu_v1_get_input(vgpu);
	listener = harness_log_listener;
	listener.key = in_key;
	vscanout_input_v1_add_listener(input, &listener, NULL);
	client_roundtrip(&c);
	if (write(ready_w, "r", 1) != 1)
		client_fail("cannot report");
	int display_fd = wl_display_get_fd(c.display);
	while (n_evdev < n_events || n_proto < n_events) {
		struct pollfd pfds[2] = {{.fd = display_fd, .events = POLLIN},
					 {.fd = evdev, .events = POLLIN}};
		wl_display_flush(c.display);
		if (poll(pfds, 2, 10000) <= 0)
			client_fail("no input (%d evdev, %d protocol events)", n_evdev, n_proto);
		if (pfds[1].revents & POLLIN) {
			uint64_t now = kt_now_ns();
			struct input_event ev;
			while (read(evdev, &ev, sizeof(ev)) == sizeof(ev)) {
				if (ev.type == EV_KEY && n_evdev < n_events)
					arrivals[n_evdev++].evdev_ns = now;
			}
		}
		if ((pfds[0].revents & POLLIN) && wl_display_dispatch(c.display) < 0)
			client_fail("connection lost");
	}
	for (int i = 0; i < n_events; i++) {
		if (write(times_w, &arrivals[i], sizeof(arrivals[i])) != sizeof(arrivals[i]))
			client_fail("cannot report");
	}
	_exit(0);
}

static const int keyboard_keys[] = {KEY_A};

static const struct harness_device keyboard_device = {
	.name = KBD_NAME,
	.product = 2,
	.keys = keyboard_keys,
	.n_keys = 1,
};

int main(int argc, char **argv)
{
	if (argc > 1)
		n_events = atoi(argv[1]);
	struct kt_device dev;
	harness_init(LOG_LEVEL_WARN, &dev);
	kt_device_close(&dev);

	int kbd = harness_device_create(&keyboard_device);
	char sysname[64];
	kt_assert_errno(ioctl(kbd, UI_GET_SYSNAME(sizeof(sysname)), sysname) >= 0);
	for (int i = 0; i < 32 && evdev_path[0] == '\0'; i++) {
		char path[160];
		snprintf(path, sizeof(path), "/sys/devices/virtual/input/%s/event%d", sysname, i);
		if (access(path, F_OK) == 0)
			snprintf(evdev_path, sizeof(evdev_path), "/dev/input/event%d", i);
	}
	kt_assert(evdev_path[0] != '\0');

	struct daemon *dmn = harness_daemon_create(config_text);

	int times[2], ready[2];
	kt_assert_errno(pipe2(times, O_CLOEXEC) == 0);
	kt_assert_errno(pipe2(ready, O_CLOEXEC) == 0);
	times_w = times[1];
	ready_w = ready[1];
	struct child child;
	child_start(&child, dmn->loop, vmm, 0);
	close(times[1]);
	close(ready[1]);
	for (char r = 0; r != 'r';) {
		struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1)
			kt_assert(read(ready[0], &r, 1) == 1);
		wl_display_flush_clients(dmn->display);
		kt_assert(wl_event_loop_dispatch(dmn->loop, 5) >= 0);
	}
	/* The pointer onto the vGPU's output gives it the keyboard focus. */
	uint64_t *t0 = calloc((size_t)n_events, sizeof(*t0));
	kt_assert(t0 != NULL);

	/* Key events 5 ms apart, the daemon's loop served in between. */
	uint64_t next = kt_now_ns();
	for (int i = 0; i < n_events;) {
		uint64_t now = kt_now_ns();
		if (now >= next) {
			t0[i] = kt_now_ns();
			harness_send(kbd, EV_KEY, KEY_A, i % 2 == 0);
			i++;
			next = now + 5000000u;
		}
		wl_display_flush_clients(dmn->display);
		int timeout = (int)((next > now ? next - now : 0) / 1000000u);
		kt_assert(wl_event_loop_dispatch(dmn->loop, timeout) >= 0);
	}
	struct percentile total, floor_, added;
	percentile_init(&total);
	percentile_init(&floor_);
	percentile_init(&added);
	int got = 0;
	uint64_t deadline = kt_now_ns() + 30000000000ull;
	while (got < n_events) {
		kt_assertf(kt_now_ns() < deadline, "the VMM reported %d of %d events", got,
			   n_events);
		struct pollfd pfd = {.fd = times[0], .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1) {
			struct arrival a;
			kt_assert(read(times[0], &a, sizeof(a)) == sizeof(a));
			percentile_add(&total, (uint32_t)((a.proto_ns - t0[got]) / 1000u));
			percentile_add(&floor_, (uint32_t)((a.evdev_ns - t0[got]) / 1000u));
			percentile_add(&added,
				       a.proto_ns > a.evdev_ns
					       ? (uint32_t)((a.proto_ns - a.evdev_ns) / 1000u)
					       : 0);
			got++;
			continue;
		}
		wl_display_flush_clients(dmn->display);
		kt_assert(wl_event_loop_dispatch(dmn->loop, 5) >= 0);
	}
	while (!child.exited)
		kt_assert(wl_event_loop_dispatch(dmn->loop, 50) >= 0);
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0, "VMM status 0x%x",
		   child.status);
	printf("%d key events through vscanoutd (the last %u counted):\n", n_events,
	       percentile_held(&total));
	printf("  uinput write -> VMM client:        p50 %.3f ms, p99 %.3f ms\n",
	       percentile_get(&total, 50) / 1000.0, percentile_get(&total, 99) / 1000.0);
	printf("  uinput write -> evdev reader (floor): p50 %.3f ms, p99 %.3f ms\n",
	       percentile_get(&floor_, 50) / 1000.0, percentile_get(&floor_, 99) / 1000.0);
	printf("  added by vscanoutd (client - floor):  p50 %.3f ms, p99 %.3f ms\n",
	       percentile_get(&added, 50) / 1000.0, percentile_get(&added, 99) / 1000.0);
	bool met = percentile_get(&added, 99) < 1000;
	printf("%s: added p99 < 1 ms\n", met ? "met" : "NOT met");
	harness_finish();
	return met ? 0 : 1;
}
