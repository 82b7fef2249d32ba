// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"
#include "kms/output.h"

#define TV_TIMEOUT_NS (20 * 1000000000ull)

void tv_client_read(const struct tv_client *c, struct vscanout_vblank_state *state)
{
	vscanout_vblank_record_read(c->record, state);
}

static int handle_eventfd(int fd, uint32_t mask, void *data)
{
	struct tv_client *c = data;
	uint64_t n;
	ssize_t len = read(fd, &n, sizeof(n));
	if (len < 0 && errno == EAGAIN)
		return 0;
	kt_assert_errno(len == sizeof(n));
	kt_assert(n > 0);
	struct vscanout_vblank_state st;
	tv_client_read(c, &st);
	kt_assertf(st.timestamp_ns != 0, "eventfd signalled before the record was written");
	if (c->wakeups == 0) {
		c->first = st;
	} else if (c->resumed || st.flags != c->last.flags) {
		/* Ticks resumed, or switched between vblank events and the timer. */
		c->resumed = false;
	} else {
		/* The record is written before the eventfd: it moved by what was read. */
		kt_assertf(st.sequence - c->last.sequence == n,
			   "record sequence %llu -> %llu, but the eventfd counted %llu",
			   (unsigned long long)c->last.sequence, (unsigned long long)st.sequence,
			   (unsigned long long)n);
		kt_assertf(st.timestamp_ns > c->last.timestamp_ns, "timestamp went back");
		uint64_t step = (st.timestamp_ns - c->last.timestamp_ns) / n;
		uint64_t err = step > st.refresh_ns ? step - st.refresh_ns : st.refresh_ns - step;
		if (err > c->max_step_error_ns)
			c->max_step_error_ns = err;
	}
	c->last = st;
	c->total += n;
	c->wakeups++;
	return 0;
}

void tv_client_drain(struct tv_client *c)
{
	handle_eventfd(c->eventfd, WL_EVENT_READABLE, c);
}

void tv_client_init(struct tv_client *c, struct wl_event_loop *loop,
		    struct kms_vblank_source *source)
{
	memset(c, 0, sizeof(*c));
	kt_assert_ok(kms_vblank_source_get_fds(source, &c->eventfd, &c->memfd));
	kt_assertf(fcntl(c->eventfd, F_GETFD) & FD_CLOEXEC, "eventfd without FD_CLOEXEC");
	kt_assertf(fcntl(c->memfd, F_GETFD) & FD_CLOEXEC, "memfd without FD_CLOEXEC");
	kt_assertf(fcntl(c->eventfd, F_GETFL) & O_NONBLOCK, "eventfd is blocking");
	int seals = fcntl(c->memfd, F_GET_SEALS);
	int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
	kt_assertf((seals & want) == want, "memfd seals 0x%x, want 0x%x", seals, want);
	struct stat st;
	kt_assert_errno(fstat(c->memfd, &st) == 0);
	kt_assertf((size_t)st.st_size >= sizeof(struct vscanout_vblank_record),
		   "memfd of %lld bytes", (long long)st.st_size);
	void *map = mmap(NULL, sizeof(*c->record), PROT_READ, MAP_SHARED, c->memfd, 0);
	kt_assert_errno(map != MAP_FAILED);
	c->record = map;
	c->source = wl_event_loop_add_fd(loop, c->eventfd, WL_EVENT_READABLE, handle_eventfd, c);
	kt_assert(c->source);
}

void tv_client_finish(struct tv_client *c)
{
	wl_event_source_remove(c->source);
	munmap((void *)c->record, sizeof(*c->record));
	close(c->eventfd);
	close(c->memfd);
}

static int handle_deadline(int fd, uint32_t mask, void *data)
{
	uint64_t n;
	if (read(fd, &n, sizeof(n)) == sizeof(n))
		*(bool *)data = true;
	return 0;
}

void tv_run_for(struct wl_event_loop *loop, uint32_t ms)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	kt_assert_errno(fd >= 0);
	/* 0 ms: one pass over what is ready (a zero it_value would disarm). */
	struct itimerspec its = {
		.it_value = {.tv_sec = ms / 1000, .tv_nsec = ms ? (long)(ms % 1000) * 1000000 : 1}};
	kt_assert_errno(timerfd_settime(fd, 0, &its, NULL) == 0);
	bool done = false;
	struct wl_event_source *source =
		wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE, handle_deadline, &done);
	kt_assert(source);
	while (!done) {
		int ret = wl_event_loop_dispatch(loop, -1);
		kt_assertf(ret >= 0 || errno == EINTR, "event loop: %s", strerror(errno));
	}
	wl_event_source_remove(source);
	close(fd);
}

void tv_run_until(struct wl_event_loop *loop, bool (*pred)(void *data), void *data,
		  const char *what)
{
	uint64_t deadline = kt_now_ns() + TV_TIMEOUT_NS;
	while (!pred(data)) {
		uint64_t now = kt_now_ns();
		kt_assertf(now < deadline, "timed out waiting for %s", what);
		int ret = wl_event_loop_dispatch(loop, (int)((deadline - now) / 1000000u) + 1);
		kt_assertf(ret >= 0 || errno == EINTR, "event loop: %s", strerror(errno));
	}
}

struct ticks_wait {
	const struct tv_client *c;
	uint64_t until;
};

static bool ticks_reached(void *data)
{
	struct ticks_wait *w = data;
	return w->c->total >= w->until;
}

void tv_wait_ticks(struct wl_event_loop *loop, struct tv_client *c, uint64_t n, const char *what)
{
	struct ticks_wait w = {.c = c, .until = c->total + n};
	tv_run_until(loop, ticks_reached, &w, what);
}

bool tv_output_off(void *data)
{
	return ((struct kms_output *)data)->state == KMS_OUTPUT_OFF;
}
