// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>
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
	wl_list_for_each (device, &session->devices, link) {
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

/*
 * Full modeset of the first pipe of fd with a fresh dumb buffer. Returns the
 * commit's result; what the commit needs besides master is asserted.
 */
int seatest_modeset(int fd, uint32_t seed)
{
	struct kt_device dev = {.fd = fd};
	kt_assert_ok(drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1));
	kt_assert_ok(drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1));

	struct kt_pipe pipe;
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	struct kt_buffer fb;
	kt_assert_ok(kt_dumb_create(&dev, &fb, pipe.mode.hdisplay, pipe.mode.vdisplay,
				    DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&fb.img, seed);

	struct kt_atomic a;
	kt_atomic_init(&a, &dev);
	kt_atomic_add_modeset(&a, &dev, &pipe);
	kt_atomic_add_plane(&a, pipe.primary_id, pipe.crtc_id, fb.fb_id, fb.img.width,
			    fb.img.height, 0, 0);
	int ret = kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
	kt_atomic_finish(&a);
	kt_buffer_destroy(&dev, &fb);
	kt_pipe_finish(&dev, &pipe);
	return ret;
}

/*
 * In a child process: open devnode, try to become DRM master and commit a
 * modeset. Returns 0 if both worked, 1 if master was refused (EBUSY: someone
 * else is master), 2 if only the commit failed.
 */
int seatest_other_master(const char *devnode)
{
	fflush(NULL);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		int fd = open(devnode, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		if (drmSetMaster(fd) != 0) {
			kt_log("other process: drmSetMaster: %s", strerror(errno));
			_exit(1);
		}
		int ret = seatest_modeset(fd, 77);
		kt_log("other process: master, modeset: %s", ret == 0 ? "ok" : strerror(-ret));
		_exit(ret == 0 ? 0 : 2);
	}
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) <= 2, "other process: status %#x",
		   status);
	return WEXITSTATUS(status);
}

/* Start seatd and wait for it to report readiness; skip if it is missing. */
pid_t seatest_start_seatd(void)
{
	int ready[2];
	kt_assert_errno(pipe2(ready, O_CLOEXEC) == 0);
	fflush(NULL);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		/* fd 3 is the readiness pipe, without close-on-exec. */
		if (dup2(ready[1], 3) < 0)
			_exit(126);
		execlp("seatd", "seatd", "-n", "3", "-l", "info", (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	char c;
	ssize_t n;
	do {
		n = read(ready[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != 1) {
		int status;
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			kt_skip("seatd is not installed (Debian package seatd)");
		kt_fail(__FILE__, __LINE__, "seatd did not start (status %#x)", status);
	}
	return pid;
}

int seatest_active_vt(int tty0)
{
	struct vt_stat state;
	kt_assert_errno(ioctl(tty0, VT_GETSTATE, &state) == 0);
	return state.v_active;
}

/* What chvt does: ask for the switch, without waiting for it. */
void seatest_activate_vt(int tty0, int vt)
{
	kt_log("switching to VT %d", vt);
	kt_assert_errno(ioctl(tty0, VT_ACTIVATE, vt) == 0);
}

/* Block until the kernel has completed a switch to vt (an event, not a delay). */
void seatest_wait_vt(int tty0, int vt)
{
	int ret;
	do {
		ret = ioctl(tty0, VT_WAITACTIVE, vt);
	} while (ret < 0 && errno == EINTR);
	kt_assert_errno(ret == 0);
	kt_assert(seatest_active_vt(tty0) == vt);
}
