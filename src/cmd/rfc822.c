/* SPDX-License-Identifier: ISC */
/*
 * rfc822.c - header field names and address-list parsing for sendmail -t.
 *
 * The parser is lenient the way mail submission must be: it takes what
 * RFC 5322 section 3.4 allows (mailbox, name-addr, group, comments,
 * quoted strings, obsolete routes of section 4.4) and makes a best guess
 * of anything else, without ever reading past the end of its input.
 * White space outside quoted strings is dropped, so folded values work.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rfc822.h"

struct addrparse {
	char	 text[RFC822_ADDR_MAX];	/* outside <>: a bare address */
	char	 angle[RFC822_ADDR_MAX];	/* inside <> */
	size_t	 ntext, nangle;
	int	 in_angle, has_angle, overflow;
	int	 (*fn)(const char *, void *);
	void	*arg;
	int	 count;
};

size_t
rfc822_field_name(const char *line)
{
	size_t	 n;

	/* RFC 5322 2.2: printable US-ASCII except colon */
	for (n = 0; line[n] > 32 && line[n] < 127 && line[n] != ':'; n++)
		;
	return n > 0 && line[n] == ':' ? n : 0;
}

void
rfc822_quote_phrase(const char *name, char *out, size_t len)
{
	size_t	 o = 0;

	if (strpbrk(name, "()<>[]:;@\\,.\"\r\n") == NULL) {
		snprintf(out, len, "%s", name);
		return;
	}
	out[o++] = '"';
	for (; *name && o + 4 < len; name++) {
		if (*name == '\r' || *name == '\n')
			continue;
		if (*name == '"' || *name == '\\')
			out[o++] = '\\';
		out[o++] = *name;
	}
	out[o++] = '"';
	out[o] = '\0';
}

int
rfc822_field_is(const char *field, const char *name)
{
	size_t	 n = rfc822_field_name(field);

	return n == strlen(name) && strncasecmp(field, name, n) == 0;
}

static void
addr_put(struct addrparse *p, char c)
{
	char	*buf = p->in_angle ? p->angle : p->text;
	size_t	*n = p->in_angle ? &p->nangle : &p->ntext;

	if (*n + 1 >= RFC822_ADDR_MAX) {
		p->overflow = 1;
		return;
	}
	buf[(*n)++] = c;
}

/* addr_emit - hand the address collected so far to fn, and start anew */
static int
addr_emit(struct addrparse *p)
{
	const char	*addr, *colon;
	int		 rc = 0;

	p->text[p->ntext] = '\0';
	p->angle[p->nangle] = '\0';
	addr = p->has_angle ? p->angle : p->text;
	if (addr[0] == '@' && (colon = strchr(addr, ':')) != NULL)
		addr = colon + 1;	/* RFC 5322 4.4 obs-route */
	if (p->overflow)
		rc = -1;
	else if (addr[0] != '\0') {
		p->count++;
		rc = p->fn(addr, p->arg) != 0 ? -1 : 0;
	}
	p->ntext = p->nangle = 0;
	p->in_angle = p->has_angle = p->overflow = 0;
	return rc;
}

/* skip_comment - s at '(': the index just past the matching ')' */
static size_t
skip_comment(const char *s)
{
	size_t	 i;
	int	 depth = 0;

	for (i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return i;
}

/* copy_quoted - s at '"': copy the quoted string, return its length */
static size_t
copy_quoted(struct addrparse *p, const char *s)
{
	size_t	 i;

	addr_put(p, '"');
	for (i = 1; s[i] && s[i] != '"'; i++) {
		if (s[i] == '\\' && s[i + 1])
			addr_put(p, s[i++]);
		if (s[i] != '\r' && s[i] != '\n')
			addr_put(p, s[i]);
	}
	addr_put(p, '"');
	return s[i] ? i + 1 : i;
}

int
rfc822_addresses(const char *value, int (*fn)(const char *, void *),
    void *arg)
{
	struct addrparse p;
	size_t		 i = 0;

	memset(&p, 0, sizeof(p));
	p.fn = fn;
	p.arg = arg;
	while (value[i]) {
		char c = value[i];

		if (c == '(') {
			i += skip_comment(value + i);
			continue;
		}
		if (c == '"') {
			i += copy_quoted(&p, value + i);
			continue;
		}
		i++;
		if (isspace((unsigned char)c))
			continue;
		if (c == '<' && !p.in_angle) {
			p.in_angle = p.has_angle = 1;
			p.nangle = 0;
		} else if (c == '>' && p.in_angle)
			p.in_angle = 0;
		else if (c == ':' && !p.in_angle)
			p.ntext = 0;	/* "group:" or a display name */
		else if ((c == ',' || c == ';') && !p.in_angle) {
			if (addr_emit(&p) == -1)
				return -1;
		} else
			addr_put(&p, c);
	}
	if (addr_emit(&p) == -1)
		return -1;
	return p.count;
}
