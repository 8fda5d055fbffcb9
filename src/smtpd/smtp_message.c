/* SPDX-License-Identifier: ISC */
/*
 * smtp_message.c - DATA and BDAT, the commands that carry a message:
 * their check and proceed steps for the table in smtp_session.c, and
 * the queue file of the transaction.
 *
 * The first DATA or BDAT of a transaction opens the queue file and
 * writes the envelope and our Received: header (message_open); the
 * content goes through the message writer (smtp_data.c); the end of
 * DATA, or BDAT ... LAST, commits the file, answers, and only then
 * wakes the queue runner (message_close, RFC 5321 6.1: accepted means
 * stored).  A file that cannot be written or committed is removed and
 * answered 452 4.3.1 when the disk is full, 451 4.3.0 otherwise.  A
 * refused BDAT still reads its chunk (RFC 3030 2), so the session
 * stays in step with the client.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "date.h"
#include "envelope.h"
#include "iobuf.h"
#include "log.h"
#include "smtp_data.h"
#include "smtp_session_priv.h"
#include "queuefile.h"

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
	char	 date[64], uid[32] = "", sasl[320] = "", proto[16];
	int	 saved;

	if (queuefile_create(s->cfg->spool_dir, &s->sf) == -1) {
		saved = errno;	/* for write_error() */
		log_warn("cannot create queue file");
		errno = saved;
		return -1;
	}
	s->sf_open = 1;
	if (s->uid >= 0)
		snprintf(uid, sizeof(uid), ", uid=%ld", s->uid);
	if (s->auth_user[0] != '\0')
		snprintf(sasl, sizeof(sasl), ", sasl_method=%s, "
		    "sasl_username=%s", s->auth_method, s->auth_user);
	log_info("%s: client=%s[%s]%s%s", s->sf.id, s->name, s->addr, uid,
	    sasl);
	snprintf(s->env.id, sizeof(s->env.id), "%s", s->sf.id);
	s->env.arrival = time(NULL);
	snprintf(s->env.client, sizeof(s->env.client), "%s [%s]", s->name,
	    s->addr);
	snprintf(s->env.helo, sizeof(s->env.helo), "%s", s->helo);
	/* RFC 3848, RFC 6531 7: ESMTPS with TLS, ESMTPSA logged in too */
	snprintf(proto, sizeof(proto), "%s%s%s", s->uid >= 0 ? "LOCAL" :
	    s->env.smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
	    s->tls != NULL ? "S" : "", s->auth_user[0] != '\0' ? "A" : "");
	snprintf(s->env.protocol, sizeof(s->env.protocol), "%s", proto);
	s->env.uid = s->uid;
	if (envelope_write(s->sf.fp, &s->env) == -1) {
		saved = errno;
		log_warn("%s: cannot write queue file", s->sf.id);
		errno = saved;
		return -1;
	}
	date_rfc5322(time(NULL), date, sizeof(date));
	if (s->uid >= 0)
		fprintf(s->sf.fp, "Received: by %s (tern, from userid %ld)\r\n"
		    "\tid %s;", s->cfg->hostname, s->uid, s->sf.id);
	else
		fprintf(s->sf.fp, "Received: from %s (%s [%s%s])\r\n%s%s%s"
		    "\tby %s (tern) with %s id %s", s->helo, s->name,
		    strchr(s->addr, ':') ? "IPv6:" : "", s->addr,
		    s->tls != NULL ? "\t(using " : "",
		    s->tls != NULL ? s->tls_desc : "",
		    s->tls != NULL ? ")\r\n" : "",
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

/*
 * write_error - the reply to a queue file that could not be made or
 * written: a full spool (or the user's quota) is 452 4.3.1, anything
 * else 451 4.3.0; both tell the client to try again later.
 */
static const char *
write_error(int err)
{
	return err == ENOSPC || err == EDQUOT ? SMTP_NO_STORAGE :
	    SMTP_WRITE_ERR;
}

/*
 * message_commit - 0 once the queue file is committed, or the errno of
 * the first write that failed, with the file removed (queuefile_abort,
 * queuefile_commit): nothing is left in tmp/ or queue/.
 */
static int
message_commit(struct smtp_session *s)
{
	int	 err;

	if (ferror(s->sf.fp)) {
		err = s->w.err != 0 ? s->w.err : EIO;
		queuefile_abort(&s->sf);
		s->sf_open = 0;
		return err;
	}
	errno = 0;
	if (queuefile_commit(s->cfg->spool_dir, &s->sf) == -1) {
		err = errno != 0 ? errno : EIO;
		s->sf_open = 0;
		return err;
	}
	return 0;
}

/* The end of DATA or of the last BDAT chunk: commit, then answer. */
static void
message_close(struct smtp_session *s)
{
	char	 id[QUEUEID_LEN + 1];
	int	 err;

	msgw_finish(&s->w);
	s->last = "END-OF-MESSAGE";
	if (s->w.too_big) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_info("%s: reject: size %lld exceeds limit %lld", s->sf.id,
		    s->w.size, s->cfg->max_message_size);
	} else if (s->w.hops + 1 > s->cfg->max_hops) {
		/* ours counts too: it is the first line of the queue file */
		smtp_reply(s, "554 5.4.6 Too many hops: mail loop suspected");
		log_info("%s: reject: %lld Received: headers, max_hops %lld",
		    s->sf.id, s->w.hops + 1, s->cfg->max_hops);
	} else if ((err = message_commit(s)) != 0) {
		errno = err;
		log_warn("%s: cannot commit queue file", s->sf.id);
		smtp_reply(s, "%s", write_error(err));
	} else {
		s->sf_open = 0;
		snprintf(id, sizeof(id), "%s", s->sf.id);
		log_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)",
		    id, s->env.sender, s->w.size, s->env.nrcpt);
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", id);
		iobuf_flush(&s->io);
		queuefile_announce(s->cfg->spool_dir, id);
	}
	smtp_transaction_reset(s);
}

/* smtp_check_data - no argument, and a recipient to send to */
int
smtp_check_data(struct smtp_session *s, struct smtp_args *a)
{
	if (*a->text) {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	if (s->env.nrcpt == 0) {
		smtp_reply(s, SMTP_NO_RCPT);
		return -1;
	}
	return 0;
}

void
smtp_proceed_data(struct smtp_session *s, struct smtp_args *a)
{
	(void)a;
	if (message_open(s) == -1) {
		smtp_reply(s, "%s", write_error(errno));
		smtp_transaction_reset(s);
		return;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (smtp_data_read(&s->io, &s->w) == -1) {
		smtp_set_state(s, SMTP_QUIT);	/* the client is gone */
		return;
	}
	message_close(s);
}

/* bdat_skip - a refused BDAT: read its chunk, reply, end the transaction */
static void
bdat_skip(struct smtp_session *s, struct smtp_args *a, const char *why)
{
	struct msgwriter discard;

	msgw_init(&discard, NULL, 0, NULL, NULL);
	if (smtp_bdat_read(&s->io, &discard, a->len) == -1) {
		smtp_set_state(s, SMTP_QUIT);
		return;
	}
	smtp_reply(s, "%s", why);
	smtp_transaction_reset(s);
}

/*
 * smtp_check_bdat - "size [LAST]" (RFC 3030 2).  A size that cannot be
 * read ends the session: the chunk cannot be skipped.  Any other
 * refusal reads the chunk first (bdat_skip).
 */
int
smtp_check_bdat(struct smtp_session *s, struct smtp_args *a)
{
	char	*end;

	errno = 0;
	a->len = isdigit((unsigned char)*a->text) ? strtoll(a->text, &end,
	    10) : -1;
	if (a->len < 0 || errno) {
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		smtp_set_state(s, SMTP_QUIT);
		return -1;
	}
	if (!strcasecmp(end, " LAST"))
		a->last = 1;
	else if (*end != '\0') {
		bdat_skip(s, a, "501 5.5.4 Syntax: BDAT size [LAST]");
		return -1;
	}
	return 0;
}

/* smtp_refuse_bdat - BDAT in a state it is not allowed in */
void
smtp_refuse_bdat(struct smtp_session *s, struct smtp_args *a,
    const char *why)
{
	if (smtp_check_bdat(s, a) == 0)
		bdat_skip(s, a, why);
}

/* smtp_proceed_bdat - the first chunk opens the queue file; LAST commits */
void
smtp_proceed_bdat(struct smtp_session *s, struct smtp_args *a)
{
	if (!s->sf_open) {
		if (message_open(s) == -1) {
			bdat_skip(s, a, write_error(errno));
			return;
		}
		smtp_set_state(s, SMTP_BDAT);
	}
	if (smtp_bdat_read(&s->io, &s->w, a->len) == -1)
		smtp_set_state(s, SMTP_QUIT);
	else if (a->last)
		message_close(s);
	else
		smtp_reply(s, "250 2.0.0 %lld octets received", a->len);
}
