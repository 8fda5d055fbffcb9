/* SPDX-License-Identifier: ISC */
/*
 * dupfilter.c - a bounded set of keys with a value each (dupfilter.h).
 *
 * The entries are kept in an array sorted by key (strcmp order): finding
 * is a binary search, adding shifts the tail.  The filter is small (the
 * limit is duplicate_filter_limit, 1000 by default) and lives for one
 * message, so nothing cleverer is needed.
 */
#include <stdlib.h>
#include <string.h>

#include "dupfilter.h"

struct dupfilter_entry {
	void	*value;
	char	 key[];
};

struct dupfilter {
	struct dupfilter_entry **v;
	size_t	 n, cap, limit;
};

struct dupfilter *
dupfilter_new(size_t limit)
{
	struct dupfilter *f;

	if (limit == 0 || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->limit = limit;
	return f;
}

/* dupfilter_grow - room for one more entry; -1 when out of memory */
static int
dupfilter_grow(struct dupfilter *f)
{
	struct dupfilter_entry **nv;
	size_t	 cap;

	if (f->n < f->cap)
		return 0;
	cap = f->cap ? f->cap * 2 : 16;
	if ((nv = reallocarray(f->v, cap, sizeof(*nv))) == NULL)
		return -1;
	f->v = nv;
	f->cap = cap;
	return 0;
}

/* dupfilter_slot - where key is, or would be inserted; *found says which */
static size_t
dupfilter_slot(const struct dupfilter *f, const char *key, int *found)
{
	size_t	 lo = 0, hi = f->n, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, f->v[mid]->key)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const void *
dupfilter_find(const struct dupfilter *f, const char *key)
{
	size_t	 i;
	int	 found;

	if (f == NULL)
		return NULL;
	i = dupfilter_slot(f, key, &found);
	return found ? f->v[i]->value : NULL;
}

int
dupfilter_add(struct dupfilter *f, const char *key, const void *value,
    size_t len)
{
	struct dupfilter_entry *e;
	size_t	 i, klen;
	int	 found;

	if (f == NULL || f->n >= f->limit)
		return -1;
	i = dupfilter_slot(f, key, &found);
	if (found || dupfilter_grow(f) == -1)
		return -1;
	klen = strlen(key) + 1;
	if ((e = malloc(sizeof(*e) + klen)) == NULL)
		return -1;
	if ((e->value = malloc(len ? len : 1)) == NULL) {
		free(e);
		return -1;
	}
	memcpy(e->key, key, klen);
	memcpy(e->value, value, len);
	memmove(&f->v[i + 1], &f->v[i], (f->n - i) * sizeof(*f->v));
	f->v[i] = e;
	f->n++;
	return 0;
}

size_t
dupfilter_count(const struct dupfilter *f)
{
	return f == NULL ? 0 : f->n;
}

void
dupfilter_free(struct dupfilter *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->v[i]->value);
		free(f->v[i]);
	}
	free(f->v);
	free(f);
}
