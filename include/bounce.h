/* SPDX-License-Identifier: ISC */
/*
 * bounce.h - delivery status notifications (RFC 3464): bounces, delay
 * notices and success reports, sent from MAILER-DAEMON with the null
 * sender <> to the sender of the original message.
 *
 * bounce_compose() writes one complete multipart/report message (CRLF
 * lines) for the given recipients of one original message;
 * bounce_enqueue() composes it into a new queue file and, if asked, wakes
 * the queue runner (the runner itself, the only caller, loads the notice
 * directly and does not announce it to itself).  The caller chooses the
 * recipients: only those whose NOTIFY asks for this kind of report (RFC
 * 3461 section 4.1), one call per kind.
 *
 * The notice goes to `to`, or to orig->sender when to is NULL.  Never
 * bounce a bounce: with to NULL an original from the null sender is
 * refused (-1, errno EINVAL).  A failed notice (a double bounce) is
 * reported by passing the postmaster address (config double_bounce) as
 * to; the report still names the original's own sender, <>.
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "envelope.h"

/* RFC 3464 section 2.3.3 action-value */
enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED
};

/* One recipient of the report; strings may be NULL where noted. */
struct dsn_report {
	const char	*rcpt;		/* envelope recipient address */
	const char	*orcpt;		/* "rfc822;xtext" as received, or NULL */
	int		 action;	/* enum dsn_action */
	const char	*status;	/* "5.1.1"; NULL = X.0.0 by action */
	const char	*remote_mta;	/* host name (or "host[addr]:port"), NULL */
	const char	*diagnostic;	/* remote reply or local reason, NULL */
	time_t		 last_attempt;	/* 0 = unknown */
	time_t		 will_retry_until; /* delayed only, 0 otherwise */
};

/* Most original text returned in a report; larger: headers only. */
#define BOUNCE_RETURN_MAX	(1024 * 1024)

/*
 * bounce_compose - write the notice to out.  orig_msg is positioned at
 * the first byte of the original message (after the envelope); newid
 * names the notice (Message-ID, MIME boundary).  The whole original is
 * returned only for failures with RET=FULL and when it fits in
 * BOUNCE_RETURN_MAX; otherwise its headers are.  -1 on error (errno).
 */
int	bounce_compose(FILE *out, const struct config *,
	    const struct envelope *orig, const char *to, FILE *orig_msg,
	    const struct dsn_report *, size_t n, const char *newid, time_t now);

/*
 * bounce_enqueue - compose the notice into a new queue file from <> to
 * `to` (NULL: orig->sender) and commit it; with announce, also write
 * "new ID" to the trigger FIFO.  The new queue id goes to newid.  -1 on
 * error (errno EINVAL for a notice to <>).
 */
int	bounce_enqueue(const struct config *, const struct envelope *orig,
	    const char *to, FILE *orig_msg, const struct dsn_report *, size_t n,
	    time_t now, int announce, char newid[QUEUEID_LEN + 1]);

/* "failed", "delayed", ... for an enum dsn_action; "failed" if unknown. */
const char *dsn_action_name(int);

#endif
