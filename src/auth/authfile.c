/* SPDX-License-Identifier: ISC */
/*
 * authfile.c - parse the password file of AUTH and POP3 (auth_users).
 *
 * A pure parser: authfile_parse_line() reads one line, authfile_load()
 * a whole file into a table sorted by user name for bsearch(3).  The
 * auth checker (auth_checker.c) loads the file after it has given up
 * root, from a descriptor it opened before; ternpasswd(8) checks each
 * line with the same parser and copies the others untouched.
 *
 * Invariant: a message names FILE:LINE and never the line's text, which
 * holds a hash; the table's hashes and the line buffer are wiped with
 * explicit_bzero(3) before they are freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfile.h"
#include "text.h"

struct auth_entry {
	char	*user;
	char	*hash;
	char	*mailbox;	/* NULL: none given */
	long long quota;
	long	 line;
};

struct authfile {
	struct auth_entry *v;
	size_t	 n, cap;
};

/*
 * For a file without users: a yescrypt hash (of "x") that crypt() takes,
 * so an unknown user costs a hash computation there too.
 */
static const char dummy_hash[] =
    "$y$j9T$HBEL2UlaBrWQbtBcA653J1$ZiAQK27H6QEpmW3OcAZrT1AZoit6unHe8iQTlbd70g0";

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

int
authfile_user_ok(const char *user, size_t len)
{
	size_t	 i;

	if (len == 0 || len > AUTH_USER_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (user[i] == ':' || user[i] == '\0' || is_blank(user[i]) ||
		    text_is_ctl((unsigned char)user[i]))
			return 0;
	return 1;
}

/* "quota=SIZE": bytes, or with a K, M or G suffix; -1 if it is not one. */
static long long
parse_quota(const char *p, size_t n)
{
	long long v = 0, mul = 1;
	size_t	 i;

	if (n > 0 && strchr("KkMmGg", p[n - 1]) != NULL) {
		mul = p[n - 1] == 'K' || p[n - 1] == 'k' ? 1024LL :
		    p[n - 1] == 'M' || p[n - 1] == 'm' ? 1024LL * 1024 :
		    1024LL * 1024 * 1024;
		n--;
	}
	if (n == 0 || n > 15)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v * mul;		/* at most 10^15 * 2^30: no overflow */
}

/* "mailbox=PATH": absolute, no blank, ':' or control byte, no "..". */
static int
path_ok(const char *p, size_t n)
{
	size_t	 i;

	if (n < 2 || n > AUTH_PATH_MAX || p[0] != '/')
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] == ':' || text_is_ctl((unsigned char)p[i]))
			return 0;
	for (i = 0; i + 2 < n; i++)
		if (p[i] == '/' && p[i + 1] == '.' && p[i + 2] == '.' &&
		    (i + 3 == n || p[i + 3] == '/'))
			return 0;
	return 1;
}

/* The blank-separated fields after the hash: 1, or -1 with *why. */
static int
parse_fields(const char *p, size_t n, struct authfile_line *out,
    const char **why)
{
	const char *end = p + n, *w;
	size_t	 wl;

	for (;;) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			return 1;
		for (w = p; p < end && !is_blank(*p); p++)
			;
		wl = (size_t)(p - w);
		if (wl > 6 && memcmp(w, "quota=", 6) == 0) {
			if (out->quota != 0 ||
			    (out->quota = parse_quota(w + 6, wl - 6)) < 0) {
				*why = "bad quota= (a size such as 500M, "
				    "given once)";
				return -1;
			}
		} else if (wl > 8 && memcmp(w, "mailbox=", 8) == 0) {
			if (out->mailbox != NULL || !path_ok(w + 8, wl - 8)) {
				*why = "bad mailbox= (an absolute path "
				    "without ':' or \"..\", given once)";
				return -1;
			}
			out->mailbox = w + 8;
			out->mailboxlen = wl - 8;
		} else {
			*why = "unknown field (quota= and mailbox= are known)";
			return -1;
		}
	}
}

int
authfile_parse_line(const char *line, size_t len, struct authfile_line *out,
    const char **why)
{
	const char *colon;
	size_t	 i;

	for (i = 0; i < len && is_blank(line[i]); i++)
		;
	if (i == len || line[i] == '#')
		return 0;
	if (len > AUTH_LINE_MAX) {
		*why = "line too long";
		return -1;
	}
	if ((colon = memchr(line, ':', len)) == NULL) {
		*why = "expected user:hash";
		return -1;
	}
	out->user = line;
	out->userlen = (size_t)(colon - line);
	out->hash = colon + 1;
	out->hashlen = len - out->userlen - 1;
	out->mailbox = NULL;
	out->mailboxlen = 0;
	out->quota = 0;
	if (!authfile_user_ok(out->user, out->userlen)) {
		*why = out->userlen > AUTH_USER_MAX ? "user name too long" :
		    "bad user name (empty, or a blank or control byte)";
		return -1;
	}
	if ((colon = memchr(out->hash, ':', out->hashlen)) != NULL)
		out->hashlen = (size_t)(colon - out->hash);
	if (out->hashlen == 0 || out->hashlen > AUTH_HASH_MAX) {
		*why = out->hashlen ? "hash too long" : "empty hash";
		return -1;
	}
	for (i = 0; i < out->hashlen; i++)
		if (is_blank(out->hash[i]) || out->hash[i] == '\0' ||
		    text_is_ctl((unsigned char)out->hash[i])) {
			*why = "bad hash (a blank or control byte)";
			return -1;
		}
	if (colon != NULL)
		return parse_fields(colon + 1, (size_t)(line + len - colon - 1),
		    out, why);
	return 1;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct auth_entry *)a)->user,
	    ((const struct auth_entry *)b)->user);
}

static int
authfile_add(struct authfile *af, const struct authfile_line *l, long line)
{
	struct auth_entry *e;
	size_t	 cap;

	if (af->n == af->cap) {
		cap = af->cap ? af->cap * 2 : 16;
		if ((e = reallocarray(af->v, cap, sizeof(*e))) == NULL)
			return -1;
		af->v = e;
		af->cap = cap;
	}
	e = &af->v[af->n];
	e->user = strndup(l->user, l->userlen);
	e->hash = strndup(l->hash, l->hashlen);
	e->mailbox = l->mailbox != NULL ? strndup(l->mailbox, l->mailboxlen) :
	    NULL;
	e->quota = l->quota;
	e->line = line;
	if (e->user == NULL || e->hash == NULL ||
	    (l->mailbox != NULL && e->mailbox == NULL)) {
		free(e->user);
		free(e->hash);
		free(e->mailbox);
		return -1;
	}
	af->n++;
	return 0;
}

/* Sort for lookups; a user listed twice is an error naming both lines. */
static int
authfile_index(struct authfile *af, const char *name, char *err,
    size_t errlen)
{
	size_t	 i;
	long	 a, b;

	if (af->n == 0)
		return 0;
	qsort(af->v, af->n, sizeof(af->v[0]), entry_cmp);
	for (i = 1; i < af->n; i++) {
		if (strcmp(af->v[i - 1].user, af->v[i].user) != 0)
			continue;
		a = af->v[i - 1].line;
		b = af->v[i].line;
		snprintf(err, errlen, "%s:%ld: user listed again (first on "
		    "line %ld)", name, a > b ? a : b, a < b ? a : b);
		return -1;
	}
	return 0;
}

struct authfile *
authfile_load(FILE *fp, const char *name, char *err, size_t errlen)
{
	struct authfile *af;
	struct authfile_line l;
	const char *why;
	char	*buf = NULL;
	size_t	 cap = 0, len;
	ssize_t	 n;
	long	 line = 0;

	if ((af = calloc(1, sizeof(*af))) == NULL)
		goto fail_errno;
	while ((n = getline(&buf, &cap, fp)) != -1) {
		line++;
		len = (size_t)n;
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (memchr(buf, '\0', len) != NULL) {
			snprintf(err, errlen, "%s:%ld: NUL byte", name, line);
			goto fail;
		}
		switch (authfile_parse_line(buf, len, &l, &why)) {
		case 0:
			continue;
		case -1:
			snprintf(err, errlen, "%s:%ld: %s", name, line, why);
			goto fail;
		}
		if (authfile_add(af, &l, line) == -1)
			goto fail_errno;
	}
	if (ferror(fp))
		goto fail_errno;
	if (authfile_index(af, name, err, errlen) == -1)
		goto fail;
	if (buf != NULL)
		explicit_bzero(buf, cap);
	free(buf);
	return af;
fail_errno:
	snprintf(err, errlen, "%s: %s", name, strerror(errno));
fail:
	if (buf != NULL)
		explicit_bzero(buf, cap);
	free(buf);
	authfile_free(af);
	return NULL;
}

struct authfile *
authfile_open(const char *path, char *err, size_t errlen)
{
	struct authfile *af;
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	af = authfile_load(fp, path, err, errlen);
	fclose(fp);
	return af;
}

static const struct auth_entry *
authfile_find(const struct authfile *af, const char *user)
{
	struct auth_entry key;

	if (af->n == 0)
		return NULL;
	key.user = (char *)user;
	return bsearch(&key, af->v, af->n, sizeof(af->v[0]), entry_cmp);
}

const char *
authfile_hash(const struct authfile *af, const char *user)
{
	const struct auth_entry *e = authfile_find(af, user);

	return e != NULL ? e->hash : NULL;
}

int
authfile_account(const struct authfile *af, const char *user,
    struct authfile_account *out)
{
	const struct auth_entry *e = authfile_find(af, user);

	if (e == NULL)
		return -1;
	out->mailbox = e->mailbox;
	out->quota = e->quota;
	return 0;
}

/*
 * authfile_dummy - the hash an unknown user is checked against: a real
 * entry's, so its method and cost match what the file uses, else a
 * yescrypt one.  The result of that check is never used.
 */
const char *
authfile_dummy(const struct authfile *af)
{
	return af->n > 0 ? af->v[0].hash : dummy_hash;
}

size_t
authfile_count(const struct authfile *af)
{
	return af->n;
}

void
authfile_free(struct authfile *af)
{
	size_t	 i;

	if (af == NULL)
		return;
	for (i = 0; i < af->n; i++) {
		explicit_bzero(af->v[i].hash, strlen(af->v[i].hash));
		free(af->v[i].hash);
		free(af->v[i].user);
		free(af->v[i].mailbox);
	}
	free(af->v);
	free(af);
}
