// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "render/cursor.h"
#include "util/log.h"

/* The arrow, 12 × 19: '#' outline, '.' fill. */
static const char *const arrow[] = {
	"#",           "##",          "#.#",        "#..#",      "#...#",
	"#....#",      "#.....#",     "#......#",   "#.......#", "#........#",
	"#.........#", "#......####", "#...#..#",   "#..##..#",  "#.#  #..#",
	"##   #..#",   "#     #..#",  "      #..#", "       ##",
};

static void draw_arrow(uint32_t *pixels, uint32_t stride_px)
{
	for (size_t y = 0; y < sizeof(arrow) / sizeof(arrow[0]); y++) {
		for (size_t x = 0; arrow[y][x] != '\0'; x++) {
			if (arrow[y][x] == '#')
				pixels[y * stride_px + x] = 0xff000000u;
			else if (arrow[y][x] == '.')
				pixels[y * stride_px + x] = 0xffffffffu;
		}
	}
}

struct buffer *render_cursor_create(int drm_fd)
{
	uint32_t handle, pitch;
	uint64_t size, offset;
	if (drmModeCreateDumbBuffer(drm_fd, RENDER_CURSOR_SIZE, RENDER_CURSOR_SIZE, 32, 0, &handle,
				    &pitch, &size) != 0) {
		log_warn_errno("cursor: creating a dumb buffer");
		return NULL;
	}
	struct buffer *buffer = NULL;
	int prime_fd = -1;
	if (drmModeMapDumbBuffer(drm_fd, handle, &offset) != 0) {
		log_warn_errno("cursor: mapping the dumb buffer");
		goto out;
	}
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, drm_fd, (off_t)offset);
	if (map == MAP_FAILED) {
		log_warn_errno("cursor: mmap");
		goto out;
	}
	memset(map, 0, size);
	draw_arrow(map, pitch / 4);
	munmap(map, size);
	if (drmPrimeHandleToFD(drm_fd, handle, DRM_CLOEXEC, &prime_fd) != 0) {
		log_warn_errno("cursor: exporting the dumb buffer");
		goto out;
	}
	struct dmabuf_attributes attrs;
	dmabuf_attributes_init(&attrs);
	attrs.width = RENDER_CURSOR_SIZE;
	attrs.height = RENDER_CURSOR_SIZE;
	attrs.fourcc = DRM_FORMAT_ARGB8888;
	attrs.modifier = DRM_FORMAT_MOD_LINEAR;
	attrs.n_planes = 1;
	attrs.fd[0] = prime_fd;
	attrs.stride[0] = pitch;
	buffer = buffer_create_dmabuf(&attrs);
	if (buffer == NULL)
		dmabuf_attributes_finish(&attrs);
out:
	/* The dma-buf keeps the memory; the handle is not needed any more. */
	drmModeDestroyDumbBuffer(drm_fd, handle);
	return buffer;
}
