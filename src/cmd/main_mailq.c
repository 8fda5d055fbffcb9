/* SPDX-License-Identifier: ISC */
/*
 * mailq - list the mail queue.
 *
 *	mailq [-C file] [-j | -s]
 *
 * The listing itself (the sendmail/Postfix layout, -j JSON lines, -s the
 * queue shape) is queuelist.c's.  A user who cannot read the spool (it
 * is 0700, owned by `user`) gets the same listing from the daemon: mailq
 * connects to submit_socket, sends "XMAILQ TEXT|JSON|SHAPE" and copies
 * the N octets announced by "250 2.0.0 N octets follow" to standard
 * output (smtp_mailq.c; the daemon checks mailq_users).  Exit status
 * from sysexits(3): 77 when neither the spool nor the daemon lists it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "priv.h"
#include "queuelist.h"
#include "queueview.h"
#include "submit.h"

#define DAEMON_TIMEOUT	300	/* seconds per read or write */

static const char *const mode_word[] = { "TEXT", "JSON", "SHAPE" };

static void
usage(void)
{
	fprintf(stderr, "usage: mailq [-C file] [-j | -s]\n");
	exit(EX_USAGE);
}

/* daemon_reply - one reply, its last line in line; its code, -1 */
static int
daemon_reply(FILE *in, char *line, size_t len)
{
	do {
		if (fgets(line, (int)len, in) == NULL)
			return -1;
		line[strcspn(line, "\r\n")] = '\0';
	} while (strlen(line) > 3 && line[3] == '-');
	if (strlen(line) < 3 || strspn(line, "0123456789") < 3)
		return -1;
	return atoi(line);
}

/* daemon_copy - the n octets of the listing to standard output */
static int
daemon_copy(FILE *in, long long n)
{
	char	 buf[16384];
	size_t	 got;

	while (n > 0 && (got = fread(buf, 1, n < (long long)sizeof(buf) ?
	    (size_t)n : sizeof(buf), in)) > 0) {
		fwrite(buf, 1, got, stdout);
		n -= (long long)got;
	}
	return n == 0 ? 0 : -1;
}

/* daemon_send - one command line, without SIGPIPE if the daemon left */
static void
daemon_send(int fd, const char *cmd)
{
	char	 line[64];
	int	 n = snprintf(line, sizeof(line), "%s\r\n", cmd);

	(void)send(fd, line, (size_t)n, MSG_NOSIGNAL);
}

/* daemon_refused - a reply other than the listing: say it, exit code */
static int
daemon_refused(int code, const char *line)
{
	if (code == -1) {
		fprintf(stderr, "mailq: lost connection to the daemon\n");
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "mailq: the daemon does not list the queue: %s\n",
	    line);
	if (code == 550)
		return EX_NOPERM;
	if (code == 250)
		return EX_PROTOCOL;
	return code / 100 == 4 ? EX_TEMPFAIL : EX_UNAVAILABLE;
}

/* ask_daemon - the listing made by ternd; -1 with errno if it is down */
static int
ask_daemon(const struct config *cfg, enum queuelist_mode mode)
{
	char		 line[1024], cmd[32];
	long long	 n = -1;
	FILE		*in;
	int		 fd, code, rc;

	if ((fd = submit_connect(cfg->submit_socket, DAEMON_TIMEOUT)) == -1)
		return -1;
	if ((in = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	if ((code = daemon_reply(in, line, sizeof(line))) == 220) {
		snprintf(cmd, sizeof(cmd), "XMAILQ %s", mode_word[mode]);
		daemon_send(fd, cmd);
		code = daemon_reply(in, line, sizeof(line));
	}
	if (code != 250 || sscanf(line, "250 2.0.0 %lld octets", &n) != 1 ||
	    n < 0)
		rc = daemon_refused(code, line);
	else if ((rc = daemon_copy(in, n)) == -1)
		rc = daemon_refused(-1, "");
	else {
		daemon_send(fd, "QUIT");
		daemon_reply(in, line, sizeof(line));
	}
	fclose(in);
	return rc;
}

/* list - the listing on standard output, or say clearly why not */
static int
list(const struct config *cfg, enum queuelist_mode mode)
{
	long	 cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int	 rc, save;

	/* one process per CPU reads and formats a long listing */
	if (queuelist_print(stdout, cfg->spool_dir, mode,
	    cpus > 0 ? (int)cpus : 1) == 0)
		return 0;
	if (errno == ENOMEM) {
		fprintf(stderr, "mailq: out of memory\n");
		return EX_OSERR;
	}
	if (errno != EACCES && errno != EPERM) {
		fprintf(stderr, "mailq: cannot read the queue at %s: %s\n",
		    cfg->spool_dir, strerror(errno));
		return errno == ENOENT ? EX_OSFILE : EX_IOERR;
	}
	save = errno;
	if ((rc = ask_daemon(cfg, mode)) != -1)
		return rc;
	fprintf(stderr, "mailq: cannot read the queue at %s: %s\n"
	    "mailq: and the daemon does not answer at %s: %s (is ternd "
	    "running?); run as root or as the user %s\n", cfg->spool_dir,
	    strerror(save), cfg->submit_socket, strerror(errno), cfg->user);
	return EX_NOPERM;
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
	/* as root, read the spool as its owner (tern(8), SECURITY MODEL) */
	if (priv_spool_owner(cfg.spool_dir) == -1) {
		fprintf(stderr, "mailq: cannot become the owner of %s: %s\n",
		    cfg.spool_dir, strerror(errno));
		config_free(&cfg);
		return EX_NOPERM;
	}
	/* big blocks: a listing of a million messages is some 300 MB */
	setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
	rc = list(&cfg, mode);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mailq: write error: %s\n", strerror(errno));
		rc = EX_IOERR;
	}
	config_free(&cfg);
	return rc;
}
