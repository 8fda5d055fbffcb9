/* SPDX-License-Identifier: ISC */
/*
 * addr.c - parse RFC 5321 Path and Reverse-path (section 4.1.2).
 *
 *	Path = "<" [ A-d-l ":" ] Mailbox ">"	(source route ignored, 4.1.2)
 *	Mailbox = Local-part "@" ( Domain / address-literal )
 *	Local-part = Dot-string / Quoted-string
 *
 * Limits of section 4.5.3.1: local part 64 octets, domain 255, path 256.
 * With SMTPUTF8 (RFC 6531 3.3) octets >= 0x80 are allowed in atoms and
 * labels; they are not validated as UTF-8 here beyond that.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "addr.h"

#define LOCAL_MAX	64
#define DOMAIN_MAX	255
#define PATH_MAX_LEN	256

static int
is_atext(unsigned char c, int utf8)
{
	if (c >= 0x80)
		return utf8;
	return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_ldh(unsigned char c, int utf8)
{
	return isalnum(c) || c == '-' || (utf8 && c >= 0x80);
}

/* Length of a domain (sub-domains) at s, or 0 if none is there. */
static size_t
scan_domain(const char *s, int utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t	 label;

	for (;;) {
		for (label = 0; is_ldh(p[label], utf8); label++)
			;
		if (label == 0 || label > 63 || p[0] == '-' ||
		    p[label - 1] == '-')
			return 0;
		p += label;
		if (*p != '.' || !is_ldh(p[1], utf8))
			break;
		p++;
	}
	return (size_t)((const char *)p - s);
}

/* Length of an address literal "[...]" at s, or 0 if invalid. */
static size_t
scan_literal(const char *s)
{
	const char *close = strchr(s, ']');
	char	 buf[64];
	unsigned char bin[16];
	size_t	 n;

	if (*s != '[' || close == NULL)
		return 0;
	n = (size_t)(close - s - 1);
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s + 1, n);
	buf[n] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, buf + 5, bin) != 1)
			return 0;
	} else if (inet_pton(AF_INET, buf, bin) != 1)
		return 0;
	return n + 2;
}

int
addr_is_valid_domain(const char *domain, int utf8)
{
	size_t	 n;

	if (*domain == '[')
		n = scan_literal(domain);
	else
		n = scan_domain(domain, utf8);
	return n > 0 && n <= DOMAIN_MAX && domain[n] == '\0';
}

/* Length of the local part at s, or 0 with *why set. */
static size_t
scan_local(const char *s, int utf8, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\') {
				if (p[1] < 32 || p[1] > 126) {
					*why = "bad quoted pair in local part";
					return 0;
				}
				p++;
			} else if ((*p < 32 && *p != ' ') || *p == 127 ||
			    (*p >= 0x80 && !utf8)) {
				*why = "bad character in quoted local part";
				return 0;
			}
		}
		if (*p != '"') {
			*why = "unterminated quoted local part";
			return 0;
		}
		return (size_t)((const char *)p + 1 - s);
	}
	for (;;) {
		if (!is_atext(*p, utf8)) {
			*why = "bad character in local part";
			return 0;
		}
		while (is_atext(*p, utf8))
			p++;
		if (*p != '.')
			break;
		p++;
	}
	return (size_t)((const char *)p - s);
}

/* Skip "@a,@b:" (A-d-l, RFC 5321 4.1.2); it is accepted and ignored. */
static const char *
skip_source_route(const char *s, int utf8)
{
	const char *p = s;
	size_t	 n;

	if (*p != '@')
		return s;
	for (;;) {
		if (*p != '@')
			return NULL;
		p++;
		n = *p == '[' ? scan_literal(p) : scan_domain(p, utf8);
		if (n == 0)
			return NULL;
		p += n;
		if (*p == ':')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

int
addr_parse_path(const char *s, int flags, char *out, size_t outlen,
    const char **end, const char **why)
{
	const char *p = s, *start, *dom;
	int	 utf8 = (flags & ADDR_UTF8) != 0;
	size_t	 lp, dl, n;

	*why = "syntax error in address (expected <local@domain>)";
	if (*p++ != '<')
		return -1;
	if (*p == '>') {
		if (!(flags & ADDR_ALLOW_NULL)) {
			*why = "null address not allowed here";
			return -1;
		}
		if (outlen < 1)
			return -1;
		out[0] = '\0';
		*end = p + 1;
		return 0;
	}
	if ((p = skip_source_route(p, utf8)) == NULL) {
		*why = "bad source route";
		return -1;
	}
	start = p;
	if ((lp = scan_local(p, utf8, why)) == 0)
		return -1;
	if (lp > LOCAL_MAX + 2 * (*p == '"')) {
		*why = "local part too long";
		return -1;
	}
	if (p[lp] != '@') {
		*why = "address must be local@domain";
		return -1;
	}
	dom = p + lp + 1;
	dl = *dom == '[' ? scan_literal(dom) : scan_domain(dom, utf8);
	if (dl == 0) {
		*why = "bad domain in address";
		return -1;
	}
	if (dl > DOMAIN_MAX) {
		*why = "domain too long";
		return -1;
	}
	if (dom[dl] != '>') {
		*why = "syntax error in address (expected '>')";
		return -1;
	}
	n = lp + 1 + dl;
	if (n + 2 > PATH_MAX_LEN || n + 1 > outlen) {
		*why = "address too long";
		return -1;
	}
	memcpy(out, start, n);
	out[n] = '\0';
	*end = dom + dl + 1;
	return 0;
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

int
addr_local_part(const char *addr, char *out, size_t outlen)
{
	const char *p = addr, *at = strrchr(addr, '@');
	size_t	 n = 0;

	if (at == NULL)
		at = addr + strlen(addr);
	if (*p == '"') {
		for (p++; p < at && *p != '"'; p++) {
			if (*p == '\\')
				p++;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p;
		}
	} else {
		if ((size_t)(at - p) >= outlen)
			return -1;
		memcpy(out, p, (size_t)(at - p));
		n = (size_t)(at - p);
	}
	out[n] = '\0';
	return 0;
}

int
addr_has_routing(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t	 n = at ? (size_t)(at - addr) : strlen(addr);

	if (addr[0] == '"')
		return 1;
	return memchr(addr, '%', n) != NULL || memchr(addr, '!', n) != NULL;
}
