// SPDX-License-Identifier: MIT
/* What drm udev events mean to a session on a seat. */
#include "../unit/test.h"
#include "seat/uevent.h"

static void test_is_card(void)
{
	check(seat_uevent_is_card("card0"));
	check(seat_uevent_is_card("card12"));
	check(!seat_uevent_is_card("card"));
	check(!seat_uevent_is_card("card0-Virtual-1"));
	check(!seat_uevent_is_card("card1-Writeback-1"));
	check(!seat_uevent_is_card("renderD128"));
	check(!seat_uevent_is_card("controlD64"));
	check(!seat_uevent_is_card("xcard0"));
	check(!seat_uevent_is_card("card-1"));
	check(!seat_uevent_is_card("card1a"));
	check(!seat_uevent_is_card("card1:"));
	check(!seat_uevent_is_card(""));
	check(!seat_uevent_is_card(NULL));
}

static void test_seat_matches(void)
{
	check(seat_uevent_seat_matches(NULL, "seat0"));
	check(seat_uevent_seat_matches("", "seat0"));
	check(seat_uevent_seat_matches("seat0", "seat0"));
	check(seat_uevent_seat_matches("seat1", "seat1"));
	check(!seat_uevent_seat_matches(NULL, "seat1"));
	check(!seat_uevent_seat_matches("seat1", "seat0"));
	check(!seat_uevent_seat_matches("seat0", "seat01"));
	check(!seat_uevent_seat_matches("seat0", NULL));
}

static struct seat_uevent parse(const char *action, const char *sysname, const char *id_seat,
				const char *hotplug, const char *connector, const char *property)
{
	struct seat_uevent_props props = {
		.action = action,
		.sysname = sysname,
		.id_seat = id_seat,
		.hotplug = hotplug,
		.connector = connector,
		.property = property,
	};
	return seat_uevent_parse(&props, "seat0");
}

static void test_parse_kinds(void)
{
	check_int_eq(parse("add", "card1", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_ADD);
	check_int_eq(parse("add", "card1", "seat0", NULL, NULL, NULL).kind, SEAT_UEVENT_ADD);
	check_int_eq(parse("add", "card1", "seat1", NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("add", "renderD128", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("add", "card0-Virtual-2", NULL, NULL, NULL, NULL).kind,
		     SEAT_UEVENT_IGNORE);

	/* A removed card has lost its properties: its seat is not checked. */
	check_int_eq(parse("remove", "card1", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_REMOVE);
	check_int_eq(parse("remove", "card1", "seat1", NULL, NULL, NULL).kind, SEAT_UEVENT_REMOVE);
	check_int_eq(parse("remove", "card1-Virtual-1", NULL, NULL, NULL, NULL).kind,
		     SEAT_UEVENT_IGNORE);

	check_int_eq(parse("change", "card0", NULL, "1", NULL, NULL).kind, SEAT_UEVENT_HOTPLUG);
	check_int_eq(parse("change", "card0", "seat1", "1", NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("change", "card0", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("change", "card0", NULL, "0", NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	/* A lease change is not a hotplug. */
	check_int_eq(parse("change", "card0", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);

	check_int_eq(parse("bind", "card0", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("move", "card0", NULL, NULL, NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse(NULL, "card0", NULL, "1", NULL, NULL).kind, SEAT_UEVENT_IGNORE);
	check_int_eq(parse("change", NULL, NULL, "1", NULL, NULL).kind, SEAT_UEVENT_IGNORE);
}

static void test_parse_ids(void)
{
	struct seat_uevent e = parse("change", "card0", NULL, "1", "35", "7");
	check_int_eq(e.kind, SEAT_UEVENT_HOTPLUG);
	check_int_eq(e.connector_id, 35);
	check_int_eq(e.property_id, 7);

	e = parse("change", "card0", NULL, "1", NULL, NULL);
	check_int_eq(e.connector_id, 0);
	check_int_eq(e.property_id, 0);

	check_int_eq(parse("change", "card0", NULL, "1", "4294967295", NULL).connector_id,
		     4294967295u);
	/* Anything but a plain decimal id in range means "rescan all". */
	const char *bad[] = {"",     "-1",  "+3",  " 3",         "3 ",
			     "0x10", "abc", "12a", "4294967296", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = parse("change", "card0", NULL, "1", bad[i], bad[i]);
		check_int_eq(e.kind, SEAT_UEVENT_HOTPLUG);
		check_int_eq(e.connector_id, 0);
		check_int_eq(e.property_id, 0);
	}
	/* Ids are only read from hotplug events. */
	check_int_eq(parse("add", "card0", NULL, "1", "35", "7").connector_id, 0);
}

static void test_parse_other_seat(void)
{
	struct seat_uevent_props props = {.action = "add", .sysname = "card2", .id_seat = "seat1"};
	check_int_eq(seat_uevent_parse(&props, "seat1").kind, SEAT_UEVENT_ADD);
	check_int_eq(seat_uevent_parse(&props, "seat0").kind, SEAT_UEVENT_IGNORE);
	props.id_seat = NULL;
	check_int_eq(seat_uevent_parse(&props, "seat1").kind, SEAT_UEVENT_IGNORE);
	check_int_eq(seat_uevent_parse(&props, NULL).kind, SEAT_UEVENT_IGNORE);
}

int main(void)
{
	test_is_card();
	test_seat_matches();
	test_parse_kinds();
	test_parse_ids();
	test_parse_other_seat();
	return 0;
}
