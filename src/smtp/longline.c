/* SPDX-License-Identifier: ISC */
/*
 * longline.c - re-encode a message so that no line passes 998 octets,
 * without losing an octet of what it means.
 *
 * The message is walked as MIME (RFC 2045, RFC 2046 5.1.1): the header
 * fields of each entity, the boundaries of multipart bodies (nested up
 * to LL_DEPTH), message/rfc822 parts as whole messages.  Then:
 *  - a header line over the limit is folded before white space (RFC
 *    5322 2.2.3), which unfolding undoes exactly;
 *  - a leaf part with no Content-Transfer-Encoding, 7bit or 8bit, whose
 *    body has a long line, is converted to quoted-printable (RFC 2045
 *    6.7): its Content-Transfer-Encoding fields are replaced, and a
 *    MIME-Version: is added to the message when it had none;
 *  - a long line of a quoted-printable part gets soft line breaks, one
 *    of a base64 part is cut into 76-octet lines (decoders ignore line
 *    breaks, RFC 2045 6.8).
 * A line that was not too long is written as it was, except inside a
 * converted part.  A line that a conversion or a new break starts never
 * begins with "-" (it is written "=2D"), so none can pass for a boundary;
 * a soft break never goes inside "=XX" nor before white space (which a
 * decoder keeps there but drops at the end of a line).  What cannot be re-encoded without loss is an error
 * with a reason: a header line with no white space to fold at, a header
 * field over LL_FIELD_MAX, a long line in a binary or unknown encoding,
 * in a multipart preamble or epilogue or in a composite part we do not
 * follow, or one that starts like a boundary.
 * Invariant: every line written ends in CRLF and has at most 998 octets
 * before it.  Input lines end at LF; a CR before it is dropped, and one
 * elsewhere is an octet of the line (the queue file has none).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "longline.h"
#include "mime.h"

#define LL_LINE		(LONGLINE_MAX + 2)	/* a line and its CRLF */
#define LL_QP_MAX	76		/* RFC 2045 6.7 (5), with the "=" */
#define LL_BASE64_MAX	76		/* RFC 2045 6.8 */
#define LL_FIELD_MAX	(1024 * 1024)	/* one header field, folds included */
#define LL_DEPTH	16		/* nested multiparts followed */

enum ll_state { ST_HEADER, ST_BODY, ST_BETWEEN };	/* preamble, epilogue */
enum ll_action { ACT_COPY, ACT_QP, ACT_BASE64, ACT_QPWRAP, ACT_KEEP };
enum ll_fail { FAIL_NONE, FAIL_CONTENT, FAIL_MEMORY, FAIL_OUTPUT };

struct ll_head {
	struct mime_type type;
	enum mime_cte	 cte;
	int		 seen_type, seen_cte;
	int		 mime_version;
	int		 message;	/* the header of a whole message */
};

struct ll_frame {
	char		 boundary[MIME_BOUNDARY_MAX + 1];
	size_t		 len;
	int		 digest;
};

struct longline {
	longline_put	*put;
	void		*arg;
	int		 apply;
	unsigned char	*convert;	/* per entity, in order: to QP */
	size_t		 cap, nlearned;	/* of convert[]; entities learned */
	size_t		 nentities, nconvert;	/* seen in this pass; to QP */
	size_t		 entity;	/* the current one */
	enum ll_state	 state;
	enum ll_action	 action;
	const char	*why;		/* ACT_KEEP, ST_BETWEEN: what it is */
	struct ll_head	 head;
	struct ll_frame	 frame[LL_DEPTH];
	size_t		 depth;
	char		*field;		/* the header field being read */
	size_t		 flen, fcap;
	char		 line[LL_LINE];	/* the start of the current line */
	size_t		 llen, linepos;
	int		 in_long, held_cr;
	size_t		 col;		/* output column of a re-encoded line */
	int		 esc;		/* octets left of a copied "=XX" */
	int		 wsp;		/* QP: a space or tab not yet written */
	char		 out[4096];
	size_t		 olen;
	enum ll_fail	 fail;
	char		 err[256];
};

static void	ll_line(struct longline *, const char *, size_t, int);

int
longline_scan(struct longline_scan *s, const char *p, size_t n)
{
	const char *lf, *end = p + n;
	size_t	 len;

	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((lf != NULL ? lf : end) - p);
		if (len > 0)
			s->cr = p[len - 1] == '\r';
		s->col += len;
		if (lf == NULL)
			return s->col > LONGLINE_MAX + 1;	/* and a CR */
		if (s->col - (size_t)s->cr > LONGLINE_MAX)
			return 1;
		s->col = 0;
		s->cr = 0;
		p = lf + 1;
	}
	return 0;
}

static void	ll_fail(struct longline *, enum ll_fail, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
ll_fail(struct longline *ll, enum ll_fail kind, const char *fmt, ...)
{
	va_list	 ap;

	if (ll->fail != FAIL_NONE)
		return;
	ll->fail = kind;
	va_start(ap, fmt);
	vsnprintf(ll->err, sizeof(ll->err), fmt, ap);
	va_end(ap);
}

static void
ll_flush(struct longline *ll)
{
	if (ll->olen > 0 && ll->put != NULL && ll->fail == FAIL_NONE &&
	    ll->put(ll->arg, ll->out, ll->olen) == -1)
		ll_fail(ll, FAIL_OUTPUT, "cannot write the message");
	ll->olen = 0;
}

static void
emit(struct longline *ll, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0 && ll->put != NULL) {
		if (ll->olen == sizeof(ll->out))
			ll_flush(ll);
		k = sizeof(ll->out) - ll->olen;
		k = k < n ? k : n;
		memcpy(ll->out + ll->olen, p, k);
		ll->olen += k;
		p += k;
		n -= k;
	}
}

static int
field_is(const char *f, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(f, name, n) == 0;
}

/* The first Content-Type and Content-Transfer-Encoding count. */
static void
head_parse(struct ll_head *h, const char *f, size_t len)
{
	size_t	 n = mime_field_name(f, len);
	const char *value = f + n + 1, *end = f + len;

	if (n == 0)
		return;
	if (field_is(f, n, "content-type") && !h->seen_type++)
		mime_content_type(value, end, &h->type);
	else if (field_is(f, n, "content-transfer-encoding") && !h->seen_cte++)
		h->cte = mime_encoding(value, end);
	else if (field_is(f, n, "mime-version"))
		h->mime_version = 1;
}

/* ------------------------------------------------------------------ */
/* Header fields                                                      */

/*
 * fold_line - one header line, broken before white space so that no
 * piece passes the limit; a piece keeps something other than white
 * space (RFC 5322 3.2.2: no line of white space only).
 */
static void
fold_line(struct longline *ll, const char *p, size_t n)
{
	size_t	 start = 0, first, b;

	while (n - start > LONGLINE_MAX) {
		for (first = start; first < n && (p[first] == ' ' ||
		    p[first] == '\t'); first++)
			;
		for (b = start + LONGLINE_MAX; b > first && p[b] != ' ' &&
		    p[b] != '\t'; b--)
			;
		if (b <= first) {
			ll_fail(ll, FAIL_CONTENT, "a header line longer than "
			    "998 octets has no white space to fold at (%.40s)",
			    p);
			return;
		}
		emit(ll, p + start, b - start);
		emit(ll, "\r\n", 2);
		start = b;
	}
	emit(ll, p + start, n - start);
	emit(ll, "\r\n", 2);
}

static int
ll_converting(const struct longline *ll)
{
	return ll->apply && ll->entity < ll->nlearned &&
	    ll->convert[ll->entity];
}

/* field_flush - parse and write the field read so far */
static void
field_flush(struct longline *ll)
{
	const char *p = ll->field, *end, *crlf;
	size_t	 n;

	if (ll->flen == 0)
		return;
	end = p + ll->flen;
	n = mime_field_name(p, ll->flen);
	head_parse(&ll->head, p, ll->flen);
	ll->flen = 0;
	if (ll_converting(ll) &&
	    field_is(p, n, "content-transfer-encoding"))
		return;		/* replaced at the end of the header */
	for (; p < end; p = crlf + 2) {
		if ((crlf = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			crlf = end;
		fold_line(ll, p, (size_t)(crlf - p));
		if (crlf == end)
			break;
	}
}

static void
field_add(struct longline *ll, const char *p, size_t n)
{
	char	*f;
	size_t	 cap;

	if (ll->flen + n > LL_FIELD_MAX) {
		ll_fail(ll, FAIL_CONTENT, "a header field is longer than "
		    "1 MiB");
		return;
	}
	if (ll->flen + n > ll->fcap) {
		cap = ll->fcap ? ll->fcap : 1024;
		while (cap < ll->flen + n)
			cap *= 2;
		if ((f = realloc(ll->field, cap)) == NULL) {
			ll_fail(ll, FAIL_MEMORY, "%s", strerror(ENOMEM));
			return;
		}
		ll->field = f;
		ll->fcap = cap;
	}
	memcpy(ll->field + ll->flen, p, n);
	ll->flen += n;
}

/* ------------------------------------------------------------------ */
/* Entities                                                           */

/* entity_start - the header of a part or message begins */
static void
entity_start(struct longline *ll, int digest_parent, int message)
{
	unsigned char *c;
	size_t	 cap = ll->cap ? ll->cap * 2 : 16;

	if (!ll->apply && ll->nentities == ll->cap) {
		if ((c = realloc(ll->convert, cap)) == NULL) {
			ll_fail(ll, FAIL_MEMORY, "%s", strerror(ENOMEM));
			return;
		}
		ll->convert = c;
		ll->cap = cap;
	}
	ll->entity = ll->nentities++;
	if (!ll->apply) {
		ll->convert[ll->entity] = 0;
		ll->nlearned = ll->nentities;
	}
	memset(&ll->head, 0, sizeof(ll->head));
	ll->head.type.kind = digest_parent ? MIME_MESSAGE : MIME_LEAF;
	ll->head.message = message;
	ll->state = ST_HEADER;
	ll->flen = 0;
}

static void
body_keep(struct longline *ll, const char *why)
{
	ll->state = ST_BODY;
	ll->action = ACT_KEEP;
	ll->why = why;
}

/* body_start - what the header just read says about the body */
static void
body_start(struct longline *ll)
{
	const struct ll_head *h = &ll->head;
	struct ll_frame *f;
	int	 plain = h->cte == MIME_CTE_IDENTITY || h->cte == MIME_CTE_BINARY;

	ll->col = 0;
	ll->esc = ll->wsp = 0;
	ll->state = ST_BODY;
	if (h->cte == MIME_CTE_BASE64 || h->cte == MIME_CTE_QP)
		ll->action = h->cte == MIME_CTE_BASE64 ? ACT_BASE64 :
		    ACT_QPWRAP;
	else if (h->type.kind == MIME_MULTIPART && plain &&
	    h->type.boundary[0] != '\0' && ll->depth < LL_DEPTH) {
		f = &ll->frame[ll->depth++];
		f->len = strlen(h->type.boundary);
		memcpy(f->boundary, h->type.boundary, f->len + 1);
		f->digest = h->type.digest;
		ll->state = ST_BETWEEN;
		ll->why = "in a multipart preamble";
	} else if (h->type.kind == MIME_MESSAGE && plain)
		entity_start(ll, 0, 1);
	else if (h->type.kind != MIME_LEAF)
		body_keep(ll, "in a composite part that cannot be re-encoded");
	else if (h->cte != MIME_CTE_IDENTITY)
		body_keep(ll, "in a part with a binary or unknown encoding");
	else
		ll->action = ll_converting(ll) ? ACT_QP : ACT_COPY;
}

/* header_end - the end of a header, after the fields a conversion needs */
static void
header_end(struct longline *ll, int blank)
{
	const struct ll_head *h = &ll->head;
	int	 added = 0;

	field_flush(ll);
	if (ll_converting(ll)) {
		emit(ll, "Content-Transfer-Encoding: quoted-printable\r\n", 45);
		added = 1;
	}
	if (ll->apply && h->message && !h->mime_version &&
	    (ll_converting(ll) || (ll->entity == 0 && ll->nconvert > 0))) {
		emit(ll, "MIME-Version: 1.0\r\n", 19);
		added = 1;
	}
	if (blank || added)
		emit(ll, "\r\n", 2);
	body_start(ll);
}

/*
 * header_line - a piece of a header line.  A line that is neither a
 * field nor a continuation ends the header, as it does for MIME readers.
 */
static void
header_line(struct longline *ll, const char *p, size_t n, int first,
    int last)
{
	int	 wsp = n > 0 && (p[0] == ' ' || p[0] == '\t');

	if (first && last && n == 0) {
		header_end(ll, 1);
		return;
	}
	if (first && wsp && ll->flen > 0)
		field_add(ll, "\r\n", 2);
	else if (first) {
		field_flush(ll);
		if (!wsp && mime_field_name(p, n) == 0) {
			header_end(ll, 0);
			ll->linepos = 0;
			ll_line(ll, p, n, last);
			return;
		}
	}
	field_add(ll, p, n);
}

/* boundary_hit - a delimiter line of frame i (RFC 2046 5.1.1) */
static void
boundary_hit(struct longline *ll, size_t i, int close, const char *p,
    size_t n)
{
	if (ll->state == ST_HEADER)
		field_flush(ll);	/* a part without a body */
	emit(ll, p, n);
	emit(ll, "\r\n", 2);
	ll->depth = i + 1;
	if (close) {
		ll->depth = i;
		ll->state = ST_BETWEEN;
		ll->why = "in a multipart epilogue";
	} else
		entity_start(ll, ll->frame[i].digest, 0);
}

/* is_boundary - 1 if the line is (or, when long, may be) a delimiter */
static int
is_boundary(struct longline *ll, const char *p, size_t n, int whole)
{
	const struct ll_frame *f;
	size_t	 i, k;
	int	 close;

	for (i = ll->depth; i-- > 0;) {
		f = &ll->frame[i];
		if (n < f->len + 2 || p[0] != '-' || p[1] != '-' ||
		    memcmp(p + 2, f->boundary, f->len) != 0)
			continue;
		if (!whole) {
			ll_fail(ll, FAIL_CONTENT, "a line longer than 998 "
			    "octets starts like a MIME boundary");
			return 1;
		}
		k = f->len + 2;
		close = n >= k + 2 && p[k] == '-' && p[k + 1] == '-';
		for (k += close ? 2 : 0; k < n && (p[k] == ' ' || p[k] == '\t');
		    k++)
			;
		if (k == n) {
			boundary_hit(ll, i, close, p, n);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Bodies                                                             */

static void
qp_token(struct longline *ll, const char *t, size_t n)
{
	char	 dash[3] = "=2D";

	if (ll->col + n > LL_QP_MAX - 1) {
		emit(ll, "=\r\n", 3);
		ll->col = 0;
	}
	if (ll->col == 0 && t[0] == '-') {
		t = dash;	/* no output line can look like a boundary */
		n = 3;
	}
	emit(ll, t, n);
	ll->col += n;
}

static void
qp_escaped(struct longline *ll, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";
	char	 t[3] = { '=', hex[ch >> 4], hex[ch & 15] };

	qp_token(ll, t, 3);
}

/* qp_encode - RFC 2045 6.7: a space before the line end is encoded */
static void
qp_encode(struct longline *ll, const char *p, size_t n, int last)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t	 i;
	char	 ch;

	for (i = 0; i < n; i++) {
		if (ll->wsp) {
			ch = (char)ll->wsp;
			ll->wsp = 0;
			qp_token(ll, &ch, 1);
		}
		if (u[i] == ' ' || u[i] == '\t')
			ll->wsp = u[i];
		else if (u[i] > 32 && u[i] < 127 && u[i] != '=')
			qp_token(ll, p + i, 1);
		else
			qp_escaped(ll, u[i]);
	}
	if (!last)
		return;
	if (ll->wsp)
		qp_escaped(ll, (unsigned char)ll->wsp);
	ll->wsp = 0;
	emit(ll, "\r\n", 2);
	ll->col = 0;
}

/*
 * qp_wrap - soft line breaks in a quoted-printable line, never inside
 * "=XX" nor before white space (which a decoder would then keep where it
 * dropped it at the end of the line).
 */
static void
qp_wrap(struct longline *ll, const char *p, size_t n)
{
	size_t	 i, need;
	int	 wsp;

	for (i = 0; i < n; i++) {
		need = p[i] == '=' ? 3 : 1;
		wsp = p[i] == ' ' || p[i] == '\t';
		if (ll->esc == 0 && !wsp && ll->col + need > LL_QP_MAX - 1) {
			emit(ll, "=\r\n", 3);
			ll->col = 0;
		} else if (ll->col + need > LONGLINE_MAX) {
			ll_fail(ll, FAIL_CONTENT, "a quoted-printable line has "
			    "too much white space to break");
			return;
		}
		if (ll->col == 0 && p[i] == '-')
			emit(ll, "=2D", 3), ll->col += 2;
		else
			emit(ll, p + i, 1);
		ll->col++;
		ll->esc = ll->esc > 0 ? ll->esc - 1 : p[i] == '=' ? 2 : 0;
	}
}

static void
base64_wrap(struct longline *ll, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		if (ll->col == LL_BASE64_MAX) {
			emit(ll, "\r\n", 2);
			ll->col = 0;
		}
		k = LL_BASE64_MAX - ll->col;
		k = k < n ? k : n;
		emit(ll, p, k);
		ll->col += k;
		p += k;
		n -= k;
	}
}

/* body_long - a piece of a body line over the limit */
static void
body_long(struct longline *ll, const char *p, size_t n, int last)
{
	if (ll->state == ST_BETWEEN || ll->action == ACT_KEEP) {
		ll_fail(ll, FAIL_CONTENT, "a line longer than 998 octets is "
		    "%s", ll->why);
		return;
	}
	if (ll->action == ACT_COPY && ll->apply) {
		ll_fail(ll, FAIL_CONTENT, "the message changed");
		return;
	}
	if (ll->action == ACT_COPY && ll->entity < ll->nlearned &&
	    !ll->convert[ll->entity]) {
		ll->convert[ll->entity] = 1;
		ll->nconvert++;
	}
	if (ll->action == ACT_QP)
		qp_encode(ll, p, n, last);
	else if (ll->action == ACT_QPWRAP)
		qp_wrap(ll, p, n);
	else if (ll->action == ACT_BASE64)
		base64_wrap(ll, p, n);
	if (last && ll->action != ACT_QP) {
		emit(ll, "\r\n", 2);
		ll->col = 0;
		ll->esc = 0;
	}
}

static void
body_line(struct longline *ll, const char *p, size_t n, int whole, int last)
{
	if (!whole)
		body_long(ll, p, n, last);
	else if (ll->state == ST_BODY && ll->action == ACT_QP)
		qp_encode(ll, p, n, 1);
	else {
		emit(ll, p, n);
		emit(ll, "\r\n", 2);
	}
}

/* ll_line - a piece of an input line, CRLF removed; last: its end */
static void
ll_line(struct longline *ll, const char *p, size_t n, int last)
{
	int	 first = ll->linepos == 0;
	int	 whole = first && last && n <= LONGLINE_MAX;

	ll->linepos = last ? 0 : ll->linepos + n + 1;
	if (ll->fail != FAIL_NONE)
		return;
	if (first && is_boundary(ll, p, n, whole))
		return;
	if (ll->state == ST_HEADER)
		header_line(ll, p, n, first, last);
	else
		body_line(ll, p, n, whole, last);
}

/* long_bytes - input of a line that did not fit in ll->line */
static void
long_bytes(struct longline *ll, const char *p, size_t n, int eol)
{
	size_t	 len = eol ? n - 1 : n;

	if (ll->held_cr) {
		ll->held_cr = 0;
		if (len > 0 || !eol)
			ll_line(ll, "\r", 1, 0);	/* a CR inside a line */
	}
	if (len > 0 && p[len - 1] == '\r') {
		len--;
		ll->held_cr = !eol;
	}
	if (len > 0 || eol)
		ll_line(ll, p, len, eol);
	ll->in_long = !eol;
}

static void
short_bytes(struct longline *ll, const char *p, size_t n, int eol)
{
	size_t	 room = sizeof(ll->line) - ll->llen, k = n < room ? n : room;
	size_t	 len;

	memcpy(ll->line + ll->llen, p, k);
	ll->llen += k;
	if (k == n && eol) {
		len = ll->llen - 1;
		len -= len > 0 && ll->line[len - 1] == '\r';
		ll->llen = 0;
		ll_line(ll, ll->line, len, 1);
		return;
	}
	if (ll->llen < sizeof(ll->line))
		return;
	ll->llen = 0;
	long_bytes(ll, ll->line, sizeof(ll->line), 0);
	if (k < n)
		long_bytes(ll, p + k, n - k, eol);
}

/* ------------------------------------------------------------------ */

struct longline *
longline_new(void)
{
	return calloc(1, sizeof(struct longline));
}

void
longline_begin(struct longline *ll, int apply, longline_put *put, void *arg)
{
	ll->apply = apply;
	ll->put = put;
	ll->arg = arg;
	ll->fail = FAIL_NONE;
	ll->err[0] = '\0';
	ll->depth = ll->llen = ll->linepos = ll->olen = 0;
	ll->in_long = ll->held_cr = 0;
	ll->nentities = 0;
	if (!apply)
		ll->nconvert = ll->nlearned = 0;
	entity_start(ll, 0, 1);
}

int
longline_write(struct longline *ll, const char *p, size_t n)
{
	const char *lf;
	size_t	 take;

	while (n > 0 && ll->fail == FAIL_NONE) {
		lf = memchr(p, '\n', n);
		take = lf != NULL ? (size_t)(lf - p) + 1 : n;
		if (ll->in_long)
			long_bytes(ll, p, take, lf != NULL);
		else
			short_bytes(ll, p, take, lf != NULL);
		p += take;
		n -= take;
	}
	return ll->fail == FAIL_NONE ? 0 : -1;
}

/* longline_end - a last line without LF is ended as if it had one */
int
longline_end(struct longline *ll)
{
	if (ll->in_long)
		long_bytes(ll, "\n", 1, 1);
	else if (ll->llen > 0)
		short_bytes(ll, "\n", 1, 1);
	if (ll->state == ST_HEADER)
		field_flush(ll);
	ll_flush(ll);
	return ll->fail == FAIL_NONE ? 0 : -1;
}

const char *
longline_error(const struct longline *ll, int *permanent)
{
	*permanent = ll->fail == FAIL_CONTENT;
	return ll->err;
}

size_t
longline_converted(const struct longline *ll)
{
	return ll->nconvert;
}

void
longline_free(struct longline *ll)
{
	if (ll == NULL)
		return;
	free(ll->field);
	free(ll->convert);
	free(ll);
}
