/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONFIG_CONFIG_H
#define VSCANOUT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <wayland-util.h>

#include "util/log.h"

/*
 * vscanoutd's configuration file: INI, parsed with inih.
 *
 *   # comment
 *   [daemon]
 *   log-level = info            # error | warning | info | debug
 *
 *   [output HDMI-A-1]           # a connector by its KMS name, or
 *   [output card1:Virtual-1]    # qualified by DRM device when names clash
 *   mode = 1920x1080@60         # WxH, WxH@Hz (Hz may have decimals), preferred
 *   vgpu = kiosk-a              # the vGPU shown there
 *   flip = async                # async | vsync
 *   placeholder = #202020       # colour shown while the vGPU has no picture
 *
 * Every section and key is checked. An unknown section or key, a key outside
 * any section, a repeated key or section, or a bad value is an error reported
 * as "FILE:LINE: message" naming what is wrong and what is allowed.
 */

/* How an output flips to a new frame. */
enum config_flip {
	CONFIG_FLIP_DEFAULT = 0, /* async when a single full-screen guest allows it */
	CONFIG_FLIP_ASYNC,
	CONFIG_FLIP_VSYNC,
};

/* The default placeholder colour: dark grey, 0xRRGGBB. */
#define CONFIG_PLACEHOLDER_DEFAULT 0x202020u

/* One [output NAME] section. */
struct config_output {
	char *name;           /* "HDMI-A-1" or "card1:Virtual-1" */
	uint32_t width;       /* 0: the connector's preferred mode */
	uint32_t height;      /* 0 with width */
	uint32_t refresh_mhz; /* 0: any refresh rate for the size */
	char *vgpu;           /* may be NULL: nothing but the placeholder */
	enum config_flip flip;
	uint32_t placeholder; /* 0xRRGGBB */
	int line;             /* where the section starts, for messages */
	struct wl_list link;  /* config.outputs */
};

struct config {
	enum log_level log_level; /* LOG_LEVEL_INFO unless set */
	bool log_level_set;       /* whether the file set log-level */
	struct wl_list outputs;   /* config_output.link, in file order */
};

/* Fill `cfg` with the built-in defaults. */
void config_init(struct config *cfg);

/* Release what `cfg` holds; it is then as after config_init(). */
void config_finish(struct config *cfg);

/*
 * Move everything `src` holds into `dst` (whose old contents are released).
 * `src` is left as after config_init().
 */
void config_move(struct config *dst, struct config *src);

/*
 * Read a configuration from `file` (borrowed, read to its end) into `cfg`,
 * which must have been initialised. `name` is used in error messages.
 * Every error is logged. Returns 0, -EINVAL if the text has any error (then
 * `cfg` is left as it was), or -ENOMEM/-EIO.
 */
int config_parse(struct config *cfg, FILE *file, const char *name);

/*
 * Open `path` and parse it as config_parse() does. Returns 0, -EINVAL on
 * bad contents, or the negative errno of opening the file (logged with the
 * path).
 */
int config_load(struct config *cfg, const char *path);

/* The [output NAME] section called `name`, or NULL. */
struct config_output *config_find_output(const struct config *cfg, const char *name);

/*
 * Parse a mode "WxH", "WxH@Hz" (Hz with up to three decimals) or
 * "preferred" (all zero). Returns 0 or -EINVAL; outputs are written only on
 * success.
 */
int config_parse_mode(const char *text, uint32_t *width, uint32_t *height, uint32_t *refresh_mhz);

/* Parse "#RRGGBB". Returns 0 or -EINVAL; `rgb` is written only on success. */
int config_parse_colour(const char *text, uint32_t *rgb);

#endif
