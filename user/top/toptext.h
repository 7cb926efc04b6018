/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TOPTEXT_H
#define GP_TOPTEXT_H

#include <stddef.h>
#include <stdio.h>

#include "top/topmodel.h"

/*
 * `grayprobe top` as lines of text: --once prints them, the ncurses view
 * draws the same lines into its windows and adds attributes.
 */

#define GP_TOP_LINE_MAX	1024	/* one formatted line, NUL included */

/* The request table's columns after the names (those of the tag table). */
enum gp_top_rcol {
	GP_TOP_RCOL_RATE,	/* requests/s over the window */
	GP_TOP_RCOL_ERR,	/* error %, window */
	GP_TOP_RCOL_P50,	/* time to first response byte, window */
	GP_TOP_RCOL_P90,
	GP_TOP_RCOL_P99,
	GP_TOP_RCOL_ERR_ALL,	/* since start */
	GP_TOP_RCOL_P99_ALL,
	GP_TOP_RCOL_MAX,
};

/* Which table columns fit a width, and where they sit. */
struct gp_top_layout {
	unsigned width;				/* 0: no limit */
	int show[GP_TOP_COL_MAX];
	unsigned x[GP_TOP_COL_MAX], w[GP_TOP_COL_MAX];
	unsigned len;				/* a table line's length */
	int rshow[GP_TOP_RCOL_MAX];		/* the request table */
	unsigned rx[GP_TOP_RCOL_MAX], rw[GP_TOP_RCOL_MAX];
};

/*
 * Narrow widths drop the since-start p90 and p50 first, then since-start
 * p99, bytes/s, window p90 and p50, fail/s; names and conn/s and window p99
 * always stay. Names get what is left, up to their longest label (request
 * rows' too). The request table drops since-start error % and p99, then
 * window p90 and p50; req/s, error % and window p99 stay.
 */
void gp_top_layout(struct gp_top_layout *l, const struct gp_top_model *m, unsigned width);

/* Each fills buf (GP_TOP_LINE_MAX bytes) with one line, cut to the layout's width. */
void gp_top_fmt_header(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
		       int line);	/* line 0 or 1 */
void gp_top_fmt_groups(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m);
void gp_top_fmt_columns(char *buf, const struct gp_top_layout *l);
void gp_top_fmt_row(char *buf, const struct gp_top_layout *l, const struct gp_top_row *r);
/* The request table: group line (titled "requests"), column names, a row. */
void gp_top_fmt_req_groups(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m);
void gp_top_fmt_req_columns(char *buf, const struct gp_top_layout *l);
void gp_top_fmt_req_row(char *buf, const struct gp_top_layout *l, const struct gp_top_req_row *r);
void gp_top_fmt_verdict_title(char *buf, const struct gp_top_layout *l,
			      const struct gp_top_model *m);
void gp_top_fmt_verdict_columns(char *buf, const struct gp_top_layout *l);
void gp_top_fmt_verdict(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
			const struct gp_top_verdict *v);
void gp_top_fmt_recent_title(char *buf, const struct gp_top_layout *l,
			     const struct gp_top_model *m);
void gp_top_fmt_recent_columns(char *buf, const struct gp_top_layout *l);
void gp_top_fmt_recent(char *buf, const struct gp_top_layout *l, const struct gp_top_model *m,
		       const struct gp_conn *c);
/*
 * The verdict column's word: "P99! FAIL!", "P99!", "FAIL!", "ok", "n<20"
 * (samples on both sides, fewer than --min-samples: written into buf), or
 * "-" (no data).
 */
const char *gp_top_verdict_word(const struct gp_top_verdict *v, char *buf, size_t len);

/* "0.99us", "52.1us", "512us", "1.02ms", "33.6s": at most 6 characters. */
void gp_top_fmt_latency(char *buf, size_t len, double ns);
/* "0", "0.50", "12.3", "1234", "12k": at most 6 characters. */
void gp_top_fmt_rate(char *buf, size_t len, double per_sec);
/* SI bytes: "512", "1.5k", "23.4M". */
void gp_top_fmt_bytes(char *buf, size_t len, double per_sec);

/* Header, tables, verdicts and recent outcomes, as --once prints them. 0 or -EIO. */
int gp_top_render_text(FILE *f, const struct gp_top_model *m, unsigned width);

#endif
