/* SPDX-License-Identifier: ISC */
/*
 * test_transport.c - transport map parsing and the routing decision:
 * map, then relayhost, then MX.  No network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "transport.h"
#include "unit.h"

static char	 map_path[] = "/tmp/tern-transport-XXXXXX";

static void
write_map(const char *text)
{
	FILE	*fp = fopen(map_path, "w");

	CHECK(fp != NULL);
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static int
load(struct config *c, const char *extra)
{
	char	 text[1024], err[256];

	snprintf(text, sizeof(text), "transport = %s\n%s", map_path, extra);
	return config_parse_string(c, "t.conf", text, err, sizeof(err));
}

static void
test_targets(void)
{
	struct transport_route r;

	CHECK(transport_parse_target("mx.example.org", 25, 0, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 25);
	CHECK_STR(r.host, "mx.example.org");
	CHECK(transport_parse_target("mx.example.org", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_MX);
	CHECK(transport_parse_target("[mx.example.org]:587", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 587);
	CHECK_STR(r.host, "mx.example.org");
	CHECK(transport_parse_target("[::1]:2525", 25, 0, &r) == 0);
	CHECK_STR(r.host, "::1");
	CHECK(r.port == 2525);
	CHECK(transport_parse_target("[192.0.2.1]", 26, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 26);
	CHECK(transport_parse_target("127.0.0.1:2525", 25, 0, &r) == 0);
	CHECK(transport_parse_target("DISCARD", 25, 0, &r) == 0);
	CHECK(r.kind == TRANSPORT_DISCARD);
	/* An address is the host itself, even where a name means its MX. */
	CHECK(transport_parse_target("127.0.0.1:2526", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 2526);
	CHECK_STR(r.host, "127.0.0.1");
	CHECK(transport_parse_target("10.1.2.3", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 25);
	CHECK(transport_parse_target("LocalHost:10025", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 10025);
	CHECK(transport_parse_target("10.1.2", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_MX);		/* not an address: a name */
	CHECK(transport_parse_target("[IPv6:2001:db8::1]:26", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 26);
	CHECK_STR(r.host, "2001:db8::1");
	/* A bare IPv6 address is all address: no port without brackets. */
	CHECK(transport_parse_target("::1", 25, 1, &r) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 25);
	CHECK_STR(r.host, "::1");
	CHECK(transport_parse_target("2001:db8::1:2526", 25, 0, &r) == 0);
	CHECK(r.port == 25);
	CHECK_STR(r.host, "2001:db8::1:2526");
	CHECK(transport_parse_target("host:25:26", 25, 0, &r) == -1);
	CHECK(transport_parse_target("[IPv6:host]", 25, 0, &r) == -1);
	CHECK(transport_parse_target("host:0", 25, 0, &r) == -1);
	CHECK(transport_parse_target("host:65536", 25, 0, &r) == -1);
	CHECK(transport_parse_target("host:", 25, 0, &r) == -1);
	CHECK(transport_parse_target("[host", 25, 0, &r) == -1);
	CHECK(transport_parse_target("[host]x", 25, 0, &r) == -1);
	CHECK(transport_parse_target("[]:25", 25, 0, &r) == -1);
	CHECK(transport_parse_target("bad/host", 25, 0, &r) == -1);
	CHECK(transport_parse_target("[not an ip]", 25, 0, &r) == -1);
}

static void
test_map_routes(void)
{
	struct config c;
	struct transport_route r;
	char	 err[256];

	write_map("# test map\n"
	    "\n"
	    "example.org\t[127.0.0.1]:2525   # the sink\n"
	    ".example.org  sub.example.net\n"
	    "deep.sub.example.org discard\n"
	    "*  [192.0.2.9]:587\n");
	CHECK(load(&c, "") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == 0);
	CHECK(transport_route(&c, "EXAMPLE.org", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 2525);
	CHECK_STR(r.host, "127.0.0.1");
	CHECK_STR(r.source, "transport");
	CHECK(transport_route(&c, "a.example.org", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_HOST && r.port == 25);
	CHECK_STR(r.host, "sub.example.net");
	CHECK(transport_route(&c, "deep.sub.example.org", &r, err,
	    sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_DISCARD);
	CHECK(transport_route(&c, "x.deep.sub.example.org", &r, err,
	    sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_HOST);
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.host, "192.0.2.9");
	CHECK(r.port == 587);
	CHECK(transport_route(&c, "notexample.org", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.host, "192.0.2.9");
	config_free(&c);
}

/* The third field: a TLS level per destination, else smtp_tls. */
static void
test_map_tls(void)
{
	struct config c;
	struct transport_route r;
	char	 err[256];

	write_map("v.org [mx.v.org]:25 verify\n"
	    "e.org e.example.net ENCRYPT\n"
	    "n.org [127.0.0.1]:2525 none\n"
	    "d.org [127.0.0.1]:2525\n");
	CHECK(load(&c, "smtp_tls = may\nrelayhost = [r.example]:587\n") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == 0);
	CHECK(transport_route(&c, "v.org", &r, err, sizeof(err)) == 0);
	CHECK(r.tls == CONFIG_TLS_VERIFY);
	CHECK_STR(r.host, "mx.v.org");
	CHECK(transport_route(&c, "e.org", &r, err, sizeof(err)) == 0);
	CHECK(r.tls == CONFIG_TLS_ENCRYPT);
	CHECK(transport_route(&c, "n.org", &r, err, sizeof(err)) == 0);
	CHECK(r.tls == CONFIG_TLS_NONE);
	CHECK(transport_route(&c, "d.org", &r, err, sizeof(err)) == 0);
	CHECK(r.tls == CONFIG_TLS_MAY);
	CHECK(transport_route(&c, "other.org", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.source, "relayhost");
	CHECK(r.tls == CONFIG_TLS_MAY);
	config_free(&c);
	CHECK(load(&c, "smtp_tls = encrypt\n") == 0);
	CHECK(transport_route(&c, "d.org", &r, err, sizeof(err)) == 0);
	CHECK(r.tls == CONFIG_TLS_ENCRYPT);
	CHECK(transport_route(&c, "other.org", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.source, "mx");
	CHECK(r.tls == CONFIG_TLS_ENCRYPT);
	config_free(&c);
}

/* rate=N, in either order with the TLS level; "-" keeps the route */
static void
test_map_rate(void)
{
	struct config c;
	struct transport_route r;
	char	 err[256];

	write_map("r.org [mx.r.org]:25 rate=30 verify\n"
	    "s.org - rate=5\n"
	    "t.org - none\n"
	    "u.org [mx.u.org]:25\n");
	CHECK(load(&c, "smtp_tls = may\n") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == 0);
	CHECK(transport_route(&c, "r.org", &r, err, sizeof(err)) == 0);
	CHECK(r.rate == 30);
	CHECK(r.tls == CONFIG_TLS_VERIFY);
	CHECK_STR(r.source, "transport");
	CHECK(transport_route(&c, "s.org", &r, err, sizeof(err)) == 0);
	CHECK(r.rate == 5);
	CHECK(r.kind == TRANSPORT_MX);
	CHECK_STR(r.host, "s.org");
	CHECK_STR(r.source, "mx");
	CHECK(r.tls == CONFIG_TLS_MAY);
	CHECK(transport_route(&c, "t.org", &r, err, sizeof(err)) == 0);
	CHECK(r.rate == -1);
	CHECK(r.tls == CONFIG_TLS_NONE);
	CHECK_STR(r.source, "mx");
	CHECK(transport_route(&c, "u.org", &r, err, sizeof(err)) == 0);
	CHECK(r.rate == -1);
	CHECK(transport_route(&c, "other.org", &r, err, sizeof(err)) == 0);
	CHECK(r.rate == -1);
	config_free(&c);
	CHECK(load(&c, "relayhost = [r.example]:587\n") == 0);
	CHECK(transport_route(&c, "s.org", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.source, "relayhost");
	CHECK_STR(r.host, "r.example");
	CHECK(r.rate == 5);
	config_free(&c);
}

static void
test_fallbacks(void)
{
	struct config c;
	struct transport_route r;
	char	 err[256];

	write_map("example.org [127.0.0.1]:2525\n");
	CHECK(load(&c, "relayhost = [smart.example.net]:587\n") == 0);
	CHECK(transport_route(&c, "example.org", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.source, "transport");
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.source, "relayhost");
	CHECK(r.kind == TRANSPORT_HOST && r.port == 587);
	CHECK_STR(r.host, "smart.example.net");
	config_free(&c);

	CHECK(load(&c, "relayhost = smart.example.net\nremote_port = 26\n")
	    == 0);
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_MX && r.port == 26);
	config_free(&c);

	CHECK(load(&c, "remote_port = 2525\n") == 0);
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_MX && r.port == 2525);
	CHECK_STR(r.host, "other.net");
	CHECK_STR(r.source, "mx");
	CHECK(transport_route(&c, "[192.0.2.1]", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_HOST);
	config_free(&c);

	CHECK(load(&c, "relayhost = ::1\n") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == 0);
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == 0);
	CHECK(r.kind == TRANSPORT_HOST);
	CHECK_STR(r.host, "::1");
	config_free(&c);

	CHECK(load(&c, "relayhost = ::1:2\n") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == 0);
	config_free(&c);
	CHECK(load(&c, "relayhost = [::1\n") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == -1);
	CHECK(transport_route(&c, "other.net", &r, err, sizeof(err)) == -1);
	config_free(&c);
}

static void
test_relayhost_warning(void)
{
	struct config c;
	char	 msg[512], conf[128];
	const struct {
		const char *relayhost;
		const char *says;	/* NULL: no warning */
	} cases[] = {
		{ "10.1.2.3", "an address without brackets, used as "
		    "[10.1.2.3]:25 without MX lookup" },
		{ "127.0.0.1:2526", "used as [127.0.0.1]:2526" },
		{ "2001:db8::1", "an IPv6 address without brackets, used as "
		    "[2001:db8::1]:25" },
		{ "10.1.2.300", "looks like an IPv4 address but is not one" },
		{ "[10.1.2.3]", NULL },
		{ "[10.1.2.3]:2526", NULL },
		{ "[IPv6:2001:db8::1]", NULL },
		{ "smart.example.net", NULL },
		{ "smart.example.net:587", NULL },
		{ "localhost:10025", NULL },
		{ "", NULL },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "relayhost = %s\n",
		    cases[i].relayhost);
		CHECK(config_parse_string(&c, "t.conf", conf, msg,
		    sizeof(msg)) == 0);
		msg[0] = '\0';
		if (cases[i].says == NULL)
			CHECK(transport_relayhost_warning(&c, msg,
			    sizeof(msg)) == 0);
		else {
			CHECK(transport_relayhost_warning(&c, msg,
			    sizeof(msg)) == 1);
			CHECK(strstr(msg, cases[i].says) != NULL);
		}
		if (cases[i].says != NULL && strstr(msg, cases[i].says) == NULL)
			printf("  %s: %s\n", cases[i].relayhost, msg);
		config_free(&c);
	}
}

static void
test_map_errors(void)
{
	struct config c;
	struct transport_route r;
	char	 err[256], want[256];
	const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "ok.org discard\nbad.org\n", "2: missing target" },
		{ "a b verify rate=1 d\n", "1: too many fields" },
		{ "a b rate=x\n", "1: bad rate (want rate=N, 0 to 1000000)" },
		{ "a b rate=1000001\n", "1: bad rate (want rate=N, 0 to "
		    "1000000)" },
		{ "a b c\n", "1: bad TLS level (want none, may, encrypt or "
		    "verify)" },
		{ "a discard verify\n", "1: discard takes no TLS level or "
		    "rate" },
		{ "a discard rate=3\n", "1: discard takes no TLS level or "
		    "rate" },
		{ "a host:99999\n", "1: bad target (want host, host:port, "
		    "[host]:port or discard)" },
		{ "\n\nb@d.org discard\n", "3: bad domain" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_map(cases[i].text);
		CHECK(load(&c, "") == 0);
		snprintf(want, sizeof(want), "%s:%s", map_path, cases[i].msg);
		CHECK(transport_check(&c, err, sizeof(err)) == -1);
		CHECK_STR(err, want);
		CHECK(transport_route(&c, "ok.org", &r, err, sizeof(err)) == -1);
		config_free(&c);
	}
	unlink(map_path);
	CHECK(load(&c, "") == 0);
	CHECK(transport_check(&c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "No such file") != NULL);
	config_free(&c);
}

int
main(void)
{
	int	 fd = mkstemp(map_path);

	if (fd == -1)
		return 1;
	close(fd);
	RUN(test_targets);
	RUN(test_map_routes);
	RUN(test_map_tls);
	RUN(test_map_rate);
	RUN(test_fallbacks);
	RUN(test_map_errors);
	RUN(test_relayhost_warning);
	unlink(map_path);
	return unit_done();
}
