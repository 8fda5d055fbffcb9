/* SPDX-License-Identifier: ISC */
/*
 * test_spool.c - queue ids, the spool tree, the commit protocol (a whole
 * file in queue/XX/, nothing left in tmp/), abort, start-up cleaning,
 * the state file's load and save, the runner's lock, the trigger FIFO,
 * and opening and announcing a queue file, in a fresh mkdtemp directory.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "log.h"
#include "queuefile.h"
#include "spool.h"
#include "statefile.h"
#include "unit.h"

#define NIDS	1000

static char	 spool[256];

static int
id_compare(const void *a, const void *b)
{
	return strcmp(a, b);
}

static long long
id_seconds(const char *id)
{
	static const char alphabet[] = "0123456789ABCDFGHJKLMNPQRSTVWXYZ";
	long long v = 0;
	int	 i;

	for (i = 0; i < 7; i++)
		v = v * 32 + (strchr(alphabet, id[i]) - alphabet);
	return v;
}

static void
test_ids(void)
{
	static char ids[NIDS][QUEUEID_LEN + 1];
	char	 sorted[NIDS][QUEUEID_LEN + 1];
	int	 i, ok = 1;

	for (i = 0; i < NIDS; i++) {
		queueid_new(ids[i]);
		if (!queueid_valid(ids[i]) || strlen(ids[i]) != 15 ||
		    (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0))
			ok = 0;
	}
	CHECK(ok);
	memcpy(sorted, ids, sizeof(sorted));
	qsort(sorted, NIDS, sizeof(sorted[0]), id_compare);
	for (i = 1; i < NIDS; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			ok = 0;
	CHECK(ok);
	/* The first 7 characters are the time in base 32. */
	CHECK(labs((long)(id_seconds(ids[0]) - time(NULL))) <= 2);
}

static void
test_id_validity(void)
{
	CHECK(queueid_valid("0RB8KX2JZ5Q0A1B"));
	CHECK(!queueid_valid("0RB8KX2JZ5Q0A1"));
	CHECK(!queueid_valid("0RB8KX2JZ5Q0A1BB"));
	CHECK(!queueid_valid("0RB8KX2JZ5Q0A1E"));	/* no E */
	CHECK(!queueid_valid("0rb8kx2jz5q0a1b"));
	CHECK(!queueid_valid("../../etc/passw"));
	CHECK(!queueid_valid(""));
	CHECK(!queueid_valid(NULL));
}

/* key_compare - (hi, lo) order, as idlist_sort() in queueview.c sorts */
static int
key_compare(const struct queueid_key *a, const struct queueid_key *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return (a->lo > b->lo) - (a->lo < b->lo);
}

/*
 * test_id_keys - a key turns back into its id, keys sort as the ids do,
 * and packing accepts exactly what queueid_valid() accepts.
 */
static void
test_id_keys(void)
{
	static const char alphabet[] = "0123456789ABCDFGHJKLMNPQRSTVWXYZ";
	struct queueid_key k1, k2;
	char	 a[QUEUEID_LEN + 1], b[QUEUEID_LEN + 1], back[QUEUEID_LEN + 1];
	int	 i, j, c, ok = 1;
	unsigned seed = 12345;

	for (i = 0; i < 20000; i++) {
		for (j = 0; j < QUEUEID_LEN; j++) {
			seed = seed * 1103515245u + 12345u;
			a[j] = alphabet[(seed >> 16) & 31];
			/* b shares a's first letters more often than not */
			b[j] = (seed >> 24) & 1 && j < 13 ? a[j] :
			    alphabet[(seed >> 8) & 31];
		}
		a[QUEUEID_LEN] = b[QUEUEID_LEN] = '\0';
		if (queueid_pack(a, &k1) != 0 || queueid_pack(b, &k2) != 0) {
			ok = 0;
			break;
		}
		queueid_unpack(&k1, back);
		c = strcmp(a, b);
		if (strcmp(back, a) != 0 || (c > 0) - (c < 0) !=
		    key_compare(&k1, &k2))
			ok = 0;
	}
	CHECK(ok);
	CHECK(queueid_pack("000000000000000", &k1) == 0 && k1.hi == 0 &&
	    k1.lo == 0);
	CHECK(queueid_pack("ZZZZZZZZZZZZZZZ", &k1) == 0 &&
	    k1.hi == (1ULL << 60) - 1 && k1.lo == (1u << 15) - 1);
	/* every byte in every place: packed exactly when valid */
	memcpy(a, "0RB8KX2JZ5Q0A1B", sizeof(a));
	for (j = 0; j < QUEUEID_LEN; j++)
		for (c = 1; c < 256; c++) {
			memcpy(b, a, sizeof(b));
			b[j] = (char)c;
			if ((queueid_pack(b, &k1) == 0) != queueid_valid(b))
				ok = 0;
		}
	CHECK(ok);
	CHECK(queueid_pack("0RB8KX2JZ5Q0A1", &k1) == -1);
	CHECK(queueid_pack("0RB8KX2JZ5Q0A1BB", &k1) == -1);
	CHECK(queueid_pack(NULL, &k1) == -1);
}

static void
test_hash_and_path(void)
{
	char	 hash[3], path[256];

	queueid_hash("0RB8KX2JZ5Q0A1B", hash);
	CHECK_STR(hash, "3a");
	CHECK(spool_path("/sp", "queue", "0RB8KX2JZ5Q0A1B", path,
	    sizeof(path)) == 0);
	CHECK_STR(path, "/sp/queue/3a/0RB8KX2JZ5Q0A1B");
	CHECK(spool_path("/sp", "state", "0RB8KX2JZ5Q0A1B", path,
	    sizeof(path)) == 0);
	CHECK_STR(path, "/sp/state/3a/0RB8KX2JZ5Q0A1B");
	CHECK(spool_path("/sp", "tmp", "0RB8KX2JZ5Q0A1B", path,
	    sizeof(path)) == -1 && errno == EINVAL);
	CHECK(spool_path("/sp", "queue", "../x", path, sizeof(path)) == -1);
	CHECK(spool_path("/sp", "queue", "0RB8KX2JZ5Q0A1B", path, 20) == -1 &&
	    errno == ENAMETOOLONG);
}

/* count_entries - entries of spool/sub other than . and .., -1 if none */
static int
count_entries(const char *sub)
{
	char	 path[512];
	struct dirent *de;
	DIR	*d;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/%s", spool, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
is_mode(const char *sub, mode_t type)
{
	char	 path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", spool, sub);
	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type &&
	    (st.st_mode & 0777) == (type == S_IFIFO ? 0600 : 0700);
}

static void
test_setup(void)
{
	char	 path[512], err[1024], want[1024];
	int	 fd;

	snprintf(path, sizeof(path), "%s/sub/spool", spool);
	CHECK(spool_setup(path, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: cannot create: %s", path,
	    strerror(ENOENT));
	CHECK_STR(err, want);
	CHECK(spool_setup(spool, err, sizeof(err)) == 0);
	CHECK(is_mode("tmp", S_IFDIR) && is_mode("queue", S_IFDIR));
	CHECK(is_mode("state", S_IFDIR) && is_mode("queue/00", S_IFDIR));
	CHECK(is_mode("queue/ff", S_IFDIR) && is_mode("state/a7", S_IFDIR));
	CHECK(is_mode("trigger", S_IFIFO));
	CHECK(count_entries("queue") == 256 && count_entries("state") == 256);
	CHECK(count_entries("tmp") == 0);
	CHECK(spool_setup(spool, NULL, 0) == 0);	/* idempotent */
	/* A file where the spool should be. */
	snprintf(path, sizeof(path), "%s/x", spool);
	CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	CHECK(spool_setup(path, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: is a file, not a directory", path);
	CHECK_STR(err, want);
	unlink(path);
}

/* setup_refused - spool_setup fails with "SPOOL/part: why" */
static int
setup_refused(const char *part, const char *why)
{
	char	 err[1024], want[1024];

	snprintf(want, sizeof(want), "%s/%s: %s", spool, part, why);
	if (spool_setup(spool, err, sizeof(err)) != -1 ||
	    strcmp(err, want) != 0) {
		printf("  got \"%s\", want \"%s\"\n", err, want);
		return 0;
	}
	return 1;
}

/* move - rename spool/from to spool/to */
static int
move(const char *from, const char *to)
{
	char	 a[512], b[512];

	snprintf(a, sizeof(a), "%s/%s", spool, from);
	snprintf(b, sizeof(b), "%s/%s", spool, to);
	return rename(a, b);
}

/*
 * A part replaced by a symbolic link (to a directory elsewhere, with a
 * file in it), by the wrong type, or the spool open to others: refused,
 * and nothing is made or removed through the link.
 */
static void
test_setup_refuses_links(void)
{
	char	 path[1024], outside[512];
	int	 fd;

	snprintf(outside, sizeof(outside), "%s.outside", spool);
	CHECK(mkdir(outside, 0700) == 0);
	snprintf(path, sizeof(path), "%s/keep", outside);
	CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	CHECK(move("tmp", "tmp.real") == 0);
	snprintf(path, sizeof(path), "%s/tmp", spool);
	CHECK(symlink(outside, path) == 0);
	CHECK(setup_refused("tmp", "is a symbolic link, not a directory"));
	CHECK(spool_clean_tmp(spool) == -1);
	snprintf(path, sizeof(path), "%s/keep", outside);
	CHECK(access(path, F_OK) == 0);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/tmp", spool);
	CHECK(unlink(path) == 0 && move("tmp.real", "tmp") == 0);
	/* state: not one directory made in the link's target */
	CHECK(move("state", "state.real") == 0);
	snprintf(path, sizeof(path), "%s/state", spool);
	CHECK(symlink(outside, path) == 0);
	CHECK(setup_refused("state", "is a symbolic link, not a directory"));
	CHECK(count_entries("state/") == 0);
	CHECK(unlink(path) == 0 && move("state.real", "state") == 0);
	/* one hash directory deep */
	snprintf(path, sizeof(path), "%s/queue/7f", spool);
	CHECK(rmdir(path) == 0 && symlink(outside, path) == 0);
	CHECK(setup_refused("queue/7f", "is a symbolic link, not a "
	    "directory"));
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	/* the trigger as a file */
	CHECK(move("trigger", "trigger.real") == 0);
	snprintf(path, sizeof(path), "%s/trigger", spool);
	CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	CHECK(setup_refused("trigger", "is a file, not a FIFO"));
	CHECK(unlink(path) == 0 && move("trigger.real", "trigger") == 0);
	CHECK(rmdir(outside) == 0);
	CHECK(chmod(spool, 0777) == 0);
	CHECK(spool_setup(spool, NULL, 0) == -1);
	CHECK(chmod(spool, 0700) == 0);
	CHECK(spool_setup(spool, NULL, 0) == 0);
}

/* As root: a part owned by someone else is refused, and named. */
static void
test_setup_refuses_other_owner(void)
{
	char	 path[512], why[128];

	if (geteuid() != 0)
		return;
	snprintf(path, sizeof(path), "%s/queue/00", spool);
	CHECK(chown(path, 65534, 65534) == 0);
	snprintf(why, sizeof(why), "is owned by uid 65534, not by uid 0 (the "
	    "user that runs tern)");
	CHECK(setup_refused("queue/00", why));
	CHECK(chown(path, 0, 0) == 0);
	CHECK(spool_setup(spool, NULL, 0) == 0);
}

/* read_file - whole contents of path into buf (NUL-terminated), or -1 */
static ssize_t
read_file(const char *path, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void
test_commit(void)
{
	struct queuefile_new sf;
	struct stat st;
	char	 path[512], buf[200000], want[200000];
	size_t	 i;

	CHECK(queuefile_create(spool, &sf) == 0);
	CHECK(queueid_valid(sf.id) && sf.fp != NULL);
	CHECK(count_entries("tmp") == 1);
	/* Bigger than the 64 KiB buffer, so it is written in pieces. */
	for (i = 0; i < sizeof(want) - 1; i++)
		want[i] = "abcdefghijklmnopqrstuvwxyz\r\n"[i % 28];
	want[sizeof(want) - 1] = '\0';
	CHECK(fputs(want, sf.fp) != EOF);
	CHECK(queuefile_commit(spool, &sf) == 0);
	CHECK(sf.fp == NULL && sf.tmppath[0] == '\0');
	CHECK(count_entries("tmp") == 0);
	CHECK(spool_path(spool, "queue", sf.id, path, sizeof(path)) == 0);
	CHECK(read_file(path, buf, sizeof(buf)) == (ssize_t)strlen(want));
	CHECK(strcmp(buf, want) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	queuefile_abort(&sf);			/* harmless after commit */
	CHECK(access(path, F_OK) == 0);
	CHECK(unlink(path) == 0);
	/* Committing twice is refused and leaves nothing behind. */
	CHECK(queuefile_commit(spool, &sf) == -1 && errno == EINVAL);
}

static void
test_abort(void)
{
	struct queuefile_new sf;

	CHECK(queuefile_create(spool, &sf) == 0);
	fputs("partial message\r\n", sf.fp);
	queuefile_abort(&sf);
	CHECK(count_entries("tmp") == 0);
	queuefile_abort(&sf);			/* safe twice */
	CHECK(sf.fp == NULL && sf.iobuf == NULL);
	CHECK(queuefile_create("/nonexistent/spool", &sf) == -1 && errno == ENOENT);
	CHECK(sf.fp == NULL && sf.tmppath[0] == '\0');
	queuefile_abort(&sf);
}

static void
test_clean_tmp(void)
{
	char	 path[512];
	int	 i, fd;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/tmp/stale%d", spool, i);
		CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/tmp/adir", spool);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(count_entries("tmp") == 4);
	CHECK(spool_clean_tmp(spool) == 0);
	CHECK(count_entries("tmp") == 1);	/* only regular files go */
	rmdir(path);
	CHECK(spool_clean_tmp("/nonexistent/spool") == -1);
}

static void
test_write_state(void)
{
	struct state st, got;
	char	 id[QUEUEID_LEN + 1], path[512], err[256];
	FILE	*fp;
	int	 round;

	queueid_new(id);
	CHECK(state_alloc(&st, id, 2) == 0);
	for (round = 0; round < 2; round++) {
		st.rcpt[0].state = RCPT_DEFERRED;
		st.rcpt[0].attempts = round + 1;
		strcpy(st.rcpt[0].dsn, "4.4.1");
		strcpy(st.rcpt[0].reply, "connection refused");
		st.warned = round;
		CHECK(statefile_save(spool, &st) == 0);
		CHECK(count_entries("tmp") == 0);
		CHECK(spool_path(spool, "state", id, path, sizeof(path)) == 0);
		CHECK((fp = fopen(path, "r")) != NULL);
		if (fp == NULL)
			break;
		CHECK(state_read(fp, &got, err, sizeof(err)) == 0);
		fclose(fp);
		CHECK(got.nrcpt == 2 && got.warned == round);
		CHECK(got.nrcpt == 2 && got.rcpt[0].attempts == round + 1);
		CHECK(got.nrcpt == 2 && strcmp(got.rcpt[0].reply,
		    "connection refused") == 0);
		state_free(&got);
	}
	/* An invalid state is refused and leaves no tmp file. */
	strcpy(st.rcpt[1].dsn, "bogus");
	CHECK(statefile_save(spool, &st) == -1);
	CHECK(count_entries("tmp") == 0);
	unlink(path);
	state_free(&st);
}

static void
test_statefile_load(void)
{
	struct state st, got;
	char	 id[QUEUEID_LEN + 1], other[QUEUEID_LEN + 1], err[256];
	char	 path[512], to[512];
	FILE	*fp;

	queueid_new(id);
	/* No file: a fresh state, every recipient pending. */
	CHECK(statefile_load(spool, id, 3, &got, err, sizeof(err)) == 1);
	CHECK(got.nrcpt == 3 && got.rcpt[2].state == RCPT_PENDING &&
	    !got.held && strcmp(got.id, id) == 0);
	state_free(&got);
	CHECK(state_alloc(&st, id, 3) == 0);
	st.held = 1;
	st.rcpt[1].state = RCPT_DELIVERED;
	CHECK(statefile_save(spool, &st) == 0);
	CHECK(statefile_load(spool, id, 3, &got, err, sizeof(err)) == 0);
	CHECK(got.nrcpt == 3 && got.held && got.rcpt[1].state ==
	    RCPT_DELIVERED);
	state_free(&got);
	/* Not the queue file's count, not its id, does not parse. */
	CHECK(statefile_load(spool, id, 2, &got, err, sizeof(err)) == -2);
	CHECK_STR(err, "3 recipients, queue file has 2");
	CHECK(got.nrcpt == 0 && got.rcpt == NULL);
	queueid_new(other);
	CHECK(spool_path(spool, "state", id, path, sizeof(path)) == 0);
	CHECK(spool_path(spool, "state", other, to, sizeof(to)) == 0);
	CHECK(rename(path, to) == 0);
	CHECK(statefile_load(spool, other, 3, &got, err, sizeof(err)) == -2);
	CHECK_STR(err, "id mismatch");
	CHECK((fp = fopen(to, "w")) != NULL);
	if (fp != NULL) {
		fputs("version: 1\nheld: maybe\n", fp);
		fclose(fp);
	}
	CHECK(statefile_load(spool, other, 3, &got, err, sizeof(err)) == -2);
	CHECK(strstr(err, "line 2") != NULL && got.nrcpt == 0);
	CHECK(statefile_load(spool, "bad", 3, &got, err, sizeof(err)) == -1);
	unlink(to);
	state_free(&st);
}

static void
put_file(const char *path, const char *text)
{
	FILE	*fp;

	CHECK((fp = fopen(path, "w")) != NULL);
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void
test_statefile_head(void)
{
	struct state st, got;
	struct state_head h;
	char	 id[QUEUEID_LEN + 1], path[512], err[256], text[512];

	queueid_new(id);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == 1);
	CHECK(state_alloc(&st, id, 3) == 0);
	/* due: the earliest next attempt of a waiting recipient */
	st.rcpt[0].state = RCPT_DELIVERED;
	st.rcpt[0].next_attempt = 100;
	st.rcpt[1].state = RCPT_DEFERRED;
	st.rcpt[1].next_attempt = 2000;
	st.rcpt[2].state = RCPT_DEFERRED;
	st.rcpt[2].next_attempt = 1500;
	st.held = 1;
	CHECK(state_due(&st) == 1500);
	CHECK(statefile_save(spool, &st) == 0);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == 0);
	CHECK(h.held == 1 && h.warned == 0 && h.due == 1500);
	CHECK(statefile_load(spool, id, 3, &got, err, sizeof(err)) == 0);
	CHECK(got.has_due && got.due == 1500);
	state_free(&got);
	/* a pending recipient is due now */
	st.rcpt[2].state = RCPT_PENDING;
	st.rcpt[2].next_attempt = 0;
	CHECK(state_due(&st) == 0);
	/* a file without "due" (written before it existed): parse it whole */
	CHECK(spool_path(spool, "state", id, path, sizeof(path)) == 0);
	snprintf(text, sizeof(text), "version: 1\nid: %s\nheld: no\n"
	    "warned: yes\nrcpt: 0 deferred 1 700 600 4.4.1 -\n", id);
	put_file(path, text);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == 2);
	CHECK(statefile_load(spool, id, 1, &got, err, sizeof(err)) == 0);
	CHECK(got.nrcpt == 1 && !got.has_due && state_due(&got) == 700);
	state_free(&got);
	/* a due that disagrees with the recipients does not parse */
	snprintf(text, sizeof(text), "version: 1\nid: %s\nheld: no\n"
	    "warned: no\ndue: 5\nrcpt: 0 deferred 1 700 600 4.4.1 -\n", id);
	put_file(path, text);
	CHECK(statefile_load(spool, id, 1, &got, err, sizeof(err)) == -2);
	CHECK_STR(err, "due does not match the recipients");
	/* the head is parsed strictly */
	snprintf(text, sizeof(text), "version: 1\nid: %s\nheld: maybe\n"
	    "warned: no\ndue: 5\nrcpt: 0 deferred 1 5 600 4.4.1 -\n", id);
	put_file(path, text);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == -2);
	CHECK(strstr(err, "line 3") != NULL);
	put_file(path, "version: 1\nid: 0RB8KX2JZ5Q0A1X\nheld: no\n"
	    "warned: no\ndue: 5\nrcpt: 0 deferred 1 5 600 4.4.1 -\n");
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == -2);
	put_file(path, "version: 1\n");
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == -2);
	unlink(path);
	state_free(&st);
}

/*
 * A retry's state goes without fsync (1) only when a power cut taking it
 * costs nothing but an early retry: every recipient still waiting, not
 * held, not warned.  Any other is fsync'd (0).  An empty state file (a
 * retry's that the cut caught before its data was written) reads as
 * none, fully and by its head.
 */
static void
test_statefile_save_retry(void)
{
	struct state st, got;
	struct state_head h;
	char	 id[QUEUEID_LEN + 1], path[512], err[256];

	queueid_new(id);
	CHECK(state_alloc(&st, id, 2) == 0);
	st.rcpt[0].state = RCPT_DEFERRED;
	st.rcpt[0].attempts = 3;
	st.rcpt[0].next_attempt = 4000;
	strcpy(st.rcpt[0].dsn, "4.4.1");
	CHECK(statefile_save_retry(spool, &st) == 1);
	CHECK(count_entries("tmp") == 0);
	CHECK(statefile_load(spool, id, 2, &got, err, sizeof(err)) == 0);
	CHECK(got.nrcpt == 2 && got.rcpt[0].attempts == 3 &&
	    got.rcpt[1].state == RCPT_PENDING);
	state_free(&got);
	st.warned = 1;
	CHECK(statefile_save_retry(spool, &st) == 0);
	st.warned = 0;
	st.held = 1;
	CHECK(statefile_save_retry(spool, &st) == 0);
	st.held = 0;
	st.rcpt[1].state = RCPT_DELIVERED;
	CHECK(statefile_save_retry(spool, &st) == 0);
	CHECK(statefile_load(spool, id, 2, &got, err, sizeof(err)) == 0);
	CHECK(got.nrcpt == 2 && got.rcpt[1].state == RCPT_DELIVERED);
	state_free(&got);
	st.rcpt[1].state = RCPT_FAILED;
	strcpy(st.rcpt[1].dsn, "5.1.1");
	CHECK(statefile_save_retry(spool, &st) == 0);
	/* refused as statefile_save() refuses it, and no tmp file left */
	strcpy(st.rcpt[1].dsn, "bogus");
	CHECK(statefile_save_retry(spool, &st) == -1);
	CHECK(count_entries("tmp") == 0);
	/* empty: no state, every recipient pending */
	CHECK(spool_path(spool, "state", id, path, sizeof(path)) == 0);
	put_file(path, "");
	CHECK(statefile_load(spool, id, 2, &got, err, sizeof(err)) == 1);
	CHECK(got.nrcpt == 2 && got.rcpt[0].state == RCPT_PENDING &&
	    got.rcpt[0].attempts == 0 && strcmp(got.id, id) == 0);
	state_free(&got);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == 1);
	CHECK(h.due == 0 && !h.held && !h.warned);
	/* but one byte is not a state */
	put_file(path, "v");
	CHECK(statefile_load(spool, id, 2, &got, err, sizeof(err)) == -2);
	CHECK(statefile_head(spool, id, &h, err, sizeof(err)) == -2);
	unlink(path);
	state_free(&st);
}

/* lock_child - in a child: what spool_lock(spool, 0) does there */
static int
lock_child(void)
{
	pid_t	 pid;
	int	 status, fd;

	if ((pid = fork()) == 0) {
		fd = spool_lock(spool, 0);
		_exit(fd != -1 ? 0 : errno == EAGAIN ? 1 : 2);
	}
	if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_lock(void)
{
	char	 path[512];
	int	 fd;

	CHECK((fd = spool_lock(spool, 0)) != -1);
	snprintf(path, sizeof(path), "%s/lock", spool);
	CHECK(access(path, F_OK) == 0);
	/* Another process, even one we forked, does not get it... */
	CHECK(lock_child() == 1);
	close(fd);
	/* ...until we let go. */
	CHECK(lock_child() == 0);
	CHECK((fd = spool_lock(spool, 1)) != -1);
	close(fd);
	CHECK(spool_lock("/nonexistent/spool", 0) == -1 && errno == ENOENT);
}

static void
test_trigger(void)
{
	char	 path[512], buf[64];
	ssize_t	 n;
	int	 fd;

	/* No reader: returns at once, no error, no SIGPIPE. */
	spool_trigger(spool, "new 0RB8KX2JZ5Q0A1B\n");
	snprintf(path, sizeof(path), "%s/trigger", spool);
	CHECK((fd = open(path, O_RDONLY | O_NONBLOCK)) != -1);
	spool_trigger(spool, "new 0RB8KX2JZ5Q0A1B\n");
	spool_trigger(spool, "");
	n = read(fd, buf, sizeof(buf) - 1);
	CHECK(n == 20);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(buf, "new 0RB8KX2JZ5Q0A1B\n");
	close(fd);
	spool_trigger("/nonexistent/spool", "x\n");	/* logged only */
}

#define BODY	"Subject: t\r\n\r\nhello\r\n"

/* make_message - a committed queue file with one recipient; its id */
static void
make_message(char id[QUEUEID_LEN + 1])
{
	struct queuefile_new nf;
	struct envelope env;

	id[0] = '\0';
	CHECK(queuefile_create(spool, &nf) == 0);
	envelope_init(&env);
	strcpy(env.id, nf.id);
	env.arrival = time(NULL);
	strcpy(env.client, "localhost [127.0.0.1]");
	strcpy(env.protocol, "ESMTP");
	strcpy(env.sender, "alice@example.org");
	CHECK(envelope_add_rcpt(&env, "bob@example.com", 0, "") == 0);
	CHECK(envelope_write(nf.fp, &env) == 0);
	CHECK(fputs(BODY, nf.fp) != EOF);
	CHECK(queuefile_commit(spool, &nf) == 0);
	memcpy(id, nf.id, QUEUEID_LEN + 1);
	envelope_free(&env);
}

static void
test_open(void)
{
	struct queuefile qf;
	char	 id[QUEUEID_LEN + 1], err[256], body[64];
	size_t	 n;

	make_message(id);
	CHECK(queuefile_open(spool, id, &qf, err, sizeof(err)) == 0);
	CHECK_STR(qf.env.id, id);
	CHECK_STR(qf.env.sender, "alice@example.org");
	CHECK(qf.env.nrcpt == 1);
	CHECK_STR(qf.env.rcpt[0].addr, "bob@example.com");
	CHECK(qf.size == (off_t)strlen(BODY));
	CHECK(qf.fp != NULL && ftello(qf.fp) == qf.body);
	n = fread(body, 1, sizeof(body) - 1, qf.fp);
	body[n] = '\0';
	CHECK_STR(body, BODY);
	queuefile_close(&qf);
	CHECK(qf.fp == NULL && qf.env.rcpt == NULL);
	queuefile_close(&qf);			/* safe twice */
}

static void
test_open_refuses(void)
{
	struct queuefile qf;
	char	 id[QUEUEID_LEN + 1], other[QUEUEID_LEN + 1], err[256];
	char	 path[512], to[512];
	FILE	*fp;

	queueid_new(other);
	CHECK(queuefile_open(spool, other, &qf, err, sizeof(err)) == -1 &&
	    errno == ENOENT);
	CHECK(qf.fp == NULL && qf.env.nrcpt == 0);
	CHECK(queuefile_open(spool, "bad", &qf, err, sizeof(err)) == -1);
	/* A file under another message's name is not that message. */
	make_message(id);
	CHECK(spool_path(spool, "queue", id, path, sizeof(path)) == 0);
	CHECK(spool_path(spool, "queue", other, to, sizeof(to)) == 0);
	CHECK(rename(path, to) == 0);
	CHECK(queuefile_open(spool, other, &qf, err, sizeof(err)) == -2);
	CHECK_STR(err, "id mismatch");
	CHECK(qf.fp == NULL && qf.env.nrcpt == 0);
	/* An envelope that does not parse. */
	CHECK((fp = fopen(to, "w")) != NULL);
	if (fp != NULL) {
		fputs("version: 1\nbogus: x\n\nbody\r\n", fp);
		fclose(fp);
	}
	CHECK(queuefile_open(spool, other, &qf, err, sizeof(err)) == -2);
	CHECK(strstr(err, "line 2") != NULL);
	unlink(to);
}

/* The message again, without the envelope, from the mark of a parse. */
static void
test_open_body(void)
{
	struct queuefile qf;
	struct queuefile_mark mk;
	char	 id[QUEUEID_LEN + 1], other[QUEUEID_LEN + 1], err[256];
	char	 body[64], path[512], to[512];
	size_t	 n;
	FILE	*fp;

	make_message(id);
	CHECK(queuefile_open(spool, id, &qf, err, sizeof(err)) == 0);
	queuefile_mark(&qf, &mk);
	queuefile_close(&qf);
	CHECK(mk.size == (off_t)strlen(BODY) && mk.body > 0);
	CHECK(queuefile_open_body(spool, id, &mk, &fp, err,
	    sizeof(err)) == 0);
	CHECK(fp != NULL && ftello(fp) == mk.body);
	n = fp != NULL ? fread(body, 1, sizeof(body) - 1, fp) : 0;
	body[n] = '\0';
	CHECK_STR(body, BODY);
	if (fp != NULL)
		fclose(fp);
	/* Another file under its name (replaced meanwhile) is refused. */
	make_message(other);
	CHECK(spool_path(spool, "queue", other, path, sizeof(path)) == 0);
	CHECK(spool_path(spool, "queue", id, to, sizeof(to)) == 0);
	CHECK(rename(path, to) == 0);
	CHECK(queuefile_open_body(spool, id, &mk, &fp, err,
	    sizeof(err)) == -2 && fp == NULL);
	/* And a message that is gone is ENOENT. */
	unlink(to);
	CHECK(queuefile_open_body(spool, id, &mk, &fp, err,
	    sizeof(err)) == -1 && errno == ENOENT && fp == NULL);
}

static void
test_announce(void)
{
	char	 path[512], buf[64], id[QUEUEID_LEN + 1];
	ssize_t	 n;
	int	 fd;

	queueid_new(id);
	queuefile_announce(spool, id);		/* no reader: nothing */
	snprintf(path, sizeof(path), "%s/trigger", spool);
	CHECK((fd = open(path, O_RDONLY | O_NONBLOCK)) != -1);
	queuefile_announce(spool, "not an id");	/* refused */
	queuefile_announce(spool, id);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(n == QUEUEID_LEN + 5);
	CHECK(strncmp(buf, "new ", 4) == 0 && strncmp(buf + 4, id,
	    QUEUEID_LEN) == 0 && buf[QUEUEID_LEN + 4] == '\n');
	close(fd);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init("test", 1);
	snprintf(spool, sizeof(spool), "%s/test_spool.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(spool) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_ids);
	RUN(test_id_validity);
	RUN(test_id_keys);
	RUN(test_hash_and_path);
	RUN(test_setup);
	RUN(test_setup_refuses_links);
	RUN(test_setup_refuses_other_owner);
	RUN(test_commit);
	RUN(test_abort);
	RUN(test_clean_tmp);
	RUN(test_write_state);
	RUN(test_statefile_load);
	RUN(test_statefile_head);
	RUN(test_statefile_save_retry);
	RUN(test_lock);
	RUN(test_trigger);
	RUN(test_open);
	RUN(test_open_refuses);
	RUN(test_open_body);
	RUN(test_announce);
	nftw(spool, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return unit_done();
}
