/* SPDX-License-Identifier: ISC */
/*
 * test_envelope.c - the queue-file envelope and state file formats:
 * round trips, a table of malformed inputs that must be refused, and
 * the xtext and NOTIFY codings of RFC 3461.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "statefile.h"
#include "unit.h"

#define ID	"0RB8KX2JZ5Q0A1B"

/* text_file - a stream holding exactly len bytes of s (NULs included) */
static FILE *
text_file(const char *s, size_t len)
{
	FILE	*fp;

	if ((fp = tmpfile()) == NULL)
		return NULL;
	if (fwrite(s, 1, len, fp) != len) {
		fclose(fp);
		return NULL;
	}
	rewind(fp);
	return fp;
}

static void
test_xtext(void)
{
	static const struct {
		const char *plain, *xtext;
	} v[] = {
		{ "a+b=c d", "a+2Bb+3Dc+20d" },
		{ "", "" },
		{ "bob@example.com", "bob@example.com" },
		{ "\t\x7f~!", "+09+7F~!" },
		{ "\xc3\xa9", "+C3+A9" },
	};
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(xtext_encode(v[i].plain, buf, sizeof(buf)) == 0);
		CHECK_STR(buf, v[i].xtext);
		CHECK(xtext_decode(v[i].xtext, buf, sizeof(buf)) == 0);
		CHECK_STR(buf, v[i].plain);
		CHECK(xtext_is_valid(v[i].xtext));
	}
	CHECK(xtext_decode("+41b", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "Ab");
	/* Too small: "a+2B" needs 5 bytes with the NUL. */
	CHECK(xtext_encode("a+", buf, 4) == -1);
	CHECK(xtext_encode("a+", buf, 5) == 0);
	CHECK(xtext_encode("", buf, 0) == -1);
	CHECK(xtext_decode("abcd", buf, 4) == -1);
	CHECK(xtext_decode("abc", buf, 4) == 0);
	/* Strict decoding. */
	CHECK(xtext_decode("a+2b", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a+2", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a+", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a+00", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a=b", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a b", buf, sizeof(buf)) == -1);
	CHECK(xtext_decode("a\xc3\xa9", buf, sizeof(buf)) == -1);
	CHECK(!xtext_is_valid("a+G0"));
	CHECK(!xtext_is_valid("x\n"));
}

static void
test_notify(void)
{
	char	 buf[64];

	CHECK(notify_parse("never") == NOTIFY_NEVER);
	CHECK(notify_parse("success,failure") ==
	    (NOTIFY_SUCCESS | NOTIFY_FAILURE));
	CHECK(notify_parse("DELAY,Success") == (NOTIFY_DELAY | NOTIFY_SUCCESS));
	CHECK(notify_parse("never,success") == -1);
	CHECK(notify_parse("success,never") == -1);
	CHECK(notify_parse("success,success") == -1);
	CHECK(notify_parse("") == -1);
	CHECK(notify_parse("success,") == -1);
	CHECK(notify_parse(",success") == -1);
	CHECK(notify_parse("sometimes") == -1);
	notify_format(NOTIFY_SUCCESS | NOTIFY_FAILURE, buf, sizeof(buf));
	CHECK_STR(buf, "success,failure");
	notify_format(NOTIFY_NEVER, buf, sizeof(buf));
	CHECK_STR(buf, "never");
	notify_format(0, buf, sizeof(buf));
	CHECK_STR(buf, "");
	notify_format(NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY, buf,
	    sizeof(buf));
	CHECK_STR(buf, "success,failure,delay");
	CHECK(notify_parse(buf) == 0x0e);
}

static void
sample_envelope(struct envelope *env)
{
	envelope_init(env);
	memcpy(env->id, ID, sizeof(ID));
	env->arrival = 1764135101;
	strcpy(env->client, "mail.example.org [192.0.2.1]");
	strcpy(env->helo, "mail.example.org");
	strcpy(env->protocol, "ESMTP");
	env->uid = 1000;
	strcpy(env->sender, "al ice+x=y@example.org");
	env->body = BODY_8BITMIME;
	env->smtputf8 = 1;
	env->ret = RET_HDRS;
	strcpy(env->envid, "abc+2Bdef");
	CHECK(envelope_add_rcpt(env, "bob@example.com",
	    NOTIFY_SUCCESS | NOTIFY_FAILURE, "rfc822;bob+40x") == 0);
	CHECK(envelope_add_rcpt(env, "carol@example.com", 0, NULL) == 0);
	CHECK(envelope_add_rcpt(env, "dave@example.com", NOTIFY_NEVER,
	    "") == 0);
	CHECK(envelope_add_rcpt(env, "\"e e\"@example.com", NOTIFY_DELAY,
	    "utf-8;e+20e") == 0);
	CHECK(envelope_add_rcpt(env, "frank@example.com", 0, NULL) == 0);
}

static void
test_envelope_round_trip(void)
{
	static const char body[] = "Received: from x\r\n\r\nhello\r\n";
	struct envelope env, got;
	char	 err[256], rest[256];
	size_t	 i, n;
	FILE	*fp;

	sample_envelope(&env);
	CHECK((fp = tmpfile()) != NULL);
	CHECK(envelope_write(fp, &env) == 0);
	fputs(body, fp);
	rewind(fp);
	err[0] = '\0';
	CHECK(envelope_read(fp, &got, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	n = fread(rest, 1, sizeof(rest), fp);
	CHECK(n == strlen(body) && memcmp(rest, body, n) == 0);
	fclose(fp);
	CHECK(got.version == 1);
	CHECK_STR(got.id, ID);
	CHECK(got.arrival == 1764135101);
	CHECK_STR(got.client, env.client);
	CHECK_STR(got.helo, env.helo);
	CHECK_STR(got.protocol, "ESMTP");
	CHECK(got.uid == 1000);
	CHECK_STR(got.sender, "al ice+x=y@example.org");
	CHECK(got.body == BODY_8BITMIME && got.smtputf8 == 1);
	CHECK(got.ret == RET_HDRS);
	CHECK_STR(got.envid, "abc+2Bdef");
	CHECK(got.nrcpt == env.nrcpt);
	for (i = 0; i < got.nrcpt && i < env.nrcpt; i++) {
		CHECK_STR(got.rcpt[i].addr, env.rcpt[i].addr);
		CHECK_STR(got.rcpt[i].orcpt, env.rcpt[i].orcpt);
		CHECK(got.rcpt[i].notify == env.rcpt[i].notify);
	}
	envelope_free(&got);
	envelope_free(&env);
}

/* The exact bytes, so that other readers (mailq, people) can rely on them. */
static void
test_envelope_golden(void)
{
	static const char want[] =
	    "version: 1\n"
	    "id: " ID "\n"
	    "arrival: 1764135101\n"
	    "client: localhost\n"
	    "helo: \n"
	    "protocol: LOCAL\n"
	    "sender: \n"
	    "body: 7bit\n"
	    "smtputf8: no\n"
	    "rcpt: bob@example.com notify=success,failure orcpt=rfc822;bob@x\n"
	    "\n";
	struct envelope env, got;
	char	 buf[1024], err[256];
	size_t	 n;
	FILE	*fp;

	envelope_init(&env);
	memcpy(env.id, ID, sizeof(ID));
	env.arrival = 1764135101;
	strcpy(env.client, "localhost");
	strcpy(env.protocol, "LOCAL");
	CHECK(envelope_add_rcpt(&env, "bob@example.com",
	    NOTIFY_SUCCESS | NOTIFY_FAILURE, "rfc822;bob@x") == 0);
	CHECK((fp = tmpfile()) != NULL);
	CHECK(envelope_write(fp, &env) == 0);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	CHECK_STR(buf, want);
	rewind(fp);
	CHECK(envelope_read(fp, &got, err, sizeof(err)) == 0);
	CHECK(got.uid == -1 && got.ret == RET_UNSET && got.sender[0] == '\0');
	CHECK(got.helo[0] == '\0' && got.envid[0] == '\0');
	CHECK(fgetc(fp) == EOF);
	fclose(fp);
	envelope_free(&got);
	envelope_free(&env);
}

#define L_V	"version: 1\n"
#define L_I	"id: " ID "\n"
#define L_A	"arrival: 1764135101\n"
#define L_C	"client: mail.example.org [192.0.2.1]\n"
#define L_H	"helo: mail.example.org\n"
#define L_P	"protocol: ESMTP\n"
#define L_S	"sender: alice@example.org\n"
#define L_B	"body: 8bitmime\n"
#define L_U	"smtputf8: no\n"
#define L_R	"rcpt: bob@example.com\n"
#define BASE	L_V L_I L_A L_C L_H L_P L_S L_B L_U
#define CASE(text, why)	{ text, sizeof(text) - 1, why }

static const struct bad_case {
	const char	*text;
	size_t		 len;
	const char	*why;		/* expected substring of err */
} bad_envelopes[] = {
	CASE(BASE "foo: bar\n" L_R "\n", "line 10: unknown key \"foo\""),
	CASE(BASE "\n", "missing key \"rcpt\""),
	CASE(L_V L_I L_A L_C L_H L_P L_B L_U L_R "\n",
	    "missing key \"sender\""),
	CASE("version: 2\n" L_I L_A L_C L_H L_P L_S L_B L_U L_R "\n",
	    "line 1: version: unsupported version"),
	CASE(L_I L_V L_A L_C L_H L_P L_S L_B L_U L_R "\n",
	    "line 1: expected \"version\" first"),
	CASE(BASE L_V L_R "\n", "line 10: duplicate key \"version\""),
	CASE(BASE L_H L_R "\n", "line 10: duplicate key \"helo\""),
	CASE(BASE "rcpt: bob+4@x\n\n", "line 10: rcpt: bad xtext"),
	CASE(BASE "rcpt: bob+4a@x\n\n", "line 10: rcpt: bad xtext"),
	CASE(BASE "rcpt: b\0b@x\n\n", "line 10: NUL byte"),
	CASE(BASE "rcpt: bob@x notify=never,success\n\n", "bad notify"),
	CASE(BASE "rcpt: bob@x notify=SUCCESS\n\n", "bad notify"),
	CASE(BASE "rcpt: bob@x notify=success notify=delay\n\n",
	    "repeated parameter"),
	CASE(BASE "rcpt: bob@x foo=bar\n\n", "bad or repeated parameter"),
	CASE(BASE "rcpt: bob@x  notify=delay\n\n", "bad or repeated"),
	CASE(BASE "rcpt: bob@x \n\n", "bad or repeated"),
	CASE(BASE "rcpt: bob@x orcpt=bob@x\n\n", "bad orcpt"),
	CASE(BASE "rcpt: bob@x orcpt=rfc822;\n\n", "bad orcpt"),
	CASE(BASE "rcpt: \n\n", "rcpt: bad xtext"),
	CASE(L_V L_I "arrival: 12a\n" L_C L_H L_P L_S L_B L_U L_R "\n",
	    "line 3: arrival: bad number"),
	CASE(L_V L_I "arrival: -5\n" L_C L_H L_P L_S L_B L_U L_R "\n",
	    "bad number"),
	CASE(L_V L_I "arrival: 012\n" L_C L_H L_P L_S L_B L_U L_R "\n",
	    "bad number"),
	CASE(L_V L_I "arrival: 99999999999999999999\n" L_C L_H L_P L_S L_B
	    L_U L_R "\n", "bad number"),
	CASE(L_V L_I "arrival: \n" L_C L_H L_P L_S L_B L_U L_R "\n",
	    "bad number"),
	CASE(BASE "uid: -1\n" L_R "\n", "uid: bad number"),
	CASE(BASE L_R, "line 11: unexpected end of file"),
	CASE(BASE "rcpt: bob@x", "missing newline"),
	CASE(L_V "id: 0RB8KX2JZ5Q0A1E\n" L_A L_C L_H L_P L_S L_B L_U L_R "\n",
	    "id: bad queue id"),
	CASE(L_V "id: 0RB8KX2JZ5Q0A1\n" L_A L_C L_H L_P L_S L_B L_U L_R "\n",
	    "id: bad queue id"),
	CASE(L_V L_I L_A L_C L_H L_P L_S "body: binarymime\n" L_U L_R "\n",
	    "body: unexpected value"),
	CASE(L_V L_I L_A L_C L_H L_P L_S L_B "smtputf8: YES\n" L_R "\n",
	    "smtputf8: unexpected value"),
	CASE(BASE "ret: -\n" L_R "\n", "ret: expected full or hdrs"),
	CASE(BASE "envid: \n" L_R "\n", "envid: bad xtext"),
	CASE(BASE "envid: a=b\n" L_R "\n", "envid: bad xtext"),
	CASE(L_V L_I L_A L_C "helo:mail\n" L_P L_S L_B L_U L_R "\n",
	    "line 5: expected \"key: value\""),
	CASE(L_V L_I L_A L_C "Helo: mail\n" L_P L_S L_B L_U L_R "\n",
	    "line 5: expected \"key: value\""),
	CASE(L_V L_I L_A L_C "helo: a\tb\n" L_P L_S L_B L_U L_R "\n",
	    "line 5: control byte 0x09"),
	CASE(L_V L_I L_A L_C "helo: a\r\n" L_P L_S L_B L_U L_R "\n",
	    "line 5: control byte 0x0d"),
	CASE(L_V L_I L_A "client: \n" L_H L_P L_S L_B L_U L_R "\n",
	    "client: empty value"),
	CASE(L_V L_I L_A L_C L_H "protocol: E SMTP\n" L_S L_B L_U L_R "\n",
	    "bad protocol name"),
	CASE(L_V L_I L_A L_C L_H L_P "sender: a+00b\n" L_B L_U L_R "\n",
	    "sender: bad xtext"),
	CASE(L_V L_I L_A L_C L_H L_P "sender: a+2bb\n" L_B L_U L_R "\n",
	    "sender: bad xtext"),
	CASE("\n", "line 1: empty line before \"version\""),
	CASE("", "line 1: unexpected end of file"),
};

static void
test_envelope_rejects(void)
{
	struct envelope env;
	char	 err[256], err2[256], *copy;
	size_t	 i, used;
	FILE	*fp;

	/* The base itself is fine: each case breaks exactly one thing. */
	fp = text_file(BASE L_R "\n", sizeof(BASE L_R "\n") - 1);
	CHECK(fp != NULL && envelope_read(fp, &env, err, sizeof(err)) == 0);
	CHECK(env.nrcpt == 1);
	envelope_free(&env);
	fclose(fp);
	for (i = 0; i < sizeof(bad_envelopes) / sizeof(bad_envelopes[0]);
	    i++) {
		err[0] = '\0';
		fp = text_file(bad_envelopes[i].text, bad_envelopes[i].len);
		CHECK(fp != NULL);
		if (fp == NULL)
			continue;
		if (envelope_read(fp, &env, err, sizeof(err)) != -1 ||
		    strstr(err, bad_envelopes[i].why) == NULL) {
			printf("  case %zu: got \"%s\", want \"%s\"\n", i, err,
			    bad_envelopes[i].why);
			unit_failed_now = 1;
		}
		CHECK(env.nrcpt == 0 && env.rcpt == NULL);
		envelope_free(&env);
		fclose(fp);
		/* From memory (queuefile_head_at's first read): the same. */
		if ((copy = malloc(bad_envelopes[i].len + 1)) == NULL)
			continue;
		memcpy(copy, bad_envelopes[i].text, bad_envelopes[i].len);
		err2[0] = '\0';
		if (envelope_parse(copy, bad_envelopes[i].len, &env, &used,
		    err2, sizeof(err2)) != -1 || strcmp(err, err2) != 0) {
			printf("  case %zu from memory: got \"%s\", want "
			    "\"%s\"\n", i, err2, err);
			unit_failed_now = 1;
		}
		CHECK(env.nrcpt == 0 && env.rcpt == NULL);
		envelope_free(&env);
		free(copy);
	}
}

/*
 * test_envelope_parse - from memory, a good envelope reads as from a
 * stream and *used is where the body starts; one cut short anywhere is
 * refused, never read past its length.
 */
static void
test_envelope_parse(void)
{
	static const char text[] = BASE L_R "\nbody\r\n";
	struct envelope env;
	char	 err[256], *copy, line[64], text2[512], err2[256];
	size_t	 used, len, cut, ok = 1, n, place;
	int	 c, r1, r2;
	FILE	*fp;

	len = sizeof(text) - 1;
	CHECK((copy = malloc(len)) != NULL);
	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	CHECK(envelope_parse(copy, len, &env, &used, err, sizeof(err)) == 0);
	CHECK(env.nrcpt == 1 && used == len - strlen("body\r\n"));
	envelope_free(&env);
	for (cut = 0; cut < len - strlen("body\r\n"); cut++) {
		free(copy);
		/* exactly cut bytes, so ASan sees a read past them */
		if ((copy = malloc(cut + (cut == 0))) == NULL)
			return;
		memcpy(copy, text, cut);
		if (envelope_parse(copy, cut, &env, &used, err,
		    sizeof(err)) != -1 || err[0] == '\0')
			ok = 0;
		envelope_free(&env);
	}
	CHECK(ok);
	free(copy);
	/*
	 * Every byte value at each of 16 places of a line (each place of a
	 * word of 8): refused from memory exactly when from a stream, for
	 * the same reason, and always when it is a control byte.
	 */
	for (c = 1; c < 256; c++)
		for (place = 0; place < 16; place++) {
			snprintf(line, sizeof(line), "rcpt: bob%s@example.com\n",
			    "0123456789abcdef");
			line[9 + place] = (char)c;
			n = (size_t)snprintf(text2, sizeof(text2), "%s%s\n",
			    BASE, line);
			if ((fp = text_file(text2, n)) == NULL)
				continue;
			err[0] = err2[0] = '\0';
			r1 = envelope_read(fp, &env, err, sizeof(err));
			envelope_free(&env);
			fclose(fp);
			r2 = envelope_parse(text2, n, &env, &used, err2,
			    sizeof(err2));
			envelope_free(&env);
			if (r1 != r2 || strcmp(err, err2) != 0 ||
			    (r1 == 0 && (c < 0x20 || c == 0x7f))) {
				printf("  byte 0x%02x at %zu: %d \"%s\" / %d "
				    "\"%s\"\n", c, place, r1, err, r2, err2);
				ok = 0;
			}
		}
	CHECK(ok);
}

/* long_rcpt - a rcpt line of exactly len bytes with its newline */
static void
long_rcpt(struct envelope *env, size_t len)
{
	char	 addr[ADDR_MAX], orcpt[ADDR_MAX];
	size_t	 fixed;

	memset(addr, '=', ADDR_MAX - 1);	/* each '=' is "+3D" */
	addr[ADDR_MAX - 1] = '\0';
	fixed = strlen("rcpt: ") + 3 * (ADDR_MAX - 1) +
	    strlen(" notify=success,failure,delay orcpt=rfc822;") + 1;
	memset(orcpt, 'o', sizeof(orcpt));
	memcpy(orcpt, "rfc822;", 7);
	orcpt[7 + len - fixed] = '\0';
	CHECK(envelope_add_rcpt(env, addr, 0x0e, orcpt) == 0);
}

static void
test_envelope_line_limit(void)
{
	struct envelope env, got;
	char	 err[256];
	FILE	*fp;

	sample_envelope(&env);
	long_rcpt(&env, 2048);
	CHECK((fp = tmpfile()) != NULL);
	CHECK(envelope_write(fp, &env) == 0);
	rewind(fp);
	CHECK(envelope_read(fp, &got, err, sizeof(err)) == 0);
	CHECK(got.nrcpt == 6 && strcmp(got.rcpt[5].addr, env.rcpt[5].addr)
	    == 0 && strcmp(got.rcpt[5].orcpt, env.rcpt[5].orcpt) == 0);
	envelope_free(&got);
	fclose(fp);
	envelope_free(&env);

	/* One byte more: the writer refuses, and so does the reader. */
	sample_envelope(&env);
	long_rcpt(&env, 2049);
	CHECK((fp = tmpfile()) != NULL);
	errno = 0;
	CHECK(envelope_write(fp, &env) == -1 && errno == EOVERFLOW);
	rewind(fp);
	fputs(BASE "rcpt: ", fp);
	fprintf(fp, "%02042d\n\n", 0);
	rewind(fp);
	CHECK(envelope_read(fp, &got, err, sizeof(err)) == -1);
	CHECK(strstr(err, "line 10: line too long") != NULL);
	fclose(fp);
	envelope_free(&env);
}

static void
test_envelope_write_refuses(void)
{
	struct envelope env;
	FILE	*fp;

	CHECK((fp = tmpfile()) != NULL);
	sample_envelope(&env);
	strcpy(env.helo, "evil\r\nrcpt: x@y");
	CHECK(envelope_write(fp, &env) == -1);
	envelope_free(&env);
	sample_envelope(&env);
	strcpy(env.id, "short");
	CHECK(envelope_write(fp, &env) == -1);
	envelope_free(&env);
	envelope_init(&env);
	memcpy(env.id, ID, sizeof(ID));
	strcpy(env.client, "c");
	strcpy(env.protocol, "SMTP");
	CHECK(envelope_write(fp, &env) == -1);		/* no recipient */
	CHECK(envelope_add_rcpt(&env, "", 0, NULL) == -1);
	CHECK(envelope_add_rcpt(&env, "a@b", NOTIFY_NEVER | NOTIFY_DELAY,
	    NULL) == -1);
	CHECK(envelope_add_rcpt(&env, "a@b", 0, "no-semicolon") == -1);
	CHECK(envelope_add_rcpt(&env, "a@b", 0, "rfc822;a b") == -1);
	CHECK(env.nrcpt == 0);
	envelope_free(&env);
	fclose(fp);
}

static void
test_state_round_trip(void)
{
	struct state st, got;
	char	 err[256], buf[1024];
	size_t	 i, n;
	FILE	*fp;

	CHECK(state_alloc(&st, ID, 4) == 0);
	CHECK(st.nrcpt == 4 && st.rcpt[3].state == RCPT_PENDING);
	st.held = 1;
	st.rcpt[0].state = RCPT_DEFERRED;
	st.rcpt[0].attempts = 3;
	st.rcpt[0].next_attempt = 1764136901;
	st.rcpt[0].last_attempt = 1764135201;
	strcpy(st.rcpt[0].dsn, "4.4.1");
	strcpy(st.rcpt[0].reply, "451 4.4.1 try later (host=mx.example.com)");
	st.rcpt[1].state = RCPT_DELIVERED;
	strcpy(st.rcpt[1].dsn, "2.0.0");
	st.rcpt[2].state = RCPT_FAILED;
	strcpy(st.rcpt[2].reply, "-");
	CHECK((fp = tmpfile()) != NULL);
	CHECK(state_write(fp, &st) == 0);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	CHECK(strstr(buf, "rcpt: 0 deferred 3 1764136901 1764135201 4.4.1 "
	    "451+204.4.1+20try") != NULL);
	CHECK(strstr(buf, "rcpt: 2 failed 0 0 0 - +2D\n") != NULL);
	CHECK(strstr(buf, "rcpt: 3 pending 0 0 0 - -\n") != NULL);
	rewind(fp);
	CHECK(state_read(fp, &got, err, sizeof(err)) == 0);
	fclose(fp);
	CHECK_STR(got.id, ID);
	CHECK(got.held == 1 && got.warned == 0 && got.nrcpt == 4);
	for (i = 0; i < got.nrcpt && i < st.nrcpt; i++) {
		CHECK(got.rcpt[i].state == st.rcpt[i].state);
		CHECK(got.rcpt[i].attempts == st.rcpt[i].attempts);
		CHECK(got.rcpt[i].next_attempt == st.rcpt[i].next_attempt);
		CHECK(got.rcpt[i].last_attempt == st.rcpt[i].last_attempt);
		CHECK_STR(got.rcpt[i].dsn, st.rcpt[i].dsn);
		CHECK_STR(got.rcpt[i].reply, st.rcpt[i].reply);
	}
	CHECK_STR(rcpt_state_name(RCPT_DEFERRED), "deferred");
	CHECK_STR(rcpt_state_name(42), "unknown");
	state_free(&got);
	state_free(&st);
}

#define S_HEAD	"version: 1\nid: " ID "\nheld: no\nwarned: no\n"
#define S_R0	"rcpt: 0 deferred 3 1764136901 1764135201 4.4.1 451+20later\n"

static const struct bad_case bad_states[] = {
	CASE(S_HEAD, "missing key \"rcpt\""),
	CASE("", "empty state file"),
	CASE("version: 1\nid: " ID "\nheld: no\n" S_R0,
	    "missing key \"warned\""),
	CASE("held: no\n" S_HEAD S_R0, "line 1: expected \"version\" first"),
	CASE(S_HEAD "held: yes\n" S_R0, "line 5: duplicate key \"held\""),
	CASE("version: 1\nid: " ID "\nheld: maybe\nwarned: no\n" S_R0,
	    "line 3: held: unexpected value"),
	CASE(S_HEAD "rcpt: 1 deferred 3 1 1 4.4.1 -\n", "index out of"),
	CASE(S_HEAD S_R0 S_R0, "line 6: rcpt: index out of sequence"),
	CASE(S_HEAD "rcpt: 0 sleeping 3 1 1 4.4.1 -\n", "bad recipient state"),
	CASE(S_HEAD "rcpt: 0 deferred -3 1 1 4.4.1 -\n", "bad number"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1x 1 4.4.1 -\n", "bad number"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4 -\n", "bad dsn code"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1.1 -\n", "bad dsn code"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 x.4.1 -\n", "bad dsn code"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4..1 -\n", "bad dsn code"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1\n", "expected 7 fields"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1 - x\n", "expected 7 fields"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1 a+2a\n", "bad xtext"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1 -\n\n", "line 6: expected"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1 -", "missing newline"),
	CASE(S_HEAD "rcpt: 0 deferred 3 1 1 4.4.1 \0\n", "NUL byte"),
	CASE("version: 1\nid: " ID "\nheld: no\nwarned: no\nfoo: 1\n" S_R0,
	    "line 5: unknown key \"foo\""),
};

static void
test_state_rejects(void)
{
	struct state st;
	char	 err[256];
	size_t	 i;
	FILE	*fp;

	fp = text_file(S_HEAD S_R0, sizeof(S_HEAD S_R0) - 1);
	CHECK(fp != NULL && state_read(fp, &st, err, sizeof(err)) == 0);
	CHECK(st.nrcpt == 1 && st.rcpt[0].attempts == 3);
	CHECK_STR(st.rcpt[0].reply, "451 later");
	state_free(&st);
	fclose(fp);
	for (i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
		err[0] = '\0';
		if ((fp = text_file(bad_states[i].text,
		    bad_states[i].len)) == NULL)
			continue;
		if (state_read(fp, &st, err, sizeof(err)) != -1 ||
		    strstr(err, bad_states[i].why) == NULL) {
			printf("  case %zu: got \"%s\", want \"%s\"\n", i, err,
			    bad_states[i].why);
			unit_failed_now = 1;
		}
		CHECK(st.nrcpt == 0 && st.rcpt == NULL);
		fclose(fp);
	}
	/* The writer refuses what the reader would. */
	CHECK((fp = tmpfile()) != NULL);
	CHECK(state_alloc(&st, ID, 1) == 0);
	strcpy(st.rcpt[0].dsn, "4.4");
	CHECK(state_write(fp, &st) == -1);
	state_free(&st);
	CHECK(state_alloc(&st, "bad", 1) == -1 && errno == EINVAL);
	CHECK(state_alloc(&st, ID, 0) == -1);
	fclose(fp);
}

int
main(void)
{
	RUN(test_xtext);
	RUN(test_notify);
	RUN(test_envelope_round_trip);
	RUN(test_envelope_golden);
	RUN(test_envelope_rejects);
	RUN(test_envelope_parse);
	RUN(test_envelope_line_limit);
	RUN(test_envelope_write_refuses);
	RUN(test_state_round_trip);
	RUN(test_state_rejects);
	return unit_done();
}
