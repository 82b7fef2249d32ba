// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu/qmp.h"
#include "util/log.h"

/* The longest QMP line read (the greeting and answers are far shorter). */
#define LINE_MAX_LEN 65536
/* The name the fd gets in QEMU's fd table. */
#define FD_NAME "vscanout-dbus"

enum step {
	STEP_GREETING,
	STEP_CAPABILITIES,
	STEP_GETFD,
	STEP_ADD_CLIENT,
	STEP_DONE,
};

static const char *const step_names[] = {
	[STEP_GREETING] = "greeting", [STEP_CAPABILITIES] = "qmp_capabilities",
	[STEP_GETFD] = "getfd",       [STEP_ADD_CLIENT] = "add_client",
	[STEP_DONE] = "done",
};

struct qemu_qmp {
	struct wl_event_loop *loop;
	int sock;
	int fd; /* for QEMU, until sent */
	char path[108];
	enum step step;
	struct wl_event_source *sock_source;
	struct wl_event_source *deadline;
	struct wl_event_source *idle; /* reports a failure found while starting */
	char *line;
	size_t line_len;
	qemu_qmp_done_fn done;
	void *data;
	int error;
	char message[256];
};

/*
 * Skip one JSON string starting at *p (the opening quote); copy its
 * contents (escapes taken as the character they escape, \\uXXXX as '?')
 * into out when out is not NULL. Returns the character after the closing
 * quote, or NULL when the string does not end.
 */
static const char *skip_string(const char *p, char *out, size_t out_size)
{
	size_t n = 0;
	for (p++; *p != '\0'; p++) {
		char c = *p;
		if (c == '"') {
			if (out != NULL && out_size > 0)
				out[n] = '\0';
			return p + 1;
		}
		if (c == '\\') {
			p++;
			if (*p == '\0')
				return NULL;
			c = *p == 'n' ? ' ' : *p == 't' ? ' ' : *p;
			if (*p == 'u') {
				for (int i = 0; i < 4; i++)
					if (*++p == '\0')
						return NULL;
				c = '?';
			}
		}
		if (out != NULL && n + 1 < out_size)
			out[n++] = c;
	}
	return NULL;
}

const char *qemu_qmp_classify(const char *line, char *desc, size_t desc_size)
{
	if (desc != NULL && desc_size > 0)
		desc[0] = '\0';
	const char *p = line;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p != '{')
		return NULL;
	const char *kind = NULL;
	int depth = 0;
	bool in_error = false;
	bool expect_key = false;
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '{':
			depth++;
			expect_key = true;
			break;
		case '[':
			depth++;
			expect_key = false;
			break;
		case '}':
		case ']':
			depth--;
			if (depth == 1)
				in_error = in_error && *p != '}';
			if (depth == 0)
				return kind;
			break;
		case ',':
			expect_key = true;
			break;
		case ':':
			expect_key = false;
			break;
		case '"': {
			char key[16];
			const char *end = skip_string(p, key, sizeof(key));
			if (end == NULL)
				return NULL;
			if (expect_key && depth == 1) {
				static const char *const kinds[] = {"QMP", "return", "error",
								    "event"};
				for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
					if (strcmp(key, kinds[i]) == 0 && kind == NULL)
						kind = kinds[i];
				in_error = strcmp(key, "error") == 0;
			} else if (expect_key && depth == 2 && in_error &&
				   strcmp(key, "desc") == 0 && desc != NULL) {
				const char *q = end;
				while (*q == ' ' || *q == ':')
					q++;
				if (*q == '"' && skip_string(q, desc, desc_size) == NULL)
					return NULL;
			}
			p = end - 1;
			break;
		}
		default:
			break;
		}
	}
	return NULL; /* unterminated */
}

static void finish(struct qemu_qmp *qmp, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finish(struct qemu_qmp *qmp, int error, const char *fmt, ...)
{
	if (qmp->step == STEP_DONE)
		return;
	qmp->step = STEP_DONE;
	qmp->error = error;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(qmp->message, sizeof(qmp->message), fmt, ap);
	va_end(ap);
	if (qmp->sock_source != NULL) {
		wl_event_source_remove(qmp->sock_source);
		qmp->sock_source = NULL;
	}
	if (qmp->deadline != NULL) {
		wl_event_source_remove(qmp->deadline);
		qmp->deadline = NULL;
	}
	qmp->done(qmp->data, qmp->error, qmp->message); /* may destroy qmp */
}

/* Send one command line; with_fd attaches the fd for QEMU. */
static int send_command(struct qemu_qmp *qmp, const char *command, bool with_fd)
{
	struct iovec iov = {.iov_base = (void *)command, .iov_len = strlen(command)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (with_fd) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &qmp->fd, sizeof(int));
	}
	/* A few hundred bytes into an idle socket: a short write means QEMU is not reading. */
	ssize_t n = sendmsg(qmp->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if ((size_t)n != iov.iov_len)
		return -EAGAIN;
	return 0;
}

/* Send the next command; false once the exchange is over (qmp may be gone). */
static bool next_step(struct qemu_qmp *qmp)
{
	int ret = 0;
	switch (qmp->step) {
	case STEP_GREETING:
		qmp->step = STEP_CAPABILITIES;
		ret = send_command(qmp, "{\"execute\": \"qmp_capabilities\"}\n", false);
		break;
	case STEP_CAPABILITIES:
		qmp->step = STEP_GETFD;
		ret = send_command(qmp,
				   "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"" FD_NAME
				   "\"}}\n",
				   true);
		if (ret == 0) {
			close(qmp->fd);
			qmp->fd = -1;
		}
		break;
	case STEP_GETFD:
		qmp->step = STEP_ADD_CLIENT;
		ret = send_command(qmp,
				   "{\"execute\": \"add_client\", \"arguments\": {\"protocol\": "
				   "\"@dbus-display\", \"fdname\": \"" FD_NAME "\"}}\n",
				   false);
		break;
	case STEP_ADD_CLIENT:
		finish(qmp, 0, "QEMU took the D-Bus display connection");
		return false;
	case STEP_DONE:
		return false;
	}
	if (ret < 0) {
		finish(qmp, ret, "%s: cannot send to %s: %s", step_names[qmp->step], qmp->path,
		       strerror(-ret));
		return false;
	}
	return true;
}

/* One line from QEMU; false once the exchange is over. */
static bool handle_line(struct qemu_qmp *qmp, const char *line)
{
	char desc[160];
	const char *kind = qemu_qmp_classify(line, desc, sizeof(desc));
	if (kind == NULL) {
		finish(qmp, -EPROTO, "%s: %s sent something that is not QMP", step_names[qmp->step],
		       qmp->path);
		return false;
	}
	if (strcmp(kind, "event") == 0)
		return true;
	bool expected =
		qmp->step == STEP_GREETING ? strcmp(kind, "QMP") == 0 : strcmp(kind, "return") == 0;
	if (!expected) {
		if (strcmp(kind, "error") == 0)
			finish(qmp, -EPROTO, "%s: QEMU answered: %s", step_names[qmp->step],
			       desc[0] != '\0' ? desc : "an error");
		else
			finish(qmp, -EPROTO, "%s: QEMU answered with an unexpected \"%s\"",
			       step_names[qmp->step], kind);
		return false;
	}
	return next_step(qmp);
}

static int handle_socket(int fd, uint32_t mask, void *data)
{
	struct qemu_qmp *qmp = data;
	char buf[4096];
	ssize_t n = recv(qmp->sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		finish(qmp, n < 0 ? -errno : -ECONNRESET, "%s: %s closed the connection",
		       step_names[qmp->step], qmp->path);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (qmp->line_len + 1 >= LINE_MAX_LEN) {
				finish(qmp, -EMSGSIZE, "%s: a line from %s is longer than %d bytes",
				       step_names[qmp->step], qmp->path, LINE_MAX_LEN);
				return 0;
			}
			qmp->line[qmp->line_len++] = buf[i];
			continue;
		}
		qmp->line[qmp->line_len] = '\0';
		qmp->line_len = 0;
		if (!handle_line(qmp, qmp->line))
			return 0; /* qmp may be gone */
	}
	return 0;
}

static int handle_deadline(void *data)
{
	struct qemu_qmp *qmp = data;
	finish(qmp, -ETIMEDOUT, "%s: %s did not answer within %d ms", step_names[qmp->step],
	       qmp->path, QEMU_QMP_TIMEOUT_MS);
	return 0;
}

static void handle_idle(void *data)
{
	struct qemu_qmp *qmp = data;
	qmp->idle = NULL;
	qmp->done(qmp->data, qmp->error, qmp->message);
}

/* A failure while starting is reported from the loop, never from within qemu_qmp_attach(). */
static struct qemu_qmp *fail_later(struct qemu_qmp *qmp, int error, const char *what)
{
	qmp->step = STEP_DONE;
	qmp->error = error;
	snprintf(qmp->message, sizeof(qmp->message), "%s %s: %s", what, qmp->path,
		 strerror(-error));
	qmp->idle = wl_event_loop_add_idle(qmp->loop, handle_idle, qmp);
	if (qmp->idle == NULL) {
		qemu_qmp_destroy(qmp);
		return NULL;
	}
	return qmp;
}

struct qemu_qmp *qemu_qmp_attach(struct wl_event_loop *loop, const char *path, int fd,
				 qemu_qmp_done_fn done, void *data)
{
	struct qemu_qmp *qmp = calloc(1, sizeof(*qmp));
	if (qmp == NULL || (qmp->line = malloc(LINE_MAX_LEN)) == NULL) {
		free(qmp);
		close(fd);
		return NULL;
	}
	qmp->loop = loop;
	qmp->fd = fd;
	qmp->done = done;
	qmp->data = data;
	snprintf(qmp->path, sizeof(qmp->path), "%s", path);
	qmp->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (qmp->sock < 0)
		return fail_later(qmp, -errno, "socket for");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return fail_later(qmp, -ENAMETOOLONG, "connect");
	memcpy(addr.sun_path, path, strlen(path) + 1);
	/* A unix socket connects at once or fails at once (EAGAIN: QEMU's backlog is full). */
	if (connect(qmp->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail_later(qmp, -errno, "connect");
	qmp->sock_source =
		wl_event_loop_add_fd(loop, qmp->sock, WL_EVENT_READABLE, handle_socket, qmp);
	qmp->deadline = wl_event_loop_add_timer(loop, handle_deadline, qmp);
	if (qmp->sock_source == NULL || qmp->deadline == NULL)
		return fail_later(qmp, -ENOMEM, "watch");
	wl_event_source_timer_update(qmp->deadline, QEMU_QMP_TIMEOUT_MS);
	return qmp;
}

void qemu_qmp_destroy(struct qemu_qmp *qmp)
{
	if (qmp == NULL)
		return;
	if (qmp->sock_source != NULL)
		wl_event_source_remove(qmp->sock_source);
	if (qmp->deadline != NULL)
		wl_event_source_remove(qmp->deadline);
	if (qmp->idle != NULL)
		wl_event_source_remove(qmp->idle);
	if (qmp->sock >= 0)
		close(qmp->sock);
	if (qmp->fd >= 0)
		close(qmp->fd);
	free(qmp->line);
	free(qmp);
}
