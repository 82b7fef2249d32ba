// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"
#include "udmabuf.h"

struct dmabuf_attributes test_udmabuf_attrs(const struct kt_udmabuf *u, uint32_t width,
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
