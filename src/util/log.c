// SPDX-License-Identifier: MIT
#include <errno.h>
#include <libliftoff.h>
#include <libseat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* Longest line kept; longer messages are cut and end in "...". */
#define LOG_LINE_MAX 1024

static enum log_level current_level = LOG_LEVEL_INFO;
static log_sink_func current_sink; /* may be NULL: stderr */
static void *current_sink_data;
static int journal_mode = -1; /* -1: not checked yet */
static bool show_source;      /* "[file:line] " before each message */

static const char *const level_names[LOG_LEVEL__COUNT] = {
	[LOG_LEVEL_SILENT] = "silent", [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",     [LOG_LEVEL_DEBUG] = "debug",
};

/* syslog(3) priorities, as understood by the journal's "<N>" prefix. */
static const int journal_priority[LOG_LEVEL__COUNT] = {
	[LOG_LEVEL_SILENT] = 7, [LOG_LEVEL_ERROR] = 3, [LOG_LEVEL_WARN] = 4,
	[LOG_LEVEL_INFO] = 6,   [LOG_LEVEL_DEBUG] = 7,
};

/* JOURNAL_STREAM is "DEV:INODE" of the journal socket stderr was set up with. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	if (env == NULL)
		return false;
	unsigned long long dev, ino;
	if (sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	struct stat st;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static void stderr_sink(enum log_level level, const char *line, void *data)
{
	if (journal_mode < 0)
		journal_mode = stderr_is_journal();
	if (journal_mode)
		fprintf(stderr, "<%d>%s\n", journal_priority[level], line);
	else
		fprintf(stderr, "%s\n", line);
}

const char *log_level_name(enum log_level level)
{
	if (level < 0 || level >= LOG_LEVEL__COUNT)
		return "unknown";
	return level_names[level];
}

enum log_level log_get_level(void)
{
	return current_level;
}

bool log_enabled(enum log_level level)
{
	return level != LOG_LEVEL_SILENT && level <= current_level;
}

void log_set_source_locations(bool show)
{
	show_source = show;
}

bool log_source_locations(void)
{
	return show_source;
}

void log_set_sink(log_sink_func sink, void *data)
{
	current_sink = sink;
	current_sink_data = data;
}

static void emit(enum log_level level, const char *prefix, const char *file, int line,
		 const char *fmt, va_list args, const char *suffix)
{
	char buf[LOG_LINE_MAX];
	size_t len = 0;
	int n;

	if (file != NULL && show_source)
		n = snprintf(buf, sizeof(buf), "[%s:%d] %s", file, line, prefix);
	else
		n = snprintf(buf, sizeof(buf), "%s", prefix);
	if (n > 0)
		len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, args);
	if (n > 0)
		len += (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;

	if (suffix != NULL) {
		n = snprintf(buf + len, sizeof(buf) - len, "%s", suffix);
		if (n > 0)
			len += (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;
	}

	/* Library messages sometimes end in a newline of their own. */
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len == sizeof(buf) - 1)
		memcpy(buf + sizeof(buf) - 4, "...", 4);

	if (current_sink != NULL)
		current_sink(level, buf, current_sink_data);
	else
		stderr_sink(level, buf, NULL);
}

void log_vprintf(enum log_level level, const char *file, int line, const char *fmt, va_list args)
{
	int saved_errno = errno;
	if (log_enabled(level))
		emit(level, "", file, line, fmt, args, NULL);
	errno = saved_errno;
}

void log_printf(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vprintf(level, file, line, fmt, args);
	va_end(args);
}

void log_printf_errno(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	int saved_errno = errno;
	if (log_enabled(level)) {
		char suffix[256];
		snprintf(suffix, sizeof(suffix), ": %s", strerror(saved_errno));
		va_list args;
		va_start(args, fmt);
		emit(level, "", file, line, fmt, args, suffix);
		va_end(args);
	}
	errno = saved_errno;
}

static void libseat_log(enum libseat_log_level seat_level, const char *fmt, va_list args)
{
	enum log_level level;
	switch (seat_level) {
	case LIBSEAT_LOG_LEVEL_ERROR:
		level = LOG_LEVEL_ERROR;
		break;
	case LIBSEAT_LOG_LEVEL_INFO:
		level = LOG_LEVEL_INFO;
		break;
	default:
		level = LOG_LEVEL_DEBUG;
		break;
	}
	int saved_errno = errno;
	if (log_enabled(level))
		emit(level, "libseat: ", NULL, 0, fmt, args, NULL);
	errno = saved_errno;
}

static void liftoff_log(enum liftoff_log_priority priority, const char *fmt, va_list args)
{
	enum log_level level = priority == LIFTOFF_ERROR ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG;
	int saved_errno = errno;
	if (log_enabled(level))
		emit(level, "libliftoff: ", NULL, 0, fmt, args, NULL);
	errno = saved_errno;
}

void log_init(enum log_level level)
{
	if (level < LOG_LEVEL_SILENT)
		level = LOG_LEVEL_SILENT;
	if (level >= LOG_LEVEL__COUNT)
		level = LOG_LEVEL__COUNT - 1;
	current_level = level;

	enum libseat_log_level seat_level = LIBSEAT_LOG_LEVEL_SILENT;
	if (level >= LOG_LEVEL_DEBUG)
		seat_level = LIBSEAT_LOG_LEVEL_DEBUG;
	else if (level >= LOG_LEVEL_INFO)
		seat_level = LIBSEAT_LOG_LEVEL_INFO;
	else if (level >= LOG_LEVEL_ERROR)
		seat_level = LIBSEAT_LOG_LEVEL_ERROR;
	libseat_set_log_handler(libseat_log);
	libseat_set_log_level(seat_level);

	/* libliftoff logs messages at least as important as the priority set. */
	enum liftoff_log_priority liftoff_priority = LIFTOFF_SILENT;
	if (level >= LOG_LEVEL_DEBUG)
		liftoff_priority = LIFTOFF_DEBUG;
	else if (level >= LOG_LEVEL_ERROR)
		liftoff_priority = LIFTOFF_ERROR;
	liftoff_log_set_handler(liftoff_log);
	liftoff_log_set_priority(liftoff_priority);
}

bool log_ratelimit_pass(struct log_ratelimit *rl, uint64_t interval_ns, unsigned long *suppressed)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* +1: a clock at 0 still differs from "never". */
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
	if (rl->last_ns != 0 && now - rl->last_ns < interval_ns) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_ns = now;
	return true;
}
