/* SPDX-License-Identifier: ISC */
/*
 * fuzz_auth.c - libFuzzer target for the files of AUTH: authfile_load()
 * on auth_users (fmemopen), each line through authfile_parse_line(),
 * and sender_login_check() and sender_login_owns() on the same bytes as
 * a sender_login file in /tmp.  A load that fails names "fuzz:LINE: ";
 * one that works finds every user it read.  See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authfile.h"
#include "config.h"
#include "senderlogin.h"

static void
fuzz_lines(const char *data, size_t size)
{
	struct authfile_line l;
	const char *p = data, *end = data + size, *nl, *why;
	char	 user[AUTH_USER_MAX + 1];

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		why = NULL;
		switch (authfile_parse_line(p, (size_t)(nl - p), &l, &why)) {
		case -1:
			if (why == NULL)
				abort();
			break;
		case 1:
			if (l.userlen == 0 || l.userlen > AUTH_USER_MAX ||
			    l.hashlen == 0 || l.hash + l.hashlen > nl ||
			    !authfile_user_ok(l.user, l.userlen))
				abort();
			memcpy(user, l.user, l.userlen);
			user[l.userlen] = '\0';
			break;
		}
		if (nl == end)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int ready;
	static char path[] = "/tmp/fuzz-senders-XXXXXX";
	struct authfile *af;
	char	 err[512], conf[128];
	FILE	*fp;
	int	 fd;

	if (!ready) {
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
		snprintf(conf, sizeof(conf), "sender_login = %s\n"
		    "local_domains = example.org\n", path);
		if (config_parse_string(&cfg, "fuzz", conf, err,
		    sizeof(err)) == -1)
			abort();
		ready = 1;
	}
	fuzz_lines((const char *)data, size);
	if (size > 0 && (fp = fmemopen((void *)data, size, "r")) != NULL) {
		af = authfile_load(fp, "fuzz", err, sizeof(err));
		fclose(fp);
		if (af == NULL && strncmp(err, "fuzz:", 5) != 0)
			abort();
		if (af != NULL && authfile_dummy(af) == NULL)
			abort();
		authfile_free(af);
	}
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	sender_login_check(path, err, sizeof(err));
	sender_login_owns(&cfg, "alice", "alice@example.org");
	return 0;
}
