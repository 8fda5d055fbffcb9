/* SPDX-License-Identifier: ISC */
/*
 * retry.h - the queue runner's retry policy: when to try a message
 * again, when it expires, and when a delay notice is due.
 *
 * The rule, in one sentence: the next attempt is retry_interval after
 * this one, but never later than the moment the message expires
 * (arrival + max_queue_lifetime, or + bounce_queue_lifetime for a
 * notice from the null sender), so that the last attempt and the bounce
 * happen on time.  At or past that moment it is expired.
 */
#ifndef TERN_RETRY_H
#define TERN_RETRY_H

#include <time.h>

#include "config.h"

/* The moment a message from arrival expires. */
time_t	retry_expiry(const struct config *, time_t arrival, int is_bounce);
/* When to try again after an attempt at now: see the rule above. */
time_t	retry_next_attempt(const struct config *, time_t arrival, time_t now,
	    int is_bounce);
int	retry_is_expired(const struct config *, time_t arrival, time_t now,
	    int is_bounce);
/* Is a delay notice due now (delay_warning reached, 0 = never)? */
int	retry_warn_is_due(const struct config *, time_t arrival, time_t now);

#endif
