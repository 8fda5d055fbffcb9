/* SPDX-License-Identifier: ISC */
/*
 * remote_priv.h - the SMTP client's state, shared by remote.c (the
 * delivery logic) and remote_io.c (connect, commands, replies, body).
 * Private to those two files; everybody else uses delivery.h.
 */
#ifndef TERN_REMOTE_PRIV_H
#define TERN_REMOTE_PRIV_H

#include <sys/socket.h>
#include <stdio.h>

#include "mx.h"
#include "relayauth.h"

struct config;
struct delivery_result;
struct iobuf;
struct longline;
struct message;
struct tls;
struct tls_ctx;
struct transport_route;

#define EXT_PIPELINING	0x01
#define EXT_SIZE	0x02
#define EXT_8BITMIME	0x04
#define EXT_SMTPUTF8	0x08
#define EXT_DSN		0x10
#define EXT_STARTTLS	0x20
#define EXT_AUTH_PLAIN	0x40
#define EXT_AUTH_LOGIN	0x80

struct reply {
	int	 code;
	char	 text[2048];		/* lines after the code, '\n' between */
	char	 line[512];		/* "250 first second", for results */
	char	 dsn[16];
};

struct remote {
	const struct config *conf;
	const char	*domain;
	int		 result_fd;
	struct message	*msgs;
	size_t		 nmsgs;
	/* the limits of one attempt (smtp_mx_*_limit, smtp_attempt_timeout) */
	long long	 deadline_ms;		/* iobuf_now_ms() */
	long long	 naddrs;		/* addresses tried */
	long long	 nsessions;		/* connections made */
	int		 spent;			/* a limit was reached */
	int		 throttled;		/* told to slow down */
	/* TLS and login (remote_tls.c) */
	const struct transport_route *route;
	struct tls_ctx	*tls_ctx;		/* NULL: no TLS possible */
	char		 tls_ctx_err[256];	/* why not */
	int		 tls_need;		/* TLS or no mail: the reason */
	int		 login;			/* relayhost_auth_file entry */
	char		 user[RELAYAUTH_FIELD_MAX];
	char		 pass[RELAYAUTH_FIELD_MAX];
	struct mx_tlsa	 tlsa[MX_TLSA_MAX];	/* DANE: the current host's */
	size_t		 ntlsa;
	int		 mx_secure;		/* the MX answer had AD */
	struct tls	*tls;			/* the current connection's */
	char		 tls_proto[16];		/* "TLSv1.3", "none" */
	char		 last_tls[16];		/* of the last failure */
	/* the current connection */
	struct iobuf	*io;
	char		 relay[MX_NAME_MAX + 80];	/* host[addr]:port */
	unsigned int	 ext;
	long long	 size_max;
	/* for recipients still undecided at the end */
	char		 last_dsn[16];
	char		 last_reply[512];
	char		 last_relay[MX_NAME_MAX + 80];
};

/* remote_fail_conn - remember a connection-level error for the end */
void	remote_fail_conn(struct remote *r, const char *dsn, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* remote_read_reply - one whole reply; -1 on a connection-level failure */
int	remote_read_reply(struct remote *r, struct reply *rp,
	    const char *stage);
/* remote_command - send one command line and read its reply */
int	remote_command(struct remote *r, struct reply *rp, const char *stage,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* remote_connect - non-blocking connect with connect_timeout; fd or -1 */
int	remote_connect(struct remote *r, const struct sockaddr_storage *ss);
/*
 * remote_reencode_plan - *ll stays NULL when every line of the message
 * (at offset body) fits in 998 octets; else it is set up (longline.h)
 * and *size is the length of the re-encoded message.  -1 with a reason,
 * *permanent when the message cannot be re-encoded at all.
 */
int	remote_reencode_plan(FILE *fp, long body, struct longline **ll,
	    long long *size, char *err, size_t errlen, int *permanent);
/* remote_send_body - dot-stuffed message and end of data; -1, -2 */
int	remote_send_body(struct remote *r, FILE *fp, long body,
	    struct longline *ll);
/*
 * remote_end_data - the end of data and its reply in rp: 0; 1 when rp
 * came before the end of data, which then was not sent; -1 when the
 * connection failed (recorded)
 */
int	remote_end_data(struct remote *r, struct reply *rp);
/* remote_result - the result for one recipient, as the agent reports it
 * (a temporary failure always gets a 4.X.X status) */
void	remote_result(struct delivery_result *res, const char *id,
	    size_t index, int status, const char *dsn, const char *relay,
	    const char *reply);

/* remote_tls.c */
enum remote_tls_rc { RTLS_OK, RTLS_FAIL, RTLS_RETRY_PLAIN };
/* remote_tls_setup - the context and the login, once per agent; -1 */
int	remote_tls_setup(struct remote *r);
void	remote_tls_free(struct remote *r);
/* remote_dane_host - TLSA records of host when smtp_dane; -1: skip it */
int	remote_dane_host(struct remote *r, const char *host);
/* remote_tls_implicit - port 465: the handshake before the greeting */
int	remote_tls_implicit(const struct remote *,
	    const struct sockaddr_storage *);
/* remote_tls_handshake - TLS on the connection now: enum remote_tls_rc */
int	remote_tls_handshake(struct remote *r, const char *host);
/*
 * remote_starttls - after EHLO: STARTTLS when offered and wanted (and
 * EHLO again), or a deferral when TLS is required; plain: the retry
 * without TLS.  enum remote_tls_rc; the caller re-reads the extensions.
 */
int	remote_starttls(struct remote *r, const char *host, int plain,
	    int *again);
/* remote_login - AUTH PLAIN or LOGIN under TLS when r->login; -1 */
int	remote_login(struct remote *r);
/* remote_tls_end - close the current connection's TLS */
void	remote_tls_end(struct remote *r);

#endif
