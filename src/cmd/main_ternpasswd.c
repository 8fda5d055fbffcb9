/* SPDX-License-Identifier: ISC */
/*
 * ternpasswd - add, change or delete a user's password in auth_users,
 * and manage the accounts of virtual domains.
 *
 *	ternpasswd [-c config] [-f file] [-D] user	password, delete
 *	ternpasswd [-c config] [-f file] -a [-q size] account	add
 *	ternpasswd [-c config] [-f file] -q size user	set a quota
 *	ternpasswd [-c config] [-f file] -l | -u	list, usage
 *
 * A line's fields (quota=, mailbox=) are kept when its password
 * changes; -q rewrites quota= alone.  -u reads every account's Maildir
 * (messages and bytes), after giving up root for virtual_user: the
 * Maildirs are that user's files, never read as root.
 *
 * The password is read from the terminal twice, without echo; when
 * standard input is not a terminal, one line is read from it (scripts,
 * tests).  It is hashed with yescrypt ("$y$"), or SHA-512 crypt ("$6$")
 * where libcrypt has no yescrypt.  The file (auth_users of tern.conf, or
 * -f) is rewritten atomically: under a lock on FILE.lock, a temporary
 * file in the same directory gets every other line byte for byte, the
 * old file's mode and owner (0600 and the caller's for a new file), and
 * is fsync'd and renamed over the file, and the directory is fsync'd.
 * A file with a line the auth checker would refuse is left alone.
 *
 * The caller names the file and runs with its own privileges (root, an
 * administrator); nothing here is set-user-ID.  Exit status from
 * sysexits(3).
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <pwd.h>

#include "authfile.h"
#include "config.h"
#include "fdpass.h"
#include "mailbox.h"
#include "maildirsize.h"
#include "priv.h"
#include "queueview.h"

#define FILE_MAX	(64 * 1024 * 1024)
#define LOCK_SECONDS	10

static struct termios tty_saved;
static volatile sig_atomic_t tty_changed;

static void
usage(void)
{
	fprintf(stderr, "usage: ternpasswd [-c config] [-f file] [-D] user\n"
	    "       ternpasswd [-c config] [-f file] -a [-q size] account\n"
	    "       ternpasswd [-c config] [-f file] -q size user\n"
	    "       ternpasswd [-c config] [-f file] -l | -u\n");
	exit(EX_USAGE);
}

/* A signal while echo is off: turn it back on, then die of the signal. */
static void
tty_on_signal(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * read_line - one line from fd, a byte at a time (no stdio buffer keeps
 * a copy), without its newline (or CR LF).  -1 on end of file before
 * any byte, -2 if longer than max or holding a NUL.
 */
static int
read_line(int fd, char *buf, size_t max)
{
	size_t	 n = 0;
	ssize_t	 r;
	char	 c;
	int	 bad = 0;

	for (;;) {
		while ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
			;
		if (r <= 0) {
			if (n == 0 && !bad)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0' || n == max)
			bad = 1;
		else
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return bad ? -2 : 0;
}

/* prompt and read one password from the terminal, echo off. */
static int
tty_read(const char *prompt, char *buf, size_t max)
{
	struct termios t;
	int	 rc;

	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_changed = 1;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	/* Prompt only now: what is typed after it is never flushed away. */
	fputs(prompt, stderr);
	fflush(stderr);
	rc = read_line(STDIN_FILENO, buf, max);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	tty_changed = 0;
	return rc;
}

/* The new password into pw (AUTH_PASS_MAX + 1 bytes); an exit status. */
static int
read_password(char *pw)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	char	 again[AUTH_PASS_MAX + 1];
	size_t	 i;
	int	 rc, same;

	if (!isatty(STDIN_FILENO))
		rc = read_line(STDIN_FILENO, pw, AUTH_PASS_MAX);
	else {
		if (tcgetattr(STDIN_FILENO, &tty_saved) == -1) {
			perror("ternpasswd: terminal");
			return EX_IOERR;
		}
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], tty_on_signal);
		rc = tty_read("New password: ", pw, AUTH_PASS_MAX);
		if (rc == 0 && (rc = tty_read("Retype new password: ", again,
		    AUTH_PASS_MAX)) == 0) {
			same = strcmp(pw, again) == 0;
			explicit_bzero(again, sizeof(again));
			if (!same) {
				fprintf(stderr, "ternpasswd: the passwords "
				    "differ; nothing changed\n");
				return EX_DATAERR;
			}
		}
	}
	if (rc == -2) {
		fprintf(stderr, "ternpasswd: password longer than %d bytes, "
		    "or with a NUL byte\n", AUTH_PASS_MAX);
		return EX_DATAERR;
	}
	if (rc == -1 || pw[0] == '\0') {
		fprintf(stderr, "ternpasswd: empty password refused\n");
		return EX_DATAERR;
	}
	return 0;
}

/* hash pw with yescrypt, else SHA-512 crypt, into out; an exit status. */
static int
make_hash(const char *pw, char *out, size_t outlen)
{
	static struct crypt_data cd;
	char	 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL &&
	    crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		perror("ternpasswd: crypt_gensalt");
		return EX_SOFTWARE;
	}
	h = crypt_rn(pw, salt, &cd, sizeof(cd));
	if (h == NULL || h[0] == '*' || strlen(h) >= outlen) {
		perror("ternpasswd: crypt");
		explicit_bzero(&cd, sizeof(cd));
		return EX_SOFTWARE;
	}
	snprintf(out, outlen, "%s", h);
	explicit_bzero(&cd, sizeof(cd));
	return 0;
}

/* Hold an fcntl lock on FILE.lock, waiting at most LOCK_SECONDS. */
static int
lock_file(const char *path)
{
	char	 lock[PATH_MAX];
	struct flock fl;
	int	 fd, i;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock) ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		fprintf(stderr, "ternpasswd: %s: %s\n", lock, strerror(errno));
		return errno == EACCES || errno == EPERM ? -EX_NOPERM :
		    -EX_CANTCREAT;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	for (i = 0; i < LOCK_SECONDS * 10; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return fd;
		if (errno != EACCES && errno != EAGAIN)
			break;
		usleep(100000);
	}
	fprintf(stderr, "ternpasswd: %s: %s\n", lock, errno == EACCES ||
	    errno == EAGAIN ? "locked by another ternpasswd" : strerror(errno));
	close(fd);
	return -EX_TEMPFAIL;
}

struct text {
	char	*s;
	size_t	 len;
};

/* The whole old file, and its status; st->st_nlink 0 when it is new. */
static int
read_old(const char *path, struct text *t, struct stat *st)
{
	ssize_t	 n;
	size_t	 cap = 0;
	int	 fd;
	char	*p;

	t->s = NULL;
	t->len = 0;
	memset(st, 0, sizeof(*st));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "ternpasswd: %s: %s\n", path, strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_NOINPUT;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		fprintf(stderr, "ternpasswd: %s: not a regular file\n", path);
		close(fd);
		return EX_NOINPUT;
	}
	for (;;) {
		if (t->len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > FILE_MAX || (p = realloc(t->s, cap)) == NULL) {
				fprintf(stderr, "ternpasswd: %s: too large\n",
				    path);
				close(fd);
				return EX_DATAERR;
			}
			t->s = p;
		}
		if ((n = read(fd, t->s + t->len, cap - t->len)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		t->len += (size_t)n;
	}
	close(fd);
	if (n == -1) {
		fprintf(stderr, "ternpasswd: %s: %s\n", path, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* What to do to the user's line. */
struct change {
	const char	*hash;		/* new hash, NULL: keep */
	const char	*quota;		/* new quota= value, NULL: keep */
	int		 del;		/* remove the line */
	int		 add;		/* only a new user (-a) */
};

/*
 * put_line - "user:hash[:fields]\n" into out: the old line's fields
 * (fields, n bytes) kept, but quota= replaced by ch->quota when given
 * ("0": none).
 */
static void
put_line(struct text *out, const char *user, const char *hash,
    size_t hashlen, const char *fields, size_t n, const struct change *ch)
{
	const char *end = fields + n, *w;
	size_t	 wl;
	int	 any = 0;

	out->len += (size_t)sprintf(out->s + out->len, "%s:%.*s", user,
	    (int)hashlen, hash);
	while (fields != NULL && fields < end) {
		while (fields < end && (*fields == ' ' || *fields == '\t'))
			fields++;
		for (w = fields; fields < end && *fields != ' ' &&
		    *fields != '\t'; fields++)
			;
		if ((wl = (size_t)(fields - w)) == 0 || (ch->quota != NULL &&
		    wl > 6 && memcmp(w, "quota=", 6) == 0))
			continue;
		out->s[out->len++] = any++ ? ' ' : ':';
		memcpy(out->s + out->len, w, wl);
		out->len += wl;
	}
	if (ch->quota != NULL && strcmp(ch->quota, "0") != 0)
		out->len += (size_t)sprintf(out->s + out->len, "%cquota=%s",
		    any++ ? ' ' : ':', ch->quota);
	out->s[out->len++] = '\n';
}

/*
 * edit - the new file text: every line as it was, the user's line
 * changed as ch says (its fields kept), removed, or appended.  *found
 * says whether the user was there.  A bad line: EX_DATAERR.
 */
static int
edit(const char *path, const struct text *old, const char *user,
    const struct change *ch, struct text *out, int *found)
{
	struct authfile_line l;
	const char *line, *end, *nl, *why = "NUL byte", *f;
	size_t	 len, ulen = strlen(user), cap;
	long	 lineno = 0;
	int	 kind;

	/* a newline, the new line, and sprintf's NUL */
	cap = old->len + ulen + (ch->hash ? strlen(ch->hash) : 0) +
	    (ch->quota ? strlen(ch->quota) : 0) + 32;
	if ((out->s = malloc(cap)) == NULL)
		return EX_OSERR;
	out->len = 0;
	*found = 0;
	line = old->len > 0 ? old->s : "";
	end = line + old->len;
	for (; line < end; line = nl) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		nl = nl ? nl + 1 : end;
		len = (size_t)(nl - line) - (nl[-1] == '\n');
		kind = memchr(line, '\0', len) != NULL ? -1 :
		    authfile_parse_line(line, len, &l, &why);
		if (kind == -1) {
			fprintf(stderr, "ternpasswd: %s:%ld: %s; fix the file "
			    "first\n", path, lineno, why);
			return EX_DATAERR;
		}
		if (kind == 1 && l.userlen == ulen &&
		    memcmp(l.user, user, ulen) == 0) {
			if (*found) {
				fprintf(stderr, "ternpasswd: %s:%ld: %s listed "
				    "again; fix the file first\n", path,
				    lineno, user);
				return EX_DATAERR;
			}
			*found = 1;
			f = l.hash + l.hashlen;
			if (!ch->del)
				put_line(out, user, ch->hash ? ch->hash :
				    l.hash, ch->hash ? strlen(ch->hash) :
				    l.hashlen, f < line + len ? f + 1 : NULL,
				    f < line + len ? (size_t)(line + len - f - 1) :
				    0, ch);
			continue;
		}
		memcpy(out->s + out->len, line, (size_t)(nl - line));
		out->len += (size_t)(nl - line);
	}
	if (!*found && ch->hash != NULL) {
		if (out->len > 0 && out->s[out->len - 1] != '\n')
			out->s[out->len++] = '\n';
		put_line(out, user, ch->hash, strlen(ch->hash), NULL, 0, ch);
	}
	return 0;
}

/*
 * replace - put text in place of path atomically: a temporary file in
 * the same directory with the old mode and owner, fsync, rename, fsync
 * of the directory.  An exit status.
 */
static int
replace(const char *path, const struct text *text, const struct stat *old)
{
	char	 tmp[PATH_MAX], dir[PATH_MAX];
	mode_t	 mode = old->st_nlink ? old->st_mode & 07777 : 0600;
	int	 fd, dfd, rc = EX_IOERR;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    sizeof(tmp))
		return EX_CANTCREAT;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		fprintf(stderr, "ternpasswd: %s: %s\n", tmp, strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_CANTCREAT;
	}
	if (fchmod(fd, mode) == -1 || (old->st_nlink &&
	    (old->st_uid != geteuid() || old->st_gid != getegid()) &&
	    fchown(fd, old->st_uid, old->st_gid) == -1)) {
		fprintf(stderr, "ternpasswd: %s: cannot keep mode and owner: "
		    "%s\n", tmp, strerror(errno));
		rc = EX_NOPERM;
		goto fail;
	}
	if (fd_full(fd, text->s, text->len, 1) == -1 || fsync(fd) == -1) {
		fprintf(stderr, "ternpasswd: %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		fd = -1;
		fprintf(stderr, "ternpasswd: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fsync(dfd) == -1) {
		fprintf(stderr, "ternpasswd: %s: %s\n", dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return EX_IOERR;	/* renamed; not known to be on disk */
	}
	close(dfd);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return rc;
}

/* The file to edit: -f, else auth_users of the configuration. */
static int
target_path(const char *conf, const char *file, char *path, size_t len)
{
	struct config cfg;
	char	 err[1024], *real;

	if (file == NULL) {
		if (queueview_config(&cfg, conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "ternpasswd: %s\n", err);
			return EX_CONFIG;
		}
		snprintf(path, len, "%s", cfg.auth_users);
		config_free(&cfg);
	} else
		snprintf(path, len, "%s", file);
	if (path[0] == '\0') {
		fprintf(stderr, "ternpasswd: auth_users is empty\n");
		return EX_CONFIG;
	}
	/* Write beside the file a symbolic link leads to, not over the link. */
	if ((real = realpath(path, NULL)) != NULL) {
		snprintf(path, len, "%s", real);
		free(real);
	}
	return 0;
}

/* A size as a person writes it: 500M, 1G, 2048; "-" for none. */
static const char *
size_text(long long v, char *buf, size_t len)
{
	static const char units[] = "GMK";
	long long mul = 1024LL * 1024 * 1024;
	size_t	 i;

	if (v <= 0)
		return "-";
	for (i = 0; i < 3; i++, mul /= 1024)
		if (v % mul == 0) {
			snprintf(buf, len, "%lld%c", v / mul, units[i]);
			return buf;
		}
	snprintf(buf, len, "%lld", v);
	return buf;
}

/* One line of auth_users, as -l and -u see it. */
struct account {
	char		 name[AUTH_USER_MAX + 1];
	long long	 quota;
	char		 mailbox[PATH_MAX];	/* "" : a Unix mail user */
};

/*
 * accounts - the users of text (each line parsed as the daemon does),
 * with the Maildir of each account of a virtual domain: its mailbox=,
 * else virtual_mailbox_path.  *n of them in a malloc'd array, or NULL.
 */
static struct account *
accounts(const struct config *cfg, const struct text *t, size_t *n)
{
	struct authfile_line l;
	struct account *v = NULL, *a, *nv;
	const char *line, *end = t->s + t->len, *nl, *why, *at;
	char	 local[AUTH_USER_MAX + 1];
	size_t	 len;

	*n = 0;
	for (line = t->len > 0 ? t->s : end; line < end; line = nl) {
		nl = memchr(line, '\n', (size_t)(end - line));
		nl = nl ? nl + 1 : end;
		len = (size_t)(nl - line) - (nl[-1] == '\n');
		if (memchr(line, '\0', len) != NULL ||
		    authfile_parse_line(line, len, &l, &why) != 1)
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL) {
			free(v);
			return NULL;
		}
		v = nv;
		a = &v[(*n)++];
		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "%.*s", (int)l.userlen,
		    l.user);
		a->quota = l.quota;
		if (l.mailbox != NULL)
			snprintf(a->mailbox, sizeof(a->mailbox), "%.*s",
			    (int)l.mailboxlen, l.mailbox);
		else if ((at = strrchr(a->name, '@')) != NULL) {
			snprintf(local, sizeof(local), "%.*s",
			    (int)(at - a->name), a->name);
			if (mailbox_expand_path(cfg->virtual_mailbox_path, "",
			    local, at + 1, a->mailbox, sizeof(a->mailbox)) ==
			    -1)
				a->mailbox[0] = '\0';
		}
	}
	return v != NULL ? v : calloc(1, sizeof(*v));
}

/* -l: every user and account, its quota and its Maildir. */
static void
list(const struct account *v, size_t n)
{
	char	 q[32];
	size_t	 i;

	printf("%-32s %6s  %s\n", "ACCOUNT", "QUOTA", "MAILBOX");
	for (i = 0; i < n; i++)
		printf("%-32s %6s  %s\n", v[i].name,
		    size_text(v[i].quota, q, sizeof(q)),
		    v[i].mailbox[0] ? v[i].mailbox : "-");
}

/*
 * usage_summary - -u: messages and bytes in each account's Maildir.
 * Root gives itself up for virtual_user first (the Maildirs are its
 * files, and root reads no user's file); an exit status.
 */
static int
usage_summary(const struct config *cfg, const struct account *v, size_t n)
{
	struct passwd *pw;
	long long bytes, count;
	char	 q[32], pct[16];
	size_t	 i;

	if (geteuid() == 0) {
		if ((pw = getpwnam(cfg->virtual_user)) == NULL ||
		    pw->pw_uid == 0) {
			fprintf(stderr, "ternpasswd: virtual_user %s: no such "
			    "user, or root\n", cfg->virtual_user);
			return EX_NOUSER;
		}
		if (priv_become(pw->pw_uid, pw->pw_gid) == -1) {
			fprintf(stderr, "ternpasswd: cannot become %s\n",
			    cfg->virtual_user);
			return EX_OSERR;
		}
	}
	printf("%-32s %8s %12s %6s %5s\n", "ACCOUNT", "MESSAGES", "BYTES",
	    "QUOTA", "USED");
	for (i = 0; i < n; i++) {
		if (strchr(v[i].name, '@') == NULL || v[i].mailbox[0] == '\0')
			continue;
		if (maildirsize_scan(v[i].mailbox, &bytes, &count) == -1) {
			printf("%-32s %8s %12s %6s %5s  (%s: %s)\n", v[i].name,
			    "?", "?", size_text(v[i].quota, q, sizeof(q)), "",
			    v[i].mailbox, strerror(errno));
			continue;
		}
		if (v[i].quota > 0)
			snprintf(pct, sizeof(pct), "%lld%%",
			    bytes * 100 / v[i].quota);
		else
			snprintf(pct, sizeof(pct), "-");
		printf("%-32s %8lld %12lld %6s %5s\n", v[i].name, count, bytes,
		    size_text(v[i].quota, q, sizeof(q)), pct);
	}
	return 0;
}

/* -l and -u: read the file (as the caller), then report. */
static int
report(const char *conf, const char *file, int what)
{
	struct config cfg;
	struct account *v;
	struct text t;
	struct stat st;
	char	 path[PATH_MAX], err[1024];
	size_t	 n;
	int	 rc;

	if (queueview_config(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternpasswd: %s\n", err);
		return EX_CONFIG;
	}
	snprintf(path, sizeof(path), "%s", file ? file : cfg.auth_users);
	if ((rc = read_old(path, &t, &st)) != 0 ||
	    (v = accounts(&cfg, &t, &n)) == NULL) {
		config_free(&cfg);
		free(t.s);
		return rc ? rc : EX_OSERR;
	}
	if (t.s != NULL)
		explicit_bzero(t.s, t.len);	/* it held the hashes */
	free(t.s);
	if (what == 'l')
		list(v, n);
	else
		rc = usage_summary(&cfg, v, n);
	free(v);
	config_free(&cfg);
	return rc;
}

/* quota_ok - a value quota= takes (authfile.h), checked as it will be. */
static int
quota_ok(const char *q)
{
	struct authfile_line l;
	const char *why;
	char	 line[128];

	return (size_t)snprintf(line, sizeof(line), "x:h:quota=%s", q) <
	    sizeof(line) && strchr(q, ' ') == NULL &&
	    authfile_parse_line(line, strlen(line), &l, &why) == 1;
}

/* A note when an account's domain is not (yet) a virtual domain. */
static void
domain_note(const char *conf, const char *user)
{
	struct config cfg;
	const char *at = strrchr(user, '@');
	char	 err[1024];

	if (at == NULL || queueview_config(&cfg, conf, err, sizeof(err)) == -1)
		return;
	if (!config_is_virtual_domain(&cfg, at + 1))
		fprintf(stderr, "ternpasswd: note: %s is not in virtual_domains "
		    "of %s yet\n", at + 1, cfg.path);
	config_free(&cfg);
}

int
main(int argc, char *argv[])
{
	char	 path[PATH_MAX], pw[AUTH_PASS_MAX + 1], hash[CRYPT_OUTPUT_SIZE];
	const char *conf = NULL, *file = NULL, *user, *what;
	struct change ch;
	struct text old, new;
	struct stat st;
	int	 ch_opt, rep = 0, lock, found = 0, rc;

	memset(&ch, 0, sizeof(ch));
	while ((ch_opt = getopt(argc, argv, "ac:C:Df:lq:u")) != -1) {
		switch (ch_opt) {
		case 'a': ch.add = 1; break;
		case 'c': case 'C': conf = optarg; break;
		case 'D': ch.del = 1; break;
		case 'f': file = optarg; break;
		case 'l': case 'u': rep = ch_opt; break;
		case 'q': ch.quota = optarg; break;
		default: usage();
		}
	}
	if (rep != 0) {
		if (optind != argc || ch.add || ch.del || ch.quota)
			usage();
		return report(conf, file, rep);
	}
	if (optind != argc - 1 || (ch.del && (ch.add || ch.quota)))
		usage();
	user = argv[optind];
	if (!authfile_user_ok(user, strlen(user))) {
		fprintf(stderr, "ternpasswd: bad user name: empty, longer than "
		    "%d bytes, or with a ':', blank or control byte\n",
		    AUTH_USER_MAX);
		return EX_DATAERR;
	}
	if (ch.quota != NULL && !quota_ok(ch.quota)) {
		fprintf(stderr, "ternpasswd: bad quota %s: bytes, or with K, M "
		    "or G (500M); 0 for none\n", ch.quota);
		return EX_DATAERR;
	}
	if ((rc = target_path(conf, file, path, sizeof(path))) != 0)
		return rc;
	/* -q alone changes the quota, not the password */
	if (!ch.del && (ch.add || ch.quota == NULL)) {
		rc = read_password(pw);
		if (rc == 0)
			rc = make_hash(pw, hash, sizeof(hash));
		explicit_bzero(pw, sizeof(pw));
		if (rc != 0)
			return rc;
		ch.hash = hash;
	}
	if ((lock = lock_file(path)) < 0)
		return -lock;
	new.s = NULL;
	if ((rc = read_old(path, &old, &st)) == 0 &&
	    (rc = edit(path, &old, user, &ch, &new, &found)) == 0) {
		if ((ch.del || (ch.quota && !ch.hash)) && !found) {
			fprintf(stderr, "ternpasswd: %s: no user %s\n", path,
			    user);
			rc = EX_NOUSER;
		} else if (ch.add && found) {
			fprintf(stderr, "ternpasswd: %s: %s exists already; "
			    "without -a its password is changed\n", path, user);
			rc = EX_DATAERR;
		} else
			rc = replace(path, &new, &st);
	}
	if (new.s != NULL)
		explicit_bzero(new.s, new.len);
	free(new.s);
	if (old.s != NULL)
		explicit_bzero(old.s, old.len);
	free(old.s);
	explicit_bzero(hash, sizeof(hash));
	close(lock);
	what = ch.del ? "deleted" : !found ? "added" : ch.hash == NULL ?
	    "given a new quota" : "changed";
	if (rc == 0)
		printf("ternpasswd: %s: user %s %s; reload ternd (kill -HUP) "
		    "to use it\n", path, user, what);
	if (rc == 0 && ch.add)
		domain_note(conf, user);
	return rc;
}
