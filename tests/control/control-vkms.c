// SPDX-License-Identifier: MIT
/*
 * The control interface on vkms: the daemon's code runs in this process
 * with the control global, vscanoutctl (the real binary, argv[1]) and
 * clients in forked children.
 *
 *  1. status --json before any client: Virtual-1 is on with its mode,
 *     CRTC and planes; vGPU "a" is not attached.
 *  2. screenshot through writeback: exactly the placeholder.
 *  3. A client shows a udmabuf frame: status says its layer is direct on
 *     the plane the KMS core chose, the vGPU is attached by that client
 *     with source "client", the counters moved; the writeback screenshot
 *     is exactly the client's frame.
 *  3b. vscanoutctl debugfs: the kernel's state of the CRTC and planes agrees
 *     with the status (exit 0, both views printed). The test then turns the
 *     client's plane off with the daemon's own DRM fd behind the KMS core's
 *     back: debugfs exits 1 naming the plane and the field; put back, they
 *     agree again.
 *  3c. blank: the CRTC is inactive in the kernel's state, the status says
 *     "blanked", the views still agree; unblank lights it again and the
 *     writeback shows the client's frame again.
 *  4. Two screenshots asked at once share one capture and are identical;
 *     a client that goes while its screenshot waits for the hardware
 *     leaves nothing behind and the next screenshot works.
 *  5. Refusals: a user that is neither root nor in the control group
 *     (exit 1, no control interface offered to it), an unknown output.
 *  6. The control global goes while a screenshot waits for the hardware:
 *     the capture completes without anyone to answer.
 * The daemon holds no more fds at the end than before the clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include <drm_fourcc.h>

#include "../protocol/client.h"
#include "common.h"
#include "config/config.h"
#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kms/output.h"
#include "kms/properties.h"
#include "kmstest.h"
#include "png-decode.h"

#define SOCKET_DIR  "/tmp/vscanout-control-test"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"
#define PNG_PATH    "/tmp/vscanout-control-test.png"
#define PLACEHOLDER 0x3366ccu
#define WIDTH       1024
#define HEIGHT      768
#define SEED        7
#define USER_UID    1000

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "flip = vsync\n"
				  "placeholder = #3366cc\n"
				  "[vgpu a]\n";

static struct daemon *daemon_;
static const char *ctl_path;
static int report_fd, go_fd;

static void dispatch(void)
{
	wl_display_flush_clients(daemon_->display);
	kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
}

static void wait_for(const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		dispatch();
	}
}

static void child_wait_ok(struct child *child, const char *what)
{
	wait_for(&child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0, "%s: status 0x%x",
		   what, child->status);
}

/* The daemon's open fds; with print, what they are. */
static int count_fds(bool print)
{
	int n = 0;
	char path[64], target[256];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		n++;
		target[len] = '\0';
		if (print)
			printf("  fd %d: %s\n", fd, target);
	}
	return n;
}

/* ---- children ----------------------------------------------------------- */

/* Show the pattern full screen, report once it is presented, go when told. */
static void run_frame(int arg)
{
	child_die_with_parent();
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, SEED);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	if (!(c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY))
		client_fail("presented flags 0x%x, want zero_copy", c.presented_flags);
	char byte;
	if (write(report_fd, "p", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes");
	_exit(0);
}

/* Two captures in one go: both done by writeback, both the same sealed pixels. */
static void run_two_screenshots(int arg)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect_version(&c, SOCKET_PATH, 3);
	int fds[2] = {memfd_create("one", MFD_CLOEXEC | MFD_ALLOW_SEALING),
		      memfd_create("two", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
	vscanout_control_v1_capture(c.control, 1, "Virtual-1", fds[0]);
	vscanout_control_v1_capture(c.control, 2, "Virtual-1", fds[1]);
	struct stat st[2];
	char *data[2];
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;
	for (int i = 0; i < 2; i++) {
		const struct control_answer *a = control_client_wait(&c, 1 + (uint32_t)i);
		if (a->answered != 1 || a->value != VSCANOUT_CONTROL_V1_SCREENSHOT_SOURCE_WRITEBACK)
			client_fail("screenshot %d: %d, value %u, %s", i + 1, a->answered, a->value,
				    a->message);
		if (!a->image || a->width != WIDTH || a->height != HEIGHT ||
		    a->stride < WIDTH * 4 || a->format != DRM_FORMAT_XRGB8888)
			client_fail("screenshot %d: image %d %ux%u stride %u format 0x%x", i + 1,
				    a->image, a->width, a->height, a->stride, a->format);
		if (fstat(fds[i], &st[i]) != 0 ||
		    st[i].st_size != (off_t)a->stride * (off_t)a->height)
			client_fail("screenshot %d: %lld bytes", i + 1, (long long)st[i].st_size);
		if ((fcntl(fds[i], F_GET_SEALS) & seals) != seals)
			client_fail("screenshot %d: not sealed", i + 1);
		data[i] = mmap(NULL, (size_t)st[i].st_size, PROT_READ, MAP_SHARED, fds[i], 0);
		if (data[i] == MAP_FAILED)
			client_fail("mmap");
	}
	if (st[0].st_size != st[1].st_size || memcmp(data[0], data[1], (size_t)st[0].st_size))
		client_fail("the two screenshots differ");
	printf("child %d: two screenshots at once, %lld bytes of pixels each, identical\n",
	       (int)getpid(), (long long)st[0].st_size);
	fflush(stdout);
	_exit(0);
}

/* Ask for a screenshot and go before it is answered (after reporting, if asked to wait). */
static void run_leave(int wait_for_go)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect_version(&c, SOCKET_PATH, 3);
	int fd = memfd_create("leave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	vscanout_control_v1_capture(c.control, 1, "Virtual-1", fd);
	/* The request was handled: the screenshot waits for the capture. */
	if (wl_display_roundtrip(c.display) < 0 || c.answers[1].answered != 0)
		client_fail("the screenshot was answered at once");
	if (wait_for_go) {
		char byte;
		if (write(report_fd, "l", 1) != 1 || read(go_fd, &byte, 1) != 1)
			client_fail("pipes");
	}
	_exit(0);
}

/* ---- checks ------------------------------------------------------------- */

static const char *str(const struct json_value *v, const char *key)
{
	const char *s = json_get_string(v, key);
	kt_assertf(s != NULL, "no string \"%s\" in the status", key);
	return s;
}

static uint64_t counter(const struct json_value *output, const char *key)
{
	const struct json_value *v = json_get(json_get(output, "counters"), key);
	kt_assertf(v != NULL && v->type == JSON_NUMBER, "no counter %s", key);
	return strtoull(v->string, NULL, 10);
}

/* Virtual-1 as the status shows it, with what holds before and after a client. */
static struct json_value *check_output(struct kms_output *output, const struct json_value **out)
{
	struct json_value *st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	const struct json_value *o = status_output(st, "Virtual-1");
	kt_assertf(o != NULL, "Virtual-1 is not in the status");
	kt_assert(strcmp(str(o, "state"), "on") == 0);
	kt_assert(strncmp(str(o, "device"), "/dev/dri/card", 13) == 0);
	kt_assert(json_get_number(o, "connector_id", 0) == output->connector_id);
	kt_assert(json_get_bool(o, "connected", false));
	const struct json_value *mode = json_get(o, "mode");
	kt_assert(json_get_number(mode, "width", 0) == WIDTH);
	kt_assert(json_get_number(mode, "height", 0) == HEIGHT);
	double mhz = json_get_number(mode, "refresh_mhz", 0);
	kt_assertf(mhz > 59000 && mhz < 61000, "refresh %f mHz", mhz);
	kt_assert(output->crtc != NULL);
	kt_assert(json_get_number(o, "crtc_id", 0) == output->crtc->id);
	kt_assert(json_get_number(o, "mode_blob", 0) == output->mode_blob);
	kt_assert(strcmp(str(o, "placeholder"), "#3366cc") == 0);
	kt_assert(strcmp(str(o, "flip"), "vsync") == 0);
	const struct json_value *planes = json_get(o, "planes");
	kt_assert(planes != NULL && planes->n >= 2);
	kt_assert(strcmp(str(json_at(planes, 0), "type"), "primary") == 0);
	*out = o;
	return st;
}

/*
 * Run vscanoutctl screenshot and decode the PNG; its source must be source.
 * FILE is a symbolic link to another file beforehand: the link is replaced
 * by a file of mode 0600, the other file is left as it was.
 */
static void screenshot(const char *source, struct png_image *img)
{
	static const char decoy[] = PNG_PATH ".decoy";
	unlink(PNG_PATH);
	int fd = open(decoy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	kt_assert_errno(fd >= 0 && write(fd, "decoy", 5) == 5 && close(fd) == 0);
	kt_assert_errno(symlink(decoy, PNG_PATH) == 0);
	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot",
		"Virtual-1", PNG_PATH, NULL);
	kt_assertf(r.exit_code == 0, "screenshot: exit %d", r.exit_code);
	char want[128];
	snprintf(want, sizeof(want), "Virtual-1: %ux%u screenshot, source %s, written to %s\n",
		 WIDTH, HEIGHT, source, PNG_PATH);
	kt_assertf(strcmp(r.out, want) == 0, "screenshot said \"%s\"", r.out);
	ctl_result_finish(&r);
	struct stat st;
	kt_assert_errno(lstat(PNG_PATH, &st) == 0);
	kt_assertf(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
		   "%s: mode 0%o, not a regular file of mode 0600", PNG_PATH,
		   (unsigned int)st.st_mode);
	kt_assert_errno(stat(decoy, &st) == 0);
	kt_assertf(st.st_size == 5 && (st.st_mode & 07777) == 0644,
		   "the screenshot was written through the link");
	unlink(decoy);
	char err[128];
	kt_assertf(png_decode_file(PNG_PATH, img, err, sizeof(err)) == 0, "%s: %s", PNG_PATH, err);
	kt_assert(img->width == WIDTH && img->height == HEIGHT);
	char comment[64];
	snprintf(comment, sizeof(comment), "vscanout screenshot source: %s", source);
	kt_assert(strcmp(img->comment, comment) == 0);
}

static void compare(const struct png_image *img, const struct kt_image *want, const char *what)
{
	struct kt_image got = {
		.width = img->width,
		.height = img->height,
		.stride = img->width * 4,
		.format = DRM_FORMAT_XRGB8888,
		.data = img->pixels,
	};
	kt_assertf(kt_compare(&got, want, 0x00ffffff, what) == 0, "%s differs", what);
}

static void check_placeholder(const char *what)
{
	struct png_image img;
	screenshot("writeback", &img);
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, WIDTH, HEIGHT, PLACEHOLDER);
	compare(&img, &want, what);
	kt_image_free(&want);
	png_image_free(&img);
}

/* vscanoutctl debugfs: its exit status must be want; returns its output (caller frees). */
static char *ctl_debugfs(int want)
{
	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "debugfs", NULL);
	kt_assertf(r.exit_code == want, "debugfs: exit %d, want %d: %s", r.exit_code, want, r.err);
	kt_assert(strstr(r.out, "    vscanoutd: ") != NULL &&
		  strstr(r.out, "    kernel: ") != NULL);
	char *out = r.out;
	r.out = NULL;
	ctl_result_finish(&r);
	return out;
}

/* Run vscanoutctl blank or unblank; returns its exit status. */
static int ctl_blank(const char *cmd, const char *want_err)
{
	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, cmd, "Virtual-1",
		NULL);
	if (want_err != NULL)
		kt_assertf(strstr(r.err, want_err) != NULL, "%s: no \"%s\" in \"%s\"", cmd,
			   want_err, r.err);
	int code = r.exit_code;
	ctl_result_finish(&r);
	return code;
}

static const struct kms_plane *find_plane(struct kms_device *device, uint32_t id)
{
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].id == id)
			return &device->planes[i];
	}
	kt_assertf(false, "no plane %u", id);
	return NULL;
}

/* An atomic request on the daemon's fd: TEST_ONLY first; 0 or the test's error. */
static int commit_behind(int fd, drmModeAtomicReq *req)
{
	int ret = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_TEST_ONLY, NULL);
	if (ret != 0)
		return ret;
	ret = drmModeAtomicCommit(fd, req, 0, NULL);
	kt_assertf(ret == 0, "the kernel accepted the test commit, not the commit: %s",
		   strerror(errno));
	return 0;
}

/*
 * Change plane_id behind the KMS core's back: move it by 16 pixels or, where
 * the driver does not let it move (vkms' primary plane), turn it off.
 * Returns the field vscanoutctl must name; saved gets what to put back.
 */
static const char *sabotage(struct kms_output *output, uint32_t plane_id, uint64_t saved[4])
{
	int fd = output->device->fd;
	const struct kms_plane *plane = find_plane(output->device, plane_id);
	const int props[4] = {KMS_PLANE_FB_ID, KMS_PLANE_CRTC_ID, KMS_PLANE_CRTC_X,
			      KMS_PLANE_CRTC_Y};
	for (int i = 0; i < 4; i++)
		kt_assert_ok(kms_prop_get(fd, plane_id, DRM_MODE_OBJECT_PLANE,
					  plane->props[props[i]], &saved[i]));
	kt_assert(saved[0] != 0 && saved[1] == output->crtc->id);

	drmModeAtomicReq *req = drmModeAtomicAlloc();
	kt_assert(req != NULL);
	kt_assert(drmModeAtomicAddProperty(req, plane_id, plane->props[KMS_PLANE_CRTC_X],
					   saved[2] + 16) > 0);
	kt_assert(drmModeAtomicAddProperty(req, plane_id, plane->props[KMS_PLANE_CRTC_Y],
					   saved[3] + 16) > 0);
	int ret = commit_behind(fd, req);
	drmModeAtomicFree(req);
	if (ret == 0) {
		printf("moved plane %u by 16,16 behind the daemon's back\n", plane_id);
		return "position";
	}
	printf("plane %u cannot move (%s): turning it off instead\n", plane_id, strerror(errno));
	req = drmModeAtomicAlloc();
	kt_assert(req != NULL);
	kt_assert(drmModeAtomicAddProperty(req, plane_id, plane->props[KMS_PLANE_FB_ID], 0) > 0);
	kt_assert(drmModeAtomicAddProperty(req, plane_id, plane->props[KMS_PLANE_CRTC_ID], 0) > 0);
	ret = commit_behind(fd, req);
	kt_assertf(ret == 0, "the kernel lets plane %u neither move nor go off: %s", plane_id,
		   strerror(errno));
	drmModeAtomicFree(req);
	printf("turned plane %u off behind the daemon's back\n", plane_id);
	return "fb";
}

static void restore(struct kms_output *output, uint32_t plane_id, const uint64_t saved[4])
{
	const struct kms_plane *plane = find_plane(output->device, plane_id);
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	kt_assert(req != NULL);
	const int props[4] = {KMS_PLANE_FB_ID, KMS_PLANE_CRTC_ID, KMS_PLANE_CRTC_X,
			      KMS_PLANE_CRTC_Y};
	for (int i = 0; i < 4; i++)
		kt_assert(drmModeAtomicAddProperty(req, plane_id, plane->props[props[i]],
						   saved[i]) > 0);
	kt_assert_errno(commit_behind(output->device->fd, req) == 0);
	drmModeAtomicFree(req);
}

/* Dispatch until no capture waits on output. */
static void wait_capture_done(struct kms_output *output)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (output->capture != NULL) {
		kt_assertf(kt_now_ns() < deadline, "the capture never ended");
		dispatch();
	}
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_device_close(&vkms);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	daemon_ = daemon_create(&config);
	kt_assert(daemon_ != NULL);
	struct control *control = daemon_->control;
	kt_assert(control != NULL);
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, USER_UID) == 0);
	struct kms_output *output = display_find_output(daemon_->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	struct tk_presents presents;
	tk_presents_init(&presents, output);
	tk_wait_presents(daemon_->loop, &presents, 1);

	/* 1. The output before any client. */
	const struct json_value *o;
	struct json_value *st = check_output(output, &o);
	kt_assert(json_get(o, "layers")->n == 0);
	const struct json_value *a = status_vgpu(st, "a");
	kt_assert(a != NULL && !json_get_bool(a, "attached", true));
	kt_assert(strcmp(str(a, "source"), "none") == 0);
	uint64_t commits_before = counter(o, "commits");
	uint64_t direct_before = counter(o, "frames_direct");
	json_value_free(st);

	/* 2. The placeholder, read back by the hardware. */
	check_placeholder("placeholder");

	/* 3. A client's frame. */
	struct pipe_watch report;
	pipe_watch_init(&report, daemon_->loop);
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	report_fd = report.fds[1];
	go_fd = go[0];
	int fds_before = count_fds(false);
	struct child frame;
	child_start(&frame, daemon_->loop, run_frame, 0);
	wait_for(&report.readable, "the client's frame");

	st = check_output(output, &o);
	const struct json_value *primary = status_layer(o, 1), *cursor = status_layer(o, 2);
	kt_assert(primary != NULL && cursor != NULL);
	struct kms_layer *layer;
	struct kms_layer_state state = {0};
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->zpos == 1)
			kms_layer_get_state(layer, &state);
	}
	kt_assert(state.direct && state.plane_id != 0);
	kt_assert(json_get_bool(primary, "visible", false));
	kt_assert(json_get_bool(primary, "direct", false));
	kt_assert(!json_get_bool(primary, "copied", true));
	kt_assertf(json_get_number(primary, "plane_id", 0) == state.plane_id,
		   "the status names plane %s, the layer is on %u",
		   json_get(primary, "plane_id")->string, state.plane_id);
	kt_assert(json_get(primary, "miss")->n == 0);
	kt_assert(strcmp(str(primary, "format"), "XRGB8888") == 0);
	kt_assert(json_get_number(primary, "width", 0) == WIDTH);
	kt_assert(json_get_number(json_get(primary, "dst"), "height", 0) == HEIGHT);
	kt_assert(json_get_number(json_get(primary, "src"), "width", 0) == WIDTH);
	kt_assert(!json_get_bool(cursor, "visible", true));
	kt_assert(json_get(cursor, "format")->type == JSON_NULL);
	a = status_vgpu(st, "a");
	kt_assert(json_get_bool(a, "attached", false));
	kt_assert(json_get_number(json_get(a, "client"), "pid", 0) == frame.pid);
	kt_assert(strcmp(str(a, "source"), "client") == 0);
	kt_assert(strcmp(json_at(json_get(a, "outputs"), 0)->string, "Virtual-1") == 0);
	uint64_t commits = counter(o, "commits"), direct = counter(o, "frames_direct");
	printf("commits %llu -> %llu, direct frames %llu -> %llu\n",
	       (unsigned long long)commits_before, (unsigned long long)commits,
	       (unsigned long long)direct_before, (unsigned long long)direct);
	kt_assert(commits > commits_before && direct > direct_before);
	json_value_free(st);

	struct png_image img;
	screenshot("writeback", &img);
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, SEED);
	compare(&img, &want, "client-frame");
	png_image_free(&img);

	/* The human form names the layer's plane. */
	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "status", NULL);
	kt_assert(r.exit_code == 0);
	char line[96];
	snprintf(line, sizeof(line), "  layer zpos 1: direct on plane %u, XRGB8888 1024x768",
		 state.plane_id);
	kt_assertf(strstr(r.out, line) != NULL, "no \"%s\"", line);
	ctl_result_finish(&r);

	uint64_t deadline;
	/* 3b. The kernel's view, agreeing; then a plane changed behind the daemon's back. */
	st = check_output(output, &o);
	unsigned int minor = status_minor(o);
	json_value_free(st);
	char *out = ctl_debugfs(0);
	char line2[96];
	snprintf(line2, sizeof(line2), "  plane %u (primary, layer zpos 1)\n", state.plane_id);
	kt_assertf(strstr(out, line2) != NULL, "no \"%s\"", line2);
	kt_assert(strstr(out, "vscanoutd and the kernel agree\n") != NULL);
	kt_assert(strstr(out, "DIFFERS") == NULL);
	free(out);
	uint64_t saved[4];
	const char *field = sabotage(output, state.plane_id, saved);
	out = ctl_debugfs(1);
	snprintf(line2, sizeof(line2), "  DIFFERS plane %u %s: ", state.plane_id, field);
	kt_assertf(strstr(out, line2) != NULL, "no \"%s\"", line2);
	kt_assert(strstr(out, "between vscanoutd and the kernel\n") != NULL);
	free(out);
	restore(output, state.plane_id, saved);
	free(ctl_debugfs(0));

	/* 3c. Blank: the CRTC goes inactive, the settings and the picture stay. */
	uint32_t crtc_id = output->crtc->id;
	char *kstate = debugfs_state(minor);
	kt_assert(debugfs_crtc_active(kstate, crtc_id) == 1);
	free(kstate);
	kt_assert(ctl_blank("blank", NULL) == 0);
	deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (output->state != KMS_OUTPUT_OFF) {
		kt_assertf(kt_now_ns() < deadline, "the output does not go off");
		dispatch();
	}
	kstate = debugfs_state(minor);
	kt_assertf(debugfs_crtc_active(kstate, crtc_id) == 0, "CRTC %u is still active", crtc_id);
	free(kstate);
	st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	o = status_output(st, "Virtual-1");
	kt_assert(json_get_bool(o, "blanked", false));
	kt_assert(strcmp(str(o, "state"), "off") == 0);
	kt_assert(json_get(o, "crtc_id")->type == JSON_NULL);
	json_value_free(st);
	out = ctl_debugfs(0);
	kt_assert(strstr(out, "output Virtual-1 (minor") != NULL);
	free(out);
	kt_assert(ctl_blank("blank", "output Virtual-1 is already blanked") == 1);
	uint64_t presented = presents.count;
	kt_assert(ctl_blank("unblank", NULL) == 0);
	kt_assert(ctl_blank("unblank", "output Virtual-1 is not blanked") == 1);
	tk_wait_presents(daemon_->loop, &presents, presented + 1);
	kt_assert(output->state == KMS_OUTPUT_ON && output->crtc != NULL);
	kstate = debugfs_state(minor);
	kt_assert(debugfs_crtc_active(kstate, output->crtc->id) == 1);
	free(kstate);
	st = check_output(output, &o);
	kt_assert(!json_get_bool(o, "blanked", true));
	json_value_free(st);
	free(ctl_debugfs(0));
	screenshot("writeback", &img);
	compare(&img, &want, "after-unblank");
	png_image_free(&img);

	/* 4. Screenshots at once; a client that does not wait for its answer. */
	struct child child;
	child_start(&child, daemon_->loop, run_two_screenshots, 0);
	child_wait_ok(&child, "two screenshots at once");
	child_start(&child, daemon_->loop, run_leave, 0);
	child_wait_ok(&child, "the client that leaves");
	wait_capture_done(output);
	screenshot("writeback", &img);
	compare(&img, &want, "after-leave");
	png_image_free(&img);
	kt_image_free(&want);

	/* 5. Refusals. */
	ctl_run(daemon_->display, &r, USER_UID, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot",
		"Virtual-1", "/tmp/vscanout-control-user.png", NULL);
	kt_assert(r.exit_code == 1);
	/* The control global is hidden from it. */
	kt_assertf(strstr(r.err, "offers no control interface (vscanout_control_v1) to uid 1000: "
				 "only root and the members of its [daemon] control-group may "
				 "use it\n") != NULL,
		   "refusal: %s", r.err);
	kt_assert(access("/tmp/vscanout-control-user.png", F_OK) != 0);
	ctl_result_finish(&r);
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot",
		"Virtual-7", PNG_PATH, NULL);
	kt_assert(r.exit_code == 1);
	kt_assert(strstr(r.err, "screenshot of Virtual-7 failed: no output \"Virtual-7\"") != NULL);
	ctl_result_finish(&r);

	/* The client goes: the placeholder is back. */
	kt_assert_errno(write(go[1], "g", 1) == 1);
	child_wait_ok(&frame, "the frame client");
	deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!wl_list_empty(&output->layers) || !wl_list_empty(&output->dead_layers) ||
	       presents.last_buffer != NULL) {
		kt_assertf(kt_now_ns() < deadline, "the client's frame stays");
		dispatch();
	}
	check_placeholder("after-client");
	int fds_after = count_fds(false);
	printf("daemon fds: %d before the clients, %d after\n", fds_before, fds_after);
	if (fds_after != fds_before)
		count_fds(true);
	kt_assertf(fds_after == fds_before, "the daemon leaked %d fds", fds_after - fds_before);

	/* 6. The global goes while a screenshot waits for the hardware. */
	report.readable = false;
	child_start(&child, daemon_->loop, run_leave, 1);
	wait_for(&report.readable, "a screenshot waiting");
	kt_assert(output->capture != NULL);
	control_destroy(control);
	daemon_->control = NULL;
	kt_assert_errno(write(go[1], "g", 1) == 1);
	child_wait_ok(&child, "the client of the orphaned capture");
	wait_capture_done(output);

	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	tk_presents_finish(&presents);
	daemon_destroy(daemon_);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
