/* SPDX-License-Identifier: ISC */
/*
 * queueid.c - queue ids: make one, check one, and the two hex digits of
 * the spool subdirectory it lives in.
 *
 * A queue id is 15 characters of a 32-letter alphabet kept in ASCII
 * order: 7 for the seconds since the epoch, 4 for the microseconds and 4
 * for the low 20 bits of the pid.  Within one process the (seconds,
 * microseconds) pair is forced to grow, so ids of one process never repeat
 * and sort by arrival; across processes the pid keeps them apart.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queueid.h"

static const char queueid_alphabet[] = "0123456789ABCDFGHJKLMNPQRSTVWXYZ";

/* queueid_put32 - v as n base-32 digits, most significant first */
static void
queueid_put32(char *out, unsigned long long v, int n)
{
	while (n-- > 0) {
		out[n] = queueid_alphabet[v & 31];
		v >>= 5;
	}
}

void
queueid_new(char id[QUEUEID_LEN + 1])
{
	static long long last_sec = -1;
	static long	 last_usec;
	struct timespec	 ts;
	long long	 sec;
	long		 usec;

	clock_gettime(CLOCK_REALTIME, &ts);
	sec = ts.tv_sec;
	usec = ts.tv_nsec / 1000;
	/* Same microsecond or a clock step back: count on from the last id. */
	if (sec < last_sec || (sec == last_sec && usec <= last_usec)) {
		sec = last_sec;
		if ((usec = last_usec + 1) >= 1000000) {
			sec++;
			usec = 0;
		}
	}
	last_sec = sec;
	last_usec = usec;
	queueid_put32(id, (unsigned long long)sec, 7);
	queueid_put32(id + 7, (unsigned long long)usec, 4);
	queueid_put32(id + 11, (unsigned long long)getpid() & 0xfffff, 4);
	id[QUEUEID_LEN] = '\0';
}

/* queueid_letter - c is in queueid_alphabet (digits, capitals but EIOU) */
static int
queueid_letter(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'E' &&
	    c != 'I' && c != 'O' && c != 'U');
}

int
queueid_valid(const char *id)
{
	size_t	 i;

	if (id == NULL)
		return 0;
	for (i = 0; i < QUEUEID_LEN; i++)
		if (!queueid_letter(id[i]))
			return 0;
	return id[QUEUEID_LEN] == '\0';
}

/* queueid_value - the 5 bits of a letter of the alphabet (EIOU skipped) */
static unsigned
queueid_value(char c)
{
	if (c <= '9')
		return (unsigned)(c - '0');
	return 10u + (unsigned)(c - 'A') - (c > 'E') - (c > 'I') - (c > 'O') -
	    (c > 'U');
}

int
queueid_pack(const char *id, struct queueid_key *key)
{
	uint64_t v = 0;
	int	 i;

	if (id == NULL)
		return -1;
	for (i = 0; i < QUEUEID_LEN; i++) {
		if (!queueid_letter(id[i]))
			return -1;
		v = v << 5 | queueid_value(id[i]);
		if (i == 11) {
			key->hi = v;
			v = 0;
		}
	}
	key->lo = (uint16_t)v;
	return id[QUEUEID_LEN] == '\0' ? 0 : -1;
}

void
queueid_unpack(const struct queueid_key *key, char id[QUEUEID_LEN + 1])
{
	queueid_put32(id, key->hi, 12);
	queueid_put32(id + 12, key->lo, 3);
	id[QUEUEID_LEN] = '\0';
}

/* queueid_hash - FNV-1a 32 of the id; its low byte names the directory */
void
queueid_hash(const char *id, char out[3])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)id; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	out[0] = hex[(h >> 4) & 0xf];
	out[1] = hex[h & 0xf];
	out[2] = '\0';
}
