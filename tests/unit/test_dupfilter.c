/* SPDX-License-Identifier: ISC */
/* test_dupfilter.c - the local agent's duplicate filter: keys, values,
 * the limit, and the NULL (off) filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dupfilter.h"
#include "unit.h"

static void
test_find_add(void)
{
	struct dupfilter *f = dupfilter_new(100);
	const int *v;
	char	 key[32];
	int	 i, x;

	CHECK(f != NULL);
	CHECK(dupfilter_find(f, "mailbox /m/bert/") == NULL);
	/* Out of order, so the sorted insert is exercised both ways. */
	for (i = 0; i < 50; i++) {
		x = (i * 37) % 50;
		snprintf(key, sizeof(key), "k%02d", x);
		CHECK(dupfilter_add(f, key, &x, sizeof(x)) == 0);
	}
	CHECK(dupfilter_count(f) == 50);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		v = dupfilter_find(f, key);
		CHECK(v != NULL && *v == i);
	}
	CHECK(dupfilter_find(f, "k50") == NULL);
	CHECK(dupfilter_find(f, "k") == NULL);
	/* A known key keeps its first value. */
	x = 999;
	CHECK(dupfilter_add(f, "k07", &x, sizeof(x)) == -1);
	v = dupfilter_find(f, "k07");
	CHECK(v != NULL && *v == 7);
	dupfilter_free(f);
}

static void
test_limit_and_off(void)
{
	struct dupfilter *f = dupfilter_new(2);
	int	 one = 1;

	CHECK(dupfilter_add(f, "a", &one, sizeof(one)) == 0);
	CHECK(dupfilter_add(f, "b", &one, sizeof(one)) == 0);
	CHECK(dupfilter_add(f, "c", &one, sizeof(one)) == -1);
	CHECK(dupfilter_find(f, "c") == NULL);
	CHECK(dupfilter_find(f, "a") != NULL);
	dupfilter_free(f);
	/* limit 0: no filter; it finds nothing and keeps nothing. */
	f = dupfilter_new(0);
	CHECK(f == NULL);
	CHECK(dupfilter_add(f, "a", &one, sizeof(one)) == -1);
	CHECK(dupfilter_find(f, "a") == NULL);
	CHECK(dupfilter_count(f) == 0);
	dupfilter_free(f);
}

int
main(void)
{
	RUN(test_find_add);
	RUN(test_limit_and_off);
	return unit_done();
}
