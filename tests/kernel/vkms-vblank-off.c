// SPDX-License-Identifier: MIT
/*
 * vkms-vblank-off: the test bed's vkms stops its vblank timer from one CPU
 * while the timer runs on the other, hundreds of times (about 50 a second
 * under TCG), and vblank keeps coming.
 *
 * The kernel turns a CRTC's vblank interrupt off (drm_crtc_vblank_off() when
 * the CRTC goes off, or the off-delay timer after its last user let go)
 * holding its vblank_time_lock with interrupts off, while the driver stops
 * its source.  vkms's source is an hrtimer whose callback takes that same
 * lock: stock vkms waits there for a callback running on the other CPU,
 * which waits for the lock, and both CPUs would spin for ever.  The fixture
 * patch vkms-4-vblank-off.patch makes vkms stop the timer without waiting
 * for it; a callback that finds vblank off lets the timer lapse.
 *
 * Each round turns the CRTC on from CPU 1, so the timer runs there, and
 * off from CPU 0 after a random part of a frame.  Vblank must keep coming
 * after the restarts, on both CPUs.  Stock vkms froze the guest within
 * seconds of this, every time (CPU 0 in hrtimer_cancel(), CPU 1 spinning on
 * the lock); a freeze ends the run at the runner's watch on the guest's
 * heartbeat, with each CPU's instruction pointer named.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"

#define OFFDELAY_PATH "/sys/module/drm/parameters/vblankoffdelay"

struct stress {
	struct kt_device *dev;
	struct kt_pipe *pipe;
	uint32_t fb_id;
	uint64_t frame_ns;
	unsigned int seed;
	unsigned int stops, waits;
};

static uint32_t crtc_select(const struct kt_pipe *pipe)
{
	if (pipe->crtc_index == 0)
		return 0;
	if (pipe->crtc_index == 1)
		return DRM_VBLANK_SECONDARY;
	return (pipe->crtc_index << DRM_VBLANK_HIGH_CRTC_SHIFT) & DRM_VBLANK_HIGH_CRTC_MASK;
}

static void pin(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	kt_assert_errno(sched_setaffinity(0, sizeof(set), &set) == 0);
}

/* Sleep between 2 ms and a frame more. */
static void pause_random(struct stress *s)
{
	/* The stimulus is the random moment: a sleep on purpose, not a wait for an event. */
	uint64_t pause = 2000000u + (uint64_t)rand_r(&s->seed) % s->frame_ns;
	struct timespec ts = {
		.tv_sec = (time_t)(pause / 1000000000u),
		.tv_nsec = (long)(pause % 1000000000u),
	};

	nanosleep(&ts, NULL);
}

/* Block until the next vblank, which must come within a few frames. */
static void vblank_wait_next(struct stress *s)
{
	drmVBlank vbl = {
		.request.type = DRM_VBLANK_RELATIVE | crtc_select(s->pipe),
		.request.sequence = 1,
	};
	uint64_t t0 = kt_now_ns(), took;

	kt_assert_errno(drmWaitVBlank(s->dev->fd, &vbl) == 0);
	took = kt_now_ns() - t0;
	/* TCG is slow to run the guest, not to keep its clocks: 10 frames is ample. */
	kt_assertf(took < 10 * s->frame_ns, "the next vblank took %" PRIu64 " us (round %u)",
		   took / 1000, s->stops);
	s->waits++;
}

/* The CRTC on (with its primary plane) or off, in a blocking commit. */
static void crtc_set(struct stress *s, bool on)
{
	struct kt_atomic a;

	kt_atomic_init(&a, s->dev);
	if (on) {
		kt_atomic_add_modeset(&a, s->dev, s->pipe);
		kt_atomic_add_plane(&a, s->pipe->primary_id, s->pipe->crtc_id, s->fb_id,
				    s->pipe->mode.hdisplay, s->pipe->mode.vdisplay, 0, 0);
	} else {
		kt_atomic_add(&a, s->pipe->crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	}
	kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&a);
}

/*
 * One round: the CRTC on from CPU 1, whose commit turns vblank on (for its
 * flip event), so the timer runs there and, as vblank is never turned off
 * for want of users, keeps running; now and then a vblank waited for; after
 * a random part of a frame the CRTC off from CPU 0, whose
 * drm_crtc_vblank_off() stops the timer while its callback may be running
 * on CPU 1.
 */
static void round_cross_cpu(struct stress *s)
{
	pin(1);
	crtc_set(s, true);
	if (s->stops % 4 == 0)
		vblank_wait_next(s);
	pause_random(s);
	pin(0);
	crtc_set(s, false);
	s->stops++;
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 10;
	struct stress s;
	struct kt_buffer fb;
	struct kt_device dev;
	struct kt_pipe pipe;
	uint64_t until;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	kt_assertf(cpus >= 2, "%ld CPU online: the race needs two", cpus);

	/*
	 * 0: vblank is turned off only with its CRTC.  (Read when the CRTC's
	 * vblank goes on, so before the first modeset.)
	 */
	kt_write_file(OFFDELAY_PATH, "0");

	kt_device_open_or_skip(&dev, "vkms");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	kt_assert_ok(kt_dumb_create(&dev, &fb, pipe.mode.hdisplay, pipe.mode.vdisplay,
				    DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&fb.img, 0x0ff);

	s = (struct stress){
		.dev = &dev,
		.pipe = &pipe,
		.fb_id = fb.fb_id,
		.frame_ns =
			(uint64_t)pipe.mode.htotal * pipe.mode.vtotal * 1000000u / pipe.mode.clock,
		.seed = 0x5eed,
	};
	until = kt_now_ns() + (uint64_t)seconds * 1000000000u;
	while (kt_now_ns() < until)
		round_cross_cpu(&s);

	/* After the last stop, vblank still comes, on either CPU. */
	pin(0);
	crtc_set(&s, true);
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		pin(cpu);
		for (unsigned int n = 0; n < 3; n++)
			vblank_wait_next(&s);
	}
	kt_log("%u s: vblank stopped %u times from the other CPU, %u vblanks waited for", seconds,
	       s.stops, s.waits);
	kt_assert(s.stops > 10);

	kt_buffer_destroy(&dev, &fb);
	kt_device_close(&dev);
	return 0;
}
