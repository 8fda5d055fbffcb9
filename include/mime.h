/* SPDX-License-Identifier: ISC */
/*
 * mime.h - the values of the MIME header fields that say how a body is
 * built and encoded (RFC 2045 5.1, 6.1; RFC 2046 5.1.1).
 *
 *	mime_content_type(value, end, &ct);	type, digest, boundary
 *	cte = mime_encoding(value, end);	MIME_CTE_*
 *	n = mime_field_name(line, len);		"To: x" -> 2, "body" -> 0
 *
 * Values are given with their folds (CRLF + white space), as they stand
 * in the message; comments are skipped.
 */
#ifndef TERN_MIME_H
#define TERN_MIME_H

#include <stddef.h>

#define MIME_BOUNDARY_MAX	200	/* RFC 2046 says 70; be lenient */

enum mime_kind {
	MIME_LEAF,		/* a body of its own (text/plain, image/png) */
	MIME_MULTIPART,		/* any multipart type: parts between boundaries */
	MIME_MESSAGE,		/* message/rfc822, message/global */
	MIME_OPAQUE		/* another message type */
};

enum mime_cte {
	MIME_CTE_IDENTITY,	/* none, 7bit or 8bit */
	MIME_CTE_BINARY,
	MIME_CTE_QP,
	MIME_CTE_BASE64,
	MIME_CTE_OTHER
};

struct mime_type {
	enum mime_kind	 kind;
	int		 digest;	/* multipart/digest */
	char		 boundary[MIME_BOUNDARY_MAX + 1];	/* "" if none */
};

/* A malformed value is text/plain (RFC 2045 5.2); so is a long boundary. */
void	mime_content_type(const char *value, const char *end,
	    struct mime_type *);
enum mime_cte	mime_encoding(const char *value, const char *end);
/* Length of the field name before ':', 0 if the line is no field. */
size_t	mime_field_name(const char *line, size_t len);

#endif
