/* SPDX-License-Identifier: ISC */
/*
 * sendmail - the sendmail(8) interface: read a message on standard input
 * and submit it to ternd over the local submission socket.
 *
 *	sendmail [-t] [-i] [-f sender] [-F name] [-N dsn] [-R ret] [-V envid]
 *	    [-B type] [-C file] [-v] [-X file] [--] [recipient ...]
 *	sendmail -bs | -bp | -bi | -q | -qRdomain | -qIid
 *
 * The daemon learns our uid from SO_PEERCRED, so no set-uid bit is
 * needed; it speaks ordinary SMTP on the socket.  The message is read in
 * full first (into an unlinked temporary file): BODY=8BITMIME must be
 * known before MAIL, and -t needs the headers.  Input lines may end in
 * LF or CRLF and are sent as CRLF, dot-stuffed (RFC 5321 4.5.2), and of
 * any length: they are stored as they are, and a relayed copy is
 * re-encoded by the daemon's SMTP client (longline.c), never cut here;
 * a last line without a newline is completed.  NUL bytes are refused
 * (exit 65): they are not legal in a mail message (RFC 5322 2.3) and silently
 * changing them would corrupt the content.  A lone "." ends the input
 * unless -i or -oi.  "ETRN *" asks the daemon to flush the whole queue
 * (a tern extension for local clients), used by -q when the trigger
 * FIFO is not writable.  Any 4xx reply aborts the whole submission with
 * exit 75 (nothing was sent, so retrying cannot duplicate); recipients
 * refused with 5xx are reported and the others still get the message,
 * with exit 67.  Exit status from sysexits(3).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "queueview.h"
#include "rfc822.h"
#include "submit.h"

#define HEADER_MAX	(1024 * 1024)	/* bytes of header block kept */
#define REPLY_MAX	4096

struct strvec {
	char	**v;
	size_t	  n, cap;
};

struct submit {
	struct config	 cfg;
	const char	*conf;
	char		 sender[RFC822_ADDR_MAX];
	const char	*fullname, *notify, *ret, *envid, *body;
	struct strvec	 rcpts;
	int		 extract;	/* -t */
	int		 dot_ends;	/* no -i: a lone "." ends input */
	int		 mode;		/* 'm' mail, 's' -bs, 'p', 'i', 'q' */
	const char	*flush_arg;
	FILE		*trace;		/* -v / -X */
	FILE		*msg;		/* the message, CRLF, dot-stuffed */
	int		 has8bit;
	/* the SMTP connection */
	FILE		*in, *out;
	char		 reply[REPLY_MAX];
	int		 ext_8bit, ext_utf8, ext_dsn;
};

static void
usage(void)
{
	fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
	    "[-C file] [recipient ...]\n"
	    "       sendmail -bs | -bp | -bi | -q\n");
	exit(EX_USAGE);
}

static void
die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3),
    noreturn));

static void
die(int code, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "sendmail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
strvec_add(struct strvec *sv, const char *s)
{
	void	*p;

	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 16;
		if ((p = reallocarray(sv->v, sv->cap, sizeof(char *))) == NULL)
			die(EX_OSERR, "out of memory");
		sv->v = p;
	}
	if ((sv->v[sv->n++] = strdup(s)) == NULL)
		die(EX_OSERR, "out of memory");
}

/* qualify - an address as RCPT/MAIL wants it: user -> user@origin */
static void
qualify(const struct submit *s, const char *addr, char *out, size_t len)
{
	if (addr[0] == '\0' || strchr(addr, '@') != NULL)
		snprintf(out, len, "%s", addr);
	else
		snprintf(out, len, "%s@%s", addr, s->cfg.origin);
}

static int
add_rcpt(const char *addr, void *arg)
{
	struct submit	*s = arg;
	char		 q[RFC822_ADDR_MAX + 256];
	size_t		 i;

	qualify(s, addr, q, sizeof(q));
	for (i = 0; i < s->rcpts.n; i++)
		if (strcmp(s->rcpts.v[i], q) == 0)
			return 0;
	strvec_add(&s->rcpts, q);
	return 0;
}

static void
trace(struct submit *s, const char *dir, const char *line)
{
	if (s->trace != NULL)
		fprintf(s->trace, "%s %s\n", dir, line);
}

/* emit_line - one message line to the spool copy, dot-stuffed */
static void
emit_line(struct submit *s, const char *line, size_t len)
{
	if (len > 0 && line[0] == '.')
		putc('.', s->msg);
	fwrite(line, 1, len, s->msg);
	fputs("\r\n", s->msg);
}

/* emit_field - a header field, whose folds are "\r\n" + white space */
static void
emit_field(struct submit *s, const char *field)
{
	const char	*eol;

	for (;;) {
		eol = strstr(field, "\r\n");
		emit_line(s, field, eol ? (size_t)(eol - field) : strlen(field));
		if (eol == NULL)
			break;
		field = eol + 2;
	}
}

/*
 * from_field - the From: of a message that has none, as Sendmail and
 * Postfix write it: the full name of -F (else of $NAME) and the envelope
 * sender (-f, else the submitting user; MAILER-DAEMON for the null
 * sender).  0 when there is no full name: the daemon then adds the same
 * From: without one (smtp_session.c), as it does for sendmail -bs.
 */
static int
from_field(const struct submit *s, char *out, size_t len)
{
	const char *fullname = s->fullname ? s->fullname : getenv("NAME");
	char	 name[512];

	if (fullname == NULL || fullname[0] == '\0')
		return 0;
	rfc822_quote_phrase(fullname, name, sizeof(name));
	if (s->sender[0] != '\0')
		snprintf(out, len, "From: %s <%s>", name, s->sender);
	else
		snprintf(out, len, "From: %s <MAILER-DAEMON@%s>", name,
		    s->cfg.hostname);
	return 1;
}

/*
 * finish_headers - -t recipients (Resent-To/Cc/Bcc when present, RFC
 * 5322 3.6.6, else To/Cc/Bcc), Bcc fields removed, From: with a name.
 */
static void
finish_headers(struct submit *s, struct strvec *fields)
{
	static const char *const plain[] = { "to", "cc", "bcc" };
	static const char *const resent[] = { "resent-to", "resent-cc",
	    "resent-bcc" };
	const char *const *names = plain;
	char	 from[RFC822_ADDR_MAX * 2];
	size_t	 i, k;
	int	 has_from = 0;

	for (i = 0; i < fields->n; i++)
		for (k = 0; k < 3; k++)
			if (rfc822_field_is(fields->v[i], resent[k]))
				names = resent;
	for (i = 0; i < fields->n; i++) {
		const char *f = fields->v[i], *value = f +
		    rfc822_field_name(f) + 1;

		has_from |= rfc822_field_is(f, "from");
		for (k = 0; s->extract && k < 3; k++)
			if (rfc822_field_is(f, names[k]) &&
			    rfc822_addresses(value, add_rcpt, s) == -1)
				die(EX_DATAERR, "bad address in %.*s header",
				    (int)rfc822_field_name(f), f);
		if (rfc822_field_is(f, "bcc") ||
		    rfc822_field_is(f, "resent-bcc"))
			continue;
		emit_field(s, f);
	}
	if (!has_from && from_field(s, from, sizeof(from)))
		emit_line(s, from, strlen(from));
}

/* read_line - next input line without its LF or CRLF; -1 at the end */
static ssize_t
read_line(struct submit *s, char **line, size_t *cap)
{
	ssize_t	 n;

	if ((n = getline(line, cap, stdin)) == -1) {
		if (ferror(stdin))
			die(EX_IOERR, "read error: %s", strerror(errno));
		return -1;
	}
	if (memchr(*line, '\0', n) != NULL)
		die(EX_DATAERR, "the message contains a NUL byte");
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[--n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		(*line)[--n] = '\0';
	if (s->dot_ends && n == 1 && (*line)[0] == '.')
		return -1;
	for (ssize_t i = 0; i < n && !s->has8bit; i++)
		s->has8bit = ((unsigned char)(*line)[i] >= 0x80);
	return n;
}

/* read_headers - collect the header fields; returns 1 if a line is left */
static int
read_headers(struct submit *s, struct strvec *fields, char **line,
    size_t *cap, ssize_t *len)
{
	size_t	 total = 0;
	char	*joined;

	while ((*len = read_line(s, line, cap)) >= 0) {
		if (*len == 0)
			return 1;	/* the blank line: keep it */
		if (((*line)[0] == ' ' || (*line)[0] == '\t') && fields->n) {
			joined = fields->v[fields->n - 1];
			if (asprintf(&fields->v[fields->n - 1], "%s\r\n%s",
			    joined, *line) == -1)
				die(EX_OSERR, "out of memory");
			free(joined);
		} else if (rfc822_field_name(*line) > 0)
			strvec_add(fields, *line);
		else
			return 1;	/* no header: the body starts here */
		if ((total += *len + 2) > HEADER_MAX)
			die(EX_DATAERR, "the message header is too large");
	}
	return 0;
}

/* read_message - standard input into s->msg, ready for DATA */
static void
read_message(struct submit *s)
{
	struct strvec	 fields = { NULL, 0, 0 };
	char		*line = NULL;
	size_t		 cap = 0, i;
	ssize_t		 len;
	int		 more;

	if ((s->msg = tmpfile()) == NULL)
		die(EX_CANTCREAT, "cannot create a temporary file: %s",
		    strerror(errno));
	more = read_headers(s, &fields, &line, &cap, &len);
	finish_headers(s, &fields);
	if (more && len > 0)
		fputs("\r\n", s->msg);	/* headers end before a body line */
	for (; more; more = (len = read_line(s, &line, &cap)) >= 0)
		emit_line(s, line, len);
	if (fflush(s->msg) == EOF || ferror(s->msg))
		die(EX_CANTCREAT, "cannot write a temporary file: %s",
		    strerror(errno));
	rewind(s->msg);
	for (i = 0; i < fields.n; i++)
		free(fields.v[i]);
	free(fields.v);
	free(line);
}

/* smtp_reply - read one (multi-line) reply into s->reply; its code */
static int
smtp_reply(struct submit *s)
{
	char	 line[1024];
	size_t	 o = 0, n;

	s->reply[0] = '\0';
	for (;;) {
		if (fgets(line, sizeof(line), s->in) == NULL)
			die(EX_TEMPFAIL, "lost connection to tern%s%s",
			    s->reply[0] ? " after: " : "", s->reply);
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		trace(s, "<<<", line);
		if (n < 3 || !isdigit((unsigned char)line[0]))
			die(EX_PROTOCOL, "bad reply from tern: %s", line);
		if (o + n + 2 < sizeof(s->reply))
			o += snprintf(s->reply + o, sizeof(s->reply) - o,
			    "%s%s", o ? "\n" : "", line);
		if (line[3] != '-')
			return atoi(line);
	}
}

static int
smtp_cmd(struct submit *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
smtp_cmd(struct submit *s, const char *fmt, ...)
{
	char	 cmd[2048];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	trace(s, ">>>", cmd);
	if (fprintf(s->out, "%s\r\n", cmd) < 0 || fflush(s->out) == EOF)
		die(EX_TEMPFAIL, "lost connection to tern: %s",
		    strerror(errno));
	return smtp_reply(s);
}

/* smtp_fail - end the session after an unexpected reply */
static void
smtp_fail(struct submit *s, int code, const char *what)
{
	char	 reply[REPLY_MAX];

	snprintf(reply, sizeof(reply), "%s", s->reply);
	if (code >= 400 && code < 500)
		smtp_cmd(s, "QUIT");
	die(code >= 400 && code < 500 ? EX_TEMPFAIL : code >= 500 &&
	    strcmp(what, "MAIL") != 0 && strcmp(what, "DATA") != 0 ?
	    EX_UNAVAILABLE : EX_DATAERR, "%s failed: %s", what, reply);
}

static int
sock_connect(struct submit *s)
{
	int	 fd;

	if ((fd = submit_connect(s->cfg.submit_socket, 300)) == -1 &&
	    errno == ENAMETOOLONG)
		die(EX_CONFIG, "submit_socket is too long");
	if (fd == -1)
		die(EX_TEMPFAIL, "cannot connect to tern at %s: %s "
		    "(is ternd running?)", s->cfg.submit_socket,
		    strerror(errno));
	return fd;
}

/* smtp_open - connect, greeting, EHLO (HELO if refused), extensions */
static void
smtp_open(struct submit *s)
{
	char	*p;
	int	 fd = sock_connect(s), code;

	if ((s->in = fdopen(fd, "r")) == NULL ||
	    (s->out = fdopen(dup(fd), "w")) == NULL)
		die(EX_OSERR, "fdopen: %s", strerror(errno));
	if ((code = smtp_reply(s)) != 220)
		smtp_fail(s, code, "connection");
	if ((code = smtp_cmd(s, "EHLO %s", s->cfg.hostname)) != 250) {
		if ((code = smtp_cmd(s, "HELO %s", s->cfg.hostname)) != 250)
			smtp_fail(s, code, "HELO");
		return;
	}
	for (p = strchr(s->reply, '\n'); p != NULL; p = strchr(p, '\n')) {
		p += 5;		/* "\n250-" */
		s->ext_8bit |= strncasecmp(p, "8BITMIME", 8) == 0;
		s->ext_utf8 |= strncasecmp(p, "SMTPUTF8", 8) == 0;
		s->ext_dsn |= strncasecmp(p, "DSN", 3) == 0 &&
		    (p[3] == '\0' || p[3] == '\n' || p[3] == ' ');
	}
}

static void
append(char *out, const char *str, size_t len)
{
	size_t	 n = strlen(out);

	snprintf(out + n, len - n, "%s", str);
}

static int
is_ascii(const char *str)
{
	for (; *str; str++)
		if ((unsigned char)*str >= 0x80)
			return 0;
	return 1;
}

/* mail_params - the ESMTP parameters of MAIL FROM */
static void
mail_params(struct submit *s, char *out, size_t len)
{
	char	 envid[512];
	size_t	 i;
	int	 utf8 = !is_ascii(s->sender);

	for (i = 0; i < s->rcpts.n; i++)
		utf8 |= !is_ascii(s->rcpts.v[i]);
	out[0] = '\0';
	if (s->body != NULL)
		snprintf(out, len, " BODY=%s", s->body);
	else if (s->has8bit && s->ext_8bit)
		snprintf(out, len, " BODY=8BITMIME");
	if (utf8 && s->ext_utf8)
		append(out, " SMTPUTF8", len);
	if (s->ext_dsn && s->ret != NULL) {
		append(out, " RET=", len);
		append(out, s->ret, len);
	}
	if (s->ext_dsn && s->envid != NULL &&
	    xtext_encode(s->envid, envid, sizeof(envid)) == 0) {
		append(out, " ENVID=", len);
		append(out, envid, len);
	}
}

/* send_data - the spooled message, already CRLF and dot-stuffed */
static void
send_data(struct submit *s)
{
	char	 buf[65536];
	size_t	 n;
	int	 code;

	if ((code = smtp_cmd(s, "DATA")) != 354)
		smtp_fail(s, code, "DATA");
	while ((n = fread(buf, 1, sizeof(buf), s->msg)) > 0)
		if (fwrite(buf, 1, n, s->out) != n)
			die(EX_TEMPFAIL, "lost connection to tern: %s",
			    strerror(errno));
	trace(s, ">>>", "(message)");
	if ((code = smtp_cmd(s, ".")) != 250)
		smtp_fail(s, code, "DATA");
}

/* submit - one SMTP transaction; returns the exit status */
static int
submit(struct submit *s)
{
	char	 params[1024];
	size_t	 i, accepted = 0;
	int	 code;

	smtp_open(s);
	mail_params(s, params, sizeof(params));
	if ((code = smtp_cmd(s, "MAIL FROM:<%s>%s", s->sender, params)) != 250)
		smtp_fail(s, code, "MAIL");
	for (i = 0; i < s->rcpts.n; i++) {
		code = smtp_cmd(s, "RCPT TO:<%s>%s%s", s->rcpts.v[i],
		    s->notify && s->ext_dsn ? " NOTIFY=" : "",
		    s->notify && s->ext_dsn ? s->notify : "");
		if (code / 100 == 2)
			accepted++;
		else if (code / 100 == 4)
			smtp_fail(s, code, "RCPT");
		else
			fprintf(stderr, "sendmail: %s: %s\n", s->rcpts.v[i],
			    s->reply);
	}
	if (accepted > 0)
		send_data(s);
	smtp_cmd(s, "QUIT");
	return accepted == s->rcpts.n ? 0 : EX_NOUSER;
}

/* proxy - -bs: SMTP on standard input and output, relayed to the daemon */
static int
proxy(struct submit *s)
{
	struct pollfd	 pfd[2];
	char		 buf[16384];
	ssize_t		 n;
	int		 fd = sock_connect(s);

	pfd[0].fd = STDIN_FILENO;
	pfd[1].fd = fd;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			die(EX_OSERR, "poll: %s", strerror(errno));
		}
		if (pfd[1].revents) {
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				return 0;	/* the daemon closed: done */
			if (write(STDOUT_FILENO, buf, n) != n)
				return EX_IOERR;
		}
		if (pfd[0].revents) {
			if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0) {
				shutdown(fd, SHUT_WR);
				pfd[0].fd = -1;
			} else if (write(fd, buf, n) != n)
				return EX_TEMPFAIL;
		}
	}
}

/* run_sibling - exec the named tern command installed next to us */
static void
run_sibling(struct submit *s, const char *name)
{
	char	 path[PATH_MAX], *slash;
	char	*argv[4] = { (char *)name, NULL, NULL, NULL };
	ssize_t	 n;

	if (s->conf != NULL) {
		argv[1] = "-C";
		argv[2] = (char *)s->conf;
	}
	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) > 0) {
		path[n] = '\0';
		if ((slash = strrchr(path, '/')) != NULL &&
		    (size_t)(slash - path) + strlen(name) + 2 < sizeof(path)) {
			strcpy(slash + 1, name);
			execv(path, argv);
		}
	}
	execvp(name, argv);
	die(EX_UNAVAILABLE, "cannot run %s: %s", name, strerror(errno));
}

/* flush - -q: "flush" on the trigger FIFO, else ETRN over the socket */
static int
flush(struct submit *s)
{
	char	 path[PATH_MAX], line[600];
	int	 fd, len, code;

	if (s->flush_arg && s->flush_arg[0] == '@')
		len = snprintf(line, sizeof(line), "flush %s\n", s->flush_arg);
	else
		len = snprintf(line, sizeof(line), "flush%s%s\n",
		    s->flush_arg ? " " : "", s->flush_arg ? s->flush_arg : "");
	snprintf(path, sizeof(path), "%s/trigger", s->cfg.spool_dir);
	if (len > 0 && len < PIPE_BUF && (fd = open(path, O_WRONLY |
	    O_NONBLOCK | O_CLOEXEC)) != -1) {
		code = write(fd, line, len) == len;
		close(fd);
		if (code)
			return 0;
	} else if (errno == ENXIO)
		die(EX_TEMPFAIL, "queue runner not running (is ternd running?)");
	smtp_open(s);
	code = smtp_cmd(s, "ETRN %s", s->flush_arg ? s->flush_arg : "*");
	if (code == 459)		/* RFC 1985: not allowed */
		die(EX_NOPERM, "cannot flush the queue: %s", s->reply);
	if (code / 100 != 2)
		smtp_fail(s, code, "ETRN");
	smtp_cmd(s, "QUIT");
	return 0;
}

/* set_sender - -f/-r: "<>" or "" is the null sender, user -> user@host */
static void
set_sender(struct submit *s, const char *arg)
{
	char	 bare[RFC822_ADDR_MAX];
	size_t	 n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
		snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), arg + 1);
	else
		snprintf(bare, sizeof(bare), "%s", arg);
	if (strpbrk(bare, "<> \t\r\n") != NULL)
		die(EX_USAGE, "bad sender address: %s", arg);
	qualify(s, bare, s->sender, sizeof(s->sender));
}

static void
option_b(struct submit *s, const char *arg)
{
	if (strcmp(arg, "m") == 0 || strcmp(arg, "s") == 0 ||
	    strcmp(arg, "p") == 0 || strcmp(arg, "i") == 0)
		s->mode = arg[0];
	else if (arg[0] == 'd' || arg[0] == 'D')
		die(EX_USAGE, "-b%s: start the daemon with ternd", arg);
	else
		die(EX_USAGE, "-b%s: not supported", arg);
}

/* option_q - -q flush all, -qRdomain, -qIid; -q30m intervals ignored */
static void
option_q(struct submit *s, const char *arg)
{
	static char	 at[300];

	s->mode = 'q';
	if (arg == NULL || isdigit((unsigned char)arg[0]))
		return;
	if ((arg[0] == 'R' || arg[0] == 'I') && arg[1] != '\0') {
		if (arg[0] == 'R')
			snprintf(at, sizeof(at), "@%s", arg + 1);
		else
			snprintf(at, sizeof(at), "%s", arg + 1);
		s->flush_arg = at;
		return;
	}
	die(EX_USAGE, "-q%s: not supported", arg);
}

static void
option_dsn(struct submit *s, int ch, const char *arg)
{
	char	*up;
	size_t	 i;

	if ((ch == 'N' && notify_parse(arg) == -1) || (ch == 'R' &&
	    strcasecmp(arg, "full") != 0 && strcasecmp(arg, "hdrs") != 0) ||
	    (ch == 'B' && strcasecmp(arg, "7bit") != 0 &&
	    strcasecmp(arg, "8bitmime") != 0))
		die(EX_USAGE, "-%c %s: bad value", ch, arg);
	if ((up = strdup(arg)) == NULL)
		die(EX_OSERR, "out of memory");
	for (i = 0; up[i]; i++)
		up[i] = toupper((unsigned char)up[i]);
	if (ch == 'N')
		s->notify = up;
	else if (ch == 'R')
		s->ret = up;
	else
		s->body = up;
}

/* options - sendmail(8) flags; the harmless historical ones are ignored */
static void
options(struct submit *s, int argc, char **argv, const char **sender)
{
	int	 ch;

	opterr = 0;
	while ((ch = getopt(argc, argv,
	    "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:q::r:tv")) != -1) {
		switch (ch) {
		case 'B': case 'N': case 'R':
			option_dsn(s, ch, optarg);
			break;
		case 'C':
			s->conf = optarg;
			break;
		case 'F':
			s->fullname = optarg;
			break;
		case 'I':
			s->mode = 'i';
			break;
		case 'V':
			if (strlen(optarg) > 100 || !is_ascii(optarg))
				die(EX_USAGE, "-V: bad envelope id");
			s->envid = optarg;
			break;
		case 'X':
			if ((s->trace = fopen(optarg, "a")) == NULL)
				die(EX_CANTCREAT, "%s: %s", optarg,
				    strerror(errno));
			break;
		case 'b':
			option_b(s, optarg);
			break;
		case 'f': case 'r':
			*sender = optarg;
			break;
		case 'i':
			s->dot_ends = 0;
			break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				s->dot_ends = 0;
			break;
		case 'q':
			option_q(s, optarg);
			break;
		case 't':
			s->extract = 1;
			break;
		case 'v':
			s->trace = stderr;
			break;
		case 'A': case 'G': case 'L': case 'O': case 'U': case 'c':
		case 'e': case 'h': case 'm': case 'n': case 'p':
			break;
		default:
			if (optopt)
				fprintf(stderr, "sendmail: -%c: unknown option "
				    "or missing value\n", optopt);
			usage();
		}
	}
}

static void
default_sender(struct submit *s)
{
	struct passwd	*pw;

	if ((pw = getpwuid(getuid())) == NULL)
		die(EX_NOUSER, "uid %ld has no user name", (long)getuid());
	snprintf(s->sender, sizeof(s->sender), "%s@%s", pw->pw_name,
	    s->cfg.origin);
}

int
main(int argc, char *argv[])
{
	struct submit	 s;
	const char	*sender = NULL;
	char		 err[512];
	int		 i, rc;

	memset(&s, 0, sizeof(s));
	s.dot_ends = 1;
	s.mode = 'm';
	options(&s, argc, argv, &sender);
	if (s.mode == 'p')
		run_sibling(&s, "mailq");
	if (s.mode == 'i')
		run_sibling(&s, "newaliases");
	if (queueview_config(&s.cfg, s.conf, err, sizeof(err)) == -1)
		die(EX_CONFIG, "%s", err);
	signal(SIGPIPE, SIG_IGN);
	if (s.mode == 's')
		return proxy(&s);
	if (s.mode == 'q')
		return flush(&s);
	if (sender != NULL)
		set_sender(&s, sender);
	else
		default_sender(&s);
	for (i = optind; i < argc; i++)
		if (rfc822_addresses(argv[i], add_rcpt, &s) == -1)
			die(EX_USAGE, "bad recipient: %s", argv[i]);
	if (s.rcpts.n == 0 && !s.extract)
		die(EX_USAGE, "no recipients");
	read_message(&s);
	if (s.rcpts.n == 0)
		die(EX_USAGE, "no recipients");
	rc = submit(&s);
	config_free(&s.cfg);
	return rc;
}
