/* SPDX-License-Identifier: ISC */
/*
 * iobuf.h - buffered reads and writes on a file descriptor, with timeouts.
 *
 * Reads fill a fixed buffer with one read(2) at a time; lines are handed
 * out as pointers into that buffer, valid until the next read call.
 * Writes collect in an output buffer that is flushed just before the next
 * read would block (so pipelined replies go out together, RFC 2920) and
 * when full.  Every wait is a poll(2) with the idle timeout, cut short by
 * deadline_ms when it is set (CLOCK_MONOTONIC, as iobuf_now_ms(); 0 = none;
 * only waits on a non-blocking fd poll); nothing uses alarm(2).
 *
 * With tls set (tls.h), the bytes go through TLS on infd (== outfd);
 * iobuf_starttls() drops what was read ahead in plaintext, as RFC 3207
 * section 4.2 wants of both sides, so nothing pipelined after STARTTLS is
 * ever taken as sent under TLS.
 */
#ifndef TERN_IOBUF_H
#define TERN_IOBUF_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define IOBUF_SIZE	16384

enum iobuf_status { IOBUF_OK, IOBUF_EOF, IOBUF_TIMEOUT, IOBUF_ERROR };

struct tls;

/*
 * Stress (Postfix's word, for a server whose every slot is taken): a
 * signal handler sets iobuf_stress, and from then on a wait on an iobuf
 * whose stress_timeout_ms is set ends after that long instead of
 * timeout_ms, counted from the start of the wait; a wait that has
 * already lasted longer ends at once (IOBUF_TIMEOUT).
 */
extern volatile sig_atomic_t iobuf_stress;

struct iobuf {
	int	 infd, outfd;
	struct tls *tls;		/* NULL: plaintext */
	int	 timeout_ms;
	int	 stress_timeout_ms;	/* 0: stress changes nothing */
	long long deadline_ms;		/* 0: none; else iobuf_now_ms() */
	int	 status;		/* enum iobuf_status, sticky */
	size_t	 start, end;		/* unread bytes: in[start..end) */
	size_t	 outlen;
	char	 in[IOBUF_SIZE];
	char	 out[IOBUF_SIZE];
};

void	iobuf_init(struct iobuf *, int infd, int outfd, int timeout_ms);
/*
 * iobuf_getline - the next line, LF included, in *line (not NUL-ended).
 * Returns its length; -1 at EOF, timeout or error (see status).  A line
 * longer than max is consumed through its LF and reported as length 0
 * with *toolong set, so the caller can reply and stay in sync.
 */
ssize_t	iobuf_getline(struct iobuf *, size_t max, char **line, int *toolong);
/* iobuf_getchunk - up to the next LF inclusive, or what is buffered. */
ssize_t	iobuf_getchunk(struct iobuf *, size_t max, char **p);
int	iobuf_write(struct iobuf *, const char *, size_t);
/* Formatted output; -1 if it does not fit in 2048 octets, or on error. */
int	iobuf_vprintf(struct iobuf *, const char *, va_list);
int	iobuf_printf(struct iobuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	iobuf_flush(struct iobuf *);
/*
 * iobuf_starttls - from now on through t (NULL: back to plaintext).
 * Returns how many unread plaintext bytes were thrown away.
 */
size_t	iobuf_starttls(struct iobuf *, struct tls *t);
/* Milliseconds of CLOCK_MONOTONIC, the clock of deadline_ms. */
long long iobuf_now_ms(void);

#endif
