// SPDX-License-Identifier: MIT
/*
 * Two vGPUs of one output keep the refresh rate together. Virtual-1 of
 * vkms shows a and b side by side (layout = columns) and flips on vblanks
 * only (flip = vsync). Each VMM, a forked vscanout-v1 client, commits its
 * next buffer as soon as its previous commit is presented, for about two
 * seconds, and reports the vblank sequence of every presented event; the
 * daemon runs in this process and records the sequence of every flip of
 * the output.
 *
 * Over the vblanks both VMMs were running, each VMM must have been
 * presented on at least 85% of the output's flips, and the output must
 * have flipped on at least 85% of the vblanks. A frame committed at once
 * when the first of the two answers comes in flips without the other's
 * change, which then waits a whole refresh for the next flip: each VMM
 * would get every other vblank. The daemon commits a vsync frame a third of
 * a refresh before the vblank, with every change that came in until then.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>

#include "client.h"
#include "common.h"
#include "conf-daemon.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kmstest.h"

#define SOCKET_PATH "/tmp/vscanout-pace-test/vscanout-0"
#define CONF_PATH   "/tmp/vscanout-pace-test.conf"
#define WIDTH       1024
#define HEIGHT      768
#define N_VMMS      2
#define RUN_NS      2500000000ull /* each VMM's run */
#define WARMUP      10            /* presented commits before the measure counts */
#define MAX_SEQS    1024
#define MIN_SHARE   0.85

struct vmm {
	const char *name;
	struct child child;
	int report[2]; /* child -> parent: the vblank sequence (uint64_t) of each presented */
	struct wl_event_source *report_source;
	uint64_t seqs[MAX_SEQS];
	size_t n_seqs;
};

static struct vmm vmms[N_VMMS] = {{.name = "a"}, {.name = "b"}};
static struct daemon *dmn;

/* The output's flips, by vblank sequence. */
static uint64_t flips[MAX_SEQS * 2];
static size_t n_flips;

/* ---- the VMMs (children) ---- */

static void run_vmm(int i)
{
	struct vmm *v = &vmms[i];
	close(v->report[0]);
	for (int j = 0; j < i; j++)
		close(vmms[j].report[0]);
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, v->name);
	while (!c.done)
		client_roundtrip(&c);
	if (c.width != WIDTH / 2 || c.height != HEIGHT)
		client_fail("vgpu %s: region %ux%u, want %ux%u", v->name, c.width, c.height,
			    WIDTH / 2, HEIGHT);
	/* Two buffers, flipped in turn as a guest's double buffering would. */
	struct client_image images[2];
	struct vscanout_buffer_v1 *buffers[2];
	for (int b = 0; b < 2; b++) {
		client_image_create(&images[b], WIDTH / 2, HEIGHT, (uint32_t)(10 * i + b + 1));
		buffers[b] = client_buffer(vgpu, &images[b]);
	}
	uint64_t start = 0;
	for (uint32_t serial = 1;; serial++) {
		vscanout_vgpu_v1_set_primary(vgpu, buffers[serial % 2], 0, 0);
		if (!client_commit(&c, vgpu, serial))
			client_fail("vgpu %s: commit %u discarded", v->name, serial);
		if (!(c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_VSYNC))
			client_fail("vgpu %s: commit %u presented with flags 0x%x, not vsync",
				    v->name, serial, c.presented_flags);
		uint64_t seq = c.last_sequence;
		if (write(v->report[1], &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
			client_fail("cannot report");
		uint64_t now = kt_now_ns();
		if (start == 0)
			start = now;
		else if (now - start > RUN_NS)
			break;
	}
	_exit(0);
}

/* ---- the daemon's side (this process) ---- */

static int handle_report(int fd, uint32_t mask, void *data)
{
	struct vmm *v = data;
	uint64_t seq;
	if (read(fd, &seq, sizeof(seq)) == (ssize_t)sizeof(seq)) {
		if (v->n_seqs < MAX_SEQS)
			v->seqs[v->n_seqs++] = seq;
	} else {
		/* The child is gone: no more reports. */
		wl_event_source_remove(v->report_source);
		v->report_source = NULL;
	}
	return 0;
}

static void handle_present(struct wl_listener *listener, void *data)
{
	const struct kms_present_event *ev = data;
	if (n_flips < MAX_SEQS * 2)
		flips[n_flips++] = ev->sequence;
}

static void start_vmm(struct vmm *v)
{
	kt_assert_errno(pipe2(v->report, O_CLOEXEC) == 0);
	child_start(&v->child, dmn->loop, run_vmm, (int)(v - vmms));
	close(v->report[1]);
	v->report_source =
		wl_event_loop_add_fd(dmn->loop, v->report[0], WL_EVENT_READABLE, handle_report, v);
	kt_assert(v->report_source != NULL);
}

/* How many of seqs[0..n-1] lie in lo..hi (the CRTC's 32-bit counter, no wrap in a test). */
static size_t count_in(const uint64_t *seqs, size_t n, uint64_t lo, uint64_t hi)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += (seqs[i] & 0xffffffffu) >= lo && (seqs[i] & 0xffffffffu) <= hi;
	return count;
}

int main(void)
{
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_device_close(&vkms);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");

	conf_daemon_write(CONF_PATH,
			  "[daemon]\nsocket = " SOCKET_PATH "\n"
			  "[output Virtual-1]\nvgpu = a, b\nlayout = columns\nmode = %ux%u\n"
			  "flip = vsync\n",
			  WIDTH, HEIGHT);
	dmn = conf_daemon_start(CONF_PATH);
	struct kms_output *output = display_find_output(dmn->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	struct wl_listener present = {.notify = handle_present};
	wl_signal_add(&output->events.present, &present);

	for (size_t i = 0; i < N_VMMS; i++)
		start_vmm(&vmms[i]);
	uint64_t end = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	for (;;) {
		bool running = false;
		for (size_t i = 0; i < N_VMMS; i++)
			running |= !vmms[i].child.exited || vmms[i].report_source != NULL;
		if (!running)
			break;
		kt_assertf(kt_now_ns() < end, "the VMMs did not finish their run");
		conf_daemon_dispatch(dmn, 50);
	}
	wl_list_remove(&present.link);

	/* The vblanks both VMMs were running on, after their first frames. */
	uint64_t lo = 0, hi = UINT64_MAX;
	for (size_t i = 0; i < N_VMMS; i++) {
		struct vmm *v = &vmms[i];
		kt_assertf(WIFEXITED(v->child.status) && WEXITSTATUS(v->child.status) == 0,
			   "vgpu %s: VMM status 0x%x", v->name, v->child.status);
		kt_assertf(v->n_seqs > WARMUP, "vgpu %s: %zu frames presented", v->name, v->n_seqs);
		uint64_t first = v->seqs[WARMUP] & 0xffffffffu;
		uint64_t last = v->seqs[v->n_seqs - 1] & 0xffffffffu;
		lo = first > lo ? first : lo;
		hi = last < hi ? last : hi;
	}
	kt_assertf(hi > lo + 60, "the VMMs ran together on vblanks %llu..%llu only",
		   (unsigned long long)lo, (unsigned long long)hi);
	uint64_t vblanks = hi - lo + 1;
	size_t output_flips = count_in(flips, n_flips, lo, hi);
	printf("vblanks %llu..%llu (%llu): output flips %zu (%.1f%%)\n", (unsigned long long)lo,
	       (unsigned long long)hi, (unsigned long long)vblanks, output_flips,
	       100.0 * (double)output_flips / (double)vblanks);
	for (size_t i = 0; i < N_VMMS; i++) {
		size_t n = count_in(vmms[i].seqs, vmms[i].n_seqs, lo, hi);
		printf("vgpu %s: presented on %zu flips (%.1f%% of the output's)\n", vmms[i].name,
		       n, 100.0 * (double)n / (double)output_flips);
		kt_assertf((double)n >= MIN_SHARE * (double)output_flips,
			   "vgpu %s: presented on %zu of the output's %zu flips, less than %.0f%%",
			   vmms[i].name, n, output_flips, 100 * MIN_SHARE);
	}
	kt_assertf((double)output_flips >= MIN_SHARE * (double)vblanks,
		   "the output flipped on %zu of %llu vblanks, less than %.0f%%", output_flips,
		   (unsigned long long)vblanks, 100 * MIN_SHARE);

	for (size_t i = 0; i < N_VMMS; i++)
		close(vmms[i].report[0]);
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("vgpu-pace: ok\n");
	return 0;
}
