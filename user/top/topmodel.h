/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TOPMODEL_H
#define GP_TOPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/agg.h"
#include "pipeline/event.h"

/*
 * What `grayprobe top` shows, computed from successive snapshots without a
 * terminal: per-tag rates and percentiles over the last window (between the
 * last two updates) and since start, canary verdicts, the latest outcomes.
 */

#define GP_TOP_RECENT_DEFAULT	20
#define GP_TOP_RECENT_MAX	1000
/* Rollback thresholds teams use: p99 drift 8 %, error rate a few points. */
#define GP_TOP_P99_DELTA_DEFAULT	8.0	/* percent */
#define GP_TOP_FAIL_DELTA_DEFAULT	2.0	/* percentage points */
/* Below this many samples a side, a window's p99 is its slowest few: no verdict. */
#define GP_TOP_MIN_SAMPLES_DEFAULT	20
#define GP_TOP_MIN_SAMPLES_MAX		1000000
#define GP_TOP_FILTER_MAX	64
#define GP_TOP_GRAY_UNKNOWN	"unknown"	/* requests whose gray could not be decoded */

/* Every column of the tag table, in display order; each is a sort key. */
enum gp_top_col {
	GP_TOP_COL_DIR,
	GP_TOP_COL_ALPN,
	GP_TOP_COL_GRAY,
	GP_TOP_COL_CONN,	/* attempts/s over the window */
	GP_TOP_COL_FAIL,	/* failed attempts/s over the window */
	GP_TOP_COL_P50,		/* window */
	GP_TOP_COL_P90,
	GP_TOP_COL_P99,
	GP_TOP_COL_P50_ALL,	/* since start */
	GP_TOP_COL_P90_ALL,
	GP_TOP_COL_P99_ALL,
	GP_TOP_COL_BYTES,	/* payload bytes/s over the window */
	GP_TOP_COL_MAX,
};

enum { GP_TOP_P50, GP_TOP_P90, GP_TOP_P99, GP_TOP_NQ };

/* One (direction, alpn, gray). Percentiles in ns, meaningful only with samples. */
struct gp_top_row {
	uint8_t dir;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t win_conns, win_fails, win_samples, win_bytes;	/* in the window */
	uint64_t conns, fails, samples, bytes;			/* since start */
	double conn_rate, fail_rate, bytes_rate;		/* per second, window */
	double p_win[GP_TOP_NQ], p_all[GP_TOP_NQ];
};

/*
 * One (direction, alpn, gray) of HTTP requests, or with grpc set, of the gRPC
 * calls of one (direction, gray): alpn is then "grpc". Errors: 5xx, reset
 * and none for HTTP; every status but OK for gRPC. Latency is time to the
 * first response byte; percentiles in ns, meaningful only with samples.
 */
struct gp_top_req_row {
	uint8_t dir, grpc;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t win_reqs, win_errs, win_samples;	/* in the window */
	uint64_t reqs, errs, samples;			/* since start */
	double req_rate;				/* per second, window */
	double p_win[GP_TOP_NQ], p_all[GP_TOP_NQ];
};
/* A request tag's errors (as above); *total: all its requests. */
uint64_t gp_top_req_errors(const struct gp_req_stats *r, uint64_t *total);

#define GP_TOP_FLAG_P99		1u	/* gray p99 more than p99_delta % above stable's */
#define GP_TOP_FLAG_FAIL	2u	/* gray failure ratio more than fail_delta pp above */

/* What a verdict compares: connections (rows[]) or requests (reqs[]). */
enum gp_top_by { GP_TOP_BY_CONN, GP_TOP_BY_HTTP, GP_TOP_BY_GRPC };

/*
 * A gray row against the stable row of the same (direction, alpn), or for
 * gRPC of the same direction. Requests, where a gray has any, decide; its
 * connection row then has no verdict of its own. A side is judged over the
 * window when both rows have min_samples in it, else since start, else not.
 */
struct gp_top_verdict {
	enum gp_top_by by;
	size_t gray_row, stable_row;	/* indices into rows[] (BY_CONN) or reqs[] */
	int p99_known;			/* both sides have established samples */
	int p99_window;			/* compared over the window, else since start */
	double gray_p99, stable_p99, p99_delta_pct;
	int fail_known;			/* both sides have attempts */
	int fail_window;
	double gray_fail_pct, stable_fail_pct, fail_delta_pp;	/* requests: error % */
	unsigned flags;
	unsigned short_of;		/* both sides have samples, fewer than this: not judged */
};

struct gp_top_config {
	double p99_delta_pct;
	double fail_delta_pp;
	unsigned min_samples;		/* per side and span before a verdict; 0 as 1 */
	unsigned recent;		/* outcomes kept for the recent pane; 0: none */
	unsigned max_tags;		/* the engine's cap per direction */
	uint64_t started_ns;		/* CLOCK_MONOTONIC of the engine's start */
	const char *classifier;		/* where TC is hooked, for the header */
};

struct gp_top_model {
	struct gp_top_config cfg;
	char classifier[128];
	/* Header facts, from the last snapshot. */
	const char *version, *connect_hook, *state_hook;
	uint64_t now_ns, window_ns;	/* the last update; its window's length */
	uint64_t events, lost, lost_payload, overflow;
	double events_rate;
	uint64_t undecoded;		/* requests under gray "unknown", every reason */
	unsigned tags_in_use[GP_DIR_MAX];	/* dynamic tags, against --max-tags */
	int64_t rt_offset_ns;		/* CLOCK_REALTIME - CLOCK_MONOTONIC, for times */
	/* The previous snapshot's tags: the window's start. */
	struct gp_tag_stats *prev;
	size_t n_prev;
	uint64_t prev_events;
	/* Every tag, in snapshot order (dir, alpn, gray). */
	struct gp_top_row *rows;
	size_t n_rows;
	/* rows shown: filtered, sorted; indices into rows[]. */
	size_t *view;
	size_t n_view;
	enum gp_top_col sort_col;
	int sort_desc;
	char filter[GP_TOP_FILTER_MAX + 1];
	/* The previous snapshot's requests, and every request row (snapshot order). */
	struct gp_req_stats *prev_reqs;
	size_t n_prev_reqs;
	struct gp_top_req_row *reqs;
	size_t n_reqs;
	size_t *req_view;		/* request rows shown: filtered, name order */
	size_t n_req_view;
	struct gp_top_verdict *verdicts;	/* those whose gray row passes the filter */
	size_t n_verdicts;
	/* Ring of the latest outcomes. */
	struct gp_conn *ring;
	size_t ring_head, ring_len;	/* next slot; entries held */
	int updated;			/* at least one update happened */
};

int gp_top_model_init(struct gp_top_model *m, const struct gp_top_config *cfg);	/* 0 or -ENOMEM */
void gp_top_model_free(struct gp_top_model *m);
/* A new snapshot taken at now_ns (CLOCK_MONOTONIC): the window ends here. 0 or -ENOMEM. */
int gp_top_model_update(struct gp_top_model *m, const struct gp_snapshot *s, uint64_t now_ns);
void gp_top_model_conn(struct gp_top_model *m, const struct gp_conn *c);
/* The i-th latest outcome (0 = newest), or NULL. */
const struct gp_conn *gp_top_model_recent(const struct gp_top_model *m, size_t i);

/* Sort by col; the column already in use is reversed. Names ascend first, numbers descend. */
void gp_top_model_sort(struct gp_top_model *m, enum gp_top_col col);
void gp_top_model_set_sort(struct gp_top_model *m, enum gp_top_col col, int desc);
/*
 * Rows (and verdicts, by their gray row) whose direction, alpn or gray
 * contains every blank-separated word of filter, ignoring case. "" shows all.
 */
void gp_top_model_filter(struct gp_top_model *m, const char *filter);

/*
 * Quantile q (0..1) of a non-cumulative histogram with hist.h's buckets, as
 * Prometheus' histogram_quantile() computes it: the bucket where the
 * cumulative count reaches q*N, then linear interpolation between its lower
 * bound (0 for the first bucket) and its upper bound. In the +Inf bucket the
 * highest finite bound is returned. Sets *n to N; 0 samples return 0.
 */
double gp_top_quantile(const uint64_t buckets[GP_HIST_SLOTS], double q, uint64_t *n);

const char *gp_top_col_name(enum gp_top_col col);	/* "conn/s", "p99", ... */
/* The gray row of a verdict: its direction, alpn and gray. */
void gp_top_verdict_names(const struct gp_top_model *m, const struct gp_top_verdict *v,
			  unsigned *dir, const char **alpn, const char **gray);

/* Failures: every result but established (refused, timeout, unreachable, abandoned, other). */
uint64_t gp_top_failures(const uint64_t results[GP_RES_MAX]);

#endif
