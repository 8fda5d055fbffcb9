/* SPDX-License-Identifier: ISC */
/*
 * base64.h - base64 (RFC 4648 section 4) for SMTP AUTH (RFC 4954).
 *
 * base64_encode() writes the text and a NUL; it returns its length, or
 * -1 when out is too small (4 * ceil(len / 3) + 1 is enough).
 * base64_decode() takes the strict form AUTH uses: no spaces, no line
 * breaks, padding to a multiple of four, no bits left over; it returns
 * the length decoded, or -1 for text that is not base64 or does not fit.
 * The decoded bytes may hold NULs (AUTH PLAIN's separators); out gets a
 * NUL after them when there is room.
 */
#ifndef TERN_BASE64_H
#define TERN_BASE64_H

#include <stddef.h>
#include <sys/types.h>

ssize_t	base64_encode(const void *in, size_t len, char *out, size_t outlen);
ssize_t	base64_decode(const char *in, size_t len, void *out, size_t outlen);

/*
 * sasl_plain_split - a decoded PLAIN response "authzid NUL user NUL
 * password" (RFC 4616 2) of len bytes: 0 with *user and *pass pointing
 * into buf, -1 when malformed or the authzid is not empty nor the user.
 */
int	sasl_plain_split(char *buf, size_t len, char **user, char **pass);

#endif
