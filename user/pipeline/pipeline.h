/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PIPELINE_H
#define GP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "grayprobe.h"
#include "pipeline/agg.h"
#include "pipeline/event.h"
#include "pipeline/request.h"
#include "pipeline/rules.h"
#include "pipeline/tagger.h"

/*
 * Raw kernel records in, decided outcomes and flows out: decode, tag,
 * aggregate. The live ring buffer and replay feed it the same way; time is
 * always the caller's (now_ns), so replay and tests control it. Pure user
 * space: no libbpf, nothing printed.
 */
struct gp_pipeline;

struct gp_pipeline_sinks {
	/* A tagged outcome, once, after it was counted (NULL: not wanted). */
	void (*conn)(void *ctx, const struct gp_conn *c);
	/* A flow's classification, once (NULL: not wanted). */
	void (*flow)(void *ctx, const struct gp_flow_result *r);
	/* A finished request, once per direction, after it was counted (NULL: not wanted). */
	void (*request)(void *ctx, const struct gp_request *r);
	/* A TLS handshake's end, once per joined direction, after it was counted (NULL: not wanted). */
	void (*handshake)(void *ctx, const struct gp_tls_handshake *h);
	void *ctx;
};

/* The kernel's flow table, walked by a sweep: fn for each entry, 0 or -errno. */
typedef int (*gp_pipeline_flow_fn)(void *ctx, const struct gp_flow_key *k,
				   const struct gp_flow_val *v);
typedef int (*gp_pipeline_walk_fn)(void *src, gp_pipeline_flow_fn fn, void *ctx);

struct gp_pipeline_config {
	struct gp_tagger_config tagger;
	int aggregate;			/* 0: no aggregation (replay: flows only) */
	unsigned max_tags;		/* the aggregation's cap */
	uint64_t tag_idle_ns;		/* dynamic tags unused this long are retired; 0 never */
	gp_pipeline_walk_fn walk;	/* NULL: no flow table (replay, tests) */
	void *walk_src;
	uint64_t request_timeout_ns;	/* a request without response is "none" after it */
	/*
	 * L7 records are timed by now_ns, not their ts_ns: replay runs the TC
	 * program now, so records carry today's clock, frames the capture's.
	 */
	int l7_frame_time;
};

/* 0 or -ENOMEM. */
int gp_pipeline_new(struct gp_pipeline **out, const struct gp_pipeline_config *cfg,
		    const struct gp_pipeline_sinks *sinks);
void gp_pipeline_free(struct gp_pipeline *p);	/* NULL-safe; emits nothing */
/* Rules for flows decided from now on; the caller keeps r alive until replaced. */
void gp_pipeline_set_rules(struct gp_pipeline *p, const struct gp_rules *r);

/* One ring buffer record. 0, or -EBADMSG for one that does not decode (counted). */
int gp_pipeline_record(struct gp_pipeline *p, const void *data, size_t size, uint64_t now_ns);
/* Outcomes whose tag wait is over at now_ns leave. */
void gp_pipeline_expire(struct gp_pipeline *p, uint64_t now_ns);
/*
 * Walks the flow table (long-lived flows' bytes), lets waits expire, and
 * forgets decided flows the kernel no longer has. 0, or the walk's -errno
 * (then nothing is forgotten).
 */
int gp_pipeline_sweep(struct gp_pipeline *p, uint64_t now_ns);
/* Dynamic tags unused for tag_idle go; how many did. Call it every second or so. */
size_t gp_pipeline_retire(struct gp_pipeline *p, uint64_t now_ns);
/* Decide every flow now and emit every waiting outcome (stop, end of replay). */
void gp_pipeline_flush(struct gp_pipeline *p);

/*
 * The aggregate as it is, with lost_malformed and what the L7 table and
 * the request tracker did not follow (l7_*, req_open_dropped); changes
 * nothing. The caller sets version, hooks and the kernel's counters. 0 or
 * -errno.
 */
int gp_pipeline_snapshot(const struct gp_pipeline *p, struct gp_snapshot *snap);
uint64_t gp_pipeline_bad_records(const struct gp_pipeline *p);
void gp_pipeline_last_fold(const struct gp_pipeline *p, struct gp_agg_fold *out);

#endif
