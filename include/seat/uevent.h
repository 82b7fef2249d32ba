/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SEAT_UEVENT_H
#define VSCANOUT_SEAT_UEVENT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * What a drm-subsystem udev event means to a session: pure functions of the
 * event's strings, so they are tested without devices. Used by
 * src/seat/session.c; not part of the daemon-facing API.
 */

/*
 * True if `sysname` names a DRM card node: "card" followed by one or more
 * digits and nothing else ("card0", "card12"; not "card0-Virtual-1",
 * "renderD128", "card"). NULL is false.
 */
bool seat_uevent_is_card(const char *sysname);

/*
 * True if a device whose udev ID_SEAT property is `id_seat` belongs to
 * `seat`. A missing or empty ID_SEAT (NULL or "") means "seat0". A NULL
 * `seat` matches nothing.
 */
bool seat_uevent_seat_matches(const char *id_seat, const char *seat);

enum seat_uevent_kind {
	SEAT_UEVENT_IGNORE = 0, /* not for us: other seat, not a card, unknown action */
	SEAT_UEVENT_ADD,        /* a card of the seat appeared */
	SEAT_UEVENT_REMOVE,     /* a card went away (seat not checked: it is gone) */
	SEAT_UEVENT_HOTPLUG,    /* connectors of a card changed */
};

struct seat_uevent {
	enum seat_uevent_kind kind;
	uint32_t connector_id; /* HOTPLUG: CONNECTOR=, 0 if absent or invalid */
	uint32_t property_id;  /* HOTPLUG: PROPERTY=, 0 if absent or invalid */
};

/* The strings of one udev event; each may be NULL when absent. */
struct seat_uevent_props {
	const char *action;    /* "add", "remove", "change", ... */
	const char *sysname;   /* "card1" */
	const char *id_seat;   /* ID_SEAT */
	const char *hotplug;   /* HOTPLUG, "1" on connector changes */
	const char *connector; /* CONNECTOR, a decimal object id */
	const char *property;  /* PROPERTY, a decimal object id */
};

/*
 * Classify the event `props` for a session on `seat`. "remove" is reported
 * for any card (the device is gone and its properties may be too; the caller
 * matches it against the cards it holds). "change" counts only with
 * HOTPLUG=1; other changes (LEASE=1, ...) are ignored. A CONNECTOR or
 * PROPERTY value that is not a decimal number in 1..UINT32_MAX is read as 0.
 */
struct seat_uevent seat_uevent_parse(const struct seat_uevent_props *props, const char *seat);

#endif
