// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pipeline: raw ring buffer records in, tagged outcomes, flows and the
 * aggregate out. Fed live-style (arrival clock, expiries as time passes) and
 * replay-style (capture clock, flushed at the end) the same records give the
 * same outcomes; a snapshot changes nothing; a sweep runs on the clock it is
 * given. Addresses are from 198.18.0.0/15 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "export/prom.h"
#include "pipeline/pipeline.h"
#include "unit.h"

#define MS		1000000ull
#define WAIT		(2000 * MS)
#define T0		(86400ull * 1000 * MS)
#define TCP_ESTABLISHED	1	/* tcp_states.h: the tracepoint ABI */
#define REC_MAX		512
#define OUT_MAX		16

static const char http_req[] = "GET / HTTP/1.1\r\nHost: svc.example.com\r\nX-Gray: canary\r\n\r\n";

struct rec {
	uint8_t buf[REC_MAX];
	size_t len;
	uint64_t ts;
};

/* What one pipeline handed out. */
struct sink {
	struct gp_conn conns[OUT_MAX];
	size_t n_conns;
	struct gp_flow_result flows[OUT_MAX];
	size_t n_flows;
};

static void on_conn(void *ctx, const struct gp_conn *c)
{
	struct sink *s = ctx;

	assert_true(s->n_conns < OUT_MAX);
	s->conns[s->n_conns++] = *c;
}

static void on_flow(void *ctx, const struct gp_flow_result *r)
{
	struct sink *s = ctx;

	assert_true(s->n_flows < OUT_MAX);
	s->flows[s->n_flows++] = *r;
}

static void addr4(uint8_t a[16], const char *s)
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

/* 198.18.0.1:sport -> 198.19.0.2:dport, established, its SYN seen by TC. */
static struct rec conn_rec(unsigned sport, unsigned dport, uint64_t ts)
{
	struct gp_conn_event e;
	struct rec r = { .len = sizeof(e), .ts = ts };

	memset(&e, 0, sizeof(e));
	e.type = GP_EV_CONN;
	e.pid = 4242;
	e.ts_ns = ts;
	e.latency_ns = 150000;
	addr4(e.saddr, "198.18.0.1");
	addr4(e.daddr, "198.19.0.2");
	e.netns = 4026531840u;
	e.sport = (uint16_t)sport;
	e.dport = (uint16_t)dport;
	e.family = AF_INET;
	e.direction = GP_DIR_OUTBOUND;
	e.new_state = TCP_ESTABLISHED;
	memcpy(e.comm, "curl", 5);
	e.flags = GP_CONN_F_FLOW;
	e.flow_isn = 0x10000000u + sport;
	memcpy(r.buf, &e, sizeof(e));
	return r;
}

static struct rec payload_rec(unsigned sport, unsigned dport, const char *data, uint64_t ts)
{
	struct gp_payload_event h;
	size_t n = strlen(data);
	struct rec r = { .len = sizeof(h) + n, .ts = ts };

	assert_true(r.len <= sizeof(r.buf));
	memset(&h, 0, sizeof(h));
	h.type = GP_EV_PAYLOAD;
	h.ifindex = 1;
	h.ts_ns = ts;
	addr4(h.flow.saddr, "198.18.0.1");
	addr4(h.flow.daddr, "198.19.0.2");
	h.flow.sport = (uint16_t)sport;
	h.flow.dport = (uint16_t)dport;
	h.flow.family = AF_INET;
	h.len = (uint32_t)n;
	h.bytes = n;
	h.isn = 0x10000000u + sport;
	memcpy(r.buf, &h, sizeof(h));
	memcpy(r.buf + sizeof(h), data, n);
	return r;
}

/* An L7 record of flow 198.18.0.1:sport -> 198.19.0.2:80: a whole unit at off, or an END. */
static struct rec l7_rec(unsigned sport, unsigned dir, unsigned kind, uint32_t off, const char *data,
			 uint64_t ts)
{
	struct gp_l7_event h;
	size_t n = strlen(data);
	struct rec r = { .len = sizeof(h) + n, .ts = ts };

	assert_true(r.len <= sizeof(r.buf));
	memset(&h, 0, sizeof(h));
	h.type = GP_EV_L7;
	h.ifindex = 1;
	h.ts_ns = ts;
	addr4(h.flow.saddr, "198.18.0.1");
	addr4(h.flow.daddr, "198.19.0.2");
	h.flow.sport = (uint16_t)sport;
	h.flow.dport = 80;
	h.flow.family = AF_INET;
	h.isn = 0x10000000u + sport;
	h.unit_off = h.off = off;
	h.len = (uint32_t)n;
	h.dir = (uint8_t)dir;
	h.kind = (uint8_t)kind;
	h.proto = GP_L7P_H1;
	h.flags = kind == GP_L7_UNIT ? GP_L7_F_LAST : 0;
	memcpy(r.buf, &h, sizeof(h));
	memcpy(r.buf + sizeof(h), data, n);
	return r;
}

/* Flow A carries a canary request; flow B's outcome has no payload and waits out. */
static size_t two_flows(struct rec *r)
{
	r[0] = conn_rec(40001, 80, T0);
	r[1] = payload_rec(40001, 80, http_req, T0 + MS);
	r[2] = conn_rec(40002, 443, T0 + 2 * MS);
	return 3;
}

static struct gp_rules *default_rules(void)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	struct gp_rules *rules;

	assert_non_null(b);
	rules = gp_rules_build(b);
	assert_non_null(rules);
	return rules;
}

/* The flow table a sweep walks: one entry for flow A with total bytes. */
struct table {
	uint64_t bytes;
	int fail;			/* the walk's -errno */
	unsigned walks;
};

static int walk_table(void *src, gp_pipeline_flow_fn fn, void *ctx)
{
	struct table *t = src;
	struct gp_flow_key k;
	struct gp_flow_val v;

	t->walks++;
	if (t->fail)
		return t->fail;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	addr4(k.addr[0], "198.18.0.1");
	addr4(k.addr[1], "198.19.0.2");
	k.port[0] = 40001;
	k.port[1] = 80;
	k.family = AF_INET;
	v.client = 0;
	v.isn = 0x10000000u + 40001;
	v.bytes = t->bytes;
	return fn(ctx, &k, &v);
}

static struct gp_pipeline *mk(int aggregate, struct sink *s, struct table *t,
			      const struct gp_rules *rules)
{
	struct gp_pipeline_sinks sinks = { .conn = on_conn, .flow = on_flow, .ctx = s };
	struct gp_pipeline_config cfg = {
		.tagger.tag_wait_ns = WAIT,
		.aggregate = aggregate,
		.max_tags = 64,
		.walk = t ? walk_table : NULL,
		.walk_src = t,
	};
	struct gp_pipeline *p;

	memset(s, 0, sizeof(*s));
	assert_int_equal(gp_pipeline_new(&p, &cfg, &sinks), 0);
	gp_pipeline_set_rules(p, rules);
	return p;
}

static void expect_same_conn(const struct gp_conn *a, const struct gp_conn *b)
{
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->result, b->result);
	assert_int_equal(a->latency_ns, b->latency_ns);
	assert_string_equal(a->alpn, b->alpn);
	assert_string_equal(a->gray, b->gray);
	assert_string_equal(a->http_marker, b->http_marker);
	assert_int_equal(a->gray_flags, b->gray_flags);
}

static void expect_same_flow(const struct gp_flow_result *a, const struct gp_flow_result *b)
{
	assert_memory_equal(&a->flow, &b->flow, sizeof(a->flow));
	assert_string_equal(a->alpn, b->alpn);
	assert_string_equal(a->gray, b->gray);
	assert_string_equal(a->http_marker, b->http_marker);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->bytes_seen, b->bytes_seen);
	assert_int_equal(a->first_ts_ns, b->first_ts_ns);
}

static void test_live_and_replay_give_the_same_outcomes(void **state)
{
	struct gp_rules *rules = default_rules();
	struct sink live, replay;
	struct gp_pipeline *pl = mk(1, &live, NULL, rules), *pr = mk(0, &replay, NULL, rules);
	struct rec r[8];
	size_t n = two_flows(r), i;
	uint64_t now = T0;

	(void)state;
	/* Live: the arrival clock, expiries as time passes, a sweep now and then. */
	for (i = 0; i < n; i++) {
		now = r[i].ts + MS;
		assert_int_equal(gp_pipeline_record(pl, r[i].buf, r[i].len, now), 0);
		gp_pipeline_expire(pl, now);
	}
	gp_pipeline_sweep(pl, now + WAIT);
	/* Replay: the capture's clock, then everything decided at the end. */
	for (i = 0; i < n; i++)
		assert_int_equal(gp_pipeline_record(pr, r[i].buf, r[i].len, r[i].ts), 0);
	gp_pipeline_flush(pr);

	assert_int_equal(live.n_conns, 2);
	assert_int_equal(replay.n_conns, 2);
	for (i = 0; i < live.n_conns; i++)
		expect_same_conn(&live.conns[i], &replay.conns[i]);
	assert_string_equal(live.conns[0].alpn, "http/1.1");
	assert_string_equal(live.conns[0].gray, "canary");
	assert_string_equal(live.conns[1].alpn, "none");
	/* B's flow is decided too, at its wait's end or at the flush: with nothing seen. */
	assert_int_equal(live.n_flows, 2);
	assert_int_equal(replay.n_flows, 2);
	for (i = 0; i < live.n_flows; i++)
		expect_same_flow(&live.flows[i], &replay.flows[i]);
	assert_int_equal(live.flows[0].kind, GP_PL_HTTP1);
	gp_pipeline_free(pl);
	gp_pipeline_free(pr);
	gp_rules_free(rules);
}

static void expect_same_snapshot(const struct gp_snapshot *a, const struct gp_snapshot *b)
{
	assert_int_equal(a->events, b->events);
	assert_int_equal(a->lost_malformed, b->lost_malformed);
	assert_int_equal(a->l7_conns_dropped, b->l7_conns_dropped);
	assert_int_equal(a->l7_bad_records, b->l7_bad_records);
	assert_int_equal(a->req_open_dropped, b->req_open_dropped);
	assert_int_equal(a->n_tags, b->n_tags);
	if (a->n_tags)
		assert_memory_equal(a->tags, b->tags, a->n_tags * sizeof(*a->tags));
}

static void test_snapshot_changes_nothing(void **state)
{
	static const uint8_t junk[2] = { 1, 0 };
	struct gp_rules *rules = default_rules();
	struct table t = { .bytes = 5000 };
	struct gp_snapshot s1, s2;
	struct sink out;
	struct gp_pipeline *p = mk(1, &out, &t, rules);
	struct rec r[8];
	size_t n = two_flows(r), i;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(gp_pipeline_record(p, r[i].buf, r[i].len, r[i].ts), 0);
	assert_int_equal(gp_pipeline_record(p, junk, sizeof(junk), T0), -EBADMSG);
	assert_int_equal(out.n_conns, 1);
	/* Long past B's wait: only an explicit expire or sweep lets it leave. */
	assert_int_equal(gp_pipeline_snapshot(p, &s1), 0);
	assert_int_equal(gp_pipeline_snapshot(p, &s2), 0);
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(t.walks, 0);
	assert_int_equal(s1.events, 1);
	assert_int_equal(s1.lost_malformed, 1);
	expect_same_snapshot(&s1, &s2);
	gp_snapshot_release(&s1);
	gp_snapshot_release(&s2);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

/* Bytes counted for a tag in the aggregate now. */
static uint64_t tag_bytes(const struct gp_pipeline *p, const char *alpn, const char *gray)
{
	struct gp_snapshot s;
	uint64_t n = 0;
	size_t i;

	assert_int_equal(gp_pipeline_snapshot(p, &s), 0);
	for (i = 0; i < s.n_tags; i++)
		if (!strcmp(s.tags[i].alpn, alpn) && !strcmp(s.tags[i].gray, gray))
			n += s.tags[i].bytes;
	gp_snapshot_release(&s);
	return n;
}

static void test_sweep_runs_on_the_callers_clock(void **state)
{
	struct gp_rules *rules = default_rules();
	struct table t = { .bytes = 5000 };
	struct sink out;
	struct gp_pipeline *p = mk(1, &out, &t, rules);
	struct rec r[8];
	size_t n = two_flows(r), i;
	uint64_t b_at = r[2].ts;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(gp_pipeline_record(p, r[i].buf, r[i].len, r[i].ts), 0);
	/* Short of B's wait by the caller's clock: it stays, A's flow bytes come in. */
	assert_int_equal(gp_pipeline_sweep(p, b_at + WAIT - MS), 0);
	assert_int_equal(t.walks, 1);
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(tag_bytes(p, "http/1.1", "canary"), 5000);
	/* A failed walk still lets waits expire, and says why. */
	t.fail = -EIO;
	assert_int_equal(gp_pipeline_sweep(p, b_at + WAIT + MS), -EIO);
	assert_int_equal(out.n_conns, 2);
	assert_string_equal(out.conns[1].alpn, "none");
	assert_int_equal(out.conns[1].sport, 40002);
	assert_int_equal(tag_bytes(p, "http/1.1", "canary"), 5000);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

struct req_sink {
	struct gp_request reqs[OUT_MAX];
	size_t n;
};

static void on_req(void *ctx, const struct gp_request *r)
{
	struct req_sink *s = ctx;

	assert_true(s->n < OUT_MAX);
	s->reqs[s->n++] = *r;
}

static const char resp_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
static const char req_2[] = "GET /b HTTP/1.1\r\nHost: svc\r\nX-Canary: two\r\n\r\n";

/*
 * A keep-alive connection's two requests, each with its own tag, through the
 * records the TC program sends; live (record times) and replay (frame times,
 * records stamped by the run) alike. Live, the socket outcome gives the
 * direction and the aggregate counts them; replay has no outcome.
 */
static void run_requests(struct gp_pipeline *p, struct req_sink *s, int replay)
{
	uint32_t o1 = sizeof(http_req) - 1, r1 = sizeof(resp_503) - 1;
	struct rec r[] = {
		conn_rec(40001, 80, T0),
		l7_rec(40001, 0, GP_L7_UNIT, 0, http_req, T0 + MS),
		l7_rec(40001, 1, GP_L7_UNIT, 0, resp_503, T0 + 5 * MS),
		l7_rec(40001, 1, GP_L7_END, r1, "", T0 + 6 * MS),
		l7_rec(40001, 0, GP_L7_UNIT, o1, req_2, T0 + 10 * MS),
		l7_rec(40001, 1, GP_L7_UNIT, r1, resp_503, T0 + 12 * MS),
	};
	size_t i;

	for (i = replay; i < sizeof(r) / sizeof(r[0]); i++) {
		struct gp_l7_event *h = (struct gp_l7_event *)r[i].buf;

		if (replay)
			h->ts_ns = 42;	/* the run's clock, not the capture's */
		assert_int_equal(gp_pipeline_record(p, r[i].buf, r[i].len, r[i].ts), 0);
	}
	assert_int_equal(s->n, 1);
	gp_pipeline_flush(p);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->reqs[0].gray, "canary");
	assert_string_equal(s->reqs[0].marker, "x-gray");
	assert_string_equal(s->reqs[0].path, "/");
	assert_int_equal(s->reqs[0].code, GP_CODE_5XX);
	assert_int_equal(s->reqs[0].latency_ns, 4 * MS);
	assert_int_equal(s->reqs[0].duration_ns, 5 * MS);
	assert_int_equal(s->reqs[0].dir, replay ? GP_DIR_MAX : GP_DIR_OUTBOUND);
	assert_string_equal(s->reqs[1].gray, "two");
	assert_int_equal(s->reqs[1].latency_ns, 2 * MS);
	assert_false(s->reqs[1].has_duration);
}

static void test_requests_from_l7_records(void **state)
{
	struct gp_pipeline_sinks sinks = { .request = on_req };
	struct gp_pipeline_config cfg = { .tagger.tag_wait_ns = WAIT, .aggregate = 1,
					  .max_tags = 64 };
	struct gp_rules *rules = default_rules();
	struct gp_snapshot snap;
	struct gp_pipeline *p;
	struct req_sink s = { .n = 0 };

	(void)state;
	sinks.ctx = &s;
	assert_int_equal(gp_pipeline_new(&p, &cfg, &sinks), 0);
	gp_pipeline_set_rules(p, rules);
	run_requests(p, &s, 0);
	assert_int_equal(gp_pipeline_snapshot(p, &snap), 0);
	assert_int_equal(snap.n_reqs, 2);
	assert_string_equal(snap.reqs[0].gray, "canary");
	assert_int_equal(snap.reqs[0].codes[GP_CODE_5XX], 1);
	gp_snapshot_release(&snap);
	gp_pipeline_free(p);

	memset(&s, 0, sizeof(s));
	cfg.aggregate = 0;
	cfg.l7_frame_time = 1;
	assert_int_equal(gp_pipeline_new(&p, &cfg, &sinks), 0);
	gp_pipeline_set_rules(p, rules);
	run_requests(p, &s, 1);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

/* r's connection is another one: same 4-tuple, client ISN isn. */
static void set_isn(struct rec *r, uint32_t isn)
{
	struct gp_l7_event *h = (struct gp_l7_event *)r->buf;

	h->isn = isn;
}

static void feed(struct gp_pipeline *p, const struct rec *r)
{
	assert_int_equal(gp_pipeline_record(p, r->buf, r->len, r->ts), 0);
}

/* A sample line, whole, in the textfile snap renders to. */
static void expect_sample(const struct gp_snapshot *snap, const char *line)
{
	char want[256], *buf;
	size_t len;

	assert_true((size_t)snprintf(want, sizeof(want), "\n%s\n", line) < sizeof(want));
	assert_int_equal(gp_prom_render_mem(snap, &buf, &len), 0);
	if (!strstr(buf, want))	/* open_memstream's buffer ends with a NUL */
		fail_msg("no line \"%s\" in the textfile", line);
	free(buf);
}

/*
 * What the L7 table and the request tracker could not follow reaches the
 * snapshot and the textfile: requests past GP_REQ_OPEN_MAX (pipelined on one
 * connection), records of a connection past GP_L7_CONNS_MAX, a record off
 * its unit.
 */
static void test_not_followed_reaches_the_snapshot(void **state)
{
	uint32_t len = sizeof(http_req) - 1, i;
	struct gp_pipeline_sinks sinks = { 0 };
	struct gp_pipeline_config cfg = { .tagger.tag_wait_ns = WAIT, .aggregate = 1,
					  .max_tags = 64 };
	struct gp_snapshot s1, s2;
	struct gp_pipeline *p;
	struct rec r;

	(void)state;
	assert_int_equal(gp_pipeline_new(&p, &cfg, &sinks), 0);
	for (i = 0; i <= GP_REQ_OPEN_MAX; i++) {
		r = l7_rec(40001, 0, GP_L7_UNIT, i * len, http_req, T0 + MS);
		feed(p, &r);
	}
	/* One connection is followed already; the last one finds no room. */
	for (i = 1; i <= GP_L7_CONNS_MAX; i++) {
		r = l7_rec(40001, 0, GP_L7_END, 0, "", T0 + 2 * MS);
		set_isn(&r, i);
		feed(p, &r);
	}
	/* A head that begins inside the last one. */
	r = l7_rec(40001, 0, GP_L7_UNIT, GP_REQ_OPEN_MAX * len + 1, http_req, T0 + 3 * MS);
	feed(p, &r);
	assert_int_equal(gp_pipeline_snapshot(p, &s1), 0);
	assert_int_equal(gp_pipeline_snapshot(p, &s2), 0);
	assert_int_equal(s1.req_open_dropped, 1);
	assert_int_equal(s1.l7_conns_dropped, 1);
	assert_int_equal(s1.l7_bad_records, 1);
	expect_same_snapshot(&s1, &s2);
	expect_sample(&s1, "grayprobe_requests_undecoded_total{direction=\"unknown\","
		      "reason=\"open_limit\"} 1");
	expect_sample(&s1, "grayprobe_http_records_undecoded_total{reason=\"conn_table_full\"} 1");
	expect_sample(&s1, "grayprobe_http_records_undecoded_total{reason=\"contradicting\"} 1");
	gp_snapshot_release(&s1);
	gp_snapshot_release(&s2);
	gp_pipeline_free(p);
}

/* A GP_EV_TLS record of flow 198.18.0.1:sport -> 198.19.0.2:443 (joined unless flags say). */
static struct rec tls_rec(uint32_t pid, unsigned sport, unsigned dir, unsigned side, unsigned flags,
			  uint64_t off, const void *data, size_t n, uint64_t ts)
{
	struct gp_tls_event h;
	struct rec r = { .len = sizeof(h) + n, .ts = ts };

	assert_true(r.len <= sizeof(r.buf));
	memset(&h, 0, sizeof(h));
	h.type = GP_EV_TLS;
	h.pid = pid;
	h.ts_ns = ts;
	addr4(h.flow.saddr, "198.18.0.1");
	addr4(h.flow.daddr, "198.19.0.2");
	h.flow.sport = (uint16_t)sport;
	h.flow.dport = 443;
	h.flow.family = AF_INET;
	h.isn = 0x10000000u + sport;
	h.sess = 0x5500000000ull + pid;
	h.off = off;
	h.len = h.total = (uint32_t)n;
	h.dir = (uint8_t)dir;
	h.side = (uint8_t)side;
	h.source = GP_TLS_SRC_OPENSSL;
	h.flags = (uint8_t)flags;
	memcpy(r.buf, &h, sizeof(h));
	memcpy(r.buf + sizeof(h), data, n);
	return r;
}

static struct gp_pipeline *mk_req(struct req_sink *s, struct gp_rules *rules)
{
	struct gp_pipeline_sinks sinks = { .request = on_req, .ctx = s };
	struct gp_pipeline_config cfg = { .tagger.tag_wait_ns = WAIT, .aggregate = 1,
					  .max_tags = 64 };
	struct gp_pipeline *p;

	memset(s, 0, sizeof(*s));
	assert_int_equal(gp_pipeline_new(&p, &cfg, &sinks), 0);
	gp_pipeline_set_rules(p, rules);
	return p;
}

#define J	GP_TLS_F_JOINED
#define JF	(GP_TLS_F_JOINED | GP_TLS_F_FIRST)

/*
 * Both ends of one HTTPS connection on this node: curl's session (the
 * client, pid 100) and nginx's (the server, pid 200) each report every
 * byte. The first session seen is decoded, the other counted other_end:
 * each request once, tagged from its own header, as over cleartext.
 */
static void test_tls_both_ends_decoded_once(void **state)
{
	uint32_t q = sizeof(http_req) - 1, a = sizeof(resp_503) - 1;
	struct rec r[] = {
		tls_rec(100, 40005, 0, 0, JF, 0, http_req, q, T0 + MS),
		tls_rec(200, 40005, 0, 1, JF, 0, http_req, q, T0 + 2 * MS),
		tls_rec(200, 40005, 1, 1, JF, 0, resp_503, a, T0 + 5 * MS),
		tls_rec(100, 40005, 1, 0, JF, 0, resp_503, a, T0 + 6 * MS),
		tls_rec(100, 40005, 0, 0, J, q, req_2, sizeof(req_2) - 1, T0 + 10 * MS),
		tls_rec(200, 40005, 0, 1, J, q, req_2, sizeof(req_2) - 1, T0 + 11 * MS),
		tls_rec(200, 40005, 1, 1, J, a, resp_503, a, T0 + 12 * MS),
		tls_rec(100, 40005, 1, 0, J, a, resp_503, a, T0 + 13 * MS),
	};
	struct gp_rules *rules = default_rules();
	struct gp_snapshot snap;
	struct req_sink s;
	struct gp_pipeline *p = mk_req(&s, rules);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		feed(p, &r[i]);
	gp_pipeline_flush(p);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.reqs[0].alpn, "http/1.1");
	assert_true(s.reqs[0].tls);
	assert_string_equal(s.reqs[0].gray, "canary");
	assert_int_equal(s.reqs[0].code, GP_CODE_5XX);
	/* curl's clock: its write of the request to its read of the response */
	assert_int_equal(s.reqs[0].latency_ns, 5 * MS);
	assert_string_equal(s.reqs[1].gray, "two");
	assert_int_equal(s.reqs[1].latency_ns, 3 * MS);
	assert_int_equal(gp_pipeline_snapshot(p, &snap), 0);
	assert_int_equal(snap.tls.records[GP_TLS_R_DECODED], 4);
	assert_int_equal(snap.tls.records[GP_TLS_R_OTHER_END], 4);
	assert_int_equal(snap.tls.sessions, 2);
	gp_snapshot_release(&snap);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

/* A frame and its payload at out. */
static size_t h2_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
		       size_t n)
{
	h2_header(out, (uint32_t)n, type, flags, sid);
	memcpy(out + 9, pl, n);
	return 9 + n;
}

/* RFC 7541 C.3.1's request block: GET http://www.example.com/ */
static const uint8_t req_block[] = { 0x82, 0x86, 0x84, 0x41, 0x0f, 'w', 'w', 'w', '.', 'e', 'x',
				     'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };

/* HTTP/2 over TLS (alpn "h2"): that request, a ":status 200" answer. */
static void test_tls_h2_request(void **state)
{
	static const uint8_t status_200 = 0x88;
	uint8_t c[256], sv[128];
	size_t nc = 24, ns = 0;
	struct gp_rules *rules = default_rules();
	struct req_sink s;
	struct gp_pipeline *p = mk_req(&s, rules);
	struct rec r;

	(void)state;
	memcpy(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	nc += h2_frame(c + nc, 4, 0, 0, "", 0);
	nc += h2_frame(c + nc, 1, 0x5, 1, req_block, sizeof(req_block));
	ns += h2_frame(sv + ns, 4, 0, 0, "", 0);
	ns += h2_frame(sv + ns, 1, 0x4, 1, &status_200, 1);
	ns += h2_frame(sv + ns, 0, 0x1, 1, "ok\n", 3);
	r = tls_rec(300, 40006, 1, 1, JF, 0, sv, 9, T0);	/* the server's SETTINGS first */
	feed(p, &r);
	r = tls_rec(300, 40006, 0, 1, JF, 0, c, nc, T0 + MS);
	feed(p, &r);
	r = tls_rec(300, 40006, 1, 1, J, 9, sv + 9, ns - 9, T0 + 3 * MS);
	feed(p, &r);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.reqs[0].alpn, "h2");
	assert_true(s.reqs[0].tls);
	assert_int_equal(s.reqs[0].status, 200);
	assert_int_equal(s.reqs[0].stream, 1);
	assert_string_equal(s.reqs[0].authority, "www.example.com");
	assert_int_equal(s.reqs[0].latency_ns, 2 * MS);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

/*
 * An h2 TLS session whose client record with stream 3's HEADERS the ring
 * refused (the next one's offset jumps): the requests after it are still
 * counted, gray unknown (HPACK state lost) with their statuses, stream 3
 * from its response; the reason is in the snapshot.
 */
static void test_tls_h2_record_lost(void **state)
{
	static const uint8_t st[] = { 0x88, 0x89, 0x8d, 0x8e };	/* 200 204 404 500 */
	static const int code[] = { GP_CODE_2XX, GP_CODE_2XX, GP_CODE_4XX, GP_CODE_5XX };
	uint8_t c[256], sv[128];
	size_t nc = 24, ns = 0, h = 9 + sizeof(req_block), i, at;
	struct gp_rules *rules = default_rules();
	struct gp_snapshot snap;
	struct req_sink s;
	struct gp_pipeline *p = mk_req(&s, rules);
	struct rec r;

	(void)state;
	memcpy(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	nc += h2_frame(c + nc, 4, 0, 0, "", 0);
	for (i = 0; i < 4; i++)
		nc += h2_frame(c + nc, 1, 0x5, 1 + 2 * i, req_block, sizeof(req_block));
	ns += h2_frame(sv + ns, 4, 0, 0, "", 0);
	for (i = 0; i < 4; i++)
		ns += h2_frame(sv + ns, 1, 0x5, 1 + 2 * i, &st[i], 1);
	r = conn_rec(40010, 443, T0 - MS);
	feed(p, &r);
	r = tls_rec(300, 40010, 1, 1, JF, 0, sv, 9, T0);
	feed(p, &r);
	at = 24 + 9 + h;	/* stream 3's HEADERS: its record lost */
	r = tls_rec(300, 40010, 0, 1, JF, 0, c, at, T0 + MS);
	feed(p, &r);
	/* the request after the lost one comes before its response: the loss is known then */
	for (i = 0; i < 4; i++) {
		if (i == 1 || i == 2) {
			r = tls_rec(300, 40010, 0, 1, J, at + i * h, c + at + i * h, h,
				    T0 + (10 * i + 1) * MS);
			feed(p, &r);
		}
		r = tls_rec(300, 40010, 1, 1, J, 9 + i * 10, sv + 9 + i * 10, 10,
			    T0 + (10 * i + 3) * MS);
		feed(p, &r);
	}
	gp_pipeline_flush(p);
	assert_int_equal(s.n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s.reqs[i].stream, 1 + 2 * i);
		assert_int_equal(s.reqs[i].code, code[i]);
		assert_string_equal(s.reqs[i].alpn, "h2");
		assert_int_equal(s.reqs[i].dir, GP_DIR_OUTBOUND);
		assert_int_equal(!strcmp(s.reqs[i].gray, "unknown"), i > 0);
		assert_int_equal(s.reqs[i].reason, i ? GP_HTTP_LOST_MIDSTREAM : 0);
	}
	assert_int_equal(s.reqs[0].latency_ns, 2 * MS);
	assert_int_equal(s.reqs[2].latency_ns, 12 * MS);
	assert_int_equal(gp_pipeline_snapshot(p, &snap), 0);
	assert_int_equal(snap.req_undecoded[GP_DIR_OUTBOUND][GP_HTTP_LOST_MIDSTREAM], 3);
	assert_int_equal(snap.req_undecoded[GP_DIR_OUTBOUND][GP_HTTP_LOST_GAP], 0);
	expect_sample(&snap, "grayprobe_requests_undecoded_total{direction=\"outbound\","
		      "reason=\"midstream\"} 3");
	gp_snapshot_release(&snap);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

/*
 * Not joined (no socket TC follows), not HTTP, or after SSL_free: counted,
 * never decoded; a reused SSL * on another flow starts over.
 */
static void test_tls_not_decoded_is_counted(void **state)
{
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	struct gp_rules *rules = default_rules();
	struct gp_snapshot snap;
	struct req_sink s;
	struct gp_pipeline *p = mk_req(&s, rules);
	struct rec r;

	(void)state;
	r = tls_rec(400, 40007, 0, 0, GP_TLS_F_FIRST, 0, http_req, sizeof(http_req) - 1, T0);
	feed(p, &r);
	r = tls_rec(401, 40008, 0, 0, JF, 0, ssh, sizeof(ssh) - 1, T0);
	feed(p, &r);
	r = tls_rec(401, 40008, 0, 0, GP_TLS_F_CLOSE | J, 0, "", 0, T0 + MS);
	feed(p, &r);
	/* the same SSL * again, on another connection: decoded afresh */
	r = tls_rec(401, 40009, 0, 0, JF, 0, http_req, sizeof(http_req) - 1, T0 + 2 * MS);
	feed(p, &r);
	r = tls_rec(401, 40009, 1, 0, JF, 0, resp_503, sizeof(resp_503) - 1, T0 + 3 * MS);
	feed(p, &r);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.reqs[0].flow.sport, 40009);
	assert_int_equal(gp_pipeline_snapshot(p, &snap), 0);
	assert_int_equal(snap.tls.records[GP_TLS_R_NO_FLOW], 1);
	assert_int_equal(snap.tls.records[GP_TLS_R_NOT_HTTP], 1);
	assert_int_equal(snap.tls.records[GP_TLS_R_DECODED], 2);
	assert_int_equal(snap.tls.sessions, 2);
	gp_snapshot_release(&snap);
	gp_pipeline_expire(p, T0 + 2000 * 1000 * MS);
	assert_int_equal(gp_pipeline_sweep(p, T0 + 2000 * 1000 * MS), 0);
	assert_int_equal(gp_pipeline_snapshot(p, &snap), 0);
	assert_int_equal(snap.tls.sessions, 0);
	gp_snapshot_release(&snap);
	gp_pipeline_free(p);
	gp_rules_free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_and_replay_give_the_same_outcomes),
		cmocka_unit_test(test_snapshot_changes_nothing),
		cmocka_unit_test(test_sweep_runs_on_the_callers_clock),
		cmocka_unit_test(test_requests_from_l7_records),
		cmocka_unit_test(test_not_followed_reaches_the_snapshot),
		cmocka_unit_test(test_tls_both_ends_decoded_once),
		cmocka_unit_test(test_tls_h2_request),
		cmocka_unit_test(test_tls_h2_record_lost),
		cmocka_unit_test(test_tls_not_decoded_is_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
