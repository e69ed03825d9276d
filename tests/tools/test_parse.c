/* SPDX-License-Identifier: MIT */
/*
 * test_parse.c - the number and size parsers every qshm subcommand uses
 * (tools/tools.c): what each reads, and that everything else is refused
 * (a second suffix, an unknown one, a sign, a space, overflow).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "tools.h"

static int fails;

struct parse_case {
	const char *s;
	int rc;         /* 0 or -EINVAL */
	uint64_t value; /* on 0 */
};

static const struct parse_case sizes[] = {
	/* Sizes: one suffix, powers of 1024. */
	{ "4096", 0, 4096 },
	{ "4K", 0, 4096 },
	{ "4k", 0, 4096 },
	{ "4KiB", 0, 4096 },
	{ "4KB", 0, 4096 },
	{ "1M", 0, 1u << 20 },
	{ "64MiB", 0, 64u << 20 },
	{ "8G", 0, (uint64_t)8 << 30 },
	{ "2T", 0, (uint64_t)2 << 40 },
	{ "0x10K", 0, 16 << 10 },
	{ "0", 0, 0 },
	{ "16777215T", 0, (uint64_t)16777215 << 40 },
	/* Refused: a second suffix, unknown ones, junk, signs, spaces. */
	{ "4KK", -EINVAL, 0 },
	{ "4MK", -EINVAL, 0 },
	{ "4KiBB", -EINVAL, 0 },
	{ "4Ki", -EINVAL, 0 },
	{ "4B", -EINVAL, 0 },
	{ "4X", -EINVAL, 0 },
	{ "4P", -EINVAL, 0 },
	{ "K", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ NULL, -EINVAL, 0 },
	{ "-4K", -EINVAL, 0 },
	{ "+4K", -EINVAL, 0 },
	{ " 4K", -EINVAL, 0 },
	{ "4K ", -EINVAL, 0 },
	{ "4.5M", -EINVAL, 0 },
	/* Overflow: of the number, and of the number times the suffix. */
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -EINVAL, 0 },
	{ "16777216T", -EINVAL, 0 },
	{ "17179869184G", -EINVAL, 0 },
	{ "17179869183G", 0, (uint64_t)17179869183 << 30 },
};

static const struct parse_case counts[] = {
	/* Counts: no suffix at all. */
	{ "1000", 0, 1000 },
	{ "0x20", 0, 32 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -EINVAL, 0 },
	{ "4K", -EINVAL, 0 },
	{ "1M", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ NULL, -EINVAL, 0 },
};

/* parse() of every case gives its rc, and on 0 its value. */
static void check(int (*parse)(const char *, uint64_t *), const char *what,
		  const struct parse_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 12345;
		int got = parse(c[i].s, &v);

		if (got != c[i].rc || (got == 0 && v != c[i].value)) {
			fprintf(stderr, "FAIL: %s '%s': rc %d value %" PRIu64
				", expected rc %d value %" PRIu64 "\n", what,
				c[i].s ? c[i].s : "(null)", got, v, c[i].rc,
				c[i].value);
			fails++;
		}
	}
}

int main(void)
{
	check(tools_parse_size, "size", sizes, sizeof(sizes) / sizeof(*sizes));
	check(tools_parse_u64, "number", counts,
	      sizeof(counts) / sizeof(*counts));
	if (fails)
		return 1;
	printf("ok: %zu sizes and %zu counts parse strictly\n",
	       sizeof(sizes) / sizeof(*sizes), sizeof(counts) / sizeof(*counts));
	return 0;
}
