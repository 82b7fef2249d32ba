// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"
#include "udmabuf.h"

void test_udmabuf_create(struct test_udmabuf *u, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size = (size + page - 1) / page * page;

	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0 && errno == ENOENT)
		kt_skip("/dev/udmabuf is absent");
	kt_assert_errno(dev >= 0);

	u->size = size;
	u->memfd = memfd_create("vscanout-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	kt_assert_errno(u->memfd >= 0);
	kt_assert_errno(ftruncate(u->memfd, (off_t)size) == 0);
	kt_assert_errno(fcntl(u->memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	u->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, u->memfd, 0);
	kt_assert_errno(u->map != MAP_FAILED);

	struct udmabuf_create create = {
		.memfd = (uint32_t)u->memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};
	u->fd = ioctl(dev, UDMABUF_CREATE, &create);
	kt_assert_errno(u->fd >= 0);
	close(dev);
}

void test_udmabuf_destroy(struct test_udmabuf *u)
{
	munmap(u->map, u->size);
	close(u->fd);
	close(u->memfd);
}

struct dmabuf_attributes test_udmabuf_attrs(const struct test_udmabuf *u, uint32_t width,
					    uint32_t height, uint32_t fourcc, uint32_t stride)
{
	struct dmabuf_attributes a;
	dmabuf_attributes_init(&a);
	a.width = width;
	a.height = height;
	a.fourcc = fourcc;
	a.modifier = DRM_FORMAT_MOD_LINEAR;
	a.n_planes = 1;
	a.fd[0] = fcntl(u->fd, F_DUPFD_CLOEXEC, 0);
	kt_assert_errno(a.fd[0] >= 0);
	a.stride[0] = stride;
	return a;
}
