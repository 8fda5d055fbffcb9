/* SPDX-License-Identifier: ISC */
/*
 * dupfilter.h - remember what was already done, by key, within one run:
 * the local delivery agent's duplicate filter (one per message).
 *
 *	f = dupfilter_new(limit);	NULL (no filter) when limit is 0
 *	if ((v = dupfilter_find(f, "mailbox /home/bob/Maildir/")) == NULL)
 *		deliver, then dupfilter_add(f, key, &res, sizeof(res));
 *	dupfilter_free(f);
 *
 * Each key keeps a copy of a value (the outcome of the first delivery).
 * At most limit keys are kept; past that, and when memory is short,
 * dupfilter_add() forgets, so the caller delivers again: a full filter
 * can cause a duplicate, never a lost delivery.  A NULL filter finds
 * nothing and keeps nothing.  Lookup is a binary search.
 */
#ifndef TERN_DUPFILTER_H
#define TERN_DUPFILTER_H

#include <stddef.h>

struct dupfilter;

struct dupfilter *dupfilter_new(size_t limit);
/* The value stored under key, or NULL; valid until dupfilter_free(). */
const void *dupfilter_find(const struct dupfilter *, const char *key);
/* 0 when kept; -1 (nothing kept) when full, out of memory, or known. */
int	dupfilter_add(struct dupfilter *, const char *key, const void *value,
	    size_t len);
size_t	dupfilter_count(const struct dupfilter *);
void	dupfilter_free(struct dupfilter *);

#endif
