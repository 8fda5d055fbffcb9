/* SPDX-License-Identifier: ISC */
/* test_config.c - defaults, values, and the file:line errors of tern.conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "unit.h"

static void
test_empty_is_complete(void)
{
	struct config c;
	char	 err[512];

	CHECK(config_parse_string(&c, "t.conf", "", err, sizeof(err)) == 0);
	CHECK(c.retry_interval == 30 * 60);
	CHECK(c.delay_warning == 4 * 3600);
	CHECK(c.max_queue_lifetime == 5 * 86400);
	CHECK(c.max_message_size == 25 * 1024 * 1024);
	CHECK(c.smtpd_timeout == 300);
	CHECK(c.listen.n == 2);
	CHECK(c.local_domains.n == 2);
	CHECK(config_is_local_domain(&c, "LOCALHOST"));
	CHECK(c.mailbox == CONFIG_MAILBOX_MAILDIR);
	config_free(&c);
}

static void
test_values(void)
{
	struct config c;
	char	 err[512];
	const char *text =
	    "# comment\n"
	    "\n"
	    "hostname = mx.example.org\n"
	    "listen = 127.0.0.1:2525, [::1]:2525\n"
	    "max_message_size = 10M\n"
	    "retry_interval = 2s\n"
	    "relay_networks = 10.0.0.0/8, 2001:db8::/32\n"
	    "mailbox = mbox\n"
	    "log = stderr\n"
	    "client_name_lookup = yes\n";

	CHECK(config_parse_string(&c, "t.conf", text, err, sizeof(err)) == 0);
	CHECK_STR(c.hostname, "mx.example.org");
	CHECK(c.listen.n == 2);
	CHECK_STR(c.listen.v[1], "[::1]:2525");
	CHECK(c.max_message_size == 10 * 1024 * 1024);
	CHECK(c.retry_interval == 2);
	CHECK(c.relay_networks.n == 2);
	CHECK(c.mailbox == CONFIG_MAILBOX_MBOX);
	CHECK(c.log == CONFIG_LOG_STDERR);
	CHECK(c.client_name_lookup == 1);
	CHECK(config_is_local_domain(&c, "mx.example.org"));
	config_free(&c);
}

static void
test_errors(void)
{
	struct config c;
	char	 err[512];

	CHECK(config_parse_string(&c, "t.conf", "\nmax_mesage_size = 1M\n",
	    err, sizeof(err)) == -1);
	CHECK_STR(err, "t.conf:2: unknown key \"max_mesage_size\" "
	    "(did you mean \"max_message_size\"?)");
	CHECK(config_parse_string(&c, "t.conf", "retry_interval = 5x\n",
	    err, sizeof(err)) == -1);
	CHECK(strncmp(err, "t.conf:1: retry_interval:", 25) == 0);
	CHECK(config_parse_string(&c, "t.conf", "relay_networks = 10.0.0/8\n",
	    err, sizeof(err)) == -1);
	CHECK(strncmp(err, "t.conf:1: relay_networks:", 25) == 0);
	CHECK(config_parse_string(&c, "t.conf", "listen = ::1:25\n",
	    err, sizeof(err)) == -1);
	CHECK(config_parse_string(&c, "t.conf", "max_recipients = 0\n",
	    err, sizeof(err)) == -1);
	CHECK(config_parse_string(&c, "t.conf", "just words\n",
	    err, sizeof(err)) == -1);
	CHECK_STR(err, "t.conf:1: expected \"key = value\"");
	CHECK(config_parse_string(&c, "t.conf", "mailbox = mh\n",
	    err, sizeof(err)) == -1);
}

static void
test_durations_sizes(void)
{
	long long v;

	CHECK(config_parse_duration("30m", &v) == 0 && v == 1800);
	CHECK(config_parse_duration("5d", &v) == 0 && v == 432000);
	CHECK(config_parse_duration("17", &v) == 0 && v == 17);
	CHECK(config_parse_duration("m", &v) == -1);
	CHECK(config_parse_duration("3mm", &v) == -1);
	CHECK(config_parse_size("512K", &v) == 0 && v == 524288);
	CHECK(config_parse_size("2G", &v) == 0 && v == 2147483648LL);
	CHECK(config_parse_size("-1", &v) == -1);
}

static void
test_local_domains(void)
{
	struct config	 c;
	char		 err[256];

	/* The host's name and localhost stay local beside a listed domain. */
	CHECK(config_parse_string(&c, "t", "hostname = mx.example\n"
	    "local_domains = example.org, EXAMPLE.org\n", err,
	    sizeof(err)) == 0);
	CHECK(c.local_domains.n == 3);
	CHECK(config_is_local_domain(&c, "mx.example"));
	CHECK(config_is_local_domain(&c, "localhost"));
	CHECK(config_is_local_domain(&c, "example.org"));
	CHECK(strcmp(c.origin, "mx.example") == 0);
	CHECK(config_key_is_set(&c, "local_domains"));
	CHECK(!config_key_is_set(&c, "aliases"));
	config_free(&c);
	/* "!name" takes one out; origin is its own key. */
	CHECK(config_parse_string(&c, "t", "hostname = mx.example\n"
	    "origin = example.org\n"
	    "local_domains = example.org, !mx.example, !localhost\n", err,
	    sizeof(err)) == 0);
	CHECK(c.local_domains.n == 1);
	CHECK(!config_is_local_domain(&c, "mx.example"));
	CHECK(!config_is_local_domain(&c, "localhost"));
	CHECK(strcmp(c.origin, "example.org") == 0);
	config_free(&c);
	/* Literals of this host are local (RFC 5321 4.1.3), others not. */
	CHECK(config_parse_string(&c, "t", "listen = 192.0.2.7:25\n", err,
	    sizeof(err)) == 0);
	CHECK(config_is_local_domain(&c, "[127.0.0.1]"));
	CHECK(config_is_local_domain(&c, "[127.3.4.5]"));
	CHECK(config_is_local_domain(&c, "[IPv6:::1]"));
	CHECK(config_is_local_domain(&c, "[ipv6:::1]"));
	CHECK(config_is_local_domain(&c, "[192.0.2.7]"));
	CHECK(!config_is_local_domain(&c, "[192.0.2.8]"));
	CHECK(!config_is_local_domain(&c, "[IPv6:2001:db8::1]"));
	CHECK(!config_is_local_domain(&c, "[not.an.address]"));
	config_free(&c);
}

/* The command line wins, then a non-empty $TERN_CONFIG, then the default. */
static void
test_config_path(void)
{
	int	 named = -1;

	unsetenv("TERN_CONFIG");
	CHECK_STR(config_path(NULL, &named), TERN_CONF_PATH);
	CHECK(named == 0);
	CHECK_STR(config_path("/a.conf", &named), "/a.conf");
	CHECK(named == 1);
	setenv("TERN_CONFIG", "/env.conf", 1);
	CHECK_STR(config_path(NULL, &named), "/env.conf");
	CHECK(named == 1);
	CHECK_STR(config_path("/a.conf", NULL), "/a.conf");
	setenv("TERN_CONFIG", "", 1);
	named = -1;
	CHECK_STR(config_path(NULL, &named), TERN_CONF_PATH);
	CHECK(named == 0);
	unsetenv("TERN_CONFIG");
}

int
main(void)
{
	RUN(test_empty_is_complete);
	RUN(test_values);
	RUN(test_errors);
	RUN(test_durations_sizes);
	RUN(test_local_domains);
	RUN(test_config_path);
	return unit_done();
}
