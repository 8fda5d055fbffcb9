/* SPDX-License-Identifier: ISC */
/*
 * tls.c - the OpenSSL 3 glue behind tls.h, and the stubs of the TLS=no
 * build.  No cryptography here: contexts, handshakes with a deadline,
 * reads and writes that say what to wait for, and the words the log and
 * Received: use.
 *
 * Choices: TLS 1.2 and 1.3 only, no renegotiation, no compression.  The
 * server keeps no session cache (each smtpd is its own process, so a cache
 * would never be hit); it resumes with stateless session tickets, whose
 * key ternd's context holds for all its children.  SSL_MODE_RELEASE_BUFFERS
 * frees the record buffers of an idle session.  An EOF without
 * close_notify is an ordinary end: SMTP has its own end (QUIT, the dot).
 * The client never lets OpenSSL refuse a certificate: it finishes the
 * handshake, then checks what the caller asked for (tls_client_opts), so
 * the reason is its own ("certificate has expired") and not "handshake
 * failure".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tls.h"

#ifdef TERN_TLS

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_ctx {
	SSL_CTX	*ctx;
};

struct tls {
	SSL	*ssl;
};

int
tls_built_in(void)
{
	return 1;
}

const char *
tls_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/* The first error on OpenSSL's queue, after what, into err. */
static void
tls_error(char *err, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *r;

	if (e == 0)
		snprintf(err, len, "%s", what);
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(err, len, "%s: %s", what, r);
	else
		snprintf(err, len, "%s: error %lx", what, e);
	ERR_clear_error();
}

static SSL_CTX *
ctx_common(const SSL_METHOD *method)
{
	SSL_CTX	*c;

	if ((c = SSL_CTX_new(method)) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return c;
}

struct tls_ctx *
tls_server_ctx(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	struct tls_ctx *t;
	SSL_CTX	*c;

	ERR_clear_error();
	if ((c = ctx_common(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(c, (const unsigned char *)"tern", 4);
	if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
		tls_error(err, errlen, cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_error(err, errlen, key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		tls_error(err, errlen, "the key does not match the certificate");
		goto fail;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->ctx = c;
	return t;
fail:
	SSL_CTX_free(c);
	return NULL;
}

struct tls_ctx *
tls_client_ctx(const char *ca_path, char *err, size_t errlen)
{
	struct tls_ctx *t;
	struct stat st;
	SSL_CTX	*c;
	int	 dir;

	ERR_clear_error();
	if ((c = ctx_common(TLS_client_method())) == NULL) {
		tls_error(err, errlen, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(c) <= 0) {
		tls_error(err, errlen, "cannot enable DANE");
		goto fail;
	}
	/* A missing store is not an error until a check needs it. */
	if (ca_path != NULL && ca_path[0] != '\0' && stat(ca_path, &st) == 0) {
		dir = S_ISDIR(st.st_mode);
		if (SSL_CTX_load_verify_locations(c, dir ? NULL : ca_path,
		    dir ? ca_path : NULL) != 1) {
			tls_error(err, errlen, ca_path);
			goto fail;
		}
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->ctx = c;
	return t;
fail:
	SSL_CTX_free(c);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* Milliseconds of CLOCK_MONOTONIC (iobuf has its own: tls.c is below it). */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run SSL_accept or SSL_connect to the end, waiting with poll(2). */
static int
handshake(SSL *ssl, int fd, int server, int timeout_ms, char *err,
    size_t errlen)
{
	long long deadline = now_ms() + timeout_ms, left;
	struct pollfd pfd;
	int	 r, e, n;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
			if (ERR_peek_error() != 0)
				tls_error(err, errlen, "handshake failed");
			else
				snprintf(err, errlen, "connection lost in the "
				    "TLS handshake%s%s", errno ? ": " : "",
				    errno ? strerror(errno) : "");
			return -1;
		} else {
			tls_error(err, errlen, "handshake failed");
			return -1;
		}
		pfd.fd = fd;
		do {
			if ((left = deadline - now_ms()) <= 0) {
				snprintf(err, errlen, "timeout in the TLS "
				    "handshake");
				return -1;
			}
			n = poll(&pfd, 1, (int)left);
		} while (n == -1 && errno == EINTR);
		if (n == 0) {
			snprintf(err, errlen, "timeout in the TLS handshake");
			return -1;
		}
		if (n == -1) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static struct tls *
tls_new(struct tls_ctx *c, int fd, char *err, size_t errlen)
{
	struct tls *t;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	if ((t->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		tls_error(err, errlen, "cannot start TLS");
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	return t;
}

static void
tls_free(struct tls *t)
{
	SSL_free(t->ssl);
	free(t);
}

struct tls *
tls_accept(struct tls_ctx *c, int fd, int timeout_ms, char *err,
    size_t errlen)
{
	struct tls *t;

	if ((t = tls_new(c, fd, err, errlen)) == NULL)
		return NULL;
	if (handshake(t->ssl, fd, 1, timeout_ms, err, errlen) == -1) {
		tls_free(t);
		return NULL;
	}
	return t;
}

/* Give the connection what opts asks it to check; -1 with err. */
static int
client_setup(SSL *ssl, const struct tls_client_opts *o, char *err,
    size_t errlen)
{
	size_t	 i, usable = 0;
	const struct tls_tlsa *r;

	if (o->sni != NULL && o->sni[0] != '\0' &&
	    SSL_set_tlsext_host_name(ssl, o->sni) != 1) {
		tls_error(err, errlen, "cannot set the server name");
		return -1;
	}
	if (o->check == TLS_CHECK_CA) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, o->verify_name) != 1) {
			tls_error(err, errlen, "cannot set the name to verify");
			return -1;
		}
	} else if (o->check == TLS_CHECK_DANE) {
		if (SSL_dane_enable(ssl, o->verify_name) <= 0) {
			tls_error(err, errlen, "cannot enable DANE");
			return -1;
		}
		/* RFC 7672 3.1.3: an EE record's name is not checked */
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (i = 0; i < o->ntlsa; i++) {
			r = &o->tlsa[i];
			/* RFC 7672 3.1.3: PKIX-TA(0), PKIX-EE(1) unusable */
			if (r->usage < 2)
				continue;
			if (SSL_dane_tlsa_add(ssl, r->usage, r->selector,
			    r->mtype, r->data, r->len) > 0)
				usable++;
			ERR_clear_error();
		}
		if (usable == 0) {
			snprintf(err, errlen, "no usable TLSA records");
			return -1;
		}
	}
	return 0;
}

struct tls *
tls_connect(struct tls_ctx *c, int fd, const struct tls_client_opts *o,
    int timeout_ms, int *checkfail, char *err, size_t errlen)
{
	struct tls *t;
	long	 v;

	*checkfail = 0;
	if ((t = tls_new(c, fd, err, errlen)) == NULL)
		return NULL;
	if (client_setup(t->ssl, o, err, errlen) == -1) {
		*checkfail = 1;
		tls_free(t);
		return NULL;
	}
	if (handshake(t->ssl, fd, 0, timeout_ms, err, errlen) == -1) {
		tls_free(t);
		return NULL;
	}
	if (o->check != TLS_CHECK_NONE &&
	    (v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		snprintf(err, errlen, "%s verification failed: %s",
		    o->check == TLS_CHECK_DANE ? "DANE" : "certificate",
		    X509_verify_cert_error_string(v));
		*checkfail = 1;
		tls_close(t);
		return NULL;
	}
	if (o->check == TLS_CHECK_DANE &&
	    SSL_get0_dane_authority(t->ssl, NULL, NULL) < 0) {
		snprintf(err, errlen, "DANE verification failed: no TLSA "
		    "record matched");
		*checkfail = 1;
		tls_close(t);
		return NULL;
	}
	return t;
}

static ssize_t
io_result(struct tls *t, int r, short *want)
{
	*want = 0;
	if (r > 0)
		return r;
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0)
			return 0;
		/* FALLTHROUGH */
	default:
		ERR_clear_error();
		if (errno == 0)
			errno = EPROTO;
		return -1;
	}
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len, short *want)
{
	int	 n = len > 0x40000000 ? 0x40000000 : (int)len;

	ERR_clear_error();
	errno = 0;
	return io_result(t, SSL_read(t->ssl, buf, n), want);
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len, short *want)
{
	int	 n = len > 0x40000000 ? 0x40000000 : (int)len;
	ssize_t	 r;

	ERR_clear_error();
	errno = 0;
	r = io_result(t, SSL_write(t->ssl, buf, n), want);
	return r == 0 ? -1 : r;		/* a write never "ends" */
}

void
tls_close(struct tls *t)
{
	if (t == NULL)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
	tls_free(t);
}

const char *
tls_protocol(const struct tls *t)
{
	return SSL_get_version(t->ssl);
}

void
tls_describe(const struct tls *t, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
	int	 alg = 0, bits;

	bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;
	snprintf(buf, len, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(t->ssl), c ? SSL_CIPHER_get_name(c) : "none",
	    bits, alg);
}

int
tls_resumed(const struct tls *t)
{
	return SSL_session_reused(t->ssl) == 1;
}

#else /* !TERN_TLS: the dependency-free build */

#define NOT_BUILT_IN	"TLS is not built in (this tern was built with TLS=no)"

int
tls_built_in(void)
{
	return 0;
}

const char *
tls_library(void)
{
	return "not built in";
}

struct tls_ctx *
tls_server_ctx(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	(void)cert_file;
	(void)key_file;
	snprintf(err, errlen, NOT_BUILT_IN);
	return NULL;
}

struct tls_ctx *
tls_client_ctx(const char *ca_path, char *err, size_t errlen)
{
	(void)ca_path;
	snprintf(err, errlen, NOT_BUILT_IN);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	(void)t;
}

struct tls *
tls_accept(struct tls_ctx *c, int fd, int timeout_ms, char *err,
    size_t errlen)
{
	(void)c;
	(void)fd;
	(void)timeout_ms;
	snprintf(err, errlen, NOT_BUILT_IN);
	return NULL;
}

struct tls *
tls_connect(struct tls_ctx *c, int fd, const struct tls_client_opts *o,
    int timeout_ms, int *checkfail, char *err, size_t errlen)
{
	(void)c;
	(void)fd;
	(void)o;
	(void)timeout_ms;
	*checkfail = 0;
	snprintf(err, errlen, NOT_BUILT_IN);
	return NULL;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len, short *want)
{
	(void)t;
	(void)buf;
	(void)len;
	*want = 0;
	errno = ENOSYS;
	return -1;
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len, short *want)
{
	(void)t;
	(void)buf;
	(void)len;
	*want = 0;
	errno = ENOSYS;
	return -1;
}

void
tls_close(struct tls *t)
{
	(void)t;
}

const char *
tls_protocol(const struct tls *t)
{
	(void)t;
	return "none";
}

void
tls_describe(const struct tls *t, char *buf, size_t len)
{
	(void)t;
	snprintf(buf, len, "none");
}

int
tls_resumed(const struct tls *t)
{
	(void)t;
	return 0;
}

#endif /* TERN_TLS */
