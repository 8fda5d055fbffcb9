/* SPDX-License-Identifier: ISC */
/* test_retry.c - the retry, expiry and delay warning rule. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "retry.h"
#include "unit.h"

static void
test_retry_rule(void)
{
	struct config c;
	char	 err[256];
	time_t	 t0 = 1764135101;

	CHECK(config_parse_string(&c, "t.conf", "", err, sizeof(err)) == 0);
	/* every 30 minutes after the attempt */
	CHECK(retry_next_attempt(&c, t0, t0, 0) == t0 + 1800);
	CHECK(retry_next_attempt(&c, t0, t0 + 7200, 0) == t0 + 9000);
	/* never past expiry: five days */
	CHECK(retry_expiry(&c, t0, 0) == t0 + 5 * 86400);
	CHECK(retry_next_attempt(&c, t0, t0 + 5 * 86400 - 600, 0) ==
	    t0 + 5 * 86400);
	CHECK(!retry_is_expired(&c, t0, t0 + 5 * 86400 - 1, 0));
	CHECK(retry_is_expired(&c, t0, t0 + 5 * 86400, 0));
	CHECK(retry_next_attempt(&c, t0, t0 + 6 * 86400, 0) == t0 + 6 * 86400);
	/* delay notice after four hours */
	CHECK(!retry_warn_is_due(&c, t0, t0 + 4 * 3600 - 1));
	CHECK(retry_warn_is_due(&c, t0, t0 + 4 * 3600));
	config_free(&c);

	CHECK(config_parse_string(&c, "t.conf", "bounce_queue_lifetime = 1d\n"
	    "delay_warning = 0\nretry_interval = 1h\n", err, sizeof(err)) == 0);
	CHECK(retry_expiry(&c, t0, 1) == t0 + 86400);
	CHECK(retry_expiry(&c, t0, 0) == t0 + 5 * 86400);
	CHECK(retry_next_attempt(&c, t0, t0 + 86400 - 60, 1) == t0 + 86400);
	CHECK(retry_next_attempt(&c, t0, t0 + 86400 - 60, 0) ==
	    t0 + 86400 - 60 + 3600);
	CHECK(retry_is_expired(&c, t0, t0 + 86400, 1));
	CHECK(!retry_warn_is_due(&c, t0, t0 + 30 * 86400));
	config_free(&c);
}

int
main(void)
{
	RUN(test_retry_rule);
	return unit_done();
}
