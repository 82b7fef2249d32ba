// SPDX-License-Identifier: MIT
/*
 * A buffer whose layout the copy path cannot read is never shown as a
 * scrambled picture. On vkms, in this process (DRM master, for writeback),
 * a protocol client commits one udmabuf image described three ways:
 *
 *  1. LINEAR: presented;
 *  2. I915_FORMAT_MOD_X_TILED, which no vkms plane takes: answered
 *     "discarded", not "presented" with the copied flag; the screen shows
 *     the placeholder on every pixel (writeback) and `vscanoutctl status`
 *     names the layer's reason, "unreadable";
 *  3. DRM_FORMAT_MOD_INVALID (implicit, taken as linear): presented again.
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "config/config.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "util/log.h"

#define SOCKET_DIR  "/tmp/vscanout-tiled"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"
#define PLACEHOLDER 0x5a7b9cu
#define WIDTH       1024
#define HEIGHT      768

#ifndef I915_FORMAT_MOD_X_TILED
#define I915_FORMAT_MOD_X_TILED fourcc_mod_code(INTEL, 1)
#endif

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "placeholder = #5a7b9c\n"
				  "[vgpu a]\n";

static int report_fd, go_fd;

static struct vscanout_buffer_v1 *buffer_with(struct vscanout_vgpu_v1 *vgpu,
					      const struct client_image *ci, uint64_t modifier)
{
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	vscanout_buffer_params_v1_add(params, ci->u.fd, 0, 0, ci->img.stride,
				      (uint32_t)(modifier >> 32), (uint32_t)modifier);
	struct vscanout_buffer_v1 *buffer = vscanout_buffer_params_v1_create(
		params, (int32_t)ci->img.width, (int32_t)ci->img.height, DRM_FORMAT_XRGB8888, 0);
	vscanout_buffer_params_v1_destroy(params);
	return buffer;
}

static void client_run(int arg)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	client_roundtrip(&c);
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 9);
	struct vscanout_buffer_v1 *linear = buffer_with(vgpu, &ci, DRM_FORMAT_MOD_LINEAR);
	struct vscanout_buffer_v1 *tiled = buffer_with(vgpu, &ci, I915_FORMAT_MOD_X_TILED);
	struct vscanout_buffer_v1 *implicit = buffer_with(vgpu, &ci, DRM_FORMAT_MOD_INVALID);

	vscanout_vgpu_v1_set_primary(vgpu, linear, 0, 0);
	if (!client_commit(&c, vgpu, 1))
		client_fail("the LINEAR buffer was discarded");
	vscanout_vgpu_v1_set_primary(vgpu, tiled, 0, 0);
	if (client_commit(&c, vgpu, 2))
		client_fail("the X-tiled buffer was presented (flags 0x%x)", c.presented_flags);
	if (write(report_fd, "d", 1) != 1)
		client_fail("cannot report");
	char go;
	if (read(go_fd, &go, 1) != 1)
		client_fail("no go");
	vscanout_vgpu_v1_set_primary(vgpu, implicit, 0, 0);
	if (!client_commit(&c, vgpu, 3))
		client_fail("the buffer with an implicit modifier was discarded");
	printf("client: LINEAR presented, X_TILED discarded, INVALID presented (flags 0x%x)\n",
	       c.presented_flags);
	fflush(stdout);
	_exit(0);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_INFO);
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
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *output = display_find_output(daemon->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	struct tk_presents presents;
	tk_presents_init(&presents, output);
	tk_wait_presents(daemon->loop, &presents, 1);

	struct pipe_watch report;
	pipe_watch_init(&report, daemon->loop);
	report_fd = report.fds[1];
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	go_fd = go[0];
	struct child child;
	child_start(&child, daemon->loop, client_run, 0);
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!report.readable && !child.exited) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for the client");
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	}
	kt_assertf(!child.exited, "client status 0x%x before the X-tiled frame was checked",
		   child.status);
	kt_log("1. LINEAR presented; 2. X_TILED answered discarded");

	struct kt_image got;
	tk_capture(daemon->loop, output, &got);
	uint64_t bad = 0;
	for (uint32_t y = 0; y < got.height; y++)
		for (uint32_t x = 0; x < got.width; x++)
			bad += (*kt_pixel(&got, x, y) & 0xffffff) != PLACEHOLDER;
	kt_assertf(got.width == WIDTH && got.height == HEIGHT && bad == 0,
		   "%ux%u, %" PRIu64 " pixels are not the placeholder", got.width, got.height, bad);
	kt_image_free(&got);
	size_t size;
	char *json = control_status_json(daemon->control, &size);
	kt_assert(json != NULL);
	kt_assertf(strstr(json, "\"unreadable\"") != NULL, "the status names no reason:\n%s", json);
	free(json);
	kt_log("   the screen is the placeholder on every pixel; the status says \"unreadable\"");

	kt_assert_errno(write(go[1], "g", 1) == 1);
	deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!child.exited) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for the client's end");
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	}
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0, "client status 0x%x",
		   child.status);
	kt_log("3. INVALID (implicit) presented again");

	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	tk_presents_finish(&presents);
	daemon_destroy(daemon);
	config_finish(&config);
	kt_log("PASS");
	return 0;
}
