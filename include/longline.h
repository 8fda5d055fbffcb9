/* SPDX-License-Identifier: ISC */
/*
 * longline.h - make a message fit the line limit of RFC 5322 2.1.1 (998
 * octets before CRLF) without changing what a MIME reader decodes from it.
 *
 *	struct longline_scan sc = { 0, 0 };
 *	if (longline_scan(&sc, buf, n) || longline_scan(&sc, "\n", 1))
 *		... a line is over the limit ...
 *	ll = longline_new();
 *	longline_begin(ll, 0, NULL, NULL);	pass 1 learns what to convert
 *	longline_write(ll, buf, n); ... longline_end(ll);
 *	longline_begin(ll, 1, put, arg);	pass 2 (and later) writes
 *	longline_write(ll, buf, n); ... longline_end(ll);
 *	longline_free(ll);
 *
 * Both passes must see the same bytes: a part's header comes before its
 * body, so the first pass finds the parts whose body has a long line and
 * the second rewrites their headers.  The output of a learning pass is
 * meaningless.  What the conversion does is described in longline.c.
 */
#ifndef TERN_LONGLINE_H
#define TERN_LONGLINE_H

#include <stddef.h>

#define LONGLINE_MAX	998	/* octets of a line, CRLF not counted */

struct longline;

/* The output: n octets at p; -1 stops the pass. */
typedef int	longline_put(void *arg, const char *p, size_t n);

struct longline_scan {
	size_t	 col;		/* octets of the line in progress */
	int	 cr;		/* and it ends in CR */
};

/*
 * longline_scan - feed a message in pieces, then "\n" to end a last line
 * without one.  Returns 1 once a line has passed LONGLINE_MAX octets
 * (a CR before its LF not counted), else 0.
 */
int	longline_scan(struct longline_scan *, const char *p, size_t n);

/* NULL when out of memory. */
struct longline *longline_new(void);
void	longline_begin(struct longline *, int apply, longline_put *, void *);
/* 0, or -1 once the pass failed (see longline_error). */
int	longline_write(struct longline *, const char *p, size_t n);
int	longline_end(struct longline *);
/*
 * Why the pass failed; *permanent is set when the message itself cannot
 * be re-encoded (not when memory or the output failed).
 */
const char *longline_error(const struct longline *, int *permanent);
/* Parts the learning pass found to need quoted-printable. */
size_t	longline_converted(const struct longline *);
void	longline_free(struct longline *);

#endif
