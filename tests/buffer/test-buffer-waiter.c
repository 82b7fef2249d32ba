// SPDX-License-Identifier: MIT
/*
 * Waiting for a buffer's write fences on the event loop, never in a call.
 * A dma-buf polls readable once its write fences have signalled; a pipe
 * polls readable once it holds a byte, so a pipe's read end stands in for
 * the plane fd of a dma-buf buffer here: an empty pipe is a buffer still
 * being written, a byte is the fence signalling.
 */
#include <fcntl.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "test.h"

static uint32_t pixels[4 * 4];

/* A dma-buf buffer whose plane 0 is the pipe's read end (taken). */
static struct buffer *fake_dmabuf(int fd)
{
	struct buffer *b = buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_XRGB8888);
	check(b != NULL);
	b->type = BUFFER_DMABUF;
	b->dmabuf.n_planes = 1;
	b->dmabuf.fd[0] = fd;
	b->dmabuf.stride[0] = 16;
	return b;
}

struct counted {
	struct buffer_waiter waiter;
	int calls;
	bool idle_when_called;
};

static void on_notify(struct buffer_waiter *waiter)
{
	struct counted *c = wl_container_of(waiter, c, waiter);
	c->calls++;
	c->idle_when_called = waiter->buffer == NULL;
}

static void signal_fence(int fd)
{
	check(write(fd, "f", 1) == 1);
}

static void unsignal(int fd)
{
	char byte;
	check(read(fd, &byte, 1) == 1);
}

int main(void)
{
	struct wl_event_loop *loop = wl_event_loop_create();
	check(loop != NULL);
	int p[2];
	check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	struct buffer *b = fake_dmabuf(p[0]);

	/* Busy: not readable, and a read is refused instead of waiting. */
	const void *data;
	uint32_t stride;
	check(!buffer_readable(b));
	check_int_eq(buffer_begin_read(b, &data, &stride), -EAGAIN);
	check(b->mapping.map == NULL);

	/* Two waiters share one fd source; nothing happens before the signal. */
	struct counted a = {0}, c = {0};
	check_int_eq(buffer_waiter_wait(&a.waiter, b, loop, on_notify), 0);
	check_int_eq(buffer_waiter_wait(&c.waiter, b, loop, on_notify), 0);
	check(b->fence_source != NULL);
	check_int_eq(a.calls + c.calls, 0);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(a.calls + c.calls, 0);

	/* The signal: both are told once, from the loop, idle again; the source goes. */
	signal_fence(p[1]);
	check(buffer_readable(b));
	check_int_eq(a.calls + c.calls, 0);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(a.calls, 1);
	check_int_eq(c.calls, 1);
	check(a.idle_when_called && c.idle_when_called);
	check(b->fence_source == NULL);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(a.calls + c.calls, 2);

	/* Cancelled: no notify, and the last waiter gone takes the source with it. */
	unsignal(p[0]);
	check_int_eq(buffer_waiter_wait(&a.waiter, b, loop, on_notify), 0);
	buffer_waiter_cancel(&a.waiter);
	check(a.waiter.buffer == NULL);
	check(b->fence_source == NULL);
	signal_fence(p[1]);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(a.calls, 1);
	buffer_waiter_cancel(&a.waiter); /* idle: nothing */

	/* The buffer goes first: the waiter is idle again, without notify. */
	unsignal(p[0]);
	check_int_eq(buffer_waiter_wait(&a.waiter, b, loop, on_notify), 0);
	buffer_unref(b); /* closes p[0] */
	check(a.waiter.buffer == NULL);
	check_int_eq(wl_event_loop_dispatch(loop, 0), 0);
	check_int_eq(a.calls, 1);
	buffer_waiter_cancel(&a.waiter);

	/* CPU pixels are always readable: nothing to wait for. */
	struct buffer *cpu = buffer_create_cpu(pixels, 4, 4, 16, DRM_FORMAT_XRGB8888);
	check(cpu != NULL && buffer_readable(cpu));
	check_int_eq(buffer_waiter_wait(&a.waiter, cpu, loop, on_notify), -EINVAL);
	check(a.waiter.buffer == NULL);
	buffer_unref(cpu);

	close(p[1]);
	wl_event_loop_destroy(loop);
	return 0;
}
