// SPDX-License-Identifier: MIT
/*
 * fake-qemu (tests/qemu/fake-qemu.c) against a display of this test's
 * own, on the host, whose connections are qemu/bus.c's peer-to-peer
 * connections on a wl_event_loop, as the daemon's are (fake-qemu, like
 * QEMU, sends its first call, fd and all, right after authenticating:
 * the connections must survive it): attached as QEMU's D-Bus display is (QMP getfd with
 * the fd as SCM_RIGHTS, add_client protocol=@dbus-display), the VM's and
 * the console's properties read, SetUIInfo and a key press reported by
 * fake-qemu, RegisterListener's connection set up while its reply is
 * outstanding, and then the listener receives:
 *
 *   pixels  Scanout of the pattern (kt_fill_pattern, seed 7), then
 *           Update of the whole picture, FRAMES times, each after the
 *           previous one's reply; fake-qemu prints a reply line each.
 *   map     the listener lists org.qemu.Display1.Listener.Unix.Map:
 *           ScanoutMap of a memfd holding the pattern, then UpdateMap.
 *   dmabuf  (needs /dev/udmabuf: in the VM) ScanoutDMABUF of a udmabuf
 *           holding the pattern, then UpdateDMABUF, the buffer sent again
 *           with a new fd every RESEND updates: the same memory each time.
 *
 * argv[1]: fake-qemu, argv[2]: pixels | map | dmabuf.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <systemd/sd-bus.h>
#include <wayland-server-core.h>

#include "kmstest.h"
#include "qemu/bus.h"

/* A folder of this run's own: the tests of several modes run at the same time. */
static char dir[64], qmp_path[96];
#define WIDTH      64
#define HEIGHT     32
#define FRAMES     3
#define RESEND     2
#define TIMEOUT_MS 10000

static struct {
	const char *kind;
	bool map;
	ino_t dmabuf_ino;
	pid_t pid;
	int out; /* fake-qemu's stdout */
	char buf[8192];
	size_t len;
	struct wl_event_loop *loop;
	struct qemu_bus *display, *listener;
	bool closing; /* the connections are closed on purpose */
	unsigned int scanouts, updates;
	struct kt_image want;
	bool pixels_ok;
} t = {.out = -1};

/* ---------------------------------------------------------------------- */
/* Serving both connections and reading fake-qemu's lines                 */
/* ---------------------------------------------------------------------- */

static void handle_lost(void *data, int error)
{
	kt_assertf(t.closing, "%s connection lost: %s", (const char *)data, strerror(error));
}

static void pump(int timeout_ms)
{
	kt_assert_errno(wl_event_loop_dispatch(t.loop, 0) == 0);
	struct pollfd p[2] = {{.fd = t.out, .events = POLLIN},
			      {.fd = wl_event_loop_get_fd(t.loop), .events = POLLIN}};
	kt_assert_errno(poll(p, 2, timeout_ms) >= 0 || errno == EINTR);
}

static struct qemu_bus *connect_peer(int fd, const char *what)
{
	int error = 0;
	struct qemu_bus *watch =
		qemu_bus_create_peer(t.loop, fd, handle_lost, (void *)what, &error);
	kt_assertf(watch != NULL, "%s connection: %s", what, strerror(error));
	return watch;
}

/* Serve until fake-qemu printed a line starting with prefix; returns it (static). */
static const char *wait_line(const char *prefix)
{
	static char line[512];
	uint64_t end = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	for (;;) {
		char *nl;
		while ((nl = memchr(t.buf, '\n', t.len)) != NULL) {
			size_t n = (size_t)(nl - t.buf);
			snprintf(line, sizeof(line), "%.*s", (int)n, t.buf);
			memmove(t.buf, nl + 1, t.len - n - 1);
			t.len -= n + 1;
			printf("fake-qemu: %s\n", line);
			kt_assertf(strncmp(line, "error", 5) != 0, "fake-qemu: %s", line);
			if (strncmp(line, prefix, strlen(prefix)) == 0)
				return line;
		}
		kt_assertf(kt_now_ns() < end, "fake-qemu never printed '%s'", prefix);
		pump(20);
		ssize_t r = read(t.out, t.buf + t.len, sizeof(t.buf) - t.len);
		if (r < 0 && errno == EAGAIN)
			continue;
		kt_assertf(r > 0, "fake-qemu ended before printing '%s'", prefix);
		t.len += (size_t)r;
	}
}

/* ---------------------------------------------------------------------- */
/* The listener                                                           */
/* ---------------------------------------------------------------------- */

static void check_pixels(const void *data, size_t size, uint32_t stride, const char *what)
{
	kt_assertf(stride == WIDTH * 4 && size >= (size_t)stride * HEIGHT,
		   "%s: stride %u, %zu bytes", what, stride, size);
	struct kt_image got = {WIDTH, HEIGHT, stride, DRM_FORMAT_XRGB8888, (void *)data};
	kt_assertf(kt_compare(&got, &t.want, 0x00ffffff, what) == 0, "%s: not the pattern", what);
	t.pixels_ok = true;
}

static int scanout(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	uint32_t w, h, stride, format;
	const void *pixels;
	size_t size;
	kt_assert(sd_bus_message_read(m, "uuuu", &w, &h, &stride, &format) >= 0);
	kt_assert(sd_bus_message_read_array(m, 'y', &pixels, &size) >= 0);
	kt_assertf(w == WIDTH && h == HEIGHT && format == 0x20020888u, "Scanout %ux%u format 0x%x",
		   w, h, format);
	check_pixels(pixels, size, stride, "Scanout");
	t.scanouts++;
	return sd_bus_reply_method_return(m, NULL);
}

static int update(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	int32_t x, y, w, h;
	kt_assert(sd_bus_message_read(m, "iiii", &x, &y, &w, &h) >= 0);
	kt_assertf(x == 0 && y == 0 && w == WIDTH && h == HEIGHT, "%s %d,%d %dx%d",
		   sd_bus_message_get_member(m), x, y, w, h);
	kt_assert(t.scanouts >= 1);
	t.updates++;
	return sd_bus_reply_method_return(m, NULL);
}

static int scanout_map(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	int fd;
	uint32_t offset, w, h, stride, format;
	kt_assert(sd_bus_message_read(m, "huuuuu", &fd, &offset, &w, &h, &stride, &format) >= 0);
	kt_assertf(offset == 0 && w == WIDTH && h == HEIGHT && format == 0x20020888u,
		   "ScanoutMap +%u %ux%u format 0x%x", offset, w, h, format);
	size_t size = (size_t)stride * h;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	kt_assert_errno(map != MAP_FAILED);
	check_pixels(map, size, stride, "ScanoutMap");
	munmap(map, size);
	t.scanouts++;
	return sd_bus_reply_method_return(m, NULL);
}

static int scanout_dmabuf(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	int fd, y0_top;
	uint32_t w, h, stride, fourcc;
	uint64_t modifier;
	kt_assert(sd_bus_message_read(m, "huuuutb", &fd, &w, &h, &stride, &fourcc, &modifier,
				      &y0_top) >= 0);
	kt_assertf(w == WIDTH && h == HEIGHT && fourcc == DRM_FORMAT_XRGB8888 &&
			   modifier == DRM_FORMAT_MOD_LINEAR && y0_top,
		   "ScanoutDMABUF %ux%u fourcc 0x%x modifier 0x%llx y0_top %d", w, h, fourcc,
		   (unsigned long long)modifier, y0_top);
	struct stat st;
	kt_assert_errno(fstat(fd, &st) == 0);
	if (t.scanouts == 0)
		t.dmabuf_ino = st.st_ino;
	kt_assertf(st.st_ino == t.dmabuf_ino, "ScanoutDMABUF %u: another buffer", t.scanouts + 1);
	size_t size = (size_t)stride * h;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	kt_assert_errno(map != MAP_FAILED);
	check_pixels(map, size, stride, "ScanoutDMABUF");
	munmap(map, size);
	t.scanouts++;
	return sd_bus_reply_method_return(m, NULL);
}

static int get_interfaces(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *data,
			  sd_bus_error *ret_error)
{
	if (t.map)
		return sd_bus_message_append(reply, "as", 1, "org.qemu.Display1.Listener.Unix.Map");
	return sd_bus_message_append(reply, "as", 0);
}

static const sd_bus_vtable listener_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Scanout", "uuuuay", "", scanout, 0),
	SD_BUS_METHOD("Update", "iiiiuuay", "", update, 0),
	SD_BUS_METHOD("ScanoutDMABUF", "huuuutb", "", scanout_dmabuf, 0),
	SD_BUS_METHOD("UpdateDMABUF", "iiii", "", update, 0),
	SD_BUS_PROPERTY("Interfaces", "as", get_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable map_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("ScanoutMap", "huuuuu", "", scanout_map, 0),
	SD_BUS_METHOD("UpdateMap", "iiii", "", update, 0),
	SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------------- */
/* QMP                                                                    */
/* ---------------------------------------------------------------------- */

static void qmp_send(int fd, const char *text, int pass_fd)
{
	struct iovec iov = {(void *)text, strlen(text)};
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (pass_fd >= 0) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	kt_assert_errno(sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)iov.iov_len);
}

/* One reply line; fails unless it is a return. */
static void qmp_expect_return(FILE *f, const char *what)
{
	char line[1024];
	kt_assertf(fgets(line, sizeof(line), f) != NULL, "QMP %s: no reply", what);
	kt_assertf(strstr(line, "\"return\"") != NULL, "QMP %s: %s", what, line);
}

static void attach(void)
{
	int qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	kt_assert_errno(qmp >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", qmp_path);
	kt_assert_errno(connect(qmp, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	FILE *f = fdopen(dup(qmp), "r");
	kt_assert(f != NULL);
	char line[1024];
	kt_assert(fgets(line, sizeof(line), f) != NULL && strstr(line, "\"QMP\"") != NULL);
	/* No newline between the commands: QMP is a stream of JSON values. */
	qmp_send(qmp, "{\"execute\": \"qmp_capabilities\", \"id\": 1}", -1);
	qmp_expect_return(f, "qmp_capabilities");
	int pair[2];
	kt_assert_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
	qmp_send(
		qmp,
		"{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"display\"}, \"id\": \"a\"}",
		pair[1]);
	close(pair[1]);
	qmp_expect_return(f, "getfd");
	qmp_send(qmp,
		 "{\"execute\": \"add_client\", \"arguments\": {\"protocol\": \"@dbus-display\", "
		 "\"fdname\": \"display\"}}\n",
		 -1);
	qmp_expect_return(f, "add_client");
	/* A second add_client of the same name: the fd was taken. */
	qmp_send(qmp,
		 "{\"execute\": \"add_client\", \"arguments\": {\"protocol\": \"@dbus-display\", "
		 "\"fdname\": \"display\"}}\n",
		 -1);
	kt_assert(fgets(line, sizeof(line), f) != NULL && strstr(line, "\"error\"") != NULL);
	fclose(f);
	close(qmp);

	/* The display's side authenticates as the client. */
	t.display = connect_peer(pair[0], "display");
}

/* ---------------------------------------------------------------------- */
/* The test                                                               */
/* ---------------------------------------------------------------------- */

static void start_fake(const char *program)
{
	snprintf(dir, sizeof(dir), "/tmp/vscanout-fake-qemu-test-%d", (int)getpid());
	snprintf(qmp_path, sizeof(qmp_path), "%s/qmp", dir);
	mkdir(dir, 0700);
	int pipefd[2];
	kt_assert_errno(pipe2(pipefd, O_CLOEXEC) == 0);
	char frames[16];
	snprintf(frames, sizeof(frames), "%d", FRAMES);
	char size_w[16], size_h[16];
	snprintf(size_w, sizeof(size_w), "%d", WIDTH);
	snprintf(size_h, sizeof(size_h), "%d", HEIGHT);
	fflush(stdout);
	t.pid = fork();
	kt_assert_errno(t.pid >= 0);
	if (t.pid == 0) {
		if (dup2(pipefd[1], 1) < 0)
			_exit(126);
		char mode[16], resend[16];
		snprintf(mode, sizeof(mode), "--%s", t.kind);
		snprintf(resend, sizeof(resend), "%d", RESEND);
		execl(program, "fake-qemu", qmp_path, mode, size_w, size_h, "--frames", frames,
		      "--resend", resend, "--timeout", "20", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	t.out = pipefd[0];
	kt_assert_errno(fcntl(t.out, F_SETFL, O_NONBLOCK) == 0);
}

struct reply {
	bool done;
	sd_bus_message *m; /* the return, may be NULL */
	char error[256];
};

static int handle_reply(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	struct reply *r = data;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	r->done = true;
	if (e != NULL)
		snprintf(r->error, sizeof(r->error), "%s: %s", e->name, e->message);
	else
		r->m = sd_bus_message_ref(m);
	return 0;
}

/* Call on the display connection (m taken) and serve until the reply came: the return. */
static sd_bus_message *call(sd_bus_message *m, const char *what)
{
	struct reply r = {0};
	kt_assert(sd_bus_call_async(qemu_bus_get(t.display), NULL, m, handle_reply, &r, 0) >= 0);
	sd_bus_message_unref(m);
	qemu_bus_kick(t.display);
	uint64_t end = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	while (!r.done) {
		kt_assertf(kt_now_ns() < end, "%s: no reply", what);
		pump(20);
	}
	kt_assertf(r.m != NULL, "%s: %s", what, r.error);
	return r.m;
}

static sd_bus_message *method(const char *path, const char *interface, const char *member)
{
	sd_bus_message *m = NULL;
	kt_assert(sd_bus_message_new_method_call(qemu_bus_get(t.display), &m, NULL, path, interface,
						 member) >= 0);
	return m;
}

static char *get_string(const char *path, const char *interface, const char *property)
{
	sd_bus_message *m = method(path, "org.freedesktop.DBus.Properties", "Get");
	kt_assert(sd_bus_message_append(m, "ss", interface, property) >= 0);
	sd_bus_message *reply = call(m, property);
	const char *value = NULL;
	kt_assert(sd_bus_message_read(reply, "v", "s", &value) >= 0);
	char *copy = strdup(value);
	kt_assert(copy != NULL);
	sd_bus_message_unref(reply);
	return copy;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 3 && (strcmp(argv[2], "pixels") == 0 || strcmp(argv[2], "map") == 0 ||
				 strcmp(argv[2], "dmabuf") == 0),
		   "usage: %s FAKE_QEMU pixels|map|dmabuf", argv[0]);
	signal(SIGPIPE, SIG_IGN);
	t.kind = argv[2];
	t.map = strcmp(argv[2], "map") == 0;
	bool dmabuf = strcmp(argv[2], "dmabuf") == 0;
	if (dmabuf && access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");
	kt_assert_ok(kt_image_alloc(&t.want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&t.want, 7);

	t.loop = wl_event_loop_create();
	kt_assert(t.loop != NULL);
	start_fake(argv[1]);
	wait_line("listening");
	attach();
	wait_line("add_client");

	char *name = get_string("/org/qemu/Display1/VM", "org.qemu.Display1.VM", "Name");
	kt_assertf(strcmp(name, "fake-qemu") == 0, "VM Name %s", name);
	free(name);
	char *type =
		get_string("/org/qemu/Display1/Console_0", "org.qemu.Display1.Console", "Type");
	kt_assertf(strcmp(type, "Graphic") == 0, "Console Type %s", type);
	free(type);
	sd_bus_message *m =
		method("/org/qemu/Display1/Console_0", "org.qemu.Display1.Console", "SetUIInfo");
	kt_assert(sd_bus_message_append(m, "qqiiuu", 300, 200, 0, 0, 1024u, 768u) >= 0);
	sd_bus_message_unref(call(m, "SetUIInfo"));
	wait_line("ui-info 1024 768");
	m = method("/org/qemu/Display1/Console_0", "org.qemu.Display1.Keyboard", "Press");
	kt_assert(sd_bus_message_append(m, "u", 30u) >= 0);
	sd_bus_message_unref(call(m, "Press"));
	wait_line("key Press 30");

	/* The listener: QEMU is the server of its connection too. */
	int pair[2];
	kt_assert_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
	kt_assert(sd_bus_call_method_async(qemu_bus_get(t.display), NULL, NULL,
					   "/org/qemu/Display1/Console_0",
					   "org.qemu.Display1.Console", "RegisterListener", NULL,
					   NULL, "h", pair[1]) >= 0);
	close(pair[1]);
	qemu_bus_kick(t.display);
	t.listener = connect_peer(pair[0], "listener");
	sd_bus *listener = qemu_bus_get(t.listener);
	kt_assert(sd_bus_add_object_vtable(listener, NULL, "/org/qemu/Display1/Listener",
					   "org.qemu.Display1.Listener", listener_vtable,
					   NULL) >= 0);
	kt_assert(sd_bus_add_object_vtable(listener, NULL, "/org/qemu/Display1/Listener",
					   "org.qemu.Display1.Listener.Unix.Map", map_vtable,
					   NULL) >= 0);
	wait_line("registered");
	if (t.map)
		wait_line("interfaces org.qemu.Display1.Listener.Unix.Map");
	wait_line(t.map    ? "scanout ScanoutMap"
		  : dmabuf ? "scanout ScanoutDMABUF"
			   : "scanout Scanout");
	char want[32];
	snprintf(want, sizeof(want), "done %d", FRAMES);
	wait_line(want);
	/* The dma-buf again before updates RESEND + 1, 2 × RESEND + 1, ... */
	unsigned int scanouts = dmabuf ? 1 + (FRAMES - 1) / RESEND : 1;
	kt_assertf(t.scanouts == scanouts && t.updates == FRAMES && t.pixels_ok,
		   "%u scanouts, %u updates, pixels %s", t.scanouts, t.updates,
		   t.pixels_ok ? "right" : "unchecked");

	/* Gone: fake-qemu sees its connections close and ends on SIGTERM. */
	t.closing = true;
	qemu_bus_destroy(t.listener);
	qemu_bus_destroy(t.display);
	t.listener = t.display = NULL;
	wait_line("disconnected");
	kt_assert_errno(kill(t.pid, SIGTERM) == 0);
	int status;
	kt_assert_errno(waitpid(t.pid, &status, 0) == t.pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake-qemu status 0x%x", status);
	kt_image_free(&t.want);
	wl_event_loop_destroy(t.loop);
	rmdir(dir);
	printf("fake-qemu %s: ok\n", argv[2]);
	return 0;
}
