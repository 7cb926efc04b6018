// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The request tracker driven by a script read from the input: requests,
 * responses, trailers, ends, resets, GOAWAYs and losses in any order on two
 * connections (one seen from one socket, one from both, like loopback),
 * timeouts, closes and flushes. Whatever the order, every request handed in
 * comes out exactly once per direction, with a code and slot in range, and
 * nothing stays open after the last close.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pipeline/request.h"

#define MS	1000000ull

struct count {
	uint64_t seen, unseen;
};

static void on_done(void *ctx, const struct gp_request *r)
{
	struct count *n = ctx;

	if (r->code >= GP_CODE_MAX || r->grpc_slot >= GP_GRPC_SLOTS || !r->gray[0] ||
	    r->dir > GP_DIR_MAX || (r->has_latency && !r->status) ||
	    (r->has_duration && r->duration_ns < r->latency_ns))
		abort();
	if (r->method[0])
		n->seen++;
	else
		n->unseen++;
}

static unsigned on_dirs(void *ctx, const struct gp_flow_tuple *f, uint32_t isn)
{
	(void)ctx;
	(void)isn;
	return f->sport == 40001 ? 3u : 1u;
}

static const char *const hdrs[] = {
	"", "x-canary: one\r\n", "content-type: application/grpc\r\nx-gray: g\r\n",
	"upgrade: h2c\r\n", "x-pin: one\r\n",
};

/* One scripted event from p[0..2]; the clock moves on. */
static void step(struct gp_req_tracker *t, struct gp_l7_conn *c, const uint8_t *p,
		 uint64_t *now)
{
	struct gp_http_msg m;

	memset(&m, 0, sizeof(m));
	m.ev = (enum gp_http_ev)(1 + p[0] % 7);
	m.proto = p[0] & 0x80 ? GP_L7P_H2 : GP_L7P_H1;
	m.stream = m.proto == GP_L7P_H2 ? 1 + 2 * (p[1] & 7) : 0;
	m.dir = m.ev == GP_HTTP_REQUEST ? 0 : 1;
	m.ts_ns = *now;
	m.method = "GET";
	m.authority = m.path = "";
	m.hdrs = (const uint8_t *)hdrs[p[2] % 5];
	m.hdrs_len = strlen(hdrs[p[2] % 5]);
	m.status = 100 + p[2] % 500;
	m.interim = m.status < 200 && m.status != 101;
	m.is_grpc = p[1] >> 7;
	m.grpc_status = (int)(p[2] % 20) - 2;
	m.last_stream = p[2] & 15;
	m.reason = 1 + p[2] % (GP_HTTP_LOST_MAX - 1);
	m.dir = m.ev == GP_HTTP_LOST ? p[1] & 1 : m.dir;
	m.malformed = (p[1] & 0x60) == 0x60;
	/* The kernel's running counts: HTTP/1 heads refused, HTTP/2 requests refused. */
	m.missed = p[2] & 7;
	m.h1_walk_on = m.ev == GP_HTTP_LOST && m.proto == GP_L7P_H1 && (p[1] & 0x08);
	gp_req_msg(t, c, &m);
	*now += (p[1] & 0x10) ? (uint64_t)p[2] * 400 * MS : MS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct count n = { 0, 0 };
	struct gp_req_ops ops = { .done = on_done, .dirs = on_dirs, .ctx = &n };
	struct gp_req_tracker *t = gp_req_new(&ops, 30000 * MS);
	struct gp_rules *rules = gp_rules_build(gp_rules_builder_new());
	struct gp_l7_conn c[2];
	struct gp_req_tracker_stats st;
	uint64_t now = 1000 * MS, want = 0, dropped = 0;
	size_t i;

	if (!t || !rules)
		abort();
	gp_req_set_rules(t, rules);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 2; i++) {
		c[i].flow.family = AF_INET;
		c[i].flow.sport = (uint16_t)(40000 + i);
		c[i].flow.dport = 80;
	}
	for (i = 0; i + 3 <= size; i += 3) {
		struct gp_l7_conn *k = &c[data[i + 1] >> 6 & 1];

		switch (data[i] % 16) {
		case 13:
			gp_req_expire(t, now);
			continue;
		case 14:
			gp_req_close(t, k);
			continue;
		case 15:
			gp_req_flush(t);
			continue;
		}
		step(t, k, data + i, &now);
		gp_req_tracker_stats(t, &st);
		if (1 + data[i] % 7 == GP_HTTP_REQUEST && st.dropped == dropped)
			want += k == &c[1] ? 2 : 1;
		dropped = st.dropped;
	}
	gp_req_close(t, &c[0]);
	gp_req_close(t, &c[1]);
	gp_req_tracker_stats(t, &st);
	if (st.open || n.seen != want)
		abort();
	gp_req_free(t);
	gp_rules_free(rules);
	return 0;
}
