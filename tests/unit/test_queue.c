/* SPDX-License-Identifier: ISC */
/*
 * test_queue.c - the queue runner end to end on a private spool: a child
 * runs queue_run() with no master (it forks its own agents); the
 * transport map sends discard.example to "discard" and down.example to
 * a closed local port.  Checks delivery and removal, deferral and the
 * state file, expiry with a bounce, hold, corrupt and orphan files.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "log.h"
#include "queue.h"
#include "queuefile.h"
#include "spool.h"
#include "unit.h"

static char	 dir[64];
static struct config cfg;

/* A local TCP port that refuses connections (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int	 s = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(s, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(s);
	return port;
}

static void
enqueue(const char *sender, time_t age, const char *rcpt, char *id)
{
	struct queuefile_new sf;
	struct envelope env;

	CHECK(queuefile_create(cfg.spool_dir, &sf) == 0);
	envelope_init(&env);
	env.version = ENVELOPE_VERSION;
	strcpy(env.id, sf.id);
	env.arrival = time(NULL) - age;
	strcpy(env.client, "localhost [127.0.0.1]");
	strcpy(env.helo, "localhost");
	strcpy(env.protocol, "ESMTP");
	env.uid = -1;
	snprintf(env.sender, sizeof(env.sender), "%s", sender);
	CHECK(envelope_add_rcpt(&env, rcpt, 0, "") == 0);
	CHECK(envelope_write(sf.fp, &env) == 0);
	fputs("Subject: test\r\n\r\nhello\r\n", sf.fp);
	CHECK(queuefile_commit(cfg.spool_dir, &sf) == 0);
	strcpy(id, sf.id);
	envelope_free(&env);
}

static int
exists(const char *kind, const char *id)
{
	char	 path[1024];

	return spool_path(cfg.spool_dir, kind, id, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

static char *
slurp_state(const char *id, char *buf, size_t len)
{
	char	 path[1024];
	FILE	*fp;
	size_t	 n = 0;

	buf[0] = '\0';
	if (spool_path(cfg.spool_dir, "state", id, path, sizeof(path)) == 0 &&
	    (fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* wait up to 10 s for cond */
#define WAIT_FOR(cond) do {						\
	int	 tries_;						\
	for (tries_ = 0; tries_ < 200 && !(cond); tries_++)		\
		usleep(50000);						\
	CHECK(cond);							\
} while (0)

static void
test_queue_run(void)
{
	char	 conf[1024], path[1024], err[512], st[4096];
	char	 ok[16], later[16], old[16];
	pid_t	 pid;
	int	 status;
	FILE	*fp;

	snprintf(conf, sizeof(conf), "hostname = test.example\n"
	    "local_domains = test.example\nspool_dir = %s/spool\n"
	    "transport = %s/transport\nlog = stderr\n", dir, dir);
	CHECK(config_parse_string(&cfg, "t.conf", conf, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/transport", dir);
	CHECK((fp = fopen(path, "w")) != NULL);
	fprintf(fp, "discard.example discard\n"
	    "down.example [127.0.0.1]:%d\n", closed_port());
	fclose(fp);
	CHECK(spool_setup(cfg.spool_dir, NULL, 0) == 0);

	enqueue("a@discard.example", 0, "b@discard.example", ok);
	enqueue("a@discard.example", 0, "c@down.example", later);
	enqueue("a@discard.example", 6 * 86400, "d@down.example", old);
	snprintf(path, sizeof(path), "%s/spool/queue/00", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/spool/queue/00/junk", dir);
	CHECK((fp = fopen(path, "w")) != NULL && fclose(fp) == 0);
	snprintf(path, sizeof(path), "%s/spool/state/00", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/spool/state/00/0AAAAAAAAAAAAAA", dir);
	CHECK((fp = fopen(path, "w")) != NULL && fclose(fp) == 0);

	if ((pid = fork()) == 0)
		_exit(queue_run(&cfg, -1));
	WAIT_FOR(!exists("queue", ok));
	CHECK(!exists("state", ok));
	WAIT_FOR(strstr(slurp_state(later, st, sizeof(st)),
	    "rcpt: 0 deferred 1 ") != NULL);
	CHECK(strstr(st, "held: no") != NULL);
	WAIT_FOR(!exists("queue", old));	/* expired and bounced */
	CHECK(access(path, F_OK) == -1);	/* orphan state removed */
	snprintf(path, sizeof(path), "%s/spool/corrupt/junk", dir);
	CHECK(access(path, F_OK) == 0);

	snprintf(conf, sizeof(conf), "hold %s\n", later);
	spool_trigger(cfg.spool_dir, conf);
	WAIT_FOR(strstr(slurp_state(later, st, sizeof(st)), "held: yes"));
	snprintf(conf, sizeof(conf), "delete %s\n", later);
	spool_trigger(cfg.spool_dir, conf);
	WAIT_FOR(!exists("queue", later) && !exists("state", later));

	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	config_free(&cfg);
}

int
main(void)
{
	char	 cmd[128];

	log_init("test_queue", 1);
	strcpy(dir, "/tmp/test_queue.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_queue_run);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
