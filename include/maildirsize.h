/* SPDX-License-Identifier: ISC */
/*
 * maildirsize.h - the Maildir++ quota file (Courier's maildirquota,
 * Dovecot's "maildir" quota backend), kept by the delivery job of an
 * account with a quota, so that Dovecot shows the same usage.
 *
 * File DIR/maildirsize: a first line giving the limits,
 * "<bytes>S[,<count>C]", then one line "<bytes> <count>" per change
 * (negative when mail was removed); the usage is the sum of those
 * lines.  When the file is missing, does not parse, has another limit,
 * or has grown to MAILDIRSIZE_MAX bytes, it is recalculated from a scan
 * of new/ and cur/ of the Maildir and of its ".Folder" subfolders (a
 * message's size from ",S=<bytes>" in its name, else stat(2)) and
 * written anew (tmp file, rename), as Dovecot and Courier do.
 *
 *	maildirsize_parse(text, len, &u)	pure: limits and sums
 *	maildirsize_fits(&u, quota, add)	pure: room for add bytes?
 *	maildirsize_usage(dir, quota, &u)	read, or recalculate
 *	maildirsize_append(dir, bytes, count)	after a delivery
 */
#ifndef TERN_MAILDIRSIZE_H
#define TERN_MAILDIRSIZE_H

#include <stddef.h>

#define MAILDIRSIZE_MAX		5120	/* recalculate at this size */

struct maildirsize {
	long long	 limit_bytes;	/* from the first line; 0 none */
	long long	 limit_count;
	long long	 bytes;		/* the sums of the other lines */
	long long	 count;
	size_t		 lines;
};

/* 0 with u filled, -1 when text is not a maildirsize file. */
int	maildirsize_parse(const char *text, size_t len, struct maildirsize *);
/* 1 when add more bytes (one message) stay within quota (0: none). */
int	maildirsize_fits(const struct maildirsize *, long long quota,
	    long long add);
/* The usage of Maildir dir with limit quota; 0, or -1 with errno. */
int	maildirsize_usage(const char *dir, long long quota,
	    struct maildirsize *);
/* Append "bytes count" (one write, O_APPEND); 0 or -1. */
int	maildirsize_append(const char *dir, long long bytes, long long count);
/* Scan dir's messages (new/, cur/, .Folder/new, .Folder/cur). */
int	maildirsize_scan(const char *dir, long long *bytes, long long *count);

#endif
