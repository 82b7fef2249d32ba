/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_OPTIONS_H
#define VSCANOUT_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

/* What vscanoutd was asked to do on its command line. */
struct daemon_options {
	const char *config_path; /* may be NULL: no file, built-in defaults */
	int verbosity;           /* how many times -v was given */
	bool check_config;       /* -t: only check config_path (then set) */
	bool help;
	bool version;
};

/*
 * Parse vscanoutd's command line. `opts` is reset first; strings in it
 * point into `argv`. On a bad option or a stray argument, one line naming it
 * and one line pointing at --help are written to `err`, and -EINVAL is
 * returned; `opts` is then left reset. Returns 0 on success.
 */
int daemon_options_parse(struct daemon_options *opts, int argc, char *argv[], FILE *err);

/* Write the --help text to `out`. */
void daemon_options_print_usage(FILE *out, const char *prog);

#endif
