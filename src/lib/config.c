/* SPDX-License-Identifier: ISC */
/*
 * config.c - the tern.conf parser: one table of keys, one generic reader.
 *
 * Format: "key = value" lines; '#' starts a comment line; blank lines are
 * ignored.  Durations take s, m, h, d suffixes (bare numbers are seconds),
 * sizes take K, M, G; lists are comma-separated.  Every key has a default
 * in the table, so an empty file is a complete configuration.  An unknown
 * key or a bad value is an error "file:line: message", and an unknown key
 * names the closest known one.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "netaddr.h"

enum conf_type {
	CONF_STRING, CONF_INT, CONF_SIZE, CONF_DURATION, CONF_BOOL,
	CONF_LIST, CONF_CIDRS, CONF_LISTEN, CONF_ENUM
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	const char	*dflt;
	size_t		 offset;
	long long	 min, max;
	const char	*choices;	/* CONF_ENUM: "a|b|c", value = index */
};

#define F(field)	offsetof(struct config, field)
#define BIG		LLONG_MAX

static const struct conf_key keys[] = {
	{ "hostname", CONF_STRING, "", F(hostname), 0, 0, NULL },
	{ "origin", CONF_STRING, "", F(origin), 0, 0, NULL },
	{ "listen", CONF_LISTEN, "0.0.0.0:25, [::]:25", F(listen), 0, 0, NULL },
	{ "user", CONF_STRING, "tern", F(user), 0, 0, NULL },
	{ "default_privs", CONF_STRING, "nobody", F(default_privs), 0, 0,
	    NULL },
	{ "spool_dir", CONF_STRING, "/var/spool/tern", F(spool_dir), 0, 0, NULL },
	{ "pid_file", CONF_STRING, "/run/ternd.pid", F(pid_file), 0, 0, NULL },
	{ "submit_socket", CONF_STRING, "/run/tern/submit.sock",
	    F(submit_socket), 0, 0, NULL },
	{ "mailq_users", CONF_LIST, "*", F(mailq_users), 0, 0, NULL },
	{ "local_domains", CONF_LIST, "", F(local_domains), 0, 0, NULL },
	{ "relay_networks", CONF_CIDRS, "127.0.0.0/8, ::1/128",
	    F(relay_networks), 0, 0, NULL },
	{ "aliases", CONF_STRING, "/etc/aliases", F(aliases), 0, 0, NULL },
	{ "smtpd_tls_cert_file", CONF_STRING, "", F(smtpd_tls_cert_file), 0,
	    0, NULL },
	{ "smtpd_tls_key_file", CONF_STRING, "", F(smtpd_tls_key_file), 0, 0,
	    NULL },
	{ "submission_listen", CONF_LISTEN, "", F(submission_listen), 0, 0,
	    NULL },
	{ "smtps_listen", CONF_LISTEN, "", F(smtps_listen), 0, 0, NULL },
	{ "submission_loopback_plaintext", CONF_BOOL, "no",
	    F(submission_loopback_plaintext), 0, 1, NULL },
	{ "smtpd_auth_failure_delay", CONF_DURATION, "1s",
	    F(smtpd_auth_failure_delay), 0, 60, NULL },
	{ "smtpd_auth_max_failures", CONF_INT, "3",
	    F(smtpd_auth_max_failures), 1, 100, NULL },
	{ "pop3_listen", CONF_LISTEN, "", F(pop3_listen), 0, 0, NULL },
	{ "pop3s_listen", CONF_LISTEN, "", F(pop3s_listen), 0, 0, NULL },
	{ "pop3_loopback_plaintext", CONF_BOOL, "no",
	    F(pop3_loopback_plaintext), 0, 1, NULL },
	{ "pop3_timeout", CONF_DURATION, "10m", F(pop3_timeout), 1, 86400,
	    NULL },
	{ "smtpd_memory_limit", CONF_SIZE, "256M", F(smtpd_memory_limit), 0,
	    BIG, NULL },
	{ "max_message_size", CONF_SIZE, "25M", F(max_message_size),
	    1024, BIG, NULL },
	{ "queue_minfree", CONF_SIZE, "64M", F(queue_minfree), 0, BIG, NULL },
	{ "max_recipients", CONF_INT, "100", F(max_recipients), 1, 100000,
	    NULL },
	{ "max_connections", CONF_INT, "100", F(max_connections), 1, 100000,
	    NULL },
	{ "max_connections_per_ip", CONF_INT, "10", F(max_connections_per_ip),
	    1, 100000, NULL },
	{ "max_connection_rate", CONF_INT, "0", F(max_connection_rate), 0,
	    1000000, NULL },
	{ "smtpd_timeout", CONF_DURATION, "5m", F(smtpd_timeout), 1, 86400,
	    NULL },
	{ "smtpd_stress_timeout", CONF_DURATION, "10s",
	    F(smtpd_stress_timeout), 0, 86400, NULL },
	{ "max_hops", CONF_INT, "50", F(max_hops), 1, 1000, NULL },
	{ "max_errors", CONF_INT, "10", F(max_errors), 1, 1000, NULL },
	{ "smtpd_max_use", CONF_INT, "100", F(smtpd_max_use), 1, 100000,
	    NULL },
	{ "smtpd_max_idle", CONF_DURATION, "60s", F(smtpd_max_idle), 1, 86400,
	    NULL },
	{ "client_name_lookup", CONF_BOOL, "no", F(client_name_lookup), 0, 1,
	    NULL },
	{ "auth_users", CONF_STRING, "/etc/tern/passwd", F(auth_users), 0, 0,
	    NULL },
	{ "sender_login", CONF_STRING, "", F(sender_login), 0, 0, NULL },
	{ "virtual_domains", CONF_LIST, "", F(virtual_domains), 0, 0, NULL },
	{ "virtual_user", CONF_STRING, "vmail", F(virtual_user), 0, 0, NULL },
	{ "virtual_mailbox_path", CONF_STRING, "/var/mail/vhosts/%d/%u/",
	    F(virtual_mailbox_path), 0, 0, NULL },
	{ "virtual_aliases", CONF_STRING, "", F(virtual_aliases), 0, 0,
	    NULL },
	{ "log", CONF_ENUM, "syslog", F(log), 0, 0, "syslog|stderr" },
	{ "retry_interval", CONF_DURATION, "30m", F(retry_interval), 1, BIG,
	    NULL },
	{ "delay_warning", CONF_DURATION, "4h", F(delay_warning), 0, BIG,
	    NULL },
	{ "max_queue_lifetime", CONF_DURATION, "5d", F(max_queue_lifetime),
	    0, BIG, NULL },
	{ "bounce_queue_lifetime", CONF_DURATION, "5d",
	    F(bounce_queue_lifetime), 0, BIG, NULL },
	{ "max_deliveries", CONF_INT, "20", F(max_deliveries), 1, 1000, NULL },
	{ "max_active_per_destination", CONF_INT, "200",
	    F(max_active_per_destination), 1, 500, NULL },
	{ "max_local_deliveries", CONF_INT, "10", F(max_local_deliveries), 1,
	    1000, NULL },
	{ "max_per_destination", CONF_INT, "10", F(max_per_destination), 1,
	    1000, NULL },
	{ "destination_recipient_limit", CONF_INT, "50",
	    F(destination_recipient_limit), 1, 100000, NULL },
	{ "destination_rate", CONF_INT, "0", F(destination_rate), 0, 1000000,
	    NULL },
	{ "destination_rate_period", CONF_DURATION, "1m",
	    F(destination_rate_period), 1, 86400, NULL },
	{ "destination_rate_by", CONF_ENUM, "domain", F(destination_rate_by),
	    0, 0, "domain|nexthop" },
	{ "destination_backoff", CONF_DURATION, "1m", F(destination_backoff),
	    1, BIG, NULL },
	{ "destination_backoff_max", CONF_DURATION, "1h",
	    F(destination_backoff_max), 1, BIG, NULL },
	{ "double_bounce", CONF_STRING, "postmaster", F(double_bounce), 0, 0,
	    NULL },
	{ "mailbox", CONF_ENUM, "maildir", F(mailbox), 0, 0, "maildir|mbox" },
	{ "mailbox_path", CONF_STRING, "", F(mailbox_path), 0, 0, NULL },
	{ "recipient_delimiter", CONF_STRING, "+", F(recipient_delimiter), 0,
	    0, NULL },
	{ "duplicate_filter_limit", CONF_INT, "1000",
	    F(duplicate_filter_limit), 0, 1000000, NULL },
	{ "relayhost", CONF_STRING, "", F(relayhost), 0, 0, NULL },
	{ "transport", CONF_STRING, "", F(transport), 0, 0, NULL },
	{ "remote_port", CONF_INT, "25", F(remote_port), 1, 65535, NULL },
	{ "dns_server", CONF_STRING, "", F(dns_server), 0, 0, NULL },
	{ "address_family", CONF_ENUM, "any", F(address_family), 0, 0,
	    "any|ipv4|ipv6" },
	{ "connect_timeout", CONF_DURATION, "30s", F(connect_timeout), 1,
	    3600, NULL },
	{ "smtp_timeout", CONF_DURATION, "5m", F(smtp_timeout), 1, 86400,
	    NULL },
	{ "smtp_mx_address_limit", CONF_INT, "5", F(smtp_mx_address_limit),
	    0, 1000, NULL },
	{ "smtp_mx_session_limit", CONF_INT, "2", F(smtp_mx_session_limit),
	    0, 1000, NULL },
	{ "smtp_attempt_timeout", CONF_DURATION, "15m",
	    F(smtp_attempt_timeout), 1, 86400, NULL },
	{ "smtp_allow_loopback", CONF_BOOL, "no", F(smtp_allow_loopback), 0,
	    1, NULL },
	{ "smtp_tls", CONF_ENUM, "may", F(smtp_tls), 0, 0,
	    "none|may|encrypt|verify" },
	{ "smtp_tls_ca_path", CONF_STRING, "/etc/ssl/certs",
	    F(smtp_tls_ca_path), 0, 0, NULL },
	{ "smtp_tls_implicit_port", CONF_INT, "465", F(smtp_tls_implicit_port),
	    0, 65535, NULL },
	{ "smtp_dane", CONF_BOOL, "no", F(smtp_dane), 0, 1, NULL },
	{ "relayhost_auth_file", CONF_STRING, "", F(relayhost_auth_file), 0, 0,
	    NULL },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

const char *
config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

/* The effective value of key i as config text ("30m" prints as "1800s"). */
int
config_key_value(const struct config *c, size_t i, char *buf, size_t len)
{
	const void *field;
	const struct strlist *l;
	const char *p;
	size_t	 j, off = 0;
	int	 k;

	if (i >= NKEYS)
		return -1;
	field = (const char *)c + keys[i].offset;
	buf[0] = '\0';
	switch (keys[i].type) {
	case CONF_STRING:
		snprintf(buf, len, "%s", *(char *const *)field);
		break;
	case CONF_LIST: case CONF_CIDRS: case CONF_LISTEN:
		l = field;
		for (j = 0; j < l->n && off < len; j++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    j ? ", " : "", l->v[j]);
		break;
	case CONF_ENUM:
		p = keys[i].choices;
		for (k = *(const int *)field; k > 0 && p; k--)
			if ((p = strchr(p, '|')) != NULL)
				p++;
		snprintf(buf, len, "%.*s", p ? (int)strcspn(p, "|") : 0,
		    p ? p : "");
		break;
	case CONF_BOOL:
		snprintf(buf, len, "%s", *(const long long *)field ? "yes" :
		    "no");
		break;
	case CONF_DURATION:
		snprintf(buf, len, "%llds", *(const long long *)field);
		break;
	default:
		snprintf(buf, len, "%lld", *(const long long *)field);
		break;
	}
	return 0;
}

static void
strlist_free(struct strlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Split a comma (or blank) separated list; empty items are skipped. */
static int
strlist_parse(const char *text, struct strlist *l)
{
	char	*copy, *item, *save = NULL;
	char	**v;

	if ((copy = strdup(text)) == NULL)
		return -1;
	for (item = strtok_r(copy, ", \t", &save); item;
	    item = strtok_r(NULL, ", \t", &save)) {
		if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
			goto fail;
		l->v = v;
		if ((l->v[l->n] = strdup(item)) == NULL)
			goto fail;
		l->n++;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

struct unit {
	char		 suffix;	/* '\0' for a bare number */
	long long	 mult;
};

static const struct unit duration_units[] = {
	{ '\0', 1 }, { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 7 * 86400 }, { 0, 0 }
};
static const struct unit size_units[] = {
	{ '\0', 1 }, { 'K', 1024 }, { 'M', 1024 * 1024 },
	{ 'G', 1024LL * 1024 * 1024 }, { 0, 0 }
};

/* A decimal number with one optional unit letter (sizes may add "B"). */
static int
parse_scaled(const char *s, const struct unit *units, int size,
    long long *out)
{
	char	*end;
	long long v;
	const struct unit *u;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	for (u = units; u->mult; u++)
		if (u->suffix == (size ? toupper((unsigned char)*end) : *end))
			break;
	if (u->mult == 0)
		return -1;
	if (*end && end[1] != '\0' && !(size && strcasecmp(end + 1, "B") == 0))
		return -1;
	if (v > LLONG_MAX / u->mult)
		return -1;
	*out = v * u->mult;
	return 0;
}

int
config_parse_duration(const char *s, long long *out)
{
	return parse_scaled(s, duration_units, 0, out);
}

int
config_parse_size(const char *s, long long *out)
{
	return parse_scaled(s, size_units, 1, out);
}

static int
parse_bool(const char *s, long long *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcmp(s, "1") || !strcasecmp(s, "on"))
		*out = 1;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcmp(s, "0") || !strcasecmp(s, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_enum(const char *s, const char *choices, int *out)
{
	const char *p = choices;
	size_t	 n = strlen(s);
	int	 i = 0;

	while (*p) {
		size_t len = strcspn(p, "|");
		if (len == n && strncmp(p, s, n) == 0) {
			*out = i;
			return 0;
		}
		p += len;
		if (*p == '|')
			p++;
		i++;
	}
	return -1;
}

/* Set one key from its text; returns -1 with a message in err. */
static int
set_value(struct config *c, const struct conf_key *k, const char *value,
    char *err, size_t errlen)
{
	void	*field = (char *)c + k->offset;
	struct strlist l = { NULL, 0 };
	long long v = 0;
	size_t	 i;
	char	 h[256], p[16];
	struct cidr cidr;
	char	*end;

	switch (k->type) {
	case CONF_STRING:
		free(*(char **)field);
		if ((*(char **)field = strdup(value)) == NULL)
			goto nomem;
		return 0;
	case CONF_LIST:
	case CONF_CIDRS:
	case CONF_LISTEN:
		if (strlist_parse(value, &l) == -1)
			goto nomem;
		for (i = 0; i < l.n; i++) {
			if (k->type == CONF_CIDRS &&
			    cidr_parse(l.v[i], &cidr) == -1) {
				snprintf(err, errlen, "%s: bad network "
				    "\"%s\" (want addr/bits)", k->name, l.v[i]);
				goto bad_list;
			}
			if (k->type == CONF_LISTEN && hostport_split(l.v[i],
			    h, sizeof(h), p, sizeof(p)) == -1) {
				snprintf(err, errlen, "%s: bad address "
				    "\"%s\" (want addr:port or [v6]:port)",
				    k->name, l.v[i]);
				goto bad_list;
			}
		}
		strlist_free(field);
		*(struct strlist *)field = l;
		return 0;
	case CONF_ENUM:
		if (parse_enum(value, k->choices, field) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not one of %s",
			    k->name, value, k->choices);
			return -1;
		}
		return 0;
	case CONF_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0') {
			snprintf(err, errlen, "%s: \"%s\" is not a number",
			    k->name, value);
			return -1;
		}
		break;
	case CONF_SIZE:
		if (config_parse_size(value, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not a size "
			    "(like 512K, 25M)", k->name, value);
			return -1;
		}
		break;
	case CONF_DURATION:
		if (config_parse_duration(value, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not a duration "
			    "(like 30s, 30m, 4h, 5d)", k->name, value);
			return -1;
		}
		break;
	case CONF_BOOL:
		if (parse_bool(value, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not yes or no",
			    k->name, value);
			return -1;
		}
		break;
	}
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: %s is out of range (%lld to %lld)",
		    k->name, value, k->min, k->max);
		return -1;
	}
	*(long long *)field = v;
	return 0;
bad_list:
	strlist_free(&l);
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, d[64];
	size_t	 prev, tmp;

	if (lb >= sizeof(d) / sizeof(d[0]))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j - 1] + 1 < d[j])
				d[j] = d[j - 1] + 1;
			if (tmp + 1 < d[j])
				d[j] = tmp + 1;
			prev = tmp;
		}
	}
	return d[lb];
}

static const struct conf_key *
key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static const char *
key_nearest(const char *name)
{
	size_t	 i, best = SIZE_MAX, d;
	const char *found = keys[0].name;

	for (i = 0; i < NKEYS; i++) {
		d = edit_distance(name, keys[i].name);
		if (strstr(keys[i].name, name) || strstr(name, keys[i].name))
			d = d < 2 ? d : 2;
		if (d < best) {
			best = d;
			found = keys[i].name;
		}
	}
	return found;
}

static int
config_defaults(struct config *c, char *err, size_t errlen)
{
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++)
		if (set_value(c, &keys[i], keys[i].dflt, err, errlen) == -1)
			return -1;
	return 0;
}

static int
strlist_find(const struct strlist *l, const char *s)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return (int)i;
	return -1;
}

/*
 * The effective local domains: the host's name and "localhost", as
 * Postfix's mydestination = $myhostname, localhost, then the listed
 * ones.  "!name" takes a name out again, so an admin who really wants
 * the host's own name relayed says so explicitly.
 */
static int
local_domains_finish(struct config *c)
{
	struct strlist	 eff = { NULL, 0 };
	const char	*implicit[2] = { c->hostname, "localhost" };
	const char	*d;
	size_t		 i;
	int		 j;

	for (i = 0; i < 2 + c->local_domains.n; i++) {
		d = i < 2 ? implicit[i] : c->local_domains.v[i - 2];
		if (d[0] == '!') {
			if ((j = strlist_find(&eff, d + 1)) >= 0) {
				free(eff.v[j]);
				eff.v[j] = eff.v[--eff.n];
			}
		} else if (strlist_find(&eff, d) == -1 &&
		    strlist_parse(d, &eff) == -1) {
			strlist_free(&eff);
			return -1;
		}
	}
	strlist_free(&c->local_domains);
	c->local_domains = eff;
	return 0;
}

/* Fill what defaults refer to: the host name, the local domains. */
static int
config_finish(struct config *c, char *err, size_t errlen)
{
	char	 host[256];
	size_t	 i;

	if (c->hostname[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		free(c->hostname);
		if ((c->hostname = strdup(host)) == NULL)
			goto nomem;
	}
	if (c->origin[0] == '\0') {
		free(c->origin);
		if ((c->origin = strdup(c->hostname)) == NULL)
			goto nomem;
	}
	if (local_domains_finish(c) == -1)
		goto nomem;
	if (c->listen.n == 0) {
		snprintf(err, errlen, "listen: at least one address is needed");
		return -1;
	}
	if (strcmp(c->default_privs, c->user) == 0 ||
	    strcmp(c->default_privs, "root") == 0 ||
	    c->default_privs[0] == '\0') {
		snprintf(err, errlen, "default_privs: must be neither root "
		    "nor user (%s)", c->user);
		return -1;
	}
	if (c->virtual_domains.n > 0 &&
	    (strcmp(c->virtual_user, c->user) == 0 ||
	    strcmp(c->virtual_user, c->default_privs) == 0 ||
	    strcmp(c->virtual_user, "root") == 0 ||
	    c->virtual_user[0] == '\0')) {
		snprintf(err, errlen, "virtual_user: must be neither root, "
		    "user (%s) nor default_privs (%s)", c->user,
		    c->default_privs);
		return -1;
	}
	for (i = 0; i < c->virtual_domains.n; i++)
		if (strlist_find(&c->local_domains,
		    c->virtual_domains.v[i]) >= 0) {
			snprintf(err, errlen, "virtual_domains: %s is a local "
			    "domain too (local_domains, or the host's name)",
			    c->virtual_domains.v[i]);
			return -1;
		}
	if (c->recipient_delimiter[0] && c->recipient_delimiter[1]) {
		snprintf(err, errlen, "recipient_delimiter: one character, "
		    "or empty for none");
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Parse configuration text; name is used in messages ("file:line: ..."). */
int
config_parse_string(struct config *c, const char *name, const char *text,
    char *err, size_t errlen)
{
	const struct conf_key *k;
	char	 msg[512], *copy, *line, *next, *eq, *key, *value;
	int	 lineno = 0, rc = -1;

	if (config_defaults(c, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: defaults: %s", name, msg);
		return -1;
	}
	if ((copy = strdup(text)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (line = copy; line; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected \"key = value\"",
			    name, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if ((k = key_find(key)) == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key \"%s\" "
			    "(did you mean \"%s\"?)", name, lineno, key,
			    key_nearest(key));
			goto out;
		}
		if (set_value(c, k, value, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
			goto out;
		}
		c->key_set[k - keys] = 1;
	}
	if (config_finish(c, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", name, msg);
		goto out;
	}
	free(c->path);
	if ((c->path = strdup(name)) == NULL)
		goto out;
	rc = 0;
out:
	free(copy);
	if (rc == -1)
		config_free(c);
	return rc;
}

const char *
config_path(const char *flag, int *named)
{
	const char *env = getenv(TERN_CONF_ENV);

	if (named != NULL)
		*named = 1;
	if (flag != NULL)
		return flag;
	if (env != NULL && env[0] != '\0')
		return env;
	if (named != NULL)
		*named = 0;
	return TERN_CONF_PATH;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0, n;
	char	 buf[4096];
	int	 rc;

	memset(c, 0, sizeof(*c));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		char *t = realloc(text, len + n + 1);
		if (t == NULL || len + n > 1024 * 1024) {
			free(t ? t : text);
			fclose(fp);
			snprintf(err, errlen, "%s: file too large", path);
			return -1;
		}
		text = t;
		memcpy(text + len, buf, n);
		len += n;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		free(text);
		return -1;
	}
	fclose(fp);
	if (text == NULL && (text = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return -1;
	}
	rc = config_parse_string(c, path, text, err, errlen);
	free(text);
	return rc;
}

void
config_free(struct config *c)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		void *field = (char *)c + keys[i].offset;
		switch (keys[i].type) {
		case CONF_STRING:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case CONF_LIST: case CONF_CIDRS: case CONF_LISTEN:
			strlist_free(field);
			break;
		default:
			break;
		}
	}
	free(c->path);
	c->path = NULL;
}

int
config_is_local_domain(const struct config *c, const char *domain)
{
	return strlist_find(&c->local_domains, domain) >= 0 ||
	    netaddr_literal_is_self(c, domain);	/* RFC 5321 4.1.3 */
}

int
config_is_virtual_domain(const struct config *c, const char *domain)
{
	return strlist_find(&c->virtual_domains, domain) >= 0;
}

/* Whether the file set key name, or it has its compiled-in default. */
int
config_key_is_set(const struct config *c, const char *name)
{
	const struct conf_key *k = key_find(name);

	return k != NULL && c->key_set[k - keys];
}
