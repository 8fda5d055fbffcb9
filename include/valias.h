/* SPDX-License-Identifier: ISC */
/*
 * valias.h - the virtual_aliases table (Postfix's virtual(5)): which
 * addresses of the virtual domains go to which accounts or outside
 * addresses.
 *
 *	t = valias_open(path, err, errlen);	"" = no table (empty)
 *	valias_has(t, "info@example.org");	exact or catch-all entry?
 *	valias_expand(t, "info@example.org", &cb, &list);
 *	valias_free(t);
 *
 * Format, one entry per line, '#' comments, blank lines ignored; a line
 * that starts with a blank continues the entry above:
 *	info@example.org	bob@example.org, carol@example.org
 *	sales@example.org	bob@example.org boss@elsewhere.net
 *	@example.org		bob@example.org
 * The key is an address or "@domain" (the catch-all of that domain);
 * the targets, separated by commas or blanks, are addresses.  Keys and
 * targets are case-insensitive (kept in lower case); a key given twice
 * is an error.  Errors are "FILE:LINE: message".
 *
 * Expansion of an address of a virtual domain: its exact entry, else
 * the account of that name, else the domain's catch-all, else unknown
 * (5.1.1); with a recipient_delimiter, "bob+tag@example.org" that is
 * neither an entry nor an account is tried as "bob@example.org" (its
 * entry, its account) before the catch-all.  A target in a virtual domain is expanded again (at most
 * VALIAS_MAX_DEPTH deep, else 5.4.6); one that names its own key means
 * the account of that name (the "bob@x bob@x, copy@y" idiom); a target
 * of any other domain is an outside address.  Pure: whether an address
 * is an account, and whether a domain is virtual, are the caller's
 * callbacks.
 */
#ifndef TERN_VALIAS_H
#define TERN_VALIAS_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define VALIAS_MAX_DEPTH	10
#define VALIAS_MAX_TARGETS	100
#define VALIAS_LINE_MAX		4096
#define VALIAS_ADDR_MAX		512

enum valias_kind {
	VALIAS_ACCOUNT,		/* an account of a virtual domain */
	VALIAS_ADDRESS		/* any other address: forwarded */
};

struct valias_target {
	int	 kind;			/* enum valias_kind */
	char	 addr[VALIAS_ADDR_MAX];	/* lower case */
};

struct valias_list {
	struct valias_target v[VALIAS_MAX_TARGETS];
	size_t	 n;
	char	 dsn[16];		/* on failure */
	char	 error[256];
};

struct valias_cb {
	/* 1 an account, 0 not, -1 cannot tell now (4.3.0) */
	int	(*is_account)(void *arg, const char *addr);
	int	(*is_virtual)(void *arg, const char *domain);
	void	*arg;
	char	 delim;		/* recipient_delimiter, '\0' none */
};

struct valias;

struct valias *valias_load(FILE *, const char *name, char *err,
	    size_t errlen);
/* path "" is an empty table; a missing file is an error. */
struct valias *valias_open(const char *path, char *err, size_t errlen);
void	valias_free(struct valias *);
size_t	valias_count(const struct valias *);
/* The first key outside cfg's virtual domains (never used), or NULL. */
const char *valias_foreign_key(const struct valias *, const struct config *);
/* An exact entry for addr, or a catch-all for its domain: 1, else 0. */
int	valias_has(const struct valias *, const char *addr);
/* "bob+tag@example.org" without its extension ("bob@example.org"):
 * 0, or -1 when addr has none. */
int	valias_base(const char *addr, char delim, char *out, size_t outlen);
/* enum deliver_status; on failure list->dsn and list->error say why. */
int	valias_expand(const struct valias *, const char *addr,
	    const struct valias_cb *, struct valias_list *);
/*
 * valias_exists - for smtpd at RCPT time: valias_has() on
 * cfg->virtual_aliases, parsed once per process and re-read when the
 * file changes; -1 when it cannot be read (answer 4xx).
 */
int	valias_exists(const struct config *, const char *addr);

#endif
