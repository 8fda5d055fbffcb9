/* SPDX-License-Identifier: ISC */
/*
 * queueid.h - queue ids (queueid.c): the name of a message in the spool,
 * its file names and its log lines.
 */
#ifndef TERN_QUEUEID_H
#define TERN_QUEUEID_H

#define QUEUEID_LEN		15	/* characters, without the NUL */

/* queueid_new - a fresh id, unique on this host, sorting by arrival */
void	queueid_new(char id[QUEUEID_LEN + 1]);
/* queueid_valid - exactly QUEUEID_LEN characters of the alphabet */
int	queueid_valid(const char *);
/* queueid_hash - the spool subdirectory: two lowercase hex digits */
void	queueid_hash(const char *id, char out[3]);

#endif
