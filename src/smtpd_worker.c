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

#include "log.h"
#include "smtp_session.h"
#include "smtpd_worker.h"

int
smtpd_worker_send(int ctl, int fd, const struct sockaddr_storage *ss)
{
	struct msghdr msg;
	struct iovec iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)ss;
	iov.iov_len = sizeof(*ss);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(ctl, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(*ss) ? 0 : -1;
}

/* The next connection from the master; -1 when told to exit. */
static int
worker_receive(int ctl, struct sockaddr_storage *ss)
{
	struct msghdr msg;
	struct iovec iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t	 n;
	int	 fd;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ss;
	iov.iov_len = sizeof(*ss);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	c = CMSG_FIRSTHDR(&msg);
	if (n != (ssize_t)sizeof(*ss) || c == NULL ||
	    c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
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
