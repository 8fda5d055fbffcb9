/* SPDX-License-Identifier: ISC */
/*
 * queuefile.c - the queue file's one owner: create it in tmp/, commit
 * it into queue/XX/, announce it to the queue runner, and open it for
 * every reader with its envelope parsed, or (for a delivery agent, which
 * has the queue runner's parse) for its message alone (interface in
 * queuefile.h, the envelope's format in envelope.h and envelope.c).
 *
 * Invariant: a file in queue/ is whole and fsync'd, and so is its
 * directory entry, before queuefile_commit() returns 0; a partial file
 * can only be in tmp/.  A queue file never changes once committed, so
 * one queuefile_open() is a consistent view of the message, and a
 * queuefile_open_body() of the same inode and size sees the same one.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "kvline.h"
#include "log.h"
#include "queuefile.h"
#include "queueid.h"
#include "spool.h"

#define QUEUEFILE_IOBUF	(64 * 1024)
#define QUEUEFILE_TRIES	8		/* fresh ids tried on EEXIST */

/* queuefile_mktmp - O_EXCL-create tmp/ID under a fresh id; nf->id is set */
static int
queuefile_mktmp(const char *dir, struct queuefile_new *nf)
{
	char	 path[sizeof(nf->tmppath)];
	int	 fd = -1, tries;

	for (tries = 0; fd == -1 && tries < QUEUEFILE_TRIES; tries++) {
		queueid_new(nf->id);
		if (spool_tmppath(dir, nf->id, path, sizeof(path)) == -1)
			return -1;
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	if (fd != -1)
		memcpy(nf->tmppath, path, sizeof(path));
	return fd;
}

/* queuefile_create - a new, empty queue file in tmp/ under a fresh id */
int
queuefile_create(const char *dir, struct queuefile_new *nf)
{
	int	 fd, saved;

	memset(nf, 0, sizeof(*nf));
	if ((fd = queuefile_mktmp(dir, nf)) == -1)
		return -1;
	if ((nf->iobuf = malloc(QUEUEFILE_IOBUF)) == NULL ||
	    (nf->fp = fdopen(fd, "w")) == NULL)
		goto fail;
	fd = -1;
	if (setvbuf(nf->fp, nf->iobuf, _IOFBF, QUEUEFILE_IOBUF) != 0) {
		errno = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	queuefile_abort(nf);
	errno = saved;
	return -1;
}

/* queuefile_flush - flush, fsync and close nf->fp, checking every step */
static int
queuefile_flush(struct queuefile_new *nf)
{
	int	 rc;

	errno = 0;
	if (fflush(nf->fp) == EOF || ferror(nf->fp)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	if (fsync(fileno(nf->fp)) == -1)
		return -1;
	rc = fclose(nf->fp);
	nf->fp = NULL;
	free(nf->iobuf);
	nf->iobuf = NULL;
	return rc == EOF ? -1 : 0;
}

/*
 * queuefile_commit - make the new file a message: flush and fsync it,
 * rename it into queue/XX/, fsync that directory.  On failure nothing
 * is left, in tmp/ or in queue/.
 */
int
queuefile_commit(const char *dir, struct queuefile_new *nf)
{
	char	 path[PATH_MAX];
	int	 saved;

	if (nf->fp == NULL || nf->tmppath[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (spool_path(dir, "queue", nf->id, path, sizeof(path)) == -1 ||
	    queuefile_flush(nf) == -1 || rename(nf->tmppath, path) == -1)
		goto fail;
	nf->tmppath[0] = '\0';
	if (spool_sync(dir, "queue", nf->id) == -1) {
		/* The client will be told 4xx and retry: do not keep it. */
		saved = errno;
		log_warn("%s: fsync the directory of %s", nf->id, path);
		unlink(path);
		errno = saved;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	queuefile_abort(nf);
	errno = saved;
	return -1;
}

/* queuefile_abort - drop an uncommitted file; safe to call more than once */
void
queuefile_abort(struct queuefile_new *nf)
{
	int	 saved = errno;

	if (nf->fp != NULL)
		fclose(nf->fp);
	nf->fp = NULL;
	free(nf->iobuf);
	nf->iobuf = NULL;
	if (nf->tmppath[0] != '\0')
		unlink(nf->tmppath);
	nf->tmppath[0] = '\0';
	errno = saved;
}


/* queuefile_announce - "new ID" on the trigger FIFO: load it, attempt it */
void
queuefile_announce(const char *dir, const char *id)
{
	char	 line[QUEUEID_LEN + 8];

	if (!queueid_valid(id))
		return;
	snprintf(line, sizeof(line), "new %s\n", id);
	spool_trigger(dir, line);
}

/* queuefile_read - the envelope of fp, which must be id's unless !check;
 * 0, -1, -2 */
static int
queuefile_read(FILE *fp, const char *id, int check, struct queuefile *qf,
    char *err, size_t errlen)
{
	struct stat sb;
	int	 saved;

	if (envelope_read(fp, &qf->env, err, errlen) == -1)
		return -2;
	if (check && strcmp(qf->env.id, id) != 0) {
		snprintf(err, errlen, "id mismatch");
		return -2;
	}
	if ((qf->body = ftello(fp)) == -1 || fstat(fileno(fp), &sb) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s", strerror(saved));
		errno = saved;
		return -1;
	}
	qf->size = sb.st_size > qf->body ? sb.st_size - qf->body : 0;
	qf->dev = sb.st_dev;
	qf->ino = sb.st_ino;
	return 0;
}

/* queuefile_fopen - queue/XX/ID for reading; NULL with "why" in err */
static FILE *
queuefile_fopen(const char *dir, const char *id, char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	FILE	*fp;
	int	 saved;

	if (spool_path(dir, "queue", id, path, sizeof(path)) == -1 ||
	    (fp = fopen(path, "re")) == NULL) {
		saved = errno;
		snprintf(err, errlen, "%s", strerror(saved));
		errno = saved;
		return NULL;
	}
	return fp;
}

/* queuefile_load - open and read id's file into qf; qf->fp stays open
 * unless -1 is returned (see queuefile_view) */
static int
queuefile_load(const char *dir, const char *id, int check,
    struct queuefile *qf, char *err, size_t errlen)
{
	int	 rc, saved;

	memset(qf, 0, sizeof(*qf));
	envelope_init(&qf->env);
	if ((qf->fp = queuefile_fopen(dir, id, err, errlen)) == NULL)
		return -1;
	if ((rc = queuefile_read(qf->fp, id, check, qf, err, errlen)) == -1) {
		saved = errno;
		queuefile_close(qf);
		errno = saved;
	}
	return rc;
}

int
queuefile_open(const char *dir, const char *id, struct queuefile *qf,
    char *err, size_t errlen)
{
	int	 rc;

	if ((rc = queuefile_load(dir, id, 1, qf, err, errlen)) == -2) {
		queuefile_close(qf);
		errno = EINVAL;
	}
	return rc;
}

/*
 * queuefile_view - queuefile_open() for a person looking at the file:
 * its envelope is shown even if it names another id, and a file that
 * does not parse keeps qf->fp where the parser stopped, so that the rest
 * of its bytes can be shown too.
 */
int
queuefile_view(const char *dir, const char *id, struct queuefile *qf,
    char *err, size_t errlen)
{
	return queuefile_load(dir, id, 0, qf, err, errlen);
}

/*
 * queuefile_head_at - the envelope and message size of queue file name
 * in dirfd (a descriptor of queue/XX), for a listing of many: one read
 * of its first bytes, parsed in memory, and an fstat(); an envelope
 * longer than that read is read again through stdio.  The body is not
 * read.  0; -1 when it cannot be opened or read (errno set); -2 when it
 * does not parse or is not id's ("why" in err).  env is always to be
 * freed.
 */
int
queuefile_head_at(int dirfd, const char *name, const char *id,
    struct envelope *env, long long *size, char *err, size_t errlen)
{
	char	 buf[512];	/* most envelopes; a longer one is read again */
	struct stat sb;
	ssize_t	 n;
	size_t	 used;
	off_t	 body = -1;
	FILE	*fp;
	int	 fd, rc = -2;

	envelope_init(env);
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if ((n = read(fd, buf, sizeof(buf))) == -1 || fstat(fd, &sb) == -1)
		goto fail;
	/* a failure in a full buffer may be the envelope going on past it */
	if (envelope_parse(buf, (size_t)n, env, &used, err, errlen) == 0) {
		close(fd);
		body = (off_t)used;
	} else if ((size_t)n < sizeof(buf))
		close(fd);
	else if ((fp = kv_fd_stream(fd)) == NULL)
		return kv_fail(-1, err, errlen);
	else {
		if (envelope_read(fp, env, err, errlen) == 0)
			body = ftello(fp);
		fclose(fp);
	}
	if (body == -1)
		;
	else if (strcmp(env->id, id) != 0)
		snprintf(err, errlen, "id mismatch");
	else {
		*size = sb.st_size > body ? (long long)(sb.st_size - body) : 0;
		rc = 0;
	}
	if (rc != 0)
		errno = EINVAL;
	return rc;
fail:
	return kv_fail(fd, err, errlen);
}

/* queuefile_close - what queuefile_open() gave; safe to call twice */
void
queuefile_close(struct queuefile *qf)
{
	if (qf->fp != NULL)
		fclose(qf->fp);
	qf->fp = NULL;
	envelope_free(&qf->env);
}

/* queuefile_mark - what queuefile_open_body() needs to find qf again */
void
queuefile_mark(const struct queuefile *qf, struct queuefile_mark *mk)
{
	memset(mk, 0, sizeof(*mk));
	mk->dev = qf->dev;
	mk->ino = qf->ino;
	mk->body = qf->body;
	mk->size = qf->size;
}

int
queuefile_open_body(const char *dir, const char *id,
    const struct queuefile_mark *mk, FILE **fpp, char *err, size_t errlen)
{
	struct stat sb;
	FILE	*fp;
	int	 saved;

	*fpp = NULL;
	if ((fp = queuefile_fopen(dir, id, err, errlen)) == NULL)
		return -1;
	if (fstat(fileno(fp), &sb) == -1 ||
	    fseeko(fp, mk->body, SEEK_SET) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s", strerror(saved));
		fclose(fp);
		errno = saved;
		return -1;
	}
	if (sb.st_dev != mk->dev || sb.st_ino != mk->ino ||
	    sb.st_size != mk->body + mk->size) {
		snprintf(err, errlen, "not the file the queue runner read");
		fclose(fp);
		errno = EINVAL;
		return -2;
	}
	*fpp = fp;
	return 0;
}
