/* SPDX-License-Identifier: ISC */
/*
 * smtp_params.c - MAIL and RCPT parameters: SIZE (RFC 1870), BODY (6152),
 * SMTPUTF8 (6531), RET, ENVID, NOTIFY, ORCPT (3461), AUTH (4954, ignored).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_params.h"

char *
smtp_param_next(char **p, char **value)
{
	char	*start, *eq;

	while (**p == ' ')
		(*p)++;
	if (**p == '\0')
		return NULL;
	start = *p;
	while (**p && **p != ' ')
		(*p)++;
	if (**p)
		*(*p)++ = '\0';
	if ((eq = strchr(start, '=')) != NULL) {
		*eq = '\0';
		*value = eq + 1;
	} else
		*value = NULL;
	return start;
}

static int
enum_value(const char *value, const char *a, const char *b, int *out,
    int va, int vb)
{
	if (value == NULL)
		return -1;
	if (!strcasecmp(value, a))
		*out = va;
	else if (!strcasecmp(value, b))
		*out = vb;
	else
		return -1;
	return 0;
}

int
smtp_mail_param(struct envelope *env, long long *declared_size,
    const char *key, const char *value)
{
	char	*end;

	if (!strcasecmp(key, "SIZE") && value &&
	    isdigit((unsigned char)*value)) {
		errno = 0;
		*declared_size = strtoll(value, &end, 10);
		return (*end || errno) ? -1 : 0;
	}
	if (!strcasecmp(key, "BODY"))
		return enum_value(value, "7BIT", "8BITMIME", &env->body,
		    BODY_7BIT, BODY_8BITMIME);
	if (!strcasecmp(key, "SMTPUTF8") && value == NULL) {
		env->smtputf8 = 1;
		return 0;
	}
	if (!strcasecmp(key, "RET") && env->ret == RET_UNSET)
		return enum_value(value, "FULL", "HDRS", &env->ret, RET_FULL,
		    RET_HDRS);
	if (!strcasecmp(key, "ENVID") && value && !env->envid[0] &&
	    strlen(value) <= 100 && xtext_is_valid(value)) {
		snprintf(env->envid, sizeof(env->envid), "%s", value);
		return 0;
	}
	if (!strcasecmp(key, "AUTH") && value)
		return 0;
	return -1;
}

int
smtp_rcpt_param(const char *key, const char *value, int *notify, char *orcpt,
    size_t orcptlen)
{
	const char *semi;

	if (!strcasecmp(key, "NOTIFY") && value && *notify == 0)
		return (*notify = notify_parse(value)) <= 0 ? -1 : 0;
	if (!strcasecmp(key, "ORCPT") && value && *orcpt == '\0') {
		semi = strchr(value, ';');
		if (semi == NULL || semi == value || strlen(value) >= orcptlen ||
		    !xtext_is_valid(semi + 1))
			return -1;
		snprintf(orcpt, orcptlen, "%s", value);
		return 0;
	}
	return -1;
}
