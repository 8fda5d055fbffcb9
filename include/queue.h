/* SPDX-License-Identifier: ISC */
/*
 * queue.h - the queue runner: one long-lived process that schedules
 * deliveries, retries, delay notices, expiry and bounces.
 *
 * queue_run(cfg, master_sock) runs until SIGTERM (then returns 0, having
 * killed the delivery agents it forked); SIGHUP re-reads cfg->path and
 * keeps the old configuration on error.  Local deliveries are done by
 * local_agent_run() in a child running as `user`, which sends the master
 * a job over master_sock for each step that needs another uid
 * (local_job.h); with master_sock == -1 (tests, no master) it forks
 * those steps itself.  cfg is owned by the caller but replaced in place on reload.
 *
 * Trigger protocol: other processes wake the runner by writing one line
 * (newline-terminated, shorter than PIPE_BUF, so each write is atomic)
 * to the FIFO spool/trigger, e.g. with spool_trigger(spool_dir, "...").
 *
 *	new ID		a message was just committed: load it, attempt now
 *	flush		attempt every message that is not held, now
 *	flush ID	attempt that message now
 *	flush @domain	attempt now every message with an undelivered
 *			recipient at domain: a rescan of the spool, one at
 *			a time; requests made while one runs share a
 *			single rescan that follows it (queue_rescan.c)
 *	hold ID		do not attempt the message until released
 *			(kept in its state file: "held: yes")
 *	release ID	end a hold; the message is attempted now
 *	delete ID	remove the message, no notice to the sender
 *	delete @domain	remove every message with an undelivered recipient
 *			at domain
 *	delete ALL	remove every message
 *
 * hold and release take the same selectors as delete (ID, @domain, ALL);
 * flush without an argument is "flush ALL".  "new ID" for a message the
 * runner already knows is ignored.  Unknown or malformed lines are
 * logged and ignored.  Held messages never expire while held.  A message being
 * delivered when "delete" arrives is removed once its agents finish, and
 * their results are ignored.
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include "config.h"

int	queue_run(struct config *cfg, int master_sock);

#endif
