// SPDX-License-Identifier: MIT
/*
 * The daemon's own code driving two cards at once, vkms and virtio-gpu,
 * whose connectors are both of the Virtual type. (Linux numbers connectors
 * of a type across all cards, so the two are Virtual-1 and Virtual-2.)
 *
 *  1. a connector qualified with the wrong card (CARD:NAME) is not taken
 *     from the other card: nothing is lit and the daemon says the output
 *     has no such connector;
 *  2. both outputs named with their cards are lit at once, each on its own
 *     card: the vkms one shows its placeholder exactly (writeback), the
 *     virtio-gpu one runs its own mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xf86drmMode.h>

#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "util/log.h"

struct capture_log {
	char text[8192];
	size_t len;
};

static void capture_sink(enum log_level level, const char *line, void *data)
{
	struct capture_log *log = data;
	int n = snprintf(log->text + log->len, sizeof(log->text) - log->len, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(log->text) - log->len)
		log->len += (size_t)n;
	fprintf(stderr, "%s\n", line);
}

static struct daemon *start(const char *text, struct config *config)
{
	config_init(config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(config, f, "test.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(config);
	kt_assert(daemon != NULL);
	return daemon;
}

/*
 * The card name ("card1") of the first card driven by `driver`, and the KMS
 * name of its first connector ("Virtual-2").
 */
static void card_of(const char *driver, char *card, size_t card_size, char *connector,
		    size_t connector_size)
{
	struct kt_device dev;
	kt_device_open_or_skip(&dev, driver);
	snprintf(card, card_size, "%s", strrchr(dev.path, '/') + 1);
	drmModeRes *res = drmModeGetResources(dev.fd);
	kt_assert(res != NULL && res->count_connectors > 0);
	drmModeConnector *conn = drmModeGetConnector(dev.fd, res->connectors[0]);
	kt_assert(conn != NULL);
	snprintf(connector, connector_size, "%s-%u",
		 drmModeGetConnectorTypeName(conn->connector_type), conn->connector_type_id);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	kt_device_close(&dev);
}

int main(void)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	char vkms[32], virtio[32], vkms_conn[32], virtio_conn[32];
	card_of("vkms", vkms, sizeof(vkms), vkms_conn, sizeof(vkms_conn));
	card_of("virtio_gpu", virtio, sizeof(virtio), virtio_conn, sizeof(virtio_conn));
	struct capture_log log = {0};
	log_set_sink(capture_sink, &log);
	log_init(LOG_LEVEL_INFO);

	/* 1. the wrong card */
	char text[256], wrong[64], want[128];
	snprintf(wrong, sizeof(wrong), "%s:%s", vkms, virtio_conn);
	snprintf(text, sizeof(text), "[output %s]\nplaceholder = #102030\n", wrong);
	struct config config;
	struct daemon *daemon = start(text, &config);
	snprintf(want, sizeof(want), "output %s: no such connector on this seat (yet)", wrong);
	kt_assertf(strstr(log.text, want) != NULL, "no message \"%s\"", want);
	kt_assert(display_find_output(daemon->display_manager, wrong) == NULL);
	struct display_device *dev;
	wl_list_for_each (dev, &daemon->display_manager->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link)
			kt_assertf(!output->enabled, "%s:%s was lit", dev->kms->name, output->name);
	}
	daemon_destroy(daemon);
	config_finish(&config);
	kt_log("1. %s is not taken from %s", wrong, virtio);

	/* 2. both cards, each output named with its card */
	char vkms_name[64], virtio_name[64];
	snprintf(vkms_name, sizeof(vkms_name), "%s:%s", vkms, vkms_conn);
	snprintf(virtio_name, sizeof(virtio_name), "%s:%s", virtio, virtio_conn);
	snprintf(text, sizeof(text),
		 "[output %s]\nplaceholder = #5a7b9c\nmode = 1024x768\n"
		 "[output %s]\nmode = 800x600\n",
		 vkms_name, virtio_name);
	daemon = start(text, &config);
	struct kms_output *on_vkms = display_find_output(daemon->display_manager, vkms_name);
	struct kms_output *on_virtio = display_find_output(daemon->display_manager, virtio_name);
	kt_assert(on_vkms != NULL && on_virtio != NULL);
	kt_assert(on_vkms->device != on_virtio->device);
	struct tk_presents presents[2];
	tk_presents_init(&presents[0], on_vkms);
	tk_presents_init(&presents[1], on_virtio);
	tk_wait_presents(daemon->loop, &presents[0], 1);
	tk_wait_presents(daemon->loop, &presents[1], 1);

	struct kt_image got;
	tk_capture(daemon->loop, on_vkms, &got);
	uint64_t bad = 0;
	for (uint32_t y = 0; y < got.height; y++)
		for (uint32_t x = 0; x < got.width; x++)
			bad += (*kt_pixel(&got, x, y) & 0xffffff) != 0x5a7b9c;
	kt_assertf(got.width == 1024 && got.height == 768 && bad == 0,
		   "%s: %ux%u, %llu pixels differ from the placeholder", vkms_name, got.width,
		   got.height, (unsigned long long)bad);
	kt_image_free(&got);
	uint32_t w, h;
	kms_output_get_size(on_virtio, &w, &h);
	kt_assertf(w == 800 && h == 600, "%s at %ux%u", virtio_name, w, h);
	kt_log("2. %s shows its placeholder exactly while %s runs at 800x600", vkms_name,
	       virtio_name);

	tk_presents_finish(&presents[0]);
	tk_presents_finish(&presents[1]);
	daemon_destroy(daemon);
	config_finish(&config);
	log_set_sink(NULL, NULL);
	kt_log("PASS");
	return 0;
}
