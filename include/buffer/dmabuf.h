/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_BUFFER_DMABUF_H
#define VSCANOUT_BUFFER_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/fourcc.h"

/*
 * The description of a dma-buf image: what a VMM or a VFIO device hands
 * over, checked here before anything touches the kernel.
 */

/* Largest width and height accepted, in pixels. */
#define DMABUF_MAX_DIMENSION 16384
/*
 * Where a plane may end at most (offset + stride × rows, in bytes): 2 GiB,
 * so that every offset into it fits the int that pixman's copy path uses.
 */
#define DMABUF_MAX_PLANE_END ((uint64_t)INT32_MAX)

struct dmabuf_attributes {
	uint32_t width, height;    /* pixels, 1..DMABUF_MAX_DIMENSION */
	uint32_t fourcc;           /* DRM_FORMAT_*, see util/fourcc.h */
	uint64_t modifier;         /* DRM_FORMAT_MOD_*, DRM_FORMAT_MOD_INVALID when implicit */
	unsigned int n_planes;     /* must equal the format's plane count */
	int fd[FOURCC_MAX_PLANES]; /* owned, O_CLOEXEC; -1 when unused. Planes may share
				      one dma-buf through several fds */
	uint32_t offset[FOURCC_MAX_PLANES]; /* bytes from the start of the dma-buf */
	uint32_t stride[FOURCC_MAX_PLANES]; /* bytes per row */
};

/* Empty attributes: everything 0, every fd -1, modifier INVALID. */
void dmabuf_attributes_init(struct dmabuf_attributes *attrs);

/*
 * Validate attrs without touching any DRM device: the format is known,
 * width and height are in 1..DMABUF_MAX_DIMENSION, n_planes matches the
 * format, and for each plane the fd is a dma-buf (checked with fstatfs(),
 * which works for every exporter; regular files, memfds, pipes, sockets and
 * DRM device fds are rejected), stride >= width × bytes per pixel, and
 * offset + stride × rows fits in the dma-buf's size (lseek(fd, 0, SEEK_END))
 * and in DMABUF_MAX_PLANE_END.
 * Fds are borrowed, never closed or moved; their file offsets are not used
 * (the size query leaves them changed, which dma-bufs ignore).
 *
 * Returns 0, or -EINVAL with a message naming the field, e.g.
 *   "plane 0: stride 4000 is smaller than width 1024 × 4 bytes",
 *   "format 0x12345678 is not supported",
 *   "plane 0: fd 5 is not a dma-buf".
 * The message is written into msg (msg_size bytes; 256 is plenty) when msg
 * is not NULL, for the caller to report (a protocol error); when msg is NULL
 * it is logged as a warning instead.
 */
int dmabuf_attributes_check(const struct dmabuf_attributes *attrs, char *msg, size_t msg_size);

/*
 * Copy src into dst, duplicating every fd with F_DUPFD_CLOEXEC (src keeps
 * its own). Returns 0, or a negative errno with dst left empty (as after
 * dmabuf_attributes_init()).
 */
int dmabuf_attributes_dup(struct dmabuf_attributes *dst, const struct dmabuf_attributes *src);

/*
 * Close the fds attrs owns and reset it as dmabuf_attributes_init() does.
 * Safe on empty attributes; an fd shared by several planes through the
 * same number is closed once.
 */
void dmabuf_attributes_finish(struct dmabuf_attributes *attrs);

/* True when fd (borrowed) refers to a dma-buf. */
bool dmabuf_fd_is_dmabuf(int fd);

/*
 * Implicit synchronisation: a producer (a GPU, or a client through
 * DMA_BUF_IOCTL_IMPORT_SYNC_FILE or a driver ioctl) may attach write fences
 * to a dma-buf; until they signal, its pixels are still being written.
 * DMA_BUF_IOCTL_SYNC waits for them, for as long as they take (a driver's
 * fence may take seconds to time out), so the daemon never issues it on a
 * dma-buf whose fences have not signalled: it asks first, without waiting.
 *
 * The first plane fd of attrs whose write fences have not all signalled
 * (poll() for POLLIN with timeout 0: a dma-buf is readable once they have),
 * or -1 when every plane may be read now. Never waits. An fd that poll()
 * reports an error on counts as readable (the read then reports the error).
 * Fds are borrowed.
 */
int dmabuf_attributes_busy_fd(const struct dmabuf_attributes *attrs);

/* Whether the write fences of dma-buf fd (borrowed) have all signalled; never waits. */
bool dmabuf_fd_readable(int fd);

/*
 * A read-only CPU mapping of one plane of a dma-buf, for the copy path.
 * Reads must be bracketed by dmabuf_mapping_begin_read() and
 * dmabuf_mapping_end_read(), which issue DMA_BUF_IOCTL_SYNC so that caches
 * and the exporter's view are coherent.
 */
struct dmabuf_mapping {
	int fd;    /* borrowed from the attributes: must outlive the mapping */
	void *map; /* the mmap, page aligned; NULL when not mapped */
	size_t map_size;
	const void *data; /* first byte of the plane: map + the plane's offset */
	uint32_t stride;  /* bytes per row of the plane */
	bool reading;     /* between begin_read and end_read */
};

/*
 * Map plane `plane` of attrs read-only (PROT_READ, MAP_SHARED), from offset 0
 * to offset + stride × rows. attrs should have passed
 * dmabuf_attributes_check(). The fd is borrowed: it is not duplicated.
 * Returns 0, -EINVAL for a plane attrs lacks, or the negative errno of mmap.
 */
int dmabuf_mapping_init(struct dmabuf_mapping *mapping, const struct dmabuf_attributes *attrs,
			unsigned int plane);

/* Unmap; safe on a zeroed mapping. Ends a read still in progress. */
void dmabuf_mapping_finish(struct dmabuf_mapping *mapping);

/* How long dmabuf_sync_read_start() lets the kernel wait for fences. */
#define DMABUF_SYNC_WAIT_NS (2 * 1000 * 1000)

/*
 * DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ on dma-buf
 * fd (borrowed), waiting at most DMABUF_SYNC_WAIT_NS for write fences: a
 * one-shot timer signal (SIGRTMIN, aimed at the calling thread, whose
 * handler the first call installs) interrupts a longer wait. Returns 0,
 * -EAGAIN when a fence did not signal in time (the read has not begun), or
 * the ioctl's negative errno.
 */
int dmabuf_sync_read_start(int fd);

/*
 * Begin a read: dmabuf_sync_read_start(), issued only when the dma-buf's
 * write fences have signalled (dmabuf_fd_readable()), so that it does cache
 * maintenance; a fence added after that check holds it up for at most
 * DMABUF_SYNC_WAIT_NS. Returns 0 or a negative errno: -EAGAIN when a write
 * fence has not signalled (the read has not begun; try again once the fd
 * polls readable), -EBUSY when a read is already in progress.
 */
int dmabuf_mapping_begin_read(struct dmabuf_mapping *mapping);

/* DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ. Returns 0 or a negative errno. */
int dmabuf_mapping_end_read(struct dmabuf_mapping *mapping);

#endif
