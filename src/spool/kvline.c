/* SPDX-License-Identifier: ISC */
/*
 * kvline.c - the "key: value" line files of the spool: the queue file's
 * envelope (envelope.c) and the state file (statefile.c) are each a
 * table of struct key, read and written with these functions.
 *
 * A line is at most KV_LINE_MAX bytes with its newline, has no NUL or
 * other control byte, and is "key: value" with a key of [a-z0-9]; the
 * first key of a file is "version".  A key is required or not, once or
 * repeated, and its value is a text, a word of a list, a queue id, or
 * has its own parse function.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvline.h"
#include "queueid.h"

/* kv_num - unsigned decimal, no sign or leading zero, <= max */
int
kv_num(const char *s, long long max, long long *out)
{
	long long v = 0;
	size_t	 i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* kv_word - position of s in a NULL-terminated list, or -1 */
int
kv_word(const char *s, const char *const words[])
{
	int	 i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			return i;
	return -1;
}

void
kv_errf(char *err, size_t errlen, unsigned lineno, const char *fmt, ...)
{
	va_list	 ap;
	int	 n = 0;

	if (errlen == 0)
		return;
	if (lineno > 0)
		n = snprintf(err, errlen, "line %u: ", lineno);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* kv_bad_byte - c is no byte of a line: say why, -1; else 0 */
static int
kv_bad_byte(int c, unsigned lineno, char *err, size_t errlen)
{
	if (c == '\0')
		kv_errf(err, errlen, lineno, "NUL byte");
	else if (c < 0x20 || c == 0x7f)
		kv_errf(err, errlen, lineno, "control byte 0x%02x", c);
	else
		return 0;
	return -1;
}

/*
 * kv_ctl8 - one of the 8 bytes in x is below 0x20 or is 0x7f: the two
 * classic word-at-a-time tests, "has a byte less than n" and "has a zero
 * byte" (of x ^ 0x7f7f...), exact for whether there is one
 */
static int
kv_ctl8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t del = x ^ (ones * 0x7f);

	return ((((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & high) != 0;
}

/*
 * kv_buf_line - kv_line_read() from memory: the same checks in the same
 * order, without a stream or a call per byte (mailq reads a million
 * envelopes this way)
 */
static int
kv_buf_line(struct kv_in *in, char **line, unsigned lineno, char *err,
    size_t errlen)
{
	unsigned char *s = (unsigned char *)in->buf + in->off, *nl;
	size_t	 left = in->len - in->off, n, i, lim;
	uint64_t w;
	int	 bad = 0;

	if (left == 0)
		return -2;
	nl = memchr(s, '\n', left);
	n = nl != NULL ? (size_t)(nl - s) : left;
	/* a byte at KV_LINE_MAX - 1 is checked before the length is */
	lim = n < KV_LINE_MAX ? n : KV_LINE_MAX;
	for (i = 0; i + 8 <= lim && !bad; i += 8) {
		memcpy(&w, s + i, 8);
		bad = kv_ctl8(w);
	}
	for (; i < lim && !bad; i++)
		bad = s[i] < 0x20 || s[i] == 0x7f;
	for (i = 0; bad && i < lim; i++)
		if ((s[i] < 0x20 || s[i] == 0x7f) &&
		    kv_bad_byte(s[i], lineno, err, errlen) == -1)
			return -1;
	if (n + 1 > KV_LINE_MAX) {
		kv_errf(err, errlen, lineno, "line too long");
		return -1;
	}
	if (nl == NULL) {
		kv_errf(err, errlen, lineno,
		    "missing newline at end of file");
		return -1;
	}
	s[n] = '\0';
	*line = (char *)s;
	in->off += n + 1;
	return (int)n;
}

/*
 * kv_line_read - read one line into buf (KV_LINE_MAX bytes at least),
 * without its newline.  Returns the length, -2 at end of file before any byte,
 * -1 with err set on a read error or a malformed line.
 */
int
kv_line_read(struct kv_in *in, char *buf, char **line, unsigned lineno,
    char *err, size_t errlen)
{
	FILE	*fp = in->fp;
	size_t	 n = 0;
	int	 c;

	if (fp == NULL)
		return kv_buf_line(in, line, lineno, err, errlen);
	*line = buf;

	while ((c = getc_unlocked(fp)) != EOF) {
		if (c == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		if (kv_bad_byte(c, lineno, err, errlen) == -1)
			return -1;
		if (n + 2 > KV_LINE_MAX) {
			kv_errf(err, errlen, lineno, "line too long");
			return -1;
		}
		buf[n++] = (char)c;
	}
	if (ferror(fp))
		kv_errf(err, errlen, lineno, "read error: %s",
		    strerror(errno));
	else if (n == 0)
		return -2;
	else
		kv_errf(err, errlen, lineno,
		    "missing newline at end of file");
	return -1;
}

/* kv_split - "key: value" with key in [a-z0-9]; NULL if malformed */
static char *
kv_split(char *line, char **value)
{
	size_t	 n;

	/* a loop, not strspn(): it builds a table at every call */
	for (n = 0; (line[n] >= 'a' && line[n] <= 'z') ||
	    (line[n] >= '0' && line[n] <= '9'); n++)
		;
	if (n == 0 || line[n] != ':' || line[n + 1] != ' ')
		return NULL;
	line[n] = '\0';
	*value = line + n + 2;
	return line;
}

/* kv_line_put - write one formatted line; -1 if it would be too long */
int
kv_line_put(FILE *fp, const char *fmt, ...)
{
	char	 line[KV_LINE_MAX + 1];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || n > KV_LINE_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (fputs(line, fp) == EOF)
		return -1;
	return 0;
}

/* kv_grow - room for one more element; capacity grows by doubling */
int
kv_grow(void **array, size_t n, size_t size)
{
	void	*p;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0;
	if (n > SIZE_MAX / 2 / size) {
		errno = ENOMEM;
		return -1;
	}
	if ((p = realloc(*array, (n ? n * 2 : 1) * size)) == NULL)
		return -1;
	*array = p;
	return 0;
}

/*
 * kv_fd_stream - fd, rewound, as a stream: its first read did not hold
 * the whole of what is parsed.  NULL with errno set, and fd closed, on
 * error.
 */
FILE *
kv_fd_stream(int fd)
{
	FILE	*fp;
	int	 saved;

	if (lseek(fd, 0, SEEK_SET) == -1 || (fp = fdopen(fd, "re")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	return fp;
}

/* kv_fail - an open or read of fd failed: close it (if not -1), say
 * why in err, and return -1 with errno kept */
int
kv_fail(int fd, char *err, size_t errlen)
{
	int	 saved = errno;

	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "%s", strerror(saved));
	errno = saved;
	return -1;
}

/* kv_version - the only version; envelope_init/state_init set it */
const char *
kv_version(void *obj, char *v)
{
	(void)obj;
	return strcmp(v, "1") == 0 ? NULL : "unsupported version";
}

static const char *
kv_value(const struct key *k, void *obj, char *v)
{
	char	*field = (char *)obj + k->off;
	int	 i;

	if (k->parse != NULL)
		return k->parse(obj, v);
	if (k->flags & KEY_WORD) {
		if ((i = kv_word(v, k->words)) == -1)
			return "unexpected value";
		*(int *)(void *)field = i;
	} else if (k->flags & KEY_ID) {
		if (!queueid_valid(v))
			return "bad queue id";
		memcpy(field, v, QUEUEID_LEN + 1);
	} else {
		if (v[0] == '\0' && !(k->flags & KEY_EMPTY))
			return "empty value";
		if (strlen(v) >= k->size)
			return "value too long";
		strcpy(field, v);
	}
	return NULL;
}

/* kv_key_line - dispatch one "key: value" line; seen has a bit per key */
int
kv_key_line(const struct key *keys, size_t nkeys, void *obj, char *line,
    unsigned lineno, unsigned *seen, char *err, size_t errlen)
{
	const char *why;
	char	*key, *value;
	size_t	 i;

	if ((key = kv_split(line, &value)) == NULL) {
		kv_errf(err, errlen, lineno, "expected \"key: value\"");
		return -1;
	}
	for (i = 0; i < nkeys; i++)	/* the first byte first: cheap */
		if (key[0] == keys[i].name[0] && strcmp(key, keys[i].name) == 0)
			break;
	if (i == nkeys) {
		kv_errf(err, errlen, lineno, "unknown key \"%s\"", key);
		return -1;
	}
	if (lineno == 1 && i != 0) {
		kv_errf(err, errlen, lineno, "expected \"version\" first");
		return -1;
	}
	if ((*seen & (1u << i)) && !(keys[i].flags & KEY_REPEAT)) {
		kv_errf(err, errlen, lineno, "duplicate key \"%s\"", key);
		return -1;
	}
	*seen |= 1u << i;
	if ((why = kv_value(&keys[i], obj, value)) != NULL) {
		kv_errf(err, errlen, lineno, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* kv_keys_missing - name the first required key not seen, or 0 */
int
kv_keys_missing(const struct key *keys, size_t nkeys, unsigned seen,
    char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < nkeys; i++)
		if ((keys[i].flags & KEY_REQUIRED) && !(seen & (1u << i))) {
			kv_errf(err, errlen, 0, "missing key \"%s\"",
			    keys[i].name);
			return 1;
		}
	return 0;
}
