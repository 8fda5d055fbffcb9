/* SPDX-License-Identifier: ISC */
/*
 * local_virtual.c - the LOCAL_JOB_VIRTUAL job: one recipient of a
 * virtual domain, delivered into the Maildirs of accounts that are not
 * Unix users (Postfix's virtual(8)).
 *
 * As root (local_virtual_prepare), the job's process only checks the
 * job's strings (the domain is one of virtual_domains, the address is
 * "local@domain" with a local part fit for a path: no '/', not "." or
 * "..") and looks up virtual_user in passwd: it must exist and be
 * neither root, nor `user`, nor default_privs (by uid).  Then it
 * becomes virtual_user (local_job.c) and only then reads anything
 * (local_virtual_deliver): the virtual_aliases table (root's, 0644),
 * the checker's answers about accounts (asked on the checker's client
 * end, which the master gave this process alone, see auth.h), the
 * message, the Maildirs and their maildirsize files.
 *
 * The job expands the address (valias.h: exact alias, account,
 * catch-all), delivers every account target here (they all belong to
 * virtual_user) under its quota, and hands every outside address back
 * to the agent as a LOCAL_RECORD_TARGET, which forwards a copy as for
 * /etc/aliases.  A Maildir path comes from the account's mailbox= or
 * from virtual_mailbox_path, never from the agent; no .forward is read.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "delivery.h"
#include "local_job.h"
#include "local_priv.h"
#include "log.h"
#include "mailbox.h"
#include "text.h"
#include "valias.h"

#define VIRTUAL_LOOKUP_MS	10000	/* the checker's answer, at most */

/* What the expansion learnt of accounts, for the deliveries after it. */
struct virtual_ctx {
	const struct config	*cfg;
	int			 auth_fd;
	struct {
		char			 addr[VALIAS_ADDR_MAX];
		struct auth_account	 acct;
	}			 known[VALIAS_MAX_TARGETS];
	size_t			 nknown;
};

/* part_ok - fit for %u or %d: not empty, no '/', not "." or "..". */
static int
part_ok(const char *s, size_t n)
{
	return n > 0 && memchr(s, '/', n) == NULL &&
	    !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' &&
	    s[1] == '.');
}

int
local_virtual_prepare(const struct config *cfg, const struct local_job *job,
    struct local_user *u, char *err, size_t errlen)
{
	const char	*at = strrchr(job->user, '@');

	if (at == NULL || !part_ok(job->user, (size_t)(at - job->user)) ||
	    strcmp(at + 1, job->domain) != 0 ||
	    !part_ok(job->domain, strlen(job->domain)) ||
	    text_has_ctl(job->user) ||
	    !config_is_virtual_domain(cfg, job->domain)) {
		snprintf(err, errlen, "bad recipient or domain not virtual");
		return -1;
	}
	return local_job_runas(cfg, "virtual_user", cfg->virtual_user, 1, u,
	    err, errlen);
}

/* is_account - the checker's answer, remembered for the delivery */
static int
is_account(void *arg, const char *addr)
{
	struct virtual_ctx *v = arg;
	struct auth_account acct;
	int	 r;

	if ((r = auth_lookup(v->auth_fd, addr, &acct,
	    VIRTUAL_LOOKUP_MS)) == 1 && v->nknown < VALIAS_MAX_TARGETS) {
		snprintf(v->known[v->nknown].addr,
		    sizeof(v->known[v->nknown].addr), "%s", addr);
		v->known[v->nknown++].acct = acct;
	}
	if (r == -1)
		log_warn("account lookup of %s", addr);
	return r;
}

static int
is_virtual(void *arg, const char *domain)
{
	const struct virtual_ctx *v = arg;

	return config_is_virtual_domain(v->cfg, domain);
}

/* virtual_find - what is_account() learnt of addr, or NULL */
static const struct auth_account *
virtual_find(const struct virtual_ctx *v, const char *addr)
{
	size_t	 i;

	for (i = 0; i < v->nknown; i++)
		if (strcmp(v->known[i].addr, addr) == 0)
			return &v->known[i].acct;
	return NULL;
}

/*
 * virtual_path - the account's Maildir: its mailbox=, else
 * virtual_mailbox_path with %d and %u (lower case, checked); always a
 * directory (a trailing '/'), absolute, without "/../".
 */
static int
virtual_path(const struct config *cfg, const char *addr,
    const struct auth_account *acct, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');
	char	 local[VALIAS_ADDR_MAX], path[PATH_MAX];
	size_t	 n;

	if (acct->mailbox[0] != '\0')
		snprintf(path, sizeof(path), "%s", acct->mailbox);
	else {
		if (at == NULL || (n = (size_t)(at - addr)) >= sizeof(local))
			return -1;
		memcpy(local, addr, n);
		local[n] = '\0';
		if (mailbox_expand_path(cfg->virtual_mailbox_path, "", local,
		    at + 1, path, sizeof(path)) == -1 ||
		    strstr(cfg->virtual_mailbox_path, "%h") != NULL)
			return -1;
	}
	n = strlen(path);
	if (path[0] != '/' || strstr(path, "/../") != NULL ||
	    (n >= 3 && strcmp(path + n - 3, "/..") == 0) ||
	    (size_t)snprintf(out, outlen, "%s%s", path,
	    path[n - 1] == '/' ? "" : "/") >= outlen)
		return -1;
	return 0;
}

/*
 * virtual_mkdirs - the directories above the Maildir, as virtual_user,
 * below the first one that exists (mailbox.c makes the Maildir itself).
 */
static void
virtual_mkdirs(const char *dir)
{
	char	 path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return;		/* mailbox.c reports it */
		*p = '/';
	}
}

static void
virtual_account(const struct config *cfg, const struct virtual_ctx *v,
    const char *addr, const struct mailbox_msg *msg, int report)
{
	const struct auth_account *acct = virtual_find(v, addr);
	struct mailbox_result res;
	char	 dir[PATH_MAX];
	int	 st;

	if (acct == NULL) {
		local_job_record(report, LOCAL_RECORD_DONE, DELIVER_TEMPFAIL,
		    1, "4.3.0", "account lookup failed");
		return;
	}
	if (virtual_path(cfg, addr, acct, dir, sizeof(dir)) == -1) {
		local_job_record(report, LOCAL_RECORD_DONE, DELIVER_TEMPFAIL,
		    1, "4.3.0", "bad mailbox path (mailbox= or "
		    "virtual_mailbox_path)");
		return;
	}
	virtual_mkdirs(dir);
	st = mailbox_maildir_quota(msg, dir, acct->quota, &res);
	local_job_record(report, LOCAL_RECORD_DONE, st, 1, res.dsn,
	    res.reply);
}

void
local_virtual_deliver(const struct config *cfg, const struct local_job *job,
    const struct mailbox_msg *msg, int report, int auth_fd)
{
	struct virtual_ctx *v;
	struct valias_list *l;
	struct valias	*t;
	struct valias_cb cb;
	char		 err[512];
	size_t		 i;
	int		 rc;

	v = calloc(1, sizeof(*v));
	l = calloc(1, sizeof(*l));
	if (v == NULL || l == NULL) {
		local_job_record(report, LOCAL_RECORD_END, DELIVER_TEMPFAIL, 0,
		    "4.3.0", "out of memory");
		goto out;
	}
	if ((t = valias_open(cfg->virtual_aliases, err, sizeof(err))) ==
	    NULL) {
		log_warnx("virtual_aliases: %s", err);
		local_job_record(report, LOCAL_RECORD_END, DELIVER_TEMPFAIL, 0,
		    "4.3.0", "virtual_aliases cannot be read");
		goto out;
	}
	v->cfg = cfg;
	v->auth_fd = auth_fd;
	cb.is_account = is_account;
	cb.is_virtual = is_virtual;
	cb.arg = v;
	cb.delim = cfg->recipient_delimiter[0];
	rc = valias_expand(t, job->user, &cb, l);
	valias_free(t);
	if (rc != DELIVER_OK) {
		local_job_record(report, LOCAL_RECORD_END, rc, 0, l->dsn,
		    l->error);
		goto out;
	}
	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == VALIAS_ACCOUNT)
			virtual_account(cfg, v, l->v[i].addr, msg, report);
		else
			local_job_record(report, LOCAL_RECORD_TARGET,
			    DELIVER_OK, ALIAS_ADDRESS, "2.0.0", l->v[i].addr);
out:
	free(v);
	free(l);
}
