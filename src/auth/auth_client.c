/* SPDX-License-Identifier: ISC */
/*
 * auth_client.c - ask the password checker: auth_check() (see auth.h).
 *
 * Runs in an smtpd, as `user`.  Each request gets a socket pair of its
 * own: one end travels with the request, the answer comes back on the
 * other, so a late answer to a session that gave up can never be read as
 * the answer to the next one.  The wait is bounded by timeout_ms.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "authfile.h"
#include "fdpass.h"
#include "iobuf.h"

/* The one byte answer on fd within timeout_ms: 1, 0 or -1. */
static int
auth_wait(int fd, int timeout_ms)
{
	long long deadline = iobuf_now_ms() + timeout_ms, left;
	struct pollfd pfd;
	ssize_t	 n;
	char	 v;
	int	 rc;

	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		left = deadline - iobuf_now_ms();
		rc = poll(&pfd, 1, left < 0 ? 0 : (int)left);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0)
		errno = ETIMEDOUT;
	if (rc != 1)
		return -1;
	while ((n = recv(fd, &v, 1, MSG_DONTWAIT)) == -1 && errno == EINTR)
		;
	if (n == 1 && v == 'Y')
		return 1;
	if (n == 1 && v == 'N')
		return 0;
	errno = n == 0 ? ECONNRESET : n == 1 ? EAGAIN : errno;
	return -1;	/* it died with our request, or said 'T' */
}

int
auth_check(int fd, const char *user, const char *password, int timeout_ms)
{
	char	 req[1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1];
	size_t	 ulen = strlen(user), plen = strlen(password);
	int	 sp[2], rc;

	if (!authfile_user_ok(user, ulen) || plen == 0 ||
	    plen > AUTH_PASS_MAX)
		return 0;	/* no entry of the file can match */
	if (fd < 0) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	req[0] = AUTH_REQ_CHECK;
	memcpy(req + 1, user, ulen + 1);
	memcpy(req + 1 + ulen + 1, password, plen + 1);
	rc = fdpass_send(fd, req, 1 + ulen + plen + 2, sp[1]);
	explicit_bzero(req, sizeof(req));
	close(sp[1]);		/* the checker's copy is its only one */
	if (rc == 0)
		rc = auth_wait(sp[0], timeout_ms < 0 ? 0 : timeout_ms);
	close(sp[0]);
	return rc;
}

int
auth_pop3(int fd, const char *user, const char *password, int timeout_ms,
    int *session)
{
	char	 req[1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1];
	size_t	 ulen = strlen(user), plen = strlen(password);
	int	 sp[2], rc;

	*session = -1;
	if (!authfile_user_ok(user, ulen) || plen == 0 ||
	    plen > AUTH_PASS_MAX)
		return 0;
	if (fd < 0) {
		errno = ECONNREFUSED;
		return -1;
	}
	/* A stream: after the answer it carries the whole session. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	req[0] = AUTH_REQ_POP3;
	memcpy(req + 1, user, ulen + 1);
	memcpy(req + 1 + ulen + 1, password, plen + 1);
	rc = fdpass_send(fd, req, 1 + ulen + plen + 2, sp[1]);
	explicit_bzero(req, sizeof(req));
	close(sp[1]);
	if (rc == 0)
		rc = auth_wait(sp[0], timeout_ms < 0 ? 0 : timeout_ms);
	if (rc == 1)
		*session = sp[0];
	else
		close(sp[0]);
	return rc;
}
