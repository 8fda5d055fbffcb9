/* SPDX-License-Identifier: ISC */
/*
 * priv.h - give up root for good.
 *
 * priv_become(uid, gid) sets the supplementary groups to gid alone, then
 * the gid, then the uid, and checks that root cannot be regained.  It
 * does nothing (and returns 0) when the process is not root, so tests
 * run as an ordinary user take the same path.  -1 (logged) on failure:
 * the caller must exit.  In lib/, so that every process that starts as
 * root (the master's children, the auth checker) takes the same steps.
 */
#ifndef TERN_PRIV_H
#define TERN_PRIV_H

#include <sys/resource.h>
#include <sys/types.h>

int	priv_become(uid_t, gid_t);
/*
 * priv_spool_owner - as root, become for good the user and group that own
 * spool_dir (unless root does), before a byte of the spool is read: the
 * rule for mailq and ternq run by root.  0, or -1 with errno set.
 */
int	priv_spool_owner(const char *spool_dir);
/*
 * priv_limits - lower RLIMIT_NOFILE, RLIMIT_FSIZE (SIGXFSZ then ignored,
 * so an oversized write fails with EFBIG) and RLIMIT_DATA; 0 leaves one.
 */
void	priv_limits(rlim_t nofile, rlim_t fsize, rlim_t data);

#endif
