/* SPDX-License-Identifier: ISC */
/*
 * auth.h - the password checker of AUTH: a process of its own that holds
 * the hashes of auth_users and answers yes or no.
 *
 * In the master (root):
 *	auth_checker_init(&ac)			once, before anything else
 *	auth_checker_start(&ac, cfg, uid, gid, err, len)
 *						at start and on HUP
 *	auth_checker_reaped(&ac, pid, status)	for each pid waitpid() gives
 *	auth_checker_timer(&ac, cfg, uid, gid, &timeout)
 *						once per turn of the poll loop
 *	auth_checker_stop(&ac)			at shutdown
 * In an smtpd (as `user`), which inherited ac.fd from the master:
 *	auth_check(fd, user, password, timeout_ms)	1 yes, 0 no, -1 try later
 *
 * The grant channel of POP3 logins is made once and given to every
 * checker, so the grants of one from before a reload still arrive.
 * Each start makes a fresh socket pair: the checker keeps one end, the
 * master keeps the other in ac.fd (non-blocking, close-on-exec) for the
 * smtpd children it forks from then on.  A checker from before a reload
 * serves the sessions that still hold its pair and exits by itself when
 * the last of them is gone (end of file).  After a new checker starts,
 * an smtpd process that outlives its sessions (a worker) holds the old
 * descriptor: the master retires its idle workers then, as on reload.
 *
 * A request is one record, a type byte and its arguments, carrying, by
 * SCM_RIGHTS, one end of a socket pair the requester made for it:
 *	'A' "user\0password\0"	is this user's password? (auth_check)
 *	'L' "account\0"		is this an account, with what quota and
 *				mailbox? (auth_lookup; never the hash)
 *	'P' "user\0password\0"	a POP3 login (auth_pop3): after its 'Y'
 *				the checker sends the master a struct
 *				auth_grant with the passed end, which
 *				becomes the session's socket
 * The answer, for 'A' and 'P' one byte 'Y', 'N' or 'T' (temporary
 * failure), for 'L' one record "Y" QUOTA "\0" MAILBOX "\0" (QUOTA
 * decimal bytes, 0 none; MAILBOX the line's mailbox= or empty) or "N",
 * goes back on that end alone, so
 * it cannot reach another session, and no process can read another
 * session's request off the shared socket (the checker never writes to
 * it, and only the checker holds the other end).
 */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H

#include <sys/types.h>

#include <time.h>

#include "config.h"

#define AUTH_GRANT_NAME		256	/* AUTH_USER_MAX + 1 (authfile.h) */
#define AUTH_GRANT_PATH		1024	/* AUTH_PATH_MAX + 1 */

/* The first byte of a request to the checker. */
#define AUTH_REQ_CHECK		'A'
#define AUTH_REQ_LOOKUP		'L'
#define AUTH_REQ_POP3		'P'

/*
 * What the checker sends the master on the grant channel for a right
 * 'P' password, with the requester's socket end: the master checks it
 * field by field (each string NUL-ended within its field) and forks the
 * mailbox process of the session on that end (pop3.h).
 */
enum auth_grant_kind { AUTH_GRANT_UNIX = 1, AUTH_GRANT_VIRTUAL = 2 };

struct auth_grant {
	int	 kind;			/* enum auth_grant_kind */
	char	 account[AUTH_GRANT_NAME];
	char	 maildir[AUTH_GRANT_PATH];	/* virtual: absolute */
};

struct auth_checker {
	int	 fd;		/* client end for smtpds; -1: no checker */
	int	 grant_fd;	/* the master's end of the grant channel */
	int	 grant_peer;	/* its other end, for each new checker */
	pid_t	 pid;		/* the current checker, -1 none */
	time_t	 started;
	time_t	 restart_at;	/* when restart_pending */
	int	 restart_pending;
	int	 backoff;	/* seconds before the next restart */
	int	 stopping;
};

void	auth_checker_init(struct auth_checker *);
/*
 * auth_checker_start - fork a checker that opens cfg->auth_users as root,
 * gives up root for uid/gid (when root), reads the file, and then only
 * answers requests.  Waits (at most 10 s) until it has read the file:
 * returns its pid, or -1 with the reason ("FILE:LINE: ...") in err and
 * the previous checker, if any, left in place.
 */
pid_t	auth_checker_start(struct auth_checker *, const struct config *,
	    uid_t, gid_t, char *err, size_t errlen);
/*
 * auth_checker_reaped - pid has exited: 1 if it was the current checker
 * (a restart is then scheduled, after a back-off of 0 s if it had run a
 * minute, else 1, 2, 4 ... 60 s; logged), 0 if it is not ours.
 */
int	auth_checker_reaped(struct auth_checker *, pid_t, int status);
/*
 * auth_checker_timer - start the checker again when its restart is due:
 * 1 when a new one started now (retire idle smtpd workers), else 0.
 * Lowers *timeout_ms (-1: none yet) to when the next restart is due.
 */
int	auth_checker_timer(struct auth_checker *, const struct config *,
	    uid_t, gid_t, int *timeout_ms);
/* auth_checker_stop - SIGTERM the checker; no restarts from now on. */
void	auth_checker_stop(struct auth_checker *);

/*
 * auth_check - ask the checker behind fd: 1 the password is user's, 0 it
 * is not (or user or password cannot be one: empty, too long, a ':' or a
 * control byte in the name), -1 no answer within timeout_ms, or no
 * checker (errno EPIPE or ECONNREFUSED: it is gone for good behind this
 * descriptor), or it answered 'T'.  The password is wiped from the
 * request buffer; the caller wipes its own copy.
 */
int	auth_check(int fd, const char *user, const char *password,
	    int timeout_ms);
/*
 * auth_pop3 - the same for a POP3 login: on 1, *session is the socket
 * the mailbox process will answer on (its first line "+OK" or "-ERR").
 */
int	auth_pop3(int fd, const char *user, const char *password,
	    int timeout_ms, int *session);
/*
 * auth_failure_delay - sleep failures * delay seconds before the reply to
 * a failed login (smtpd's AUTH, pop3-login's PASS and AUTH), so that
 * each wrong guess costs more than the last; EINTR only shortens it.
 */
void	auth_failure_delay(long long delay, int failures);
/*
 * auth_grant_recv - in the master: one grant off the grant channel, its
 * strings NUL-ended; 0 and *fd the session's socket, -1 nothing valid.
 */
int	auth_grant_recv(int grant_fd, struct auth_grant *, int *fd);

/* What auth_lookup() learns of an account. */
struct auth_account {
	long long	 quota;			/* bytes; 0: none */
	char		 mailbox[1024];		/* "": virtual_mailbox_path */
};

/*
 * auth_lookup - ask the checker behind fd whether account is listed in
 * auth_users: 1 with *out filled, 0 not listed (or not a valid name),
 * -1 no answer within timeout_ms or no checker (errno set).  Used by
 * smtpd at RCPT time and by the delivery job of a virtual domain.
 */
int	auth_lookup(int fd, const char *account, struct auth_account *out,
	    int timeout_ms);

#endif
