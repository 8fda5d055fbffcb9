/* SPDX-License-Identifier: ISC */
/*
 * dsn.c - RFC 3463 enhanced status codes; see dsn.h.
 */
#include <string.h>

#include "dsn.h"

/* subcode - length of a 1-3 digit number without a leading zero, or 0 */
static size_t
subcode(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	if (n < 1 || n > 3 || (n > 1 && s[0] == '0'))
		return 0;
	return n;
}

size_t
dsn_span(const char *s)
{
	size_t	 a, b;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.' || (a = subcode(s + 2)) == 0 || s[2 + a] != '.' ||
	    (b = subcode(s + 3 + a)) == 0)
		return 0;
	return 3 + a + b;
}

int
dsn_is_valid(const char *s)
{
	size_t	 n = dsn_span(s);

	return n > 0 && s[n] == '\0';
}

int
dsn_class(const char *s)
{
	return dsn_is_valid(s) ? s[0] - '0' : 0;
}

const char *
dsn_generic(int class)
{
	switch (class) {
	case 2:
		return "2.0.0";
	case 4:
		return "4.0.0";
	case 5:
		return "5.0.0";
	}
	return NULL;
}
