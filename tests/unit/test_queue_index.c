/* SPDX-License-Identifier: ISC */
/*
 * test_queue_index.c - the queue runner's message table
 * (src/qmgr/queue_index.c): every message added is found by its id,
 * one removed is not, and removals in any order (which shift entries
 * back within a probe run) never lose another, through several growths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue_priv.h"
#include "unit.h"

#define N	5000

static struct qmsg msgs[N];
static int	 in[N];

static void
make_ids(void)
{
	static const char a[] = "0123456789ABCDFGHJKLMNPQRSTVWXYZ";
	unsigned long long v;
	size_t	 i, k;

	for (i = 0; i < N; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		v = 0x9E3779B97F4A7C15ull * (i + 1);
		for (k = 0; k < QUEUEID_LEN; k++, v = v * 6364136223846793005ull
		    + 1442695040888963407ull)
			msgs[i].id[k] = a[(v >> 59) & 31];
		msgs[i].id[QUEUEID_LEN] = '\0';
	}
}

/* every message is found exactly when it is in */
static int
consistent(const struct qindex *ix)
{
	size_t	 i, n = 0;

	for (i = 0; i < N; i++) {
		if (qindex_find(ix, msgs[i].id) != (in[i] ? &msgs[i] : NULL))
			return 0;
		n += in[i];
	}
	return ix->n == n;
}

static void
test_add_find_remove(void)
{
	struct qindex ix = { NULL, 0, 0 };
	size_t	 i;

	make_ids();
	CHECK(qindex_find(&ix, msgs[0].id) == NULL);
	for (i = 0; i < N; i++) {
		CHECK(qindex_add(&ix, &msgs[i]) == 0);
		in[i] = 1;
	}
	CHECK(ix.cap >= 2 * N);
	CHECK(consistent(&ix));
	/* remove every third, then the rest in a scattered order */
	for (i = 0; i < N; i += 3) {
		qindex_remove(&ix, &msgs[i]);
		in[i] = 0;
	}
	CHECK(consistent(&ix));
	qindex_remove(&ix, &msgs[0]);		/* not there: no change */
	CHECK(consistent(&ix));
	for (i = 0; i < N; i++) {
		size_t	 k = (i * 7919) % N;

		if (in[k]) {
			qindex_remove(&ix, &msgs[k]);
			in[k] = 0;
		}
		if (i % 500 == 0)
			CHECK(consistent(&ix));
	}
	CHECK(ix.n == 0 && consistent(&ix));
	/* and added again */
	for (i = 0; i < N; i += 2) {
		CHECK(qindex_add(&ix, &msgs[i]) == 0);
		in[i] = 1;
	}
	CHECK(consistent(&ix));
	qindex_free(&ix);
	CHECK(ix.cap == 0 && qindex_find(&ix, msgs[0].id) == NULL);
}

int
main(void)
{
	RUN(test_add_find_remove);
	return unit_done();
}
