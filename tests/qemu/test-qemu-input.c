// SPDX-License-Identifier: MIT
/*
 * A QEMU console's input over D-Bus, against a peer that speaks QEMU's
 * Keyboard, Mouse and MultiTouch interfaces on the other end of a
 * socketpair, in this process: what each router callback turns into,
 * what is released on leave and on destroy, the mouse's mode followed
 * through PropertiesChanged, and a peer that stops reading slowing
 * nothing (motion coalesced, everything bounded).
 */
#include <assert.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "input/router.h"
#include "qemu/input.h"

#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

#define PATH "/org/qemu/Display1/Console_0"

#define MAX_RECORDS 4096

enum iface {
	KEYBOARD,
	MOUSE,
	TOUCH,
};

/* One call the peer received. */
struct record {
	enum iface iface;
	char member[32];
	uint32_t u[2]; /* Press/Release, SetAbsPosition, SendEvent's kind */
	int32_t i[2];  /* RelMotion */
	uint64_t slot; /* SendEvent */
	double d[2];   /* SendEvent */
	bool refused;  /* answered with an error */
};

struct peer {
	sd_bus *bus;
	int absolute; /* Mouse.IsAbsolute */
	int32_t max_slots;
	uint32_t modifiers;
	struct record records[MAX_RECORDS];
	size_t n_records;
};

struct fixture {
	struct peer peer;
	bool peer_reads; /* the peer's connection is processed */
	sd_bus *client;
	struct qemu_input *input;
	struct input_target *target;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct record *record(struct peer *peer, sd_bus_message *m, enum iface iface)
{
	assert(peer->n_records < MAX_RECORDS);
	struct record *r = &peer->records[peer->n_records++];
	memset(r, 0, sizeof(*r));
	r->iface = iface;
	snprintf(r->member, sizeof(r->member), "%s", sd_bus_message_get_member(m));
	return r;
}

static int handle_key(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct record *r = record(userdata, m, KEYBOARD);
	assert(sd_bus_message_read(m, "u", &r->u[0]) > 0);
	return sd_bus_reply_method_return(m, "");
}

static int handle_button(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct record *r = record(userdata, m, MOUSE);
	assert(sd_bus_message_read(m, "u", &r->u[0]) > 0);
	return sd_bus_reply_method_return(m, "");
}

static int handle_abs(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct peer *peer = userdata;
	struct record *r = record(peer, m, MOUSE);
	assert(sd_bus_message_read(m, "uu", &r->u[0], &r->u[1]) > 0);
	if (!peer->absolute) {
		r->refused = true;
		return sd_bus_error_set(error, "org.qemu.Display1.Error.Invalid",
					"Mouse is not absolute");
	}
	return sd_bus_reply_method_return(m, "");
}

static int handle_rel(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct peer *peer = userdata;
	struct record *r = record(peer, m, MOUSE);
	assert(sd_bus_message_read(m, "ii", &r->i[0], &r->i[1]) > 0);
	if (peer->absolute) {
		r->refused = true;
		return sd_bus_error_set(error, "org.qemu.Display1.Error.Invalid",
					"Mouse is not relative");
	}
	return sd_bus_reply_method_return(m, "");
}

static int handle_touch(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct record *r = record(userdata, m, TOUCH);
	assert(sd_bus_message_read(m, "utdd", &r->u[0], &r->slot, &r->d[0], &r->d[1]) > 0);
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable keyboard_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Press", "u", "", handle_key, 0),
	SD_BUS_METHOD("Release", "u", "", handle_key, 0),
	SD_BUS_PROPERTY("Modifiers", "u", NULL, offsetof(struct peer, modifiers),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable mouse_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Press", "u", "", handle_button, 0),
	SD_BUS_METHOD("Release", "u", "", handle_button, 0),
	SD_BUS_METHOD("SetAbsPosition", "uu", "", handle_abs, 0),
	SD_BUS_METHOD("RelMotion", "ii", "", handle_rel, 0),
	SD_BUS_PROPERTY("IsAbsolute", "b", NULL, offsetof(struct peer, absolute),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable touch_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SendEvent", "utdd", "", handle_touch, 0),
	SD_BUS_PROPERTY("MaxSlots", "i", NULL, offsetof(struct peer, max_slots),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

/* Runs both ends (the peer's only while it reads) until done(f) or a deadline. */
static void pump(struct fixture *f, bool (*done)(struct fixture *f))
{
	uint64_t deadline = now_ns() + 10 * UINT64_C(1000000000);
	for (;;) {
		int ret;
		bool progress;
		do {
			progress = false;
			if (f->peer_reads) {
				while ((ret = sd_bus_process(f->peer.bus, NULL)) > 0)
					progress = true;
				assert(ret >= 0);
			}
			while ((ret = sd_bus_process(f->client, NULL)) > 0)
				progress = true;
			assert(ret >= 0);
		} while (progress);
		if (done(f))
			return;
		if (now_ns() > deadline) {
			fprintf(stderr, "timed out, %zu calls received\n", f->peer.n_records);
			abort();
		}
		struct pollfd fds[2] = {
			{.fd = sd_bus_get_fd(f->client),
			 .events = (short)sd_bus_get_events(f->client)},
			{.fd = f->peer_reads ? sd_bus_get_fd(f->peer.bus) : -1,
			 .events = f->peer_reads ? (short)sd_bus_get_events(f->peer.bus) : 0},
		};
		assert(poll(fds, 2, 100) >= 0);
	}
}

static bool idle(struct fixture *f)
{
	struct qemu_input_info info;
	qemu_input_get_info(f->input, &info);
	return info.in_flight == 0;
}

static void setup(struct fixture *f, bool absolute, int32_t max_slots, bool touch)
{
	memset(f, 0, sizeof(*f));
	f->peer.absolute = absolute;
	f->peer.max_slots = max_slots;
	f->peer_reads = true;

	int fds[2];
	assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
	sd_id128_t id;
	assert(sd_id128_randomize(&id) == 0);

	assert(sd_bus_new(&f->peer.bus) >= 0);
	assert(sd_bus_set_fd(f->peer.bus, fds[0], fds[0]) >= 0);
	assert(sd_bus_set_server(f->peer.bus, 1, id) >= 0);
	assert(sd_bus_add_object_vtable(f->peer.bus, NULL, PATH, "org.qemu.Display1.Keyboard",
					keyboard_vtable, &f->peer) >= 0);
	assert(sd_bus_add_object_vtable(f->peer.bus, NULL, PATH, "org.qemu.Display1.Mouse",
					mouse_vtable, &f->peer) >= 0);
	if (touch)
		assert(sd_bus_add_object_vtable(f->peer.bus, NULL, PATH,
						"org.qemu.Display1.MultiTouch", touch_vtable,
						&f->peer) >= 0);
	assert(sd_bus_start(f->peer.bus) >= 0);

	assert(sd_bus_new(&f->client) >= 0);
	assert(sd_bus_set_fd(f->client, fds[1], fds[1]) >= 0);
	assert(sd_bus_start(f->client) >= 0);

	f->input = qemu_input_create(f->client, NULL, PATH);
	assert(f->input != NULL);
	f->target = qemu_input_target(f->input);
	/* The properties read. */
	pump(f, idle);
	struct qemu_input_info info;
	qemu_input_get_info(f->input, &info);
	assert(info.absolute == absolute);
	assert(info.touch_slots == (touch ? max_slots : 0));
	assert(info.failed == 0);
}

static void teardown(struct fixture *f)
{
	qemu_input_destroy(f->input);
	sd_bus_flush_close_unref(f->client);
	sd_bus_flush_close_unref(f->peer.bus);
}

/* A key press that closes a sequence: what came before it is all that came. */
static void sentinel(struct fixture *f)
{
	f->target->impl->key(f->target, 0, KEY_Z, true);
	f->target->impl->key(f->target, 0, KEY_Z, false);
}

static bool sentinel_seen(struct fixture *f)
{
	size_t n = f->peer.n_records;
	return n >= 1 && f->peer.records[n - 1].iface == KEYBOARD &&
	       strcmp(f->peer.records[n - 1].member, "Release") == 0 &&
	       f->peer.records[n - 1].u[0] == 0x2c && idle(f);
}

/* Records up to the sentinel, which must close them. */
static size_t until_sentinel(struct fixture *f)
{
	sentinel(f);
	pump(f, sentinel_seen);
	assert(f->peer.n_records >= 2);
	return f->peer.n_records - 2;
}

static void expect(const struct record *r, enum iface iface, const char *member, uint32_t u0)
{
	if (r->iface != iface || strcmp(r->member, member) != 0 || r->u[0] != u0) {
		fprintf(stderr, "got %d %s %u, expected %d %s %u\n", r->iface, r->member, r->u[0],
			iface, member, u0);
		abort();
	}
	assert(!r->refused);
}

static void expect_abs(const struct record *r, uint32_t x, uint32_t y)
{
	expect(r, MOUSE, "SetAbsPosition", x);
	assert(r->u[1] == y);
}

static void expect_rel(const struct record *r, int32_t dx, int32_t dy)
{
	assert(r->iface == MOUSE && strcmp(r->member, "RelMotion") == 0);
	if (r->i[0] != dx || r->i[1] != dy) {
		fprintf(stderr, "RelMotion %d,%d, expected %d,%d\n", r->i[0], r->i[1], dx, dy);
		abort();
	}
	assert(!r->refused);
}

static void expect_touch(const struct record *r, uint32_t kind, uint64_t slot, double x, double y)
{
	expect(r, TOUCH, "SendEvent", kind);
	assert(r->slot == slot);
	assert(r->d[0] == x && r->d[1] == y);
}

static void test_keys(void)
{
	struct fixture f;
	setup(&f, true, 10, true);
	const struct input_target_impl *impl = f.target->impl;

	const uint32_t held[] = {KEY_LEFTSHIFT};
	impl->keyboard_enter(f.target, held, 1);
	impl->key(f.target, 0, KEY_A, true);
	impl->key(f.target, 0, KEY_A, false);
	impl->key(f.target, 0, KEY_UP, true);
	impl->key(f.target, 0, KEY_KPENTER, true);
	impl->key(f.target, 0, KEY_KPENTER, false);
	/* No QEMU number: dropped. */
	impl->key(f.target, 0, KEY_MACRO, true);
	/* Never pressed: no release. */
	impl->key(f.target, 0, KEY_B, false);
	struct qemu_input_info info;
	qemu_input_get_info(f.input, &info);
	assert(info.keys_held == 2);
	const uint32_t leave[] = {KEY_LEFTSHIFT, KEY_UP, KEY_MACRO};
	impl->keyboard_leave(f.target, leave, 3);
	qemu_input_get_info(f.input, &info);
	assert(info.keys_held == 0);

	size_t n = until_sentinel(&f);
	assert(n == 8);
	const struct record *r = f.peer.records;
	expect(&r[0], KEYBOARD, "Press", 0x2a);
	expect(&r[1], KEYBOARD, "Press", 0x1e);
	expect(&r[2], KEYBOARD, "Release", 0x1e);
	expect(&r[3], KEYBOARD, "Press", 0xc8);
	expect(&r[4], KEYBOARD, "Press", 0x9c);
	expect(&r[5], KEYBOARD, "Release", 0x9c);
	expect(&r[6], KEYBOARD, "Release", 0x2a);
	expect(&r[7], KEYBOARD, "Release", 0xc8);
	qemu_input_get_info(f.input, &info);
	assert(info.failed == 0 && info.dropped == 0);
	teardown(&f);
}

static size_t n_destroy;

static bool destroy_seen(struct fixture *f)
{
	return f->peer.n_records >= n_destroy;
}

static void test_destroy(void)
{
	struct fixture f;
	setup(&f, true, 10, true);
	const struct input_target_impl *impl = f.target->impl;

	impl->keyboard_enter(f.target, NULL, 0);
	impl->key(f.target, 0, KEY_LEFTCTRL, true);
	impl->key(f.target, 0, KEY_DELETE, true);
	impl->pointer_enter(f.target, 5, 6);
	impl->button(f.target, 0, BTN_LEFT, true);
	impl->button(f.target, 0, BTN_RIGHT, true);
	impl->button(f.target, 0, BTN_TASK, true);
	impl->touch_down(f.target, 0, 7, 1.5, 2.5);
	size_t n = until_sentinel(&f);
	assert(n == 6);
	f.peer.n_records = 0;

	qemu_input_destroy(f.input);
	f.input = NULL;
	n_destroy = 5;
	/* Nothing in flight any more: run until the releases arrived. */
	uint64_t deadline = now_ns() + 10 * UINT64_C(1000000000);
	while (!destroy_seen(&f)) {
		while (sd_bus_process(f.client, NULL) > 0)
			;
		while (sd_bus_process(f.peer.bus, NULL) > 0)
			;
		if (destroy_seen(&f))
			break;
		assert(now_ns() < deadline);
		struct pollfd fds[2] = {
			{.fd = sd_bus_get_fd(f.client),
			 .events = (short)sd_bus_get_events(f.client)},
			{.fd = sd_bus_get_fd(f.peer.bus),
			 .events = (short)sd_bus_get_events(f.peer.bus)},
		};
		assert(poll(fds, 2, 100) >= 0);
	}
	const struct record *r = f.peer.records;
	expect(&r[0], KEYBOARD, "Release", 0x1d);
	expect(&r[1], KEYBOARD, "Release", 0xd3);
	expect(&r[2], MOUSE, "Release", 0);
	expect(&r[3], MOUSE, "Release", 2);
	expect_touch(&r[4], 3, 0, 1.5, 2.5);
	teardown(&f);
}

static void test_absolute(void)
{
	struct fixture f;
	setup(&f, true, 10, true);
	const struct input_target_impl *impl = f.target->impl;

	impl->pointer_enter(f.target, 10.7, 20.2);
	impl->motion(f.target, 0, -3.5, 5.9);
	impl->motion(f.target, 0, 100.2, 200.9);
	/* No RelMotion in absolute mode. */
	impl->relative_motion(f.target, 0, 5, 5);
	impl->button(f.target, 0, BTN_MIDDLE, true);
	impl->button(f.target, 0, BTN_MIDDLE, false);
	impl->button(f.target, 0, BTN_SIDE, true);
	impl->button(f.target, 0, BTN_SIDE, false);
	impl->button(f.target, 0, BTN_EXTRA, true);
	impl->button(f.target, 0, BTN_EXTRA, false);
	impl->button(f.target, 0, BTN_TASK, true);
	impl->button(f.target, 0, BTN_TASK, false);
	/* Not pressed: no release. */
	impl->button(f.target, 0, BTN_LEFT, false);
	/* The wheel: a click down, two up, two halves down make one, none sideways. */
	impl->scroll(f.target, 0, INPUT_SCROLL_VERTICAL, 1, 120);
	impl->scroll(f.target, 0, INPUT_SCROLL_VERTICAL, -2, -240);
	impl->scroll(f.target, 0, INPUT_SCROLL_VERTICAL, 0.5, 60);
	impl->scroll(f.target, 0, INPUT_SCROLL_VERTICAL, 0.5, 60);
	impl->scroll(f.target, 0, INPUT_SCROLL_HORIZONTAL, 1, 120);
	impl->button(f.target, 0, BTN_LEFT, true);
	impl->pointer_leave(f.target, (const uint32_t[]){BTN_LEFT}, 1);

	size_t n = until_sentinel(&f);
	const struct record *r = f.peer.records;
	assert(n == 19);
	expect_abs(&r[0], 10, 20);
	expect_abs(&r[1], 0, 5);
	expect_abs(&r[2], 100, 200);
	expect(&r[3], MOUSE, "Press", 1);
	expect(&r[4], MOUSE, "Release", 1);
	expect(&r[5], MOUSE, "Press", 5);
	expect(&r[6], MOUSE, "Release", 5);
	expect(&r[7], MOUSE, "Press", 6);
	expect(&r[8], MOUSE, "Release", 6);
	expect(&r[9], MOUSE, "Press", 4);
	expect(&r[10], MOUSE, "Release", 4);
	expect(&r[11], MOUSE, "Press", 3);
	expect(&r[12], MOUSE, "Release", 3);
	expect(&r[13], MOUSE, "Press", 3);
	expect(&r[14], MOUSE, "Release", 3);
	expect(&r[15], MOUSE, "Press", 4);
	expect(&r[16], MOUSE, "Release", 4);
	expect(&r[17], MOUSE, "Press", 0);
	expect(&r[18], MOUSE, "Release", 0);

	/* An error reply is counted. */
	struct qemu_input_info info;
	qemu_input_get_info(f.input, &info);
	assert(info.failed == 0);
	f.peer.absolute = 0; /* without telling */
	impl->pointer_enter(f.target, 1, 1);
	until_sentinel(&f);
	qemu_input_get_info(f.input, &info);
	assert(info.failed == 1);
	teardown(&f);
}

static bool relative(struct fixture *f)
{
	struct qemu_input_info info;
	qemu_input_get_info(f->input, &info);
	return !info.absolute && info.in_flight == 0;
}

static bool absolute(struct fixture *f)
{
	struct qemu_input_info info;
	qemu_input_get_info(f->input, &info);
	return info.absolute && info.in_flight == 0;
}

static void test_relative(void)
{
	struct fixture f;
	setup(&f, true, 10, true);
	const struct input_target_impl *impl = f.target->impl;

	impl->pointer_enter(f.target, 100, 100);
	pump(&f, idle);
	assert(f.peer.n_records == 1);
	expect_abs(&f.peer.records[0], 100, 100);
	f.peer.n_records = 0;
	f.peer.absolute = 0;
	assert(sd_bus_emit_properties_changed(f.peer.bus, PATH, "org.qemu.Display1.Mouse",
					      "IsAbsolute", NULL) >= 0);
	pump(&f, relative);

	/* Differences of positions, fractions carried. */
	impl->motion(f.target, 0, 110, 95);
	impl->motion(f.target, 0, 110.5, 95);
	impl->motion(f.target, 0, 111, 95.25);
	impl->motion(f.target, 0, 110.25, 95.25);
	/* Once the caller gives the device's motion, that alone. */
	impl->relative_motion(f.target, 0, 3.5, -2);
	impl->motion(f.target, 0, 500, 500);
	impl->relative_motion(f.target, 0, 0.5, 0);
	impl->button(f.target, 0, BTN_RIGHT, true);
	impl->button(f.target, 0, BTN_RIGHT, false);

	size_t n = until_sentinel(&f);
	const struct record *r = f.peer.records;
	assert(n == 6);
	expect_rel(&r[0], 10, -5);
	expect_rel(&r[1], 1, 0);
	/* -0.75 + 3.5 and 0.25 - 2: the fractions carried into the device's motion */
	expect_rel(&r[2], 2, -1);
	expect_rel(&r[3], 1, 0);
	expect(&r[4], MOUSE, "Press", 2);
	expect(&r[5], MOUSE, "Release", 2);

	/* Back to absolute: the pointer's place at once. */
	f.peer.n_records = 0;
	f.peer.absolute = 1;
	assert(sd_bus_emit_properties_changed(f.peer.bus, PATH, "org.qemu.Display1.Mouse",
					      "IsAbsolute", NULL) >= 0);
	pump(&f, absolute);
	n = until_sentinel(&f);
	assert(n == 1);
	expect_abs(&f.peer.records[0], 500, 500);

	struct qemu_input_info info;
	qemu_input_get_info(f.input, &info);
	assert(info.failed == 0);
	teardown(&f);
}

static void test_touch(void)
{
	struct fixture f;
	setup(&f, true, 2, true);
	const struct input_target_impl *impl = f.target->impl;

	impl->touch_down(f.target, 0, 5, 10.5, 20.25);
	impl->touch_down(f.target, 0, 9, 1, 2);
	/* Both slots taken: dropped, and so are its motion and up. */
	impl->touch_down(f.target, 0, 20, 3, 3);
	impl->touch_frame(f.target);
	impl->touch_motion(f.target, 0, 5, 11, 21);
	impl->touch_motion(f.target, 0, 20, 4, 4);
	impl->touch_up(f.target, 0, 20);
	impl->touch_frame(f.target);
	impl->touch_up(f.target, 0, 5);
	impl->touch_down(f.target, 0, 12, 3, 4);
	impl->touch_cancel(f.target);
	/* Gone. */
	impl->touch_up(f.target, 0, 9);

	size_t n = until_sentinel(&f);
	const struct record *r = f.peer.records;
	assert(n == 7);
	expect_touch(&r[0], 0, 0, 10.5, 20.25);
	expect_touch(&r[1], 0, 1, 1, 2);
	expect_touch(&r[2], 1, 0, 11, 21);
	expect_touch(&r[3], 2, 0, 11, 21);
	expect_touch(&r[4], 0, 0, 3, 4);
	expect_touch(&r[5], 3, 0, 3, 4);
	expect_touch(&r[6], 3, 1, 1, 2);
	teardown(&f);
}

static void test_no_touch(void)
{
	struct fixture f;
	/* No MultiTouch: no slots, touch dropped, no failure counted. */
	setup(&f, true, 10, false);
	f.target->impl->touch_down(f.target, 0, 1, 1, 1);
	f.target->impl->touch_up(f.target, 0, 1);
	size_t n = until_sentinel(&f);
	assert(n == 0);
	struct qemu_input_info info;
	qemu_input_get_info(f.input, &info);
	assert(info.failed == 0);
	teardown(&f);
}

static bool final_position(struct fixture *f)
{
	if (!idle(f))
		return false;
	for (size_t i = f->peer.n_records; i-- > 0;) {
		const struct record *r = &f->peer.records[i];
		if (strcmp(r->member, "SetAbsPosition") == 0)
			return r->u[0] == 777 && r->u[1] == 555;
	}
	return false;
}

static void test_stalled_peer(void)
{
	struct fixture f;
	setup(&f, true, 10, true);
	const struct input_target_impl *impl = f.target->impl;
	impl->pointer_enter(f.target, 0, 0);
	pump(&f, idle);
	f.peer.n_records = 0;

	/* The peer reads nothing: motion is held back, the rest goes out. */
	f.peer_reads = false;
	uint64_t start = now_ns();
	for (int i = 0; i < 10000; i++)
		impl->motion(f.target, 0, i % 1000 + 0.5, i % 700 + 0.5);
	impl->motion(f.target, 0, 777.5, 555.5);
	impl->key(f.target, 0, KEY_A, true);
	impl->key(f.target, 0, KEY_A, false);
	assert(now_ns() - start < UINT64_C(2000000000));
	struct qemu_input_info info;
	qemu_input_get_info(f.input, &info);
	assert(info.in_flight == 64 + 2);
	assert(info.coalesced >= 10000 - 64);
	assert(info.dropped == 0);

	f.peer_reads = true;
	pump(&f, final_position);
	size_t moves = 0;
	bool press = false, release = false;
	for (size_t i = 0; i < f.peer.n_records; i++) {
		const struct record *r = &f.peer.records[i];
		if (strcmp(r->member, "SetAbsPosition") == 0)
			moves++;
		else if (r->iface == KEYBOARD && r->u[0] == 0x1e)
			*(strcmp(r->member, "Press") == 0 ? &press : &release) = true;
		assert(!r->refused);
	}
	assert(moves < 100);
	assert(press && release);

	/* Far too many: everything beyond the bound is dropped, nothing waits. */
	f.peer_reads = false;
	f.peer.n_records = 0;
	start = now_ns();
	for (int i = 0; i < 1500; i++) {
		impl->key(f.target, 0, KEY_A, true);
		impl->key(f.target, 0, KEY_A, false);
	}
	assert(now_ns() - start < UINT64_C(2000000000));
	qemu_input_get_info(f.input, &info);
	assert(info.in_flight == 1024);
	assert(info.dropped > 0);
	f.peer_reads = true;
	pump(&f, idle);
	assert(f.peer.n_records == 1024);
	teardown(&f);
}

int main(void)
{
	test_keys();
	test_destroy();
	test_absolute();
	test_relative();
	test_touch();
	test_no_touch();
	test_stalled_peer();
	return 0;
}
