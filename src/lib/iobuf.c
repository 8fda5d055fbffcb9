/* SPDX-License-Identifier: ISC */
/*
 * iobuf.c - buffered line I/O for the SMTP server and client.
 *
 * Invariant: in[start..end) holds unread input; out[0..outlen) holds
 * unsent output.  Output is flushed before any blocking read.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iobuf.h"
#include "tls.h"

void
iobuf_init(struct iobuf *io, int infd, int outfd, int timeout_ms)
{
	io->infd = infd;
	io->outfd = outfd;
	io->tls = NULL;
	io->timeout_ms = timeout_ms;
	io->stress_timeout_ms = 0;
	io->deadline_ms = 0;
	io->status = IOBUF_OK;
	io->start = io->end = io->outlen = 0;
}

long long
iobuf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

volatile sig_atomic_t iobuf_stress;

/*
 * wait_timeout - what is left of the idle timeout of a wait that began
 * at start (the stress timeout under stress), or less when the deadline
 * is nearer.  A signal that interrupts the wait does not restart it.
 */
static int
wait_timeout(const struct iobuf *io, long long start)
{
	long long now = iobuf_now_ms(), left;
	int	 idle = io->timeout_ms;

	if (iobuf_stress && io->stress_timeout_ms > 0 &&
	    io->stress_timeout_ms < idle)
		idle = io->stress_timeout_ms;
	left = start + idle - now;
	if (io->deadline_ms != 0 && io->deadline_ms - now < left)
		left = io->deadline_ms - now;
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int
wait_fd(struct iobuf *io, int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long start = iobuf_now_ms();
	int	 n;

	do {
		n = poll(&pfd, 1, wait_timeout(io, start));
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		io->status = IOBUF_TIMEOUT;
		return -1;
	}
	if (n == -1) {
		io->status = IOBUF_ERROR;
		return -1;
	}
	return 0;
}

size_t
iobuf_starttls(struct iobuf *io, struct tls *t)
{
	size_t	 dropped = io->end - io->start;

	io->start = io->end = 0;
	io->tls = t;
	return dropped;
}

/* write(2) or tls_write; on EAGAIN, *want says what to poll for. */
static ssize_t
out_write(struct iobuf *io, const char *p, size_t len, short *want)
{
	ssize_t	 n;

	*want = POLLOUT;
	if (io->tls != NULL) {
		if ((n = tls_write(io->tls, p, len, want)) == -1 && *want)
			errno = EAGAIN;
		return n;
	}
	return write(io->outfd, p, len);
}

static ssize_t
in_read(struct iobuf *io, char *p, size_t len, short *want)
{
	ssize_t	 n;

	*want = POLLIN;
	if (io->tls != NULL) {
		if ((n = tls_read(io->tls, p, len, want)) == -1 && *want)
			errno = EAGAIN;
		return n;
	}
	return read(io->infd, p, len);
}

int
iobuf_flush(struct iobuf *io)
{
	size_t	 off = 0;
	ssize_t	 n;
	short	 want;

	while (off < io->outlen) {
		n = out_write(io, io->out + off, io->outlen - off, &want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(io, io->outfd, want) == -1)
				return -1;
			continue;
		}
		if (n <= 0) {
			io->status = IOBUF_ERROR;
			io->outlen = 0;
			return -1;
		}
		off += (size_t)n;
	}
	io->outlen = 0;
	return 0;
}

/* Read more input; returns -1 at EOF, timeout or error. */
static int
fill(struct iobuf *io)
{
	ssize_t	 n;
	short	 want;

	if (io->status != IOBUF_OK)
		return -1;
	if (io->start > 0) {
		memmove(io->in, io->in + io->start, io->end - io->start);
		io->end -= io->start;
		io->start = 0;
	}
	if (io->end == sizeof(io->in))
		return 0;
	if (io->outlen > 0 && iobuf_flush(io) == -1)
		return -1;
	for (;;) {
		n = in_read(io, io->in + io->end, sizeof(io->in) - io->end,
		    &want);
		if (n > 0) {
			io->end += (size_t)n;
			return 0;
		}
		if (n == 0) {
			io->status = IOBUF_EOF;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			io->status = IOBUF_ERROR;
			return -1;
		}
		if (wait_fd(io, io->infd, want) == -1)
			return -1;
	}
}

ssize_t
iobuf_getchunk(struct iobuf *io, size_t max, char **p)
{
	char	*lf;
	size_t	 avail;

	for (;;) {
		avail = io->end - io->start;
		lf = memchr(io->in + io->start, '\n', avail);
		if (lf != NULL)
			avail = (size_t)(lf - (io->in + io->start)) + 1;
		if (lf != NULL || avail >= max || (io->start == 0 &&
		    io->end == sizeof(io->in))) {
			if (avail > max)
				avail = max;
			*p = io->in + io->start;
			io->start += avail;
			return (ssize_t)avail;
		}
		if (fill(io) == -1)
			return -1;
	}
}

ssize_t
iobuf_getline(struct iobuf *io, size_t max, char **line, int *toolong)
{
	ssize_t	 n;
	int	 skipping = 0;

	*toolong = 0;
	for (;;) {
		if ((n = iobuf_getchunk(io, sizeof(io->in), line)) == -1)
			return -1;
		if ((*line)[n - 1] == '\n' && !skipping && (size_t)n <= max)
			return n;
		if ((*line)[n - 1] == '\n') {
			*toolong = 1;
			return 0;
		}
		skipping = 1;
	}
}

int
iobuf_write(struct iobuf *io, const char *p, size_t len)
{
	size_t	 n;

	while (len > 0) {
		if (io->outlen == sizeof(io->out) && iobuf_flush(io) == -1)
			return -1;
		n = sizeof(io->out) - io->outlen;
		if (n > len)
			n = len;
		memcpy(io->out + io->outlen, p, n);
		io->outlen += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* A line that does not fit is an error: a cut command is a wrong one. */
int
iobuf_vprintf(struct iobuf *io, const char *fmt, va_list ap)
{
	char	 buf[2048];
	int	 n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return iobuf_write(io, buf, (size_t)n);
}

int
iobuf_printf(struct iobuf *io, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = iobuf_vprintf(io, fmt, ap);
	va_end(ap);
	return rc;
}
