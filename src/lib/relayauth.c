/* SPDX-License-Identifier: ISC */
/*
 * relayauth.c - the relayhost credentials file: opened by root, read by
 * the remote agent alone.
 *
 *	# next hop			user:password
 *	[smtp.provider.example]:587	alice@provider.example:s3cret pass
 *
 * The next hop is written as relayhost is (transport_parse_target());
 * the user ends at the first ':', the password is the rest of the line
 * (colons and inner spaces kept, trailing white space dropped).
 *
 * Privilege path: relayauth_open() runs as root in the queue runner's
 * child before priv_become() (master.c): it opens the path the admin named
 * in tern.conf, checks the file's owner and mode with fstat(2), and
 * reads nothing.  The descriptor lives in this file's static, inherited
 * by fork: the queue runner (as `user`) never calls relayauth_lookup();
 * only the remote agent, as `user`, preads the file and parses it.  So
 * no root code parses a byte of it, and no smtpd ever holds it.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "relayauth.h"
#include "transport.h"

#define RELAYAUTH_FILE_MAX	65536

static int	 relayauth_fd = -1;

int
relayauth_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int	 fd;

	relayauth_close();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK))
	    == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: must be owned by uid %ld and not "
		    "readable by group or others (mode 0600)", path,
		    (long)geteuid());
		goto fail;
	}
	relayauth_fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

void
relayauth_close(void)
{
	if (relayauth_fd != -1)
		close(relayauth_fd);
	relayauth_fd = -1;
}

/* relayauth_line - one line against host:port; 1 match, 0 not, -1 bad */
static int
relayauth_line(char *line, const char *host, int port, int default_port,
    char *user, char *pass)
{
	struct transport_route route;
	char	*key, *rest, *colon;
	size_t	 n;

	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	key = line;
	rest = key + strcspn(key, " \t");
	if (*rest == '\0')
		return -1;
	*rest++ = '\0';
	while (*rest == ' ' || *rest == '\t')
		rest++;
	n = strlen(rest);
	while (n > 0 && isspace((unsigned char)rest[n - 1]))
		rest[--n] = '\0';
	if ((colon = strchr(rest, ':')) == NULL || colon == rest ||
	    transport_parse_target(key, default_port, 0, &route) == -1 ||
	    route.kind == TRANSPORT_DISCARD)
		return -1;
	if (strcasecmp(route.host, host) != 0 || route.port != port)
		return 0;
	*colon = '\0';
	if (strlen(rest) >= RELAYAUTH_FIELD_MAX ||
	    strlen(colon + 1) >= RELAYAUTH_FIELD_MAX)
		return -1;
	snprintf(user, RELAYAUTH_FIELD_MAX, "%s", rest);
	snprintf(pass, RELAYAUTH_FIELD_MAX, "%s", colon + 1);
	return 1;
}

int
relayauth_parse(const char *text, size_t len, const char *host, int port,
    int default_port, char *user, char *pass, char *err, size_t errlen)
{
	char	 line[1024];
	size_t	 lineno = 0, n;
	const char *end = text + len, *nl;
	int	 rc = 0;

	while (text < end && rc == 0) {
		lineno++;
		if ((nl = memchr(text, '\n', (size_t)(end - text))) == NULL)
			nl = end;
		n = (size_t)(nl - text);
		if (n >= sizeof(line) || memchr(text, '\0', n) != NULL) {
			rc = -1;
			break;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		rc = relayauth_line(line, host, port, default_port, user,
		    pass);
		text = nl + 1;
	}
	explicit_bzero(line, sizeof(line));
	if (rc == -1)
		snprintf(err, errlen, "relayhost_auth_file:%zu: bad line (want "
		    "\"[host]:port user:password\")", lineno);
	return rc;
}

int
relayauth_lookup(const char *host, int port, int default_port, char *user,
    char *pass, char *err, size_t errlen)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;
	int	 rc;

	if (relayauth_fd == -1) {
		snprintf(err, errlen, "relayhost_auth_file could not be "
		    "opened (see the log of ternd)");
		return -1;
	}
	if ((buf = malloc(RELAYAUTH_FILE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (len < RELAYAUTH_FILE_MAX && (n = pread(relayauth_fd, buf + len,
	    RELAYAUTH_FILE_MAX - len, (off_t)len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "relayhost_auth_file: %s",
			    strerror(errno));
			rc = -1;
			goto out;
		}
		len += (size_t)n;
	}
	if (len == RELAYAUTH_FILE_MAX) {
		snprintf(err, errlen, "relayhost_auth_file: over 64 KiB");
		rc = -1;
		goto out;
	}
	rc = relayauth_parse(buf, len, host, port, default_port, user, pass,
	    err, errlen);
out:
	explicit_bzero(buf, RELAYAUTH_FILE_MAX);
	free(buf);
	return rc;
}
