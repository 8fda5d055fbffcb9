/* SPDX-License-Identifier: ISC */
/*
 * spool.c - the spool directory: its layout and paths, its start-up
 * check, the directory fsync that makes a rename durable, its free
 * space (queue_minfree), the trigger FIFO, and the queue runner's lock.
 * What is in the files is not known here: the queue file is
 * queuefile.c's, the state file statefile.c's.
 *
 * The XX directories are made once by spool_setup(), so a commit never
 * needs a mkdir and never fsyncs more than one directory.  Start-up work
 * in the spool runs as its owner and follows no symbolic link in it.
 *
 * Queue ids are made and checked in queueid.c.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queueid.h"
#include "spool.h"


/* spool_fmt - snprintf that fails with ENAMETOOLONG on truncation */
static int __attribute__((format(printf, 3, 4)))
spool_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * spool_idpath - "dir/kind/XX/ID", or with file 0 the directory
 * "dir/kind/XX" that holds it.
 */
static int
spool_idpath(const char *dir, const char *kind, const char *id, int file,
    char *out, size_t outlen)
{
	char	 hash[3];

	if ((strcmp(kind, "queue") != 0 && strcmp(kind, "state") != 0) ||
	    !queueid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	queueid_hash(id, hash);
	if (!file)
		return spool_fmt(out, outlen, "%s/%s/%s", dir, kind, hash);
	return spool_fmt(out, outlen, "%s/%s/%s/%s", dir, kind, hash, id);
}

/* spool_path - "dir/queue/XX/ID" or "dir/state/XX/ID" */
int
spool_path(const char *dir, const char *kind, const char *id, char *out,
    size_t outlen)
{
	return spool_idpath(dir, kind, id, 1, out, outlen);
}

/* spool_tmppath - "dir/tmp/NAME", the place to write a file before it
 * is renamed into queue/ or state/ */
int
spool_tmppath(const char *dir, const char *name, char *out, size_t outlen)
{
	return spool_fmt(out, outlen, "%s/tmp/%s", dir, name);
}

/* spool_err - "DIR/NAME: what is wrong" into err; returns -1 */
static int __attribute__((format(printf, 5, 6)))
spool_err(char *err, size_t errlen, const char *dir, const char *name,
    const char *fmt, ...)
{
	char	 what[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s%s: %s", dir, name[0] ? "/" : "", name,
	    what);
	return -1;
}

/* spool_is_ours - the type wanted, and owned by the user we run as */
static int
spool_is_ours(const struct stat *st, mode_t type, const char *dir,
    const char *name, char *err, size_t errlen)
{
	if ((st->st_mode & S_IFMT) != type)
		return spool_err(err, errlen, dir, name, "%s, not a %s",
		    S_ISLNK(st->st_mode) ? "is a symbolic link" :
		    S_ISDIR(st->st_mode) ? "is a directory" :
		    S_ISREG(st->st_mode) ? "is a file" : "is a special file",
		    type == S_IFDIR ? "directory" : "FIFO");
	if (st->st_uid != geteuid())
		return spool_err(err, errlen, dir, name, "is owned by uid %ld, "
		    "not by uid %ld (the user that runs tern)",
		    (long)st->st_uid, (long)geteuid());
	return 0;
}

/*
 * spool_subdir - make (if missing) and open the directory name in dfd
 * without following a symbolic link; it must be ours.  fd or -1.
 */
static int
spool_subdir(int dfd, const char *dir, const char *name, char *err,
    size_t errlen)
{
	struct stat st;
	int	 fd, saved;

	if (mkdirat(dfd, name, 0700) == -1 && errno != EEXIST)
		return spool_err(err, errlen, dir, name, "cannot create: %s",
		    strerror(errno));
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    spool_is_ours(&st, S_IFDIR, dir, name, err, errlen) == -1)
			return -1;
		return spool_err(err, errlen, dir, name, "%s",
		    strerror(saved));
	}
	if (fstat(fd, &st) == -1)
		spool_err(err, errlen, dir, name, "%s", strerror(errno));
	else if (spool_is_ours(&st, S_IFDIR, dir, name, err, errlen) == 0)
		return fd;
	close(fd);
	return -1;
}

/* spool_hashdirs - kind/00 .. kind/ff under dfd */
static int
spool_hashdirs(int dfd, const char *dir, const char *kind, char *err,
    size_t errlen)
{
	char	 path[PATH_MAX], hash[3];
	int	 kfd, fd, i;

	if ((kfd = spool_subdir(dfd, dir, kind, err, errlen)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, kind);
	for (i = 0; i < 256; i++) {
		snprintf(hash, sizeof(hash), "%02x", i);
		if ((fd = spool_subdir(kfd, path, hash, err, errlen)) == -1)
			break;
		close(fd);
	}
	close(kfd);
	return i == 256 ? 0 : -1;
}

/* spool_top - make (if missing) and open the spool directory itself */
static int
spool_top(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int	 fd, saved;

	/* The path is the administrator's: a link in it is theirs too. */
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return spool_err(err, errlen, dir, "", "cannot create: %s",
		    strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		saved = errno;
		if (stat(dir, &st) == 0 && spool_is_ours(&st, S_IFDIR, dir, "",
		    err, errlen) == -1)
			return -1;
		return spool_err(err, errlen, dir, "", "%s", strerror(saved));
	}
	if (fstat(fd, &st) == -1) {
		spool_err(err, errlen, dir, "", "%s", strerror(errno));
		goto fail;
	}
	if (spool_is_ours(&st, S_IFDIR, dir, "", err, errlen) == -1)
		goto fail;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		spool_err(err, errlen, dir, "", "is writable by others "
		    "(mode %04o; make it 0700)", (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* spool_fifo - the trigger FIFO, made if missing; it must be ours */
static int
spool_fifo(int dfd, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkfifoat(dfd, "trigger", 0600) == -1 && errno != EEXIST)
		return spool_err(err, errlen, dir, "trigger", "cannot create: "
		    "%s", strerror(errno));
	if (fstatat(dfd, "trigger", &st, AT_SYMLINK_NOFOLLOW) == -1)
		return spool_err(err, errlen, dir, "trigger", "%s",
		    strerror(errno));
	return spool_is_ours(&st, S_IFIFO, dir, "trigger", err, errlen);
}

/*
 * spool_setup - make the spool tree, or check the one that is there:
 * idempotent, so every start-up runs it.  It runs as the spool's owner
 * (ternd forks a child that drops to `user` for it) and follows no
 * symbolic link inside the spool: each part is made with mkdirat() and
 * opened with O_NOFOLLOW from its parent's descriptor, and it must be a
 * directory (trigger: a FIFO) owned by the user we run as.  -1 with
 * "PATH: what is wrong" in err (which may be NULL with errlen 0).
 */
int
spool_setup(const char *dir, char *err, size_t errlen)
{
	int	 dfd, fd, rc = -1;

	if (errlen > 0)
		err[0] = '\0';
	if ((dfd = spool_top(dir, err, errlen)) == -1)
		return -1;
	if ((fd = spool_subdir(dfd, dir, "tmp", err, errlen)) != -1 &&
	    spool_hashdirs(dfd, dir, "queue", err, errlen) == 0 &&
	    spool_hashdirs(dfd, dir, "state", err, errlen) == 0 &&
	    spool_fifo(dfd, dir, err, errlen) == 0)
		rc = 0;
	if (fd != -1)
		close(fd);
	close(dfd);
	return rc;
}

/*
 * spool_make_top - root's one step at start-up: create the spool
 * directory itself when it is missing (its parent, /var/spool, is
 * root's) and give it to uid/gid.  An existing one is left alone for
 * spool_setup() to check.
 */
int
spool_make_top(const char *dir, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	int	 fd, rc = 0;

	if (mkdir(dir, 0700) == -1)
		return errno == EEXIST ? 0 : spool_err(err, errlen, dir, "",
		    "cannot create: %s", strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fchown(fd, uid, gid) == -1)
		rc = spool_err(err, errlen, dir, "", "cannot give it to uid "
		    "%ld: %s", (long)uid, strerror(errno));
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * spool_clean_tmp - remove the regular files of ours left in tmp/,
 * through a descriptor opened without following a link: nothing outside
 * the spool can be reached from here.
 */
int
spool_clean_tmp(const char *dir)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR	*d;
	int	 fd, rc = 0, removed = 0;

	if (spool_fmt(path, sizeof(path), "%s/tmp", dir) == -1 ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1) {
			log_warn("spool: unlink %s/%s", path, de->d_name);
			rc = -1;
		} else
			removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("spool: removed %d stale files from %s", removed,
		    path);
	return rc;
}

/* spool_sync_dir - fsync a directory, so the names in it are durable */
int
spool_sync_dir(const char *path)
{
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* spool_sync - fsync the directory kind/XX that holds the file of id */
int
spool_sync(const char *dir, const char *kind, const char *id)
{
	char	 path[PATH_MAX];

	if (spool_idpath(dir, kind, id, 0, path, sizeof(path)) == -1)
		return -1;
	return spool_sync_dir(path);
}

/*
 * spool_has_room - may a message of size bytes (0: not declared) come
 * in, leaving minfree free?  It needs minfree plus 1.5 times size, the
 * room of the queue file and of a bounce that quotes it.  The space is
 * what an unprivileged user may still use (f_bavail): the SMTP server
 * is one.  1 yes, 0 no; a file system that cannot tell says yes, and a
 * write that then fails is answered at the end of the data.
 */
int
spool_has_room(const char *dir, long long minfree, long long size)
{
	struct statvfs	 sv;
	unsigned long long avail, need;

	if (size < 0)
		size = 0;
	need = (unsigned long long)minfree + (unsigned long long)size +
	    (unsigned long long)size / 2;
	if (need == 0 || statvfs(dir, &sv) == -1 || sv.f_frsize == 0)
		return 1;
	if (sv.f_bavail > ULLONG_MAX / sv.f_frsize)
		return 1;
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return avail >= need;
}

/*
 * spool_trigger_write - write with SIGPIPE blocked: a reader that goes
 * away between open and write must not kill a session.  A SIGPIPE made
 * here is taken off the pending set before the mask is restored.
 */
static ssize_t
spool_trigger_write(int fd, const char *msg, size_t len)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set, old, pending;
	ssize_t	 n;
	int	 was_pending, saved;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	n = write(fd, msg, len);
	saved = errno;
	if (n == -1 && errno == EPIPE && !was_pending)
		sigtimedwait(&set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

/* spool_trigger - wake the queue runner; best effort, never blocks */
void
spool_trigger(const char *dir, const char *msg)
{
	char	 path[PATH_MAX];
	size_t	 len = strlen(msg);
	int	 fd;

	if (len == 0 || len >= PIPE_BUF ||
	    spool_fmt(path, sizeof(path), "%s/trigger", dir) == -1)
		return;
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno != ENXIO)
			log_warn("spool: open %s", path);
		return;
	}
	if (spool_trigger_write(fd, msg, len) == -1 && errno != EAGAIN &&
	    errno != EPIPE)
		log_warn("spool: write %s", path);
	close(fd);
}

/*
 * spool_lock - the queue runner's lock: a write lock on spool/lock,
 * made if missing.  It is an fcntl(2) lock, so it belongs to the process
 * that took it and not to the children it forks, and it goes away with
 * that process.  wait 0: -1 with errno EAGAIN when another process holds
 * it.  Returns the descriptor (close it to let go), or -1.
 */
int
spool_lock(const char *dir, int wait)
{
	char	 path[PATH_MAX];
	struct flock fl;
	int	 fd, saved;

	if (spool_fmt(path, sizeof(path), "%s/lock", dir) == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) == -1) {
		if (errno == EINTR && wait)
			continue;
		saved = errno;
		close(fd);
		errno = saved == EACCES ? EAGAIN : saved;
		return -1;
	}
	return fd;
}
