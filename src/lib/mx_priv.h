/* SPDX-License-Identifier: ISC */
/*
 * mx_priv.h - the DNS answer parsers of mx.c: pure functions of the
 * answer bytes (ns_initparse, ns_parserr, dn_expand), declared here for
 * the fuzz target tests/fuzz/fuzz_dns.c.  Everybody else uses mx.h.
 */
#ifndef TERN_MX_PRIV_H
#define TERN_MX_PRIV_H

#include <stddef.h>
#include <sys/socket.h>

#include "mx.h"

struct mx_sortable {
	struct mx_host	 host;
	unsigned int	 key;		/* random tie-breaker */
};

/* The MX records of an answer, unsorted: count or -1; *null_mx if "." */
int	mx_parse_mx(const unsigned char *answer, int len,
	    struct mx_sortable *out, size_t max, int *null_mx);
/* The least TTL of the answer records of type, 0 if none. */
unsigned long mx_answer_ttl(const unsigned char *answer, int len, int type);
/* Append the records of type (ns_t_a, ns_t_aaaa) to out[*n..max). */
void	mx_parse_addrs(const unsigned char *answer, int len, int type,
	    int port, struct sockaddr_storage *out, size_t max, size_t *n);
/* The name of the first answer record, which must be a PTR: 0 or -1. */
int	mx_parse_ptr(const unsigned char *answer, int len, char *host,
	    size_t hostlen);

/* The TLSA records of an answer (type 52): count of out[] filled. */
size_t	mx_parse_tlsa(const unsigned char *answer, int len,
	    struct mx_tlsa *out, size_t max);

#endif
