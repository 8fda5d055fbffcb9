/* SPDX-License-Identifier: ISC */
/*
 * fuzz_delivery.c - libFuzzer target for what crosses process lines in
 * delivery: the agent's result line (delivery_result_parse), the local
 * agent's job for the master (local_job_recv, fed through a
 * SOCK_SEQPACKET socketpair with two descriptors attached as the master
 * receives it), and the xtext and NOTIFY codings.  Whatever parses must
 * format and parse back to the same value, and any reply text an agent
 * formats (whatever its bytes) must parse.  See tests/fuzz/README.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery.h"
#include "envelope.h"
#include "fdpass.h"
#include "local_job.h"

#define REQUEST_LIMIT	(sizeof(struct local_job) + 16)

static int	 sv[2] = { -1, -1 };
static int	 devnull = -1;

static void
fuzz_result(const char *s)
{
	struct delivery_result r, again;
	char	 line[8192];

	if (delivery_result_parse(s, &r) == -1)
		return;
	if (delivery_result_format(&r, line, sizeof(line)) == -1 ||
	    delivery_result_parse(line, &again) == -1 ||
	    memcmp(&r, &again, sizeof(r)) != 0)
		abort();
}

/* fuzz_reply - a remote server's reply text, any bytes, as an agent sends */
static void
fuzz_reply(const char *s)
{
	struct delivery_result r, back;
	char	 line[8192];

	memset(&r, 0, sizeof(r));
	strcpy(r.id, "1NHGJV18FQF0GJK");	/* a real spool id */
	strcpy(r.dsn, "2.0.0");
	snprintf(r.relay, sizeof(r.relay), "%s", s);
	snprintf(r.reply, sizeof(r.reply), "%s", s);
	if (delivery_result_format(&r, line, sizeof(line)) == -1 ||
	    delivery_result_parse(line, &back) == -1)
		abort();
}

static void
fuzz_xtext(const char *s, size_t len)
{
	char	*enc, *dec;
	size_t	 cap = len * 3 + 1;

	enc = malloc(cap);
	dec = malloc(cap);
	if (enc == NULL || dec == NULL)
		goto done;
	if (xtext_encode(s, enc, cap) == -1 || !xtext_is_valid(enc) ||
	    xtext_decode(enc, dec, cap) == -1 || strcmp(s, dec) != 0)
		abort();
	if (xtext_decode(s, dec, cap) == 0) {
		if (!xtext_is_valid(s) || xtext_encode(dec, enc, cap) == -1)
			abort();
	} else if (xtext_is_valid(s))
		abort();
done:
	free(enc);
	free(dec);
}

static void
fuzz_notify(const char *s)
{
	char	 buf[64];
	int	 bits;

	if ((bits = notify_parse(s)) == -1)
		return;
	notify_format(bits, buf, sizeof(buf));
	if (notify_parse(buf) != bits)
		abort();
}

/* fuzz_job - a local delivery job as the master receives it (two fds) */
static void
fuzz_job(const uint8_t *data, size_t size)
{
	struct local_job job, again;
	int	 out[2] = { devnull, devnull }, fds[2];

	if (size == 0 || size > REQUEST_LIMIT)
		return;
	if (fdpass_sendv(sv[0], data, size, out, 2) == -1)
		abort();
	if (local_job_recv(sv[1], &job, fds) != 0)
		return;
	close(fds[0]);
	close(fds[1]);
	if (local_job_send(sv[0], &job, devnull, devnull) == -1 ||
	    local_job_recv(sv[1], &again, fds) != 0)
		abort();
	close(fds[0]);
	close(fds[1]);
	if (memcmp(&job, &again, sizeof(job)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;
	int	 big = (int)(4 * REQUEST_LIMIT);

	if (sv[0] == -1) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1 ||
		    (devnull = open("/dev/null", O_RDWR)) == -1)
			abort();
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_result(s);
	fuzz_reply(s);
	fuzz_xtext(s, size);
	fuzz_notify(s);
	fuzz_job(data, size);
	free(s);
	return 0;
}
