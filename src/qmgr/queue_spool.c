/* SPDX-License-Identifier: ISC */
/*
 * queue_spool.c - the queue runner's view of the spool: the message
 * table (its index: queue_index.c), start-up scan, reading a message and its state, writing the
 * state (queue_save_state(): held and warned come from struct qmsg, the
 * one place the runner keeps them), removal.  Activation is in
 * queue_active.c.
 *
 * Every spool file is untrusted: a queue file that does not parse, or a
 * file in queue/ whose name is not a queue id, is moved to spool/corrupt/
 * and logged, never deleted; a state file that does not parse is moved
 * there too and the message starts over (a duplicate, never a loss).
 * A state file without a queue file is garbage and is deleted.
 * Removal order: queue file first, then state file (DESIGN.md "Spool").
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"
#include "queuefile.h"
#include "queueid.h"
#include "spool.h"

struct qmsg *
queue_find(struct queue *q, const char *id)
{
	return strlen(id) == QUEUEID_LEN ? qindex_find(&q->ids, id) : NULL;
}

static struct qmsg *
queue_add(struct queue *q, const char *id)
{
	struct qmsg *m;

	if ((m = qpool_get(&q->pool)) == NULL)
		return NULL;
	heap_item_init(&m->item, m);
	memcpy(m->id, id, QUEUEID_LEN + 1);
	if (qindex_add(&q->ids, m) == -1) {
		qpool_put(&q->pool, m);
		return NULL;
	}
	return m;
}

void
queue_forget(struct queue *q, struct qmsg *m)
{
	queue_share_forget(q, m);
	heap_remove(&q->heap, &m->item);
	qindex_remove(&q->ids, m);
	queue_unload(m);
	qpool_put(&q->pool, m);
}

/* queue_unload - drop what only an active message has loaded */
void
queue_unload(struct qmsg *m)
{
	if (m->act == NULL)
		return;
	envelope_free(&m->act->env);
	state_free(&m->act->st);
	free(m->act->round);
	free(m->act);
	m->act = NULL;
}

/* queue_index_free - at shutdown: every message and the table */
void
queue_index_free(struct queue *q)
{
	size_t	 i;

	for (i = 0; i < q->ids.cap; i++)
		if (q->ids.slot[i] != NULL)
			queue_unload(q->ids.slot[i]);
	qindex_free(&q->ids);
	qpool_free(&q->pool);
}

static int
queue_path(struct queue *q, const char *kind, const char *id, char *out)
{
	return spool_path(q->cfg->spool_dir, kind, id, out, PATH_MAX);
}

static int
path_join(char out[PATH_MAX], const char *dir, const char *name)
{
	int	 n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* queue_corrupt - move an unreadable spool file aside, never delete it */
static void
queue_corrupt(struct queue *q, const char *path, const char *name,
    const char *why)
{
	char	 dir[PATH_MAX], to[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/corrupt", q->cfg->spool_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warn("%s", dir);
	if (path_join(to, dir, name) == -1 || rename(path, to) == -1)
		log_warn("%s: cannot move %s aside", name, path);
	else
		log_warnx("%s: corrupt spool file moved to %s: %s", name, to,
		    why);
}

/* queue_dirty - queue/XX (rm) or state/XX of id changed, unsynced */
static void
queue_dirty(struct queue *q, unsigned char *bits, const char *id)
{
	char	 hash[3];
	unsigned b;

	queueid_hash(id, hash);
	b = (unsigned)strtoul(hash, NULL, 16) & 0xff;
	bits[b / 8] |= (unsigned char)(1u << (b % 8));
	if (q->rm_since == 0)
		q->rm_since = time(NULL);
}

/*
 * queue_remove - the message leaves the queue: queue file, then state.
 *
 * The unlink is not made durable at once: undone by a power cut, it
 * brings a delivered message back, to be delivered again (a duplicate,
 * never a loss).  But the directories of the queue files removed are
 * fsync'd within a second or two, in one batch (queue_sync_removals),
 * so a cut brings back at most those last seconds' deliveries, not
 * every one since the file system last wrote its metadata.  The state
 * file's directory needs no sync for an unlink: a state file without a
 * queue file is removed at start-up.  A state file written is fsync'd
 * before its rename, and state/XX joins the same batch, unless it only
 * schedules a retry (queue_save_state()).
 */
void
queue_remove(struct queue *q, struct qmsg *m)
{
	char	 path[PATH_MAX];

	if (queue_path(q, "queue", m->id, path) == 0 && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("%s: unlink %s", m->id, path);
	else
		queue_dirty(q, q->rm_dirty, m->id);
	if (queue_path(q, "state", m->id, path) == 0 && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("%s: unlink %s", m->id, path);
	log_info("%s: removed", m->id);
	queue_forget(q, m);
}

static void
queue_sync_kind(struct queue *q, const char *kind, unsigned char *bits)
{
	char	 path[PATH_MAX];
	unsigned b;

	for (b = 0; b < 256; b++) {
		if (!(bits[b / 8] & (1u << (b % 8))))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%02x",
		    q->cfg->spool_dir, kind, b) < (int)sizeof(path) &&
		    spool_sync_dir(path) == -1 && errno != ENOENT)
			log_warn("queue: fsync %s", path);
	}
	memset(bits, 0, 256 / 8);
}

/*
 * queue_sync_removals - fsync the queue/XX of the unlinks and the
 * state/XX of the state files renamed a second ago, in one batch: with
 * a backlog retried, one fsync of a directory per second instead of one
 * per attempt, which would take from the disk's share of accepting.
 */
void
queue_sync_removals(struct queue *q, time_t now, int force)
{
	if (q->rm_since == 0 || (!force && now <= q->rm_since))
		return;
	queue_sync_kind(q, "queue", q->rm_dirty);
	queue_sync_kind(q, "state", q->st_dirty);
	q->rm_since = 0;
}

/*
 * queue_open - open the queue file of id and read its envelope; the
 * stream is left at the message body.  NULL if it is gone or corrupt
 * (then it has been moved aside); *mk (if not NULL) gets the file's
 * mark: where the message is, for an agent to reopen it.
 */
FILE *
queue_open(struct queue *q, const char *id, struct envelope *env,
    struct queuefile_mark *mk)
{
	struct queuefile qf;
	char	 path[PATH_MAX], err[256];
	int	 rc;

	if ((rc = queuefile_open(q->cfg->spool_dir, id, &qf, err,
	    sizeof(err))) != 0) {
		*env = qf.env;
		if (rc == -1)
			log_warnx("%s: open queue file: %s", id, err);
		else if (queue_path(q, "queue", id, path) == 0)
			queue_corrupt(q, path, id, err);
		return NULL;
	}
	*env = qf.env;
	if (mk != NULL)
		queuefile_mark(&qf, mk);
	return qf.fp;
}

/* queue_read_state - the state of env's message, or a fresh one */
int
queue_read_state(struct queue *q, const struct envelope *env,
    struct state *st)
{
	char	 path[PATH_MAX], err[256], name[QUEUEID_LEN + 8];
	int	 rc;

	rc = statefile_load(q->cfg->spool_dir, env->id, env->nrcpt, st, err,
	    sizeof(err));
	if (rc >= 0)
		return 0;
	if (rc == -1)
		log_warnx("%s: open state file: %s", env->id, err);
	else if (queue_path(q, "state", env->id, path) == 0) {
		snprintf(name, sizeof(name), "%s.state", env->id);
		queue_corrupt(q, path, name, err);
	}
	return state_alloc(st, env->id, env->nrcpt);
}

/* queue_due_at - when a message whose state says due is next due */
static time_t
queue_due_at(const struct qmsg *m, time_t due, time_t now)
{
	if (m->held)
		return HEAP_NEVER;
	return due < now ? now : due;
}

/* queue_due - when the message is next due, from its state */
time_t
queue_due(const struct qmsg *m, const struct state *st, time_t now)
{
	return queue_due_at(m, state_due(st), now);
}

/* queue_load_full - queue_load() from the queue file and the whole
 * state: a state file without a head, or keep */
static struct qmsg *
queue_load_full(struct queue *q, const char *id, time_t now, int keep)
{
	struct qactive *act;
	struct qmsg *m = NULL;
	FILE	*fp;

	if ((act = calloc(1, sizeof(*act))) == NULL) {
		log_warn("%s: cannot load", id);
		return NULL;
	}
	if ((fp = queue_open(q, id, &act->env, &act->file)) == NULL)
		goto out;
	fclose(fp);
	if (queue_read_state(q, &act->env, &act->st) == -1 ||
	    (m = queue_add(q, id)) == NULL) {
		log_warn("%s: cannot load", id);
		goto out;
	}
	m->act = act;
	act->arrival = act->env.arrival;
	act->is_bounce = act->env.sender[0] == '\0';
	m->held = act->st.held;
	m->warned = act->st.warned;
	if (heap_set(&q->heap, &m->item, queue_due_at(m, q->scan_flush ? now :
	    state_due(&act->st), now)) == -1) {
		log_warn("%s: cannot schedule", id);
		queue_forget(q, m);
		return NULL;
	}
	if (!keep)
		queue_unload(m);
	return m;
out:
	envelope_free(&act->env);
	state_free(&act->st);
	free(act);
	return NULL;
}

/*
 * queue_load - learn about a message in the spool (start-up, "new", a
 * rescan, a notice we made).  With keep, its envelope and state are
 * read and stay in m->act for the caller to activate at once or drop
 * with queue_unload().  Without, only the schedule entry is made, from
 * the head of the state file (statefile_head()): the queue file is
 * parsed when the message is activated, and a message without a state
 * file is due now.
 */
struct qmsg *
queue_load(struct queue *q, const char *id, time_t now, int keep)
{
	struct state_head h;
	struct qmsg *m;
	char	 err[256], path[PATH_MAX], name[QUEUEID_LEN + 8];
	int	 rc;

	if (keep)
		return queue_load_full(q, id, now, 1);
	rc = statefile_head(q->cfg->spool_dir, id, &h, err, sizeof(err));
	if (rc == 2)
		return queue_load_full(q, id, now, 0);
	if (rc == -1)
		log_warnx("%s: open state file: %s", id, err);
	else if (rc == -2 && queue_path(q, "state", id, path) == 0) {
		snprintf(name, sizeof(name), "%s.state", id);
		queue_corrupt(q, path, name, err);
	}
	if (rc != 0)
		memset(&h, 0, sizeof(h));	/* it starts over */
	if ((m = queue_add(q, id)) == NULL) {
		log_warn("%s: cannot load", id);
		return NULL;
	}
	m->held = h.held;
	m->warned = h.warned;
	if (heap_set(&q->heap, &m->item, queue_due_at(m, q->scan_flush ?
	    now : h.due, now)) == -1) {
		log_warn("%s: cannot schedule", id);
		queue_forget(q, m);
		return NULL;
	}
	return m;
}

/* queue_load_named - a command names id during the start-up scan: load
 * it now if its queue file is there (the scan will not load it twice) */
struct qmsg *
queue_load_named(struct queue *q, const char *id, time_t now)
{
	char	 path[PATH_MAX];

	if (!queue_scan_running(q) || queue_path(q, "queue", id, path) == -1 ||
	    access(path, F_OK) == -1)
		return NULL;
	return queue_load(q, id, now, 0);
}

static void
queue_scan_queue(struct queue *q, const char *path, const char *name)
{
	char	 want[PATH_MAX];

	if (!queueid_valid(name))
		queue_corrupt(q, path, name, "not a queue id");
	else if (queue_path(q, "queue", name, want) == -1 ||
	    strcmp(path, want) != 0)
		queue_corrupt(q, path, name, "not in its hash directory");
	else if (queue_find(q, name) == NULL)
		queue_load(q, name, time(NULL), 0);
}

static void
queue_scan_state(struct queue *q, const char *path, const char *name)
{
	if (queueid_valid(name) && queue_find(q, name) != NULL)
		return;
	if (unlink(path) == -1)
		log_warn("%s: unlink", path);
	else
		log_info("%s: removed state file without queue file", name);
}

/* queue_scan_dir - call fn for every entry of one directory */
static void
queue_scan_dir(struct queue *q, const char *sub,
    void (*fn)(struct queue *, const char *path, const char *name))
{
	char	 path[PATH_MAX];
	struct dirent *fe;
	DIR	*s;

	if ((s = opendir(sub)) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("%s", sub);
		return;
	}
	while ((fe = readdir(s)) != NULL)
		if (fe->d_name[0] != '.' && path_join(path, sub,
		    fe->d_name) == 0)
			fn(q, path, fe->d_name);
	closedir(s);
}

/* queue_scan_strays - directories in queue/ or state/ other than XX/ */
static void
queue_scan_strays(struct queue *q, const char *kind)
{
	char	 top[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR	*d;

	snprintf(top, sizeof(top), "%s/%s", q->cfg->spool_dir, kind);
	if ((d = opendir(top)) == NULL) {
		log_warn("%s", top);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (strlen(de->d_name) == 2 &&
		    strspn(de->d_name, "0123456789abcdef") == 2))
			continue;
		if (path_join(path, top, de->d_name) == 0)
			queue_scan_dir(q, path, strcmp(kind, "queue") == 0 ?
			    queue_scan_queue : queue_scan_state);
	}
	closedir(d);
}

/*
 * The start-up scan rebuilds the schedule from the spool, one hash
 * directory XX at a time, interleaved with the runner's loop so that
 * deliveries start before it ends: queue/XX, each message from the head
 * of its state file; then state/XX, where a state file of no message
 * known is garbage (a message's state and queue file share XX, and
 * only the runner writes state files).  Until it ends, a message not
 * yet known may still be in a directory not yet read: queue.c loads one
 * named by a command, and a "flush" of all is remembered for the rest.
 */
#define SCAN_DIRS	256
#define SCAN_BUDGET_MS	50	/* per turn of the loop */

void
queue_scan_start(struct queue *q)
{
	queue_scan_strays(q, "queue");
	q->scan_dir = 0;
	q->scan_flush = 0;
}

int
queue_scan_running(const struct queue *q)
{
	return q->scan_dir != -1;
}

void
queue_scan_step(struct queue *q, time_t now)
{
	char	 dir[PATH_MAX];
	long long start = queue_now_ms();

	(void)now;
	while (queue_scan_running(q) && queue_now_ms() - start < SCAN_BUDGET_MS) {
		snprintf(dir, sizeof(dir), "%s/queue/%02x", q->cfg->spool_dir,
		    q->scan_dir);
		queue_scan_dir(q, dir, queue_scan_queue);
		snprintf(dir, sizeof(dir), "%s/state/%02x", q->cfg->spool_dir,
		    q->scan_dir);
		queue_scan_dir(q, dir, queue_scan_state);
		if (++q->scan_dir < SCAN_DIRS)
			continue;
		queue_scan_strays(q, "state");
		q->scan_dir = -1;
		q->scan_flush = 0;
		log_info("queue: %zu messages in the spool", q->ids.n);
	}
}

/*
 * queue_save_state - write st as m's state file: the one place held and
 * warned go into a state, from m, where the runner keeps them.  At the
 * end of a round (retry set), a state that only schedules the next
 * attempt is written without any fsync (statefile_save_retry(): a power
 * cut may take it, and the message is then retried early); any other
 * is fsync'd, and its state/XX joins the batch of queue_sync_removals().
 * A command's hold or release is always fsync'd.
 */
void
queue_save_state(struct queue *q, const struct qmsg *m, struct state *st,
    int retry)
{
	int	 rc;

	st->held = m->held;
	st->warned = m->warned;
	rc = retry ? statefile_save_retry(q->cfg->spool_dir, st) :
	    statefile_save_unsynced(q->cfg->spool_dir, st);
	if (rc == -1)
		log_warn("%s: cannot write state file", m->id);
	else if (rc == 0)
		queue_dirty(q, q->st_dirty, m->id);
}

/* queue_save_flags - write held/warned of a message that is not active */
void
queue_save_flags(struct queue *q, struct qmsg *m)
{
	struct envelope env;
	struct state st;
	FILE	*fp;

	if ((fp = queue_open(q, m->id, &env, NULL)) == NULL)
		return;
	fclose(fp);
	if (queue_read_state(q, &env, &st) == 0)
		queue_save_state(q, m, &st, 0);
	envelope_free(&env);
	state_free(&st);
}

/* domain_is_one_of - is the domain of addr one of domains[0..n)? */
static int
domain_is_one_of(const char *addr, const char *const *domains, size_t n)
{
	const char *at = strrchr(addr, '@');
	size_t	 i;

	for (i = 0; at != NULL && i < n; i++)
		if (strcasecmp(at + 1, domains[i]) == 0)
			return 1;
	return 0;
}

/* queue_has_domain - has m an undelivered recipient at one of domains? */
int
queue_has_domain(struct queue *q, struct qmsg *m, const char *const *domains,
    size_t ndomains)
{
	struct envelope env;
	struct state st;
	size_t	 i;
	int	 found = 0;
	FILE	*fp;

	if (m->active) {
		env = m->act->env;
		st = m->act->st;
	} else if ((fp = queue_open(q, m->id, &env, NULL)) == NULL)
		return 0;
	else {
		fclose(fp);
		if (queue_read_state(q, &env, &st) == -1) {
			envelope_free(&env);
			return 0;
		}
	}
	for (i = 0; i < env.nrcpt && !found; i++)
		found = state_rcpt_is_undelivered(&st.rcpt[i]) &&
		    domain_is_one_of(env.rcpt[i].addr, domains, ndomains);
	if (!m->active) {
		envelope_free(&env);
		state_free(&st);
	}
	return found;
}
