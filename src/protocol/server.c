// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "protocol/private.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

static void handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct protocol_client *pclient = wl_container_of(listener, pclient, destroy);
	wl_list_remove(&pclient->destroy.link);
	wl_list_init(&pclient->destroy.link);
	pclient->client = NULL;
	protocol_client_unref(pclient);
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
	pclient = calloc(1, sizeof(*pclient));
	if (pclient == NULL) {
		wl_client_post_no_memory(client);
		return NULL;
	}
	pclient->client = client;
	pclient->refcnt = 2; /* the client's and the caller's */
	pclient->destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client, &pclient->destroy);
	return pclient;
}

void protocol_client_unref(struct protocol_client *pclient)
{
	if (pclient == NULL || --pclient->refcnt > 0)
		return;
	wl_list_remove(&pclient->destroy.link);
	free(pclient);
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

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
	/* Takes fd on success. */
	if (wl_display_add_socket_fd(server->display, fd) != 0) {
		ret = -EINVAL;
		log_error("cannot serve the socket %s", server->socket_path);
		goto error_fd;
	}
	return 0;

error_fd:
	close(fd);
	return ret;
}

struct protocol_server *protocol_server_create(struct wl_display *display,
					       const struct config *config,
					       struct display *displays)
{
	struct protocol_server *server = calloc(1, sizeof(*server));
	if (server == NULL) {
		log_error("out of memory");
		return NULL;
	}
	server->display = display;
	server->config = config;
	server->displays = displays;
	server->lock_fd = -1;
	server->next_vgpu_id = 1;
	wl_list_init(&server->vgpus);

	if (config_socket_path(config, server->socket_path, sizeof(server->socket_path)) != 0) {
		log_error("the socket path is too long (at most %zu bytes)",
			  sizeof(server->socket_path) - 1);
		goto error;
	}
	snprintf(server->lock_path, sizeof(server->lock_path), "%s.lock", server->socket_path);

	if (create_parent_dir(server->socket_path) != 0 || lock_socket_path(server) != 0 ||
	    remove_stale_socket(server->socket_path) != 0 || create_socket(server) != 0)
		goto error; /* logged */

	server->manager = wl_global_create(display, &vscanout_manager_v1_interface, 1, server,
					   protocol_manager_bind);
	if (server->manager == NULL) {
		log_error("cannot create the vscanout_manager_v1 global");
		goto error;
	}
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
	if (server->socket_created)
		unlink(server->socket_path);
	if (server->lock_fd >= 0) {
		unlink(server->lock_path);
		close(server->lock_fd);
	}
	free(server);
}

void protocol_server_set_input(struct protocol_server *server, struct input_forward *forward)
{
	if (server != NULL)
		server->forward = forward;
}
