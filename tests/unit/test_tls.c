/* SPDX-License-Identifier: ISC */
/*
 * test_tls.c - the TLS glue (tls.c) and iobuf's TLS path, over a
 * socketpair: a forked server, the test as client.  The certificates
 * are the fixtures in tests/certs (tests/certs/make.sh remakes them).
 * Without TLS built in, only the stubs' answer is checked.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "iobuf.h"
#include "tls.h"
#include "unit.h"

#define CERTS	"tests/certs/"

#ifdef TERN_TLS

/*
 * A server on fd with cert/key: handshake, then echo one line back with
 * "echo: " before it.  Exits 0 when all went well, 2 when the handshake
 * failed.
 */
static pid_t
server(int fd, const char *cert, const char *key)
{
	struct tls_ctx *c;
	struct tls *t;
	struct iobuf io;
	char	 err[256], *line;
	ssize_t	 n;
	int	 toolong;
	pid_t	 pid;

	if ((pid = fork()) != 0)
		return pid;
	alarm(10);
	if ((c = tls_server_ctx(cert, key, err, sizeof(err))) == NULL)
		_exit(3);
	if ((t = tls_accept(c, fd, 2000, err, sizeof(err))) == NULL)
		_exit(2);
	iobuf_init(&io, fd, fd, 2000);
	iobuf_starttls(&io, t);
	if ((n = iobuf_getline(&io, 512, &line, &toolong)) <= 0)
		_exit(4);
	iobuf_printf(&io, "echo: %.*s", (int)n, line);
	iobuf_flush(&io);
	tls_close(t);
	tls_ctx_free(c);
	_exit(0);
}

static int
server_status(pid_t pid)
{
	int	 st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Connect to a server with cert/key; returns the client's tls or NULL. */
static struct tls *
client(const char *cert, const char *key, const struct tls_client_opts *o,
    int *fd, pid_t *pid, int *checkfail, char *err, size_t len)
{
	struct tls_ctx *c;
	struct tls *t;
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return NULL;
	*pid = server(sv[1], cert, key);
	close(sv[1]);
	*fd = sv[0];
	if ((c = tls_client_ctx(CERTS "ca.pem", err, len)) == NULL)
		return NULL;
	t = tls_connect(c, sv[0], o, 2000, checkfail, err, len);
	tls_ctx_free(c);	/* the connection keeps its own reference */
	return t;
}

static void
test_handshake_and_echo_through_iobuf(void)
{
	struct tls_client_opts o = { .sni = "localhost", .check = TLS_CHECK_CA,
	    .verify_name = "localhost" };
	struct iobuf io;
	struct tls *t;
	char	 err[256] = "", desc[128], *line;
	int	 fd, checkfail, toolong;
	ssize_t	 n;
	pid_t	 pid;

	t = client(CERTS "chain.pem", CERTS "host.key", &o, &fd, &pid,
	    &checkfail, err, sizeof(err));
	CHECK(t != NULL);
	if (t == NULL) {
		printf("  %s\n", err);
		return;
	}
	CHECK_STR(tls_protocol(t), "TLSv1.3");
	tls_describe(t, desc, sizeof(desc));
	CHECK(strncmp(desc, "TLSv1.3 with cipher TLS_", 24) == 0);
	CHECK(strstr(desc, " (256/256 bits)") != NULL ||
	    strstr(desc, " (128/128 bits)") != NULL);
	iobuf_init(&io, fd, fd, 2000);
	iobuf_starttls(&io, t);
	iobuf_printf(&io, "EHLO client.example\r\n");
	n = iobuf_getline(&io, 512, &line, &toolong);
	CHECK(n == 27 && memcmp(line, "echo: EHLO client.example\r\n", 27) == 0);
	CHECK(iobuf_getline(&io, 512, &line, &toolong) == -1);
	CHECK(io.status == IOBUF_EOF);
	tls_close(t);
	close(fd);
	CHECK(server_status(pid) == 0);
}

/* The name does not match: the check fails, and says why. */
static void
test_verify_refuses_the_wrong_name(void)
{
	struct tls_client_opts o = { .sni = "mx.other.example",
	    .check = TLS_CHECK_CA, .verify_name = "mx.other.example" };
	char	 err[256] = "";
	int	 fd, checkfail = 0;
	pid_t	 pid;

	CHECK(client(CERTS "host.pem", CERTS "host.key", &o, &fd, &pid,
	    &checkfail, err, sizeof(err)) == NULL);
	CHECK(checkfail == 1);
	CHECK(strstr(err, "certificate verification failed: ") != NULL);
	CHECK(strstr(err, "hostname mismatch") != NULL);
	close(fd);
	server_status(pid);
}

static void
test_verify_refuses_expired_and_self_signed(void)
{
	struct tls_client_opts o = { .sni = "localhost",
	    .check = TLS_CHECK_CA, .verify_name = "localhost" };
	char	 err[256] = "";
	int	 fd, checkfail = 0;
	pid_t	 pid;

	CHECK(client(CERTS "expired.pem", CERTS "expired.key", &o, &fd, &pid,
	    &checkfail, err, sizeof(err)) == NULL);
	CHECK(checkfail == 1);
	CHECK(strstr(err, "certificate has expired") != NULL);
	close(fd);
	server_status(pid);
	err[0] = '\0';
	CHECK(client(CERTS "self.pem", CERTS "self.key", &o, &fd, &pid,
	    &checkfail, err, sizeof(err)) == NULL);
	CHECK(checkfail == 1);
	CHECK(strstr(err, "self-signed certificate") != NULL ||
	    strstr(err, "self signed certificate") != NULL);
	close(fd);
	server_status(pid);
}

/* "may" takes any certificate; the handshake is the only test. */
static void
test_no_check_takes_a_self_signed_certificate(void)
{
	struct tls_client_opts o = { .sni = "localhost",
	    .check = TLS_CHECK_NONE };
	struct tls *t;
	char	 err[256] = "";
	int	 fd, checkfail = 0;
	pid_t	 pid;

	t = client(CERTS "self.pem", CERTS "self.key", &o, &fd, &pid,
	    &checkfail, err, sizeof(err));
	CHECK(t != NULL);
	tls_close(t);
	close(fd);
	server_status(pid);
}

/* Garbage instead of a ClientHello ends the handshake at once. */
static void
test_garbage_client_hello_fails_cleanly(void)
{
	struct tls_ctx *c;
	char	 err[256] = "";
	int	 sv[2];
	long long t0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	c = tls_server_ctx(CERTS "host.pem", CERTS "host.key", err,
	    sizeof(err));
	CHECK(c != NULL);
	CHECK(write(sv[0], "EHLO garbage.example\r\n", 22) == 22);
	t0 = iobuf_now_ms();
	CHECK(tls_accept(c, sv[1], 5000, err, sizeof(err)) == NULL);
	CHECK(iobuf_now_ms() - t0 < 2000);
	CHECK(strncmp(err, "handshake failed", 16) == 0);
	/* and a silent client: the timeout */
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(tls_accept(c, sv[1], 200, err, sizeof(err)) == NULL);
	CHECK_STR(err, "timeout in the TLS handshake");
	/* and one that goes away in the middle */
	close(sv[0]);
	CHECK(tls_accept(c, sv[1], 2000, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "connection lost in the TLS handshake", 36) == 0);
	close(sv[1]);
	tls_ctx_free(c);
}

static void
test_server_ctx_refuses_a_key_of_another_certificate(void)
{
	char	 err[256] = "";

	CHECK(tls_server_ctx(CERTS "host.pem", CERTS "other.key", err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "mismatch") != NULL ||
	    strstr(err, "does not match") != NULL);
	CHECK(tls_server_ctx(CERTS "missing.pem", CERTS "host.key", err,
	    sizeof(err)) == NULL);
	CHECK(strncmp(err, CERTS "missing.pem", 23) == 0);
}

#else

static void
test_stubs_say_not_built_in(void)
{
	char	 err[256] = "";

	CHECK(!tls_built_in());
	CHECK(tls_server_ctx(CERTS "host.pem", CERTS "host.key", err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "TLS is not built in") != NULL);
	CHECK(tls_client_ctx(NULL, err, sizeof(err)) == NULL);
	CHECK_STR(tls_library(), "not built in");
}

#endif

/* RFC 3207 4.2: what was pipelined after STARTTLS is thrown away. */
static void
test_starttls_drops_pipelined_plaintext(void)
{
	struct iobuf io;
	char	*line;
	int	 sv[2], toolong;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], "STARTTLS\r\nRCPT TO:<x@y>\r\n", 25) == 25);
	iobuf_init(&io, sv[1], sv[1], 1000);
	CHECK(iobuf_getline(&io, 512, &line, &toolong) == 10);
	CHECK(iobuf_starttls(&io, NULL) == 15);
	CHECK(io.start == io.end);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
#ifdef TERN_TLS
	RUN(test_handshake_and_echo_through_iobuf);
	RUN(test_verify_refuses_the_wrong_name);
	RUN(test_verify_refuses_expired_and_self_signed);
	RUN(test_no_check_takes_a_self_signed_certificate);
	RUN(test_garbage_client_hello_fails_cleanly);
	RUN(test_server_ctx_refuses_a_key_of_another_certificate);
#else
	RUN(test_stubs_say_not_built_in);
#endif
	RUN(test_starttls_drops_pipelined_plaintext);
	return unit_done();
}
