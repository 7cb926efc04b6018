// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bucket layout and `le` formatting: fleets sum by (le), so both must never drift. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/hist.h"

static void test_bounds_strictly_increasing(void **state)
{
	unsigned i;

	(void)state;
	for (i = 1; i < GP_HIST_NB; i++)
		assert_true(gp_hist_bound_ns(i) > gp_hist_bound_ns(i - 1));
}

static void test_bounds_range(void **state)
{
	(void)state;
	assert_int_equal(gp_hist_bound_ns(0), 1000);
	assert_true(gp_hist_bound_ns(GP_HIST_NB - 1) >= 30ull * 1000000000ull);
	/* Header promises 2^25 us exactly as the last finite bound. */
	assert_int_equal(gp_hist_bound_ns(GP_HIST_NB - 1), 33554432000ull);
	assert_int_equal(GP_HIST_SLOTS, GP_HIST_NB + 1);
}

static void test_bounds_whole_microsecond_multiples(void **state)
{
	unsigned i;

	(void)state;
	/* Every bound must be an exact ns count that prints without rounding. */
	for (i = 0; i < GP_HIST_NB; i++)
		assert_int_equal(gp_hist_bound_ns(i) % 250, 0);
}

static void test_resolution_per_octave(void **state)
{
	unsigned i;

	(void)state;
	assert_true(GP_HIST_STEPS >= 3);
	for (i = 1; i + GP_HIST_STEPS < GP_HIST_NB; i++)
		assert_int_equal(gp_hist_bound_ns(i + GP_HIST_STEPS), 2 * gp_hist_bound_ns(i));
	/* Octave bases: 1us, 2us, 4us ... every STEPS buckets. */
	for (i = 0; i <= GP_HIST_OCTAVES; i++)
		assert_int_equal(gp_hist_bound_ns(i * GP_HIST_STEPS), 1000ull << i);
}

static void test_bucket_at_every_boundary(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < GP_HIST_NB; i++) {
		uint64_t b = gp_hist_bound_ns(i);

		/* le is inclusive: the bound itself belongs to bucket i. */
		assert_int_equal(gp_hist_bucket(b), i);
		assert_int_equal(gp_hist_bucket(b + 1), i + 1);
		/*
		 * Bounds are >= 250 ns apart, so b - 1 is always above the previous
		 * bound and stays in bucket i; assert the premise too.
		 */
		if (i > 0)
			assert_true(b - 1 > gp_hist_bound_ns(i - 1));
		assert_int_equal(gp_hist_bucket(b - 1), i);
	}
}

static void test_bucket_extremes(void **state)
{
	(void)state;
	assert_int_equal(gp_hist_bucket(0), 0);
	assert_int_equal(gp_hist_bucket(1), 0);
	assert_int_equal(gp_hist_bucket(UINT64_MAX), GP_HIST_NB);
	assert_int_equal(gp_hist_bucket(33554432001ull), GP_HIST_NB);
	assert_int_equal(gp_hist_bucket(33554432000ull), GP_HIST_NB - 1);
}

static void test_bucket_matches_linear_scan(void **state)
{
	/* Independent oracle for the binary search on values between bounds. */
	static const uint64_t vals[] = {
		999, 1001, 1249, 1251, 1999, 2001, 123456, 999999999, 1000000000,
		1000000001, 7777777777ull, 30000000000ull,
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		unsigned want = 0;

		while (want < GP_HIST_NB && vals[k] > gp_hist_bound_ns(want))
			want++;
		assert_int_equal(gp_hist_bucket(vals[k]), want);
	}
}

static void check_fmt(uint64_t ns, const char *want)
{
	char buf[32];

	memset(buf, 'X', sizeof(buf));
	gp_fmt_seconds(buf, sizeof(buf), ns);
	assert_string_equal(buf, want);
}

static void test_fmt_seconds(void **state)
{
	(void)state;
	check_fmt(0, "0");
	check_fmt(1, "0.000000001");
	check_fmt(1000, "0.000001");
	check_fmt(1250, "0.00000125");
	check_fmt(1500000000ull, "1.5");
	check_fmt(33554432000ull, "33.554432");
	check_fmt(1000000000ull, "1");
	/* Zeros in the integer part must survive the trailing-zero trim. */
	check_fmt(10000000000ull, "10");
	check_fmt(100000000000ull, "100");
	check_fmt(UINT64_MAX, "18446744073.709551615");
}

static void test_fmt_seconds_every_bound_roundtrips(void **state)
{
	char buf[32];
	unsigned i;

	(void)state;
	/* Parse back in integers so a rounding or trimming slip shows exactly. */
	for (i = 0; i < GP_HIST_NB; i++) {
		uint64_t sec = 0, frac = 0, ns;
		unsigned digits = 0;
		const char *p;

		gp_fmt_seconds(buf, sizeof(buf), gp_hist_bound_ns(i));
		for (p = buf; *p && *p != '.'; p++)
			sec = sec * 10 + (uint64_t)(*p - '0');
		if (*p == '.') {
			for (p++; *p; p++, digits++)
				frac = frac * 10 + (uint64_t)(*p - '0');
			assert_true(digits >= 1 && digits <= 9);
			assert_true(buf[strlen(buf) - 1] != '0');
		}
		for (; digits < 9; digits++)
			frac *= 10;
		ns = sec * 1000000000ull + frac;
		assert_int_equal(ns, gp_hist_bound_ns(i));
	}
}

int main(void)
{
	const struct CMUnitTest test_hist[] = {
		cmocka_unit_test(test_bounds_strictly_increasing),
		cmocka_unit_test(test_bounds_range),
		cmocka_unit_test(test_bounds_whole_microsecond_multiples),
		cmocka_unit_test(test_resolution_per_octave),
		cmocka_unit_test(test_bucket_at_every_boundary),
		cmocka_unit_test(test_bucket_extremes),
		cmocka_unit_test(test_bucket_matches_linear_scan),
		cmocka_unit_test(test_fmt_seconds),
		cmocka_unit_test(test_fmt_seconds_every_bound_roundtrips),
	};

	return cmocka_run_group_tests(test_hist, NULL, NULL);
}
