// SPDX-License-Identifier: MIT
/*
 * Live reload on a two-head virtio-gpu. The daemon's code runs in this
 * process with a configuration file; two forked VMMs show frames on vGPUs
 * a (Virtual-1) and c (shown nowhere at first).
 *
 *  1. The file changes Virtual-2 from vGPU b to c and SIGHUP arrives: c's
 *     frame appears on Virtual-2, and Virtual-1 is not touched — the same
 *     mode blob, no modeset, no commit (the daemon's counters), the same
 *     framebuffer on its CRTC (the kernel's view, drmModeGetCrtc). The
 *     daemon runs as with -v: the file's log-level = warning leaves it
 *     logging debug messages.
 *  2. A bad file and SIGHUP: refused with the reason kept, the running
 *     configuration (c on Virtual-2) stays; so with a file whose [daemon]
 *     seat is not the one the daemon was started for (--seat).
 *  3. vscanoutctl assign and reload.
 *  4. Virtual-2's monitor turned a quarter (rotation = 90): no modeset, the
 *     same mode blob, its output now 768x1024 upright with c's frame
 *     copied; Virtual-1 is not touched.
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
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "client.h"
#include "common.h"
#include "conf-daemon.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kmstest.h"
#include "protocol/private.h"

#define SOCKET_PATH "/tmp/vscanout-reload-test/vscanout-0"
#define CONF_PATH   "/tmp/vscanout-reload-test.conf"

static const char first_text[] = "[daemon]\n"
				 "socket = " SOCKET_PATH "\n"
				 "[output Virtual-1]\n"
				 "vgpu = a\n"
				 "mode = 1024x768\n"
				 "[output Virtual-2]\n"
				 "vgpu = b\n"
				 "mode = 1024x768\n"
				 "[vgpu a]\n[vgpu b]\n[vgpu c]\n";
static const char second_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "log-level = warning\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = c\n"
				  "mode = 1024x768\n"
				  "[vgpu a]\n[vgpu b]\n[vgpu c]\n";
static const char turned_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = c\n"
				  "mode = 1024x768\n"
				  "rotation = 90\n"
				  "[vgpu a]\n[vgpu b]\n[vgpu c]\n";
static const char bad_text[] = "[daemon]\n"
			       "socket = " SOCKET_PATH "\n"
			       "[output Virtual-1]\n"
			       "vgpu = a\n"
			       "colour = purple\n";

static struct daemon *dmn;

/* VMM 0 shows a 512x512 picture on vGPU a, VMM 1 a 256x256 one on c. */
static void vmm(int which)
{
	conf_daemon_vmm_show(SOCKET_PATH, which == 0 ? "a" : "c", which == 0 ? 512 : 256,
			     50 + (uint32_t)which);
}

static const char *ctl_path;

static void write_conf(const char *text)
{
	conf_daemon_write(CONF_PATH, "%s", text);
}

static void dispatch(void)
{
	conf_daemon_dispatch(dmn, 50);
}

static int ctl(const char *a1, const char *a2, const char *a3)
{
	return conf_daemon_ctl(dmn, ctl_path, SOCKET_PATH, a1, a2, a3);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	write_conf(first_text);
	dmn = conf_daemon_start(CONF_PATH);
	struct kms_output *v1 = display_find_output(dmn->display_manager, "Virtual-1");
	struct kms_output *v2 = display_find_output(dmn->display_manager, "Virtual-2");
	kt_assert(v1 != NULL && v2 != NULL);

	struct child a, c;
	child_start(&a, dmn->loop, vmm, 0);
	child_start(&c, dmn->loop, vmm, 1);
	conf_daemon_wait_shown(dmn, v1, 512, "a's frame on Virtual-1");
	/* c is attached but shown nowhere; let both settle. */
	while (wl_list_length(&dmn->server->vgpus) < 2)
		dispatch();
	kt_assert(conf_daemon_shown(v2) == NULL);

	/* 1. Virtual-2 goes to c; Virtual-1 untouched. */
	uint64_t commits = v1->stats.commits, modesets = v1->stats.modesets;
	uint32_t blob = v1->mode_blob;
	drmModeCrtc *before = drmModeGetCrtc(v1->device->fd, v1->crtc->id);
	kt_assert(before != NULL);
	write_conf(second_text);
	/* As vscanoutd -v: the file's log-level = warning does not undo -v. */
	dmn->verbosity = 1;
	log_init(LOG_LEVEL_DEBUG);
	conf_daemon_reload(dmn);
	kt_assertf(!dmn->reload_failed, "reload refused: %s", dmn->reload_message);
	kt_assertf(log_get_level() == LOG_LEVEL_DEBUG, "the reload lost -v: level %s",
		   log_level_name(log_get_level()));
	dmn->verbosity = 0;
	log_init(LOG_LEVEL_INFO);
	conf_daemon_wait_shown(dmn, v2, 256, "c's frame on Virtual-2 after the reload");
	for (int i = 0; i < 10; i++)
		dispatch();
	drmModeCrtc *after = drmModeGetCrtc(v1->device->fd, v1->crtc->id);
	kt_assert(after != NULL);
	printf("Virtual-1: commits %llu -> %llu, modesets %llu -> %llu, mode blob %u -> %u, "
	       "fb %u -> %u\n",
	       (unsigned long long)commits, (unsigned long long)v1->stats.commits,
	       (unsigned long long)modesets, (unsigned long long)v1->stats.modesets, blob,
	       v1->mode_blob, before->buffer_id, after->buffer_id);
	kt_assertf(v1->stats.commits == commits && v1->stats.modesets == modesets &&
			   v1->mode_blob == blob && after->buffer_id == before->buffer_id &&
			   after->mode_valid && after->mode.hdisplay == 1024,
		   "the reload touched Virtual-1");
	drmModeFreeCrtc(before);
	drmModeFreeCrtc(after);
	kt_assert(conf_daemon_shown(v1) != NULL && conf_daemon_shown(v1)->width == 512);

	/* 2. A bad file: refused, the running configuration kept. */
	write_conf(bad_text);
	conf_daemon_reload(dmn);
	printf("bad reload: %s\n", dmn->reload_message);
	kt_assert(dmn->reload_failed && strstr(dmn->reload_message, CONF_PATH) != NULL);
	const struct config_output *co = config_find_output(&dmn->config, "Virtual-2");
	kt_assert(co != NULL && config_output_vgpu_index(co, "c") == 0);
	for (int i = 0; i < 10; i++)
		dispatch();
	kt_assert(conf_daemon_shown(v2) != NULL && conf_daemon_shown(v2)->width == 256);
	kt_assert(conf_daemon_shown(v1) != NULL && conf_daemon_shown(v1)->width == 512);

	/* Started for a seat (--seat): a file naming another seat is refused too. */
	dmn->seat_option = "seat9";
	write_conf("[daemon]\nseat = seat7\nsocket = " SOCKET_PATH "\n");
	conf_daemon_reload(dmn);
	printf("reload naming another seat: %s\n", dmn->reload_message);
	kt_assert(dmn->reload_failed);
	co = config_find_output(&dmn->config, "Virtual-2");
	kt_assert(co != NULL && config_output_vgpu_index(co, "c") == 0);
	dmn->seat_option = NULL;
	write_conf(bad_text);

	/* The children inherited the daemon's blocked signals: SIGKILL. */
	/* 3. Assign and reload through vscanoutctl. */
	commits = v1->stats.commits;
	kt_assert(ctl("assign", "a", "Virtual-2") == 0);
	conf_daemon_wait_shown(dmn, v2, 512, "a's frame on Virtual-2 after assign");
	kt_assert(v1->stats.commits == commits && v1->stats.modesets == modesets);
	kt_assert(ctl("assign", "nobody", "Virtual-2") == 1);
	kt_assert(ctl("reload", NULL, NULL) == 1); /* the file is still the bad one */
	write_conf(second_text);
	kt_assert(ctl("reload", NULL, NULL) == 0);
	conf_daemon_wait_shown(dmn, v2, 256, "c's frame back on Virtual-2 after the reload");
	kt_assert(v1->stats.commits == commits && v1->stats.modesets == modesets);
	printf("assign and reload through vscanoutctl: ok\n");

	/* 4. Virtual-2 turned: no modeset there, nothing on Virtual-1. */
	uint64_t v2_modesets = v2->stats.modesets, v2_commits = v2->stats.commits;
	uint32_t v2_blob = v2->mode_blob;
	write_conf(turned_text);
	conf_daemon_reload(dmn);
	kt_assertf(!dmn->reload_failed, "reload refused: %s", dmn->reload_message);
	uint32_t w, h;
	kms_output_get_size(v2, &w, &h);
	kt_assert(w == 768 && h == 1024);
	while (v2->stats.commits == v2_commits || v2->flip_pending)
		dispatch();
	struct kms_layer_state st = {0};
	struct kms_layer *layer;
	wl_list_for_each (layer, &v2->layers, link) {
		if (layer->buffer != NULL)
			kms_layer_get_state(layer, &st);
	}
	printf("Virtual-2 turned: %ux%u, modesets %llu -> %llu, mode blob %u -> %u, miss 0x%x\n", w,
	       h, (unsigned long long)v2_modesets, (unsigned long long)v2->stats.modesets, v2_blob,
	       v2->mode_blob, st.miss);
	kt_assert(v2->stats.modesets == v2_modesets && v2->mode_blob == v2_blob);
	/* Copied: virtio-gpu cannot import c's buffer, nor could its planes turn it. */
	kt_assert(st.visible && st.copied);
	kt_assert(v1->stats.commits == commits && v1->stats.modesets == modesets);

	kill(a.pid, SIGKILL);
	kill(c.pid, SIGKILL);
	while (!a.exited || !c.exited)
		dispatch();
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("e2e-reload: ok\n");
	return 0;
}
