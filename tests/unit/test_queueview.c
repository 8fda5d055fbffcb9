/* SPDX-License-Identifier: ISC */
/* test_queueview.c - spool walking, JSON and terminal escaping, and the
 * address-list parser of sendmail -t. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "queuelist.h"
#include "queueview.h"
#include "rfc822.h"
#include "spool.h"
#include "statefile.h"
#include "unit.h"

static char	 spool[256];

static void
put_message(const char *id, time_t arrival, const char *rcpt2, int held,
    int deferred)
{
	struct envelope	 env;
	struct state	 st;
	char		 path[1024];
	FILE		*fp;

	envelope_init(&env);
	snprintf(env.id, sizeof(env.id), "%s", id);
	env.arrival = arrival;
	snprintf(env.client, sizeof(env.client), "localhost [127.0.0.1]");
	snprintf(env.helo, sizeof(env.helo), "localhost");
	snprintf(env.protocol, sizeof(env.protocol), "ESMTP");
	env.uid = -1;
	snprintf(env.sender, sizeof(env.sender), "a@example.org");
	envelope_add_rcpt(&env, "b@example.com", 0, "");
	if (rcpt2)
		envelope_add_rcpt(&env, rcpt2, 0, "");
	spool_path(spool, "queue", id, path, sizeof(path));
	fp = fopen(path, "w");
	CHECK(fp != NULL && envelope_write(fp, &env) == 0);
	fputs("Subject: x\r\n\r\nhello\r\n", fp);
	fclose(fp);
	if (held || deferred) {
		CHECK(state_alloc(&st, id, env.nrcpt) == 0);
		st.held = held;
		if (deferred) {
			st.rcpt[0].state = RCPT_DEFERRED;
			st.rcpt[0].attempts = 1;
			st.rcpt[0].next_attempt = arrival + 1800;
			snprintf(st.rcpt[0].dsn, sizeof(st.rcpt[0].dsn), "4.4.1");
			snprintf(st.rcpt[0].reply, sizeof(st.rcpt[0].reply),
			    "connect: refused");
			if (env.nrcpt > 1)
				st.rcpt[1].state = RCPT_DELIVERED;
		}
		CHECK(statefile_save(spool, &st) == 0);
		state_free(&st);
	}
	envelope_free(&env);
}

struct seen {
	char	 ids[8][QUEUEID_LEN + 1];
	int	 held[8], queued[8], bad[8];
	long long size[8];
	int	 n;
};

static int
collect(const struct queueview_msg *m, void *arg)
{
	struct seen	*s = arg;
	size_t		 i;

	if (s->n == 8)
		return 1;
	memcpy(s->ids[s->n], m->id, sizeof(m->id));
	s->held[s->n] = m->state.held;
	s->bad[s->n] = m->error[0] != '\0';
	s->size[s->n] = m->size;
	for (i = 0; i < m->env.nrcpt; i++)
		s->queued[s->n] += queueview_rcpt_is_queued(m, i);
	s->n++;
	return 0;
}

static void
test_scan(void)
{
	char		 a[QUEUEID_LEN + 1], b[QUEUEID_LEN + 1];
	char		 c[QUEUEID_LEN + 1], path[1024];
	struct seen	 s;
	FILE		*fp;

	memset(&s, 0, sizeof(s));
	snprintf(spool, sizeof(spool), "/tmp/test_queueview.%ld",
	    (long)getpid());
	CHECK(spool_setup(spool, NULL, 0) == 0);
	queueid_new(a);
	queueid_new(b);
	queueid_new(c);
	/* written out of order: the scan must sort */
	put_message(c, 300, NULL, 0, 0);
	put_message(a, 100, "x@example.net", 1, 1);
	spool_path(spool, "queue", b, path, sizeof(path));
	fp = fopen(path, "w");
	fputs("version: 1\nid: nonsense\n\n", fp);
	fclose(fp);
	CHECK(queueview_scan(spool, collect, &s) == 0);
	CHECK(s.n == 3);
	CHECK_STR(s.ids[0], a);
	CHECK_STR(s.ids[1], b);
	CHECK_STR(s.ids[2], c);
	CHECK(s.held[0] == 1 && s.held[2] == 0);
	CHECK(s.queued[0] == 1 && s.queued[2] == 1);
	CHECK(s.bad[1] && !s.bad[0] && !s.bad[2]);
	CHECK(s.size[0] == 21);
	CHECK(queueview_scan("/nonexistent/spool", collect, &s) == -1);
}

static void
test_load_missing(void)
{
	struct queueview_msg m;
	char		 id[QUEUEID_LEN + 1];

	queueid_new(id);
	CHECK(queueview_load(spool, id, &m) == -1);
	CHECK(queueview_load(spool, "../../etc/passwd", &m) == -1);
}

/* listing - queuelist_print() of dir by procs processes, in memory */
static char *
listing(const char *dir, enum queuelist_mode mode, int procs, size_t *len)
{
	char	*buf = NULL;
	FILE	*fp = open_memstream(&buf, len);

	CHECK(fp != NULL);
	if (fp == NULL)
		return NULL;
	CHECK(queuelist_print(fp, dir, mode, procs) == 0);
	fclose(fp);
	return buf;
}

/*
 * test_split_listing - a listing of 5,000 messages (more than two runs
 * of a split listing) is the same bytes from 1, 2, 3 and 4 processes:
 * oldest first, held, deferred, unreadable and long envelopes included.
 */
static void
test_split_listing(void)
{
	char		 dir[200], ids[5000][QUEUEID_LEN + 1], rcpt[64];
	char		 path[1024], *one, *many, cmd[400], saved[256];
	size_t		 i, n1, n2;
	int		 procs, mode;
	struct envelope	 env;
	FILE		*fp;

	snprintf(dir, sizeof(dir), "/tmp/test_queueview_split.%ld",
	    (long)getpid());
	CHECK(spool_setup(dir, NULL, 0) == 0);
	memcpy(saved, spool, sizeof(saved));	/* put_message() writes there */
	snprintf(spool, sizeof(spool), "%s", dir);
	for (i = 0; i < 5000; i++)
		queueid_new(ids[i]);
	for (i = 5000; i-- > 0;) {	/* written newest first */
		snprintf(rcpt, sizeof(rcpt), "r%zu@example.net", i);
		put_message(ids[i], (time_t)(1000 + i), i % 7 ? NULL : rcpt,
		    i % 11 == 0, i % 3 == 0);
	}
	/* an unreadable one, and one whose envelope is beyond a first read */
	spool_path(dir, "queue", ids[2500], path, sizeof(path));
	fp = fopen(path, "w");
	fputs("version: 1\nid: nonsense\n\n", fp);
	fclose(fp);
	envelope_init(&env);
	snprintf(env.id, sizeof(env.id), "%s", ids[4097]);
	env.arrival = 5097;
	snprintf(env.client, sizeof(env.client), "localhost [127.0.0.1]");
	snprintf(env.protocol, sizeof(env.protocol), "ESMTP");
	snprintf(env.sender, sizeof(env.sender), "long@example.org");
	for (i = 0; i < 60; i++) {
		snprintf(rcpt, sizeof(rcpt), "recipient-number-%zu@example.com",
		    i);
		envelope_add_rcpt(&env, rcpt, 0, "");
	}
	spool_path(dir, "queue", ids[4097], path, sizeof(path));
	fp = fopen(path, "w");
	CHECK(fp != NULL && envelope_write(fp, &env) == 0);
	fputs("body\r\n", fp);
	fclose(fp);
	envelope_free(&env);
	for (mode = QUEUELIST_TEXT; mode <= QUEUELIST_JSON; mode++) {
		one = listing(dir, mode, 1, &n1);
		for (procs = 2; procs <= 4 && one != NULL; procs++) {
			many = listing(dir, mode, procs, &n2);
			CHECK(many != NULL && n1 == n2 &&
			    memcmp(one, many, n1) == 0);
			free(many);
		}
		CHECK(one != NULL && strstr(one, mode == QUEUELIST_TEXT ?
		    "in 5000 Requests." : "\"recipient-number-59@") != NULL);
		CHECK(one != NULL && strstr(one, "unreadable") != NULL);
		/* oldest first: the first and last ids in their places */
		CHECK(one != NULL && strstr(one, ids[0]) < strstr(one, ids[1]) &&
		    strstr(one, ids[4998]) < strstr(one, ids[4999]));
		free(one);
	}
	memcpy(spool, saved, sizeof(saved));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	system(cmd);
}

/* render - what a printer of queueview.c makes of in */
static char *
render(void (*print)(FILE *, const char *), const char *in)
{
	static char	 out[512];
	FILE		*fp = fmemopen(out, sizeof(out), "w");

	print(fp, in);
	fclose(fp);
	return out;
}

#define json(in)	render(queueview_json_string, in)
#define text(in)	render(queueview_put_text, in)
#define escaped(in)	render(queueview_put_escaped, in)

static void
test_json(void)
{
	CHECK_STR(json("plain@x"), "\"plain@x\"");
	CHECK_STR(json("q\"b\\s"), "\"q\\\"b\\\\s\"");
	CHECK_STR(json("a\nb\tc\001d\x7f"), "\"a\\nb\\tc\\u0001d\\u007f\"");
	CHECK_STR(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	CHECK_STR(json("bad\xff\xc3"), "\"bad\\ufffd\\ufffd\"");
	CHECK_STR(json("\xc0\xaf"), "\"\\ufffd\\ufffd\"");	/* overlong */
	CHECK_STR(json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(json("\xe2\x80\xa8"), "\"\\u2028\"");
}

static void
test_put_text(void)
{
	CHECK_STR(text("ok \xc3\xa9"), "ok \xc3\xa9");
	CHECK_STR(text("\033[2Jx"), "?[2Jx");
	CHECK_STR(text("\xc2\x9b" "1m"), "?1m");	/* C1 CSI */
	CHECK_STR(text("\xff"), "?");
}

static void
test_put_escaped(void)
{
	CHECK_STR(escaped("ok \xc3\xa9 +20"), "ok \xc3\xa9 +20");
	CHECK_STR(escaped("\033[2Jx"), "\\x1b[2Jx");
	CHECK_STR(escaped("\xc2\x9b" "1m"), "\\xc2\\x9b1m");
	CHECK_STR(escaped("a\\b\xff\r\n"), "a\\\\b\\xff\\x0d\\x0a");
}

struct addrs {
	char	 v[8][RFC822_ADDR_MAX];
	int	 n;
};

static int
add(const char *addr, void *arg)
{
	struct addrs *a = arg;

	if (a->n < 8)
		snprintf(a->v[a->n++], RFC822_ADDR_MAX, "%s", addr);
	return 0;
}

static void
test_addresses(void)
{
	struct addrs	 a;

	memset(&a, 0, sizeof(a));
	CHECK(rfc822_addresses("\"Doe, John\" <j@x.org>, k@y.org (Kay, K),"
	    "\r\n\tgroup: l@z.org, <m@z.org>;, <@r1,@r2:n@q.org>, "
	    "\"a b\"@c.org, undisclosed-recipients:;", add, &a) == 6);
	CHECK_STR(a.v[0], "j@x.org");
	CHECK_STR(a.v[1], "k@y.org");
	CHECK_STR(a.v[2], "l@z.org");
	CHECK_STR(a.v[3], "m@z.org");
	CHECK_STR(a.v[4], "n@q.org");
	CHECK_STR(a.v[5], "\"a b\"@c.org");
	memset(&a, 0, sizeof(a));
	CHECK(rfc822_addresses("(only a comment ((nested))", add, &a) == 0);
	CHECK(rfc822_addresses("\"unterminated", add, &a) == 1);
	CHECK(rfc822_field_name("To: x") == 2);
	CHECK(rfc822_field_name("no header") == 0);
	CHECK(rfc822_field_is("BCC: x", "bcc"));
	CHECK(!rfc822_field_is("Bcc-x: x", "bcc"));
}

static void
test_quote_phrase(void)
{
	char	 out[64];

	rfc822_quote_phrase("Joe User", out, sizeof(out));
	CHECK_STR(out, "Joe User");
	rfc822_quote_phrase("Joe Q. \"X\" User", out, sizeof(out));
	CHECK_STR(out, "\"Joe Q. \\\"X\\\" User\"");
	rfc822_quote_phrase("Evil\r\nBcc: x", out, sizeof(out));
	CHECK_STR(out, "\"EvilBcc: x\"");
}

int
main(void)
{
	char	 cmd[600];

	RUN(test_scan);
	RUN(test_load_missing);
	RUN(test_split_listing);
	RUN(test_json);
	RUN(test_put_text);
	RUN(test_put_escaped);
	RUN(test_addresses);
	RUN(test_quote_phrase);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	if (spool[0])
		system(cmd);
	return unit_done();
}
