/* SPDX-License-Identifier: ISC */
/*
 * fuzz_longline.c - libFuzzer target for longline.c and mime.c: the
 * queue file's message re-encoded for relaying.  Whatever the input,
 * either a pass fails with a reason, or every output line ends in CRLF
 * and has at most 998 octets before it (a CR inside a line, which the
 * queue file never has, counts as one), and the output does not depend
 * on how the input was cut (whole, then in pieces of 1 to 64 octets
 * chosen by the first input byte).  See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longline.h"
#include "mime.h"

struct out {
	char	*p;
	size_t	 n, cap;
	size_t	 col;		/* octets since the last CRLF */
	int	 cr;
};

static int
put(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!o->cr)
				abort();	/* a bare LF */
			o->col = 0;
			o->cr = 0;
			continue;
		}
		o->col += o->cr;	/* a CR inside a line is an octet */
		o->cr = p[i] == '\r';
		o->col += !o->cr;
		if (o->col > LONGLINE_MAX)
			abort();
	}
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			abort();
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

/* both passes; 0 and the output in o, or -1 */
static int
reencode(const uint8_t *data, size_t size, size_t chunk, struct out *o)
{
	struct longline *ll = longline_new();
	size_t	 off, k;
	int	 pass, rc = 0, permanent;

	if (ll == NULL)
		abort();
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		longline_begin(ll, pass, pass ? put : NULL, o);
		for (off = 0; off < size && rc == 0; off += k) {
			k = size - off < chunk ? size - off : chunk;
			rc = longline_write(ll, (const char *)data + off, k);
		}
		if (rc == 0)
			rc = longline_end(ll);
	}
	if (rc == -1 && longline_error(ll, &permanent)[0] == '\0')
		abort();	/* a refusal always says why */
	if (rc == 0 && (o->col != 0 || o->cr))
		abort();	/* the output ends in CRLF */
	longline_free(ll);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = { NULL, 0, 0, 0, 0 }, cut = { NULL, 0, 0, 0, 0 };
	struct mime_type t;
	size_t	 chunk = size > 0 ? (size_t)(data[0] % 64) + 1 : 1;
	int	 a, b;

	mime_content_type((const char *)data, (const char *)data + size, &t);
	if (strlen(t.boundary) > MIME_BOUNDARY_MAX)
		abort();
	mime_encoding((const char *)data, (const char *)data + size);
	if (mime_field_name((const char *)data, size) >= size && size > 0)
		abort();
	a = reencode(data, size, size > 0 ? size : 1, &whole);
	b = reencode(data, size, chunk, &cut);
	if (a != b || (a == 0 && (whole.n != cut.n || (whole.n > 0 &&
	    memcmp(whole.p, cut.p, whole.n) != 0))))
		abort();
	free(whole.p);
	free(cut.p);
	return 0;
}
