/* SPDX-License-Identifier: ISC */
/* test_dsn.c - RFC 3463 enhanced status codes: check, span, class. */
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "unit.h"

static void
test_valid(void)
{
	const char *good[] = { "2.0.0", "4.4.1", "5.1.1", "4.5.300",
		"5.999.999", "2.10.0" };
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!dsn_is_valid(good[i])) {
			printf("  refused: %s\n", good[i]);
			CHECK(0);
		}
	}
}

/* Class 2, 4, 5 only; 1 to 3 digits; no leading zero (RFC 3463 2). */
static void
test_invalid(void)
{
	const char *bad[] = { "", "2", "2.0", "2.0.", "2..0", ".2.0.0",
		"3.0.0", "1.0.0", "0.0.0", "6.1.1", "22.0.0", "4.4.1.1",
		"2.0.1000", "2.1000.0", "2.01.1", "2.1.05", "2.00.0",
		"x.4.1", "4.4.x", " 4.4.1", "4.4.1 ", "4. 4.1", "4.+4.1",
		"4.-4.1", "5.1.1\n" };
	size_t	 i;

	CHECK(!dsn_is_valid(NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dsn_is_valid(bad[i])) {
			printf("  accepted: \"%s\"\n", bad[i]);
			CHECK(0);
		}
	}
}

static void
test_span(void)
{
	CHECK(dsn_span("5.1.1 no such user") == 5);
	CHECK(dsn_span("4.5.300") == 7);
	CHECK(dsn_span("2.0.0\n") == 5);
	CHECK(dsn_span("2.1.05 Ok") == 0);
	CHECK(dsn_span("5.01.1 no") == 0);
	CHECK(dsn_span("2.0.1000") == 0);
	CHECK(dsn_span("250 ok") == 0);
	CHECK(dsn_span("") == 0);
	CHECK(dsn_span(NULL) == 0);
	/* The span ends at the digits; what follows is the caller's. */
	CHECK(dsn_span("2.0.0x") == 5);
}

static void
test_class(void)
{
	CHECK(dsn_class("2.0.0") == 2);
	CHECK(dsn_class("4.4.7") == 4);
	CHECK(dsn_class("5.1.1") == 5);
	CHECK(dsn_class("3.0.0") == 0);
	CHECK(dsn_class("5.01.1") == 0);
	CHECK(dsn_class("") == 0);
	CHECK(dsn_class(NULL) == 0);
	CHECK_STR(dsn_generic(2), "2.0.0");
	CHECK_STR(dsn_generic(4), "4.0.0");
	CHECK_STR(dsn_generic(5), "5.0.0");
	CHECK(dsn_generic(3) == NULL && dsn_generic(0) == NULL);
	CHECK(dsn_is_valid(dsn_generic(4)));
}

int
main(void)
{
	RUN(test_valid);
	RUN(test_invalid);
	RUN(test_span);
	RUN(test_class);
	return unit_done();
}
