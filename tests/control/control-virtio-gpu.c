// SPDX-License-Identifier: MIT
/*
 * Screenshots without a writeback connector: a virtio-gpu with two heads.
 * The daemon's code runs in this process with the control global;
 * vscanoutctl (argv[1]) and two clients in forked children.
 *
 * Head 1 shows a full-screen frame, head 2 a small frame at an offset and
 * a cursor over it. vscanoutctl's screenshots of both say "composed" and
 * equal, pixel for pixel, both the picture the test computes and the
 * host's own screendump of the head. The status says the layers are
 * copied because the device cannot import the clients' buffers.
 *
 * Blank on two heads, once the clients are gone (placeholders on both):
 * vscanoutctl blank Virtual-1 turns its CRTC off in
 * the kernel's state while Virtual-2 keeps its CRTC active, its mode blob
 * and its commit counter; vscanoutctl debugfs agrees throughout; unblank
 * lights Virtual-1 again, Virtual-2 still untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include <drm_fourcc.h>

#include "../protocol/client.h"
#include "config/config.h"
#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kms/output.h"
#include "kmstest.h"
#include "png-decode.h"
#include "qmp.h"

#define SOCKET_PATH "/tmp/vscanout-control-virtio-0"
#define WIDTH       1024
#define HEIGHT      768
#define TIMEOUT_MS  20000
#define SMALL       256
#define SMALL_X     100
#define SMALL_Y     50
#define CURSOR      64
#define CURSOR_X    300
#define CURSOR_Y    280

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = head-1\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = head-2\n"
				  "mode = 1024x768\n"
				  "placeholder = #cc6633\n";

static struct daemon *daemon_;
static const char *ctl_path;
static int report_fds[2], go_fd;

static void wait_for(const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}
}

/* Client i: head-1 full screen, or head-2 a small frame and a cursor. */
static void run_client(int i)
{
	child_die_with_parent();
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, i == 0 ? "head-1" : "head-2");
	struct client_image primary, cursor;
	if (i == 0) {
		client_image_create(&primary, WIDTH, HEIGHT, 21);
		vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &primary), 0, 0);
	} else {
		client_image_create(&primary, SMALL, SMALL, 22);
		client_image_create(&cursor, CURSOR, CURSOR, 23);
		vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &primary), SMALL_X, SMALL_Y);
		vscanout_vgpu_v1_set_cursor(vgpu, client_buffer(vgpu, &cursor), CURSOR_X + 5,
					    CURSOR_Y + 7, 5, 7);
	}
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	char byte;
	if (write(report_fds[i], "p", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes: %s", strerror(errno));
	_exit(0);
}

static uint64_t commits_of(const struct json_value *output)
{
	const struct json_value *v = json_get(json_get(output, "counters"), "commits");
	kt_assert(v != NULL && v->type == JSON_NUMBER);
	return strtoull(v->string, NULL, 10);
}

/* vscanoutctl with one argument after the socket; its exit status must be want. */
static void ctl_expect(int want, const char *cmd, const char *arg)
{
	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, cmd, arg, NULL);
	kt_assertf(r.exit_code == want, "%s %s: exit %d, want %d", cmd, arg ? arg : "", r.exit_code,
		   want);
	ctl_result_finish(&r);
}

/* Dispatch until output is in state. */
static void wait_state(struct kms_output *output, enum kms_output_state state)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	while (output->state != state || output->flip_pending) {
		kt_assertf(kt_now_ns() < deadline, "output %s never reached state %d", output->name,
			   (int)state);
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}
}

/* Blank head 1 and light it again; head 2 must not notice. */
static void check_blank(struct kms_output *outputs[2])
{
	struct json_value *st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	const struct json_value *o2 = status_output(st, "Virtual-2");
	unsigned int minor = status_minor(o2);
	uint32_t crtc1 = outputs[0]->crtc->id, crtc2 = outputs[1]->crtc->id;
	double blob2 = json_get_number(o2, "mode_blob", 0);
	uint64_t commits2 = commits_of(o2);
	kt_assert(blob2 == outputs[1]->mode_blob && blob2 != 0);
	json_value_free(st);
	ctl_expect(0, "debugfs", NULL);

	ctl_expect(0, "blank", "Virtual-1");
	wait_state(outputs[0], KMS_OUTPUT_OFF);
	char *kstate = debugfs_state(minor);
	kt_assertf(debugfs_crtc_active(kstate, crtc1) == 0, "CRTC %u of Virtual-1 is active",
		   crtc1);
	kt_assertf(debugfs_crtc_active(kstate, crtc2) == 1, "CRTC %u of Virtual-2 went off", crtc2);
	free(kstate);
	st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	kt_assert(json_get_bool(status_output(st, "Virtual-1"), "blanked", false));
	o2 = status_output(st, "Virtual-2");
	kt_assert(!json_get_bool(o2, "blanked", true));
	kt_assertf(json_get_number(o2, "mode_blob", 0) == blob2, "Virtual-2's mode blob changed");
	kt_assertf(commits_of(o2) == commits2, "Virtual-2 committed %llu times during the blank",
		   (unsigned long long)(commits_of(o2) - commits2));
	json_value_free(st);
	ctl_expect(0, "debugfs", NULL);

	ctl_expect(0, "unblank", "Virtual-1");
	wait_state(outputs[0], KMS_OUTPUT_ON);
	kt_assert(outputs[0]->crtc != NULL);
	kstate = debugfs_state(minor);
	kt_assert(debugfs_crtc_active(kstate, outputs[0]->crtc->id) == 1);
	kt_assert(debugfs_crtc_active(kstate, crtc2) == 1);
	free(kstate);
	st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	kt_assert(!json_get_bool(status_output(st, "Virtual-1"), "blanked", true));
	o2 = status_output(st, "Virtual-2");
	kt_assert(json_get_number(o2, "mode_blob", 0) == blob2);
	kt_assert(commits_of(o2) == commits2);
	json_value_free(st);
	ctl_expect(0, "debugfs", NULL);
}

/* What head i shows, computed. */
static void expected(int i, struct kt_image *want)
{
	kt_assert_ok(kt_image_alloc(want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	if (i == 0) {
		kt_fill_pattern(want, 21);
		return;
	}
	kt_fill_rect(want, 0, 0, WIDTH, HEIGHT, 0xcc6633);
	struct kt_image small, cursor;
	kt_assert_ok(kt_image_alloc(&small, SMALL, SMALL, DRM_FORMAT_XRGB8888));
	kt_assert_ok(kt_image_alloc(&cursor, CURSOR, CURSOR, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&small, 22);
	kt_fill_pattern(&cursor, 23);
	for (uint32_t y = 0; y < SMALL; y++)
		memcpy(kt_pixel(want, SMALL_X, SMALL_Y + y), kt_pixel(&small, 0, y), SMALL * 4);
	for (uint32_t y = 0; y < CURSOR; y++)
		memcpy(kt_pixel(want, CURSOR_X, CURSOR_Y + y), kt_pixel(&cursor, 0, y), CURSOR * 4);
	kt_image_free(&small);
	kt_image_free(&cursor);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

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
	kt_device_open_or_skip(&dev, "virtio_gpu");
	struct kms_output *outputs[2] = {
		display_find_output(daemon_->display_manager, "Virtual-1"),
		display_find_output(daemon_->display_manager, "Virtual-2"),
	};
	kt_assertf(outputs[0] && outputs[1], "want Virtual-1 and Virtual-2 (--virtio-gpu 2)");

	struct pipe_watch reports[2];
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	go_fd = go[0];
	struct child children[2];
	for (int i = 0; i < 2; i++) {
		pipe_watch_init(&reports[i], daemon_->loop);
		report_fds[i] = reports[i].fds[1];
	}
	for (int i = 0; i < 2; i++)
		child_start(&children[i], daemon_->loop, run_client, i);
	for (int i = 0; i < 2; i++)
		wait_for(&reports[i].readable, "a client's first presented frame");

	/* The status: copied, because the device imports no foreign dma-buf. */
	struct json_value *st = ctl_status(daemon_->display, ctl_path, SOCKET_PATH);
	const struct json_value *primary = status_layer(status_output(st, "Virtual-1"), 1);
	kt_assert(primary != NULL);
	kt_assert(json_get_bool(primary, "visible", false));
	kt_assert(!json_get_bool(primary, "direct", true));
	kt_assert(json_get_bool(primary, "copied", false));
	kt_assert(json_get(primary, "plane_id")->type == JSON_NULL);
	const struct json_value *miss = json_get(primary, "miss");
	kt_assertf(miss != NULL && miss->n >= 1, "no reason for the copy");
	kt_assert(strcmp(json_at(miss, 0)->string, "import") == 0);
	const struct json_value *o2 = status_output(st, "Virtual-2");
	const struct json_value *cursor = status_layer(o2, 2);
	kt_assert(json_get_number(json_get(cursor, "dst"), "x", 0) == CURSOR_X);
	kt_assert(json_get_number(json_get(cursor, "dst"), "y", 0) == CURSOR_Y);
	kt_assert(json_get_number(json_get(o2, "counters"), "frames_copied", 0) >= 1);
	json_value_free(st);

	kt_host_sync(&dev);
	struct kt_qmp qmp;
	kt_qmp_open(&qmp);
	kt_qmp_execute(&qmp, "qmp_capabilities", NULL);
	for (int i = 0; i < 2; i++) {
		char name[16], path[64], what[32];
		snprintf(name, sizeof(name), "Virtual-%d", i + 1);
		snprintf(path, sizeof(path), "/tmp/vscanout-control-virtio-%d.png", i + 1);
		struct ctl_result r;
		ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot",
			name, path, NULL);
		kt_assertf(r.exit_code == 0, "screenshot of %s: exit %d", name, r.exit_code);
		kt_assert(strstr(r.out, "1024x768 screenshot, source composed") != NULL);
		ctl_result_finish(&r);

		struct png_image img;
		char err[128];
		kt_assertf(png_decode_file(path, &img, err, sizeof(err)) == 0, "%s: %s", path, err);
		kt_assert(strcmp(img.comment, "vscanout screenshot source: composed") == 0);
		kt_assert(img.width == WIDTH && img.height == HEIGHT);
		struct kt_image got = {WIDTH, HEIGHT, WIDTH * 4, DRM_FORMAT_XRGB8888, img.pixels};
		struct kt_image want, screen;
		expected(i, &want);
		snprintf(what, sizeof(what), "composed-%d", i + 1);
		kt_assertf(kt_compare(&got, &want, 0x00ffffff, what) == 0,
			   "the screenshot of %s is not what it shows", name);
		snprintf(what, sizeof(what), "screendump-%d", i + 1);
		kt_qmp_screendump(&qmp, outputs[i]->crtc->index, what, &screen);
		kt_assertf(kt_compare(&got, &screen, 0x00ffffff, what) == 0,
			   "the screenshot of %s differs from the host's screendump", name);
		kt_image_free(&screen);
		kt_image_free(&want);
		png_image_free(&img);
	}
	close(qmp.fd);
	kt_device_close(&dev);

	kt_assert_errno(write(go[1], "gg", 2) == 2);
	for (int i = 0; i < 2; i++) {
		wait_for(&children[i].exited, "a client's end");
		kt_assertf(WIFEXITED(children[i].status) && WEXITSTATUS(children[i].status) == 0,
			   "client %d: status 0x%x", i + 1, children[i].status);
		pipe_watch_finish(&reports[i]);
	}
	close(go[0]);
	close(go[1]);
	check_blank(outputs);
	daemon_destroy(daemon_);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
