/* SPDX-License-Identifier: ISC */
/*
 * fuzz_reply.c - libFuzzer target for the SMTP client's reply parser,
 * remote_read_reply(): the input is what a remote server sends.  It is
 * written into one end of a socketpair, shut for writing, and read as
 * replies until the parser gives up.  Each reply must be a code from 200
 * to 599 with a well-formed enhanced status code, and what a delivery
 * agent makes of it (the result line sent to the queue runner, for an
 * accepted reply and for a connection-level failure alike) must format
 * and parse back unchanged: a result the runner cannot read makes it
 * send the message again on every retry.  See tests/fuzz/README.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "iobuf.h"
#include "log.h"
#include "remote_priv.h"

#define REPLIES_MAX	64
#define SOCKBUF		(1024 * 1024)

static struct iobuf io;

/* result_round_trip - the result a delivery agent would send */
static void
result_round_trip(int status, const char *dsn, const char *relay,
    const char *reply)
{
	struct delivery_result res, again;
	char	 line[4096];

	remote_result(&res, "0RB8KX2JZ5Q0A1X", 0, status, dsn, relay, reply);
	memset(&again, 0, sizeof(again));
	if (delivery_result_format(&res, line, sizeof(line)) == -1 ||
	    delivery_result_parse(line, &again) == -1 ||
	    memcmp(&res, &again, sizeof(res)) != 0)
		abort();
}

static void
check_reply(const struct remote *r, const struct reply *rp)
{
	int	 status;

	if (rp->code < 200 || rp->code > 599 || rp->dsn[0] == '\0' ||
	    rp->dsn[0] - '0' != rp->code / 100 ||
	    memchr(rp->text, '\0', sizeof(rp->text)) == NULL ||
	    strchr(rp->line, '\n') != NULL)
		abort();
	status = rp->code / 100 == 2 ? DELIVER_OK : rp->code / 100 == 5 ?
	    DELIVER_PERMFAIL : DELIVER_TEMPFAIL;
	result_round_trip(status, rp->dsn, r->relay, rp->line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct remote r;
	struct reply rp;
	int	 sv[2], big = SOCKBUF, i;

	if (size > SOCKBUF / 2)
		return 0;
	log_init("fuzz", 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (size > 0 && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	memset(&r, 0, sizeof(r));
	snprintf(r.relay, sizeof(r.relay), "mx.example.test[192.0.2.1]:25");
	iobuf_init(&io, sv[1], sv[0], 1000);
	r.io = &io;
	for (i = 0; i < REPLIES_MAX; i++) {
		if (remote_read_reply(&r, &rp, "sending RCPT TO") == -1)
			break;
		check_reply(&r, &rp);
	}
	/* What the agent reports for recipients left undecided. */
	if (r.last_reply[0] != '\0')
		result_round_trip(DELIVER_TEMPFAIL, r.last_dsn,
		    r.last_relay, r.last_reply);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
