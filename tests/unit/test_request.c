// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Request tracker: decoded HTTP message events in, one finished request out,
 * each with its own gray tag, status and latency: HTTP/1 keep-alive and
 * pipelined (FIFO), HTTP/2 streams, gRPC, resets, timeouts, lost directions;
 * and the aggregation's request series under the --max-tags rules.
 * Addresses are from 198.18.0.0/15 only.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "pipeline/agg.h"
#include "pipeline/request.h"
#include "pipeline/rules.h"
#include "unit.h"

#define MS		1000000ull
#define TIMEOUT		(30000 * MS)
#define T0		(86400ull * 1000 * MS)
#define MAX_OUT		64

static struct gp_request out[MAX_OUT];
static size_t n_out;
static unsigned dirs_mask;
static struct gp_req_tracker *T;
static struct gp_rules *R;
static struct gp_l7_conn C;

static void on_done(void *ctx, const struct gp_request *r)
{
	(void)ctx;
	assert_true(n_out < MAX_OUT);
	out[n_out++] = *r;
}

static unsigned on_dirs(void *ctx, const struct gp_flow_tuple *f, uint32_t isn)
{
	(void)ctx;
	(void)f;
	(void)isn;
	return dirs_mask;
}

static int setup(void **state)
{
	struct gp_req_ops ops = { .done = on_done, .dirs = on_dirs };

	(void)state;
	n_out = 0;
	dirs_mask = 1u << GP_DIR_OUTBOUND;
	memset(&C, 0, sizeof(C));
	C.flow.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", C.flow.saddr);
	inet_pton(AF_INET, "198.18.0.2", C.flow.daddr);
	C.flow.sport = 40000;
	C.flow.dport = 80;
	C.isn = 7;
	T = gp_req_new(&ops, TIMEOUT);
	R = rules_from("header x-pin ~ one = pinned");
	gp_req_set_rules(T, R);
	return T ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	gp_req_close(T, &C);
	gp_req_free(T);
	gp_rules_free(R);
	return 0;
}

/* ---- message events ----------------------------------------------------- */

static void put_msg(struct gp_http_msg *m)
{
	gp_req_msg(T, &C, m);
}

static struct gp_http_msg msg(enum gp_http_ev ev, unsigned proto, uint32_t stream, uint64_t ms)
{
	struct gp_http_msg m;

	memset(&m, 0, sizeof(m));
	m.ev = ev;
	m.proto = (uint8_t)proto;
	m.stream = stream;
	m.ts_ns = T0 + ms * MS;
	m.grpc_status = -1;
	m.dir = ev == GP_HTTP_REQUEST ? 0 : 1;
	m.method = m.authority = m.path = "";
	return m;
}

static void req(unsigned proto, uint32_t stream, uint64_t ms, const char *method, const char *path,
		const char *hdrs)
{
	struct gp_http_msg m = msg(GP_HTTP_REQUEST, proto, stream, ms);

	m.method = method;
	m.authority = "svc.example";
	m.path = path;
	m.hdrs = (const uint8_t *)hdrs;
	m.hdrs_len = strlen(hdrs);
	put_msg(&m);
}

static void resp(unsigned proto, uint32_t stream, uint64_t ms, int status)
{
	struct gp_http_msg m = msg(GP_HTTP_RESPONSE, proto, stream, ms);

	m.status = status;
	m.interim = status >= 100 && status < 200 && status != 101;
	put_msg(&m);
}

static void end(unsigned proto, uint32_t stream, uint64_t ms)
{
	struct gp_http_msg m = msg(GP_HTTP_RESPONSE_END, proto, stream, ms);

	put_msg(&m);
}

/* A gRPC response head (grpc_status >= 0: trailers-only), and trailers. */
static void grpc_resp(uint32_t stream, uint64_t ms, int grpc_status)
{
	struct gp_http_msg m = msg(GP_HTTP_RESPONSE, GP_L7P_H2, stream, ms);

	m.status = 200;
	m.is_grpc = 1;
	m.grpc_status = grpc_status;
	put_msg(&m);
}

static void grpc_trailers(uint32_t stream, uint64_t ms, int grpc_status)
{
	struct gp_http_msg m = msg(GP_HTTP_TRAILERS, GP_L7P_H2, stream, ms);

	m.grpc_status = grpc_status;
	put_msg(&m);
}

static void h1_req(uint64_t ms, const char *path, const char *hdrs)
{
	req(GP_L7P_H1, 0, ms, "GET", path, hdrs);
}

static void lost(unsigned dir, unsigned reason, uint64_t ms)
{
	struct gp_http_msg m = msg(GP_HTTP_LOST, GP_L7P_H1, 0, ms);

	m.dir = (uint8_t)dir;
	m.reason = reason;
	put_msg(&m);
}

/* ---- HTTP/1 ------------------------------------------------------------- */

static void test_h1_keepalive(void **state)
{
	(void)state;
	h1_req(0, "/a", "host: svc\r\n");
	resp(GP_L7P_H1, 0, 3, 200);
	end(GP_L7P_H1, 0, 5);
	/* The gray header only on the second request: its own tag. */
	h1_req(10, "/b", "host: svc\r\nx-canary: one\r\n");
	resp(GP_L7P_H1, 0, 12, 404);
	end(GP_L7P_H1, 0, 13);
	assert_int_equal(n_out, 2);
	assert_string_equal(out[0].path, "/a");
	assert_string_equal(out[0].gray, "stable");
	assert_string_equal(out[0].alpn, "http/1.1");
	assert_int_equal(out[0].status, 200);
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_int_equal(out[0].dir, GP_DIR_OUTBOUND);
	assert_true(out[0].has_latency && out[0].latency_ns == 3 * MS);
	assert_true(out[0].has_duration && out[0].duration_ns == 5 * MS);
	assert_string_equal(out[1].gray, "one");
	assert_string_equal(out[1].marker, "x-canary");
	assert_int_equal(out[1].code, GP_CODE_4XX);
	assert_int_equal(out[1].latency_ns, 2 * MS);
	assert_string_equal(out[1].method, "GET");
	assert_string_equal(out[1].authority, "svc.example");
}

static void test_h1_pipelined(void **state)
{
	(void)state;
	h1_req(0, "/1", "x-gray: g1\r\n");
	h1_req(1, "/2", "");
	h1_req(2, "/3", "x-gray: g3\r\n");
	resp(GP_L7P_H1, 0, 10, 200);
	end(GP_L7P_H1, 0, 11);
	resp(GP_L7P_H1, 0, 12, 503);
	end(GP_L7P_H1, 0, 13);
	resp(GP_L7P_H1, 0, 20, 302);
	assert_int_equal(n_out, 2);
	end(GP_L7P_H1, 0, 21);
	assert_int_equal(n_out, 3);
	assert_string_equal(out[0].path, "/1");
	assert_string_equal(out[0].gray, "g1");
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_string_equal(out[1].path, "/2");
	assert_string_equal(out[1].gray, "stable");
	assert_int_equal(out[1].code, GP_CODE_5XX);
	assert_int_equal(out[1].latency_ns, 11 * MS);
	assert_string_equal(out[2].gray, "g3");
	assert_int_equal(out[2].code, GP_CODE_3XX);
	assert_int_equal(out[2].latency_ns, 18 * MS);
}

/* HEAD: a response without a body still ends; its end is the decoder's to find. */
static void test_h1_head_and_http10(void **state)
{
	struct gp_http_msg m = msg(GP_HTTP_REQUEST, GP_L7P_H1, 0, 0);

	(void)state;
	m.method = "HEAD";
	m.path = "/";
	m.http10 = 1;
	put_msg(&m);
	resp(GP_L7P_H1, 0, 2, 200);
	end(GP_L7P_H1, 0, 2);
	assert_int_equal(n_out, 1);
	assert_string_equal(out[0].method, "HEAD");
	assert_string_equal(out[0].alpn, "http/1.0");
	assert_int_equal(out[0].duration_ns, 2 * MS);
}

/* Interim 1xx are not the response: latency counts to the final one's first byte. */
static void test_h1_interim(void **state)
{
	(void)state;
	h1_req(0, "/upload", "expect: 100-continue\r\n");
	resp(GP_L7P_H1, 0, 1, 100);
	resp(GP_L7P_H1, 0, 2, 103);
	assert_int_equal(n_out, 0);
	resp(GP_L7P_H1, 0, 50, 201);
	end(GP_L7P_H1, 0, 51);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].status, 201);
	assert_int_equal(out[0].latency_ns, 50 * MS);
}

/* Upgrade: h2c: the HTTP/1 request is answered on stream 1. */
static void test_h2c_upgrade(void **state)
{
	(void)state;
	h1_req(0, "/up", "upgrade: h2c\r\nhttp2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
	       "x-canary: up\r\n");
	resp(GP_L7P_H1, 0, 1, 101);
	assert_int_equal(n_out, 0);
	resp(GP_L7P_H2, 1, 7, 200);
	end(GP_L7P_H2, 1, 9);
	assert_int_equal(n_out, 1);
	assert_string_equal(out[0].alpn, "h2c");
	assert_string_equal(out[0].gray, "up");
	assert_int_equal(out[0].stream, 1);
	assert_int_equal(out[0].status, 200);
	assert_int_equal(out[0].latency_ns, 7 * MS);
	assert_int_equal(out[0].duration_ns, 9 * MS);
}

/* 101 to anything else (WebSocket) is the final response: no HTTP follows. */
static void test_h1_switching_protocols(void **state)
{
	(void)state;
	h1_req(0, "/ws", "upgrade: websocket\r\n");
	resp(GP_L7P_H1, 0, 1, 101);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].code, GP_CODE_1XX);
	assert_false(out[0].has_duration);
}

/* ---- HTTP/2 and gRPC ---------------------------------------------------- */

static void test_h2_interleaved_gray_and_stable(void **state)
{
	(void)state;
	req(GP_L7P_H2, 1, 0, "GET", "/g", "x-canary: one\r\n");
	req(GP_L7P_H2, 3, 1, "POST", "/s", "content-type: text/plain\r\n");
	req(GP_L7P_H2, 5, 2, "GET", "/p", "x-pin: one\r\n");
	resp(GP_L7P_H2, 3, 4, 500);
	end(GP_L7P_H2, 3, 6);
	resp(GP_L7P_H2, 1, 8, 200);
	resp(GP_L7P_H2, 5, 9, 204);
	end(GP_L7P_H2, 5, 9);
	end(GP_L7P_H2, 1, 10);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[0].stream, 3);
	assert_string_equal(out[0].gray, "stable");
	assert_string_equal(out[0].alpn, "h2c");
	assert_int_equal(out[0].code, GP_CODE_5XX);
	assert_int_equal(out[0].latency_ns, 3 * MS);
	assert_int_equal(out[1].stream, 5);
	assert_string_equal(out[1].gray, "pinned");
	assert_true(out[1].gray_flags & GP_GRAY_FIXED);
	assert_int_equal(out[2].stream, 1);
	assert_string_equal(out[2].gray, "one");
	assert_int_equal(out[2].latency_ns, 8 * MS);
	assert_int_equal(out[2].duration_ns, 10 * MS);
}

static const char grpc_hdrs[] = "content-type: application/grpc+proto\r\nx-canary: grpc-one\r\n";

static void test_grpc_trailers(void **state)
{
	(void)state;
	req(GP_L7P_H2, 1, 0, "POST", "/pkg.Svc/Get", grpc_hdrs);
	grpc_resp(1, 2, -1);
	grpc_trailers(1, 4, 14);
	end(GP_L7P_H2, 1, 4);
	assert_int_equal(n_out, 1);
	assert_true(out[0].grpc);
	assert_int_equal(out[0].grpc_slot, 14);
	assert_string_equal(gp_grpc_slot_name(out[0].grpc_slot), "UNAVAILABLE");
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_string_equal(out[0].gray, "grpc-one");
	assert_int_equal(out[0].latency_ns, 2 * MS);
}

static void test_grpc_trailers_only_and_reset(void **state)
{
	struct gp_http_msg m;

	(void)state;
	req(GP_L7P_H2, 1, 0, "POST", "/pkg.Svc/A", grpc_hdrs);
	req(GP_L7P_H2, 3, 0, "POST", "/pkg.Svc/B", grpc_hdrs);
	req(GP_L7P_H2, 5, 0, "POST", "/pkg.Svc/C", grpc_hdrs);
	grpc_resp(1, 3, 4);
	end(GP_L7P_H2, 1, 3);
	m = msg(GP_HTTP_RESET, GP_L7P_H2, 3, 5);
	m.error_code = 8;
	put_msg(&m);
	/* A proxy's 503 without grpc-status: what clients make of it. */
	resp(GP_L7P_H2, 5, 6, 503);
	end(GP_L7P_H2, 5, 6);
	assert_int_equal(n_out, 3);
	assert_string_equal(gp_grpc_slot_name(out[0].grpc_slot), "DEADLINE_EXCEEDED");
	assert_int_equal(out[1].grpc_slot, GP_GRPC_RESET);
	assert_int_equal(out[1].code, GP_CODE_RESET);
	assert_false(out[1].has_latency);
	assert_string_equal(gp_grpc_slot_name(out[2].grpc_slot), "UNAVAILABLE");
	assert_int_equal(out[2].code, GP_CODE_5XX);
}

static void test_h2_goaway(void **state)
{
	struct gp_http_msg m;

	(void)state;
	req(GP_L7P_H2, 1, 0, "GET", "/1", "");
	req(GP_L7P_H2, 3, 0, "GET", "/3", "");
	req(GP_L7P_H2, 5, 0, "GET", "/5", "");
	m = msg(GP_HTTP_GOAWAY, GP_L7P_H2, 0, 1);
	m.last_stream = 1;
	put_msg(&m);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[0].stream, 3);
	assert_int_equal(out[0].code, GP_CODE_RESET);
	assert_int_equal(out[1].stream, 5);
	resp(GP_L7P_H2, 1, 2, 200);
	end(GP_L7P_H2, 1, 2);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[2].code, GP_CODE_2XX);
}

/* ---- endings ------------------------------------------------------------ */

static void test_timeout_none(void **state)
{
	(void)state;
	h1_req(0, "/slow", "");
	req(GP_L7P_H2, 1, 10, "GET", "/h2", "");
	gp_req_expire(T, T0 + TIMEOUT - 1);
	assert_int_equal(n_out, 0);
	gp_req_expire(T, T0 + TIMEOUT);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].code, GP_CODE_NONE);
	assert_false(out[0].has_latency);
	gp_req_expire(T, T0 + TIMEOUT + 10 * MS);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[1].code, GP_CODE_NONE);
	assert_int_equal(out[1].stream, 1);
}

/* A gRPC stream that has its response head is not timed out: its trailers decide. */
static void test_grpc_stream_outlives_timeout(void **state)
{
	(void)state;
	req(GP_L7P_H2, 1, 0, "POST", "/pkg.Svc/Watch", grpc_hdrs);
	grpc_resp(1, 1, -1);
	gp_req_expire(T, T0 + 10 * TIMEOUT);
	assert_int_equal(n_out, 0);
	grpc_trailers(1, 600000, 0);
	end(GP_L7P_H2, 1, 600000);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].grpc_slot, 0);
	assert_int_equal(out[0].duration_ns, 600000 * MS);
	/* Closed before its trailers: reset. */
	req(GP_L7P_H2, 3, 600001, "POST", "/pkg.Svc/Watch", grpc_hdrs);
	grpc_resp(3, 600002, -1);
	gp_req_close(T, &C);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[1].grpc_slot, GP_GRPC_RESET);
	assert_int_equal(out[1].code, GP_CODE_2XX);
}

/* Closed first: reset, unless the status came (the end was still due). */
static void test_close_reset(void **state)
{
	(void)state;
	h1_req(0, "/1", "");
	h1_req(1, "/2", "");
	resp(GP_L7P_H1, 0, 2, 200);
	gp_req_close(T, &C);
	assert_null(C.user);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_false(out[0].has_duration);
	assert_int_equal(out[1].code, GP_CODE_RESET);
}

static void test_flush_none(void **state)
{
	(void)state;
	h1_req(0, "/1", "");
	gp_req_flush(T);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].code, GP_CODE_NONE);
}

/* ---- lost directions ---------------------------------------------------- */

/* Requests lost: those seen still match; responses past them are requests of gray unknown. */
static void test_lost_request_direction(void **state)
{
	(void)state;
	h1_req(0, "/seen", "x-canary: one\r\n");
	lost(0, GP_HTTP_LOST_GAP, 1);
	resp(GP_L7P_H1, 0, 2, 200);
	end(GP_L7P_H1, 0, 3);
	resp(GP_L7P_H1, 0, 4, 503);
	assert_int_equal(n_out, 1);
	end(GP_L7P_H1, 0, 5);
	assert_int_equal(n_out, 2);
	assert_false(out[1].has_duration);
	assert_string_equal(out[0].gray, "one");
	assert_false(out[0].undecoded);
	assert_string_equal(out[1].gray, "unknown");
	assert_true(out[1].undecoded);
	assert_false(out[1].no_status);
	assert_int_equal(out[1].reason, GP_HTTP_LOST_GAP);
	assert_int_equal(out[1].code, GP_CODE_5XX);
	assert_false(out[1].has_latency);
}

/* HTTP/2, requests lost (HPACK state gone): a gRPC call's status still comes from its trailers. */
static void test_lost_request_direction_h2_grpc(void **state)
{
	struct gp_http_msg m;

	(void)state;
	m = msg(GP_HTTP_LOST, GP_L7P_H2, 0, 0);
	m.dir = 0;
	m.reason = GP_HTTP_LOST_MIDSTREAM;
	put_msg(&m);
	grpc_resp(7, 1, -1);
	grpc_trailers(7, 2, 14);
	assert_int_equal(n_out, 0);
	end(GP_L7P_H2, 7, 2);
	assert_int_equal(n_out, 1);
	assert_string_equal(out[0].gray, "unknown");
	assert_true(out[0].gray_flags & GP_GRAY_FIXED);
	assert_int_equal(out[0].reason, GP_HTTP_LOST_MIDSTREAM);
	assert_true(out[0].grpc);
	assert_int_equal(out[0].grpc_slot, 14);
	assert_int_equal(out[0].stream, 7);
	assert_false(out[0].has_latency);
}

/*
 * HTTP/1 heads the ring refused, by the kernel's count: a request refused
 * keeps its place in the FIFO (gray unknown), a response refused answers
 * the oldest unanswered request without a status; every later pairing
 * stays right.
 */
static void h1_refused(unsigned dir, uint32_t count, uint64_t ms)
{
	struct gp_http_msg m = msg(GP_HTTP_LOST, GP_L7P_H1, 0, ms);

	m.dir = (uint8_t)dir;
	m.reason = GP_HTTP_LOST_RINGBUF;
	m.missed = count;
	m.h1_walk_on = 1;
	put_msg(&m);
}

static void test_h1_heads_refused_keep_pairs(void **state)
{
	(void)state;
	h1_req(0, "/1", "x-gray: g1\r\n");
	h1_refused(0, 0, 1);			/* a part refused, no head yet */
	h1_refused(0, 1, 1);			/* /2's head */
	h1_req(2, "/3", "x-gray: g3\r\n");
	h1_refused(0, 3, 3);			/* /4 and /5 */
	h1_req(4, "/6", "x-gray: g6\r\n");
	resp(GP_L7P_H1, 0, 10, 200);		/* /1 */
	h1_refused(1, 1, 11);			/* /2's response */
	resp(GP_L7P_H1, 0, 12, 404);		/* /3 */
	resp(GP_L7P_H1, 0, 13, 503);		/* /4 */
	h1_refused(1, 2, 14);			/* /5's */
	h1_refused(1, 2, 14);			/* told again: nothing more */
	resp(GP_L7P_H1, 0, 15, 201);		/* /6 */
	end(GP_L7P_H1, 0, 16);
	assert_int_equal(n_out, 6);
	assert_string_equal(out[0].gray, "g1");
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_string_equal(out[1].gray, "unknown");
	assert_true(out[1].undecoded && out[1].no_status);
	assert_int_equal(out[1].reason, GP_HTTP_LOST_RINGBUF);
	assert_string_equal(out[2].gray, "g3");
	assert_int_equal(out[2].code, GP_CODE_4XX);
	assert_string_equal(out[3].gray, "unknown");
	assert_int_equal(out[3].code, GP_CODE_5XX);
	assert_false(out[3].has_latency);	/* its start was not seen */
	assert_true(out[4].no_status);
	assert_string_equal(out[4].gray, "unknown");
	assert_string_equal(out[5].gray, "g6");
	assert_int_equal(out[5].code, GP_CODE_2XX);
	assert_true(out[5].has_latency && out[5].latency_ns == 11 * MS);
}

/* Responses lost: no status can come; counted undecoded, never as none or reset. */
static void test_lost_response_direction(void **state)
{
	(void)state;
	h1_req(0, "/1", "");
	lost(1, GP_HTTP_LOST_RINGBUF, 1);
	assert_int_equal(n_out, 1);
	assert_true(out[0].undecoded && out[0].no_status);
	assert_int_equal(out[0].reason, GP_HTTP_LOST_RINGBUF);
	h1_req(2, "/2", "");
	assert_int_equal(n_out, 2);
	assert_true(out[1].no_status);
	assert_string_equal(out[1].path, "/2");
}

/* A head that decodes but is malformed: its headers, or its status, are not known. */
static void test_malformed_heads(void **state)
{
	struct gp_http_msg m = msg(GP_HTTP_REQUEST, GP_L7P_H2, 1, 0);

	(void)state;
	m.malformed = 1;
	put_msg(&m);
	resp(GP_L7P_H2, 1, 2, 200);
	end(GP_L7P_H2, 1, 2);
	req(GP_L7P_H2, 3, 3, "GET", "/", "x-canary: one\r\n");
	m = msg(GP_HTTP_RESPONSE, GP_L7P_H2, 3, 4);
	m.malformed = 1;
	put_msg(&m);
	assert_int_equal(n_out, 2);
	assert_string_equal(out[0].gray, "unknown");
	assert_true(out[0].undecoded && !out[0].no_status);
	assert_int_equal(out[0].reason, GP_HTTP_LOST_MALFORMED);
	assert_int_equal(out[0].code, GP_CODE_2XX);
	assert_string_equal(out[1].gray, "one");
	assert_true(out[1].no_status);
}

/*
 * HTTP/2 after ring losses in both directions: a request of unknown head
 * is "unknown" with its status when that decodes; requests whose heads
 * were all lost are counted once from what is left of them (a response
 * head, an end, a reset), never twice, and never from a push's stream.
 */
static void test_h2_ringbuf_blind(void **state)
{
	struct gp_http_msg m;

	(void)state;
	req(GP_L7P_H2, 1, 0, "GET", "/", "x-canary: one\r\n");
	m = msg(GP_HTTP_LOST, GP_L7P_H2, 0, 1);
	m.dir = 0;
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	m = msg(GP_HTTP_REQUEST, GP_L7P_H2, 5, 2);	/* blind: head not decoded */
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	resp(GP_L7P_H2, 5, 3, 404);
	end(GP_L7P_H2, 5, 4);
	assert_int_equal(n_out, 1);
	assert_string_equal(out[0].gray, "unknown");
	assert_true(out[0].undecoded && !out[0].no_status);
	assert_int_equal(out[0].reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(out[0].code, GP_CODE_4XX);
	/* Stream 3's head was lost, its response came after stream 5's request. */
	resp(GP_L7P_H2, 3, 5, 200);
	end(GP_L7P_H2, 3, 6);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[1].stream, 3);
	assert_int_equal(out[1].code, GP_CODE_2XX);
	assert_string_equal(out[1].gray, "unknown");
	resp(GP_L7P_H2, 1, 7, 200);	/* stream 1: seen, still open */
	end(GP_L7P_H2, 1, 8);
	assert_int_equal(n_out, 3);
	assert_string_equal(out[2].gray, "one");
	/* Heads of 7 and 9 lost both ways: an end, a reset. Again: nothing. A push: nothing. */
	end(GP_L7P_H2, 9, 9);
	m = msg(GP_HTTP_RESET, GP_L7P_H2, 7, 10);
	put_msg(&m);
	end(GP_L7P_H2, 9, 11);
	put_msg(&m);
	resp(GP_L7P_H2, 3, 12, 200);
	resp(GP_L7P_H2, 2, 12, 200);
	end(GP_L7P_H2, 2, 12);
	assert_int_equal(n_out, 5);
	assert_int_equal(out[3].stream, 9);
	assert_true(out[3].no_status);
	assert_int_equal(out[3].reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(out[4].stream, 7);
	assert_int_equal(out[4].code, GP_CODE_RESET);
	/* The responses' direction blind too: a status no longer known. */
	m = msg(GP_HTTP_LOST, GP_L7P_H2, 0, 13);
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	m = msg(GP_HTTP_RESPONSE, GP_L7P_H2, 11, 14);
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	assert_int_equal(n_out, 6);
	assert_int_equal(out[5].stream, 11);
	assert_true(out[5].undecoded && out[5].no_status);
	m = msg(GP_HTTP_REQUEST, GP_L7P_H2, 13, 15);
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	m = msg(GP_HTTP_RESPONSE, GP_L7P_H2, 13, 16);
	m.reason = GP_HTTP_LOST_RINGBUF;
	put_msg(&m);
	end(GP_L7P_H2, 13, 17);
	assert_int_equal(n_out, 7);
	assert_int_equal(out[6].stream, 13);
	assert_true(out[6].no_status);
}

/*
 * Requests the kernel could not deliver (its count in the LOST): those not
 * counted from what came of them are counted at close, once, unknown and
 * without a status; a count under another loss reason is not used.
 */
static void test_h2_ringbuf_missed(void **state)
{
	struct gp_http_msg m;

	(void)state;
	m = msg(GP_HTTP_LOST, GP_L7P_H2, 0, 1);
	m.dir = 0;
	m.reason = GP_HTTP_LOST_RINGBUF;
	m.missed = 1;
	put_msg(&m);
	m.missed = 3;
	put_msg(&m);
	m.missed = 2;		/* older: the count only grows */
	put_msg(&m);
	resp(GP_L7P_H2, 3, 2, 200);	/* one of the three */
	end(GP_L7P_H2, 3, 3);
	assert_int_equal(n_out, 1);
	gp_req_flush(T);
	assert_int_equal(n_out, 3);
	assert_string_equal(out[1].gray, "unknown");
	assert_true(out[1].undecoded && out[1].no_status);
	assert_int_equal(out[1].reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(out[2].ts_ns, T0 + 1 * MS);
	gp_req_close(T, &C);
	assert_int_equal(n_out, 3);	/* once */

	m = msg(GP_HTTP_LOST, GP_L7P_H2, 0, 4);
	m.dir = 0;
	m.reason = GP_HTTP_LOST_GAP;
	put_msg(&m);
	m.reason = GP_HTTP_LOST_RINGBUF;
	m.missed = 5;
	put_msg(&m);
	gp_req_close(T, &C);
	assert_int_equal(n_out, 3);
}

/* Loopback: a request counts once per direction, like connections; none: unknown. */
static void test_directions(void **state)
{
	(void)state;
	dirs_mask = (1u << GP_DIR_OUTBOUND) | (1u << GP_DIR_INBOUND);
	h1_req(0, "/", "");
	resp(GP_L7P_H1, 0, 1, 200);
	end(GP_L7P_H1, 0, 1);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[0].dir, GP_DIR_OUTBOUND);
	assert_int_equal(out[1].dir, GP_DIR_INBOUND);
	gp_req_close(T, &C);
	dirs_mask = 0;
	h1_req(5, "/", "");
	resp(GP_L7P_H1, 0, 6, 200);
	end(GP_L7P_H1, 0, 6);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[2].dir, GP_DIR_MAX);
}

/*
 * The directions are those known when the request came: a connection closed
 * before its response ends the request after the tagger forgot the flow.
 */
static void test_directions_known_at_request(void **state)
{
	(void)state;
	dirs_mask = (1u << GP_DIR_OUTBOUND) | (1u << GP_DIR_INBOUND);
	h1_req(0, "/held", "x-canary: one\r\n");
	dirs_mask = 0;
	gp_req_close(T, &C);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[0].dir, GP_DIR_OUTBOUND);
	assert_int_equal(out[1].dir, GP_DIR_INBOUND);
	assert_int_equal(out[1].code, GP_CODE_RESET);
	assert_string_equal(out[1].gray, "one");
}

/* ---- aggregation -------------------------------------------------------- */

static struct gp_request agg_req(const char *gray, unsigned flags, int grpc)
{
	struct gp_request r;

	memset(&r, 0, sizeof(r));
	r.dir = GP_DIR_OUTBOUND;
	strcpy(r.alpn, "h2c");
	snprintf(r.gray, sizeof(r.gray), "%s", gray);
	r.gray_flags = flags;
	r.status = 200;
	r.code = GP_CODE_2XX;
	r.grpc = grpc;
	r.has_latency = 1;
	r.latency_ns = 1000;
	return r;
}

static const struct gp_req_stats *find_series(const struct gp_snapshot *s, int grpc,
					      const char *alpn, const char *gray)
{
	size_t i;

	for (i = 0; i < s->n_reqs; i++)
		if (s->reqs[i].grpc == grpc && !strcmp(s->reqs[i].alpn, alpn) &&
		    !strcmp(s->reqs[i].gray, gray))
			return &s->reqs[i];
	return NULL;
}

/* Made-up header values fill the cap and fold; a fixed rule's gray is pinned past it. */
static void test_agg_max_tags_and_pinning(void **state)
{
	struct gp_agg *a = gp_agg_new(2);
	struct gp_snapshot s;
	struct gp_request r;
	size_t i;

	(void)state;
	assert_non_null(a);
	r = agg_req("a", 0, 0);
	gp_agg_record_request(a, &r);
	r = agg_req("b", 0, 0);
	gp_agg_record_request(a, &r);
	r = agg_req("c", 0, 0);
	gp_agg_record_request(a, &r);
	r = agg_req("pinned", GP_GRAY_FIXED, 1);
	gp_agg_record_request(a, &r);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.req_overflow, 1);
	assert_non_null(find_series(&s, 0, "h2c", "a"));
	assert_null(find_series(&s, 0, "h2c", "c"));
	assert_int_equal(find_series(&s, 0, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG)->codes[GP_CODE_2XX], 1);
	assert_true(find_series(&s, 0, "h2c", "pinned")->pinned);
	assert_int_equal(find_series(&s, 1, "", "pinned")->grpc_status[0], 1);
	/* Connection tags are a set of their own: none were made. */
	assert_int_equal(s.n_tags, 0);
	assert_int_equal(s.tags_overflow, 0);
	for (i = 1; i < s.n_reqs; i++)
		assert_true(gp_req_cmp(&s.reqs[i - 1], &s.reqs[i]) < 0);
	gp_snapshot_release(&s);

	/* Idle dynamic series retire; pinned and overflow ones stay. */
	gp_agg_retire(a, 1000, 500);
	assert_int_equal(gp_agg_retire(a, 2000, 500), 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.n_reqs, 3);
	assert_int_equal(s.tags_retired, 2);
	gp_snapshot_release(&s);
	r = agg_req("c", 0, 0);
	gp_agg_record_request(a, &r);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_non_null(find_series(&s, 0, "h2c", "c"));
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

static void test_agg_undecoded(void **state)
{
	struct gp_agg *a = gp_agg_new(8);
	struct gp_snapshot s;
	struct gp_request r = agg_req("unknown", 0, 0);

	(void)state;
	assert_non_null(a);
	r.undecoded = 1;
	r.reason = GP_HTTP_LOST_HPACK;
	gp_agg_record_request(a, &r);
	r.no_status = 1;
	gp_agg_record_request(a, &r);
	r.dir = GP_DIR_MAX;
	gp_agg_record_request(a, &r);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	assert_int_equal(s.req_undecoded[GP_DIR_OUTBOUND][GP_HTTP_LOST_HPACK], 2);
	assert_int_equal(s.req_unattributed, 1);
	assert_int_equal(s.n_reqs, 1);
	assert_int_equal(find_series(&s, 0, "h2c", "unknown")->codes[GP_CODE_2XX], 1);
	gp_snapshot_release(&s);
	gp_agg_free(a);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(test_h1_keepalive),
		T_(test_h1_pipelined),
		T_(test_h1_head_and_http10),
		T_(test_h1_interim),
		T_(test_h2c_upgrade),
		T_(test_h1_switching_protocols),
		T_(test_h2_interleaved_gray_and_stable),
		T_(test_grpc_trailers),
		T_(test_grpc_trailers_only_and_reset),
		T_(test_h2_goaway),
		T_(test_timeout_none),
		T_(test_grpc_stream_outlives_timeout),
		T_(test_close_reset),
		T_(test_flush_none),
		T_(test_lost_request_direction),
		T_(test_lost_request_direction_h2_grpc),
		T_(test_h1_heads_refused_keep_pairs),
		T_(test_lost_response_direction),
		T_(test_malformed_heads),
		T_(test_h2_ringbuf_blind),
		T_(test_h2_ringbuf_missed),
		T_(test_directions),
		T_(test_directions_known_at_request),
		cmocka_unit_test(test_agg_max_tags_and_pinning),
		cmocka_unit_test(test_agg_undecoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
