// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"

size_t guest_ram_page_align(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (size + page - 1) & ~(page - 1);
}

int guest_ram_init(struct guest_ram *ram, size_t size)
{
	int ret;

	memset(ram, 0, sizeof(*ram));
	ram->udmabuf = -1;
	ram->size = guest_ram_page_align(size);
	ram->memfd = memfd_create("vscanout-sim-vmm guest RAM", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ram->memfd < 0)
		return -errno;
	if (ftruncate(ram->memfd, (off_t)ram->size) < 0 ||
	    fcntl(ram->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		ret = -errno;
		goto error_memfd;
	}
	ram->map = mmap(NULL, ram->size, PROT_READ | PROT_WRITE, MAP_SHARED, ram->memfd, 0);
	if (ram->map == MAP_FAILED) {
		ret = -errno;
		ram->map = NULL;
		goto error_memfd;
	}
	return 0;

error_memfd:
	close(ram->memfd);
	ram->memfd = -1;
	return ret;
}

void guest_ram_finish(struct guest_ram *ram)
{
	if (ram->map != NULL)
		munmap(ram->map, ram->size);
	if (ram->memfd >= 0)
		close(ram->memfd);
	if (ram->udmabuf >= 0)
		close(ram->udmabuf);
	memset(ram, 0, sizeof(*ram));
	ram->memfd = ram->udmabuf = -1;
}

int guest_ram_alloc(struct guest_ram *ram, size_t size, size_t *offset)
{
	size = guest_ram_page_align(size);
	if (size > ram->size - ram->used)
		return -ENOSPC;
	*offset = ram->used;
	ram->used += size;
	return 0;
}

int guest_ram_export(struct guest_ram *ram, size_t offset, size_t size)
{
	if (ram->udmabuf < 0) {
		ram->udmabuf = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		if (ram->udmabuf < 0)
			return -errno;
	}
	struct udmabuf_create create = {
		.memfd = (uint32_t)ram->memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = offset,
		.size = guest_ram_page_align(size),
	};
	int fd = ioctl(ram->udmabuf, UDMABUF_CREATE, &create);
	return fd < 0 ? -errno : fd;
}
