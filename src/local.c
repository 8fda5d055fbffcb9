/* SPDX-License-Identifier: ISC */
/*
 * local.c - the local delivery agent: local_agent_run() delivers one
 * message to some local recipients and writes one result line each.
 *
 * Per recipient: the local part (lowercase; "user+ext" is tried whole in
 * the aliases, then as "user" with extension "ext"), the aliases, then
 * each user's ~/.forward, then the targets:
 *	user		Maildir or mbox, from mailbox/mailbox_path
 *	/file		mbox format append		(mailbox.c)
 *	|command	/bin/sh -c, message on stdin	(mailbox.c)
 *	user@remote	one new queue message with the same sender
 *			(local_inject.c)
 * Each target is written by a forked child that first becomes the
 * target's user (initgroups, setgid, setuid, checked); without root,
 * every step runs as the invoking user and no uid changes.
 *
 * Whom files and commands run as:
 *	from ~user/.forward		user
 *	from /etc/aliases, :include:	the owner of that file, unless the
 *					owner (or the .forward's user) is
 *					root: then config `user`, or "nobody"
 * so no command or file write ever runs as root (Postfix's rule).
 *
 * A .forward is used only when owned by its user (or root) and not
 * group or world writable; a user whose .forward was already used in
 * this expansion gets the mailbox ("\user" says so explicitly), which
 * ends forwarding loops.  A .forward that adds no new target is ignored.
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
 * queue runner handed over together) each final target is tried once,
 * keyed by what it writes: "mailbox PATH" (so user, \user and user+ext
 * are one), "file UID PATH", "command UID COMMAND", "address ADDR" (a
 * forwarded copy).  A later recipient reaching a target takes over the
 * outcome of that first attempt, "duplicate: " before its reply: ok,
 * deferred or failed alike, so that a deferral defers every recipient
 * behind it and they are retried together.  Nothing of it is kept
 * between runs: a recipient retried alone delivers all its targets
 * again (a duplicate, never a loss).  At most duplicate_filter_limit
 * targets are remembered; past that, targets are simply delivered.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include "local_priv.h"
#include "log.h"
#include "mailbox.h"
#include "spool.h"

#define LOCAL_COMMAND_TIMEOUT	3600	/* seconds for a |command */
#define LOCAL_HEADER_MAX	(64 * 1024)	/* header bytes scanned */

static int
local_user_fill(struct local_user *u, const struct passwd *pw)
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

/* local_user_byname - "bob" or "bob+ext"; -1 for an unknown user. */
static int
local_user_byname(const struct local_ctx *c, const char *name,
    struct local_user *u)
{
	const char	*delim = c->cfg->recipient_delimiter;
	char		 base[256];
	size_t		 n;

	if (local_user_fill(u, getpwnam(name)) == 0)
		return 0;
	if (delim == NULL || delim[0] == '\0' ||
	    (n = strcspn(name, delim)) == strlen(name) || n >= sizeof(base))
		return -1;
	memcpy(base, name, n);
	base[n] = '\0';
	return local_user_fill(u, getpwnam(base));
}

/* local_user_runas - whom a file or command target runs as. */
int
local_user_runas(const struct local_ctx *c, long owner, struct local_user *u)
{
	if (geteuid() != 0)
		return local_user_fill(u, getpwuid(geteuid()));
	if (owner > 0 && local_user_fill(u, getpwuid((uid_t)owner)) == 0)
		return 0;
	if (local_user_fill(u, getpwnam(c->cfg->user)) == 0)
		return 0;
	return local_user_fill(u, getpwnam("nobody"));
}

/* local_become - drop to u for good; nothing to do without root. */
static int
local_become(const struct local_user *u)
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
		log_warn("%s: pipe/fork", c->env.id);
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", "cannot fork");
		return;
	}
	if (pid == 0) {
		close(p[0]);
		if (local_become(u) == -1)
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

static void
local_msg(const struct local_ctx *c, struct mailbox_msg *m)
{
	m->fp = c->fp;
	m->offset = c->offset;
	m->sender = c->env.sender;
	m->rcpt = c->rcpt->addr;
}

static const char *
local_mailbox_tmpl(const struct local_ctx *c)
{
	const char	*tmpl = c->cfg->mailbox_path;

	if (tmpl == NULL || tmpl[0] == '\0')
		tmpl = c->cfg->mailbox == CONFIG_MAILBOX_MBOX ?
		    "/var/mail/%u" : "%h/Maildir/";
	return tmpl;
}

/* The user's mailbox path from mailbox and mailbox_path. */
static int
local_mailbox_path(const struct local_ctx *c, const struct local_user *u,
    char *out, size_t outlen)
{
	return mailbox_expand_path(local_mailbox_tmpl(c), u->home, u->name,
	    c->domain, out, outlen);
}

/*
 * local_mbox_create - as root, make a missing mbox owned by its user:
 * the user cannot create files in /var/mail (root:mail 2775).
 */
static void
local_mbox_create(const struct local_ctx *c, const struct local_user *u)
{
	char	 path[PATH_MAX];
	size_t	 len;
	int	 fd;

	if (geteuid() != 0 ||
	    local_mailbox_path(c, u, path, sizeof(path)) == -1 ||
	    (len = strlen(path)) == 0 || path[len - 1] == '/')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return;
	if (fchown(fd, u->uid, u->gid) == -1)
		log_warn("chown %s", path);
	close(fd);
}

static void
local_do_mailbox(struct local_ctx *c, const struct alias_target *t,
    const struct local_user *u, struct local_report *rep)
{
	struct mailbox_msg	 m;
	char			 path[PATH_MAX];
	size_t			 len;

	(void)t;
	local_msg(c, &m);
	if (local_mailbox_path(c, u, path, sizeof(path)) == -1) {
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "bad mailbox_path");
		return;
	}
	len = strlen(path);
	if (len > 0 && path[len - 1] == '/')
		rep->status = mailbox_maildir(&m, path, &rep->res);
	else
		rep->status = mailbox_mbox(&m, path, &rep->res);
}

static void
local_do_target(struct local_ctx *c, const struct alias_target *t,
    const struct local_user *u, struct local_report *rep)
{
	struct mailbox_msg	 m;
	struct mailbox_env	 e;

	local_msg(c, &m);
	if (t->kind == ALIAS_FILE) {
		rep->status = mailbox_file(&m, t->value, &rep->res);
		return;
	}
	e.home = u->home;
	e.user = u->name;
	e.shell = u->shell;
	e.local = c->local;
	e.extension = c->ext;
	e.domain = c->domain;
	e.config = c->cfg->path;
	rep->status = mailbox_pipe(&m, t->value, &e, LOCAL_COMMAND_TIMEOUT,
	    &rep->res);
}

void
local_log(const struct local_ctx *c, const char *to, int status,
    const char *dsn, const char *reply)
{
	struct timespec	 now;
	double		 delay;
	char		 orig[ADDR_MAX + 16] = "";

	clock_gettime(CLOCK_REALTIME, &now);
	delay = (double)(now.tv_sec - c->env.arrival) + now.tv_nsec / 1e9;
	if (delay < 0)
		delay = 0;
	if (strcasecmp(to, c->rcpt->addr) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%s>", c->rcpt->addr);
	log_info("%s: to=<%s>%s, relay=local, delay=%.1f, dsn=%s, status=%s "
	    "(%s)", c->env.id, to, orig, delay, dsn,
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

/*
 * local_once - run fn for target t as user u, unless key (the final
 * target) was already tried for this message in this run: then the
 * outcome of that attempt is this one's too, so a deferral there defers
 * here and both are retried together (see the top).
 */
static void
local_once(struct local_ctx *c, const char *key, const struct alias_target *t,
    const struct local_user *u, struct local_report *rep, local_fn *fn)
{
	const struct local_report *seen;

	if ((seen = dupfilter_find(c->dups, key)) != NULL) {
		local_dup_report(seen, rep);
		return;
	}
	local_fork(c, t, u, rep, fn);
	dupfilter_add(c->dups, key, rep, sizeof(*rep));
}

/* local_deliver_user - the mailbox of user t->value */
static void
local_deliver_user(struct local_ctx *c, const struct alias_target *t,
    struct local_report *rep)
{
	struct local_user	 u;
	struct stat		 st;
	char			 path[PATH_MAX], key[PATH_MAX + 16];

	if (local_user_byname(c, t->value, &u) == -1)
		local_report_set(rep, DELIVER_PERMFAIL, "5.1.1",
		    "unknown user");
	else if (strstr(local_mailbox_tmpl(c), "%h") != NULL &&
	    stat(u.home, &st) == -1)
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "home directory missing");
	else if (local_mailbox_path(c, &u, path, sizeof(path)) == -1)
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "bad mailbox_path");
	else {
		snprintf(key, sizeof(key), "mailbox %s", path);
		local_mbox_create(c, &u);
		local_once(c, key, t, &u, rep, local_do_mailbox);
	}
}

/* local_deliver_one - one user, file or command target. */
static void
local_deliver_one(struct local_ctx *c, const struct alias_target *t,
    struct local_report *rep)
{
	struct local_user	 u;
	char			 to[ADDR_MAX + 300];
	char			 key[ALIAS_VALUE_MAX + 64];

	if (t->kind == ALIAS_USER) {
		if (strcmp(t->value, c->local) == 0)
			snprintf(to, sizeof(to), "%s", c->rcpt->addr);
		else
			snprintf(to, sizeof(to), "%.300s@%.300s", t->value,
			    c->domain);
		local_deliver_user(c, t, rep);
	} else {
		snprintf(to, sizeof(to), "%s", c->rcpt->addr);
		if (local_user_runas(c, t->owner, &u) == -1)
			local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
			    "no user to run as");
		else {
			snprintf(key, sizeof(key), "%s %ld %s",
			    t->kind == ALIAS_FILE ? "file" : "command",
			    (long)u.uid, t->value);
			local_once(c, key, t, &u, rep, local_do_target);
		}
	}
	local_log(c, to, rep->status, rep->res.dsn, rep->res.reply);
}

/*
 * local_is_loop - the message already has "Delivered-To: rcpt" in its
 * first LOCAL_HEADER_MAX bytes.  pread(2), as everywhere here: children
 * share the descriptor, so the stream's offset and buffer are not used.
 */
static int
local_is_loop(const struct local_ctx *c)
{
	static char	 buf[LOCAL_HEADER_MAX + 1];
	const char	*line, *nl, *v, *end;
	size_t		 alen = strlen(c->rcpt->addr);
	ssize_t		 n;

	if ((n = pread(fileno(c->fp), buf, LOCAL_HEADER_MAX, c->offset)) <= 0)
		return 0;
	buf[n] = '\0';
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (line[0] == '\r' || line[0] == '\n')
			break;
		if (strncasecmp(line, "Delivered-To:", 13) != 0)
			continue;
		v = line + 13 + strspn(line + 13, " \t");
		for (end = nl; end > v && isspace((unsigned char)end[-1]); end--)
			;
		if ((size_t)(end - v) == alen &&
		    strncasecmp(v, c->rcpt->addr, alen) == 0)
			return 1;
	}
	return 0;
}

/* local_forward_open - ~user/.forward, if it is there and safe. */
static FILE *
local_forward_open(const struct local_user *u, char *path, size_t pathlen)
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

/* local_forwards - replace each user by the targets of its .forward. */
static int
local_forwards(struct local_ctx *c, struct alias_list *l)
{
	struct local_user	 u;
	char			 path[PATH_MAX + 16], self[ALIAS_VALUE_MAX];
	FILE			*fp;
	size_t			 i, n;
	int			 rc;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind != ALIAS_USER || l->v[i].noforward)
			continue;
		snprintf(self, sizeof(self), "%s", l->v[i].value);
		if (local_was_forwarded(l, self) ||
		    local_user_byname(c, self, &u) == -1 ||
		    (fp = local_forward_open(&u, path, sizeof(path))) == NULL) {
			l->v[i].noforward = 1;
			continue;
		}
		l->v[i].kind = ALIAS_FORWARDED;
		n = l->n;
		rc = aliases_expand_stream(c->al, c->cfg, fp, path, self,
		    u.uid, l);
		fclose(fp);
		if (rc != DELIVER_OK)
			return rc;
		if (l->n == n) {
			l->v[i].kind = ALIAS_USER;
			l->v[i].noforward = 1;
		}
	}
	return DELIVER_OK;
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

/* local_targets - deliver every target, then sum up (see the top). */
static void
local_targets(struct local_ctx *c, struct alias_list *l,
    struct local_report *out)
{
	struct local_tally	 y;
	struct local_report	 rep;
	size_t			 i, nremote = 0;

	memset(&y, 0, sizeof(y));
	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind == ALIAS_FORWARDED ||
		    (l->v[i].kind == ALIAS_USER && local_is_dup(l, i)))
			continue;
		if (l->v[i].kind == ALIAS_ADDRESS) {
			nremote++;
			continue;
		}
		local_deliver_one(c, &l->v[i], &rep);
		local_tally(&y, &rep);
	}
	if (nremote > 0)
		local_forward_copy(c, l, &y);
	if (y.ndefer > 0)
		*out = y.defer;
	else if (y.nok == 0 && y.nfail > 0)
		*out = y.fail;
	else if (y.nok == 0)
		local_report_set(out, DELIVER_TEMPFAIL, "4.3.0", "no targets");
	else
		local_report_set(out, DELIVER_OK, "2.0.0", y.ok);
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
	int			 rc;

	memset(&l, 0, sizeof(l));
	c->rcpt = r;
	if (r->index >= c->env.nrcpt ||
	    strcasecmp(c->env.rcpt[r->index].addr, r->addr) != 0)
		local_report_set(out, DELIVER_TEMPFAIL, "4.3.0",
		    "recipient not in the queue file");
	else if (local_split(c) == -1)
		local_report_set(out, DELIVER_PERMFAIL, "5.1.3",
		    "bad recipient address");
	else if (local_is_loop(c))
		local_report_set(out, DELIVER_PERMFAIL, "5.4.6",
		    "mail forwarding loop");
	else if ((rc = aliases_expand(c->al, c->cfg, c->local, &l)) !=
	    DELIVER_OK || (rc = local_forwards(c, &l)) != DELIVER_OK)
		local_report_set(out, rc, l.dsn, l.error);
	else {
		local_targets(c, &l, out);
		aliases_list_free(&l);
		return;
	}
	local_log(c, r->addr, out->status, out->res.dsn, out->res.reply);
	aliases_list_free(&l);
}

/* local_open - the queue file and the aliases; -1 with err set. */
static int
local_open(struct local_ctx *c, const char *id, char *err, size_t errlen)
{
	char	 path[PATH_MAX], msg[512];

	if (spool_path(c->cfg->spool_dir, "queue", id, path,
	    sizeof(path)) == -1 || (c->fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "queue file: %s", strerror(errno));
		return -1;
	}
	if (envelope_read(c->fp, &c->env, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "queue file: %.400s", msg);
		return -1;
	}
	if (strcmp(c->env.id, id) != 0 || (c->offset = ftello(c->fp)) == -1) {
		snprintf(err, errlen, "queue file: wrong id or unreadable");
		return -1;
	}
	if ((c->al = aliases_load_config(c->cfg, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "aliases: %.400s", msg);
		return -1;
	}
	return 0;
}

int
local_agent_run(const struct config *cfg, struct delivery_job *job,
    int result_fd)
{
	struct local_ctx	 c;
	struct local_report	 rep;
	struct delivery_result	 res;
	char			 err[512];
	size_t			 i;
	int			 ok, rc = 0;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	envelope_init(&c.env);
	c.dups = dupfilter_new((size_t)cfg->duplicate_filter_limit);
	log_setproc("local");
	/* waitpid() must see our children whatever the master had set. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if ((ok = local_open(&c, job->id, err, sizeof(err))) == -1)
		log_warnx("%s: %s", job->id, err);
	for (i = 0; i < job->nrcpt; i++) {
		if (ok == -1)
			local_report_set(&rep, DELIVER_TEMPFAIL, "4.3.0", err);
		else
			local_recipient(&c, &job->rcpt[i], &rep);
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
	dupfilter_free(c.dups);
	aliases_free((struct aliases *)c.al);
	if (c.fp)
		fclose(c.fp);
	envelope_free(&c.env);
	return rc;
}
