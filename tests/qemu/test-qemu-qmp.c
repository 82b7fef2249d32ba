// SPDX-License-Identifier: MIT
/*
 * qemu/qmp.c against a QMP server played by the test on a Unix socket:
 * the exchange QEMU expects (greeting, qmp_capabilities, getfd with the
 * fd attached, add_client), QEMU's refusals, a QEMU that is absent, hangs
 * up or sends garbage, and the classification of QMP lines.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "qemu/qmp.h"
#include "test.h"

struct result {
	bool done;
	int error;
	char message[256];
};

static void handle_done(void *data, int error, const char *message)
{
	struct result *r = data;
	check(!r->done);
	r->done = true;
	r->error = error;
	snprintf(r->message, sizeof(r->message), "%s", message);
}

static void test_classify(void)
{
	char desc[64];
	check_str_eq(qemu_qmp_classify("{\"QMP\": {\"version\": {}, \"capabilities\": []}}", desc,
				       sizeof(desc)),
		     "QMP");
	check_str_eq(qemu_qmp_classify("{\"return\": {}}", desc, sizeof(desc)), "return");
	check_str_eq(qemu_qmp_classify("{\"timestamp\": {\"seconds\": 1}, \"event\": \"STOP\"}",
				       desc, sizeof(desc)),
		     "event");
	check_str_eq(qemu_qmp_classify("{\"error\": {\"class\": \"GenericError\", \"desc\": "
				       "\"No file descriptor \\\"x\\\" found\"}}",
				       desc, sizeof(desc)),
		     "error");
	check_str_eq(desc, "No file descriptor \"x\" found");
	/* Keys below the top level do not count. */
	check_str_eq(
		qemu_qmp_classify("{\"return\": {\"error\": 1, \"QMP\": 2}}", desc, sizeof(desc)),
		"return");
	check(qemu_qmp_classify("not json", desc, sizeof(desc)) == NULL);
	check(qemu_qmp_classify("{\"return\": {}", desc, sizeof(desc)) == NULL);
	check(qemu_qmp_classify("{\"other\": 1}", desc, sizeof(desc)) == NULL);
	check(qemu_qmp_classify("{\"error\": {\"desc\": \"unterminated", desc, sizeof(desc)) ==
	      NULL);
	/* A long desc is cut, not overrun. */
	char small[8];
	check_str_eq(
		qemu_qmp_classify("{\"error\": {\"desc\": \"0123456789\"}}", small, sizeof(small)),
		"error");
	check_str_eq(small, "0123456");
}

/* The test's QMP server. */
struct server {
	char path[108];
	int listen_fd;
	int fd; /* the accepted connection */
};

static void server_start(struct server *s)
{
	snprintf(s->path, sizeof(s->path), "/tmp/vscanout-test-qmp-%d.sock", (int)getpid());
	unlink(s->path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(s->listen_fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
	check(bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	check(listen(s->listen_fd, 4) == 0);
	s->fd = -1;
}

static void server_stop(struct server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	close(s->listen_fd);
	unlink(s->path);
}

static void server_send(struct server *s, const char *line)
{
	check(write(s->fd, line, strlen(line)) == (ssize_t)strlen(line));
}

/* Serve the loop until the client sent a whole line; *fd gets an fd that came with it. */
static void server_read_line(struct server *s, struct wl_event_loop *loop, char *line, size_t size,
			     int *fd)
{
	size_t n = 0;
	if (fd != NULL)
		*fd = -1;
	for (int rounds = 0; rounds < 1000; rounds++) {
		wl_event_loop_dispatch(loop, 10);
		char buf[512];
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		ssize_t got = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EAGAIN)
			continue;
		check(got > 0);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		if (cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS) {
			check(fd != NULL);
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
		}
		check(n + (size_t)got < size);
		memcpy(line + n, buf, (size_t)got);
		n += (size_t)got;
		if (line[n - 1] == '\n') {
			line[n] = '\0';
			return;
		}
	}
	check(!"the client sent no line");
}

static void run_until_done(struct wl_event_loop *loop, struct result *r)
{
	for (int rounds = 0; rounds < 1000 && !r->done; rounds++)
		wl_event_loop_dispatch(loop, 10);
	check(r->done);
}

/* The whole exchange; `refuse` makes add_client fail as QEMU would. */
static void test_exchange(bool refuse)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	struct server s;
	server_start(&s);
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct result r = {0};
	struct qemu_qmp *qmp = qemu_qmp_attach(loop, s.path, sv[1], handle_done, &r);
	check(qmp != NULL);
	s.fd = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	check(s.fd >= 0);
	server_send(&s, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": "
			"[\"oob\"]}}\n");
	char line[1024];
	server_read_line(&s, loop, line, sizeof(line), NULL);
	check(strstr(line, "\"qmp_capabilities\"") != NULL);
	/* An event between the lines is skipped. */
	server_send(&s, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
			"\"RESUME\"}\n{\"return\": {}}\n");
	int fd;
	server_read_line(&s, loop, line, sizeof(line), &fd);
	check(strstr(line, "\"getfd\"") != NULL);
	check(fd >= 0);
	/* The fd is the other end of the display's socketpair. */
	check(write(sv[0], "x", 1) == 1);
	char c = 0;
	check(read(fd, &c, 1) == 1 && c == 'x');
	close(fd);
	check(strstr(line, "\"fdname\": \"vscanout-dbus\"") != NULL);
	server_send(&s, "{\"return\": {}}\n");
	server_read_line(&s, loop, line, sizeof(line), NULL);
	check(strstr(line, "\"add_client\"") != NULL);
	check(strstr(line, "\"protocol\": \"@dbus-display\"") != NULL);
	check(!r.done);
	if (refuse)
		server_send(&s, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid "
				"protocol '@dbus-display'\"}}\n");
	else
		server_send(&s, "{\"return\": {}}\n");
	run_until_done(loop, &r);
	if (refuse) {
		check_int_eq(r.error, -EPROTO);
		check_str_eq(r.message,
			     "add_client: QEMU answered: Invalid protocol '@dbus-display'");
	} else {
		check_int_eq(r.error, 0);
	}
	qemu_qmp_destroy(qmp);
	close(sv[0]);
	server_stop(&s);
	wl_event_loop_destroy(loop);
}

/* No QEMU: the failure comes from the loop, not from within qemu_qmp_attach(). */
static void test_absent(void)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct result r = {0};
	struct qemu_qmp *qmp =
		qemu_qmp_attach(loop, "/tmp/vscanout-no-such-qmp.sock", sv[1], handle_done, &r);
	check(qmp != NULL);
	check(!r.done);
	run_until_done(loop, &r);
	check_int_eq(r.error, -ENOENT);
	check_str_eq(r.message,
		     "connect /tmp/vscanout-no-such-qmp.sock: No such file or directory");
	qemu_qmp_destroy(qmp);
	close(sv[0]);
	wl_event_loop_destroy(loop);
}

/* QEMU hangs up, sends garbage or a line without end: each is a named failure. */
static void test_bad_peer(const char *text, int error, const char *message)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	struct server s;
	server_start(&s);
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct result r = {0};
	struct qemu_qmp *qmp = qemu_qmp_attach(loop, s.path, sv[1], handle_done, &r);
	check(qmp != NULL);
	s.fd = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	check(s.fd >= 0);
	if (text != NULL) {
		size_t len = strlen(text);
		check(write(s.fd, text, len) == (ssize_t)len);
	} else {
		/* A line longer than any QMP answer, without its end. */
		char *big = malloc(70000);
		memset(big, 'x', 70000);
		big[0] = '{';
		size_t done = 0;
		while (done < 70000 && !r.done) {
			ssize_t n = send(s.fd, big + done, 70000 - done, MSG_DONTWAIT);
			if (n > 0)
				done += (size_t)n;
			wl_event_loop_dispatch(loop, 10);
		}
		free(big);
	}
	if (text != NULL && strcmp(text, "") == 0) {
		close(s.fd);
		s.fd = -1;
	}
	run_until_done(loop, &r);
	check_int_eq(r.error, error);
	check_str_eq(r.message, message);
	qemu_qmp_destroy(qmp);
	close(sv[0]);
	server_stop(&s);
	wl_event_loop_destroy(loop);
}

int main(void)
{
	test_classify();
	test_exchange(false);
	test_exchange(true);
	test_absent();
	char path[128];
	snprintf(path, sizeof(path), "/tmp/vscanout-test-qmp-%d.sock", (int)getpid());
	char msg[256];
	snprintf(msg, sizeof(msg), "greeting: %s sent something that is not QMP", path);
	test_bad_peer("HTTP/1.1 400 Bad Request\n", -EPROTO, msg);
	snprintf(msg, sizeof(msg), "greeting: %s closed the connection", path);
	test_bad_peer("", -ECONNRESET, msg);
	snprintf(msg, sizeof(msg), "greeting: a line from %s is longer than 65536 bytes", path);
	test_bad_peer(NULL, -EMSGSIZE, msg);
	return 0;
}
