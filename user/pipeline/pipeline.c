// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one path from kernel records to outcomes, flows and the aggregate,
 * for run, top and replay alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/l7.h"
#include "pipeline/pipeline.h"
#include "pipeline/tls.h"

/*
 * Connections the reassembler saw nothing of for this long are let go (their
 * end is normally seen): long enough for an idle keep-alive connection to
 * keep its HPACK state, short enough that forgotten flows do not pile up.
 */
#define L7_IDLE_NS	(900ull * 1000000000u)

struct gp_pipeline {
	struct gp_pipeline_config cfg;
	struct gp_pipeline_sinks sinks;
	struct gp_tagger *tagger;
	struct gp_agg *agg;		/* NULL: not aggregating */
	struct gp_req_tracker *req;
	struct gp_l7 *l7;
	struct gp_tls *tls;		/* feeds l7 */
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

static void on_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	struct gp_pipeline *p = ctx;

	if (p->agg)
		gp_agg_add_handshake(p->agg, h->dir, h->alpn, h->gray, h->gray_flags, h->duration_ns);
	if (p->sinks.handshake)
		p->sinks.handshake(p->sinks.ctx, h);
}

static void on_flow(void *ctx, const struct gp_flow_result *r)
{
	struct gp_pipeline *p = ctx;

	if (p->sinks.flow)
		p->sinks.flow(p->sinks.ctx, r);
}

static void on_request(void *ctx, const struct gp_request *r)
{
	struct gp_pipeline *p = ctx;

	if (p->agg)
		gp_agg_record_request(p->agg, r);
	if (p->sinks.request)
		p->sinks.request(p->sinks.ctx, r);
}

/* A request's directions are its connection's: the socket outcomes the tagger joined. */
static unsigned on_dirs(void *ctx, const struct gp_flow_tuple *f, uint32_t isn)
{
	struct gp_pipeline *p = ctx;

	return gp_tagger_dirs(p->tagger, f, isn);
}

static const char *on_sni(void *ctx, const struct gp_flow_tuple *f, uint32_t isn)
{
	struct gp_pipeline *p = ctx;

	return gp_tagger_sni(p->tagger, f, isn);
}

int gp_pipeline_new(struct gp_pipeline **out, const struct gp_pipeline_config *cfg,
		    const struct gp_pipeline_sinks *sinks)
{
	struct gp_tagger_ops ops = { .conn = on_tagged, .bytes = on_bytes,
				     .handshake = on_handshake };
	struct gp_req_ops rops = { .done = on_request, .dirs = on_dirs, .sni = on_sni };
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
	rops.ctx = p;
	p->req = gp_req_new(&rops, cfg->request_timeout_ns ? cfg->request_timeout_ns :
				   (uint64_t)GP_REQ_TIMEOUT_DEFAULT_S * 1000000000u);
	if (p->req) {
		struct gp_l7_ops lops = { .msg = gp_req_msg, .close = gp_req_close, .ctx = p->req };

		p->l7 = gp_l7_new(&lops);
	}
	p->tls = p->l7 ? gp_tls_new(p->l7) : NULL;
	if (!p->tagger || !p->req || !p->l7 || !p->tls || (cfg->aggregate && !p->agg)) {
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
	/* The tracker first: it lets go of the connections, so closing them emits nothing. */
	gp_req_free(p->req);
	gp_tls_free(p->tls);
	gp_l7_free(p->l7);
	gp_tagger_free(p->tagger);
	gp_agg_free(p->agg);
	free(p);
}

void gp_pipeline_set_rules(struct gp_pipeline *p, const struct gp_rules *r)
{
	gp_tagger_set_rules(p->tagger, r);
	gp_req_set_rules(p->req, r);
}

/* Replay's records carry the test run's clock: the capture's frame time stands in. */
static uint64_t l7_ts(const struct gp_pipeline *p, uint64_t rec_ns, uint64_t now_ns)
{
	return p->cfg.l7_frame_time ? now_ns : rec_ns;
}

static int l7_record(struct gp_pipeline *p, const void *data, size_t size, uint64_t now_ns)
{
	struct gp_l7_event h;
	const uint8_t *bytes;

	if (gp_l7_event_decode(data, size, &h, &bytes))
		return -EBADMSG;
	h.ts_ns = l7_ts(p, h.ts_ns, now_ns);
	gp_l7_record(p->l7, &h, bytes);
	return 0;
}

static int tls_record(struct gp_pipeline *p, const void *data, size_t size, uint64_t now_ns)
{
	struct gp_tls_event h;
	const uint8_t *bytes;

	if (gp_tls_event_decode(data, size, &h, &bytes))
		return -EBADMSG;
	gp_tls_record(p->tls, &h, bytes, l7_ts(p, h.ts_ns, now_ns));
	return 0;
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
		if (h.type == GP_EV_FLOW_END)
			gp_l7_flow_end(p->l7, &h.flow, h.isn, l7_ts(p, h.ts_ns, now_ns));
		return 0;
	case GP_EV_L7:
		if (l7_record(p, data, size, now_ns))
			break;
		return 0;
	case GP_EV_TLS:
		if (tls_record(p, data, size, now_ns))
			break;
		return 0;
	}
	p->bad_records++;
	return -EBADMSG;
}

void gp_pipeline_expire(struct gp_pipeline *p, uint64_t now_ns)
{
	gp_tagger_tick(p->tagger, now_ns, 0);
	gp_req_expire(p->req, now_ns);
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
	gp_tls_expire(p->tls, now_ns, L7_IDLE_NS);
	gp_l7_expire(p->l7, now_ns, L7_IDLE_NS);
	gp_req_expire(p->req, now_ns);
	return err;
}

size_t gp_pipeline_retire(struct gp_pipeline *p, uint64_t now_ns)
{
	return p->agg ? gp_agg_retire(p->agg, now_ns, p->cfg.tag_idle_ns) : 0;
}

/* Outcomes first, so that requests find the directions their connection has. */
void gp_pipeline_flush(struct gp_pipeline *p)
{
	gp_tagger_flush(p->tagger);
	gp_req_flush(p->req);
}

int gp_pipeline_snapshot(const struct gp_pipeline *p, struct gp_snapshot *snap)
{
	struct gp_req_tracker_stats req;
	struct gp_l7_stats l7;
	int err;

	memset(snap, 0, sizeof(*snap));
	if (!p->agg)
		return -EINVAL;
	err = gp_agg_snapshot(p->agg, snap);
	if (err)
		return err;
	snap->lost_malformed = p->bad_records;
	gp_l7_stats(p->l7, &l7);
	snap->l7_conns_dropped = l7.conns_dropped;
	snap->l7_bad_records = l7.bad_records;
	gp_req_tracker_stats(p->req, &req);
	snap->req_open_dropped = req.dropped;
	gp_tls_stats(p->tls, &snap->tls);
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
