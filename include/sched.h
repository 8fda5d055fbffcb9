/* SPDX-License-Identifier: ISC */
/*
 * sched.h - the queue runner's schedule: a binary min-heap of items keyed
 * by next-attempt time, and the retry, warning and expiry arithmetic.
 *
 * An item is embedded in its owner (struct sched_item inside the queue
 * runner's per-message struct) and remembers its own heap slot, so that
 * update and remove are O(log n) without a search.  The heap never owns
 * or frees items.  SCHED_NEVER keys an item that must not come due (held,
 * or busy being delivered).
 *
 * Retry rule, in one sentence: the next attempt is retry_interval after
 * this one, but never later than the moment the message expires
 * (arrival + max_queue_lifetime, or + bounce_queue_lifetime for a
 * notice from the null sender), so that the last attempt and the bounce
 * happen on time.  At or past that moment it is expired.
 */
#ifndef TERN_SCHED_H
#define TERN_SCHED_H

#include <stddef.h>
#include <time.h>

#include "config.h"

#define SCHED_NEVER	((time_t)0x7fffffffffffffffLL)
#define SCHED_NOSLOT	((size_t)-1)

struct sched_item {
	time_t	 when;			/* key: next attempt */
	size_t	 slot;			/* index in the heap, SCHED_NOSLOT */
	void	*data;			/* the owner, for the caller */
};

struct sched_heap {
	struct sched_item **v;
	size_t	 n;
	size_t	 cap;
};

void	sched_init(struct sched_heap *);
void	sched_free(struct sched_heap *);	/* the array, not the items */
void	sched_item_init(struct sched_item *, void *data);
/* Insert, or move if already present; -1 on ENOMEM. */
int	sched_set(struct sched_heap *, struct sched_item *, time_t when);
void	sched_remove(struct sched_heap *, struct sched_item *);
struct sched_item *sched_peek(const struct sched_heap *);	/* or NULL */
struct sched_item *sched_pop(struct sched_heap *);		/* or NULL */
int	sched_is_queued(const struct sched_item *);

/* The moment a message from arrival expires. */
time_t	sched_expiry(const struct config *, time_t arrival, int is_bounce);
/* When to try again after an attempt at now: see the rule above. */
time_t	sched_next_attempt(const struct config *, time_t arrival, time_t now,
	    int is_bounce);
int	sched_is_expired(const struct config *, time_t arrival, time_t now,
	    int is_bounce);
/* Is a delay notice due now (delay_warning reached, 0 = never)? */
int	sched_warn_is_due(const struct config *, time_t arrival, time_t now);

#endif
