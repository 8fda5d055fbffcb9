/* SPDX-License-Identifier: ISC */
/*
 * text.c - control bytes in line-oriented text; see text.h.
 */
#include "text.h"

int
text_is_ctl(int c)
{
	return (unsigned char)c < 0x20 || (unsigned char)c == 0x7f;
}

int
text_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if (text_is_ctl(*s))
			return 1;
	return 0;
}
