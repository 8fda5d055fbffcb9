/* SPDX-License-Identifier: ISC */
/*
 * rfc822.h - the little of RFC 5322 that sendmail -t needs: header field
 * names and the addresses of an address-list (To, Cc, Bcc).
 *
 *	n = rfc822_field_name(line);		"To: x" -> 2, "body" -> 0
 *	rfc822_field_is(field, "bcc");		case-insensitive name match
 *	rfc822_addresses(value, fn, arg);	fn(addr, arg) per address
 *	rfc822_quote_phrase("J. Doe", out, len);	"\"J. Doe\""
 */
#ifndef TERN_RFC822_H
#define TERN_RFC822_H

#include <stddef.h>

#define RFC822_ADDR_MAX	1024

/* Length of the field name of "Name: value", 0 if line is no field. */
size_t	rfc822_field_name(const char *line);
int	rfc822_field_is(const char *field, const char *name);
/* A display name as a phrase: quoted (with \\ escapes) when needed. */
void	rfc822_quote_phrase(const char *name, char *out, size_t len);

/*
 * Call fn for each address of an address-list, in order: "Name <a@b>"
 * gives a@b, "a@b (comment)" gives a@b, a group "g: a@b, c@d;" gives its
 * members, a source route "<@x,@y:a@b>" gives a@b; quoted local parts
 * are kept quoted; folding (CRLF + space) is white space.  Returns the
 * number of addresses, or -1 if fn returned non-zero or an address is
 * longer than RFC822_ADDR_MAX.
 */
int	rfc822_addresses(const char *value,
	    int (*fn)(const char *addr, void *arg), void *arg);

#endif
