/* SPDX-License-Identifier: ISC */
/* test_base64.c - base64 both ways (RFC 4648 section 10 vectors, AUTH) */
#include "base64.h"
#include "unit.h"

static void
test_rfc4648_vectors(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob",
	    "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v",
	    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < 7; i++) {
		CHECK(base64_encode(plain[i], strlen(plain[i]), buf,
		    sizeof(buf)) == (ssize_t)strlen(coded[i]));
		CHECK_STR(buf, coded[i]);
		CHECK(base64_decode(coded[i], strlen(coded[i]), buf,
		    sizeof(buf)) == (ssize_t)strlen(plain[i]));
		CHECK_STR(buf, plain[i]);
	}
}

/* AUTH PLAIN's response: NULs inside survive, with the length. */
static void
test_plain_response_with_nuls(void)
{
	char	 buf[64];
	const char *t = "AGFsaWNlAHNlY3JldA==";	/* \0alice\0secret */

	CHECK(base64_decode(t, strlen(t), buf, sizeof(buf)) == 13);
	CHECK(buf[0] == '\0' && memcmp(buf + 1, "alice\0secret", 12) == 0);
	CHECK(base64_encode("\0alice\0secret", 13, buf, sizeof(buf)) == 20);
	CHECK_STR(buf, t);
}

static void
test_bad_text_is_refused(void)
{
	char	 buf[8];

	CHECK(base64_decode("Zm9", 3, buf, sizeof(buf)) == -1);
	CHECK(base64_decode("Zm9v Zg==", 9, buf, sizeof(buf)) == -1);
	CHECK(base64_decode("Zm=v", 4, buf, sizeof(buf)) == -1);
	CHECK(base64_decode("Z===", 4, buf, sizeof(buf)) == -1);
	CHECK(base64_decode("Zh==", 4, buf, sizeof(buf)) == -1);	/* bits */
	CHECK(base64_decode("Zm9v\0\0\0\0", 8, buf, sizeof(buf)) == -1);
	CHECK(base64_decode("*", 1, buf, sizeof(buf)) == -1);
	/* too long for the buffer */
	CHECK(base64_decode("Zm9vYmFyZm9v", 12, buf, 8) == -1);
	CHECK(base64_encode("foobar", 6, buf, 8) == -1);
}

int
main(void)
{
	RUN(test_rfc4648_vectors);
	RUN(test_plain_response_with_nuls);
	RUN(test_bad_text_is_refused);
	return unit_done();
}
