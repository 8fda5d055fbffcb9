/* SPDX-License-Identifier: ISC */
/* test_valias.c - virtual_aliases parsing, lookup, catch-all, loops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "valias.h"
#include "unit.h"

static struct valias *
load(const char *text, char *err, size_t errlen)
{
	FILE	*fp = fmemopen((void *)text, strlen(text), "r");
	struct valias *t;

	if (fp == NULL)
		return NULL;
	t = valias_load(fp, "virtual", err, errlen);
	fclose(fp);
	return t;
}

/* Accounts: bob@ and carol@example.org; example.org and example.net
 * are virtual; "broken@example.org" cannot be looked up. */
static int
is_account(void *arg, const char *addr)
{
	(void)arg;
	if (strcmp(addr, "broken@example.org") == 0)
		return -1;
	return strcmp(addr, "bob@example.org") == 0 ||
	    strcmp(addr, "carol@example.org") == 0;
}

static int
is_virtual(void *arg, const char *domain)
{
	(void)arg;
	return strcmp(domain, "example.org") == 0 ||
	    strcmp(domain, "example.net") == 0;
}

static const struct valias_cb cb = { is_account, is_virtual, NULL, '\0' };
static const struct valias_cb plus = { is_account, is_virtual, NULL, '+' };

static int
expand(const struct valias *t, const char *addr, struct valias_list *l)
{
	return valias_expand(t, addr, &cb, l);
}

static void
test_parse(void)
{
	struct valias *t;
	char	 err[512];

	t = load("# comment\n\ninfo@Example.org\tbob@example.org, "
	    "carol@example.org\n  other@elsewhere.net\n"
	    "@example.net  bob@example.org\r\n", err, sizeof(err));
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(valias_count(t) == 2);
	CHECK(valias_has(t, "info@example.org"));
	CHECK(valias_has(t, "INFO@EXAMPLE.ORG"));
	CHECK(valias_has(t, "anyone@example.net"));	/* catch-all */
	CHECK(!valias_has(t, "bob@example.org"));
	CHECK(!valias_has(t, "info"));
	valias_free(t);

	CHECK(load("info@example.org\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "virtual:1:") != NULL &&
	    strstr(err, "no target") != NULL);
	CHECK(load("info bob@example.org\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "bad key") != NULL);
	CHECK(load("a@x.org b@x.org\nc@x.org /etc/passwd\n", err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "virtual:2:") != NULL &&
	    strstr(err, "bad target") != NULL);
	CHECK(load("  b@x.org\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "continuation") != NULL);
	CHECK(load("a@x.org b@x.org\nA@X.ORG c@x.org\n", err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "virtual:2:") != NULL &&
	    strstr(err, "listed twice") != NULL);
	t = load("", err, sizeof(err));
	CHECK(t != NULL && valias_count(t) == 0);
	valias_free(t);
}

static void
test_expand(void)
{
	struct valias_list *l = malloc(sizeof(*l));
	struct valias *t;
	char	 err[512];

	t = load("info@example.org bob@example.org carol@example.org "
	    "boss@elsewhere.net\n"
	    "bob@example.org bob@example.org, archive@elsewhere.net\n"
	    "sales@example.org info@example.org\n"
	    "loop1@example.org loop2@example.org\n"
	    "loop2@example.org loop1@example.org\n"
	    "gone@example.org nobody@example.org\n"
	    "@example.net carol@example.org\n"
	    "bad@example.org broken@example.org\n", err, sizeof(err));
	CHECK(t != NULL && l != NULL);
	if (t == NULL || l == NULL) {
		free(l);
		return;
	}
	/* an account: itself */
	CHECK(expand(t, "carol@example.org", l) == DELIVER_OK);
	CHECK(l->n == 1 && l->v[0].kind == VALIAS_ACCOUNT);
	CHECK_STR(l->v[0].addr, "carol@example.org");
	/* exact entry first: bob gets his copy and a forwarded one */
	CHECK(expand(t, "Bob@Example.org", l) == DELIVER_OK);
	CHECK(l->n == 2 && l->v[0].kind == VALIAS_ACCOUNT &&
	    l->v[1].kind == VALIAS_ADDRESS);
	CHECK_STR(l->v[1].addr, "archive@elsewhere.net");
	/* recursion, without duplicates */
	CHECK(expand(t, "sales@example.org", l) == DELIVER_OK);
	CHECK(l->n == 4);
	CHECK_STR(l->v[0].addr, "bob@example.org");
	CHECK_STR(l->v[1].addr, "archive@elsewhere.net");
	CHECK_STR(l->v[2].addr, "carol@example.org");
	CHECK_STR(l->v[3].addr, "boss@elsewhere.net");
	/* catch-all only when there is neither an entry nor an account */
	CHECK(expand(t, "anyone@example.net", l) == DELIVER_OK);
	CHECK(l->n == 1 && strcmp(l->v[0].addr, "carol@example.org") == 0);
	/* unknown, loops, a target that is unknown, a failed lookup */
	CHECK(expand(t, "dave@example.org", l) == DELIVER_PERMFAIL);
	CHECK_STR(l->dsn, "5.1.1");
	CHECK(strstr(l->error, "User unknown in virtual mailbox table") !=
	    NULL);
	CHECK(expand(t, "loop1@example.org", l) == DELIVER_PERMFAIL);
	CHECK_STR(l->dsn, "5.4.6");
	CHECK(expand(t, "gone@example.org", l) == DELIVER_PERMFAIL);
	CHECK_STR(l->dsn, "5.1.1");
	CHECK(expand(t, "bad@example.org", l) == DELIVER_TEMPFAIL);
	CHECK_STR(l->dsn, "4.3.0");
	/* extensions: only with a delimiter; entry, then account, of the
	 * base, before the catch-all */
	CHECK(expand(t, "bob+news@example.org", l) == DELIVER_PERMFAIL);
	CHECK(valias_expand(t, "carol+x@example.org", &plus, l) == DELIVER_OK);
	CHECK(l->n == 1 && strcmp(l->v[0].addr, "carol@example.org") == 0);
	CHECK(valias_expand(t, "bob+news@example.org", &plus, l) ==
	    DELIVER_OK);
	CHECK(l->n == 2 && strcmp(l->v[1].addr, "archive@elsewhere.net") == 0);
	CHECK(valias_expand(t, "+x@example.net", &plus, l) == DELIVER_OK);
	CHECK(l->n == 1 && strcmp(l->v[0].addr, "carol@example.org") == 0);
	CHECK(valias_expand(t, "dave+x@example.org", &plus, l) ==
	    DELIVER_PERMFAIL);
	/* not a virtual domain: taken as it is */
	CHECK(expand(t, "x@elsewhere.net", l) == DELIVER_OK);
	CHECK(l->n == 1 && l->v[0].kind == VALIAS_ADDRESS);
	valias_free(t);
	free(l);
}

static void
test_open(void)
{
	struct valias *t;
	char	 err[512];

	t = valias_open("", err, sizeof(err));
	CHECK(t != NULL && valias_count(t) == 0);
	valias_free(t);
	CHECK(valias_open("/nonexistent/virtual", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/virtual") != NULL);
}

int
main(void)
{
	RUN(test_parse);
	RUN(test_expand);
	RUN(test_open);
	return unit_done();
}
