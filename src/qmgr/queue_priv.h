/* SPDX-License-Identifier: ISC */
/*
 * queue_priv.h - what the parts of the queue runner share; not for use
 * outside src/queue*.c.
 *
 *	queue.c		the loop: signals, trigger commands, poll()
 *	queue_index.c	the message table: every message by its id
 *	queue_spool.c	messages in the spool: load, scan, save, remove
 *	queue_active.c	the active set: activate, deactivate, unload
 *	queue_rcpt.c	the one state of each recipient during a round
 *	queue_agent.c	delivery agents: route, dispatch, results
 *	queue_round.c	end of an attempt round: notices, expiry, persist
 *	queue_rescan.c	flush @domain, unannounced mail: one bounded rescan
 *			at a time
 *	queue_share.c	one destination's share of the active messages
 *	queue_dest.c	per destination: rate, back-off after "slow down"
 *
 * Every message in the spool has a compact struct qmsg (found by id in
 * an open-addressing index) and a place in the heap keyed by its next
 * attempt; held messages and messages being delivered are keyed
 * HEAP_NEVER.  Only active messages (at most QUEUE_ACTIVE_MAX) have a
 * struct qactive: their envelope, state and round; the envelope parsed
 * on activation is the one every agent of the round gets (a pointer,
 * valid in the forked agent).  A message stays active until no
 * recipient is waiting for an agent and no agent holds a job of it.
 */
#ifndef TERN_QUEUE_PRIV_H
#define TERN_QUEUE_PRIV_H

#include <ctype.h>
#include <limits.h>
#include <sys/types.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "delivery.h"
#include "envelope.h"
#include "heap.h"
#include "queue_mem.h"
#include "queuefile.h"
#include "statefile.h"
#include "transport.h"

#define QUEUE_ACTIVE_MAX	500	/* messages loaded at once */
#define QUEUE_BATCH_MAX		20	/* messages per agent */
#define QUEUE_LINE_MAX		4096	/* agent result line buffer */

/*
 * How far the current round has gone with a recipient; its state (what
 * is saved) is m->st.rcpt[i].state only (queue_rcpt.c).
 */
enum round_step { STEP_IDLE, STEP_WAIT, STEP_BUSY, STEP_DONE };

struct round_rcpt {
	int	 step;			/* enum round_step */
	int	 remote;
	time_t	 retry_at;		/* deferred to this (a back-off) */
	char	 relay[256];
};

/*
 * One per message in the spool, and all the runner keeps of a message
 * that waits for its next attempt or is held: its id, flags, its place
 * in the schedule, and its domain's share (queue_share.c) as last read.  About 100 bytes
 * with the index slot and the heap's pointer (man/tern.8, "The
 * schedule").  What a round needs is in act, allocated on activation
 * and freed when the round ends.
 */
struct qmsg {
	struct heap_item item;
	struct qactive *act;		/* while active, else NULL */
	struct share *share;		/* its domain, as last read */
	struct qmsg *next_parked;
	char	 id[QUEUEID_LEN + 1];
	unsigned held : 1;		/* the only copy; saved with the */
	unsigned warned : 1;		/* state by queue_save_state() */
	unsigned deleted : 1;		/* remove when the round ends */
	unsigned active : 1;
	unsigned parked : 1;		/* waits for its domain's share */
	unsigned counted : 1;		/* active, counted in its share */
};

/* What an active message has loaded: the queue file's envelope, parsed
 * once for the round and every agent of it, and its state. */
struct qactive {
	struct envelope env;		/* agents get a pointer to it */
	struct queuefile_mark file;	/* its file, for agents to reopen */
	struct state st;
	struct round_rcpt *round;	/* one per recipient */
	time_t	 arrival;		/* of env */
	int	 is_bounce;		/* sender <> */
	int	 agents;		/* agents that hold a job of it */
};

/* where the struct qmsg come from (queue_mem.c) */
struct qpool {
	struct qpool_chunk *chunks;
	struct qmsg *free;		/* through next_parked */
	size_t	 n;			/* handed out */
};

/* the message table: open addressing on the id, linear probing */
struct qindex {
	struct qmsg **slot;		/* NULL: empty */
	size_t	 cap;			/* a power of two, or 0 */
	size_t	 n;
};

struct agent {
	struct agent *next;
	struct queue *q;
	pid_t	 pid;			/* forked by us; -1: decided here */
	int	 fd;			/* result pipe, read end; -1 */
	int	 local;
	char	 dest[256];		/* lower-cased domain, or "local" */
	struct transport_route route;	/* remote: where dest goes */
	char	 key[256];		/* its rate's key (queue_dest.c) */
	time_t	 until;			/* it asked to slow down: to this */
	int	 done;			/* EOF or dead: end it in the sweep */
	struct delivery_job *jobs;
	struct qmsg **msgs;		/* msgs[k] owns jobs[k] */
	size_t	 njobs;
	char	 buf[QUEUE_LINE_MAX];
	size_t	 len;
};

#define RESCAN_DOMAINS		16	/* domains one rescan looks for */
#define RESCAN_NAME_MAX		256	/* a domain, with the NUL */

struct rescan_set {
	char	 name[RESCAN_DOMAINS][RESCAN_NAME_MAX];	/* lower case */
	size_t	 n;
};

/* flush @domain, or unannounced mail: the rescan that runs and the one
 * to follow it (wanted; its set may be empty) */
struct rescan {
	int	 dir;			/* next queue/XX to read; -1 idle */
	size_t	 flushed;		/* messages it made due so far */
	size_t	 loaded;		/* unknown queue files it loaded */
	int	 wanted;		/* a follow-up is asked for */
	struct rescan_set now, next;
};

struct queue {
	struct config *cfg;
	int	 master_sock;
	struct heap heap;
	struct qindex ids;		/* every struct qmsg, by id */
	struct qpool pool;		/* ... and where they live */
	int	 scan_dir;		/* start-up scan: next XX; -1 done */
	int	 scan_flush;		/* flush ALL came during the scan */
	struct qmsg *active[QUEUE_ACTIVE_MAX];
	size_t	 nactive;
	struct share_table *shares;	/* queue_share.c: by domain */
	struct agent *agents;
	size_t	 nagents;
	struct dest_table *dests;	/* queue_dest.c */
	int	 trig_rd, trig_wr;	/* the FIFO, and our own writer */
	char	 tbuf[PIPE_BUF];
	size_t	 tfull;			/* a drain this long: may have lost */
	size_t	 tlen;
	int	 tskip;			/* discarding an overlong line */
	int	 sig[2];		/* self-pipe: signal numbers */
	struct rescan rescan;
	unsigned char rm_dirty[256 / 8];	/* queue/XX with an unlink */
	unsigned char st_dirty[256 / 8];	/* state/XX with a rename */
	time_t	 rm_since;		/* of the oldest unsynced, 0 none */
};

/* queue_now_ms - the monotonic clock in milliseconds: the start-up
 * scan's and activation's budgets, the rate windows */
static inline long long
queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* queue_domain_hash - a domain's hash, case-blind: the tables of
 * destinations (queue_dest.c) and shares (queue_share.c) */
static inline size_t
queue_domain_hash(const char *s)
{
	size_t	 h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)tolower((unsigned char)*s);
	return h;
}

/* queue_mem.c (and queue_mem.h) */
struct qmsg *qpool_get(struct qpool *);
void	 qpool_put(struct qpool *, struct qmsg *);
void	 qpool_free(struct qpool *);

/* queue_index.c */
struct qmsg *qindex_find(const struct qindex *, const char *id);
int	qindex_add(struct qindex *, struct qmsg *);
void	qindex_remove(struct qindex *, const struct qmsg *);
void	qindex_free(struct qindex *);

/* queue_spool.c */
struct qmsg *queue_find(struct queue *, const char *id);
struct qmsg *queue_load(struct queue *, const char *id, time_t now,
	    int keep);
struct qmsg *queue_load_named(struct queue *, const char *id, time_t now);
void	queue_index_free(struct queue *);
void	queue_forget(struct queue *, struct qmsg *);
void	queue_unload(struct qmsg *);	/* frees m->act */
void	queue_remove(struct queue *, struct qmsg *);
void	queue_sync_removals(struct queue *, time_t now, int force);
FILE	*queue_open(struct queue *, const char *id, struct envelope *,
	    struct queuefile_mark *);
int	queue_read_state(struct queue *, const struct envelope *,
	    struct state *);
void	queue_save_state(struct queue *, const struct qmsg *,
	    struct state *, int retry);
time_t	queue_due(const struct qmsg *, const struct state *, time_t now);
void	queue_scan_start(struct queue *);
void	queue_scan_step(struct queue *, time_t now);
int	queue_scan_running(const struct queue *);
void	queue_save_flags(struct queue *, struct qmsg *);
int	queue_has_domain(struct queue *, struct qmsg *,
	    const char *const *domains, size_t ndomains);

/* queue_active.c */
void	queue_arrive(struct queue *, const char *id, time_t now);
void	queue_activate_due(struct queue *, time_t now);
void	queue_deactivate(struct queue *, struct qmsg *);

/* queue_rcpt.c */
void	queue_rcpt_start(struct qmsg *);
int	queue_rcpt_waits(const struct qmsg *, size_t i);
int	queue_rcpt_is_busy(const struct qmsg *, size_t i);
void	queue_rcpt_take(struct qmsg *, size_t i, int remote);
void	queue_rcpt_set(struct qmsg *, size_t i, int state, const char *dsn);
int	queue_rcpt_outcome(const struct qmsg *, size_t i);
void	queue_rcpt_record(struct qmsg *, size_t i, int status,
	    const char *dsn, const char *relay, const char *reply);
void	queue_rcpt_defer_until(struct qmsg *, size_t i, time_t until);
int	queue_round_is_over(const struct qmsg *);
void	queue_stop_round(struct qmsg *);

/* queue_share.c */
int	queue_share_admit(struct queue *, struct qmsg *);
void	queue_share_hint(struct queue *, struct qmsg *);
int	queue_share_full(struct queue *, const struct qmsg *);
void	queue_share_park(struct queue *, struct qmsg *);
void	queue_share_unpark(struct queue *, struct qmsg *);
void	queue_share_release(struct queue *, struct qmsg *, time_t now);
void	queue_share_forget(struct queue *, struct qmsg *);
void	queue_share_free(struct queue *);

/* queue_dest.c */
size_t	queue_dest_room(struct queue *, const char *dom, const char *key,
	    long rate);
long	queue_dest_rate(struct queue *, const char *dom);
void	queue_dest_sent(struct queue *, const char *key, size_t n);
int	queue_dest_blocked(struct queue *, const char *dom);
time_t	queue_dest_throttle(struct queue *, const char *dom, const char *why,
	    time_t now);
time_t	queue_dest_until(struct queue *, const char *dom, time_t now);
void	queue_dest_ok(struct queue *, const char *dom, time_t now);
int	queue_dest_timeout(struct queue *, time_t now, int ms);
void	queue_dest_mx_store(struct queue *, const char *dom,
	    const char *text, time_t now);
const char *queue_dest_mx(struct queue *, const char *dom, time_t now);
void	queue_dest_start(struct queue *);
void	queue_dest_free(struct queue *);

/* queue_agent.c */
void	queue_dispatch(struct queue *);
void	queue_agent_read(struct agent *);
void	queue_agents_sweep(struct queue *);
void	queue_agents_kill(struct queue *);
void	queue_reap(struct queue *);

/* queue_rescan.c */
void	queue_rescan_request(struct queue *, const char *domain);
void	queue_rescan_strays(struct queue *);
void	queue_rescan_step(struct queue *, time_t now);
int	queue_rescan_running(const struct queue *);

/* queue_round.c */
void	queue_finish_rounds(struct queue *, time_t now);

#endif
