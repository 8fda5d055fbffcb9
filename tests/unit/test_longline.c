/* SPDX-License-Identifier: ISC */
/*
 * test_longline.c - re-encoding messages with lines over 998 octets:
 * every output line fits, short lines and untouched parts stay byte for
 * byte, decoding a converted part gives back the original octets, and
 * what cannot be re-encoded is refused with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longline.h"
#include "mime.h"
#include "unit.h"

struct buf {
	char	*p;
	size_t	 n, cap;
};

static int
collect(void *arg, const char *p, size_t n)
{
	struct buf *b = arg;

	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int
feed(struct longline *ll, const char *in, size_t chunk)
{
	size_t	 len = strlen(in), k;

	for (; len > 0; in += k, len -= k) {
		k = len < chunk ? len : chunk;
		if (longline_write(ll, in, k) == -1)
			return -1;
	}
	return longline_end(ll);
}

/* Both passes with input pieces of chunk octets; NULL if refused. */
static char *
reencode(const char *in, size_t chunk, char *why, size_t whylen)
{
	struct longline *ll = longline_new();
	struct buf out = { NULL, 0, 0 };
	int	 permanent = 0;

	why[0] = '\0';
	longline_begin(ll, 0, NULL, NULL);
	if (feed(ll, in, chunk) == 0) {
		longline_begin(ll, 1, collect, &out);
		collect(&out, "", 0);
		if (feed(ll, in, chunk) == 0) {
			longline_free(ll);
			return out.p;
		}
	}
	snprintf(why, whylen, "%s", longline_error(ll, &permanent));
	if (!permanent)
		snprintf(why, whylen, "temporary");
	longline_free(ll);
	free(out.p);
	return NULL;
}

/* The same output however the input is cut. */
static char *
reencode_all(const char *in, char *why, size_t whylen)
{
	static const size_t chunks[] = { 1, 7, 999, 1000, 1001, 65536 };
	char	*first = reencode(in, chunks[0], why, whylen), *other;
	size_t	 i;

	for (i = 1; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		other = reencode(in, chunks[i], why, whylen);
		CHECK((first == NULL) == (other == NULL));
		if (first != NULL && other != NULL)
			CHECK(strcmp(first, other) == 0);
		free(other);
	}
	return first;
}

static int
lines_fit(const char *s)
{
	const char *crlf;

	for (; *s != '\0'; s = crlf + 2) {
		if ((crlf = strstr(s, "\r\n")) == NULL)
			return 0;	/* every line ends in CRLF */
		if (crlf - s > LONGLINE_MAX || memchr(s, '\n', crlf - s))
			return 0;
	}
	return 1;
}

static int
hexval(int c)
{
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - '0';
}

/* RFC 2045 6.7 decoding, "=\r\n" soft breaks; into a static buffer. */
static const char *
qp_decode(const char *s, const char *end)
{
	static char out[65536];
	size_t	 o = 0;

	while (s < end && o + 1 < sizeof(out)) {
		if (s[0] == '=' && s + 2 < end && s[1] == '\r' &&
		    s[2] == '\n')
			s += 3;
		else if (s[0] == '=' && s + 2 < end) {
			out[o++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 3;
		} else
			out[o++] = *s++;
	}
	out[o] = '\0';
	return out;
}

static char *
repeat(const char *unit, size_t times)
{
	size_t	 n = strlen(unit), i;
	char	*s = malloc(n * times + 1);

	for (i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	s[n * times] = '\0';
	return s;
}

static void
test_scan(void)
{
	struct longline_scan sc = { 0, 0 };
	char	*line = repeat("x", 998);

	CHECK(longline_scan(&sc, line, 998) == 0);
	CHECK(longline_scan(&sc, "\r", 1) == 0);	/* 998 + CR so far */
	CHECK(longline_scan(&sc, "\nshort\r\n", 8) == 0);
	CHECK(longline_scan(&sc, "\n", 1) == 0);
	CHECK(longline_scan(&sc, line, 998) == 0);
	CHECK(longline_scan(&sc, "y", 1) == 0);		/* could still be CR */
	CHECK(longline_scan(&sc, "\n", 1) == 1);	/* 999: too long */
	memset(&sc, 0, sizeof(sc));
	CHECK(longline_scan(&sc, line, 998) == 0);
	CHECK(longline_scan(&sc, "yz", 2) == 1);
	memset(&sc, 0, sizeof(sc));
	CHECK(longline_scan(&sc, line, 998) == 0);
	CHECK(longline_scan(&sc, "\n", 1) == 0);	/* the end of input */
	free(line);
}

static void
test_short_lines_unchanged(void)
{
	static const char msg[] = "Received: by x\r\nSubject: s\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "pre\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b--\r\nepilogue\r\n";
	char	 why[256], *out = reencode_all(msg, why, sizeof(why));

	CHECK(out != NULL && strcmp(out, msg) == 0);
	free(out);
	out = reencode_all("no newline at the end", why, sizeof(why));
	CHECK(out != NULL && strcmp(out, "no newline at the end\r\n") == 0);
	free(out);
}

static void
test_plain_body_to_qp(void)
{
	char	*text = repeat("0123456789 =-.", 150);	/* 2100 octets */
	char	*msg, why[256], *out, *body;

	CHECK(asprintf(&msg, "Subject: long\r\nContent-Transfer-Encoding: "
	    "8bit\r\n\r\nfirst  \r\n%s\r\n-dash\r\n", text) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		CHECK(strstr(out, "8bit") == NULL);
		CHECK(strncmp(out, "Subject: long\r\nContent-Transfer-Encoding: "
		    "quoted-printable\r\nMIME-Version: 1.0\r\n\r\n", 76) == 0);
		body = strstr(out, "\r\n\r\n") + 4;
		CHECK(strstr(out, "\r\n=2Ddash\r\n") != NULL);
		CHECK(strncmp(body, "first =20\r\n", 11) == 0);
		CHECK(strcmp(qp_decode(body, body + strlen(body)),
		    strstr(msg, "\r\n\r\n") + 4) == 0);
	}
	free(out);
	free(msg);
	free(text);
}

static void
test_header_folding(void)
{
	char	*words = repeat("word ", 400), *msg, *out, why[256];
	char	*unfolded, *p, *q;

	CHECK(asprintf(&msg, "Subject: %s\r\n\r\nbody\r\n", words) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		unfolded = strdup(out);	/* RFC 5322 2.2.3: drop CRLF + WSP */
		for (p = q = unfolded; *p; p++)
			if (!(p[0] == '\r' && p[1] == '\n' && p[2] == ' '))
				*q++ = *p;
			else
				p++;
		*q = '\0';
		CHECK(strcmp(unfolded, msg) == 0);
		CHECK(strstr(out, "MIME-Version") == NULL);	/* body as is */
		free(unfolded);
	}
	free(out);
	free(msg);
	free(words);
	CHECK(asprintf(&msg, "X-Token: %s\r\n\r\nb\r\n", (words =
	    repeat("x", 1200))) > 0);
	CHECK(reencode_all(msg, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "no white space to fold") != NULL);
	CHECK(strstr(why, "temporary") == NULL);
	free(msg);
	free(words);
}

static void
test_multipart_one_part(void)
{
	char	*text = repeat("abcdefghij", 120), *msg, *out, why[256];
	char	*part;
	static const char other[] = "--sep\r\nContent-Type: text/plain\r\n\r\n"
	    "short part\r\n";

	CHECK(asprintf(&msg, "MIME-Version: 1.0\r\nContent-Type: multipart/"
	    "mixed;\r\n boundary=sep\r\n\r\n%s--sep\r\nContent-Type: text/html"
	    "\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s\r\n--sep--\r\n",
	    other, text) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		CHECK(strncmp(out, msg, (size_t)(strstr(msg, "Content-"
		    "Transfer") - msg)) == 0);	/* up to the converted field */
		CHECK(strstr(out, other) != NULL);	/* untouched */
		part = strstr(out, "Content-Type: text/html\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		CHECK(part != NULL && strstr(out, "7bit") == NULL);
		CHECK(strstr(out, "MIME-Version: 1.0\r\nContent") == out);
		if (part != NULL) {
			part = strstr(part, "\r\n\r\n") + 4;
			CHECK(strcmp(qp_decode(part, strstr(part, "\r\n--sep--")),
			    text) == 0);
		}
		CHECK(strlen(out) > 11 &&
		    strcmp(out + strlen(out) - 11, "\r\n--sep--\r\n") == 0);
	}
	free(out);
	free(msg);
	free(text);
}

static void
test_nested_message(void)
{
	char	*text = repeat("n", 1500), *msg, *out, why[256], *inner;

	CHECK(asprintf(&msg, "Content-Type: multipart/mixed; boundary=o\r\n"
	    "\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
	    "\r\n%s\r\n--o--\r\n", text) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		CHECK(strncmp(out, "Content-Type: multipart/mixed; boundary=o\r\n"
		    "MIME-Version: 1.0\r\n\r\n", 64) == 0);
		inner = strstr(out, "Subject: inner\r\nContent-Transfer-Encoding"
		    ": quoted-printable\r\nMIME-Version: 1.0\r\n\r\n");
		CHECK(inner != NULL);
		if (inner != NULL) {
			inner = strstr(inner, "\r\n\r\n") + 4;
			CHECK(strcmp(qp_decode(inner, strstr(inner, "\r\n--o")),
			    text) == 0);
		}
	}
	free(out);
	free(msg);
	free(text);
}

static void
test_encoded_parts_rewrapped(void)
{
	char	*b64 = repeat("QUJD", 400), *qp = repeat("a=3Db ", 300);
	char	*msg, *out, why[256], *p, *q, *joined;

	CHECK(asprintf(&msg, "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n",
	    b64) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		CHECK(strstr(out, "\r\n\r\n" "QUJD") != NULL);
		joined = strdup(strstr(out, "\r\n\r\n") + 4);
		for (p = q = joined; *p; p++)
			if (*p != '\r' && *p != '\n')
				*q++ = *p;
		*q = '\0';
		CHECK(strcmp(joined, b64) == 0);
		CHECK(strstr(out, "\r\n" "QUJD") != NULL &&
		    strlen(strstr(out, "\r\n\r\n") + 4) == 1600 + 22 * 2);
		free(joined);
	}
	free(out);
	free(msg);
	CHECK(asprintf(&msg, "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n%s\r\n", qp) > 0);
	out = reencode_all(msg, why, sizeof(why));
	CHECK(out != NULL && lines_fit(out));
	if (out != NULL) {
		p = strstr(out, "\r\n\r\n") + 4;
		joined = strdup(qp_decode(p, p + strlen(p)));
		p = strstr(msg, "\r\n\r\n") + 4;
		CHECK(strcmp(joined, qp_decode(p, p + strlen(p))) == 0);
		free(joined);
	}
	free(out);
	free(msg);
	free(b64);
	free(qp);
}

static void
test_refused(void)
{
	char	*text = repeat("r", 1100), *msg, why[256];

	CHECK(asprintf(&msg, "Content-Transfer-Encoding: binary\r\n\r\n%s\r\n",
	    text) > 0);
	CHECK(reencode_all(msg, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "binary") != NULL);
	free(msg);
	CHECK(asprintf(&msg, "Content-Type: multipart/mixed; boundary=b\r\n"
	    "\r\n%s\r\n--b\r\n\r\nx\r\n--b--\r\n", text) > 0);
	CHECK(reencode_all(msg, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "preamble") != NULL);
	free(msg);
	CHECK(asprintf(&msg, "Content-Type: multipart/mixed; boundary=b\r\n"
	    "\r\n--b\r\n\r\n--b%s\r\n--b--\r\n", text) > 0);
	CHECK(reencode_all(msg, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "boundary") != NULL);
	free(msg);
	CHECK(asprintf(&msg, "Content-Type: message/partial; id=x\r\n\r\n%s\r\n",
	    text) > 0);
	CHECK(reencode_all(msg, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "composite") != NULL);
	free(msg);
	free(text);
}

static void
test_mime_values(void)
{
	static const char ct[] = "multipart/Digest (c) ;\r\n\tcharset=x; "
	    "BOUNDARY=\"a b\\\"c\"; boundary=second";
	struct mime_type t;

	mime_content_type(ct, ct + strlen(ct), &t);
	CHECK(t.kind == MIME_MULTIPART && t.digest);
	CHECK_STR(t.boundary, "a b\"c");
	mime_content_type("text", "text" + 4, &t);
	CHECK(t.kind == MIME_LEAF);
	mime_content_type("message/rfc822", "message/rfc822" + 14, &t);
	CHECK(t.kind == MIME_MESSAGE);
	mime_content_type("message/partial", "message/partial" + 15, &t);
	CHECK(t.kind == MIME_OPAQUE);
	CHECK(mime_encoding(" BASE64 ", " BASE64 " + 8) == MIME_CTE_BASE64);
	CHECK(mime_encoding("8bit", "8bit" + 4) == MIME_CTE_IDENTITY);
	CHECK(mime_encoding("x-uue", "x-uue" + 5) == MIME_CTE_OTHER);
	CHECK(mime_field_name("To: x", 5) == 2);
	CHECK(mime_field_name("To", 2) == 0);
	CHECK(mime_field_name("a b: c", 6) == 0);
}

int
main(void)
{
	RUN(test_scan);
	RUN(test_short_lines_unchanged);
	RUN(test_plain_body_to_qp);
	RUN(test_header_folding);
	RUN(test_multipart_one_part);
	RUN(test_nested_message);
	RUN(test_encoded_parts_rewrapped);
	RUN(test_refused);
	RUN(test_mime_values);
	return unit_done();
}
