/* SPDX-License-Identifier: ISC */
/*
 * maildirsize.c - the Maildir++ quota file (format in maildirsize.h).
 *
 * Runs in the delivery job of a virtual account, as virtual_user, and
 * in ternpasswd -u after it has dropped to virtual_user: never as root.
 * The file is the mailbox owner's; a broken one is recalculated, never
 * trusted to refuse mail.  Two deliveries at once may both fit where
 * only one does (Maildir++ quotas are soft, as in Dovecot and Courier).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maildirsize.h"

#define NUM_MAX		((long long)1 << 60)	/* bigger is nonsense */

/* num - a decimal, maybe negative, ending at *pp's stop byte */
static int
num(const char **pp, const char *end, long long *out)
{
	const char *p = *pp;
	long long v = 0;
	int	 neg = 0, digits = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (v > NUM_MAX / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (digits == 0)
		return -1;
	*out = neg ? -v : v;
	*pp = p;
	return 0;
}

/* parse_limits - "<bytes>S[,<count>C]" (either, in either order) */
static int
parse_limits(const char *p, const char *end, struct maildirsize *u)
{
	long long v;

	u->limit_bytes = u->limit_count = 0;
	while (p < end) {
		if (num(&p, end, &v) == -1 || v < 0 || p == end)
			return -1;
		if (*p == 'S')
			u->limit_bytes = v;
		else if (*p == 'C')
			u->limit_count = v;
		else
			return -1;
		if (++p < end && (*p++ != ',' || p == end))
			return -1;
	}
	return 0;
}

int
maildirsize_parse(const char *text, size_t len, struct maildirsize *u)
{
	const char *p = text, *end = text + len, *nl;
	long long b, c;

	memset(u, 0, sizeof(*u));
	if (len == 0 || text[len - 1] != '\n' ||
	    (nl = memchr(p, '\n', len)) == NULL ||
	    parse_limits(p, nl, u) == -1)
		return -1;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		while (p < nl && *p == ' ')
			p++;
		if (num(&p, nl, &b) == -1 || p == nl || *p++ != ' ')
			return -1;
		while (p < nl && *p == ' ')
			p++;
		if (num(&p, nl, &c) == -1 || p != nl)
			return -1;
		u->bytes += b;
		u->count += c;
		u->lines++;
	}
	return 0;
}

int
maildirsize_fits(const struct maildirsize *u, long long quota,
    long long add)
{
	if (quota <= 0)
		return 1;
	return u->bytes + add <= quota;
}

/* size_in_name - ",S=<bytes>" in a Maildir file name, or -1 */
static long long
size_in_name(const char *name)
{
	const char *p = strstr(name, ",S="), *end;
	long long v;

	if (p == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, ",:");
	if (num(&p, end, &v) == -1 || p != end)
		return -1;
	return v;
}

/* scan_one - the messages of dir/sub */
static int
scan_one(const char *dir, const char *sub, long long *bytes,
    long long *count)
{
	char	 path[PATH_MAX], file[PATH_MAX + 256];
	struct dirent *d;
	struct stat st;
	long long sz;
	DIR	*dp;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path))
		return -1;
	if ((dp = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if ((sz = size_in_name(d->d_name)) < 0) {
			snprintf(file, sizeof(file), "%s/%s", path, d->d_name);
			if (lstat(file, &st) == -1 || !S_ISREG(st.st_mode))
				continue;
			sz = st.st_size;
		}
		*bytes += sz;
		(*count)++;
	}
	closedir(dp);
	return 0;
}

int
maildirsize_scan(const char *dir, long long *bytes, long long *count)
{
	char	 sub[NAME_MAX + 8];
	struct dirent *d;
	DIR	*dp;

	*bytes = *count = 0;
	if (scan_one(dir, "new", bytes, count) == -1 ||
	    scan_one(dir, "cur", bytes, count) == -1)
		return -1;
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] != '.' || strcmp(d->d_name, ".") == 0 ||
		    strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/new", d->d_name);
		scan_one(dir, sub, bytes, count);
		snprintf(sub, sizeof(sub), "%s/cur", d->d_name);
		scan_one(dir, sub, bytes, count);
	}
	closedir(dp);
	return 0;
}

/* recalc - a fresh maildirsize from a scan: tmp file, then rename */
static int
recalc(const char *dir, long long quota, struct maildirsize *u)
{
	char	 path[PATH_MAX], tmp[PATH_MAX + 64], text[128];
	int	 fd, n;

	memset(u, 0, sizeof(*u));
	if (maildirsize_scan(dir, &u->bytes, &u->count) == -1)
		return -1;
	u->limit_bytes = quota;
	u->lines = 1;
	n = snprintf(text, sizeof(text), "%lldS\n%lld %lld\n", quota,
	    u->bytes, u->count);
	snprintf(path, sizeof(path), "%s/maildirsize", dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp/maildirsize.%ld.%lld", dir,
	    (long)getpid(), (long long)time(NULL));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return 0;	/* the usage is known; the file waits */
	if (write(fd, text, (size_t)n) != n || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		unlink(tmp);
	return 0;
}

int
maildirsize_usage(const char *dir, long long quota, struct maildirsize *u)
{
	char	 path[PATH_MAX], text[MAILDIRSIZE_MAX + 1];
	ssize_t	 n = -1;
	int	 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/maildirsize", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		n = read(fd, text, sizeof(text));
		close(fd);
	}
	if (n > 0 && n < MAILDIRSIZE_MAX &&
	    maildirsize_parse(text, (size_t)n, u) == 0 &&
	    u->limit_bytes == quota)
		return 0;
	return recalc(dir, quota, u);
}

int
maildirsize_append(const char *dir, long long bytes, long long count)
{
	char	 path[PATH_MAX], line[64];
	int	 fd, n, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/maildirsize", dir) >=
	    sizeof(path))
		return -1;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	n = snprintf(line, sizeof(line), "%lld %lld\n", bytes, count);
	if (write(fd, line, (size_t)n) != n)
		rc = -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}
