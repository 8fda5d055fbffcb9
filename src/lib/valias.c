/* SPDX-License-Identifier: ISC */
/*
 * valias.c - parse virtual_aliases and expand an address of a virtual
 * domain into accounts and outside addresses (format and rules in
 * valias.h).
 *
 * The table is read whole and sorted for bsearch(3); a broken file
 * loads nothing (every lookup then defers) rather than misroutes.
 * Only unprivileged processes read it: smtpd (as `user`, at RCPT
 * time) and the delivery job of a virtual domain (as virtual_user);
 * the file is the administrator's, root-owned and world-readable.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "log.h"
#include "text.h"
#include "valias.h"

#define VALIAS_ENTRY_MAX	65536	/* bytes of one entry, continued */
#define VALIAS_ENTRIES_MAX	1000000

struct valias_entry {
	char	*key;		/* "bob@example.org" or "@example.org" */
	char	**targets;
	size_t	 ntargets;
	long	 line;
};

struct valias {
	struct valias_entry *v;
	size_t	 n, cap;
};

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* An address: "local@domain", or for a key "@domain" too. */
static int
addr_ok(const char *s, int key)
{
	const char *at = strrchr(s, '@');
	size_t	 len = strlen(s);

	if (len == 0 || len >= VALIAS_ADDR_MAX || at == NULL ||
	    at[1] == '\0' || (at == s && !key) || text_has_ctl(s))
		return 0;
	return strchr(s, '/') == NULL && strchr(s, ':') == NULL &&
	    strchr(at + 1, '@') == NULL;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct valias_entry *)a)->key,
	    ((const struct valias_entry *)b)->key);
}

static void
entry_free(struct valias_entry *e)
{
	size_t	 i;

	for (i = 0; i < e->ntargets; i++)
		free(e->targets[i]);
	free(e->targets);
	free(e->key);
}

/* valias_add - one entry's text (key, targets); -1 with err set */
static int
valias_add(struct valias *t, char *text, long line, const char *name,
    char *err, size_t errlen)
{
	struct valias_entry e, *nv;
	const char *seps = ", \t";
	char	*tok, *save = NULL, **nt;

	memset(&e, 0, sizeof(e));
	e.line = line;
	if ((tok = strtok_r(text, " \t", &save)) == NULL)
		return 0;
	lower(tok);
	if (!addr_ok(tok, 1)) {
		snprintf(err, errlen, "%s:%ld: bad key (an address, or "
		    "@domain for a catch-all)", name, line);
		return -1;
	}
	if ((e.key = strdup(tok)) == NULL)
		goto oom;
	while ((tok = strtok_r(NULL, seps, &save)) != NULL) {
		lower(tok);
		if (!addr_ok(tok, 0)) {
			snprintf(err, errlen, "%s:%ld: bad target (an "
			    "address: local@domain)", name, line);
			goto fail;
		}
		if (e.ntargets == VALIAS_MAX_TARGETS) {
			snprintf(err, errlen, "%s:%ld: more than %d targets",
			    name, line, VALIAS_MAX_TARGETS);
			goto fail;
		}
		if ((nt = realloc(e.targets, (e.ntargets + 1) *
		    sizeof(*nt))) == NULL)
			goto oom;
		e.targets = nt;
		if ((e.targets[e.ntargets] = strdup(tok)) == NULL)
			goto oom;
		e.ntargets++;
	}
	if (e.ntargets == 0) {
		snprintf(err, errlen, "%s:%ld: %s has no target", name, line,
		    e.key);
		goto fail;
	}
	if (t->n == t->cap) {
		if (t->n >= VALIAS_ENTRIES_MAX || (nv = realloc(t->v,
		    (t->cap ? t->cap * 2 : 64) * sizeof(*nv))) == NULL)
			goto oom;
		t->v = nv;
		t->cap = t->cap ? t->cap * 2 : 64;
	}
	t->v[t->n++] = e;
	return 0;
oom:
	snprintf(err, errlen, "%s:%ld: out of memory", name, line);
fail:
	entry_free(&e);
	return -1;
}

/* valias_sort - sorted for bsearch; a key given twice is an error */
static int
valias_sort(struct valias *t, const char *name, char *err, size_t errlen)
{
	size_t	 i;

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), entry_cmp);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->v[i - 1].key, t->v[i].key) == 0) {
			snprintf(err, errlen, "%s:%ld: %s is listed twice "
			    "(first on line %ld)", name,
			    t->v[i - 1].line > t->v[i].line ? t->v[i - 1].line :
			    t->v[i].line, t->v[i].key,
			    t->v[i - 1].line > t->v[i].line ? t->v[i].line :
			    t->v[i - 1].line);
			return -1;
		}
	return 0;
}

/*
 * valias_read_entries - lines, with continuations, into entries.  An
 * entry is kept in ent until a line that does not continue it.
 */
static int
valias_read_entries(struct valias *t, FILE *fp, const char *name,
    char *err, size_t errlen)
{
	char	 line[VALIAS_LINE_MAX + 2], *ent;
	size_t	 elen = 0, len;
	long	 lineno = 0, eline = 0;
	int	 rc = -1;

	if ((ent = malloc(VALIAS_ENTRY_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	ent[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			snprintf(err, errlen, "%s:%ld: line longer than %d "
			    "bytes", name, lineno, VALIAS_LINE_MAX);
			goto out;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[strspn(line, " \t")] == '#' ||
		    line[strspn(line, " \t")] == '\0')
			continue;
		if ((line[0] == ' ' || line[0] == '\t') && elen > 0) {
			if (elen + 1 + len > VALIAS_ENTRY_MAX) {
				snprintf(err, errlen, "%s:%ld: entry too "
				    "long", name, lineno);
				goto out;
			}
			ent[elen++] = ' ';
			memcpy(ent + elen, line, len + 1);
			elen += len;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			snprintf(err, errlen, "%s:%ld: a continuation line "
			    "without an entry above", name, lineno);
			goto out;
		}
		if (elen > 0 && valias_add(t, ent, eline, name, err,
		    errlen) == -1)
			goto out;
		memcpy(ent, line, len + 1);
		elen = len;
		eline = lineno;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto out;
	}
	rc = elen > 0 ? valias_add(t, ent, eline, name, err, errlen) : 0;
out:
	free(ent);
	return rc;
}

struct valias *
valias_load(FILE *fp, const char *name, char *err, size_t errlen)
{
	struct valias *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	if (valias_read_entries(t, fp, name, err, errlen) == -1 ||
	    valias_sort(t, name, err, errlen) == -1) {
		valias_free(t);
		return NULL;
	}
	return t;
}

struct valias *
valias_open(const char *path, char *err, size_t errlen)
{
	struct valias *t;
	FILE	*fp;

	if (path[0] == '\0')
		return calloc(1, sizeof(struct valias));
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	t = valias_load(fp, path, err, errlen);
	fclose(fp);
	return t;
}

void
valias_free(struct valias *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	free(t);
}

size_t
valias_count(const struct valias *t)
{
	return t->n;
}

const char *
valias_foreign_key(const struct valias *t, const struct config *cfg)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (!config_is_virtual_domain(cfg, strrchr(t->v[i].key, '@') +
		    1))
			return t->v[i].key;
	return NULL;
}

static const struct valias_entry *
valias_find(const struct valias *t, const char *key)
{
	struct valias_entry k;

	if (t->n == 0)
		return NULL;
	k.key = (char *)key;
	return bsearch(&k, t->v, t->n, sizeof(t->v[0]), entry_cmp);
}

/* valias_key - addr in lower case, or its "@domain"; -1 too long */
static int
valias_key(const char *addr, int catchall, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');

	if (catchall && at == NULL)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s", catchall ? at : addr) >=
	    outlen)
		return -1;
	lower(out);
	return 0;
}

int
valias_has(const struct valias *t, const char *addr)
{
	char	 key[VALIAS_ADDR_MAX];

	return (valias_key(addr, 0, key, sizeof(key)) == 0 &&
	    valias_find(t, key) != NULL) ||
	    (valias_key(addr, 1, key, sizeof(key)) == 0 &&
	    valias_find(t, key) != NULL);
}

int
valias_base(const char *addr, char delim, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@'), *d;

	if (delim == '\0' || at == NULL ||
	    (d = memchr(addr, delim, (size_t)(at - addr))) == NULL ||
	    d == addr || (size_t)snprintf(out, outlen, "%.*s%s",
	    (int)(d - addr), addr, at) >= outlen)
		return -1;
	return 0;
}

static int
expand_fail(struct valias_list *l, int status, const char *dsn,
    const char *why, const char *addr)
{
	snprintf(l->dsn, sizeof(l->dsn), "%s", dsn);
	snprintf(l->error, sizeof(l->error), "%s%.200s", why, addr);
	return status;
}

static int
expand_add(struct valias_list *l, int kind, const char *addr)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == kind && strcmp(l->v[i].addr, addr) == 0)
			return DELIVER_OK;
	if (l->n == VALIAS_MAX_TARGETS)
		return expand_fail(l, DELIVER_PERMFAIL, "5.3.4",
		    "too many targets: ", addr);
	l->v[l->n].kind = kind;
	snprintf(l->v[l->n].addr, sizeof(l->v[l->n].addr), "%s", addr);
	l->n++;
	return DELIVER_OK;
}

static int	expand_addr(const struct valias *, const char *,
		    const struct valias_cb *, struct valias_list *, int);

/* expand_entry - the targets of e, for addr, one level deeper */
static int
expand_entry(const struct valias *t, const struct valias_entry *e,
    const char *addr, const struct valias_cb *cb, struct valias_list *l,
    int depth)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < e->ntargets; i++) {
		if (strcmp(e->targets[i], addr) == 0)
			rc = expand_add(l, VALIAS_ACCOUNT, addr);
		else
			rc = expand_addr(t, e->targets[i], cb, l, depth + 1);
		if (rc != DELIVER_OK)
			return rc;
	}
	return DELIVER_OK;
}

static int
expand_addr(const struct valias *t, const char *addr,
    const struct valias_cb *cb, struct valias_list *l, int depth)
{
	const struct valias_entry *e;
	char	 key[VALIAS_ADDR_MAX], dkey[VALIAS_ADDR_MAX];
	char	 base[VALIAS_ADDR_MAX];
	int	 r;

	if (depth > VALIAS_MAX_DEPTH)
		return expand_fail(l, DELIVER_PERMFAIL, "5.4.6",
		    "virtual alias loop: ", addr);
	if (valias_key(addr, 0, key, sizeof(key)) == -1 ||
	    valias_key(addr, 1, dkey, sizeof(dkey)) == -1)
		return expand_fail(l, DELIVER_PERMFAIL, "5.1.3",
		    "bad address: ", addr);
	if (!cb->is_virtual(cb->arg, dkey + 1))
		return expand_add(l, VALIAS_ADDRESS, key);
	if ((e = valias_find(t, key)) != NULL)
		return expand_entry(t, e, key, cb, l, depth);
	if ((r = cb->is_account(cb->arg, key)) == 1)
		return expand_add(l, VALIAS_ACCOUNT, key);
	if (r == -1)
		return expand_fail(l, DELIVER_TEMPFAIL, "4.3.0",
		    "account lookup failed: ", key);
	if (valias_base(key, cb->delim, base, sizeof(base)) == 0) {
		if ((e = valias_find(t, base)) != NULL)
			return expand_entry(t, e, base, cb, l, depth);
		if ((r = cb->is_account(cb->arg, base)) == 1)
			return expand_add(l, VALIAS_ACCOUNT, base);
		if (r == -1)
			return expand_fail(l, DELIVER_TEMPFAIL, "4.3.0",
			    "account lookup failed: ", base);
	}
	if ((e = valias_find(t, dkey)) != NULL)
		return expand_entry(t, e, key, cb, l, depth);
	return expand_fail(l, DELIVER_PERMFAIL, "5.1.1",
	    "User unknown in virtual mailbox table: ", key);
}

int
valias_expand(const struct valias *t, const char *addr,
    const struct valias_cb *cb, struct valias_list *l)
{
	l->n = 0;
	l->dsn[0] = l->error[0] = '\0';
	return expand_addr(t, addr, cb, l, 0);
}

/* The table smtpd asks at RCPT time, re-read when the file changes. */
static struct {
	struct valias	*t;
	char		 path[1024];
	struct stat	 st;
} valias_cache;

int
valias_exists(const struct config *cfg, const char *addr)
{
	const char	*path = cfg->virtual_aliases;
	struct stat	 st;
	char		 err[512];

	memset(&st, 0, sizeof(st));
	if (path[0] != '\0' && stat(path, &st) == -1) {
		log_warn("virtual_aliases: %s", path);
		return -1;
	}
	if (valias_cache.t == NULL || strcmp(valias_cache.path, path) != 0 ||
	    st.st_ino != valias_cache.st.st_ino ||
	    st.st_dev != valias_cache.st.st_dev ||
	    st.st_size != valias_cache.st.st_size ||
	    st.st_mtim.tv_sec != valias_cache.st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != valias_cache.st.st_mtim.tv_nsec) {
		valias_free(valias_cache.t);
		if ((valias_cache.t = valias_open(path, err,
		    sizeof(err))) == NULL) {
			log_warnx("virtual_aliases: %s", err);
			return -1;
		}
		snprintf(valias_cache.path, sizeof(valias_cache.path), "%s",
		    path);
		valias_cache.st = st;
	}
	return valias_has(valias_cache.t, addr);
}
