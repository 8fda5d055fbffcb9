/* SPDX-License-Identifier: ISC */
/*
 * test_delivery.c - result lines: round trips, and rejection of
 * everything malformed (local delivery jobs: test_local_job.c).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "unit.h"

#define ID	"1NHGJV18FQF0GJK"	/* a real queueid_new() id */

static void
test_result_round_trip(void)
{
	struct delivery_result r, back;
	char	 line[4096];

	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	r.index = 3;
	r.status = DELIVER_OK;
	strcpy(r.dsn, "2.0.0");
	strcpy(r.relay, "mx.example.org[192.0.2.1]:25");
	strcpy(r.reply, "250 2.0.0 Ok: queued as X+Y=Z");
	CHECK(delivery_result_format(&r, line, sizeof(line)) == 0);
	CHECK_STR(line, "result " ID " 3 ok 2.0.0 mx.example.org[192.0.2.1]:25"
	    " 250+202.0.0+20Ok:+20queued+20as+20X+2BY+3DZ\n");
	CHECK(delivery_result_parse(line, &back) == 0);
	CHECK_STR(back.id, ID);
	CHECK(back.index == 3 && back.status == DELIVER_OK);
	CHECK_STR(back.relay, r.relay);
	CHECK_STR(back.reply, r.reply);

	r.status = DELIVER_PERMFAIL;
	strcpy(r.dsn, "5.1.10");
	r.relay[0] = '\0';
	strcpy(r.reply, "-");
	CHECK(delivery_result_format(&r, line, sizeof(line)) == 0);
	CHECK_STR(line, "result " ID " 3 fail 5.1.10 - +2D\n");
	CHECK(delivery_result_parse(line, &back) == 0);
	CHECK(back.status == DELIVER_PERMFAIL);
	CHECK_STR(back.relay, "");
	CHECK_STR(back.reply, "-");
	/* without the newline too */
	CHECK(delivery_result_parse("result " ID " 0 defer 4.4.1 - -", &back)
	    == 0);
	CHECK(back.status == DELIVER_TEMPFAIL);
}

static void
test_result_rejects(void)
{
	struct delivery_result r;
	const char *bad[] = {
		"",
		"\n",
		"result " ID " 0 ok 2.0.0 -\n",
		"result " ID " 0 ok 2.0.0 - - extra\n",
		"result " ID " 0 sent 2.0.0 - -\n",
		"result " ID " -1 ok 2.0.0 - -\n",
		"result " ID " 01 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0 - -\n",
		"result " ID " 0 ok 3.0.0 - -\n",
		"result " ID " 0 ok 2.0.1000 - -\n",
		"result " ID "  0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - -\n\n",
		"result ../../etc 0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - a+0Ab\n",
		"result " ID " 0 ok 2.0.0 - a+zz\n",
		"result " ID " 0 ok 2.0.0 - a=b\n",
		"reslt " ID " 0 ok 2.0.0 - -\n",
		" result " ID " 0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - - \n",
		"result " ID " 99999999999999999999 ok 2.0.0 - -\n",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (delivery_result_parse(bad[i], &r) != -1) {
			printf("  accepted: %s", bad[i]);
			CHECK(0);
		}
	}
	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	strcpy(r.dsn, "2.0.0");
	r.status = 7;
	CHECK(delivery_result_format(&r, (char[256]){0}, 256) == -1);
}

static void
test_result_send(void)
{
	struct delivery_result r, back;
	int	 p[2];
	char	 buf[4096];
	ssize_t	 n;

	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	strcpy(r.dsn, "4.4.1");
	r.status = DELIVER_TEMPFAIL;
	memset(r.reply, '\n', sizeof(r.reply) - 1);	/* worst case size */
	memset(r.relay, 0xff, sizeof(r.relay) - 1);
	CHECK(pipe(p) == 0);
	if (delivery_result_send(p[1], &r) == -1) {
		CHECK(0);	/* never block on the read below */
		close(p[0]);
		close(p[1]);
		return;
	}
	n = read(p[0], buf, sizeof(buf) - 1);
	CHECK(n > 0 && n < 4096 && buf[n - 1] == '\n');
	buf[n > 0 ? n : 0] = '\0';
	/* control bytes go out as spaces: the reader takes what was sent */
	CHECK(delivery_result_parse(buf, &back) == 0);
	CHECK(strspn(back.reply, " ") == sizeof(r.reply) - 1);
	r.reply[0] = 0x7f;
	CHECK(delivery_result_format(&r, buf, sizeof(buf)) == 0);
	CHECK(delivery_result_parse(buf, &back) == 0 && back.reply[0] == ' ');
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	RUN(test_result_round_trip);
	RUN(test_result_rejects);
	RUN(test_result_send);
	return unit_done();
}
