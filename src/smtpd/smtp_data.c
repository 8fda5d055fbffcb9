/* SPDX-License-Identifier: ISC */
/*
 * smtp_data.c - DATA and BDAT content into the queue file.
 *
 * End of data (RFC 5321 4.1.1.4) is only CRLF "." CRLF: a "." line ends
 * the message only when the line before it ended in CRLF and it ends in
 * CRLF itself.  "\n.\r\n", "\r\n.\n" and "\r.\r" are content.  The writer
 * then turns every bare CR and bare LF into CRLF, so such content can
 * never become an end-of-data marker when the message is relayed.
 * Lines of any length are stored as they are (bounded only by the size
 * limit): the SMTP client re-encodes a message whose lines pass 998
 * octets when it relays it (longline.c), and local delivery needs no
 * limit, so refusing them would only lose mail.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "date.h"
#include "smtp_data.h"

#define HDR_DATE	0x01
#define HDR_MSGID	0x02
#define HDR_FROM	0x04

void
msgw_init(struct msgwriter *w, FILE *fp, long long max, const char *add_from,
    const char *add_msgid)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->max = max;
	w->in_headers = 1;
	w->add_from = add_from;
	w->add_msgid = add_msgid;
}

static void
emit(struct msgwriter *w, const char *p, size_t n)
{
	w->size += (long long)n;
	if (w->size > w->max)
		w->too_big = 1;
	if (!w->too_big && w->fp != NULL && w->err == 0 &&
	    fwrite(p, 1, n, w->fp) != n)
		w->err = errno != 0 ? errno : EIO;
}

/*
 * The missing headers (RFC 5322 3.6: required) of mail from a trusted
 * client: Date: and Message-ID:, and From: for a local submission.
 */
static void
add_missing(struct msgwriter *w)
{
	char	 line[1024], date[64];

	if (w->add_msgid == NULL)
		return;
	if (!(w->seen & HDR_DATE)) {
		date_rfc5322(time(NULL), date, sizeof(date));
		snprintf(line, sizeof(line), "Date: %s\r\n", date);
		emit(w, line, strlen(line));
	}
	if (!(w->seen & HDR_MSGID)) {
		snprintf(line, sizeof(line), "Message-ID: <%s>\r\n",
		    w->add_msgid);
		emit(w, line, strlen(line));
	}
	if (!(w->seen & HDR_FROM) && w->add_from != NULL) {
		snprintf(line, sizeof(line), "From: %s\r\n", w->add_from);
		emit(w, line, strlen(line));
	}
	w->seen = HDR_DATE | HDR_MSGID | HDR_FROM;
}

static void
end_line(struct msgwriter *w)
{
	size_t	 n = w->linelen < sizeof(w->head) ? w->linelen :
	    sizeof(w->head);

	if (w->in_headers) {
		if (w->linelen == 0) {
			add_missing(w);
			w->in_headers = 0;
		} else if (n >= 5 && strncasecmp(w->head, "date:", 5) == 0)
			w->seen |= HDR_DATE;
		else if (n >= 5 && strncasecmp(w->head, "from:", 5) == 0)
			w->seen |= HDR_FROM;
		else if (n >= 11 && strncasecmp(w->head, "message-id:", 11) == 0)
			w->seen |= HDR_MSGID;
		else if (n >= 9 && strncasecmp(w->head, "received:", 9) == 0)
			w->hops++;
	}
	emit(w, "\r\n", 2);
	w->linelen = 0;
}

void
msgw_write(struct msgwriter *w, const char *p, size_t len)
{
	const char *end = p + len, *span;

	while (p < end) {
		if (w->cr) {
			w->cr = 0;
			end_line(w);	/* CRLF, or a bare CR made CRLF */
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		if (*p == '\r') {
			w->cr = 1;
			p++;
			continue;
		}
		if (*p == '\n') {
			end_line(w);	/* a bare LF made CRLF */
			p++;
			continue;
		}
		for (span = p; p < end && *p != '\r' && *p != '\n'; p++)
			if ((unsigned char)*p >= 0x80)
				w->eightbit = 1;
		if (w->in_headers && w->linelen < sizeof(w->head)) {
			size_t n = sizeof(w->head) - w->linelen;
			if (n > (size_t)(p - span))
				n = (size_t)(p - span);
			memcpy(w->head + w->linelen, span, n);
		}
		w->linelen += (size_t)(p - span);
		emit(w, span, (size_t)(p - span));
	}
}

void
msgw_finish(struct msgwriter *w)
{
	if (w->cr || w->linelen > 0) {
		w->cr = 0;
		end_line(w);
	}
	if (w->in_headers)
		add_missing(w);
}

int
smtp_data_read(struct iobuf *io, struct msgwriter *w)
{
	char	*p;
	ssize_t	 n;
	int	 line_start = 1, after_crlf = 1, prev_cr = 0;

	for (;;) {
		if ((n = iobuf_getchunk(io, sizeof(io->in), &p)) == -1)
			return -1;
		if (line_start && after_crlf && n == 3 &&
		    memcmp(p, ".\r\n", 3) == 0)
			return 0;
		if (line_start && p[0] == '.') {
			p++;	/* RFC 5321 4.5.2: remove one leading dot */
			n--;
		}
		/* A line longer than the buffer arrives in several chunks. */
		line_start = n > 0 && p[n - 1] == '\n';
		after_crlf = line_start && ((n >= 2 && p[n - 2] == '\r') ||
		    (n == 1 && prev_cr));
		prev_cr = n > 0 && p[n - 1] == '\r';
		msgw_write(w, p, (size_t)n);
	}
}

int
smtp_bdat_read(struct iobuf *io, struct msgwriter *w, long long len)
{
	char	*p;
	ssize_t	 n;
	size_t	 want;

	while (len > 0) {
		want = len > (long long)sizeof(io->in) ? sizeof(io->in) :
		    (size_t)len;
		if ((n = iobuf_getchunk(io, want, &p)) == -1)
			return -1;
		msgw_write(w, p, (size_t)n);
		len -= n;
	}
	return 0;
}
