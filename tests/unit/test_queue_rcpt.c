/* SPDX-License-Identifier: ISC */
/*
 * test_queue_rcpt.c - the one state of each recipient of an active
 * message (src/qmgr/queue_rcpt.c): a round starts with the undelivered
 * recipients waiting, an agent result sets the saved state and the
 * round's outcome together, a failure taken back is deferred, and the
 * round is over only when nobody waits and no agent holds the message.
 */
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "envelope.h"
#include "queue_priv.h"
#include "unit.h"

#define ID	"0RB8KX2JZ5Q0A1A"

/* a message of n recipients, the first `done` of them delivered before */
static void
msg_init(struct qmsg *m, size_t n, size_t done)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	CHECK((m->act = calloc(1, sizeof(*m->act))) != NULL);
	envelope_init(&m->act->env);
	for (i = 0; i < n; i++)
		CHECK(envelope_add_rcpt(&m->act->env, "bob@example.com", 0, "") ==
		    0);
	CHECK(state_alloc(&m->act->st, ID, n) == 0);
	for (i = 0; i < done; i++)
		m->act->st.rcpt[i].state = RCPT_DELIVERED;
	CHECK((m->act->round = calloc(n, sizeof(*m->act->round))) != NULL);
	m->active = 1;
	queue_rcpt_start(m);
}

static void
msg_free(struct qmsg *m)
{
	envelope_free(&m->act->env);
	state_free(&m->act->st);
	free(m->act->round);
	free(m->act);
}

static void
test_start_waits_for_the_undelivered(void)
{
	struct qmsg m;

	msg_init(&m, 3, 1);
	CHECK(!queue_rcpt_waits(&m, 0) && queue_rcpt_waits(&m, 1) &&
	    queue_rcpt_waits(&m, 2));
	CHECK(queue_rcpt_outcome(&m, 0) == -1);
	CHECK(queue_rcpt_outcome(&m, 1) == -1);
	CHECK(!queue_round_is_over(&m));
	msg_free(&m);
}

static void
test_record_sets_state_and_outcome(void)
{
	struct qmsg m;

	msg_init(&m, 3, 0);
	queue_rcpt_take(&m, 0, 1);
	queue_rcpt_take(&m, 1, 1);
	queue_rcpt_take(&m, 2, 0);
	CHECK(queue_rcpt_is_busy(&m, 0) && !queue_rcpt_waits(&m, 0));
	CHECK(m.act->round[0].remote && !m.act->round[2].remote);
	queue_rcpt_record(&m, 0, DELIVER_OK, "2.0.0", "mx[192.0.2.1]:25",
	    "250 ok");
	queue_rcpt_record(&m, 1, DELIVER_TEMPFAIL, "5.1.1", "", "later");
	queue_rcpt_record(&m, 2, DELIVER_PERMFAIL, "junk", "local", "no\n");
	CHECK(m.act->st.rcpt[0].state == RCPT_DELIVERED &&
	    queue_rcpt_outcome(&m, 0) == RCPT_DELIVERED);
	CHECK_STR(m.act->round[0].relay, "mx[192.0.2.1]:25");
	/* the status code always has the class of the outcome */
	CHECK(m.act->st.rcpt[1].state == RCPT_DEFERRED &&
	    m.act->st.rcpt[1].attempts == 1);
	CHECK_STR(m.act->st.rcpt[1].dsn, "4.0.0");
	CHECK(queue_rcpt_outcome(&m, 2) == RCPT_FAILED);
	CHECK_STR(m.act->st.rcpt[2].dsn, "5.0.0");
	CHECK_STR(m.act->st.rcpt[2].reply, "no ");
	CHECK(!queue_rcpt_is_busy(&m, 2));
	CHECK(queue_round_is_over(&m));
	m.act->agents = 1;
	CHECK(!queue_round_is_over(&m));
	msg_free(&m);
}

static void
test_set_takes_back_a_failure(void)
{
	struct qmsg m;

	msg_init(&m, 1, 0);
	queue_rcpt_set(&m, 0, RCPT_FAILED, "4.4.7");
	CHECK(queue_rcpt_outcome(&m, 0) == RCPT_FAILED);
	CHECK_STR(m.act->st.rcpt[0].dsn, "4.4.7");
	queue_rcpt_set(&m, 0, RCPT_DEFERRED, NULL);
	CHECK(queue_rcpt_outcome(&m, 0) == RCPT_DEFERRED &&
	    m.act->st.rcpt[0].state == RCPT_DEFERRED);
	CHECK_STR(m.act->st.rcpt[0].dsn, "4.4.7");
	msg_free(&m);
}

static void
test_stop_round(void)
{
	struct qmsg m;

	msg_init(&m, 2, 0);
	queue_rcpt_take(&m, 0, 1);
	queue_stop_round(&m);
	CHECK(!queue_rcpt_waits(&m, 1) && queue_rcpt_outcome(&m, 1) == -1);
	CHECK(queue_rcpt_is_busy(&m, 0) && !queue_round_is_over(&m));
	queue_rcpt_record(&m, 0, DELIVER_OK, "2.0.0", "", "");
	CHECK(queue_round_is_over(&m));
	CHECK(m.act->st.rcpt[1].state == RCPT_PENDING);
	msg_free(&m);
}

int
main(void)
{
	RUN(test_start_waits_for_the_undelivered);
	RUN(test_record_sets_state_and_outcome);
	RUN(test_set_takes_back_a_failure);
	RUN(test_stop_round);
	return unit_done();
}
