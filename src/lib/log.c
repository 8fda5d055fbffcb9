/* SPDX-License-Identifier: ISC */
/*
 * log.c - syslog or standard-error logging in the Postfix line layout.
 *
 * On standard error each line carries the same "Mon dd hh:mm:ss host
 * tern/proc[pid]: " prefix that syslogd would write, so a log captured
 * from `ternd -f` reads like a mail log file.  Errno is saved and restored
 * so that callers can log before reporting a failure.
 *
 * Every line passes log_escape() on its way out, whoever wrote it: a
 * control byte (C0 or DEL) that came from a client, a server reply or a
 * spool file is written as \xNN, so nothing can end a line early or
 * forge the next one, or send escape sequences to a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

static int	log_stderr = 1;
static int	log_debug_on;
static char	log_ident[64] = "tern";
static char	log_host[64];

void
log_setproc(const char *proc)
{
	snprintf(log_ident, sizeof(log_ident), "tern/%s", proc);
	if (!log_stderr) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void
log_init(const char *proc, int to_stderr)
{
	if (gethostname(log_host, sizeof(log_host)) == -1)
		strcpy(log_host, "localhost");
	log_host[sizeof(log_host) - 1] = '\0';
	log_stderr = to_stderr;
	log_setproc(proc);
}

void
log_setdebug(int on)
{
	log_debug_on = on;
}

void
log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t	 o = 0;

	if (outlen == 0)
		return;
	for (; *p != '\0'; p++) {
		if (!text_is_ctl(*p)) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 0xf];
	}
	out[o] = '\0';
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	 raw[2048], msg[4096], stamp[32];
	time_t	 now;
	struct tm tm;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(raw, msg, sizeof(msg));
	if (!log_stderr) {
		if (suffix)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
		return;
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	/* One write(2) per line keeps lines from several processes whole. */
	dprintf(STDERR_FILENO, "%s %s %s[%ld]: %s%s%s%s\n", stamp,
	    log_host[0] ? log_host : "localhost", log_ident, (long)getpid(),
	    pri == LOG_WARNING ? "warning: " : pri == LOG_CRIT ? "fatal: " : "",
	    msg, suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_BODY(pri, suffix) do {			\
	int	 saved = errno;				\
	va_list	 ap;					\
	va_start(ap, fmt);				\
	log_vwrite(pri, fmt, ap, suffix);		\
	va_end(ap);					\
	errno = saved;					\
} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_WARNING, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (log_debug_on)
		LOG_BODY(LOG_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_CRIT, err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
	exit(1);
}
