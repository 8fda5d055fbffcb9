/* SPDX-License-Identifier: ISC */
/*
 * remote.c - the SMTP client: deliver queued messages for one domain.
 *
 * remote_agent_run() runs in a child of the queue runner, with the route
 * the runner found for the domain (transport.c; never "discard", which
 * the runner handles itself) and, in each job, the envelope the runner
 * parsed: it reopens each queue file for the message alone
 * (queuefile_open_body()) and parses no envelope.  It tries each MX host
 * in order and each of its addresses, and over one connection delivers
 * every job it was given, with RSET between messages (RFC 5321 section
 * 4.1.1.5).  MAIL, the RCPTs and DATA go out together when the server
 * offers PIPELINING (RFC 2920 section 3.1); SIZE (RFC 1870), 8BITMIME
 * (RFC 6152), SMTPUTF8 (RFC 6531) and DSN (RFC 3461) parameters are sent
 * when offered.
 *
 * Outcome rules: a connection-level failure (refused, timeout, lost
 * connection, 421, bad greeting) leaves undecided recipients for the next
 * address or MX host; a 4xx to RCPT defers and a 5xx fails that recipient;
 * a 4xx/5xx to MAIL or DATA decides all of that message's recipients.
 * Every recipient gets exactly one result line on result_fd (delivery.h)
 * and one log line, as soon as it is decided; undecided ones are
 * deferred at the end with the last connection error.  DNS that rules
 * the next hop out (NXDOMAIN, no address, null MX) fails every recipient
 * when it is the destination's own MX, and defers them (4.4.3) when
 * relayhost or transport named it: a configuration mistake must not
 * destroy mail.  An MX host that is this host (its name, loopback, an
 * address we listen on) is a loop, 5.4.6, and is never connected to;
 * explicit next hops are not checked.  A message with more than
 * max_hops Received: headers fails 5.4.6 before any connection.
 * A reply that asks to slow down (remote_io.c: 421, or 4.7.x about rate)
 * is reported to the runner on the result pipe, which backs off from the
 * destination (queue_dest.c); the agent then starts no new transaction
 * and tries no other host, and what is left is deferred.
 *
 * One attempt is bounded, as in Postfix: smtp_mx_address_limit
 * addresses, smtp_mx_session_limit connections, and a deadline,
 * smtp_attempt_timeout, at which every wait ends.  All waits use poll(2)
 * timeouts: connect_timeout for connect(2), smtp_timeout for every read
 * and write (including the final reply to DATA).  The wire level
 * (connect, commands, replies, body) is in remote_io.c; TLS, DANE and
 * the relayhost login are in remote_tls.c.  Every result line in the
 * log says tls=PROTOCOL (or tls=none) for the connection it came from.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "envelope.h"
#include "iobuf.h"
#include "log.h"
#include "longline.h"
#include "mx.h"
#include "netaddr.h"
#include "remote_priv.h"
#include "queuefile.h"
#include "transport.h"

struct message {
	struct delivery_job *job;
	const struct envelope *env;	/* the queue runner's, job->env */
	int		 loaded;
	FILE		*fp;		/* the queue file, open while loaded */
	long		 body;		/* offset of the message in the file */
	long long	 size;
	char		 err[256];	/* why it could not be loaded */
	int		*done;		/* per job recipient: decided */
	int		*accepted;	/* per job recipient: RCPT got 2xx */
	struct longline	*ll;		/* lines over 998 octets: re-encode */
};

void
remote_result(struct delivery_result *res, const char *id, size_t index,
    int status, const char *dsn, const char *relay, const char *reply)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->id, sizeof(res->id), "%s", id);
	res->index = index;
	res->status = status;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	if (status == DELIVER_TEMPFAIL)
		res->dsn[0] = '4';
	snprintf(res->relay, sizeof(res->relay), "%s", relay);
	snprintf(res->reply, sizeof(res->reply), "%s", reply);
}

/* remote_decide - record, report and log one recipient's outcome */
static void
remote_decide(struct remote *r, struct message *m, size_t k, int status,
    const char *dsn, const char *relay, const char *tls, const char *reply)
{
	static const char *const words[] = { "sent", "deferred", "bounced" };
	struct delivery_result res;
	time_t	 now = time(NULL);
	double	 delay;

	if (m->done[k])
		return;
	m->done[k] = 1;
	remote_result(&res, m->job->id, m->job->rcpt[k].index, status, dsn,
	    relay, reply);
	if (delivery_result_send(r->result_fd, &res) == -1)
		log_warn("%s: cannot report result", m->job->id);
	delay = m->loaded && m->env->arrival <= now ?
	    difftime(now, m->env->arrival) : 0;
	/* tls= last: log parsers (pflogsumm) read Postfix's fields in order */
	log_info("%s: to=<%s>, relay=%s, delay=%.1f, dsn=%s, status=%s (%s), "
	    "tls=%s", m->job->id, m->job->rcpt[k].addr,
	    relay[0] ? relay : "none", delay, res.dsn, words[status], reply,
	    tls[0] ? tls : "none");
}

/* remote_decide_msg - every undecided (optionally: accepted) rcpt of m */
static void
remote_decide_msg(struct remote *r, struct message *m, int only_accepted,
    int status, const char *dsn, const char *reply)
{
	size_t	 k;

	for (k = 0; k < m->job->nrcpt; k++)
		if (!m->done[k] && (!only_accepted || m->accepted[k]))
			remote_decide(r, m, k, status, dsn, r->relay,
			    r->tls_proto, reply);
}

static size_t
remote_undecided(const struct remote *r)
{
	size_t	 i, k, n = 0;

	for (i = 0; i < r->nmsgs; i++)
		for (k = 0; k < r->msgs[i].job->nrcpt; k++)
			n += !r->msgs[i].done[k];
	return n;
}

/* remote_auth_mechs - "PLAIN LOGIN ..." after AUTH (or AUTH=) */
static void
remote_auth_mechs(struct remote *r, const char *p)
{
	size_t	 n;

	for (;;) {
		p += strspn(p, " =");
		if ((n = strcspn(p, " \n")) == 0)
			break;
		if (n == 5 && strncasecmp(p, "PLAIN", 5) == 0)
			r->ext |= EXT_AUTH_PLAIN;
		else if (n == 5 && strncasecmp(p, "LOGIN", 5) == 0)
			r->ext |= EXT_AUTH_LOGIN;
		p += n;
	}
}

/* remote_ehlo_ext - the extensions we use from an EHLO reply */
static void
remote_ehlo_ext(struct remote *r, const struct reply *rp)
{
	const char *p = strchr(rp->text, '\n');
	char	 word[32];
	long long size;

	r->ext = 0;
	r->size_max = 0;
	while (p != NULL) {
		p++;
		if (sscanf(p, "%31[A-Za-z0-9-]", word) == 1) {
			if (strcasecmp(word, "PIPELINING") == 0)
				r->ext |= EXT_PIPELINING;
			else if (strcasecmp(word, "8BITMIME") == 0)
				r->ext |= EXT_8BITMIME;
			else if (strcasecmp(word, "SMTPUTF8") == 0)
				r->ext |= EXT_SMTPUTF8;
			else if (strcasecmp(word, "DSN") == 0)
				r->ext |= EXT_DSN;
			else if (strcasecmp(word, "STARTTLS") == 0)
				r->ext |= EXT_STARTTLS;
			else if (strcasecmp(word, "AUTH") == 0)
				remote_auth_mechs(r, p + 4);
			else if (strcasecmp(word, "SIZE") == 0) {
				r->ext |= EXT_SIZE;
				if (sscanf(p + 4, " %lld", &size) == 1 &&
				    size > 0)
					r->size_max = size;
			}
		}
		p = strchr(p, '\n');
	}
}

/*
 * remote_hello - greeting (unless after STARTTLS) and EHLO (HELO after a
 * 5xx, but not under TLS); -1: next host
 */
static int
remote_hello(struct remote *r, int greeting)
{
	struct reply rp;
	const char *name = r->conf->hostname;

	if (greeting && remote_read_reply(r, &rp,
	    "receiving the initial server greeting") == -1)
		return -1;
	if (greeting && rp.code != 220) {
		remote_fail_conn(r, rp.dsn, "host %s refused to talk to me: %s",
		    r->relay, rp.line);
		return -1;
	}
	if (remote_command(r, &rp, "sending EHLO", "EHLO %s\r\n", name) == -1)
		return -1;
	if (rp.code / 100 == 2) {
		remote_ehlo_ext(r, &rp);
		return 0;
	}
	r->ext = 0;
	r->size_max = 0;
	if (rp.code / 100 == 5 && (greeting || r->tls == NULL) &&
	    remote_command(r, &rp, "sending HELO", "HELO %s\r\n", name) == -1)
		return -1;
	if (rp.code / 100 != 2) {
		remote_fail_conn(r, rp.dsn, "host %s refused to talk to me: %s",
		    r->relay, rp.line);
		return -1;
	}
	return 0;
}


/* remote_decide_all_msgs - every undecided recipient of every message */
static void
remote_decide_all_msgs(struct remote *r, int status, const char *dsn,
    const char *relay, const char *tls, const char *reply)
{
	size_t	 i, k;

	for (i = 0; i < r->nmsgs; i++)
		for (k = 0; k < r->msgs[i].job->nrcpt; k++)
			remote_decide(r, &r->msgs[i], k, status, dsn, relay,
			    tls, reply);
}

static int
remote_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* remote_precheck - decide what this server cannot take; 1 if decided */
static int
remote_precheck(struct remote *r, struct message *m)
{
	char	 reply[512];
	size_t	 k;
	int	 ascii = remote_is_ascii(m->env->sender);

	for (k = 0; k < m->job->nrcpt; k++)
		if (!m->done[k])
			ascii &= remote_is_ascii(m->job->rcpt[k].addr);
	if (!ascii && !(r->ext & EXT_SMTPUTF8)) {
		snprintf(reply, sizeof(reply), "SMTPUTF8 is required, but was "
		    "not offered by host %s", r->relay);
		remote_decide_msg(r, m, 0, DELIVER_PERMFAIL, "5.6.7", reply);
		return 1;
	}
	if (r->size_max > 0 && m->size > r->size_max) {
		snprintf(reply, sizeof(reply), "message size %lld exceeds "
		    "size limit %lld of server %s", m->size, r->size_max,
		    r->relay);
		remote_decide_msg(r, m, 0, DELIVER_PERMFAIL, "5.3.4", reply);
		return 1;
	}
	return 0;
}

/* remote_hops - how many Received: headers the message at body has */
static long long
remote_hops(FILE *fp, long body)
{
	char	 buf[512];
	long long n = 0;
	int	 bol = 1;

	if (fseek(fp, body, SEEK_SET) == -1)
		return 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		if (bol && (buf[0] == '\r' || buf[0] == '\n'))
			break;
		if (bol && strncasecmp(buf, "received:", 9) == 0)
			n++;
		bol = strchr(buf, '\n') != NULL;
	}
	return n;
}

/*
 * remote_prepare - before any connection: a message over max_hops fails
 * (a loop that began before it was queued); a message with a line over
 * 998 octets is re-encoded for the next hop (longline.c), and SIZE must
 * count what will be sent.  What cannot be re-encoded fails here.
 */
static void
remote_prepare(struct remote *r, struct message *m)
{
	char	 err[300], reply[400];
	long long hops;
	int	 permanent = 0, rc = -1;

	if ((hops = remote_hops(m->fp, m->body)) <= r->conf->max_hops)
		rc = remote_reencode_plan(m->fp, m->body, &m->ll, &m->size,
		    err, sizeof(err), &permanent);
	if (hops > r->conf->max_hops) {
		snprintf(reply, sizeof(reply), "too many hops: %lld Received: "
		    "headers, max_hops %lld: mail loop suspected", hops,
		    r->conf->max_hops);
		remote_decide_msg(r, m, 0, DELIVER_PERMFAIL, "5.4.6", reply);
	} else if (rc == -1) {
		snprintf(reply, sizeof(reply), "cannot send the message "
		    "within the line limit of 998 octets: %s", err);
		remote_decide_msg(r, m, 0, permanent ? DELIVER_PERMFAIL :
		    DELIVER_TEMPFAIL, permanent ? "5.6.0" : "4.3.0", reply);
	} else if (m->ll != NULL)
		log_info("%s: lines over 998 octets: %zu part(s) sent as "
		    "quoted-printable, size=%lld", m->job->id,
		    longline_converted(m->ll), m->size);
}

/* remote_write_mail - queue "MAIL FROM:<...> params" for sending */
static int
remote_write_mail(struct remote *r, struct message *m)
{
	char	 params[256] = "";
	size_t	 len = 0;

	if (r->ext & EXT_SIZE)
		len += (size_t)snprintf(params + len, sizeof(params) - len,
		    " SIZE=%lld", m->size);
	if (m->env->body == BODY_8BITMIME && (r->ext & EXT_8BITMIME))
		len += (size_t)snprintf(params + len, sizeof(params) - len,
		    " BODY=8BITMIME");
	if (m->env->smtputf8 && (r->ext & EXT_SMTPUTF8))
		len += (size_t)snprintf(params + len, sizeof(params) - len,
		    " SMTPUTF8");
	if ((r->ext & EXT_DSN) && m->env->ret != RET_UNSET)
		len += (size_t)snprintf(params + len, sizeof(params) - len,
		    " RET=%s", m->env->ret == RET_FULL ? "FULL" : "HDRS");
	if ((r->ext & EXT_DSN) && m->env->envid[0] != '\0' &&
	    len < sizeof(params))
		snprintf(params + len, sizeof(params) - len, " ENVID=%s",
		    m->env->envid);
	return iobuf_printf(r->io, "MAIL FROM:<%s>%s\r\n", m->env->sender,
	    params);
}

/* remote_write_rcpt - queue "RCPT TO:<...> [NOTIFY=] [ORCPT=]" */
static int
remote_write_rcpt(struct remote *r, const struct delivery_rcpt *rc)
{
	char	 notify[64] = "", orcpt[ADDR_MAX + 8] = "";

	if ((r->ext & EXT_DSN) && rc->notify != 0)
		snprintf(notify, sizeof(notify), " NOTIFY=%s%s%s%s",
		    rc->notify & NOTIFY_NEVER ? "NEVER" : "",
		    rc->notify & NOTIFY_SUCCESS ? "SUCCESS," : "",
		    rc->notify & NOTIFY_FAILURE ? "FAILURE," : "",
		    rc->notify & NOTIFY_DELAY ? "DELAY," : "");
	if (notify[0] != '\0' && notify[strlen(notify) - 1] == ',')
		notify[strlen(notify) - 1] = '\0';
	if ((r->ext & EXT_DSN) && rc->orcpt[0] != '\0' &&
	    strpbrk(rc->orcpt, " \r\n") == NULL)
		snprintf(orcpt, sizeof(orcpt), " ORCPT=%s", rc->orcpt);
	return iobuf_printf(r->io, "RCPT TO:<%s>%s%s\r\n", rc->addr, notify,
	    orcpt);
}

static int
reply_status(const struct reply *rp)
{
	return rp->code / 100 == 2 ? DELIVER_OK : rp->code / 100 == 5 ?
	    DELIVER_PERMFAIL : DELIVER_TEMPFAIL;
}

/* remote_rcpts - send (unless pipelined) and read every RCPT */
static int
remote_rcpts(struct remote *r, struct message *m, int mail_ok,
    size_t *naccepted)
{
	struct reply rp;
	size_t	 k;
	int	 pipelined = r->ext & EXT_PIPELINING;

	*naccepted = 0;
	for (k = 0; k < m->job->nrcpt; k++) {
		if (m->done[k])
			continue;
		if (!pipelined && (!mail_ok ||
		    remote_write_rcpt(r, &m->job->rcpt[k]) == -1))
			break;
		if (remote_read_reply(r, &rp, "sending RCPT TO") == -1)
			return -1;
		if (!mail_ok)
			continue;
		if (rp.code / 100 == 2) {
			m->accepted[k] = 1;
			(*naccepted)++;
		} else
			remote_decide(r, m, k, reply_status(&rp), rp.dsn,
			    r->relay, r->tls_proto, rp.line);
	}
	return 0;
}

/*
 * remote_data - DATA reply, body, final reply.  A reply that comes before
 * the end of data (remote_end_data()) decides the message when it
 * refuses it; a 2xx then is out of step and defers it, and the
 * connection is given up either way.
 */
static int
remote_data(struct remote *r, struct message *m, FILE *fp, int mail_ok,
    size_t naccepted)
{
	struct reply rp;
	char	 early[512];
	int	 rc;

	if (!(r->ext & EXT_PIPELINING) && (!mail_ok || naccepted == 0))
		return 0;
	if (!(r->ext & EXT_PIPELINING) &&
	    iobuf_write(r->io, "DATA\r\n", 6) == -1)
		return -1;
	if (remote_read_reply(r, &rp, "sending DATA") == -1)
		return -1;
	if (rp.code != 354) {
		remote_decide_msg(r, m, 1, reply_status(&rp) == DELIVER_OK ?
		    DELIVER_TEMPFAIL : reply_status(&rp), rp.dsn, rp.line);
		return 0;
	}
	if (!mail_ok || naccepted == 0)
		return remote_command(r, &rp, "sending end of data", ".\r\n");
	if ((rc = remote_send_body(r, fp, m->body, m->ll)) == -2) {
		remote_decide_msg(r, m, 1, DELIVER_TEMPFAIL, "4.3.0",
		    "error reading the queue file");
		return -1;
	}
	if (rc == -1 || (rc = remote_end_data(r, &rp)) == -1)
		return -1;
	if (rc == 0) {
		remote_decide_msg(r, m, 1, reply_status(&rp), rp.dsn, rp.line);
		return 0;
	}
	/* out of step: the end of data was not sent; never "sent" */
	if (rp.code / 100 == 2) {
		snprintf(early, sizeof(early), "host %.200s replied before the "
		    "end of data: %.200s -- message may be sent more than once",
		    r->relay, rp.line);
		remote_decide_msg(r, m, 1, DELIVER_TEMPFAIL, "4.5.0", early);
	} else
		remote_decide_msg(r, m, 1, reply_status(&rp), rp.dsn, rp.line);
	remote_fail_conn(r, "4.5.0", "host %s replied before the end of data: "
	    "connection given up", r->relay);
	return -1;
}

/* remote_transaction - one message; -1 if the connection is unusable */
static int
remote_transaction(struct remote *r, struct message *m)
{
	struct reply mail;
	size_t	 k, naccepted;

	if (remote_precheck(r, m))
		return 0;
	memset(m->accepted, 0, m->job->nrcpt * sizeof(*m->accepted));
	if (remote_write_mail(r, m) == -1)
		goto lost;
	for (k = 0; (r->ext & EXT_PIPELINING) && k < m->job->nrcpt; k++)
		if (!m->done[k] && remote_write_rcpt(r, &m->job->rcpt[k]) == -1)
			goto lost;
	if ((r->ext & EXT_PIPELINING) && iobuf_write(r->io, "DATA\r\n", 6)
	    == -1)
		goto lost;
	if (remote_read_reply(r, &mail, "sending MAIL FROM") == -1 ||
	    remote_rcpts(r, m, mail.code / 100 == 2, &naccepted) == -1)
		goto done;
	if (mail.code / 100 != 2)
		remote_decide_msg(r, m, 0, reply_status(&mail), mail.dsn,
		    mail.line);
	return remote_data(r, m, m->fp, mail.code / 100 == 2, naccepted);
lost:
	remote_fail_conn(r, "4.4.2", "lost connection with %s while sending "
	    "MAIL FROM", r->relay);
done:
	return -1;
}

static int
remote_has_undecided(const struct message *m)
{
	size_t	 k;

	for (k = 0; k < m->job->nrcpt; k++)
		if (!m->done[k])
			return 1;
	return 0;
}

/*
 * remote_open_session - greeting, EHLO, TLS (implicit on port 465, or
 * STARTTLS and EHLO again) and the login; plain: no TLS (the retry
 * after a failed handshake).  enum remote_tls_rc.
 */
static int
remote_open_session(struct remote *r, const char *host,
    const struct sockaddr_storage *ss, int plain)
{
	int	 rc, again;

	if (remote_tls_implicit(r, ss)) {
		if (r->tls_ctx == NULL) {
			remote_fail_conn(r, "4.7.4", "%s needs implicit TLS "
			    "(smtp_tls_implicit_port), which is not available: "
			    "%s", r->relay, r->tls_ctx_err);
			return RTLS_FAIL;
		}
		if (remote_tls_handshake(r, host) != RTLS_OK)
			return RTLS_FAIL;
	}
	if (remote_hello(r, 1) == -1)
		return RTLS_FAIL;
	if ((rc = remote_starttls(r, host, plain, &again)) != RTLS_OK)
		return rc;
	if (again && remote_hello(r, 0) == -1)
		return RTLS_FAIL;
	return remote_login(r) == 0 ? RTLS_OK : RTLS_FAIL;
}

/*
 * remote_session_once - one connection, every message that still needs
 * it; RTLS_RETRY_PLAIN when a "may" handshake failed.
 */
static int
remote_session_once(struct remote *r, const char *host,
    const struct sockaddr_storage *ss, int plain)
{
	struct reply rp;
	size_t	 i, sent = 0;
	int	 fd, ok, rc;

	if ((fd = remote_connect(r, ss)) == -1)
		return RTLS_FAIL;
	r->nsessions++;
	if ((r->io = malloc(sizeof(*r->io))) == NULL) {
		close(fd);
		return RTLS_FAIL;
	}
	iobuf_init(r->io, fd, fd, (int)r->conf->smtp_timeout * 1000);
	r->io->deadline_ms = r->deadline_ms;
	rc = remote_open_session(r, host, ss, plain);
	ok = rc == RTLS_OK;
	for (i = 0; ok && !r->throttled && i < r->nmsgs; i++) {
		if (!r->msgs[i].loaded || !remote_has_undecided(&r->msgs[i]))
			continue;
		if (sent++ > 0 && (ok = remote_command(r, &rp, "sending RSET",
		    "RSET\r\n") == 0) && rp.code / 100 != 2) {
			remote_fail_conn(r, rp.dsn, "host %s said: %s (while "
			    "sending RSET)", r->relay, rp.line);
			ok = 0;
		}
		if (ok && remote_transaction(r, &r->msgs[i]) == -1)
			ok = 0;
	}
	if (ok)
		remote_command(r, &rp, "sending QUIT", "QUIT\r\n");
	remote_tls_end(r);
	close(fd);
	free(r->io);
	r->io = NULL;
	return rc;
}

/*
 * remote_session - one address: a session, and when TLS was only
 * opportunistic and its handshake failed, one more in plaintext on a new
 * connection (within smtp_mx_session_limit and the deadline).
 */
static void
remote_session(struct remote *r, const char *host,
    const struct sockaddr_storage *ss)
{
	const struct config *c = r->conf;
	char	 addr[64];

	netaddr_string((const struct sockaddr *)ss, addr, sizeof(addr));
	snprintf(r->relay, sizeof(r->relay), "%.255s[%.63s]:%d", host, addr,
	    ntohs(((const struct sockaddr_in *)ss)->sin_port));
	r->naddrs++;
	if (remote_session_once(r, host, ss, 0) != RTLS_RETRY_PLAIN ||
	    remote_undecided(r) == 0)
		return;
	if (iobuf_now_ms() >= r->deadline_ms || (c->smtp_mx_session_limit > 0
	    && r->nsessions >= c->smtp_mx_session_limit)) {
		log_info("%s: no plaintext retry after the failed TLS "
		    "handshake: the limit of one attempt", r->relay);
		return;
	}
	log_info("%s: TLS handshake failed (TLS level may): trying again "
	    "without TLS on a new connection", r->relay);
	remote_session_once(r, host, ss, 1);
}

/*
 * remote_no_route - DNS (or a loop) rules the next hop out: a permanent
 * failure (dsn) for the MX of the destination itself, a deferral (soft)
 * for a next hop the admin configured, relayhost or transport, because
 * a configuration mistake must not destroy mail.
 */
static void
remote_no_route(struct remote *r, const struct transport_route *route,
    const char *dsn, const char *soft, const char *reply)
{
	if (strcmp(route->source, "mx") == 0)
		remote_decide_all_msgs(r, DELIVER_PERMFAIL, dsn, "", "none",
		    reply);
	else
		remote_fail_conn(r, soft, "%s (%s %s)", reply, route->source,
		    route->host);
}

/*
 * remote_report_mx - the MX answer, for the queue runner to keep for its
 * TTL and hand to the next agents for the domain ("mx TEXT" on the
 * result pipe; the runner never asks DNS itself).
 */
static void
remote_report_mx(struct remote *r, const struct mx_host *hosts, size_t n,
    unsigned long ttl)
{
	char	 line[MX_TEXT_MAX + 8];
	size_t	 len;

	memcpy(line, "mx ", 3);
	mx_to_text(hosts, n, r->mx_secure, ttl, line + 3, MX_TEXT_MAX);
	len = strlen(line);
	line[len++] = '\n';
	if (write(r->result_fd, line, len) != (ssize_t)len)
		log_warn("%s: cannot report the MX answer", r->domain);
}

/* remote_hosts - the hosts to try for a route; 0, or -1 if decided */
static int
remote_hosts(struct remote *r, const struct transport_route *route,
    struct mx_host *hosts, size_t *n, int *implicit)
{
	char	 err[512], reply[600];
	unsigned long ttl;
	int	 st;

	*implicit = 0;
	if (route->kind != TRANSPORT_MX) {
		snprintf(hosts[0].name, sizeof(hosts[0].name), "%s",
		    route->host);
		*n = 1;
		return 0;
	}
	if (route->mx != NULL && mx_from_text(route->mx, hosts, MX_HOSTS_MAX,
	    n, &r->mx_secure, &ttl) == 0) {
		log_debug("%s: MX hosts from the queue runner's cache",
		    route->host);
		return 0;
	}
	st = mx_lookup(r->conf, route->host, hosts, MX_HOSTS_MAX, n,
	    &r->mx_secure, &ttl, err, sizeof(err));
	if (st == MX_OK && ttl > 0)
		remote_report_mx(r, hosts, *n, ttl);
	*implicit = st == MX_NONE;
	if (st == MX_OK || st == MX_NONE)
		return 0;
	if (st == MX_NULL) {
		snprintf(reply, sizeof(reply), "Domain %s does not accept mail "
		    "(nullMX)", route->host);
		remote_no_route(r, route, "5.1.10", "4.4.3", reply);
	} else if (st == MX_NOTFOUND) {
		snprintf(reply, sizeof(reply), "Host or domain name not found. "
		    "Name service error for name=%s", err);
		remote_no_route(r, route, "5.1.2", "4.4.3", reply);
	} else
		remote_fail_conn(r, "4.4.3", "Host or domain name not found. "
		    "Name service error for name=%s", err);
	return -1;
}

/*
 * remote_leads_home - host h of an MX route is this host: its name is
 * ours, or one of its addresses is ours or loopback (with
 * smtp_allow_loopback, only a listening address at that very port).
 * relayhost and transport are explicit and never checked.
 */
static int
remote_leads_home(const struct remote *r, const struct transport_route *route,
    const char *name, const struct sockaddr_storage *addrs, size_t n)
{
	const struct sockaddr *sa;
	size_t	 a;

	if (strcmp(route->source, "mx") != 0)
		return 0;
	if (route->kind == TRANSPORT_MX && r->conf->hostname != NULL &&
	    strcasecmp(name, r->conf->hostname) == 0)
		return 1;
	for (a = 0; a < n; a++) {
		sa = (const struct sockaddr *)&addrs[a];
		if (netaddr_is_self(r->conf, sa, r->conf->smtp_allow_loopback ?
		    ntohs(((const struct sockaddr_in *)sa)->sin_port) : 0))
			return 1;
	}
	return 0;
}

/*
 * remote_may_go_on - within the limits of one attempt: addresses tried
 * (smtp_mx_address_limit), connections made (smtp_mx_session_limit),
 * time (smtp_attempt_timeout).  As in Postfix, a hostile or broken
 * destination costs a bounded share of one agent, then waits its turn.
 */
static int
remote_may_go_on(struct remote *r)
{
	const struct config *c = r->conf;
	char	 last[300];

	if (r->spent || r->throttled)
		return 0;
	snprintf(last, sizeof(last), "%.299s", r->last_reply[0] ?
	    r->last_reply : "none");
	if (iobuf_now_ms() >= r->deadline_ms) {
		remote_fail_conn(r, "4.4.7", "delivery attempt for %s reached "
		    "smtp_attempt_timeout (%llds); last error: %s", r->domain,
		    c->smtp_attempt_timeout, last);
		r->spent = 1;
	} else if ((c->smtp_mx_address_limit > 0 &&
	    r->naddrs >= c->smtp_mx_address_limit) ||
	    (c->smtp_mx_session_limit > 0 &&
	    r->nsessions >= c->smtp_mx_session_limit)) {
		log_info("%s: %lld address(es) and %lld session(s) tried: the "
		    "limit of one attempt", r->domain, r->naddrs, r->nsessions);
		r->spent = 1;
	}
	return !r->spent;
}

/* remote_try_hosts - each host in order, each address, until decided */
static void
remote_try_hosts(struct remote *r, const struct transport_route *route)
{
	struct mx_host hosts[MX_HOSTS_MAX];
	struct sockaddr_storage addrs[MX_ADDRS_MAX];
	char	 err[512], reply[600];
	size_t	 nhosts, naddrs, h, a;
	int	 implicit, st;

	if (remote_hosts(r, route, hosts, &nhosts, &implicit) == -1)
		return;
	for (h = 0; h < nhosts && remote_undecided(r) > 0 &&
	    remote_may_go_on(r); h++) {
		st = mx_addresses(r->conf, hosts[h].name, route->port, addrs,
		    MX_ADDRS_MAX, &naddrs, err, sizeof(err));
		if (remote_leads_home(r, route, hosts[h].name, addrs,
		    st == MX_OK ? naddrs : 0)) {
			snprintf(reply, sizeof(reply), "mail for %s loops back "
			    "to myself", r->domain);
			if (h == 0)
				remote_no_route(r, route, "5.4.6", "4.4.6",
				    reply);
			break;	/* RFC 5321 5.1: no MX less preferred */
		}
		snprintf(reply, sizeof(reply), "Host or domain name not "
		    "found. Name service error for name=%s", err);
		if (st == MX_NOTFOUND && implicit)
			remote_no_route(r, route, "5.1.2", "4.4.3", reply);
		else if (st != MX_OK)
			remote_fail_conn(r, st == MX_TEMPFAIL ||
			    strcmp(route->source, "mx") != 0 ? "4.4.3" :
			    "4.4.4", "%s", reply);
		if (st == MX_OK && remote_dane_host(r, hosts[h].name) == -1)
			continue;
		for (a = 0; st == MX_OK && a < naddrs &&
		    remote_undecided(r) > 0 && remote_may_go_on(r); a++)
			remote_session(r, hosts[h].name, &addrs[a]);
	}
}

/*
 * remote_open - a job's message: the queue runner parsed the envelope
 * (job->env); its queue file is opened again for the message alone and
 * stays open in m->fp for the scans and the sending.
 */
static void
remote_open(struct remote *r, struct message *m)
{
	char	 err[256];
	int	 rc;

	if ((m->env = m->job->env) == NULL) {
		snprintf(m->err, sizeof(m->err), "no envelope for %s",
		    m->job->id);
		return;
	}
	rc = queuefile_open_body(r->conf->spool_dir, m->job->id,
	    &m->job->file, &m->fp, err, sizeof(err));
	if (rc == -2)
		snprintf(m->err, sizeof(m->err), "bad queue file: %.200s", err);
	else if (rc == -1)
		snprintf(m->err, sizeof(m->err),
		    "cannot open queue file: %.200s", err);
	else {
		m->body = (long)m->job->file.body;
		m->size = (long long)m->job->file.size;
		m->loaded = 1;
	}
}

int
remote_agent_run(const struct config *conf, const char *domain,
    const struct transport_route *route, struct delivery_job *jobs,
    size_t njobs, int result_fd)
{
	struct remote r;
	size_t	 i;

	log_setproc("smtp");
	signal(SIGPIPE, SIG_IGN);
	memset(&r, 0, sizeof(r));
	r.conf = conf;
	r.route = route;
	r.domain = domain;
	snprintf(r.tls_proto, sizeof(r.tls_proto), "none");
	snprintf(r.last_tls, sizeof(r.last_tls), "none");
	r.result_fd = result_fd;
	r.deadline_ms = iobuf_now_ms() + conf->smtp_attempt_timeout * 1000;
	if ((r.msgs = calloc(njobs ? njobs : 1, sizeof(*r.msgs))) == NULL)
		return 1;
	for (r.nmsgs = 0; r.nmsgs < njobs; r.nmsgs++) {
		struct message *m = &r.msgs[r.nmsgs];

		m->job = &jobs[r.nmsgs];
		m->done = calloc(m->job->nrcpt + 1, sizeof(int));
		m->accepted = calloc(m->job->nrcpt + 1, sizeof(int));
		if (m->done == NULL || m->accepted == NULL) {
			r.nmsgs++;
			goto out;	/* no result means deferred */
		}
		remote_open(&r, m);
		if (!m->loaded)
			remote_decide_msg(&r, m, 0, DELIVER_TEMPFAIL, "4.3.0",
			    m->err);
	}
	for (i = 0; i < r.nmsgs; i++)
		if (r.msgs[i].loaded)
			remote_prepare(&r, &r.msgs[i]);
	if (remote_undecided(&r) > 0 && remote_tls_setup(&r) == 0)
		remote_try_hosts(&r, route);
	remote_tls_free(&r);
	remote_decide_all_msgs(&r, DELIVER_TEMPFAIL,
	    r.last_dsn[0] ? r.last_dsn : "4.4.1", r.last_relay, r.last_tls,
	    r.last_reply[0] ? r.last_reply :
	    "no mail exchanger could be reached");
out:
	for (i = 0; i < r.nmsgs; i++) {
		if (r.msgs[i].fp != NULL)
			fclose(r.msgs[i].fp);
		longline_free(r.msgs[i].ll);
		free(r.msgs[i].done);
		free(r.msgs[i].accepted);
	}
	free(r.msgs);
	return 0;
}
