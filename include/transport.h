/* SPDX-License-Identifier: ISC */
/*
 * transport.h - where mail for a remote domain goes.
 *
 * transport_route() decides, in this order: the transport map
 * (config->transport), then relayhost, then the MX records of the domain.
 * Map lines are "domain target": target is "host", "host:port",
 * "[host]:port" (never an MX lookup: the host itself) or "discard";
 * ".example.org" matches every subdomain, "*" every domain.
 * relayhost is "host[:port]" (MX lookup of host) or "[host][:port]"
 * (no MX lookup).  transport_check() validates the map for `ternd -n`.
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

#endif
