/* SPDX-License-Identifier: ISC */
/*
 * submit.h - the client end of the local submission socket, for
 * sendmail(8) (SMTP) and mailq(1) (XMAILQ).
 *
 *	fd = submit_connect(path, seconds)
 *
 * A connected stream socket to ternd at path, with send and receive
 * timeouts of seconds each; -1 with errno set (ENAMETOOLONG for a path
 * that does not fit, ENOENT or ECONNREFUSED when the daemon is down).
 */
#ifndef TERN_SUBMIT_H
#define TERN_SUBMIT_H

int	submit_connect(const char *path, int seconds);

#endif
