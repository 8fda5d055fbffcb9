/* SPDX-License-Identifier: ISC */
/*
 * faultshim.c - an LD_PRELOAD shim that lets tests/crashtest.py --power
 * throw away what a power cut would (issue 11).
 *
 * Loaded into every tern process (LD_PRELOAD, with FAULTSHIM_LOG naming
 * a log file and FAULTSHIM_UNDO a directory on the spool's file
 * system), it changes nothing that tern sees: each call goes on to the
 * real one.  It appends one line per event to the log, in the order the
 * calls return:
 *
 *   C dev:ino path        a regular file created by open(O_CREAT)
 *   W dev:ino size        an existing file opened for writing: its size
 *                         now is taken as already on disk
 *   S dev:ino size        fsync/fdatasync of a regular file: its size
 *   D path                fsync of a directory
 *   R old new backup|-    rename(); backup is a hard link, made first,
 *                         of the file that new replaced
 *   U path backup         unlink(); backup is a hard link made first
 *
 * After SIGKILL of every process, the driver reads the log as a disk
 * would come back from a power cut: a name made or removed in a
 * directory (C, R by its new name's directory, U) stands only if a D of
 * that directory follows it, else it is undone, newest first (a rename
 * back, the backup linked back); then a file created or written under
 * the shim is cut back to the size of its last S (or W; a new file with
 * no S to nothing).  It models appends and names, not overwrites in
 * place or mkdir; tern's spool writes new files and renames them.
 * Lines are in the order they were written, just after each call: a D
 * of another process written after an R may have begun before it.
 * That cannot hide a loss of tern's own commit, which fsyncs the
 * directory itself after its rename, before it answers 250.
 * With FAULTSHIM_NO_DIRSYNC set it leaves out the D lines, as if tern
 * never fsync'd a directory: the control that shows a trial can lose.
 *
 * Test code only: it runs in tern's processes as whatever user they are
 * and opens only the two paths of its environment.  Paths are taken to
 * hold no spaces (the log is split on them).
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int (*real_openat)(int, const char *, int, ...);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static unsigned long backups;

/* next - the real function name, looked up once */
static void *
next(void **slot, const char *name)
{
	if (*slot == NULL)
		*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

#define REAL(f)	((__typeof__(real_##f))next((void **)&real_##f, #f))

/* record - append one line to $FAULTSHIM_LOG (one write, O_APPEND) */
static void
record(const char *fmt, ...)
{
	char line[3 * PATH_MAX + 64];
	const char *log;
	va_list ap;
	int fd, n, saved = errno;

	if ((log = getenv("FAULTSHIM_LOG")) == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    (fd = REAL(openat)(AT_FDCWD, log, O_WRONLY | O_APPEND |
	    O_CLOEXEC)) != -1) {
		(void)write(fd, line, n);
		close(fd);
	}
	errno = saved;
}

/* abspath - dirfd/path as an absolute path, through /proc/self/fd */
static int
abspath(int dirfd, const char *path, char *out, size_t len)
{
	char link[64], dir[PATH_MAX];
	ssize_t n;

	if (path[0] == '/')
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
	if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return -1;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(link, dir, sizeof(dir) - 1)) == -1)
			return -1;
		dir[n] = '\0';
	}
	return snprintf(out, len, "%s/%s", dir, path) < (int)len ? 0 : -1;
}

/* backup - a hard link of path in $FAULTSHIM_UNDO, or "-" */
static void
backup(int dirfd, const char *path, char *out, size_t len)
{
	const char *undo = getenv("FAULTSHIM_UNDO");
	int saved = errno;

	snprintf(out, len, "-");
	if (undo != NULL) {
		snprintf(out, len, "%s/b%ld.%lu", undo, (long)getpid(),
		    ++backups);
		if (linkat(dirfd, path, AT_FDCWD, out, 0) == -1)
			snprintf(out, len, "-");
	}
	errno = saved;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	char abs[PATH_MAX];
	struct stat st;
	mode_t mode = 0;
	va_list ap;
	int fd, existed = 1;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (flags & O_CREAT)
		existed = fstatat(dirfd, path, &st, 0) == 0;
	if ((fd = REAL(openat)(dirfd, path, flags, mode)) == -1 ||
	    (flags & O_ACCMODE) == O_RDONLY || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode))
		return fd;
	if (!existed && abspath(dirfd, path, abs, sizeof(abs)) == 0)
		record("C %lu:%lu %s\n", (unsigned long)st.st_dev,
		    (unsigned long)st.st_ino, abs);
	else if (existed)
		record("W %lu:%lu %lld\n", (unsigned long)st.st_dev,
		    (unsigned long)st.st_ino, (long long)st.st_size);
	return fd;
}

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *, int, ...) __attribute__((alias("open")));
int openat64(int, const char *, int, ...) __attribute__((alias("openat")));

/* synced - after a good fsync: the file's size, or the directory */
static int
synced(int fd, int rc)
{
	char link[64], dir[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (rc == -1 || fstat(fd, &st) == -1)
		return rc;
	if (S_ISREG(st.st_mode))
		record("S %lu:%lu %lld\n", (unsigned long)st.st_dev,
		    (unsigned long)st.st_ino, (long long)st.st_size);
	else if (S_ISDIR(st.st_mode) &&
	    getenv("FAULTSHIM_NO_DIRSYNC") == NULL) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, dir, sizeof(dir) - 1)) != -1) {
			dir[n] = '\0';
			record("D %s\n", dir);
		}
	}
	return rc;
}

int
fsync(int fd)
{
	return synced(fd, REAL(fsync)(fd));
}

int
fdatasync(int fd)
{
	return synced(fd, REAL(fdatasync)(fd));
}

int
renameat(int olddirfd, const char *old, int newdirfd, const char *new)
{
	char a[PATH_MAX], b[PATH_MAX], bk[PATH_MAX];
	int rc;

	backup(newdirfd, new, bk, sizeof(bk));
	if ((rc = REAL(renameat)(olddirfd, old, newdirfd, new)) == 0 &&
	    abspath(olddirfd, old, a, sizeof(a)) == 0 &&
	    abspath(newdirfd, new, b, sizeof(b)) == 0)
		record("R %s %s %s\n", a, b, bk);
	return rc;
}

int
rename(const char *old, const char *new)
{
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char a[PATH_MAX], bk[PATH_MAX];
	int rc;

	if (flags & AT_REMOVEDIR)
		return REAL(unlinkat)(dirfd, path, flags);
	backup(dirfd, path, bk, sizeof(bk));
	if ((rc = REAL(unlinkat)(dirfd, path, flags)) == 0 &&
	    abspath(dirfd, path, a, sizeof(a)) == 0)
		record("U %s %s\n", a, bk);
	return rc;
}

int
unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}
