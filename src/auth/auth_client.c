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

/*
 * auth_request - send one request of type with its own socket pair of
 * socktype, and wait for the answer on it: 1, 0 or -1 as auth_check().
 * On 1 with keep set, *keep is our end, left open for what follows.
 */
static int
auth_request(int fd, char type, const char *user, const char *password,
    int socktype, int timeout_ms, int *keep)
{
	char	 req[1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1];
	size_t	 ulen = strlen(user), plen = strlen(password);
	int	 sp[2], rc;

	if (keep != NULL)
		*keep = -1;
	if (!authfile_user_ok(user, ulen) || plen == 0 ||
	    plen > AUTH_PASS_MAX)
		return 0;	/* no entry of the file can match */
	if (fd < 0) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, socktype | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	req[0] = type;
	memcpy(req + 1, user, ulen + 1);
	memcpy(req + 1 + ulen + 1, password, plen + 1);
	rc = fdpass_send(fd, req, 1 + ulen + plen + 2, sp[1]);
	explicit_bzero(req, sizeof(req));
	close(sp[1]);		/* the checker's copy is its only one */
	if (rc == 0)
		rc = auth_wait(sp[0], timeout_ms < 0 ? 0 : timeout_ms);
	if (rc == 1 && keep != NULL)
		*keep = sp[0];
	else
		close(sp[0]);
	return rc;
}

int
auth_check(int fd, const char *user, const char *password, int timeout_ms)
{
	return auth_request(fd, AUTH_REQ_CHECK, user, password,
	    SOCK_SEQPACKET, timeout_ms, NULL);
}

/* A stream: after the answer it carries the whole POP3 session. */
int
auth_pop3(int fd, const char *user, const char *password, int timeout_ms,
    int *session)
{
	return auth_request(fd, AUTH_REQ_POP3, user, password, SOCK_STREAM,
	    timeout_ms, session);
}
