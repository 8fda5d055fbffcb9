/* SPDX-License-Identifier: ISC */
/*
 * queue.c - the queue runner's loop: one poll() on the signal self-pipe,
 * the trigger FIFO and the agents' result pipes, with a timeout until
 * the next message in the schedule is due.  See queue.h for the
 * interface and the trigger protocol, queue_priv.h for the parts.
 *
 * The runner holds the spool's lock (spool_lock()) from before it opens
 * the FIFO until it stops: the one writer of state files.
 *
 * Each turn: read some more of the spool for the start-up scan (for at
 * most SCAN_BUDGET_MS), end finished agents, end finished rounds, read
 * one directory for a running "flush @domain" rescan (queue_rescan.c),
 * activate due messages, start agents, sleep.  Nothing rescans the spool
 * on a timer; the schedule is rebuilt from the spool once, at start-up,
 * and after that only a rescan (flush @domain, or a FIFO that may have
 * lost lines) loads what no "new ID" announced.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "heap.h"
#include "log.h"
#include "queue.h"
#include "queue_priv.h"
#include "spool.h"

static int queue_sigfd = -1;

static void
queue_do_flush(struct queue *q, struct qmsg *m, time_t now)
{
	/* a parked message goes as soon as its domain's share has room:
	 * making it due would only park it again */
	if (!m->held && !m->active && !m->parked)
		heap_set(&q->heap, &m->item, now);
}

static void
queue_do_hold(struct queue *q, struct qmsg *m, time_t now)
{
	(void)now;
	if (m->held)
		return;
	m->held = 1;
	log_info("%s: placed on hold", m->id);
	/* a held message is never parked: else, at the head of its
	 * domain's list, it would take the turn of the one behind it */
	queue_share_unpark(q, m);
	queue_stop_round(m);
	if (!m->active) {
		queue_save_flags(q, m);
		heap_set(&q->heap, &m->item, HEAP_NEVER);
	}
}

static void
queue_do_release(struct queue *q, struct qmsg *m, time_t now)
{
	if (!m->held)
		return;
	m->held = 0;
	log_info("%s: released from hold", m->id);
	if (!m->active) {
		queue_save_flags(q, m);
		heap_set(&q->heap, &m->item, now);
	}
}

static void
queue_do_delete(struct queue *q, struct qmsg *m, time_t now)
{
	(void)now;
	if (!m->active) {
		queue_remove(q, m);
		return;
	}
	m->deleted = 1;
	queue_stop_round(m);
}

/* queue_select - apply fn to the messages named by arg: NULL or "ALL"
 * for all, "@domain", or a queue id */
static void
queue_select(struct queue *q, const char *arg, time_t now,
    void (*fn)(struct queue *, struct qmsg *, time_t))
{
	struct qmsg *m, **all;
	const char *domain = arg != NULL ? arg + 1 : NULL;
	size_t	 i, n = q->heap.n;

	if (arg != NULL && strcmp(arg, "ALL") != 0 && arg[0] != '@') {
		/* during the start-up scan it may be in a directory not read
		 * yet */
		if ((m = queue_find(q, arg)) == NULL)
			m = queue_load_named(q, arg, now);
		if (m != NULL)
			fn(q, m, now);
		else
			log_warnx("%s: not in the queue", arg);
		return;
	}
	if (fn == queue_do_flush && arg == NULL && queue_scan_running(q))
		q->scan_flush = 1;	/* and what the scan loads later */
	if ((all = calloc(n + 1, sizeof(*all))) == NULL) {
		log_warn("queue: select");
		return;
	}
	for (i = 0; i < n; i++)
		all[i] = q->heap.v[i]->data;
	for (i = 0; i < n; i++)
		if (arg == NULL || arg[0] != '@' ||
		    queue_has_domain(q, all[i], &domain, 1))
			fn(q, all[i], now);
	free(all);
}

/* queue_command - one trigger line; see the protocol in queue.h */
static void
queue_command(struct queue *q, char *line, time_t now)
{
	static const struct {
		const char *verb;
		int	 arg;		/* 0 none, 1 optional, 2 required */
		void	(*fn)(struct queue *, struct qmsg *, time_t);
	} cmds[] = {
		{ "flush", 1, queue_do_flush },
		{ "hold", 2, queue_do_hold },
		{ "release", 2, queue_do_release },
		{ "delete", 2, queue_do_delete },
	};
	char	 copy[80], *arg = strchr(line, ' ');
	size_t	 i;

	i = strnlen(line, sizeof(copy) - 1);	/* for the log line */
	memcpy(copy, line, i);
	copy[i] = '\0';
	if (arg != NULL)
		*arg++ = '\0';
	if (strcmp(line, "flush") == 0 && arg != NULL && arg[0] == '@') {
		queue_rescan_request(q, arg + 1);
		return;
	}
	if (strcmp(line, "new") == 0 && arg != NULL &&
	    queueid_valid(arg)) {
		queue_arrive(q, arg, now);
		return;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(line, cmds[i].verb) != 0 ||
		    (arg == NULL && cmds[i].arg == 2) ||
		    (arg != NULL && arg[0] != '@' && strcmp(arg, "ALL") != 0 &&
		    !queueid_valid(arg)))
			continue;
		log_info("queue: %s", copy);
		queue_select(q, arg, now, cmds[i].fn);
		return;
	}
	log_warnx("queue: bad trigger command \"%s\"", copy);
}

/*
 * queue_trigger_read - whole lines from the FIFO; overlong ones dropped.
 * It reads until the FIFO is empty: a writer that found it full lost
 * its line then, and what was in it is all read by this drain or the
 * one running, so a drain of half the FIFO's size or more asks for a
 * rescan that loads what was never announced (queue_rescan.c).
 */
static void
queue_trigger_read(struct queue *q, time_t now)
{
	ssize_t	 n;
	char	*nl;
	size_t	 len, drained = 0;

	for (;;) {
		n = read(q->trig_rd, q->tbuf + q->tlen,
		    sizeof(q->tbuf) - 1 - q->tlen);
		if (n <= 0)
			break;
		drained += n;
		q->tlen += n;
		while ((nl = memchr(q->tbuf, '\n', q->tlen)) != NULL) {
			*nl = '\0';
			len = nl + 1 - q->tbuf;
			if (!q->tskip)
				queue_command(q, q->tbuf, now);
			q->tskip = 0;
			q->tlen -= len;
			memmove(q->tbuf, q->tbuf + len, q->tlen);
		}
		if (q->tlen == sizeof(q->tbuf) - 1) {
			log_warnx("queue: trigger line too long, ignored");
			q->tlen = 0;
			q->tskip = 1;
		}
	}
	if (drained >= q->tfull)
		queue_rescan_strays(q);
}

static void
queue_signal(int sig)
{
	int	 saved = errno;
	unsigned char c = sig;

	if (write(queue_sigfd, &c, 1) == -1) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

/* queue_reload - SIGHUP: a new configuration, or the old one on error */
static void
queue_reload(struct queue *q)
{
	struct config nc;
	char	 err[512];

	if (q->cfg->path == NULL ||
	    config_load(&nc, q->cfg->path, err, sizeof(err)) == -1) {
		log_warnx("queue: reload failed, old configuration kept: %s",
		    q->cfg->path ? err : "no file");
		return;
	}
	if (strcmp(nc.spool_dir, q->cfg->spool_dir) != 0) {
		log_warnx("queue: spool_dir changes need a restart; old "
		    "configuration kept");
		config_free(&nc);
		return;
	}
	config_free(q->cfg);
	*q->cfg = nc;
	remote_tls_preload(q->cfg);
	log_info("queue: configuration reloaded");
}

/* queue_signals - handle what the self-pipe says; 1 means stop */
static int
queue_signals(struct queue *q)
{
	unsigned char sigs[64];
	ssize_t	 n, i;
	int	 stop = 0;

	while ((n = read(q->sig[0], sigs, sizeof(sigs))) > 0)
		for (i = 0; i < n; i++) {
			if (sigs[i] == SIGCHLD)
				queue_reap(q);
			else if (sigs[i] == SIGHUP)
				queue_reload(q);
			else
				stop = 1;
		}
	return stop;
}

static int
queue_setup(struct queue *q, struct config *cfg, int master_sock)
{
	struct sigaction sa;
	char	 path[PATH_MAX];
#ifdef F_GETPIPE_SZ
	int	 size;
#endif

	memset(q, 0, sizeof(*q));
	q->cfg = cfg;
	q->master_sock = master_sock;
	q->trig_rd = q->trig_wr = -1;
	q->rescan.dir = -1;
	heap_init(&q->heap);
	if (pipe2(q->sig, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	queue_sigfd = q->sig[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = queue_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/trigger", cfg->spool_dir);
	if (mkfifo(path, 0620) == -1 && errno != EEXIST)
		return -1;
	/* Our own writer keeps the FIFO from reporting EOF. */
	if ((q->trig_rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1 || (q->trig_wr = open(path, O_WRONLY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	/* The FIFO's size where the system tells it; else the least it can
	 * be, which only makes the rescans more frequent. */
	q->tfull = PIPE_BUF / 2;
#ifdef F_GETPIPE_SZ
	if ((size = fcntl(q->trig_rd, F_GETPIPE_SZ)) > 0)
		q->tfull = (size_t)size / 2;
#endif
	return 0;
}

/* queue_timeout - milliseconds poll() may sleep */
static int
queue_timeout(struct queue *q, time_t now)
{
	struct heap_item *top = heap_peek(&q->heap);
	struct agent *a;
	size_t	 i;
	int	 idle = 3600 * 1000;

	if (queue_rescan_running(q) || queue_scan_running(q))
		return 0;
	for (a = q->agents; a != NULL; a = a->next)
		if (a->done)
			return 0;
	for (i = 0; i < q->nactive; i++)
		if (queue_round_is_over(q->active[i]))
			return 0;
	if (q->rm_since != 0)	/* queue_sync_removals() is due next second */
		idle = now > q->rm_since ? 0 : 1000;
	idle = queue_dest_timeout(q, now, idle);	/* a rate's room */
	if (top == NULL || top->when == HEAP_NEVER ||
	    q->nactive >= QUEUE_ACTIVE_MAX)
		return idle;
	if (top->when <= now)
		return 0;
	return top->when - now > idle / 1000 ? idle :
	    (int)(top->when - now) * 1000;
}

/* queue_wait - sleep in poll() until a signal, a trigger line, an agent
 * result, or the next due message; 1 means stop */
static int
queue_wait(struct queue *q, struct pollfd **pfd, struct agent ***map,
    size_t *cap)
{
	struct agent *a;
	size_t	 n = 3, i;

	if (*cap < q->nagents + 3) {
		*cap = q->nagents + 3;
		free(*pfd);
		free(*map);
		*pfd = calloc(*cap, sizeof(**pfd));
		*map = calloc(*cap, sizeof(**map));
		if (*pfd == NULL || *map == NULL)
			fatal("queue: poll set");
	}
	(*pfd)[0] = (struct pollfd){ .fd = q->sig[0], .events = POLLIN };
	(*pfd)[1] = (struct pollfd){ .fd = q->trig_rd, .events = POLLIN };
	/*
	 * The master holds the other end: hang-up means it died, and a
	 * runner without its master must not live on beside the next one.
	 */
	(*pfd)[2] = (struct pollfd){ .fd = q->master_sock, .events = 0 };
	for (a = q->agents; a != NULL; a = a->next)
		if (!a->done && a->fd != -1) {
			(*map)[n] = a;
			(*pfd)[n++] = (struct pollfd){ .fd = a->fd,
			    .events = POLLIN };
		}
	if (poll(*pfd, n, queue_timeout(q, time(NULL))) == -1) {
		if (errno != EINTR)
			log_warn("queue: poll");
		return 0;
	}
	if ((*pfd)[0].revents && queue_signals(q))
		return 1;
	if ((*pfd)[2].revents & (POLLHUP | POLLERR)) {
		log_warnx("queue: the master has gone away; stopping");
		return 1;
	}
	if ((*pfd)[1].revents)
		queue_trigger_read(q, time(NULL));
	for (i = 3; i < n; i++)
		if ((*pfd)[i].revents && !(*map)[i]->done)
			queue_agent_read((*map)[i]);
	return 0;
}

/* queue_shutdown - SIGTERM: abandon in-flight deliveries and clean up;
 * the spool still has every undelivered message. */
static void
queue_shutdown(struct queue *q)
{
	size_t	 i;

	queue_agents_kill(q);
	for (i = 0; i < q->nactive; i++)	/* deletes still pending */
		if (q->active[i]->deleted)
			queue_remove(q, q->active[i]);
	queue_sync_removals(q, 0, 1);
	heap_free(&q->heap);
	queue_dest_free(q);
	queue_share_free(q);
	queue_index_free(q);
	close(q->trig_rd);
	close(q->trig_wr);
	close(q->sig[0]);
	close(q->sig[1]);
	queue_sigfd = -1;
	log_info("queue: stopped");
}

int
queue_run(struct config *cfg, int master_sock)
{
	struct queue q;
	struct pollfd *pfd = NULL;
	struct agent **map = NULL;
	size_t	 cap = 0;
	time_t	 now;
	int	 lock;

	log_setproc("qmgr");
	if ((lock = spool_lock(cfg->spool_dir, 0)) == -1 && errno == EAGAIN) {
		log_info("queue: the spool is locked (by ternq?); waiting");
		lock = spool_lock(cfg->spool_dir, 1);
	}
	if (lock == -1 || queue_setup(&q, cfg, master_sock) == -1) {
		log_warn("queue: setup");
		if (lock != -1)
			close(lock);
		return 1;
	}
	remote_tls_preload(cfg);
	queue_dest_start(&q);
	queue_scan_start(&q);
	for (;;) {
		now = time(NULL);
		queue_scan_step(&q, now);
		queue_agents_sweep(&q);
		queue_finish_rounds(&q, now);
		queue_rescan_step(&q, now);
		queue_activate_due(&q, now);
		queue_dispatch(&q);
		queue_sync_removals(&q, now, 0);
		if (queue_wait(&q, &pfd, &map, &cap))
			break;
	}
	free(pfd);
	free(map);
	queue_shutdown(&q);
	close(lock);
	return 0;
}
