/* SPDX-License-Identifier: ISC */
/*
 * test_maildirsize.c - the Maildir++ quota file: parsing and sums, the
 * quota arithmetic, recalculation from a scan (",S=" names and stat),
 * and a quota delivery through mailbox_maildir_quota().
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "mailbox.h"
#include "maildirsize.h"
#include "unit.h"

static char	 dir[256];

static void
put(const char *rel, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((fp = fopen(path, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static char *
get(const char *rel)
{
	static char buf[8192];
	char	 path[512];
	size_t	 n = 0;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	buf[0] = '\0';
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

static int
parse(const char *text, struct maildirsize *u)
{
	return maildirsize_parse(text, strlen(text), u);
}

static void
test_parse(void)
{
	struct maildirsize u;

	CHECK(parse("1000S\n", &u) == 0 && u.limit_bytes == 1000 &&
	    u.limit_count == 0 && u.bytes == 0 && u.lines == 0);
	CHECK(parse("1000S,20C\n300 2\n-100 -1\n 50 1\n", &u) == 0);
	CHECK(u.limit_bytes == 1000 && u.limit_count == 20);
	CHECK(u.bytes == 250 && u.count == 2 && u.lines == 3);
	CHECK(parse("20C,1000S\n", &u) == 0 && u.limit_bytes == 1000 &&
	    u.limit_count == 20);
	CHECK(parse("0S\n0 0\n", &u) == 0 && u.limit_bytes == 0);
	CHECK(parse("", &u) == -1);
	CHECK(parse("1000S", &u) == -1);		/* no newline */
	CHECK(parse("1000X\n", &u) == -1);
	CHECK(parse("1000S,\n", &u) == -1);
	CHECK(parse("S\n", &u) == -1);
	CHECK(parse("1000S\n12\n", &u) == -1);
	CHECK(parse("1000S\n12 x\n", &u) == -1);
	CHECK(parse("1000S\n12 1 3\n", &u) == -1);
	CHECK(parse("1000S\n99999999999999999999 1\n", &u) == -1);
}

static void
test_fits(void)
{
	struct maildirsize u;

	memset(&u, 0, sizeof(u));
	u.bytes = 900;
	CHECK(maildirsize_fits(&u, 1000, 100));
	CHECK(!maildirsize_fits(&u, 1000, 101));
	CHECK(maildirsize_fits(&u, 0, 1LL << 40));	/* no quota */
	u.bytes = 1200;				/* over already */
	CHECK(!maildirsize_fits(&u, 1000, 0));
	CHECK(!maildirsize_fits(&u, 1000, 1));
}

static void
test_recalculate(void)
{
	static const char *const sub[] = { "", "/new", "/cur", "/tmp",
	    "/.Sent", "/.Sent/cur" };
	struct maildirsize u;
	char	 path[512];
	size_t	 i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/md%s", dir, sub[i]);
		mkdir(path, 0700);
	}
	put("md/new/1.M1P1.host,S=1000", "short");	/* the name counts */
	put("md/cur/2.M1P1.host:2,S", "twelve bytes");	/* stat counts */
	put("md/.Sent/cur/3.M1P1.host,S=500:2,S", "");
	put("md/tmp/4.M1P1.host", "not yet a message");
	snprintf(path, sizeof(path), "%s/md", dir);
	/* missing: recalculated and written */
	CHECK(maildirsize_usage(path, 4096, &u) == 0);
	CHECK(u.bytes == 1512 && u.count == 3);
	CHECK_STR(get("md/maildirsize"), "4096S\n1512 3\n");
	CHECK(maildirsize_append(path, 100, 1) == 0);
	CHECK(maildirsize_usage(path, 4096, &u) == 0 && u.bytes == 1612 &&
	    u.count == 4);
	CHECK_STR(get("md/maildirsize"), "4096S\n1512 3\n100 1\n");
	/* another limit: recalculated from the Maildir */
	CHECK(maildirsize_usage(path, 8192, &u) == 0 && u.bytes == 1512);
	CHECK_STR(get("md/maildirsize"), "8192S\n1512 3\n");
	/* broken: recalculated */
	put("md/maildirsize", "garbage\n");
	CHECK(maildirsize_usage(path, 8192, &u) == 0 && u.bytes == 1512);
	CHECK_STR(get("md/maildirsize"), "8192S\n1512 3\n");
}

static void
test_quota_delivery(void)
{
	struct mailbox_result res;
	struct mailbox_msg msg;
	struct maildirsize u;
	char	 box[512];
	FILE	*fp;
	int	 i, st[3];

	fp = tmpfile();
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs("Subject: q\r\n\r\n", fp);
	for (i = 0; i < 40; i++)
		fputs("0123456789012345678901234567890123456789\r\n", fp);
	fflush(fp);
	msg.fp = fp;
	msg.offset = 0;
	msg.sender = "alice@example.org";
	msg.rcpt = "bob@example.org";
	snprintf(box, sizeof(box), "%s/quota/", dir);
	for (i = 0; i < 3; i++)
		st[i] = mailbox_maildir_quota(&msg, box, 4000, &res);
	CHECK(st[0] == DELIVER_OK && st[1] == DELIVER_OK);
	CHECK(st[2] == DELIVER_TEMPFAIL);
	CHECK_STR(res.dsn, "4.2.2");
	CHECK(strncmp(res.reply, "Mailbox full", 12) == 0);
	CHECK(maildirsize_usage(box, 4000, &u) == 0 && u.count == 2 &&
	    u.bytes > 3000 && u.bytes <= 4000);
	fclose(fp);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tern-mds-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_parse);
	RUN(test_fits);
	RUN(test_recalculate);
	RUN(test_quota_delivery);
	{
		char	 cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return unit_done();
}
