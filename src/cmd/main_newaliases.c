/* SPDX-License-Identifier: ISC */
/*
 * newaliases - check the aliases file.
 *
 *	newaliases [-C file]
 *
 * tern reads the aliases file directly (smtpd and the queue runner
 * re-read it when it changes), so there is no database to rebuild: this
 * command only parses the file and reports "file:line: message" on
 * error (exit 65), or "newaliases: FILE: N aliases, ok".  A missing file
 * exits 66.  Exit status from sysexits(3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "queueview.h"

static void
usage(void)
{
	fprintf(stderr, "usage: newaliases [-C file]\n");
	exit(EX_USAGE);
}

/*
 * count_aliases - entries of a file already checked: lines that start a
 * definition (not blank, not a comment, not a continuation).
 */
static long
count_aliases(const char *path)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0;
	long	 n = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (getline(&line, &cap, fp) != -1)
		if (line[0] != '#' && line[0] != ' ' && line[0] != '\t' &&
		    line[0] != '\n' && line[0] != '\r' &&
		    strchr(line, ':') != NULL)
			n++;
	free(line);
	fclose(fp);
	return n;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	const char	*conf = NULL;
	char		 err[1024];
	int		 ch, rc = 0;
	long		 n;

	while ((ch = getopt(argc, argv, "C:")) != -1) {
		if (ch != 'C')
			usage();
		conf = optarg;
	}
	if (optind != argc)
		usage();
	if (queueview_config(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "newaliases: %s\n", err);
		return EX_CONFIG;
	}
	if (aliases_missing_ok(&cfg))
		printf("newaliases: %s does not exist: no aliases\n",
		    cfg.aliases);
	else if (access(cfg.aliases, R_OK) == -1) {
		fprintf(stderr, "newaliases: %s: %s\n", cfg.aliases,
		    strerror(errno));
		rc = errno == ENOENT ? EX_NOINPUT : EX_NOPERM;
	} else if (aliases_check(cfg.aliases, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		rc = EX_DATAERR;
	} else if ((n = count_aliases(cfg.aliases)) >= 0)
		printf("newaliases: %s: %ld alias%s, ok\n", cfg.aliases, n,
		    n == 1 ? "" : "es");
	config_free(&cfg);
	return rc;
}
