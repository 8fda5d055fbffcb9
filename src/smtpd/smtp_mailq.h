/* SPDX-License-Identifier: ISC */
/*
 * smtp_mailq.h - XMAILQ: the queue listing for a local user, made by the
 * smtpd process of a local (submit socket) session.
 *
 *	smtp_mailq(cfg, uid, args, io, why, whylen)
 *
 * args is "", "TEXT", "JSON" or "SHAPE".  On success the reply
 * "250 2.0.0 N octets follow" and exactly N octets of queuelist_print()
 * output are queued on io, and it returns 0.  Otherwise it returns -1
 * with the whole reply line (without CRLF) in why, or with why empty when
 * the listing broke off after its first line: then the session must end.
 */
#ifndef TERN_SMTP_MAILQ_H
#define TERN_SMTP_MAILQ_H

#include <stddef.h>

#include "config.h"
#include "iobuf.h"

int	smtp_mailq(const struct config *, long uid, const char *args,
	    struct iobuf *, char *why, size_t whylen);

#endif
