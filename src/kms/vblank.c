// SPDX-License-Identifier: MIT
/*
 * One clock per output, shared by its sources:
 *
 *   STOPPED --(present event, output lit)--> arm: queue a sequence event
 *        ^                                    |            | EOPNOTSUPP or refused
 *        |                                    v            v
 *        +--(output not lit at a tick)--- VBLANK        TIMER (timerfd, period
 *                                         (re-queued     of the mode; refused:
 *                                          per event)    back to VBLANK as soon
 *                                                        as a tick or a present
 *                                                        can queue an event)
 *
 * The sequence event carries the output as user data (outputs live as long
 * as the device that dispatches its fd). At most one event is in flight per
 * output: a clock whose last source goes while one is in flight stays,
 * dead, until the event returns, and is revived if a source comes first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kms/device.h"
#include "kms/output.h"
#include "kms/vblank.h"
#include "util/log.h"

enum clock_mode {
	CLOCK_STOPPED,
	CLOCK_VBLANK,
	CLOCK_TIMER,
};

struct vblank_clock {
	struct kms_device *device; /* may be NULL: detached, the device is gone */
	struct kms_output *output; /* may be NULL: detached */
	struct wl_list link;       /* kms_device.vblank_clocks */
	struct wl_list sources;    /* kms_vblank_source.link */
	bool dead;                 /* no sources left, waiting for the queued event */

	enum clock_mode mode;
	bool queued;           /* a sequence event for the output is in flight */
	bool no_vblank_events; /* the driver answered EOPNOTSUPP */
	struct vscanout_vblank_state state;

	int timer_fd; /* -1 until the timer is first needed */
	struct wl_event_source *timer_source;
	uint64_t timer_next_ns, timer_period_ns;

	struct wl_listener present;
};

struct kms_vblank_source {
	struct vblank_clock *clock;
	struct wl_list link; /* vblank_clock.sources */
	int tick_read;       /* the pipe's read end, duplicated for clients */
	int tick_reclaim;    /* may be -1: the read end opened again, non-blocking */
	int tick_write;      /* the pipe's write end: vscanoutd's alone */
	uint64_t unsent;     /* ticks not yet written, without tick_reclaim */
	struct log_ratelimit write_log;
	int memfd;
	struct vscanout_vblank_record *record; /* writable mapping made before sealing */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mode_period_ns(const drmModeModeInfo *mode)
{
	uint64_t num = (uint64_t)mode->htotal * mode->vtotal * 1000000u;
	if (mode->flags & DRM_MODE_FLAG_INTERLACE)
		num /= 2;
	if (mode->flags & DRM_MODE_FLAG_DBLSCAN)
		num *= 2;
	if (mode->vscan > 1)
		num *= mode->vscan;
	return mode->clock ? (num + mode->clock / 2) / mode->clock : 0;
}

static bool output_lit(const struct vblank_clock *clock)
{
	return clock->output != NULL && clock->output->state == KMS_OUTPUT_ON &&
	       clock->output->crtc != NULL;
}

/*
 * Add count ticks to what source's pipe holds. The pipe holds at most one
 * 8-byte count: one a client has not read yet is taken back first, through
 * vscanoutd's own non-blocking open file description of the read end, and
 * added in. Both ends vscanoutd reads and writes through are its own: no
 * flag a client sets on its copy of the read end reaches them, and 8 bytes
 * (below PIPE_BUF) always fit in the emptied pipe, so this never blocks.
 */
static void send_ticks(struct kms_vblank_source *source, uint64_t count, const char *output)
{
	uint64_t old;
	if (source->tick_reclaim >= 0) {
		/* Anything but one whole count was torn by a client's short read: dropped. */
		if (read(source->tick_reclaim, &old, sizeof(old)) == (ssize_t)sizeof(old))
			count += old;
	} else {
		/* No read end of our own (no /proc): counts wait while one is unread. */
		int queued;
		source->unsent += count;
		if (ioctl(source->tick_write, FIONREAD, &queued) != 0 || queued != 0)
			return;
		count = source->unsent;
	}
	unsigned long held_back;
	if (write(source->tick_write, &count, sizeof(count)) == (ssize_t)sizeof(count))
		source->unsent = 0;
	else if (log_ratelimit_pass(&source->write_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		log_warn_errno("output %s: cannot signal a vblank source (%lu more times since "
			       "the last such message)",
			       output, held_back);
}

/* Write the clock's state into every source, then add count to their tick pipes. */
static void publish(struct vblank_clock *clock, uint64_t count)
{
	struct kms_vblank_source *source;
	wl_list_for_each (source, &clock->sources, link)
		kms_vblank_record_write(source->record, &clock->state);
	if (count == 0)
		return;
	wl_list_for_each (source, &clock->sources, link)
		send_ticks(source, count, clock->output->name);
}

static void timer_disarm(struct vblank_clock *clock)
{
	if (clock->timer_fd >= 0)
		timerfd_settime(clock->timer_fd, 0, &(struct itimerspec){0}, NULL);
}

static void clock_stop(struct vblank_clock *clock)
{
	timer_disarm(clock);
	clock->mode = CLOCK_STOPPED;
	clock->state.flags = VSCANOUT_VBLANK_STOPPED;
	publish(clock, 0);
}

static int queue_sequence(struct vblank_clock *clock)
{
	struct kms_output *output = clock->output;
	if (drmCrtcQueueSequence(clock->device->fd, output->crtc->id,
				 DRM_CRTC_SEQUENCE_RELATIVE | DRM_CRTC_SEQUENCE_NEXT_ON_MISS, 1,
				 NULL, (uint64_t)(uintptr_t)output) != 0)
		return -errno;
	clock->queued = true;
	return 0;
}

/* Tick on vblank events from now on; 0, or why the driver refused. */
static int vblank_start(struct vblank_clock *clock)
{
	struct kms_output *output = clock->output;
	uint64_t sequence, ns;
	int ret = drmCrtcGetSequence(clock->device->fd, output->crtc->id, &sequence, &ns);
	if (ret == 0 && clock->queued) {
		/*
		 * The event in flight ticks and re-queues. The record starts from
		 * the CRTC's count, so that event counts only what came since (the
		 * clock may have been stopped, or revived for a new source).
		 */
		if (clock->mode == CLOCK_VBLANK)
			return 0;
		timer_disarm(clock);
		clock->mode = CLOCK_VBLANK;
		clock->state = (struct vscanout_vblank_state){
			.sequence = sequence,
			.timestamp_ns = ns,
			.refresh_ns = mode_period_ns(&output->mode),
		};
		publish(clock, 0);
		return 0;
	}
	ret = ret != 0 ? -errno : queue_sequence(clock);
	if (ret < 0)
		return ret;
	timer_disarm(clock);
	clock->mode = CLOCK_VBLANK;
	clock->state = (struct vscanout_vblank_state){
		.sequence = sequence,
		.timestamp_ns = ns,
		.refresh_ns = mode_period_ns(&output->mode),
	};
	publish(clock, 0);
	return 0;
}

static int handle_timer(int fd, uint32_t mask, void *data)
{
	struct vblank_clock *clock = data;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n) || n == 0 || clock->mode != CLOCK_TIMER)
		return 0;
	if (!output_lit(clock)) {
		clock_stop(clock);
		return 0;
	}
	clock->state.timestamp_ns = clock->timer_next_ns + (n - 1) * clock->timer_period_ns;
	clock->timer_next_ns += n * clock->timer_period_ns;
	clock->state.sequence += n;
	publish(clock, n);
	/* Refused while the output is on: try again at every tick. */
	if (!clock->no_vblank_events)
		vblank_start(clock);
	return 0;
}

static int timer_arm(struct vblank_clock *clock)
{
	struct kms_output *output = clock->output;
	if (clock->timer_fd < 0) {
		clock->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (clock->timer_fd < 0)
			return -errno;
		clock->timer_source = wl_event_loop_add_fd(clock->device->loop, clock->timer_fd,
							   WL_EVENT_READABLE, handle_timer, clock);
		if (clock->timer_source == NULL)
			return -errno;
	}
	uint64_t period = mode_period_ns(&output->mode);
	if (period == 0)
		period = 1000000000u / 60;
	if (clock->mode == CLOCK_TIMER && period == clock->timer_period_ns)
		return 0; /* keep the phase */
	clock->timer_period_ns = period;
	clock->timer_next_ns = now_ns() + period;
	struct itimerspec its = {
		.it_interval = {.tv_sec = (time_t)(period / 1000000000u),
				.tv_nsec = (long)(period % 1000000000u)},
		.it_value = {.tv_sec = (time_t)(clock->timer_next_ns / 1000000000u),
			     .tv_nsec = (long)(clock->timer_next_ns % 1000000000u)},
	};
	if (timerfd_settime(clock->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	clock->mode = CLOCK_TIMER;
	clock->state.flags = VSCANOUT_VBLANK_TIMER;
	clock->state.refresh_ns = period;
	publish(clock, 0);
	return 0;
}

/* Start ticking if the output is lit: vblank events, else the timer. */
static void clock_arm(struct vblank_clock *clock)
{
	struct kms_output *output = clock->output;
	if (!output_lit(clock) || output->needs_modeset) {
		clock_stop(clock);
		return;
	}
	if (!clock->no_vblank_events) {
		int ret = vblank_start(clock);
		if (ret == 0)
			return;
		if (ret == -EOPNOTSUPP) {
			clock->no_vblank_events = true;
			log_info("output %s: the driver has no vblank events, "
				 "vblank sources tick on a timer",
				 output->name);
		} else if (clock->mode != CLOCK_TIMER) {
			log_warn("output %s: cannot queue a vblank event (%s), "
				 "vblank sources tick on a timer until it is accepted",
				 output->name, strerror(-ret));
		}
	}
	int ret = timer_arm(clock);
	if (ret < 0) {
		log_error("output %s: cannot arm the vblank timer: %s", output->name,
			  strerror(-ret));
		clock_stop(clock);
	}
}

static void handle_present(struct wl_listener *listener, void *data)
{
	struct vblank_clock *clock = wl_container_of(listener, clock, present);
	const struct kms_present_event *ev = data;
	if (clock->dead)
		return;
	if (clock->mode == CLOCK_STOPPED ||
	    (clock->mode == CLOCK_TIMER &&
	     (!clock->no_vblank_events || (ev->flags & KMS_PRESENT_MODESET))))
		clock_arm(clock);
}

static struct vblank_clock *clock_find(struct kms_device *device, struct kms_output *output)
{
	struct vblank_clock *clock;
	wl_list_for_each (clock, &device->vblank_clocks, link) {
		if (clock->output == output)
			return clock;
	}
	return NULL;
}

static void clock_free(struct vblank_clock *clock)
{
	if (clock->timer_source != NULL)
		wl_event_source_remove(clock->timer_source);
	if (clock->timer_fd >= 0)
		close(clock->timer_fd);
	wl_list_remove(&clock->present.link);
	wl_list_remove(&clock->link);
	free(clock);
}

/* Detach a clock from its device for good; it keeps its sources. */
static void clock_detach(struct vblank_clock *clock)
{
	clock_stop(clock);
	if (clock->timer_source != NULL)
		wl_event_source_remove(clock->timer_source);
	clock->timer_source = NULL;
	wl_list_remove(&clock->present.link);
	wl_list_init(&clock->present.link);
	wl_list_remove(&clock->link);
	wl_list_init(&clock->link);
	clock->device = NULL;
	clock->output = NULL;
	clock->queued = false;
}

static struct vblank_clock *clock_get(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (device->vblank_detached)
		return NULL;
	struct vblank_clock *clock = clock_find(device, output);
	if (clock != NULL) {
		clock->dead = false;
		return clock;
	}
	clock = calloc(1, sizeof(*clock));
	if (clock == NULL)
		return NULL;
	clock->device = device;
	clock->output = output;
	clock->timer_fd = -1;
	wl_list_init(&clock->sources);
	wl_list_insert(&device->vblank_clocks, &clock->link);
	clock->present.notify = handle_present;
	wl_signal_add(&output->events.present, &clock->present);
	return clock;
}

static void clock_put(struct vblank_clock *clock)
{
	if (!wl_list_empty(&clock->sources))
		return;
	if (clock->queued) {
		clock->dead = true;
		timer_disarm(clock);
		clock->mode = CLOCK_STOPPED;
		return;
	}
	clock_free(clock);
}

void kms_vblank_handle_sequence(uint64_t sequence, uint64_t ns, uint64_t user_data)
{
	struct kms_output *output = (struct kms_output *)(uintptr_t)user_data;
	if (output == NULL)
		return; /* not ours */
	struct vblank_clock *clock = clock_find(output->device, output);
	if (clock == NULL || !clock->queued)
		return;
	clock->queued = false;
	if (clock->dead) {
		clock_free(clock);
		return;
	}
	if (clock->mode != CLOCK_VBLANK)
		return;
	if (!output_lit(clock)) {
		clock_stop(clock);
		return;
	}
	/* Turning a CRTC off flushes the event with the last vblank again: count 0. */
	uint64_t count = sequence > clock->state.sequence ? sequence - clock->state.sequence : 0;
	if (count > 0) {
		clock->state = (struct vscanout_vblank_state){
			.sequence = sequence,
			.timestamp_ns = ns,
			.refresh_ns = mode_period_ns(&output->mode),
		};
		publish(clock, count);
	}
	int ret = queue_sequence(clock);
	if (ret < 0) {
		log_debug("output %s: cannot queue the next vblank event: %s", output->name,
			  strerror(-ret));
		clock_arm(clock);
	}
}

void kms_vblank_detach_device(struct kms_device *device)
{
	device->vblank_detached = true;
	struct vblank_clock *clock, *tmp;
	wl_list_for_each_safe (clock, tmp, &device->vblank_clocks, link) {
		if (clock->dead)
			clock_free(clock);
		else
			clock_detach(clock);
	}
}

struct kms_vblank_source *kms_vblank_source_create(struct kms_output *output)
{
	struct kms_vblank_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		log_error("output %s: out of memory for a vblank source", output->name);
		return NULL;
	}
	int ends[2];
	if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error_errno("output %s: cannot create a vblank pipe", output->name);
		goto error_source;
	}
	source->tick_read = ends[0];
	source->tick_write = ends[1];
	/* Opening the pipe again gives an open file description of our own. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ends[0]);
	source->tick_reclaim = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (source->tick_reclaim < 0)
		log_warn_errno("output %s: cannot open %s; a vblank count not yet read delays "
			       "the next ones",
			       output->name, path);
	source->memfd = memfd_create("vscanout-vblank", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (source->memfd < 0) {
		log_error_errno("output %s: cannot create a vblank memfd", output->name);
		goto error_pipe;
	}
	if (ftruncate(source->memfd, sizeof(*source->record)) < 0) {
		log_error_errno("output %s: cannot size the vblank memfd", output->name);
		goto error_memfd;
	}
	source->record = mmap(NULL, sizeof(*source->record), PROT_READ | PROT_WRITE, MAP_SHARED,
			      source->memfd, 0);
	if (source->record == MAP_FAILED) {
		log_error_errno("output %s: cannot map the vblank memfd", output->name);
		goto error_memfd;
	}
	if (fcntl(source->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		log_error_errno("output %s: cannot seal the vblank memfd", output->name);
		goto error_map;
	}
	source->clock = clock_get(output);
	if (source->clock == NULL) {
		log_error("output %s: out of memory for a vblank clock", output->name);
		goto error_map;
	}
	wl_list_insert(&source->clock->sources, &source->link);
	if (source->clock->mode == CLOCK_STOPPED)
		clock_arm(source->clock);
	kms_vblank_record_write(source->record, &source->clock->state);
	return source;

error_map:
	munmap(source->record, sizeof(*source->record));
error_memfd:
	close(source->memfd);
error_pipe:
	if (source->tick_reclaim >= 0)
		close(source->tick_reclaim);
	close(source->tick_read);
	close(source->tick_write);
error_source:
	free(source);
	return NULL;
}

void kms_vblank_source_destroy(struct kms_vblank_source *source)
{
	if (source == NULL)
		return;
	wl_list_remove(&source->link);
	clock_put(source->clock);
	munmap(source->record, sizeof(*source->record));
	close(source->memfd);
	if (source->tick_reclaim >= 0)
		close(source->tick_reclaim);
	close(source->tick_read);
	close(source->tick_write);
	free(source);
}

int kms_vblank_source_set_output(struct kms_vblank_source *source, struct kms_output *output)
{
	struct vblank_clock *old = source->clock;
	if (old->output == output)
		return 0;
	if (output->device->vblank_detached)
		return -ENODEV; /* its device is going: stay STOPPED where it is */
	struct vblank_clock *clock = clock_get(output);
	if (clock == NULL) {
		log_error("output %s: out of memory for a vblank clock", output->name);
		return -ENOMEM;
	}
	wl_list_remove(&source->link);
	wl_list_insert(&clock->sources, &source->link);
	source->clock = clock;
	clock_put(old);
	if (clock->mode == CLOCK_STOPPED)
		clock_arm(clock);
	/* clock_arm() published only when it changed something. */
	kms_vblank_record_write(source->record, &clock->state);
	return 0;
}

int kms_vblank_source_get_fds(struct kms_vblank_source *source, int *tick_fd, int *memfd)
{
	int tfd = fcntl(source->tick_read, F_DUPFD_CLOEXEC, 0);
	if (tfd < 0)
		return -errno;
	int mfd = fcntl(source->memfd, F_DUPFD_CLOEXEC, 0);
	if (mfd < 0) {
		int ret = -errno;
		close(tfd);
		return ret;
	}
	*tick_fd = tfd;
	*memfd = mfd;
	return 0;
}

void kms_vblank_source_get_state(const struct kms_vblank_source *source,
				 struct vscanout_vblank_state *state)
{
	vscanout_vblank_record_read(source->record, state);
}

int kms_output_get_last_vblank(const struct kms_output *output, uint64_t *time_ns,
			       uint64_t *period_ns)
{
	*time_ns = 0;
	*period_ns = 0;
	if (output->state != KMS_OUTPUT_ON || output->crtc == NULL)
		return -ENODEV;
	*period_ns = mode_period_ns(&output->mode);
	uint64_t sequence, ns;
	if (drmCrtcGetSequence(output->device->fd, output->crtc->id, &sequence, &ns) != 0)
		return -errno;
	*time_ns = ns;
	return 0;
}
