/* SPDX-License-Identifier: ISC */
/*
 * spool.h - the spool directory: its layout, paths and start-up check.
 *
 *	spool/tmp/ID		being written (removed at start-up if stale)
 *	spool/queue/XX/ID	committed queue file, immutable
 *	spool/state/XX/ID	per-recipient state, queue runner only
 *	spool/trigger		FIFO that wakes the queue runner
 *	spool/lock		locked by the queue runner while it runs
 *
 * XX is queueid_hash(id): two lowercase hex digits.  The queue file is
 * created, committed, announced and opened through queuefile.h only.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

#include "queueid.h"

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
/* kind "queue" or "state": dir/kind/XX/ID */
int	spool_path(const char *spool_dir, const char *kind, const char *id,
	    char *out, size_t outlen);
/* dir/tmp/NAME, where a file is written before its rename */
int	spool_tmppath(const char *spool_dir, const char *name, char *out,
	    size_t outlen);
/* fsync dir/kind/XX, so a rename into it survives a crash */
int	spool_sync(const char *spool_dir, const char *kind, const char *id);
/* fsync a directory by its path */
int	spool_sync_dir(const char *path);
/*
 * Is there room for a message of size bytes (0 or -1: none declared)
 * that leaves minfree bytes free in the spool's file system?  1 or 0.
 */
int	spool_has_room(const char *spool_dir, long long minfree,
	    long long size);
/* One line (shorter than PIPE_BUF) to the trigger FIFO; never blocks. */
void	spool_trigger(const char *spool_dir, const char *msg);
/*
 * The queue runner's lock, held for its lifetime: whoever holds it is
 * the one writer of state files and remover of messages (ternq takes it
 * only while the runner is down).  fcntl(2), so forked children do not
 * hold it.  A descriptor to close, or -1 (EAGAIN: held, with wait 0).
 */
int	spool_lock(const char *spool_dir, int wait);

#endif
