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
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "fdpass.h"
#include "queuefile.h"
#include "queueview.h"
#include "spool.h"

/*
 * A list of ids as keys (queueid_pack()), each with the queue/XX it is
 * in: sorting them is sorting numbers.
 */
struct qvid {
	struct queueid_key key;
	uint8_t		 xx;
};

struct idlist {
	struct qvid	*v;
	size_t		 n, cap;
	int		 read;		/* state/XX's list: it was read */
};

/* idlist_add - name, if it is a queue id; -1 (ENOMEM) */
static int
idlist_add(struct idlist *l, const char *name, unsigned xx)
{
	struct queueid_key key;
	void	*p;
	size_t	 cap;

	if (queueid_pack(name, &key) == -1)	/* it checks the length */
		return 0;
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 1024;
		if ((p = reallocarray(l->v, cap, sizeof(*l->v))) == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n].key = key;
	l->v[l->n++].xx = (uint8_t)xx;
	return 0;
}

static int
key_cmp(const struct queueid_key *x, const struct queueid_key *y)
{
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
qvid_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct qvid *)a)->key,
	    &((const struct qvid *)b)->key);
}

/* radix digit k of an id's 75 bits: lo, then hi 15 bits at a time */
static unsigned
qvid_digit(const struct qvid *v, unsigned k)
{
	return k == 0 ? v->key.lo : (unsigned)(v->key.hi >> (15 * (k - 1))) &
	    0x7fff;
}

/*
 * idlist_sort - a least-significant-digit radix sort in five passes of
 * 15 bits, a pass skipped when every id has the same digit there (the
 * high bits of the seconds, mostly): a million ids in some 30 ms where
 * qsort() took 0.4 s.  Short lists (a state/XX) go to qsort().
 */
static int
idlist_sort(struct idlist *l)
{
	struct qvid	*tmp, *src = l->v, *dst, *t;
	size_t		*count, i, sum, c;
	unsigned	 k;

	if (l->n < 65536) {
		if (l->n > 1)
			qsort(l->v, l->n, sizeof(*l->v), qvid_cmp);
		return 0;
	}
	if ((tmp = reallocarray(NULL, l->n, sizeof(*tmp))) == NULL ||
	    (count = calloc(1 << 15, sizeof(*count))) == NULL) {
		free(tmp);
		return -1;
	}
	for (dst = tmp, k = 0; k < 5; k++) {
		memset(count, 0, (1 << 15) * sizeof(*count));
		for (i = 0; i < l->n; i++)
			count[qvid_digit(&src[i], k)]++;
		if (count[qvid_digit(&src[0], k)] == l->n)
			continue;
		for (sum = 0, i = 0; i < (1 << 15); i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < l->n; i++)
			dst[count[qvid_digit(&src[i], k)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != l->v)
		memcpy(l->v, src, l->n * sizeof(*l->v));
	free(count);
	free(tmp);
	return 0;
}

/* idlist_has - key is in the sorted list l */
static int
idlist_has(const struct idlist *l, const struct queueid_key *key)
{
	size_t	 lo = 0, hi = l->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = key_cmp(key, &l->v[mid].key)) == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/*
 * list_dirs - the ids in kind/XX ("queue" or "state"), for XX from `from`
 * to to - 1, added to l.  A queue/XX that cannot be read fails the
 * listing (-1, errno set); for state/, ok[XX] = 1 for each directory read
 * (or not there), and a message of one left 0 looks for its state file.
 */
static int
list_dirs(const char *spool_dir, const char *kind, unsigned from,
    unsigned to, struct idlist *l, unsigned char *ok)
{
	char		 path[1100];
	struct dirent	*de;
	DIR		*dir;
	int		 rc = 0;

	for (; from < to && rc == 0; from++) {
		snprintf(path, sizeof(path), "%s/%s/%02x", spool_dir, kind,
		    from);
		if ((dir = opendir(path)) == NULL) {
			if (ok != NULL && errno == ENOENT)
				ok[from] = 1;
			else if (ok == NULL)
				rc = errno == ENOENT ? 0 : -1;
			continue;
		}
		while ((de = readdir(dir)) != NULL)
			if ((rc = idlist_add(l, de->d_name, from)) == -1)
				break;
		closedir(dir);
		if (ok != NULL)
			ok[from] = rc == 0;
	}
	return rc;
}

/*
 * What the lister child sends: this, its ok[] of state/XX, then nq queue
 * and ns state ids.
 */
struct list_head {
	size_t	 nq, ns;
	int	 error;
};

/* lister - the child's half: queue/80-ff and state/00-7f, sent on fd */
static void
lister(int fd, const char *spool_dir)
{
	struct idlist	 q = { NULL, 0, 0, 0 }, st = { NULL, 0, 0, 0 };
	struct list_head h = { 0, 0, 0 };
	unsigned char	 ok[128] = { 0 };

	if (list_dirs(spool_dir, "queue", 128, 256, &q, NULL) == -1 ||
	    list_dirs(spool_dir, "state", 0, 128, &st, ok) == -1)
		h.error = errno ? errno : ENOMEM;
	else {
		h.nq = q.n;
		h.ns = st.n;
	}
	if (fd_full(fd, &h, sizeof(h), 1) == -1 ||
	    fd_full(fd, ok, sizeof(ok), 1) == -1 ||
	    fd_full(fd, q.v, h.nq * sizeof(*q.v), 1) == -1 ||
	    fd_full(fd, st.v, h.ns * sizeof(*st.v), 1) == -1)
		_exit(1);
	_exit(0);
}

/* list_take - n ids more from fd, at the end of l */
static int
list_take(int fd, struct idlist *l, size_t n)
{
	void	*p;

	if (l->cap - l->n < n) {
		if ((p = reallocarray(l->v, l->n + n, sizeof(*l->v))) == NULL)
			return -1;
		l->v = p;
		l->cap = l->n + n;
	}
	if (fd_full(fd, l->v + l->n, n * sizeof(*l->v), 0) == -1)
		return -1;
	l->n += n;
	return 0;
}

/*
 * list_all - every id of queue/ and of state/, sorted, into ids and
 * states.  Half the directories are read by a child meanwhile, for a
 * million messages take a quarter of a second to list; without a child
 * (fork fails) this process reads them all.
 */
static int
list_all(const char *spool_dir, struct idlist *ids, struct idlist *states,
    unsigned char ok[256])
{
	struct list_head h = { 0, 0, 0 };
	pid_t	 pid = -1;
	int	 p[2] = { -1, -1 }, rc = 0, save;

	if (pipe(p) == 0 && (pid = fork()) == 0) {
		close(p[0]);
		lister(p[1], spool_dir);
	}
	if (p[1] != -1)
		close(p[1]);
	if (pid == -1 && (list_dirs(spool_dir, "queue", 128, 256, ids,
	    NULL) == -1 || list_dirs(spool_dir, "state", 0, 128, states,
	    ok) == -1))
		rc = -1;
	if (rc == 0 && (list_dirs(spool_dir, "queue", 0, 128, ids,
	    NULL) == -1 ||
	    list_dirs(spool_dir, "state", 128, 256, states, ok) == -1))
		rc = -1;
	if (pid != -1) {
		if (rc == 0 && (fd_full(p[0], &h, sizeof(h), 0) == -1 ||
		    (h.error == 0 && (fd_full(p[0], ok, 128, 0) == -1 ||
		    list_take(p[0], ids, h.nq) == -1 ||
		    list_take(p[0], states, h.ns) == -1))))
			rc = -1;
		else if (rc == 0 && h.error) {
			errno = h.error;
			rc = -1;
		}
		save = errno;
		if (rc == -1)
			kill(pid, SIGTERM);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		errno = save;
	}
	if (p[0] != -1)
		close(p[0]);
	if (rc == 0 && (idlist_sort(ids) == -1 || idlist_sort(states) == -1))
		rc = -1;
	return rc;
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
		d->states[i] = (struct idlist){ NULL, 0, 0, 0 };
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
		if ((rc = idlist_add(l, de->d_name, xx)) == -1)
			break;
	closedir(dir);
	if (rc == -1 || idlist_sort(l) == -1) {
		free(l->v);
		*l = (struct idlist){ NULL, 0, 0, 0 };
		return -1;
	}
	l->read = 1;
	return 0;
}

/* qvdir_has_state - 0 when state/XX was read and has no file of key */
static int
qvdir_has_state(const struct qvdirs *d, const struct qvid *id)
{
	const struct idlist *l = &d->states[id->xx];

	return !l->read || idlist_has(l, &id->key);
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
		else if (kind == 1 && !d->states[xx & 0xff].read)
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

/* queueview_read_state - the state file, if any; sets msg->error */
static void
queueview_read_state(struct qvdirs *d, const struct qvid *id,
    struct queueview_msg *msg)
{
	char	 err[200];
	int	 rc, fd;

	if ((fd = qvdir_at(d, 1, id->xx)) == -1 && errno != ENOENT) {
		snprintf(msg->error, sizeof(msg->error), "state file: %s",
		    strerror(errno));
		return;
	}
	rc = fd == -1 || !qvdir_has_state(d, id) ?
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
queueview_load_in(struct qvdirs *d, const struct qvid *id,
    struct queueview_msg *msg)
{
	char		 err[200];
	int		 rc, fd;

	msg->has_state = 0;	/* not a memset(): a million of them */
	msg->size = 0;
	msg->error[0] = '\0';
	envelope_init(&msg->env);
	state_init(&msg->state);
	queueid_unpack(&id->key, msg->id);
	if ((fd = qvdir_at(d, 0, id->xx)) == -1)
		return -1;
	rc = queuefile_head_at(fd, msg->id, msg->id, &msg->env, &msg->size,
	    err, sizeof(err));
	if (rc == -1)
		return -1;
	if (rc == -2) {
		envelope_free(&msg->env);
		envelope_init(&msg->env);
		snprintf(msg->error, sizeof(msg->error), "queue file: %s", err);
		return 0;
	}
	queueview_read_state(d, id, msg);
	return 0;
}

int
queueview_load(const char *spool_dir, const char *id,
    struct queueview_msg *msg)
{
	struct qvdirs	 d;
	struct qvid	 q;
	int		 rc, save;

	if (queueid_pack(id, &q.key) == -1) {
		memset(msg, 0, sizeof(*msg));
		envelope_init(&msg->env);
		state_init(&msg->state);
		errno = EINVAL;
		return -1;
	}
	q.xx = (uint8_t)qvdir_index(id);
	qvdirs_init(&d, spool_dir);
	rc = queueview_load_in(&d, &q, msg);
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
queueview_one(struct qvdirs *d, const struct qvid *id,
    struct queueview_msg *msg, queueview_fn fn, void *arg)
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

/*
 * A listing: every id, sorted, and the directories they are in.  All of
 * queue/XX and state/XX are opened, and the names in state/XX read, here
 * and at once: a listing split over processes (queuelist.c) forks after
 * this, and each process then only opens files relative to these
 * descriptors, never moving a directory offset another one reads.
 */
struct queueview {
	struct idlist	 ids;
	struct qvdirs	 d;
	struct queueview_msg *msg;
};

/* states_deal - the sorted list of every state id into states[XX] */
static int
states_deal(struct qvdirs *d, const struct idlist *all,
    const unsigned char ok[256])
{
	size_t	 count[256] = { 0 }, i;
	struct idlist *l;

	for (i = 0; i < all->n; i++)
		count[all->v[i].xx]++;
	for (i = 0; i < 256; i++) {
		l = &d->states[i];
		if (count[i] > 0 && (l->v = reallocarray(NULL, count[i],
		    sizeof(*l->v))) == NULL)
			return -1;
		l->cap = count[i];
		l->read = ok[i];
	}
	for (i = 0; i < all->n; i++) {	/* in order: each stays sorted */
		l = &d->states[all->v[i].xx];
		l->v[l->n++] = all->v[i];
	}
	return 0;
}

struct queueview *
queueview_open(const char *spool_dir)
{
	struct queueview *qv;
	struct idlist	 states = { NULL, 0, 0, 0 };
	unsigned char	 ok[256] = { 0 };
	char		 top[1024];
	DIR		*dir;
	unsigned	 xx;
	int		 save;

	if ((qv = calloc(1, sizeof(*qv))) == NULL ||
	    (qv->msg = malloc(sizeof(*qv->msg))) == NULL) {
		free(qv);
		return NULL;
	}
	qvdirs_init(&qv->d, spool_dir);
	/* queue/ itself must be there and readable (EACCES: ask ternd) */
	if (snprintf(top, sizeof(top), "%s/queue", spool_dir) >=
	    (int)sizeof(top)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((dir = opendir(top)) == NULL)
		goto fail;
	closedir(dir);
	if (list_all(spool_dir, &qv->ids, &states, ok) == -1 ||
	    states_deal(&qv->d, &states, ok) == -1)
		goto fail;
	free(states.v);
	for (xx = 0; xx < 256 && qv->ids.n > 0; xx++) {
		(void)qvdir_at(&qv->d, 0, xx);	/* errors: at each message */
		(void)qvdir_at(&qv->d, 1, xx);
	}
	return qv;
fail:
	save = errno;
	free(states.v);
	queueview_close(qv);
	errno = save;
	return NULL;
}

size_t
queueview_count(const struct queueview *qv)
{
	return qv->ids.n;
}

int
queueview_run(struct queueview *qv, size_t from, size_t to, queueview_fn fn,
    void *arg)
{
	int	 rc = 0;

	for (; from < to && from < qv->ids.n && rc == 0; from++)
		rc = queueview_one(&qv->d, &qv->ids.v[from], qv->msg, fn, arg);
	return rc;
}

void
queueview_close(struct queueview *qv)
{
	if (qv == NULL)
		return;
	qvdirs_close(&qv->d);
	free(qv->ids.v);
	free(qv->msg);
	free(qv);
}

int
queueview_scan(const char *spool_dir, queueview_fn fn, void *arg)
{
	struct queueview *qv;
	int		 rc;

	if ((qv = queueview_open(spool_dir)) == NULL)
		return -1;
	rc = queueview_run(qv, 0, queueview_count(qv), fn, arg);
	queueview_close(qv);
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
	struct qvid		 q;
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
		q.xx = (uint8_t)i;
		while (rc == 0 && (de = readdir(dir)) != NULL)
			if (queueid_pack(de->d_name, &q.key) == 0)
				rc = queueview_one(&d, &q, msg, fn, arg);
		closedir(dir);
		close(d.fd[0][i]);	/* done with XX */
		if (d.fd[1][i] >= 0)
			close(d.fd[1][i]);
		d.fd[0][i] = d.fd[1][i] = -1;
		free(d.states[i].v);
		d.states[i] = (struct idlist){ NULL, 0, 0, 0 };
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
