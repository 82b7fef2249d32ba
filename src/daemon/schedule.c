// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>

#include "daemon/schedule.h"

#define SECONDS_PER_DAY (SCHEDULE_MINUTES_PER_DAY * 60)

/* Two digits, at most `max`. */
static int parse_two_digits(const char *text, unsigned max, unsigned *value)
{
	if (text[0] < '0' || text[0] > '9' || text[1] < '0' || text[1] > '9')
		return -EINVAL;
	unsigned v = (unsigned)(text[0] - '0') * 10 + (unsigned)(text[1] - '0');
	if (v > max)
		return -EINVAL;
	*value = v;
	return 0;
}

/* "HH:MM" at text, as a minute of the day. */
static int parse_time(const char *text, unsigned *minute)
{
	unsigned h, m;
	if (parse_two_digits(text, 23, &h) < 0 || text[2] != ':' ||
	    parse_two_digits(text + 3, 59, &m) < 0)
		return -EINVAL;
	*minute = h * 60 + m;
	return 0;
}

int schedule_parse(const char *text, struct schedule_window *window)
{
	unsigned start, end;
	/* Each character is checked before the next one is read. */
	if (parse_time(text, &start) < 0 || text[5] != '-' || parse_time(text + 6, &end) < 0 ||
	    text[11] != '\0' || start == end)
		return -EINVAL;
	window->start = (uint16_t)start;
	window->end = (uint16_t)end;
	return 0;
}

void schedule_format(const struct schedule_window *window, char *buf, size_t size)
{
	snprintf(buf, size, "%02u:%02u-%02u:%02u", window->start / 60u, window->start % 60u,
		 window->end / 60u, window->end % 60u);
}

bool schedule_contains_minute(const struct schedule_window *window, unsigned minute)
{
	if (window->start < window->end)
		return minute >= window->start && minute < window->end;
	/* Across midnight: from start to midnight, and from midnight to end. */
	return minute >= window->start || minute < window->end;
}

static unsigned minute_of(const struct tm *tm)
{
	return (unsigned)tm->tm_hour * 60 + (unsigned)tm->tm_min;
}

bool schedule_contains(const struct schedule_window *window, const struct tm *tm)
{
	return schedule_contains_minute(window, minute_of(tm));
}

/* Seconds from `now` (a second of the day) to the edge at minute `edge`: 1..86400. */
static unsigned seconds_to(unsigned edge, unsigned now)
{
	unsigned at = edge * 60;
	unsigned d = (at + SECONDS_PER_DAY - now) % SECONDS_PER_DAY;
	return d == 0 ? SECONDS_PER_DAY : d;
}

unsigned schedule_seconds_to_edge(const struct schedule_window *window, const struct tm *tm)
{
	unsigned sec = tm->tm_sec > 59 ? 59 : (unsigned)tm->tm_sec;
	unsigned now = minute_of(tm) * 60 + sec;
	unsigned to_start = seconds_to(window->start, now);
	unsigned to_end = seconds_to(window->end, now);
	return to_start < to_end ? to_start : to_end;
}

/*
 * The first moment after `now` whose local time reads `minute` (HH:MM:00).
 * A time the day has twice (the clock going back) is tried as summer time
 * and as standard time, and the earlier one taken; a time the day skips
 * reads, normalised, as much later as the clock jumped.
 */
static time_t next_local(const struct tm *today, unsigned minute, time_t now)
{
	for (int day = 0; day < 3; day++) {
		time_t best = (time_t)-1;
		for (int isdst = 1; isdst >= -1; isdst--) {
			struct tm tm = *today;
			tm.tm_mday += day;
			tm.tm_hour = (int)(minute / 60);
			tm.tm_min = (int)(minute % 60);
			tm.tm_sec = 0;
			tm.tm_isdst = isdst; /* -1 last: whichever applies at that time */
			time_t t = mktime(&tm);
			if (t == (time_t)-1 || t <= now)
				continue;
			/* A guess that does not hold at that time reads another hour. */
			if (isdst >= 0 && minute_of(&tm) != minute)
				continue;
			/* mktime's own pick only when neither guess held (a skipped time). */
			if (isdst < 0 && best != (time_t)-1)
				continue;
			if (best == (time_t)-1 || t < best)
				best = t;
		}
		if (best != (time_t)-1)
			return best;
	}
	/* No calendar: the wall clock's distance. */
	return now + (time_t)SECONDS_PER_DAY;
}

time_t schedule_next_edge(const struct schedule_window *window, time_t now)
{
	struct tm today;
	if (localtime_r(&now, &today) == NULL)
		return now + (time_t)SECONDS_PER_DAY;
	time_t start = next_local(&today, window->start, now);
	time_t end = next_local(&today, window->end, now);
	return start < end ? start : end;
}
