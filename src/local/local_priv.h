/* SPDX-License-Identifier: ISC */
/*
 * local_priv.h - what the parts of the local delivery agent share; not
 * for use outside src/local*.c.
 *
 *	local.c		recipients, aliases, the jobs for users, files,
 *			commands and includes, the duplicate filter, the
 *			result lines (as `user`)
 *	local_job.c	one job, as its user: ~/.forward, mailbox, file,
 *			command, :include:
 *	local_virtual.c	a recipient of a virtual domain, as virtual_user:
 *			virtual_aliases, accounts, their Maildirs
 *	maildirsize.c	the Maildir++ quota file of an account
 *	local_inject.c	the forwarded copy: one new queue message for the
 *			remote targets of a recipient
 *	local_report.c	outcomes, tallies, log lines, local_fork(), a
 *			job's records, becoming a user: what the others
 *			share
 */
#ifndef TERN_LOCAL_PRIV_H
#define TERN_LOCAL_PRIV_H

#include <sys/types.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>

#include "aliases.h"
#include "config.h"
#include "delivery.h"
#include "envelope.h"
#include "local_job.h"
#include "mailbox.h"

struct dupfilter;

struct local_user {
	uid_t	 uid;
	gid_t	 gid;
	char	 name[256];
	char	 home[PATH_MAX];
	char	 shell[256];
};

/* A user's job process that said READY: it may take the next job. */
struct local_worker {
	int			 kind;		/* LOCAL_JOB_USER or _MAILBOX */
	char			 user[256];
	char			 domain[ADDR_MAX];
	int			 fd;		/* its report socket */
	pid_t			 pid;		/* ours to reap, or -1 */
};

#define LOCAL_WORKERS_MAX	8

/* One message at a time; its recipients are delivered one after the
 * other.  The aliases and the workers last for the agent's messages. */
struct local_ctx {
	const struct config	*cfg;
	const struct aliases	*al;
	const struct envelope	*env;		/* the queue runner's parse */
	FILE			*fp;
	off_t			 offset;	/* first message byte */
	const struct delivery_rcpt *rcpt;	/* the current recipient */
	char			 local[ADDR_MAX];	/* without extension */
	char			 ext[ADDR_MAX];
	char			 domain[ADDR_MAX];
	const struct alias_list	*list;		/* remote targets, for inject */
	const unsigned char	*fresh;		/* list->v[i] not yet forwarded */
	struct dupfilter	*dups;		/* targets done for this message */
	int			 master_sock;	/* jobs go here; -1: fork them */
	int			 body_fd;	/* the message alone, for jobs */
	struct local_worker	 workers[LOCAL_WORKERS_MAX];
	size_t			 nworkers;
};

/* What a child reports through its pipe. */
struct local_report {
	int			 status;
	struct mailbox_result	 res;
};

struct local_tally {
	int			 nok, ndefer, nfail;
	struct local_report	 defer, fail;
	char			 ok[512];
};

typedef void local_fn(struct local_ctx *, const struct alias_target *,
    const struct local_user *, struct local_report *);

/* local_report.c */
void	local_report_set(struct local_report *, int status, const char *dsn,
	    const char *reply);
int	local_user_spool(const struct local_ctx *, struct local_user *);
/* Run fn in a child as user u and read its report back. */
void	local_fork(struct local_ctx *, const struct alias_target *,
	    const struct local_user *, struct local_report *, local_fn *);
void	local_log(const struct local_ctx *, const char *to, int status,
	    const char *dsn, const char *reply);
void	local_tally(struct local_tally *, const struct local_report *);
void	local_dup_report(const struct local_report *seen,
	    struct local_report *);

/* local_report.c too: u from passwd (-1 for NULL); become u (checked);
 * one record on a job's report socket. */
int	local_job_fill(struct local_user *, const struct passwd *);
int	local_job_become(const struct local_user *);
/* Who a job runs as: name, never root nor `user` (nor default_privs
 * with not_privs), checked by uid; key names the setting in err. */
int	local_job_runas(const struct config *, const char *key,
	    const char *name, int not_privs, struct local_user *, char *err,
	    size_t errlen);

void	local_job_record(int report, int type, int status, int kind,
	    const char *dsn, const char *text);

/* local_virtual.c: LOCAL_JOB_VIRTUAL, checked as root, done as
 * virtual_user (the checker's client end in auth_fd). */
int	local_virtual_prepare(const struct config *, const struct local_job *,
	    struct local_user *, char *err, size_t errlen);
void	local_virtual_deliver(const struct config *, const struct local_job *,
	    const struct mailbox_msg *, int report, int auth_fd);

/* local_inject.c */
void	local_forward_copy(struct local_ctx *, const struct alias_list *,
	    struct local_tally *);

#endif
