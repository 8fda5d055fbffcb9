/* SPDX-License-Identifier: ISC */
/*
 * auth_client.c - ask the password checker: auth_check(), auth_pop3()
 * and auth_lookup() (see auth.h).
 *
 * Runs in an smtpd or a POP3 login (as `user`) and in a virtual delivery
 * job (as virtual_user).  Each request gets a socket pair of its
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
#include "iobuf.h"

/* The answer record on fd within timeout_ms: its length, or -1. */
static ssize_t
auth_wait(int fd, int timeout_ms, char *buf, size_t size)
{
	long long deadline = iobuf_now_ms() + timeout_ms, left;
	struct pollfd pfd;
	ssize_t	 n;
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
	while ((n = recv(fd, buf, size, MSG_DONTWAIT)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ECONNRESET;	/* it died with our request */
	return n > 0 ? n : -1;
}

/*
 * auth_request - send req (len bytes) with a fresh socket pair of
 * socktype, wait for the answer into buf: its length, or -1 (errno
 * set).  With keep set and an answer, *keep is our end, left open for
 * what follows (a POP3 session); else it is closed.  The request
 * buffer is the caller's to wipe.
 */
static ssize_t
auth_request(int fd, const char *req, size_t len, int socktype, char *buf,
    size_t size, int timeout_ms, int *keep)
{
	ssize_t	 n = -1;
	int	 sp[2];

	if (keep != NULL)
		*keep = -1;
	if (fd < 0) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, socktype | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	if (fdpass_send(fd, req, len, sp[1]) == 0) {
		close(sp[1]);	/* the checker's copy is its only one */
		sp[1] = -1;
		n = auth_wait(sp[0], timeout_ms < 0 ? 0 : timeout_ms, buf,
		    size);
	}
	if (sp[1] != -1)
		close(sp[1]);
	if (n > 0 && keep != NULL)
		*keep = sp[0];
	else
		close(sp[0]);
	return n;
}

/* auth_password - a password request of type: 1, 0 or -1 (auth.h) */
static int
auth_password(int fd, char type, const char *user, const char *password,
    int socktype, int timeout_ms, int *keep)
{
	char	 req[1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1], v;
	size_t	 ulen = strlen(user), plen = strlen(password);
	ssize_t	 n;

	if (keep != NULL)
		*keep = -1;
	if (!authfile_user_ok(user, ulen) || plen == 0 ||
	    plen > AUTH_PASS_MAX)
		return 0;	/* no entry of the file can match */
	req[0] = type;
	memcpy(req + 1, user, ulen + 1);
	memcpy(req + 1 + ulen + 1, password, plen + 1);
	n = auth_request(fd, req, 1 + ulen + plen + 2, socktype, &v, 1,
	    timeout_ms, keep);
	explicit_bzero(req, sizeof(req));
	if (n == 1 && v == 'Y')
		return 1;
	if (keep != NULL && *keep != -1) {
		close(*keep);
		*keep = -1;
	}
	if (n == 1 && v == 'N')
		return 0;
	if (n == 1)
		errno = EAGAIN;	/* it said 'T' */
	return -1;
}

int
auth_check(int fd, const char *user, const char *password, int timeout_ms)
{
	return auth_password(fd, AUTH_REQ_CHECK, user, password,
	    SOCK_SEQPACKET, timeout_ms, NULL);
}

/* A stream: after the answer it carries the whole POP3 session. */
int
auth_pop3(int fd, const char *user, const char *password, int timeout_ms,
    int *session)
{
	return auth_password(fd, AUTH_REQ_POP3, user, password, SOCK_STREAM,
	    timeout_ms, session);
}

/* auth_lookup_answer - parse the checker's answer to an 'L' request */
static int
auth_lookup_answer(const char *buf, size_t n, struct auth_account *out)
{
	const char	*q, *mb;
	long long	 v = 0;

	if (n == 1 && buf[0] == 'N')
		return 0;
	if (n < 4 || buf[0] != 'Y' || buf[n - 1] != '\0')
		return -1;
	q = buf + 1;
	if (strlen(q) == 0 || strlen(q) > 18 || strlen(q) + 2 >= n)
		return -1;
	for (; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (*q - '0');
	}
	mb = q + 1;
	if ((size_t)(mb - buf) + strlen(mb) + 1 != n ||
	    strlen(mb) >= sizeof(out->mailbox) ||
	    (mb[0] != '\0' && mb[0] != '/'))
		return -1;
	out->quota = v;
	memcpy(out->mailbox, mb, strlen(mb) + 1);
	return 1;
}

int
auth_lookup(int fd, const char *account, struct auth_account *out,
    int timeout_ms)
{
	char	 req[1 + AUTH_USER_MAX + 1], buf[32 + sizeof(out->mailbox)];
	size_t	 alen = strlen(account);
	ssize_t	 n;
	int	 rc;

	if (!authfile_user_ok(account, alen))
		return 0;
	req[0] = AUTH_REQ_LOOKUP;
	memcpy(req + 1, account, alen + 1);
	if ((n = auth_request(fd, req, alen + 2, SOCK_SEQPACKET, buf,
	    sizeof(buf), timeout_ms, NULL)) <= 0)
		return -1;
	if ((rc = auth_lookup_answer(buf, (size_t)n, out)) == -1)
		errno = EBADMSG;
	return rc;
}

void
auth_failure_delay(long long delay, int failures)
{
	struct timespec ts;

	if (delay <= 0 || failures <= 0)
		return;
	ts.tv_sec = (time_t)(delay * failures);
	ts.tv_nsec = 0;
	nanosleep(&ts, NULL);
}
