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

	char *check_alone[] = {"vscanoutd", "--check-config", NULL};
	memset(err, 0, sizeof(err));
	check_int_eq(parse(&opts, err, sizeof(err), check_alone), -EINVAL);
	check_contains(err, "--check-config needs --config FILE");
	check(!opts.check_config);

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
}

int main(void)
{
	test_good();
	test_bad();
	test_usage();
	return 0;
}
