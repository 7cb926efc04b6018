// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records through the reassembly into the real HTTP/2 decoder (test_l7.c
 * checks the routing with doubles): an h2c upgrade whose HTTP/2 request
 * carries its own gray header in a HEADERS frame split over two records,
 * the response, its END (a DATA header), and the kernel's LOST.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "decode/l7.h"
#include "pipeline/payload.h"

struct ev {
	struct gp_http_msg m;
	char method[32], path[64], authority[64], gray[64];
};

static struct ev ev[16];
static int n_ev;

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	struct ev *e = &ev[n_ev++];

	(void)ctx;
	(void)c;
	assert_true(n_ev <= 16);
	e->m = *m;
	if (m->ev != GP_HTTP_REQUEST && m->ev != GP_HTTP_RESPONSE)
		return;
	snprintf(e->method, sizeof(e->method), "%s", m->method ? m->method : "");
	snprintf(e->path, sizeof(e->path), "%s", m->path ? m->path : "");
	snprintf(e->authority, sizeof(e->authority), "%s", m->authority ? m->authority : "");
	if (m->hdrs)
		gp_http1_header(m->hdrs, m->hdrs_len, "x-gray", e->gray, sizeof(e->gray));
}

static int rec(struct gp_l7 *t, unsigned dir, unsigned kind, unsigned proto, uint32_t unit_off,
	       uint32_t off, const void *data, size_t len, unsigned flags, uint64_t ts)
{
	struct gp_l7_event h;

	memset(&h, 0, sizeof(h));
	h.type = GP_EV_L7;
	h.ts_ns = ts;
	h.flow.family = 2;
	h.flow.sport = 40000;
	h.flow.dport = 80;
	h.isn = 7;
	h.unit_off = unit_off;
	h.off = off;
	h.len = (uint32_t)len;
	h.dir = (uint8_t)dir;
	h.kind = (uint8_t)kind;
	h.proto = (uint8_t)proto;
	h.flags = (uint8_t)flags;
	h.reason = kind == GP_L7_LOST ? GP_L7_LOST_GAP : 0;
	return gp_l7_record(t, &h, data);
}

static void test_h2c_upgrade_real_decoder(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
				  "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
				   "Upgrade: h2c\r\n\r\n";
	static const uint8_t settings[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
	/* :method GET, :scheme http, :path /, :authority h, x-gray: two; END_STREAM|END_HEADERS. */
	static const uint8_t headers[] = { 0, 0, 18, 1, 5, 0, 0, 0, 3, 0x82, 0x86, 0x84,
					   0x41, 1, 'h', 0x40, 6, 'x', '-', 'g', 'r', 'a', 'y',
					   3, 't', 'w', 'o' };
	static const uint8_t status200[] = { 0, 0, 1, 1, 4, 0, 0, 0, 3, 0x88 };
	static const uint8_t data_end[9] = { 0, 0, 5, 0, 1, 0, 0, 0, 3 };
	const struct gp_l7_ops ops = { .msg = on_msg };
	struct gp_l7 *t = gp_l7_new(&ops);
	uint32_t c0 = sizeof(req) - 1 + 24, c1 = sizeof(resp) - 1;

	(void)state;
	assert_non_null(t);
	assert_int_equal(rec(t, 0, GP_L7_UNIT, GP_L7P_H1, 0, 0, req, sizeof(req) - 1,
			     GP_L7_F_LAST, 1), 0);
	assert_int_equal(rec(t, 1, GP_L7_UNIT, GP_L7P_H1, 0, 0, resp, sizeof(resp) - 1,
			     GP_L7_F_LAST, 2), 0);
	assert_int_equal(rec(t, 1, GP_L7_UNIT, GP_L7P_H2, c1, c1, settings, 9, GP_L7_F_LAST, 3), 0);
	assert_int_equal(rec(t, 0, GP_L7_UNIT, GP_L7P_H2, c0, c0, settings, 9, GP_L7_F_LAST, 4), 0);
	c0 += 9;
	assert_int_equal(rec(t, 0, GP_L7_UNIT, GP_L7P_H2, c0, c0, headers, 12, 0, 5), 0);
	assert_int_equal(rec(t, 0, GP_L7_UNIT, GP_L7P_H2, c0, c0 + 12, headers + 12,
			     sizeof(headers) - 12, GP_L7_F_LAST, 6), 0);
	c1 += 9;
	assert_int_equal(rec(t, 1, GP_L7_UNIT, GP_L7P_H2, c1, c1, status200, sizeof(status200),
			     GP_L7_F_LAST, 7), 0);
	assert_int_equal(rec(t, 1, GP_L7_END, GP_L7P_H2, c1 + 10, c1 + 10, data_end, 9, 0, 8), 0);
	assert_int_equal(rec(t, 0, GP_L7_LOST, GP_L7P_H2, 0, 0, NULL, 0, 0, 9), 0);
	if (n_ev != 6)
		fail_msg("%d events", n_ev);

	assert_int_equal(ev[0].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(ev[0].m.proto, GP_L7P_H1);
	assert_int_equal(ev[1].m.status, 101);
	assert_int_equal(ev[2].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(ev[2].m.proto, GP_L7P_H2);
	assert_int_equal(ev[2].m.stream, 3);
	assert_int_equal(ev[2].m.ts_ns, 5);
	assert_int_equal(ev[2].m.end_stream, 1);
	assert_string_equal(ev[2].method, "GET");
	assert_string_equal(ev[2].path, "/");
	assert_string_equal(ev[2].authority, "h");
	assert_string_equal(ev[2].gray, "two");
	assert_int_equal(ev[3].m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(ev[3].m.status, 200);
	assert_int_equal(ev[3].m.stream, 3);
	assert_int_equal(ev[4].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(ev[4].m.stream, 3);
	assert_int_equal(ev[4].m.ts_ns, 8);
	assert_int_equal(ev[5].m.ev, GP_HTTP_LOST);
	assert_int_equal(ev[5].m.dir, 0);
	assert_int_equal(ev[5].m.proto, GP_L7P_H2);
	assert_int_equal(ev[5].m.reason, GP_HTTP_LOST_GAP);
	gp_l7_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h2c_upgrade_real_decoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
