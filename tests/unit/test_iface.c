// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Interfaces the classifier attaches to: the default-route ones, read from
 * /proc/net/route and /proc/net/ipv6_route as the kernel prints them, and
 * -i patterns matched against the interfaces there are.
 */
#define _GNU_SOURCE	/* fmemopen */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "collect/iface.h"

#define ROUTE4_HEADER \
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

/* Kernel format (fib_route_seq_show): tab-separated, padded to 127 columns. */
static const char route4[] =
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
	"                                                       \n"
	"eth0\t00000000\t010012C6\t0003\t0\t0\t100\t00000000\t0\t0\t0"
	"                                                                               \n"
	"eth0\t000012C6\t00000000\t0001\t0\t0\t100\t0000FEFF\t0\t0\t0"
	"                                                                               \n"
	/* The same default again, another metric. */
	"eth0\t00000000\t020012C6\t0003\t0\t0\t600\t00000000\t0\t0\t0"
	"                                                                               \n"
	/* 0.0.0.0/1 is no default route. */
	"wg0\t00000000\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0"
	"                                                                               \n"
	"docker0\t000013C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0"
	"                                                                               \n";

/* Kernel format (ipv6_route_native_seq_show). */
static const char route6[] =
	"fd000198001800000000000000000000 30 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n"
	/* Two defaults on eth1 (two routers), one also on eth0. */
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fd000198001800000000000000000001 00000400 00000001 00000000 00000003     eth1\n"
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fd000198001800000000000000000002 00000400 00000001 00000000 00000003     eth1\n"
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fd000198001800000000000000000003 00000800 00000001 00000000 00000003     eth0\n"
	/* lo's unreachable ::/0 is in every namespace: no default route. */
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	"00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
	/* ::/1 is no default route. */
	"00000000000000000000000000000000 01 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000400 00000001 00000000 00000001   tun0\n"
	"ff000000000000000000000000000000 08 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000100 00000004 00000000 00000001     eth0\n";

static FILE *mem(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	return f;
}

/* One set per test, zeroed by the setup: a failed assertion leaks nothing. */
static struct gp_ifaces ifs;

static int clear(void **state)
{
	(void)state;
	memset(&ifs, 0, sizeof(ifs));
	return 0;
}

static struct gp_ifaces *new_ifaces(void)
{
	return &ifs;
}

/* Default routes from in-memory route files (either may be NULL). */
static void from_routes(struct gp_ifaces *i, const char *r4, const char *r6)
{
	FILE *f4 = r4 ? mem(r4) : NULL, *f6 = r6 ? mem(r6) : NULL;

	gp_ifaces_default_routes(i, f4, f6);
	if (f4)
		fclose(f4);
	if (f6)
		fclose(f6);
}

static void expect_names(const struct gp_ifaces *i, const char *const *want, size_t n)
{
	size_t k;

	if (i->n != n) {
		for (k = 0; k < i->n; k++)
			print_message("  have %s\n", i->name[k]);
		fail_msg("%zu interfaces, want %zu", i->n, n);
	}
	for (k = 0; k < n; k++)
		assert_string_equal(i->name[k], want[k]);
}

static void test_default_routes_v4_and_v6(void **state)
{
	static const char *const want[] = { "eth0", "eth1" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	from_routes(i, route4, route6);
	/* eth0 (IPv4, twice, and IPv6), eth1 (IPv6, twice): each once, in order of appearance. */
	expect_names(i, want, 2);
}

static void test_default_routes_one_family(void **state)
{
	static const char *const v4[] = { "eth0" };
	static const char *const v6[] = { "eth1", "eth0" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	/* IPv6 disabled: no /proc/net/ipv6_route. */
	from_routes(i, route4, NULL);
	expect_names(i, v4, 1);
	memset(i, 0, sizeof(*i));
	from_routes(i, NULL, route6);
	expect_names(i, v6, 2);
	memset(i, 0, sizeof(*i));
	gp_ifaces_default_routes(i, NULL, NULL);
	assert_int_equal(i->n, 0);
}

static void test_default_routes_add_to_what_is_there(void **state)
{
	static const char *const want[] = { "lo", "eth1", "eth0" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	assert_int_equal(gp_ifaces_add(i, "lo"), 0);
	assert_int_equal(gp_ifaces_add(i, "eth1"), 0);
	from_routes(i, NULL, route6);
	expect_names(i, want, 3);
}

static void test_default_routes_none(void **state)
{
	/* A fresh namespace: only lo, with its unreachable ::/0; the header alone for IPv4. */
	static const char r4[] = ROUTE4_HEADER;
	static const char r6[] =
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	from_routes(i, r4, r6);
	assert_int_equal(i->n, 0);
}

static void test_default_routes_malformed_lines_ignored(void **state)
{
	static const char r4[] =
		"\n"
		"eth9\n"
		"eth9\t00000000\n"
		"eth8\t00000000\t00000000\t0003\t0\t0\t0\n"	/* no mask */
		"eth2\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
	static const char r6[] =
		"00000000000000000000000000000000 00\n"
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00\n"
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"fd000198001800000000000000000001 00000400 00000001 00000000 00000003     eth3\n";
	static const char *const want[] = { "eth2", "eth3" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	from_routes(i, r4, r6);
	expect_names(i, want, 2);
}

/*
 * `ip route add unreachable default` (or blackhole, prohibit) has no device:
 * the kernel prints its Iface as "*". It is no interface to attach to.
 */
static void test_default_routes_ignore_v4_reject_default(void **state)
{
	static const char r4[] =
		ROUTE4_HEADER
		"*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth0\t00000000\t010012C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
	static const char *const want[] = { "eth0" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	from_routes(i, r4, NULL);
	expect_names(i, want, 1);
}

static void test_add(void **state)
{
	struct gp_ifaces *i = new_ifaces();
	char name[32];
	size_t k;

	(void)state;
	assert_int_equal(gp_ifaces_add(i, "eth0"), 0);
	assert_int_equal(gp_ifaces_add(i, "eth0"), 0);
	assert_int_equal(i->n, 1);
	/* IF_NAMESIZE counts the NUL: 15 characters at most. */
	assert_int_equal(gp_ifaces_add(i, "abcdefghijklmno"), 0);
	assert_string_equal(i->name[1], "abcdefghijklmno");
	assert_int_equal(gp_ifaces_add(i, "abcdefghijklmnop"), -EINVAL);
	assert_int_equal(gp_ifaces_add(i, ""), -EINVAL);
	assert_int_equal(i->n, 2);

	/* Capacity: full is full, but a name already there is still fine. */
	for (k = 2; k < GP_IFACE_NAMES_MAX; k++) {
		snprintf(name, sizeof(name), "veth%zu", k);
		assert_int_equal(gp_ifaces_add(i, name), 0);
	}
	assert_int_equal(i->n, GP_IFACE_NAMES_MAX);
	assert_int_equal(gp_ifaces_add(i, "one-more"), -ENOSPC);
	assert_int_equal(gp_ifaces_add(i, "veth7"), 0);
	assert_int_equal(gp_ifaces_add(i, "eth0"), 0);
	assert_int_equal(i->n, GP_IFACE_NAMES_MAX);
}

static const char *const avail[] = {
	"lo", "eth0", "eth1", "veth1a2b3c", "veth9", "myveth0", "docker0", "vethx",
};
#define N_AVAIL (sizeof(avail) / sizeof(avail[0]))

static void test_match_patterns(void **state)
{
	static const char *const want[] = { "veth1a2b3c", "veth9", "vethx", "eth0", "eth1" };
	struct gp_ifaces *i = new_ifaces();

	(void)state;
	assert_int_equal(gp_ifaces_match(i, "veth*", avail, N_AVAIL), 3);
	/* A whole name, and a bracket class. */
	assert_int_equal(gp_ifaces_match(i, "eth0", avail, N_AVAIL), 1);
	assert_int_equal(gp_ifaces_match(i, "eth[0-9]", avail, N_AVAIL), 2);
	expect_names(i, want, 5);
	/* No match: 0, nothing added (the caller makes it an error). */
	assert_int_equal(gp_ifaces_match(i, "wlan*", avail, N_AVAIL), 0);
	assert_int_equal(gp_ifaces_match(i, "eth", avail, N_AVAIL), 0);
	assert_int_equal(gp_ifaces_match(i, "ETH0", avail, N_AVAIL), 0);
	assert_int_equal(gp_ifaces_match(i, "veth*", avail, 0), 0);
	/* Names matched again count, but are not added twice. */
	assert_int_equal(gp_ifaces_match(i, "*eth*", avail, N_AVAIL), 6);
	assert_int_equal(i->n, 6);
	assert_string_equal(i->name[5], "myveth0");
}

static void test_match_capacity(void **state)
{
	struct gp_ifaces *i = new_ifaces();
	char name[32];
	size_t k;

	(void)state;
	for (k = 0; k < GP_IFACE_NAMES_MAX - 1; k++) {
		snprintf(name, sizeof(name), "tap%zu", k);
		assert_int_equal(gp_ifaces_add(i, name), 0);
	}
	/* Room for one of the three: the overflow is reported, not truncated silently. */
	assert_int_equal(gp_ifaces_match(i, "veth*", avail, N_AVAIL), -ENOSPC);
	assert_int_equal(i->n, GP_IFACE_NAMES_MAX);
	assert_string_equal(i->name[GP_IFACE_NAMES_MAX - 1], "veth1a2b3c");
	/* Names already there still match when full. */
	assert_int_equal(gp_ifaces_match(i, "veth1*", avail, N_AVAIL), 1);
}

int main(void)
{
	const struct CMUnitTest test_iface[] = {
		cmocka_unit_test_setup(test_default_routes_v4_and_v6, clear),
		cmocka_unit_test_setup(test_default_routes_one_family, clear),
		cmocka_unit_test_setup(test_default_routes_add_to_what_is_there, clear),
		cmocka_unit_test_setup(test_default_routes_none, clear),
		cmocka_unit_test_setup(test_default_routes_malformed_lines_ignored, clear),
		cmocka_unit_test_setup(test_default_routes_ignore_v4_reject_default, clear),
		cmocka_unit_test_setup(test_add, clear),
		cmocka_unit_test_setup(test_match_patterns, clear),
		cmocka_unit_test_setup(test_match_capacity, clear),
	};

	return cmocka_run_group_tests(test_iface, NULL, NULL);
}
