/* SPDX-License-Identifier: ISC */
/*
 * aliases.h - the /etc/aliases table and the expansion of a local part
 * into delivery targets (users, addresses, files, commands).
 *
 *	al = aliases_load(path, err, errlen);	missing file = empty table
 *	al = aliases_load_config(cfg, err, errlen);	the configured file
 *	aliases_expand(al, cfg, "postmaster", &list);
 *	aliases_list_free(&list); aliases_free(al);
 *
 * aliases_check() is `newaliases`/`ternd -n`: "file:line: message".
 * aliases_exists() is for smtpd at RCPT time: parsed once per process,
 * re-read when the file's mtime, size or inode changes.
 */
#ifndef TERN_ALIASES_H
#define TERN_ALIASES_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define ALIASES_MAX_DEPTH	20
#define ALIASES_MAX_TARGETS	1000
#define ALIAS_VALUE_MAX		1024

enum alias_kind {
	ALIAS_USER,		/* local user: value = user name (lowercase) */
	ALIAS_ADDRESS,		/* remote: value = user@other.domain */
	ALIAS_FILE,		/* value = absolute path */
	ALIAS_PIPE,		/* value = command for /bin/sh -c */
	ALIAS_FORWARDED,	/* a user replaced by its ~/.forward (skip) */
	ALIAS_INCLUDE		/* value = :include: path, not yet read
				   (aliases_expand_local() only) */
};

struct alias_target {
	int	 kind;			/* enum alias_kind */
	int	 noforward;		/* "\user": the mailbox, no .forward */
	long	 owner;			/* uid of the file naming it, -1 = none */
	char	 value[ALIAS_VALUE_MAX];
};

struct alias_list {
	struct alias_target *v;		/* owned; aliases_list_free() */
	size_t	 n, cap;
	char	 dsn[16];		/* on failure: "5.4.6", "4.3.0" */
	char	 error[256];		/* on failure: the reason */
};

struct aliases;

/* NULL with "file:line: message" in err; a missing file is empty. */
struct aliases *aliases_load(const char *path, char *err, size_t errlen);
/* cfg->aliases: missing is empty only for the default path, not when
 * tern.conf names the file; aliases_missing_ok() tells that case. */
struct aliases *aliases_load_config(const struct config *, char *err,
	    size_t errlen);
int	aliases_missing_ok(const struct config *);
void	aliases_free(struct aliases *);
int	aliases_lookup(const struct aliases *, const char *name);
int	aliases_check(const char *path, char *err, size_t errlen);
/* 1 alias, 0 not (also without the recipient_delimiter extension),
 * -1 the table cannot be read (answer 4xx). */
int	aliases_exists(const struct config *, const char *localpart);

/*
 * Expand a local part (or, for a stream, a .forward file whose file
 * and command targets run as owner, and where the name self means that
 * user's mailbox) and append the targets to the list, without
 * duplicates.  Returns enum deliver_status; on
 * failure list->dsn and list->error say why.  cfg may be NULL; with it,
 * addresses in local_domains are expanded as local parts.
 */
int	aliases_expand(const struct aliases *, const struct config *,
	    const char *localpart, struct alias_list *);
/* The same, but an :include: is left in the list as ALIAS_INCLUDE, to
 * be read by another process (local_job.c) with aliases_expand_include(),
 * whose file and command targets run as owner. */
int	aliases_expand_local(const struct aliases *, const struct config *,
	    const char *localpart, struct alias_list *);
int	aliases_expand_include(const struct aliases *, const struct config *,
	    const char *path, long owner, struct alias_list *);
/* Lines of a .forward or :include: are at most ALIASES_LINE_MAX bytes;
 * an error names FILE:LINE, never the content. */
#define ALIASES_LINE_MAX	4096
int	aliases_expand_stream(const struct aliases *, const struct config *,
	    FILE *, const char *path, const char *self, long owner,
	    struct alias_list *);
/* Append t unless the list has it: DELIVER_OK, DELIVER_PERMFAIL when
 * full (ALIASES_MAX_TARGETS), DELIVER_TEMPFAIL out of memory. */
int	aliases_list_add(struct alias_list *, const struct alias_target *);
void	aliases_list_free(struct alias_list *);

#endif
