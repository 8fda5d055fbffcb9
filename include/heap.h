/* SPDX-License-Identifier: ISC */
/*
 * heap.h - a binary min-heap of items keyed by time: the queue runner's
 * schedule, one item per message, keyed by its next attempt.
 *
 * An item is embedded in its owner (struct heap_item inside the queue
 * runner's per-message struct) and remembers its own heap slot, so that
 * update and remove are O(log n) without a search.  The heap never owns
 * or frees items.  HEAP_NEVER keys an item that must not come due (held,
 * or busy being delivered).  retry.h says when the next
 * attempt is.
 */
#ifndef TERN_HEAP_H
#define TERN_HEAP_H

#include <stddef.h>
#include <time.h>

#define HEAP_NEVER	((time_t)0x7fffffffffffffffLL)
#define HEAP_NOSLOT	((size_t)-1)

struct heap_item {
	time_t	 when;			/* key: next attempt */
	size_t	 slot;			/* index in the heap, HEAP_NOSLOT */
	void	*data;			/* the owner, for the caller */
};

struct heap {
	struct heap_item **v;
	size_t	 n;
	size_t	 cap;
};

void	heap_init(struct heap *);
void	heap_free(struct heap *);	/* the array, not the items */
void	heap_item_init(struct heap_item *, void *data);
/* Insert, or move if already present; -1 on ENOMEM. */
int	heap_set(struct heap *, struct heap_item *, time_t when);
void	heap_remove(struct heap *, struct heap_item *);
struct heap_item *heap_peek(const struct heap *);	/* or NULL */
struct heap_item *heap_pop(struct heap *);		/* or NULL */
int	heap_is_queued(const struct heap_item *);

#endif
