// SPDX-License-Identifier: MIT
/*
 * The daemon's own code under seatd on vkms, following VT switches:
 *
 *  1. the configured output shows its placeholder (writeback capture);
 *  2. switching to another VT (what chvt does) makes the daemon stop
 *     committing; another process then becomes DRM master and commits a
 *     modeset of its own;
 *  3. switching back, the daemon takes the card again with a full modeset
 *     and its picture is restored exactly (not the other process' picture).
 *
 * Run as root in the VM; starts its own seatd. Exit 77 without a VT or
 * without seatd (Debian package seatd).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "seat/session.h"
#include "seatest.h"

static const uint32_t placeholder = 0x4080c0u;

static void expect_placeholder(struct daemon *daemon, struct kms_output *output, const char *what)
{
	struct kt_image got;
	tk_capture(daemon->loop, output, &got);
	uint64_t bad = 0;
	for (uint32_t y = 0; y < got.height; y++)
		for (uint32_t x = 0; x < got.width; x++)
			bad += (*kt_pixel(&got, x, y) & 0xffffff) != placeholder;
	kt_log("%s: %" PRIu64 " of %ux%u pixels differ from #%06x", what, bad, got.width,
	       got.height, placeholder);
	kt_assert(bad == 0);
	kt_image_free(&got);
}

/* Dispatch the daemon's loop until the session is (in)active, or fail. */
static void wait_active(struct daemon *daemon, bool active)
{
	struct session *session = daemon->display_manager->session;
	uint64_t deadline = kt_now_ns() + 20ull * 1000000000ull;
	while (session->active != active) {
		kt_assertf(kt_now_ns() < deadline, "session still %s",
			   active ? "inactive" : "active");
		kt_assert(wl_event_loop_dispatch(daemon->loop, 1000) >= 0);
	}
}

int main(void)
{
	int tty0 = open("/dev/tty0", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty0 < 0)
		kt_skip("no VT: /dev/tty0: %s", strerror(errno));
	int home_vt = seatest_active_vt(tty0);
	int other_vt = home_vt == 2 ? 3 : 2;
	pid_t seatd = seatest_start_seatd();
	setenv("LIBSEAT_BACKEND", "seatd", 1);
	log_init(LOG_LEVEL_INFO);

	char text[128];
	snprintf(text, sizeof(text), "[output Virtual-1]\nmode = 1024x768\nplaceholder = #%06x\n",
		 placeholder);
	struct config config;
	config_init(&config);
	FILE *f = fmemopen(text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);

	struct daemon *daemon = daemon_create(&config);
	kt_assert(daemon != NULL);
	struct kms_output *output = display_find_output(daemon->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	char devnode[64];
	snprintf(devnode, sizeof(devnode), "/dev/dri/%s", output->device->name);
	struct tk_presents presents;
	tk_presents_init(&presents, output);
	tk_wait_presents(daemon->loop, &presents, 1);
	expect_placeholder(daemon, output, "1. placeholder");

	/* Another process cannot take the card while the daemon holds it. */
	kt_assertf(seatest_other_master(devnode) == 1, "another process became master");

	seatest_activate_vt(tty0, other_vt);
	wait_active(daemon, false);
	seatest_wait_vt(tty0, other_vt);
	uint64_t commits = output->stats.commits;
	kt_assertf(seatest_other_master(devnode) == 0,
		   "another process could not take the card after the switch away");
	/* Nothing the daemon would like to do may reach the card now. */
	kms_output_schedule_frame(output);
	kt_assert(wl_event_loop_dispatch(daemon->loop, 0) >= 0);
	kt_assertf(output->stats.commits == commits, "%" PRIu64 " commits while inactive",
		   output->stats.commits - commits);
	kt_log("2. switched away: no commits, another process took the card");

	uint64_t modesets = output->stats.modesets;
	uint64_t n = presents.count;
	seatest_activate_vt(tty0, home_vt);
	wait_active(daemon, true);
	seatest_wait_vt(tty0, home_vt);
	tk_wait_presents(daemon->loop, &presents, n + 1);
	kt_assertf(output->stats.modesets > modesets, "no modeset after the switch back");
	expect_placeholder(daemon, output, "3. restored");

	tk_presents_finish(&presents);
	daemon_destroy(daemon);
	config_finish(&config);
	kill(seatd, SIGTERM);
	waitpid(seatd, NULL, 0);
	close(tty0);
	kt_log("PASS");
	return 0;
}
