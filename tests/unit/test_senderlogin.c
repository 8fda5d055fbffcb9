/* SPDX-License-Identifier: ISC */
/* test_senderlogin.c - who may use which envelope sender after AUTH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "senderlogin.h"
#include "unit.h"

static char	 dir[256];

static const char *
put(const char *name, const char *text)
{
	static char	 path[512];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
conf(struct config *c, const char *extra)
{
	char	 text[1024], err[512];

	snprintf(text, sizeof(text), "hostname = mx.example.org\n"
	    "local_domains = example.org, Example.COM\n%s", extra);
	if (config_parse_string(c, "test", text, err, sizeof(err)) == -1) {
		printf("  config: %s\n", err);
		return -1;
	}
	return 0;
}

static void
test_default_local_domains(void)
{
	struct config c;

	if (conf(&c, "") == -1) {
		CHECK(0);
		return;
	}
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "Alice@EXAMPLE.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice@example.com") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice@localhost") == 1);
	CHECK(sender_login_owns(&c, "alice", "\"alice\"@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice+lists@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice-lists@example.org") == 0);
	CHECK(sender_login_owns(&c, "alice", "alicex@example.org") == 0);
	CHECK(sender_login_owns(&c, "alice", "bob@example.org") == 0);
	CHECK(sender_login_owns(&c, "alice", "alice@example.net") == 0);
	CHECK(sender_login_owns(&c, "alice", "alice") == 0);
	CHECK(sender_login_owns(&c, "alice", "+alice@example.org") == 0);
	/* The null sender: every user. */
	CHECK(sender_login_owns(&c, "alice", "") == 1);
	CHECK(sender_login_owns(&c, "alice", "<>") == 1);
	/* A login that is an address owns it, in a local domain only. */
	CHECK(sender_login_owns(&c, "bob@example.org", "bob@example.org") == 1);
	CHECK(sender_login_owns(&c, "bob@example.org", "BOB+x@example.org") ==
	    1);
	CHECK(sender_login_owns(&c, "bob@example.org", "bob@example.com") == 0);
	CHECK(sender_login_owns(&c, "bob@gmail.test", "bob@gmail.test") == 0);
	config_free(&c);

	/* Without a delimiter, +ext is a different address. */
	if (conf(&c, "recipient_delimiter =\n") == -1) {
		CHECK(0);
		return;
	}
	CHECK(sender_login_owns(&c, "alice", "alice+lists@example.org") == 0);
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == 1);
	config_free(&c);
}

static void
test_file(void)
{
	struct config c;
	char	 line[512];
	const char *p;

	p = put("senders", "# who sends as whom\n"
	    "alice: alice@example.org, Alice.Smith@Example.ORG\n"
	    "\n"
	    "alice:@example.net\n"
	    "bob :  @example.com \t bob@other.test,\n"
	    "  carol: carol@example.org\n");
	snprintf(line, sizeof(line), "sender_login = %s\n", p);
	if (conf(&c, line) == -1) {
		CHECK(0);
		return;
	}
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "ALICE@example.ORG") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice.smith@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "alice+x@example.org") == 1);
	CHECK(sender_login_owns(&c, "alice", "anyone@example.net") == 1);
	CHECK(sender_login_owns(&c, "alice", "anyone@sub.example.net") == 0);
	/* The file replaces the default. */
	CHECK(sender_login_owns(&c, "alice", "alice@example.com") == 0);
	CHECK(sender_login_owns(&c, "alice", "bob@example.org") == 0);
	CHECK(sender_login_owns(&c, "bob", "x@example.com") == 1);
	CHECK(sender_login_owns(&c, "bob", "bob@other.test") == 1);
	CHECK(sender_login_owns(&c, "bob", "bob@example.org") == 0);
	CHECK(sender_login_owns(&c, "carol", "carol@example.org") == 1);
	CHECK(sender_login_owns(&c, "Carol", "carol@example.org") == 0);
	CHECK(sender_login_owns(&c, "dave", "dave@example.org") == 0);
	CHECK(sender_login_owns(&c, "dave", "") == 1);

	/* A bad line anywhere: -1 (a temporary error), for every user. */
	put("senders", "alice: alice@example.org\nbob bob@example.org\n");
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == -1);
	put("senders", "alice: alice@example.org, example.org\n");
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == -1);
	put("senders", "alice: alice@\n");
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == -1);
	unlink(p);
	CHECK(sender_login_owns(&c, "alice", "alice@example.org") == -1);
	CHECK(sender_login_owns(&c, "alice", "") == 1);
	config_free(&c);
}

static void
test_check(void)
{
	char	 err[512];

	CHECK(sender_login_check(put("senders", "a: a@b.c\n# x\n"), err,
	    sizeof(err)) == 0);
	CHECK(sender_login_check(put("senders", "a: a@b.c\n: x@y.z\n"), err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "senders:2: ") != NULL);
	CHECK(sender_login_check(put("senders", "a: a@b.c\nb: x\001@y\n"), err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "senders:2: control byte") != NULL);
	snprintf(err, sizeof(err), "%s/missing", dir);
	CHECK(sender_login_check(err, err, sizeof(err)) == -1);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tern-senders-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_default_local_domains);
	RUN(test_file);
	RUN(test_check);
	unlink(put("senders", ""));
	rmdir(dir);
	return unit_done();
}
