/* SPDX-License-Identifier: ISC */
/*
 * pop3_mailbox.c - the mailbox process of a POP3 session: TRANSACTION and
 * UPDATE states (RFC 1939 5, 6) on the socket the login process relays.
 *
 * The master forks it for a grant of the password checker and makes it
 * the account's owner before it opens anything (priv_become); from then
 * on it reads the Maildir as that user and the commands the login
 * process passes on.  Its first line answers the client's PASS or AUTH:
 * "+OK" once the maildrop is locked and scanned, "-ERR [IN-USE]" when
 * another session holds the lock.
 *
 * DELE only marks; QUIT unlinks (UPDATE).  End of file on the socket (the
 * client went away, its login process was killed) ends the session with
 * nothing deleted.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iobuf.h"
#include "log.h"
#include "pop3.h"

#define BODY_CHUNK	32768

struct mbox_session {
	const struct config	*cfg;
	const char		*account;
	struct iobuf		 io;
	struct maildrop		 md;
	int			 quit;
	unsigned long long	 retr, retr_bytes, top, top_bytes;
};

/* One response line to the client (pop3_reply). */
#define reply(x, ...)	pop3_reply(&(x)->io, __VA_ARGS__)

/* The message an argument names, or NULL with the -ERR sent. */
static struct pop3_msg *
msg_arg(struct mbox_session *s, const char *arg)
{
	size_t	 i = pop3_msgno(arg, s->md.n);

	if (i == 0) {
		if (pop3_msgno(arg, (size_t)-1) != 0)
			reply(s, "-ERR There's no message %s.", arg);
		else
			reply(s, "-ERR Invalid message number: %s", arg);
		return NULL;
	}
	if (s->md.msg[i - 1].deleted) {
		reply(s, "-ERR Message is deleted.");
		return NULL;
	}
	return &s->md.msg[i - 1];
}

static void
cmd_stat(struct mbox_session *s)
{
	reply(s, "+OK %zu %lld", s->md.n - s->md.ndeleted,
	    (long long)s->md.size);
}

/* LIST and UIDL: one message, or all that are not deleted. */
static void
cmd_list(struct mbox_session *s, const char *arg, int uidl)
{
	char	 uid[NAME_MAX + 1];	/* POP3_UIDL_MAX: see tern(8), POP3 */
	struct pop3_msg *m;
	size_t	 i;

	if (arg != NULL) {
		if ((m = msg_arg(s, arg)) == NULL)
			return;
		i = (size_t)(m - s->md.msg);
		if (uidl) {
			maildrop_uidl(m->name, uid, sizeof(uid));
			reply(s, "+OK %zu %s", i + 1, uid);
		} else
			reply(s, "+OK %zu %lld", i + 1, (long long)m->size);
		return;
	}
	if (uidl)
		reply(s, "+OK");
	else
		reply(s, "+OK %zu messages:", s->md.n - s->md.ndeleted);
	for (i = 0; i < s->md.n && s->io.status == IOBUF_OK; i++) {
		m = &s->md.msg[i];
		if (m->deleted)
			continue;
		if (uidl) {
			maildrop_uidl(m->name, uid, sizeof(uid));
			reply(s, "%zu %s", i + 1, uid);
		} else
			reply(s, "%zu %lld", i + 1, (long long)m->size);
	}
	iobuf_write(&s->io, ".\r\n", 3);
}

/*
 * RETR and TOP: the file in chunks, encoded on the way.  A file that is
 * gone (another program took it) is an -ERR and the session goes on; a
 * read error after the +OK can only end the session, as the client
 * cannot tell a short message from a whole one otherwise.
 */
static void
send_msg(struct mbox_session *s, const char *arg, long long lines)
{
	static char in[BODY_CHUNK], out[3 * BODY_CHUNK + 8];
	struct pop3_enc enc;
	struct pop3_msg *m;
	unsigned long long sent = 0;
	ssize_t	 n;
	size_t	 o;
	int	 fd;

	if ((m = msg_arg(s, arg)) == NULL)
		return;
	if ((fd = maildrop_fopen(&s->md, (size_t)(m - s->md.msg))) == -1) {
		reply(s, "-ERR Message %s is gone: another program removed "
		    "it.", arg);
		log_info("user=<%s>: message %s (%s) vanished", s->account,
		    arg, m->name);
		return;
	}
	if (lines < 0)
		reply(s, "+OK %lld octets", (long long)m->size);
	else
		reply(s, "+OK");
	pop3_enc_init(&enc, lines);
	while (!enc.done && (n = read(fd, in, sizeof(in))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("user=<%s>: read %s", s->account, m->name);
			s->io.status = IOBUF_ERROR;
			s->quit = 1;
			close(fd);
			return;
		}
		o = pop3_enc_chunk(&enc, in, (size_t)n, out);
		sent += o;
		if (iobuf_write(&s->io, out, o) == -1)
			break;
	}
	close(fd);
	o = pop3_enc_end(&enc, out);
	iobuf_write(&s->io, out, o);
	if (lines < 0) {
		m->seen = s->io.status == IOBUF_OK;
		s->retr++;
		s->retr_bytes += sent;
	} else {
		s->top++;
		s->top_bytes += sent;
	}
}

static void
cmd_top(struct mbox_session *s, char *arg[2], int nargs)
{
	long long lines = 0;
	const char *p;

	if (nargs != 2) {
		reply(s, "-ERR Invalid arguments: TOP msg lines");
		return;
	}
	for (p = arg[1]; *p >= '0' && *p <= '9' && lines < (1LL << 40); p++)
		lines = lines * 10 + (*p - '0');
	if (*p != '\0' || p == arg[1]) {
		reply(s, "-ERR Invalid number of lines: %s", arg[1]);
		return;
	}
	send_msg(s, arg[0], lines);
}

static void
cmd_dele(struct mbox_session *s, const char *arg)
{
	struct pop3_msg *m;

	if ((m = msg_arg(s, arg)) == NULL)
		return;
	m->deleted = 1;
	s->md.ndeleted++;
	s->md.size -= m->size;
	reply(s, "+OK Marked to be deleted.");
}

static void
cmd_rset(struct mbox_session *s)
{
	size_t	 i;

	for (i = 0; i < s->md.n; i++) {
		if (s->md.msg[i].deleted) {
			s->md.msg[i].deleted = 0;
			s->md.size += s->md.msg[i].size;
		}
		s->md.msg[i].seen = 0;	/* as Dovecot's RSET */
	}
	s->md.ndeleted = 0;
	reply(s, "+OK");
}

/* UPDATE: what DELE marked goes now, and only now. */
static void
cmd_quit(struct mbox_session *s)
{
	size_t	 failed = maildrop_commit(&s->md);

	if (failed > 0)
		reply(s, "-ERR [SYS/TEMP] %zu deleted message%s could not be "
		    "removed.", failed, failed == 1 ? "" : "s");
	else
		reply(s, "+OK Logging out%s.", s->md.ndeleted > 0 ?
		    ", messages deleted" : "");
	log_info("user=<%s>: Logged out top=%llu/%llu, retr=%llu/%llu, "
	    "del=%zu/%zu, size=%lld", s->account, s->top, s->top_bytes,
	    s->retr, s->retr_bytes, s->md.ndeleted - failed, s->md.n,
	    (long long)s->md.size);
	s->quit = 1;
}

static void
command(struct mbox_session *s, char *line)
{
	char	*verb, *arg[2];
	int	 n;

	if ((n = pop3_parse(line, &verb, arg)) == -1) {
		reply(s, "-ERR Invalid arguments.");
		return;
	}
	if (strcmp(verb, "STAT") == 0 && n == 0)
		cmd_stat(s);
	else if (strcmp(verb, "LIST") == 0 && n <= 1)
		cmd_list(s, arg[0], 0);
	else if (strcmp(verb, "UIDL") == 0 && n <= 1)
		cmd_list(s, arg[0], 1);
	else if (strcmp(verb, "RETR") == 0 && n == 1)
		send_msg(s, arg[0], -1);
	else if (strcmp(verb, "TOP") == 0)
		cmd_top(s, arg, n);
	else if (strcmp(verb, "DELE") == 0 && n == 1)
		cmd_dele(s, arg[0]);
	else if (strcmp(verb, "RSET") == 0 && n == 0)
		cmd_rset(s);
	else if (strcmp(verb, "NOOP") == 0 && n == 0)
		reply(s, "+OK");
	else if (strcmp(verb, "QUIT") == 0)
		cmd_quit(s);
	else if (strcmp(verb, "CAPA") == 0)
		reply(s, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		    "PIPELINING\r\nAUTH-RESP-CODE\r\n.");
	else if (strcmp(verb, "USER") == 0 || strcmp(verb, "PASS") == 0 ||
	    strcmp(verb, "AUTH") == 0 || strcmp(verb, "STLS") == 0 ||
	    strcmp(verb, "APOP") == 0)
		reply(s, "-ERR Already logged in.");
	else if (strcmp(verb, "STAT") == 0 || strcmp(verb, "LIST") == 0 ||
	    strcmp(verb, "UIDL") == 0 || strcmp(verb, "RETR") == 0 ||
	    strcmp(verb, "DELE") == 0 || strcmp(verb, "RSET") == 0 ||
	    strcmp(verb, "NOOP") == 0)
		reply(s, "-ERR Invalid arguments.");
	else
		reply(s, "-ERR Unknown command.");
}

int
pop3_mailbox_serve(const struct config *cfg, int fd, const char *account,
    const char *path)
{
	static struct mbox_session s;
	char	*line;
	ssize_t	 n;
	int	 toolong;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.account = account;
	/* The login process keeps the client's idle timeout; this one
	 * only outlives it a little. */
	iobuf_init(&s.io, fd, fd, (int)(cfg->pop3_timeout + 60) * 1000);
	if (maildrop_open(&s.md, path) == -1) {
		if (errno == EWOULDBLOCK) {
			reply(&s, "-ERR [IN-USE] Mailbox is locked by another "
			    "POP3 session.");
			log_info("user=<%s>: mailbox in use", account);
		} else {
			reply(&s, "-ERR [SYS/TEMP] Cannot open the mailbox.");
			log_warn("user=<%s>: %s", account, path);
		}
		iobuf_flush(&s.io);
		return 1;
	}
	reply(&s, "+OK Logged in.");
	while (!s.quit && s.io.status == IOBUF_OK) {
		if ((n = pop3_getline(&s.io, POP3_LINE_MAX, &line,
		    &toolong)) == -1)
			break;
		if (toolong) {
			reply(&s, "-ERR Line too long.");
			continue;
		}
		command(&s, line);
	}
	if (!s.quit)
		log_info("user=<%s>: Disconnected: connection closed, "
		    "del=0/%zu (nothing deleted)", account, s.md.n);
	iobuf_flush(&s.io);
	maildrop_close(&s.md);
	return 0;
}
