/* SPDX-License-Identifier: ISC */
/*
 * fuzz_addr.c - libFuzzer target for addr.c: the MAIL/RCPT path parser
 * with every flag combination, then the helpers on its output and on the
 * raw input.  A path that parses must parse again, to the same address,
 * when written back as "<address>".  See tests/fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "envelope.h"

static void
fuzz_path(const char *s, int flags)
{
	char	 out[ADDR_MAX], again[ADDR_MAX], lp[ADDR_MAX], wrapped[ADDR_MAX + 2];
	const char *end, *why;

	if (addr_parse_path(s, flags, out, sizeof(out), &end, &why) == -1) {
		if (why == NULL || why[0] == '\0')
			abort();
		return;
	}
	if (end < s || end > s + strlen(s))
		abort();
	addr_local_part(out, lp, sizeof(lp));
	addr_has_routing(out);
	addr_is_valid_domain(addr_domain(out), (flags & ADDR_UTF8) != 0);
	snprintf(wrapped, sizeof(wrapped), "<%s>", out);
	if (addr_parse_path(wrapped, flags, again, sizeof(again), &end,
	    &why) == -1 || strcmp(out, again) != 0 || *end != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, lp[64];
	int	 flags;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (flags = 0; flags < 4; flags++)
		fuzz_path(s, flags);
	addr_local_part(s, lp, sizeof(lp));
	addr_has_routing(s);
	addr_is_valid_domain(s, 0);
	addr_is_valid_domain(s, 1);
	free(s);
	return 0;
}
