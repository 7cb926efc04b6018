/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_ENGINE_H
#define GP_ENGINE_H

#include <stdint.h>
#include <time.h>

#include "pipeline/agg.h"
#include "pipeline/event.h"
#include "cmd/opts.h"
#include "pipeline/rules.h"

/* Collecting for run and top: hooks, tagging, rules, aggregation, textfile. */
struct gp_engine;

struct gp_engine_ops {
	/* Each tagged outcome after it was counted; non-zero (an errno) stops polling. */
	int (*conn)(void *ctx, const struct gp_conn *c);
	void *ctx;
};

/*
 * Checks privileges and flags, loads the rules, attaches. textfile NULL: no
 * textfile. Returns 0, 1 (runtime failure) or 2 (bad usage), having said why.
 */
int gp_engine_open(struct gp_engine **out, const struct gp_opts *o, const char *textfile,
		   const struct gp_engine_ops *ops);
/* Waits up to timeout_ms for events, lets tag waits expire, rewrites the textfile when due. */
int gp_engine_poll(struct gp_engine *e, int timeout_ms);	/* 0 or -errno */
void gp_engine_reload_rules(struct gp_engine *e);		/* SIGHUP */
/* The aggregate now, with the kernel's counters; release with gp_snapshot_release. */
int gp_engine_snapshot(struct gp_engine *e, struct gp_snapshot *snap);
/* Stopping: drain, decide every waiting outcome, write the textfile once more. */
int gp_engine_finish(struct gp_engine *e);
void gp_engine_close(struct gp_engine *e);			/* NULL-safe; detaches */
const char *gp_engine_tc_desc(const struct gp_engine *e);	/* "lo/ingress(tcx)" */
uint64_t gp_engine_started_ns(const struct gp_engine *e);	/* CLOCK_MONOTONIC */

/* Rules from --rule, then --rules, then the defaults; NULL after saying why. */
struct gp_rules *gp_load_rules(const struct gp_opts *o, int reload);
void gp_print_rules(const struct gp_rules *rules);		/* with -v */
uint64_t gp_now_ns(clockid_t clk);

#endif
