/* SPDX-License-Identifier: ISC */
/*
 * local_job.c - the privileged half of local delivery (qmail's lspawn,
 * OpenSMTPD's parent/mda split): a job the local agent cannot do as
 * `user`, done by a process that has become the target user first.
 *
 * The local agent (local.c, running as `user`) sends one struct
 * local_job per user or target, with the message alone (a memory file)
 * and a report socket passed by SCM_RIGHTS; the master forks a child that
 * runs local_job_exec().  While still root, that child only checks the
 * job and looks at passwd: the user exists and is not root, the domain
 * is local, neither has a '/' nor is ".." (they fill mailbox_path's %u
 * and %d), the run-as user of a file, command or :include: of the
 * aliases file is default_privs; it derives the mailbox path itself and
 * may create a missing mbox without following a symlink.  Then it drops
 * to the target user (initgroups, setgid, setuid, checked) and only then
 * reads: ~user/.forward (lines limited, see aliases.c), an :include:,
 * the message, the mailbox.  Files and commands of a .forward run as its
 * user in this same process; other users and remote addresses go back
 * to the agent as LOCAL_RECORD_TARGET records, to be dispatched there.
 *
 * A USER or MAILBOX job's process then says READY and may take the same
 * user's next jobs straight from the agent on its report socket
 * (job_next): only with the first job's kind, user and domain, so what
 * was checked as root, and the mailbox derived then, still hold.  It
 * ends without a record on anything else, and the agent starts a fresh
 * job through the master.
 *
 * Mail for root: no process with uid 0 writes a mailbox, so the job is
 * deferred with a reason that says to alias root to a real user.
 * Without root (tests), nothing changes uid and every check that needs
 * root is skipped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "delivery.h"
#include "fdpass.h"
#include "local_job.h"
#include "local_priv.h"
#include "log.h"
#include "mailbox.h"
#include "text.h"

#define LOCAL_COMMAND_TIMEOUT	3600	/* seconds for a |command */
#define LOCAL_JOB_IDLE		10	/* seconds a user's process waits */
#define LOCAL_JOB_MAX_USE	100	/* jobs one user's process takes */

/* What the job needs after the drop. */
struct job_ctx {
	const struct config	*cfg;
	const struct local_job	*job;
	struct local_user	 u;
	char			 mailbox[PATH_MAX];
	struct mailbox_msg	 msg;
	int			 report;
};

static int
job_ended(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int
local_job_send(int sock, const struct local_job *job, int msg_fd,
    int report_fd)
{
	int	 fds[2] = { msg_fd, report_fd };

	return fdpass_sendv(sock, job, sizeof(*job), fds, 2);
}

int
local_job_next(int sock, const struct local_job *job, int msg_fd)
{
	return fdpass_send(sock, job, sizeof(*job), msg_fd);
}

/* job_valid - a known kind, and every string ends within its field */
static int
job_valid(const struct local_job *job)
{
	return job->kind >= LOCAL_JOB_USER && job->kind <= LOCAL_JOB_VIRTUAL &&
	    job_ended(job->user, sizeof(job->user)) &&
	    job_ended(job->value, sizeof(job->value)) &&
	    job_ended(job->sender, sizeof(job->sender)) &&
	    job_ended(job->rcpt, sizeof(job->rcpt)) &&
	    job_ended(job->local, sizeof(job->local)) &&
	    job_ended(job->ext, sizeof(job->ext)) &&
	    job_ended(job->domain, sizeof(job->domain));
}

int
local_job_recv(int sock, struct local_job *job, int fds[2])
{
	ssize_t	 n;

	if ((n = fdpass_recvv(sock, job, sizeof(*job), fds, 2)) <= 0)
		return n == 0 ? 1 : -1;
	if ((size_t)n != sizeof(*job) || !job_valid(job)) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static int	job_auth_fd = -1;

void
local_job_auth_fd(int fd)
{
	job_auth_fd = fd;
}

static void
job_record(struct job_ctx *j, int type, int status, int kind,
    const char *dsn, const char *text)
{
	local_job_record(j->report, type, status, kind, dsn, text);
}

int
local_record_read(int fd, struct local_record *r)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < sizeof(*r)) {
		n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	r->dsn[sizeof(r->dsn) - 1] = '\0';
	r->text[sizeof(r->text) - 1] = '\0';
	if (r->type < LOCAL_RECORD_DONE || r->type > LOCAL_RECORD_READY ||
	    r->status < DELIVER_OK || r->status > DELIVER_PERMFAIL)
		return -1;
	return 1;
}

/* job_name_ok - fit for %u or %d of mailbox_path: no '/', not "..". */
static int
job_name_ok(const char *s)
{
	return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	    strchr(s, '/') == NULL && !text_has_ctl(s);
}

/* job_privs - default_privs, checked again: never root, never `user`. */
static int
job_privs(const struct config *cfg, struct local_user *u, char *err,
    size_t errlen)
{
	return local_job_runas(cfg, "default_privs", cfg->default_privs, 0, u,
	    err, errlen);
}

static const char *
job_mailbox_tmpl(const struct config *cfg)
{
	const char	*tmpl = cfg->mailbox_path;

	if (tmpl == NULL || tmpl[0] == '\0')
		tmpl = cfg->mailbox == CONFIG_MAILBOX_MBOX ?
		    "/var/mail/%u" : "%h/Maildir/";
	return tmpl;
}

/* job_recipient - the user of a USER or MAILBOX job, and the mailbox. */
static int
job_recipient(struct job_ctx *j, char *err, size_t errlen)
{
	const struct local_job	*job = j->job;
	struct stat		 st;

	if (!job_name_ok(job->user) || !job_name_ok(job->domain) ||
	    !config_is_local_domain(j->cfg, job->domain)) {
		snprintf(err, errlen, "bad recipient or domain not local");
		return -1;
	}
	if (local_job_fill(&j->u, getpwnam(job->user)) == -1) {
		snprintf(err, errlen, "unknown user");
		return -1;
	}
	if (j->u.uid == 0 && geteuid() == 0) {
		snprintf(err, errlen, "mail for root is never written by a "
		    "root process: alias root to a real user in the aliases "
		    "file");
		return -1;
	}
	if (strstr(job_mailbox_tmpl(j->cfg), "%h") != NULL &&
	    stat(j->u.home, &st) == -1) {
		snprintf(err, errlen, "home directory missing");
		return -1;
	}
	if (mailbox_expand_path(job_mailbox_tmpl(j->cfg), j->u.home,
	    j->u.name, job->domain, j->mailbox, sizeof(j->mailbox)) == -1) {
		snprintf(err, errlen, "bad mailbox_path");
		return -1;
	}
	return 0;
}

static void
job_mailbox(struct job_ctx *j)
{
	struct mailbox_result	 res;
	size_t			 len = strlen(j->mailbox);
	int			 st;

	if (len > 0 && j->mailbox[len - 1] == '/')
		st = mailbox_maildir(&j->msg, j->mailbox, &res);
	else
		st = mailbox_mbox(&j->msg, j->mailbox, &res);
	job_record(j, LOCAL_RECORD_DONE, st, 1, res.dsn, res.reply);
}

static void
job_target(struct job_ctx *j, int kind, const char *value)
{
	struct mailbox_result	 res;
	struct mailbox_env	 e;
	int			 st;

	if (kind == ALIAS_FILE)
		st = mailbox_file(&j->msg, value, &res);
	else {
		e.home = j->u.home;
		e.user = j->u.name;
		e.shell = j->u.shell;
		e.local = j->job->local;
		e.extension = j->job->ext;
		e.domain = j->job->domain;
		e.config = j->cfg->path;
		st = mailbox_pipe(&j->msg, value, &e, LOCAL_COMMAND_TIMEOUT,
		    &res);
	}
	job_record(j, LOCAL_RECORD_DONE, st, 0, res.dsn, res.reply);
}

/* job_list - do what is ours in l; hand the rest back to the agent. */
static void
job_list(struct job_ctx *j, const struct alias_list *l, const char *self)
{
	const struct alias_target *t;
	size_t			 i;
	int			 mailbox = 0;

	for (i = 0; i < l->n; i++) {
		t = &l->v[i];
		if (t->kind == ALIAS_FILE || t->kind == ALIAS_PIPE)
			job_target(j, t->kind, t->value);
		else if (t->kind == ALIAS_USER && self != NULL &&
		    strcmp(t->value, self) == 0) {
			if (mailbox++ == 0)
				job_mailbox(j);
		} else if (t->kind == ALIAS_USER || t->kind == ALIAS_ADDRESS)
			job_record(j, LOCAL_RECORD_TARGET, DELIVER_OK,
			    t->kind, "2.0.0", t->value);
	}
}

/* job_forward_open - ~/.forward, read as its user, if it is safe. */
static FILE *
job_forward_open(const struct local_user *u, char *path, size_t pathlen)
{
	struct stat	 st;
	FILE		*fp;
	int		 fd;

	if (snprintf(path, pathlen, "%s/.forward", u->home) >= (int)pathlen)
		return NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("ignoring %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != u->uid && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warnx("ignoring %s: not a regular file owned by %s, or "
		    "group or world writable", path, u->name);
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		close(fd);
	return fp;
}

/*
 * job_expand - a .forward (fp) or an :include: (path), then job_list.
 * No aliases here: a name goes back to the agent, which expands it, so
 * a file or command done here is always one this user's file named.
 */
static void
job_expand(struct job_ctx *j, FILE *fp, const char *path, const char *self)
{
	struct alias_list	 l;
	int			 rc;

	memset(&l, 0, sizeof(l));
	if (fp != NULL)
		rc = aliases_expand_stream(NULL, j->cfg, fp, path, self,
		    (long)j->u.uid, &l);
	else
		rc = aliases_expand_include(NULL, j->cfg, path,
		    (long)j->u.uid, &l);
	if (rc != DELIVER_OK)
		job_record(j, LOCAL_RECORD_END, rc, 0, l.dsn, l.error);
	else if (l.n == 0 && self != NULL)
		job_mailbox(j);		/* a .forward that adds nothing */
	else
		job_list(j, &l, self);
	aliases_list_free(&l);
}

static void
job_user(struct job_ctx *j)
{
	char	 path[PATH_MAX + 16];
	FILE	*fp;

	if ((fp = job_forward_open(&j->u, path, sizeof(path))) == NULL) {
		job_mailbox(j);
		return;
	}
	job_expand(j, fp, path, j->u.name);
	fclose(fp);
}

/* job_prepare - as root: who, where; a missing mbox made for its user. */
static int
job_prepare(struct job_ctx *j, char *err, size_t errlen)
{
	switch (j->job->kind) {
	case LOCAL_JOB_USER:
	case LOCAL_JOB_MAILBOX:
		if (job_recipient(j, err, errlen) == -1)
			return -1;
		if (geteuid() == 0)
			mailbox_mbox_create(j->mailbox, j->u.uid, j->u.gid);
		return 0;
	case LOCAL_JOB_VIRTUAL:
		return local_virtual_prepare(j->cfg, j->job, &j->u, err,
		    errlen);
	default:
		return job_privs(j->cfg, &j->u, err, errlen);
	}
}

/* job_do - the job, as its user, with the message open in fp */
static void
job_do(struct job_ctx *j, FILE *fp)
{
	const struct local_job	*job = j->job;

	j->msg.fp = fp;
	j->msg.offset = 0;	/* the descriptor holds the message alone */
	j->msg.sender = job->sender;
	j->msg.rcpt = job->rcpt;
	if (job->kind == LOCAL_JOB_USER)
		job_user(j);
	else if (job->kind == LOCAL_JOB_MAILBOX)
		job_mailbox(j);
	else if (job->kind == LOCAL_JOB_INCLUDE)
		job_expand(j, NULL, job->value, NULL);
	else if (job->kind == LOCAL_JOB_VIRTUAL)
		local_virtual_deliver(j->cfg, job, &j->msg, j->report,
		    job_auth_fd);
	else
		job_target(j, job->kind == LOCAL_JOB_FILE ? ALIAS_FILE :
		    ALIAS_PIPE, job->value);
}

/*
 * job_next - after a user's job, offer to take the next one for the
 * same user: a READY record, then the agent's next job on the report
 * socket itself (the master is not involved: what it checked holds,
 * because the kind, user and domain, and so the mailbox, must be the
 * first job's).  1 with *next and its message in *fp; 0 to stop: end
 * of file, LOCAL_JOB_IDLE seconds without a job, or a job that is not
 * the same user's, or an mbox that is gone (root made it; we cannot).
 * Stopping without a record tells the agent to start a fresh job.
 */
static int
job_next(struct job_ctx *j, const struct local_job *first,
    struct local_job *next, FILE **fp)
{
	struct pollfd	 pfd;
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = strlen(j->mailbox);
	int		 fd;

	job_record(j, LOCAL_RECORD_READY, DELIVER_OK, 0, "2.0.0", "");
	pfd.fd = j->report;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, LOCAL_JOB_IDLE * 1000) != 1 ||
	    (n = fdpass_recv(j->report, next, sizeof(*next), &fd)) <= 0)
		return 0;
	if ((size_t)n != sizeof(*next) || !job_valid(next) ||
	    next->kind != first->kind || strcmp(next->user, first->user) ||
	    strcmp(next->domain, first->domain) ||
	    (len > 0 && j->mailbox[len - 1] != '/' &&
	    lstat(j->mailbox, &st) == -1) ||
	    (*fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	return 1;
}

int
local_job_exec(const struct config *cfg, const struct local_job *job,
    int msg_fd, int report_fd)
{
	struct local_job	 next;
	struct job_ctx		 j;
	char			 err[512];
	FILE			*fp = NULL;
	int			 use;

	memset(&j, 0, sizeof(j));
	j.cfg = cfg;
	j.job = job;
	j.report = report_fd;
	if (job_prepare(&j, err, sizeof(err)) == -1) {
		job_record(&j, LOCAL_RECORD_END, DELIVER_TEMPFAIL, 0, "4.3.0",
		    err);
		goto out;
	}
	if (local_job_become(&j.u) == -1) {
		job_record(&j, LOCAL_RECORD_END, DELIVER_TEMPFAIL, 0, "4.3.0",
		    "cannot change to the recipient's user id");
		goto out;
	}
	if ((fp = fdopen(msg_fd, "r")) == NULL) {
		job_record(&j, LOCAL_RECORD_END, DELIVER_TEMPFAIL, 0, "4.3.0",
		    "message");
		goto out;
	}
	msg_fd = -1;
	job_do(&j, fp);
	/* A user's process may take that user's next jobs (job_next). */
	for (use = 1; use < LOCAL_JOB_MAX_USE &&
	    (job->kind == LOCAL_JOB_USER || job->kind == LOCAL_JOB_MAILBOX ||
	    job->kind == LOCAL_JOB_VIRTUAL);
	    use++) {
		fclose(fp);
		fp = NULL;
		if (!job_next(&j, job, &next, &fp))
			break;
		j.job = &next;
		job_do(&j, fp);
	}
out:
	if (fp != NULL)
		fclose(fp);
	if (msg_fd != -1)
		close(msg_fd);
	close(report_fd);
	return 0;
}
