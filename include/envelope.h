/* SPDX-License-Identifier: ISC */
/*
 * envelope.h - the queue file's format: its envelope block, and xtext
 * (RFC 3461 section 4) for addresses.  The queue file is created and
 * opened through queuefile.h; the state file's format is statefile.h's.
 *
 * Queue file (written once, never changed):
 *
 *	version: 1
 *	id: 0RB8KX2JZ5Q0A1
 *	arrival: 1764135101
 *	client: mail.example.org [192.0.2.1]
 *	helo: mail.example.org
 *	protocol: ESMTP
 *	uid: 1000			(local submission only)
 *	sender: alice@example.org	(xtext; empty for the null sender)
 *	body: 7bit			(7bit | 8bitmime)
 *	smtputf8: no
 *	ret: full			(optional: full | hdrs)
 *	envid: abc			(optional, xtext as received)
 *	rcpt: bob@example.com notify=success,failure orcpt=rfc822;bob@x
 *	<blank line>
 *	message, CRLF lines, not dot-stuffed, Received: header first
 *
 * It is parsed strictly: any unknown key, missing key, bad number or
 * stray byte makes the parse fail; spool files are untrusted input.
 */
#ifndef TERN_ENVELOPE_H
#define TERN_ENVELOPE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "queueid.h"

#define ENVELOPE_VERSION	1
#define ADDR_MAX		512	/* a Path is at most 256 + brackets */

/* RFC 3461 NOTIFY bits; 0 means "not given" (notify on failure). */
#define NOTIFY_NEVER		0x01
#define NOTIFY_SUCCESS		0x02
#define NOTIFY_FAILURE		0x04
#define NOTIFY_DELAY		0x08

enum body_type	{ BODY_7BIT, BODY_8BITMIME };
enum dsn_ret	{ RET_UNSET, RET_FULL, RET_HDRS };

struct envelope_rcpt {
	char	 addr[ADDR_MAX];
	int	 notify;		/* NOTIFY_* bits, 0 = unset */
	char	 orcpt[ADDR_MAX];	/* "rfc822;xtext" as received, or "" */
};

struct envelope {
	int	 version;
	char	 id[QUEUEID_LEN + 1];
	time_t	 arrival;
	char	 client[512];		/* "name [addr]" */
	char	 helo[256];
	char	 protocol[16];		/* SMTP, ESMTP, LOCAL ... */
	long	 uid;			/* submitting uid, -1 if not local */
	char	 sender[ADDR_MAX];	/* "" for the null sender <> */
	int	 body;			/* enum body_type */
	int	 smtputf8;
	int	 ret;			/* enum dsn_ret */
	char	 envid[128];		/* xtext as received, "" if none */
	struct envelope_rcpt *rcpt;	/* owned; envelope_free() */
	size_t	 nrcpt;
};

void	envelope_init(struct envelope *);
void	envelope_free(struct envelope *);
int	envelope_add_rcpt(struct envelope *, const char *addr, int notify,
	    const char *orcpt);
/* Write the header block and the blank line; -1 on a write error. */
int	envelope_write(FILE *, const struct envelope *);
/*
 * Read the header block up to and including the blank line; the stream
 * is left at the first byte of the message.  -1 with a reason in err.
 */
int	envelope_read(FILE *, struct envelope *, char *err, size_t errlen);
/* The same from the first len bytes of a file, read into buf (which the
 * parse cuts into lines): *used is where the message starts.  A failure
 * may mean len was too short. */
int	envelope_parse(char *buf, size_t len, struct envelope *,
	    size_t *used, char *err, size_t errlen);

/* xtext (RFC 3461 4): '+' and bytes outside 33..126 and '=' as +XX. */
int	xtext_encode(const char *in, char *out, size_t outlen);
int	xtext_decode(const char *in, char *out, size_t outlen);
int	xtext_is_valid(const char *);

/* "success,failure" -> bits; "never" -> NOTIFY_NEVER; -1 on bad input */
int	notify_parse(const char *);
void	notify_format(int, char *, size_t);

#endif
