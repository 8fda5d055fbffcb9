/* SPDX-License-Identifier: ISC */
/*
 * mx.h - DNS for remote delivery: MX records and host addresses.
 *
 * Both functions query through libresolv with a private resolver state,
 * so the dns_server key ("addr:port") replaces resolv.conf for tern only.
 * mx_lookup() returns the MX hosts of a domain sorted by preference with
 * equal preferences shuffled (RFC 5321 section 5.1); mx_addresses()
 * returns the A and AAAA addresses of one host in the order they are to
 * be tried (see address_family in tern.conf(5)).  mx_lookup() also
 * gives the answer's TTL, and mx_to_text()/mx_from_text() carry the
 * answer from one delivery agent through the queue runner to the next.
 */
#ifndef TERN_MX_H
#define TERN_MX_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

#define MX_NAME_MAX	256		/* a domain name, with the NUL */
#define MX_HOSTS_MAX	32		/* MX hosts kept per domain */
#define MX_ADDRS_MAX	16		/* addresses kept per host */

enum mx_status {
	MX_OK,		/* out[] filled */
	MX_NONE,	/* no MX record: out[0] is the domain itself, pref 0 */
	MX_NULL,	/* null MX (RFC 7505): the domain accepts no mail */
	MX_NOTFOUND,	/* NXDOMAIN, or no address: permanent */
	MX_TEMPFAIL	/* SERVFAIL, timeout, unreachable name server */
};

struct mx_host {
	char	 name[MX_NAME_MAX];	/* no trailing dot */
	int	 pref;
};

/* A TLSA record (RFC 6698) of a digest: matching type 1 or 2. */
#define MX_TLSA_MAX	8
#define MX_TLSA_DATA_MAX 64
struct mx_tlsa {
	unsigned char	 usage, selector, mtype;
	unsigned char	 data[MX_TLSA_DATA_MAX];
	size_t		 len;
};

/*
 * Each returns an enum mx_status; err gets a reason for the log.
 * *secure (may be NULL) is set to 1 when the answer came with the AD
 * bit (DNSSEC-authenticated by a validating resolver); with smtp_dane
 * the resolver is asked to pass that bit on (RES_TRUSTAD).
 */
int	mx_lookup(const struct config *, const char *domain,
	    struct mx_host *out, size_t max, size_t *n, int *secure,
	    unsigned long *ttl, char *err, size_t errlen);
/*
 * The MX answer as one line of text, "SECURE TTL PREF HOST ...", for
 * the queue runner to keep for its TTL and hand to later agents (it is
 * never longer than MX_TEXT_MAX, and holds fewer hosts if need be), and
 * back; mx_from_text() takes only what mx_to_text() writes: -1 if not.
 */
#define MX_TEXT_MAX	2048
void	mx_to_text(const struct mx_host *, size_t n, int secure,
	    unsigned long ttl, char *out, size_t len);
int	mx_from_text(const char *text, struct mx_host *out, size_t max,
	    size_t *n, int *secure, unsigned long *ttl);
/*
 * mx_tlsa - the TLSA records of _port._tcp.host (RFC 7672 section 2.2):
 * MX_OK with *n records (records of full certificates, matching type
 * 0, and longer digests are left out), MX_NONE/MX_NOTFOUND when there
 * are none, MX_TEMPFAIL when the lookup failed.
 */
int	mx_tlsa(const struct config *, const char *host, int port,
	    struct mx_tlsa *out, size_t max, size_t *n, int *secure,
	    char *err, size_t errlen);
int	mx_addresses(const struct config *, const char *host, int port,
	    struct sockaddr_storage *out, size_t max, size_t *n, char *err,
	    size_t errlen);
/*
 * The client's name for smtpd (client_name_lookup): the PTR name, kept
 * only when one of its A/AAAA records leads back to the address, as
 * Postfix does; -1 (name "unknown") otherwise.  Bounded by the resolver
 * timeouts of mx_query (2 s, 2 tries).
 */
int	mx_client_name(const struct config *, const struct sockaddr *,
	    char *name, size_t namelen);

#endif
