// SPDX-License-Identifier: MIT
/*
 * dmabuf_attributes_check() on the host: there are no dma-bufs here, so every
 * fd is a non-dma-buf (memfd, pipe, regular file, socket) and must be
 * rejected by name; the checks that come before the fd check (format, size,
 * plane count) are proven with any fd. The size checks need real dma-bufs and
 * run in the VM (vm-dmabuf.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/dmabuf.h"
#include "test.h"
#include "util/log.h"

static struct dmabuf_attributes attrs_with_fd(int fd)
{
	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = 1024;
	a.height = 768;
	a.fourcc = DRM_FORMAT_XRGB8888;
	a.modifier = DRM_FORMAT_MOD_LINEAR;
	a.n_planes = 1;
	a.fd[0] = fd;
	a.stride[0] = 4096;
	return a;
}

static void check_rejected(const struct dmabuf_attributes *a, const char *want)
{
	char msg[256] = "";
	check_int_eq(dmabuf_attributes_check(a, msg, sizeof(msg)), -EINVAL);
	check_str_eq(msg, want);
}

static void test_init(void)
{
	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	for (int i = 0; i < FOURCC_MAX_PLANES; i++)
		check_int_eq(a.fd[i], -1);
	check(a.modifier == DRM_FORMAT_MOD_INVALID);
	check_int_eq(a.n_planes, 0);
	/* Nothing valid yet: the format is named first. */
	check_rejected(&a, "format 0x00000000 is not supported");
}

static void test_fields_named(void)
{
	int memfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	check(memfd >= 0);
	check(ftruncate(memfd, 4 << 20) == 0);
	struct dmabuf_attributes a;
	char want[128];

	a = attrs_with_fd(memfd);
	a.fourcc = 0x12345678;
	check_rejected(&a, "format 0x12345678 is not supported");
	a.fourcc = DRM_FORMAT_YUYV;
	check_rejected(&a, "format YUYV is not supported");

	a = attrs_with_fd(memfd);
	a.width = 0;
	check_rejected(&a, "width 0 is out of range 1..16384");
	a.width = 16385;
	check_rejected(&a, "width 16385 is out of range 1..16384");

	a = attrs_with_fd(memfd);
	a.height = 0;
	check_rejected(&a, "height 0 is out of range 1..16384");
	a.height = 100000;
	check_rejected(&a, "height 100000 is out of range 1..16384");

	a = attrs_with_fd(memfd);
	a.n_planes = 2;
	check_rejected(&a, "2 planes given, format XR24 (XRGB8888) has 1");
	a.n_planes = 0;
	check_rejected(&a, "0 planes given, format XR24 (XRGB8888) has 1");
	a = attrs_with_fd(memfd);
	a.fourcc = DRM_FORMAT_NV12;
	check_rejected(&a, "1 planes given, format NV12 (NV12) has 2");

	a = attrs_with_fd(-1);
	check_rejected(&a, "plane 0: no fd");

	/* memfd, regular file, pipe and socket: none is a dma-buf. */
	a = attrs_with_fd(memfd);
	snprintf(want, sizeof(want), "plane 0: fd %d is not a dma-buf", memfd);
	check_rejected(&a, want);

	int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	check(file >= 0);
	a = attrs_with_fd(file);
	snprintf(want, sizeof(want), "plane 0: fd %d is not a dma-buf", file);
	check_rejected(&a, want);
	check(!dmabuf_fd_is_dmabuf(file));

	int pipefd[2];
	check(pipe2(pipefd, O_CLOEXEC) == 0);
	a = attrs_with_fd(pipefd[0]);
	snprintf(want, sizeof(want), "plane 0: fd %d is not a dma-buf", pipefd[0]);
	check_rejected(&a, want);

	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	check(!dmabuf_fd_is_dmabuf(sv[0]));
	check(!dmabuf_fd_is_dmabuf(-1));
	check(!dmabuf_fd_is_dmabuf(1000));

	close(sv[0]);
	close(sv[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	close(file);
	close(memfd);
}

static char logged[512];

static void sink(enum log_level level, const char *line, void *data)
{
	snprintf(logged, sizeof(logged), "%s", line);
}

static void test_logged_without_msg(void)
{
	struct dmabuf_attributes a = attrs_with_fd(-1);
	a.width = 0;
	log_set_sink(sink, NULL);
	check_int_eq(dmabuf_attributes_check(&a, NULL, 0), -EINVAL);
	log_set_sink(NULL, NULL);
	check_contains(logged, "dma-buf: width 0 is out of range 1..16384");
}

static void test_dup_finish(void)
{
	int memfd = memfd_create("dup", MFD_CLOEXEC);
	check(memfd >= 0);
	struct dmabuf_attributes a = attrs_with_fd(memfd), b;
	a.fd[1] = memfd; /* the same number twice: closed once */
	check_int_eq(dmabuf_attributes_dup(&b, &a), 0);
	check(b.fd[0] >= 0 && b.fd[0] != memfd);
	check(b.fd[1] >= 0 && b.fd[1] != b.fd[0]);
	check(fcntl(b.fd[0], F_GETFD) & FD_CLOEXEC);
	check_int_eq(b.width, 1024);
	check_int_eq(b.stride[0], 4096);
	int dup0 = b.fd[0];

	dmabuf_attributes_finish(&b);
	check_int_eq(b.fd[0], -1);
	check(fcntl(dup0, F_GETFD) < 0 && errno == EBADF);
	/* The original still owns its fd. */
	check(fcntl(memfd, F_GETFD) >= 0);

	dmabuf_attributes_finish(&a); /* closes memfd once */
	check(fcntl(memfd, F_GETFD) < 0 && errno == EBADF);
	dmabuf_attributes_finish(&a); /* empty: a no-op */

	struct dmabuf_attributes bad = attrs_with_fd(1000);
	check_int_eq(dmabuf_attributes_dup(&b, &bad), -EBADF);
	check_int_eq(b.fd[0], -1);
}

int main(void)
{
	test_init();
	test_fields_named();
	test_logged_without_msg();
	test_dup_finish();
	return 0;
}
