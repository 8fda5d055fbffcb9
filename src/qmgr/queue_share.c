/* SPDX-License-Identifier: ISC */
/*
 * queue_share.c - one destination holds at most a bounded share of the
 * active messages (max_active_per_destination).
 *
 *	queue_share_admit(q, m)		0: m may be active; -1: m is parked
 *	queue_share_release(q, m, now)	m leaves the active set
 *	queue_share_forget(q, m)	m leaves the queue
 *
 * A message counts against the domain of its first waiting recipient
 * when every waiting recipient is remote; one with a local recipient is
 * always admitted, so local mail never waits behind a slow destination.
 * A parked message has no envelope loaded and is keyed HEAP_NEVER; it
 * is made due again when an active message of its domain leaves, so the
 * hostile domain's backlog waits in the spool, not in the active set.
 * A domain with a rate (queue_dest.c) holds no more active messages
 * than its rate lets go in one period, and the message parked behind a
 * domain backed off from is made due at the end of the back-off, not
 * at once: the backlog does not churn through the active set to be
 * deferred one message at a time.
 *
 * Cost: admitting counts the active set (at most QUEUE_ACTIVE_MAX);
 * parking is O(1) at the tail; a release takes the oldest parked
 * message of the domain, found from the head, which is O(1) when one
 * domain has the backlog (a flush after an outage) and the domains
 * parked ahead of it otherwise.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"

/* share_key - the domain m counts against, or NULL; caller frees */
static char *
share_key(const struct queue *q, const struct qmsg *m)
{
	const char *at, *first = NULL;
	char	*key, *p;
	size_t	 i;

	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queue_rcpt_waits(m, i))
			continue;
		at = strrchr(m->env.rcpt[i].addr, '@');
		if (at == NULL || config_is_local_domain(q->cfg, at + 1) ||
		    config_is_virtual_domain(q->cfg, at + 1))
			return NULL;
		if (first == NULL)
			first = at + 1;
	}
	if (first == NULL || (key = strdup(first)) == NULL)
		return NULL;
	for (p = key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return key;
}

int
queue_share_admit(struct queue *q, struct qmsg *m)
{
	size_t	 i, n = 0, max = (size_t)q->cfg->max_active_per_destination;
	long	 rate;

	free(m->share);
	if ((m->share = share_key(q, m)) == NULL)
		return 0;
	if ((rate = queue_dest_rate(q, m->share)) > 0 && (size_t)rate < max)
		max = (size_t)rate;
	for (i = 0; i < q->nactive; i++)
		n += q->active[i]->share != NULL &&
		    strcmp(q->active[i]->share, m->share) == 0;
	if (n < max)
		return 0;
	/* at the tail, in O(1): a backlog of 100,000 parks each in turn */
	if (q->parked_tail == NULL)
		q->parked_tail = &q->parked;
	*q->parked_tail = m;
	m->next_parked = NULL;
	q->parked_tail = &m->next_parked;
	m->parked = 1;
	log_info("%s: parked: %zu active messages for %s already", m->id, n,
	    m->share);
	return -1;
}

/* unpark - take m off the parked list */
static void
unpark(struct queue *q, struct qmsg *m)
{
	struct qmsg **pp;

	for (pp = &q->parked; *pp != NULL; pp = &(*pp)->next_parked)
		if (*pp == m) {
			*pp = m->next_parked;
			if (q->parked_tail == &m->next_parked)
				q->parked_tail = pp;
			break;
		}
	m->next_parked = NULL;
	m->parked = 0;
}

void
queue_share_release(struct queue *q, struct qmsg *m, time_t now)
{
	struct qmsg *p;
	time_t	 until;

	if (m->share == NULL)
		return;
	until = queue_dest_until(q, m->share, now);
	for (p = q->parked; p != NULL; p = p->next_parked)
		if (strcmp(p->share, m->share) == 0)
			break;
	free(m->share);
	m->share = NULL;
	if (p == NULL)
		return;
	unpark(q, p);
	if (!p->held)
		heap_set(&q->heap, &p->item, until > now ? until : now);
}

void
queue_share_forget(struct queue *q, struct qmsg *m)
{
	if (m->parked)
		unpark(q, m);
	free(m->share);
	m->share = NULL;
}
