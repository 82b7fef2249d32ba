/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_PROTOCOL_SERVER_H
#define VSCANOUT_PROTOCOL_SERVER_H

struct config;
struct display;
struct input_forward;
struct wl_display;

/*
 * The vscanout-v1 server (protocol/vscanout-v1.xml): the listening socket,
 * the vscanout_manager_v1 global and every client's objects.
 *
 * The socket path comes from config_socket_path(). It is created safely: a
 * lock file "PATH.lock" is held with flock() for the server's lifetime (a
 * second daemon on the same path fails with a clear message), a stale
 * socket is unlinked only while holding that lock (anything else at PATH is
 * left alone and reported), the parent directory is created with mode 0755
 * when it is missing (for /run/vscanout), and the socket gets mode 0660.
 *
 * The server accepts connections itself (a non-blocking listening socket on
 * the event loop, at most 32 per wakeup) and reads each peer's credentials
 * (util/peer.h) before anything else: connections are counted per uid and
 * in all, and one beyond [daemon] max-clients-per-uid or max-clients (root
 * is never refused, but counts in max-clients) is closed at once, before a
 * wl_client or anything else exists for it; refusals are logged at most
 * once per 10 s. When accept() runs out of fds or memory, accepting pauses
 * for 100 ms. Creating the server raises the soft limit of open files to
 * the hard one and ignores SIGPIPE. A global filter shows the
 * vscanout_control_v1 global only to clients config_control_allows().
 *
 * Clients attach to vGPUs of the configuration: each attach makes a vGPU
 * of the core (vgpu/vgpu.h), which shows it on the outputs whose vgpu=
 * lists it. See protocol/private.h for the objects and limits.
 */
struct protocol_server;
struct vgpu_manager;

/*
 * Listen on the configured socket and advertise the manager global on
 * display (borrowed). config, displays and vgpus (where attached vGPUs
 * are made) are borrowed and must outlive the server. Returns NULL after
 * logging why.
 */
struct protocol_server *protocol_server_create(struct wl_display *display,
					       const struct config *config,
					       struct display *displays,
					       struct vgpu_manager *vgpus);

/*
 * Disconnect every client (their vGPUs are detached, their layers emptied),
 * remove the global, unlink the socket and release the lock file. Must be
 * called before the displays are destroyed. NULL is a no-op.
 */
void protocol_server_destroy(struct protocol_server *server);

/* The path of the listening socket. */
const char *protocol_server_socket_path(const struct protocol_server *server);

#endif
