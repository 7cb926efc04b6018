// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `grayprobe top` as text: number formats, which columns fit a width, and
 * the whole --once output pinned to golden files at 80 columns and unlimited.
 */
#define _GNU_SOURCE	/* open_memstream */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <cmocka.h>

#include "top/toptext.h"
#include "unit.h"

#define SEC	1000000000ull
#define T0	(100 * SEC)

static const char golden_80[] = GP_SRCDIR "/tests/unit/golden/top-80.txt";
static const char golden_wide[] = GP_SRCDIR "/tests/unit/golden/top-wide.txt";

static struct gp_tag_stats tag(unsigned dir, const char *alpn, const char *gray)
{
	struct gp_tag_stats t;

	memset(&t, 0, sizeof(t));
	t.dir = dir;
	snprintf(t.alpn, sizeof(t.alpn), "%s", alpn);
	snprintf(t.gray, sizeof(t.gray), "%s", gray);
	return t;
}

static struct gp_conn conn(enum gp_direction dir, int family, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, enum gp_result res, uint64_t lat,
			   const char *alpn, const char *gray, uint64_t ts)
{
	struct gp_conn c = make_conn(dir, alpn, gray, res, lat);

	c.family = family;
	assert_int_equal(inet_pton(family, src, c.saddr), 1);
	assert_int_equal(inet_pton(family, dst, c.daddr), 1);
	c.sport = sport;
	c.dport = dport;
	c.ts_ns = ts;
	if (dir == GP_DIR_OUTBOUND) {
		c.pid = 4242;
		strcpy(c.comm, "curl");
	}
	return c;
}

/* n responses that took about ns. */
static void answered(struct gp_req_stats *r, uint64_t ns, uint64_t n)
{
	r->buckets[gp_hist_bucket(ns)] += n;
}

/*
 * Requests beside those connections: http/1.1 stable 400 (4 answered 503)
 * in about 2 ms; canary 40, 3 answered 503 and 1 reset, 150 ms slower;
 * gRPC stable 100 OK, canary 27 OK and 3 UNAVAILABLE; 2 undecodable.
 */
static void scenario_reqs(struct gp_req_stats *q, struct gp_snapshot *s)
{
	q[0] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "stable");
	q[0].codes[GP_CODE_2XX] = 396;
	q[0].codes[GP_CODE_5XX] = 4;
	answered(&q[0], 1900000, 396);
	answered(&q[0], 2400000, 4);
	q[1] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "canary");
	q[1].codes[GP_CODE_2XX] = 36;
	q[1].codes[GP_CODE_5XX] = 3;
	q[1].codes[GP_CODE_RESET] = 1;
	answered(&q[1], 152000000, 39);
	q[2] = make_req(GP_DIR_OUTBOUND, 0, "http/1.1", "unknown");
	q[2].codes[GP_CODE_2XX] = 2;
	answered(&q[2], 1900000, 2);
	q[3] = make_req(GP_DIR_OUTBOUND, 1, "", "stable");
	q[3].grpc_status[0] = 100;
	answered(&q[3], 800000, 100);
	q[4] = make_req(GP_DIR_OUTBOUND, 1, "", "canary");
	q[4].grpc_status[0] = 27;
	q[4].grpc_status[14] = 3;	/* UNAVAILABLE */
	answered(&q[4], 800000, 30);
	s->reqs = q;
	s->n_reqs = 5;
	s->req_undecoded[GP_DIR_OUTBOUND][0] = 2;
}

/*
 * The scenario of the integration test, by hand: stable and canary over
 * http/1.1 (the canary about a second slower), refused canary attempts
 * without payload, 12.5 s after the start; requests on top (scenario_reqs),
 * judged with top's defaults.
 */
static void scenario(struct gp_top_model *m, unsigned recent)
{
	struct gp_top_config cfg = {
		.p99_delta_pct = GP_TOP_P99_DELTA_DEFAULT, .fail_delta_pp = GP_TOP_FAIL_DELTA_DEFAULT,
		.min_samples = GP_TOP_MIN_SAMPLES_DEFAULT, .recent = recent, .max_tags = 64,
		.started_ns = T0, .classifier = "gpv1234b/ingress(tcx)",
	};
	struct gp_tag_stats t[5];
	struct gp_req_stats q[5];
	struct gp_snapshot s;
	struct gp_conn c;

	assert_int_equal(gp_top_model_init(m, &cfg), 0);
	t[0] = tag(GP_DIR_OUTBOUND, "http/1.1", "stable");
	t[0].buckets[30] = 40;
	t[0].buckets[33] = 2;
	t[0].results[GP_RES_ESTABLISHED] = 42;
	t[0].bytes = 42 * 300;
	t[1] = tag(GP_DIR_OUTBOUND, "http/1.1", "canary");
	t[1].buckets[80] = 3;
	t[1].results[GP_RES_ESTABLISHED] = 3;
	t[1].bytes = 900;
	t[2] = tag(GP_DIR_OUTBOUND, "none", "canary");
	t[2].results[GP_RES_REFUSED] = 4;
	t[3] = tag(GP_DIR_OUTBOUND, "none", "stable");
	t[3].buckets[28] = 5;
	t[3].results[GP_RES_ESTABLISHED] = 5;
	t[4] = tag(GP_DIR_INBOUND, "http/1.1", "stable");
	t[4].buckets[31] = 42;
	t[4].results[GP_RES_ESTABLISHED] = 42;
	t[4].bytes = 42 * 300;
	memset(&s, 0, sizeof(s));
	s.version = "0.1.0";
	s.connect_hook = "state";
	s.state_hook = "tp_btf";
	s.events = 96;
	s.tags = t;
	s.n_tags = 5;
	scenario_reqs(q, &s);
	assert_int_equal(gp_top_model_update(m, &s, T0 + 12 * SEC + SEC / 2), 0);
	m->rt_offset_ns = 1700000000ll * SEC;
	c = conn(GP_DIR_OUTBOUND, AF_INET, "198.18.61.1", 40000, "198.18.61.2", 8443,
		 GP_RES_ESTABLISHED, 1012345678, "http/1.1", "canary", T0 + 10 * SEC);
	gp_top_model_conn(m, &c);
	/* Inbound: local is the accepting side, the daddr. */
	c.dir = GP_DIR_INBOUND;
	c.pid = 0;
	c.comm[0] = '\0';
	c.ts_ns += 1000000;
	gp_top_model_conn(m, &c);
	c = conn(GP_DIR_OUTBOUND, AF_INET6, "fd00:198:18:61::1", 40002, "fd00:198:18:61::2", 8444,
		 GP_RES_REFUSED, 0, "none", "canary", T0 + 11 * SEC + 5000000);
	gp_top_model_conn(m, &c);
	c = conn(GP_DIR_OUTBOUND, AF_INET, "198.18.61.1", 40004, "198.18.61.2", 443,
		 GP_RES_ESTABLISHED, 51787, "h2", "stable", T0 + 12 * SEC);
	snprintf(c.sni, sizeof(c.sni), "shop.example.com");
	gp_top_model_conn(m, &c);
}

static char *render(const struct gp_top_model *m, unsigned width)
{
	struct mem o;

	mem_open(&o);
	assert_int_equal(gp_top_render_text(o.f, m, width), 0);
	return mem_close(&o);
}

static void assert_text_equal(const char *got, const char *want, const char *what)
{
	unsigned line = 1;
	const char *g = got, *w = want;

	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	if (*g || *w)
		fail_msg("%s differs at line %u:\n--- got:\n%s\n--- want:\n%s", what, line, got, want);
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC0", 1);
	tzset();
	return 0;
}

/* GP_GOLDEN_WRITE=1 rewrites the golden files from what is rendered now: review the diff. */
static void maybe_write(const char *path, const char *text)
{
	FILE *f;

	if (!getenv("GP_GOLDEN_WRITE"))
		return;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_golden(void **state)
{
	struct gp_top_model m;
	char *got, *want;

	(void)state;
	scenario(&m, 5);
	got = render(&m, 80);
	maybe_write(golden_80, got);
	want = slurp(golden_80, NULL);
	assert_text_equal(got, want, golden_80);
	free(got);
	free(want);
	got = render(&m, 0);
	maybe_write(golden_wide, got);
	want = slurp(golden_wide, NULL);
	assert_text_equal(got, want, golden_wide);
	free(got);
	free(want);
	gp_top_model_free(&m);
}

/* No line is longer than the width asked for, at any width. */
static void test_width_respected(void **state)
{
	struct gp_top_model m;
	unsigned width;
	char *out, *line, *save;

	(void)state;
	scenario(&m, 5);
	for (width = 20; width <= 200; width += 7) {
		out = render(&m, width);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strlen(line) > width)
				fail_msg("width %u: %zu characters: %s", width, strlen(line), line);
		free(out);
	}
	gp_top_model_free(&m);
}

static void test_layout(void **state)
{
	struct gp_top_model m;
	struct gp_top_layout l;
	int c;

	(void)state;
	scenario(&m, 0);
	gp_top_layout(&l, &m, 0);
	for (c = 0; c < GP_TOP_COL_MAX; c++)
		assert_true(l.show[c]);
	assert_int_equal(l.w[GP_TOP_COL_ALPN], 8);	/* "http/1.1" */
	assert_int_equal(l.w[GP_TOP_COL_GRAY], 7);	/* "unknown", a request row's */
	for (c = 0; c < GP_TOP_RCOL_MAX; c++)
		assert_true(l.rshow[c]);
	assert_int_equal(l.rx[GP_TOP_RCOL_RATE], l.x[GP_TOP_COL_CONN]);
	/* 80: since-start p50 and p90 go first. */
	gp_top_layout(&l, &m, 80);
	assert_false(l.show[GP_TOP_COL_P50_ALL]);
	assert_false(l.show[GP_TOP_COL_P90_ALL]);
	assert_true(l.show[GP_TOP_COL_P99_ALL]);
	assert_true(l.show[GP_TOP_COL_BYTES]);
	assert_true(l.len <= 80);
	/* Very narrow: names, conn/s and window p99 stay whatever happens. */
	gp_top_layout(&l, &m, 30);
	assert_true(l.show[GP_TOP_COL_DIR] && l.show[GP_TOP_COL_ALPN] && l.show[GP_TOP_COL_GRAY]);
	assert_true(l.show[GP_TOP_COL_CONN] && l.show[GP_TOP_COL_P99]);
	assert_false(l.show[GP_TOP_COL_FAIL]);
	assert_false(l.show[GP_TOP_COL_P50]);
	/* Requests: since-start error % and p99, then p90 and p50 give way. */
	assert_true(l.rshow[GP_TOP_RCOL_RATE] && l.rshow[GP_TOP_RCOL_ERR] && l.rshow[GP_TOP_RCOL_P99]);
	assert_false(l.rshow[GP_TOP_RCOL_ERR_ALL] || l.rshow[GP_TOP_RCOL_P99_ALL]);
	assert_false(l.rshow[GP_TOP_RCOL_P50] || l.rshow[GP_TOP_RCOL_P90]);
	gp_top_layout(&l, &m, 60);
	assert_true(l.rshow[GP_TOP_RCOL_P90] && l.rshow[GP_TOP_RCOL_P50]);
	assert_false(l.rshow[GP_TOP_RCOL_ERR_ALL]);
	gp_top_model_free(&m);
}

/* Labels longer than their column are cut with '~'; wide output shows them whole. */
static void test_long_labels(void **state)
{
	struct gp_top_config cfg = { .recent = 0, .max_tags = 64, .started_ns = T0 };
	struct gp_tag_stats t[1];
	struct gp_snapshot s;
	struct gp_top_model m;
	struct gp_top_layout l;
	char buf[GP_TOP_LINE_MAX];

	(void)state;
	assert_int_equal(gp_top_model_init(&m, &cfg), 0);
	t[0] = tag(GP_DIR_OUTBOUND, "a-very-long-protocol-name", "release-candidate-7");
	t[0].results[GP_RES_TIMEOUT] = 1;
	memset(&s, 0, sizeof(s));
	s.tags = t;
	s.n_tags = 1;
	assert_int_equal(gp_top_model_update(&m, &s, T0 + SEC), 0);
	/* 40: 37 for the columns that always stay, 3 more for the names. */
	gp_top_layout(&l, &m, 40);
	gp_top_fmt_row(buf, &l, &m.rows[0]);
	assert_string_equal(buf, "out a-very-lo~ release-~    1.00       -");
	gp_top_layout(&l, &m, 0);
	gp_top_fmt_row(buf, &l, &m.rows[0]);
	assert_non_null(strstr(buf, "out a-very-long-protocol-name release-candidate-7 "));
	/* No established: every percentile is a dash; one failure per second. */
	assert_non_null(strstr(buf, "1.00    1.00       -       -       -       -       -       -"));
	gp_top_model_free(&m);
}

static void test_empty(void **state)
{
	struct gp_top_config cfg = { .recent = 3, .max_tags = 8, .started_ns = T0 };
	struct gp_snapshot s;
	struct gp_top_model m;
	char *out;

	(void)state;
	assert_int_equal(gp_top_model_init(&m, &cfg), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_top_model_update(&m, &s, T0 + 3723 * SEC + 86400 * SEC), 0);
	out = render(&m, 0);
	assert_non_null(strstr(out, "up 1d 01:02:03"));
	assert_non_null(strstr(out, "tags 0/16"));
	assert_non_null(strstr(out, "(no connections yet)\n"));
	assert_non_null(strstr(out, "(no requests yet)\n"));
	assert_non_null(strstr(out, "(no gray tag with a stable one of the same direction and alpn)\n"));
	assert_non_null(strstr(out, "(0 of the last 3 kept)"));
	free(out);
	gp_top_model_free(&m);
}

/* Sort, filter, lost and folded counts show in the header's second line. */
static void test_header_states(void **state)
{
	struct gp_top_model m;
	struct gp_top_layout l;
	char buf[GP_TOP_LINE_MAX];

	(void)state;
	scenario(&m, 0);
	m.lost = 3;
	m.lost_payload = 2;
	m.overflow = 7;
	gp_top_model_sort(&m, GP_TOP_COL_P99_ALL);
	gp_top_model_filter(&m, "canary");
	gp_top_layout(&l, &m, 0);
	gp_top_fmt_header(buf, &l, &m, 1);
	assert_string_equal(buf, "events 96 (7.68/s)  lost 3 (+2 payload)  undecoded 2  tags 5/128 (+7 folded)  "
			    "window 12.5s  sort p99 all desc  /canary");
	gp_top_fmt_header(buf, &l, &m, 0);
	assert_string_equal(buf, "grayprobe 0.1.0  up 00:00:12  hooks connect=state state=tp_btf"
			    "  tc gpv1234b/ingress(tcx)");
	gp_top_model_free(&m);
}

static void expect_latency(double ns, const char *want)
{
	char buf[32];

	gp_top_fmt_latency(buf, sizeof(buf), ns);
	assert_string_equal(buf, want);
}

static void test_formats(void **state)
{
	char buf[32];
	double v;

	(void)state;
	expect_latency(0, "0.00us");
	expect_latency(990, "0.99us");
	expect_latency(9994, "9.99us");
	expect_latency(9995, "10.0us");
	expect_latency(52100, "52.1us");
	expect_latency(99950, "100us");
	expect_latency(999499, "999us");
	expect_latency(999500, "1.00ms");
	expect_latency(12.34e6, "12.3ms");
	expect_latency(512e6, "512ms");
	expect_latency(1.05e9, "1.05s");
	expect_latency(33554432000.0, "33.6s");
	expect_latency(150e9, "150s");
	/* Never more than 6 characters, so a 7-wide column always has a gap. */
	for (v = 1; v < 1e12; v *= 1.013) {
		gp_top_fmt_latency(buf, sizeof(buf), v);
		if (strlen(buf) > 6)
			fail_msg("latency %.0f ns: \"%s\"", v, buf);
		gp_top_fmt_rate(buf, sizeof(buf), v / 1e3);
		if (strlen(buf) > 6)
			fail_msg("rate %f: \"%s\"", v / 1e3, buf);
		gp_top_fmt_bytes(buf, sizeof(buf), v / 1e3);
		if (strlen(buf) > 6)
			fail_msg("bytes %f: \"%s\"", v / 1e3, buf);
	}
	gp_top_fmt_rate(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	gp_top_fmt_rate(buf, sizeof(buf), 0.5);
	assert_string_equal(buf, "0.50");
	gp_top_fmt_rate(buf, sizeof(buf), 1234);
	assert_string_equal(buf, "1234");
	gp_top_fmt_rate(buf, sizeof(buf), 250000);
	assert_string_equal(buf, "250k");
	gp_top_fmt_bytes(buf, sizeof(buf), 512);
	assert_string_equal(buf, "512");
	gp_top_fmt_bytes(buf, sizeof(buf), 1500);
	assert_string_equal(buf, "1.5k");
	gp_top_fmt_bytes(buf, sizeof(buf), 23.4e6);
	assert_string_equal(buf, "23.4M");
}

static const struct gp_top_verdict *verdict_of(const struct gp_top_model *m, const char *alpn,
					       const char *gray)
{
	const char *a, *g;
	unsigned dir;
	size_t i;

	for (i = 0; i < m->n_verdicts; i++) {
		gp_top_verdict_names(m, &m->verdicts[i], &dir, &a, &g);
		if (!strcmp(a, alpn) && !strcmp(g, gray))
			return &m->verdicts[i];
	}
	fail_msg("no verdict for %s %s", alpn, gray);
	return NULL;
}

/* Verdict rows: deltas as percent, then as a ratio; '*' for since start. */
static void test_verdict_lines(void **state)
{
	struct gp_top_model m;
	struct gp_top_layout l;
	struct gp_top_verdict v;
	char buf[GP_TOP_LINE_MAX], word[16];

	(void)state;
	scenario(&m, 0);
	gp_top_layout(&l, &m, 0);
	assert_int_equal(m.n_verdicts, 3);
	v = *verdict_of(&m, "http/1.1", "canary");
	assert_int_equal(v.by, GP_TOP_BY_HTTP);
	assert_string_equal(gp_top_verdict_word(&v, word, sizeof(word)), "P99! FAIL!");
	v.p99_delta_pct = 20;
	v.p99_window = 0;
	v.flags = 0;
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_non_null(strstr(buf, " ok "));
	assert_non_null(strstr(buf, " +20.0%* "));
	assert_non_null(strstr(buf, " req"));
	v.p99_delta_pct = 1234.4;
	v.flags = GP_TOP_FLAG_P99 | GP_TOP_FLAG_FAIL;
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_non_null(strstr(buf, " P99! FAIL! "));
	assert_non_null(strstr(buf, " +1234%* "));
	v.p99_known = v.fail_known = 0;
	v.flags = 0;
	assert_string_equal(gp_top_verdict_word(&v, word, sizeof(word)), "-");
	v = *verdict_of(&m, "grpc", "canary");
	assert_string_equal(gp_top_verdict_word(&v, word, sizeof(word)), "FAIL!");
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_non_null(strstr(buf, " +10pp grpc"));
	/* Since start, the widest deltas still fit their 7 columns. */
	v.p99_known = 1;
	v.p99_window = v.fail_window = 0;
	v.p99_delta_pct = 499.74;
	v.fail_delta_pp = -99.96;
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_non_null(strstr(buf, " +500%* "));
	assert_non_null(strstr(buf, " -100pp* grpc"));
	v.p99_delta_pct = -41.63;
	v.fail_delta_pp = 9.94;
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_non_null(strstr(buf, " -41.6%* "));
	assert_non_null(strstr(buf, " +9.9pp* grpc"));
	/* 4 refused canary connects against 5 stable ones: fewer than 20, no verdict. */
	v = *verdict_of(&m, "none", "canary");
	assert_int_equal(v.by, GP_TOP_BY_CONN);
	assert_string_equal(gp_top_verdict_word(&v, word, sizeof(word)), "n<20");
	gp_top_fmt_verdict(buf, &l, &m, &v);
	assert_string_equal(buf, "out none     canary  n<20            -      -       -      -      -       - conn");
	gp_top_model_free(&m);
}

/* The request table's lines, alone: dashes where a span has nothing. */
static void test_req_lines(void **state)
{
	struct gp_top_model m;
	struct gp_top_layout l;
	struct gp_top_req_row r;
	char buf[GP_TOP_LINE_MAX];

	(void)state;
	scenario(&m, 0);
	gp_top_layout(&l, &m, 0);
	assert_int_equal(m.n_reqs, 5);
	assert_int_equal(m.n_req_view, 5);
	gp_top_fmt_req_columns(buf, &l);
	assert_string_equal(buf, "dir alpn     gray      req/s    err%     p50     p90     p99    err%     p99");
	r = m.reqs[m.req_view[0]];
	memset(r.p_win, 0, sizeof(r.p_win));
	r.win_reqs = r.win_errs = r.win_samples = 0;
	r.req_rate = 0;
	gp_top_fmt_req_row(buf, &l, &r);
	assert_string_equal(buf, "out http/1.1 canary        0       -       -       -       -   10.0%   164ms");
	gp_top_model_filter(&m, "grpc");
	assert_int_equal(m.n_req_view, 2);
	assert_int_equal(m.n_view, 0);
	gp_top_model_filter(&m, "nothing");
	assert_int_equal(m.n_req_view, 0);
	assert_int_equal(m.n_verdicts, 0);
	gp_top_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_width_respected),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_long_labels),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_header_states),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_verdict_lines),
		cmocka_unit_test(test_req_lines),
	};

	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
