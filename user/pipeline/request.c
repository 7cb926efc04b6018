// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* strcasestr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/payload.h"
#include "pipeline/request.h"
#include "util/dlist.h"
#include "util/htab.h"

enum end { END_DONE, END_RESET, END_NONE };

/* Client streams (odd ids) below the highest whose being counted is kept. */
#define H2_SEEN_IDS	1024

struct rconn;

struct req {
	struct gp_hnode h;		/* HTTP/2: in streams, by (connection, stream) */
	struct gp_dlink cl;		/* its connection's requests, in request order */
	struct gp_dlink age;		/* in age by start, or in streaming */
	struct rconn *rc;
	struct gp_request r;
	uint8_t h2, answered, upgrade, streaming;
	uint8_t unseen;			/* known from its response only: no start */
};

struct rconn {
	struct gp_l7_conn *l7;
	struct gp_dlink all;		/* the tracker's connections */
	struct gp_dlist reqs;
	unsigned dirs;			/* 1 << GP_DIR_*: socket outcomes claiming the flow */
	uint8_t lost[2];		/* per message direction */
	uint32_t h1_missed[2];		/* HTTP/1 heads refused, as the kernel last counted */
	unsigned reason[2];
	/*
	 * HTTP/2 client streams counted as requests: the highest, and which
	 * of the H2_SEEN_IDS (odd) ids below it, so that a response whose
	 * request was lost is counted once, and one whose request was
	 * counted already (or a push) not again.
	 */
	uint32_t h2_max;
	uint64_t h2_seen[H2_SEEN_IDS / 64];
	/*
	 * HTTP/2 requests the kernel could not deliver (its count, while the
	 * requests' direction is lost to the ring only), and those of them
	 * counted already from what came of them (unseen).
	 */
	uint32_t missed, missed_counted;
	uint64_t missed_ts;
};

struct gp_req_tracker {
	struct gp_req_ops ops;
	uint64_t timeout_ns;
	const struct gp_rules *rules;
	struct gp_htab streams;		/* struct req of HTTP/2 */
	struct gp_dlist age;
	/*
	 * gRPC calls that have their response head: a stream may last for
	 * hours, so no timeout; they end with their trailers, a reset or close.
	 */
	struct gp_dlist streaming;
	struct gp_dlist conns;		/* struct rconn */
	struct gp_req_tracker_stats stats;
};

struct gp_req_tracker *gp_req_new(const struct gp_req_ops *ops, uint64_t timeout_ns)
{
	struct gp_req_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = *ops;
	t->timeout_ns = timeout_ns;
	if (gp_htab_init(&t->streams, 256)) {
		free(t);
		return NULL;
	}
	return t;
}

static struct req *first_of(const struct gp_dlist *l)
{
	return l->head ? gp_container_of(l->head, struct req, age) : NULL;
}

static struct req *age_first(const struct gp_req_tracker *t)
{
	struct req *q = first_of(&t->age);

	return q ? q : first_of(&t->streaming);
}

static struct req *req_of(struct gp_dlink *l)
{
	return l ? gp_container_of(l, struct req, cl) : NULL;
}

/* Unlinks and frees q without emitting it. */
static void req_drop(struct gp_req_tracker *t, struct req *q)
{
	if (q->h2)
		gp_htab_del(&t->streams, &q->h);
	gp_dlist_del(&q->rc->reqs, &q->cl);
	gp_dlist_del(q->streaming ? &t->streaming : &t->age, &q->age);
	t->stats.open--;
	free(q);
}

void gp_req_free(struct gp_req_tracker *t)
{
	struct req *q;

	if (!t)
		return;
	while ((q = age_first(t)))
		req_drop(t, q);
	/* Connections are the reassembler's: only our part of them goes. */
	while (t->conns.head) {
		struct rconn *rc = gp_container_of(t->conns.head, struct rconn, all);

		gp_dlist_del(&t->conns, &rc->all);
		rc->l7->user = NULL;
		free(rc);
	}
	gp_htab_release(&t->streams);
	free(t);
}

void gp_req_set_rules(struct gp_req_tracker *t, const struct gp_rules *r)
{
	t->rules = r;
}

static uint32_t stream_hash(const struct rconn *rc, uint32_t stream)
{
	return gp_hash_more(gp_hash_more(GP_HASH_INIT, &rc, sizeof(rc)), &stream, sizeof(stream));
}

static struct req *stream_find(const struct gp_req_tracker *t, const struct rconn *rc,
			       uint32_t stream)
{
	uint32_t hash = stream_hash(rc, stream);
	struct gp_hnode *x;

	for (x = gp_htab_chain(&t->streams, hash); x; x = x->next) {
		struct req *q = gp_container_of(x, struct req, h);

		if (x->hash == hash && q->rc == rc && q->r.stream == stream)
			return q;
	}
	return NULL;
}

static void stream_add(struct gp_req_tracker *t, struct req *q, uint32_t stream)
{
	q->h2 = 1;
	q->r.stream = stream;
	gp_htab_add(&t->streams, &q->h, stream_hash(q->rc, stream));
}

static unsigned code_of(int status)
{
	return status >= 100 && status < 600 ? GP_CODE_1XX + (unsigned)(status / 100 - 1)
					      : GP_CODE_NONE;
}

/* A gRPC response without grpc-status: the status clients derive from HTTP's. */
static unsigned grpc_from_http(int status)
{
	switch (status) {
	case 400: return 13;			/* INTERNAL */
	case 401: return 16;			/* UNAUTHENTICATED */
	case 403: return 7;			/* PERMISSION_DENIED */
	case 404: return 12;			/* UNIMPLEMENTED */
	case 429: case 502: case 503: case 504:
		return 14;			/* UNAVAILABLE */
	}
	return 2;				/* UNKNOWN */
}

static void classify(struct gp_request *r, enum end end)
{
	if (r->status)
		r->code = code_of(r->status);
	else
		r->code = end == END_RESET ? GP_CODE_RESET : GP_CODE_NONE;
	if (r->grpc_status >= 0 && r->grpc_status < GP_GRPC_STATUS_N)
		r->grpc_slot = (unsigned)r->grpc_status;
	else if (r->status && r->status != 200)
		r->grpc_slot = grpc_from_http(r->status);
	else if (end == END_RESET)
		r->grpc_slot = GP_GRPC_RESET;
	else if (r->status && end == END_DONE)
		r->grpc_slot = 2;	/* ended without a grpc-status: UNKNOWN */
	else
		r->grpc_slot = GP_GRPC_NONE;
}

/*
 * Asked at each request and each emit: an outcome may come late, and the
 * flow be forgotten (ended) before a request's end is known.
 */
static void learn_dirs(struct gp_req_tracker *t, struct rconn *rc)
{
	if (t->ops.dirs)
		rc->dirs |= t->ops.dirs(t->ops.ctx, &rc->l7->flow, rc->l7->isn);
}

/* Once per direction a socket outcome gave the flow; once as "unknown" without one. */
static void emit(struct gp_req_tracker *t, struct rconn *rc, struct gp_request *r)
{
	unsigned d;

	if (!t->ops.done)
		return;
	learn_dirs(t, rc);
	if (!rc->dirs) {
		r->dir = GP_DIR_MAX;
		t->ops.done(t->ops.ctx, r);
		return;
	}
	for (d = 0; d < GP_DIR_MAX; d++) {
		if (!(rc->dirs & (1u << d)))
			continue;
		r->dir = d;
		t->ops.done(t->ops.ctx, r);
	}
}

static void finish(struct gp_req_tracker *t, struct req *q, enum end end)
{
	classify(&q->r, end);
	emit(t, q->rc, &q->r);
	req_drop(t, q);
}

static struct rconn *conn_get(struct gp_req_tracker *t, struct gp_l7_conn *c)
{
	struct rconn *rc = c->user;

	if (rc)
		return rc;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->l7 = c;
	gp_dlist_append(&t->conns, &rc->all);
	c->user = rc;
	return rc;
}

static void base_request(struct gp_request *r, const struct rconn *rc, const struct gp_http_msg *m)
{
	memset(r, 0, sizeof(*r));
	r->flow = rc->l7->flow;
	r->isn = rc->l7->isn;
	r->grpc_status = -1;
	r->ts_ns = m->ts_ns;
	r->tls = rc->l7->tls;
	/* What the bytes say was spoken: over TLS, the protocol ALPN agreed on. */
	snprintf(r->alpn, sizeof(r->alpn), "%s", m->proto == GP_L7P_H2 ? (r->tls ? "h2" : "h2c") :
		 m->http10 ? "http/1.0" : "http/1.1");
}

static int hdr_has(const struct gp_http_msg *m, const char *name, const char *what, int prefix)
{
	char val[64];

	if (!m->hdrs || !gp_http1_header(m->hdrs, m->hdrs_len, name, val, sizeof(val)))
		return 0;
	return prefix ? !strncasecmp(val, what, strlen(what)) : strcasestr(val, what) != NULL;
}

static void tag(const struct gp_req_tracker *t, struct gp_request *r, const struct gp_http_msg *m)
{
	const struct gp_flow_tuple *k = &r->flow;
	struct gp_flow_facts facts = {
		.family = k->family, .saddr = k->saddr, .daddr = k->daddr,
		.sport = k->sport, .dport = k->dport, .alpn = r->alpn,
		/* Over TLS the flow's SNI rules apply to its requests too. */
		.sni = r->tls && t->ops.sni ? t->ops.sni(t->ops.ctx, k, r->isn) : "",
		.http_hdrs = m->hdrs, .http_hdrs_len = m->hdrs ? m->hdrs_len : 0,
	};
	struct gp_gray g;

	gp_rules_eval(t->rules, &facts, &g);
	memcpy(r->gray, g.gray, sizeof(r->gray));
	memcpy(r->marker, g.marker, sizeof(r->marker));
	r->gray_flags = g.flags;
}

/* A gray grayprobe gives, not a client: bounded, so pinned like a rule's fixed label. */
static void tag_unknown(struct gp_request *r, unsigned reason)
{
	snprintf(r->gray, sizeof(r->gray), "unknown");
	r->marker[0] = '\0';
	r->gray_flags = GP_GRAY_FIXED;
	r->undecoded = 1;
	r->reason = reason;
}

/* Its response cannot be seen (reason): counted undecoded, without a status. */
static void finish_no_status(struct gp_req_tracker *t, struct req *q, unsigned reason)
{
	q->r.undecoded = 1;
	q->r.no_status = 1;
	q->r.reason = reason;
	finish(t, q, END_NONE);
}

/* A new open request of rc, first seen at m; NULL when it is not followed (counted). */
static struct req *req_open(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	struct req *q = NULL, *old;

	if (t->stats.open < GP_REQ_OPEN_MAX)
		q = calloc(1, sizeof(*q));
	if (!q) {
		t->stats.dropped++;
		return NULL;
	}
	q->rc = rc;
	base_request(&q->r, rc, m);
	gp_dlist_append(&rc->reqs, &q->cl);
	gp_dlist_append(&t->age, &q->age);
	t->stats.open++;
	if (m->proto == GP_L7P_H2) {
		/* A stream id used again is a new request: the old one was reset. */
		old = stream_find(t, rc, m->stream);
		if (old)
			finish(t, old, END_RESET);
		stream_add(t, q, m->stream);
	}
	return q;
}

static uint64_t *seen_bit(struct rconn *rc, uint32_t stream, uint64_t *mask)
{
	uint32_t i = (stream >> 1) % H2_SEEN_IDS;

	*mask = 1ull << (i % 64);
	return &rc->h2_seen[i / 64];
}

/* Client stream counted already; one too far below the highest is taken as counted. */
static int h2_counted(struct rconn *rc, uint32_t stream)
{
	uint64_t m;

	if (stream > rc->h2_max)
		return 0;
	if ((rc->h2_max - stream) / 2 >= H2_SEEN_IDS)
		return 1;
	return !!(*seen_bit(rc, stream, &m) & m);
}

static void h2_count(struct rconn *rc, uint32_t stream)
{
	uint32_t s;
	uint64_t m;

	if (stream > rc->h2_max) {
		if ((stream - rc->h2_max) / 2 >= H2_SEEN_IDS)
			memset(rc->h2_seen, 0, sizeof(rc->h2_seen));
		else
			for (s = rc->h2_max + 1; s < stream; s++)
				*seen_bit(rc, s, &m) &= ~m;
		rc->h2_max = stream;
	}
	*seen_bit(rc, stream, &m) |= m;
}

static void on_request(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	struct req *q;

	if (m->proto == GP_L7P_H2)
		h2_count(rc, m->stream);
	q = req_open(t, rc, m);
	if (!q)
		return;
	snprintf(q->r.method, sizeof(q->r.method), "%s", m->method ? m->method : "");
	snprintf(q->r.authority, sizeof(q->r.authority), "%s", m->authority ? m->authority : "");
	snprintf(q->r.path, sizeof(q->r.path), "%s", m->path ? m->path : "");
	q->r.grpc = m->is_grpc || hdr_has(m, "content-type", "application/grpc", 1);
	tag(t, &q->r, m);
	if (m->malformed || m->reason)	/* its headers are not known */
		tag_unknown(&q->r, m->reason ? m->reason : GP_HTTP_LOST_MALFORMED);
	if (m->proto != GP_L7P_H2)
		q->upgrade = hdr_has(m, "upgrade", "h2c", 0);
	if (rc->lost[1])
		finish_no_status(t, q, rc->reason[1]);
}

/* A request known only from what came after its head: gray unknown (reason), no latency. */
static struct req *open_unseen(struct gp_req_tracker *t, struct rconn *rc,
			       const struct gp_http_msg *m, unsigned reason)
{
	struct req *q = req_open(t, rc, m);

	if (q) {
		tag_unknown(&q->r, reason);
		q->unseen = 1;
	}
	return q;
}

/*
 * A response to a request not seen (its direction lost): a request of gray
 * unknown, followed like the others to its trailers and end. HTTP/2: only a
 * client stream not counted (h2_seen), so that a request finished already
 * (or a push) is not counted again.
 */
static struct req *unseen(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	if (!rc->lost[0])
		return NULL;
	if (m->proto == GP_L7P_H2) {
		if (!(m->stream & 1) || h2_counted(rc, m->stream))
			return NULL;
		h2_count(rc, m->stream);
		rc->missed_counted++;
	}
	return open_unseen(t, rc, m, rc->reason[0]);
}

/*
 * HTTP/1, first in first out: the oldest answered request still waiting for
 * its end, or (answered 0) the oldest unanswered one, which a final response
 * answers; answered ones before it have had their end.
 */
static struct req *h1_next(struct gp_req_tracker *t, struct rconn *rc, int answered)
{
	struct gp_dlink *l, *next;

	for (l = rc->reqs.head; l; l = next) {
		struct req *q = req_of(l);

		next = l->next;
		if (q->h2)
			continue;
		if (answered || !q->answered)
			return q->answered == answered ? q : NULL;
		finish(t, q, END_DONE);
	}
	return NULL;
}

static void answer(struct req *q, const struct gp_http_msg *m)
{
	q->answered = 1;
	q->r.status = m->status;
	q->r.grpc |= m->is_grpc;
	if (m->grpc_status >= 0)
		q->r.grpc_status = m->grpc_status;
	if (m->ts_ns >= q->r.ts_ns) {
		q->r.has_latency = 1;
		q->r.latency_ns = m->ts_ns - q->r.ts_ns;
	}
}

static void on_response(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	struct req *q;

	if (m->interim)
		return;
	if (m->proto != GP_L7P_H2) {
		q = h1_next(t, rc, 0);
		if (q && m->status == 101 && q->upgrade) {
			/* RFC 9113 3.2: the upgraded request is stream 1's. */
			snprintf(q->r.alpn, sizeof(q->r.alpn), "h2c");
			stream_add(t, q, 1);
			return;
		}
	} else {
		q = stream_find(t, rc, m->stream);
		if (q && q->answered)
			return;
	}
	if (!q && !(q = unseen(t, rc, m)))
		return;
	if (!m->status) {
		/* a head without a usable :status, or one not decoded */
		finish_no_status(t, q, m->reason ? m->reason : GP_HTTP_LOST_MALFORMED);
		return;
	}
	answer(q, m);
	q->r.has_latency &= !q->unseen;
	if (q->r.grpc) {
		gp_dlist_del(&t->age, &q->age);
		gp_dlist_append(&t->streaming, &q->age);
		q->streaming = 1;
	}
	if (m->status == 101)
		finish(t, q, END_DONE);	/* no longer HTTP: no end will come */
}

/*
 * HTTP/2: a stream's end or reset is all that is left of a request whose
 * heads were lost (both directions): counted, its status unknown.
 */
static struct req *h2_unseen(struct gp_req_tracker *t, struct rconn *rc,
			     const struct gp_http_msg *m)
{
	struct req *q = unseen(t, rc, m);

	if (q && m->ev == GP_HTTP_RESPONSE_END)
		finish_no_status(t, q, rc->reason[0]);
	else if (q)
		finish(t, q, END_RESET);
	return NULL;
}

static void on_end(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	struct req *q = m->proto == GP_L7P_H2 ? stream_find(t, rc, m->stream) : h1_next(t, rc, 1);

	if (!q && m->proto == GP_L7P_H2)
		q = h2_unseen(t, rc, m);
	if (!q)
		return;
	if (q->answered && !q->unseen && m->ts_ns >= q->r.ts_ns) {
		q->r.has_duration = 1;
		q->r.duration_ns = m->ts_ns - q->r.ts_ns;
	}
	finish(t, q, END_DONE);
}

/* Open streams above last_stream were never processed: reset. */
static void on_goaway(struct gp_req_tracker *t, struct rconn *rc, uint32_t last_stream)
{
	struct gp_dlink *l, *next;

	for (l = rc->reqs.head; l; l = next) {
		struct req *q = req_of(l);

		next = l->next;
		if (q->h2 && q->r.stream > last_stream)
			finish(t, q, END_RESET);
	}
}

/*
 * HTTP/1 heads the ring refused, by the kernel's running count: a request
 * refused is a request of gray unknown at its place in the FIFO; a final
 * response refused answers the oldest unanswered request, its status
 * unknown. Told before any later record of the connection, so in step.
 */
static void h1_refused(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	unsigned dir = m->dir ? 1 : 0;
	struct req *q;

	/* wrap-safe; a count that went back (a contradiction) adds nothing */
	while ((int32_t)(m->missed - rc->h1_missed[dir]) > 0) {
		rc->h1_missed[dir]++;
		if (dir) {
			q = h1_next(t, rc, 0);
			if (q)
				finish_no_status(t, q, GP_HTTP_LOST_RINGBUF);
		} else {
			open_unseen(t, rc, m, GP_HTTP_LOST_RINGBUF);
		}
	}
}

static void on_lost(struct gp_req_tracker *t, struct rconn *rc, const struct gp_http_msg *m)
{
	unsigned dir = m->dir ? 1 : 0;
	struct gp_dlink *l, *next;

	if (m->h1_walk_on) {
		h1_refused(t, rc, m);
		return;
	}
	if (!dir && m->reason == GP_HTTP_LOST_RINGBUF && m->missed > rc->missed) {
		rc->missed = m->missed;
		rc->missed_ts = m->ts_ns;
	}
	/*
	 * HTTP/2 joined mid-stream: requests before the join are unseen (a
	 * response to one is a request of gray unknown), the rest blind.
	 */
	if (m->reason == GP_HTTP_LOST_MIDSTREAM && m->proto == GP_L7P_H2)
		dir = 0;
	if (rc->lost[dir])
		return;
	rc->lost[dir] = 1;
	rc->reason[dir] = m->reason;
	if (!dir)
		return;	/* requests seen still get the responses that come */
	for (l = rc->reqs.head; l; l = next) {
		struct req *q = req_of(l);

		next = l->next;
		if (q->answered)
			finish(t, q, END_DONE);
		else
			finish_no_status(t, q, m->reason);
	}
}

void gp_req_msg(void *tracker, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	struct gp_req_tracker *t = tracker;
	struct rconn *rc = conn_get(t, c);
	struct req *q;

	if (!rc)
		return;
	switch (m->ev) {
	case GP_HTTP_REQUEST:
		learn_dirs(t, rc);
		on_request(t, rc, m);
		break;
	case GP_HTTP_RESPONSE:
		on_response(t, rc, m);
		break;
	case GP_HTTP_TRAILERS:
		q = stream_find(t, rc, m->stream);
		if (q && m->grpc_status >= 0)
			q->r.grpc_status = m->grpc_status;
		break;
	case GP_HTTP_RESPONSE_END:
		on_end(t, rc, m);
		break;
	case GP_HTTP_RESET:
		q = stream_find(t, rc, m->stream);
		if (q)
			finish(t, q, END_RESET);
		else
			h2_unseen(t, rc, m);
		break;
	case GP_HTTP_GOAWAY:
		on_goaway(t, rc, m->last_stream);
		break;
	case GP_HTTP_LOST:
		on_lost(t, rc, m);
		break;
	case GP_HTTP_REORIENT:
		break;	/* the connection's flow was turned round for us */
	}
}

/*
 * The requests the kernel could not deliver, less those counted from their
 * responses, ends or resets: nothing else will come of them. Counted once
 * each, unknown and without a status; only while the requests' direction
 * was lost to the ring alone (else the count does not cover the unseen).
 */
static void count_missed(struct gp_req_tracker *t, struct rconn *rc)
{
	struct gp_http_msg m = { .proto = GP_L7P_H2 };
	struct gp_request r;

	if (rc->reason[0] != GP_HTTP_LOST_RINGBUF)
		return;
	m.ts_ns = rc->missed_ts;
	for (; rc->missed_counted < rc->missed; rc->missed_counted++) {
		base_request(&r, rc, &m);
		tag_unknown(&r, GP_HTTP_LOST_RINGBUF);
		r.no_status = 1;
		classify(&r, END_NONE);
		emit(t, rc, &r);
	}
}

void gp_req_close(void *tracker, struct gp_l7_conn *c)
{
	struct gp_req_tracker *t = tracker;
	struct rconn *rc = c->user;

	if (!rc)
		return;
	count_missed(t, rc);
	while (rc->reqs.head)
		finish(t, req_of(rc->reqs.head), END_RESET);
	gp_dlist_del(&t->conns, &rc->all);
	free(rc);
	c->user = NULL;
}

void gp_req_expire(struct gp_req_tracker *t, uint64_t now_ns)
{
	struct req *q;

	while ((q = first_of(&t->age)) && now_ns >= q->r.ts_ns &&
	       now_ns - q->r.ts_ns >= t->timeout_ns)
		finish(t, q, END_NONE);
}

void gp_req_flush(struct gp_req_tracker *t)
{
	struct req *q;

	struct gp_dlink *l;

	while ((q = age_first(t)))
		finish(t, q, END_NONE);
	for (l = t->conns.head; l; l = l->next)
		count_missed(t, gp_container_of(l, struct rconn, all));
}

void gp_req_tracker_stats(const struct gp_req_tracker *t, struct gp_req_tracker_stats *out)
{
	*out = t->stats;
}
