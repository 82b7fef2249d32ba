// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "build-config.h"
#include "daemon/options.h"

static const char short_options[] = ":c:ts:vhV";

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"check-config", no_argument, NULL, 't'},
	{"seat", required_argument, NULL, 's'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{0},
};

const char *daemon_options_default_config(void)
{
	return VSCANOUT_SYSCONFDIR "/vscanout/vscanout.conf";
}

void daemon_options_print_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-c FILE] [-s SEAT] [-v[v]]\n"
		"       %s -t [-c FILE] [-s SEAT]\n"
		"Show virtual machines' displays on this host's monitors.\n"
		"\n"
		"  -c, --config FILE  read the configuration from FILE; without -c:\n"
		"                       %s\n"
		"                     when it exists, else the built-in defaults\n"
		"  -t, --check-config check that configuration file and exit: status 0\n"
		"                     when it is valid, 1 with its errors otherwise\n"
		"  -s, --seat SEAT    drive SEAT; the configuration's [daemon] seat, if any,\n"
		"                     must name the same seat\n"
		"  -v, --verbose      log debug messages too (overrides log-level); twice:\n"
		"                     also where in the source each message comes from\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT (or --help, --version, a valid\n"
		"--check-config), 1 a bad configuration or another fatal error, 2 a bad\n"
		"command line.\n",
		prog, prog, daemon_options_default_config());
}

static int bad_usage(struct daemon_options *opts, FILE *err, const char *prog)
{
	fprintf(err, "Try '%s --help' for more information.\n", prog);
	memset(opts, 0, sizeof(*opts));
	return -EINVAL;
}

bool daemon_options_valid_seat(const char *seat)
{
	size_t len = strlen(seat);
	if (len == 0 || len > DAEMON_OPTIONS_SEAT_MAX)
		return false;
	for (const char *c = seat; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	}
	return true;
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
		case 's':
			if (!daemon_options_valid_seat(optarg)) {
				fprintf(err,
					"%s: option --seat: '%s' is not a seat name like seat0 "
					"(letters, digits, '-', '_', '.')\n",
					prog, optarg);
				return bad_usage(opts, err, prog);
			}
			opts->seat = optarg;
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

	if (optind < argc) {
		fprintf(err, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return bad_usage(opts, err, prog);
	}
	return 0;
}

enum log_level daemon_options_log_level(int verbosity, const struct config *cfg)
{
	if (verbosity > 0)
		return LOG_LEVEL_DEBUG;
	return cfg->log_level_set ? cfg->log_level : LOG_LEVEL_INFO;
}
