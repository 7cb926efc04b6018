/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Checks shared by the fuzz harnesses: a failed one aborts, which libFuzzer reports. */
#ifndef GP_FUZZ_H
#define GP_FUZZ_H

#include <stdlib.h>
#include <string.h>

/* A label: NUL within max bytes, printable ASCII only. */
static inline void printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		abort();
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

#endif
