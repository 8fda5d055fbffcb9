/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dns.c - libFuzzer target for the DNS answer parsers of mx.c: the
 * input is a whole answer as a name server (or anyone who can spoof one)
 * sends it, fed to the MX, A, AAAA, PTR and TLSA parsers alike.  What they
 * return must be within bounds and printable: a name goes into logs,
 * Received: headers and the next connection's error text.  See
 * tests/fuzz/README.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"
#include "mx_priv.h"

/* name_ok - NUL-ended within size, no byte a log line could trip on */
static int
name_ok(const char *name, size_t size)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t	 n = strnlen(name, size);

	if (n == size)
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

static void
fuzz_mx(const unsigned char *data, int len)
{
	struct mx_sortable out[MX_HOSTS_MAX];
	int	 n, i, null_mx;

	n = mx_parse_mx(data, len, out, MX_HOSTS_MAX, &null_mx);
	if (n < -1 || n > MX_HOSTS_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (out[i].host.pref < 0 || out[i].host.pref > 65535 ||
		    out[i].host.name[0] == '\0' ||
		    strcmp(out[i].host.name, ".") == 0 ||
		    !name_ok(out[i].host.name, sizeof(out[i].host.name)))
			abort();
}

static void
fuzz_addrs(const unsigned char *data, int len, int type)
{
	struct sockaddr_storage out[MX_ADDRS_MAX];
	size_t	 n = 1, i;
	int	 family = type == ns_t_a ? AF_INET : AF_INET6;

	/* One slot already taken, as a caller appending would have it. */
	memset(&out[0], 0, sizeof(out[0]));
	mx_parse_addrs(data, len, type, 25, out, MX_ADDRS_MAX, &n);
	if (n < 1 || n > MX_ADDRS_MAX || out[0].ss_family != 0)
		abort();
	for (i = 1; i < n; i++)
		if (out[i].ss_family != family || ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&out[i])->sin_port :
		    ((struct sockaddr_in6 *)&out[i])->sin6_port) != 25)
			abort();
}

static void
fuzz_ptr(const unsigned char *data, int len)
{
	char	 host[MX_NAME_MAX];

	if (mx_parse_ptr(data, len, host, sizeof(host)) == 0 &&
	    !name_ok(host, sizeof(host)))
		abort();
}

static void
fuzz_tlsa(const unsigned char *data, int len)
{
	struct mx_tlsa out[MX_TLSA_MAX];
	size_t	 n, i;

	n = mx_parse_tlsa(data, len, out, MX_TLSA_MAX);
	if (n > MX_TLSA_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (out[i].len == 0 || out[i].len > MX_TLSA_DATA_MAX ||
		    out[i].mtype == 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	 len = size > 65535 ? 65535 : (int)size;

	fuzz_mx(data, len);
	fuzz_addrs(data, len, ns_t_a);
	fuzz_addrs(data, len, ns_t_aaaa);
	fuzz_ptr(data, len);
	fuzz_tlsa(data, len);
	return 0;
}
