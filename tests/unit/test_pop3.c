/* SPDX-License-Identifier: ISC */
/*
 * test_pop3.c - the pure parts of the POP3 server: UIDLs, sizes, the
 * CRLF and dot-stuffing encoder (whole and in every split), the command
 * parser and message numbers, and the maildrop scan on a real directory
 * (new/ -> cur/, order, sizes, the lock, a renamed and a vanished file,
 * unlinks at commit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3.h"
#include "unit.h"

static void
test_uidl(void)
{
	char	 out[80];

	CHECK(maildrop_uidl("cur/1700000000.M1P2Q3.host:2,S", out,
	    sizeof(out)) == 22);
	CHECK_STR(out, "1700000000.M1P2Q3.host");
	maildrop_uidl("1700000000.M1P2Q3.host", out, sizeof(out));
	CHECK_STR(out, "1700000000.M1P2Q3.host");
	maildrop_uidl("cur/a,S=100,W=104:2,", out, sizeof(out));
	CHECK_STR(out, "a,S=100,W=104");
	maildrop_uidl("cur/abcdef", out, 4);
	CHECK_STR(out, "abc");
}

static void
test_name_size(void)
{
	CHECK(maildrop_name_size("cur/a,S=100,W=104:2,S") == 104);
	CHECK(maildrop_name_size("cur/a,W=7") == 7);
	CHECK(maildrop_name_size("cur/a,S=100:2,") == -1);
	CHECK(maildrop_name_size("cur/a:2,,W=5") == -1);	/* in the info */
	CHECK(maildrop_name_size("cur/a,W=x") == -1);
	CHECK(maildrop_name_size("cur/a,W=12z") == -1);
}

static void
test_flag(void)
{
	char	 out[32];

	CHECK(maildrop_flag("cur/a:2,", 'S', out, sizeof(out)) == 1);
	CHECK_STR(out, "cur/a:2,S");
	CHECK(maildrop_flag("cur/a:2,FRT", 'S', out, sizeof(out)) == 1);
	CHECK_STR(out, "cur/a:2,FRST");
	CHECK(maildrop_flag("cur/a:2,T", 'S', out, sizeof(out)) == 1);
	CHECK_STR(out, "cur/a:2,ST");
	CHECK(maildrop_flag("cur/a:2,ab", 'S', out, sizeof(out)) == 1);
	CHECK_STR(out, "cur/a:2,Sab");		/* lower case after */
	CHECK(maildrop_flag("cur/a:2,RS", 'S', out, sizeof(out)) == 0);
	CHECK(maildrop_flag("cur/a:1,x", 'S', out, sizeof(out)) == 0);
	CHECK(maildrop_flag("cur/a", 'S', out, sizeof(out)) == 0);
	CHECK(maildrop_flag("cur/a:2,", 'S', out, 9) == -1);
	CHECK(maildrop_flag("cur/a:2,", 'S', out, 10) == 1);
}

static void
test_crlf_size(void)
{
	int	 cr = 0;

	CHECK(maildrop_crlf_size("a\nb\n", 4, &cr) == 6);
	cr = 0;
	CHECK(maildrop_crlf_size("a\r\nb\n", 5, &cr) == 6);
	cr = 0;	/* a CRLF split between two reads */
	CHECK(maildrop_crlf_size("a\r", 2, &cr) == 2);
	CHECK(maildrop_crlf_size("\nb", 2, &cr) == 2);
}

/* The encoding of in, fed in pieces of step bytes. */
static size_t
encode(const char *in, long long lines, size_t step, char *out)
{
	struct pop3_enc e;
	size_t	 n = strlen(in), i, o = 0, k;

	pop3_enc_init(&e, lines);
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		o += pop3_enc_chunk(&e, in + i, k, out + o);
	}
	o += pop3_enc_end(&e, out + o);
	out[o] = '\0';
	return o;
}

static void
test_encoder(void)
{
	static const struct {
		const char *in;
		long long lines;
		const char *want;
	} t[] = {
		{ "A: b\n\nline\n", -1, "A: b\r\n\r\nline\r\n.\r\n" },
		{ "A: b\r\n\r\nline\r\n", -1, "A: b\r\n\r\nline\r\n.\r\n" },
		{ "A: b\n\n.x\n..\n.\n", -1,
		    "A: b\r\n\r\n..x\r\n...\r\n..\r\n.\r\n" },
		{ "A: b\n\nno newline", -1, "A: b\r\n\r\nno newline\r\n.\r\n" },
		{ "A: b\n\na\rb\n", -1, "A: b\r\n\r\na\rb\r\n.\r\n" },
		{ "A: b\n\n\r.x\n", -1, "A: b\r\n\r\n\r.x\r\n.\r\n" },
		{ "", -1, ".\r\n" },
		{ "A: b\nC: d\n\n1\n2\n3\n", 0, "A: b\r\nC: d\r\n\r\n.\r\n" },
		{ "A: b\n\n1\n2\n3\n", 2, "A: b\r\n\r\n1\r\n2\r\n.\r\n" },
		{ "A: b\n\n1\n", 5, "A: b\r\n\r\n1\r\n.\r\n" },
		{ "A: b\n", 3, "A: b\r\n.\r\n" },
		{ ".A: b\n\n", 0, "..A: b\r\n\r\n.\r\n" },
	};
	char	 out[256];
	size_t	 i, step;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (step = 1; step <= 8; step++) {
			encode(t[i].in, t[i].lines, step, out);
			if (strcmp(out, t[i].want) != 0) {
				printf("  case %zu step %zu:\n", i, step);
				CHECK_STR(out, t[i].want);
			}
		}
}

static void
test_parse(void)
{
	char	 line[64], *verb, *arg[2];

	strcpy(line, "retr 12");
	CHECK(pop3_parse(line, &verb, arg) == 1);
	CHECK_STR(verb, "RETR");
	CHECK_STR(arg[0], "12");
	strcpy(line, "TOP 1 10");
	CHECK(pop3_parse(line, &verb, arg) == 2);
	CHECK_STR(arg[1], "10");
	strcpy(line, "STAT");
	CHECK(pop3_parse(line, &verb, arg) == 0 && arg[0] == NULL);
	strcpy(line, "LIST ");
	CHECK(pop3_parse(line, &verb, arg) == 0);
	strcpy(line, "TOP 1 2 3");
	CHECK(pop3_parse(line, &verb, arg) == -1);
	strcpy(line, "NOOP\001");
	CHECK(pop3_parse(line, &verb, arg) == -1);
	CHECK(pop3_msgno("1", 3) == 1);
	CHECK(pop3_msgno("3", 3) == 3);
	CHECK(pop3_msgno("4", 3) == 0);
	CHECK(pop3_msgno("0", 3) == 0);
	CHECK(pop3_msgno("-1", 3) == 0);
	CHECK(pop3_msgno("01", 3) == 0);
	CHECK(pop3_msgno("1x", 3) == 0);
	CHECK(pop3_msgno("", 3) == 0);
	CHECK(pop3_msgno(NULL, 3) == 0);
	CHECK(pop3_msgno("99999999999999999999999", (size_t)-1) == 0);
}

static char dir[] = "/tmp/tern-pop3-XXXXXX";

static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static int
exists(const char *name)
{
	char	 path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
test_maildrop(void)
{
	struct maildrop md, other;
	char	 path[512];
	int	 fd;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	CHECK(maildrop_open(&md, dir) == 0);	/* made when missing */
	CHECK(md.n == 0);
	maildrop_close(&md);
	put("new/1700000002.M2P1Q2.h", "S: 2\n\nb\n");
	put("new/1700000001.M1P1Q1.h", "S: 1\n\na\n");
	put("cur/1600000000.M1P1Q1.h:2,S", "S: 0\n\n");
	put("cur/1500000000.x,S=5,W=99:2,", "x\n");
	put("cur/.hidden", "x\n");
	put("tmp/1800000000.M1P1Q1.h", "x\n");
	CHECK(maildrop_open(&md, dir) == 0);
	CHECK(md.n == 4);
	if (md.n != 4)
		return;
	CHECK_STR(md.msg[0].name, "cur/1500000000.x,S=5,W=99:2,");
	CHECK(md.msg[0].size == 99);
	CHECK_STR(md.msg[1].name, "cur/1600000000.M1P1Q1.h:2,S");
	CHECK(md.msg[1].size == 8);
	CHECK_STR(md.msg[2].name, "cur/1700000001.M1P1Q1.h:2,");
	CHECK(md.msg[2].size == 11);
	CHECK(md.size == 99 + 8 + 11 + 11);
	CHECK(!exists("new/1700000001.M1P1Q1.h"));
	CHECK(exists("cur/1700000002.M2P1Q2.h:2,"));
	/* the lock: a second open fails while the first holds it */
	CHECK(maildrop_open(&other, dir) == -1 && errno == EWOULDBLOCK);
	/* renamed for a flag: found again; gone: ENOENT */
	snprintf(path, sizeof(path), "%s/cur/1700000001.M1P1Q1.h:2,", dir);
	rename(path, strcat(strcpy((char[600]){0}, path), "S"));
	CHECK((fd = maildrop_fopen(&md, 2)) != -1);
	if (fd != -1)
		close(fd);
	CHECK_STR(md.msg[2].name, "cur/1700000001.M1P1Q1.h:2,S");
	snprintf(path, sizeof(path), "%s/cur/1600000000.M1P1Q1.h:2,S", dir);
	unlink(path);
	CHECK(maildrop_fopen(&md, 1) == -1 && errno == ENOENT);
	md.msg[1].deleted = md.msg[2].deleted = 1;
	md.ndeleted = 2;
	CHECK(maildrop_commit(&md) == 0);	/* a vanished one is no error */
	CHECK(!exists("cur/1700000001.M1P1Q1.h:2,S"));
	CHECK(exists("cur/1700000002.M2P1Q2.h:2,"));
	maildrop_close(&md);
	CHECK(maildrop_open(&other, dir) == 0 && other.n == 2);
	maildrop_close(&other);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

int
main(void)
{
	RUN(test_uidl);
	RUN(test_name_size);
	RUN(test_flag);
	RUN(test_crlf_size);
	RUN(test_encoder);
	RUN(test_parse);
	RUN(test_maildrop);
	return unit_done();
}
