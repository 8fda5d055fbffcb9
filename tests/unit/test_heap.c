/* SPDX-License-Identifier: ISC */
/* test_heap.c - the queue runner's schedule: a min-heap keyed by time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "unit.h"

static int
heap_invariant_holds(const struct heap *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		if (h->v[i]->slot != i)
			return 0;
		if (i > 0 && h->v[(i - 1) / 2]->when > h->v[i]->when)
			return 0;
	}
	return 1;
}

static void
test_order(void)
{
	struct heap h;
	struct heap_item it[5];
	time_t	 keys[5] = { 50, 10, 40, 20, 30 };
	size_t	 i;

	heap_init(&h);
	CHECK(heap_peek(&h) == NULL && heap_pop(&h) == NULL);
	for (i = 0; i < 5; i++) {
		heap_item_init(&it[i], &keys[i]);
		CHECK(!heap_is_queued(&it[i]));
		CHECK(heap_set(&h, &it[i], keys[i]) == 0);
	}
	CHECK(h.n == 5 && heap_invariant_holds(&h));
	CHECK(heap_peek(&h) == &it[1]);
	CHECK(heap_pop(&h)->when == 10);
	CHECK(!heap_is_queued(&it[1]));
	CHECK(heap_pop(&h)->when == 20);
	CHECK(heap_pop(&h)->when == 30);
	CHECK(heap_pop(&h)->data == &keys[2]);
	CHECK(heap_pop(&h)->when == 50);
	CHECK(heap_pop(&h) == NULL);
	heap_free(&h);
}

static void
test_update_remove(void)
{
	struct heap h;
	struct heap_item it[4];
	size_t	 i;

	heap_init(&h);
	for (i = 0; i < 4; i++) {
		heap_item_init(&it[i], NULL);
		heap_set(&h, &it[i], (time_t)(10 * (i + 1)));
	}
	heap_set(&h, &it[3], 5);		/* earlier: moves up */
	CHECK(heap_peek(&h) == &it[3]);
	heap_set(&h, &it[3], HEAP_NEVER);	/* later: moves down */
	CHECK(heap_peek(&h) == &it[0] && heap_invariant_holds(&h));
	heap_remove(&h, &it[0]);
	CHECK(!heap_is_queued(&it[0]) && h.n == 3);
	heap_remove(&h, &it[0]);		/* twice is harmless */
	CHECK(h.n == 3 && heap_invariant_holds(&h));
	CHECK(heap_pop(&h) == &it[1]);
	CHECK(heap_pop(&h) == &it[2]);
	CHECK(heap_pop(&h) == &it[3]);
	heap_free(&h);
}

static void
test_random(void)
{
	enum { N = 10000 };
	struct heap h;
	struct heap_item *it;
	time_t	 last;
	size_t	 i, left;
	int	 ok = 1;

	srand(42);
	it = calloc(N, sizeof(*it));
	CHECK(it != NULL);
	if (it == NULL)
		return;
	heap_init(&h);
	for (i = 0; i < N; i++) {
		heap_item_init(&it[i], NULL);
		heap_set(&h, &it[i], rand() % 100000);
	}
	for (i = 0; i < N; i += 3)		/* move a third */
		heap_set(&h, &it[i], rand() % 100000);
	for (i = 1; i < N; i += 7)		/* remove a seventh */
		heap_remove(&h, &it[i]);
	CHECK(heap_invariant_holds(&h));
	left = h.n;
	for (last = 0, i = 0; i < left; i++) {
		struct heap_item *top = heap_pop(&h);

		if (top == NULL || top->when < last)
			ok = 0;
		else
			last = top->when;
	}
	CHECK(ok && h.n == 0 && left == N - (N - 1 + 6) / 7);
	heap_free(&h);
	free(it);
}

int
main(void)
{
	RUN(test_order);
	RUN(test_update_remove);
	RUN(test_random);
	return unit_done();
}
