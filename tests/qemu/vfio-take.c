// SPDX-License-Identifier: MIT
/*
 * A mediated vGPU's device taken from the unmodified QEMU that runs it
 * ([vgpu vm1] vfio-from = qmp:..., mdev = UUID; vfio/take.h), on vkms in
 * the test bed. The daemon's code runs in this process (conf-daemon.h) with
 * one output, Virtual-1 at 1024x768, showing vm1 with scale = center; what
 * the output shows is captured through the writeback connector.
 *
 * Debian's QEMU (tests/qemu/nested.h) runs with -S (its vCPU never runs, so
 * its firmware leaves the device alone) and -device
 * vfio-pci,sysfsdev=/sys/bus/mdev/devices/UUID,display=off on an
 * mbochs-medium mdev. This test plays the guest's display driver through
 * a device fd of its own, taken from QEMU the way the daemon does
 * (vfio_take_device()): the bochs VBE registers through BAR2, VRAM through
 * BAR0.
 *
 *  1. The daemon starts before QEMU: vm1 is not taken, it says why, and the
 *     placeholder shows. QEMU starts: taken (by QEMU's pid) without a step
 *     here; 640x480 drawn and the mode set: the capture's middle is the
 *     guest's frame; a pan to a second buffer: the second frame.
 *  2. QEMU killed: within 1 s of its exit this process (the daemon) holds
 *     no vfio-device fd, vm1 is not taken, the placeholder shows, and the
 *     mdev can be removed (in a child, with a deadline: removal blocks in
 *     the kernel while the device is open). The mdev is made again with
 *     the same UUID.
 *  3. QEMU started again: taken again (takes 2), the guest's frame shows.
 *  4. kernel.yama.ptrace_scope = 3 (skipped without Yama): QEMU started
 *     again cannot be taken, even by root: last_error names pidfd_getfd and
 *     CAP_SYS_PTRACE, the placeholder shows and the daemon keeps serving.
 *
 * argv[1]: vscanoutctl, whose `status --json` (schema-checked) must say
 * what the daemon's state says; "-": not checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "common.h"
#include "conf-daemon.h"
#include "control/json.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kms/output.h"
#include "kmstest.h"
#include "nested.h"
#include "util/log.h"
#include "vfio-guest.h"
#include "vfio/take.h"

#define DIR         "/tmp/vscanout-vfio-take"
#define CONF_PATH   DIR "/vscanout.conf"
#define SOCKET_PATH DIR "/vscanout-0"
#define QMP_PATH    DIR "/vm1-daemon.qmp"
#define WIDTH       1024
#define HEIGHT      768
#define PIC_W       640
#define PIC_H       480
#define PIC_X       ((WIDTH - PIC_W) / 2)
#define PIC_Y       ((HEIGHT - PIC_H) / 2)
#define PLACEHOLDER 0x3366ccu
#define MDEV_TYPE   "mbochs-medium"
#define SEED_A      41
#define SEED_B      42
#define SEED_C      43
#define LET_GO_MS   1000
#define REMOVE_MS   5000
#define YAMA_PATH   "/proc/sys/kernel/yama/ptrace_scope"

static struct daemon *dmn;
static struct kms_output *output;
static const char *ctl_path; /* NULL: the status is not checked */
static char uuid[VG_UUID_SIZE];

static uint64_t deadline_ms(unsigned int ms)
{
	return kt_now_ns() + (uint64_t)ms * 1000000u;
}

static void serve(void *data, int timeout_ms)
{
	conf_daemon_dispatch(dmn, timeout_ms);
}

/* ---------------------------------------------------------------------- */
/* The daemon's view                                                      */
/* ---------------------------------------------------------------------- */

static struct vfio_take_info info(void)
{
	struct vfio_take_info i;
	kt_assertf(vfio_take_manager_get_info(dmn->vfio_take, "vm1", &i), "vm1 has no vfio-from=");
	return i;
}

static void print_info(const char *when)
{
	struct vfio_take_info i = info();
	printf("vm1 %s: %s, pid %d, takes %llu, last error: %s\n", when,
	       i.taken ? "taken" : "not taken", (int)i.pid, (unsigned long long)i.takes,
	       i.last_error != NULL ? i.last_error : "none");
}

/* anon_inode:[vfio-device] fds of this process: the daemon's and the test's own. */
static int vfio_device_fds(void)
{
	char path[64], target[128];
	int n = 0;
	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strcmp(target, "anon_inode:[vfio-device]") == 0;
	}
	return n;
}

/* Serve until vm1 is taken and has been `takes` times. */
static void wait_taken(uint64_t takes, const char *what)
{
	uint64_t end = deadline_ms(CONF_DAEMON_TIMEOUT_MS);
	for (;;) {
		struct vfio_take_info i = info();
		if (i.taken && i.takes >= takes)
			break;
		if (kt_now_ns() >= end) {
			print_info(what);
			kt_fail(__FILE__, __LINE__, "%s: vm1 is not taken (takes %llu, want %llu)",
				what, (unsigned long long)i.takes, (unsigned long long)takes);
		}
		conf_daemon_dispatch(dmn, 50);
	}
	print_info(what);
}

/*
 * vscanoutctl status --json: vm1's vfio_from says taken (by pid, takes
 * times) or not, and its last_error contains `error` ("": none; NULL: not
 * looked at).
 */
static void expect_status(bool taken, pid_t pid, uint64_t takes, const char *error,
			  const char *what)
{
	if (ctl_path == NULL)
		return;
	struct json_value *st = ctl_status(dmn->display, ctl_path, SOCKET_PATH);
	const struct json_value *vgpu = status_vgpu(st, "vm1");
	kt_assertf(vgpu != NULL, "%s: the status has no vGPU vm1", what);
	const struct json_value *from = json_get(vgpu, "vfio_from");
	kt_assertf(from != NULL && from->type == JSON_OBJECT, "%s: vm1 has no vfio_from object",
		   what);
	const char *s = json_get_string(from, "address");
	kt_assertf(s != NULL && strcmp(s, "qmp:" QMP_PATH) == 0, "%s: vfio_from.address %s", what,
		   s != NULL ? s : "(none)");
	s = json_get_string(from, "mdev");
	kt_assertf(s != NULL && strcmp(s, uuid) == 0, "%s: vfio_from.mdev %s, not %s", what,
		   s != NULL ? s : "(none)", uuid);
	kt_assertf(json_get_bool(from, "taken", !taken) == taken, "%s: vfio_from.taken is not %s",
		   what, taken ? "true" : "false");
	kt_assertf(json_get_number(from, "pid", -1) == (taken ? (double)pid : -1),
		   "%s: vfio_from.pid is not %d", what, taken ? (int)pid : -1);
	kt_assertf(json_get_number(from, "takes", -1) == (double)takes,
		   "%s: vfio_from.takes is not %llu", what, (unsigned long long)takes);
	s = json_get_string(from, "last_error");
	if (error != NULL && error[0] == '\0')
		kt_assertf(s == NULL, "%s: vfio_from.last_error is '%s'", what, s);
	else if (error != NULL)
		kt_assertf(s != NULL && strstr(s, error) != NULL,
			   "%s: vfio_from.last_error '%s' does not say '%s'", what,
			   s != NULL ? s : "(null)", error);
	json_value_free(st);
}

/* ---------------------------------------------------------------------- */
/* Pictures                                                               */
/* ---------------------------------------------------------------------- */

static uint64_t differing(const struct kt_image *a, const struct kt_image *b)
{
	if (a->width != b->width || a->height != b->height)
		return (uint64_t)-1;
	uint64_t n = 0;
	for (uint32_t y = 0; y < a->height; y++)
		for (uint32_t x = 0; x < a->width; x++)
			n += ((*kt_pixel(a, x, y) ^ *kt_pixel(b, x, y)) & 0xffffff) != 0;
	return n;
}

/* Serve until the capture equals want at x,y (the rest is not looked at). */
static void expect_at(const struct kt_image *want, uint32_t x0, uint32_t y0, const char *what)
{
	uint64_t end = deadline_ms(CONF_DAEMON_TIMEOUT_MS);
	struct kt_image part;
	kt_assert_ok(kt_image_alloc(&part, want->width, want->height, DRM_FORMAT_XRGB8888));
	for (;;) {
		struct kt_image cap;
		tk_capture(dmn->loop, output, &cap);
		kt_assertf(cap.width == WIDTH && cap.height == HEIGHT, "capture %ux%u", cap.width,
			   cap.height);
		for (uint32_t y = 0; y < want->height; y++)
			memcpy(kt_pixel(&part, 0, y), kt_pixel(&cap, x0, y0 + y),
			       (size_t)want->width * 4);
		kt_image_free(&cap);
		uint64_t n = differing(&part, want);
		if (n == 0 || kt_now_ns() >= end) {
			print_info(what);
			kt_assertf(kt_compare(&part, want, 0x00ffffff, what) == 0,
				   "%s: %llu pixels differ from what the guest shows", what,
				   (unsigned long long)n);
			break;
		}
		conf_daemon_dispatch(dmn, 50);
	}
	kt_image_free(&part);
}

static void expect_guest_frame(uint32_t seed, const char *what)
{
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, PIC_W, PIC_H, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, seed);
	expect_at(&want, PIC_X, PIC_Y, what);
	kt_image_free(&want);
}

static void expect_placeholder(const char *what)
{
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, WIDTH, HEIGHT, PLACEHOLDER);
	expect_at(&want, 0, 0, what);
	kt_image_free(&want);
}

/* ---------------------------------------------------------------------- */
/* The guest: its display driver on a device fd of the test's own        */
/* ---------------------------------------------------------------------- */

/* QEMU's device of the mdev, duplicated here as the daemon does, BAR0 mapped. */
static struct vg_guest *guest_take(struct nested_qemu *q)
{
	char msg[256];
	int fd = vfio_take_device(q->pid, q->pidfd, uuid, msg, sizeof(msg));
	kt_assertf(fd >= 0, "the test's own copy of QEMU's device: %s", msg);
	struct vg_guest *g = calloc(1, sizeof(*g));
	kt_assert(g != NULL);
	snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
	g->container_fd = g->group_fd = -1;
	g->device_fd = fd;
	kt_assert_ok(vg_region_info(g, VFIO_PCI_BAR0_REGION_INDEX, &g->vram_region));
	kt_assert_ok(vg_region_info(g, VFIO_PCI_BAR2_REGION_INDEX, &g->mmio_region));
	kt_assert_ok(vg_vram_map(g));
	return g;
}

/* The pixels of mode's visible part in VRAM. */
static struct kt_image vram_image(struct vg_guest *g, const struct vg_bochs_mode *mode)
{
	struct kt_image img = {
		.width = mode->width,
		.height = mode->height,
		.stride = (uint32_t)mode->virt_width * 4u,
		.format = DRM_FORMAT_XRGB8888,
		.data = (char *)g->vram + vg_bochs_offset(mode),
	};
	kt_assert(vg_bochs_offset(mode) + (size_t)img.stride * img.height <= g->vram_size);
	return img;
}

/* 640x480 in a virtual screen of two buffers, the first showing `seed`. */
static void guest_show(struct vg_guest *g, uint32_t seed)
{
	struct vg_bochs_mode mode = {.width = PIC_W,
				     .height = PIC_H,
				     .bpp = 32,
				     .virt_width = PIC_W,
				     .virt_height = 2 * PIC_H};
	struct kt_image img = vram_image(g, &mode);
	kt_fill_pattern(&img, seed);
	kt_assert_ok(vg_bochs_set_mode(g, &mode));
}

/* The second buffer drawn with `seed`, and shown by a pan. */
static void guest_pan(struct vg_guest *g, uint32_t seed)
{
	struct vg_bochs_mode mode = {.width = PIC_W,
				     .height = PIC_H,
				     .bpp = 32,
				     .virt_width = PIC_W,
				     .virt_height = 2 * PIC_H,
				     .y_offset = PIC_H};
	struct kt_image img = vram_image(g, &mode);
	kt_fill_pattern(&img, seed);
	kt_assert_ok(vg_bochs_pan(g, 0, PIC_H));
}

/* ---------------------------------------------------------------------- */
/* The mdev                                                               */
/* ---------------------------------------------------------------------- */

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int ret = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

/* The mdev of this UUID made again, after its removal. */
static void mdev_create_again(void)
{
	int ret = write_text("/sys/class/mdev_bus/mbochs/mdev_supported_types/" MDEV_TYPE "/create",
			     uuid);
	kt_assertf(ret == 0, "mdev %s made again: %s", uuid, strerror(-ret));
}

/*
 * Remove the mdev in a child: the kernel blocks there while anyone holds
 * the device. Serve the daemon until the child is done, for at most
 * REMOVE_MS.
 */
static void mdev_remove_soon(const char *what)
{
	fflush(stdout);
	fflush(stderr);
	uint64_t t0 = kt_now_ns();
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0)
		_exit(vg_mdev_remove(uuid) == 0 ? 0 : 1);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kt_assert_errno(pidfd >= 0);
	uint64_t end = deadline_ms(REMOVE_MS);
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		if (poll(&p, 1, 0) == 1)
			break;
		if (kt_now_ns() >= end) {
			kill(pid, SIGKILL);
			kt_fail(__FILE__, __LINE__,
				"%s: the mdev is not removed after %d ms: its device is still "
				"open (%d vfio-device fds here)",
				what, REMOVE_MS, vfio_device_fds());
		}
		conf_daemon_dispatch(dmn, 20);
	}
	close(pidfd);
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: removing the mdev failed",
		   what);
	printf("%s: mdev removed in %.1f ms\n", what, (double)(kt_now_ns() - t0) / 1e6);
}

/* ---------------------------------------------------------------------- */
/* The steps                                                              */
/* ---------------------------------------------------------------------- */

/*
 * QEMU killed: serve until this process holds no vfio-device fd any more,
 * which must be within LET_GO_MS of its exit; then vm1 is not taken and
 * the placeholder shows.
 */
static void kill_and_let_go(struct nested_qemu *q, const char *what)
{
	kt_assertf(vfio_device_fds() == 1, "%s: %d vfio-device fds here, not the daemon's one",
		   what, vfio_device_fds());
	q->serve = NULL;
	nested_qemu_kill(q);
	uint64_t t0 = kt_now_ns(), end = deadline_ms(LET_GO_MS);
	int n;
	while ((n = vfio_device_fds()) != 0 && kt_now_ns() < end)
		conf_daemon_dispatch(dmn, 5);
	print_info(what);
	kt_assertf(n == 0, "%s: the daemon still holds QEMU's device %d ms after QEMU's exit", what,
		   LET_GO_MS);
	printf("%s: the device let go %.1f ms after QEMU's exit\n", what,
	       (double)(kt_now_ns() - t0) / 1e6);
	struct vfio_take_info i = info();
	kt_assertf(!i.taken && i.pid == 0, "%s: vm1 is still taken (pid %d)", what, (int)i.pid);
	expect_placeholder(what);
}

static void start_qemu(struct nested_qemu *q)
{
	nested_qemu_start(q);
	q->serve = serve;
	kt_assertf(!nested_qemu_running(q), "QEMU's vCPU runs despite -S");
}

static void vfio_take_test(const char *image)
{
	char mdev_path[128], device_arg[192];
	kt_assert_ok(vg_mdev_create("mbochs", MDEV_TYPE, uuid));
	printf("mdev %s\n", uuid);
	snprintf(mdev_path, sizeof(mdev_path), "/sys/bus/mdev/devices/%s", uuid);
	snprintf(device_arg, sizeof(device_arg), "vfio-pci,sysfsdev=%s,display=off", mdev_path);
	const char *extra[] = {"-S", "-device", device_arg, NULL};
	struct nested_qemu q;
	nested_qemu_init(&q, "vm1", DIR, image, "none");
	q.extra = extra;

	/* 1: no QEMU yet; then QEMU, taken by itself; its guest's frames on screen. */
	conf_daemon_write(CONF_PATH,
			  "[daemon]\nsocket = " SOCKET_PATH "\n"
			  "[output Virtual-1]\nvgpu = vm1\nmode = %ux%u\nscale = center\n"
			  "placeholder = #3366cc\ncursor = hidden\n"
			  "[vgpu vm1]\nvfio-from = qmp:" QMP_PATH "\nmdev = %s\n",
			  WIDTH, HEIGHT, uuid);
	dmn = conf_daemon_start(CONF_PATH);
	output = display_find_output(dmn->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	kt_assertf(dmn->vfio_take != NULL, "the daemon has no vfio-from manager");
	struct vfio_take_info i = info();
	print_info("before-qemu");
	kt_assertf(!i.taken && i.takes == 0 && i.last_error != NULL &&
			   strstr(i.last_error, QMP_PATH) != NULL,
		   "before QEMU: vm1 is %s, its last error %s", i.taken ? "taken" : "not taken",
		   i.last_error != NULL ? i.last_error : "none");
	expect_placeholder("before-qemu");
	expect_status(false, 0, 0, QMP_PATH, "before-qemu");

	start_qemu(&q);
	wait_taken(1, "first");
	i = info();
	kt_assertf(i.pid == q.pid && i.last_error == NULL,
		   "vm1 is taken from pid %d, QEMU is %d; last error %s", (int)i.pid, (int)q.pid,
		   i.last_error != NULL ? i.last_error : "none");
	expect_status(true, q.pid, 1, "", "first");
	struct vg_guest *g = guest_take(&q);
	guest_show(g, SEED_A);
	expect_guest_frame(SEED_A, "first");
	guest_pan(g, SEED_B);
	expect_guest_frame(SEED_B, "panned");

	/* 2: QEMU gone: the device let go at once, the mdev can go. */
	vg_guest_destroy(g);
	kill_and_let_go(&q, "qemu-killed");
	expect_status(false, 0, 1, NULL, "qemu-killed");
	mdev_remove_soon("qemu-killed");
	mdev_create_again();

	/* 3: QEMU again, taken again. */
	start_qemu(&q);
	wait_taken(2, "restarted");
	kt_assertf(info().takes == 2 && info().pid == q.pid, "restarted: takes %llu, pid %d",
		   (unsigned long long)info().takes, (int)info().pid);
	expect_status(true, q.pid, 2, "", "restarted");
	g = guest_take(&q);
	guest_show(g, SEED_C);
	expect_guest_frame(SEED_C, "restarted");
	vg_guest_destroy(g);

	/* 4: ptrace denied to everyone: not taken, said so, the daemon serves on. */
	if (access(YAMA_PATH, F_OK) != 0) {
		printf("denied: skipped, no Yama (%s)\n", YAMA_PATH);
		kill_and_let_go(&q, "end");
	} else {
		kt_assert_ok(write_text(YAMA_PATH, "3\n"));
		kill_and_let_go(&q, "before-denied");
		start_qemu(&q);
		char msg[256];
		int fd = vfio_take_device(q.pid, q.pidfd, uuid, msg, sizeof(msg));
		kt_assertf(fd == -EPERM, "ptrace_scope 3: the test's own pidfd_getfd gave %d (%s)",
			   fd, fd < 0 ? msg : "a device");
		uint64_t end = deadline_ms(CONF_DAEMON_TIMEOUT_MS);
		for (;;) {
			i = info();
			if (i.last_error != NULL && strstr(i.last_error, "pidfd_getfd") != NULL)
				break;
			kt_assertf(kt_now_ns() < end, "denied: vm1 says no pidfd_getfd failure");
			conf_daemon_dispatch(dmn, 50);
		}
		print_info("denied");
		char pid_text[32];
		snprintf(pid_text, sizeof(pid_text), "(pid %d)", (int)q.pid);
		kt_assertf(strstr(i.last_error, "CAP_SYS_PTRACE") != NULL &&
				   strstr(i.last_error, pid_text) != NULL,
			   "denied: the last error does not name CAP_SYS_PTRACE and QEMU %s: %s",
			   pid_text, i.last_error);
		kt_assertf(!i.taken && i.takes == 2 && vfio_device_fds() == 0,
			   "denied: vm1 is %s, takes %llu, %d vfio-device fds",
			   i.taken ? "taken" : "not taken", (unsigned long long)i.takes,
			   vfio_device_fds());
		expect_placeholder("denied");
		expect_status(false, 0, 2, "CAP_SYS_PTRACE", "denied");
		q.serve = NULL;
		nested_qemu_kill(&q);
	}
	mdev_remove_soon("end");
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 3, "usage: %s GUEST_IMAGE VSCANOUTCTL|-", argv[0]);
	ctl_path = strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (!vg_mdev_parent_present("mbochs"))
		kt_skip("no mbochs mdev parent");
	/* The daemon must be the card's first opener (its DRM master): closed at once. */
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_device_close(&vkms);
	mkdir(DIR, 0700);
	vfio_take_test(argv[1]);
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("vfio-take: ok\n");
	return 0;
}
