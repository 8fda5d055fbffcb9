/* SPDX-License-Identifier: ISC */
/*
 * bounce_text.c - make untrusted text safe for a notice's header fields
 * and DSN fields: sanitize, fold, MTA names, decoded xtext.
 *
 *	bounce_sanitize(in, out, len, allow8)	no control byte survives
 *	bounce_fold(out, prefix, text, indent)	folded at FOLD_WIDTH
 *	bounce_field(out, name, value, allow8)	both of the above
 *
 * Invariant: nothing written here holds CR or LF except the CRLF that
 * ends a line, and no line passes 998 octets (RFC 5322 section 2.1.1),
 * so text from the network or the spool cannot start a field of its own.
 */
#include <stdio.h>
#include <string.h>

#include "bounce_text.h"
#include "envelope.h"

#define FOLD_WIDTH	76

/*
 * bounce_sanitize - copy in to out with CR, LF and TAB as spaces and
 * other control characters as '?'; bytes >= 0x80 survive only if
 * allow8 (UTF-8 addresses), otherwise they become '?' too.
 */
void
bounce_sanitize(const char *in, char *out, size_t outlen, int allow8)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t	 i;

	for (i = 0; p[i] != '\0' && i + 1 < outlen; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\t')
			out[i] = ' ';
		else if (p[i] < 0x20 || p[i] == 0x7f)
			out[i] = '?';
		else if (p[i] >= 0x80 && !allow8)
			out[i] = '?';
		else
			out[i] = (char)p[i];
	}
	out[i] = '\0';
}

/* Write one word, breaking it wherever a line would pass 998 octets. */
static void
bounce_put_word(FILE *out, const char *w, size_t wlen, size_t *col,
    const char *indent)
{
	size_t	 room, take;

	while (wlen > 0) {
		if (*col >= LINE_MAX_OCTETS) {
			fprintf(out, "\r\n%s", indent);
			*col = strlen(indent);
		}
		room = LINE_MAX_OCTETS - *col;
		take = wlen < room ? wlen : room;
		fwrite(w, 1, take, out);
		*col += take;
		w += take;
		wlen -= take;
	}
}

/*
 * bounce_fold - write prefix and the sanitized text, folded at spaces
 * near FOLD_WIDTH; continuation lines start with indent, which begins
 * with white space (RFC 5322 2.2.3).  Runs of spaces become one.
 */
void
bounce_fold(FILE *out, const char *prefix, const char *text,
    const char *indent)
{
	size_t	 col, wlen;
	int	 first = 1;

	fputs(prefix, out);
	col = strlen(prefix);
	while (*text != '\0') {
		while (*text == ' ')
			text++;
		if ((wlen = strcspn(text, " ")) == 0)
			break;
		if (!first && col + 1 + wlen > FOLD_WIDTH) {
			fprintf(out, "\r\n%s", indent);
			col = strlen(indent);
		} else if (!first) {
			fputc(' ', out);
			col++;
		}
		bounce_put_word(out, text, wlen, &col, indent);
		text += wlen;
		first = 0;
	}
	fputs("\r\n", out);
}

/*
 * A header field "Name: value" with the value sanitized and folded.  The
 * fold is CRLF before the space between two words (BOUNCE_FOLD), so
 * unfolding (RFC 5322 2.2.3: remove the CRLF) gives the text back; a
 * TAB there would survive unfolding inside the text.
 */
void
bounce_field(FILE *out, const char *name, const char *value, int allow8)
{
	char	 clean[TEXT_MAX];

	bounce_sanitize(value, clean, sizeof(clean), allow8);
	bounce_fold(out, name, clean, BOUNCE_FOLD);
}

/* "host[addr]:port" -> "host", "[addr]:port" -> "addr". */
void
bounce_mta_name(const char *relay, char *out, size_t outlen)
{
	char	 clean[TEXT_MAX];
	char	*p = clean;

	bounce_sanitize(relay, clean, sizeof(clean), 0);
	if (*p == '[')
		p++;
	p[strcspn(p, "[]")] = '\0';
	if (*p == '\0')
		snprintf(out, outlen, "unknown");
	else
		snprintf(out, outlen, "%s", p);
}

/*
 * bounce_decoded - the xtext value decoded when the result is printable
 * ASCII, else the xtext as it is (still sanitized); RFC 3464 2.2.1 and
 * 2.3.1 carry the decoded envelope id and original address.
 */
void
bounce_decoded(const char *xtext, char *out, size_t outlen)
{
	char	 dec[TEXT_MAX];
	size_t	 i;

	if (xtext_decode(xtext, dec, sizeof(dec)) == 0) {
		for (i = 0; dec[i] != '\0'; i++)
			if (dec[i] < 0x21 || dec[i] > 0x7e)
				break;
		if (dec[i] == '\0' && i > 0) {
			snprintf(out, outlen, "%s", dec);
			return;
		}
	}
	bounce_sanitize(xtext, out, outlen, 0);
}
