// SPDX-License-Identifier: MIT
/*
 * fake-qemu: a peer that speaks to a D-Bus display like QEMU does, for the
 * paths Debian's QEMU cannot take in the test bed (dma-bufs, shared maps).
 *
 *   fake-qemu QMP_PATH [--dmabuf W H | --map W H | --pixels W H]
 *             [--y0-bottom] [--frames N] [--resend K] [--seed S]
 *             [--timeout SECONDS]
 *
 * It listens on QMP_PATH and answers QMP like QEMU: the greeting,
 * qmp_capabilities, getfd (the fd comes as SCM_RIGHTS with the command),
 * add_client protocol=@dbus-display with that fd's name, query-status.
 * On the add_client fd it is the D-Bus server (any client id, anonymous
 * too) of /org/qemu/Display1/VM and /org/qemu/Display1/Console_0
 * (Console, Keyboard, Mouse, under an object manager at
 * /org/qemu/Display1). RegisterListener's fd becomes a second D-Bus
 * server connection, on which it calls /org/qemu/Display1/Listener:
 *
 *   --dmabuf W H  a udmabuf of W x H XRGB8888 (linear) painted with
 *                 kt_fill_pattern(seed): ScanoutDMABUF, then UpdateDMABUF
 *                 of the whole picture N times (each after the previous
 *                 one's reply, as QEMU waits before its next GL frame),
 *                 the same dma-buf sent again with a new fd every K
 *                 updates. --y0-bottom: the rows are stored bottom-up and
 *                 y0_top is false.
 *   --map W H     ScanoutMap of a memfd and UpdateMap N times, when the
 *                 listener's Interfaces lists
 *                 org.qemu.Display1.Listener.Unix.Map (else as --pixels).
 *   --pixels W H  Scanout, then Update N times (x8r8g8b8).
 *
 * Commands on stdin, one a line:
 *   repaint S     paint the picture's memory with the pattern of seed S,
 *                 telling nobody (no call): a display that scans the
 *                 buffer out shows it, one that copied it does not.
 *   update        one more update call of the whole picture.
 *   cursor W H HX HY X Y
 *                 CursorDefine of a W x H cursor (ARGB8888, opaque,
 *                 colour 0xff00ff00), hotspot HX,HY, then MouseSet X,Y on.
 *   disable       Disable: the display is off.
 *
 * What happens is printed on stdout, one line each, for the test to read:
 *   listening PATH | qmp connected | add_client | registered |
 *   ui-info W H | key press|release N | mouse ... | interfaces A,B |
 *   scanout KIND | reply N US (the N-th update's reply took US µs) |
 *   done N | repainted S | cursor-defined | mouse-set | disabled |
 *   error METHOD NAME: MESSAGE | disconnected |
 *   timeout
 * Every call has a reply deadline; the whole run ends after --timeout
 * (default 50 s) with status 3. SIGTERM ends it with status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "control/json.h"
#include "kmstest.h"

#define CALL_TIMEOUT_US (10 * 1000000ull)
#define PIXMAN_X8R8G8B8 0x20020888u /* as QEMU 7.2 sends the std VGA's */
#define MAX_FDS         8
#define QMP_BUF         65536
#define LISTENER_PATH   "/org/qemu/Display1/Listener"
#define LISTENER_IFACE  "org.qemu.Display1.Listener"
#define UNIX_MAP_IFACE  "org.qemu.Display1.Listener.Unix.Map"
#define CONSOLE_PATH    "/org/qemu/Display1/Console_0"

enum mode { MODE_NONE, MODE_DMABUF, MODE_MAP, MODE_PIXELS };

static struct {
	sd_event *event;
	/* the command line */
	const char *qmp_path;
	enum mode mode;
	uint32_t width, height, stride;
	bool y0_top;
	unsigned int frames, resend;
	uint32_t seed;
	/* QMP */
	int listen_fd;
	int qmp_fd; /* -1 */
	sd_event_source *qmp_source;
	char qmp_buf[QMP_BUF];
	size_t qmp_len;
	int queued_fds[MAX_FDS]; /* received, not yet named by getfd */
	size_t n_queued;
	int named_fds[MAX_FDS];
	char names[MAX_FDS][64];
	size_t n_named;
	/* D-Bus */
	sd_bus *display;  /* the add_client connection, may be NULL */
	sd_bus *listener; /* the RegisterListener connection, may be NULL */
	/* the picture */
	enum mode sending; /* what the listener gets (--map may fall back to pixels) */
	int memfd;         /* the map's, or the udmabuf's memory */
	int dmabuf;        /* the udmabuf, -1 */
	void *pixels;      /* the memfd's mapping */
	size_t size;
	unsigned int sent, replied;
	uint64_t sent_ns;
} fake = {.listen_fd = -1, .qmp_fd = -1, .memfd = -1, .dmabuf = -1};

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...);

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fake-qemu: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

#define check_r(r, what)                                      \
	do {                                                  \
		int r_ = (r);                                 \
		if (r_ < 0)                                   \
			die("%s: %s", (what), strerror(-r_)); \
	} while (0)

/* ---------------------------------------------------------------------- */
/* The picture                                                            */
/* ---------------------------------------------------------------------- */

/* The pattern, its rows bottom-up unless y0_top, into memory of stride bytes per row. */
static void paint(void *dst, uint32_t seed)
{
	struct kt_image img;
	kt_assert_ok(kt_image_alloc(&img, fake.width, fake.height, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&img, seed);
	for (uint32_t y = 0; y < fake.height; y++) {
		uint32_t from = fake.y0_top ? y : fake.height - 1 - y;
		memcpy((char *)dst + (size_t)y * fake.stride, kt_pixel(&img, 0, from),
		       (size_t)fake.width * 4);
	}
	kt_image_free(&img);
}

static void make_picture(void)
{
	fake.stride = fake.width * 4;
	fake.size = (size_t)fake.stride * fake.height;
	if (fake.sending == MODE_DMABUF) {
		static struct kt_udmabuf u;
		kt_udmabuf_create(&u, fake.size);
		fake.memfd = u.memfd;
		fake.dmabuf = u.fd;
		fake.pixels = u.map;
	} else {
		fake.memfd = memfd_create("fake-qemu", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		kt_assert_errno(fake.memfd >= 0);
		kt_assert_errno(ftruncate(fake.memfd, (off_t)fake.size) == 0);
		fake.pixels =
			mmap(NULL, fake.size, PROT_READ | PROT_WRITE, MAP_SHARED, fake.memfd, 0);
		kt_assert_errno(fake.pixels != MAP_FAILED);
	}
	paint(fake.pixels, fake.seed);
}

/* ---------------------------------------------------------------------- */
/* The listener's calls                                                   */
/* ---------------------------------------------------------------------- */

static void send_update(void);

/* The reply of a call: an error is printed; returns whether it succeeded. */
static bool reply_ok(sd_bus_message *m, const char *method)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	if (e == NULL)
		return true;
	printf("error %s %s: %s\n", method, e->name, e->message != NULL ? e->message : "");
	return false;
}

static int on_scanout_reply(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	const char *method = data;
	if (reply_ok(m, method))
		printf("scanout %s %ux%u\n", method, fake.width, fake.height);
	return 0;
}

static const char *update_method(void)
{
	switch (fake.sending) {
	case MODE_DMABUF:
		return "UpdateDMABUF";
	case MODE_MAP:
		return "UpdateMap";
	default:
		return "Update";
	}
}

static int on_update_reply(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	uint64_t us = (kt_now_ns() - fake.sent_ns) / 1000u;
	if (!reply_ok(m, update_method()))
		return 0;
	fake.replied++;
	printf("reply %u %llu\n", fake.replied, (unsigned long long)us);
	if (fake.replied >= fake.frames)
		printf("done %u\n", fake.replied);
	else
		send_update();
	return 0;
}

/* A call's reply prints `what` (or its error). */
static int on_said(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	const char *what = data;
	if (reply_ok(m, what))
		printf("%s\n", what);
	return 0;
}

static void send_cursor(int32_t w, int32_t h, int32_t hx, int32_t hy, int32_t x, int32_t y)
{
	size_t size = (size_t)w * (size_t)h * 4;
	uint32_t *argb = malloc(size > 0 ? size : 4);
	if (argb == NULL)
		die("out of memory");
	for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
		argb[i] = 0xff00ff00u;
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(fake.listener, &m, NULL, LISTENER_PATH,
					       LISTENER_IFACE, "CursorDefine");
	check_r(r, "CursorDefine");
	r = sd_bus_message_append(m, "iiii", w, h, hx, hy);
	check_r(r, "CursorDefine");
	r = sd_bus_message_append_array(m, 'y', argb, size);
	check_r(r, "CursorDefine");
	r = sd_bus_call_async(fake.listener, NULL, m, on_said, (void *)"cursor-defined",
			      CALL_TIMEOUT_US);
	check_r(r, "CursorDefine");
	sd_bus_message_unref(m);
	free(argb);
	r = sd_bus_call_method_async(fake.listener, NULL, NULL, LISTENER_PATH, LISTENER_IFACE,
				     "MouseSet", on_said, (void *)"mouse-set", "iii", x, y, 1);
	check_r(r, "MouseSet");
}

static void send_scanout(void)
{
	sd_bus_message *m = NULL;
	const char *method;
	int r;
	switch (fake.sending) {
	case MODE_DMABUF: {
		method = "ScanoutDMABUF";
		r = sd_bus_message_new_method_call(fake.listener, &m, NULL, LISTENER_PATH,
						   LISTENER_IFACE, method);
		check_r(r, method);
		/* A new fd for the same buffer each time, as QEMU sends. */
		int fd = fcntl(fake.dmabuf, F_DUPFD_CLOEXEC, 0);
		kt_assert_errno(fd >= 0);
		r = sd_bus_message_append(m, "huuuutb", fd, fake.width, fake.height, fake.stride,
					  (uint32_t)DRM_FORMAT_XRGB8888,
					  (uint64_t)DRM_FORMAT_MOD_LINEAR, (int)fake.y0_top);
		close(fd);
		break;
	}
	case MODE_MAP:
		method = "ScanoutMap";
		r = sd_bus_message_new_method_call(fake.listener, &m, NULL, LISTENER_PATH,
						   UNIX_MAP_IFACE, method);
		check_r(r, method);
		r = sd_bus_message_append(m, "huuuuu", fake.memfd, 0u, fake.width, fake.height,
					  fake.stride, PIXMAN_X8R8G8B8);
		break;
	default:
		method = "Scanout";
		r = sd_bus_message_new_method_call(fake.listener, &m, NULL, LISTENER_PATH,
						   LISTENER_IFACE, method);
		check_r(r, method);
		r = sd_bus_message_append(m, "uuuu", fake.width, fake.height, fake.stride,
					  PIXMAN_X8R8G8B8);
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', fake.pixels, fake.size);
		break;
	}
	check_r(r, method);
	/* Not waited for: QEMU sends its update right behind it. */
	r = sd_bus_call_async(fake.listener, NULL, m, on_scanout_reply, (void *)method,
			      CALL_TIMEOUT_US);
	check_r(r, method);
	sd_bus_message_unref(m);
}

static void send_update(void)
{
	if (fake.sending == MODE_DMABUF && fake.resend > 0 && fake.sent > 0 &&
	    fake.sent % fake.resend == 0)
		send_scanout();
	sd_bus_message *m = NULL;
	const char *method = update_method();
	int r = sd_bus_message_new_method_call(
		fake.listener, &m, NULL, LISTENER_PATH,
		fake.sending == MODE_MAP ? UNIX_MAP_IFACE : LISTENER_IFACE, method);
	check_r(r, method);
	r = sd_bus_message_append(m, "iiii", 0, 0, (int32_t)fake.width, (int32_t)fake.height);
	if (r >= 0 && fake.sending == MODE_PIXELS) {
		r = sd_bus_message_append(m, "uu", fake.stride, PIXMAN_X8R8G8B8);
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', fake.pixels, fake.size);
	}
	check_r(r, method);
	fake.sent++;
	fake.sent_ns = kt_now_ns();
	r = sd_bus_call_async(fake.listener, NULL, m, on_update_reply, NULL, CALL_TIMEOUT_US);
	check_r(r, method);
	sd_bus_message_unref(m);
}

static void start_frames(void)
{
	make_picture();
	fake.sent = fake.replied = 0;
	send_scanout();
	send_update();
}

static int on_interfaces(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	bool map = false;
	if (reply_ok(m, "Get Interfaces")) {
		int r = sd_bus_message_enter_container(m, 'v', "as");
		check_r(r, "Interfaces");
		r = sd_bus_message_enter_container(m, 'a', "s");
		check_r(r, "Interfaces");
		const char *name;
		printf("interfaces");
		const char *sep = " ";
		while ((r = sd_bus_message_read(m, "s", &name)) > 0) {
			printf("%s%s", sep, name);
			sep = ",";
			map |= strcmp(name, UNIX_MAP_IFACE) == 0;
		}
		printf("\n");
		check_r(r, "Interfaces");
	}
	fake.sending = map ? MODE_MAP : MODE_PIXELS;
	if (!map)
		printf("map unsupported: pixels instead\n");
	start_frames();
	return 0;
}

static int on_listener_gone(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	printf("listener disconnected\n");
	return 0;
}

/* A D-Bus server connection on fd (taken), attached to the loop. */
static sd_bus *serve_bus(int fd, const char *what)
{
	sd_bus *bus = NULL;
	sd_id128_t id;
	check_r(sd_bus_new(&bus), what);
	check_r(sd_id128_randomize(&id), what);
	check_r(sd_bus_set_fd(bus, fd, fd), what);
	check_r(sd_bus_set_server(bus, 1, id), what);
	check_r(sd_bus_set_anonymous(bus, 1), what);
	check_r(sd_bus_negotiate_fds(bus, 1), what);
	check_r(sd_bus_start(bus), what);
	check_r(sd_bus_attach_event(bus, fake.event, SD_EVENT_PRIORITY_NORMAL), what);
	return bus;
}

/* ---------------------------------------------------------------------- */
/* The display's objects                                                  */
/* ---------------------------------------------------------------------- */

static int get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
		      sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	static const char *const values[][2] = {
		{"Name", "fake-qemu"},
		{"UUID", "6c1f5e2a-0b8d-4a51-9d3e-7f0a2b4c6d8e"},
		{"Label", "VGA"},
		{"Type", "Graphic"},
		{"DeviceAddress", "pci/0000/02.0"},
	};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (strcmp(property, values[i][0]) == 0)
			return sd_bus_message_append(reply, "s", values[i][1]);
	}
	return -ENOENT;
}

static int get_uint(sd_bus *bus, const char *path, const char *interface, const char *property,
		    sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	uint32_t v = 0;
	if (strcmp(property, "Width") == 0)
		v = fake.width;
	else if (strcmp(property, "Height") == 0)
		v = fake.height;
	return sd_bus_message_append(reply, "u", v);
}

static int get_console_ids(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *data,
			   sd_bus_error *ret_error)
{
	return sd_bus_message_append(reply, "au", 1, 0u);
}

static int get_vm_interfaces(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *data,
			     sd_bus_error *ret_error)
{
	return sd_bus_message_append(reply, "as", 0);
}

static int get_console_interfaces(sd_bus *bus, const char *path, const char *interface,
				  const char *property, sd_bus_message *reply, void *data,
				  sd_bus_error *ret_error)
{
	return sd_bus_message_append(reply, "as", 2, "org.qemu.Display1.Keyboard",
				     "org.qemu.Display1.Mouse");
}

static int get_true(sd_bus *bus, const char *path, const char *interface, const char *property,
		    sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	return sd_bus_message_append(reply, "b", 1);
}

static int register_listener(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	int fd;
	int r = sd_bus_message_read(m, "h", &fd);
	if (r < 0)
		return r;
	if (fake.listener != NULL)
		return sd_bus_error_set(ret_error, "org.freedesktop.DBus.Error.Failed",
					"fake-qemu takes one listener");
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fake.listener = serve_bus(fd, "listener");
	check_r(sd_bus_match_signal(fake.listener, NULL, "org.freedesktop.DBus.Local", NULL,
				    "org.freedesktop.DBus.Local", "Disconnected", on_listener_gone,
				    NULL),
		"listener");
	printf("registered\n");
	r = sd_bus_reply_method_return(m, NULL);
	if (fake.mode == MODE_MAP) {
		r = sd_bus_call_method_async(
			fake.listener, NULL, NULL, LISTENER_PATH, "org.freedesktop.DBus.Properties",
			"Get", on_interfaces, NULL, "ss", LISTENER_IFACE, "Interfaces");
		check_r(r, "Get Interfaces");
	} else if (fake.mode != MODE_NONE) {
		fake.sending = fake.mode;
		start_frames();
	}
	return r;
}

static int set_ui_info(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	uint16_t wmm, hmm;
	int32_t x, y;
	uint32_t w, h;
	int r = sd_bus_message_read(m, "qqiiuu", &wmm, &hmm, &x, &y, &w, &h);
	if (r < 0)
		return r;
	printf("ui-info %u %u %ux%umm %d,%d\n", w, h, wmm, hmm, x, y);
	return sd_bus_reply_method_return(m, NULL);
}

/* Keyboard and Mouse calls of one u argument: printed as "WHAT METHOD N". */
static int one_uint(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	uint32_t v;
	int r = sd_bus_message_read(m, "u", &v);
	if (r < 0)
		return r;
	printf("%s %s %u\n", (const char *)data, sd_bus_message_get_member(m), v);
	return sd_bus_reply_method_return(m, NULL);
}

static int mouse_abs(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	uint32_t x, y;
	int r = sd_bus_message_read(m, "uu", &x, &y);
	if (r < 0)
		return r;
	printf("mouse abs %u %u\n", x, y);
	return sd_bus_reply_method_return(m, NULL);
}

static int mouse_rel(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	int32_t x, y;
	int r = sd_bus_message_read(m, "ii", &x, &y);
	if (r < 0)
		return r;
	printf("mouse rel %d %d\n", x, y);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable vm_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("UUID", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ConsoleIDs", "au", get_console_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Interfaces", "as", get_vm_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable console_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("RegisterListener", "h", "", register_listener, 0),
	SD_BUS_METHOD("SetUIInfo", "qqiiuu", "", set_ui_info, 0),
	SD_BUS_PROPERTY("Label", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Head", "u", get_uint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Type", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Width", "u", get_uint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Height", "u", get_uint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("DeviceAddress", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Interfaces", "as", get_console_interfaces, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable keyboard_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Press", "u", "", one_uint, 0),
	SD_BUS_METHOD("Release", "u", "", one_uint, 0),
	SD_BUS_PROPERTY("Modifiers", "u", get_uint, 0, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable mouse_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Press", "u", "", one_uint, 0),
	SD_BUS_METHOD("Release", "u", "", one_uint, 0),
	SD_BUS_METHOD("SetAbsPosition", "uu", "", mouse_abs, 0),
	SD_BUS_METHOD("RelMotion", "ii", "", mouse_rel, 0),
	SD_BUS_PROPERTY("IsAbsolute", "b", get_true, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static void drop_listener(void)
{
	fake.listener = sd_bus_flush_close_unref(fake.listener);
	if (fake.pixels != NULL)
		munmap(fake.pixels, fake.size);
	fake.pixels = NULL;
	if (fake.memfd >= 0)
		close(fake.memfd);
	if (fake.dmabuf >= 0)
		close(fake.dmabuf);
	fake.memfd = fake.dmabuf = -1;
}

static int on_display_gone(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	printf("disconnected\n");
	fake.display = sd_bus_flush_close_unref(fake.display);
	drop_listener();
	return 0;
}

static void start_display(int fd)
{
	if (fake.display != NULL) {
		/* One display at a time, as QEMU takes more but the tests need one. */
		fake.display = sd_bus_flush_close_unref(fake.display);
		drop_listener();
	}
	sd_bus *bus = serve_bus(fd, "display");
	fake.display = bus;
	check_r(sd_bus_add_object_manager(bus, NULL, "/org/qemu/Display1"), "object manager");
	check_r(sd_bus_add_object_vtable(bus, NULL, "/org/qemu/Display1/VM", "org.qemu.Display1.VM",
					 vm_vtable, NULL),
		"VM");
	check_r(sd_bus_add_object_vtable(bus, NULL, CONSOLE_PATH, "org.qemu.Display1.Console",
					 console_vtable, NULL),
		"Console");
	check_r(sd_bus_add_object_vtable(bus, NULL, CONSOLE_PATH, "org.qemu.Display1.Keyboard",
					 keyboard_vtable, "key"),
		"Keyboard");
	check_r(sd_bus_add_object_vtable(bus, NULL, CONSOLE_PATH, "org.qemu.Display1.Mouse",
					 mouse_vtable, "mouse"),
		"Mouse");
	check_r(sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", NULL,
				    "org.freedesktop.DBus.Local", "Disconnected", on_display_gone,
				    NULL),
		"display");
}

/* ---------------------------------------------------------------------- */
/* QMP                                                                    */
/* ---------------------------------------------------------------------- */

static void qmp_send(const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = send(fake.qmp_fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client is gone: its end of file comes next */
		off += (size_t)n;
	}
}

/* Reply {"return": ...} or {"error": ...} (body), with the command's id if it had one. */
static void qmp_reply(const struct json_value *cmd, const char *body)
{
	char text[1024], id[256] = "";
	const struct json_value *v = json_get(cmd, "id");
	if (v != NULL && v->type == JSON_STRING)
		snprintf(id, sizeof(id), ", \"id\": \"%s\"", v->string);
	else if (v != NULL && v->type == JSON_NUMBER)
		snprintf(id, sizeof(id), ", \"id\": %s", v->string);
	snprintf(text, sizeof(text), "{%s%s}\r\n", body, id);
	qmp_send(text);
}

static void qmp_error(const struct json_value *cmd, const char *class, const char *desc)
{
	char body[512];
	snprintf(body, sizeof(body), "\"error\": {\"class\": \"%s\", \"desc\": \"%s\"}", class,
		 desc);
	printf("qmp error %s\n", desc);
	qmp_reply(cmd, body);
}

static int take_named(const char *name)
{
	for (size_t i = 0; i < fake.n_named; i++) {
		if (strcmp(fake.names[i], name) == 0) {
			int fd = fake.named_fds[i];
			fake.n_named--;
			fake.named_fds[i] = fake.named_fds[fake.n_named];
			memcpy(fake.names[i], fake.names[fake.n_named], sizeof(fake.names[i]));
			return fd;
		}
	}
	return -1;
}

static void qmp_command(const struct json_value *cmd)
{
	const char *execute = json_get_string(cmd, "execute");
	const struct json_value *args = json_get(cmd, "arguments");
	if (execute == NULL) {
		qmp_error(cmd, "GenericError", "no execute");
		return;
	}
	printf("qmp %s\n", execute);
	if (strcmp(execute, "qmp_capabilities") == 0) {
		qmp_reply(cmd, "\"return\": {}");
	} else if (strcmp(execute, "query-status") == 0) {
		qmp_reply(cmd, "\"return\": {\"status\": \"running\", \"singlestep\": false, "
			       "\"running\": true}");
	} else if (strcmp(execute, "getfd") == 0) {
		const char *name = json_get_string(args, "fdname");
		if (name == NULL || strlen(name) >= sizeof(fake.names[0])) {
			qmp_error(cmd, "GenericError", "getfd: no fdname");
		} else if (fake.n_queued == 0) {
			qmp_error(cmd, "GenericError",
				  "No file descriptor supplied via SCM_RIGHTS");
		} else {
			int old = take_named(name);
			if (old >= 0)
				close(old);
			if (fake.n_named == MAX_FDS)
				close(take_named(fake.names[0]));
			fake.named_fds[fake.n_named] = fake.queued_fds[0];
			snprintf(fake.names[fake.n_named], sizeof(fake.names[0]), "%s", name);
			fake.n_named++;
			fake.n_queued--;
			memmove(fake.queued_fds, fake.queued_fds + 1, fake.n_queued * sizeof(int));
			qmp_reply(cmd, "\"return\": {}");
		}
	} else if (strcmp(execute, "closefd") == 0) {
		const char *name = json_get_string(args, "fdname");
		int fd = name != NULL ? take_named(name) : -1;
		if (fd < 0) {
			qmp_error(cmd, "GenericError", "File descriptor named not found");
		} else {
			close(fd);
			qmp_reply(cmd, "\"return\": {}");
		}
	} else if (strcmp(execute, "add_client") == 0) {
		const char *protocol = json_get_string(args, "protocol");
		const char *name = json_get_string(args, "fdname");
		int fd = name != NULL ? take_named(name) : -1;
		if (protocol == NULL || strcmp(protocol, "@dbus-display") != 0) {
			if (fd >= 0)
				close(fd);
			qmp_error(cmd, "GenericError", "protocol is not @dbus-display");
		} else if (fd < 0) {
			qmp_error(cmd, "GenericError", "File descriptor named not found");
		} else {
			printf("add_client\n");
			start_display(fd);
			qmp_reply(cmd, "\"return\": {}");
		}
	} else {
		char desc[128];
		snprintf(desc, sizeof(desc), "The command %s has not been found", execute);
		qmp_error(cmd, "CommandNotFound", desc);
	}
}

/* The length of the first whole JSON object or array in buf, 0 while incomplete. */
static size_t message_length(const char *buf, size_t len)
{
	int depth = 0;
	bool in_string = false, escape = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (escape)
				escape = false;
			else if (c == '\\')
				escape = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

static void qmp_close(void)
{
	printf("qmp closed\n");
	fake.qmp_source = sd_event_source_disable_unref(fake.qmp_source);
	close(fake.qmp_fd);
	fake.qmp_fd = -1;
	fake.qmp_len = 0;
	for (size_t i = 0; i < fake.n_queued; i++)
		close(fake.queued_fds[i]);
	fake.n_queued = 0;
}

static int on_qmp(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	char control[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct iovec iov = {fake.qmp_buf + fake.qmp_len, sizeof(fake.qmp_buf) - fake.qmp_len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof(control)};
	if (iov.iov_len == 0)
		die("QMP: a command longer than %zu bytes", sizeof(fake.qmp_buf));
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c != NULL;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			if (fake.n_queued < MAX_FDS)
				fake.queued_fds[fake.n_queued++] = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n <= 0) {
		qmp_close();
		return 0;
	}
	fake.qmp_len += (size_t)n;
	for (;;) {
		size_t skip = 0;
		while (skip < fake.qmp_len && strchr(" \t\r\n", fake.qmp_buf[skip]) != NULL)
			skip++;
		size_t len = message_length(fake.qmp_buf + skip, fake.qmp_len - skip);
		if (len == 0) {
			memmove(fake.qmp_buf, fake.qmp_buf + skip, fake.qmp_len - skip);
			fake.qmp_len -= skip;
			break;
		}
		char err[128];
		struct json_value *cmd = json_parse(fake.qmp_buf + skip, len, err, sizeof(err));
		if (cmd == NULL || cmd->type != JSON_OBJECT)
			qmp_error(cmd, "GenericError", "JSON parse error");
		else
			qmp_command(cmd);
		json_value_free(cmd);
		memmove(fake.qmp_buf, fake.qmp_buf + skip + len, fake.qmp_len - skip - len);
		fake.qmp_len -= skip + len;
		if (fake.qmp_fd < 0)
			break;
	}
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return 0;
	if (fake.qmp_fd >= 0)
		qmp_close();
	fake.qmp_fd = conn;
	printf("qmp connected\n");
	check_r(sd_event_add_io(fake.event, &fake.qmp_source, conn, EPOLLIN, on_qmp, NULL), "QMP");
	qmp_send("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
		 "\"package\": \"fake-qemu\"}, \"capabilities\": [\"oob\"]}}\r\n");
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	printf("timeout\n");
	exit(3);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	static char buf[256];
	static size_t len;
	ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	len += (size_t)n;
	char *nl;
	while ((nl = memchr(buf, '\n', len)) != NULL) {
		*nl = '\0';
		unsigned int seed;
		int cw, ch, chx, chy, cx, cy;
		if (sscanf(buf, "repaint %u", &seed) == 1 && fake.pixels != NULL) {
			paint(fake.pixels, seed);
			printf("repainted %u\n", seed);
		} else if (strcmp(buf, "update") == 0 && fake.listener != NULL &&
			   fake.pixels != NULL) {
			fake.frames++;
			send_update();
		} else if (sscanf(buf, "cursor %d %d %d %d %d %d", &cw, &ch, &chx, &chy, &cx,
				  &cy) == 6 &&
			   fake.listener != NULL) {
			send_cursor(cw, ch, chx, chy, cx, cy);
		} else if (strcmp(buf, "disable") == 0 && fake.listener != NULL) {
			int r = sd_bus_call_method_async(fake.listener, NULL, NULL, LISTENER_PATH,
							 LISTENER_IFACE, "Disable", on_said,
							 (void *)"disabled", "");
			check_r(r, "Disable");
		} else {
			printf("error stdin %s: not now or unknown\n", buf);
		}
		size_t used = (size_t)(nl - buf) + 1;
		memmove(buf, nl + 1, len - used);
		len -= used;
	}
	if (len == sizeof(buf) - 1)
		len = 0;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

static uint32_t number(const char *text, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text != NULL ? text : "", &end, 0);
	if (text == NULL || *end != '\0' || errno != 0 || v > 0xffffffffu)
		die("%s: '%s' is not a number", what, text != NULL ? text : "");
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die("usage: fake-qemu QMP_PATH [--dmabuf W H | --map W H | --pixels W H] "
		    "[--y0-bottom] [--frames N] [--resend K] [--seed S] [--timeout SECONDS]");
	fake.qmp_path = argv[1];
	fake.y0_top = true;
	fake.frames = 10;
	fake.seed = 7;
	uint32_t timeout = 50;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--dmabuf") == 0 || strcmp(a, "--map") == 0 ||
		    strcmp(a, "--pixels") == 0) {
			fake.mode = a[2] == 'd'   ? MODE_DMABUF
				    : a[2] == 'm' ? MODE_MAP
						  : MODE_PIXELS;
			fake.width = number(i + 1 < argc ? argv[++i] : NULL, a);
			fake.height = number(i + 1 < argc ? argv[++i] : NULL, a);
			if (fake.width == 0 || fake.height == 0 || fake.width > 8192 ||
			    fake.height > 8192)
				die("%s: %ux%u is not a picture's size", a, fake.width,
				    fake.height);
		} else if (strcmp(a, "--y0-bottom") == 0) {
			fake.y0_top = false;
		} else if (strcmp(a, "--frames") == 0) {
			fake.frames = number(i + 1 < argc ? argv[++i] : NULL, a);
		} else if (strcmp(a, "--resend") == 0) {
			fake.resend = number(i + 1 < argc ? argv[++i] : NULL, a);
		} else if (strcmp(a, "--seed") == 0) {
			fake.seed = number(i + 1 < argc ? argv[++i] : NULL, a);
		} else if (strcmp(a, "--timeout") == 0) {
			timeout = number(i + 1 < argc ? argv[++i] : NULL, a);
		} else {
			die("unknown option %s", a);
		}
	}

	check_r(sd_event_default(&fake.event), "sd_event");
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, NULL);
	check_r(sd_event_add_signal(fake.event, NULL, SIGTERM, NULL, NULL), "SIGTERM");
	check_r(sd_event_add_signal(fake.event, NULL, SIGINT, NULL, NULL), "SIGINT");
	check_r(sd_event_add_time_relative(fake.event, NULL, CLOCK_MONOTONIC,
					   (uint64_t)timeout * 1000000u, 0, on_timeout, NULL),
		"timeout");

	fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	kt_assert_errno(fake.listen_fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(fake.qmp_path) >= sizeof(addr.sun_path))
		die("%s: too long for a socket", fake.qmp_path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fake.qmp_path);
	unlink(fake.qmp_path);
	if (bind(fake.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fake.listen_fd, 4) < 0)
		die("%s: %s", fake.qmp_path, strerror(errno));
	check_r(sd_event_add_io(fake.event, NULL, fake.listen_fd, EPOLLIN, on_accept, NULL),
		"listen");
	/* Commands on stdin, when it is something epoll can watch (not /dev/null). */
	int r = sd_event_add_io(fake.event, NULL, 0, EPOLLIN, on_stdin, NULL);
	if (r < 0 && r != -EPERM)
		check_r(r, "stdin");
	printf("listening %s\n", fake.qmp_path);

	r = sd_event_loop(fake.event);
	check_r(r, "event loop");
	fake.display = sd_bus_flush_close_unref(fake.display);
	drop_listener();
	unlink(fake.qmp_path);
	return 0;
}
