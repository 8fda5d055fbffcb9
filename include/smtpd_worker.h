/* SPDX-License-Identifier: ISC */
/*
 * smtpd_worker.h - an smtpd process that serves several sessions.
 *
 * The master forks a worker for a connection; when the session ends the
 * worker writes one byte ("free") on its control socket and waits there.
 * The master hands it the next connection with smtpd_worker_send() (the
 * socket by SCM_RIGHTS, the peer address as the message), or closes the
 * control socket to make it exit (idle too long, reload, shutdown).
 * After smtpd_max_use sessions the worker exits by itself.  Privileges
 * are dropped once, before the first byte of the first session.
 */
#ifndef TERN_SMTPD_WORKER_H
#define TERN_SMTPD_WORKER_H

#include <sys/socket.h>

#include "config.h"
#include "smtp_session.h"

int	smtpd_worker_run(const struct config *, const struct smtpd_ctx *,
	    int ctl, int fd, const struct sockaddr_storage *peer, int port);
int	smtpd_worker_send(int ctl, int fd, const struct sockaddr_storage *,
	    int port);

#endif
