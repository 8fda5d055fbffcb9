/* SPDX-License-Identifier: ISC */
/*
 * senderlogin.h - which envelope senders an authenticated user may use
 * (the sender_login file, or user@ each local domain without it).
 *
 * sender_login_owns(cfg, user, addr): 1 user may send as addr, 0 not,
 * -1 the file cannot be read or has a bad line (logged with FILE:LINE:
 * the caller answers with a temporary error).  addr is the reverse-path
 * as addr_parse_path() gives it ("local@domain", "" for <>).
 *
 * File: lines "user: item, item ..." where an item is "local@domain" or
 * "@domain"; items separated by commas or blanks; a user may have
 * several lines; '#' starts a comment line.  Rules:
 * - the null sender ("" or "<>") is owned by every user (bounces and
 *   receipts must go out; Postfix's reject_sender_login_mismatch allows
 *   it too);
 * - addresses are compared case-insensitively as a whole, as Postfix
 *   does, after the local part's quotes are removed; the user name is
 *   compared exactly (it is the login of auth_users);
 * - with recipient_delimiter set, "local+ext@domain" is also owned by
 *   whoever owns "local@domain";
 * - without the file, a user owns user@D for each local domain D, and a
 *   login that is itself an address in a local domain owns that address.
 * The file is read at each call (it is small and not secret, and an edit
 * then takes effect at once); nothing is cached.
 */
#ifndef TERN_SENDERLOGIN_H
#define TERN_SENDERLOGIN_H

#include <stddef.h>

#include "config.h"

int	sender_login_owns(const struct config *, const char *user,
	    const char *addr);
/* Check the whole file (ternd -n): 0, or -1 with "FILE:LINE: why". */
int	sender_login_check(const char *path, char *err, size_t errlen);

#endif
