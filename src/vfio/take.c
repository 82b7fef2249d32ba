// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "vfio/feed.h"
#include "vfio/take.h"
#include "vgpu/vgpu.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct vfio_take_manager {
	struct wl_event_loop *loop;
	const struct config *config;
	struct vgpu_manager *vgpus;
	struct wl_list takes; /* vfio_take.link */
};

/* One [vgpu] with vfio-from=. */
struct vfio_take {
	struct vfio_take_manager *manager;
	struct wl_list link;
	char *name, *address, *mdev;
	struct wl_event_source *retry;
	int pidfd; /* QEMU's, while taken; -1 otherwise */
	pid_t pid;
	struct wl_event_source *exit_source; /* pidfd readable: QEMU exited */
	struct vgpu *vgpu;
	struct vfio_feed *feed;
	bool lost; /* the device stopped: let go from the loop, not from within the feed */
	uint64_t takes;
	char last_error[256];
};

static void let_go(struct vfio_take *take);

/* The same failure at every retry (QEMU not started yet) is logged once. */
static void set_error(struct vfio_take *take, const char *message)
{
	if (strcmp(take->last_error, message) != 0)
		log_warn("vGPU %s: VFIO device from %s: %s", take->name, take->address, message);
	snprintf(take->last_error, sizeof(take->last_error), "%s", message);
}

static int pidfd_getfd(int pidfd, int target)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
}

/* Why pidfd_getfd failed, for the log and the status. */
static void getfd_error(pid_t pid, int error, char *msg, size_t msg_size)
{
	if (error == EPERM)
		snprintf(msg, msg_size,
			 "pidfd_getfd on QEMU (pid %d): %s: vscanoutd needs CAP_SYS_PTRACE over "
			 "QEMU's process and kernel.yama.ptrace_scope below 3",
			 (int)pid, strerror(error));
	else
		snprintf(msg, msg_size, "pidfd_getfd on QEMU (pid %d): %s", (int)pid,
			 strerror(error));
}

int vfio_take_device(pid_t pid, int pidfd, const char *uuid, char *msg, size_t msg_size)
{
	/* The mdev's IOMMU group: its iommu_group link ends in the group's number. */
	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		int error = errno;
		snprintf(msg, msg_size, "no mdev %s (%s: %s)", uuid, path, strerror(error));
		return -error;
	}
	link[n] = '\0';
	const char *slash = strrchr(link, '/');
	char group[64];
	int number = atoi(slash != NULL ? slash + 1 : link);
	snprintf(group, sizeof(group), "/dev/vfio/%d", number);

	/* QEMU's fds: the group, and its VFIO device fds. */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		int error = errno;
		snprintf(
			msg, msg_size,
			"QEMU's fds (%s): %s: vscanoutd must see QEMU's process in /proc (a unit's "
			"ProtectProc=invisible hides it) and may need CAP_SYS_PTRACE",
			path, strerror(error));
		return -error;
	}
	int group_fd = -1, device_fd = -1, n_devices = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		char target[PATH_MAX];
		n = readlinkat(dirfd(dir), entry->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, group) == 0)
			group_fd = atoi(entry->d_name);
		else if (strcmp(target, "anon_inode:[vfio-device]") == 0) {
			device_fd = atoi(entry->d_name);
			n_devices++;
		}
	}
	closedir(dir);

	if (group_fd >= 0) {
		int g = pidfd_getfd(pidfd, group_fd);
		if (g < 0) {
			int error = errno;
			getfd_error(pid, error, msg, msg_size);
			return -error;
		}
		/* The device by its name: the group hands out another fd of it. */
		int fd = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, uuid);
		int error = errno;
		close(g);
		if (fd >= 0) {
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			return fd;
		}
		if (n_devices != 1) {
			snprintf(msg, msg_size, "VFIO_GROUP_GET_DEVICE_FD %s on QEMU's %s: %s",
				 uuid, group, strerror(error));
			return -error;
		}
	}
	if (n_devices == 0) {
		snprintf(msg, msg_size,
			 "QEMU (pid %d) holds no VFIO device of mdev %s (no %s among its fds): "
			 "is it given to this VM with -device vfio-pci,sysfsdev=?",
			 (int)pid, uuid, group);
		return -ENOENT;
	}
	if (n_devices > 1) {
		snprintf(msg, msg_size,
			 "QEMU (pid %d) holds %d VFIO devices and not the group %s that would "
			 "tell mdev %s among them",
			 (int)pid, n_devices, group, uuid);
		return -EBUSY;
	}
	int fd = pidfd_getfd(pidfd, device_fd);
	if (fd < 0) {
		int error = errno;
		getfd_error(pid, error, msg, msg_size);
		return -error;
	}
	return fd;
}

/* QEMU's credentials: the peer's of its QMP socket, connected and closed at once. */
static pid_t qmp_peer(const char *path, struct ucred *peer, char *msg, size_t msg_size)
{
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0) {
		snprintf(msg, msg_size, "socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	pid_t pid = -1;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		snprintf(msg, msg_size, "connect %s: %s", path, strerror(errno));
	else if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		snprintf(msg, msg_size, "the peer of %s: %s", path, strerror(errno));
	else {
		pid = cred.pid;
		*peer = cred;
	}
	close(sock);
	return pid;
}

static void handle_lost(void *data, const char *message)
{
	struct vfio_take *take = data;
	char msg[256];
	snprintf(msg, sizeof(msg), "the device stopped: %s", message);
	set_error(take, msg);
	take->lost = true;
	wl_event_source_timer_update(take->retry, 1);
}

static int handle_exit(int fd, uint32_t mask, void *data)
{
	struct vfio_take *take = data;
	log_info("vGPU %s: QEMU (pid %d) exited: its VFIO device is let go", take->name,
		 (int)take->pid);
	let_go(take);
	wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
	return 0;
}

static void try_take(struct vfio_take *take)
{
	struct vfio_take_manager *manager = take->manager;
	char msg[256];
	struct ucred peer = {0};
	pid_t pid = qmp_peer(take->address + 4, &peer, msg, sizeof(msg));
	if (pid < 0) {
		set_error(take, msg);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		snprintf(msg, sizeof(msg), "pidfd_open %d: %s", (int)pid, strerror(errno));
		set_error(take, msg);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return;
	}
	int fd = vfio_take_device(pid, pidfd, take->mdev, msg, sizeof(msg));
	if (fd >= 0 && vgpu_manager_find(manager->vgpus, take->name) != NULL) {
		snprintf(msg, sizeof(msg), "vGPU %s is attached by a vscanout-v1 client",
			 take->name);
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		close(pidfd);
		set_error(take, msg);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return;
	}
	take->pidfd = pidfd;
	take->pid = pid;
	take->exit_source =
		wl_event_loop_add_fd(manager->loop, pidfd, WL_EVENT_READABLE, handle_exit, take);
	take->vgpu = vgpu_create(manager->vgpus, take->name, NULL, NULL);
	if (take->exit_source == NULL || take->vgpu == NULL) {
		close(fd);
		set_error(take, "out of memory");
		let_go(take);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return;
	}
	take->feed = vfio_feed_create(manager->loop, manager->config, take->vgpu, fd, handle_lost,
				      take, msg, sizeof(msg));
	if (take->feed == NULL) {
		set_error(take, msg);
		let_go(take);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return;
	}
	struct vgpu_owner_info owner = {
		.known = true, .pid = pid, .uid = peer.uid, .gid = peer.gid};
	vgpu_set_owner(take->vgpu, &owner);
	take->takes++;
	take->last_error[0] = '\0';
	log_info("vGPU %s: VFIO device of mdev %s taken from QEMU (pid %d)", take->name, take->mdev,
		 (int)pid);
}

static int handle_retry(void *data)
{
	struct vfio_take *take = data;
	if (take->lost) {
		take->lost = false;
		let_go(take);
		wl_event_source_timer_update(take->retry, VFIO_TAKE_RETRY_MS);
		return 0;
	}
	try_take(take);
	return 0;
}

/* The device goes (closed once its buffers left the screen), and the vGPU with it. */
static void let_go(struct vfio_take *take)
{
	vfio_feed_destroy(take->feed);
	take->feed = NULL;
	vgpu_destroy(take->vgpu);
	take->vgpu = NULL;
	if (take->exit_source != NULL)
		wl_event_source_remove(take->exit_source);
	take->exit_source = NULL;
	if (take->pidfd >= 0)
		close(take->pidfd);
	take->pidfd = -1;
	take->pid = 0;
}

static void take_destroy(struct vfio_take *take)
{
	let_go(take);
	if (take->retry != NULL)
		wl_event_source_remove(take->retry);
	wl_list_remove(&take->link);
	free(take->name);
	free(take->address);
	free(take->mdev);
	free(take);
}

static struct vfio_take *take_create(struct vfio_take_manager *manager,
				     const struct config_vgpu *cv)
{
	struct vfio_take *take = calloc(1, sizeof(*take));
	if (take == NULL)
		return NULL;
	take->manager = manager;
	take->pidfd = -1;
	wl_list_insert(manager->takes.prev, &take->link);
	take->name = strdup(cv->name);
	take->address = strdup(cv->vfio_from);
	take->mdev = strdup(cv->mdev);
	take->retry = wl_event_loop_add_timer(manager->loop, handle_retry, take);
	if (take->name == NULL || take->address == NULL || take->mdev == NULL ||
	    take->retry == NULL) {
		take_destroy(take);
		return NULL;
	}
	try_take(take);
	return take;
}

static struct vfio_take *find_take(struct vfio_take_manager *manager, const char *name)
{
	struct vfio_take *take;
	wl_list_for_each (take, &manager->takes, link)
		if (strcmp(take->name, name) == 0)
			return take;
	return NULL;
}

struct vfio_take_manager *vfio_take_manager_create(struct wl_event_loop *loop,
						   const struct config *config,
						   struct vgpu_manager *vgpus)
{
	struct vfio_take_manager *manager = calloc(1, sizeof(*manager));
	if (manager == NULL)
		return NULL;
	manager->loop = loop;
	manager->config = config;
	manager->vgpus = vgpus;
	wl_list_init(&manager->takes);
	vfio_take_manager_reconfigure(manager);
	return manager;
}

void vfio_take_manager_destroy(struct vfio_take_manager *manager)
{
	if (manager == NULL)
		return;
	struct vfio_take *take, *tmp;
	wl_list_for_each_safe (take, tmp, &manager->takes, link)
		take_destroy(take);
	free(manager);
}

void vfio_take_manager_reconfigure(struct vfio_take_manager *manager)
{
	struct vfio_take *take, *tmp;
	wl_list_for_each_safe (take, tmp, &manager->takes, link) {
		const struct config_vgpu *cv = config_find_vgpu(manager->config, take->name);
		if (cv == NULL || cv->vfio_from == NULL ||
		    strcmp(cv->vfio_from, take->address) != 0 || strcmp(cv->mdev, take->mdev) != 0)
			take_destroy(take);
	}
	const struct config_vgpu *cv;
	wl_list_for_each (cv, &manager->config->vgpus, link)
		if (cv->vfio_from != NULL && find_take(manager, cv->name) == NULL &&
		    take_create(manager, cv) == NULL)
			log_error("vGPU %s: out of memory", cv->name);
}

bool vfio_take_manager_get_info(struct vfio_take_manager *manager, const char *name,
				struct vfio_take_info *info)
{
	struct vfio_take *take = manager != NULL ? find_take(manager, name) : NULL;
	if (take == NULL)
		return false;
	*info = (struct vfio_take_info){
		.address = take->address,
		.mdev = take->mdev,
		.taken = take->feed != NULL,
		.pid = take->pid,
		.takes = take->takes,
		.last_error = take->last_error[0] != '\0' ? take->last_error : NULL,
	};
	return true;
}
