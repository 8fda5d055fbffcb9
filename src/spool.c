/* SPDX-License-Identifier: ISC */
/*
 * spool.c - the spool directory: queue ids, the atomic commit of a new
 * queue file, atomic replacement of a state file, and the trigger FIFO.
 *
 *	spool_open(dir, &sf)	tmp/ID, O_EXCL, buffered in sf.fp
 *	spool_commit(dir, &sf)	fsync, rename to queue/XX/ID, fsync XX/
 *	spool_abort(&sf)	close and unlink tmp/ID
 *
 * Invariant: a file in queue/ is whole and fsync'd, and so is the entry
 * in its directory, before the caller may say "250 queued" (RFC 5321
 * section 6.1: accepting a message is a promise to deliver or bounce
 * it).  A crash leaves either no queue file or a whole one; a partial
 * file can only be in tmp/, which spool_clean_tmp() empties at start-up.
 * The XX directories are made once by spool_setup(), so a commit never
 * needs a mkdir and never fsyncs more than one directory.
 *
 * Queue ids are 15 characters of a 32-letter alphabet kept in ASCII
 * order: 7 for the seconds since the epoch, 4 for the microseconds and 4
 * for the low 20 bits of the pid.  Within one process the (seconds,
 * microseconds) pair is forced to grow, so ids of one process never repeat
 * and sort by arrival; across processes the pid keeps them apart.
 */
#include <sys/stat.h>
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

#include "envelope.h"
#include "log.h"
#include "spool.h"

#define SPOOL_IOBUF	(64 * 1024)
#define SPOOL_TRIES	8		/* fresh ids tried on EEXIST */

static const char spool_alphabet[] = "0123456789ABCDFGHJKLMNPQRSTVWXYZ";

/* spool_put32 - v as n base-32 digits, most significant first */
static void
spool_put32(char *out, unsigned long long v, int n)
{
	while (n-- > 0) {
		out[n] = spool_alphabet[v & 31];
		v >>= 5;
	}
}

void
spool_new_id(char id[QUEUEID_LEN + 1])
{
	static long long last_sec = -1;
	static long	 last_usec;
	struct timespec	 ts;
	long long	 sec;
	long		 usec;

	clock_gettime(CLOCK_REALTIME, &ts);
	sec = ts.tv_sec;
	usec = ts.tv_nsec / 1000;
	/* Same microsecond or a clock step back: count on from the last id. */
	if (sec < last_sec || (sec == last_sec && usec <= last_usec)) {
		sec = last_sec;
		if ((usec = last_usec + 1) >= 1000000) {
			sec++;
			usec = 0;
		}
	}
	last_sec = sec;
	last_usec = usec;
	spool_put32(id, (unsigned long long)sec, 7);
	spool_put32(id + 7, (unsigned long long)usec, 4);
	spool_put32(id + 11, (unsigned long long)getpid() & 0xfffff, 4);
	id[QUEUEID_LEN] = '\0';
}

int
spool_is_valid_id(const char *id)
{
	size_t	 i;

	if (id == NULL)
		return 0;
	for (i = 0; i < QUEUEID_LEN; i++)
		if (id[i] == '\0' || strchr(spool_alphabet, id[i]) == NULL)
			return 0;
	return id[QUEUEID_LEN] == '\0';
}

/* spool_hash - FNV-1a 32 of the id; its low byte names the directory */
void
spool_hash(const char *id, char out[3])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)id; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	out[0] = hex[(h >> 4) & 0xf];
	out[1] = hex[h & 0xf];
	out[2] = '\0';
}

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
	    !spool_is_valid_id(id)) {
		errno = EINVAL;
		return -1;
	}
	spool_hash(id, hash);
	if (!file)
		return spool_fmt(out, outlen, "%s/%s/%s", dir, kind, hash);
	return spool_fmt(out, outlen, "%s/%s/%s/%s", dir, kind, hash, id);
}

int
spool_path(const char *dir, const char *kind, const char *id, char *out,
    size_t outlen)
{
	return spool_idpath(dir, kind, id, 1, out, outlen);
}

/* spool_own - chown path to the spool user when running as root */
static int
spool_own(const char *path, long uid, long gid)
{
	if (uid < 0)
		return 0;
	return lchown(path, (uid_t)uid, gid < 0 ? (gid_t)-1 : (gid_t)gid);
}

/* spool_mkdir - make a directory, or accept an existing one */
static int
spool_mkdir(const char *path, long uid, long gid)
{
	struct stat st;

	if (mkdir(path, 0700) == -1) {
		if (errno != EEXIST)
			return -1;
		if (stat(path, &st) == -1)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return spool_own(path, uid, gid);
}

/* spool_mkfifo - make the trigger FIFO, or accept an existing one */
static int
spool_mkfifo(const char *path, long uid, long gid)
{
	struct stat st;

	if (mkfifo(path, 0600) == -1) {
		if (errno != EEXIST)
			return -1;
		if (lstat(path, &st) == -1)
			return -1;
		if (!S_ISFIFO(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
	}
	return spool_own(path, uid, gid);
}

/*
 * spool_setup - make the spool tree; idempotent, so every start-up runs
 * it.  -1 with errno on the first failure.
 */
int
spool_setup(const char *dir, long uid, long gid)
{
	static const char *const kinds[] = { "tmp", "queue", "state" };
	char	 path[PATH_MAX], hash[3];
	size_t	 k;
	int	 i;

	if (spool_mkdir(dir, uid, gid) == -1)
		return -1;
	for (k = 0; k < 3; k++) {
		if (spool_fmt(path, sizeof(path), "%s/%s", dir,
		    kinds[k]) == -1 || spool_mkdir(path, uid, gid) == -1)
			return -1;
		for (i = 0; k > 0 && i < 256; i++) {
			snprintf(hash, sizeof(hash), "%02x", i);
			if (spool_fmt(path, sizeof(path), "%s/%s/%s", dir,
			    kinds[k], hash) == -1 ||
			    spool_mkdir(path, uid, gid) == -1)
				return -1;
		}
	}
	if (spool_fmt(path, sizeof(path), "%s/trigger", dir) == -1 ||
	    spool_mkfifo(path, uid, gid) == -1)
		return -1;
	return 0;
}

/* spool_clean_tmp - remove every regular file left in tmp/ */
int
spool_clean_tmp(const char *dir)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR	*d;
	int	 rc = 0, removed = 0;

	if (spool_fmt(path, sizeof(path), "%s/tmp", dir) == -1 ||
	    (d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
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
static int
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

/* spool_create - O_EXCL-create tmp/ID under a fresh id; sf->id is set */
static int
spool_create(const char *dir, struct spool_file *sf)
{
	char	 path[sizeof(sf->tmppath)];
	int	 fd = -1, tries;

	for (tries = 0; fd == -1 && tries < SPOOL_TRIES; tries++) {
		spool_new_id(sf->id);
		if (spool_fmt(path, sizeof(path), "%s/tmp/%s", dir,
		    sf->id) == -1)
			return -1;
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	if (fd != -1)
		memcpy(sf->tmppath, path, sizeof(path));
	return fd;
}

int
spool_open(const char *dir, struct spool_file *sf)
{
	int	 fd, saved;

	memset(sf, 0, sizeof(*sf));
	if ((fd = spool_create(dir, sf)) == -1)
		return -1;
	if ((sf->iobuf = malloc(SPOOL_IOBUF)) == NULL ||
	    (sf->fp = fdopen(fd, "w")) == NULL)
		goto fail;
	fd = -1;
	if (setvbuf(sf->fp, sf->iobuf, _IOFBF, SPOOL_IOBUF) != 0) {
		errno = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	spool_abort(sf);
	errno = saved;
	return -1;
}

/* spool_close - flush, fsync and close sf->fp, checking every step */
static int
spool_close(struct spool_file *sf)
{
	int	 rc;

	errno = 0;
	if (fflush(sf->fp) == EOF || ferror(sf->fp)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	if (fsync(fileno(sf->fp)) == -1)
		return -1;
	rc = fclose(sf->fp);
	sf->fp = NULL;
	free(sf->iobuf);
	sf->iobuf = NULL;
	return rc == EOF ? -1 : 0;
}

int
spool_commit(const char *dir, struct spool_file *sf)
{
	char	 path[PATH_MAX], qdir[PATH_MAX];
	int	 saved;

	if (sf->fp == NULL || sf->tmppath[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (spool_path(dir, "queue", sf->id, path, sizeof(path)) == -1 ||
	    spool_idpath(dir, "queue", sf->id, 0, qdir, sizeof(qdir)) == -1 ||
	    spool_close(sf) == -1 || rename(sf->tmppath, path) == -1)
		goto fail;
	sf->tmppath[0] = '\0';
	if (spool_sync_dir(qdir) == -1) {
		/* The client will be told 4xx and retry: do not keep it. */
		saved = errno;
		log_warn("%s: fsync %s", sf->id, qdir);
		unlink(path);
		errno = saved;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	spool_abort(sf);
	errno = saved;
	return -1;
}

/* spool_abort - drop an uncommitted file; safe to call more than once */
void
spool_abort(struct spool_file *sf)
{
	int	 saved = errno;

	if (sf->fp != NULL)
		fclose(sf->fp);
	sf->fp = NULL;
	free(sf->iobuf);
	sf->iobuf = NULL;
	if (sf->tmppath[0] != '\0')
		unlink(sf->tmppath);
	sf->tmppath[0] = '\0';
	errno = saved;
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

/* spool_state_tmp - write st into a new tmp file and fsync it */
static int
spool_state_tmp(const char *tmp, const struct state *st)
{
	FILE	*fp;
	int	 fd, rc;

	if ((unlink(tmp) == -1 && errno != ENOENT) ||
	    (fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	errno = 0;
	rc = state_write(fp, st) == -1 || fflush(fp) == EOF || ferror(fp) ||
	    fsync(fd) == -1 ? -1 : 0;
	if (rc == -1 && errno == 0)
		errno = EIO;
	if (fclose(fp) == EOF && rc == 0)
		rc = -1;
	return rc;
}

/*
 * spool_write_state - replace state/XX/ID as a whole: tmp/ID.state,
 * fsync, rename over the old one, fsync state/XX.
 */
int
spool_write_state(const char *dir, const struct state *st)
{
	char	 tmp[PATH_MAX], path[PATH_MAX], sdir[PATH_MAX];
	int	 saved;

	if (spool_path(dir, "state", st->id, path, sizeof(path)) == -1 ||
	    spool_idpath(dir, "state", st->id, 0, sdir, sizeof(sdir)) == -1 ||
	    spool_fmt(tmp, sizeof(tmp), "%s/tmp/%s.state", dir, st->id) == -1)
		return -1;
	if (spool_state_tmp(tmp, st) == -1 || rename(tmp, path) == -1)
		goto fail;
	return spool_sync_dir(sdir);
fail:
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}
