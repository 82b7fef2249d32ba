// SPDX-License-Identifier: MIT
/*
 * Runs the vscanoutd binary (path in argv[1]) as a service manager would.
 *
 * On the host: the command line, configuration errors and --version/--help.
 * With "--with-display" (in the VM, where a KMS device exists): vscanoutd
 * runs with its own NOTIFY_SOCKET; after READY=1, SIGTERM or SIGINT ends it
 * with status 0, and its outputs are off afterwards. Then, with seatd
 * started here as the seat manager, killing seatd for good ends vscanoutd
 * with status 1 (systemd restarts it), never a hang.
 * With "--without-display" (in the VM with no KMS driver loaded): vscanoutd
 * exits at once with status 1, naming the problem, and never says READY=1.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* A bound ceiling for waiting on events that should come at once. */
#define EVENT_TIMEOUT_MS 20000

static const char *daemon_path;
static char tmpdir[] = "/tmp/vscanout-test-XXXXXX";

struct child {
	pid_t pid;
	int out_fd; /* stdout, read end */
	int err_fd; /* stderr, read end */
};

static struct child spawn(char *const argv[], const char *notify_socket)
{
	int out[2], err[2];
	check(pipe2(out, O_CLOEXEC) == 0);
	check(pipe2(err, O_CLOEXEC) == 0);
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if (notify_socket != NULL)
			setenv("NOTIFY_SOCKET", notify_socket, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		unsetenv("JOURNAL_STREAM");
		execv(daemon_path, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	return (struct child){.pid = pid, .out_fd = out[0], .err_fd = err[0]};
}

/* Read a pipe to its end into `buf` (NUL-terminated). */
static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		check(poll(&pfd, 1, EVENT_TIMEOUT_MS) == 1);
		ssize_t n = read(fd, buf + len, size - 1 - len);
		check(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		check(len < size - 1);
	}
	buf[len] = '\0';
	close(fd);
}

static int finish(struct child *c, char *out, size_t out_size, char *err, size_t err_size)
{
	read_all(c->out_fd, out, out_size);
	read_all(c->err_fd, err, err_size);
	int status;
	check(waitpid(c->pid, &status, 0) == c->pid);
	check(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/*
 * Wait for the notification datagram that contains `want`; datagrams that
 * only report STATUS= or feed the watchdog may come before it.
 */
static void expect_notify(int sock, const char *want)
{
	for (;;) {
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		check(poll(&pfd, 1, EVENT_TIMEOUT_MS) == 1);
		char buf[256];
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
		check(n > 0);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return;
		check(strncmp(buf, "STATUS=", 7) == 0 || strncmp(buf, "WATCHDOG=", 9) == 0);
	}
}

/*
 * After vscanoutd exits, none of its framebuffers may still be on a plane.
 * (The kernel's fbdev console takes the CRTC back once the master is gone,
 * so a lit CRTC alone proves nothing; the debugfs state names who allocated
 * each framebuffer.) Also checks vscanoutd had been on screen at all: the
 * state seen while it ran must have named it.
 */
static void check_released(void)
{
	int cards = 0;
	for (int i = 0; i < 16; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/state", i);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		cards++;
		char line[256];
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strstr(line, "allocated by = vscanoutd") != NULL)
				fprintf(stderr, "%s: %s", path, line);
			check(strstr(line, "allocated by = vscanoutd") == NULL);
		}
		fclose(f);
	}
	check(cards > 0);
}

/* While vscanoutd runs, its framebuffer must be on a plane of some card. */
static void check_on_screen(void)
{
	bool found = false;
	for (int i = 0; i < 16 && !found; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/state", i);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		char line[256];
		while (fgets(line, sizeof(line), f) != NULL)
			found = found || strstr(line, "allocated by = vscanoutd") != NULL;
		fclose(f);
	}
	check(found);
}

/* A datagram socket named `name` in the test's directory, as NOTIFY_SOCKET; its path in path. */
static int notify_socket(char *path, size_t size, const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	check(size >= sizeof(addr.sun_path));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", tmpdir, name);
	snprintf(path, size, "%s", addr.sun_path);
	unlink(path);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	check(sock >= 0);
	check(bind(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return sock;
}

static void test_signal_exits_cleanly(int signal_number)
{
	char path[108];
	int sock = notify_socket(path, sizeof(path), "notify");

	char *argv[] = {"vscanoutd", NULL};
	setenv("LIBSEAT_BACKEND", "noop", 1);
	struct child c = spawn(argv, path);
	expect_notify(sock, "READY=1");
	check_on_screen();
	check(kill(c.pid, signal_number) == 0);
	expect_notify(sock, "STOPPING=1");

	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check_contains(err, "shutting down");
	check_released();
	close(sock);
	unlink(path);
}

/* Start seatd and wait for its readiness notification; returns its pid. */
static pid_t start_seatd(void)
{
	int ready[2];
	check(pipe(ready) == 0);
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", ready[1]);
		execlp("seatd", "seatd", "-n", fd, "-l", "error", (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	char buf[64];
	struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
	check(poll(&pfd, 1, EVENT_TIMEOUT_MS) == 1);
	check(read(ready[0], buf, sizeof(buf)) > 0);
	close(ready[0]);
	return pid;
}

/* The seat manager goes away for good: vscanoutd exits with status 1. */
static void test_seat_lost(void)
{
	char path[108];
	int sock = notify_socket(path, sizeof(path), "notify-seatd");

	pid_t seatd = start_seatd();
	char *argv[] = {"vscanoutd", NULL};
	setenv("LIBSEAT_BACKEND", "seatd", 1);
	struct child c = spawn(argv, path);
	expect_notify(sock, "READY=1");
	check_on_screen();
	check(kill(seatd, SIGKILL) == 0);
	check(waitpid(seatd, NULL, 0) == seatd);

	/* finish() bounds the wait: a hang fails the test. */
	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_contains(err, "lost the connection");
	close(sock);
	unlink(path);
}

/* No KMS device on the seat: status 1 at once, with the reason, and no READY=1. */
static void test_no_display(void)
{
	char path[108];
	int sock = notify_socket(path, sizeof(path), "notify-none");

	char *argv[] = {"vscanoutd", NULL};
	setenv("LIBSEAT_BACKEND", "noop", 1);
	struct child c = spawn(argv, path);
	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_contains(err, "no usable KMS device");
	char buf[256];
	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0)
			break;
		buf[n] = '\0';
		check(strstr(buf, "READY=1") == NULL);
	}
	close(sock);
	unlink(path);
}

static void test_bad_option(void)
{
	char *argv[] = {"vscanoutd", "--bogus", NULL};
	struct child c = spawn(argv, NULL);
	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 2);
	check_contains(err, "unknown option '--bogus'");
	check_str_eq(out, "");
}

static void test_missing_config(void)
{
	char *argv[] = {"vscanoutd", "-c", "/nonexistent/vscanout.conf", NULL};
	struct child c = spawn(argv, NULL);
	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_contains(err, "cannot open configuration file /nonexistent/vscanout.conf");
	check_int_eq(count_lines(err), 1);
}

static void test_bad_config(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	FILE *f = fopen(path, "w");
	check(f != NULL);
	fputs("[daemon]\n\nlog-level = shouting\n", f);
	fclose(f);

	char *argv[] = {"vscanoutd", "--config", path, NULL};
	struct child c = spawn(argv, NULL);
	char out[4096], err[4096];
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_contains(err, "bad.conf:3: [daemon] log-level 'shouting'");
	check_int_eq(count_lines(err), 1);
	/* The message alone: no "[src/...:N]" before FILE:LINE. */
	check(strncmp(err, path, strlen(path)) == 0);
	unlink(path);
}

/* --check-config: the verdict on the file alone, nothing started. */
static void test_check_config(void)
{
	char good[128], bad[128];
	snprintf(good, sizeof(good), "%s/good.conf", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad.conf", tmpdir);
	FILE *f = fopen(good, "w");
	check(f != NULL);
	fputs("[output HDMI-A-1]   # a monitor\nvgpu = a\nrotation = 270 # turned\n", f);
	fclose(f);
	f = fopen(bad, "w");
	check(f != NULL);
	fputs("[output HDMI-A-1]\nblank = maybe\n", f);
	fclose(f);

	char out[4096], err[4096];
	char *ok[] = {"vscanoutd", "--check-config", "-c", good, NULL};
	struct child c = spawn(ok, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check_contains(out, "good.conf: valid");
	check_str_eq(err, "");

	char *not_ok[] = {"vscanoutd", "-t", "-c", bad, NULL};
	c = spawn(not_ok, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_contains(err, "bad.conf:2: [output HDMI-A-1] blank 'maybe'");
	check_str_eq(out, "");
	unlink(good);
	unlink(bad);
}

/* Without -c: the default file, here absent, so the built-in defaults. */
static void test_check_default(void)
{
	char out[4096], err[4096];
	char *argv[] = {"vscanoutd", "--check-config", NULL};
	struct child c = spawn(argv, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check_contains(out, "/vscanout/vscanout.conf does not exist: vscanoutd runs with the "
			    "built-in defaults");
	check_str_eq(err, "");
}

/* --seat against the file's [daemon] seat, and where messages come from. */
static void test_seat_and_source_locations(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/seat0.conf", tmpdir);
	FILE *f = fopen(path, "w");
	check(f != NULL);
	fputs("[daemon]\nseat = seat0\n", f);
	fclose(f);

	char out[4096], err[4096], want[256];
	char *same[] = {"vscanoutd", "-t", "--seat", "seat0", "-c", path, NULL};
	struct child c = spawn(same, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check_contains(out, "seat0.conf: valid");

	char *other[] = {"vscanoutd", "-t", "--seat", "seat1", "-c", path, NULL};
	c = spawn(other, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	snprintf(want, sizeof(want),
		 "%s:2: [daemon] seat = seat0, but vscanoutd was started for seat seat1 "
		 "(--seat seat1)\n",
		 path);
	/* One line, FILE:LINE: message, nothing before it. */
	check_str_eq(err, want);
	check_str_eq(out, "");

	/* -v: still the message alone; -vv: where in the source it was written. */
	char *verbose[] = {"vscanoutd", "-v", "-t", "--seat", "seat1", "-c", path, NULL};
	c = spawn(verbose, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check_str_eq(err, want);
	char *debug[] = {"vscanoutd", "-vv", "-t", "--seat", "seat1", "-c", path, NULL};
	c = spawn(debug, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 1);
	check(strncmp(err, "[src/config/config.c:", 21) == 0);
	check_contains(err, want);
	unlink(path);
}

static void test_version_and_help(void)
{
	char out[4096], err[4096];
	char *version[] = {"vscanoutd", "--version", NULL};
	struct child c = spawn(version, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check(strncmp(out, "vscanoutd ", 10) == 0);
	check_str_eq(err, "");

	char *help[] = {"vscanoutd", "-h", NULL};
	c = spawn(help, NULL);
	check_int_eq(finish(&c, out, sizeof(out), err, sizeof(err)), 0);
	check_contains(out, "Usage: vscanoutd");
	check_contains(out, "--seat");
}

int main(int argc, char *argv[])
{
	check(argc == 2 || argc == 3);
	daemon_path = argv[1];
	check(mkdtemp(tmpdir) != NULL);

	if (argc == 3 && strcmp(argv[2], "--without-display") == 0) {
		test_no_display();
		rmdir(tmpdir);
		return 0;
	}
	if (argc == 3) {
		check_str_eq(argv[2], "--with-display");
		test_signal_exits_cleanly(SIGTERM);
		test_signal_exits_cleanly(SIGINT);
		test_seat_lost();
		rmdir(tmpdir);
		return 0;
	}
	test_bad_option();
	test_missing_config();
	test_bad_config();
	test_version_and_help();
	test_check_config();
	test_check_default();
	test_seat_and_source_locations();

	rmdir(tmpdir);
	return 0;
}
