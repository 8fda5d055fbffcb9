/* SPDX-License-Identifier: ISC */
/*
 * test_relayauth.c - the relayhost credentials file: lines, matching by
 * next hop, passwords with colons and spaces, bad lines, and the owner
 * and mode check of relayauth_open().
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relayauth.h"
#include "unit.h"

static int
parse(const char *text, const char *host, int port, char *user, char *pass,
    char *err)
{
	return relayauth_parse(text, strlen(text), host, port, 25, user, pass,
	    err, 256);
}

static void
test_parse(void)
{
	char	 user[RELAYAUTH_FIELD_MAX], pass[RELAYAUTH_FIELD_MAX], err[256];
	const char *text = "# credentials\n"
	    "\n"
	    "[smtp.provider.example]:587  alice@provider.example:s3:cret pw  \n"
	    "[SMTP.other.example]\tbob:x\r\n"
	    "plain.example:2525 carol:y\n";

	CHECK(parse(text, "smtp.provider.example", 587, user, pass, err) == 1);
	CHECK_STR(user, "alice@provider.example");
	CHECK_STR(pass, "s3:cret pw");
	CHECK(parse(text, "smtp.other.example", 25, user, pass, err) == 1);
	CHECK_STR(user, "bob");
	CHECK_STR(pass, "x");
	CHECK(parse(text, "plain.example", 2525, user, pass, err) == 1);
	CHECK_STR(user, "carol");
	CHECK(parse(text, "smtp.provider.example", 465, user, pass, err) == 0);
	CHECK(parse(text, "nobody.example", 587, user, pass, err) == 0);
	CHECK(parse("[a.example]:587\n", "a.example", 587, user, pass, err) ==
	    -1);
	CHECK(strstr(err, ":1: bad line") != NULL);
	CHECK(parse("\n[a.example]:587 nocolon\n", "a.example", 587, user,
	    pass, err) == -1);
	CHECK(strstr(err, ":2: bad line") != NULL);
	CHECK(parse("[a.example]:587 :pw\n", "a.example", 587, user, pass,
	    err) == -1);
	CHECK(parse("[a.example]:99999 u:p\n", "a.example", 587, user, pass,
	    err) == -1);
}

static void
test_open(void)
{
	char	 path[] = "/tmp/tern-relayauth-XXXXXX", err[256];
	char	 user[RELAYAUTH_FIELD_MAX], pass[RELAYAUTH_FIELD_MAX];
	int	 fd = mkstemp(path);

	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, "[r.example]:587 u:p\n", 20) == 20);
	close(fd);
	CHECK(relayauth_lookup("r.example", 587, 25, user, pass, err,
	    sizeof(err)) == -1);
	chmod(path, 0640);
	CHECK(relayauth_open(path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not readable by group or others") != NULL);
	chmod(path, 0600);
	CHECK(relayauth_open(path, err, sizeof(err)) == 0);
	CHECK(relayauth_lookup("r.example", 587, 25, user, pass, err,
	    sizeof(err)) == 1);
	CHECK_STR(pass, "p");
	relayauth_close();
	unlink(path);
	CHECK(relayauth_open(path, err, sizeof(err)) == -1);
	CHECK(relayauth_open("/tmp", err, sizeof(err)) == -1);
}

int
main(void)
{
	RUN(test_parse);
	RUN(test_open);
	return unit_done();
}
