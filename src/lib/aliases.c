/* SPDX-License-Identifier: ISC */
/*
 * aliases.c - parse /etc/aliases and expand local parts into targets.
 *
 * Syntax (sendmail's):
 *	# comment
 *	name: target, target, "quoted, target"
 *		continuation lines start with white space
 * A target is a local user ("bob", "\bob" = bob's mailbox without his
 * .forward), an address ("bob@example.org"), a file ("/var/log/x"), a
 * command ("|/usr/bin/prog args", quote it when it holds commas) or
 * ":include:/path", a file with more targets, one per line or comma
 * separated.  Names are case-insensitive.
 *
 * Expansion is recursive, at most ALIASES_MAX_DEPTH deep and
 * ALIASES_MAX_TARGETS wide.  "root: root, other" is allowed: a name in
 * its own expansion means the user's mailbox (sendmail's self
 * reference).  Any longer cycle is an error, 5.4.6 "alias loop".
 *
 * Every file or command target carries the uid of the file that named
 * it (the aliases file or the .forward; an :include: passes on the uid
 * of the file that names it); local.c
 * decides from that whom it runs as.  The whole table is validated at
 * load: a broken file delivers nothing rather than misroutes.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "aliases.h"
#include "delivery.h"
#include "log.h"

#define ALIASES_ENTRY_MAX	65536	/* bytes of one logical entry */
#define ALIASES_MAX_STEPS	10000	/* lookups per expansion */
#define ALIASES_FILE_LINES	10000	/* lines of an :include:/.forward */
#define KIND_INCLUDE		ALIAS_INCLUDE

struct strvec {
	char	**v;
	size_t	  n, cap;
};

struct alias_entry {
	char		*name;		/* lowercase */
	struct strvec	 targets;	/* raw, quotes removed */
	int		 line;
};

struct aliases {
	struct alias_entry *v;
	size_t		 n, cap;
	long		 owner;		/* uid of the file */
};

struct expand {
	const struct aliases	*al;
	const struct config	*cfg;
	struct alias_list	*list;
	char			*stack[ALIASES_MAX_DEPTH + 1];
	int			 depth;
	size_t			 steps;
	int			 keep_includes;	/* aliases_expand_local() */
	int			 syntax;	/* a target did not parse */
};

static int
strvec_add(struct strvec *sv, const char *s)
{
	char	**nv;

	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		if ((nv = reallocarray(sv->v, sv->cap, sizeof(*nv))) == NULL)
			return -1;
		sv->v = nv;
	}
	if ((sv->v[sv->n] = strdup(s)) == NULL)
		return -1;
	sv->n++;
	return 0;
}

static void
strvec_free(struct strvec *sv)
{
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

static void
lowercase(char *s)
{
	for (; *s; s++)
		*s = tolower((unsigned char)*s);
}

/*
 * aliases_split - split a target list at unquoted commas.  Quotes are
 * removed, a backslash inside them escapes the next byte; white space
 * around an unquoted target is dropped; empty targets are skipped.
 */
static int
aliases_split(const char *s, struct strvec *out, char *err, size_t errlen)
{
	char	 tok[ALIAS_VALUE_MAX];
	size_t	 len = 0, keep = 0;
	int	 quoted = 0;

	for (;; s++) {
		if (!quoted && (*s == ',' || *s == '\0')) {
			tok[keep] = '\0';
			if (keep > 0 && strvec_add(out, tok) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			len = keep = 0;
			if (*s == '\0')
				return 0;
			continue;
		}
		if (*s == '\0') {
			snprintf(err, errlen, "unterminated quote");
			return -1;
		}
		if (*s == '"') {
			quoted = !quoted;
			keep = len;
			continue;
		}
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		if (!quoted && len == 0 && isspace((unsigned char)*s))
			continue;
		if (len + 1 >= sizeof(tok)) {
			snprintf(err, errlen, "target too long");
			return -1;
		}
		tok[len++] = *s;
		if (quoted || !isspace((unsigned char)*s))
			keep = len;
	}
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s) && *s != '\t')
			return 1;
	return 0;
}

/* A user name or local part: printable, no space, no slash. */
static int
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 255)
		return 0;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s) ||
		    *s == '/' || *s == ':' || *s == '"')
			return 0;
	return 1;
}

/* aliases_classify - one raw target into a kind and a value. */
static int
aliases_classify(const char *raw, struct alias_target *t, char *err,
    size_t errlen)
{
	const char	*at;

	memset(t, 0, sizeof(*t));
	t->owner = -1;
	if (has_control(raw)) {
		snprintf(err, errlen, "control character in target");
		return -1;
	}
	if (raw[0] == '|') {
		t->kind = ALIAS_PIPE;
		raw++;
		raw += strspn(raw, " \t");
	} else if (raw[0] == '/') {
		t->kind = ALIAS_FILE;
	} else if (strncasecmp(raw, ":include:", 9) == 0) {
		t->kind = KIND_INCLUDE;
		raw += 9;
		raw += strspn(raw, " \t");
		if (raw[0] != '/') {
			snprintf(err, errlen, ":include: needs an absolute "
			    "path");
			return -1;
		}
	} else if (raw[0] == '\\') {
		t->kind = ALIAS_USER;
		t->noforward = 1;
		raw++;
	} else if ((at = strrchr(raw, '@')) != NULL) {
		t->kind = ALIAS_ADDRESS;
		if (raw[0] == '<' && raw[strlen(raw) - 1] == '>') {
			snprintf(t->value, sizeof(t->value), "%.*s",
			    (int)strlen(raw) - 2, raw + 1);
			raw = t->value;
			at = strrchr(raw, '@');
		}
		if (at == raw || at[1] == '\0' || strchr(raw, ' ') ||
		    strchr(at, '<') || strchr(at, '>')) {
			snprintf(err, errlen, "bad address \"%.200s\"", raw);
			return -1;
		}
	} else
		t->kind = ALIAS_USER;
	if (*raw == '\0') {
		snprintf(err, errlen, "empty target");
		return -1;
	}
	if (raw != t->value)
		snprintf(t->value, sizeof(t->value), "%s", raw);
	if (t->kind == ALIAS_USER) {
		lowercase(t->value);
		if (!valid_name(t->value)) {
			snprintf(err, errlen, "bad user name \"%.200s\"", raw);
			return -1;
		}
	}
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct alias_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* aliases_add_entry - parse "name: targets" into the table. */
static int
aliases_add_entry(struct aliases *al, char *text, int line, char *err,
    size_t errlen)
{
	struct alias_entry	 e = { NULL, { NULL, 0, 0 }, line };
	struct alias_entry	*nv;
	struct alias_target	 t;
	char			*colon, *name, msg[256];
	size_t			 i;

	if ((colon = strchr(text, ':')) == NULL) {
		snprintf(err, errlen, "missing ':' after the alias name");
		return -1;
	}
	*colon = '\0';
	name = text + strspn(text, " \t");
	while (*name && isspace((unsigned char)name[strlen(name) - 1]))
		name[strlen(name) - 1] = '\0';
	if (!valid_name(name)) {
		snprintf(err, errlen, "bad alias name \"%s\"", name);
		return -1;
	}
	if (aliases_split(colon + 1, &e.targets, err, errlen) == -1)
		goto fail;
	if (e.targets.n == 0) {
		snprintf(err, errlen, "alias \"%s\" has no targets", name);
		goto fail;
	}
	for (i = 0; i < e.targets.n; i++) {
		if (aliases_classify(e.targets.v[i], &t, msg,
		    sizeof(msg)) == -1) {
			snprintf(err, errlen, "alias \"%s\": %s", name, msg);
			goto fail;
		}
	}
	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 64;
		if ((nv = reallocarray(al->v, al->cap, sizeof(*nv))) == NULL)
			goto oom;
		al->v = nv;
	}
	if ((e.name = strdup(name)) == NULL)
		goto oom;
	lowercase(e.name);
	al->v[al->n++] = e;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	strvec_free(&e.targets);
	return -1;
}

/*
 * read_line - one line of fp into buf (without its end), at most
 * size - 1 bytes: its length, -1 at end of file or error, -2 when the
 * line is longer (the rest of it is skipped).  No unbounded getline():
 * a one-line file of any size costs size bytes.
 */
static ssize_t
read_line(FILE *fp, char *buf, size_t size)
{
	size_t	 len;
	int	 ch;

	if (fgets(buf, (int)size, fp) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		return (ssize_t)len;
	}
	if (feof(fp))
		return (ssize_t)len;
	while ((ch = getc(fp)) != EOF && ch != '\n')
		;
	return -2;
}

/* aliases_parse - read entries with their continuation lines. */
static int
aliases_parse(struct aliases *al, FILE *fp, const char *path, char *err,
    size_t errlen)
{
	char	*line, *entry = NULL, msg[512];
	size_t	 elen = 0;
	ssize_t	 len;
	int	 lineno = 0, eline = 0, rc = -1;

	msg[0] = '\0';
	if ((line = malloc(ALIASES_ENTRY_MAX)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while ((len = read_line(fp, line, ALIASES_ENTRY_MAX)) != -1 ||
	    entry) {
		if (len == -2) {
			eline = lineno + 1;
			snprintf(msg, sizeof(msg), "line too long");
			goto out;
		}
		if (len != -1) {
			lineno++;
			if (line[strspn(line, " \t")] == '\0' ||
			    line[strspn(line, " \t")] == '#')
				continue;
			if (line[0] == ' ' || line[0] == '\t') {
				if (entry == NULL) {
					eline = lineno;
					snprintf(msg, sizeof(msg), "continuation"
					    " line without an alias");
					goto out;
				}
				if (elen + len + 2 > ALIASES_ENTRY_MAX) {
					snprintf(msg, sizeof(msg), "alias too "
					    "long");
					goto out;
				}
				entry[elen++] = ' ';
				memcpy(entry + elen, line, len + 1);
				elen += len;
				continue;
			}
		}
		if (entry && aliases_add_entry(al, entry, eline, msg,
		    sizeof(msg)) == -1)
			goto out;
		free(entry);
		entry = NULL;
		if (len == -1)
			break;
		if ((entry = malloc(ALIASES_ENTRY_MAX)) == NULL) {
			snprintf(msg, sizeof(msg), "out of memory");
			goto out;
		}
		eline = lineno;
		elen = snprintf(entry, ALIASES_ENTRY_MAX, "%s", line);
		if (elen >= ALIASES_ENTRY_MAX) {
			snprintf(msg, sizeof(msg), "alias too long");
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
out:
	if (rc == -1)
		snprintf(err, errlen, "%s:%d: %s", path, eline, msg);
done:
	free(entry);
	free(line);
	return rc;
}

/* aliases_sort - sort for bsearch; a name defined twice is an error. */
static int
aliases_sort(struct aliases *al, const char *path, char *err, size_t errlen)
{
	size_t	 i;
	int	 a, b;

	if (al->n == 0)
		return 0;	/* qsort(NULL, 0, ...) is undefined */
	qsort(al->v, al->n, sizeof(*al->v), entry_cmp);
	for (i = 1; i < al->n; i++) {
		if (strcmp(al->v[i - 1].name, al->v[i].name) != 0)
			continue;
		a = al->v[i - 1].line;
		b = al->v[i].line;
		snprintf(err, errlen, "%s:%d: duplicate alias \"%s\" (first "
		    "at line %d)", path, a > b ? a : b, al->v[i].name,
		    a > b ? b : a);
		return -1;
	}
	return 0;
}

struct aliases *
aliases_load(const char *path, char *err, size_t errlen)
{
	struct aliases	*al;
	struct stat	 st;
	FILE		*fp;

	if ((al = calloc(1, sizeof(*al))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	al->owner = -1;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return al;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fileno(fp), &st) == 0)
		al->owner = st.st_uid;
	if (aliases_parse(al, fp, path, err, errlen) == -1 ||
	    aliases_sort(al, path, err, errlen) == -1) {
		fclose(fp);
		goto fail;
	}
	fclose(fp);
	return al;
fail:
	aliases_free(al);
	return NULL;
}

void
aliases_free(struct aliases *al)
{
	size_t	 i;

	if (al == NULL)
		return;
	for (i = 0; i < al->n; i++) {
		free(al->v[i].name);
		strvec_free(&al->v[i].targets);
	}
	free(al->v);
	free(al);
}

static const struct alias_entry *
aliases_find(const struct aliases *al, const char *name)
{
	struct alias_entry	 key;
	char			 lower[256];

	if (al == NULL || al->n == 0 || strlen(name) >= sizeof(lower))
		return NULL;
	snprintf(lower, sizeof(lower), "%s", name);
	lowercase(lower);
	key.name = lower;
	return bsearch(&key, al->v, al->n, sizeof(*al->v), entry_cmp);
}

int
aliases_lookup(const struct aliases *al, const char *name)
{
	return aliases_find(al, name) != NULL;
}

int
aliases_check(const char *path, char *err, size_t errlen)
{
	struct aliases	*al;
	FILE		*fp;

	/* A missing file loads as empty, but newaliases must say so. */
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fclose(fp);
	if ((al = aliases_load(path, err, errlen)) == NULL)
		return -1;
	aliases_free(al);
	return 0;
}

/*
 * A missing aliases file is an empty table only when it is the default
 * one (a host where no MTA was installed before has no /etc/aliases).
 * A file that tern.conf names must exist.
 */
int
aliases_missing_ok(const struct config *cfg)
{
	struct stat	 st;

	return !config_key_is_set(cfg, "aliases") &&
	    stat(cfg->aliases, &st) == -1 && errno == ENOENT;
}

struct aliases *
aliases_load_config(const struct config *cfg, char *err, size_t errlen)
{
	struct stat	 st;

	if (config_key_is_set(cfg, "aliases") &&
	    stat(cfg->aliases, &st) == -1) {
		snprintf(err, errlen, "%s: %s", cfg->aliases, strerror(errno));
		return NULL;
	}
	return aliases_load(cfg->aliases, err, errlen);
}

/* The table smtpd asks at RCPT time, re-read when the file changes. */
static struct {
	struct aliases	*al;
	char		 path[1024];
	struct stat	 st;
} aliases_cache;

static int
aliases_cache_refresh(const struct config *cfg)
{
	const char	*path = cfg->aliases;
	struct stat	 st;
	char		 err[512];

	if (stat(path, &st) == -1) {
		memset(&st, 0, sizeof(st));
		if (errno != ENOENT || config_key_is_set(cfg, "aliases")) {
			log_warn("aliases: %s", path);
			return -1;
		}
	}
	if (aliases_cache.al && strcmp(aliases_cache.path, path) == 0 &&
	    st.st_ino == aliases_cache.st.st_ino &&
	    st.st_dev == aliases_cache.st.st_dev &&
	    st.st_size == aliases_cache.st.st_size &&
	    st.st_mtim.tv_sec == aliases_cache.st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == aliases_cache.st.st_mtim.tv_nsec)
		return 0;
	aliases_free(aliases_cache.al);
	aliases_cache.al = NULL;
	if ((aliases_cache.al = aliases_load_config(cfg, err, sizeof(err))) ==
	    NULL) {
		log_warnx("aliases: %s", err);
		return -1;
	}
	snprintf(aliases_cache.path, sizeof(aliases_cache.path), "%s", path);
	aliases_cache.st = st;
	return 0;
}

int
aliases_exists(const struct config *cfg, const char *localpart)
{
	const char	*delim = cfg->recipient_delimiter;
	char		 base[256];
	size_t		 n;

	if (aliases_cache_refresh(cfg) == -1)
		return -1;
	if (aliases_lookup(aliases_cache.al, localpart))
		return 1;
	if (delim == NULL || delim[0] == '\0' ||
	    (n = strcspn(localpart, delim)) == strlen(localpart) ||
	    n >= sizeof(base))
		return 0;
	memcpy(base, localpart, n);
	base[n] = '\0';
	return aliases_lookup(aliases_cache.al, base);
}

void
aliases_list_free(struct alias_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
}

static int
expand_fail(struct expand *x, int status, const char *dsn, const char *fmt,
    ...)
{
	va_list	 ap;

	snprintf(x->list->dsn, sizeof(x->list->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(x->list->error, sizeof(x->list->error), fmt, ap);
	va_end(ap);
	return status;
}

int
aliases_list_add(struct alias_list *l, const struct alias_target *t)
{
	struct alias_target	*nv;
	size_t			 i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == t->kind &&
		    l->v[i].noforward == t->noforward &&
		    strcmp(l->v[i].value, t->value) == 0)
			return DELIVER_OK;
	if (l->n >= ALIASES_MAX_TARGETS)
		return DELIVER_PERMFAIL;
	if (l->n == l->cap) {
		if ((nv = reallocarray(l->v, l->cap ? l->cap * 2 : 8,
		    sizeof(*nv))) == NULL)
			return DELIVER_TEMPFAIL;
		l->v = nv;
		l->cap = l->cap ? l->cap * 2 : 8;
	}
	l->v[l->n++] = *t;
	return DELIVER_OK;
}

/* expand_add - append a final target unless it is already there. */
static int
expand_add(struct expand *x, const struct alias_target *t)
{
	switch (aliases_list_add(x->list, t)) {
	case DELIVER_OK:
		return DELIVER_OK;
	case DELIVER_PERMFAIL:
		return expand_fail(x, DELIVER_PERMFAIL, "5.3.0",
		    "too many alias targets (over %d)", ALIASES_MAX_TARGETS);
	default:
		return expand_fail(x, DELIVER_TEMPFAIL, "4.3.0",
		    "out of memory");
	}
}

static int	expand_targets(struct expand *, char **, size_t, long,
		    const char *);

static int
expand_push(struct expand *x, const char *name)
{
	int	 i;

	for (i = 0; i < x->depth; i++)
		if (strcmp(x->stack[i], name) == 0)
			return expand_fail(x, DELIVER_PERMFAIL, "5.4.6",
			    "alias loop (%s)", name);
	if (x->depth >= ALIASES_MAX_DEPTH)
		return expand_fail(x, DELIVER_PERMFAIL, "5.4.6",
		    "alias expansion too deep (over %d)", ALIASES_MAX_DEPTH);
	if ((x->stack[x->depth] = strdup(name)) == NULL)
		return expand_fail(x, DELIVER_TEMPFAIL, "4.3.0",
		    "out of memory");
	x->depth++;
	return DELIVER_OK;
}

static void
expand_pop(struct expand *x)
{
	free(x->stack[--x->depth]);
}

/* expand_name - a local part: an alias's targets, or a user's mailbox. */
static int
expand_name(struct expand *x, const char *name)
{
	const struct alias_entry *e;
	struct alias_target	 t;
	int			 rc;

	if (++x->steps > ALIASES_MAX_STEPS)
		return expand_fail(x, DELIVER_PERMFAIL, "5.3.0",
		    "alias expansion too large");
	if ((e = aliases_find(x->al, name)) == NULL) {
		memset(&t, 0, sizeof(t));
		t.kind = ALIAS_USER;
		t.owner = -1;
		snprintf(t.value, sizeof(t.value), "%s", name);
		lowercase(t.value);
		return expand_add(x, &t);
	}
	if ((rc = expand_push(x, e->name)) != DELIVER_OK)
		return rc;
	rc = expand_targets(x, e->targets.v, e->targets.n, x->al->owner,
	    e->name);
	expand_pop(x);
	return rc;
}

/* expand_file - targets from a stream: one per line or comma separated. */
static int
expand_file(struct expand *x, FILE *fp, const char *path, const char *self,
    long owner)
{
	struct strvec	 sv = { NULL, 0, 0 };
	char		 line[ALIASES_LINE_MAX], msg[256];
	ssize_t		 len;
	int		 lineno = 0, rc = DELIVER_OK;

	while (rc == DELIVER_OK &&
	    (len = read_line(fp, line, sizeof(line))) != -1) {
		if (++lineno > ALIASES_FILE_LINES)
			return expand_fail(x, DELIVER_PERMFAIL, "5.3.0",
			    "%s: too many lines", path);
		if (len == -2)
			return expand_fail(x, DELIVER_TEMPFAIL, "4.3.0",
			    "%s:%d: line too long", path, lineno);
		if (line[strspn(line, " \t")] == '#')
			continue;
		x->syntax = 0;
		if (aliases_split(line, &sv, msg, sizeof(msg)) == -1)
			x->syntax = 1;
		else
			rc = expand_targets(x, sv.v, sv.n, owner, self);
		strvec_free(&sv);
		/* Never the content: the reason may reach a bounce. */
		if (x->syntax) {
			rc = expand_fail(x, DELIVER_TEMPFAIL, "4.3.0",
			    "%s:%d: syntax error", path, lineno);
			x->syntax = 0;
		}
	}
	if (rc == DELIVER_OK && ferror(fp))
		rc = expand_fail(x, DELIVER_TEMPFAIL, "4.3.0", "%s: %s",
		    path, strerror(errno));
	return rc;
}

/*
 * expand_include - an :include: file; world-writable ones are refused.
 * Its targets run as owner, the owner of the file that names it (the
 * include is read as that user too), never as the include's own owner.
 */
static int
expand_include(struct expand *x, const char *path, long owner)
{
	struct stat	 st;
	char		 key[ALIAS_VALUE_MAX + 16];
	FILE		*fp = NULL;
	int		 rc, fd;

	snprintf(key, sizeof(key), ":include:%s", path);
	if ((rc = expand_push(x, key)) != DELIVER_OK)
		return rc;
	/* O_NONBLOCK: a FIFO named here must not hang the agent in open() */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		int saved = errno;

		if (fd != -1)
			close(fd);
		errno = saved;
		rc = expand_fail(x, DELIVER_TEMPFAIL, "4.3.0", "cannot open "
		    ":include: file %s: %s", path, strerror(errno));
	} else if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & S_IWOTH)) {
		rc = expand_fail(x, DELIVER_TEMPFAIL, "4.3.0", "unsafe "
		    ":include: file %s (not a regular file, or world "
		    "writable)", path);
	} else
		rc = expand_file(x, fp, path, NULL, owner);
	if (fp)
		fclose(fp);
	expand_pop(x);
	return rc;
}

static int
expand_one(struct expand *x, struct alias_target *t, const char *self)
{
	char	*at;

	if (t->kind == ALIAS_ADDRESS && x->cfg &&
	    (at = strrchr(t->value, '@')) != NULL &&
	    config_is_local_domain(x->cfg, at + 1)) {
		*at = '\0';
		lowercase(t->value);
		t->kind = ALIAS_USER;
	}
	switch (t->kind) {
	case KIND_INCLUDE:
		if (x->keep_includes)
			return expand_add(x, t);
		return expand_include(x, t->value, t->owner);
	case ALIAS_USER:
		/* The self reference: "root: root, other". */
		if (t->noforward || (self && strcmp(t->value, self) == 0))
			return expand_add(x, t);
		return expand_name(x, t->value);
	default:
		return expand_add(x, t);
	}
}

static int
expand_targets(struct expand *x, char **raw, size_t n, long owner,
    const char *self)
{
	struct alias_target	 t;
	char			 msg[256];
	size_t			 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		if (aliases_classify(raw[i], &t, msg, sizeof(msg)) == -1) {
			x->syntax = 1;
			return expand_fail(x, DELIVER_TEMPFAIL, "4.3.0",
			    "bad target: %s", msg);
		}
		if (t.kind == ALIAS_FILE || t.kind == ALIAS_PIPE ||
		    t.kind == KIND_INCLUDE)
			t.owner = owner;
		if ((rc = expand_one(x, &t, self)) != DELIVER_OK)
			return rc;
	}
	return DELIVER_OK;
}

static void
expand_done(struct expand *x)
{
	while (x->depth > 0)
		expand_pop(x);
}

static int
expand_top(const struct aliases *al, const struct config *cfg,
    const char *localpart, struct alias_list *list, int keep_includes)
{
	struct expand	 x = { al, cfg, list, { NULL }, 0, 0, keep_includes,
			    0 };
	int		 rc;

	list->dsn[0] = list->error[0] = '\0';
	rc = expand_name(&x, localpart);
	expand_done(&x);
	return rc;
}

int
aliases_expand(const struct aliases *al, const struct config *cfg,
    const char *localpart, struct alias_list *list)
{
	return expand_top(al, cfg, localpart, list, 0);
}

int
aliases_expand_local(const struct aliases *al, const struct config *cfg,
    const char *localpart, struct alias_list *list)
{
	return expand_top(al, cfg, localpart, list, 1);
}

int
aliases_expand_stream(const struct aliases *al, const struct config *cfg,
    FILE *fp, const char *path, const char *self, long owner,
    struct alias_list *list)
{
	struct expand	 x = { al, cfg, list, { NULL }, 0, 0, 0, 0 };
	int		 rc;

	list->dsn[0] = list->error[0] = '\0';
	rc = expand_file(&x, fp, path, self, owner);
	expand_done(&x);
	return rc;
}

int
aliases_expand_include(const struct aliases *al, const struct config *cfg,
    const char *path, long owner, struct alias_list *list)
{
	struct expand	 x = { al, cfg, list, { NULL }, 0, 0, 0, 0 };
	int		 rc;

	list->dsn[0] = list->error[0] = '\0';
	rc = expand_include(&x, path, owner);
	expand_done(&x);
	return rc;
}
