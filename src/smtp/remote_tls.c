/* SPDX-License-Identifier: ISC */
/*
 * remote_tls.c - the SMTP client's TLS and login: STARTTLS (RFC 3207),
 * implicit TLS on port 465 (smtp_tls_implicit_port, RFC 8314), DANE
 * (RFC 7672) and AUTH PLAIN or LOGIN to the relayhost (RFC 4954).
 *
 * The level of a destination is route->tls (transport map, else
 * smtp_tls): none, may (STARTTLS when offered, no certificate check; a
 * failed handshake is retried once in plaintext on a new connection, by
 * remote.c), encrypt (TLS or defer), verify (a certificate chaining to
 * smtp_tls_ca_path and naming the host, or defer).  DANE, when the MX
 * and TLSA answers are DNSSEC-authenticated, and a relayhost login
 * require TLS too.  SNI is the host name connected to (never an
 * address).  What TLS cannot give (not offered, a refused certificate,
 * not built in) is a connection-level failure: the recipients wait for
 * the next host or the next attempt, and the reason is logged.
 *
 * Credentials come from relayhost_auth_file through relayauth.c (the
 * descriptor that ternd opened as root); they are read here, as `user`,
 * once per agent, and sent only over TLS, after EHLO has offered AUTH.
 * They are never logged, and are wiped from memory after use.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "config.h"
#include "iobuf.h"
#include "log.h"
#include "mx.h"
#include "netaddr.h"
#include "relayauth.h"
#include "remote_priv.h"
#include "tls.h"
#include "transport.h"

static const char *const levels[] = { "none", "may", "encrypt", "verify" };

/* remote_tls_need - why TLS is required on this connection, or NULL */
static const char *
remote_tls_need(const struct remote *r)
{
	if (r->ntlsa > 0)
		return "DANE TLSA records";
	if (r->route->tls >= CONFIG_TLS_ENCRYPT)
		return r->route->tls == CONFIG_TLS_VERIFY ? "TLS level verify"
		    : "TLS level encrypt";
	if (r->login)
		return "relayhost_auth_file login";
	return NULL;
}

/*
 * The client context, made once by the queue runner and inherited by
 * every agent it forks: SSL_CTX_new() costs some 2 ms in OpenSSL 3.0,
 * which every agent paid when each made its own (make bench, relay).
 * An agent only makes one when the runner could not.
 */
static struct tls_ctx *preloaded;

/* client_ctx - with the CA store, else without it (verify then fails) */
static struct tls_ctx *
client_ctx(const struct config *c, const char *who, char *err, size_t len)
{
	struct tls_ctx *t;

	if ((t = tls_client_ctx(c->smtp_tls_ca_path, err, len)) == NULL &&
	    tls_built_in()) {
		/* encryption needs no CA store; verify then fails, saying so */
		log_warnx("%s: smtp_tls_ca_path: %s; no certificate can be "
		    "verified", who, err);
		t = tls_client_ctx(NULL, err, len);
	}
	if (t == NULL && tls_built_in())
		log_warnx("%s: no TLS: %s", who, err);
	return t;
}

int
remote_tls_setup(struct remote *r)
{
	const struct config *c = r->conf;
	char	 err[256];
	int	 rc;

	snprintf(r->tls_proto, sizeof(r->tls_proto), "none");
	snprintf(r->last_tls, sizeof(r->last_tls), "none");
	if (strcmp(r->route->source, "relayhost") == 0 &&
	    c->relayhost_auth_file[0] != '\0') {
		rc = relayauth_lookup(r->route->host, r->route->port,
		    (int)c->remote_port, r->user, r->pass, err, sizeof(err));
		if (rc != 1) {
			remote_fail_conn(r, "4.7.0", "cannot log in to "
			    "relayhost [%s]:%d: %s", r->route->host,
			    r->route->port, rc == 0 ? "no entry for it in "
			    "relayhost_auth_file" : err);
			return -1;
		}
		r->login = 1;
	}
	if (r->route->tls == CONFIG_TLS_NONE && !r->login && !c->smtp_dane &&
	    r->route->port != c->smtp_tls_implicit_port)
		return 0;
	if (preloaded != NULL) {
		r->tls_ctx = preloaded;
		return 0;
	}
	r->tls_ctx = client_ctx(c, r->domain, r->tls_ctx_err,
	    sizeof(r->tls_ctx_err));
	return 0;
}

void
remote_tls_preload(const struct config *c)
{
	char	 err[256];

	tls_ctx_free(preloaded);
	preloaded = NULL;
	if (tls_built_in())
		preloaded = client_ctx(c, "queue", err, sizeof(err));
}

void
remote_tls_free(struct remote *r)
{
	if (r->tls_ctx != preloaded)
		tls_ctx_free(r->tls_ctx);
	r->tls_ctx = NULL;
	explicit_bzero(r->user, sizeof(r->user));
	explicit_bzero(r->pass, sizeof(r->pass));
}

/*
 * remote_dane_host - with smtp_dane, the TLSA records of host, kept when
 * both its MX answer (for an MX route) and the TLSA answer were
 * authenticated (RFC 7672 section 2.2).  A failed TLSA lookup of a
 * secure host skips the host (section 2.2.1): -1.
 */
int
remote_dane_host(struct remote *r, const char *host)
{
	char	 err[512];
	size_t	 n;
	int	 st, secure;

	r->ntlsa = 0;
	if (!r->conf->smtp_dane || r->tls_ctx == NULL ||
	    (r->route->kind == TRANSPORT_MX && !r->mx_secure))
		return 0;
	st = mx_tlsa(r->conf, host, r->route->port, r->tlsa, MX_TLSA_MAX, &n,
	    &secure, err, sizeof(err));
	if (st == MX_TEMPFAIL) {
		remote_fail_conn(r, "4.7.5", "TLSA lookup for host %s failed: "
		    "%s", host, err);
		return -1;
	}
	if (st == MX_OK && secure && n > 0) {
		r->ntlsa = n;
		log_debug("%s: %zu TLSA record(s) for %s: DANE", r->domain, n,
		    host);
	}
	return 0;
}

int
remote_tls_implicit(const struct remote *r, const struct sockaddr_storage *ss)
{
	return r->conf->smtp_tls_implicit_port > 0 &&
	    ntohs(((const struct sockaddr_in *)ss)->sin_port) ==
	    r->conf->smtp_tls_implicit_port;
}

int
remote_tls_handshake(struct remote *r, const char *host)
{
	struct sockaddr_storage ss;
	struct tls_client_opts o;
	struct tls_tlsa tlsa[MX_TLSA_MAX];
	const char *need = remote_tls_need(r);
	char	 err[512], desc[160];
	long long left;
	size_t	 i;
	int	 checkfail;

	memset(&o, 0, sizeof(o));
	o.sni = netaddr_parse_literal(host, 0, &ss) == 0 ? NULL : host;
	o.verify_name = host;
	if (r->ntlsa > 0) {
		for (i = 0; i < r->ntlsa; i++) {
			tlsa[i].usage = r->tlsa[i].usage;
			tlsa[i].selector = r->tlsa[i].selector;
			tlsa[i].mtype = r->tlsa[i].mtype;
			tlsa[i].data = r->tlsa[i].data;
			tlsa[i].len = r->tlsa[i].len;
		}
		o.check = TLS_CHECK_DANE;
		o.tlsa = tlsa;
		o.ntlsa = r->ntlsa;
	} else if (r->route->tls == CONFIG_TLS_VERIFY)
		o.check = TLS_CHECK_CA;
	left = r->deadline_ms - iobuf_now_ms();
	if (left > r->conf->smtp_timeout * 1000)
		left = r->conf->smtp_timeout * 1000;
	if (iobuf_flush(r->io) == -1) {
		remote_fail_conn(r, "4.4.2", "lost connection with %s while "
		    "starting TLS", r->relay);
		return RTLS_FAIL;
	}
	r->tls = tls_connect(r->tls_ctx, r->io->infd, &o,
	    left > 0 ? (int)left : 1, &checkfail, err, sizeof(err));
	if (r->tls == NULL && checkfail) {
		remote_fail_conn(r, "4.7.5", "TLS with host %s refused: %s "
		    "(%s)", r->relay, err, o.check == TLS_CHECK_DANE ? "DANE" :
		    levels[r->route->tls]);
		return RTLS_FAIL;
	}
	if (r->tls == NULL) {
		remote_fail_conn(r, "4.7.5", "TLS handshake with host %s "
		    "failed: %s", r->relay, err);
		return need != NULL ? RTLS_FAIL : RTLS_RETRY_PLAIN;
	}
	iobuf_starttls(r->io, r->tls);
	snprintf(r->tls_proto, sizeof(r->tls_proto), "%s",
	    tls_protocol(r->tls));
	tls_describe(r->tls, desc, sizeof(desc));
	log_info("%s: TLS with host %s: %s, %s", r->domain, r->relay, desc,
	    o.check == TLS_CHECK_DANE ? "DANE verified" :
	    o.check == TLS_CHECK_CA ? "certificate verified" :
	    "certificate not verified");
	return RTLS_OK;
}

int
remote_starttls(struct remote *r, const char *host, int plain, int *again)
{
	struct reply rp;
	const char *need = remote_tls_need(r);
	int	 rc;

	*again = 0;
	if (r->tls != NULL)
		return RTLS_OK;
	if (need == NULL && (plain || r->route->tls == CONFIG_TLS_NONE ||
	    r->tls_ctx == NULL))
		return RTLS_OK;
	if (r->tls_ctx == NULL) {
		remote_fail_conn(r, "4.7.4", "TLS is required for %s (%s), but "
		    "not available: %s", r->relay, need, r->tls_ctx_err);
		return RTLS_FAIL;
	}
	if (!(r->ext & EXT_STARTTLS)) {
		if (need == NULL)
			return RTLS_OK;
		remote_fail_conn(r, "4.7.4", "TLS is required (%s), but was "
		    "not offered by host %s", need, r->relay);
		return RTLS_FAIL;
	}
	if (remote_command(r, &rp, "sending STARTTLS", "STARTTLS\r\n") == -1)
		return RTLS_FAIL;
	if (rp.code != 220) {
		if (need == NULL)
			return RTLS_OK;
		remote_fail_conn(r, rp.dsn, "TLS is required (%s), but host %s "
		    "said: %s (while sending STARTTLS)", need, r->relay,
		    rp.line);
		return RTLS_FAIL;
	}
	if ((rc = remote_tls_handshake(r, host)) != RTLS_OK)
		return rc;
	*again = 1;
	return RTLS_OK;
}

/* remote_auth_step - send one (secret) line, read the reply; -1 lost */
static int
remote_auth_step(struct remote *r, struct reply *rp, const char *line)
{
	int	 rc = remote_command(r, rp, "sending AUTH", "%s\r\n", line);

	explicit_bzero(r->io->out, sizeof(r->io->out));
	return rc;
}

int
remote_login(struct remote *r)
{
	struct reply rp;
	unsigned char raw[2 * RELAYAUTH_FIELD_MAX + 2];
	char	 line[4 * sizeof(raw) / 3 + 32];
	size_t	 ulen = strlen(r->user), plen = strlen(r->pass);
	int	 plain = r->ext & EXT_AUTH_PLAIN, rc = -1;

	if (!r->login)
		return 0;
	if (r->tls == NULL) {	/* remote_starttls() saw to it; be sure */
		remote_fail_conn(r, "4.7.0", "not sending the credentials for "
		    "%s without TLS", r->relay);
		return -1;
	}
	if (!(r->ext & (EXT_AUTH_PLAIN | EXT_AUTH_LOGIN))) {
		remote_fail_conn(r, "4.7.0", "host %s offers no AUTH PLAIN or "
		    "LOGIN: not sending the credentials of relayhost_auth_file",
		    r->relay);
		return -1;
	}
	if (plain) {
		raw[0] = '\0';
		memcpy(raw + 1, r->user, ulen);
		raw[1 + ulen] = '\0';
		memcpy(raw + 2 + ulen, r->pass, plen);
		memcpy(line, "AUTH PLAIN ", 11);
		(void)base64_encode(raw, ulen + plen + 2, line + 11,
		    sizeof(line) - 11);
		if (remote_auth_step(r, &rp, line) == -1)
			goto out;
	} else {
		if (remote_command(r, &rp, "sending AUTH", "AUTH LOGIN\r\n") ==
		    -1)
			goto out;
		if (rp.code == 334) {
			(void)base64_encode(r->user, ulen, line, sizeof(line));
			if (remote_auth_step(r, &rp, line) == -1)
				goto out;
		}
		if (rp.code == 334) {
			(void)base64_encode(r->pass, plen, line, sizeof(line));
			if (remote_auth_step(r, &rp, line) == -1)
				goto out;
		}
	}
	if (rp.code != 235) {
		remote_fail_conn(r, rp.dsn, "authentication as %s failed at "
		    "host %s (AUTH %s): %s", r->user, r->relay,
		    plain ? "PLAIN" : "LOGIN", rp.line);
		goto out;
	}
	log_info("%s: logged in to %s as %s (AUTH %s)", r->domain, r->relay,
	    r->user, plain ? "PLAIN" : "LOGIN");
	rc = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(line, sizeof(line));
	return rc;
}

void
remote_tls_end(struct remote *r)
{
	if (r->tls != NULL)
		tls_close(r->tls);
	r->tls = NULL;
	snprintf(r->tls_proto, sizeof(r->tls_proto), "none");
}
