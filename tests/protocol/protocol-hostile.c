// SPDX-License-Identifier: MIT
/*
 * Hostile clients against the daemon's own code, on the two heads of a
 * virtio-gpu (vGPU head-1 on Virtual-1, head-2 on Virtual-2), each client
 * a forked child that drops root. The daemon runs in this process: a
 * daemon blocked in a system call blocks the test, so every phase runs
 * under an alarm that fails the test naming the phase.
 *
 *  1. vblank fd: client A (uid 1000, admitted to head-1 only through its
 *     supplementary group 1005) takes its vGPU's vblank fd, clears
 *     O_NONBLOCK on it and tries to write 0xfffffffffffffffe into it (must
 *     fail: EBADF), then never reads it while it commits frames; client B
 *     (uid 1001) commits frames on head-2 meanwhile. Both keep getting
 *     presented; A's fd then holds exactly one 8-byte count, of several
 *     vblanks.
 *  2. connection flood: uid 1002 opens 1500 connections and keeps them.
 *     The daemon keeps [daemon] max-clients-per-uid (32) of them and closes
 *     the rest at once; its fd count grows by no more than two per
 *     connection kept (the socket and libwayland's duplicate), it logs
 *     one refusal line, and uid 1001's VMM attaches and gets frames
 *     presented while the flood holds its connections.
 *  3. control global and object floods: uid 1002 (no control group) does
 *     not see vscanout_control_v1 in its registry; a thousand binds of it
 *     on one connection, and one bind on each of 200 connections, are each
 *     libwayland's invalid-global error, with at most two lines logged (by
 *     libwayland, rate-limited) and no memory kept; a client using an object id above the limit of
 * 1024 is disconnected with an error naming the limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "util/log.h"

#define SOCKET_PATH   "/tmp/vscanout-protocol-hostile-0"
#define SOCKET_GID    1000
#define UID_A         1000
#define UID_B         1001
#define UID_FLOOD     1002
#define GID_KVM       1005
#define FRAMES        30
#define FLOOD         1500
#define PER_UID       32
#define BIND_FLOOD    1000
#define CONNECT_BINDS 200
#define PHASE_SECONDS 90

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "max-clients-per-uid = 32\n"
				  "[output Virtual-1]\n"
				  "vgpu = head-1\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = head-2\n"
				  "mode = 1024x768\n"
				  "[vgpu head-1]\n"
				  "allow-gid = 1005\n"
				  "[vgpu head-2]\n"
				  "allow-uid = 1001\n";

static int report_fd, go_fd;

static void report(char byte)
{
	if (write(report_fd, &byte, 1) != 1)
		client_fail("cannot report: %s", strerror(errno));
}

static void wait_go(void)
{
	char byte;
	if (read(go_fd, &byte, 1) != 1)
		client_fail("no go");
}

static void drop_root(uid_t uid, const gid_t *groups, size_t n)
{
	if (setgroups(n, groups) != 0 || setgid(SOCKET_GID) != 0 || setuid(uid) != 0)
		client_fail("dropping root: %s", strerror(errno));
}

/* Commit n frames of one buffer; every one must be presented. */
static void commit_frames(struct client *c, struct vscanout_vgpu_v1 *vgpu, uint32_t *serial, int n)
{
	for (int i = 0; i < n; i++) {
		if (!client_commit(c, vgpu, ++*serial))
			client_fail("commit %u was discarded", *serial);
	}
}

/* 1. A: attacks its vblank fd, never reads it, commits. */
static void run_vblank_attacker(int arg)
{
	struct client_image ci;
	client_image_create(&ci, 256, 256, 21);
	const gid_t kvm = GID_KVM;
	drop_root(UID_A, &kvm, 1);

	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "head-1");
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	vscanout_vgpu_v1_get_vblank_source(vgpu);
	client_roundtrip(&c);
	int fd = c.vblank_eventfd;
	if (fd < 0)
		client_fail("no vblank source");
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || !(flags & O_NONBLOCK))
		client_fail("the vblank fd is not non-blocking: flags 0x%x", flags);
	if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
		client_fail("F_SETFL: %s", strerror(errno));
	uint64_t huge = 0xfffffffffffffffeu;
	ssize_t written = write(fd, &huge, sizeof(huge));
	int write_errno = errno;
	printf("client A: write of 0x%llx into its vblank fd: %zd (%s)\n", (unsigned long long)huge,
	       written, written < 0 ? strerror(write_errno) : "written");
	fflush(stdout);
	report('a');

	uint32_t serial = 0;
	commit_frames(&c, vgpu, &serial, FRAMES);
	if (written >= 0 || write_errno != EBADF)
		client_fail("writing into the vblank fd gave %zd (%s), want EBADF", written,
			    strerror(write_errno));
	/* Never read while FRAMES frames went by: one count waits, of them all. */
	int queued = -1;
	if (ioctl(fd, FIONREAD, &queued) != 0 || queued != 8)
		client_fail("the vblank fd holds %d bytes, want one 8-byte count", queued);
	uint64_t count = 0;
	if (read(fd, &count, sizeof(count)) != sizeof(count) || count < 2)
		client_fail("the vblank fd counted %llu vblanks over %d frames",
			    (unsigned long long)count, FRAMES);
	printf("client A: %d frames presented; its unread vblank fd held one count of %llu\n",
	       FRAMES, (unsigned long long)count);
	fflush(stdout);
	_exit(0);
}

/* A well-behaved VMM of uid 1001 on head-2: attaches and gets FRAMES frames presented. */
static void run_vmm(int arg)
{
	struct client_image ci;
	client_image_create(&ci, 256, 256, 22);
	drop_root(UID_B, NULL, 0);
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "head-2");
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	uint32_t serial = 0;
	commit_frames(&c, vgpu, &serial, FRAMES);
	printf("client B: %d frames presented\n", FRAMES);
	fflush(stdout);
	_exit(0);
}

/* 2. The flood: FLOOD connections kept until go, then counts those closed. */
static void run_flood(int arg)
{
	struct rlimit limit = {FLOOD + 64, FLOOD + 64};
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		client_fail("setrlimit: %s", strerror(errno));
	drop_root(UID_FLOOD, NULL, 0);
	static int fds[FLOOD];
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = SOCKET_PATH};
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&addr, sizeof(addr)) != 0)
			client_fail("connection %d: %s", i, strerror(errno));
	}
	printf("flood: %d connections made\n", FLOOD);
	fflush(stdout);
	report('c');
	wait_go();
	int closed = 0;
	for (int i = 0; i < FLOOD; i++) {
		struct pollfd pfd = {.fd = fds[i], .events = POLLIN | POLLRDHUP};
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP)))
			closed++;
	}
	printf("flood: %d of %d connections closed by the daemon\n", closed, FLOOD);
	fflush(stdout);
	if (closed != FLOOD - PER_UID)
		client_fail("%d connections closed, want all but %d", closed, PER_UID);
	_exit(0);
}

struct registry_names {
	uint32_t control; /* 0: not seen */
	int n;
};

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
			    const char *interface, uint32_t version)
{
	struct registry_names *names = data;
	names->n++;
	if (strcmp(interface, vscanout_control_v1_interface.name) == 0)
		names->control = name;
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static struct wl_display *connect_registry(struct registry_names *names,
					   struct wl_registry **registry)
{
	*names = (struct registry_names){0};
	struct wl_display *display = wl_display_connect(SOCKET_PATH);
	if (display == NULL)
		client_fail("cannot connect: %s", strerror(errno));
	*registry = wl_display_get_registry(display);
	wl_registry_add_listener(*registry, &registry_listener, names);
	if (wl_display_roundtrip(display) < 0)
		client_fail("registry roundtrip failed");
	return display;
}

/* The roundtrip must fail with a protocol error of interface whose text has text. */
static void expect_error(struct wl_display *display, const char *interface, const char *text)
{
	if (wl_display_roundtrip(display) >= 0)
		client_fail("no protocol error (want \"%s\")", text);
	const struct wl_interface *got = NULL;
	uint32_t id;
	wl_display_get_protocol_error(display, &got, &id);
	if (got == NULL || strcmp(got->name, interface) != 0 ||
	    strstr(client_last_log, text) == NULL)
		client_fail("want a %s error \"%s\", got %s: %s", interface, text,
			    got ? got->name : "none", client_last_log);
	wl_display_disconnect(display);
}

/* 3. The control global's name as root sees it, then binds of it as uid 1002. */
static void run_binds(int arg)
{
	struct registry_names names;
	struct wl_registry *registry;
	struct wl_display *display = connect_registry(&names, &registry);
	uint32_t control = names.control;
	int n_root = names.n;
	if (control == 0)
		client_fail("root sees no control global");
	wl_display_disconnect(display);
	drop_root(UID_FLOOD, NULL, 0);
	client_connect(&(struct client){0}, SOCKET_PATH); /* installs the log capture */

	display = connect_registry(&names, &registry);
	if (names.control != 0 || names.n != n_root - 1)
		client_fail("uid %u sees %d globals (root %d), control as %u", UID_FLOOD, names.n,
			    n_root, names.control);
	for (int i = 0; i < BIND_FLOOD; i++)
		wl_registry_bind(registry, control, &vscanout_control_v1_interface, 1);
	/*
	 * The first bind ends the connection: the error is read, or sending
	 * the next ones already failed.
	 */
	if (wl_display_roundtrip(display) >= 0)
		client_fail("%d binds of the hidden control global went through", BIND_FLOOD);
	const struct wl_interface *got = NULL;
	uint32_t id;
	wl_display_get_protocol_error(display, &got, &id);
	int err = wl_display_get_error(display);
	if (got != NULL
		    ? strcmp(got->name, "wl_registry") != 0 ||
			      strstr(client_last_log, "invalid global vscanout_control_v1") == NULL
		    : err != EPIPE && err != ECONNRESET)
		client_fail("the bind flood ended with %s: %s", got ? got->name : strerror(err),
			    client_last_log);
	wl_display_disconnect(display);
	for (int i = 0; i < CONNECT_BINDS; i++) {
		display = connect_registry(&names, &registry);
		wl_registry_bind(registry, control, &vscanout_control_v1_interface, 1);
		expect_error(display, "wl_registry", "invalid global vscanout_control_v1");
	}
	printf("binds: %d on one connection and one on each of %d more, all invalid global\n",
	       BIND_FLOOD, CONNECT_BINDS);

	/* Object ids beyond the limit. */
	display = connect_registry(&names, &registry);
	for (int i = 0; i < PROTOCOL_MAX_OBJECT_ID; i++)
		wl_display_sync(display);
	expect_error(display, "wl_display", "the limit is 1024 objects");
	printf("objects: id %d refused: %s", PROTOCOL_MAX_OBJECT_ID + 1, client_last_log);
	fflush(stdout);
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* Daemon side (this process)                                             */
/* ---------------------------------------------------------------------- */

static const char *phase = "start";
static unsigned long log_lines, refusal_lines;

static void handle_alarm(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "FAIL: phase \"%s\" did not end within %d s: the daemon's loop is "
			 "blocked or starved\n",
			 phase, PHASE_SECONDS);
	if (write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(2);
	_exit(1);
}

static void start_phase(const char *name)
{
	phase = name;
	alarm(PHASE_SECONDS);
	kt_log("phase: %s", name);
}

static void count_log(enum log_level level, const char *line, void *data)
{
	log_lines++;
	if (strstr(line, "refused") != NULL)
		refusal_lines++;
	fprintf(stderr, "%s\n", line);
}

static void dispatch(struct daemon *daemon)
{
	wl_display_flush_clients(daemon->display);
	kt_assert(wl_event_loop_dispatch(daemon->loop, 100) >= 0);
}

static void wait_for(struct daemon *daemon, const bool *flag, const char *what)
{
	while (!*flag)
		dispatch(daemon);
	(void)what;
}

static void child_wait_ok(struct daemon *daemon, struct child *child, const char *what)
{
	wait_for(daemon, &child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0, "%s: status 0x%x",
		   what, child->status);
}

static int count_fds(void)
{
	char path[64];
	int n = 0;
	for (int fd = 0; fd < 8192; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* Start fn in a child with a fresh report pipe and go pipe. */
static void start(struct daemon *daemon, struct child *child, struct pipe_watch *reported,
		  int go[2], void (*fn)(int))
{
	pipe_watch_init(reported, daemon->loop);
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	report_fd = reported->fds[1];
	go_fd = go[0];
	child_start(child, daemon->loop, fn, 0);
}

static void finish(struct pipe_watch *reported, int go[2])
{
	pipe_watch_finish(reported);
	close(go[0]);
	close(go[1]);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	struct sigaction sa = {.sa_handler = handle_alarm};
	kt_assert_errno(sigaction(SIGALRM, &sa, NULL) == 0);

	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	start_phase("daemon start");
	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, SOCKET_GID) == 0);
	kt_assertf(display_find_output(daemon->display_manager, "Virtual-1") &&
			   display_find_output(daemon->display_manager, "Virtual-2"),
		   "want Virtual-1 and Virtual-2 (--virtio-gpu 2)");
	log_set_sink(count_log, NULL);

	/* 1. The vblank fd. */
	start_phase("vblank fd attack");
	struct pipe_watch reported_a, reported_b;
	int go_a[2], go_b[2];
	struct child a, b;
	start(daemon, &a, &reported_a, go_a, run_vblank_attacker);
	wait_for(daemon, &reported_a.readable, "the attack");
	start(daemon, &b, &reported_b, go_b, run_vmm);
	child_wait_ok(daemon, &b, "client B on head-2");
	child_wait_ok(daemon, &a, "client A on head-1");
	finish(&reported_a, go_a);
	finish(&reported_b, go_b);

	/* 2. The connection flood. */
	start_phase("connection flood");
	while (!wl_list_empty(wl_display_get_client_list(daemon->display)))
		dispatch(daemon);
	int fds_before = count_fds();
	unsigned long refusals_before = refusal_lines;
	struct pipe_watch reported_flood;
	int go_flood[2];
	struct child flood;
	start(daemon, &flood, &reported_flood, go_flood, run_flood);
	wait_for(daemon, &reported_flood.readable, "the flood's connections");
	/* The last connections may still wait in the backlog. */
	for (int i = 0; i < 20; i++)
		dispatch(daemon);
	int fds_flood = count_fds();
	printf("daemon fds: %d before the flood, %d during it; %lu refusal lines\n", fds_before,
	       fds_flood, refusal_lines - refusals_before);
	/*
	 * Each connection kept: its socket and libwayland's duplicate; the
	 * child's pipes and pidfd: 5; a few of the earlier phase's may still
	 * be going. Without the limits the flood takes every fd there is.
	 */
	kt_assertf(fds_flood <= fds_before + 5 + 2 * PER_UID + 4,
		   "the flood of %d connections took %d of the daemon's fds", FLOOD,
		   fds_flood - fds_before - 5);
	/* One line per 10 s: the flood may straddle two windows. */
	kt_assertf(refusal_lines - refusals_before >= 1 && refusal_lines - refusals_before <= 2,
		   "%lu lines logged for %d refused connections", refusal_lines - refusals_before,
		   FLOOD - PER_UID);
	struct pipe_watch reported_vmm;
	int go_vmm[2];
	struct child vmm;
	start(daemon, &vmm, &reported_vmm, go_vmm, run_vmm);
	child_wait_ok(daemon, &vmm, "uid 1001's VMM during the flood");
	kt_assertf(!flood.exited, "the flood ended early");
	kt_assert_errno(write(go_flood[1], "g", 1) == 1);
	child_wait_ok(daemon, &flood, "the flood");
	finish(&reported_flood, go_flood);
	finish(&reported_vmm, go_vmm);

	/* 3. Control global binds and object ids. */
	start_phase("bind flood");
	while (!wl_list_empty(wl_display_get_client_list(daemon->display)))
		dispatch(daemon);
	unsigned long lines_before = log_lines;
	size_t heap_before = mallinfo2().uordblks;
	struct pipe_watch reported_binds;
	int go_binds[2];
	struct child binds;
	start(daemon, &binds, &reported_binds, go_binds, run_binds);
	child_wait_ok(daemon, &binds, "the bind flood");
	finish(&reported_binds, go_binds);
	while (!wl_list_empty(wl_display_get_client_list(daemon->display)))
		dispatch(daemon);
	size_t heap_after = mallinfo2().uordblks;
	printf("bind flood: %lu lines logged, heap in use %zu -> %zu bytes\n",
	       log_lines - lines_before, heap_before, heap_after);
	/* libwayland's line for the clients it disconnected, rate-limited. */
	kt_assertf(log_lines - lines_before <= 2, "%lu lines logged for %d refused binds",
		   log_lines - lines_before, BIND_FLOOD + CONNECT_BINDS);
	kt_assertf(heap_after < heap_before + 65536, "the heap grew by %zu bytes",
		   heap_after - heap_before);

	alarm(0);
	log_set_sink(NULL, NULL);
	daemon_destroy(daemon);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
