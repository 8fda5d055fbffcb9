/* SPDX-License-Identifier: ISC */
/*
 * eioshim.c - an LD_PRELOAD shim for tests that fails one write or fsync
 * of a new queue file with EIO (or another errno), so a test can walk
 * every write of the commit path (issue 11, part 2: failing writes).
 *
 *	cc -shared -fPIC -o eioshim.so tests/faults/eioshim.c -ldl
 *	EIOSHIM_DIR=/the/spool EIOSHIM_CTL=/a/file LD_PRELOAD=./eioshim.so ternd
 *
 * Counted: every write(2) under the stdio stream of a file made in
 * EIOSHIM_DIR/tmp/ (not the queue runner's ID.state files), every fsync
 * of such a file, and every fsync of a directory in EIOSHIM_DIR/queue/.
 * The file EIOSHIM_CTL holds "N ERRNO" ("3 EIO", "2 ENOSPC"; "0" fails
 * nothing): it is read again, and the count starts again, at each new
 * queue file, so one SMTP transaction is one walk.  The Nth counted call
 * fails; the others reach the real ones.
 *
 * Over quota: with EIOSHIM_QUOTA=DIR, every write(2) to a file under
 * DIR fails with EDQUOT while the file EIOSHIM_QUOTA_CTL exists, as a
 * mailbox past its file system quota would (EIOSHIM_QUOTA_ERRNO=ENOSPC
 * for a full disk instead).
 *
 * glibc's stdio writes through internal calls that LD_PRELOAD cannot
 * see, so fdopen() of such a file hands back a fopencookie(3) stream
 * whose writes come here, and fileno() of it still gives the descriptor.
 * Test code only: never built into tern, never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIM_STREAMS	16

struct shim_cookie {
	int	 fd;
	FILE	*fp;
};

static struct shim_cookie *streams[SHIM_STREAMS];
static long	 calls, fail_at;
static int	 fail_errno = EIO;

/* shim_real - the next definition of name (libasan's, then libc's) */
static void *
shim_real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* shim_under - does fd's path start with EIOSHIM_DIR and then sub? */
static int
shim_under(int fd, const char *sub, int skip_state)
{
	const char *dir = getenv("EIOSHIM_DIR");
	char	 link[64], path[4096], want[4096];
	ssize_t	 n;
	size_t	 len;

	if (dir == NULL || fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	len = (size_t)snprintf(want, sizeof(want), "%s/%s", dir, sub);
	if (strncmp(path, want, len) != 0)
		return 0;
	return !(skip_state && n > 6 && strcmp(path + n - 6, ".state") == 0);
}

/* shim_reset - a new queue file: read EIOSHIM_CTL, count from zero */
static void
shim_reset(void)
{
	const char *ctl = getenv("EIOSHIM_CTL");
	char	 buf[64] = "", name[32] = "";
	ssize_t	 n;
	int	 fd, saved = errno;

	calls = 0;
	fail_at = 0;
	fail_errno = EIO;
	if (ctl != NULL && (fd = open(ctl, O_RDONLY | O_CLOEXEC)) != -1) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) > 0)
			buf[n] = '\0';
		close(fd);
	}
	if (sscanf(buf, "%ld %31s", &fail_at, name) >= 1 &&
	    strcmp(name, "ENOSPC") == 0)
		fail_errno = ENOSPC;
	errno = saved;
}

/* shim_fails - count one call; 1 if it is the one to fail (errno set) */
static int
shim_fails(void)
{
	if (fail_at > 0 && ++calls == fail_at) {
		errno = fail_errno;
		return 1;
	}
	return 0;
}

static ssize_t
shim_write(void *cookie, const char *buf, size_t len)
{
	struct shim_cookie *c = cookie;
	size_t	 off = 0;
	ssize_t	 n;

	if (shim_fails())
		return 0;	/* fopencookie(3): 0 is an error, errno kept */
	while (off < len) {
		if ((n = write(c->fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return off > 0 ? (ssize_t)off : 0;
		}
		off += (size_t)n;
	}
	return (ssize_t)len;
}

static int
shim_close(void *cookie)
{
	struct shim_cookie *c = cookie;
	int	 i, rc;

	for (i = 0; i < SHIM_STREAMS; i++)
		if (streams[i] == c)
			streams[i] = NULL;
	rc = close(c->fd);
	free(c);
	return rc;
}

/* quota_exceeded - is fd a file under EIOSHIM_QUOTA, with the quota on? */
static int
quota_exceeded(int fd)
{
	const char *dir = getenv("EIOSHIM_QUOTA"), *ctl;
	const char *e = getenv("EIOSHIM_QUOTA_ERRNO");
	char	 link[64], path[4096];
	ssize_t	 n;
	int	 saved = errno;

	if (dir == NULL || fd < 0 || (ctl = getenv("EIOSHIM_QUOTA_CTL")) ==
	    NULL || access(ctl, F_OK) == -1) {
		errno = saved;
		return 0;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0) {
		errno = saved;
		return 0;
	}
	path[n] = '\0';
	if (strncmp(path, dir, strlen(dir)) != 0 || path[strlen(dir)] != '/') {
		errno = saved;
		return 0;
	}
	errno = e != NULL && strcmp(e, "ENOSPC") == 0 ? ENOSPC : EDQUOT;
	return 1;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t	 (*real)(int, const void *, size_t) = shim_real("write");

	if (quota_exceeded(fd))
		return -1;
	return real(fd, buf, len);
}

FILE *
fdopen(int fd, const char *mode)
{
	FILE	*(*real)(int, const char *) = shim_real("fdopen");
	cookie_io_functions_t io = { NULL, shim_write, NULL, shim_close };
	struct shim_cookie *c;
	int	 i;

	if (mode[0] != 'w' || !shim_under(fd, "tmp/", 1))
		return real(fd, mode);
	for (i = 0; i < SHIM_STREAMS && streams[i] != NULL; i++)
		;
	if (i == SHIM_STREAMS || (c = malloc(sizeof(*c))) == NULL)
		return real(fd, mode);
	c->fd = fd;
	if ((c->fp = fopencookie(c, mode, io)) == NULL) {
		free(c);
		return NULL;
	}
	streams[i] = c;
	shim_reset();
	return c->fp;
}

int
fileno(FILE *fp)
{
	int	 (*real)(FILE *) = shim_real("fileno");
	int	 i;

	for (i = 0; i < SHIM_STREAMS; i++)
		if (streams[i] != NULL && streams[i]->fp == fp)
			return streams[i]->fd;
	return real(fp);
}

int
fsync(int fd)
{
	int	 (*real)(int) = shim_real("fsync");
	int	 i, ours = 0;

	for (i = 0; i < SHIM_STREAMS; i++)
		if (streams[i] != NULL && streams[i]->fd == fd)
			ours = 1;
	if ((ours || shim_under(fd, "queue/", 0)) && shim_fails())
		return -1;
	return real(fd);
}
