/* SPDX-License-Identifier: ISC */
/*
 * netaddr.c - CIDR matching for relay_networks, host:port splitting,
 * and which addresses are this host's own (mail loops, RFC 5321 4.1.3).
 *
 * A client connecting over IPv6 with an IPv4-mapped address
 * (::ffff:192.0.2.1) is matched as the IPv4 address it is.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "netaddr.h"

int
cidr_parse(const char *text, struct cidr *c)
{
	char	 buf[80], *slash, *end;
	long	 bits;
	int	 max;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL) {
		c->bits = max;
		return 0;
	}
	if (*slash < '0' || *slash > '9')
		return -1;
	bits = strtol(slash, &end, 10);
	if (*end != '\0' || bits > max)
		return -1;
	c->bits = (int)bits;
	return 0;
}

static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int	 whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const unsigned char *a;

	if (sa->sa_family == AF_INET) {
		if (c->family != AF_INET)
			return 0;
		return prefix_equal(c->addr,
		    (const unsigned char *)&sin->sin_addr, c->bits);
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	a = (const unsigned char *)&sin6->sin6_addr;
	if (c->family == AF_INET6)
		return prefix_equal(c->addr, a, c->bits);
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return prefix_equal(c->addr, a + 12, c->bits);
	return 0;
}

int
hostport_split(const char *text, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = text;
	size_t	 n;

	if (*text == '[') {
		colon = strchr(text, ']');
		if (colon == NULL || colon[1] != ':')
			return -1;
		h = text + 1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - text);
		if (memchr(text, ':', n) != NULL)
			return -1;	/* bare IPv6 needs brackets */
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) >= portlen ||
	    colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

void
netaddr_string(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	buf[0] = '\0';
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, len);
	else if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		inet_ntop(AF_INET, (const unsigned char *)&sin6->sin6_addr + 12,
		    buf, len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
	else if (sa->sa_family == AF_UNIX)
		snprintf(buf, len, "local");
}

/* netaddr_bytes - the address of sa (mapped IPv4 as IPv4); its length */
static size_t
netaddr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, &sin6->sin6_addr, 16);
	return 16;
}

static int
netaddr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	unsigned char	 x[16], y[16];
	size_t		 n = netaddr_bytes(a, x);

	return n > 0 && n == netaddr_bytes(b, y) && memcmp(x, y, n) == 0;
}

/* netaddr_is_loopback - 127.0.0.0/8, ::1 (and ::ffff:127.0.0.0/104) */
int
netaddr_is_loopback(const struct sockaddr *sa)
{
	static const unsigned char one[16] = { [15] = 1 };
	unsigned char	 b[16];
	size_t		 n = netaddr_bytes(sa, b);

	return (n == 4 && b[0] == 127) || (n == 16 && memcmp(b, one, 16) == 0);
}

/* netaddr_on_interface - an address of one of this host's interfaces */
static int
netaddr_on_interface(const struct sockaddr *sa)
{
	struct ifaddrs	*list, *i;
	int		 found = 0;

	if (getifaddrs(&list) == -1)
		return 0;
	for (i = list; i != NULL && !found; i = i->ifa_next)
		found = i->ifa_addr != NULL && netaddr_same(sa, i->ifa_addr);
	freeifaddrs(list);
	return found;
}

/* netaddr_on_listener - one listen entry takes sa (at port, 0: any) */
static int
netaddr_on_listener(const char *spec, const struct sockaddr *sa, int port)
{
	struct sockaddr_storage l;
	unsigned char	 b[16] = { 0 }, zero[16] = { 0 };
	char		 host[80], lport[8];
	size_t		 n;

	if (hostport_split(spec, host, sizeof(host), lport, sizeof(lport))
	    == -1 || netaddr_parse_literal(host, 0, &l) == -1 ||
	    (port != 0 && atoi(lport) != port))
		return 0;
	n = netaddr_bytes((const struct sockaddr *)&l, b);
	if (memcmp(b, zero, n) == 0)	/* 0.0.0.0, [::]: every interface */
		return netaddr_is_loopback(sa) || netaddr_on_interface(sa);
	return netaddr_same(sa, (const struct sockaddr *)&l);
}

int
netaddr_is_self(const struct config *c, const struct sockaddr *sa, int port)
{
	size_t	 i;

	if (port == 0 && netaddr_is_loopback(sa))
		return 1;
	for (i = 0; i < c->listen.n; i++)
		if (netaddr_on_listener(c->listen.v[i], sa, port))
			return 1;
	return 0;
}

int
netaddr_literal_is_self(const struct config *c, const char *domain)
{
	struct sockaddr_storage ss;

	return domain[0] == '[' && netaddr_parse_literal(domain, 0, &ss) == 0 &&
	    netaddr_is_self(c, (const struct sockaddr *)&ss, 0);
}

int
netaddr_parse_literal(const char *host, int port, struct sockaddr_storage *out)
{
	char	 buf[256];		/* a name is at most 255 octets */
	size_t	 len = strlen(host);
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (strncasecmp(buf, "IPv6:", 5) == 0)
			memmove(buf, buf + 5, strlen(buf + 5) + 1);
	} else if (snprintf(buf, sizeof(buf), "%s", host) >= (int)sizeof(buf))
		return -1;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		return 0;
	}
	return -1;
}

int
netaddr_in_networks(const struct strlist *nets, const struct sockaddr *sa)
{
	struct cidr c;
	size_t	 i;

	for (i = 0; i < nets->n; i++)
		if (cidr_parse(nets->v[i], &c) == 0 && cidr_match(&c, sa))
			return 1;
	return 0;
}
