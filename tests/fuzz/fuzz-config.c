// SPDX-License-Identifier: MIT
/*
 * The configuration parser fed arbitrary files: it must either refuse them
 * with errors or produce a configuration whose every part holds what the
 * header promises, and never crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "vgpu/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(enum log_level level, const char *line, void *data)
{
}

/* Walk what a successful parse produced, as the daemon would. */
static void use(const struct config *cfg)
{
	struct config_output *output;
	wl_list_for_each (output, &cfg->outputs, link) {
		if (config_find_output(cfg, output->name) != output)
			abort();
		for (size_t i = 0; i < config_output_n_vgpus(output); i++) {
			const char *name = config_output_vgpu(output, i);
			if (!config_has_vgpu(cfg, name) ||
			    config_output_vgpu_index(output, name) != (int)i)
				abort();
		}
		if (config_output_n_vgpus(output) > CONFIG_OUTPUT_MAX_VGPUS)
			abort();
		/* Every region lies in the output. */
		struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
		size_t n = vgpu_layout_output(output, 1025, 767, r);
		for (size_t i = 0; i < n; i++) {
			if (r[i].x < 0 || r[i].y < 0 || r[i].x + (int64_t)r[i].width > 1025 ||
			    r[i].y + (int64_t)r[i].height > 767)
				abort();
		}
		if ((output->width == 0) != (output->height == 0))
			abort();
	}
	struct config_vgpu *vgpu;
	wl_list_for_each (vgpu, &cfg->vgpus, link) {
		if (config_find_vgpu(cfg, vgpu->name) != vgpu)
			abort();
		uint32_t poll;
		enum config_edid edid;
		config_vgpu_settings(cfg, vgpu->name, &poll, &edid);
		if (poll > CONFIG_POLL_MAX_MS)
			abort();
		config_vgpu_clock(cfg, vgpu->name);
		config_vgpu_uinput(cfg, vgpu->name);
	}
	struct config_touchscreen *ts;
	wl_list_for_each (ts, &cfg->touchscreens, link)
		config_touchscreen_output(cfg, ts->name);
	/* Cycling visits every vGPU and comes back. */
	const char *first = config_cycle_vgpu(cfg, NULL, true);
	const char *name = first;
	for (int i = 0; name != NULL && i < 10000; i++) {
		name = config_cycle_vgpu(cfg, name, true);
		if (name == first)
			break;
	}
	char path[256];
	config_socket_path(cfg, path, sizeof(path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_sink(quiet, NULL);
	log_init(LOG_LEVEL_ERROR);

	struct config cfg;
	config_init(&cfg);
	/* fmemopen() cannot open an empty buffer for reading in every libc. */
	FILE *file = size > 0 ? fmemopen((void *)data, size, "r") : NULL;
	if (file != NULL) {
		if (config_parse(&cfg, file, "fuzz.conf") == 0)
			use(&cfg);
		fclose(file);
	}
	config_finish(&cfg);

	/* The value parsers alone, on the input as one string. */
	char *text = strndup((const char *)data, size);
	if (text != NULL) {
		uint32_t w, h, r, rgb;
		if (config_parse_mode(text, &w, &h, &r) == 0 && (w == 0) != (h == 0))
			abort();
		config_parse_colour(text, &rgb);
		free(text);
	}
	return 0;
}
