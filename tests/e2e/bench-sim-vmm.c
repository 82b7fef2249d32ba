// SPDX-License-Identifier: MIT
/*
 * bench-sim-vmm: vscanoutd's code in this process, vscanout-sim-vmm as its
 * client, on vkms with vsync flips (writeback and CRC off, so vkms composes
 * nothing). Two runs of the sim:
 *
 *   --pace vblank  one commit per vblank eventfd wakeup. Measures the
 *                  daemon-added latency: from the sim's timestamp right
 *                  before it sends commit to the daemon's atomic commit
 *                  ioctl carrying that frame (drmModeAtomicCommit is wrapped
 *                  at link time to timestamp every real commit).
 *   --pace free    commits whenever a buffer is released: frames presented
 *                  per second must equal the refresh rate and every vblank
 *                  between the first and last presented frame must show a
 *                  new one.
 *
 * Prints the figures and exits with status 1 when a target is missed:
 * daemon-added latency p99 < 1 ms; presented per second within 0.5 % of
 * the refresh rate with no vblank left without a new frame.
 * usage: bench-sim-vmm PATH-TO-vscanout-sim-vmm [SECONDS]
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <xf86drmMode.h>

#include "child.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kmstest.h"
#include "stats.h"
#include "util/log.h"

#define SOCKET "/tmp/vscanout-bench-0"
/* Commits left out at the start: each buffer's first one imports it. */
#define WARMUP_COMMITS 10

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET "\n"
				  "[output Virtual-1]\n"
				  "vgpu = sim\n"
				  "flip = vsync\n"
				  "[vgpu sim]\n";

/* Times of the daemon's real (not TEST_ONLY) atomic commits. */
static uint64_t *ioctl_ns;
static size_t n_ioctls, cap_ioctls;

int __real_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data);
int __wrap_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data);

int __wrap_drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user_data)
{
	if (!(flags & DRM_MODE_ATOMIC_TEST_ONLY)) {
		if (n_ioctls == cap_ioctls) {
			cap_ioctls = cap_ioctls ? 2 * cap_ioctls : 4096;
			ioctl_ns = realloc(ioctl_ns, cap_ioctls * sizeof(*ioctl_ns));
			kt_assert(ioctl_ns != NULL);
		}
		ioctl_ns[n_ioctls++] = kt_now_ns();
	}
	return __real_drmModeAtomicCommit(fd, req, flags, user_data);
}

static double cpu_ms(const struct rusage *before, const struct rusage *after)
{
	double b = (double)(before->ru_utime.tv_sec + before->ru_stime.tv_sec) * 1e3 +
		   (double)(before->ru_utime.tv_usec + before->ru_stime.tv_usec) / 1e3;
	double a = (double)(after->ru_utime.tv_sec + after->ru_stime.tv_sec) * 1e3 +
		   (double)(after->ru_utime.tv_usec + after->ru_stime.tv_usec) / 1e3;
	return a - b;
}

/*
 * Times at which the daemon read requests from a client socket: libwayland
 * reads with recvmsg(), which this definition interposes. Other callers
 * (udev's netlink socket) read rarely and only add entries nobody matches.
 */
static uint64_t *recv_ns;
static size_t n_recvs, cap_recvs;

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "recvmsg");
	ssize_t n = real(fd, msg, flags);
	if (n > 0) {
		if (n_recvs == cap_recvs) {
			cap_recvs = cap_recvs ? 2 * cap_recvs : 4096;
			recv_ns = realloc(recv_ns, cap_recvs * sizeof(*recv_ns));
			kt_assert(recv_ns != NULL);
		}
		recv_ns[n_recvs++] = kt_now_ns();
	}
	return n;
}

/* The first of times[0..n) at or after t, from index *next on; false if none. */
static bool first_after(const uint64_t *times, size_t n, size_t *next, uint64_t t)
{
	while (*next < n && times[*next] < t)
		(*next)++;
	return *next < n;
}

static void print_percentiles(const char *what, uint64_t *samples, size_t n)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = samples[i] > max ? samples[i] : max;
	uint64_t p50 = stats_percentile(samples, n, 50);
	uint64_t p99 = stats_percentile(samples, n, 99);
	printf("%s (%zu frames): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what, n,
	       (double)p50 / 1e6, (double)p99 / 1e6, (double)max / 1e6);
}

static void run_sim(struct daemon *daemon, const char *sim_path, const char *pace,
		    const char *seconds, bool trace, struct e2e_child *child)
{
	char *argv[] = {
		(char *)sim_path,
		"--socket",
		SOCKET,
		"--vgpu",
		"sim",
		"--pace",
		(char *)pace,
		"--seconds",
		(char *)seconds,
		trace ? "--trace" : NULL,
		NULL,
	};
	n_ioctls = n_recvs = 0;
	struct rusage self_before, children_before, self_after, children_after;
	getrusage(RUSAGE_SELF, &self_before);
	getrusage(RUSAGE_CHILDREN, &children_before);
	e2e_child_spawn_quiet(child, daemon->loop, argv);
	uint64_t deadline = kt_now_ns() + (uint64_t)(atof(seconds) * 1e9) + 60000000000ull;
	while (!child->exited || !child->eof)
		e2e_dispatch(daemon, deadline, "the sim's run");
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0,
		   "the sim failed (status %#x)", child->status);
	getrusage(RUSAGE_SELF, &self_after);
	getrusage(RUSAGE_CHILDREN, &children_after);
	printf("--- vscanout-sim-vmm --pace %s --seconds %s\n%s", pace, seconds,
	       e2e_child_stat(child, "vgpu sim on output"));
	unsigned long long n_presented = 0;
	kt_assert(sscanf(e2e_child_stat(child, "frames presented:"), "frames presented: %llu",
			 &n_presented) == 1);
	double frames = n_presented ? (double)n_presented : 1;
	printf("CPU per presented frame: daemon (and this test) %.3f ms, sim %.3f ms\n",
	       cpu_ms(&self_before, &self_after) / frames,
	       cpu_ms(&children_before, &children_after) / frames);
}

static bool presented(const struct e2e_child *child, uint32_t serial)
{
	for (size_t i = 0; i < child->n_presented; i++) {
		if (child->presented[i].serial == serial)
			return true;
	}
	return false;
}

/*
 * Daemon-added latency of each presented commit: to the first ioctl after
 * it; split into the way to the daemon (the first recvmsg() after the
 * commit) and the daemon's own work (from there to the ioctl).
 */
static bool report_latency(const struct e2e_child *child)
{
	size_t cap = child->n_commits + 1;
	uint64_t *total = calloc(cap, sizeof(*total)), *wire = calloc(cap, sizeof(*wire));
	uint64_t *work = calloc(cap, sizeof(*work));
	kt_assert(total != NULL && wire != NULL && work != NULL);
	size_t n = 0, next_ioctl = 0, next_recv = 0;
	for (size_t i = WARMUP_COMMITS; i < child->n_commits; i++) {
		const struct e2e_commit *c = &child->commits[i];
		if (!first_after(ioctl_ns, n_ioctls, &next_ioctl, c->time_ns) ||
		    !first_after(recv_ns, n_recvs, &next_recv, c->time_ns))
			break;
		if (!presented(child, c->serial) || recv_ns[next_recv] > ioctl_ns[next_ioctl])
			continue;
		total[n] = ioctl_ns[next_ioctl] - c->time_ns;
		wire[n] = recv_ns[next_recv] - c->time_ns;
		work[n] = ioctl_ns[next_ioctl] - recv_ns[next_recv];
		n++;
	}
	kt_assertf(n > 0, "no commit to measure");
	print_percentiles("  sim's commit to the daemon's recvmsg", wire, n);
	print_percentiles("  daemon's recvmsg to its atomic ioctl", work, n);
	uint64_t p99 = stats_percentile(total, n, 99);
	print_percentiles("daemon-added latency, commit to atomic ioctl", total, n);
	bool met = p99 < 1000000;
	printf("target daemon-added latency p99 < 1 ms: %s\n", met ? "met" : "MISSED");
	free(total);
	free(wire);
	free(work);
	return met;
}

/* Presented per second against the refresh rate, and vblanks without a new frame. */
static bool report_rate(const struct e2e_child *child, struct kms_output *output)
{
	double refresh = 0;
	if (output->mode.htotal && output->mode.vtotal)
		refresh = output->mode.clock * 1000.0 / output->mode.htotal / output->mode.vtotal;
	double rate = 0;
	unsigned long long missed = 0;
	kt_assert(sscanf(e2e_child_stat(child, "presented per second:"),
			 "presented per second: %lf", &rate) == 1);
	kt_assert(sscanf(e2e_child_stat(child, "vblanks without a new frame:"),
			 "vblanks without a new frame: %llu", &missed) == 1);
	bool met = rate > refresh * 0.995 && rate < refresh * 1.005 && missed == 0;
	printf("presented per second %.2f at a refresh of %.3f Hz, %llu vblanks without a new "
	       "frame: target (the refresh rate, none without a new frame) %s\n",
	       rate, refresh, missed, met ? "met" : "MISSED");
	return met;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PATH-TO-vscanout-sim-vmm [SECONDS]\n", argv[0]);
		return 2;
	}
	const char *seconds = argc == 3 ? argv[2] : "10";
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_WARN);

	struct daemon *daemon = e2e_daemon_create(config_text);
	struct kms_output *output = display_find_output(daemon->display_manager, "Virtual-1");
	kt_assert(output != NULL);

	struct e2e_child child;
	bool ok = true;
	run_sim(daemon, argv[1], "vblank", seconds, true, &child);
	ok &= report_latency(&child);
	ok &= report_rate(&child, output);
	e2e_child_finish(&child);

	run_sim(daemon, argv[1], "free", seconds, false, &child);
	ok &= report_rate(&child, output);
	e2e_child_finish(&child);

	daemon_destroy(daemon);
	free(ioctl_ns);
	free(recv_ns);
	return ok ? 0 : 1;
}
