/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp.c - libFuzzer target for a whole SMTP server session: the
 * input is what a client sends.  It is written into one end of a
 * socketpair, which is then shut for writing; smtp_session_run() runs
 * in-process on the other end until end of file, while a child process
 * (forked once; the socket end is passed to it with SCM_RIGHTS) reads
 * and drops the replies.  The low bit of the first byte makes the
 * session a local submission (uid set, trusted) instead of a TCP client
 * at 192.0.2.1.  Messages go to a spool in a fresh directory (under
 * /dev/shm when there is one), emptied every SPOOL_SWEEP runs and
 * removed at exit.  See tests/fuzz/README.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdpass.h"
#include "log.h"
#include "smtp_session.h"
#include "spool.h"

#define SPOOL_SWEEP	256
#define SOCKBUF		(1024 * 1024)

static struct config cfg;
static char	 spool[PATH_MAX];
static struct sockaddr_in peer;
static int	 ctl = -1;		/* to the drain child */

/* empty_dir - unlink the files in dir (the spool has no deeper files) */
static void
empty_dir(const char *dir, int rmdirs)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	DIR	*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == -1 && rmdirs) {
			empty_dir(path, rmdirs);
			rmdir(path);
		}
	}
	closedir(d);
}

static void
sweep(void)
{
	char	 path[PATH_MAX];
	int	 i;

	snprintf(path, sizeof(path), "%s/tmp", spool);
	empty_dir(path, 0);
	for (i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/queue/%02x", spool, i);
		empty_dir(path, 0);
	}
}

static void
cleanup(void)
{
	empty_dir(spool, 1);
	rmdir(spool);
}

static void
setup(void)
{
	char	 text[PATH_MAX * 2 + 256], err[1024];
	struct stat st;

	log_init("fuzz", 0);
	snprintf(spool, sizeof(spool), "%s/tern-fuzz.XXXXXX",
	    stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" :
	    "/tmp");
	if (mkdtemp(spool) == NULL)
		abort();
	atexit(cleanup);
	snprintf(text, sizeof(text), "hostname = mx.test\n"
	    "local_domains = test, mx.test\nrelay_networks = 198.51.100.0/24\n"
	    "spool_dir = %s\naliases = %s/aliases\nsmtpd_timeout = 1s\n"
	    "client_name_lookup = no\nmax_message_size = 2k\n"
	    "recipient_delimiter = +\n", spool, spool);
	if (config_parse_string(&cfg, "fuzz.conf", text, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	if (spool_setup(spool, NULL, 0) == -1)
		abort();
	peer.sin_family = AF_INET;
	peer.sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.1", &peer.sin_addr);
}

/* drainer - the child: read each socket it is sent to its end */
static void
drainer(int sock)
{
	char	 buf[8192];
	int	 fd;

	while (fdpass_recv(sock, buf, sizeof(buf), &fd) > 0) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	_exit(0);
}

static void
drainer_start(void)
{
	int	 sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		abort();
	switch (fork()) {
	case -1:
		abort();
	case 0:
		close(sp[0]);
		drainer(sp[1]);
	}
	close(sp[1]);
	ctl = sp[0];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	int	 sv[2], big = SOCKBUF;
	long	 uid;

	if (runs++ == 0) {
		setup();
		drainer_start();
	} else if (runs % SPOOL_SWEEP == 0)
		sweep();
	if (size == 0 || size > 65536)
		return 0;
	uid = data[0] & 1 ? 1000 : -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (write(sv[0], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[0], SHUT_WR);
	if (fdpass_send(ctl, "s", 1, sv[0]) == -1)
		abort();
	close(sv[0]);
	smtp_session_run(&cfg, sv[1], (struct sockaddr *)&peer, uid);
	close(sv[1]);
	return 0;
}
