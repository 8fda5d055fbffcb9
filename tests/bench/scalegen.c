/* SPDX-License-Identifier: ISC */
/*
 * scalegen.c - a synthetic spool for tests/bench/scale.sh: N queue files
 * written with tern's own envelope writer, and for a share of them a
 * state file written with its own state writer, so that the formats
 * are exactly tern's (a bench tool, compiled by scale.sh and linked with
 * build/libtern.a; not part of the build).  Accepting a million messages
 * over SMTP would take minutes; this takes seconds.  Files are written
 * straight into queue/XX and state/XX, without fsync: a bench spool.
 *
 *	scalegen SPOOL N DEFERRED_PERCENT PENDING_DOMAIN DEFERRED_DOMAIN
 *	    OFFSET SPREAD [BODY_BYTES]
 *
 * SPOOL must exist and be set up (ternd -f run once on it, or
 * spool_setup()); it is set up here too.  Message i is deferred (a state
 * file: one attempt, 4.4.1, next attempts spread evenly over SPREAD
 * seconds from OFFSET seconds from now) when i * 100 / N < DEFERRED_PERCENT in an interleaved
 * order, else pending (no state file, due at once).  Recipients are
 * rcptI@PENDING_DOMAIN or rcptI@DEFERRED_DOMAIN; each body is
 * BODY_BYTES (default 4096) of a plain text message.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "queueid.h"
#include "spool.h"
#include "statefile.h"

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "scalegen: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void
put(const char *path, const char *body, size_t blen,
    const struct envelope *env, const struct state *st)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		die("create", path);
	if ((env != NULL && envelope_write(fp, env) == -1) ||
	    (st != NULL && state_write(fp, st) == -1) ||
	    (body != NULL && fwrite(body, 1, blen, fp) != blen) ||
	    fclose(fp) == EOF)
		die("write", path);
}

int
main(int argc, char *argv[])
{
	struct envelope env;
	struct state st;
	char	 path[PATH_MAX], addr[ADDR_MAX], err[256], *body;
	long	 n, i, pct, offset, spread, blen = 4096, k;
	time_t	 now = time(NULL);
	int	 deferred;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: scalegen spool n deferred-percent "
		    "pending-domain deferred-domain offset spread "
		    "[body-bytes]\n");
		return 2;
	}
	n = atol(argv[2]);
	pct = atol(argv[3]);
	offset = atol(argv[6]);
	spread = atol(argv[7]);
	if (argc == 9)
		blen = atol(argv[8]);
	if (spool_setup(argv[1], err, sizeof(err)) == -1) {
		fprintf(stderr, "scalegen: %s\n", err);
		return 1;
	}
	if (blen < 64 || (body = malloc(blen)) == NULL)
		return 1;
	k = snprintf(body, blen, "Subject: scale test\r\nFrom: "
	    "<bench@scale.bench.test>\r\n\r\n");
	for (; k < blen - 2; k++)
		body[k] = (k % 72 == 71) ? '\n' : 'x';
	memcpy(body + blen - 2, "\r\n", 2);
	for (i = 0; i < n; i++) {
		envelope_init(&env);
		queueid_new(env.id);
		env.arrival = now - 60;
		snprintf(env.client, sizeof(env.client),
		    "localhost [127.0.0.1]");
		snprintf(env.helo, sizeof(env.helo), "localhost");
		snprintf(env.protocol, sizeof(env.protocol), "ESMTP");
		snprintf(env.sender, sizeof(env.sender),
		    "bench@scale.bench.test");
		/* deferred ones interleaved, so that every hash directory
		 * has its share */
		deferred = (i * pct / 100) != ((i + 1) * pct / 100);
		snprintf(addr, sizeof(addr), "rcpt%ld@%s", i,
		    deferred ? argv[5] : argv[4]);
		if (envelope_add_rcpt(&env, addr, 0, "") == -1)
			die("envelope", addr);
		if (spool_path(argv[1], "queue", env.id, path,
		    sizeof(path)) == -1)
			die("path", env.id);
		put(path, body, blen, &env, NULL);
		if (deferred) {
			if (state_alloc(&st, env.id, 1) == -1)
				die("state", env.id);
			st.rcpt[0].state = RCPT_DEFERRED;
			st.rcpt[0].attempts = 1;
			st.rcpt[0].last_attempt = now - 30;
			st.rcpt[0].next_attempt = now + offset +
			    (spread > 0 ? i % spread : 0);
			strcpy(st.rcpt[0].dsn, "4.4.1");
			strcpy(st.rcpt[0].reply, "connect to 127.0.0.1:9: "
			    "Connection refused");
			if (spool_path(argv[1], "state", env.id, path,
			    sizeof(path)) == -1)
				die("path", env.id);
			put(path, NULL, 0, NULL, &st);
			state_free(&st);
		}
		envelope_free(&env);
	}
	free(body);
	return 0;
}
