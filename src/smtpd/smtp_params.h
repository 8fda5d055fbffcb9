/* SPDX-License-Identifier: ISC */
/*
 * smtp_params.h - the ESMTP parameters of MAIL and RCPT.
 *
 * smtp_param_next() splits "KEY=VALUE KEY2" in place.  smtp_mail_param()
 * and smtp_rcpt_param() check one parameter and record it; they return -1
 * for an unknown, repeated or malformed one (the caller answers 555).
 */
#ifndef TERN_SMTP_PARAMS_H
#define TERN_SMTP_PARAMS_H

#include <stddef.h>

#include "envelope.h"

char	*smtp_param_next(char **p, char **value);
int	smtp_mail_param(struct envelope *, long long *declared_size,
	    const char *key, const char *value);
int	smtp_rcpt_param(const char *key, const char *value, int *notify,
	    char *orcpt, size_t orcptlen);

#endif
