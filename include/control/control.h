/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_CONTROL_H
#define VSCANOUT_CONTROL_CONTROL_H

#include <stddef.h>

struct config;
struct display;
struct protocol_server;
struct qemu_manager;
struct vfio_take_manager;
struct vgpu_manager;
struct wl_display;

/*
 * The privileged control interface: the vscanout_control_v1 global
 * (protocol/vscanout-v1.xml) that vscanoutctl binds on the daemon's socket.
 *
 * Permission comes from the socket peer's credentials at connection time
 * (util/peer.h: uid and gid from SO_PEERCRED, supplementary groups from
 * SO_PEERGROUPS). Root and members of the configuration's control group
 * are allowed (config_control_allows()). The protocol server hides the
 * global from anyone else (a global filter): it is not in their registry,
 * and binding it anyway is libwayland's invalid-global error, which
 * disconnects them before anything of the daemon's is allocated or
 * logged. Where the global is reachable without that filter, a client that
 * may not use it gets the protocol error not_permitted on its first
 * request, whatever it is (refusals logged at most once per 10 s).
 *
 * Requests:
 *  - status: the daemon's state as one JSON document (control/status.h),
 *    answered at once.
 *  - capture (version 3): the raw pixels of what an output shows
 *    (control/screenshot.h), for the client to encode: read back through a
 *    writeback connector where the output's device has one (answered when
 *    the capture's frame is done, a few refreshes later), else composed in
 *    software from the buffers on its layers (answered at once).
 *  - screenshot: answered failed (the daemon encodes no PNG since
 *    version 3).
 *  - blank, unblank: DPMS off and on for one output, its CRTC turned off
 *    and lit again with its settings and layers kept (control/blank.h),
 *    answered at once.
 *  - reload, assign and (version 2) assign_slot: through the daemon's
 *    actions (control_set_actions()), answered at once. assign_slot's
 *    slot counts from 1 on the wire; 0 is answered failed.
 *
 * status writes into an fd the client passes: it must be a regular file or
 * memfd open for writing (protocol error invalid_fd otherwise), and is
 * truncated, written from offset 0 with pwrite() and left at the size of
 * what was written. capture's fd must be an unsealed memfd that allows
 * sealing (invalid_fd otherwise): the pixels are written into it with
 * pwrite() and it is sealed; the loop spends a copy of the frame on it.
 *
 * A client may have at most CONTROL_MAX_SCREENSHOTS screenshots waiting;
 * more are answered failed. A client that goes away while its screenshot
 * waits for the hardware is forgotten: the capture still completes inside
 * the KMS core, and its result goes nowhere.
 */
struct control;

/* The version of vscanout_control_v1 advertised: 2 adds assign_slot, 3 capture. */
#define CONTROL_VERSION 3

/* Screenshots one control object may have waiting at a time. */
#define CONTROL_MAX_SCREENSHOTS 4

/*
 * Advertise vscanout_control_v1 on display (borrowed). config and displays
 * (borrowed) must outlive the control object; server (borrowed, may be
 * NULL) gives the socket path and vgpus (borrowed, may be NULL: no vGPU
 * is ever attached) the attached vGPUs in the status. Returns NULL after
 * logging why.
 */
struct control *control_create(struct wl_display *display, const struct config *config,
			       struct display *displays, struct protocol_server *server,
			       struct vgpu_manager *vgpus);

/* The vGPUs that are QEMU's D-Bus displays (borrowed, may be NULL), for the status. */
void control_set_qemu(struct control *control, struct qemu_manager *qemu);

/* The VFIO devices taken from running QEMUs (borrowed, may be NULL), for the status. */
void control_set_vfio_take(struct control *control, struct vfio_take_manager *take);

/*
 * What the daemon does for the reload, assign and assign_slot requests: 0,
 * or a negative errno with the reason in msg. assign gets the slot from 0
 * (the first place of the output's vgpu= list, 1 on the wire); plain
 * assign is slot 0.
 */
struct control_actions {
	int (*reload)(void *data, char *msg, size_t msg_size);
	int (*assign)(void *data, const char *vgpu, const char *output, size_t slot, char *msg,
		      size_t msg_size);
	void *data;
};

/* Set the actions (copied); without them reload and assign fail. */
void control_set_actions(struct control *control, const struct control_actions *actions);

/*
 * Remove the global. Control objects clients still hold become inert (their
 * requests are ignored, their fds closed) and screenshots waiting for the
 * hardware are forgotten. Must be called before the displays and the
 * server are destroyed. NULL is a no-op.
 */
void control_destroy(struct control *control);

#endif
