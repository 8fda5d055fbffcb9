/* SPDX-License-Identifier: ISC */
/*
 * queueid.h - queue ids (queueid.c): the name of a message in the spool,
 * its file names and its log lines.
 */
#ifndef TERN_QUEUEID_H
#define TERN_QUEUEID_H

#include <stdint.h>

#define QUEUEID_LEN		15	/* characters, without the NUL */

/*
 * An id as a number: its 15 letters are 5 bits each, the first 12 in hi
 * and the last 3 in lo; ids sort as (hi, lo) do, since the alphabet is in
 * ASCII order.  For sorting a million of them (mailq) fast.
 */
struct queueid_key {
	uint64_t	 hi;
	uint16_t	 lo;
};

/* queueid_new - a fresh id, unique on this host, sorting by arrival */
void	queueid_new(char id[QUEUEID_LEN + 1]);
/* queueid_valid - exactly QUEUEID_LEN characters of the alphabet */
int	queueid_valid(const char *);
/* queueid_pack - the key of a valid id, else -1; queueid_unpack back */
int	queueid_pack(const char *, struct queueid_key *);
void	queueid_unpack(const struct queueid_key *, char id[QUEUEID_LEN + 1]);
/* queueid_hash - the spool subdirectory: two lowercase hex digits */
void	queueid_hash(const char *id, char out[3]);

#endif
