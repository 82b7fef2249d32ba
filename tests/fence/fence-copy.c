// SPDX-License-Identifier: MIT
/*
 * A client's unsignalled write fence never holds up the daemon. Two
 * vGPUs, each with a client of its own: "steady" on vkms keeps committing;
 * "fenced" on virtio-gpu (which imports no foreign dma-buf, so its frames
 * are copied) commits a vgem buffer carrying a write fence that vgem
 * signals only when told (DRM_IOCTL_VGEM_FENCE_ATTACH / _SIGNAL; it would
 * time out by itself after 10 s). Meanwhile a composed screenshot of the
 * virtio-gpu output is asked for (virtio-gpu has no writeback). Then:
 *  - steady's output flips at >= 80 % of its refresh for the 2 s the fence
 *    stays unsignalled (kernel flip timestamps);
 *  - the fenced buffer reaches the screen only after the signal, and its
 *    commit is answered presented;
 *  - the screenshot is answered after the signal with the fenced buffer's
 *    picture (it waited on the loop, not in the kernel).
 * Then the fenced client commits the vgem buffer again under a new fence
 * and replaces it with a readable one 0.5 s later, while a screenshot
 * waits: the screenshot shows the replacing picture at once, the fenced
 * commit is discarded. Under a fence pending for 3 s a screenshot fails
 * after its 2 s wait, saying a buffer is still being written.
 * Then steady commits the vgem buffer under a new fence: vkms scans it out
 * directly (zero copy), the non-blocking commit leaves the fence to the
 * kernel, which flips after the signal, and the loop never pauses.
 * On a daemon that waits in DMA_BUF_IOCTL_SYNC the loop stops for the
 * fence's life and steady's rate collapses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "buffer/dmabuf.h"
#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kms/output.h"
#include "kmstest.h"
#include "png-decode.h"
#include "util/log.h"

/* include/uapi/drm/vgem_drm.h, absent from libdrm's headers. */
#define VGEM_FENCE_WRITE 0x1
struct vgem_fence_attach {
	uint32_t handle;
	uint32_t flags;
	uint32_t out_fence;
	uint32_t pad;
};
struct vgem_fence_signal {
	uint32_t fence;
	uint32_t flags;
};
#define VGEM_IOCTL_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct vgem_fence_attach)
#define VGEM_IOCTL_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct vgem_fence_signal)

#define SOCKET_PATH     "/tmp/vscanout-fence-0"
#define WIDTH           1024
#define HEIGHT          768
#define SEED_FENCED     7
#define FENCE_MS        2000
#define FENCED_SERIAL   1000
#define REPLACED_SERIAL 2000
#define REPLACE_MS      500
#define STALE_SERIAL    3000
#define STALE_FENCE_MS  3000
#define TIMEOUT_MS      20000
#define MAX_PRESENTS    4096

static int vgem_dmabuf = -1;
static int report_fds[2], go_fds[2];

static void report(int i, char byte)
{
	if (write(report_fds[i], &byte, 1) != 1)
		client_fail("report: %s", strerror(errno));
}

/* The vgem dma-buf (WIDTH x HEIGHT, XRGB8888, linear) as a buffer of vgpu. */
static struct vscanout_buffer_v1 *vgem_buffer(struct vscanout_vgpu_v1 *vgpu)
{
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	vscanout_buffer_params_v1_add(params, vgem_dmabuf, 0, 0, WIDTH * 4,
				      DRM_FORMAT_MOD_LINEAR >> 32,
				      DRM_FORMAT_MOD_LINEAR & 0xffffffff);
	struct vscanout_buffer_v1 *buffer =
		vscanout_buffer_params_v1_create(params, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888, 0);
	vscanout_buffer_params_v1_destroy(params);
	return buffer;
}

/* Client 0: commits frame after frame until told to stop. */
static void run_steady(void)
{
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 100);
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "steady");
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	report(0, 'r');
	/* Two commits outstanding, so that every vblank has a new frame to flip. */
	struct pollfd stop = {.fd = go_fds[0], .events = POLLIN};
	vscanout_vgpu_v1_commit(vgpu, ++serial);
	while (poll(&stop, 1, 0) == 0) {
		vscanout_vgpu_v1_commit(vgpu, ++serial);
		uint64_t answered = c.n_presented + c.n_discarded;
		while (c.n_presented + c.n_discarded == answered) {
			if (wl_display_dispatch(c.display) < 0)
				client_fail("connection failed: %s", client_last_log);
		}
	}
	char byte;
	if (read(go_fds[0], &byte, 1) != 1)
		client_fail("go: %s", strerror(errno));
	if (byte != 'z')
		_exit(0);

	/* The fenced vgem buffer, which vkms scans out directly. */
	vscanout_vgpu_v1_set_primary(vgpu, vgem_buffer(vgpu), 0, 0);
	if (!client_commit(&c, vgpu, FENCED_SERIAL))
		client_fail("the fenced buffer's commit was discarded");
	if (!(c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY))
		client_fail("presented flags 0x%x, want zero_copy", c.presented_flags);
	_exit(0);
}

/* Client 1: a first picture, then the fenced vgem buffer, whose commit must be presented. */
static void run_fenced(void)
{
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 101);
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "fenced");
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	report(1, 'r');
	char byte;
	if (read(go_fds[1], &byte, 1) != 1)
		client_fail("go: %s", strerror(errno));

	struct vscanout_buffer_v1 *buffer = vgem_buffer(vgpu);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	report(1, 'c');
	if (!client_commit(&c, vgpu, FENCED_SERIAL))
		client_fail("the fenced buffer's commit was discarded");
	if (!(c.presented_flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_COPIED))
		client_fail("presented flags 0x%x, want copied", c.presented_flags);
	report(1, 'p');

	/* The vgem buffer again under a new fence, replaced by the first picture when told. */
	if (read(go_fds[1], &byte, 1) != 1)
		client_fail("go: %s", strerror(errno));
	vscanout_vgpu_v1_commit(vgpu, REPLACED_SERIAL);
	report(1, 'c');
	if (read(go_fds[1], &byte, 1) != 1)
		client_fail("go: %s", strerror(errno));
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	if (!client_commit(&c, vgpu, REPLACED_SERIAL + 1))
		client_fail("the readable buffer's commit was discarded");
	if (c.last_discarded != REPLACED_SERIAL)
		client_fail("the fenced commit was not discarded (last discarded %u)",
			    c.last_discarded);

	/* The vgem buffer under a fence that outlives a screenshot's patience. */
	if (read(go_fds[1], &byte, 1) != 1)
		client_fail("go: %s", strerror(errno));
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	report(1, 'c');
	if (!client_commit(&c, vgpu, STALE_SERIAL))
		client_fail("the fenced buffer's commit was discarded");
	_exit(0);
}

static void run_client(int i)
{
	if (i == 0)
		run_steady();
	run_fenced();
}

/* The card driven by driver: "cardN" and its first connector's name. */
static void card_of(const char *driver, char *card, size_t card_size, char *connector,
		    size_t connector_size)
{
	struct kt_device dev;
	kt_device_open_or_skip(&dev, driver);
	snprintf(card, card_size, "%s", strrchr(dev.path, '/') + 1);
	drmModeRes *res = drmModeGetResources(dev.fd);
	kt_assert(res != NULL && res->count_connectors > 0);
	drmModeConnector *conn = drmModeGetConnector(dev.fd, res->connectors[0]);
	kt_assert(conn != NULL);
	snprintf(connector, connector_size, "%s-%u",
		 drmModeGetConnectorTypeName(conn->connector_type), conn->connector_type_id);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	kt_device_close(&dev);
}

static int vgem_open(void)
{
	for (int i = 0; i < 16; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersion *ver = drmGetVersion(fd);
		bool vgem = ver != NULL && strcmp(ver->name, "vgem") == 0;
		drmFreeVersion(ver);
		if (vgem)
			return fd;
		close(fd);
	}
	kt_skip("no vgem card (modprobe vgem)");
	return -1;
}

/* Kernel flip times of an output's present events, and the vgem buffer's first. */
struct presents {
	struct wl_listener listener;
	uint64_t times[MAX_PRESENTS];
	size_t n;
	ino_t fenced_ino;
	uint64_t fenced_ns; /* 0 until a present showed the vgem buffer */
};

static void handle_present(struct wl_listener *listener, void *data)
{
	struct presents *p = wl_container_of(listener, p, listener);
	const struct kms_present_event *ev = data;
	if (p->n < MAX_PRESENTS)
		p->times[p->n++] = ev->time_ns;
	for (size_t i = 0; i < ev->n_layers; i++) {
		const struct buffer *b = ev->layers[i].buffer;
		struct stat st;
		if (p->fenced_ns == 0 && b != NULL && b->type == BUFFER_DMABUF &&
		    fstat(b->dmabuf.fd[0], &st) == 0 && st.st_ino == p->fenced_ino)
			p->fenced_ns = ev->time_ns;
	}
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

struct signaller {
	int vgem_fd;
	uint32_t fence;
	uint64_t signalled_ns;
	bool fired;
	int error; /* of the signal ioctl: ETIMEDOUT when vgem timed the fence out first */
};

static int handle_signal_timer(void *data)
{
	struct signaller *s = data;
	struct vgem_fence_signal sig = {.fence = s->fence};
	s->signalled_ns = kt_now_ns();
	s->fired = true;
	s->error = drmIoctl(s->vgem_fd, VGEM_IOCTL_FENCE_SIGNAL, &sig) == 0 ? 0 : errno;
	kt_log("fence signalled");
	return 0;
}

static int handle_replace_timer(void *data)
{
	kt_assert_errno(write(*(int *)data, "r", 1) == 1);
	return 0;
}

/* The longest time between two ticks of a TICK_MS timer on the loop. */
#define TICK_MS 10

struct ticker {
	struct wl_event_source *source;
	uint64_t last, longest;
};

static int handle_tick(void *data)
{
	struct ticker *t = data;
	uint64_t now = kt_now_ns();
	if (t->last != 0 && now - t->last > t->longest)
		t->longest = now - t->last;
	t->last = now;
	wl_event_source_timer_update(t->source, TICK_MS);
	return 0;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	const char *ctl = argv[1];
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(getenv("VSCANOUT_DEBUG") != NULL ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	/* The vgem buffer: the picture first, its dma-buf for the fenced client. */
	int vgem = vgem_open();
	struct drm_mode_create_dumb create = {.width = WIDTH, .height = HEIGHT, .bpp = 32};
	kt_assert_errno(drmIoctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &create) == 0);
	kt_assert(create.pitch == WIDTH * 4);
	struct drm_mode_map_dumb map = {.handle = create.handle};
	kt_assert_errno(drmIoctl(vgem, DRM_IOCTL_MODE_MAP_DUMB, &map) == 0);
	void *pixels = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, vgem,
			    (off_t)map.offset);
	kt_assert_errno(pixels != MAP_FAILED);
	struct kt_image fenced_img = {WIDTH, HEIGHT, WIDTH * 4, DRM_FORMAT_XRGB8888, pixels};
	kt_fill_pattern(&fenced_img, SEED_FENCED);
	kt_assert_errno(
		drmPrimeHandleToFD(vgem, create.handle, DRM_CLOEXEC | DRM_RDWR, &vgem_dmabuf) == 0);

	char vkms_card[32], vkms_conn[32], virtio_card[32], virtio_conn[32];
	card_of("vkms", vkms_card, sizeof(vkms_card), vkms_conn, sizeof(vkms_conn));
	card_of("virtio_gpu", virtio_card, sizeof(virtio_card), virtio_conn, sizeof(virtio_conn));
	char steady_name[64], fenced_name[64], text[512];
	snprintf(steady_name, sizeof(steady_name), "%s:%s", vkms_card, vkms_conn);
	snprintf(fenced_name, sizeof(fenced_name), "%s:%s", virtio_card, virtio_conn);
	snprintf(text, sizeof(text),
		 "[daemon]\nsocket = " SOCKET_PATH "\n"
		 "[output %s]\nvgpu = steady\nmode = 1024x768\nflip = vsync\n"
		 "[output %s]\nvgpu = fenced\nmode = 1024x768\n"
		 "[vgpu steady]\n[vgpu fenced]\n",
		 steady_name, fenced_name);
	struct config config;
	config_init(&config);
	FILE *f = fmemopen(text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *steady = display_find_output(daemon->display_manager, steady_name);
	struct kms_output *fenced = display_find_output(daemon->display_manager, fenced_name);
	kt_assert(steady != NULL && fenced != NULL);

	static struct presents steady_p, fenced_p;
	struct stat st;
	kt_assert_errno(fstat(vgem_dmabuf, &st) == 0);
	steady_p.fenced_ino = fenced_p.fenced_ino = st.st_ino;
	steady_p.listener.notify = fenced_p.listener.notify = handle_present;
	wl_signal_add(&steady->events.present, &steady_p.listener);
	wl_signal_add(&fenced->events.present, &fenced_p.listener);

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
	for (int i = 0; i < 2; i++) {
		wait_for(daemon, &reports[i].readable, "a client's first presented frame");
		reports[i].readable = false;
	}

	/*
	 * The fence, then the fenced commit; the fence is signalled from the
	 * loop FENCE_MS later, and a composed screenshot is asked for meanwhile.
	 */
	struct vgem_fence_attach attach = {.handle = create.handle, .flags = VGEM_FENCE_WRITE};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_ATTACH, &attach) == 0);
	/*
	 * A sync issued on the fenced buffer anyway (as when a client adds the
	 * fence right after the daemon's readiness check) waits in the kernel
	 * until the fence signals, 10 s for vgem; it is cut short.
	 */
	uint64_t sync_start = kt_now_ns();
	int sync_ret = dmabuf_sync_read_start(vgem_dmabuf);
	uint64_t sync_ns = kt_now_ns() - sync_start;
	kt_assertf(sync_ret == -EAGAIN, "a sync on the fenced buffer returned %d", sync_ret);
	kt_assertf(sync_ns < 200000000u, "a sync on the fenced buffer took %.1f ms", sync_ns / 1e6);
	kt_log("a sync on the fenced buffer gave up after %.1f ms", sync_ns / 1e6);
	struct signaller signaller = {.vgem_fd = vgem, .fence = attach.out_fence};
	struct wl_event_source *timer =
		wl_event_loop_add_timer(daemon->loop, handle_signal_timer, &signaller);
	kt_assert(timer != NULL);
	kt_assert_errno(wl_event_source_timer_update(timer, FENCE_MS) == 0);
	uint64_t start = kt_now_ns();
	kt_assert_errno(write(go[1][1], "g", 1) == 1);
	wait_for(daemon, &reports[1].readable, "the fenced commit");
	reports[1].readable = false;
	kt_log("fenced buffer committed after %.1f ms", (kt_now_ns() - start) / 1e6);

	const char *png = "/tmp/vscanout-fence.png";
	struct ctl_result r;
	ctl_run(daemon->display, &r, 0, 0, ctl, "--socket", SOCKET_PATH, "screenshot", fenced_name,
		png, NULL);
	uint64_t answered = kt_now_ns();
	wait_for(daemon, &signaller.fired, "the signal timer");

	/* Steady's flips while the fence was pending. */
	uint32_t mhz = kms_mode_refresh_mhz(&steady->mode);
	size_t flips = 0;
	uint64_t gap = 0, gap_at = 0, last = start;
	for (size_t i = 0; i < steady_p.n; i++) {
		uint64_t t = steady_p.times[i];
		if (t < start || t >= signaller.signalled_ns)
			continue;
		flips++;
		if (t - last > gap) {
			gap = t - last;
			gap_at = last - start;
		}
		last = t;
	}
	kt_log("steady: longest gap between flips %.1f ms, from %.1f ms after the attachment",
	       gap / 1e6, gap_at / 1e6);
	double window = (double)(signaller.signalled_ns - start) / 1e9;
	double want = 0.8 * window * mhz / 1000.0;
	kt_log("steady: %zu flips in the %.2f s the fence was pending (refresh %.3f Hz)", flips,
	       window, mhz / 1000.0);
	kt_assertf((double)flips >= want, "steady flipped %zu times in %.2f s, want >= %.0f", flips,
		   window, want);

	kt_assertf(signaller.error == 0, "signalling the fence: %s", strerror(signaller.error));
	kt_assertf(r.exit_code == 0, "screenshot of %s: exit %d", fenced_name, r.exit_code);
	kt_assert(strstr(r.out, "source composed") != NULL);
	ctl_result_finish(&r);
	kt_assertf(answered >= signaller.signalled_ns,
		   "the screenshot was answered before the fence signalled");
	struct png_image shot;
	char err[128];
	kt_assertf(png_decode_file(png, &shot, err, sizeof(err)) == 0, "%s", err);
	uint64_t bad = 0;
	for (uint32_t y = 0; y < HEIGHT; y++)
		for (uint32_t x = 0; x < WIDTH; x++)
			bad += (shot.pixels[y * WIDTH + x] & 0xffffff) !=
			       (*kt_pixel(&fenced_img, x, y) & 0xffffff);
	kt_assertf(shot.width == WIDTH && shot.height == HEIGHT && bad == 0,
		   "the screenshot (%ux%u) differs from the fenced picture in %" PRIu64 " pixels",
		   shot.width, shot.height, bad);
	png_image_free(&shot);
	kt_log("screenshot answered %.0f ms after the fence's attachment, after its signal, with "
	       "the picture",
	       (answered - start) / 1e6);

	wait_for(daemon, &reports[1].readable, "the fenced client's presented");
	kt_assertf(fenced_p.fenced_ns >= signaller.signalled_ns,
		   "the fenced buffer was on screen %.1f ms before its fence signalled",
		   ((double)signaller.signalled_ns - (double)fenced_p.fenced_ns) / 1e6);
	kt_log("fenced buffer on screen %.1f ms after the signal",
	       (fenced_p.fenced_ns - signaller.signalled_ns) / 1e6);

	/*
	 * A composed screenshot waiting for a fenced buffer that a readable one
	 * replaces REPLACE_MS later: answered with that one's picture, before
	 * the fence signals; the fenced commit is discarded.
	 */
	attach = (struct vgem_fence_attach){.handle = create.handle, .flags = VGEM_FENCE_WRITE};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_ATTACH, &attach) == 0);
	signaller = (struct signaller){.vgem_fd = vgem, .fence = attach.out_fence};
	kt_assert_errno(wl_event_source_timer_update(timer, FENCE_MS) == 0);
	reports[1].readable = false;
	kt_assert_errno(write(go[1][1], "g", 1) == 1);
	wait_for(daemon, &reports[1].readable, "the second fenced commit");
	int replace_fd = go[1][1];
	struct wl_event_source *replace =
		wl_event_loop_add_timer(daemon->loop, handle_replace_timer, &replace_fd);
	kt_assert(replace != NULL);
	kt_assert_errno(wl_event_source_timer_update(replace, REPLACE_MS) == 0);
	ctl_run(daemon->display, &r, 0, 0, ctl, "--socket", SOCKET_PATH, "screenshot", fenced_name,
		png, NULL);
	kt_assertf(r.exit_code == 0, "screenshot of %s: exit %d", fenced_name, r.exit_code);
	ctl_result_finish(&r);
	kt_assertf(!signaller.fired, "the screenshot waited for the replaced buffer's fence");
	kt_assertf(png_decode_file(png, &shot, err, sizeof(err)) == 0, "%s", err);
	struct kt_image first;
	kt_assert_ok(kt_image_alloc(&first, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&first, 101);
	bad = 0;
	for (uint32_t y = 0; y < HEIGHT; y++)
		for (uint32_t x = 0; x < WIDTH; x++)
			bad += (shot.pixels[y * WIDTH + x] & 0xffffff) !=
			       (*kt_pixel(&first, x, y) & 0xffffff);
	kt_assertf(bad == 0,
		   "the screenshot differs from the replacing picture in %" PRIu64 " pixels", bad);
	png_image_free(&shot);
	kt_image_free(&first);
	wl_event_source_remove(replace);
	wait_for(daemon, &signaller.fired, "the signal timer");
	kt_log("a screenshot waiting for a fenced buffer took the buffer replacing it");

	/* A fence pending longer than a screenshot waits: it fails and says why. */
	attach = (struct vgem_fence_attach){.handle = create.handle, .flags = VGEM_FENCE_WRITE};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_ATTACH, &attach) == 0);
	signaller = (struct signaller){.vgem_fd = vgem, .fence = attach.out_fence};
	kt_assert_errno(wl_event_source_timer_update(timer, STALE_FENCE_MS) == 0);
	reports[1].readable = false;
	kt_assert_errno(write(go[1][1], "d", 1) == 1);
	wait_for(daemon, &reports[1].readable, "the third fenced commit");
	ctl_run(daemon->display, &r, 0, 0, ctl, "--socket", SOCKET_PATH, "screenshot", fenced_name,
		png, NULL);
	kt_assertf(r.exit_code != 0 && strstr(r.err, "still being written") != NULL &&
			   !signaller.fired,
		   "screenshot of %s under a pending fence: exit %d", fenced_name, r.exit_code);
	ctl_result_finish(&r);
	wait_for(daemon, &children[1].exited, "the fenced client's end");
	kt_assertf(WIFEXITED(children[1].status) && WEXITSTATUS(children[1].status) == 0,
		   "fenced client: status 0x%x", children[1].status);
	kt_assertf(signaller.fired && signaller.error == 0, "the third fence was not signalled");
	kt_log("a screenshot under a fence pending for %d s failed after its wait",
	       STALE_FENCE_MS / 1000);

	/*
	 * Zero copy: a new fence, and steady commits the vgem buffer, which
	 * vkms imports. The non-blocking commit leaves the fence to the kernel,
	 * which flips once it signals; the loop keeps running meanwhile (a
	 * timer ticking every TICK_MS is never held up).
	 */
	attach = (struct vgem_fence_attach){.handle = create.handle, .flags = VGEM_FENCE_WRITE};
	kt_assert_errno(drmIoctl(vgem, VGEM_IOCTL_FENCE_ATTACH, &attach) == 0);
	signaller = (struct signaller){.vgem_fd = vgem, .fence = attach.out_fence};
	kt_assert_errno(wl_event_source_timer_update(timer, FENCE_MS) == 0);
	struct ticker ticker = {0};
	ticker.source = wl_event_loop_add_timer(daemon->loop, handle_tick, &ticker);
	kt_assert(ticker.source != NULL);
	kt_assert_errno(wl_event_source_timer_update(ticker.source, TICK_MS) == 0);
	kt_assert_errno(write(go[0][1], "z", 1) == 1);
	wait_for(daemon, &children[0].exited, "the steady client's zero-copy presented");
	kt_assertf(WIFEXITED(children[0].status) && WEXITSTATUS(children[0].status) == 0,
		   "steady client: status 0x%x", children[0].status);
	kt_assertf(signaller.fired && signaller.error == 0, "the second fence was not signalled");
	kt_assertf(steady_p.fenced_ns >= signaller.signalled_ns,
		   "the zero-copy fenced buffer was on screen before its fence signalled");
	kt_log("zero copy: on screen %.1f ms after the signal; the loop's longest pause %.1f ms",
	       (steady_p.fenced_ns - signaller.signalled_ns) / 1e6, ticker.longest / 1e6);
	kt_assertf(ticker.longest < (uint64_t)FENCE_MS * 1000000u / 4,
		   "the loop paused for %.1f ms while the fence was pending", ticker.longest / 1e6);
	wl_event_source_remove(ticker.source);
	wl_event_source_remove(timer);
	wl_list_remove(&steady_p.listener.link);
	wl_list_remove(&fenced_p.listener.link);
	for (int i = 0; i < 2; i++) {
		pipe_watch_finish(&reports[i]);
		close(go[i][0]);
		close(go[i][1]);
	}
	daemon_destroy(daemon);
	config_finish(&config);
	munmap(pixels, create.size);
	close(vgem_dmabuf);
	close(vgem);
	kt_log("PASS");
	return 0;
}
