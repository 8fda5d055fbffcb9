/* SPDX-License-Identifier: ISC */
/*
 * sched.c - binary min-heap by next-attempt time, and the one retry rule.
 *
 * Heap invariant: v[i]->when >= v[(i - 1) / 2]->when, and v[i]->slot == i
 * for every item in the heap; items outside it have slot SCHED_NOSLOT.
 * Every operation is O(log n); nothing here allocates per item.
 */
#include <stdlib.h>

#include "sched.h"

void
sched_init(struct sched_heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
sched_free(struct sched_heap *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		h->v[i]->slot = SCHED_NOSLOT;
	free(h->v);
	sched_init(h);
}

void
sched_item_init(struct sched_item *it, void *data)
{
	it->when = SCHED_NEVER;
	it->slot = SCHED_NOSLOT;
	it->data = data;
}

int
sched_is_queued(const struct sched_item *it)
{
	return it->slot != SCHED_NOSLOT;
}

static void
sched_place(struct sched_heap *h, size_t i, struct sched_item *it)
{
	h->v[i] = it;
	it->slot = i;
}

static void
sched_up(struct sched_heap *h, size_t i)
{
	struct sched_item *it = h->v[i];
	size_t	 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (h->v[parent]->when <= it->when)
			break;
		sched_place(h, i, h->v[parent]);
		i = parent;
	}
	sched_place(h, i, it);
}

static void
sched_down(struct sched_heap *h, size_t i)
{
	struct sched_item *it = h->v[i];
	size_t	 child;

	while ((child = 2 * i + 1) < h->n) {
		if (child + 1 < h->n &&
		    h->v[child + 1]->when < h->v[child]->when)
			child++;
		if (it->when <= h->v[child]->when)
			break;
		sched_place(h, i, h->v[child]);
		i = child;
	}
	sched_place(h, i, it);
}

static int
sched_grow(struct sched_heap *h)
{
	struct sched_item **v;
	size_t	 cap;

	if (h->n < h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	if ((v = reallocarray(h->v, cap, sizeof(*v))) == NULL)
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

int
sched_set(struct sched_heap *h, struct sched_item *it, time_t when)
{
	time_t	 old = it->when;

	if (!sched_is_queued(it)) {
		if (sched_grow(h) == -1)
			return -1;
		it->when = when;
		sched_place(h, h->n++, it);
		sched_up(h, it->slot);
		return 0;
	}
	it->when = when;
	if (when < old)
		sched_up(h, it->slot);
	else
		sched_down(h, it->slot);
	return 0;
}

void
sched_remove(struct sched_heap *h, struct sched_item *it)
{
	size_t	 i = it->slot;
	struct sched_item *last;

	if (i == SCHED_NOSLOT || i >= h->n || h->v[i] != it)
		return;
	it->slot = SCHED_NOSLOT;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	sched_place(h, i, last);
	sched_up(h, i);
	sched_down(h, last->slot);
}

struct sched_item *
sched_peek(const struct sched_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

struct sched_item *
sched_pop(struct sched_heap *h)
{
	struct sched_item *top = sched_peek(h);

	if (top != NULL)
		sched_remove(h, top);
	return top;
}

time_t
sched_expiry(const struct config *cfg, time_t arrival, int is_bounce)
{
	return arrival + (time_t)(is_bounce ? cfg->bounce_queue_lifetime :
	    cfg->max_queue_lifetime);
}

time_t
sched_next_attempt(const struct config *cfg, time_t arrival, time_t now,
    int is_bounce)
{
	time_t	 next = now + (time_t)cfg->retry_interval;
	time_t	 expiry = sched_expiry(cfg, arrival, is_bounce);

	if (expiry < next)
		next = expiry > now ? expiry : now;
	return next;
}

int
sched_is_expired(const struct config *cfg, time_t arrival, time_t now,
    int is_bounce)
{
	return now >= sched_expiry(cfg, arrival, is_bounce);
}

int
sched_warn_is_due(const struct config *cfg, time_t arrival, time_t now)
{
	return cfg->delay_warning > 0 &&
	    now - arrival >= (time_t)cfg->delay_warning;
}
