/* SPDX-License-Identifier: ISC */
/*
 * smtp_data.h - message content: the DATA reader and the message writer.
 *
 * The writer takes message bytes (from DATA after dot-unstuffing, or from
 * BDAT chunks as they are) and stores them with every line ending made
 * CRLF: a bare CR or a bare LF becomes CRLF, so the queue file is always
 * canonical and never carries a line break that another server could read
 * differently (no SMTP smuggling downstream).  It counts the size, stops
 * storing past the limit, keeps lines of any length, and adds missing
 * Date: and Message-ID: headers (when add_msgid is set: trusted
 * clients) and From: (when add_from is set: local submissions) at the
 * end of the header block.  It counts the Received: headers, so that the
 * session can refuse a message that has been round a loop (max_hops).
 * The first write error is kept (err) and nothing more is written, so
 * the end of data can tell a full disk (ENOSPC, EDQUOT) from the rest.
 */
#ifndef TERN_SMTP_DATA_H
#define TERN_SMTP_DATA_H

#include <stdio.h>

#include "iobuf.h"

struct msgwriter {
	FILE		*fp;
	long long	 size;		/* octets stored (or that would be) */
	long long	 max;
	int		 too_big;
	int		 err;		/* errno of the first failed write */
	int		 eightbit;	/* saw an octet >= 0x80 */
	int		 cr;		/* a CR waits for its LF */
	int		 in_headers;
	size_t		 linelen;
	char		 head[16];	/* start of the current header line */
	unsigned int	 seen;		/* HDR_* present */
	long long	 hops;		/* Received: headers of the client */
	const char	*add_from;	/* NULL: no From: (not local) */
	const char	*add_msgid;	/* NULL: add nothing (untrusted) */
};

void	msgw_init(struct msgwriter *, FILE *, long long max,
	    const char *add_from, const char *add_msgid);
void	msgw_write(struct msgwriter *, const char *, size_t);
void	msgw_finish(struct msgwriter *);

/*
 * Read DATA content up to CRLF "." CRLF, dot-unstuffing, into the writer.
 * Returns 0 at the end marker, -1 if the connection failed first.
 */
int	smtp_data_read(struct iobuf *, struct msgwriter *);
/* Copy exactly len octets of a BDAT chunk; -1 if the connection failed. */
int	smtp_bdat_read(struct iobuf *, struct msgwriter *, long long len);

#endif
