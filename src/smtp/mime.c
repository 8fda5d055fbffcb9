/* SPDX-License-Identifier: ISC */
/*
 * mime.c - parse Content-Type and Content-Transfer-Encoding values.
 *
 * A small lexer over (p, end): CFWS (white space, the CRLF of folds and
 * nested comments, RFC 5322 3.2.2), tokens and quoted strings (RFC 2045
 * 5.1).  It never reads past end and never writes past its buffers;
 * what it cannot read is the RFC 2045 default, text/plain.
 */
#include <string.h>
#include <strings.h>

#include "mime.h"

struct cursor {
	const char	*p, *end;
};

static void
cur_cfws(struct cursor *c)
{
	int	 depth = 0;

	for (; c->p < c->end; c->p++) {
		if (depth > 0 && *c->p == '\\' && c->p + 1 < c->end)
			c->p++;
		else if (*c->p == '(')
			depth++;
		else if (*c->p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && strchr(" \t\r\n", *c->p) == NULL)
			return;
	}
}

static int
is_token_char(int ch)
{
	return ch > 32 && ch < 127 && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* cur_word - a token or (when quoted) a quoted-string; its full length */
static size_t
cur_word(struct cursor *c, char *out, size_t len, int quoted)
{
	size_t	 n = 0;

	cur_cfws(c);
	if (quoted && c->p < c->end && *c->p == '"') {
		for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (*c->p == '\r' || *c->p == '\n')
				continue;	/* unfolding */
			if (n + 1 < len)
				out[n] = *c->p;
			n++;
		}
		c->p += c->p < c->end;
	} else
		for (; c->p < c->end && is_token_char(*c->p); c->p++, n++)
			if (n + 1 < len)
				out[n] = *c->p;
	out[n < len ? n : len - 1] = '\0';
	return n;
}

static int
cur_char(struct cursor *c, int ch)
{
	cur_cfws(c);
	if (c->p >= c->end || *c->p != ch)
		return 0;
	c->p++;
	return 1;
}

/* The first boundary parameter counts; one too long is none. */
static void
parse_params(struct mime_type *t, struct cursor *c)
{
	char	 name[64], value[sizeof(t->boundary)];
	size_t	 n;

	while (cur_char(c, ';')) {
		cur_word(c, name, sizeof(name), 0);
		if (!cur_char(c, '='))
			return;
		n = cur_word(c, value, sizeof(value), 1);
		if (strcasecmp(name, "boundary") == 0 && t->boundary[0] == '\0'
		    && n < sizeof(value))
			memcpy(t->boundary, value, n + 1);
	}
}

void
mime_content_type(const char *value, const char *end, struct mime_type *t)
{
	struct cursor c = { value, end };
	char	 type[64], sub[64];

	memset(t, 0, sizeof(*t));
	t->kind = MIME_LEAF;
	if (cur_word(&c, type, sizeof(type), 0) == 0 || !cur_char(&c, '/') ||
	    cur_word(&c, sub, sizeof(sub), 0) == 0)
		return;
	if (strcasecmp(type, "multipart") == 0) {
		t->kind = MIME_MULTIPART;
		t->digest = strcasecmp(sub, "digest") == 0;
		parse_params(t, &c);
	} else if (strcasecmp(type, "message") == 0)
		t->kind = strcasecmp(sub, "rfc822") == 0 ||
		    strcasecmp(sub, "global") == 0 ? MIME_MESSAGE : MIME_OPAQUE;
}

enum mime_cte
mime_encoding(const char *value, const char *end)
{
	static const struct {
		const char	*name;
		enum mime_cte	 cte;
	} names[] = { { "7bit", MIME_CTE_IDENTITY },
	    { "8bit", MIME_CTE_IDENTITY }, { "binary", MIME_CTE_BINARY },
	    { "quoted-printable", MIME_CTE_QP }, { "base64", MIME_CTE_BASE64 } };
	struct cursor c = { value, end };
	char	 word[64];
	size_t	 i;

	cur_word(&c, word, sizeof(word), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(word, names[i].name) == 0)
			return names[i].cte;
	return MIME_CTE_OTHER;
}

size_t
mime_field_name(const char *line, size_t len)
{
	size_t	 k;

	/* RFC 5322 2.2: printable US-ASCII except colon */
	for (k = 0; k < len && line[k] > 32 && line[k] < 127 &&
	    line[k] != ':'; k++)
		;
	return k > 0 && k < len && line[k] == ':' ? k : 0;
}
