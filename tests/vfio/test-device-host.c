// SPDX-License-Identifier: MIT
/*
 * The VFIO device layer without a VFIO device: fds of other kinds are
 * refused with a message naming the fd and are closed, and failures are
 * sorted into "device gone" and "try again".
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "vfio/device.h"

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

/* fd must be refused, closed, with "fd N is not a VFIO device (...: reason)". */
static void check_refused(int fd, const char *reason)
{
	char msg[256] = "", want[128];
	struct vfio_display *display;

	check(fd >= 0);
	errno = 0;
	display = vfio_display_open(fd, NULL, msg, sizeof(msg));
	check(display == NULL);
	check(errno != 0);
	check(!fd_is_open(fd));
	snprintf(want, sizeof(want), "fd %d is not a VFIO device (VFIO_DEVICE_GET_INFO: %s)", fd,
		 reason);
	check_str_eq(msg, want);
}

static void test_refuse(void)
{
	int pipe_fds[2], sv[2];

	check_refused(open("/dev/null", O_RDWR | O_CLOEXEC), "Inappropriate ioctl for device");
	check_refused(memfd_create("not-vfio", MFD_CLOEXEC), "Inappropriate ioctl for device");
	check(pipe2(pipe_fds, O_CLOEXEC) == 0);
	check_refused(pipe_fds[0], "Inappropriate ioctl for device");
	close(pipe_fds[1]);
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	check_refused(sv[0], "Inappropriate ioctl for device");
	close(sv[1]);

	/* A number that is no fd at all. */
	char msg[256];
	int fd = dup(0);
	check(fd >= 0);
	close(fd);
	check(vfio_display_open(fd, NULL, msg, sizeof(msg)) == NULL);
	check_int_eq(errno, EBADF);
	check_contains(msg, "is not a VFIO device (VFIO_DEVICE_GET_INFO: Bad file descriptor)");

	/* No message buffer: still refused. */
	check(vfio_display_open(open("/dev/null", O_RDONLY | O_CLOEXEC), NULL, NULL, 0) == NULL);

	vfio_display_destroy(NULL);
}

static void test_fatal(void)
{
	const int fatal[] = {ENODEV, EIO, EBADF, ENXIO, EFAULT, EPIPE};
	const int transient[] = {ENOMEM, EAGAIN, EBUSY, EINTR, EINVAL, ENOENT, ENOSPC, 0};

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		check(vfio_error_is_fatal(-fatal[i]));
		check(vfio_error_is_fatal(fatal[i]));
	}
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		check(!vfio_error_is_fatal(-transient[i]));
		check(!vfio_error_is_fatal(transient[i]));
	}
}

int main(void)
{
	test_refuse();
	test_fatal();
	return 0;
}
