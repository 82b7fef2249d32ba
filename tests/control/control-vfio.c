// SPDX-License-Identifier: MIT
/*
 * The control interface with a VFIO source, on vkms: a forked child plays
 * the VMM and guest of an mbochs mdev (1024x768 pattern in VRAM) and hands
 * the device to vGPU "a". vscanoutctl (argv[1]) then reports the vGPU's
 * source as "dmabuf" with the source's counters (polls, a presented
 * frame), the guest plane direct on a hardware plane, and its writeback
 * screenshot is exactly the guest's picture.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
#include "kmstest.h"
#include "png-decode.h"
#include "vfio-guest.h"

#define SOCKET_PATH "/tmp/vscanout-control-vfio-0"
#define PNG_PATH    "/tmp/vscanout-control-vfio.png"
#define WIDTH       1024
#define HEIGHT      768
#define SEED        31

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "[vgpu a]\n";

static struct daemon *daemon_;
static int report_fd, go_fd;

static void wait_for(const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}
}

/* The VMM and guest: a 1024x768 pattern shown through the device. */
static void run_vmm(int arg)
{
	child_die_with_parent();
	struct vg_guest *guest = vg_guest_create("mbochs", "mbochs-medium");
	if (guest == NULL || vg_vram_map(guest) != 0)
		client_fail("mbochs mdev: %s", strerror(errno));
	struct vg_bochs_mode mode = {.width = WIDTH,
				     .height = HEIGHT,
				     .bpp = 32,
				     .virt_width = WIDTH,
				     .virt_height = HEIGHT};
	struct kt_image img = {WIDTH, HEIGHT, WIDTH * 4, DRM_FORMAT_XRGB8888,
			       (char *)guest->vram + vg_bochs_offset(&mode)};
	kt_fill_pattern(&img, SEED);
	if (vg_bochs_set_mode(guest, &mode) != 0)
		client_fail("set mode");

	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	int fd = dup(guest->device_fd);
	if (fd < 0)
		client_fail("dup: %s", strerror(errno));
	vscanout_vgpu_v1_set_vfio_device(vgpu, fd);
	close(fd);
	client_roundtrip(&c);
	if (c.vfio_status != VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF)
		client_fail("vfio_status %d (%s), want dmabuf", c.vfio_status, c.vfio_message);
	char byte;
	if (write(report_fd, "v", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes");
	vscanout_vgpu_v1_release_vfio_device(vgpu);
	client_roundtrip(&c);
	if (c.vfio_status != VSCANOUT_VGPU_V1_VFIO_STATUS_RELEASED)
		client_fail("vfio_status %d after release", c.vfio_status);
	vscanout_vgpu_v1_destroy(vgpu);
	client_roundtrip(&c);
	wl_display_disconnect(c.display);
	vg_guest_destroy(guest);
	_exit(0);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	const char *ctl = argv[1];
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_device_close(&vkms);
	if (!vg_mdev_parent_present("mbochs"))
		kt_skip("no mbochs");

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
	struct kms_output *output = display_find_output(daemon_->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	struct tk_presents presents;
	tk_presents_init(&presents, output);

	struct pipe_watch report;
	pipe_watch_init(&report, daemon_->loop);
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	report_fd = report.fds[1];
	go_fd = go[0];
	struct child vmm;
	child_start(&vmm, daemon_->loop, run_vmm, 0);
	wait_for(&report.readable, "the device handed over");
	/* The guest's frame on screen, and a few polls more. */
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (presents.last_buffer == NULL) {
		kt_assertf(kt_now_ns() < deadline, "the guest's frame never came");
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}
	uint64_t until = kt_now_ns() + 200000000u;
	while (kt_now_ns() < until)
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 50) >= 0);

	struct json_value *st = ctl_status(daemon_->display, ctl, SOCKET_PATH);
	const struct json_value *a = status_vgpu(st, "a");
	kt_assert(a != NULL && json_get_bool(a, "attached", false));
	kt_assertf(strcmp(json_get_string(a, "source"), "dmabuf") == 0, "source %s",
		   json_get_string(a, "source"));
	const struct json_value *vfio = json_get(a, "vfio");
	kt_assert(vfio != NULL && vfio->type == JSON_OBJECT);
	kt_assert(json_get_number(vfio, "polls", 0) >= 2);
	kt_assert(json_get_number(vfio, "imports", 0) >= 1);
	kt_assert(json_get_number(vfio, "frames_presented", 0) >= 1);
	const struct json_value *primary = status_layer(status_output(st, "Virtual-1"), 1);
	kt_assert(json_get_bool(primary, "direct", false));
	kt_assert(json_get_number(primary, "width", 0) == WIDTH);
	json_value_free(st);

	struct ctl_result r;
	ctl_run(daemon_->display, &r, 0, 0, ctl, "--socket", SOCKET_PATH, "status", NULL);
	kt_assert(r.exit_code == 0);
	kt_assert(strstr(r.out, ", source dmabuf\n") != NULL);
	kt_assert(strstr(r.out, "  vfio: ") != NULL);
	ctl_result_finish(&r);

	ctl_run(daemon_->display, &r, 0, 0, ctl, "--socket", SOCKET_PATH, "screenshot", "Virtual-1",
		PNG_PATH, NULL);
	kt_assert(r.exit_code == 0 && strstr(r.out, "source writeback") != NULL);
	ctl_result_finish(&r);
	struct png_image img;
	char err[128];
	kt_assertf(png_decode_file(PNG_PATH, &img, err, sizeof(err)) == 0, "%s", err);
	struct kt_image got = {WIDTH, HEIGHT, WIDTH * 4, DRM_FORMAT_XRGB8888, img.pixels};
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, SEED);
	kt_assertf(kt_compare(&got, &want, 0x00ffffff, "guest") == 0,
		   "the screenshot is not the guest's picture");
	kt_image_free(&want);
	png_image_free(&img);

	kt_assert_errno(write(go[1], "g", 1) == 1);
	wait_for(&vmm.exited, "the VMM");
	kt_assertf(WIFEXITED(vmm.status) && WEXITSTATUS(vmm.status) == 0, "VMM status 0x%x",
		   vmm.status);
	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	tk_presents_finish(&presents);
	daemon_destroy(daemon_);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
