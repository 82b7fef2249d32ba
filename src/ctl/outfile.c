// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "outfile.h"

/* Names tried for the new file before giving up. */
#define TEMP_TRIES 16

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_size, const char *fmt,
						      ...)
{
	int ret = -errno;
	va_list args;
	va_start(args, fmt);
	vsnprintf(err, err_size, fmt, args);
	va_end(args);
	size_t len = strlen(err);
	snprintf(err + len, err_size - len, ": %s", strerror(-ret));
	return ret;
}

static int write_all(int fd, const char *p, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int outfile_write(const char *path, const void *data, size_t size, char *err, size_t err_size)
{
	/* The folder and the name within it. */
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	char dir[4096];
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else {
		errno = ENAMETOOLONG;
		return fail(err, err_size, "cannot create %s", path);
	}
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EISDIR;
		return fail(err, err_size, "cannot create %s", path);
	}
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fail(err, err_size, "cannot open the folder %s", dir);

	char temp[NAME_MAX + 1];
	int fd = -1;
	for (int i = 0; i < TEMP_TRIES && fd < 0; i++) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			int ret = fail(err, err_size, "cannot create %s: no random name", path);
			close(dirfd);
			return ret;
		}
		/* A hidden name of bounded length, whatever the length of base. */
		snprintf(temp, sizeof(temp), ".%.200s.%016llx.tmp", base, (unsigned long long)r);
		fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST) {
			int ret = fail(err, err_size, "cannot create a file in %s", dir);
			close(dirfd);
			return ret;
		}
	}
	if (fd < 0) {
		int ret = fail(err, err_size, "cannot create a file in %s", dir);
		close(dirfd);
		return ret;
	}

	int ret = 0;
	if (write_all(fd, data, size) != 0)
		ret = fail(err, err_size, "cannot write %s", path);
	else if (fsync(fd) != 0)
		ret = fail(err, err_size, "cannot write %s", path);
	if (close(fd) != 0 && ret == 0)
		ret = fail(err, err_size, "cannot write %s", path);
	if (ret == 0 && renameat(dirfd, temp, dirfd, base) != 0)
		ret = fail(err, err_size, "cannot replace %s", path);
	if (ret < 0)
		unlinkat(dirfd, temp, 0);
	close(dirfd);
	return ret;
}
