/* SPDX-License-Identifier: ISC */
/*
 * test_bounce.c - RFC 3464 notices: CRLF and line limits, the MIME
 * boundary, the status fields, headers-only versus full return, and
 * header injection through remote replies and addresses.
 * With TERN_BOUNCE_SAMPLES=DIR set, each composed notice is also saved
 * there for checking with other tools (Python's email package).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "config.h"
#include "envelope.h"
#include "spool.h"
#include "unit.h"

#define NOW	((time_t)1764135101)

static const char *orig_text =
    "Received: from client.example.org (client.example.org [192.0.2.1])\r\n"
    "\tby mx.example.net with ESMTP id 0RB8KX2JZ5Q0A1\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.com\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "Are we still on for lunch?\r\n"
    "secret body line\r\n";

static struct config cfg;

static void
orig_init(struct envelope *env, int ret)
{
	envelope_init(env);
	snprintf(env->id, sizeof(env->id), "0RB8KX2JZ5Q0A1");
	env->arrival = NOW - 3600;
	snprintf(env->client, sizeof(env->client),
	    "client.example.org [192.0.2.1]");
	snprintf(env->helo, sizeof(env->helo), "client.example.org");
	snprintf(env->protocol, sizeof(env->protocol), "ESMTP");
	snprintf(env->sender, sizeof(env->sender), "alice@example.org");
	env->ret = ret;
}

static void
save_sample(const char *name, const char *buf, size_t len)
{
	const char *dir = getenv("TERN_BOUNCE_SAMPLES");
	char	 path[1024];
	FILE	*fp;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s.eml", dir, name);
	if ((fp = fopen(path, "wb")) != NULL) {
		fwrite(buf, 1, len, fp);
		fclose(fp);
	}
}

/* Compose into a tmpfile and return its NUL-terminated bytes. */
static char *
compose(const char *name, const struct envelope *env, const char *msg,
    size_t msglen, const struct dsn_report *r, size_t n)
{
	FILE	*in, *out;
	char	*buf;
	long	 len;

	if ((in = tmpfile()) == NULL || (out = tmpfile()) == NULL)
		return NULL;
	fwrite(msg, 1, msglen, in);
	rewind(in);
	if (bounce_compose(out, &cfg, env, NULL, in, r, n, "0RB8KY00000001",
	    NOW) == -1)
		return NULL;
	len = ftell(out);
	rewind(out);
	buf = calloc(1, (size_t)len + 1);
	if (fread(buf, 1, (size_t)len, out) != (size_t)len)
		buf[0] = '\0';
	fclose(in);
	fclose(out);
	save_sample(name, buf, (size_t)len);
	return buf;
}

/* Every LF preceded by CR, every CR followed by LF, lines <= 998. */
static int
crlf_ok(const char *s)
{
	const char *start = s;
	size_t	 col = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n' && (s == start || s[-1] != '\r'))
			return 0;
		if (*s == '\r' && s[1] != '\n')
			return 0;
		if (*s == '\n')
			col = 0;
		else if (*s != '\r' && ++col > 998)
			return 0;
	}
	return 1;
}

/* Line-start match: s contains "\r\n" line at the start of some line. */
static int
has_line(const char *s, const char *line)
{
	size_t	 n = strlen(line);
	const char *p = s;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == s || p[-1] == '\n') && (p[n] == '\r'))
			return 1;
		p++;
	}
	return 0;
}

static int
has_line_start(const char *s, const char *start)
{
	const char *p = s;

	while ((p = strstr(p, start)) != NULL) {
		if (p == s || p[-1] == '\n')
			return 1;
		p++;
	}
	return 0;
}

static size_t
count(const char *s, const char *sub)
{
	size_t	 n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/*
 * The boundary occurs once in the Content-Type parameter and otherwise
 * only as the three delimiters and the close delimiter.
 */
static int
boundary_ok(const char *msg)
{
	char	 b[600], d[610];
	const char *p;
	size_t	 n;

	if ((p = strstr(msg, "boundary=\"")) == NULL)
		return 0;
	p += strlen("boundary=\"");
	n = strcspn(p, "\"");
	if (n == 0 || n >= 512)
		return 0;
	memcpy(b, p, n);
	b[n] = '\0';
	snprintf(d, sizeof(d), "\r\n--%s", b);
	if (count(msg, b) != 5 || count(msg, d) != 4)
		return 0;
	snprintf(d, sizeof(d), "\r\n--%s--\r\n", b);
	return count(msg, d) == 1;
}

#define RECEIVED "Received: by mx.example.net (tern) id 0RB8KY00000001;\r\n" \
	"\tWed, 26 Nov 2025 05:31:41 +0000\r\n"

static void
common_checks(const char *m)
{
	CHECK(m != NULL && m[0] != '\0');
	if (m == NULL)
		return;
	CHECK(crlf_ok(m));
	CHECK(boundary_ok(m));
	CHECK(strncmp(m, RECEIVED, strlen(RECEIVED)) == 0);
	CHECK(has_line(m, "From: MAILER-DAEMON@mx.example.net "
	    "(Mail Delivery System)"));
	CHECK(has_line(m, "To: <alice@example.org>"));
	CHECK(has_line(m, "Date: Wed, 26 Nov 2025 05:31:41 +0000"));
	CHECK(has_line(m, "Message-ID: <0RB8KY00000001.1764135101"
	    "@mx.example.net>"));
	CHECK(has_line(m, "Auto-Submitted: auto-replied"));
	CHECK(has_line(m, "MIME-Version: 1.0"));
	CHECK(has_line_start(m, "Content-Type: multipart/report; "
	    "report-type=delivery-status;"));
	CHECK(has_line(m, "Content-Type: message/delivery-status"));
	CHECK(has_line(m, "Reporting-MTA: dns; mx.example.net"));
	CHECK(has_line(m, "X-Tern-Queue-ID: 0RB8KX2JZ5Q0A1"));
	CHECK(has_line(m, "Arrival-Date: Wed, 26 Nov 2025 04:31:41 +0000"));
}

static void
test_failed_headers_only(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", "rfc822;Bob+40example.com",
	    DSN_ACTION_FAILED, "5.1.1", "mx.example.com[192.0.2.7]:25",
	    "550 5.1.1 <bob@example.com>: no such user", NOW - 60, 0 };
	char	*m;

	orig_init(&env, RET_UNSET);
	m = compose("failed_hdrs", &env, orig_text, strlen(orig_text), &r, 1);
	common_checks(m);
	CHECK(has_line(m, "Subject: Undelivered Mail Returned to Sender"));
	CHECK(has_line(m, "Content-Type: text/plain; charset=us-ascii"));
	CHECK(has_line(m, "Content-Type: text/rfc822-headers"));
	CHECK(!has_line_start(m, "Content-Type: message/rfc822"));
	CHECK(has_line(m, "Original-Recipient: rfc822;Bob@example.com"));
	CHECK(has_line(m, "Final-Recipient: rfc822; bob@example.com"));
	CHECK(has_line(m, "Action: failed"));
	CHECK(has_line(m, "Status: 5.1.1"));
	CHECK(has_line(m, "Remote-MTA: dns; mx.example.com"));
	CHECK(has_line(m, "Diagnostic-Code: smtp; 550 5.1.1 "
	    "<bob@example.com>: no such user"));
	CHECK(has_line(m, "Last-Attempt-Date: Wed, 26 Nov 2025 05:30:41 "
	    "+0000"));
	CHECK(strstr(m, "Will-Retry-Until") == NULL);
	CHECK(strstr(m, "<bob@example.com>: host mx.example.com said: 550 "
	    "5.1.1") != NULL);
	CHECK(has_line(m, "Subject: lunch"));
	CHECK(has_line(m, "\tby mx.example.net with ESMTP id 0RB8KX2JZ5Q0A1"));
	CHECK(strstr(m, "secret body line") == NULL);
	CHECK(strstr(m, "Original-Envelope-Id") == NULL);
	envelope_free(&env);
	free(m);
}

static void
test_failed_full(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.2.2", NULL, "mailbox full", NOW, 0 };
	char	*m;

	orig_init(&env, RET_FULL);
	snprintf(env.envid, sizeof(env.envid), "QQ+2B314");
	m = compose("failed_full", &env, orig_text, strlen(orig_text), &r, 1);
	common_checks(m);
	CHECK(has_line(m, "Content-Type: message/rfc822"));
	CHECK(has_line(m, "Content-Description: Undelivered Message"));
	CHECK(!has_line_start(m, "Content-Type: text/rfc822-headers"));
	CHECK(has_line(m, "secret body line"));
	CHECK(has_line(m, "Original-Envelope-Id: QQ+314"));
	CHECK(has_line(m, "Diagnostic-Code: X-Tern; mailbox full"));
	CHECK(strstr(m, "Remote-MTA") == NULL);
	CHECK(has_line(m, "<bob@example.com>: mailbox full"));
	envelope_free(&env);
	free(m);
}

/* RET=FULL, but the original is over the limit: headers only. */
static void
test_full_too_large(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.3.4", NULL, "message too big", NOW, 0 };
	size_t	 hl = strlen(orig_text), len = BOUNCE_RETURN_MAX + 4096, i;
	char	*big, *m;

	big = malloc(len);
	memcpy(big, orig_text, hl);
	for (i = hl; i < len; i++)
		big[i] = (i - hl) % 80 == 79 ? '\n' : 'x';
	orig_init(&env, RET_FULL);
	m = compose("failed_big", &env, big, len, &r, 1);
	common_checks(m);
	CHECK(has_line(m, "Content-Type: text/rfc822-headers"));
	CHECK(!has_line_start(m, "Content-Type: message/rfc822"));
	CHECK(strstr(m, "xxxxxxxxxx") == NULL);
	CHECK(m != NULL && strlen(m) < 16384);
	envelope_free(&env);
	free(big);
	free(m);
}

static void
test_delayed(void)
{
	struct envelope env;
	struct dsn_report r[2] = {
		{ "bob@example.com", NULL, DSN_ACTION_DELAYED, "4.4.1",
		    "mx.example.com", "connection timed out", NOW - 30,
		    NOW + 4 * 86400 },
		{ "carol@example.com", NULL, DSN_ACTION_DELAYED, "bogus",
		    NULL, NULL, 0, 0 },
	};
	char	*m;

	orig_init(&env, RET_FULL);
	m = compose("delayed", &env, orig_text, strlen(orig_text), r, 2);
	common_checks(m);
	CHECK(has_line(m, "Subject: Delayed Mail (still being retried)"));
	CHECK(has_line(m, "Content-Type: text/rfc822-headers"));
	CHECK(strstr(m, "secret body line") == NULL);
	CHECK(count(m, "Action: delayed\r\n") == 2);
	CHECK(has_line(m, "Status: 4.4.1"));
	CHECK(has_line(m, "Status: 4.0.0"));
	CHECK(has_line(m, "Will-Retry-Until: Sun, 30 Nov 2025 05:31:41 "
	    "+0000"));
	CHECK(count(m, "Will-Retry-Until") == 1);
	CHECK(strstr(m, "retried until Sun, 30 Nov 2025 05:31:41 +0000") !=
	    NULL);
	CHECK(has_line(m, "<carol@example.com>: status 4.0.0"));
	/* the two blocks are separated by a blank line */
	CHECK(strstr(m, "Last-Attempt-Date: Wed, 26 Nov 2025 05:31:11 "
	    "+0000\r\nWill-Retry-Until: Sun, 30 Nov 2025 05:31:41 +0000\r\n"
	    "\r\nFinal-Recipient: rfc822; carol@example.com\r\n") != NULL);
	envelope_free(&env);
	free(m);
}

static void
test_success(void)
{
	struct envelope env;
	struct dsn_report r[2] = {
		{ "bob@example.com", NULL, DSN_ACTION_DELIVERED, "2.0.0",
		    "mx.example.com", "250 2.0.0 Ok: queued as 123", NOW, 0 },
		{ "list@example.com", NULL, DSN_ACTION_EXPANDED, "2.0.0",
		    NULL, NULL, NOW, 0 },
	};
	char	*m;

	orig_init(&env, RET_FULL);
	m = compose("success", &env, orig_text, strlen(orig_text), r, 2);
	common_checks(m);
	CHECK(has_line(m, "Subject: Successful Mail Delivery Report"));
	CHECK(has_line(m, "Action: delivered"));
	CHECK(has_line(m, "Action: expanded"));
	CHECK(has_line(m, "Content-Type: text/rfc822-headers"));
	CHECK(strstr(m, "<bob@example.com>: delivered; host mx.example.com "
	    "said: 250 2.0.0 Ok: queued") != NULL);
	envelope_free(&env);
	free(m);
}

/* A mixed report is named after its most serious recipient. */
static void
test_mixed(void)
{
	struct envelope env;
	struct dsn_report r[2] = {
		{ "bob@example.com", NULL, DSN_ACTION_DELIVERED, NULL, NULL,
		    NULL, NOW, 0 },
		{ "eve@example.com", NULL, DSN_ACTION_FAILED, NULL, NULL,
		    "unknown user", NOW, 0 },
	};
	char	*m;

	orig_init(&env, RET_UNSET);
	m = compose("mixed", &env, orig_text, strlen(orig_text), r, 2);
	common_checks(m);
	CHECK(has_line(m, "Subject: Undelivered Mail Returned to Sender"));
	CHECK(has_line(m, "Status: 2.0.0"));
	CHECK(has_line(m, "Status: 5.0.0"));
	CHECK(strstr(m, "eve@example.com>: unknown user") <
	    strstr(m, "bob@example.com>: delivered"));
	envelope_free(&env);
	free(m);
}

static void
test_injection(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com\r\nBcc: evil2@example.net",
	    "rfc822;x+0D+0ABcc:+20evil3", DSN_ACTION_FAILED, "5.0.0\r\nX: y",
	    "mx.example.com\r\nBcc: evil4", "550 x\r\nBcc: evil\r\n\r\nbody",
	    NOW, 0 };
	char	*m;

	orig_init(&env, RET_UNSET);
	snprintf(env.sender, sizeof(env.sender), "alice@example.org\nBcc: e5");
	snprintf(env.envid, sizeof(env.envid), "a+0D+0ABcc:+20evil6");
	m = compose("inject", &env, orig_text, strlen(orig_text), &r, 1);
	CHECK(m != NULL && crlf_ok(m) && boundary_ok(m));
	CHECK(m != NULL && !has_line_start(m, "Bcc"));
	CHECK(m != NULL && !has_line_start(m, "X: y"));
	CHECK(m != NULL && !has_line_start(m, "body"));
	CHECK(m != NULL && has_line(m, "Status: 5.0.0"));
	CHECK(m != NULL && has_line(m, "Diagnostic-Code: smtp; 550 x Bcc: "
	    "evil body"));
	CHECK(m != NULL && has_line(m, "Original-Envelope-Id: "
	    "a+0D+0ABcc:+20evil6"));
	envelope_free(&env);
	free(m);
}

static int
folded_ok(const char *m, const char *field)
{
	const char *p = strstr(m, field);

	/* every continuation line of the field starts with white space */
	if (p == NULL)
		return 0;
	while ((p = strstr(p, "\r\n")) != NULL && (p[2] == ' ' ||
	    p[2] == '\t'))
		p += 2;
	return p != NULL && strncmp(p, "\r\n", 2) == 0;
}

static void
test_long_lines(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.0.0", "mx.example.com", NULL, NOW, 0 };
	char	 diag[4000], *msg, *m;
	size_t	 i;

	for (i = 0; i < sizeof(diag) - 1; i++)
		diag[i] = i < 1500 ? 'a' + i % 26 : (i % 7 ? 'b' : ' ');
	diag[sizeof(diag) - 1] = '\0';
	r.diagnostic = diag;
	msg = malloc(8000);
	snprintf(msg, 8000, "Subject: ");
	for (i = strlen(msg); i < 3000; i++)
		msg[i] = 'h';
	snprintf(msg + i, 8000 - i, "\r\nX-Bare: cr\rlf\nnul\r\n\r\n");
	for (i = strlen(msg); i < 6000; i++)
		msg[i] = 'y';
	msg[i] = '\0';
	orig_init(&env, RET_FULL);
	m = compose("long", &env, msg, strlen(msg), &r, 1);
	common_checks(m);
	CHECK(m != NULL && folded_ok(m, "Diagnostic-Code: X-Tern; abc"));
	CHECK(m != NULL && folded_ok(m, "Subject: hhh"));
	CHECK(m != NULL && has_line(m, "X-Bare: cr lf"));
	CHECK(m != NULL && has_line(m, "nul"));
	CHECK(m != NULL && count(m, "yyyyyyyyyyyy") > 0);
	envelope_free(&env);
	free(msg);
	free(m);
}

/* Unfolding (removing each CRLF before white space) gives the text back. */
static void
test_fold_unfolds(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.1.1", "mx.example.com", NULL, NOW, 0 };
	const char *diag = "550 5.1.1 <bob@example.com>: Recipient address "
	    "rejected: User unknown in virtual mailbox table, and this text "
	    "goes on well past one line of seventy-six columns";
	char	 want[512], *m, *p, *end, field[1024];
	size_t	 n = 0;

	r.diagnostic = diag;
	orig_init(&env, RET_HDRS);
	m = compose("fold", &env, "Subject: s\r\n\r\nb\r\n", 18, &r, 1);
	CHECK(m != NULL && (p = strstr(m, "Diagnostic-Code: ")) != NULL);
	if (m == NULL || p == NULL)
		return;
	for (end = p; (end = strstr(end, "\r\n")) != NULL &&
	    end[2] == ' ' && n < sizeof(field) - 1; end += 2) {
		memcpy(field + n, p, (size_t)(end - p));
		n += (size_t)(end - p);
		p = end + 2;
	}
	CHECK(end != NULL && end[2] != '\t');
	if (end != NULL && n + (size_t)(end - p) < sizeof(field)) {
		memcpy(field + n, p, (size_t)(end - p));
		n += (size_t)(end - p);
	}
	field[n] = '\0';
	CHECK(strchr(field, '\t') == NULL);
	snprintf(want, sizeof(want), "Diagnostic-Code: smtp; %s", diag);
	CHECK_STR(field, want);
	CHECK(count(m, "\r\n ") >= 2);	/* it really was folded */
	envelope_free(&env);
	free(m);
}

/* Oversized addresses from a caller still give lines under 999. */
static void
test_long_addresses(void)
{
	struct envelope env;
	struct dsn_report r = { NULL, NULL, DSN_ACTION_FAILED, "5.0.0",
	    NULL, "x", NOW, 0 };
	char	 rcpt[3000], orcpt[3000], *m;

	memset(rcpt, 'r', sizeof(rcpt) - 1);
	rcpt[sizeof(rcpt) - 1] = '\0';
	memcpy(orcpt, "rfc822;", 7);
	memset(orcpt + 7, 'o', sizeof(orcpt) - 8);
	orcpt[sizeof(orcpt) - 1] = '\0';
	r.rcpt = rcpt;
	r.orcpt = orcpt;
	orig_init(&env, RET_UNSET);
	m = compose("longaddr", &env, orig_text, strlen(orig_text), &r, 1);
	common_checks(m);
	CHECK(m != NULL && folded_ok(m, "Final-Recipient: rfc822; rrr"));
	CHECK(m != NULL && folded_ok(m, "Original-Recipient: rfc822;ooo"));
	envelope_free(&env);
	free(m);
}

/* The original holds the boundary that would be chosen first. */
static void
test_boundary_clash(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.0.0", NULL, "0RB8KY00000001.1764135101/mx.example.net", NOW,
	    0 };
	char	 msg[512], *m;

	snprintf(msg, sizeof(msg), "Subject: x\r\n\r\n"
	    "--0RB8KY00000001.1764135101/mx.example.net\r\n"
	    "--0RB8KY00000001.1764135101/mx.example.net--\r\n");
	orig_init(&env, RET_FULL);
	m = compose("clash", &env, msg, strlen(msg), &r, 1);
	common_checks(m);
	CHECK(m != NULL && strstr(m, "boundary=\"0RB8KY00000001.1764135101"
	    "/mx.example.net\"") == NULL);
	envelope_free(&env);
	free(m);
}

static void
test_enqueue_refuses_null_sender(void)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.0.0", NULL, NULL, NOW, 0 };
	char	 id[QUEUEID_LEN + 1] = "";
	FILE	*in = tmpfile();

	orig_init(&env, RET_UNSET);
	env.sender[0] = '\0';
	errno = 0;
	CHECK(bounce_enqueue(&cfg, &env, NULL, in, &r, 1, NOW, 0, id) == -1);
	CHECK(errno == EINVAL);
	CHECK(id[0] == '\0');
	fclose(in);
	envelope_free(&env);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Queue a notice in a scratch spool; return its queue file, open. */
static FILE *
enqueue(const char *msg, struct envelope *got)
{
	struct envelope env;
	struct dsn_report r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
	    "5.1.1", "mx.example.com", "550 5.1.1 no such user", NOW, 0 };
	char	 dir[] = "/tmp/test_bounce.XXXXXX", id[QUEUEID_LEN + 1];
	char	 path[1024], err[256];
	char	*saved = cfg.spool_dir;
	FILE	*in, *fp = NULL;

	if (mkdtemp(dir) == NULL || spool_setup(dir, NULL, 0) == -1)
		return NULL;
	cfg.spool_dir = dir;
	orig_init(&env, RET_UNSET);
	env.body = BODY_8BITMIME;
	in = tmpfile();
	fputs(msg, in);
	rewind(in);
	if (bounce_enqueue(&cfg, &env, NULL, in, &r, 1, NOW, 1, id) == 0 &&
	    spool_path(dir, "queue", id, path, sizeof(path)) == 0 &&
	    (fp = fopen(path, "r")) != NULL &&
	    envelope_read(fp, got, err, sizeof(err)) == -1) {
		printf("  envelope_read: %s\n", err);
		fclose(fp);
		fp = NULL;
	}
	CHECK(fp == NULL || strcmp(got->id, id) == 0);
	fclose(in);
	envelope_free(&env);
	cfg.spool_dir = saved;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);	/* fp stays readable */
	return fp;
}

static void
test_enqueue(void)
{
	struct envelope got;
	char	 line[256];
	FILE	*fp;

	envelope_init(&got);
	CHECK((fp = enqueue(orig_text, &got)) != NULL);
	if (fp == NULL)
		return;
	CHECK(queueid_valid(got.id));
	CHECK_STR(got.sender, "");
	CHECK(got.nrcpt == 1 && strcmp(got.rcpt[0].addr,
	    "alice@example.org") == 0);
	CHECK(got.body == BODY_7BIT);
	CHECK(fgets(line, sizeof(line), fp) != NULL);
	CHECK(strncmp(line, "Received: by mx.example.net (tern) id ", 38) == 0);
	CHECK(fgets(line, sizeof(line), fp) != NULL && line[0] == '\t');
	CHECK(fgets(line, sizeof(line), fp) != NULL);
	CHECK_STR(line, "From: MAILER-DAEMON@mx.example.net "
	    "(Mail Delivery System)\r\n");
	fclose(fp);
	envelope_free(&got);
}

/* 8-bit original headers make an 8BITMIME notice, labelled as such. */
static void
test_enqueue_8bit(void)
{
	struct envelope got;
	char	 buf[8192];
	size_t	 n;
	FILE	*fp;

	envelope_init(&got);
	CHECK((fp = enqueue("Subject: caf\xc3\xa9\r\n\r\nbody\r\n",
	    &got)) != NULL);
	if (fp == NULL)
		return;
	CHECK(got.body == BODY_8BITMIME);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	CHECK(crlf_ok(buf) && boundary_ok(buf));
	CHECK(count(buf, "Content-Transfer-Encoding: 8bit\r\n") == 2);
	CHECK(has_line(buf, "Subject: caf\xc3\xa9"));
	save_sample("enqueue_8bit", buf, n);
	fclose(fp);
	envelope_free(&got);
}

int
main(void)
{
	char	 err[256];

	setenv("TZ", "UTC", 1);
	tzset();
	if (config_parse_string(&cfg, "t.conf", "hostname = mx.example.net\n",
	    err, sizeof(err)) == -1) {
		printf("config: %s\n", err);
		return 1;
	}
	RUN(test_failed_headers_only);
	RUN(test_failed_full);
	RUN(test_full_too_large);
	RUN(test_delayed);
	RUN(test_success);
	RUN(test_mixed);
	RUN(test_injection);
	RUN(test_long_lines);
	RUN(test_fold_unfolds);
	RUN(test_long_addresses);
	RUN(test_boundary_clash);
	RUN(test_enqueue_refuses_null_sender);
	RUN(test_enqueue);
	RUN(test_enqueue_8bit);
	config_free(&cfg);
	return unit_done();
}
