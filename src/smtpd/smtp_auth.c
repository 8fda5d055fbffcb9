/* SPDX-License-Identifier: ISC */
/*
 * smtp_auth.c - AUTH PLAIN and LOGIN (RFC 4954, 4616) on the submission
 * ports, and what those ports ask of a client before MAIL.
 *
 * Where: only on submission_listen (587) and smtps_listen (465), and
 * only once TLS is up, or in plaintext from loopback when
 * submission_loopback_plaintext is set.  Port 25 has no AUTH, as in
 * Postfix's default master.cf.  On the submission ports MAIL needs a
 * login first (RFC 6409 4.3), and on 587 STARTTLS before that.
 *
 * The check: this smtpd never sees a hash.  The name and password go to
 * the password checker (src/auth/), a process ternd started with the
 * file in memory, over its socket; the answer is yes, no, or not now.
 * A failure waits n * smtpd_auth_failure_delay before its reply (the nth
 * of the session), and smtpd_auth_max_failures of them end the session.
 * Failures are logged as Postfix logs them, so fail2ban's postfix-sasl
 * filter matches: "warning: name[addr]: SASL LOGIN authentication
 * failed: authentication failure".  A success shows on the message's
 * "client=" line as "sasl_method=PLAIN, sasl_username=alice".  The
 * buffers that held a password are cleared before they are let go.
 *
 * An authenticated client may relay, and may send only as the senders
 * it owns (sender_login).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "base64.h"
#include "config.h"
#include "iobuf.h"
#include "log.h"
#include "senderlogin.h"
#include "smtp_session_priv.h"
#include "text.h"

#define USER_MAX	256
#define PASS_MAX	1024
#define CHECK_TIMEOUT	30000	/* ms; a yescrypt hash takes a few dozen */

/* Plaintext AUTH: only from loopback, and only when the key says so. */
static int
plaintext_allowed(const struct smtp_session *s)
{
	return s->cfg->submission_loopback_plaintext && s->loopback;
}

int
smtp_auth_offered(const struct smtp_session *s)
{
	return s->port != SMTPD_PORT_MX && s->ctx->auth_fd != -1 &&
	    s->auth_user[0] == '\0' && (s->tls != NULL || plaintext_allowed(s));
}

/* Before MAIL on a submission port: TLS, then AUTH.  1: refused. */
int
smtp_auth_required(struct smtp_session *s)
{
	if (s->port == SMTPD_PORT_MX || s->auth_user[0] != '\0')
		return 0;
	if (s->tls == NULL && !plaintext_allowed(s))
		smtp_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
	else
		smtp_reply(s, "530 5.7.0 Authentication required");
	return 1;
}

/* sender_login: 0 when the logged-in user owns the sender, else -1. */
int
smtp_auth_owns_sender(struct smtp_session *s, const char *sender)
{
	char	 why[256 + USER_MAX];
	int	 r;

	if (s->auth_user[0] == '\0')
		return 0;
	if ((r = sender_login_owns(s->cfg, s->auth_user, sender)) == 1)
		return 0;
	if (r == -1) {
		smtp_reply(s, "451 4.3.0 Error: cannot read sender_login");
		return -1;
	}
	snprintf(why, sizeof(why), "553 5.7.1 Sender address rejected: not "
	    "owned by user %s", s->auth_user);
	smtp_reply(s, "%s", why);
	log_info("NOQUEUE: reject: MAIL from %s[%s]: %s; from=<%s> proto=%s "
	    "helo=<%s>", s->name, s->addr, why, sender,
	    s->esmtp ? "ESMTP" : "SMTP", s->helo);
	return -1;
}

int
smtp_check_auth(struct smtp_session *s, struct smtp_args *a)
{
	size_t	 n = strcspn(a->text, " ");

	if (s->port == SMTPD_PORT_MX) {
		smtp_reply(s, "503 5.5.1 Error: authentication not enabled");
		return -1;
	}
	if (s->auth_user[0] != '\0') {
		smtp_reply(s, "503 5.5.1 Error: already authenticated");
		return -1;
	}
	if (s->tls == NULL && !plaintext_allowed(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return -1;
	}
	if (s->ctx->auth_fd == -1) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return -1;
	}
	if ((n == 5 && strncasecmp(a->text, "PLAIN", 5) == 0) ||
	    (n == 5 && strncasecmp(a->text, "LOGIN", 5) == 0))
		return 0;
	if (n == 0)
		smtp_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
	else
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
	return -1;
}

/*
 * sasl_read - one response line of the exchange, decoded into out (NUL
 * ended).  Returns its length; -1 when the session is over, -2 when the
 * client gave up ("*") or sent what is not base64 (replied to).
 */
static ssize_t
sasl_read(struct smtp_session *s, const char *challenge, char *out,
    size_t outlen)
{
	char	*line;
	ssize_t	 n, len;
	int	 toolong;

	smtp_reply(s, "334 %s", challenge);
	if ((n = iobuf_getline(&s->io, AUTH_LINE_MAX, &line, &toolong)) == -1) {
		smtp_set_state(s, SMTP_QUIT);
		return -1;
	}
	if (toolong) {
		smtp_reply(s, "500 5.5.6 Authentication exchange line is too "
		    "long");
		return -2;
	}
	len = n;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 1 && line[0] == '*') {
		smtp_reply(s, "501 5.7.0 Authentication aborted");
		return -2;
	}
	n = base64_decode(line, (size_t)len, out, outlen);
	explicit_bzero(line, (size_t)len);
	if (n == -1) {
		smtp_reply(s, "501 5.5.2 Cannot decode response");
		return -2;
	}
	return n;
}

/* The initial response of "AUTH MECH resp"; "=" is an empty one. */
static ssize_t
initial_response(struct smtp_session *s, const char *text, char *out,
    size_t outlen)
{
	ssize_t	 n;

	if (strcmp(text, "=") == 0) {
		out[0] = '\0';
		return 0;
	}
	if ((n = base64_decode(text, strlen(text), out, outlen)) == -1)
		smtp_reply(s, "501 5.5.2 Cannot decode response");
	return n == -1 ? -2 : n;
}

/* The checker's answer, and the reply and log line that go with it. */
static void
auth_verdict(struct smtp_session *s, const char *mech, const char *user,
    const char *pass)
{
	int	 r;

	r = auth_check(s->ctx->auth_fd, user, pass, CHECK_TIMEOUT);
	if (r == 1) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
		s->auth_method = mech[0] == 'P' ? "PLAIN" : "LOGIN";
		s->trusted = 1;
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	if (r == -1) {
		log_warnx("%s[%s]: SASL %s authentication failed: Connection "
		    "lost to authentication server", s->name, s->addr, mech);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	s->auth_failures++;
	log_warnx("%s[%s]: SASL %s authentication failed: authentication "
	    "failure", s->name, s->addr, mech);
	auth_failure_delay(s->cfg->smtpd_auth_failure_delay,
	    s->auth_failures);
	smtp_reply(s, "535 5.7.8 Error: authentication failed: "
	    "authentication failure");
	if (s->auth_failures >= s->cfg->smtpd_auth_max_failures) {
		smtp_reply(s, "421 4.7.0 %s Error: too many failed "
		    "authentications", s->cfg->hostname);
		log_info("too many failed authentications from %s[%s]",
		    s->name, s->addr);
		smtp_set_state(s, SMTP_QUIT);
	}
}

/* A user name goes into the log: no control bytes, not too long. */
static int
user_ok(struct smtp_session *s, const char *user)
{
	if (user[0] != '\0' && strlen(user) < USER_MAX && !text_has_ctl(user))
		return 1;
	smtp_reply(s, "501 5.5.2 Error: bad user name");
	return 0;
}

void
smtp_proceed_auth(struct smtp_session *s, struct smtp_args *a)
{
	char	 buf[AUTH_LINE_MAX], user[USER_MAX + 1], *u, *p;
	const char *init = a->text + 5;
	ssize_t	 n;
	int	 plain = toupper((unsigned char)a->text[0]) == 'P';

	while (*init == ' ')
		init++;
	if (plain) {
		n = *init ? initial_response(s, init, buf, sizeof(buf)) :
		    sasl_read(s, "", buf, sizeof(buf));
		if (n < 0)
			goto out;
		if (sasl_plain_split(buf, (size_t)n, &u, &p) == -1) {
			smtp_reply(s, "501 5.5.2 Error: malformed PLAIN "
			    "response (want authzid NUL user NUL password)");
			goto out;
		}
		if (strlen(p) > PASS_MAX)
			smtp_reply(s, "501 5.5.2 Error: password too long");
		else if (user_ok(s, u))
			auth_verdict(s, "PLAIN", u, p);
		goto out;
	}
	/* LOGIN: "Username:" and "Password:", in base64 */
	n = *init ? initial_response(s, init, buf, sizeof(buf)) :
	    sasl_read(s, "VXNlcm5hbWU6", buf, sizeof(buf));
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(user) || memchr(buf, '\0', (size_t)n)) {
		smtp_reply(s, "501 5.5.2 Error: bad user name");
		goto out;
	}
	memcpy(user, buf, (size_t)n + 1);
	if (!user_ok(s, user))
		goto out;
	if ((n = sasl_read(s, "UGFzc3dvcmQ6", buf, PASS_MAX + 1)) < 0)
		goto out;
	if (memchr(buf, '\0', (size_t)n) != NULL || n > PASS_MAX) {
		smtp_reply(s, "501 5.5.2 Error: NUL or too long in the "
		    "password");
		goto out;
	}
	auth_verdict(s, "LOGIN", user, buf);
out:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(a->text, strlen(a->text));
}
