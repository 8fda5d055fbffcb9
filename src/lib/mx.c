/* SPDX-License-Identifier: ISC */
/*
 * mx.c - MX and address lookups for remote delivery, through libresolv.
 *
 * Every lookup uses a private struct __res_state (res_ninit), so setting
 * dns_server = "addr:port" points tern, and only tern, at one name server
 * (tests run their own on loopback).  Answers are parsed with
 * ns_initparse()/ns_parserr()/dn_expand(); res_nquery() follows no search
 * list, so names are always taken as fully qualified.
 *
 * Results: MX hosts sorted by preference, equal preferences in random
 * order (RFC 5321 section 5.1); no MX means the domain is its own
 * implicit MX; a single MX "." is a null MX (RFC 7505 section 3).
 * Address order (address_family): "any" alternates IPv6 and IPv4,
 * IPv6 first (RFC 8305 section 4); "ipv4" puts every IPv4 address
 * first, "ipv6" every IPv6 address first; the other family always
 * follows as the fallback within the same attempt.  "localhost" and
 * address literals need no DNS.
 *
 * DANE (smtp_dane): the resolver is asked to pass the AD bit of the
 * answers on (RES_TRUSTAD, glibc 2.31; tern does no DNSSEC validation of
 * its own, so the name server must be a validating resolver on this
 * host); mx_lookup() and mx_tlsa() say whether the answer had it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mx.h"
#include "mx_priv.h"
#include "netaddr.h"

#define MX_ANSWER_MAX	65536
#define MX_T_TLSA	52	/* RFC 6698 */

/* mx_server - point the resolver at dns_server; -1 on a bad value */
static int
mx_server(res_state res, const char *server)
{
	char	 host[128], port[8];
	struct sockaddr_in sin;
	struct sockaddr_in6 *sin6;

	if (hostport_split(server, host, sizeof(host), port, sizeof(port)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)atoi(port));
		res->nsaddr_list[0] = sin;
		res->nscount = 1;
		return 0;
	}
	/* glibc takes an IPv6 server from _u._ext when nsaddr_list is 0. */
	if ((sin6 = calloc(1, sizeof(*sin6))) == NULL)
		return -1;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		free(sin6);
		return -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((unsigned short)atoi(port));
	free(res->_u._ext.nsaddrs[0]);
	res->_u._ext.nsaddrs[0] = sin6;
	res->nsaddr_list[0].sin_family = 0;
	res->nscount = 1;
	return 0;
}

/*
 * mx_query - one query; its length, or -1 with *status set.  *secure
 * (may be NULL) is the AD bit of the answer (RFC 4035 section 3.2.3).
 */
static int
mx_query_ad(const struct config *conf, const char *name, int type,
    unsigned char *answer, int *status, int *secure, char *err,
    size_t errlen)
{
	struct __res_state res;
	int	 len;

	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) == -1) {
		snprintf(err, errlen, "resolver initialization failed");
		*status = MX_TEMPFAIL;
		return -1;
	}
	res.retrans = 2;
	res.retry = 2;
	res.options &= ~(RES_DNSRCH | RES_DEFNAMES);
#ifdef RES_TRUSTAD
	if (conf->smtp_dane)
		res.options |= RES_TRUSTAD;
#endif
	if (secure != NULL)
		*secure = 0;
	if (conf->dns_server != NULL && *conf->dns_server != '\0' &&
	    mx_server(&res, conf->dns_server) == -1) {
		snprintf(err, errlen, "bad dns_server \"%s\"", conf->dns_server);
		res_nclose(&res);
		*status = MX_TEMPFAIL;
		return -1;
	}
	len = res_nquery(&res, name, ns_c_in, type, answer, MX_ANSWER_MAX);
	if (len == -1) {
		*status = res.res_h_errno == HOST_NOT_FOUND ? MX_NOTFOUND :
		    res.res_h_errno == NO_DATA ? MX_NONE : MX_TEMPFAIL;
		snprintf(err, errlen, "%s type=%s: %s", name,
		    type == ns_t_mx ? "MX" : type == ns_t_a ? "A" :
		    type == MX_T_TLSA ? "TLSA" : "AAAA",
		    res.res_h_errno == HOST_NOT_FOUND ? "Host not found" :
		    res.res_h_errno == NO_DATA ?
		    "Host found but no data record of requested type" :
		    "Host not found, try again");
	} else if (secure != NULL && len >= 4)
		*secure = conf->smtp_dane && (answer[3] & 0x20) != 0;
	res_nclose(&res);
	return len;
}

static int
mx_query(const struct config *conf, const char *name, int type,
    unsigned char *answer, int *status, char *err, size_t errlen)
{
	return mx_query_ad(conf, name, type, answer, status, NULL, err,
	    errlen);
}

static int
mx_compare(const void *a, const void *b)
{
	const struct mx_sortable *x = a, *y = b;

	if (x->host.pref != y->host.pref)
		return x->host.pref < y->host.pref ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* mx_parse_mx - the MX records of an answer, unsorted; count or -1 */
int
mx_parse_mx(const unsigned char *answer, int len, struct mx_sortable *out,
    size_t max, int *null_mx)
{
	ns_msg	 msg;
	ns_rr	 rr;
	int	 i, count, n = 0;

	*null_mx = 0;
	if (ns_initparse(answer, len, &msg) == -1)
		return -1;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && (size_t)n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return -1;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg),
		    ns_rr_rdata(rr) + 2, out[n].host.name,
		    sizeof(out[n].host.name)) == -1)
			return -1;
		if (out[n].host.name[0] == '\0' ||
		    strcmp(out[n].host.name, ".") == 0) {
			*null_mx = 1;
			continue;
		}
		out[n].host.pref = ns_get16(ns_rr_rdata(rr));
		out[n].key = arc4random();
		n++;
	}
	return n;
}

/* mx_answer_ttl - the least TTL of the answer's records of type; 0 */
unsigned long
mx_answer_ttl(const unsigned char *answer, int len, int type)
{
	ns_msg	 msg;
	ns_rr	 rr;
	unsigned long ttl = 0;
	int	 i, count, seen = 0;

	if (ns_initparse(answer, len, &msg) == -1)
		return 0;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return 0;
		if ((int)ns_rr_type(rr) != type)
			continue;
		if (!seen++ || ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
	}
	return ttl;
}

int
mx_lookup(const struct config *conf, const char *domain, struct mx_host *out,
    size_t max, size_t *n, int *secure, unsigned long *ttl, char *err,
    size_t errlen)
{
	unsigned char *answer;
	struct mx_sortable hosts[MX_HOSTS_MAX];
	int	 len, status = MX_OK, count, null_mx;
	size_t	 i;

	*n = 0;
	if (ttl != NULL)
		*ttl = 0;
	if (max == 0 || (answer = malloc(MX_ANSWER_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MX_TEMPFAIL;
	}
	if ((len = mx_query_ad(conf, domain, ns_t_mx, answer, &status, secure,
	    err, errlen)) == -1)
		goto done;
	if (ttl != NULL)
		*ttl = mx_answer_ttl(answer, len, ns_t_mx);
	count = mx_parse_mx(answer, len, hosts, MX_HOSTS_MAX, &null_mx);
	if (count == -1) {
		snprintf(err, errlen, "%s type=MX: malformed answer", domain);
		status = MX_TEMPFAIL;
	} else if (count == 0 && null_mx) {
		snprintf(err, errlen, "%s has a null MX", domain);
		status = MX_NULL;
	} else if (count == 0)
		status = MX_NONE;
	else {
		qsort(hosts, (size_t)count, sizeof(hosts[0]), mx_compare);
		for (i = 0; i < (size_t)count && i < max; i++)
			out[i] = hosts[i].host;
		*n = i;
	}
done:
	free(answer);
	if (status == MX_NONE) {
		snprintf(out[0].name, sizeof(out[0].name), "%s", domain);
		out[0].pref = 0;
		*n = 1;
	}
	return status;
}

/* mx_parse_addrs - append the A or AAAA records of an answer */
void
mx_parse_addrs(const unsigned char *answer, int len, int type, int port,
    struct sockaddr_storage *out, size_t max, size_t *n)
{
	ns_msg	 msg;
	ns_rr	 rr;
	int	 i, count;
	size_t	 alen = type == ns_t_a ? 4 : 16;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	if (ns_initparse(answer, len, &msg) == -1)
		return;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && *n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return;
		if ((int)ns_rr_type(rr) != type || ns_rr_rdlen(rr) != alen)
			continue;
		memset(&out[*n], 0, sizeof(out[*n]));
		sin = (struct sockaddr_in *)&out[*n];
		sin6 = (struct sockaddr_in6 *)&out[*n];
		if (type == ns_t_a) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((unsigned short)port);
			memcpy(&sin->sin_addr, ns_rr_rdata(rr), 4);
		} else {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((unsigned short)port);
			memcpy(&sin6->sin6_addr, ns_rr_rdata(rr), 16);
		}
		(*n)++;
	}
}

/* mx_family - look up one family; returns an mx_status */
static int
mx_family(const struct config *conf, const char *host, int type, int port,
    struct sockaddr_storage *out, size_t max, size_t *n, char *err,
    size_t errlen)
{
	unsigned char *answer;
	int	 len, status = MX_OK;

	*n = 0;
	if (strcasecmp(host, "localhost") == 0) {
		netaddr_parse_literal(type == ns_t_a ? "127.0.0.1" : "::1", port,
		    &out[0]);
		*n = max > 0;
		return MX_OK;
	}
	if ((answer = malloc(MX_ANSWER_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MX_TEMPFAIL;
	}
	if ((len = mx_query(conf, host, type, answer, &status, err,
	    errlen)) != -1)
		mx_parse_addrs(answer, len, type, port, out, max, n);
	free(answer);
	return status;
}

/* mx_merge - order v4 and v6 lists by the address_family preference */
static size_t
mx_merge(int family, const struct sockaddr_storage *v4, size_t n4,
    const struct sockaddr_storage *v6, size_t n6,
    struct sockaddr_storage *out, size_t max)
{
	size_t	 i4 = 0, i6 = 0, n = 0;
	int	 take6;

	while (n < max && (i4 < n4 || i6 < n6)) {
		if (i4 == n4 || i6 == n6)
			take6 = i6 < n6;
		else if (family == CONFIG_FAMILY_IPV4)
			take6 = 0;
		else if (family == CONFIG_FAMILY_IPV6)
			take6 = 1;
		else
			take6 = i6 <= i4;
		out[n++] = take6 ? v6[i6++] : v4[i4++];
	}
	return n;
}

int
mx_addresses(const struct config *conf, const char *host, int port,
    struct sockaddr_storage *out, size_t max, size_t *n, char *err,
    size_t errlen)
{
	struct sockaddr_storage v4[MX_ADDRS_MAX], v6[MX_ADDRS_MAX];
	size_t	 n4, n6;
	int	 s4, s6;
	char	 err6[256];

	*n = 0;
	if (max > 0 && netaddr_parse_literal(host, port, &out[0]) == 0) {
		*n = 1;
		return MX_OK;
	}
	if (host[0] == '[') {
		snprintf(err, errlen, "bad address literal %s", host);
		return MX_NOTFOUND;
	}
	s4 = mx_family(conf, host, ns_t_a, port, v4, MX_ADDRS_MAX, &n4,
	    err, errlen);
	s6 = mx_family(conf, host, ns_t_aaaa, port, v6, MX_ADDRS_MAX, &n6,
	    err6, sizeof(err6));
	*n = mx_merge(conf->address_family, v4, n4, v6, n6, out, max);
	if (*n > 0)
		return MX_OK;
	if (s4 == MX_TEMPFAIL || s6 == MX_TEMPFAIL) {
		if (s4 != MX_TEMPFAIL)
			snprintf(err, errlen, "%s", err6);
		return MX_TEMPFAIL;
	}
	if (s4 == MX_OK)
		snprintf(err, errlen, "%s: no address records", host);
	return MX_NOTFOUND;
}

/* mx_parse_tlsa - the digest TLSA records of an answer; how many */
size_t
mx_parse_tlsa(const unsigned char *answer, int len, struct mx_tlsa *out,
    size_t max)
{
	ns_msg	 msg;
	ns_rr	 rr;
	const unsigned char *d;
	size_t	 n = 0, dlen;
	int	 i, count;

	if (ns_initparse(answer, len, &msg) == -1)
		return 0;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_type(rr) != MX_T_TLSA || ns_rr_rdlen(rr) < 4)
			continue;
		d = ns_rr_rdata(rr);
		dlen = ns_rr_rdlen(rr) - 3;
		if (d[2] == 0 || dlen > MX_TLSA_DATA_MAX)
			continue;
		out[n].usage = d[0];
		out[n].selector = d[1];
		out[n].mtype = d[2];
		memcpy(out[n].data, d + 3, dlen);
		out[n].len = dlen;
		n++;
	}
	return n;
}

int
mx_tlsa(const struct config *conf, const char *host, int port,
    struct mx_tlsa *out, size_t max, size_t *n, int *secure, char *err,
    size_t errlen)
{
	unsigned char *answer;
	char	 name[MX_NAME_MAX + 16];
	int	 len, status = MX_OK;

	*n = 0;
	*secure = 0;
	if (snprintf(name, sizeof(name), "_%d._tcp.%s", port, host) >=
	    (int)sizeof(name)) {
		snprintf(err, errlen, "%s: name too long for TLSA", host);
		return MX_NOTFOUND;
	}
	if ((answer = malloc(MX_ANSWER_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MX_TEMPFAIL;
	}
	if ((len = mx_query_ad(conf, name, MX_T_TLSA, answer, &status, secure,
	    err, errlen)) != -1) {
		*n = mx_parse_tlsa(answer, len, out, max);
		if (*n == 0)
			status = MX_NONE;
	}
	free(answer);
	return status;
}

/* mx_parse_ptr - the name in the first answer record, a PTR; 0 or -1 */
int
mx_parse_ptr(const unsigned char *answer, int len, char *host,
    size_t hostlen)
{
	ns_msg	 msg;
	ns_rr	 rr;

	if (ns_initparse(answer, len, &msg) == -1 ||
	    ns_msg_count(msg, ns_s_an) < 1 ||
	    ns_parserr(&msg, ns_s_an, 0, &rr) == -1 ||
	    ns_rr_type(rr) != ns_t_ptr ||
	    dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), host,
	    (int)hostlen) == -1)
		return -1;
	return 0;
}

/* "4.3.2.1.in-addr.arpa" or the nibble form under ip6.arpa (RFC 3596). */
static int
mx_reverse_name(const struct sockaddr *sa, char *out, size_t len)
{
	const unsigned char *a;
	size_t	 off = 0;
	int	 i;

	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return 0;
	}
	if (sa->sa_family != AF_INET6 || len < 73)
		return -1;
	a = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	for (i = 15; i >= 0; i--)
		off += (size_t)snprintf(out + off, len - off, "%x.%x.",
		    a[i] & 0xf, a[i] >> 4);
	snprintf(out + off, len - off, "ip6.arpa");
	return 0;
}

int
mx_client_name(const struct config *conf, const struct sockaddr *sa,
    char *name, size_t namelen)
{
	unsigned char answer[MX_ANSWER_MAX];
	char	 rev[128], host[MX_NAME_MAX], want[64], got[64], err[256];
	struct sockaddr_storage addrs[MX_ADDRS_MAX];
	size_t	 i, n = 0;
	int	 len, status;

	netaddr_string(sa, want, sizeof(want));
	if (mx_reverse_name(sa, rev, sizeof(rev)) == -1 ||
	    (len = mx_query(conf, rev, ns_t_ptr, answer, &status, err,
	    sizeof(err))) == -1 ||
	    mx_parse_ptr(answer, len, host, sizeof(host)) == -1)
		return -1;
	if (mx_addresses(conf, host, 0, addrs, MX_ADDRS_MAX, &n, err,
	    sizeof(err)) != MX_OK)
		return -1;
	for (i = 0; i < n; i++) {
		netaddr_string((struct sockaddr *)&addrs[i], got, sizeof(got));
		if (strcmp(got, want) == 0) {
			snprintf(name, namelen, "%s", host);
			return 0;
		}
	}
	return -1;
}

void
mx_to_text(const struct mx_host *h, size_t n, int secure, unsigned long ttl,
    char *out, size_t len)
{
	size_t	 i, used;
	int	 k;

	if (len > MX_TEXT_MAX)
		len = MX_TEXT_MAX;
	used = (size_t)snprintf(out, len, "%d %lu", secure ? 1 : 0, ttl);
	for (i = 0; i < n && used < len; i++) {
		k = snprintf(out + used, len - used, " %d %s", h[i].pref,
		    h[i].name);
		if (k < 0 || (size_t)k >= len - used) {
			out[used] = '\0';	/* the hosts that fit */
			break;
		}
		used += (size_t)k;
	}
}

/* mx_text_word - the next space-separated word of *p, at most max-1 */
static int
mx_text_word(const char **p, char *out, size_t max)
{
	size_t	 n = strcspn(*p, " ");

	if (n == 0 || n >= max)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	if (**p == ' ')
		(*p)++;
	return 0;
}

int
mx_from_text(const char *text, struct mx_host *out, size_t max, size_t *n,
    int *secure, unsigned long *ttl)
{
	const char *p = text;
	char	 word[MX_NAME_MAX], *end;
	unsigned long v;

	*n = 0;
	if (strlen(text) >= MX_TEXT_MAX || text[0] == '\0' ||
	    text[strlen(text) - 1] == ' ' || mx_text_word(&p, word,
	    sizeof(word)) == -1 || (strcmp(word, "0") != 0 &&
	    strcmp(word, "1") != 0))
		return -1;
	*secure = word[0] == '1';
	if (mx_text_word(&p, word, sizeof(word)) == -1)
		return -1;
	v = strtoul(word, &end, 10);
	if (*end != '\0' || word[0] < '0' || word[0] > '9')
		return -1;
	*ttl = v;
	while (*p != '\0' && *n < max) {
		if (mx_text_word(&p, word, sizeof(word)) == -1)
			return -1;
		v = strtoul(word, &end, 10);
		if (*end != '\0' || word[0] < '0' || word[0] > '9' ||
		    v > 65535 || mx_text_word(&p, out[*n].name,
		    sizeof(out[*n].name)) == -1 ||
		    strspn(out[*n].name, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
		    strlen(out[*n].name))
			return -1;
		out[(*n)++].pref = (int)v;
	}
	return *n > 0 && *p == '\0' ? 0 : -1;
}
