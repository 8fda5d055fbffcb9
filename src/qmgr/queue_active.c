/* SPDX-License-Identifier: ISC */
/*
 * queue_active.c - the active set of the queue runner: a due message is
 * activated (its envelope parsed, once for the round and every agent of
 * it, its state loaded, its round started, within QUEUE_ACTIVE_MAX and
 * its destination's share), and deactivated when its round is over (it
 * leaves the set and its share; queue_round.c then persists it and
 * calls queue_unload()).
 *
 * A message that cannot be loaded for lack of memory is tried again
 * after retry_interval; one whose queue file is gone or corrupt is
 * forgotten (queue_open() moved a corrupt one aside).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"

/* queue_activate_later - m could not be activated (no memory): retry */
static void
queue_activate_later(struct queue *q, struct qmsg *m, time_t now)
{
	log_warn("%s: cannot activate", m->id);
	queue_unload(m);
	heap_set(&q->heap, &m->item, now + q->cfg->retry_interval);
}

/* queue_start_round - m's envelope and state are loaded: start its round */
static void
queue_start_round(struct queue *q, struct qmsg *m, time_t now)
{
	m->act->round = calloc(m->act->env.nrcpt, sizeof(*m->act->round));
	if (m->act->round == NULL) {
		queue_activate_later(q, m, now);
		return;
	}
	queue_rcpt_start(m);
	queue_share_unpark(q, m);	/* if flushed or released */
	if (queue_share_admit(q, m) == -1) {
		queue_unload(m);
		return;
	}
	m->active = 1;
	q->active[q->nactive++] = m;
	heap_set(&q->heap, &m->item, HEAP_NEVER);
	log_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)", m->id,
	    m->act->env.sender, (long long)m->act->file.size,
	    m->act->env.nrcpt);
}

/* queue_activate - load a due message and start its round */
static void
queue_activate(struct queue *q, struct qmsg *m, time_t now)
{
	struct qactive *act;
	FILE	*fp;

	if ((act = m->act = calloc(1, sizeof(*act))) == NULL) {
		queue_activate_later(q, m, now);
		return;
	}
	if ((fp = queue_open(q, m->id, &act->env, &act->file)) == NULL) {
		queue_forget(q, m);
		return;
	}
	fclose(fp);
	act->arrival = act->env.arrival;
	act->is_bounce = act->env.sender[0] == '\0';
	if (queue_read_state(q, &act->env, &act->st) == -1) {
		queue_activate_later(q, m, now);
		return;
	}
	queue_start_round(q, m, now);
}

/*
 * queue_arrive - a message was announced ("new ID").  When it is the
 * next one due and there is room, its round starts with the envelope
 * and state just read, so that a new message is parsed once; otherwise
 * it waits in the schedule like any other.
 */
void
queue_arrive(struct queue *q, const char *id, time_t now)
{
	struct qmsg *m;

	if (queue_find(q, id) != NULL ||
	    (m = queue_load(q, id, now, 1)) == NULL)
		return;
	if (q->nactive < QUEUE_ACTIVE_MAX &&
	    heap_peek(&q->heap) == &m->item && m->item.when <= now)
		queue_start_round(q, m, now);
	else
		queue_unload(m);
}

/*
 * queue_activate_due - activate due messages while there is room, for
 * at most ACTIVATE_BUDGET_MS per turn of the loop, so that a backlog
 * due at once (start-up, a flush) does not keep the loop from reading
 * results and starting agents.  A due message whose domain's share, as
 * last read, is full is parked from its compact entry, unread.
 */
#define ACTIVATE_BUDGET_MS	50

void
queue_activate_due(struct queue *q, time_t now)
{
	struct heap_item *it;
	struct qmsg *m;
	long long start = queue_now_ms();
	unsigned n = 0;

	while (q->nactive < QUEUE_ACTIVE_MAX &&
	    (it = heap_peek(&q->heap)) != NULL && it->when <= now) {
		m = it->data;
		if (queue_share_full(q, m))
			queue_share_park(q, m);
		else
			queue_activate(q, m, now);
		if (++n % 64 == 0 && queue_now_ms() - start >= ACTIVATE_BUDGET_MS)
			break;
	}
}

/* queue_deactivate - m's round is over: it leaves the active set */
void
queue_deactivate(struct queue *q, struct qmsg *m)
{
	size_t	 i;

	for (i = 0; i < q->nactive && q->active[i] != m; i++)
		;
	if (i < q->nactive)
		q->active[i] = q->active[--q->nactive];
	m->active = 0;
	queue_share_release(q, m, time(NULL));
}
