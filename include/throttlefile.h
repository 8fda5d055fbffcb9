/* SPDX-License-Identifier: ISC */
/*
 * throttlefile.h - the destinations the queue runner has backed off
 * from, in spool/throttle: written by the runner (queue_dest.c) each
 * time the set changes, read by mailq and by the runner at start-up.
 *
 * Format: a first line "tern-throttle 1", then one line per destination:
 *
 *	DESTINATION UNTIL LEVEL REASON
 *
 * UNTIL in seconds since the epoch, LEVEL the number of back-offs in a
 * row (each doubles the wait), REASON the rest of the line: the reply
 * that asked for it, printable ASCII only.  At most THROTTLE_MAX lines.
 */
#ifndef TERN_THROTTLEFILE_H
#define TERN_THROTTLEFILE_H

#include <stddef.h>
#include <time.h>

#define THROTTLE_MAX		10000
#define THROTTLE_NAME_MAX	256
#define THROTTLE_REASON_MAX	256

struct throttle_entry {
	char	 dest[THROTTLE_NAME_MAX];	/* lower case */
	time_t	 until;
	int	 level;
	char	 reason[THROTTLE_REASON_MAX];
};

/* Replace spool/throttle atomically; -1 with errno on error. */
int	throttlefile_write(const char *spool_dir,
	    const struct throttle_entry *, size_t n);
/* Its entries (none when it is missing; bad lines skipped); caller
 * frees *out; -1 with errno on error. */
int	throttlefile_read(const char *spool_dir, struct throttle_entry **out,
	    size_t *n);
/* The entry for dest in v, or NULL. */
const struct throttle_entry *throttlefile_find(
	    const struct throttle_entry *v, size_t n, const char *dest);

#endif
