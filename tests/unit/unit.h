/* SPDX-License-Identifier: ISC */
/*
 * unit.h - the smallest test harness that works: CHECK() records a
 * failure with file:line and goes on; each test binary prints one
 * "PASS name" or "FAIL name" line per test and exits non-zero on any
 * failure.  tests/run.py counts those lines.
 *
 *	static void test_foo(void) { CHECK(1 + 1 == 2); }
 *	int main(void) { RUN(test_foo); return unit_done(); }
 */
#ifndef TERN_UNIT_H
#define TERN_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_now, unit_failures, unit_passes;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("  %s:%d: CHECK(%s) failed\n", __FILE__,		\
		    __LINE__, #cond);					\
		unit_failed_now = 1;					\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ == NULL || strcmp(g_, w_) != 0) {			\
		printf("  %s:%d: got \"%s\", want \"%s\"\n", __FILE__,	\
		    __LINE__, g_ ? g_ : "(null)", w_);			\
		unit_failed_now = 1;					\
	}								\
} while (0)

#define RUN(fn) do {							\
	unit_failed_now = 0;						\
	fn();								\
	printf("%s %s\n", unit_failed_now ? "FAIL" : "PASS", #fn);	\
	if (unit_failed_now)						\
		unit_failures++;					\
	else								\
		unit_passes++;						\
	fflush(stdout);							\
} while (0)

static inline int
unit_done(void)
{
	return unit_failures ? 1 : 0;
}

#endif
