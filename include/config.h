/* SPDX-License-Identifier: ISC */
/*
 * config.h - tern.conf: "key = value" lines, one table of keys.
 *
 * config_load() fills a struct config from the compiled-in defaults and
 * then the file; on error it returns -1 with "file:line: message" in err.
 * An empty file is a valid configuration.  config_free() releases one.
 * Durations are stored in seconds, sizes in bytes.
 */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stddef.h>

#define TERN_CONF_PATH	"/etc/tern/tern.conf"
#define CONFIG_MAX_KEYS	160
#define TERN_CONF_ENV	"TERN_CONFIG"	/* names another file, as -c/-C */

struct strlist {
	char	**v;
	size_t	  n;
};

enum config_log	{ CONFIG_LOG_SYSLOG, CONFIG_LOG_STDERR };
enum config_mailbox { CONFIG_MAILBOX_MAILDIR, CONFIG_MAILBOX_MBOX };
enum config_family { CONFIG_FAMILY_ANY, CONFIG_FAMILY_IPV4, CONFIG_FAMILY_IPV6 };
enum config_rate_by { CONFIG_RATE_DOMAIN, CONFIG_RATE_NEXTHOP };
/* smtp_tls and the third field of a transport map line: the TLS level */
enum config_tls { CONFIG_TLS_NONE, CONFIG_TLS_MAY, CONFIG_TLS_ENCRYPT,
	CONFIG_TLS_VERIFY };

struct config {
	/* receiving: ternd and smtpd */
	char		*hostname;
	char		*origin;		/* qualifies bare local names */
	struct strlist	 listen;		/* "addr:port", "[v6]:port" */
	char		*user;
	char		*default_privs;		/* files, commands of aliases */
	char		*spool_dir;
	char		*pid_file;
	char		*submit_socket;
	struct strlist	 mailq_users;		/* may list the queue, "*" all */
	struct strlist	 local_domains;
	struct strlist	 relay_networks;	/* CIDR, checked at load */
	char		*aliases;
	char		*smtpd_tls_cert_file;	/* with the key: STARTTLS */
	char		*smtpd_tls_key_file;
	struct strlist	 submission_listen;	/* 587: STARTTLS, then AUTH */
	struct strlist	 smtps_listen;		/* 465: TLS, then AUTH */
	long long	 submission_loopback_plaintext;	/* bool */
	long long	 smtpd_auth_failure_delay;	/* times failures */
	long long	 smtpd_auth_max_failures;	/* per session */
	struct strlist	 pop3_listen;		/* 110: STLS, then a login */
	struct strlist	 pop3s_listen;		/* 995: TLS, then a login */
	long long	 pop3_loopback_plaintext;	/* bool */
	long long	 pop3_timeout;		/* idle; RFC 1939: >= 10m */
	long long	 smtpd_memory_limit;	/* RLIMIT_DATA of smtpd; 0 none */
	long long	 max_message_size;
	long long	 queue_minfree;		/* spool bytes kept free at MAIL */
	long long	 max_recipients;
	long long	 max_connections;
	long long	 max_connections_per_ip;
	long long	 max_connection_rate;	/* per address and minute; 0 off */
	long long	 smtpd_timeout;
	long long	 smtpd_stress_timeout;	/* when every slot is taken */
	long long	 max_errors;
	long long	 max_hops;		/* Received: headers, at most */
	long long	 smtpd_max_use;		/* sessions per smtpd process */
	long long	 smtpd_max_idle;	/* an idle smtpd then exits */
	long long	 client_name_lookup;	/* bool */
	char		*auth_users;		/* user:hash, read as root */
	char		*sender_login;		/* "" = user@local domains */
	struct strlist	 virtual_domains;	/* accounts in auth_users */
	char		*virtual_user;		/* owns their mailboxes */
	char		*virtual_mailbox_path;	/* %d domain, %u local part */
	char		*virtual_aliases;	/* virtual(5) table, "" none */
	int		 log;			/* enum config_log */
	/* the queue runner */
	long long	 retry_interval;
	long long	 delay_warning;
	long long	 max_queue_lifetime;
	long long	 bounce_queue_lifetime;
	long long	 max_deliveries;
	long long	 max_per_destination;
	long long	 max_local_deliveries;
	long long	 max_active_per_destination;
	long long	 destination_recipient_limit;	/* per transaction */
	long long	 destination_rate;	/* messages per period; 0 none */
	long long	 destination_rate_period;
	int		 destination_rate_by;	/* enum config_rate_by */
	long long	 destination_backoff;	/* first back-off after 421 */
	long long	 destination_backoff_max;
	char		*double_bounce;
	/* local delivery */
	int		 mailbox;		/* enum config_mailbox */
	char		*mailbox_path;		/* %h %u %d; "" = by mailbox */
	char		*recipient_delimiter;
	long long	 duplicate_filter_limit; /* targets kept; 0 = off */
	/* remote delivery */
	char		*relayhost;
	char		*transport;		/* map file, "" = none */
	long long	 remote_port;
	char		*dns_server;		/* "addr:port", "" = resolv.conf */
	int		 address_family;	/* enum config_family */
	long long	 connect_timeout;
	long long	 smtp_timeout;
	long long	 smtp_mx_address_limit;	/* per attempt; 0 = none */
	long long	 smtp_mx_session_limit;	/* per attempt; 0 = none */
	long long	 smtp_attempt_timeout;	/* a whole attempt, seconds */
	long long	 smtp_allow_loopback;	/* bool; for tests on one host */
	int		 smtp_tls;		/* enum config_tls: default */
	char		*smtp_tls_ca_path;	/* file or directory */
	long long	 smtp_tls_implicit_port; /* TLS first; 0 none */
	long long	 smtp_dane;		/* bool; RFC 7672 */
	char		*relayhost_auth_file;	/* "[host]:port user:pass" */
	/* where the file came from, for messages and reloads */
	char		*path;
	unsigned char	 key_set[CONFIG_MAX_KEYS];	/* by table index */
};

/*
 * The configuration file of every tern program: flag (its -c or -C
 * argument, NULL when not given), else $TERN_CONFIG when set and not
 * empty, else TERN_CONF_PATH.  *named (may be NULL) is set to 0 only
 * for the compiled-in default, the one file allowed to be missing.
 */
const char *config_path(const char *flag, int *named);
int	config_load(struct config *, const char *path, char *err, size_t errlen);
int	config_parse_string(struct config *, const char *name, const char *text,
	    char *err, size_t errlen);
void	config_free(struct config *);
int	config_is_local_domain(const struct config *, const char *domain);
/* One of virtual_domains, whose users are accounts of auth_users. */
int	config_is_virtual_domain(const struct config *, const char *domain);
int	config_key_is_set(const struct config *, const char *name);
/* Every key name, in table order, NULL-terminated (for docs and tests). */
const char *config_key_name(size_t i);
int	config_key_value(const struct config *, size_t i, char *, size_t);

int	config_parse_duration(const char *, long long *);
int	config_parse_size(const char *, long long *);

#endif
