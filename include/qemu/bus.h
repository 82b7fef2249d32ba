/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_BUS_H
#define VSCANOUT_QEMU_BUS_H

#include <systemd/sd-bus.h>
#include <wayland-server-core.h>

/*
 * An sd-bus connection driven by the daemon's wl_event_loop: its fd is
 * watched for the events sd-bus asks for, its timeout is a loop timer,
 * and sd_bus_process() runs when either fires, a bounded number of
 * messages per dispatch so one busy peer cannot starve the loop (the rest
 * is taken at the next round). Nothing ever waits on the peer: every call
 * made on the connection must be asynchronous, and after making one the
 * caller kicks the watch (qemu_bus_kick()) so queued bytes get written.
 *
 * When the connection closes (the peer went away, or sent something
 * sd-bus refuses) `lost` is called once, from an idle callback of the
 * loop, never from within sd-bus: it may destroy the watch.
 */

struct qemu_bus;

typedef void (*qemu_bus_lost_fn)(void *data, int error);

/* Watch bus (a reference is taken; sd_bus_start() already called). NULL on failure. */
struct qemu_bus *qemu_bus_create(struct wl_event_loop *loop, sd_bus *bus, qemu_bus_lost_fn lost,
				 void *data);

/*
 * A peer-to-peer client connection on the socket fd (taken), to a peer
 * that authenticates as the server and may pass fds from its first call
 * on (QEMU): sd-bus is made and started here, the authentication is
 * carried as the top of bus.c says. NULL with *error (a positive errno)
 * on failure.
 */
struct qemu_bus *qemu_bus_create_peer(struct wl_event_loop *loop, int fd, qemu_bus_lost_fn lost,
				      void *data, int *error);

/* Close the connection without flushing (never waits) and free. NULL is a no-op. */
void qemu_bus_destroy(struct qemu_bus *watch);

/* Re-arm after messages were queued outside a dispatch of the watch. */
void qemu_bus_kick(struct qemu_bus *watch);

sd_bus *qemu_bus_get(struct qemu_bus *watch);

#endif
