/* SPDX-License-Identifier: ISC */
/*
 * netaddr.h - IPv4/IPv6 CIDR networks and "host:port" listen addresses.
 *
 * cidr_parse("192.0.2.0/24") and cidr_match() against a sockaddr decide
 * relay_networks; an IPv4-mapped IPv6 client matches IPv4 networks.
 * hostport_split() splits "addr:port" and "[v6]:port".
 * netaddr_is_self() says whether an address is this host's own: loopback,
 * or one that a listen entry takes (a wildcard one: any interface).
 */
#ifndef TERN_NETADDR_H
#define TERN_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];
	int		bits;
};

int	cidr_parse(const char *, struct cidr *);
int	cidr_match(const struct cidr *, const struct sockaddr *);
int	hostport_split(const char *, char *host, size_t hostlen,
	    char *port, size_t portlen);
/* "192.0.2.1" or "2001:db8::1" (mapped IPv4 shown as IPv4); "" on failure */
void	netaddr_string(const struct sockaddr *, char *, size_t);

struct config;
struct strlist;
/* 127.0.0.0/8, ::1, and IPv4-mapped 127.0.0.0/8 */
int	netaddr_is_loopback(const struct sockaddr *);
/* Does sa match one of the networks (relay_networks, checked at load)? */
int	netaddr_in_networks(const struct strlist *, const struct sockaddr *);
/*
 * port 0: loopback, or any address a listen entry takes, at any port;
 * port N: only an address a listen entry takes at port N (so a server
 * on another port of the same machine is not this host).
 */
int	netaddr_is_self(const struct config *, const struct sockaddr *,
	    int port);
/* "[127.0.0.1]", "[IPv6:::1]", or a literal of a listening address */
int	netaddr_literal_is_self(const struct config *, const char *domain);

/*
 * An address literal: "192.0.2.1", "2001:db8::1", "[192.0.2.1]",
 * "[IPv6:2001:db8::1]"; 0 and *out filled, or -1 if host is a name.
 */
int	netaddr_parse_literal(const char *host, int port,
	    struct sockaddr_storage *);

#endif
