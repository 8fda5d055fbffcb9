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
 * Each domain is one struct share, interned in a hash table: its count
 * of active messages and its parked ones, oldest first.  A message
 * keeps a reference to the share it last counted against (m->share)
 * after its round, so when it is next due and that share is full, it
 * is parked from its compact entry, without its queue file being parsed
 * (queue_share_full(), queue_share_park()); only a message never
 * parsed since start-up is parsed to learn its domain.  A share goes
 * when no message refers to it.  Admitting, parking (at the tail) and a
 * release (the head of its domain's list) are O(1) however many
 * messages of however many domains are active or parked: a flush of
 * 100,000 messages for one destination costs the same per message as
 * fresh mail.  Taking out one parked message that is not the oldest
 * (ternq hold, release, delete of it) walks its own domain's list; a
 * flush leaves parked messages parked.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"

#define SHARE_HASH	4096

/* one destination domain: its active count and parked messages */
struct share {
	struct share *next;		/* hash chain */
	size_t	 refs;			/* messages with m->share == this */
	size_t	 active;		/* active messages counted here */
	struct qmsg *head, **tail;	/* parked, oldest first */
	char	 name[];		/* lower case */
};

struct share_table {
	struct share *bucket[SHARE_HASH];
};

/* share_key - the domain m counts against, or NULL (it counts against
 * none): the first undelivered recipient's, when every undelivered one
 * is remote (at the start of a round: the waiting ones) */
static const char *
share_key(const struct queue *q, const struct qmsg *m)
{
	const char *at, *first = NULL;
	size_t	 i;

	for (i = 0; i < m->act->env.nrcpt; i++) {
		if (!state_rcpt_is_undelivered(&m->act->st.rcpt[i]))
			continue;
		at = strrchr(m->act->env.rcpt[i].addr, '@');
		if (at == NULL || config_is_local_domain(q->cfg, at + 1) ||
		    config_is_virtual_domain(q->cfg, at + 1))
			return NULL;
		if (first == NULL)
			first = at + 1;
	}
	return first;
}

static struct share **
share_slot(struct share_table *t, const char *name)
{
	struct share **pp;

	for (pp = &t->bucket[queue_domain_hash(name) % SHARE_HASH];
	    *pp != NULL; pp = &(*pp)->next)
		if (strcasecmp((*pp)->name, name) == 0)
			break;
	return pp;
}

/* share_get - the share of name, made if new, with one more reference */
static struct share *
share_get(struct queue *q, const char *name)
{
	struct share **pp, *s;
	size_t	 i, len = strlen(name) + 1;

	if (q->shares == NULL && (q->shares = calloc(1,
	    sizeof(*q->shares))) == NULL)
		return NULL;
	if ((s = *(pp = share_slot(q->shares, name))) == NULL) {
		if ((s = calloc(1, sizeof(*s) + len)) == NULL)
			return NULL;
		for (i = 0; i < len; i++)
			s->name[i] = (char)tolower((unsigned char)name[i]);
		s->tail = &s->head;
		*pp = s;
	}
	s->refs++;
	return s;
}

/* share_put - m no longer refers to its share; it goes with the last */
static void
share_put(struct queue *q, struct qmsg *m)
{
	struct share **pp, *s = m->share;

	m->share = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	pp = share_slot(q->shares, s->name);
	if (*pp == s)
		*pp = s->next;
	free(s);
}

/* share_max - the active messages one domain may hold: the share, or
 * less when its rate lets fewer go in one period (queue_dest.c) */
static size_t
share_max(struct queue *q, const struct share *s)
{
	size_t	 max = (size_t)q->cfg->max_active_per_destination;
	long	 rate = queue_dest_rate(q, s->name);

	return rate > 0 && (size_t)rate < max ? (size_t)rate : max;
}

/* park - m waits at the tail of its share's list, keyed HEAP_NEVER */
static void
park(struct queue *q, struct qmsg *m)
{
	struct share *s = m->share;

	*s->tail = m;
	m->next_parked = NULL;
	s->tail = &m->next_parked;
	m->parked = 1;
	heap_set(&q->heap, &m->item, HEAP_NEVER);
}

/* queue_share_full - is m's share (as last known) full?  Then it can be
 * parked without its queue file read */
int
queue_share_full(struct queue *q, const struct qmsg *m)
{
	return m->share != NULL && m->share->active >= share_max(q, m->share);
}

/* queue_share_park - m is due and its known share is full: park it */
void
queue_share_park(struct queue *q, struct qmsg *m)
{
	park(q, m);
	log_info("%s: parked: %zu active messages for %s already", m->id,
	    m->share->active, m->share->name);
}

/* queue_share_hint - m's share from its loaded envelope and state: for
 * its admission, and kept for when it is next due */
void
queue_share_hint(struct queue *q, struct qmsg *m)
{
	const char *key = share_key(q, m);

	if (key == NULL || (m->share != NULL &&
	    strcasecmp(m->share->name, key) != 0))
		share_put(q, m);
	if (key != NULL && m->share == NULL)
		m->share = share_get(q, key);	/* NULL: no memory, none */
}

int
queue_share_admit(struct queue *q, struct qmsg *m)
{
	struct share *s;

	queue_share_hint(q, m);
	if ((s = m->share) == NULL)
		return 0;
	if (s->active < share_max(q, s)) {
		s->active++;
		m->counted = 1;
		return 0;
	}
	queue_share_park(q, m);
	return -1;
}

/* unpark - take m off its share's list */
static void
unpark(struct qmsg *m)
{
	struct share *s = m->share;
	struct qmsg **mp;

	m->parked = 0;
	if (s == NULL)
		return;
	for (mp = &s->head; *mp != NULL && *mp != m; mp = &(*mp)->next_parked)
		;
	if (*mp == m) {
		*mp = m->next_parked;
		if (s->tail == &m->next_parked)
			s->tail = mp;
	}
	m->next_parked = NULL;
}

/*
 * queue_share_release - m leaves the active set: the oldest message
 * parked behind its domain is due, at once or, when the domain is
 * backed off from, at the end of the back-off (queue_dest.c).  m keeps
 * its reference, for when it is next due.
 */
void
queue_share_release(struct queue *q, struct qmsg *m, time_t now)
{
	struct share *s = m->share;
	struct qmsg *next;
	time_t	 until;

	if (s == NULL || !m->counted)
		return;
	m->counted = 0;
	s->active--;
	if ((next = s->head) == NULL)
		return;
	until = queue_dest_until(q, s->name, now);
	unpark(next);		/* never held: queue_do_hold() unparks */
	heap_set(&q->heap, &next->item, until > now ? until : now);
}

/* queue_share_unpark - a parked m is flushed, held or released: it
 * leaves the list, and keeps its reference */
void
queue_share_unpark(struct queue *q, struct qmsg *m)
{
	(void)q;
	if (m->parked)
		unpark(m);
}

/* queue_share_forget - m leaves the queue */
void
queue_share_forget(struct queue *q, struct qmsg *m)
{
	if (m->parked)
		unpark(m);
	if (m->counted && m->share != NULL)
		m->share->active--;
	m->counted = 0;
	share_put(q, m);
}

/* queue_share_free - at shutdown: the table (the messages are freed
 * with the queue, and their shares here) */
void
queue_share_free(struct queue *q)
{
	struct share *s, *next;
	size_t	 i;

	if (q->shares == NULL)
		return;
	for (i = 0; i < SHARE_HASH; i++)
		for (s = q->shares->bucket[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
	free(q->shares);
	q->shares = NULL;
}
