/* SPDX-License-Identifier: ISC */
/*
 * queue_round.c - the end of a message's attempt round: expiry, one
 * failure notice, success and delay notices, then the state file is
 * written or the message removed, and it is rescheduled.  What happened
 * to each recipient in the round is queue_rcpt_outcome() (queue_rcpt.c);
 * leaving the active set is queue_deactivate() (queue_active.c).  A
 * notice quotes the message read through queuefile_open_body(), with
 * the envelope parsed on activation, and is loaded here directly, never
 * announced on the trigger FIFO.
 *
 * Crash safety: a round's results live only in memory until the round
 * ends; notices are enqueued before the state records a failure, and the
 * state is written (or the message removed) before results are
 * forgotten, so a crash costs at worst a duplicate, never a loss.  A
 * failure notice that cannot be enqueued leaves its recipients deferred.
 *
 * Expiry (decision): a recipient still undelivered when its message
 * expires fails with status 4.4.7 (RFC 3463 3.5, delivery time expired),
 * or 5.2.2 when its last deferral was 4.2.2 (a full mailbox, RFC 3463
 * 3.3), and the last deferral reply as diagnostic.  A notice (sender <>) that
 * fails is reported once to double_bounce; a failed notice to
 * double_bounce itself, or with double_bounce empty, is logged and
 * dropped.  NOTIFY (RFC 3461 4.1) picks the recipients of each notice;
 * success is reported as "relayed" for remote recipients (we cannot
 * tell whether the next hop took the DSN request) and "delivered" for
 * local ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounce.h"
#include "config.h"
#include "envelope.h"
#include "heap.h"
#include "log.h"
#include "queue_priv.h"
#include "queuefile.h"
#include "retry.h"

enum notice { NOTICE_FAILURE, NOTICE_DOUBLE, NOTICE_SUCCESS, NOTICE_DELAY };

/* queue_wants - is recipient i of m reported in a notice of this kind? */
static int
queue_wants(const struct qmsg *m, size_t i, int kind)
{
	int	 notify = m->act->env.rcpt[i].notify;
	int	 outcome = queue_rcpt_outcome(m, i);

	switch (kind) {
	case NOTICE_FAILURE:
		return outcome == RCPT_FAILED &&
		    (notify == 0 || (notify & NOTIFY_FAILURE));
	case NOTICE_DOUBLE:
		return outcome == RCPT_FAILED;
	case NOTICE_SUCCESS:
		return outcome == RCPT_DELIVERED && (notify & NOTIFY_SUCCESS);
	default:
		return state_rcpt_is_undelivered(&m->act->st.rcpt[i]) &&
		    (notify == 0 || (notify & NOTIFY_DELAY));
	}
}

static void
queue_report(const struct qmsg *m, size_t i, int kind, time_t until,
    struct dsn_report *rp)
{
	const struct state_rcpt *sr = &m->act->st.rcpt[i];

	memset(rp, 0, sizeof(*rp));
	rp->rcpt = m->act->env.rcpt[i].addr;
	rp->orcpt = m->act->env.rcpt[i].orcpt[0] ? m->act->env.rcpt[i].orcpt : NULL;
	if (kind == NOTICE_SUCCESS)
		rp->action = m->act->round[i].remote ? DSN_ACTION_RELAYED :
		    DSN_ACTION_DELIVERED;
	else if (kind == NOTICE_DELAY)
		rp->action = DSN_ACTION_DELAYED;
	else
		rp->action = DSN_ACTION_FAILED;
	if (sr->dsn[0] != '\0' && (kind != NOTICE_DELAY || sr->dsn[0] == '4'))
		rp->status = sr->dsn;
	rp->remote_mta = m->act->round[i].relay[0] ? m->act->round[i].relay : NULL;
	rp->diagnostic = sr->reply[0] ? sr->reply : NULL;
	rp->last_attempt = sr->last_attempt;
	rp->will_retry_until = kind == NOTICE_DELAY ? until : 0;
}

/*
 * queue_notify - enqueue one notice of this kind about m, addressed to
 * `to` (double_bounce), or to m's sender when to is NULL.
 * 1 sent, 0 nothing to report, -1 error.
 */
static int
queue_notify(struct queue *q, struct qmsg *m, const char *to,
    int kind, time_t now)
{
	struct dsn_report *rp;
	char	 newid[QUEUEID_LEN + 1], err[256];
	size_t	 i, n = 0;
	FILE	*fp = NULL;
	int	 r = -1;

	if ((rp = calloc(m->act->env.nrcpt, sizeof(*rp))) == NULL)
		return -1;
	for (i = 0; i < m->act->env.nrcpt; i++)
		if (queue_wants(m, i, kind))
			queue_report(m, i, kind, retry_expiry(q->cfg,
			    m->act->arrival, m->act->is_bounce), &rp[n++]);
	if (n == 0) {
		r = 0;
		goto out;
	}
	/* the body only: m->act->env is the envelope parsed on activation */
	if (queuefile_open_body(q->cfg->spool_dir, m->id, &m->act->file, &fp, err,
	    sizeof(err)) != 0) {
		log_warnx("%s: open queue file: %s", m->id, err);
		goto out;
	}
	/* not announced: we load it ourselves, below */
	if (bounce_enqueue(q->cfg, &m->act->env, to, fp, rp, n, now, 0,
	    newid) == -1)
		goto out;		/* bounce_enqueue() logged why */
	if (kind == NOTICE_DOUBLE)
		log_info("%s: undeliverable notice reported to <%s>: %s",
		    m->id, to, newid);
	if (queue_find(q, newid) == NULL)
		queue_load(q, newid, now, 0);
	r = 1;
out:
	if (fp != NULL)
		fclose(fp);
	free(rp);
	return r;
}

/* queue_double_bounce - a notice failed: tell double_bounce, once */
static int
queue_double_bounce(struct queue *q, struct qmsg *m, time_t now)
{
	const char *db = q->cfg->double_bounce;
	char	 to[ADDR_MAX];
	size_t	 i;

	if (strchr(db, '@') == NULL && db[0] != '\0')
		snprintf(to, sizeof(to), "%s@%s", db, q->cfg->hostname);
	else
		snprintf(to, sizeof(to), "%s", db);
	for (i = 0; i < m->act->env.nrcpt; i++)
		if (queue_rcpt_outcome(m, i) == RCPT_FAILED &&
		    (db[0] == '\0' || strcasecmp(m->act->env.rcpt[i].addr,
		    to) == 0)) {
			log_info("%s: undeliverable notice to <%s> dropped",
			    m->id, m->act->env.rcpt[i].addr);
			return 0;
		}
	return queue_notify(q, m, to, NOTICE_DOUBLE, now);
}

/*
 * queue_expire - undelivered recipients of an expired message fail:
 * 4.4.7 (delivery time expired), except that a mailbox that stayed full
 * (its last deferral 4.2.2, a quota) is 5.2.2 (RFC 3463 3.3), as
 * Postfix reports it.
 */
static void
queue_expire(struct queue *q, struct qmsg *m, time_t now)
{
	struct state_rcpt *sr;
	const char *dsn;
	size_t	 i;

	if (m->held || !retry_is_expired(q->cfg, m->act->arrival, now,
	    m->act->is_bounce))
		return;
	for (i = 0; i < m->act->env.nrcpt; i++) {
		sr = &m->act->st.rcpt[i];
		if (!state_rcpt_is_undelivered(sr))
			continue;
		dsn = strcmp(sr->dsn, "4.2.2") == 0 ? "5.2.2" : "4.4.7";
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, "
		    "status=expired, returned to sender (%s)", m->id,
		    m->act->env.rcpt[i].addr, (long long)(now - m->act->arrival), dsn,
		    sr->reply[0] ? sr->reply : "delivery time expired");
		queue_rcpt_set(m, i, RCPT_FAILED, dsn);
	}
}

/* queue_failures - one failure notice for the round; on error the
 * failed recipients stay deferred, so the notice is never lost */
static void
queue_failures(struct queue *q, struct qmsg *m, time_t now)
{
	size_t	 i;
	int	 r;

	r = m->act->is_bounce ? queue_double_bounce(q, m, now) :
	    queue_notify(q, m, NULL, NOTICE_FAILURE, now);
	if (r != -1)
		return;
	log_warnx("%s: failure notice not queued; the failed recipients "
	    "stay deferred", m->id);
	for (i = 0; i < m->act->env.nrcpt; i++)
		if (queue_rcpt_outcome(m, i) == RCPT_FAILED)
			queue_rcpt_set(m, i, RCPT_DEFERRED, NULL);
}

/* queue_retry_at - a deferred recipient's next attempt: the end of its
 * destination's back-off (queue_dest.c), else after retry_interval;
 * never after the message expires */
static time_t
queue_retry_at(struct queue *q, const struct qmsg *m, size_t i, time_t now)
{
	time_t	 expiry = retry_expiry(q->cfg, m->act->arrival, m->act->is_bounce);
	time_t	 at = m->act->round[i].retry_at;

	if (at <= now)
		return retry_next_attempt(q->cfg, m->act->arrival, now,
		    m->act->is_bounce);
	return at < expiry ? at : expiry > now ? expiry : now;
}

/* queue_finish - the round is over: notify, then persist or remove */
static void
queue_finish(struct queue *q, struct qmsg *m, time_t now)
{
	size_t	 i, left = 0;

	queue_deactivate(q, m);
	if (m->deleted) {
		queue_remove(q, m);
		return;
	}
	queue_expire(q, m, now);
	queue_failures(q, m, now);
	if (!m->act->is_bounce)
		queue_notify(q, m, NULL, NOTICE_SUCCESS, now);
	for (i = 0; i < m->act->env.nrcpt; i++) {
		if (queue_rcpt_outcome(m, i) == RCPT_DEFERRED)
			m->act->st.rcpt[i].next_attempt = queue_retry_at(q, m, i,
			    now);
		left += state_rcpt_is_undelivered(&m->act->st.rcpt[i]);
	}
	if (left > 0 && !m->warned && !m->act->is_bounce &&
	    retry_warn_is_due(q->cfg, m->act->arrival, now) &&
	    queue_notify(q, m, NULL, NOTICE_DELAY, now) != -1)
		m->warned = 1;
	if (left == 0) {
		queue_remove(q, m);
		return;
	}
	queue_save_state(q, m, &m->act->st, 1);
	heap_set(&q->heap, &m->item, queue_due(m, &m->act->st, now));
	queue_share_hint(q, m);		/* for when it is next due */
	queue_unload(m);
}

void
queue_finish_rounds(struct queue *q, time_t now)
{
	size_t	 i = 0;

	while (i < q->nactive) {
		if (queue_round_is_over(q->active[i]))
			queue_finish(q, q->active[i], now);
		else
			i++;
	}
}
