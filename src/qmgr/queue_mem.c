/* SPDX-License-Identifier: ISC */
/*
 * queue_mem.c - the memory of the schedule, kept out of the agents.
 *
 *	qmem_alloc(len) / qmem_free(p, len)	zeroed pages, or NULL
 *	qmem_grow(p, oldlen, newlen)		a larger copy, or NULL
 *	qpool_get(pool) / qpool_put(pool, m)	one struct qmsg
 *	qpool_free(pool)			every chunk, at shutdown
 *
 * Every delivery agent is a fork() of the queue runner.  A fork copies
 * the page tables of everything the runner has mapped, and the agent's
 * exit tears them down again: with a million messages queued, the
 * schedule (the struct qmsg of each, the index and the heap, about
 * 100 MB) made each fork and exit cost more than the attempt itself,
 * and the runner's retries took the CPU from accepting.  No agent
 * reads the schedule (an agent has its jobs, their recipients and the
 * envelopes of the active messages, which are malloc()ed as before), so
 * its memory is mapped here, on its own, and marked MADV_DONTFORK where
 * the system has it (Linux): a fork then costs the same with an empty
 * queue and a full one.  Elsewhere it is ordinary memory, inherited as
 * malloc()ed memory is.  An agent that touched it would die on the
 * fault, and its recipients would be deferred (queue_agent.c), not lost.
 *
 * The pool hands out struct qmsg from chunks of QPOOL_CHUNK, with the
 * free ones on a list through next_parked; chunks are kept until
 * shutdown, as malloc() keeps what a drained backlog freed.  Under
 * AddressSanitizer a free entry is poisoned, so a use after
 * queue_forget() is still caught.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue_priv.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)	((void)(p), (void)(n))
#define UNPOISON(p, n)	((void)(p), (void)(n))
#endif

#define QPOOL_CHUNK	16384		/* messages a chunk: about 1 MiB */

/* the chunks of a pool: a list through their first bytes */
struct qpool_chunk {
	struct qpool_chunk *next;
	struct qmsg	 m[QPOOL_CHUNK];
};

static size_t
page_round(size_t len)
{
	long	 pg = sysconf(_SC_PAGESIZE);
	size_t	 p = pg > 0 ? (size_t)pg : 4096;

	return (len + p - 1) / p * p;
}

/* qmem_alloc - len bytes of zeroed memory no agent inherits; NULL */
void *
qmem_alloc(size_t len)
{
	void	*p;

	if (len == 0 || len > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, page_round(len), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
#ifdef MADV_DONTFORK
	/* advice: should it fail, the memory is merely inherited */
	(void)madvise(p, page_round(len), MADV_DONTFORK);
#endif
	return p;
}

void
qmem_free(void *p, size_t len)
{
	if (p != NULL)
		munmap(p, page_round(len));
}

/* qmem_grow - newlen bytes holding p's oldlen, the rest zero; p is
 * freed.  NULL (p untouched) on ENOMEM. */
void *
qmem_grow(void *p, size_t oldlen, size_t newlen)
{
	void	*n;

	if ((n = qmem_alloc(newlen)) == NULL)
		return NULL;
	if (p != NULL) {
		memcpy(n, p, oldlen < newlen ? oldlen : newlen);
		qmem_free(p, oldlen);
	}
	return n;
}

/* qpool_get - a zeroed struct qmsg; NULL on ENOMEM */
struct qmsg *
qpool_get(struct qpool *pool)
{
	struct qpool_chunk *c;
	struct qmsg *m;
	size_t	 i;

	if (pool->free == NULL) {
		if ((c = qmem_alloc(sizeof(*c))) == NULL)
			return NULL;
		c->next = pool->chunks;
		pool->chunks = c;
		for (i = QPOOL_CHUNK; i-- > 0; ) {
			c->m[i].next_parked = pool->free;
			pool->free = &c->m[i];
			POISON(&c->m[i], sizeof(c->m[i]));
		}
	}
	m = pool->free;
	UNPOISON(m, sizeof(*m));
	pool->free = m->next_parked;
	memset(m, 0, sizeof(*m));
	pool->n++;
	return m;
}

/* qpool_put - m back to the pool (qpool_get() zeroes it when reused) */
void
qpool_put(struct qpool *pool, struct qmsg *m)
{
	m->next_parked = pool->free;
	pool->free = m;
	pool->n--;
	POISON(m, sizeof(*m));
}

void
qpool_free(struct qpool *pool)
{
	struct qpool_chunk *c, *next;

	for (c = pool->chunks; c != NULL; c = next) {
		UNPOISON(c, sizeof(*c));
		next = c->next;
		qmem_free(c, sizeof(*c));
	}
	memset(pool, 0, sizeof(*pool));
}
