/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_BUFFER_UDMABUF_H
#define VSCANOUT_TESTS_BUFFER_UDMABUF_H

#include <stddef.h>
#include <stdint.h>

#include "buffer/dmabuf.h"

/*
 * Test dma-bufs from the process' own memory: a sealed memfd turned into a
 * dma-buf by /dev/udmabuf. The test writes pixels through `map` (the memfd's
 * mapping) and hands `fd` (the dma-buf) to the code under test.
 */
struct test_udmabuf {
	int memfd;
	int fd;    /* the dma-buf, O_CLOEXEC */
	void *map; /* read-write mapping of the memfd */
	size_t size;
};

/* Create one of at least `size` bytes (rounded up to pages); exits 77 without udmabuf. */
void test_udmabuf_create(struct test_udmabuf *u, size_t size);

void test_udmabuf_destroy(struct test_udmabuf *u);

/*
 * Attributes of a 1-plane image in u, with a duplicate of u->fd (owned by
 * the attributes).
 */
struct dmabuf_attributes test_udmabuf_attrs(const struct test_udmabuf *u, uint32_t width,
					    uint32_t height, uint32_t fourcc, uint32_t stride);

#endif
