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
 * Cost: admitting counts the active set (at most QUEUE_ACTIVE_MAX); the
 * parked messages are kept in one list per domain, oldest first, in a
 * hash table, so parking (at the tail) and a release (the head of its
 * domain's list) are O(1) however many messages of however many
 * domains are parked: a flush of 100,000 messages for one destination
 * costs the same per message as fresh mail.  Taking out one parked
 * message that is not the oldest (ternq hold, release, delete of it)
 * walks its own domain's list; a flush leaves parked messages parked.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"

#define PARK_HASH	1024

/* the parked messages of one domain, oldest first */
struct park {
	struct park *next;		/* hash chain */
	struct qmsg *head, **tail;
	char	 name[];		/* the domain, m->share */
};

struct park_table {
	struct park *bucket[PARK_HASH];
};

/* share_key - the domain m counts against, or NULL; caller frees */
static char *
share_key(const struct queue *q, const struct qmsg *m)
{
	const char *at, *first = NULL;
	char	*key, *p;
	size_t	 i;

	for (i = 0; i < m->act->env.nrcpt; i++) {
		if (!queue_rcpt_waits(m, i))
			continue;
		at = strrchr(m->act->env.rcpt[i].addr, '@');
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

static struct park **
park_slot(struct park_table *t, const char *name)
{
	struct park **pp;
	size_t	 h = 5381;
	const char *s;

	for (s = name; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	for (pp = &t->bucket[h % PARK_HASH]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	return pp;
}

/* park - m waits at the tail of its domain's list; -1: no memory */
static int
park(struct queue *q, struct qmsg *m)
{
	struct park **pp, *p;
	size_t	 len = strlen(m->share) + 1;

	if (q->parks == NULL && (q->parks = calloc(1, sizeof(*q->parks))) ==
	    NULL)
		return -1;
	if ((p = *(pp = park_slot(q->parks, m->share))) == NULL) {
		if ((p = calloc(1, sizeof(*p) + len)) == NULL)
			return -1;
		memcpy(p->name, m->share, len);
		p->tail = &p->head;
		*pp = p;
	}
	*p->tail = m;
	m->next_parked = NULL;
	p->tail = &m->next_parked;
	m->parked = 1;
	return 0;
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
	if (n < max || park(q, m) == -1)
		return 0;
	log_info("%s: parked: %zu active messages for %s already", m->id, n,
	    m->share);
	return -1;
}

/* unpark - take m off its domain's list; the list goes when empty */
static void
unpark(struct queue *q, struct qmsg *m)
{
	struct park **pp, *p;
	struct qmsg **mp;

	m->parked = 0;
	if (q->parks == NULL || (p = *(pp = park_slot(q->parks, m->share))) ==
	    NULL)
		return;
	for (mp = &p->head; *mp != NULL && *mp != m; mp = &(*mp)->next_parked)
		;
	if (*mp == m) {
		*mp = m->next_parked;
		if (p->tail == &m->next_parked)
			p->tail = mp;
	}
	m->next_parked = NULL;
	if (p->head == NULL) {
		*pp = p->next;
		free(p);
	}
}

/*
 * queue_share_release - m leaves the active set: the oldest message
 * parked behind its domain is due, at once or, when the domain is
 * backed off from, at the end of the back-off (queue_dest.c).
 */
void
queue_share_release(struct queue *q, struct qmsg *m, time_t now)
{
	struct park *p;
	struct qmsg *next;
	time_t	 until;

	if (m->share == NULL)
		return;
	p = q->parks != NULL ? *park_slot(q->parks, m->share) : NULL;
	until = p != NULL ? queue_dest_until(q, m->share, now) : 0;
	free(m->share);
	m->share = NULL;
	if (p == NULL)
		return;
	next = p->head;
	unpark(q, next);
	if (!next->held)
		heap_set(&q->heap, &next->item, until > now ? until : now);
}

void
queue_share_forget(struct queue *q, struct qmsg *m)
{
	if (m->parked)
		unpark(q, m);
	free(m->share);
	m->share = NULL;
}

/* queue_share_free - at shutdown: the lists (the messages are freed
 * with the queue) */
void
queue_share_free(struct queue *q)
{
	struct park *p, *next;
	size_t	 i;

	if (q->parks == NULL)
		return;
	for (i = 0; i < PARK_HASH; i++)
		for (p = q->parks->bucket[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	free(q->parks);
	q->parks = NULL;
}
