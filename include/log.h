/* SPDX-License-Identifier: ISC */
/*
 * log.h - one line per event, to syslog (facility mail) or standard error.
 *
 * log_init("smtpd", to_stderr) once per process; every line is then
 * tagged "tern/smtpd[pid]" as Postfix tags its own, so log tools that read
 * Postfix logs (pflogsumm --syslog-name=tern, fail2ban) read ours.
 * log_warn() appends strerror(errno); log_warnx() does not.  Each line
 * is passed through log_escape(), so no control byte reaches the log.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_init(const char *proc, int to_stderr);
void	log_setproc(const char *proc);
void	log_setdebug(int on);
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/*
 * log_escape - in with each control byte (0x00-0x1f, 0x7f) as "\xNN",
 * cut at a whole character or escape to fit outlen; out is NUL-ended.
 */
void	log_escape(const char *in, char *out, size_t outlen);

#endif
