// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon/schedule.h"
#include "test.h"

static struct schedule_window window(const char *text)
{
	struct schedule_window w;
	check_int_eq(schedule_parse(text, &w), 0);
	return w;
}

static struct tm at(int hour, int min, int sec)
{
	return (struct tm){.tm_hour = hour, .tm_min = min, .tm_sec = sec};
}

static void test_parse(void)
{
	struct schedule_window w = window("22:00-07:00");
	check_int_eq(w.start, 22 * 60);
	check_int_eq(w.end, 7 * 60);
	w = window("00:00-23:59");
	check_int_eq(w.start, 0);
	check_int_eq(w.end, 23 * 60 + 59);
	w = window("23:59-00:00");
	check_int_eq(w.start, 23 * 60 + 59);
	check_int_eq(w.end, 0);

	static const char *const bad[] = {
		"",
		"22:00",
		"22:00-",
		"22:00-07:00 ",
		" 22:00-07:00",
		"22:00 - 07:00",
		"24:00-07:00",
		"22:60-07:00",
		"22:00-07:60",
		"2:00-07:00",
		"22:0-07:00",
		"22:00-7:00",
		"22.00-07.00",
		"22:00-07:000",
		"07:00-07:00",
		"00:00-00:00",
		"-1:00-07:00",
		"aa:bb-cc:dd",
		"22:00_07:00",
		"22:00-07:00-09:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct schedule_window untouched = {.start = 1, .end = 2};
		if (schedule_parse(bad[i], &untouched) != -EINVAL) {
			fprintf(stderr, "'%s' was accepted\n", bad[i]);
			abort();
		}
		check_int_eq(untouched.start, 1);
		check_int_eq(untouched.end, 2);
	}
}

static void test_format(void)
{
	static const char *const texts[] = {"22:00-07:00", "00:00-23:59", "09:05-09:06",
					    "23:59-00:00"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct schedule_window w = window(texts[i]);
		char buf[SCHEDULE_TEXT_SIZE];
		schedule_format(&w, buf, sizeof(buf));
		check_str_eq(buf, texts[i]);
	}
}

static void test_contains_same_day(void)
{
	struct schedule_window w = window("09:00-17:30");
	check(!schedule_contains(&w, &(struct tm){.tm_hour = 8, .tm_min = 59, .tm_sec = 59}));
	struct tm t = at(9, 0, 0); /* the start is inside */
	check(schedule_contains(&w, &t));
	t = at(12, 0, 0);
	check(schedule_contains(&w, &t));
	t = at(17, 29, 59);
	check(schedule_contains(&w, &t));
	t = at(17, 30, 0); /* the end is outside */
	check(!schedule_contains(&w, &t));
	t = at(0, 0, 0);
	check(!schedule_contains(&w, &t));
	t = at(23, 59, 59);
	check(!schedule_contains(&w, &t));
}

static void test_contains_across_midnight(void)
{
	struct schedule_window w = window("22:00-07:00");
	struct {
		int hour, min;
		bool inside;
	} cases[] = {
		{21, 59, false}, {22, 0, true}, {23, 30, true}, {23, 59, true}, {0, 0, true},
		{3, 0, true},    {6, 59, true}, {7, 0, false},  {7, 1, false},  {12, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tm t = at(cases[i].hour, cases[i].min, 30);
		if (schedule_contains(&w, &t) != cases[i].inside) {
			fprintf(stderr, "%02d:%02d: expected %s\n", cases[i].hour, cases[i].min,
				cases[i].inside ? "inside" : "outside");
			abort();
		}
	}
	/* A window of one minute, and one of all but a minute. */
	w = window("23:59-00:00");
	check(schedule_contains_minute(&w, 23 * 60 + 59));
	check(!schedule_contains_minute(&w, 0));
	check(!schedule_contains_minute(&w, 23 * 60 + 58));
	w = window("00:00-23:59");
	check(schedule_contains_minute(&w, 0));
	check(schedule_contains_minute(&w, 23 * 60 + 58));
	check(!schedule_contains_minute(&w, 23 * 60 + 59));
	/* Every minute of the day: inside exactly where the two halves are. */
	w = window("22:00-07:00");
	unsigned inside = 0;
	for (unsigned m = 0; m < SCHEDULE_MINUTES_PER_DAY; m++)
		inside += schedule_contains_minute(&w, m);
	check_int_eq(inside, 9 * 60);
}

static void test_seconds_to_edge(void)
{
	struct schedule_window w = window("22:00-07:00");
	struct tm t = at(21, 59, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 60);
	t = at(21, 59, 59);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 1);
	/* At the start exactly: the start has passed, the end is next. */
	t = at(22, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 9 * 3600);
	t = at(23, 59, 59);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 7 * 3600 + 1);
	t = at(0, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 7 * 3600);
	/* At the end exactly: the next start, 15 hours on. */
	t = at(7, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 15 * 3600);
	t = at(12, 30, 15);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 9 * 3600 + 29 * 60 + 45);
	/* A leap second counts as 59. */
	t = at(21, 59, 60);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 1);

	w = window("09:00-17:30");
	t = at(17, 30, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 15 * 3600 + 30 * 60);
	t = at(9, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 8 * 3600 + 30 * 60);
	t = at(8, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 3600);

	/* The one-minute window: 60 s in, the rest of the day out. */
	w = window("23:59-00:00");
	t = at(23, 59, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 60);
	t = at(0, 0, 0);
	check_int_eq(schedule_seconds_to_edge(&w, &t), 86400 - 60);

	/* Walking the day second by second never meets 0 nor more than a day,
	 * and each edge lands where contains() changes its answer. */
	w = window("22:00-07:00");
	for (unsigned s = 0; s < 86400; s += 7) {
		struct tm now = at((int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
		unsigned d = schedule_seconds_to_edge(&w, &now);
		check(d >= 1 && d <= 86400);
		unsigned edge = (s + d) % 86400;
		check(edge % 60 == 0);
		unsigned before =
			(edge / 60 + SCHEDULE_MINUTES_PER_DAY - 1) % SCHEDULE_MINUTES_PER_DAY;
		check(schedule_contains_minute(&w, edge / 60) !=
		      schedule_contains_minute(&w, before));
	}
}

/* struct tm of a local date and time, mktime'd. */
static time_t local(int year, int mon, int mday, int hour, int min)
{
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mon - 1,
			.tm_mday = mday,
			.tm_hour = hour,
			.tm_min = min,
			.tm_isdst = -1};
	time_t t = mktime(&tm);
	check(t != (time_t)-1);
	return t;
}

static void test_next_edge(void)
{
	/* Rules written out, so that no time zone database is needed. */
	setenv("TZ", "UTC0", 1);
	tzset();
	struct schedule_window w = window("22:00-07:00");
	time_t now = local(2024, 6, 10, 12, 0);
	check_int_eq(schedule_next_edge(&w, now), local(2024, 6, 10, 22, 0));
	now = local(2024, 6, 10, 22, 0);
	check_int_eq(schedule_next_edge(&w, now), local(2024, 6, 11, 7, 0));
	check_int_eq(schedule_next_edge(&w, now - 1), now);
	/* Across the end of a month and of a year. */
	now = local(2024, 12, 31, 23, 0);
	check_int_eq(schedule_next_edge(&w, now), local(2025, 1, 1, 7, 0));

	/* Central Europe: 2024-03-31 02:00 jumps to 03:00, 2024-10-27 03:00 back to 02:00. */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	/* The night of the jump is an hour shorter in real time. */
	now = local(2024, 3, 30, 22, 0);
	check_int_eq(schedule_next_edge(&w, now) - now, 8 * 3600);
	/* ...and that of the fall back an hour longer. */
	now = local(2024, 10, 26, 22, 0);
	check_int_eq(schedule_next_edge(&w, now) - now, 10 * 3600);
	/* An edge at a skipped time comes as much later as the clock jumped. */
	w = window("02:30-05:00");
	now = local(2024, 3, 31, 1, 0);
	time_t edge = schedule_next_edge(&w, now);
	struct tm tm;
	localtime_r(&edge, &tm);
	check(edge > now);
	check_int_eq(edge - now, 90 * 60); /* 01:00 CET to 03:30 CEST */
	check_int_eq(tm.tm_hour, 3);
	check_int_eq(tm.tm_min, 30);
	check(schedule_contains(&w, &tm));
	/* An edge at a time the day has twice: the first of them. */
	now = local(2024, 10, 27, 1, 0);
	edge = schedule_next_edge(&w, now);
	check_int_eq(edge - now, 90 * 60); /* 01:00 CEST to 02:30 CEST */
	/* Never now itself, nor earlier. */
	for (time_t t = local(2024, 3, 30, 0, 0); t < local(2024, 4, 2, 0, 0); t += 600)
		check(schedule_next_edge(&w, t) > t);
	for (time_t t = local(2024, 10, 26, 0, 0); t < local(2024, 10, 29, 0, 0); t += 600)
		check(schedule_next_edge(&w, t) > t);

	/*
	 * The same night from the time zone database (tzdata). glibc's mktime()
	 * resolves a doubled time by the offset of its previous call: after a
	 * winter date it picks the later 02:30. The edge is still the first.
	 */
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0) {
		setenv("TZ", ":Europe/Berlin", 1);
		tzset();
		now = local(2024, 10, 27, 1, 0);
		(void)local(2024, 12, 1, 12, 0);
		check_int_eq(schedule_next_edge(&w, now) - now, 90 * 60);
		now = local(2024, 3, 31, 1, 0);
		check_int_eq(schedule_next_edge(&w, now) - now, 90 * 60);
	} else {
		printf("no tzdata: Europe/Berlin not checked\n");
	}
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	test_parse();
	test_format();
	test_contains_same_day();
	test_contains_across_midnight();
	test_seconds_to_edge();
	test_next_edge();
	printf("schedule: ok\n");
	return 0;
}
