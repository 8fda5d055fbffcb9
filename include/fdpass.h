/* SPDX-License-Identifier: ISC */
/*
 * fdpass.h - one message and one file descriptor over a Unix socket
 * (SCM_RIGHTS), for SOCK_SEQPACKET sockets where a message is a record.
 *
 * fdpass_send() sends len bytes with fd in one sendmsg(2).
 * fdpass_recv() receives one record of at most len bytes that carries
 * exactly one descriptor: it returns the byte count with *fd set (the
 * caller owns it), 0 at end of file or for an empty record (whose
 * descriptors are closed), or -1; a record that is truncated or
 * carries no descriptor or several is -1 with errno EBADMSG, and every
 * descriptor that came with it is closed.
 *
 * fd_full() moves exactly n bytes through a pipe or file: all of them
 * written (out) or read, through short counts and EINTR; -1 otherwise,
 * with errno EIO when a read meets the end first (the writer died).
 */
#ifndef TERN_FDPASS_H
#define TERN_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

int	fdpass_send(int sock, const void *buf, size_t len, int fd);
ssize_t	fdpass_recv(int sock, void *buf, size_t len, int *fd);
/* The same with exactly nfds (1..8) descriptors, in order. */
int	fdpass_sendv(int sock, const void *buf, size_t len, const int *fds,
	    int nfds);
ssize_t	fdpass_recvv(int sock, void *buf, size_t len, int *fds, int nfds);
int	fd_full(int fd, void *buf, size_t n, int out);

#endif
