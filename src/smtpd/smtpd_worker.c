/* SPDX-License-Identifier: ISC */
/*
 * smtpd_worker.c - serve sessions one after another, as the master asks.
 *
 * Control socket (SOCK_SEQPACKET, one message per event):
 *	master -> worker	a struct worker_conn (the peer's address
 *				and the listener's kind), with the
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

struct worker_conn {
	struct sockaddr_storage ss;
	int	 port;			/* enum smtpd_port */
};

int
smtpd_worker_send(int ctl, int fd, const struct sockaddr_storage *ss,
    int port)
{
	struct worker_conn c;

	memset(&c, 0, sizeof(c));
	c.ss = *ss;
	c.port = port;
	return fdpass_send(ctl, &c, sizeof(c), fd);
}

/* The next connection from the master; -1 when told to exit. */
static int
worker_receive(int ctl, struct worker_conn *c)
{
	int	 fd;

	if (fdpass_recv(ctl, c, sizeof(*c), &fd) != (ssize_t)sizeof(*c) ||
	    c->port < SMTPD_PORT_MX || c->port > SMTPD_PORT_SMTPS) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
smtpd_worker_run(const struct config *cfg, const struct smtpd_ctx *ctx,
    int ctl, int fd, const struct sockaddr_storage *peer, int port)
{
	struct worker_conn c;
	long long uses;

	c.ss = *peer;
	c.port = port;
	for (uses = 1; ; uses++) {
		smtp_session_serve(cfg, ctx, fd, (struct sockaddr *)&c.ss, -1,
		    c.port);
		close(fd);
		if (uses >= cfg->smtpd_max_use ||
		    write(ctl, "F", 1) != 1 ||
		    (fd = worker_receive(ctl, &c)) == -1)
			break;
	}
	return 0;
}
