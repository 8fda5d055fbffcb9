/* SPDX-License-Identifier: ISC */
/*
 * queue_agent.c - delivery agents of the queue runner: group waiting
 * recipients by destination, start agents within max_deliveries and
 * max_per_destination (remote) and max_local_deliveries (local, slots
 * of their own), read their result lines (delivery.h).
 *
 * A remote destination is routed here, once (transport.c): "discard"
 * and a transport map error are decided here without a process; any
 * other route goes to an agent forked here, which runs
 * remote_agent_run() for one domain with up to QUEUE_BATCH_MAX messages,
 * so one connection carries several messages, and each message's
 * recipients of that domain go in one transaction, up to
 * destination_recipient_limit (more make more jobs: transactions on the
 * same connection).  A destination with a rate gets no more messages
 * than its rate leaves room for, and one backed off from (it asked to
 * slow down) gets no agent: its waiting recipients are deferred here to
 * the end of the back-off (queue_dest.c).  A local agent (up to
 * QUEUE_BATCH_MAX messages too: one fork and one aliases load for all)
 * is forked here as well and runs as `user`; it sends each job that
 * needs another uid to the master (local_job.h), or forks it itself when
 * there is no master (master_sock -1).  An agent whose pipe reaches EOF,
 * or which exits, is ended in queue_agents_sweep(): each of its
 * recipients without a result is deferred with 4.3.0, never lost.
 *
 * Each job carries what its agent needs (queue_take()): the recipients,
 * the envelope parsed when the message was activated (a pointer into
 * this process, valid in the agent forked from it) and the queue file's
 * mark, the body's offset and size; with the route, the agent neither
 * parses the envelope nor routes again.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "log.h"
#include "mx.h"
#include "queue_priv.h"
#include "relayauth.h"
#include "throttlefile.h"
#include "transport.h"

/* rcpt_dest - the destination of addr: "local" (a local or virtual
 * domain: the local agent) or its lower-cased domain */
static int
rcpt_dest(const struct config *cfg, const char *addr, char *dest,
    size_t len)
{
	const char *at = strrchr(addr, '@');
	size_t	 i;

	if (at == NULL || config_is_local_domain(cfg, at + 1) ||
	    config_is_virtual_domain(cfg, at + 1)) {
		snprintf(dest, len, "local");
		return 1;
	}
	for (i = 0; at[i + 1] != '\0' && i + 1 < len; i++)
		dest[i] = tolower((unsigned char)at[i + 1]);
	dest[i] = '\0';
	return 0;
}

static size_t
queue_dest_busy(struct queue *q, int local, const char *dest)
{
	struct agent *a;
	size_t	 n = 0;

	for (a = q->agents; a != NULL; a = a->next)
		if (a->local == local && (local || strcmp(a->dest, dest) == 0))
			n++;
	return n;
}

/*
 * agent_may_start - a free slot for one more agent: local agents have
 * their own max_local_deliveries, so local mail never waits behind
 * remote delivery; remote ones share max_deliveries, at most
 * max_per_destination of them to one domain.
 */
static int
agent_may_start(struct queue *q, int local, const char *dest)
{
	struct agent *a;
	size_t	 remote = 0;

	if (local)
		return queue_dest_busy(q, 1, dest) <
		    (size_t)q->cfg->max_local_deliveries;
	for (a = q->agents; a != NULL; a = a->next)
		remote += !a->local;
	return remote < (size_t)q->cfg->max_deliveries &&
	    queue_dest_busy(q, 0, dest) < (size_t)q->cfg->max_per_destination
	    && !queue_dest_blocked(q, dest);
}

/* queue_job_close - job, of message m, is a's next */
static void
queue_job_close(struct agent *a, struct qmsg *m, struct delivery_job *job)
{
	strcpy(job->id, m->id);
	job->env = &m->act->env;	/* valid in the forked agent */
	job->file = m->act->file;
	a->msgs[a->njobs++] = m;
	m->act->agents++;
}

/* queue_take - add m's waiting recipients for dest to a's job list: one
 * job per destination_recipient_limit of them (remote: a transaction
 * each), while a has room; a local job has all of them, as its
 * duplicate filter works per job */
static int
queue_take(struct queue *q, struct agent *a, struct qmsg *m, size_t max)
{
	struct delivery_job *job = &a->jobs[a->njobs];
	char	 dest[256];
	size_t	 i, limit = a->local ? m->act->env.nrcpt :
	    (size_t)q->cfg->destination_recipient_limit;
	int	 local;

	memset(job, 0, sizeof(*job));
	for (i = 0; i < m->act->env.nrcpt && a->njobs < max; i++) {
		const struct envelope_rcpt *er = &m->act->env.rcpt[i];
		struct delivery_rcpt *dr;

		local = rcpt_dest(q->cfg, er->addr, dest, sizeof(dest));
		if (!queue_rcpt_waits(m, i) || local != a->local ||
		    (!local && strcmp(dest, a->dest) != 0))
			continue;
		if (job->rcpt == NULL && (job->rcpt = calloc(m->act->env.nrcpt <
		    limit ? m->act->env.nrcpt : limit, sizeof(*dr))) == NULL)
			return -1;
		dr = &job->rcpt[job->nrcpt++];
		dr->index = i;
		dr->notify = er->notify;
		snprintf(dr->addr, sizeof(dr->addr), "%s", er->addr);
		snprintf(dr->orcpt, sizeof(dr->orcpt), "%s", er->orcpt);
		queue_rcpt_take(m, i, !local);
		if (job->nrcpt == limit) {
			queue_job_close(a, m, job);
			if (a->njobs == max)	/* a is full: no next job */
				return 0;
			job = &a->jobs[a->njobs];
			memset(job, 0, sizeof(*job));
		}
	}
	/* an open job means a had room for it (the loop's condition) */
	if (job->nrcpt > 0)
		queue_job_close(a, m, job);
	return 0;
}

/* queue_child - in a forked agent: drop what belongs to the runner */
static void
queue_child(struct queue *q, struct agent *self)
{
	struct agent *a;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	close(q->sig[0]);
	close(q->sig[1]);
	close(q->trig_rd);
	close(q->trig_wr);
	/* A local agent sends its privileged jobs to the master. */
	if (q->master_sock != -1 && !self->local)
		close(q->master_sock);
	/* The relayhost credentials are for the remote agents alone. */
	if (self->local)
		relayauth_close();
	for (a = q->agents; a != NULL; a = a->next)
		if (a != self)
			close(a->fd);
	log_setproc(self->local ? "local" : "smtp");
}

/*
 * queue_decide_here - every recipient of a gets this outcome without an
 * agent process, logged as an agent would log it.
 */
static void
queue_decide_here(struct agent *a, int status, const char *dsn,
    const char *relay, const char *reply)
{
	static const char *const words[] = { "sent", "deferred", "bounced" };
	struct qmsg *m;
	size_t	 k, j;
	time_t	 now = time(NULL);

	for (k = 0; k < a->njobs; k++) {
		m = a->msgs[k];
		for (j = 0; j < a->jobs[k].nrcpt; j++) {
			queue_rcpt_record(m, a->jobs[k].rcpt[j].index, status,
			    dsn, relay, reply);
			log_info("%s: to=<%s>, relay=%s, delay=%.0f, dsn=%s, "
			    "status=%s (%s)", m->id, a->jobs[k].rcpt[j].addr,
			    relay[0] ? relay : "none",
			    difftime(now, m->act->env.arrival), dsn, words[status],
			    reply);
		}
	}
	a->pid = -1;
	a->fd = -1;
	a->done = 1;
}

/*
 * rate_key - what a's messages count under for destination_rate: the
 * domain, or with nexthop the host and port of a transport or relayhost
 * route, or for an MX route the best MX host of the answer an earlier
 * agent reported (mx:HOST); before any answer is kept, the domain.
 */
static void
rate_key(struct queue *q, struct agent *a)
{
	struct mx_host	 mx[MX_HOSTS_MAX];
	unsigned long	 ttl;
	size_t		 n, i, best;
	int		 secure;

	snprintf(a->key, sizeof(a->key), "%s", a->dest);
	if (q->cfg->destination_rate_by != CONFIG_RATE_NEXTHOP)
		return;
	if (strcmp(a->route.source, "mx") != 0) {
		snprintf(a->key, sizeof(a->key), "%.200s:%d", a->route.host,
		    a->route.port);
		return;
	}
	if (a->route.mx == NULL || mx_from_text(a->route.mx, mx,
	    MX_HOSTS_MAX, &n, &secure, &ttl) == -1 || n == 0)
		return;
	for (best = 0, i = 1; i < n; i++)
		if (mx[i].pref < mx[best].pref)
			best = i;
	snprintf(a->key, sizeof(a->key), "mx:%.240s", mx[best].name);
}

/*
 * queue_route - route a remote destination once, here, before its jobs
 * are taken; the agent gets the route.  It also says which key the
 * destination's rate counts under, and how many messages it may take.
 * Returns 0 when a needs a real agent, 1 when it is decided here
 * (queue_decide), -1 on a transport map error (decided here too).
 */
static int
queue_route(struct queue *q, struct agent *a, char *err, size_t len,
    size_t *max)
{
	size_t	 room;

	*max = QUEUE_BATCH_MAX;
	if (a->local)
		return 0;
	if (transport_route(q->cfg, a->dest, &a->route, err, len) == -1)
		return -1;
	if (a->route.kind == TRANSPORT_DISCARD ||
	    queue_dest_until(q, a->dest, time(NULL)) != 0)
		return 1;
	if (a->route.kind == TRANSPORT_MX)	/* an earlier agent's answer */
		a->route.mx = queue_dest_mx(q, a->dest, time(NULL));
	rate_key(q, a);
	room = queue_dest_room(q, a->dest, a->key, a->route.rate);
	if (room < *max)
		*max = room;
	return 0;
}

/*
 * queue_decide - a's jobs that need no process: a map error defers
 * every recipient (4.3.5), "discard" delivers every one (2.0.0), and a
 * destination backed off from defers them to the end of its back-off,
 * not counted as an attempt.
 */
static void
queue_decide(struct queue *q, struct agent *a, int routed, const char *err)
{
	char	 reply[600];
	time_t	 until;
	size_t	 k, j;

	if (routed == -1) {
		log_warnx("%s", err);
		snprintf(reply, sizeof(reply), "transport: %s", err);
		queue_decide_here(a, DELIVER_TEMPFAIL, "4.3.5", "", reply);
		return;
	}
	if (a->route.kind == TRANSPORT_DISCARD) {
		queue_decide_here(a, DELIVER_OK, "2.0.0", "none", "discarded");
		return;
	}
	until = queue_dest_until(q, a->dest, time(NULL));
	snprintf(reply, sizeof(reply), "destination %s asked to slow down; "
	    "backing off until %lld", a->dest, (long long)until);
	queue_decide_here(a, DELIVER_TEMPFAIL, "4.7.0", "", reply);
	for (k = 0; k < a->njobs; k++)
		for (j = 0; j < a->jobs[k].nrcpt; j++)
			queue_rcpt_defer_until(a->msgs[k],
			    a->jobs[k].rcpt[j].index, until);
}

/* queue_spawn - start the agent process; its results come on a->fd */
static int
queue_spawn(struct queue *q, struct agent *a)
{
	int	 fds[2];

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	a->fd = fds[0];
	if ((a->pid = fork()) == -1) {
		goto fail;
	} else if (a->pid == 0) {
		queue_child(q, a);
		_exit(a->local ? local_agent_run(q->cfg, a->jobs, a->njobs,
		    fds[1], q->master_sock) :
		    remote_agent_run(q->cfg, a->dest, &a->route, a->jobs,
		    a->njobs, fds[1]));
	}
	close(fds[1]);
	fcntl(a->fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	close(fds[0]);
	close(fds[1]);
	a->fd = -1;
	return -1;
}

static void
queue_agent_free(struct agent *a)
{
	size_t	 i;

	for (i = 0; i < a->njobs; i++)
		free(a->jobs[i].rcpt);
	free(a->jobs);
	free(a->msgs);
	if (a->fd != -1)
		close(a->fd);
	free(a);
}

/* agent_start - one agent for dest, with the recipients of active[first]
 * and of later active messages for the same dest (a remote domain: one
 * connection; local: one agent process), up to QUEUE_BATCH_MAX. */
static void
agent_start(struct queue *q, int local, const char *dest, size_t first)
{
	struct agent *a;
	char	 err[512];
	size_t	 i, max;
	int	 routed;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->jobs = calloc(QUEUE_BATCH_MAX, sizeof(*a->jobs))) == NULL ||
	    (a->msgs = calloc(QUEUE_BATCH_MAX, sizeof(*a->msgs))) == NULL)
		goto fail;
	a->q = q;
	a->fd = -1;
	a->local = local;
	snprintf(a->dest, sizeof(a->dest), "%s", dest);
	routed = queue_route(q, a, err, sizeof(err), &max);
	if (max == 0) {		/* its rate has no room: later */
		queue_agent_free(a);
		return;
	}
	for (i = first; i < q->nactive && a->njobs < max; i++)
		if (!q->active[i]->deleted && !q->active[i]->held &&
		    queue_take(q, a, q->active[i], max) == -1)
			goto fail;
	if (routed == 0)
		queue_dest_sent(q, a->key, a->njobs);
	if (routed != 0)
		queue_decide(q, a, routed, err);
	else if (queue_spawn(q, a) == -1)
		goto fail;
	a->next = q->agents;
	q->agents = a;
	q->nagents++;
	log_debug("agent for %s: %zu messages", dest, a->njobs);
	return;
fail:
	log_warn("cannot start a delivery agent for %s", dest);
	if (a != NULL) {
		a->done = 1;
		a->next = q->agents;	/* its recipients are deferred below */
		q->agents = a;
		q->nagents++;
	}
}

/* queue_dispatch - start agents for waiting recipients, within limits;
 * with every slot taken (a backlog) it returns without walking the
 * active set */
void
queue_dispatch(struct queue *q)
{
	struct qmsg *m;
	struct agent *a;
	char	 dest[256];
	size_t	 i, r, nlocal = 0, nremote = 0;
	int	 local;

	for (a = q->agents; a != NULL; a = a->next)
		a->local ? nlocal++ : nremote++;
	if (nremote >= (size_t)q->cfg->max_deliveries &&
	    nlocal >= (size_t)q->cfg->max_local_deliveries)
		return;
	for (i = 0; i < q->nactive; i++) {
		m = q->active[i];
		for (r = 0; r < m->act->env.nrcpt; r++) {
			if (!queue_rcpt_waits(m, r))
				continue;
			local = rcpt_dest(q->cfg, m->act->env.rcpt[r].addr, dest,
			    sizeof(dest));
			if (agent_may_start(q, local, dest))
				agent_start(q, local, dest, i);
		}
	}
}

/* queue_result - apply one result line from agent a */
static void
queue_result(struct agent *a, const char *line)
{
	struct delivery_result res;
	time_t	 now;
	size_t	 k, j;

	if (strncmp(line, "mx ", 3) == 0 && !a->local) {
		queue_dest_mx_store(a->q, a->dest, line + 3, time(NULL));
		return;
	}
	if (strncmp(line, "throttle ", 9) == 0 && !a->local) {
		char	 why[THROTTLE_REASON_MAX];

		snprintf(why, sizeof(why), "%s", line + 9);
		delivery_text_sanitise(why);
		a->until = queue_dest_throttle(a->q, a->dest, why, time(NULL));
		return;
	}
	if (delivery_result_parse(line, &res) == -1 ||
	    res.status < DELIVER_OK || res.status > DELIVER_PERMFAIL) {
		log_warnx("agent for %s: bad result line", a->dest);
		return;
	}
	for (k = 0; k < a->njobs; k++) {
		if (strcmp(a->jobs[k].id, res.id) != 0)
			continue;
		for (j = 0; j < a->jobs[k].nrcpt; j++) {
			if (a->jobs[k].rcpt[j].index != res.index ||
			    !queue_rcpt_is_busy(a->msgs[k], res.index))
				continue;
			queue_rcpt_record(a->msgs[k], res.index, res.status,
			    res.dsn, res.relay, res.reply);
			if (res.status == DELIVER_TEMPFAIL && a->until != 0)
				queue_rcpt_defer_until(a->msgs[k], res.index,
				    a->until);
		}
	}
	if (res.status == DELIVER_OK && !a->local) {
		now = time(NULL);
		queue_dest_ok(a->q, a->dest, now);
	}
}

/* queue_agent_read - take the lines that are there; mark done on EOF */
void
queue_agent_read(struct agent *a)
{
	ssize_t	 n;
	char	*nl;

	for (;;) {
		n = read(a->fd, a->buf + a->len, sizeof(a->buf) - 1 - a->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				a->done = 1;
			return;
		}
		a->len += n;
		a->buf[a->len] = '\0';
		while ((nl = strchr(a->buf, '\n')) != NULL) {
			*nl = '\0';
			queue_result(a, a->buf);
			a->len -= nl + 1 - a->buf;
			memmove(a->buf, nl + 1, a->len + 1);
		}
		if (a->len == sizeof(a->buf) - 1) {
			log_warnx("agent for %s: result line too long",
			    a->dest);
			a->len = 0;
		}
	}
}

/* queue_agent_end - a recipient without a result is deferred, not lost */
static void
queue_agent_end(struct queue *q, struct agent *a)
{
	struct qmsg *m;
	size_t	 k, j, i;

	for (k = 0; k < a->njobs; k++) {
		m = a->msgs[k];
		for (j = 0; j < a->jobs[k].nrcpt; j++) {
			i = a->jobs[k].rcpt[j].index;
			if (queue_rcpt_is_busy(m, i))
				queue_rcpt_record(m, i, DELIVER_TEMPFAIL,
				    "4.3.0", "", a->fd == -1 ?
				    "cannot start delivery agent" :
				    "delivery agent died");
		}
		m->act->agents--;
	}
	q->nagents--;
	queue_agent_free(a);
}

void
queue_agents_sweep(struct queue *q)
{
	struct agent **ap = &q->agents, *a;

	while ((a = *ap) != NULL) {
		if (a->done) {
			*ap = a->next;
			queue_agent_end(q, a);
		} else
			ap = &a->next;
	}
}

/* queue_reap - collect exited agents; a dead agent's pipe is drained */
void
queue_reap(struct queue *q)
{
	struct agent *a;
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (a = q->agents; a != NULL && a->pid != pid; a = a->next)
			;
		if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
			log_warnx("delivery agent pid %ld exited with %s %d",
			    (long)pid,
			    WIFSIGNALED(status) ? "signal" : "status",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
			    WEXITSTATUS(status));
		if (a != NULL) {
			a->pid = 0;
			queue_agent_read(a);
			a->done = 1;
		}
	}
}

/* queue_agents_kill - at shutdown: stop the agents we forked, forget all */
void
queue_agents_kill(struct queue *q)
{
	struct agent *a;

	while ((a = q->agents) != NULL) {
		q->agents = a->next;
		if (a->pid > 0)
			kill(a->pid, SIGTERM);
		queue_agent_free(a);
	}
	q->nagents = 0;
}
