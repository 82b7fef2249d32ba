/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_FEED_H
#define VSCANOUT_VFIO_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <wayland-server-core.h>

/*
 * A VFIO device feeding a vGPU: a VFIO display source (vfio/source.h) as
 * the vGPU's source (vgpu/vgpu.h). Its guest planes go to vgpu_show(),
 * scaled into each region; the vGPU's clock output paces its polls and
 * the frames presented there feed its pacer. The VMM hands the device
 * over (protocol/vgpu.c), or the daemon takes it from a running QEMU
 * (vfio/take.c); the feed applies the vGPU's poll= and edid=.
 */

struct config;
struct vfio_feed;
struct vfio_source;
struct vgpu;
struct vgpu_source;

/* The device is gone (message says why); the feed stays, idle, until destroyed. */
typedef void (*vfio_feed_lost_fn)(void *data, const char *message);

/*
 * Take the VFIO device fd (always: closed on failure) and make it vgpu's
 * source. NULL on failure, with the reason in msg.
 */
struct vfio_feed *vfio_feed_create(struct wl_event_loop *loop, const struct config *config,
				   struct vgpu *vgpu, int fd, vfio_feed_lost_fn lost, void *data,
				   char *msg, size_t msg_size);

/*
 * Stop feeding the vGPU: it shows nothing until its next source shows a
 * frame. The device is closed once its buffers left the screen. NULL is a
 * no-op.
 */
void vfio_feed_destroy(struct vfio_feed *feed);

struct vfio_source *vfio_feed_get_source(struct vfio_feed *feed);

/* Whether the device's planes are regions read by the CPU (mdpy), not dma-bufs. */
bool vfio_feed_is_region(const struct vfio_feed *feed);

/* The VFIO source of a vGPU's source, or NULL when that is not a VFIO feed. */
struct vfio_source *vfio_feed_source_of(struct vgpu_source *source);

#endif
