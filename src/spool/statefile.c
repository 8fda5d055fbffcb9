/* SPDX-License-Identifier: ISC */
/*
 * statefile.c - the per-message state file's one owner: its format,
 * and loading and saving it by spool directory and queue id.  The queue
 * runner alone writes it after each delivery attempt (ternq too, but
 * only holding the runner's lock while the runner is down).
 *
 *	statefile_load(dir, id, nrcpt, st, err)	read it, or a fresh state
 *	statefile_head(dir, id, head, err)	its first lines only
 *	statefile_save(dir, st)			replace it atomically
 *	statefile_save_unsynced(dir, st)	the same, but for the
 *						directory's fsync
 *	statefile_save_retry(dir, st)		no fsync at all: a
 *						retry's schedule only
 *	state_alloc(st, id, nrcpt)		nrcpt pending recipients
 *	state_write(fp, st) / state_read(fp, st, err)
 *
 * The format is specified in include/statefile.h and uses the "key:
 * value" lines of kvline.h: one recipient line per envelope recipient,
 * in order, the reply in xtext (RFC 3461 section 4).  As with the
 * envelope, the writer refuses what the reader would reject, and the
 * reader accepts only the exact grammar ("line N: reason" in err).
 *
 * The head (decision): held, warned and "due", the earliest next
 * attempt of an undelivered recipient, come before the recipient lines,
 * so that the queue runner builds its schedule at start-up from one
 * small read of each state file (statefile_head()) without parsing the
 * recipients, and without the queue file.  "due" is derived: the writer
 * computes it from the recipients and the full reader checks that it
 * agrees with them.  A state file written before "due" existed has no
 * such line; statefile_head() says so and the caller parses it whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"
#include "envelope.h"
#include "kvline.h"
#include "spool.h"
#include "statefile.h"

static const char *const yesno_words[] = { "no", "yes", NULL };
static const char *const state_words[] = { "pending", "deferred",
	"delivered", "failed", NULL };

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->version = STATEFILE_VERSION;
}

void
state_free(struct state *st)
{
	free(st->rcpt);
	st->rcpt = NULL;
	st->nrcpt = 0;
}

/* state_alloc - initialize st with nrcpt pending recipients */
int
state_alloc(struct state *st, const char *id, size_t nrcpt)
{
	state_init(st);
	if (!queueid_valid(id) || nrcpt == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((st->rcpt = calloc(nrcpt, sizeof(*st->rcpt))) == NULL)
		return -1;
	memcpy(st->id, id, QUEUEID_LEN + 1);
	st->nrcpt = nrcpt;
	return 0;
}

const char *
rcpt_state_name(int state)
{
	if (state < RCPT_PENDING || state > RCPT_FAILED)
		return "unknown";
	return state_words[state];
}

static int
state_write_rcpt(FILE *fp, size_t index, const struct state_rcpt *r)
{
	char	 reply[KV_LINE_MAX];

	if (r->state < RCPT_PENDING || r->state > RCPT_FAILED ||
	    r->attempts < 0 || r->next_attempt < 0 || r->last_attempt < 0 ||
	    (r->dsn[0] != '\0' && !dsn_is_valid(r->dsn)) ||
	    xtext_encode(r->reply, reply, sizeof(reply)) == -1) {
		errno = EINVAL;
		return -1;
	}
	/* "-" stands for an empty reply, so a reply of "-" is hex-coded. */
	if (reply[0] == '\0' || strcmp(reply, "-") == 0)
		strcpy(reply, reply[0] ? "+2D" : "-");
	return kv_line_put(fp, "rcpt: %zu %s %d %lld %lld %s %s\n", index,
	    state_words[r->state], r->attempts, (long long)r->next_attempt,
	    (long long)r->last_attempt, r->dsn[0] ? r->dsn : "-", reply);
}

/* state_due - the earliest next attempt of an undelivered recipient, or
 * 0 (due now: one is pending, or none is waiting) */
time_t
state_due(const struct state *st)
{
	time_t	 due = 0;
	size_t	 i;
	int	 any = 0;

	for (i = 0; i < st->nrcpt; i++) {
		if (!state_rcpt_is_undelivered(&st->rcpt[i]))
			continue;
		if (!any || st->rcpt[i].next_attempt < due)
			due = st->rcpt[i].next_attempt;
		any = 1;
	}
	return due;
}

int
state_write(FILE *fp, const struct state *st)
{
	size_t	 i;

	if (!queueid_valid(st->id) || st->nrcpt == 0 ||
	    (st->held != 0 && st->held != 1) ||
	    (st->warned != 0 && st->warned != 1)) {
		errno = EINVAL;
		return -1;
	}
	if (kv_line_put(fp, "version: %d\nid: %s\nheld: %s\nwarned: %s\n"
	    "due: %lld\n", STATEFILE_VERSION, st->id, yesno_words[st->held],
	    yesno_words[st->warned], (long long)state_due(st)) == -1)
		return -1;
	for (i = 0; i < st->nrcpt; i++)
		if (state_write_rcpt(fp, i, &st->rcpt[i]) == -1)
			return -1;
	return 0;
}

/* field_next - next single-space separated field, NULL if none/empty */
static char *
field_next(char **rest)
{
	char	*p = *rest, *q;

	if (p == NULL)
		return NULL;
	if ((q = strchr(p, ' ')) != NULL) {
		*q = '\0';
		*rest = q + 1;
	} else
		*rest = NULL;
	return p[0] != '\0' ? p : NULL;
}

/* st_rcpt_fields - INDEX STATE ATTEMPTS NEXT LAST DSN REPLY into r */
static const char *
st_rcpt_fields(char *f[7], size_t index, struct state_rcpt *r)
{
	long long n, next, last;

	if (kv_num(f[0], INT64_MAX, &n) == -1 || (size_t)n != index)
		return "index out of sequence";
	if ((r->state = kv_word(f[1], state_words)) == -1)
		return "bad recipient state";
	if (kv_num(f[2], INT_MAX, &n) == -1 ||
	    kv_num(f[3], INT64_MAX, &next) == -1 ||
	    kv_num(f[4], INT64_MAX, &last) == -1)
		return "bad number";
	r->attempts = (int)n;
	r->next_attempt = (time_t)next;
	r->last_attempt = (time_t)last;
	if (strcmp(f[5], "-") == 0)
		r->dsn[0] = '\0';
	else if (dsn_is_valid(f[5]))
		strcpy(r->dsn, f[5]);
	else
		return "bad dsn code";
	if (strcmp(f[6], "-") == 0)
		r->reply[0] = '\0';
	else if (xtext_decode(f[6], r->reply, sizeof(r->reply)) == -1)
		return "bad xtext or reply too long";
	return NULL;
}

static const char *
st_rcpt(void *obj, char *v)
{
	struct state *st = obj;

	struct state_rcpt r;
	const char *why;
	char	*f[7], *rest = v;
	size_t	 i;

	for (i = 0; i < 7; i++)
		if ((f[i] = field_next(&rest)) == NULL)
			return "expected 7 fields";
	if (rest != NULL)
		return "expected 7 fields";
	memset(&r, 0, sizeof(r));
	if ((why = st_rcpt_fields(f, st->nrcpt, &r)) != NULL)
		return why;
	if (kv_grow((void **)&st->rcpt, st->nrcpt, sizeof(r)) == -1)
		return "out of memory";
	st->rcpt[st->nrcpt++] = r;
	return NULL;
}

static const char *
st_due(void *obj, char *v)
{
	struct state *st = obj;
	long long n;

	if (kv_num(v, INT64_MAX, &n) == -1)
		return "bad number";
	st->due = (time_t)n;
	st->has_due = 1;
	return NULL;
}

static const struct key state_keys[] = {
	{ "version", KEY_REQUIRED, 0, 0, NULL, kv_version },
	{ "id", KEY_REQUIRED | KEY_ID, FIELD(state, id), NULL, NULL },
	{ "held", KEY_REQUIRED | KEY_WORD, FIELD(state, held), yesno_words,
	    NULL },
	{ "warned", KEY_REQUIRED | KEY_WORD, FIELD(state, warned), yesno_words,
	    NULL },
	{ "due", 0, 0, 0, NULL, st_due },
	{ "rcpt", KEY_REQUIRED | KEY_REPEAT, 0, 0, NULL, st_rcpt },
};
#define STATE_NKEYS	(sizeof(state_keys) / sizeof(state_keys[0]))

/* state_read_in - parse a whole state file; st is (re)initialized here */
static int
state_read_in(struct kv_in *in, struct state *st, char *err, size_t errlen)
{
	char	 buf[KV_LINE_MAX], *line;
	unsigned lineno, seen = 0;
	int	 n;

	state_init(st);
	for (lineno = 1;; lineno++) {
		if ((n = kv_line_read(in, buf, &line, lineno, err,
		    errlen)) == -2)
			break;
		if (n < 0 || kv_key_line(state_keys, STATE_NKEYS, st, line,
		    lineno, &seen, err, errlen) == -1)
			goto fail;
	}
	if (lineno == 1) {
		kv_errf(err, errlen, 0, "empty state file");
		goto fail;
	}
	if (kv_keys_missing(state_keys, STATE_NKEYS, seen, err, errlen))
		goto fail;
	if (st->has_due && st->due != state_due(st)) {
		kv_errf(err, errlen, 0, "due does not match the recipients");
		goto fail;
	}
	return 0;
fail:
	state_free(st);
	state_init(st);
	return -1;
}

int
state_read(FILE *fp, struct state *st, char *err, size_t errlen)
{
	struct kv_in in = { fp, NULL, 0, 0 };

	return state_read_in(&in, st, err, errlen);
}

/* statefile_tmp - write st into a new tmp file, and fsync it if sync */
static int
statefile_tmp(const char *tmp, const struct state *st, int sync)
{
	FILE	*fp;
	int	 fd, rc, saved;

	if ((unlink(tmp) == -1 && errno != ENOENT) ||
	    (fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	errno = 0;
	rc = state_write(fp, st) == -1 || fflush(fp) == EOF || ferror(fp) ||
	    (sync && fsync(fd) == -1) ? -1 : 0;
	if (rc == -1 && errno == 0)
		errno = EIO;
	saved = errno;
	if (fclose(fp) == EOF && rc == 0)
		rc = -1;
	else if (rc == -1)
		errno = saved;	/* the first failure, ENOSPC say, not close's */
	return rc;
}

/*
 * statefile_replace - replace state/XX/ID as a whole: tmp/ID.state,
 * fsync if sync, rename over the old one.  Until the rename the old
 * file is untouched: a tmp file that cannot be written (a full disk) is
 * removed and the old state stays as it was.
 */
static int
statefile_replace(const char *dir, const struct state *st, int sync)
{
	char	 tmp[PATH_MAX], path[PATH_MAX], name[QUEUEID_LEN + 8];
	int	 saved;

	snprintf(name, sizeof(name), "%s.state", st->id);
	if (spool_path(dir, "state", st->id, path, sizeof(path)) == -1 ||
	    spool_tmppath(dir, name, tmp, sizeof(tmp)) == -1)
		return -1;
	if (statefile_tmp(tmp, st, sync) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* statefile_save_unsynced - the file fsync'd; the caller fsyncs state/XX */
int
statefile_save_unsynced(const char *dir, const struct state *st)
{
	return statefile_replace(dir, st, 1);
}

/*
 * statefile_save_retry - no fsync for a state that only schedules a
 * retry (statefile.h says which, and what a power cut makes of it), so
 * that a backlog retried takes nothing of the disk's flushes from
 * accepting mail; any other state as statefile_save_unsynced().
 */
int
statefile_save_retry(const char *dir, const struct state *st)
{
	size_t	 i;

	for (i = 0; i < st->nrcpt; i++)
		if (!state_rcpt_is_undelivered(&st->rcpt[i]))
			break;
	if (i < st->nrcpt || st->held || st->warned)
		return statefile_replace(dir, st, 1);
	return statefile_replace(dir, st, 0) == -1 ? -1 : 1;
}

/* statefile_save - fsync'd, renamed, and state/XX fsync'd */
int
statefile_save(const char *dir, const struct state *st)
{
	if (statefile_save_unsynced(dir, st) == -1)
		return -1;
	return spool_sync(dir, "state", st->id);
}

/* statefile_check - the state read is id's, with nrcpt recipients */
static int
statefile_check(const struct state *st, const char *id, size_t nrcpt,
    char *err, size_t errlen)
{
	if (strcmp(st->id, id) != 0)
		snprintf(err, errlen, "id mismatch");
	else if (st->nrcpt != nrcpt)
		snprintf(err, errlen, "%zu recipients, queue file has %zu",
		    st->nrcpt, nrcpt);
	else
		return 0;
	return -2;
}

/*
 * statefile_read_fd - the state in fd: one read into a buffer parsed in
 * memory, the common case; a file longer than the buffer is read again
 * through stdio.  fd is closed.
 */
static int
statefile_read_fd(int fd, const char *id, size_t nrcpt, struct state *st,
    char *err, size_t errlen)
{
	char	 buf[8192];
	struct kv_in in = { NULL, buf, 0, 0 };
	ssize_t	 n;
	int	 rc = -2;

	if ((n = read(fd, buf, sizeof(buf))) == -1)
		goto fail;
	if (n == 0) {		/* a retry's, cut short: as none (statefile.h) */
		close(fd);
		if (state_alloc(st, id, nrcpt) == 0)
			return 1;
		return kv_fail(-1, err, errlen);
	}
	if ((size_t)n < sizeof(buf)) {		/* all of it */
		close(fd);
		in.len = (size_t)n;
	} else if ((in.fp = kv_fd_stream(fd)) == NULL) {
		fd = -1;
		goto fail;
	}
	if (state_read_in(&in, st, err, errlen) == 0)
		rc = statefile_check(st, id, nrcpt, err, errlen);
	if (in.fp != NULL)
		fclose(in.fp);
	if (rc != 0) {
		state_free(st);
		state_init(st);
		errno = EINVAL;
	}
	return rc;
fail:
	return kv_fail(fd, err, errlen);
}

/* statefile_load_at - statefile_load() of the file name in dirfd */
int
statefile_load_at(int dirfd, const char *name, const char *id, size_t nrcpt,
    struct state *st, char *err, size_t errlen)
{
	int	 fd, saved;

	state_init(st);
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		if (saved == ENOENT && queueid_valid(id)) {
			if (state_alloc(st, id, nrcpt) == 0)
				return 1;
			saved = errno;
		}
		snprintf(err, errlen, "%s", strerror(saved));
		errno = saved;
		return -1;
	}
	return statefile_read_fd(fd, id, nrcpt, st, err, errlen);
}

int
statefile_load(const char *dir, const char *id, size_t nrcpt,
    struct state *st, char *err, size_t errlen)
{
	char	 path[PATH_MAX];

	state_init(st);
	if (spool_path(dir, "state", id, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return statefile_load_at(AT_FDCWD, path, id, nrcpt, st, err, errlen);
}

/*
 * statefile_head - the head of id's state file from one read of its
 * first STATEFILE_HEAD_MAX bytes: the lines before the first recipient,
 * parsed as strictly as state_read() does.
 */
int
statefile_head(const char *dir, const char *id, struct state_head *h,
    char *err, size_t errlen)
{
	char	 path[PATH_MAX], buf[STATEFILE_HEAD_MAX + 1], *line, *nl;
	struct state st;
	unsigned lineno, seen = 0;
	ssize_t	 n;
	int	 fd, saved;

	memset(h, 0, sizeof(*h));
	if (spool_path(dir, "state", id, path, sizeof(path)) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s", strerror(saved));
		errno = saved;
		return saved == ENOENT ? 1 : -1;
	}
	n = read(fd, buf, STATEFILE_HEAD_MAX);
	saved = errno;
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "%s", strerror(saved));
		errno = saved;
		return -1;
	}
	if (n == 0)		/* a retry's, cut short: as none (statefile.h) */
		return 1;
	buf[n] = '\0';
	state_init(&st);
	line = buf;
	for (lineno = 1; (nl = strchr(line, '\n')) != NULL &&
	    strncmp(line, "rcpt: ", 6) != 0; lineno++) {
		*nl = '\0';
		if (kv_key_line(state_keys, STATE_NKEYS, &st, line, lineno,
		    &seen, err, errlen) == -1)
			goto bad;
		line = nl + 1;
	}
	if (nl == NULL && (size_t)n < STATEFILE_HEAD_MAX) {
		kv_errf(err, errlen, lineno, "no recipient line");
		goto bad;
	}
	if (nl == NULL || !st.has_due)
		return 2;	/* long, or written before "due" existed */
	if (strcmp(st.id, id) != 0) {
		snprintf(err, errlen, "id mismatch");
		goto bad;
	}
	h->held = st.held;
	h->warned = st.warned;
	h->due = st.due;
	return 0;
bad:
	errno = EINVAL;
	return -2;
}
