/* SPDX-License-Identifier: ISC */
/*
 * test_addr.c - RFC 5321 paths, MAIL/RCPT parameters and the DATA
 * writer: the pure parts of the SMTP server, one table per function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "envelope.h"
#include "smtp_data.h"
#include "smtp_params.h"
#include "unit.h"

struct path_case {
	const char	*in;
	int		 flags;
	const char	*out;		/* NULL: must be refused */
	const char	*rest;		/* what follows the path */
};

static const struct path_case paths[] = {
	{ "<a@example.org>", 0, "a@example.org", "" },
	{ "<a@example.org> SIZE=10", 0, "a@example.org", " SIZE=10" },
	{ "<>", ADDR_ALLOW_NULL, "", "" },
	{ "<>", 0, NULL, NULL },
	{ "<\"john smith\"@example.org>", 0, "\"john smith\"@example.org", "" },
	{ "<\"a\\\"b\"@example.org>", 0, "\"a\\\"b\"@example.org", "" },
	{ "<u@[192.0.2.1]>", 0, "u@[192.0.2.1]", "" },
	{ "<u@[IPv6:2001:db8::1]>", 0, "u@[IPv6:2001:db8::1]", "" },
	{ "<@a.example,@b.example:u@c.example>", 0, "u@c.example", "" },
	{ "<u.v+tag@sub.example.org>", 0, "u.v+tag@sub.example.org", "" },
	{ "<a@b@example.org>", 0, NULL, NULL },
	{ "<a@>", 0, NULL, NULL },
	{ "<@example.org>", 0, NULL, NULL },
	{ "<a b@example.org>", 0, NULL, NULL },
	{ "<a..b@example.org>", 0, NULL, NULL },
	{ "<.a@example.org>", 0, NULL, NULL },
	{ "<a@-x.example>", 0, NULL, NULL },
	{ "<a@x-.example>", 0, NULL, NULL },
	{ "<a@example..org>", 0, NULL, NULL },
	{ "<a@[999.0.0.1]>", 0, NULL, NULL },
	{ "<a@[IPv6:zz::1]>", 0, NULL, NULL },
	{ "a@example.org", 0, NULL, NULL },
	{ "<a@example.org", 0, NULL, NULL },
	{ "<\"unterminated@example.org>", 0, NULL, NULL },
	{ "<\xc3\xa9@example.org>", 0, NULL, NULL },
	{ "<\xc3\xa9@example.org>", ADDR_UTF8, "\xc3\xa9@example.org", "" },
	{ "<u@b\xc3\xbc" "cher.example>", ADDR_UTF8, "u@b\xc3\xbc" "cher.example",
	    "" },
};

static void
test_paths(void)
{
	char	 out[ADDR_MAX];
	const char *end, *why;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rc = addr_parse_path(paths[i].in, paths[i].flags, out,
		    sizeof(out), &end, &why);
		if (paths[i].out == NULL) {
			if (rc != -1)
				printf("  accepted: %s\n", paths[i].in);
			CHECK(rc == -1 && why != NULL && *why != '\0');
			continue;
		}
		if (rc != 0)
			printf("  refused: %s (%s)\n", paths[i].in, why);
		CHECK(rc == 0);
		if (rc == 0) {
			CHECK_STR(out, paths[i].out);
			CHECK_STR(end, paths[i].rest);
		}
	}
}

static void
test_lengths(void)
{
	char	 in[600], out[ADDR_MAX];
	const char *end, *why;

	/* RFC 5321 4.5.3.1: local part 64, path 256 octets */
	snprintf(in, sizeof(in), "<%.*s@example.org>", 64,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(addr_parse_path(in, 0, out, sizeof(out), &end, &why) == 0);
	snprintf(in, sizeof(in), "<%.*s@example.org>", 65,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(addr_parse_path(in, 0, out, sizeof(out), &end, &why) == -1);
	memset(in, 0, sizeof(in));
	strcpy(in, "<a@");
	memset(in + 3, 'b', 300);
	strcat(in, ".example>");
	CHECK(addr_parse_path(in, 0, out, sizeof(out), &end, &why) == -1);
}

static void
test_parts_and_routing(void)
{
	char	 local[ADDR_MAX];

	CHECK(addr_local_part("\"a\\\"b c\"@x.example", local,
	    sizeof(local)) == 0);
	CHECK_STR(local, "a\"b c");
	CHECK_STR(addr_domain("user@Example.ORG"), "Example.ORG");
	CHECK(addr_has_routing("a%b@local.example"));
	CHECK(addr_has_routing("b!a@local.example"));
	CHECK(addr_has_routing("\"a@b\"@local.example"));
	CHECK(!addr_has_routing("a+b@local.example"));
	CHECK(addr_is_valid_domain("mx.example.org", 0));
	CHECK(addr_is_valid_domain("[192.0.2.1]", 0));
	CHECK(!addr_is_valid_domain("mx..example", 0));
	CHECK(!addr_is_valid_domain("-mx.example", 0));
}

static void
test_params(void)
{
	struct envelope env;
	char	 line[] = "SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=a+2Bb";
	char	*p = line, *key, *value, orcpt[ADDR_MAX] = "";
	long long size = -1;
	int	 notify = 0;

	envelope_init(&env);
	while ((key = smtp_param_next(&p, &value)) != NULL)
		CHECK(smtp_mail_param(&env, &size, key, value) == 0);
	CHECK(size == 1000 && env.body == BODY_8BITMIME &&
	    env.ret == RET_HDRS);
	CHECK_STR(env.envid, "a+2Bb");
	CHECK(smtp_mail_param(&env, &size, "RET", "FULL") == -1); /* twice */
	CHECK(smtp_mail_param(&env, &size, "BODY", "BINARYMIME") == -1);
	CHECK(smtp_mail_param(&env, &size, "SIZE", "12x") == -1);
	CHECK(smtp_mail_param(&env, &size, "FOO", "1") == -1);
	CHECK(smtp_mail_param(&env, &size, "SMTPUTF8", NULL) == 0 &&
	    env.smtputf8);
	CHECK(smtp_rcpt_param("NOTIFY", "SUCCESS,DELAY", &notify, orcpt,
	    sizeof(orcpt)) == 0 && notify == (NOTIFY_SUCCESS | NOTIFY_DELAY));
	CHECK(smtp_rcpt_param("NOTIFY", "NEVER", &notify, orcpt,
	    sizeof(orcpt)) == -1);	/* given twice */
	notify = 0;
	CHECK(smtp_rcpt_param("NOTIFY", "NEVER,SUCCESS", &notify, orcpt,
	    sizeof(orcpt)) == -1);
	CHECK(smtp_rcpt_param("ORCPT", "rfc822;a+40b", &notify, orcpt,
	    sizeof(orcpt)) == 0);
	CHECK_STR(orcpt, "rfc822;a+40b");
	orcpt[0] = '\0';
	CHECK(smtp_rcpt_param("ORCPT", "noseparator", &notify, orcpt,
	    sizeof(orcpt)) == -1);
	envelope_free(&env);
}

/* Feed text through the DATA writer; the result in a static buffer. */
static const char *
written(const char *in, size_t len, long long max, struct msgwriter *w,
    const char *from)
{
	static char buf[8192];
	FILE	*fp;

	memset(buf, 0, sizeof(buf));
	fp = fmemopen(buf, sizeof(buf) - 1, "w");
	/* "-" stands for a trusted SMTP client: Date and Message-ID only. */
	if (from != NULL && strcmp(from, "-") == 0)
		msgw_init(w, fp, max, NULL, "ID@host");
	else
		msgw_init(w, fp, max, from, from ? "ID@host" : NULL);
	msgw_write(w, in, len);
	msgw_finish(w);
	fclose(fp);
	return buf;
}

static void
test_data_writer(void)
{
	struct msgwriter w;
	const char *out;
	char	 longline[1200];

	out = written("a\nb\rc\r\n", 7, 1000, &w, NULL);
	CHECK_STR(out, "a\r\nb\r\nc\r\n");	/* bare LF and CR made CRLF */
	out = written("no newline", 10, 1000, &w, NULL);
	CHECK_STR(out, "no newline\r\n");
	out = written("x\r\n", 3, 2, &w, NULL);
	CHECK(w.too_big);
	memset(longline, 'y', 1197);
	memcpy(longline + 1197, "\r\n", 3);
	out = written(longline, 1199, 10000, &w, NULL);	/* kept as it is */
	CHECK(!w.too_big && strcmp(out, longline) == 0);
	out = written("Subject: s\r\n\r\nbody\r\n", 20, 1000, &w,
	    "user@host");
	CHECK(strstr(out, "Message-ID: <ID@host>\r\nFrom: user@host\r\n\r\n"
	    "body") != NULL);
	CHECK(strncmp(out, "Subject: s\r\nDate: ", 18) == 0);
	out = written("Subject: s\r\n\r\nbody\r\n", 20, 1000, &w, "-");
	CHECK(strstr(out, "\r\nMessage-ID: <ID@host>\r\n\r\nbody") != NULL);
	CHECK(strncmp(out, "Subject: s\r\nDate: ", 18) == 0);
	CHECK(strstr(out, "From:") == NULL);
	out = written("From: me@x\r\nDate: d\r\nMessage-ID: <m>\r\n\r\nb\r\n",
	    43, 1000, &w, "user@host");
	CHECK_STR(out, "From: me@x\r\nDate: d\r\nMessage-ID: <m>\r\n\r\nb\r\n");
}

int
main(void)
{
	RUN(test_paths);
	RUN(test_lengths);
	RUN(test_parts_and_routing);
	RUN(test_params);
	RUN(test_data_writer);
	return unit_done();
}
