// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "daemon/options.h"

static const char short_options[] = ":c:tvhV";

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 't'},
	{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},      {0},
};

void daemon_options_print_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Show virtual machines' displays on this host's monitors.\n"
		"\n"
		"  -c, --config FILE  read the configuration from FILE\n"
		"  -t, --check-config check the configuration file and exit: status 0 when\n"
		"                     it is valid, 1 with its errors otherwise\n"
		"  -v, --verbose      log more; twice for debug messages\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n",
		prog);
}

static int bad_usage(struct daemon_options *opts, FILE *err, const char *prog)
{
	fprintf(err, "Try '%s --help' for more information.\n", prog);
	memset(opts, 0, sizeof(*opts));
	return -EINVAL;
}

int daemon_options_parse(struct daemon_options *opts, int argc, char *argv[], FILE *err)
{
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "vscanoutd";

	memset(opts, 0, sizeof(*opts));
	/* Zero makes glibc's getopt start over, so parsing can be repeated. */
	optind = 0;
	opterr = 0;

	int c;
	while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (optarg[0] == '\0') {
				fprintf(err, "%s: option --config needs a file name\n", prog);
				return bad_usage(opts, err, prog);
			}
			opts->config_path = optarg;
			break;
		case 't':
			opts->check_config = true;
			break;
		case 'v':
			opts->verbosity++;
			break;
		case 'h':
			opts->help = true;
			break;
		case 'V':
			opts->version = true;
			break;
		case ':':
			fprintf(err, "%s: option '%s' needs an argument\n", prog, argv[optind - 1]);
			return bad_usage(opts, err, prog);
		default:
			if (optopt != 0)
				fprintf(err, "%s: unknown option '-%c'\n", prog, optopt);
			else
				fprintf(err, "%s: unknown option '%s'\n", prog, argv[optind - 1]);
			return bad_usage(opts, err, prog);
		}
	}

	if (opts->check_config && opts->config_path == NULL) {
		fprintf(err, "%s: --check-config needs --config FILE\n", prog);
		return bad_usage(opts, err, prog);
	}
	if (optind < argc) {
		fprintf(err, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return bad_usage(opts, err, prog);
	}
	return 0;
}
