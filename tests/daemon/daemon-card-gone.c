// SPDX-License-Identifier: MIT
/*
 * A virtio-gpu card that goes away under the daemon's code, without udev
 * (nothing tells the daemon; the test drives what it would do):
 *
 *  1. nothing made on a card reaches another one: two buffers of the card
 *     are shown zero-copy in turn, so the first keeps its framebuffer in
 *     its cache; the card is torn down as on removal, unbound from its
 *     driver and bound again, and comes back under the same fd number with
 *     decoy framebuffers made until one has the old framebuffer's id. The
 *     first buffer shown there is copied (virtio-gpu takes no foreign
 *     dma-buf), every FB_ID on the new card's planes is one the KMS core
 *     made on that card (kernel state), and dropping the buffer removes
 *     nothing there;
 *  2. a commit the kernel refuses is answered: a protocol client's frame is
 *     presented, the card is unbound (every ioctl on it now fails), and the
 *     client's next commit is answered "discarded" instead of never; the
 *     output and `vscanoutctl status` count the failed frame.
 */
#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "client.h"
#include "common.h"
#include "config/config.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/device.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "util/log.h"

/* Buffers are as large as the mode: virtio-gpu's primary plane neither scales nor moves. */
static uint32_t W, H;

#define SOCKET_DIR  "/tmp/vscanout-card-gone"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"

/* The virtio device under the card's PCI device, "virtio1": what the driver binds. */
static void virtio_name(const struct kt_device *dev, char *name, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/drm/%s/device", strrchr(dev->path, '/') + 1);
	DIR *dir = opendir(path);
	kt_assert_errno(dir != NULL);
	struct dirent *e;
	name[0] = '\0';
	while ((e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, "virtio", 6) == 0 && strlen(e->d_name) > 6)
			snprintf(name, size, "%s", e->d_name);
	}
	closedir(dir);
	kt_assertf(name[0] != '\0', "no virtio device under %s", path);
}

static void driver_bind(const char *name, bool bind)
{
	kt_write_file(bind ? "/sys/bus/virtio/drivers/virtio_gpu/bind"
			   : "/sys/bus/virtio/drivers/virtio_gpu/unbind",
		      name);
}

/* A W×H XRGB8888 dumb buffer of dev filled with colour, as a buffer of its dma-buf. */
static struct buffer *dumb_buffer(struct kt_device *dev, uint32_t colour)
{
	struct kt_buffer kb = {0};
	kt_assert_ok(kt_dumb_create(dev, &kb, W, H, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&kb.img, 0, 0, W, H, colour);
	int fd = -1;
	kt_assert_errno(drmPrimeHandleToFD(dev->fd, kb.handle, DRM_CLOEXEC, &fd) == 0);
	uint32_t stride = kb.img.stride;
	/* The dma-buf keeps the memory. */
	kt_buffer_destroy(dev, &kb);
	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = W;
	a.height = H;
	a.fourcc = DRM_FORMAT_XRGB8888;
	a.modifier = DRM_FORMAT_MOD_LINEAR;
	a.n_planes = 1;
	a.fd[0] = fd;
	a.stride[0] = stride;
	struct buffer *buffer = buffer_create_dmabuf(&a);
	kt_assert(buffer != NULL);
	return buffer;
}

static void show(struct wl_event_loop *loop, struct tk_presents *presents, struct kms_layer *layer,
		 struct buffer *buffer)
{
	uint64_t n = presents->count;
	kms_layer_set_buffer(layer, buffer, NULL, NULL);
	tk_wait_presents(loop, presents, n + 1);
}

static bool made_here(struct kms_device *device, uint32_t fb_id)
{
	struct kms_fb *fb;
	wl_list_for_each (fb, &device->fbs.fbs, link) {
		if (fb->fb_id == fb_id)
			return true;
	}
	return false;
}

/* Every FB_ID on the device's planes is 0 or a framebuffer the KMS core made there. */
static void check_planes(struct kms_device *device, const char *what)
{
	drmModePlaneRes *res = drmModeGetPlaneResources(device->fd);
	kt_assert(res != NULL);
	unsigned int on = 0;
	for (uint32_t i = 0; i < res->count_planes; i++) {
		drmModePlane *plane = drmModeGetPlane(device->fd, res->planes[i]);
		kt_assert(plane != NULL);
		if (plane->fb_id != 0) {
			on++;
			kt_assertf(made_here(device, plane->fb_id),
				   "%s: plane %u shows framebuffer %u, not one of this card's",
				   what, plane->plane_id, plane->fb_id);
			drmModeFB2 *fb = drmModeGetFB2(device->fd, plane->fb_id);
			kt_assertf(fb != NULL, "%s: plane %u: framebuffer %u is gone", what,
				   plane->plane_id, plane->fb_id);
			drmModeFreeFB2(fb);
		}
		drmModeFreePlane(plane);
	}
	drmModeFreePlaneResources(res);
	kt_assertf(on > 0, "%s: no plane is on", what);
}

static void part_swap(void)
{
	struct kt_device dev;
	struct wl_event_loop *loop;
	struct kms_device *device;
	struct tk_presents presents;
	struct kms_output *output =
		tk_light_virtual1(&dev, "virtio_gpu", NULL, &loop, &device, &presents);
	char name[64];
	virtio_name(&dev, name, sizeof(name));
	kms_output_get_mode_size(output, &W, &H);
	struct kms_layer *layer = kms_output_create_layer(output, 1);
	kt_assert(layer != NULL);
	struct buffer *a = dumb_buffer(&dev, 0xc03020);
	struct buffer *b = dumb_buffer(&dev, 0x2030c0);
	show(loop, &presents, layer, a);
	kt_assertf(layer->state.direct, "a buffer of the card itself was not scanned out");
	show(loop, &presents, layer, b);
	kt_assert(layer->state.direct);
	struct buffer_import *import = buffer_get_import(a, &device->fbs);
	kt_assert(import != NULL && import->fb != NULL);
	uint32_t stale = import->fb->fb_id;
	int old_fd = dev.fd;
	kt_log("1. %s (%s, fd %d): buffer a cached framebuffer %u, b on screen", dev.path, name,
	       old_fd, stale);

	/* What the daemon does when the card is removed, then the card goes and comes back. */
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	kt_assertf(wl_list_empty(&a->imports),
		   "buffer a still caches a framebuffer of the removed card");
	kt_device_close(&dev);
	driver_bind(name, false);
	driver_bind(name, true);
	kt_assert_ok(kt_device_open(&dev, "virtio_gpu"));
	kt_assertf(dev.fd == old_fd, "the new card got fd %d, not %d", dev.fd, old_fd);
	device = kms_device_create(loop, dev.fd, "virtio_gpu");
	kt_assert(device != NULL);
	/*
	 * Connector numbers are global: while the old card lives on (the
	 * buffers' dma-bufs hold it), its connector keeps Virtual-1.
	 */
	kt_assert(!wl_list_empty(&device->outputs));
	output = wl_container_of(device->outputs.next, output, link);
	tk_presents_init(&presents, output);
	kt_assert_ok(kms_output_enable(output, NULL));
	tk_wait_presents(loop, &presents, 1);

	/* Decoys: framebuffers of the new card, one of them under the old id if it can be. */
	struct kt_buffer decoys[16] = {0};
	size_t n_decoys = 0;
	bool collided = false;
	while (n_decoys < 16) {
		struct kt_buffer *d = &decoys[n_decoys++];
		kt_assert_ok(kt_dumb_create(&dev, d, W, H, DRM_FORMAT_XRGB8888));
		kt_fill_rect(&d->img, 0, 0, W, H, 0x00ff00);
		collided = d->fb_id == stale;
		if (d->fb_id >= stale)
			break;
	}
	kt_log("   %s is back as %s under fd %d; %zu decoys, %s", name, dev.path, dev.fd, n_decoys,
	       collided ? "one under the old id" : "none under the old id");

	layer = kms_output_create_layer(output, 1);
	kt_assert(layer != NULL);
	show(loop, &presents, layer, a);
	struct kms_layer_state st;
	kms_layer_get_state(layer, &st);
	kt_assertf(!st.direct && st.copied,
		   "buffer a went out %s on the new card (plane %u): a stale framebuffer",
		   st.direct ? "direct" : "not copied", st.plane_id);
	import = buffer_get_import(a, &device->fbs);
	kt_assert(import != NULL && import->fb == NULL && import->failure == KMS_FB_FAIL_IMPORT);
	check_planes(device, "buffer a on the new card");
	kt_log("2. buffer a on the new card: copied (%s), every plane shows the card's own",
	       import->message);

	/* The buffer goes: nothing of the new card may go with it. */
	show(loop, &presents, layer, b);
	buffer_unref(a);
	show(loop, &presents, layer, NULL);
	show(loop, &presents, layer, b);
	check_planes(device, "after buffer a was freed");
	for (size_t i = 0; i < n_decoys; i++) {
		drmModeFB2 *fb = drmModeGetFB2(dev.fd, decoys[i].fb_id);
		kt_assertf(fb != NULL, "decoy framebuffer %u was removed", decoys[i].fb_id);
		drmModeFreeFB2(fb);
		kt_buffer_destroy(&dev, &decoys[i]);
	}
	kt_log("3. buffer a freed: every framebuffer of the new card is still there");

	kms_layer_destroy(layer);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	buffer_unref(b);
	kt_device_close(&dev);
	wl_event_loop_destroy(loop);
}

/* ---- 2. a refused commit is answered -------------------------------- */

/* The name of the card's first connector, "Virtual-2". */
static void connector_name(const struct kt_device *dev, char *name, size_t size)
{
	drmModeRes *res = drmModeGetResources(dev->fd);
	kt_assert(res != NULL && res->count_connectors > 0);
	drmModeConnector *conn = drmModeGetConnector(dev->fd, res->connectors[0]);
	kt_assert(conn != NULL);
	snprintf(name, size, "%s-%u", drmModeGetConnectorTypeName(conn->connector_type),
		 conn->connector_type_id);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
}

static int report_fd, go_fd;

static void client_run(int arg)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	client_roundtrip(&c);
	struct client_image ci;
	client_image_create(&ci, W, H, 5);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	if (!client_commit(&c, vgpu, 1))
		client_fail("the first commit was discarded");
	if (write(report_fd, "p", 1) != 1)
		client_fail("cannot report");
	char go;
	if (read(go_fd, &go, 1) != 1)
		client_fail("no go");
	/* The card is gone now: an answer must come all the same. */
	if (client_commit(&c, vgpu, 2))
		client_fail("serial 2 presented on a card that is gone");
	printf("client: serial 2 discarded\n");
	fflush(stdout);
	_exit(0);
}

static void dispatch_until(struct daemon *daemon, const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(daemon->display);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
	}
}

/* The number after "key": in the status document. */
static uint64_t status_counter(struct daemon *daemon, const char *key)
{
	size_t size;
	char *json = control_status_json(daemon->control, &size);
	kt_assert(json != NULL);
	char quoted[64];
	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	const char *at = strstr(json, quoted);
	kt_assertf(at != NULL, "no %s in the status", key);
	uint64_t value = strtoull(at + strlen(quoted), NULL, 10);
	free(json);
	return value;
}

static void part_refused(void)
{
	struct kt_device dev;
	kt_assert_ok(kt_device_open(&dev, "virtio_gpu"));
	char name[64], connector[64], config_text[256];
	virtio_name(&dev, name, sizeof(name));
	connector_name(&dev, connector, sizeof(connector));
	/* The daemon must be the one to become DRM master. */
	kt_device_close(&dev);

	snprintf(config_text, sizeof(config_text),
		 "[daemon]\nsocket = %s\n[output %s]\nvgpu = a\n[vgpu a]\n", SOCKET_PATH,
		 connector);
	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *output = display_find_output(daemon->display_manager, connector);
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
	dispatch_until(daemon, &report.readable, "the client's first frame");
	uint64_t failed = output->stats.frames_failed, refused = output->stats.commit_failures;
	kt_assert(status_counter(daemon, "frames_failed") == failed);
	kt_log("4. the client's first frame is presented");

	driver_bind(name, false);
	kt_assert_errno(write(go[1], "g", 1) == 1);
	dispatch_until(daemon, &child.exited, "the client's answer");
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0, "client status 0x%x",
		   child.status);
	kt_assertf(output->stats.frames_failed > failed,
		   "no failed frame counted (%" PRIu64 " refused commits)",
		   output->stats.commit_failures - refused);
	uint64_t in_status = status_counter(daemon, "frames_failed");
	kt_assertf(in_status == output->stats.frames_failed,
		   "status says %" PRIu64 " failed frames", in_status);
	kt_log("5. %s unbound: the client's next commit is discarded; %" PRIu64
	       " failed frame(s), %" PRIu64 " refused commit(s)",
	       name, output->stats.frames_failed - failed, output->stats.commit_failures - refused);

	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	tk_presents_finish(&presents);
	daemon_destroy(daemon);
	config_finish(&config);
	driver_bind(name, true);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	signal(SIGPIPE, SIG_IGN);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");
	part_swap();
	part_refused();
	kt_log("PASS");
	return 0;
}
