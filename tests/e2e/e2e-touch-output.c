// SPDX-License-Identifier: MIT
/*
 * Which output a touchscreen drives, through vscanoutd on a two-head
 * virtio-gpu with udevd running. A udev rule of this test sets
 * WL_OUTPUT=Virtual-2 on its touchscreens, as an installation does for a
 * panel laminated to that monitor. Two forked VMMs attach to vGPUs a
 * (Virtual-1, the first [output]) and b (Virtual-2), each showing a 512x384
 * picture at 256,192 of its 1024x768 output, and log every event.
 *
 *  1. "vscanout-test touch wl" has no [touchscreen] section: udev's
 *     WL_OUTPUT takes it to Virtual-2, a tap in its middle reaches b at
 *     guest 256,192 (without WL_OUTPUT it would go to the first [output],
 *     Virtual-1, and a);
 *  2. "vscanout-test touch cfg" has the same WL_OUTPUT but a [touchscreen]
 *     section with output = Virtual-1: the configuration wins, a gets it;
 *  3. "vscanout-test pen" has no WL_OUTPUT (no rule matches its name) and
 *     no section: the first [output], Virtual-1, a.
 */
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "daemon/daemon.h"
#include "input-harness.h"
#include "kmstest.h"

#define SOCKET_PATH "/tmp/vscanout-touch-output-test/vscanout-0"
#define RULE_PATH   "/etc/udev/rules.d/99-vscanout-test-wl-output.rules"

static const char *const names[] = {"a", "b"};

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1024x768\n"
				  "[output Virtual-2]\n"
				  "vgpu = b\n"
				  "mode = 1024x768\n"
				  "[vgpu a]\n"
				  "[vgpu b]\n"
				  "[touchscreen vscanout-test touch cfg]\n"
				  "output = Virtual-1\n";

static const char rule[] = "SUBSYSTEM==\"input\", KERNEL==\"event*\", "
			   "ATTRS{name}==\"vscanout-test touch *\", ENV{WL_OUTPUT}=\"Virtual-2\"\n";

static void vmm(int which)
{
	struct client c;
	struct vscanout_vgpu_v1 *vgpu = harness_vmm_attach(&c, SOCKET_PATH, names[which], 512, 384,
							   40 + (uint32_t)which, 256, 192);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	harness_vmm_serve(&c, NULL);
}

int main(void)
{
	struct kt_device dev;
	harness_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, &dev);
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	FILE *f = fopen(RULE_PATH, "we");
	kt_assert_errno(f != NULL);
	kt_assert_errno(fputs(rule, f) >= 0 && fclose(f) == 0);
	kt_assert(system("udevadm control --reload") == 0);

	int wl = harness_touchscreen_create("vscanout-test touch wl", 1);
	int cfg = harness_touchscreen_create("vscanout-test touch cfg", 2);
	int pen = harness_touchscreen_create("vscanout-test pen", 3);

	struct daemon *dmn = harness_daemon_create(config_text);
	harness_start(dmn, names, 2, vmm);
	harness_expect(0, "", "start");
	harness_expect(1, "", "start");

	/* The middle of the panel, mode point 512,384: guest 256,192 of either picture. */
	harness_tap(wl, 512, 512);
	harness_expect(0, "", "1. WL_OUTPUT");
	harness_expect(1, "tdown 256,192\ntframe\ntup\ntframe\n", "1. WL_OUTPUT");

	harness_tap(cfg, 512, 512);
	harness_expect(0, "tdown 256,192\ntframe\ntup\ntframe\n", "2. section over WL_OUTPUT");
	harness_expect(1, "", "2. section over WL_OUTPUT");

	harness_tap(pen, 512, 512);
	harness_expect(0, "tdown 256,192\ntframe\ntup\ntframe\n", "3. neither");
	harness_expect(1, "", "3. neither");

	harness_finish();
	close(wl);
	close(cfg);
	close(pen);
	unlink(RULE_PATH);
	printf("e2e-touch-output: ok\n");
	return 0;
}
