// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Capability check: decides between a clear "missing CAP_X" and a verifier error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "collect/caps.h"

#define BIT(n)		(1ull << (n))
#define CAP_SYS_ADMIN	21
#define CAP_PERFMON	38
#define CAP_BPF		39
#define CAP_NET_ADMIN	12

static void test_sys_admin_alone(void **state)
{
	char buf[64];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(gp_caps_sufficient(BIT(CAP_SYS_ADMIN), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_bpf_and_perfmon(void **state)
{
	char buf[64];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(gp_caps_sufficient(BIT(CAP_BPF) | BIT(CAP_PERFMON), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_full_root_mask(void **state)
{
	char buf[64];

	(void)state;
	/* CapEff of root on a current kernel: bits 0..40. */
	assert_int_equal(gp_caps_sufficient(0x000001ffffffffffull, buf, sizeof(buf)), 0);
	assert_int_equal(gp_caps_sufficient(UINT64_MAX, buf, sizeof(buf)), 0);
}

static void test_only_bpf(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(gp_caps_sufficient(BIT(CAP_BPF), buf, sizeof(buf)), -EPERM);
	assert_string_equal(buf, "CAP_PERFMON");
}

static void test_only_perfmon(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(gp_caps_sufficient(BIT(CAP_PERFMON) | BIT(CAP_NET_ADMIN), buf,
					    sizeof(buf)), -EPERM);
	assert_string_equal(buf, "CAP_BPF");
}

static void test_none(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(gp_caps_sufficient(0, buf, sizeof(buf)), -EPERM);
	assert_string_equal(buf, "CAP_BPF and CAP_PERFMON");
	/* Neighbouring bits must not be mistaken for the ones we need. */
	assert_int_equal(gp_caps_sufficient(BIT(20) | BIT(22) | BIT(37) | BIT(40), buf,
					    sizeof(buf)), -EPERM);
	assert_string_equal(buf, "CAP_BPF and CAP_PERFMON");
}

static void test_small_and_empty_buffer(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(gp_caps_sufficient(0, buf, sizeof(buf)), -EPERM);
	assert_string_equal(buf, "CAP_BPF");
	/* len 0: must not write at all. */
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(gp_caps_sufficient(0, buf, 0), -EPERM);
	assert_int_equal(gp_caps_sufficient(BIT(CAP_SYS_ADMIN), buf, 0), 0);
	assert_int_equal(buf[0], 'X');
}

static void test_effective_reads_proc(void **state)
{
	uint64_t eff = 0xdeadbeefdeadbeefull;
	char line[256];
	unsigned long long want = 0;
	int found = 0;
	FILE *f;

	(void)state;
	assert_int_equal(gp_caps_effective(&eff), 0);
	/* Same value as an independent read of CapEff. */
	f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &want) == 1) {
			found = 1;
			break;
		}
	fclose(f);
	assert_true(found);
	assert_int_equal(eff, want);
}

int main(void)
{
	const struct CMUnitTest test_caps[] = {
		cmocka_unit_test(test_sys_admin_alone),
		cmocka_unit_test(test_bpf_and_perfmon),
		cmocka_unit_test(test_full_root_mask),
		cmocka_unit_test(test_only_bpf),
		cmocka_unit_test(test_only_perfmon),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_small_and_empty_buffer),
		cmocka_unit_test(test_effective_reads_proc),
	};

	return cmocka_run_group_tests(test_caps, NULL, NULL);
}
