// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/dmabuf.h"
#include "util/log.h"

void dmabuf_attributes_init(struct dmabuf_attributes *attrs)
{
	*attrs = (struct dmabuf_attributes){.modifier = DRM_FORMAT_MOD_INVALID};
	for (int i = 0; i < FOURCC_MAX_PLANES; i++)
		attrs->fd[i] = -1;
}

void dmabuf_attributes_finish(struct dmabuf_attributes *attrs)
{
	for (int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (attrs->fd[i] < 0)
			continue;
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen = seen || attrs->fd[j] == attrs->fd[i];
		if (!seen)
			close(attrs->fd[i]);
	}
	dmabuf_attributes_init(attrs);
}

int dmabuf_attributes_dup(struct dmabuf_attributes *dst, const struct dmabuf_attributes *src)
{
	*dst = *src;
	for (int i = 0; i < FOURCC_MAX_PLANES; i++)
		dst->fd[i] = -1;
	for (int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (src->fd[i] < 0)
			continue;
		dst->fd[i] = fcntl(src->fd[i], F_DUPFD_CLOEXEC, 0);
		if (dst->fd[i] < 0) {
			int err = -errno;
			dmabuf_attributes_finish(dst);
			return err;
		}
	}
	return 0;
}

bool dmabuf_fd_is_dmabuf(int fd)
{
	/* Every dma-buf lives on the kernel's "dmabuf" pseudo file system (Linux 5.3+). */
	struct statfs sfs;
	if (fd < 0 || fstatfs(fd, &sfs) != 0)
		return false;
	return sfs.f_type == DMA_BUF_MAGIC;
}

bool dmabuf_fd_readable(int fd)
{
	/* A dma-buf polls readable once its write fences have signalled. */
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int ret;
	do {
		ret = poll(&pfd, 1, 0);
	} while (ret < 0 && errno == EINTR);
	return ret != 0;
}

int dmabuf_attributes_busy_fd(const struct dmabuf_attributes *attrs)
{
	for (int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (attrs->fd[i] >= 0 && !dmabuf_fd_readable(attrs->fd[i]))
			return attrs->fd[i];
	}
	return -1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t msg_size, const char *fmt,
						      ...)
{
	char buf[256];
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (msg != NULL && msg_size > 0)
		snprintf(msg, msg_size, "%s", buf);
	else
		log_warn("dma-buf: %s", buf);
	return -EINVAL;
}

int dmabuf_attributes_check(const struct dmabuf_attributes *attrs, char *msg, size_t msg_size)
{
	const struct fourcc_info *info = fourcc_info_get(attrs->fourcc);
	char name[FOURCC_STR_SIZE];

	if (info == NULL)
		return fail(msg, msg_size, "format %s is not supported",
			    fourcc_str(attrs->fourcc, name, sizeof(name)));
	if (attrs->width < 1 || attrs->width > DMABUF_MAX_DIMENSION)
		return fail(msg, msg_size, "width %" PRIu32 " is out of range 1..%d", attrs->width,
			    DMABUF_MAX_DIMENSION);
	if (attrs->height < 1 || attrs->height > DMABUF_MAX_DIMENSION)
		return fail(msg, msg_size, "height %" PRIu32 " is out of range 1..%d",
			    attrs->height, DMABUF_MAX_DIMENSION);
	if (attrs->n_planes != info->n_planes)
		return fail(msg, msg_size, "%u planes given, format %s has %u", attrs->n_planes,
			    fourcc_str(attrs->fourcc, name, sizeof(name)), info->n_planes);

	for (unsigned int i = 0; i < attrs->n_planes; i++) {
		int fd = attrs->fd[i];
		if (fd < 0)
			return fail(msg, msg_size, "plane %u: no fd", i);
		if (!dmabuf_fd_is_dmabuf(fd))
			return fail(msg, msg_size, "plane %u: fd %d is not a dma-buf", i, fd);

		uint64_t min_stride = fourcc_plane_min_stride(info, i, attrs->width);
		if (attrs->stride[i] < min_stride)
			return fail(msg, msg_size,
				    "plane %u: stride %" PRIu32 " is smaller than width %" PRIu32
				    " × %u bytes",
				    i, attrs->stride[i], (uint32_t)(min_stride / info->bpp[i]),
				    info->bpp[i]);

		off_t size = lseek(fd, 0, SEEK_END);
		if (size < 0)
			return fail(msg, msg_size, "plane %u: fd %d has no size: %s", i, fd,
				    strerror(errno));
		uint32_t rows = fourcc_plane_height(info, i, attrs->height);
		uint64_t end = (uint64_t)attrs->offset[i] + (uint64_t)attrs->stride[i] * rows;
		if (end > (uint64_t)size)
			return fail(msg, msg_size,
				    "plane %u: offset %" PRIu32 " + stride %" PRIu32
				    " × height %" PRIu32 " = %" PRIu64
				    " exceeds the dma-buf's size %lld",
				    i, attrs->offset[i], attrs->stride[i], rows, end,
				    (long long)size);
		if (end > DMABUF_MAX_PLANE_END)
			return fail(msg, msg_size,
				    "plane %u: offset %" PRIu32 " + stride %" PRIu32
				    " × height %" PRIu32 " = %" PRIu64 " is past 2 GiB",
				    i, attrs->offset[i], attrs->stride[i], rows, end);
	}
	for (unsigned int i = attrs->n_planes; i < FOURCC_MAX_PLANES; i++) {
		if (attrs->fd[i] >= 0)
			return fail(msg, msg_size, "plane %u: fd %d given, format %s has %u planes",
				    i, attrs->fd[i], fourcc_str(attrs->fourcc, name, sizeof(name)),
				    info->n_planes);
	}
	return 0;
}

int dmabuf_mapping_init(struct dmabuf_mapping *mapping, const struct dmabuf_attributes *attrs,
			unsigned int plane)
{
	const struct fourcc_info *info = fourcc_info_get(attrs->fourcc);

	*mapping = (struct dmabuf_mapping){.fd = -1};
	if (info == NULL || plane >= attrs->n_planes || attrs->fd[plane] < 0)
		return -EINVAL;

	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = attrs->offset[plane] & ~((uint64_t)page - 1);
	uint64_t end =
		(uint64_t)attrs->offset[plane] +
		(uint64_t)attrs->stride[plane] * fourcc_plane_height(info, plane, attrs->height);
	void *map = mmap(NULL, end - start, PROT_READ, MAP_SHARED, attrs->fd[plane], (off_t)start);
	if (map == MAP_FAILED)
		return -errno;

	mapping->fd = attrs->fd[plane];
	mapping->map = map;
	mapping->map_size = end - start;
	mapping->data = (const char *)map + (attrs->offset[plane] - start);
	mapping->stride = attrs->stride[plane];
	return 0;
}

void dmabuf_mapping_finish(struct dmabuf_mapping *mapping)
{
	if (mapping->reading)
		dmabuf_mapping_end_read(mapping);
	if (mapping->map != NULL)
		munmap(mapping->map, mapping->map_size);
	*mapping = (struct dmabuf_mapping){.fd = -1};
}

static int sync_ioctl(int fd, uint64_t flags)
{
	struct dma_buf_sync sync = {.flags = flags};
	int ret;

	do {
		ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : 0;
}

/*
 * DMA_BUF_SYNC_START waits, interruptibly and without limit, for write
 * fences, which the buffer's client controls. A client may attach a new one
 * between the readiness poll and the ioctl; then a one-shot timer signal
 * aimed at this thread ends the wait: its handler does nothing and is
 * installed without SA_RESTART, so the ioctl fails with EINTR.
 */
static void handle_sync_timeout(int sig)
{
	(void)sig;
}

/* The process's timer for bounded syncs, made on first use; false if none. */
static bool sync_timer_get(timer_t *timer)
{
	static timer_t made;
	static int state; /* 0: not tried, 1: made, -1: failed */
	if (state == 0) {
		struct sigaction action = {.sa_handler = handle_sync_timeout};
		sigemptyset(&action.sa_mask);
		struct sigevent event = {
			.sigev_notify = SIGEV_THREAD_ID,
			.sigev_signo = SIGRTMIN,
		};
		event._sigev_un._tid = gettid();
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		if (sigaction(SIGRTMIN, &action, NULL) != 0 ||
		    pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0 ||
		    timer_create(CLOCK_MONOTONIC, &event, &made) != 0) {
			log_warn_errno("cannot make the timer that bounds dma-buf syncs; a "
				       "fence added after the readiness check may hold up a read");
			state = -1;
		} else {
			state = 1;
		}
	}
	*timer = made;
	return state == 1;
}

int dmabuf_sync_read_start(int fd)
{
	timer_t timer;
	bool bounded = sync_timer_get(&timer);
	struct itimerspec arm = {.it_value.tv_nsec = DMABUF_SYNC_WAIT_NS};
	struct itimerspec disarm = {0};
	if (bounded && timer_settime(timer, 0, &arm, NULL) != 0)
		bounded = false;
	struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
	int ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	int err = errno;
	if (bounded)
		timer_settime(timer, 0, &disarm, NULL);
	if (ret == 0)
		return 0;
	return err == EINTR || err == EAGAIN ? -EAGAIN : -err;
}

int dmabuf_mapping_begin_read(struct dmabuf_mapping *mapping)
{
	if (mapping->map == NULL)
		return -EINVAL;
	if (mapping->reading)
		return -EBUSY;
	if (!dmabuf_fd_readable(mapping->fd))
		return -EAGAIN;
	int ret = dmabuf_sync_read_start(mapping->fd);
	if (ret == 0)
		mapping->reading = true;
	return ret;
}

int dmabuf_mapping_end_read(struct dmabuf_mapping *mapping)
{
	if (!mapping->reading)
		return -EINVAL;
	mapping->reading = false;
	return sync_ioctl(mapping->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
}
