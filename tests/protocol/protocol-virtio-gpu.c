// SPDX-License-Identifier: MIT
/*
 * Two vGPUs on the two heads of a virtio-gpu, each attached by a client of
 * its own uid (1000 and 1001, forked children that drop root after making
 * their udmabuf): each head shows its client's picture exactly (QMP
 * screendumps from the host), presented says copied (virtio-gpu imports no
 * foreign dma-buf), and neither client may attach to the other's vGPU.
 * Then the card is unbound under the attached clients: the daemon lets go
 * of its outputs, keeps serving the clients (who are still refused the other
 * vGPU) and detaches them cleanly. Run with MALLOC_PERTURB_ set, so that a
 * use of the freed outputs would not go unnoticed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kmstest.h"
#include "qmp.h"
#include "util/log.h"

#define SOCKET_PATH "/tmp/vscanout-protocol-virtio-0"
#define WIDTH       1024
#define HEIGHT      768
#define GID         1000
#define TIMEOUT_MS  20000

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = head-1\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = head-2\n"
				  "mode = 1024x768\n"
				  "[vgpu head-1]\n"
				  "allow-uid = 1000\n"
				  "[vgpu head-2]\n"
				  "allow-uid = 1001\n";

static const char *const vgpus[2] = {"head-1", "head-2"};
static const uid_t uids[2] = {1000, 1001};
static int report_fds[2], go_fds[2];

/* Client i: its picture on its own vGPU, then refused the other one. */
static void run_client(int i)
{
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 100 + (uint32_t)i);
	if (setgroups(0, NULL) != 0 || setgid(GID) != 0 || setuid(uids[i]) != 0)
		client_fail("dropping root: %s", strerror(errno));

	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, vgpus[i]);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	if (!(c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_COPIED) ||
	    (c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY))
		client_fail("presented flags 0x%x, want copied", c.presented_flags);
	printf("client uid %u: serial %u presented with flags 0x%x\n", (unsigned int)uids[i],
	       serial, c.presented_flags);
	fflush(stdout);
	char byte = 'p';
	if (write(report_fds[i], &byte, 1) != 1 || read(go_fds[i], &byte, 1) != 1)
		client_fail("pipes: %s", strerror(errno));

	client_attach(&c, vgpus[1 - i]);
	client_expect_error(&c, &vscanout_manager_v1_interface,
			    VSCANOUT_MANAGER_V1_ERROR_NOT_PERMITTED, vgpus[1 - i]);
}

static void wait_for(struct daemon *daemon, const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	}
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	unsigned int card;
	kt_assert(sscanf(strrchr(dev.path, '/'), "/card%u", &card) == 1);
	kt_connector_force(&dev, "Virtual-2", "on");
	/* The daemon must be the DRM master: this fd comes back after it. */
	kt_device_close(&dev);

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, GID) == 0);
	struct kms_output *outputs[2] = {
		display_find_output(daemon->display_manager, "Virtual-1"),
		display_find_output(daemon->display_manager, "Virtual-2"),
	};
	kt_assertf(outputs[0] && outputs[1], "want Virtual-1 and Virtual-2 (--virtio-gpu 2)");

	struct pipe_watch reports[2];
	struct child children[2];
	int go[2][2];
	for (int i = 0; i < 2; i++) {
		pipe_watch_init(&reports[i], daemon->loop);
		kt_assert_errno(pipe2(go[i], O_CLOEXEC) == 0);
		report_fds[i] = reports[i].fds[1];
		go_fds[i] = go[i][0];
	}
	for (int i = 0; i < 2; i++)
		child_start(&children[i], daemon->loop, run_client, i);
	for (int i = 0; i < 2; i++)
		wait_for(daemon, &reports[i].readable, "a client's first presented frame");

	kt_host_sync(&dev);
	struct kt_qmp qmp;
	kt_qmp_open(&qmp);
	kt_qmp_execute(&qmp, "qmp_capabilities", NULL);
	for (int i = 0; i < 2; i++) {
		struct kt_image got, want;
		char what[32];
		snprintf(what, sizeof(what), "head-%d", i + 1);
		kt_assert(outputs[i]->crtc != NULL);
		kt_qmp_screendump(&qmp, outputs[i]->crtc->index, what, &got);
		kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
		kt_fill_pattern(&want, 100 + (uint32_t)i);
		kt_assertf(got.width == WIDTH && got.height == HEIGHT, "%s: screendump %ux%u", what,
			   got.width, got.height);
		kt_assertf(kt_compare(&got, &want, 0x00ffffff, what) == 0,
			   "%s does not show its client's picture", what);
		kt_image_free(&got);
		kt_image_free(&want);
	}

	close(qmp.fd);
	kt_device_close(&dev);

	/* The card goes away while both clients are attached. */
	char link[300], target[300], unbind[400];
	snprintf(link, sizeof(link), "/sys/class/drm/card%u/device", card);
	ssize_t len = readlink(link, target, sizeof(target) - 1);
	kt_assert_errno(len > 0);
	target[len] = '\0';
	snprintf(unbind, sizeof(unbind), "%s/driver/unbind", link);
	kt_write_file(unbind, strrchr(target, '/') + 1);
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	while (!wl_list_empty(&daemon->display_manager->devices)) {
		kt_assertf(kt_now_ns() < deadline, "the daemon kept the unbound card");
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	}
	printf("card unbound under two attached clients: the daemon let go of it\n");

	for (int i = 0; i < 2; i++)
		kt_assert_errno(write(go[i][1], "g", 1) == 1);
	for (int i = 0; i < 2; i++) {
		wait_for(daemon, &children[i].exited, "a client's end");
		kt_assertf(WIFEXITED(children[i].status) && WEXITSTATUS(children[i].status) == 0,
			   "client %d: status 0x%x", i + 1, children[i].status);
		pipe_watch_finish(&reports[i]);
		close(go[i][0]);
		close(go[i][1]);
	}
	daemon_destroy(daemon);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
