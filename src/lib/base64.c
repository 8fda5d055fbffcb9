/* SPDX-License-Identifier: ISC */
/*
 * base64.c - base64 both ways, the strict form of RFC 4648 section 4
 * that SMTP AUTH sends (see base64.h).
 */
#include <string.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ssize_t
base64_encode(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t	 i, o = 0;
	unsigned long v;

	if (outlen < (len + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < len) {
		v = (unsigned long)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/* The value of one base64 character, -1 for any other byte. */
static int
value(unsigned char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

ssize_t
base64_decode(const char *in, size_t len, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t	 i, n = 0, pad = 0;
	unsigned long v;
	int	 k, d;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if (i + k >= len - pad) {
				d = 0;		/* padding, at the end only */
				if (in[i + k] != '=')
					return -1;
			} else if ((d = value((unsigned char)in[i + k])) == -1)
				return -1;
			v = v << 6 | (unsigned long)d;
		}
		for (k = 0; k < 3; k++) {
			if (i + 4 == len && k >= 3 - (int)pad) {
				/* bits under the padding must be zero */
				if ((v >> (16 - 8 * k) & 0xff) != 0)
					return -1;
				continue;
			}
			if (n == outlen)
				return -1;
			o[n++] = (unsigned char)(v >> (16 - 8 * k));
		}
	}
	if (n < outlen)
		o[n] = '\0';
	return (ssize_t)n;
}

/*
 * sasl_plain_split - "authzid NUL user NUL password" (RFC 4616 2); an
 * authorization identity other than the user is not allowed.
 */
int
sasl_plain_split(char *buf, size_t len, char **user, char **pass)
{
	char	*z = buf, *u, *p;

	if ((u = memchr(z, '\0', len)) == NULL)
		return -1;
	u++;
	if ((p = memchr(u, '\0', len - (size_t)(u - buf))) == NULL)
		return -1;
	p++;
	if (memchr(p, '\0', len - (size_t)(p - buf)) != NULL)
		return -1;		/* a third NUL */
	if (z[0] != '\0' && strcmp(z, u) != 0)
		return -1;
	*user = u;
	*pass = p;
	return 0;
}
