/* SPDX-License-Identifier: ISC */
/*
 * smtp_state.c - what every SMTP command does to its session: reply,
 * move the state, drop the transaction.  The lowest layer of smtpd: the
 * command table (smtp_session.c) and the message commands
 * (smtp_message.c) both call it, and it calls neither.
 *
 * smtp_reply() counts each 5xx reply as a client error (max_errors);
 * a 4xx is the server's trouble.  smtp_set_state() logs each move at
 * debug level, "old -> new".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "iobuf.h"
#include "log.h"
#include "smtp_session_priv.h"
#include "queuefile.h"

static const char *
state_name(enum smtp_state s)
{
	static const char *names[] = {
		"INIT", "READY", "MAIL", "RCPT", "BDAT", "QUIT"
	};

	return names[s];
}

void
smtp_set_state(struct smtp_session *s, enum smtp_state new)
{
	if (s->state != new)
		log_debug("%s[%s]: %s -> %s", s->name, s->addr,
		    state_name(s->state), state_name(new));
	s->state = new;
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = sizeof(buf) - 3;
	memcpy(buf + n, "\r\n", 2);
	iobuf_write(&s->io, buf, (size_t)n + 2);
	if (buf[0] == '5')
		s->errors++;	/* 4xx are the server's trouble, not errors */
}

void
smtp_transaction_reset(struct smtp_session *s)
{
	if (s->sf_open) {
		queuefile_abort(&s->sf);
		s->sf_open = 0;
	}
	envelope_free(&s->env);
	envelope_init(&s->env);
	s->declared_size = -1;
	if (s->state != SMTP_INIT && s->state != SMTP_QUIT)
		smtp_set_state(s, SMTP_READY);
}
