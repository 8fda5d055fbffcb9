/* SPDX-License-Identifier: ISC */
/*
 * statefile.h - the per-message state file, spool/state/XX/ID: its
 * format and its one owner, statefile.c, which loads and saves it.
 *
 *	version: 1
 *	id: 0RB8KX2JZ5Q0A1
 *	held: no
 *	warned: no
 *	due: 1764136901
 *	rcpt: 0 deferred 3 1764136901 1764135201 4.4.1 <xtext reply>
 *	      index state attempts next-attempt last-attempt dsn reply
 *
 * One rcpt line per envelope recipient, in order; "-" for an empty dsn
 * or reply.  "due" is the earliest next-attempt of a pending or deferred
 * recipient (0: none is waiting, or one is pending); it must agree with
 * the rcpt lines.  It is optional for the reader (files written before
 * it existed have none), always written.  It is parsed strictly, as untrusted input.  A message
 * without a state file has every recipient pending and no attempt yet.
 *
 * One writer: the queue runner.  ternq saves a state file only while
 * the runner is down, and then only holding the runner's lock
 * (spool_lock() in spool.h).  statefile_save() replaces the file as a
 * whole: tmp/ID.state, fsync, rename over the old one, fsync state/XX.
 * An empty state file (a retry's state that a power cut caught before
 * its data reached the disk: statefile_save_retry()) reads as none.
 */
#ifndef TERN_STATEFILE_H
#define TERN_STATEFILE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "queueid.h"

#define STATEFILE_VERSION	1

enum rcpt_state	{ RCPT_PENDING, RCPT_DEFERRED, RCPT_DELIVERED, RCPT_FAILED };

struct state_rcpt {
	int	 state;			/* enum rcpt_state */
	int	 attempts;
	time_t	 next_attempt;
	time_t	 last_attempt;
	char	 dsn[16];		/* "4.4.1", "" if none yet */
	char	 reply[512];		/* last reply or reason, "" if none */
};

struct state {
	int	 version;
	char	 id[QUEUEID_LEN + 1];
	int	 held;
	int	 warned;
	int	 has_due;		/* read: the file had a due line */
	time_t	 due;			/* read: its value; see state_due() */
	struct state_rcpt *rcpt;	/* one per envelope recipient, owned */
	size_t	 nrcpt;
};

/* A recipient still waiting for delivery: pending or deferred. */
static inline int
state_rcpt_is_undelivered(const struct state_rcpt *r)
{
	return r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;
}

void	state_init(struct state *);
void	state_free(struct state *);
/* A fresh state: nrcpt pending recipients, not held, not warned. */
int	state_alloc(struct state *, const char *id, size_t nrcpt);
const char *rcpt_state_name(int);

/*
 * Load the state of message id, whose queue file has nrcpt recipients:
 * 0 with st read from state/XX/ID; 1 when there is no state file, st
 * then fresh (state_alloc); -1 when the file cannot be read (errno
 * set), -2 when it does not parse or is not id's with nrcpt recipients.
 * On -1 and -2 "why" is in err and st is empty.
 */
int	statefile_load(const char *spool_dir, const char *id, size_t nrcpt,
	    struct state *st, char *err, size_t errlen);
/*
 * The head of a state file, for the queue runner's schedule: what one
 * small read of its first bytes says.
 */
#define STATEFILE_HEAD_MAX	256
struct state_head {
	int	 held;
	int	 warned;
	time_t	 due;			/* state_due() of the whole state */
};
/*
 * 0 with h filled; 1 when there is no state file; 2 when the head does
 * not say (a file written before "due" existed, or a long head): parse
 * it whole with statefile_load(); -1 when it cannot be read (errno
 * set), -2 when it does not parse or is not id's ("why" in err).
 */
int	statefile_head(const char *spool_dir, const char *id,
	    struct state_head *h, char *err, size_t errlen);
/* The earliest next attempt of a pending or deferred recipient, or 0. */
time_t	state_due(const struct state *);
/* The same, of the file name (absolute, or relative to dirfd, which is
 * a descriptor of state/XX: for listing many). */
int	statefile_load_at(int dirfd, const char *name, const char *id,
	    size_t nrcpt, struct state *st, char *err, size_t errlen);
/* Replace state/XX/ID as a whole; -1 with errno set. */
int	statefile_save(const char *spool_dir, const struct state *);
/* The same without the fsync of state/XX, which the caller does (the
 * queue runner, batched: a rename undone by a crash brings back the
 * older state, a duplicate attempt, never a loss). */
int	statefile_save_unsynced(const char *spool_dir, const struct state *);
/* The same with no fsync at all (1) for a state a power cut may take:
 * one whose recipients are all pending or deferred, neither held nor
 * warned (the queue runner's retries).  A cut may leave the older file
 * or an empty one, which reads as no state file: the message is retried
 * at once, its attempts counted from none; nothing is delivered twice.
 * Any other state is saved as by statefile_save_unsynced() (0). */
int	statefile_save_retry(const char *spool_dir, const struct state *);

/* The format on a stream: for statefile.c and its unit tests only. */
int	state_write(FILE *, const struct state *);
int	state_read(FILE *, struct state *, char *err, size_t errlen);

#endif
