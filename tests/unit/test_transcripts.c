/* SPDX-License-Identifier: ISC */
/*
 * test_transcripts.c - golden SMTP sessions: every tests/transcripts/
 * NAME.in is played as the client against smtp_session_run(), the entry
 * point of an smtpd child, over a socketpair (no daemon, no network),
 * and the server's replies must equal NAME.out byte for byte.  The
 * formats, the placeholders and the timing are in tests/transcripts/
 * README.  One "PASS NAME" or "FAIL NAME" line per transcript, as
 * unit.h prints them; a difference is shown as NAME.out:LINE.
 *
 *	build/test/test_transcripts [-w] [DIR]
 *
 * -w writes NAME.out from what the server said (to make a new case;
 * read it before committing it).  The session runs in a child process,
 * with its log (and any sanitizer report) in a file shown on failure.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "queueid.h"
#include "smtp_session.h"
#include "spool.h"
#include "unit.h"

#define MAX_STEPS	64
#define TIMEOUT_MS	20000

/* A growing byte buffer. */
struct buf {
	char	*p;
	size_t	 len, cap;
};

/* One write of client bytes, then wait for `replies` final replies. */
struct step {
	struct buf data;
	int	 replies;	/* cumulative count to wait for; 0: none */
};

struct script {
	struct step step[MAX_STEPS];
	int	 nstep;
	char	 client[64];	/* @client */
	long	 uid;		/* @uid, -1 for a TCP client */
	struct buf config;	/* @config lines */
	char	 err[256];
};

static char	 topdir[64];
static int	 write_out;

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static int
read_file(const char *path, struct buf *b)
{
	char	 chunk[4096];
	ssize_t	 n;
	int	 fd;

	memset(b, 0, sizeof(*b));
	buf_add(b, "", 0);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(b, chunk, (size_t)n);
	close(fd);
	return n == -1 ? -1 : 0;
}

/* unescape_repeat - "\{N:TEXT}": TEXT N times; returns past the '}' */
static const char *
unescape_repeat(const char *p, struct buf *out)
{
	const char *text, *end;
	char	*colon;
	long	 n = strtol(p, &colon, 10);

	if (*colon != ':' || n < 0 || n > 1000000 ||
	    (end = strchr(colon, '}')) == NULL)
		return NULL;
	text = colon + 1;
	while (n-- > 0)
		buf_add(out, text, (size_t)(end - text));
	return end + 1;
}

/*
 * unescape - one .in line into out: \\ \r \n \t \0 \xNN \{N:TEXT}, then
 * CRLF unless the line ends in \c.  -1 on a bad escape.
 */
static int
unescape(const char *p, struct buf *out)
{
	char	 c, hex[3] = "";

	for (; *p; p++) {
		if (*p != '\\') {
			buf_add(out, p, 1);
			continue;
		}
		switch (*++p) {
		case '\\': c = '\\'; break;
		case 'r': c = '\r'; break;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case '0': c = '\0'; break;
		case 'c': return p[1] == '\0' ? 0 : -1;
		case 'x':
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]))
				return -1;
			memcpy(hex, p + 1, 2);
			c = (char)strtol(hex, NULL, 16);
			p += 2;
			break;
		case '{':
			if ((p = unescape_repeat(p + 1, out)) == NULL)
				return -1;
			p--;
			continue;
		default:
			return -1;
		}
		buf_add(out, &c, 1);
	}
	buf_add(out, "\r\n", 2);
	return 0;
}

/* directive - an "@word ..." line of a .in file; -1 if unknown */
static int
directive(struct script *sc, const char *line)
{
	struct step *st = &sc->step[sc->nstep];
	int	 n = 1, prev;

	if (!strncmp(line, "@client ", 8))
		snprintf(sc->client, sizeof(sc->client), "%s", line + 8);
	else if (!strncmp(line, "@uid ", 5))
		sc->uid = strtol(line + 5, NULL, 10);
	else if (!strncmp(line, "@config ", 8)) {
		buf_add(&sc->config, line + 8, strlen(line + 8));
		buf_add(&sc->config, "\n", 1);
	} else if (!strcmp(line, "@wait") || !strncmp(line, "@wait ", 6)) {
		if (line[5] != '\0' && (n = atoi(line + 6)) < 1)
			return -1;
		if (sc->nstep + 1 >= MAX_STEPS)
			return -1;
		prev = sc->nstep > 0 ? sc->step[sc->nstep - 1].replies : 0;
		st->replies = prev + n;
		sc->nstep++;
	} else
		return -1;
	return 0;
}

/* script_parse - split a .in file into steps; -1 with sc->err set */
static int
script_parse(struct script *sc, char *text)
{
	char	*line, *next;
	int	 lineno = 0;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->client, sizeof(sc->client), "192.0.2.1");
	sc->uid = -1;
	buf_add(&sc->config, "", 0);
	for (line = text; *line; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '#')
			continue;
		if ((line[0] == '@' && directive(sc, line) == -1) ||
		    (line[0] != '@' &&
		    unescape(line, &sc->step[sc->nstep].data) == -1)) {
			snprintf(sc->err, sizeof(sc->err), "line %d: bad "
			    "directive or escape: %s", lineno, line);
			return -1;
		}
	}
	sc->nstep++;		/* the last step: send the rest, then EOF */
	return 0;
}

static void
script_free(struct script *sc)
{
	int	 i;

	for (i = 0; i < sc->nstep; i++)
		free(sc->step[i].data.p);
	free(sc->config.p);
}

/* final_replies - the reply lines "NNN ..." CRLF (not "NNN-") in b */
static int
final_replies(const struct buf *b)
{
	const char *p = b->p, *end = b->p + b->len, *nl;
	int	 n = 0;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1)
		if (nl - p >= 4 && isdigit((unsigned char)p[0]) &&
		    (p[3] == ' ' || p[3] == '\r'))
			n++;
	return n;
}

/*
 * pump - write out while reading into got, until out is sent and got
 * holds `replies` final replies (or the server closed).  -1 on timeout.
 */
static int
pump(int fd, const struct buf *out, int replies, struct buf *got, int *eof)
{
	struct pollfd pfd;
	char	 chunk[8192];
	size_t	 off = 0;
	ssize_t	 n;

	while (!*eof && (off < out->len || final_replies(got) < replies)) {
		pfd.fd = fd;
		pfd.events = POLLIN | (off < out->len ? POLLOUT : 0);
		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return -1;
		if (pfd.revents & (POLLIN | POLLHUP)) {
			if ((n = read(fd, chunk, sizeof(chunk))) > 0)
				buf_add(got, chunk, (size_t)n);
			else if (n == 0 || errno != EAGAIN)
				*eof = 1;
		}
		if ((pfd.revents & POLLOUT) && off < out->len) {
			if ((n = write(fd, out->p + off, out->len - off)) > 0)
				off += (size_t)n;
			else if (errno != EAGAIN)
				off = out->len;	/* closed: the rest is lost */
		}
	}
	return 0;
}

/* play - the client side of the whole script; -1 on a timeout */
static int
play(int fd, const struct script *sc, struct buf *got)
{
	struct buf none = { NULL, 0, 0 };
	int	 i, eof = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (i = 0; i < sc->nstep; i++)
		if (pump(fd, &sc->step[i].data, sc->step[i].replies, got,
		    &eof) == -1)
			return -1;
	shutdown(fd, SHUT_WR);
	while (!eof)
		if (pump(fd, &none, INT_MAX, got, &eof) == -1)
			return -1;
	return 0;
}

/* peer_of - the client address of a script as a sockaddr */
static int
peer_of(const struct script *sc, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, sc->client, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	in6->sin6_family = AF_INET6;
	return inet_pton(AF_INET6, sc->client, &in6->sin6_addr) == 1 ? 0 : -1;
}

/* session - the server: smtp_session_run() in a child, log into logpath */
static pid_t
session(const struct script *sc, const struct config *cfg, int fd,
    int other, const char *logpath)
{
	struct sockaddr_storage ss;
	pid_t	 pid;
	int	 log;

	if (peer_of(sc, &ss) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid > 0)
		return pid;
	close(other);
	if ((log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1)
		dup2(log, 2);
	log_init("smtpd", 1);
	exit(smtp_session_run(cfg, fd, (struct sockaddr *)&ss, sc->uid));
}

/* is_word - a character of a queue id, or of a longer word around one */
static int
is_word(char c)
{
	return isalnum((unsigned char)c);
}

/*
 * normalize - the replies as .out text: CRLF becomes a newline, any other
 * control byte \xNN, and a queue id (a 15-character word that
 * queueid_valid() takes) QUEUEID.
 */
static void
normalize(const struct buf *in, struct buf *out)
{
	char	 id[QUEUEID_LEN + 1], esc[8];
	size_t	 i, n;

	memset(out, 0, sizeof(*out));
	buf_add(out, "", 0);
	for (i = 0; i < in->len; i++) {
		for (n = 0; i + n < in->len && is_word(in->p[i + n]); n++)
			;
		if (n == QUEUEID_LEN && (i == 0 || !is_word(in->p[i - 1]))) {
			memcpy(id, in->p + i, n);
			id[n] = '\0';
			if (queueid_valid(id)) {
				buf_add(out, "QUEUEID", 7);
				i += n - 1;
				continue;
			}
		}
		if (in->p[i] == '\r' && i + 1 < in->len && in->p[i + 1] == '\n')
			continue;
		if (in->p[i] == '\n' && i > 0 && in->p[i - 1] == '\r')
			buf_add(out, "\n", 1);
		else if ((unsigned char)in->p[i] < 0x20 || in->p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x",
			    (unsigned char)in->p[i]);
			buf_add(out, esc, strlen(esc));
		} else
			buf_add(out, in->p + i, 1);
	}
}

/* next_line - the line at *p (without its newline) into line; 0 at end */
static int
next_line(const char **p, char *line, size_t len)
{
	size_t	 n;

	if (**p == '\0')
		return 0;
	n = strcspn(*p, "\n");
	snprintf(line, len, "%.*s", (int)n, *p);
	*p += n + ((*p)[n] == '\n');
	return 1;
}

/* compare - 0 if equal; else print where, as NAME.out:LINE, and -1 */
static int
compare(const char *name, const char *want, const char *got)
{
	char	 w[1024], g[1024];
	int	 line = 0, shown = 0, hw, hg;

	if (strcmp(want, got) == 0)
		return 0;
	for (;;) {
		line++;
		hw = next_line(&want, w, sizeof(w));
		hg = next_line(&got, g, sizeof(g));
		if (!hw && !hg)
			break;
		if (hw && hg && strcmp(w, g) == 0)
			continue;
		printf("  %s.out:%d: want %s%s%s\n", name, line, hw ? "\"" : "",
		    hw ? w : "(end of replies)", hw ? "\"" : "");
		printf("  %s.out:%d: got  %s%s%s\n", name, line, hg ? "\"" : "",
		    hg ? g : "(end of replies)", hg ? "\"" : "");
		if (++shown == 10) {
			printf("  ...\n");
			break;
		}
	}
	if (shown == 0)
		printf("  %s.out: differs in the last line ending\n", name);
	return -1;
}

/* show_log - the session's log, after a failure */
static void
show_log(const char *path)
{
	struct buf log;

	if (read_file(path, &log) == 0 && log.len > 0)
		printf("  session log:\n%s", log.p);
	free(log.p);
}

static const char base_config[] =
    "hostname = mx.tern.test\n"
    "origin = tern.test\n"
    "local_domains = tern.test\n"
    "spool_dir = %s/spool\n"
    "aliases = %s/aliases\n"
    "max_message_size = 4096\n"
    "max_recipients = 3\n"
    "max_errors = 10\n"
    "relay_networks = 127.0.0.0/8\n"
    "client_name_lookup = no\n"
    "smtpd_timeout = 30s\n";

/* converse - run the session of sc; its replies into got; -1 on trouble */
static int
converse(const char *name, struct script *sc, struct buf *got)
{
	struct config cfg;
	char	 text[2048], err[512], logpath[128];
	int	 sv[2], status, rc;
	pid_t	 pid;

	snprintf(text, sizeof(text), base_config, topdir, topdir);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s",
	    sc->config.p);
	if (config_parse_string(&cfg, name, text, err, sizeof(err)) == -1) {
		printf("  %s.in: config: %s\n", name, err);
		return -1;
	}
	snprintf(logpath, sizeof(logpath), "%s/%s.log", topdir, name);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (pid = session(sc, &cfg, sv[1], sv[0], logpath)) == -1) {
		printf("  %s: cannot start the session: %s\n", name,
		    strerror(errno));
		config_free(&cfg);
		return -1;
	}
	close(sv[1]);
	if ((rc = play(sv[0], sc, got)) == -1)
		printf("  %s: no reply within %d ms\n", name, TIMEOUT_MS);
	close(sv[0]);
	if (rc == -1)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		printf("  %s: the session exited with status %#x\n", name,
		    status);
		rc = -1;
	}
	if (rc == -1)
		show_log(logpath);
	config_free(&cfg);
	return rc;
}

/* transcript - play NAME.in, compare with NAME.out; 0 when they match */
static int
transcript(const char *dir, const char *name)
{
	struct script sc;
	struct buf in, want, got = { NULL, 0, 0 }, text;
	char	 path[1024];
	int	 rc = -1;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s.in", dir, name);
	if (read_file(path, &in) == -1) {
		printf("  %s: %s\n", path, strerror(errno));
		free(in.p);
		return -1;
	}
	buf_add(&got, "", 0);
	if (script_parse(&sc, in.p) == -1)
		printf("  %s.in: %s\n", name, sc.err);
	else if (converse(name, &sc, &got) == 0) {
		normalize(&got, &text);
		snprintf(path, sizeof(path), "%s/%s.out", dir, name);
		if (write_out && (fp = fopen(path, "w")) != NULL) {
			fputs(text.p, fp);
			rc = fclose(fp) == 0 ? 0 : -1;
		} else if (read_file(path, &want) == -1)
			printf("  %s: %s\n", path, strerror(errno));
		else
			rc = compare(name, want.p, text.p);
		if (!write_out)
			free(want.p);
		free(text.p);
	}
	script_free(&sc);
	free(in.p);
	free(got.p);
	return rc;
}

static int
is_in_file(const struct dirent *de)
{
	size_t	 n = strlen(de->d_name);

	return n > 3 && strcmp(de->d_name + n - 3, ".in") == 0;
}

/* setup - the spool and aliases of every transcript, under topdir */
static int
setup(void)
{
	char	 path[128], err[256];
	FILE	*fp;

	snprintf(topdir, sizeof(topdir), "/tmp/tern-transcripts.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/spool", topdir);
	if (spool_setup(path, err, sizeof(err)) == -1) {
		printf("spool: %s\n", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/aliases", topdir);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs("info: root\nsales: root, info\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *dir = "tests/transcripts";
	struct dirent **de;
	char	 cmd[128];
	int	 i, n;

	if (argc > 1 && strcmp(argv[1], "-w") == 0) {
		write_out = 1;
		argc--, argv++;
	}
	if (argc > 1)
		dir = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (setup() == -1) {
		printf("FAIL setup: %s\n", strerror(errno));
		return 1;
	}
	if ((n = scandir(dir, &de, is_in_file, alphasort)) <= 0) {
		printf("FAIL %s: no transcripts\n", dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		de[i]->d_name[strlen(de[i]->d_name) - 3] = '\0';
		unit_failed_now = transcript(dir, de[i]->d_name) != 0;
		if (!unit_failed_now) {
			printf("PASS %s\n", de[i]->d_name);
			unit_passes++;
		} else {
			printf("FAIL %s\n", de[i]->d_name);
			unit_failures++;
		}
		fflush(stdout);
		free(de[i]);
	}
	free(de);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
