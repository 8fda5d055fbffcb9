/* SPDX-License-Identifier: ISC */
/*
 * auth_checker.c - the password checker process and the master's side of
 * starting, restarting and stopping it (see auth.h for the protocol).
 *
 * What runs as root, in the master: socketpair(), pipe(), fork(), and
 * reading one status record from the new checker.  What runs as root in
 * the checker: open(2) of auth_users (the path the administrator wrote
 * in tern.conf) and nothing else.  The file is read and parsed only after
 * the checker has become `user`, from the descriptor opened before; so
 * no root code parses a byte of it, and the master's memory never holds
 * a hash that a later smtpd child would inherit.
 *
 * The checker then shares its uid with every smtpd, so it makes itself
 * non-dumpable (prctl PR_SET_DUMPABLE 0): a process of the same uid
 * cannot ptrace(2) it or read /proc/PID/mem, and it leaves no core file.
 * It keeps no descriptor but its socket (and standard error, for the
 * log): an smtpd holds only the client end, which carries requests to
 * the checker and nothing back, so a compromised smtpd learns yes or no
 * for passwords it guesses, one crypt(3) at a time, and never a hash.
 *
 * It never logs a password, and an unknown user costs a crypt() as a
 * known one does, so answer times do not tell which users exist.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "authfile.h"
#include "fdpass.h"
#include "log.h"
#include "priv.h"
#include "text.h"

#define START_TIMEOUT_MS	10000
#define BACKOFF_MAX		60
/* Descriptors of the checker after its clean-up. */
#define FD_SOCK			3
#define FD_STATUS		4
#define FD_FILE			5
#define FD_GRANT		6	/* the grant channel to the master */
/* A request: its type, user, NUL, password, NUL; one byte more shows
 * truncation. */
#define REQUEST_MAX		(1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1)

_Static_assert(AUTH_GRANT_NAME == AUTH_USER_MAX + 1 &&
    AUTH_GRANT_PATH == AUTH_PATH_MAX + 1, "a grant holds a name and a path");

static volatile sig_atomic_t checker_term;
/* The checker's copy of the configuration (virtual_domains and paths). */
static const struct config *checker_cfg;

static void
checker_on_term(int sig)
{
	(void)sig;
	checker_term = 1;
}

/* The hash computed from the password equals the stored one, in time
 * that depends on the lengths (public: the method's) and not the bytes. */
static int
hash_equal(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i;
	volatile unsigned char diff = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

/*
 * checker_verdict - 'Y', 'N' or 'T' for one request of n bytes.  A
 * malformed request is 'N'.  crypt() runs for an unknown or locked user
 * too, on a hash of the file's own kind; a hash crypt() cannot use is 'T' (the
 * administrator must fix it, the user's password may be right).
 */
static char
checker_verdict(const struct authfile *af, const char *req, size_t n)
{
	static struct crypt_data cd;
	const char *user, *pass, *hash, *out;
	size_t	 ulen, plen;
	char	 v;

	if (n < 4 || req[n - 1] != '\0')
		return 'N';
	user = req;
	ulen = strlen(user);
	if (ulen + 2 > n)
		return 'N';
	pass = req + ulen + 1;
	plen = strlen(pass);
	if (ulen + plen + 2 != n || plen == 0 || plen > AUTH_PASS_MAX ||
	    !authfile_user_ok(user, ulen))
		return 'N';
	hash = authfile_hash(af, user);
	if (hash != NULL && (hash[0] == '!' || hash[0] == '*'))
		hash = NULL;	/* locked, as passwd(5) locks: the same cost */
	out = crypt_rn(pass, hash != NULL ? hash : authfile_dummy(af), &cd,
	    sizeof(cd));
	if (hash == NULL)
		v = 'N';
	else if (out == NULL || out[0] == '*') {
		log_warnx("auth_users: the hash of user %s is not one crypt(3)"
		    " can check", user);
		v = 'T';
	} else
		v = hash_equal(out, hash) ? 'Y' : 'N';
	explicit_bzero(&cd, sizeof(cd));
	return v;
}

/* grant_name_ok - fit for %d or %u: not empty, no '/', not "." or "..". */
static int
grant_name_ok(const char *s, size_t n)
{
	return n > 0 && memchr(s, '/', n) == NULL && !(n == 1 && s[0] ==
	    '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

/*
 * grant_expand - virtual_mailbox_path for local@domain: %d the domain and
 * %u the local part, both lower-cased, %% a percent.  -1 when too long,
 * a bad '%', a part unfit for a path, or the result not absolute.
 */
static int
grant_expand(const char *tmpl, const char *user, char *out, size_t outlen)
{
	const char *at = strrchr(user, '@'), *p, *v;
	size_t	 o = 0, n, i;

	if (at == NULL || !grant_name_ok(user, (size_t)(at - user)) ||
	    !grant_name_ok(at + 1, strlen(at + 1)))
		return -1;
	for (p = tmpl; *p != '\0'; p++) {
		v = p;
		n = 1;
		if (*p == '%') {
			p++;
			if (*p == 'd') {
				v = at + 1;
				n = strlen(v);
			} else if (*p == 'u') {
				v = user;
				n = (size_t)(at - user);
			} else if (*p != '%')
				return -1;
		}
		if (o + n >= outlen)
			return -1;
		for (i = 0; i < n; i++)
			out[o++] = (char)tolower((unsigned char)v[i]);
		if (v == p)
			out[o - 1] = *p;	/* the template's own byte */
	}
	out[o] = '\0';
	return out[0] == '/' && strstr(out, "/../") == NULL ? 0 : -1;
}

/*
 * checker_grant - tell the master that user (its password just proved
 * right) may have its POP3 session on rfd: the kind of account, and the
 * Maildir of a virtual one (the line's mailbox=, else
 * virtual_mailbox_path).  A Unix user's Maildir is the master's to
 * derive.  -1 when the grant cannot be made or sent.
 */
static int
checker_grant(const struct authfile *af, const char *user, int rfd)
{
	static struct auth_grant g;
	struct authfile_account acct;
	const char *at = strrchr(user, '@');
	size_t	 len;

	memset(&g, 0, sizeof(g));
	if ((len = strlen(user)) >= sizeof(g.account))
		return -1;
	memcpy(g.account, user, len + 1);
	if (at == NULL)
		g.kind = AUTH_GRANT_UNIX;
	else if (config_is_virtual_domain(checker_cfg, at + 1)) {
		g.kind = AUTH_GRANT_VIRTUAL;
		if (authfile_account(af, user, &acct) == -1)
			return -1;
		if (acct.mailbox != NULL) {
			if (strlen(acct.mailbox) >= sizeof(g.maildir))
				return -1;
			strcpy(g.maildir, acct.mailbox);
		} else if (grant_expand(checker_cfg->virtual_mailbox_path,
		    user, g.maildir, sizeof(g.maildir)) == -1) {
			log_warnx("virtual_mailbox_path gives no mailbox for "
			    "%s", user);
			return -1;
		}
	} else {
		log_warnx("POP3 login of %s: neither a Unix user nor an account"
		    " of virtual_domains", user);
		return -1;
	}
	return fdpass_send(FD_GRANT, &g, sizeof(g), rfd);
}

/*
 * checker_lookup - the answer to an 'L' request of n bytes, "account\0":
 * "Y" QUOTA "\0" MAILBOX "\0" for a listed user, else "N" (auth.h).  No
 * crypt(), no hash: who has an account is what RCPT tells anyway.  A
 * locked account ('!' hash) still exists: it gets mail, as a locked
 * Unix user does, and only its logins fail.
 */
static void
checker_lookup(const struct authfile *af, int rfd, const char *req,
    size_t n)
{
	struct authfile_account acct;
	char	 out[32 + AUTH_PATH_MAX + 2];
	int	 len;

	if (n < 2 || req[n - 1] != '\0' || strlen(req) + 1 != n ||
	    !authfile_user_ok(req, n - 1) ||
	    authfile_account(af, req, &acct) == -1) {
		(void)send(rfd, "N", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	len = snprintf(out, sizeof(out), "Y%lld%c%s", acct.quota, '\0',
	    acct.mailbox != NULL ? acct.mailbox : "");
	if (len < 0 || (size_t)len >= sizeof(out))
		return;
	(void)send(rfd, out, (size_t)len + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Answer on the requester's own socket, unless it has given up.  The
 * first byte of a request says what it asks (auth.h); an unknown type
 * gets no answer.
 */
static void
checker_answer(const struct authfile *af, int rfd, char *req, size_t n)
{
	struct pollfd pfd;
	struct stat st;
	char	 v;

	if (fstat(rfd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	pfd.fd = rfd;
	pfd.events = 0;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)))
		return;		/* timed out and gone: spare the crypt() */
	switch (req[0]) {
	case AUTH_REQ_CHECK:
		v = checker_verdict(af, req + 1, n - 1);
		(void)send(rfd, &v, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case AUTH_REQ_LOOKUP:
		checker_lookup(af, rfd, req + 1, n - 1);
		break;
	case AUTH_REQ_POP3:
		/*
		 * The answer goes first: the mailbox process the grant
		 * makes writes its "+OK" on the same stream.  A grant that
		 * cannot be sent leaves the requester end of file.
		 */
		v = checker_verdict(af, req + 1, n - 1);
		if (send(rfd, &v, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 &&
		    v == 'Y')
			(void)checker_grant(af, req + 1, rfd);
		break;
	default:
		break;
	}
}

/*
 * checker_serve - answer requests until every client end is closed or
 * SIGTERM comes (which lets the request in hand finish).  SIGTERM is
 * blocked except inside ppoll(), so it cannot slip in between the check
 * of the flag and the wait.
 */
static int
checker_serve(const struct authfile *af)
{
	char	 req[REQUEST_MAX + 1];
	struct pollfd pfd;
	sigset_t block, open;
	ssize_t	 n;
	int	 rfd;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &open);
	sigdelset(&open, SIGTERM);
	while (!checker_term) {
		pfd.fd = FD_SOCK;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, NULL, &open) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		n = fdpass_recv(FD_SOCK, req, sizeof(req), &rfd);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == EBADMSG)	/* too long, or no socket */
				continue;
			log_warn("receive");
			return 1;
		}
		if (n == 0) {
			if (pfd.revents & POLLHUP)
				return 0;	/* no client end is left */
			continue;		/* an empty record */
		}
		checker_answer(af, rfd, req, (size_t)n);
		explicit_bzero(req, sizeof(req));
		close(rfd);
	}
	return 0;
}

/*
 * checker_fds - keep sock, status and file as descriptors 3, 4 and 5 and
 * standard error; standard input and output become /dev/null; close the
 * rest (the master's listeners, its other children's sockets, ...).
 */
static int
checker_fds(int sock, int status, int file, int grant)
{
	int	 hi[4], i, null;

	hi[0] = fcntl(sock, F_DUPFD, 64);
	hi[1] = fcntl(status, F_DUPFD, 64);
	hi[2] = fcntl(file, F_DUPFD, 64);
	hi[3] = fcntl(grant, F_DUPFD, 64);
	if (hi[0] == -1 || hi[1] == -1 || hi[2] == -1 || hi[3] == -1)
		return -1;
	if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		if (dup2(hi[i], FD_SOCK + i) == -1)
			return -1;
	if (close_range(FD_GRANT + 1, ~0U, 0) == -1) {
		/* kernels before 5.9: the slow way */
		long	 max = sysconf(_SC_OPEN_MAX), fd;

		for (fd = FD_GRANT + 1; fd < (max > 0 ? max : 1024); fd++)
			close((int)fd);
	}
	return 0;
}

/* checker_fail - tell the master why (one record), and exit. */
static void __attribute__((noreturn))
checker_fail(int code, const char *fmt, const char *a, const char *b)
{
	char	 msg[512];
	int	 n;

	msg[0] = 'E';
	n = snprintf(msg + 1, sizeof(msg) - 1, fmt, a, b);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg) - 1)
		n = (int)sizeof(msg) - 2;
	(void)write(FD_STATUS, msg, (size_t)n + 1);
	_exit(code);
}

/* The checker process, from fork() on; never returns. */
static void __attribute__((noreturn))
checker_main(const struct config *cfg, int sock, int status, int grant,
    uid_t uid, gid_t gid)
{
	struct authfile *af;
	struct rlimit rl = { 0, 0 };
	struct sigaction sa;
	struct stat st;
	char	 err[512];
	FILE	*fp;
	int	 fd;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = checker_on_term;
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: ppoll sees it */
	signal(SIGHUP, SIG_IGN);	/* the master sends the reloads */
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* As root: open the administrator's file, parse nothing. */
	fd = open(cfg->auth_users, O_RDONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC);
	closelog();	/* its descriptor is about to be closed or reused */
	if (checker_fds(sock, status, fd == -1 ? status : fd, grant) == -1)
		_exit(EX_OSERR);
	checker_cfg = cfg;
	log_setproc("auth");
	if (fd == -1)
		checker_fail(EX_NOINPUT, "%s: %s", cfg->auth_users,
		    strerror(errno));
	if (priv_become(uid, gid) == -1 || prctl(PR_SET_DUMPABLE, 0) == -1)
		checker_fail(EX_OSERR, "%s%s", "cannot drop privileges", "");
	setrlimit(RLIMIT_CORE, &rl);
	/* From here on as `user` (when started by root). */
	if (fstat(FD_FILE, &st) == -1 || !S_ISREG(st.st_mode))
		checker_fail(EX_NOINPUT, "%s: %s", cfg->auth_users,
		    "not a regular file");
	if (fcntl(FD_FILE, F_SETFL, 0) == -1 ||
	    (fp = fdopen(FD_FILE, "r")) == NULL)
		checker_fail(EX_OSERR, "%s: %s", cfg->auth_users,
		    strerror(errno));
	af = authfile_load(fp, cfg->auth_users, err, sizeof(err));
	fclose(fp);
	if (af == NULL)
		checker_fail(EX_DATAERR, "%s%s", err, "");
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		log_warnx("%s: readable or writable by others than its owner "
		    "(mode %04o): make it 0600", cfg->auth_users,
		    (unsigned)(st.st_mode & 07777));
	log_info("%zu user%s from %s", authfile_count(af),
	    authfile_count(af) == 1 ? "" : "s", cfg->auth_users);
	if (write(FD_STATUS, "R", 1) != 1)
		_exit(EX_OSERR);
	close(FD_STATUS);
	_exit(checker_serve(af));
}

void
auth_checker_init(struct auth_checker *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->fd = -1;
	ac->grant_fd = ac->grant_peer = -1;
	ac->pid = -1;
}

/* Copy the checker's message into err, each control byte as '?'. */
static void
status_message(const char *msg, size_t n, char *err, size_t errlen)
{
	size_t	 i;

	if (errlen == 0)
		return;
	if (n >= errlen)
		n = errlen - 1;
	for (i = 0; i < n; i++)
		err[i] = text_is_ctl((unsigned char)msg[i]) ? '?' : msg[i];
	err[n] = '\0';
}

/*
 * start_wait - the new checker's status record: 0 once it has read the
 * file ("R"), -1 with its reason ("E...") or when it died or hung (it is
 * then killed and reaped here).  The master reads this one record from
 * the checker and no other byte.
 */
static int
start_wait(pid_t pid, int status, char *err, size_t errlen)
{
	struct pollfd pfd;
	char	 msg[512];
	ssize_t	 n = -1;
	int	 rc;

	pfd.fd = status;
	pfd.events = POLLIN;
	while ((rc = poll(&pfd, 1, START_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	if (rc == 1)
		while ((n = read(status, msg, sizeof(msg))) == -1 &&
		    errno == EINTR)
			;
	if (n == 1 && msg[0] == 'R')
		return 0;
	if (n > 1 && msg[0] == 'E')
		status_message(msg + 1, (size_t)n - 1, err, errlen);
	else
		snprintf(err, errlen, "the auth checker %s", rc == 0 ?
		    "did not start in time" : "exited at start");
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return -1;
}

pid_t
auth_checker_start(struct auth_checker *ac, const struct config *cfg,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int	 sp[2], st[2], gr[2];
	pid_t	 pid;

	if (ac->grant_fd == -1) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    gr) == -1) {
			snprintf(err, errlen, "socketpair: %s",
			    strerror(errno));
			return -1;
		}
		fcntl(gr[0], F_SETFL, O_NONBLOCK);
		ac->grant_fd = gr[0];
		ac->grant_peer = gr[1];
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(st[0]);
		close(st[1]);
		goto fail;
	}
	if (pid == 0)
		checker_main(cfg, sp[1], st[1], ac->grant_peer, uid, gid);
	close(sp[1]);
	close(st[1]);
	if (start_wait(pid, st[0], err, errlen) == -1) {
		close(st[0]);
		close(sp[0]);
		return -1;
	}
	close(st[0]);
	/* Shared by every smtpd: a full queue must fail, not block one. */
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	if (ac->fd != -1)
		close(ac->fd);	/* the old checker ends with its sessions */
	ac->fd = sp[0];
	ac->pid = pid;
	ac->started = time(NULL);
	ac->restart_pending = 0;
	return pid;
fail:
	close(sp[0]);
	close(sp[1]);
	return -1;
}

/* Schedule the next start: at once after a minute's run, else back off. */
static void
schedule_restart(struct auth_checker *ac, time_t now)
{
	if (now - ac->started > 60)
		ac->backoff = 0;
	ac->restart_at = now + ac->backoff;
	ac->restart_pending = 1;
	log_warnx("auth checker not running; starting again in %d s",
	    ac->backoff);
	ac->backoff = ac->backoff ? ac->backoff * 2 : 1;
	if (ac->backoff > BACKOFF_MAX)
		ac->backoff = BACKOFF_MAX;
}

int
auth_checker_reaped(struct auth_checker *ac, pid_t pid, int status)
{
	if (pid <= 0 || pid != ac->pid)
		return 0;
	ac->pid = -1;
	if (ac->fd != -1)
		close(ac->fd);	/* new smtpds get -1: "try later" at once */
	ac->fd = -1;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
		log_warnx("auth checker %ld killed by signal %d", (long)pid,
		    WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("auth checker %ld exited with status %d", (long)pid,
		    WEXITSTATUS(status));
	if (!ac->stopping)
		schedule_restart(ac, time(NULL));
	return 1;
}

int
auth_checker_timer(struct auth_checker *ac, const struct config *cfg,
    uid_t uid, gid_t gid, int *timeout_ms)
{
	char	 err[512];
	time_t	 now = time(NULL);
	long long ms;

	if (!ac->restart_pending || ac->stopping)
		return 0;
	if (now >= ac->restart_at) {
		if (auth_checker_start(ac, cfg, uid, gid, err,
		    sizeof(err)) != -1)
			return 1;
		log_warnx("cannot start the auth checker: %s", err);
		ac->started = now;
		schedule_restart(ac, now);
	}
	ms = (long long)(ac->restart_at - now) * 1000;
	if (ms < 0)
		ms = 0;
	if (*timeout_ms == -1 || ms < *timeout_ms)
		*timeout_ms = (int)ms;
	return 0;
}

void
auth_checker_stop(struct auth_checker *ac)
{
	ac->stopping = 1;
	ac->restart_pending = 0;
	if (ac->pid > 0)
		kill(ac->pid, SIGTERM);
	if (ac->fd != -1)
		close(ac->fd);
	ac->fd = -1;
	if (ac->grant_fd != -1) {
		close(ac->grant_fd);
		close(ac->grant_peer);
	}
	ac->grant_fd = ac->grant_peer = -1;
}

/*
 * auth_grant_recv - in the master (root): one fixed-size record and its
 * descriptor; every string must end within its field.  Nothing else of
 * the record is read.
 */
int
auth_grant_recv(int grant_fd, struct auth_grant *g, int *fd)
{
	ssize_t	 n;

	*fd = -1;
	if ((n = fdpass_recv(grant_fd, g, sizeof(*g), fd)) == -1)
		return -1;
	if ((size_t)n != sizeof(*g) || *fd == -1 ||
	    (g->kind != AUTH_GRANT_UNIX && g->kind != AUTH_GRANT_VIRTUAL) ||
	    memchr(g->account, '\0', sizeof(g->account)) == NULL ||
	    memchr(g->maildir, '\0', sizeof(g->maildir)) == NULL) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}
