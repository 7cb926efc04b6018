// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext to the kernel's L7 records (decode/plain.c): the units,
 * ends and losses of RFC 9112 message framing and RFC 9113 frame layouts;
 * the same records (merged per unit) however the stream is cut into calls,
 * each unit timed by the call that carried its first byte; bytes not
 * captured cost nothing inside a body, a GAP inside a head; sessions
 * joined mid-stream; HEAD pipelining; h2c upgrade. Every record also goes
 * through decode/l7.c, which must take it (bad_records 0); the end-to-end
 * tests check its messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode/l7.h"
#include "decode/plain.h"

#define REC_MAX 4096
#define CALL_MAX 70000
#define MSG_MAX 64

struct rec {
	struct gp_l7_event h;
	uint8_t *data;
};

/* A unit (or end, or loss) as its records add up. */
struct unit {
	uint8_t kind, proto, flags;
	uint32_t unit_off, off, reason, len;
	uint64_t ts;
	uint8_t *data;
};

struct call {
	uint64_t off, end, ts;
};

struct msg {
	struct gp_http_msg m;
	char method[32], path[64];
};

static struct {
	struct rec r[REC_MAX];
	unsigned nr;
	struct call c[2][CALL_MAX];
	unsigned nc[2];
	uint64_t off[2], ts;
	struct gp_l7 *l7;
	struct msg msg[MSG_MAX];
	unsigned nmsg;
} g;

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	struct msg *e = &g.msg[g.nmsg];

	(void)ctx;
	(void)c;
	if (g.nmsg == MSG_MAX)
		return;
	g.nmsg++;
	e->m = *m;
	if (m->ev == GP_HTTP_REQUEST) {
		snprintf(e->method, sizeof(e->method), "%s", m->method);
		snprintf(e->path, sizeof(e->path), "%s", m->path);
	}
}

static const struct gp_l7_ops l7ops = { .msg = on_msg };

static void on_rec(void *ctx, const struct gp_l7_event *h, const uint8_t *data)
{
	struct rec *r = &g.r[g.nr++];

	(void)ctx;
	assert_true(g.nr <= REC_MAX);
	r->h = *h;
	r->data = NULL;
	if (h->len) {
		assert_non_null(data);
		r->data = malloc(h->len);
		assert_non_null(r->data);
		memcpy(r->data, data, h->len);
	}
	gp_l7_record(g.l7, h, data);
}

static void reset(void)
{
	unsigned i;

	for (i = 0; i < g.nr; i++)
		free(g.r[i].data);
	gp_l7_free(g.l7);
	memset(&g, 0, sizeof(g));
	g.l7 = gp_l7_new(&l7ops);
	assert_non_null(g.l7);
}

static int setup(void **state)
{
	(void)state;
	reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	reset();
	gp_l7_free(g.l7);
	g.l7 = NULL;
	return 0;
}

/* One call of dir: len of total bytes at off (off: where dir is, unless told). */
static void feed_at(struct gp_plain *p, unsigned dir, uint64_t off, const void *data,
		    uint32_t len, uint32_t total, int first)
{
	struct gp_l7_event t;

	memset(&t, 0, sizeof(t));
	t.type = GP_EV_L7;
	t.ifindex = 2;
	t.ts_ns = 1000 + ++g.ts;
	t.flow.family = 2;
	t.flow.sport = 40000;
	t.flow.dport = 443;
	t.isn = 77;
	t.dir = (uint8_t)dir;
	assert_true(g.nc[dir] < CALL_MAX);
	g.c[dir][g.nc[dir]++] = (struct call){ off, off + total, t.ts_ns };
	assert_int_equal(gp_plain_feed(p, &t, off, data, len, total, first, on_rec, NULL), 0);
	g.off[dir] = off + total;
}

static void feed(struct gp_plain *p, unsigned dir, const void *data, uint32_t len)
{
	feed_at(p, dir, g.off[dir], data, len, len, 0);
}

static void feeds(struct gp_plain *p, unsigned dir, const char *s)
{
	feed(p, dir, s, (uint32_t)strlen(s));
}

/* dir's records, merged per unit. */
static unsigned merged(unsigned dir, struct unit *u, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < g.nr; i++) {
		const struct rec *r = &g.r[i];
		struct unit *last = n ? &u[n - 1] : NULL;

		if (r->h.dir != dir)
			continue;
		if (r->h.kind == GP_L7_UNIT && last && last->kind == GP_L7_UNIT &&
		    !(last->flags & GP_L7_F_LAST) && r->h.unit_off == last->unit_off) {
			assert_int_equal(r->h.off, last->unit_off + last->len);
			last->data = realloc(last->data, last->len + r->h.len);
			assert_non_null(last->data);
			memcpy(last->data + last->len, r->data, r->h.len);
			last->len += r->h.len;
			last->flags = r->h.flags;
			continue;
		}
		assert_true(n < max);
		u[n] = (struct unit){ r->h.kind, r->h.proto, r->h.flags, r->h.unit_off, r->h.off,
				      r->h.reason, r->h.len, r->h.ts_ns, NULL };
		if (r->h.len) {
			u[n].data = malloc(r->h.len);
			assert_non_null(u[n].data);
			memcpy(u[n].data, r->data, r->h.len);
		}
		if (r->h.kind == GP_L7_UNIT)
			assert_int_equal(r->h.off, r->h.unit_off);
		n++;
	}
	return n;
}

static void units_free(struct unit *u, unsigned n)
{
	while (n--)
		free(u[n].data);
}

/* The ts of the call of dir that carried byte at. */
static uint64_t ts_at(unsigned dir, uint64_t at)
{
	unsigned i;

	for (i = 0; i < g.nc[dir]; i++)
		if (g.c[dir][i].off <= at && at < g.c[dir][i].end)
			return g.c[dir][i].ts;
	fail_msg("no call of dir %u holds byte %llu", dir, (unsigned long long)at);
	return 0;
}

static void l7_clean(void)
{
	struct gp_l7_stats s;

	gp_l7_stats(g.l7, &s);
	assert_int_equal(s.bad_records, 0);
}

/* ---- streams ---- */

struct buf {
	uint8_t b[40000];
	uint32_t n;
};

static void put(struct buf *b, const void *s, uint32_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	if (s)
		memcpy(b->b + b->n, s, n);
	else
		memset(b->b + b->n, 'x', n);
	b->n += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, (uint32_t)strlen(s));
}

/* RFC 9113 4.1: length, type, flags, stream id, payload (NULL: filler). */
static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
		  uint32_t len)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags, sid >> 24 & 0x7f, sid >> 16,
			 sid >> 8, sid };

	put(b, h, 9);
	put(b, pl, len);
}

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* RFC 9110 / RFC 9112 section 1's exchange. */
#define REQ_HELLO "GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\n" \
	"Host: www.example.com\r\nAccept-Language: en, mi\r\n\r\n"
#define RESP_HELLO_HEAD "HTTP/1.1 200 OK\r\nDate: Mon, 27 Jul 2009 12:28:53 GMT\r\n" \
	"Server: Apache\r\nLast-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n" \
	"ETag: \"34aa387-d-1568eb00\"\r\nAccept-Ranges: bytes\r\nContent-Length: 51\r\n" \
	"Vary: Accept-Encoding\r\nContent-Type: text/plain\r\n\r\n"
#define RESP_HELLO_BODY "Hello World! My content includes a trailing CRLF.\r\n"

/* RFC 9112 7.1: a chunked body with an extension and a trailer section (7.1.2). */
#define RESP_CHUNKED_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" \
	"Transfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n"
#define RESP_CHUNKED_BODY "7\r\nMozilla\r\n11;name=value\r\nDeveloper Network\r\n0\r\n" \
	"Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n"

/* A stream of chunks, each a run of one direction, fed in order. */
struct chunk {
	unsigned dir;
	const uint8_t *b;
	uint32_t n;
};

/*
 * The chunks fed whole (how 0), chunk c cut at k (how 1), in calls of k
 * bytes (how 2); dir's merged units into u.
 */
static void run(const struct chunk *ch, unsigned nch, int how, unsigned c, uint32_t k,
		int first)
{
	struct gp_plain *p = gp_plain_new();
	unsigned i;
	uint32_t at;

	assert_non_null(p);
	for (i = 0; i < nch; i++) {
		const struct chunk *x = &ch[i];
		int f = first && !i;

		if (how == 1 && i == c && k && k < x->n) {
			feed_at(p, x->dir, g.off[x->dir], x->b, k, k, f);
			feed(p, x->dir, x->b + k, x->n - k);
		} else if (how == 2) {
			for (at = 0; at < x->n; at += k, f = 0)
				feed_at(p, x->dir, g.off[x->dir], x->b + at,
					x->n - at < k ? x->n - at : k, x->n - at < k ? x->n - at : k, f);
		} else {
			feed_at(p, x->dir, g.off[x->dir], x->b, x->n, x->n, f);
		}
	}
	gp_plain_free(p);
	l7_clean();
}

static void same_units(const struct unit *a, unsigned na, const struct unit *b, unsigned nb,
		       const char *what)
{
	unsigned i;

	if (na != nb)
		fail_msg("%s: %u units, whole %u", what, nb, na);
	for (i = 0; i < na; i++) {
		if (a[i].kind != b[i].kind || a[i].unit_off != b[i].unit_off || a[i].off != b[i].off ||
		    a[i].len != b[i].len || a[i].flags != b[i].flags || a[i].proto != b[i].proto ||
		    a[i].reason != b[i].reason || (a[i].len && memcmp(a[i].data, b[i].data, a[i].len)))
			fail_msg("%s: unit %u differs (kind %u/%u at %u/%u len %u/%u)", what, i,
				 b[i].kind, a[i].kind, b[i].unit_off, a[i].unit_off, b[i].len, a[i].len);
	}
}

/* Each unit timed by the call that carried its first byte, an END by its last. */
static void check_ts(unsigned dir, const struct unit *u, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (u[i].kind == GP_L7_UNIT)
			assert_int_equal(u[i].ts, ts_at(dir, u[i].unit_off));
		else if (u[i].kind == GP_L7_END && u[i].proto == GP_L7P_H2)
			assert_int_equal(u[i].ts, ts_at(dir, u[i].unit_off + 8));
		else if (u[i].kind == GP_L7_END)
			assert_int_equal(u[i].ts, ts_at(dir, u[i].off - 1));
	}
}

#define UMAX 256

/* Every 2-way cut of every chunk, and 1-byte calls: the units of the whole feed. */
static void every_split(const struct chunk *ch, unsigned nch)
{
	static struct unit w[2][UMAX], s[2][UMAX];
	unsigned nw[2], ns[2], c, d;
	uint32_t k;
	char what[64];

	run(ch, nch, 0, 0, 0, 0);
	for (d = 0; d < 2; d++) {
		nw[d] = merged(d, w[d], UMAX);
		check_ts(d, w[d], nw[d]);
	}
	assert_true(nw[0] + nw[1] > 0);
	for (c = 0; c <= nch; c++) {
		for (k = 1; k < (c < nch ? ch[c].n : 2); k++) {
			reset();
			if (c < nch)
				run(ch, nch, 1, c, k, 0);
			else
				run(ch, nch, 2, 0, 1, 0);
			for (d = 0; d < 2; d++) {
				ns[d] = merged(d, s[d], UMAX);
				snprintf(what, sizeof(what), "dir %u chunk %u cut %u", d, c, k);
				same_units(w[d], nw[d], s[d], ns[d], what);
				check_ts(d, s[d], ns[d]);
				units_free(s[d], ns[d]);
			}
		}
	}
	for (d = 0; d < 2; d++)
		units_free(w[d], nw[d]);
}

/* ---- spec examples ---- */

static void expect(const struct unit *u, uint8_t kind, uint8_t proto, uint32_t unit_off,
		   uint32_t off, uint32_t len, uint8_t flags, uint32_t reason)
{
	if (u->kind != kind || u->proto != proto || u->unit_off != unit_off || u->off != off ||
	    u->len != len || u->flags != flags || u->reason != reason)
		fail_msg("unit kind %u proto %u at %u off %u len %u flags %u reason %u; expected "
			 "%u %u %u %u %u %u %u", u->kind, u->proto, u->unit_off, u->off, u->len,
			 u->flags, u->reason, kind, proto, unit_off, off, len, flags, reason);
}

static void test_h1_rfc9110_exchange(void **state)
{
	static const char resp[] = RESP_HELLO_HEAD RESP_HELLO_BODY;
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	feeds(p, 0, REQ_HELLO);
	feeds(p, 1, resp);
	assert_int_equal(gp_plain_proto(p, 0), GP_L7P_H1);
	assert_int_equal(gp_plain_proto(p, 1), GP_L7P_H1);
	n = merged(0, u, 8);
	assert_int_equal(n, 1);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, sizeof(REQ_HELLO) - 1, GP_L7_F_LAST, 0);
	assert_memory_equal(u[0].data, REQ_HELLO, u[0].len);
	units_free(u, n);
	n = merged(1, u, 8);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, sizeof(RESP_HELLO_HEAD) - 1, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, sizeof(resp) - 1, 0, 0, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
}

static void test_h1_chunked_trailers(void **state)
{
	static const char req[] = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "2\r\nab\r\n6\r\n\r\n\r\nxx\r\n0\r\n\r\n";
	static const char resp[] = RESP_CHUNKED_HEAD RESP_CHUNKED_BODY;
	static const char req2[] = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char resp2[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	struct gp_plain *p = gp_plain_new();
	uint32_t r1 = (uint32_t)strlen(req), s1 = (uint32_t)strlen(resp);
	struct unit u[8];
	unsigned n;

	(void)state;
	feeds(p, 0, req);
	feeds(p, 0, req2);
	feeds(p, 1, resp);
	feeds(p, 1, resp2);
	n = merged(0, u, 8);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, r1 - 23, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H1, r1, r1, sizeof(req2) - 1, GP_L7_F_LAST, 0);
	units_free(u, n);
	n = merged(1, u, 8);
	assert_int_equal(n, 4);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, sizeof(RESP_CHUNKED_HEAD) - 1, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, s1, 0, 0, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H1, s1, s1, sizeof(resp2) - 1, GP_L7_F_LAST, 0);
	expect(&u[3], GP_L7_END, GP_L7P_H1, s1, s1 + sizeof(resp2) - 1, 0, 0, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
}

/* Pipelined: HEAD's response has a Content-Length but no body; 1xx, 204, 304 none either. */
static void test_h1_pipelined_head(void **state)
{
	static const char reqs[] = "HEAD /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
				   "GET /c HTTP/1.1\r\nHost: a\r\n\r\nGET /d HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char h1[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
	static const char h2a[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char h2b[] = "HTTP/1.1 204 No Content\r\n\r\n";
	static const char h3[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n";
	static const char h4[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct gp_plain *p = gp_plain_new();
	uint32_t a = sizeof(h1) - 1, b = a + sizeof(h2a) - 1, c = b + sizeof(h2b) - 1;
	uint32_t d = c + sizeof(h3) - 1;
	struct buf *all = calloc(1, sizeof(*all));
	struct unit u[16];
	unsigned n, i;

	(void)state;
	assert_non_null(all);
	puts_(all, h1);
	puts_(all, h2a);
	puts_(all, h2b);
	puts_(all, h3);
	puts_(all, h4);
	feeds(p, 0, reqs);
	feed(p, 1, all->b, all->n);
	assert_int_equal(merged(0, u, 16), 4);
	units_free(u, 4);
	n = merged(1, u, 16);
	assert_int_equal(n, 9);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, a, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, a, 0, 0, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H1, a, a, b - a, GP_L7_F_LAST, 0);	/* interim: no END */
	expect(&u[3], GP_L7_UNIT, GP_L7P_H1, b, b, c - b, GP_L7_F_LAST, 0);
	expect(&u[4], GP_L7_END, GP_L7P_H1, b, c, 0, 0, 0);
	expect(&u[5], GP_L7_UNIT, GP_L7P_H1, c, c, d - c, GP_L7_F_LAST, 0);
	expect(&u[6], GP_L7_END, GP_L7P_H1, c, d, 0, 0, 0);
	expect(&u[7], GP_L7_UNIT, GP_L7P_H1, d, d, sizeof(h4) - 6, GP_L7_F_LAST, 0);
	expect(&u[8], GP_L7_END, GP_L7P_H1, d, all->n, 0, 0, 0);
	for (i = 0; i < n; i++)
		if (u[i].kind == GP_L7_UNIT)
			assert_memory_equal(u[i].data, all->b + u[i].unit_off, u[i].len);
	units_free(u, n);
	free(all);
	gp_plain_free(p);
	l7_clean();
}

/*
 * A HEAD request line longer than 256 bytes, then one pipelined: the first
 * line's start is kept however long the line (a count wrapping at 256 would
 * write its later bytes over "HEAD "), so the HEAD response has no body.
 */
static void test_h1_long_head_line(void **state)
{
	static const char h1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	static const char h2[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct gp_plain *p = gp_plain_new();
	struct buf *req = calloc(1, sizeof(*req)), *resp = calloc(1, sizeof(*resp));
	uint32_t a = sizeof(h1) - 1;
	struct unit u[8];

	(void)state;
	assert_non_null(req);
	assert_non_null(resp);
	puts_(req, "HEAD /");
	put(req, NULL, 300);
	puts_(req, " HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
	puts_(resp, h1);
	puts_(resp, h2);
	feed(p, 0, req->b, req->n);
	feed(p, 1, resp->b, resp->n);
	assert_int_equal(merged(0, u, 8), 2);
	units_free(u, 2);
	assert_int_equal(merged(1, u, 8), 4);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, a, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, a, 0, 0, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H1, a, a, sizeof(h2) - 6, GP_L7_F_LAST, 0);
	expect(&u[3], GP_L7_END, GP_L7P_H1, a, resp->n, 0, 0, 0);
	units_free(u, 4);
	free(req);
	free(resp);
	gp_plain_free(p);
	l7_clean();
}

/* CONNECT 2xx: a tunnel, neither direction followed after the response head; no body: close. */
static void test_h1_connect_and_close(void **state)
{
	static const char req[] = "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	feeds(p, 0, req);
	feeds(p, 1, resp);
	feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");	/* inside the tunnel */
	feeds(p, 1, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(merged(0, u, 8), 1);
	units_free(u, 1);
	n = merged(1, u, 8);
	assert_int_equal(n, 2);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, sizeof(resp) - 1, 0, 0, 0);
	units_free(u, n);
	assert_int_equal(gp_plain_proto(p, 1), GP_L7P_H1);
	assert_int_equal(gp_plain_finished(p), 1);
	gp_plain_free(p);

	reset();
	p = gp_plain_new();
	feeds(p, 0, "GET / HTTP/1.0\r\n\r\n");
	feeds(p, 1, "HTTP/1.0 200 OK\r\n\r\nuntil close... HTTP/1.1 200 OK\r\n\r\n");
	n = merged(1, u, 8);
	assert_int_equal(n, 1);		/* read until close: no END, nothing after */
	assert_int_equal(gp_plain_finished(p), 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
}

/* Heads, chunk lines and statuses past the limits: MALFORMED. */
static void test_h1_malformed(void **state)
{
	static char big[GP_L7_HEAD_MAX + 64];
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	feeds(p, 0, big);
	n = merged(0, u, 8);
	assert_int_equal(n, 2);
	assert_int_equal(u[0].len, GP_L7_HEAD_MAX);
	assert_int_equal(u[0].flags, 0);
	expect(&u[1], GP_L7_LOST, GP_L7P_H1, 0, 0, 0, 0, GP_L7_LOST_MALFORMED);
	units_free(u, n);
	gp_plain_free(p);

	reset();
	p = gp_plain_new();
	feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");
	feeds(p, 1, "HTTP/1.1 2x0 OK\r\n\r\n");
	n = merged(1, u, 8);
	assert_int_equal(n, 2);
	expect(&u[1], GP_L7_LOST, GP_L7P_H1, 0, 0, 0, 0, GP_L7_LOST_MALFORMED);
	units_free(u, n);
	gp_plain_free(p);

	/* a chunk-size line is followed to 129 bytes with its LF */
	reset();
	p = gp_plain_new();
	memset(big, ' ', 200);
	memcpy(big, "5;", 2);
	memcpy(big + 127, "\r\n", 2);
	big[129] = 0;
	feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");
	feeds(p, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	feeds(p, 1, big);
	feeds(p, 1, "hello\r\n0\r\n\r\n");
	n = merged(1, u, 8);
	assert_int_equal(n, 2);
	assert_int_equal(u[1].kind, GP_L7_END);
	units_free(u, n);
	big[128] = ' ';
	big[129] = '\n';
	big[130] = 0;
	feeds(p, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	feeds(p, 1, big);
	n = merged(1, u, 8);
	assert_int_equal(n, 4);
	assert_int_equal(u[3].kind, GP_L7_LOST);
	assert_int_equal(u[3].reason, GP_L7_LOST_MALFORMED);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
}

/* RFC 7541 C.3.1's request block, cut into HEADERS + CONTINUATION. */
static const uint8_t blk_req[] = { 0x82, 0x86, 0x84, 0x41, 0x0f, 'w', 'w', 'w', '.', 'e', 'x',
				   'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
static const uint8_t blk_200[] = { 0x88 };

/* RFC 9113: preface, SETTINGS both ways, a request in HEADERS + CONTINUATION, DATA, GOAWAY. */
static void h2_streams(struct buf *c, struct buf *s)
{
	static const uint8_t settings[] = { 0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff };
	static const uint8_t rst[] = { 0, 0, 0, 8 }, ping[8] = { 1 };
	static const uint8_t goaway[] = { 0, 0, 0, 3, 0, 0, 0, 0, 'b', 'y', 'e' };
	static const uint8_t wu[] = { 0, 0, 0x10, 0 };

	puts_(c, PREFACE);
	frame(c, 4, 0, 0, settings, sizeof(settings));
	frame(c, 8, 0, 0, wu, 4);
	frame(c, 1, 0x01, 1, blk_req, 5);			/* END_STREAM, not END_HEADERS */
	frame(c, 9, 0x04, 1, blk_req + 5, sizeof(blk_req) - 5);
	frame(c, 4, 0x01, 0, NULL, 0);				/* ACK */
	frame(c, 6, 0, 0, ping, 8);
	frame(c, 3, 0, 3, rst, 4);
	frame(s, 4, 0, 0, settings, 6);
	frame(s, 4, 0x01, 0, NULL, 0);
	frame(s, 1, 0x04, 1, blk_200, 1);
	frame(s, 0, 0, 1, NULL, 300);
	frame(s, 0, 0x09, 1, "\003abc", 4);			/* PADDED, END_STREAM */
	frame(s, 7, 0, 0, goaway, sizeof(goaway));
}

static void test_h2_frames(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	struct gp_plain *p = gp_plain_new();
	struct unit u[16];
	unsigned n, i;
	uint32_t at;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	h2_streams(c, s);
	feed(p, 1, s->b, 30);		/* a server may speak first */
	feed(p, 0, c->b, c->n);
	feed(p, 1, s->b + 30, s->n - 30);
	assert_int_equal(gp_plain_proto(p, 0), GP_L7P_H2);
	assert_int_equal(gp_plain_proto(p, 1), GP_L7P_H2);
	n = merged(0, u, 16);
	assert_int_equal(n, 5);
	at = 24;
	expect(&u[0], GP_L7_UNIT, GP_L7P_H2, at, at, 9 + 12, GP_L7_F_LAST, 0);
	at += 21 + 13;			/* WINDOW_UPDATE: not forwarded */
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, at, at, 9 + 5, GP_L7_F_LAST, 0);
	at += 14;
	expect(&u[2], GP_L7_UNIT, GP_L7P_H2, at, at, 9 + 15, GP_L7_F_LAST, 0);
	at += 24;
	expect(&u[3], GP_L7_UNIT, GP_L7P_H2, at, at, 9, GP_L7_F_LAST, 0);
	at += 9 + 17;			/* PING: not forwarded */
	expect(&u[4], GP_L7_UNIT, GP_L7P_H2, at, at, 13, GP_L7_F_LAST, 0);
	for (i = 0; i < n; i++)
		assert_memory_equal(u[i].data, c->b + u[i].unit_off, u[i].len);
	units_free(u, n);
	n = merged(1, u, 16);
	assert_int_equal(n, 5);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H2, 0, 0, 15, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, 15, 15, 9, GP_L7_F_LAST, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H2, 24, 24, 10, GP_L7_F_LAST, 0);
	at = 34 + 309;			/* DATA without END_STREAM: nothing */
	expect(&u[3], GP_L7_END, GP_L7P_H2, at, at, 9, 0, 0);
	assert_memory_equal(u[3].data, s->b + at, 9);
	at += 13;
	expect(&u[4], GP_L7_UNIT, GP_L7P_H2, at, at, GP_L7_GOAWAY_FWD,
	       GP_L7_F_LAST | GP_L7_F_TRUNC, 0);
	units_free(u, n);
	gp_plain_free(p);
	free(c);
	free(s);
	l7_clean();
}

/* A HEADERS frame past GP_L7_FRAME_MAX: its first GP_L7_FRAME_MAX bytes, TRUNC. */
static void test_h2_frame_max(void **state)
{
	struct buf *c = calloc(1, sizeof(*c));
	struct gp_plain *p = gp_plain_new();
	struct unit u[4];
	unsigned n;

	(void)state;
	assert_non_null(c);
	puts_(c, PREFACE);
	frame(c, 1, 0x04, 1, NULL, 17000);
	frame(c, 4, 0x01, 0, NULL, 0);
	feed(p, 0, c->b, 5000);
	feed(p, 0, c->b + 5000, c->n - 5000);
	n = merged(0, u, 4);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H2, 24, 24, GP_L7_FRAME_MAX, GP_L7_F_LAST | GP_L7_F_TRUNC, 0);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, 24 + 17009, 24 + 17009, 9, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	free(c);
	l7_clean();
}

/* ---- splits ---- */

static void test_every_split_h1(void **state)
{
	static const char req[] = REQ_HELLO "POST /p HTTP/1.1\r\ncontent-length:3\r\n\r\nabc"
				  "HEAD /h HTTP/1.1\r\n\r\n";
	static const char resp[] = RESP_HELLO_HEAD RESP_HELLO_BODY RESP_CHUNKED_HEAD
				   RESP_CHUNKED_BODY "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
	const struct chunk ch[] = {
		{ 0, (const uint8_t *)req, sizeof(req) - 1 },
		{ 1, (const uint8_t *)resp, sizeof(resp) - 1 },
	};

	(void)state;
	every_split(ch, 2);
}

static void test_every_split_h2(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	h2_streams(c, s);
	{
		const struct chunk ch[] = { { 0, c->b, c->n }, { 1, s->b, s->n } };
		/* the server's first bytes before the client's choice: held, then walked */
		const struct chunk early[] = { { 1, s->b, 5 }, { 0, c->b, c->n }, { 1, s->b + 5, s->n - 5 } };

		every_split(ch, 2);
		reset();
		every_split(early, 3);
	}
	free(c);
	free(s);
}

/* h2c (RFC 7540 3.2): the 101 turns the server to HTTP/2, then the client's preface does. */
static struct chunk upgrade_ch[4];

static void upgrade_streams(struct buf *c, struct buf *s)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
				  "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
				   "Upgrade: h2c\r\n\r\n";
	uint32_t c0, s0;

	puts_(c, req);
	puts_(s, resp);
	frame(s, 4, 0, 0, NULL, 0);
	s0 = s->n;
	frame(s, 1, 0x04, 1, blk_200, 1);
	frame(s, 0, 0x01, 1, "ok", 2);
	c0 = c->n;
	puts_(c, PREFACE);
	frame(c, 4, 0, 0, NULL, 0);
	frame(c, 1, 0x05, 3, blk_req, sizeof(blk_req));
	upgrade_ch[0] = (struct chunk){ 0, c->b, c0 };
	upgrade_ch[1] = (struct chunk){ 1, s->b, s0 };
	upgrade_ch[2] = (struct chunk){ 0, c->b + c0, c->n - c0 };
	upgrade_ch[3] = (struct chunk){ 1, s->b + s0, s->n - s0 };
}

static void test_h2c_upgrade(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	struct unit u[8];
	uint32_t rl, sl;
	unsigned n;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	upgrade_streams(c, s);
	rl = upgrade_ch[0].n;
	sl = upgrade_ch[1].n - 9;
	run(upgrade_ch, 4, 0, 0, 0, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 3);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, rl, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, rl + 24, rl + 24, 9, GP_L7_F_LAST, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H2, rl + 33, rl + 33, 9 + sizeof(blk_req), GP_L7_F_LAST, 0);
	units_free(u, n);
	n = merged(1, u, 8);
	assert_int_equal(n, 5);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, sl, GP_L7_F_LAST, 0);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, sl, 0, 0, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H2, sl, sl, 9, GP_L7_F_LAST, 0);
	expect(&u[3], GP_L7_UNIT, GP_L7P_H2, sl + 9, sl + 9, 10, GP_L7_F_LAST, 0);
	expect(&u[4], GP_L7_END, GP_L7P_H2, sl + 19, sl + 19, 9, 0, 0);
	units_free(u, n);
	reset();
	every_split(upgrade_ch, 4);
	free(c);
	free(s);
}

/* ---- bytes not captured ---- */

/* A call cut (len < total) inside a body, or an offset jump over one: no loss. */
static void test_cut_in_body(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n";
	static const char next[] = "HTTP/1.1 204 No Content\r\n\r\n";
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	uint32_t h = sizeof(resp) - 1;
	struct unit u[8];
	unsigned n;

	(void)state;
	assert_non_null(b);
	puts_(b, resp);
	put(b, NULL, 10000);
	puts_(b, next);
	feeds(p, 0, "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	feed_at(p, 1, 0, b->b, h + 100, h + 6000, 0);		/* 5900 bytes of body not captured */
	feed_at(p, 1, h + 8000, b->b + h + 8000, 10, 10, 0);	/* 2000 skipped */
	feed_at(p, 1, h + 8010, b->b + h + 8010, b->n - h - 8010, b->n - h - 8010, 0);
	n = merged(1, u, 8);
	assert_int_equal(n, 4);
	expect(&u[1], GP_L7_END, GP_L7P_H1, 0, h + 10000, 0, 0, 0);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H1, h + 10000, h + 10000, sizeof(next) - 1, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();

	/* HTTP/2: a DATA payload cut is no loss either */
	reset();
	p = gp_plain_new();
	b->n = 0;
	puts_(b, PREFACE);
	frame(b, 0, 0, 1, NULL, 20000);
	frame(b, 1, 0x05, 3, blk_req, sizeof(blk_req));
	feed_at(p, 0, 0, b->b, 24 + 9 + 100, 24 + 9 + 16384, 0);
	feed(p, 0, b->b + g.off[0], b->n - (uint32_t)g.off[0]);
	n = merged(0, u, 8);
	assert_int_equal(n, 1);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H2, 20033, 20033, 9 + sizeof(blk_req), GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	free(b);
	l7_clean();
}

/*
 * Cut inside a head: LOST(GAP) there, nothing after. Inside a frame
 * forwarded or a frame header: LOST(MIDSTREAM) of HTTP/2 there, the walk
 * goes on at a later frame header (test_h2_gap_resync).
 */
static void test_cut_in_head(void **state)
{
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	assert_non_null(b);
	feed_at(p, 0, 0, REQ_HELLO, 20, sizeof(REQ_HELLO) - 1, 0);
	feeds(p, 0, REQ_HELLO);
	n = merged(0, u, 8);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 0, 0, 20, 0, 0);
	expect(&u[1], GP_L7_LOST, GP_L7P_H1, 20, 20, 0, 0, GP_L7_LOST_GAP);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();

	/* an offset jump over the next head */
	reset();
	p = gp_plain_new();
	feeds(p, 0, "GET / HTTP/1.1\r\n\r\n");
	feed_at(p, 0, 100, REQ_HELLO, sizeof(REQ_HELLO) - 1, sizeof(REQ_HELLO) - 1, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 2);
	expect(&u[1], GP_L7_LOST, GP_L7P_H1, 18, 18, 0, 0, GP_L7_LOST_GAP);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();

	/* HTTP/2: inside a HEADERS frame, then inside a frame header */
	reset();
	p = gp_plain_new();
	b->n = 0;
	puts_(b, PREFACE);
	frame(b, 1, 0x05, 1, blk_req, sizeof(blk_req));
	feed_at(p, 0, 0, b->b, 40, b->n, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H2, 24, 24, 16, 0, 0);
	expect(&u[1], GP_L7_LOST, GP_L7P_H2, 40, 40, 0, 0, GP_L7_LOST_MIDSTREAM);
	units_free(u, n);
	gp_plain_free(p);
	reset();
	p = gp_plain_new();
	feed_at(p, 0, 0, b->b, 28, b->n, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 1);
	expect(&u[0], GP_L7_LOST, GP_L7P_H2, 28, 28, 0, 0, GP_L7_LOST_MIDSTREAM);
	units_free(u, n);
	gp_plain_free(p);
	free(b);
	l7_clean();
}

/* A client's h2 stream: preface, SETTINGS, stream 1; then streams 3, 5 (with DATA), 7 from *a on. */
static void h2_four_requests(struct buf *b, uint32_t *a)
{
	b->n = 0;
	puts_(b, PREFACE);
	frame(b, 4, 0, 0, NULL, 0);
	frame(b, 1, 0x05, 1, blk_req, sizeof(blk_req));
	*a = b->n;
	frame(b, 1, 0x05, 3, blk_req, sizeof(blk_req));
	frame(b, 1, 0x04, 5, blk_req, sizeof(blk_req));
	frame(b, 0, 0x01, 5, "x", 1);
	frame(b, 1, 0x05, 7, blk_req, sizeof(blk_req));
}

/* The requests decode/l7.c told: their streams and reasons, in order. */
static void expect_requests(const uint32_t *stream, const uint32_t *reason, unsigned n)
{
	unsigned i, k = 0;

	for (i = 0; i < g.nmsg; i++) {
		if (g.msg[i].m.ev != GP_HTTP_REQUEST)
			continue;
		assert_true(k < n);
		assert_int_equal(g.msg[i].m.stream, stream[k]);
		assert_int_equal(g.msg[i].m.reason, reason[k]);
		k++;
	}
	assert_int_equal(k, n);
}

/*
 * HTTP/2 after a call lost (an offset jump) or cut over a HEADERS frame:
 * one LOST(MIDSTREAM), then the units of the next call that starts with a
 * frame header; the requests there are told blind (their HPACK state is
 * not known), the one cut is not told.
 */
static void test_h2_gap_resync(void **state)
{
	static const uint32_t sid[] = { 1, 5, 7 };
	static const uint32_t why[] = { 0, GP_HTTP_LOST_MIDSTREAM, GP_HTTP_LOST_MIDSTREAM };
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	uint32_t a, h = 9 + sizeof(blk_req);
	struct unit u[8];
	unsigned n, i, lost = 0;

	(void)state;
	assert_non_null(b);
	h2_four_requests(b, &a);
	feed_at(p, 0, 0, b->b, a, a, 0);
	/* stream 3's call lost: the next one starts at stream 5's HEADERS */
	feed_at(p, 0, a + h, b->b + a + h, b->n - a - h, b->n - a - h, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 6);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, 33, 33, h, GP_L7_F_LAST, 0);
	expect(&u[2], GP_L7_LOST, GP_L7P_H2, a, a, 0, 0, GP_L7_LOST_MIDSTREAM);
	expect(&u[3], GP_L7_UNIT, GP_L7P_H2, a + h, a + h, h, GP_L7_F_LAST, 0);
	expect(&u[4], GP_L7_END, GP_L7P_H2, a + 2 * h, a + 2 * h, 9, 0, 0);
	expect(&u[5], GP_L7_UNIT, GP_L7P_H2, a + 2 * h + 10, a + 2 * h + 10, h, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
	expect_requests(sid, why, 3);
	for (i = 0; i < g.nmsg; i++)
		lost += g.msg[i].m.ev == GP_HTTP_LOST;
	assert_int_equal(lost, 1);

	/* stream 3's HEADERS cut after 5 bytes of its block: the unit begun is dropped */
	reset();
	p = gp_plain_new();
	feed_at(p, 0, 0, b->b, a, a, 0);
	feed_at(p, 0, a, b->b + a, 14, h, 0);
	feed(p, 0, b->b + a + h, b->n - a - h);
	n = merged(0, u, 8);
	assert_int_equal(n, 7);
	expect(&u[2], GP_L7_UNIT, GP_L7P_H2, a, a, 14, 0, 0);
	expect(&u[3], GP_L7_LOST, GP_L7P_H2, a + 14, a + 14, 0, 0, GP_L7_LOST_MIDSTREAM);
	expect(&u[4], GP_L7_UNIT, GP_L7P_H2, a + h, a + h, h, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
	expect_requests(sid, why, 3);

	/* a frame header cut: the rest of that call is no place to rejoin, the next one is */
	reset();
	p = gp_plain_new();
	feed_at(p, 0, 0, b->b, a + 4, b->n, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 3);
	expect(&u[2], GP_L7_LOST, GP_L7P_H2, a + 4, a + 4, 0, 0, GP_L7_LOST_MIDSTREAM);
	units_free(u, n);
	feed(p, 0, b->b + a + h, h + 10);	/* stream 5 again, as a new call */
	assert_int_equal(merged(0, u, 8), 5);
	units_free(u, 5);
	gp_plain_free(p);
	free(b);
	l7_clean();
}

/*
 * No call of JOIN_TRIES after the gap starts with a frame header (an
 * HTTP/1 request line does not count): the direction is lost then, GAP.
 */
static void test_h2_gap_no_resync(void **state)
{
	static const char h1[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const uint32_t sid[] = { 1 }, why[] = { 0 };
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	uint32_t a, end;
	struct unit u[8];
	unsigned n, i;

	(void)state;
	assert_non_null(b);
	h2_four_requests(b, &a);
	feed_at(p, 0, 0, b->b, a, a, 0);
	feed_at(p, 0, a + 1000, h1, sizeof(h1) - 1, sizeof(h1) - 1, 0);
	for (i = 1; i < 8; i++)
		feeds(p, 0, "\x01 no frame header here, not HTTP/1 either");
	end = (uint32_t)g.off[0];
	feed(p, 0, b->b + a, b->n - a);
	n = merged(0, u, 8);
	assert_int_equal(n, 4);
	expect(&u[2], GP_L7_LOST, GP_L7P_H2, a, a, 0, 0, GP_L7_LOST_MIDSTREAM);
	expect(&u[3], GP_L7_LOST, GP_L7P_H2, end, end, 0, 0, GP_L7_LOST_GAP);
	units_free(u, n);
	assert_int_equal(gp_plain_proto(p, 0), GP_L7P_H2);
	gp_plain_free(p);
	free(b);
	l7_clean();
	expect_requests(sid, why, 1);
	assert_int_equal(g.msg[g.nmsg - 1].m.ev, GP_HTTP_LOST);
	assert_int_equal(g.msg[g.nmsg - 1].m.reason, GP_HTTP_LOST_GAP);
}

/* ---- joined mid-stream ---- */

static void test_join_h2(void **state)
{
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	uint32_t at;
	unsigned n;

	(void)state;
	assert_non_null(b);
	frame(b, 1, 0x05, 5, blk_req, sizeof(blk_req));
	frame(b, 0, 0x01, 5, "x", 1);
	/* at a frame header: LOST(MIDSTREAM) of HTTP/2, then its units from there */
	feed_at(p, 0, 0, b->b, b->n, b->n, 1);
	n = merged(0, u, 8);
	assert_int_equal(n, 3);
	expect(&u[0], GP_L7_LOST, GP_L7P_H2, 0, 0, 0, 0, GP_L7_LOST_MIDSTREAM);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, 0, 0, 9 + sizeof(blk_req), GP_L7_F_LAST, 0);
	expect(&u[2], GP_L7_END, GP_L7P_H2, 29, 29, 9, 0, 0);
	units_free(u, n);
	assert_int_equal(gp_plain_proto(p, 0), GP_L7P_H2);
	gp_plain_free(p);
	l7_clean();

	/* joined inside a frame: the next call that starts with a frame header */
	reset();
	p = gp_plain_new();
	feed_at(p, 1, 0, "\x17\x42 inside a DATA payload", 24, 24, 1);
	at = 24;
	feed_at(p, 1, at, b->b, b->n, b->n, 0);
	n = merged(1, u, 8);
	assert_int_equal(n, 3);
	expect(&u[0], GP_L7_LOST, GP_L7P_H2, at, at, 0, 0, GP_L7_LOST_MIDSTREAM);
	units_free(u, n);
	gp_plain_free(p);
	free(b);
	l7_clean();
}

/* Joined at a server's SETTINGS ACK (not its preface), or nowhere in JOIN_TRIES calls. */
static void test_join_h2_not_start(void **state)
{
	struct buf *b = calloc(1, sizeof(*b));
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	assert_non_null(b);
	/* a server's SETTINGS ACK first: not its preface, a join */
	frame(b, 4, 0x01, 0, NULL, 0);
	frame(b, 1, 0x04, 1, blk_200, 1);
	feed_at(p, 1, 0, b->b, b->n, b->n, 1);
	n = merged(1, u, 8);
	assert_int_equal(n, 3);
	expect(&u[0], GP_L7_LOST, GP_L7P_H2, 0, 0, 0, 0, GP_L7_LOST_MIDSTREAM);
	expect(&u[1], GP_L7_UNIT, GP_L7P_H2, 0, 0, 9, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();
	reset();
	p = gp_plain_new();
	b->n = 0;
	frame(b, 1, 0x05, 5, blk_req, sizeof(blk_req));
	/* nothing joinable in JOIN_TRIES calls: not followed */
	for (n = 0; n < 8; n++)
		feed_at(p, 0, g.off[0], "not HTTP at all, no.", 20, 20, !n);
	feed(p, 0, b->b, b->n);
	assert_int_equal(g.nr, 0);
	assert_int_equal(gp_plain_proto(p, 0), GP_L7P_NONE);
	assert_int_equal(gp_plain_finished(p), 0);	/* the server's side may yet join */
	gp_plain_free(p);
	free(b);
	l7_clean();
}

/* A joined session whose calls start at a message, or at the session's start. */
static void test_join_h1_and_start(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	struct gp_plain *p = gp_plain_new();
	struct unit u[8];
	unsigned n;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	feed_at(p, 1, 500, "ntent of an earlier response", 28, 28, 1);
	feed_at(p, 0, 900, REQ_HELLO, sizeof(REQ_HELLO) - 1, sizeof(REQ_HELLO) - 1, 0);
	feed_at(p, 1, 528, RESP_HELLO_HEAD RESP_HELLO_BODY, sizeof(RESP_HELLO_HEAD RESP_HELLO_BODY) - 1,
		sizeof(RESP_HELLO_HEAD RESP_HELLO_BODY) - 1, 0);
	n = merged(0, u, 8);
	assert_int_equal(n, 1);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 900, 900, sizeof(REQ_HELLO) - 1, GP_L7_F_LAST, 0);
	units_free(u, n);
	n = merged(1, u, 8);
	assert_int_equal(n, 2);
	expect(&u[0], GP_L7_UNIT, GP_L7P_H1, 528, 528, sizeof(RESP_HELLO_HEAD) - 1, GP_L7_F_LAST, 0);
	units_free(u, n);
	gp_plain_free(p);
	l7_clean();

	/* joined at the start: the preface and the server's first SETTINGS say so, no LOST */
	reset();
	p = gp_plain_new();
	h2_streams(c, s);
	feed_at(p, 1, 0, s->b, 5, 5, 1);
	feed(p, 1, s->b + 5, s->n - 5);
	feed(p, 0, c->b, 3);
	feed(p, 0, c->b + 3, c->n - 3);
	for (n = 0; n < g.nr; n++)
		assert_int_not_equal(g.r[n].h.kind, GP_L7_LOST);
	assert_int_equal(merged(0, u, 8), 5);
	units_free(u, 5);
	assert_int_equal(merged(1, u, 8), 5);
	units_free(u, 5);
	gp_plain_free(p);
	free(c);
	free(s);
	l7_clean();
}

/* ---- through decode/l7.c ---- */

static void test_end_to_end(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	static const char reqs[] = "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resps[] = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
				    "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nno";
	struct gp_plain *p = gp_plain_new();
	unsigned i;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	for (i = 0; i < sizeof(reqs) - 1; i++)
		feed(p, 0, reqs + i, 1);
	for (i = 0; i < sizeof(resps) - 1; i++)
		feed(p, 1, resps + i, 1);
	gp_plain_free(p);
	l7_clean();
	assert_int_equal(g.nmsg, 6);
	assert_int_equal(g.msg[0].m.ev, GP_HTTP_REQUEST);
	assert_string_equal(g.msg[0].method, "HEAD");
	assert_int_equal(g.msg[0].m.ts_ns, ts_at(0, 0));
	assert_string_equal(g.msg[1].path, "/b");
	assert_int_equal(g.msg[2].m.status, 200);
	assert_int_equal(g.msg[3].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(g.msg[4].m.status, 503);
	assert_int_equal(g.msg[4].m.ts_ns, ts_at(1, 38));
	assert_int_equal(g.msg[5].m.ev, GP_HTTP_RESPONSE_END);
	assert_int_equal(g.msg[5].m.ts_ns, ts_at(1, sizeof(resps) - 2));

	/* HTTP/2 */
	reset();
	p = gp_plain_new();
	h2_streams(c, s);
	feed(p, 0, c->b, c->n);
	feed(p, 1, s->b, s->n);
	gp_plain_free(p);
	l7_clean();
	assert_true(g.nmsg >= 4);
	assert_int_equal(g.msg[0].m.ev, GP_HTTP_REQUEST);
	assert_int_equal(g.msg[0].m.proto, GP_L7P_H2);
	assert_string_equal(g.msg[0].method, "GET");
	assert_string_equal(g.msg[0].path, "/");
	assert_int_equal(g.msg[0].m.stream, 1);
	for (i = 0; i < g.nmsg && g.msg[i].m.ev != GP_HTTP_RESPONSE; i++)
		;
	assert_true(i < g.nmsg);
	assert_int_equal(g.msg[i].m.status, 200);
	assert_int_equal(g.msg[i + 1].m.ev, GP_HTTP_RESPONSE_END);
	free(c);
	free(s);
}

/* A server's call lost over a response's HEADERS: later responses keep their status. */
static void test_end_to_end_h2_gap(void **state)
{
	static const uint8_t st404[] = { 0x8d }, st500[] = { 0x8e };
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	struct gp_plain *p = gp_plain_new();
	unsigned i, resp = 0, lost = 0;
	uint32_t a, a2;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	h2_four_requests(c, &a);
	frame(s, 4, 0, 0, NULL, 0);
	frame(s, 1, 0x05, 1, blk_200, 1);
	a = s->n;
	frame(s, 1, 0x05, 3, st404, 1);
	a2 = s->n;
	frame(s, 1, 0x05, 5, st500, 1);
	feed(p, 0, c->b, c->n);
	feed(p, 1, s->b, a);
	feed_at(p, 1, a2, s->b + a2, s->n - a2, s->n - a2, 0);
	gp_plain_free(p);
	l7_clean();
	for (i = 0; i < g.nmsg; i++) {
		const struct gp_http_msg *m = &g.msg[i].m;

		if (m->ev == GP_HTTP_LOST) {
			assert_int_equal(m->dir, 1);
			assert_int_equal(m->reason, GP_HTTP_LOST_MIDSTREAM);
			lost++;
		}
		if (m->ev != GP_HTTP_RESPONSE)
			continue;
		assert_int_equal(m->stream, resp ? 5 : 1);
		assert_int_equal(m->status, resp ? 500 : 200);
		assert_int_equal(m->reason, resp ? GP_HTTP_LOST_MIDSTREAM : 0);
		resp++;
	}
	assert_int_equal(resp, 2);
	assert_int_equal(lost, 1);
	free(c);
	free(s);
}

static void test_end_to_end_upgrade(void **state)
{
	struct buf *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
	unsigned i, req = 0, resp = 0;

	(void)state;
	assert_non_null(c);
	assert_non_null(s);
	upgrade_streams(c, s);
	run(upgrade_ch, 4, 2, 0, 7, 0);
	for (i = 0; i < g.nmsg; i++) {
		if (g.msg[i].m.ev == GP_HTTP_REQUEST && g.msg[i].m.proto == GP_L7P_H2) {
			assert_string_equal(g.msg[i].method, "GET");
			assert_int_equal(g.msg[i].m.stream, 3);
			req++;
		}
		if (g.msg[i].m.ev == GP_HTTP_RESPONSE && g.msg[i].m.proto == GP_L7P_H2) {
			assert_int_equal(g.msg[i].m.status, 200);
			resp++;
		}
		assert_int_not_equal(g.msg[i].m.ev, GP_HTTP_LOST);
	}
	assert_int_equal(req, 1);
	assert_int_equal(resp, 1);
	free(c);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_h1_rfc9110_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_chunked_trailers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_pipelined_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_long_head_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_connect_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h1_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_frame_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_split_h1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_split_h2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2c_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_in_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_in_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_gap_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_gap_no_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_h2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_h2_not_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_h1_and_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_to_end_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_to_end_h2_gap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
