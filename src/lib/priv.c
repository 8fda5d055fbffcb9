/* SPDX-License-Identifier: ISC */
/*
 * priv.c - give up root for good: groups, gid, uid, then a check.
 *
 * The order matters: setgroups() and setgid() need root, so they come
 * before setuid(); the check that setuid(0) now fails proves the saved
 * set-user-ID is gone too.
 */
#include <grp.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

int
priv_become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		log_warn("cannot drop privileges to uid %ld", (long)uid);
		return -1;
	}
	if (uid != 0 && (getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid || setuid(0) != -1)) {
		log_warnx("privileges to uid %ld not dropped", (long)uid);
		return -1;
	}
	return 0;
}
