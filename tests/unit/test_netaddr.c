/* SPDX-License-Identifier: ISC */
/*
 * test_netaddr.c - which addresses are this host's own (mail loops):
 * loopback and listening addresses, with and without a port.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mx.h"
#include "netaddr.h"
#include "unit.h"

static int
self(const struct config *c, const char *addr, int port)
{
	struct sockaddr_storage ss;

	if (netaddr_parse_literal(addr, port, &ss) == -1)
		return -1;
	return netaddr_is_self(c, (const struct sockaddr *)&ss, port);
}

static void
test_self_addresses(void)
{
	struct config	 c;
	char		 err[256];

	CHECK(config_parse_string(&c, "t", "listen = 127.0.0.1:2525, "
	    "192.0.2.7:25, [2001:db8::7]:25\n", err, sizeof(err)) == 0);
	/* any port: loopback and what we listen on */
	CHECK(self(&c, "127.0.0.1", 0) == 1);
	CHECK(self(&c, "127.9.9.9", 0) == 1);
	CHECK(self(&c, "::1", 0) == 1);
	CHECK(self(&c, "::ffff:127.0.0.1", 0) == 1);
	CHECK(self(&c, "192.0.2.7", 0) == 1);
	CHECK(self(&c, "2001:db8::7", 0) == 1);
	CHECK(self(&c, "192.0.2.8", 0) == 0);
	/* one port: only a listening address at that port */
	CHECK(self(&c, "127.0.0.1", 2525) == 1);
	CHECK(self(&c, "127.0.0.1", 25) == 0);
	CHECK(self(&c, "127.0.0.2", 2525) == 0);
	CHECK(self(&c, "192.0.2.7", 25) == 1);
	CHECK(self(&c, "192.0.2.7", 587) == 0);
	config_free(&c);
	/* a wildcard listener takes loopback and every interface */
	CHECK(config_parse_string(&c, "t", "listen = 0.0.0.0:25\n", err,
	    sizeof(err)) == 0);
	CHECK(self(&c, "127.0.0.1", 25) == 1);
	CHECK(self(&c, "127.0.0.1", 26) == 0);
	CHECK(self(&c, "192.0.2.200", 25) == 0);	/* no such interface */
	config_free(&c);
}

int
main(void)
{
	RUN(test_self_addresses);
	return unit_done();
}
