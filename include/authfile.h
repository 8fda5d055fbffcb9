/* SPDX-License-Identifier: ISC */
/*
 * authfile.h - the password file of AUTH and POP3 (auth_users): one line
 * per user or mail account.
 *
 * Format: "user:crypt-hash" or "user:crypt-hash:fields" per line; '#'
 * (after optional blanks) starts a comment line; blank lines are
 * ignored.  A user name is 1 to AUTH_USER_MAX bytes without ':', blanks
 * or control bytes ("bob", or "bob@example.org" for an account of a
 * virtual domain); a hash is what crypt(3) writes ("$y$...", "$6$..."),
 * printable, without ':' or blanks; one that starts with '!' or '*'
 * locks the user (passwd(5)).  The fields, blank-separated, are
 * "quota=SIZE" (bytes, or with K, M, G; 0 none) and "mailbox=/abs/path/"
 * (the account's Maildir, instead of virtual_mailbox_path), each at
 * most once; a path has no blank, ':', control byte or "/../".
 * A user listed twice, or any other line, is an error
 * "FILE:LINE: message"; a message never quotes the line (it holds a hash).
 *
 * authfile_parse_line() is the one parser of a line, shared by the
 * loader and ternpasswd(8), which must keep every other line as it is.
 * authfile_load() reads a whole file into memory (the auth checker only);
 * authfile_free() wipes the hashes before it frees them.
 */
#ifndef TERN_AUTHFILE_H
#define TERN_AUTHFILE_H

#include <stddef.h>
#include <stdio.h>

#define AUTH_USER_MAX	255	/* bytes of a user name */
#define AUTH_PASS_MAX	1024	/* bytes of a password */
#define AUTH_HASH_MAX	383	/* CRYPT_OUTPUT_SIZE - 1 */
#define AUTH_LINE_MAX	1024	/* bytes of a line, newline excluded */

#define AUTH_PATH_MAX	1023	/* bytes of a mailbox= path */

struct authfile_line {
	const char	*user;		/* into the line, not NUL-ended */
	size_t		 userlen;
	const char	*hash;
	size_t		 hashlen;
	const char	*mailbox;	/* NULL: the configured path */
	size_t		 mailboxlen;
	long long	 quota;		/* bytes; 0: none */
};

/* What the file says of an account, without its hash. */
struct authfile_account {
	const char	*mailbox;	/* NULL: none given */
	long long	 quota;		/* bytes; 0: none */
};

/*
 * The line of len bytes (no newline): 1 an entry (*out points into line),
 * 0 blank or comment, -1 an error with *why set to a static message.
 */
int	authfile_parse_line(const char *line, size_t len,
	    struct authfile_line *out, const char **why);
/* A user name fit for the file (and for AUTH): 1 yes, 0 no. */
int	authfile_user_ok(const char *user, size_t len);

struct authfile;

/* Read fp (name is for messages); NULL with "name:line: why" in err. */
struct authfile *authfile_load(FILE *fp, const char *name, char *err,
	    size_t errlen);
/* The same from a path, for checks (ternd -n, tests). */
struct authfile *authfile_open(const char *path, char *err, size_t errlen);
/* user's hash, NULL when not listed; valid until authfile_free(). */
const char *authfile_hash(const struct authfile *, const char *user);
/* user's mailbox and quota: 0, or -1 when user is not listed. */
int	authfile_account(const struct authfile *, const char *user,
	    struct authfile_account *);
/* A hash to run crypt() on for an unknown user, costing what a real one does. */
const char *authfile_dummy(const struct authfile *);
size_t	authfile_count(const struct authfile *);
void	authfile_free(struct authfile *);

#endif
