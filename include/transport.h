/* SPDX-License-Identifier: ISC */
/*
 * transport.h - where mail for a remote domain goes.
 *
 * transport_route() decides, in this order: the transport map
 * (config->transport), then relayhost, then the MX records of the domain.
 * Map lines are "domain target [tls]": target is "host", "host:port",
 * "[host]:port" (never an MX lookup: the host itself) or "discard";
 * ".example.org" matches every subdomain, "*" every domain; tls, when
 * given, is the TLS level for the domain ("none", "may", "encrypt",
 * "verify"; enum config_tls), else smtp_tls is; "rate=N" overrides
 * destination_rate for the domain, and the target "-" keeps the route
 * relayhost or MX gives.
 * relayhost is "host[:port]" (MX lookup of host) or "[host][:port]"
 * (no MX lookup).  An address is never looked up as MX, bracketed or
 * not ("192.0.2.7:25", "[192.0.2.7]", "[IPv6:2001:db8::1]:25", and
 * "2001:db8::1", which cannot take a port without brackets), and
 * neither is "localhost".
 * transport_check() validates the map for `ternd -n`, and
 * transport_relayhost_warning() says what `ternd -n` warns about.
 */
#ifndef TERN_TRANSPORT_H
#define TERN_TRANSPORT_H

#include <stddef.h>

#include "config.h"
#include "mx.h"

enum transport_kind {
	TRANSPORT_MX,		/* MX lookup of host, implicit MX fallback */
	TRANSPORT_HOST,		/* connect to host (name or literal) itself */
	TRANSPORT_DISCARD	/* accept and drop every recipient */
};

struct transport_route {
	int	 kind;		/* enum transport_kind */
	char	 host[MX_NAME_MAX];
	int	 port;
	const char *source;	/* "transport", "relayhost" or "mx" */
	int	 tls;		/* enum config_tls */
	long	 rate;		/* rate=N of the map; -1: destination_rate */
	const char *mx;		/* the runner's cached MX answer (mx.h
				 * text), or NULL: for the agent */
};

/* 0 and *route set, or -1 with "file:line: message" (map errors) in err */
int	transport_route(const struct config *, const char *domain,
	    struct transport_route *, char *err, size_t errlen);
int	transport_check(const struct config *, char *err, size_t errlen);
/*
 * One target: "host", "host:port", "[host]:port", "discard"; -1 if bad.
 * mx_unless_bracketed: an unbracketed host means its MX (relayhost).
 */
int	transport_parse_target(const char *target, int default_port,
	    int mx_unless_bracketed, struct transport_route *);
/*
 * 1 and a message when relayhost is an address without brackets (used
 * as that address, as if bracketed) or looks like an IPv4 address that
 * is not one (looked up as a name); 0 otherwise.
 */
int	transport_relayhost_warning(const struct config *, char *msg,
	    size_t len);

#endif
