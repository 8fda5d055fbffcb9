/* SPDX-License-Identifier: ISC */
/*
 * smtp_mailq.c - XMAILQ, a tern extension on the submit socket: the
 * mailq listing for a local user who cannot read the spool (mode 0700,
 * owned by `user`), as Postfix's showq service answers postqueue.
 *
 *	C: XMAILQ [TEXT | JSON | SHAPE]
 *	S: 250 2.0.0 N octets follow
 *	S: <exactly N octets: the listing, as mailq prints it>
 *
 * or one reply line: 550 5.7.1 when mailq_users does not name the user,
 * 501 for a bad argument, 451 when the listing cannot be made.  It runs
 * in the smtpd process of a local session, as `user`, after the master
 * read the client's uid with SO_PEERCRED: the master parses nothing of it.
 * Root and the spool's owner (this process's uid) may always list; they
 * can read the spool themselves anyway.  The listing is made in an
 * unlinked temporary file first, so that its length is known before the
 * first octet is sent and a failure half-way is a reply, not a short
 * listing.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "iobuf.h"
#include "log.h"
#include "queuelist.h"
#include "smtp_mailq.h"

/* smtp_mailq_allowed - root, our own uid, or a user in mailq_users */
static int
smtp_mailq_allowed(const struct config *cfg, long uid, const char *name)
{
	size_t	 i;

	if (uid == 0 || (uid_t)uid == getuid())
		return 1;
	for (i = 0; i < cfg->mailq_users.n; i++)
		if (strcmp(cfg->mailq_users.v[i], "*") == 0 ||
		    (name != NULL && strcmp(cfg->mailq_users.v[i], name) == 0))
			return 1;
	return 0;
}

static int
smtp_mailq_mode(const char *args, enum queuelist_mode *mode)
{
	if (args[0] == '\0' || strcasecmp(args, "TEXT") == 0)
		*mode = QUEUELIST_TEXT;
	else if (strcasecmp(args, "JSON") == 0)
		*mode = QUEUELIST_JSON;
	else if (strcasecmp(args, "SHAPE") == 0)
		*mode = QUEUELIST_SHAPE;
	else
		return -1;
	return 0;
}

/* smtp_mailq_send - the reply, then the listing in fp, onto io */
static int
smtp_mailq_send(FILE *fp, struct iobuf *io)
{
	char	 buf[16384];
	off_t	 size;
	size_t	 n;

	if ((size = ftello(fp)) == -1 || fseeko(fp, 0, SEEK_SET) == -1 ||
	    iobuf_printf(io, "250 2.0.0 %lld octets follow\r\n",
	    (long long)size) == -1)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (iobuf_write(io, buf, n) == -1)
			return -1;
	return ferror(fp) ? -1 : 0;
}

int
smtp_mailq(const struct config *cfg, long uid, const char *args,
    struct iobuf *io, char *why, size_t whylen)
{
	enum queuelist_mode mode;
	struct passwd	*pw = getpwuid((uid_t)uid);
	const char	*name = pw ? pw->pw_name : NULL;
	FILE		*fp;
	int		 rc = -1;

	if (smtp_mailq_mode(args, &mode) == -1) {
		snprintf(why, whylen, "501 5.5.4 Syntax: XMAILQ [TEXT | JSON "
		    "| SHAPE]");
		return -1;
	}
	if (!smtp_mailq_allowed(cfg, uid, name)) {
		log_info("reject: XMAILQ from uid=%ld (%s): not in mailq_users",
		    uid, name ? name : "no user name");
		if (name != NULL)
			snprintf(why, whylen, "550 5.7.1 Queue listing not "
			    "allowed for user %s (mailq_users)", name);
		else
			snprintf(why, whylen, "550 5.7.1 Queue listing not "
			    "allowed for uid %ld (mailq_users)", uid);
		return -1;
	}
	if ((fp = tmpfile()) == NULL ||
	    queuelist_print(fp, cfg->spool_dir, mode, 1) == -1 ||
	    fflush(fp) == EOF) {
		snprintf(why, whylen, "451 4.3.0 Error: cannot list the queue: "
		    "%s", strerror(errno));
		log_warn("XMAILQ: cannot list the queue at %s", cfg->spool_dir);
		goto out;
	}
	if (smtp_mailq_send(fp, io) == -1) {
		log_warn("XMAILQ: cannot send the listing");
		why[0] = '\0';		/* the 250 may be out: only closing is safe */
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}
