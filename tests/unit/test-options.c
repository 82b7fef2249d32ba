// SPDX-License-Identifier: MIT
#include "daemon/options.h"
#include "test.h"

/* Parse a NULL-terminated argument list; `err` receives the messages. */
static int parse(struct daemon_options *opts, char *err, size_t err_size, char **args)
{
	int argc = 0;
	while (args[argc] != NULL)
		argc++;
	FILE *f = fmemopen(err, err_size, "w");
	check(f != NULL);
	int ret = daemon_options_parse(opts, argc, args, f);
	fclose(f);
	return ret;
}

static void test_good(void)
{
	struct daemon_options opts;
	char err[512] = "";

	char *none[] = {"vscanoutd", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), none), 0);
	check(opts.config_path == NULL);
	check_int_eq(opts.verbosity, 0);
	check(!opts.help && !opts.version);

	char *all[] = {"vscanoutd", "-c", "/etc/a.conf", "-vv", "--verbose", "--help", "-V", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), all), 0);
	check_str_eq(opts.config_path, "/etc/a.conf");
	check_int_eq(opts.verbosity, 3);
	check(opts.help && opts.version);

	char *joined[] = {"vscanoutd", "--config=/x.conf", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), joined), 0);
	check_str_eq(opts.config_path, "/x.conf");
	check(!opts.check_config);
	check_str_eq(err, "");

	char *check_short[] = {"vscanoutd", "-t", "-c", "/y.conf", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), check_short), 0);
	check(opts.check_config);
	check_str_eq(opts.config_path, "/y.conf");
	char *check_long[] = {"vscanoutd", "--config", "/z.conf", "--check-config", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), check_long), 0);
	check(opts.check_config);
	check_str_eq(err, "");

	/* Without -c, --check-config checks the default file. */
	char *check_alone[] = {"vscanoutd", "--check-config", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), check_alone), 0);
	check(opts.check_config);
	check(opts.config_path == NULL);
	check(opts.seat == NULL);

	/* The seat, as vscanoutd@seat1.service passes it. */
	char *seat_long[] = {"vscanoutd", "--seat", "seat1", "-c", "/s.conf", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), seat_long), 0);
	check_str_eq(opts.seat, "seat1");
	check_str_eq(opts.config_path, "/s.conf");
	char *seat_short[] = {"vscanoutd", "-tsseat-2.b_c", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), seat_short), 0);
	check_str_eq(opts.seat, "seat-2.b_c");
	check(opts.check_config);
	char *seat_joined[] = {"vscanoutd", "--seat=seat0", NULL};
	check_int_eq(parse(&opts, err, sizeof(err), seat_joined), 0);
	check_str_eq(opts.seat, "seat0");
	check_str_eq(err, "");
}

static void test_default_config(void)
{
	const char *path = daemon_options_default_config();
	check(path[0] == '/');
	size_t len = strlen(path);
	const char *tail = "/vscanout/vscanout.conf";
	check(len > strlen(tail));
	check_str_eq(path + len - strlen(tail), tail);
}

/* -v wins over the file's log-level, at start and on every reload. */
static void test_log_level(void)
{
	struct config cfg;
	config_init(&cfg);
	check_int_eq(daemon_options_log_level(0, &cfg), LOG_LEVEL_INFO);
	check_int_eq(daemon_options_log_level(1, &cfg), LOG_LEVEL_DEBUG);
	cfg.log_level = LOG_LEVEL_WARN;
	cfg.log_level_set = true;
	check_int_eq(daemon_options_log_level(0, &cfg), LOG_LEVEL_WARN);
	check_int_eq(daemon_options_log_level(1, &cfg), LOG_LEVEL_DEBUG);
	check_int_eq(daemon_options_log_level(2, &cfg), LOG_LEVEL_DEBUG);
	cfg.log_level = LOG_LEVEL_ERROR;
	check_int_eq(daemon_options_log_level(0, &cfg), LOG_LEVEL_ERROR);
	config_finish(&cfg);
}

static void test_bad(void)
{
	struct daemon_options opts;
	char err[512];

	char *unknown_long[] = {"vscanoutd", "--frobnicate", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), unknown_long), -EINVAL);
	check_contains(err, "unknown option '--frobnicate'");
	check_contains(err, "Try 'vscanoutd --help'");
	/* The specific error only, not the whole help text. */
	check(strstr(err, "Usage:") == NULL);

	char *unknown_short[] = {"vscanoutd", "-x", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), unknown_short), -EINVAL);
	check_contains(err, "unknown option '-x'");

	char *missing[] = {"vscanoutd", "--config", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), missing), -EINVAL);
	check_contains(err, "option '--config' needs an argument");

	char *empty[] = {"vscanoutd", "--config=", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), empty), -EINVAL);
	check_contains(err, "--config needs a file name");

	char *seat_empty[] = {"vscanoutd", "--seat=", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), seat_empty), -EINVAL);
	check_contains(err, "option --seat: '' is not a seat name like seat0");
	check(opts.seat == NULL);

	char *seat_bad[] = {"vscanoutd", "-s", "seat/1", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), seat_bad), -EINVAL);
	check_contains(err, "option --seat: 'seat/1' is not a seat name");

	char *seat_missing[] = {"vscanoutd", "--seat", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), seat_missing), -EINVAL);
	check_contains(err, "option '--seat' needs an argument");

	char *stray[] = {"vscanoutd", "-v", "extra", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), stray), -EINVAL);
	check_contains(err, "unexpected argument 'extra'");
	check_int_eq(opts.verbosity, 0);
}

static void test_usage(void)
{
	char out[2048] = "";
	FILE *f = fmemopen(out, sizeof(out), "w");
	check(f != NULL);
	daemon_options_print_usage(f, "vscanoutd");
	fclose(f);
	check_contains(out, "Usage: vscanoutd");
	check_contains(out, "--config FILE");
	check_contains(out, "--check-config");
	check_contains(out, "--verbose");
	check_contains(out, "--version");
	check_contains(out, "--seat SEAT");
	check_contains(out, "-v[v]");
	check_contains(out, daemon_options_default_config());
	check_contains(out, "2 a bad\ncommand line");
}

int main(void)
{
	test_good();
	test_bad();
	test_usage();
	test_default_config();
	test_log_level();
	return 0;
}
