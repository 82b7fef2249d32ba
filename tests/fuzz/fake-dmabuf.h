/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_FUZZ_FAKE_DMABUF_H
#define VSCANOUT_TESTS_FUZZ_FAKE_DMABUF_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Memfds that pass for dma-bufs, so that buffer descriptions reach the
 * checks and the copy path on a machine without any exporter. A target
 * linked with -Wl,--wrap=fstatfs64,--wrap=ioctl (fake_dmabuf_dep in
 * meson.build) sees every fstatfs() and ioctl() of the code under test:
 * fstatfs() of a fake dma-buf (any fd to the same file, duplicates and fds
 * passed over a socket included) reports the dma-buf file system, and
 * DMA_BUF_IOCTL_SYNC on one succeeds, or fails with EIO when the target
 * asks. Everything else goes to the C library.
 */

/* At most this many fake dma-bufs exist at a time. */
#define FAKE_DMABUF_MAX 16

/*
 * A new fake dma-buf of size bytes (a sparse memfd; reads past size fault,
 * mappings are page-granular): an owned O_CLOEXEC fd, or -1 when the table
 * is full or the memfd cannot be made.
 */
int fake_dmabuf_create(uint64_t size);

/* Forget every fake dma-buf (their fds are closed by whoever holds them). */
void fake_dmabuf_reset(void);

/* The next DMA_BUF_IOCTL_SYNC fails with EIO when fail is true. */
void fake_dmabuf_fail_sync(bool fail);

/* How many fds this process has open (counted in /proc/self/fd). */
int fake_dmabuf_count_fds(void);

#endif
