/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_SCHEDULE_H
#define VSCANOUT_DAEMON_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * A daily window of local time, "HH:MM-HH:MM" (blank-schedule=): from its
 * start minute, included, to its end minute, excluded. A window whose end
 * is earlier than its start crosses midnight ("22:00-07:00" holds 23:30
 * and 06:59 but not 07:00). Start and end are never equal.
 *
 * Everything but schedule_next_edge() works on minutes and seconds of the
 * day as a struct tm shows them, without any calendar: the same answers in
 * every time zone and on days that have a daylight saving change.
 */

/* Minutes in a day; a minute of the day is 0..SCHEDULE_MINUTES_PER_DAY - 1. */
#define SCHEDULE_MINUTES_PER_DAY (24 * 60)

/* Room for "HH:MM-HH:MM" and its NUL. */
#define SCHEDULE_TEXT_SIZE 12

struct schedule_window {
	uint16_t start; /* minute of the day the window opens, included */
	uint16_t end;   /* minute of the day it closes, excluded; != start */
};

/*
 * Parse "HH:MM-HH:MM": two digits each, HH 00..23, MM 00..59, no blanks,
 * start != end. Returns 0, or -EINVAL (then `window` is not written).
 */
int schedule_parse(const char *text, struct schedule_window *window);

/* Write "HH:MM-HH:MM" into buf (at least SCHEDULE_TEXT_SIZE bytes). */
void schedule_format(const struct schedule_window *window, char *buf, size_t size);

/* Whether the minute of the day `minute` (0..1439) is inside the window. */
bool schedule_contains_minute(const struct schedule_window *window, unsigned minute);

/* Whether the wall-clock time `tm` shows (hour and minute) is inside the window. */
bool schedule_contains(const struct schedule_window *window, const struct tm *tm);

/*
 * Seconds of wall-clock time from `tm` (hour, minute, second; a leap
 * second counts as 59) to the window's next edge, its start or its end,
 * whichever comes first: 1..86400. At an edge exactly, that edge is taken
 * as passed: the answer is the distance to the other one.
 */
unsigned schedule_seconds_to_edge(const struct schedule_window *window, const struct tm *tm);

/*
 * The moment (seconds since the epoch) of the window's next edge after
 * `now`, in local time as TZ says (tzset() is the caller's). It follows
 * daylight saving changes: an edge at a time the day skips comes as much
 * later as the clock jumped (02:30 on a day that jumps from 02:00 to 03:00
 * comes at 03:30, when the window's state at the new time holds again);
 * one at a time the day has twice comes the first time. Always later than
 * `now`.
 */
time_t schedule_next_edge(const struct schedule_window *window, time_t now);

#endif
