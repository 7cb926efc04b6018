// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The model behind `grayprobe top`, without a terminal: percentiles from
 * buckets, windows between snapshots, sorting, filtering, canary verdicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "top/topmodel.h"
#include "unit.h"

#define SEC	1000000000ull
/* For values that went through a division. */
#define assert_near(a, b)	assert_true((a) - (b) < 1e-6 && (b) - (a) < 1e-6)
#define T0	(100 * SEC)	/* the engine's start, CLOCK_MONOTONIC */

static struct gp_tag_stats tag(unsigned dir, const char *alpn, const char *gray)
{
	struct gp_tag_stats t;

	memset(&t, 0, sizeof(t));
	t.dir = dir;
	snprintf(t.alpn, sizeof(t.alpn), "%s", alpn);
	snprintf(t.gray, sizeof(t.gray), "%s", gray);
	return t;
}

/* n established connections, all in bucket b. */
static void est(struct gp_tag_stats *t, unsigned b, uint64_t n)
{
	t->buckets[b] += n;
	t->results[GP_RES_ESTABLISHED] += n;
}

static struct gp_snapshot snap(struct gp_tag_stats *tags, size_t n, uint64_t events)
{
	struct gp_snapshot s;

	memset(&s, 0, sizeof(s));
	s.version = "0.1.0";
	s.connect_hook = "state";
	s.state_hook = "tp_btf";
	s.events = events;
	s.tags = tags;
	s.n_tags = n;
	return s;
}

static void model(struct gp_top_model *m, unsigned recent)
{
	struct gp_top_config cfg = {
		/* The thresholds these tests were written for; no minimum sample count. */
		.p99_delta_pct = 20,
		.fail_delta_pp = 5,
		.recent = recent,
		.max_tags = 64,
		.started_ns = T0,
		.classifier = "lo/ingress(tcx)",
	};

	assert_int_equal(gp_top_model_init(m, &cfg), 0);
}

static void update(struct gp_top_model *m, struct gp_tag_stats *tags, size_t n, uint64_t at)
{
	struct gp_snapshot s = snap(tags, n, 0);

	assert_int_equal(gp_top_model_update(m, &s, at), 0);
}

static const struct gp_top_row *row(const struct gp_top_model *m, unsigned dir, const char *alpn,
				    const char *gray)
{
	size_t i;

	for (i = 0; i < m->n_rows; i++)
		if (m->rows[i].dir == dir && !strcmp(m->rows[i].alpn, alpn) &&
		    !strcmp(m->rows[i].gray, gray))
			return &m->rows[i];
	fail_msg("no row %u %s %s", dir, alpn, gray);
	return NULL;
}

/* The gray row of each verdict, as "dir alpn gray" joined by ';'. */
static void view_names(const struct gp_top_model *m, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < m->n_view && o < len; i++) {
		const struct gp_top_row *r = &m->rows[m->view[i]];

		o += snprintf(buf + o, len - o, "%s%s %s %s", i ? ";" : "",
			      r->dir ? "in" : "out", r->alpn, r->gray);
	}
}

static void test_quantile_empty(void **state)
{
	uint64_t b[GP_HIST_SLOTS] = { 0 }, n = 7;

	(void)state;
	assert_true(gp_top_quantile(b, 0.99, &n) == 0);
	assert_int_equal(n, 0);
}

/* One sample: interpolated inside its bucket, (lower, upper]. */
static void test_quantile_one_sample(void **state)
{
	uint64_t b[GP_HIST_SLOTS] = { 0 }, n;

	(void)state;
	b[5] = 1;	/* (2000, 2500] ns */
	assert_true(gp_top_quantile(b, 0.5, &n) == 2250);
	assert_int_equal(n, 1);
	assert_true(gp_top_quantile(b, 0.9, &n) == 2450);
	assert_true(gp_top_quantile(b, 0.99, &n) == 2495);
	assert_true(gp_top_quantile(b, 1.0, &n) == 2500);
	/* The first bucket's lower bound is 0, as histogram_quantile takes it. */
	memset(b, 0, sizeof(b));
	b[0] = 1;
	assert_true(gp_top_quantile(b, 0.5, &n) == 500);
}

/* 50 in (0, 1us], 40 in (1.75, 2us], 10 in (3.5, 4us]. */
static void test_quantile_known_buckets(void **state)
{
	uint64_t b[GP_HIST_SLOTS] = { 0 }, n;

	(void)state;
	assert_int_equal(gp_hist_bound_ns(4), 2000);
	assert_int_equal(gp_hist_bound_ns(8), 4000);
	b[0] = 50;
	b[4] = 40;
	b[8] = 10;
	assert_true(gp_top_quantile(b, 0.50, &n) == 1000);	/* rank 50 ends bucket 0 */
	assert_true(gp_top_quantile(b, 0.90, &n) == 2000);
	assert_true(gp_top_quantile(b, 0.99, &n) == 3950);	/* 9 of 10 into (3500, 4000] */
	assert_int_equal(n, 100);
	/* Empty buckets between are skipped, not interpolated into. */
	assert_true(gp_top_quantile(b, 0.51, &n) == 1750 + 250.0 * 1 / 40);
}

/* In +Inf there is no upper bound: the highest finite one, like histogram_quantile. */
static void test_quantile_inf(void **state)
{
	uint64_t b[GP_HIST_SLOTS] = { 0 }, n, top = gp_hist_bound_ns(GP_HIST_NB - 1);

	(void)state;
	b[GP_HIST_NB] = 3;
	assert_true(gp_top_quantile(b, 0.5, &n) == (double)top);
	assert_true(gp_top_quantile(b, 0.99, &n) == (double)top);
	assert_int_equal(n, 3);
	b[0] = 98;
	b[GP_HIST_NB] = 2;
	assert_near(gp_top_quantile(b, 0.5, &n), 1000 * 50.0 / 98);
	assert_true(gp_top_quantile(b, 0.98, &n) == 1000);
	assert_true(gp_top_quantile(b, 0.99, &n) == (double)top);
}

/* Whatever the latency, its quantile lies in the bucket hist.c puts it in. */
static void test_quantile_within_bucket(void **state)
{
	uint64_t b[GP_HIST_SLOTS], n, ns;
	unsigned i, k;
	double q;

	(void)state;
	srand(4);
	for (i = 0; i < 2000; i++) {
		ns = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % 40000000000ull;
		memset(b, 0, sizeof(b));
		k = gp_hist_bucket(ns);
		b[k] = 1 + i % 7;
		q = gp_top_quantile(b, 0.99, &n);
		if (k == GP_HIST_NB) {
			assert_true(q == (double)gp_hist_bound_ns(GP_HIST_NB - 1));
			continue;
		}
		assert_true(q <= (double)gp_hist_bound_ns(k));
		assert_true(q > (k ? (double)gp_hist_bound_ns(k - 1) : 0));
	}
}

/* Started at T0; snapshots at T0+1s and T0+3s: the second window is 2 s. */
static void test_window_deltas_and_rates(void **state)
{
	struct gp_tag_stats a[1], b[2];
	struct gp_snapshot s;
	struct gp_top_model m;
	const struct gp_top_row *r;

	(void)state;
	model(&m, 0);
	a[0] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	est(&a[0], 3, 10);
	a[0].results[GP_RES_REFUSED] = 2;
	a[0].bytes = 1000;
	s = snap(a, 1, 12);
	assert_int_equal(gp_top_model_update(&m, &s, T0 + SEC), 0);
	/* The first window runs from the engine's start. */
	r = row(&m, GP_DIR_OUTBOUND, "h2", "stable");
	assert_int_equal(m.window_ns, SEC);
	assert_true(r->conn_rate == 12);
	assert_true(r->fail_rate == 2);
	assert_true(r->bytes_rate == 1000);
	assert_int_equal(r->win_samples, 10);
	assert_true(m.events_rate == 12);

	b[0] = a[0];
	est(&b[0], 3, 2);
	est(&b[0], 10, 8);
	b[0].results[GP_RES_REFUSED] = 4;
	b[0].results[GP_RES_TIMEOUT] = 1;
	b[0].results[GP_RES_UNREACHABLE] = 1;
	b[0].bytes = 5000;
	b[1] = tag(GP_DIR_INBOUND, "h2", "stable");	/* new: all of it is in the window */
	est(&b[1], 0, 4);
	s = snap(b, 2, 30);
	assert_int_equal(gp_top_model_update(&m, &s, T0 + 3 * SEC), 0);
	assert_int_equal(m.window_ns, 2 * SEC);
	assert_true(m.events_rate == 9);
	r = row(&m, GP_DIR_OUTBOUND, "h2", "stable");
	assert_int_equal(r->win_conns, 14);
	assert_int_equal(r->win_fails, 4);	/* refused, timeout, unreachable */
	assert_int_equal(r->conns, 26);
	assert_int_equal(r->fails, 6);
	assert_true(r->conn_rate == 7);
	assert_true(r->fail_rate == 2);
	assert_true(r->bytes_rate == 2000);
	/* The window's histogram is the bucket deltas: 2 in bucket 3, 8 in bucket 10. */
	assert_int_equal(r->win_samples, 10);
	assert_int_equal(r->samples, 20);
	assert_true(r->p_win[GP_TOP_P50] > gp_hist_bound_ns(9));
	assert_true(r->p_win[GP_TOP_P50] <= gp_hist_bound_ns(10));
	/* Since start: rank 10 of the 12 in bucket 3, (1500, 1750]. */
	assert_near(r->p_all[GP_TOP_P50], 1500 + 250.0 * 10 / 12);
	r = row(&m, GP_DIR_INBOUND, "h2", "stable");
	assert_int_equal(r->win_conns, 4);
	assert_true(r->conn_rate == 2);
	assert_near(r->p_win[GP_TOP_P99], 990);

	/* Nothing new: an empty window, since-start values stay. */
	s = snap(b, 2, 30);
	assert_int_equal(gp_top_model_update(&m, &s, T0 + 4 * SEC), 0);
	r = row(&m, GP_DIR_OUTBOUND, "h2", "stable");
	assert_int_equal(r->win_conns, 0);
	assert_int_equal(r->win_samples, 0);
	assert_true(r->conn_rate == 0);
	assert_int_equal(r->samples, 20);
	gp_top_model_free(&m);
}

/* Header facts: lost events, tags per direction without the overflow tag. */
static void test_header_counts(void **state)
{
	struct gp_tag_stats t[3];
	struct gp_snapshot s;
	struct gp_top_model m;

	(void)state;
	model(&m, 0);
	t[0] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	t[1] = tag(GP_DIR_OUTBOUND, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG);
	t[2] = tag(GP_DIR_INBOUND, "h2", "stable");
	s = snap(t, 3, 5);
	s.lost_ringbuf = 1;
	s.lost_track = 2;
	s.lost_malformed = 3;
	s.lost_payload = 4;
	s.tags_overflow = 9;
	assert_int_equal(gp_top_model_update(&m, &s, T0 + SEC), 0);
	assert_int_equal(m.lost, 6);
	assert_int_equal(m.lost_payload, 4);
	assert_int_equal(m.overflow, 9);
	assert_int_equal(m.tags_in_use[GP_DIR_OUTBOUND], 1);
	assert_int_equal(m.tags_in_use[GP_DIR_INBOUND], 1);
	assert_string_equal(m.classifier, "lo/ingress(tcx)");
	assert_string_equal(m.connect_hook, "state");
	gp_top_model_free(&m);
}

static void sort_filter_tags(struct gp_tag_stats *t)
{
	t[0] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	est(&t[0], 10, 30);
	t[1] = tag(GP_DIR_OUTBOUND, "h2", "canary");
	est(&t[1], 20, 10);
	t[2] = tag(GP_DIR_INBOUND, "http/1.1", "stable");
	est(&t[2], 5, 50);
	t[3] = tag(GP_DIR_OUTBOUND, "none", "Canary");
	t[3].results[GP_RES_REFUSED] = 40;	/* no established: no percentiles */
}

static void test_sort(void **state)
{
	struct gp_tag_stats t[4];
	struct gp_top_model m;
	char names[512];

	(void)state;
	model(&m, 0);
	sort_filter_tags(t);
	update(&m, t, 4, T0 + SEC);
	/* Default: by name, outbound first. */
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;out none Canary;in http/1.1 stable");
	gp_top_model_sort(&m, GP_TOP_COL_CONN);
	assert_int_equal(m.sort_desc, 1);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "in http/1.1 stable;out none Canary;out h2 stable;out h2 canary");
	gp_top_model_sort(&m, GP_TOP_COL_CONN);	/* again: reversed */
	assert_int_equal(m.sort_desc, 0);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;out none Canary;in http/1.1 stable");
	/* A row without samples sorts last both ways. */
	gp_top_model_sort(&m, GP_TOP_COL_P99);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;in http/1.1 stable;out none Canary");
	gp_top_model_sort(&m, GP_TOP_COL_P99);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "in http/1.1 stable;out h2 stable;out h2 canary;out none Canary");
	gp_top_model_sort(&m, GP_TOP_COL_FAIL);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out none Canary;out h2 canary;out h2 stable;in http/1.1 stable");
	gp_top_model_sort(&m, GP_TOP_COL_GRAY);
	assert_int_equal(m.sort_desc, 0);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out none Canary;out h2 canary;out h2 stable;in http/1.1 stable");
	gp_top_model_sort(&m, GP_TOP_COL_ALPN);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;in http/1.1 stable;out none Canary");
	gp_top_model_set_sort(&m, GP_TOP_COL_P99_ALL, 1);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;in http/1.1 stable;out none Canary");
	/* The sort outlives updates. */
	update(&m, t, 4, T0 + 2 * SEC);
	assert_int_equal(m.sort_col, GP_TOP_COL_P99_ALL);
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable;in http/1.1 stable;out none Canary");
	assert_string_equal(gp_top_col_name(GP_TOP_COL_P99_ALL), "p99 all");
	assert_string_equal(gp_top_col_name(GP_TOP_COL_MAX), "?");
	gp_top_model_free(&m);
}

static void test_filter(void **state)
{
	struct gp_tag_stats t[4];
	struct gp_top_model m;
	char names[512];

	(void)state;
	model(&m, 0);
	sort_filter_tags(t);
	update(&m, t, 4, T0 + SEC);
	gp_top_model_filter(&m, "canary");	/* any case */
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out none Canary");
	gp_top_model_filter(&m, "  OUT   h2 ");	/* every word, direction included */
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "out h2 canary;out h2 stable");
	gp_top_model_filter(&m, "inbound");
	view_names(&m, names, sizeof(names));
	assert_string_equal(names, "in http/1.1 stable");
	gp_top_model_filter(&m, "nothing");
	assert_int_equal(m.n_view, 0);
	assert_int_equal(m.n_verdicts, 0);
	assert_int_equal(m.n_rows, 4);
	/* The filter outlives updates. */
	update(&m, t, 4, T0 + 2 * SEC);
	assert_int_equal(m.n_view, 0);
	gp_top_model_filter(&m, "");
	assert_int_equal(m.n_view, 4);
	gp_top_model_filter(&m, NULL);
	assert_int_equal(m.n_view, 4);
	gp_top_model_free(&m);
}

/*
 * stable: 99 in (0, 1us] and 1 far above: p99 is exactly 1000 ns.
 * gray: 190 in (0, 1us], 10 in (1, 1.25us]: rank 198 is 8/10 into the
 * second bucket, p99 exactly 1200 ns: +20 %.
 */
static void p99_pair(struct gp_tag_stats *t)
{
	t[0] = tag(GP_DIR_OUTBOUND, "h2", "canary");
	est(&t[0], 0, 190);
	est(&t[0], 1, 10);
	t[1] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	est(&t[1], 0, 99);
	est(&t[1], 40, 1);
}

static void test_verdict_p99_threshold(void **state)
{
	struct gp_tag_stats t[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model(&m, 0);
	p99_pair(t);
	update(&m, t, 2, T0 + SEC);
	assert_int_equal(m.n_verdicts, 1);
	v = &m.verdicts[0];
	assert_string_equal(m.rows[v->gray_row].gray, "canary");
	assert_string_equal(m.rows[v->stable_row].gray, "stable");
	assert_int_equal(v->p99_known, 1);
	assert_int_equal(v->p99_window, 1);
	assert_true(v->stable_p99 == 1000);
	assert_true(v->gray_p99 == 1200);
	assert_true(v->p99_delta_pct == 20);
	/* Exactly the threshold is not over it. */
	assert_int_equal(v->flags, 0);
	m.cfg.p99_delta_pct = 19.99;
	update(&m, t, 2, T0 + 2 * SEC);
	/* Window empty now: since start, same numbers, now flagged. */
	v = &m.verdicts[0];
	assert_int_equal(v->p99_window, 0);
	assert_true(v->p99_delta_pct == 20);
	assert_int_equal(v->flags, GP_TOP_FLAG_P99);
	/* Faster than stable is never flagged. */
	m.cfg.p99_delta_pct = 0;
	t[0].buckets[1] = 0;
	t[0].results[GP_RES_ESTABLISHED] = 190;
	update(&m, t, 2, T0 + 3 * SEC);
	v = &m.verdicts[0];
	assert_true(v->p99_delta_pct < 0);
	assert_int_equal(v->flags, 0);
	gp_top_model_free(&m);
}

static void test_verdict_fail_threshold(void **state)
{
	struct gp_tag_stats t[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model(&m, 0);
	t[0] = tag(GP_DIR_OUTBOUND, "none", "canary");
	est(&t[0], 3, 95);
	t[0].results[GP_RES_REFUSED] = 3;
	t[0].results[GP_RES_TIMEOUT] = 1;
	t[0].results[GP_RES_OTHER] = 1;
	t[1] = tag(GP_DIR_OUTBOUND, "none", "stable");
	est(&t[1], 3, 100);
	update(&m, t, 2, T0 + SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_known, 1);
	assert_int_equal(v->fail_window, 1);
	assert_true(v->gray_fail_pct == 5);
	assert_true(v->stable_fail_pct == 0);
	assert_true(v->fail_delta_pp == 5);
	assert_int_equal(v->flags, 0);	/* exactly +5 pp: not over */
	/* One more attempt of gray's, failed, and 100 good ones of stable's: flagged. */
	t[0].results[GP_RES_UNREACHABLE] = 1;
	est(&t[1], 3, 100);
	update(&m, t, 2, T0 + 2 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_window, 1);
	assert_true(v->gray_fail_pct == 100);
	assert_true(v->stable_fail_pct == 0);
	assert_int_equal(v->flags & GP_TOP_FLAG_FAIL, GP_TOP_FLAG_FAIL);
	/* Gray's window has no attempts: since start, 6 of 101 against 0 of 300. */
	est(&t[1], 3, 100);
	update(&m, t, 2, T0 + 3 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_window, 0);
	assert_near(v->gray_fail_pct, 600.0 / 101);
	assert_near(v->fail_delta_pp, 600.0 / 101);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);
	/* p99 since start: gray has samples, window has none. */
	assert_int_equal(v->p99_known, 1);
	assert_int_equal(v->p99_window, 0);
	gp_top_model_free(&m);
}

/* Only a stable row of the same direction and alpn is a baseline. */
static void test_verdict_pairs(void **state)
{
	struct gp_tag_stats t[6];
	struct gp_top_model m;

	(void)state;
	model(&m, 0);
	t[0] = tag(GP_DIR_OUTBOUND, "h2", "canary");
	est(&t[0], 3, 1);
	t[1] = tag(GP_DIR_OUTBOUND, "h2", "beta");
	est(&t[1], 3, 1);
	t[2] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	est(&t[2], 3, 1);
	t[3] = tag(GP_DIR_INBOUND, "h2", "canary");	/* stable only outbound */
	est(&t[3], 3, 1);
	t[4] = tag(GP_DIR_OUTBOUND, "http/1.1", "canary");	/* stable only for h2 */
	est(&t[4], 3, 1);
	t[5] = tag(GP_DIR_OUTBOUND, "none", "x");	/* bytes only: nothing known */
	t[5].bytes = 10;
	update(&m, t, 5, T0 + SEC);
	assert_int_equal(m.n_verdicts, 2);
	assert_string_equal(m.rows[m.verdicts[0].gray_row].gray, "beta");
	assert_string_equal(m.rows[m.verdicts[1].gray_row].gray, "canary");
	assert_int_equal(m.rows[m.verdicts[1].gray_row].dir, GP_DIR_OUTBOUND);
	assert_int_equal(m.verdicts[0].flags, 0);
	gp_top_model_filter(&m, "beta");
	assert_int_equal(m.n_verdicts, 1);
	gp_top_model_filter(&m, "");
	/* A stable row with no attempts at all: nothing to compare. */
	t[5] = tag(GP_DIR_OUTBOUND, "none", "stable");
	t[5].bytes = 10;
	t[4] = tag(GP_DIR_OUTBOUND, "none", "canary");
	t[4].bytes = 10;
	update(&m, t, 6, T0 + 2 * SEC);
	assert_int_equal(m.n_verdicts, 3);
	assert_string_equal(m.rows[m.verdicts[2].gray_row].alpn, "none");
	assert_int_equal(m.verdicts[2].p99_known, 0);
	assert_int_equal(m.verdicts[2].fail_known, 0);
	assert_int_equal(m.verdicts[2].flags, 0);
	gp_top_model_free(&m);
}

/* Rows come out in name order whatever order the snapshot had. */
static void test_unsorted_snapshot(void **state)
{
	struct gp_tag_stats t[3];
	struct gp_top_model m;

	(void)state;
	model(&m, 0);
	t[0] = tag(GP_DIR_INBOUND, "h2", "stable");
	t[1] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	est(&t[1], 3, 4);
	t[2] = tag(GP_DIR_OUTBOUND, "h2", "canary");
	est(&t[2], 3, 2);
	update(&m, t, 3, T0 + SEC);
	assert_int_equal(m.rows[0].dir, GP_DIR_OUTBOUND);
	assert_string_equal(m.rows[0].gray, "canary");
	assert_string_equal(m.rows[1].gray, "stable");
	assert_int_equal(m.rows[2].dir, GP_DIR_INBOUND);
	assert_int_equal(m.n_verdicts, 1);
	/* Counts are matched by name, not position, across updates. */
	est(&t[2], 3, 2);
	update(&m, t, 3, T0 + 2 * SEC);
	assert_int_equal(row(&m, GP_DIR_OUTBOUND, "h2", "canary")->win_conns, 2);
	assert_int_equal(row(&m, GP_DIR_OUTBOUND, "h2", "stable")->win_conns, 0);
	/* Empty snapshot: no rows, no crash. */
	update(&m, NULL, 0, T0 + 3 * SEC);
	assert_int_equal(m.n_rows, 0);
	assert_int_equal(m.n_view, 0);
	gp_top_model_free(&m);
}

static void test_recent_ring(void **state)
{
	struct gp_top_model m;
	struct gp_conn c;
	int i;

	(void)state;
	model(&m, 3);
	assert_null(gp_top_model_recent(&m, 0));
	for (i = 1; i <= 5; i++) {
		c = make_conn(GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, i * 1000);
		gp_top_model_conn(&m, &c);
	}
	assert_int_equal(m.ring_len, 3);
	assert_int_equal(gp_top_model_recent(&m, 0)->latency_ns, 5000);
	assert_int_equal(gp_top_model_recent(&m, 1)->latency_ns, 4000);
	assert_int_equal(gp_top_model_recent(&m, 2)->latency_ns, 3000);
	assert_null(gp_top_model_recent(&m, 3));
	gp_top_model_free(&m);

	/* No ring: outcomes are ignored. */
	model(&m, 0);
	gp_top_model_conn(&m, &c);
	assert_null(gp_top_model_recent(&m, 0));
	gp_top_model_free(&m);
}

static void test_failures(void **state)
{
	uint64_t r[GP_RES_MAX] = { 0 };

	(void)state;
	r[GP_RES_ESTABLISHED] = 100;
	r[GP_RES_REFUSED] = 1;
	r[GP_RES_TIMEOUT] = 2;
	r[GP_RES_UNREACHABLE] = 4;
	r[GP_RES_ABANDONED] = 16;
	r[GP_RES_OTHER] = 8;
	assert_int_equal(gp_top_failures(r), 31);
}

/* A blackholed canary whose clients give up (abandoned, nothing else) is FAIL!. */
static void test_verdict_abandoned_fails(void **state)
{
	struct gp_tag_stats t[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model(&m, 0);
	t[0] = tag(GP_DIR_OUTBOUND, "none", "canary");
	est(&t[0], 3, 90);
	t[0].results[GP_RES_ABANDONED] = 10;
	t[1] = tag(GP_DIR_OUTBOUND, "none", "stable");
	est(&t[1], 3, 100);
	update(&m, t, 2, T0 + SEC);
	assert_int_equal(row(&m, GP_DIR_OUTBOUND, "none", "canary")->win_fails, 10);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_known, 1);
	assert_true(v->gray_fail_pct == 10);
	assert_true(v->stable_fail_pct == 0);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);
	gp_top_model_free(&m);
}

/* n HTTP requests answered with code in bucket b (reset and none get no response). */
static void answer(struct gp_req_stats *r, unsigned code, unsigned b, uint64_t n)
{
	r->codes[code] += n;
	if (code != GP_CODE_RESET && code != GP_CODE_NONE)
		r->buckets[b] += n;
}

static void grpc_answer(struct gp_req_stats *r, unsigned slot, unsigned b, uint64_t n)
{
	r->grpc_status[slot] += n;
	if (slot != GP_GRPC_RESET && slot != GP_GRPC_NONE)
		r->buckets[b] += n;
}

static void model_defaults(struct gp_top_model *m)
{
	struct gp_top_config cfg = {
		.p99_delta_pct = GP_TOP_P99_DELTA_DEFAULT,
		.fail_delta_pp = GP_TOP_FAIL_DELTA_DEFAULT,
		.min_samples = GP_TOP_MIN_SAMPLES_DEFAULT,
		.max_tags = 64,
		.started_ns = T0,
	};

	assert_int_equal(gp_top_model_init(m, &cfg), 0);
}

static void update_reqs(struct gp_top_model *m, struct gp_tag_stats *tags, size_t n,
			struct gp_req_stats *reqs, size_t nr, uint64_t at)
{
	struct gp_snapshot s = snap(tags, n, 0);

	s.reqs = reqs;
	s.n_reqs = nr;
	assert_int_equal(gp_top_model_update(m, &s, at), 0);
}

static const struct gp_top_req_row *req_row(const struct gp_top_model *m, int grpc,
					    const char *gray)
{
	size_t i;

	for (i = 0; i < m->n_reqs; i++)
		if (m->reqs[i].grpc == grpc && !strcmp(m->reqs[i].gray, gray))
			return &m->reqs[i];
	fail_msg("no request row %d %s", grpc, gray);
	return NULL;
}

/* Errors: 5xx, reset and none of HTTP (not 4xx); every gRPC status but OK. */
static void test_req_errors(void **state)
{
	struct gp_req_stats r = make_req(GP_DIR_OUTBOUND, 0, "h2c", "stable");
	uint64_t total;

	(void)state;
	answer(&r, GP_CODE_1XX, 3, 1);
	answer(&r, GP_CODE_2XX, 3, 90);
	answer(&r, GP_CODE_3XX, 3, 2);
	answer(&r, GP_CODE_4XX, 3, 2);
	answer(&r, GP_CODE_5XX, 3, 3);
	answer(&r, GP_CODE_RESET, 3, 1);
	answer(&r, GP_CODE_NONE, 3, 1);
	assert_int_equal(gp_top_req_errors(&r, &total), 5);
	assert_int_equal(total, 100);
	r = make_req(GP_DIR_INBOUND, 1, "", "canary");
	grpc_answer(&r, 0, 3, 40);	/* OK */
	grpc_answer(&r, 14, 3, 6);	/* UNAVAILABLE */
	grpc_answer(&r, 4, 3, 2);	/* DEADLINE_EXCEEDED */
	grpc_answer(&r, 16, 3, 0);
	grpc_answer(&r, GP_GRPC_RESET, 3, 1);
	grpc_answer(&r, GP_GRPC_NONE, 3, 1);
	/* gRPC's HTTP status is 200 whatever the call's: only grpc_status counts. */
	r.codes[GP_CODE_2XX] = 50;
	assert_int_equal(gp_top_req_errors(&r, &total), 10);
	assert_int_equal(total, 50);
}

/* Request rows: windows from the previous snapshot, gRPC rows apart, percentiles from deltas. */
static void test_req_rows(void **state)
{
	struct gp_req_stats q[3];
	struct gp_top_model m;
	const struct gp_top_req_row *r;

	(void)state;
	model(&m, 0);
	q[0] = make_req(GP_DIR_OUTBOUND, 1, "", "canary");
	grpc_answer(&q[0], 0, 10, 40);
	grpc_answer(&q[0], 14, 10, 8);
	grpc_answer(&q[0], GP_GRPC_RESET, 0, 2);
	q[1] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "stable");	/* out of order: sorted */
	answer(&q[1], GP_CODE_2XX, 10, 95);
	answer(&q[1], GP_CODE_4XX, 10, 3);
	answer(&q[1], GP_CODE_NONE, 0, 2);
	q[2] = make_req(GP_DIR_INBOUND, 0, "h2c", "stable");
	update_reqs(&m, NULL, 0, q, 3, T0 + SEC);
	assert_int_equal(m.n_reqs, 3);
	assert_int_equal(m.reqs[0].grpc, 0);
	assert_string_equal(m.reqs[0].alpn, "http/1.1");
	assert_int_equal(m.reqs[1].grpc, 1);
	assert_string_equal(m.reqs[1].alpn, "grpc");
	assert_int_equal(m.reqs[2].dir, GP_DIR_INBOUND);
	assert_int_equal(m.n_req_view, 3);
	r = req_row(&m, 0, "stable");
	assert_int_equal(r->reqs, 100);
	assert_int_equal(r->errs, 2);
	assert_int_equal(r->win_reqs, 100);
	assert_true(r->req_rate == 100);
	assert_int_equal(r->win_samples, 98);
	r = req_row(&m, 1, "canary");
	assert_int_equal(r->reqs, 50);
	assert_int_equal(r->errs, 10);
	assert_int_equal(r->samples, 48);

	/* 2 s later: 20 more stable, all 2xx, much slower; the canary idle. */
	answer(&q[1], GP_CODE_2XX, 40, 20);
	update_reqs(&m, NULL, 0, q, 3, T0 + 3 * SEC);
	r = req_row(&m, 0, "stable");
	assert_int_equal(r->win_reqs, 20);
	assert_int_equal(r->win_errs, 0);
	assert_true(r->req_rate == 10);
	assert_int_equal(r->win_samples, 20);
	assert_int_equal(r->samples, 118);
	/* The window's histogram is only the 20 new ones: all in bucket 40. */
	assert_true(r->p_win[GP_TOP_P50] > gp_hist_bound_ns(39));
	assert_true(r->p_win[GP_TOP_P99] <= gp_hist_bound_ns(40));
	assert_true(r->p_all[GP_TOP_P50] <= gp_hist_bound_ns(10));
	r = req_row(&m, 1, "canary");
	assert_int_equal(r->win_reqs, 0);
	assert_true(r->req_rate == 0);
	assert_int_equal(r->win_samples, 0);
	gp_top_model_filter(&m, "grpc");
	assert_int_equal(m.n_req_view, 1);
	assert_int_equal(m.reqs[m.req_view[0]].grpc, 1);
	gp_top_model_free(&m);
}

/*
 * Requests decide where a gray and its stable have some; the connection
 * row of that key gets no verdict, one without requests keeps its own.
 * Below --min-samples a side: not judged (short_of), then the window, then
 * since start once the window is short again.
 */
static void test_req_verdict_min_samples(void **state)
{
	struct gp_tag_stats t[4];
	struct gp_req_stats q[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model_defaults(&m);
	t[0] = tag(GP_DIR_OUTBOUND, "http/1.1", "canary");
	est(&t[0], 3, 50);
	t[1] = tag(GP_DIR_OUTBOUND, "http/1.1", "stable");
	est(&t[1], 3, 50);
	t[2] = tag(GP_DIR_OUTBOUND, "none", "canary");
	t[2].results[GP_RES_REFUSED] = 30;
	t[3] = tag(GP_DIR_OUTBOUND, "none", "stable");
	est(&t[3], 3, 30);
	q[0] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "canary");
	answer(&q[0], GP_CODE_2XX, 20, 9);
	answer(&q[0], GP_CODE_5XX, 20, 1);
	q[1] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "stable");
	answer(&q[1], GP_CODE_2XX, 20, 99);
	answer(&q[1], GP_CODE_5XX, 20, 1);
	update_reqs(&m, t, 4, q, 2, T0 + SEC);
	assert_int_equal(m.n_verdicts, 2);
	v = &m.verdicts[0];
	assert_int_equal(v->by, GP_TOP_BY_HTTP);
	assert_string_equal(m.reqs[v->gray_row].gray, "canary");
	assert_string_equal(m.reqs[v->stable_row].gray, "stable");
	/* 10 canary requests: fewer than 20, over the window and since start. */
	assert_int_equal(v->p99_known, 0);
	assert_int_equal(v->fail_known, 0);
	assert_int_equal(v->flags, 0);
	assert_int_equal(v->short_of, 20);
	/* The refused canary connects: no requests there, connections decide. */
	v = &m.verdicts[1];
	assert_int_equal(v->by, GP_TOP_BY_CONN);
	assert_string_equal(m.rows[v->gray_row].alpn, "none");
	assert_int_equal(v->fail_window, 1);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);

	/* 30 more canary requests, 3 failed, 100 more stable ones, none failed: the window. */
	answer(&q[0], GP_CODE_2XX, 20, 27);
	answer(&q[0], GP_CODE_RESET, 0, 3);
	answer(&q[1], GP_CODE_2XX, 20, 100);
	update_reqs(&m, t, 4, q, 2, T0 + 2 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->short_of, 0);
	assert_int_equal(v->fail_known, 1);
	assert_int_equal(v->fail_window, 1);
	assert_near(v->gray_fail_pct, 10);
	assert_near(v->stable_fail_pct, 0);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);
	/* 27 canary samples against 100 in the window; same latency, not flagged. */
	assert_int_equal(v->p99_known, 1);
	assert_int_equal(v->p99_window, 1);
	assert_near(v->p99_delta_pct, 0);

	/* A short window (5 canary requests): since start, 4 of 45 against 1 of 300. */
	answer(&q[0], GP_CODE_2XX, 20, 5);
	answer(&q[1], GP_CODE_2XX, 20, 100);
	update_reqs(&m, t, 4, q, 2, T0 + 3 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_window, 0);
	assert_int_equal(v->p99_window, 0);
	assert_near(v->gray_fail_pct, 400.0 / 45);
	assert_near(v->stable_fail_pct, 100.0 / 300);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);
	gp_top_model_free(&m);
}

/* Default thresholds: +8 % p99 and +2 points of errors are fine, more is not. */
static void test_req_verdict_default_thresholds(void **state)
{
	struct gp_req_stats q[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model_defaults(&m);
	/*
	 * stable: 99 in (0, 1us] and 1 far above: p99 exactly 1000 ns. canary:
	 * 1675 in (0, 1us], 25 in (1, 1.25us]: rank 1683 is 8/25 into the
	 * second bucket, p99 1080 ns: +8 %. Errors 3 % against 1 %.
	 */
	q[0] = make_req(GP_DIR_INBOUND, 0, "h2c", "canary");
	answer(&q[0], GP_CODE_2XX, 0, 1624);
	answer(&q[0], GP_CODE_5XX, 0, 51);
	answer(&q[0], GP_CODE_2XX, 1, 25);
	q[1] = make_req(GP_DIR_INBOUND, 0, "h2c", "stable");
	answer(&q[1], GP_CODE_2XX, 0, 98);
	answer(&q[1], GP_CODE_5XX, 0, 1);
	answer(&q[1], GP_CODE_2XX, 40, 1);
	update_reqs(&m, NULL, 0, q, 2, T0 + SEC);
	v = &m.verdicts[0];
	assert_true(v->stable_p99 == 1000);
	assert_near(v->gray_p99, 1080);
	assert_near(v->p99_delta_pct, 8);
	assert_near(v->gray_fail_pct, 3);
	assert_near(v->fail_delta_pp, 2);
	assert_int_equal(v->flags, 0);
	/* One more failed canary request, and a slower one: both flagged. */
	answer(&q[0], GP_CODE_5XX, 1, 20);
	update_reqs(&m, NULL, 0, q, 2, T0 + 2 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->fail_window, 0);	/* the window: 20 canary against none */
	assert_true(v->p99_delta_pct > 8);
	assert_true(v->fail_delta_pp > 2);
	assert_int_equal(v->flags, GP_TOP_FLAG_P99 | GP_TOP_FLAG_FAIL);
	gp_top_model_free(&m);
}

/* gRPC calls are judged against gRPC stable, by status; unknown grays never. */
static void test_req_verdict_grpc(void **state)
{
	struct gp_req_stats q[4];
	struct gp_top_model m;
	const struct gp_top_verdict *v;

	(void)state;
	model_defaults(&m);
	q[0] = make_req(GP_DIR_OUTBOUND, 0, "h2c", "stable");
	answer(&q[0], GP_CODE_2XX, 10, 100);
	q[1] = make_req(GP_DIR_OUTBOUND, 0, "h2c", GP_TOP_GRAY_UNKNOWN);
	answer(&q[1], GP_CODE_2XX, 10, 100);
	q[2] = make_req(GP_DIR_OUTBOUND, 1, "", "canary");
	grpc_answer(&q[2], 0, 10, 45);
	grpc_answer(&q[2], 14, 10, 4);	/* UNAVAILABLE */
	grpc_answer(&q[2], GP_GRPC_NONE, 0, 1);
	q[3] = make_req(GP_DIR_OUTBOUND, 1, "", "stable");
	grpc_answer(&q[3], 0, 10, 50);
	update_reqs(&m, NULL, 0, q, 4, T0 + SEC);
	assert_int_equal(m.n_verdicts, 1);
	v = &m.verdicts[0];
	assert_int_equal(v->by, GP_TOP_BY_GRPC);
	assert_string_equal(m.reqs[v->gray_row].alpn, "grpc");
	assert_near(v->gray_fail_pct, 10);
	assert_near(v->stable_fail_pct, 0);
	assert_int_equal(v->flags, GP_TOP_FLAG_FAIL);
	/* Without a gRPC stable there is nothing to compare the canary with. */
	update_reqs(&m, NULL, 0, q, 3, T0 + 2 * SEC);
	assert_int_equal(m.n_verdicts, 0);
	gp_top_model_free(&m);
}

/*
 * 7 connections a second a side, canary slower: with the default minimum,
 * no verdict until 20 samples a side (since start, 3 s), none that flaps.
 */
static void test_conn_verdict_min_samples(void **state)
{
	struct gp_tag_stats t[2];
	struct gp_top_model m;
	const struct gp_top_verdict *v;
	int i;

	(void)state;
	model_defaults(&m);
	t[0] = tag(GP_DIR_OUTBOUND, "h2", "canary");
	t[1] = tag(GP_DIR_OUTBOUND, "h2", "stable");
	for (i = 1; i <= 3; i++) {
		est(&t[0], 20, 7);
		est(&t[1], 10, 7);
		update(&m, t, 2, T0 + (uint64_t)i * SEC);
		v = &m.verdicts[0];
		if (i < 3) {
			assert_int_equal(v->short_of, 20);
			assert_int_equal(v->p99_known, 0);
			assert_int_equal(v->fail_known, 0);
			assert_int_equal(v->flags, 0);
		}
	}
	assert_int_equal(v->short_of, 0);
	assert_int_equal(v->p99_known, 1);
	assert_int_equal(v->p99_window, 0);	/* 21 since start, 7 in the window */
	assert_int_equal(v->flags, GP_TOP_FLAG_P99);
	/* A 3 s window holds 21 a side: judged over it. */
	est(&t[0], 20, 21);
	est(&t[1], 10, 21);
	update(&m, t, 2, T0 + 6 * SEC);
	v = &m.verdicts[0];
	assert_int_equal(v->p99_window, 1);
	assert_int_equal(v->fail_window, 1);
	gp_top_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantile_empty),
		cmocka_unit_test(test_quantile_one_sample),
		cmocka_unit_test(test_quantile_known_buckets),
		cmocka_unit_test(test_quantile_inf),
		cmocka_unit_test(test_quantile_within_bucket),
		cmocka_unit_test(test_window_deltas_and_rates),
		cmocka_unit_test(test_header_counts),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_verdict_p99_threshold),
		cmocka_unit_test(test_verdict_fail_threshold),
		cmocka_unit_test(test_verdict_pairs),
		cmocka_unit_test(test_unsorted_snapshot),
		cmocka_unit_test(test_recent_ring),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_verdict_abandoned_fails),
		cmocka_unit_test(test_req_errors),
		cmocka_unit_test(test_req_rows),
		cmocka_unit_test(test_req_verdict_min_samples),
		cmocka_unit_test(test_req_verdict_default_thresholds),
		cmocka_unit_test(test_req_verdict_grpc),
		cmocka_unit_test(test_conn_verdict_min_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
