/* SPDX-License-Identifier: ISC */
/*
 * master.c - listen on :25 and the submit socket, fork a child per
 * connection, keep the queue runner alive, fork local delivery agents.
 *
 * Children: smtpd (one per connection, user `user`), qmgr (the queue
 * runner, user `user`, restarted with back-off when it dies), local (one
 * per local delivery job of a local agent, see local_job.h: checks the
 * job and drops to its user before it reads anything).  Signals only set flags; the poll loop
 * acts on them, so no handler does more than write(2) to a self-pipe.
 *
 * Listeners: listen (port 25), submission_listen (587) and smtps_listen
 * (465); each session is told which kind took it.  TLS: the master makes
 * the server's TLS context (certificate chain and key) as root, before it
 * forks, so the key file can stay 0600 root; every smtpd inherits it,
 * and the handshake itself runs in the smtpd, as `user` (tern(8)).  HUP
 * makes a new context, and keeps the old one if the new files are bad.
 *
 * Limits (DESIGN.md): past max_connections children in all, or
 * max_connections_per_ip for one client address, the new client gets a
 * fixed "421 4.7.0" line and is closed.
 *
 * Stress: when every one of the max_connections slots is taken, the
 * master tells each session (SIGUSR2) to wait smtpd_stress_timeout for
 * its client instead of smtpd_timeout, so sessions idle that long (a
 * slowloris from many addresses) give up their slots at once, and for up
 * to STRESS_HOLD_MS it leaves new connections in the kernel's backlog
 * instead of answering 421, so a client that comes in then is served as
 * soon as a slot is free.  Then it answers 421 for as long again, and
 * starts over while the slots stay full.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "delivery.h"
#include "iobuf.h"
#include "local_job.h"
#include "log.h"
#include "mailbox.h"
#include "master.h"
#include "netaddr.h"
#include "pop3.h"
#include "priv.h"
#include "queue.h"
#include "relayauth.h"
#include "smtp_session.h"
#include "smtpd_worker.h"
#include "spool.h"
#include "text.h"
#include "tls.h"

#define MAX_LISTEN	16
#define GRACE_SECONDS	10
#define STRESS_HOLD_MS	1000
#define QUEUE_NICE	5	/* the runner yields the CPU to accepting */

enum child_kind { CHILD_SMTPD, CHILD_QUEUE, CHILD_LOCAL, CHILD_POP3,
	CHILD_MAILBOX };

/* Listener kinds past enum smtpd_port: POP3's (pop3.h, + POP3_BASE). */
#define POP3_BASE	16
#define is_pop3(port)	((port) >= POP3_BASE)

struct child {
	pid_t	 pid;
	int	 kind;			/* enum child_kind */
	char	 addr[64];		/* smtpd: client address while busy */
	int	 ctl;			/* smtpd worker: control socket, -1 */
	int	 busy;			/* smtpd: in a session */
	time_t	 idle_since;
};

struct master {
	struct config	*cfg;
	int		 listen_fd[MAX_LISTEN];
	int		 listen_port[MAX_LISTEN];	/* enum smtpd_port */
	size_t		 nlisten;
	struct smtpd_ctx sctx;		/* what every smtpd inherits */
	struct auth_checker ac;		/* the password checker (auth.h) */
	int		 submit_fd;
	int		 queue_sock;	/* our end of the queue socketpair */
	int		 queue_child;	/* its end, given to each runner */
	pid_t		 queue_pid;
	time_t		 queue_started, queue_restart_at;
	int		 queue_backoff;
	uid_t		 uid;		/* of cfg->user, when root */
	gid_t		 gid;
	struct child	*children;
	size_t		 nchildren, maxchildren;
	size_t		 nsessions;
	long long	 stress_at;	/* ms of the last SIGUSR2 round, 0 */
};

static int		 sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	int	 saved = errno;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	(void)write(sig_pipe[1], "", 1);
	errno = saved;
}

static void
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* stress: a session just forked has no handler yet (smtpd) */
	signal(SIGUSR2, SIG_IGN);
}

/* What a child starts with: default signals, none of the master's fds. */
static void
child_setup(struct master *m, const char *proc, int keep_queue_sock)
{
	size_t	 i;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	for (i = 0; i < m->nlisten; i++)
		close(m->listen_fd[i]);
	if (m->submit_fd != -1)
		close(m->submit_fd);
	close(m->queue_sock);
	if (!keep_queue_sock)
		close(m->queue_child);
	/* only smtpd, a POP3 login and a virtual delivery job ask it */
	if (strcmp(proc, "smtpd") != 0 && strcmp(proc, "pop3-login") != 0 &&
	    strcmp(proc, "virtual") != 0 &&
	    m->ac.fd != -1)
		close(m->ac.fd);
	if (m->ac.grant_fd != -1) {	/* the checker's grants are ours */
		close(m->ac.grant_fd);
		close(m->ac.grant_peer);
	}
	/* Another worker's control socket must close when the master's does. */
	for (i = 0; i < m->nchildren; i++)
		if (m->children[i].ctl != -1)
			close(m->children[i].ctl);
	log_setproc(proc);
}

/*
 * Resource limits (tern(8), RESOURCE LIMITS), so that one runaway child
 * cannot take the host down: an smtpd gets SMTPD_NOFILE descriptors (it
 * needs about ten) and smtpd_memory_limit of data; an smtpd, the queue
 * runner and its agents may write no file larger than a queue file can
 * be (twice max_message_size, for the copy a bounce quotes, and 16 MiB
 * for the envelope).  Local delivery jobs are left alone: a mailbox may
 * be larger than any message.  Under AddressSanitizer (the test build)
 * there is no memory limit: its shadow memory counts as data.
 *
 * The file size limit is left off when the log goes to a standard error
 * that is a regular file (log = stderr, `ternd -f 2>>file`): the limit
 * counts every write to any file, and past it each log line of the
 * queue runner and its agents failed with EFBIG while the master's
 * still got through, so a busy runner's log went silent at 66 MiB.
 */
#define SMTPD_NOFILE	256

static rlim_t
file_limit(const struct config *c)
{
	struct stat st;

	if (c->log == CONFIG_LOG_STDERR && fstat(STDERR_FILENO, &st) == 0 &&
	    S_ISREG(st.st_mode))
		return 0;	/* none: see above */
	return (rlim_t)c->max_message_size * 2 + 16 * 1024 * 1024;
}

static rlim_t
smtpd_memory(const struct config *c)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)c;
	return 0;
#else
	return (rlim_t)c->smtpd_memory_limit;
#endif
}

/* priv_lookup - the uid and gid of `user`, once per (re)load, not per fork */
static int
priv_lookup(struct master *m)
{
	struct passwd *pw;
	gid_t	 groups[64];
	int	 n = 64;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(m->cfg->user)) == NULL) {
		log_warnx("user \"%s\" does not exist", m->cfg->user);
		return -1;
	}
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
	/*
	 * Load the group database's NSS modules here, once: a local job's
	 * initgroups() consults every group source, and a module loaded
	 * in each forked job would cost a dlopen per delivery.
	 */
	getgrouplist(pw->pw_name, pw->pw_gid, groups, &n);
	return 0;
}

static int
child_add(struct master *m, pid_t pid, int kind, const char *addr, int ctl)
{
	struct child *c;

	if (m->nchildren == m->maxchildren) {
		size_t n = m->maxchildren ? m->maxchildren * 2 : 64;
		if ((c = realloc(m->children, n * sizeof(*c))) == NULL)
			return -1;
		m->children = c;
		m->maxchildren = n;
	}
	c = &m->children[m->nchildren++];
	c->pid = pid;
	c->kind = kind;
	snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "");
	c->ctl = ctl;
	c->busy = kind == CHILD_SMTPD || kind == CHILD_POP3;
	if (c->busy)
		m->nsessions++;
	return 0;
}

static void
child_remove(struct master *m, pid_t pid, int status)
{
	size_t	 i;

	for (i = 0; i < m->nchildren; i++) {
		if (m->children[i].pid != pid)
			continue;
		if (m->children[i].busy)
			m->nsessions--;
		if (m->children[i].ctl != -1)
			close(m->children[i].ctl);
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("process %ld killed by signal %d", (long)pid,
			    WTERMSIG(status));
		m->children[i] = m->children[--m->nchildren];
		return;
	}
}

static size_t
sessions_from(const struct master *m, const char *addr)
{
	size_t	 i, n = 0;

	for (i = 0; i < m->nchildren; i++)
		if (m->children[i].busy &&
		    strcmp(m->children[i].addr, addr) == 0)
			n++;
	return n;
}

/*
 * auth_file_open - in the queue runner's child, still root: open
 * relayhost_auth_file (named by the admin in tern.conf) for the remote
 * agents, and read nothing of it (relayauth.c: only an agent, as
 * `user`, preads it).  The runner inherits the descriptor across
 * priv_become(); the master itself never holds it, so no smtpd does.
 */
static void
auth_file_open(const struct config *cfg)
{
	char	 err[512];

	if (cfg->relayhost_auth_file[0] != '\0' &&
	    relayauth_open(cfg->relayhost_auth_file, err, sizeof(err)) == -1)
		log_warnx("relayhost_auth_file %s", err);
}

static void
queue_runner_start(struct master *m)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_warn("fork queue runner");
		m->queue_restart_at = time(NULL) + 5;
		return;
	}
	if (pid == 0) {
		child_setup(m, "qmgr", 1);
		auth_file_open(m->cfg);
		priv_limits(0, file_limit(m->cfg), 0);
		if (priv_become(m->uid, m->gid) == -1)
			_exit(1);
		(void)nice(QUEUE_NICE);
		_exit(queue_run(m->cfg, m->queue_child));
	}
	m->queue_pid = pid;
	m->queue_started = time(NULL);
	m->queue_restart_at = 0;
}

/* The queue runner died: restart it, sooner if it had run a while. */
static void
queue_runner_died(struct master *m)
{
	time_t	 now = time(NULL);

	m->queue_pid = -1;
	if (got_term)
		return;
	if (now - m->queue_started > 60)
		m->queue_backoff = 0;
	m->queue_backoff = m->queue_backoff ? m->queue_backoff * 2 : 1;
	if (m->queue_backoff > 60)
		m->queue_backoff = 60;
	log_warnx("queue runner exited; restarting in %d s", m->queue_backoff);
	m->queue_restart_at = now + m->queue_backoff;
}

static void
reap(struct master *m)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (auth_checker_reaped(&m->ac, pid, status))
			continue;
		if (pid == m->queue_pid)
			queue_runner_died(m);
		else
			child_remove(m, pid, status);
	}
}

/* Hand the connection to a free worker; -1 if there is none. */
static int
worker_reuse(struct master *m, int fd, struct sockaddr *sa, const char *addr,
    int port)
{
	struct child *c;
	size_t	 i;

	for (i = 0; i < m->nchildren; i++) {
		c = &m->children[i];
		if (c->kind != CHILD_SMTPD || c->busy || c->ctl == -1)
			continue;
		if (smtpd_worker_send(c->ctl, fd,
		    (struct sockaddr_storage *)sa, port) == -1) {
			close(c->ctl);		/* it is gone; reap() sees it */
			c->ctl = -1;
			continue;
		}
		c->busy = 1;
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		m->nsessions++;
		return 0;
	}
	return -1;
}

/* A worker said "F": its session is over and it waits for the next. */
static void
worker_event(struct master *m, struct child *c)
{
	char	 b;

	if (read(c->ctl, &b, 1) == 1 && b == 'F' && c->busy) {
		c->busy = 0;
		c->addr[0] = '\0';
		c->idle_since = time(NULL);
		m->nsessions--;
		return;
	}
	close(c->ctl);		/* exiting, or talking nonsense */
	c->ctl = -1;
}

/*
 * Close the control socket of workers that idled past smtpd_max_idle
 * (all of them, with all set: reload and shutdown); a busy one finishes
 * its session first.  Returns the ms until the next idle deadline, -1.
 */
static int
workers_retire(struct master *m, int all)
{
	time_t	 now = time(NULL), left;
	int	 next = -1;
	size_t	 i;
	struct child *c;

	for (i = 0; i < m->nchildren; i++) {
		c = &m->children[i];
		if (c->ctl == -1)
			continue;
		left = c->idle_since + m->cfg->smtpd_max_idle - now;
		if (all || (!c->busy && left <= 0)) {
			close(c->ctl);
			c->ctl = -1;
		} else if (!c->busy && (next == -1 || left * 1000 < next))
			next = (int)(left * 1000);
	}
	return next;
}

/*
 * The connection rate per client address (max_connection_rate): a fixed
 * one-minute window for each of the RATE_SLOTS addresses seen last; a new
 * address takes the slot whose window is oldest.  Bounded: a flood from
 * many addresses only shortens how long one is remembered.
 */
#define RATE_SLOTS	256

struct rate_slot {
	char	 addr[64];
	time_t	 start;
	unsigned int count;
};

static struct rate_slot rate_slots[RATE_SLOTS];

/* rate_exceeded - count one connection from addr; 1 when over the rate */
static int
rate_exceeded(const struct master *m, const struct sockaddr *sa,
    const char *addr)
{
	struct rate_slot *r, *oldest = &rate_slots[0];
	time_t	 now = time(NULL);
	size_t	 i;

	if (m->cfg->max_connection_rate == 0 ||
	    netaddr_in_networks(&m->cfg->relay_networks, sa))
		return 0;
	for (i = 0; i < RATE_SLOTS; i++) {
		r = &rate_slots[i];
		if (strcmp(r->addr, addr) == 0)
			break;
		if (r->start < oldest->start)
			oldest = r;
	}
	if (i == RATE_SLOTS) {
		r = oldest;
		snprintf(r->addr, sizeof(r->addr), "%s", addr);
		r->start = now;
		r->count = 0;
	}
	if (now - r->start >= 60) {
		r->start = now;
		r->count = 0;
	}
	return ++r->count > (unsigned long long)m->cfg->max_connection_rate;
}

/*
 * pop3_login_start - the login process of a POP3 connection (pop3.h): it
 * becomes `user` before the first byte, as an smtpd does, and may ask
 * the password checker; nothing else of the master's goes with it.
 */
static void
pop3_login_start(struct master *m, int fd, struct sockaddr *sa,
    const char *addr, int kind)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return;
	}
	if (pid == 0) {
		child_setup(m, "pop3-login", 0);
		priv_limits(SMTPD_NOFILE, 0, smtpd_memory(m->cfg));
		if (priv_become(m->uid, m->gid) == -1)
			_exit(1);
		_exit(pop3_login_serve(m->cfg, m->sctx.tls, m->ac.fd, fd, sa,
		    kind));
	}
	child_add(m, pid, CHILD_POP3, addr, -1);
}

/* No '/../', no trailing "/..", no control byte, absolute. */
static int
pop3_path_ok(const char *p)
{
	size_t	 n = strlen(p);

	return p[0] == '/' && strstr(p, "/../") == NULL && !(n >= 3 &&
	    strcmp(p + n - 3, "/..") == 0) && !text_has_ctl(p);
}

/*
 * pop3_owner - check a grant field by field and find who owns its
 * mailbox and where that is: a Unix user's Maildir is derived here, from
 * passwd and mailbox/mailbox_path, as for a delivery; a virtual account's
 * path came from the checker and is only checked.  NULL, or the reason
 * the client is told, when it cannot be served.
 */
static const char *
pop3_owner(struct master *m, const struct auth_grant *g, uid_t *uid,
    gid_t *gid, char *path, size_t pathlen)
{
	const struct config *c = m->cfg;
	const char *tmpl = c->mailbox_path, *at = strrchr(g->account, '@');
	struct passwd *pw;
	size_t	 n;

	if (g->kind == AUTH_GRANT_VIRTUAL) {
		if (at == NULL || !config_is_virtual_domain(c, at + 1) ||
		    !pop3_path_ok(g->maildir) ||
		    strlen(g->maildir) >= pathlen)
			return "bad grant";
		pw = getpwnam(c->virtual_user);
		if (geteuid() == 0 && (pw == NULL || pw->pw_uid == 0))
			return "virtual_user is no user, or root";
		strcpy(path, g->maildir);
	} else {
		if (at != NULL || (pw = getpwnam(g->account)) == NULL)
			return "no such Unix user";
		if (geteuid() == 0 && (pw->pw_uid == 0 || pw->pw_uid ==
		    m->uid))
			return "root and user have no POP3 mailbox";
		if (tmpl == NULL || tmpl[0] == '\0')
			tmpl = c->mailbox == CONFIG_MAILBOX_MBOX ?
			    "/var/mail/%u" : "%h/Maildir/";
		if (mailbox_expand_path(tmpl, pw->pw_dir, pw->pw_name,
		    c->hostname, path, pathlen) == -1 || !pop3_path_ok(path))
			return "bad mailbox_path";
	}
	n = strlen(path);
	if (n == 0 || path[n - 1] != '/')
		return "POP3 serves Maildir mailboxes only, not mbox";
	if (geteuid() == 0) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		*uid = geteuid();
		*gid = getegid();
	}
	return NULL;
}

/*
 * pop3_grant - the checker says a POP3 login was right: fork the mailbox
 * process of the session, which becomes the owner before it opens
 * anything (pop3_mailbox.c).  The master reads the fixed-size grant
 * only, and writes the client nothing but a fixed line when it refuses.
 */
static void
pop3_grant(struct master *m)
{
	static const char perm[] = "-ERR [SYS/PERM] This account has no "
	    "mailbox POP3 can serve.\r\n";
	struct auth_grant g;
	char	 path[PATH_MAX];
	const char *why;
	uid_t	 uid = 0;
	gid_t	 gid = 0;
	pid_t	 pid;
	int	 fd;

	if (auth_grant_recv(m->ac.grant_fd, &g, &fd) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("bad POP3 grant");
		return;
	}
	if ((why = pop3_owner(m, &g, &uid, &gid, path, sizeof(path))) !=
	    NULL) {
		log_warnx("POP3 login of %s refused: %s", g.account, why);
		(void)send(fd, perm, sizeof(perm) - 1, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if ((pid = fork()) == -1)
		log_warn("fork POP3 mailbox");
	else if (pid == 0) {
		child_setup(m, "pop3", 0);
		if (priv_become(uid, gid) == -1)
			_exit(1);
		_exit(pop3_mailbox_serve(m->cfg, fd, g.account, path));
	} else
		child_add(m, pid, CHILD_MAILBOX, NULL, -1);
	close(fd);
}

static void
session_start(struct master *m, int fd, struct sockaddr *sa, long uid,
    int port)
{
	char	 addr[64], busy[256];
	pid_t	 pid;
	int	 n, sp[2];

	netaddr_string(sa, addr, sizeof(addr));
	if (m->nsessions >= (size_t)m->cfg->max_connections ||
	    (uid < 0 && sessions_from(m, addr) >=
	    (size_t)m->cfg->max_connections_per_ip)) {
		n = snprintf(busy, sizeof(busy), is_pop3(port) ?
		    "-ERR [SYS/TEMP] %s: too many connections%s\r\n" :
		    "421 4.7.0 %s Error: too many connections%s\r\n",
		    m->cfg->hostname,
		    m->nsessions >= (size_t)m->cfg->max_connections ? "" :
		    " from your address");
		(void)write(fd, busy, (size_t)n);
		log_warnx("%s from %s", m->nsessions >=
		    (size_t)m->cfg->max_connections ? "too many connections" :
		    "too many connections from one address", addr);
		return;
	}
	if (uid < 0 && rate_exceeded(m, sa, addr)) {
		n = snprintf(busy, sizeof(busy), is_pop3(port) ?
		    "-ERR [SYS/TEMP] %s: too many connections from your "
		    "address\r\n" : "421 4.7.0 %s Error: too many "
		    "connections from your address\r\n", m->cfg->hostname);
		(void)write(fd, busy, (size_t)n);
		log_warnx("connection rate limit exceeded: more than %lld a "
		    "minute from %s", m->cfg->max_connection_rate, addr);
		return;
	}
	m->sctx.auth_fd = m->ac.fd;	/* -1 while it restarts */
	if (is_pop3(port)) {
		pop3_login_start(m, fd, sa, addr, port - POP3_BASE);
		return;
	}
	if (uid < 0 && worker_reuse(m, fd, sa, addr, port) == 0)
		return;
	sp[0] = sp[1] = -1;
	if (uid < 0 && m->cfg->smtpd_max_use > 1 && socketpair(AF_UNIX,
	    SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		log_warn("socketpair");
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(sp[0]);
		close(sp[1]);
		return;
	}
	if (pid == 0) {
		child_setup(m, "smtpd", 0);
		priv_limits(SMTPD_NOFILE, file_limit(m->cfg),
		    smtpd_memory(m->cfg));
		if (priv_become(m->uid, m->gid) == -1)
			_exit(1);
		if (sp[1] != -1) {
			close(sp[0]);
			_exit(smtpd_worker_run(m->cfg, &m->sctx, sp[1], fd,
			    (struct sockaddr_storage *)sa, port));
		}
		_exit(smtp_session_serve(m->cfg, &m->sctx, fd, sa, uid, port));
	}
	if (sp[1] != -1)
		close(sp[1]);
	child_add(m, pid, CHILD_SMTPD, addr, sp[0]);
}

/* Take what the backlog holds (bounded), one poll wake-up for many. */
static void
accept_tcp(struct master *m, int lfd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	 fd, i;

	for (i = 0; i < 32; i++) {
		len = sizeof(ss);
		if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC)) == -1)
			return;
		session_start(m, fd, (struct sockaddr *)&ss, -1, port);
		close(fd);
		if (got_chld) {
			got_chld = 0;
			reap(m);
		}
	}
}

static void
accept_local(struct master *m)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t len = sizeof(sun), clen = sizeof(cred);
	int	 fd;

	if ((fd = accept4(m->submit_fd, (struct sockaddr *)&sun, &len,
	    SOCK_CLOEXEC)) == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1)
		log_warn("SO_PEERCRED");
	else {
		sun.sun_family = AF_UNIX;
		session_start(m, fd, (struct sockaddr *)&sun, (long)cred.uid,
		    SMTPD_PORT_MX);
	}
	close(fd);
}

/*
 * local_request - a local delivery job from an agent of the queue runner:
 * fork its process, which checks the job and becomes the target user
 * before it reads anything (local_job.c).  The master itself reads only
 * the fixed-size struct.
 */
static void
local_request(struct master *m)
{
	struct local_job job;
	int	 fds[2];
	pid_t	 pid;

	switch (local_job_recv(m->queue_sock, &job, fds)) {
	case 0:
		break;
	case 1:
		return;		/* end of file: cannot happen, we hold both ends */
	default:
		if (errno != EAGAIN && errno != EINTR)
			log_warn("bad local delivery request");
		return;
	}
	if ((pid = fork()) == -1)
		log_warn("fork local delivery job");
	else if (pid == 0) {
		/* A virtual job asks the current checker (-1 while it
		 * restarts: deferred), so no runner holds a stale one. */
		child_setup(m, job.kind == LOCAL_JOB_VIRTUAL ? "virtual" :
		    "local", 0);
		local_job_auth_fd(job.kind == LOCAL_JOB_VIRTUAL ? m->ac.fd : -1);
		_exit(local_job_exec(m->cfg, &job, fds[0], fds[1]));
	} else
		child_add(m, pid, CHILD_LOCAL, NULL, -1);
	close(fds[0]);
	close(fds[1]);
}

static int
listen_one(struct master *m, const char *spec, int kind)
{
	char	 host[256], port[16];
	struct addrinfo hints, *res;
	int	 fd, on = 1, rc;

	if (m->nlisten == MAX_LISTEN || hostport_split(spec, host,
	    sizeof(host), port, sizeof(port)) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 512) == -1) {
		log_warn("listen %s", spec);
		close(fd);
		goto fail;
	}
	freeaddrinfo(res);
	m->listen_port[m->nlisten] = kind;
	m->listen_fd[m->nlisten++] = fd;
	return 0;
fail:
	freeaddrinfo(res);
	return -1;
}

static int
submit_listen(struct master *m)
{
	struct sockaddr_un sun;
	const char *path = m->cfg->submit_socket;
	char	 dir[sizeof(sun.sun_path)], *slash;
	int	 fd;

	m->submit_fd = -1;
	if (path[0] == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("submit_socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 || listen(fd, 128) == -1) {
		log_warn("submit_socket %s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	m->submit_fd = fd;
	return 0;
}

/*
 * tls_load - the server's TLS context from smtpd_tls_cert_file and
 * smtpd_tls_key_file, read here as root.  -1 (logged) when they are set
 * and cannot be used; the caller keeps what it had.
 */
static int
tls_load(struct master *m)
{
	const struct config *c = m->cfg;
	struct tls_ctx *t;
	char	 err[512];

	if (c->smtpd_tls_cert_file[0] == '\0' &&
	    c->smtpd_tls_key_file[0] == '\0') {
		tls_ctx_free(m->sctx.tls);
		m->sctx.tls = NULL;
		return 0;
	}
	if (c->smtpd_tls_cert_file[0] == '\0' ||
	    c->smtpd_tls_key_file[0] == '\0') {
		log_warnx("smtpd_tls_cert_file and smtpd_tls_key_file go "
		    "together; TLS needs both");
		return -1;
	}
	if ((t = tls_server_ctx(c->smtpd_tls_cert_file, c->smtpd_tls_key_file,
	    err, sizeof(err))) == NULL) {
		log_warnx("TLS: %s", err);
		return -1;
	}
	tls_ctx_free(m->sctx.tls);
	m->sctx.tls = t;
	return 0;
}

/*
 * The checker must run when AUTH is offered on the submission listeners,
 * or when there are virtual domains: RCPT and their deliveries ask it
 * which accounts exist.
 */
static int
auth_wanted(const struct master *m)
{
	size_t	 i;

	if (m->cfg->virtual_domains.n > 0)
		return 1;
	for (i = 0; i < m->nlisten; i++)
		if (m->listen_port[i] != SMTPD_PORT_MX)
			return 1;
	return 0;
}

/*
 * auth_start - a password checker for auth_users (auth.h: it opens the
 * file as root, then reads it as `user`; this process reads none of it).
 * -1 (logged) when it cannot; the previous checker, if any, stays.
 */
static int
auth_start(struct master *m)
{
	char	 err[1024];

	if (!auth_wanted(m))
		return 0;
	if (auth_checker_start(&m->ac, m->cfg, m->uid, m->gid, err,
	    sizeof(err)) == -1) {
		log_warnx("password checker: %s", err);
		return -1;
	}
	m->sctx.auth_fd = m->ac.fd;
	return 0;
}

static int
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/*
 * The sockets are bound once, as root, before the master gives up
 * anything it could give up; a reload cannot bind new ones, so a changed
 * address list is named in the log and waits for a restart.
 */
static void
reload_listeners(const struct config *old, const struct config *new)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} keys[] = {
		{ "listen", offsetof(struct config, listen) },
		{ "submission_listen", offsetof(struct config, submission_listen) },
		{ "smtps_listen", offsetof(struct config, smtps_listen) },
		{ "pop3_listen", offsetof(struct config, pop3_listen) },
		{ "pop3s_listen", offsetof(struct config, pop3s_listen) },
	};
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strlist_equal((const void *)((const char *)old +
		    keys[i].off), (const void *)((const char *)new +
		    keys[i].off)))
			log_warnx("%s changed: the listening sockets stay as "
			    "they are until tern is restarted", keys[i].key);
}

static void
reload(struct master *m)
{
	struct config new;
	char	 err[1024];

	if (config_load(&new, m->cfg->path, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the old configuration: %s",
		    err);
		return;
	}
	reload_listeners(m->cfg, &new);
	config_free(m->cfg);
	*m->cfg = new;
	if (priv_lookup(m) == -1)
		log_warnx("keeping the old user's ids");
	if (tls_load(m) == -1)
		log_warnx("keeping the old TLS certificate and key");
	if (auth_start(m) == -1)
		log_warnx("keeping the old password checker");
	log_info("configuration reloaded from %s", m->cfg->path);
	workers_retire(m, 1);	/* new sessions get the new configuration */
	if (m->queue_pid > 0)
		kill(m->queue_pid, SIGHUP);
}

/* SIGTERM: stop accepting, give sessions a grace period, then end them. */
static void
shutdown_children(struct master *m)
{
	time_t	 deadline = time(NULL) + GRACE_SECONDS;
	size_t	 i;

	auth_checker_stop(&m->ac);
	for (i = 0; i < m->nlisten; i++)
		close(m->listen_fd[i]);
	m->nlisten = 0;
	workers_retire(m, 1);
	if (m->submit_fd != -1) {
		close(m->submit_fd);
		unlink(m->cfg->submit_socket);
	}
	if (m->queue_pid > 0)
		kill(m->queue_pid, SIGTERM);
	while ((m->nchildren > 0 || m->queue_pid > 0) &&
	    time(NULL) < deadline) {
		reap(m);
		usleep(20000);
	}
	for (i = 0; i < m->nchildren; i++)
		kill(m->children[i].pid, SIGTERM);
	if (m->queue_pid > 0)
		kill(m->queue_pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

/* Poll the workers' control sockets; pids[] maps pfd slots to workers. */
static size_t
poll_workers(struct master *m, struct pollfd *pfd, pid_t *pids, size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < m->nchildren && n < max; i++)
		if (m->children[i].ctl != -1) {
			pids[n] = m->children[i].pid;
			pfd[n].fd = m->children[i].ctl;
			pfd[n++].events = POLLIN;
		}
	return n;
}

static struct child *
child_find(struct master *m, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < m->nchildren; i++)
		if (m->children[i].pid == pid)
			return &m->children[i];
	return NULL;
}

/*
 * stress - with every slot taken: whether to leave the listeners alone
 * for now (lowering *timeout to the end of the hold).  Each round of a
 * hold and a 421 period starts by telling the sessions (see the top).
 */
static int
stress(struct master *m, int *timeout)
{
	long long now, left;
	size_t	 i, n = 0;

	if (m->nsessions < (size_t)m->cfg->max_connections ||
	    m->cfg->smtpd_stress_timeout == 0) {
		m->stress_at = 0;
		return 0;
	}
	now = iobuf_now_ms();
	if (m->stress_at == 0 || now - m->stress_at >= 2 * STRESS_HOLD_MS) {
		for (i = 0; i < m->nchildren; i++)
			if (m->children[i].kind == CHILD_SMTPD &&
			    m->children[i].busy) {
				kill(m->children[i].pid, SIGUSR2);
				n++;
			}
		if (m->stress_at == 0)
			log_warnx("all %lld connections taken: %zu sessions "
			    "told to wait %llds for their clients",
			    m->cfg->max_connections, n,
			    m->cfg->smtpd_stress_timeout);
		m->stress_at = now;
	}
	if ((left = m->stress_at + STRESS_HOLD_MS - now) <= 0)
		return 0;
	if (*timeout == -1 || left < *timeout)
		*timeout = (int)left;
	return 1;
}

/* The poll set: these slots, the listeners, then the workers. */
enum { PFD_SIG, PFD_QUEUE, PFD_SUBMIT, PFD_GRANT, PFD_LISTEN };

static void
master_loop(struct master *m)
{
	struct pollfd *pfd = NULL;
	pid_t	*pids = NULL;
	struct child *c;
	char	 drain[64];
	size_t	 i, n, nfixed, cap = 0;
	int	 timeout, idle, hold;

	while (!got_term) {
		if (cap < m->nchildren + MAX_LISTEN + PFD_LISTEN) {
			cap = m->nchildren + MAX_LISTEN + 64;
			free(pfd);
			free(pids);
			pfd = calloc(cap, sizeof(*pfd));
			pids = calloc(cap, sizeof(*pids));
			if (pfd == NULL || pids == NULL)
				fatal("poll set");
		}
		pfd[PFD_SIG].fd = sig_pipe[0];
		pfd[PFD_QUEUE].fd = m->queue_sock;
		pfd[PFD_SUBMIT].fd = m->submit_fd;
		pfd[PFD_GRANT].fd = m->ac.grant_fd;
		for (n = 0; n < PFD_LISTEN; n++)
			pfd[n].events = POLLIN;
		nfixed = n + m->nlisten;
		n += poll_workers(m, pfd + nfixed, pids + nfixed, cap - nfixed);
		idle = workers_retire(m, 0);
		timeout = m->queue_restart_at ? 1000 : -1;
		if (idle != -1 && (timeout == -1 || idle < timeout))
			timeout = idle + 1;
		hold = stress(m, &timeout);
		for (i = 0; i < m->nlisten; i++) {
			pfd[PFD_LISTEN + i].fd = hold ? -1 : m->listen_fd[i];
			pfd[PFD_LISTEN + i].events = POLLIN;
			pfd[PFD_LISTEN + i].revents = 0;
		}
		n += m->nlisten;
		/* a new checker: idle workers hold the old one's socket */
		if (auth_checker_timer(&m->ac, m->cfg, m->uid, m->gid,
		    &timeout)) {
			m->sctx.auth_fd = m->ac.fd;
			workers_retire(m, 1);
		}
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			fatal("poll");
		if (pfd[PFD_SIG].revents & POLLIN)
			(void)read(sig_pipe[0], drain, sizeof(drain));
		for (i = nfixed; i < n; i++)
			if (pfd[i].revents && (c = child_find(m, pids[i])) !=
			    NULL && c->ctl == pfd[i].fd)
				worker_event(m, c);
		if (got_chld) {
			got_chld = 0;
			reap(m);
		}
		if (got_hup) {
			got_hup = 0;
			reload(m);
		}
		if (m->queue_restart_at && time(NULL) >= m->queue_restart_at)
			queue_runner_start(m);
		if (pfd[PFD_QUEUE].revents & POLLIN)
			local_request(m);
		if (pfd[PFD_SUBMIT].revents & POLLIN)
			accept_local(m);
		if ((pfd[PFD_GRANT].revents & POLLIN) &&
		    pfd[PFD_GRANT].fd == m->ac.grant_fd)
			pop3_grant(m);
		for (i = PFD_LISTEN; i < nfixed; i++)
			if (pfd[i].revents & POLLIN)
				accept_tcp(m, pfd[i].fd,
				    m->listen_port[i - PFD_LISTEN]);
	}
	free(pfd);
	free(pids);
}

static void
write_pid_file(const char *path)
{
	FILE	*fp;

	if (path[0] == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL) {
		log_warn("pid file %s", path);
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

/*
 * daemonize - detach, after the listeners are bound so that a port in
 * use is reported to whoever started us, not only to the log.
 */
static void
daemonize(void)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

int
master_run(struct config *cfg, int detach)
{
	struct master m;
	int	 sp[2];
	size_t	 i;

	memset(&m, 0, sizeof(m));
	auth_checker_init(&m.ac);
	m.cfg = cfg;
	m.queue_pid = -1;
	if (priv_lookup(&m) == -1)
		fatalx("cannot run as user %s", cfg->user);
	m.sctx.auth_fd = -1;
	if (tls_load(&m) == -1)
		fatalx("cannot load the TLS certificate and key");
	if (cfg->smtps_listen.n > 0 && m.sctx.tls == NULL)
		fatalx("smtps_listen needs smtpd_tls_cert_file and "
		    "smtpd_tls_key_file");
	for (i = 0; i < cfg->listen.n; i++)
		if (listen_one(&m, cfg->listen.v[i], SMTPD_PORT_MX) == -1)
			fatalx("cannot listen on %s", cfg->listen.v[i]);
	for (i = 0; i < cfg->submission_listen.n; i++)
		if (listen_one(&m, cfg->submission_listen.v[i],
		    SMTPD_PORT_SUBMISSION) == -1)
			fatalx("cannot listen on %s",
			    cfg->submission_listen.v[i]);
	for (i = 0; i < cfg->smtps_listen.n; i++)
		if (listen_one(&m, cfg->smtps_listen.v[i],
		    SMTPD_PORT_SMTPS) == -1)
			fatalx("cannot listen on %s", cfg->smtps_listen.v[i]);
	if (cfg->pop3s_listen.n > 0 && m.sctx.tls == NULL)
		fatalx("pop3s_listen needs smtpd_tls_cert_file and "
		    "smtpd_tls_key_file");
	for (i = 0; i < cfg->pop3_listen.n; i++)
		if (listen_one(&m, cfg->pop3_listen.v[i],
		    POP3_BASE + POP3_PORT_PLAIN) == -1)
			fatalx("cannot listen on %s", cfg->pop3_listen.v[i]);
	for (i = 0; i < cfg->pop3s_listen.n; i++)
		if (listen_one(&m, cfg->pop3s_listen.v[i],
		    POP3_BASE + POP3_PORT_TLS) == -1)
			fatalx("cannot listen on %s", cfg->pop3s_listen.v[i]);
	if (submit_listen(&m) == -1)
		fatalx("cannot create the submit socket");
	if (detach) {
		daemonize();
		log_init("master", cfg->log == CONFIG_LOG_STDERR);
	}
	write_pid_file(cfg->pid_file);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1 ||
	    pipe(sig_pipe) == -1)
		fatal("socketpair");
	m.queue_sock = sp[0];
	m.queue_child = sp[1];
	fcntl(m.queue_sock, F_SETFL, O_NONBLOCK);
	fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
	signals_setup();
	if (auth_start(&m) == -1)
		fatalx("cannot start the password checker");
	queue_runner_start(&m);
	log_info("daemon started -- tern, listening on %zu address%s",
	    m.nlisten, m.nlisten == 1 ? "" : "es");
	master_loop(&m);
	log_info("terminating on signal");
	shutdown_children(&m);
	tls_ctx_free(m.sctx.tls);
	free(m.children);
	return 0;
}
