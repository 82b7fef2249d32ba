// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "protocol/private.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

/* Connections accepted per wakeup, so that a flood leaves the loop to others. */
#define ACCEPT_BATCH 32

/* How long accepting pauses when the daemon is out of fds, in ms. */
#define ACCEPT_PAUSE_MS 100

static unsigned max_clients(const struct protocol_server *server)
{
	return server->config->max_clients ? server->config->max_clients
					   : CONFIG_MAX_CLIENTS_DEFAULT;
}

static unsigned max_clients_per_uid(const struct protocol_server *server)
{
	return server->config->max_clients_per_uid ? server->config->max_clients_per_uid
						   : CONFIG_MAX_CLIENTS_PER_UID_DEFAULT;
}

static struct protocol_uid *uid_find(struct protocol_server *server, uid_t uid)
{
	struct protocol_uid *entry;
	wl_list_for_each (entry, &server->uids, link) {
		if (entry->uid == uid)
			return entry;
	}
	return NULL;
}

static void uncount(struct protocol_client *pclient)
{
	struct protocol_uid *entry = pclient->counted;
	if (entry == NULL)
		return;
	pclient->counted = NULL;
	pclient->server->n_clients--;
	if (--entry->n_clients == 0) {
		wl_list_remove(&entry->link);
		free(entry);
	}
}

static void handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct protocol_client *pclient = wl_container_of(listener, pclient, destroy);
	wl_list_remove(&pclient->destroy.link);
	wl_list_init(&pclient->destroy.link);
	/* libwayland drops the client's signal without emptying it. */
	wl_list_remove(&pclient->resource_created.link);
	wl_list_init(&pclient->resource_created.link);
	uncount(pclient);
	pclient->client = NULL;
	protocol_client_unref(pclient);
}

static void handle_resource_created(struct wl_listener *listener, void *data)
{
	struct protocol_client *pclient = wl_container_of(listener, pclient, resource_created);
	struct wl_resource *resource = data;
	uint32_t id = wl_resource_get_id(resource);
	/* Ids from 0xff000000 on are the server's own. */
	if (id > PROTOCOL_MAX_OBJECT_ID && id < 0xff000000u)
		wl_client_post_implementation_error(pclient->client,
						    "object id %u: the limit is %u objects", id,
						    PROTOCOL_MAX_OBJECT_ID);
}

/* The accounting of a new client; takes cred. NULL when out of memory. */
static struct protocol_client *client_new(struct protocol_server *server, struct wl_client *client,
					  struct peer_cred *cred)
{
	struct protocol_client *pclient = calloc(1, sizeof(*pclient));
	if (pclient == NULL)
		return NULL;
	pclient->client = client;
	pclient->server = server;
	pclient->cred = *cred;
	*cred = (struct peer_cred){0};
	pclient->refcnt = 1; /* the client's */
	pclient->destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client, &pclient->destroy);
	pclient->resource_created.notify = handle_resource_created;
	wl_client_add_resource_created_listener(client, &pclient->resource_created);
	return pclient;
}

struct protocol_client *protocol_client_get(struct wl_client *client)
{
	struct wl_listener *listener =
		wl_client_get_destroy_listener(client, handle_client_destroy);
	struct protocol_client *pclient;
	if (listener != NULL) {
		pclient = wl_container_of(listener, pclient, destroy);
		pclient->refcnt++;
		return pclient;
	}
	/* A client the server did not accept itself: not counted. */
	struct peer_cred cred;
	if (peer_cred_read(wl_client_get_fd(client), &cred) != 0) {
		wl_client_post_no_memory(client);
		return NULL;
	}
	pclient = client_new(NULL, client, &cred);
	if (pclient == NULL) {
		peer_cred_finish(&cred);
		wl_client_post_no_memory(client);
		return NULL;
	}
	pclient->refcnt++; /* the caller's */
	return pclient;
}

void protocol_client_unref(struct protocol_client *pclient)
{
	if (pclient == NULL || --pclient->refcnt > 0)
		return;
	wl_list_remove(&pclient->destroy.link);
	wl_list_remove(&pclient->resource_created.link);
	peer_cred_finish(&pclient->cred);
	free(pclient);
}

static void log_refused(struct protocol_server *server, const struct peer_cred *cred,
			const char *why)
{
	unsigned long held_back;
	if (!log_ratelimit_pass(&server->refused_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		return;
	log_warn("refused a connection of pid %d, uid %u: %s (%lu more refused since the last "
		 "such message)",
		 (int)cred->pid, (unsigned int)cred->uid, why, held_back);
}

/*
 * Count the connection fd in its uid's and the global budgets and make it
 * a client, or close it at once: a refusal allocates nothing.
 */
static void admit(struct protocol_server *server, int fd)
{
	struct peer_cred cred;
	if (peer_cred_read_ids(fd, &cred) != 0) {
		close(fd);
		return;
	}
	struct protocol_uid *entry = uid_find(server, cred.uid);
	char why[128];
	if (cred.uid != 0 && server->n_clients >= max_clients(server)) {
		snprintf(why, sizeof(why), "%u connections, the limit of [daemon] max-clients",
			 server->n_clients);
		log_refused(server, &cred, why);
		close(fd);
		return;
	}
	if (cred.uid != 0 && entry != NULL && entry->n_clients >= max_clients_per_uid(server)) {
		snprintf(why, sizeof(why),
			 "%u connections of that uid, the limit of [daemon] max-clients-per-uid",
			 entry->n_clients);
		log_refused(server, &cred, why);
		close(fd);
		return;
	}
	if (peer_cred_read_groups(fd, &cred) != 0) {
		log_warn_errno("cannot read the groups of pid %d, uid %u", (int)cred.pid,
			       (unsigned int)cred.uid);
		close(fd);
		return;
	}
	bool new_entry = entry == NULL;
	if (new_entry) {
		entry = calloc(1, sizeof(*entry));
		if (entry == NULL)
			goto error_cred;
		entry->uid = cred.uid;
		wl_list_insert(&server->uids, &entry->link);
	}
	struct wl_client *client = wl_client_create(server->display, fd);
	if (client == NULL)
		goto error_entry;
	struct protocol_client *pclient = client_new(server, client, &cred);
	if (pclient == NULL) {
		/* Destroying the client closes fd. */
		wl_client_destroy(client);
		fd = -1;
		goto error_entry;
	}
	pclient->counted = entry;
	entry->n_clients++;
	server->n_clients++;
	return;

error_entry:
	if (new_entry) {
		wl_list_remove(&entry->link);
		free(entry);
	}
error_cred:
	log_error("out of memory for a connection of pid %d, uid %u", (int)cred.pid,
		  (unsigned int)cred.uid);
	peer_cred_finish(&cred);
	if (fd >= 0)
		close(fd);
}

static int handle_accept_timer(void *data)
{
	struct protocol_server *server = data;
	wl_event_source_fd_update(server->listen_source, WL_EVENT_READABLE);
	return 0;
}

static int handle_listen(int fd, uint32_t mask, void *data)
{
	struct protocol_server *server = data;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (client_fd >= 0) {
			admit(server, client_fd);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ECONNABORTED || errno == EPERM || errno == EPROTO)
			continue;
		/* Out of fds or memory: the connection stays queued, try again soon. */
		unsigned long held_back;
		if (log_ratelimit_pass(&server->accept_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
			log_error_errno("cannot accept a connection on %s (%lu more failures since "
					"the last such message)",
					server->socket_path, held_back);
		wl_event_source_fd_update(server->listen_source, 0);
		wl_event_source_timer_update(server->accept_timer, ACCEPT_PAUSE_MS);
		return 0;
	}
	return 0;
}

/*
 * libwayland's messages (one per client it disconnects for an error, for
 * one): into the daemon's log, at most one line per 10 s, since any client
 * can cause them at will.
 */
static void wayland_log(const char *fmt, va_list args)
{
	static struct log_ratelimit limit;
	unsigned long held_back;
	if (!log_ratelimit_pass(&limit, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		return;
	char message[256];
	vsnprintf(message, sizeof(message), fmt, args);
	message[strcspn(message, "\n")] = '\0';
	log_info("libwayland: %s (%lu more messages since the last one)", message, held_back);
}

/* Raise the soft limit of open files to the hard one: connections need fds. */
static void raise_fd_limit(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		log_warn_errno("cannot raise the limit of open files");
	else
		log_debug("open files: up to %llu", (unsigned long long)limit.rlim_cur);
}

/*
 * Only clients that may use it see the control global: binding it is
 * otherwise libwayland's error invalid global, which allocates nothing of
 * the daemon's.
 */
static bool filter_global(const struct wl_client *client, const struct wl_global *global,
			  void *data)
{
	struct protocol_server *server = data;
	if (wl_global_get_interface(global) != &vscanout_control_v1_interface)
		return true;
	struct wl_listener *listener =
		wl_client_get_destroy_listener((struct wl_client *)client, handle_client_destroy);
	struct peer_cred cred;
	bool allowed;
	if (listener != NULL) {
		struct protocol_client *pclient = wl_container_of(listener, pclient, destroy);
		cred = pclient->cred;
		allowed = config_control_allows(server->config, cred.uid, cred.gid, cred.groups,
						cred.n_groups);
	} else {
		if (peer_cred_read(wl_client_get_fd((struct wl_client *)client), &cred) != 0)
			return false;
		allowed = config_control_allows(server->config, cred.uid, cred.gid, cred.groups,
						cred.n_groups);
		peer_cred_finish(&cred);
	}
	return allowed;
}

/* mkdir the parent of path (one level) with mode 0755 when it is missing. */
static int create_parent_dir(const char *path)
{
	char dir[sizeof(((struct protocol_server *)0)->socket_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		log_info("created %s", dir);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	int ret = -errno;
	log_error_errno("cannot create the socket's directory %s", dir);
	return ret;
}

static int lock_socket_path(struct protocol_server *server)
{
	server->lock_fd = open(server->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (server->lock_fd < 0) {
		int ret = -errno;
		log_error_errno("cannot open the lock file %s", server->lock_path);
		return ret;
	}
	if (flock(server->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int ret = -errno;
		if (errno == EWOULDBLOCK)
			log_error("socket %s is in use by another vscanoutd (%s is locked)",
				  server->socket_path, server->lock_path);
		else
			log_error_errno("cannot lock %s", server->lock_path);
		close(server->lock_fd);
		server->lock_fd = -1;
		return ret;
	}
	return 0;
}

/* With the lock held: remove a stale socket, never anything else. */
static int remove_stale_socket(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	log_debug("removing the stale socket %s", path);
	if (unlink(path) != 0) {
		int ret = -errno;
		log_error_errno("cannot remove the stale socket %s", path);
		return ret;
	}
	return 0;
}

static int create_socket(struct protocol_server *server)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", server->socket_path);
	int ret;

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		log_error_errno("cannot create a socket");
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		ret = -errno;
		log_error_errno("cannot bind the socket %s", server->socket_path);
		goto error_fd;
	}
	server->socket_created = true;
	if (chmod(server->socket_path, 0660) != 0 || listen(fd, 128) != 0) {
		ret = -errno;
		log_error_errno("cannot listen on %s", server->socket_path);
		goto error_fd;
	}
	struct wl_event_loop *loop = wl_display_get_event_loop(server->display);
	server->listen_source =
		wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE, handle_listen, server);
	server->accept_timer = wl_event_loop_add_timer(loop, handle_accept_timer, server);
	if (server->listen_source == NULL || server->accept_timer == NULL) {
		ret = -ENOMEM;
		log_error("cannot serve the socket %s", server->socket_path);
		goto error_fd;
	}
	server->listen_fd = fd;
	return 0;

error_fd:
	close(fd);
	return ret;
}

struct protocol_server *protocol_server_create(struct wl_display *display,
					       const struct config *config,
					       struct display *displays, struct vgpu_manager *vgpus)
{
	struct protocol_server *server = calloc(1, sizeof(*server));
	if (server == NULL) {
		log_error("out of memory");
		return NULL;
	}
	server->display = display;
	server->config = config;
	server->displays = displays;
	server->vgpus_core = vgpus;
	server->lock_fd = -1;
	server->listen_fd = -1;
	server->next_vgpu_id = 1;
	wl_list_init(&server->vgpus);
	wl_list_init(&server->uids);
	/* A client that goes away must never kill the daemon with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	if (config_socket_path(config, server->socket_path, sizeof(server->socket_path)) != 0) {
		log_error("the socket path is too long (at most %zu bytes)",
			  sizeof(server->socket_path) - 1);
		goto error;
	}
	snprintf(server->lock_path, sizeof(server->lock_path), "%s.lock", server->socket_path);

	if (create_parent_dir(server->socket_path) != 0 || lock_socket_path(server) != 0 ||
	    remove_stale_socket(server->socket_path) != 0 || create_socket(server) != 0)
		goto error; /* logged */

	server->manager = wl_global_create(display, &vscanout_manager_v1_interface, 2, server,
					   protocol_manager_bind);
	if (server->manager == NULL) {
		log_error("cannot create the vscanout_manager_v1 global");
		goto error;
	}
	wl_log_set_handler_server(wayland_log);
	wl_display_set_global_filter(display, filter_global, server);
	server->filter_set = true;
	log_info("listening on %s", server->socket_path);
	return server;

error:
	protocol_server_destroy(server);
	return NULL;
}

void protocol_server_destroy(struct protocol_server *server)
{
	if (server == NULL)
		return;
	/* Their vGPUs' layers must go while the outputs still exist. */
	wl_display_destroy_clients(server->display);
	if (server->manager != NULL)
		wl_global_destroy(server->manager);
	if (server->filter_set)
		wl_display_set_global_filter(server->display, NULL, NULL);
	if (server->listen_source != NULL)
		wl_event_source_remove(server->listen_source);
	if (server->accept_timer != NULL)
		wl_event_source_remove(server->accept_timer);
	if (server->listen_fd >= 0)
		close(server->listen_fd);
	if (server->socket_created)
		unlink(server->socket_path);
	if (server->lock_fd >= 0) {
		unlink(server->lock_path);
		close(server->lock_fd);
	}
	free(server);
}

const char *protocol_server_socket_path(const struct protocol_server *server)
{
	return server->socket_path;
}
