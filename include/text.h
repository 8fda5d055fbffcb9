/* SPDX-License-Identifier: ISC */
/*
 * text.h - the one test for a control byte (C0 or DEL) in text that
 * goes into a line of its own: a log line, a spool field, an agent's
 * result, a mailbox name, a HELO name.  Every writer and every parser of
 * such a line asks it, so they cannot disagree on a byte.
 */
#ifndef TERN_TEXT_H
#define TERN_TEXT_H

/* text_is_ctl - c (as an unsigned byte) is below 0x20 or is 0x7f */
int	text_is_ctl(int c);
/* text_has_ctl - s holds such a byte */
int	text_has_ctl(const char *s);

#endif
