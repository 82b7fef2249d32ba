// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <linux/dma-buf.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fake-dmabuf.h"

/* With _FILE_OFFSET_BITS=64 the C library's fstatfs() is fstatfs64(). */
int __real_fstatfs64(int fd, struct statfs *buf);
int __wrap_fstatfs64(int fd, struct statfs *buf);
int __real_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);

/* Files are recognised by device and inode: fd numbers differ across dup and SCM_RIGHTS. */
static struct {
	dev_t dev;
	ino_t ino;
} fakes[FAKE_DMABUF_MAX];
static int n_fakes;
static bool fail_next_sync;

static bool is_fake(int fd)
{
	struct stat st;
	if (n_fakes == 0 || fstat(fd, &st) != 0)
		return false;
	for (int i = 0; i < n_fakes; i++) {
		if (fakes[i].dev == st.st_dev && fakes[i].ino == st.st_ino)
			return true;
	}
	return false;
}

int fake_dmabuf_create(uint64_t size)
{
	if (n_fakes >= FAKE_DMABUF_MAX)
		return -1;
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (ftruncate(fd, (off_t)size) != 0 || fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	fakes[n_fakes].dev = st.st_dev;
	fakes[n_fakes].ino = st.st_ino;
	n_fakes++;
	return fd;
}

void fake_dmabuf_reset(void)
{
	n_fakes = 0;
	fail_next_sync = false;
}

void fake_dmabuf_fail_sync(bool fail)
{
	fail_next_sync = fail;
}

int fake_dmabuf_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL)
		return -1;
	int n = 0;
	while (readdir(dir) != NULL)
		n++;
	closedir(dir);
	return n;
}

int __wrap_fstatfs64(int fd, struct statfs *buf)
{
	int ret = __real_fstatfs64(fd, buf);
	if (ret == 0 && is_fake(fd))
		buf->f_type = DMA_BUF_MAGIC;
	return ret;
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list args;
	va_start(args, request);
	void *arg = va_arg(args, void *);
	va_end(args);

	if (request == DMA_BUF_IOCTL_SYNC && is_fake(fd)) {
		if (fail_next_sync) {
			fail_next_sync = false;
			errno = EIO;
			return -1;
		}
		return 0;
	}
	return __real_ioctl(fd, request, arg);
}
