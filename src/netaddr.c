/* SPDX-License-Identifier: ISC */
/*
 * netaddr.c - CIDR matching for relay_networks, host:port splitting.
 *
 * A client connecting over IPv6 with an IPv4-mapped address
 * (::ffff:192.0.2.1) is matched as the IPv4 address it is.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
