/* SPDX-License-Identifier: ISC */
/*
 * relayauth.h - the relayhost credentials file (relayhost_auth_file).
 *
 * Lines "next-hop user:password", '#' comment lines; next-hop is written
 * as relayhost is ("[smtp.provider.example]:587").  The file is opened
 * by root (relayauth_open(), in the queue runner's child before it drops
 * its privileges: a path the admin named, and not one byte read), so it
 * may be 0600 root; the descriptor is inherited by the queue runner,
 * which never reads it, and by its remote agents, which pread and parse
 * it as `user` (relayauth_lookup()).  Local agents close it.
 */
#ifndef TERN_RELAYAUTH_H
#define TERN_RELAYAUTH_H

#include <stddef.h>

#define RELAYAUTH_FIELD_MAX	256	/* user, password, with the NUL */

/*
 * relayauth_open - open path read-only for this process and its
 * children; it must be a regular file of our own uid, not readable or
 * writable by group or others.  -1 with the reason in err.
 */
int	relayauth_open(const char *path, char *err, size_t errlen);
/* relayauth_close - forget the descriptor (a child that needs none) */
void	relayauth_close(void);
/*
 * relayauth_lookup - the credentials for host:port (host compared without
 * case; a next hop without a port means default_port) from the open
 * file: 1 found, 0 no entry, -1 no usable file (reason in err).
 */
int	relayauth_lookup(const char *host, int port, int default_port,
	    char *user, char *pass, char *err, size_t errlen);
/* relayauth_parse - the same over text (for the unit tests) */
int	relayauth_parse(const char *text, size_t len, const char *host,
	    int port, int default_port, char *user, char *pass, char *err,
	    size_t errlen);

#endif
