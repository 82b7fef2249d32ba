// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qemu/bus.h"
#include "util/log.h"

/* Messages taken per dispatch before the loop serves others. */
#define MAX_MESSAGES_PER_DISPATCH 64

struct qemu_bus {
	struct wl_event_loop *loop;
	sd_bus *bus;
	struct wl_event_source *fd_source;
	struct wl_event_source *timer;
	struct wl_event_source *idle; /* re-arm or report the loss, once per round */
	qemu_bus_lost_fn lost;
	void *data;
	int error;       /* why the connection closed, once it did */
	bool closed;     /* lost is due (or was called) */
	bool more;       /* sd_bus_process() had more to do when the dispatch stopped */
	bool processing; /* within sd_bus_process(): destroying waits for its end */
	bool destroyed;  /* qemu_bus_destroy() was called while processing */
};

static void arm(struct qemu_bus *watch);

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void handle_idle_cb(void *data);

static void schedule_idle(struct qemu_bus *watch)
{
	if (watch->idle == NULL)
		watch->idle = wl_event_loop_add_idle(watch->loop, handle_idle_cb, watch);
}

static void free_watch(struct qemu_bus *watch);

static void process(struct qemu_bus *watch)
{
	watch->more = false;
	for (int i = 0; i < MAX_MESSAGES_PER_DISPATCH && !watch->closed; i++) {
		/* A callback may destroy the watch (its owner gave up on the peer). */
		watch->processing = true;
		int ret = sd_bus_process(watch->bus, NULL);
		watch->processing = false;
		if (watch->destroyed) {
			free_watch(watch);
			return;
		}
		if (ret < 0) {
			watch->closed = true;
			watch->error = -ret;
			break;
		}
		if (ret == 0)
			break;
		if (i == MAX_MESSAGES_PER_DISPATCH - 1)
			watch->more = true;
	}
	if (!watch->closed && !sd_bus_is_open(watch->bus)) {
		watch->closed = true;
		watch->error = ECONNRESET;
	}
	if (watch->closed) {
		schedule_idle(watch);
		return;
	}
	arm(watch);
	/* More is queued: take it at the next round, after the loop served others. */
	if (watch->more)
		wl_event_source_timer_update(watch->timer, 1);
}

static void handle_idle_cb(void *data)
{
	struct qemu_bus *watch = data;
	watch->idle = NULL;
	if (watch->closed) {
		if (watch->fd_source != NULL) {
			wl_event_source_remove(watch->fd_source);
			watch->fd_source = NULL;
		}
		if (watch->lost != NULL) {
			qemu_bus_lost_fn lost = watch->lost;
			watch->lost = NULL;
			lost(watch->data, watch->error); /* may destroy the watch */
		}
		return;
	}
	process(watch);
}

static int handle_fd(int fd, uint32_t mask, void *data)
{
	struct qemu_bus *watch = data;
	process(watch);
	return 0;
}

static int handle_timer(void *data)
{
	struct qemu_bus *watch = data;
	process(watch);
	return 0;
}

/* Watch the fd for what sd-bus waits for, and time its timeout. */
static void arm(struct qemu_bus *watch)
{
	if (watch->closed || watch->fd_source == NULL)
		return;
	int events = sd_bus_get_events(watch->bus);
	if (events < 0) {
		watch->closed = true;
		watch->error = -events;
		schedule_idle(watch);
		return;
	}
	uint32_t mask = 0;
	if (events & POLLIN)
		mask |= WL_EVENT_READABLE;
	if (events & POLLOUT)
		mask |= WL_EVENT_WRITABLE;
	wl_event_source_fd_update(watch->fd_source, mask);
	uint64_t until = UINT64_MAX;
	int ms = 0;
	if (sd_bus_get_timeout(watch->bus, &until) >= 0 && until != UINT64_MAX) {
		uint64_t now = now_usec();
		uint64_t wait_us = until > now ? until - now : 0;
		ms = (int)(wait_us / 1000u) + 1;
		if (wait_us > 3600000000ull)
			ms = 3600000;
	}
	wl_event_source_timer_update(watch->timer, ms);
}

struct qemu_bus *qemu_bus_create(struct wl_event_loop *loop, sd_bus *bus, qemu_bus_lost_fn lost,
				 void *data)
{
	struct qemu_bus *watch = calloc(1, sizeof(*watch));
	if (watch == NULL)
		return NULL;
	watch->loop = loop;
	watch->bus = sd_bus_ref(bus);
	watch->lost = lost;
	watch->data = data;
	int fd = sd_bus_get_fd(bus);
	if (fd >= 0)
		watch->fd_source =
			wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE, handle_fd, watch);
	watch->timer = wl_event_loop_add_timer(loop, handle_timer, watch);
	if (fd < 0 || watch->fd_source == NULL || watch->timer == NULL) {
		log_error("D-Bus: cannot watch the connection: %s",
			  fd < 0 ? strerror(-fd) : "out of memory");
		qemu_bus_destroy(watch);
		return NULL;
	}
	/* Authentication and the first messages go out at the next round. */
	schedule_idle(watch);
	return watch;
}

static void free_watch(struct qemu_bus *watch)
{
	/* sd_bus_close() never waits; unref drops what is still queued. */
	sd_bus_close(watch->bus);
	sd_bus_unref(watch->bus);
	free(watch);
}

void qemu_bus_destroy(struct qemu_bus *watch)
{
	if (watch == NULL)
		return;
	if (watch->idle != NULL)
		wl_event_source_remove(watch->idle);
	if (watch->fd_source != NULL)
		wl_event_source_remove(watch->fd_source);
	if (watch->timer != NULL)
		wl_event_source_remove(watch->timer);
	watch->idle = watch->fd_source = watch->timer = NULL;
	watch->lost = NULL;
	watch->closed = true;
	if (watch->processing) {
		watch->destroyed = true;
		return;
	}
	free_watch(watch);
}

void qemu_bus_kick(struct qemu_bus *watch)
{
	if (watch != NULL && !watch->closed)
		schedule_idle(watch);
}

sd_bus *qemu_bus_get(struct qemu_bus *watch)
{
	return watch->bus;
}
