/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_HIST_H
#define GP_HIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Connect-latency buckets, the same on every node so that fleets can
 * sum by (le). Log-linear: 1 us, then four linear steps per octave
 * (1.25, 1.5, 1.75, 2 x the octave's base) up to 2^25 us = 33.55 s.
 * Every bound is a whole number of nanoseconds, so `le` is exact.
 */
#define GP_HIST_OCTAVES		25
#define GP_HIST_STEPS		4
#define GP_HIST_NB		(1 + GP_HIST_OCTAVES * GP_HIST_STEPS)	/* finite */
#define GP_HIST_SLOTS		(GP_HIST_NB + 1)			/* + +Inf */

/* Upper bound of finite bucket i, in ns (i < GP_HIST_NB). */
uint64_t gp_hist_bound_ns(unsigned i);
/* Index of the first bucket whose bound is >= ns; GP_HIST_NB means +Inf. */
unsigned gp_hist_bucket(uint64_t ns);
/* Exact decimal seconds of a nanosecond count: "0.00000125", "33.554432". */
void gp_fmt_seconds(char *buf, size_t len, uint64_t ns);

#endif
