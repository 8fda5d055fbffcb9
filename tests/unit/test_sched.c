/* SPDX-License-Identifier: ISC */
/* test_sched.c - the schedule heap and the retry/expiry/warning rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sched.h"
#include "unit.h"

static int
heap_is_valid(const struct sched_heap *h)
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
	struct sched_heap h;
	struct sched_item it[5];
	time_t	 keys[5] = { 50, 10, 40, 20, 30 };
	size_t	 i;

	sched_init(&h);
	CHECK(sched_peek(&h) == NULL && sched_pop(&h) == NULL);
	for (i = 0; i < 5; i++) {
		sched_item_init(&it[i], &keys[i]);
		CHECK(!sched_is_queued(&it[i]));
		CHECK(sched_set(&h, &it[i], keys[i]) == 0);
	}
	CHECK(h.n == 5 && heap_is_valid(&h));
	CHECK(sched_peek(&h) == &it[1]);
	CHECK(sched_pop(&h)->when == 10);
	CHECK(!sched_is_queued(&it[1]));
	CHECK(sched_pop(&h)->when == 20);
	CHECK(sched_pop(&h)->when == 30);
	CHECK(sched_pop(&h)->data == &keys[2]);
	CHECK(sched_pop(&h)->when == 50);
	CHECK(sched_pop(&h) == NULL);
	sched_free(&h);
}

static void
test_update_remove(void)
{
	struct sched_heap h;
	struct sched_item it[4];
	size_t	 i;

	sched_init(&h);
	for (i = 0; i < 4; i++) {
		sched_item_init(&it[i], NULL);
		sched_set(&h, &it[i], (time_t)(10 * (i + 1)));
	}
	sched_set(&h, &it[3], 5);		/* earlier: moves up */
	CHECK(sched_peek(&h) == &it[3]);
	sched_set(&h, &it[3], SCHED_NEVER);	/* later: moves down */
	CHECK(sched_peek(&h) == &it[0] && heap_is_valid(&h));
	sched_remove(&h, &it[0]);
	CHECK(!sched_is_queued(&it[0]) && h.n == 3);
	sched_remove(&h, &it[0]);		/* twice is harmless */
	CHECK(h.n == 3 && heap_is_valid(&h));
	CHECK(sched_pop(&h) == &it[1]);
	CHECK(sched_pop(&h) == &it[2]);
	CHECK(sched_pop(&h) == &it[3]);
	sched_free(&h);
}

static void
test_random(void)
{
	enum { N = 10000 };
	struct sched_heap h;
	struct sched_item *it;
	time_t	 last;
	size_t	 i, left;
	int	 ok = 1;

	srand(42);
	it = calloc(N, sizeof(*it));
	CHECK(it != NULL);
	if (it == NULL)
		return;
	sched_init(&h);
	for (i = 0; i < N; i++) {
		sched_item_init(&it[i], NULL);
		sched_set(&h, &it[i], rand() % 100000);
	}
	for (i = 0; i < N; i += 3)		/* move a third */
		sched_set(&h, &it[i], rand() % 100000);
	for (i = 1; i < N; i += 7)		/* remove a seventh */
		sched_remove(&h, &it[i]);
	CHECK(heap_is_valid(&h));
	left = h.n;
	for (last = 0, i = 0; i < left; i++) {
		struct sched_item *top = sched_pop(&h);

		if (top == NULL || top->when < last)
			ok = 0;
		else
			last = top->when;
	}
	CHECK(ok && h.n == 0 && left == N - (N - 1 + 6) / 7);
	sched_free(&h);
	free(it);
}

static void
test_retry_rule(void)
{
	struct config c;
	char	 err[256];
	time_t	 t0 = 1764135101;

	CHECK(config_parse_string(&c, "t.conf", "", err, sizeof(err)) == 0);
	/* every 30 minutes after the attempt */
	CHECK(sched_next_attempt(&c, t0, t0, 0) == t0 + 1800);
	CHECK(sched_next_attempt(&c, t0, t0 + 7200, 0) == t0 + 9000);
	/* never past expiry: five days */
	CHECK(sched_expiry(&c, t0, 0) == t0 + 5 * 86400);
	CHECK(sched_next_attempt(&c, t0, t0 + 5 * 86400 - 600, 0) ==
	    t0 + 5 * 86400);
	CHECK(!sched_is_expired(&c, t0, t0 + 5 * 86400 - 1, 0));
	CHECK(sched_is_expired(&c, t0, t0 + 5 * 86400, 0));
	CHECK(sched_next_attempt(&c, t0, t0 + 6 * 86400, 0) == t0 + 6 * 86400);
	/* delay notice after four hours */
	CHECK(!sched_warn_is_due(&c, t0, t0 + 4 * 3600 - 1));
	CHECK(sched_warn_is_due(&c, t0, t0 + 4 * 3600));
	config_free(&c);

	CHECK(config_parse_string(&c, "t.conf", "bounce_queue_lifetime = 1d\n"
	    "delay_warning = 0\nretry_interval = 1h\n", err, sizeof(err)) == 0);
	CHECK(sched_expiry(&c, t0, 1) == t0 + 86400);
	CHECK(sched_expiry(&c, t0, 0) == t0 + 5 * 86400);
	CHECK(sched_next_attempt(&c, t0, t0 + 86400 - 60, 1) == t0 + 86400);
	CHECK(sched_next_attempt(&c, t0, t0 + 86400 - 60, 0) ==
	    t0 + 86400 - 60 + 3600);
	CHECK(sched_is_expired(&c, t0, t0 + 86400, 1));
	CHECK(!sched_warn_is_due(&c, t0, t0 + 30 * 86400));
	config_free(&c);
}

int
main(void)
{
	RUN(test_order);
	RUN(test_update_remove);
	RUN(test_random);
	RUN(test_retry_rule);
	return unit_done();
}
