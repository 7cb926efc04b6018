// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GP_EV_L7 records to message events: units joined from their records
 * (timed by the first), records that contradict their unit lose the
 * direction and are counted, END and LOST reach the right decoder, the
 * table is bounded, and a flow's end closes its HTTP/1 response and, after
 * the grace, the connection.
 *
 * HTTP/2 is checked for routing only: gp_h2_* are test doubles defined
 * here (so the linker does not take decode/h2.o from the archive), which
 * log what they were handed and can be told to fail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode/h2.h"
#include "decode/l7.h"
#include "pipeline/payload.h"

#define EV_MAX 64

struct ev {
	struct gp_http_msg m;
	struct gp_l7_conn *c;
	char method[32], path[300], authority[200], gray[64];
};

/* The doubles' log: each call to gp_h2_frame and gp_h2_lost. */
struct h2call {
	int lost;
	unsigned dir, reason;
	uint32_t missed;
	size_t len;
	int truncated;
	uint64_t ts;
	uint8_t first;
};

static struct {
	struct ev ev[EV_MAX];
	int n;
	int closes, closes_user, truncated;
	struct h2call h2[EV_MAX];
	int n_h2, h2_new, h2_free, h2_fail;
} g;

struct gp_h2_conn {
	gp_http_msg_fn fn;
	void *ctx;
};

struct gp_h2_conn *gp_h2_conn_new(gp_http_msg_fn fn, void *ctx)
{
	struct gp_h2_conn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fn = fn;
	c->ctx = ctx;
	g.h2_new++;
	return c;
}

void gp_h2_conn_free(struct gp_h2_conn *c)
{
	if (c)
		g.h2_free++;
	free(c);
}

/* Logs the frame; a HEADERS frame (type 1) becomes a GP_HTTP_REQUEST/RESPONSE. */
int gp_h2_frame(struct gp_h2_conn *c, unsigned dir, const uint8_t *frame, size_t len,
		int truncated, uint64_t ts_ns)
{
	struct h2call *k = &g.h2[g.n_h2++];
	struct gp_http_msg m = { .dir = (uint8_t)dir, .proto = GP_L7P_H2, .ts_ns = ts_ns,
				 .method = "", .authority = "", .path = "", .grpc_status = -1 };

	*k = (struct h2call){ .dir = dir, .len = len, .truncated = truncated, .ts = ts_ns,
			      .first = len ? frame[0] : 0 };
	if (g.h2_fail)
		return -EBADMSG;
	if (len >= 9 && frame[3] == 1) {
		m.ev = dir ? GP_HTTP_RESPONSE : GP_HTTP_REQUEST;
		m.stream = 1;
		c->fn(c->ctx, &m);
	}
	return 0;
}

void gp_h2_lost(struct gp_h2_conn *c, unsigned dir, unsigned reason, uint32_t missed,
		uint64_t ts_ns)
{
	(void)c;
	g.h2[g.n_h2++] = (struct h2call){ .lost = 1, .dir = dir, .reason = reason, .ts = ts_ns,
					  .missed = missed };
}

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	struct ev *e = &g.ev[g.n];

	(void)ctx;
	if (!c->user)
		c->user = &g;	/* the consumer's: must come back as set */
	g.truncated += m->ev == GP_HTTP_LOST && m->reason == GP_HTTP_LOST_TRUNCATED;
	if (g.n == EV_MAX)
		return;		/* logged no further */
	g.n++;
	e->m = *m;
	e->c = c;
	if (m->ev == GP_HTTP_REQUEST || m->ev == GP_HTTP_RESPONSE) {
		snprintf(e->method, sizeof(e->method), "%s", m->method);
		snprintf(e->path, sizeof(e->path), "%s", m->path);
		snprintf(e->authority, sizeof(e->authority), "%s", m->authority);
		if (m->hdrs)
			gp_http1_header(m->hdrs, m->hdrs_len, "x-gray", e->gray, sizeof(e->gray));
	}
}

static void on_close(void *ctx, struct gp_l7_conn *c)
{
	(void)ctx;
	g.closes++;
	g.closes_user += c->user == &g;
}

static const struct gp_l7_ops ops = { .msg = on_msg, .close = on_close };

static int setup(void **state)
{
	memset(&g, 0, sizeof(g));
	*state = gp_l7_new(&ops);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	gp_l7_free(*state);
	return 0;
}

static struct gp_l7_event hdr(unsigned dir, unsigned kind, unsigned proto, uint32_t unit_off,
			      uint32_t off, uint32_t len, unsigned flags, uint64_t ts)
{
	struct gp_l7_event h;

	memset(&h, 0, sizeof(h));
	h.type = GP_EV_L7;
	h.ifindex = 3;
	h.ts_ns = ts;
	h.flow.family = 2;
	h.flow.saddr[0] = 198, h.flow.saddr[1] = 18, h.flow.saddr[3] = 1;
	h.flow.daddr[0] = 198, h.flow.daddr[1] = 18, h.flow.daddr[3] = 2;
	h.flow.sport = 40000;
	h.flow.dport = 80;
	h.isn = 1234;
	h.unit_off = unit_off;
	h.off = off;
	h.len = len;
	h.dir = (uint8_t)dir;
	h.kind = (uint8_t)kind;
	h.proto = (uint8_t)proto;
	h.flags = (uint8_t)flags;
	return h;
}

/* A whole unit in one record. */
static int unit(struct gp_l7 *t, unsigned dir, unsigned proto, uint32_t off, const char *s,
		size_t len, unsigned flags, uint64_t ts)
{
	struct gp_l7_event h = hdr(dir, GP_L7_UNIT, proto, off, off, (uint32_t)len,
				   flags | GP_L7_F_LAST, ts);

	return gp_l7_record(t, &h, (const uint8_t *)s);
}

static int h1(struct gp_l7 *t, unsigned dir, uint32_t off, const char *s, uint64_t ts)
{
	return unit(t, dir, GP_L7P_H1, off, s, strlen(s), 0, ts);
}

static int end(struct gp_l7 *t, unsigned dir, unsigned proto, const uint8_t *data,
	       uint32_t len, uint64_t ts)
{
	struct gp_l7_event h = hdr(dir, GP_L7_END, proto, 0, 0, len, 0, ts);

	return gp_l7_record(t, &h, data);
}

static int lost(struct gp_l7 *t, unsigned dir, unsigned proto, unsigned reason, uint64_t ts)
{
	struct gp_l7_event h = hdr(dir, GP_L7_LOST, proto, 0, 0, 0, 0, ts);

	h.reason = reason;
	return gp_l7_record(t, &h, NULL);
}

static void is_ev(int i, enum gp_http_ev ev, unsigned dir, uint64_t ts)
{
	assert_true(i < g.n);
	assert_int_equal(g.ev[i].m.ev, ev);
	assert_int_equal(g.ev[i].m.dir, dir);
	assert_int_equal(g.ev[i].m.ts_ns, ts);
}

static void is_lost(int i, unsigned dir, unsigned reason)
{
	assert_true(i < g.n);
	assert_int_equal(g.ev[i].m.ev, GP_HTTP_LOST);
	assert_int_equal(g.ev[i].m.dir, dir);
	assert_int_equal(g.ev[i].m.reason, reason);
	assert_int_equal(g.ev[i].m.proto, GP_L7P_H1);
}

static struct gp_l7_stats stats(struct gp_l7 *t)
{
	struct gp_l7_stats s;

	gp_l7_stats(t, &s);
	return s;
}

#define REQ1 "GET /one HTTP/1.1\r\nHost: h\r\nX-Gray: canary\r\n\r\n"
#define REQ2 "GET /two HTTP/1.1\r\nHost: h\r\n\r\n"
#define RESP "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"

/* Keep-alive: request, response, end, then again; each request its own tag. */
static void test_h1_exchange(void **state)
{
	struct gp_l7 *t = *state;

	assert_int_equal(h1(t, 0, 0, REQ1, 100), 0);
	assert_int_equal(h1(t, 1, 0, RESP, 200), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 300), 0);
	assert_int_equal(end(t, 0, GP_L7P_H1, NULL, 0, 301), 0);	/* no event */
	assert_int_equal(h1(t, 0, sizeof(REQ1) - 1, REQ2, 400), 0);
	assert_int_equal(h1(t, 1, sizeof(RESP) - 1 + 5, RESP, 500), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 600), 0);
	assert_int_equal(g.n, 6);
	is_ev(0, GP_HTTP_REQUEST, 0, 100);
	assert_string_equal(g.ev[0].path, "/one");
	assert_string_equal(g.ev[0].gray, "canary");
	assert_int_equal(g.ev[0].m.proto, GP_L7P_H1);
	is_ev(1, GP_HTTP_RESPONSE, 1, 200);
	assert_int_equal(g.ev[1].m.status, 200);
	is_ev(2, GP_HTTP_RESPONSE_END, 1, 300);
	is_ev(3, GP_HTTP_REQUEST, 0, 400);
	assert_string_equal(g.ev[3].path, "/two");
	assert_string_equal(g.ev[3].gray, "");
	is_ev(4, GP_HTTP_RESPONSE, 1, 500);
	is_ev(5, GP_HTTP_RESPONSE_END, 1, 600);

	assert_ptr_equal(g.ev[0].c, g.ev[5].c);
	assert_int_equal(g.ev[0].c->ifindex, 3);
	assert_int_equal(g.ev[0].c->isn, 1234);
	assert_int_equal(g.ev[0].c->flow.dport, 80);
	assert_int_equal(stats(t).conns, 1);
	assert_int_equal(stats(t).bad_records, 0);
}

/* A head in three records: joined, timed by the first. */
static void test_unit_split(void **state)
{
	static const char s[] = REQ1;
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 1000, 1000, 10, 0, 50);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)s), 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 1000, 1010, 20, 0, 60);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)s + 10), 0);
	assert_int_equal(g.n, 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 1000, 1030, sizeof(s) - 1 - 30, GP_L7_F_LAST, 70);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)s + 30), 0);
	assert_int_equal(g.n, 1);
	is_ev(0, GP_HTTP_REQUEST, 0, 50);
	assert_string_equal(g.ev[0].gray, "canary");
	assert_string_equal(g.ev[0].authority, "h");
}

/* A record that does not continue its unit loses the direction, once, counted. */
static void test_contradicting_records(void **state)
{
	static const char s[] = REQ1;
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 0, 10, 0, 1);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)s), 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 11, 10, 0, 2);	/* a byte missing */
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)s + 11), -EINVAL);
	assert_int_equal(g.n, 1);
	is_lost(0, 0, GP_HTTP_LOST_GAP);
	assert_int_equal(stats(t).bad_records, 1);
	/* The direction is dead: nothing more from it, not even a good head. */
	assert_int_equal(h1(t, 0, 100, REQ2, 3), 0);
	assert_int_equal(g.n, 1);
	/* The other one is not. */
	assert_int_equal(h1(t, 1, 0, RESP, 4), 0);
	assert_int_equal(g.n, 2);
	is_ev(1, GP_HTTP_RESPONSE, 1, 4);
	assert_int_equal(stats(t).bad_records, 1);
}

static void test_bad_record_kinds(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h;
	uint8_t nine[9] = { 0 };

	/* unit_off moved inside a unit. */
	h = hdr(1, GP_L7_UNIT, GP_L7P_H1, 0, 0, 4, 0, 1);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)RESP), 0);
	h = hdr(1, GP_L7_UNIT, GP_L7P_H1, 4, 4, 4, GP_L7_F_LAST, 2);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)RESP + 4), -EINVAL);
	is_lost(0, 1, GP_HTTP_LOST_GAP);

	/* A unit whose first record does not start it; a repeated unit. */
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 5, 4, GP_L7_F_LAST, 3);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)REQ1), -EINVAL);
	is_lost(1, 0, GP_HTTP_LOST_GAP);
	assert_int_equal(stats(t).bad_records, 2);

	h = hdr(0, 9, GP_L7P_H1, 0, 0, 0, 0, 4);
	h.isn = 1;	/* another connection */
	assert_int_equal(gp_l7_record(t, &h, NULL), -EINVAL);
	is_lost(2, 0, GP_HTTP_LOST_MALFORMED);
	h = hdr(0, GP_L7_UNIT, GP_L7P_NONE, 0, 0, 4, GP_L7_F_LAST, 4);
	h.isn = 2;
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)REQ1), -EINVAL);
	is_lost(3, 0, GP_HTTP_LOST_MALFORMED);
	assert_int_equal(stats(t).bad_records, 4);

	/* Not for any direction: refused, counted, no connection made. */
	h = hdr(2, GP_L7_UNIT, GP_L7P_H1, 0, 0, 0, 0, 5);
	h.isn = 3;
	assert_int_equal(gp_l7_record(t, &h, nine), -EINVAL);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 0, 0, 0, 5);
	h.type = GP_EV_PAYLOAD;
	assert_int_equal(gp_l7_record(t, &h, nine), -EINVAL);
	assert_int_equal(stats(t).bad_records, 6);
	assert_int_equal(stats(t).conns, 3);
	assert_int_equal(g.n, 4);
}

static void test_repeat_and_restart(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	assert_int_equal(h1(t, 0, 0, REQ1, 1), 0);
	assert_int_equal(h1(t, 0, 0, REQ1, 2), -EINVAL);	/* the same unit again */
	assert_int_equal(g.n, 2);
	is_lost(1, 0, GP_HTTP_LOST_GAP);

	/* A new unit while one is incomplete: its LAST record went missing. */
	h = hdr(1, GP_L7_UNIT, GP_L7P_H1, 0, 0, 5, 0, 3);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)RESP), 0);
	assert_int_equal(h1(t, 1, 100, RESP, 4), -EINVAL);
	is_lost(2, 1, GP_HTTP_LOST_GAP);
	assert_int_equal(stats(t).bad_records, 2);
}

/* Heads past GP_L7_HEAD_MAX, cut ones and ones that do not parse. */
static void test_head_limits(void **state)
{
	static char big[GP_L7_HEAD_MAX + 1];
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	memset(big, 'a', sizeof(big));
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 0, GP_L7_HEAD_MAX, 0, 1);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)big), 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, GP_L7_HEAD_MAX, 1, GP_L7_F_LAST, 2);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)big), -EINVAL);
	is_lost(0, 0, GP_HTTP_LOST_MALFORMED);

	assert_int_equal(unit(t, 1, GP_L7P_H1, 0, RESP, 10, GP_L7_F_TRUNC, 3), 0);
	is_lost(1, 1, GP_HTTP_LOST_TRUNCATED);
	assert_int_equal(stats(t).bad_records, 1);
	gp_l7_free(t);

	/* A head that does not parse, a request where a response belongs, trailing bytes. */
	memset(&g, 0, sizeof(g));
	*state = t = gp_l7_new(&ops);
	assert_int_equal(h1(t, 0, 0, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 1), 0);
	is_lost(0, 0, GP_HTTP_LOST_HEAD);
	assert_int_equal(h1(t, 1, 0, REQ1, 2), 0);
	is_lost(1, 1, GP_HTTP_LOST_HEAD);
	assert_int_equal(stats(t).bad_records, 0);
	assert_int_equal(g.n, 2);
}

static void test_head_trailing_bytes(void **state)
{
	struct gp_l7 *t = *state;

	assert_int_equal(h1(t, 0, 0, REQ1 "GET", 1), 0);
	is_lost(0, 0, GP_HTTP_LOST_HEAD);
	assert_int_equal(h1(t, 1, 0, "HTTP/1.1 200 OK\r\n", 2), 0);	/* no blank line */
	is_lost(1, 1, GP_HTTP_LOST_HEAD);
}

/*
 * HTTP/1 after the ring refused records: the kernel's count of heads
 * refused is told (the direction goes on), the rest of a unit whose start
 * was refused is skipped, and the next head decodes as ever.
 */
static void test_h1_ringbuf_walks_on(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(0, GP_L7_LOST, GP_L7P_H1, 1, 47, 0, 0, 3);
	size_t n = strlen(REQ1);

	assert_int_equal(h1(t, 0, 0, REQ1, 1), 0);
	h.reason = GP_L7_LOST_RINGBUF;
	assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	assert_int_equal(g.n, 2);
	is_lost(1, 0, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(g.ev[1].m.missed, 1);
	assert_int_equal(g.ev[1].m.h1_walk_on, 1);
	/* The second head's last part (its first was refused), then the third whole. */
	h = hdr(0, GP_L7_UNIT, GP_L7P_H1, (uint32_t)n, (uint32_t)n + 10, 5, GP_L7_F_LAST, 4);
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)"\r\n\r\n\r"), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(h1(t, 0, 2 * (uint32_t)n, REQ1, 5), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.ev[2].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(g.ev[2].m.reason, 0);
	assert_string_equal(g.ev[2].path, "/one");
	assert_int_equal(stats(t).bad_records, 0);
}

/* The kernel's LOST: told once per direction, with its reason. */
static void test_h1_lost(void **state)
{
	struct gp_l7 *t = *state;

	assert_int_equal(lost(t, 1, GP_L7P_H1, GP_L7_LOST_GAP, 5), 0);
	assert_int_equal(lost(t, 1, GP_L7P_H1, GP_L7_LOST_RINGBUF, 6), 0);
	assert_int_equal(lost(t, 0, GP_L7P_NONE, 77, 7), 0);
	assert_int_equal(g.n, 2);
	is_lost(0, 1, GP_HTTP_LOST_GAP);
	assert_int_equal(g.ev[0].m.ts_ns, 5);
	is_lost(1, 0, GP_HTTP_LOST_MALFORMED);
	assert_int_equal(stats(t).bad_records, 0);
	assert_int_equal(g.n_h2, 0);
}

/* Interim responses and 101 have no end of their own. */
static void test_interim(void **state)
{
	struct gp_l7 *t = *state;

	assert_int_equal(h1(t, 0, 0, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
			 "Content-Length: 3\r\n\r\n", 1), 0);
	assert_int_equal(h1(t, 1, 0, "HTTP/1.1 100 Continue\r\n\r\n", 2), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 3), 0);
	assert_int_equal(h1(t, 1, 100, RESP, 4), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 5), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 6), 0);
	assert_int_equal(g.n, 4);
	is_ev(1, GP_HTTP_RESPONSE, 1, 2);
	assert_int_equal(g.ev[1].m.interim, 1);
	is_ev(2, GP_HTTP_RESPONSE, 1, 4);
	is_ev(3, GP_HTTP_RESPONSE_END, 1, 5);
}

/* A close-delimited response ends with the flow; the connection goes after the grace. */
static void test_flow_end(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(0, 0, 0, 0, 0, 0, 0, 0);
	const uint64_t s = 1000000000ull;

	assert_int_equal(h1(t, 0, 0, REQ1, 1 * s), 0);
	assert_int_equal(h1(t, 1, 0, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 2 * s), 0);
	gp_l7_flow_end(t, &h.flow, h.isn, 3 * s);
	assert_int_equal(g.n, 3);
	is_ev(2, GP_HTTP_RESPONSE_END, 1, 3 * s);
	assert_true(g.ev[1].m.conn_close);
	gp_l7_flow_end(t, &h.flow, h.isn, 4 * s);	/* once */
	assert_int_equal(g.n, 3);

	/* Records racing the FIN still count until the grace is over. */
	assert_int_equal(lost(t, 0, GP_L7P_H1, GP_L7_LOST_GAP, 3 * s + 1), 0);
	assert_int_equal(g.n, 4);
	gp_l7_expire(t, 3 * s + GP_L7_END_GRACE_NS - 1, 3600 * s);
	assert_int_equal(g.closes, 0);
	gp_l7_expire(t, 3 * s + GP_L7_END_GRACE_NS, 3600 * s);
	assert_int_equal(g.closes, 1);
	assert_int_equal(g.closes_user, 1);
	assert_int_equal(stats(t).conns, 0);
	assert_int_equal(g.n, 4);

	/* Another connection of the tuple: a response ended by END gets no second end. */
	assert_int_equal(h1(t, 1, 0, RESP, 10 * s), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 11 * s), 0);
	gp_l7_flow_end(t, &h.flow, h.isn, 12 * s);
	assert_int_equal(g.n, 6);
	gp_l7_flow_end(t, &h.flow, 999, 12 * s);	/* unknown: nothing */
	assert_int_equal(g.n, 6);
	assert_int_equal(g.closes, 1);
}

/* A response head that raced the FIN is ended when the connection closes. */
static void test_head_after_flow_end(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(0, 0, 0, 0, 0, 0, 0, 0);

	assert_int_equal(h1(t, 0, 0, REQ1, 1), 0);
	gp_l7_flow_end(t, &h.flow, h.isn, 2);
	assert_int_equal(h1(t, 1, 0, RESP, 3), 0);
	gp_l7_expire(t, 2 + GP_L7_END_GRACE_NS, UINT64_MAX);
	assert_int_equal(g.n, 3);
	is_ev(2, GP_HTTP_RESPONSE_END, 1, 2);
	assert_int_equal(g.closes, 1);
}

static void test_idle(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 0, sizeof(REQ2) - 1,
				   GP_L7_F_LAST, 100);

	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)REQ2), 0);
	h.isn = 77;	/* the tuple reused: another connection */
	h.ts_ns = 200;
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)REQ2), 0);
	assert_int_equal(stats(t).conns, 2);
	assert_ptr_not_equal(g.ev[0].c, g.ev[1].c);
	gp_l7_expire(t, 150, 60);
	assert_int_equal(g.closes, 0);
	gp_l7_expire(t, 160, 60);
	assert_int_equal(g.closes, 1);
	assert_int_equal(stats(t).conns, 1);
	gp_l7_expire(t, 260, 60);
	assert_int_equal(stats(t).conns, 0);
	assert_int_equal(g.closes, 2);
}

static void test_table_full(void **state)
{
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(1, GP_L7_LOST, GP_L7P_H1, 0, 0, 0, 0, 1);
	uint32_t i;

	h.reason = GP_L7_LOST_MIDSTREAM;
	for (i = 0; i < GP_L7_CONNS_MAX; i++) {
		h.isn = i;
		assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	}
	assert_int_equal(stats(t).conns, GP_L7_CONNS_MAX);
	assert_int_equal(g.n, EV_MAX);	/* on_msg stops logging there */
	h.isn = i;
	assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	assert_int_equal(stats(t).conns, GP_L7_CONNS_MAX);
	assert_int_equal(stats(t).conns_dropped, 1);
	/* Known connections still are followed. */
	h.isn = 5;
	h.dir = 0;
	assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	assert_int_equal(stats(t).conns_dropped, 1);
	gp_l7_free(t);
	*state = NULL;
	assert_int_equal(g.closes, GP_L7_CONNS_MAX);
}

/* Units left unfinished on many connections hold 32 MiB at most, together. */
static void test_partial_budget(void **state)
{
	static char head[4000];
	struct gp_l7 *t = *state;
	struct gp_l7_event h = hdr(0, GP_L7_UNIT, GP_L7P_H1, 0, 0, sizeof(head), 0, 1);
	const uint32_t fit = (32u << 20) / sizeof(head);
	uint32_t i;

	for (i = 0; i < fit + 10; i++) {
		h.isn = i;
		assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)head), i < fit ? 0 : -ENOBUFS);
	}
	assert_int_equal(g.truncated, 10);
	/* A connection that goes frees its share for another. */
	gp_l7_expire(t, 100, 50);
	assert_int_equal(stats(t).conns, 0);
	h.isn = 12345678;
	assert_int_equal(gp_l7_record(t, &h, (const uint8_t *)head), 0);
	assert_int_equal(g.truncated, 10);
	assert_int_equal(stats(t).bad_records, 0);
}

/* Upgrade: h2c, 101, then HTTP/2 frames in both directions, to the HTTP/2 decoder. */
static void test_h2c_upgrade(void **state)
{
	static const uint8_t settings[] = { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100 };
	static const uint8_t headers[] = { 0, 0, 3, 1, 4, 0, 0, 0, 1, 0x88, 0x82, 0x84 };
	static const uint8_t data_end[9] = { 0, 0, 5, 0, 1, 0, 0, 0, 1 };
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	assert_int_equal(h1(t, 0, 0, "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, "
			 "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
			 1), 0);
	assert_int_equal(h1(t, 1, 0, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			 "Upgrade: h2c\r\n\r\n", 2), 0);
	assert_int_equal(end(t, 1, GP_L7P_H1, NULL, 0, 3), 0);	/* 101 has no end */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.h2_new, 0);

	/* A frame in two records: timed by the first, handed whole. */
	h = hdr(1, GP_L7_UNIT, GP_L7P_H2, 80, 80, 4, 0, 10);
	assert_int_equal(gp_l7_record(t, &h, headers), 0);
	h = hdr(1, GP_L7_UNIT, GP_L7P_H2, 80, 84, sizeof(headers) - 4, GP_L7_F_LAST, 11);
	assert_int_equal(gp_l7_record(t, &h, headers + 4), 0);
	assert_int_equal(unit(t, 0, GP_L7P_H2, 200, (const char *)settings, sizeof(settings),
			      0, 12), 0);
	assert_int_equal(end(t, 1, GP_L7P_H2, data_end, 9, 13), 0);
	assert_int_equal(g.h2_new, 1);
	assert_int_equal(g.n_h2, 3);
	assert_int_equal(g.h2[0].dir, 1);
	assert_int_equal(g.h2[0].len, sizeof(headers));
	assert_int_equal(g.h2[0].ts, 10);
	assert_int_equal(g.h2[1].dir, 0);
	assert_int_equal(g.h2[1].len, sizeof(settings));
	assert_int_equal(g.h2[2].len, 9);
	assert_int_equal(g.h2[2].ts, 13);
	/* The decoder's events reach ops.msg with the connection. */
	assert_int_equal(g.n, 3);
	is_ev(2, GP_HTTP_RESPONSE, 1, 10);
	assert_int_equal(g.ev[2].m.proto, GP_L7P_H2);
	assert_ptr_equal(g.ev[2].c, g.ev[0].c);

	/* HTTP/1 after HTTP/2 in a direction: a contradiction. */
	assert_int_equal(h1(t, 0, 300, REQ2, 14), -EINVAL);
	assert_int_equal(stats(t).bad_records, 1);
	assert_int_equal(g.n_h2, 4);
	assert_int_equal(g.h2[3].lost, 1);
	assert_int_equal(g.h2[3].reason, GP_HTTP_LOST_MALFORMED);
	gp_l7_free(t);
	*state = NULL;
	assert_int_equal(g.h2_free, 1);
	assert_int_equal(g.closes, 1);
}

static void test_h2_routing(void **state)
{
	static const uint8_t ping[17] = { 0, 0, 8, 6 };
	static const uint8_t goaway[17] = { 0, 0, 30, 7 };
	struct gp_l7 *t = *state;

	/* Prior knowledge: HTTP/2 from the first record; TRUNC reaches the decoder. */
	assert_int_equal(unit(t, 1, GP_L7P_H2, 0, (const char *)goaway, sizeof(goaway),
			      GP_L7_F_TRUNC, 1), 0);
	assert_int_equal(g.h2[0].truncated, 1);
	assert_int_equal(g.h2[0].first, 0);
	assert_int_equal(end(t, 1, GP_L7P_H2, ping, 8, 2), -EINVAL);	/* END without 9 bytes */
	assert_int_equal(stats(t).bad_records, 1);
	assert_int_equal(g.h2[1].lost, 1);
	assert_int_equal(g.h2[1].dir, 1);

	/* The kernel's LOST goes to gp_h2_lost, with NONE too once the direction is HTTP/2. */
	assert_int_equal(unit(t, 0, GP_L7P_H2, 0, (const char *)ping, sizeof(ping), 0, 3), 0);
	assert_int_equal(lost(t, 0, GP_L7P_NONE, GP_L7_LOST_GAP, 4), 0);
	assert_int_equal(g.n_h2, 4);
	assert_int_equal(g.h2[3].lost, 1);
	assert_int_equal(g.h2[3].reason, GP_HTTP_LOST_GAP);
	assert_int_equal(g.h2[3].ts, 4);
	assert_int_equal(g.n, 0);
}

/* A frame the decoder refuses kills the direction: later ones are not handed on. */
static void test_h2_decoder_fails(void **state)
{
	static const uint8_t ping[17] = { 0, 0, 8, 6 };
	struct gp_l7 *t = *state;

	g.h2_fail = 1;
	assert_int_equal(unit(t, 0, GP_L7P_H2, 0, (const char *)ping, sizeof(ping), 0, 1), 0);
	assert_int_equal(unit(t, 0, GP_L7P_H2, 17, (const char *)ping, sizeof(ping), 0, 2), 0);
	assert_int_equal(lost(t, 0, GP_L7P_H2, GP_L7_LOST_GAP, 3), 0);
	assert_int_equal(g.n_h2, 1);
	assert_int_equal(unit(t, 1, GP_L7P_H2, 0, (const char *)ping, sizeof(ping), 0, 4), 0);
	assert_int_equal(g.n_h2, 2);
	assert_int_equal(stats(t).bad_records, 0);
}

/* HTTP/2 frames up to GP_L7_FRAME_MAX are taken; one byte more is not. */
static void test_h2_frame_max(void **state)
{
	static uint8_t big[GP_L7_FRAME_MAX + 1];
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	h = hdr(0, GP_L7_UNIT, GP_L7P_H2, 0, 0, 9000, 0, 1);
	assert_int_equal(gp_l7_record(t, &h, big), 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H2, 0, 9000, GP_L7_FRAME_MAX - 9000, GP_L7_F_LAST, 2);
	assert_int_equal(gp_l7_record(t, &h, big), 0);
	assert_int_equal(g.h2[0].len, GP_L7_FRAME_MAX);
	h = hdr(1, GP_L7_UNIT, GP_L7P_H2, 0, 0, GP_L7_FRAME_MAX + 1, GP_L7_F_LAST, 3);
	assert_int_equal(gp_l7_record(t, &h, big), -EINVAL);
	assert_int_equal(g.h2[1].lost, 1);
	assert_int_equal(g.h2[1].reason, GP_HTTP_LOST_MALFORMED);
}

/*
 * HTTP/2 records the ring lost: the partial unit is dropped, the rest of
 * a unit whose start was lost is skipped (no bad record), the next unit
 * goes on to the decoder, with the kernel's count of requests refused. A
 * RINGBUF with proto NONE (the kernel stopped) loses the direction.
 */
static void test_h2_ringbuf_resync(void **state)
{
	static uint8_t f[9000];
	struct gp_l7 *t = *state;
	struct gp_l7_event h;

	h = hdr(0, GP_L7_UNIT, GP_L7P_H2, 0, 0, 9000, 0, 1);
	assert_int_equal(gp_l7_record(t, &h, f), 0);
	h = hdr(0, GP_L7_LOST, GP_L7P_H2, 3, 9000, 0, 0, 2);
	h.reason = GP_L7_LOST_RINGBUF;
	assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	assert_int_equal(g.n_h2, 1);
	assert_int_equal(g.h2[0].lost, 1);
	assert_int_equal(g.h2[0].reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(g.h2[0].missed, 3);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H2, 0, 9000, 100, GP_L7_F_LAST, 3);	/* its start was lost */
	assert_int_equal(gp_l7_record(t, &h, f), 0);
	h = hdr(0, GP_L7_UNIT, GP_L7P_H2, 5000, 9100, 100, GP_L7_F_LAST, 3);	/* another's rest */
	assert_int_equal(gp_l7_record(t, &h, f), 0);
	assert_int_equal(g.n_h2, 1);
	assert_int_equal(unit(t, 0, GP_L7P_H2, 9200, (const char *)f, 17, 0, 4), 0);
	assert_int_equal(unit(t, 0, GP_L7P_H2, 9217, (const char *)f, 17, 0, 5), 0);
	assert_int_equal(g.n_h2, 3);
	assert_int_equal(g.h2[2].lost, 0);
	assert_int_equal(g.h2[2].len, 17);
	assert_int_equal(stats(t).bad_records, 0);

	h = hdr(1, GP_L7_LOST, GP_L7P_NONE, 0, 0, 0, 0, 6);
	h.reason = GP_L7_LOST_RINGBUF;
	assert_int_equal(unit(t, 1, GP_L7P_H2, 0, (const char *)f, 17, 0, 6), 0);
	assert_int_equal(gp_l7_record(t, &h, NULL), 0);
	assert_int_equal(g.n_h2, 5);
	assert_int_equal(g.h2[4].lost, 1);
	assert_int_equal(g.h2[4].missed, 0);
	assert_int_equal(unit(t, 1, GP_L7P_H2, 17, (const char *)f, 17, 0, 7), 0);
	assert_int_equal(g.n_h2, 5);	/* dead */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_h1_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contradicting_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_record_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_trailing_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_ringbuf_walks_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_after_flow_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2c_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_decoder_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_frame_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_ringbuf_resync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
