/* TEMPORARY stub until the auth branch lands */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H
int	auth_check(int fd, const char *user, const char *pass, int timeout_ms);
#endif
