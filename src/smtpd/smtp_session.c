/* SPDX-License-Identifier: ISC */
/*
 * smtp_session.c - the SMTP server state machine (RFC 5321).
 *
 * One enum of states and one command table, commands[], which says all
 * there is to say about a verb: the states it is legal in, the reply it
 * gets in a state it is not legal in (state_refused[] unless the entry
 * has its own, as MAIL and BDAT do), a check step and a proceed step, as
 * OpenSMTPD splits them (smtp_check_*, smtp_proceed_*).  The dispatcher
 * alone looks at the state: a check step parses and validates the
 * arguments (it replies and returns -1 when it refuses them; MAIL's
 * records its parameters in the new envelope), and a proceed step acts
 * and moves the state.  A refused BDAT still carries
 * its chunk, so its entry also has a refuse step that reads the chunk
 * first.  A step that must end the session (the connection failed)
 * moves to SMTP_QUIT.  The session counts each command by its entry, for
 * the disconnect log line.  The commands that carry a message, DATA and
 * BDAT, are in smtp_message.c; replies and state moves, which both
 * use, in smtp_state.c; the session struct, the states and the command
 * ids they share in smtp_session_priv.h.
 *
 * Extensions: PIPELINING (RFC 2920), SIZE (1870), 8BITMIME (6152),
 * ENHANCEDSTATUSCODES (2034, 3463), SMTPUTF8 (6531), DSN (3461),
 * CHUNKING (3030), ETRN (1985, trusted clients only), STARTTLS (3207,
 * when a certificate is set), AUTH (4954, on the submission ports only;
 * smtp_auth.c), and for local submitters only XMAILQ, the queue listing
 * (smtp_mailq.c).
 *
 * TLS (RFC 3207, RFC 8314): on port 465 the session starts with the
 * handshake; elsewhere STARTTLS starts it.  Its reply is flushed, then
 * every byte read ahead is thrown away (iobuf_starttls: a command
 * pipelined after STARTTLS in plaintext is never run, CVE-2011-0411),
 * and the session is as new: no name, no transaction, EHLO again.  The
 * handshake runs here, in the smtpd, as `user`: ternd only loaded the key.
 *
 * Relaying (DESIGN.md): a recipient is accepted when its domain is local
 * and the local part names a user or an alias, or when the client is
 * trusted (relay_networks, or a local submission).  A local part that
 * still routes ('%', '!', a quoted form) is never local for an untrusted
 * client, so no percent hack, bang path or quoted '@' relays.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "auth.h"
#include "config.h"
#include "envelope.h"
#include "iobuf.h"
#include "log.h"
#include "mx.h"
#include "netaddr.h"
#include "smtp_data.h"
#include "smtp_mailq.h"
#include "smtp_params.h"
#include "smtp_session.h"
#include "smtp_session_priv.h"
#include "spool.h"
#include "text.h"
#include "tls.h"
#include "valias.h"

/* The checker's answer about an account at RCPT time, at most. */
#define VIRTUAL_TIMEOUT_MS	10000

#define ANY	((1 << SMTP_INIT) | (1 << SMTP_READY) | (1 << SMTP_MAIL) | \
		    (1 << SMTP_RCPT) | (1 << SMTP_BDAT))
#define TRANSACTION	((1 << SMTP_MAIL) | (1 << SMTP_RCPT))

struct smtp_command {
	const char	*verb;
	unsigned int	 allowed;	/* bit (1 << state) for each state */
	/* the reply in a state it is not allowed in; NULL: the state's */
	const char	*refused[SMTP_NSTATES];
	/* NULL: any argument will do; else 0, or -1 with the reply sent */
	int		(*check)(struct smtp_session *, struct smtp_args *);
	void		(*proceed)(struct smtp_session *, struct smtp_args *);
	/* NULL: a refusal is the reply alone; else it replies itself */
	void		(*refuse)(struct smtp_session *, struct smtp_args *,
			    const char *why);
};

static int	check_helo(struct smtp_session *, struct smtp_args *);
static void	proceed_ehlo(struct smtp_session *, struct smtp_args *);
static void	proceed_helo(struct smtp_session *, struct smtp_args *);
static int	check_mail(struct smtp_session *, struct smtp_args *);
static void	proceed_mail(struct smtp_session *, struct smtp_args *);
static int	check_rcpt(struct smtp_session *, struct smtp_args *);
static void	proceed_rcpt(struct smtp_session *, struct smtp_args *);
static void	proceed_rset(struct smtp_session *, struct smtp_args *);
static void	proceed_noop(struct smtp_session *, struct smtp_args *);
static void	proceed_quit(struct smtp_session *, struct smtp_args *);
static int	check_vrfy(struct smtp_session *, struct smtp_args *);
static void	proceed_vrfy(struct smtp_session *, struct smtp_args *);
static void	proceed_help(struct smtp_session *, struct smtp_args *);
static int	check_etrn(struct smtp_session *, struct smtp_args *);
static void	proceed_etrn(struct smtp_session *, struct smtp_args *);
static int	check_xmailq(struct smtp_session *, struct smtp_args *);
static void	proceed_xmailq(struct smtp_session *, struct smtp_args *);
static int	check_starttls(struct smtp_session *, struct smtp_args *);
static void	proceed_starttls(struct smtp_session *, struct smtp_args *);

#define NO_MAIL_RCPT	"503 5.5.1 Error: need MAIL and RCPT first"
#define NESTED_MAIL	"503 5.5.1 Error: nested MAIL command"
#define IN_MAIL		"503 5.5.1 Error: MAIL transaction in progress"

/* The reply in a state that does not allow a command without its own. */
static const char *const state_refused[SMTP_NSTATES] = {
	[SMTP_INIT] = "503 5.5.1 Error: send HELO/EHLO first",
	[SMTP_READY] = "503 5.5.1 Error: need MAIL command",
	[SMTP_MAIL] = "503 5.5.1 Error: need RCPT command",
	[SMTP_RCPT] = "503 5.5.1 Error: need RCPT command",
	[SMTP_BDAT] = "503 5.5.1 Error: BDAT in progress",
};

/* verb, allowed states, own refusals; check, proceed, refuse steps */
static const struct smtp_command commands[] = {
	[SMTP_CMD_EHLO] = { "EHLO", ANY, { NULL },
	    check_helo, proceed_ehlo, NULL },
	[SMTP_CMD_HELO] = { "HELO", ANY, { NULL },
	    check_helo, proceed_helo, NULL },
	[SMTP_CMD_MAIL] = { "MAIL", 1 << SMTP_READY, { [SMTP_MAIL] =
	    NESTED_MAIL, [SMTP_RCPT] = NESTED_MAIL, [SMTP_BDAT] = NESTED_MAIL },
	    check_mail, proceed_mail, NULL },
	[SMTP_CMD_RCPT] = { "RCPT", TRANSACTION, { NULL },
	    check_rcpt, proceed_rcpt, NULL },
	[SMTP_CMD_DATA] = { "DATA", TRANSACTION, { NULL },
	    smtp_check_data, smtp_proceed_data, NULL },
	/* RFC 3030 2: a BDAT is read whatever the reply, even refused */
	[SMTP_CMD_BDAT] = { "BDAT", (1 << SMTP_RCPT) | (1 << SMTP_BDAT),
	    { [SMTP_INIT] = NO_MAIL_RCPT, [SMTP_READY] = NO_MAIL_RCPT,
	    [SMTP_MAIL] = SMTP_NO_RCPT },
	    smtp_check_bdat, smtp_proceed_bdat, smtp_refuse_bdat },
	[SMTP_CMD_RSET] = { "RSET", ANY, { NULL },
	    NULL, proceed_rset, NULL },
	[SMTP_CMD_NOOP] = { "NOOP", ANY, { NULL },
	    NULL, proceed_noop, NULL },
	[SMTP_CMD_QUIT] = { "QUIT", ANY, { NULL },
	    NULL, proceed_quit, NULL },
	[SMTP_CMD_VRFY] = { "VRFY", ANY, { NULL },
	    check_vrfy, proceed_vrfy, NULL },
	[SMTP_CMD_HELP] = { "HELP", ANY, { NULL },
	    NULL, proceed_help, NULL },
	[SMTP_CMD_ETRN] = { "ETRN", 1 << SMTP_READY, { NULL },
	    check_etrn, proceed_etrn, NULL },
	[SMTP_CMD_XMAILQ] = { "XMAILQ", (1 << SMTP_INIT) | (1 << SMTP_READY),
	    { NULL }, check_xmailq, proceed_xmailq, NULL },
	[SMTP_CMD_STARTTLS] = { "STARTTLS", 1 << SMTP_READY, { [SMTP_MAIL] =
	    IN_MAIL, [SMTP_RCPT] = IN_MAIL, [SMTP_BDAT] = IN_MAIL },
	    check_starttls, proceed_starttls, NULL },
	[SMTP_CMD_AUTH] = { "AUTH", 1 << SMTP_READY, { [SMTP_MAIL] = IN_MAIL,
	    [SMTP_RCPT] = IN_MAIL, [SMTP_BDAT] = IN_MAIL },
	    smtp_check_auth, smtp_proceed_auth, NULL },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))
_Static_assert(NCOMMANDS == SMTP_NCOMMANDS, "one table entry per command");

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
 * check_helo - the HELO/EHLO name (RFC 5321 4.1.1.1).  A control byte is
 * refused: it would go into the log, the envelope and the Received:
 * header.  Spaces and 8-bit bytes are kept as sent (RFC 6531 3.7.1
 * allows U-labels, and RFC 5321 4.1.4 does not let a server refuse mail
 * over the name).
 */
static int
check_helo(struct smtp_session *s, struct smtp_args *a)
{
	if (*a->text == '\0' || strlen(a->text) >= sizeof(s->helo)) {
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname", a->verb);
		return -1;
	}
	if (text_has_ctl(a->text)) {
		smtp_reply(s, "501 5.5.2 Error: control character in %s hostname",
		    a->verb);
		log_info("reject: %s from %s[%s]: 501 5.5.2 control character "
		    "in host name; helo=<%s>", a->verb, s->name, s->addr,
		    a->text);
		return -1;
	}
	return 0;
}

/* helo_common - a new greeting: a new name, and no transaction */
static void
helo_common(struct smtp_session *s, const char *name, int esmtp)
{
	snprintf(s->helo, sizeof(s->helo), "%s", name);
	s->esmtp = esmtp;
	smtp_transaction_reset(s);
	smtp_set_state(s, SMTP_READY);
}

static void
proceed_ehlo(struct smtp_session *s, struct smtp_args *a)
{
	helo_common(s, a->text, 1);
	smtp_reply(s, "250-%s", s->cfg->hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %lld", s->cfg->max_message_size);
	if (s->ctx->tls != NULL && s->tls == NULL)
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s))
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	if (etrn_allowed(s))
		smtp_reply(s, "250-ETRN");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-DSN");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250 CHUNKING");
}

static void
proceed_helo(struct smtp_session *s, struct smtp_args *a)
{
	helo_common(s, a->text, 0);
	smtp_reply(s, "250 %s", s->cfg->hostname);
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

/* check_mail - the sender and its parameters, which go into s->env */
static int
check_mail(struct smtp_session *s, struct smtp_args *a)
{
	char	 qualified[CMD_LINE_MAX + 256], *p, *key, *value;
	const char *end, *why;

	if (smtp_auth_required(s))
		return -1;
	if ((p = skip_keyword(a->text, "FROM:")) == NULL) {
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return -1;
	}
	p = qualify_local(s, p, qualified, sizeof(qualified));
	/* SMTPUTF8 may follow the path; look for it before parsing. */
	if (strcasestr(p, " SMTPUTF8") != NULL)
		s->env.smtputf8 = 1;
	if (addr_parse_path(p, ADDR_ALLOW_NULL | (s->env.smtputf8 ? ADDR_UTF8 :
	    0), a->addr, sizeof(a->addr), &end, &why) == -1) {
		s->env.smtputf8 = 0;
		if (needs_smtputf8(s, p, ADDR_ALLOW_NULL))
			smtp_reply(s, "553 5.6.7 Sender address is UTF-8: "
			    "MAIL FROM needs the SMTPUTF8 parameter");
		else
			smtp_reply(s, "501 5.1.7 Bad sender address syntax: %s",
			    why);
		return -1;
	}
	p += end - p;
	if (*p != '\0' && *p != ' ') {
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
		return -1;
	}
	while ((key = smtp_param_next(&p, &value)) != NULL) {
		if (smtp_mail_param(&s->env, &s->declared_size, key, value) == -1) {
			smtp_reply(s, "555 5.5.4 Unsupported or bad parameter: %s",
			    key);
			smtp_transaction_reset(s);
			return -1;
		}
	}
	if (s->declared_size > s->cfg->max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, "MAIL", "552 5.3.4 Message size exceeds fixed "
		    "limit", NULL);
		smtp_transaction_reset(s);
		return -1;
	}
	/* Postfix's queue_minfree: refuse now what could not be stored. */
	if (!spool_has_room(s->cfg->spool_dir, s->cfg->queue_minfree,
	    s->declared_size)) {
		smtp_reply(s, "%s", SMTP_NO_STORAGE);
		log_reject(s, "MAIL", SMTP_NO_STORAGE, NULL);
		smtp_transaction_reset(s);
		return -1;
	}
	return smtp_auth_owns_sender(s, a->addr);
}

static void
proceed_mail(struct smtp_session *s, struct smtp_args *a)
{
	snprintf(s->env.sender, sizeof(s->env.sender), "%s", a->addr);
	smtp_set_state(s, SMTP_MAIL);
	smtp_reply(s, "250 2.1.0 Ok");
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

/*
 * virtual_exists - an address of a virtual domain: an entry (exact or
 * catch-all) of virtual_aliases, or an account the checker knows.  -1:
 * cannot tell now.
 */
static int
virtual_exists(const struct smtp_session *s, const char *addr)
{
	struct auth_account acct;
	char	 lower[ADDR_MAX], base[ADDR_MAX], *p;
	int	 r;

	if ((r = valias_exists(s->cfg, addr)) != 0)
		return r;
	snprintf(lower, sizeof(lower), "%s", addr);
	for (p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((r = auth_lookup(s->ctx->auth_fd, lower, &acct,
	    VIRTUAL_TIMEOUT_MS)) != 0 ||
	    valias_base(lower, s->cfg->recipient_delimiter[0], base,
	    sizeof(base)) == -1)
		return r;
	/* bob+tag@: bob's entry or account (valias.h) */
	if ((r = valias_exists(s->cfg, base)) != 0)
		return r;
	return auth_lookup(s->ctx->auth_fd, base, &acct, VIRTUAL_TIMEOUT_MS);
}

/* Check one recipient; replies itself and returns 0 if refused. */
static int
rcpt_allowed(struct smtp_session *s, const char *addr)
{
	const char *domain = addr_domain(addr);
	char	 why[ADDR_MAX + 128];
	int	 r, virt = config_is_virtual_domain(s->cfg, domain);

	if ((!virt && !config_is_local_domain(s->cfg, domain)) ||
	    addr_has_routing(addr)) {
		if (s->trusted)
			return 1;
		snprintf(why, sizeof(why), "554 5.7.1 <%s>: Relay access "
		    "denied", addr);
		goto refuse;
	}
	if ((r = virt ? virtual_exists(s, addr) : local_exists(s, addr)) == 1)
		return 1;
	if (r == -1) {
		snprintf(why, sizeof(why), "451 4.3.0 <%s>: Temporary lookup "
		    "failure", addr);
		goto refuse;
	}
	snprintf(why, sizeof(why), "550 5.1.1 <%s>: Recipient address "
	    "rejected: User unknown in %s table", addr, virt ?
	    "virtual mailbox" : "local recipient");
refuse:
	smtp_reply(s, "%s", why);
	log_reject(s, "RCPT", why, addr);
	return 0;
}

/*
 * rcpt_path - the path of RCPT TO: into a->addr; *pp is left after it,
 * in a->text or in qualified (a bare local name, qualified).
 */
static int
rcpt_path(struct smtp_session *s, struct smtp_args *a, char *qualified,
    size_t len, char **pp)
{
	const char *end, *why;
	char	*p;

	if ((p = skip_keyword(a->text, "TO:")) == NULL) {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return -1;
	}
	if (strncasecmp(p, "<postmaster>", 12) != 0)
		p = qualify_local(s, p, qualified, len);
	if (strncasecmp(p, "<postmaster>", 12) == 0) {
		snprintf(a->addr, sizeof(a->addr), "postmaster@%s",
		    s->cfg->hostname);
		end = p + 12;
	} else if (addr_parse_path(p, s->env.smtputf8 ? ADDR_UTF8 : 0,
	    a->addr, sizeof(a->addr), &end, &why) == -1) {
		if (needs_smtputf8(s, p, 0))
			smtp_reply(s, "553 5.6.7 Recipient address is UTF-8: the "
			    "transaction needs SMTPUTF8 in MAIL FROM");
		else
			smtp_reply(s, "501 5.1.3 Bad recipient address syntax: %s",
			    why);
		return -1;
	}
	*pp = p + (end - p);
	return 0;
}

/* check_rcpt - the recipient, its parameters, and may it be used? */
static int
check_rcpt(struct smtp_session *s, struct smtp_args *a)
{
	char	 qualified[CMD_LINE_MAX + 256], *p, *key, *value;

	if (rcpt_path(s, a, qualified, sizeof(qualified), &p) == -1)
		return -1;
	if (*p != '\0' && *p != ' ') {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]");
		return -1;
	}
	while ((key = smtp_param_next(&p, &value)) != NULL) {
		if (smtp_rcpt_param(key, value, &a->notify, a->orcpt,
		    sizeof(a->orcpt)) == -1) {
			smtp_reply(s, "555 5.5.4 Unsupported or bad parameter: %s",
			    key);
			return -1;
		}
	}
	if (s->env.nrcpt >= (size_t)s->cfg->max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return -1;
	}
	return rcpt_allowed(s, a->addr) ? 0 : -1;
}

static void
proceed_rcpt(struct smtp_session *s, struct smtp_args *a)
{
	if (envelope_add_rcpt(&s->env, a->addr, a->notify, a->orcpt) == -1) {
		smtp_reply(s, "451 4.3.0 Error: out of memory");
		return;
	}
	smtp_set_state(s, SMTP_RCPT);
	smtp_reply(s, "250 2.1.5 Ok");
}

static void
proceed_rset(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_transaction_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
proceed_noop(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
proceed_quit(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_set_state(s, SMTP_QUIT);
}

static int
check_vrfy(struct smtp_session *s, struct smtp_args *a)
{
	if (*a->text != '\0')
		return 0;
	smtp_reply(s, "501 5.5.4 Syntax: VRFY address");
	return -1;
}

static void
proceed_vrfy(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and "
	    "attempt delivery");
}

static void
proceed_help(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
	    "NOOP QUIT VRFY HELP ETRN; see RFC 5321");
}

/*
 * check_etrn - ETRN (RFC 1985): trusted clients flush the queue for a
 * domain.  Local submitters (sendmail -q) may also say "ETRN *" for all,
 * or a queue id.  The queue runner does one rescan for a domain at a
 * time (queue.h).
 */
static int
check_etrn(struct smtp_session *s, struct smtp_args *a)
{
	char	 uid[32] = "";
	const char *d = a->text[0] == '@' ? a->text + 1 : a->text;

	if (!etrn_allowed(s)) {
		if (s->uid < 0)
			smtp_reply(s, "459 4.7.1 Error: ETRN not allowed for this "
			    "client");
		else
			smtp_reply(s, "459 4.7.1 Error: ETRN not allowed for this "
			    "user; only root and %s may flush the queue",
			    s->cfg->user);
		if (s->uid >= 0)
			snprintf(uid, sizeof(uid), ", uid=%ld", s->uid);
		log_info("reject: ETRN from %s[%s]%s: 459 4.7.1 not allowed",
		    s->name, s->addr, uid);
		return -1;
	}
	if (!strcmp(a->text, "*"))
		snprintf(a->trigger, sizeof(a->trigger), "flush\n");
	else if (s->uid >= 0 && queueid_valid(a->text))
		snprintf(a->trigger, sizeof(a->trigger), "flush %s\n", a->text);
	else if (addr_is_valid_domain(d, 0))
		snprintf(a->trigger, sizeof(a->trigger), "flush @%s\n", d);
	else {
		smtp_reply(s, "501 5.5.4 Syntax: ETRN domain");
		return -1;
	}
	return 0;
}

static void
proceed_etrn(struct smtp_session *s, struct smtp_args *a)
{
	spool_trigger(s->cfg->spool_dir, a->trigger);
	smtp_reply(s, "250 2.0.0 Queuing started");
}

/* check_xmailq - XMAILQ is for a local user only; TCP never sees it */
static int
check_xmailq(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	if (s->uid >= 0)
		return 0;
	smtp_reply(s, "500 5.5.2 Error: command not recognized");
	return -1;
}

static void
proceed_xmailq(struct smtp_session *s, struct smtp_args *a)
{
	char	 why[256];

	if (smtp_mailq(s->cfg, s->uid, a->text, &s->io, why,
	    sizeof(why)) == 0)
		return;
	if (why[0] == '\0')
		smtp_set_state(s, SMTP_QUIT);	/* a listing broke off */
	else
		smtp_reply(s, "%s", why);
}

static int
check_starttls(struct smtp_session *s, struct smtp_args *a)
{
	if (s->ctx->tls == NULL) {
		smtp_reply(s, "502 5.5.1 Error: command not implemented");
		return -1;
	}
	if (s->tls != NULL) {
		smtp_reply(s, "554 5.5.1 Error: TLS already active");
		return -1;
	}
	if (*a->text != '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return -1;
	}
	return 0;
}

/*
 * tls_start - the handshake on the session's socket; then the session
 * is as new.  A failed handshake ends the session: the stream is lost.
 */
static int
tls_start(struct smtp_session *s)
{
	char	 err[256];
	size_t	 dropped;

	dropped = iobuf_starttls(&s->io, NULL);
	if (dropped > 0)
		log_info("%s[%s]: %zu byte%s sent after STARTTLS in plaintext "
		    "thrown away", s->name, s->addr, dropped,
		    dropped == 1 ? "" : "s");
	if ((s->tls = tls_accept(s->ctx->tls, s->io.infd,
	    (int)(s->cfg->smtpd_timeout * 1000), err, sizeof(err))) == NULL) {
		log_info("SSL_accept error from %s[%s]: %s", s->name, s->addr,
		    err);
		s->io.status = IOBUF_ERROR;
		smtp_set_state(s, SMTP_QUIT);
		return -1;
	}
	iobuf_starttls(&s->io, s->tls);
	tls_describe(s->tls, s->tls_desc, sizeof(s->tls_desc));
	log_info("%s TLS connection established from %s[%s]: %s",
	    tls_resumed(s->tls) ? "Reused" : "Anonymous", s->name, s->addr,
	    s->tls_desc);
	s->helo[0] = '\0';
	s->esmtp = 0;
	smtp_transaction_reset(s);
	smtp_set_state(s, SMTP_INIT);
	return 0;
}

static void
proceed_starttls(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (iobuf_flush(&s->io) == -1) {
		smtp_set_state(s, SMTP_QUIT);
		return;
	}
	tls_start(s);
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

/*
 * session_command - one command line: the table says whether the state
 * allows it; then its check step, and when that passes its proceed step.
 */
static void
session_command(struct smtp_session *s, char *line, size_t len)
{
	const struct smtp_command *c;
	struct smtp_args a;
	const char *why;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	if (memchr(line, '\0', len) != NULL) {
		smtp_reply(s, "500 5.5.2 Error: NUL character in command");
		return;
	}
	memset(&a, 0, sizeof(a));
	if ((c = command_find(line, &a.text)) == NULL) {
		smtp_reply(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	s->count[c - commands]++;
	s->count_all++;
	s->last = a.verb = c->verb;
	if (!(c->allowed & (1u << s->state))) {
		if ((why = c->refused[s->state]) == NULL)
			why = state_refused[s->state];
		if (c->refuse != NULL)
			c->refuse(s, &a, why);
		else
			smtp_reply(s, "%s", why);
	} else if (c->check == NULL || c->check(s, &a) == 0)
		c->proceed(s, &a);
}

/*
 * The client went away or timed out: named after the last command, as
 * Postfix does ("lost connection after RCPT", "timeout after DATA").
 */
static void
session_log_lost(struct smtp_session *s)
{
	if (s->io.status == IOBUF_TIMEOUT) {
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
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
	char	 buf[512], verb[16];
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
session_init(struct smtp_session *s, const struct config *cfg,
    const struct smtpd_ctx *ctx, int fd, const struct sockaddr *peer,
    long uid, int port)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->ctx = ctx;
	s->port = port;
	s->uid = uid;
	s->declared_size = -1;
	s->last = "CONNECT";
	envelope_init(&s->env);
	iobuf_init(&s->io, fd, fd, (int)(cfg->smtpd_timeout * 1000));
	s->io.stress_timeout_ms = (int)(cfg->smtpd_stress_timeout * 1000);
	snprintf(s->name, sizeof(s->name), "unknown");
	if (uid >= 0) {
		snprintf(s->addr, sizeof(s->addr), "local");
		snprintf(s->name, sizeof(s->name), "localhost");
		s->trusted = 1;
		return;
	}
	netaddr_string(peer, s->addr, sizeof(s->addr));
	s->loopback = netaddr_is_loopback(peer);
	s->trusted = netaddr_in_networks(&cfg->relay_networks, peer);
	if (cfg->client_name_lookup &&
	    mx_client_name(cfg, peer, s->name, sizeof(s->name)) == -1)
		snprintf(s->name, sizeof(s->name), "unknown");
}

int
smtp_session_run(const struct config *cfg, int fd, const struct sockaddr *peer,
    long uid)
{
	static const struct smtpd_ctx none = { NULL, -1 };

	return smtp_session_serve(cfg, &none, fd, peer, uid, SMTPD_PORT_MX);
}

static void
on_stress(int sig)
{
	(void)sig;
	iobuf_stress = 1;
}

/*
 * stress_setup - SIGUSR2 from the master says every session slot is
 * taken: from then on this session waits smtpd_stress_timeout, not
 * smtpd_timeout, for the client, and one already idle that long ends
 * with 421 at once (iobuf.h).  Each session starts unstressed.
 */
static void
stress_setup(void)
{
	struct sigaction sa;

	iobuf_stress = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stress;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);	/* no SA_RESTART: poll sees it */
}

int
smtp_session_serve(const struct config *cfg, const struct smtpd_ctx *ctx,
    int fd, const struct sockaddr *peer, long uid, int port)
{
	struct smtp_session *s;
	char	*line;
	ssize_t	 n;
	int	 toolong, one = 1;

	if ((s = malloc(sizeof(*s))) == NULL)
		return 1;
	/* Non-blocking: iobuf polls with the idle timeout only when idle. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/*
	 * No Nagle: iobuf already sends each batch of replies in one write,
	 * so Nagle could only hold a batch back.  It did after STARTTLS:
	 * the session tickets and the EHLO reply are two writes in a row,
	 * and the reply waited for the client's delayed ACK (40 ms).
	 * Harmless where fd is no TCP socket.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	stress_setup();
	session_init(s, cfg, ctx, fd, peer, uid, port);
	log_info("connect from %s[%s]", s->name, s->addr);
	if (port == SMTPD_PORT_SMTPS && (ctx->tls == NULL || tls_start(s) == -1))
		s->state = SMTP_QUIT;	/* RFC 8314 3.3: TLS first */
	else
		smtp_reply(s, "220 %s ESMTP tern", cfg->hostname);
	while (s->state != SMTP_QUIT) {
		if (s->errors >= cfg->max_errors) {
			smtp_reply(s, "421 4.7.0 %s Error: too many errors",
			    cfg->hostname);
			log_info("too many errors from %s[%s]", s->name,
			    s->addr);
			break;
		}
		if ((n = iobuf_getline(&s->io, AUTH_LINE_MAX, &line,
		    &toolong)) == -1)
			break;
		/* only AUTH may be longer than RFC 5321's 512 (RFC 4954 4) */
		if (!toolong && n > CMD_LINE_MAX && strncasecmp(line, "AUTH ",
		    5) != 0)
			toolong = 1;
		if (toolong)
			smtp_reply(s, "500 5.5.2 Error: line too long");
		else
			session_command(s, line, (size_t)n);
	}
	session_log_lost(s);
	iobuf_flush(&s->io);
	session_log_disconnect(s);
	smtp_transaction_reset(s);
	envelope_free(&s->env);
	tls_close(s->tls);
	explicit_bzero(s, sizeof(*s));	/* a password may be in io.in */
	free(s);
	return 0;
}
