/* SPDX-License-Identifier: ISC */
/*
 * local_job.h - one privileged step of local delivery: the fixed-format
 * request the local agent (running as `user`) sends the master, and the
 * records the job's process (running as the target user) sends back.
 *
 *	agent:	local_job_send(master_sock, &job, message_fd, report_fd)
 *	master:	local_job_recv(sock, &job, fds); fork; in the child
 *		_exit(local_job_exec(cfg, &job, fds[0], fds[1]))
 *	agent:	read struct local_record until end of file or READY
 *	agent:	after READY, maybe local_job_next(report, &job2, message_fd)
 *		for the same kind, user and domain; read records again
 *
 * The report channel is a SOCK_SEQPACKET pair.  A USER or MAILBOX job's
 * process, having become its user, says READY after each job and takes
 * that user's next jobs from the agent (up to a limit, for a few
 * seconds of idleness), so one fork serves a user's mail across the
 * messages of one agent.  It refuses, by ending without a record, a
 * job for anyone else.
 *
 * The master parses nothing but this struct: every string must end
 * within its field.  local_job_exec() checks the job (a real user, a
 * local domain, placeholders without '/' or "..", the run-as user of
 * files, commands and includes is default_privs), derives the mailbox
 * from passwd and mailbox_path itself, and becomes the target user
 * before it reads a byte of the message, a .forward, an :include: or
 * a mailbox.  A VIRTUAL job (an address of a virtual domain) becomes
 * virtual_user, then asks the password checker for the account and
 * derives the Maildir from its answer or virtual_mailbox_path.
 */
#ifndef TERN_LOCAL_JOB_H
#define TERN_LOCAL_JOB_H

#include "aliases.h"
#include "config.h"
#include "envelope.h"

enum local_job_kind {
	LOCAL_JOB_USER,		/* ~user/.forward, else the mailbox */
	LOCAL_JOB_MAILBOX,	/* the mailbox only ("\user") */
	LOCAL_JOB_FILE,		/* value: path, as default_privs */
	LOCAL_JOB_PIPE,		/* value: command, as default_privs */
	LOCAL_JOB_INCLUDE,	/* value: :include: path, as default_privs */
	LOCAL_JOB_VIRTUAL	/* user: an address of a virtual domain,
				   as virtual_user (local_virtual.c) */
};

struct local_job {
	int		 kind;		/* enum local_job_kind */
	char		 user[256];	/* USER, MAILBOX: the recipient */
	char		 value[ALIAS_VALUE_MAX];
	char		 sender[ADDR_MAX];
	char		 rcpt[ADDR_MAX];	/* Delivered-To */
	char		 local[ADDR_MAX];	/* for commands' environment */
	char		 ext[ADDR_MAX];
	char		 domain[ADDR_MAX];
};

enum local_record_type {
	LOCAL_RECORD_DONE,	/* a target was delivered or failed */
	LOCAL_RECORD_TARGET,	/* a user or address for the agent */
	LOCAL_RECORD_END,	/* the job's own outcome (expansion) */
	LOCAL_RECORD_READY	/* this job is over; another may follow */
};

struct local_record {
	int	 type;		/* enum local_record_type */
	int	 status;	/* DONE, END: enum deliver_status */
	int	 kind;		/* TARGET: ALIAS_USER or ALIAS_ADDRESS;
				   DONE: 1 for the user's mailbox */
	int	 noforward;	/* TARGET: "\user" */
	char	 dsn[16];
	char	 text[ALIAS_VALUE_MAX];	/* reason, or the target */
};

int	local_job_send(int sock, const struct local_job *, int msg_fd,
	    int report_fd);
/* The next job of the same user to a process that said READY. */
int	local_job_next(int report_sock, const struct local_job *, int msg_fd);
/* 0 with fds[0] the message (no envelope) and fds[1] the report socket;
 * 1 at end of file; -1 on error (a malformed request is EBADMSG, fds
 * closed). */
int	local_job_recv(int sock, struct local_job *, int fds[2]);
/* In a fresh child (root or not): check, drop, do; an exit status. */
int	local_job_exec(const struct config *, const struct local_job *,
	    int msg_fd, int report_fd);
/* The checker's client end for LOCAL_JOB_VIRTUAL (the master sets it
 * in the job's process; -1, the default: lookups fail, 4.3.0). */
void	local_job_auth_fd(int fd);
/* Read one record; 1 got one, 0 end of file, -1 error or malformed. */
int	local_record_read(int fd, struct local_record *);

#endif
