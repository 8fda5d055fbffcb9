/* SPDX-License-Identifier: ISC */
/*
 * spool.h - the spool directory: queue ids, atomic commit of new messages.
 *
 *	spool/tmp/ID		being written (removed at start-up if stale)
 *	spool/queue/XX/ID	committed queue file, immutable
 *	spool/state/XX/ID	per-recipient state, queue runner only
 *	spool/trigger		FIFO that wakes the queue runner
 *
 * XX is queueid_hash(id): two lowercase hex digits.  spool_open() makes a
 * tmp file; spool_commit() fsyncs it, renames it into queue/XX/ and
 * fsyncs that directory: one file fsync and one directory fsync, after
 * which the message survives a crash.  spool_abort() unlinks the tmp file.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

#include "envelope.h"
#include "queueid.h"

struct spool_file {
	char	 id[QUEUEID_LEN + 1];
	char	 tmppath[1024];
	FILE	*fp;			/* buffered writer on the tmp file */
	char	*iobuf;			/* fp's 64 KiB buffer, owned */
};

/*
 * Start-up.  Root only makes a missing spool directory and gives it to
 * the user (spool_make_top); the rest runs as that user: spool_setup()
 * makes or checks every part, never following a symbolic link, and
 * spool_clean_tmp() removes stale files from tmp/.  On error the first
 * two return -1 with "PATH: what is wrong" in err.
 */
int	spool_make_top(const char *spool_dir, uid_t, gid_t, char *err,
	    size_t errlen);
int	spool_setup(const char *spool_dir, char *err, size_t errlen);
int	spool_clean_tmp(const char *spool_dir);
int	spool_path(const char *spool_dir, const char *kind, const char *id,
	    char *out, size_t outlen);
int	spool_open(const char *spool_dir, struct spool_file *);
int	spool_commit(const char *spool_dir, struct spool_file *);
void	spool_abort(struct spool_file *);
void	spool_trigger(const char *spool_dir, const char *msg);
/* Write a whole state file atomically (tmp, fsync, rename). */
int	spool_write_state(const char *spool_dir, const struct state *);

#endif
