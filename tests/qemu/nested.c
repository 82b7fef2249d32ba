// SPDX-License-Identifier: MIT
#include "nested.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/json.h"
#include "qmp.h"

#define QEMU_PROGRAM "qemu-system-x86_64"
#define BUS_PROGRAM  "dbus-daemon"

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)NESTED_TIMEOUT_MS * 1000000u;
}

bool nested_have_program(const char *program)
{
	if (strchr(program, '/') != NULL)
		return access(program, X_OK) == 0;
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		char full[512];
		snprintf(full, sizeof(full), "%.*s/%s", (int)n, path, program);
		if (access(full, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* The artefacts directory, or /tmp outside the test bed. */
static const char *artefacts(void)
{
	const char *dir = getenv("VM_ARTEFACTS");
	return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

/* ---------------------------------------------------------------------- */
/* QEMU                                                                   */
/* ---------------------------------------------------------------------- */

void nested_qemu_init(struct nested_qemu *q, const char *name, const char *dir, const char *image,
		      const char *display)
{
	*q = (struct nested_qemu){.name = name, .image = image, .pidfd = -1, .qmp = -1};
	/* The lengths checked by snprintf's results (gcc 14 does not see them in
	 * a check of the arguments' lengths and warns of truncation). */
	int n = snprintf(q->daemon_qmp, sizeof(q->daemon_qmp), "%s/%s-daemon.qmp", dir, name);
	kt_assert(n > 0 && (size_t)n < sizeof(q->daemon_qmp));
	n = snprintf(q->test_qmp, sizeof(q->test_qmp), "%s/%s-test.qmp", dir, name);
	kt_assert(n > 0 && (size_t)n < sizeof(q->test_qmp));
	snprintf(q->display, sizeof(q->display), "%s", display);
}

/* The QEMU child went away: fail with its status and where its log is. */
__attribute__((noreturn)) static void qemu_gone(struct nested_qemu *q, const char *what)
{
	int status = 0;
	pid_t r = waitpid(q->pid, &status, WNOHANG);
	kt_fail(__FILE__, __LINE__, "QEMU exited %s (status 0x%x%s), see %s/%s.log", what,
		r == q->pid ? status : -1, r == q->pid ? "" : ", not reaped", artefacts(), q->name);
}

/*
 * Wait until fd is readable (or, with fd -1, for at most `slice_ms`),
 * serving the daemon's loop meanwhile (serve may be NULL); the child of
 * pidfd exiting (gone() is called) or the deadline end the test. Returns
 * whether fd is readable.
 */
static bool wait_fd_of(int pidfd, nested_serve_fn serve, void *serve_data, int fd, int slice_ms,
		       uint64_t end, const char *what, void (*gone)(void *data, const char *what),
		       void *gone_data)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	uint64_t slice_end = kt_now_ns() + (uint64_t)slice_ms * 1000000u;
	for (;;) {
		int timeout = serve != NULL ? 0 : 50;
		int n = poll(p, 2, timeout);
		kt_assert_errno(n >= 0 || errno == EINTR);
		if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			return true;
		if (n > 0 && p[1].revents != 0)
			gone(gone_data, what);
		uint64_t now = kt_now_ns();
		kt_assertf(now < end, "timed out waiting for %s", what);
		if (fd < 0 && now >= slice_end)
			return false;
		if (serve != NULL)
			serve(serve_data, 10);
	}
}

static void qemu_gone_cb(void *data, const char *what)
{
	qemu_gone(data, what);
}

static bool wait_fd(struct nested_qemu *q, int fd, int slice_ms, uint64_t end, const char *what)
{
	return wait_fd_of(q->pidfd, q->serve, q->serve_data, fd, slice_ms, end, what, qemu_gone_cb,
			  q);
}

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	kt_assert_errno(fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* One line from QMP (without its newline; the caller frees it). */
static char *read_line(struct nested_qemu *q, uint64_t end, const char *what)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - q->buf);
			char *line = strndup(q->buf, n);
			kt_assert(line != NULL);
			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			return line;
		}
		kt_assertf(q->len < sizeof(q->buf), "QMP: a line longer than %zu bytes",
			   sizeof(q->buf));
		wait_fd(q, q->qmp, 0, end, what);
		ssize_t r = read(q->qmp, q->buf + q->len, sizeof(q->buf) - q->len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		kt_assert_errno(r >= 0);
		if (r == 0)
			qemu_gone(q, what);
		q->len += (size_t)r;
	}
}

static void send_line(struct nested_qemu *q, const char *line)
{
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t n = send(q->qmp, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		kt_assertf(n > 0, "QMP: cannot send %s: %s", line, strerror(errno));
		off += (size_t)n;
	}
}

char *nested_qemu_execute(struct nested_qemu *q, const char *execute, const char *arguments)
{
	kt_assert(q->qmp >= 0);
	char cmd[1024];
	if (arguments != NULL)
		snprintf(cmd, sizeof(cmd), "{\"execute\": \"%s\", \"arguments\": %s}\n", execute,
			 arguments);
	else
		snprintf(cmd, sizeof(cmd), "{\"execute\": \"%s\"}\n", execute);
	send_line(q, cmd);
	uint64_t end = deadline();
	for (;;) {
		char *line = read_line(q, end, execute);
		char err[128];
		struct json_value *v = json_parse(line, strlen(line), err, sizeof(err));
		kt_assertf(v != NULL && v->type == JSON_OBJECT, "QMP: %s: %s", err, line);
		bool event = json_get(v, "event") != NULL;
		const struct json_value *error = json_get(v, "error");
		if (error != NULL)
			kt_fail(__FILE__, __LINE__, "QMP %s: %s", execute,
				json_get_string(error, "desc") != NULL
					? json_get_string(error, "desc")
					: line);
		bool ret = json_get(v, "return") != NULL;
		json_value_free(v);
		if (ret)
			return line;
		kt_assertf(event, "QMP %s: unexpected reply %s", execute, line);
		free(line);
	}
}

void nested_qemu_start(struct nested_qemu *q)
{
	if (!nested_have_program(QEMU_PROGRAM))
		kt_skip("no %s", QEMU_PROGRAM);
	kt_assert(q->pid == 0);
	unlink(q->daemon_qmp);
	unlink(q->test_qmp);

	/* Both sockets are in one directory: its creations are what we wait for. */
	char dir[NESTED_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", q->test_qmp);
	*strrchr(dir, '/') = '\0';
	int inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	kt_assert_errno(inotify >= 0);
	kt_assert_errno(inotify_add_watch(inotify, dir, IN_CREATE | IN_MOVED_TO) >= 0);

	char log_path[512];
	snprintf(log_path, sizeof(log_path), "%s/%s.log", artefacts(), q->name);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	kt_assertf(log_fd >= 0, "%s: %s", log_path, strerror(errno));
	char qmp_daemon[NESTED_PATH_MAX + 32], qmp_test[NESTED_PATH_MAX + 32], drive[512];
	snprintf(qmp_daemon, sizeof(qmp_daemon), "unix:%s,server=on,wait=off", q->daemon_qmp);
	snprintf(qmp_test, sizeof(qmp_test), "unix:%s,server=on,wait=off", q->test_qmp);
	snprintf(drive, sizeof(drive), "file=%s,format=raw,if=floppy,readonly=on", q->image);
	char *argv[48] = {
		QEMU_PROGRAM, "-accel", "tcg",      "-m",       "16",         "-nodefaults",
		"-vga",       "std",    "-display", q->display, "-qmp",       qmp_daemon,
		"-qmp",       qmp_test, "-drive",   drive,      "-no-reboot", NULL,
	};
	size_t argc = 17;
	for (size_t i = 0; q->extra != NULL && q->extra[i] != NULL; i++) {
		kt_assert(argc + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = (char *)q->extra[i];
	}
	argv[argc] = NULL;
	dprintf(log_fd, "--- start %u:", q->starts + 1);
	for (char **a = argv; *a != NULL; a++)
		dprintf(log_fd, " %s", *a);
	dprintf(log_fd, "\n");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		/* A test that fails leaves no QEMU behind to load the machine. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
			_exit(126);
		execvp(QEMU_PROGRAM, argv);
		_exit(127);
	}
	close(log_fd);
	q->pid = pid;
	q->starts++;
	q->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kt_assert_errno(q->pidfd >= 0);

	uint64_t end = deadline();
	for (;;) {
		q->qmp = connect_unix(q->test_qmp);
		if (q->qmp >= 0)
			break;
		kt_assertf(errno == ENOENT || errno == ECONNREFUSED, "connect %s: %s", q->test_qmp,
			   strerror(errno));
		if (errno == ENOENT) {
			/* Not there yet: its creation wakes us. */
			wait_fd(q, inotify, 0, end, "its QMP socket");
			char events[4096];
			while (read(inotify, events, sizeof(events)) > 0) {
			}
		} else {
			/* Bound, not yet listening: a moment. */
			wait_fd(q, -1, 5, end, "its QMP socket to listen");
		}
	}
	close(inotify);
	kt_assertf(access(q->daemon_qmp, F_OK) == 0, "no %s", q->daemon_qmp);
	q->len = 0;
	char *greeting = read_line(q, end, "the QMP greeting");
	kt_assertf(strstr(greeting, "\"QMP\"") != NULL, "QMP greeting: %s", greeting);
	free(greeting);
	free(nested_qemu_execute(q, "qmp_capabilities", NULL));
	printf("QEMU %d started (%s)\n", (int)q->pid, q->display);
}

void nested_qemu_kill(struct nested_qemu *q)
{
	if (q->pid == 0)
		return;
	kt_assert_errno(kill(q->pid, SIGKILL) == 0);
	int status;
	while (waitpid(q->pid, &status, 0) < 0)
		kt_assert_errno(errno == EINTR);
	printf("QEMU %d killed\n", (int)q->pid);
	q->pid = 0;
	close(q->pidfd);
	q->pidfd = -1;
	if (q->qmp >= 0)
		close(q->qmp);
	q->qmp = -1;
	q->len = 0;
	unlink(q->daemon_qmp);
	unlink(q->test_qmp);
}

void nested_qemu_screendump(struct nested_qemu *q, const char *name, struct kt_image *img)
{
	char path[512], args[600];
	snprintf(path, sizeof(path), "%s/%s.ppm", artefacts(), name);
	snprintf(args, sizeof(args), "{\"filename\": \"%s\"}", path);
	free(nested_qemu_execute(q, "screendump", args));
	kt_ppm_load(path, img);
}

void nested_qemu_send_key(struct nested_qemu *q, const char *qcode)
{
	char args[128];
	snprintf(args, sizeof(args), "{\"keys\": [{\"type\": \"qcode\", \"data\": \"%s\"}]}",
		 qcode);
	free(nested_qemu_execute(q, "send-key", args));
}

bool nested_qemu_running(struct nested_qemu *q)
{
	char *line = nested_qemu_execute(q, "query-status", NULL);
	char err[128];
	struct json_value *v = json_parse(line, strlen(line), err, sizeof(err));
	kt_assert(v != NULL);
	bool running = json_get_bool(json_get(v, "return"), "running", false);
	json_value_free(v);
	free(line);
	return running;
}

/* ---------------------------------------------------------------------- */
/* The bus                                                                */
/* ---------------------------------------------------------------------- */

void nested_bus_start(struct nested_bus *b, const char *dir)
{
	if (!nested_have_program(BUS_PROGRAM))
		kt_skip("no %s (package dbus-daemon)", BUS_PROGRAM);
	*b = (struct nested_bus){0};
	snprintf(b->socket, sizeof(b->socket), "%s/bus.sock", dir);
	snprintf(b->config, sizeof(b->config), "%s/bus.conf", dir);
	snprintf(b->address, sizeof(b->address), "unix:path=%s", b->socket);
	unlink(b->socket);
	FILE *f = fopen(b->config, "we");
	kt_assertf(f != NULL, "%s: %s", b->config, strerror(errno));
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
		"1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <listen>%s</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <allow own=\"*\"/>\n"
		"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		"    <allow receive_sender=\"*\"/>\n"
		"    <allow eavesdrop=\"true\"/>\n"
		"  </policy>\n"
		"</busconfig>\n",
		b->address);
	kt_assert(fclose(f) == 0);

	int pipefd[2];
	kt_assert_errno(pipe2(pipefd, O_CLOEXEC) == 0);
	char config_arg[NESTED_PATH_MAX + 32], print_arg[32];
	snprintf(config_arg, sizeof(config_arg), "--config-file=%s", b->config);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The address goes to the pipe's write end, kept open across exec. */
		int fd = dup(pipefd[1]);
		if (fd < 0)
			_exit(126);
		snprintf(print_arg, sizeof(print_arg), "--print-address=%d", fd);
		execlp(BUS_PROGRAM, BUS_PROGRAM, config_arg, "--nofork", "--nopidfile", print_arg,
		       (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	b->pid = pid;

	char line[512];
	size_t len = 0;
	uint64_t end = deadline();
	while (memchr(line, '\n', len) == NULL) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		int left = (int)((end - kt_now_ns()) / 1000000u);
		kt_assertf(kt_now_ns() < end, "dbus-daemon printed no address");
		int n = poll(&p, 1, left > 0 ? left : 1);
		kt_assert_errno(n >= 0 || errno == EINTR);
		if (n <= 0)
			continue;
		ssize_t r = read(pipefd[0], line + len, sizeof(line) - 1 - len);
		kt_assertf(r > 0, "dbus-daemon ended before printing its address");
		len += (size_t)r;
	}
	close(pipefd[0]);
	line[len] = '\0';
	kt_assertf(strncmp(line, b->address, strlen(b->address)) == 0,
		   "dbus-daemon listens on %s, not %s", line, b->address);
	printf("dbus-daemon %d on %s\n", (int)pid, b->address);
}

void nested_bus_stop(struct nested_bus *b)
{
	if (b->pid == 0)
		return;
	kill(b->pid, SIGKILL);
	int status;
	while (waitpid(b->pid, &status, 0) < 0)
		kt_assert_errno(errno == EINTR);
	b->pid = 0;
	unlink(b->socket);
	unlink(b->config);
}

/* ---------------------------------------------------------------------- */
/* A child printing lines                                                 */
/* ---------------------------------------------------------------------- */

static void child_gone(void *data, const char *what)
{
	struct nested_child *c = data;
	int status = 0;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	kt_fail(__FILE__, __LINE__, "%s exited while waiting for %s (status 0x%x)", c->name, what,
		r == c->pid ? status : -1);
}

void nested_child_start(struct nested_child *c, char *const argv[])
{
	*c = (struct nested_child){.name = argv[0], .in = -1, .out = -1, .pidfd = -1};
	int in[2], out[2];
	kt_assert_errno(pipe2(in, O_CLOEXEC) == 0);
	kt_assert_errno(pipe2(out, O_CLOEXEC) == 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->pid = pid;
	c->in = in[1];
	c->out = out[0];
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kt_assert_errno(c->pidfd >= 0);
	kt_assert_errno(fcntl(c->out, F_SETFL, O_NONBLOCK) == 0);
}

const char *nested_child_wait_line(struct nested_child *c, const char *prefix)
{
	uint64_t end = deadline();
	char what[160];
	snprintf(what, sizeof(what), "%s to print '%s'", c->name, prefix);
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t n = (size_t)(nl - c->buf);
			snprintf(c->line, sizeof(c->line), "%.*s", (int)n, c->buf);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			printf("%s: %s\n", c->name, c->line);
			if (strncmp(c->line, prefix, strlen(prefix)) == 0)
				return c->line;
		}
		kt_assertf(c->len < sizeof(c->buf), "%s: a line too long", c->name);
		wait_fd_of(c->pidfd, c->serve, c->serve_data, c->out, 0, end, what, child_gone, c);
		ssize_t r = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		kt_assert_errno(r >= 0);
		if (r == 0)
			child_gone(c, what);
		c->len += (size_t)r;
	}
}

void nested_child_write(struct nested_child *c, const char *text)
{
	kt_assert_errno(write(c->in, text, strlen(text)) == (ssize_t)strlen(text));
}

int nested_child_stop(struct nested_child *c)
{
	if (c->pid == 0)
		return 0;
	kt_assert_errno(kill(c->pid, SIGTERM) == 0);
	int status;
	while (waitpid(c->pid, &status, 0) < 0)
		kt_assert_errno(errno == EINTR);
	c->pid = 0;
	close(c->pidfd);
	close(c->in);
	close(c->out);
	c->pidfd = c->in = c->out = -1;
	return status;
}
