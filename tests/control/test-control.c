// SPDX-License-Identifier: MIT
/*
 * The control interface without any display, on the host: the daemon's
 * server and control global run in this process, vscanoutctl and raw
 * clients in children.
 *
 *  - status --json: daemon, no outputs, the configured vGPUs, one attached
 *    by a child whose pid and uid show; the human form says the same.
 *  - refusals: an unknown output (failed), a user that is neither root nor
 *    in the control group (not_permitted, exit 1), a socket nobody listens
 *    on, a pipe as status' fd, a capture into a read-only file, a memfd
 *    without sealing, one already sealed or one open read-only
 *    (invalid_fd); a user whose supplementary group is the control group
 *    is served. The screenshot request of daemons before version 3 is
 *    answered failed, its file left empty; vscanoutctl's screenshot from
 *    a daemon of control version 2 fails naming the version, no file.
 *  - a regular file full of junk gets exactly the document.
 *  - control_destroy() while a client holds the object: its requests are
 *    ignored, nothing breaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "../protocol/client.h"
#include "config/config.h"
#include "control/control.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kmstest.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vgpu/vgpu.h"
#include "vscanout-v1-server-protocol.h"

#define SOCKET_DIR  "/tmp/vscanout-control-unit"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"
#define USER_UID    1000
#define CONTROL_GID 2000

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "control-group = 2000\n"
				  "[output Virtual-9]\n"
				  "vgpu = b\n"
				  "[vgpu a]\n"
				  "allow-uid = 1000\n";

static struct wl_display *display;
static const char *ctl_path;
static int report_fd, go_fd;

static void wait_for(const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + 20000000000ull;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(display);
		kt_assert(wl_event_loop_dispatch(wl_display_get_event_loop(display), 100) >= 0);
	}
}

static void child_wait_ok(struct child *child, const char *what)
{
	wait_for(&child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0, "%s: status 0x%x",
		   what, child->status);
}

/* Attached to vGPU "a" until told to go. */
static void run_attached(int arg)
{
	child_die_with_parent();
	struct client c;
	client_connect(&c, SOCKET_PATH);
	client_attach(&c, "a");
	client_roundtrip(&c);
	char byte;
	if (write(report_fd, "a", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes");
	_exit(0);
}

static void expect_error(struct control_client *c, uint32_t code, const char *text)
{
	if (wl_display_roundtrip(c->display) >= 0)
		client_fail("no protocol error");
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t got = wl_display_get_protocol_error(c->display, &interface, &id);
	if (interface != &vscanout_control_v1_interface || got != code)
		client_fail("error %u of %s, want %u", got, interface ? interface->name : "?",
			    code);
	if (strstr(control_last_log, text) == NULL)
		client_fail("error message \"%s\" lacks \"%s\"", control_last_log, text);
	printf("child %d: refused as expected: %s", (int)getpid(), control_last_log);
	fflush(stdout);
	_exit(0);
}

enum bad_case {
	BAD_PIPE,
	BAD_READ_ONLY,
	BAD_NO_SEALING,
	BAD_SEALED,
	BAD_READ_ONLY_MEMFD,
	BAD__COUNT,
};

static void run_bad(int which)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect_version(&c, SOCKET_PATH, 3);
	if (which == BAD_PIPE) {
		int fds[2];
		if (pipe(fds) != 0)
			client_fail("pipe");
		vscanout_control_v1_status(c.control, 1, fds[1]);
		expect_error(&c, VSCANOUT_CONTROL_V1_ERROR_INVALID_FD,
			     "status: the fd is not a regular file or memfd");
	}
	int fd = -1;
	const char *want = "capture: the fd is not an unsealed memfd made with MFD_ALLOW_SEALING";
	if (which == BAD_READ_ONLY) {
		char path[] = "/tmp/vscanout-control-ro-XXXXXX";
		fd = mkstemp(path);
		if (fd < 0)
			client_fail("mkstemp");
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		unlink(path);
	} else if (which == BAD_NO_SEALING) {
		fd = memfd_create("no-sealing", MFD_CLOEXEC);
	} else if (which == BAD_SEALED) {
		fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) != 0)
			client_fail("seal");
	} else {
		int rw = memfd_create("read-only", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", rw);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		close(rw);
		want = "capture: the fd is not open for writing";
	}
	if (fd < 0)
		client_fail("no fd for case %d", which);
	vscanout_control_v1_capture(c.control, 1, "Virtual-1", fd);
	expect_error(&c, VSCANOUT_CONTROL_V1_ERROR_INVALID_FD, want);
}

/* The request of daemons before version 3: failed, saying why. */
static void run_old_screenshot(int arg)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect(&c, SOCKET_PATH);
	int fd = memfd_create("old", MFD_CLOEXEC);
	vscanout_control_v1_screenshot(c.control, 1, "Virtual-9", fd);
	const struct control_answer *a = control_client_wait(&c, 1);
	if (a->answered != -1 || strstr(a->message, "encodes no PNG: use the vscanoutctl of its "
						    "release") == NULL)
		client_fail("old screenshot: %d %s", a->answered, a->message);
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size != 0)
		client_fail("the old screenshot's file was written");
	printf("child %d: the old screenshot request: %s\n", (int)getpid(), a->message);
	fflush(stdout);
	_exit(0);
}

/* A regular file with junk longer than the document, then two requests in a row. */
static void run_file(int arg)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect_version(&c, SOCKET_PATH, 3);
	char path[] = "/tmp/vscanout-control-file-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		client_fail("mkstemp");
	unlink(path);
	char junk[65536];
	memset(junk, '#', sizeof(junk));
	if (write(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
		client_fail("write");
	vscanout_control_v1_status(c.control, 7, fd);
	int memfd = memfd_create("capture", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	vscanout_control_v1_capture(c.control, 8, "nope", memfd);
	const struct control_answer *a = control_client_wait(&c, 7);
	if (a->answered != 1)
		client_fail("status failed: %s", a->message);
	uint32_t size = a->value;
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size)
		client_fail("file of %lld bytes, done says %u", (long long)st.st_size, size);
	char *doc = malloc(size);
	if (doc == NULL || pread(fd, doc, size, 0) != (ssize_t)size)
		client_fail("read back");
	char err[128];
	struct json_value *v = json_parse(doc, size, err, sizeof(err));
	if (v == NULL)
		client_fail("not JSON: %s", err);
	a = control_client_wait(&c, 8);
	if (a->answered != -1 || strcmp(a->message, "no output \"nope\"") != 0)
		client_fail("screenshot of nope: %d %s", a->answered, a->message);
	printf("child %d: %u bytes of status in a regular file\n", (int)getpid(), size);
	fflush(stdout);
	_exit(0);
}

/* Holds a control object while the global goes; then its requests go unanswered. */
static void run_orphan(int arg)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect(&c, SOCKET_PATH);
	char byte;
	if (write(report_fd, "b", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes");
	int fd = memfd_create("status", MFD_CLOEXEC);
	vscanout_control_v1_status(c.control, 1, fd);
	if (wl_display_roundtrip(c.display) < 0 || c.answers[1].answered != 0)
		client_fail("an orphaned object answered or broke the connection");
	vscanout_control_v1_destroy(c.control);
	if (wl_display_roundtrip(c.display) < 0)
		client_fail("destroy broke the connection");
	_exit(0);
}

/* A daemon of control version 2: vscanoutctl's screenshot names the version and stops. */
static void old_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

/* Only destroy: vscanoutctl sends nothing else to a daemon that is too old. */
static const struct vscanout_control_v1_interface old_control = {.destroy = old_destroy};

static void bind_v2(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
	struct wl_resource *resource =
		wl_resource_create(client, &vscanout_control_v1_interface, (int)version, id);
	if (resource == NULL)
		wl_client_post_no_memory(client);
	else
		wl_resource_set_implementation(resource, &old_control, NULL, NULL);
}

static void check_old_daemon(void)
{
	static const char path[] = SOCKET_DIR "/old-0";
	struct wl_display *old = wl_display_create();
	kt_assert(old != NULL);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	kt_assert_errno(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
			listen(fd, 4) == 0);
	kt_assert_errno(wl_display_add_socket_fd(old, fd) == 0);
	kt_assert(wl_global_create(old, &vscanout_control_v1_interface, 2, NULL, bind_v2) != NULL);
	struct ctl_result r;
	ctl_run(old, &r, 0, 0, ctl_path, "--socket", path, "screenshot", "Virtual-1",
		"/tmp/vscanout-control-old.png", NULL);
	kt_assert(r.exit_code == 1);
	kt_assertf(strstr(r.err, "speaks control version 2; this vscanoutctl needs version 3") !=
			   NULL,
		   "%s", r.err);
	kt_assert(access("/tmp/vscanout-control-old.png", F_OK) != 0);
	ctl_result_finish(&r);
	wl_display_destroy(old);
	unlink(path);
}

static void check_status(pid_t attached_pid)
{
	struct json_value *st = ctl_status(display, ctl_path, SOCKET_PATH);
	const struct json_value *daemon = json_get(st, "daemon");
	kt_assert(json_get_number(daemon, "pid", 0) == getpid());
	kt_assert(strcmp(json_get_string(daemon, "socket"), SOCKET_PATH) == 0);
	kt_assert(json_get_string(daemon, "version") != NULL);
	const struct json_value *outputs = json_get(st, "outputs");
	kt_assert(outputs != NULL && outputs->type == JSON_ARRAY && outputs->n == 0);
	const struct json_value *vgpus = json_get(st, "vgpus");
	kt_assertf(vgpus != NULL && vgpus->n == 2, "vgpus: %zu", vgpus ? vgpus->n : 0);
	const struct json_value *a = json_at(vgpus, 0), *b = json_at(vgpus, 1);
	kt_assert(strcmp(json_get_string(a, "name"), "a") == 0);
	kt_assert(json_get_bool(a, "attached", false));
	const struct json_value *client = json_get(a, "client");
	kt_assert(json_get_number(client, "pid", 0) == attached_pid);
	kt_assert(json_get_number(client, "uid", -1) == 0);
	kt_assert(strcmp(json_get_string(a, "source"), "none") == 0);
	kt_assert(json_get(a, "vfio")->type == JSON_NULL);
	kt_assert(json_get(a, "outputs")->n == 0);
	kt_assert(strcmp(json_get_string(b, "name"), "b") == 0);
	kt_assert(!json_get_bool(b, "attached", true));
	kt_assert(json_get(b, "client")->type == JSON_NULL);
	kt_assert(strcmp(json_at(json_get(b, "outputs"), 0)->string, "Virtual-9") == 0);
	json_value_free(st);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	display = wl_display_create();
	kt_assert(display != NULL);
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	/* No seat: a display without devices. */
	struct display displays = {0};
	wl_list_init(&displays.devices);
	struct vgpu_manager *vgpus = vgpu_manager_create(&config, &displays);
	struct protocol_server *server = protocol_server_create(display, &config, &displays, vgpus);
	kt_assert(server != NULL);
	struct control *control = control_create(display, &config, &displays, server, vgpus);
	kt_assert(control != NULL);
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, USER_UID) == 0);

	struct pipe_watch report;
	pipe_watch_init(&report, loop);
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	report_fd = report.fds[1];
	go_fd = go[0];

	/* Status with an attached vGPU, as JSON and for people. */
	struct child attached;
	child_start(&attached, loop, run_attached, 0);
	wait_for(&report.readable, "the attached client");
	check_status(attached.pid);
	struct ctl_result r;
	ctl_run(display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "status", NULL);
	kt_assertf(r.exit_code == 0, "status: exit %d", r.exit_code);
	char line[128];
	snprintf(line, sizeof(line), "vgpu a: attached by pid %d (uid 0), source none",
		 (int)attached.pid);
	kt_assertf(strstr(r.out, line) != NULL, "no \"%s\"", line);
	kt_assert(strstr(r.out, "vgpu b: not attached, source none\n  outputs: Virtual-9") != NULL);
	ctl_result_finish(&r);
	kt_assert_errno(write(go[1], "g", 1) == 1);
	child_wait_ok(&attached, "the attached client");

	/* Refusals. */
	ctl_run(display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot", "nope",
		"/tmp/vscanout-control-unit.png", NULL);
	kt_assert(r.exit_code == 1);
	kt_assert(strstr(r.err, "screenshot of nope failed: no output \"nope\"") != NULL);
	kt_assert(access("/tmp/vscanout-control-unit.png", F_OK) != 0);
	ctl_result_finish(&r);

	ctl_run(display, &r, USER_UID, 0, ctl_path, "--socket", SOCKET_PATH, "status", NULL);
	kt_assert(r.exit_code == 1);
	/* The global is hidden from it. */
	kt_assert(strstr(r.err, "offers no control interface (vscanout_control_v1) to uid 1000: "
				"only root and the members of its [daemon] control-group may use "
				"it\n") != NULL);
	kt_assert(r.out_len == 0);
	ctl_result_finish(&r);

	/* A member of the control group through a supplementary group. */
	ctl_run(display, &r, USER_UID, CONTROL_GID, ctl_path, "--socket", SOCKET_PATH, "status",
		NULL);
	kt_assertf(r.exit_code == 0, "a member of the control group was refused: %s", r.err);
	kt_assert(strstr(r.out, "vgpu b: not attached") != NULL);
	ctl_result_finish(&r);

	ctl_run(display, &r, 0, 0, ctl_path, "--socket", SOCKET_DIR "/none", "status", NULL);
	kt_assert(r.exit_code == 1);
	kt_assert(strstr(r.err, "cannot connect to vscanoutd at " SOCKET_DIR
				"/none: No such file or directory") != NULL);
	ctl_result_finish(&r);

	setenv("VSCANOUT_SOCKET", SOCKET_PATH, 1);
	ctl_run(display, &r, 0, 0, ctl_path, "status", "--json", NULL);
	kt_assert(r.exit_code == 0 && r.out_len > 0);
	ctl_result_finish(&r);
	unsetenv("VSCANOUT_SOCKET");

	for (int which = 0; which < BAD__COUNT; which++) {
		struct child bad;
		child_start(&bad, loop, run_bad, which);
		child_wait_ok(&bad, "a misbehaving client");
	}
	struct child file;
	child_start(&file, loop, run_file, 0);
	child_wait_ok(&file, "the regular file client");
	child_start(&file, loop, run_old_screenshot, 0);
	child_wait_ok(&file, "the old screenshot request");
	check_old_daemon();

	/* The global goes while a client holds the object. */
	report.readable = false;
	struct child orphan;
	child_start(&orphan, loop, run_orphan, 0);
	wait_for(&report.readable, "the orphan client");
	control_destroy(control);
	kt_assert_errno(write(go[1], "g", 1) == 1);
	child_wait_ok(&orphan, "the orphan client");

	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	protocol_server_destroy(server);
	vgpu_manager_destroy(vgpus);
	wl_display_destroy(display);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
