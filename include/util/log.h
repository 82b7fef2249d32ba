/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_UTIL_LOG_H
#define VSCANOUT_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The daemon's logger.
 *
 * Messages go to stderr, one line each: "message", or "[file:line] message"
 * with the source location when log_set_source_locations() turned it on (a
 * debugging aid: vscanoutd does so for -vv only, so that what users read,
 * e.g. "FILE:LINE: message" of a configuration error, is the message
 * alone). When
 * stderr is connected to the systemd journal (JOURNAL_STREAM matches it),
 * each line starts with a "<N>" syslog priority prefix so the journal keeps
 * the level. Every logging call preserves errno, so it may be called between
 * a failing system call and the code that inspects errno.
 */

enum log_level {
	LOG_LEVEL_SILENT = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL__COUNT,
};

/*
 * A function that receives every message that passes the level filter.
 * The default writes to stderr; tests install their own to capture lines.
 * `line` is the formatted message, with its "[file:line] " prefix when
 * source locations are on, without a trailing newline.
 */
typedef void (*log_sink_func)(enum log_level level, const char *line, void *data);

/*
 * Set up the logger: messages above `level` are dropped. Also routes the
 * logs of libseat and libliftoff into this logger, prefixed "libseat: " and
 * "libliftoff: ", at a matching verbosity. May be called again to change the
 * level.
 */
void log_init(enum log_level level);

/*
 * Whether messages start with "[file:line] ", where the daemon's code wrote
 * them. Off by default; independent of the level.
 */
void log_set_source_locations(bool show);
bool log_source_locations(void);

/* The current level. */
enum log_level log_get_level(void);

/*
 * True when a message of `level` would be written: callers skip expensive
 * formatting of debug output when this is false.
 */
bool log_enabled(enum log_level level);

/*
 * Replace the sink. NULL restores the stderr sink. `data` is passed back
 * to the sink unchanged.
 */
void log_set_sink(log_sink_func sink, void *data);

/* The name of a level, e.g. "warning". */
const char *log_level_name(enum log_level level);

/*
 * Write one message. Use the macros below instead, which fill in the
 * source location. Preserves errno.
 */
void log_printf(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_vprintf(enum log_level level, const char *file, int line, const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

/*
 * Like log_printf(), with ": " and strerror(errno) appended. The errno value
 * is read before anything else runs, and preserved.
 */
void log_printf_errno(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A rate limit for a message that something outside the daemon can repeat
 * at will (a refused connection, a refused request): at most one line per
 * interval, saying how many were left out since the last one. Zeroed
 * (LOG_RATELIMIT_INIT) it lets the first message through.
 */
struct log_ratelimit {
	uint64_t last_ns;         /* CLOCK_MONOTONIC time of the last line let through */
	unsigned long suppressed; /* messages held back since */
};

#define LOG_RATELIMIT_INIT        ((struct log_ratelimit){0})
#define LOG_RATELIMIT_INTERVAL_NS (10 * UINT64_C(1000000000))

/*
 * Whether a message under rl may be written now: true at most once per
 * interval_ns, and then *suppressed is the number of messages held back
 * since the last one let through (counted anew from then). False counts
 * one more held back.
 */
bool log_ratelimit_pass(struct log_ratelimit *rl, uint64_t interval_ns, unsigned long *suppressed);

#define log_at(level, ...)       log_printf(level, __FILE__, __LINE__, __VA_ARGS__)
#define log_at_errno(level, ...) log_printf_errno(level, __FILE__, __LINE__, __VA_ARGS__)

#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                        \
	do {                                                  \
		if (log_enabled(LOG_LEVEL_DEBUG))             \
			log_at(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#define log_error_errno(...) log_at_errno(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn_errno(...)  log_at_errno(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info_errno(...)  log_at_errno(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug_errno(...) log_at_errno(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
