/* SPDX-License-Identifier: ISC */
/*
 * queue_index.c - the queue runner's message table: every struct qmsg
 * by its id (see queue_priv.h).  Pure: it calls nothing of the runner.
 *
 *	qindex_find(ix, id)	the message, or NULL
 *	qindex_add(ix, m)	-1 on ENOMEM; m's id not yet there
 *	qindex_remove(ix, m)
 *	qindex_free(ix)		the table, not the messages
 */
#include <stdlib.h>
#include <string.h>

#include "queue_priv.h"

/*
 * The index: open addressing on a hash of the id, linear
 * probing, at most half full; removal shifts the following entries
 * back (no tombstones), so a lookup stops at the first empty slot.
 * Eight bytes per slot, two slots or more per message.
 */
static size_t
id_hash(const char *id)
{
	size_t	 h = 2166136261u;

	while (*id != '\0')
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h ^ (h >> 15);
}

static size_t
index_slot(const struct qindex *ix, const char *id)
{
	size_t	 i = id_hash(id) & (ix->cap - 1);

	while (ix->slot[i] != NULL && strcmp(ix->slot[i]->id, id) != 0)
		i = (i + 1) & (ix->cap - 1);
	return i;
}

static int
index_grow(struct qindex *ix)
{
	struct qmsg **old = ix->slot;
	size_t	 i, cap = ix->cap, ncap = cap ? cap * 2 : 1024;

	if ((ix->slot = qmem_alloc(ncap * sizeof(*ix->slot))) == NULL) {
		ix->slot = old;
		return -1;
	}
	ix->cap = ncap;
	for (i = 0; i < cap; i++)
		if (old[i] != NULL)
			ix->slot[index_slot(ix, old[i]->id)] = old[i];
	qmem_free(old, cap * sizeof(*old));
	return 0;
}

void
qindex_remove(struct qindex *ix, const struct qmsg *m)
{
	size_t	 i, j, home;

	if (ix->cap == 0 || ix->slot[i = index_slot(ix, m->id)] != m)
		return;
	ix->slot[i] = NULL;
	ix->n--;
	/* shift back what probed past i */
	for (j = (i + 1) & (ix->cap - 1); ix->slot[j] != NULL;
	    j = (j + 1) & (ix->cap - 1)) {
		home = id_hash(ix->slot[j]->id) & (ix->cap - 1);
		if (((j - home) & (ix->cap - 1)) >= ((j - i) & (ix->cap - 1))) {
			ix->slot[i] = ix->slot[j];
			ix->slot[j] = NULL;
			i = j;
		}
	}
}

struct qmsg *
qindex_find(const struct qindex *ix, const char *id)
{
	return ix->cap == 0 ? NULL : ix->slot[index_slot(ix, id)];
}

int
qindex_add(struct qindex *ix, struct qmsg *m)
{
	if ((ix->n + 1) * 2 > ix->cap && index_grow(ix) == -1)
		return -1;
	ix->slot[index_slot(ix, m->id)] = m;
	ix->n++;
	return 0;
}

void
qindex_free(struct qindex *ix)
{
	qmem_free(ix->slot, ix->cap * sizeof(*ix->slot));
	memset(ix, 0, sizeof(*ix));
}
