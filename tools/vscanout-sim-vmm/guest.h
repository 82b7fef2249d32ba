/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SIM_VMM_GUEST_H
#define VSCANOUT_SIM_VMM_GUEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM as a VMM holds it: one sealed memfd (it cannot shrink, as
 * udmabuf demands), mapped once. Framebuffers are page-aligned slices of it
 * that the guest draws into; each is exported as a dma-buf through
 * /dev/udmabuf, so vscanoutd scans out the guest's own pages.
 */
struct guest_ram {
	int memfd;    /* owned, O_CLOEXEC */
	int udmabuf;  /* owned, O_CLOEXEC: /dev/udmabuf, -1 until needed */
	uint8_t *map; /* the whole memfd, shared mapping */
	size_t size;  /* bytes, a multiple of the page size */
	size_t used;  /* bytes handed out by guest_ram_alloc() */
};

/*
 * Create guest RAM of at least size bytes (rounded up to pages). Returns 0
 * or a negative errno.
 */
int guest_ram_init(struct guest_ram *ram, size_t size);

/* Unmap and close everything. Safe on a zeroed struct with fds -1. */
void guest_ram_finish(struct guest_ram *ram);

/*
 * Hand out size bytes (rounded up to pages) of guest RAM at a page-aligned
 * offset, written to *offset. Returns 0 or -ENOSPC.
 */
int guest_ram_alloc(struct guest_ram *ram, size_t size, size_t *offset);

/*
 * A new dma-buf fd (O_CLOEXEC, owned by the caller) for the bytes
 * [offset, offset + size) of guest RAM, both page-aligned. Returns the fd,
 * -ENOENT when /dev/udmabuf does not exist (modprobe udmabuf), or another
 * negative errno.
 */
int guest_ram_export(struct guest_ram *ram, size_t offset, size_t size);

/* Round size up to whole pages. */
size_t guest_ram_page_align(size_t size);

#endif
