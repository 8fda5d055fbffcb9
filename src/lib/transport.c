/* SPDX-License-Identifier: ISC */
/*
 * transport.c - route a remote domain: transport map, relayhost, or MX.
 *
 * Map file (config->transport), one entry per line, '#' comments:
 *
 *	example.org	mail.example.org:2525
 *	.example.org	[192.0.2.7]:25		every subdomain of example.org
 *	dev.test	discard
 *	*		[smarthost.example.net]:587
 *	secure.example	[mx.secure.example]:25	verify
 *
 *	slow.example	-	rate=30		the usual route, at most 30
 *						messages per rate period
 *
 * The optional fields after the target, in any order, are the TLS level
 * of the destination (none, may, encrypt, verify; see smtp_tls; without
 * it, smtp_tls applies, as it does to relayhost and MX routes) and
 * rate=N, the destination's own destination_rate (0: none).  The target
 * "-" keeps the route relayhost or MX would give, with those options.
 * Lookup order: the exact domain, then ".parent" entries from the most
 * specific, then "*".  Map targets never cause an MX lookup.  The map is
 * small and read again at every lookup, so edits need no reload; any bad
 * line makes the whole map unusable ("file:line: message"), and mail for
 * every domain then defers rather than going to the wrong place.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "netaddr.h"
#include "transport.h"

#define TRANSPORT_LINE_MAX	1024

static int transport_default(const struct config *, const char *,
	    struct transport_route *, char *, size_t);

struct transport_match {
	size_t	 rank;			/* 0 none; higher is more specific */
	int	 keep;			/* target "-": the usual route */
	struct transport_route route;
};

static int
transport_is_hostname(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-._", *s) == NULL)
			return 0;
	return 1;
}

static int
transport_parse_port(const char *s, int *port)
{
	char	*end;
	long	 v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static int
transport_is_ipv6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

/* transport_split - "[host]:port" / "host:port" / "host" into parts */
static int
transport_split(const char *target, char *host, size_t hostlen,
    const char **port, int *bracketed)
{
	const char *end, *colon;
	size_t	 n;

	*port = NULL;
	*bracketed = target[0] == '[';
	if (*bracketed) {
		if ((end = strchr(target, ']')) == NULL)
			return -1;
		n = (size_t)(end - target - 1);
		target++;
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((colon = strchr(target, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		/* A bare IPv6 address: all of it, no port (that needs []). */
		if (!transport_is_ipv6(target))
			return -1;
		n = strlen(target);
	} else {
		n = colon != NULL ? (size_t)(colon - target) : strlen(target);
		if (colon != NULL)
			*port = colon + 1;
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, target, n);
	host[n] = '\0';
	return 0;
}

/* transport_untag - "[IPv6:2001:db8::1]" is "[2001:db8::1]" (RFC 5321) */
static void
transport_untag(char *host)
{
	if (strncasecmp(host, "IPv6:", 5) == 0 && transport_is_ipv6(host + 5))
		memmove(host, host + 5, strlen(host + 5) + 1);
}

/*
 * An address (v4 or v6, in brackets or not) is always the host itself:
 * only a name can have MX records.  So is "localhost", the loopback
 * host by name (RFC 6761 section 6.3), whose MX no name server knows.
 */
int
transport_parse_target(const char *target, int default_port,
    int mx_unless_bracketed, struct transport_route *route)
{
	struct sockaddr_storage ss;
	const char *port;
	int	 bracketed, literal;

	memset(route, 0, sizeof(*route));
	if (strcasecmp(target, "discard") == 0) {
		route->kind = TRANSPORT_DISCARD;
		return 0;
	}
	if (transport_split(target, route->host, sizeof(route->host), &port,
	    &bracketed) == -1)
		return -1;
	if (bracketed)
		transport_untag(route->host);
	literal = netaddr_parse_literal(route->host, 0, &ss) == 0;
	if (!literal && !transport_is_hostname(route->host))
		return -1;
	route->port = default_port;
	if (port != NULL && transport_parse_port(port, &route->port) == -1)
		return -1;
	route->kind = mx_unless_bracketed && !bracketed && !literal &&
	    strcasecmp(route->host, "localhost") != 0 ? TRANSPORT_MX :
	    TRANSPORT_HOST;
	return 0;
}

/* transport_is_numeric - only digits and dots: meant as an IPv4 address */
static int
transport_is_numeric(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

int
transport_relayhost_warning(const struct config *conf, char *msg,
    size_t len)
{
	struct transport_route route;
	const char *rh = conf->relayhost;

	if (rh == NULL || rh[0] == '\0' || rh[0] == '[' ||
	    transport_parse_target(rh, (int)conf->remote_port, 1, &route) == -1
	    || strcasecmp(route.host, "localhost") == 0)
		return 0;
	if (route.kind == TRANSPORT_HOST && strchr(route.host, ':') != NULL)
		snprintf(msg, len, "relayhost = %s: an IPv6 address without "
		    "brackets, used as [%s]:%d without MX lookup; a port "
		    "needs brackets: write [%s]:%d", rh, route.host,
		    route.port, route.host, route.port);
	else if (route.kind == TRANSPORT_HOST)
		snprintf(msg, len, "relayhost = %s: an address without "
		    "brackets, used as [%s]:%d without MX lookup; write it so",
		    rh, route.host, route.port);
	else if (transport_is_numeric(route.host))
		snprintf(msg, len, "relayhost = %s: looks like an IPv4 address "
		    "but is not one, so it is looked up in DNS as a name",
		    rh);
	else
		return 0;
	return 1;
}

/* transport_rank - how well key matches domain: 0 no, larger is better */
static size_t
transport_rank(const char *key, const char *domain)
{
	size_t	 klen = strlen(key), dlen = strlen(domain);

	if (strcasecmp(key, domain) == 0)
		return (size_t)-1;
	if (strcmp(key, "*") == 0)
		return 1;
	if (key[0] == '.' && dlen > klen &&
	    strcasecmp(domain + dlen - klen, key) == 0)
		return 1 + klen;
	return 0;
}

/* transport_tls_level - "none".."verify" as enum config_tls; -1 if not */
static int
transport_tls_level(const char *s)
{
	static const char *const names[] = { "none", "may", "encrypt",
	    "verify" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* transport_rate - "rate=N" as N (0 to 1000000); -1 if not one */
static long
transport_rate(const char *s)
{
	char	*end;
	long	 v;

	if (strncasecmp(s, "rate=", 5) != 0 || !isdigit((unsigned char)s[5]))
		return -1;
	errno = 0;
	v = strtol(s + 5, &end, 10);
	return *end != '\0' || errno != 0 || v > 1000000 ? -1 : v;
}

/* transport_line - parse one line; 1 entry, 0 blank, -1 error */
static int
transport_line(char *line, char **key, char **target, int *tls,
    long *rate, const char **why)
{
	char	*p, *opt;
	int	 nopt = 0;

	if ((p = strchr(line, '#')) != NULL &&
	    (p == line || isspace((unsigned char)p[-1])))
		*p = '\0';
	*key = strtok_r(line, " \t\r\n", &p);
	if (*key == NULL)
		return 0;
	*target = strtok_r(NULL, " \t\r\n", &p);
	*tls = -1;
	*rate = -1;
	*why = NULL;
	while (*target != NULL && *why == NULL &&
	    (opt = strtok_r(NULL, " \t\r\n", &p)) != NULL) {
		if (++nopt > 2)
			*why = "too many fields";
		else if (strncasecmp(opt, "rate=", 5) == 0) {
			if ((*rate = transport_rate(opt)) == -1)
				*why = "bad rate (want rate=N, 0 to 1000000)";
		} else if ((*tls = transport_tls_level(opt)) == -1)
			*why = "bad TLS level (want none, may, encrypt or "
			    "verify)";
	}
	if (*why != NULL)
		;
	else if (*target == NULL)
		*why = "missing target";
	else if (nopt > 0 && strcasecmp(*target, "discard") == 0)
		*why = "discard takes no TLS level or rate";
	else if (strcmp(*key, "*") != 0 && !transport_is_hostname(*key +
	    (**key == '.')) && !(**key == '[' && (*key)[strlen(*key) - 1] ==
	    ']'))
		*why = "bad domain";
	else
		return 1;
	return -1;
}

/*
 * transport_read - read the whole map; on success match holds the best
 * entry for domain (rank 0 if none).  domain may be NULL (check only).
 */
static int
transport_read(const struct config *conf, const char *domain,
    struct transport_match *match, char *err, size_t errlen)
{
	FILE	*fp;
	char	 line[TRANSPORT_LINE_MAX], *key, *target;
	const char *why = NULL;
	struct transport_route route;
	size_t	 lineno = 0, rank;
	long	 rate;
	int	 rc = -1, r, tls, keep;

	memset(match, 0, sizeof(*match));
	if ((fp = fopen(conf->transport, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", conf->transport,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			why = "line too long";
			goto bad;
		}
		if ((r = transport_line(line, &key, &target, &tls, &rate,
		    &why)) == -1)
			goto bad;
		if (r == 0)
			continue;
		if ((keep = strcmp(target, "-") == 0))
			memset(&route, 0, sizeof(route));
		else if (transport_parse_target(target, (int)conf->remote_port,
		    0, &route) == -1) {
			why = "bad target (want host, host:port, "
			    "[host]:port or discard)";
			goto bad;
		}
		route.tls = tls != -1 ? tls : conf->smtp_tls;
		route.rate = rate;
		rank = domain != NULL ? transport_rank(key, domain) : 0;
		if (rank > match->rank) {
			match->rank = rank;
			match->keep = keep;
			match->route = route;
		}
	}
	if (ferror(fp))
		snprintf(err, errlen, "%s: read error", conf->transport);
	else
		rc = 0;
	goto done;
bad:
	snprintf(err, errlen, "%s:%zu: %s", conf->transport, lineno, why);
done:
	fclose(fp);
	return rc;
}

int
transport_check(const struct config *conf, char *err, size_t errlen)
{
	struct transport_route route;
	struct transport_match match;

	if (conf->relayhost != NULL && *conf->relayhost != '\0' &&
	    transport_parse_target(conf->relayhost, (int)conf->remote_port, 1,
	    &route) == -1) {
		snprintf(err, errlen, "%s: relayhost: bad value \"%s\" "
		    "(want host[:port] or [host][:port])", conf->path ?
		    conf->path : "config", conf->relayhost);
		return -1;
	}
	if (conf->transport == NULL || *conf->transport == '\0')
		return 0;
	return transport_read(conf, NULL, &match, err, errlen);
}

int
transport_route(const struct config *conf, const char *domain,
    struct transport_route *route, char *err, size_t errlen)
{
	struct transport_match match;

	memset(&match, 0, sizeof(match));
	if (conf->transport != NULL && *conf->transport != '\0') {
		if (transport_read(conf, domain, &match, err, errlen) == -1)
			return -1;
		if (match.rank > 0 && !match.keep) {
			*route = match.route;
			route->source = "transport";
			return 0;
		}
	}
	if (transport_default(conf, domain, route, err, errlen) == -1)
		return -1;
	if (match.rank > 0) {	/* "-": the usual route, with its options */
		route->tls = match.route.tls;
		route->rate = match.route.rate;
	}
	return 0;
}

/* transport_default - relayhost, or the domain's MX */
static int
transport_default(const struct config *conf, const char *domain,
    struct transport_route *route, char *err, size_t errlen)
{
	if (conf->relayhost != NULL && *conf->relayhost != '\0') {
		if (transport_parse_target(conf->relayhost,
		    (int)conf->remote_port, 1, route) == -1 ||
		    route->kind == TRANSPORT_DISCARD) {
			snprintf(err, errlen, "bad relayhost \"%s\"",
			    conf->relayhost);
			return -1;
		}
		route->source = "relayhost";
		route->tls = conf->smtp_tls;
		route->rate = -1;
		return 0;
	}
	memset(route, 0, sizeof(*route));
	route->kind = domain[0] == '[' ? TRANSPORT_HOST : TRANSPORT_MX;
	route->port = (int)conf->remote_port;
	route->source = "mx";
	route->tls = conf->smtp_tls;
	route->rate = -1;
	if (snprintf(route->host, sizeof(route->host), "%s", domain) >=
	    (int)sizeof(route->host)) {
		snprintf(err, errlen, "domain name too long");
		return -1;
	}
	return 0;
}
