/* SPDX-License-Identifier: ISC */
/*
 * tls.h - TLS for the SMTP server and client, on OpenSSL 3.
 *
 * src/lib/tls.c is the one file that includes OpenSSL's headers (with
 * ternd -V, which prints its version).  Built with `make TLS=no`, every
 * function here still exists: the contexts cannot be made (NULL, with
 * "TLS is not built in" in err), so nothing else needs an #ifdef.
 *
 * A context is an SSL_CTX.  The server's holds the certificate chain and
 * the key; ternd makes it as root before it forks, so the key file may be
 * 0600 root, and every smtpd inherits it (and its session ticket key, so
 * a client resumes with any worker).  A connection is made on a socket
 * that may be non-blocking: the handshake waits with poll(2) up to its
 * timeout, and tls_read/tls_write say what to wait for (POLLIN or
 * POLLOUT in *want) when they cannot go on; iobuf does the waiting.
 * Protocols: TLS 1.2 and 1.3 only.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls;

/* A TLSA record (RFC 6698) for DANE (RFC 7672). */
struct tls_tlsa {
	unsigned char	 usage, selector, mtype;
	unsigned char	*data;
	size_t		 len;
};

/* How a client checks the server. */
enum tls_check {
	TLS_CHECK_NONE,		/* encrypt only ("may", "encrypt") */
	TLS_CHECK_CA,		/* chain to the CA store and name the host */
	TLS_CHECK_DANE		/* match one of the TLSA records */
};

struct tls_client_opts {
	const char		*sni;		/* server name sent; NULL none */
	int			 check;		/* enum tls_check */
	const char		*verify_name;	/* CA: the name to match */
	const struct tls_tlsa	*tlsa;		/* DANE: the records */
	size_t			 ntlsa;
};

/* 1 when TLS is built in. */
int	tls_built_in(void);
/* "OpenSSL 3.0.x ..." or "not built in". */
const char *tls_library(void);

/* tls_server_ctx - cert (a chain may follow the leaf) and key; NULL+err */
struct tls_ctx *tls_server_ctx(const char *cert_file, const char *key_file,
	    char *err, size_t errlen);
/*
 * tls_client_ctx - for the SMTP client; ca_path (a file or a hashed
 * directory, as /etc/ssl/certs) is the store TLS_CHECK_CA chains to.
 */
struct tls_ctx *tls_client_ctx(const char *ca_path, char *err, size_t errlen);
void	tls_ctx_free(struct tls_ctx *);

/*
 * tls_accept, tls_connect - the handshake on fd, within timeout_ms.
 * NULL on failure, with the reason in err.  tls_connect also fails when
 * opts->check is not met; *checkfail is then set (1), so the caller can
 * tell a refused certificate from a failed handshake.
 */
struct tls *tls_accept(struct tls_ctx *, int fd, int timeout_ms, char *err,
	    size_t errlen);
struct tls *tls_connect(struct tls_ctx *, int fd,
	    const struct tls_client_opts *, int timeout_ms, int *checkfail,
	    char *err, size_t errlen);

/*
 * tls_read, tls_write - like read(2) and write(2): > 0 bytes, 0 at the
 * end of the stream (read only), or -1 with *want set to POLLIN or
 * POLLOUT when it must wait, and to 0 on an error.
 */
ssize_t	tls_read(struct tls *, void *, size_t, short *want);
ssize_t	tls_write(struct tls *, const void *, size_t, short *want);
/* tls_close - send close_notify (without waiting) and free. */
void	tls_close(struct tls *);

/* "TLSv1.3" */
const char *tls_protocol(const struct tls *);
/*
 * tls_describe - as Postfix writes it in Received: and the log:
 * "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
 */
void	tls_describe(const struct tls *, char *buf, size_t len);
/* 1 if the session was resumed from a ticket */
int	tls_resumed(const struct tls *);

#endif
