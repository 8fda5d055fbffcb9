/* SPDX-License-Identifier: ISC */
/*
 * fuzz_envelope.c - libFuzzer target for envelope_read(): the input is a
 * queue file.  What reads must write (envelope_write) and read back to
 * the same envelope.  See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

static int
rcpt_equal(const struct envelope_rcpt *a, const struct envelope_rcpt *b)
{
	return strcmp(a->addr, b->addr) == 0 && a->notify == b->notify &&
	    strcmp(a->orcpt, b->orcpt) == 0;
}

static int
envelope_equal(const struct envelope *a, const struct envelope *b)
{
	size_t	 i;

	if (a->version != b->version || strcmp(a->id, b->id) != 0 ||
	    a->arrival != b->arrival || strcmp(a->client, b->client) != 0 ||
	    strcmp(a->helo, b->helo) != 0 ||
	    strcmp(a->protocol, b->protocol) != 0 || a->uid != b->uid ||
	    strcmp(a->sender, b->sender) != 0 || a->body != b->body ||
	    a->smtputf8 != b->smtputf8 || a->ret != b->ret ||
	    strcmp(a->envid, b->envid) != 0 || a->nrcpt != b->nrcpt)
		return 0;
	for (i = 0; i < a->nrcpt; i++)
		if (!rcpt_equal(&a->rcpt[i], &b->rcpt[i]))
			return 0;
	return 1;
}

/* round_trip - write env out and read it back; abort on any difference */
static void
round_trip(const struct envelope *env)
{
	struct envelope again;
	char	*buf = NULL, err[256];
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	if (envelope_write(fp, env) == -1)
		abort();
	fclose(fp);
	if ((fp = fmemopen(buf, len, "r")) == NULL)
		abort();
	envelope_init(&again);
	if (envelope_read(fp, &again, err, sizeof(err)) == -1) {
		fprintf(stderr, "round trip: %s\n", err);
		abort();
	}
	if (!envelope_equal(env, &again) || fgetc(fp) != EOF)
		abort();
	fclose(fp);
	envelope_free(&again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	char	 err[256];
	FILE	*fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	envelope_init(&env);
	err[0] = '\0';
	if (envelope_read(fp, &env, err, sizeof(err)) == 0)
		round_trip(&env);
	else if (err[0] == '\0')
		abort();
	envelope_free(&env);
	fclose(fp);
	return 0;
}
