/* SPDX-License-Identifier: ISC */
/*
 * master.h - the ternd master process: listen, fork, reap, reload.
 *
 * master_run() binds every listener (as root, before any privilege is
 * given up), detaches when asked (after binding, so a busy port is
 * reported to the caller), writes the pid file, starts the queue runner,
 * and then only accepts and forks:
 * it never reads a byte of network input.  It returns the exit status
 * for main() after SIGTERM.  priv_become() (priv.h) is the one privilege
 * step every child takes before it touches untrusted input.
 */
#ifndef TERN_MASTER_H
#define TERN_MASTER_H

#include <sys/types.h>

#include "config.h"

int	master_run(struct config *, int detach);

#endif
