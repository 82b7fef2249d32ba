// SPDX-License-Identifier: MIT
/*
 * Soak: vscanoutd (the installed binary, argv[1]) under churn for
 * VSCANOUT_SOAK_SECONDS (default 60), in the VM test bed with vkms, under
 * seatd. Round after round, until the time is up:
 *
 *  - a VMM (vscanout-sim-vmm, argv[2]) attaches to one vGPU and commits
 *    frames as fast as buffers come back; it is killed with SIGKILL in
 *    the middle of its frames;
 *  - a second VMM attaches to the other vGPU and leaves by itself: after
 *    five frames, all presented, when that vGPU is on screen, or on the
 *    protocol error of a vGPU shown nowhere;
 *  - with an mbochs mdev, while the third vGPU is on screen, a VMM hands
 *    its VFIO device over, plays the guest and is killed the same way;
 *  - every second round vscanoutctl (argv[3]) asks for the status, every
 *    third the configuration is rewritten (the next vGPU goes on screen)
 *    and reloaded with SIGHUP, every fifth the VT is switched away (a VMM
 *    attaches meanwhile) and back.
 *
 * The daemon's open fds (/proc/PID/fd) and resident memory (VmRSS) are
 * taken after a warm-up and at the end, each time once no client is left
 * and the counts have settled. The soak fails if the fds grew at all, if
 * the memory grew by more than max(2 MiB, 10 %), if the daemon died, or if
 * a VMM can no longer show frames at the end; then the daemon stops
 * cleanly on SIGTERM. Its log is kept as vscanoutd.log in the artefacts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmstest.h"
#include "seatest.h"

#define EVENT_TIMEOUT_MS 30000
#define RSS_MARGIN_KB    2048

static const char *daemon_path, *sim_path, *ctl_path;
static char dir[] = "/tmp/vscanout-soak-XXXXXX";
static char conf_path[PATH_MAX], socket_path[108];

static struct {
	unsigned int rounds, killed, ended, vfio_killed, reloads, vt_switches, status;
} counts;

/* An mbochs mdev for a VMM that hands its VFIO device over; "" when there is none. */
#define MDEV_TYPE "/sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-medium"
static char mdev_uuid[37];

static const char *const vgpus[] = {"soak-a", "soak-b", "soak-v"};

/*
 * The vGPU on Virtual-1 in a generation (each reload starts the next):
 * soak-a, soak-b, and soak-v (shown through VFIO) when there is an mdev.
 */
static const char *shown_vgpu(unsigned int generation)
{
	return vgpus[generation % (mdev_uuid[0] != '\0' ? 3 : 2)];
}

static void write_config(unsigned int generation)
{
	FILE *f = fopen(conf_path, "we");
	kt_assert_errno(f != NULL);
	fprintf(f,
		"[daemon]\nsocket = %s\n"
		"[output Virtual-1]\nmode = 1024x768\nvgpu = %s\nplaceholder = #%06x\n"
		"[vgpu soak-a]\n[vgpu soak-b]\n[vgpu soak-v]\npoll = vblank\n",
		socket_path, shown_vgpu(generation), 0x204060 + 0x100000 * (generation % 3));
	kt_assert_errno(fclose(f) == 0);
}

static void create_mdev(void)
{
	if (access(MDEV_TYPE "/create", W_OK) != 0) {
		kt_log("no mbochs (%s): no VFIO VMMs", MDEV_TYPE);
		return;
	}
	snprintf(mdev_uuid, sizeof(mdev_uuid), "%s", "5eed5eed-0000-4000-8000-00000000500a");
	kt_write_file(MDEV_TYPE "/create", mdev_uuid);
	kt_log("mdev %s: a VMM hands its VFIO device over while soak-v is on screen", mdev_uuid);
}

static void remove_mdev(void)
{
	if (mdev_uuid[0] == '\0')
		return;
	char path[128];
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", mdev_uuid);
	kt_write_file(path, "1");
}

static pid_t spawn(char *const argv[], const char *log_name, int notify_fd)
{
	char log_path[PATH_MAX];
	const char *artefacts = getenv("VM_ARTEFACTS");
	snprintf(log_path, sizeof(log_path), "%s/%s", artefacts != NULL ? artefacts : dir,
		 log_name);
	fflush(NULL);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (notify_fd < 0)
			unsetenv("NOTIFY_SOCKET");
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;
	pid_t ret;
	do {
		ret = waitpid(pid, &status, 0);
	} while (ret < 0 && errno == EINTR);
	kt_assert_errno(ret == pid);
	return status;
}

/* Wait for pid to exit by itself for at most timeout_ms, else SIGKILL it; true if it did. */
static bool wait_child_or_kill(pid_t pid, int timeout_ms, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kt_assert_errno(pidfd >= 0);
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	int ret;
	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	close(pidfd);
	if (ret == 0)
		kill(pid, SIGKILL);
	*status = wait_child(pid);
	return ret > 0;
}

/* Wait for a notification datagram containing want; others (STATUS=, ...) pass. */
static void wait_notify(int sock, const char *want)
{
	uint64_t deadline = kt_now_ns() + EVENT_TIMEOUT_MS * 1000000ull;
	for (;;) {
		uint64_t now = kt_now_ns();
		kt_assertf(now < deadline, "vscanoutd did not say %s within %d ms", want,
			   EVENT_TIMEOUT_MS);
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		int ret = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		kt_assert_errno(ret >= 0 || errno == EINTR);
		if (ret <= 0)
			continue;
		char buf[512];
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
		kt_assert_errno(n >= 0);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return;
	}
}

/* The daemon must still run. */
static void check_alive(pid_t daemon)
{
	int status;
	pid_t ret = waitpid(daemon, &status, WNOHANG);
	kt_assertf(ret == 0, "vscanoutd is gone (status %#x); see vscanoutd.log", status);
}

static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	int n = 0;
	DIR *d = opendir(path);
	kt_assert_errno(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* What each fd of pid refers to, one per line, for a report. */
static void list_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	kt_assert_errno(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char link[PATH_MAX + 64], target[PATH_MAX];
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		kt_log("  fd %s -> %s", e->d_name, target);
	}
	closedir(d);
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	kt_assert_errno(f != NULL);
	long kb = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	kt_assert(kb > 0);
	return kb;
}

static void pause_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Once every client has gone, the daemon lets go of their buffers with the
 * next flip: its fd count is taken when it has not changed for half a
 * second (at most 10 s). There is no event for that, so it is sampled.
 */
static int settled_fds(pid_t daemon)
{
	int last = count_fds(daemon), same = 0;
	for (int i = 0; i < 100 && same < 5; i++) {
		pause_ms(100);
		int n = count_fds(daemon);
		same = n == last ? same + 1 : 0;
		last = n;
	}
	return last;
}

static void run_ctl_status(void)
{
	char *argv[] = {(char *)ctl_path, "--socket", socket_path, "status", NULL};
	int status = wait_child(spawn(argv, "vscanoutctl.log", -1));
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vscanoutctl status: %#x",
		   status);
	counts.status++;
}

static pid_t start_vmm(const char *vgpu, const char *extra1, const char *extra2)
{
	char *argv[] = {(char *)sim_path, "--socket",     socket_path, "--vgpu",
			(char *)vgpu,     "--cursor",     "--size",    "640x480",
			(char *)extra1,   (char *)extra2, NULL};
	return spawn(argv, "vmm.log", -1);
}

/* A small deterministic spread of waits, so kills land at varied points of a frame. */
static unsigned int jitter_ms(unsigned int round, unsigned int base, unsigned int spread)
{
	return base + (round * 7919u) % spread;
}

/* One round of churn; generation counts the reloads. */
static void churn(pid_t daemon, int notify, int tty0, int home_vt, unsigned int round,
		  unsigned int *generation)
{
	counts.rounds++;
	/*
	 * The vGPUs take turns on screen. soak-a and soak-b get a VMM each,
	 * one of them on screen in turn; while soak-v is, a VMM hands it the
	 * mdev's VFIO device and plays its guest.
	 */
	const char *shown = shown_vgpu(*generation);
	bool b_first = round % 2 == 1;
	const char *fast_vgpu = b_first ? "soak-a" : "soak-b";
	const char *polite_vgpu = b_first ? "soak-b" : "soak-a";
	pid_t fast = start_vmm(fast_vgpu, "--pace", "free");
	pid_t polite = start_vmm(polite_vgpu, "--frames", "5");
	pid_t vfio = -1;
	if (strcmp(shown, "soak-v") == 0) {
		char *argv[] = {(char *)sim_path, "--socket", socket_path, "--vgpu", "soak-v",
				"--vfio-mdev",    mdev_uuid,  "--guest",   NULL};
		vfio = spawn(argv, "vmm-vfio.log", -1);
	}
	pause_ms(jitter_ms(round, 300, 500));
	/* Mid-frame: with --pace free a commit is always on its way. */
	kill(fast, SIGKILL);
	wait_child(fast);
	counts.killed++;
	if (vfio > 0) {
		/* Once handed over (the VFIO setup takes a while), the guest is drawing. */
		pause_ms(jitter_ms(round, 500, 700));
		kill(vfio, SIGKILL);
		wait_child(vfio);
		counts.vfio_killed++;
	}
	/*
	 * On screen, its frames are all presented (exit 0); shown nowhere it
	 * has no vblanks to pace it and leaves on that protocol error.
	 */
	int status;
	kt_assertf(wait_child_or_kill(polite, EVENT_TIMEOUT_MS, &status),
		   "round %u: a VMM on vGPU %s did not end", round, polite_vgpu);
	if (strcmp(polite_vgpu, shown) == 0)
		kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "round %u: a VMM on vGPU %s: status %#x (see vmm.log)", round, shown,
			   status);
	counts.ended++;
	check_alive(daemon);

	if (round % 2 == 1)
		run_ctl_status();
	if (round % 3 == 2) {
		write_config(++*generation);
		kt_assert_errno(kill(daemon, SIGHUP) == 0);
		wait_notify(notify, "READY=1");
		counts.reloads++;
	}
	if (round % 5 == 4 && tty0 >= 0) {
		int other_vt = home_vt == 2 ? 3 : 2;
		seatest_activate_vt(tty0, other_vt);
		seatest_wait_vt(tty0, other_vt);
		/* A VMM comes and goes while the daemon is away from the seat. */
		pid_t away = start_vmm("soak-a", "--frames", "3");
		pause_ms(jitter_ms(round, 200, 300));
		kill(away, SIGKILL);
		wait_child(away);
		seatest_activate_vt(tty0, home_vt);
		seatest_wait_vt(tty0, home_vt);
		counts.vt_switches += 2;
	}
	check_alive(daemon);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s VSCANOUTD VSCANOUT-SIM-VMM VSCANOUTCTL\n", argv[0]);
		return 2;
	}
	daemon_path = argv[1];
	sim_path = argv[2];
	ctl_path = argv[3];
	const char *env = getenv("VSCANOUT_SOAK_SECONDS");
	long seconds = env != NULL ? strtol(env, NULL, 10) : 60;
	kt_assertf(seconds >= 10, "VSCANOUT_SOAK_SECONDS=%s: at least 10 seconds",
		   env != NULL ? env : "");
	/* Warm-up: caches, the first modeset and the allocator's pools fill. */
	uint64_t warmup_ns = (uint64_t)(seconds / 6 > 5 ? seconds / 6 : 5) * 1000000000ull;

	signal(SIGPIPE, SIG_IGN);
	kt_assert_errno(mkdtemp(dir) != NULL);
	snprintf(conf_path, sizeof(conf_path), "%s/vscanout.conf", dir);
	snprintf(socket_path, sizeof(socket_path), "%s/vscanout-0", dir);
	unsigned int generation = 0;
	create_mdev();
	write_config(generation);

	/* VT switches need a VT and seatd; without a VT the soak goes on without them. */
	int tty0 = open("/dev/tty0", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int home_vt = tty0 >= 0 ? seatest_active_vt(tty0) : 0;
	pid_t seatd = seatest_start_seatd();
	setenv("LIBSEAT_BACKEND", "seatd", 1);
	if (tty0 < 0)
		kt_log("no VT (/dev/tty0: %s): no VT switches", strerror(errno));

	/* The daemon reports READY=1 (first frame, each reload) on a socket of ours. */
	char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path) - 8];
	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	int notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	kt_assert_errno(notify >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", notify_path);
	kt_assert_errno(bind(notify, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	setenv("NOTIFY_SOCKET", notify_path, 1);
	char *daemon_argv[] = {(char *)daemon_path, "--config", conf_path, NULL};
	pid_t daemon = spawn(daemon_argv, "vscanoutd.log", notify);
	unsetenv("NOTIFY_SOCKET");
	wait_notify(notify, "READY=1");
	kt_log("vscanoutd pid %d is ready; soak for %ld s", (int)daemon, seconds);

	uint64_t start = kt_now_ns();
	uint64_t end = start + (uint64_t)seconds * 1000000000ull;
	unsigned int round = 0;
	while (kt_now_ns() < start + warmup_ns)
		churn(daemon, notify, tty0, home_vt, round++, &generation);
	int fds_start = settled_fds(daemon);
	long rss_start = rss_kb(daemon);
	kt_log("after the warm-up (%u rounds): vscanoutd has %d fds, VmRSS %ld kB", round,
	       fds_start, rss_start);

	while (kt_now_ns() < end)
		churn(daemon, notify, tty0, home_vt, round++, &generation);
	int fds_end = settled_fds(daemon);
	long rss_end = rss_kb(daemon);
	long allowed = rss_start / 10 > RSS_MARGIN_KB ? rss_start / 10 : RSS_MARGIN_KB;
	kt_log("at the end (%u rounds): vscanoutd has %d fds, VmRSS %ld kB", round, fds_end,
	       rss_end);
	kt_log("%u rounds in %.1f s: %u VMMs killed mid-frame, %u ended, %u VFIO VMMs killed, "
	       "%u reloads, %u VT switches, %u status requests",
	       counts.rounds, (double)(kt_now_ns() - start) / 1e9, counts.killed, counts.ended,
	       counts.vfio_killed, counts.reloads, counts.vt_switches, counts.status);
	kt_log("fds: %d -> %d (%+d); VmRSS: %ld -> %ld kB (%+ld kB, allowed +%ld kB)", fds_start,
	       fds_end, fds_end - fds_start, rss_start, rss_end, rss_end - rss_start, allowed);
	if (fds_end > fds_start) {
		kt_log("the daemon's fds at the end:");
		list_fds(daemon);
	}
	kt_assertf(fds_end <= fds_start, "vscanoutd's fds grew from %d to %d", fds_start, fds_end);
	kt_assertf(rss_end - rss_start <= allowed, "vscanoutd's memory grew by %ld kB",
		   rss_end - rss_start);

	/* Still serving: a VMM on soak-a, put on screen, shows frames (exit 0). */
	while (strcmp(shown_vgpu(generation), "soak-a") != 0)
		generation++;
	write_config(generation);
	kt_assert_errno(kill(daemon, SIGHUP) == 0);
	wait_notify(notify, "READY=1");
	int status = wait_child(start_vmm("soak-a", "--frames", "10"));
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "a VMM after the soak: status %#x (see vmm.log)", status);

	kt_assert_errno(kill(daemon, SIGTERM) == 0);
	status = wait_child(daemon);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vscanoutd ended with %#x",
		   status);
	kill(seatd, SIGTERM);
	wait_child(seatd);
	remove_mdev();
	close(notify);
	unlink(notify_path);
	unlink(conf_path);
	rmdir(dir);
	return 0;
}
