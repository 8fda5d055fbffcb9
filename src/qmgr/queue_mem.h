/* SPDX-License-Identifier: ISC */
/*
 * queue_mem.h - memory of the queue runner's schedule that no forked
 * agent inherits (queue_mem.c): the struct qmsg pool, the index, the
 * heap.
 */
#ifndef TERN_QUEUE_MEM_H
#define TERN_QUEUE_MEM_H

#include <stddef.h>

void	*qmem_alloc(size_t);			/* zeroed; NULL */
void	 qmem_free(void *, size_t);
void	*qmem_grow(void *, size_t, size_t);	/* NULL: p kept */

#endif
