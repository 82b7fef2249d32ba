// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drmMode.h>

#include "kmstest.h"
#include "seatest.h"

static int handle_timeout(void *data)
{
	const char *what = data;
	kt_fail(__FILE__, __LINE__, "no %s within %d ms", what, SEATEST_TIMEOUT_MS);
}

void seatest_wait(struct wl_event_loop *loop, const int *count, int want, const char *what)
{
	struct wl_event_source *timer = wl_event_loop_add_timer(loop, handle_timeout, (void *)what);
	kt_assert(timer != NULL);
	kt_assert_ok(wl_event_source_timer_update(timer, SEATEST_TIMEOUT_MS));
	while (*count < want)
		kt_assert_errno(wl_event_loop_dispatch(loop, -1) == 0 || errno == EINTR);
	wl_event_source_remove(timer);
}

int seatest_try_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int ret = 0;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -errno;
	close(fd);
	return ret;
}

void seatest_write(const char *path, const char *text)
{
	int ret = seatest_try_write(path, text);
	kt_assertf(ret == 0, "write %s to %s: %s", text, path, strerror(-ret));
}

struct session_device *seatest_find_driver(struct session *session, const char *driver)
{
	struct session_device *device;
	wl_list_for_each(device, &session->devices, link)
	{
		if (strcmp(device->driver, driver) == 0)
			return device;
	}
	return NULL;
}

void seatest_check_device(const struct session_device *device)
{
	unsigned int n;
	char end;
	kt_assertf(sscanf(device->sysname, "card%u%c", &n, &end) == 1, "sysname %s",
		   device->sysname);

	char want[64];
	snprintf(want, sizeof(want), "/dev/dri/%s", device->sysname);
	kt_assertf(strcmp(device->devnode, want) == 0, "devnode %s", device->devnode);
	size_t len = strlen(device->syspath), name_len = strlen(device->sysname);
	kt_assertf(strncmp(device->syspath, "/sys/devices/", 13) == 0 && len > name_len &&
			   strcmp(device->syspath + len - name_len, device->sysname) == 0 &&
			   device->syspath[len - name_len - 1] == '/',
		   "syspath %s", device->syspath);

	struct stat st;
	kt_assert_errno(stat(device->devnode, &st) == 0);
	kt_assertf(st.st_rdev == device->devnum, "%s: devnum %u:%u, node is %u:%u", device->sysname,
		   major(device->devnum), minor(device->devnum), major(st.st_rdev),
		   minor(st.st_rdev));
	struct stat fd_st;
	kt_assert_errno(fstat(device->fd, &fd_st) == 0);
	kt_assertf(fd_st.st_rdev == device->devnum, "%s: fd is not the node", device->sysname);

	int flags = fcntl(device->fd, F_GETFD);
	kt_assertf(flags >= 0 && (flags & FD_CLOEXEC), "%s: fd without FD_CLOEXEC",
		   device->sysname);

	drmModeRes *res = drmModeGetResources(device->fd);
	kt_assertf(res != NULL && res->count_crtcs > 0 && res->count_connectors > 0,
		   "%s: no KMS resources", device->sysname);
	drmModeFreeResources(res);
}

void seatest_virtio_name(const struct session_device *device, char *name, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/device", device->syspath);
	DIR *dir = opendir(path);
	kt_assertf(dir != NULL, "%s: %s", path, strerror(errno));
	struct dirent *entry;
	name[0] = '\0';
	while ((entry = readdir(dir)) != NULL) {
		if (strncmp(entry->d_name, "virtio", 6) == 0 && strlen(entry->d_name) < size)
			memcpy(name, entry->d_name, strlen(entry->d_name) + 1);
	}
	closedir(dir);
	kt_assertf(name[0] != '\0', "no virtio device under %s", path);
}
