// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one hash table and the one hash: reserving ahead means adding never
 * reallocates (the aggregation counts on it while recording), removal
 * leaves the rest findable, and the hash over pieces is the hash of them
 * laid end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/htab.h"

#define N 300

struct item {
	struct gp_hnode h;
	unsigned key;
};

static struct item *find(const struct gp_htab *t, unsigned key)
{
	uint32_t hash = gp_hash_bytes(&key, sizeof(key));
	struct gp_hnode *x;

	for (x = gp_htab_chain(t, hash); x; x = x->next) {
		struct item *it = gp_container_of(x, struct item, h);

		if (x->hash == hash && it->key == key)
			return it;
	}
	return NULL;
}

static void add_all(struct gp_htab *t, struct item *items, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		items[i].key = i * 7919;
		gp_htab_add(t, &items[i].h, gp_hash_bytes(&items[i].key, sizeof(items[i].key)));
	}
}

static void test_reserve_then_add_keeps_buckets(void **state)
{
	static struct item items[N];
	struct gp_htab t;
	struct gp_hnode **b;
	size_t nb;
	unsigned i;

	(void)state;
	assert_int_equal(gp_htab_init(&t, 16), 0);
	assert_int_equal(gp_htab_reserve(&t, N), 0);
	assert_true(t.nb >= N);
	assert_int_equal(t.nb & (t.nb - 1), 0);
	b = t.b;
	nb = t.nb;
	add_all(&t, items, N);
	assert_ptr_equal(t.b, b);
	assert_int_equal(t.nb, nb);
	assert_int_equal(t.n, N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(find(&t, i * 7919), &items[i]);
	/* Already big enough: nothing changes. */
	assert_int_equal(gp_htab_reserve(&t, N / 2), 0);
	assert_ptr_equal(t.b, b);
	gp_htab_release(&t);
}

static void test_del_keeps_the_rest(void **state)
{
	static struct item items[N];
	struct gp_htab t;
	unsigned i;

	(void)state;
	assert_int_equal(gp_htab_init(&t, 4), 0);
	add_all(&t, items, N);	/* grown with the load */
	for (i = 0; i < N; i += 3)
		gp_htab_del(&t, &items[i].h);
	assert_int_equal(t.n, N - N / 3);
	for (i = 0; i < N; i++)
		assert_ptr_equal(find(&t, i * 7919), i % 3 ? &items[i] : NULL);
	gp_htab_release(&t);
}

static void test_hash_pieces(void **state)
{
	(void)state;
	/* FNV-1a reference values: "" and "a". */
	assert_int_equal(gp_hash_bytes("", 0), 2166136261u);
	assert_int_equal(gp_hash_bytes("a", 1), 0xe40c292cu);
	assert_int_equal(gp_hash_more(gp_hash_more(GP_HASH_INIT, "ab", 2), "\0cd", 3),
			 gp_hash_bytes("ab\0cd", 5));
}

int main(void)
{
	const struct CMUnitTest test_htab[] = {
		cmocka_unit_test(test_reserve_then_add_keeps_buckets),
		cmocka_unit_test(test_del_keeps_the_rest),
		cmocka_unit_test(test_hash_pieces),
	};

	return cmocka_run_group_tests(test_htab, NULL, NULL);
}
