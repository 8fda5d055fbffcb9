/* SPDX-License-Identifier: ISC */
/*
 * test_queue_mem.c - the schedule's memory (src/qmgr/queue_mem.c): the
 * pool hands out zeroed, distinct entries through several chunks and
 * reuses those put back; qmem_grow() keeps what it had; and, where the
 * system has MADV_DONTFORK, a forked child (an agent) does not have
 * that memory at all, so a fork costs the same with a full queue.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue_priv.h"
#include "unit.h"

#define N	40000		/* more than two chunks */

static int
is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n-- > 0)
		if (*c++ != 0)
			return 0;
	return 1;
}

static void
test_pool(void)
{
	struct qpool pool;
	struct qmsg **m, *again;
	size_t	 i, bad = 0;

	memset(&pool, 0, sizeof(pool));
	if ((m = calloc(N, sizeof(*m))) == NULL) {
		CHECK(m != NULL);
		return;
	}
	for (i = 0; i < N; i++) {
		if ((m[i] = qpool_get(&pool)) == NULL ||
		    !is_zero(m[i], sizeof(*m[i])))
			bad++;
		else
			snprintf(m[i]->id, sizeof(m[i]->id), "%zu", i);
	}
	CHECK(bad == 0 && pool.n == N);
	for (i = 0; i < N && bad == 0; i++)	/* none handed out twice */
		if ((size_t)strtoul(m[i]->id, NULL, 10) != i)
			bad++;
	CHECK(bad == 0);
	m[7]->held = 1;
	qpool_put(&pool, m[7]);
	CHECK(pool.n == N - 1);
	again = qpool_get(&pool);
	CHECK(again == m[7] && is_zero(again, sizeof(*again)));
	qpool_free(&pool);
	CHECK(pool.n == 0 && pool.chunks == NULL && pool.free == NULL);
	free(m);
}

static void
test_grow(void)
{
	unsigned char *p, *q;
	size_t	 i, bad = 0;

	CHECK((p = qmem_alloc(100)) != NULL);
	if (p == NULL)
		return;
	CHECK(is_zero(p, 100));
	for (i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	CHECK((q = qmem_grow(p, 100, 1 << 20)) != NULL);
	if (q == NULL) {
		qmem_free(p, 100);
		return;
	}
	for (i = 0; i < 100; i++)
		bad += q[i] != (unsigned char)i;
	CHECK(bad == 0 && is_zero(q + 100, (1 << 20) - 100));
	qmem_free(q, 1 << 20);
	CHECK(qmem_alloc(0) == NULL);
	CHECK(qmem_alloc(SIZE_MAX) == NULL);
}

/* a child that reads the schedule's memory dies of it (it is not
 * mapped there); malloc()ed memory it has, as before */
static void
test_not_inherited(void)
{
#ifdef MADV_DONTFORK
	volatile unsigned char *p, *heap;
	pid_t	 pid;
	int	 status = 0;

	p = qmem_alloc(4096);
	heap = malloc(16);
	CHECK(p != NULL && heap != NULL);
	if (p == NULL || heap == NULL)
		return;
	p[0] = 42;
	heap[0] = 7;
	if ((pid = fork()) == 0) {
		signal(SIGSEGV, SIG_DFL);
		_exit(heap[0] == 7 && p[0] == 42 ? 0 : 1);
	}
	/* a SIGSEGV, or under AddressSanitizer its report and exit 1 */
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
	if ((pid = fork()) == 0)
		_exit(heap[0] == 7 ? 0 : 1);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(p[0] == 42);		/* the parent keeps it */
	qmem_free((void *)p, 4096);
	free((void *)heap);
#else
	printf("  no MADV_DONTFORK here: the schedule is inherited\n");
#endif
}

int
main(void)
{
	RUN(test_pool);
	RUN(test_grow);
	RUN(test_not_inherited);
	return unit_done();
}
