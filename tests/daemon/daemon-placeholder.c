// SPDX-License-Identifier: MIT
/*
 * The daemon's own code, run in this process (it must be DRM master to
 * capture through writeback), on vkms: the configured output shows its
 * placeholder colour, exactly, on every pixel. A second run with an
 * unconfigured seat (no [output] sections) lights every connected output
 * with the default dark grey.
 */
#include <stdio.h>
#include <stdlib.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "kmstest.h"
#include "test.h"

struct capture_result {
	bool done;
	int status;
	uint32_t expected;
	uint32_t width, height;
	uint64_t wrong;
	uint32_t first_wrong;
};

static void handle_capture(struct kms_output *output, int status, const void *pixels,
			   uint32_t width, uint32_t height, uint32_t stride, void *data)
{
	struct capture_result *r = data;
	r->done = true;
	r->status = status;
	if (status < 0)
		return;
	r->width = width;
	r->height = height;
	for (uint32_t y = 0; y < height; y++) {
		const uint32_t *row = (const uint32_t *)((const uint8_t *)pixels + y * stride);
		for (uint32_t x = 0; x < width; x++) {
			if ((row[x] & 0xffffff) != r->expected) {
				if (r->wrong == 0)
					r->first_wrong = row[x];
				r->wrong++;
			}
		}
	}
}

/* Start the daemon on `text` and check what `output_name` shows. */
static void check_placeholder(const char *text, const char *output_name, uint32_t expected)
{
	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	check(f != NULL);
	check_int_eq(config_parse(&config, f, "test.conf"), 0);
	fclose(f);

	struct daemon *daemon = daemon_create(&config);
	check(daemon != NULL);
	struct kms_output *output = display_find_output(daemon->display_manager, output_name);
	check(output != NULL);

	struct capture_result result = {.expected = expected};
	check_int_eq(kms_output_capture(output, handle_capture, &result), 0);
	while (!result.done)
		check(wl_event_loop_dispatch(daemon->loop, -1) >= 0);
	kt_check_capture_status(result.status);

	uint32_t width, height;
	kms_output_get_size(output, &width, &height);
	check_int_eq(result.width, width);
	check_int_eq(result.height, height);
	printf("%s: %ux%u, %llu pixels differ from #%06x (first: %08x)\n", output_name, width,
	       height, (unsigned long long)result.wrong, expected, result.first_wrong);
	check_int_eq(result.wrong, 0);

	daemon_destroy(daemon);
	config_finish(&config);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);

	check_placeholder("[output Virtual-1]\nplaceholder = #3366cc\nmode = 1024x768\n",
			  "Virtual-1", 0x3366cc);
	/* The same output named with its device ("card0:Virtual-1"). */
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	const char *card = strrchr(vkms.path, '/') + 1;
	kt_device_close(&vkms);
	char text[128], name[64];
	snprintf(name, sizeof(name), "%s:Virtual-1", card);
	snprintf(text, sizeof(text), "[output %s]\nplaceholder = #00ff7f\n", name);
	check_placeholder(text, name, 0x00ff7f);
	check_placeholder("", "Virtual-1", CONFIG_PLACEHOLDER_DEFAULT);
	return 0;
}
