/* SPDX-License-Identifier: ISC */
/*
 * pop3.h - the POP3 server (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS,
 * RFC 5034 AUTH PLAIN): two processes per session (tern(8)).
 *
 * The login process (pop3_login.c), forked by the master for each
 * connection on pop3_listen or pop3s_listen, runs as `user` from before
 * the first byte: AUTHORIZATION state only.  A password goes to the
 * password checker as an AUTH_REQ_POP3 request (auth.h) with one end of
 * a stream socket pair; on a right password the checker hands that end
 * to the master with a grant, and the master forks the mailbox process
 * (pop3_mailbox.c) as the account's owner, which serves TRANSACTION and
 * UPDATE on it.  The login process then relays bytes between the client
 * (plain or TLS) and its end, with the idle timeout.
 *
 * pop3_maildrop.c holds the pure parts: the Maildir scan, UIDLs, sizes,
 * the CRLF and dot-stuffing encoder and the command line parser.
 */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>

#include "config.h"

#define POP3_LINE_MAX	255	/* octets of a command line, CRLF included
				 * (RFC 2449 4) */
#define POP3_UIDL_MAX	70	/* octets of a unique-id (RFC 1939 7) */
/* The lock file of a maildrop, inside the Maildir (tern(8), POP3). */
#define POP3_LOCK_NAME	"tern-pop3.lock"

enum pop3_listener { POP3_PORT_PLAIN, POP3_PORT_TLS };

struct tls_ctx;

/* pop3_login_serve - one client connection, in the login process. */
int	pop3_login_serve(const struct config *, struct tls_ctx *, int auth_fd,
	    int fd, const struct sockaddr *peer, int port);
/*
 * pop3_mailbox_serve - the session after login, already as the owner:
 * lock, scan and serve the Maildir at path on fd.  Returns the exit code.
 */
int	pop3_mailbox_serve(const struct config *, int fd, const char *account,
	    const char *path);

/* One message of the maildrop, numbered from 1 in scan order. */
struct pop3_msg {
	char	*name;		/* "cur/BASE:2,FLAGS", relative to the dir */
	off_t	 size;		/* octets with CRLF line ends (RFC 1939) */
	int	 deleted;
	int	 seen;		/* RETR sent it whole: 'S' at UPDATE */
};

struct maildrop {
	int		 dirfd;
	int		 lockfd;
	struct pop3_msg	*msg;
	size_t		 n;
	size_t		 ndeleted;
	off_t		 size;		/* of the messages not deleted */
};

/*
 * maildrop_open - open the Maildir path, take its lock (flock(2) on
 * POP3_LOCK_NAME inside it), move new/ to cur/ (NAME -> NAME:2, as
 * Dovecot does) and scan cur/.  0, or -1 with errno (EWOULDBLOCK: the
 * lock is held by another session).
 */
int	maildrop_open(struct maildrop *, const char *path);
void	maildrop_close(struct maildrop *);
/* maildrop_fopen - open message i (0-based) for reading, following a
 * rename of its flags by another program; -1 ENOENT when it is gone. */
int	maildrop_fopen(struct maildrop *, size_t i);
/*
 * maildrop_commit - UPDATE: unlink the deleted messages, and give the
 * others that RETR sent the Seen flag (cur/NAME:2,S, as Dovecot does
 * unless pop3_no_flag_updates); how many could not be unlinked.
 */
size_t	maildrop_commit(struct maildrop *);
/*
 * maildrop_flag - name with flag added to its ":2," info, the flags kept
 * in ASCII order (Maildir): 1 and out filled, 0 the flag was there (or
 * the info is not ":2,"), -1 out is too small.
 */
int	maildrop_flag(const char *name, char flag, char *out, size_t outlen);

/* The unique-id of a Maildir file name: its base name, up to ':'. */
size_t	maildrop_uidl(const char *name, char *out, size_t outlen);
/* The size a file name announces (",W=" Dovecot's CRLF size), else -1. */
off_t	maildrop_name_size(const char *name);
/* CRLF octets of n bytes; *cr carries a CR that ended the last chunk. */
off_t	maildrop_crlf_size(const char *p, size_t n, int *cr);

/* The encoder of RETR and TOP: CRLF line ends and dot-stuffing. */
struct pop3_enc {
	int	 bol;		/* at the start of a line */
	int	 cr;		/* a CR is pending */
	int	 body;		/* past the header's blank line */
	long long lines;	/* TOP: body lines still to send; -1 all */
	int	 done;		/* TOP: enough lines */
};

void	pop3_enc_init(struct pop3_enc *, long long lines);
/* Encode n bytes into out, which holds at least 3 * n + 2: its length. */
size_t	pop3_enc_chunk(struct pop3_enc *, const char *in, size_t n,
	    char *out);
/* The end: a CRLF when the last line had none, then ".\r\n". */
size_t	pop3_enc_end(struct pop3_enc *, char *out);

/*
 * pop3_parse - split a command line (CRLF or LF already removed) into
 * the keyword, upper-cased in place, and its arguments: the count, or
 * -1 when a byte is a control byte or there are more than 2.
 */
int	pop3_parse(char *line, char **verb, char *arg[2]);
/* pop3_msgno - a message number "1".."max": the number, else 0. */
size_t	pop3_msgno(const char *s, size_t max);

struct iobuf;
/* pop3_reply - one response line, CRLF added. */
void	pop3_reply(struct iobuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* pop3_getline - iobuf_getline() with the CRLF (or LF) cut off and the
 * line NUL-ended: its length, or -1. */
ssize_t	pop3_getline(struct iobuf *, size_t max, char **line, int *toolong);

#endif
