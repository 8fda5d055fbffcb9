/* SPDX-License-Identifier: ISC */
/*
 * pop3_login.c - the login process of a POP3 session: the AUTHORIZATION
 * state (RFC 1939 4), CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN
 * (RFC 5034), then a relay between the client and the mailbox process.
 *
 * Forked by the master for each connection on pop3_listen (plaintext,
 * STLS) or pop3s_listen (TLS from the first byte), already `user`: it
 * parses the client's bytes and the TLS records and nothing else.  It
 * never opens a mailbox: a password goes to the password checker (an
 * AUTH_REQ_POP3 request, auth.h) with one end of a stream socket pair;
 * when it is right, the checker has the master fork the mailbox process
 * on that end, and the next byte on it is that process's "+OK" (or
 * "-ERR [IN-USE]").  From then on this process only copies bytes, both
 * ways, with back-pressure (a client that sends without reading stops
 * being read, nothing is dropped) and the idle timeout pop3_timeout.
 *
 * Logins are logged in Dovecot's layout, which fail2ban's dovecot filter
 * and etc/fail2ban/tern-pop3.conf read:
 *	Disconnected (auth failed, 2 attempts in 3 secs): user=<bob>,
 *	    method=PLAIN, rip=192.0.2.1, lip=192.0.2.25, session=<...>
 *	Login: user=<bob>, method=PLAIN, rip=..., lip=..., TLS, session=<...>
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "authfile.h"
#include "base64.h"
#include "iobuf.h"
#include "log.h"
#include "netaddr.h"
#include "pop3.h"
#include "tls.h"

#define CHECK_TIMEOUT	15000		/* ms for the checker's answer */
#define AUTH_LINE	2048		/* an AUTH PLAIN response line */
#define RELAY_BUF	65536

struct login {
	const struct config	*cfg;
	struct tls_ctx		*tls_ctx;
	int			 auth_fd;
	int			 port;
	struct iobuf		 io;
	struct tls		*tls;
	char			 rip[64], lip[64], id[20];
	char			 user[AUTH_USER_MAX + 1];	/* of USER */
	char			 logged[AUTH_USER_MAX + 1];	/* last tried */
	const char		*method;
	int			 loopback;
	int			 failures;
	int			 quit;
	time_t			 start;
};

/* One response line to the client (pop3_reply). */
#define reply(x, ...)	pop3_reply(&(x)->io, __VA_ARGS__)

/* USER, PASS and AUTH in plaintext: only from loopback, when allowed. */
static int
plaintext_allowed(const struct login *l)
{
	return l->tls != NULL || (l->loopback &&
	    l->cfg->pop3_loopback_plaintext);
}

static const char *
tls_note(const struct login *l)
{
	return l->tls != NULL ? ", TLS" : "";
}

/* The user name as it goes into a log line: printable, no '>'. */
static void
note_user(struct login *l, const char *user)
{
	size_t	 i;

	snprintf(l->logged, sizeof(l->logged), "%s", user);
	for (i = 0; l->logged[i] != '\0'; i++)
		if ((unsigned char)l->logged[i] < 0x21 ||
		    (unsigned char)l->logged[i] > 0x7e || l->logged[i] == '>')
			l->logged[i] = '?';
}

static void
cmd_capa(struct login *l)
{
	iobuf_printf(&l->io, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
	    "PIPELINING\r\nAUTH-RESP-CODE\r\n");
	if (plaintext_allowed(l))
		iobuf_printf(&l->io, "USER\r\nSASL PLAIN\r\n");
	if (l->tls == NULL && l->tls_ctx != NULL)
		iobuf_printf(&l->io, "STLS\r\n");
	iobuf_printf(&l->io, "IMPLEMENTATION tern\r\n.\r\n");
}

static void
cmd_stls(struct login *l)
{
	char	 err[256];
	size_t	 dropped;

	if (l->tls != NULL) {
		reply(l, "-ERR TLS is already active.");
		return;
	}
	if (l->tls_ctx == NULL) {
		reply(l, "-ERR TLS support isn't enabled.");
		return;
	}
	reply(l, "+OK Begin TLS negotiation now.");
	if (iobuf_flush(&l->io) == -1) {
		l->quit = 1;
		return;
	}
	/* RFC 2595 4: what came after STLS in plaintext is not TLS's. */
	if ((dropped = iobuf_starttls(&l->io, NULL)) > 0)
		log_info("%zu bytes sent after STLS in plaintext thrown away:"
		    " rip=%s", dropped, l->rip);
	if ((l->tls = tls_accept(l->tls_ctx, l->io.infd,
	    (int)(l->cfg->pop3_timeout * 1000), err, sizeof(err))) == NULL) {
		log_info("Disconnected (TLS handshaking: %s): rip=%s, lip=%s",
		    err, l->rip, l->lip);
		l->io.status = IOBUF_ERROR;
		l->quit = 1;
		return;
	}
	iobuf_starttls(&l->io, l->tls);
	l->user[0] = '\0';
}

/*
 * client_read, client_write - one read or write on the client's side,
 * TLS or not: bytes moved, 0 when it would wait (*want: the poll
 * events), -1 at end of file or error.
 */
static ssize_t
client_read(struct login *l, char *buf, size_t len, short *want)
{
	ssize_t	 n;

	if (l->tls != NULL) {
		n = tls_read(l->tls, buf, len, want);
		return n == 0 ? -1 : n == -1 && *want ? 0 : n;
	}
	*want = POLLIN;
	n = read(l->io.infd, buf, len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n == 0 ? -1 : n;
}

static ssize_t
client_write(struct login *l, const char *buf, size_t len, short *want)
{
	ssize_t	 n;

	if (l->tls != NULL) {
		n = tls_write(l->tls, buf, len, want);
		return n == -1 && *want ? 0 : n;
	}
	*want = POLLOUT;
	n = write(l->io.outfd, buf, len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n;
}

/*
 * relay - copy both ways until either side ends or the client has been
 * idle (neither read from nor written to) for pop3_timeout.  Each way has
 * one buffer, read into only when empty enough: a side that does not
 * read holds the other back, and nothing is lost or grows.  0 when the
 * session socket ended before its first byte.
 */
static int
relay(struct login *l, int sess)
{
	static char up[RELAY_BUF], down[RELAY_BUF];
	size_t	 uplen = 0, downoff = 0, downlen = 0;
	long long idle_ms = l->cfg->pop3_timeout * 1000, last;
	struct pollfd pfd[2];
	short	 rwant = 0, wwant = 0;
	ssize_t	 n;
	int	 progress, sess_eof = 0, rc, heard = 0;

	/* what the client pipelined after its PASS or AUTH */
	uplen = l->io.end - l->io.start;
	memcpy(up, l->io.in + l->io.start, uplen);
	explicit_bzero(l->io.in, sizeof(l->io.in));
	fcntl(sess, F_SETFL, fcntl(sess, F_GETFL) | O_NONBLOCK);
	last = iobuf_now_ms();
	for (;;) {
		progress = 0;
		rwant = wwant = 0;
		if (!sess_eof && uplen < sizeof(up)) {
			if ((n = client_read(l, up + uplen, sizeof(up) - uplen,
			    &rwant)) == -1)
				break;		/* the client went away */
			if (n > 0) {
				uplen += (size_t)n;
				progress = 1;
				last = iobuf_now_ms();
			}
		}
		if (uplen > 0 && !sess_eof) {
			n = write(sess, up, uplen);
			if (n > 0) {
				memmove(up, up + n, uplen - (size_t)n);
				uplen -= (size_t)n;
				progress = 1;
			} else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR)
				sess_eof = 1;
		}
		if (downlen == 0 && !sess_eof) {
			n = read(sess, down, sizeof(down));
			if (n > 0) {
				downoff = 0;
				downlen = (size_t)n;
				progress = heard = 1;
			} else if (n == 0 || (errno != EAGAIN &&
			    errno != EINTR))
				sess_eof = 1;
		}
		if (downlen > 0) {
			if ((n = client_write(l, down + downoff, downlen,
			    &wwant)) == -1)
				break;
			if (n > 0) {
				downoff += (size_t)n;
				downlen -= (size_t)n;
				progress = 1;
				last = iobuf_now_ms();
			}
		}
		if (sess_eof && downlen == 0)
			break;			/* the session said its last */
		if (progress)
			continue;
		pfd[0].fd = l->io.infd;
		pfd[0].events = rwant | wwant;
		pfd[1].fd = sess;
		pfd[1].events = (short)((downlen == 0 && !sess_eof ? POLLIN :
		    0) | (uplen > 0 && !sess_eof ? POLLOUT : 0));
		n = last + idle_ms - iobuf_now_ms();
		if (n <= 0) {
			log_info("Disconnected for inactivity in %lld secs: "
			    "user=<%s>, rip=%s, lip=%s%s, session=<%s>",
			    idle_ms / 1000, l->logged, l->rip, l->lip,
			    tls_note(l), l->id);
			break;
		}
		rc = poll(pfd, 2, (int)n);
		if (rc == -1 && errno != EINTR)
			break;
	}
	explicit_bzero(up, sizeof(up));
	return heard;
}

static void
log_disconnect(struct login *l, const char *why)
{
	long long secs = (long long)(time(NULL) - l->start);

	if (l->failures > 0)
		log_info("Disconnected (auth failed, %d attempts in %lld "
		    "secs): user=<%s>, method=%s, rip=%s, lip=%s%s, "
		    "session=<%s>", l->failures, secs, l->logged, l->method,
		    l->rip, l->lip, tls_note(l), l->id);
	else
		log_info("Disconnected (%s in %lld secs): user=<%s>, rip=%s, "
		    "lip=%s%s, session=<%s>", why, secs, l->logged, l->rip,
		    l->lip, tls_note(l), l->id);
}

/* The checker's answer for user and password, and what follows it. */
static void
login_try(struct login *l, const char *method, const char *user,
    const char *pass)
{
	int	 sess, r;

	note_user(l, user);
	l->method = method;
	r = auth_pop3(l->auth_fd, user, pass, CHECK_TIMEOUT, &sess);
	if (r == 1) {
		if (iobuf_flush(&l->io) == -1) {
			close(sess);
			l->quit = 1;
			return;
		}
		log_info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s, "
		    "session=<%s>", l->logged, method, l->rip, l->lip,
		    tls_note(l), l->id);
		if (!relay(l, sess)) {
			/* no mailbox process came: the grant was lost */
			reply(l, "-ERR [SYS/TEMP] Temporary authentication "
			    "failure.");
			log_warnx("user=<%s>, rip=%s: no mailbox process",
			    l->logged, l->rip);
			iobuf_flush(&l->io);
		}
		close(sess);
		l->quit = 2;
		return;
	}
	if (r == -1) {
		log_warnx("user=<%s>, rip=%s: no answer from the password "
		    "checker", l->logged, l->rip);
		reply(l, "-ERR [SYS/TEMP] Temporary authentication failure.");
		return;
	}
	l->failures++;
	auth_failure_delay(l->cfg->smtpd_auth_failure_delay,
	    l->failures);
	reply(l, "-ERR [AUTH] Authentication failed.");
	if (l->failures >= l->cfg->smtpd_auth_max_failures) {
		reply(l, "-ERR Too many authentication failures.");
		l->quit = 1;
	}
}

static void
cmd_user(struct login *l, const char *arg)
{
	if (arg == NULL || strlen(arg) > AUTH_USER_MAX) {
		reply(l, "-ERR Invalid user name.");
		return;
	}
	snprintf(l->user, sizeof(l->user), "%s", arg);
	reply(l, "+OK");
}

/* PASS takes the rest of the line: a password may hold blanks. */
static void
cmd_pass(struct login *l, const char *rest)
{
	if (l->user[0] == '\0') {
		reply(l, "-ERR No username given.");
		return;
	}
	if (rest == NULL || *rest == '\0') {
		reply(l, "-ERR No password given.");
		return;
	}
	login_try(l, "PLAIN", l->user, rest);
	l->user[0] = '\0';
}

static void
cmd_auth(struct login *l, char *mech, char *initial)
{
	char	 buf[AUTH_LINE], *line, *user, *pass;
	ssize_t	 n;
	int	 toolong;

	if (mech == NULL) {
		/* RFC 5034 4: AUTH alone may list the mechanisms */
		reply(l, "+OK\r\nPLAIN\r\n.");
		return;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		reply(l, "-ERR Unsupported authentication mechanism.");
		return;
	}
	if (initial == NULL) {
		reply(l, "+ ");
		if ((n = pop3_getline(&l->io, AUTH_LINE, &line,
		    &toolong)) == -1) {
			l->quit = 1;
			return;
		}
		if (toolong) {
			reply(l, "-ERR Line too long.");
			return;
		}
		initial = line;
	}
	if (strcmp(initial, "*") == 0) {
		reply(l, "-ERR Authentication aborted by client.");
		return;
	}
	if ((n = base64_decode(initial, strlen(initial), buf,
	    sizeof(buf) - 1)) < 0 ||
	    sasl_plain_split(buf, (size_t)n, &user, &pass) == -1) {
		explicit_bzero(buf, sizeof(buf));
		reply(l, "-ERR Invalid base64 data in continued response.");
		return;
	}
	buf[n] = '\0';
	login_try(l, "PLAIN", user, pass);
	explicit_bzero(buf, sizeof(buf));
}

static void
command(struct login *l, char *line)
{
	char	*verb, *arg[2], *rest;
	int	 n, login;

	/* PASS keeps its blanks: the rest of the line, as it is */
	if (strncasecmp(line, "PASS", 4) == 0 && (line[4] == ' ' ||
	    line[4] == '\0')) {
		rest = line[4] == ' ' ? line + 5 : NULL;
		line[4] = '\0';
		verb = line;
		memcpy(verb, "PASS", 4);
		n = rest != NULL;
	} else if ((n = pop3_parse(line, &verb, arg)) == -1) {
		reply(l, "-ERR Invalid arguments.");
		return;
	} else
		rest = NULL;
	login = strcmp(verb, "USER") == 0 || strcmp(verb, "PASS") == 0 ||
	    strcmp(verb, "AUTH") == 0;
	if (login && !plaintext_allowed(l)) {
		reply(l, "-ERR [AUTH] Plaintext authentication disallowed on "
		    "non-secure (SSL/TLS) connections.");
		log_info("Disconnected: tried to use disallowed plaintext auth:"
		    " rip=%s, lip=%s", l->rip, l->lip);
		return;
	}
	if (strcmp(verb, "CAPA") == 0)
		cmd_capa(l);
	else if (strcmp(verb, "STLS") == 0)
		cmd_stls(l);
	else if (strcmp(verb, "USER") == 0)
		cmd_user(l, n == 1 ? arg[0] : NULL);
	else if (strcmp(verb, "PASS") == 0)
		cmd_pass(l, rest);
	else if (strcmp(verb, "AUTH") == 0)
		cmd_auth(l, arg[0], arg[1]);
	else if (strcmp(verb, "QUIT") == 0) {
		reply(l, "+OK Logging out.");
		l->quit = 1;
	} else if (strcmp(verb, "NOOP") == 0)
		reply(l, "+OK");
	else if (strcmp(verb, "STAT") == 0 || strcmp(verb, "LIST") == 0 ||
	    strcmp(verb, "UIDL") == 0 || strcmp(verb, "RETR") == 0 ||
	    strcmp(verb, "TOP") == 0 || strcmp(verb, "DELE") == 0 ||
	    strcmp(verb, "RSET") == 0)
		reply(l, "-ERR Not logged in: USER and PASS first.");
	else
		reply(l, "-ERR Unknown command.");
}

static void
session_id(char *out, size_t len)
{
	unsigned char raw[9];
	ssize_t	 n;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memset(raw, 0, sizeof(raw));
	if ((n = base64_encode(raw, sizeof(raw), out, len)) < 0)
		out[0] = '\0';
}

int
pop3_login_serve(const struct config *cfg, struct tls_ctx *tls, int auth_fd,
    int fd, const struct sockaddr *peer, int port)
{
	static struct login l;
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	char	*line, err[256];
	ssize_t	 n;
	int	 toolong, one = 1;

	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.tls_ctx = tls;
	l.auth_fd = auth_fd;
	l.port = port;
	l.start = time(NULL);
	l.method = "PLAIN";
	netaddr_string(peer, l.rip, sizeof(l.rip));
	l.loopback = netaddr_is_loopback(peer);
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0)
		netaddr_string((struct sockaddr *)&ss, l.lip, sizeof(l.lip));
	session_id(l.id, sizeof(l.id));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	iobuf_init(&l.io, fd, fd, (int)(cfg->pop3_timeout * 1000));
	if (port == POP3_PORT_TLS) {
		if (tls == NULL || (l.tls = tls_accept(tls, fd,
		    (int)(cfg->pop3_timeout * 1000), err, sizeof(err))) ==
		    NULL) {
			log_info("Disconnected (TLS handshaking: %s): rip=%s, "
			    "lip=%s", tls == NULL ? "no certificate" : err,
			    l.rip, l.lip);
			return 0;
		}
		iobuf_starttls(&l.io, l.tls);
	}
	reply(&l, "+OK tern POP3 ready.");
	while (!l.quit) {
		if ((n = pop3_getline(&l.io, POP3_LINE_MAX, &line,
		    &toolong)) == -1)
			break;
		if (toolong) {
			reply(&l, "-ERR Line too long.");
			continue;
		}
		command(&l, line);
	}
	if (l.quit != 2) {
		iobuf_flush(&l.io);
		log_disconnect(&l, l.io.status == IOBUF_TIMEOUT ?
		    "inactivity" : l.quit ? "no auth attempts" :
		    "client left");
	}
	tls_close(l.tls);
	explicit_bzero(&l, sizeof(l));
	return 0;
}
