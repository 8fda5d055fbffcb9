/* SPDX-License-Identifier: ISC */
/*
 * queueview.c - read-only walk of the spool, shared by mailq and ternq.
 *
 * queueview_scan() lists queue/XX/ID for every XX, sorts the ids in
 * memory (ids sort by arrival time) and reads each message;
 * queueview_walk() reads them in directory order, as readdir() gives
 * them, without a list.  A message is read through queuefile_head_at()
 * and statefile_load_at(), relative to a descriptor of its directory
 * (no lookup of the whole path per file): one read of the queue file's
 * first bytes for the envelope (the message size is the file size minus
 * the envelope, from fstat()), and one of the state file when there is
 * one, each parsed in memory.  No reading of message bodies: this is
 * what lets mailq list a million messages in a few seconds.
 *
 * Invariants: spool files are untrusted; a message that fails to parse
 * is passed on with msg->error set.  ENOENT on open means the message
 * was delivered (or deleted) after readdir() and is skipped.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "queuefile.h"
#include "queueview.h"
#include "spool.h"

struct idlist {
	char	(*v)[QUEUEID_LEN + 1];
	size_t	 n, cap;
};

static int
idlist_add(struct idlist *l, const char *id)
{
	void	*p;
	size_t	 cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 1024;
		if ((p = reallocarray(l->v, cap, sizeof(*l->v))) == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], id, QUEUEID_LEN + 1);
	return 0;
}

static int
idlist_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
is_hash_dir(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* queueview_list_dir - add the ids in one queue/XX directory */
static int
queueview_list_dir(const char *path, struct idlist *ids)
{
	DIR		*dir;
	struct dirent	*de;
	int		 rc = 0;

	if ((dir = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(dir)) != NULL) {
		if (strlen(de->d_name) > QUEUEID_LEN ||
		    !queueid_valid(de->d_name))
			continue;
		if (idlist_add(ids, de->d_name) == -1) {
			rc = -1;
			break;
		}
	}
	closedir(dir);
	return rc;
}

/* queueview_list - every queue id under spool_dir/queue, sorted */
static int
queueview_list(const char *spool_dir, struct idlist *ids)
{
	char		 top[1024], sub[1100];
	DIR		*dir;
	struct dirent	*de;
	int		 save;

	if (snprintf(top, sizeof(top), "%s/queue", spool_dir) >=
	    (int)sizeof(top)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dir = opendir(top)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (!is_hash_dir(de->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/%.2s", top, de->d_name);
		if (queueview_list_dir(sub, ids) == -1)
			goto fail;
	}
	closedir(dir);
	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof(*ids->v), idlist_cmp);
	return 0;
fail:
	save = errno;
	closedir(dir);
	errno = save;
	return -1;
}

/*
 * The descriptors of queue/XX and state/XX, opened on first use: a
 * message is then opened relative to its directory, without a lookup of
 * the whole path for each file.
 */
struct qvdirs {
	const char *spool_dir;
	int	 fd[2][256];		/* queue, state; -1 not yet, -2 none */
	struct idlist states[256];	/* the names in state/XX, sorted */
};

static void
qvdirs_init(struct qvdirs *d, const char *spool_dir)
{
	size_t	 i;

	d->spool_dir = spool_dir;
	for (i = 0; i < 256; i++) {
		d->fd[0][i] = d->fd[1][i] = -1;
		d->states[i] = (struct idlist){ NULL, 0, 0 };
	}
}

static void
qvdirs_close(struct qvdirs *d)
{
	size_t	 i;

	for (i = 0; i < 256; i++) {
		if (d->fd[0][i] >= 0)
			close(d->fd[0][i]);
		if (d->fd[1][i] >= 0)
			close(d->fd[1][i]);
		free(d->states[i].v);
	}
}

/*
 * qvdir_states - the names in state/XX, read once with the directory:
 * a message whose id is not there has no state file, and is not looked
 * for (half the opens of a big queue would fail).  A state file made
 * after this read is seen at the next listing, as a message queued
 * after readdir() is.  -1 on error (then every one is looked for).
 */
static int
qvdir_states(struct qvdirs *d, unsigned xx, int fd)
{
	struct idlist	*l = &d->states[xx];
	struct dirent	*de;
	DIR		*dir;
	int		 rc = 0;

	if ((fd = dup(fd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
		if (strlen(de->d_name) == QUEUEID_LEN &&
		    queueid_valid(de->d_name) && (rc = idlist_add(l,
		    de->d_name)) == -1)
			break;
	closedir(dir);
	if (rc == -1) {
		free(l->v);
		*l = (struct idlist){ NULL, 0, 0 };
		return -1;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), idlist_cmp);
	if (l->v == NULL) {		/* read, and empty: a non-NULL v */
		static const char none[QUEUEID_LEN + 1];

		idlist_add(l, none);
	}
	return 0;
}

/* qvdir_has_state - 0 when state/XX was read and has no file of id */
static int
qvdir_has_state(const struct qvdirs *d, unsigned xx, const char *id)
{
	const struct idlist *l = &d->states[xx];

	return l->v == NULL || bsearch(id, l->v, l->n, sizeof(*l->v),
	    idlist_cmp) != NULL;
}

/* qvdir_at - the descriptor of kind (0 queue, 1 state)/XX, or -1 */
static int
qvdir_at(struct qvdirs *d, int kind, unsigned xx)
{
	char	 path[1100];
	int	*fd = &d->fd[kind][xx & 0xff];

	if (*fd == -1) {
		snprintf(path, sizeof(path), "%s/%s/%02x", d->spool_dir,
		    kind ? "state" : "queue", xx & 0xff);
		*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*fd == -1 && (errno == EMFILE || errno == ENFILE)) {
			qvdirs_close(d);	/* a low limit: fewer at once */
			qvdirs_init(d, d->spool_dir);
			*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (*fd == -1)
			*fd = errno == ENOENT ? -2 : -1;
		else if (kind == 1)
			qvdir_states(d, xx & 0xff, *fd);
	}
	if (*fd == -2)
		errno = ENOENT;
	return *fd < 0 ? -1 : *fd;
}

static unsigned
qvdir_index(const char *id)
{
	char	 hash[3];

	queueid_hash(id, hash);
	return (unsigned)strtoul(hash, NULL, 16) & 0xff;
}

/* qvdir - the descriptor of kind/XX where id is, or -1 */
static int
qvdir(struct qvdirs *d, int kind, const char *id)
{
	return qvdir_at(d, kind, qvdir_index(id));
}

/* queueview_read_state - the state file, if any; sets msg->error */
static void
queueview_read_state(struct qvdirs *d, struct queueview_msg *msg)
{
	char	 err[200];
	int	 rc, fd;

	if ((fd = qvdir(d, 1, msg->id)) == -1 && errno != ENOENT) {
		snprintf(msg->error, sizeof(msg->error), "state file: %s",
		    strerror(errno));
		return;
	}
	rc = fd == -1 || !qvdir_has_state(d, qvdir_index(msg->id), msg->id) ?
	    1 : statefile_load_at(fd, msg->id, msg->id, msg->env.nrcpt,
	    &msg->state, err, sizeof(err));
	if (rc == 0)
		msg->has_state = 1;
	else if (rc == 1) {		/* none: nrcpt stays 0 */
		state_free(&msg->state);
		state_init(&msg->state);
	} else
		snprintf(msg->error, sizeof(msg->error), "state file: %s", err);
}

/* queueview_load_in - queueview_load() through the directories d */
static int
queueview_load_in(struct qvdirs *d, const char *id, struct queueview_msg *msg)
{
	char		 err[200];
	int		 rc, fd;

	memset(msg, 0, sizeof(*msg));
	envelope_init(&msg->env);
	state_init(&msg->state);
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	if (!queueid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = qvdir(d, 0, id)) == -1)
		return -1;
	rc = queuefile_head_at(fd, id, id, &msg->env, &msg->size, err,
	    sizeof(err));
	if (rc == -1)
		return -1;
	if (rc == -2) {
		envelope_free(&msg->env);
		envelope_init(&msg->env);
		snprintf(msg->error, sizeof(msg->error), "queue file: %s", err);
		return 0;
	}
	queueview_read_state(d, msg);
	return 0;
}

int
queueview_load(const char *spool_dir, const char *id,
    struct queueview_msg *msg)
{
	struct qvdirs	 d;
	int		 rc, save;

	qvdirs_init(&d, spool_dir);
	rc = queueview_load_in(&d, id, msg);
	save = errno;
	qvdirs_close(&d);
	errno = save;
	return rc;
}

void
queueview_free(struct queueview_msg *msg)
{
	envelope_free(&msg->env);
	state_free(&msg->state);
	msg->has_state = 0;
}

/* queueview_one - load id and give it to fn; fn's value, or 0 */
static int
queueview_one(struct qvdirs *d, const char *id, struct queueview_msg *msg,
    queueview_fn fn, void *arg)
{
	int	 rc;

	if (queueview_load_in(d, id, msg) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(msg->error, sizeof(msg->error), "queue file: %s",
		    strerror(errno));
	}
	rc = fn(msg, arg);
	queueview_free(msg);
	return rc;
}

int
queueview_scan(const char *spool_dir, queueview_fn fn, void *arg)
{
	struct idlist		 ids = { NULL, 0, 0 };
	struct queueview_msg	*msg;
	struct qvdirs		 d;
	size_t			 i;
	int			 rc = 0;

	if ((msg = malloc(sizeof(*msg))) == NULL)
		return -1;
	qvdirs_init(&d, spool_dir);
	if (queueview_list(spool_dir, &ids) == -1) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < ids.n && rc == 0; i++)
		rc = queueview_one(&d, ids.v[i], msg, fn, arg);
out:
	qvdirs_close(&d);
	free(ids.v);
	free(msg);
	return rc;
}

/*
 * queueview_walk - queueview_scan() in directory order: each queue/XX
 * as readdir() returns it, each message given to fn as soon as it is
 * read, without a list of all the ids (the queue shape).
 */
int
queueview_walk(const char *spool_dir, queueview_fn fn, void *arg)
{
	struct queueview_msg	*msg;
	struct qvdirs		 d;
	struct dirent		*de;
	DIR			*dir;
	int			 rc = 0, i, fd, save;

	if ((msg = malloc(sizeof(*msg))) == NULL)
		return -1;
	qvdirs_init(&d, spool_dir);
	/* queue/ must be readable, as for queueview_scan() */
	snprintf(msg->error, sizeof(msg->error), "%s/queue", spool_dir);
	if ((dir = opendir(msg->error)) == NULL)
		rc = -1;
	else
		closedir(dir);
	for (i = 0; i < 256 && rc == 0; i++) {
		if ((fd = qvdir_at(&d, 0, (unsigned)i)) == -1) {
			if (errno == ENOENT)
				continue;
			rc = -1;
			break;
		}
		if ((fd = dup(fd)) == -1 || (dir = fdopendir(fd)) == NULL) {
			save = errno;
			if (fd != -1)
				close(fd);
			errno = save;
			rc = -1;
			break;
		}
		while (rc == 0 && (de = readdir(dir)) != NULL)
			if (strlen(de->d_name) == QUEUEID_LEN &&
			    queueid_valid(de->d_name))
				rc = queueview_one(&d, de->d_name, msg, fn,
				    arg);
		closedir(dir);
		close(d.fd[0][i]);	/* done with XX */
		if (d.fd[1][i] >= 0)
			close(d.fd[1][i]);
		d.fd[0][i] = d.fd[1][i] = -1;
		free(d.states[i].v);
		d.states[i] = (struct idlist){ NULL, 0, 0 };
	}
	save = errno;
	qvdirs_close(&d);
	free(msg);
	errno = save;
	return rc;
}

const struct state_rcpt *
queueview_rcpt_state(const struct queueview_msg *msg, size_t i)
{
	if (!msg->has_state || i >= msg->state.nrcpt)
		return NULL;
	return &msg->state.rcpt[i];
}

int
queueview_rcpt_is_queued(const struct queueview_msg *msg, size_t i)
{
	const struct state_rcpt *r;

	if ((r = queueview_rcpt_state(msg, i)) == NULL)
		return i < msg->env.nrcpt;
	return r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;
}

/*
 * utf8_len - length of the well-formed UTF-8 sequence at s (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), 0 if none.
 */
static size_t
utf8_len(const unsigned char *s, unsigned *cp)
{
	size_t	 n, i;
	unsigned c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; c = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; c = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; c = s[0] & 0x07; min = 0x10000;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* queueview_json_string - RFC 8259 string; bad UTF-8 becomes U+FFFD */
void
queueview_json_string(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned cp;
	size_t	 n;

	putc('"', fp);
	while (*s) {
		for (n = 0; s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' &&
		    s[n] != '\\'; n++)
			;		/* a run that needs no escape */
		if (n > 0) {
			fwrite(s, 1, n, fp);
			s += n;
		} else if (*s == '"' || *s == '\\') {
			putc('\\', fp);
			putc(*s++, fp);
		} else if (*s == '\n') {
			fputs("\\n", fp);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", fp);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(fp, "\\u%04x", *s++);
		} else if ((n = utf8_len(s, &cp)) == 0) {
			fputs("\\ufffd", fp);
			s++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			fprintf(fp, "\\u%04x", cp);	/* for JavaScript */
			s += n;
		} else {
			fwrite(s, 1, n, fp);
			s += n;
		}
	}
	putc('"', fp);
}

/*
 * put_safe - spool text for a terminal: C0 and C1 controls, DEL and
 * malformed UTF-8 become '?', or with escape set "\xNN" for each byte
 * (and a backslash "\\", so the form is unambiguous).  Either way a
 * hostile address or server reply cannot send escape sequences to the
 * administrator.
 */
static void
put_safe(FILE *fp, const char *str, int escape)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned cp;
	size_t	 n, i;

	while (*s) {
		for (n = 0; s[n] >= 0x20 && s[n] < 0x7f && s[n] != '\\'; n++)
			;		/* plain ASCII goes out as a run */
		if (n > 0) {
			fwrite(s, 1, n, fp);
			s += n;
			continue;
		}
		n = utf8_len(s, &cp);
		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			n = n ? n : 1;
			for (i = 0; i < n && escape; i++)
				fprintf(fp, "\\x%02x", s[i]);
			if (!escape)
				putc('?', fp);
		} else if (escape && *s == '\\')
			fputs("\\\\", fp);
		else
			fwrite(s, 1, n, fp);
		s += n;
	}
}

void
queueview_put_text(FILE *fp, const char *str)
{
	put_safe(fp, str, 0);
}

void
queueview_put_escaped(FILE *fp, const char *str)
{
	put_safe(fp, str, 1);
}

int
queueview_config(struct config *cfg, const char *flag, char *err,
    size_t errlen)
{
	const char *path;
	int	 named;

	path = config_path(flag, &named);
	if (!named && access(path, F_OK) == -1 && errno == ENOENT)
		return config_parse_string(cfg, path, "", err, errlen);
	return config_load(cfg, path, err, errlen);
}
