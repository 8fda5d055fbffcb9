/* SPDX-License-Identifier: ISC */
/*
 * test_auth.c - the password file parser, and a real auth checker forked
 * from the test (as ourselves; as `nobody` when run by root) answering
 * right and wrong passwords and unknown users, refusing over-long and
 * malformed requests, dying, restarting and being reloaded.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "authfile.h"
#include "config.h"
#include "unit.h"

static char	 dir[256];
static uid_t	 run_uid;
static gid_t	 run_gid;

static const char *
put(const char *name, const char *text)
{
	static char	 path[512];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fchmod(fileno(fp), 0600);
	fclose(fp);
	return path;
}

/* A crypt(3) hash of pass with the method prefix ("$6$", "$y$"). */
static const char *
hash(const char *prefix, const char *pass)
{
	static char	 out[4][CRYPT_OUTPUT_SIZE];
	static int	 slot;
	char		 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char		*s = out[slot++ % 4];

	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    crypt_rn(pass, salt, &cd, sizeof(cd)) == NULL)
		return "bad";
	snprintf(s, CRYPT_OUTPUT_SIZE, "%s", cd.output);
	return s;
}

static int
parse(const char *line, struct authfile_line *l, const char **why)
{
	*why = NULL;
	return authfile_parse_line(line, strlen(line), l, why);
}

static void
test_parse_line(void)
{
	struct authfile_line l;
	const char *why;
	char	 longuser[300];

	CHECK(parse("", &l, &why) == 0);
	CHECK(parse("   \t", &l, &why) == 0);
	CHECK(parse("# alice:x", &l, &why) == 0);
	CHECK(parse("  # indented comment", &l, &why) == 0);
	CHECK(parse("alice:$6$salt$abc", &l, &why) == 1);
	CHECK(l.userlen == 5 && memcmp(l.user, "alice", 5) == 0);
	CHECK(l.hashlen == 11 && memcmp(l.hash, "$6$salt$abc", 11) == 0);
	CHECK(parse("bob@example.org:$y$j9T$s$h", &l, &why) == 1);
	CHECK(parse("alice", &l, &why) == -1 && why != NULL);
	CHECK(parse(":$6$x", &l, &why) == -1);
	CHECK(parse("alice:", &l, &why) == -1);
	CHECK(parse("al ice:$6$x", &l, &why) == -1);
	CHECK(parse("alice:$6$x:1000:1000", &l, &why) == -1);
	CHECK(why != NULL && strstr(why, "unknown field") != NULL);
	CHECK(parse("alice:$6$x y", &l, &why) == -1);
	CHECK(parse("al\001ce:$6$x", &l, &why) == -1);
	CHECK(parse("alice:$6$x\r", &l, &why) == -1);
	memset(longuser, 'a', 256);
	strcpy(longuser + 256, ":$6$x");
	CHECK(parse(longuser, &l, &why) == -1);
	CHECK(why != NULL && strstr(why, "too long") != NULL);
	longuser[255] = '\0';
	CHECK(authfile_user_ok(longuser, 255));
	CHECK(!authfile_user_ok("", 0));
	CHECK(!authfile_user_ok("a:b", 3));
}

static void
test_parse_fields(void)
{
	struct authfile_line l;
	struct authfile *af;
	struct authfile_account acct;
	const char *why;
	char	 err[512];

	CHECK(parse("bob@example.org:$6$x$h:quota=100M", &l, &why) == 1);
	CHECK(l.hashlen == 6 && memcmp(l.hash, "$6$x$h", 6) == 0);
	CHECK(l.quota == 100LL * 1024 * 1024 && l.mailbox == NULL);
	CHECK(parse("bob@example.org:$6$x$h:  mailbox=/srv/mail/bob/ "
	    "quota=2048\t", &l, &why) == 1);
	CHECK(l.quota == 2048 && l.mailboxlen == 14 &&
	    memcmp(l.mailbox, "/srv/mail/bob/", 14) == 0);
	CHECK(parse("bob:$6$x:", &l, &why) == 1 && l.quota == 0);
	CHECK(parse("bob:$6$x:quota=1G", &l, &why) == 1 &&
	    l.quota == 1024LL * 1024 * 1024);
	CHECK(parse("bob:$6$x:quota=", &l, &why) == -1);
	CHECK(parse("bob:$6$x:quota=12X", &l, &why) == -1);
	CHECK(parse("bob:$6$x:quota=-1", &l, &why) == -1);
	CHECK(parse("bob:$6$x:quota=1 quota=2", &l, &why) == -1);
	CHECK(parse("bob:$6$x:mailbox=rel/path", &l, &why) == -1);
	CHECK(parse("bob:$6$x:mailbox=/a/../etc", &l, &why) == -1);
	CHECK(parse("bob:$6$x:mailbox=/a/..", &l, &why) == -1);
	CHECK(parse("bob:$6$x:mailbox=/a/..b/", &l, &why) == 1);
	CHECK(parse("bob:$6$x:mailbox=/a:b", &l, &why) == -1);
	CHECK(parse("bob:$6$x:mailbox=/a mailbox=/b", &l, &why) == -1);
	CHECK(parse("bob:$6$x:home=/a", &l, &why) == -1);

	af = authfile_open(put("passwd", "alice:$6$a\n"
	    "bob@example.org:$6$b:quota=10K mailbox=/m/bob/\n"), err,
	    sizeof(err));
	CHECK(af != NULL);
	if (af == NULL)
		return;
	CHECK(authfile_account(af, "alice", &acct) == 0 &&
	    acct.mailbox == NULL && acct.quota == 0);
	CHECK(authfile_account(af, "bob@example.org", &acct) == 0 &&
	    strcmp(acct.mailbox, "/m/bob/") == 0 && acct.quota == 10240);
	CHECK(strcmp(authfile_hash(af, "bob@example.org"), "$6$b") == 0);
	CHECK(authfile_account(af, "carol", &acct) == -1);
	authfile_free(af);
}

static void
test_load(void)
{
	struct authfile *af;
	char	 err[512];
	const char *p;

	p = put("passwd", "# users\n\nalice:$6$a$A\n  \nbob:$y$b$B\n"
	    "carol:$6$c$C");		/* no newline at the end */
	af = authfile_open(p, err, sizeof(err));
	CHECK(af != NULL);
	if (af == NULL)
		return;
	CHECK(authfile_count(af) == 3);
	CHECK_STR(authfile_hash(af, "alice"), "$6$a$A");
	CHECK_STR(authfile_hash(af, "bob"), "$y$b$B");
	CHECK_STR(authfile_hash(af, "carol"), "$6$c$C");
	CHECK(authfile_hash(af, "Alice") == NULL);	/* names are exact */
	CHECK(authfile_hash(af, "dave") == NULL);
	CHECK(authfile_dummy(af) != NULL && authfile_dummy(af)[0] == '$');
	authfile_free(af);

	p = put("passwd", "alice:$6$a$A\n\nbob $6$secret\n");
	CHECK(authfile_open(p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "passwd:3: ") != NULL);
	CHECK(strstr(err, "secret") == NULL);	/* never the line itself */

	p = put("passwd", "alice:$6$a$A\nbob:$6$b$B\nalice:$6$c$C\n");
	CHECK(authfile_open(p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "passwd:3: user listed again (first on line 1)") !=
	    NULL);

	p = put("passwd", "");
	af = authfile_open(p, err, sizeof(err));
	CHECK(af != NULL && authfile_count(af) == 0);
	CHECK(af != NULL && strncmp(authfile_dummy(af), "$y$", 3) == 0);
	authfile_free(af);

	snprintf(err, sizeof(err), "%s/missing", dir);
	CHECK(authfile_open(err, err, sizeof(err)) == NULL);
}

static struct config cfg;

static pid_t
start(struct auth_checker *ac, const char *passwd, char *err, size_t len)
{
	char	 text[1024], e[512];

	config_free(&cfg);
	snprintf(text, sizeof(text), "auth_users = %s\n", passwd);
	if (config_parse_string(&cfg, "test", text, e, sizeof(e)) == -1) {
		printf("  config: %s\n", e);
		return -1;
	}
	return auth_checker_start(ac, &cfg, run_uid, run_gid, err, len);
}

/* Reap pid within a few seconds; its status, or -1. */
static int
reap(pid_t pid)
{
	int	 st, i;

	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	return -1;
}

/*
 * Non-dumpable (the kernel then gives its /proc files to root, so the
 * smtpds' uid cannot read /proc/PID/mem or ptrace it); as root we can
 * also see that it holds descriptors 0 to 3 and no others.
 */
static int
checker_is_sealed(pid_t pid)
{
	char	 path[64];
	struct stat st;
	struct dirent *d;
	DIR	*dp;
	int	 n = 0, ok = 1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (stat(path, &st) == -1 || st.st_uid != 0)
		return 0;
	if (geteuid() != 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dp = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		n++;
		/* 0-2, its socket, and 6: the grant channel of POP3 */
		if (atoi(d->d_name) > 3 && atoi(d->d_name) != 6)
			ok = 0;
	}
	closedir(dp);
	return ok && n == 5;
}

/* It says "R", then closes its status pipe: give it a moment (bounded). */
static int
checker_sealed_soon(pid_t pid)
{
	int	 i;

	for (i = 0; i < 200; i++) {
		if (checker_is_sealed(pid))
			return 1;
		usleep(10000);
	}
	return 0;
}

static void
test_checker_answers(void)
{
	struct auth_checker ac;
	char	 text[2048], err[512], big[AUTH_PASS_MAX + 2];
	pid_t	 pid;

	auth_checker_init(&ac);
	snprintf(text, sizeof(text), "# test users\nalice:%s\nbob:%s\n"
	    "carol:!%s\n", hash("$6$", "right one"), hash("$y$", "b0b"),
	    hash("$6$", "locked"));
	pid = start(&ac, put("passwd", text), err, sizeof(err));
	CHECK(pid > 0);
	if (pid <= 0) {
		printf("  start: %s\n", err);
		return;
	}
	CHECK(ac.fd >= 0 && ac.pid == pid);
	CHECK(checker_sealed_soon(pid));
	CHECK(auth_check(ac.fd, "alice", "right one", 5000) == 1);
	CHECK(auth_check(ac.fd, "alice", "right on", 5000) == 0);
	CHECK(auth_check(ac.fd, "alice", "right one ", 5000) == 0);
	CHECK(auth_check(ac.fd, "Alice", "right one", 5000) == 0);
	CHECK(auth_check(ac.fd, "bob", "b0b", 5000) == 1);	/* yescrypt */
	CHECK(auth_check(ac.fd, "bob", "right one", 5000) == 0);
	CHECK(auth_check(ac.fd, "carol", "locked", 5000) == 0);
	CHECK(auth_check(ac.fd, "dave", "b0b", 5000) == 0);	/* unknown */
	CHECK(auth_check(ac.fd, "", "b0b", 5000) == 0);
	CHECK(auth_check(ac.fd, "bob", "", 5000) == 0);
	CHECK(auth_check(ac.fd, "b:ob", "b0b", 5000) == 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(auth_check(ac.fd, "bob", big, 5000) == 0);	/* too long */
	auth_checker_stop(&ac);
	CHECK(WIFEXITED(reap(pid)));
	CHECK(auth_checker_reaped(&ac, pid, 0) == 1);
	CHECK(!ac.restart_pending);		/* stopped: no restart */
}

/* Send a raw record with a reply socket; the one-byte answer, or -1. */
static int
raw_request(int fd, const void *req, size_t len)
{
	struct msghdr msg;
	struct iovec iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	struct timeval tv = { 5, 0 };
	int	 sp[2];
	char	 v;
	ssize_t	 n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		return -2;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)req;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sp[1], sizeof(int));
	n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	close(sp[1]);
	if (n != (ssize_t)len) {
		close(sp[0]);
		return -2;
	}
	setsockopt(sp[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(sp[0], &v, 1, 0);
	close(sp[0]);
	return n == 1 ? v : -1;
}

static void
test_checker_refuses_bad_requests(void)
{
	struct auth_checker ac;
	char	 text[1024], err[512], req[3000];
	pid_t	 pid;

	auth_checker_init(&ac);
	snprintf(text, sizeof(text), "alice:%s\n", hash("$6$", "pw"));
	if ((pid = start(&ac, put("passwd", text), err, sizeof(err))) <= 0) {
		CHECK(pid > 0);
		return;
	}
	CHECK(raw_request(ac.fd, "Aalice\0pw\0", 10) == 'Y');
	/* Over-long: truncated on receipt, dropped unanswered. */
	memset(req, 'a', sizeof(req));
	memcpy(req, "Aalice\0", 7);
	req[sizeof(req) - 1] = '\0';
	CHECK(raw_request(ac.fd, req, sizeof(req)) == -1);
	/* A password of AUTH_PASS_MAX + 1 bytes fits the record: 'N'. */
	memcpy(req + 7 + AUTH_PASS_MAX + 1, "", 1);
	CHECK(raw_request(ac.fd, req, 7 + AUTH_PASS_MAX + 2) == 'N');
	CHECK(raw_request(ac.fd, "Aalice\0pw", 9) == 'N');	/* no NUL */
	CHECK(raw_request(ac.fd, "Aalice\0pw\0x\0", 12) == 'N');
	CHECK(raw_request(ac.fd, "Aalice", 6) == 'N');
	CHECK(raw_request(ac.fd, "A\0pw\0", 5) == 'N');
	CHECK(raw_request(ac.fd, "A", 1) == 'N');
	/* Without the type byte, or an unknown one: no answer. */
	CHECK(raw_request(ac.fd, "alice\0pw\0", 9) == -1);
	CHECK(raw_request(ac.fd, "Zalice\0pw\0", 10) == -1);
	/* A record without a reply socket: dropped; still serving. */
	CHECK(send(ac.fd, "alice\0pw\0", 9, 0) == 9);
	CHECK(send(ac.fd, "", 0, 0) == 0);
	CHECK(auth_check(ac.fd, "alice", "pw", 5000) == 1);
	CHECK(kill(pid, 0) == 0);
	auth_checker_stop(&ac);
	reap(pid);
}

/* A stand-in checker: takes one request and exits without an answer. */
static void
test_dead_checker(void)
{
	struct auth_checker ac;
	struct timespec t0, t1;
	char	 text[1024], err[512], buf[64];
	pid_t	 pid, pid2;
	int	 sp[2], old, st, fd, timeout = -1;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	if ((pid = fork()) == 0) {
		close(sp[0]);
		(void)recv(sp[1], buf, sizeof(buf), 0);	/* fd closed at exit */
		_exit(0);
	}
	close(sp[1]);
	CHECK(auth_check(sp[0], "alice", "pw", 5000) == -1);
	reap(pid);
	CHECK(auth_check(sp[0], "alice", "pw", 5000) == -1);	/* gone */
	CHECK(errno == EPIPE || errno == ECONNREFUSED || errno == ECONNRESET);
	close(sp[0]);
	CHECK(auth_check(-1, "alice", "pw", 5000) == -1);

	/* A checker that never answers: bounded by the timeout. */
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(auth_check(sp[0], "alice", "pw", 200) == -1);
	CHECK(errno == ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 3);
	close(sp[0]);
	close(sp[1]);

	/* A real one killed: -1 at once, and the master starts another. */
	auth_checker_init(&ac);
	snprintf(text, sizeof(text), "alice:%s\n", hash("$6$", "pw"));
	if ((pid = start(&ac, put("passwd", text), err, sizeof(err))) <= 0) {
		CHECK(pid > 0);
		return;
	}
	old = dup(ac.fd);
	CHECK(auth_check(old, "alice", "pw", 5000) == 1);
	kill(pid, SIGKILL);
	st = reap(pid);
	CHECK(auth_check(old, "alice", "pw", 5000) == -1);
	close(old);
	CHECK(auth_checker_reaped(&ac, pid + 100000, st) == 0);
	CHECK(auth_checker_reaped(&ac, pid, st) == 1);
	CHECK(ac.fd == -1 && ac.pid == -1 && ac.restart_pending);
	CHECK(auth_check(ac.fd, "alice", "pw", 5000) == -1);
	/* Ran under a minute, first death: restart due at once. */
	CHECK(auth_checker_timer(&ac, &cfg, run_uid, run_gid, &timeout) == 1);
	pid2 = ac.pid;
	CHECK(pid2 > 0 && pid2 != pid && ac.fd >= 0);
	CHECK(auth_check(ac.fd, "alice", "pw", 5000) == 1);
	/* The second death backs off a second. */
	fd = ac.fd;
	kill(pid2, SIGKILL);
	st = reap(pid2);
	CHECK(auth_checker_reaped(&ac, pid2, st) == 1);
	timeout = -1;
	CHECK(auth_checker_timer(&ac, &cfg, run_uid, run_gid, &timeout) == 0);
	CHECK(timeout > 0 && timeout <= 1000);
	(void)fd;
	auth_checker_stop(&ac);
	CHECK(!ac.restart_pending);
}

static void
test_checker_start_errors(void)
{
	struct auth_checker ac;
	char	 err[512], path[512];

	auth_checker_init(&ac);
	CHECK(start(&ac, put("passwd", "alice:$6$a$A\nbroken line\n"), err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "passwd:2: expected user:hash") != NULL);
	CHECK(ac.fd == -1 && ac.pid == -1);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(start(&ac, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "missing: No such file or directory") != NULL);
	CHECK(start(&ac, dir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
}

/* HUP: a new checker for the new file; the old one serves its holders
 * and exits when the last of them closes its end. */
static void
test_checker_reload(void)
{
	struct auth_checker ac;
	char	 text[1024], err[512];
	pid_t	 pid1, pid2;
	int	 old;

	auth_checker_init(&ac);
	snprintf(text, sizeof(text), "alice:%s\n", hash("$6$", "old"));
	if ((pid1 = start(&ac, put("passwd", text), err, sizeof(err))) <= 0) {
		CHECK(pid1 > 0);
		return;
	}
	old = dup(ac.fd);
	snprintf(text, sizeof(text), "alice:%s\n", hash("$6$", "new"));
	pid2 = start(&ac, put("passwd", text), err, sizeof(err));
	CHECK(pid2 > 0 && pid2 != pid1 && ac.pid == pid2);
	CHECK(auth_check(ac.fd, "alice", "new", 5000) == 1);
	CHECK(auth_check(ac.fd, "alice", "old", 5000) == 0);
	CHECK(auth_check(old, "alice", "old", 5000) == 1);
	/* A bad file on reload keeps the running checker. */
	CHECK(start(&ac, put("passwd", "bad\n"), err, sizeof(err)) == -1);
	CHECK(ac.pid == pid2 && auth_check(ac.fd, "alice", "new", 5000) == 1);
	close(old);
	CHECK(WIFEXITED(reap(pid1)));
	auth_checker_stop(&ac);
	reap(pid2);
}

/* Sessions asking at once each get their own answer. */
static void
test_checker_concurrent(void)
{
	struct auth_checker ac;
	char	 text[2048], err[512], user[16], pass[16];
	pid_t	 pid, kids[6];
	int	 i, j, st, bad = 0;

	auth_checker_init(&ac);
	text[0] = '\0';
	for (i = 0; i < 6; i++) {
		snprintf(pass, sizeof(pass), "p%d", i);
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "u%d:%s\n", i, hash("$6$", pass));
	}
	if ((pid = start(&ac, put("passwd", text), err, sizeof(err))) <= 0) {
		CHECK(pid > 0);
		return;
	}
	for (i = 0; i < 6; i++) {
		if ((kids[i] = fork()) != 0)
			continue;
		for (j = 0; j < 8; j++) {
			snprintf(user, sizeof(user), "u%d", i);
			snprintf(pass, sizeof(pass), "p%d", (i + j) % 6);
			if (auth_check(ac.fd, user, pass, 10000) !=
			    ((i + j) % 6 == i))
				_exit(1);
		}
		_exit(0);
	}
	for (i = 0; i < 6; i++)
		if ((st = reap(kids[i])) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad++;
	CHECK(bad == 0);
	auth_checker_stop(&ac);
	reap(pid);
}

static void
test_checker_lookup(void)
{
	struct auth_checker ac;
	struct auth_account acct;
	char	 text[2048], err[512];
	pid_t	 pid;

	auth_checker_init(&ac);
	snprintf(text, sizeof(text), "alice:%s\n"
	    "bob@example.org:%s:quota=10M\n"
	    "carol@example.org:!%s:mailbox=/srv/mail/carol/ quota=1K\n",
	    hash("$6$", "a"), hash("$6$", "b"), hash("$6$", "c"));
	pid = start(&ac, put("passwd", text), err, sizeof(err));
	CHECK(pid > 0);
	if (pid <= 0) {
		printf("  start: %s\n", err);
		return;
	}
	memset(&acct, 'x', sizeof(acct));
	CHECK(auth_lookup(ac.fd, "bob@example.org", &acct, 5000) == 1);
	CHECK(acct.quota == 10LL * 1024 * 1024 && acct.mailbox[0] == '\0');
	/* locked: still an account (mail is taken, logins are not) */
	CHECK(auth_lookup(ac.fd, "carol@example.org", &acct, 5000) == 1);
	CHECK(acct.quota == 1024 &&
	    strcmp(acct.mailbox, "/srv/mail/carol/") == 0);
	CHECK(auth_lookup(ac.fd, "alice", &acct, 5000) == 1 &&
	    acct.quota == 0);
	CHECK(auth_lookup(ac.fd, "dave@example.org", &acct, 5000) == 0);
	CHECK(auth_lookup(ac.fd, "Bob@example.org", &acct, 5000) == 0);
	CHECK(auth_lookup(ac.fd, "", &acct, 5000) == 0);
	CHECK(auth_lookup(ac.fd, "a b", &acct, 5000) == 0);
	/* malformed lookups get "N", never a hash */
	CHECK(raw_request(ac.fd, "Lbob@example.org", 16) == 'N');
	CHECK(raw_request(ac.fd, "L", 1) == 'N');
	CHECK(raw_request(ac.fd, "Lbob@example.org\0x\0", 19) == 'N');
	CHECK(auth_lookup(-1, "bob@example.org", &acct, 5000) == -1);
	auth_checker_stop(&ac);
	CHECK(WIFEXITED(reap(pid)));
	CHECK(auth_checker_reaped(&ac, pid, 0) == 1);
	/* no checker behind the descriptor any more: -1 at once */
	CHECK(auth_lookup(ac.fd, "bob@example.org", &acct, 5000) == -1);
}

int
main(void)
{
	struct passwd *pw;

	snprintf(dir, sizeof(dir), "/tmp/tern-auth-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	run_uid = getuid();
	run_gid = getgid();
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
		run_uid = pw->pw_uid;	/* the real drop, file opened as root */
		run_gid = pw->pw_gid;
	}
	memset(&cfg, 0, sizeof(cfg));
	RUN(test_parse_line);
	RUN(test_parse_fields);
	RUN(test_load);
	RUN(test_checker_answers);
	RUN(test_checker_refuses_bad_requests);
	RUN(test_checker_lookup);
	RUN(test_dead_checker);
	RUN(test_checker_start_errors);
	RUN(test_checker_reload);
	RUN(test_checker_concurrent);
	config_free(&cfg);
	put("passwd", "");
	unlink(put("passwd", ""));
	rmdir(dir);
	return unit_done();
}
