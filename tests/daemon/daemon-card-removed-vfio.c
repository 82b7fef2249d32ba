// SPDX-License-Identifier: MIT
/*
 * A card removed while vGPUs use it, with udev running, the daemon's code
 * in this process. Meant to run under AddressSanitizer as well (a build
 * with -Db_sanitize=address): listeners of the outputs' signals (the vGPU
 * moving its clock, the VFIO source following it) unlink and add listeners
 * while those signals are emitted.
 *
 * On a three-head virtio-gpu, vGPU a is shown on Virtual-1 and Virtual-2
 * from an mbochs mdev handed over by a VMM (a forked child, over the
 * protocol), vGPU b on Virtual-3 by a protocol client with a udmabuf. Once
 * both are on screen the card is unbound from its driver: the udev remove
 * event reaches the daemon, which tears the card down while both vGPUs
 * hold it. Then the VMM releases its device and the client's next commit
 * is answered "discarded"; both exit cleanly and the daemon shuts down.
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "util/log.h"
#include "vfio-guest.h"

#define SOCKET_DIR  "/tmp/vscanout-card-removed"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "[output Virtual-2]\n"
				  "vgpu = a\n"
				  "[output Virtual-3]\n"
				  "vgpu = b\n"
				  "[vgpu a]\n"
				  "[vgpu b]\n";

static int report_fds[2], go_fds[2];

static void wait_go(int i)
{
	char go;
	if (read(go_fds[i], &go, 1) != 1)
		client_fail("no go");
}

static void report(int i)
{
	if (write(report_fds[i], "r", 1) != 1)
		client_fail("cannot report");
}

/* The VMM of vGPU a: an mbochs mdev at 1024x768, handed over, released at the end. */
static void child_vmm(int arg)
{
	struct vg_guest *guest = vg_guest_create("mbochs", "mbochs-medium");
	if (guest == NULL || vg_vram_map(guest) != 0)
		client_fail("mbochs mdev");
	struct vg_bochs_mode mode = {
		.width = 1024, .height = 768, .bpp = 32, .virt_width = 1024, .virt_height = 768};
	struct kt_image img = {1024, 768, 4096, DRM_FORMAT_XRGB8888, guest->vram};
	kt_fill_pattern(&img, 3);
	if (vg_bochs_set_mode(guest, &mode) != 0)
		client_fail("set mode");
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	int fd = dup(guest->device_fd);
	if (fd < 0)
		client_fail("dup");
	vscanout_vgpu_v1_set_vfio_device(vgpu, fd);
	close(fd);
	client_roundtrip(&c);
	if (c.vfio_status != VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF)
		client_fail("vfio_status %d (%s)", c.vfio_status, c.vfio_message);
	report(0);
	wait_go(0);
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

/* The client of vGPU b: one frame presented, then one commit after the card went. */
static void child_client(int arg)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "b");
	client_roundtrip(&c);
	struct client_image ci;
	client_image_create(&ci, 640, 480, 4);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	if (!client_commit(&c, vgpu, 1))
		client_fail("the first commit was discarded");
	report(1);
	wait_go(1);
	if (client_commit(&c, vgpu, 2))
		client_fail("presented on a card that is gone");
	_exit(0);
}

static void dispatch(struct daemon *daemon)
{
	wl_display_flush_clients(daemon->display);
	kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
}

static void wait_for(struct daemon *daemon, const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		dispatch(daemon);
	}
}

static void child_done(struct daemon *daemon, struct child *child, const char *what)
{
	wait_for(daemon, &child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0, "%s: status 0x%x",
		   what, child->status);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_INFO);
	if (!vg_mdev_parent_present("mbochs"))
		kt_skip("no mbochs mdev parent");
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	char path[128], virtio[64] = "";
	const char *card = strrchr(dev.path, '/') + 1;
	for (int head = 2; head <= 3; head++) {
		snprintf(path, sizeof(path), "/sys/class/drm/%s-Virtual-%d/status", card, head);
		kt_write_file(path, "on");
	}
	snprintf(path, sizeof(path), "/sys/class/drm/%s/device", card);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls %s | grep '^virtio[0-9]'", path);
	FILE *p = popen(cmd, "r");
	kt_assert(p != NULL && fgets(virtio, sizeof(virtio), p) != NULL);
	pclose(p);
	virtio[strcspn(virtio, "\n")] = '\0';
	kt_device_close(&dev);

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *outputs[3];
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "Virtual-%d", i + 1);
		outputs[i] = display_find_output(daemon->display_manager, name);
		kt_assertf(outputs[i] != NULL, "no output %s", name);
	}

	struct pipe_watch reports[2];
	struct child children[2];
	int go_write[2];
	for (int i = 0; i < 2; i++) {
		pipe_watch_init(&reports[i], daemon->loop);
		report_fds[i] = reports[i].fds[1];
		int go[2];
		kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
		go_fds[i] = go[0];
		go_write[i] = go[1];
	}
	child_start(&children[0], daemon->loop, child_vmm, 0);
	wait_for(daemon, &reports[0].readable, "the VMM's hand-over");
	child_start(&children[1], daemon->loop, child_client, 0);
	wait_for(daemon, &reports[1].readable, "the client's first frame");
	/* The guest's screen is static: its frame was shown once (copied: virtio-gpu). */
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (outputs[0]->stats.frames_copied + outputs[0]->stats.frames_direct == 0 ||
	       outputs[2]->stats.frames_copied + outputs[2]->stats.frames_direct == 0) {
		kt_assertf(kt_now_ns() < deadline, "the vGPUs' frames never reached the screens");
		dispatch(daemon);
	}
	kt_log("1. vGPU a (VFIO) on Virtual-1 and -2, vGPU b (client) on Virtual-3");

	kt_write_file("/sys/bus/virtio/drivers/virtio_gpu/unbind", virtio);
	deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (display_find_output(daemon->display_manager, "Virtual-1") != NULL) {
		kt_assertf(kt_now_ns() < deadline, "the card's removal never came");
		dispatch(daemon);
	}
	kt_log("2. %s unbound: the daemon dropped the card", virtio);
	for (int i = 0; i < 2; i++)
		kt_assert_errno(write(go_write[i], "g", 1) == 1);
	child_done(daemon, &children[0], "the VMM");
	child_done(daemon, &children[1], "the client");
	kt_log("3. the VMM released its device, the client's commit was discarded");

	for (int i = 0; i < 2; i++) {
		pipe_watch_finish(&reports[i]);
		close(go_fds[i]);
		close(go_write[i]);
	}
	daemon_destroy(daemon);
	config_finish(&config);
	kt_write_file("/sys/bus/virtio/drivers/virtio_gpu/bind", virtio);
	kt_log("PASS");
	return 0;
}
