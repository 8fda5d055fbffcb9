/* SPDX-License-Identifier: ISC */
/*
 * heap.c - binary min-heap of items keyed by time; see heap.h.
 *
 * Heap invariant: v[i]->when >= v[(i - 1) / 2]->when, and v[i]->slot == i
 * for every item in the heap; items outside it have slot HEAP_NOSLOT.
 * Every operation is O(log n); nothing here allocates per item.  The
 * array is the schedule's memory (queue_mem.c), which no agent inherits.
 */
#include <stdlib.h>

#include "heap.h"
#include "queue_mem.h"

void
heap_init(struct heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
heap_free(struct heap *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		h->v[i]->slot = HEAP_NOSLOT;
	qmem_free(h->v, h->cap * sizeof(*h->v));
	heap_init(h);
}

void
heap_item_init(struct heap_item *it, void *data)
{
	it->when = HEAP_NEVER;
	it->slot = HEAP_NOSLOT;
	it->data = data;
}

int
heap_is_queued(const struct heap_item *it)
{
	return it->slot != HEAP_NOSLOT;
}

static void
heap_place(struct heap *h, size_t i, struct heap_item *it)
{
	h->v[i] = it;
	it->slot = i;
}

static void
heap_up(struct heap *h, size_t i)
{
	struct heap_item *it = h->v[i];
	size_t	 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (h->v[parent]->when <= it->when)
			break;
		heap_place(h, i, h->v[parent]);
		i = parent;
	}
	heap_place(h, i, it);
}

static void
heap_down(struct heap *h, size_t i)
{
	struct heap_item *it = h->v[i];
	size_t	 child;

	while ((child = 2 * i + 1) < h->n) {
		if (child + 1 < h->n &&
		    h->v[child + 1]->when < h->v[child]->when)
			child++;
		if (it->when <= h->v[child]->when)
			break;
		heap_place(h, i, h->v[child]);
		i = child;
	}
	heap_place(h, i, it);
}

static int
heap_grow(struct heap *h)
{
	struct heap_item **v;
	size_t	 cap;

	if (h->n < h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	if ((v = qmem_grow(h->v, h->cap * sizeof(*v), cap * sizeof(*v))) ==
	    NULL)
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

int
heap_set(struct heap *h, struct heap_item *it, time_t when)
{
	time_t	 old = it->when;

	if (!heap_is_queued(it)) {
		if (heap_grow(h) == -1)
			return -1;
		it->when = when;
		heap_place(h, h->n++, it);
		heap_up(h, it->slot);
		return 0;
	}
	it->when = when;
	if (when < old)
		heap_up(h, it->slot);
	else
		heap_down(h, it->slot);
	return 0;
}

void
heap_remove(struct heap *h, struct heap_item *it)
{
	size_t	 i = it->slot;
	struct heap_item *last;

	if (i == HEAP_NOSLOT || i >= h->n || h->v[i] != it)
		return;
	it->slot = HEAP_NOSLOT;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_place(h, i, last);
	heap_up(h, i);
	heap_down(h, last->slot);
}

struct heap_item *
heap_peek(const struct heap *h)
{
	return h->n ? h->v[0] : NULL;
}

struct heap_item *
heap_pop(struct heap *h)
{
	struct heap_item *top = heap_peek(h);

	if (top != NULL)
		heap_remove(h, top);
	return top;
}
