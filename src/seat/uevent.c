// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>

#include "seat/uevent.h"

bool seat_uevent_is_card(const char *sysname)
{
	if (sysname == NULL || strncmp(sysname, "card", 4) != 0)
		return false;
	const char *p = sysname + 4;
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
	}
	return true;
}

bool seat_uevent_seat_matches(const char *id_seat, const char *seat)
{
	if (seat == NULL)
		return false;
	if (id_seat == NULL || id_seat[0] == '\0')
		id_seat = "seat0";
	return strcmp(id_seat, seat) == 0;
}

/* A decimal object id in 1..UINT32_MAX, or 0. */
static uint32_t parse_id(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return 0;
	uint64_t value = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		value = value * 10 + (uint64_t)(*p - '0');
		if (value > UINT32_MAX)
			return 0;
	}
	return (uint32_t)value;
}

struct seat_uevent seat_uevent_parse(const struct seat_uevent_props *props, const char *seat)
{
	struct seat_uevent event = {.kind = SEAT_UEVENT_IGNORE};

	if (props->action == NULL || !seat_uevent_is_card(props->sysname))
		return event;
	if (strcmp(props->action, "remove") == 0) {
		event.kind = SEAT_UEVENT_REMOVE;
		return event;
	}
	if (!seat_uevent_seat_matches(props->id_seat, seat))
		return event;
	if (strcmp(props->action, "add") == 0) {
		event.kind = SEAT_UEVENT_ADD;
	} else if (strcmp(props->action, "change") == 0 && props->hotplug != NULL &&
		   strcmp(props->hotplug, "1") == 0) {
		event.kind = SEAT_UEVENT_HOTPLUG;
		event.connector_id = parse_id(props->connector);
		event.property_id = parse_id(props->property);
	}
	return event;
}
