/* SPDX-License-Identifier: ISC */
/*
 * smtpd_worker.c - serve sessions one after another, as the master asks.
 *
 * Control socket (SOCK_SEQPACKET, one message per event):
 *	master -> worker	a struct sockaddr_storage, with the
 *				connection's socket in SCM_RIGHTS
 *	worker -> master	"F": the session is over, send the next one
 * End of file on it tells the worker to exit.  Only the master decides
 * when a worker stops, so a connection is never handed to a worker that
 * is on its way out.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"
#include "smtp_session.h"
#include "smtpd_worker.h"

int
smtpd_worker_send(int ctl, int fd, const struct sockaddr_storage *ss)
{
	return fdpass_send(ctl, ss, sizeof(*ss), fd);
}

/* The next connection from the master; -1 when told to exit. */
static int
worker_receive(int ctl, struct sockaddr_storage *ss)
{
	int	 fd;

	if (fdpass_recv(ctl, ss, sizeof(*ss), &fd) != (ssize_t)sizeof(*ss)) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
smtpd_worker_run(const struct config *cfg, int ctl, int fd,
    const struct sockaddr_storage *peer)
{
	struct sockaddr_storage ss = *peer;
	long long uses;
	for (uses = 1; ; uses++) {
		smtp_session_run(cfg, fd, (struct sockaddr *)&ss, -1);
		close(fd);
		if (uses >= cfg->smtpd_max_use ||
		    write(ctl, "F", 1) != 1 ||
		    (fd = worker_receive(ctl, &ss)) == -1)
			break;
	}
	return 0;
}
