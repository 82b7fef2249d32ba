/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_OPTIONS_H
#define VSCANOUT_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "util/log.h"

/* Longest seat name --seat takes. */
#define DAEMON_OPTIONS_SEAT_MAX 64

/* What vscanoutd was asked to do on its command line. */
struct daemon_options {
	const char
		*config_path; /* may be NULL: -c not given (see daemon_options_default_config()) */
	const char *seat;     /* may be NULL: --seat not given */
	int verbosity;        /* how many times -v was given */
	bool check_config;    /* -t: only check the configuration file */
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

/*
 * The configuration file read without -c: SYSCONFDIR/vscanout/vscanout.conf
 * (e.g. /etc/vscanout/vscanout.conf). When it does not exist vscanoutd runs
 * with the built-in defaults.
 */
const char *daemon_options_default_config(void);

/* Whether `seat` is a seat name --seat takes: 1 to 64 of [A-Za-z0-9_.-]. */
bool daemon_options_valid_seat(const char *seat);

/*
 * The log level to run at with `verbosity` -v on the command line and the
 * configuration `cfg`: debug with any -v (the configuration's log-level is
 * then ignored, also on reload), else its log-level, else info.
 */
enum log_level daemon_options_log_level(int verbosity, const struct config *cfg);

#endif
