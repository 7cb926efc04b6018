// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one path from kernel records to outcomes, flows and the aggregate,
 * for run, top and replay alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

struct gp_pipeline {
	struct gp_pipeline_config cfg;
	struct gp_pipeline_sinks sinks;
	struct gp_tagger *tagger;
	struct gp_agg *agg;		/* NULL: not aggregating */
	uint64_t bad_records;
};

static void on_tagged(void *ctx, const struct gp_conn *c)
{
	struct gp_pipeline *p = ctx;

	if (p->agg)
		gp_agg_record(p->agg, c);
	if (p->sinks.conn)
		p->sinks.conn(p->sinks.ctx, c);
}

static void on_bytes(void *ctx, unsigned dir, const char *alpn, const char *gray,
		     unsigned gray_flags, uint64_t n)
{
	struct gp_pipeline *p = ctx;

	if (p->agg)
		gp_agg_add_bytes(p->agg, dir, alpn, gray, gray_flags, n);
}

static void on_flow(void *ctx, const struct gp_flow_result *r)
{
	struct gp_pipeline *p = ctx;

	if (p->sinks.flow)
		p->sinks.flow(p->sinks.ctx, r);
}

int gp_pipeline_new(struct gp_pipeline **out, const struct gp_pipeline_config *cfg,
		    const struct gp_pipeline_sinks *sinks)
{
	struct gp_tagger_ops ops = { .conn = on_tagged, .bytes = on_bytes };
	struct gp_pipeline *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	if (sinks)
		p->sinks = *sinks;
	ops.flow = p->sinks.flow ? on_flow : NULL;
	ops.ctx = p;
	p->tagger = gp_tagger_new(&ops, &cfg->tagger);
	p->agg = cfg->aggregate ? gp_agg_new(cfg->max_tags) : NULL;
	if (!p->tagger || (cfg->aggregate && !p->agg)) {
		gp_pipeline_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void gp_pipeline_free(struct gp_pipeline *p)
{
	if (!p)
		return;
	gp_tagger_free(p->tagger);
	gp_agg_free(p->agg);
	free(p);
}

void gp_pipeline_set_rules(struct gp_pipeline *p, const struct gp_rules *r)
{
	gp_tagger_set_rules(p->tagger, r);
}

int gp_pipeline_record(struct gp_pipeline *p, const void *data, size_t size, uint64_t now_ns)
{
	struct gp_payload_event h;
	const uint8_t *payload;
	struct gp_conn c;

	switch (gp_event_type(data, size)) {
	case GP_EV_CONN:
		if (gp_conn_decode(data, size, &c))
			break;
		gp_tagger_conn(p->tagger, &c, now_ns);
		return 0;
	case GP_EV_PAYLOAD:
	case GP_EV_FLOW_END:
		if (gp_payload_decode(data, size, &h, &payload))
			break;
		gp_tagger_payload(p->tagger, &h, payload, now_ns);
		return 0;
	case GP_EV_L7:
		/* Stopgap until the request tracker consumes them: not bad, just unused. */
		if (size >= sizeof(struct gp_l7_event))
			return 0;
		break;
	}
	p->bad_records++;
	return -EBADMSG;
}

void gp_pipeline_expire(struct gp_pipeline *p, uint64_t now_ns)
{
	gp_tagger_tick(p->tagger, now_ns, 0);
}

static int sweep_flow(void *ctx, const struct gp_flow_key *k, const struct gp_flow_val *v)
{
	struct gp_pipeline *p = ctx;
	struct gp_flow_tuple t;

	gp_flow_tuple_from_key(k, v, &t);
	gp_tagger_flow_bytes(p->tagger, &t, v->isn, v->bytes);
	return 0;
}

/* The tagger's order: begin, the walk, then tick saying whether the walk was whole. */
int gp_pipeline_sweep(struct gp_pipeline *p, uint64_t now_ns)
{
	int err = 0;

	gp_tagger_sweep_begin(p->tagger);
	if (p->cfg.walk)
		err = p->cfg.walk(p->cfg.walk_src, sweep_flow, p);
	gp_tagger_tick(p->tagger, now_ns, !err);
	return err;
}

size_t gp_pipeline_retire(struct gp_pipeline *p, uint64_t now_ns)
{
	return p->agg ? gp_agg_retire(p->agg, now_ns, p->cfg.tag_idle_ns) : 0;
}

void gp_pipeline_flush(struct gp_pipeline *p)
{
	gp_tagger_flush(p->tagger);
}

int gp_pipeline_snapshot(const struct gp_pipeline *p, struct gp_snapshot *snap)
{
	int err;

	memset(snap, 0, sizeof(*snap));
	if (!p->agg)
		return -EINVAL;
	err = gp_agg_snapshot(p->agg, snap);
	if (err)
		return err;
	snap->lost_malformed = p->bad_records;
	return 0;
}

uint64_t gp_pipeline_bad_records(const struct gp_pipeline *p)
{
	return p->bad_records;
}

void gp_pipeline_last_fold(const struct gp_pipeline *p, struct gp_agg_fold *out)
{
	if (p->agg) {
		gp_agg_last_fold(p->agg, out);
		return;
	}
	memset(out, 0, sizeof(*out));
}
