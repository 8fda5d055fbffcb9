/* SPDX-License-Identifier: ISC */
/*
 * kvline.h - the "key: value" line files of the spool (kvline.c): the
 * queue file's envelope and the state file are tables of struct key.
 */
#ifndef TERN_KVLINE_H
#define TERN_KVLINE_H

#include <stddef.h>
#include <stdio.h>

#define KV_LINE_MAX	2048	/* bytes per line, newline included */

#define KEY_REQUIRED	0x01		/* the file must have this key */
#define KEY_REPEAT	0x02		/* the key may come more than once */
/*
 * Keys of both formats.  A key is a text field, one word of a list
 * (stored as its index), a queue id, or has its own parse function; each
 * returns NULL, or a short reason that kv_key_line() prefixes with
 * "line N: key: ".
 */
#define KEY_TEXT	0x04		/* char array at off, of size */
#define KEY_EMPTY	0x08		/* text may be empty */
#define KEY_WORD	0x10		/* int at off = index in words */
#define KEY_ID		0x20		/* queue id at off */
#define FIELD(t, f)	offsetof(struct t, f), sizeof(((struct t *)0)->f)

struct key {
	const char	*name;
	int		 flags;
	size_t		 off;
	size_t		 size;
	const char *const *words;
	const char	*(*parse)(void *, char *);
};

/* kv_num - unsigned decimal, no sign or leading zero, <= max */
int	kv_num(const char *s, long long max, long long *out);
/* kv_word - position of s in a NULL-terminated list, or -1 */
int	kv_word(const char *s, const char *const words[]);
/* kv_errf - "line N: " (if lineno > 0) and the message into err */
void	kv_errf(char *err, size_t errlen, unsigned lineno,
	    const char *fmt, ...);
/*
 * Where lines come from: the stream fp, or without one buf[off, len),
 * whose lines are then cut in place (each newline becomes a NUL).
 */
struct kv_in {
	FILE		*fp;
	char		*buf;
	size_t		 len, off;
};
/*
 * kv_line_read - one line without its newline, at *line: in buf (of
 * KV_LINE_MAX bytes) when read from a stream, else in in->buf.  Its
 * length, -2 at the end before any byte, -1 when bad (err says why).
 */
int	kv_line_read(struct kv_in *, char *buf, char **line, unsigned lineno,
	    char *err, size_t errlen);
/* kv_line_put - write one formatted line; -1 if it would be too long */
int	kv_line_put(FILE *fp, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A stream to parse fd again from its start (its first read was too
 * short to hold what is parsed).  NULL on error, fd closed. */
FILE	*kv_fd_stream(int fd);
/* Close fd (unless -1), strerror(errno) into err; -1, errno kept. */
int	kv_fail(int fd, char *err, size_t errlen);
/* kv_grow - room for one more element; capacity grows by doubling */
int	kv_grow(void **array, size_t n, size_t size);
/* kv_version - parse function of the "version" key of both formats */
const char *kv_version(void *obj, char *v);
/* kv_key_line - dispatch one "key: value" line; seen has a bit per key */
int	kv_key_line(const struct key *keys, size_t nkeys, void *obj,
	    char *line, unsigned lineno, unsigned *seen, char *err,
	    size_t errlen);
/* kv_keys_missing - name the first required key not seen in err, or 0 */
int	kv_keys_missing(const struct key *keys, size_t nkeys, unsigned seen,
	    char *err, size_t errlen);

#endif
