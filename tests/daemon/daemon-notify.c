// SPDX-License-Identifier: MIT
/*
 * vscanoutd under a service manager: this test plays systemd for the real
 * binary (path in argv[1]) on vkms. It binds the NOTIFY_SOCKET datagram
 * socket, asks for a watchdog of 500 ms (WATCHDOG_USEC, WATCHDOG_PID) and
 * checks:
 *   - READY=1 comes only once the first frame is on screen: the daemon has
 *     logged "every output shows its first frame" and debugfs shows an
 *     active CRTC with a vscanoutd framebuffer on a plane;
 *   - at least 3 WATCHDOG=1 in the 2 s after READY=1;
 *   - STATUS= lines;
 *   - after SIGTERM: STOPPING=1, exit status 0, and every CRTC off with no
 *     vscanoutd framebuffer left (run without fbdev emulation, so that the
 *     console does not take the CRTC back).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define EVENT_TIMEOUT_MS 20000
#define WATCHDOG_USEC    "500000"

static char tmpdir[] = "/tmp/vscanout-notify-XXXXXX";

/* The daemon's stderr, as read so far. */
static char log_text[65536];
static size_t log_len;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what the daemon wrote to stderr without blocking. Returns false at EOF. */
static bool drain_log(int fd)
{
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return false;
		if (n < 0) {
			check(errno == EAGAIN || errno == EINTR);
			return true;
		}
		fwrite(buf, 1, (size_t)n, stderr); /* the daemon's log, for the artefacts */
		size_t room = sizeof(log_text) - 1 - log_len;
		size_t keep = (size_t)n < room ? (size_t)n : room;
		memcpy(log_text + log_len, buf, keep);
		log_len += keep;
		log_text[log_len] = '\0';
	}
}

/*
 * Wait up to `timeout_ms` for one notification (NUL-terminated into buf),
 * reading the daemon's log meanwhile. Returns false on timeout.
 */
static bool next_notify(int sock, int log_fd, char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd pfds[2] = {
			{.fd = sock, .events = POLLIN},
			{.fd = log_fd, .events = POLLIN},
		};
		int n = poll(pfds, log_fd >= 0 ? 2 : 1, (int)left);
		check(n >= 0 || errno == EINTR);
		if (n > 0 && pfds[1].revents != 0 && log_fd >= 0)
			drain_log(log_fd);
		if (n > 0 && (pfds[0].revents & POLLIN) != 0) {
			ssize_t len = recv(sock, buf, size - 1, 0);
			check(len >= 0);
			buf[len] = '\0';
			/* What was logged before the message was sent is in the pipe now. */
			if (log_fd >= 0)
				drain_log(log_fd);
			fprintf(stderr, "notify: %s\n", buf);
			return true;
		}
	}
}

/* Whether one of the assignments in a notification is exactly `want`. */
static bool has_assignment(const char *message, const char *want)
{
	size_t len = strlen(want);
	for (const char *p = message; p != NULL && *p != '\0';) {
		if (strncmp(p, want, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return true;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

struct kms_state {
	int cards;
	int active_crtcs;
	int vscanoutd_fbs; /* planes showing a framebuffer vscanoutd allocated */
};

static struct kms_state read_state(void)
{
	struct kms_state state = {0};
	for (int i = 0; i < 16; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/state", i);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		state.cards++;
		char line[256];
		bool in_crtc = false;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (line[0] != '\t' && line[0] != ' ')
				in_crtc = strncmp(line, "crtc[", 5) == 0;
			if (in_crtc && strstr(line, "active=1") != NULL)
				state.active_crtcs++;
			if (strstr(line, "allocated by = vscanoutd") != NULL)
				state.vscanoutd_fbs++;
		}
		fclose(f);
	}
	return state;
}

int main(int argc, char *argv[])
{
	check(argc == 2);
	const char *daemon_path = argv[1];
	check(mkdtemp(tmpdir) != NULL);

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/notify", tmpdir);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	check(sock >= 0);
	check(bind(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0);

	/* Nothing lit before the daemon starts. */
	struct kms_state before = read_state();
	check(before.cards > 0);
	check_int_eq(before.active_crtcs, 0);

	int err[2];
	check(pipe2(err, O_CLOEXEC) == 0);
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		dup2(err[1], STDERR_FILENO);
		setenv("NOTIFY_SOCKET", addr.sun_path, 1);
		setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
		char pid_text[32];
		snprintf(pid_text, sizeof(pid_text), "%d", (int)getpid());
		setenv("WATCHDOG_PID", pid_text, 1);
		setenv("LIBSEAT_BACKEND", "noop", 1);
		unsetenv("JOURNAL_STREAM");
		execl(daemon_path, "vscanoutd", (char *)NULL);
		_exit(127);
	}
	close(err[1]);
	int log_fd = err[0];
	check(fcntl(log_fd, F_SETFL, O_NONBLOCK) == 0);

	/* READY=1, and only after the first frame is on screen. */
	char msg[1024];
	int statuses = 0, watchdogs_before_ready = 0;
	for (;;) {
		check(next_notify(sock, log_fd, msg, sizeof(msg), EVENT_TIMEOUT_MS));
		check(!has_assignment(msg, "STOPPING=1"));
		if (strstr(msg, "STATUS=") != NULL)
			statuses++;
		if (has_assignment(msg, "WATCHDOG=1"))
			watchdogs_before_ready++;
		if (has_assignment(msg, "READY=1"))
			break;
	}
	check_contains(log_text, "every output shows its first frame");
	struct kms_state running = read_state();
	fprintf(stderr, "at READY=1: %d active CRTCs, %d vscanoutd framebuffers\n",
		running.active_crtcs, running.vscanoutd_fbs);
	check(running.active_crtcs > 0);
	check(running.vscanoutd_fbs > 0);

	/* The watchdog is fed from the loop: at least 3 in 2 s (one every 250 ms). */
	int watchdogs = 0;
	int64_t end = now_ms() + 2000;
	for (int64_t left; (left = end - now_ms()) > 0;) {
		if (!next_notify(sock, log_fd, msg, sizeof(msg), (int)left))
			break;
		if (has_assignment(msg, "WATCHDOG=1"))
			watchdogs++;
		if (strstr(msg, "STATUS=") != NULL)
			statuses++;
		check(!has_assignment(msg, "STOPPING=1"));
	}
	fprintf(stderr, "%d WATCHDOG=1 before READY=1, %d in the 2 s after\n",
		watchdogs_before_ready, watchdogs);
	check(watchdogs >= 3);
	check(watchdogs <= 12); /* at half the interval, not in a busy loop */

	/* SIGTERM: STOPPING=1, a clean exit, the outputs released. */
	check(kill(pid, SIGTERM) == 0);
	bool stopping = false;
	while (!stopping && next_notify(sock, log_fd, msg, sizeof(msg), EVENT_TIMEOUT_MS)) {
		if (strstr(msg, "STATUS=") != NULL)
			statuses++;
		stopping = has_assignment(msg, "STOPPING=1");
	}
	check(stopping);
	fprintf(stderr, "%d STATUS= lines\n", statuses);
	check(statuses >= 1);

	int64_t deadline = now_ms() + EVENT_TIMEOUT_MS;
	while (drain_log(log_fd)) {
		check(now_ms() < deadline);
		struct pollfd pfd = {.fd = log_fd, .events = POLLIN};
		poll(&pfd, 1, 100);
	}
	int status;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status));
	check_int_eq(WEXITSTATUS(status), 0);
	check_contains(log_text, "shutting down");

	struct kms_state after = read_state();
	fprintf(stderr, "after exit: %d active CRTCs, %d vscanoutd framebuffers\n",
		after.active_crtcs, after.vscanoutd_fbs);
	check_int_eq(after.vscanoutd_fbs, 0);
	check_int_eq(after.active_crtcs, 0);

	close(log_fd);
	close(sock);
	unlink(addr.sun_path);
	rmdir(tmpdir);
	return 0;
}
