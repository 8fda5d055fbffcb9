/* SPDX-License-Identifier: ISC */
/*
 * smtp_session_priv.h - one SMTP server session, as smtp_session.c (the
 * command table, the dispatcher, the commands), smtp_message.c (DATA
 * and BDAT: the queue file of a transaction) and smtp_state.c (replies
 * and state moves, which the other two call) share it.  Nothing else
 * includes it; the rest of tern sees smtp_session.h.
 *
 * The states, the commands (one slot each in count[], one entry each in
 * the table), the session, and what a check step hands its proceed
 * step.  smtp_reply() sends one reply line (and counts a 5xx as an
 * error); smtp_set_state() moves the state (logged at debug level);
 * smtp_transaction_reset() drops the transaction and its queue file.
 */
#ifndef TERN_SMTP_SESSION_PRIV_H
#define TERN_SMTP_SESSION_PRIV_H

#include "config.h"
#include "envelope.h"
#include "iobuf.h"
#include "smtp_data.h"
#include "queuefile.h"
#include "smtp_session.h"

#define SMTP_NO_RCPT	"554 5.5.1 Error: no valid recipients"
/* RFC 3463 4.3.1 (the spool is full) and 4.3.0 (another write error) */
#define SMTP_NO_STORAGE	"452 4.3.1 Insufficient system storage"
#define SMTP_WRITE_ERR	"451 4.3.0 Error: queue file write error"
#define CMD_LINE_MAX	512	/* RFC 5321 4.5.3.1.4, CRLF included */
#define AUTH_LINE_MAX	12288	/* RFC 4954 4, CRLF included */

enum smtp_state {
	SMTP_INIT,		/* greeted, no HELO/EHLO yet */
	SMTP_READY,		/* no transaction */
	SMTP_MAIL,		/* MAIL accepted */
	SMTP_RCPT,		/* at least one RCPT accepted */
	SMTP_BDAT,		/* inside a BDAT sequence */
	SMTP_QUIT,		/* the session ends */
	SMTP_NSTATES
};

/* The commands, in the order of the table in smtp_session.c. */
enum smtp_command_id {
	SMTP_CMD_EHLO,
	SMTP_CMD_HELO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_HELP,
	SMTP_CMD_ETRN,
	SMTP_CMD_XMAILQ,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_NCOMMANDS
};

/* A command's arguments: the text as sent, and what its check parsed. */
struct smtp_args {
	const char	*verb;
	char		*text;		/* after the verb and one space */
	char		 addr[ADDR_MAX];	/* MAIL, RCPT: the path */
	char		 orcpt[ADDR_MAX];	/* RCPT */
	int		 notify;		/* RCPT */
	long long	 len;			/* BDAT: the chunk size */
	int		 last;			/* BDAT: LAST */
	char		 trigger[300];		/* ETRN: for the queue runner */
};

struct smtp_session {
	const struct config *cfg;
	const struct smtpd_ctx *ctx;	/* TLS context, password checker */
	int		 port;		/* enum smtpd_port */
	struct iobuf	 io;
	struct tls	*tls;		/* NULL until TLS is up */
	char		 tls_desc[160];	/* "TLSv1.3 with cipher ..." */
	char		 auth_user[256];	/* "" until AUTH succeeded */
	const char	*auth_method;	/* "PLAIN", "LOGIN" */
	int		 auth_failures;
	int		 loopback;	/* the client is on 127/8 or ::1 */
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
	struct queuefile_new sf;		/* open while DATA/BDAT runs */
	int		 sf_open;
	struct msgwriter w;
	char		 msgid[128];
	char		 from_hdr[ADDR_MAX + 8];
	unsigned int	 count[SMTP_NCOMMANDS];	/* per command, for the log */
	unsigned int	 count_all;
	const char	*last;		/* last command, for "after X" logs */
};

/* smtp_state.c */
void	smtp_reply(struct smtp_session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtp_set_state(struct smtp_session *, enum smtp_state);
void	smtp_transaction_reset(struct smtp_session *);

/* smtp_message.c: the steps of DATA and BDAT */
int	smtp_check_data(struct smtp_session *, struct smtp_args *);
void	smtp_proceed_data(struct smtp_session *, struct smtp_args *);
int	smtp_check_bdat(struct smtp_session *, struct smtp_args *);
void	smtp_proceed_bdat(struct smtp_session *, struct smtp_args *);
void	smtp_refuse_bdat(struct smtp_session *, struct smtp_args *,
	    const char *why);

/* smtp_auth.c: AUTH (RFC 4954), and what the submission ports require */
int	smtp_check_auth(struct smtp_session *, struct smtp_args *);
void	smtp_proceed_auth(struct smtp_session *, struct smtp_args *);
int	smtp_auth_offered(const struct smtp_session *);
int	smtp_auth_required(struct smtp_session *);
int	smtp_auth_owns_sender(struct smtp_session *, const char *sender);

#endif
