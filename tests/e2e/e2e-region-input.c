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
#include <linux/input.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>

#include "client.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "input-harness.h"
#include "input/forward.h"
#include "kmstest.h"

#define SOCKET_PATH "/tmp/vscanout-region-input-test/vscanout-0"
#define TOUCH_NAME  "vscanout-test touch"
#define N_VMMS      3

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

static void vmm(int which)
{
	struct client c;
	struct vscanout_vgpu_v1 *vgpu = harness_vmm_attach(&c, SOCKET_PATH, names[which], 256, 384,
							   70 + (uint32_t)which, 128, 192);
	if (which == 2) {
		/* Shown nowhere yet: the frame waits for a place. */
		vscanout_vgpu_v1_commit(vgpu, 1);
		client_roundtrip(&c);
	} else {
		uint32_t serial = 1;
		while (!client_commit(&c, vgpu, serial))
			serial++;
	}
	harness_vmm_serve(&c, NULL);
}

/* ---------------------------------------------------------------------- */
/* The host's devices                                                     */
/* ---------------------------------------------------------------------- */

static const int keyboard_keys[] = {KEY_A, KEY_LEFTCTRL, KEY_LEFTALT, KEY_UP, KEY_DOWN};
static const int mouse_keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};

static const struct harness_device keyboard_device = {
	.name = "vscanout-test keyboard",
	.product = 2,
	.keys = keyboard_keys,
	.n_keys = sizeof(keyboard_keys) / sizeof(keyboard_keys[0]),
};
/* Absolute axes and mouse buttons, not direct: udev calls it a mouse. */
static const struct harness_device mouse_device = {
	.name = "vscanout-test absolute mouse",
	.product = 2,
	.keys = mouse_keys,
	.n_keys = sizeof(mouse_keys) / sizeof(mouse_keys[0]),
	.abs = true,
};

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

static struct daemon *dmn;

/* The absolute mouse at x,y of its 1024 x 1024 range: the output's x, y × 0.75. */
static void point(int mouse, int x, int y, const char *what)
{
	harness_emit(mouse, EV_ABS, ABS_X, x);
	harness_send(mouse, EV_ABS, ABS_Y, y);
	harness_wait_events(1, what);
}

static void key(int keyboard, int code)
{
	harness_send(keyboard, EV_KEY, code, 1);
	harness_send(keyboard, EV_KEY, code, 0);
	harness_wait_events(2, "a key");
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

/*
 * Ctrl+Alt+last: the right region, under the pointer, shows VMM to's vGPU
 * instead of VMM from's (Virtual-1 then shows list); to gets the pointer
 * and the keyboard where from had them, a hears nothing.
 */
static void cycle(int keyboard, int last, const char *list, int from, int to, const char *step)
{
	char now[64];
	harness_hotkey(keyboard, last, "the hotkey");
	shown(now, sizeof(now));
	printf("%s: Virtual-1 shows %s\n", step, now);
	kt_assertf(strcmp(now, list) == 0, "Virtual-1 shows %s, not %s", now, list);
	harness_expect(0, "", step);
	harness_expect(from, "key 29 1\nkey 56 1\npleave\nkleave 29,56\n", step);
	harness_expect(to, "penter 160,258\nkenter 29,56\nmotion 160,258\nkey 56 0\nkey 29 0\n",
		       step);
}

int main(void)
{
	struct kt_device dev;
	harness_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, &dev);
	kt_device_close(&dev);

	int keyboard = harness_device_create(&keyboard_device);
	int mouse = harness_device_create(&mouse_device);
	int touch = harness_touchscreen_create(TOUCH_NAME, 2);

	dmn = harness_daemon_create(config_text);

	harness_start(dmn, names, N_VMMS, vmm);
	/* Every VMM shows its picture (or, c, has sent it) before any input. */
	for (int i = 0; i < N_VMMS; i++)
		harness_expect(i, "", "start");

	/* 1. The left half: a, at its picture's middle. */
	point(mouse, 256, 512, "the pointer on the left");
	key(keyboard, KEY_A);
	harness_expect(0, "penter 128,192\nkenter\nmotion 128,192\nkey 30 1\nkey 30 0\n",
		       "1. left");
	harness_expect(1, "", "1. left");

	/* 2. The right half: b. */
	point(mouse, 768, 256, "the pointer on the right");
	key(keyboard, KEY_A);
	harness_expect(0, "pleave\nkleave\n", "2. right");
	harness_expect(1, "penter 128,0\nkenter\nmotion 128,0\nkey 30 1\nkey 30 0\n", "2. right");

	/* 3. Within b's region. */
	point(mouse, 800, 600, "the pointer within the right");
	harness_expect(0, "", "3. within");
	harness_expect(1, "motion 160,258\n", "3. within");

	/* 4. A touch on the left half goes to a, whatever has the pointer. */
	harness_tap(touch, 320, 640);
	harness_expect(0, "tdown 192,288\ntframe\ntup\ntframe\n", "4. touch");
	harness_expect(1, "", "4. touch");

	/* 5. The next vGPU in the region under the pointer: c instead of b. */
	cycle(keyboard, KEY_DOWN, "a, c", 1, 2, "5. next vGPU");

	/* 6. The previous one: b back. */
	cycle(keyboard, KEY_UP, "a, b", 2, 1, "6. previous vGPU");

	harness_finish();
	close(keyboard);
	close(mouse);
	close(touch);
	printf("e2e-region-input: ok\n");
	return 0;
}
