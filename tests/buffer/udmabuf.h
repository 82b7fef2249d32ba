/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_BUFFER_UDMABUF_H
#define VSCANOUT_TESTS_BUFFER_UDMABUF_H

#include <stddef.h>
#include <stdint.h>

#include "buffer/dmabuf.h"
#include "kmstest.h"

/*
 * Test dma-bufs from the process' own memory: a sealed memfd turned into a
 * dma-buf by /dev/udmabuf. The test writes pixels through `map` (the memfd's
 * mapping) and hands `fd` (the dma-buf) to the code under test.
 */
/*
 * Attributes of a 1-plane image in u, with a duplicate of u->fd (owned by
 * the attributes).
 */
struct dmabuf_attributes test_udmabuf_attrs(const struct kt_udmabuf *u, uint32_t width,
					    uint32_t height, uint32_t fourcc, uint32_t stride);

#endif
