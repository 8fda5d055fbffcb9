/* SPDX-License-Identifier: ISC */
/*
 * fuzz_state.c - libFuzzer target for state_read(): the input is a
 * per-message state file.  What reads must write (state_write) and read
 * back to the same state.  See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

static int
state_equal(const struct state *a, const struct state *b)
{
	const struct state_rcpt *x, *y;
	size_t	 i;

	if (a->version != b->version || strcmp(a->id, b->id) != 0 ||
	    a->held != b->held || a->warned != b->warned ||
	    a->nrcpt != b->nrcpt)
		return 0;
	for (i = 0; i < a->nrcpt; i++) {
		x = &a->rcpt[i];
		y = &b->rcpt[i];
		if (x->state != y->state || x->attempts != y->attempts ||
		    x->next_attempt != y->next_attempt ||
		    x->last_attempt != y->last_attempt ||
		    strcmp(x->dsn, y->dsn) != 0 ||
		    strcmp(x->reply, y->reply) != 0)
			return 0;
	}
	return 1;
}

/* round_trip - write st out and read it back; abort on any difference */
static void
round_trip(const struct state *st)
{
	struct state again;
	char	*buf = NULL, err[256];
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	if (state_write(fp, st) == -1)
		abort();
	fclose(fp);
	if ((fp = fmemopen(buf, len, "r")) == NULL)
		abort();
	state_init(&again);
	if (state_read(fp, &again, err, sizeof(err)) == -1) {
		fprintf(stderr, "round trip: %s\n", err);
		abort();
	}
	if (!state_equal(st, &again))
		abort();
	fclose(fp);
	state_free(&again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	char	 err[256];
	FILE	*fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	state_init(&st);
	err[0] = '\0';
	if (state_read(fp, &st, err, sizeof(err)) == 0)
		round_trip(&st);
	else if (err[0] == '\0')
		abort();
	state_free(&st);
	fclose(fp);
	return 0;
}
