// SPDX-License-Identifier: MIT
/*
 * CPU reads of a dma-buf plane are bracketed by DMA_BUF_IOCTL_SYNC, and the
 * sync is never issued while a write fence is unsignalled (it would wait
 * for it); one that waits anyway (a fence added after the check) is cut
 * short by a timer signal. A memfd stands in for the dma-buf (it maps the same way, and
 * always polls readable: no fence) and the test is linked with
 * -Wl,--wrap=ioctl, so every ioctl the code under test issues is seen here
 * and answered as the test decides. An empty pipe stands in for a dma-buf
 * whose write fence has not signalled (it does not poll readable).
 */
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/dmabuf.h"
#include "test.h"

int __wrap_ioctl(int fd, unsigned long request, ...);

static struct {
	int calls;
	int fd;
	unsigned long request;
	uint64_t flags[8];
	int fail_errno[8]; /* answer of call n: 0 success, else -1 with this errno */
	int block_ms[8];   /* call n first waits this long, interruptibly */
} seen;

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list args;
	va_start(args, request);
	struct dma_buf_sync *sync = va_arg(args, struct dma_buf_sync *);
	va_end(args);

	check(seen.calls < 8);
	int n = seen.calls++;
	seen.fd = fd;
	seen.request = request;
	seen.flags[n] = sync->flags;
	if (seen.block_ms[n] > 0 && poll(NULL, 0, seen.block_ms[n]) < 0) {
		errno = EINTR;
		return -1;
	}
	if (seen.fail_errno[n] != 0) {
		errno = seen.fail_errno[n];
		return -1;
	}
	return 0;
}

int main(void)
{
	int memfd = memfd_create("sync", MFD_CLOEXEC);
	check(memfd >= 0);
	check(ftruncate(memfd, 3 * 4096) == 0);
	uint32_t *px = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	check(px != MAP_FAILED);
	for (int i = 0; i < 3 * 1024; i++)
		px[i] = 0xff000000u | (uint32_t)i;

	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = 16;
	a.height = 4;
	a.fourcc = DRM_FORMAT_XRGB8888;
	a.n_planes = 1;
	a.fd[0] = memfd;
	a.offset[0] = 4096 + 64;
	a.stride[0] = 128;

	struct dmabuf_mapping m;
	check_int_eq(dmabuf_mapping_init(&m, &a, 1), -EINVAL);
	check_int_eq(dmabuf_mapping_init(&m, &a, 0), 0);
	check(((uintptr_t)m.map & 4095) == 0);
	check_int_eq(m.stride, 128);
	check(m.data == (const char *)m.map + 64);
	check(((const uint32_t *)m.data)[0] == (0xff000000u | 1040));
	check_int_eq(seen.calls, 0);

	/* START|READ before, END|READ after; one read at a time. */
	check_int_eq(dmabuf_mapping_begin_read(&m), 0);
	check_int_eq(seen.calls, 1);
	check_int_eq(seen.fd, memfd);
	check(seen.request == DMA_BUF_IOCTL_SYNC);
	check(seen.flags[0] == (DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	check_int_eq(dmabuf_mapping_begin_read(&m), -EBUSY);
	check_int_eq(seen.calls, 1);
	check_int_eq(dmabuf_mapping_end_read(&m), 0);
	check_int_eq(seen.calls, 2);
	check(seen.flags[1] == (DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	check_int_eq(dmabuf_mapping_end_read(&m), -EINVAL);
	check_int_eq(seen.calls, 2);

	/* Interrupted: not ready, never retried. A real error: returned. No read in progress. */
	seen = (__typeof__(seen)){0};
	seen.fail_errno[0] = EINTR;
	check_int_eq(dmabuf_mapping_begin_read(&m), -EAGAIN);
	check_int_eq(seen.calls, 1);
	check(!m.reading);

	/*
	 * A fence added after the readiness check: the sync waits (here: a
	 * wait of 10 s that a signal interrupts, as the kernel's does), and the
	 * timer ends it after DMABUF_SYNC_WAIT_NS.
	 */
	seen = (__typeof__(seen)){0};
	seen.block_ms[0] = 10000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check_int_eq(dmabuf_mapping_begin_read(&m), -EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t waited_ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	check(waited_ns >= DMABUF_SYNC_WAIT_NS);
	check(waited_ns < 1000000000LL);
	check(!m.reading);
	/* The timer is disarmed after a sync that returns at once. */
	seen = (__typeof__(seen)){0};
	check_int_eq(dmabuf_mapping_begin_read(&m), 0);
	check_int_eq(poll(NULL, 0, 3 * DMABUF_SYNC_WAIT_NS / 1000000), 0);
	check_int_eq(dmabuf_mapping_end_read(&m), 0);

	seen = (__typeof__(seen)){0};
	seen.fail_errno[0] = EIO;
	check_int_eq(dmabuf_mapping_begin_read(&m), -EIO);
	check(!m.reading);
	check_int_eq(dmabuf_mapping_end_read(&m), -EINVAL);

	/* A write fence pending: -EAGAIN and no ioctl at all; once signalled, the sync. */
	int p[2];
	check(pipe2(p, O_CLOEXEC) == 0);
	seen = (__typeof__(seen)){0};
	m.fd = p[0];
	check(!dmabuf_fd_readable(p[0]));
	check_int_eq(dmabuf_mapping_begin_read(&m), -EAGAIN);
	check(!m.reading);
	check_int_eq(seen.calls, 0);
	struct dmabuf_attributes two = a;
	two.fd[1] = p[0];
	check_int_eq(dmabuf_attributes_busy_fd(&a), -1);
	check_int_eq(dmabuf_attributes_busy_fd(&two), p[0]);
	check(write(p[1], "s", 1) == 1);
	check(dmabuf_fd_readable(p[0]));
	check_int_eq(dmabuf_attributes_busy_fd(&two), -1);
	check_int_eq(dmabuf_mapping_begin_read(&m), 0);
	check_int_eq(seen.calls, 1);
	check_int_eq(seen.fd, p[0]);
	check_int_eq(dmabuf_mapping_end_read(&m), 0);
	m.fd = memfd;
	close(p[0]);
	close(p[1]);

	/* Finishing in the middle of a read ends the read first. */
	seen = (__typeof__(seen)){0};
	check_int_eq(dmabuf_mapping_begin_read(&m), 0);
	dmabuf_mapping_finish(&m);
	check_int_eq(seen.calls, 2);
	check(seen.flags[1] == (DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	check(m.map == NULL);
	dmabuf_mapping_finish(&m);
	check_int_eq(seen.calls, 2);

	munmap(px, 3 * 4096);
	close(memfd);
	return 0;
}
