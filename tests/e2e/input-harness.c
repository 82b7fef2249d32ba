// SPDX-License-Identifier: MIT
#include "input-harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>

#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "input/forward.h"
#include "kmstest.h"

/* ---------------------------------------------------------------------- */
/* The host's devices                                                     */
/* ---------------------------------------------------------------------- */

static void set_abs(int fd, int code, int maximum, int resolution)
{
	struct uinput_abs_setup abs = {.code = (uint16_t)code};
	abs.absinfo.maximum = maximum;
	abs.absinfo.resolution = resolution;
	kt_assert_errno(ioctl(fd, UI_SET_ABSBIT, code) == 0);
	kt_assert_errno(ioctl(fd, UI_ABS_SETUP, &abs) == 0);
}

int harness_device_create(const struct harness_device *device)
{
	int fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	kt_assertf(fd >= 0, "/dev/uinput: %s", strerror(errno));
	kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_KEY) == 0);
	for (size_t i = 0; i < device->n_keys; i++)
		kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, device->keys[i]) == 0);
	if (device->n_rels > 0)
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_REL) == 0);
	for (size_t i = 0; i < device->n_rels; i++)
		kt_assert_errno(ioctl(fd, UI_SET_RELBIT, device->rels[i]) == 0);
	if (device->abs) {
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0);
		set_abs(fd, ABS_X, 1023, 5);
		set_abs(fd, ABS_Y, 1023, 5);
	}
	if (device->abs && device->touch) {
		set_abs(fd, ABS_MT_SLOT, 4, 0);
		set_abs(fd, ABS_MT_TRACKING_ID, 65535, 0);
		set_abs(fd, ABS_MT_POSITION_X, 1023, 5);
		set_abs(fd, ABS_MT_POSITION_Y, 1023, 5);
		kt_assert_errno(ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT) == 0);
	}
	struct uinput_setup setup = {
		.id = {.bustype = BUS_USB, .vendor = 0x1234, .product = device->product}};
	snprintf(setup.name, sizeof(setup.name), "%s", device->name);
	kt_assert_errno(ioctl(fd, UI_DEV_SETUP, &setup) == 0);
	kt_assert_errno(ioctl(fd, UI_DEV_CREATE) == 0);
	return fd;
}

int harness_touchscreen_create(const char *name, uint16_t product)
{
	static const int keys[] = {BTN_TOUCH};
	const struct harness_device touch = {
		.name = name,
		.product = product,
		.keys = keys,
		.n_keys = 1,
		.abs = true,
		.touch = true,
	};
	return harness_device_create(&touch);
}

void harness_emit(int fd, int type, int code, int value)
{
	struct input_event ev = {.type = (uint16_t)type, .code = (uint16_t)code, .value = value};
	kt_assert_errno(write(fd, &ev, sizeof(ev)) == sizeof(ev));
}

void harness_syn(int fd)
{
	harness_emit(fd, EV_SYN, SYN_REPORT, 0);
}

void harness_hotkey(int keyboard, int last, const char *what)
{
	const int keys[] = {KEY_LEFTCTRL, KEY_LEFTALT, last};
	for (int i = 0; i < 3; i++) {
		harness_send(keyboard, EV_KEY, keys[i], 1);
	}
	for (int i = 2; i >= 0; i--) {
		harness_send(keyboard, EV_KEY, keys[i], 0);
	}
	harness_wait_events(6, what);
}

void harness_tap(int touch, int x, int y)
{
	harness_emit(touch, EV_ABS, ABS_MT_SLOT, 0);
	harness_emit(touch, EV_ABS, ABS_MT_TRACKING_ID, 1);
	harness_emit(touch, EV_ABS, ABS_MT_POSITION_X, x);
	harness_emit(touch, EV_ABS, ABS_MT_POSITION_Y, y);
	harness_emit(touch, EV_ABS, ABS_X, x);
	harness_emit(touch, EV_ABS, ABS_Y, y);
	harness_send(touch, EV_KEY, BTN_TOUCH, 1);
	harness_emit(touch, EV_ABS, ABS_MT_TRACKING_ID, -1);
	harness_send(touch, EV_KEY, BTN_TOUCH, 0);
	harness_wait_events(4, "the touch");
}

void harness_send(int fd, int type, int code, int value)
{
	harness_emit(fd, type, code, value);
	harness_syn(fd);
}

/* ---------------------------------------------------------------------- */
/* The VMMs: log what they receive                                        */
/* ---------------------------------------------------------------------- */

/* The pipes of every VMM: [0] read end, [1] write end. */
static struct vmm {
	const char *name;
	struct child child;
	int cmd[2], report[2];
} vmms[HARNESS_MAX_VMMS];
static int n_vmms;

static char vmm_log[16384];
static size_t vmm_log_len;
static int vmm_which; /* in a VMM: which one it is */
int harness_vmm_keyboard_fd = -1;

void harness_logf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(vmm_log + vmm_log_len, sizeof(vmm_log) - vmm_log_len, fmt, ap);
	va_end(ap);
	if (n > 0 && vmm_log_len + (size_t)n < sizeof(vmm_log))
		vmm_log_len += (size_t)n;
}

static void log_keys(const char *what, struct wl_array *keys)
{
	harness_logf("%s", what);
	uint32_t *k;
	const char *sep = " ";
	wl_array_for_each (k, keys) {
		harness_logf("%s%u", sep, *k);
		sep = ",";
	}
	harness_logf("\n");
}

static void in_keyboard_enter(void *d, struct vscanout_input_v1 *in, struct wl_array *keys)
{
	log_keys("kenter", keys);
}

static void in_keyboard_leave(void *d, struct vscanout_input_v1 *in, struct wl_array *keys)
{
	log_keys("kleave", keys);
}

static void in_key(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, uint32_t key,
		   uint32_t state)
{
	harness_logf("key %u %u\n", key, state);
}

static void in_pointer_enter(void *d, struct vscanout_input_v1 *in, wl_fixed_t x, wl_fixed_t y)
{
	harness_logf("penter %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_pointer_leave(void *d, struct vscanout_input_v1 *in)
{
	harness_logf("pleave\n");
}

static void in_pointer_motion(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			      wl_fixed_t x, wl_fixed_t y)
{
	harness_logf("motion %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_relative(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			wl_fixed_t dx, wl_fixed_t dy)
{
	harness_logf("rel %.0f,%.0f\n", wl_fixed_to_double(dx), wl_fixed_to_double(dy));
}

static void in_button(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
		      uint32_t button, uint32_t state)
{
	harness_logf("button %u %u\n", button, state);
}

static void in_scroll(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
		      uint32_t axis, int32_t value120)
{
	harness_logf("scroll %u %d\n", axis, value120);
}

static void in_touch_down(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			  int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	harness_logf("tdown %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_touch_motion(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			    int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	harness_logf("tmotion %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_touch_up(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, int32_t id)
{
	harness_logf("tup\n");
}

static void in_touch_frame(void *d, struct vscanout_input_v1 *in)
{
	harness_logf("tframe\n");
}

static void in_uinput_device(void *d, struct vscanout_input_v1 *in, uint32_t kind, const char *path)
{
	if (kind == VSCANOUT_INPUT_V1_INPUT_KIND_KEYBOARD)
		harness_vmm_keyboard_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

const struct vscanout_input_v1_listener harness_log_listener = {
	.keyboard_enter = in_keyboard_enter,
	.keyboard_leave = in_keyboard_leave,
	.key = in_key,
	.pointer_enter = in_pointer_enter,
	.pointer_leave = in_pointer_leave,
	.pointer_motion = in_pointer_motion,
	.pointer_relative_motion = in_relative,
	.pointer_button = in_button,
	.pointer_scroll = in_scroll,
	.touch_down = in_touch_down,
	.touch_motion = in_touch_motion,
	.touch_up = in_touch_up,
	.touch_frame = in_touch_frame,
	.uinput_device = in_uinput_device,
};

struct vscanout_vgpu_v1 *harness_vmm_attach(struct client *c, const char *socket, const char *name,
					    uint32_t width, uint32_t height, uint32_t seed,
					    int32_t x, int32_t y)
{
	client_connect(c, socket);
	struct vscanout_vgpu_v1 *vgpu = client_attach(c, name);
	struct vscanout_input_v1 *input = vscanout_vgpu_v1_get_input(vgpu);
	vscanout_input_v1_add_listener(input, &harness_log_listener, NULL);
	/* Kept until the process ends, as the buffer shown from it. */
	static struct client_image ci;
	client_image_create(&ci, width, height, seed);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), x, y);
	return vgpu;
}

void harness_vmm_serve(struct client *c, void (*on_command)(char cmd))
{
	const struct vmm *v = &vmms[vmm_which];
	for (;;) {
		char cmd;
		if (read(v->cmd[0], &cmd, 1) != 1)
			client_fail("no command");
		if (cmd == 'q')
			_exit(0);
		client_roundtrip(c);
		if (on_command != NULL)
			on_command(cmd);
		uint32_t len = (uint32_t)vmm_log_len;
		if (write(v->report[1], &len, sizeof(len)) != sizeof(len) ||
		    write(v->report[1], vmm_log, len) != (ssize_t)len)
			client_fail("cannot report");
		vmm_log_len = 0;
	}
}

/* ---------------------------------------------------------------------- */
/* The test process                                                       */
/* ---------------------------------------------------------------------- */

static struct config config;
static struct daemon *dmn;
static uint64_t seen; /* events libinput handed over, as last awaited */
static void (*vmm_fn)(int which);

void harness_init(enum log_level level, struct kt_device *dev)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(level);
	signal(SIGPIPE, SIG_IGN);
	if (access("/dev/uinput", F_OK) != 0)
		kt_skip("no /dev/uinput");
	kt_device_open_or_skip(dev, "virtio_gpu");
}

struct daemon *harness_daemon_create(const char *text)
{
	kt_assert(system("udevadm settle") == 0);
	config_init(&config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	dmn = daemon_create(&config);
	kt_assert(dmn != NULL && dmn->forward != NULL);
	seen = input_forward_events(dmn->forward);
	return dmn;
}

static void run_vmm(int which)
{
	/* Only its own ends: the others' would keep their pipes open after this process ends. */
	for (int i = 0; i < n_vmms; i++) {
		close(vmms[i].cmd[1]);
		close(vmms[i].report[0]);
		if (i != which) {
			close(vmms[i].cmd[0]);
			close(vmms[i].report[1]);
		}
	}
	vmm_which = which;
	vmm_fn(which);
}

void harness_start(struct daemon *daemon, const char *const *names, int n, void (*vmm)(int which))
{
	kt_assert(n <= HARNESS_MAX_VMMS);
	dmn = daemon;
	vmm_fn = vmm;
	n_vmms = n;
	for (int i = 0; i < n; i++) {
		vmms[i].name = names[i];
		kt_assert_errno(pipe2(vmms[i].cmd, O_CLOEXEC) == 0);
		kt_assert_errno(pipe2(vmms[i].report, O_CLOEXEC) == 0);
	}
	for (int i = 0; i < n; i++)
		child_start(&vmms[i].child, dmn->loop, run_vmm, i);
	for (int i = 0; i < n; i++) {
		close(vmms[i].cmd[0]);
		close(vmms[i].report[1]);
	}
}

void harness_finish(void)
{
	for (int i = 0; i < n_vmms; i++) {
		kt_assert_errno(write(vmms[i].cmd[1], "q", 1) == 1);
		while (!vmms[i].child.exited)
			harness_dispatch(50);
		kt_assertf(WIFEXITED(vmms[i].child.status) &&
				   WEXITSTATUS(vmms[i].child.status) == 0,
			   "VMM %s: status 0x%x", vmms[i].name, vmms[i].child.status);
		close(vmms[i].cmd[1]);
		close(vmms[i].report[0]);
	}
	n_vmms = 0;
	daemon_destroy(dmn);
	config_finish(&config);
	dmn = NULL;
}

void harness_dispatch(int timeout_ms)
{
	wl_display_flush_clients(dmn->display);
	kt_assert(wl_event_loop_dispatch(dmn->loop, timeout_ms) >= 0 || errno == EINTR);
}

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
}

void harness_wait_events(uint64_t count, const char *what)
{
	uint64_t end = deadline();
	while (input_forward_events(dmn->forward) < seen + count) {
		kt_assertf(kt_now_ns() < end, "timed out waiting for %s (%llu of %llu events)",
			   what, (unsigned long long)(input_forward_events(dmn->forward) - seen),
			   (unsigned long long)count);
		harness_dispatch(50);
	}
	seen = input_forward_events(dmn->forward);
}

/* Ask VMM i for what it received since the last time. */
static void fetch_log(int i, char cmd, char *buf, size_t size)
{
	const struct vmm *v = &vmms[i];
	kt_assert_errno(write(v->cmd[1], &cmd, 1) == 1);
	uint32_t len = 0;
	size_t got = 0, want = sizeof(len);
	char *dst = (char *)&len;
	bool header = true;
	uint64_t end = deadline();
	while (got < want) {
		kt_assertf(kt_now_ns() < end, "VMM %s does not report", v->name);
		struct pollfd pfd = {.fd = v->report[0], .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = read(v->report[0], dst + got, want - got);
			kt_assertf(n > 0, "VMM %s ended", v->name);
			got += (size_t)n;
			if (got == want && header) {
				header = false;
				kt_assert(len < size);
				dst = buf;
				want = len;
				got = 0;
			}
			continue;
		}
		harness_dispatch(10);
	}
	buf[len] = '\0';
}

void harness_expect_cmd(int i, char cmd, const char *want, const char *step)
{
	static char got[sizeof(vmm_log)];
	fetch_log(i, cmd, got, sizeof(got));
	printf("%s, VMM %s got:\n%s", step, vmms[i].name, got);
	kt_assertf(strcmp(got, want) == 0, "%s: VMM %s got\n%s\nwant\n%s", step, vmms[i].name, got,
		   want);
}

void harness_expect(int i, const char *want, const char *step)
{
	harness_expect_cmd(i, 'd', want, step);
}
