/* SPDX-License-Identifier: ISC */
/*
 * addr.h - RFC 5321 paths: "<local@domain>" in MAIL and RCPT.
 *
 * addr_parse_path() reads a Path or Reverse-path (section 4.1.2) at the
 * start of s, skips a source route, and writes "local@domain" (the local
 * part exactly as written, quotes included) into out; "<>" gives "".
 * *end is set past the closing '>'.  On error it returns -1 and *why
 * says what is wrong in words fit for a 501 reply.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stddef.h>

#define ADDR_ALLOW_NULL	0x01	/* "<>" is legal (MAIL FROM) */
#define ADDR_UTF8	0x02	/* SMTPUTF8: UTF-8 in local part and domain */

int	addr_parse_path(const char *s, int flags, char *out, size_t outlen,
	    const char **end, const char **why);
/* Pointer to the domain part of a parsed address ("" if none). */
const char *addr_domain(const char *addr);
/* Copy the local part (quotes removed, quoted pairs resolved). */
int	addr_local_part(const char *addr, char *out, size_t outlen);
/* Local part uses a relay trick ('%', '!', '@' or a quoted form). */
int	addr_has_routing(const char *addr);
int	addr_is_valid_domain(const char *domain, int utf8);

#endif
