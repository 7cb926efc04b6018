// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Frame splitting for replay: a GRO/TSO-sized TCP frame becomes consecutive
 * segments that each fit, with IP lengths and TCP sequence numbers right and
 * the payload intact; anything else oversized is refused whole.
 * Addresses are from 198.18.0.0/15 and fd00:198:18::/48 only.
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
#include <cmocka.h>

#include "input/pktsplit.h"

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10
#define TH_URG	0x20

#define FRAME_LEN	7900
#define ISN		0xfffff000u	/* the sequence space wraps inside the frame */

/* ---- frames ------------------------------------------------------------- */

struct frame {
	uint8_t b[16384];
	size_t len;
	size_t l3, l4, pl;	/* IP header, TCP header, payload offsets */
	int v6;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct spec {
	int v6;
	unsigned vlans;		/* 0..2 tags: 802.1ad outer, 802.1Q inner */
	unsigned ip_opt;	/* IPv4 option bytes (multiple of 4) */
	int v6_ext;		/* hop-by-hop and destination options headers */
	unsigned tcp_opt;	/* TCP option bytes (multiple of 4) */
	uint8_t flags;
	uint8_t proto;		/* 0: TCP */
	size_t len;		/* whole frame */
	size_t trailer;		/* Ethernet padding after the IP packet */
};

static uint8_t pay(size_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 8));
}

/* Ethernet [VLAN...] IPv4|IPv6 [ext] TCP payload, spec.len bytes in all. */
static void build(struct frame *f, const struct spec *s)
{
	uint8_t *b = f->b;
	size_t o = 12, iplen, i, hl;

	memset(f, 0, sizeof(*f));
	assert_true(s->len <= sizeof(f->b));
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (s->vlans >= 2) {
		put16(b + o, 0x88a8), put16(b + o + 2, 100);
		o += 4;
	}
	if (s->vlans >= 1) {
		put16(b + o, 0x8100), put16(b + o + 2, 0x2000 | 42);
		o += 4;
	}
	put16(b + o, s->v6 ? 0x86dd : 0x0800);
	o += 2;
	f->l3 = o;
	f->v6 = s->v6;
	iplen = s->len - s->trailer - o;	/* the IP packet */
	if (!s->v6) {
		hl = 20 + s->ip_opt;
		b[o] = (uint8_t)(0x40 | hl / 4);
		put16(b + o + 2, (unsigned)iplen);
		put16(b + o + 4, 0x1234);		/* id */
		put16(b + o + 6, 0x4000);		/* DF */
		b[o + 8] = 64;
		b[o + 9] = s->proto ? s->proto : 6;
		memcpy(b + o + 12, "\xc6\x12\x00\x01", 4);	/* 198.18.0.1 */
		memcpy(b + o + 16, "\xc6\x13\x00\x02", 4);	/* 198.19.0.2 */
		for (i = 20; i < hl; i++)
			b[o + i] = 1;			/* NOP options */
		o += hl;
	} else {
		uint8_t nh = s->proto ? s->proto : 6;

		b[o] = 0x60;
		put16(b + o + 4, (unsigned)(iplen - 40));
		b[o + 6] = s->v6_ext ? 0 : nh;
		b[o + 7] = 64;
		assert_int_equal(inet_pton(AF_INET6, "fd00:198:18::1", b + o + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, "fd00:198:18::2", b + o + 24), 1);
		o += 40;
		if (s->v6_ext) {
			/* Hop-by-hop, 8 bytes: PadN. */
			b[o] = 60, b[o + 1] = 0, b[o + 2] = 1, b[o + 3] = 4;
			o += 8;
			/* Destination options, 16 bytes: PadN. */
			b[o] = nh, b[o + 1] = 1, b[o + 2] = 1, b[o + 3] = 12;
			o += 16;
		}
	}
	f->l4 = o;
	put16(b + o, 40001);
	put16(b + o + 2, 443);
	put32(b + o + 4, ISN);
	put32(b + o + 8, 0x01020304);
	b[o + 12] = (uint8_t)(((20 + s->tcp_opt) / 4) << 4);
	b[o + 13] = s->flags;
	put16(b + o + 14, 65535);
	put16(b + o + 16, 0xabcd);			/* checksum: left alone */
	for (i = 20; i < 20 + s->tcp_opt; i++)
		b[o + i] = 1;
	o += 20 + s->tcp_opt;
	f->pl = o;
	assert_true(o < s->len - s->trailer);
	for (i = o; i < s->len - s->trailer; i++)
		b[i] = pay(i - o);
	for (; i < s->len; i++)
		b[i] = 0xee;				/* trailer */
	f->len = s->len;
}

/* ---- what the splitter hands out ---------------------------------------- */

#define MAX_PIECES	64

static struct {
	uint8_t *p[MAX_PIECES];
	size_t len[MAX_PIECES];
	const uint8_t *ptr[MAX_PIECES];
	size_t n;
	size_t fail_at;		/* 1-based call that returns fail_rc; 0 never */
	int fail_rc;
} got;

static int collect(void *ctx, const uint8_t *frame, size_t len)
{
	assert_ptr_equal(ctx, &got);
	assert_true(got.n < MAX_PIECES);
	got.p[got.n] = malloc(len ? len : 1);
	assert_non_null(got.p[got.n]);
	memcpy(got.p[got.n], frame, len);
	got.len[got.n] = len;
	got.ptr[got.n] = frame;
	got.n++;
	return got.fail_at && got.n == got.fail_at ? got.fail_rc : 0;
}

static int reset(void **state)
{
	(void)state;
	while (got.n) {
		got.n--;
		free(got.p[got.n]);
	}
	memset(&got, 0, sizeof(got));
	return 0;
}

/*
 * The pieces of f, cut at max_len: each fits, keeps every header byte but
 * the IP length, TCP sequence and flags, which are right for its share; the
 * payloads end to end are the original's.
 */
static void check_pieces(const struct frame *f, size_t max_len, size_t plen)
{
	uint8_t flags = f->b[f->l4 + 13];
	size_t room = max_len - f->pl, want = (plen + room - 1) / room, done = 0, i;
	uint32_t seq0 = get32(f->b + f->l4 + 4);

	if (!want)
		want = 1;
	assert_int_equal(got.n, want);
	for (i = 0; i < got.n; i++) {
		const uint8_t *p = got.p[i];
		size_t len = got.len[i], n = len - f->pl;
		uint8_t pf = p[f->l4 + 13];
		int first = i == 0, last = i == got.n - 1;
		uint32_t seq = seq0 + (uint32_t)done + (!first && (flags & TH_SYN) ? 1 : 0);

		if (len > max_len)
			fail_msg("piece %zu: %zu bytes > %zu", i, len, max_len);
		assert_true(len > f->pl);
		/* Only the last may be short: no piece wasted. */
		if (!last)
			assert_int_equal(len, max_len);
		/* Link, IP and TCP headers as they were, but for the fields fixed up. */
		assert_memory_equal(p, f->b, f->l3);
		if (f->v6) {
			assert_memory_equal(p + f->l3, f->b + f->l3, 4);
			assert_int_equal(get16(p + f->l3 + 4), len - f->l3 - 40);
			assert_memory_equal(p + f->l3 + 6, f->b + f->l3 + 6, f->l4 - f->l3 - 6);
		} else {
			assert_memory_equal(p + f->l3, f->b + f->l3, 2);
			assert_int_equal(get16(p + f->l3 + 2), len - f->l3);
			assert_memory_equal(p + f->l3 + 4, f->b + f->l3 + 4, f->l4 - f->l3 - 4);
		}
		assert_memory_equal(p + f->l4, f->b + f->l4, 4);		/* ports */
		assert_int_equal(get32(p + f->l4 + 4), seq);
		assert_memory_equal(p + f->l4 + 8, f->b + f->l4 + 8, 5);	/* ack, offset */
		assert_memory_equal(p + f->l4 + 14, f->b + f->l4 + 14, f->pl - f->l4 - 14);
		/* SYN only on the first; FIN, RST, PSH only on the last; the rest everywhere. */
		assert_int_equal(pf & TH_SYN, first ? flags & TH_SYN : 0);
		assert_int_equal(pf & (TH_FIN | TH_RST | TH_PSH),
				 last ? flags & (TH_FIN | TH_RST | TH_PSH) : 0);
		assert_int_equal(pf & ~(TH_SYN | TH_FIN | TH_RST | TH_PSH),
				 flags & ~(TH_SYN | TH_FIN | TH_RST | TH_PSH));
		/* The payload continues where the previous piece stopped. */
		assert_true(done + n <= plen);
		assert_memory_equal(p + f->pl, f->b + f->pl + done, n);
		done += n;
	}
	assert_int_equal(done, plen);
}

static void split_ok(const struct frame *f, size_t max_len, size_t plen)
{
	int rc = gp_frame_split(f->b, f->len, max_len, collect, &got);

	if (rc < 0)
		fail_msg("split refused: %d", rc);
	assert_int_equal((size_t)rc, got.n);
	check_pieces(f, max_len, plen);
}

/* ---- tests -------------------------------------------------------------- */

static void test_small_frames_pass_through_unchanged(void **state)
{
	static const struct spec s = { .flags = TH_ACK | TH_PSH, .len = 1514 };
	static struct frame f;
	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					 0x08, 0x06 };

	(void)state;
	build(&f, &s);
	assert_int_equal(gp_frame_split(f.b, f.len, 1514, collect, &got), 1);
	assert_int_equal(got.n, 1);
	assert_ptr_equal(got.ptr[0], f.b);	/* the caller's bytes, not a copy */
	assert_int_equal(got.len[0], 1514);
	assert_memory_equal(got.p[0], f.b, 1514);

	/* Whatever it is: only oversized frames are looked into. */
	assert_int_equal(gp_frame_split(arp, sizeof(arp), 3584, collect, &got), 1);
	assert_int_equal(got.n, 2);
	assert_ptr_equal(got.ptr[1], arp);
	assert_int_equal(got.len[1], sizeof(arp));
	assert_int_equal(gp_frame_split(arp, 3, 3584, collect, &got), 1);
	assert_int_equal(got.len[2], 3);
}

static void test_ipv4_split(void **state)
{
	static const struct spec s = {
		.flags = TH_ACK | TH_PSH | TH_FIN, .len = FRAME_LEN,
	};
	static struct frame f;
	size_t plen;

	(void)state;
	build(&f, &s);
	plen = f.len - f.pl;
	split_ok(&f, 3584, plen);
	assert_int_equal(got.n, 3);
	reset(NULL);
	split_ok(&f, 1514, plen);
	assert_int_equal(got.n, 6);
	reset(NULL);
	/* A limit that is no round number. */
	split_ok(&f, f.pl + 1000, plen);
	reset(NULL);
	/* A limit one byte under the frame: two pieces, the second of one byte. */
	split_ok(&f, f.len - 1, plen);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.len[1], f.pl + 1);
}

static void test_ipv4_syn_with_data_split(void **state)
{
	/* TCP Fast Open: the SYN takes a sequence number before the first data byte. */
	static const struct spec s = { .flags = TH_SYN | TH_URG, .len = FRAME_LEN,
				       .tcp_opt = 12 };
	static struct frame f;

	(void)state;
	build(&f, &s);
	split_ok(&f, 3584, f.len - f.pl);
	assert_int_equal(get32(got.p[1] + f.l4 + 4), ISN + 1 + (3584 - f.pl));
}

static void test_ipv6_with_extension_headers_split(void **state)
{
	static const struct spec s = {
		.v6 = 1, .v6_ext = 1, .flags = TH_ACK | TH_PSH, .len = FRAME_LEN,
	};
	static struct frame f;

	(void)state;
	build(&f, &s);
	assert_int_equal(f.l4 - f.l3, 40 + 8 + 16);
	split_ok(&f, 3584, f.len - f.pl);
	assert_int_equal(got.n, 3);
	/* The payload length counts the extension headers. */
	assert_int_equal(get16(got.p[0] + f.l3 + 4), 3584 - f.l3 - 40);
	reset(NULL);
	split_ok(&f, 1500, f.len - f.pl);
}

static void test_vlan_tagged_split(void **state)
{
	static const struct spec v4 = {
		.vlans = 1, .ip_opt = 4, .tcp_opt = 12, .flags = TH_ACK | TH_RST, .len = FRAME_LEN,
	};
	static const struct spec qinq6 = {
		.vlans = 2, .v6 = 1, .v6_ext = 1, .flags = TH_ACK | TH_FIN, .len = FRAME_LEN,
	};
	static struct frame f;

	(void)state;
	build(&f, &v4);
	assert_int_equal(f.l3, 18);
	assert_int_equal(f.l4, 18 + 24);
	split_ok(&f, 3584, f.len - f.pl);
	assert_int_equal(got.n, 3);
	reset(NULL);
	build(&f, &qinq6);
	assert_int_equal(f.l3, 22);
	split_ok(&f, 2048, f.len - f.pl);
	assert_int_equal(got.n, 5);
}

static void test_ethernet_trailer_dropped(void **state)
{
	static const struct spec s = { .flags = TH_ACK, .len = FRAME_LEN, .trailer = 6 };
	static struct frame f;

	(void)state;
	build(&f, &s);
	/* Pieces carry the IP packet's payload; the padding after it is no TCP data. */
	split_ok(&f, 3584, f.len - 6 - f.pl);
}

static void refused(const struct frame *f, size_t max_len)
{
	assert_int_equal(gp_frame_split(f->b, f->len, max_len, collect, &got), -EMSGSIZE);
	assert_int_equal(got.n, 0);
}

static void test_non_tcp_oversized_refused(void **state)
{
	static const struct spec udp4 = { .proto = 17, .len = FRAME_LEN };
	static const struct spec udp6 = { .v6 = 1, .v6_ext = 1, .proto = 17, .len = FRAME_LEN };
	static struct frame f;

	(void)state;
	build(&f, &udp4);
	refused(&f, 3584);
	build(&f, &udp6);
	refused(&f, 3584);
	/* ARP, or anything that is not IP. */
	build(&f, &(struct spec){ .flags = TH_ACK, .len = FRAME_LEN });
	put16(f.b + 12, 0x0806);
	refused(&f, 3584);
}

static void test_fragments_refused(void **state)
{
	static const struct spec s = { .flags = TH_ACK, .len = FRAME_LEN };
	static const struct spec s6 = { .v6 = 1, .flags = TH_ACK, .len = FRAME_LEN };
	static struct frame f;

	(void)state;
	build(&f, &s);
	put16(f.b + f.l3 + 6, 0x2000);		/* MF */
	refused(&f, 3584);
	put16(f.b + f.l3 + 6, 0x0001);		/* offset 8 */
	refused(&f, 3584);
	put16(f.b + f.l3 + 6, 0x4000);		/* DF alone is fine */
	assert_true(gp_frame_split(f.b, f.len, 3584, collect, &got) > 1);
	reset(NULL);

	/* A first IPv6 fragment (offset 0, more to come) of a TCP segment. */
	build(&f, &s6);
	memmove(f.b + f.l4 + 8, f.b + f.l4, f.len - f.l4);
	f.len += 8;
	memcpy(f.b + f.l4, "\x06\x00\x00\x01\x12\x34\x56\x78", 8);
	f.b[f.l3 + 6] = 44;
	put16(f.b + f.l3 + 4, (unsigned)(f.len - f.l3 - 40));
	refused(&f, 3584);
	/* The same 8 bytes as a destination options header are followed. */
	f.b[f.l3 + 6] = 60;
	f.b[f.l4] = 6, f.b[f.l4 + 1] = 0, f.b[f.l4 + 2] = 1, f.b[f.l4 + 3] = 4;
	assert_true(gp_frame_split(f.b, f.len, 3584, collect, &got) > 1);
	reset(NULL);
	/* AH (its length counts 4-byte words): not followed either. */
	f.b[f.l3 + 6] = 51;
	refused(&f, 3584);
}

static void test_truncated_or_inconsistent_headers_refused(void **state)
{
	static const struct spec s = { .flags = TH_ACK, .len = FRAME_LEN };
	static const struct spec s6 = { .v6 = 1, .v6_ext = 1, .flags = TH_ACK, .len = FRAME_LEN };
	static struct frame f;

	(void)state;
	/* The IP packet claims more than the capture holds. */
	build(&f, &s);
	put16(f.b + f.l3 + 2, FRAME_LEN);
	refused(&f, 3584);
	/* IHL under 20 bytes, IHL past the total length, wrong version. */
	build(&f, &s);
	f.b[f.l3] = 0x44;
	refused(&f, 3584);
	build(&f, &s);
	put16(f.b + f.l3 + 2, 16);
	refused(&f, 3584);
	build(&f, &s);
	f.b[f.l3] = 0x65;
	refused(&f, 3584);
	/* TCP data offset under 5 words, or past the IP packet. */
	build(&f, &s);
	f.b[f.l4 + 12] = 0x40;
	refused(&f, 3584);
	build(&f, &s);
	put16(f.b + f.l3 + 2, 20 + 30);
	f.b[f.l4 + 12] = 0xf0;
	refused(&f, 3584);
	/* Headers alone do not fit the limit. */
	build(&f, &s);
	refused(&f, f.pl);
	refused(&f, 40);

	/* IPv6: payload length past the frame, an extension header past it. */
	build(&f, &s6);
	put16(f.b + f.l3 + 4, FRAME_LEN);
	refused(&f, 3584);
	build(&f, &s6);
	f.b[f.l3 + 40 + 8 + 1] = 255;		/* destination options of 2 KiB */
	put16(f.b + f.l3 + 4, 100);
	refused(&f, 3584);
	build(&f, &s6);
	f.b[f.l3] = 0x45;
	refused(&f, 3584);
	/* Cut inside the headers, yet over the limit. */
	build(&f, &s);
	assert_int_equal(gp_frame_split(f.b, 20, 14, collect, &got), -EMSGSIZE);
	assert_int_equal(gp_frame_split(f.b, 13, 12, collect, &got), -EMSGSIZE);
	assert_int_equal(got.n, 0);
}

static void test_callback_error_propagates(void **state)
{
	static const struct spec s = { .flags = TH_ACK, .len = FRAME_LEN };
	static struct frame f;

	(void)state;
	build(&f, &s);
	got.fail_at = 2;
	got.fail_rc = -EPIPE;
	assert_int_equal(gp_frame_split(f.b, f.len, 3584, collect, &got), -EPIPE);
	/* No piece after the one that failed. */
	assert_int_equal(got.n, 2);
	reset(NULL);

	/* A frame that needs no split reports the error too. */
	got.fail_at = 1;
	got.fail_rc = -EIO;
	assert_int_equal(gp_frame_split(f.b, 100, 3584, collect, &got), -EIO);
	assert_int_equal(got.n, 1);
	reset(NULL);

	/* A positive return is not an error. */
	got.fail_at = 1;
	got.fail_rc = 7;
	assert_int_equal(gp_frame_split(f.b, f.len, 3584, collect, &got), 3);
	assert_int_equal(got.n, 3);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, reset)
	const struct CMUnitTest test_pktsplit[] = {
		T(test_small_frames_pass_through_unchanged),
		T(test_ipv4_split),
		T(test_ipv4_syn_with_data_split),
		T(test_ipv6_with_extension_headers_split),
		T(test_vlan_tagged_split),
		T(test_ethernet_trailer_dropped),
		T(test_non_tcp_oversized_refused),
		T(test_fragments_refused),
		T(test_truncated_or_inconsistent_headers_refused),
		T(test_callback_error_propagates),
	};

	return cmocka_run_group_tests(test_pktsplit, NULL, NULL);
}
