/* SPDX-License-Identifier: ISC */
/*
 * smtp_session.c - the SMTP server state machine (RFC 5321).
 *
 * One enum of states, one command table: each entry names the verb, the
 * states it is legal in, and a handler that first checks its arguments
 * and then acts.  Extensions: PIPELINING (RFC 2920), SIZE (1870),
 * 8BITMIME (6152), ENHANCEDSTATUSCODES (2034, 3463), SMTPUTF8 (6531),
 * DSN (3461), CHUNKING (3030), ETRN (1985, trusted clients only), and
 * for local submitters only XMAILQ, the queue listing (smtp_mailq.c).
 *
 * Relaying (DESIGN.md): a recipient is accepted when its domain is local
 * and the local part names a user or an alias, or when the client is
 * trusted (relay_networks, or a local submission).  A local part that
 * still routes ('%', '!', a quoted form) is never local for an untrusted
 * client, so no percent hack, bang path or quoted '@' relays.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "config.h"
#include "date.h"
#include "envelope.h"
#include "iobuf.h"
#include "log.h"
#include "mx.h"
#include "netaddr.h"
#include "smtp_data.h"
#include "smtp_mailq.h"
#include "smtp_params.h"
#include "smtp_session.h"
#include "spool.h"
#include "text.h"

#define CMD_LINE_MAX	512	/* RFC 5321 4.5.3.1.4, CRLF included */

enum smtp_state {
	SMTP_INIT,		/* greeted, no HELO/EHLO yet */
	SMTP_READY,		/* no transaction */
	SMTP_MAIL,		/* MAIL accepted */
	SMTP_RCPT,		/* at least one RCPT accepted */
	SMTP_BDAT,		/* inside a BDAT sequence */
	SMTP_QUIT
};

#define ANY	((1 << SMTP_INIT) | (1 << SMTP_READY) | (1 << SMTP_MAIL) | \
		    (1 << SMTP_RCPT) | (1 << SMTP_BDAT))

struct smtp_session {
	const struct config *cfg;
	struct iobuf	 io;
	enum smtp_state	 state;
	long		 uid;		/* local submitter, -1 for TCP */
	int		 trusted;	/* may relay */
	int		 esmtp;
	int		 errors;
	char		 addr[64];	/* client address text, "local" */
	char		 name[256];	/* client host name, "unknown" */
	char		 helo[256];
	struct envelope	 env;		/* the transaction */
	long long	 declared_size;
	struct spool_file sf;		/* open while DATA/BDAT runs */
	int		 sf_open;
	struct msgwriter w;
	char		 msgid[128];
	char		 from_hdr[ADDR_MAX + 8];
	unsigned int	 count[16];	/* per command, for the log */
	unsigned int	 count_all;
	const char	*last;		/* last command, for "after X" logs */
};

struct smtp_command {
	const char	*verb;
	unsigned int	 allowed;	/* bit (1 << state) for each state */
	int		(*handle)(struct smtp_session *, char *args);
};

static int	cmd_ehlo(struct smtp_session *, char *);
static int	cmd_helo(struct smtp_session *, char *);
static int	cmd_mail(struct smtp_session *, char *);
static int	cmd_rcpt(struct smtp_session *, char *);
static int	cmd_data(struct smtp_session *, char *);
static int	cmd_bdat(struct smtp_session *, char *);
static int	cmd_rset(struct smtp_session *, char *);
static int	cmd_noop(struct smtp_session *, char *);
static int	cmd_quit(struct smtp_session *, char *);
static int	cmd_vrfy(struct smtp_session *, char *);
static int	cmd_help(struct smtp_session *, char *);
static int	cmd_etrn(struct smtp_session *, char *);
static int	cmd_xmailq(struct smtp_session *, char *);

static const struct smtp_command commands[] = {
	{ "EHLO", ANY, cmd_ehlo },
	{ "HELO", ANY, cmd_helo },
	{ "MAIL", 1 << SMTP_READY, cmd_mail },
	{ "RCPT", (1 << SMTP_MAIL) | (1 << SMTP_RCPT), cmd_rcpt },
	{ "DATA", (1 << SMTP_MAIL) | (1 << SMTP_RCPT), cmd_data },
	{ "BDAT", ANY, cmd_bdat },
	{ "RSET", ANY, cmd_rset },
	{ "NOOP", ANY, cmd_noop },
	{ "QUIT", ANY, cmd_quit },
	{ "VRFY", ANY, cmd_vrfy },
	{ "HELP", ANY, cmd_help },
	{ "ETRN", 1 << SMTP_READY, cmd_etrn },
	{ "XMAILQ", (1 << SMTP_INIT) | (1 << SMTP_READY), cmd_xmailq },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const char *
state_name(enum smtp_state s)
{
	static const char *names[] = {
		"INIT", "READY", "MAIL", "RCPT", "BDAT", "QUIT"
	};

	return names[s];
}

static void
session_set_state(struct smtp_session *s, enum smtp_state new)
{
	if (s->state != new)
		log_debug("%s[%s]: %s -> %s", s->name, s->addr,
		    state_name(s->state), state_name(new));
	s->state = new;
}

static void
reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reply(struct smtp_session *s, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = sizeof(buf) - 3;
	memcpy(buf + n, "\r\n", 2);
	iobuf_write(&s->io, buf, (size_t)n + 2);
	if (buf[0] == '5')
		s->errors++;	/* 4xx are the server's trouble, not errors */
}

/* Log a refusal in the Postfix layout: "NOQUEUE: reject: RCPT from ...". */
static void
log_reject(struct smtp_session *s, const char *verb, const char *why,
    const char *to)
{
	log_info("NOQUEUE: reject: %s from %s[%s]: %s; from=<%s>%s%s%s "
	    "proto=%s helo=<%s>", verb, s->name, s->addr, why, s->env.sender,
	    to ? " to=<" : "", to ? to : "", to ? ">" : "",
	    s->esmtp ? "ESMTP" : "SMTP", s->helo);
}

static void
transaction_reset(struct smtp_session *s)
{
	if (s->sf_open) {
		spool_abort(&s->sf);
		s->sf_open = 0;
	}
	envelope_free(&s->env);
	envelope_init(&s->env);
	s->declared_size = -1;
	if (s->state != SMTP_INIT && s->state != SMTP_QUIT)
		session_set_state(s, SMTP_READY);
}

/*
 * etrn_allowed - ETRN is for trusted clients: TCP clients in
 * relay_networks, and of the local submitters only root and `user` (whom
 * smtpd runs as), the queue's owners, as sendmail's restrictqrun has it.
 * Every other local user is trusted to send, not to make the queue
 * runner rescan the spool.
 */
static int
etrn_allowed(const struct smtp_session *s)
{
	if (s->uid < 0)
		return s->trusted;
	return s->uid == 0 || (uid_t)s->uid == geteuid();
}

/*
 * HELO/EHLO name (RFC 5321 4.1.1.1).  A control byte is refused: it
 * would go into the log, the envelope and the Received: header.  Spaces
 * and 8-bit bytes are kept as sent (RFC 6531 3.7.1 allows U-labels, and
 * RFC 5321 4.1.4 does not let a server refuse mail over the name).
 */
static int
helo_common(struct smtp_session *s, char *args, int esmtp)
{
	const char *verb = esmtp ? "EHLO" : "HELO";

	if (*args == '\0' || strlen(args) >= sizeof(s->helo)) {
		reply(s, "501 5.5.4 Syntax: %s hostname", verb);
		return 0;
	}
	if (text_has_ctl(args)) {
		reply(s, "501 5.5.2 Error: control character in %s hostname",
		    verb);
		log_info("reject: %s from %s[%s]: 501 5.5.2 control character "
		    "in host name; helo=<%s>", verb, s->name, s->addr, args);
		return 0;
	}
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->esmtp = esmtp;
	if (s->state == SMTP_INIT)
		session_set_state(s, SMTP_READY);
	transaction_reset(s);
	return 1;
}

static int
cmd_ehlo(struct smtp_session *s, char *args)
{
	if (!helo_common(s, args, 1))
		return 0;
	reply(s, "250-%s", s->cfg->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %lld", s->cfg->max_message_size);
	if (etrn_allowed(s))
		reply(s, "250-ETRN");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250-DSN");
	reply(s, "250-SMTPUTF8");
	reply(s, "250 CHUNKING");
	return 0;
}

static int
cmd_helo(struct smtp_session *s, char *args)
{
	if (helo_common(s, args, 0))
		reply(s, "250 %s", s->cfg->hostname);
	return 0;
}

/*
 * A local submitter may name a bare user ("<root>"), as sendmail(8)
 * always allowed; it means user@origin.  Rewrites p into buf.
 */
static char *
qualify_local(const struct smtp_session *s, char *p, char *buf, size_t len)
{
	size_t	 n = strcspn(p, ">");

	if (s->uid < 0 || p[0] != '<' || p[n] != '>' || n < 2 ||
	    memchr(p, '@', n) != NULL ||
	    (size_t)snprintf(buf, len, "%.*s@%s%s", (int)n, p,
	    s->cfg->origin, p + n) >= len)
		return p;
	return buf;
}

/*
 * A path that is only bad because it is UTF-8 while the client did not
 * say SMTPUTF8: RFC 6531 section 3.7.4.1 wants 553 5.6.7 for it.
 */
static int
needs_smtputf8(const struct smtp_session *s, const char *p, int flags)
{
	char		 addr[ADDR_MAX];
	const char	*end, *why;

	return !s->env.smtputf8 && addr_parse_path(p, flags | ADDR_UTF8,
	    addr, sizeof(addr), &end, &why) == 0;
}

/* "FROM:" / "TO:" then optional spaces (many clients send one). */
static char *
skip_keyword(char *args, const char *kw)
{
	size_t	 n = strlen(kw);

	if (strncasecmp(args, kw, n) != 0)
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

static int
cmd_mail(struct smtp_session *s, char *args)
{
	char	 addr[ADDR_MAX], qualified[CMD_LINE_MAX + 256], *p, *key, *value;
	const char *end, *why;

	if ((p = skip_keyword(args, "FROM:")) == NULL) {
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return 0;
	}
	p = qualify_local(s, p, qualified, sizeof(qualified));
	/* SMTPUTF8 may follow the path; look for it before parsing. */
	if (strcasestr(p, " SMTPUTF8") != NULL)
		s->env.smtputf8 = 1;
	if (addr_parse_path(p, ADDR_ALLOW_NULL | (s->env.smtputf8 ? ADDR_UTF8 :
	    0), addr, sizeof(addr), &end, &why) == -1) {
		s->env.smtputf8 = 0;
		if (needs_smtputf8(s, p, ADDR_ALLOW_NULL))
			reply(s, "553 5.6.7 Sender address is UTF-8: "
			    "MAIL FROM needs the SMTPUTF8 parameter");
		else
			reply(s, "501 5.1.7 Bad sender address syntax: %s",
			    why);
		return 0;
	}
	p += end - p;
	if (*p != '\0' && *p != ' ') {
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
		return 0;
	}
	while ((key = smtp_param_next(&p, &value)) != NULL) {
		if (smtp_mail_param(&s->env, &s->declared_size, key, value) == -1) {
			reply(s, "555 5.5.4 Unsupported or bad parameter: %s",
			    key);
			transaction_reset(s);
			return 0;
		}
	}
	if (s->declared_size > s->cfg->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, "MAIL", "552 5.3.4 Message size exceeds fixed "
		    "limit", NULL);
		transaction_reset(s);
		return 0;
	}
	snprintf(s->env.sender, sizeof(s->env.sender), "%s", addr);
	session_set_state(s, SMTP_MAIL);
	reply(s, "250 2.1.0 Ok");
	return 0;
}

/* Does this local part name a user or an alias?  -1: cannot tell now. */
static int
local_exists(const struct smtp_session *s, const char *addr)
{
	char	 local[ADDR_MAX], *p;
	int	 r;

	if (addr_local_part(addr, local, sizeof(local)) == -1)
		return 0;
	for (p = local; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strcmp(local, "postmaster"))
		return 1;	/* RFC 5321 4.5.1 */
	if ((r = aliases_exists(s->cfg, local)) != 0)
		return r;
	if (s->cfg->recipient_delimiter[0] &&
	    (p = strchr(local, s->cfg->recipient_delimiter[0])) != NULL)
		*p = '\0';
	return getpwnam(local) != NULL;
}

/* Check one recipient; replies itself and returns 0 if refused. */
static int
rcpt_allowed(struct smtp_session *s, const char *addr)
{
	const char *domain = addr_domain(addr);
	char	 why[ADDR_MAX + 128];
	int	 r;

	if (!config_is_local_domain(s->cfg, domain) ||
	    addr_has_routing(addr)) {
		if (s->trusted)
			return 1;
		snprintf(why, sizeof(why), "554 5.7.1 <%s>: Relay access "
		    "denied", addr);
		goto refuse;
	}
	if ((r = local_exists(s, addr)) == 1)
		return 1;
	if (r == -1) {
		snprintf(why, sizeof(why), "451 4.3.0 <%s>: Temporary lookup "
		    "failure", addr);
		goto refuse;
	}
	snprintf(why, sizeof(why), "550 5.1.1 <%s>: Recipient address "
	    "rejected: User unknown in local recipient table", addr);
refuse:
	reply(s, "%s", why);
	log_reject(s, "RCPT", why, addr);
	return 0;
}

static int
cmd_rcpt(struct smtp_session *s, char *args)
{
	char	 addr[ADDR_MAX], orcpt[ADDR_MAX] = "", *p, *key, *value;
	char	 qualified[CMD_LINE_MAX + 256];
	const char *end, *why;
	int	 notify = 0;

	if ((p = skip_keyword(args, "TO:")) == NULL) {
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return 0;
	}
	if (strncasecmp(p, "<postmaster>", 12) != 0)
		p = qualify_local(s, p, qualified, sizeof(qualified));
	if (strncasecmp(p, "<postmaster>", 12) == 0) {
		snprintf(addr, sizeof(addr), "postmaster@%s", s->cfg->hostname);
		end = p + 12;
	} else if (addr_parse_path(p, s->env.smtputf8 ? ADDR_UTF8 : 0, addr,
	    sizeof(addr), &end, &why) == -1) {
		if (needs_smtputf8(s, p, 0))
			reply(s, "553 5.6.7 Recipient address is UTF-8: the "
			    "transaction needs SMTPUTF8 in MAIL FROM");
		else
			reply(s, "501 5.1.3 Bad recipient address syntax: %s",
			    why);
		return 0;
	}
	p += end - p;
	if (*p != '\0' && *p != ' ') {
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]");
		return 0;
	}
	while ((key = smtp_param_next(&p, &value)) != NULL) {
		if (smtp_rcpt_param(key, value, &notify, orcpt,
		    sizeof(orcpt)) == -1) {
			reply(s, "555 5.5.4 Unsupported or bad parameter: %s",
			    key);
			return 0;
		}
	}
	if (s->env.nrcpt >= (size_t)s->cfg->max_recipients) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return 0;
	}
	if (!rcpt_allowed(s, addr))
		return 0;
	if (envelope_add_rcpt(&s->env, addr, notify, orcpt) == -1) {
		reply(s, "451 4.3.0 Error: out of memory");
		return 0;
	}
	session_set_state(s, SMTP_RCPT);
	reply(s, "250 2.1.5 Ok");
	return 0;
}

/*
 * local_from - the From: added to a local submission that has none: the
 * envelope sender, as sendmail(8) writes it (and Postfix's cleanup).
 */
static const char *
local_from(struct smtp_session *s)
{
	if (s->uid < 0)
		return NULL;
	if (s->env.sender[0] != '\0')
		snprintf(s->from_hdr, sizeof(s->from_hdr), "%s", s->env.sender);
	else
		snprintf(s->from_hdr, sizeof(s->from_hdr), "MAILER-DAEMON@%s",
		    s->cfg->hostname);
	return s->from_hdr;
}

/* Open the queue file and write the envelope and the Received: header. */
static int
message_open(struct smtp_session *s)
{
	char	 date[64], uid[32] = "";
	const char *proto;

	if (spool_open(s->cfg->spool_dir, &s->sf) == -1) {
		log_warn("cannot create queue file");
		return -1;
	}
	s->sf_open = 1;
	if (s->uid >= 0)
		snprintf(uid, sizeof(uid), ", uid=%ld", s->uid);
	log_info("%s: client=%s[%s]%s", s->sf.id, s->name, s->addr, uid);
	snprintf(s->env.id, sizeof(s->env.id), "%s", s->sf.id);
	s->env.arrival = time(NULL);
	snprintf(s->env.client, sizeof(s->env.client), "%s [%s]", s->name,
	    s->addr);
	snprintf(s->env.helo, sizeof(s->env.helo), "%s", s->helo);
	proto = s->uid >= 0 ? "LOCAL" : s->env.smtputf8 ? "UTF8SMTP" :
	    s->esmtp ? "ESMTP" : "SMTP";
	snprintf(s->env.protocol, sizeof(s->env.protocol), "%s", proto);
	s->env.uid = s->uid;
	if (envelope_write(s->sf.fp, &s->env) == -1)
		return -1;
	date_rfc5322(time(NULL), date, sizeof(date));
	if (s->uid >= 0)
		fprintf(s->sf.fp, "Received: by %s (tern, from userid %ld)\r\n"
		    "\tid %s;", s->cfg->hostname, s->uid, s->sf.id);
	else
		fprintf(s->sf.fp, "Received: from %s (%s [%s%s])\r\n\tby %s "
		    "(tern) with %s id %s", s->helo, s->name,
		    strchr(s->addr, ':') ? "IPv6:" : "", s->addr,
		    s->cfg->hostname, proto, s->sf.id);
	if (s->env.nrcpt == 1 && s->uid < 0)
		fprintf(s->sf.fp, "\r\n\tfor <%s>;", s->env.rcpt[0].addr);
	else if (s->uid < 0)
		fputc(';', s->sf.fp);
	fprintf(s->sf.fp, " %s\r\n", date);
	snprintf(s->msgid, sizeof(s->msgid), "%s@%s", s->sf.id,
	    s->cfg->hostname);
	/* Like Postfix for its local clients: trusted ones get the
	 * missing Date: and Message-ID:, local submitters From: too. */
	msgw_init(&s->w, s->sf.fp, s->cfg->max_message_size, local_from(s),
	    s->trusted ? s->msgid : NULL);
	return 0;
}

/* The end of DATA or of the last BDAT chunk: commit, then answer. */
static void
message_close(struct smtp_session *s)
{
	char	 id[QUEUEID_LEN + 1], msg[64];

	msgw_finish(&s->w);
	s->last = "END-OF-MESSAGE";
	if (s->w.too_big) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_info("%s: reject: size %lld exceeds limit %lld", s->sf.id,
		    s->w.size, s->cfg->max_message_size);
	} else if (s->w.hops + 1 > s->cfg->max_hops) {
		/* ours counts too: it is the first line of the queue file */
		reply(s, "554 5.4.6 Too many hops: mail loop suspected");
		log_info("%s: reject: %lld Received: headers, max_hops %lld",
		    s->sf.id, s->w.hops + 1, s->cfg->max_hops);
	} else if (ferror(s->sf.fp) ||
	    spool_commit(s->cfg->spool_dir, &s->sf) == -1) {
		log_warn("%s: cannot commit queue file", s->sf.id);
		reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		s->sf_open = 0;
		snprintf(id, sizeof(id), "%s", s->sf.id);
		log_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)",
		    id, s->env.sender, s->w.size, s->env.nrcpt);
		reply(s, "250 2.0.0 Ok: queued as %s", id);
		iobuf_flush(&s->io);
		snprintf(msg, sizeof(msg), "new %s\n", id);
		spool_trigger(s->cfg->spool_dir, msg);
	}
	transaction_reset(s);
}

static int
cmd_data(struct smtp_session *s, char *args)
{
	if (*args) {
		reply(s, "501 5.5.4 Syntax: DATA");
		return 0;
	}
	if (s->state != SMTP_RCPT) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return 0;
	}
	if (message_open(s) == -1) {
		reply(s, "451 4.3.0 Error: queue file write error");
		transaction_reset(s);
		return 0;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (smtp_data_read(&s->io, &s->w) == -1)
		return -1;
	message_close(s);
	return 0;
}

/* BDAT size [LAST] (RFC 3030 2): the chunk is read whatever the reply. */
static int
cmd_bdat(struct smtp_session *s, char *args)
{
	char	*end;
	long long len;
	int	 last = 0, bad = 0;
	struct msgwriter discard;

	errno = 0;
	len = isdigit((unsigned char)*args) ? strtoll(args, &end, 10) : -1;
	if (len < 0 || errno) {
		reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return -1;	/* the chunk cannot be skipped: close */
	}
	if (!strcasecmp(end, " LAST"))
		last = 1;
	else if (*end != '\0')
		bad = 1;
	if (!bad && s->state == SMTP_RCPT && message_open(s) == 0)
		session_set_state(s, SMTP_BDAT);
	else if (!bad && s->state == SMTP_RCPT)
		bad = 2;
	if (bad || s->state != SMTP_BDAT) {
		msgw_init(&discard, NULL, 0, NULL, NULL);
		if (smtp_bdat_read(&s->io, &discard, len) == -1)
			return -1;
		if (bad == 1)
			reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		else if (bad == 2)
			reply(s, "451 4.3.0 Error: queue file write error");
		else if (s->state == SMTP_MAIL)
			reply(s, "554 5.5.1 Error: no valid recipients");
		else
			reply(s, "503 5.5.1 Error: need MAIL and RCPT first");
		transaction_reset(s);
		return 0;
	}
	if (smtp_bdat_read(&s->io, &s->w, len) == -1)
		return -1;
	if (last)
		message_close(s);
	else
		reply(s, "250 2.0.0 %lld octets received", len);
	return 0;
}

static int
cmd_rset(struct smtp_session *s, char *args)
{
	(void)args;
	transaction_reset(s);
	reply(s, "250 2.0.0 Ok");
	return 0;
}

static int
cmd_noop(struct smtp_session *s, char *args)
{
	(void)args;
	reply(s, "250 2.0.0 Ok");
	return 0;
}

static int
cmd_quit(struct smtp_session *s, char *args)
{
	(void)args;
	reply(s, "221 2.0.0 Bye");
	session_set_state(s, SMTP_QUIT);
	return 0;
}

static int
cmd_vrfy(struct smtp_session *s, char *args)
{
	if (*args == '\0')
		reply(s, "501 5.5.4 Syntax: VRFY address");
	else
		reply(s, "252 2.0.0 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
	return 0;
}

static int
cmd_help(struct smtp_session *s, char *args)
{
	(void)args;
	reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
	    "NOOP QUIT VRFY HELP ETRN; see RFC 5321");
	return 0;
}

/*
 * ETRN (RFC 1985): trusted clients flush the queue for a domain.  Local
 * submitters (sendmail -q) may also say "ETRN *" for all, or a queue id.
 * The queue runner does one rescan for a domain at a time (queue.h).
 */
static int
cmd_etrn(struct smtp_session *s, char *args)
{
	char	 msg[300];
	const char *d = args[0] == '@' ? args + 1 : args;

	if (!etrn_allowed(s)) {
		if (s->uid < 0)
			reply(s, "459 4.7.1 Error: ETRN not allowed for this "
			    "client");
		else
			reply(s, "459 4.7.1 Error: ETRN not allowed for this "
			    "user; only root and %s may flush the queue",
			    s->cfg->user);
		if (s->uid >= 0)
			snprintf(msg, sizeof(msg), ", uid=%ld", s->uid);
		log_info("reject: ETRN from %s[%s]%s: 459 4.7.1 not allowed",
		    s->name, s->addr, s->uid >= 0 ? msg : "");
		return 0;
	}
	if (!strcmp(args, "*"))
		snprintf(msg, sizeof(msg), "flush\n");
	else if (s->uid >= 0 && queueid_valid(args))
		snprintf(msg, sizeof(msg), "flush %s\n", args);
	else if (addr_is_valid_domain(d, 0))
		snprintf(msg, sizeof(msg), "flush @%s\n", d);
	else {
		reply(s, "501 5.5.4 Syntax: ETRN domain");
		return 0;
	}
	spool_trigger(s->cfg->spool_dir, msg);
	reply(s, "250 2.0.0 Queuing started");
	return 0;
}

/* XMAILQ: the queue listing, for a local user only; TCP never sees it. */
static int
cmd_xmailq(struct smtp_session *s, char *args)
{
	char	 why[256];

	if (s->uid < 0) {
		reply(s, "500 5.5.2 Error: command not recognized");
		return 0;
	}
	if (smtp_mailq(s->cfg, s->uid, args, &s->io, why, sizeof(why)) == 0)
		return 0;
	if (why[0] == '\0')
		return -1;
	reply(s, "%s", why);
	return 0;
}

/* Find the command; the verb is upper-cased in place. */
static const struct smtp_command *
command_find(char *line, char **args)
{
	size_t	 i, n = strcspn(line, " ");

	for (i = 0; i < n; i++)
		line[i] = (char)toupper((unsigned char)line[i]);
	*args = line[n] ? line + n + 1 : line + n;
	for (i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i].verb) == n &&
		    memcmp(commands[i].verb, line, n) == 0)
			return &commands[i];
	return NULL;
}

static void
out_of_sequence(struct smtp_session *s, const struct smtp_command *c)
{
	if (s->state == SMTP_INIT)
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
	else if (!strcmp(c->verb, "MAIL"))
		reply(s, "503 5.5.1 Error: nested MAIL command");
	else if (s->state == SMTP_BDAT)
		reply(s, "503 5.5.1 Error: BDAT in progress");
	else
		reply(s, "503 5.5.1 Error: need %s command", s->state ==
		    SMTP_READY ? "MAIL" : "RCPT");
}

/* One command line; returns -1 when the session must end. */
static int
session_command(struct smtp_session *s, char *line, size_t len)
{
	const struct smtp_command *c;
	char	*args;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	if (memchr(line, '\0', len) != NULL) {
		reply(s, "500 5.5.2 Error: NUL character in command");
		return 0;
	}
	if ((c = command_find(line, &args)) == NULL) {
		reply(s, "500 5.5.2 Error: command not recognized");
		return 0;
	}
	s->count[c - commands]++;
	s->count_all++;
	s->last = c->verb;
	if (!(c->allowed & (1u << s->state))) {
		out_of_sequence(s, c);
		return 0;
	}
	return c->handle(s, args);
}

/*
 * The client went away or timed out: named after the last command, as
 * Postfix does ("lost connection after RCPT", "timeout after DATA").
 */
static void
session_log_lost(struct smtp_session *s)
{
	if (s->io.status == IOBUF_TIMEOUT) {
		reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->cfg->hostname);
		log_info("timeout after %s from %s[%s]", s->last, s->name,
		    s->addr);
	} else if (s->io.status != IOBUF_OK)
		log_info("lost connection after %s from %s[%s]", s->last,
		    s->name, s->addr);
}

/* "disconnect from x[a] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" */
static void
session_log_disconnect(struct smtp_session *s)
{
	char	 buf[512], verb[8];
	size_t	 i, j, off = 0;

	buf[0] = '\0';
	for (i = 0; i < NCOMMANDS; i++) {
		if (s->count[i] == 0 || off >= sizeof(buf))
			continue;
		for (j = 0; j < sizeof(verb) - 1 && commands[i].verb[j]; j++)
			verb[j] = (char)tolower((unsigned char)
			    commands[i].verb[j]);
		verb[j] = '\0';
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    " %s=%u", verb, s->count[i]);
	}
	log_info("disconnect from %s[%s]%s commands=%u", s->name, s->addr,
	    buf, s->count_all);
}

static void
session_init(struct smtp_session *s, const struct config *cfg, int fd,
    const struct sockaddr *peer, long uid)
{
	size_t	 i;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->uid = uid;
	s->declared_size = -1;
	s->last = "CONNECT";
	envelope_init(&s->env);
	iobuf_init(&s->io, fd, fd, (int)(cfg->smtpd_timeout * 1000));
	snprintf(s->name, sizeof(s->name), "unknown");
	if (uid >= 0) {
		snprintf(s->addr, sizeof(s->addr), "local");
		snprintf(s->name, sizeof(s->name), "localhost");
		s->trusted = 1;
		return;
	}
	netaddr_string(peer, s->addr, sizeof(s->addr));
	for (i = 0; i < cfg->relay_networks.n; i++) {
		struct cidr c;
		if (cidr_parse(cfg->relay_networks.v[i], &c) == 0 &&
		    cidr_match(&c, peer))
			s->trusted = 1;
	}
	if (cfg->client_name_lookup &&
	    mx_client_name(cfg, peer, s->name, sizeof(s->name)) == -1)
		snprintf(s->name, sizeof(s->name), "unknown");
}

int
smtp_session_run(const struct config *cfg, int fd, const struct sockaddr *peer,
    long uid)
{
	struct smtp_session *s;
	char	*line;
	ssize_t	 n;
	int	 toolong;

	if ((s = malloc(sizeof(*s))) == NULL)
		return 1;
	/* Non-blocking: iobuf polls with the idle timeout only when idle. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	session_init(s, cfg, fd, peer, uid);
	log_info("connect from %s[%s]", s->name, s->addr);
	reply(s, "220 %s ESMTP tern", cfg->hostname);
	while (s->state != SMTP_QUIT) {
		if (s->errors >= cfg->max_errors) {
			reply(s, "421 4.7.0 %s Error: too many errors",
			    cfg->hostname);
			log_info("too many errors from %s[%s]", s->name,
			    s->addr);
			break;
		}
		n = iobuf_getline(&s->io, CMD_LINE_MAX, &line, &toolong);
		if (n == -1) {
			session_log_lost(s);
			break;
		}
		if (toolong) {
			reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (session_command(s, line, (size_t)n) == -1) {
			session_log_lost(s);
			break;
		}
	}
	iobuf_flush(&s->io);
	session_log_disconnect(s);
	transaction_reset(s);
	envelope_free(&s->env);
	free(s);
	return 0;
}
