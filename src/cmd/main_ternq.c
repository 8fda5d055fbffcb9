/* SPDX-License-Identifier: ISC */
/*
 * ternq - queue administration: flush, show, delete, hold, release.
 *
 *	ternq [-C file] flush [ID | @domain]
 *	ternq [-C file] show ID
 *	ternq [-C file] delete ID ... | @domain | ALL
 *	ternq [-C file] hold ID ... | @domain | ALL
 *	ternq [-C file] release ID ... | @domain | ALL
 *
 * The queue runner is the single writer of the spool, so commands go to
 * it as lines on the trigger FIFO (protocol in queue.h).  When no runner
 * has the FIFO open (open() fails with ENXIO: the daemon is down) ternq
 * takes the runner's lock (spool_lock()), so that no runner starts
 * meanwhile, and does delete, hold and release itself, with the same
 * transitions the runner uses: delete unlinks the queue file, then the
 * state file; hold and release save the state file through statefile.c,
 * as the runner does.  A runner that is starting holds the lock before
 * it opens the FIFO, so ternq tries both again for up to 10 s.  A flush
 * without a runner is an error (exit 75).  Run as root, ternq first
 * becomes the owner of the spool, so files it writes stay readable to
 * the runner.  Exit status from sysexits(3).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "priv.h"
#include "queuefile.h"
#include "queueview.h"
#include "spool.h"
#include "statefile.h"

struct ternq {
	const char	*spool;
	const char	*verb;
	int		 fifo;		/* -1 until opened, -2: no runner */
	int		 lock;		/* the runner's lock, when it is down */
	int		 rc;
	size_t		 done;
	char		 hint[128];	/* after EACCES: who may do it */
};

/* what a direct action does to one message; returns a sysexits code */
typedef int (*action_fn)(struct ternq *, const char *id);

static void
usage(void)
{
	fprintf(stderr, "usage: ternq [-C file] flush [ID | @domain]\n"
	    "       ternq [-C file] show ID\n"
	    "       ternq [-C file] delete | hold | release "
	    "ID ... | @domain | ALL\n");
	exit(EX_USAGE);
}

static int
errno_exit(void)
{
	return errno == EACCES || errno == EPERM ? EX_NOPERM : EX_IOERR;
}

/* check_target - a queue id that exists, "@domain", or (if allowed) ALL */
static int
check_target(struct ternq *t, const char *arg, int allow_all)
{
	char	 path[PATH_MAX];
	size_t	 i;

	if (strcmp(arg, "ALL") == 0 && allow_all)
		return 0;
	if (arg[0] == '@' && allow_all) {
		for (i = 1; arg[i]; i++)
			if (!isalnum((unsigned char)arg[i]) &&
			    strchr(".-_[]:", arg[i]) == NULL &&
			    (unsigned char)arg[i] < 0x80)
				break;
		if (i > 1 && arg[i] == '\0' && i < 256)
			return 0;
		fprintf(stderr, "ternq: %s: not a domain\n", arg);
		return EX_USAGE;
	}
	if (!queueid_valid(arg)) {
		fprintf(stderr, "ternq: %s: not a queue id\n", arg);
		return EX_USAGE;
	}
	if (spool_path(t->spool, "queue", arg, path, sizeof(path)) == -1 ||
	    access(path, F_OK) == -1) {
		if (errno == ENOENT) {
			fprintf(stderr, "ternq: %s: no such message\n", arg);
			return EX_NOINPUT;
		}
		fprintf(stderr, "ternq: %s: %s%s\n", path, strerror(errno),
		    errno == EACCES ? t->hint : "");
		return errno_exit();
	}
	return 0;
}

/* fifo_open - 0 with t->fifo set, -2 when no runner reads it, or exit */
static int
fifo_open(struct ternq *t)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/trigger", t->spool);
	if ((t->fifo = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENXIO || errno == ENOENT)
			return t->fifo = -2;
		fprintf(stderr, "ternq: cannot write to the queue runner at "
		    "%s: %s%s\n", path, strerror(errno),
		    errno == EACCES ? t->hint : "");
		exit(errno_exit());
	}
	if (fstat(t->fifo, &sb) == -1 || !S_ISFIFO(sb.st_mode)) {
		fprintf(stderr, "ternq: %s: not a FIFO\n", path);
		exit(EX_CONFIG);
	}
	return 0;
}

/*
 * fifo_or_lock - the runner's FIFO, or when no runner reads it the
 * runner's lock: 0 with t->fifo open, -2 with t->lock held, or exit.
 */
static int
fifo_or_lock(struct ternq *t)
{
	char	 path[PATH_MAX];
	int	 tries;

	for (tries = 0; tries < 100; tries++) {
		if (fifo_open(t) == 0)
			return 0;
		if ((t->lock = spool_lock(t->spool, 0)) != -1)
			return -2;
		if (errno != EAGAIN) {
			snprintf(path, sizeof(path), "%s/lock", t->spool);
			fprintf(stderr, "ternq: cannot lock %s: %s%s\n", path,
			    strerror(errno), errno == EACCES ? t->hint : "");
			exit(errno_exit());
		}
		poll(NULL, 0, 100);	/* a runner is starting up */
	}
	fprintf(stderr, "ternq: the spool is locked, and no queue runner "
	    "reads %s/trigger\n", t->spool);
	exit(EX_TEMPFAIL);
}

/* fifo_send - one command line, waiting up to 10 s while the pipe is full */
static int
fifo_send(struct ternq *t, const char *arg)
{
	struct pollfd	 pfd = { t->fifo, POLLOUT, 0 };
	char		 line[512];
	int		 len, tries;
	ssize_t		 n = -1;

	len = snprintf(line, sizeof(line), "%s%s%s\n", t->verb, arg ? " " : "",
	    arg ? arg : "");
	if (len < 0 || len >= (int)sizeof(line) || len >= PIPE_BUF)
		return EX_SOFTWARE;
	for (tries = 0; tries < 10; tries++) {
		if ((n = write(t->fifo, line, len)) == len)
			break;
		if (n == -1 && errno != EAGAIN)
			break;
		poll(&pfd, 1, 1000);
	}
	if (n != len) {
		fprintf(stderr, "ternq: cannot write to the queue runner: %s\n",
		    n == -1 ? strerror(errno) : "short write");
		return EX_TEMPFAIL;
	}
	printf("%s: %s requested\n", arg ? arg : "queue", t->verb);
	return 0;
}

static int
direct_delete(struct ternq *t, const char *id)
{
	char	 path[PATH_MAX];

	if (spool_path(t->spool, "queue", id, path, sizeof(path)) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		goto fail;
	if (spool_path(t->spool, "state", id, path, sizeof(path)) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		goto fail;
	printf("%s: deleted\n", id);
	t->done++;
	return 0;
fail:
	fprintf(stderr, "ternq: %s: %s%s\n", path, strerror(errno),
	    errno == EACCES ? t->hint : "");
	return errno_exit();
}

/* direct_hold - set held to 1 (hold) or 0 (release) in the state file */
static int
direct_hold(struct ternq *t, const char *id)
{
	struct queueview_msg	 m;
	int			 held = strcmp(t->verb, "hold") == 0, rc = 0;

	if (queueview_load(t->spool, id, &m) == -1) {
		if (errno == ENOENT)
			return 0;	/* delivered meanwhile */
		fprintf(stderr, "ternq: %s: %s\n", id, strerror(errno));
		return errno_exit();
	}
	if (m.error[0]) {
		fprintf(stderr, "ternq: %s: unreadable: %s\n", id, m.error);
		rc = EX_DATAERR;
	} else if (m.state.held == held) {
		printf("%s: already %s\n", id, held ? "held" : "released");
	} else if ((!m.has_state && state_alloc(&m.state, id,
	    m.env.nrcpt) == -1) || (m.state.held = held,
	    statefile_save(t->spool, &m.state) == -1)) {
		fprintf(stderr, "ternq: %s: cannot write the state file: "
		    "%s%s\n", id, strerror(errno),
		    errno == EACCES ? t->hint : "");
		rc = errno_exit();
	} else {
		printf("%s: %s\n", id, held ? "held" : "released");
		t->done++;
	}
	queueview_free(&m);
	return rc;
}

struct selection {
	struct ternq	*t;
	const char	*domain;	/* NULL: every message */
	action_fn	 fn;
};

static int
has_domain(const struct queueview_msg *m, const char *domain)
{
	const char	*at;
	size_t		 i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (queueview_rcpt_is_queued(m, i) &&
		    (at = strrchr(m->env.rcpt[i].addr, '@')) != NULL &&
		    strcasecmp(at + 1, domain) == 0)
			return 1;
	return 0;
}

static int
select_one(const struct queueview_msg *m, void *arg)
{
	struct selection *s = arg;
	int		  rc;

	if (s->domain != NULL && (m->error[0] || !has_domain(m, s->domain)))
		return 0;
	if ((rc = s->fn(s->t, m->id)) != 0)
		s->t->rc = rc;
	return rc == EX_NOPERM ? rc : 0;
}

/* direct - the action on one id, or on every message of @domain / ALL */
static int
direct(struct ternq *t, const char *arg, action_fn fn)
{
	struct selection s = { t, NULL, fn };

	if (arg[0] != '@' && strcmp(arg, "ALL") != 0)
		return fn(t, arg);
	if (arg[0] == '@')
		s.domain = arg + 1;
	if (queueview_scan(t->spool, select_one, &s) == -1) {
		fprintf(stderr, "ternq: cannot read the queue at %s: %s%s\n",
		    t->spool, strerror(errno), errno == EACCES ? t->hint : "");
		return errno_exit();
	}
	return 0;
}

/* cmd_change - delete, hold, release: through the runner or directly */
static int
cmd_change(struct ternq *t, int argc, char **argv)
{
	action_fn fn = strcmp(t->verb, "delete") == 0 ? direct_delete :
	    direct_hold;
	int	 i, rc;

	if (argc < 1)
		usage();
	for (i = 0; i < argc; i++) {
		if ((argv[i][0] == '@' || strcmp(argv[i], "ALL") == 0) &&
		    argc > 1)
			usage();
		if ((rc = check_target(t, argv[i], 1)) != 0)
			return rc;
	}
	if (fifo_or_lock(t) == -2)
		fprintf(stderr, "ternq: queue runner not running; "
		    "changing the spool directly\n");
	for (i = 0; i < argc && t->rc != EX_NOPERM; i++) {
		rc = t->fifo >= 0 ? fifo_send(t, argv[i]) :
		    direct(t, argv[i], fn);
		if (rc != 0)
			t->rc = rc;
	}
	if (t->fifo < 0 && argc == 1 && (argv[0][0] == '@' ||
	    strcmp(argv[0], "ALL") == 0))
		printf("%zu message%s %s\n", t->done, t->done == 1 ? "" : "s",
		    strcmp(t->verb, "delete") == 0 ? "deleted" :
		    strcmp(t->verb, "hold") == 0 ? "held" : "released");
	return t->rc;
}

static int
cmd_flush(struct ternq *t, int argc, char **argv)
{
	int	 rc;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "ALL") == 0))
		usage();
	if (argc == 1 && (rc = check_target(t, argv[0], 1)) != 0)
		return rc;
	if (fifo_open(t) == -2) {
		fprintf(stderr, "ternq: queue runner not running "
		    "(is ternd running?)\n");
		return EX_TEMPFAIL;
	}
	return fifo_send(t, argc ? argv[0] : NULL);
}

/* copy_crlf - the rest of fp to standard output, CRLF as LF */
static void
copy_crlf(FILE *fp)
{
	int	 c, cr = 0;

	while ((c = getc(fp)) != EOF) {
		if (cr && c != '\n')
			putchar('\r');
		if (!(cr = (c == '\r')))
			putchar(c);
	}
	if (cr)
		putchar('\r');
}

/* show_text - "key: value", the value with control bytes escaped */
static void
show_text(const char *key, const char *value)
{
	printf("%s: ", key);
	queueview_put_escaped(stdout, value);
	putchar('\n');
}

/* put_xtext - a value kept in xtext, decoded, control bytes escaped */
static void
put_xtext(const char *xtext)
{
	char	 text[ADDR_MAX];

	if (xtext_decode(xtext, text, sizeof(text)) == -1)
		snprintf(text, sizeof(text), "%s", xtext);
	queueview_put_escaped(stdout, text);
	putchar('\n');
}

static void
show_time(const char *key, time_t when)
{
	char	 date[64];

	if (when == 0 || strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y",
	    localtime(&when)) == 0)
		printf("%s: %lld\n", key, (long long)when);
	else
		printf("%s: %s (%lld)\n", key, date, (long long)when);
}

/* show_envelope - the envelope decoded: addresses as they were given */
static void
show_envelope(const struct envelope *env)
{
	const struct envelope_rcpt *r;
	const char *semi;
	char	 notify[64];
	size_t	 i;

	printf("id: %s\n", env->id);
	show_time("arrival", env->arrival);
	show_text("client", env->client);
	show_text("helo", env->helo);
	printf("protocol: %s\n", env->protocol);
	if (env->uid >= 0)
		printf("uid: %ld\n", env->uid);
	show_text("sender", env->sender[0] ? env->sender : "<>");
	printf("body: %s\nsmtputf8: %s\n", env->body == BODY_8BITMIME ?
	    "8bitmime" : "7bit", env->smtputf8 ? "yes" : "no");
	if (env->ret != RET_UNSET)
		printf("ret: %s\n", env->ret == RET_FULL ? "full" : "hdrs");
	if (env->envid[0]) {
		printf("envid: ");
		put_xtext(env->envid);
	}
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		show_text("rcpt", r->addr);
		notify_format(r->notify, notify, sizeof(notify));
		if (notify[0])
			printf("    notify: %s\n", notify);
		if ((semi = strchr(r->orcpt, ';')) != NULL) {
			printf("    orcpt: %.*s", (int)(semi - r->orcpt + 1),
			    r->orcpt);
			put_xtext(semi + 1);
		}
	}
}

/* show_state - each recipient's state, its last reply decoded */
static void
show_state(const struct queueview_msg *m)
{
	const struct state_rcpt *r;
	size_t	 i;

	printf("held: %s\nwarned: %s\n", m->state.held ? "yes" : "no",
	    m->state.warned ? "yes" : "no");
	for (i = 0; i < m->state.nrcpt; i++) {
		r = &m->state.rcpt[i];
		show_text("rcpt", m->env.rcpt[i].addr);
		printf("    state: %s, %d attempt%s\n",
		    rcpt_state_name(r->state), r->attempts,
		    r->attempts == 1 ? "" : "s");
		if (r->last_attempt)
			show_time("    last attempt", r->last_attempt);
		if (r->next_attempt)
			show_time("    next attempt", r->next_attempt);
		if (r->dsn[0])
			printf("    dsn: %s\n", r->dsn);
		if (r->reply[0])
			show_text("    reply", r->reply);
	}
}

static int
cmd_show(struct ternq *t, int argc, char **argv)
{
	struct queueview_msg	 m;
	struct queuefile	 qf;
	char			 err[256];
	int			 rc;

	if (argc != 1)
		usage();
	if ((rc = check_target(t, argv[0], 0)) != 0)
		return rc;
	if (queueview_load(t->spool, argv[0], &m) == -1 ||
	    (rc = queuefile_view(t->spool, argv[0], &qf, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "ternq: %s: %s\n", argv[0], strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : errno_exit();
	}
	printf("*** ENVELOPE RECORDS %s ***\n", m.id);
	if (rc == 0)
		show_envelope(&qf.env);
	else
		show_text("unreadable", err);
	printf("*** STATE ***\n");
	if (m.has_state)
		show_state(&m);
	else if (m.error[0])
		show_text("unreadable", m.error);
	else
		printf("(no state file: every recipient pending, no attempt "
		    "yet)\n");
	printf("*** MESSAGE CONTENTS %s ***\n", m.id);
	copy_crlf(qf.fp);
	printf("*** END OF MESSAGE %s ***\n", m.id);
	queuefile_close(&qf);
	queueview_free(&m);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *verb;
		int	 (*fn)(struct ternq *, int, char **);
	} cmds[] = {
		{ "flush", cmd_flush }, { "show", cmd_show },
		{ "delete", cmd_change }, { "hold", cmd_change },
		{ "release", cmd_change },
	};
	struct ternq	 t = { NULL, NULL, -1, -1, 0, 0, "" };
	struct config	 cfg;
	const char	*conf = NULL;
	char		 err[512];
	size_t		 i;
	int		 ch, rc;

	while ((ch = getopt(argc, argv, "+C:")) != -1) {
		if (ch != 'C')
			usage();
		conf = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].verb) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		usage();
	if (queueview_config(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternq: %s\n", err);
		return EX_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	t.spool = cfg.spool_dir;
	snprintf(t.hint, sizeof(t.hint), " (run as root or as the user %s)",
	    cfg.user);
	t.verb = cmds[i].verb;
	if (priv_spool_owner(t.spool) == -1) {
		fprintf(stderr, "ternq: cannot become the owner of %s: %s\n",
		    t.spool, strerror(errno));
		rc = EX_NOPERM;
	} else
		rc = cmds[i].fn(&t, argc - 1, argv + 1);
	if (t.fifo >= 0)
		close(t.fifo);
	if (t.lock >= 0)
		close(t.lock);
	if (fflush(stdout) == EOF && rc == 0)
		rc = EX_IOERR;
	config_free(&cfg);
	return rc;
}
