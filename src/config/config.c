// SPDX-License-Identifier: MIT
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>

#include "config/config.h"

/* The state of one parse: inih calls back for each key in file order. */
struct parse {
	FILE *file;
	const char *name;
	int line; /* line the reader returned last */
	int error_count;
	struct config result;
	bool daemon_log_level_seen;
};

static void parse_error(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void parse_error(struct parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list args;
	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	log_error("%s:%d: %s", p->name, p->line, msg);
	p->error_count++;
}

/* Counts lines, so the handler knows where it is. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s = fgets(str, num, p->file);
	if (s != NULL)
		p->line++;
	return s;
}

static const char *const log_level_values[] = {"error", "warning", "info", "debug"};
static const enum log_level log_level_of[] = {LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
					      LOG_LEVEL_DEBUG};

static void parse_daemon_key(struct parse *p, const char *key, const char *value)
{
	if (strcmp(key, "log-level") == 0) {
		if (p->daemon_log_level_seen) {
			parse_error(p, "[daemon] log-level is set twice");
			return;
		}
		p->daemon_log_level_seen = true;
		for (size_t i = 0; i < sizeof(log_level_values) / sizeof(log_level_values[0]);
		     i++) {
			if (strcmp(value, log_level_values[i]) == 0) {
				p->result.log_level = log_level_of[i];
				p->result.log_level_set = true;
				return;
			}
		}
		parse_error(p, "[daemon] log-level '%s' is not one of error, warning, info, debug",
			    value);
		return;
	}
	parse_error(p, "unknown key '%s' in [daemon] (known keys: log-level)", key);
}

static int handle_key(void *data, const char *section, const char *key, const char *value)
{
	struct parse *p = data;

	if (section[0] == '\0')
		parse_error(p, "key '%s' is outside any section", key);
	else if (strcmp(section, "daemon") == 0)
		parse_daemon_key(p, key, value);
	else
		parse_error(p, "unknown section [%s] (known sections: [daemon])", section);
	/* Errors are reported here, with their meaning; inih goes on. */
	return 1;
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LEVEL_INFO;
}

void config_finish(struct config *cfg)
{
	config_init(cfg);
}

int config_parse(struct config *cfg, FILE *file, const char *name)
{
	struct parse p = {
		.file = file,
		.name = name,
	};
	config_init(&p.result);

	ini_allow_multiline = false;
	int ret = ini_parse_stream(read_line, &p, handle_key, &p);
	if (ret > 0) {
		/* The first line that is neither [section] nor key=value. */
		p.line = ret;
		parse_error(&p, "syntax error: expected '[section]' or 'key = value'");
	} else if (ret < 0) {
		log_error("%s: out of memory while reading the configuration", name);
		return -ENOMEM;
	}
	if (ferror(file)) {
		log_error("%s: read error", name);
		return -EIO;
	}
	if (p.error_count > 0)
		return -EINVAL;

	config_finish(cfg);
	*cfg = p.result;
	return 0;
}

int config_load(struct config *cfg, const char *path)
{
	FILE *file = fopen(path, "re");
	if (file == NULL) {
		int ret = -errno;
		log_error_errno("cannot open configuration file %s", path);
		return ret;
	}
	int ret = config_parse(cfg, file, path);
	fclose(file);
	return ret;
}
