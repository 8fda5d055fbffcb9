/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c - libFuzzer target for the two configuration files:
 * tern.conf text (config_parse_string, then every key's value printed
 * back and parsed again) and the aliases file (aliases_load from a file
 * under /tmp, one per process, then lookups and expansions).  The input
 * also goes to aliases_expand_stream() as a ~/.forward file.
 * See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "log.h"

static char	 aliases_path[64];
static const char *const names[] = { "postmaster", "root", "a", "b",
	"MAILER-DAEMON", "fuzz" };

/* reprint - every key's value as text, then that text parsed again */
static void
reprint(const struct config *c)
{
	struct config again;
	char	*text = NULL, err[1024];
	static char value[65536];
	size_t	 len = 0, i;
	FILE	*fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return;
	for (i = 0; config_key_name(i) != NULL; i++) {
		if (config_key_value(c, i, value, sizeof(value)) == -1)
			abort();
		fprintf(fp, "%s = %s\n", config_key_name(i), value);
	}
	fclose(fp);
	if (config_parse_string(&again, "again", text, err, sizeof(err)) == -1) {
		fprintf(stderr, "reprinted config: %s\n", err);
		abort();
	}
	config_free(&again);
	free(text);
}

static void
fuzz_config(const char *s)
{
	struct config c;
	char	 err[1024];

	err[0] = '\0';
	if (config_parse_string(&c, "fuzz.conf", s, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return;
	}
	config_is_local_domain(&c, "example.org");
	config_is_local_domain(&c, s);
	reprint(&c);
	config_free(&c);
}

static void
fuzz_expand(const struct aliases *al, const uint8_t *data, size_t size)
{
	struct alias_list list = { NULL, 0, 0, "", "" };
	FILE	*fp;
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		aliases_lookup(al, names[i]);
		aliases_expand(al, NULL, names[i], &list);
		aliases_list_free(&list);
	}
	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return;
	aliases_expand_stream(al, NULL, fp, "fuzz/.forward", "fuzz",
	    (long)getuid(), &list);
	aliases_list_free(&list);
	fclose(fp);
}

static void
fuzz_aliases(const uint8_t *data, size_t size)
{
	struct aliases *al;
	char	 err[1024];
	FILE	*fp;

	if (aliases_path[0] == '\0')
		snprintf(aliases_path, sizeof(aliases_path),
		    "/tmp/fuzz_aliases.%ld", (long)getpid());
	if ((fp = fopen(aliases_path, "w")) == NULL)
		abort();
	if (fwrite(data, 1, size, fp) != size || fclose(fp) == EOF)
		abort();
	err[0] = '\0';
	if ((al = aliases_load(aliases_path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return;
	}
	fuzz_expand(al, data, size);
	aliases_free(al);
}

static void
cleanup(void)
{
	if (aliases_path[0] != '\0')
		unlink(aliases_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 once;
	char	*s;

	if (!once) {
		once = 1;
		log_init("fuzz", 0);
		atexit(cleanup);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_config(s);
	free(s);
	fuzz_aliases(data, size);
	return 0;
}
