/* SPDX-License-Identifier: ISC */
/*
 * remote_io.c - the SMTP client's wire level: connect with a timeout,
 * send a command, read a (multiline) reply, stream the message body.
 *
 *	remote_connect(r, ss)			fd or -1
 *	remote_command(r, rp, stage, fmt, ...)	one line out, one reply in
 *	remote_read_reply(r, rp, stage)		RFC 5321 section 4.2
 *	remote_reencode_plan(fp, body, &ll, ...)	lines over 998 octets?
 *	remote_send_body(r, fp, body, ll)	dot-stuffed, RFC 5321 4.5.2
 *	remote_end_data(r, rp)			the end of data, its reply
 *
 * Every failure of the connection itself (refused, timeout, lost, 421,
 * malformed reply) is recorded with remote_fail_conn() and returns -1;
 * the caller then leaves its undecided recipients for the next host.
 * A reply may have 100 lines of up to 1000 octets, and 64 KiB in all;
 * a longer one is malformed, and a line is judged too long by its first
 * 1000 octets, so a hostile server's endless line or endless reply costs
 * a bounded read, never a wait for its end.  Every wait, the connect
 * included, ends at the attempt's deadline (r->deadline_ms,
 * smtp_attempt_timeout).  When the end of data went out and no reply
 * came back (lost, timed out, malformed), the server may have the
 * message: the reason says "message may be sent more than once".
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "dsn.h"
#include "iobuf.h"
#include "log.h"
#include "longline.h"
#include "remote_priv.h"

#define REPLY_LINE_MAX	1000	/* RFC 5321 4.5.3.1.5: 512, be lenient */
#define REPLY_LINES_MAX	100
#define REPLY_BYTES_MAX	65536	/* all the lines of one reply */

/* remote_fail_conn - remember a connection-level error for the end */
void
remote_fail_conn(struct remote *r, const char *dsn, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(r->last_dsn, sizeof(r->last_dsn), "%s", dsn);
	r->last_dsn[0] = '4';
	snprintf(r->last_relay, sizeof(r->last_relay), "%s", r->relay);
	snprintf(r->last_tls, sizeof(r->last_tls), "%s", r->tls_proto[0] ?
	    r->tls_proto : "none");
	va_start(ap, fmt);
	vsnprintf(r->last_reply, sizeof(r->last_reply), fmt, ap);
	va_end(ap);
	log_info("%s", r->last_reply);
}

/*
 * reply_dsn - the enhanced status code a reply's text starts with, or
 * C.0.0.  It must be of the reply's class (RFC 3463 section 2, RFC 2034
 * section 4) and be followed by a space or the end of the line.
 */
static void
reply_dsn(struct reply *rp)
{
	const char *t = rp->text;
	size_t	 n = dsn_span(t);

	snprintf(rp->dsn, sizeof(rp->dsn), "%d.0.0", rp->code / 100);
	if (n == 0 || t[0] - '0' != rp->code / 100 ||
	    (t[n] != ' ' && t[n] != '\0' && t[n] != '\n'))
		return;
	snprintf(rp->dsn, sizeof(rp->dsn), "%.*s", (int)n, t);
}

/* reply_add_line - append one reply line; -1 if it is not "NNN[ -]..." */
static int
reply_add_line(struct reply *rp, char *line, size_t len, int *last)
{
	size_t	 used = strlen(rp->text), i;
	int	 code;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (rp->code != 0 && code != rp->code)
		return -1;
	rp->code = code;
	*last = len == 3 || line[3] == ' ';
	line += len > 3 ? 4 : 3;
	len -= len > 3 ? 4 : 3;
	/* a NUL must not hide the rest of the text: it becomes a space */
	if (used > 0 && used + 1 < sizeof(rp->text))
		rp->text[used++] = '\n';
	for (i = 0; i < len && used + 1 < sizeof(rp->text); i++)
		rp->text[used++] = line[i] == '\0' ? ' ' : line[i];
	rp->text[used] = '\0';
	return 0;
}

/*
 * remote_is_slowdown - the server asks us to come back later for the
 * whole destination: a 421 (it closes the connection), or a 450, 451 or
 * 452 with a 4.7.x status and words of rate or load ("rate", "too
 * many", "slow", "throttl", "limit"), as Postfix and OpenSMTPD read
 * them.  A greylisting 450 4.7.1 has none of those words and stays the
 * one recipient's deferral.
 */
static int
remote_is_slowdown(const struct reply *rp)
{
	static const char *const words[] = { "rate", "too many", "slow",
	    "throttl", "limit" };
	char	 low[sizeof(rp->text)];
	size_t	 i;

	if (rp->code == 421)
		return 1;
	if ((rp->code != 450 && rp->code != 451 && rp->code != 452) ||
	    strncmp(rp->dsn, "4.7.", 4) != 0)
		return 0;
	for (i = 0; rp->text[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)rp->text[i]);
	low[i] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * remote_slowdown - tell the queue runner, once per agent ("throttle
 * REASON" on the result pipe, before the results it explains), so that
 * it backs off from the destination; this agent starts no new
 * transaction and tries no other host (remote.c).
 */
static void
remote_slowdown(struct remote *r, const struct reply *rp)
{
	char	 line[700];
	int	 n;

	if (r->throttled)
		return;
	r->throttled = 1;
	n = snprintf(line, sizeof(line), "throttle host %.200s said: %.400s\n",
	    r->relay, rp->line);
	if (n > 0 && write(r->result_fd, line, (size_t)n) != n)
		log_warn("%s: cannot report the slow-down", r->domain);
	/* the reason of what this agent leaves undecided (a 421 is
	 * recorded so by read_reply() itself) */
	if (rp->code != 421)
		remote_fail_conn(r, rp->dsn, "host %s said: %s (asked to slow "
		    "down)", r->relay, rp->line);
}

/*
 * read_reply - one whole reply; -1 on a connection-level failure, whose
 * reason ends with note (but not a 421's: the server refused, in words).
 * A line is taken with iobuf_getchunk() up to REPLY_LINE_MAX octets: one
 * that has no LF by then is too long, and the reply malformed at once.
 */
static int
read_reply(struct remote *r, struct reply *rp, const char *stage,
    const char *note)
{
	char	*line;
	ssize_t	 n;
	size_t	 bytes = 0;
	int	 last = 0, i;

	memset(rp, 0, sizeof(*rp));
	for (i = 0; i < REPLY_LINES_MAX && !last; i++) {
		if ((n = iobuf_getchunk(r->io, REPLY_LINE_MAX, &line)) != -1)
			;
		else if (r->io->status == IOBUF_TIMEOUT && r->deadline_ms > 0
		    && iobuf_now_ms() >= r->deadline_ms) {
			remote_fail_conn(r, "4.4.7", "conversation with %s "
			    "reached smtp_attempt_timeout (%llds) while %s%s",
			    r->relay, r->conf->smtp_attempt_timeout, stage,
			    note);
			return -1;
		} else {
			remote_fail_conn(r, "4.4.2", r->io->status ==
			    IOBUF_TIMEOUT ? "conversation with %s timed out "
			    "while %s%s" : "lost connection with %s while %s%s",
			    r->relay, stage, note);
			return -1;
		}
		bytes += (size_t)n;
		if (line[n - 1] != '\n' || bytes > REPLY_BYTES_MAX ||
		    reply_add_line(rp, line, (size_t)n, &last) == -1)
			break;
	}
	if (!last) {
		remote_fail_conn(r, "4.5.0", "malformed reply from %s while "
		    "%s%s", r->relay, stage, note);
		return -1;
	}
	reply_dsn(rp);
	snprintf(rp->line, sizeof(rp->line), "%d %.500s", rp->code, rp->text);
	delivery_text_sanitise(rp->line);
	if (remote_is_slowdown(rp))
		remote_slowdown(r, rp);
	if (rp->code == 421) {
		remote_fail_conn(r, rp->dsn, "host %s said: %s (while %s)",
		    r->relay, rp->line, stage);
		return -1;
	}
	return 0;
}

/* remote_read_reply - one whole reply; -1 on a connection-level failure */
int
remote_read_reply(struct remote *r, struct reply *rp, const char *stage)
{
	return read_reply(r, rp, stage, "");
}

/* remote_command - send one command line and read its reply */
int
remote_command(struct remote *r, struct reply *rp, const char *stage,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = iobuf_vprintf(r->io, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		remote_fail_conn(r, "4.4.2", "lost connection with %s while %s",
		    r->relay, stage);
		return -1;
	}
	return remote_read_reply(r, rp, stage);
}

/* remote_connect - non-blocking connect with connect_timeout; fd or -1 */
int
remote_connect(struct remote *r, const struct sockaddr_storage *ss)
{
	struct pollfd pfd;
	socklen_t len = ss->ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	long long left;
	int	 fd, error = 0, n;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	left = r->deadline_ms - iobuf_now_ms();
	if (left > r->conf->connect_timeout * 1000)
		left = r->conf->connect_timeout * 1000;
	while ((n = poll(&pfd, 1, left > 0 ? (int)left : 0)) == -1 &&
	    errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	else if (n == 1) {
		len = sizeof(error);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
		    error == 0)
			return fd;
		errno = error;
	}
fail:
	error = errno;
	if (fd != -1)
		close(fd);
	remote_fail_conn(r, "4.4.1", "connect to %s: %s", r->relay,
	    strerror(error));
	return -1;
}

/* The dot-stuffing writer (RFC 5321 section 4.5.2); bare LF sent as CRLF. */
struct stuffer {
	struct iobuf	*io;
	int		 bol, prev;
	int		 failed;
};

static int
stuff_put(void *arg, const char *p, size_t n)
{
	struct stuffer *st = arg;
	char	 out[8192 * 2];
	size_t	 i, o, k;

	for (; n > 0; p += k, n -= k) {
		k = n < sizeof(out) / 2 ? n : sizeof(out) / 2;
		for (o = 0, i = 0; i < k; i++) {
			if (st->bol && p[i] == '.')
				out[o++] = '.';
			if (p[i] == '\n' && st->prev != '\r')
				out[o++] = '\r';
			out[o++] = p[i];
			st->bol = p[i] == '\n';
			st->prev = (unsigned char)p[i];
		}
		if (iobuf_write(st->io, out, o) == -1) {
			st->failed = 1;
			return -1;
		}
	}
	return 0;
}

static int
count_put(void *arg, const char *p, size_t n)
{
	(void)p;
	*(long long *)arg += (long long)n;
	return 0;
}

/*
 * body_pass - the message at offset body through ll, or fn when ll is
 * NULL.  -1 when they failed, -2 when the file could not be read.
 */
static int
body_pass(FILE *fp, long body, struct longline *ll, longline_put *fn,
    void *arg)
{
	char	 in[8192];
	size_t	 n;

	if (fseek(fp, body, SEEK_SET) == -1)
		return -2;
	while ((n = fread(in, 1, sizeof(in), fp)) > 0)
		if ((ll != NULL ? longline_write(ll, in, n) : fn(arg, in, n))
		    == -1)
			return -1;
	if (ferror(fp))
		return -2;
	return ll != NULL ? longline_end(ll) : 0;
}

static int
scan_put(void *arg, const char *p, size_t n)
{
	return longline_scan(arg, p, n) ? -1 : 0;
}

/*
 * remote_reencode_plan - NULL into *llp when no line passes 998 octets;
 * else both learning passes, and *size becomes what will be sent.
 */
int
remote_reencode_plan(FILE *fp, long body, struct longline **llp,
    long long *size, char *err, size_t errlen, int *permanent)
{
	struct longline_scan sc = { 0, 0 };
	struct longline *ll = NULL;
	int	 rc;

	*llp = NULL;
	*permanent = 0;
	if ((rc = body_pass(fp, body, NULL, scan_put, &sc)) == 0 &&
	    !longline_scan(&sc, "\n", 1))
		return 0;
	if (rc == -2 || (ll = longline_new()) == NULL)
		goto fail;
	*size = 0;
	longline_begin(ll, 0, NULL, NULL);
	if ((rc = body_pass(fp, body, ll, NULL, NULL)) == 0) {
		longline_begin(ll, 1, count_put, size);
		rc = body_pass(fp, body, ll, NULL, NULL);
	}
	if (rc == 0) {
		*llp = ll;
		return 0;
	}
fail:
	if (rc == -2 || ll == NULL)
		snprintf(err, errlen, "cannot read the queue file: %s",
		    strerror(errno));
	else
		snprintf(err, errlen, "%s", longline_error(ll, permanent));
	longline_free(ll);
	return -1;
}

/* body_failed - the connection failed while the body was going out */
static void
body_failed(struct remote *r)
{
	remote_fail_conn(r, "4.4.2", r->io->status == IOBUF_TIMEOUT ?
	    "conversation with %s timed out while sending the message body" :
	    "lost connection with %s while sending the message body",
	    r->relay);
}

/*
 * remote_send_body - the message (re-encoded through ll when not NULL)
 * dot-stuffed, then the end-of-data line, left in the output buffer for
 * remote_end_data().  -1 on a connection error (recorded), -2 when the
 * queue file could not be read or re-encoded.
 */
int
remote_send_body(struct remote *r, FILE *fp, long body, struct longline *ll)
{
	struct stuffer st = { r->io, 1, 0, 0 };
	int	 rc;

	if (ll != NULL)
		longline_begin(ll, 1, stuff_put, &st);
	if ((rc = body_pass(fp, body, ll, stuff_put, &st)) != 0) {
		if (st.failed)
			body_failed(r);
		return st.failed ? -1 : -2;
	}
	if ((!st.bol && iobuf_write(r->io, st.prev == '\r' ? "\n" : "\r\n",
	    st.prev == '\r' ? 1 : 2) == -1) ||
	    iobuf_write(r->io, ".\r\n", 3) == -1) {
		body_failed(r);
		return -1;
	}
	return 0;
}

/*
 * spoke_early - the server sent something before the end of data went
 * out: a reply, or the end of the connection.  Plaintext only looks at
 * the socket too; under TLS only what is buffered counts, since a TLS
 * record (a session ticket) may arrive that carries no reply.
 */
static int
spoke_early(struct remote *r)
{
	struct pollfd pfd = { .fd = r->io->infd, .events = POLLIN };

	if (r->io->end > r->io->start)
		return 1;
	return r->io->tls == NULL && poll(&pfd, 1, 0) == 1;
}

/*
 * remote_end_data - after remote_send_body(): 0 and the reply to the end
 * of data in rp; 1 when the server replied before the end of data (rp),
 * which is then never sent, so an honest server keeps nothing; -1 on a
 * connection failure, recorded.  Once the end has gone out, a lost or
 * timed-out or malformed reply leaves the server perhaps holding the
 * message, and its reason says so (as Postfix's does).
 */
int
remote_end_data(struct remote *r, struct reply *rp)
{
	if (spoke_early(r)) {
		r->io->outlen = 0;	/* the rest and the end: not sent */
		if (read_reply(r, rp, "sending the message body", "") == -1)
			return -1;
		return 1;
	}
	if (iobuf_flush(r->io) == -1) {
		body_failed(r);
		return -1;
	}
	if (read_reply(r, rp, "sending end of data",
	    " -- message may be sent more than once") == -1)
		return -1;
	return 0;
}
