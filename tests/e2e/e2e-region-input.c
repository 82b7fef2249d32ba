// SPDX-License-Identifier: MIT
/*
 * Host input routed by region on an output that shows two vGPUs side by
 * side (virtio-gpu, Virtual-1 at 1024x768, vgpu = a, b: two columns of
 * 512x768). The daemon's code runs in this process with udevd running;
 * this process owns the "physical" devices, made with /dev/uinput: a
 * keyboard, an absolute mouse (a tablet-like pointer, as QEMU's usb-tablet,
 * so that the pointer lands on exact points) and a touchscreen. Forked
 * VMMs attach to a and b, each showing a 256x384 picture at 128,192 of
 * its region, and to c, shown nowhere at first; each takes its
 * vscanout_input_v1 and logs every event. After each step the logs are
 * compared exactly:
 *
 *  1. the pointer at 256,384 of the output, in the left half: a gets the
 *     pointer at guest 128,192 (its picture's middle) and the keyboard; a
 *     key goes to a;
 *  2. the pointer at 768,192, in the right half: a leaves, b enters at
 *     guest 128,0 and gets the keyboard and a key;
 *  3. the pointer at 800,450 moves b's pointer to guest 160,258;
 *  4. a touch at 320,480 of the output, in the left half, goes to a at
 *     guest 192,288 while b keeps the pointer;
 *  5. Ctrl+Alt+Down (hotkey-next-vgpu) cycles the vGPU of the region under
 *     the pointer, the right one: b gives its place to c, the next vGPU
 *     of the configuration, and c gets the pointer there; a, in the other
 *     region, keeps its place and hears nothing;
 *  6. Ctrl+Alt+Up (hotkey-prev-vgpu) brings b back into that region.
 */
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
#include <unistd.h>
#include <wayland-client.h>

#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "input/forward.h"
#include "kmstest.h"

#define SOCKET_PATH "/tmp/vscanout-region-input-test/vscanout-0"
#define TOUCH_NAME  "vscanout-test touch"
#define N_VMMS      3
#define TIMEOUT_MS  20000

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "hotkey-next-vgpu = Ctrl+Alt+Down\n"
				  "hotkey-prev-vgpu = Ctrl+Alt+Up\n"
				  "[output Virtual-1]\n"
				  "vgpu = a, b\n"
				  "mode = 1024x768\n"
				  "[vgpu a]\n"
				  "[vgpu b]\n"
				  "[vgpu c]\n"
				  "[touchscreen " TOUCH_NAME "]\n"
				  "output = Virtual-1\n";

static const char *const names[N_VMMS] = {"a", "b", "c"};

/* ---------------------------------------------------------------------- */
/* The VMMs: log what they receive                                        */
/* ---------------------------------------------------------------------- */

static char vmm_log[8192];
static size_t vmm_log_len;

__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
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
	logf_("%s", what);
	uint32_t *k;
	const char *sep = " ";
	wl_array_for_each (k, keys) {
		logf_("%s%u", sep, *k);
		sep = ",";
	}
	logf_("\n");
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
	logf_("key %u %u\n", key, state);
}

static void in_pointer_enter(void *d, struct vscanout_input_v1 *in, wl_fixed_t x, wl_fixed_t y)
{
	logf_("penter %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_pointer_leave(void *d, struct vscanout_input_v1 *in)
{
	logf_("pleave\n");
}

static void in_pointer_motion(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			      wl_fixed_t x, wl_fixed_t y)
{
	logf_("motion %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_relative(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			wl_fixed_t dx, wl_fixed_t dy)
{
	logf_("rel %.0f,%.0f\n", wl_fixed_to_double(dx), wl_fixed_to_double(dy));
}

static void in_button(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
		      uint32_t button, uint32_t state)
{
	logf_("button %u %u\n", button, state);
}

static void in_scroll(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
		      uint32_t axis, int32_t value120)
{
	logf_("scroll %u %d\n", axis, value120);
}

static void in_touch_down(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			  int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	logf_("tdown %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_touch_motion(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo,
			    int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	logf_("tmotion %.0f,%.0f\n", wl_fixed_to_double(x), wl_fixed_to_double(y));
}

static void in_touch_up(void *d, struct vscanout_input_v1 *in, uint32_t hi, uint32_t lo, int32_t id)
{
	logf_("tup\n");
}

static void in_touch_frame(void *d, struct vscanout_input_v1 *in)
{
	logf_("tframe\n");
}

static void in_uinput_device(void *d, struct vscanout_input_v1 *in, uint32_t kind, const char *path)
{
}

static const struct vscanout_input_v1_listener input_listener = {
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

static int cmd_r[N_VMMS], cmd_w[N_VMMS], report_r[N_VMMS], report_w[N_VMMS];

static void vmm(int which)
{
	/* Only its own ends: the others' would keep their pipes open after this process ends. */
	for (int i = 0; i < N_VMMS; i++) {
		close(cmd_w[i]);
		close(report_r[i]);
		if (i != which) {
			close(cmd_r[i]);
			close(report_w[i]);
		}
	}
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, names[which]);
	struct vscanout_input_v1 *input = vscanout_vgpu_v1_get_input(vgpu);
	vscanout_input_v1_add_listener(input, &input_listener, NULL);
	struct client_image ci;
	client_image_create(&ci, 256, 384, 70 + (uint32_t)which);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 128, 192);
	if (which == 2) {
		/* Shown nowhere yet: the frame waits for a place. */
		vscanout_vgpu_v1_commit(vgpu, 1);
		client_roundtrip(&c);
	} else {
		uint32_t serial = 1;
		while (!client_commit(&c, vgpu, serial))
			serial++;
	}
	for (;;) {
		char cmd;
		if (read(cmd_r[which], &cmd, 1) != 1)
			client_fail("no command");
		if (cmd == 'q')
			_exit(0);
		client_roundtrip(&c);
		uint32_t len = (uint32_t)vmm_log_len;
		if (write(report_w[which], &len, sizeof(len)) != sizeof(len) ||
		    write(report_w[which], vmm_log, len) != (ssize_t)len)
			client_fail("cannot report");
		vmm_log_len = 0;
	}
}

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

enum device_kind { DEVICE_KEYBOARD, DEVICE_ABS_MOUSE, DEVICE_TOUCH };

static int make_device(const char *name, enum device_kind kind)
{
	static const int keyboard_keys[] = {KEY_A, KEY_LEFTCTRL, KEY_LEFTALT, KEY_UP, KEY_DOWN};
	static const int mouse_keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};
	int fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	kt_assertf(fd >= 0, "/dev/uinput: %s", strerror(errno));
	kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_KEY) == 0);
	switch (kind) {
	case DEVICE_KEYBOARD:
		for (size_t i = 0; i < sizeof(keyboard_keys) / sizeof(keyboard_keys[0]); i++)
			kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, keyboard_keys[i]) == 0);
		break;
	case DEVICE_ABS_MOUSE:
		/* Absolute axes and mouse buttons, not direct: udev calls it a mouse. */
		for (size_t i = 0; i < sizeof(mouse_keys) / sizeof(mouse_keys[0]); i++)
			kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, mouse_keys[i]) == 0);
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0);
		set_abs(fd, ABS_X, 1023, 5);
		set_abs(fd, ABS_Y, 1023, 5);
		break;
	case DEVICE_TOUCH:
		kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, BTN_TOUCH) == 0);
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0);
		set_abs(fd, ABS_X, 1023, 5);
		set_abs(fd, ABS_Y, 1023, 5);
		set_abs(fd, ABS_MT_SLOT, 4, 0);
		set_abs(fd, ABS_MT_TRACKING_ID, 65535, 0);
		set_abs(fd, ABS_MT_POSITION_X, 1023, 5);
		set_abs(fd, ABS_MT_POSITION_Y, 1023, 5);
		kt_assert_errno(ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT) == 0);
		break;
	}
	struct uinput_setup setup = {.id = {.bustype = BUS_USB, .vendor = 0x1234, .product = 2}};
	snprintf(setup.name, sizeof(setup.name), "%s", name);
	kt_assert_errno(ioctl(fd, UI_DEV_SETUP, &setup) == 0);
	kt_assert_errno(ioctl(fd, UI_DEV_CREATE) == 0);
	return fd;
}

static void emit(int fd, int type, int code, int value)
{
	struct input_event ev = {.type = (uint16_t)type, .code = (uint16_t)code, .value = value};
	kt_assert_errno(write(fd, &ev, sizeof(ev)) == sizeof(ev));
}

static void syn(int fd)
{
	emit(fd, EV_SYN, SYN_REPORT, 0);
}

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

static struct daemon *dmn;

static void dispatch(int timeout_ms)
{
	wl_display_flush_clients(dmn->display);
	kt_assert(wl_event_loop_dispatch(dmn->loop, timeout_ms) >= 0 || errno == EINTR);
}

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
}

/* Serve until libinput has handed over `count` more events than before. */
static void wait_events(uint64_t *seen, uint64_t count, const char *what)
{
	uint64_t end = deadline();
	while (input_forward_events(dmn->forward) < *seen + count) {
		kt_assertf(kt_now_ns() < end, "timed out waiting for %s (%llu of %llu events)",
			   what, (unsigned long long)(input_forward_events(dmn->forward) - *seen),
			   (unsigned long long)count);
		dispatch(50);
	}
	*seen = input_forward_events(dmn->forward);
}

/* Ask VMM i for what it received since the last time. */
static void fetch_log(int i, char *buf, size_t size)
{
	kt_assert_errno(write(cmd_w[i], "d", 1) == 1);
	uint32_t len = 0;
	size_t got = 0, want = sizeof(len);
	char *dst = (char *)&len;
	bool header = true;
	uint64_t end = deadline();
	while (got < want) {
		kt_assertf(kt_now_ns() < end, "VMM %s does not report", names[i]);
		struct pollfd pfd = {.fd = report_r[i], .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = read(report_r[i], dst + got, want - got);
			kt_assertf(n > 0, "VMM %s ended", names[i]);
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
		dispatch(10);
	}
	buf[len] = '\0';
}

static void expect(int i, const char *want, const char *step)
{
	char got[8192];
	fetch_log(i, got, sizeof(got));
	printf("%s, VMM %s got:\n%s", step, names[i], got);
	kt_assertf(strcmp(got, want) == 0, "%s: VMM %s got\n%s\nwant\n%s", step, names[i], got,
		   want);
}

/* The absolute mouse at x,y of its 1024 x 1024 range: the output's x, y × 0.75. */
static void point(int mouse, int x, int y, uint64_t *seen, const char *what)
{
	emit(mouse, EV_ABS, ABS_X, x);
	emit(mouse, EV_ABS, ABS_Y, y);
	syn(mouse);
	wait_events(seen, 1, what);
}

static void key(int keyboard, int code, uint64_t *seen)
{
	emit(keyboard, EV_KEY, code, 1);
	syn(keyboard);
	emit(keyboard, EV_KEY, code, 0);
	syn(keyboard);
	wait_events(seen, 2, "a key");
}

static void hotkey(int keyboard, int last, uint64_t *seen)
{
	const int keys[] = {KEY_LEFTCTRL, KEY_LEFTALT, last};
	for (int i = 0; i < 3; i++) {
		emit(keyboard, EV_KEY, keys[i], 1);
		syn(keyboard);
	}
	for (int i = 2; i >= 0; i--) {
		emit(keyboard, EV_KEY, keys[i], 0);
		syn(keyboard);
	}
	wait_events(seen, 6, "the hotkey");
}

/* Virtual-1's vgpu= list as it is now, "a, b". */
static void shown(char *buf, size_t size)
{
	const struct config_output *co = config_find_output(&dmn->config, "Virtual-1");
	kt_assert(co != NULL);
	buf[0] = '\0';
	for (size_t i = 0; i < config_output_n_vgpus(co); i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i > 0 ? ", " : "",
			 config_output_vgpu(co, i));
}

static void run_vmm(int which)
{
	vmm(which);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (access("/dev/uinput", F_OK) != 0)
		kt_skip("no /dev/uinput");
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_device_close(&dev);

	int keyboard = make_device("vscanout-test keyboard", DEVICE_KEYBOARD);
	int mouse = make_device("vscanout-test absolute mouse", DEVICE_ABS_MOUSE);
	int touch = make_device(TOUCH_NAME, DEVICE_TOUCH);
	kt_assert(system("udevadm settle") == 0);

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	dmn = daemon_create(&config);
	kt_assert(dmn != NULL && dmn->forward != NULL);
	uint64_t seen = input_forward_events(dmn->forward);

	struct child vmms[N_VMMS];
	for (int i = 0; i < N_VMMS; i++) {
		int cmd[2], rep[2];
		kt_assert_errno(pipe2(cmd, O_CLOEXEC) == 0);
		kt_assert_errno(pipe2(rep, O_CLOEXEC) == 0);
		cmd_r[i] = cmd[0];
		cmd_w[i] = cmd[1];
		report_r[i] = rep[0];
		report_w[i] = rep[1];
	}
	for (int i = 0; i < N_VMMS; i++)
		child_start(&vmms[i], dmn->loop, run_vmm, i);
	for (int i = 0; i < N_VMMS; i++) {
		close(cmd_r[i]);
		close(report_w[i]);
	}
	/* Every VMM shows its picture (or, c, has sent it) before any input. */
	for (int i = 0; i < N_VMMS; i++)
		expect(i, "", "start");

	/* 1. The left half: a, at its picture's middle. */
	point(mouse, 256, 512, &seen, "the pointer on the left");
	key(keyboard, KEY_A, &seen);
	expect(0, "penter 128,192\nkenter\nmotion 128,192\nkey 30 1\nkey 30 0\n", "1. left");
	expect(1, "", "1. left");

	/* 2. The right half: b. */
	point(mouse, 768, 256, &seen, "the pointer on the right");
	key(keyboard, KEY_A, &seen);
	expect(0, "pleave\nkleave\n", "2. right");
	expect(1, "penter 128,0\nkenter\nmotion 128,0\nkey 30 1\nkey 30 0\n", "2. right");

	/* 3. Within b's region. */
	point(mouse, 800, 600, &seen, "the pointer within the right");
	expect(0, "", "3. within");
	expect(1, "motion 160,258\n", "3. within");

	/* 4. A touch on the left half goes to a, whatever has the pointer. */
	emit(touch, EV_ABS, ABS_MT_SLOT, 0);
	emit(touch, EV_ABS, ABS_MT_TRACKING_ID, 1);
	emit(touch, EV_ABS, ABS_MT_POSITION_X, 320);
	emit(touch, EV_ABS, ABS_MT_POSITION_Y, 640);
	emit(touch, EV_ABS, ABS_X, 320);
	emit(touch, EV_ABS, ABS_Y, 640);
	emit(touch, EV_KEY, BTN_TOUCH, 1);
	syn(touch);
	emit(touch, EV_ABS, ABS_MT_TRACKING_ID, -1);
	emit(touch, EV_KEY, BTN_TOUCH, 0);
	syn(touch);
	wait_events(&seen, 4, "the touch");
	expect(0, "tdown 192,288\ntframe\ntup\ntframe\n", "4. touch");
	expect(1, "", "4. touch");

	/* 5. The next vGPU in the region under the pointer: c instead of b. */
	char list[64];
	hotkey(keyboard, KEY_DOWN, &seen);
	shown(list, sizeof(list));
	printf("5. next vGPU: Virtual-1 shows %s\n", list);
	kt_assertf(strcmp(list, "a, c") == 0, "Virtual-1 shows %s, not a, c", list);
	expect(0, "", "5. next vGPU");
	expect(1, "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "5. next vGPU");
	expect(2, "penter 160,258\nkenter 29,56\nmotion 160,258\nkey 56 0\nkey 29 0\n",
	       "5. next vGPU");

	/* 6. The previous one: b back. */
	hotkey(keyboard, KEY_UP, &seen);
	shown(list, sizeof(list));
	printf("6. previous vGPU: Virtual-1 shows %s\n", list);
	kt_assertf(strcmp(list, "a, b") == 0, "Virtual-1 shows %s, not a, b", list);
	expect(0, "", "6. previous vGPU");
	expect(2, "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "6. previous vGPU");
	expect(1, "penter 160,258\nkenter 29,56\nmotion 160,258\nkey 56 0\nkey 29 0\n",
	       "6. previous vGPU");

	for (int i = 0; i < N_VMMS; i++) {
		kt_assert_errno(write(cmd_w[i], "q", 1) == 1);
		while (!vmms[i].exited)
			dispatch(50);
		kt_assertf(WIFEXITED(vmms[i].status) && WEXITSTATUS(vmms[i].status) == 0,
			   "VMM %s: status 0x%x", names[i], vmms[i].status);
	}
	daemon_destroy(dmn);
	config_finish(&config);
	close(keyboard);
	close(mouse);
	close(touch);
	printf("e2e-region-input: ok\n");
	return 0;
}
