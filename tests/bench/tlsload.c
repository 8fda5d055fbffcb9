/* SPDX-License-Identifier: ISC */
/*
 * tlsload.c - an SMTP load client with STARTTLS, for `make bench`.
 *
 * Postfix's smtp-source speaks no TLS, so the bench's TLS figure uses
 * this.  It forks one worker per concurrent session; each worker loops:
 * connect, 220, EHLO, STARTTLS, the TLS handshake (SNI localhost, no
 * certificate check, TLS 1.2 or later), EHLO again, MAIL, RCPT, DATA
 * with a message of -l bytes of body, ".", QUIT, close_notify.  With
 * resumption on (the default) a worker offers the session (in TLS 1.3:
 * the newest session ticket) of its previous connection, so only its
 * first session pays for a full handshake, and it counts how many were
 * resumed.  Each command waits for its reply (no pipelining), as
 * smtp-source does.
 *
 * It is a bench tool, not part of tern: bench.sh compiles it with
 * `cc -O2 tlsload.c -lssl -lcrypto`.  It prints one line of key=value:
 *
 *   sessions= failures= resumed= seconds= rate= ms_per_session=
 *   client_cpu_ms=
 *
 * rate is completed sessions per second of wall time; ms_per_session
 * is the mean time of one session; client_cpu_ms is this client's own
 * CPU time per session (user + system, all workers), to show how much
 * of the machine the load itself takes.
 *
 * With -v it also prints the mean time of each step (from sending the
 * command to the end of its reply) of the completed sessions, to show
 * where a server makes its clients wait.
 *
 * usage: tlsload [-c conc] [-t secs | -n sessions] [-l bytes] [-R] [-v]
 *            [-f from] [-r rcpt] [-e ehlo] host:port
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define IOTIMEOUT	15	/* seconds for any one read or write */
#define MAXFAIL		50	/* a worker gives up after this many */

/* The steps of a session, in order; -v prints the mean time of each. */
static const char *steps[] = {
	"connect", "banner", "EHLO", "STARTTLS", "TLS handshake",
	"EHLO after STARTTLS", "MAIL", "RCPT", "DATA", "end of data", "QUIT"
};
#define NSTEP	(sizeof(steps) / sizeof(steps[0]))

/* What a worker reports to the parent, over a pipe, when it ends. */
struct result {
	long	ok;		/* sessions completed */
	long	fail;		/* sessions that failed */
	long	resumed;	/* of the completed, TLS resumed */
	double	busy;		/* seconds spent in completed sessions */
	double	spent[NSTEP];	/* of which in each step */
	char	why[120];	/* the last failure */
};

/* One connection: the socket, TLS once it is up, and a read buffer. */
struct conn {
	int	 fd;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 len;
};

static struct sockaddr_in srv;
static const char *from = "from@bench.test";
static const char *rcpt = "bench@discard.bench.test";
static const char *ehlo = "tlsload.bench.test";
static char *msg;		/* headers, body, "." line */
static size_t msglen;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tlsload [-c conc] [-t secs | -n sessions] "
	    "[-l bytes] [-R] [-v] [-f from] [-r rcpt] [-e ehlo] host:port\n");
	exit(2);
}

/*
 * Build the message once: a few headers, then `size` bytes of body in
 * lines of 78 characters and CRLF (size >= 2), then the end-of-data
 * line.
 */
static void
make_message(size_t size)
{
	size_t	 n, i, k, left, cap;
	int	 h;

	cap = size + 512;
	if ((msg = malloc(cap)) == NULL) {
		perror("tlsload: malloc");
		exit(1);
	}
	h = snprintf(msg, cap, "From: <%s>\r\nTo: <%s>\r\n"
	    "Subject: tlsload\r\n\r\n", from, rcpt);
	if (h < 0 || (size_t)h >= cap) {
		fprintf(stderr, "tlsload: addresses too long\n");
		exit(2);
	}
	n = h;
	for (left = size; left > 0; left -= k + 2) {
		/* 78 characters a line; never leave a lone byte over. */
		k = left >= 82 ? 78 : left == 81 ? 77 : left - 2;
		for (i = 0; i < k; i++)
			msg[n++] = 'a' + i % 26;
		msg[n++] = '\r';
		msg[n++] = '\n';
	}
	memcpy(msg + n, ".\r\n", 3);
	msglen = n + 3;
}

/* Write all of buf, in TLS once it is up; -1 on error. */
static int
send_all(struct conn *c, const char *buf, size_t len)
{
	ssize_t	 r;

	while (len > 0) {
		if (c->ssl != NULL)
			r = SSL_write(c->ssl, buf, len);
		else
			r = write(c->fd, buf, len);
		if (r <= 0) {
			if (c->ssl == NULL && r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		buf += r;
		len -= r;
	}
	return 0;
}

/*
 * Read one SMTP reply (all its lines) and return its code, or -1 on an
 * error, end of stream or a malformed reply.  Bytes after the reply
 * stay in the buffer (a server sends none before the next command).
 */
static int
read_reply(struct conn *c)
{
	char	*nl;
	size_t	 ll;
	ssize_t	 r;
	int	 code;

	for (;;) {
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			ll = nl - c->buf + 1;
			if (ll < 4) {
				return -1;
			}
			code = atoi(c->buf);
			if (c->buf[3] != '-') {
				memmove(c->buf, c->buf + ll, c->len - ll);
				c->len -= ll;
				return code;
			}
			memmove(c->buf, c->buf + ll, c->len - ll);
			c->len -= ll;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		if (c->ssl != NULL)
			r = SSL_read(c->ssl, c->buf + c->len,
			    sizeof(c->buf) - c->len);
		else
			r = read(c->fd, c->buf + c->len,
			    sizeof(c->buf) - c->len);
		if (r <= 0) {
			if (c->ssl == NULL && r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->len += r;
	}
}

/* Send a command line and wait for its reply; its code, or -1. */
static int
command(struct conn *c, const char *fmt, const char *arg)
{
	char	 line[600];
	int	 n;

	n = snprintf(line, sizeof(line), fmt, arg);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if (send_all(c, line, n) == -1)
		return -1;
	return read_reply(c);
}

/*
 * The start of step k: the time since the last mark goes to the step
 * before it.  Returns the step's name, for a failure.
 */
static const char *
mark(double *spent, size_t k, double *t)
{
	double	 n;

	n = now();
	if (k > 0)
		spent[k - 1] += n - *t;
	*t = n;
	return k < NSTEP ? steps[k] : "close";
}

/*
 * One whole session.  Returns 0 when the message was accepted and the
 * server said goodbye, else -1 with the step that failed in why.
 * *sess is the session to offer (may be NULL) and is replaced by the
 * newest one this connection got; *reused says whether TLS resumed.
 * The time of each step is added to spent[] (NSTEP of them).
 */
static int
session(SSL_CTX *ctx, SSL_SESSION **sess, int *reused, double *spent,
    char *why, size_t whylen)
{
	struct conn	 c;
	struct timeval	 tv = { IOTIMEOUT, 0 };
	SSL_SESSION	*s;
	const char	*step;
	double		 t;
	size_t		 k = 0;
	int		 rc = -1, one = 1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	*reused = 0;
	step = mark(spent, k++, &t);
	if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		goto out;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c.fd, (struct sockaddr *)&srv, sizeof(srv)) == -1)
		goto out;
	step = mark(spent, k++, &t);
	if (read_reply(&c) != 220)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "EHLO %s\r\n", ehlo) != 250)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "STARTTLS\r\n", NULL) != 220 || c.len != 0)
		goto out;
	step = mark(spent, k++, &t);
	if ((c.ssl = SSL_new(ctx)) == NULL)
		goto out;
	SSL_set_fd(c.ssl, c.fd);
	SSL_set_tlsext_host_name(c.ssl, "localhost");
	if (*sess != NULL)
		SSL_set_session(c.ssl, *sess);
	if (SSL_connect(c.ssl) != 1)
		goto out;
	*reused = SSL_session_reused(c.ssl);
	step = mark(spent, k++, &t);
	if (command(&c, "EHLO %s\r\n", ehlo) != 250)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "MAIL FROM:<%s>\r\n", from) != 250)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "RCPT TO:<%s>\r\n", rcpt) != 250)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "DATA\r\n", NULL) != 354)
		goto out;
	step = mark(spent, k++, &t);
	if (send_all(&c, msg, msglen) == -1 || read_reply(&c) != 250)
		goto out;
	step = mark(spent, k++, &t);
	if (command(&c, "QUIT\r\n", NULL) != 221)
		goto out;
	mark(spent, k, &t);
	rc = 0;
out:
	if (rc == -1) {
		snprintf(why, whylen, "%s: %s", step, c.ssl != NULL ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    strerror(errno));
		ERR_clear_error();
	}
	if (c.ssl != NULL) {
		/* The tickets came with the replies; keep the newest. */
		if (rc == 0 && (s = SSL_get1_session(c.ssl)) != NULL) {
			if (SSL_SESSION_is_resumable(s)) {
				if (*sess != NULL)
					SSL_SESSION_free(*sess);
				*sess = s;
			} else
				SSL_SESSION_free(s);
		}
		if (rc == 0)
			SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	if (c.fd != -1)
		close(c.fd);
	return rc;
}

/* A worker: sessions until the deadline or its quota; report on out. */
static void
worker(SSL_CTX *ctx, double deadline, long quota, int resume, int out)
{
	struct result	 res;
	SSL_SESSION	*sess = NULL;
	double		 t0, spent[NSTEP];
	size_t		 k;
	int		 reused;

	memset(&res, 0, sizeof(res));
	while (quota > 0 ? res.ok + res.fail < quota : now() < deadline) {
		t0 = now();
		memset(spent, 0, sizeof(spent));
		if (session(ctx, &sess, &reused, spent, res.why,
		    sizeof(res.why)) == 0) {
			res.ok++;
			res.resumed += reused;
			res.busy += now() - t0;
			for (k = 0; k < NSTEP; k++)
				res.spent[k] += spent[k];
		} else if (++res.fail >= MAXFAIL)
			break;
		if (!resume && sess != NULL) {
			SSL_SESSION_free(sess);
			sess = NULL;
		}
	}
	if (write(out, &res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

/* Parse host:port (an IPv4 address) into srv. */
static void
parse_target(const char *arg)
{
	char	 host[64];
	const char *colon;

	if ((colon = strrchr(arg, ':')) == NULL ||
	    (size_t)(colon - arg) >= sizeof(host))
		usage();
	memcpy(host, arg, colon - arg);
	host[colon - arg] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	srv.sin_family = AF_INET;
	srv.sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &srv.sin_addr) != 1 ||
	    srv.sin_port == 0)
		usage();
}

int
main(int argc, char *argv[])
{
	struct result	 res, sum;
	struct rusage	 ru;
	SSL_CTX		*ctx;
	double		 secs = 10, t0, el, cpu;
	long		 total = 0, quota;
	size_t		 size = 4096, k;
	int		 conc = 20, resume = 1, verbose = 0, ch, i, p[2];

	while ((ch = getopt(argc, argv, "c:e:f:l:n:r:Rt:v")) != -1) {
		switch (ch) {
		case 'c': conc = atoi(optarg); break;
		case 'e': ehlo = optarg; break;
		case 'f': from = optarg; break;
		case 'l': size = strtoul(optarg, NULL, 10); break;
		case 'n': total = atol(optarg); break;
		case 'r': rcpt = optarg; break;
		case 'R': resume = 0; break;
		case 't': secs = atof(optarg); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || conc < 1 || conc > 1000 || size < 2)
		usage();
	parse_target(argv[optind]);
	make_message(size);
	signal(SIGPIPE, SIG_IGN);

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		fprintf(stderr, "tlsload: SSL_CTX_new failed\n");
		return 1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Sessions are kept by hand, one per worker, not in a cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

	if (pipe(p) == -1) {
		perror("tlsload: pipe");
		return 1;
	}
	t0 = now();
	for (i = 0; i < conc; i++) {
		quota = total > 0 ? total / conc + (i < total % conc) : 0;
		if (total > 0 && quota == 0)
			break;
		switch (fork()) {
		case -1:
			perror("tlsload: fork");
			return 1;
		case 0:
			close(p[0]);
			worker(ctx, t0 + secs, quota, resume, p[1]);
		}
	}
	conc = i;
	close(p[1]);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < conc; i++) {
		if (read(p[0], &res, sizeof(res)) != sizeof(res))
			break;
		sum.ok += res.ok;
		sum.fail += res.fail;
		sum.resumed += res.resumed;
		sum.busy += res.busy;
		for (k = 0; k < NSTEP; k++)
			sum.spent[k] += res.spent[k];
		if (res.why[0] != '\0')
			memcpy(sum.why, res.why, sizeof(sum.why));
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	el = now() - t0;
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("sessions=%ld failures=%ld resumed=%.3f seconds=%.2f "
	    "rate=%.1f ms_per_session=%.2f client_cpu_ms=%.3f\n",
	    sum.ok, sum.fail, sum.ok ? (double)sum.resumed / sum.ok : 0.0,
	    el, sum.ok / el, sum.ok ? 1000 * sum.busy / sum.ok : 0.0,
	    sum.ok ? 1000 * cpu / sum.ok : 0.0);
	for (k = 0; verbose && sum.ok > 0 && k < NSTEP; k++)
		printf("  %-20s %7.2f ms\n", steps[k],
		    1000 * sum.spent[k] / sum.ok);
	if (sum.fail > 0)
		fprintf(stderr, "tlsload: %ld failed; last: %s\n", sum.fail,
		    sum.why);
	return sum.ok > 0 ? 0 : 1;
}
