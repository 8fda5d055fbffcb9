/* SPDX-License-Identifier: ISC */
/*
 * throttlefile.c - spool/throttle, the destinations backed off from; its
 * one owner (format in include/throttlefile.h).  Written to a temporary
 * file and renamed over the old one, without fsync: it is advice for
 * mailq and for the next start, and losing it in a crash only means a
 * destination is tried again before its back-off would have ended.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "throttlefile.h"

#define THROTTLE_MAGIC	"tern-throttle 1\n"

static void
throttle_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = ' ';
}

int
throttlefile_write(const char *spool_dir, const struct throttle_entry *v,
    size_t n)
{
	char	 path[4096], tmp[4096], reason[THROTTLE_REASON_MAX];
	FILE	*fp;
	size_t	 i;
	int	 save;

	snprintf(path, sizeof(path), "%s/throttle", spool_dir);
	snprintf(tmp, sizeof(tmp), "%s/throttle.tmp", spool_dir);
	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	fputs(THROTTLE_MAGIC, fp);
	for (i = 0; i < n && i < THROTTLE_MAX; i++) {
		snprintf(reason, sizeof(reason), "%s", v[i].reason);
		throttle_clean(reason);
		fprintf(fp, "%s %lld %d %s\n", v[i].dest,
		    (long long)v[i].until, v[i].level, reason);
	}
	if (fclose(fp) == EOF || rename(tmp, path) == -1) {
		save = errno;
		remove(tmp);
		errno = save;
		return -1;
	}
	return 0;
}

/* throttle_parse - one line; 0, or -1 if it is not one of ours */
static int
throttle_parse(char *line, struct throttle_entry *e)
{
	char	*p, *end, *dest;
	long long until;
	long	 level;

	line[strcspn(line, "\n")] = '\0';
	if ((p = strchr(line, ' ')) == NULL)
		return -1;
	*p++ = '\0';
	dest = line;
	if (*dest == '\0' || strlen(dest) >= sizeof(e->dest) ||
	    strspn(dest, "abcdefghijklmnopqrstuvwxyz0123456789-._:[]") !=
	    strlen(dest))
		return -1;
	errno = 0;
	until = strtoll(p, &end, 10);
	if (end == p || *end != ' ' || errno != 0 || until < 0)
		return -1;
	p = end + 1;
	level = strtol(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\0') || level < 0 ||
	    level > 64)
		return -1;
	memcpy(e->dest, dest, strlen(dest) + 1);	/* length checked */
	e->until = (time_t)until;
	e->level = (int)level;
	snprintf(e->reason, sizeof(e->reason), "%.*s",
	    (int)sizeof(e->reason) - 1, *end ? end + 1 : "");
	throttle_clean(e->reason);
	return 0;
}

int
throttlefile_read(const char *spool_dir, struct throttle_entry **out,
    size_t *n)
{
	char	 path[4096], line[1024];
	struct throttle_entry *v = NULL, *nv;
	size_t	 cap = 0;
	FILE	*fp;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/throttle", spool_dir);
	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (fgets(line, sizeof(line), fp) == NULL ||
	    strcmp(line, THROTTLE_MAGIC) != 0) {
		fclose(fp);
		return 0;
	}
	while (*n < THROTTLE_MAX && fgets(line, sizeof(line), fp) != NULL) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				fclose(fp);
				return -1;
			}
			v = nv;
		}
		if (throttle_parse(line, &v[*n]) == 0)
			(*n)++;
	}
	fclose(fp);
	*out = v;
	return 0;
}

const struct throttle_entry *
throttlefile_find(const struct throttle_entry *v, size_t n, const char *dest)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i].dest, dest) == 0)
			return &v[i];
	return NULL;
}
