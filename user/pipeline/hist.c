// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/hist.h"

uint64_t gp_hist_bound_ns(unsigned i)
{
	unsigned oct, step;

	if (i == 0)
		return 1000;
	oct = (i - 1) / GP_HIST_STEPS;
	step = (i - 1) % GP_HIST_STEPS + 1;
	/* 1 us * 2^oct * (4 + step) / 4 */
	return ((uint64_t)250 << oct) * (GP_HIST_STEPS + step);
}

unsigned gp_hist_bucket(uint64_t ns)
{
	unsigned lo = 0, hi = GP_HIST_NB;

	/* Smallest i with ns <= bound(i); hi == GP_HIST_NB stands for +Inf. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ns <= gp_hist_bound_ns(mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void gp_fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	uint64_t sec = ns / 1000000000u, frac = ns % 1000000000u;
	int n;

	n = snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, sec, frac);
	if (n <= 0 || (size_t)n >= len)
		return;
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
}
