/* SPDX-License-Identifier: ISC */
/*
 * queue_rescan.c - "flush @domain" (ETRN, ternq flush @domain): make due
 * every message with an undelivered recipient at a domain.  Finding them
 * means reading every queue file that is not loaded, the one command
 * whose cost grows with the spool, so it is bounded:
 *
 *	queue_rescan_request(q, domain)	ask for a rescan
 *	queue_rescan_step(q, now)	read one queue/XX directory
 *	queue_rescan_running(q)		poll() must not sleep meanwhile
 *
 * At most one rescan runs at a time, one hash directory per turn of the
 * runner's loop, so deliveries and trigger lines go on while it runs.
 * Every request that arrives meanwhile goes into a single follow-up
 * rescan (for up to RESCAN_DOMAINS domains; past that a request is
 * logged and dropped), which starts when the running one ends.  So any
 * number of requests costs at most the pass that runs and one more.
 *
 *	queue_rescan_strays(q)		ask for one for unannounced mail
 *
 * A "new ID" line is best effort: a writer that finds the trigger FIFO
 * full drops it (spool_trigger() never blocks a session), and nothing
 * else would tell the runner of that message until it restarts.  So
 * every rescan also loads the queue files the runner does not know, and
 * queue.c asks for one, with no domain, when the FIFO may have been
 * full.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "log.h"
#include "queue_priv.h"
#include "spool.h"

#define RESCAN_DIRS	256

static int
set_has(const struct rescan_set *set, const char *domain)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->name[i], domain) == 0)
			return 1;
	return 0;
}

/* set_format - "@a, @b" for the log */
static void
set_format(const struct rescan_set *set, char *buf, size_t len)
{
	size_t	 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < set->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s@%s",
		    i ? ", " : "", set->name[i]);
}

static void
rescan_start(struct queue *q)
{
	struct rescan *r = &q->rescan;
	char	 names[RESCAN_DOMAINS * (RESCAN_NAME_MAX + 3)];

	r->now = r->next;
	r->next.n = 0;
	r->wanted = 0;
	r->dir = 0;
	r->flushed = r->loaded = 0;
	set_format(&r->now, names, sizeof(names));
	log_info("queue: rescan for %s started",
	    r->now.n ? names : "unannounced mail");
}

int
queue_rescan_running(const struct queue *q)
{
	return q->rescan.dir != -1;
}

void
queue_rescan_request(struct queue *q, const char *domain)
{
	struct rescan *r = &q->rescan;
	char	 d[RESCAN_NAME_MAX];
	size_t	 i;

	for (i = 0; domain[i] != '\0' && i + 1 < sizeof(d); i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	d[i] = '\0';
	if (domain[i] != '\0' || i == 0) {
		log_warnx("queue: flush @%.64s...: bad domain, ignored", domain);
		return;
	}
	if (set_has(&r->next, d))
		log_debug("queue: flush @%s: already waiting for a rescan", d);
	else if (r->next.n == RESCAN_DOMAINS)
		log_warnx("queue: flush @%s: %d domains already wait for a "
		    "rescan; ignored", d, RESCAN_DOMAINS);
	else {
		memcpy(r->next.name[r->next.n++], d, i + 1);
		r->wanted = 1;
		if (queue_rescan_running(q))
			log_info("queue: flush @%s: a rescan is running; one "
			    "more follows it", d);
		else
			rescan_start(q);
	}
}

void
queue_rescan_strays(struct queue *q)
{
	struct rescan *r = &q->rescan;

	if (r->wanted)
		return;		/* the follow-up loads them */
	r->wanted = 1;
	if (queue_rescan_running(q))
		log_info("queue: the trigger FIFO may have been full; a "
		    "rescan follows the running one");
	else
		rescan_start(q);
}

/* rescan_dir - load the unknown messages of one queue/XX, make due the
 * matching known ones */
static void
rescan_dir(struct queue *q, const char *path, time_t now)
{
	struct rescan *r = &q->rescan;
	const char *domains[RESCAN_DOMAINS];
	struct dirent *de;
	struct qmsg *m;
	size_t	 i;
	DIR	*d;

	if ((d = opendir(path)) == NULL) {
		log_warn("queue: rescan %s", path);
		return;
	}
	for (i = 0; i < r->now.n; i++)
		domains[i] = r->now.name[i];
	while ((de = readdir(d)) != NULL) {
		if (!queueid_valid(de->d_name))
			continue;
		if ((m = queue_find(q, de->d_name)) == NULL) {
			if (queue_load(q, de->d_name, now, 0) != NULL)
				r->loaded++;
			continue;
		}
		if (r->now.n == 0 || m->held || m->active || m->parked ||
		    !queue_has_domain(q, m, domains, r->now.n))
			continue;
		heap_set(&q->heap, &m->item, now);
		r->flushed++;
	}
	closedir(d);
}

void
queue_rescan_step(struct queue *q, time_t now)
{
	struct rescan *r = &q->rescan;
	char	 path[PATH_MAX], names[RESCAN_DOMAINS * (RESCAN_NAME_MAX + 3)];

	if (!queue_rescan_running(q))
		return;
	snprintf(path, sizeof(path), "%s/queue/%02x", q->cfg->spool_dir,
	    r->dir);
	rescan_dir(q, path, now);
	if (++r->dir < RESCAN_DIRS)
		return;
	set_format(&r->now, names, sizeof(names));
	if (r->now.n > 0)
		log_info("queue: rescan for %s done: %zu message%s to attempt "
		    "now", names, r->flushed, r->flushed == 1 ? "" : "s");
	if (r->now.n == 0 || r->loaded > 0)
		log_info("queue: rescan done: %zu unannounced message%s "
		    "loaded", r->loaded, r->loaded == 1 ? "" : "s");
	r->dir = -1;
	if (r->wanted)
		rescan_start(q);
}
