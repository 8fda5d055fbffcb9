/* SPDX-License-Identifier: ISC */
/*
 * mailbox.h - write one message into a Maildir, an mbox file, or a
 * command's standard input.
 *
 * The message is read from the queue file with pread(2) on fileno(fp)
 * from msg->offset (the stream's position and buffer are not used, so
 * processes sharing the descriptor after fork() cannot disturb each
 * other); its CRLF line ends become LF.  Each writer prepends
 * "Return-Path: <sender>" and "Delivered-To: rcpt" and returns an enum
 * deliver_status with a DSN code and a reason in the result.  Callers
 * run these already as the target user; nothing here changes uid.
 */
#ifndef TERN_MAILBOX_H
#define TERN_MAILBOX_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define MAILBOX_LOCK_TIMEOUT	60	/* seconds for each lock */
#define MAILBOX_DOTLOCK_STALE	300	/* an older FILE.lock is removed */

struct mailbox_msg {
	FILE		*fp;		/* the queue file */
	off_t		 offset;	/* first message byte in fp */
	const char	*sender;	/* "" for the null sender */
	const char	*rcpt;		/* for Delivered-To: */
};

/* What a command sees in its environment (NULL = empty). */
struct mailbox_env {
	const char	*home;
	const char	*user;		/* also LOGNAME */
	const char	*shell;
	const char	*local;		/* the recipient's local part */
	const char	*extension;	/* after the recipient_delimiter */
	const char	*domain;
	const char	*config;	/* TERN_CONFIG for the command, or NULL */
};

struct mailbox_result {
	char	 dsn[16];		/* "2.0.0", "4.2.2", "5.3.0" */
	char	 reply[256];
};

int	mailbox_maildir(const struct mailbox_msg *, const char *dir,
	    struct mailbox_result *);
/* The same under a Maildir++ quota of quota bytes (maildirsize.h): a
 * message that does not fit is deferred, 4.2.2 "Mailbox full". */
int	mailbox_maildir_quota(const struct mailbox_msg *, const char *dir,
	    long long quota, struct mailbox_result *);
/* mbox: no symlink on the way (mailbox_open_safe), owned by the
 * process's uid with one link, or deferred; fcntl + dot lock; "file"
 * targets follow symlinks (they run as their user). */
int	mailbox_mbox(const struct mailbox_msg *, const char *path,
	    struct mailbox_result *);
int	mailbox_file(const struct mailbox_msg *, const char *path,
	    struct mailbox_result *);
/* /bin/sh -c command, killed with its process group after timeout s. */
int	mailbox_pipe(const struct mailbox_msg *, const char *command,
	    const struct mailbox_env *, int timeout, struct mailbox_result *);
/*
 * open(path, flags | O_NOFOLLOW) without following a symlink on the way
 * unless root owns it (/var/mail -> spool/mail): a user can only make
 * symlinks where he may write, and they are his.  ".." is refused.  A
 * symlink met is ELOOP.
 */
int	mailbox_open_safe(const char *path, int flags, mode_t mode);
/* As root: a missing mbox made (O_EXCL, safely) for its user. */
void	mailbox_mbox_create(const char *path, uid_t uid, gid_t gid);
/* mailbox_path: %h home, %u user, %d domain, %% percent; -1 if too long,
 * a bad '%', or user (or, with %d, domain) empty, ".", ".." or with '/'.  A result ending in '/' is a Maildir. */
int	mailbox_expand_path(const char *tmpl, const char *home,
	    const char *user, const char *domain, char *out, size_t outlen);

#endif
