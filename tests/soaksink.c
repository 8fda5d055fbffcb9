/* SPDX-License-Identifier: ISC */
/*
 * soaksink.c - the SMTP sink of `make soak` (tests/soak.py, issue 11):
 * takes every message, and drops a share of its connections at random
 * moments.
 *
 *   soaksink -p PORT -l LOG [-d PERCENT] [-s SEED]
 *
 * One process, one poll(2) loop, on 127.0.0.1:PORT; fast enough to keep
 * up with tern's relay rate on a shared machine, which the asyncio sink
 * (tests/smtpsink.py) is not.  It keeps nothing of a message but its
 * "X-Soak: ID" header.  PERCENT of the connections (default 10) are
 * given a drop when they are accepted, one of four kinds, equally often:
 *
 *   greet   closed at once, before the 220
 *   cmd     closed on receipt of its 1st to 6th command, unanswered
 *   data    closed after 1 to 4 lines of the data of its 1st or 2nd
 *           transaction
 *   dot     closed after the final "." of its 1st or 2nd transaction,
 *           before the 250: the message counts as stored (a real server
 *           may have committed it), so the client's retry is a
 *           legitimate duplicate
 *
 * A drop whose moment the session never reaches (it QUITs first) does
 * not happen.  LOG gets one line per event, written with write(2) before
 * the reply that follows it, so it is whole whenever the sink is stopped:
 *
 *   D ID        a message stored (ID "-" when it had no X-Soak header)
 *   P ID        that stored message was dropped before its 250: a
 *               second D of ID is allowed
 *   X KIND      a connection dropped (KIND as above)
 *   C           a connection accepted
 *
 * SIGTERM or SIGINT ends it.  Test code: loopback only, no files but
 * LOG.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SINK_MAX_CONN	512
#define SINK_LINE	8192
#define SINK_OUT	4096
#define SINK_ID		64

enum sink_drop { DROP_NONE, DROP_GREET, DROP_CMD, DROP_DATA, DROP_DOT };
static const char *drop_names[] = { "none", "greet", "cmd", "data", "dot" };

struct sink_conn {
	int		 fd;
	int		 in_data;	/* between DATA's 354 and the "." */
	int		 in_headers;	/* in_data, before the empty line */
	int		 skipping;	/* discarding the rest of a long line */
	enum sink_drop	 drop;
	int		 drop_at;	/* command, or data line, number */
	int		 drop_txn;	/* transaction index of a data/dot drop */
	int		 ncmd;
	int		 txn;		/* transactions begun with DATA */
	int		 data_lines;
	char		 id[SINK_ID];
	char		 in[SINK_LINE];
	size_t		 inlen;
	char		 out[SINK_OUT];
	size_t		 outlen;
};

static struct sink_conn	*conns[SINK_MAX_CONN];
static int		 logfd = -1;
static int		 drop_percent = 10;
static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
log_line(const char *kind, const char *arg)
{
	char	 buf[SINK_ID + 16];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%s%s%s\n", kind, arg ? " " : "",
	    arg ? arg : "");
	if (n > 0 && write(logfd, buf, (size_t)n) != n) {
		perror("soaksink: log");
		exit(1);
	}
}

static void
conn_close(int slot, enum sink_drop why)
{
	struct sink_conn *c = conns[slot];

	if (why != DROP_NONE)
		log_line("X", drop_names[why]);
	close(c->fd);
	free(c);
	conns[slot] = NULL;
}

/* reply - queue a reply line; the loop writes it when the socket takes it */
static void
reply(struct sink_conn *c, const char *text)
{
	size_t	 n = strlen(text);

	if (c->outlen + n + 2 > sizeof(c->out))
		return;		/* a client that never reads: it gets less */
	memcpy(c->out + c->outlen, text, n);
	memcpy(c->out + c->outlen + n, "\r\n", 2);
	c->outlen += n + 2;
}

/*
 * data_line - one line between 354 and the end; returns -1 when the
 * connection is to be dropped, 1 at the end of the message.
 */
static int
data_line(struct sink_conn *c, char *line, size_t len)
{
	if (c->drop == DROP_DATA && c->txn == c->drop_txn &&
	    ++c->data_lines >= c->drop_at)
		return -1;
	if (len == 1 && line[0] == '.') {
		c->in_data = 0;
		log_line("D", c->id[0] ? c->id : "-");
		if (c->drop == DROP_DOT && c->txn == c->drop_txn) {
			log_line("P", c->id[0] ? c->id : "-");
			return -1;
		}
		reply(c, "250 2.0.0 Ok");
		return 1;
	}
	if (!c->in_headers)
		return 0;
	if (len == 0) {
		c->in_headers = 0;
		return 0;
	}
	if (c->id[0] == '\0' && len > 8 && strncasecmp(line, "X-Soak: ", 8)
	    == 0) {
		len -= 8;
		if (len >= sizeof(c->id))
			len = sizeof(c->id) - 1;
		memcpy(c->id, line + 8, len);
		c->id[len] = '\0';
	}
	return 0;
}

/* command - one command line; returns -1 to drop, 0 to go on */
static int
command(struct sink_conn *c, char *line)
{
	if (c->drop == DROP_CMD && ++c->ncmd >= c->drop_at)
		return -1;
	if (strncasecmp(line, "EHLO", 4) == 0)
		reply(c, "250-soaksink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
		    "250 SIZE 100000000");
	else if (strncasecmp(line, "HELO", 4) == 0)
		reply(c, "250 soaksink");
	else if (strncasecmp(line, "MAIL", 4) == 0 ||
	    strncasecmp(line, "RCPT", 4) == 0 ||
	    strncasecmp(line, "RSET", 4) == 0 ||
	    strncasecmp(line, "NOOP", 4) == 0)
		reply(c, "250 2.0.0 Ok");
	else if (strncasecmp(line, "DATA", 4) == 0) {
		c->in_data = c->in_headers = 1;
		c->id[0] = '\0';
		c->data_lines = 0;
		reply(c, "354 End data with <CR><LF>.<CR><LF>");
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		reply(c, "221 2.0.0 Bye");
		return 1;
	} else
		reply(c, "502 5.5.2 Not implemented");
	return 0;
}

/*
 * conn_input - the lines now in c->in; returns -1 to drop, 1 to close
 * after the replies are out, 0 to go on.
 */
static int
conn_input(struct sink_conn *c)
{
	char	*p, *nl, *line;
	size_t	 len;
	int	 r = 0;

	p = c->in;
	while (r == 0 && (nl = memchr(p, '\n', c->inlen - (size_t)(p - c->in)))
	    != NULL) {
		line = p;
		len = (size_t)(nl - p);
		p = nl + 1;
		if (c->skipping) {
			c->skipping = 0;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		if (c->in_data) {
			r = data_line(c, line, len);
			if (r == 1) {
				c->txn++;
				r = 0;
			}
		} else
			r = command(c, line);
	}
	c->inlen -= (size_t)(p - c->in);
	memmove(c->in, p, c->inlen);
	if (c->inlen == sizeof(c->in)) {	/* a line longer than the buffer */
		c->inlen = 0;
		c->skipping = 1;
	}
	return r;
}

static void
conn_accept(int lfd)
{
	struct sink_conn *c;
	int	 fd, slot;

	fd = accept(lfd, NULL, NULL);
	if (fd == -1)
		return;
	for (slot = 0; slot < SINK_MAX_CONN && conns[slot]; slot++)
		;
	if (slot == SINK_MAX_CONN || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd = fd;
	conns[slot] = c;
	log_line("C", NULL);
	if (random() % 100 < drop_percent) {
		c->drop = (enum sink_drop)(DROP_GREET + random() % 4);
		c->drop_at = c->drop == DROP_CMD ? 1 + (int)(random() % 6) :
		    1 + (int)(random() % 4);
		c->drop_txn = (int)(random() % 2);
	}
	if (c->drop == DROP_GREET) {
		conn_close(slot, DROP_GREET);
		return;
	}
	reply(c, "220 soaksink ESMTP");
}

/* conn_io - read and answer; closes the connection when it ends */
static void
conn_io(int slot, short revents)
{
	struct sink_conn *c = conns[slot];
	ssize_t	 n;
	int	 r = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			conn_close(slot, DROP_NONE);
			return;
		}
		if (n > 0) {
			c->inlen += (size_t)n;
			r = conn_input(c);
			if (r == -1) {
				conn_close(slot, c->drop);
				return;
			}
		}
	}
	if (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			conn_close(slot, DROP_NONE);
			return;
		}
		if (n > 0) {
			c->outlen -= (size_t)n;
			memmove(c->out, c->out + n, c->outlen);
		}
	}
	if (r == 1 && c->outlen == 0)
		conn_close(slot, DROP_NONE);
}

int
main(int argc, char *argv[])
{
	struct pollfd		 pfd[SINK_MAX_CONN + 1];
	int			 map[SINK_MAX_CONN + 1];
	struct sockaddr_in	 sin;
	struct sigaction	 sa;
	const char		*logpath = NULL;
	unsigned int		 seed = (unsigned int)getpid();
	int			 ch, lfd, port = 0, one = 1, i, n;

	while ((ch = getopt(argc, argv, "d:l:p:s:")) != -1) {
		switch (ch) {
		case 'd':
			drop_percent = atoi(optarg);
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			seed = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (port <= 0 || port > 65535 || logpath == NULL)
		goto usage;
	srandom(seed);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (logfd == -1) {
		perror(logpath);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1) {
		perror("soaksink: listen");
		return 1;
	}
	while (!stopping) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0, n = 1; i < SINK_MAX_CONN; i++) {
			if (conns[i] == NULL)
				continue;
			pfd[n].fd = conns[i]->fd;
			pfd[n].events = POLLIN |
			    (conns[i]->outlen ? POLLOUT : 0);
			map[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 1000) == -1) {
			if (errno == EINTR)
				continue;
			perror("soaksink: poll");
			return 1;
		}
		for (i = 1; i < n; i++)
			if (pfd[i].revents)
				conn_io(map[i], pfd[i].revents);
		if (pfd[0].revents & POLLIN)
			conn_accept(lfd);
	}
	return 0;
usage:
	fprintf(stderr, "usage: soaksink -p port -l log [-d percent] "
	    "[-s seed]\n");
	return 2;
}
