// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `grayprobe top` as text: the layout and every line of the view. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "top/toptext.h"

#define NAME_MIN	8	/* alpn and gray, before columns are dropped */
#define ADDR_W		21	/* "255.255.255.255:65535" */

static const unsigned num_w[GP_TOP_COL_MAX] = {
	[GP_TOP_COL_CONN] = 7, [GP_TOP_COL_FAIL] = 7,
	[GP_TOP_COL_P50] = 7, [GP_TOP_COL_P90] = 7, [GP_TOP_COL_P99] = 7,
	[GP_TOP_COL_P50_ALL] = 7, [GP_TOP_COL_P90_ALL] = 7, [GP_TOP_COL_P99_ALL] = 7,
	[GP_TOP_COL_BYTES] = 8,
};

static const enum gp_top_col drop_order[] = {
	GP_TOP_COL_P90_ALL, GP_TOP_COL_P50_ALL, GP_TOP_COL_P99_ALL, GP_TOP_COL_BYTES,
	GP_TOP_COL_P90, GP_TOP_COL_P50, GP_TOP_COL_FAIL,
};

/* A line being built: columns placed at x, the whole cut to width at the end. */
struct line {
	char *buf;
	size_t len;
	unsigned width;
};

static void line_start(struct line *ln, char *buf, unsigned width)
{
	ln->buf = buf;
	ln->len = 0;
	ln->width = width;
	buf[0] = '\0';
}

static void line_pad(struct line *ln, size_t x)
{
	while (ln->len < x && ln->len < GP_TOP_LINE_MAX - 1)
		ln->buf[ln->len++] = ' ';
	ln->buf[ln->len] = '\0';
}

static void line_add(struct line *ln, const char *s, size_t n)
{
	if (n > GP_TOP_LINE_MAX - 1 - ln->len)
		n = GP_TOP_LINE_MAX - 1 - ln->len;
	memcpy(ln->buf + ln->len, s, n);
	ln->len += n;
	ln->buf[ln->len] = '\0';
}

static void __attribute__((format(printf, 2, 3))) line_printf(struct line *ln, const char *fmt, ...)
{
	char tmp[GP_TOP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_add(ln, tmp, strlen(tmp));
}

/* s in a column of w at x: right-aligned, or left and cut with '~' when too long. */
static void line_col(struct line *ln, unsigned x, unsigned w, int right, const char *s)
{
	size_t n = strlen(s);

	line_pad(ln, x);
	if (n > w) {
		line_add(ln, s, w ? w - 1 : 0);
		line_add(ln, "~", w ? 1 : 0);
		return;
	}
	if (right)
		line_pad(ln, x + w - n);
	line_add(ln, s, n);
}

static void line_end(struct line *ln)
{
	if (ln->width && ln->len > ln->width)
		ln->len = ln->width;
	while (ln->len && ln->buf[ln->len - 1] == ' ')
		ln->len--;
	ln->buf[ln->len] = '\0';
}

static const char *dir_short(unsigned dir)
{
	return dir == GP_DIR_INBOUND ? "in" : "out";
}

void gp_top_fmt_latency(char *buf, size_t len, double ns)
{
	double us = ns / 1e3, ms = ns / 1e6, s = ns / 1e9;

	/* Thresholds just under the next unit, so rounding never adds a digit. */
	if (us < 9.995)
		snprintf(buf, len, "%.2fus", us);
	else if (us < 99.95)
		snprintf(buf, len, "%.1fus", us);
	else if (us < 999.5)
		snprintf(buf, len, "%.0fus", us);
	else if (ms < 9.995)
		snprintf(buf, len, "%.2fms", ms);
	else if (ms < 99.95)
		snprintf(buf, len, "%.1fms", ms);
	else if (ms < 999.5)
		snprintf(buf, len, "%.0fms", ms);
	else if (s < 9.995)
		snprintf(buf, len, "%.2fs", s);
	else if (s < 99.95)
		snprintf(buf, len, "%.1fs", s);
	else
		snprintf(buf, len, "%.0fs", s);
}

void gp_top_fmt_rate(char *buf, size_t len, double v)
{
	if (v <= 0)
		snprintf(buf, len, "0");
	else if (v < 9.995)
		snprintf(buf, len, "%.2f", v);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f", v);
	else if (v < 99999.5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 99999.5e3)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else
		snprintf(buf, len, "%.0fM", v / 1e6);
}

void gp_top_fmt_bytes(char *buf, size_t len, double v)
{
	if (v < 999.5)
		snprintf(buf, len, "%.0f", v < 0 ? 0 : v);
	else if (v < 999.95e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 999.95e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fG", v / 1e9);
}

static void fmt_window(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%.1fs", (double)ns / 1e9);
}

/* The request columns after the names, as many as the width takes. */
static void req_layout(struct gp_top_layout *l)
{
	static const enum gp_top_rcol drop[] = {
		GP_TOP_RCOL_ERR_ALL, GP_TOP_RCOL_P99_ALL, GP_TOP_RCOL_P90, GP_TOP_RCOL_P50,
	};
	unsigned x = l->x[GP_TOP_COL_GRAY] + l->w[GP_TOP_COL_GRAY], total = x, i;
	int c;

	for (c = 0; c < GP_TOP_RCOL_MAX; c++) {
		l->rshow[c] = 1;
		l->rw[c] = 7;
		total += 1 + l->rw[c];
	}
	for (i = 0; l->width && total > l->width && i < sizeof(drop) / sizeof(drop[0]); i++) {
		l->rshow[drop[i]] = 0;
		total -= 1 + l->rw[drop[i]];
	}
	for (c = 0; c < GP_TOP_RCOL_MAX; c++) {
		if (!l->rshow[c])
			continue;
		l->rx[c] = x + 1;
		x += 1 + l->rw[c];
	}
}

void gp_top_layout(struct gp_top_layout *l, const struct gp_top_model *m, unsigned width)
{
	unsigned wa = 4, wg = 4, total, x, i;
	size_t r;
	int c;

	memset(l, 0, sizeof(*l));
	l->width = width;
	for (r = 0; r < m->n_rows + m->n_reqs; r++) {
		const char *an = r < m->n_rows ? m->rows[r].alpn : m->reqs[r - m->n_rows].alpn;
		const char *gn = r < m->n_rows ? m->rows[r].gray : m->reqs[r - m->n_rows].gray;
		unsigned a = strlen(an), g = strlen(gn);

		wa = a > wa ? a : wa;
		wg = g > wg ? g : wg;
	}
	for (c = 0; c < GP_TOP_COL_MAX; c++)
		l->show[c] = 1;
	l->w[GP_TOP_COL_DIR] = 3;
	l->w[GP_TOP_COL_ALPN] = width && wa > NAME_MIN ? NAME_MIN : wa;
	l->w[GP_TOP_COL_GRAY] = width && wg > NAME_MIN ? NAME_MIN : wg;
	total = 3 + 1 + l->w[GP_TOP_COL_ALPN] + 1 + l->w[GP_TOP_COL_GRAY];
	for (c = GP_TOP_COL_CONN; c < GP_TOP_COL_MAX; c++)
		total += 1 + num_w[c];
	for (i = 0; width && total > width && i < sizeof(drop_order) / sizeof(drop_order[0]); i++) {
		l->show[drop_order[i]] = 0;
		total -= 1 + num_w[drop_order[i]];
	}
	/* What is left widens the names, a character each in turn. */
	while (width && total < width &&
	       (l->w[GP_TOP_COL_ALPN] < wa || l->w[GP_TOP_COL_GRAY] < wg)) {
		if (l->w[GP_TOP_COL_ALPN] < wa && (l->w[GP_TOP_COL_ALPN] <= l->w[GP_TOP_COL_GRAY] ||
						   l->w[GP_TOP_COL_GRAY] >= wg))
			l->w[GP_TOP_COL_ALPN]++;
		else
			l->w[GP_TOP_COL_GRAY]++;
		total++;
	}
	for (x = 0, c = 0; c < GP_TOP_COL_MAX; c++) {
		if (!l->show[c])
			continue;
		if (c > GP_TOP_COL_GRAY)
			l->w[c] = num_w[c];
		l->x[c] = x;
		x += l->w[c] + 1;
	}
	l->len = x - 1;
	req_layout(l);
}

void gp_top_fmt_header(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
		       int line)
{
	uint64_t up = m->now_ns > m->cfg.started_ns ? (m->now_ns - m->cfg.started_ns) / 1000000000u : 0;
	char rate[16], win[16];
	struct line ln;

	line_start(&ln, buf, l->width);
	if (line == 0) {
		line_printf(&ln, "grayprobe %s  up ", m->version ? m->version : "");
		if (up >= 86400)
			line_printf(&ln, "%" PRIu64 "d ", up / 86400);
		line_printf(&ln, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "  hooks connect=%s state=%s  tc %s",
			    up % 86400 / 3600, up % 3600 / 60, up % 60,
			    m->connect_hook ? m->connect_hook : "?", m->state_hook ? m->state_hook : "?",
			    m->classifier[0] ? m->classifier : "-");
	} else {
		gp_top_fmt_rate(rate, sizeof(rate), m->events_rate);
		fmt_window(win, sizeof(win), m->window_ns);
		line_printf(&ln, "events %" PRIu64 " (%s/s)  lost %" PRIu64, m->events, rate, m->lost);
		if (m->lost_payload)
			line_printf(&ln, " (+%" PRIu64 " payload)", m->lost_payload);
		if (m->undecoded)
			line_printf(&ln, "  undecoded %" PRIu64, m->undecoded);
		line_printf(&ln, "  tags %u/%u", m->tags_in_use[0] + m->tags_in_use[1],
			    GP_DIR_MAX * m->cfg.max_tags);
		if (m->overflow)
			line_printf(&ln, " (+%" PRIu64 " folded)", m->overflow);
		line_printf(&ln, "  window %s  sort %s %s", win, gp_top_col_name(m->sort_col),
			    m->sort_desc ? "desc" : "asc");
		if (m->filter[0])
			line_printf(&ln, "  /%s", m->filter);
	}
	line_end(&ln);
}

/* The shown columns from a to b: first column's x, past the last one's end. */
static int cols_span(const int *show, const unsigned *x, const unsigned *w, int a, int b,
		     unsigned *x0, unsigned *x1)
{
	int c, any = 0;

	for (c = a; c <= b; c++) {
		if (!show[c])
			continue;
		if (!any)
			*x0 = x[c];
		*x1 = x[c] + w[c];
		any = 1;
	}
	return any;
}

static int span(const struct gp_top_layout *l, int a, int b, unsigned *x0, unsigned *x1)
{
	return cols_span(l->show, l->x, l->w, a, b, x0, x1);
}

static int req_span(const struct gp_top_layout *l, int a, int b, unsigned *x0, unsigned *x1)
{
	return cols_span(l->rshow, l->rx, l->rw, a, b, x0, x1);
}

/* The first label that fits [x0, x1) centred in dashes, else one that fits bare. */
static void group(struct line *ln, unsigned x0, unsigned x1, const char *const *labels)
{
	unsigned w = x1 - x0, n, left, i;
	const char *const *p;

	for (p = labels; *p; p++) {
		n = strlen(*p);
		if (n + 2 > w)
			continue;
		left = (w - n - 2) / 2;
		line_pad(ln, x0);
		for (i = 0; i < left; i++)
			line_add(ln, "-", 1);
		line_printf(ln, " %s ", *p);
		for (i = left + n + 2; i < w; i++)
			line_add(ln, "-", 1);
		return;
	}
	for (p = labels; p[1] && strlen(*p) > w; p++)
		;
	line_col(ln, x0, w, 1, *p);
}

void gp_top_fmt_groups(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m)
{
	char win[24], last[32];
	const char *wl[] = { last, win, NULL }, *sl[] = { "since start", "start", NULL };
	unsigned x0, x1;
	struct line ln;

	fmt_window(win, sizeof(win), m->window_ns);
	snprintf(last, sizeof(last), "last %s", win);
	line_start(&ln, buf, l->width);
	if (span(l, GP_TOP_COL_P50, GP_TOP_COL_P99, &x0, &x1))
		group(&ln, x0 + 1, x1, wl);
	if (span(l, GP_TOP_COL_P50_ALL, GP_TOP_COL_P99_ALL, &x0, &x1))
		group(&ln, x0 + 1, x1, sl);
	line_end(&ln);
}

void gp_top_fmt_columns(char *buf, const struct gp_top_layout *l)
{
	static const char *const label[GP_TOP_COL_MAX] = {
		"dir", "alpn", "gray", "conn/s", "fail/s", "p50", "p90", "p99",
		"p50", "p90", "p99", "bytes/s",
	};
	struct line ln;
	int c;

	line_start(&ln, buf, l->width);
	for (c = 0; c < GP_TOP_COL_MAX; c++)
		if (l->show[c])
			line_col(&ln, l->x[c], l->w[c], c > GP_TOP_COL_GRAY, label[c]);
	line_end(&ln);
}

static void latency_or_dash(char *buf, size_t len, uint64_t samples, double ns)
{
	if (samples)
		gp_top_fmt_latency(buf, len, ns);
	else
		snprintf(buf, len, "-");
}

void gp_top_fmt_row(char *buf, const struct gp_top_layout *l, const struct gp_top_row *r)
{
	char v[GP_TOP_COL_MAX][16];
	struct line ln;
	int c, q;

	snprintf(v[GP_TOP_COL_DIR], sizeof(v[0]), "%s", dir_short(r->dir));
	gp_top_fmt_rate(v[GP_TOP_COL_CONN], sizeof(v[0]), r->conn_rate);
	gp_top_fmt_rate(v[GP_TOP_COL_FAIL], sizeof(v[0]), r->fail_rate);
	for (q = 0; q < GP_TOP_NQ; q++) {
		latency_or_dash(v[GP_TOP_COL_P50 + q], sizeof(v[0]), r->win_samples, r->p_win[q]);
		latency_or_dash(v[GP_TOP_COL_P50_ALL + q], sizeof(v[0]), r->samples, r->p_all[q]);
	}
	gp_top_fmt_bytes(v[GP_TOP_COL_BYTES], sizeof(v[0]), r->bytes_rate);
	line_start(&ln, buf, l->width);
	for (c = 0; c < GP_TOP_COL_MAX; c++) {
		if (!l->show[c])
			continue;
		line_col(&ln, l->x[c], l->w[c], c > GP_TOP_COL_GRAY,
			 c == GP_TOP_COL_ALPN ? r->alpn : c == GP_TOP_COL_GRAY ? r->gray : v[c]);
	}
	line_end(&ln);
}

void gp_top_fmt_req_groups(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m)
{
	char win[24], last[32];
	const char *wl[] = { last, win, NULL }, *sl[] = { "since start", "start", NULL };
	unsigned x0 = 0, x1 = 0;
	struct line ln;

	fmt_window(win, sizeof(win), m->window_ns);
	snprintf(last, sizeof(last), "last %s", win);
	line_start(&ln, buf, l->width);
	line_add(&ln, "requests", strlen("requests"));
	if (req_span(l, GP_TOP_RCOL_P50, GP_TOP_RCOL_P99, &x0, &x1) && x0 > ln.len + 1)
		group(&ln, x0 + 1, x1, wl);
	/* Two columns: from the first one's gap, or the label has no dash to its left. */
	if (req_span(l, GP_TOP_RCOL_ERR_ALL, GP_TOP_RCOL_P99_ALL, &x0, &x1))
		group(&ln, x0, x1, sl);
	line_end(&ln);
}

void gp_top_fmt_req_columns(char *buf, const struct gp_top_layout *l)
{
	static const char *const label[GP_TOP_RCOL_MAX] = {
		"req/s", "err%", "p50", "p90", "p99", "err%", "p99",
	};
	struct line ln;
	int c;

	line_start(&ln, buf, l->width);
	for (c = GP_TOP_COL_DIR; c <= GP_TOP_COL_GRAY; c++)
		line_col(&ln, l->x[c], l->w[c], 0, gp_top_col_name(c));
	for (c = 0; c < GP_TOP_RCOL_MAX; c++)
		if (l->rshow[c])
			line_col(&ln, l->rx[c], l->rw[c], 1, label[c]);
	line_end(&ln);
}

static void pct_or_dash(char *buf, size_t len, uint64_t n, uint64_t of)
{
	if (of)
		snprintf(buf, len, "%.1f%%", (double)n * 100.0 / (double)of);
	else
		snprintf(buf, len, "-");
}

void gp_top_fmt_req_row(char *buf, const struct gp_top_layout *l, const struct gp_top_req_row *r)
{
	char v[GP_TOP_RCOL_MAX][16];
	struct line ln;
	int c, q;

	gp_top_fmt_rate(v[GP_TOP_RCOL_RATE], sizeof(v[0]), r->req_rate);
	pct_or_dash(v[GP_TOP_RCOL_ERR], sizeof(v[0]), r->win_errs, r->win_reqs);
	for (q = 0; q < GP_TOP_NQ; q++)
		latency_or_dash(v[GP_TOP_RCOL_P50 + q], sizeof(v[0]), r->win_samples, r->p_win[q]);
	pct_or_dash(v[GP_TOP_RCOL_ERR_ALL], sizeof(v[0]), r->errs, r->reqs);
	latency_or_dash(v[GP_TOP_RCOL_P99_ALL], sizeof(v[0]), r->samples, r->p_all[GP_TOP_P99]);
	line_start(&ln, buf, l->width);
	line_col(&ln, l->x[GP_TOP_COL_DIR], l->w[GP_TOP_COL_DIR], 0, dir_short(r->dir));
	line_col(&ln, l->x[GP_TOP_COL_ALPN], l->w[GP_TOP_COL_ALPN], 0, r->alpn);
	line_col(&ln, l->x[GP_TOP_COL_GRAY], l->w[GP_TOP_COL_GRAY], 0, r->gray);
	for (c = 0; c < GP_TOP_RCOL_MAX; c++)
		if (l->rshow[c])
			line_col(&ln, l->rx[c], l->rw[c], 1, v[c]);
	line_end(&ln);
}

/*
 * Verdict columns after the names: word, p99 gray/stable/delta, fail (or
 * error) gray/stable/delta, what decided (conn, req, grpc).
 */
enum { V_WORD, V_P99, V_P99_ST, V_P99_D, V_FAIL, V_FAIL_ST, V_FAIL_D, V_BY, V_MAX };
static const unsigned v_w[V_MAX] = { 10, 6, 6, 7, 6, 6, 7, 4 };

static unsigned verdict_x(const struct gp_top_layout *l, int col)
{
	unsigned x = l->x[GP_TOP_COL_GRAY] + l->w[GP_TOP_COL_GRAY] + 1;
	int i;

	for (i = 0; i < col; i++)
		x += v_w[i] + 1;
	return x;
}

void gp_top_fmt_verdict_title(char *buf, const struct gp_top_layout *l,
			      const struct gp_top_model *m)
{
	struct line ln;

	line_start(&ln, buf, l->width);
	line_printf(&ln, "verdict vs stable  P99!: p99 > +%g%%  FAIL!: fail > +%gpp",
		    m->cfg.p99_delta_pct, m->cfg.fail_delta_pp);
	if (m->cfg.min_samples > 1)
		line_printf(&ln, "  n>=%u", m->cfg.min_samples);
	line_printf(&ln, "  *: since start");
	line_end(&ln);
}

void gp_top_fmt_verdict_columns(char *buf, const struct gp_top_layout *l)
{
	static const char *const label[V_MAX] = {
		"verdict", "p99", "stable", "delta", "fail", "stable", "delta", "by",
	};
	struct line ln;
	int i;

	line_start(&ln, buf, l->width);
	line_col(&ln, l->x[GP_TOP_COL_DIR], l->w[GP_TOP_COL_DIR], 0, "dir");
	line_col(&ln, l->x[GP_TOP_COL_ALPN], l->w[GP_TOP_COL_ALPN], 0, "alpn");
	line_col(&ln, l->x[GP_TOP_COL_GRAY], l->w[GP_TOP_COL_GRAY], 0, "gray");
	for (i = 0; i < V_MAX; i++)
		line_col(&ln, verdict_x(l, i), v_w[i], i != V_WORD && i != V_BY, label[i]);
	line_end(&ln);
}

const char *gp_top_verdict_word(const struct gp_top_verdict *v, char *buf, size_t len)
{
	if ((v->flags & (GP_TOP_FLAG_P99 | GP_TOP_FLAG_FAIL)) == (GP_TOP_FLAG_P99 | GP_TOP_FLAG_FAIL))
		return "P99! FAIL!";
	if (v->flags & GP_TOP_FLAG_P99)
		return "P99!";
	if (v->flags & GP_TOP_FLAG_FAIL)
		return "FAIL!";
	if (v->p99_known || v->fail_known)
		return "ok";
	if (!v->short_of)
		return "-";
	snprintf(buf, len, "n<%u", v->short_of);
	return buf;
}

/* "+20.0%", "+499%", "+1234%", past that a ratio: "x3420"; 7 characters with the '*'. */
static void fmt_pct_delta(char *buf, size_t len, double d, int since_start)
{
	const char *star = since_start ? "*" : "";
	double ratio = 1 + d / 100;

	if (d > -99.95 && d < 99.95)
		snprintf(buf, len, "%+.1f%%%s", d, star);
	else if (d < 9999.5)
		snprintf(buf, len, "%+.0f%%%s", d, star);
	else if (ratio < 999999.5)
		snprintf(buf, len, "x%.0f%s", ratio, star);
	else
		snprintf(buf, len, "x>1e6%s", star);
}

void gp_top_fmt_verdict(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
			const struct gp_top_verdict *v)
{
	static const char *const by[] = { "conn", "req", "grpc" };
	const char *alpn, *gray;
	char f[V_MAX][24], word[16];
	struct line ln;
	unsigned dir;
	int i;

	gp_top_verdict_names(m, v, &dir, &alpn, &gray);
	for (i = 0; i < V_MAX; i++)
		snprintf(f[i], sizeof(f[i]), "-");
	snprintf(f[V_WORD], sizeof(f[V_WORD]), "%s", gp_top_verdict_word(v, word, sizeof(word)));
	snprintf(f[V_BY], sizeof(f[V_BY]), "%s", (unsigned)v->by < 3 ? by[v->by] : "?");
	if (v->p99_known) {
		gp_top_fmt_latency(f[V_P99], sizeof(f[0]), v->gray_p99);
		gp_top_fmt_latency(f[V_P99_ST], sizeof(f[0]), v->stable_p99);
		fmt_pct_delta(f[V_P99_D], sizeof(f[0]), v->p99_delta_pct, !v->p99_window);
	}
	if (v->fail_known) {
		snprintf(f[V_FAIL], sizeof(f[0]), "%.1f%%", v->gray_fail_pct);
		snprintf(f[V_FAIL_ST], sizeof(f[0]), "%.1f%%", v->stable_fail_pct);
		/* "+9.9pp*", "+10pp*", "+100pp*": 7 characters at most. */
		if (v->fail_delta_pp > -9.95 && v->fail_delta_pp < 9.95)
			snprintf(f[V_FAIL_D], sizeof(f[0]), "%+.1fpp%s", v->fail_delta_pp,
				 v->fail_window ? "" : "*");
		else
			snprintf(f[V_FAIL_D], sizeof(f[0]), "%+.0fpp%s", v->fail_delta_pp,
				 v->fail_window ? "" : "*");
	}
	line_start(&ln, buf, l->width);
	line_col(&ln, l->x[GP_TOP_COL_DIR], l->w[GP_TOP_COL_DIR], 0, dir_short(dir));
	line_col(&ln, l->x[GP_TOP_COL_ALPN], l->w[GP_TOP_COL_ALPN], 0, alpn);
	line_col(&ln, l->x[GP_TOP_COL_GRAY], l->w[GP_TOP_COL_GRAY], 0, gray);
	for (i = 0; i < V_MAX; i++)
		line_col(&ln, verdict_x(l, i), v_w[i], i != V_WORD && i != V_BY, f[i]);
	line_end(&ln);
}

/* Recent outcomes: time, dir, result, latency, alpn, gray, local, remote, pid/comm, sni. */
enum { R_TIME, R_DIR, R_RESULT, R_LAT, R_ALPN, R_GRAY, R_LOCAL, R_REMOTE, R_PROC, R_SNI, R_MAX };

static void recent_cols(const struct gp_top_layout *l, unsigned x[R_MAX], unsigned w[R_MAX])
{
	static const unsigned fixed[R_MAX] = { 12, 3, 11, 7, 0, 0, ADDR_W, ADDR_W, 16, 0 };
	unsigned pos = 0;
	int i;

	for (i = 0; i < R_MAX; i++) {
		w[i] = fixed[i];
		if (i == R_ALPN)
			w[i] = l->w[GP_TOP_COL_ALPN];
		else if (i == R_GRAY)
			w[i] = l->w[GP_TOP_COL_GRAY];
		else if (i == R_SNI)
			w[i] = GP_SNI_MAX;
		x[i] = pos;
		pos += w[i] + 1;
	}
}

void gp_top_fmt_recent_title(char *buf, const struct gp_top_layout *l,
			     const struct gp_top_model *m)
{
	struct line ln;

	line_start(&ln, buf, l->width);
	line_printf(&ln, "recent connections, newest first (%zu of the last %u kept)", m->ring_len,
		    m->cfg.recent);
	line_end(&ln);
}

void gp_top_fmt_recent_columns(char *buf, const struct gp_top_layout *l)
{
	static const char *const label[R_MAX] = {
		"time", "dir", "result", "latency", "alpn", "gray", "local", "remote", "pid/comm", "sni",
	};
	unsigned x[R_MAX], w[R_MAX];
	struct line ln;
	int i;

	recent_cols(l, x, w);
	line_start(&ln, buf, l->width);
	for (i = 0; i < R_MAX; i++)
		line_col(&ln, x[i], w[i], i == R_LAT, label[i]);
	line_end(&ln);
}

static void endpoint(char *buf, size_t len, int family, const uint8_t addr[16], uint16_t port)
{
	char a[64];

	gp_addr_str(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

void gp_top_fmt_recent(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
		       const struct gp_conn *c)
{
	char f[R_MAX][96];
	unsigned x[R_MAX], w[R_MAX];
	int64_t real = (int64_t)c->ts_ns + m->rt_offset_ns;
	time_t sec = (time_t)(real / 1000000000);
	struct tm tm;
	struct line ln;
	int i, in = c->dir == GP_DIR_INBOUND;

	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(f[R_TIME], sizeof(f[0]), "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)((real % 1000000000 + 1000000000) % 1000000000 / 1000000));
	snprintf(f[R_DIR], sizeof(f[0]), "%s", dir_short(c->dir));
	snprintf(f[R_RESULT], sizeof(f[0]), "%s", gp_result_name(c->result));
	if (c->result == GP_RES_ESTABLISHED)
		gp_top_fmt_latency(f[R_LAT], sizeof(f[0]), (double)c->latency_ns);
	else
		snprintf(f[R_LAT], sizeof(f[0]), "-");
	snprintf(f[R_ALPN], sizeof(f[0]), "%s", c->alpn);
	snprintf(f[R_GRAY], sizeof(f[0]), "%s", c->gray);
	/* saddr is always the side that sent the SYN: inbound, that is the peer. */
	endpoint(f[R_LOCAL], sizeof(f[0]), c->family, in ? c->daddr : c->saddr, in ? c->dport : c->sport);
	endpoint(f[R_REMOTE], sizeof(f[0]), c->family, in ? c->saddr : c->daddr, in ? c->sport : c->dport);
	if (c->pid || c->comm[0])
		snprintf(f[R_PROC], sizeof(f[0]), "%u/%s", c->pid, c->comm);
	else
		snprintf(f[R_PROC], sizeof(f[0]), "-");
	recent_cols(l, x, w);
	line_start(&ln, buf, l->width);
	for (i = 0; i < R_MAX; i++) {
		if (i == R_SNI) {
			line_pad(&ln, x[i]);
			line_add(&ln, c->sni, strlen(c->sni));
		} else if (i == R_LOCAL || i == R_REMOTE) {
			/* An address is never cut: IPv6 ones push what follows. */
			line_pad(&ln, ln.len && ln.len >= x[i] ? ln.len + 1 : x[i]);
			line_add(&ln, f[i], strlen(f[i]));
		} else {
			line_col(&ln, ln.len && ln.len >= x[i] ? (unsigned)ln.len + 1 : x[i], w[i], i == R_LAT, f[i]);
		}
	}
	line_end(&ln);
}

int gp_top_render_text(FILE *f, const struct gp_top_model *m, unsigned width)
{
	struct gp_top_layout l;
	char buf[GP_TOP_LINE_MAX];
	const struct gp_conn *c;
	size_t i;

	gp_top_layout(&l, m, width);
	gp_top_fmt_header(buf, &l, m, 0);
	fprintf(f, "%s\n", buf);
	gp_top_fmt_header(buf, &l, m, 1);
	fprintf(f, "%s\n\n", buf);
	gp_top_fmt_groups(buf, &l, m);
	fprintf(f, "%s\n", buf);
	gp_top_fmt_columns(buf, &l);
	fprintf(f, "%s\n", buf);
	for (i = 0; i < m->n_view; i++) {
		gp_top_fmt_row(buf, &l, &m->rows[m->view[i]]);
		fprintf(f, "%s\n", buf);
	}
	if (!m->n_view)
		fputs(m->n_rows ? "(no tag matches the filter)\n" : "(no connections yet)\n", f);
	gp_top_fmt_req_groups(buf, &l, m);
	fprintf(f, "\n%s\n", buf);
	gp_top_fmt_req_columns(buf, &l);
	fprintf(f, "%s\n", buf);
	for (i = 0; i < m->n_req_view; i++) {
		gp_top_fmt_req_row(buf, &l, &m->reqs[m->req_view[i]]);
		fprintf(f, "%s\n", buf);
	}
	if (!m->n_req_view)
		fputs(m->n_reqs ? "(no request tag matches the filter)\n" :
		      "(no requests yet)\n", f);
	gp_top_fmt_verdict_title(buf, &l, m);
	fprintf(f, "\n%s\n", buf);
	gp_top_fmt_verdict_columns(buf, &l);
	fprintf(f, "%s\n", buf);
	for (i = 0; i < m->n_verdicts; i++) {
		gp_top_fmt_verdict(buf, &l, m, &m->verdicts[i]);
		fprintf(f, "%s\n", buf);
	}
	if (!m->n_verdicts)
		fputs("(no gray tag with a stable one of the same direction and alpn)\n", f);
	if (m->cfg.recent) {
		gp_top_fmt_recent_title(buf, &l, m);
		fprintf(f, "\n%s\n", buf);
		gp_top_fmt_recent_columns(buf, &l);
		fprintf(f, "%s\n", buf);
		for (i = 0; (c = gp_top_model_recent(m, i)); i++) {
			gp_top_fmt_recent(buf, &l, m, c);
			fprintf(f, "%s\n", buf);
		}
	}
	return ferror(f) ? -EIO : 0;
}
