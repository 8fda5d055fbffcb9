/* SPDX-License-Identifier: ISC */
/* test_date.c - the RFC 5322 date-time of headers and notices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "unit.h"

/* in_zone - date_rfc5322(t) with TZ set to tz; a static buffer */
static const char *
in_zone(const char *tz, time_t t)
{
	static char buf[64];

	setenv("TZ", tz, 1);
	tzset();
	date_rfc5322(t, buf, sizeof(buf));
	return buf;
}

/* UTC, zones east and west, and one with a half hour. */
static void
test_zones(void)
{
	CHECK_STR(in_zone("UTC", 0), "Thu, 01 Jan 1970 00:00:00 +0000");
	CHECK_STR(in_zone("UTC", 1764135101),
	    "Wed, 26 Nov 2025 05:31:41 +0000");
	CHECK_STR(in_zone("EST5", 0), "Wed, 31 Dec 1969 19:00:00 -0500");
	CHECK_STR(in_zone("IST-5:30", 0), "Thu, 01 Jan 1970 05:30:00 +0530");
}

/* The same text as strftime(3) in the C locale gave for Date:. */
static void
test_as_strftime(void)
{
	char	 buf[64], want[64];
	time_t	 t;
	struct tm tm;

	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	for (t = 0; t < 4000000000LL; t += 86400 * 37 + 3601) {
		localtime_r(&t, &tm);
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S %z", &tm);
		date_rfc5322(t, buf, sizeof(buf));
		if (strcmp(buf, want) != 0) {
			printf("  got \"%s\", want \"%s\"\n", buf, want);
			CHECK(0);
			break;
		}
	}
}

int
main(void)
{
	RUN(test_zones);
	RUN(test_as_strftime);
	return unit_done();
}
