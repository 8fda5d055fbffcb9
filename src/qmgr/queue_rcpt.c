/* SPDX-License-Identifier: ISC */
/*
 * queue_rcpt.c - the one state of each recipient of an active message.
 *
 * A recipient's state is its state-file state, m->act->st.rcpt[i].state
 * (pending, deferred, delivered, failed: what is saved), and nothing
 * else; the round only adds how far this attempt has gone with it,
 * m->act->round[i].step:
 *
 *	STEP_IDLE	not part of this round (done before, held, stopped)
 *	STEP_WAIT	undelivered, waiting for an agent
 *	STEP_BUSY	handed to an agent, no result yet
 *	STEP_DONE	decided in this round: the state says how
 *
 * queue_rcpt_set() is the only function that changes a recipient's
 * state, so what is saved and what the round knows never differ; the
 * outcome of the round, queue_rcpt_outcome(), is derived from both.
 * Pure logic on struct qmsg: this file calls nothing else of the runner.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "delivery.h"
#include "dsn.h"
#include "envelope.h"
#include "queue_priv.h"

/* queue_rcpt_start - a new round: every undelivered recipient waits */
void
queue_rcpt_start(struct qmsg *m)
{
	size_t	 i;

	for (i = 0; i < m->act->env.nrcpt; i++)
		m->act->round[i].step = state_rcpt_is_undelivered(&m->act->st.rcpt[i]) ?
		    STEP_WAIT : STEP_IDLE;
}

int
queue_rcpt_waits(const struct qmsg *m, size_t i)
{
	return m->act->round[i].step == STEP_WAIT;
}

int
queue_rcpt_is_busy(const struct qmsg *m, size_t i)
{
	return m->act->round[i].step == STEP_BUSY;
}

/* queue_rcpt_take - recipient i goes to an agent */
void
queue_rcpt_take(struct qmsg *m, size_t i, int remote)
{
	m->act->round[i].step = STEP_BUSY;
	m->act->round[i].remote = remote;
}

/*
 * queue_rcpt_set - recipient i is decided in this round: the one place
 * that sets a recipient's state (enum rcpt_state) and, with dsn not
 * NULL, its status code.
 */
void
queue_rcpt_set(struct qmsg *m, size_t i, int state, const char *dsn)
{
	m->act->st.rcpt[i].state = state;
	if (dsn != NULL)
		snprintf(m->act->st.rcpt[i].dsn, sizeof(m->act->st.rcpt[i].dsn), "%s",
		    dsn);
	m->act->round[i].step = STEP_DONE;
}

/* queue_rcpt_outcome - enum rcpt_state decided in this round, or -1 */
int
queue_rcpt_outcome(const struct qmsg *m, size_t i)
{
	return m->act->round[i].step == STEP_DONE ? m->act->st.rcpt[i].state : -1;
}

/* queue_rcpt_record - one agent result (enum deliver_status) for i */
void
queue_rcpt_record(struct qmsg *m, size_t i, int status, const char *dsn,
    const char *relay, const char *reply)
{
	struct state_rcpt *sr = &m->act->st.rcpt[i];
	static const int states[] = { RCPT_DELIVERED, RCPT_DEFERRED,
		RCPT_FAILED };
	static const int classes[] = { 2, 4, 5 };

	queue_rcpt_set(m, i, states[status],
	    dsn_class(dsn) == classes[status] ? dsn :
	    dsn_generic(classes[status]));
	if (status == DELIVER_TEMPFAIL)
		sr->attempts++;
	sr->last_attempt = time(NULL);
	snprintf(sr->reply, sizeof(sr->reply), "%s", reply);
	delivery_text_sanitise(sr->reply);
	snprintf(m->act->round[i].relay, sizeof(m->act->round[i].relay), "%s", relay);
}

/*
 * queue_rcpt_defer_until - recipient i, just deferred, waits for its
 * destination's back-off to end: that is its next attempt, and the
 * deferral is not counted as an attempt.
 */
void
queue_rcpt_defer_until(struct qmsg *m, size_t i, time_t until)
{
	if (m->act->st.rcpt[i].attempts > 0)
		m->act->st.rcpt[i].attempts--;
	m->act->round[i].retry_at = until;
}

/* queue_round_is_over - no agent holds m, no recipient waits for one */
int
queue_round_is_over(const struct qmsg *m)
{
	size_t	 i;

	if (m->act->agents > 0)
		return 0;
	for (i = 0; i < m->act->env.nrcpt; i++)
		if (m->act->round[i].step == STEP_WAIT ||
		    m->act->round[i].step == STEP_BUSY)
			return 0;
	return 1;
}

/* queue_stop_round - recipients not yet handed to an agent wait */
void
queue_stop_round(struct qmsg *m)
{
	size_t	 i;

	for (i = 0; m->active && i < m->act->env.nrcpt; i++)
		if (m->act->round[i].step == STEP_WAIT)
			m->act->round[i].step = STEP_IDLE;
}
