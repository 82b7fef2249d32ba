// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build-config.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "util/log.h"

/* Exit status for a bad command line, as getopt-based tools use. */
#define EXIT_USAGE 2

/*
 * The file to read: -c FILE, else the default file when it exists (one
 * that exists but cannot be read is an error later, not a silent default).
 * NULL: none, the built-in defaults.
 */
static const char *config_file(const struct daemon_options *opts)
{
	if (opts->config_path != NULL)
		return opts->config_path;
	const char *path = daemon_options_default_config();
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return NULL;
	return path;
}

int main(int argc, char *argv[])
{
	struct daemon_options opts;
	if (daemon_options_parse(&opts, argc, argv, stderr) < 0)
		return EXIT_USAGE;
	if (opts.help) {
		daemon_options_print_usage(stdout, argv[0]);
		return EXIT_SUCCESS;
	}
	if (opts.version) {
		printf("vscanoutd %s\n", VSCANOUT_VERSION);
		return EXIT_SUCCESS;
	}

	struct config config;
	config_init(&config);
	log_init(daemon_options_log_level(opts.verbosity, &config));
	/* Where a message comes from in the source is for debugging: -vv. */
	log_set_source_locations(opts.verbosity >= 2);

	const char *path = config_file(&opts);
	if (path != NULL && config_load(&config, path) < 0) {
		config_finish(&config);
		return EXIT_FAILURE;
	}
	if (opts.seat != NULL && config_require_seat(&config, opts.seat, path) < 0) {
		config_finish(&config);
		return EXIT_FAILURE;
	}
	if (opts.check_config) {
		/* The file alone: no seat or device is opened. */
		if (path != NULL)
			printf("%s: valid\n", path);
		else
			printf("%s does not exist: vscanoutd runs with the built-in defaults\n",
			       daemon_options_default_config());
		config_finish(&config);
		return EXIT_SUCCESS;
	}
	log_init(daemon_options_log_level(opts.verbosity, &config));

	struct daemon *daemon = daemon_create(&config);
	config_finish(&config);
	if (daemon == NULL)
		return EXIT_FAILURE;
	/* A reload keeps -v over the file's log-level, and --seat (argv outlives the daemon). */
	daemon->verbosity = opts.verbosity;
	daemon->seat_option = opts.seat;
	/* SIGHUP reads this file again. */
	if (path != NULL) {
		daemon->config_path = realpath(path, NULL);
		if (daemon->config_path == NULL)
			daemon->config_path = strdup(path);
	}

	log_info("vscanoutd %s running%s%s", VSCANOUT_VERSION, path != NULL ? " with " : "",
		 path != NULL ? path : ", no configuration file: the built-in defaults");
	/* READY=1 goes out once the outputs show their first frame. */
	int ret = daemon_run(daemon);
	notify_send("STOPPING=1");

	daemon_destroy(daemon);
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
