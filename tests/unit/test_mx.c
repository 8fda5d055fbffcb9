/* SPDX-License-Identifier: ISC */
/*
 * test_mx.c - the TLSA parser of mx.c (DANE, RFC 7672) on answers built
 * here byte by byte: digest records kept, full certificates (matching
 * type 0) and oversized data left out, other types ignored; the TTL of
 * an answer; the MX answer's text form that the queue runner keeps
 * (mx_to_text, mx_from_text).  No network.
 */
#include <stdio.h>
#include <string.h>

#include "mx.h"
#include "mx_priv.h"
#include "unit.h"

/* put_rr - one answer record of type with rdata, its owner a pointer */
static size_t
put_rr(unsigned char *p, int type, const unsigned char *rdata, size_t len)
{
	size_t	 n = 0;

	p[n++] = 0xc0;		/* the name: a pointer to the question's */
	p[n++] = 12;
	p[n++] = 0;
	p[n++] = (unsigned char)type;
	p[n++] = 0;
	p[n++] = 1;		/* class IN */
	memset(p + n, 0, 3);
	n += 3;
	p[n++] = 60;		/* TTL */
	p[n++] = (unsigned char)(len >> 8);
	p[n++] = (unsigned char)len;
	memcpy(p + n, rdata, len);
	return n + len;
}

static void
test_tlsa(void)
{
	static const unsigned char head[] = {
		0x12, 0x34, 0x84, 0x20, 0, 1, 0, 4, 0, 0, 0, 0,
		4, '_', '2', '5', 0, 4, '_', 't', 'c', 'p', 2, 'm', 'x',
		4, 't', 'e', 's', 't', 0, 0, 52, 0, 1 };
	unsigned char answer[1024], rd[200];
	struct mx_tlsa out[MX_TLSA_MAX];
	size_t	 n = sizeof(head), i;

	memcpy(answer, head, n);
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	for (i = 0; i < 32; i++)
		rd[3 + i] = (unsigned char)i;
	n += put_rr(answer + n, 52, rd, 35);
	rd[2] = 0;		/* a whole certificate: not kept */
	n += put_rr(answer + n, 52, rd, 35);
	rd[2] = 2;		/* SHA-512 data, but 100 octets: too long */
	n += put_rr(answer + n, 52, rd, 103);
	n += put_rr(answer + n, 1, (const unsigned char *)"\177\0\0\1", 4);
	CHECK(mx_parse_tlsa(answer, (int)n, out, MX_TLSA_MAX) == 1);
	CHECK(out[0].usage == 3 && out[0].selector == 1 && out[0].mtype == 1);
	CHECK(out[0].len == 32 && out[0].data[31] == 31);
	CHECK(mx_parse_tlsa(answer, (int)n, out, 0) == 0);
	CHECK(mx_parse_tlsa(answer, 20, out, MX_TLSA_MAX) == 0);
	CHECK(mx_answer_ttl(answer, (int)n, 52) == 60);
	CHECK(mx_answer_ttl(answer, (int)n, 15) == 0);
}

static void
test_mx_text(void)
{
	struct mx_host h[3], back[MX_HOSTS_MAX];
	char	 text[MX_TEXT_MAX];
	unsigned long ttl;
	size_t	 n, i;
	int	 secure;

	snprintf(h[0].name, sizeof(h[0].name), "mx1.example.org");
	h[0].pref = 10;
	snprintf(h[1].name, sizeof(h[1].name), "mx2.example.org");
	h[1].pref = 20;
	mx_to_text(h, 2, 1, 300, text, sizeof(text));
	CHECK_STR(text, "1 300 10 mx1.example.org 20 mx2.example.org");
	CHECK(mx_from_text(text, back, MX_HOSTS_MAX, &n, &secure, &ttl) == 0);
	CHECK(n == 2 && secure == 1 && ttl == 300);
	CHECK_STR(back[1].name, "mx2.example.org");
	CHECK(back[1].pref == 20);
	/* what mx_to_text() never writes is refused */
	CHECK(mx_from_text("1 300", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("2 300 10 a.b", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("0 x 10 a.b", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("0 1 70000 a.b", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("0 1 10 a/b", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("0 1 10 a.b 20", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	CHECK(mx_from_text("0 1 10 a.b ", back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == -1);
	/* a long answer keeps the hosts that fit */
	for (i = 0; i < MX_HOSTS_MAX; i++) {
		memset(back[i].name, 'a', 200);
		back[i].name[200] = '\0';
		back[i].pref = (int)i;
	}
	mx_to_text(back, MX_HOSTS_MAX, 0, 60, text, sizeof(text));
	CHECK(strlen(text) < MX_TEXT_MAX);
	CHECK(mx_from_text(text, h, 3, &n, &secure, &ttl) == 0 ||
	    n == 3);
	CHECK(mx_from_text(text, back, MX_HOSTS_MAX, &n, &secure,
	    &ttl) == 0);
	CHECK(n > 1 && n < MX_HOSTS_MAX);
}

int
main(void)
{
	RUN(test_tlsa);
	RUN(test_mx_text);
	return unit_done();
}
