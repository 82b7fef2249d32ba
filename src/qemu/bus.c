// SPDX-License-Identifier: MIT
/*
 * sd-bus connections on the daemon's loop, and the start of a
 * peer-to-peer connection to QEMU.
 *
 * QEMU authenticates as the server on its peer-to-peer connections and
 * may send its first call the moment it read BEGIN, which sd-bus sends
 * right behind its AUTH lines. That call can carry an fd (ScanoutDMABUF
 * does), and the kernel hands a reader the bytes of several writes at
 * once: sd-bus, still reading the server's last authentication line, would
 * get the fd too, and it drops a connection that passes an fd during
 * authentication. So on such a connection sd-bus reads a socketpair of
 * the watch's own at first: the watch moves QEMU's authentication lines
 * over one by one (peeking for each line's end, then reading no further,
 * which never takes the bytes or fds of the call behind it; a line that
 * is still coming is read as far as it came and kept), and
 * once sd-bus has read the last of them and is running, the socketpair's
 * end under sd-bus's input fd number is replaced by QEMU's socket
 * (dup3()), where the call waits unread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qemu/bus.h"
#include "util/log.h"

/* Messages taken per dispatch before the loop serves others. */
#define MAX_MESSAGES_PER_DISPATCH 64
/* The longest authentication line taken from QEMU. */
#define AUTH_LINE_MAX 512

struct qemu_bus {
	struct wl_event_loop *loop;
	sd_bus *bus;
	int fd; /* the fd number watched: sd-bus's input fd */
	struct wl_event_source *fd_source;
	struct wl_event_source *timer;
	struct wl_event_source *idle; /* re-arm or report the loss, once per round */
	qemu_bus_lost_fn lost;
	void *data;
	int error;       /* why the connection closed, once it did */
	bool closed;     /* lost is due (or was called) */
	bool more;       /* sd_bus_process() had more to do when the dispatch stopped */
	bool processing; /* within sd_bus_process(): destroying waits for its end */
	bool destroyed;  /* qemu_bus_destroy() was called while processing */

	/* While a peer-to-peer connection authenticates (see the top of the file). */
	int peer;        /* the peer's socket, also sd-bus's output fd; -1 when done */
	int relay;       /* our end of the socketpair sd-bus reads; -1 when done */
	bool auth_ok;    /* the peer's OK line was moved */
	bool auth_moved; /* every line sd-bus needs was moved */
	struct wl_event_source *peer_source;
	/* The line being read from the peer, line_len bytes of it so far. */
	char line[AUTH_LINE_MAX];
	size_t line_len;
};

static void arm(struct qemu_bus *watch);
static void free_watch(struct qemu_bus *watch);

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void handle_idle_cb(void *data);

static void schedule_idle(struct qemu_bus *watch)
{
	if (watch->idle == NULL)
		watch->idle = wl_event_loop_add_idle(watch->loop, handle_idle_cb, watch);
}

static void close_with(struct qemu_bus *watch, int error)
{
	if (!watch->closed) {
		watch->closed = true;
		watch->error = error;
	}
	schedule_idle(watch);
}

static int handle_fd(int fd, uint32_t mask, void *data);

/* sd-bus read the peer's last authentication line: it reads the peer's socket from now on. */
static void finish_handshake(struct qemu_bus *watch)
{
	if (dup3(watch->peer, watch->fd, O_CLOEXEC) < 0) {
		close_with(watch, errno);
		return;
	}
	close(watch->relay);
	watch->relay = -1;
	watch->peer = -1; /* still sd-bus's output fd number, closed by sd-bus */
	wl_event_source_remove(watch->peer_source);
	watch->peer_source = NULL;
	/* The watched fd number is a new socket now: watch it anew. */
	wl_event_source_remove(watch->fd_source);
	watch->fd_source =
		wl_event_loop_add_fd(watch->loop, watch->fd, WL_EVENT_READABLE, handle_fd, watch);
	if (watch->fd_source == NULL)
		close_with(watch, ENOMEM);
}

static void process(struct qemu_bus *watch)
{
	watch->more = false;
	for (int i = 0; i < MAX_MESSAGES_PER_DISPATCH && !watch->closed; i++) {
		/* A callback may destroy the watch (its owner gave up on the peer). */
		watch->processing = true;
		int ret = sd_bus_process(watch->bus, NULL);
		watch->processing = false;
		if (watch->destroyed) {
			free_watch(watch);
			return;
		}
		if (ret < 0) {
			close_with(watch, -ret);
			break;
		}
		if (ret == 0)
			break;
		if (i == MAX_MESSAGES_PER_DISPATCH - 1)
			watch->more = true;
	}
	if (!watch->closed && !sd_bus_is_open(watch->bus))
		close_with(watch, ECONNRESET);
	if (watch->closed)
		return;
	if (watch->auth_moved && watch->relay >= 0 && sd_bus_is_ready(watch->bus) > 0)
		finish_handshake(watch);
	if (watch->closed)
		return;
	arm(watch);
	/* More is queued: take it at the next round, after the loop served others. */
	if (watch->more)
		wl_event_source_timer_update(watch->timer, 1);
}

static void handle_idle_cb(void *data)
{
	struct qemu_bus *watch = data;
	watch->idle = NULL;
	if (watch->closed) {
		if (watch->fd_source != NULL) {
			wl_event_source_remove(watch->fd_source);
			watch->fd_source = NULL;
		}
		if (watch->peer_source != NULL) {
			wl_event_source_remove(watch->peer_source);
			watch->peer_source = NULL;
		}
		if (watch->lost != NULL) {
			qemu_bus_lost_fn lost = watch->lost;
			watch->lost = NULL;
			lost(watch->data, watch->error); /* may destroy the watch */
		}
		return;
	}
	process(watch);
}

static int handle_fd(int fd, uint32_t mask, void *data)
{
	process(data);
	return 0;
}

static int handle_timer(void *data)
{
	process(data);
	return 0;
}

/*
 * Move the peer's authentication lines to sd-bus, one at a time, until
 * the answer to NEGOTIATE_UNIX_FD (or a refusal) went over.
 */
static int handle_peer(int fd, uint32_t mask, void *data)
{
	struct qemu_bus *watch = data;
	while (!watch->auth_moved && !watch->closed) {
		char *line = watch->line, *at = line + watch->line_len;
		size_t room = sizeof(watch->line) - watch->line_len;
		ssize_t n = recv(watch->peer, at, room, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			close_with(watch, n < 0 ? errno : ECONNRESET);
			return 0;
		}
		/* Up to the first line feed: the rest may follow the line. */
		char *lf = memchr(at, '\n', (size_t)n);
		size_t take = lf != NULL ? (size_t)(lf - at) + 1 : (size_t)n;
		if (recv(watch->peer, at, take, MSG_DONTWAIT) != (ssize_t)take) {
			close_with(watch, EIO);
			return 0;
		}
		size_t len = watch->line_len += take;
		if (len < 2 || memcmp(line + len - 2, "\r\n", 2) != 0) {
			if (len == sizeof(watch->line))
				close_with(watch, EPROTO); /* no line is that long */
			continue;
		}
		watch->line_len = 0;
		if (write(watch->relay, line, len) != (ssize_t)len) {
			close_with(watch, EIO);
			return 0;
		}
		/* After a refusal, sd-bus still reads the answers to the lines it sent. */
		if (len >= 4 && memcmp(line, "OK ", 3) == 0)
			watch->auth_ok = true;
		else if (strncmp(line, "AGREE_UNIX_FD", 13) == 0 ||
			 (watch->auth_ok && strncmp(line, "ERROR", 5) == 0))
			watch->auth_moved = true;
	}
	if (watch->auth_moved && watch->peer_source != NULL)
		wl_event_source_fd_update(watch->peer_source, 0);
	process(watch);
	return 0;
}

/* Watch the fd for what sd-bus waits for, and time its timeout. */
static void arm(struct qemu_bus *watch)
{
	if (watch->closed || watch->fd_source == NULL)
		return;
	int events = sd_bus_get_events(watch->bus);
	if (events < 0) {
		close_with(watch, -events);
		return;
	}
	uint32_t mask = 0;
	if (events & POLLIN)
		mask |= WL_EVENT_READABLE;
	if (events & POLLOUT)
		mask |= WL_EVENT_WRITABLE;
	wl_event_source_fd_update(watch->fd_source, mask);
	/* While authenticating, sd-bus writes to the peer's socket, not to the one it reads. */
	if (watch->peer_source != NULL)
		wl_event_source_fd_update(watch->peer_source,
					  (watch->auth_moved ? 0 : WL_EVENT_READABLE) |
						  (events & POLLOUT ? WL_EVENT_WRITABLE : 0));
	uint64_t until = UINT64_MAX;
	int ms = 0;
	if (sd_bus_get_timeout(watch->bus, &until) >= 0 && until != UINT64_MAX) {
		uint64_t now = now_usec();
		uint64_t wait_us = until > now ? until - now : 0;
		ms = wait_us > 3600000000ull ? 3600000 : (int)(wait_us / 1000u) + 1;
	}
	wl_event_source_timer_update(watch->timer, ms);
}

static struct qemu_bus *watch_new(struct wl_event_loop *loop, qemu_bus_lost_fn lost, void *data)
{
	struct qemu_bus *watch = calloc(1, sizeof(*watch));
	if (watch == NULL)
		return NULL;
	watch->loop = loop;
	watch->lost = lost;
	watch->data = data;
	watch->fd = -1;
	watch->peer = -1;
	watch->relay = -1;
	watch->timer = wl_event_loop_add_timer(loop, handle_timer, watch);
	if (watch->timer == NULL) {
		free(watch);
		return NULL;
	}
	return watch;
}

/* Start watching watch->fd; authentication and the first messages go out at the next round. */
static struct qemu_bus *watch_start(struct qemu_bus *watch)
{
	watch->fd_source =
		wl_event_loop_add_fd(watch->loop, watch->fd, WL_EVENT_READABLE, handle_fd, watch);
	if (watch->fd_source == NULL) {
		qemu_bus_destroy(watch);
		return NULL;
	}
	schedule_idle(watch);
	return watch;
}

struct qemu_bus *qemu_bus_create(struct wl_event_loop *loop, sd_bus *bus, qemu_bus_lost_fn lost,
				 void *data)
{
	int fd = sd_bus_get_fd(bus);
	if (fd < 0) {
		log_error("D-Bus: cannot watch the connection: %s", strerror(-fd));
		return NULL;
	}
	struct qemu_bus *watch = watch_new(loop, lost, data);
	if (watch == NULL)
		return NULL;
	watch->bus = sd_bus_ref(bus);
	watch->fd = fd;
	return watch_start(watch);
}

struct qemu_bus *qemu_bus_create_peer(struct wl_event_loop *loop, int fd, qemu_bus_lost_fn lost,
				      void *data, int *error)
{
	int sv[2] = {-1, -1};
	sd_bus *bus = NULL;
	struct qemu_bus *watch = watch_new(loop, lost, data);
	int ret = watch != NULL ? 0 : -ENOMEM;
	if (ret == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		ret = -errno;
	if (ret == 0)
		ret = sd_bus_new(&bus);
	/* sd-bus reads our socketpair and writes to the peer until authenticated. */
	if (ret >= 0)
		ret = sd_bus_set_fd(bus, sv[0], fd);
	if (ret >= 0) {
		watch->fd = sv[0];
		watch->relay = sv[1];
		watch->peer = fd;
		sv[0] = sv[1] = fd = -1;
		watch->bus = bus;
		bus = NULL;
		ret = sd_bus_start(watch->bus);
	}
	if (ret >= 0) {
		watch->peer_source = wl_event_loop_add_fd(loop, watch->peer, WL_EVENT_READABLE,
							  handle_peer, watch);
		if (watch->peer_source == NULL)
			ret = -ENOMEM;
	}
	if (ret < 0) {
		*error = -ret;
		sd_bus_unref(bus);
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		if (fd >= 0)
			close(fd);
		qemu_bus_destroy(watch);
		return NULL;
	}
	watch = watch_start(watch);
	if (watch == NULL)
		*error = ENOMEM;
	return watch;
}

static void free_watch(struct qemu_bus *watch)
{
	if (watch->bus != NULL) {
		/* sd_bus_close() never waits; unref drops what is still queued. */
		sd_bus_close(watch->bus);
		sd_bus_unref(watch->bus);
	} else if (watch->peer >= 0) {
		close(watch->peer);
	}
	if (watch->relay >= 0)
		close(watch->relay);
	free(watch);
}

void qemu_bus_destroy(struct qemu_bus *watch)
{
	if (watch == NULL)
		return;
	if (watch->idle != NULL)
		wl_event_source_remove(watch->idle);
	if (watch->fd_source != NULL)
		wl_event_source_remove(watch->fd_source);
	if (watch->peer_source != NULL)
		wl_event_source_remove(watch->peer_source);
	if (watch->timer != NULL)
		wl_event_source_remove(watch->timer);
	watch->idle = watch->fd_source = watch->peer_source = watch->timer = NULL;
	watch->lost = NULL;
	watch->closed = true;
	if (watch->processing) {
		watch->destroyed = true;
		return;
	}
	free_watch(watch);
}

void qemu_bus_kick(struct qemu_bus *watch)
{
	if (watch != NULL && !watch->closed)
		schedule_idle(watch);
}

sd_bus *qemu_bus_get(struct qemu_bus *watch)
{
	return watch->bus;
}
