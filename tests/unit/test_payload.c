// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * First-payload classifier: ClientHellos built field by field (so every
 * length can be corrupted in turn), fragmented, cut and fuzzed; HTTP/1 and
 * h2c prefixes; the label sanitizer. Inputs are copied to exactly-sized heap
 * buffers so ASan catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/payload.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: seeded, so a failure replays. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* A printable, NUL-terminated label whose every backslash starts \xHH. */
static void assert_label(const char *s, size_t size)
{
	const char *end = memchr(s, '\0', size);
	const char *p;

	assert_non_null(end);
	for (p = s; p < end; p++) {
		assert_true(*p >= 0x20 && *p <= 0x7e);
		if (*p == '\\') {
			assert_true(end - p >= 4);
			assert_int_equal(p[1], 'x');
			assert_non_null(strchr("0123456789abcdef", p[2]));
			assert_non_null(strchr("0123456789abcdef", p[3]));
			assert_true(p[2] && p[3]);
			p += 3;
		}
	}
}

static void assert_info_sane(const struct gp_payload_info *i)
{
	assert_label(i->alpn, sizeof(i->alpn));
	assert_label(i->alpn_offered, sizeof(i->alpn_offered));
	assert_label(i->sni, sizeof(i->sni));
	assert_label(i->http_method, sizeof(i->http_method));
	switch (i->kind) {
	case GP_PL_NEED_MORE:
		assert_string_equal(i->alpn, "");
		assert_string_equal(i->alpn_offered, "");
		assert_string_equal(i->sni, "");
		break;
	case GP_PL_UNKNOWN:
		assert_string_equal(i->alpn, "unknown");
		assert_string_equal(i->alpn_offered, "");
		assert_string_equal(i->sni, "");
		break;
	case GP_PL_TLS:
		assert_true(i->alpn[0] != '\0');
		break;
	case GP_PL_HTTP1:
		assert_string_equal(i->alpn, "http/1.1");
		break;
	case GP_PL_H2C:
		assert_string_equal(i->alpn, "h2c");
		break;
	default:
		fail_msg("kind %d out of range", i->kind);
	}
}

/* Classifies a heap copy of exactly len bytes. */
static enum gp_payload_kind parse(const void *p, size_t len, struct gp_payload_info *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum gp_payload_kind k;

	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	k = gp_payload_parse(len ? copy : NULL, len, out);
	free(copy);
	assert_int_equal(k, out->kind);
	assert_info_sane(out);
	return k;
}

/* ---- ClientHello builder ------------------------------------------------ */

struct bld {
	uint8_t b[16384];
	size_t n;
	size_t len_at[512];	/* every length field written, for corrupting */
	unsigned len_w[512];
	uint8_t len_opaque[512];	/* inside an extension the parser skips */
	size_t nlens;
	size_t ext_at;		/* the extensions block's length */
	int opaque;
};

struct name {
	const void *p;
	size_t n;
};

struct ch {
	const struct name *alpn;
	size_t n_alpn;
	int has_alpn;
	const char *sni;	/* NULL: no server_name */
	size_t big;		/* key_share-like extension of this many bytes, before ALPN */
	int grease;		/* GREASE extension types around the real ones */
};

#define NAME(s) { s, sizeof(s) - 1 }

static void put(struct bld *b, const void *p, size_t n)
{
	assert_true(n <= sizeof(b->b) - b->n);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct bld *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void put16(struct bld *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static size_t open_len(struct bld *b, unsigned w)
{
	size_t at = b->n;

	assert_true(b->nlens < sizeof(b->len_at) / sizeof(b->len_at[0]));
	b->len_at[b->nlens] = at;
	b->len_opaque[b->nlens] = (uint8_t)b->opaque;
	b->len_w[b->nlens++] = w;
	while (w--)
		put8(b, 0);
	return at;
}

static void close_len(struct bld *b, size_t at, unsigned w)
{
	size_t l = b->n - at - w, i;

	for (i = 0; i < w; i++)
		b->b[at + i] = (uint8_t)(l >> (8 * (w - 1 - i)));
}

/* A TLS 1.3-style ClientHello handshake message (type, length, body). */
static void build_hs(struct bld *b, const struct ch *c)
{
	size_t hs, ext, e, l, m, i;

	memset(b, 0, sizeof(*b));
	put8(b, 1);
	hs = open_len(b, 3);
	put16(b, 0x0303);
	for (i = 0; i < 32; i++)
		put8(b, 0x40 + i);			/* random */
	l = open_len(b, 1);
	for (i = 0; i < 32; i++)
		put8(b, 0x80 + i);			/* legacy_session_id */
	close_len(b, l, 1);
	l = open_len(b, 2);
	put16(b, 0x2a2a), put16(b, 0x1301), put16(b, 0x1302), put16(b, 0xc02b);
	close_len(b, l, 2);
	l = open_len(b, 1);
	put8(b, 0);
	close_len(b, l, 1);

	ext = b->ext_at = open_len(b, 2);
	if (c->grease)
		put16(b, 0x0a0a), put16(b, 0);
	if (c->sni) {
		put16(b, 0);
		e = open_len(b, 2);
		l = open_len(b, 2);
		put8(b, 0);
		m = open_len(b, 2);
		put(b, c->sni, strlen(c->sni));
		close_len(b, m, 2);
		close_len(b, l, 2);
		close_len(b, e, 2);
	}
	if (c->big) {
		put16(b, 51);				/* key_share */
		e = open_len(b, 2);
		b->opaque = 1;
		l = open_len(b, 2);
		put16(b, 0x11ec);
		m = open_len(b, 2);
		for (i = 0; i < c->big; i++)
			put8(b, i * 7);
		close_len(b, m, 2);
		close_len(b, l, 2);
		b->opaque = 0;
		close_len(b, e, 2);
	}
	if (c->has_alpn) {
		put16(b, 16);
		e = open_len(b, 2);
		l = open_len(b, 2);
		for (i = 0; i < c->n_alpn; i++) {
			m = open_len(b, 1);
			put(b, c->alpn[i].p, c->alpn[i].n);
			close_len(b, m, 1);
		}
		close_len(b, l, 2);
		close_len(b, e, 2);
	}
	put16(b, 43);					/* supported_versions */
	e = open_len(b, 2);
	b->opaque = 1;
	l = open_len(b, 1);
	put16(b, 0x0304), put16(b, 0x0303);
	close_len(b, l, 1);
	b->opaque = 0;
	close_len(b, e, 2);
	if (c->grease)
		put16(b, 0xfafa), put16(b, 1), put8(b, 0);
	close_len(b, ext, 2);
	close_len(b, hs, 3);
}

/* Appends a raw extension, fixing the extensions and handshake lengths. */
static void append_ext(struct bld *b, const void *p, size_t n)
{
	size_t el;

	put(b, p, n);
	el = b->n - b->ext_at - 2;
	b->b[b->ext_at] = (uint8_t)(el >> 8), b->b[b->ext_at + 1] = (uint8_t)el;
	b->b[1] = (uint8_t)((b->n - 4) >> 16), b->b[2] = (uint8_t)((b->n - 4) >> 8);
	b->b[3] = (uint8_t)(b->n - 4);
}

/*
 * Wraps a handshake message in records: frags[] gives each record's share,
 * 0 ends the list and the last record takes the rest. Returns the length.
 */
static size_t wrap(const uint8_t *hs, size_t n, const size_t *frags, uint8_t *out, size_t cap)
{
	size_t o = 0, off = 0, k = 0;

	while (off < n) {
		size_t f = frags && frags[k] ? frags[k++] : n - off;

		if (f > n - off)
			f = n - off;
		assert_true(o + 5 + f <= cap);
		out[o++] = 22, out[o++] = 3, out[o++] = 1;
		out[o++] = (uint8_t)(f >> 8), out[o++] = (uint8_t)f;
		memcpy(out + o, hs + off, f);
		o += f, off += f;
	}
	return o;
}

static const struct name chrome_alpn[] = { NAME("\x3a\x3a"), NAME("h2"), NAME("http/1.1") };

static struct ch chrome(void)
{
	struct ch c = {
		.alpn = chrome_alpn, .n_alpn = 3, .has_alpn = 1,
		.sni = "www.example.com", .big = 0, .grease = 1,
	};
	return c;
}

/* Builds c into a single record; returns its length. */
static size_t one_record(const struct ch *c, struct bld *b, uint8_t *out, size_t cap)
{
	build_hs(b, c);
	return wrap(b->b, b->n, NULL, out, cap);
}

static void expect_tls(const uint8_t *buf, size_t len, const char *alpn, const char *offered,
		       const char *sni)
{
	struct gp_payload_info i;

	assert_int_equal(parse(buf, len, &i), GP_PL_TLS);
	assert_string_equal(i.alpn, alpn);
	assert_string_equal(i.alpn_offered, offered);
	assert_string_equal(i.sni, sni);
	assert_int_equal(i.alpn_offered_truncated, 0);
	assert_int_equal(i.sni_truncated, 0);
}

/* Every proper prefix needs more, the whole is a ClientHello. */
static void expect_prefixes(const uint8_t *buf, size_t len)
{
	struct gp_payload_info i;
	size_t p;

	for (p = 0; p < len; p++) {
		if (parse(buf, p, &i) != GP_PL_NEED_MORE)
			fail_msg("prefix %zu of %zu: kind %d", p, len, i.kind);
	}
	assert_int_equal(parse(buf, len, &i), GP_PL_TLS);
}

/* ---- TLS tests ---------------------------------------------------------- */

static void test_tls_grease_alpn_and_ext(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	size_t n;

	(void)state;
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");

	/* Only the exact 0x?A?A pairs are GREASE. */
	{
		static const struct name alpn[] = {
			NAME("\x0a\x0a"), NAME("\xfa\xfa"), NAME("\x0a\x1a"), NAME("\x1b\x1b"),
			NAME("\x0a\x0a\x0a"), NAME("h2"),
		};
		c.alpn = alpn, c.n_alpn = 6;
		n = one_record(&c, &b, rec, sizeof(rec));
		expect_tls(rec, n, "\\x0a\\x1a", "\\x0a\\x1a,\\x1b\\x1b,\\x0a\\x0a\\x0a,h2",
			   "www.example.com");
	}
	/* GREASE alone is no protocol. */
	{
		static const struct name alpn[] = { NAME("\x6a\x6a") };
		c.alpn = alpn, c.n_alpn = 1;
		n = one_record(&c, &b, rec, sizeof(rec));
		expect_tls(rec, n, "tls", "", "www.example.com");
	}
}

static void test_tls_alpn_after_big_key_share(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[8192];
	size_t n;

	(void)state;
	c.big = 1500;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_true(n > 1600);
	expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");
	expect_prefixes(rec, n);
}

static void test_tls_split_records(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[8192];
	/* 2 records; 3 records with the 4-byte handshake header itself split. */
	static const size_t two[] = { 600, 0 }, three[] = { 2, 700, 0 }, tiny[] = { 1, 1, 1, 1, 0 };
	const size_t *splits[] = { two, three, tiny };
	size_t n, s;

	(void)state;
	c.big = 1500;
	build_hs(&b, &c);
	for (s = 0; s < 3; s++) {
		n = wrap(b.b, b.n, splits[s], rec, sizeof(rec));
		expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");
		expect_prefixes(rec, n);
	}

	/* Every split point of a small hello into two records. */
	c.big = 0;
	build_hs(&b, &c);
	for (s = 1; s < b.n; s++) {
		size_t fr[] = { s, 0 };

		n = wrap(b.b, b.n, fr, rec, sizeof(rec));
		expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");
	}
}

static void test_tls_every_prefix(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	size_t n;

	(void)state;
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_prefixes(rec, n);
	/* Bytes after the hello (early data, the next flight) change nothing. */
	memcpy(rec + n, "\x17\x03\x03\x00\x05hello", 10);
	expect_tls(rec, n + 10, "h2", "h2,http/1.1", "www.example.com");
}

static void test_tls_record_layer(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096], tmp[4096];
	struct gp_payload_info i;
	size_t n, v;
	static const size_t two[] = { 100, 0 };

	(void)state;
	n = one_record(&c, &b, rec, sizeof(rec));
	/* Record versions 0x0300..0x0304 only. */
	for (v = 0; v <= 4; v++) {
		rec[2] = (uint8_t)v;
		expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");
	}
	rec[2] = 5;
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(rec, 3, &i), GP_PL_UNKNOWN);
	rec[2] = 1, rec[1] = 2;
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(rec, 2, &i), GP_PL_UNKNOWN);
	rec[1] = 3;

	/* Another content type, or another handshake message. */
	memcpy(tmp, rec, n);
	tmp[0] = 23;				/* application data */
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, 1, &i), GP_PL_UNKNOWN);
	memcpy(tmp, rec, n);
	tmp[5] = 2;				/* a ServerHello, from the wrong side */
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, 6, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse("\x16\x03\x03\x00\x02\x02\x00", 7, &i), GP_PL_UNKNOWN);

	/* Zero-length and oversized records. */
	assert_int_equal(parse("\x16\x03\x01\x00\x00", 5, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse("\x16\x03\x01\x40\x01\x01", 6, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse("\x16\x03\x01\x40\x00\x01", 6, &i), GP_PL_NEED_MORE);

	/* A handshake that can never fit the bytes the kernel keeps. */
	assert_int_equal(parse("\x16\x03\x01\x40\x00\x01\x00\x20\x00", 9, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse("\x16\x03\x01\x20\x00\x01\x00\x1f\xf7", 9, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse("\x16\x03\x01\x20\x00\x01\x00\x1f\xf8", 9, &i), GP_PL_UNKNOWN);

	/* Fragments interleaved with another record type. */
	build_hs(&b, &c);
	n = wrap(b.b, b.n, two, tmp, sizeof(tmp));
	tmp[105] = 21;				/* second record: an alert */
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, 106, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, 105, &i), GP_PL_NEED_MORE);

	/* SSLv2-compatible hellos are not recognised. */
	assert_int_equal(parse("\x80\x2e\x01\x03\x01", 5, &i), GP_PL_UNKNOWN);
}

static void test_tls_truncated_records(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	struct gp_payload_info i;
	static const size_t two[] = { 100, 0 };
	size_t n;

	(void)state;
	/* A record cut by the end of data: a prefix, so more is needed. */
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n - 1, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(rec, 5, &i), GP_PL_NEED_MORE);

	/* First record whole, second cut in its header or its body. */
	build_hs(&b, &c);
	n = wrap(b.b, b.n, two, rec, sizeof(rec));
	assert_int_equal(parse(rec, 105, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(rec, 107, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(rec, 111, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);

	/* A record shorter than the hello it claims to end, then nothing. */
	rec[3] = 0, rec[4] = 50;
	assert_int_equal(parse(rec, 55, &i), GP_PL_NEED_MORE);
	/* ... then a record header where hello bytes should be: inconsistent. */
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
}

/*
 * Each length field in turn: pointing past the buffer is malformed (a record
 * length past the data only means more must arrive); off by one either way
 * breaks the exact tiling of its enclosing vector. Inside extensions the
 * parser skips (key_share, supported_versions) only the extension's own
 * length is checked: their content is opaque and the hello still parses.
 */
static void test_tls_corrupt_each_length(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[8192], tmp[8192];
	struct gp_payload_info i;
	size_t n, f;

	(void)state;
	c.big = 300;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_true(b.nlens >= 15);
	/* Key share: its entries list, key; supported_versions: its list. */
	for (f = 0, n = 0; f < b.nlens; f++)
		n += b.len_opaque[f];
	assert_int_equal(n, 3);
	n = wrap(b.b, b.n, NULL, rec, sizeof(rec));

	for (f = 0; f < b.nlens; f++) {
		size_t at = b.len_at[f] + 5, w = b.len_w[f], v = 0, k, d;

		for (k = 0; k < w; k++)
			v = v << 8 | rec[at + k];
		for (d = 0; d < 4; d++) {
			size_t nv = d == 0 ? (1u << (8 * w)) - 1 : d == 1 ? v + 1 : d == 2 ? v - 1 : n;

			if ((d == 2 && v == 0) || nv == v || nv >= 1u << (8 * w))
				continue;
			memcpy(tmp, rec, n);
			for (k = 0; k < w; k++)
				tmp[at + k] = (uint8_t)(nv >> (8 * (w - 1 - k)));
			if (parse(tmp, n, &i) != (b.len_opaque[f] ? GP_PL_TLS : GP_PL_UNKNOWN))
				fail_msg("length field %zu (offset %zu, %zu bytes) %zu -> %zu: kind %d",
					 f, at, w, v, nv, i.kind);
		}
	}

	/*
	 * The record length. Longer than the data: the hello inside is whole,
	 * and what would follow it is not looked at. One short: the hello's last
	 * byte stands where a record header must. Past 2^14: not TLS.
	 */
	memcpy(tmp, rec, n);
	tmp[3] = (uint8_t)((n - 4) >> 8), tmp[4] = (uint8_t)(n - 4);
	assert_int_equal(parse(tmp, n, &i), GP_PL_TLS);
	tmp[3] = (uint8_t)((n - 6) >> 8), tmp[4] = (uint8_t)(n - 6);
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, n - 1, &i), GP_PL_NEED_MORE);
	tmp[3] = 0xff, tmp[4] = 0xff;
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
}

static void test_tls_hello_fields(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096], tmp[4096];
	struct gp_payload_info i;
	size_t n;
	/* Offsets in the record: 5 header, 4 handshake header, 2 version, 32 random. */
	const size_t ver = 9, sid = 43;

	(void)state;
	n = one_record(&c, &b, rec, sizeof(rec));

	memcpy(tmp, rec, n);
	tmp[ver] = 2;
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	/* Judged as soon as it is seen. */
	assert_int_equal(parse(tmp, ver + 2, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, ver + 1, &i), GP_PL_NEED_MORE);

	/* session_id longer than 32: caught even while the hello is incomplete. */
	memcpy(tmp, rec, n);
	tmp[sid] = 33;
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(tmp, sid + 1, &i), GP_PL_UNKNOWN);

	/* Odd cipher_suites length, no compression method. */
	memcpy(tmp, rec, n);
	tmp[sid + 1 + 32 + 1] |= 1;
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);
	memcpy(tmp, rec, n);
	tmp[sid + 1 + 32 + 2 + 8] = 0;
	assert_int_equal(parse(tmp, n, &i), GP_PL_UNKNOWN);

	/* A hello without extensions at all (pre-RFC 3546 clients). */
	{
		static const uint8_t old[] = {
			0x16, 0x03, 0x00, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29, 0x03, 0x00,
			1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
			0x00, 0x00, 0x02, 0x00, 0x0a, 0x01, 0x00,
		};
		expect_tls(old, sizeof(old), "tls", "", "");
		expect_prefixes(old, sizeof(old));
	}

	/* Two ALPN extensions: RFC 8446 4.2 forbids repeating a type. */
	build_hs(&b, &c);
	append_ext(&b, "\x00\x10\x00\x05\x00\x03\x02h2", 9);
	n = wrap(b.b, b.n, NULL, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	/* The same extension alone is fine: the construction is right. */
	c.has_alpn = 0;
	build_hs(&b, &c);
	append_ext(&b, "\x00\x10\x00\x05\x00\x03\x02h2", 9);
	n = wrap(b.b, b.n, NULL, rec, sizeof(rec));
	expect_tls(rec, n, "h2", "h2", "www.example.com");
}

static void test_tls_no_alpn(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	size_t n;

	(void)state;
	c.has_alpn = 0;
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_tls(rec, n, "tls", "", "www.example.com");
	c.sni = NULL;
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_tls(rec, n, "tls", "", "");
}

static void test_tls_zero_length_alpn_name(void **state)
{
	/* Decision: malformed (RFC 7301 3.1), like OpenSSL's decode_error. */
	static const struct name first[] = { NAME(""), NAME("h2") };
	static const struct name last[] = { NAME("h2"), NAME("") };
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	struct gp_payload_info i;
	size_t n;

	(void)state;
	c.alpn = first, c.n_alpn = 2;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	c.alpn = last;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	/* An empty protocol list is malformed too. */
	c.n_alpn = 0;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
}

static void test_tls_255_byte_names(void **state)
{
	uint8_t ascii[255], high[255];
	struct name alpn[2];
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	struct gp_payload_info i;
	char want[2048], *w;
	size_t n, k;

	(void)state;
	memset(ascii, 'a', sizeof(ascii));
	memset(high, 0xff, sizeof(high));
	alpn[0] = (struct name){ ascii, 255 };
	alpn[1] = (struct name){ high, 255 };
	c.alpn = alpn, c.n_alpn = 2;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);
	/* The tag is cut to GP_TAG_MAX; the offered list keeps what fits whole. */
	assert_int_equal(strlen(i.alpn), GP_TAG_MAX);
	assert_int_equal(strspn(i.alpn, "a"), GP_TAG_MAX);
	assert_int_equal(strlen(i.alpn_offered), 255);
	assert_int_equal(i.alpn_offered_truncated, 1);

	/* 0xff x255 first: 1020 bytes escaped, fits GP_ALPN_OFFERED_MAX. */
	alpn[0] = (struct name){ high, 255 };
	c.n_alpn = 1;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);
	for (w = want, k = 0; k < 255; k++, w += 4)
		memcpy(w, "\\xff", 4);
	*w = '\0';
	assert_string_equal(i.alpn_offered, want);
	assert_int_equal(i.alpn_offered_truncated, 0);
	want[GP_TAG_MAX] = '\0';
	assert_string_equal(i.alpn, want);
}

static void test_tls_non_ascii_alpn(void **state)
{
	/* As in the corpus' tls-non-ascii-alpn.pcap. */
	static const struct name alpn[] = { NAME("\xba\xad"), NAME("http/1.1"), NAME("a\\b\x7f,") };
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	size_t n;

	(void)state;
	c.alpn = alpn, c.n_alpn = 3;
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_tls(rec, n, "\\xba\\xad", "\\xba\\xad,http/1.1,a\\x5cb\\x7f,", "www.example.com");
}

static void test_tls_alpn_offered_bound(void **state)
{
	/* 300 names of 8 escaped bytes each: only whole names, in order. */
	static const uint8_t two[] = { 0x01, 0x02 };
	struct name alpn[300];
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[8192];
	struct gp_payload_info i;
	size_t n, k, len;

	(void)state;
	for (k = 0; k < 300; k++)
		alpn[k] = (struct name){ two, 2 };
	c.alpn = alpn, c.n_alpn = 300;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);
	assert_int_equal(i.alpn_offered_truncated, 1);
	len = strlen(i.alpn_offered);
	assert_true(len <= GP_ALPN_OFFERED_MAX);
	/* 113 names * 8 + 112 commas = 1016; the 114th would need 1025. */
	assert_int_equal(len, 113 * 8 + 112);
	for (k = 0; k < len; k += 9)
		assert_memory_equal(i.alpn_offered + k, "\\x01\\x02", 8);
	assert_string_equal(i.alpn, "\\x01\\x02");
}

static void test_tls_sni(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t rec[4096];
	struct gp_payload_info i;
	char longname[301];
	size_t n, len;

	(void)state;
	c.sni = "caf\xc3\xa9.example";
	n = one_record(&c, &b, rec, sizeof(rec));
	expect_tls(rec, n, "h2", "h2,http/1.1", "caf\\xc3\\xa9.example");

	/* Longer than GP_SNI_MAX once escaped: cut, flagged, never mid-escape. */
	memset(longname, 'x', 300);
	longname[300] = '\0';
	longname[253] = '\x01';
	c.sni = longname;
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);
	assert_int_equal(i.sni_truncated, 1);
	len = strlen(i.sni);
	assert_int_equal(len, 253);
	assert_int_equal(strspn(i.sni, "x"), 253);

	/* An empty host_name is malformed (RFC 6066: HostName<1..2^16-1>). */
	c.sni = "";
	n = one_record(&c, &b, rec, sizeof(rec));
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);

	/* The first host_name entry wins, after an entry of another type. */
	{
		static const uint8_t ext[] = {
			0x00, 0x00, 0x00, 0x14, 0x00, 0x12,
			0x07, 0x00, 0x03, 'o', 'd', 'd',
			0x00, 0x00, 0x03, 'a', '.', 'b',
			0x00, 0x00, 0x03, 'c', '.', 'd',
		};
		c.sni = NULL;
		build_hs(&b, &c);
		append_ext(&b, ext, sizeof(ext));
		n = wrap(b.b, b.n, NULL, rec, sizeof(rec));
		expect_tls(rec, n, "h2", "h2,http/1.1", "a.b");
	}
}

static void test_tls_too_big_for_kernel_buffer(void **state)
{
	struct ch c = chrome();
	struct bld b;
	uint8_t *rec = malloc(3 * GP_FIRST_PAYLOAD_MAX);
	struct gp_payload_info i;
	static const size_t small[] = { 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
					8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 0 };
	size_t frags[1200], n, k;

	(void)state;
	assert_non_null(rec);
	/* A hello that fits alone but not with the 5 bytes of each of ~1000 records. */
	c.big = 6000;
	build_hs(&b, &c);
	n = wrap(b.b, b.n, NULL, rec, 3 * GP_FIRST_PAYLOAD_MAX);
	assert_true(n < GP_FIRST_PAYLOAD_MAX);
	assert_int_equal(parse(rec, n, &i), GP_PL_TLS);
	for (k = 0; k < 1199; k++)
		frags[k] = 8;
	frags[k] = 0;
	n = wrap(b.b, b.n, frags, rec, 3 * GP_FIRST_PAYLOAD_MAX);
	assert_true(n > GP_FIRST_PAYLOAD_MAX);
	assert_int_equal(parse(rec, GP_FIRST_PAYLOAD_MAX - 1, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(rec, GP_FIRST_PAYLOAD_MAX, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(rec, n, &i), GP_PL_UNKNOWN);
	/* Small records of a small hello still work. */
	c.big = 0;
	build_hs(&b, &c);
	n = wrap(b.b, b.n, small, rec, 3 * GP_FIRST_PAYLOAD_MAX);
	expect_tls(rec, n, "h2", "h2,http/1.1", "www.example.com");
	free(rec);
}

/* ---- HTTP/1 and h2c ----------------------------------------------------- */

#define REQ "GET /index.html HTTP/1.1\r\nHost: example.com\r\nx-traffic-tag:  canary \t\r\n" \
	"User-Agent: t\r\n\r\nX-Body: no\r\n"

static void test_http1_header_lookup(void **state)
{
	static const char req[] = REQ;
	struct gp_payload_info i;
	const uint8_t *h;
	char val[64];

	(void)state;
	assert_int_equal(parse(req, sizeof(req) - 1, &i), GP_PL_HTTP1);
	assert_string_equal(i.http_method, "GET");
	assert_int_equal(i.http_minor, 1);
	assert_int_equal(i.hdr_off, 26);
	assert_int_equal(i.hdr_len, strlen("Host: example.com\r\nx-traffic-tag:  canary \t\r\n"
					   "User-Agent: t\r\n"));
	assert_int_equal(i.body_off, strlen(REQ) - strlen("X-Body: no\r\n"));
	h = (const uint8_t *)req + i.hdr_off;
	assert_int_equal(gp_http1_header(h, i.hdr_len, "X-Traffic-Tag", val, sizeof(val)), 1);
	assert_string_equal(val, "canary");
	assert_int_equal(gp_http1_header(h, i.hdr_len, "X-TRAFFIC-TAG", val, sizeof(val)), 1);
	assert_string_equal(val, "canary");
	assert_int_equal(gp_http1_header(h, i.hdr_len, "host", val, sizeof(val)), 1);
	assert_string_equal(val, "example.com");
	/* Whole names only; nothing past the blank line. */
	assert_int_equal(gp_http1_header(h, i.hdr_len, "X-Traffic", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header(h, i.hdr_len, "X-Traffic-Tags", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header(h, sizeof(req) - 1 - i.hdr_off, "X-Body", val,
					 sizeof(val)), 0);
	assert_int_equal(gp_http1_header(h, i.hdr_len, "", val, sizeof(val)), 0);
}

static void test_http1_incomplete_last_line(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Traffic-Tag: canary";
	struct gp_payload_info i;
	char val[64];
	size_t n = sizeof(req) - 1;

	(void)state;
	assert_int_equal(parse(req, n, &i), GP_PL_HTTP1);
	assert_int_equal(i.hdr_len, strlen("Host: a\r\n"));
	assert_int_equal(i.body_off, 0);
	/* Not found while its line may still grow: "canary" could be "canary-2". */
	assert_int_equal(gp_http1_header((const uint8_t *)req + i.hdr_off, n - i.hdr_off,
					 "X-Traffic-Tag", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header((const uint8_t *)"X-Traffic-Tag: canary\r", 22,
					 "X-Traffic-Tag", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header((const uint8_t *)"X-Traffic-Tag: canary\n", 22,
					 "X-Traffic-Tag", val, sizeof(val)), 1);
	assert_string_equal(val, "canary");
}

static void test_http1_header_edges(void **state)
{
	static const char blk[] =
		"X-A : space-before-colon\r\n"
		" X-B: folded\r\n"
		"X-C:\r\n"
		"X-D: caf\xc3\xa9 \\o/\r\n"
		"X-E: first\r\n"
		"X-E: second\r\n"
		"X-F: \x01\x01\x01\x01\x01\x01\r\n"
		"\r\n";
	const uint8_t *h = (const uint8_t *)blk;
	size_t n = sizeof(blk) - 1;
	char val[64], small[7];

	(void)state;
	assert_int_equal(gp_http1_header(h, n, "X-A", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header(h, n, "X-B", val, sizeof(val)), 0);
	assert_int_equal(gp_http1_header(h, n, "X-C", val, sizeof(val)), 1);
	assert_string_equal(val, "");
	assert_int_equal(gp_http1_header(h, n, "x-d", val, sizeof(val)), 1);
	assert_string_equal(val, "caf\\xc3\\xa9 \\x5co/");
	assert_int_equal(gp_http1_header(h, n, "X-E", val, sizeof(val)), 1);
	assert_string_equal(val, "first");
	/* A small buffer cuts before an escape, never inside one. */
	assert_int_equal(gp_http1_header(h, n, "X-F", small, sizeof(small)), 1);
	assert_string_equal(small, "\\x01");
	/* vlen 0: found, nothing written. */
	assert_int_equal(gp_http1_header(h, n, "X-F", NULL, 0), 1);
}

static void test_http1_request_lines(void **state)
{
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	};
	static const char *const bad[] = {
		"get / HTTP/1.1\r\n", "BREW / HTTP/1.1\r\n", "GET  / HTTP/1.1\r\n",
		"GET / HTTP/2.0\r\n", "GET / HTTP/1.x\r\n", "GET / HTTP/1.11\r\n",
		"GET / HTTP/1.1\rX", "GET /a\tb HTTP/1.1\r\n", "GET\r\n", "GETS / HTTP/1.1\r\n",
		"PRI * HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", "OPTIONSX * HTTP/1.1\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n", " GET / HTTP/1.1\r\n",
	};
	struct gp_payload_info i;
	char line[128];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		snprintf(line, sizeof(line), "%s /x HTTP/1.0\r\n", methods[k]);
		assert_int_equal(parse(line, strlen(line), &i), GP_PL_HTTP1);
		assert_string_equal(i.http_method, methods[k]);
		/* 1.0 and 1.1 share one tag. */
		assert_string_equal(i.alpn, "http/1.1");
		assert_int_equal(i.http_minor, 0);
	}
#define CL(s, want) assert_int_equal(parse(s, strlen(s), &i), want)
	CL("CONNECT a.example:443 HTTP/1.1\r\n", GP_PL_HTTP1);
	CL("OPTIONS * HTTP/1.1\n", GP_PL_HTTP1);		/* bare LF */
	CL("GET /caf\xc3\xa9 HTTP/1.1\r\n", GP_PL_HTTP1);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (parse(bad[k], strlen(bad[k]), &i) != GP_PL_UNKNOWN)
			fail_msg("\"%s\": kind %d", bad[k], i.kind);
	}
}

static void test_http1_prefixes(void **state)
{
	static const char req[] = "OPTIONS /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char *const starts[] = { "P", "PA", "PATC", "C", "CONNEC", "D", "T", "H" };
	struct gp_payload_info i;
	size_t p, line = strlen("OPTIONS /index.html HTTP/1.1\r\n");

	(void)state;
	for (p = 0; p < line; p++)
		if (parse(req, p, &i) != GP_PL_NEED_MORE)
			fail_msg("prefix %zu: kind %d", p, i.kind);
	for (p = line; p <= sizeof(req) - 1; p++)
		assert_int_equal(parse(req, p, &i), GP_PL_HTTP1);
	for (p = 0; p < sizeof(starts) / sizeof(starts[0]); p++)
		assert_int_equal(parse(starts[p], strlen(starts[p]), &i), GP_PL_NEED_MORE);
}

static void test_http1_too_long_for_kernel_buffer(void **state)
{
	size_t n = GP_FIRST_PAYLOAD_MAX + 100;
	char *req = malloc(n);
	struct gp_payload_info i;

	(void)state;
	assert_non_null(req);
	memset(req, 'a', n);
	memcpy(req, "GET /", 5);
	assert_int_equal(parse(req, GP_FIRST_PAYLOAD_MAX - 1, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse(req, GP_FIRST_PAYLOAD_MAX, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse(req, n, &i), GP_PL_UNKNOWN);
	/* A long but complete request line stays HTTP/1, headers cut at the cap. */
	memcpy(req + 4000, " HTTP/1.1\r\nX: y\r\n", 17);
	assert_int_equal(parse(req, n, &i), GP_PL_HTTP1);
	assert_int_equal(i.hdr_off, 4011);
	assert_int_equal(i.hdr_len, 6);
	free(req);
}

static void test_h2c_preface(void **state)
{
	static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct gp_payload_info i;
	size_t p;

	(void)state;
	for (p = 0; p < 24; p++)
		if (parse(pre, p, &i) != GP_PL_NEED_MORE)
			fail_msg("prefix %zu: kind %d", p, i.kind);
	assert_int_equal(parse(pre, 24, &i), GP_PL_H2C);
	assert_string_equal(i.alpn, "h2c");
	assert_int_equal(parse(pre, sizeof(pre) - 1, &i), GP_PL_H2C);
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", 24, &i), GP_PL_UNKNOWN);
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nS", 19, &i), GP_PL_NEED_MORE);
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nX", 19, &i), GP_PL_UNKNOWN);
}

static void test_empty_and_random(void **state)
{
	struct gp_payload_info i;
	uint8_t buf[256];
	size_t k, j;

	(void)state;
	assert_int_equal(parse(NULL, 0, &i), GP_PL_NEED_MORE);
	assert_string_equal(i.alpn, "");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(parse(buf, sizeof(buf), &i), GP_PL_UNKNOWN);
	assert_string_equal(i.alpn, "unknown");

	rng_state = 0x9e3779b97f4a7c15ull;
	for (k = 0; k < 20000; k++) {
		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)rnd();
		if (parse(buf, sizeof(buf), &i) != GP_PL_UNKNOWN)
			fail_msg("random buffer %zu: kind %d", k, i.kind);
	}
}

/* ---- sanitizer ---------------------------------------------------------- */

static void test_sanitize_label(void **state)
{
	static const uint8_t in[] = "ab\\c\xff d\x00~\x7f";
	const char full[] = "ab\\x5cc\\xff d\\x00~\\x7f";
	char out[64];
	size_t max, r;

	(void)state;
	assert_int_equal(gp_sanitize_label(in, sizeof(in) - 1, out, sizeof(out) - 1), strlen(full));
	assert_string_equal(out, full);
	/* Every cap: a prefix of the full output that ends on an item boundary. */
	for (max = 0; max <= strlen(full) + 2; max++) {
		memset(out, '#', sizeof(out));
		r = gp_sanitize_label(in, sizeof(in) - 1, out, max);
		assert_true(r <= max);
		assert_int_equal(strlen(out), r);
		assert_memory_equal(out, full, r);
		assert_true(r == strlen(full) || max - r < (full[r] == '\\' ? 4u : 1u));
		assert_true(r == 0 || out[r - 1] != '\\');
		assert_label(out, r + 1);
	}
	assert_int_equal(gp_sanitize_label(in, 0, out, 10), 0);
	assert_string_equal(out, "");
}

static void test_sanitize_random(void **state)
{
	uint8_t in[64];
	char full[257], out[257];
	size_t k, j, n, flen, max, r;

	(void)state;
	rng_state = 42;
	for (k = 0; k < 5000; k++) {
		n = rnd() % sizeof(in);
		for (j = 0; j < n; j++)
			in[j] = (uint8_t)(rnd() % 3 ? 0x20 + rnd() % 0x60 : rnd());
		flen = gp_sanitize_label(in, n, full, sizeof(full) - 1);
		max = rnd() % (flen + 2);
		r = gp_sanitize_label(in, n, out, max);
		assert_true(r <= max);
		assert_memory_equal(out, full, r);
		assert_label(out, r + 1);
		assert_true(r == flen || max - r < (full[r] == '\\' ? 4u : 1u));
	}
}

/* ---- fuzz ---------------------------------------------------------------- */

static void same_result(const struct gp_payload_info *a, const struct gp_payload_info *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->alpn, b->alpn);
	assert_string_equal(a->alpn_offered, b->alpn_offered);
	assert_string_equal(a->sni, b->sni);
}

/*
 * Mutates valid hellos (bit flips, byte sets, length-field overwrites,
 * truncation) and checks: no crash or overread (ASan), sane outputs, and that
 * a prefix never contradicts the whole: a prefix judged malformed stays
 * malformed, a whole hello means each prefix needed more.
 */
static void test_fuzz_client_hello(void **state)
{
	static const struct name alpn[] = {
		NAME("\x2a\x2a"), NAME("h2"), NAME("\xba\xad"), NAME("http/1.1"),
	};
	struct bld base[3];
	uint8_t recs[3][8192], *buf;
	size_t lens[3], iter, hits[GP_PL_UNKNOWN + 1] = { 0 };
	static const size_t three[] = { 3, 300, 0 };

	(void)state;
	for (iter = 0; iter < 3; iter++) {
		struct ch c = chrome();

		c.alpn = alpn, c.n_alpn = 4;
		c.big = iter == 2 ? 1200 : 0;
		build_hs(&base[iter], &c);
		lens[iter] = wrap(base[iter].b, base[iter].n, iter == 1 ? three : NULL,
				  recs[iter], sizeof(recs[iter]));
	}

	rng_state = 0x5eed;
	for (iter = 0; iter < 200000; iter++) {
		unsigned which = rnd() % 3, muts = 1 + rnd() % 4, m;
		const struct bld *b = &base[which];
		struct gp_payload_info full, part;
		size_t len = lens[which], p;
		enum gp_payload_kind k;

		buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, recs[which], len);
		for (m = 0; m < muts && len; m++) {
			switch (rnd() % 4) {
			case 0:
				buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 1:
				buf[rnd() % len] = (uint8_t)rnd();
				break;
			case 2: {
				/* Length fields only exist at these offsets in the single-record forms. */
				size_t f = rnd() % b->nlens, at = b->len_at[f] + 5, w = b->len_w[f];
				uint32_t v = rnd();

				if (which == 1)
					break;
				if (rnd() % 2)
					v = (uint32_t)(buf[at + w - 1] + (rnd() % 5) - 2);
				buf[at + w - 1] = (uint8_t)v;
				if (w > 1 && rnd() % 4 == 0)
					buf[at] = (uint8_t)(v >> 8);
				break;
			}
			default:
				len = rnd() % (len + 1);
				break;
			}
		}
		k = gp_payload_parse(buf, len, &full);
		assert_int_equal(k, full.kind);
		assert_info_sane(&full);
		hits[k]++;

		p = len ? rnd() % len : 0;
		gp_payload_parse(buf, p, &part);
		assert_info_sane(&part);
		/* Bytes after a complete hello are not looked at: same answer. */
		if (part.kind == GP_PL_UNKNOWN && k != GP_PL_UNKNOWN)
			fail_msg("iteration %zu: prefix %zu of %zu is malformed, the whole is kind %d",
				 iter, p, len, k);
		else if (part.kind != GP_PL_NEED_MORE && part.kind != GP_PL_UNKNOWN)
			same_result(&part, &full);
		{
			char val[16];

			gp_http1_header(buf, len, "h2", val, sizeof(val));
		}
		free(buf);
	}
	/* The mutations must reach every outcome, or they test nothing deep. */
	print_message("fuzz: %zu TLS, %zu need-more, %zu unknown of 200000\n",
		      hits[GP_PL_TLS], hits[GP_PL_NEED_MORE], hits[GP_PL_UNKNOWN]);
	assert_true(hits[GP_PL_TLS] > 1000);
	assert_true(hits[GP_PL_NEED_MORE] > 1000);
	assert_true(hits[GP_PL_UNKNOWN] > 1000);
}

static void test_fuzz_http1(void **state)
{
	static const char req[] = REQ;
	struct gp_payload_info full, part;
	uint8_t *buf;
	size_t iter;

	(void)state;
	rng_state = 0x4854;
	for (iter = 0; iter < 50000; iter++) {
		size_t len = sizeof(req) - 1, p, m;
		char val[8];

		buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, req, len);
		for (m = 1 + rnd() % 3; m && len; m--) {
			if (rnd() % 3)
				buf[rnd() % len] = rnd() % 2 ? (uint8_t)rnd() : (uint8_t)"\r\n :"[rnd() % 4];
			else
				len = rnd() % (len + 1);
		}
		gp_payload_parse(buf, len, &full);
		assert_info_sane(&full);
		p = len ? rnd() % len : 0;
		gp_payload_parse(buf, p, &part);
		if (part.kind == GP_PL_UNKNOWN)
			assert_int_equal(full.kind, GP_PL_UNKNOWN);
		else if (part.kind != GP_PL_NEED_MORE)
			assert_int_equal(part.kind, full.kind);
		if (full.kind == GP_PL_HTTP1) {
			assert_true(full.hdr_off + full.hdr_len <= len);
			if (gp_http1_header(buf + full.hdr_off, full.hdr_len, "x-traffic-tag", val,
					    sizeof(val)))
				assert_label(val, sizeof(val));
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest test_payload[] = {
		cmocka_unit_test(test_tls_grease_alpn_and_ext),
		cmocka_unit_test(test_tls_alpn_after_big_key_share),
		cmocka_unit_test(test_tls_split_records),
		cmocka_unit_test(test_tls_every_prefix),
		cmocka_unit_test(test_tls_record_layer),
		cmocka_unit_test(test_tls_truncated_records),
		cmocka_unit_test(test_tls_corrupt_each_length),
		cmocka_unit_test(test_tls_hello_fields),
		cmocka_unit_test(test_tls_no_alpn),
		cmocka_unit_test(test_tls_zero_length_alpn_name),
		cmocka_unit_test(test_tls_255_byte_names),
		cmocka_unit_test(test_tls_non_ascii_alpn),
		cmocka_unit_test(test_tls_alpn_offered_bound),
		cmocka_unit_test(test_tls_sni),
		cmocka_unit_test(test_tls_too_big_for_kernel_buffer),
		cmocka_unit_test(test_http1_header_lookup),
		cmocka_unit_test(test_http1_incomplete_last_line),
		cmocka_unit_test(test_http1_header_edges),
		cmocka_unit_test(test_http1_request_lines),
		cmocka_unit_test(test_http1_prefixes),
		cmocka_unit_test(test_http1_too_long_for_kernel_buffer),
		cmocka_unit_test(test_h2c_preface),
		cmocka_unit_test(test_empty_and_random),
		cmocka_unit_test(test_sanitize_label),
		cmocka_unit_test(test_sanitize_random),
		cmocka_unit_test(test_fuzz_client_hello),
		cmocka_unit_test(test_fuzz_http1),
	};

	return cmocka_run_group_tests(test_payload, NULL, NULL);
}
