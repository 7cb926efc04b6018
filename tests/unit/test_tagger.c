// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tagger: connection outcomes joined with their flow's first client bytes.
 * Every outcome must leave exactly once, tagged with what its flow carried
 * (TLS ClientHello reassembled from records and segments in any order, HTTP/1
 * headers, an HTTP CONNECT tunnel), or "none"/"unknown" when its wait is
 * over; flow bytes are credited once per joined direction.
 * Addresses are from 198.18.0.0/15 and fd00:198:18::/48 only.
 */
#define _GNU_SOURCE	/* open_memstream */
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

#include "export/json.h"
#include "pipeline/rules.h"
#include "pipeline/tagger.h"
#include "unit.h"

#define MS		1000000ull
#define WAIT		(2000 * MS)
#define T0		(86400ull * 1000 * MS)	/* any monotonic start */

/* ---- what the tagger hands out ------------------------------------------ */

#define MAX_CONNS	2048
#define MAX_FLOWS	1024
#define MAX_BYTES	4096

struct credit {
	unsigned dir;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	unsigned gray_flags;
	uint64_t n;
};

static struct {
	struct gp_conn conns[MAX_CONNS];
	size_t n_conns;
	struct gp_flow_result flows[MAX_FLOWS];
	size_t n_flows;
	struct credit bytes[MAX_BYTES];
	size_t n_bytes;
	struct hs_seen {
		struct gp_flow_tuple flow;
		unsigned dir;
		char alpn[GP_TAG_MAX + 1];
		char gray[GP_TAG_MAX + 1];
		uint64_t ts_ns, duration_ns;
	} hs[MAX_FLOWS];
	size_t n_hs;
} out;

static struct gp_tagger *T;
static struct gp_rules *R;

static void on_conn(void *ctx, const struct gp_conn *c)
{
	assert_ptr_equal(ctx, &out);
	assert_true(out.n_conns < MAX_CONNS);
	out.conns[out.n_conns++] = *c;
}

static void on_bytes(void *ctx, unsigned dir, const char *alpn, const char *gray,
		     unsigned gray_flags, uint64_t n)
{
	struct credit *b;

	assert_ptr_equal(ctx, &out);
	assert_true(out.n_bytes < MAX_BYTES);
	/* A delta of nothing is noise the aggregation would have to ignore. */
	assert_true(n > 0);
	assert_true(dir < GP_DIR_MAX);
	b = &out.bytes[out.n_bytes++];
	b->dir = dir;
	snprintf(b->alpn, sizeof(b->alpn), "%s", alpn);
	snprintf(b->gray, sizeof(b->gray), "%s", gray);
	b->gray_flags = gray_flags;
	b->n = n;
}

static void on_flow(void *ctx, const struct gp_flow_result *r)
{
	assert_ptr_equal(ctx, &out);
	assert_true(out.n_flows < MAX_FLOWS);
	out.flows[out.n_flows++] = *r;
}

static void on_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	struct hs_seen *e;

	assert_ptr_equal(ctx, &out);
	assert_true(out.n_hs < MAX_FLOWS);
	assert_true(h->dir < GP_DIR_MAX);
	e = &out.hs[out.n_hs++];
	e->flow = h->flow;
	e->dir = h->dir;
	snprintf(e->alpn, sizeof(e->alpn), "%s", h->alpn);
	snprintf(e->gray, sizeof(e->gray), "%s", h->gray);
	e->ts_ns = h->ts_ns;
	e->duration_ns = h->duration_ns;
}

static const struct gp_tagger_ops ops = {
	.conn = on_conn, .bytes = on_bytes, .flow = on_flow, .handshake = on_handshake,
	.ctx = &out,
};

/* As run has it by default; the endpoint memory's tests make their own. */
static const struct gp_tagger_config cfg = {
	.tag_wait_ns = WAIT, .endpoint_memory_ns = 600000 * MS,
};

static int setup(void **state)
{
	(void)state;
	memset(&out, 0, sizeof(out));
	T = gp_tagger_new(&ops, &cfg);
	R = NULL;
	return T ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	gp_tagger_free(T);
	gp_rules_free(R);
	T = NULL;
	R = NULL;
	return 0;
}

/* Installs rules for this test (freed by teardown); "" gives just the defaults. */
static void use_rules(const char *text)
{
	gp_rules_free(R);
	R = rules_from(text);
	gp_tagger_set_rules(T, R);
}

/* ---- outcomes and payload records --------------------------------------- */

/* An outcome as gp_conn_decode leaves it: client src:sport, server dst:dport. */
static struct gp_conn mk(const char *src, unsigned sport, const char *dst, unsigned dport,
			 enum gp_direction dir)
{
	struct gp_conn c;

	memset(&c, 0, sizeof(c));
	c.family = strchr(src, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(c.family, src, c.saddr), 1);
	assert_int_equal(inet_pton(c.family, dst, c.daddr), 1);
	c.sport = (uint16_t)sport;
	c.dport = (uint16_t)dport;
	c.dir = dir;
	c.result = GP_RES_ESTABLISHED;
	c.has_flow = 1;
	c.flow_isn = 0x10000000u + sport;	/* the client's ISN, as TC saw the SYN */
	c.ts_ns = T0;
	c.latency_ns = 100000 + sport;
	c.pid = dir == GP_DIR_OUTBOUND ? 4242 : 0;
	c.netns = 4026531840u;
	strcpy(c.comm, dir == GP_DIR_OUTBOUND ? "curl" : "");
	strcpy(c.alpn, "none");
	strcpy(c.gray, "stable");
	return c;
}

/* 198.18.0.1:sport -> 198.19.0.2:443 */
static struct gp_conn out4(unsigned sport)
{
	return mk("198.18.0.1", sport, "198.19.0.2", 443, GP_DIR_OUTBOUND);
}

/* The same flow seen from the accepting side. */
static struct gp_conn in4(unsigned sport)
{
	return mk("198.18.0.1", sport, "198.19.0.2", 443, GP_DIR_INBOUND);
}

static void tuple_of(const struct gp_conn *c, struct gp_flow_tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, c->saddr, 16);
	memcpy(t->daddr, c->daddr, 16);
	t->sport = c->sport;
	t->dport = c->dport;
	t->family = (uint16_t)c->family;
}

/* Client bytes [off, off + len) of c's flow; bytes is the kernel's running total. */
static void seg(const struct gp_conn *c, uint32_t off, const void *data, uint32_t len,
		uint64_t bytes, uint64_t now)
{
	struct gp_payload_event h;

	memset(&h, 0, sizeof(h));
	h.type = GP_EV_PAYLOAD;
	h.ifindex = 1;
	h.ts_ns = now;
	tuple_of(c, &h.flow);
	h.off = off;
	h.len = len;
	h.bytes = bytes;
	h.isn = c->flow_isn;
	gp_tagger_payload(T, &h, data, now);
}

/* The whole of buf as one record at offset 0. */
static void seg_all(const struct gp_conn *c, const void *buf, size_t n, uint64_t now)
{
	seg(c, 0, buf, (uint32_t)n, n, now);
}

static void flow_end(const struct gp_conn *c, uint64_t bytes, uint64_t now)
{
	struct gp_payload_event h;

	memset(&h, 0, sizeof(h));
	h.type = GP_EV_FLOW_END;
	h.ts_ns = now;
	tuple_of(c, &h.flow);
	h.bytes = bytes;
	h.isn = c->flow_isn;
	gp_tagger_payload(T, &h, NULL, now);
}

static void flow_bytes(const struct gp_conn *c, uint64_t total)
{
	struct gp_flow_tuple t;

	tuple_of(c, &t);
	gp_tagger_flow_bytes(T, &t, c->flow_isn, total);
}

static struct gp_tagger_stats stats(void)
{
	struct gp_tagger_stats s;

	memset(&s, 0xa5, sizeof(s));
	gp_tagger_stats(T, &s);
	return s;
}

/* ---- a TLS ClientHello -------------------------------------------------- */

struct wr {
	uint8_t *b;
	size_t n, cap;
};

static void put(struct wr *w, const void *p, size_t n)
{
	assert_true(n <= w->cap - w->n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put8(struct wr *w, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(w, &x, 1);
}

static void put16(struct wr *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

/* A length field of width bytes, filled by len_end with what follows it. */
static size_t len_begin(struct wr *w, unsigned width)
{
	size_t at = w->n;

	while (width--)
		put8(w, 0);
	return at;
}

static void len_end(struct wr *w, size_t at, unsigned width)
{
	size_t l = w->n - at - width, i;

	for (i = 0; i < width; i++)
		w->b[at + i] = (uint8_t)(l >> (8 * (width - 1 - i)));
}

/* Test knob: client_hello offers 0-RTT (the early_data extension, RFC 8446 4.2.10). */
static int hello_early_data;

static const char *const hello_alpn[] = { "\x3a\x3a" /* GREASE */, "h2", "http/1.1" };

#define HELLO_ALPN	hello_alpn, sizeof(hello_alpn) / sizeof(hello_alpn[0])

/*
 * A ClientHello handshake message (type 1): server_name sni (NULL: none),
 * the n_alpn ALPN names (none: no extension), a padding extension of pad bytes.
 */
static size_t client_hello(uint8_t *buf, size_t cap, const char *sni, const char *const *alpn,
			   size_t n_alpn, size_t pad)
{
	struct wr w = { buf, 0, cap };
	size_t hs, exts, e, l, m, i;

	put8(&w, 1);
	hs = len_begin(&w, 3);
	put16(&w, 0x0303);
	for (i = 0; i < 32; i++)
		put8(&w, 0x40 + i);				/* random */
	l = len_begin(&w, 1);
	for (i = 0; i < 32; i++)
		put8(&w, 0x80 + i);				/* legacy_session_id */
	len_end(&w, l, 1);
	l = len_begin(&w, 2);
	put16(&w, 0x1301), put16(&w, 0x1302), put16(&w, 0x1303);
	len_end(&w, l, 2);
	put8(&w, 1), put8(&w, 0);				/* null compression */
	exts = len_begin(&w, 2);
	put16(&w, 0x0a0a), put16(&w, 0);			/* GREASE extension */
	if (sni) {
		put16(&w, 0);
		e = len_begin(&w, 2);
		l = len_begin(&w, 2);
		put8(&w, 0);
		m = len_begin(&w, 2);
		put(&w, sni, strlen(sni));
		len_end(&w, m, 2);
		len_end(&w, l, 2);
		len_end(&w, e, 2);
	}
	if (n_alpn) {
		put16(&w, 16);
		e = len_begin(&w, 2);
		l = len_begin(&w, 2);
		for (i = 0; i < n_alpn; i++) {
			m = len_begin(&w, 1);
			put(&w, alpn[i], strlen(alpn[i]));
			len_end(&w, m, 1);
		}
		len_end(&w, l, 2);
		len_end(&w, e, 2);
	}
	if (pad) {
		put16(&w, 21);
		e = len_begin(&w, 2);
		for (i = 0; i < pad; i++)
			put8(&w, 0);
		len_end(&w, e, 2);
	}
	if (hello_early_data)
		put16(&w, 42), put16(&w, 0);
	put16(&w, 43);						/* supported_versions */
	e = len_begin(&w, 2);
	l = len_begin(&w, 1);
	put16(&w, 0x0304);
	len_end(&w, l, 1);
	len_end(&w, e, 2);
	len_end(&w, exts, 2);
	len_end(&w, hs, 3);
	return w.n;
}

/*
 * The message in handshake records 0x16 0x0301: frags[] is each record's
 * share, 0 ends it and the last record takes the rest (frags NULL: one record).
 */
static size_t records(const uint8_t *hs, size_t n, const size_t *frags, uint8_t *buf, size_t cap)
{
	struct wr w = { buf, 0, cap };
	size_t off = 0, k = 0;

	while (off < n) {
		size_t f = frags && frags[k] ? frags[k++] : n - off;

		if (f > n - off)
			f = n - off;
		put8(&w, 0x16), put8(&w, 0x03), put8(&w, 0x01);
		put16(&w, (unsigned)f);
		put(&w, hs + off, f);
		off += f;
	}
	return w.n;
}

/* The client's stream: a ClientHello with sni and ALPN in records cut by frags. */
static size_t tls_stream(uint8_t *buf, size_t cap, const char *sni, size_t pad,
			 const size_t *frags)
{
	uint8_t hs[8192];
	size_t n = client_hello(hs, sizeof(hs), sni, HELLO_ALPN, pad);

	return records(hs, n, frags, buf, cap);
}

/* TLS 1.3's second flight (RFC 8446 D.4): ChangeCipherSpec, then the Finished in a type-23 record. */
static size_t flight13(uint8_t *b)
{
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	size_t n = sizeof(ccs);

	memcpy(b, ccs, n);
	b[n++] = 23, b[n++] = 3, b[n++] = 3, b[n++] = 0, b[n++] = 53;
	memset(b + n, 0xa5, 53);
	return n + 53;
}

/* ---- checks ------------------------------------------------------------- */

static size_t emits_of(const struct gp_conn *c)
{
	size_t i, n = 0;

	for (i = 0; i < out.n_conns; i++)
		if (out.conns[i].sport == c->sport && out.conns[i].dir == c->dir &&
		    out.conns[i].family == c->family &&
		    !memcmp(out.conns[i].saddr, c->saddr, 16) &&
		    !memcmp(out.conns[i].daddr, c->daddr, 16))
			n++;
	return n;
}

/* Emitted outcome i is c, untouched but for the tag fields. */
static void expect_emit(size_t i, const struct gp_conn *c, const char *alpn, const char *offered,
			const char *sni, const char *gray, const char *marker)
{
	const struct gp_conn *e;

	if (i >= out.n_conns)
		fail_msg("outcome %zu not emitted (%zu so far)", i, out.n_conns);
	e = &out.conns[i];
	assert_int_equal(e->family, c->family);
	assert_memory_equal(e->saddr, c->saddr, 16);
	assert_memory_equal(e->daddr, c->daddr, 16);
	assert_int_equal(e->sport, c->sport);
	assert_int_equal(e->dport, c->dport);
	assert_int_equal(e->dir, c->dir);
	assert_int_equal(e->result, c->result);
	assert_int_equal(e->latency_ns, c->latency_ns);
	assert_int_equal(e->ts_ns, c->ts_ns);
	assert_int_equal(e->pid, c->pid);
	assert_int_equal(e->netns, c->netns);
	assert_int_equal(e->sk_err, c->sk_err);
	assert_string_equal(e->comm, c->comm);
	assert_int_equal(e->has_flow, c->has_flow);
	assert_int_equal(e->flow_isn, c->flow_isn);
	assert_string_equal(e->alpn, alpn);
	assert_string_equal(e->alpn_offered, offered);
	assert_string_equal(e->sni, sni);
	assert_string_equal(e->gray, gray);
	assert_string_equal(e->http_marker, marker);
}

/* Sum of the bytes credited to (dir, alpn, gray). */
static uint64_t credited(unsigned dir, const char *alpn, const char *gray)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < out.n_bytes; i++)
		if (out.bytes[i].dir == dir && !strcmp(out.bytes[i].alpn, alpn) &&
		    !strcmp(out.bytes[i].gray, gray))
			n += out.bytes[i].n;
	return n;
}

#define SNI	"api.example.com"
#define OFFERED	"h2,http/1.1"

/* ---- outcomes that cannot wait ------------------------------------------ */

static void test_untracked_outcome_leaves_at_once(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003), d;
	uint8_t hello[4096];
	size_t n;

	(void)state;
	use_rules("dst 198.19.0.0/16 = canary\ndst fd00:198:18::/48 = blue");
	/* No SYN seen at TC: nothing will come to wait for. Stale tag fields are replaced. */
	a.has_flow = 0;
	strcpy(a.alpn_offered, "junk");
	strcpy(a.sni, "junk.example.com");
	strcpy(a.http_marker, "x-junk");
	gp_tagger_conn(T, &a, T0);
	expect_emit(0, &a, "none", "", "", "canary", "");

	/* A failed attempt has no payload even with the flow seen. */
	b.result = GP_RES_REFUSED;
	b.sk_err = ECONNREFUSED;
	gp_tagger_conn(T, &b, T0);
	expect_emit(1, &b, "none", "", "", "canary", "");
	c.result = GP_RES_TIMEOUT;
	c.sk_err = ETIMEDOUT;
	gp_tagger_conn(T, &c, T0);
	expect_emit(2, &c, "none", "", "", "canary", "");

	/* The rules see the tuple: a server outside the CIDR stays stable. */
	d = mk("198.19.0.1", 40004, "198.18.0.2", 80, GP_DIR_OUTBOUND);
	d.has_flow = 0;
	gp_tagger_conn(T, &d, T0);
	expect_emit(3, &d, "none", "", "", "stable", "");
	d = mk("fd00:198:18::1", 40005, "fd00:198:18::2", 443, GP_DIR_INBOUND);
	d.result = GP_RES_OTHER;
	gp_tagger_conn(T, &d, T0);
	expect_emit(4, &d, "none", "", "", "blue", "");

	assert_int_equal(stats().flows, 0);
	assert_int_equal(out.n_bytes, 0);
	assert_int_equal(out.n_flows, 0);
	/* Payload later on such a tuple must not bring the outcome back. */
	n = tls_stream(hello, sizeof(hello), SNI, 0, NULL);
	seg_all(&a, hello, n, T0 + MS);
	flow_bytes(&a, 9999);
	gp_tagger_tick(T, T0 + 10 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 5);
	assert_int_equal(out.n_bytes, 0);
}

static void test_untracked_outcome_without_rules_is_stable(void **state)
{
	struct gp_conn a = out4(40001);

	(void)state;
	a.has_flow = 0;
	strcpy(a.gray, "junk");
	strcpy(a.http_marker, "x-junk");
	gp_tagger_conn(T, &a, T0);
	expect_emit(0, &a, "none", "", "", "stable", "");
}

/* ---- TLS ---------------------------------------------------------------- */

static void test_outcome_waits_for_client_hello(void **state)
{
	struct gp_conn a = out4(40001);
	uint8_t hello[4096];
	size_t n = tls_stream(hello, sizeof(hello), SNI, 0, NULL);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	assert_int_equal(out.n_conns, 0);
	assert_int_equal(stats().flows, 1);
	gp_tagger_tick(T, T0 + WAIT - 1, 0);
	assert_int_equal(out.n_conns, 0);

	seg_all(&a, hello, n, T0 + 5 * MS);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.n_flows, 1);
	assert_int_equal(out.flows[0].kind, GP_PL_TLS);
	assert_string_equal(out.flows[0].alpn, "h2");
	assert_string_equal(out.flows[0].alpn_offered, OFFERED);
	assert_string_equal(out.flows[0].sni, SNI);
	assert_string_equal(out.flows[0].gray, "stable");
	assert_int_equal(out.flows[0].tunnel, 0);
	assert_int_equal(out.flows[0].bytes_seen, n);
	assert_int_equal(out.flows[0].first_ts_ns, T0 + 5 * MS);
	assert_int_equal(out.flows[0].flow.sport, 40001);
	assert_int_equal(out.flows[0].flow.dport, 443);

	/* Once out, neither the deadline, a retransmission, the end nor a flush repeat it. */
	seg_all(&a, hello, n, T0 + 6 * MS);
	gp_tagger_tick(T, T0 + 2 * WAIT, 0);
	flow_end(&a, n, T0 + 2 * WAIT);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(out.n_flows, 1);
	assert_int_equal(stats().waited_out, 0);
}

static void test_hello_without_alpn_is_tls(void **state)
{
	struct gp_conn a = out4(40001);
	uint8_t hs[4096], rec[4096];
	size_t n = client_hello(hs, sizeof(hs), NULL, NULL, 0, 0);

	(void)state;
	n = records(hs, n, NULL, rec, sizeof(rec));
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, rec, n, T0 + MS);
	expect_emit(0, &a, "tls", "", "", "stable", "");
}

/* The JSON lines of emitted outcome i and of flow i, concatenated. */
static char *json_lines(size_t i)
{
	struct mem m;

	assert_true(i < out.n_conns && i < out.n_flows);
	mem_open(&m);
	assert_int_equal(gp_json_conn(m.f, &out.conns[i], 0), 0);
	assert_int_equal(gp_json_flow(m.f, &out.flows[i], 1, 0), 0);
	return mem_close(&m);
}

/*
 * 150 ALPN names of 10 bytes (1.6 KB joined) against GP_ALPN_OFFERED_MAX:
 * the whole names that fit are kept and both JSON lines say it was cut.
 * A list that fits has no such key.
 */
static void test_alpn_offered_truncated_marked(void **state)
{
	static char names[150][11];
	const char *list[150];
	struct gp_conn a = out4(40001), b = out4(40002);
	uint8_t hs[8192], rec[8192];
	size_t n, k;
	char *json;

	(void)state;
	for (k = 0; k < 150; k++) {
		snprintf(names[k], sizeof(names[k]), "proto-%04zu", k);
		list[k] = names[k];
	}
	n = client_hello(hs, sizeof(hs), SNI, list, 150, 0);
	n = records(hs, n, NULL, rec, sizeof(rec));
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, rec, n, T0 + MS);
	assert_int_equal(out.n_conns, 1);
	/* 93 names and 92 commas are 1022 bytes; a 94th would need 1033. */
	assert_int_equal(strlen(out.conns[0].alpn_offered), 93 * 10 + 92);
	assert_string_equal(out.conns[0].alpn, "proto-0000");
	assert_int_equal(out.conns[0].alpn_offered_truncated, 1);
	assert_int_equal(out.flows[0].alpn_offered_truncated, 1);
	json = json_lines(0);
	assert_non_null(strstr(json, "proto-0092\",\"alpn_offered_truncated\":true,\"sni\":\"" SNI
				  "\",\"gray\":\"stable\",\"http_marker\":\"\",\"netns\":"));
	assert_non_null(strstr(strchr(json, '\n'), "proto-0092\",\"alpn_offered_truncated\":true,"
				  "\"sni\":\"" SNI "\",\"gray\":\"stable\",\"http_marker\":\"\",\"http_method\""));
	free(json);

	n = tls_stream(rec, sizeof(rec), SNI, 0, NULL);
	gp_tagger_conn(T, &b, T0);
	seg_all(&b, rec, n, T0 + MS);
	assert_int_equal(out.n_conns, 2);
	expect_emit(1, &b, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.conns[1].alpn_offered_truncated, 0);
	json = json_lines(1);
	assert_null(strstr(json, "truncated"));
	free(json);
}

static void test_payload_before_outcome_emits_on_arrival(void **state)
{
	struct gp_conn a = out4(40001);
	uint8_t hello[4096];
	size_t n = tls_stream(hello, sizeof(hello), SNI, 0, NULL);

	(void)state;
	/* The TC classifier can beat the state hook to user space. */
	seg_all(&a, hello, n, T0);
	assert_int_equal(out.n_conns, 0);
	assert_int_equal(out.n_flows, 1);
	gp_tagger_conn(T, &a, T0 + MS);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	gp_tagger_tick(T, T0 + 2 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(stats().waited_out, 0);
}

static void test_both_directions_of_a_flow_tagged(void **state)
{
	struct gp_conn o = out4(40001), i = in4(40001), o2 = out4(40002), i2 = in4(40002);
	uint8_t hello[4096];
	size_t n = tls_stream(hello, sizeof(hello), SNI, 0, NULL);

	(void)state;
	/* Both ends local: both outcomes wait for the one flow, and both get its tag. */
	gp_tagger_conn(T, &o, T0);
	gp_tagger_conn(T, &i, T0 + 1);
	assert_int_equal(stats().flows, 1);
	seg_all(&o, hello, n, T0 + MS);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(emits_of(&o), 1);
	assert_int_equal(emits_of(&i), 1);
	expect_emit(out.conns[0].dir == GP_DIR_OUTBOUND ? 0 : 1, &o, "h2", OFFERED, SNI,
		    "stable", "");
	expect_emit(out.conns[0].dir == GP_DIR_OUTBOUND ? 1 : 0, &i, "h2", OFFERED, SNI,
		    "stable", "");
	assert_int_equal(out.n_flows, 1);

	/* One before the hello, one after. */
	gp_tagger_conn(T, &i2, T0 + 2 * MS);
	seg_all(&i2, hello, n, T0 + 3 * MS);
	expect_emit(2, &i2, "h2", OFFERED, SNI, "stable", "");
	gp_tagger_conn(T, &o2, T0 + 4 * MS);
	expect_emit(3, &o2, "h2", OFFERED, SNI, "stable", "");
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 4);
	assert_int_equal(out.n_flows, 2);
}

static void test_hello_in_two_records_out_of_order(void **state)
{
	static const size_t two[] = { 200, 0 };
	struct gp_conn a = out4(40001);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 600, two);

	(void)state;
	assert_true(n > 600);
	gp_tagger_conn(T, &a, T0);
	/* The second TCP segment (the second record and a bit of the first) comes first. */
	seg(&a, 150, s + 150, (uint32_t)(n - 150), n, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	assert_int_equal(out.n_flows, 0);
	seg(&a, 0, s, 150, n, T0 + 2 * MS);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.flows[0].bytes_seen, n);
	/* The flow's first record is the first to arrive, not the one at offset 0. */
	assert_int_equal(out.flows[0].first_ts_ns, T0 + MS);
}

static void test_hello_in_three_records_overlapping_and_retransmitted(void **state)
{
	static const size_t three[] = { 3, 700, 0 };
	struct gp_conn a = out4(40001), b = out4(40002);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 1200, three);

	(void)state;
	assert_true(n > 1200);
	gp_tagger_conn(T, &a, T0);
	/* [900, n), then [0, 100) twice, then [50, 1000) overlapping both. */
	seg(&a, 900, s + 900, (uint32_t)(n - 900), n, T0 + MS);
	seg(&a, 0, s, 100, n, T0 + 2 * MS);
	seg(&a, 0, s, 100, n, T0 + 3 * MS);
	assert_int_equal(out.n_conns, 0);
	seg(&a, 50, s + 50, 950, n, T0 + 4 * MS);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	/* Every byte again, after the decision: nothing more. */
	seg(&a, 0, s, (uint32_t)n, n, T0 + 5 * MS);
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(out.n_flows, 1);

	/* In-order tiny segments, each sent twice: decided by the very last byte. */
	gp_tagger_conn(T, &b, T0);
	for (size_t off = 0; off < n; off += 97) {
		uint32_t len = (uint32_t)(n - off < 97 ? n - off : 97);

		seg(&b, (uint32_t)off, s + off, len, off + len, T0 + MS);
		assert_int_equal(emits_of(&b), off + len == n ? 1 : 0);
		seg(&b, (uint32_t)off, s + off, len, off + len, T0 + MS);
	}
	expect_emit(1, &b, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.n_conns, 2);
}

/* ---- the wait ----------------------------------------------------------- */

static void test_wait_over_without_payload_is_none(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	gp_tagger_conn(T, &b, T0 + 10 * MS);
	gp_tagger_tick(T, T0 + WAIT - 1, 0);
	assert_int_equal(out.n_conns, 0);
	gp_tagger_tick(T, T0 + WAIT, 0);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "none", "", "", "stable", "");
	assert_int_equal(stats().waited_out, 1);
	/* Each at its own deadline. */
	gp_tagger_tick(T, T0 + 10 * MS + WAIT - 1, 0);
	assert_int_equal(out.n_conns, 1);
	gp_tagger_tick(T, T0 + 10 * MS + WAIT, 0);
	expect_emit(1, &b, "none", "", "", "stable", "");
	assert_int_equal(stats().waited_out, 2);
	assert_int_equal(out.n_flows, 2);
	assert_int_equal(out.flows[0].kind, GP_PL_NEED_MORE);
	assert_string_equal(out.flows[0].alpn, "none");
	assert_int_equal(out.flows[0].bytes_seen, 0);

	gp_tagger_tick(T, T0 + 10 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(stats().waited_out, 2);
}

static void test_wait_over_with_partial_hello_is_unknown(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	use_rules("dst 198.19.0.0/16 = canary");
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, s, 40, n, T0 + MS);
	/* Only bytes after a hole: something came, nothing readable. */
	gp_tagger_conn(T, &b, T0);
	seg(&b, 40, s + 40, (uint32_t)(n - 40), n, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	gp_tagger_tick(T, T0 + WAIT, 0);
	assert_int_equal(out.n_conns, 2);
	/* The address rules still apply. */
	assert_int_equal(emits_of(&a), 1);
	assert_int_equal(emits_of(&b), 1);
	expect_emit(out.conns[0].sport == 40001 ? 0 : 1, &a, "unknown", "", "", "canary", "");
	expect_emit(out.conns[0].sport == 40001 ? 1 : 0, &b, "unknown", "", "", "canary", "");
	assert_int_equal(stats().waited_out, 2);
	assert_int_equal(out.n_flows, 2);
	assert_int_equal(out.flows[0].kind, GP_PL_UNKNOWN);
	assert_int_equal(out.flows[0].flow.sport == 40001 ? out.flows[0].bytes_seen
							    : out.flows[1].bytes_seen, 40);
}

static void test_flow_end_decides(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	/* FIN/RST before any payload: nothing more will come. */
	gp_tagger_conn(T, &a, T0);
	flow_end(&a, 0, T0 + MS);
	expect_emit(0, &a, "none", "", "", "stable", "");

	/* Cut short mid-hello. */
	gp_tagger_conn(T, &b, T0);
	seg(&b, 0, s, 100, 100, T0 + MS);
	flow_end(&b, 100, T0 + 2 * MS);
	expect_emit(1, &b, "unknown", "", "", "stable", "");

	/* The end before the outcome: the outcome leaves on arrival. */
	seg(&c, 0, s, 100, 100, T0);
	flow_end(&c, 100, T0 + MS);
	assert_int_equal(out.n_conns, 2);
	gp_tagger_conn(T, &c, T0 + 2 * MS);
	expect_emit(2, &c, "unknown", "", "", "stable", "");

	/* A second FLOW_END, the rest of the hello, the deadline: nothing new. */
	flow_end(&a, 0, T0 + 3 * MS);
	seg(&b, 100, s + 100, (uint32_t)(n - 100), n, T0 + 3 * MS);
	gp_tagger_tick(T, T0 + 2 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 3);
	assert_int_equal(out.n_flows, 3);
	assert_int_equal(stats().waited_out, 0);
}

/* ---- HTTP/1 ------------------------------------------------------------- */

static void test_http_header_split_across_records_sets_gray(void **state)
{
	static const char r1[] = "GET /index.html HTTP/1.1\r\nHost: svc.example.com\r\nX-Traffic-";
	static const char r2[] = "Tag: canary\r\nAccept: */*\r\n\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");	/* the defaults: header x-gray ... x-traffic-tag ... */
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, r1, sizeof(r1) - 1, sizeof(r1) - 1, T0 + MS);
	/* A request line is enough for the alpn, not for a header rule. */
	assert_int_equal(out.n_conns, 0);
	seg(&a, sizeof(r1) - 1, r2, sizeof(r2) - 1, sizeof(r1) + sizeof(r2) - 2, T0 + 2 * MS);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "http/1.1", "", "", "canary", "x-traffic-tag");
	assert_int_equal(out.n_flows, 1);
	assert_int_equal(out.flows[0].kind, GP_PL_HTTP1);
	assert_string_equal(out.flows[0].http_method, "GET");
	assert_string_equal(out.flows[0].http_marker, "x-traffic-tag");
	assert_int_equal(out.flows[0].tunnel, 0);
}

static void test_http_without_marker_is_stable(void **state)
{
	static const char req[] = "POST /api HTTP/1.0\r\nHost: svc.example.com\r\n\r\nbody";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, req, sizeof(req) - 1, T0 + MS);
	expect_emit(0, &a, "http/1.1", "", "", "stable", "");
	assert_string_equal(out.flows[0].http_method, "POST");
}

static void test_http_head_unfinished_at_deadline_uses_complete_lines(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nX-Canary: beta\r\nX-Gray: al";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, req, sizeof(req) - 1, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	gp_tagger_tick(T, T0 + WAIT, 0);
	/* x-gray comes first in the defaults, but its line never ended. */
	expect_emit(0, &a, "http/1.1", "", "", "beta", "x-canary");
	assert_int_equal(stats().waited_out, 1);
}

static void test_http_without_header_rules_decided_by_request_line(void **state)
{
	static const char line[] = "GET / HTTP/1.1\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("no-defaults\ndport 80 = blue");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, line, sizeof(line) - 1, T0 + MS);
	/* Nothing in the headers could change the tag: no need to wait for them. */
	expect_emit(0, &a, "http/1.1", "", "", "blue", "");
}

static void test_http_headers_never_ending_decided_at_8k(void **state)
{
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);
	static char req[GP_FIRST_PAYLOAD_MAX + 1000];
	size_t n = 0;

	(void)state;
	use_rules("");
	n += (size_t)sprintf(req, "GET / HTTP/1.1\r\nX-Canary: big\r\n");
	while (n < sizeof(req) - 64)
		n += (size_t)sprintf(req + n, "X-Pad: %040d\r\n", 0);
	gp_tagger_conn(T, &a, T0);
	/* In kernel-sized pieces; all but the last leave the head unfinished. */
	seg(&a, 0, req, 4096, 4096, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	seg(&a, 4096, req + 4096, 4095, 8191, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	/* Bytes past the 8 KiB the kernel keeps are cut, not written past the buffer. */
	seg(&a, 8191, req + 8191, (uint32_t)(n - 8191), n, T0 + MS);
	expect_emit(0, &a, "http/1.1", "", "", "big", "x-canary");
	assert_int_equal(out.flows[0].bytes_seen, GP_FIRST_PAYLOAD_MAX);
}

static void test_bytes_beyond_8k_ignored(void **state)
{
	struct gp_conn a = out4(40001);
	static uint8_t junk[GP_FIRST_PAYLOAD_MAX];

	(void)state;
	memset(junk, 'A', sizeof(junk));
	gp_tagger_conn(T, &a, T0);
	/* Far past the kept prefix, and crossing its end: neither decides anything. */
	seg(&a, GP_FIRST_PAYLOAD_MAX, junk, 100, 100, T0 + MS);
	seg(&a, GP_FIRST_PAYLOAD_MAX - 10, junk, 500, 600, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	gp_tagger_tick(T, T0 + WAIT, 0);
	expect_emit(0, &a, "unknown", "", "", "stable", "");
}

static void test_h2c_preface_tagged(void **state)
{
	static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
				  "\x00\x00\x00\x04\x00\x00\x00\x00\x00";	/* SETTINGS */
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 80, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	/* "PRI * HTTP/2.0" is no HTTP/1 request, and a prefix of it decides nothing. */
	seg(&a, 0, pre, 10, 10, T0 + MS);
	assert_int_equal(out.n_conns, 0);
	seg(&a, 10, pre + 10, sizeof(pre) - 1 - 10, sizeof(pre) - 1, T0 + MS);
	expect_emit(0, &a, "h2c", "", "", "stable", "");
	assert_int_equal(out.flows[0].kind, GP_PL_H2C);
}

/* ---- HTTP CONNECT ------------------------------------------------------- */

#define CONNECT_HEAD "CONNECT svc.example.com:443 HTTP/1.1\r\nHost: svc.example.com:443\r\n"

static void test_connect_tunnel_tagged_by_inner_hello(void **state)
{
	static const char head[] = CONNECT_HEAD "\r\n";
	static const char head_tag[] = CONNECT_HEAD "X-Traffic-Tag: canary\r\n\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 3128, GP_DIR_OUTBOUND);
	struct gp_conn b = mk("198.18.0.1", 40002, "198.19.0.2", 3128, GP_DIR_OUTBOUND);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), "inner.example.com", 0, NULL);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, head, sizeof(head) - 1, T0 + MS);
	/* The proxy's 200 comes first: the tunnel's first bytes are still to come. */
	assert_int_equal(out.n_conns, 0);
	seg(&a, sizeof(head) - 1, s, (uint32_t)n, sizeof(head) - 1 + n, T0 + 2 * MS);
	expect_emit(0, &a, "h2", OFFERED, "inner.example.com", "stable", "");
	assert_int_equal(out.flows[0].tunnel, 1);
	assert_int_equal(out.flows[0].kind, GP_PL_TLS);
	assert_string_equal(out.flows[0].http_method, "CONNECT");
	assert_int_equal(out.flows[0].bytes_seen, sizeof(head) - 1 + n);

	/* The gray rules still read the CONNECT's headers; the hello split in two segments. */
	gp_tagger_conn(T, &b, T0);
	seg_all(&b, head_tag, sizeof(head_tag) - 1, T0 + MS);
	seg(&b, sizeof(head_tag) - 1, s, 60, 0, T0 + 2 * MS);
	assert_int_equal(out.n_conns, 1);
	seg(&b, sizeof(head_tag) - 1 + 60, s + 60, (uint32_t)(n - 60), 0, T0 + 3 * MS);
	expect_emit(1, &b, "h2", OFFERED, "inner.example.com", "canary", "x-traffic-tag");
	assert_int_equal(out.flows[1].tunnel, 1);
}

static void test_connect_tunnel_carrying_h2c(void **state)
{
	static const char req[] = CONNECT_HEAD "\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 3128, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, req, sizeof(req) - 1, T0 + MS);
	expect_emit(0, &a, "h2c", "", "", "stable", "");
	assert_int_equal(out.flows[0].tunnel, 1);
	assert_string_equal(out.flows[0].http_method, "CONNECT");
}

static void test_connect_tunnel_not_tls_is_http(void **state)
{
	static const char req[] = CONNECT_HEAD "\r\n\x01\x02garbage";
	static const char head[] = CONNECT_HEAD "\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 3128, GP_DIR_OUTBOUND);
	struct gp_conn b = mk("198.18.0.1", 40002, "198.19.0.2", 3128, GP_DIR_OUTBOUND);

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, req, sizeof(req) - 1, T0 + MS);
	expect_emit(0, &a, "http/1.1", "", "", "stable", "");
	assert_int_equal(out.flows[0].tunnel, 0);
	assert_string_equal(out.flows[0].http_method, "CONNECT");

	/* The tunnel never speaks before the deadline: the CONNECT itself is the tag. */
	gp_tagger_conn(T, &b, T0);
	seg_all(&b, head, sizeof(head) - 1, T0 + MS);
	assert_int_equal(out.n_conns, 1);
	gp_tagger_tick(T, T0 + WAIT, 0);
	expect_emit(1, &b, "http/1.1", "", "", "stable", "");
	assert_int_equal(out.flows[1].tunnel, 0);
}

/*
 * The CONNECT head itself in two segments, with no header rule to make the
 * tagger wait for the blank line: the tunnel still starts within the kept
 * bytes, so its ClientHello must decide (tagger.c try_decide's contract).
 */
static void test_connect_head_split_without_header_rules_waits_for_tunnel(void **state)
{
	static const char head[] = CONNECT_HEAD "\r\n";
	struct gp_conn a = mk("198.18.0.1", 40001, "198.19.0.2", 3128, GP_DIR_OUTBOUND);
	uint8_t s[4096];
	/* The request line whole, the Host line cut. */
	size_t n = tls_stream(s, sizeof(s), "inner.example.com", 0, NULL),
	       cut = strlen("CONNECT svc.example.com:443 HTTP/1.1\r\n") + 6;

	(void)state;
	use_rules("no-defaults");
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, head, (uint32_t)cut, 0, T0 + MS);
	seg(&a, (uint32_t)cut, head + cut, (uint32_t)(sizeof(head) - 1 - cut), 0, T0 + MS);
	seg(&a, sizeof(head) - 1, s, (uint32_t)n, 0, T0 + 2 * MS);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "h2", OFFERED, "inner.example.com", "stable", "");
}

/* ---- rules -------------------------------------------------------------- */

static void test_rules_see_sni_alpn_and_tuple(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003), c_in = in4(40003);
	struct gp_conn a_in = in4(40001);
	uint8_t s1[4096], s2[4096];
	size_t n1 = tls_stream(s1, sizeof(s1), "api.canary.example.com", 0, NULL);
	size_t n2 = tls_stream(s2, sizeof(s2), SNI, 0, NULL);
	struct gp_rules *r2;

	(void)state;
	use_rules("sni *.canary.example.com = canary\nalpn h2 dport 443 = h2-pool");
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, s1, n1, T0);
	expect_emit(0, &a, "h2", OFFERED, "api.canary.example.com", "canary", "");
	gp_tagger_conn(T, &b, T0);
	seg_all(&b, s2, n2, T0);
	expect_emit(1, &b, "h2", OFFERED, SNI, "h2-pool", "");

	/* New rules decide flows from now on; a decided flow keeps its gray. */
	gp_tagger_conn(T, &c, T0);
	r2 = rules_from("no-defaults\nsrc 198.18.0.1 = blue");
	gp_tagger_set_rules(T, r2);
	gp_rules_free(R);
	R = r2;
	seg_all(&c, s1, n1, T0);
	expect_emit(2, &c, "h2", OFFERED, "api.canary.example.com", "blue", "");
	gp_tagger_conn(T, &c_in, T0);
	expect_emit(3, &c_in, "h2", OFFERED, "api.canary.example.com", "blue", "");
	gp_tagger_conn(T, &a_in, T0);
	expect_emit(4, &a_in, "h2", OFFERED, "api.canary.example.com", "canary", "");
}

static void test_ipv6_flow_tagged(void **state)
{
	struct gp_conn a = mk("fd00:198:18::1", 40001, "fd00:198:18:1::2", 443, GP_DIR_OUTBOUND);
	struct gp_conn b = mk("fd00:198:18::1", 40001, "fd00:198:18:2::2", 443, GP_DIR_OUTBOUND);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	use_rules("dst fd00:198:18:1::/64 = canary");
	gp_tagger_conn(T, &a, T0);
	gp_tagger_conn(T, &b, T0);
	seg_all(&a, s, n, T0 + MS);
	expect_emit(0, &a, "h2", OFFERED, SNI, "canary", "");
	assert_int_equal(out.flows[0].flow.family, AF_INET6);
	/* Same ports, other server: its own flow, still waiting. */
	assert_int_equal(out.n_conns, 1);
	seg_all(&b, s, n, T0 + MS);
	expect_emit(1, &b, "h2", OFFERED, SNI, "stable", "");
}

static void test_payload_tuple_padding_ignored(void **state)
{
	struct gp_conn a = out4(40001);
	struct gp_payload_event h;
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	memset(&h, 0, sizeof(h));
	h.type = GP_EV_PAYLOAD;
	tuple_of(&a, &h.flow);
	h.flow._pad = 0xbeef;
	h.len = (uint32_t)n;
	h.bytes = n;
	h.isn = a.flow_isn;
	gp_tagger_payload(T, &h, s, T0 + MS);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(stats().flows, 1);
}

/* ---- the same tuple again ----------------------------------------------- */

static void test_same_tuple_again_older_outcome_leaves_untagged(void **state)
{
	struct gp_conn a = out4(40001), a2 = out4(40001);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	use_rules("dst 198.19.0.0/16 = canary");
	a2.latency_ns = 777;
	gp_tagger_conn(T, &a, T0);
	gp_tagger_conn(T, &a2, T0 + MS);
	/* The first cannot be told from the second any more: it leaves as it is. */
	assert_int_equal(out.n_conns, 1);
	expect_emit(0, &a, "none", "", "", "canary", "");
	seg_all(&a2, s, n, T0 + 2 * MS);
	expect_emit(1, &a2, "h2", OFFERED, SNI, "canary", "");
	gp_tagger_tick(T, T0 + 2 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 2);
}

/* A later connection on the same 4-tuple: the kernel saw a new SYN, a new ISN. */
static void test_reused_tuple_new_connection_tagged_afresh(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: svc.example.com\r\n\r\n";
	struct gp_conn a = out4(40001), a2 = out4(40001), a3 = out4(40001);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	a2.flow_isn = a.flow_isn + 0x01000000u;
	a2.latency_ns = 777;
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, s, (uint32_t)n, 5000, T0);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 5000);

	/* Not the old connection's tag: this one waits for its own bytes. */
	gp_tagger_conn(T, &a2, T0 + 10 * MS);
	assert_int_equal(out.n_conns, 1);
	seg(&a2, 0, req, sizeof(req) - 1, 300, T0 + 11 * MS);
	expect_emit(1, &a2, "http/1.1", "", "", "stable", "");
	assert_int_equal(out.n_flows, 2);
	/* Its byte count starts over, and none of it goes to the old tag. */
	assert_int_equal(credited(GP_DIR_OUTBOUND, "http/1.1", "stable"), 300);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 5000);
	/* A flow table reading of the old connection is not this one's. */
	flow_bytes(&a, 9999);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "http/1.1", "stable"), 300);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 5000);
	flow_bytes(&a2, 400);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "http/1.1", "stable"), 400);

	/* A third one whose records come first: its bytes wait for its own outcome. */
	a3.flow_isn = a2.flow_isn + 0x01000000u;
	seg(&a3, 0, s, (uint32_t)n, 6000, T0 + 20 * MS);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "http/1.1", "stable"), 400);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 5000);
	gp_tagger_conn(T, &a3, T0 + 21 * MS);
	expect_emit(2, &a3, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 5000 + 6000);
	assert_int_equal(stats().flows, 1);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 3);
}

static void test_new_connection_decides_the_old_one(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: svc.example.com\r\n\r\n";
	struct gp_conn a = out4(40001), a2 = out4(40001);
	uint8_t s[4096];

	(void)state;
	assert_true(tls_stream(s, sizeof(s), SNI, 0, NULL) > 40);
	a2.flow_isn = a.flow_isn - 1;
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, s, 40, 40, T0);
	assert_int_equal(out.n_conns, 0);
	/* The new connection's first bytes: the old one will get no more. */
	seg(&a2, 0, req, sizeof(req) - 1, sizeof(req) - 1, T0 + MS);
	expect_emit(0, &a, "unknown", "", "", "stable", "");
	assert_int_equal(out.n_flows, 2);
	assert_string_equal(out.flows[0].alpn, "unknown");
	assert_string_equal(out.flows[1].alpn, "http/1.1");
	gp_tagger_conn(T, &a2, T0 + 2 * MS);
	expect_emit(1, &a2, "http/1.1", "", "", "stable", "");
	gp_tagger_tick(T, T0 + 2 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(stats().waited_out, 0);
}

/* ---- bytes -------------------------------------------------------------- */

static void test_bytes_credited_once_per_joined_direction(void **state)
{
	struct gp_conn o = out4(40001), i = in4(40001);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	/* Bytes before any outcome joined have no tag to go to yet. */
	seg(&o, 0, s, (uint32_t)n, 600, T0);
	assert_int_equal(out.n_bytes, 0);
	gp_tagger_conn(T, &o, T0 + MS);
	expect_emit(0, &o, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.n_bytes, 1);
	assert_int_equal(out.bytes[0].dir, GP_DIR_OUTBOUND);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 600);

	/* The flow table's totals: only what is new is credited. */
	flow_bytes(&o, 1600);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 1600);
	flow_bytes(&o, 1600);
	flow_bytes(&o, 1500);	/* an older reading */
	assert_int_equal(out.n_bytes, 2);

	/* The other end joins: it gets the whole flow once, the outbound side nothing again. */
	gp_tagger_conn(T, &i, T0 + 3 * MS);
	expect_emit(1, &i, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(credited(GP_DIR_INBOUND, "h2", "stable"), 1600);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 1600);
	assert_int_equal(out.n_bytes, 3);

	/* Payload records carry the total too, even a retransmission after the decision. */
	seg(&o, 0, s, (uint32_t)n, 1700, T0 + 2 * MS);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 1700);
	assert_int_equal(credited(GP_DIR_INBOUND, "h2", "stable"), 1700);
	assert_int_equal(out.n_bytes, 5);
	flow_bytes(&o, 2000);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 2000);
	assert_int_equal(credited(GP_DIR_INBOUND, "h2", "stable"), 2000);
	flow_end(&o, 2100, T0 + 4 * MS);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 2100);
	assert_int_equal(credited(GP_DIR_INBOUND, "h2", "stable"), 2100);
	assert_int_equal(out.n_bytes, 9);

	/* Forgetting the flow credits nothing twice. */
	gp_tagger_sweep_begin(T);
	gp_tagger_tick(T, T0 + 4 * MS + WAIT, 1);
	assert_int_equal(stats().flows, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_bytes, 9);
	assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable") +
			 credited(GP_DIR_INBOUND, "h2", "stable"), 2 * 2100);
}

static void test_bytes_go_to_the_tag_the_outcome_got(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002);
	static const char req[] = "GET / HTTP/1.1\r\nX-Gray: canary\r\n\r\n";

	(void)state;
	use_rules("");
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, req, sizeof(req) - 1, 5000, T0 + MS);
	expect_emit(0, &a, "http/1.1", "", "", "canary", "x-gray");
	assert_int_equal(credited(GP_DIR_OUTBOUND, "http/1.1", "canary"), 5000);

	/* A waiting outcome gets its bytes when it leaves, under its final tag. */
	gp_tagger_conn(T, &b, T0);
	flow_bytes(&b, 300);
	assert_int_equal(out.n_bytes, 1);
	gp_tagger_tick(T, T0 + WAIT, 0);
	expect_emit(1, &b, "none", "", "", "stable", "");
	assert_int_equal(credited(GP_DIR_OUTBOUND, "none", "stable"), 300);
	assert_int_equal(out.n_bytes, 2);
}

/* How the rules decided gray travels with the outcome and with its flow's bytes. */
static void test_gray_flags_travel(void **state)
{
	static const char fixed[] = "GET / HTTP/1.1\r\nX-Canary: real-canary\r\n\r\n";
	static const char junk[] = "GET / HTTP/1.1\r\nX-Canary: junk-7\r\n\r\n";
	static const char glob[] = "GET / HTTP/1.1\r\nX-Canary: beta-1\r\n\r\n";
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003), d = out4(40004);

	(void)state;
	use_rules("no-defaults\nheader x-canary ~ real-canary,beta-*");
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, fixed, sizeof(fixed) - 1, 5000, T0 + MS);
	gp_tagger_conn(T, &b, T0);
	seg(&b, 0, junk, sizeof(junk) - 1, 300, T0 + MS);
	gp_tagger_conn(T, &c, T0);
	seg(&c, 0, glob, sizeof(glob) - 1, 70, T0 + MS);
	d.result = GP_RES_REFUSED;
	d.dport++;	/* no endpoint memory: the "stable" default, which is fixed */
	gp_tagger_conn(T, &d, T0);
	assert_int_equal(out.n_conns, 4);
	assert_string_equal(out.conns[0].gray, "real-canary");
	assert_int_equal(out.conns[0].gray_flags, GP_GRAY_FIXED);
	assert_string_equal(out.conns[1].gray, "stable");
	assert_int_equal(out.conns[1].gray_flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	assert_string_equal(out.conns[2].gray, "beta-1");
	assert_int_equal(out.conns[2].gray_flags, 0);
	assert_int_equal(out.conns[3].gray_flags, GP_GRAY_FIXED);
	assert_int_equal(out.n_bytes, 3);
	assert_int_equal(out.bytes[0].gray_flags, GP_GRAY_FIXED);
	assert_int_equal(out.bytes[1].gray_flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	assert_int_equal(out.bytes[2].gray_flags, 0);
}

static void test_bytes_of_unjoined_flows_not_credited(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	/* A flow the tagger never saw is not created by a flow table reading. */
	flow_bytes(&a, 1000);
	assert_int_equal(stats().flows, 0);
	/* An untracked outcome does not join the flow its tuple names. */
	seg(&b, 0, s, (uint32_t)n, 700, T0);
	b.has_flow = 0;
	gp_tagger_conn(T, &b, T0);
	flow_bytes(&b, 900);
	/* Nor does a refused one. */
	c.result = GP_RES_REFUSED;
	seg(&c, 0, s, (uint32_t)n, 700, T0);
	gp_tagger_conn(T, &c, T0);
	flow_end(&c, 800, T0 + MS);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(out.n_bytes, 0);
}

/* ---- sweeping and flushing ---------------------------------------------- */

static void test_sweep_forgets_unrefreshed_keeps_waiting(void **state)
{
	struct gp_conn a = out4(40001), b = out4(40002), c = out4(40003), d = out4(40004);
	struct gp_conn e = out4(40005);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	gp_tagger_conn(T, &a, T0);		/* a: decided and out */
	seg_all(&a, s, n, T0);
	gp_tagger_conn(T, &b, T0);		/* b: waiting */
	seg_all(&c, s, n, T0);			/* c: decided, no outcome yet */
	seg(&d, 0, s, 50, 50, T0);		/* d: undecided, no outcome */
	assert_int_equal(out.n_conns, 1);
	assert_int_equal(stats().flows, 4);

	/* Without a completed walk, nothing is forgotten. */
	gp_tagger_sweep_begin(T);
	gp_tagger_tick(T, T0 + MS, 0);
	assert_int_equal(stats().flows, 4);

	gp_tagger_sweep_begin(T);
	flow_bytes(&c, n);			/* the kernel still has c */
	seg(&e, 0, s, 10, 10, T0 + MS);		/* e: new during the walk */
	gp_tagger_tick(T, T0 + MS, 1);
	assert_int_equal(stats().flows, 3);	/* b, c, e */
	assert_int_equal(out.n_conns, 1);

	/* c kept its decision: its outcome leaves on arrival. */
	gp_tagger_conn(T, &c, T0 + 2 * MS);
	expect_emit(1, &c, "h2", OFFERED, SNI, "stable", "");
	/* a was forgotten: a new outcome on its tuple waits for a new flow. */
	gp_tagger_conn(T, &a, T0 + 2 * MS);
	assert_int_equal(out.n_conns, 2);
	/* d's partial bytes were forgotten too: its outcome finds no payload. */
	gp_tagger_conn(T, &d, T0 + 2 * MS);
	gp_tagger_tick(T, T0 + WAIT, 0);
	expect_emit(2, &b, "none", "", "", "stable", "");
	gp_tagger_tick(T, T0 + 2 * MS + WAIT, 0);
	assert_int_equal(out.n_conns, 5);
	expect_emit(3, &a, "none", "", "", "stable", "");
	expect_emit(4, &d, "none", "", "", "stable", "");
}

static void test_ended_flows_forgotten_after_the_grace(void **state)
{
	struct gp_conn a = out4(40001);
	uint8_t s[4096];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, s, n, T0);
	flow_end(&a, n, T0 + MS);
	/* Kept a short grace for an outcome racing the end, on any tick, sweep or not. */
	gp_tagger_tick(T, T0 + MS + GP_TAGGER_END_GRACE_NS - 1, 0);
	assert_int_equal(stats().flows, 1);
	gp_tagger_tick(T, T0 + MS + GP_TAGGER_END_GRACE_NS, 0);
	assert_int_equal(stats().flows, 0);
	assert_int_equal(out.n_conns, 1);
	/* Refreshed by a walk or not, it stays gone. */
	gp_tagger_sweep_begin(T);
	flow_bytes(&a, n);
	gp_tagger_tick(T, T0 + MS + GP_TAGGER_END_GRACE_NS + 1, 1);
	assert_int_equal(stats().flows, 0);
	assert_int_equal(out.n_conns, 1);
}

static void test_flush_emits_every_waiting_outcome(void **state)
{
	static const char head[] = "GET / HTTP/1.1\r\nX-Canary: yes\r\n";
	static const char connect[] = CONNECT_HEAD "\r\n";
	struct gp_conn w1 = out4(40001), w2 = out4(40002), w3 = out4(40003), w4 = out4(40004);
	struct gp_conn w5 = out4(40005);
	uint8_t s[4096];

	(void)state;
	assert_true(tls_stream(s, sizeof(s), SNI, 0, NULL) > 30);
	use_rules("");
	gp_tagger_conn(T, &w1, T0);			/* nothing came */
	gp_tagger_conn(T, &w2, T0);			/* a partial hello */
	seg(&w2, 0, s, 30, 30, T0);
	gp_tagger_conn(T, &w3, T0);			/* a head still open */
	seg_all(&w3, head, sizeof(head) - 1, T0);
	gp_tagger_conn(T, &w4, T0);			/* a CONNECT, tunnel silent */
	seg_all(&w4, connect, sizeof(connect) - 1, T0);
	seg(&w5, 0, "GE", 2, 2, T0);			/* payload only, no outcome */
	assert_int_equal(out.n_conns, 0);
	assert_int_equal(out.n_flows, 0);

	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 4);
	assert_int_equal(emits_of(&w1), 1);
	assert_int_equal(emits_of(&w2), 1);
	assert_int_equal(emits_of(&w3), 1);
	assert_int_equal(emits_of(&w4), 1);
	for (size_t i = 0; i < out.n_conns; i++) {
		const struct gp_conn *c = &out.conns[i];

		switch (c->sport) {
		case 40001:
			expect_emit(i, &w1, "none", "", "", "stable", "");
			break;
		case 40002:
			expect_emit(i, &w2, "unknown", "", "", "stable", "");
			break;
		case 40003:
			expect_emit(i, &w3, "http/1.1", "", "", "yes", "x-canary");
			break;
		default:
			expect_emit(i, &w4, "http/1.1", "", "", "stable", "");
		}
	}
	/* Every flow is decided, the payload-only one too. */
	assert_int_equal(out.n_flows, 5);
	/* Flushing is not the wait running out. */
	assert_int_equal(stats().waited_out, 0);

	gp_tagger_flush(T);
	gp_tagger_tick(T, T0 + 10 * WAIT, 0);
	assert_int_equal(out.n_conns, 4);
	assert_int_equal(out.n_flows, 5);
	/* A late outcome of a flushed flow leaves on arrival with the flow's tag. */
	gp_tagger_conn(T, &w5, T0 + MS);
	expect_emit(4, &w5, "unknown", "", "", "stable", "");
}

static void test_free_emits_nothing(void **state)
{
	struct gp_conn a = out4(40001);

	(void)state;
	gp_tagger_free(NULL);
	gp_tagger_conn(T, &a, T0);
	seg(&a, 0, "GET", 3, 3, T0);
	gp_tagger_free(T);
	T = NULL;
	assert_int_equal(out.n_conns, 0);
	assert_int_equal(out.n_flows, 0);
}

static void test_optional_callbacks(void **state)
{
	static const struct gp_tagger_ops conn_only = { .conn = on_conn, .ctx = &out };
	struct gp_conn a = out4(40001), b = out4(40002);
	uint8_t s[4096], f[128];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

	(void)state;
	/* The agent wants no flow results, replay no bytes: NULL callbacks are skipped. */
	gp_tagger_free(T);
	T = gp_tagger_new(&conn_only, &cfg);
	assert_non_null(T);
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, s, n, T0);
	seg(&a, (uint32_t)n, f, (uint32_t)flight13(f), 0, T0 + MS);
	flow_bytes(&a, 5000);
	gp_tagger_conn(T, &b, T0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 2);
	expect_emit(0, &a, "h2", OFFERED, SNI, "stable", "");
	assert_int_equal(out.n_flows, 0);
	assert_int_equal(out.n_bytes, 0);
	assert_int_equal(out.n_hs, 0);
}

/* ---- TLS handshake time ------------------------------------------------- */

static void expect_hs(size_t i, const struct gp_conn *c, const char *alpn, uint64_t ts,
		      uint64_t dur)
{
	struct gp_flow_tuple t;

	if (i >= out.n_hs)
		fail_msg("handshake %zu not reported (%zu so far)", i, out.n_hs);
	tuple_of(c, &t);
	assert_memory_equal(&out.hs[i].flow, &t, sizeof(t));
	assert_int_equal(out.hs[i].dir, c->dir);
	assert_string_equal(out.hs[i].alpn, alpn);
	assert_string_equal(out.hs[i].gray, "stable");
	assert_int_equal(out.hs[i].ts_ns, ts);
	assert_int_equal(out.hs[i].duration_ns, dur);
}

static void test_tls13_handshake_timed_once_per_joined_direction(void **state)
{
	struct gp_conn a = out4(41001), b = in4(41001);
	uint8_t s[4096], f[128];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL), m = flight13(f);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	gp_tagger_conn(T, &b, T0);
	seg_all(&a, s, n, T0 + 1 * MS);
	/* A retransmitted hello keeps the first one's time. */
	seg_all(&a, s, n, T0 + 2 * MS);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(out.n_hs, 0);
	seg(&a, (uint32_t)n, f, (uint32_t)m, n + m, T0 + 4 * MS);
	assert_int_equal(out.n_hs, 2);
	expect_hs(0, &a, "h2", T0 + 4 * MS, 3 * MS);
	expect_hs(1, &b, "h2", T0 + 4 * MS, 3 * MS);
	/* Application data after it and the end: nothing more. */
	seg(&a, (uint32_t)(n + m), f + 6, (uint32_t)(m - 6), 0, T0 + 5 * MS);
	flow_end(&a, 0, T0 + 6 * MS);
	gp_tagger_flush(T);
	assert_int_equal(out.n_hs, 2);
}

/* TLS 1.2 (RFC 5246 7.3): ClientKeyExchange, ChangeCipherSpec, Finished (22), then 23. */
static void test_tls12_handshake_ends_at_application_data(void **state)
{
	static const uint8_t hdrs[][5] = {
		{ 22, 3, 3, 0, 37 }, { 20, 3, 3, 0, 1 }, { 22, 3, 3, 0, 40 },
	};
	struct gp_conn a = out4(41002);
	uint8_t s[4096], f[256], app[] = { 23, 3, 3, 0, 30 };
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL), m = 0, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		memcpy(f + m, hdrs[i], 5);
		memset(f + m + 5, 0x17, hdrs[i][4]);	/* bodies full of 23s fool no one */
		m += 5 + hdrs[i][4];
	}
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, s, n, T0 + MS);
	seg(&a, (uint32_t)n, f, (uint32_t)m, 0, T0 + 5 * MS);
	assert_int_equal(out.n_hs, 0);
	/* Its header split over two segments: the first one's time counts. */
	seg(&a, (uint32_t)(n + m), app, 2, 0, T0 + 6 * MS);
	assert_int_equal(out.n_hs, 0);
	seg(&a, (uint32_t)(n + m + 2), app + 2, 3, 0, T0 + 7 * MS);
	assert_int_equal(out.n_hs, 1);
	expect_hs(0, &a, "h2", T0 + 6 * MS, 5 * MS);
}

/* The server's outcome comes after the handshake's end: it gets it when it joins. */
static void test_handshake_reported_to_a_later_outcome(void **state)
{
	struct gp_conn a = out4(41003), b = in4(41003);
	uint8_t s[4096], f[128];
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL), m = flight13(f);

	(void)state;
	gp_tagger_conn(T, &a, T0);
	seg_all(&a, s, n, T0 + MS);
	seg(&a, (uint32_t)n, f, (uint32_t)m, 0, T0 + 3 * MS);
	assert_int_equal(out.n_hs, 1);
	gp_tagger_conn(T, &b, T0 + 4 * MS);
	assert_int_equal(out.n_hs, 2);
	expect_hs(1, &b, "h2", T0 + 3 * MS, 2 * MS);
}

/* What is not seen whole, or is not a handshake of its own, is never timed. */
static void test_handshake_not_observed(void **state)
{
	static const char head[] = CONNECT_HEAD "\r\n";
	struct gp_conn gap = out4(41010), none = out4(41011), lone = out4(41012);
	struct gp_conn early = out4(41013), junk = out4(41014);
	struct gp_conn tun = mk("198.18.0.1", 41015, "198.19.0.2", 3128, GP_DIR_OUTBOUND);
	uint8_t s[4096], e[4096], f[128], bad[8] = { 23, 2, 0, 0, 1, 0 };
	size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL), m = flight13(f), ne;

	(void)state;
	hello_early_data = 1;
	ne = tls_stream(e, sizeof(e), SNI, 0, NULL);
	hello_early_data = 0;
	use_rules("");
	/* A gap: the Finished came before the ChangeCipherSpec. */
	gp_tagger_conn(T, &gap, T0);
	seg_all(&gap, s, n, T0 + MS);
	seg(&gap, (uint32_t)n + 6, f + 6, (uint32_t)m - 6, 0, T0 + 2 * MS);
	seg(&gap, (uint32_t)n, f, 6, 0, T0 + 3 * MS);
	/* No application data before the end. */
	gp_tagger_conn(T, &none, T0);
	seg_all(&none, s, n, T0 + MS);
	seg(&none, (uint32_t)n, f, 6, 0, T0 + 2 * MS);
	flow_end(&none, 0, T0 + 3 * MS);
	/* No socket outcome joined: nothing to count it under. */
	seg_all(&lone, s, n, T0 + MS);
	seg(&lone, (uint32_t)n, f, (uint32_t)m, 0, T0 + 2 * MS);
	/* 0-RTT: its early data would pass for the handshake's end. */
	gp_tagger_conn(T, &early, T0);
	seg_all(&early, e, ne, T0 + MS);
	seg(&early, (uint32_t)ne, f, (uint32_t)m, 0, T0 + 2 * MS);
	/* Not a TLS record after the hello (version 2.0). */
	gp_tagger_conn(T, &junk, T0);
	seg_all(&junk, s, n, T0 + MS);
	seg(&junk, (uint32_t)n, bad, sizeof(bad), 0, T0 + 2 * MS);
	seg(&junk, (uint32_t)n + sizeof(bad), f, (uint32_t)m, 0, T0 + 3 * MS);
	/* Inside a CONNECT tunnel. */
	gp_tagger_conn(T, &tun, T0);
	seg_all(&tun, head, sizeof(head) - 1, T0 + MS);
	seg(&tun, sizeof(head) - 1, s, (uint32_t)n, 0, T0 + 2 * MS);
	seg(&tun, (uint32_t)(sizeof(head) - 1 + n), f, (uint32_t)m, 0, T0 + 3 * MS);
	gp_tagger_tick(T, T0 + 10 * WAIT, 0);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 5);
	assert_int_equal(out.n_hs, 0);
}

/* ---- limits ------------------------------------------------------------- */

static struct gp_conn nth_flow(unsigned i)
{
	char src[32];

	snprintf(src, sizeof(src), "198.18.%u.%u", (i >> 8) & 0xff, i & 0xff);
	return mk(src, 1024 + (i >> 16), "198.19.0.2", 443, GP_DIR_OUTBOUND);
}

static void test_flow_table_full_outcome_untagged(void **state)
{
	struct gp_conn first = nth_flow(0), extra = nth_flow(GP_TAGGER_FLOWS_MAX);
	struct gp_conn extra2 = nth_flow(GP_TAGGER_FLOWS_MAX + 1), later;
	struct gp_tagger_stats st;
	unsigned i;

	(void)state;
	use_rules("dst 198.19.0.2 = canary");
	for (i = 0; i < GP_TAGGER_FLOWS_MAX; i++) {
		struct gp_conn c = nth_flow(i);

		seg(&c, 0, NULL, 0, 0, T0);
	}
	st = stats();
	assert_int_equal(st.flows, GP_TAGGER_FLOWS_MAX);
	assert_int_equal(st.flows_dropped, 0);

	/* No room: a new flow's payload is dropped, its outcome leaves at once. */
	seg(&extra, 0, "GET / HTTP/1.1\r\n\r\n", 18, 18, T0);
	assert_int_equal(stats().flows_dropped, 1);
	gp_tagger_conn(T, &extra2, T0);
	expect_emit(0, &extra2, "none", "", "", "canary", "");
	gp_tagger_conn(T, &extra, T0);
	expect_emit(1, &extra, "none", "", "", "canary", "");
	st = stats();
	assert_int_equal(st.flows_dropped, 3);
	assert_int_equal(st.flows, GP_TAGGER_FLOWS_MAX);
	/* A known flow still waits. */
	gp_tagger_conn(T, &first, T0);
	assert_int_equal(out.n_conns, 2);

	/* A walk that refreshes nothing frees all but the waiting one. */
	gp_tagger_sweep_begin(T);
	gp_tagger_tick(T, T0 + MS, 1);
	assert_int_equal(stats().flows, 1);
	later = nth_flow(GP_TAGGER_FLOWS_MAX + 2);
	gp_tagger_conn(T, &later, T0 + MS);
	assert_int_equal(out.n_conns, 2);
	assert_int_equal(stats().flows, 2);
	assert_int_equal(stats().flows_dropped, 3);
	gp_tagger_flush(T);
	assert_int_equal(out.n_conns, 4);
}

/* ---- exactly once, whatever the order ----------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/* What a flow of the shuffled scenario carries, by its index modulo 5. */
enum kind { K_TLS, K_HTTP, K_PARTIAL, K_NONE, K_UNTRACKED, K_MAX };

#define NF	150
#define MAX_EV	(NF * 40)

static const char shuffled_req[] =
	"GET /x HTTP/1.1\r\nHost: svc.example.com\r\nX-Gray: beta\r\n\r\n";

enum ev_what { EV_OUT, EV_IN, EV_SEG };

struct ev {
	unsigned flow;
	enum ev_what what;
	uint32_t off, len;
};

static struct {
	struct ev ev[MAX_EV];
	size_t nev;
	struct gp_conn conn[NF][2];	/* outbound, inbound */
	int has_in[NF], started[NF];
	uint8_t tls[4096];
	size_t n_tls;
} sh;

static enum kind kind_of(size_t i)
{
	return (enum kind)(i % K_MAX);
}

static void add_ev(unsigned flow, enum ev_what what, uint32_t off, uint32_t len)
{
	assert_true(sh.nev < MAX_EV);
	sh.ev[sh.nev++] = (struct ev){ flow, what, off, len };
}

/* Each flow's outcomes and its bytes in random segments, some overlapping, some twice. */
static void make_events(void)
{
	size_t frags[] = { 1 + rnd() % 300, 1 + rnd() % 300, 0 }, i;

	sh.nev = 0;
	sh.n_tls = tls_stream(sh.tls, sizeof(sh.tls), SNI, rnd() % 1500, frags);
	for (i = 0; i < NF; i++) {
		enum kind k = kind_of(i);
		size_t len = k == K_HTTP ? sizeof(shuffled_req) - 1 : sh.n_tls, off, c;

		if (k == K_PARTIAL)
			len /= 2;
		sh.conn[i][0] = mk("198.18.1.1", 20000 + i, "198.19.1.2", 443, GP_DIR_OUTBOUND);
		sh.conn[i][1] = mk("198.18.1.1", 20000 + i, "198.19.1.2", 443, GP_DIR_INBOUND);
		sh.conn[i][0].has_flow = sh.conn[i][1].has_flow = k != K_UNTRACKED;
		sh.has_in[i] = rnd() % 2;
		sh.started[i] = 0;
		add_ev((unsigned)i, EV_OUT, 0, 0);
		if (sh.has_in[i])
			add_ev((unsigned)i, EV_IN, 0, 0);
		if (k == K_NONE || k == K_UNTRACKED)
			continue;
		for (off = 0; off < len; off += c) {
			size_t o = off > 20 && rnd() % 4 == 0 ? off - 20 : off;

			c = 1 + rnd() % 400;
			if (c > len - off)
				c = len - off;
			add_ev((unsigned)i, EV_SEG, (uint32_t)o, (uint32_t)(off + c - o));
			if (rnd() % 5 == 0)
				add_ev((unsigned)i, EV_SEG, (uint32_t)o, (uint32_t)(off + c - o));
		}
	}
	for (i = sh.nev - 1; i > 0; i--) {
		size_t k = rnd() % (i + 1);
		struct ev tmp = sh.ev[i];

		sh.ev[i] = sh.ev[k];
		sh.ev[k] = tmp;
	}
}

/* Plays the events, with a flow table walk every 50; returns the time reached. */
static uint64_t play_events(void)
{
	uint64_t now = T0;
	size_t i, k;

	for (i = 0; i < sh.nev; i++) {
		const struct ev *e = &sh.ev[i];
		const struct gp_conn *c = &sh.conn[e->flow][e->what == EV_IN];
		const uint8_t *data = kind_of(e->flow) == K_HTTP ? (const uint8_t *)shuffled_req
								   : sh.tls;

		now += MS / 8;
		if (e->what == EV_SEG) {
			seg(c, e->off, data + e->off, e->len, e->off + e->len, now);
			sh.started[e->flow] = 1;
		} else {
			gp_tagger_conn(T, c, now);
		}
		if (i % 50 == 49) {
			/* The kernel still has every flow that began. */
			gp_tagger_sweep_begin(T);
			for (k = 0; k < NF; k++)
				if (sh.started[k])
					flow_bytes(&sh.conn[k][0], 1);
			gp_tagger_tick(T, now, 1);
		}
	}
	return now;
}

/* Every outcome out once, with its flow's tag. */
static void check_shuffled(int round)
{
	static const char *const alpn[K_MAX] = { "h2", "http/1.1", "unknown", "none", "none" };
	static const char *const gray[K_MAX] = { "stable", "beta", "stable", "stable", "stable" };
	size_t i, j;
	int d;

	for (i = 0; i < NF; i++) {
		enum kind k = kind_of(i);

		for (d = 0; d < GP_DIR_MAX; d++) {
			size_t seen = 0, want = d == GP_DIR_OUTBOUND || sh.has_in[i];

			for (j = 0; j < out.n_conns; j++) {
				const struct gp_conn *e = &out.conns[j];

				if ((size_t)e->sport != 20000 + i || e->dir != (enum gp_direction)d)
					continue;
				seen++;
				if (strcmp(e->alpn, alpn[k]) || strcmp(e->gray, gray[k]))
					fail_msg("round %d flow %zu dir %d: %s/%s, want %s/%s",
						 round, i, d, e->alpn, e->gray, alpn[k], gray[k]);
			}
			if (seen != want)
				fail_msg("round %d flow %zu dir %d: emitted %zu times", round, i, d,
					 seen);
		}
	}
}

static void test_every_outcome_emitted_once_in_any_order(void **state)
{
	uint64_t now;
	size_t i;
	int round;

	(void)state;
	use_rules("");
	for (round = 0; round < 4; round++) {
		memset(&out, 0, sizeof(out));
		gp_tagger_free(T);
		T = gp_tagger_new(&ops, &cfg);
		assert_non_null(T);
		gp_tagger_set_rules(T, R);
		make_events();
		now = play_events();
		assert_true(now < T0 + WAIT);	/* nothing timed out: every tag is known */
		/* Some cut-short flows end, after all their bytes; the flush decides the rest. */
		for (i = 0; i < NF; i++)
			if (kind_of(i) == K_PARTIAL && rnd() % 2)
				flow_end(&sh.conn[i][0], 1, now);
		gp_tagger_flush(T);
		check_shuffled(round);
	}
}

/* ---- failures under their server endpoint's last tag ---------------------- */

#define EP_SRV		"198.19.0.2"
#define EP_NS		4026531840u
static const char canary_req[] = "GET / HTTP/1.1\r\nHost: svc\r\nX-Canary: canary\r\n\r\n";
static const char plain_req[] = "GET / HTTP/1.1\r\nHost: svc\r\n\r\n";

/* A new tagger with this endpoint memory (0: off), the default rules. */
static void retag(uint64_t memory_ns)
{
	struct gp_tagger_config c = { .tag_wait_ns = WAIT, .endpoint_memory_ns = memory_ns };

	gp_tagger_free(T);
	T = gp_tagger_new(&ops, &c);
	assert_non_null(T);
	use_rules("");
}

/* An established outbound connection to EP_SRV:dport whose request is req. */
static struct gp_conn served(unsigned sport, unsigned dport, const char *req, uint64_t now)
{
	struct gp_conn c = mk("198.18.0.1", sport, EP_SRV, dport, GP_DIR_OUTBOUND);
	size_t before = out.n_conns;

	gp_tagger_conn(T, &c, now);
	seg_all(&c, req, strlen(req), now);
	assert_int_equal(out.n_conns, before + 1);
	assert_int_equal(out.conns[before].tag_from_endpoint, 0);
	return c;
}

/* A failed attempt (res) from 198.18.0.1:sport to EP_SRV:dport. */
static struct gp_conn failed(unsigned sport, unsigned dport, enum gp_result res, uint64_t now)
{
	struct gp_conn c = mk("198.18.0.1", sport, EP_SRV, dport, GP_DIR_OUTBOUND);

	c.result = res;
	c.has_flow = res != GP_RES_UNREACHABLE;	/* a SYN seen at TC or not: the same */
	gp_tagger_conn(T, &c, now);
	return c;
}

/* Outcome i left with ALPN/GRAY, from the endpoint memory or not. */
static void expect_failure(size_t i, const struct gp_conn *c, const char *alpn, const char *gray,
			   int from_endpoint)
{
	expect_emit(i, c, alpn, "", "", gray, "");
	assert_int_equal(out.conns[i].tag_from_endpoint, from_endpoint);
}

static void test_endpoint_failures_take_the_last_tag(void **state)
{
	struct gp_conn a, f;
	enum gp_result r;

	(void)state;
	use_rules("");
	served(40001, 8081, canary_req, T0);
	expect_emit(0, &out.conns[0], "http/1.1", "", "", "canary", "x-canary");
	/* Every kind of failure, with or without its SYN at TC. */
	for (r = GP_RES_REFUSED; r < GP_RES_MAX; r++) {
		f = failed(40100 + r, 8081, r, T0 + 1000 * MS);
		expect_failure(out.n_conns - 1, &f, "http/1.1", "canary", 1);
	}
	assert_int_equal(stats().endpoint_tags, GP_RES_MAX - 1);

	/* A connection without payload says nothing about the endpoint's tag. */
	a = mk("198.18.0.1", 40002, EP_SRV, 8081, GP_DIR_OUTBOUND);
	gp_tagger_conn(T, &a, T0 + 2000 * MS);
	gp_tagger_tick(T, T0 + 2000 * MS + WAIT, 0);
	expect_emit(out.n_conns - 1, &a, "none", "", "", "stable", "");
	f = failed(40200, 8081, GP_RES_REFUSED, T0 + 5000 * MS);
	expect_failure(out.n_conns - 1, &f, "http/1.1", "canary", 1);

	/* The last tag wins: a plain request makes the endpoint stable again. */
	served(40003, 8081, plain_req, T0 + 6000 * MS);
	f = failed(40201, 8081, GP_RES_REFUSED, T0 + 7000 * MS);
	expect_failure(out.n_conns - 1, &f, "http/1.1", "stable", 1);
	assert_int_equal(stats().endpoints, 1);
}

static void test_endpoint_memory_expires(void **state)
{
	struct gp_conn f;

	(void)state;
	retag(10000 * MS);
	served(40001, 8081, canary_req, T0);
	f = failed(40100, 8081, GP_RES_REFUSED, T0 + 9999 * MS);
	expect_failure(1, &f, "http/1.1", "canary", 1);
	/* Failures do not renew it: the tag was seen 10 s ago. */
	f = failed(40101, 8081, GP_RES_REFUSED, T0 + 10000 * MS);
	expect_failure(2, &f, "none", "stable", 0);
	assert_int_equal(stats().endpoints, 0);

	/* A new tagged flow does; a tick past the memory forgets it without a failure. */
	served(40002, 8081, canary_req, T0 + 20000 * MS);
	served(40003, 8081, canary_req, T0 + 25000 * MS);
	f = failed(40102, 8081, GP_RES_TIMEOUT, T0 + 34000 * MS);
	expect_failure(5, &f, "http/1.1", "canary", 1);
	gp_tagger_tick(T, T0 + 34999 * MS, 0);
	assert_int_equal(stats().endpoints, 1);
	gp_tagger_tick(T, T0 + 35000 * MS, 0);
	assert_int_equal(stats().endpoints, 0);
	f = failed(40103, 8081, GP_RES_TIMEOUT, T0 + 35000 * MS);
	expect_failure(6, &f, "none", "stable", 0);
}

static void test_endpoint_memory_off(void **state)
{
	struct gp_conn f;

	(void)state;
	retag(0);
	served(40001, 8081, canary_req, T0);
	f = failed(40100, 8081, GP_RES_REFUSED, T0 + MS);
	expect_failure(1, &f, "none", "stable", 0);
	assert_int_equal(stats().endpoints, 0);
	assert_int_equal(stats().endpoint_tags, 0);
}

/* The same server address and port, but another port, server, namespace or direction. */
static void test_endpoint_is_address_port_netns_direction(void **state)
{
	struct gp_conn f;

	(void)state;
	use_rules("");
	served(40001, 8081, canary_req, T0);
	f = failed(40100, 8082, GP_RES_REFUSED, T0 + MS);
	expect_failure(1, &f, "none", "stable", 0);
	f = mk("198.18.0.1", 40101, "198.19.0.3", 8081, GP_DIR_OUTBOUND);
	f.result = GP_RES_REFUSED;
	gp_tagger_conn(T, &f, T0 + MS);
	expect_failure(2, &f, "none", "stable", 0);
	f = mk("198.18.0.1", 40102, EP_SRV, 8081, GP_DIR_OUTBOUND);
	f.result = GP_RES_REFUSED;
	f.netns = EP_NS + 1;
	gp_tagger_conn(T, &f, T0 + MS);
	expect_failure(3, &f, "none", "stable", 0);
	f = mk("198.18.0.1", 40103, EP_SRV, 8081, GP_DIR_INBOUND);
	f.result = GP_RES_OTHER;
	gp_tagger_conn(T, &f, T0 + MS);
	expect_failure(4, &f, "none", "stable", 0);
	/* Another client of the same endpoint: the tag is the server's. */
	f = mk("198.18.0.9", 40104, EP_SRV, 8081, GP_DIR_OUTBOUND);
	f.result = GP_RES_REFUSED;
	gp_tagger_conn(T, &f, T0 + MS);
	expect_failure(5, &f, "http/1.1", "canary", 1);
}

/* A rule that matches the failed attempt itself decides before the memory. */
static void test_endpoint_rule_on_the_attempt_wins(void **state)
{
	struct gp_conn f;

	(void)state;
	use_rules("alpn none = dark\nsport 40200 = blue");
	served(40001, 8081, canary_req, T0);
	expect_emit(0, &out.conns[0], "http/1.1", "", "", "canary", "x-canary");
	f = failed(40100, 8081, GP_RES_REFUSED, T0 + MS);
	expect_failure(1, &f, "none", "dark", 0);
	gp_rules_free(R);
	R = rules_from("sport 40200 = blue");
	gp_tagger_set_rules(T, R);
	f = failed(40200, 8081, GP_RES_REFUSED, T0 + MS);
	expect_failure(2, &f, "none", "blue", 0);
	f = failed(40201, 8081, GP_RES_REFUSED, T0 + MS);
	expect_failure(3, &f, "http/1.1", "canary", 1);
}

/* At most GP_TAGGER_ENDPOINTS_MAX endpoints; the least recently tagged go first. */
static void test_endpoint_memory_bounded(void **state)
{
	const unsigned extra = 100, first = 1024;
	unsigned i, n = GP_TAGGER_ENDPOINTS_MAX + extra;
	struct gp_conn f;

	(void)state;
	use_rules("");
	for (i = 0; i < n; i++) {
		out.n_conns = out.n_flows = out.n_bytes = 0;	/* more than out holds */
		served(40001, first + i, canary_req, T0 + i * MS);
		/* Endpoint #0 is tagged again halfway: it stays, #1 .. #extra go instead. */
		if (i == n / 2)
			served(40002, first, canary_req, T0 + i * MS);
		assert_true(stats().endpoints <= GP_TAGGER_ENDPOINTS_MAX);
	}
	assert_int_equal(stats().endpoints, GP_TAGGER_ENDPOINTS_MAX);
	out.n_conns = out.n_flows = 0;
	f = failed(50000, first, GP_RES_REFUSED, T0 + n * MS);
	expect_failure(0, &f, "http/1.1", "canary", 1);
	f = failed(50001, first + 1, GP_RES_REFUSED, T0 + n * MS);
	expect_failure(1, &f, "none", "stable", 0);
	f = failed(50002, first + extra, GP_RES_REFUSED, T0 + n * MS);
	expect_failure(2, &f, "none", "stable", 0);
	f = failed(50003, first + extra + 1, GP_RES_REFUSED, T0 + n * MS);
	expect_failure(3, &f, "http/1.1", "canary", 1);
	f = failed(50004, first + n - 1, GP_RES_REFUSED, T0 + n * MS);
	expect_failure(4, &f, "http/1.1", "canary", 1);
}

/* ---- the kernel's flow key ---------------------------------------------- */

static void test_flow_tuple_from_key(void **state)
{
	struct gp_flow_key k;
	struct gp_flow_val v;
	struct gp_flow_tuple t;
	uint8_t lo[16] = { 198, 18, 0, 1 }, hi[16] = { 198, 19, 0, 2 };

	(void)state;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	memcpy(k.addr[0], lo, 16);
	memcpy(k.addr[1], hi, 16);
	k.port[0] = 40001;
	k.port[1] = 443;
	k.family = AF_INET;
	k._pad = 0x1234;

	v.client = 0;
	memset(&t, 0x5a, sizeof(t));
	gp_flow_tuple_from_key(&k, &v, &t);
	assert_memory_equal(t.saddr, lo, 16);
	assert_memory_equal(t.daddr, hi, 16);
	assert_int_equal(t.sport, 40001);
	assert_int_equal(t.dport, 443);
	assert_int_equal(t.family, AF_INET);
	assert_int_equal(t._pad, 0);

	/* The SYN came from the higher endpoint. */
	k.port[0] = 8443;
	k.port[1] = 50000;
	v.client = 1;
	gp_flow_tuple_from_key(&k, &v, &t);
	assert_memory_equal(t.saddr, hi, 16);
	assert_memory_equal(t.daddr, lo, 16);
	assert_int_equal(t.sport, 50000);
	assert_int_equal(t.dport, 8443);

	/* And it names the flow an outcome joins. */
	{
		struct gp_conn c = mk("198.19.0.2", 50000, "198.18.0.1", 8443, GP_DIR_OUTBOUND);
		uint8_t s[4096];
		size_t n = tls_stream(s, sizeof(s), SNI, 0, NULL);

		seg_all(&c, s, n, T0);
		gp_tagger_conn(T, &c, T0);
		gp_tagger_flow_bytes(T, &t, c.flow_isn, 4321);
		expect_emit(0, &c, "h2", OFFERED, SNI, "stable", "");
		assert_int_equal(credited(GP_DIR_OUTBOUND, "h2", "stable"), 4321);
	}
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest test_tagger[] = {
		T_(test_untracked_outcome_leaves_at_once),
		T_(test_tls13_handshake_timed_once_per_joined_direction),
		T_(test_tls12_handshake_ends_at_application_data),
		T_(test_handshake_reported_to_a_later_outcome),
		T_(test_handshake_not_observed),
		T_(test_untracked_outcome_without_rules_is_stable),
		T_(test_outcome_waits_for_client_hello),
		T_(test_hello_without_alpn_is_tls),
		T_(test_alpn_offered_truncated_marked),
		T_(test_payload_before_outcome_emits_on_arrival),
		T_(test_both_directions_of_a_flow_tagged),
		T_(test_hello_in_two_records_out_of_order),
		T_(test_hello_in_three_records_overlapping_and_retransmitted),
		T_(test_wait_over_without_payload_is_none),
		T_(test_wait_over_with_partial_hello_is_unknown),
		T_(test_flow_end_decides),
		T_(test_http_header_split_across_records_sets_gray),
		T_(test_http_without_marker_is_stable),
		T_(test_http_head_unfinished_at_deadline_uses_complete_lines),
		T_(test_http_without_header_rules_decided_by_request_line),
		T_(test_http_headers_never_ending_decided_at_8k),
		T_(test_bytes_beyond_8k_ignored),
		T_(test_h2c_preface_tagged),
		T_(test_connect_tunnel_tagged_by_inner_hello),
		T_(test_connect_tunnel_carrying_h2c),
		T_(test_connect_tunnel_not_tls_is_http),
		T_(test_connect_head_split_without_header_rules_waits_for_tunnel),
		T_(test_rules_see_sni_alpn_and_tuple),
		T_(test_ipv6_flow_tagged),
		T_(test_payload_tuple_padding_ignored),
		T_(test_same_tuple_again_older_outcome_leaves_untagged),
		T_(test_reused_tuple_new_connection_tagged_afresh),
		T_(test_new_connection_decides_the_old_one),
		T_(test_bytes_credited_once_per_joined_direction),
		T_(test_bytes_go_to_the_tag_the_outcome_got),
		T_(test_gray_flags_travel),
		T_(test_bytes_of_unjoined_flows_not_credited),
		T_(test_sweep_forgets_unrefreshed_keeps_waiting),
		T_(test_ended_flows_forgotten_after_the_grace),
		T_(test_flush_emits_every_waiting_outcome),
		T_(test_free_emits_nothing),
		T_(test_optional_callbacks),
		T_(test_flow_table_full_outcome_untagged),
		T_(test_every_outcome_emitted_once_in_any_order),
		T_(test_flow_tuple_from_key),
		T_(test_endpoint_failures_take_the_last_tag),
		T_(test_endpoint_memory_expires),
		T_(test_endpoint_memory_off),
		T_(test_endpoint_is_address_port_netns_direction),
		T_(test_endpoint_rule_on_the_attempt_wins),
		T_(test_endpoint_memory_bounded),
	};

	return cmocka_run_group_tests(test_tagger, NULL, NULL);
}
