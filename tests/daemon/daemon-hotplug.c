// SPDX-License-Identifier: MIT
/*
 * The daemon's own code on a two-head virtio-gpu, with udev running
 * (--udev), checked on the host's side through QMP screendumps:
 *
 *  1. two configured outputs show their two placeholder colours;
 *  2. the second connector goes off (sysfs status) and the card sends a
 *     hotplug uevent, which travels through udev and the seat session to
 *     the daemon: it turns that output's CRTC off and leaves the first
 *     output alone;
 *  3. the connector comes back: the daemon lights it again and the
 *     screendump shows its colour again.
 *
 * Nothing here calls the KMS core's hotplug entry point: the test only
 * dispatches the daemon's event loop and watches the outputs' state.
 *
 * Linux 6.1 and 6.12 send no uevent when a connector's status is forced
 * through sysfs (status_store() only reprobes, and virtio-gpu does not poll
 * its connectors), so the test sends the "change" uevent with HOTPLUG=1
 * that a driver sends on a real hotplug: a synthetic uevent whose argument
 * a guest-only udev rule turns into the HOTPLUG property.
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "qmp.h"

static const uint32_t colours[2] = {0xd04010u, 0x1040d0u};

static void expect_colour(struct kt_qmp *qmp, struct kms_output *output, uint32_t colour,
			  const char *what)
{
	struct kt_image got, want;
	kt_qmp_screendump(qmp, output->crtc->index, what, &got);
	uint32_t width, height;
	kms_output_get_size(output, &width, &height);
	kt_assertf(got.width == width && got.height == height, "%s: screendump %ux%u, want %ux%u",
		   what, got.width, got.height, width, height);
	kt_assert_ok(kt_image_alloc(&want, width, height, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, width, height, colour);
	uint64_t bad = kt_compare(&got, &want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %" PRIu64 " pixels differ", what, bad);
	kt_image_free(&got);
	kt_image_free(&want);
}

static const char hotplug_rule[] = "SUBSYSTEM==\"drm\", ENV{SYNTH_ARG_HOTPLUG}==\"?*\", "
				   "ENV{HOTPLUG}=\"$env{SYNTH_ARG_HOTPLUG}\"\n";

static void install_hotplug_rule(void)
{
	kt_assert_errno(mkdir("/run/udev/rules.d", 0755) == 0 || errno == EEXIST);
	kt_write_file("/run/udev/rules.d/99-vscanout-hotplug-test.rules", hotplug_rule);
	kt_assert(system("udevadm control --reload") == 0);
}

/* What a driver sends when a connector comes or goes. */
static void send_hotplug(unsigned int card)
{
	static unsigned int serial;
	char path[96], text[96];
	snprintf(path, sizeof(path), "/sys/class/drm/card%u/uevent", card);
	snprintf(text, sizeof(text), "change 00000000-0000-4000-8000-%012u HOTPLUG=1", ++serial);
	kt_write_file(path, text);
}

/* Dispatch the daemon's loop until output reaches state, or fail. */
static void wait_state(struct daemon *daemon, struct kms_output *output,
		       enum kms_output_state state)
{
	uint64_t deadline = kt_now_ns() + 20ull * 1000000000ull;
	while (output->state != state) {
		kt_assertf(kt_now_ns() < deadline, "output %s: state %d, want %d", output->name,
			   output->state, state);
		kt_assert(wl_event_loop_dispatch(daemon->loop, 1000) >= 0);
	}
}

int main(void)
{
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	unsigned int card;
	kt_assert(sscanf(strrchr(dev.path, '/'), "/card%u", &card) == 1);
	char status[96];
	snprintf(status, sizeof(status), "/sys/class/drm/card%u-Virtual-2/status", card);
	kt_write_file(status, "on");
	install_hotplug_rule();
	/* The daemon must be the one to become DRM master. */
	kt_device_close(&dev);

	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);
	char text[256];
	snprintf(text, sizeof(text),
		 "[output Virtual-1]\nmode = 1024x768\nplaceholder = #%06x\n"
		 "[output Virtual-2]\nmode = 800x600\nplaceholder = #%06x\n",
		 colours[0], colours[1]);
	struct config config;
	config_init(&config);
	FILE *f = fmemopen(text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);

	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *outputs[2] = {
		display_find_output(daemon->display_manager, "Virtual-1"),
		display_find_output(daemon->display_manager, "Virtual-2"),
	};
	kt_assert(outputs[0] != NULL && outputs[1] != NULL);
	/* Borrow the daemon's own fd of the card, for reads and host syncs. */
	dev.fd = outputs[0]->device->fd;

	struct tk_presents presents[2];
	for (int i = 0; i < 2; i++)
		tk_presents_init(&presents[i], outputs[i]);
	for (int i = 0; i < 2; i++)
		tk_wait_presents(daemon->loop, &presents[i], 1);
	kt_host_sync(&dev);
	struct kt_qmp qmp;
	kt_qmp_open(&qmp);
	expect_colour(&qmp, outputs[0], colours[0], "daemon-head1");
	expect_colour(&qmp, outputs[1], colours[1], "daemon-head2");
	kt_log("1. each head shows its configured placeholder");

	uint32_t crtc_id = outputs[1]->crtc->id;
	uint64_t first_modesets = outputs[0]->stats.modesets;
	kt_write_file(status, "off");
	send_hotplug(card);
	wait_state(daemon, outputs[1], KMS_OUTPUT_WAITING);
	uint64_t active = 1;
	kt_assert_ok(kt_prop_get(&dev, crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", &active));
	kt_assertf(active == 0, "CRTC %u still active after Virtual-2 went off", crtc_id);
	kt_assert(outputs[0]->state == KMS_OUTPUT_ON);
	kt_log("2. Virtual-2 unplugged: its CRTC %u is off, Virtual-1 untouched", crtc_id);

	uint64_t n = presents[1].count;
	kt_write_file(status, "on");
	send_hotplug(card);
	wait_state(daemon, outputs[1], KMS_OUTPUT_ON);
	tk_wait_presents(daemon->loop, &presents[1], n + 1);
	kt_host_sync(&dev);
	expect_colour(&qmp, outputs[1], colours[1], "daemon-head2-replugged");
	expect_colour(&qmp, outputs[0], colours[0], "daemon-head1-still");
	kt_assertf(outputs[0]->stats.modesets == first_modesets,
		   "Virtual-1 was modeset again (%" PRIu64 " -> %" PRIu64 ")", first_modesets,
		   outputs[0]->stats.modesets);
	kt_log("3. Virtual-2 plugged back: its picture is back");

	close(qmp.fd);
	for (int i = 0; i < 2; i++)
		tk_presents_finish(&presents[i]);
	daemon_destroy(daemon);
	config_finish(&config);
	kt_write_file(status, "detect");
	kt_log("PASS");
	return 0;
}
