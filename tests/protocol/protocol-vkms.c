// SPDX-License-Identifier: MIT
/*
 * The vscanout-v1 server on vkms, through its real socket: the daemon's own
 * code runs in this process, each client in a forked child speaking
 * libwayland-client.
 *
 *  1. frame: a client's udmabuf frame appears exactly (writeback) and
 *     presented says vsync + zero_copy; its serials come back in order.
 *  2. kill: the same client, SIGKILLed while committing, leaves the
 *     placeholder on screen within two refreshes, and the device's
 *     framebuffer count (debugfs) is back to its value before it came.
 *  3. errors: while a well-behaved client keeps committing on vGPU "a",
 *     misbehaving clients trigger every protocol error, each checked for
 *     its interface, code and message. The good client sees a commit
 *     replaced by the next one discarded, and its vblank eventfd and record
 *     tick. A client that setuid()s to uid 1000
 *     cannot attach to a vGPU of uid 1001 but can to its own. The
 *     well-behaved client is still served at the end, and the daemon holds
 *     no more fds than before.
 *  4. taken away: a commit waiting for the next frame of the vGPU's only
 *     output is answered (discarded) when vscanoutctl's assign gives that
 *     output to another vGPU, and the next commit is discarded at once.
 *  5. blanked: the same when vscanoutctl blank turns the output off.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include <drm_fourcc.h>

#include "client.h"
#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kms/vblank.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "protocol/server.h"
#include "vgpu/vgpu.h"

#define SOCKET_DIR  "/tmp/vscanout-protocol-test"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"
#define PLACEHOLDER 0x3366ccu
#define WIDTH       1024
#define HEIGHT      768
#define USER_UID    1000

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "placeholder = #3366cc\n"
				  "[vgpu b]\n"
				  "[vgpu c]\n"
				  "[vgpu of-1000]\n"
				  "allow-uid = 1000\n"
				  "[vgpu of-1001]\n"
				  "allow-uid = 1001\n";

/* ---------------------------------------------------------------------- */
/* Client side (children)                                                 */
/* ---------------------------------------------------------------------- */

/* Frame test: show a pattern, report on report_fd, then commit until killed. */
static void client_frame(int report_fd, int go_fd)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	client_roundtrip(&c);
	if (!c.done || c.n_outputs != 1 || c.width != WIDTH || c.height != HEIGHT)
		client_fail("outputs: %d, %ux%u, done %d", c.n_outputs, c.width, c.height, c.done);

	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 7);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	/* vkms has no async flips. */
	if (c.presented_flags !=
	    (VSCANOUT_VGPU_V1_PRESENTED_FLAGS_VSYNC | VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY))
		client_fail("presented flags 0x%x, want zero_copy", c.presented_flags);
	printf("client %d: serial %u presented with flags 0x%x\n", (int)getpid(), serial,
	       c.presented_flags);
	fflush(stdout);
	if (write(report_fd, "p", 1) != 1)
		client_fail("cannot report");
	/* Once the frame was captured: mid-stream until SIGKILL, the same frame again and again. */
	char go;
	if (read(go_fd, &go, 1) != 1)
		client_fail("no go");
	for (;;) {
		uint64_t before = c.last_sequence;
		if (client_commit(&c, vgpu, ++serial) && c.last_sequence < before)
			client_fail("vblank sequence went back");
	}
}

/*
 * The well-behaved client: vGPU "a", committing frames until a byte arrives
 * on stop_fd; then one last commit must be presented.
 */
static void client_good(int stop_fd, int report_fd)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	struct client_image ci;
	client_image_create(&ci, 256, 256, 11);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 100, 50);
	vscanout_vgpu_v1_get_vblank_source(vgpu);
	client_roundtrip(&c);
	if (write(report_fd, "a", 1) != 1)
		client_fail("cannot report");

	/* Two commits in one message aim at the same frame: the first is replaced. */
	vscanout_vgpu_v1_commit(vgpu, 1);
	if (!client_commit(&c, vgpu, 2) || c.last_discarded != 1)
		client_fail("commit 1 was not discarded for commit 2 (presented %u, discarded %u)",
			    c.last_presented, c.last_discarded);

	/* The vblank source ticks with the frames and its record follows. */
	if (c.vblank_eventfd < 0 || c.vblank_memfd < 0 || c.vblank_flags != 0)
		client_fail("vblank source: fds %d %d, flags 0x%x", c.vblank_eventfd,
			    c.vblank_memfd, c.vblank_flags);
	const struct vscanout_vblank_record *record =
		mmap(NULL, sizeof(*record), PROT_READ, MAP_SHARED, c.vblank_memfd, 0);
	if (record == MAP_FAILED)
		client_fail("mmap of the vblank record: %s", strerror(errno));
	uint64_t ticks;
	struct pollfd vblank = {.fd = c.vblank_eventfd, .events = POLLIN};
	if (poll(&vblank, 1, TK_TIMEOUT_MS) != 1 ||
	    read(c.vblank_eventfd, &ticks, sizeof(ticks)) != sizeof(ticks) || ticks < 1)
		client_fail("the vblank eventfd was not signalled");
	struct vscanout_vblank_state state;
	vscanout_vblank_record_read(record, &state);
	if (state.sequence == 0 || state.timestamp_ns == 0 || state.refresh_ns < 16000000 ||
	    state.refresh_ns > 17000000)
		client_fail("vblank record: sequence %llu, time %llu, refresh %llu",
			    (unsigned long long)state.sequence,
			    (unsigned long long)state.timestamp_ns,
			    (unsigned long long)state.refresh_ns);

	uint32_t serial = 2;
	struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};
	while (poll(&pfd, 1, 0) == 0)
		client_commit(&c, vgpu, ++serial);
	if (!client_commit(&c, vgpu, ++serial))
		client_fail("the last commit was discarded");
	printf("client %d: %llu commits presented, %llu discarded\n", (int)getpid(),
	       (unsigned long long)c.n_presented, (unsigned long long)c.n_discarded);
	fflush(stdout);
	if (c.n_presented < 2)
		client_fail("too few frames presented");
	vscanout_vgpu_v1_destroy(vgpu);
	client_roundtrip(&c);
	_exit(0);
}

/*
 * vGPU "a" committing frames, each awaited, until one is discarded (its
 * output went to another vGPU, or off, while it waited); the next one must
 * be discarded too. A commit left unanswered hangs here.
 */
static void client_until_discarded(int report_fd)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	struct client_image ci;
	client_image_create(&ci, 64, 64, 13);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	client_roundtrip(&c);
	if (write(report_fd, "a", 1) != 1)
		client_fail("cannot report");
	uint32_t serial = 0;
	while (client_commit(&c, vgpu, ++serial))
		;
	if (client_commit(&c, vgpu, ++serial))
		client_fail("commit %u was presented on no output", serial);
	printf("client %d: %u commits, the last two discarded\n", (int)getpid(), serial);
	fflush(stdout);
	vscanout_vgpu_v1_destroy(vgpu);
	client_roundtrip(&c);
	_exit(0);
}

enum bad_case {
	BAD_UNKNOWN_VGPU,
	BAD_NOT_PERMITTED_UID,
	BAD_ALREADY_ATTACHED,
	BAD_PLANE_IDX,
	BAD_PLANE_SET,
	BAD_ALREADY_USED,
	BAD_MISSING_PLANE,
	BAD_MISSING_PLANE_NV12,
	BAD_OFFSET_OVERFLOW,
	BAD_STRIDE_SMALL,
	BAD_BEYOND_SIZE,
	BAD_UNKNOWN_FOURCC,
	BAD_REGULAR_FILE,
	BAD_DIMENSIONS,
	BAD_FLAGS,
	BAD_FOREIGN_BUFFER,
	BAD_HOTSPOT,
	BAD_POSITION,
	BAD_LIMIT_PARAMS,
	BAD_LIMIT_BUFFERS,
	BAD__COUNT,
};

/* Make a buffer from one plane description; the error is expected at create. */
static void bad_buffer(struct client *c, struct vscanout_vgpu_v1 *vgpu, int fd, uint32_t offset,
		       uint32_t stride, int32_t width, int32_t height, uint32_t fourcc,
		       uint32_t flags)
{
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	vscanout_buffer_params_v1_add(params, fd, 0, offset, stride, 0, 0);
	vscanout_buffer_params_v1_create(params, width, height, fourcc, flags);
}

static void client_bad(enum bad_case which)
{
	const struct wl_interface *params_if = &vscanout_buffer_params_v1_interface;
	const struct wl_interface *vgpu_if = &vscanout_vgpu_v1_interface;
	struct client c;

	if (which == BAD_NOT_PERMITTED_UID) {
		if (setgroups(0, NULL) != 0 || setgid(USER_UID) != 0 || setuid(USER_UID) != 0)
			client_fail("setuid: %s", strerror(errno));
		client_connect(&c, SOCKET_PATH);
		/* Its own vGPU: fine. */
		client_attach(&c, "of-1000");
		client_roundtrip(&c);
		client_attach(&c, "of-1001");
		client_expect_error(&c, &vscanout_manager_v1_interface,
				    VSCANOUT_MANAGER_V1_ERROR_NOT_PERMITTED, "uid 1000");
	}

	client_connect(&c, SOCKET_PATH);
	if (which == BAD_UNKNOWN_VGPU) {
		client_attach(&c, "nope");
		client_expect_error(&c, &vscanout_manager_v1_interface,
				    VSCANOUT_MANAGER_V1_ERROR_UNKNOWN_VGPU, "\"nope\"");
	}
	if (which == BAD_ALREADY_ATTACHED) {
		client_attach(&c, "a");
		client_expect_error(&c, &vscanout_manager_v1_interface,
				    VSCANOUT_MANAGER_V1_ERROR_ALREADY_ATTACHED, "\"a\"");
	}

	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "b");
	struct client_image ci;
	client_image_create(&ci, 64, 64, 1);
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	int fd = ci.u.fd;
	uint32_t xr24 = DRM_FORMAT_XRGB8888;

	switch (which) {
	case BAD_PLANE_IDX:
		vscanout_buffer_params_v1_add(params, fd, 4, 0, 256, 0, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_PLANE_IDX,
				    "plane_idx 4");
		break;
	case BAD_PLANE_SET:
		vscanout_buffer_params_v1_add(params, fd, 0, 0, 256, 0, 0);
		vscanout_buffer_params_v1_add(params, fd, 0, 0, 256, 0, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_PLANE_SET,
				    "plane_idx 0");
		break;
	case BAD_ALREADY_USED:
		vscanout_buffer_params_v1_add(params, fd, 0, 0, 256, 0, 0);
		vscanout_buffer_params_v1_create(params, 64, 64, xr24, 0);
		vscanout_buffer_params_v1_create(params, 64, 64, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_ALREADY_USED,
				    "already used");
		break;
	case BAD_MISSING_PLANE:
		vscanout_buffer_params_v1_add(params, fd, 1, 0, 256, 0, 0);
		vscanout_buffer_params_v1_create(params, 64, 64, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE,
				    "plane 0 is missing");
		break;
	case BAD_MISSING_PLANE_NV12:
		vscanout_buffer_params_v1_add(params, fd, 0, 0, 64, 0, 0);
		vscanout_buffer_params_v1_create(params, 64, 32, DRM_FORMAT_NV12, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE,
				    "1 planes given, format");
		break;
	case BAD_OFFSET_OVERFLOW:
		bad_buffer(&c, vgpu, fd, 0xfffff000u, 0x80000000u, 64, 64, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS,
				    "plane 0: offset 4294963200 + stride 2147483648");
		break;
	case BAD_STRIDE_SMALL:
		bad_buffer(&c, vgpu, fd, 0, 100, 64, 64, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS,
				    "plane 0: stride 100");
		break;
	case BAD_BEYOND_SIZE:
		bad_buffer(&c, vgpu, fd, 0, 256, 64, 65, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS,
				    "exceeds the dma-buf's size");
		break;
	case BAD_UNKNOWN_FOURCC:
		bad_buffer(&c, vgpu, fd, 0, 256, 64, 64, 0x12345678, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT,
				    "is not supported");
		break;
	case BAD_REGULAR_FILE: {
		char path[] = "/tmp/vscanout-protocol-file-XXXXXX";
		int file = mkstemp(path);
		if (file < 0 || ftruncate(file, 65536) != 0)
			client_fail("mkstemp: %s", strerror(errno));
		unlink(path);
		bad_buffer(&c, vgpu, file, 0, 256, 64, 64, xr24, 0);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_DMABUF,
				    "is not a dma-buf");
		break;
	}
	case BAD_DIMENSIONS:
		bad_buffer(&c, vgpu, fd, 0, 256, 0, 64, xr24, 0);
		client_expect_error(&c, params_if,
				    VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS,
				    "size 0x64");
		break;
	case BAD_FLAGS:
		bad_buffer(&c, vgpu, fd, 0, 256, 64, 64, xr24, 4);
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_FLAGS,
				    "flags 0x4");
		break;
	case BAD_FOREIGN_BUFFER: {
		struct vscanout_vgpu_v1 *other = client_attach(&c, "c");
		struct vscanout_buffer_v1 *buffer = client_buffer(other, &ci);
		vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
		client_expect_error(&c, vgpu_if, VSCANOUT_VGPU_V1_ERROR_INVALID_BUFFER,
				    "not created through vGPU \"b\"");
		break;
	}
	case BAD_HOTSPOT: {
		struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
		vscanout_vgpu_v1_set_cursor(vgpu, buffer, 10, 10, 3, 64);
		client_expect_error(&c, vgpu_if, VSCANOUT_VGPU_V1_ERROR_INVALID_HOTSPOT,
				    "hotspot 3,64");
		break;
	}
	case BAD_POSITION:
		vscanout_vgpu_v1_set_primary(vgpu, NULL, -70000, 0);
		client_expect_error(&c, vgpu_if, VSCANOUT_VGPU_V1_ERROR_INVALID_POSITION,
				    "position -70000,0");
		break;
	case BAD_LIMIT_PARAMS:
		/* One is open already. */
		for (int i = 1; i <= PROTOCOL_MAX_PARAMS; i++)
			vscanout_vgpu_v1_create_params(vgpu);
		client_expect_error(&c, vgpu_if, VSCANOUT_VGPU_V1_ERROR_LIMIT,
				    "limit of 16 unused parameter objects");
		break;
	case BAD_LIMIT_BUFFERS:
		/* The parameter objects stay, so that the error finds its object. */
		for (int i = 0; i <= PROTOCOL_MAX_BUFFERS; i++) {
			if (i > 0 && i % 8 == 0)
				client_roundtrip(&c);
			bad_buffer(&c, vgpu, fd, 0, 256, 64, 64, xr24, 0);
		}
		client_expect_error(&c, params_if, VSCANOUT_BUFFER_PARAMS_V1_ERROR_LIMIT,
				    "limit of 64 buffers");
		break;
	default:
		break;
	}
	client_fail("case %d fell through", which);
}

/* ---------------------------------------------------------------------- */
/* Daemon side (this process)                                             */
/* ---------------------------------------------------------------------- */

/*
 * Notes the output's present count when the server detaches the last vGPU,
 * checked after every dispatch: the frame that follows a detach cannot
 * complete in the dispatch that detached (its commit is made from an idle
 * callback at the end of that dispatch).
 */
struct detach_watch {
	bool armed, seen;
	uint64_t presents_at_detach;
};

static struct detach_watch detach_watch;
static struct tk_presents presents;

static void dispatch(struct daemon *daemon)
{
	wl_display_flush_clients(daemon->display);
	kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	if (detach_watch.armed && !detach_watch.seen && wl_list_empty(&daemon->server->vgpus)) {
		detach_watch.seen = true;
		detach_watch.presents_at_detach = presents.count;
	}
}

/* Dispatch the daemon's loop until *flag, flushing as daemon_run() does. */
static void wait_for(struct daemon *daemon, const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		dispatch(daemon);
	}
}

static void child_wait(struct daemon *daemon, struct child *child, const char *what)
{
	wait_for(daemon, &child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0,
		   "%s: client status 0x%x", what, child->status);
}

static int frame_report_fd, frame_go_fd;
static int good_stop_fd, good_report_fd;

static void run_frame(int arg)
{
	client_frame(frame_report_fd, frame_go_fd);
}

static void run_good(int arg)
{
	client_good(good_stop_fd, good_report_fd);
}

static int discarded_report_fd;

static void run_until_discarded(int arg)
{
	client_until_discarded(discarded_report_fd);
}

/*
 * Start the client committing on vGPU "a" until a commit is discarded,
 * and wait until a commit of it waits for a frame.
 */
static void start_until_discarded(struct daemon *daemon, struct child *child,
				  struct pipe_watch *report)
{
	pipe_watch_init(report, daemon->loop);
	discarded_report_fd = report->fds[1];
	child_start(child, daemon->loop, run_until_discarded, 0);
	wait_for(daemon, &report->readable, "the client's attach");
	struct vgpu *a = vgpu_manager_find(daemon->vgpus, "a");
	kt_assert(a != NULL);
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (vgpu_n_tracked(a) == 0) {
		kt_assertf(kt_now_ns() < deadline, "vGPU a never had a commit waiting");
		dispatch(daemon);
	}
}

static void run_bad(int which)
{
	client_bad((enum bad_case)which);
}

/* Framebuffers the device has, from debugfs. */
static int count_framebuffers(int minor)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/framebuffer", minor);
	FILE *f = fopen(path, "re");
	kt_assertf(f != NULL, "%s: %s", path, strerror(errno));
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, "framebuffer[", 12) == 0;
	fclose(f);
	return n;
}

static int count_fds(void)
{
	int n = 0;
	char path[64];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/*
 * Dispatch until the server has detached every vGPU (the watch was armed
 * before the client was told to go), then until a frame without any
 * client buffer is on screen: it must be one of the next two.
 */
static void wait_placeholder(struct daemon *daemon, struct kms_output *output)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	wait_for(daemon, &detach_watch.seen, "the client's vGPU to be detached");
	detach_watch.armed = false;
	uint64_t start = detach_watch.presents_at_detach;
	while (!wl_list_empty(&output->layers) || !wl_list_empty(&output->dead_layers) ||
	       presents.count == start || presents.last_buffer != NULL) {
		kt_assertf(kt_now_ns() < deadline, "the client's buffers stay on screen");
		dispatch(daemon);
	}
	printf("placeholder back after %llu presents\n",
	       (unsigned long long)(presents.count - start));
	kt_assertf(presents.count - start <= 2,
		   "the placeholder came %llu refreshes after the client went",
		   (unsigned long long)(presents.count - start));
}

static void check_placeholder_pixels(struct wl_event_loop *loop, struct kms_output *output,
				     const char *what)
{
	struct kt_image got, want;
	tk_capture(loop, output, &got);
	kt_assert_ok(kt_image_alloc(&want, got.width, got.height, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, got.width, got.height, PLACEHOLDER);
	kt_assertf(kt_compare(&got, &want, 0x00ffffff, what) == 0, "%s differs", what);
	kt_image_free(&got);
	kt_image_free(&want);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);

	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	int minor = atoi(strrchr(vkms.path, '/') + strlen("/card"));
	kt_device_close(&vkms);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);

	/* The socket's directory is created. */
	kt_assert(access(SOCKET_DIR, F_OK) != 0);
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct wl_event_loop *loop = daemon->loop;
	struct stat st;
	kt_assert_errno(stat(SOCKET_PATH, &st) == 0);
	kt_assertf((st.st_mode & 0777) == 0660, "socket mode %o", st.st_mode & 0777);
	kt_assert_errno(stat(SOCKET_DIR, &st) == 0);
	kt_assertf((st.st_mode & 0777) == 0755, "directory mode %o", st.st_mode & 0777);
	/* A second server on the same path is refused: the lock is held. */
	kt_assert(protocol_server_create(daemon->display, &daemon->config, daemon->display_manager,
					 daemon->vgpus) == NULL);
	kt_assert_errno(access(SOCKET_PATH, F_OK) == 0);
	/* Let uid 1000 reach the socket through its group. */
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, USER_UID) == 0);

	struct kms_output *output = display_find_output(daemon->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	tk_presents_init(&presents, output);
	tk_wait_presents(loop, &presents, 1);
	int fbs_before = count_framebuffers(minor);
	printf("%d framebuffers before any client\n", fbs_before);

	/* 1. A frame appears exactly. */
	struct pipe_watch frame_pipe;
	pipe_watch_init(&frame_pipe, loop);
	frame_report_fd = frame_pipe.fds[1];
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	frame_go_fd = go[0];
	struct child frame;
	child_start(&frame, loop, run_frame, 0);
	wait_for(daemon, &frame_pipe.readable, "the frame client's first presented");
	struct kt_image got, want;
	tk_capture(loop, output, &got);
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, 7);
	kt_assertf(kt_compare(&got, &want, 0x00ffffff, "client-frame") == 0,
		   "the client's frame is not on screen exactly");
	kt_image_free(&got);
	kt_image_free(&want);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->zpos == 1)
			kt_assertf(layer->state.direct, "the primary layer was not scanned out");
	}
	kt_assertf(count_framebuffers(minor) > fbs_before, "no framebuffer for the client");

	/* 2. SIGKILL mid-stream: placeholder, framebuffers freed. */
	uint64_t streamed = presents.count + 3;
	kt_assert_errno(write(go[1], "g", 1) == 1);
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (presents.count < streamed) {
		kt_assertf(kt_now_ns() < deadline, "the frame client does not stream");
		dispatch(daemon);
	}
	close(go[0]);
	close(go[1]);
	detach_watch = (struct detach_watch){.armed = true};
	kt_assert_errno(kill(frame.pid, SIGKILL) == 0);
	wait_for(daemon, &frame.exited, "the frame client's death");
	kt_assert(WIFSIGNALED(frame.status) && WTERMSIG(frame.status) == SIGKILL);
	wait_placeholder(daemon, output);
	check_placeholder_pixels(loop, output, "after-kill");
	int fbs_after = count_framebuffers(minor);
	printf("%d framebuffers after the client was killed\n", fbs_after);
	kt_assertf(fbs_after == fbs_before, "framebuffers: %d before the client, %d after",
		   fbs_before, fbs_after);
	pipe_watch_finish(&frame_pipe);

	/* 3. Misbehaving clients while a good one is served. */
	int fds_before = count_fds();
	struct pipe_watch good_pipe;
	pipe_watch_init(&good_pipe, loop);
	int stop[2];
	kt_assert_errno(pipe2(stop, O_CLOEXEC) == 0);
	good_stop_fd = stop[0];
	good_report_fd = good_pipe.fds[1];
	struct child good;
	child_start(&good, loop, run_good, 0);
	wait_for(daemon, &good_pipe.readable, "the good client's attach");

	for (int which = 0; which < BAD__COUNT; which++) {
		struct child bad;
		char what[64];
		snprintf(what, sizeof(what), "bad client case %d", which);
		child_start(&bad, loop, run_bad, which);
		child_wait(daemon, &bad, what);
		kt_assertf(!good.exited, "the good client ended during %s", what);
	}

	detach_watch = (struct detach_watch){.armed = true};
	kt_assert_errno(write(stop[1], "s", 1) == 1);
	child_wait(daemon, &good, "the good client");
	close(stop[0]);
	close(stop[1]);
	pipe_watch_finish(&good_pipe);
	wait_placeholder(daemon, output);
	check_placeholder_pixels(loop, output, "after-good");
	/* Every client was seen to go. */
	deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!wl_list_empty(wl_display_get_client_list(daemon->display))) {
		kt_assertf(kt_now_ns() < deadline, "a client is still connected");
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(loop, 100) >= 0);
	}
	kt_assertf(wl_list_empty(&daemon->server->vgpus), "a vGPU is still attached");
	int fds_after = count_fds();
	printf("daemon fds: %d before the clients, %d after\n", fds_before, fds_after);
	kt_assertf(fds_after == fds_before, "the daemon leaked %d fds", fds_after - fds_before);
	kt_assertf(count_framebuffers(minor) == fbs_before, "framebuffers leaked");

	/* 4. The output taken away from a vGPU with a commit waiting for it. */
	struct pipe_watch report;
	struct child until;
	start_until_discarded(daemon, &until, &report);
	char msg[256];
	kt_assertf(daemon_assign(daemon, "b", "Virtual-1", 0, msg, sizeof(msg)) == 0, "assign: %s",
		   msg);
	child_wait(daemon, &until, "the client whose output went to another vGPU");
	pipe_watch_finish(&report);
	kt_assertf(daemon_assign(daemon, "a", "Virtual-1", 0, msg, sizeof(msg)) == 0, "assign: %s",
		   msg);

	/* 5. The output blanked under a vGPU with a commit waiting for it. */
	start_until_discarded(daemon, &until, &report);
	kt_assert_ok(display_output_request_blank(daemon->display_manager, output, true));
	child_wait(daemon, &until, "the client whose output was blanked");
	pipe_watch_finish(&report);
	kt_assert_ok(display_output_request_blank(daemon->display_manager, output, false));

	tk_presents_finish(&presents);
	daemon_destroy(daemon);
	kt_assert(access(SOCKET_PATH, F_OK) != 0);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
