/* SPDX-License-Identifier: ISC */
/*
 * priv.c - give up root for good: groups, gid, uid, then a check.
 *
 * The order matters: setgroups() and setgid() need root, so they come
 * before setuid(); the check that setuid(0) now fails proves the saved
 * set-user-ID is gone too.
 *
 * priv_limits() lowers a child's resource limits, never raises them:
 * an administrator's lower limit (ulimit, systemd's LimitNOFILE=) stays.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

/* become - groups, gid, uid, then proof root is gone; -1, errno set */
static int
become(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1)
		return -1;
	if (uid != 0 && (getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid || setuid(0) != -1)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
priv_become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0 || become(uid, gid) == 0)
		return 0;
	log_warn("cannot drop privileges to uid %ld", (long)uid);
	return -1;
}

int
priv_spool_owner(const char *spool_dir)
{
	struct stat sb;

	if (geteuid() != 0 || stat(spool_dir, &sb) == -1 || sb.st_uid == 0)
		return 0;
	return become(sb.st_uid, sb.st_gid);
}

/* Lower one limit to v (0: leave it); a higher current value only. */
static void
limit_one(int res, const char *name, rlim_t v)
{
	struct rlimit rl;

	if (v == 0 || getrlimit(res, &rl) == -1)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= v)
		return;
	rl.rlim_cur = v;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > v)
		rl.rlim_max = v;
	if (setrlimit(res, &rl) == -1)
		log_warn("cannot set %s to %llu", name, (unsigned long long)v);
}

void
priv_limits(rlim_t nofile, rlim_t fsize, rlim_t data)
{
	limit_one(RLIMIT_NOFILE, "RLIMIT_NOFILE", nofile);
	if (fsize != 0) {
		/* past the limit write(2) fails with EFBIG, no signal */
		signal(SIGXFSZ, SIG_IGN);
		limit_one(RLIMIT_FSIZE, "RLIMIT_FSIZE", fsize);
	}
	limit_one(RLIMIT_DATA, "RLIMIT_DATA", data);
}
