// SPDX-License-Identifier: MIT
/*
 * Host input routed to the VMs on screen, through vscanoutd on a two-head
 * virtio-gpu. The daemon's code runs in this process with udevd running;
 * this process also owns the "physical" devices, made with /dev/uinput
 * (a keyboard, a mouse, a touchscreen), and plays a scripted sequence on
 * them. Two forked VMMs attach to vGPUs a (Virtual-1) and b (Virtual-2,
 * rotation 90, uinput=yes), each showing a 512x384 framebuffer at 256,192
 * of its output (1024x768; 768x1024 upright for the turned one), take
 * their vscanout_input_v1 and log every event.
 * After each step the logs are compared exactly:
 *
 *  1. the pointer slammed into Virtual-1's top-left corner enters a, at
 *     guest 0,0 (left of and above the picture, clamped to it), with the
 *     keyboard; a key goes to a; shift is held;
 *     the host's cursor is drawn at the pointer, a showing none of its own;
 *  2. the pointer crosses to Virtual-2 (cursor = hidden: no cursor there)
 *     and stops at its right edge, level with the top: guest 512,0;
 *     a gets keyboard_leave listing
 *     shift, b keyboard_enter listing it; its release, a button and a
 *     wheel detent (120) go to b and nothing to a;
 *     the pointer at Virtual-2's bottom-right corner is the picture's
 *     bottom-right, guest 512,384: the picture is turned with the monitor;
 *  3. a touch at (0.5, 0.25) of the touchscreen, bound to Virtual-2 by its
 *     [touchscreen] section, arrives at b at guest 320,320: the panel's
 *     mode point 512,192 (a touchscreen is laminated to its panel and turns
 *     with it) is the upright point 576,512;
 *  4. b's virtual keyboard (uinput=yes), read from its evdev node, pressed
 *     shift when b got the focus with it held, then released it;
 *  5. the mouse is unplugged and another plugged in: routing goes on, the
 *     pointer back on a;
 *  6. the hotkey Ctrl+Alt+Right moves the focus to b; neither its press
 *     nor its release reaches a VM;
 *  7. the hotkey Ctrl+Alt+Down (hotkey-next-vgpu) makes Virtual-2, under
 *     the pointer, show the next vGPU of the configuration, a (after b,
 *     wrapping): a's picture is on both heads, a gets the pointer and the
 *     keyboard there, b leaves; Down reaches nobody.
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

#include <drm_fourcc.h>

#include "client.h"
#include "common.h"
#include "config/config.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "input/forward.h"
#include "kms/output.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "vgpu/vgpu.h"

#define SOCKET_PATH "/tmp/vscanout-input-test/vscanout-0"
#define TOUCH_NAME  "vscanout-test touch"

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "hotkey-next-vgpu = Ctrl+Alt+Down\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = b\n"
				  "mode = 1024x768\n"
				  "rotation = 90\n"
				  "cursor = hidden\n"
				  "[vgpu a]\n"
				  "[vgpu b]\n"
				  "uinput = yes\n"
				  "[touchscreen " TOUCH_NAME "]\n"
				  "output = Virtual-2\n";

/* ---------------------------------------------------------------------- */
/* The VMMs: log what they receive                                        */
/* ---------------------------------------------------------------------- */

static char vmm_log[16384];
static size_t vmm_log_len;
static int uinput_keyboard_fd = -1;

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
	if (kind == VSCANOUT_INPUT_V1_INPUT_KIND_KEYBOARD)
		uinput_keyboard_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
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

static int cmd_fd, report_fd;

static void vmm(int which)
{
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, which == 0 ? "a" : "b");
	struct vscanout_input_v1 *input = vscanout_vgpu_v1_get_input(vgpu);
	vscanout_input_v1_add_listener(input, &input_listener, NULL);
	struct client_image ci;
	client_image_create(&ci, 512, 384, 40 + (uint32_t)which);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 256, 192);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	if (which == 1 && uinput_keyboard_fd < 0)
		client_fail("no virtual keyboard for b (uinput = yes)");
	for (;;) {
		char cmd;
		if (read(cmd_fd, &cmd, 1) != 1)
			client_fail("no command");
		if (cmd == 'q')
			_exit(0);
		client_roundtrip(&c);
		if (cmd == 'u') {
			/* What b's virtual keyboard carried, as the guest's evdev reader sees it.
			 */
			struct input_event ev;
			while (read(uinput_keyboard_fd, &ev, sizeof(ev)) == sizeof(ev)) {
				if (ev.type == EV_KEY)
					logf_("evdev key %u %d\n", ev.code, ev.value);
			}
		}
		uint32_t len = (uint32_t)vmm_log_len;
		if (write(report_fd, &len, sizeof(len)) != sizeof(len) ||
		    write(report_fd, vmm_log, len) != (ssize_t)len)
			client_fail("cannot report");
		vmm_log_len = 0;
	}
}

/* ---------------------------------------------------------------------- */
/* The host's devices                                                     */
/* ---------------------------------------------------------------------- */

static int make_device(const char *name, const int *keys, size_t n_keys, const int *rels,
		       size_t n_rels, bool touch)
{
	int fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	kt_assertf(fd >= 0, "/dev/uinput: %s", strerror(errno));
	kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_KEY) == 0);
	for (size_t i = 0; i < n_keys; i++)
		kt_assert_errno(ioctl(fd, UI_SET_KEYBIT, keys[i]) == 0);
	if (n_rels > 0)
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_REL) == 0);
	for (size_t i = 0; i < n_rels; i++)
		kt_assert_errno(ioctl(fd, UI_SET_RELBIT, rels[i]) == 0);
	if (touch) {
		static const int axes[] = {ABS_X,
					   ABS_Y,
					   ABS_MT_SLOT,
					   ABS_MT_TRACKING_ID,
					   ABS_MT_POSITION_X,
					   ABS_MT_POSITION_Y};
		kt_assert_errno(ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0);
		for (size_t i = 0; i < sizeof(axes) / sizeof(axes[0]); i++) {
			struct uinput_abs_setup abs = {.code = (uint16_t)axes[i]};
			abs.absinfo.maximum = axes[i] == ABS_MT_SLOT          ? 4
					      : axes[i] == ABS_MT_TRACKING_ID ? 65535
									      : 1023;
			abs.absinfo.resolution =
				axes[i] == ABS_MT_SLOT || axes[i] == ABS_MT_TRACKING_ID ? 0 : 5;
			kt_assert_errno(ioctl(fd, UI_SET_ABSBIT, axes[i]) == 0);
			kt_assert_errno(ioctl(fd, UI_ABS_SETUP, &abs) == 0);
		}
		kt_assert_errno(ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT) == 0);
	}
	struct uinput_setup setup = {.id = {.bustype = BUS_USB, .vendor = 0x1234, .product = 1}};
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

static const int keyboard_keys[] = {KEY_A,       KEY_LEFTSHIFT, KEY_LEFTCTRL,
				    KEY_LEFTALT, KEY_RIGHT,     KEY_DOWN};
static const int mouse_keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};
static const int mouse_rels[] = {REL_X, REL_Y, REL_WHEEL, REL_WHEEL_HI_RES};
static const int touch_keys[] = {BTN_TOUCH};

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

static struct daemon *dmn;
static struct child vmms[2];
static int cmd_w[2], report_r[2];

static void dispatch(int timeout_ms)
{
	wl_display_flush_clients(dmn->display);
	kt_assert(wl_event_loop_dispatch(dmn->loop, timeout_ms) >= 0);
}

/* Serve until libinput has handed over `count` more events than before. */
static void wait_events(uint64_t *seen, uint64_t count, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (input_forward_events(dmn->forward) < *seen + count) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s (%llu of %llu events)",
			   what, (unsigned long long)(input_forward_events(dmn->forward) - *seen),
			   (unsigned long long)count);
		dispatch(50);
	}
	*seen = input_forward_events(dmn->forward);
}

/* Ask VMM i for what it received since the last time. */
static void fetch_log(int i, char cmd, char *buf, size_t size)
{
	kt_assert_errno(write(cmd_w[i], &cmd, 1) == 1);
	uint32_t len = 0;
	size_t got = 0;
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	char *dst = (char *)&len;
	size_t want = sizeof(len);
	bool header = true;
	while (got < want) {
		kt_assertf(kt_now_ns() < deadline, "VMM %d does not report", i);
		struct pollfd pfd = {.fd = report_r[i], .events = POLLIN};
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = read(report_r[i], dst + got, want - got);
			kt_assertf(n > 0, "VMM %d ended", i);
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

static void expect(int i, char cmd, const char *want, const char *step)
{
	char got[16384];
	fetch_log(i, cmd, got, sizeof(got));
	printf("%s, VMM %c got:\n%s", step, 'a' + i, got);
	kt_assertf(strcmp(got, want) == 0, "%s: VMM %c got\n%s\nwant\n%s", step, 'a' + i, got,
		   want);
}

/* The host cursor's layer (VGPU_HOST_CURSOR_ZPOS) on output name, or NULL. */
static struct kms_layer *host_cursor(const char *name)
{
	struct kms_output *output = display_find_output(dmn->display_manager, name);
	kt_assert(output != NULL);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->zpos == VGPU_HOST_CURSOR_ZPOS && layer->buffer != NULL)
			return layer;
	}
	return NULL;
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
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	int keyboard =
		make_device("vscanout-test keyboard", keyboard_keys,
			    sizeof(keyboard_keys) / sizeof(keyboard_keys[0]), NULL, 0, false);
	int mouse = make_device("vscanout-test mouse", mouse_keys,
				sizeof(mouse_keys) / sizeof(mouse_keys[0]), mouse_rels,
				sizeof(mouse_rels) / sizeof(mouse_rels[0]), false);
	int touch = make_device(TOUCH_NAME, touch_keys, 1, NULL, 0, true);
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

	for (int i = 0; i < 2; i++) {
		int cmd[2], rep[2];
		kt_assert_errno(pipe2(cmd, O_CLOEXEC) == 0);
		kt_assert_errno(pipe2(rep, O_CLOEXEC) == 0);
		cmd_fd = cmd[0];
		report_fd = rep[1];
		child_start(&vmms[i], dmn->loop, run_vmm, i);
		close(cmd[0]);
		close(rep[1]);
		cmd_w[i] = cmd[1];
		report_r[i] = rep[0];
	}
	/* Both show their picture before any input. */
	expect(0, 'd', "", "start");
	expect(1, 'd', "", "start");

	/* 1. Into Virtual-1's top-left corner: a. */
	emit(mouse, EV_REL, REL_X, -3000);
	emit(mouse, EV_REL, REL_Y, -3000);
	syn(mouse);
	wait_events(&seen, 1, "the motion to the corner");
	emit(keyboard, EV_KEY, KEY_A, 1);
	syn(keyboard);
	emit(keyboard, EV_KEY, KEY_A, 0);
	syn(keyboard);
	emit(keyboard, EV_KEY, KEY_LEFTSHIFT, 1);
	syn(keyboard);
	wait_events(&seen, 3, "the keys");
	expect(0, 'd',
	       "penter 0,0\nkenter\nmotion 0,0\nrel -3000,-3000\nkey 30 1\nkey 30 0\nkey 42 1\n",
	       "1. corner of Virtual-1");
	expect(1, 'd', "", "1. corner of Virtual-1");
	/* a has no cursor of its own: the host's arrow, at the pointer. */
	struct kms_layer *arrow = host_cursor("Virtual-1");
	kt_assertf(arrow != NULL && arrow->dst.x == 0 && arrow->dst.y == 0,
		   "no host cursor at 0,0 of Virtual-1");

	/* 2. Across to Virtual-2 (its top-right corner), shift held. */
	emit(mouse, EV_REL, REL_X, 3000);
	syn(mouse);
	wait_events(&seen, 1, "the motion across");
	/* Devices are read one after the other: each one's events are awaited. */
	emit(keyboard, EV_KEY, KEY_LEFTSHIFT, 0);
	syn(keyboard);
	wait_events(&seen, 1, "shift's release");
	emit(mouse, EV_KEY, BTN_LEFT, 1);
	syn(mouse);
	emit(mouse, EV_KEY, BTN_LEFT, 0);
	syn(mouse);
	/* libinput holds button releases back a little (debouncing). */
	wait_events(&seen, 2, "a click");
	emit(mouse, EV_REL, REL_WHEEL, -1);
	emit(mouse, EV_REL, REL_WHEEL_HI_RES, -120);
	syn(mouse);
	wait_events(&seen, 1, "a wheel detent");
	expect(0, 'd', "pleave\nkleave 42\n", "2. across");
	/* Virtual-2 says cursor = hidden: no arrow there, and none left behind. */
	kt_assert(host_cursor("Virtual-1") == NULL && host_cursor("Virtual-2") == NULL);
	expect(1, 'd',
	       "penter 512,0\nkenter 42\nmotion 512,0\nrel 3000,0\nkey 42 0\nbutton 272 1\n"
	       "button 272 0\nscroll 0 120\n",
	       "2. across");

	/*
	 * 2b. Down to Virtual-2's bottom-right corner. The output is turned
	 *     90 degrees: its box is 768 wide and 1024 high, the picture turned
	 *     upright in it, so that corner clamps to the picture's
	 *     bottom-right, guest 512,384.
	 */
	emit(mouse, EV_REL, REL_Y, 5000);
	syn(mouse);
	wait_events(&seen, 1, "the motion down");
	expect(0, 'd', "", "2b. rotated");
	expect(1, 'd', "motion 512,384\nrel 0,5000\n", "2b. rotated");

	/*
	 * 3. A touch at the touchscreen's (0.5, 0.25): the panel's mode point
	 *    512,192, 192 pixels from the panel's top edge, which is on the
	 *    user's right: the upright point 576,512, guest 320,320.
	 */
	emit(touch, EV_ABS, ABS_MT_SLOT, 0);
	emit(touch, EV_ABS, ABS_MT_TRACKING_ID, 1);
	emit(touch, EV_ABS, ABS_MT_POSITION_X, 512);
	emit(touch, EV_ABS, ABS_MT_POSITION_Y, 256);
	emit(touch, EV_ABS, ABS_X, 512);
	emit(touch, EV_ABS, ABS_Y, 256);
	emit(touch, EV_KEY, BTN_TOUCH, 1);
	syn(touch);
	emit(touch, EV_ABS, ABS_MT_TRACKING_ID, -1);
	emit(touch, EV_KEY, BTN_TOUCH, 0);
	syn(touch);
	wait_events(&seen, 4, "the touch");
	expect(0, 'd', "", "3. touch");
	expect(1, 'd', "tdown 320,320\ntframe\ntup\ntframe\n", "3. touch");

	/* 4. b's virtual keyboard pressed shift on entering, then released it. */
	expect(1, 'u', "evdev key 42 1\nevdev key 42 0\n", "4. uinput");

	/* 5. The mouse unplugged, another one plugged in: back to a. */
	kt_assert_errno(ioctl(mouse, UI_DEV_DESTROY) == 0);
	close(mouse);
	mouse = make_device("vscanout-test mouse 2", mouse_keys,
			    sizeof(mouse_keys) / sizeof(mouse_keys[0]), mouse_rels,
			    sizeof(mouse_rels) / sizeof(mouse_rels[0]), false);
	wait_events(&seen, 2, "the mouse going and coming");
	emit(mouse, EV_REL, REL_X, -3000);
	emit(mouse, EV_REL, REL_Y, -3000);
	syn(mouse);
	wait_events(&seen, 1, "the new mouse's motion");
	expect(0, 'd', "penter 0,0\nkenter\nmotion 0,0\nrel -3000,-3000\n", "5. replugged");
	expect(1, 'd', "pleave\nkleave\n", "5. replugged");

	/*
	 * 6. Ctrl+Alt+Right: the focus goes to b, the pointer to the centre of
	 *    its upright 768x1024 box (384,512), guest 128,320; Right reaches
	 *    nobody.
	 */
	static const int hotkey[] = {KEY_LEFTCTRL, KEY_LEFTALT, KEY_RIGHT};
	for (int i = 0; i < 3; i++) {
		emit(keyboard, EV_KEY, hotkey[i], 1);
		syn(keyboard);
	}
	for (int i = 2; i >= 0; i--) {
		emit(keyboard, EV_KEY, hotkey[i], 0);
		syn(keyboard);
	}
	wait_events(&seen, 6, "the hotkey");
	expect(0, 'd', "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "6. hotkey");
	expect(1, 'd', "penter 128,320\nkenter 29,56\nmotion 128,320\nkey 56 0\nkey 29 0\n",
	       "6. hotkey");

	/* 7. Ctrl+Alt+Down: Virtual-2 shows a instead of b, and a has the focus. */
	struct kms_output *v1 = display_find_output(dmn->display_manager, "Virtual-1");
	struct kms_output *v2 = display_find_output(dmn->display_manager, "Virtual-2");
	static const int cycle[] = {KEY_LEFTCTRL, KEY_LEFTALT, KEY_DOWN};
	for (int i = 0; i < 3; i++) {
		emit(keyboard, EV_KEY, cycle[i], 1);
		syn(keyboard);
	}
	for (int i = 2; i >= 0; i--) {
		emit(keyboard, EV_KEY, cycle[i], 0);
		syn(keyboard);
	}
	wait_events(&seen, 6, "the vGPU hotkey");
	const struct config_output *co = config_find_output(&dmn->config, "Virtual-2");
	kt_assertf(co != NULL && config_output_vgpu_index(co, "a") == 0,
		   "Virtual-2 is not configured with a");
	expect(1, 'd', "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "7. vGPU hotkey");
	expect(0, 'd', "penter 128,320\nkenter 29,56\nmotion 128,320\nkey 56 0\nkey 29 0\n",
	       "7. vGPU hotkey");
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	for (;;) {
		struct buffer *on[2] = {NULL, NULL};
		struct kms_output *heads[2] = {v1, v2};
		for (int h = 0; h < 2; h++) {
			struct kms_layer *layer;
			wl_list_for_each (layer, &heads[h]->layers, link) {
				if (layer->zpos == 1)
					on[h] = layer->current_buffer;
			}
		}
		if (on[0] != NULL && on[0] == on[1])
			break;
		kt_assertf(kt_now_ns() < deadline, "a's picture is not on Virtual-2");
		dispatch(50);
	}

	/* Inspection names b's virtual devices. */
	size_t size;
	char *doc = control_status_json(dmn->control, &size);
	kt_assert(doc != NULL);
	kt_assertf(strstr(doc, "\"keyboard\": \"/dev/input/event") != NULL,
		   "the status does not name b's virtual keyboard:\n%s", doc);
	free(doc);

	for (int i = 0; i < 2; i++) {
		kt_assert_errno(write(cmd_w[i], "q", 1) == 1);
		while (!vmms[i].exited)
			dispatch(50);
		kt_assertf(WIFEXITED(vmms[i].status) && WEXITSTATUS(vmms[i].status) == 0,
			   "VMM %d: status 0x%x", i, vmms[i].status);
	}
	daemon_destroy(dmn);
	config_finish(&config);
	close(keyboard);
	close(mouse);
	close(touch);
	printf("e2e-input: ok\n");
	return 0;
}
