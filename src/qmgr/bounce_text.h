/* SPDX-License-Identifier: ISC */
/*
 * bounce_text.h - the interface of bounce_text.c: text from the network
 * or the spool made safe for a notice's header and DSN fields.  It is
 * a seam, not shared internals: bounce.c (which composes the notice)
 * and bounce_text.c (which sanitizes and folds) share only these five
 * functions and two sizes, and neither knows the other's data.  The
 * rest of the queue runner uses bounce.h.
 *
 * Every function writes NUL-terminated, control-free text, or CRLF
 * lines of at most LINE_MAX_OCTETS octets.
 */
#ifndef TERN_BOUNCE_TEXT_H
#define TERN_BOUNCE_TEXT_H

#include <stddef.h>
#include <stdio.h>

#define LINE_MAX_OCTETS	998		/* RFC 5322 2.1.1, without CRLF */
#define TEXT_MAX	2048		/* a sanitized reply or address */

/* bounce_sanitize - controls to ' ' or '?'; 8-bit bytes kept if allow8 */
void	bounce_sanitize(const char *in, char *out, size_t outlen, int allow8);
/* Continuation of a folded header field: the separating space itself. */
#define BOUNCE_FOLD	" "

/* bounce_fold - prefix and text folded near 76 columns, then CRLF */
void	bounce_fold(FILE *out, const char *prefix, const char *text,
	    const char *indent);
/* bounce_field - "Name: value" with the value sanitized and folded */
void	bounce_field(FILE *out, const char *name, const char *value,
	    int allow8);
/* bounce_mta_name - the host (or address) part of "host[addr]:port" */
void	bounce_mta_name(const char *relay, char *out, size_t outlen);
/* bounce_decoded - xtext decoded if printable ASCII, else sanitized */
void	bounce_decoded(const char *xtext, char *out, size_t outlen);

#endif
