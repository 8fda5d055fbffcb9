/* TEMPORARY stub until the auth branch lands */
#ifndef TERN_SENDERLOGIN_H
#define TERN_SENDERLOGIN_H
struct config;
int	sender_login_owns(const struct config *, const char *user, const char *addr);
#endif
