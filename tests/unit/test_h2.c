// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/2 connection decoder: frame sequences in, message events out.
 * HEADERS with padding and priority, CONTINUATION, PUSH_PROMISE, SETTINGS
 * bounding the other direction's table, RST_STREAM, GOAWAY, gRPC
 * trailers-only responses and trailers, malformed heads, and errors that
 * lose exactly one direction while the other goes on. Frames are copied to
 * exactly-sized heap buffers so ASan catches any read past the end.
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
#include "unit.h"
#include "pipeline/payload.h"

/* ---- event recorder ----------------------------------------------------- */

#define EV_MAX 32

struct ev {
	struct gp_http_msg m;
	char method[GP_HTTP_METHOD_LEN + 1], authority[GP_HTTP_AUTHORITY_LEN + 1];
	char path[GP_HTTP_PATH_LEN + 1];
	char hdrs[1024];
};

static struct ev evs[EV_MAX];
static size_t nev;

static void record(void *ctx, const struct gp_http_msg *m)
{
	struct ev *e = &evs[nev];

	assert_ptr_equal(ctx, evs);
	assert_true(nev < EV_MAX);
	e->m = *m;
	assert_non_null(m->method);
	assert_non_null(m->authority);
	assert_non_null(m->path);
	snprintf(e->method, sizeof(e->method), "%s", m->method);
	snprintf(e->authority, sizeof(e->authority), "%s", m->authority);
	snprintf(e->path, sizeof(e->path), "%s", m->path);
	assert_true(m->hdrs_len < sizeof(e->hdrs));
	memcpy(e->hdrs, m->hdrs, m->hdrs_len);
	e->hdrs[m->hdrs_len] = '\0';
	nev++;
}

static struct gp_h2_conn *conn(void)
{
	struct gp_h2_conn *c = gp_h2_conn_new(record, evs);

	assert_non_null(c);
	nev = 0;
	memset(evs, 0, sizeof(evs));
	return c;
}

/* ---- frame and block builders ------------------------------------------- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, 4);
}

/* A literal field (first byte: 0x00 without, 0x40 with incremental indexing). */
static void lit(struct buf *b, uint8_t kind, const char *name, const char *value)
{
	assert_true(strlen(name) < 127 && strlen(value) < 127);
	put8(b, kind);
	put8(b, (uint8_t)strlen(name));
	put(b, name, strlen(name));
	put8(b, (uint8_t)strlen(value));
	put(b, value, strlen(value));
}

/* GET http://example.com/a?b=1 with x-gray: canary. */
static void req_block(struct buf *b)
{
	b->n = 0;
	put(b, "\x82\x86", 2);					/* GET, http */
	lit(b, 0x00, ":path", "/a?b=1");
	lit(b, 0x40, ":authority", "example.com");	/* dynamic entry 62 */
	lit(b, 0x00, "x-gray", "canary");
	lit(b, 0x10, "user-agent", "t/1");
}

/* Sends one frame of type/flags/stream with payload p (plen bytes, n of them forwarded). */
static int send_part(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint8_t flags,
		     uint32_t sid, const void *p, size_t plen, size_t n, uint64_t ts)
{
	uint8_t *f = malloc(9 + n);
	int err;

	assert_non_null(f);
	h2_header(f, (uint32_t)plen, type, flags, sid);
	if (n)
		memcpy(f + 9, p, n);
	err = gp_h2_frame(c, dir, f, 9 + n, n < plen, ts);
	free(f);
	return err;
}

static int send(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint8_t flags, uint32_t sid,
		const struct buf *b, uint64_t ts)
{
	return send_part(c, dir, type, flags, sid, b ? b->b : NULL, b ? b->n : 0,
			 b ? b->n : 0, ts);
}

enum { DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINUP, CONT };
#define ES 0x01
#define EH 0x04
#define PADDED 0x08
#define PRIO 0x20

static void expect_request(const struct ev *e, uint32_t stream, int end_stream)
{
	char val[64];

	assert_int_equal(e->m.ev, GP_HTTP_REQUEST);
	assert_int_equal(e->m.dir, 0);
	assert_int_equal(e->m.proto, GP_L7P_H2);
	assert_int_equal(e->m.stream, stream);
	assert_int_equal(e->m.end_stream, end_stream);
	assert_int_equal(e->m.malformed, 0);
	assert_string_equal(e->method, "GET");
	assert_string_equal(e->authority, "example.com");
	assert_string_equal(e->path, "/a?b=1");
	assert_string_equal(e->hdrs, "x-gray: canary\r\nuser-agent: t/1\r\n");
	assert_int_equal(gp_http1_header((const uint8_t *)e->hdrs, strlen(e->hdrs), "x-gray", val,
					 sizeof(val)), 1);
	assert_string_equal(val, "canary");
}

/* ---- tests -------------------------------------------------------------- */

static void test_request_response(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b;

	(void)state;
	req_block(&b);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 1, &b, 100), 0);
	assert_int_equal(nev, 1);
	expect_request(&evs[0], 1, 1);
	assert_int_equal(evs[0].m.ts_ns, 100);
	/* The next request reuses :authority from the client's dynamic table. */
	b.n = 0;
	put(&b, "\x82\x86\xbe", 3);
	lit(&b, 0x00, ":path", "/a?b=1");
	lit(&b, 0x00, "x-gray", "canary");
	lit(&b, 0x00, "user-agent", "t/1");
	assert_int_equal(send(c, 0, HEADERS, EH, 3, &b, 110), 0);
	assert_int_equal(nev, 2);
	expect_request(&evs[1], 3, 0);
	assert_int_equal(send(c, 0, DATA, ES, 3, NULL, 111), 0);	/* the client's body ends */
	assert_int_equal(nev, 2);

	b.n = 0;
	put8(&b, 0x88);						/* :status 200 */
	lit(&b, 0x00, "content-type", "text/plain");
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 200), 0);
	assert_int_equal(send_part(c, 1, DATA, 0, 1, NULL, 1000, 0, 201), 0);
	assert_int_equal(send_part(c, 1, DATA, ES, 1, NULL, 10, 0, 202), 0);
	assert_int_equal(nev, 4);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[2].m.dir, 1);
	assert_int_equal(evs[2].m.stream, 1);
	assert_int_equal(evs[2].m.status, 200);
	assert_int_equal(evs[2].m.interim, 0);
	assert_int_equal(evs[2].m.is_grpc, 0);
	assert_int_equal(evs[2].m.grpc_status, -1);
	assert_int_equal(evs[2].m.ts_ns, 200);
	assert_string_equal(evs[2].hdrs, "content-type: text/plain\r\n");
	assert_int_equal(evs[3].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(evs[3].m.stream, 1);
	assert_int_equal(evs[3].m.ts_ns, 202);
	gp_h2_conn_free(c);
}

static void test_padded_priority(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, f;

	(void)state;
	req_block(&b);
	f.n = 0;
	put8(&f, 3);					/* pad length */
	put(&f, "\x80\x00\x00\x01\x10", 5);		/* exclusive dependency on 1, weight */
	put(&f, b.b, b.n);
	put(&f, "\0\0\0", 3);
	assert_int_equal(send(c, 0, HEADERS, EH | ES | PADDED | PRIO, 5, &f, 1), 0);
	assert_int_equal(nev, 1);
	expect_request(&evs[0], 5, 1);
	/* Padding only (empty fragment) is fine: the block is empty, no event. */
	f.n = 0;
	put8(&f, 2);
	put(&f, "\0\0", 2);
	assert_int_equal(send(c, 0, HEADERS, EH | PADDED, 7, &f, 2), 0);
	assert_int_equal(nev, 1);
	/* Padding longer than what is left loses the direction. */
	f.n = 0;
	put8(&f, 9);
	put(&f, "\x82\0\0", 3);
	assert_int_equal(send(c, 0, HEADERS, EH | PADDED, 9, &f, 3), -EBADMSG);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[1].m.dir, 0);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_HPACK);
	gp_h2_conn_free(c);
}

static void test_continuation(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, p1, p2, p3;

	(void)state;
	req_block(&b);
	p1.n = p2.n = p3.n = 0;
	put(&p1, b.b, 5);
	put(&p2, b.b + 5, 7);
	put(&p3, b.b + 12, b.n - 12);
	assert_int_equal(send(c, 0, HEADERS, ES, 1, &p1, 10), 0);
	assert_int_equal(send(c, 0, CONT, 0, 1, &p2, 11), 0);
	assert_int_equal(nev, 0);
	assert_int_equal(send(c, 0, CONT, EH, 1, &p3, 12), 0);
	assert_int_equal(nev, 1);
	expect_request(&evs[0], 1, 1);
	assert_int_equal(evs[0].m.ts_ns, 10);

	/* Server: HEADERS + CONTINUATION with END_STREAM on the HEADERS. */
	b.n = 0;
	put8(&b, 0x8d);					/* :status 404 */
	lit(&b, 0x00, "server", "x");
	p1.n = p2.n = 0;
	put(&p1, b.b, 1);
	put(&p2, b.b + 1, b.n - 1);
	assert_int_equal(send(c, 1, HEADERS, ES, 1, &p1, 20), 0);
	assert_int_equal(send(c, 1, CONT, EH, 1, &p2, 21), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[1].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[1].m.status, 404);
	assert_int_equal(evs[1].m.ts_ns, 20);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(evs[2].m.ts_ns, 21);
	gp_h2_conn_free(c);
}

/* An empty HEADERS fragment, the block in its CONTINUATION (seen by fuzz_plain under UBSan). */
static void test_empty_fragment(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, none;

	(void)state;
	req_block(&b);
	none.n = 0;
	assert_int_equal(send(c, 0, HEADERS, ES, 1, &none, 10), 0);
	assert_int_equal(send(c, 0, CONT, 0, 1, &none, 11), 0);
	assert_int_equal(send(c, 0, CONT, EH, 1, &b, 12), 0);
	assert_int_equal(nev, 1);
	expect_request(&evs[0], 1, 1);
	assert_int_equal(evs[0].m.ts_ns, 10);
	gp_h2_conn_free(c);
}

/* A CONTINUATION for another stream, or none: exactly one LOST, the other direction goes on. */
static void test_continuation_errors(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, p1, p2;

	(void)state;
	req_block(&b);
	p1.n = p2.n = 0;
	put(&p1, b.b, 5);
	put(&p2, b.b + 5, b.n - 5);
	assert_int_equal(send(c, 0, HEADERS, ES, 1, &p1, 1), 0);
	assert_int_equal(send(c, 0, CONT, EH, 3, &p2, 2), -EBADMSG);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[0].m.reason, GP_HTTP_LOST_HPACK);
	assert_int_equal(evs[0].m.ts_ns, 2);
	/* Dead: nothing more from dir 0, not even another LOST. */
	assert_int_equal(send(c, 0, HEADERS, EH, 5, &b, 3), -EBADMSG);
	gp_h2_lost(c, 0, GP_HTTP_LOST_GAP, 0, 4);
	assert_int_equal(nev, 1);
	/* The server's direction still decodes. */
	b.n = 0;
	put8(&b, 0x88);
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 1, &b, 5), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[1].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE_END);

	/* A block left open, then another frame: lost. */
	b.n = 0;
	put8(&b, 0x88);
	assert_int_equal(send(c, 1, HEADERS, 0, 3, &b, 6), 0);
	assert_int_equal(send(c, 1, RST, 0, 3, &(struct buf){ .b = { 0, 0, 0, 8 }, .n = 4 }, 7),
			 -EBADMSG);
	assert_int_equal(nev, 4);
	assert_int_equal(evs[3].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[3].m.dir, 1);
	/* A CONTINUATION out of the blue. */
	gp_h2_conn_free(c);
	c = conn();
	assert_int_equal(send(c, 1, CONT, EH, 1, &b, 8), -EBADMSG);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.reason, GP_HTTP_LOST_HPACK);
	gp_h2_conn_free(c);
}

static void test_grpc(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b;

	(void)state;
	/* Trailers-only: :status, content-type and grpc-status in one block, END_STREAM. */
	b.n = 0;
	put8(&b, 0x88);
	lit(&b, 0x40, "content-type", "application/grpc");
	lit(&b, 0x00, "grpc-status", "14");
	lit(&b, 0x00, "grpc-message", "unavailable");
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 1, &b, 1), 0);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[0].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[0].m.status, 200);
	assert_int_equal(evs[0].m.is_grpc, 1);
	assert_int_equal(evs[0].m.grpc_status, 14);
	assert_int_equal(evs[1].m.ev, GP_HTTP_RESPONSE_END);

	/* Head, data, then trailers carrying grpc-status. */
	b.n = 0;
	put(&b, "\x88\xbe", 2);				/* content-type from the table */
	assert_int_equal(send(c, 1, HEADERS, EH, 3, &b, 2), 0);
	assert_int_equal(send_part(c, 1, DATA, 0, 3, NULL, 12, 0, 3), 0);
	b.n = 0;
	lit(&b, 0x00, "grpc-status", "0");
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 3, &b, 4), 0);
	assert_int_equal(nev, 5);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[2].m.is_grpc, 1);
	assert_int_equal(evs[2].m.grpc_status, -1);
	assert_int_equal(evs[3].m.ev, GP_HTTP_TRAILERS);
	assert_int_equal(evs[3].m.grpc_status, 0);
	assert_int_equal(evs[3].m.stream, 3);
	assert_string_equal(evs[3].hdrs, "grpc-status: 0\r\n");
	assert_int_equal(evs[4].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(evs[4].m.ts_ns, 4);

	/* grpc-status out of range or not a number: -1. */
	b.n = 0;
	lit(&b, 0x00, "grpc-status", "17");
	assert_int_equal(send(c, 1, HEADERS, EH, 5, &b, 5), 0);
	b.n = 0;
	lit(&b, 0x00, "grpc-status", "x");
	assert_int_equal(send(c, 1, HEADERS, EH, 7, &b, 6), 0);
	assert_int_equal(nev, 7);
	assert_int_equal(evs[5].m.grpc_status, -1);
	assert_int_equal(evs[6].m.grpc_status, -1);
	gp_h2_conn_free(c);
}

static void test_interim_and_upgrade(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b;

	(void)state;
	/* h2c: the request came over HTTP/1; stream 1's response has no HEADERS before it. */
	b.n = 0;
	lit(&b, 0x00, ":status", "100");
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 1), 0);
	b.n = 0;
	lit(&b, 0x00, ":status", "101");
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 2), 0);
	b.n = 0;
	put8(&b, 0x8e);					/* 500 */
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 1, &b, 3), 0);
	assert_int_equal(nev, 4);
	assert_int_equal(evs[0].m.status, 100);
	assert_int_equal(evs[0].m.interim, 1);
	assert_int_equal(evs[1].m.status, 101);
	assert_int_equal(evs[1].m.interim, 0);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[2].m.stream, 1);
	assert_int_equal(evs[2].m.status, 500);
	assert_int_equal(evs[3].m.ev, GP_HTTP_RESPONSE_END);
	gp_h2_conn_free(c);
}

static void test_reset_goaway(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b = { .n = 0 };
	uint8_t ga[8 + 5] = { 0x80, 0, 0, 5, 0, 0, 0, 2, 'd', 'e', 'b', 'u', 'g' };

	(void)state;
	put32(&b, 8);					/* CANCEL */
	assert_int_equal(send(c, 0, RST, 0, 3, &b, 1), 0);
	assert_int_equal(send(c, 1, RST, 0, 5, &b, 2), 0);
	/* GOAWAY: only its fixed part is forwarded (truncated). */
	assert_int_equal(send_part(c, 1, GOAWAY, 0, 0, ga, sizeof(ga), 8, 3), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[0].m.ev, GP_HTTP_RESET);
	assert_int_equal(evs[0].m.dir, 0);
	assert_int_equal(evs[0].m.stream, 3);
	assert_int_equal(evs[0].m.error_code, 8);
	assert_int_equal(evs[1].m.dir, 1);
	assert_int_equal(evs[1].m.stream, 5);
	assert_int_equal(evs[2].m.ev, GP_HTTP_GOAWAY);
	assert_int_equal(evs[2].m.dir, 1);
	assert_int_equal(evs[2].m.last_stream, 5);	/* reserved bit dropped */
	assert_int_equal(evs[2].m.error_code, 2);
	assert_int_equal(evs[2].m.ts_ns, 3);
	/* RST_STREAM of the wrong size, or on stream 0: malformed. */
	b.n = 0;
	put(&b, "\0\0\0\0\0", 5);
	assert_int_equal(send(c, 0, RST, 0, 3, &b, 4), -EBADMSG);
	assert_int_equal(evs[3].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[3].m.reason, GP_HTTP_LOST_MALFORMED);
	b.n = 4;
	assert_int_equal(send(c, 1, RST, 0, 0, &b, 5), -EBADMSG);
	assert_int_equal(nev, 5);
	gp_h2_conn_free(c);
	/* Cut short (the kernel forwarded less): nothing read past it. */
	c = conn();
	assert_int_equal(send_part(c, 0, RST, 0, 1, b.b, 4, 2, 6), -EBADMSG);
	assert_int_equal(send_part(c, 1, GOAWAY, 0, 0, ga, sizeof(ga), 7, 7), -EBADMSG);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_MALFORMED);
	gp_h2_conn_free(c);
}

static void settings(struct buf *b, uint16_t id, uint32_t v)
{
	put8(b, (uint8_t)(id >> 8));
	put8(b, (uint8_t)id);
	put32(b, v);
}

/* The client's SETTINGS_HEADER_TABLE_SIZE bounds the server's encoder, and back. */
static void test_settings_table_size(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf s = { .n = 0 }, b;

	(void)state;
	settings(&s, 0x3, 100);				/* MAX_CONCURRENT_STREAMS */
	settings(&s, 0x1, 0);				/* HEADER_TABLE_SIZE 0 */
	assert_int_equal(send(c, 1, SETTINGS, 0, 0, &s, 1), 0);	/* from the server */
	assert_int_equal(send(c, 0, SETTINGS, 0x1, 0, NULL, 2), 0);	/* the client's ACK */
	/* The client's encoder may keep nothing: its entry 62 does not exist. */
	req_block(&b);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 1, &b, 3), 0);
	assert_int_equal(nev, 1);
	b.n = 0;
	put(&b, "\x82\x86\x84\xbe", 4);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 3, &b, 4), -EBADMSG);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[1].m.dir, 0);
	/* The server's encoder keeps 4096 (the client said nothing): updates up to it only. */
	b.n = 0;
	put(&b, "\x3f\xe1\x1f\x88", 4);			/* size update 4096, :status 200 */
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 5), 0);
	b.n = 0;
	put(&b, "\x3f\xe2\x1f\x88", 4);			/* 4097 */
	assert_int_equal(send(c, 1, HEADERS, EH, 3, &b, 6), -EBADMSG);
	assert_int_equal(nev, 4);
	assert_int_equal(evs[3].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[3].m.dir, 1);
	gp_h2_conn_free(c);

	/* The client allows 8192: the server may update to it. */
	c = conn();
	s.n = 0;
	settings(&s, 0x1, 8192);
	assert_int_equal(send(c, 0, SETTINGS, 0, 0, &s, 1), 0);
	b.n = 0;
	put(&b, "\x3f\xe1\x3f\x88", 4);			/* 31 + 8161 = 8192 */
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 2), 0);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.status, 200);
	/* SETTINGS of a bad length, or on a stream: malformed. */
	s.n = 5;
	assert_int_equal(send(c, 0, SETTINGS, 0, 0, &s, 3), -EBADMSG);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_MALFORMED);
	s.n = 6;
	assert_int_equal(send(c, 1, SETTINGS, 0, 1, &s, 4), -EBADMSG);
	assert_int_equal(nev, 3);
	gp_h2_conn_free(c);
}

static void test_push_promise(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, f;

	(void)state;
	/* Padded PUSH_PROMISE on stream 1 promising 2: its block adds x-push to the table. */
	b.n = 0;
	put(&b, "\x82\x86", 2);
	lit(&b, 0x00, ":path", "/pushed");
	lit(&b, 0x40, "x-push", "yes");
	f.n = 0;
	put8(&f, 2);
	put32(&f, 2);
	put(&f, b.b, b.n);
	put(&f, "\0\0", 2);
	assert_int_equal(send(c, 1, PUSH, EH | PADDED, 1, &f, 1), 0);
	assert_int_equal(nev, 0);
	/* The response on stream 1 uses that entry. */
	b.n = 0;
	put(&b, "\x88\xbe", 2);
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 1, &b, 2), 0);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[0].m.ev, GP_HTTP_RESPONSE);
	assert_string_equal(evs[0].hdrs, "x-push: yes\r\n");
	/* A PUSH_PROMISE split over a CONTINUATION. */
	f.n = 0;
	put32(&f, 4);
	put(&f, b.b, 1);
	assert_int_equal(send(c, 1, PUSH, 0, 1, &f, 3), 0);
	f.n = 0;
	put(&f, b.b + 1, 1);
	assert_int_equal(send(c, 1, CONT, EH, 1, &f, 4), 0);
	assert_int_equal(nev, 2);
	/* Too short for its promised stream id. */
	f.n = 3;
	assert_int_equal(send(c, 1, PUSH, EH, 1, &f, 5), -EBADMSG);
	assert_int_equal(nev, 3);
	gp_h2_conn_free(c);
}

/* A malformed head is that stream's: marked, no headers, the direction goes on. */
static void test_malformed_heads(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b;

	(void)state;
	b.n = 0;
	put(&b, "\x82\x86\x84", 3);
	lit(&b, 0x00, "x-gray", "a\r\nx-gray: forged");
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 1, &b, 1), 0);
	b.n = 0;
	put(&b, "\x82\x86\x84", 3);
	lit(&b, 0x00, "X-Gray", "upper");
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 3, &b, 2), 0);
	b.n = 0;
	put(&b, "\x82\x86", 2);
	lit(&b, 0x00, "x-gray", "a");
	put8(&b, 0x84);					/* :path after a regular field */
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 5, &b, 3), 0);
	b.n = 0;
	put(&b, "\x86\x84", 2);				/* no :method */
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 7, &b, 4), 0);
	b.n = 0;
	put(&b, "\x82\x83\x86\x84", 4);			/* :method twice */
	lit(&b, 0x00, "x-nul", "a\0b");
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 9, &b, 5), 0);
	assert_int_equal(nev, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(evs[i].m.ev, GP_HTTP_REQUEST);
		assert_int_equal(evs[i].m.malformed, 1);
		assert_int_equal(evs[i].m.hdrs_len, 0);
	}
	assert_string_equal(evs[0].method, "GET");
	assert_string_equal(evs[0].path, "/");
	/* Client trailers (no pseudo-headers): no event. Then a good request. */
	b.n = 0;
	lit(&b, 0x00, "x-checksum", "1");
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 11, &b, 6), 0);
	assert_int_equal(nev, 5);
	req_block(&b);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 13, &b, 7), 0);
	expect_request(&evs[5], 13, 1);

	/* Responses: a bad :status, none in a block with pseudo-headers. */
	b.n = 0;
	lit(&b, 0x00, ":status", "2000");
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 8), 0);
	assert_int_equal(evs[6].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[6].m.status, 0);
	assert_int_equal(evs[6].m.malformed, 1);
	/* Values and names sanitized for labels. */
	b.n = 0;
	put(&b, "\x82\x86", 2);
	lit(&b, 0x00, ":path", "/\x01\xff\\");
	lit(&b, 0x00, ":authority", "h\x7f");
	assert_int_equal(send(c, 0, HEADERS, EH, 15, &b, 9), 0);
	assert_string_equal(evs[7].path, "/\\x01\\xff\\x5c");
	assert_string_equal(evs[7].authority, "h\\x7f");
	/* Host stands in for :authority. */
	b.n = 0;
	put(&b, "\x82\x86\x84", 3);
	lit(&b, 0x00, "host", "example.org");
	assert_int_equal(send(c, 0, HEADERS, EH, 17, &b, 10), 0);
	assert_string_equal(evs[8].authority, "example.org");
	assert_string_equal(evs[8].hdrs, "host: example.org\r\n");
	/* Cookie crumbs join into one line, as HTTP/1 has it. */
	b.n = 0;
	put(&b, "\x82\x86\x84", 3);
	lit(&b, 0x00, "cookie", "a=1");
	lit(&b, 0x00, "x-gray", "c");
	lit(&b, 0x00, "cookie", "gray=canary");
	assert_int_equal(send(c, 0, HEADERS, EH, 19, &b, 11), 0);
	assert_string_equal(evs[9].hdrs, "x-gray: c\r\ncookie: a=1; gray=canary\r\n");
	gp_h2_conn_free(c);
}

static void test_framing_errors(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b;
	uint8_t short_frame[5] = { 0 };

	(void)state;
	req_block(&b);
	/* A frame shorter than its header, or whose length disagrees. */
	assert_int_equal(gp_h2_frame(c, 0, short_frame, sizeof(short_frame), 0, 1), -EBADMSG);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.reason, GP_HTTP_LOST_MALFORMED);
	assert_int_equal(send_part(c, 1, HEADERS, EH, 1, b.b, b.n + 1, b.n, 2), -EBADMSG);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.dir, 1);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_TRUNCATED);
	gp_h2_conn_free(c);

	c = conn();
	/* HEADERS on stream 0; unknown frame types and PING are skipped. */
	assert_int_equal(send(c, 1, 0xfa, 0, 0, &b, 1), 0);
	assert_int_equal(send(c, 1, PING, 0, 0, &b, 1), 0);
	assert_int_equal(nev, 0);
	assert_int_equal(send(c, 0, HEADERS, EH, 0, &b, 2), -EBADMSG);
	assert_int_equal(nev, 1);
	/* The kernel's loss: once, then the direction is dead. */
	gp_h2_lost(c, 1, GP_HTTP_LOST_GAP, 0, 3);
	gp_h2_lost(c, 1, GP_HTTP_LOST_RINGBUF, 0, 4);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[1].m.dir, 1);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_GAP);
	assert_int_equal(evs[1].m.ts_ns, 3);
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &b, 5), -EBADMSG);
	assert_int_equal(gp_h2_frame(c, 2, b.b, b.n, 0, 6), -EINVAL);
	assert_int_equal(nev, 2);
	gp_h2_conn_free(c);
	gp_h2_conn_free(NULL);

	/* A block joined past GP_H2_BLOCK_MAX. */
	c = conn();
	memset(b.b, 0x82, sizeof(b.b));
	b.n = sizeof(b.b);
	assert_int_equal(send(c, 0, HEADERS, 0, 1, &b, 1), 0);
	for (size_t i = 1; i < GP_H2_BLOCK_MAX / sizeof(b.b); i++)
		assert_int_equal(send(c, 0, CONT, 0, 1, &b, 1), 0);
	assert_int_equal(send(c, 0, CONT, EH, 1, &b, 2), -EBADMSG);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.reason, GP_HTTP_LOST_TRUNCATED);
	gp_h2_conn_free(c);
}

/* ---- real captures ------------------------------------------------------ */

/*
 * Both directions of h2c connections to nginx 1.22 (listen ... http2) over
 * loopback, recorded by a relay: `nghttp -n -H 'x-gray: one'` for
 * /index.html (200), /missing (404) and /err (503), and
 * `curl --http2-prior-knowledge -H 'x-canary: two'` for /index.html.
 * And python3-grpcio 1.51 (client and server, Huffman and the dynamic
 * table in both directions): unary calls with metadata x-gray: grpc-one
 * answering OK, UNAVAILABLE (trailers-only), DEADLINE_EXCEEDED after
 * initial metadata, and OK again.
 */
static const char grpc_c2s[] =
	"505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000024040000000000000200"
	"0000000003000000000004003fffff0005003fffff000600002000fe0300000001000004"
	"080000000000003f00000000000401000000000000ea01040000000140053a706174680b"
	"2f67702e4563686f2f4f6b400a3a617574686f726974790f3132372e302e302e313a3138"
	"3438318386400c636f6e74656e742d74797065106170706c69636174696f6e2f67727063"
	"4002746508747261696c6572734014677270632d6163636570742d656e636f64696e6717"
	"6964656e746974792c206465666c6174652c20677a6970400c677270632d74696d656f75"
	"74023553400a757365722d6167656e7430677270632d707974686f6e2f312e35312e3120"
	"677270632d632f32392e302e3020286c696e75783b20636874747032290006782d677261"
	"7908677270632d6f6e650000040800000000010000000500000900010000000100000000"
	"0470696e6700000408000000000000000005000008060100000000000000000000000000"
	"000408000000000000000009000008060000000000000000000000000000004101040000"
	"000340053a706174680d2f67702e4563686f2f446f776ec48386c3c2c1400c677270632d"
	"74696d656f757405353031306dc00006782d6772617908677270632d6f6e650000040800"
	"0000000300000005000009000100000003000000000470696e6700000408000000000000"
	"00000500002e01040000000540053a706174680d2f67702e4563686f2f4c617465c68386"
	"c5c4c3bfc10006782d6772617908677270632d6f6e650000040800000000050000000500"
	"0009000100000005000000000470696e6700001a010400000007c7c68386c5c4c3bfc100"
	"06782d6772617908677270632d6f6e650000040800000000070000000500000900010000"
	"0007000000000470696e6700000408000000000000000005";
static const char grpc_s2c[] =
	"0000180400000000000004003fffff0005003fffff000600002000fe0300000001000004"
	"080000000000003f00000000000401000000000000080600000000000000000000000000"
	"00004e01040000000188400c636f6e74656e742d74797065106170706c69636174696f6e"
	"2f677270634014677270632d6163636570742d656e636f64696e67176964656e74697479"
	"2c206465666c6174652c20677a697000000e0000000000010000000009706f6e673a7069"
	"6e6700000f010500000001400b677270632d737461747573013000000408000000000000"
	"000009000008060100000000000000000000000000002c01050000000388c0400b677270"
	"632d737461747573023134000c677270632d6d6573736167650b63616e61727920646f77"
	"6e0000040800000000000000000900001101040000000588c1c00007782d737461676504"
	"6c6174650000040800000000000000000900000500000000000500000000000000260105"
	"00000005400b677270632d7374617475730134000c677270632d6d65737361676508746f"
	"6f20736c6f7700000301040000000788c2c100000e0000000000070000000009706f6e67"
	"3a70696e67000001010500000007c000000408000000000000000009";
static const char nghttp_c2s[] =
	"505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000c040000000000000300"
	"00006400040000ffff00000502000000000300000000c800000502000000000500000000"
	"640000050200000000070000000000000005020000000009000000070000000502000000"
	"000b000000030000003101250000000d0000000b0f828586418b089d5c0b8170dc0bcd3c"
	"1f53032a2f2a907a8aaa69d29ac4c0576c4b834085f2b4d60fd7823d4500001401250000"
	"000f0000000b0f82048662932106aa6f86c1c090bfbe0000110125000000110000000b0f"
	"82048360b65986c1c090bfbe0000080700000000000000000000000000";
static const char nghttp_s2c[] =
	"000012040000000000000300000080000400010000000500ffffff000004080000000000"
	"7fff000000000004010000000000006801040000000d887689aa6355e580ae212e1f6196"
	"df3dbf4a01952f948a08027140b97196ee32da98b46f5f87497ca589d34d1f5c01366c96"
	"df3dbf4a01952f948a08027140b97196ee09b53168df00832a47378afe5c8c217c6d48b3"
	"9fcf008919085ad2b583aa62a3848fd24a8f00000600010000000d68656c6c6f0a000032"
	"01040000000f8d7689aa6355e580ae212e1f6196df3dbf4a01952f948a08027140b97196"
	"ee32da98b46f5f87497ca589d34d1f5c0331353300009900010000000f3c68746d6c3e0d"
	"0a3c686561643e3c7469746c653e343034204e6f7420466f756e643c2f7469746c653e3c"
	"2f686561643e0d0a3c626f64793e0d0a3c63656e7465723e3c68313e343034204e6f7420"
	"466f756e643c2f68313e3c2f63656e7465723e0d0a3c68723e3c63656e7465723e6e6769"
	"6e782f312e32322e313c2f63656e7465723e0d0a3c2f626f64793e0d0a3c2f68746d6c3e"
	"0d0a00003401040000001148033530337689aa6355e580ae212e1f6196df3dbf4a01952f"
	"948a08027140b97196ee32da98b46f5f87497ca58ae819aa5c0135000005000100000011"
	"646f776e0a";
static const char curl_c2s[] =
	"505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000012040000000000000300"
	"00006400040200000000020000000000000408000000000001ff000100002b0105000000"
	"01828586418b089d5c0b8170dc0bcd3c1f7a8825b650c3abbcf2e153032a2f2a4086f2b1"
	"0750ecf50374776f000000040100000000";
static const char curl_s2c[] =
	"000012040000000000000300000080000400010000000500ffffff000004080000000000"
	"7fff0000000000040100000000000068010400000001887689aa6355e580ae212e1f6196"
	"df3dbf4a01952f948a08027140b97196ee32da98b46f5f87497ca589d34d1f5c01366c96"
	"df3dbf4a01952f948a08027140b97196ee09b53168df00832a47378afe5c8c217c6d48b3"
	"9fcf008919085ad2b583aa62a3848fd24a8f00000600010000000168656c6c6f0a";

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; s[0] && s[1]; s += 2) {
		assert_true(n < cap);
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* One direction's bytes as the kernel forwards them: DATA as its header, GOAWAY's fixed part. */
static void feed(struct gp_h2_conn *c, unsigned dir, const char *hex)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	uint8_t b[2048];
	size_t n = unhex(hex, b, sizeof(b)), i = 0, plen, fwd;

	if (dir == 0) {
		assert_memory_equal(b, preface, 24);
		i = 24;
	}
	while (i < n) {
		assert_true(n - i >= 9);
		plen = (size_t)b[i] << 16 | (size_t)b[i + 1] << 8 | b[i + 2];
		assert_true(n - i - 9 >= plen);
		fwd = b[i + 3] == DATA ? 0 : b[i + 3] == GOAWAY ? 8 : plen;
		assert_int_equal(send_part(c, dir, b[i + 3], b[i + 4],
					   (uint32_t)b[i + 5] << 24 | (uint32_t)b[i + 6] << 16 |
					   (uint32_t)b[i + 7] << 8 | b[i + 8],
					   b + i + 9, plen, fwd, i), 0);
		i += 9 + plen;
	}
}

/*
 * Records the ring lost: each direction goes on blind, once told. No
 * block is decoded with the table it no longer knows: a client block on a
 * new stream is a request of unknown head, one on a stream seen is
 * trailers; a server block is a response of unknown status.
 */
static void test_ringbuf_blind(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, st;

	(void)state;
	req_block(&b);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 1, &b, 1), 0);
	expect_request(&evs[0], 1, 1);
	gp_h2_lost(c, 0, GP_HTTP_LOST_RINGBUF, 0, 2);
	gp_h2_lost(c, 0, GP_HTTP_LOST_RINGBUF, 0, 3);	/* told once */
	assert_int_equal(nev, 2);
	assert_int_equal(evs[1].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[1].m.reason, GP_HTTP_LOST_RINGBUF);
	/* Stream 3's request: split across CONTINUATION, never decoded. */
	assert_int_equal(send_part(c, 0, HEADERS, 0, 3, b.b, 4, 4, 4), 0);
	assert_int_equal(send_part(c, 0, CONT, EH, 3, b.b + 4, b.n - 4, b.n - 4, 5), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[2].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(evs[2].m.stream, 3);
	assert_int_equal(evs[2].m.reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(evs[2].m.end_stream, 0);
	assert_int_equal(evs[2].m.ts_ns, 4);
	assert_string_equal(evs[2].path, "");
	assert_string_equal(evs[2].hdrs, "");
	/* Its trailers, and stream 1's again: no request. A CONTINUATION whose HEADERS was lost: skipped. */
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 3, &b, 6), 0);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 1, &b, 7), 0);
	assert_int_equal(send(c, 0, CONT, EH, 5, &b, 8), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 7, &b, 9), 0);
	assert_int_equal(nev, 4);
	assert_int_equal(evs[3].m.stream, 7);
	assert_int_equal(evs[3].m.end_stream, 1);

	/* The server's direction still decodes; then it too goes blind. */
	st.n = 0;
	put8(&st, 0x88);
	assert_int_equal(send(c, 1, HEADERS, EH, 1, &st, 10), 0);
	assert_int_equal(evs[4].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[4].m.status, 200);
	/* A block left open when the loss came: its CONTINUATION may be lost too. */
	assert_int_equal(send(c, 1, HEADERS, 0, 3, &st, 11), 0);
	gp_h2_lost(c, 1, GP_HTTP_LOST_RINGBUF, 0, 12);
	assert_int_equal(nev, 6);
	assert_int_equal(evs[5].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[5].m.dir, 1);
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 3, &st, 13), 0);
	assert_int_equal(nev, 8);
	assert_int_equal(evs[6].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[6].m.stream, 3);
	assert_int_equal(evs[6].m.status, 200);	/* the static table's, known without state */
	assert_int_equal(evs[6].m.reason, GP_HTTP_LOST_RINGBUF);
	assert_int_equal(evs[7].m.ev, GP_HTTP_RESPONSE_END);
	/* RST_STREAM, END_STREAM and GOAWAY go on. */
	assert_int_equal(send_part(c, 1, DATA, ES, 7, NULL, 5, 0, 14), 0);
	put32(&st, 8);
	assert_int_equal(send_part(c, 1, RST, 0, 7, st.b + 1, 4, 4, 15), 0);
	assert_int_equal(nev, 10);
	assert_int_equal(evs[8].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(evs[9].m.ev, GP_HTTP_RESET);
	assert_int_equal(evs[9].m.error_code, 8);
	/* A higher count of requests the kernel refused is told again; the same is not. */
	gp_h2_lost(c, 0, GP_HTTP_LOST_RINGBUF, 2, 16);
	gp_h2_lost(c, 0, GP_HTTP_LOST_RINGBUF, 2, 16);
	assert_int_equal(nev, 11);
	assert_int_equal(evs[10].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[10].m.missed, 2);
	/* A request left open by a loss (its CONTINUATION lost) is told with it. */
	assert_int_equal(send_part(c, 0, HEADERS, 0, 9, b.b, 4, 4, 16), 0);
	gp_h2_lost(c, 0, GP_HTTP_LOST_RINGBUF, 2, 16);
	assert_int_equal(nev, 12);
	assert_int_equal(evs[11].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(evs[11].m.stream, 9);
	assert_int_equal(evs[11].m.reason, GP_HTTP_LOST_RINGBUF);
	nev = 10;
	/* A real loss after it still ends the direction. */
	gp_h2_lost(c, 1, GP_HTTP_LOST_GAP, 0, 16);
	assert_int_equal(nev, 11);
	assert_int_equal(evs[10].m.reason, GP_HTTP_LOST_GAP);
	assert_int_equal(send(c, 1, HEADERS, EH, 9, &st, 17), -EBADMSG);
	assert_int_equal(nev, 11);
	gp_h2_conn_free(c);
}


static void expect_blind(const struct ev *e, enum gp_http_ev ev, unsigned dir, uint32_t stream,
			 int status)
{
	assert_int_equal(e->m.ev, ev);
	assert_int_equal(e->m.dir, dir);
	assert_int_equal(e->m.stream, stream);
	assert_int_equal(e->m.status, status);
	assert_int_equal(e->m.reason, GP_HTTP_LOST_MIDSTREAM);
	assert_string_equal(e->path, "");
	assert_string_equal(e->hdrs, "");
}

/*
 * Both directions joined mid-stream, the server's first, so taken for the
 * client's: its first block (:status) turns the connection round before
 * anything is told; requests are known by stream only, statuses where the
 * static table or a literal gives them.
 */
static void test_midstream_join_turned_round(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, st;

	(void)state;
	gp_h2_lost(c, 0, GP_HTTP_LOST_MIDSTREAM, 0, 1);
	gp_h2_lost(c, 1, GP_HTTP_LOST_MIDSTREAM, 0, 2);	/* once per connection */
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.ev, GP_HTTP_LOST);
	assert_int_equal(evs[0].m.dir, 0);
	assert_int_equal(evs[0].m.reason, GP_HTTP_LOST_MIDSTREAM);
	/* Record dir 0 is the server: a response to a request before the join. */
	st.n = 0;
	put8(&st, 0x88);
	assert_int_equal(send(c, 0, HEADERS, EH, 1, &st, 3), 0);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[1].m.ev, GP_HTTP_REORIENT);
	expect_blind(&evs[2], GP_HTTP_RESPONSE, 1, 1, 200);
	assert_int_equal(send_part(c, 0, DATA, ES, 1, NULL, 5, 0, 4), 0);
	assert_int_equal(evs[3].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(evs[3].m.dir, 1);
	/* The client's requests, in record dir 1, never decoded. */
	req_block(&b);
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 3, &b, 5), 0);
	expect_blind(&evs[4], GP_HTTP_REQUEST, 0, 3, 0);
	assert_int_equal(evs[4].m.end_stream, 1);
	/* A literal :status (nginx's 503), a Huffman one (RFC 7541 C.6.1), one in the table. */
	st.n = 0;
	put(&st, "\x08\x03" "503", 5);
	assert_int_equal(send(c, 0, HEADERS, EH, 3, &st, 6), 0);
	expect_blind(&evs[5], GP_HTTP_RESPONSE, 1, 3, 503);
	st.n = 0;
	put(&st, "\x48\x82\x64\x02", 4);
	assert_int_equal(send(c, 0, HEADERS, EH, 5, &st, 7), 0);
	expect_blind(&evs[6], GP_HTTP_RESPONSE, 1, 5, 302);
	st.n = 0;
	put8(&st, 0xbe);
	assert_int_equal(send(c, 0, HEADERS, EH, 7, &st, 8), 0);
	expect_blind(&evs[7], GP_HTTP_RESPONSE, 1, 7, 0);
	/* Trailers open with a regular field; a second turn-round is not made. */
	st.n = 0;
	lit(&st, 0x00, "grpc-status", "0");
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 3, &st, 9), 0);
	expect_blind(&evs[8], GP_HTTP_TRAILERS, 1, 3, 0);
	assert_int_equal(evs[9].m.ev, GP_HTTP_RESPONSE_END);
	st.n = 0;
	put8(&st, 0x88);
	assert_int_equal(send(c, 1, HEADERS, EH, 9, &st, 10), 0);
	assert_int_equal(send(c, 0, HEADERS, EH, 9, &b, 11), 0);
	assert_int_equal(nev, 10);
	gp_h2_conn_free(c);
}

/* Joined the right way round: nothing turns; a block that tells nothing follows the records. */
static void test_midstream_join_as_recorded(void **state)
{
	struct gp_h2_conn *c = conn();
	struct buf b, st;

	(void)state;
	gp_h2_lost(c, 1, GP_HTTP_LOST_MIDSTREAM, 0, 1);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].m.dir, 1);
	st.n = 0;
	put8(&st, 0xc0);
	assert_int_equal(send(c, 1, HEADERS, EH | ES, 1, &st, 2), 0);
	expect_blind(&evs[1], GP_HTTP_RESPONSE, 1, 1, 0);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE_END);
	/* Its request direction was not joined yet: decoded as ever until it is. */
	req_block(&b);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 3, &b, 3), 0);
	expect_request(&evs[3], 3, 1);
	gp_h2_lost(c, 0, GP_HTTP_LOST_MIDSTREAM, 0, 4);
	assert_int_equal(send(c, 0, HEADERS, EH | ES, 5, &b, 5), 0);
	assert_int_equal(nev, 5);
	expect_blind(&evs[4], GP_HTTP_REQUEST, 0, 5, 0);
	gp_h2_conn_free(c);
}

static void test_nghttp_nginx(void **state)
{
	struct gp_h2_conn *c = conn();
	static const char *const paths[] = { "/index.html", "/missing", "/err" };
	static const int status[] = { 200, 404, 503 };
	char val[32];
	size_t i;

	(void)state;
	feed(c, 0, nghttp_c2s);
	feed(c, 1, nghttp_s2c);
	/* Three requests, nghttp's GOAWAY as it leaves, three responses. */
	assert_int_equal(nev, 10);
	assert_int_equal(evs[3].m.ev, GP_HTTP_GOAWAY);
	assert_int_equal(evs[3].m.dir, 0);
	assert_int_equal(evs[3].m.error_code, 0);
	for (i = 0; i < 3; i++) {
		const struct ev *q = &evs[i], *r = &evs[4 + 2 * i], *e = &evs[5 + 2 * i];

		assert_int_equal(q->m.ev, GP_HTTP_REQUEST);
		assert_int_equal(q->m.stream, 13 + 2 * i);
		assert_int_equal(q->m.end_stream, 1);
		assert_int_equal(q->m.malformed, 0);
		assert_string_equal(q->method, "GET");
		assert_string_equal(q->authority, "127.0.0.1:18481");
		assert_string_equal(q->path, paths[i]);
		assert_int_equal(gp_http1_header((const uint8_t *)q->hdrs, strlen(q->hdrs), "x-gray",
						 val, sizeof(val)), 1);
		assert_string_equal(val, "one");
		assert_int_equal(r->m.ev, GP_HTTP_RESPONSE);
		assert_int_equal(r->m.stream, 13 + 2 * i);
		assert_int_equal(r->m.status, status[i]);
		assert_int_equal(gp_http1_header((const uint8_t *)r->hdrs, strlen(r->hdrs), "server",
						 val, sizeof(val)), 1);
		assert_string_equal(val, "nginx/1.22.1");
		assert_int_equal(e->m.ev, GP_HTTP_RESPONSE_END);
		assert_int_equal(e->m.stream, 13 + 2 * i);
	}
	gp_h2_conn_free(c);
}

static void test_curl_nginx(void **state)
{
	struct gp_h2_conn *c = conn();
	char val[32];

	(void)state;
	feed(c, 0, curl_c2s);
	feed(c, 1, curl_s2c);
	assert_int_equal(nev, 3);
	assert_int_equal(evs[0].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(evs[0].m.stream, 1);
	assert_string_equal(evs[0].path, "/index.html");
	assert_int_equal(gp_http1_header((const uint8_t *)evs[0].hdrs, strlen(evs[0].hdrs),
					 "x-canary", val, sizeof(val)), 1);
	assert_string_equal(val, "two");
	assert_int_equal(evs[1].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(evs[1].m.status, 200);
	assert_int_equal(evs[2].m.ev, GP_HTTP_RESPONSE_END);
	gp_h2_conn_free(c);
}

static void test_grpcio(void **state)
{
	struct gp_h2_conn *c = conn();
	static const char *const paths[] = { "/gp.Echo/Ok", "/gp.Echo/Down", "/gp.Echo/Late",
					     "/gp.Echo/Ok" };
	/* Per stream: grpc-status of the response head (trailers-only), of the trailers. */
	static const int head_grpc[] = { -1, 14, -1, -1 }, trailer_grpc[] = { 0, -1, 4, 0 };
	const struct ev *e = evs + 4;
	char val[32];
	size_t i;

	(void)state;
	feed(c, 0, grpc_c2s);
	feed(c, 1, grpc_s2c);
	assert_int_equal(nev, 15);
	for (i = 0; i < 4; i++) {
		assert_int_equal(evs[i].m.ev, GP_HTTP_REQUEST);
		assert_int_equal(evs[i].m.stream, 1 + 2 * i);
		assert_int_equal(evs[i].m.end_stream, 0);
		assert_string_equal(evs[i].method, "POST");
		assert_string_equal(evs[i].path, paths[i]);
		assert_int_equal(gp_http1_header((const uint8_t *)evs[i].hdrs, strlen(evs[i].hdrs),
						 "x-gray", val, sizeof(val)), 1);
		assert_string_equal(val, "grpc-one");
		assert_int_equal(e->m.ev, GP_HTTP_RESPONSE);
		assert_int_equal(e->m.stream, 1 + 2 * i);
		assert_int_equal(e->m.status, 200);
		assert_int_equal(e->m.is_grpc, 1);
		assert_int_equal(e->m.grpc_status, head_grpc[i]);
		e++;
		if (trailer_grpc[i] >= 0) {
			assert_int_equal(e->m.ev, GP_HTTP_TRAILERS);
			assert_int_equal(e->m.grpc_status, trailer_grpc[i]);
			e++;
		}
		assert_int_equal(e->m.ev, GP_HTTP_RESPONSE_END);
		assert_int_equal(e->m.stream, 1 + 2 * i);
		e++;
	}
	gp_h2_conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_response),
		cmocka_unit_test(test_padded_priority),
		cmocka_unit_test(test_empty_fragment),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_continuation_errors),
		cmocka_unit_test(test_grpc),
		cmocka_unit_test(test_interim_and_upgrade),
		cmocka_unit_test(test_reset_goaway),
		cmocka_unit_test(test_settings_table_size),
		cmocka_unit_test(test_push_promise),
		cmocka_unit_test(test_malformed_heads),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_ringbuf_blind),
		cmocka_unit_test(test_midstream_join_turned_round),
		cmocka_unit_test(test_midstream_join_as_recorded),
		cmocka_unit_test(test_nghttp_nginx),
		cmocka_unit_test(test_curl_nginx),
		cmocka_unit_test(test_grpcio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
