/* SPDX-License-Identifier: ISC */
/*
 * smtp_session.h - one SMTP server session (RFC 5321) on a connected fd.
 *
 * smtp_session_run() is the whole life of an smtpd child: greeting,
 * commands, messages into the spool, and the disconnect log line.  It
 * reads and writes only the fd it is given (tests can hand it a
 * socketpair) and returns an exit status for the child.
 * uid is the submitting user for local submission (-1 for TCP clients).
 */
#ifndef TERN_SMTP_SESSION_H
#define TERN_SMTP_SESSION_H

#include <sys/socket.h>

#include "config.h"

int	smtp_session_run(const struct config *, int fd,
	    const struct sockaddr *peer, long uid);

#endif
