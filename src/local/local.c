/* SPDX-License-Identifier: ISC */
/*
 * local.c - the local delivery agent: local_agent_run() delivers some
 * messages (a batch of the queue runner's) to their local recipients and
 * writes one result line each.
 *
 * It runs as `user` (forked by the queue runner, which owns the spool)
 * and does all that needs no privilege: it takes the envelope the queue
 * runner parsed (in the job: it parses none) and reads the message from
 * the queue file (queuefile_open_body()), reads the root-owned,
 * world-readable aliases, checks the Delivered-To loop, splits the local
 * part ("user+ext" is tried whole in the aliases, then as "user" with
 * extension "ext"), expands the aliases and queues the forwarded copy
 * for remote targets itself (local_inject.c).  Every
 * target that needs another uid is one small fixed-format job for the
 * master (local_job.h), with the message alone passed (a memory file
 * copied from the queue file: the envelope's other recipients stay here):
 *	user		LOCAL_JOB_USER: ~user/.forward read as the user,
 *			else the mailbox ("\user": LOCAL_JOB_MAILBOX)
 *	/file, |command	LOCAL_JOB_FILE, _PIPE, as default_privs
 *	:include:	LOCAL_JOB_INCLUDE, read as default_privs
 * The job's process becomes its user before it reads anything; what it
 * cannot do as that user (other users, remote addresses) comes back as
 * records and is dispatched here.  So no process with uid 0 reads the
 * queue file, a message, a .forward, an :include: or a mailbox.
 * Without a master (master_sock -1: tests) the agent forks the job
 * itself.  A user's job process that says READY is kept (up to
 * LOCAL_WORKERS_MAX of them) and given that user's next job, in this
 * message or a later one of the agent's batch: one fork per user and
 * agent instead of one per delivery.
 *
 * Whom files and commands run as:
 *	from ~user/.forward (and its :include:s)	user
 *	from the aliases file (and its :include:s)	default_privs
 * so no command or file write ever runs as root, nor as `user`, which
 * owns the spool (Postfix's rule).
 *
 * A .forward is used only when owned by its user (or root) and not
 * group or world writable; a user whose .forward was already used in
 * this expansion gets the mailbox ("\user" says so explicitly), which
 * ends forwarding loops.  A .forward that adds no target is ignored.
 * A message whose header already has "Delivered-To: rcpt" is a mail
 * loop, failed 5.4.6; copies forwarded elsewhere get that header.
 *
 * The result of a recipient with several targets: ok when every target
 * is ok; deferred when any target deferred (the retry may deliver the
 * ok targets twice: duplicates over loss); failed when all failed; when
 * some were delivered and the rest failed it is ok, the failed targets
 * are logged.  Log: one Postfix-style line per target ("to=<user@dom>,
 * orig_to=<alias@dom>" when the alias differs).
 *
 * Duplicate filter: within one run (one message, the recipients the
 * queue runner handed over together) each job is tried once, keyed by
 * what it writes: "mailbox USER" (so user, \user and user+ext are one),
 * "user USER" (a .forward), "file PATH", "command COMMAND", "include
 * PATH", "address ADDR" (a forwarded copy).  A later recipient reaching
 * a target takes over the outcome of that first attempt, "duplicate: "
 * before its reply: ok, deferred or failed alike, so that a deferral
 * defers every recipient behind it and they are retried together.
 * Nothing of it is kept between runs: a recipient retried alone
 * delivers all its targets again (a duplicate, never a loss).  At most
 * duplicate_filter_limit targets are remembered; past that, targets are
 * simply delivered.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "delivery.h"
#include "dupfilter.h"
#include "envelope.h"
#include "local_job.h"
#include "local_priv.h"
#include "log.h"
#include "mailbox.h"
#include "queuefile.h"

#define LOCAL_HEADER_MAX	(64 * 1024)	/* header bytes scanned */
#define LOCAL_RECORDS_MAX	(2 * ALIASES_MAX_TARGETS)	/* per job */

/* local_user_base - "bob" or "bob+ext" into the user name; -1 unknown. */
static int
local_user_base(const struct local_ctx *c, const char *name, char *out,
    size_t outlen)
{
	const char	*delim = c->cfg->recipient_delimiter;
	struct passwd	*pw;
	char		 base[256];
	size_t		 n;

	if ((pw = getpwnam(name)) == NULL) {
		if (delim == NULL || delim[0] == '\0' ||
		    (n = strcspn(name, delim)) == strlen(name) ||
		    n >= sizeof(base))
			return -1;
		memcpy(base, name, n);
		base[n] = '\0';
		if ((pw = getpwnam(base)) == NULL)
			return -1;
	}
	snprintf(out, outlen, "%s", pw->pw_name);
	return 0;
}

/*
 * local_is_loop - the message already has "Delivered-To: rcpt" in its
 * first LOCAL_HEADER_MAX bytes; *hops is set to the number of Received:
 * headers there (for max_hops).  pread(2), as everywhere here: children
 * share the descriptor, so the stream's offset and buffer are not used.
 */
static int
local_is_loop(const struct local_ctx *c, long long *hops)
{
	static char	 buf[LOCAL_HEADER_MAX + 1];
	const char	*line, *nl, *v, *end;
	size_t		 alen = strlen(c->rcpt->addr);
	ssize_t		 n;
	int		 loop = 0;

	*hops = 0;
	if ((n = pread(fileno(c->fp), buf, LOCAL_HEADER_MAX, c->offset)) <= 0)
		return 0;
	buf[n] = '\0';
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (line[0] == '\r' || line[0] == '\n')
			break;
		if (strncasecmp(line, "Received:", 9) == 0)
			(*hops)++;
		if (strncasecmp(line, "Delivered-To:", 13) != 0)
			continue;
		v = line + 13 + strspn(line + 13, " \t");
		for (end = nl; end > v && isspace((unsigned char)end[-1]); end--)
			;
		if ((size_t)(end - v) == alen &&
		    strncasecmp(v, c->rcpt->addr, alen) == 0)
			loop = 1;
	}
	return loop;
}

static int
local_was_forwarded(const struct alias_list *l, const char *name)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == ALIAS_FORWARDED &&
		    strcmp(l->v[i].value, name) == 0)
			return 1;
	return 0;
}

/* local_sum - the outcome of a tally (see the top) */
static void
local_sum(const struct local_tally *y, struct local_report *out)
{
	if (y->ndefer > 0)
		*out = y->defer;
	else if (y->nok == 0 && y->nfail > 0)
		*out = y->fail;
	else if (y->nok == 0)
		local_report_set(out, DELIVER_TEMPFAIL, "4.3.0", "no targets");
	else
		local_report_set(out, DELIVER_OK, "2.0.0", y->ok);
}
/* A user already delivered earlier in the list ("\bob" and "bob"). */
static int
local_is_dup(const struct alias_list *l, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (l->v[j].kind == ALIAS_USER &&
		    strcmp(l->v[j].value, l->v[i].value) == 0)
			return 1;
	return 0;
}

/* local_job_new - a job for this recipient: the fixed fields. */
static void
local_job_new(const struct local_ctx *c, struct local_job *job, int kind,
    const char *user, const char *value)
{
	memset(job, 0, sizeof(*job));
	job->kind = kind;
	snprintf(job->user, sizeof(job->user), "%s", user);
	snprintf(job->value, sizeof(job->value), "%s", value);
	snprintf(job->sender, sizeof(job->sender), "%s", c->env->sender);
	snprintf(job->rcpt, sizeof(job->rcpt), "%s", c->rcpt->addr);
	snprintf(job->local, sizeof(job->local), "%s", c->local);
	snprintf(job->ext, sizeof(job->ext), "%s", c->ext);
	snprintf(job->domain, sizeof(job->domain), "%s", c->domain);
}

/*
 * local_job_start - hand job to the master, or without one run it in a
 * child of ours (*pid); our end of its report socket, or -1.
 */
static int
local_job_start(struct local_ctx *c, const struct local_job *job, pid_t *pid)
{
	size_t	 i;
	int	 p[2];

	*pid = -1;
	fflush(NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == -1)
		return -1;
	if (c->master_sock != -1) {
		if (local_job_send(c->master_sock, job, c->body_fd,
		    p[1]) == -1)
			goto fail;
	} else if ((*pid = fork()) == -1)
		goto fail;
	else if (*pid == 0) {
		close(p[0]);
		/* Other workers must see end of file when we close them. */
		for (i = 0; i < c->nworkers; i++)
			close(c->workers[i].fd);
		_exit(local_job_exec(c->cfg, job, c->body_fd, p[1]));
	}
	close(p[1]);
	return p[0];
fail:
	close(p[0]);
	close(p[1]);
	return -1;
}

static void
local_reap(int fd, pid_t pid)
{
	int	 status;

	close(fd);
	while (pid > 0 && waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
}

/*
 * local_worker_take - a READY process for job's user, out of the cache,
 * with job sent to it: its report socket, or -1 (*pid set).
 */
static int
local_worker_take(struct local_ctx *c, const struct local_job *job,
    pid_t *pid)
{
	struct local_worker	*w;
	size_t			 i;
	int			 fd;

	for (i = 0; i < c->nworkers; i++) {
		w = &c->workers[i];
		if (w->kind != job->kind || strcmp(w->user, job->user) != 0 ||
		    strcmp(w->domain, job->domain) != 0)
			continue;
		fd = w->fd;
		*pid = w->pid;
		c->workers[i] = c->workers[--c->nworkers];
		if (local_job_next(fd, job, c->body_fd) == 0)
			return fd;
		local_reap(fd, *pid);
		break;
	}
	return -1;
}

/* local_worker_keep - a process that said READY, for the next job */
static void
local_worker_keep(struct local_ctx *c, const struct local_job *job, int fd,
    pid_t pid)
{
	struct local_worker	*w;

	if (c->nworkers == LOCAL_WORKERS_MAX) {
		local_reap(c->workers[0].fd, c->workers[0].pid);
		c->workers[0] = c->workers[--c->nworkers];
	}
	w = &c->workers[c->nworkers++];
	w->kind = job->kind;
	snprintf(w->user, sizeof(w->user), "%s", job->user);
	snprintf(w->domain, sizeof(w->domain), "%s", job->domain);
	w->fd = fd;
	w->pid = pid;
}

/* local_workers_end - every cached process sees end of file and exits */
static void
local_workers_end(struct local_ctx *c)
{
	while (c->nworkers > 0) {
		c->nworkers--;
		local_reap(c->workers[c->nworkers].fd,
		    c->workers[c->nworkers].pid);
	}
}

/*
 * local_list_add - a user or address a job handed back: a user name is
 * expanded through the aliases here (the job does not read them), an
 * address is taken as it is.  -1 with a reason in rep.
 */
static int
local_list_add(struct local_ctx *c, struct alias_list *l,
    const struct local_record *r, struct local_report *rep)
{
	struct alias_list	 sub;
	struct alias_target	 t;
	size_t			 i;
	int			 rc = 0;

	if ((r->kind != ALIAS_USER && r->kind != ALIAS_ADDRESS) ||
	    r->text[0] == '\0' || strchr(r->text, '/') != NULL) {
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "bad target from the delivery process");
		return -1;
	}
	memset(&t, 0, sizeof(t));
	t.kind = r->kind;
	t.owner = -1;
	snprintf(t.value, sizeof(t.value), "%s", r->text);
	if (r->kind == ALIAS_ADDRESS)
		return aliases_list_add(l, &t) == DELIVER_OK ? 0 : -1;
	memset(&sub, 0, sizeof(sub));
	if (aliases_expand_local(c->al, c->cfg, t.value, &sub) != DELIVER_OK) {
		local_report_set(rep, DELIVER_TEMPFAIL, sub.dsn, sub.error);
		rc = -1;
	}
	for (i = 0; rc == 0 && i < sub.n; i++)
		rc = aliases_list_add(l, &sub.v[i]) == DELIVER_OK ? 0 : -1;
	aliases_list_free(&sub);
	return rc;
}

/* local_to - the address a job's line is logged for */
static void
local_to(const struct local_ctx *c, const struct local_job *job,
    int mailbox, char *to, size_t tolen)
{
	if (mailbox && job->kind != LOCAL_JOB_VIRTUAL &&
	    strcmp(job->user, c->local) != 0)
		snprintf(to, tolen, "%.300s@%.300s", job->user, c->domain);
	else
		snprintf(to, tolen, "%s", c->rcpt->addr);
}

/* local_job_note - one record: log it and count it in y and jy */
static void
local_job_note(struct local_ctx *c, const struct local_job *job,
    const struct local_record *r, struct local_tally *y,
    struct local_tally *jy)
{
	struct local_report	 rep;
	char			 to[ADDR_MAX + 300], key[300];
	int			 mailbox = r->type == LOCAL_RECORD_DONE &&
				    r->kind == 1;

	local_report_set(&rep, r->status, r->dsn, r->text);
	local_to(c, job, mailbox || job->kind == LOCAL_JOB_USER ||
	    job->kind == LOCAL_JOB_MAILBOX, to, sizeof(to));
	local_log(c, to, rep.status, rep.res.dsn, rep.res.reply);
	local_tally(y, &rep);
	local_tally(jy, &rep);
	if (mailbox) {
		snprintf(key, sizeof(key), "mailbox %s", job->user);
		dupfilter_add(c->dups, key, &rep, sizeof(rep));
	}
}

/* local_job_fail - a problem with a target handed back: logged, counted */
static void
local_job_fail(struct local_ctx *c, const struct local_job *job,
    struct local_report *rep, struct local_tally *y, struct local_tally *jy)
{
	struct local_record	 r;

	memset(&r, 0, sizeof(r));
	r.type = LOCAL_RECORD_END;
	r.status = rep->status;
	snprintf(r.dsn, sizeof(r.dsn), "%s", rep->res.dsn);
	snprintf(r.text, sizeof(r.text), "%s", rep->res.reply);
	local_job_note(c, job, &r, y, jy);
}

/*
 * local_job_read - the records of one job until its socket closes (0)
 * or it says READY (1).  A reused process (reused) that ends without a
 * record did nothing: -1, start a fresh one.
 */
static int
local_job_read(struct local_ctx *c, const struct local_job *job, int fd,
    int reused, struct alias_list *l, struct local_tally *y,
    struct local_tally *jy)
{
	struct local_record	 r;
	struct local_report	 rep;
	int			 n, got = 0;

	/* The job runs as someone else: it gets a bounded say. */
	while ((n = local_record_read(fd, &r)) == 1) {
		if (++got > LOCAL_RECORDS_MAX) {
			n = -1;
			break;
		}
		if (r.type == LOCAL_RECORD_READY)
			break;
		if (r.type == LOCAL_RECORD_TARGET) {
			if (local_list_add(c, l, &r, &rep) == -1)
				local_job_fail(c, job, &rep, y, jy);
		} else if (r.type == LOCAL_RECORD_DONE ||
		    r.status != DELIVER_OK)
			local_job_note(c, job, &r, y, jy);
	}
	if (n == 0 && got == 0 && reused)
		return -1;
	if (n == -1 || got == 0 || (n == 1 && got == 1)) {
		memset(&r, 0, sizeof(r));
		r.type = LOCAL_RECORD_END;
		r.status = DELIVER_TEMPFAIL;
		snprintf(r.dsn, sizeof(r.dsn), "4.3.0");
		snprintf(r.text, sizeof(r.text), "%s", n != 0 ?
		    "bad report from the delivery process" :
		    "delivery process died");
		local_job_note(c, job, &r, y, jy);
		return 0;
	}
	return n == 1;
}

/*
 * local_job_run - run job once per message and run (key), record what
 * it did in y; a later job with the same key takes over the outcome
 * (see the top), so a deferral there defers here too.  A user's job
 * goes to a process of that user's that said READY, when there is one.
 */
static void
local_job_run(struct local_ctx *c, const struct local_job *job,
    const char *key, struct alias_list *l, struct local_tally *y)
{
	const struct local_report *seen;
	struct local_tally	 jy;
	struct local_report	 rep;
	char			 to[ADDR_MAX + 300];
	pid_t			 pid;
	int			 fd, ready;

	if ((seen = dupfilter_find(c->dups, key)) != NULL) {
		local_dup_report(seen, &rep);
		local_to(c, job, job->kind <= LOCAL_JOB_MAILBOX, to,
		    sizeof(to));
		local_log(c, to, rep.status, rep.res.dsn, rep.res.reply);
		local_tally(y, &rep);
		return;
	}
	memset(&jy, 0, sizeof(jy));
	if ((fd = local_worker_take(c, job, &pid)) != -1 &&
	    (ready = local_job_read(c, job, fd, 1, l, y, &jy)) == -1) {
		local_reap(fd, pid);
		fd = -1;
	}
	if (fd == -1) {
		if ((fd = local_job_start(c, job, &pid)) == -1) {
			log_warn("%s: cannot start a delivery job",
			    c->env->id);
			local_report_set(&rep, DELIVER_TEMPFAIL, "4.3.0",
			    "cannot start a delivery process");
			local_tally(y, &rep);
			return;
		}
		ready = local_job_read(c, job, fd, 0, l, y, &jy);
	}
	if (ready == 1)
		local_worker_keep(c, job, fd, pid);
	else
		local_reap(fd, pid);
	local_sum(&jy, &rep);
	dupfilter_add(c->dups, key, &rep, sizeof(rep));
}

/* local_deliver_user - user t: its .forward, else its mailbox */
static void
local_deliver_user(struct local_ctx *c, struct alias_list *l, size_t i,
    struct local_tally *y)
{
	struct local_report	 rep;
	struct local_job	 job;
	char			 name[256], key[300], to[ADDR_MAX + 300];
	int			 mailbox;

	if (local_user_base(c, l->v[i].value, name, sizeof(name)) == -1) {
		local_report_set(&rep, DELIVER_PERMFAIL, "5.1.1",
		    "unknown user");
		if (strcmp(l->v[i].value, c->local) == 0)
			snprintf(to, sizeof(to), "%s", c->rcpt->addr);
		else
			snprintf(to, sizeof(to), "%.300s@%.300s",
			    l->v[i].value, c->domain);
		local_log(c, to, rep.status, rep.res.dsn, rep.res.reply);
		local_tally(y, &rep);
		return;
	}
	mailbox = l->v[i].noforward || local_was_forwarded(l, name);
	local_job_new(c, &job, mailbox ? LOCAL_JOB_MAILBOX : LOCAL_JOB_USER,
	    name, "");
	snprintf(key, sizeof(key), "%s %s", mailbox ? "mailbox" : "user",
	    name);
	if (!mailbox) {
		snprintf(l->v[i].value, sizeof(l->v[i].value), "%s", name);
		l->v[i].kind = ALIAS_FORWARDED;
	}
	local_job_run(c, &job, key, l, y);
}

/* local_deliver_other - a file, command or :include: of the aliases */
static void
local_deliver_other(struct local_ctx *c, struct alias_list *l, size_t i,
    struct local_tally *y)
{
	static const int	 kinds[] = { [ALIAS_FILE] = LOCAL_JOB_FILE,
		[ALIAS_PIPE] = LOCAL_JOB_PIPE,
		[ALIAS_INCLUDE] = LOCAL_JOB_INCLUDE };
	static const char *const words[] = { [ALIAS_FILE] = "file",
		[ALIAS_PIPE] = "command", [ALIAS_INCLUDE] = "include" };
	struct local_job	 job;
	char			 key[ALIAS_VALUE_MAX + 16];
	int			 k = l->v[i].kind;

	local_job_new(c, &job, kinds[k], "", l->v[i].value);
	snprintf(key, sizeof(key), "%s %s", words[k], l->v[i].value);
	local_job_run(c, &job, key, l, y);
}

/* local_targets - deliver every target, then sum up (see the top). */
static void
local_targets(struct local_ctx *c, struct alias_list *l,
    struct local_report *out)
{
	struct local_tally	 y;
	size_t			 i, nremote = 0;

	memset(&y, 0, sizeof(y));
	/* l grows: jobs hand back users and addresses. */
	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind == ALIAS_FORWARDED ||
		    (l->v[i].kind == ALIAS_USER && local_is_dup(l, i)))
			continue;
		if (l->v[i].kind == ALIAS_ADDRESS)
			nremote++;
		else if (l->v[i].kind == ALIAS_USER)
			local_deliver_user(c, l, i, &y);
		else
			local_deliver_other(c, l, i, &y);
	}
	if (nremote > 0)
		local_forward_copy(c, l, &y);
	local_sum(&y, out);
}

/*
 * local_virtual - a recipient of a virtual domain: one LOCAL_JOB_VIRTUAL
 * job, as virtual_user, expands it (virtual_aliases, accounts) and
 * delivers its accounts; the outside addresses it hands back get a
 * forwarded copy, as for the aliases file.  No .forward, no /etc/aliases.
 */
static void
local_virtual(struct local_ctx *c, struct local_report *out)
{
	struct alias_list	 l;
	struct local_tally	 y;
	struct local_job	 job;
	char			 addr[ADDR_MAX], key[ADDR_MAX + 16], *p;
	size_t			 i, nremote = 0;

	memset(&l, 0, sizeof(l));
	memset(&y, 0, sizeof(y));
	snprintf(addr, sizeof(addr), "%s", c->rcpt->addr);
	for (p = addr; *p; p++)
		*p = tolower((unsigned char)*p);
	local_job_new(c, &job, LOCAL_JOB_VIRTUAL, addr, "");
	snprintf(key, sizeof(key), "virtual %s", addr);
	local_job_run(c, &job, key, &l, &y);
	for (i = 0; i < l.n; i++)
		if (l.v[i].kind == ALIAS_ADDRESS)
			nremote++;
	if (nremote > 0)
		local_forward_copy(c, &l, &y);
	local_sum(&y, out);
	aliases_list_free(&l);
}

/* local_split - local part (lowercase, extension split off) and domain. */
static int
local_split(struct local_ctx *c)
{
	const char	*addr = c->rcpt->addr, *at = strrchr(addr, '@');
	const char	*delim = c->cfg->recipient_delimiter;
	size_t		 n;
	char		*p;

	n = at ? (size_t)(at - addr) : strlen(addr);
	if (n == 0 || n >= sizeof(c->local))
		return -1;
	memcpy(c->local, addr, n);
	c->local[n] = '\0';
	snprintf(c->domain, sizeof(c->domain), "%s", at ? at + 1 :
	    c->cfg->hostname);
	for (p = c->local; *p; p++)
		*p = tolower((unsigned char)*p);
	for (p = c->domain; *p; p++)
		*p = tolower((unsigned char)*p);
	c->ext[0] = '\0';
	if (delim && delim[0] && !aliases_lookup(c->al, c->local) &&
	    (p = strchr(c->local, delim[0])) != NULL && p != c->local) {
		snprintf(c->ext, sizeof(c->ext), "%s", p + 1);
		*p = '\0';
	}
	return 0;
}

static void
local_recipient(struct local_ctx *c, const struct delivery_rcpt *r,
    struct local_report *out)
{
	struct alias_list	 l;
	char			 why[160];
	long long		 hops = 0;
	int			 rc;

	memset(&l, 0, sizeof(l));
	c->rcpt = r;
	if (r->index >= c->env->nrcpt ||
	    strcasecmp(c->env->rcpt[r->index].addr, r->addr) != 0)
		local_report_set(out, DELIVER_TEMPFAIL, "4.3.0",
		    "recipient not in the queue file");
	else if (local_split(c) == -1)
		local_report_set(out, DELIVER_PERMFAIL, "5.1.3",
		    "bad recipient address");
	else if (local_is_loop(c, &hops))
		local_report_set(out, DELIVER_PERMFAIL, "5.4.6",
		    "mail forwarding loop");
	else if (hops > c->cfg->max_hops) {
		/* queued before the limit applied, or under a higher one */
		snprintf(why, sizeof(why), "too many hops: %lld Received: "
		    "headers, max_hops %lld: mail loop suspected", hops,
		    c->cfg->max_hops);
		local_report_set(out, DELIVER_PERMFAIL, "5.4.6", why);
	}
	else if (config_is_virtual_domain(c->cfg, c->domain)) {
		local_virtual(c, out);
		return;
	} else if ((rc = aliases_expand_local(c->al, c->cfg, c->local, &l)) !=
	    DELIVER_OK)
		local_report_set(out, rc, l.dsn, l.error);
	else {
		local_targets(c, &l, out);
		aliases_list_free(&l);
		return;
	}
	local_log(c, r->addr, out->status, out->res.dsn, out->res.reply);
	aliases_list_free(&l);
}

/*
 * local_body_copy - the message without its envelope, in a memory file:
 * what a job's process (the recipient's uid) may read.  Passing it the
 * queue file itself would show it the envelope: every other recipient,
 * Bcc included.
 */
static int
local_body_copy(const struct local_ctx *c)
{
	char	 buf[16384];
	off_t	 pos = c->offset;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = memfd_create("tern-message", MFD_CLOEXEC)) == -1)
		return -1;
	while ((n = pread(fileno(c->fp), buf, sizeof(buf), pos)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write(fd, buf, (size_t)n) != n)
			goto fail;
		pos += n;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * local_open - the message of the queue file, whose envelope the queue
 * runner parsed and handed over in job, and its copy; -1 with err set.
 */
static int
local_open(struct local_ctx *c, const struct delivery_job *job, char *err,
    size_t errlen)
{
	char	 msg[512];

	if (queuefile_open_body(c->cfg->spool_dir, job->id, &job->file,
	    &c->fp, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "queue file: %.400s", msg);
		return -1;
	}
	c->offset = job->file.body;
	if ((c->body_fd = local_body_copy(c)) == -1) {
		snprintf(err, errlen, "cannot copy the message: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* local_close - what local_open and the recipients left behind */
static void
local_close(struct local_ctx *c)
{
	dupfilter_free(c->dups);
	c->dups = NULL;
	if (c->fp)
		fclose(c->fp);
	c->fp = NULL;
	if (c->body_fd != -1)
		close(c->body_fd);
	c->body_fd = -1;
}

/* local_message - one message's recipients, one result line each */
static int
local_message(struct local_ctx *c, const struct delivery_job *job,
    const char *aliases_err, int result_fd)
{
	struct local_report	 rep;
	struct delivery_result	 res;
	char			 err[512];
	size_t			 i;
	int			 ok = -1, rc = 0;

	c->env = job->env;
	c->dups = dupfilter_new((size_t)c->cfg->duplicate_filter_limit);
	if (aliases_err != NULL)
		snprintf(err, sizeof(err), "aliases: %.400s", aliases_err);
	else if (c->env == NULL)
		snprintf(err, sizeof(err), "no envelope for %s", job->id);
	else if ((ok = local_open(c, job, err, sizeof(err))) == -1)
		log_warnx("%s: %s", job->id, err);
	for (i = 0; i < job->nrcpt; i++) {
		if (ok == -1)
			local_report_set(&rep, DELIVER_TEMPFAIL, "4.3.0", err);
		else
			local_recipient(c, &job->rcpt[i], &rep);
		memset(&res, 0, sizeof(res));
		snprintf(res.id, sizeof(res.id), "%s", job->id);
		res.index = job->rcpt[i].index;
		res.status = rep.status;
		snprintf(res.dsn, sizeof(res.dsn), "%s", rep.res.dsn);
		snprintf(res.relay, sizeof(res.relay), "local");
		snprintf(res.reply, sizeof(res.reply), "%s", rep.res.reply);
		if (delivery_result_send(result_fd, &res) == -1) {
			log_warn("%s: result", job->id);
			rc = 1;
		}
	}
	local_close(c);
	return rc;
}

/*
 * local_agent_run - the messages of jobs one after the other.  The
 * aliases are loaded once for all of them (a change made meanwhile is
 * seen by the next agent, as newaliases users expect).
 */
int
local_agent_run(const struct config *cfg, struct delivery_job *jobs,
    size_t njobs, int result_fd, int master_sock)
{
	struct local_ctx	 c;
	char			 msg[512];
	const char		*aliases_err = NULL;
	size_t			 k;
	int			 rc = 0;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.master_sock = master_sock;
	c.body_fd = -1;
	log_setproc("local");
	/* waitpid() must see our children whatever the master had set. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if ((c.al = aliases_load_config(cfg, msg, sizeof(msg))) == NULL) {
		log_warnx("aliases: %s", msg);
		aliases_err = msg;
	}
	for (k = 0; k < njobs; k++)
		rc |= local_message(&c, &jobs[k], aliases_err, result_fd);
	local_workers_end(&c);
	aliases_free((struct aliases *)c.al);
	return rc;
}
