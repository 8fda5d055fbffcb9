/* SPDX-License-Identifier: ISC */
/*
 * local_report.c - what the files of local/ share: the outcome of a
 * target (struct local_report) and its sum over targets (local_tally),
 * the log line of a local delivery, local_fork(), a child that becomes
 * a user, does one step and reports back; and for the jobs
 * (local_job.c, local_virtual.c) a record on the report socket and
 * becoming the target user (local_job_fill, local_job_become).
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>

#include "delivery.h"
#include "local_priv.h"
#include "log.h"

/* local_user_spool - `user`, who owns the spool: forwarded copies. */
int
local_user_spool(const struct local_ctx *c, struct local_user *u)
{
	if (geteuid() != 0)
		return local_job_fill(u, getpwuid(geteuid()));
	return local_job_fill(u, getpwnam(c->cfg->user));
}

void
local_report_set(struct local_report *r, int status, const char *dsn,
    const char *reply)
{
	r->status = status;
	snprintf(r->res.dsn, sizeof(r->res.dsn), "%s", dsn);
	snprintf(r->res.reply, sizeof(r->res.reply), "%.255s", reply);
}

/*
 * local_fork - run fn(c, t, u, report) in a child as user u, and read
 * its report back.  A child that dies without one is a deferral.
 */
void
local_fork(struct local_ctx *c, const struct alias_target *t,
    const struct local_user *u, struct local_report *rep, local_fn *fn)
{
	int	 p[2], status;
	ssize_t	 n;
	pid_t	 pid;

	local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
	    "delivery process died");
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_warn("%s: pipe/fork", c->env->id);
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", "cannot fork");
		return;
	}
	if (pid == 0) {
		close(p[0]);
		if (local_job_become(u) == -1)
			local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
			    "cannot change to the recipient's user id");
		else
			fn(c, t, u, rep);
		n = write(p[1], rep, sizeof(*rep));
		_exit(n == (ssize_t)sizeof(*rep) ? 0 : 1);
	}
	close(p[1]);
	do
		n = read(p[0], rep, sizeof(*rep));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*rep))
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "delivery process died");
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
}

void
local_log(const struct local_ctx *c, const char *to, int status,
    const char *dsn, const char *reply)
{
	struct timespec	 now;
	double		 delay;
	char		 orig[ADDR_MAX + 16] = "";

	clock_gettime(CLOCK_REALTIME, &now);
	delay = (double)(now.tv_sec - c->env->arrival) + now.tv_nsec / 1e9;
	if (delay < 0)
		delay = 0;
	if (strcasecmp(to, c->rcpt->addr) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%s>", c->rcpt->addr);
	log_info("%s: to=<%s>%s, relay=local, delay=%.1f, dsn=%s, status=%s "
	    "(%s)", c->env->id, to, orig, delay, dsn,
	    status == DELIVER_OK ? "sent" : status == DELIVER_TEMPFAIL ?
	    "deferred" : "bounced", reply);
}

/* local_dup_report - the outcome of an earlier attempt, said so */
void
local_dup_report(const struct local_report *seen, struct local_report *rep)
{
	char	 reply[sizeof(rep->res.reply)];

	*rep = *seen;
	snprintf(reply, sizeof(reply), "duplicate: %.*s",
	    (int)sizeof(reply) - 12, seen->res.reply);
	memcpy(rep->res.reply, reply, sizeof(reply));
}

void
local_tally(struct local_tally *y, const struct local_report *rep)
{
	size_t	 len = strlen(y->ok);

	if (rep->status == DELIVER_OK) {
		snprintf(y->ok + len, sizeof(y->ok) - len, "%s%s",
		    y->nok++ ? "; " : "", rep->res.reply);
	} else if (rep->status == DELIVER_TEMPFAIL) {
		if (y->ndefer++ == 0)
			y->defer = *rep;
	} else if (y->nfail++ == 0)
		y->fail = *rep;
}

void
local_job_record(int report, int type, int status, int kind,
    const char *dsn, const char *text)
{
	struct local_record	 r;
	ssize_t			 n;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.status = status;
	r.kind = kind;
	snprintf(r.dsn, sizeof(r.dsn), "%s", dsn);
	snprintf(r.text, sizeof(r.text), "%s", text);
	do
		n = write(report, &r, sizeof(r));
	while (n == -1 && errno == EINTR);
}

int
local_job_fill(struct local_user *u, const struct passwd *pw)
{
	if (pw == NULL)
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	snprintf(u->home, sizeof(u->home), "%s", pw->pw_dir);
	snprintf(u->shell, sizeof(u->shell), "%s", pw->pw_shell);
	return 0;
}

/* local_job_become - drop to u for good; nothing without root. */
int
local_job_become(const struct local_user *u)
{
	if (geteuid() != 0)
		return 0;
	if (initgroups(u->name, u->gid) == -1 || setgid(u->gid) == -1 ||
	    setuid(u->uid) == -1)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid ||
	    getgid() != u->gid || getegid() != u->gid)
		return -1;
	if (u->uid != 0 && setuid(0) != -1)
		return -1;
	return 0;
}

/*
 * local_job_runas - u is the system user name, checked again as root:
 * it exists and has neither uid 0 nor `user`'s uid (nor default_privs'
 * with not_privs).  Without root: the invoking user.  -1 with err set.
 */
int
local_job_runas(const struct config *cfg, const char *key, const char *name,
    int not_privs, struct local_user *u, char *err, size_t errlen)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return local_job_fill(u, getpwuid(geteuid()));
	if (local_job_fill(u, getpwnam(name)) == -1) {
		snprintf(err, errlen, "%s: no user %.100s", key, name);
		return -1;
	}
	if (u->uid == 0 || ((pw = getpwnam(cfg->user)) != NULL &&
	    pw->pw_uid == u->uid) || (not_privs &&
	    (pw = getpwnam(cfg->default_privs)) != NULL &&
	    pw->pw_uid == u->uid)) {
		snprintf(err, errlen, "%s %.100s is root, user%s", key, name,
		    not_privs ? " or default_privs" : "");
		return -1;
	}
	return 0;
}
