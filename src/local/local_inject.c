/* SPDX-License-Identifier: ISC */
/*
 * local_inject.c - the forwarded copy of the local delivery agent: the
 * remote addresses a recipient expands to (aliases, ~/.forward) get the
 * message as one new queue message with the same sender, written by a
 * child running as `user`, with "Delivered-To: rcpt" on top.
 *
 * An address already forwarded for this message in this run (the
 * duplicate filter, "address ADDR", see local.c) is not put in again;
 * it takes over the outcome of that copy.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "delivery.h"
#include "dupfilter.h"
#include "envelope.h"
#include "local_priv.h"
#include "queuefile.h"

/*
 * local_inject_envelope - the envelope of a forwarded copy: the old one
 * with a new arrival time and the remote targets as recipients, each
 * with the original recipient's NOTIFY and ORCPT (RFC 3461 6.2).
 */
static int
local_inject_envelope(const struct local_ctx *c, struct envelope *ne)
{
	const struct alias_list	*l = c->list;
	char			 x[ADDR_MAX], orcpt[ADDR_MAX + 8] = "";
	size_t			 i;

	envelope_init(ne);
	ne->arrival = time(NULL);
	memcpy(ne->client, c->env->client, sizeof(ne->client));
	memcpy(ne->helo, c->env->helo, sizeof(ne->helo));
	memcpy(ne->protocol, c->env->protocol, sizeof(ne->protocol));
	memcpy(ne->sender, c->env->sender, sizeof(ne->sender));
	memcpy(ne->envid, c->env->envid, sizeof(ne->envid));
	ne->uid = c->env->uid;
	ne->body = c->env->body;
	ne->smtputf8 = c->env->smtputf8;
	ne->ret = c->env->ret;
	if (c->rcpt->orcpt[0] != '\0')
		snprintf(orcpt, sizeof(orcpt), "%s", c->rcpt->orcpt);
	else if (xtext_encode(c->rcpt->addr, x, sizeof(x)) == 0)
		snprintf(orcpt, sizeof(orcpt), "rfc822;%s", x);
	if (strlen(orcpt) >= ADDR_MAX)
		orcpt[0] = '\0';
	for (i = 0; i < l->n; i++)
		if (c->fresh[i] && envelope_add_rcpt(ne, l->v[i].value,
		    c->rcpt->notify, orcpt) == -1)
			return -1;
	return 0;
}

/* local_do_inject - in a child running as `user`: a new queue file. */
static void
local_do_inject(struct local_ctx *c, const struct alias_target *t,
    const struct local_user *u, struct local_report *rep)
{
	struct queuefile_new	 sf;
	struct envelope		 ne;
	char			 buf[16384], msg[256];
	off_t			 pos = c->offset;
	ssize_t			 n;

	(void)t;
	(void)u;
	if (local_inject_envelope(c, &ne) == -1) {
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", "cannot build "
		    "the envelope of the forwarded copy");
		goto out;
	}
	if (queuefile_create(c->cfg->spool_dir, &sf) == -1) {
		snprintf(msg, sizeof(msg), "spool: %s", strerror(errno));
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", msg);
		goto out;
	}
	memcpy(ne.id, sf.id, sizeof(ne.id));
	if (envelope_write(sf.fp, &ne) == -1 ||
	    fprintf(sf.fp, "Delivered-To: %s\r\n", c->rcpt->addr) < 0)
		goto fail;
	while ((n = pread(fileno(c->fp), buf, sizeof(buf), pos)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || fwrite(buf, 1, n, sf.fp) != (size_t)n)
			goto fail;
		pos += n;
	}
	if (ferror(sf.fp))
		goto fail;
	if (queuefile_commit(c->cfg->spool_dir, &sf) == -1) {
		snprintf(msg, sizeof(msg), "spool commit: %s",
		    strerror(errno));
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", msg);
		goto out;
	}
	queuefile_announce(c->cfg->spool_dir, sf.id);
	snprintf(msg, sizeof(msg), "forwarded as %s", sf.id);
	local_report_set(rep, DELIVER_OK, "2.0.0", msg);
	goto out;
fail:
	snprintf(msg, sizeof(msg), "forwarding: %s", strerror(errno));
	local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0", msg);
	queuefile_abort(&sf);
out:
	envelope_free(&ne);
}

/* local_address_key - the filter key of a forwarded address */
static void
local_address_key(const char *addr, char *key, size_t len)
{
	char	*p;

	snprintf(key, len, "address %s", addr);
	for (p = key; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
}

/* local_inject - fork the child that queues the copy for c->fresh */
static void
local_inject(struct local_ctx *c, struct local_report *rep)
{
	struct local_user	 u;

	if (local_user_spool(c, &u) == -1)
		local_report_set(rep, DELIVER_TEMPFAIL, "4.3.0",
		    "no user to run as");
	else
		local_fork(c, NULL, &u, rep, local_do_inject);
	local_log(c, c->rcpt->addr, rep->status, rep->res.dsn,
	    rep->res.reply);
}

/*
 * local_forward_copy - one new queue message for the addresses of l not
 * yet forwarded for this message; an address forwarded earlier in this
 * run shares the outcome of that copy instead.
 */
void
local_forward_copy(struct local_ctx *c, const struct alias_list *l,
    struct local_tally *y)
{
	const struct local_report *seen;
	struct local_report	 rep;
	unsigned char		*fresh;
	char			 key[ALIAS_VALUE_MAX + 16];
	size_t			 i, nfresh = 0;

	if ((fresh = calloc(l->n, 1)) == NULL) {
		local_report_set(&rep, DELIVER_TEMPFAIL, "4.3.0",
		    "out of memory");
		local_tally(y, &rep);
		return;
	}
	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind != ALIAS_ADDRESS)
			continue;
		local_address_key(l->v[i].value, key, sizeof(key));
		if ((seen = dupfilter_find(c->dups, key)) == NULL) {
			fresh[i] = 1;
			nfresh++;
			continue;
		}
		local_dup_report(seen, &rep);
		local_log(c, l->v[i].value, rep.status, rep.res.dsn,
		    rep.res.reply);
		local_tally(y, &rep);
	}
	if (nfresh > 0) {
		c->list = l;
		c->fresh = fresh;
		local_inject(c, &rep);
		local_tally(y, &rep);
		for (i = 0; i < l->n; i++) {
			if (!fresh[i])
				continue;
			local_address_key(l->v[i].value, key, sizeof(key));
			dupfilter_add(c->dups, key, &rep, sizeof(rep));
		}
	}
	c->list = NULL;
	c->fresh = NULL;
	free(fresh);
}
