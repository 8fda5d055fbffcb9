/* SPDX-License-Identifier: ISC */
/*
 * test_remote_io.c - the SMTP client's reply parser on a socketpair:
 * codes, multiline replies, enhanced status codes, and that the result
 * an agent makes of a reply is one the queue runner can read back (the
 * cases fuzz_reply found), NULs, and the bound on a line's length.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "iobuf.h"
#include "log.h"
#include "remote_priv.h"
#include "unit.h"

static struct iobuf io;

/* One reply read from len octets of text; its return value, *rp filled. */
static int
read_n(const char *text, size_t len, struct reply *rp)
{
	struct remote r;
	int	 sv[2], rc;

	memset(&r, 0, sizeof(r));
	snprintf(r.relay, sizeof(r.relay), "mx.test[192.0.2.1]:25");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -2;
	(void)write(sv[0], text, len);
	shutdown(sv[0], SHUT_WR);
	iobuf_init(&io, sv[1], sv[0], 1000);
	r.io = &io;
	rc = remote_read_reply(&r, rp, "testing");
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static int
read_one(const char *text, struct reply *rp)
{
	return read_n(text, strlen(text), rp);
}

/* result_reads_back - the agent's result for rp formats and parses */
static int
result_reads_back(const struct reply *rp, int status)
{
	struct delivery_result res, again;
	char	 line[4096];

	remote_result(&res, "0RB8KX2JZ5Q0A1X", 3, status, rp->dsn,
	    "mx.test[192.0.2.1]:25", rp->line);
	return delivery_result_format(&res, line, sizeof(line)) == 0 &&
	    delivery_result_parse(line, &again) == 0 &&
	    memcmp(&res, &again, sizeof(res)) == 0;
}

static void
test_replies(void)
{
	struct reply rp;

	CHECK(read_one("250-mx.test\r\n250-PIPELINING\r\n250 DSN\r\n",
	    &rp) == 0);
	CHECK(rp.code == 250);
	CHECK_STR(rp.text, "mx.test\nPIPELINING\nDSN");
	CHECK_STR(rp.line, "250 mx.test PIPELINING DSN");
	CHECK_STR(rp.dsn, "2.0.0");
	CHECK(read_one("550 5.1.1 <x@y>: no such user\r\n", &rp) == 0);
	CHECK_STR(rp.dsn, "5.1.1");
	CHECK(result_reads_back(&rp, DELIVER_PERMFAIL));
	CHECK(read_one("452 4.5.300 too many\r\n", &rp) == 0);
	CHECK_STR(rp.dsn, "4.5.300");
	CHECK(read_one("250-first\r\n550 second\r\n", &rp) == -1);
	CHECK(read_one("250 ok", &rp) == -1);		/* no line end */
}

/* A status code with a leading zero is not taken: the result line
 * would refuse it, and the runner would resend the message forever. */
static void
test_leading_zero_dsn(void)
{
	struct reply rp;

	CHECK(read_one("250 2.1.05 Ok\r\n", &rp) == 0);
	CHECK_STR(rp.dsn, "2.0.0");
	CHECK(result_reads_back(&rp, DELIVER_OK));
	CHECK(read_one("550 5.01.1 no\r\n", &rp) == 0);
	CHECK_STR(rp.dsn, "5.0.0");
	CHECK(result_reads_back(&rp, DELIVER_PERMFAIL));
	CHECK(read_one("250 2.0.0\r\n", &rp) == 0);
	CHECK_STR(rp.dsn, "2.0.0");
}

/* Every control byte of a reply, DEL too, is a space in its line. */
static void
test_control_bytes(void)
{
	struct reply rp;

	CHECK(read_one("250 2.0.0 queued\x7f as \x1b[1mX\r\n", &rp) == 0);
	CHECK_STR(rp.line, "250 2.0.0 queued  as  [1mX");
	CHECK(result_reads_back(&rp, DELIVER_OK));
	CHECK(read_one("451 4.3.0 a\tb\r\n", &rp) == 0);
	CHECK_STR(rp.line, "451 4.3.0 a b");
	CHECK(result_reads_back(&rp, DELIVER_TEMPFAIL));
}

/* A NUL hides nothing of the text after it. */
static void
test_nul_bytes(void)
{
	static const char text[] = "451 4.3.0 a\0b\0\r\n";
	struct reply rp;

	CHECK(read_n(text, sizeof(text) - 1, &rp) == 0);
	CHECK_STR(rp.line, "451 4.3.0 a b ");
	CHECK_STR(rp.dsn, "4.3.0");
}

/*
 * A line is judged by its first 1000 octets: 998 and CRLF are taken; one
 * more, or a line that never ends, is malformed once 1000 are read, and
 * nothing further is read (the buffer's read-ahead aside).
 */
static void
test_long_lines(void)
{
	static char text[8000];
	struct reply rp;

	memset(text, 'x', sizeof(text));
	memcpy(text, "250 ", 4);
	memcpy(text + 998, "\r\n", 2);
	CHECK(read_n(text, 1000, &rp) == 0 && rp.code == 250);
	memcpy(text + 998, "x\r\n", 3);
	CHECK(read_n(text, 1001, &rp) == -1);
	memset(text + 998, 'x', 3);
	CHECK(read_n(text, sizeof(text), &rp) == -1);
	CHECK(io.start == 1000);
}

int
main(void)
{
	log_init("test", 1);
	RUN(test_replies);
	RUN(test_leading_zero_dsn);
	RUN(test_control_bytes);
	RUN(test_nul_bytes);
	RUN(test_long_lines);
	return unit_done();
}
