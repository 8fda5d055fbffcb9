/* SPDX-License-Identifier: ISC */
/*
 * fdpass.c - send and receive a record with one descriptor (SCM_RIGHTS).
 *
 * Used where a descriptor crosses between processes: the queue runner's
 * local delivery requests to the master (with the result pipe), and the
 * master's connections to free smtpd workers.  The receiver treats what
 * arrives as untrusted: anything but exactly one descriptor in an
 * untruncated record is refused and the descriptors are closed.
 * fd_full() is the plain pipe's counterpart: whole buffers (mailq's
 * listing children, ternpasswd's file).
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

#define FDPASS_MAX_FDS	8	/* room to receive, and close, extras */

int
fdpass_send(int sock, const void *buf, size_t len, int fd)
{
	return fdpass_sendv(sock, buf, len, &fd, 1);
}

int
fdpass_sendv(int sock, const void *buf, size_t len, const int *fds,
    int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t	 n;

	if (nfds < 1 || nfds > FDPASS_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* The nfds descriptors of msg in fds; -1 (all closed) if not exactly. */
static int
fdpass_take(struct msghdr *msg, int *fds, int nfds)
{
	struct cmsghdr *c;
	int	 got = 0, tmp, i, count;

	for (i = 0; i < nfds; i++)
		fds[i] = -1;
	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < count; i++) {
			memcpy(&tmp, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			if (got < nfds)
				fds[got] = tmp;
			else
				close(tmp);
			got++;
		}
	}
	if (got == nfds && !(msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return 0;
	for (i = 0; i < nfds; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
	}
	return -1;
}

ssize_t
fdpass_recv(int sock, void *buf, size_t len, int *fd)
{
	return fdpass_recvv(sock, buf, len, fd, 1);
}

ssize_t
fdpass_recvv(int sock, void *buf, size_t len, int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	ssize_t	 n;
	int	 i;

	for (i = 0; i < nfds; i++)
		fds[i] = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n == 0)
		(void)fdpass_take(&msg, fds, 0);	/* close what came along */
	if (n <= 0)
		return n;
	if (nfds < 1 || nfds > FDPASS_MAX_FDS ||
	    fdpass_take(&msg, fds, nfds) == -1) {
		errno = EBADMSG;
		return -1;
	}
	return n;
}

int
fd_full(int fd, void *buf, size_t n, int out)
{
	char	*s = buf;
	ssize_t	 r;

	while (n > 0) {
		r = out ? write(fd, s, n) : read(fd, s, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		s += r;
		n -= (size_t)r;
	}
	return 0;
}
