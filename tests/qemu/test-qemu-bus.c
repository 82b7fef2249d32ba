// SPDX-License-Identifier: MIT
/*
 * qemu/bus.c's peer-to-peer connections against a D-Bus server of the
 * test's own on a socketpair (sd-bus, driven in this thread), which, like
 * QEMU, calls the client the moment it has authenticated, with an fd
 * (a memfd) on its first call: every one of many connections gets the
 * call and a usable fd, and is never lost. Then: the peer hanging up
 * (lost once, from the loop, with the errno), the watch destroyed by a
 * method handler of its own connection, a peer answering garbage, an
 * authentication line too long, one that comes in pieces (the loop then
 * waits, it does not spin), and a refusal.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "qemu/bus.h"
#include "test.h"

#define PATH        "/org/qemu/Display1/Listener"
#define IFACE       "org.qemu.Display1.Listener"
#define CONNECTIONS 200
#define TIMEOUT_NS  5000000000ull

static struct wl_event_loop *loop;
static bool in_dispatch; /* within wl_event_loop_dispatch() */
static bool in_handler;  /* within a method handler */

struct conn {
	struct qemu_bus *watch; /* NULL once destroyed */
	sd_bus *server;         /* the test's side, may be NULL */
	int raw;                /* the test's side without sd-bus, or -1 */
	int calls;              /* Take calls handled */
	int replies;            /* replies the server got */
	int reply_errors;       /* error replies (the connection closed) */
	char got[64];           /* what the last fd held */
	int lost_calls;
	int lost_error;
	bool destroy_in_handler;
	bool destroy_in_lost;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	check(dir != NULL);
	int n = 0;
	while (readdir(dir) != NULL)
		n++;
	closedir(dir);
	return n;
}

static void handle_lost(void *data, int error)
{
	struct conn *c = data;
	check(in_dispatch && !in_handler);
	c->lost_calls++;
	c->lost_error = error;
	if (c->destroy_in_lost) {
		qemu_bus_destroy(c->watch);
		c->watch = NULL;
	}
}

/* Take(h fd, s text): fd holds text. */
static int handle_take(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	struct conn *c = data;
	int fd;
	const char *text;
	check(sd_bus_message_read(m, "hs", &fd, &text) >= 0);
	in_handler = true;
	c->calls++;
	memset(c->got, 0, sizeof(c->got));
	check(pread(fd, c->got, sizeof(c->got) - 1, 0) == (ssize_t)strlen(text));
	check_str_eq(c->got, text);
	if (c->destroy_in_handler) {
		qemu_bus_destroy(c->watch);
		c->watch = NULL;
	}
	in_handler = false;
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable listener_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Take", "hs", "", handle_take, 0),
	SD_BUS_VTABLE_END,
};

static int handle_reply(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	struct conn *c = data;
	if (sd_bus_message_is_method_error(m, NULL))
		c->reply_errors++;
	else
		c->replies++;
	return 0;
}

/* A client connection on a socketpair; the test's end is served by sd-bus unless raw. */
static void conn_open(struct conn *c, bool raw)
{
	*c = (struct conn){.raw = -1};
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	if (raw) {
		c->raw = sv[1];
	} else {
		sd_id128_t id;
		check(sd_id128_randomize(&id) >= 0);
		check(sd_bus_new(&c->server) >= 0);
		check(sd_bus_set_fd(c->server, sv[1], sv[1]) >= 0);
		check(sd_bus_set_server(c->server, 1, id) >= 0);
		check(sd_bus_negotiate_fds(c->server, 1) >= 0);
		check(sd_bus_start(c->server) >= 0);
	}
	int error = 0;
	c->watch = qemu_bus_create_peer(loop, sv[0], handle_lost, c, &error);
	check(c->watch != NULL);
	check(sd_bus_add_object_vtable(qemu_bus_get(c->watch), NULL, PATH, IFACE, listener_vtable,
				       c) >= 0);
}

static void conn_close(struct conn *c)
{
	qemu_bus_destroy(c->watch);
	c->watch = NULL;
	if (c->server != NULL)
		c->server = sd_bus_close_unref(c->server);
	if (c->raw >= 0)
		close(c->raw);
	c->raw = -1;
}

static void dispatch(int timeout_ms)
{
	in_dispatch = true;
	check(wl_event_loop_dispatch(loop, timeout_ms) == 0);
	in_dispatch = false;
}

static void serve(struct conn *c)
{
	while (c->server != NULL && sd_bus_is_open(c->server) > 0 &&
	       sd_bus_process(c->server, NULL) > 0)
		;
}

/* The loop's work and the server's. */
static void step(struct conn *c)
{
	dispatch(0);
	serve(c);
}

/* Wait for work for either (at most timeout_ms). */
static void wait_work(struct conn *c, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = wl_event_loop_get_fd(loop), .events = POLLIN}};
	nfds_t n = 1;
	if (c->server != NULL && sd_bus_is_open(c->server) > 0) {
		p[1].fd = sd_bus_get_fd(c->server);
		p[1].events = (short)sd_bus_get_events(c->server);
		n = 2;
	}
	check(poll(p, n, timeout_ms) >= 0 || errno == EINTR);
}

#define run_until(c, cond)                                                                    \
	do {                                                                                  \
		uint64_t end_ = now_ns() + TIMEOUT_NS;                                        \
		while (!(cond)) {                                                             \
			if (now_ns() > end_) {                                                \
				fprintf(stderr, "%s:%d: timed out: %s\n", __FILE__, __LINE__, \
					#cond);                                               \
				abort();                                                      \
			}                                                                     \
			step(c);                                                              \
			if (!(cond))                                                          \
				wait_work(c, 50);                                             \
		}                                                                             \
	} while (0)

/* The server calls Take with a memfd holding text. */
static void send_take(struct conn *c, const char *text)
{
	int fd = memfd_create("qemu-bus-test", MFD_CLOEXEC);
	check(fd >= 0);
	check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	check(sd_bus_call_method_async(c->server, NULL, NULL, PATH, IFACE, "Take", handle_reply, c,
				       "hs", fd, text) >= 0);
	close(fd);
}

/*
 * Authenticate and call at once. all_at_once: the client's reading waits
 * until the server's answer and the call are all in its socket (the race
 * plain sd-bus loses for sure); else both sides take turns.
 */
static void handshake_and_call(struct conn *c, bool all_at_once, int calls, const char *text)
{
	if (all_at_once) {
		/* The client's authentication lines go out at its first round. */
		struct pollfd p = {.fd = sd_bus_get_fd(c->server), .events = POLLIN};
		uint64_t end = now_ns() + TIMEOUT_NS;
		while (poll(&p, 1, 0) == 0) {
			check(now_ns() < end);
			dispatch(10);
		}
		while (sd_bus_is_ready(c->server) <= 0) {
			check(now_ns() < end);
			int r = sd_bus_process(c->server, NULL);
			check(r >= 0);
			if (r == 0)
				check(sd_bus_wait(c->server, 100000) >= 0);
		}
	} else {
		run_until(c, sd_bus_is_ready(c->server) > 0);
	}
	for (int i = 0; i < calls; i++)
		send_take(c, text);
	check(sd_bus_flush(c->server) >= 0);
	run_until(c, c->replies == calls || c->lost_calls > 0);
	check_int_eq(c->lost_calls, 0);
	check_int_eq(c->reply_errors, 0);
	check_int_eq(c->calls, calls);
	check_str_eq(c->got, text);
}

static void test_first_call_carries_fd(void)
{
	int fds = 0;
	for (int i = 0; i < CONNECTIONS; i++) {
		struct conn c;
		char text[32];
		snprintf(text, sizeof(text), "connection %d", i);
		conn_open(&c, false);
		handshake_and_call(&c, i % 2 == 0, 1 + i % 3, text);
		/* The watch still serves the connection: one more call, later. */
		send_take(&c, "again");
		check(sd_bus_flush(c.server) >= 0);
		run_until(&c, c.replies == 2 + i % 3);
		check_str_eq(c.got, "again");
		conn_close(&c);
		dispatch(0);
		check_int_eq(c.lost_calls, 0);
		/* The loop's own timerfd came with the first connection. */
		if (i == 0)
			fds = count_fds();
	}
	/* Every socket, relay and fd passed was closed. */
	check_int_eq(count_fds(), fds);
}

/* Read the client's authentication lines on a raw peer. */
static void read_auth(struct conn *c)
{
	char buf[512];
	struct pollfd p = {.fd = c->raw, .events = POLLIN};
	uint64_t end = now_ns() + TIMEOUT_NS;
	while (poll(&p, 1, 0) == 0) {
		check(now_ns() < end);
		dispatch(10);
	}
	ssize_t n = recv(c->raw, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	check(n > 0);
	buf[n] = 0;
	check(buf[0] == 0);
	check_contains(buf + 1, "AUTH EXTERNAL");
	check_contains(buf + 1, "BEGIN\r\n");
}

static void send_raw(struct conn *c, const void *data, size_t size)
{
	check(send(c->raw, data, size, MSG_NOSIGNAL) == (ssize_t)size);
}

/* The peer answers with data instead of the authentication lines: lost with error. */
static void test_bad_answer(const void *data, size_t size, int error)
{
	struct conn c;
	conn_open(&c, true);
	read_auth(&c);
	send_raw(&c, data, size);
	run_until(&c, c.lost_calls > 0);
	check_int_eq(c.lost_error, error);
	dispatch(10);
	check_int_eq(c.lost_calls, 1);
	conn_close(&c);
}

static void test_peer_closes(bool destroy_in_lost, bool authenticated)
{
	struct conn c;
	conn_open(&c, !authenticated);
	c.destroy_in_lost = destroy_in_lost;
	if (authenticated) {
		handshake_and_call(&c, true, 1, "before closing");
		c.server = sd_bus_close_unref(c.server);
	} else {
		read_auth(&c);
		close(c.raw);
		c.raw = -1;
	}
	run_until(&c, c.lost_calls > 0);
	check_int_eq(c.lost_error, ECONNRESET);
	/* Once only. */
	for (int i = 0; i < 3; i++)
		dispatch(20);
	check_int_eq(c.lost_calls, 1);
	check(destroy_in_lost == (c.watch == NULL));
	conn_close(&c);
}

static void test_destroy_in_handler(void)
{
	struct conn c;
	conn_open(&c, false);
	c.destroy_in_handler = true;
	run_until(&c, sd_bus_is_ready(c.server) > 0);
	/* Three calls at once: the first destroys the watch, the others are never dispatched. */
	send_take(&c, "x");
	send_take(&c, "y");
	send_take(&c, "z");
	check(sd_bus_flush(c.server) >= 0);
	run_until(&c, c.watch == NULL);
	check_int_eq(c.calls, 1);
	check_str_eq(c.got, "x");
	/* The server sees the connection close. */
	run_until(&c, sd_bus_is_open(c.server) <= 0);
	for (int i = 0; i < 3; i++)
		dispatch(10);
	check_int_eq(c.lost_calls, 0);
	check_int_eq(c.calls, 1);
	conn_close(&c);
}

static void test_garbage(void)
{
	static const char lines[] = "HELLO\r\nWORLD\r\nAGAIN\r\n";
	test_bad_answer(lines, sizeof(lines) - 1, EPERM);
	char bytes[600];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (char)(i * 7 + 1);
	test_bad_answer(bytes, sizeof(bytes), EPROTO);
	/* A refusal and the errors to what followed, as a D-Bus server answers. */
	static const char refusal[] = "REJECTED EXTERNAL\r\nERROR\r\nERROR\r\n";
	test_bad_answer(refusal, sizeof(refusal) - 1, EPERM);
}

static void test_long_line(void)
{
	char line[600];
	memcpy(line, "OK ", 3);
	memset(line + 3, 'a', sizeof(line) - 5);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	test_bad_answer(line, sizeof(line), EPROTO);

	/* In pieces, each shorter than the limit. */
	struct conn c;
	conn_open(&c, true);
	read_auth(&c);
	send_raw(&c, line, 300);
	for (int i = 0; i < 3; i++)
		dispatch(10);
	check_int_eq(c.lost_calls, 0);
	send_raw(&c, line + 300, sizeof(line) - 300);
	run_until(&c, c.lost_calls > 0);
	check_int_eq(c.lost_error, EPROTO);
	conn_close(&c);
}

/* An answer that comes in pieces: the loop waits for the rest, it does not spin. */
static void test_pieces(void)
{
	struct conn c;
	conn_open(&c, true);
	read_auth(&c);
	static const char answer[] =
		"DATA\r\nOK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n";
	static const size_t cuts[] = {2, 5, 6, 9, 42, 43, 50};
	size_t at = 0;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		send_raw(&c, answer + at, cuts[i] - at);
		at = cuts[i];
		dispatch(0);
		/* Nothing more to do until the peer sends more: the loop sleeps. */
		uint64_t start = now_ns();
		dispatch(100);
		check(now_ns() - start >= 50000000u);
		check(sd_bus_is_ready(qemu_bus_get(c.watch)) <= 0);
	}
	send_raw(&c, answer + at, sizeof(answer) - 1 - at);
	run_until(&c, sd_bus_is_ready(qemu_bus_get(c.watch)) > 0);
	check_int_eq(c.lost_calls, 0);
	close(c.raw);
	c.raw = -1;
	run_until(&c, c.lost_calls > 0);
	check_int_eq(c.lost_error, ECONNRESET);
	conn_close(&c);
}

int main(void)
{
	loop = wl_event_loop_create();
	check(loop != NULL);
	test_first_call_carries_fd();
	test_peer_closes(false, true);
	test_peer_closes(true, true);
	test_peer_closes(false, false);
	test_destroy_in_handler();
	test_garbage();
	test_long_line();
	test_pieces();
	wl_event_loop_destroy(loop);
	printf("qemu bus: ok\n");
	return 0;
}
