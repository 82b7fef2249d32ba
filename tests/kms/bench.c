// SPDX-License-Identifier: MIT
/*
 * bench: cost per presented frame on vkms at 1920x1080 XRGB8888.
 *
 *   bench bare N    two dumb framebuffers flipped with plain atomic commits:
 *                   the floor any KMS program pays
 *   bench direct N  two udmabufs alternated on a layer of a kms_output:
 *                   import cache, libliftoff placement, flip, present
 *   bench copy N    the same with the copy path forced: one 1080p pixman
 *                   copy per frame
 *
 * Prints CPU time (getrusage) and wall time per frame for the N frames of
 * run_frames() only, which is also the function tests/kms/bench.sh has
 * callgrind count instructions in (--toggle-collect=run_frames). Run it with
 * writeback and CRC off: vkms then composes nothing.
 */
#include <drm_fourcc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "util/log.h"

#define WIDTH  1920
#define HEIGHT 1080

struct bare {
	struct kt_device *dev;
	struct kt_pipe pipe;
	struct kt_buffer fbs[2];
	uint32_t fb_prop;
	bool done;
};

struct managed {
	struct wl_event_loop *loop;
	struct kms_layer *layer;
	struct tk_udmabuf bufs[2];
	struct tk_presents presents;
};

static void bare_flip(int fd, unsigned int seq, unsigned int sec, unsigned int usec,
		      unsigned int crtc, void *data)
{
	struct bare *b = data;
	b->done = true;
}

static void bare_frame(struct bare *b, int i)
{
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	kt_assert(req);
	kt_assert(drmModeAtomicAddProperty(req, b->pipe.primary_id, b->fb_prop,
					   b->fbs[i % 2].fb_id) > 0);
	b->done = false;
	kt_assert_ok(drmModeAtomicCommit(b->dev->fd, req,
					 DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, b));
	drmModeAtomicFree(req);
	drmEventContext ctx = {.version = 3, .page_flip_handler2 = bare_flip};
	while (!b->done) {
		struct pollfd pfd = {.fd = b->dev->fd, .events = POLLIN};
		kt_assert(poll(&pfd, 1, 5000) == 1);
		drmHandleEvent(b->dev->fd, &ctx);
	}
}

static void managed_frame(struct managed *m, int i)
{
	kms_layer_set_buffer(m->layer, m->bufs[i % 2].buffer, NULL, NULL);
	uint64_t want = m->presents.count + 1;
	while (m->presents.count < want)
		wl_event_loop_dispatch(m->loop, 5000);
}

/* The measured part: callgrind collects inside this function only. */
__attribute__((noinline)) void run_frames(struct bare *b, struct managed *m, int frames);
__attribute__((noinline)) void run_frames(struct bare *b, struct managed *m, int frames)
{
	for (int i = 0; i < frames; i++) {
		if (b != NULL)
			bare_frame(b, i);
		else
			managed_frame(m, i);
	}
}

/* User and system CPU time in microseconds (sampled at the tick by the kernel). */
static void cpu_us(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
	*sys = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static void set_mode(struct kt_device *dev, struct kt_pipe *pipe)
{
	drmModeConnector *conn = drmModeGetConnector(dev->fd, pipe->connector_id);
	kt_assert(conn);
	bool found = false;
	for (int i = 0; i < conn->count_modes && !found; i++) {
		if (conn->modes[i].hdisplay == WIDTH && conn->modes[i].vdisplay == HEIGHT) {
			pipe->mode = conn->modes[i];
			found = true;
		}
	}
	drmModeFreeConnector(conn);
	kt_assertf(found, "no %dx%d mode", WIDTH, HEIGHT);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 3, "usage: bench bare|direct|copy FRAMES");
	const char *what = argv[1];
	int frames = atoi(argv[2]);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "vkms");
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);

	struct bare bare = {.dev = &dev};
	struct managed managed = {0};
	struct kms_device *device = NULL;
	if (strcmp(what, "bare") == 0) {
		kt_assert_ok(kt_pipe_find(&dev, &bare.pipe));
		set_mode(&dev, &bare.pipe);
		for (int i = 0; i < 2; i++) {
			kt_assert_ok(kt_dumb_create(&dev, &bare.fbs[i], WIDTH, HEIGHT,
						    DRM_FORMAT_XRGB8888));
			kt_fill_pattern(&bare.fbs[i].img, (uint32_t)i);
		}
		bare.fb_prop =
			kt_prop_id(&dev, bare.pipe.primary_id, DRM_MODE_OBJECT_PLANE, "FB_ID");
		struct kt_atomic a;
		kt_atomic_init(&a, &dev);
		kt_atomic_add_modeset(&a, &dev, &bare.pipe);
		kt_atomic_add_plane(&a, bare.pipe.primary_id, bare.pipe.crtc_id, bare.fbs[1].fb_id,
				    WIDTH, HEIGHT, 0, 0);
		kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
		kt_atomic_finish(&a);
	} else {
		managed.loop = wl_event_loop_create();
		device = kms_device_create(managed.loop, dev.fd, "vkms");
		kt_assert(device);
		struct kms_output *output = kms_device_find_output(device, "Virtual-1");
		kt_assert(output);
		struct kms_output_settings s;
		kms_output_settings_init(&s);
		s.width = WIDTH;
		s.height = HEIGHT;
		tk_presents_init(&managed.presents, output);
		kt_assert_ok(kms_output_enable(output, &s));
		managed.layer = kms_output_create_layer(output, 0);
		for (int i = 0; i < 2; i++) {
			tk_udmabuf_create(&managed.bufs[i], WIDTH, HEIGHT, DRM_FORMAT_XRGB8888, 4);
			struct kt_image img = tk_udmabuf_image(&managed.bufs[i]);
			kt_fill_pattern(&img, (uint32_t)i);
		}
		kms_output_set_force_copy(output, strcmp(what, "copy") == 0);
		/* Warm up outside run_frames(): modeset, imports, the first placement. */
		for (int i = 0; i < 4; i++)
			managed_frame(&managed, i);
	}

	double u0, s0, u1, s1;
	cpu_us(&u0, &s0);
	uint64_t t0 = kt_now_ns();
	run_frames(device == NULL ? &bare : NULL, &managed, frames);
	cpu_us(&u1, &s1);
	double wall = (double)(kt_now_ns() - t0) / 1e6;
	printf("bench %s: %d frames at %dx%d, cpu %.1f us/frame (user %.1f, sys %.1f), "
	       "wall %.2f ms/frame (%.1f fps)\n",
	       what, frames, WIDTH, HEIGHT, (u1 - u0 + s1 - s0) / frames, (u1 - u0) / frames,
	       (s1 - s0) / frames, wall / frames, frames * 1000.0 / wall);
	if (device != NULL) {
		struct kms_output *output = kms_device_find_output(device, "Virtual-1");
		printf("bench %s: commits %llu, direct frames %llu, copied frames %llu, vsync "
		       "%llu\n",
		       what, (unsigned long long)output->stats.commits,
		       (unsigned long long)output->stats.frames_direct,
		       (unsigned long long)output->stats.frames_copied,
		       (unsigned long long)output->stats.flips_vsync);
		tk_presents_finish(&managed.presents);
		kms_device_destroy(device);
		for (int i = 0; i < 2; i++)
			tk_udmabuf_destroy(&managed.bufs[i]);
		wl_event_loop_destroy(managed.loop);
	} else {
		for (int i = 0; i < 2; i++)
			kt_buffer_destroy(&dev, &bare.fbs[i]);
		kt_pipe_finish(&dev, &bare.pipe);
	}
	kt_device_close(&dev);
	return 0;
}
