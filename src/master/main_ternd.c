/* SPDX-License-Identifier: ISC */
/*
 * main_ternd.c - ternd: the tern mail daemon.
 *
 *	ternd [-fdnP] [-c file]
 *	ternd -V
 *
 * -f stays in the foreground and logs to standard error; -d adds debug
 * lines; -n checks the configuration (and the aliases, transport,
 * auth_users and virtual_aliases files it names, and virtual_user) and
 * exits, warning about a relayhost that is an address
 * without brackets; -P prints every key with its effective value; -V
 * prints the version and whether TLS is built in.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "authfile.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "priv.h"
#include "valias.h"
#include "senderlogin.h"
#include "spool.h"
#include "tls.h"
#include "transport.h"
#include "version.h"

static void
usage(void)
{
	fprintf(stderr, "usage: ternd [-dfnP] [-c file]\n"
	    "       ternd -V\n");
	exit(EX_USAGE);
}

/* print_version - "ternd VERSION", and the TLS library if built in */
static void
print_version(void)
{
	printf("ternd %s (TLS: %s)\n", TERN_VERSION, tls_library());
}

/*
 * check_privs - default_privs (files and commands of the aliases file)
 * must be a real user that is neither root nor `user`, which owns the
 * spool; checked by uid too, so another name for either is refused.
 */
static int
check_privs(const struct config *cfg, char *err, size_t errlen)
{
	struct passwd	*pw;
	uid_t		 uid;

	if ((pw = getpwnam(cfg->default_privs)) == NULL) {
		snprintf(err, errlen, "default_privs: no user \"%.100s\"",
		    cfg->default_privs);
		return geteuid() == 0 ? -1 : 0;
	}
	uid = pw->pw_uid;
	if (uid == 0 || ((pw = getpwnam(cfg->user)) != NULL &&
	    pw->pw_uid == uid)) {
		snprintf(err, errlen, "default_privs: \"%.100s\" is root or "
		    "user (%.100s); name an unprivileged user that owns "
		    "nothing", cfg->default_privs, cfg->user);
		return -1;
	}
	return 0;
}

/*
 * root_alias_warning - no process with uid 0 writes a mailbox, so mail
 * for root waits until root is aliased to a real user (local_job.c).
 */
static void
root_alias_warning(const struct config *cfg)
{
	struct aliases	*al;
	char		 err[1024];

	if (geteuid() != 0 || (al = aliases_load_config(cfg, err,
	    sizeof(err))) == NULL)
		return;
	if (!aliases_lookup(al, "root"))
		fprintf(stderr, "ternd: %s: warning: no alias for root: mail "
		    "for root is deferred until %s names a user for it\n",
		    cfg->path, cfg->aliases);
	aliases_free(al);
}

/* check_tls - the certificate and key load, and 465 has them */
static int
check_tls(const struct config *cfg)
{
	struct tls_ctx *t;
	char	 err[512];

	if (cfg->smtpd_tls_cert_file[0] == '\0' &&
	    cfg->smtpd_tls_key_file[0] == '\0') {
		if (cfg->smtps_listen.n == 0 && cfg->pop3s_listen.n == 0)
			return 0;
		fprintf(stderr, "ternd: %s: %s needs smtpd_tls_cert_file and "
		    "smtpd_tls_key_file\n", cfg->path,
		    cfg->smtps_listen.n > 0 ? "smtps_listen" : "pop3s_listen");
		return EX_CONFIG;
	}
	if (cfg->smtpd_tls_cert_file[0] == '\0' ||
	    cfg->smtpd_tls_key_file[0] == '\0') {
		fprintf(stderr, "ternd: %s: smtpd_tls_cert_file and "
		    "smtpd_tls_key_file go together\n", cfg->path);
		return EX_CONFIG;
	}
	if ((t = tls_server_ctx(cfg->smtpd_tls_cert_file,
	    cfg->smtpd_tls_key_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ternd: %s: TLS: %s\n", cfg->path, err);
		return EX_CONFIG;
	}
	tls_ctx_free(t);
	return 0;
}

/*
 * check_virtual - with virtual domains: virtual_user must exist and be
 * neither root, nor `user`, nor default_privs (by uid; config.c
 * compared the names), and virtual_aliases must parse (a key outside
 * the virtual domains is a warning: it is never used).
 */
static int
check_virtual(const struct config *cfg)
{
	struct passwd	*pw;
	struct valias	*t;
	const char	*key;
	char		 err[1024];
	uid_t		 uid;
	int		 rc = 0;

	if (cfg->virtual_domains.n == 0) {
		if (cfg->virtual_aliases[0] != '\0')
			fprintf(stderr, "ternd: %s: warning: virtual_aliases "
			    "without virtual_domains is never used\n",
			    cfg->path);
		return 0;
	}
	if ((pw = getpwnam(cfg->virtual_user)) == NULL) {
		fprintf(stderr, "ternd: %s: %svirtual_user %s does not exist "
		    "(useradd -r %s)\n", cfg->path, geteuid() == 0 ? "" :
		    "warning: ", cfg->virtual_user, cfg->virtual_user);
		if (geteuid() == 0)
			rc = EX_CONFIG;
	} else {
		uid = pw->pw_uid;
		if (uid == 0 || ((pw = getpwnam(cfg->user)) != NULL &&
		    pw->pw_uid == uid) || ((pw = getpwnam(
		    cfg->default_privs)) != NULL && pw->pw_uid == uid)) {
			fprintf(stderr, "ternd: %s: virtual_user %s has the "
			    "uid of root, user or default_privs\n", cfg->path,
			    cfg->virtual_user);
			rc = EX_CONFIG;
		}
	}
	if ((t = valias_open(cfg->virtual_aliases, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "ternd: %s: virtual_aliases: %s\n", cfg->path,
		    err);
		return EX_CONFIG;
	}
	if ((key = valias_foreign_key(t, cfg)) != NULL)
		fprintf(stderr, "ternd: %s: warning: virtual_aliases: %s is "
		    "not in virtual_domains: never used\n", cfg->path, key);
	valias_free(t);
	return rc;
}

/*
 * check_auth - with a submission listener or virtual domains,
 * auth_users must load (and should name someone); sender_login, when
 * set, must parse.
 */
static int
check_auth(const struct config *cfg)
{
	struct authfile *af;
	char	 err[1024];
	int	 rc = 0;

	if (cfg->submission_listen.n > 0 || cfg->smtps_listen.n > 0 ||
	    cfg->virtual_domains.n > 0 ||
	    cfg->pop3_listen.n > 0 || cfg->pop3s_listen.n > 0) {
		if ((af = authfile_open(cfg->auth_users, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "ternd: %s: auth_users: %s\n",
			    cfg->path, err);
			rc = EX_CONFIG;
		} else {
			if (authfile_count(af) == 0)
				fprintf(stderr, "ternd: %s: warning: %s has no "
				    "users: nobody can log in (ternpasswd(8))\n",
				    cfg->path, cfg->auth_users);
			authfile_free(af);
		}
	}
	if (cfg->sender_login[0] != '\0' &&
	    sender_login_check(cfg->sender_login, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternd: %s: sender_login: %s\n", cfg->path, err);
		rc = EX_CONFIG;
	}
	return rc;
}

static int
check_files(const struct config *cfg)
{
	char	 err[1024];
	int	 rc = 0;

	err[0] = '\0';
	if (check_privs(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternd: %s: %s\n", cfg->path, err);
		rc = EX_CONFIG;
	} else if (err[0] != '\0')
		fprintf(stderr, "ternd: %s: warning: %s\n", cfg->path, err);

	if (aliases_missing_ok(cfg))
		fprintf(stderr, "ternd: notice: %s does not exist: no aliases\n",
		    cfg->aliases);
	else if (aliases_check(cfg->aliases, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		rc = EX_CONFIG;
	}
	root_alias_warning(cfg);
	if (transport_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		rc = EX_CONFIG;
	}
	if (transport_relayhost_warning(cfg, err, sizeof(err)))
		fprintf(stderr, "ternd: %s: warning: %s\n", cfg->path, err);
	if (check_tls(cfg) != 0)
		rc = EX_CONFIG;
	if (check_auth(cfg) != 0)
		rc = EX_CONFIG;
	if (check_virtual(cfg) != 0)
		rc = EX_CONFIG;
	return rc;
}

/* -P: every key as "key = value", as the running daemon sees it. */
static void
print_config(const struct config *cfg)
{
	char	 value[4096];
	size_t	 i;
	const char *name;

	for (i = 0; (name = config_key_name(i)) != NULL; i++) {
		config_key_value(cfg, i, value, sizeof(value));
		printf("%s = %s\n", name, value);
	}
}

/*
 * spool_child - set up the spool as its owner: in a child that has
 * dropped to `user` the way every child of the master does, so that
 * nothing root does follows a name a spool user controls.
 */
static void
spool_child(const struct config *cfg, const struct passwd *pw)
{
	char	 err[1024];

	if (pw != NULL && priv_become(pw->pw_uid, pw->pw_gid) == -1)
		_exit(1);
	if (spool_setup(cfg->spool_dir, err, sizeof(err)) == -1) {
		log_warnx("spool %s; every part of the spool must belong to "
		    "user %s, see tern(8)", err, pw ? pw->pw_name : cfg->user);
		_exit(1);
	}
	if (spool_clean_tmp(cfg->spool_dir) == -1)
		log_warn("cleaning %s/tmp", cfg->spool_dir);
	_exit(0);
}

/*
 * spool_prepare - as root, only make a missing spool directory for
 * `user`; the child does the rest, and ternd stops if it fails.
 */
static void
spool_prepare(const struct config *cfg)
{
	struct passwd *pw = NULL;
	char	 err[1024];
	pid_t	 pid;
	int	 status;

	if (check_privs(cfg, err, sizeof(err)) == -1)
		fatalx("%s: %s", cfg->path, err);
	if (geteuid() == 0 && (pw = getpwnam(cfg->user)) == NULL)
		fatalx("user \"%s\" does not exist (create it, or set user "
		    "in %s)", cfg->user, cfg->path);
	if (pw != NULL && spool_make_top(cfg->spool_dir, pw->pw_uid,
	    pw->pw_gid, err, sizeof(err)) == -1)
		fatalx("spool %s", err);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0)
		spool_child(cfg, pw);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fatalx("spool %s not usable; not started", cfg->spool_dir);
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	const char *path = NULL;
	char	 err[1024];
	int	 ch, foreground = 0, debug = 0, check = 0, print = 0, rc;

	while ((ch = getopt(argc, argv, "c:dfnPV")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'd': debug = 1; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'P': print = 1; break;
		case 'V': print_version(); return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	path = config_path(path, NULL);
	if (config_load(&cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternd: %s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		if ((rc = check_files(&cfg)) == 0)
			printf("ternd: %s: configuration ok\n", path);
		config_free(&cfg);
		return rc;
	}
	if (print) {
		print_config(&cfg);
		config_free(&cfg);
		return 0;
	}
	/* Until ternd detaches, whoever started it sees what goes wrong. */
	log_init("master", 1);
	log_setdebug(debug);
	if (geteuid() != 0)
		log_info("not started as root: every process runs as uid %ld, "
		    "privilege steps skipped", (long)geteuid());
	/* One notice for the default file; a named one must exist. */
	if (aliases_missing_ok(&cfg))
		log_info("%s does not exist: no aliases", cfg.aliases);
	else if (access(cfg.aliases, F_OK) == -1)
		fatal("aliases %s", cfg.aliases);
	spool_prepare(&cfg);
	rc = master_run(&cfg, !foreground);
	if (cfg.pid_file[0])
		unlink(cfg.pid_file);
	config_free(&cfg);
	return rc;
}
