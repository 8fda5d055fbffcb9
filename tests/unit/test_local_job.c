/* SPDX-License-Identifier: ISC */
/*
 * test_local_job.c - local_job_exec() with the jobs a compromised spool
 * user could forge (issue 8): a domain or user that would move %d or %u
 * of mailbox_path, an unknown user, and the wire checks of
 * local_job_recv().  Each is refused before anything is written.
 * And the reuse of a user's process: it takes that user's next job,
 * and ends without writing anything when offered anyone else's.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "local_job.h"
#include "unit.h"

static char	 dir[64];
static struct config cfg;

/* run - local_job_exec(job) in a child; its last record in *last */
static int
run(const struct local_job *job, struct local_record *last)
{
	struct local_record r;
	int	 p[2], qfd, n = 0, status;
	pid_t	 pid;

	if (pipe(p) == -1 || (qfd = open("/dev/null", O_RDONLY)) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		close(p[0]);
		_exit(local_job_exec(&cfg, job, qfd, p[1]));
	}
	close(p[1]);
	close(qfd);
	memset(last, 0, sizeof(*last));
	while (local_record_read(p[0], &r) == 1) {
		*last = r;
		n++;
	}
	close(p[0]);
	waitpid(pid, &status, 0);
	return n;
}

static void
job_for(struct local_job *job, const char *user, const char *domain)
{
	memset(job, 0, sizeof(*job));
	job->kind = LOCAL_JOB_MAILBOX;
	snprintf(job->user, sizeof(job->user), "%s", user);
	snprintf(job->domain, sizeof(job->domain), "%s", domain);
	snprintf(job->rcpt, sizeof(job->rcpt), "%s@%s", user, domain);
}

static void
test_forged_domain_and_user(void)
{
	static const char *const bad[][2] = {
		{ NULL, ".." }, { NULL, "../x" }, { NULL, "tern.test/../.." },
		{ NULL, "other.example" }, { "..", "tern.test" },
		{ "../etc", "tern.test" }, { "no-such-user-x", "tern.test" },
	};
	struct local_record r;
	struct local_job job;
	char	 me[256], path[128];
	size_t	 i;

	snprintf(me, sizeof(me), "%s", getuid() == 0 ? "daemon" :
	    getpwuid(getuid())->pw_name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		job_for(&job, bad[i][0] ? bad[i][0] : me, bad[i][1]);
		CHECK(run(&job, &r) == 1);
		CHECK(r.type == LOCAL_RECORD_END);
		CHECK(r.status != DELIVER_OK);
		if (r.status == DELIVER_OK)
			printf("  accepted %s@%s\n", job.user, job.domain);
	}
	/* Nothing was made outside the mail directory. */
	snprintf(path, sizeof(path), "%s/x", dir);
	CHECK(access(path, F_OK) == -1);
	snprintf(path, sizeof(path), "%s/mail", dir);
	CHECK(rmdir(path) == 0);	/* still empty */
	mkdir(path, 01777);
}

static void
test_recv_checks(void)
{
	struct local_job job, got;
	int	 sp[2], fds[2], p[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	CHECK(pipe(p) == 0);
	job_for(&job, "bob", "tern.test");
	/* A string that does not end in its field is refused. */
	memset(job.user, 'a', sizeof(job.user));
	CHECK(local_job_send(sp[0], &job, p[0], p[1]) == 0);
	CHECK(local_job_recv(sp[1], &got, fds) == -1);
	CHECK(fds[0] == -1 && fds[1] == -1);
	job_for(&job, "bob", "tern.test");
	job.kind = 42;
	CHECK(local_job_send(sp[0], &job, p[0], p[1]) == 0);
	CHECK(local_job_recv(sp[1], &got, fds) == -1);
	job_for(&job, "bob", "tern.test");
	CHECK(local_job_send(sp[0], &job, p[0], p[1]) == 0);
	CHECK(local_job_recv(sp[1], &got, fds) == 0);
	CHECK_STR(got.user, "bob");
	close(fds[0]);
	close(fds[1]);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/* send_raw - len bytes of job with nfds copies of fd */
static void
send_raw(int sock, const struct local_job *job, size_t len, int fd,
    int nfds)
{
	char	 cbuf[CMSG_SPACE(sizeof(int) * 3)];
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	int	 fds[3] = { fd, fd, fd };

	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)job;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	CHECK(sendmsg(sock, &msg, 0) == (ssize_t)len);
}

/* Wrong descriptor counts and sizes: refused, nothing leaked. */
static void
test_recv_fds_and_size(void)
{
	static const struct { size_t less; int nfds; } bad[] = {
		{ 0, 0 }, { 0, 1 }, { 0, 3 }, { 1, 2 },
	};
	struct local_job job, got;
	int	 sp[2], fds[2], p[2];
	size_t	 i;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	CHECK(pipe(p) == 0);
	job_for(&job, "bob", "tern.test");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_raw(sp[0], &job, sizeof(job) - bad[i].less, p[1],
		    bad[i].nfds);
		fds[0] = fds[1] = 123;
		CHECK(local_job_recv(sp[1], &got, fds) == -1 &&
		    errno == EBADMSG);
		CHECK(fds[0] == -1 && fds[1] == -1);
	}
	close(sp[0]);
	CHECK(local_job_recv(sp[1], &got, fds) == 1);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
	/* no descriptor leaked by any rejection */
	CHECK(fcntl(p[1] + 1, F_GETFD) == -1 || p[1] + 1 <= 2);
}

/* message - a file holding one small message, at offset 0 */
static int
message(const char *text)
{
	char	 path[128];
	int	 fd;

	snprintf(path, sizeof(path), "%s/msg.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return fd;
}

/* records - read until READY or end of file: 1 READY, 0 EOF; *done
 * counts the DONE records that said OK */
static int
records(int fd, int *done)
{
	struct local_record r;
	int	 n;

	while ((n = local_record_read(fd, &r)) == 1) {
		if (r.type == LOCAL_RECORD_READY)
			return 1;
		if (r.type == LOCAL_RECORD_DONE && r.status == DELIVER_OK)
			(*done)++;
	}
	return 0;
}

static int
count_new(const char *user)
{
	char	 cmd[256];
	FILE	*fp;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s/mail/tern.test/%s/new 2>/dev/null "
	    "| wc -l", dir, user);
	if ((fp = popen(cmd, "r")) != NULL) {
		if (fscanf(fp, "%d", &n) != 1)
			n = -1;
		pclose(fp);
	}
	return n;
}

static void
test_reuse_same_user_only(void)
{
	struct local_job a, b;
	const char *me = getuid() == 0 ? "daemon" :
	    getpwuid(getuid())->pw_name;
	char	 path[128];
	int	 sp[2], msg, status, done = 0;
	pid_t	 pid;

	CHECK((msg = message("Subject: reuse\r\n\r\nhello\r\n")) != -1);
	snprintf(path, sizeof(path), "%s/mail/tern.test", dir);
	CHECK(mkdir(path, 01777) == 0 && chmod(path, 01777) == 0);
	job_for(&a, me, "tern.test");
	job_for(&b, "bin", "tern.test");
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	if ((pid = fork()) == 0) {
		close(sp[0]);
		_exit(local_job_exec(&cfg, &a, dup(msg), sp[1]));
	}
	close(sp[1]);
	CHECK(records(sp[0], &done) == 1 && done == 1);
	/* The same user again: delivered by the same process. */
	CHECK(local_job_next(sp[0], &a, msg) == 0);
	CHECK(records(sp[0], &done) == 1 && done == 2);
	/* Another user: refused, the process ends, nothing is written. */
	CHECK(local_job_next(sp[0], &b, msg) == 0);
	CHECK(records(sp[0], &done) == 0 && done == 2);
	CHECK(waitpid(pid, &status, 0) == pid);
	close(sp[0]);
	CHECK(count_new(me) == 2);
	snprintf(path, sizeof(path), "%s/mail/tern.test/bin", dir);
	CHECK(access(path, F_OK) == -1);
	close(msg);
}

int
main(void)
{
	char	 conf[512], err[256], cmd[128];
	const char *me = getpwuid(getuid())->pw_name;

	snprintf(dir, sizeof(dir), "/tmp/test_local_job.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	chmod(dir, 0755);
	snprintf(conf, sizeof(conf), "%s/mail", dir);
	mkdir(conf, 01777);
	snprintf(conf, sizeof(conf), "hostname = tern.test\nuser = %s\n"
	    "default_privs = %s\nmailbox_path = %s/mail/%%d/%%u/\n", me,
	    strcmp(me, "nobody") == 0 ? "daemon" : "nobody", dir);
	if (config_parse_string(&cfg, "t.conf", conf, err, sizeof(err)) == -1) {
		printf("config: %s\n", err);
		return 1;
	}
	RUN(test_forged_domain_and_user);
	RUN(test_recv_checks);
	RUN(test_recv_fds_and_size);
	RUN(test_reuse_same_user_only);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
