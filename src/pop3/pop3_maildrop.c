/* SPDX-License-Identifier: ISC */
/*
 * pop3_maildrop.c - the maildrop of a POP3 session: a Maildir, locked,
 * scanned once at login (RFC 1939 8: the messages of a session do not
 * change under it), and the pure parts of the protocol: unique-ids,
 * sizes, the CRLF and dot-stuffing encoder and the command parser.
 *
 * Runs in the mailbox process, as the owner of the Maildir.
 *
 * new/ is moved to cur/ at login as Dovecot does it: new/NAME becomes
 * cur/NAME:2, (a rename, never a copy), so a later IMAP or POP3 session
 * of Dovecot finds the same file.  Mail delivered after the scan waits
 * in new/ for the next session.  A message is numbered in the order of
 * its base name, which starts with its delivery time (tern and Dovecot
 * name files "SECONDS.UNIQUE.HOST"), so numbers follow arrival.
 *
 * The unique-id of a message is its base name without the ":2,FLAGS"
 * info: it survives the move to cur/ and every flag change, and it is
 * what Dovecot's pop3_uidl_format = %f gives for the same Maildir.
 *
 * Sizes are those of the message with CRLF line ends (RFC 1939 11), as
 * RETR sends it: the ",W=" field of the name when Dovecot wrote one,
 * else counted from the file (tern's deliveries store LF line ends).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iobuf.h"
#include "pop3.h"
#include "text.h"

#define READ_CHUNK	65536

size_t
maildrop_uidl(const char *name, char *out, size_t outlen)
{
	const char *base = strrchr(name, '/');
	size_t	 n;

	base = base != NULL ? base + 1 : name;
	n = strcspn(base, ":");
	if (outlen == 0)
		return 0;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, base, n);
	out[n] = '\0';
	return n;
}

off_t
maildrop_name_size(const char *name)
{
	const char *p = name, *base = strrchr(name, '/');
	long long v = 0;
	size_t	 n;

	base = base != NULL ? base + 1 : name;
	n = strcspn(base, ":");
	for (p = base; (p = strstr(p, ",W=")) != NULL && p < base + n; p++) {
		p += 3;
		if (*p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			if (v > (1LL << 50))
				return -1;
			v = v * 10 + (*p - '0');
		}
		return *p == ',' || *p == ':' || *p == '\0' ? (off_t)v : -1;
	}
	return -1;
}

off_t
maildrop_crlf_size(const char *p, size_t n, int *cr)
{
	off_t	 size = (off_t)n;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && !*cr)
			size++;
		*cr = p[i] == '\r';
	}
	return size;
}

void
pop3_enc_init(struct pop3_enc *e, long long lines)
{
	memset(e, 0, sizeof(*e));
	e->bol = 1;
	e->lines = lines;
}

/*
 * A line ends at LF; a CR is held back until the next byte shows whether
 * it starts CRLF.  A CR alone stays in the line, as does every other
 * byte: only the line ends are rewritten, and a '.' that starts a line
 * is doubled (RFC 1939 3).
 */
size_t
pop3_enc_chunk(struct pop3_enc *e, const char *in, size_t n, char *out)
{
	size_t	 i, o = 0;
	char	 c;

	for (i = 0; i < n && !e->done; i++) {
		c = in[i];
		if (c == '\r' && !e->cr) {
			e->cr = 1;
			continue;
		}
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			e->cr = 0;
			if (e->body && e->lines > 0 && --e->lines == 0)
				e->done = 1;
			else if (e->bol && !e->body) {
				e->body = 1;	/* the blank line */
				if (e->lines == 0)
					e->done = 1;
			}
			e->bol = 1;
			continue;
		}
		if (e->cr) {
			out[o++] = '\r';
			e->cr = 0;
			e->bol = 0;
			if (c == '\r') {
				e->cr = 1;
				continue;
			}
		}
		if (c == '.' && e->bol)
			out[o++] = '.';
		out[o++] = c;
		e->bol = 0;
	}
	return o;
}

size_t
pop3_enc_end(struct pop3_enc *e, char *out)
{
	size_t	 o = 0;

	if (e->cr && !e->done) {
		out[o++] = '\r';
		e->bol = 0;
	}
	if (!e->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

int
pop3_parse(char *line, char **verb, char *arg[2])
{
	char	*p = line;
	int	 n = 0;

	arg[0] = arg[1] = NULL;
	*verb = p;
	if (text_has_ctl(line))
		return -1;
	p += strcspn(p, " ");
	for (char *q = *verb; q < p; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 'a' + 'A');
	while (*p == ' ') {
		*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == 2)
			return -1;
		arg[n++] = p;
		p += strcspn(p, " ");
	}
	return n;
}

size_t
pop3_msgno(const char *s, size_t max)
{
	size_t	 v = 0;

	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (size_t)(*s - '0')) / 10)
			return 0;
		v = v * 10 + (size_t)(*s - '0');
	}
	return *s == '\0' && v <= max ? v : 0;
}

void
pop3_reply(struct iobuf *io, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	iobuf_vprintf(io, fmt, ap);
	va_end(ap);
	iobuf_write(io, "\r\n", 2);
}

ssize_t
pop3_getline(struct iobuf *io, size_t max, char **line, int *toolong)
{
	ssize_t	 n;

	if ((n = iobuf_getline(io, max, line, toolong)) == -1 || *toolong)
		return n;
	(*line)[--n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		(*line)[--n] = '\0';
	return n;
}

/* sub_open - a subdirectory of the Maildir for readdir(), or NULL. */
static DIR *
sub_open(int dirfd, const char *sub)
{
	DIR	*d;
	int	 fd;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* A Maildir entry: not hidden, no '/', fit for a line and a log. */
static int
entry_ok(const char *name)
{
	return name[0] != '.' && !text_has_ctl(name) && strchr(name, ' ') ==
	    NULL;
}

/* The CRLF size of a file, counted. */
static off_t
file_size(int dirfd, const char *name)
{
	char	 buf[READ_CHUNK];
	off_t	 size = 0;
	ssize_t	 n;
	int	 fd, cr = 0;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		size += maildrop_crlf_size(buf, (size_t)n, &cr);
	close(fd);
	return n == -1 ? -1 : size;
}

/* new/NAME -> cur/NAME:2, (Dovecot's maildir sync does the same). */
static void
move_new(int dirfd)
{
	char	 from[NAME_MAX + 8], to[NAME_MAX + 16];
	struct dirent *de;
	DIR	*d;

	if ((d = sub_open(dirfd, "new")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!entry_ok(de->d_name))
			continue;
		snprintf(from, sizeof(from), "new/%s", de->d_name);
		snprintf(to, sizeof(to), "cur/%s%s", de->d_name,
		    strchr(de->d_name, ':') != NULL ? "" : ":2,");
		(void)renameat(dirfd, from, dirfd, to);
	}
	closedir(d);
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct pop3_msg *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
scan_cur(struct maildrop *md)
{
	struct dirent *de;
	struct pop3_msg *m;
	size_t	 cap = 0;
	DIR	*d;

	if ((d = sub_open(md->dirfd, "cur")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!entry_ok(de->d_name))
			continue;
		if (md->n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((m = reallocarray(md->msg, cap, sizeof(*m))) ==
			    NULL)
				goto fail;
			md->msg = m;
		}
		m = &md->msg[md->n];
		memset(m, 0, sizeof(*m));
		if ((m->name = malloc(strlen(de->d_name) + 5)) == NULL)
			goto fail;
		memcpy(m->name, "cur/", 4);
		strcpy(m->name + 4, de->d_name);
		if ((m->size = maildrop_name_size(m->name)) == -1 &&
		    (m->size = file_size(md->dirfd, m->name)) == -1) {
			free(m->name);	/* gone since readdir: not ours */
			continue;
		}
		md->size += m->size;
		md->n++;
	}
	closedir(d);
	if (md->n > 1)
		qsort(md->msg, md->n, sizeof(*md->msg), msg_cmp);
	return 0;
fail:
	closedir(d);
	errno = ENOMEM;
	return -1;
}

int
maildrop_open(struct maildrop *md, const char *path)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	size_t	 i;
	int	 saved;

	memset(md, 0, sizeof(*md));
	md->lockfd = -1;
	/* A Maildir no delivery has made yet is an empty maildrop. */
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		(void)mkdirat(md->dirfd, sub[i], 0700);
	if ((md->lockfd = openat(md->dirfd, POP3_LOCK_NAME, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    flock(md->lockfd, LOCK_EX | LOCK_NB) == -1)
		goto fail;
	move_new(md->dirfd);
	if (scan_cur(md) == -1)
		goto fail;
	return 0;
fail:
	saved = errno;
	maildrop_close(md);
	errno = saved;
	return -1;
}

void
maildrop_close(struct maildrop *md)
{
	size_t	 i;

	for (i = 0; i < md->n; i++)
		free(md->msg[i].name);
	free(md->msg);
	md->msg = NULL;
	md->n = 0;
	if (md->lockfd != -1)
		close(md->lockfd);	/* the lock goes with it */
	if (md->dirfd > 0)
		close(md->dirfd);
	md->lockfd = md->dirfd = -1;
}

/* Another program renamed the file for its flags: find the base name. */
static int
refind(struct maildrop *md, size_t i)
{
	struct pop3_msg *m = &md->msg[i];
	size_t	 blen = strcspn(m->name + 4, ":");
	struct dirent *de;
	char	*name;
	DIR	*d;
	int	 found = 0;

	if ((d = sub_open(md->dirfd, "cur")) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, m->name + 4, blen) != 0 ||
		    (de->d_name[blen] != ':' && de->d_name[blen] != '\0') ||
		    (name = malloc(strlen(de->d_name) + 5)) == NULL)
			continue;
		memcpy(name, "cur/", 4);
		strcpy(name + 4, de->d_name);
		free(m->name);
		m->name = name;
		found = 1;
	}
	closedir(d);
	return found;
}

int
maildrop_fopen(struct maildrop *md, size_t i)
{
	int	 fd;

	fd = openat(md->dirfd, md->msg[i].name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && refind(md, i))
		fd = openat(md->dirfd, md->msg[i].name, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int
maildrop_flag(const char *name, char flag, char *out, size_t outlen)
{
	const char *info = strrchr(name, ':');
	size_t	 at;

	if (info == NULL || strncmp(info, ":2,", 3) != 0 ||
	    strchr(info + 3, flag) != NULL)
		return 0;
	for (at = (size_t)(info + 3 - name); name[at] != '\0' &&
	    (unsigned char)name[at] < (unsigned char)flag; at++)
		;
	if (strlen(name) + 2 > outlen)
		return -1;
	memcpy(out, name, at);
	out[at] = flag;
	strcpy(out + at + 1, name + at);
	return 1;
}

/* Seen at UPDATE: a rename only, and a failed one costs nothing. */
static void
mark_seen(struct maildrop *md, size_t i)
{
	char	 to[PATH_MAX];

	if (maildrop_flag(md->msg[i].name, 'S', to, sizeof(to)) != 1)
		return;
	if (renameat(md->dirfd, md->msg[i].name, md->dirfd, to) == -1 &&
	    errno == ENOENT && refind(md, i) &&
	    maildrop_flag(md->msg[i].name, 'S', to, sizeof(to)) == 1)
		(void)renameat(md->dirfd, md->msg[i].name, md->dirfd, to);
}

size_t
maildrop_commit(struct maildrop *md)
{
	size_t	 i, failed = 0;

	for (i = 0; i < md->n; i++) {
		if (!md->msg[i].deleted) {
			if (md->msg[i].seen)
				mark_seen(md, i);
			continue;
		}
		if (unlinkat(md->dirfd, md->msg[i].name, 0) == 0)
			continue;
		if (errno != ENOENT)
			failed++;
		else if (refind(md, i) && unlinkat(md->dirfd,
		    md->msg[i].name, 0) == -1 && errno != ENOENT)
			failed++;	/* renamed, and still not removable */
	}
	return failed;
}
