/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_FUZZ_INPUT_H
#define VSCANOUT_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* The fuzzer's input, consumed from the front by take(). */
struct input {
	const uint8_t *data;
	size_t size;
};

/* The next `bytes` bytes (at most 8), big-endian; zeros once the input is used up. */
static inline uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->size > 0) {
			v |= *in->data++;
			in->size--;
		}
	}
	return v;
}

#endif
