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
#include <linux/input.h>
#include <linux/uinput.h>
#include <signal.h>
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
#include "input-harness.h"
#include "input/forward.h"
#include "kms/output.h"
#include "kmstest.h"
#include "protocol/private.h"
#include "vgpu/vgpu.h"

#define SOCKET_PATH "/tmp/vscanout-input-test/vscanout-0"
#define TOUCH_NAME  "vscanout-test touch"

static const char *const names[] = {"a", "b"};

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

static void read_keyboard(char cmd)
{
	if (cmd != 'u')
		return;
	/* What b's virtual keyboard carried, as the guest's evdev reader sees it. */
	struct input_event ev;
	while (read(harness_vmm_keyboard_fd, &ev, sizeof(ev)) == sizeof(ev)) {
		if (ev.type == EV_KEY)
			harness_logf("evdev key %u %d\n", ev.code, ev.value);
	}
}

static void vmm(int which)
{
	struct client c;
	struct vscanout_vgpu_v1 *vgpu = harness_vmm_attach(&c, SOCKET_PATH, names[which], 512, 384,
							   40 + (uint32_t)which, 256, 192);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	if (which == 1 && harness_vmm_keyboard_fd < 0)
		client_fail("no virtual keyboard for b (uinput = yes)");
	harness_vmm_serve(&c, read_keyboard);
}

/* ---------------------------------------------------------------------- */
/* The host's devices                                                     */
/* ---------------------------------------------------------------------- */

static const int keyboard_keys[] = {KEY_A,       KEY_LEFTSHIFT, KEY_LEFTCTRL,
				    KEY_LEFTALT, KEY_RIGHT,     KEY_DOWN};
static const int mouse_keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};
static const int mouse_rels[] = {REL_X, REL_Y, REL_WHEEL, REL_WHEEL_HI_RES};

static const struct harness_device keyboard_device = {
	.name = "vscanout-test keyboard",
	.product = 1,
	.keys = keyboard_keys,
	.n_keys = sizeof(keyboard_keys) / sizeof(keyboard_keys[0]),
};
static const struct harness_device mouse_device = {
	.name = "vscanout-test mouse",
	.product = 1,
	.keys = mouse_keys,
	.n_keys = sizeof(mouse_keys) / sizeof(mouse_keys[0]),
	.rels = mouse_rels,
	.n_rels = sizeof(mouse_rels) / sizeof(mouse_rels[0]),
};

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

static struct daemon *dmn;

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

int main(void)
{
	struct kt_device dev;
	harness_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, &dev);
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	int keyboard = harness_device_create(&keyboard_device);
	int mouse = harness_device_create(&mouse_device);
	int touch = harness_touchscreen_create(TOUCH_NAME, 1);

	dmn = harness_daemon_create(config_text);

	harness_start(dmn, names, 2, vmm);
	/* Both show their picture before any input. */
	harness_expect(0, "", "start");
	harness_expect(1, "", "start");

	/* 1. Into Virtual-1's top-left corner: a. */
	harness_emit(mouse, EV_REL, REL_X, -3000);
	harness_send(mouse, EV_REL, REL_Y, -3000);
	harness_wait_events(1, "the motion to the corner");
	harness_send(keyboard, EV_KEY, KEY_A, 1);
	harness_send(keyboard, EV_KEY, KEY_A, 0);
	harness_send(keyboard, EV_KEY, KEY_LEFTSHIFT, 1);
	harness_wait_events(3, "the keys");
	harness_expect(
		0,
		"penter 0,0\nkenter\nmotion 0,0\nrel -3000,-3000\nkey 30 1\nkey 30 0\nkey 42 1\n",
		"1. corner of Virtual-1");
	harness_expect(1, "", "1. corner of Virtual-1");
	/* a has no cursor of its own: the host's arrow, at the pointer. */
	struct kms_layer *arrow = host_cursor("Virtual-1");
	kt_assertf(arrow != NULL && arrow->dst.x == 0 && arrow->dst.y == 0,
		   "no host cursor at 0,0 of Virtual-1");

	/* 2. Across to Virtual-2 (its top-right corner), shift held. */
	harness_send(mouse, EV_REL, REL_X, 3000);
	harness_wait_events(1, "the motion across");
	/* Devices are read one after the other: each one's events are awaited. */
	harness_send(keyboard, EV_KEY, KEY_LEFTSHIFT, 0);
	harness_wait_events(1, "shift's release");
	harness_send(mouse, EV_KEY, BTN_LEFT, 1);
	harness_send(mouse, EV_KEY, BTN_LEFT, 0);
	/* libinput holds button releases back a little (debouncing). */
	harness_wait_events(2, "a click");
	harness_emit(mouse, EV_REL, REL_WHEEL, -1);
	harness_send(mouse, EV_REL, REL_WHEEL_HI_RES, -120);
	harness_wait_events(1, "a wheel detent");
	harness_expect(0, "pleave\nkleave 42\n", "2. across");
	/* Virtual-2 says cursor = hidden: no arrow there, and none left behind. */
	kt_assert(host_cursor("Virtual-1") == NULL && host_cursor("Virtual-2") == NULL);
	harness_expect(1,
		       "penter 512,0\nkenter 42\nmotion 512,0\nrel 3000,0\nkey 42 0\nbutton 272 1\n"
		       "button 272 0\nscroll 0 120\n",
		       "2. across");

	/*
	 * 2b. Down to Virtual-2's bottom-right corner. The output is turned
	 *     90 degrees: its box is 768 wide and 1024 high, the picture turned
	 *     upright in it, so that corner clamps to the picture's
	 *     bottom-right, guest 512,384.
	 */
	harness_send(mouse, EV_REL, REL_Y, 5000);
	harness_wait_events(1, "the motion down");
	harness_expect(0, "", "2b. rotated");
	harness_expect(1, "motion 512,384\nrel 0,5000\n", "2b. rotated");

	/*
	 * 3. A touch at the touchscreen's (0.5, 0.25): the panel's mode point
	 *    512,192, 192 pixels from the panel's top edge, which is on the
	 *    user's right: the upright point 576,512, guest 320,320.
	 */
	harness_tap(touch, 512, 256);
	harness_expect(0, "", "3. touch");
	harness_expect(1, "tdown 320,320\ntframe\ntup\ntframe\n", "3. touch");

	/* 4. b's virtual keyboard pressed shift on entering, then released it. */
	harness_expect_cmd(1, 'u', "evdev key 42 1\nevdev key 42 0\n", "4. uinput");

	/* 5. The mouse unplugged, another one plugged in: back to a. */
	kt_assert_errno(ioctl(mouse, UI_DEV_DESTROY) == 0);
	close(mouse);
	struct harness_device mouse2_device = mouse_device;
	mouse2_device.name = "vscanout-test mouse 2";
	mouse = harness_device_create(&mouse2_device);
	harness_wait_events(2, "the mouse going and coming");
	harness_emit(mouse, EV_REL, REL_X, -3000);
	harness_send(mouse, EV_REL, REL_Y, -3000);
	harness_wait_events(1, "the new mouse's motion");
	harness_expect(0, "penter 0,0\nkenter\nmotion 0,0\nrel -3000,-3000\n", "5. replugged");
	harness_expect(1, "pleave\nkleave\n", "5. replugged");

	/*
	 * 6. Ctrl+Alt+Right: the focus goes to b, the pointer to the centre of
	 *    its upright 768x1024 box (384,512), guest 128,320; Right reaches
	 *    nobody.
	 */
	harness_hotkey(keyboard, KEY_RIGHT, "the hotkey");
	harness_expect(0, "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "6. hotkey");
	harness_expect(1, "penter 128,320\nkenter 29,56\nmotion 128,320\nkey 56 0\nkey 29 0\n",
		       "6. hotkey");

	/* 7. Ctrl+Alt+Down: Virtual-2 shows a instead of b, and a has the focus. */
	struct kms_output *v1 = display_find_output(dmn->display_manager, "Virtual-1");
	struct kms_output *v2 = display_find_output(dmn->display_manager, "Virtual-2");
	harness_hotkey(keyboard, KEY_DOWN, "the vGPU hotkey");
	const struct config_output *co = config_find_output(&dmn->config, "Virtual-2");
	kt_assertf(co != NULL && config_output_vgpu_index(co, "a") == 0,
		   "Virtual-2 is not configured with a");
	harness_expect(1, "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", "7. vGPU hotkey");
	harness_expect(0, "penter 128,320\nkenter 29,56\nmotion 128,320\nkey 56 0\nkey 29 0\n",
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
		harness_dispatch(50);
	}

	/* Inspection names b's virtual devices. */
	size_t size;
	char *doc = control_status_json(dmn->control, &size);
	kt_assert(doc != NULL);
	kt_assertf(strstr(doc, "\"keyboard\": \"/dev/input/event") != NULL,
		   "the status does not name b's virtual keyboard:\n%s", doc);
	free(doc);

	harness_finish();
	close(keyboard);
	close(mouse);
	close(touch);
	printf("e2e-input: ok\n");
	return 0;
}
