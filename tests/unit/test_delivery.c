/* SPDX-License-Identifier: ISC */
/*
 * test_delivery.c - result lines and local delivery requests: round
 * trips, and rejection of everything malformed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "unit.h"

#define ID	"1NHGJV18FQF0GJK"	/* a real spool_new_id() id */

static void
test_result_round_trip(void)
{
	struct delivery_result r, back;
	char	 line[4096];

	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	r.index = 3;
	r.status = DELIVER_OK;
	strcpy(r.dsn, "2.0.0");
	strcpy(r.relay, "mx.example.org[192.0.2.1]:25");
	strcpy(r.reply, "250 2.0.0 Ok: queued as X+Y=Z");
	CHECK(delivery_result_format(&r, line, sizeof(line)) == 0);
	CHECK_STR(line, "result " ID " 3 ok 2.0.0 mx.example.org[192.0.2.1]:25"
	    " 250+202.0.0+20Ok:+20queued+20as+20X+2BY+3DZ\n");
	CHECK(delivery_result_parse(line, &back) == 0);
	CHECK_STR(back.id, ID);
	CHECK(back.index == 3 && back.status == DELIVER_OK);
	CHECK_STR(back.relay, r.relay);
	CHECK_STR(back.reply, r.reply);

	r.status = DELIVER_PERMFAIL;
	strcpy(r.dsn, "5.1.10");
	r.relay[0] = '\0';
	strcpy(r.reply, "-");
	CHECK(delivery_result_format(&r, line, sizeof(line)) == 0);
	CHECK_STR(line, "result " ID " 3 fail 5.1.10 - +2D\n");
	CHECK(delivery_result_parse(line, &back) == 0);
	CHECK(back.status == DELIVER_PERMFAIL);
	CHECK_STR(back.relay, "");
	CHECK_STR(back.reply, "-");
	/* without the newline too */
	CHECK(delivery_result_parse("result " ID " 0 defer 4.4.1 - -", &back)
	    == 0);
	CHECK(back.status == DELIVER_TEMPFAIL);
}

static void
test_result_rejects(void)
{
	struct delivery_result r;
	const char *bad[] = {
		"",
		"\n",
		"result " ID " 0 ok 2.0.0 -\n",
		"result " ID " 0 ok 2.0.0 - - extra\n",
		"result " ID " 0 sent 2.0.0 - -\n",
		"result " ID " -1 ok 2.0.0 - -\n",
		"result " ID " 01 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0 - -\n",
		"result " ID " 0 ok 3.0.0 - -\n",
		"result " ID " 0 ok 2.0.1000 - -\n",
		"result " ID "  0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - -\n\n",
		"result ../../etc 0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - a+0Ab\n",
		"result " ID " 0 ok 2.0.0 - a+zz\n",
		"result " ID " 0 ok 2.0.0 - a=b\n",
		"reslt " ID " 0 ok 2.0.0 - -\n",
		" result " ID " 0 ok 2.0.0 - -\n",
		"result " ID " 0 ok 2.0.0 - - \n",
		"result " ID " 99999999999999999999 ok 2.0.0 - -\n",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (delivery_result_parse(bad[i], &r) != -1) {
			printf("  accepted: %s", bad[i]);
			CHECK(0);
		}
	}
	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	strcpy(r.dsn, "2.0.0");
	r.status = 7;
	CHECK(delivery_result_format(&r, (char[256]){0}, 256) == -1);
}

static void
test_result_send(void)
{
	struct delivery_result r, back;
	int	 p[2];
	char	 buf[4096];
	ssize_t	 n;

	memset(&r, 0, sizeof(r));
	strcpy(r.id, ID);
	strcpy(r.dsn, "4.4.1");
	r.status = DELIVER_TEMPFAIL;
	memset(r.reply, '\n', sizeof(r.reply) - 1);	/* worst case size */
	memset(r.relay, 0xff, sizeof(r.relay) - 1);
	CHECK(pipe(p) == 0);
	if (delivery_result_send(p[1], &r) == -1) {
		CHECK(0);	/* never block on the read below */
		close(p[0]);
		close(p[1]);
		return;
	}
	n = read(p[0], buf, sizeof(buf) - 1);
	CHECK(n > 0 && n < 4096 && buf[n - 1] == '\n');
	buf[n > 0 ? n : 0] = '\0';
	/* control bytes go out as spaces: the reader takes what was sent */
	CHECK(delivery_result_parse(buf, &back) == 0);
	CHECK(strspn(back.reply, " ") == sizeof(r.reply) - 1);
	r.reply[0] = 0x7f;
	CHECK(delivery_result_format(&r, buf, sizeof(buf)) == 0);
	CHECK(delivery_result_parse(buf, &back) == 0 && back.reply[0] == ' ');
	close(p[0]);
	close(p[1]);
}

static void
make_job(struct delivery_job *job, size_t n)
{
	size_t	 i;

	memset(job, 0, sizeof(*job));
	strcpy(job->id, ID);
	job->rcpt = calloc(n, sizeof(*job->rcpt));
	job->nrcpt = n;
	for (i = 0; i < n; i++) {
		job->rcpt[i].index = i * 2;
		snprintf(job->rcpt[i].addr, ADDR_MAX, "user%zu+x y@example.org",
		    i);
		job->rcpt[i].notify = i % 2 ? NOTIFY_SUCCESS | NOTIFY_FAILURE :
		    0;
		if (i % 3 == 0)
			snprintf(job->rcpt[i].orcpt, ADDR_MAX,
			    "rfc822;user%zu+2Bx@example.org", i);
	}
}

static void
test_request_round_trip(void)
{
	struct delivery_job job, back;
	int	 sv[2], p[2], fd = -1;
	size_t	 i;
	int	 same = 1;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHECK(pipe(p) == 0);
	make_job(&job, 1000);
	CHECK(delivery_request_send(sv[0], &job, p[1]) == 0);
	CHECK(delivery_request_recv(sv[1], &back, &fd) == 0);
	CHECK(fd >= 0 && fd != p[1]);
	CHECK_STR(back.id, ID);
	CHECK(back.nrcpt == 1000);
	for (i = 0; i < job.nrcpt && i < back.nrcpt; i++)
		if (back.rcpt[i].index != job.rcpt[i].index ||
		    back.rcpt[i].notify != job.rcpt[i].notify ||
		    strcmp(back.rcpt[i].addr, job.rcpt[i].addr) != 0 ||
		    strcmp(back.rcpt[i].orcpt, job.rcpt[i].orcpt) != 0)
			same = 0;
	CHECK(same);
	if (fd >= 0 && write(fd, "x", 1) == 1)
		CHECK(read(p[0], (char[2]){0}, 1) == 1);
	else
		CHECK(0);
	close(fd);
	delivery_job_free(&back);
	CHECK(back.rcpt == NULL && back.nrcpt == 0);
	/* 1001 recipients cannot be sent */
	delivery_job_free(&job);
	make_job(&job, 1001);
	CHECK(delivery_request_send(sv[0], &job, p[1]) == -1);
	delivery_job_free(&job);
	close(sv[0]);
	CHECK(delivery_request_recv(sv[1], &back, &fd) == 1);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* send_raw - a hand-made request with nfds copies of fd */
static void
send_raw(int sock, const char *text, int fd, int nfds)
{
	char	 cbuf[CMSG_SPACE(sizeof(int) * 2)];
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	int	 fds[2] = { fd, fd };

	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)text;
	iov.iov_len = strlen(text);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	CHECK(sendmsg(sock, &msg, 0) == (ssize_t)strlen(text));
}

static int
recv_fails(int sock)
{
	struct delivery_job job;
	int	 fd = 123;

	if (delivery_request_recv(sock, &job, &fd) != -1 || errno != EBADMSG)
		return 0;
	return fd == -1 && job.rcpt == NULL;
}

static void
test_request_rejects(void)
{
	const char *bad[] = {
		"id " ID "\n",
		"id " ID "\nrcpt 0 0 a@b -",
		"id ../x\nrcpt 0 0 a@b -\n",
		"id " ID "\nrcpt 0 0 - -\n",
		"id " ID "\nrcpt 0 16 a@b -\n",
		"id " ID "\nrcpt 0 3 a@b -\n",
		"id " ID "\nrcpt 00 0 a@b -\n",
		"id " ID "\nrcpt 0 0 a@b\n",
		"id " ID "\nrcpt 0 0 a@b - x\n",
		"id " ID "\nrcpt 0 0  a@b -\n",
		"id " ID "\nrcpt 0 0 a+0Ab -\n",
		"id " ID "\nrcpt 0 0 a@b -\nrcpt 0 0 c@d -\n",
		"id " ID "\nrcpt 0 0 a@b -\n\n",
		"id " ID "\nRCPT 0 0 a@b -\n",
		"ID " ID "\nrcpt 0 0 a@b -\n",
	};
	int	 sv[2], p[2];
	size_t	 i;
	char	*big;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHECK(pipe(p) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_raw(sv[0], bad[i], p[1], 1);
		if (!recv_fails(sv[1])) {
			printf("  accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
	send_raw(sv[0], "id " ID "\nrcpt 0 0 a@b -\n", p[1], 0);
	CHECK(recv_fails(sv[1]));
	send_raw(sv[0], "id " ID "\nrcpt 0 0 a@b -\n", p[1], 2);
	CHECK(recv_fails(sv[1]));
	big = malloc(70000);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	send_raw(sv[0], big, p[1], 1);
	CHECK(recv_fails(sv[1]));
	free(big);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	/* no descriptor leaked by any rejection */
	CHECK(fcntl(p[1] + 1, F_GETFD) == -1 || p[1] + 1 <= 2);
}

int
main(void)
{
	RUN(test_result_round_trip);
	RUN(test_result_rejects);
	RUN(test_result_send);
	RUN(test_request_round_trip);
	RUN(test_request_rejects);
	return unit_done();
}
