// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Aggregation: tag cardinality cap, snapshot order, what the histogram counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/agg.h"
#include "pipeline/rules.h"
#include "unit.h"

#define SEC 1000000000ull


static void record(struct gp_agg *a, enum gp_direction dir, const char *alpn, const char *gray,
		   enum gp_result res, uint64_t latency_ns)
{
	struct gp_conn c = make_conn(dir, alpn, gray, res, latency_ns);

	gp_agg_record(a, &c);
}

/* An outcome whose gray has GP_GRAY_* flags. */
static void record_f(struct gp_agg *a, enum gp_direction dir, const char *alpn, const char *gray,
		     unsigned flags)
{
	struct gp_conn c = make_conn(dir, alpn, gray, GP_RES_ESTABLISHED, 1000);

	c.gray_flags = flags;
	gp_agg_record(a, &c);
}

static const struct gp_tag_stats *find(const struct gp_snapshot *s, unsigned dir,
				       const char *alpn, const char *gray)
{
	size_t i;

	for (i = 0; i < s->n_tags; i++)
		if (s->tags[i].dir == dir && !strcmp(s->tags[i].alpn, alpn) &&
		    !strcmp(s->tags[i].gray, gray))
			return &s->tags[i];
	return NULL;
}

static uint64_t total_results(const struct gp_tag_stats *t)
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < GP_RES_MAX; r++)
		n += t->results[r];
	return n;
}

static uint64_t total_buckets(const struct gp_tag_stats *t)
{
	uint64_t n = 0;
	unsigned b;

	for (b = 0; b < GP_HIST_SLOTS; b++)
		n += t->buckets[b];
	return n;
}

static void test_new_limits(void **state)
{
	struct gp_agg *a;

	(void)state;
	assert_null(gp_agg_new(0));
	assert_null(gp_agg_new(GP_MAX_TAGS_LIMIT + 1));
	a = gp_agg_new(GP_MAX_TAGS_LIMIT);
	assert_non_null(a);
	gp_agg_free(a);
	gp_agg_free(NULL);
}

static void test_empty_snapshot(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);

	(void)state;
	assert_non_null(a);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 0);
	assert_null(s.tags);
	assert_int_equal(s.events, 0);
	assert_int_equal(s.tags_overflow, 0);
	gp_snapshot_release(&s);
	gp_snapshot_release(NULL);
	gp_agg_free(a);
}

static void test_tag_cap_outbound(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "h3", "stable", GP_RES_REFUSED, 0);
	/* A known tag still lands on itself once the cap is reached. */
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_TIMEOUT, 0);
	record(a, GP_DIR_OUTBOUND, "h4", "x", GP_RES_ESTABLISHED, 5000);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 3);
	assert_int_equal(s.events, 5);
	assert_int_equal(s.tags_overflow, 2);
	assert_null(find(&s, GP_DIR_OUTBOUND, "h3", "stable"));
	assert_null(find(&s, GP_DIR_OUTBOUND, "h4", "x"));

	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_REFUSED], 1);
	assert_int_equal(t->results[GP_RES_ESTABLISHED], 1);
	assert_int_equal(t->sum_ns, 5000);

	t = find(&s, GP_DIR_OUTBOUND, "h2", "stable");
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_ESTABLISHED], 1);
	assert_int_equal(t->results[GP_RES_TIMEOUT], 1);
	gp_snapshot_release(&s);
	assert_null(s.tags);
	gp_agg_free(a);
}

static void test_tag_cap_per_direction(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "a", "1", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "b", "1", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "c", "1", GP_RES_ESTABLISHED, 1);	/* overflow */
	/* A full outbound side must not eat into inbound's allowance. */
	record(a, GP_DIR_INBOUND, "a", "1", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_INBOUND, "c", "1", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_INBOUND, "d", "1", GP_RES_ESTABLISHED, 1);	/* overflow */
	record(a, GP_DIR_INBOUND, "e", "1", GP_RES_OTHER, 0);		/* overflow */

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 6);
	assert_int_equal(s.tags_overflow, 3);
	assert_non_null(find(&s, GP_DIR_INBOUND, "a", "1"));
	assert_non_null(find(&s, GP_DIR_INBOUND, "c", "1"));
	assert_null(find(&s, GP_DIR_OUTBOUND, "c", "1"));
	assert_null(find(&s, GP_DIR_INBOUND, "d", "1"));
	t = find(&s, GP_DIR_INBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(total_results(t), 2);
	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(total_results(t), 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_cap_at_scale(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(64);
	char alpn[16];
	uint64_t sum = 0;
	size_t i;
	int k;

	(void)state;
	assert_non_null(a);
	/* Twice over, so repeats of admitted tags must find their slot again. */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 1000; i++) {
			snprintf(alpn, sizeof(alpn), "p%zu", i);
			record(a, (enum gp_direction)(i & 1), alpn, "g", GP_RES_ESTABLISHED, i);
		}
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 2 * (64 + 1));
	assert_int_equal(s.events, 2000);
	assert_int_equal(s.tags_overflow, 2 * (2 * (500 - 64)));
	for (i = 0; i < s.n_tags; i++) {
		sum += total_results(&s.tags[i]);
		/* Admitted tags saw exactly their own two records. */
		if (strcmp(s.tags[i].alpn, GP_OVERFLOW_TAG))
			assert_int_equal(total_results(&s.tags[i]), 2);
	}
	assert_int_equal(sum, 2000);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_snapshot_sorted(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(16);
	static const char *const want[][3] = {
		{ "0", "a", "a" }, { "0", "a", "b" }, { "0", "b", "a" }, { "0", "h2", "z" },
		{ "1", "a", "a" }, { "1", "z", "a" },
	};
	size_t i;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_INBOUND, "z", "a", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "h2", "z", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "b", "a", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_INBOUND, "a", "a", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "a", "b", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "a", "a", GP_RES_ESTABLISHED, 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(s.tags[i].dir, want[i][0][0] - '0');
		assert_string_equal(s.tags[i].alpn, want[i][1]);
		assert_string_equal(s.tags[i].gray, want[i][2]);
	}
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_histogram_counts_established_only(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_ESTABLISHED, 1001);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_ESTABLISHED, 40000000000ull);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_REFUSED, 3000);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_TIMEOUT, 63000000000ull);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_UNREACHABLE, 2000);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_OTHER, 2000);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	t = find(&s, GP_DIR_OUTBOUND, "h2", "s");
	assert_non_null(t);
	assert_int_equal(total_buckets(t), 3);
	assert_int_equal(t->buckets[0], 1);
	assert_int_equal(t->buckets[1], 1);
	assert_int_equal(t->buckets[GP_HIST_NB], 1);
	assert_int_equal(t->sum_ns, 1000 + 1001 + 40000000000ull);
	assert_int_equal(t->results[GP_RES_ESTABLISHED], 3);
	assert_int_equal(t->results[GP_RES_REFUSED], 1);
	assert_int_equal(t->results[GP_RES_TIMEOUT], 1);
	assert_int_equal(t->results[GP_RES_UNREACHABLE], 1);
	assert_int_equal(t->results[GP_RES_OTHER], 1);
	assert_int_equal(s.events, 7);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_out_of_range_fields_are_clamped(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);
	struct gp_conn c = make_conn(GP_DIR_OUTBOUND, "x", "y", GP_RES_ESTABLISHED, 7);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	/* Garbage enum values must not index out of the arrays. */
	c.dir = (enum gp_direction)7;
	c.result = (enum gp_result)99;
	gp_agg_record(a, &c);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 1);
	t = find(&s, GP_DIR_OUTBOUND, "x", "y");
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_OTHER], 1);
	assert_int_equal(total_buckets(t), 0);
	assert_int_equal(t->sum_ns, 0);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_concatenation_stays_distinct(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(8);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "a", "bc", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "ab", "c", GP_RES_REFUSED, 0);
	record(a, GP_DIR_OUTBOUND, "", "abc", GP_RES_TIMEOUT, 0);
	record(a, GP_DIR_OUTBOUND, "abc", "", GP_RES_OTHER, 0);
	record(a, GP_DIR_INBOUND, "a", "bc", GP_RES_UNREACHABLE, 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 5);
	assert_int_equal(s.tags_overflow, 0);
	t = find(&s, GP_DIR_OUTBOUND, "a", "bc");
	assert_non_null(t);
	assert_int_equal(total_results(t), 1);
	assert_int_equal(t->results[GP_RES_ESTABLISHED], 1);
	t = find(&s, GP_DIR_OUTBOUND, "ab", "c");
	assert_non_null(t);
	assert_int_equal(total_results(t), 1);
	assert_int_equal(t->results[GP_RES_REFUSED], 1);
	t = find(&s, GP_DIR_OUTBOUND, "", "abc");
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_TIMEOUT], 1);
	t = find(&s, GP_DIR_OUTBOUND, "abc", "");
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_OTHER], 1);
	t = find(&s, GP_DIR_INBOUND, "a", "bc");
	assert_non_null(t);
	assert_int_equal(t->results[GP_RES_UNREACHABLE], 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_snapshot_is_a_copy(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_ESTABLISHED, 1000);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	/* Recording after the snapshot must not change what a renderer holds. */
	record(a, GP_DIR_OUTBOUND, "h2", "s", GP_RES_ESTABLISHED, 1000);
	assert_int_equal(s.events, 1);
	assert_int_equal(s.tags[0].results[GP_RES_ESTABLISHED], 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_add_bytes_per_tag(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_INBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	/* Deltas add up on their tag, per direction. */
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 100);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 50);
	gp_agg_add_bytes(a, GP_DIR_INBOUND, "h2", "stable", 0, 9);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 0);
	/* A direction out of range is outbound, as for outcomes. */
	gp_agg_add_bytes(a, 7, "h2", "stable", 0, 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_tags, 3);
	t = find(&s, GP_DIR_OUTBOUND, "h2", "stable");
	assert_non_null(t);
	assert_int_equal(t->bytes, 151);
	t = find(&s, GP_DIR_INBOUND, "h2", "stable");
	assert_non_null(t);
	assert_int_equal(t->bytes, 9);
	t = find(&s, GP_DIR_OUTBOUND, "http/1.1", "canary");
	assert_non_null(t);
	assert_int_equal(t->bytes, 0);
	/* Bytes are no outcomes. */
	assert_int_equal(s.events, 3);
	assert_int_equal(total_results(t), 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

/* Handshake times go to their tag's own histogram, folded past the cap as bytes are. */
static void test_add_handshake_per_tag(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(1);
	const struct gp_tag_stats *t;
	uint64_t n = 0;
	unsigned b;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	gp_agg_add_handshake(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 2000000);
	gp_agg_add_handshake(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 3000000);
	gp_agg_add_handshake(a, GP_DIR_INBOUND, "h2", "stable", 0, 1000);
	gp_agg_add_handshake(a, GP_DIR_OUTBOUND, "h3", "x", 0, 5);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	t = find(&s, GP_DIR_OUTBOUND, "h2", "stable");
	assert_non_null(t);
	assert_int_equal(t->hs_sum_ns, 5000000);
	assert_int_equal(t->hs_buckets[gp_hist_bucket(2000000)], 1);
	assert_int_equal(t->hs_buckets[gp_hist_bucket(3000000)], 1);
	for (b = 0; b < GP_HIST_SLOTS; b++)
		n += t->hs_buckets[b];
	assert_int_equal(n, 2);
	/* The connect histogram is its own. */
	assert_int_equal(t->sum_ns, 1000);
	t = find(&s, GP_DIR_INBOUND, "h2", "stable");
	assert_non_null(t);
	assert_int_equal(t->hs_sum_ns, 1000);
	assert_int_equal(total_results(t), 0);
	/* Past the cap: the overflow tag, and no folded outcome counted. */
	assert_null(find(&s, GP_DIR_OUTBOUND, "h3", "x"));
	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(t->hs_sum_ns, 5);
	assert_int_equal(s.tags_overflow, 0);
	assert_int_equal(s.events, 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_add_bytes_past_cap_go_to_overflow(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_RES_ESTABLISHED, 1000);
	/* The cap is reached: a third tag's bytes are folded, and are no overflowed outcome. */
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h3", "x", 0, 7);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.tags_overflow, 0);
	assert_int_equal(s.n_tags, 3);
	assert_null(find(&s, GP_DIR_OUTBOUND, "h3", "x"));
	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(t->bytes, 7);
	assert_int_equal(total_results(t), 0);
	gp_snapshot_release(&s);

	/* An outcome folded into the overflow tag, then its flow's bytes: same place. */
	record(a, GP_DIR_OUTBOUND, "h5", "y", GP_RES_ESTABLISHED, 1000);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h5", "y", 0, 3);
	/* Known tags keep their own bytes once the cap is reached. */
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "http/1.1", "canary", 0, 11);
	/* The other direction has its own allowance. */
	gp_agg_add_bytes(a, GP_DIR_INBOUND, "h3", "x", 0, 5);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.tags_overflow, 1);
	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_non_null(t);
	assert_int_equal(t->bytes, 10);
	assert_int_equal(total_results(t), 1);
	t = find(&s, GP_DIR_OUTBOUND, "http/1.1", "canary");
	assert_non_null(t);
	assert_int_equal(t->bytes, 11);
	t = find(&s, GP_DIR_INBOUND, "h3", "x");
	assert_non_null(t);
	assert_int_equal(t->bytes, 5);
	assert_null(find(&s, GP_DIR_INBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG));
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void snap(struct gp_agg *a, struct gp_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(gp_agg_snapshot(a, s), 0);
}

/* Unused dynamic tags go after the idle time; used ones, pinned ones and the overflow tag stay. */
static void test_retire_idle(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	const struct gp_tag_stats *t;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "junk-1", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "junk-2", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "real", GP_RES_ESTABLISHED, 1);	/* folded */
	record_f(a, GP_DIR_OUTBOUND, "h2", "stable", GP_GRAY_FIXED);
	assert_int_equal(gp_agg_retire(a, 100 * SEC, 10 * SEC), 0);
	/* junk-2 stays in use; the snapshot taken meanwhile changes nothing. */
	record(a, GP_DIR_OUTBOUND, "http/1.1", "junk-2", GP_RES_ESTABLISHED, 1);
	snap(a, &s);
	assert_int_equal(s.n_tags, 4);
	gp_snapshot_release(&s);
	assert_int_equal(gp_agg_retire(a, 105 * SEC, 10 * SEC), 0);
	assert_int_equal(gp_agg_retire(a, 109 * SEC, 10 * SEC), 0);
	/* 10 s after its last use (as seen at the first retire), junk-1 goes. */
	assert_int_equal(gp_agg_retire(a, 110 * SEC, 10 * SEC), 1);
	snap(a, &s);
	assert_int_equal(s.n_tags, 4 - 1);
	assert_int_equal(s.tags_retired, 1);
	assert_null(find(&s, GP_DIR_OUTBOUND, "http/1.1", "junk-1"));
	assert_non_null(find(&s, GP_DIR_OUTBOUND, "http/1.1", "junk-2"));
	gp_snapshot_release(&s);
	/* Its place is free: the real canary gets its own tag, counted from zero. */
	record(a, GP_DIR_OUTBOUND, "http/1.1", "real", GP_RES_ESTABLISHED, 1);
	snap(a, &s);
	t = find(&s, GP_DIR_OUTBOUND, "http/1.1", "real");
	assert_non_null(t);
	assert_int_equal(total_results(t), 1);
	assert_int_equal(s.tags_overflow, 1);
	gp_snapshot_release(&s);
	/* Long after: every dynamic tag is gone, the pinned and the overflow tags are not. */
	assert_int_equal(gp_agg_retire(a, 1000 * SEC, 10 * SEC), 1);	/* real: used just now */
	assert_int_equal(gp_agg_retire(a, 1010 * SEC, 10 * SEC), 1);
	snap(a, &s);
	assert_int_equal(s.n_tags, 2);
	t = find(&s, GP_DIR_OUTBOUND, "h2", "stable");
	assert_non_null(t);
	assert_true(t->pinned);
	assert_non_null(find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG));
	assert_int_equal(s.tags_retired, 3);
	gp_snapshot_release(&s);
	/* Lookups still find what is left after the table was compacted. */
	record_f(a, GP_DIR_OUTBOUND, "h2", "stable", GP_GRAY_FIXED);
	snap(a, &s);
	assert_int_equal(total_results(find(&s, GP_DIR_OUTBOUND, "h2", "stable")), 2);
	assert_int_equal(s.n_tags, 2);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

/* Bytes keep a tag in use, as outcomes do; idle 0 retires nothing. */
static void test_retire_bytes_and_never(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(2);
	uint64_t now;

	(void)state;
	assert_non_null(a);
	record(a, GP_DIR_INBOUND, "h2", "long-flow", GP_RES_ESTABLISHED, 1);
	record(a, GP_DIR_INBOUND, "h2", "short", GP_RES_ESTABLISHED, 1);
	for (now = 0; now <= 60 * SEC; now += SEC) {
		gp_agg_add_bytes(a, GP_DIR_INBOUND, "h2", "long-flow", 0, 100);
		gp_agg_retire(a, now, 0);
	}
	snap(a, &s);
	assert_int_equal(s.n_tags, 2);
	assert_int_equal(s.tags_retired, 0);
	gp_snapshot_release(&s);
	for (; now <= 120 * SEC; now += SEC) {
		gp_agg_add_bytes(a, GP_DIR_INBOUND, "h2", "long-flow", 0, 100);
		gp_agg_retire(a, now, 30 * SEC);
	}
	snap(a, &s);
	assert_int_equal(s.n_tags, 1);
	assert_int_equal(find(&s, GP_DIR_INBOUND, "h2", "long-flow")->bytes, 121 * 100);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

/*
 * A flood of made-up values fills the dynamic cap; a fixed gray still gets
 * its own tag, with each pinned ALPN, and never takes a dynamic place.
 */
static void test_pinned_past_cap(void **state)
{
	static const char *const alpns[] = {
		"h2", "http/1.1", "http/1.0", "h2c", "tls", "unknown", "none", "other",
	};
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);
	const struct gp_tag_stats *t;
	char v[16];
	unsigned i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "junk-%u", i);
		record(a, GP_DIR_INBOUND, "http/1.1", v, GP_RES_ESTABLISHED, 1);
	}
	for (i = 0; i < sizeof(alpns) / sizeof(*alpns); i++)
		record_f(a, GP_DIR_INBOUND, alpns[i], "canary", GP_GRAY_FIXED);
	record_f(a, GP_DIR_INBOUND, "http/1.1", "stable", GP_GRAY_FIXED);
	snap(a, &s);
	assert_int_equal(s.tags_overflow, 96);
	assert_int_equal(s.n_tags, 4 + 8 + 1 + 1);
	for (i = 0; i < sizeof(alpns) / sizeof(*alpns); i++) {
		t = find(&s, GP_DIR_INBOUND, alpns[i], "canary");
		assert_non_null(t);
		assert_true(t->pinned);
		assert_int_equal(t->results[GP_RES_ESTABLISHED], 1);
	}
	assert_non_null(find(&s, GP_DIR_INBOUND, "http/1.1", "stable"));
	t = find(&s, GP_DIR_INBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	assert_int_equal(total_results(t), 96);
	assert_false(t->pinned);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

/*
 * Random ALPN offers under a fixed gray: dynamic tags while the cap has
 * room, then (other, GRAY), pinned; the h2 canary is never kept out.
 */
static void test_pinned_alpn_flood(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);
	struct gp_agg_fold f;
	const struct gp_tag_stats *t;
	char alpn[16];
	unsigned i;

	(void)state;
	assert_non_null(a);
	gp_agg_last_fold(a, &f);
	assert_int_equal(f.count, 0);
	for (i = 0; i < 1000; i++) {
		snprintf(alpn, sizeof(alpn), "x%u", i);
		record_f(a, GP_DIR_OUTBOUND, alpn, "canary", GP_GRAY_FIXED);
	}
	record_f(a, GP_DIR_OUTBOUND, "h2", "canary", GP_GRAY_FIXED);
	/* Its bytes follow it: the same fold for the same flags. */
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "x999", "canary", GP_GRAY_FIXED, 5);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "x999", "junk", 0, 7);
	snap(a, &s);
	assert_int_equal(s.n_tags, 4 + 1 + 1 + 1);
	t = find(&s, GP_DIR_OUTBOUND, "x3", "canary");
	assert_non_null(t);
	assert_false(t->pinned);	/* the client's ALPN: a dynamic tag */
	t = find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, "canary");
	assert_non_null(t);
	assert_true(t->pinned);
	assert_int_equal(total_results(t), 996);
	assert_int_equal(t->bytes, 5);
	assert_int_equal(find(&s, GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG)->bytes, 7);
	t = find(&s, GP_DIR_OUTBOUND, "h2", "canary");
	assert_non_null(t);
	assert_true(t->pinned);
	assert_int_equal(s.tags_overflow, 996);
	gp_snapshot_release(&s);
	gp_agg_last_fold(a, &f);
	assert_int_equal(f.count, 996);
	assert_int_equal(f.max_tags, 4);
	assert_int_equal(f.dir, GP_DIR_OUTBOUND);
	assert_string_equal(f.alpn, "x999");
	assert_string_equal(f.gray, "canary");
	assert_string_equal(f.to_alpn, GP_OVERFLOW_TAG);
	assert_string_equal(f.to_gray, "canary");
	gp_agg_free(a);
}

/* Pinned tags have a bound too: GP_PINNED_TAGS_MAX per direction, then the overflow tag. */
static void test_pinned_bound(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(1);
	struct gp_agg_fold f;
	char gray[16];
	unsigned i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < GP_PINNED_TAGS_MAX + 10; i++) {
		snprintf(gray, sizeof(gray), "g%u", i);
		record_f(a, GP_DIR_INBOUND, "h2", gray, GP_GRAY_FIXED);
	}
	/* A header value that becomes fixed later is pinned from then on. */
	record(a, GP_DIR_OUTBOUND, "h2", "beta", GP_RES_ESTABLISHED, 1);
	record_f(a, GP_DIR_OUTBOUND, "h2", "beta", GP_GRAY_FIXED);
	record(a, GP_DIR_OUTBOUND, "h2", "gamma", GP_RES_ESTABLISHED, 1);
	snap(a, &s);
	assert_int_equal(s.n_tags, GP_PINNED_TAGS_MAX + 1 + 2);
	assert_int_equal(s.tags_overflow, 10);
	assert_int_equal(total_results(find(&s, GP_DIR_INBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG)),
			 10);
	assert_true(find(&s, GP_DIR_OUTBOUND, "h2", "beta")->pinned);
	assert_false(find(&s, GP_DIR_OUTBOUND, "h2", "gamma")->pinned);
	gp_snapshot_release(&s);
	gp_agg_last_fold(a, &f);
	assert_string_equal(f.to_gray, GP_OVERFLOW_TAG);
	/* Nothing pinned retires; the table stays whole across a compaction. */
	assert_int_equal(gp_agg_retire(a, SEC, 1), 0);
	assert_int_equal(gp_agg_retire(a, 3 * SEC, 1), 1);
	record_f(a, GP_DIR_INBOUND, "h2", "g7", GP_GRAY_FIXED);
	snap(a, &s);
	assert_int_equal(s.n_tags, GP_PINNED_TAGS_MAX + 1 + 1);
	assert_int_equal(total_results(find(&s, GP_DIR_INBOUND, "h2", "g7")), 2);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_rejected_counted(void **state)
{
	struct gp_snapshot s;
	struct gp_agg *a = gp_agg_new(4);

	(void)state;
	assert_non_null(a);
	record_f(a, GP_DIR_INBOUND, "http/1.1", "stable", GP_GRAY_FIXED | GP_GRAY_REJECTED);
	record_f(a, GP_DIR_OUTBOUND, "http/1.1", "stable", GP_GRAY_FIXED | GP_GRAY_REJECTED);
	record_f(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_GRAY_FIXED);
	snap(a, &s);
	assert_int_equal(s.gray_rejected, 2);
	assert_int_equal(s.events, 3);
	assert_int_equal(total_results(find(&s, GP_DIR_INBOUND, "http/1.1", "stable")), 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

int main(void)
{
	const struct CMUnitTest test_agg[] = {
		cmocka_unit_test(test_new_limits),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_tag_cap_outbound),
		cmocka_unit_test(test_tag_cap_per_direction),
		cmocka_unit_test(test_cap_at_scale),
		cmocka_unit_test(test_snapshot_sorted),
		cmocka_unit_test(test_histogram_counts_established_only),
		cmocka_unit_test(test_out_of_range_fields_are_clamped),
		cmocka_unit_test(test_concatenation_stays_distinct),
		cmocka_unit_test(test_snapshot_is_a_copy),
		cmocka_unit_test(test_add_bytes_per_tag),
		cmocka_unit_test(test_add_bytes_past_cap_go_to_overflow),
		cmocka_unit_test(test_add_handshake_per_tag),
		cmocka_unit_test(test_retire_idle),
		cmocka_unit_test(test_retire_bytes_and_never),
		cmocka_unit_test(test_pinned_past_cap),
		cmocka_unit_test(test_pinned_alpn_flood),
		cmocka_unit_test(test_pinned_bound),
		cmocka_unit_test(test_rejected_counted),
	};

	return cmocka_run_group_tests(test_agg, NULL, NULL);
}
