// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "util/log.h"

/* Exit status for a bad command line, as getopt-based tools use. */
#define EXIT_USAGE 2

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

	log_init(opts.verbosity > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	struct config config;
	config_init(&config);
	if (opts.config_path != NULL && config_load(&config, opts.config_path) < 0) {
		config_finish(&config);
		return EXIT_FAILURE;
	}
	if (opts.check_config) {
		/* The file alone: no seat or device is opened. */
		printf("%s: valid\n", opts.config_path);
		config_finish(&config);
		return EXIT_SUCCESS;
	}
	if (opts.verbosity == 0 && config.log_level_set)
		log_init(config.log_level);

	struct daemon *daemon = daemon_create(&config);
	config_finish(&config);
	if (daemon == NULL)
		return EXIT_FAILURE;
	/* SIGHUP reads this file again. */
	if (opts.config_path != NULL) {
		daemon->config_path = realpath(opts.config_path, NULL);
		if (daemon->config_path == NULL)
			daemon->config_path = strdup(opts.config_path);
	}

	log_info("vscanoutd %s running", VSCANOUT_VERSION);
	/* READY=1 goes out once the outputs show their first frames. */
	int ret = daemon_run(daemon);
	notify_send("STOPPING=1");

	daemon_destroy(daemon);
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
