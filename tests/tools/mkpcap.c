// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test tool: writes a capture of crafted TCP flows for `grayprobe replay`,
 * one flow (or one set of bad frames) per scenario:
 *
 *   mkpcap [-i] FILE SCENARIO...   SCENARIO "all" means every one
 *   mkpcap --list                  one line per scenario: NAME CLIENT_PORT
 *
 * The file is classic pcap, written by hand (no libpcap): the nanosecond
 * magic 0xa1b23c4d in this host's byte order, link type Ethernet. Frame k
 * (1-based, over the whole file) is stamped 2024-01-01T00:00:00Z plus
 * k ms plus k ns, so a timestamp names its frame. Scenarios follow one
 * another, or with -i their frames are interleaved round-robin (each
 * scenario's own order kept).
 *
 * Flows go from 198.18.7.1 (fd00:198:18:7::1) port 40000 + the scenario's
 * number to 198.19.7.2 (fd00:198:18:7::2) port 443 (80 for HTTP, 25 for
 * SMTP). Checksums are left 0: nothing on the replay path checks them. The
 * handshake frames come from the connection's side that sends them; a
 * client stream's offset 0 is the first byte after its SYN.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME_MAX	16384
#define HS_MAX		12000
#define TS_BASE_SEC	1704067200u	/* 2024-01-01T00:00:00Z */

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

struct frame {
	uint8_t *data;
	size_t len;
};

struct list {
	struct frame *f;
	size_t n, cap;
};

static struct list *cur;	/* the scenario being built */

struct flow {
	int v6;
	uint8_t c[16], s[16];
	uint16_t cport, sport;
	uint32_t cisn, sisn;
	uint32_t cbase;		/* sequence number of client stream offset 0 */
	uint32_t cnext, snext;
	int vlan;		/* 0; 1: 802.1Q; 2: 802.1ad outside 802.1Q */
	int ipopts;		/* bytes of IPv4 options, a multiple of 4 */
	int v6ext;		/* hop-by-hop and destination options before TCP */
};

/* Quirks of one frame. */
struct quirk {
	int doff;		/* TCP data offset field; 0: 5 (the header is 20 bytes anyway) */
	unsigned frag;		/* IPv4 fragment offset, in 8-byte units */
	size_t ip_extra;	/* IP length claims this many bytes more than follow */
};

static void die(const char *msg)
{
	fprintf(stderr, "mkpcap: %s\n", msg);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

static void add_frame(const uint8_t *d, size_t len)
{
	struct frame *fr;

	if (cur->n == cur->cap) {
		cur->cap = cur->cap ? 2 * cur->cap : 16;
		cur->f = xrealloc(cur->f, cur->cap * sizeof(*cur->f));
	}
	fr = &cur->f[cur->n++];
	fr->data = xrealloc(NULL, len ? len : 1);
	memcpy(fr->data, d, len);
	fr->len = len;
}

static void be16(uint8_t *p, unsigned v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v & 0xffff);
}

/* ---- frames ---------------------------------------------------------- */

/* One TCP segment of f, from the client (dir 1) or the server (dir 0). */
static void tcp_frame(const struct flow *f, int from_client, uint8_t flags, uint32_t seq,
		      uint32_t ack, const void *pl, size_t plen, const struct quirk *q)
{
	static uint8_t b[FRAME_MAX + 128];
	static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0x07, 0x01 };
	static const uint8_t mac_s[6] = { 0x02, 0, 0, 0, 0x07, 0x02 };
	const uint8_t *src = from_client ? f->c : f->s, *dst = from_client ? f->s : f->c;
	struct quirk none = { 0 };
	size_t o = 12, hl, ext = f->v6ext ? 16 : 0;
	int i;

	if (!q)
		q = &none;
	if (plen > FRAME_MAX)
		die("payload too long");
	memcpy(b, from_client ? mac_s : mac_c, 6);
	memcpy(b + 6, from_client ? mac_c : mac_s, 6);
	if (f->vlan == 2) {
		be16(b + o, 0x88a8);
		be16(b + o + 2, 200);
		o += 4;
	}
	if (f->vlan) {
		be16(b + o, 0x8100);
		be16(b + o + 2, 100);
		o += 4;
	}
	be16(b + o, f->v6 ? 0x86dd : 0x0800);
	o += 2;
	if (!f->v6) {
		hl = 20 + (size_t)f->ipopts;
		memset(b + o, 0, hl);
		b[o] = 0x40 | (uint8_t)(hl / 4);
		be16(b + o + 2, (unsigned)(hl + 20 + plen + q->ip_extra));
		be16(b + o + 4, 0x1234);			/* id */
		be16(b + o + 6, q->frag & 0x1fff);
		b[o + 8] = 64;					/* ttl */
		b[o + 9] = 6;					/* TCP */
		memcpy(b + o + 12, src, 4);
		memcpy(b + o + 16, dst, 4);
		for (i = 20; i < (int)hl - 1; i++)
			b[o + i] = 1;				/* NOP ... */
		if (hl > 20)
			b[o + hl - 1] = 0;			/* ... EOL */
		o += hl;
	} else {
		memset(b + o, 0, 40);
		b[o] = 0x60;
		be16(b + o + 4, (unsigned)(ext + 20 + plen + q->ip_extra));
		b[o + 6] = f->v6ext ? 0 : 6;			/* hop-by-hop first, else TCP */
		b[o + 7] = 64;
		memcpy(b + o + 8, src, 16);
		memcpy(b + o + 24, dst, 16);
		o += 40;
		if (f->v6ext) {
			/* Each 8 bytes: next header, length 0, PadN carrying 4 zero bytes. */
			static const uint8_t hbh[8] = { 60, 0, 1, 4, 0, 0, 0, 0 };
			static const uint8_t dst_opt[8] = { 6, 0, 1, 4, 0, 0, 0, 0 };

			memcpy(b + o, hbh, 8);
			memcpy(b + o + 8, dst_opt, 8);
			o += 16;
		}
	}
	memset(b + o, 0, 20);
	be16(b + o, from_client ? f->cport : f->sport);
	be16(b + o + 2, from_client ? f->sport : f->cport);
	be32(b + o + 4, seq);
	be32(b + o + 8, ack);
	b[o + 12] = (uint8_t)((q->doff ? q->doff : 5) << 4);
	b[o + 13] = flags;
	be16(b + o + 14, 65535);				/* window */
	o += 20;
	if (plen)
		memcpy(b + o, pl, plen);
	add_frame(b, o + plen);
}

/* SYN, SYN-ACK, ACK. */
static void handshake(struct flow *f)
{
	tcp_frame(f, 1, F_SYN, f->cisn, 0, NULL, 0, NULL);
	tcp_frame(f, 0, F_SYN | F_ACK, f->sisn, f->cisn + 1, NULL, 0, NULL);
	tcp_frame(f, 1, F_ACK, f->cisn + 1, f->sisn + 1, NULL, 0, NULL);
	f->cbase = f->cnext = f->cisn + 1;
	f->snext = f->sisn + 1;
}

/* Client bytes at stream offset off (PSH, ACK), the stream position unchanged. */
static void csend_at(struct flow *f, size_t off, const void *d, size_t n, const struct quirk *q)
{
	tcp_frame(f, 1, F_PSH | F_ACK, f->cbase + (uint32_t)off, f->snext, d, n, q);
}

/* Client bytes at the stream's current end. */
static void csend(struct flow *f, const void *d, size_t n)
{
	tcp_frame(f, 1, F_PSH | F_ACK, f->cnext, f->snext, d, n, NULL);
	f->cnext += (uint32_t)n;
}

static void ssend(struct flow *f, const void *d, size_t n)
{
	tcp_frame(f, 0, F_PSH | F_ACK, f->snext, f->cnext, d, n, NULL);
	f->snext += (uint32_t)n;
}

static void cfin(struct flow *f)
{
	tcp_frame(f, 1, F_FIN | F_ACK, f->cnext, f->snext, NULL, 0, NULL);
}

/* A raw frame: Ethernet header with this ethertype, then body. */
static void raw_frame(unsigned type, const void *body, size_t n)
{
	uint8_t b[256] = { 0x02, 0, 0, 0, 0x07, 0x02, 0x02, 0, 0, 0, 0x07, 0x01 };

	if (n > sizeof(b) - 14)
		die("raw frame too long");
	be16(b + 12, type);
	if (n)
		memcpy(b + 14, body, n);
	add_frame(b, 14 + n);
}

/* ---- TLS ------------------------------------------------------------- */

struct hello {
	const char *sni;	/* NULL: no server_name */
	size_t sni_len;		/* 0: strlen */
	const void *alpn;	/* protocol_name_list contents (length-prefixed names); NULL: none */
	size_t alpn_len;
	size_t pad;		/* padding extension (type 21) of this many zero bytes; 0: none */
	int alpn_ext_extra;	/* added to the ALPN extension's length field */
	long hs_len;		/* >= 0: the handshake length field says this instead */
};

/* Same as {"h2", "http/1.1"}. */
static const char alpn_h2_h1[] = "\x02h2\x08http/1.1";
#define ALPN_H2_H1	alpn_h2_h1, sizeof(alpn_h2_h1) - 1

/*
 * ClientHello handshake message (4-byte header included) into out; *alpn_at:
 * offset of the ALPN extension's type field. Extension order: server_name,
 * supported_versions, supported_groups, padding, ALPN last.
 */
static size_t build_hello(uint8_t *out, const struct hello *h, size_t *alpn_at)
{
	static const uint8_t suites[] = { 0x13, 0x01, 0x13, 0x02, 0x13, 0x03 };
	size_t o = 4, ext_at, n, i;

	be16(out + o, 0x0303);
	o += 2;
	for (i = 0; i < 32; i++)
		out[o++] = (uint8_t)(0xa0 + i);			/* random */
	out[o++] = 32;
	for (i = 0; i < 32; i++)
		out[o++] = (uint8_t)(0x40 + i);			/* legacy_session_id */
	be16(out + o, sizeof(suites));
	memcpy(out + o + 2, suites, sizeof(suites));
	o += 2 + sizeof(suites);
	out[o++] = 1;
	out[o++] = 0;						/* null compression */
	ext_at = o;
	o += 2;
	if (h->sni) {
		n = h->sni_len ? h->sni_len : strlen(h->sni);
		be16(out + o, 0);
		be16(out + o + 2, (unsigned)n + 5);
		be16(out + o + 4, (unsigned)n + 3);
		out[o + 6] = 0;					/* host_name */
		be16(out + o + 7, (unsigned)n);
		memcpy(out + o + 9, h->sni, n);
		o += 9 + n;
	}
	be16(out + o, 43);					/* supported_versions */
	be16(out + o + 2, 5);
	out[o + 4] = 4;
	be16(out + o + 5, 0x0304);
	be16(out + o + 7, 0x0303);
	o += 9;
	be16(out + o, 10);					/* supported_groups: x25519 */
	be16(out + o + 2, 4);
	be16(out + o + 4, 2);
	be16(out + o + 6, 0x001d);
	o += 8;
	if (h->pad) {
		if (h->pad > HS_MAX - 600)
			die("padding too long");
		be16(out + o, 21);
		be16(out + o + 2, (unsigned)h->pad);
		memset(out + o + 4, 0, h->pad);
		o += 4 + h->pad;
	}
	*alpn_at = o;
	if (h->alpn) {
		be16(out + o, 16);
		be16(out + o + 2, (unsigned)((int)h->alpn_len + 2 + h->alpn_ext_extra));
		be16(out + o + 4, (unsigned)h->alpn_len);
		memcpy(out + o + 6, h->alpn, h->alpn_len);
		o += 6 + h->alpn_len;
	}
	be16(out + ext_at, (unsigned)(o - ext_at - 2));
	n = h->hs_len >= 0 ? (size_t)h->hs_len : o - 4;
	out[0] = 1;						/* client_hello */
	out[1] = (n >> 16) & 0xff;
	be16(out + 2, n & 0xffff);
	return o;
}

/* One handshake record around data; len_field < 0: the real length. */
static size_t record(uint8_t *out, const uint8_t *data, size_t n, long len_field)
{
	out[0] = 22;
	be16(out + 1, 0x0301);
	be16(out + 3, (unsigned)(len_field >= 0 ? (size_t)len_field : n));
	memcpy(out + 5, data, n);
	return 5 + n;
}

/* A ClientHello in one record: the client's first bytes. */
static size_t hello_record(uint8_t *out, const struct hello *h, size_t *alpn_at)
{
	static uint8_t hs[HS_MAX];
	size_t n = build_hello(hs, h, alpn_at);

	*alpn_at += 5;
	return record(out, hs, n, -1);
}

static const char srv_hello[] = "\x16\x03\x03\x00\x04\x02\x00\x00\x00";	/* a server's first bytes */

/* ---- scenarios ------------------------------------------------------- */

static uint8_t st[2 * HS_MAX];	/* a client stream being built */

/* Handshake, the hello in one segment, a server answer, FIN. */
static void sc_tls(struct flow *f, const struct hello *h)
{
	size_t at, n = hello_record(st, h, &at);

	handshake(f);
	csend(f, st, n);
	ssend(f, srv_hello, sizeof(srv_hello) - 1);
	cfin(f);
}

static void sc_baseline(struct flow *f)
{
	struct hello h = { .sni = "baseline.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	sc_tls(f, &h);
}

/* The ALPN extension starts the second segment. */
static void sc_split2(struct flow *f)
{
	struct hello h = { .sni = "split2.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at);

	handshake(f);
	csend(f, st, at);
	csend(f, st + at, n - at);
	cfin(f);
}

/* The same two segments, the second first. */
static void sc_ooo(struct flow *f)
{
	struct hello h = { .sni = "ooo.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at);

	handshake(f);
	csend_at(f, at, st + at, n - at, NULL);
	csend_at(f, 0, st, at, NULL);
	f->cnext = f->cbase + (uint32_t)n;
	cfin(f);
}

/* [0,100) twice (same seq, same bytes), then [60, end) overlapping it. */
static void sc_retrans(struct flow *f)
{
	struct hello h = { .sni = "retrans.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at);

	handshake(f);
	csend_at(f, 0, st, 100, NULL);
	csend_at(f, 0, st, 100, NULL);
	csend_at(f, 60, st + 60, n - 60, NULL);
	f->cnext = f->cbase + (uint32_t)n;
	cfin(f);
}

/*
 * The handshake message over three records, cut in the ALPN extension
 * (after its length fields, and inside "http/1.1"); the records in two TCP
 * segments, cut inside the second record's header.
 */
static void sc_records(struct flow *f)
{
	static uint8_t hs[HS_MAX];
	struct hello h = { .sni = "records.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = build_hello(hs, &h, &at), c1 = at + 6, c2 = at + 12, o = 0, cut;

	o += record(st + o, hs, c1, -1);
	cut = o + 3;
	o += record(st + o, hs + c1, c2 - c1, -1);
	o += record(st + o, hs + c2, n - c2, -1);
	handshake(f);
	csend(f, st, cut);
	csend(f, st + cut, o - cut);
	cfin(f);
}

/* The record says more than comes (cut before ALPN); then FIN. */
static void sc_truncated(struct flow *f)
{
	struct hello h = { .sni = "truncated.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at;

	hello_record(st, &h, &at);
	handshake(f);
	csend(f, st, at - 10);
	cfin(f);
}

/* The ALPN extension's length points past the end of the hello. */
static void sc_len_ext_past(struct flow *f)
{
	struct hello h = { .sni = "ext.example.com", .alpn = ALPN_H2_H1, .pad = 200,
			   .alpn_ext_extra = 1000, .hs_len = -1 };

	sc_tls(f, &h);
}

/* Handshake length 0xffffff: could never fit what the kernel keeps. */
static void sc_len_hs_huge(struct flow *f)
{
	struct hello h = { .sni = "hs.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = 0xffffff };

	sc_tls(f, &h);
}

/* Record length 16384 (the most allowed) past the packet; the message in it complete. */
static void sc_len_rec_past(struct flow *f)
{
	static uint8_t hs[HS_MAX];
	struct hello h = { .sni = "recpast.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = build_hello(hs, &h, &at);

	n = record(st, hs, n, 16384);
	handshake(f);
	csend(f, st, n);
	cfin(f);
}

/* Record length 16385: over the TLS limit. */
static void sc_len_rec_over(struct flow *f)
{
	static uint8_t hs[HS_MAX];
	struct hello h = { .sni = "recover.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = build_hello(hs, &h, &at);

	n = record(st, hs, n, 16385);
	handshake(f);
	csend(f, st, n);
	cfin(f);
}

/*
 * Record and handshake lengths (a 7600-byte padding extension) point far
 * past the 300 bytes sent, all consistent so far; then FIN.
 */
static void sc_len_past_fin(struct flow *f)
{
	struct hello h = { .sni = "pastfin.example.com", .alpn = ALPN_H2_H1, .pad = 7600, .hs_len = -1 };
	size_t at;

	hello_record(st, &h, &at);
	handshake(f);
	csend(f, st, 300);
	cfin(f);
}

/* {"h2", ""}: a zero-length protocol name (RFC 7301 forbids it). */
static void sc_alpn_empty(struct flow *f)
{
	static const char l[] = "\x02h2\x00";
	struct hello h = { .sni = "empty.example.com", .alpn = l, .alpn_len = sizeof(l) - 1,
			   .pad = 200, .hs_len = -1 };

	sc_tls(f, &h);
}

/* A 255-byte name: 30 'p', 0xff, 224 'q'; then "h2". */
static void sc_alpn_255(struct flow *f)
{
	uint8_t l[1 + 255 + 3];
	struct hello h = { .sni = "long.example.com", .alpn = l, .alpn_len = sizeof(l),
			   .pad = 200, .hs_len = -1 };

	l[0] = 255;
	memset(l + 1, 'p', 30);
	l[31] = 0xff;
	memset(l + 32, 'q', 224);
	memcpy(l + 256, "\x02h2", 3);
	sc_tls(f, &h);
}

/* GREASE 0x2a2a, 0xba 0xad, "http/1.1", "a\b", 0x7f 0x00 " ~"; SNI with UTF-8 "é". */
static void sc_alpn_nonascii(struct flow *f)
{
	static const char l[] = "\x02\x2a\x2a" "\x02\xba\xad" "\x08http/1.1" "\x03" "a\\b"
				"\x04\x7f\x00 ~";
	static const char sni[] = "caf\xc3\xa9.example.com";
	struct hello h = { .sni = sni, .alpn = l, .alpn_len = sizeof(l) - 1,
			   .pad = 200, .hs_len = -1 };

	sc_tls(f, &h);
}

static void sc_ipv6_ext(struct flow *f)
{
	struct hello h = { .sni = "v6ext.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	f->v6ext = 1;
	sc_tls(f, &h);
}

static void sc_vlan(struct flow *f)
{
	struct hello h = { .sni = "vlan.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	f->vlan = 1;
	sc_tls(f, &h);
}

static void sc_qinq(struct flow *f)
{
	struct hello h = { .sni = "qinq.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	f->vlan = 2;
	sc_tls(f, &h);
}

/* IPv4 header of 32 bytes (ihl 8): 11 NOPs and an EOL. */
static void sc_ipv4_opts(struct flow *f)
{
	struct hello h = { .sni = "ipopts.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	f->ipopts = 12;
	sc_tls(f, &h);
}

/*
 * A non-first IPv4 fragment (offset 1480) whose data looks like a TCP
 * header of this flow and a ClientHello: nothing to classify.
 */
static void sc_frag(struct flow *f)
{
	struct hello h = { .sni = "frag.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	struct quirk q = { .frag = 185 };
	size_t at, n = hello_record(st, &h, &at);

	f->cbase = f->cnext = f->cisn + 1;
	csend_at(f, 0, st, n, &q);
}

/*
 * Frames cut short: 10 bytes (not even Ethernet), Ethernet alone, Ethernet
 * and 16 bytes of IPv4 header, IPv4 and 16 bytes of TCP header, Ethernet and
 * 30 bytes of IPv6 header; then a TCP frame whose IP length claims 200
 * payload bytes that the frame does not have.
 */
static void sc_short(struct flow *f)
{
	uint8_t b[64] = { 0 };
	size_t i;

	add_frame((const uint8_t *)"\x02\x00\x00\x00\x07\x02\x02\x00\x00\x00", 10);
	raw_frame(0x0800, NULL, 0);
	b[0] = 0x45;
	be16(b + 2, 40);
	b[9] = 6;
	memcpy(b + 12, f->c, 4);
	raw_frame(0x0800, b, 16);
	memcpy(b + 16, f->s, 4);
	be16(b + 20, f->cport);
	be16(b + 22, f->sport);
	raw_frame(0x0800, b, 36);
	memset(b, 0, sizeof(b));
	b[0] = 0x60;
	be16(b + 4, 20);
	b[6] = 6;
	for (i = 8; i < 30; i++)
		b[i] = 0xfd;
	raw_frame(0x86dd, b, 30);
	{
		struct quirk q = { .ip_extra = 200 };

		f->cbase = f->cnext = f->cisn + 1;
		csend_at(f, 0, NULL, 0, &q);
	}
}

/* TCP data offset 4 (under the minimum), then 15 (past the segment's end). */
static void sc_doff(struct flow *f)
{
	struct hello h = { .sni = "doff.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	struct quirk q4 = { .doff = 4 }, q15 = { .doff = 15 };
	size_t at, n = hello_record(st, &h, &at);

	f->cbase = f->cnext = f->cisn + 1;
	csend_at(f, 0, st, n, &q4);
	csend_at(f, 0, st, 20, &q15);
}

/* An HTTP/1.1 request of exactly n bytes, X-Traffic-Tag: canary its last header. */
static size_t big_request(uint8_t *out, size_t n, const char *path)
{
	static const char tail[] = "\r\nX-Traffic-Tag: canary\r\n\r\n";
	int head = snprintf((char *)out, 128, "GET %s HTTP/1.1\r\nHost: big.example.com\r\nX-Pad: ",
			    path);
	size_t pad = n - (size_t)head - (sizeof(tail) - 1);

	memset(out + head, 'a', pad);
	memcpy(out + head + pad, tail, sizeof(tail) - 1);
	return n;
}

/* One 7900-byte frame (7846 bytes of request): replay cuts it up. */
static void sc_big_http(struct flow *f)
{
	size_t n = big_request(st, 7900 - 14 - 20 - 20, "/big");

	f->sport = 80;
	handshake(f);
	csend(f, st, n);
	ssend(f, "HTTP/1.1 204 No Content\r\n\r\n", 27);
	cfin(f);
}

/* A 6000-byte SYN carrying the whole request (TFO): cut up, SYN on the first piece. */
static void sc_tfo_big(struct flow *f)
{
	size_t n = big_request(st, 6000 - 14 - 20 - 20, "/tfo-big");

	f->sport = 80;
	tcp_frame(f, 1, F_SYN, f->cisn, 0, st, n, NULL);
	tcp_frame(f, 0, F_SYN | F_ACK, f->sisn, f->cisn + 1 + (uint32_t)n, NULL, 0, NULL);
	f->cbase = f->cisn + 1;
	f->cnext = f->cbase + (uint32_t)n;
	f->snext = f->sisn + 1;
	cfin(f);
}

/* The h2c preface in two segments, then an empty SETTINGS frame. */
static void sc_h2c(struct flow *f)
{
	static const char a[] = "PRI * HTTP/2.0\r\n";
	static const char b[] = "\r\nSM\r\n\r\n" "\x00\x00\x00\x04\x00\x00\x00\x00\x00";

	f->sport = 80;
	handshake(f);
	csend(f, a, sizeof(a) - 1);
	csend(f, b, sizeof(b) - 1);
	cfin(f);
}

/*
 * Caught mid-flow: no SYN. A pure ACK of the server's, then the client's
 * hello in two segments from sequence 0x70000000, the server's answer, FIN.
 */
static void sc_adopt(struct flow *f)
{
	struct hello h = { .sni = "adopt.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at);

	f->cbase = f->cnext = 0x70000000;
	f->snext = 0x10000000;
	tcp_frame(f, 0, F_ACK, f->snext, f->cnext, NULL, 0, NULL);
	csend(f, st, 150);
	csend(f, st + 150, n - 150);
	ssend(f, srv_hello, sizeof(srv_hello) - 1);
	cfin(f);
}

/* Mid-flow, the server speaks first (an SMTP banner): it is taken as the client. */
static void sc_adopt_server_first(struct flow *f)
{
	static const char banner[] = "220 mail.example ESMTP\r\n";

	f->sport = 25;
	f->cbase = f->cnext = 0x30000000;
	f->snext = 0x50000000;
	ssend(f, banner, sizeof(banner) - 1);
	csend(f, "EHLO x\r\n", 8);
	cfin(f);
}

/* The hello's first 100 bytes in the SYN (TFO), the rest after the handshake. */
static void sc_tfo(struct flow *f)
{
	struct hello h = { .sni = "tfo.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at);

	tcp_frame(f, 1, F_SYN, f->cisn, 0, st, 100, NULL);
	tcp_frame(f, 0, F_SYN | F_ACK, f->sisn, f->cisn + 101, NULL, 0, NULL);
	f->cbase = f->cisn + 1;
	f->cnext = f->cbase + 100;
	f->snext = f->sisn + 1;
	csend(f, st + 100, n - 100);
	cfin(f);
}

/* For --rule 'sni *.canary.example.com = ...'. */
static void sc_sni_canary(struct flow *f)
{
	struct hello h = { .sni = "api.canary.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };

	sc_tls(f, &h);
}

/* Handshake and FIN, no payload either way. */
static void sc_empty(struct flow *f)
{
	handshake(f);
	cfin(f);
	tcp_frame(f, 0, F_FIN | F_ACK, f->snext, f->cnext + 1, NULL, 0, NULL);
}

/*
 * The same 4-tuple twice: a connection offering h2 that ends with FIN, then
 * a new SYN (another ISN) whose hello offers only http/1.1.
 */
static void sc_reuse(struct flow *f)
{
	static const char l2[] = "\x08http/1.1";
	struct hello h1 = { .sni = "reuse1.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	struct hello h2 = { .sni = "reuse2.example.com", .alpn = l2, .alpn_len = sizeof(l2) - 1,
			    .pad = 200, .hs_len = -1 };

	sc_tls(f, &h1);
	tcp_frame(f, 0, F_FIN | F_ACK, f->snext, f->cnext + 1, NULL, 0, NULL);
	f->cisn += 0x00100000;
	f->sisn += 0x00100000;
	sc_tls(f, &h2);
}

/*
 * The same 4-tuple twice, the first connection still undecided (100 bytes of
 * its hello, no FIN) when the second one's SYN comes; that one's hello
 * offers only http/1.1.
 */
static void sc_reuse_undecided(struct flow *f)
{
	static const char l2[] = "\x08http/1.1";
	struct hello h1 = { .sni = "reuse3.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	struct hello h2 = { .sni = "reuse4.example.com", .alpn = l2, .alpn_len = sizeof(l2) - 1,
			    .pad = 200, .hs_len = -1 };
	size_t at;

	hello_record(st, &h1, &at);
	handshake(f);
	csend(f, st, 100);
	f->cisn += 0x00100000;
	f->sisn += 0x00100000;
	sc_tls(f, &h2);
}

/* The hello in 20-byte segments: past GP_CAPTURE_SEGS_MAX (16) of them, then FIN. */
static void sc_tiny_segs(struct flow *f)
{
	struct hello h = { .sni = "tiny.example.com", .alpn = ALPN_H2_H1, .pad = 200, .hs_len = -1 };
	size_t at, n = hello_record(st, &h, &at), o;

	handshake(f);
	for (o = 0; o < n; o += 20)
		csend(f, st + o, n - o < 20 ? n - o : 20);
	cfin(f);
}

/* A 7000-byte frame, 802.1Q, IPv6 with extension headers: cut up by replay. */
static void sc_big_v6_vlan(struct flow *f)
{
	size_t n = big_request(st, 7000 - 18 - 40 - 16 - 20, "/big-v6");

	f->vlan = 1;
	f->v6ext = 1;
	f->sport = 80;
	handshake(f);
	csend(f, st, n);
	cfin(f);
}

struct scenario {
	const char *name;
	void (*fn)(struct flow *f);
	int v6;
};

/* The client port is 40000 + the 1-based position here: append only. */
static const struct scenario scenarios[] = {
	{ "baseline", sc_baseline, 0 },
	{ "split2", sc_split2, 0 },
	{ "ooo", sc_ooo, 0 },
	{ "retrans", sc_retrans, 0 },
	{ "records", sc_records, 0 },
	{ "truncated", sc_truncated, 0 },
	{ "len-ext-past", sc_len_ext_past, 0 },
	{ "len-hs-huge", sc_len_hs_huge, 0 },
	{ "len-rec-past", sc_len_rec_past, 0 },
	{ "len-rec-over", sc_len_rec_over, 0 },
	{ "len-past-fin", sc_len_past_fin, 0 },
	{ "alpn-empty", sc_alpn_empty, 0 },
	{ "alpn-255", sc_alpn_255, 0 },
	{ "alpn-nonascii", sc_alpn_nonascii, 0 },
	{ "ipv6-ext", sc_ipv6_ext, 1 },
	{ "vlan", sc_vlan, 0 },
	{ "qinq", sc_qinq, 0 },
	{ "ipv4-opts", sc_ipv4_opts, 0 },
	{ "frag", sc_frag, 0 },
	{ "short", sc_short, 0 },
	{ "doff", sc_doff, 0 },
	{ "big-http", sc_big_http, 0 },
	{ "tfo-big", sc_tfo_big, 0 },
	{ "h2c", sc_h2c, 0 },
	{ "adopt", sc_adopt, 0 },
	{ "adopt-server-first", sc_adopt_server_first, 0 },
	{ "tfo", sc_tfo, 0 },
	{ "sni-canary", sc_sni_canary, 0 },
	{ "empty", sc_empty, 0 },
	{ "reuse", sc_reuse, 0 },
	{ "tiny-segs", sc_tiny_segs, 0 },
	{ "big-v6-vlan", sc_big_v6_vlan, 1 },
	{ "reuse-undecided", sc_reuse_undecided, 0 },
};
#define N_SCENARIOS	(sizeof(scenarios) / sizeof(scenarios[0]))

static void build(size_t idx, struct list *out)
{
	static const uint8_t c4[4] = { 198, 18, 7, 1 }, s4[4] = { 198, 19, 7, 2 };
	static const uint8_t c6[16] = { 0xfd, 0, 0x01, 0x98, 0, 0x18, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t s6[16] = { 0xfd, 0, 0x01, 0x98, 0, 0x18, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2 };
	struct flow f = { 0 };

	f.v6 = scenarios[idx].v6;
	memcpy(f.c, f.v6 ? c6 : c4, f.v6 ? 16 : 4);
	memcpy(f.s, f.v6 ? s6 : s4, f.v6 ? 16 : 4);
	f.cport = (uint16_t)(40001 + idx);
	f.sport = 443;
	f.cisn = 0x01000000u * (uint32_t)(idx + 1) + 0xabcd;
	f.sisn = 0x80000000u + (uint32_t)idx * 0x10000u;
	cur = out;
	scenarios[idx].fn(&f);
}

static void put_u32(FILE *o, uint32_t v) { fwrite(&v, 4, 1, o); }
static void put_u16(FILE *o, uint16_t v) { fwrite(&v, 2, 1, o); }

static int usage(void)
{
	fprintf(stderr, "usage: mkpcap [-i] FILE SCENARIO...   (SCENARIO: all, or see mkpcap --list)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct list *lists;
	size_t n = 0, i, j, k, frameno = 0, left;
	int interleave = 0, a = 1;
	const char *path;
	FILE *o;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < N_SCENARIOS; i++)
			printf("%s %zu\n", scenarios[i].name, 40001 + i);
		return 0;
	}
	if (a < argc && !strcmp(argv[a], "-i")) {
		interleave = 1;
		a++;
	}
	if (argc - a < 2)
		return usage();
	path = argv[a++];
	lists = calloc(N_SCENARIOS * (size_t)argc, sizeof(*lists));
	if (!lists)
		die("out of memory");
	for (; a < argc; a++) {
		int all = !strcmp(argv[a], "all"), hit = 0;

		for (i = 0; i < N_SCENARIOS; i++) {
			if (!all && strcmp(argv[a], scenarios[i].name))
				continue;
			build(i, &lists[n++]);
			hit = 1;
		}
		if (!hit) {
			fprintf(stderr, "mkpcap: no scenario '%s'\n", argv[a]);
			return usage();
		}
	}

	o = fopen(path, "wb");
	if (!o) {
		perror(path);
		return 1;
	}
	put_u32(o, 0xa1b23c4d);		/* nanosecond timestamps, this host's order */
	put_u16(o, 2);
	put_u16(o, 4);
	put_u32(o, 0);			/* thiszone */
	put_u32(o, 0);			/* sigfigs */
	put_u32(o, 262144);		/* snaplen */
	put_u32(o, 1);			/* LINKTYPE_ETHERNET */
	left = 0;
	for (i = 0; i < n; i++)
		left += lists[i].n;
	for (k = 0; left; k++) {
		for (i = 0; i < n; i++) {
			/* In order: scenario by scenario; interleaved: frame k of each. */
			size_t lo = interleave ? k : 0, hi = interleave ? k + 1 : lists[i].n;

			if (!interleave && k)
				break;
			for (j = lo; j < hi && j < lists[i].n; j++) {
				const struct frame *fr = &lists[i].f[j];
				uint64_t ns;

				frameno++;
				ns = frameno * 1000000u + frameno;
				put_u32(o, (uint32_t)(TS_BASE_SEC + ns / 1000000000u));
				put_u32(o, (uint32_t)(ns % 1000000000u));
				put_u32(o, (uint32_t)fr->len);
				put_u32(o, (uint32_t)fr->len);
				fwrite(fr->data, 1, fr->len, o);
				left--;
			}
		}
	}
	if (fclose(o)) {
		perror(path);
		return 1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < lists[i].n; j++)
			free(lists[i].f[j].data);
		free(lists[i].f);
	}
	free(lists);
	return 0;
}
