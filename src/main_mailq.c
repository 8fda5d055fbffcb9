/* SPDX-License-Identifier: ISC */
/*
 * mailq - list the mail queue.
 *
 *	mailq [-C file] [-j | -s]
 *
 * Default: the sendmail/Postfix layout, one entry per message (oldest
 * first), '!' after the id of a held message, the undelivered recipients
 * with the last reason "(...)" above each deferred one, and a closing
 * "-- N Kbytes in M Requests." line.  -j: one JSON object per message and
 * line, in the spirit of `postqueue -j`.  -s: the queue shape (Postfix
 * qshape): messages per destination domain by age in minutes; a message
 * counts once per domain it still has recipients in, and once in TOTAL.
 * Exit status from sysexits(3): 77 when the spool is not readable.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "queueview.h"

#define SHAPE_NCOL	11	/* T, then the age buckets */

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
	int		 mode;		/* 't' text, 'j' JSON, 's' shape */
	long long	 bytes;
	long long	 count;
	struct shape	 shape;
};

static void
usage(void)
{
	fprintf(stderr, "usage: mailq [-C file] [-j | -s]\n");
	exit(EX_USAGE);
}

static void
print_reason(const char *reason)
{
	printf("%47s(", "");
	queueview_put_text(stdout, reason);
	printf(")\n");
}

/* print_text - one entry of the classic layout */
static int
print_text(const struct queueview_msg *m, void *arg)
{
	struct listing	*l = arg;
	const struct state_rcpt *r;
	const char	*last = "";
	char		 id[QUEUEID_LEN + 2], date[64];
	size_t		 i;

	if (l->count++ == 0)
		printf("-Queue ID-       --Size-- ----Arrival Time---- "
		    "-Sender/Recipient-------\n");
	if (m->error[0]) {
		printf("%-16s %8s %-20s (unreadable: ", m->id, "?", "");
		queueview_put_text(stdout, m->error);
		printf(")\n\n");
		return 0;
	}
	l->bytes += m->size;
	snprintf(id, sizeof(id), "%s%s", m->id, m->state.held ? "!" : "");
	if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S",
	    localtime(&m->env.arrival)) == 0)
		date[0] = '\0';
	printf("%-16s %8lld %-20s ", id, m->size, date);
	queueview_put_text(stdout, m->env.sender[0] ? m->env.sender :
	    "MAILER-DAEMON");
	putchar('\n');
	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queueview_rcpt_is_queued(m, i))
			continue;
		r = queueview_rcpt_state(m, i);
		if (r != NULL && r->reply[0] && strcmp(r->reply, last) != 0) {
			print_reason(r->reply);
			last = r->reply;
		}
		printf("%47s", "");
		queueview_put_text(stdout, m->env.rcpt[i].addr);
		putchar('\n');
	}
	putchar('\n');
	return 0;
}

static void
json_key(const char *key, const char *value, int comma)
{
	printf("\"%s\":", key);
	if (value == NULL)
		printf("null");
	else
		queueview_json_string(stdout, value);
	if (comma)
		putchar(',');
}

static void
json_rcpt(const struct queueview_msg *m, size_t i)
{
	const struct state_rcpt *r = queueview_rcpt_state(m, i);

	putchar('{');
	json_key("address", m->env.rcpt[i].addr, 1);
	json_key("state", r && r->state == RCPT_DEFERRED ? "deferred" :
	    "pending", 1);
	printf("\"attempts\":%d,", r ? r->attempts : 0);
	if (r && r->next_attempt)
		printf("\"next_attempt\":%lld,", (long long)r->next_attempt);
	else
		printf("\"next_attempt\":null,");
	json_key("dsn", r && r->dsn[0] ? r->dsn : NULL, 1);
	json_key("delay_reason", r && r->reply[0] ? r->reply : NULL, 0);
	putchar('}');
}

/* print_json - one line per message; fields after `postqueue -j` */
static int
print_json(const struct queueview_msg *m, void *arg)
{
	struct listing	*l = arg;
	size_t		 i, n = 0;

	l->count++;
	putchar('{');
	json_key("queue_id", m->id, 1);
	if (m->error[0]) {
		printf("\"unreadable\":true,");
		json_key("error", m->error, 0);
		printf("}\n");
		return 0;
	}
	printf("\"arrival_time\":%lld,\"message_size\":%lld,",
	    (long long)m->env.arrival, m->size);
	json_key("sender", m->env.sender, 1);
	printf("\"held\":%s,\"recipients\":[", m->state.held ? "true" :
	    "false");
	for (i = 0; i < m->env.nrcpt; i++) {
		if (!queueview_rcpt_is_queued(m, i))
			continue;
		if (n++)
			putchar(',');
		json_rcpt(m, i);
	}
	printf("]}\n");
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
			return EX_OSERR;
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
shape_print_row(const char *name, int namew, const long long *count,
    const int *w)
{
	int	 i, len = (int)strlen(name);

	if (len < namew)
		printf("%*s", namew - len, "");
	queueview_put_text(stdout, name);
	for (i = 0; i < SHAPE_NCOL; i++)
		printf(" %*lld", w[i], count[i]);
	putchar('\n');
}

static void
shape_print(struct shape *sh)
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
	printf("%*s", namew, "");
	for (i = 0; i < SHAPE_NCOL; i++)
		printf(" %*s", w[i], shape_label[i]);
	putchar('\n');
	shape_print_row("TOTAL", namew, sh->total.count, w);
	for (k = 0; k < sh->n; k++)
		shape_print_row(sh->rows[k].domain, namew,
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

/* scan - list the queue, or say clearly why it cannot be read */
static int
scan(const struct config *cfg, struct listing *l)
{
	queueview_fn	 fn;
	int		 rc;

	fn = l->mode == 'j' ? print_json : l->mode == 's' ? shape_add :
	    print_text;
	if ((rc = queueview_scan(cfg->spool_dir, fn, l)) == 0)
		return 0;
	if (rc > 0) {
		fprintf(stderr, "mailq: out of memory\n");
		return rc;
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
	struct listing	 l;
	const char	*conf = NULL;
	char		 err[512];
	int		 ch, rc;

	memset(&l, 0, sizeof(l));
	l.mode = 't';
	while ((ch = getopt(argc, argv, "C:js")) != -1) {
		switch (ch) {
		case 'C':
			conf = optarg;
			break;
		case 'j':
		case 's':
			l.mode = ch;
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
	l.shape.now = time(NULL);
	if ((rc = scan(&cfg, &l)) != 0)
		goto out;
	if (l.mode == 's')
		shape_print(&l.shape);
	else if (l.mode == 't' && l.count == 0)
		printf("Mail queue is empty\n");
	else if (l.mode == 't')
		printf("-- %lld Kbytes in %lld Request%s.\n",
		    (l.bytes + 1023) / 1024, l.count, l.count == 1 ? "" : "s");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mailq: write error: %s\n", strerror(errno));
		rc = EX_IOERR;
	}
out:
	shape_free(&l.shape);
	config_free(&cfg);
	return rc;
}
