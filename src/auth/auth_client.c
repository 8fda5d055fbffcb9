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
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "authfile.h"
#include "fdpass.h"

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

/* The one byte answer on fd within timeout_ms: 1, 0 or -1. */
static int
auth_wait(int fd, int timeout_ms)
{
	struct timespec deadline;
	struct pollfd pfd;
	ssize_t	 n;
	char	 v;
	int	 rc;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((rc = poll(&pfd, 1, ms_left(&deadline))) == -1 &&
	    errno == EINTR)
		;
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
	char	 req[AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1];
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
	memcpy(req, user, ulen + 1);
	memcpy(req + ulen + 1, password, plen + 1);
	rc = fdpass_send(fd, req, ulen + plen + 2, sp[1]);
	explicit_bzero(req, sizeof(req));
	close(sp[1]);		/* the checker's copy is its only one */
	if (rc == 0)
		rc = auth_wait(sp[0], timeout_ms < 0 ? 0 : timeout_ms);
	close(sp[0]);
	return rc;
}
