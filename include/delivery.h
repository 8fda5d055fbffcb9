/* SPDX-License-Identifier: ISC */
/*
 * delivery.h - what the queue runner hands a delivery agent, and what
 * the agent reports back.
 *
 * A job is one message and some of its recipients (all for one
 * destination), with what the agent needs of the message: the queue
 * runner's parsed envelope and the mark of its queue file (where the
 * message is, and which file it was).  The agent reopens the file with
 * queuefile_open_body() and never parses the envelope again.  An agent is
 * a child process of the queue runner, forked with the runner's memory,
 * so the envelope pointer is valid in it: remote_agent_run() for a
 * remote domain and the route the runner found for it, local_agent_run()
 * for local recipients (it asks the master for each step that needs
 * another uid, see local_job.h).  The agent writes one result line per
 * recipient to result_fd, in this exact form (fields separated by one
 * space, text fields xtext-encoded, "-" for empty):
 *
 *	result ID INDEX ok|defer|fail DSN RELAY REPLY\n
 *
 * e.g. "result 0RB8KX2JZ5Q0A1 0 ok 2.0.0 mx.example.org[192.0.2.1]:25
 *	 250+2.0.0+Ok\n".  A recipient with no line is taken as deferred
 * ("agent died"), so a crash never loses mail.
 *
 * A remote agent may also write, before the results they concern:
 *
 *	throttle REASON\n	the destination asked to slow down (421, or
 *			4.7.x about rate): the runner backs off from it
 *	mx TEXT\n	the MX answer it looked up, as mx_to_text(): the
 *			runner keeps it for its TTL for later agents
 */
#ifndef TERN_DELIVERY_H
#define TERN_DELIVERY_H

#include <stddef.h>

#include "config.h"
#include "envelope.h"
#include "queuefile.h"
#include "transport.h"

enum deliver_status { DELIVER_OK, DELIVER_TEMPFAIL, DELIVER_PERMFAIL };

struct delivery_rcpt {
	size_t	 index;			/* position in the queue file */
	char	 addr[ADDR_MAX];
	int	 notify;		/* NOTIFY_* */
	char	 orcpt[ADDR_MAX];
};

struct delivery_job {
	char	 id[QUEUEID_LEN + 1];
	const struct envelope *env;	/* the runner's parse; not owned */
	struct queuefile_mark file;	/* the queue file it was parsed from */
	struct delivery_rcpt *rcpt;	/* owned; delivery_job_free() */
	size_t	 nrcpt;
};

struct delivery_result {
	char	 id[QUEUEID_LEN + 1];
	size_t	 index;
	int	 status;		/* enum deliver_status */
	char	 dsn[16];		/* "2.0.0", "4.4.1", "5.1.1" */
	char	 relay[256];		/* "host[addr]:port", "local", "" */
	char	 reply[512];		/* remote reply or reason */
};

void	delivery_job_free(struct delivery_job *);
/*
 * The bytes a RELAY or REPLY may hold: the one predicate both the writer
 * and the reader of result lines use.  Sanitise turns the others into
 * spaces, in place.
 */
int	delivery_is_text_char(int c);
void	delivery_text_sanitise(char *);
int	delivery_result_format(const struct delivery_result *, char *, size_t);
int	delivery_result_parse(const char *line, struct delivery_result *);
/* Write one result line to fd (a single write(2)); -1 on error. */
int	delivery_result_send(int fd, const struct delivery_result *);

/*
 * The agents: child processes; they return an exit status for _exit().
 * The queue runner routes a remote domain (transport.h) and hands the
 * route over: the agent never consults the transport map itself, and
 * never gets a "discard" route (the runner decides those).
 */
int	remote_agent_run(const struct config *, const char *domain,
	    const struct transport_route *, struct delivery_job *jobs,
	    size_t njobs, int result_fd);
/*
 * remote_tls_preload - the remote agents' TLS context, made once in the
 * queue runner (at start and on HUP) for every agent it forks to inherit.
 */
void	remote_tls_preload(const struct config *);
/* master_sock: where privileged jobs go (local_job.h); -1: forked here */
int	local_agent_run(const struct config *, struct delivery_job *jobs,
	    size_t njobs, int result_fd, int master_sock);

#endif
