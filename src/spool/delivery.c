/* SPDX-License-Identifier: ISC */
/*
 * delivery.c - the two small wire formats between the queue runner, the
 * master and the delivery agents.
 *
 * Result line, agent -> queue runner (one write(2) each, under PIPE_BUF):
 *
 *	result ID INDEX ok|defer|fail DSN RELAY REPLY\n
 *
 * RELAY and REPLY are xtext, "-" when empty (a literal "-" is "+2D").
 *
 * Local delivery needs no request of its own here: the queue runner
 * forks the local agent with the job in memory (no size limit), and the
 * agent sends the master one fixed-size job per target (local_job.h).
 */
#include <sys/types.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "dsn.h"
#include "envelope.h"
#include "spool.h"
#include "text.h"

#define INDEX_MAX		1000000
#define RESULT_LINE_MAX		4096

static const char *const status_words[] = { "ok", "defer", "fail" };

void
delivery_job_free(struct delivery_job *job)
{
	free(job->rcpt);
	job->rcpt = NULL;
	job->nrcpt = 0;
}

int
delivery_is_text_char(int c)
{
	return !text_is_ctl(c);
}

void
delivery_text_sanitise(char *s)
{
	for (; *s != '\0'; s++)
		if (!delivery_is_text_char(*s))
			*s = ' ';
}

/*
 * field_encode - xtext, "-" for empty, "+2D" for a literal "-"; a byte
 * field_decode() would refuse becomes a space first, so every line this
 * side writes is one the other side reads.
 */
static int
field_encode(const char *in, char *out, size_t outlen)
{
	char	 text[1024];

	if (*in == '\0' || strcmp(in, "-") == 0)
		return snprintf(out, outlen, "%s", *in ? "+2D" : "-") <
		    (int)outlen ? 0 : -1;
	if (snprintf(text, sizeof(text), "%s", in) >= (int)sizeof(text))
		return -1;
	delivery_text_sanitise(text);
	return xtext_encode(text, out, outlen);
}

/* field_decode - inverse of field_encode; every byte a text char */
static int
field_decode(const char *in, char *out, size_t outlen)
{
	const char *p;

	if (strcmp(in, "-") == 0) {
		if (outlen == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	if (!xtext_is_valid(in) || xtext_decode(in, out, outlen) == -1)
		return -1;
	for (p = out; *p != '\0'; p++)
		if (!delivery_is_text_char(*p))
			return -1;
	return 0;
}

/* number - strict decimal without sign or leading zeros, <= max */
static int
number(const char *s, long max, long *out)
{
	char	*end;

	if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1] != '\0'))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || *out > max ? -1 : 0;
}

int
delivery_result_format(const struct delivery_result *r, char *buf,
    size_t len)
{
	char	 relay[sizeof(r->relay) * 3], reply[sizeof(r->reply) * 3];
	int	 n;

	if (r->status < DELIVER_OK || r->status > DELIVER_PERMFAIL ||
	    !queueid_valid(r->id) || !dsn_is_valid(r->dsn) ||
	    field_encode(r->relay, relay, sizeof(relay)) == -1 ||
	    field_encode(r->reply, reply, sizeof(reply)) == -1) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "result %s %zu %s %s %s %s\n", r->id, r->index,
	    status_words[r->status], r->dsn, relay, reply);
	if (n < 0 || (size_t)n >= len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
delivery_result_parse(const char *line, struct delivery_result *r)
{
	char	 buf[RESULT_LINE_MAX], *f[8], *p, *save;
	size_t	 len = strlen(line), n = 0;
	long	 index;

	memset(r, 0, sizeof(*r));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strchr(buf, '\n') != NULL || strstr(buf, "  ") != NULL ||
	    buf[0] == ' ' || buf[len - 1] == ' ')
		return -1;
	for (p = strtok_r(buf, " ", &save); p != NULL && n < 8;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 7 || strcmp(f[0], "result") != 0 ||
	    !queueid_valid(f[1]) || number(f[2], INDEX_MAX, &index) == -1 ||
	    !dsn_is_valid(f[4]) || strlen(f[4]) >= sizeof(r->dsn))
		return -1;
	for (r->status = DELIVER_OK; r->status <= DELIVER_PERMFAIL; r->status++)
		if (strcmp(f[3], status_words[r->status]) == 0)
			break;
	if (r->status > DELIVER_PERMFAIL ||
	    field_decode(f[5], r->relay, sizeof(r->relay)) == -1 ||
	    field_decode(f[6], r->reply, sizeof(r->reply)) == -1)
		return -1;
	snprintf(r->id, sizeof(r->id), "%s", f[1]);
	snprintf(r->dsn, sizeof(r->dsn), "%s", f[4]);
	r->index = (size_t)index;
	return 0;
}

int
delivery_result_send(int fd, const struct delivery_result *r)
{
	char	 buf[RESULT_LINE_MAX];
	size_t	 len;
	ssize_t	 n;

	if (delivery_result_format(r, buf, sizeof(buf)) == -1)
		return -1;
	len = strlen(buf);
	do
		n = write(fd, buf, len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
