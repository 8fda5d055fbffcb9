/* SPDX-License-Identifier: ISC */
/*
 * dsn.h - RFC 3463 enhanced status codes ("5.1.1"): the one check that
 * every reader and writer of a code asks, so that an agent's result
 * line, the state file, a bounce and a remote reply cannot disagree.
 *
 * A code is class "." subject "." detail, with class 2, 4 or 5 and
 * subject and detail of 1 to 3 digits each, written without leading
 * zeros (RFC 3463 section 2), and no space inside.  It fits in 12 bytes.
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stddef.h>

/* dsn_span - length of the code s starts with, 0 if it starts with none */
size_t	 dsn_span(const char *s);
/* dsn_is_valid - s is one code and nothing more; NULL is not */
int	 dsn_is_valid(const char *s);
/* dsn_class - 2, 4 or 5 for a valid code, 0 for anything else */
int	 dsn_class(const char *s);
/* dsn_generic - "2.0.0", "4.0.0" or "5.0.0" for class 2, 4, 5; else NULL */
const char *dsn_generic(int class);

#endif
