/* SPDX-License-Identifier: ISC */
/*
 * authfile.c - parse the password file of AUTH (auth_users).
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
	if (!authfile_user_ok(out->user, out->userlen)) {
		*why = out->userlen > AUTH_USER_MAX ? "user name too long" :
		    "bad user name (empty, or a blank or control byte)";
		return -1;
	}
	if (out->hashlen == 0 || out->hashlen > AUTH_HASH_MAX) {
		*why = out->hashlen ? "hash too long" : "empty hash";
		return -1;
	}
	for (i = 0; i < out->hashlen; i++)
		if (out->hash[i] == ':' || is_blank(out->hash[i]) ||
		    out->hash[i] == '\0' ||
		    text_is_ctl((unsigned char)out->hash[i])) {
			*why = "bad hash (a ':', blank or control byte)";
			return -1;
		}
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
	e->line = line;
	if (e->user == NULL || e->hash == NULL) {
		free(e->user);
		free(e->hash);
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

const char *
authfile_hash(const struct authfile *af, const char *user)
{
	struct auth_entry key, *e;

	if (af->n == 0)
		return NULL;
	key.user = (char *)user;
	e = bsearch(&key, af->v, af->n, sizeof(af->v[0]), entry_cmp);
	return e != NULL ? e->hash : NULL;
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
	}
	free(af->v);
	free(af);
}
