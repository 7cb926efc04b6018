// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* qsort_r, strcasestr */
/*
 * The data behind `grayprobe top`: windows of counts between successive
 * snapshots, percentiles from histogram buckets, canary verdicts. No terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top/topmodel.h"

/* Thresholds are "more than": a delta equal to them, give or take rounding, is fine. */
#define GP_TOP_EPS	1e-9

static const double quantiles[GP_TOP_NQ] = { 0.50, 0.90, 0.99 };

static const char *const col_names[GP_TOP_COL_MAX] = {
	"dir", "alpn", "gray", "conn/s", "fail/s", "p50", "p90", "p99",
	"p50 all", "p90 all", "p99 all", "bytes/s",
};

const char *gp_top_col_name(enum gp_top_col col)
{
	return (unsigned)col < GP_TOP_COL_MAX ? col_names[col] : "?";
}

uint64_t gp_top_failures(const uint64_t results[GP_RES_MAX])
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < GP_RES_MAX; r++)
		if (r != GP_RES_ESTABLISHED)
			n += results[r];
	return n;
}

double gp_top_quantile(const uint64_t buckets[GP_HIST_SLOTS], double q, uint64_t *n)
{
	uint64_t total = 0, cum = 0;
	double rank, lower, upper;
	unsigned b;

	for (b = 0; b < GP_HIST_SLOTS; b++)
		total += buckets[b];
	*n = total;
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (b = 0; b < GP_HIST_SLOTS; b++) {
		if (buckets[b] && (double)(cum + buckets[b]) >= rank)
			break;
		cum += buckets[b];
	}
	if (b >= GP_HIST_NB)	/* +Inf: nothing to interpolate towards */
		return (double)gp_hist_bound_ns(GP_HIST_NB - 1);
	lower = b ? (double)gp_hist_bound_ns(b - 1) : 0;
	upper = (double)gp_hist_bound_ns(b);
	/* Multiply before dividing: exact bounds stay exact. */
	return lower + (upper - lower) * (rank - (double)cum) / (double)buckets[b];
}

int gp_top_model_init(struct gp_top_model *m, const struct gp_top_config *cfg)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	if (m->cfg.recent > GP_TOP_RECENT_MAX)
		m->cfg.recent = GP_TOP_RECENT_MAX;
	snprintf(m->classifier, sizeof(m->classifier), "%s", cfg->classifier ? cfg->classifier : "");
	m->cfg.classifier = m->classifier;
	m->now_ns = cfg->started_ns;
	m->sort_col = GP_TOP_COL_DIR;
	if (m->cfg.recent) {
		m->ring = calloc(m->cfg.recent, sizeof(*m->ring));
		if (!m->ring)
			return -ENOMEM;
	}
	return 0;
}

void gp_top_model_free(struct gp_top_model *m)
{
	free(m->prev);
	free(m->rows);
	free(m->view);
	free(m->verdicts);
	free(m->prev_reqs);
	free(m->reqs);
	free(m->req_view);
	free(m->ring);
	memset(m, 0, sizeof(*m));
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	/* Counters only grow; a smaller value means they started over. */
	return now >= before ? now - before : now;
}

static double per_sec(uint64_t n, uint64_t window_ns)
{
	return window_ns ? (double)n * 1e9 / (double)window_ns : 0;
}

/* Percentiles over the window (bucket deltas from before; NULL: none) and since start. */
static void percentiles(const uint64_t now[GP_HIST_SLOTS], const uint64_t *before,
			double p_win[GP_TOP_NQ], double p_all[GP_TOP_NQ], uint64_t *win_n,
			uint64_t *all_n)
{
	uint64_t win[GP_HIST_SLOTS];
	unsigned b;
	int i;

	for (b = 0; b < GP_HIST_SLOTS; b++)
		win[b] = delta(now[b], before ? before[b] : 0);
	for (i = 0; i < GP_TOP_NQ; i++) {
		p_win[i] = gp_top_quantile(win, quantiles[i], win_n);
		p_all[i] = gp_top_quantile(now, quantiles[i], all_n);
	}
}

static void fill_row(struct gp_top_row *r, const struct gp_tag_stats *t,
		     const struct gp_tag_stats *p, uint64_t window_ns)
{
	uint64_t fails_before = 0, conns_before = 0;
	int i;

	memset(r, 0, sizeof(*r));
	r->dir = t->dir;
	memcpy(r->alpn, t->alpn, sizeof(r->alpn));
	memcpy(r->gray, t->gray, sizeof(r->gray));
	for (i = 0; i < GP_RES_MAX; i++) {
		r->conns += t->results[i];
		conns_before += p ? p->results[i] : 0;
	}
	r->fails = gp_top_failures(t->results);
	fails_before = p ? gp_top_failures(p->results) : 0;
	r->bytes = t->bytes;
	r->win_conns = delta(r->conns, conns_before);
	r->win_fails = delta(r->fails, fails_before);
	r->win_bytes = delta(r->bytes, p ? p->bytes : 0);
	r->conn_rate = per_sec(r->win_conns, window_ns);
	r->fail_rate = per_sec(r->win_fails, window_ns);
	r->bytes_rate = per_sec(r->win_bytes, window_ns);
	percentiles(t->buckets, p ? p->buckets : NULL, r->p_win, r->p_all, &r->win_samples,
		    &r->samples);
}

uint64_t gp_top_req_errors(const struct gp_req_stats *r, uint64_t *total)
{
	uint64_t n = 0, all = 0;
	unsigned i;

	if (r->grpc) {
		for (i = 0; i < GP_GRPC_SLOTS; i++) {
			all += r->grpc_status[i];
			n += i ? r->grpc_status[i] : 0;	/* 0 is OK */
		}
	} else {
		for (i = 0; i < GP_CODE_MAX; i++) {
			all += r->codes[i];
			if (i == GP_CODE_5XX || i == GP_CODE_RESET || i == GP_CODE_NONE)
				n += r->codes[i];
		}
	}
	*total = all;
	return n;
}

static void fill_req(struct gp_top_req_row *r, const struct gp_req_stats *t,
		     const struct gp_req_stats *p, uint64_t window_ns)
{
	uint64_t reqs_before = 0, errs_before = 0;

	memset(r, 0, sizeof(*r));
	r->dir = t->dir;
	r->grpc = !!t->grpc;
	snprintf(r->alpn, sizeof(r->alpn), "%s", t->grpc ? "grpc" : t->alpn);
	memcpy(r->gray, t->gray, sizeof(r->gray));
	r->errs = gp_top_req_errors(t, &r->reqs);
	if (p)
		errs_before = gp_top_req_errors(p, &reqs_before);
	r->win_reqs = delta(r->reqs, reqs_before);
	r->win_errs = delta(r->errs, errs_before);
	r->req_rate = per_sec(r->win_reqs, window_ns);
	percentiles(t->buckets, p ? p->buckets : NULL, r->p_win, r->p_all, &r->win_samples,
		    &r->samples);
}

/* The snapshot's order of requests: direction, gRPC or not, alpn, gray. */
static int req_cmp(const void *a, const void *b)
{
	const struct gp_req_stats *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (!x->grpc != !y->grpc)
		return x->grpc ? 1 : -1;
	r = strcmp(x->alpn, y->alpn);
	return r ? r : strcmp(x->gray, y->gray);
}

static int req_row_cmp(const void *a, const void *b)
{
	const struct gp_top_req_row *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->grpc != y->grpc)
		return x->grpc ? 1 : -1;
	r = strcmp(x->alpn, y->alpn);
	return r ? r : strcmp(x->gray, y->gray);
}

/* The request row of r's (direction, grpc, alpn) and gray, or NULL. */
static const struct gp_top_req_row *req_find(const struct gp_top_model *m,
					     const struct gp_top_req_row *r, const char *gray)
{
	struct gp_top_req_row key;

	if (!m->n_reqs)
		return NULL;
	key.dir = r->dir;
	key.grpc = r->grpc;
	memcpy(key.alpn, r->alpn, sizeof(key.alpn));
	snprintf(key.gray, sizeof(key.gray), "%s", gray);
	return bsearch(&key, m->reqs, m->n_reqs, sizeof(*m->reqs), req_row_cmp);
}

static int is_overflow(const struct gp_top_row *r)
{
	return !strcmp(r->alpn, GP_OVERFLOW_TAG) && !strcmp(r->gray, GP_OVERFLOW_TAG);
}

static int row_gp_tag_cmp(const struct gp_top_row *x, const struct gp_top_row *y)
{
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	r = strcmp(x->alpn, y->alpn);
	return r ? r : strcmp(x->gray, y->gray);
}

/* The stable row of r's (direction, alpn): rows[] is in name order. */
static const struct gp_top_row *stable_of(const struct gp_top_model *m, const struct gp_top_row *r)
{
	struct gp_top_row key;
	size_t lo = 0, hi = m->n_rows;

	key.dir = r->dir;
	memcpy(key.alpn, r->alpn, sizeof(key.alpn));
	strcpy(key.gray, "stable");
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = row_gp_tag_cmp(&m->rows[mid], &key);

		if (!c)
			return &m->rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int word_match(unsigned dir, const char *alpn, const char *gray, const char *w, size_t n)
{
	char word[GP_TOP_FILTER_MAX + 1];

	if (n > GP_TOP_FILTER_MAX)
		n = GP_TOP_FILTER_MAX;
	memcpy(word, w, n);
	word[n] = '\0';
	return strcasestr(gp_direction_name(dir), word) || strcasestr(alpn, word) ||
	       strcasestr(gray, word);
}

static int passes(const struct gp_top_model *m, unsigned dir, const char *alpn, const char *gray)
{
	const char *s = m->filter;

	for (;;) {
		size_t n;

		s += strspn(s, " \t");
		if (!*s)
			return 1;
		n = strcspn(s, " \t");
		if (!word_match(dir, alpn, gray, s, n))
			return 0;
		s += n;
	}
}

/* One signal of one side: samples and value over the window and since start. */
struct side {
	uint64_t win_n, all_n;
	double win_v, all_v;
};

static double pct(uint64_t n, uint64_t of)
{
	return of ? (double)n * 100.0 / (double)of : 0;
}

/* Compared over the window (1), since start (0), or not at all (-1). */
static int span_of(const struct gp_top_model *m, struct gp_top_verdict *v, const struct side *g,
		   const struct side *s)
{
	uint64_t min = m->cfg.min_samples ? m->cfg.min_samples : 1;

	if (g->win_n >= min && s->win_n >= min)
		return 1;
	if (g->all_n >= min && s->all_n >= min)
		return 0;
	if (g->all_n && s->all_n)
		v->short_of = (unsigned)min;
	return -1;
}

static void judge(const struct gp_top_model *m, struct gp_top_verdict *v, const struct side p99[2],
		  const struct side fail[2])
{
	int w = span_of(m, v, &p99[0], &p99[1]);

	if (w >= 0) {
		v->p99_window = w;
		v->gray_p99 = w ? p99[0].win_v : p99[0].all_v;
		v->stable_p99 = w ? p99[1].win_v : p99[1].all_v;
		/* Interpolation never yields 0 for a sample, but a hand-made histogram might. */
		v->p99_known = v->stable_p99 > 0;
	}
	if (v->p99_known) {
		v->p99_delta_pct = (v->gray_p99 - v->stable_p99) * 100.0 / v->stable_p99;
		if (v->p99_delta_pct > m->cfg.p99_delta_pct + GP_TOP_EPS)
			v->flags |= GP_TOP_FLAG_P99;
	}
	w = span_of(m, v, &fail[0], &fail[1]);
	if (w >= 0) {
		v->fail_known = 1;
		v->fail_window = w;
		v->gray_fail_pct = w ? fail[0].win_v : fail[0].all_v;
		v->stable_fail_pct = w ? fail[1].win_v : fail[1].all_v;
		v->fail_delta_pp = v->gray_fail_pct - v->stable_fail_pct;
		if (v->fail_delta_pp > m->cfg.fail_delta_pp + GP_TOP_EPS)
			v->flags |= GP_TOP_FLAG_FAIL;
	}
}

/* Connections: connect latency of established ones, failed attempts of all. */
static void conn_sides(const struct gp_top_row *r, struct side *p99, struct side *fail)
{
	*p99 = (struct side){ r->win_samples, r->samples, r->p_win[GP_TOP_P99], r->p_all[GP_TOP_P99] };
	*fail = (struct side){ r->win_conns, r->conns, pct(r->win_fails, r->win_conns),
			       pct(r->fails, r->conns) };
}

/* Requests: time to first response byte, errors of all. */
static void req_sides(const struct gp_top_req_row *r, struct side *p99, struct side *fail)
{
	*p99 = (struct side){ r->win_samples, r->samples, r->p_win[GP_TOP_P99], r->p_all[GP_TOP_P99] };
	*fail = (struct side){ r->win_reqs, r->reqs, pct(r->win_errs, r->win_reqs),
			       pct(r->errs, r->reqs) };
}

static int sort_cmp(const void *a, const void *b, void *ctx)
{
	const struct gp_top_model *m = ctx;
	const struct gp_top_row *x = &m->rows[*(const size_t *)a], *y = &m->rows[*(const size_t *)b];
	double vx = 0, vy = 0;
	int hx = 1, hy = 1, r = 0;

	switch (m->sort_col) {
	case GP_TOP_COL_ALPN:
		r = strcmp(x->alpn, y->alpn);
		if (!r)
			r = strcmp(x->gray, y->gray);
		break;
	case GP_TOP_COL_GRAY:
		r = strcmp(x->gray, y->gray);
		break;
	case GP_TOP_COL_CONN:
		vx = x->conn_rate, vy = y->conn_rate;
		break;
	case GP_TOP_COL_FAIL:
		vx = x->fail_rate, vy = y->fail_rate;
		break;
	case GP_TOP_COL_P50:
	case GP_TOP_COL_P90:
	case GP_TOP_COL_P99:
		vx = x->p_win[m->sort_col - GP_TOP_COL_P50], hx = x->win_samples > 0;
		vy = y->p_win[m->sort_col - GP_TOP_COL_P50], hy = y->win_samples > 0;
		break;
	case GP_TOP_COL_P50_ALL:
	case GP_TOP_COL_P90_ALL:
	case GP_TOP_COL_P99_ALL:
		vx = x->p_all[m->sort_col - GP_TOP_COL_P50_ALL], hx = x->samples > 0;
		vy = y->p_all[m->sort_col - GP_TOP_COL_P50_ALL], hy = y->samples > 0;
		break;
	case GP_TOP_COL_BYTES:
		vx = x->bytes_rate, vy = y->bytes_rate;
		break;
	default:
		break;
	}
	/* A percentile without samples has no value: last either way. */
	if (hx != hy)
		return hx ? -1 : 1;
	if (!r && vx != vy)
		r = vx < vy ? -1 : 1;
	if (r)
		return m->sort_desc ? -r : r;
	/* Ties keep name order whatever the direction, so rows do not jump about. */
	return row_gp_tag_cmp(x, y);
}

/*
 * A gray's requests decide when it and its stable both have some. Requests
 * whose headers could not be read (gray "unknown") are no canary.
 */
static const struct gp_top_req_row *req_stable(const struct gp_top_model *m,
					       const struct gp_top_req_row *r)
{
	const struct gp_top_req_row *s;

	if (!r->reqs || !strcmp(r->gray, "stable") || !strcmp(r->gray, GP_TOP_GRAY_UNKNOWN))
		return NULL;
	s = req_find(m, r, "stable");
	return s && s->reqs ? s : NULL;
}

static void add_verdict(struct gp_top_model *m, enum gp_top_by by, size_t g, size_t s)
{
	struct gp_top_verdict *v = &m->verdicts[m->n_verdicts++];
	struct side p99[2], fail[2];

	memset(v, 0, sizeof(*v));
	v->by = by;
	v->gray_row = g;
	v->stable_row = s;
	if (by == GP_TOP_BY_CONN) {
		conn_sides(&m->rows[g], &p99[0], &fail[0]);
		conn_sides(&m->rows[s], &p99[1], &fail[1]);
	} else {
		req_sides(&m->reqs[g], &p99[0], &fail[0]);
		req_sides(&m->reqs[s], &p99[1], &fail[1]);
	}
	judge(m, v, p99, fail);
}

/* Whether the connection row r has requests that decide instead. */
static int judged_by_requests(const struct gp_top_model *m, const struct gp_top_row *r)
{
	struct gp_top_req_row key;
	const struct gp_top_req_row *q;

	memset(&key, 0, sizeof(key));
	key.dir = r->dir;
	memcpy(key.alpn, r->alpn, sizeof(key.alpn));
	q = req_find(m, &key, r->gray);
	return q && req_stable(m, q);
}

/*
 * Where requests decide, a gray's connections still speak for the attempts
 * that never became a request (refused, timed out): the last verdict stays
 * only as a failure verdict, without its connect-latency part.
 */
static void keep_conn_failures(struct gp_top_model *m)
{
	struct gp_top_verdict *v = &m->verdicts[m->n_verdicts - 1];

	v->flags &= ~GP_TOP_FLAG_P99;
	v->p99_known = 0;
	if (!(v->flags & GP_TOP_FLAG_FAIL))
		m->n_verdicts--;
}

static void count_tags(struct gp_top_model *m, const struct gp_tag_stats *tags,
		       const struct gp_top_row *rows, size_t n)
{
	size_t i;

	memset(m->tags_in_use, 0, sizeof(m->tags_in_use));
	for (i = 0; i < n; i++)
		/* What --max-tags bounds: pinned tags do not count. */
		if (!is_overflow(&rows[i]) && !tags[i].pinned && rows[i].dir < GP_DIR_MAX)
			m->tags_in_use[rows[i].dir]++;
}

/* The views and the verdicts, after new rows, a new sort or a new filter. */
static void rebuild(struct gp_top_model *m)
{
	size_t i;

	m->n_view = m->n_req_view = m->n_verdicts = 0;
	for (i = 0; i < m->n_reqs; i++) {
		const struct gp_top_req_row *r = &m->reqs[i], *s;

		if (!passes(m, r->dir, r->alpn, r->gray))
			continue;
		m->req_view[m->n_req_view++] = i;
		s = req_stable(m, r);
		if (s)
			add_verdict(m, r->grpc ? GP_TOP_BY_GRPC : GP_TOP_BY_HTTP, i,
				    (size_t)(s - m->reqs));
	}
	for (i = 0; i < m->n_rows; i++) {
		const struct gp_top_row *r = &m->rows[i], *s;

		if (!passes(m, r->dir, r->alpn, r->gray))
			continue;
		m->view[m->n_view++] = i;
		if (!strcmp(r->gray, "stable") || !(s = stable_of(m, r)))
			continue;
		add_verdict(m, GP_TOP_BY_CONN, i, (size_t)(s - m->rows));
		if (judged_by_requests(m, r))
			keep_conn_failures(m);
	}
	if (m->n_view)	/* view is NULL without rows */
		qsort_r(m->view, m->n_view, sizeof(*m->view), sort_cmp, m);
}

void gp_top_verdict_names(const struct gp_top_model *m, const struct gp_top_verdict *v,
			  unsigned *dir, const char **alpn, const char **gray)
{
	if (v->by == GP_TOP_BY_CONN) {
		*dir = m->rows[v->gray_row].dir;
		*alpn = m->rows[v->gray_row].alpn;
		*gray = m->rows[v->gray_row].gray;
	} else {
		*dir = m->reqs[v->gray_row].dir;
		*alpn = m->reqs[v->gray_row].alpn;
		*gray = m->reqs[v->gray_row].gray;
	}
}

/* The requests of a snapshot: rows (window from the previous one) and a view. */
static int take_reqs(struct gp_top_model *m, const struct gp_snapshot *s, uint64_t window_ns)
{
	struct gp_req_stats *prev = NULL;
	struct gp_top_req_row *rows = NULL;
	size_t *view = NULL, i, n = s->reqs ? s->n_reqs : 0;
	unsigned d, k;

	if (n) {
		prev = malloc(n * sizeof(*prev));
		rows = calloc(n, sizeof(*rows));
		view = calloc(n, sizeof(*view));
		if (!prev || !rows || !view) {
			free(prev);
			free(rows);
			free(view);
			return -ENOMEM;
		}
		memcpy(prev, s->reqs, n * sizeof(*prev));
		qsort(prev, n, sizeof(*prev), req_cmp);
	}
	for (i = 0; i < n; i++) {
		const struct gp_req_stats *p = m->n_prev_reqs ?
			bsearch(&prev[i], m->prev_reqs, m->n_prev_reqs, sizeof(*prev), req_cmp) : NULL;

		fill_req(&rows[i], &prev[i], p, window_ns);
	}
	m->undecoded = 0;
	for (d = 0; d < GP_DIR_MAX; d++)
		for (k = 0; k < GP_REQ_UNDECODED_MAX; k++)
			m->undecoded += s->req_undecoded[d][k];
	free(m->prev_reqs);
	free(m->reqs);
	free(m->req_view);
	m->prev_reqs = prev;
	m->n_prev_reqs = n;
	m->reqs = rows;
	m->n_reqs = n;
	m->req_view = view;
	return 0;
}

/* The snapshot's agent-wide figures, and the window they were taken over. */
static void take_totals(struct gp_top_model *m, const struct gp_snapshot *s, uint64_t window_ns,
			uint64_t now_ns)
{
	m->version = s->version;
	m->connect_hook = s->connect_hook;
	m->state_hook = s->state_hook;
	m->events = s->events;
	m->events_rate = per_sec(delta(s->events, m->prev_events), window_ns);
	m->prev_events = s->events;
	m->lost = s->lost_ringbuf + s->lost_track + s->lost_malformed;
	m->lost_payload = s->lost_payload;
	m->overflow = s->tags_overflow + s->req_overflow;
	m->window_ns = window_ns;
	m->now_ns = now_ns;
	m->updated = 1;
}

int gp_top_model_update(struct gp_top_model *m, const struct gp_snapshot *s, uint64_t now_ns)
{
	struct gp_tag_stats *prev = NULL;
	struct gp_top_row *rows = NULL;
	struct gp_top_verdict *verdicts = NULL;
	size_t *view = NULL, i, n = s->n_tags, nv = n + (s->reqs ? s->n_reqs : 0);
	uint64_t window_ns = now_ns > m->now_ns ? now_ns - m->now_ns : 0;
	int err = -ENOMEM;

	if (n) {
		prev = malloc(n * sizeof(*prev));
		rows = calloc(n, sizeof(*rows));
		view = calloc(n, sizeof(*view));
		if (!prev || !rows || !view)
			goto cleanup;
		memcpy(prev, s->tags, n * sizeof(*prev));
		/* Name order, whatever the caller's: lookups below are binary searches. */
		qsort(prev, n, sizeof(*prev), gp_tag_cmp);
	}
	if (nv && !(verdicts = calloc(nv, sizeof(*verdicts))))
		goto cleanup;
	err = take_reqs(m, s, window_ns);
	if (err)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct gp_tag_stats *p = m->n_prev ?
			bsearch(&prev[i], m->prev, m->n_prev, sizeof(*m->prev), gp_tag_cmp) : NULL;

		fill_row(&rows[i], &prev[i], p, window_ns);
	}
	count_tags(m, prev, rows, n);
	take_totals(m, s, window_ns, now_ns);

	free(m->prev);
	free(m->rows);
	free(m->view);
	free(m->verdicts);
	m->prev = prev;
	m->n_prev = n;
	m->rows = rows;
	m->n_rows = n;
	m->view = view;
	m->verdicts = verdicts;
	rebuild(m);
	return 0;
cleanup:
	free(prev);
	free(rows);
	free(view);
	free(verdicts);
	return err;
}

void gp_top_model_conn(struct gp_top_model *m, const struct gp_conn *c)
{
	if (!m->cfg.recent)
		return;
	m->ring[m->ring_head] = *c;
	m->ring_head = (m->ring_head + 1) % m->cfg.recent;
	if (m->ring_len < m->cfg.recent)
		m->ring_len++;
}

const struct gp_conn *gp_top_model_recent(const struct gp_top_model *m, size_t i)
{
	size_t cap = m->cfg.recent;

	if (i >= m->ring_len)
		return NULL;
	return &m->ring[(m->ring_head + cap - 1 - i) % cap];
}

void gp_top_model_set_sort(struct gp_top_model *m, enum gp_top_col col, int desc)
{
	if ((unsigned)col >= GP_TOP_COL_MAX)
		return;
	m->sort_col = col;
	m->sort_desc = !!desc;
	rebuild(m);
}

void gp_top_model_sort(struct gp_top_model *m, enum gp_top_col col)
{
	if (col == m->sort_col)
		gp_top_model_set_sort(m, col, !m->sort_desc);
	else	/* busiest, slowest first; names A to Z */
		gp_top_model_set_sort(m, col, col > GP_TOP_COL_GRAY);
}

void gp_top_model_filter(struct gp_top_model *m, const char *filter)
{
	snprintf(m->filter, sizeof(m->filter), "%s", filter ? filter : "");
	rebuild(m);
}
