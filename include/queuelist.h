/* SPDX-License-Identifier: ISC */
/*
 * queuelist.h - the mailq listing (text, JSON lines, queue shape) of a
 * spool, written to a stream; shared by mailq and the smtpd process that
 * answers a local user's XMAILQ.
 */
#ifndef TERN_QUEUELIST_H
#define TERN_QUEUELIST_H

#include <stdio.h>

enum queuelist_mode { QUEUELIST_TEXT, QUEUELIST_JSON, QUEUELIST_SHAPE };

/*
 * The listing of spool_dir in mode, to fp, made by up to procs processes
 * (this one and procs - 1 children, at most 4 in all, for a long text or
 * JSON listing): 0, or -1 with errno set (EACCES when the queue cannot be
 * read: then nothing has been written; ENOMEM; EIO when a child died).
 * Write errors are left for the caller to see in fp.
 */
int	queuelist_print(FILE *fp, const char *spool_dir,
	    enum queuelist_mode mode, int procs);

#endif
