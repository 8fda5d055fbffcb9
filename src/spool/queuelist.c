/* SPDX-License-Identifier: ISC */
/*
 * queuelist.c - the mailq listing of a spool, written to a stream.
 *
 *	queuelist_print(fp, spool_dir, mode, procs)
 *
 * QUEUELIST_TEXT: the sendmail/Postfix layout, one entry per message
 * (oldest first), '!' after the id of a held message, the undelivered
 * recipients with the last reason "(...)" above each deferred one, and a
 * closing "-- N Kbytes in M Requests." line.  QUEUELIST_JSON: one JSON
 * object per message and line, in the spirit of `postqueue -j`.
 * QUEUELIST_SHAPE: the queue shape (Postfix qshape): messages per
 * destination domain by age in minutes; a message counts once per domain
 * it still has recipients in, and once in TOTAL.
 *
 * A destination the queue runner backs off from (spool/throttle,
 * throttlefile.c) is named in both listings: in JSON, each recipient of
 * it has "throttled_until" and "throttle_reason"; in text, a line
 * "-- destination D throttled until DATE (REASON)" before the total.
 *
 * mailq prints it on its standard output, and the smtpd process answering
 * a local user's XMAILQ sends the same bytes, so both paths agree.
 *
 * A long listing is split over processes (mailq asks for one per CPU,
 * up to four): after the sorted list of ids, runs of RUN_IDS queue ids
 * go round the processes, each child formats its runs into memory and
 * sends each on its pipe as a struct run_head and the bytes, and the
 * parent writes its own runs and copies the children's in order, so the
 * output is the same bytes as one process's, and still streams.  Reading
 * a message is some system calls and a parse; with two CPUs a million
 * are listed in half the time.
 *
 * Every spool string goes through queueview_put_text() or
 * queueview_json_string(): no line of the listing holds a control byte.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "fdpass.h"
#include "queuelist.h"
#include "queueview.h"
#include "throttlefile.h"

#define SHAPE_NCOL	11	/* T, then the age buckets */
#define RUN_IDS		2048	/* messages a run of a split listing */
#define MAX_PROCS	4

static const char *const shape_label[SHAPE_NCOL] = {
	"T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"
};

struct shape_row {
	char		*domain;
	unsigned long	 last;		/* serial of the last message counted */
	long long	 count[SHAPE_NCOL];
};

struct shape {
	struct shape_row *rows;
	size_t		  n, cap;
	size_t		 *slot;		/* hash: row index + 1, 0 = empty */
	size_t		  nslot;
	struct shape_row  total;
	unsigned long	  serial;
	time_t		  now;
};

struct listing {
	FILE		*fp;
	long long	 bytes;
	long long	 count;
	int		 child;		/* a split listing's child: no header */
	struct shape	 shape;
	struct throttle_entry *thr;	/* back-offs not yet over */
	size_t		 nthr;
};

/* rcpt_throttle - the back-off of addr's domain, or NULL */
static const struct throttle_entry *
rcpt_throttle(const struct listing *l, const char *addr)
{
	const char *at = strrchr(addr, '@');

	return l->nthr == 0 || at == NULL ? NULL :
	    throttlefile_find(l->thr, l->nthr, at + 1);
}

/* throttle_load - spool/throttle's entries that have not ended */
static void
throttle_load(struct listing *l, const char *spool_dir)
{
	time_t	 now = time(NULL);
	size_t	 i, n;

	if (throttlefile_read(spool_dir, &l->thr, &n) == -1)
		return;
	for (i = 0; i < n; i++)
		if (l->thr[i].until > now)
			l->thr[l->nthr++] = l->thr[i];
}

static void
throttle_print(FILE *fp, const struct listing *l)
{
	char	 date[64];
	size_t	 i;

	for (i = 0; i < l->nthr; i++) {
		if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S",
		    localtime(&l->thr[i].until)) == 0)
			date[0] = '\0';
		fprintf(fp, "-- destination ");
		queueview_put_text(fp, l->thr[i].dest);
		fprintf(fp, " throttled until %s (", date);
		queueview_put_text(fp, l->thr[i].reason);
		fprintf(fp, ")\n");
	}
}

static void
print_reason(FILE *fp, const char *reason)
{
	fprintf(fp, "%47s(", "");
	queueview_put_text(fp, reason);
	fprintf(fp, ")\n");
}

static void
text_header(FILE *fp)
{
	fprintf(fp, "-Queue ID-       --Size-- ----Arrival Time---- "
	    "-Sender/Recipient-------\n");
}

/* print_text - one entry of the classic layout */
static int
print_text(const struct queueview_msg *m, void *arg)
{
	struct listing	*l = arg;
	FILE		*fp = l->fp;
	const struct state_rcpt *r;
	const char	*last = "";
	char		 id[QUEUEID_LEN + 2], date[64];
	struct tm	 tm;
	size_t		 i;

	if (l->count++ == 0 && !l->child)
		text_header(fp);
	if (m->error[0]) {
		fprintf(fp, "%-16s %8s %-20s (unreadable: ", m->id, "?", "");
		queueview_put_text(fp, m->error);
		fprintf(fp, ")\n\n");
		return 0;
	}
	l->bytes += m->size;
	snprintf(id, sizeof(id), "%s%s", m->id, m->state.held ? "!" : "");
	if (localtime_r(&m->env.arrival, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		date[0] = '\0';
	fprintf(fp, "%-16s %8lld %-20s ", id, m->size, date);
	queueview_put_text(fp, m->env.sender[0] ? m->env.sender :
	    "MAILER-DAEMON");
	putc('\n', fp);
	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queueview_rcpt_is_queued(m, i))
			continue;
		r = queueview_rcpt_state(m, i);
		if (r != NULL && r->reply[0] && strcmp(r->reply, last) != 0) {
			print_reason(fp, r->reply);
			last = r->reply;
		}
		fprintf(fp, "%47s", "");
		queueview_put_text(fp, m->env.rcpt[i].addr);
		putc('\n', fp);
	}
	putc('\n', fp);
	return 0;
}

/* the keys and numbers of a million lines: no printf() format to parse */
static void
json_name(FILE *fp, const char *key)
{
	putc('"', fp);
	fputs(key, fp);
	fputs("\":", fp);
}

static void
json_key(FILE *fp, const char *key, const char *value, int comma)
{
	json_name(fp, key);
	if (value == NULL)
		fputs("null", fp);
	else
		queueview_json_string(fp, value);
	if (comma)
		putc(',', fp);
}

/* json_num - "key":v, (v >= 0, or null when v is -1) */
static void
json_num(FILE *fp, const char *key, long long v)
{
	char	 buf[24], *p = buf + sizeof(buf);

	json_name(fp, key);
	if (v < 0) {
		fputs("null,", fp);
		return;
	}
	*--p = ',';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), fp);
}

static void
json_rcpt(const struct listing *l, const struct queueview_msg *m, size_t i)
{
	const struct state_rcpt *r = queueview_rcpt_state(m, i);
	const struct throttle_entry *t = rcpt_throttle(l, m->env.rcpt[i].addr);
	FILE	*fp = l->fp;

	putc('{', fp);
	json_key(fp, "address", m->env.rcpt[i].addr, 1);
	json_key(fp, "state", r && r->state == RCPT_DEFERRED ? "deferred" :
	    "pending", 1);
	json_num(fp, "attempts", r && r->attempts > 0 ? r->attempts : 0);
	json_num(fp, "next_attempt", r && r->next_attempt > 0 ?
	    (long long)r->next_attempt : -1);
	if (t != NULL) {
		json_num(fp, "throttled_until", t->until > 0 ?
		    (long long)t->until : 0);
		json_key(fp, "throttle_reason", t->reason, 1);
	}
	json_key(fp, "dsn", r && r->dsn[0] ? r->dsn : NULL, 1);
	json_key(fp, "delay_reason", r && r->reply[0] ? r->reply : NULL, 0);
	putc('}', fp);
}

/* print_json - one line per message; fields after `postqueue -j` */
static int
print_json(const struct queueview_msg *m, void *arg)
{
	struct listing	*l = arg;
	FILE		*fp = l->fp;
	size_t		 i, n = 0;

	l->count++;
	putc('{', fp);
	json_key(fp, "queue_id", m->id, 1);
	if (m->error[0]) {
		fputs("\"unreadable\":true,", fp);
		json_key(fp, "error", m->error, 0);
		fputs("}\n", fp);
		return 0;
	}
	json_num(fp, "arrival_time", m->env.arrival > 0 ?
	    (long long)m->env.arrival : 0);
	json_num(fp, "message_size", m->size);
	json_key(fp, "sender", m->env.sender, 1);
	fputs(m->state.held ? "\"held\":true,\"recipients\":[" :
	    "\"held\":false,\"recipients\":[", fp);
	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queueview_rcpt_is_queued(m, i))
			continue;
		if (n++)
			putc(',', fp);
		json_rcpt(l, m, i);
	}
	fputs("]}\n", fp);
	return 0;
}

static size_t
shape_hash(const char *s)
{
	size_t	 h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static int
shape_grow(struct shape *sh)
{
	size_t	 i, j, nslot = sh->nslot ? sh->nslot * 2 : 1024;
	size_t	*slot;
	void	*rows;

	if ((rows = reallocarray(sh->rows, nslot / 2, sizeof(*sh->rows)))
	    == NULL || (slot = calloc(nslot, sizeof(*slot))) == NULL) {
		if (rows)
			sh->rows = rows;
		return -1;
	}
	sh->rows = rows;
	sh->cap = nslot / 2;
	for (i = 0; i < sh->n; i++) {
		j = shape_hash(sh->rows[i].domain) & (nslot - 1);
		while (slot[j])
			j = (j + 1) & (nslot - 1);
		slot[j] = i + 1;
	}
	free(sh->slot);
	sh->slot = slot;
	sh->nslot = nslot;
	return 0;
}

/* shape_row - the row of a (lowercased) domain, made on first use */
static struct shape_row *
shape_row(struct shape *sh, const char *domain)
{
	struct shape_row *r;
	size_t		  j;

	if (sh->n == sh->cap && shape_grow(sh) == -1)
		return NULL;
	j = shape_hash(domain) & (sh->nslot - 1);
	for (; sh->slot[j]; j = (j + 1) & (sh->nslot - 1))
		if (strcmp(sh->rows[sh->slot[j] - 1].domain, domain) == 0)
			return &sh->rows[sh->slot[j] - 1];
	r = &sh->rows[sh->n];
	memset(r, 0, sizeof(*r));
	if ((r->domain = strdup(domain)) == NULL)
		return NULL;
	sh->slot[j] = ++sh->n;
	return r;
}

static int
shape_bucket(time_t now, time_t arrival)
{
	static const long long limit[] = { 5, 10, 20, 40, 80, 160, 320, 640,
	    1280 };
	long long minutes = now > arrival ? (now - arrival) / 60 : 0;
	int	 i;

	for (i = 0; i < 9; i++)
		if (minutes < limit[i])
			return i + 1;
	return 10;
}

static void
shape_count(struct shape_row *r, unsigned long serial, int bucket)
{
	if (r->last == serial)
		return;
	r->last = serial;
	r->count[0]++;
	r->count[bucket]++;
}

static int
shape_add(const struct queueview_msg *m, void *arg)
{
	struct shape	*sh = &((struct listing *)arg)->shape;
	struct shape_row *r;
	char		 domain[ADDR_MAX];
	const char	*at;
	size_t		 i, k;
	int		 bucket;

	if (m->error[0])
		return 0;
	sh->serial++;
	bucket = shape_bucket(sh->now, m->env.arrival);
	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queueview_rcpt_is_queued(m, i))
			continue;
		at = strrchr(m->env.rcpt[i].addr, '@');
		snprintf(domain, sizeof(domain), "%s", at ? at + 1 : "(local)");
		for (k = 0; domain[k]; k++)
			if (domain[k] >= 'A' && domain[k] <= 'Z')
				domain[k] += 'a' - 'A';
		if ((r = shape_row(sh, domain)) == NULL)
			return -1;
		shape_count(r, sh->serial, bucket);
		shape_count(&sh->total, sh->serial, bucket);
	}
	return 0;
}

static int
shape_cmp(const void *a, const void *b)
{
	const struct shape_row *x = a, *y = b;

	if (x->count[0] != y->count[0])
		return x->count[0] > y->count[0] ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static void
shape_print_row(FILE *fp, const char *name, int namew,
    const long long *count, const int *w)
{
	int	 i, len = (int)strlen(name);

	if (len < namew)
		fprintf(fp, "%*s", namew - len, "");
	queueview_put_text(fp, name);
	for (i = 0; i < SHAPE_NCOL; i++)
		fprintf(fp, " %*lld", w[i], count[i]);
	putc('\n', fp);
}

static void
shape_print(FILE *fp, struct shape *sh)
{
	int	 w[SHAPE_NCOL], namew = 5, i, len;
	size_t	 k;
	char	 num[32];

	qsort(sh->rows, sh->n, sizeof(*sh->rows), shape_cmp);
	for (k = 0; k < sh->n; k++)
		if ((len = (int)strlen(sh->rows[k].domain)) > namew)
			namew = len > 50 ? 50 : len;
	for (i = 0; i < SHAPE_NCOL; i++) {
		w[i] = snprintf(num, sizeof(num), "%lld", sh->total.count[i]);
		if ((len = (int)strlen(shape_label[i])) > w[i])
			w[i] = len;
	}
	fprintf(fp, "%*s", namew, "");
	for (i = 0; i < SHAPE_NCOL; i++)
		fprintf(fp, " %*s", w[i], shape_label[i]);
	putc('\n', fp);
	shape_print_row(fp, "TOTAL", namew, sh->total.count, w);
	for (k = 0; k < sh->n; k++)
		shape_print_row(fp, sh->rows[k].domain, namew,
		    sh->rows[k].count, w);
}

static void
shape_free(struct shape *sh)
{
	size_t	 k;

	for (k = 0; k < sh->n; k++)
		free(sh->rows[k].domain);
	free(sh->rows);
	free(sh->slot);
}


/* One run of a split listing on a child's pipe: this, then len bytes. */
struct run_head {
	size_t		 len;
	long long	 count, bytes;
	int		 error;		/* errno of a run that failed */
};

/* run - the messages of run k through fn */
static int
run(struct queueview *qv, size_t k, queueview_fn fn, struct listing *l)
{
	return queueview_run(qv, k * RUN_IDS, (k + 1) * RUN_IDS, fn, l);
}

/*
 * split_child - runs k, k + nproc, ..., each formatted and then sent.
 * One memory stream holds each run in turn: rewound, it keeps its buffer
 * (and its size is then that of the run, POSIX open_memstream()).
 */
static void
split_child(int fd, struct queueview *qv, size_t k, size_t nproc,
    queueview_fn fn, struct listing *l)
{
	struct run_head	 h;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*mf;

	l->child = 1;
	if ((mf = open_memstream(&buf, &len)) == NULL)
		_exit(1);
	l->fp = mf;
	for (; k * RUN_IDS < queueview_count(qv); k += nproc) {
		memset(&h, 0, sizeof(h));
		l->count = l->bytes = 0;
		errno = 0;
		if (fseeko(mf, 0, SEEK_SET) == -1)
			h.error = errno;
		else if (run(qv, k, fn, l) != 0)
			h.error = errno ? errno : ENOMEM;
		else if (fflush(mf) == EOF)
			h.error = errno;
		else {
			h.len = len;
			h.count = l->count;
			h.bytes = l->bytes;
		}
		if (fd_full(fd, &h, sizeof(h), 1) == -1 ||
		    fd_full(fd, buf, h.len, 1) == -1 || h.error)
			_exit(1);
	}
	_exit(0);
}

/* copy_run - a child's next run onto l->fp, its counts into l's */
static int
copy_run(int fd, struct listing *l, enum queuelist_mode mode)
{
	struct run_head	 h;
	char		 buf[65536];
	size_t		 n;

	if (fd_full(fd, &h, sizeof(h), 0) == -1)
		return -1;
	if (h.error) {
		errno = h.error;
		return -1;
	}
	if (mode == QUEUELIST_TEXT && l->count == 0 && h.count > 0)
		text_header(l->fp);
	l->count += h.count;
	l->bytes += h.bytes;
	for (; h.len > 0; h.len -= n) {
		n = h.len < sizeof(buf) ? h.len : sizeof(buf);
		if (fd_full(fd, buf, n, 0) == -1)
			return -1;
		fwrite(buf, 1, n, l->fp);	/* errors stay in fp */
	}
	return 0;
}

/*
 * print_split - qv's listing over nproc processes: run k is the parent's
 * when k % nproc is 0 (or names a child that could not be made), else
 * that child's.  Every child is waited for.
 */
static int
print_split(struct queueview *qv, size_t nproc, queueview_fn fn,
    struct listing *l, enum queuelist_mode mode)
{
	pid_t	 pid[MAX_PROCS];
	int	 fd[MAX_PROCS], p[2], rc = 0, save;
	size_t	 i, j, k, made = 1;

	for (i = 1; i < nproc; i++, made++) {
		if (pipe(p) == -1)
			break;
		if ((pid[i] = fork()) == -1) {
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid[i] == 0) {
			close(p[0]);
			for (j = 1; j < i; j++)
				close(fd[j]);
			split_child(p[1], qv, i, nproc, fn, l);
		}
		close(p[1]);
		fd[i] = p[0];
	}
	for (k = 0; rc == 0 && k * RUN_IDS < queueview_count(qv); k++) {
		i = k % nproc;
		rc = i == 0 || i >= made ? run(qv, k, fn, l) :
		    copy_run(fd[i], l, mode);
	}
	save = errno;
	for (i = 1; i < made; i++) {
		close(fd[i]);
		if (rc != 0)
			kill(pid[i], SIGTERM);
		while (waitpid(pid[i], NULL, 0) == -1 && errno == EINTR)
			;
	}
	errno = save;
	return rc;
}

int
queuelist_print(FILE *fp, const char *spool_dir, enum queuelist_mode mode,
    int procs)
{
	struct listing	 l;
	struct queueview *qv;
	queueview_fn	 fn;
	size_t		 n, nproc;
	int		 rc, save;

	memset(&l, 0, sizeof(l));
	tzset();		/* once: localtime_r() need not look again */
	l.fp = fp;
	l.shape.now = time(NULL);
	fn = mode == QUEUELIST_JSON ? print_json : mode == QUEUELIST_SHAPE ?
	    shape_add : print_text;
	throttle_load(&l, spool_dir);
	/* oldest first, but the shape does not depend on the order */
	if (mode == QUEUELIST_SHAPE)
		rc = queueview_walk(spool_dir, fn, &l);
	else if ((qv = queueview_open(spool_dir)) == NULL)
		rc = -1;
	else {
		n = queueview_count(qv);
		nproc = procs < 1 ? 1 : procs > MAX_PROCS ? MAX_PROCS :
		    (size_t)procs;
		if (nproc > (n + RUN_IDS - 1) / RUN_IDS)
			nproc = (n + RUN_IDS - 1) / RUN_IDS;
		errno = 0;
		rc = nproc > 1 ? print_split(qv, nproc, fn, &l, mode) :
		    queueview_run(qv, 0, n, fn, &l);
		save = errno;
		queueview_close(qv);
		errno = save;
	}
	if (rc != 0) {
		save = rc > 0 || errno == 0 ? ENOMEM : errno;
		shape_free(&l.shape);
		free(l.thr);
		errno = save;
		return -1;
	}
	if (mode == QUEUELIST_TEXT)
		throttle_print(fp, &l);
	if (mode == QUEUELIST_SHAPE)
		shape_print(fp, &l.shape);
	else if (mode == QUEUELIST_TEXT && l.count == 0)
		fprintf(fp, "Mail queue is empty\n");
	else if (mode == QUEUELIST_TEXT)
		fprintf(fp, "-- %lld Kbytes in %lld Request%s.\n",
		    (l.bytes + 1023) / 1024, l.count, l.count == 1 ? "" : "s");
	shape_free(&l.shape);
	free(l.thr);
	return 0;
}
