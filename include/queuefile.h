/* SPDX-License-Identifier: ISC */
/*
 * queuefile.h - the queue file, spool/queue/XX/ID: the one module that
 * creates, commits, announces and opens it (queuefile.c).  Its format,
 * an envelope block then the message, is in envelope.h.
 *
 * Writing a new message:
 *
 *	queuefile_create(dir, &nf)	tmp/ID, O_EXCL, buffered in nf.fp;
 *					nf.id is the new queue id
 *	(write the envelope with envelope_write(nf.fp, ...), then the body)
 *	queuefile_commit(dir, &nf)	fsync, rename to queue/XX/ID, fsync XX/
 *	queuefile_announce(dir, id)	"new ID" to the queue runner
 *	queuefile_abort(&nf)		close and unlink tmp/ID
 *
 * A file in queue/ is whole and fsync'd, and so is the entry in its
 * directory, before the caller may say "250 queued" (RFC 5321 section
 * 6.1: accepting a message is a promise to deliver or bounce it).  A
 * crash leaves either no queue file or a whole one; a partial file can
 * only be in tmp/, which spool_clean_tmp() empties at start-up.  The
 * announcement is separate from the commit so that the SMTP server can
 * send its 250 first.
 *
 * Reading one: queuefile_open() parses the envelope and hands back the
 * stream at the first byte of the message with its offset and size;
 * every reader that needs the envelope (queue runner, queue listing,
 * ternq) uses it.  A delivery agent gets the runner's parsed envelope
 * and a mark of the file (queuefile_mark()) and reopens only the message
 * with queuefile_open_body(), which checks that the file is the one the
 * runner read: the envelope is parsed once per message and runner load.
 */
#ifndef TERN_QUEUEFILE_H
#define TERN_QUEUEFILE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

#include "envelope.h"
#include "queueid.h"

/* A new queue file, in tmp/ until it is committed. */
struct queuefile_new {
	char	 id[QUEUEID_LEN + 1];
	char	 tmppath[1024];
	FILE	*fp;			/* buffered writer on the tmp file */
	char	*iobuf;			/* fp's 64 KiB buffer, owned */
};

/* A committed queue file, open for reading. */
struct queuefile {
	struct envelope	 env;		/* parsed; queuefile_close() frees */
	FILE		*fp;		/* at the first byte of the message */
	off_t		 body;		/* offset of that byte in the file */
	off_t		 size;		/* message bytes after the envelope */
	dev_t		 dev;		/* the file that was read */
	ino_t		 ino;
};

/* Which file queuefile_open() read, and where its message is. */
struct queuefile_mark {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 body;		/* offset of the message's first byte */
	off_t		 size;		/* message bytes after the envelope */
};

int	queuefile_create(const char *spool_dir, struct queuefile_new *);
int	queuefile_commit(const char *spool_dir, struct queuefile_new *);
void	queuefile_abort(struct queuefile_new *);
/* Wake the queue runner for a committed message; best effort. */
void	queuefile_announce(const char *spool_dir, const char *id);

/*
 * Open queue/XX/ID and read its envelope, which must name id.  0 with
 * qf filled in; -1 when the file cannot be opened or read (errno set,
 * ENOENT: no such message), -2 when it does not parse or is another
 * message's; either way "why" is in err and qf holds nothing to free.
 */
/*
 * The envelope and the message's size of queue file name in dirfd (a
 * descriptor of queue/XX, or AT_FDCWD and a path), read from its first
 * bytes, for a listing of many: 0, -1 (errno; ENOENT: gone), -2 (does
 * not parse, or is not id's; "why" in err).  envelope_free() env after.
 */
int	queuefile_head_at(int dirfd, const char *name, const char *id,
	    struct envelope *env, long long *size, char *err, size_t errlen);
int	queuefile_open(const char *spool_dir, const char *id,
	    struct queuefile *qf, char *err, size_t errlen);
/*
 * The same for ternq show: 0 also when the envelope names another id;
 * -2 when it does not parse, with qf->fp left where the parser stopped
 * (what follows can be shown); queuefile_close() in every case but -1.
 */
int	queuefile_view(const char *spool_dir, const char *id,
	    struct queuefile *qf, char *err, size_t errlen);
void	queuefile_close(struct queuefile *);
void	queuefile_mark(const struct queuefile *, struct queuefile_mark *);
/*
 * Open queue/XX/ID again for its message alone, *fp at mk->body, without
 * reading the envelope.  0; -1 when it cannot be opened (errno set,
 * ENOENT: gone), -2 when it is not the file mk was taken of (another
 * inode or size: replaced meanwhile); "why" in err, *fp NULL on error.
 */
int	queuefile_open_body(const char *spool_dir, const char *id,
	    const struct queuefile_mark *mk, FILE **fp, char *err,
	    size_t errlen);

#endif
