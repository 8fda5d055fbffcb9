/* SPDX-License-Identifier: ISC */
/*
 * retry.c - the queue runner's one retry, expiry and warning rule; see
 * retry.h.
 */
#include "retry.h"

time_t
retry_expiry(const struct config *cfg, time_t arrival, int is_bounce)
{
	return arrival + (time_t)(is_bounce ? cfg->bounce_queue_lifetime :
	    cfg->max_queue_lifetime);
}

time_t
retry_next_attempt(const struct config *cfg, time_t arrival, time_t now,
    int is_bounce)
{
	time_t	 next = now + (time_t)cfg->retry_interval;
	time_t	 expiry = retry_expiry(cfg, arrival, is_bounce);

	if (expiry < next)
		next = expiry > now ? expiry : now;
	return next;
}

int
retry_is_expired(const struct config *cfg, time_t arrival, time_t now,
    int is_bounce)
{
	return now >= retry_expiry(cfg, arrival, is_bounce);
}

int
retry_warn_is_due(const struct config *cfg, time_t arrival, time_t now)
{
	return cfg->delay_warning > 0 &&
	    now - arrival >= (time_t)cfg->delay_warning;
}
