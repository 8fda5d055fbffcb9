/* SPDX-License-Identifier: ISC */
/*
 * envelope.c - read and write the queue-file envelope, and the xtext
 * and NOTIFY codings of RFC 3461 sections 4 and 4.1 (xtext is used by
 * the state file too).  The lines are kvline.c's.
 *
 *	envelope_write(fp, env)		header block + blank line
 *	envelope_read(fp, env, err)	strict; fp left at the message
 *
 * Readers do not call envelope_read() themselves: they open the queue
 * file through queuefile_open(), which does; the delivery agents get the
 * queue runner's parse and read none.  The format is specified in
 * include/envelope.h.  Every line is "key: value\n", at most KV_LINE_MAX
 * bytes with its newline, and holds no control byte; the version key
 * comes first.  The writers refuse to
 * produce what the readers would reject, so a file that was written can
 * always be read back.  Spool files are untrusted input: the readers
 * accept only the exact grammar, and report "line N: reason" in err.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "kvline.h"
#include "text.h"

static const char *const notify_words[] = { "never", "success", "failure",
	"delay" };
static const char *const body_words[] = { "7bit", "8bitmime", NULL };
static const char *const yesno_words[] = { "no", "yes", NULL };
static const char *const ret_words[] = { "-", "full", "hdrs", NULL };

/* xtext_hexval - value of an upper-case hex digit, -1 for anything else */
static int
xtext_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
xtext_is_xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

int
xtext_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t	 o = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (xtext_is_xchar(*p)) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *p;
			continue;
		}
		if (o + 3 >= outlen)
			return -1;
		out[o++] = '+';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 0xf];
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* xtext_walk - decode into out (may be NULL to only validate) */
static int
xtext_walk(const char *in, char *out, size_t outlen)
{
	const unsigned char *p;
	size_t	 o = 0;
	int	 c, hi, lo;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		c = *p;
		if (c == '+') {
			if ((hi = xtext_hexval(p[1])) == -1 ||
			    (lo = xtext_hexval(p[2])) == -1)
				return -1;
			if ((c = hi * 16 + lo) == 0)
				return -1;
			p += 2;
		} else if (!xtext_is_xchar(c))
			return -1;
		if (out != NULL) {
			if (o + 1 >= outlen)
				return -1;
			out[o] = (char)c;
		}
		o++;
	}
	if (out != NULL) {
		if (outlen == 0)
			return -1;
		out[o] = '\0';
	}
	return 0;
}

int
xtext_decode(const char *in, char *out, size_t outlen)
{
	return xtext_walk(in, out, outlen);
}

int
xtext_is_valid(const char *s)
{
	return xtext_walk(s, NULL, 0) == 0;
}

int
notify_parse(const char *s)
{
	size_t	 len, i;
	int	 bits = 0, bit;

	for (;;) {
		len = strcspn(s, ",");
		bit = 0;
		for (i = 0; i < 4; i++)
			if (strlen(notify_words[i]) == len &&
			    strncasecmp(s, notify_words[i], len) == 0)
				bit = 1 << i;
		if (bit == 0 || (bits & bit))
			return -1;
		bits |= bit;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	if ((bits & NOTIFY_NEVER) && bits != NOTIFY_NEVER)
		return -1;
	return bits;
}

void
notify_format(int bits, char *out, size_t outlen)
{
	size_t	 i, o = 0;
	int	 n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!(bits & (1 << i)))
			continue;
		n = snprintf(out + o, outlen - o, "%s%s", o ? "," : "",
		    notify_words[i]);
		if (n < 0 || (size_t)n >= outlen - o)
			return;
		o += n;
	}
}

/* notify_bits_ok - a legal NOTIFY set: 0, "never" alone, or others */
static int
notify_bits_ok(int bits)
{
	return bits >= 0 && bits <= 0x0f &&
	    (!(bits & NOTIFY_NEVER) || bits == NOTIFY_NEVER);
}

/* text_is_clean - no control bytes, so the value stays on its line */
static int
text_is_clean(const char *s)
{
	return !text_has_ctl(s);
}

/* orcpt_is_valid - "addr-type;xtext" (RFC 3461 4.2), as received */
static int
orcpt_is_valid(const char *s)
{
	size_t	 n;

	n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	return n > 0 && s[n] == ';' && s[n + 1] != '\0' &&
	    xtext_is_valid(s + n + 1);
}

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->version = ENVELOPE_VERSION;
	env->uid = -1;
	env->body = BODY_7BIT;
	env->ret = RET_UNSET;
}

void
envelope_free(struct envelope *env)
{
	free(env->rcpt);
	env->rcpt = NULL;
	env->nrcpt = 0;
}

/*
 * envelope_add_rcpt - append a recipient: addr decoded (not empty),
 * orcpt "type;xtext" or NULL/"".  The array grows only through here.
 */
int
envelope_add_rcpt(struct envelope *env, const char *addr, int notify,
    const char *orcpt)
{
	struct envelope_rcpt *r;

	if (orcpt == NULL)
		orcpt = "";
	if (addr[0] == '\0' || strlen(addr) >= ADDR_MAX ||
	    strlen(orcpt) >= ADDR_MAX || !notify_bits_ok(notify) ||
	    (orcpt[0] != '\0' && !orcpt_is_valid(orcpt))) {
		errno = EINVAL;
		return -1;
	}
	if (kv_grow((void **)&env->rcpt, env->nrcpt, sizeof(*r)) == -1)
		return -1;
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	strcpy(r->addr, addr);
	strcpy(r->orcpt, orcpt);
	r->notify = notify;
	return 0;
}

static int
envelope_write_rcpt(FILE *fp, const struct envelope_rcpt *r)
{
	char	 addr[KV_LINE_MAX], notify[64];

	if (r->addr[0] == '\0' ||
	    xtext_encode(r->addr, addr, sizeof(addr)) == -1 ||
	    (r->orcpt[0] != '\0' && !orcpt_is_valid(r->orcpt)) ||
	    !notify_bits_ok(r->notify)) {
		errno = EINVAL;
		return -1;
	}
	notify_format(r->notify, notify, sizeof(notify));
	return kv_line_put(fp, "rcpt: %s%s%s%s%s\n", addr,
	    notify[0] ? " notify=" : "", notify,
	    r->orcpt[0] ? " orcpt=" : "", r->orcpt);
}

/* envelope_check - refuse to write what envelope_read would reject */
static int
envelope_check(const struct envelope *env)
{
	size_t	 plen = strlen(env->protocol);

	return queueid_valid(env->id) && env->arrival >= 0 &&
	    env->client[0] != '\0' && text_is_clean(env->client) &&
	    text_is_clean(env->helo) && plen > 0 &&
	    strspn(env->protocol, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == plen &&
	    env->uid >= -1 && env->uid <= (long long)UINT32_MAX - 1 &&
	    (env->body == BODY_7BIT || env->body == BODY_8BITMIME) &&
	    (env->smtputf8 == 0 || env->smtputf8 == 1) &&
	    env->ret >= RET_UNSET && env->ret <= RET_HDRS &&
	    (env->envid[0] == '\0' || xtext_is_valid(env->envid)) &&
	    env->nrcpt > 0;
}

int
envelope_write(FILE *fp, const struct envelope *env)
{
	char	 sender[KV_LINE_MAX];
	size_t	 i;

	if (!envelope_check(env) ||
	    xtext_encode(env->sender, sender, sizeof(sender)) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (kv_line_put(fp, "version: %d\nid: %s\narrival: %lld\n",
	    ENVELOPE_VERSION, env->id, (long long)env->arrival) == -1 ||
	    kv_line_put(fp, "client: %s\n", env->client) == -1 ||
	    kv_line_put(fp, "helo: %s\n", env->helo) == -1 ||
	    kv_line_put(fp, "protocol: %s\n", env->protocol) == -1)
		return -1;
	if (env->uid >= 0 && kv_line_put(fp, "uid: %ld\n", env->uid) == -1)
		return -1;
	if (kv_line_put(fp, "sender: %s\nbody: %s\nsmtputf8: %s\n", sender,
	    body_words[env->body], yesno_words[env->smtputf8]) == -1)
		return -1;
	if (env->ret != RET_UNSET &&
	    kv_line_put(fp, "ret: %s\n", ret_words[env->ret]) == -1)
		return -1;
	if (env->envid[0] != '\0' &&
	    kv_line_put(fp, "envid: %s\n", env->envid) == -1)
		return -1;
	for (i = 0; i < env->nrcpt; i++)
		if (envelope_write_rcpt(fp, &env->rcpt[i]) == -1)
			return -1;
	if (fputc('\n', fp) == EOF)
		return -1;
	return 0;
}


static const char *
env_arrival(void *obj, char *v)
{
	struct envelope *env = obj;
	long long n;

	if (kv_num(v, INT64_MAX, &n) == -1)
		return "bad number";
	env->arrival = (time_t)n;
	return NULL;
}

static const char *
env_protocol(void *obj, char *v)
{
	struct envelope *env = obj;

	if (v[0] == '\0' || strlen(v) >= sizeof(env->protocol) ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(v))
		return "bad protocol name";
	strcpy(env->protocol, v);
	return NULL;
}

static const char *
env_uid(void *obj, char *v)
{
	struct envelope *env = obj;
	long long n;

	if (kv_num(v, (long long)UINT32_MAX - 1, &n) == -1)
		return "bad number";
	env->uid = (long)n;
	return NULL;
}

static const char *
env_sender(void *obj, char *v)
{
	struct envelope *env = obj;

	if (xtext_decode(v, env->sender, sizeof(env->sender)) == -1)
		return "bad xtext or address too long";
	return NULL;
}

static const char *
env_ret(void *obj, char *v)
{
	struct envelope *env = obj;

	env->ret = kv_word(v, ret_words);
	if (env->ret != RET_FULL && env->ret != RET_HDRS)
		return "expected full or hdrs";
	return NULL;
}

static const char *
env_envid(void *obj, char *v)
{
	struct envelope *env = obj;

	if (v[0] == '\0' || !xtext_is_valid(v) ||
	    strlen(v) >= sizeof(env->envid))
		return "bad xtext or too long";
	strcpy(env->envid, v);
	return NULL;
}

/* env_rcpt_param - one "notify=..." or "orcpt=..." parameter */
static const char *
env_rcpt_param(char *p, int *notify, const char **orcpt)
{
	if (strncmp(p, "notify=", 7) == 0 && *notify == 0) {
		if (strspn(p + 7, "abcdefghijklmnopqrstuvwxyz,") !=
		    strlen(p + 7) || (*notify = notify_parse(p + 7)) == -1)
			return "bad notify";
	} else if (strncmp(p, "orcpt=", 6) == 0 && *orcpt == NULL) {
		if (!orcpt_is_valid(p + 6) || strlen(p + 6) >= ADDR_MAX)
			return "bad orcpt";
		*orcpt = p + 6;
	} else
		return "bad or repeated parameter";
	return NULL;
}

static const char *
env_rcpt(void *obj, char *v)
{
	struct envelope *env = obj;
	char	 addr[ADDR_MAX], *p, *next;
	const char *why, *orcpt = NULL;
	int	 notify = 0;

	if ((next = strchr(v, ' ')) != NULL)
		*next++ = '\0';
	if (v[0] == '\0' || xtext_decode(v, addr, sizeof(addr)) == -1)
		return "bad xtext or address too long";
	while ((p = next) != NULL) {
		if ((next = strchr(p, ' ')) != NULL)
			*next++ = '\0';
		if ((why = env_rcpt_param(p, &notify, &orcpt)) != NULL)
			return why;
	}
	if (envelope_add_rcpt(env, addr, notify, orcpt) == -1)
		return errno == ENOMEM ? "out of memory" : "bad recipient";
	return NULL;
}

static const struct key env_keys[] = {
	{ "version", KEY_REQUIRED, 0, 0, NULL, kv_version },
	{ "id", KEY_REQUIRED | KEY_ID, FIELD(envelope, id), NULL, NULL },
	{ "arrival", KEY_REQUIRED, 0, 0, NULL, env_arrival },
	{ "client", KEY_REQUIRED | KEY_TEXT, FIELD(envelope, client), NULL,
	    NULL },
	{ "helo", KEY_REQUIRED | KEY_TEXT | KEY_EMPTY, FIELD(envelope, helo),
	    NULL, NULL },
	{ "protocol", KEY_REQUIRED, 0, 0, NULL, env_protocol },
	{ "uid", 0, 0, 0, NULL, env_uid },
	{ "sender", KEY_REQUIRED, 0, 0, NULL, env_sender },
	{ "body", KEY_REQUIRED | KEY_WORD, FIELD(envelope, body), body_words,
	    NULL },
	{ "smtputf8", KEY_REQUIRED | KEY_WORD, FIELD(envelope, smtputf8),
	    yesno_words, NULL },
	{ "ret", 0, 0, 0, NULL, env_ret },
	{ "envid", 0, 0, 0, NULL, env_envid },
	{ "rcpt", KEY_REQUIRED | KEY_REPEAT, 0, 0, NULL, env_rcpt },
};
#define ENV_NKEYS	(sizeof(env_keys) / sizeof(env_keys[0]))

/*
 * envelope_read - parse the header block and its blank line.  env is
 * (re)initialized here; on failure it is left empty, so envelope_free()
 * is always safe.
 */
static int
envelope_read_in(struct kv_in *in, struct envelope *env, char *err,
    size_t errlen)
{
	char	 buf[KV_LINE_MAX], *line;
	unsigned lineno, seen = 0;
	int	 n;

	envelope_init(env);
	for (lineno = 1;; lineno++) {
		if ((n = kv_line_read(in, buf, &line, lineno, err,
		    errlen)) == -2)
			kv_errf(err, errlen, lineno,
			    "unexpected end of file");
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (kv_key_line(env_keys, ENV_NKEYS, env, line, lineno, &seen,
		    err, errlen) == -1)
			goto fail;
	}
	if (lineno == 1) {
		kv_errf(err, errlen, 1, "empty line before \"version\"");
		goto fail;
	}
	if (kv_keys_missing(env_keys, ENV_NKEYS, seen, err, errlen))
		goto fail;
	return 0;
fail:
	envelope_free(env);
	envelope_init(env);
	return -1;
}

int
envelope_read(FILE *fp, struct envelope *env, char *err, size_t errlen)
{
	struct kv_in in = { fp, NULL, 0, 0 };

	return envelope_read_in(&in, env, err, errlen);
}

int
envelope_parse(char *buf, size_t len, struct envelope *env,
    size_t *used, char *err, size_t errlen)
{
	struct kv_in in = { NULL, buf, len, 0 };

	if (envelope_read_in(&in, env, err, errlen) == -1)
		return -1;
	*used = in.off;
	return 0;
}
