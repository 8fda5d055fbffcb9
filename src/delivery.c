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
 * Local delivery request, queue runner -> master: one sendmsg(2) on a
 * SOCK_SEQPACKET socket, so one message is one job and a short or long
 * message is an error; the result fd rides along with SCM_RIGHTS:
 *
 *	id ID\n
 *	rcpt INDEX NOTIFY ADDR ORCPT\n		one per recipient, 1..1000
 *
 * INDEX and NOTIFY (the NOTIFY_* bits) are decimal, ADDR and ORCPT
 * xtext, ORCPT "-" when absent.  The master runs as root and the queue
 * runner does not, so delivery_request_recv() accepts exactly this and
 * nothing else: size, fd count, numbers, characters.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "fdpass.h"
#include "envelope.h"
#include "spool.h"

#define REQUEST_MAX		65536
#define REQUEST_RCPT_MAX	1000
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
	return (unsigned char)c >= 0x20 && (unsigned char)c != 0x7f;
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

/* dsn_ok - "C.SSS.DDD" with C in 2, 4, 5 (RFC 3463 section 2) */
static int
dsn_ok(const char *s)
{
	size_t	 n;
	int	 part;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	s++;
	for (part = 0; part < 2; part++) {
		if (*s++ != '.')
			return 0;
		n = strspn(s, "0123456789");
		if (n < 1 || n > 3 || (n > 1 && s[0] == '0'))
			return 0;
		s += n;
	}
	return *s == '\0';
}

int
delivery_result_format(const struct delivery_result *r, char *buf,
    size_t len)
{
	char	 relay[sizeof(r->relay) * 3], reply[sizeof(r->reply) * 3];
	int	 n;

	if (r->status < DELIVER_OK || r->status > DELIVER_PERMFAIL ||
	    !spool_is_valid_id(r->id) || !dsn_ok(r->dsn) ||
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
	    !spool_is_valid_id(f[1]) || number(f[2], INDEX_MAX, &index) == -1 ||
	    !dsn_ok(f[4]) || strlen(f[4]) >= sizeof(r->dsn))
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

/* request_format - the job as text; its length or -1 */
static int
request_format(const struct delivery_job *job, char *buf, size_t len)
{
	char	 addr[ADDR_MAX * 3], orcpt[ADDR_MAX * 3];
	size_t	 i, off;
	int	 n;

	if (!spool_is_valid_id(job->id) || job->nrcpt == 0 ||
	    job->nrcpt > REQUEST_RCPT_MAX)
		return -1;
	off = (size_t)snprintf(buf, len, "id %s\n", job->id);
	for (i = 0; i < job->nrcpt; i++) {
		if (job->rcpt[i].addr[0] == '\0' ||
		    job->rcpt[i].index > INDEX_MAX ||
		    job->rcpt[i].notify < 0 || job->rcpt[i].notify > 15 ||
		    field_encode(job->rcpt[i].addr, addr, sizeof(addr)) == -1 ||
		    field_encode(job->rcpt[i].orcpt, orcpt, sizeof(orcpt)) == -1)
			return -1;
		n = snprintf(buf + off, len - off, "rcpt %zu %d %s %s\n",
		    job->rcpt[i].index, job->rcpt[i].notify, addr, orcpt);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return (int)off;
}

int
delivery_request_send(int sock, const struct delivery_job *job,
    int result_fd)
{
	char	*buf;
	int	 len, rc = -1;

	if ((buf = malloc(REQUEST_MAX)) == NULL)
		return -1;
	if ((len = request_format(job, buf, REQUEST_MAX)) == -1)
		errno = EINVAL;
	else
		rc = fdpass_send(sock, buf, (size_t)len, result_fd);
	free(buf);
	return rc;
}

/* request_rcpt - parse "rcpt INDEX NOTIFY ADDR ORCPT" into r */
static int
request_rcpt(char *line, struct delivery_rcpt *r)
{
	char	*f[6], *p, *save;
	size_t	 n = 0;
	long	 index, notify;

	for (p = strtok_r(line, " ", &save); p != NULL && n < 6;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 5 || strcmp(f[0], "rcpt") != 0 ||
	    number(f[1], INDEX_MAX, &index) == -1 ||
	    number(f[2], 15, &notify) == -1 ||
	    ((notify & NOTIFY_NEVER) && notify != NOTIFY_NEVER) ||
	    strcmp(f[3], "-") == 0 ||
	    field_decode(f[3], r->addr, sizeof(r->addr)) == -1 ||
	    field_decode(f[4], r->orcpt, sizeof(r->orcpt)) == -1)
		return -1;
	r->index = (size_t)index;
	r->notify = (int)notify;
	return 0;
}

/* request_parse - strict parse of the whole request text */
static int
request_parse(char *text, size_t len, struct delivery_job *job)
{
	char	*line, *nl;
	size_t	 i, j;

	if (len == 0 || text[len - 1] != '\n' || memchr(text, '\0', len) ||
	    strstr(text, "  ") != NULL || strstr(text, " \n") != NULL ||
	    strncmp(text, "id ", 3) != 0)
		return -1;
	nl = strchr(text, '\n');
	*nl = '\0';
	if (!spool_is_valid_id(text + 3))
		return -1;
	snprintf(job->id, sizeof(job->id), "%s", text + 3);
	if ((job->rcpt = calloc(REQUEST_RCPT_MAX, sizeof(*job->rcpt))) == NULL)
		return -1;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (job->nrcpt == REQUEST_RCPT_MAX ||
		    request_rcpt(line, &job->rcpt[job->nrcpt]) == -1)
			return -1;
		for (j = job->nrcpt, i = 0; i < j; i++)
			if (job->rcpt[i].index == job->rcpt[j].index)
				return -1;
		job->nrcpt++;
	}
	return job->nrcpt > 0 ? 0 : -1;
}

/*
 * delivery_request_recv - 0 with *job and *result_fd (caller owns both),
 * 1 at end of file, -1 on error; a malformed request is -1 with EBADMSG
 * and any descriptor that came with it closed.
 */
int
delivery_request_recv(int sock, struct delivery_job *job, int *result_fd)
{
	char	*buf;
	ssize_t	 n;
	int	 rc = -1;

	memset(job, 0, sizeof(*job));
	*result_fd = -1;
	if ((buf = malloc(REQUEST_MAX + 2)) == NULL)
		return -1;
	if ((n = fdpass_recv(sock, buf, REQUEST_MAX + 1, result_fd)) <= 0) {
		rc = n == 0 ? 1 : -1;
		goto done;
	}
	buf[n] = '\0';
	if (n > REQUEST_MAX || request_parse(buf, (size_t)n, job) == -1) {
		delivery_job_free(job);
		close(*result_fd);
		*result_fd = -1;
		errno = EBADMSG;
		goto done;
	}
	rc = 0;
done:
	free(buf);
	return rc;
}
