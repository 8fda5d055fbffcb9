/* SPDX-License-Identifier: ISC */
/*
 * queue_dest.c - what the queue runner knows of each destination: its
 * rate (destination_rate) and its back-off after a "slow down" reply.
 *
 *	queue_dest_room(q, dom, key, rate)	messages dom (counted under
 *					key) may be handed out now
 *	queue_dest_sent(q, key, n)	n more were handed to an agent
 *	queue_dest_blocked(q, dom)	no room now (without routing dom)
 *	queue_dest_throttle(q, dom, why, now)	back off from dom; the end
 *	queue_dest_until(q, dom, now)	the end of dom's back-off, or 0
 *	queue_dest_ok(q, dom, now)	a delivery to dom went through
 *	queue_dest_timeout(q, now, ms)	ms, or less: when room comes back
 *	queue_dest_start(q) / queue_dest_free(q)
 *
 * Rate: the times at which the last `rate' messages were handed to an
 * agent, a ring per key; one more may go when fewer than `rate' were
 * handed within the last destination_rate_period.  This is a sliding
 * window, so no period of that length ever sees more than `rate'
 * messages handed out (a deferral counts: the attempt was made).  The
 * key is the domain, or with destination_rate_by = nexthop the host of
 * a transport map or relayhost route, or the best host of the MX answer
 * kept below (before there is one, the domain: the runner does not
 * resolve names); queue_agent.c's rate_key() chooses.
 *
 * Back-off: a destination that answers 421, or 4.7.x with words of
 * rate or load (queue_agent.c reads the agent's "throttle" line), is not
 * tried again before destination_backoff, doubled each time it asks
 * again in a row, up to destination_backoff_max; a delivery that goes
 * through ends the series.  Only that domain waits: its recipients are
 * deferred to the end of the back-off without counting an attempt, and
 * the messages parked behind them wait for it too (queue_share.c).  The
 * set of back-offs is written to spool/throttle (throttlefile.c) for
 * mailq and read again at start-up.
 *
 * MX cache: an agent that looked up a domain's MX records reports the
 * answer and its TTL ("mx" line, mx_to_text()); it is kept here, checked
 * with mx_from_text(), until the TTL ends (at most a day) and handed to
 * every later agent for the domain in its route, so a backlog for one
 * domain costs one MX lookup per TTL, not one per batch.  The runner
 * itself never asks DNS; what it keeps is text from its own agents, and
 * it runs as `user'.  Equal preferences keep the order of that answer.
 *
 *	queue_dest_mx_store(q, dom, text, now)	keep an agent's answer
 *	queue_dest_mx(q, dom, now)		the answer, or NULL
 *
 * Entries live in a hash table; a domain gets one when it has a rate,
 * has been backed off from, or has an MX answer kept, and loses it once
 * a minute when it has none of those left (dest_sweep()), so the table
 * holds the destinations of the last TTLs, not every one ever seen.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "mx.h"
#include "queue_priv.h"
#include "throttlefile.h"

#define DEST_HASH	4096

struct qdest {
	struct qdest *next;		/* hash chain */
	struct qdest *all;		/* every entry */
	char	 name[THROTTLE_NAME_MAX];
	struct qdest *via;		/* a domain's nexthop key, or NULL */
	int	 pinned;		/* some via points here: kept */
	long	 rate;			/* 0: none */
	long long *sent;		/* ring of hand-out times, ms */
	size_t	 nsent, head, cap;
	time_t	 until;			/* back-off end; 0 none */
	int	 level;
	char	 reason[THROTTLE_REASON_MAX];
	char	*mx;			/* an agent's MX answer (mx.h text) */
	time_t	 mx_until;		/* its TTL's end */
};

struct dest_table {
	struct qdest *bucket[DEST_HASH];
	struct qdest *all;
	time_t	 swept;			/* dest_sweep() */
};

/* dest_get - the entry of name; with create, a new one if none */
static struct qdest *
dest_get(struct queue *q, const char *name, int create)
{
	struct qdest *d;
	size_t	 h = queue_domain_hash(name) % DEST_HASH, i;

	if (q->dests == NULL) {
		if (!create || (q->dests = calloc(1, sizeof(*q->dests))) ==
		    NULL)
			return NULL;
	}
	for (d = q->dests->bucket[h]; d != NULL; d = d->next)
		if (strcasecmp(d->name, name) == 0)
			return d;
	if (!create || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	for (i = 0; name[i] != '\0' && i + 1 < sizeof(d->name); i++)
		d->name[i] = (char)tolower((unsigned char)name[i]);
	d->next = q->dests->bucket[h];
	q->dests->bucket[h] = d;
	d->all = q->dests->all;
	q->dests->all = d;
	return d;
}

/* dest_expire - drop hand-outs older than the period */
static void
dest_expire(const struct queue *q, struct qdest *d, long long now)
{
	long long period = q->cfg->destination_rate_period * 1000;

	while (d->nsent > 0 && d->sent[d->head] <= now - period) {
		d->head = (d->head + 1) % d->cap;
		d->nsent--;
	}
}

/* dest_set_rate - a ring for rate hand-outs (a new rate starts afresh) */
static int
dest_set_rate(struct qdest *d, long rate)
{
	if (rate == d->rate)
		return 0;
	free(d->sent);
	d->sent = NULL;
	d->nsent = d->head = d->cap = 0;
	d->rate = 0;
	if (rate > 0 && (d->sent = calloc((size_t)rate, sizeof(*d->sent))) ==
	    NULL)
		return -1;
	d->rate = rate;
	d->cap = (size_t)rate;
	return 0;
}

size_t
queue_dest_room(struct queue *q, const char *dom, const char *key, long rate)
{
	struct qdest *d, *dd;

	if (rate < 0)
		rate = (long)q->cfg->destination_rate;
	if (rate == 0) {
		if ((d = dest_get(q, key, 0)) != NULL)
			dest_set_rate(d, 0);
		if ((dd = dest_get(q, dom, 0)) != NULL)
			dd->via = NULL;
		return SIZE_MAX;
	}
	if ((d = dest_get(q, key, 1)) == NULL || dest_set_rate(d, rate) == -1)
		return 1;	/* no memory: slowly, but on */
	if (strcasecmp(dom, key) != 0 && (dd = dest_get(q, dom, 1)) != NULL) {
		dd->via = d;
		d->pinned = 1;
	}
	dest_expire(q, d, queue_now_ms());
	return d->cap - d->nsent;
}

void
queue_dest_sent(struct queue *q, const char *key, size_t n)
{
	struct qdest *d = dest_get(q, key, 0);
	long long now = queue_now_ms();

	if (d == NULL || d->rate == 0)
		return;
	while (n-- > 0 && d->nsent < d->cap) {
		d->sent[(d->head + d->nsent) % d->cap] = now;
		d->nsent++;
	}
}

int
queue_dest_blocked(struct queue *q, const char *dom)
{
	struct qdest *d = dest_get(q, dom, 0);

	if (d != NULL && d->via != NULL)
		d = d->via;
	if (d == NULL || d->rate == 0)
		return 0;
	dest_expire(q, d, queue_now_ms());
	return d->nsent >= d->cap;
}

/* dest_save - spool/throttle: every back-off that has not ended */
static void
dest_save(struct queue *q, time_t now)
{
	struct throttle_entry *v = NULL, *nv;
	struct qdest *d;
	size_t	 n = 0, cap = 0;

	for (d = q->dests ? q->dests->all : NULL; d != NULL; d = d->all) {
		if (d->until <= now)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].dest, sizeof(v[n].dest), "%s", d->name);
		v[n].until = d->until;
		v[n].level = d->level;
		snprintf(v[n].reason, sizeof(v[n].reason), "%s", d->reason);
		n++;
	}
	if (throttlefile_write(q->cfg->spool_dir, v, n) == -1)
		log_warn("queue: write %s/throttle", q->cfg->spool_dir);
	free(v);
}

time_t
queue_dest_throttle(struct queue *q, const char *dom, const char *why,
    time_t now)
{
	struct qdest *d;
	long long wait = q->cfg->destination_backoff;
	int	 i;

	if ((d = dest_get(q, dom, 1)) == NULL)
		return now + (time_t)wait;
	if (d->until > now)	/* another agent's news of the same one */
		return d->until;
	for (i = 0; i < d->level && wait < q->cfg->destination_backoff_max;
	    i++)
		wait *= 2;
	if (wait > q->cfg->destination_backoff_max)
		wait = q->cfg->destination_backoff_max;
	d->level++;
	d->until = now + (time_t)wait;
	snprintf(d->reason, sizeof(d->reason), "%s", why);
	log_info("queue: %s asked to slow down: backing off for %llds, "
	    "until %lld (%s)", d->name, wait, (long long)d->until, why);
	dest_save(q, now);
	return d->until;
}

time_t
queue_dest_until(struct queue *q, const char *dom, time_t now)
{
	struct qdest *d = dest_get(q, dom, 0);

	return d != NULL && d->until > now ? d->until : 0;
}

void
queue_dest_ok(struct queue *q, const char *dom, time_t now)
{
	struct qdest *d = dest_get(q, dom, 0);

	if (d == NULL || d->level == 0 || d->until > now)
		return;
	d->level = 0;
	d->until = 0;
	d->reason[0] = '\0';
	dest_save(q, now);
}

/* dest_idle - nothing of d is left to remember */
static int
dest_idle(const struct qdest *d, time_t now)
{
	return d->rate == 0 && d->via == NULL && !d->pinned &&
	    d->until <= now &&
	    d->level == 0 && (d->mx == NULL || d->mx_until <= now);
}

/* dest_sweep - once a minute, free the entries with nothing left */
static void
dest_sweep(struct queue *q, time_t now)
{
	struct qdest **pp, *d, **bp;

	if (q->dests == NULL || now - q->dests->swept < 60)
		return;
	q->dests->swept = now;
	pp = &q->dests->all;
	while ((d = *pp) != NULL) {
		if (!dest_idle(d, now)) {
			pp = &d->all;
			continue;
		}
		*pp = d->all;
		for (bp = &q->dests->bucket[queue_domain_hash(d->name) %
		    DEST_HASH]; *bp != d; bp = &(*bp)->next)
			;
		*bp = d->next;
		free(d->mx);
		free(d->sent);
		free(d);
	}
}

int
queue_dest_timeout(struct queue *q, time_t now, int ms)
{
	struct qdest *d;
	long long t, nowms = queue_now_ms();
	long long period = q->cfg->destination_rate_period * 1000;

	dest_sweep(q, now);
	for (d = q->dests ? q->dests->all : NULL; d != NULL; d = d->all) {
		if (d->until > now)
			t = (long long)(d->until - now) * 1000;
		else if (d->rate > 0 && d->nsent >= d->cap)
			t = d->sent[d->head] + period - nowms;
		else
			continue;
		if (t < ms)
			ms = t < 0 ? 0 : (int)t;
	}
	return ms;
}

void
queue_dest_start(struct queue *q)
{
	struct throttle_entry *v;
	struct qdest *d;
	time_t	 now = time(NULL);
	size_t	 n, i;

	if (throttlefile_read(q->cfg->spool_dir, &v, &n) == -1) {
		log_warn("queue: read %s/throttle", q->cfg->spool_dir);
		return;
	}
	for (i = 0; i < n; i++) {
		if (v[i].until <= now || (d = dest_get(q, v[i].dest, 1)) ==
		    NULL)
			continue;
		d->until = v[i].until;
		d->level = v[i].level;
		snprintf(d->reason, sizeof(d->reason), "%s", v[i].reason);
	}
	free(v);
}

void
queue_dest_free(struct queue *q)
{
	struct qdest *d, *next;

	if (q->dests == NULL)
		return;
	for (d = q->dests->all; d != NULL; d = next) {
		next = d->all;
		free(d->mx);
		free(d->sent);
		free(d);
	}
	free(q->dests);
	q->dests = NULL;
}

/* queue_dest_rate - dom's rate as last routed, else destination_rate */
long
queue_dest_rate(struct queue *q, const char *dom)
{
	struct qdest *d = dest_get(q, dom, 0);

	if (d != NULL && d->via != NULL)
		d = d->via;
	return d != NULL && d->rate > 0 ? d->rate :
	    (long)q->cfg->destination_rate;
}

void
queue_dest_mx_store(struct queue *q, const char *dom, const char *text,
    time_t now)
{
	struct mx_host hosts[MX_HOSTS_MAX];
	struct qdest *d;
	unsigned long ttl;
	size_t	 n;
	int	 secure;
	char	*copy;

	if (mx_from_text(text, hosts, MX_HOSTS_MAX, &n, &secure, &ttl) == -1) {
		log_warnx("agent for %s: bad MX line", dom);
		return;
	}
	if (ttl == 0 || (d = dest_get(q, dom, 1)) == NULL ||
	    (copy = strdup(text)) == NULL)
		return;
	free(d->mx);
	d->mx = copy;
	d->mx_until = now + (time_t)(ttl < 86400 ? ttl : 86400);
}

const char *
queue_dest_mx(struct queue *q, const char *dom, time_t now)
{
	struct qdest *d = dest_get(q, dom, 0);

	if (d == NULL || d->mx == NULL)
		return NULL;
	if (d->mx_until <= now) {
		free(d->mx);
		d->mx = NULL;
		return NULL;
	}
	return d->mx;
}
