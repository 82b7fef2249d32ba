/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONFIG_CONFIG_H
#define VSCANOUT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "util/log.h"

/*
 * vscanoutd's configuration file: INI, parsed with inih.
 *
 *   # comment
 *   [daemon]
 *   log-level = info        # error | warning | info | debug
 *
 * Every section and key is checked. An unknown section or key, a key outside
 * any section, a repeated key or a bad value is an error reported as
 * "FILE:LINE: message" naming what is wrong and what is allowed.
 */
struct config {
	enum log_level log_level; /* LOG_LEVEL_INFO unless set */
	bool log_level_set;       /* whether the file set log-level */
};

/* Fill `cfg` with the built-in defaults. */
void config_init(struct config *cfg);

/* Release what `cfg` holds; it may then be initialised again. */
void config_finish(struct config *cfg);

/*
 * Read a configuration from `file` (borrowed, read to its end) into `cfg`,
 * which must have been initialised. `name` is used in error messages.
 * Errors are logged, every one of them, at error level. Returns 0, or
 * -EINVAL if the text has any error; `cfg` is then left as it was.
 */
int config_parse(struct config *cfg, FILE *file, const char *name);

/*
 * Open `path` and parse it as config_parse() does. Returns 0, -EINVAL on
 * bad contents, or the negative errno of opening the file (logged with the
 * path).
 */
int config_load(struct config *cfg, const char *path);

#endif
