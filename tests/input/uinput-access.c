// SPDX-License-Identifier: MIT
/*
 * input-uinput-access: the virtual devices of a vGPU with uinput = yes are
 * its VMM's alone.
 *
 * Run in the VM with udevd, uinput and the project's udev rule (argv[1],
 * installed into /etc/udev/rules.d). The vscanout-v1 server runs in this
 * process, without displays; a forked VMM attaches to vGPU "v" as uid
 * VMM_UID, binding the manager at version 2:
 *  1. its input object receives, for each device, the path and an fd the
 *     daemon opened (read-only, non-blocking) on the same node;
 *  2. once udev has processed the devices, and again after a "change"
 *     event for all of them, every node is 0660 root:root through an ACL
 *     whose only named entry is VMM_UID (rw), group and others nothing:
 *     the VMM's uid can open the node itself, another uid, even in group
 *     input, gets EACCES;
 *  3. a key the daemon emits on the virtual keyboard is read both from the
 *     passed fd and from the node the VMM opened itself;
 *  4. destroying the input object revokes the passed fds (read and ioctl
 *     fail with ENODEV) while the devices stay; a new get_input gives
 *     working fds again;
 *  5. detaching the vGPU revokes those too, and the node opened by path;
 *     the nodes are gone, and with them the ACL;
 *  6. a VMM that dies attached leaves nothing readable: a copy of its fd
 *     (taken with pidfd_getfd) reads ENODEV once the daemon saw it go.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/input.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "client.h"
#include "config/config.h"
#include "input/uinput.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vgpu/vgpu.h"

#define SOCKET_PATH "/tmp/vscanout-uinput-test/vscanout-0"
#define VMM_UID     4201
#define OTHER_UID   4202
#define N_KINDS     3 /* vscanout_input_v1.input_kind */

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[vgpu v]\n"
				  "uinput = yes\n"
				  "allow-uid = 4201\n";

/* ---------------------------------------------------------------------- */
/* The VMM (child, uid VMM_UID)                                           */
/* ---------------------------------------------------------------------- */

struct vmm {
	char paths[N_KINDS][64];
	int fds[N_KINDS]; /* -1 until uinput_device_fd */
};

static int cmd_fd, report_fd;

static void in_keys(void *d, struct vscanout_input_v1 *in, struct wl_array *keys)
{
}

static void in_key(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, uint32_t key,
		   uint32_t state)
{
}

static void in_xy(void *d, struct vscanout_input_v1 *in, wl_fixed_t x, wl_fixed_t y)
{
}

static void in_leave(void *d, struct vscanout_input_v1 *in)
{
}

static void in_motion(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, wl_fixed_t x,
		      wl_fixed_t y)
{
}

static void in_scroll(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
		      uint32_t axis, int32_t value120)
{
}

static void in_touch(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, int32_t id,
		     wl_fixed_t x, wl_fixed_t y)
{
}

static void in_touch_up(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, int32_t id)
{
}

static void in_uinput_device(void *data, struct vscanout_input_v1 *in, uint32_t kind,
			     const char *path)
{
	struct vmm *vmm = data;
	if (kind >= N_KINDS || strlen(path) >= sizeof(vmm->paths[0]))
		client_fail("uinput_device: kind %u, path %s", kind, path);
	snprintf(vmm->paths[kind], sizeof(vmm->paths[kind]), "%s", path);
}

static void in_uinput_device_fd(void *data, struct vscanout_input_v1 *in, uint32_t kind, int32_t fd)
{
	struct vmm *vmm = data;
	if (kind >= N_KINDS || vmm->paths[kind][0] == '\0' || vmm->fds[kind] >= 0)
		client_fail("uinput_device_fd: kind %u out of order", kind);
	vmm->fds[kind] = fd;
}

static const struct vscanout_input_v1_listener input_listener = {
	.keyboard_enter = in_keys,
	.keyboard_leave = in_keys,
	.key = in_key,
	.pointer_enter = in_xy,
	.pointer_leave = in_leave,
	.pointer_motion = in_motion,
	.pointer_relative_motion = in_motion,
	.pointer_button = in_key,
	.pointer_scroll = in_scroll,
	.touch_down = in_touch,
	.touch_motion = in_touch,
	.touch_up = in_touch_up,
	.touch_frame = in_leave,
	.uinput_device = in_uinput_device,
	.uinput_device_fd = in_uinput_device_fd,
};

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
			    const char *interface, uint32_t version)
{
	struct client *c = data;
	if (strcmp(interface, vscanout_manager_v1_interface.name) == 0 && version >= 2)
		c->manager = wl_registry_bind(registry, name, &vscanout_manager_v1_interface, 2);
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static struct vscanout_input_v1 *get_input(struct client *c, struct vscanout_vgpu_v1 *vgpu,
					   struct vmm *vmm)
{
	*vmm = (struct vmm){.fds = {-1, -1, -1}};
	struct vscanout_input_v1 *input = vscanout_vgpu_v1_get_input(vgpu);
	vscanout_input_v1_add_listener(input, &input_listener, vmm);
	client_roundtrip(c);
	for (int k = 0; k < N_KINDS; k++) {
		if (vmm->paths[k][0] == '\0' || vmm->fds[k] < 0)
			client_fail("input kind %d: path \"%s\", fd %d", k, vmm->paths[k],
				    vmm->fds[k]);
		int fl = fcntl(vmm->fds[k], F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY || !(fl & O_NONBLOCK))
			client_fail("%s: fd flags %#x, not O_RDONLY | O_NONBLOCK", vmm->paths[k],
				    fl);
	}
	char name[128] = "";
	if (ioctl(vmm->fds[0], EVIOCGNAME(sizeof(name)), name) < 0 ||
	    strcmp(name, "vscanout v keyboard") != 0)
		client_fail("the keyboard fd is \"%s\" (%s)", name, strerror(errno));
	return input;
}

/* The next key event on fd: KEY_A pressed, or fail. */
static void expect_key(int fd, const char *what)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 5000) != 1)
		client_fail("%s: nothing to read", what);
	struct input_event ev;
	for (;;) {
		if (read(fd, &ev, sizeof(ev)) != sizeof(ev))
			client_fail("%s: read: %s", what, strerror(errno));
		if (ev.type == EV_KEY)
			break;
	}
	if (ev.code != KEY_A || ev.value != 1)
		client_fail("%s: key %u value %d, want KEY_A pressed", what, ev.code, ev.value);
	/* Then only the frame's end. */
	while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
		if (ev.type != EV_SYN)
			client_fail("%s: event type %u after the key", what, ev.type);
	}
}

/* fd was revoked: read and ioctl fail with ENODEV. */
static void expect_revoked(int fd, const char *what)
{
	struct input_event ev;
	ssize_t n = read(fd, &ev, sizeof(ev));
	if (n >= 0 || errno != ENODEV)
		client_fail("%s: read gave %zd (%s), want ENODEV", what, n,
			    n < 0 ? strerror(errno) : "data");
	char name[64];
	if (ioctl(fd, EVIOCGNAME(sizeof(name)), name) >= 0 || errno != ENODEV)
		client_fail("%s: EVIOCGNAME still works", what);
}

static void report(const char *text)
{
	if (write(report_fd, text, strlen(text) + 1) != (ssize_t)strlen(text) + 1)
		client_fail("cannot report");
}

static char next_command(void)
{
	char cmd;
	if (read(cmd_fd, &cmd, 1) != 1)
		client_fail("no command");
	return cmd;
}

static void run_vmm(int dies)
{
	if (setgroups(0, NULL) != 0 || setgid(VMM_UID) != 0 || setuid(VMM_UID) != 0)
		client_fail("setuid: %s", strerror(errno));
	struct client c = {.vblank_eventfd = -1, .vblank_memfd = -1, .vfio_status = -1};
	c.display = wl_display_connect(SOCKET_PATH);
	if (c.display == NULL)
		client_fail("cannot connect: %s", strerror(errno));
	c.registry = wl_display_get_registry(c.display);
	wl_registry_add_listener(c.registry, &registry_listener, &c);
	client_roundtrip(&c);
	if (c.manager == NULL)
		client_fail("no vscanout_manager_v1 of version 2");
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "v");

	/* 1. Paths and fds. */
	struct vmm vmm;
	struct vscanout_input_v1 *input = get_input(&c, vgpu, &vmm);
	if (dies) {
		/* 6. Tell the daemon side which fd to copy, then end without a word. */
		char text[32];
		snprintf(text, sizeof(text), "fd %d", vmm.fds[0]);
		report(text);
		if (next_command() != 'q')
			client_fail("unexpected command");
		_exit(0);
	}
	/* The node itself, as an unmodified VMM opens it. */
	int by_path = open(vmm.paths[0], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (by_path < 0)
		client_fail("uid %d cannot open %s: %s", VMM_UID, vmm.paths[0], strerror(errno));
	report("attached");

	/* 3. A key on both. */
	if (next_command() != 'k')
		client_fail("unexpected command");
	client_roundtrip(&c);
	expect_key(vmm.fds[0], "the passed keyboard fd");
	expect_key(by_path, "the keyboard opened by path");
	report("key");

	/* 4. The input object goes: its fds are revoked; a new one gets new fds. */
	if (next_command() != 'i')
		client_fail("unexpected command");
	vscanout_input_v1_destroy(input);
	client_roundtrip(&c);
	for (int k = 0; k < N_KINDS; k++) {
		expect_revoked(vmm.fds[k], vmm.paths[k]);
		close(vmm.fds[k]);
	}
	struct input_event ev;
	ssize_t n = read(by_path, &ev, sizeof(ev));
	if (n >= 0 || errno != EAGAIN)
		client_fail("the node opened by path: read gave %zd (%s), want EAGAIN", n,
			    n < 0 ? strerror(errno) : "data");
	get_input(&c, vgpu, &vmm);
	report("input destroyed");

	/* 5. Detach: everything is revoked. */
	if (next_command() != 'x')
		client_fail("unexpected command");
	vscanout_vgpu_v1_destroy(vgpu);
	client_roundtrip(&c);
	for (int k = 0; k < N_KINDS; k++)
		expect_revoked(vmm.fds[k], vmm.paths[k]);
	expect_revoked(by_path, "the node opened by path");
	report("detached");
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

static struct wl_display *display;
static struct protocol_server *server;
static struct vgpu_manager *vgpus;
static int cmd_w, report_r;

static void dispatch(int timeout_ms)
{
	wl_display_flush_clients(display);
	kt_assert(wl_event_loop_dispatch(wl_display_get_event_loop(display), timeout_ms) >= 0);
}

/* Serve until the VMM reports something; its text in got. */
static void await_text(char *got, size_t size)
{
	size_t len = 0;
	uint64_t deadline = kt_now_ns() + 20000000000u;
	for (;;) {
		kt_assertf(kt_now_ns() < deadline, "the VMM does not report");
		struct pollfd pfd = {.fd = report_r, .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = read(report_r, got + len, 1);
			kt_assertf(n == 1, "the VMM ended without a report");
			if (got[len] == '\0')
				break;
			kt_assert(++len < size);
			continue;
		}
		dispatch(10);
	}
	kt_log("VMM: %s", got);
}

/* Serve until the VMM reports `want`. */
static void await(const char *want)
{
	char got[64];
	await_text(got, sizeof(got));
	kt_assertf(strcmp(got, want) == 0, "the VMM reported \"%s\", want \"%s\"", got, want);
}

/* Fork a VMM (run_vmm(dies)) with its command and report pipes. */
static void start_vmm(struct child *vmm, int dies)
{
	int cmd[2], rep[2];
	kt_assert_errno(pipe2(cmd, O_CLOEXEC) == 0);
	kt_assert_errno(pipe2(rep, O_CLOEXEC) == 0);
	cmd_fd = cmd[0];
	report_fd = rep[1];
	child_start(vmm, wl_display_get_event_loop(display), run_vmm, dies);
	close(cmd[0]);
	close(rep[1]);
	cmd_w = cmd[1];
	report_r = rep[0];
}

/* Serve until the VMM exited with status 0 and its vGPU is detached. */
static void await_exit(struct child *vmm)
{
	uint64_t deadline = kt_now_ns() + 20000000000u;
	while (!vmm->exited || !wl_list_empty(&server->vgpus)) {
		kt_assertf(kt_now_ns() < deadline, "the VMM does not go");
		dispatch(100);
	}
	kt_assertf(WIFEXITED(vmm->status) && WEXITSTATUS(vmm->status) == 0, "the VMM failed");
	close(cmd_w);
	close(report_r);
}

static void command(char cmd)
{
	kt_assert_errno(write(cmd_w, &cmd, 1) == 1);
}

static struct protocol_vgpu *the_vgpu(void)
{
	kt_assert(wl_list_length(&server->vgpus) == 1);
	struct protocol_vgpu *vgpu = wl_container_of(server->vgpus.next, vgpu, link);
	return vgpu;
}

/* open(path) as uid with the given supplementary group (none: -1); 0 or errno. */
static int open_as(uid_t uid, gid_t group, const char *path)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		if (setgroups(group != (gid_t)-1 ? 1 : 0, &group) != 0 || setgid(uid) != 0 ||
		    setuid(uid) != 0)
			_exit(255);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno);
	}
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assert(WIFEXITED(status) && WEXITSTATUS(status) != 255);
	return WEXITSTATUS(status);
}

/*
 * The node is 0660 root:root with an ACL: owner rw, VMM_UID rw, group and
 * others nothing.
 */
static void check_node(const char *path, gid_t input_gid)
{
	struct stat st;
	kt_assert_errno(stat(path, &st) == 0);
	kt_assertf(S_ISCHR(st.st_mode) && st.st_uid == 0 && st.st_gid == 0 &&
			   (st.st_mode & 07777) == 0660,
		   "%s: mode %o, owner %u:%u; want 0660 root:root (with an ACL)", path,
		   (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid,
		   (unsigned int)st.st_gid);
	unsigned char buf[256];
	ssize_t n = getxattr(path, "system.posix_acl_access", buf, sizeof(buf));
	kt_assertf(n >= (ssize_t)sizeof(struct posix_acl_xattr_header), "%s: no ACL: %s", path,
		   strerror(errno));
	bool vmm = false;
	for (size_t off = sizeof(struct posix_acl_xattr_header); off < (size_t)n;
	     off += sizeof(struct posix_acl_xattr_entry)) {
		struct posix_acl_xattr_entry e;
		memcpy(&e, buf + off, sizeof(e));
		uint16_t tag = le16toh(e.e_tag), perm = le16toh(e.e_perm);
		uint32_t id = le32toh(e.e_id);
		switch (tag) {
		case ACL_USER_OBJ:
		case ACL_MASK:
			break;
		case ACL_USER:
			kt_assertf(id == VMM_UID && perm == (ACL_READ | ACL_WRITE),
				   "%s: ACL entry for uid %u, perm %u", path, id, perm);
			vmm = true;
			break;
		default:
			kt_assertf(perm == 0, "%s: ACL entry tag %#x grants %u", path, tag, perm);
		}
	}
	kt_assertf(vmm, "%s: no ACL entry for uid %d", path, VMM_UID);
	int err = open_as(OTHER_UID, input_gid, path);
	kt_assertf(err == EACCES, "%s: uid %d in group input: %s, want EACCES", path, OTHER_UID,
		   err == 0 ? "opened" : strerror(err));
	err = open_as(VMM_UID, (gid_t)-1, path);
	kt_assertf(err == 0, "%s: the VMM's uid cannot open it: %s", path, strerror(err));
}

static void check_nodes(struct protocol_vgpu *vgpu, gid_t input_gid)
{
	for (int k = 0; k < UINPUT_KIND__COUNT; k++) {
		if (vgpu_get_uinput(vgpu->core, k) != NULL)
			check_node(uinput_device_path(vgpu_get_uinput(vgpu->core, k)), input_gid);
	}
}

static void install_rule(const char *rule)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "cp %s /etc/udev/rules.d/70-vscanout.rules && udevadm control --reload", rule);
	kt_assertf(system(cmd) == 0, "cannot install %s", rule);
}

int main(int argc, char **argv)
{
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	kt_assert(argc == 2);
	if (access("/dev/uinput", F_OK) != 0)
		kt_skip("no /dev/uinput");
	install_rule(argv[1]);
	struct group *input_group = getgrnam("input");
	kt_assert(input_group != NULL);
	gid_t input_gid = input_group->gr_gid;

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	display = wl_display_create();
	kt_assert(display != NULL);
	vgpus = vgpu_manager_create(&config, NULL);
	server = protocol_server_create(display, &config, NULL, vgpus);
	kt_assert(server != NULL);
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, VMM_UID) == 0);

	struct child vmm;
	start_vmm(&vmm, 0);

	/* 1, 2. Attached; the nodes as udev left them, and after a change event. */
	await("attached");
	struct protocol_vgpu *vgpu = the_vgpu();
	kt_assert(system("udevadm settle") == 0);
	check_nodes(vgpu, input_gid);
	kt_assert(system("udevadm trigger --action=change --subsystem-match=input && "
			 "udevadm settle") == 0);
	check_nodes(vgpu, input_gid);

	/* 3. A key the daemon emits on the virtual keyboard. */
	struct input_target *router_target = vgpu_input_target(vgpu->core);
	router_target->impl->key(router_target, kt_now_ns() / 1000, KEY_A, true);
	command('k');
	await("key");

	/* 4. The input object goes: the devices and their ACL stay. */
	command('i');
	await("input destroyed");
	vgpu = the_vgpu();
	check_nodes(vgpu, input_gid);
	char paths[UINPUT_KIND__COUNT][64] = {{0}};
	for (int k = 0; k < UINPUT_KIND__COUNT; k++) {
		if (vgpu_get_uinput(vgpu->core, k) != NULL)
			snprintf(paths[k], sizeof(paths[k]), "%s",
				 uinput_device_path(vgpu_get_uinput(vgpu->core, k)));
	}

	/* 5. Detached: the nodes are gone, with the ACL. */
	command('x');
	await("detached");
	await_exit(&vmm);
	for (int k = 0; k < UINPUT_KIND__COUNT; k++) {
		if (paths[k][0] == '\0')
			continue;
		struct stat st;
		kt_assertf(stat(paths[k], &st) < 0 && errno == ENOENT, "%s is still there",
			   paths[k]);
	}

	/* 6. A VMM that dies attached. */
	start_vmm(&vmm, 1);
	char text[64];
	int target;
	await_text(text, sizeof(text));
	kt_assert(sscanf(text, "fd %d", &target) == 1);
	int copy = (int)syscall(SYS_pidfd_getfd, vmm.pidfd, target, 0);
	kt_assert_errno(copy >= 0);
	struct input_event ev;
	kt_assertf(read(copy, &ev, sizeof(ev)) < 0 && errno == EAGAIN,
		   "the VMM's keyboard fd: %s, want EAGAIN", strerror(errno));
	command('q');
	await_exit(&vmm);
	ssize_t n = read(copy, &ev, sizeof(ev));
	kt_assertf(n < 0 && errno == ENODEV, "the dead VMM's keyboard fd: read gave %zd (%s)", n,
		   n < 0 ? strerror(errno) : "data");
	close(copy);

	protocol_server_destroy(server);
	vgpu_manager_destroy(vgpus);
	vgpus = NULL;
	wl_display_destroy(display);
	config_finish(&config);
	kt_log("ok");
	return 0;
}
