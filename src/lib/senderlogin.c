/* SPDX-License-Identifier: ISC */
/*
 * senderlogin.c - may this authenticated user send as this address?
 *
 * The rules and the file format are in senderlogin.h.  Runs in an smtpd
 * (as `user`), which reads the sender_login file at each check: no state
 * is kept between calls.  A line is at most SL_LINE_MAX bytes; an error
 * names FILE:LINE.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "senderlogin.h"
#include "text.h"

#define SL_LINE_MAX	8192
#define SL_ADDR_MAX	1024
#define SL_SEP		", \t"

/* The forms of one sender, lower case: "local@domain", and without the
 * extension (base; the same when it has none). */
struct sl_sender {
	char	 full[SL_ADDR_MAX];
	char	 base[SL_ADDR_MAX];
	const char *domain;	/* into full */
	size_t	 locallen, baselocallen;
};

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Split addr into its forms; -1 if it has no domain or is too long. */
static int
sl_sender(const struct config *cfg, const char *addr, struct sl_sender *s)
{
	char	 local[SL_ADDR_MAX], *d;
	const char *domain = addr_domain(addr), *delim = cfg->recipient_delimiter;
	int	 n;

	if (domain[0] == '\0' || addr_local_part(addr, local, sizeof(local))
	    == -1)
		return -1;
	n = snprintf(s->full, sizeof(s->full), "%s@%s", local, domain);
	if (n < 0 || (size_t)n >= sizeof(s->full))
		return -1;
	lower(s->full);
	s->locallen = strlen(local);
	s->domain = s->full + s->locallen + 1;
	s->baselocallen = s->locallen;
	if (delim[0] != '\0' && (d = strchr(local, delim[0])) != NULL &&
	    d != local)
		s->baselocallen = (size_t)(d - local);
	snprintf(s->base, sizeof(s->base), "%.*s@%s", (int)s->baselocallen,
	    s->full, s->domain);
	return 0;
}

/* One item of the file ("local@domain" or "@domain") covers s. */
static int
sl_item_owns(const char *item, const struct sl_sender *s)
{
	if (item[0] == '@')
		return strcasecmp(item + 1, s->domain) == 0;
	return strcasecmp(item, s->full) == 0 || strcasecmp(item, s->base) == 0;
}

/* No file: user@ every local domain, or the login itself if an address. */
static int
sl_default_owns(const struct config *cfg, const char *user,
    const struct sl_sender *s)
{
	if (!config_is_local_domain(cfg, s->domain))
		return 0;
	if (strchr(user, '@') != NULL)
		return strcasecmp(user, s->full) == 0 ||
		    strcasecmp(user, s->base) == 0;
	return (strlen(user) == s->locallen &&
	    strncasecmp(user, s->full, s->locallen) == 0) ||
	    (strlen(user) == s->baselocallen &&
	    strncasecmp(user, s->base, s->baselocallen) == 0);
}

/*
 * sl_line - split one line in place: 0 blank or comment, 1 an entry
 * (*user, and *items the rest), -1 an error with *why.
 */
static int
sl_line(char *line, char **user, char **items, const char **why)
{
	char	*p = line, *colon, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	for (e = p; *e != '\0'; e++)
		if (*e != '\t' && text_is_ctl((unsigned char)*e)) {
			*why = "control byte";
			return -1;
		}
	if ((colon = strchr(p, ':')) == NULL || colon == p) {
		*why = "expected \"user: address, @domain, ...\"";
		return -1;
	}
	for (e = colon; e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	if (strpbrk(p, " \t") != NULL) {
		*why = "blank in a user name";
		return -1;
	}
	*user = p;
	*items = colon + 1;
	return 1;
}

/* An item is "local@domain" or "@domain", the domain not empty. */
static int
sl_item_ok(const char *item)
{
	const char *at = strrchr(item, '@');

	return at != NULL && at[1] != '\0' && strlen(item) < SL_ADDR_MAX;
}

/*
 * sl_scan - read the file; with user set, whether user owns s.  Every
 * line is checked, wherever the answer is found, so that a bad line is
 * reported whatever the order.  1, 0, or -1 with "FILE:LINE: why".
 */
static int
sl_scan(const char *path, const char *user, const struct sl_sender *s,
    char *err, size_t errlen)
{
	FILE	*fp;
	char	*buf = NULL, *u, *items, *item, *save;
	const char *why;
	size_t	 cap = 0;
	ssize_t	 n;
	long	 lineno = 0;
	int	 owns = 0, rc = -1;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&buf, &cap, fp)) != -1) {
		lineno++;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		why = NULL;
		if ((size_t)n > SL_LINE_MAX)
			why = "line too long";
		else if (memchr(buf, '\0', (size_t)n) != NULL)
			why = "NUL byte";
		if (why == NULL) {
			switch (sl_line(buf, &u, &items, &why)) {
			case 0:
				continue;
			case 1:
				break;
			default:
				goto bad;
			}
		} else
			goto bad;
		for (item = strtok_r(items, SL_SEP, &save); item != NULL;
		    item = strtok_r(NULL, SL_SEP, &save)) {
			if (!sl_item_ok(item)) {
				why = "an item is not address@domain or @domain";
				goto bad;
			}
			if (user != NULL && strcmp(u, user) == 0 &&
			    sl_item_owns(item, s))
				owns = 1;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = owns;
	goto out;
bad:
	snprintf(err, errlen, "%s:%ld: %s", path, lineno, why);
out:
	free(buf);
	fclose(fp);
	return rc;
}

int
sender_login_owns(const struct config *cfg, const char *user,
    const char *addr)
{
	struct sl_sender s;
	char	 err[1024];
	int	 rc;

	if (addr[0] == '\0' || strcmp(addr, "<>") == 0)
		return 1;
	if (sl_sender(cfg, addr, &s) == -1)
		return 0;
	if (cfg->sender_login[0] == '\0')
		return sl_default_owns(cfg, user, &s);
	if ((rc = sl_scan(cfg->sender_login, user, &s, err,
	    sizeof(err))) == -1)
		log_warnx("sender_login %s", err);
	return rc;
}

int
sender_login_check(const char *path, char *err, size_t errlen)
{
	return sl_scan(path, NULL, NULL, err, errlen) == -1 ? -1 : 0;
}
