// SPDX-License-Identifier: MIT
#include "config/config.h"
#include "test.h"

struct capture {
	char text[4096];
	size_t len;
	int lines;
};

static void capture_sink(enum log_level level, const char *line, void *data)
{
	struct capture *cap = data;
	int n = snprintf(cap->text + cap->len, sizeof(cap->text) - cap->len, "%s\n", line);
	check(n > 0 && (size_t)n < sizeof(cap->text) - cap->len);
	cap->len += (size_t)n;
	cap->lines++;
}

/* Parse `text` into `cfg`; errors are collected into `cap`. */
static int parse(struct config *cfg, struct capture *cap, const char *text)
{
	memset(cap, 0, sizeof(*cap));
	log_set_sink(capture_sink, cap);
	log_init(LOG_LEVEL_ERROR);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	check(f != NULL);
	int ret = config_parse(cfg, f, "test.conf");
	fclose(f);
	log_set_sink(NULL, NULL);
	return ret;
}

static void test_defaults_and_empty(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	check(!cfg.log_level_set);
	check_int_eq(parse(&cfg, &cap, ""), 0);
	check_int_eq(parse(&cfg, &cap, "# only a comment\n; another\n\n"), 0);
	check(!cfg.log_level_set);
	config_finish(&cfg);
}

static void test_log_level(void)
{
	static const struct {
		const char *value;
		enum log_level level;
	} cases[] = {
		{"error", LOG_LEVEL_ERROR},
		{"warning", LOG_LEVEL_WARN},
		{"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct capture cap;
		char text[128];
		snprintf(text, sizeof(text), "[daemon]\nlog-level = %s\n", cases[i].value);
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, text), 0);
		check(cfg.log_level_set);
		check_int_eq(cfg.log_level, cases[i].level);
		check_int_eq(cap.lines, 0);
		config_finish(&cfg);
	}
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"[daemon]\nlog-level = loud\n", "test.conf:2: [daemon] log-level 'loud' is not "
						 "one of error, warning, info, debug"},
		{"\n\n[daemon]\ncolour = red\n",
		 "test.conf:4: unknown key 'colour' in [daemon] (known keys: log-level)"},
		{"[nonsense]\nkey = 1\n",
		 "test.conf:2: unknown section [nonsense] (known sections: [daemon])"},
		{"log-level = info\n", "test.conf:1: key 'log-level' is outside any section"},
		{"[daemon]\nlog-level = info\nlog-level = debug\n",
		 "test.conf:3: [daemon] log-level is set twice"},
		{"[daemon]\nthis line has no equals sign\n",
		 "test.conf:2: syntax error: expected '[section]' or 'key = value'"},
		{"[daemon\n", "test.conf:1: syntax error"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct capture cap;
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, cases[i].text), -EINVAL);
		check_contains(cap.text, cases[i].message);
		/* A rejected file leaves the configuration as it was. */
		check(!cfg.log_level_set);
		config_finish(&cfg);
	}
}

static void test_every_error_reported(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[daemon]\na = 1\nb = 2\nlog-level = x\n"), -EINVAL);
	check_int_eq(cap.lines, 3);
	check_contains(cap.text, "test.conf:2:");
	check_contains(cap.text, "test.conf:3:");
	check_contains(cap.text, "test.conf:4:");
	config_finish(&cfg);
}

static void test_missing_file(void)
{
	struct config cfg;
	struct capture cap = {0};
	config_init(&cfg);
	log_set_sink(capture_sink, &cap);
	check_int_eq(config_load(&cfg, "/nonexistent/vscanout.conf"), -ENOENT);
	log_set_sink(NULL, NULL);
	check_contains(cap.text, "cannot open configuration file /nonexistent/vscanout.conf: No "
				 "such file or directory");
	config_finish(&cfg);
}

int main(void)
{
	test_defaults_and_empty();
	test_log_level();
	test_errors();
	test_every_error_reported();
	test_missing_file();
	return 0;
}
