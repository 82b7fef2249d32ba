/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_QEMU_H
#define VSCANOUT_QEMU_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "qemu/frame.h"
#include "qemu/input.h"

/*
 * vscanoutd as the D-Bus display of an unmodified QEMU (-display dbus):
 * one connection per [vgpu NAME] with qemu = ADDRESS, where ADDRESS is
 *
 *   qmp:/PATH      QEMU's QMP socket; QEMU runs with -display dbus,p2p=yes.
 *                  The daemon hands QEMU one end of a socketpair (QMP
 *                  getfd + add_client protocol=@dbus-display) and speaks
 *                  D-Bus peer to peer on the other.
 *   dbus:ADDRESS   a D-Bus bus (e.g. libvirt's per-domain bus,
 *                  unix:path=/run/libvirt/qemu/dbus/NAME-dbus.sock) where
 *                  QEMU owns org.qemu.
 *
 * and qemu-console = N picks the console (default: the first graphic
 * one). While QEMU is absent the vGPU does not exist and the placeholder
 * shows; the daemon tries again every QEMU_RETRY_MS and whenever QEMU
 * goes away, so a QEMU (re)started before or after the daemon is picked
 * up without a manual step.
 *
 * Once connected the console's listener (qemu/listener.c) feeds a vGPU
 * (vgpu/vgpu.h) of that name: frames from qemu/frame.h, input through
 * qemu/input.h, the output's size sent back with SetUIInfo.
 *
 * Nothing here waits on QEMU: every D-Bus call is asynchronous on the
 * daemon's loop (qemu/bus.h), QMP is read as it comes, and each step
 * has a deadline after which the connection is dropped with an error.
 */

#define QEMU_RETRY_MS 1000

struct config;
struct qemu_manager;
struct vgpu_manager;

enum qemu_state {
	QEMU_WAITING,    /* QEMU is not there (yet): retrying */
	QEMU_CONNECTING, /* QMP or D-Bus set-up under way */
	QEMU_CONNECTED,  /* the listener is registered */
};

struct qemu_info {
	const char *address; /* the configuration's qemu= */
	enum qemu_state state;
	const char *qemu_name;        /* the VM's Name property ("QEMU 7.2.22"), or NULL */
	int console;                  /* the console shown, -1 before one is chosen */
	uint64_t connects;            /* connections made */
	uint64_t frames;              /* frames handed to the vGPU */
	uint64_t presented;           /* of them, shown on the clock output */
	uint64_t zero_copy;           /* of those, shown with every layer on a plane */
	uint64_t dmabuf_replies;      /* UpdateDMABUF answered once on screen */
	uint64_t dmabuf_late;         /* UpdateDMABUF answered by the deadline instead */
	const char *last_error;       /* the last problem with this QEMU, or NULL */
	struct qemu_frame_info frame; /* valid while connected */
	struct qemu_input_info input; /* valid while connected */
};

/* Every qemu= vGPU of config (borrowed, outlives the manager). NULL on allocation failure. */
struct qemu_manager *qemu_manager_create(struct wl_event_loop *loop, const struct config *config,
					 struct vgpu_manager *vgpus);

/* Disconnects from every QEMU; their vGPUs go. NULL is a no-op. */
void qemu_manager_destroy(struct qemu_manager *manager);

/*
 * The configuration changed: connections whose qemu= or qemu-console=
 * changed or went are dropped, new ones start.
 */
void qemu_manager_reconfigure(struct qemu_manager *manager);

/* The state of the qemu= vGPU called name; false when it has no qemu=. */
bool qemu_manager_get_info(struct qemu_manager *manager, const char *name, struct qemu_info *info);

const char *qemu_state_name(enum qemu_state state);

#endif
