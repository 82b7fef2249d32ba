// SPDX-License-Identifier: MIT
/*
 * The vscanout-v1 server without any display, on the host: how the socket
 * is created (directory, modes, lock, stale socket, foreign file), and a
 * client in a forked child that attaches to a vGPU without outputs and
 * is refused an unknown one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "client.h"
#include "config/config.h"
#include "protocol/server.h"
#include "test.h"
#include "util/log.h"
#include "vgpu/vgpu.h"

static char socket_path[108];

static void parse(struct config *config, const char *text)
{
	config_init(config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	check(f != NULL);
	check_int_eq(config_parse(config, f, "test.conf"), 0);
	fclose(f);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	check(lstat(path, &st) == 0);
	return st.st_mode;
}

/* ---- client (child) ---- */

/* Attach to "v"; then ask for an unknown vGPU, or, the second time, a clock. */
static int run_client(bool second)
{
	struct client c;
	client_connect(&c, socket_path);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "v");
	client_roundtrip(&c);
	check(c.done);
	check_int_eq(c.n_outputs, 0);

	if (second) {
		/* No output, no clock. */
		vscanout_vgpu_v1_get_vblank_source(vgpu);
		client_expect_error(&c, &vscanout_vgpu_v1_interface,
				    VSCANOUT_VGPU_V1_ERROR_NO_OUTPUT, "is shown on no output");
	}
	vscanout_manager_v1_attach(c.manager, "nope");
	client_expect_error(&c, &vscanout_manager_v1_interface,
			    VSCANOUT_MANAGER_V1_ERROR_UNKNOWN_VGPU, "no vGPU \"nope\"");
	return 1; /* not reached: client_expect_error() exits 0 */
}

/* ---- server (this process) ---- */

static int handle_child(int fd, uint32_t mask, void *data)
{
	bool *exited = data;
	*exited = true;
	return 0;
}

static void serve_one_client(struct wl_display *display, bool second)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0)
		_exit(run_client(second));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	check(pidfd >= 0);
	bool exited = false;
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	struct wl_event_source *source =
		wl_event_loop_add_fd(loop, pidfd, WL_EVENT_READABLE, handle_child, &exited);
	while (!exited) {
		wl_display_flush_clients(display);
		check(wl_event_loop_dispatch(loop, 10000) >= 0);
	}
	wl_event_source_remove(source);
	close(pidfd);
	int status;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	log_init(LOG_LEVEL_DEBUG);
	char dir[] = "/tmp/vscanout-server-XXXXXX";
	check(mkdtemp(dir) != NULL);
	char run_dir[64], lock_path[128], text[256];
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(socket_path, sizeof(socket_path), "%s/vscanout-0", run_dir);
	snprintf(lock_path, sizeof(lock_path), "%s.lock", socket_path);
	snprintf(text, sizeof(text), "[daemon]\nsocket = %s\n[vgpu v]\n", socket_path);
	struct config config;
	parse(&config, text);
	struct wl_display *display = wl_display_create();
	check(display != NULL);

	/* The missing directory is created 0755, the socket is 0660, the lock held. */
	struct vgpu_manager *vgpus = vgpu_manager_create(&config, NULL);
	check(vgpus != NULL);
	struct protocol_server *server = protocol_server_create(display, &config, NULL, vgpus);
	check(server != NULL);
	check_int_eq(mode_of(run_dir) & 07777, 0755);
	check(S_ISSOCK(mode_of(socket_path)));
	check_int_eq(mode_of(socket_path) & 07777, 0660);
	check(S_ISREG(mode_of(lock_path)));

	/* A second server on the path is refused and leaves the first one alone. */
	check(protocol_server_create(display, &config, NULL, vgpus) == NULL);
	check(S_ISSOCK(mode_of(socket_path)));
	serve_one_client(display, false);

	protocol_server_destroy(server);
	check(access(socket_path, F_OK) != 0);
	check(access(lock_path, F_OK) != 0);

	/* A stale socket (its server died) is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	check(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	close(fd);
	server = protocol_server_create(display, &config, NULL, vgpus);
	check(server != NULL);
	serve_one_client(display, true);
	protocol_server_destroy(server);

	/* Anything else at the path is left alone. */
	FILE *f = fopen(socket_path, "we");
	check(f != NULL);
	fclose(f);
	check(protocol_server_create(display, &config, NULL, vgpus) == NULL);
	check(S_ISREG(mode_of(socket_path)));
	unlink(socket_path);

	/* A path longer than a socket address is refused (the parser refuses it too). */
	char long_path[256];
	snprintf(long_path, sizeof(long_path), "%s/%0120d", dir, 0);
	free(config.socket_path);
	config.socket_path = strdup(long_path);
	check(config.socket_path != NULL);
	check(protocol_server_create(display, &config, NULL, vgpus) == NULL);

	wl_display_destroy(display);
	vgpu_manager_destroy(vgpus);
	config_finish(&config);
	rmdir(run_dir);
	rmdir(dir);
	return 0;
}
