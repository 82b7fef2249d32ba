/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_PROTOCOL_PRIVATE_H
#define VSCANOUT_PROTOCOL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>
#include <wayland-server-core.h>

#include "buffer/dmabuf.h"
#include "input/router.h"
#include "util/log.h"
#include "util/peer.h"
#include "vgpu/vgpu.h"

/*
 * Objects of the vscanout-v1 server, shared by server.c (socket, global,
 * per-client accounting), manager.c, vgpu.c and buffer.c.
 */

struct buffer;
struct config;
struct display;
struct vfio_feed;
struct vgpu;
struct vgpu_manager;

/*
 * Per-client limits. Reaching one is the protocol error "limit" of the
 * interface whose request would exceed it, with a message naming the limit.
 * Planes (and so fds) per parameter object are bounded by the plane index
 * (FOURCC_MAX_PLANES), fds held in parameters by the two limits together.
 * Commits not yet answered need no limit: a commit replaces any other
 * aimed at the same frame (discarded), so at most two are outstanding, one
 * in flight and one waiting for the next frame.
 */
#define PROTOCOL_MAX_BUFFERS 64 /* buffer objects alive per client */
#define PROTOCOL_MAX_PARAMS  16 /* parameter objects not yet used by create, per client */

/*
 * Objects of any interface (registries, callbacks, manager bindings and
 * the above) are bounded by their ids: a client may not use an id above
 * this one. libwayland allocates a client's object table up to its largest
 * id, so this bounds the daemon's memory per client. Going beyond is the
 * wl_display error implementation, and the client is disconnected.
 */
#define PROTOCOL_MAX_OBJECT_ID 1024

/*
 * Connections are counted per uid and in all (config max-clients,
 * max-clients-per-uid); the daemon accepts them itself and closes one over
 * a limit at once, before any wl_client exists for it.
 */
struct protocol_uid {
	uid_t uid;
	unsigned n_clients;  /* connections of this uid alive */
	struct wl_list link; /* protocol_server.uids */
};

struct protocol_server {
	struct wl_display *display;      /* borrowed */
	const struct config *config;     /* borrowed */
	struct display *displays;        /* borrowed */
	struct vgpu_manager *vgpus_core; /* borrowed: every vGPU, whoever attached it */
	struct wl_global *manager;       /* may be NULL while being built */
	struct wl_list vgpus;            /* protocol_vgpu.link: vGPUs attached by clients */
	uint64_t next_vgpu_id;           /* ids tie parameters and buffers to their vGPU */
	int lock_fd;                     /* -1 when not held */
	int listen_fd;                   /* -1 until listening */
	struct wl_event_source *listen_source;
	struct wl_event_source *accept_timer; /* resumes accepting after EMFILE */
	struct wl_list uids;                  /* protocol_uid.link: uids with connections */
	unsigned n_clients;                   /* connections alive */
	struct log_ratelimit refused_log;     /* connections refused */
	struct log_ratelimit accept_log;      /* accept() failures */
	struct log_ratelimit attach_log;      /* attaches refused */
	bool socket_created;                  /* socket_path is ours to unlink */
	bool filter_set;                      /* the display's global filter is ours */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 5];
};

/*
 * What one wl_client holds, for its limits. Reference counted: libwayland
 * emits a client's destroy signal before destroying its resources, so the
 * resources keep it alive.
 */
struct protocol_client {
	struct wl_client *client; /* NULL once the client is gone */
	struct protocol_server *server;
	struct peer_cred cred;        /* the peer's, as of its connect() */
	struct protocol_uid *counted; /* may be NULL: not counted (not accepted by the server) */
	struct wl_listener destroy;
	struct wl_listener resource_created;
	int refcnt;
	size_t n_buffers; /* buffer objects alive */
	size_t n_params;  /* parameter objects not yet used */
};

/*
 * The accounting of client, made when the server accepted it (or on first
 * use for a client made elsewhere, its credentials then read from its
 * socket), with one reference held by the client itself, dropped when it
 * goes. Returns a new reference, or NULL after posting no_memory.
 */
struct protocol_client *protocol_client_get(struct wl_client *client);

/* Drop a reference from protocol_client_get(). NULL is a no-op. */
void protocol_client_unref(struct protocol_client *pclient);

/* One plane's pending state. */
struct protocol_plane_state {
	struct buffer *buffer; /* may be NULL: a reference */
	int32_t x, y;          /* top-left corner on the output */
};

struct protocol_vgpu {
	struct protocol_server *server;
	struct wl_resource *resource;
	struct wl_list link; /* protocol_server.vgpus */
	struct protocol_client *pclient;
	uint64_t id;
	char *name;
	struct vgpu *core;                           /* what it attached (vgpu/vgpu.h) */
	struct vgpu_source source;                   /* the client as the core's source */
	struct input_target sink;                    /* its input object as the core's input sink */
	struct wl_listener views_changed;            /* the core's views: output events follow */
	struct protocol_plane_state primary, cursor; /* pending until commit */
	/* may be NULL: the VFIO device handed over, the core's source while set */
	struct vfio_feed *vfio;
	struct wl_resource *input; /* may be NULL: the vscanout_input_v1 object */
};

/* A vscanout_buffer_params_v1. */
struct protocol_params {
	struct wl_resource *resource;
	struct protocol_client *pclient;
	uint64_t vgpu_id;
	bool used;
	struct dmabuf_attributes attrs; /* fds owned */
	bool plane_set[FOURCC_MAX_PLANES];
};

/* A vscanout_buffer_v1. */
struct protocol_buffer {
	struct wl_resource *resource;
	struct protocol_client *pclient;
	uint64_t vgpu_id;
	struct buffer *buffer; /* a reference */
	struct wl_listener release;
};

/* The vscanout_manager_v1 global's bind handler. data: the server. */
void protocol_manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id);

/*
 * Attach vgpu name to a new vscanout_vgpu_v1 resource id: layers on each of
 * its outputs, output events and done. The caller checked permissions.
 */
void protocol_vgpu_create(struct protocol_server *server, struct wl_client *client,
			  uint32_t version, uint32_t id, const char *name);

/* A new vscanout_buffer_params_v1 tied to the vGPU vgpu_id. */
void protocol_params_create(struct protocol_client *pclient, struct wl_resource *parent,
			    uint32_t id, uint64_t vgpu_id);

/* protocol/input.c: the client's input object as the core's input sink. */
extern const struct input_target_impl protocol_input_sink_impl;

/* Tell the vGPU's input object the paths (and fds) of its virtual devices. */
void protocol_vgpu_send_uinput_devices(struct protocol_vgpu *vgpu);

/* The protocol_buffer of a vscanout_buffer_v1 resource. */
struct protocol_buffer *protocol_buffer_from_resource(struct wl_resource *resource);

#endif
