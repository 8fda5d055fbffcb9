/* SPDX-License-Identifier: ISC */
/*
 * test_mailbox.c - the bytes that land in a Maildir, an mbox, a file and
 * a command's stdin; command exit codes; mailbox_path; and one whole
 * local_agent_run() over a real spool (aliases, forwarding, errors).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "envelope.h"
#include "mailbox.h"
#include "queuefile.h"
#include "spool.h"
#include "unit.h"

static char	 dir[256];
static FILE	*msgfp;

#define BODY	"Subject: hi\r\n\r\nFrom here\r\n>From there\r\n" \
		"bare\rcr\r\nFromage\r\nlast line\r\n"
#define LFBODY	"Subject: hi\n\nFrom here\n>From there\n" \
		"bare\rcr\nFromage\nlast line\n"
#define HDRS	"Return-Path: <alice@example.org>\n" \
		"Delivered-To: bob@example.com\n"
#define QUOTED	"Subject: hi\n\n>From here\n>>From there\n" \
		"bare\rcr\nFromage\nlast line\n"

static char *
slurp(const char *path)
{
	static char	 buf[1 << 16];
	FILE		*fp;
	size_t		 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
msg_init(struct mailbox_msg *m, const char *sender)
{
	m->fp = msgfp;
	m->offset = 10;		/* after the fake "envelope\n\n" block */
	m->sender = sender;
	m->rcpt = "bob@example.com";
}

static int
count_files(const char *path, char *first, size_t firstlen)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first)
			snprintf(first, firstlen, "%s/%s", path, de->d_name);
	}
	closedir(d);
	return n;
}

static void
test_maildir(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	char			 md[300], sub[320], file[600];

	msg_init(&m, "alice@example.org");
	snprintf(md, sizeof(md), "%s/Maildir/", dir);
	CHECK(mailbox_maildir(&m, md, &r) == DELIVER_OK);
	CHECK_STR(r.dsn, "2.0.0");
	CHECK_STR(r.reply, "delivered to maildir");
	snprintf(sub, sizeof(sub), "%s/Maildir/new", dir);
	CHECK(count_files(sub, file, sizeof(file)) == 1);
	CHECK_STR(slurp(file), HDRS LFBODY);
	CHECK(strstr(file, "/new/") && strstr(file, ".M") && strstr(file, "P"));
	snprintf(sub, sizeof(sub), "%s/Maildir/tmp", dir);
	CHECK(count_files(sub, NULL, 0) == 0);
	snprintf(sub, sizeof(sub), "%s/Maildir/cur", dir);
	CHECK(count_files(sub, NULL, 0) == 0);
	CHECK(mailbox_maildir(&m, md, &r) == DELIVER_OK);
	snprintf(sub, sizeof(sub), "%s/Maildir/new", dir);
	CHECK(count_files(sub, NULL, 0) == 2);
	/* A missing parent directory (no home) defers. */
	snprintf(md, sizeof(md), "%s/nohome/Maildir/", dir);
	CHECK(mailbox_maildir(&m, md, &r) == DELIVER_TEMPFAIL);
	CHECK_STR(r.dsn, "4.3.0");
	/* The reason names the mailbox. */
	snprintf(sub, sizeof(sub), "cannot create maildir %s/nohome/Maildir: "
	    "No such file or directory", dir);
	CHECK_STR(r.reply, sub);
}

/* The From line is "From sender Www Mmm dd hh:mm:ss yyyy". */
static int
from_line_ok(const char *s, const char *sender)
{
	size_t	 n = strlen(sender);
	const char *nl = strchr(s, '\n');

	return strncmp(s, "From ", 5) == 0 && strncmp(s + 5, sender, n) == 0 &&
	    s[5 + n] == ' ' && nl && nl - (s + 6 + n) == 24 && nl[-5] == ' ';
}

static void
test_mbox(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	struct stat		 st;
	char			 path[300], lock[320], *s, *second;
	struct timespec		 old[2] = { { 1000, 0 }, { 1000, 0 } };
	int			 fd;

	msg_init(&m, "alice@example.org");
	snprintf(path, sizeof(path), "%s/mbox", dir);
	CHECK(mailbox_mbox(&m, path, &r) == DELIVER_OK);
	CHECK_STR(r.reply, "delivered to mailbox");
	/* A stale dot lock is removed; a fresh one would be waited for. */
	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_CREAT | O_WRONLY, 0600);
	close(fd);
	utimensat(AT_FDCWD, lock, old, 0);
	msg_init(&m, "");
	CHECK(mailbox_mbox(&m, path, &r) == DELIVER_OK);
	CHECK(access(lock, F_OK) == -1);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	s = slurp(path);
	CHECK(from_line_ok(s, "alice@example.org"));
	s = strchr(s, '\n') + 1;
	CHECK(strncmp(s, HDRS QUOTED "\n", strlen(HDRS QUOTED "\n")) == 0);
	second = s + strlen(HDRS QUOTED "\n");
	CHECK(from_line_ok(second, "MAILER-DAEMON"));
	CHECK(strstr(second, "Return-Path: <>\n") != NULL);
	CHECK(strlen(second) > 3 &&
	    strcmp(second + strlen(second) - 3, "e\n\n") == 0);
	/* mbox refuses a symbolic link; a file target follows it. */
	snprintf(lock, sizeof(lock), "%s/link", dir);
	CHECK(symlink(path, lock) == 0);
	CHECK(mailbox_mbox(&m, lock, &r) == DELIVER_TEMPFAIL);
	CHECK(strstr(r.reply, "a symbolic link on the way") &&
	    strstr(r.reply, lock));
	CHECK(mailbox_file(&m, lock, &r) == DELIVER_OK);
	CHECK(strncmp(r.reply, "delivered to file: ", 19) == 0);
}

/* A write that fails half way (here: RLIMIT_FSIZE) leaves the old size. */
static void
test_mbox_truncate(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	struct rlimit		 rl;
	struct stat		 st;
	char			 path[300];
	int			 fd, status = -1;
	pid_t			 pid;

	snprintf(path, sizeof(path), "%s/full", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(write(fd, "From x\n\n", 9) == 9);
	close(fd);
	if ((pid = fork()) == 0) {
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = 9 + 40;
		setrlimit(RLIMIT_FSIZE, &rl);
		msg_init(&m, "alice@example.org");
		_exit(mailbox_mbox(&m, path, &r) == DELIVER_TEMPFAIL &&
		    strcmp(r.dsn, "4.3.0") == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 9);
}

static void
test_file(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	char			 path[300], *s;

	msg_init(&m, "alice@example.org");
	snprintf(path, sizeof(path), "%s/copy", dir);
	CHECK(mailbox_file(&m, path, &r) == DELIVER_OK);
	s = slurp(path);
	CHECK(from_line_ok(s, "alice@example.org"));
	CHECK_STR(strchr(s, '\n') + 1, HDRS QUOTED "\n");
	CHECK(mailbox_file(&m, "/dev/null", &r) == DELIVER_OK);
	CHECK(mailbox_file(&m, dir, &r) == DELIVER_TEMPFAIL);
}

static void
test_pipe(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	struct mailbox_env	 e = { "/", "bob", "/bin/sh", "bob", "tag",
	    "example.com", "/etc/tern/other.conf" };
	char			 cmd[700], path[300], *env;

	msg_init(&m, "alice@example.org");
	setenv("TERN_SECRET", "1", 1);
	snprintf(cmd, sizeof(cmd), "cat > %s/pipe.out; env > %s/pipe.env",
	    dir, dir);
	CHECK(mailbox_pipe(&m, cmd, &e, 10, &r) == DELIVER_OK);
	CHECK_STR(r.dsn, "2.0.0");
	CHECK(strncmp(r.reply, "delivered to command: cat", 25) == 0);
	snprintf(path, sizeof(path), "%s/pipe.out", dir);
	CHECK_STR(slurp(path), HDRS LFBODY);
	snprintf(path, sizeof(path), "%s/pipe.env", dir);
	env = slurp(path);
	CHECK(strstr(env, "SENDER=alice@example.org\n") != NULL);
	CHECK(strstr(env, "RECIPIENT=bob@example.com\n") != NULL);
	CHECK(strstr(env, "EXTENSION=tag\n") != NULL);
	CHECK(strstr(env, "LOCAL=bob\n") != NULL);
	CHECK(strstr(env, "DOMAIN=example.com\n") != NULL);
	CHECK(strstr(env, "PATH=/usr/bin:/bin\n") != NULL);
	CHECK(strstr(env, "LOGNAME=bob\n") != NULL);
	CHECK(strstr(env, "TERN_SECRET") == NULL);
	CHECK(strstr(env, "TERN_CONFIG=/etc/tern/other.conf\n") != NULL);

	CHECK(mailbox_pipe(&m, "exit 75", &e, 10, &r) == DELIVER_TEMPFAIL);
	CHECK_STR(r.dsn, "4.3.0");
	CHECK_STR(r.reply, "command exited 75");
	CHECK(mailbox_pipe(&m, "echo 'no such\tlist'; exit 1", &e, 10, &r) ==
	    DELIVER_PERMFAIL);
	CHECK_STR(r.dsn, "5.3.0");
	CHECK_STR(r.reply, "command exited 1: no such list");
	CHECK(mailbox_pipe(&m, "kill -9 $$", &e, 10, &r) == DELIVER_TEMPFAIL);
	CHECK_STR(r.reply, "command killed by signal 9");
	CHECK(mailbox_pipe(&m, "exec sleep 10", &e, 1, &r) ==
	    DELIVER_TEMPFAIL);
	CHECK_STR(r.reply, "command timed out after 1 seconds");
}

/* A command that never reads its big input still decides by exit code. */
static void
test_pipe_unread(void)
{
	struct mailbox_msg	 m;
	struct mailbox_result	 r;
	struct mailbox_env	 e = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	FILE			*big;
	int			 i;

	big = tmpfile();
	for (i = 0; i < 40000; i++)
		fputs("0123456789012345678901234567890123456789\r\n", big);
	fflush(big);
	msg_init(&m, "");
	m.fp = big;
	m.offset = 0;
	CHECK(mailbox_pipe(&m, "exit 0", &e, 10, &r) == DELIVER_OK);
	CHECK(mailbox_pipe(&m, "exit 3", &e, 10, &r) == DELIVER_PERMFAIL);
	fclose(big);
}

static void
test_expand_path(void)
{
	char	 out[64];

	CHECK(mailbox_expand_path("%h/Maildir/", "/home/bob", "bob", "x.org",
	    out, sizeof(out)) == 0);
	CHECK_STR(out, "/home/bob/Maildir/");
	CHECK(mailbox_expand_path("/var/mail/%u", "/h", "bob", "x.org", out,
	    sizeof(out)) == 0);
	CHECK_STR(out, "/var/mail/bob");
	CHECK(mailbox_expand_path("/m/%d/%u/100%%/", "/h", "bob", "x.org",
	    out, sizeof(out)) == 0);
	CHECK_STR(out, "/m/x.org/bob/100%/");
	CHECK(mailbox_expand_path("/m/%x", "/h", "b", "d", out,
	    sizeof(out)) == -1);
	CHECK(mailbox_expand_path("/m/%", "/h", "b", "d", out,
	    sizeof(out)) == -1);
	CHECK(mailbox_expand_path("%h%h%h%h%h", "/0123456789012345", "b", "d",
	    out, sizeof(out)) == -1);
}

/* inject - a queue message from alice to the given recipients. */
static int
inject(const char *spool, char id[QUEUEID_LEN + 1], const char **rcpts,
    size_t n, const char *body)
{
	struct queuefile_new	 sf;
	struct envelope		 env;
	size_t			 i;
	int			 rc = -1;

	envelope_init(&env);
	if (queuefile_create(spool, &sf) == -1)
		return -1;
	memcpy(env.id, sf.id, sizeof(env.id));
	env.arrival = time(NULL);
	snprintf(env.client, sizeof(env.client), "localhost [127.0.0.1]");
	snprintf(env.helo, sizeof(env.helo), "localhost");
	snprintf(env.protocol, sizeof(env.protocol), "ESMTP");
	snprintf(env.sender, sizeof(env.sender), "alice@example.org");
	for (i = 0; i < n; i++)
		if (envelope_add_rcpt(&env, rcpts[i], 0, NULL) == -1)
			goto out;
	if (envelope_write(sf.fp, &env) == -1 || fputs(body, sf.fp) == EOF ||
	    queuefile_commit(spool, &sf) == -1)
		goto out;
	memcpy(id, sf.id, QUEUEID_LEN + 1);
	rc = 0;
out:
	envelope_free(&env);
	return rc;
}

/*
 * job_open - what the queue runner hands an agent for message id: its
 * parse of the envelope (in qf; queuefile_close() it after the run) and
 * the queue file's mark.  The stream is closed, as the runner does.
 */
static int
job_open(const char *spool, const char *id, struct queuefile *qf,
    struct delivery_job *job)
{
	char	 err[256];

	if (queuefile_open(spool, id, qf, err, sizeof(err)) != 0)
		return -1;
	fclose(qf->fp);
	qf->fp = NULL;
	memcpy(job->id, id, sizeof(job->id));
	job->env = &qf->env;
	queuefile_mark(qf, &job->file);
	return 0;
}

/* Results read back from the agent's pipe, by recipient index. */
static void
read_results(int fd, struct delivery_result *res, size_t n)
{
	char			 buf[8192], *line, *nl, one[1024];
	struct delivery_result	 r;
	ssize_t			 len;

	len = read(fd, buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		snprintf(one, sizeof(one), "%.*s", (int)(nl - line + 1), line);
		if (delivery_result_parse(one, &r) == 0 && r.index < n)
			res[r.index] = r;
		else
			printf("  bad result line: %s", one);
	}
}

/* privs - a default_privs that is not the test's own user */
static const char *
privs(const char *me)
{
	return strcmp(me, "nobody") == 0 ? "daemon" : "nobody";
}

/* whom mail goes to: root's mailbox is never written (local_job.c) */
static const char *
rcpt_user(void)
{
	return getuid() == 0 ? "daemon" : getpwuid(getuid())->pw_name;
}

static void
test_local_agent(void)
{
	struct config		 cfg;
	struct delivery_job	 job;
	struct queuefile	 qf;
	struct delivery_result	 res[8];
	struct passwd		*pw = getpwuid(getuid());
	char			 me[64], conf[2048], err[512], spool[300];
	char			 addr[8][ADDR_MAX], id[QUEUEID_LEN + 1];
	char			 path[700], file[900];
	const char		*rcpts[8];
	int			 p[2], i;
	FILE			*fp;

	snprintf(me, sizeof(me), "%s", pw->pw_name);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(path, sizeof(path), "%s/mail", dir);
	mkdir(path, 01777);
	chmod(path, 01777);
	snprintf(conf, sizeof(conf), "hostname = test.example\n"
	    "local_domains = test.example\nuser = %s\nspool_dir = %s\n"
	    "aliases = %s/aliases\nmailbox_path = %s/mail/%%u/\n"
	    "default_privs = %s\n", me, spool, dir, dir, privs(me));
	CHECK(config_parse_string(&cfg, "t.conf", conf, err,
	    sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/aliases", dir);
	fp = fopen(path, "w");
	fprintf(fp, "fwd: someone@remote.example, \\%s\n"
	    "loop: loop2\nloop2: loop\npipefail: \"|exit 1\"\n"
	    "pipe: \"|cat > %s/out/alias.out\"\n", rcpt_user(), dir);
	fclose(fp);
	/* As root the command runs as default_privs (nobody). */
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/out", dir);
	mkdir(path, 01777);
	chmod(path, 01777);
	CHECK(spool_setup(spool, NULL, 0) == 0);
	snprintf(addr[0], ADDR_MAX, "%s@test.example", rcpt_user());
	snprintf(addr[1], ADDR_MAX, "%s+tag@Test.Example", rcpt_user());
	snprintf(addr[2], ADDR_MAX, "fwd@test.example");
	snprintf(addr[3], ADDR_MAX, "no-such-user-x@test.example");
	snprintf(addr[4], ADDR_MAX, "loop@test.example");
	snprintf(addr[5], ADDR_MAX, "pipefail@test.example");
	snprintf(addr[6], ADDR_MAX, "PIPE@test.example");
	for (i = 0; i < 7; i++)
		rcpts[i] = addr[i];
	CHECK(inject(spool, id, rcpts, 7, BODY) == 0);
	memset(&job, 0, sizeof(job));
	CHECK(job_open(spool, id, &qf, &job) == 0);
	job.rcpt = calloc(8, sizeof(*job.rcpt));
	job.nrcpt = 8;
	for (i = 0; i < 7; i++) {
		job.rcpt[i].index = i;
		snprintf(job.rcpt[i].addr, ADDR_MAX, "%s", addr[i]);
	}
	/* One the envelope handed over does not have. */
	job.rcpt[7].index = 7;
	snprintf(job.rcpt[7].addr, ADDR_MAX, "%s", addr[0]);
	memset(res, 0, sizeof(res));
	CHECK(pipe(p) == 0);
	CHECK(local_agent_run(&cfg, &job, 1, p[1], -1) == 0);
	close(p[1]);
	read_results(p[0], res, 8);
	close(p[0]);
	CHECK(res[0].status == DELIVER_OK);
	CHECK_STR(res[0].reply, "delivered to maildir");
	CHECK_STR(res[0].relay, "local");
	/* The same Maildir again (user+tag, \user): one copy, shared. */
	CHECK(res[1].status == DELIVER_OK);
	CHECK_STR(res[1].reply, "duplicate: delivered to maildir");
	CHECK(res[2].status == DELIVER_OK);
	CHECK(strstr(res[2].reply, "duplicate: delivered to maildir; "
	    "forwarded as ") != NULL);
	CHECK(res[3].status == DELIVER_PERMFAIL);
	CHECK_STR(res[3].dsn, "5.1.1");
	CHECK(res[4].status == DELIVER_PERMFAIL);
	CHECK_STR(res[4].dsn, "5.4.6");
	CHECK(res[5].status == DELIVER_PERMFAIL);
	CHECK_STR(res[5].dsn, "5.3.0");
	CHECK(res[6].status == DELIVER_OK);
	CHECK(res[7].status == DELIVER_TEMPFAIL);
	CHECK_STR(res[7].reply, "recipient not in the queue file");
	snprintf(path, sizeof(path), "%s/out/alias.out", dir);
	CHECK(strstr(slurp(path), "Delivered-To: PIPE@test.example\n") !=
	    NULL);
	snprintf(path, sizeof(path), "%s/mail/%s/new", dir, rcpt_user());
	CHECK(count_files(path, NULL, 0) == 1);
	/* The forwarded copy: a new queue file, same sender, marked. */
	if (strstr(res[2].reply, "forwarded as ") != NULL) {
		spool_path(spool, "queue", strstr(res[2].reply, " as ") + 4,
		    file, sizeof(file));
		CHECK(strstr(slurp(file), "sender: alice@example.org\n"));
		CHECK(strstr(slurp(file), "rcpt: someone@remote.example "));
		CHECK(strstr(slurp(file), "\n\nDelivered-To: fwd@test.example"
		    "\r\nSubject: hi\r\n"));
	}
	delivery_job_free(&job);
	queuefile_close(&qf);
	config_free(&cfg);
}

/* How often needle occurs in the file at path. */
static int
count_in(const char *path, const char *needle)
{
	struct stat	 st;
	char		*buf, *p;
	FILE		*fp;
	int		 n = 0;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &st) == -1)
		return -1;
	buf = calloc(1, st.st_size + 1);
	if (fread(buf, 1, st.st_size, fp) != (size_t)st.st_size)
		n = -1;
	for (p = buf; n >= 0 && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(buf);
	fclose(fp);
	return n;
}

/*
 * A message larger than any buffer, to several recipients: every
 * child reads the whole of it although they share one descriptor
 * (the duplicate filter is off, so the one mbox gets three copies).
 */
static void
test_local_big(void)
{
	struct config		 cfg;
	struct delivery_job	 job;
	struct queuefile	 qf;
	struct delivery_result	 res[3];
	struct passwd		*pw = getpwuid(getuid());
	char			 conf[2048], err[512], spool[300], path[700];
	char			 addr[3][ADDR_MAX], id[QUEUEID_LEN + 1], *body;
	const char		*rcpts[3];
	struct stat		 st;
	size_t			 i, o = 0, cap = 400000;
	int			 p[2];

	body = malloc(cap);
	o = snprintf(body, cap, "Subject: big\r\n\r\n");
	for (i = 0; o + 50 < cap; i++)
		o += snprintf(body + o, cap - o, "line %06zu of a big "
		    "message.........\r\n", i);
	snprintf(body + o, cap - o, "THE END\r\n");
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(conf, sizeof(conf), "hostname = test.example\n"
	    "local_domains = test.example\nuser = %s\nspool_dir = %s\n"
	    "aliases = %s/aliases\nmailbox = mbox\n"
	    "mailbox_path = %s/big-%%u\nduplicate_filter_limit = 0\n"
	    "default_privs = %s\n", pw->pw_name, spool, dir, dir,
	    privs(pw->pw_name));
	CHECK(config_parse_string(&cfg, "t.conf", conf, err,
	    sizeof(err)) == 0);
	snprintf(addr[0], ADDR_MAX, "%s@test.example", rcpt_user());
	snprintf(addr[1], ADDR_MAX, "fwd@test.example");
	snprintf(addr[2], ADDR_MAX, "%s+x@test.example", rcpt_user());
	memset(&job, 0, sizeof(job));
	job.rcpt = calloc(3, sizeof(*job.rcpt));
	job.nrcpt = 3;
	for (i = 0; i < 3; i++) {
		rcpts[i] = addr[i];
		job.rcpt[i].index = i;
		snprintf(job.rcpt[i].addr, ADDR_MAX, "%s", addr[i]);
	}
	CHECK(inject(spool, id, rcpts, 3, body) == 0);
	CHECK(job_open(spool, id, &qf, &job) == 0);
	memset(res, 0, sizeof(res));
	CHECK(pipe(p) == 0);
	CHECK(local_agent_run(&cfg, &job, 1, p[1], -1) == 0);
	close(p[1]);
	read_results(p[0], res, 3);
	close(p[0]);
	for (i = 0; i < 3; i++)
		CHECK(res[i].status == DELIVER_OK);
	/* From line + headers + body without CRs + blank, three times. */
	snprintf(path, sizeof(path), "%s/big-%s", dir, rcpt_user());
	CHECK(count_in(path, "\nTHE END\n\nFrom ") == 2);
	CHECK(count_in(path, "\nline 000000 of a big") == 3);
	CHECK(count_in(path, "\r") == 0);
	if (strstr(res[1].reply, "forwarded as ") != NULL) {
		spool_path(spool, "queue", strstr(res[1].reply, " as ") + 4,
		    path, sizeof(path));
		CHECK(stat(path, &st) == 0 && st.st_size > (off_t)o);
		CHECK(count_in(path, "\r\nTHE END\r\n") == 1);
	}
	free(body);
	delivery_job_free(&job);
	queuefile_close(&qf);
	config_free(&cfg);
}

int
main(void)
{
	char	 cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/test_mailbox.XXXXXX");
	if (mkdtemp(dir) == NULL || (msgfp = tmpfile()) == NULL)
		return 1;
	fputs("envelope\n\n" BODY, msgfp);
	fflush(msgfp);
	RUN(test_maildir);
	RUN(test_mbox);
	RUN(test_mbox_truncate);
	RUN(test_file);
	RUN(test_pipe);
	RUN(test_pipe_unread);
	RUN(test_expand_path);
	RUN(test_local_agent);
	RUN(test_local_big);
	fclose(msgfp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("  cannot remove %s\n", dir);
	return unit_done();
}
