/* SPDX-License-Identifier: ISC */
/*
 * queueview.h - read-only walk of the spool for mailq and ternq.
 *
 *	queueview_scan(spool_dir, fn, arg): fn once per message, oldest first
 *	queueview_walk(spool_dir, fn, arg): the same, in directory order
 *	queueview_open(spool_dir), queueview_run(qv, from, to, fn, arg),
 *	    queueview_close(qv): queueview_scan() in parts, ids [from, to)
 *	queueview_load(spool_dir, id, &msg): one message by id
 *	queueview_json_string(fp, s): s as a JSON string literal
 *	queueview_put_text(fp, s): s with control characters made harmless
 *	queueview_put_escaped(fp, s): the same, each such byte shown as \xNN
 *	queueview_config(&cfg, flag_or_NULL, err, errlen): a command's config
 *
 * Every spool file is untrusted: a message whose queue or state file does
 * not parse is reported with msg->error set, never skipped silently and
 * never fatal.  A message that vanishes between readdir() and open() was
 * delivered meanwhile and is skipped.  Queue files are immutable and
 * state files are replaced by rename(), so one read of each is a
 * consistent view of a message.
 */
#ifndef TERN_QUEUEVIEW_H
#define TERN_QUEUEVIEW_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "envelope.h"
#include "statefile.h"

struct queueview_msg {
	char		 id[QUEUEID_LEN + 1];
	struct envelope	 env;		/* valid unless error[0] */
	struct state	 state;		/* nrcpt == 0 when there is no file */
	int		 has_state;
	long long	 size;		/* message bytes after the envelope */
	char		 error[256];	/* "" or why the message is unreadable */
};

/*
 * fn returns 0 to go on, anything else to stop the walk with that value.
 * The message is freed after fn returns.  queueview_scan() returns 0,
 * fn's non-zero value, or -1 with errno set when queue/ (or one of its
 * subdirectories) cannot be read, e.g. EACCES.
 */
typedef int (*queueview_fn)(const struct queueview_msg *, void *arg);
int	queueview_scan(const char *spool_dir, queueview_fn fn, void *arg);
/* The same in directory order (not oldest first), without a list of
 * all the ids. */
int	queueview_walk(const char *spool_dir, queueview_fn fn, void *arg);
/*
 * The same in parts: queueview_open() lists and sorts the ids (NULL with
 * errno set, as above), queueview_run() reads the ids from..to-1 of
 * queueview_count() (fn's non-zero value stops it).  A process forked
 * after queueview_open() may run its own parts of the same listing.
 */
struct queueview;
struct queueview *queueview_open(const char *spool_dir);
size_t	queueview_count(const struct queueview *);
int	queueview_run(struct queueview *, size_t from, size_t to,
	    queueview_fn fn, void *arg);
void	queueview_close(struct queueview *);

/*
 * Load one message: 0 (msg->error may still say it is unreadable), or
 * -1 with errno set (ENOENT: no such message, EACCES: no permission).
 * Release with queueview_free().
 */
int	queueview_load(const char *spool_dir, const char *id,
	    struct queueview_msg *msg);
void	queueview_free(struct queueview_msg *);

/* 1 if recipient i is not yet delivered or failed (pending, deferred). */
int	queueview_rcpt_is_queued(const struct queueview_msg *, size_t i);
/* The state of recipient i, or NULL when there is no state file. */
const struct state_rcpt *queueview_rcpt_state(const struct queueview_msg *,
	    size_t i);

/*
 * The configuration of a command: the file of config_path(flag), where
 * flag is the -C argument or NULL; a missing TERN_CONF_PATH, when no
 * file was named, means the compiled-in defaults.
 */
int	queueview_config(struct config *, const char *flag, char *err,
	    size_t errlen);

void	queueview_json_string(FILE *, const char *);
void	queueview_put_text(FILE *, const char *);
void	queueview_put_escaped(FILE *, const char *);

#endif
