/* SPDX-License-Identifier: ISC */
/*
 * mailbox.c - the final writers: Maildir, mbox (and file targets), and
 * commands fed on their standard input.
 *
 * Every writer copies the message from the queue file, turning CRLF into
 * LF, behind "Return-Path: <sender>" and "Delivered-To: rcpt" headers.
 *
 * Maildir: tmp/UNIQUE written and fsync'd, linked into new/, new/
 * fsync'd (the maildir(5) protocol); UNIQUE is "sec.MusecPpidQn.host".
 * mbox: opened O_APPEND, locked with fcntl and a FILE.lock dot lock
 * (skipped when the directory is not writable, as /var/mail is to
 * users), "From sender date" line, mboxrd quoting (">*From " gets one
 * more '>'), a blank line after the message, fsync; on any write error
 * the file is truncated back to its old size, so a failed delivery
 * leaves no half message.
 * Commands: /bin/sh -c in their own process group, a fixed small
 * environment, output kept (the first bytes go into the reply), killed
 * after the timeout.  Exit 0 is delivered, 75 (EX_TEMPFAIL), signals
 * and timeouts are deferred, anything else failed.
 * Full disks and quotas defer with 4.2.2, other I/O errors with 4.3.0.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "log.h"
#include "mailbox.h"
#include "maildirsize.h"

#define MAILBOX_OUTPUT_MAX	200	/* command output kept for the reply */
#define PIPE_VAR_MAX		(ADDR_MAX + 1100)
#define EX_TEMPFAIL_CODE	75	/* sysexits.h EX_TEMPFAIL */

struct outbuf {
	int	 fd;
	int	 err;			/* errno of the first failure */
	time_t	 deadline;		/* non-blocking fd: give up then */
	size_t	 len;
	char	 buf[16384];
};

/* copier - CRLF to LF, and mboxrd quoting at line starts. */
struct copier {
	struct outbuf	*ob;
	int		 mboxrd;
	int		 matching;	/* in a possible ">*From " prefix */
	int		 cr;		/* a CR is held back */
	size_t		 ngt, npre;	/* '>'s seen, bytes of "From " seen */
	int		 last;		/* last byte written, -1 none */
};

static int
result_set(struct mailbox_result *res, int status, const char *dsn,
    const char *fmt, const char *arg)
{
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	snprintf(res->reply, sizeof(res->reply), fmt, arg);
	return status;
}

/*
 * result_errno - what an I/O error means for the sender; path (or NULL)
 * names the mailbox, so the admin reading the log knows which one.
 */
static int
result_errno(struct mailbox_result *res, int err, const char *what,
    const char *path)
{
	int	 full = err == ENOSPC || err == EDQUOT;

	snprintf(res->dsn, sizeof(res->dsn), "%s", full ? "4.2.2" : "4.3.0");
	snprintf(res->reply, sizeof(res->reply), "%.40s%s%.160s: %.40s",
	    full ? "mailbox full" : what, path ? " " : "", path ? path : "",
	    strerror(err));
	return DELIVER_TEMPFAIL;
}

static void
outbuf_flush(struct outbuf *ob)
{
	size_t	 off = 0;
	ssize_t	 n;
	struct pollfd pfd;
	time_t	 now;

	while (ob->err == 0 && off < ob->len) {
		if ((n = write(ob->fd, ob->buf + off, ob->len - off)) > 0) {
			off += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN && ob->deadline) {
			if ((now = time(NULL)) >= ob->deadline) {
				ob->err = ETIMEDOUT;
				break;
			}
			pfd.fd = ob->fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, (int)(ob->deadline - now) * 1000);
			continue;
		}
		ob->err = n == -1 ? errno : EIO;
	}
	ob->len = 0;
}

static void
outbuf_put(struct outbuf *ob, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0 && ob->err == 0) {
		if (ob->len == sizeof(ob->buf))
			outbuf_flush(ob);
		k = sizeof(ob->buf) - ob->len;
		if (k > n)
			k = n;
		memcpy(ob->buf + ob->len, p, k);
		ob->len += k;
		p += k;
		n -= k;
	}
}

static void
copier_put(struct copier *c, int ch)
{
	char	 b = ch;

	if (c->ob->len < sizeof(c->ob->buf))
		c->ob->buf[c->ob->len++] = b;
	else
		outbuf_put(c->ob, &b, 1);
	c->last = (unsigned char)ch;
}

/* copier_prefix - end a ">*From " candidate, quoted if it matched. */
static void
copier_prefix_end(struct copier *c, int matched)
{
	size_t	 i;

	if (matched)
		copier_put(c, '>');
	for (i = 0; i < c->ngt; i++)
		copier_put(c, '>');
	for (i = 0; i < c->npre; i++)
		copier_put(c, "From "[i]);
	c->matching = 0;
}

static void
copier_byte(struct copier *c, int ch)
{
	if (c->matching) {
		if (c->npre == 0 && ch == '>') {
			c->ngt++;
			return;
		}
		if (ch == "From "[c->npre]) {
			if (++c->npre == 5)
				copier_prefix_end(c, 1);
			return;
		}
		copier_prefix_end(c, 0);
	}
	if (c->cr) {
		c->cr = 0;
		if (ch != '\n')
			copier_put(c, '\r');
	}
	if (ch == '\r') {
		c->cr = 1;
		return;
	}
	copier_put(c, ch);
	if (ch == '\n' && c->mboxrd) {
		c->matching = 1;
		c->ngt = c->npre = 0;
	}
}

/*
 * mailbox_copy - headers, then the message from msg->offset.  Returns 0,
 * or -1 with errno set on a read error; write errors are in ob->err.
 * pread(2): the descriptor is shared with the processes forked before,
 * so neither its offset nor the stream's buffer can be trusted.
 */
static int
mailbox_copy(const struct mailbox_msg *msg, struct outbuf *ob, int mboxrd,
    int trailer)
{
	struct copier	 c = { ob, mboxrd, mboxrd, 0, 0, 0, '\n' };
	char		 buf[16384], hdr[2 * 600];
	off_t		 pos = msg->offset;
	ssize_t		 n;
	size_t		 i;
	int		 len;

	len = snprintf(hdr, sizeof(hdr), "Return-Path: <%s>\nDelivered-To: "
	    "%s\n", msg->sender, msg->rcpt);
	outbuf_put(ob, hdr, len > 0 && (size_t)len < sizeof(hdr) ? len : 0);
	while (!ob->err) {
		if ((n = pread(fileno(msg->fp), buf, sizeof(buf), pos)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		pos += n;
		for (i = 0; i < (size_t)n; i++)
			copier_byte(&c, (unsigned char)buf[i]);
	}
	if (c.matching)
		copier_prefix_end(&c, 0);
	if (c.cr)
		copier_put(&c, '\r');
	if (trailer && c.last != '\n')
		copier_put(&c, '\n');
	if (trailer)
		copier_put(&c, '\n');
	outbuf_flush(ob);
	return 0;
}

/* The host part of a Maildir name, with '/' and ':' escaped. */
static void
maildir_host(char *out, size_t outlen)
{
	char	 host[256];
	size_t	 i, o = 0;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] && o + 5 < outlen; i++) {
		if (host[i] == '/' || host[i] == ':')
			o += snprintf(out + o, outlen - o, "\\%03o",
			    (unsigned char)host[i]);
		else
			out[o++] = host[i];
	}
	out[o] = '\0';
}

static int
maildir_mkdirs(const char *base)
{
	static const char *const sub[] = { "", "/tmp", "/new", "/cur" };
	char	 path[PATH_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", base, sub[i]) >=
		    (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* maildir_write - the message into a new file at tmp; -1 with errno. */
static int
maildir_write(const struct mailbox_msg *msg, const char *tmp,
    struct outbuf *ob)
{
	int	 rc = -1, saved;

	ob->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (ob->fd == -1)
		return -1;
	if (mailbox_copy(msg, ob, 0, 0) == -1)
		goto out;
	if (ob->err) {
		errno = ob->err;
		goto out;
	}
	if (fsync(ob->fd) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;	/* ENOSPC or EDQUOT must reach result_errno() */
	if (close(ob->fd) == -1 && rc == 0)
		rc = -1;
	else if (rc == -1)
		errno = saved;
	return rc;
}

/*
 * maildir_fits - the quota check of a Maildir++ delivery, between the
 * write into tmp/ and the link into new/: the file's size is then known
 * exactly.  0 when it fits (*size set), -1 with res set.
 */
static int
maildir_fits(const char *base, const char *tmp, long long quota,
    long long *size, struct mailbox_result *res, int *status)
{
	struct maildirsize u;
	struct stat	 st;

	if (stat(tmp, &st) == -1) {
		*status = result_errno(res, errno, "maildir stat", base);
		return -1;
	}
	*size = st.st_size;
	if (maildirsize_usage(base, quota, &u) == -1) {
		*status = result_errno(res, errno, "maildirsize", base);
		return -1;
	}
	if (!maildirsize_fits(&u, quota, *size)) {
		snprintf(res->dsn, sizeof(res->dsn), "4.2.2");
		snprintf(res->reply, sizeof(res->reply), "Mailbox full: "
		    "%lld of %lld bytes in use, the message has %lld",
		    u.bytes, quota, *size);
		*status = DELIVER_TEMPFAIL;
		return -1;
	}
	return 0;
}

/*
 * maildir_deliver - tmp/, then new/ (see the top).  With a quota (> 0),
 * the message must fit (4.2.2 "Mailbox full" else), its name carries
 * ",S=<size>" and maildirsize gets its line (maildirsize.h).
 */
static int
maildir_deliver(const struct mailbox_msg *msg, const char *dir,
    long long quota, struct mailbox_result *res)
{
	static unsigned	 counter;
	static struct outbuf ob;
	char		 base[PATH_MAX], host[512], name[768];
	char		 tmp[PATH_MAX + 800], new[PATH_MAX + 800];
	struct timespec	 ts;
	long long	 size = 0;
	size_t		 len;
	int		 st;

	len = snprintf(base, sizeof(base), "%s", dir);
	while (len > 1 && base[len - 1] == '/')
		base[--len] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	maildir_host(host, sizeof(host));
	snprintf(name, sizeof(name), "%lld.M%ldP%ldQ%u.%s",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)getpid(),
	    ++counter, host);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", base, name);
	memset(&ob, 0, sizeof(ob));
	/* The directories are made when missing, not tried every time. */
	if (maildir_write(msg, tmp, &ob) == -1) {
		if (errno != ENOENT)
			goto fail;
		if (maildir_mkdirs(base) == -1)
			return result_errno(res, errno,
			    "cannot create maildir", base);
		if (maildir_write(msg, tmp, &ob) == -1)
			goto fail;
	}
	if (quota > 0 && maildir_fits(base, tmp, quota, &size, res, &st) ==
	    -1) {
		unlink(tmp);
		return st;
	}
	if (quota > 0)
		snprintf(new, sizeof(new), "%s/new/%s,S=%lld", base, name,
		    size);
	else
		snprintf(new, sizeof(new), "%s/new/%s", base, name);
	/* link(2) never replaces a file; rename where links are refused. */
	if (link(tmp, new) == -1) {
		if (errno == EEXIST || rename(tmp, new) == -1)
			goto fail;
	} else
		unlink(tmp);
	if (snprintf(tmp, sizeof(tmp), "%s/new", base) > 0 &&
	    fsync_dir(tmp) == -1)
		return result_errno(res, errno, "maildir fsync", base);
	if (quota > 0 && maildirsize_append(base, size, 1) == -1)
		log_warn("%s/maildirsize", base);
	return result_set(res, DELIVER_OK, "2.0.0", "delivered to maildir%s",
	    "");
fail:
	result_errno(res, errno, "maildir write", base);
	unlink(tmp);
	return DELIVER_TEMPFAIL;
}

int
mailbox_maildir(const struct mailbox_msg *msg, const char *dir,
    struct mailbox_result *res)
{
	return maildir_deliver(msg, dir, 0, res);
}

int
mailbox_maildir_quota(const struct mailbox_msg *msg, const char *dir,
    long long quota, struct mailbox_result *res)
{
	return maildir_deliver(msg, dir, quota, res);
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * dotlock_take - create path.lock.  Returns 1 when held, 0 when the
 * directory does not allow it (no dot lock, fcntl alone protects), -1
 * on a timeout.  A lock older than MAILBOX_DOTLOCK_STALE is removed.
 */
static int
dotlock_take(const char *lock)
{
	time_t		 deadline = time(NULL) + MAILBOX_LOCK_TIMEOUT;
	struct stat	 st;
	int		 fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			return 1;
		}
		if (errno != EEXIST)
			return 0;
		if (lstat(lock, &st) == 0 &&
		    st.st_mtime + MAILBOX_DOTLOCK_STALE < time(NULL)) {
			log_warnx("removing stale lock %s", lock);
			unlink(lock);
			continue;
		}
		if (time(NULL) >= deadline)
			return -1;
		sleep_ms(500);
	}
}

static int
fcntl_lock(int fd)
{
	time_t		 deadline = time(NULL) + MAILBOX_LOCK_TIMEOUT;
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		if (time(NULL) >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		sleep_ms(100);
	}
	return 0;
}

/* mbox_append - the locked part: From line, message, blank line. */
static int
mbox_append(const struct mailbox_msg *msg, int fd, const char *path,
    struct mailbox_result *res)
{
	static struct outbuf ob;
	struct stat	 st;
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 date[64], from[700];
	int		 len;

	if (fstat(fd, &st) == -1)
		return result_errno(res, errno, "mailbox", path);
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	len = snprintf(from, sizeof(from), "From %s %s\n",
	    msg->sender[0] ? msg->sender : "MAILER-DAEMON", date);
	memset(&ob, 0, sizeof(ob));
	ob.fd = fd;
	outbuf_put(&ob, from, len > 0 && len < (int)sizeof(from) ? len : 0);
	if (mailbox_copy(msg, &ob, 1, 1) == -1) {
		ob.err = errno;
		result_set(res, DELIVER_TEMPFAIL, "4.3.0", "queue file read "
		    "error: %s", strerror(errno));
	} else if (ob.err == 0 && fsync(fd) == -1)
		ob.err = errno;
	if (ob.err == 0)
		return DELIVER_OK;
	if (ftruncate(fd, st.st_size) == -1)
		log_warn("cannot truncate mailbox back to %lld bytes",
		    (long long)st.st_size);
	if (res->dsn[0] == '4')
		return DELIVER_TEMPFAIL;
	return result_errno(res, ob.err, "mailbox write", path);
}

#ifdef O_PATH
#define WALK_FLAGS	(O_PATH | O_DIRECTORY | O_CLOEXEC)
#else
#define WALK_FLAGS	(O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#endif

/* walk_step - the directory comp in dfd; a symlink only if root's. */
static int
walk_step(int dfd, const char *comp)
{
	struct stat	 st;
	int		 fd;

	if (strcmp(comp, "..") == 0) {
		errno = EPERM;
		return -1;
	}
	if ((fd = openat(dfd, comp, WALK_FLAGS | O_NOFOLLOW)) != -1)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) &&
	    fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode) && st.st_uid == 0)
		return openat(dfd, comp, WALK_FLAGS);
	if (errno == ENOTDIR)
		errno = ELOOP;
	return -1;
}

int
mailbox_open_safe(const char *path, int flags, mode_t mode)
{
	char	 buf[PATH_MAX], *comp, *next;
	int	 dfd, nfd, fd = -1, saved;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dfd = open(buf[0] == '/' ? "/" : ".", WALK_FLAGS)) == -1)
		return -1;
	comp = buf + strspn(buf, "/");
	while ((next = strchr(comp, '/')) != NULL) {
		*next++ = '\0';
		next += strspn(next, "/");
		if (comp[0] != '\0' && strcmp(comp, ".") != 0) {
			if ((nfd = walk_step(dfd, comp)) == -1)
				goto out;
			close(dfd);
			dfd = nfd;
		}
		comp = next;
	}
	if (comp[0] == '\0' || strcmp(comp, "..") == 0)
		errno = EISDIR;
	else
		fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
out:
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

void
mailbox_mbox_create(const char *path, uid_t uid, gid_t gid)
{
	size_t	 len = strlen(path);
	int	 fd;

	if (len == 0 || path[len - 1] == '/')
		return;
	fd = mailbox_open_safe(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY,
	    0600);
	if (fd == -1)
		return;
	if (fchown(fd, uid, gid) == -1)
		log_warn("chown %s", path);
	close(fd);
}

/* mbox_check - a mailbox is the recipient's, with one link (local(8)) */
static int
mbox_check(int fd, const char *path, struct mailbox_result *res)
{
	struct stat	 st;
	char		 msg[300];

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0",
		    "%.200s is not a regular file", path);
	if (st.st_uid != geteuid())
		snprintf(msg, sizeof(msg), "mailbox %.200s is owned by uid "
		    "%ld, not by the recipient", path, (long)st.st_uid);
	else if (st.st_nlink != 1)
		snprintf(msg, sizeof(msg), "mailbox %.200s has %ld links, "
		    "not one", path, (long)st.st_nlink);
	else
		return DELIVER_OK;
	return result_set(res, DELIVER_TEMPFAIL, "4.3.0", "%.255s", msg);
}

static int
mbox_deliver(const struct mailbox_msg *msg, const char *path, int nofollow,
    struct mailbox_result *res)
{
	struct stat	 st;
	char		 lock[PATH_MAX + 8];
	int		 fd, locked = 0, rc;

	res->dsn[0] = '\0';
	if (strcmp(path, "/dev/null") == 0)
		return result_set(res, DELIVER_OK, "2.0.0", "delivered to %.200s",
		    path);
	if (nofollow)
		fd = mailbox_open_safe(path, O_WRONLY | O_APPEND | O_CREAT |
		    O_NOCTTY, 0600);
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY |
		    O_CLOEXEC, 0600);
	if (fd == -1 && errno == ELOOP)
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0",
		    "mailbox %.200s: a symbolic link on the way", path);
	if (fd == -1)
		return result_errno(res, errno, "cannot open mailbox", path);
	if (nofollow && mbox_check(fd, path, res) != DELIVER_OK) {
		close(fd);
		return DELIVER_TEMPFAIL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0",
		    "%.200s is not a regular file", path);
	}
	if (fcntl_lock(fd) == -1) {
		rc = result_errno(res, errno, "cannot lock mailbox", path);
		goto out;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((locked = dotlock_take(lock)) == -1) {
		rc = result_set(res, DELIVER_TEMPFAIL, "4.3.0",
		    "timeout waiting for lock %.200s", lock);
		goto out;
	}
	rc = mbox_append(msg, fd, path, res);
	if (rc == DELIVER_OK)
		result_set(res, DELIVER_OK, "2.0.0", "%s", nofollow ?
		    "delivered to mailbox" : "delivered to file");
out:
	if (locked == 1)
		unlink(lock);
	close(fd);
	return rc;
}

int
mailbox_mbox(const struct mailbox_msg *msg, const char *path,
    struct mailbox_result *res)
{
	return mbox_deliver(msg, path, 1, res);
}

int
mailbox_file(const struct mailbox_msg *msg, const char *path,
    struct mailbox_result *res)
{
	int	 rc;

	rc = mbox_deliver(msg, path, 0, res);
	if (rc == DELIVER_OK)
		result_set(res, DELIVER_OK, "2.0.0", "delivered to file: %.200s",
		    path);
	return rc;
}

/* pipe_child - in the forked child: the environment, then /bin/sh -c. */
static void
pipe_child(const char *command, char *const envp[], const char *home,
    int in, int out)
{
	int	 fd, max;

	setpgid(0, 0);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(EX_TEMPFAIL_CODE);
	max = (int)sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 4096)
		max = 4096;
	for (fd = 3; fd < max; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	umask(077);
	if (home == NULL || chdir(home) == -1)
		(void)chdir("/");
	execle("/bin/sh", "sh", "-c", command, (char *)NULL, envp);
	_exit(EX_TEMPFAIL_CODE);
}

/* pipe_env - the whole environment of a command, into vars[]. */
static void
pipe_env(char vars[][PIPE_VAR_MAX], char *envp[],
    const struct mailbox_msg *msg, const struct mailbox_env *e)
{
	const char *const name[] = { "HOME", "USER", "LOGNAME", "SHELL",
	    "SENDER", "RECIPIENT", "EXTENSION", "LOCAL", "DOMAIN" };
	const char *value[] = { e->home, e->user, e->user, e->shell,
	    msg->sender, msg->rcpt, e->extension, e->local, e->domain };
	size_t	 i;

	snprintf(vars[0], PIPE_VAR_MAX, "PATH=/usr/bin:/bin");
	envp[0] = vars[0];
	for (i = 0; i < sizeof(name) / sizeof(name[0]); i++) {
		snprintf(vars[i + 1], PIPE_VAR_MAX, "%s=%s", name[i],
		    value[i] ? value[i] : "");
		envp[i + 1] = vars[i + 1];
	}
	/* A command that calls sendmail reaches the same tern instance. */
	if (e->config != NULL && e->config[0] != '\0') {
		snprintf(vars[i + 1], PIPE_VAR_MAX, "TERN_CONFIG=%s",
		    e->config);
		envp[i + 1] = vars[i + 1];
		i++;
	}
	envp[i + 1] = NULL;
}

/* pipe_wait - reap the command, killing its group at the deadline. */
static int
pipe_wait(pid_t pid, time_t deadline, int *status)
{
	long	 ms = 10;
	pid_t	 r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (time(NULL) >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) == -1 && errno == EINTR)
				;
			return 1;
		}
		sleep_ms(ms);
		if (ms < 200)
			ms *= 2;
	}
}

/* pipe_output - the first bytes the command wrote, on one line. */
static void
pipe_output(int fd, char *out, size_t outlen)
{
	ssize_t	 n;
	size_t	 i, o = 0;

	out[0] = '\0';
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    (n = read(fd, out, outlen - 1)) <= 0)
		return;
	for (i = 0; i < (size_t)n; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
		} else
			out[o++] = out[i];
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* pipe_status - what the command's end means for the recipient. */
static int
pipe_status(int status, int timedout, int timeout, const char *output,
    struct mailbox_result *res)
{
	char	 msg[256];
	int	 code;

	if (timedout) {
		snprintf(msg, sizeof(msg), "command timed out after %d "
		    "seconds", timeout);
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0", "%.255s", msg);
	}
	if (WIFSIGNALED(status)) {
		snprintf(msg, sizeof(msg), "command killed by signal %d",
		    WTERMSIG(status));
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0", "%.255s", msg);
	}
	code = WEXITSTATUS(status);
	snprintf(msg, sizeof(msg), "command exited %d%s%.200s", code,
	    output[0] ? ": " : "", output);
	if (code == 0)
		return DELIVER_OK;
	if (code == EX_TEMPFAIL_CODE)
		return result_set(res, DELIVER_TEMPFAIL, "4.3.0", "%.255s", msg);
	return result_set(res, DELIVER_PERMFAIL, "5.3.0", "%s", msg);
}

/* pipe_feed - the message into the command's standard input. */
static void
pipe_feed(const struct mailbox_msg *msg, int fd, time_t deadline)
{
	static struct outbuf ob;
	void	(*old)(int);

	memset(&ob, 0, sizeof(ob));
	ob.fd = fd;
	ob.deadline = deadline;
	/* A command may exit without reading: its status decides. */
	old = signal(SIGPIPE, SIG_IGN);
	if (mailbox_copy(msg, &ob, 0, 0) == -1)
		log_warn("queue file read error");
	signal(SIGPIPE, old);
}

int
mailbox_pipe(const struct mailbox_msg *msg, const char *command,
    const struct mailbox_env *env, int timeout, struct mailbox_result *res)
{
	char	 vars[11][PIPE_VAR_MAX], *envp[12], output[MAILBOX_OUTPUT_MAX];
	int	 in[2] = { -1, -1 }, status = 0, timedout;
	time_t	 deadline = time(NULL) + timeout;
	FILE	*out;
	pid_t	 pid;

	pipe_env(vars, envp, msg, env);
	if ((out = tmpfile()) == NULL)
		return result_errno(res, errno, "command output file", NULL);
	if (pipe2(in, O_CLOEXEC) == -1) {
		fclose(out);
		return result_errno(res, errno, "pipe", NULL);
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		result_errno(res, errno, "fork", NULL);
		goto fail;
	}
	if (pid == 0)
		pipe_child(command, envp, env->home, in[0], fileno(out));
	setpgid(pid, pid);
	close(in[0]);
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	pipe_feed(msg, in[1], deadline);
	close(in[1]);
	if ((timedout = pipe_wait(pid, deadline, &status)) == -1) {
		result_errno(res, errno, "waitpid", NULL);
		fclose(out);
		return DELIVER_TEMPFAIL;
	}
	pipe_output(fileno(out), output, sizeof(output));
	fclose(out);
	result_set(res, DELIVER_OK, "2.0.0", "delivered to command: %.200s",
	    command);
	return pipe_status(status, timedout, timeout, output, res);
fail:
	close(in[0]);
	close(in[1]);
	fclose(out);
	return DELIVER_TEMPFAIL;
}

int
mailbox_expand_path(const char *tmpl, const char *home, const char *user,
    const char *domain, char *out, size_t outlen)
{
	const char	*add;
	size_t		 o = 0, n;

	/* Placeholders never move the path: no '/', no "..", not empty. */
	if (user[0] == '\0' || strchr(user, '/') != NULL ||
	    strcmp(user, "..") == 0 || strcmp(user, ".") == 0 ||
	    (strstr(tmpl, "%d") != NULL && (domain[0] == '\0' ||
	    strchr(domain, '/') != NULL || strcmp(domain, "..") == 0 ||
	    strcmp(domain, ".") == 0)))
		return -1;
	for (; *tmpl; tmpl++) {
		if (*tmpl != '%') {
			add = tmpl;
			n = 1;
		} else {
			switch (*++tmpl) {
			case 'h': add = home; break;
			case 'u': add = user; break;
			case 'd': add = domain; break;
			case '%': add = "%"; break;
			default: return -1;
			}
			n = strlen(add);
		}
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}
