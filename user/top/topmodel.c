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

static void fill_row(struct gp_top_row *r, const struct gp_tag_stats *t,
		     const struct gp_tag_stats *p, uint64_t window_ns)
{
	uint64_t win[GP_HIST_SLOTS], fails_before = 0, conns_before = 0, n;
	unsigned b;
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
	for (b = 0; b < GP_HIST_SLOTS; b++)
		win[b] = delta(t->buckets[b], p ? p->buckets[b] : 0);
	r->win_conns = delta(r->conns, conns_before);
	r->win_fails = delta(r->fails, fails_before);
	r->win_bytes = delta(r->bytes, p ? p->bytes : 0);
	r->conn_rate = per_sec(r->win_conns, window_ns);
	r->fail_rate = per_sec(r->win_fails, window_ns);
	r->bytes_rate = per_sec(r->win_bytes, window_ns);
	for (i = 0; i < GP_TOP_NQ; i++) {
		r->p_win[i] = gp_top_quantile(win, quantiles[i], &n);
		r->win_samples = n;
		r->p_all[i] = gp_top_quantile(t->buckets, quantiles[i], &n);
		r->samples = n;
	}
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

static int word_match(const struct gp_top_row *r, const char *w, size_t n)
{
	char word[GP_TOP_FILTER_MAX + 1];

	if (n > GP_TOP_FILTER_MAX)
		n = GP_TOP_FILTER_MAX;
	memcpy(word, w, n);
	word[n] = '\0';
	return strcasestr(gp_direction_name(r->dir), word) || strcasestr(r->alpn, word) ||
	       strcasestr(r->gray, word);
}

static int passes(const struct gp_top_model *m, const struct gp_top_row *r)
{
	const char *s = m->filter;

	for (;;) {
		size_t n;

		s += strspn(s, " \t");
		if (!*s)
			return 1;
		n = strcspn(s, " \t");
		if (!word_match(r, s, n))
			return 0;
		s += n;
	}
}

static void judge(const struct gp_top_model *m, struct gp_top_verdict *v,
		  const struct gp_top_row *g, const struct gp_top_row *s)
{
	if (g->win_samples && s->win_samples) {
		v->p99_known = v->p99_window = 1;
		v->gray_p99 = g->p_win[GP_TOP_P99];
		v->stable_p99 = s->p_win[GP_TOP_P99];
	} else if (g->samples && s->samples) {
		v->p99_known = 1;
		v->gray_p99 = g->p_all[GP_TOP_P99];
		v->stable_p99 = s->p_all[GP_TOP_P99];
	}
	/* Interpolation never yields 0 for a sample, but a hand-made histogram might. */
	if (v->p99_known && v->stable_p99 <= 0)
		v->p99_known = 0;
	if (v->p99_known) {
		v->p99_delta_pct = (v->gray_p99 - v->stable_p99) * 100.0 / v->stable_p99;
		if (v->p99_delta_pct > m->cfg.p99_delta_pct + GP_TOP_EPS)
			v->flags |= GP_TOP_FLAG_P99;
	}
	if (g->win_conns && s->win_conns) {
		v->fail_known = v->fail_window = 1;
		v->gray_fail_pct = (double)g->win_fails * 100.0 / (double)g->win_conns;
		v->stable_fail_pct = (double)s->win_fails * 100.0 / (double)s->win_conns;
	} else if (g->conns && s->conns) {
		v->fail_known = 1;
		v->gray_fail_pct = (double)g->fails * 100.0 / (double)g->conns;
		v->stable_fail_pct = (double)s->fails * 100.0 / (double)s->conns;
	}
	if (v->fail_known) {
		v->fail_delta_pp = v->gray_fail_pct - v->stable_fail_pct;
		if (v->fail_delta_pp > m->cfg.fail_delta_pp + GP_TOP_EPS)
			v->flags |= GP_TOP_FLAG_FAIL;
	}
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

/* The view and the verdicts, after new rows, a new sort or a new filter. */
static void rebuild(struct gp_top_model *m)
{
	size_t i;

	m->n_view = m->n_verdicts = 0;
	for (i = 0; i < m->n_rows; i++) {
		const struct gp_top_row *r = &m->rows[i], *s;

		if (!passes(m, r))
			continue;
		m->view[m->n_view++] = i;
		if (!strcmp(r->gray, "stable"))
			continue;
		s = stable_of(m, r);
		if (s) {
			struct gp_top_verdict *v = &m->verdicts[m->n_verdicts++];

			memset(v, 0, sizeof(*v));
			v->gray_row = i;
			v->stable_row = (size_t)(s - m->rows);
			judge(m, v, r, s);
		}
	}
	if (m->n_view)	/* view is NULL without rows */
		qsort_r(m->view, m->n_view, sizeof(*m->view), sort_cmp, m);
}

int gp_top_model_update(struct gp_top_model *m, const struct gp_snapshot *s, uint64_t now_ns)
{
	struct gp_tag_stats *prev = NULL;
	struct gp_top_row *rows = NULL;
	struct gp_top_verdict *verdicts = NULL;
	size_t *view = NULL, i, n = s->n_tags;
	uint64_t window_ns;
	int err = -ENOMEM;

	if (n) {
		prev = malloc(n * sizeof(*prev));
		rows = calloc(n, sizeof(*rows));
		view = calloc(n, sizeof(*view));
		verdicts = calloc(n, sizeof(*verdicts));
		if (!prev || !rows || !view || !verdicts)
			goto cleanup;
		memcpy(prev, s->tags, n * sizeof(*prev));
		/* Name order, whatever the caller's: lookups below are binary searches. */
		qsort(prev, n, sizeof(*prev), gp_tag_cmp);
	}
	window_ns = now_ns > m->now_ns ? now_ns - m->now_ns : 0;
	for (i = 0; i < n; i++) {
		const struct gp_tag_stats *p = m->n_prev ?
			bsearch(&prev[i], m->prev, m->n_prev, sizeof(*m->prev), gp_tag_cmp) : NULL;

		fill_row(&rows[i], &prev[i], p, window_ns);
	}
	memset(m->tags_in_use, 0, sizeof(m->tags_in_use));
	for (i = 0; i < n; i++)
		/* What --max-tags bounds: pinned tags do not count. */
		if (!is_overflow(&rows[i]) && !prev[i].pinned && rows[i].dir < GP_DIR_MAX)
			m->tags_in_use[rows[i].dir]++;

	m->version = s->version;
	m->connect_hook = s->connect_hook;
	m->state_hook = s->state_hook;
	m->events = s->events;
	m->events_rate = per_sec(delta(s->events, m->prev_events), window_ns);
	m->prev_events = s->events;
	m->lost = s->lost_ringbuf + s->lost_track + s->lost_malformed;
	m->lost_payload = s->lost_payload;
	m->overflow = s->tags_overflow;
	m->window_ns = window_ns;
	m->now_ns = now_ns;
	m->updated = 1;

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
