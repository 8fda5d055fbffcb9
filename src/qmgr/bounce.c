/* SPDX-License-Identifier: ISC */
/*
 * bounce.c - compose and enqueue delivery status notifications.
 *
 * bounce_compose() writes an RFC 3464 multipart/report; bounce_enqueue()
 * stores it as a new queue file from <> to the original sender, and
 * announces it on the trigger FIFO only when asked (the queue runner
 * loads its own notices directly).
 *
 * The notice is built in memory first: a human-readable text/plain
 * part, a message/delivery-status part, and the returned original
 * (text/rfc822-headers, or message/rfc822 for failures with RET=FULL,
 * RFC 3461 section 4.3), at most BOUNCE_RETURN_MAX bytes of it.  Only
 * then is the MIME boundary chosen, one that occurs in none of the parts
 * (RFC 2046 section 5.1.1).
 *
 * Invariants: every line ends in CRLF and is at most 998 octets (RFC
 * 5322 section 2.1.1); text from the network or the spool (replies,
 * addresses, ids) is stripped of control characters before it enters a
 * header field, so it can never start a field of its own (the text
 * helpers that ensure this are in bounce_text.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "bounce_text.h"
#include "config.h"
#include "date.h"
#include "dsn.h"
#include "envelope.h"
#include "log.h"
#include "queuefile.h"
#include "queuefile.h"

#define BOUNDARY_TRIES	32
#define BOUNDARY_LEN	70		/* RFC 2046 5.1.1 */

enum bounce_kind { KIND_FAILED, KIND_DELAYED, KIND_SUCCESS };

/* The original message as it will be returned, CRLF-normalized. */
struct orig_copy {
	char	*buf;
	size_t	 len;
	size_t	 hdrlen;		/* the headers, without the blank line */
	int	 full;			/* buf holds the whole message */
};

/* State of the byte-wise copy of the original. */
struct copier {
	FILE	*out;
	size_t	 col;
	int	 in_headers;
};

static const char *const bounce_subject[] = {
	"Undelivered Mail Returned to Sender",
	"Delayed Mail (still being retried)",
	"Successful Mail Delivery Report"
};

static const char *const bounce_logname[] = {
	"sender non-delivery notification",
	"sender delay notification",
	"sender delivery status notification"
};

const char *
dsn_action_name(int action)
{
	static const char *const name[] = { "failed", "delayed",
		"delivered", "relayed", "expanded" };

	if (action < DSN_ACTION_FAILED || action > DSN_ACTION_EXPANDED)
		return name[0];
	return name[action];
}

static int
bounce_action_kind(int action)
{
	if (action == DSN_ACTION_DELAYED)
		return KIND_DELAYED;
	if (action == DSN_ACTION_FAILED)
		return KIND_FAILED;
	return KIND_SUCCESS;
}

/* The most serious kind present: it names the whole notice. */
static int
bounce_kind(const struct dsn_report *r, size_t n)
{
	int	 kind = KIND_SUCCESS, k;
	size_t	 i;

	for (i = 0; i < n; i++) {
		k = bounce_action_kind(r[i].action);
		if (k < kind)
			kind = k;
	}
	return kind;
}

static int
bounce_has_8bit(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			return 1;
	return 0;
}

/* The reported status, or X.0.0 by action when it is missing or bad. */
static const char *
bounce_status(const struct dsn_report *r)
{
	static const int class[] = { 5, 4, 2 };

	if (dsn_is_valid(r->status))
		return r->status;
	return dsn_generic(class[bounce_action_kind(r->action)]);
}

/*
 * Is the diagnostic a reply from the remote MTA ("550 5.1.1 ...")?  Only
 * then is it "host X said" and an smtp diagnostic (RFC 3464 2.3.6);
 * "connect to ...: Connection refused" is our own words.
 */
static int
bounce_is_reply(const struct dsn_report *r)
{
	const char *d = r->diagnostic;

	return r->remote_mta != NULL && d != NULL && d[0] >= '2' &&
	    d[0] <= '5' && isdigit((unsigned char)d[1]) &&
	    isdigit((unsigned char)d[2]) && (d[3] == ' ' || d[3] == '-' ||
	    d[3] == '\0');
}

/* The detail after "<rcpt>: " in the human-readable part. */
static void
bounce_human_detail(const struct dsn_report *r, char *out, size_t outlen)
{
	int	 said = bounce_is_reply(r);
	char	 host[256], diag[TEXT_MAX];
	const char *verb = "";

	bounce_sanitize(r->diagnostic, diag, sizeof(diag), 0);
	if (r->remote_mta != NULL)
		bounce_mta_name(r->remote_mta, host, sizeof(host));
	if (bounce_action_kind(r->action) == KIND_SUCCESS)
		verb = r->action == DSN_ACTION_RELAYED ? "relayed; " :
		    r->action == DSN_ACTION_EXPANDED ? "expanded; " :
		    "delivered; ";
	if (said)
		snprintf(out, outlen, "%shost %s said: %s", verb, host, diag);
	else if (diag[0] != '\0')
		snprintf(out, outlen, "%s%s", verb, diag);
	else if (r->remote_mta != NULL)
		snprintf(out, outlen, "%shost %s (status %s)", verb, host,
		    bounce_status(r));
	else
		snprintf(out, outlen, "%sstatus %s", verb, bounce_status(r));
}

static void
bounce_human_rcpt(FILE *out, const struct dsn_report *r)
{
	char	 rcpt[ADDR_MAX], detail[TEXT_MAX + 300], prefix[ADDR_MAX + 8];
	char	 date[64];

	bounce_sanitize(r->rcpt, rcpt, sizeof(rcpt), 1);
	snprintf(prefix, sizeof(prefix), "<%s>: ", rcpt);
	bounce_human_detail(r, detail, sizeof(detail));
	bounce_fold(out, prefix, detail, "    ");
	if (r->action == DSN_ACTION_FAILED && r->status != NULL &&
	    strcmp(r->status, "4.4.7") == 0)
		fputs("    Delivery time expired: the message stayed in the "
		    "queue too long.\r\n", out);
	if (r->action == DSN_ACTION_DELAYED && r->will_retry_until > 0) {
		date_rfc5322(r->will_retry_until, date, sizeof(date));
		fprintf(out, "    It will be retried until %s.\r\n", date);
	}
	fputs("\r\n", out);
}

static const char *const bounce_intro[] = {
	"Your message could not be delivered to the recipients listed "
	"below. The mail system has given up on them, for the reasons "
	"shown. For help, ask the postmaster of your own mail system and "
	"include this report.",
	"Your message has not yet reached the recipients listed below. "
	"You need not do anything: the mail system keeps trying until the "
	"time shown, and will write to you again if it has to give up.",
	"Your message reached the recipients listed below; this report "
	"was sent because you asked for one. A recipient marked relayed "
	"was handed to a system that sends no such reports; one marked "
	"expanded was a list or alias that passes the message on."
};

/* The text/plain part: one paragraph per kind present, then its list. */
static void
bounce_human(FILE *out, const struct config *cfg, const struct dsn_report *r,
    size_t n)
{
	char	 host[256];
	size_t	 i;
	int	 kind;

	bounce_sanitize(cfg->hostname, host, sizeof(host), 0);
	fprintf(out, "This is the mail system at host %s.\r\n\r\n", host);
	for (kind = KIND_FAILED; kind <= KIND_SUCCESS; kind++) {
		for (i = 0; i < n; i++)
			if (bounce_action_kind(r[i].action) == kind)
				break;
		if (i == n)
			continue;
		bounce_fold(out, "", bounce_intro[kind], "");
		fputs("\r\n", out);
		for (; i < n; i++)
			if (bounce_action_kind(r[i].action) == kind)
				bounce_human_rcpt(out, &r[i]);
	}
	fputs("                   The mail system\r\n", out);
}

/* RFC 3464 2.2: the per-message fields. */
static void
bounce_status_message(FILE *out, const struct config *cfg,
    const struct envelope *orig)
{
	char	 buf[TEXT_MAX], date[64];

	if (orig->envid[0] != '\0') {
		bounce_decoded(orig->envid, buf, sizeof(buf));
		bounce_field(out, "Original-Envelope-Id: ", buf, 0);
	}
	bounce_sanitize(cfg->hostname, buf, sizeof(buf), 0);
	fprintf(out, "Reporting-MTA: dns; %s\r\n", buf);
	bounce_field(out, "X-Tern-Queue-ID: ", orig->id, 0);
	bounce_sanitize(orig->sender[0] ? orig->sender : "<>", buf,
	    sizeof(buf), 1);
	bounce_fold(out, "X-Tern-Sender: rfc822; ", buf, BOUNCE_FOLD);
	if (orig->arrival > 0) {
		date_rfc5322(orig->arrival, date, sizeof(date));
		fprintf(out, "Arrival-Date: %s\r\n", date);
	}
}

static void
bounce_orcpt(FILE *out, const char *orcpt)
{
	char	 type[64], addr[TEXT_MAX], prefix[96];
	const char *semi;
	size_t	 tlen;

	if ((semi = strchr(orcpt, ';')) == NULL ||
	    (tlen = (size_t)(semi - orcpt)) == 0 || tlen >= sizeof(type))
		return;
	memcpy(type, orcpt, tlen);
	type[tlen] = '\0';
	bounce_sanitize(type, type, sizeof(type), 0);
	bounce_decoded(semi + 1, addr, sizeof(addr));
	snprintf(prefix, sizeof(prefix), "Original-Recipient: %s;", type);
	bounce_fold(out, prefix, addr, BOUNCE_FOLD);
}

/* RFC 3464 2.3: one block of per-recipient fields. */
static void
bounce_status_rcpt(FILE *out, const struct dsn_report *r)
{
	char	 buf[TEXT_MAX], date[64];

	fputs("\r\n", out);
	if (r->orcpt != NULL && r->orcpt[0] != '\0')
		bounce_orcpt(out, r->orcpt);
	bounce_field(out, "Final-Recipient: rfc822; ", r->rcpt, 1);
	fprintf(out, "Action: %s\r\n", dsn_action_name(r->action));
	fprintf(out, "Status: %s\r\n", bounce_status(r));
	if (r->remote_mta != NULL) {
		bounce_mta_name(r->remote_mta, buf, sizeof(buf));
		fprintf(out, "Remote-MTA: dns; %s\r\n", buf);
	}
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0')
		bounce_field(out, bounce_is_reply(r) ?
		    "Diagnostic-Code: smtp; " : "Diagnostic-Code: X-Tern; ",
		    r->diagnostic, 0);
	if (r->last_attempt > 0) {
		date_rfc5322(r->last_attempt, date, sizeof(date));
		fprintf(out, "Last-Attempt-Date: %s\r\n", date);
	}
	if (r->action == DSN_ACTION_DELAYED && r->will_retry_until > 0) {
		date_rfc5322(r->will_retry_until, date, sizeof(date));
		fprintf(out, "Will-Retry-Until: %s\r\n", date);
	}
}

/* Copy one byte of the original, breaking lines past 998 octets. */
static void
bounce_copy_byte(struct copier *cp, int c)
{
	if (cp->col >= LINE_MAX_OCTETS) {
		/* inside the header, the break must be a fold */
		fputs(cp->in_headers ? "\r\n " : "\r\n", cp->out);
		cp->col = cp->in_headers ? 1 : 0;
	}
	fputc(c == '\0' ? ' ' : c, cp->out);
	cp->col++;
}

/*
 * bounce_copy_lines - copy the original into cp->out with CRLF line
 * ends (a lone CR becomes a space) until EOF, the end of the header
 * when !want_full, or BOUNCE_RETURN_MAX input bytes.  Sets oc->hdrlen;
 * returns 1 when the whole message was copied, 0 when not, -1 on a
 * read error.
 */
static int
bounce_copy_lines(FILE *in, struct copier *cp, int want_full,
    struct orig_copy *oc)
{
	size_t	 raw = 0;
	int	 c, cr = 0;

	while ((c = getc(in)) != EOF) {
		if (++raw > BOUNCE_RETURN_MAX)
			return 0;
		if (cr && c != '\n')
			bounce_copy_byte(cp, ' ');
		if ((cr = (c == '\r')))
			continue;
		if (c != '\n') {
			bounce_copy_byte(cp, c);
			continue;
		}
		if (cp->in_headers && cp->col == 0) {
			oc->hdrlen = (size_t)ftello(cp->out);
			if (!want_full)
				return 0;
			cp->in_headers = 0;
		}
		fputs("\r\n", cp->out);
		cp->col = 0;
	}
	if (cr)
		bounce_copy_byte(cp, ' ');
	return ferror(in) ? -1 : 1;
}

/* bounce_read_original - fill oc; the caller frees oc->buf. */
static int
bounce_read_original(FILE *in, int want_full, struct orig_copy *oc)
{
	struct copier cp;
	int	 whole;

	memset(oc, 0, sizeof(*oc));
	if ((cp.out = open_memstream(&oc->buf, &oc->len)) == NULL)
		return -1;
	cp.col = 0;
	cp.in_headers = 1;
	whole = bounce_copy_lines(in, &cp, want_full, oc);
	if (cp.col > 0)
		fputs("\r\n", cp.out);
	if (cp.in_headers)
		oc->hdrlen = (size_t)ftello(cp.out);
	if (fclose(cp.out) == EOF || whole == -1) {
		free(oc->buf);
		oc->buf = NULL;
		return -1;
	}
	oc->full = want_full && whole == 1;
	if (!oc->full && oc->hdrlen < oc->len)
		oc->len = oc->hdrlen;
	return 0;
}

static int
bounce_contains(const char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

/*
 * bounce_boundary - "NEWID.TIME/HOST", or with a random tail if that
 * string occurs in any part; at most 70 characters of the RFC 2046
 * bchars.  -1 if no free boundary was found.
 */
static int
bounce_boundary(char out[BOUNDARY_LEN + 1], const char *newid, time_t now,
    const char *host, char *const part[3], const size_t len[3])
{
	char	 h[BOUNDARY_LEN + 1], b[256];
	int	 try, i, clash;
	size_t	 n;

	for (n = 0; host[n] != '\0' && n < BOUNDARY_LEN; n++)
		h[n] = isalnum((unsigned char)host[n]) ? host[n] : '.';
	h[n] = '\0';
	srandom((unsigned int)now ^ (unsigned int)getpid());
	for (try = 0; try < BOUNDARY_TRIES; try++) {
		if (try == 0)
			snprintf(b, sizeof(b), "%s.%lld/%s", newid,
			    (long long)now, h);
		else
			snprintf(b, sizeof(b), "%s.%lld.%08lx%08lx/%s", newid,
			    (long long)now, random(), random(), h);
		snprintf(out, BOUNDARY_LEN + 1, "%.70s", b);
		for (clash = 0, i = 0; i < 3; i++)
			clash |= bounce_contains(part[i], len[i], out);
		if (!clash)
			return 0;
	}
	errno = EEXIST;
	return -1;
}

/* The top-level header of the notice. */
static void
bounce_header(FILE *out, const char *rcpt, int kind, const char *newid,
    time_t now, const char *host, const char *boundary, int eightbit)
{
	char	 date[64], to[TEXT_MAX];

	date_rfc5322(now, date, sizeof(date));
	bounce_sanitize(rcpt, to, sizeof(to), 1);
	/* A trace field, as Postfix's bounce writes: the notice's origin. */
	fprintf(out, "Received: by %s (tern) id %s;\r\n\t%s\r\n", host,
	    newid, date);
	fprintf(out, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n",
	    host);
	fprintf(out, "To: <%s>\r\n", to);
	fprintf(out, "Subject: %s\r\n", bounce_subject[kind]);
	fprintf(out, "Date: %s\r\n", date);
	fprintf(out, "Message-ID: <%s.%lld@%s>\r\n", newid, (long long)now,
	    host);
	fprintf(out, "Auto-Submitted: auto-replied\r\n");
	fprintf(out, "MIME-Version: 1.0\r\n");
	fprintf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n", boundary);
	if (eightbit)
		fprintf(out, "Content-Transfer-Encoding: 8bit\r\n");
	fprintf(out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");
}

/* One body part: delimiter, its header, a blank line, the content. */
static void
bounce_part(FILE *out, const char *boundary, const char *desc,
    const char *type, const char *buf, size_t len)
{
	fprintf(out, "--%s\r\n", boundary);
	fprintf(out, "Content-Description: %s\r\n", desc);
	fprintf(out, "Content-Type: %s\r\n", type);
	if (bounce_has_8bit(buf, len))
		fprintf(out, "Content-Transfer-Encoding: 8bit\r\n");
	fputs("\r\n", out);
	fwrite(buf, 1, len, out);
	fputs("\r\n", out);
}

static const char *
bounce_orig_desc(int kind, int full)
{
	if (kind == KIND_FAILED)
		return full ? "Undelivered Message" :
		    "Undelivered Message Headers";
	if (kind == KIND_DELAYED)
		return "Delayed Message Headers";
	return "Message Headers";
}

/* Assemble the three parts, already in memory, into the notice. */
static int
bounce_assemble(FILE *out, const struct config *cfg, const char *to,
    int kind, const char *newid, time_t now, char *const part[3],
    const size_t len[3], int full)
{
	char	 host[256], boundary[BOUNDARY_LEN + 1];
	int	 eightbit = 0, i;

	bounce_sanitize(cfg->hostname, host, sizeof(host), 0);
	if (bounce_boundary(boundary, newid, now, host, part, len) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		eightbit |= bounce_has_8bit(part[i], len[i]);
	bounce_header(out, to, kind, newid, now, host, boundary,
	    eightbit);
	bounce_part(out, boundary, "Notification", bounce_has_8bit(part[0],
	    len[0]) ? "text/plain; charset=utf-8" :
	    "text/plain; charset=us-ascii", part[0], len[0]);
	bounce_part(out, boundary, "Delivery report",
	    "message/delivery-status", part[1], len[1]);
	bounce_part(out, boundary, bounce_orig_desc(kind, full),
	    full ? "message/rfc822" : "text/rfc822-headers", part[2], len[2]);
	fprintf(out, "--%s--\r\n", boundary);
	return ferror(out) ? -1 : 0;
}

/* Write the human and delivery-status parts into two memory buffers. */
static int
bounce_text_parts(const struct config *cfg, const struct envelope *orig,
    const struct dsn_report *r, size_t n, char *part[2], size_t len[2])
{
	FILE	*human, *status;
	size_t	 i;
	int	 rc = 0;

	if ((human = open_memstream(&part[0], &len[0])) == NULL)
		return -1;
	if ((status = open_memstream(&part[1], &len[1])) == NULL) {
		fclose(human);
		free(part[0]);
		part[0] = NULL;
		return -1;
	}
	bounce_human(human, cfg, r, n);
	bounce_status_message(status, cfg, orig);
	for (i = 0; i < n; i++)
		bounce_status_rcpt(status, &r[i]);
	if (fclose(human) == EOF)
		rc = -1;
	if (fclose(status) == EOF)
		rc = -1;
	return rc;
}

int
bounce_compose(FILE *out, const struct config *cfg,
    const struct envelope *orig, const char *to, FILE *orig_msg,
    const struct dsn_report *r, size_t n, const char *newid, time_t now)
{
	struct orig_copy oc;
	char	*part[3] = { NULL, NULL, NULL };
	size_t	 len[3] = { 0, 0, 0 };
	int	 kind, ret = -1;

	memset(&oc, 0, sizeof(oc));
	if (n == 0 || r == NULL) {
		errno = EINVAL;
		return -1;
	}
	kind = bounce_kind(r, n);
	if (bounce_read_original(orig_msg, kind == KIND_FAILED &&
	    orig->ret == RET_FULL, &oc) == -1)
		goto out;
	if (bounce_text_parts(cfg, orig, r, n, part, len) == -1)
		goto out;
	part[2] = oc.buf;
	len[2] = oc.len;
	ret = bounce_assemble(out, cfg, to ? to : orig->sender, kind, newid,
	    now, part, len, oc.full);
out:
	free(part[0]);
	free(part[1]);
	free(oc.buf);
	return ret;
}

/* The envelope of the notice: from <> to its recipient. */
static int
bounce_envelope(struct envelope *env, const struct config *cfg,
    const struct envelope *orig, const char *to, const char *newid,
    time_t now, int eightbit)
{
	env->version = ENVELOPE_VERSION;
	snprintf(env->id, sizeof(env->id), "%s", newid);
	env->arrival = now;
	snprintf(env->client, sizeof(env->client), "localhost [127.0.0.1]");
	snprintf(env->helo, sizeof(env->helo), "%s", cfg->hostname);
	snprintf(env->protocol, sizeof(env->protocol), "LOCAL");
	env->uid = -1;
	env->sender[0] = '\0';
	env->body = eightbit ? BODY_8BITMIME : BODY_7BIT;
	env->smtputf8 = eightbit && orig->smtputf8;
	env->ret = RET_UNSET;
	env->envid[0] = '\0';
	return envelope_add_rcpt(env, to, 0, "");
}

/* bounce_compose_mem - the notice in a malloc'd buffer the caller frees. */
static int
bounce_compose_mem(const struct config *cfg, const struct envelope *orig,
    const char *to, FILE *orig_msg, const struct dsn_report *r, size_t n,
    const char *newid, time_t now, char **buf, size_t *len)
{
	FILE	*mem;
	int	 rc;

	*buf = NULL;
	if ((mem = open_memstream(buf, len)) == NULL)
		return -1;
	rc = bounce_compose(mem, cfg, orig, to, orig_msg, r, n, newid, now);
	if (fclose(mem) == EOF)
		rc = -1;
	if (rc == -1) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int
bounce_enqueue(const struct config *cfg, const struct envelope *orig,
    const char *to, FILE *orig_msg, const struct dsn_report *r, size_t n,
    time_t now, int announce, char newid[QUEUEID_LEN + 1])
{
	struct queuefile_new sf;
	struct envelope env;
	char	*buf = NULL;
	size_t	 len = 0;
	int	 opened = 0;

	if (to == NULL)
		to = orig->sender;	/* never to <>: no bounce of a bounce */
	if (to[0] == '\0' || n == 0) {
		errno = EINVAL;
		return -1;
	}
	envelope_init(&env);
	if (queuefile_create(cfg->spool_dir, &sf) == -1)
		goto fail;
	opened = 1;
	if (bounce_compose_mem(cfg, orig, to, orig_msg, r, n, sf.id, now,
	    &buf, &len) == -1 || bounce_envelope(&env, cfg, orig, to, sf.id,
	    now, bounce_has_8bit(buf, len)) == -1 ||
	    envelope_write(sf.fp, &env) == -1 ||
	    fwrite(buf, 1, len, sf.fp) != len)
		goto fail;
	opened = 0;
	if (queuefile_commit(cfg->spool_dir, &sf) == -1)
		goto fail;
	memcpy(newid, sf.id, QUEUEID_LEN + 1);
	log_info("%s: %s: %s", orig->id, bounce_logname[bounce_kind(r, n)],
	    newid);
	if (announce)
		queuefile_announce(cfg->spool_dir, newid);
	free(buf);
	envelope_free(&env);
	return 0;
fail:
	log_warn("%s: cannot queue a delivery status notification", orig->id);
	if (opened)
		queuefile_abort(&sf);
	free(buf);
	envelope_free(&env);
	return -1;
}
