/* SPDX-License-Identifier: ISC */
/*
 * queue_spool.c - the queue runner's view of the spool: the message
 * table, start-up scan, reading a message and its state, writing the
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
#include <search.h>
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

static int
queue_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qmsg *)a)->id,
	    ((const struct qmsg *)b)->id);
}

struct qmsg *
queue_find(struct queue *q, const char *id)
{
	struct qmsg key, **found;

	if (strlen(id) > QUEUEID_LEN)
		return NULL;
	strcpy(key.id, id);
	found = tfind(&key, &q->ids, queue_id_cmp);
	return found ? *found : NULL;
}

static struct qmsg *
queue_add(struct queue *q, const char *id)
{
	struct qmsg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	heap_item_init(&m->item, m);
	strcpy(m->id, id);
	envelope_init(&m->env);
	state_init(&m->st);
	if (tsearch(m, &q->ids, queue_id_cmp) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
queue_forget(struct queue *q, struct qmsg *m)
{
	queue_share_forget(q, m);
	heap_remove(&q->heap, &m->item);
	tdelete(m, &q->ids, queue_id_cmp);
	envelope_free(&m->env);
	state_free(&m->st);
	free(m->round);
	free(m);
}

void
queue_free_msg(void *p)
{
	struct qmsg *m = p;

	envelope_free(&m->env);
	state_free(&m->st);
	free(m->round);
	free(m->share);
	free(m);
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

/*
 * queue_remove - the message leaves the queue: queue file, then state.
 *
 * The unlink is not made durable at once: undone by a power cut, it
 * brings a delivered message back, to be delivered again (a duplicate,
 * never a loss).  But the directories of the queue files removed are
 * fsync'd within a second or two, in one batch (queue_sync_removals),
 * so a cut brings back at most those last seconds' deliveries, not
 * every one since the file system last wrote its metadata.  The state
 * file's directory needs no sync: a state file without a queue file is
 * removed at start-up.
 */
void
queue_remove(struct queue *q, struct qmsg *m)
{
	char	 path[PATH_MAX], hash[3];
	unsigned b;

	if (queue_path(q, "queue", m->id, path) == 0 && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("%s: unlink %s", m->id, path);
	else {
		queueid_hash(m->id, hash);
		b = (unsigned)strtoul(hash, NULL, 16) & 0xff;
		q->rm_dirty[b / 8] |= (unsigned char)(1u << (b % 8));
		if (q->rm_since == 0)
			q->rm_since = time(NULL);
	}
	if (queue_path(q, "state", m->id, path) == 0 && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("%s: unlink %s", m->id, path);
	log_info("%s: removed", m->id);
	queue_forget(q, m);
}

/* queue_sync_removals - fsync queue/XX of the unlinks of a second ago */
void
queue_sync_removals(struct queue *q, time_t now, int force)
{
	char	 path[PATH_MAX];
	unsigned b;

	if (q->rm_since == 0 || (!force && now <= q->rm_since))
		return;
	for (b = 0; b < 256; b++) {
		if (!(q->rm_dirty[b / 8] & (1u << (b % 8))))
			continue;
		if (snprintf(path, sizeof(path), "%s/queue/%02x",
		    q->cfg->spool_dir, b) < (int)sizeof(path) &&
		    spool_sync_dir(path) == -1 && errno != ENOENT)
			log_warn("queue: fsync %s", path);
	}
	memset(q->rm_dirty, 0, sizeof(q->rm_dirty));
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

/* queue_due - when the message is next due, from its state */
time_t
queue_due(const struct qmsg *m, const struct state *st, time_t now)
{
	time_t	 due = HEAP_NEVER;
	size_t	 i;

	if (m->held)
		return HEAP_NEVER;
	for (i = 0; i < st->nrcpt; i++)
		if (queue_rcpt_is_undelivered(&st->rcpt[i]) &&
		    st->rcpt[i].next_attempt < due)
			due = st->rcpt[i].next_attempt;
	return due == HEAP_NEVER || due < now ? now : due;
}

/*
 * queue_load - learn about a message in the spool (start-up or "new").
 * With keep, what was read stays in m (env, file, st) for the caller to
 * activate at once or drop with queue_unload(); else only the schedule
 * entry is kept.
 */
struct qmsg *
queue_load(struct queue *q, const char *id, time_t now, int keep)
{
	struct envelope env;
	struct queuefile_mark mk;
	struct state st;
	struct qmsg *m = NULL;
	FILE	*fp;

	if ((fp = queue_open(q, id, &env, &mk)) == NULL)
		return NULL;
	fclose(fp);
	if (queue_read_state(q, &env, &st) == -1 ||
	    (m = queue_add(q, id)) == NULL) {
		log_warn("%s: cannot load", id);
		goto out;
	}
	m->arrival = env.arrival;
	m->is_bounce = env.sender[0] == '\0';
	m->held = st.held;
	m->warned = st.warned;
	if (heap_set(&q->heap, &m->item, queue_due(m, &st, now)) == -1) {
		log_warn("%s: cannot schedule", id);
		queue_forget(q, m);
		m = NULL;
	} else if (keep) {
		m->env = env;		/* m owns them now */
		m->file = mk;
		m->st = st;
		return m;
	}
out:
	envelope_free(&env);
	state_free(&st);
	return m;
}

/* queue_scan_dir - call fn for every entry of every subdirectory of top */
static void
queue_scan_dir(struct queue *q, const char *top,
    void (*fn)(struct queue *, const char *path, const char *name))
{
	char	 sub[PATH_MAX], path[PATH_MAX];
	DIR	*d, *s;
	struct dirent *de, *fe;

	if ((d = opendir(top)) == NULL) {
		log_warn("%s", top);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (path_join(sub, top, de->d_name) == -1 ||
		    (s = opendir(sub)) == NULL)
			continue;
		while ((fe = readdir(s)) != NULL) {
			if (fe->d_name[0] != '.' &&
			    path_join(path, sub, fe->d_name) == 0)
				fn(q, path, fe->d_name);
		}
		closedir(s);
	}
	closedir(d);
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

/* queue_scan - rebuild the schedule from the spool, once at start-up */
void
queue_scan(struct queue *q)
{
	char	 dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/queue", q->cfg->spool_dir);
	queue_scan_dir(q, dir, queue_scan_queue);
	snprintf(dir, sizeof(dir), "%s/state", q->cfg->spool_dir);
	queue_scan_dir(q, dir, queue_scan_state);
	log_info("queue: %zu messages in the spool", q->heap.n);
}

/*
 * queue_save_state - write st as m's state file: the one place held and
 * warned go into a state, from m, where the runner keeps them.
 */
void
queue_save_state(struct queue *q, const struct qmsg *m, struct state *st)
{
	st->held = m->held;
	st->warned = m->warned;
	if (statefile_save(q->cfg->spool_dir, st) == -1)
		log_warn("%s: cannot write state file", m->id);
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
		queue_save_state(q, m, &st);
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
		env = m->env;
		st = m->st;
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
		found = queue_rcpt_is_undelivered(&st.rcpt[i]) &&
		    domain_is_one_of(env.rcpt[i].addr, domains, ndomains);
	if (!m->active) {
		envelope_free(&env);
		state_free(&st);
	}
	return found;
}
