/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_TESTS_UNIT_TEST_H
#define VSCANOUT_TESTS_UNIT_TEST_H

/*
 * Checks for unit tests: a failed check prints where and what, then aborts.
 * They do not depend on assert(), but tests must still never be built with
 * NDEBUG, so that code under test keeps its own assertions.
 */
#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#define check_int_eq(a, b)                                                                \
	do {                                                                              \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);           \
		if (check_a_ != check_b_) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_);          \
			abort();                                                          \
		}                                                                         \
	} while (0)

#define check_str_eq(a, b)                                                                     \
	do {                                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                                   \
		if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) { \
			fprintf(stderr, "%s:%d: check failed: %s == %s (\"%s\" != \"%s\")\n",  \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",    \
				check_b_ ? check_b_ : "(null)");                               \
			abort();                                                               \
		}                                                                              \
	} while (0)

#define check_contains(haystack, needle)                                                           \
	do {                                                                                       \
		const char *check_h_ = (haystack), *check_n_ = (needle);                           \
		if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL) {                      \
			fprintf(stderr, "%s:%d: check failed: \"%s\" contains \"%s\"\n", __FILE__, \
				__LINE__, check_h_ ? check_h_ : "(null)", check_n_);               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
