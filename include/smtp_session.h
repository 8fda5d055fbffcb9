/* SPDX-License-Identifier: ISC */
/*
 * smtp_session.h - one SMTP server session (RFC 5321) on a connected fd.
 *
 * smtp_session_run() is the whole life of an smtpd child: greeting,
 * commands, messages into the spool, and the disconnect log line.  It
 * reads and writes only the fd it is given (tests can hand it a
 * socketpair) and returns an exit status for the child.
 * uid is the submitting user for local submission (-1 for TCP clients).
 *
 * smtp_session_serve() is the same with what the master adds for a TCP
 * listener: its kind (port 25, submission on 587 with STARTTLS, or
 * implicit TLS on 465; RFC 6409, RFC 8314) and struct smtpd_ctx, the
 * TLS context (NULL: no TLS) and the password checker's socket (-1:
 * none), both made by ternd before it forked.  smtp_session_run() is a
 * port 25 session without them.
 */
#ifndef TERN_SMTP_SESSION_H
#define TERN_SMTP_SESSION_H

#include <sys/socket.h>

#include "config.h"

enum smtpd_port {
	SMTPD_PORT_MX,			/* listen: 25 */
	SMTPD_PORT_SUBMISSION,		/* submission_listen: 587 */
	SMTPD_PORT_SMTPS		/* smtps_listen: 465 */
};

struct tls_ctx;

struct smtpd_ctx {
	struct tls_ctx	*tls;		/* NULL: no STARTTLS, no 465 */
	int		 auth_fd;	/* the password checker; -1: none */
};

int	smtp_session_serve(const struct config *, const struct smtpd_ctx *,
	    int fd, const struct sockaddr *peer, long uid, int port);
int	smtp_session_run(const struct config *, int fd,
	    const struct sockaddr *peer, long uid);

#endif
