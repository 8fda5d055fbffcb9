/* SPDX-License-Identifier: ISC */
/*
 * mailq - list the mail queue.
 *
 *	mailq [-C file] [-j | -s]
 *
 * The listing itself (the sendmail/Postfix layout, -j JSON lines, -s the
 * queue shape) is queuelist.c's.  Exit status from sysexits(3): 77 when
 * the spool is not readable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "queuelist.h"
#include "queueview.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mailq [-C file] [-j | -s]\n");
	exit(EX_USAGE);
}

/* list - the listing on standard output, or say clearly why not */
static int
list(const struct config *cfg, enum queuelist_mode mode)
{
	if (queuelist_print(stdout, cfg->spool_dir, mode) == 0)
		return 0;
	if (errno == ENOMEM) {
		fprintf(stderr, "mailq: out of memory\n");
		return EX_OSERR;
	}
	fprintf(stderr, "mailq: cannot read the queue at %s: %s%s\n",
	    cfg->spool_dir, strerror(errno), errno == EACCES ?
	    " (run as root or the tern user)" : "");
	if (errno == EACCES || errno == EPERM)
		return EX_NOPERM;
	return errno == ENOENT ? EX_OSFILE : EX_IOERR;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	enum queuelist_mode mode = QUEUELIST_TEXT;
	const char	*conf = NULL;
	char		 err[512];
	int		 ch, rc;

	while ((ch = getopt(argc, argv, "C:js")) != -1) {
		switch (ch) {
		case 'C':
			conf = optarg;
			break;
		case 'j':
			mode = QUEUELIST_JSON;
			break;
		case 's':
			mode = QUEUELIST_SHAPE;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (queueview_config(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "mailq: %s\n", err);
		return EX_CONFIG;
	}
	rc = list(&cfg, mode);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mailq: write error: %s\n", strerror(errno));
		rc = EX_IOERR;
	}
	config_free(&cfg);
	return rc;
}
