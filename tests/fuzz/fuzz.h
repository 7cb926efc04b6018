/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the harnesses check alike; include after <stdlib.h> and <string.h>. */
#ifndef GP_FUZZ_H
#define GP_FUZZ_H

/* s is a label: at most max bytes, printable ASCII only (else a crash libFuzzer keeps). */
static inline void fuzz_printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		abort();
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

#endif
