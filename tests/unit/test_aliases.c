/* SPDX-License-Identifier: ISC */
/* test_aliases.c - /etc/aliases parsing, expansion, loops, check errors. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "delivery.h"
#include "unit.h"

static char	 dir[256];

static const char *
put(const char *name, const char *text)
{
	static char	 path[512];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	return path;
}

static struct aliases *
load(const char *text)
{
	char	 err[512];
	struct aliases *al;

	al = aliases_load(put("aliases", text), err, sizeof(err));
	if (al == NULL)
		printf("  load: %s\n", err);
	return al;
}

/* expand: "kind:value kind:value" for a compact comparison. */
static const char *
expand(struct aliases *al, const struct config *cfg, const char *name,
    int *rc)
{
	static char	 out[4096];
	static const char *kinds[] = { "user", "addr", "file", "pipe", "fwd" };
	struct alias_list l;
	size_t		 i, o = 0;

	memset(&l, 0, sizeof(l));
	*rc = aliases_expand(al, cfg, name, &l);
	out[0] = '\0';
	if (*rc != DELIVER_OK)
		snprintf(out, sizeof(out), "%s %s", l.dsn, l.error);
	for (i = 0; *rc == DELIVER_OK && i < l.n; i++)
		o += snprintf(out + o, sizeof(out) - o, "%s%s%s:%s",
		    i ? " " : "", l.v[i].noforward ? "\\" : "",
		    kinds[l.v[i].kind], l.v[i].value);
	aliases_list_free(&l);
	return out;
}

static void
test_parse_expand(void)
{
	struct aliases	*al;
	int		 rc;

	al = load("# comment\n"
	    "postmaster: root\n"
	    "Root: \\root, admin\n"
	    "admin: alice,\n"
	    "\tbob@Example.ORG\n"
	    "  , \"|/usr/bin/prog -a, -b\"\n"
	    "\n"
	    "log: /var/log/mail.copy, <carol@example.net>\n"
	    "  # a comment inside\n");
	CHECK(al != NULL);
	if (al == NULL)
		return;
	CHECK(aliases_lookup(al, "POSTMASTER"));
	CHECK(!aliases_lookup(al, "alice"));
	CHECK_STR(expand(al, NULL, "PostMaster", &rc),
	    "\\user:root user:alice addr:bob@Example.ORG "
	    "pipe:/usr/bin/prog -a, -b");
	CHECK(rc == DELIVER_OK);
	CHECK_STR(expand(al, NULL, "log", &rc),
	    "file:/var/log/mail.copy addr:carol@example.net");
	CHECK_STR(expand(al, NULL, "Nobody", &rc), "user:nobody");
	aliases_free(al);
}

static void
test_include(void)
{
	struct aliases	*al;
	char		 text[1024];
	int		 rc;

	put("list", "# members\nalice, bob\n\"|cat, x\"\n"
	    ":include:" "/nonexistent/x\n");
	put("list2", "alice\nbob\nalice\n");
	snprintf(text, sizeof(text), "team: :include:%s/list2, carol\n"
	    "broken: :include:%s/list\n", dir, dir);
	al = load(text);
	CHECK(al != NULL);
	if (al == NULL)
		return;
	CHECK_STR(expand(al, NULL, "team", &rc),
	    "user:alice user:bob user:carol");
	expand(al, NULL, "broken", &rc);
	CHECK(rc == DELIVER_TEMPFAIL);
	aliases_free(al);
	/* a FIFO is refused at once, not waited on for a writer */
	snprintf(text, sizeof(text), "%s/fifo", dir);
	CHECK(mkfifo(text, 0600) == 0);
	snprintf(text, sizeof(text), "pipe: :include:%s/fifo\n", dir);
	if ((al = load(text)) == NULL)
		return;
	CHECK(strstr(expand(al, NULL, "pipe", &rc), "not a regular file") !=
	    NULL);
	CHECK(rc == DELIVER_TEMPFAIL);
	aliases_free(al);
}

static void
test_self_and_loops(void)
{
	struct aliases	*al;
	char		 text[8192];
	size_t		 o = 0;
	int		 rc, i;

	al = load("root: root, other\n"
	    "a: b\nb: c, x\nc: a\n"
	    "self: self\n"
	    "d: e\ne: e, f\n");
	CHECK(al != NULL);
	if (al == NULL)
		return;
	CHECK_STR(expand(al, NULL, "root", &rc), "user:root user:other");
	CHECK(rc == DELIVER_OK);
	CHECK_STR(expand(al, NULL, "self", &rc), "user:self");
	CHECK_STR(expand(al, NULL, "d", &rc), "user:e user:f");
	CHECK_STR(expand(al, NULL, "a", &rc), "5.4.6 alias loop (a)");
	CHECK(rc == DELIVER_PERMFAIL);
	aliases_free(al);

	/* 25 levels: deeper than ALIASES_MAX_DEPTH. */
	for (i = 0; i < 25; i++)
		o += snprintf(text + o, sizeof(text) - o, "l%d: l%d\n", i,
		    i + 1);
	al = load(text);
	CHECK(al != NULL);
	CHECK(strstr(expand(al, NULL, "l0", &rc), "too deep") != NULL);
	CHECK(rc == DELIVER_PERMFAIL);
	CHECK_STR(expand(al, NULL, "l10", &rc), "user:l25");
	aliases_free(al);
}

static void
test_too_many(void)
{
	struct aliases	*al;
	char		*text;
	size_t		 o = 0, cap = 64 * 1024;
	int		 rc, i;

	text = malloc(cap);
	o = snprintf(text, cap, "big: u0");
	for (i = 1; i < 1100; i++)
		o += snprintf(text + o, cap - o, ",\n u%d", i);
	snprintf(text + o, cap - o, "\n");
	al = load(text);
	free(text);
	CHECK(al != NULL);
	expand(al, NULL, "big", &rc);
	CHECK(rc == DELIVER_PERMFAIL);
	aliases_free(al);
}

static void
test_local_domains(void)
{
	struct config	 cfg;
	struct aliases	*al;
	char		 err[256];
	int		 rc;

	CHECK(config_parse_string(&cfg, "t.conf", "local_domains = "
	    "example.org, localhost\n", err, sizeof(err)) == 0);
	al = load("a: b@EXAMPLE.org, c@example.com\nb: \\bob\n");
	CHECK(al != NULL);
	CHECK_STR(expand(al, &cfg, "a", &rc), "\\user:bob addr:c@example.com");
	CHECK_STR(expand(al, NULL, "a", &rc),
	    "addr:b@EXAMPLE.org addr:c@example.com");
	aliases_free(al);
	config_free(&cfg);
}

static void
test_check_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "a: b\nnocolon\n", ":2: missing ':'" },
		{ " b, c\n", ":1: continuation line without an alias" },
		{ "a: b\n\n# x\nb: \"unterminated\n", ":4: unterminated quote" },
		{ "a: b\nb:\n", ":2: alias \"b\" has no targets" },
		{ "a: b\nx: y\nA: c\n", ":3: duplicate alias \"a\" (first at "
		    "line 1)" },
		{ "a: :include:relative\n", ":1: alias \"a\": :include: needs" },
		{ "a b: c\n", ":1: bad alias name" },
		{ "a: @x\n", ":1: alias \"a\": bad address" },
	};
	char	 err[512], want[512];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = put("check", cases[i].text);

		CHECK(aliases_check(path, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		if (strncmp(err, want, strlen(want)) != 0) {
			printf("  case %zu: got \"%s\", want \"%s...\"\n", i,
			    err, want);
			unit_failed_now = 1;
		}
	}
	CHECK(aliases_check(put("check", "a: b\n"), err, sizeof(err)) == 0);
	snprintf(want, sizeof(want), "%s/missing", dir);
	CHECK(aliases_check(want, err, sizeof(err)) == -1);
}

static void
test_exists_cache(void)
{
	struct config	 cfg;
	char		 err[256], text[600];
	const char	*path;
	struct timespec	 ts[2];

	path = put("exists", "Postmaster: root\n");
	snprintf(text, sizeof(text), "aliases = %s\n", path);
	CHECK(config_parse_string(&cfg, "t.conf", text, err,
	    sizeof(err)) == 0);
	CHECK(aliases_exists(&cfg, "postmaster") == 1);
	CHECK(aliases_exists(&cfg, "postmaster+tag") == 1);
	CHECK(aliases_exists(&cfg, "root") == 0);
	put("exists", "root: admin\n");
	/* Same size: the mtime (moved on purpose) tells the change. */
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) + 10;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, path, ts, 0);
	CHECK(aliases_exists(&cfg, "root") == 1);
	CHECK(aliases_exists(&cfg, "postmaster") == 0);
	put("exists", "broken\n");
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) + 20;
	utimensat(AT_FDCWD, path, ts, 0);
	CHECK(aliases_exists(&cfg, "root") == -1);
	/* tern.conf names the file: missing is an error (4xx), not empty. */
	unlink(path);
	CHECK(aliases_exists(&cfg, "root") == -1);
	CHECK(aliases_load_config(&cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(!aliases_missing_ok(&cfg));
	config_free(&cfg);
}

static void
test_stream(void)
{
	struct aliases	*al;
	struct alias_list l;
	FILE		*fp;

	al = load("list: x, y\n");
	fp = fopen(put("forward", "# my forward\n\\me, me, list\n"
	    "\"|/bin/prog\" , /home/me/box\n"), "r");
	memset(&l, 0, sizeof(l));
	CHECK(aliases_expand_stream(al, NULL, fp, "forward", "me", 1234,
	    &l) == DELIVER_OK);
	CHECK(l.n == 6);
	if (l.n == 6) {
		CHECK(l.v[0].noforward && strcmp(l.v[0].value, "me") == 0);
		CHECK(!l.v[1].noforward && strcmp(l.v[1].value, "me") == 0);
		CHECK_STR(l.v[2].value, "x");
		CHECK(l.v[4].kind == ALIAS_PIPE && l.v[4].owner == 1234);
		CHECK(l.v[5].kind == ALIAS_FILE && l.v[5].owner == 1234);
	}
	fclose(fp);
	aliases_list_free(&l);
	aliases_free(al);
}

int
main(void)
{
	char	 cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/test_aliases.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_parse_expand);
	RUN(test_include);
	RUN(test_self_and_loops);
	RUN(test_too_many);
	RUN(test_local_domains);
	RUN(test_check_errors);
	RUN(test_exists_cache);
	RUN(test_stream);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("  cannot remove %s\n", dir);
	return unit_done();
}
