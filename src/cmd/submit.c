/* SPDX-License-Identifier: ISC */
/*
 * submit.c - connect to the submit socket of ternd.  The daemon learns
 * who we are from the socket (SO_PEERCRED), so nothing is sent to say so.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "submit.h"

int
submit_connect(const char *path, int seconds)
{
	struct sockaddr_un sun;
	struct timeval	 tv = { seconds, 0 };
	int		 fd, save;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		save = errno;
		close(fd);
		errno = save;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}
