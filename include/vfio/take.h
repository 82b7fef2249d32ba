/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_TAKE_H
#define VSCANOUT_VFIO_TAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

/*
 * A mediated vGPU's VFIO device taken from the running QEMU that owns it
 * ([vgpu NAME] vfio-from = qmp:/PATH, mdev = UUID), so that vscanoutd
 * polls its planes at the monitor's vblank (vfio/feed.h) while QEMU runs
 * the VM with -device vfio-pci,sysfsdev=...,display=off.
 *
 * QEMU's pid comes from the peer credentials of its QMP socket (a connect
 * and close, nothing is said). In /proc/PID/fd the daemon finds QEMU's
 * VFIO group of the mdev (/dev/vfio/N, N the mdev's iommu_group),
 * duplicates it with pidfd_getfd(2) and asks it for the device of that
 * UUID (VFIO_GROUP_GET_DEVICE_FD): the device is told by name, however
 * many VFIO devices the VM has. Without the group (QEMU opened the device
 * another way) a single vfio-device fd of QEMU is taken as it is.
 * pidfd_getfd needs ptrace rights over QEMU: CAP_SYS_PTRACE, and Yama's
 * kernel.yama.ptrace_scope below 3; without them the vGPU says so (log
 * and status) and is retried.
 *
 * QEMU's exit makes its pidfd readable: the daemon lets the device go at
 * once (its buffers leave the screen with the next frame, the fd is closed
 * then), the placeholder shows, and a QEMU started again on that socket is
 * taken again, tried every VFIO_TAKE_RETRY_MS. Nothing here waits.
 */

#define VFIO_TAKE_RETRY_MS 1000

struct config;
struct vfio_take_manager;
struct vgpu_manager;

struct vfio_take_info {
	const char *address;    /* vfio-from= */
	const char *mdev;       /* mdev= */
	bool taken;             /* the device feeds the vGPU */
	pid_t pid;              /* QEMU's, 0 when not taken */
	uint64_t takes;         /* devices taken since the start */
	const char *last_error; /* NULL if none */
};

struct vfio_take_manager *vfio_take_manager_create(struct wl_event_loop *loop,
						   const struct config *config,
						   struct vgpu_manager *vgpus);

/* NULL is a no-op. */
void vfio_take_manager_destroy(struct vfio_take_manager *manager);

/* vfio-from= or mdev= changed or went: let go; new ones are tried. */
void vfio_take_manager_reconfigure(struct vfio_take_manager *manager);

/* False when the vGPU called name has no vfio-from=. */
bool vfio_take_manager_get_info(struct vfio_take_manager *manager, const char *name,
				struct vfio_take_info *info);

/*
 * The VFIO device of mdev `uuid` as held by process pid (pidfd: its
 * pidfd), duplicated into this process (O_CLOEXEC), or a negative errno
 * with a message naming the problem in msg. Exposed for tests.
 */
int vfio_take_device(pid_t pid, int pidfd, const char *uuid, char *msg, size_t msg_size);

#endif
