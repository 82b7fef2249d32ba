// SPDX-License-Identifier: MIT
/*
 * vscanoutctl: ask a running vscanoutd about its state, take screenshots,
 * blank outputs and hold its view against the kernel's, through the
 * privileged vscanout_control_v1 interface on the daemon's socket. Answers
 * come back in a memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>

#include <drm_fourcc.h>

#include "build-config.h"
#include "control/json.h"
#include "debugfs.h"
#include "outfile.h"
#include "png-encode.h"
#include "vscanout-v1-client-protocol.h"

#define ANSWER_TIMEOUT_MS 30000
#define DEBUGFS_DRI_DIR   "/sys/kernel/debug/dri"
/* Tries at a status and debugfs read between which vscanoutd committed nothing. */
#define DEBUGFS_TRIES 8
/* The vscanout_control_v1 version this build speaks: 2 adds assign_slot, 3 capture. */
#define CONTROL_VERSION 3

/* Exit status for a bad command line, as vscanoutd's; 1 is a failure. */
#define EXIT_USAGE 2

/* The system service's socket (vscanoutd.service; vscanoutd as root without XDG_RUNTIME_DIR). */
#define SYSTEM_SOCKET "/run/vscanout/vscanout-0"

static const char usage[] =
	"Usage: vscanoutctl [-s PATH] COMMAND [ARGS]\n"
	"\n"
	"Inspect and steer a running vscanoutd. Only root and the members of its\n"
	"[daemon] control-group (operators, e.g. group vscanout-admin) may; VMM users\n"
	"(group vscanout) are refused. The socket must be reachable too: operators\n"
	"other than root are also in the socket's group.\n"
	"\n"
	"Commands:\n"
	"  status [--json]           outputs, layers, counters and vGPUs; --json prints\n"
	"                            the daemon's JSON document unchanged\n"
	"  screenshot OUTPUT FILE    write what OUTPUT shows as a PNG to FILE ('-':\n"
	"                            standard output) and say how it was taken; FILE\n"
	"                            is replaced by a new file of mode 0600 (a link\n"
	"                            there is replaced, never written through)\n"
	"  blank OUTPUT              turn OUTPUT's CRTC off (DPMS off), keeping its\n"
	"                            settings and picture\n"
	"  unblank OUTPUT            light a blanked OUTPUT again\n"
	"  reload                    read the configuration file again; exit 1 with\n"
	"                            the reason when it has errors (nothing changes)\n"
	"  assign VGPU OUTPUT [SLOT] show VGPU on OUTPUT from now on (until a reload),\n"
	"                            in the region of place SLOT of its vgpu= list\n"
	"                            (default 1; a VGPU shown at another place swaps\n"
	"                            with the one at SLOT; one more than the vGPUs\n"
	"                            shown adds VGPU on top)\n"
	"  debugfs [--dir DIR]       the kernel's state of vscanoutd's CRTCs and planes\n"
	"                            (DIR/MINOR/state, DIR: " DEBUGFS_DRI_DIR ")\n"
	"                            beside vscanoutd's; exit 1 when they disagree\n"
	"  list outputs|vgpus        the names of the outputs or of the vGPUs, one a line\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH         the daemon's socket (default: $VSCANOUT_SOCKET;\n"
	"                            without it the first of\n"
	"                            $XDG_RUNTIME_DIR/vscanout-0 and\n"
	"                            " SYSTEM_SOCKET " where a daemon answers)\n"
	"  -h, --help                show this help and exit\n"
	"  -V, --version             show the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 failed (one line says why), 2 a bad command line.\n";

/* Most sockets tried without -s: the user's daemon's, then the system's. */
#define MAX_SOCKETS 2

struct ctl {
	const char *socket_path;        /* the one connected to, or given (-s, $VSCANOUT_SOCKET) */
	char sockets[MAX_SOCKETS][108]; /* the candidates without one given */
	size_t n_sockets;
	struct wl_display *display;
	struct vscanout_control_v1 *control;
	uint32_t control_name;
	uint32_t control_version; /* as bound: the daemon's, at most CONTROL_VERSION */
	/* The answer to the request in flight. */
	uint32_t serial;
	bool answered, failed;
	uint32_t value;
	char message[512];
	/* The image event of a capture in flight. */
	bool image;
	uint32_t width, height, stride, format;
};

/* The last message libwayland logged: the text of a protocol error. */
static char last_log[512];

static void handle_log(const char *fmt, va_list args)
{
	vsnprintf(last_log, sizeof(last_log), fmt, args);
}

__attribute__((format(printf, 1, 2))) static void error(const char *fmt, ...)
{
	va_list args;
	fputs("vscanoutctl: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
			    const char *interface, uint32_t version)
{
	struct ctl *ctl = data;
	if (strcmp(interface, vscanout_control_v1_interface.name) == 0 && ctl->control_name == 0) {
		ctl->control_name = name;
		ctl->control_version = version < CONTROL_VERSION ? version : CONTROL_VERSION;
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void control_done(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			 uint32_t value)
{
	struct ctl *ctl = data;
	if (serial != ctl->serial)
		return;
	ctl->answered = true;
	ctl->value = value;
}

static void control_failed(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			   const char *message)
{
	struct ctl *ctl = data;
	if (serial != ctl->serial)
		return;
	ctl->answered = true;
	ctl->failed = true;
	snprintf(ctl->message, sizeof(ctl->message), "%s", message);
}

static void control_image(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			  uint32_t width, uint32_t height, uint32_t stride, uint32_t format)
{
	struct ctl *ctl = data;
	if (serial != ctl->serial)
		return;
	ctl->image = true;
	ctl->width = width;
	ctl->height = height;
	ctl->stride = stride;
	ctl->format = format;
}

static const struct vscanout_control_v1_listener control_listener = {
	.done = control_done,
	.failed = control_failed,
	.image = control_image,
};

/*
 * Where to look for vscanoutd without -s: $VSCANOUT_SOCKET alone when set;
 * else, in this order, $XDG_RUNTIME_DIR/vscanout-0 (where vscanoutd run by
 * this user listens by default) and the system service's socket, so that
 * the system daemon is found from a login shell, whose XDG_RUNTIME_DIR is
 * set, too.
 */
static void default_sockets(struct ctl *ctl)
{
	const char *env = getenv("VSCANOUT_SOCKET");
	if (env != NULL && env[0] != '\0') {
		ctl->socket_path = env;
		return;
	}
	const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
	char *slot = ctl->sockets[ctl->n_sockets];
	if (runtime_dir != NULL && runtime_dir[0] == '/') {
		int n = snprintf(slot, sizeof(ctl->sockets[0]), "%s/vscanout-0", runtime_dir);
		if (n > 0 && (size_t)n < sizeof(ctl->sockets[0]) &&
		    strcmp(slot, SYSTEM_SOCKET) != 0)
			ctl->n_sockets++;
	}
	snprintf(ctl->sockets[ctl->n_sockets++], sizeof(ctl->sockets[0]), "%s", SYSTEM_SOCKET);
}

/* A socket connected to path, or -1 with errno set. */
static int connect_path(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * Connect to the socket given, or to the first candidate where a daemon
 * answers (ctl->socket_path then names it). Returns the fd, or -1 after
 * saying which paths were tried and why each failed.
 */
static int connect_socket(struct ctl *ctl)
{
	if (ctl->socket_path != NULL) {
		int fd = connect_path(ctl->socket_path);
		if (fd < 0)
			error("cannot connect to vscanoutd at %s: %s", ctl->socket_path,
			      strerror(errno));
		return fd;
	}
	char tried[1024] = "";
	size_t len = 0;
	for (size_t i = 0; i < ctl->n_sockets; i++) {
		int fd = connect_path(ctl->sockets[i]);
		if (fd >= 0) {
			ctl->socket_path = ctl->sockets[i];
			return fd;
		}
		int n = snprintf(tried + len, sizeof(tried) - len, "%s%s (%s)", i > 0 ? ", " : "",
				 ctl->sockets[i], strerror(errno));
		if (n > 0 && (size_t)n < sizeof(tried) - len)
			len += (size_t)n;
	}
	error("cannot connect to vscanoutd: tried %s; is it running? Name its socket with "
	      "--socket PATH or $VSCANOUT_SOCKET",
	      tried);
	return -1;
}

/* Describe why the connection failed: a protocol error's text, or errno. */
static void report_connection_error(struct ctl *ctl)
{
	int err = wl_display_get_error(ctl->display);
	if (err != EPROTO) {
		error("lost the connection to vscanoutd at %s: %s", ctl->socket_path,
		      strerror(err != 0 ? err : EPIPE));
		return;
	}
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t code = wl_display_get_protocol_error(ctl->display, &interface, &id);
	/* libwayland logs "interface@id: error code: message". */
	const char *message = last_log;
	const char *p = strstr(last_log, ": error ");
	if (p != NULL && (p = strstr(p + 8, ": ")) != NULL)
		message = p + 2;
	char text[sizeof(last_log)];
	snprintf(text, sizeof(text), "%s", message);
	text[strcspn(text, "\n")] = '\0';
	const char *name = "error";
	if (interface == &vscanout_control_v1_interface &&
	    code == VSCANOUT_CONTROL_V1_ERROR_NOT_PERMITTED)
		name = "not permitted";
	else if (interface == &vscanout_control_v1_interface &&
		 code == VSCANOUT_CONTROL_V1_ERROR_INVALID_FD)
		name = "invalid fd";
	error("vscanoutd refused the request (%s): %s", name,
	      text[0] != '\0' ? text : "no message");
}

static int connect_daemon(struct ctl *ctl)
{
	int fd = connect_socket(ctl);
	if (fd < 0)
		return -1;
	ctl->display = wl_display_connect_to_fd(fd); /* takes fd, also on failure */
	if (ctl->display == NULL) {
		error("cannot connect to vscanoutd at %s: %s", ctl->socket_path, strerror(errno));
		return -1;
	}
	struct wl_registry *registry = wl_display_get_registry(ctl->display);
	wl_registry_add_listener(registry, &registry_listener, ctl);
	if (wl_display_roundtrip(ctl->display) < 0) {
		report_connection_error(ctl);
		wl_registry_destroy(registry);
		return -1;
	}
	if (ctl->control_name == 0) {
		/* vscanoutd shows the control global to root and its control group only. */
		error("vscanoutd at %s offers no control interface (vscanout_control_v1) to uid "
		      "%u: "
		      "only root and the members of its [daemon] control-group may use it",
		      ctl->socket_path, (unsigned int)getuid());
		wl_registry_destroy(registry);
		return -1;
	}
	ctl->control = wl_registry_bind(registry, ctl->control_name, &vscanout_control_v1_interface,
					ctl->control_version);
	vscanout_control_v1_add_listener(ctl->control, &control_listener, ctl);
	wl_registry_destroy(registry);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Dispatch until the request in flight is answered. Returns 0 or -1 (reported). */
static int wait_answer(struct ctl *ctl)
{
	struct wl_display *display = ctl->display;
	uint64_t deadline = now_ms() + ANSWER_TIMEOUT_MS;
	while (!ctl->answered) {
		if (wl_display_prepare_read(display) != 0) {
			if (wl_display_dispatch_pending(display) < 0)
				goto error;
			continue;
		}
		if (wl_display_flush(display) < 0 && errno != EAGAIN) {
			wl_display_cancel_read(display);
			goto error;
		}
		uint64_t now = now_ms();
		if (now >= deadline) {
			wl_display_cancel_read(display);
			error("vscanoutd at %s did not answer within %d s", ctl->socket_path,
			      ANSWER_TIMEOUT_MS / 1000);
			return -1;
		}
		struct pollfd pfd = {.fd = wl_display_get_fd(display), .events = POLLIN};
		int n = poll(&pfd, 1, (int)(deadline - now));
		if (n <= 0) {
			wl_display_cancel_read(display);
			if (n < 0 && errno != EINTR) {
				error("poll: %s", strerror(errno));
				return -1;
			}
			continue;
		}
		if (wl_display_read_events(display) < 0 || wl_display_dispatch_pending(display) < 0)
			goto error;
	}
	return 0;

error:
	report_connection_error(ctl);
	return -1;
}

/* Read the answer's size bytes back from the memfd (NUL-terminated). */
static char *read_memfd(int fd, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		error("fstat: %s", strerror(errno));
		return NULL;
	}
	*size = (size_t)st.st_size;
	char *data = malloc(*size + 1);
	if (data == NULL) {
		error("out of memory");
		return NULL;
	}
	size_t done = 0;
	while (done < *size) {
		ssize_t n = pread(fd, data + done, *size - done, (off_t)done);
		if (n <= 0) {
			error("cannot read the answer: %s", n < 0 ? strerror(errno) : "short file");
			free(data);
			return NULL;
		}
		done += (size_t)n;
	}
	data[*size] = '\0';
	return data;
}

static int write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* ---- the human-readable status ----------------------------------------- */

/* A number member as text ("?" when missing or not a number). */
static const char *num(const struct json_value *object, const char *key)
{
	const struct json_value *v = json_get(object, key);
	return v != NULL && v->type == JSON_NUMBER ? v->string : "?";
}

static const char *str(const struct json_value *object, const char *key)
{
	const char *s = json_get_string(object, key);
	return s != NULL ? s : "?";
}

static void print_rect(const char *what, const struct json_value *rect)
{
	if (rect == NULL || rect->type != JSON_OBJECT)
		return;
	printf(", %s %s,%s %sx%s", what, num(rect, "x"), num(rect, "y"), num(rect, "width"),
	       num(rect, "height"));
}

static void print_layer(const struct json_value *layer)
{
	printf("  layer zpos %s: ", num(layer, "zpos"));
	if (!json_get_bool(layer, "visible", false)) {
		printf("empty\n");
		return;
	}
	if (json_get_bool(layer, "direct", false))
		printf("direct on plane %s", num(layer, "plane_id"));
	else if (json_get_bool(layer, "copied", false))
		printf("copied");
	else
		printf("not shown");
	const struct json_value *miss = json_get(layer, "miss");
	if (miss != NULL && miss->type == JSON_ARRAY && miss->n > 0) {
		printf(" (");
		for (size_t i = 0; i < miss->n; i++) {
			const struct json_value *m = json_at(miss, i);
			printf("%s%s", i > 0 ? ", " : "", m->type == JSON_STRING ? m->string : "?");
		}
		printf(")");
	}
	printf(", %s %sx%s", str(layer, "format"), num(layer, "width"), num(layer, "height"));
	print_rect("src", json_get(layer, "src"));
	print_rect("dst", json_get(layer, "dst"));
	printf("\n");
}

static void print_output(const struct json_value *output)
{
	printf("output %s (%s, connector %s): %s", str(output, "name"), str(output, "device"),
	       num(output, "connector_id"), str(output, "state"));
	if (!json_get_bool(output, "connected", false))
		printf(", disconnected");
	const struct json_value *mode = json_get(output, "mode");
	if (mode != NULL && mode->type == JSON_OBJECT) {
		double mhz = json_get_number(mode, "refresh_mhz", 0);
		printf(", %sx%s@%.3f Hz", num(mode, "width"), num(mode, "height"), mhz / 1000);
	}
	const struct json_value *crtc = json_get(output, "crtc_id");
	if (crtc != NULL && crtc->type == JSON_NUMBER)
		printf(", CRTC %s", crtc->string);
	printf("\n");
	printf("  flip %s, placeholder %s%s%s\n", str(output, "flip"), str(output, "placeholder"),
	       json_get_bool(output, "force_copy", false) ? ", copy forced" : "",
	       json_get_bool(output, "capture", false) ? ", capture waiting" : "");

	const struct json_value *planes = json_get(output, "planes");
	if (planes != NULL && planes->type == JSON_ARRAY && planes->n > 0) {
		printf("  planes:");
		for (size_t i = 0; i < planes->n; i++) {
			const struct json_value *p = json_at(planes, i);
			printf("%s %s %s", i > 0 ? "," : "", num(p, "id"), str(p, "type"));
		}
		printf("\n");
	}
	const struct json_value *layers = json_get(output, "layers");
	for (size_t i = 0; layers != NULL && i < layers->n; i++)
		print_layer(json_at(layers, i));

	const struct json_value *c = json_get(output, "counters");
	if (c != NULL && c->type == JSON_OBJECT) {
		printf("  frames: %s direct, %s copied, %s discarded; flips: %s vsync, %s async, "
		       "%s async fallbacks\n",
		       num(c, "frames_direct"), num(c, "frames_copied"), num(c, "frames_discarded"),
		       num(c, "flips_vsync"), num(c, "flips_async"), num(c, "async_fallbacks"));
		printf("  commits: %s, %s modesets, %s failed\n", num(c, "commits"),
		       num(c, "modesets"), num(c, "commit_failures"));
		printf("  latency to the screen: p50 %s us, p99 %s us over %s frames\n",
		       num(c, "latency_p50_us"), num(c, "latency_p99_us"),
		       num(c, "latency_samples"));
	}
}

static void print_vgpu(const struct json_value *vgpu)
{
	printf("vgpu %s: ", str(vgpu, "name"));
	const struct json_value *client = json_get(vgpu, "client");
	if (json_get_bool(vgpu, "attached", false) && client != NULL && client->type == JSON_OBJECT)
		printf("attached by pid %s (uid %s)", num(client, "pid"), num(client, "uid"));
	else
		printf("not attached");
	printf(", source %s\n", str(vgpu, "source"));
	const struct json_value *outputs = json_get(vgpu, "outputs");
	printf("  outputs:");
	if (outputs == NULL || outputs->type != JSON_ARRAY || outputs->n == 0)
		printf(" none");
	for (size_t i = 0; outputs != NULL && i < outputs->n; i++) {
		const struct json_value *o = json_at(outputs, i);
		printf("%s %s", i > 0 ? "," : "", o->type == JSON_STRING ? o->string : "?");
	}
	printf("\n");
	const struct json_value *v = json_get(vgpu, "vfio");
	if (v != NULL && v->type == JSON_OBJECT) {
		printf("  vfio: %s polls, %s changes, %s imports, %s cache hits, %s transient "
		       "errors\n",
		       num(v, "polls"), num(v, "changes"), num(v, "imports"), num(v, "cache_hits"),
		       num(v, "transient_errors"));
		printf("  vfio: %s frames presented, %s late; poll margin %s us, latency p50 %s "
		       "us, p99 %s us\n",
		       num(v, "frames_presented"), num(v, "late_frames"), num(v, "margin_us"),
		       num(v, "latency_p50_us"), num(v, "latency_p99_us"));
	}
	const struct json_value *q = json_get(vgpu, "qemu");
	if (q != NULL && q->type == JSON_OBJECT) {
		printf("  qemu %s: %s", str(q, "address"), str(q, "state"));
		if (strcmp(str(q, "state"), "connected") == 0)
			printf(" to %s, console %s; %s %sx%s %s, %s", str(q, "name"),
			       num(q, "console"), str(q, "scanout"), num(q, "width"),
			       num(q, "height"), str(q, "format"),
			       json_get_bool(q, "copied", false) ? "copied" : "zero-copy");
		printf("\n  qemu: %s frames, %s presented (%s zero-copy), %s updates, %s dma-bufs "
		       "(%s fds), UpdateDMABUF answered %s on screen, %s late\n",
		       num(q, "frames"), num(q, "presented"), num(q, "zero_copy"),
		       num(q, "updates"), num(q, "dmabufs"), num(q, "dmabuf_fds"),
		       num(q, "dmabuf_replies"), num(q, "dmabuf_late"));
		const struct json_value *e = json_get(q, "last_error");
		if (e != NULL && e->type == JSON_STRING)
			printf("  qemu: last error: %s\n", e->string);
	}
	const struct json_value *t = json_get(vgpu, "vfio_from");
	if (t != NULL && t->type == JSON_OBJECT) {
		printf("  vfio-from %s, mdev %s: ", str(t, "address"), str(t, "mdev"));
		if (json_get_bool(t, "taken", false))
			printf("taken from pid %s", num(t, "pid"));
		else
			printf("waiting");
		printf(", %s taken since the start\n", num(t, "takes"));
		const struct json_value *e = json_get(t, "last_error");
		if (e != NULL && e->type == JSON_STRING)
			printf("  vfio-from: last error: %s\n", e->string);
	}
}

static int print_status(const char *doc, size_t size)
{
	char err[128];
	struct json_value *root = json_parse(doc, size, err, sizeof(err));
	if (root == NULL) {
		error("the daemon's status document is not valid JSON: %s", err);
		return -1;
	}
	const struct json_value *daemon = json_get(root, "daemon");
	printf("vscanoutd %s, pid %s, socket %s\n", str(daemon, "version"), num(daemon, "pid"),
	       str(daemon, "socket"));
	const struct json_value *outputs = json_get(root, "outputs");
	for (size_t i = 0; outputs != NULL && i < outputs->n; i++) {
		printf("\n");
		print_output(json_at(outputs, i));
	}
	const struct json_value *vgpus = json_get(root, "vgpus");
	for (size_t i = 0; vgpus != NULL && i < vgpus->n; i++) {
		printf("\n");
		print_vgpu(json_at(vgpus, i));
	}
	json_value_free(root);
	return 0;
}

/* ---- commands ---------------------------------------------------------- */

/* Ask for the status document; *doc (NUL-terminated) is the caller's. Returns 0 or -1. */
static int fetch_status(struct ctl *ctl, char **doc, size_t *size)
{
	int fd = memfd_create("vscanout-status", MFD_CLOEXEC);
	if (fd < 0) {
		error("memfd_create: %s", strerror(errno));
		return -1;
	}
	ctl->serial++;
	ctl->answered = ctl->failed = false;
	vscanout_control_v1_status(ctl->control, ctl->serial, fd);
	int ret = -1;
	if (wait_answer(ctl) != 0)
		goto out;
	if (ctl->failed) {
		error("status failed: %s", ctl->message);
		goto out;
	}
	*doc = read_memfd(fd, size);
	if (*doc == NULL)
		goto out;
	if (*size != ctl->value)
		error("warning: the document has %zu bytes, the daemon said %u", *size, ctl->value);
	ret = 0;
out:
	close(fd);
	return ret;
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	bool json = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			error("status: unknown argument '%s' (try --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (connect_daemon(ctl) != 0)
		return 1;
	char *doc;
	size_t size;
	if (fetch_status(ctl, &doc, &size) != 0)
		return 1;
	int ret = 1;
	if (json) {
		if (write_all(STDOUT_FILENO, doc, size) != 0)
			error("cannot write to the standard output: %s", strerror(errno));
		else
			ret = 0;
	} else {
		ret = print_status(doc, size) == 0 ? 0 : 1;
	}
	free(doc);
	return ret;
}

/* The names of the daemon's outputs or vGPUs, one a line (for scripts and completion). */
static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 1 || (strcmp(argv[0], "outputs") != 0 && strcmp(argv[0], "vgpus") != 0)) {
		error("list: expected outputs or vgpus (try --help)");
		return EXIT_USAGE;
	}
	if (connect_daemon(ctl) != 0)
		return 1;
	char *doc;
	size_t size;
	if (fetch_status(ctl, &doc, &size) != 0)
		return 1;
	char err[128];
	struct json_value *root = json_parse(doc, size, err, sizeof(err));
	free(doc);
	if (root == NULL) {
		error("the daemon's status document is not valid JSON: %s", err);
		return 1;
	}
	const struct json_value *list = json_get(root, argv[0]);
	for (size_t i = 0; list != NULL && list->type == JSON_ARRAY && i < list->n; i++) {
		const struct json_value *name = json_get(json_at(list, i), "name");
		if (name != NULL && name->type == JSON_STRING)
			printf("%s\n", name->string);
	}
	json_value_free(root);
	return 0;
}

/* Send blank or unblank for output and wait for the answer. */
static int cmd_blank(struct ctl *ctl, int argc, char **argv, bool blank)
{
	const char *cmd = blank ? "blank" : "unblank";
	if (argc != 1) {
		error("%s: expected OUTPUT (try --help)", cmd);
		return EXIT_USAGE;
	}
	if (connect_daemon(ctl) != 0)
		return 1;
	ctl->serial = 1;
	if (blank)
		vscanout_control_v1_blank(ctl->control, ctl->serial, argv[0]);
	else
		vscanout_control_v1_unblank(ctl->control, ctl->serial, argv[0]);
	if (wait_answer(ctl) != 0)
		return 1;
	if (ctl->failed) {
		error("%s of %s failed: %s", cmd, argv[0], ctl->message);
		return 1;
	}
	printf("%s: %s\n", argv[0], blank ? "blanked" : "unblanked");
	return 0;
}

/* SLOT of assign: a place in the vgpu= list, from 1. Returns 0 or -1 (reported). */
static int parse_slot(const char *text, uint32_t *slot)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || value == 0 ||
	    value > UINT32_MAX) {
		error("assign: SLOT must be a place in the output's vgpu= list, from 1 (got '%s')",
		      text);
		return -1;
	}
	*slot = (uint32_t)value;
	return 0;
}

/* reload, or assign VGPU OUTPUT [SLOT]: send and wait for the answer. */
static int cmd_config(struct ctl *ctl, int argc, char **argv, bool assign)
{
	const char *cmd = assign ? "assign" : "reload";
	if (assign ? argc != 2 && argc != 3 : argc != 0) {
		error("%s: expected %s (try --help)", cmd,
		      assign ? "VGPU OUTPUT [SLOT]" : "no arguments");
		return EXIT_USAGE;
	}
	uint32_t slot = 1;
	if (assign && argc == 3 && parse_slot(argv[2], &slot) != 0)
		return EXIT_USAGE;
	if (connect_daemon(ctl) != 0)
		return 1;
	ctl->serial = 1;
	if (assign && ctl->control_version >= 2) {
		vscanout_control_v1_assign_slot(ctl->control, ctl->serial, argv[0], argv[1], slot);
	} else if (assign && slot == 1) {
		vscanout_control_v1_assign(ctl->control, ctl->serial, argv[0], argv[1]);
	} else if (assign) {
		error("assign: vscanoutd at %s speaks control version %u, without slots: only "
		      "SLOT 1 works there",
		      ctl->socket_path, ctl->control_version);
		return 1;
	} else {
		vscanout_control_v1_reload(ctl->control, ctl->serial);
	}
	if (wait_answer(ctl) != 0)
		return 1;
	if (ctl->failed) {
		error("%s failed: %s", cmd, ctl->message);
		return 1;
	}
	if (assign)
		printf("%s now shows %s in slot %u\n", argv[1], argv[0], slot);
	else
		printf("configuration reloaded\n");
	return 0;
}

/* The per-output numbers that change whenever vscanoutd commits. */
static char *commit_signature(const struct json_value *status)
{
	size_t size = 0;
	char *sig = NULL;
	FILE *f = open_memstream(&sig, &size);
	if (f == NULL)
		return NULL;
	const struct json_value *outputs = json_get(status, "outputs");
	for (size_t i = 0; outputs != NULL && i < outputs->n; i++) {
		const struct json_value *o = json_at(outputs, i);
		const struct json_value *c = json_get(o, "counters");
		fprintf(f, "%s %s %s %s %d;", num(o, "connector_id"), str(o, "state"),
			num(c, "commits"), num(c, "modesets"), json_get_bool(o, "blanked", false));
	}
	if (fclose(f) != 0) {
		free(sig);
		return NULL;
	}
	return sig;
}

/* The distinct DRM minors of the outputs in status (at most max). */
static size_t status_minors(const struct json_value *status, unsigned int *minors, size_t max)
{
	size_t n = 0;
	const struct json_value *outputs = json_get(status, "outputs");
	for (size_t i = 0; outputs != NULL && i < outputs->n; i++) {
		const struct json_value *m = json_get(json_at(outputs, i), "minor");
		if (m == NULL || m->type != JSON_NUMBER)
			continue;
		unsigned int minor = (unsigned int)m->number;
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen |= minors[j] == minor;
		if (!seen && n < max)
			minors[n++] = minor;
	}
	return n;
}

#define MAX_DEVICES 16

static int cmd_debugfs(struct ctl *ctl, int argc, char **argv)
{
	const char *dir = DEBUGFS_DRI_DIR;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else {
			error("debugfs: unknown argument '%s' (try --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (connect_daemon(ctl) != 0)
		return 1;

	/*
	 * vscanoutd goes on committing while the kernel's state is read: the
	 * read counts only when no output committed between the status
	 * documents before and after it.
	 */
	struct json_value *status = NULL;
	struct kstate states[MAX_DEVICES];
	size_t n_states = 0;
	int ret = 1;
	char err[512];
	char *doc, *sig = NULL;
	size_t size;
	if (fetch_status(ctl, &doc, &size) != 0)
		return 1;
	for (int attempt = 0;; attempt++) {
		json_value_free(status);
		status = json_parse(doc, size, err, sizeof(err));
		free(doc);
		if (status == NULL) {
			error("the daemon's status document is not valid JSON: %s", err);
			goto out;
		}
		free(sig);
		sig = commit_signature(status);
		unsigned int minors[MAX_DEVICES];
		size_t n_minors = status_minors(status, minors, MAX_DEVICES);
		if (n_minors == 0) {
			error("vscanoutd drives no KMS device (or the status names no DRM minor)");
			goto out;
		}
		for (size_t i = 0; i < n_states; i++)
			kstate_finish(&states[i]);
		n_states = 0;
		for (size_t i = 0; i < n_minors; i++) {
			if (kstate_load(&states[n_states], dir, minors[i], err, sizeof(err)) != 0) {
				error("debugfs: %s", err);
				goto out;
			}
			n_states++;
		}
		if (fetch_status(ctl, &doc, &size) != 0)
			goto out;
		struct json_value *after = json_parse(doc, size, err, sizeof(err));
		char *sig_after = after != NULL ? commit_signature(after) : NULL;
		bool stable = sig != NULL && sig_after != NULL && strcmp(sig, sig_after) == 0;
		free(sig_after);
		json_value_free(after);
		if (stable) {
			free(doc);
			break;
		}
		if (attempt + 1 == DEBUGFS_TRIES) {
			free(doc);
			error("warning: vscanoutd kept committing while the kernel's state was "
			      "read; "
			      "the views may differ by a frame");
			break;
		}
	}

	unsigned int differs = kstate_compare(status, states, n_states, stdout);
	if (differs == 0)
		printf("\nvscanoutd and the kernel agree\n");
	else
		printf("\n%u disagreement%s between vscanoutd and the kernel\n", differs,
		       differs == 1 ? "" : "s");
	ret = differs == 0 ? 0 : 1;
out:
	for (size_t i = 0; i < n_states; i++)
		kstate_finish(&states[i]);
	free(sig);
	json_value_free(status);
	return ret;
}

/*
 * The pixels a capture handed over in fd, checked against the image event:
 * mapped read-only (*map, *map_size) once the memfd is sealed, so that it
 * can neither shrink under the mapping nor change. Returns 0 or -1 (reported).
 */
static int map_capture(struct ctl *ctl, int fd, const char *output, void **map, size_t *map_size)
{
	if (!ctl->image) {
		error("screenshot of %s: vscanoutd sent no image description", output);
		return -1;
	}
	if (ctl->format != DRM_FORMAT_XRGB8888 || ctl->width == 0 || ctl->height == 0 ||
	    ctl->stride / 4 < ctl->width) {
		error("screenshot of %s: vscanoutd sent %ux%u pixels of format 0x%08x, stride %u: "
		      "not XRGB8888 this vscanoutctl can read",
		      output, ctl->width, ctl->height, ctl->format, ctl->stride);
		return -1;
	}
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;
	int got = fcntl(fd, F_GET_SEALS);
	if (got < 0 || (got & seals) != seals) {
		error("screenshot of %s: vscanoutd did not seal the pixels' memfd", output);
		return -1;
	}
	struct stat st;
	size_t size = (size_t)ctl->stride * ctl->height;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size) {
		error("screenshot of %s: the memfd holds %lld bytes, not the %zu of %u rows of %u",
		      output, (long long)st.st_size, size, ctl->height, ctl->stride);
		return -1;
	}
	*map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED) {
		error("screenshot of %s: cannot map the pixels: %s", output, strerror(errno));
		return -1;
	}
	*map_size = size;
	return 0;
}

static int cmd_screenshot(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2) {
		error("screenshot: expected OUTPUT FILE (try --help)");
		return EXIT_USAGE;
	}
	const char *output = argv[0], *path = argv[1];
	if (connect_daemon(ctl) != 0)
		return 1;
	if (ctl->control_version < 3) {
		error("screenshot: vscanoutd at %s speaks control version %u; this vscanoutctl "
		      "needs version 3 (pixels handed over, encoded here): use the vscanoutctl of "
		      "the daemon's release",
		      ctl->socket_path, ctl->control_version);
		return 1;
	}
	int fd = memfd_create("vscanout-screenshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		error("memfd_create: %s", strerror(errno));
		return 1;
	}
	ctl->serial = 1;
	vscanout_control_v1_capture(ctl->control, ctl->serial, output, fd);
	int ret = 1;
	void *pixels = MAP_FAILED;
	size_t pixels_size = 0;
	uint8_t *png = NULL;
	if (wait_answer(ctl) != 0)
		goto out;
	if (ctl->failed) {
		error("screenshot of %s failed: %s", output, ctl->message);
		goto out;
	}
	if (map_capture(ctl, fd, output, &pixels, &pixels_size) != 0)
		goto out;
	const char *source =
		ctl->value == VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_WRITEBACK  ? "writeback"
		: ctl->value == VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_COMPOSED ? "composed"
									       : "unknown";
	char comment[64], err[512];
	snprintf(comment, sizeof(comment), "vscanout screenshot source: %s", source);
	size_t size;
	if (ctl_png_encode(pixels, ctl->width, ctl->height, ctl->stride, comment, &png, &size, err,
			   sizeof(err)) != 0) {
		error("screenshot of %s: cannot encode the PNG: %s", output, err);
		goto out;
	}
	bool to_stdout = strcmp(path, "-") == 0;
	if (to_stdout && write_all(STDOUT_FILENO, (const char *)png, size) != 0) {
		error("cannot write the standard output: %s", strerror(errno));
		goto out;
	}
	if (!to_stdout && outfile_write(path, png, size, err, sizeof(err)) != 0) {
		error("%s", err);
		goto out;
	}
	/* With the image on standard output, the report goes to standard error. */
	fprintf(to_stdout ? stderr : stdout, "%s: %ux%u screenshot, source %s, written to %s\n",
		output, ctl->width, ctl->height, source, to_stdout ? "standard output" : path);
	ret = 0;
out:
	free(png);
	if (pixels != MAP_FAILED)
		munmap(pixels, pixels_size);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct ctl ctl = {0};
	default_sockets(&ctl);
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:s:hV", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (optarg[0] == '\0') {
				error("option --socket needs a path (try --help)");
				return EXIT_USAGE;
			}
			ctl.socket_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("vscanoutctl %s\n", VSCANOUT_VERSION);
			return 0;
		case ':':
			error("option '%s' needs an argument (try --help)", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt != 0)
				error("unknown option '-%c' (try --help)", optopt);
			else
				error("unknown option '%s' (try --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		error("no command given (try --help)");
		return EXIT_USAGE;
	}
	wl_log_set_handler_client(handle_log);
	const char *command = argv[optind];
	int sub_argc = argc - optind - 1;
	char **sub_argv = argv + optind + 1;
	int ret;
	if (strcmp(command, "status") == 0) {
		ret = cmd_status(&ctl, sub_argc, sub_argv);
	} else if (strcmp(command, "screenshot") == 0) {
		ret = cmd_screenshot(&ctl, sub_argc, sub_argv);
	} else if (strcmp(command, "reload") == 0 || strcmp(command, "assign") == 0) {
		ret = cmd_config(&ctl, sub_argc, sub_argv, strcmp(command, "assign") == 0);
	} else if (strcmp(command, "blank") == 0 || strcmp(command, "unblank") == 0) {
		ret = cmd_blank(&ctl, sub_argc, sub_argv, strcmp(command, "blank") == 0);
	} else if (strcmp(command, "debugfs") == 0) {
		ret = cmd_debugfs(&ctl, sub_argc, sub_argv);
	} else if (strcmp(command, "list") == 0) {
		ret = cmd_list(&ctl, sub_argc, sub_argv);
	} else {
		error("unknown command '%s' (try --help)", command);
		return EXIT_USAGE;
	}
	if (ctl.control != NULL)
		vscanout_control_v1_destroy(ctl.control);
	if (ctl.display != NULL) {
		wl_display_flush(ctl.display);
		wl_display_disconnect(ctl.display);
	}
	return ret;
}
