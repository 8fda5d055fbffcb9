/* SPDX-License-Identifier: ISC */
/* test_log.c - log lines: control bytes escaped, one line per event. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

static void
test_escape(void)
{
	char	 out[64];

	log_escape("plain text, 8-bit \xc3\xa9 kept", out, sizeof(out));
	CHECK_STR(out, "plain text, 8-bit \xc3\xa9 kept");
	log_escape("a\nb\rc\td\x1b[31me\x7f\x01", out, sizeof(out));
	CHECK_STR(out, "a\\x0ab\\x0dc\\x09d\\x1b[31me\\x7f\\x01");
	log_escape("", out, sizeof(out));
	CHECK_STR(out, "");
	/* Cut at a whole escape, never inside one. */
	log_escape("ab\n", out, 6);
	CHECK_STR(out, "ab");
	log_escape("ab\n", out, 7);
	CHECK_STR(out, "ab\\x0a");
	log_escape("abcdef", out, 4);
	CHECK_STR(out, "abc");
}

/* What log_* wrote to standard error while fn ran. */
static void
capture(void (*fn)(void), char *buf, size_t len)
{
	FILE	*tmp = tmpfile();
	int	 saved = dup(STDERR_FILENO);
	size_t	 n;

	buf[0] = '\0';
	if (tmp == NULL || saved == -1)
		return;
	dup2(fileno(tmp), STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void
forged_lines(void)
{
	errno = ENOENT;
	log_info("helo=<%s>", "x\nJan  1 00:00:00 host tern/smtpd[1]: forged");
	log_warn("file %s", "a\r\x1b]0;title\a");
}

static void
test_lines(void)
{
	char	 buf[4096], *nl;

	log_init("test", 1);
	capture(forged_lines, buf, sizeof(buf));
	nl = strchr(buf, '\n');
	CHECK(nl != NULL && strchr(nl + 1, '\n') == strrchr(buf, '\n'));
	CHECK(strstr(buf, "tern/test[") != NULL);
	CHECK(strstr(buf, ": helo=<x\\x0aJan  1 00:00:00 host tern/smtpd[1]: "
	    "forged>\n") != NULL);
	CHECK(strstr(buf, "warning: file a\\x0d\\x1b]0;title\\x07: "
	    "No such file or directory\n") != NULL);
	CHECK(strchr(buf, '\r') == NULL && strchr(buf, '\x1b') == NULL &&
	    strchr(buf, '\a') == NULL);
}

int
main(void)
{
	RUN(test_escape);
	RUN(test_lines);
	return unit_done();
}
