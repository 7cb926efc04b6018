// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test tool (root): random and mutated frames through the TC classifier
 * (gp_tc) with BPF_PROG_TEST_RUN, each checked against a user-space
 * reference written from the record format and the header formats, not
 * from bpf/pkt.bpf.h:
 *
 *   tcfuzz [-n COUNT] [-s SEED] [-m SHOW] [-i INDEX] [-v] [--probe]
 *
 * COUNT frames (default 200000) from SEED (default 1); frame k is built
 * from its own generator state (SEED, k), so "-s SEED -i k" replays frame
 * k alone, verbosely. Exit 0 when every frame agreed, 1 on any mismatch
 * (the first SHOW, default 5, are printed with the frame in hex), 2 on
 * bad usage, 3 when the BPF object cannot be loaded.
 *
 * Frames come in four kinds: fully random bytes; random bytes behind a
 * plausible Ethernet/VLAN/IP start; Ethernet, 802.1Q or QinQ + IPv4 (with
 * options, fragments, lying lengths) or IPv6 (hop-by-hop, routing,
 * destination options, fragment and AH headers, lying lengths) + TCP with
 * random flags, data offsets, options and payloads, sometimes cut short or
 * padded; and valid ClientHello frames mutated by bit flips, cuts, byte
 * insertions, deletions and overwrites.
 *
 * The object is loaded as `grayprobe replay` loads it: the TC program
 * only, adopt_midstream set (gp_flows made smaller: it never holds more
 * than one flow here). After each frame the flow table is checked
 * against the prediction and emptied, so every frame meets an empty table
 * and the prediction stays exact:
 *   - a frame the kernel refuses before running the program: EINVAL;
 *   - not TCP (or a non-first fragment): no record, no flow, no count;
 *   - malformed (headers cut short or inconsistent): GP_STAT_PKT_MALFORMED
 *     + 1, nothing else;
 *   - TCP, SYN without ACK: a flow (isn = seq, syn_ts set); with a payload,
 *     the records below (data offset 0: a SYN's data follows the ISN), else
 *     nothing more, not even a flow end for FIN or RST;
 *   - TCP with a payload, no SYN: an adopted flow (isn = seq - 1);
 *   - TCP, SYN with ACK, or no payload: nothing;
 *   - records: one GP_EV_PAYLOAD, off 0, len min(IP-length payload, bytes
 *     in the frame, GP_FIRST_PAYLOAD_MAX) when that is not 0, data the
 *     frame's payload bytes, tuple sender -> receiver; then GP_EV_FLOW_END
 *     when FIN or RST is set. Each record must also pass gp_payload_decode.
 * GP_EV_L7 records and the flow entry's HTTP state are left to l7dump.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pipeline/event.h"
#include "grayprobe.h"
#include "collect/loader.h"

/*
 * BPF_PROG_TEST_RUN copies a frame into one page after NET_SKB_PAD of
 * headroom, with skb_shared_info at the end: 4096 - 64 - 320 on x86-64.
 * Probed at start; frames are generated up to what this kernel takes.
 */
#define FRAME_CAP	3712
#define ETH_MIN		14
#define NREC_MAX	8
#define TC_ACT_UNSPEC	(-1)

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10
#define F_URG	0x20

/* ---- random numbers ---------------------------------------------------------- */

static uint64_t rng_s;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	return splitmix(&rng_s);
}

/* Uniform in [0, n); n > 0. */
static uint32_t below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) * n >> 32);
}

static uint32_t range(uint32_t lo, uint32_t hi)	/* [lo, hi] */
{
	return lo + below(hi - lo + 1);
}

static int chance(unsigned percent)
{
	return below(100) < percent;
}

static void fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = rnd();
}

/* ---- byte order helpers --------------------------------------------------------- */

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* ---- the reference ------------------------------------------------------------- */

enum verdict {
	V_EINVAL_SHORT,	/* under ETH_HLEN: test_run refuses it */
	V_EINVAL_L3,	/* IPv4/IPv6 EtherType, L3 shorter than its fixed header: refused */
	V_OTHER,
	V_MALFORMED,
	V_TCP,
	V_MAX,
};

static const char *const verdict_names[V_MAX] = {
	"einval-short", "einval-l3", "other", "malformed", "tcp",
};

struct ref {
	enum verdict v;
	const char *why;		/* for V_MALFORMED / V_OTHER: which rule */
	uint16_t family;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq;
	uint32_t pl_off;		/* payload start in the frame */
	uint32_t pl_len;		/* payload length the IP length fields give */
	unsigned feat;			/* FT_* met on the way, for the coverage lines */
};

/* What a frame exercised: counted, so that a run shows what it covered. */
enum {
	FT_VLAN1, FT_VLAN2, FT_V4OPTS, FT_V4MF, FT_LEN0, FT_V6, FT_V6EXT, FT_V6FRAG, FT_V6AH,
	FT_V6EXT6, FT_TCPOPTS, FT_OPTS_CUT, FT_PL_CUT, FT_PL_LONG, FT_SYN, FT_SYN_DATA, FT_ADOPT,
	FT_HELLO_CAP, FT_FLOW_END, FT_MAX,
};
static const char *const feat_names[FT_MAX] = {
	"802.1Q", "QinQ", "ipv4-options", "ipv4-first-fragment", "ip-length-0", "ipv6",
	"ipv6-ext", "ipv6-fragment-hdr", "ipv6-ah", "ipv6-6-ext", "tcp-options",
	"tcp-options-cut", "payload-cut", "payload-over-8k-by-ip", "syn", "syn+data", "adopted",
	"hello-cap", "flow-end",
};
#define FEAT(r, f) ((r)->feat |= 1u << (f))

/* Does this kernel refuse IP frames shorter than their IP header? Probed. */
static int kernel_rejects_short_l3 = 1;

static enum verdict ref_bad(struct ref *r, enum verdict v, const char *why)
{
	r->v = v;
	r->why = why;
	return v;
}

/*
 * TCP: the fixed 20-byte header must be in the frame; its data offset must
 * be 5..15 words and within the L4 length the IP header gives. Options and
 * payload may be cut short (a capture's snap length): the payload length
 * is still what IP says.
 */
static enum verdict ref_tcp(const uint8_t *f, size_t len, size_t at, uint32_t l4len, struct ref *r)
{
	const uint8_t *t = f + at;
	uint32_t hl;

	if (at + 20 > len)
		return ref_bad(r, V_MALFORMED, "tcp header cut short");
	hl = (t[12] >> 4) * 4u;
	if (hl < 20)
		return ref_bad(r, V_MALFORMED, "tcp data offset under 5");
	if (hl > l4len)
		return ref_bad(r, V_MALFORMED, "tcp data offset past the ip length");
	r->sport = get16(t);
	r->dport = get16(t + 2);
	r->seq = get32(t + 4);
	r->flags = t[13];
	r->pl_off = at + hl;
	r->pl_len = l4len - hl;
	r->v = V_TCP;
	if (hl > 20)
		FEAT(r, FT_TCPOPTS);
	if (at + hl > len)
		FEAT(r, FT_OPTS_CUT);
	return V_TCP;
}

static enum verdict ref_ipv4(const uint8_t *f, size_t len, size_t at, struct ref *r)
{
	const uint8_t *ip = f + at;
	uint32_t ihl, total;

	if (at + 20 > len)
		return ref_bad(r, V_MALFORMED, "ipv4 header cut short");
	if (ip[0] >> 4 != 4)
		return ref_bad(r, V_MALFORMED, "ipv4 ethertype, version not 4");
	if (ip[9] != 6)
		return ref_bad(r, V_OTHER, "ipv4, not tcp");
	if (get16(ip + 6) & 0x1fff)
		return ref_bad(r, V_OTHER, "ipv4 non-first fragment");
	ihl = (ip[0] & 0xf) * 4u;
	total = get16(ip + 2);
	/* Total length 0: a GSO (BIG TCP) packet; the rest of the frame is the packet. */
	if (!total) {
		total = len - at;
		FEAT(r, FT_LEN0);
	}
	if (ihl < 20)
		return ref_bad(r, V_MALFORMED, "ipv4 ihl under 5");
	if (total < ihl)
		return ref_bad(r, V_MALFORMED, "ipv4 total length under ihl");
	if (ihl > 20)
		FEAT(r, FT_V4OPTS);
	if (get16(ip + 6) & 0x2000)
		FEAT(r, FT_V4MF);
	r->family = AF_INET;
	memcpy(r->saddr, ip + 12, 4);
	memcpy(r->daddr, ip + 16, 4);
	return ref_tcp(f, len, at + ihl, total - ihl, r);
}

/* Up to this many extension headers are followed before TCP (bpf/pkt.bpf.h documents 6). */
#define REF_V6_EXT_MAX	6

static enum verdict ref_ipv6(const uint8_t *f, size_t len, size_t at, struct ref *r)
{
	const uint8_t *ip = f + at;
	uint32_t rest, hl;
	unsigned next, i;

	if (at + 40 > len)
		return ref_bad(r, V_MALFORMED, "ipv6 header cut short");
	if (ip[0] >> 4 != 6)
		return ref_bad(r, V_MALFORMED, "ipv6 ethertype, version not 6");
	rest = get16(ip + 4);
	/* Payload length 0: jumbogram / BIG TCP; the rest of the frame. */
	if (!rest && len > at + 40) {
		rest = len - at - 40;
		FEAT(r, FT_LEN0);
	}
	FEAT(r, FT_V6);
	next = ip[6];
	r->family = AF_INET6;
	memcpy(r->saddr, ip + 8, 16);
	memcpy(r->daddr, ip + 24, 16);
	at += 40;
	for (i = 0;; i++) {
		const uint8_t *e = f + at;

		if (next == 6) {
			if (i)
				FEAT(r, FT_V6EXT);
			if (i == REF_V6_EXT_MAX)
				FEAT(r, FT_V6EXT6);
			return ref_tcp(f, len, at, rest, r);
		}
		if (i == REF_V6_EXT_MAX)
			return ref_bad(r, V_OTHER, "ipv6, too many extension headers");
		if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60)
			return ref_bad(r, V_OTHER, "ipv6, not tcp");
		if (at + 8 > len)
			return ref_bad(r, V_MALFORMED, "ipv6 extension header cut short");
		if (next == 44) {
			if (get16(e + 2) >> 3)
				return ref_bad(r, V_OTHER, "ipv6 non-first fragment");
			hl = 8;
			FEAT(r, FT_V6FRAG);
		} else if (next == 51) {
			hl = (e[1] + 2) * 4u;		/* AH: 32-bit words, minus 2 */
			FEAT(r, FT_V6AH);
		} else {
			hl = (e[1] + 1) * 8u;		/* 8-octet units, not counting the first */
		}
		if (hl > rest)
			return ref_bad(r, V_MALFORMED, "ipv6 extension header past the payload length");
		rest -= hl;
		next = e[0];
		at += hl;
	}
}

static enum verdict ref_parse(const uint8_t *f, size_t len, struct ref *r)
{
	unsigned type, tags;
	size_t at = ETH_MIN;

	memset(r, 0, sizeof(*r));
	if (len < ETH_MIN)
		return ref_bad(r, V_EINVAL_SHORT, "frame under 14 bytes");
	type = get16(f + 12);
	/*
	 * net/bpf/test_run.c, bpf_prog_test_run_skb(): after eth_type_trans(),
	 * skb->protocol ETH_P_IP with skb_headlen < sizeof(struct iphdr), or
	 * ETH_P_IPV6 with < sizeof(struct ipv6hdr), is -EINVAL (commit
	 * 12bec2bd4b76, "bpf: reject short IPv4/IPv6 inputs in
	 * bpf_prog_test_run_skb"). Only the outer EtherType counts.
	 */
	if (kernel_rejects_short_l3 && type == 0x0800 && len - ETH_MIN < 20)
		return ref_bad(r, V_EINVAL_L3, "ipv4 ethertype, l3 under 20 bytes");
	if (kernel_rejects_short_l3 && type == 0x86dd && len - ETH_MIN < 40)
		return ref_bad(r, V_EINVAL_L3, "ipv6 ethertype, l3 under 40 bytes");
	for (tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		if (at + 4 > len)
			return ref_bad(r, V_MALFORMED, "vlan tag cut short");
		type = get16(f + at + 2);
		at += 4;
		FEAT(r, tags ? FT_VLAN2 : FT_VLAN1);
	}
	if (type == 0x0800)
		return ref_ipv4(f, len, at, r);
	if (type == 0x86dd)
		return ref_ipv6(f, len, at, r);
	return ref_bad(r, V_OTHER, "not ip (or a third vlan tag)");
}

/* What the program must leave behind for one frame met with an empty flow table. */
struct expect {
	int rc;				/* 0 or -EINVAL */
	unsigned malformed;		/* GP_STAT_PKT_MALFORMED delta */
	int flow;			/* a gp_flows entry stays */
	struct gp_flow_key key;
	struct gp_flow_val val;		/* syn_ts: 1 means "not 0" */
	unsigned nrec;
	struct gp_payload_event rec[2];
	const uint8_t *data;		/* rec[0]'s bytes when GP_EV_PAYLOAD */
};

/*
 * gp_flow_key as include/grayprobe.h documents it: the lower endpoint
 * first, addresses compared as two native-endian u64, then ports; returns
 * the index the sender got.
 */
static int ref_key(const struct ref *r, struct gp_flow_key *k)
{
	uint64_t a[2], b[2];
	int swap;

	memcpy(a, r->saddr, 16);
	memcpy(b, r->daddr, 16);
	if (a[0] != b[0])
		swap = a[0] > b[0];
	else if (a[1] != b[1])
		swap = a[1] > b[1];
	else
		swap = r->sport > r->dport;
	memset(k, 0, sizeof(*k));
	k->family = r->family;
	memcpy(k->addr[swap], r->saddr, 16);
	memcpy(k->addr[!swap], r->daddr, 16);
	k->port[swap] = r->sport;
	k->port[!swap] = r->dport;
	return swap;
}

/*
 * A ClientHello's own length bounds the capture of its flow, this segment
 * included, and the capture reaches past each record header the segment
 * holds (RFC 8446 5.1), up to GP_TLS_WALK_MAX of them, until one of type
 * 23 or one that is not TLS. held: the payload bytes the frame holds.
 * Returns 1 for a hello.
 */
static int ref_tls_walk(const uint8_t *d, uint32_t held, struct gp_flow_val *v)
{
	uint32_t cap, next = 0, i;

	if (held < 9)
		return 0;
	v->tls_walk = GP_TLS_WALK_OFF;
	if (d[0] != 0x16 || d[5] != 0x01)
		return 0;
	v->tls_walk = GP_TLS_WALK_ON;
	cap = 9 + ((uint32_t)d[6] << 16 | d[7] << 8 | d[8]) + GP_TLS_RECORD_SLACK;
	for (i = 0; i < GP_TLS_WALK_MAX && next + 5 <= held; i++) {
		if (d[next] == 23 || d[next + 1] != 3) {
			v->tls_walk = GP_TLS_WALK_OFF;
			break;
		}
		next += 5 + ((uint32_t)d[next + 3] << 8 | d[next + 4]);
	}
	if (next + 5 > cap)
		cap = next + 5;
	v->cap = cap < GP_FIRST_PAYLOAD_MAX ? cap : GP_FIRST_PAYLOAD_MAX;
	v->tls_next = next;
	return 1;
}

static void ref_expect(const uint8_t *f, size_t len, struct ref *r, struct expect *x)
{
	int syn_only = (r->flags & (F_SYN | F_ACK)) == F_SYN;
	uint32_t present, n;
	struct gp_payload_event *e;

	memset(x, 0, sizeof(*x));
	switch (r->v) {
	case V_EINVAL_SHORT:
	case V_EINVAL_L3:
		x->rc = -EINVAL;
		return;
	case V_MALFORMED:
		x->malformed = 1;
		return;
	case V_OTHER:
		return;
	default:
		break;
	}
	if (!syn_only && (!r->pl_len || (r->flags & F_SYN)))
		return;				/* nothing to adopt */
	x->flow = 1;
	x->val.client = ref_key(r, &x->key);
	x->val.cap = GP_FIRST_PAYLOAD_MAX;
	x->val.ifindex = 1;		/* test_run's skb is on loopback */
	if (syn_only) {
		x->val.syn_ts = 1;
		x->val.isn = r->seq;
		FEAT(r, r->pl_len ? FT_SYN_DATA : FT_SYN);
		if (!r->pl_len)
			return;			/* a SYN: the flow, nothing else */
	} else {
		x->val.isn = r->seq - 1;
		FEAT(r, FT_ADOPT);
	}
	/* The payload: stream offset 0 either way (a SYN's data follows the ISN). */
	present = len > r->pl_off ? len - r->pl_off : 0;
	/* Bytes counted are those the packet holds, whatever its IP length says. */
	x->val.bytes = r->pl_len < present ? r->pl_len : present;
	x->val.segs = 1;
	n = r->pl_len;
	if (n > GP_FIRST_PAYLOAD_MAX) {
		n = GP_FIRST_PAYLOAD_MAX;
		FEAT(r, FT_PL_LONG);
	}
	if (n > present) {
		n = present;
		FEAT(r, FT_PL_CUT);
	}
	e = &x->rec[0];
	e->flow.family = r->family;
	memcpy(e->flow.saddr, r->saddr, 16);
	memcpy(e->flow.daddr, r->daddr, 16);
	e->flow.sport = r->sport;
	e->flow.dport = r->dport;
	e->ifindex = 1;
	e->bytes = x->val.bytes;
	e->isn = x->val.isn;
	if (n) {
		const uint8_t *d = f + r->pl_off;

		e->type = GP_EV_PAYLOAD;
		e->len = n;
		x->data = d;
		x->nrec = 1;
		if (ref_tls_walk(d, r->pl_len < present ? r->pl_len : present, &x->val)) {
			FEAT(r, FT_HELLO_CAP);
			if (e->len > x->val.cap)
				e->len = x->val.cap;
		}
	}
	if (r->flags & (F_FIN | F_RST)) {
		x->rec[x->nrec] = *e;
		x->rec[x->nrec].type = GP_EV_FLOW_END;
		x->rec[x->nrec].len = 0;
		x->nrec++;
		x->val.ended = 1;
		FEAT(r, FT_FLOW_END);
	}
}

/* ---- frame builders --------------------------------------------------------------- */

enum kind { K_RANDOM, K_NOISE, K_CRAFTED, K_HELLO, K_MAX };
static const char *const kind_names[K_MAX] = { "random", "noise", "crafted", "hello-mutant" };

static size_t frame_max = FRAME_CAP;

static size_t put_eth(uint8_t *b, unsigned type, int vlans)
{
	size_t at = 12;

	fill(b, 12);
	b[0] &= 0xfe;			/* unicast, not that it matters */
	if (vlans == 1) {
		put16(b + at, 0x8100);
		put16(b + at + 2, below(4096));
		at += 4;
	} else if (vlans >= 2) {
		put16(b + at, chance(70) ? 0x88a8 : 0x8100);
		put16(b + at + 2, below(4096));
		put16(b + at + 4, 0x8100);
		put16(b + at + 6, below(4096));
		at += 8;
		if (vlans == 3) {	/* a third tag: not followed */
			put16(b + at, 0x8100);
			put16(b + at + 2, below(4096));
			at += 4;
		}
	}
	put16(b + at, type);
	return at + 2;
}

static void rand_addr(uint8_t *a, int v6)
{
	if (v6) {
		static const uint8_t pfx[6] = { 0xfd, 0x00, 0x01, 0x98, 0x00, 0x18 };

		memcpy(a, pfx, 6);
		fill(a + 6, 10);
		if (chance(10))
			fill(a, 16);
		if (chance(3))	/* v4-mapped: TC keys it as IPv6 all the same */
			memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
	} else {
		a[0] = 198;
		a[1] = 18 + below(2);
		fill(a + 2, 2);
		if (chance(10))
			fill(a, 4);
	}
}

/* TCP options: a plausible SYN set, or random bytes. */
static void tcp_options(uint8_t *o, size_t n)
{
	size_t i = 0;

	if (chance(40)) {
		fill(o, n);
		return;
	}
	while (i < n) {
		if (n - i >= 4 && chance(50)) {
			o[i] = 2;
			o[i + 1] = 4;
			put16(o + i + 2, 1460);
			i += 4;
		} else if (n - i >= 10 && chance(50)) {
			o[i] = 8;
			o[i + 1] = 10;
			fill(o + i + 2, 8);
			i += 10;
		} else {
			o[i++] = 1;
		}
	}
}

/* ClientHello record, 9 + hello bytes plus the record header, in out; returns its size. */
static size_t build_hello(uint8_t *out, size_t room)
{
	static const char *const names[] = { "shop.example.com", "v2.canary.example.com", "a.b",
					     "x.example.org", "" };
	static const char *const alpns[] = { "\x02h2\x08http/1.1", "\x08http/1.1", "\x02h2",
					     "\x02h3", "" };
	const char *sni = names[below(5)], *alpn = alpns[below(5)];
	size_t at = 9, ext, n, i, share;
	uint8_t *p;

	if (room < 600)
		return 0;
	out[0] = 0x16;
	put16(out + 1, 0x0301);
	out[5] = 0x01;			/* client_hello */
	put16(out + at, 0x0303);
	at += 2;
	fill(out + at, 32);		/* random */
	at += 32;
	out[at++] = 32;			/* session id */
	fill(out + at, 32);
	at += 32;
	n = 2 * range(1, 16);
	put16(out + at, n);
	for (i = 0; i < n; i += 2)
		put16(out + at + 2 + i, chance(20) ? 0x0a0a : 0x1301 + below(3));
	at += 2 + n;
	out[at++] = 1;
	out[at++] = 0;			/* compression: null */
	ext = at;
	at += 2;
	if (*sni) {
		n = strlen(sni);
		put16(out + at, 0x0000);
		put16(out + at + 2, n + 5);
		put16(out + at + 4, n + 3);
		out[at + 6] = 0;
		put16(out + at + 7, n);
		memcpy(out + at + 9, sni, n);
		at += 9 + n;
	}
	if (*alpn) {
		n = strlen(alpn);
		put16(out + at, 0x0010);
		put16(out + at + 2, n + 2);
		put16(out + at + 4, n);
		memcpy(out + at + 6, alpn, n);
		at += 6 + n;
	}
	/* key_share: X25519 (32) or X25519MLKEM768 (1216) plus X25519; capped by room. */
	share = chance(40) ? 1216 + 32 + 8 : 32 + 4;
	if (at + 6 + share + 300 > room)
		share = 32 + 4;
	put16(out + at, 0x0033);
	put16(out + at + 2, share + 2);
	put16(out + at + 4, share);
	p = out + at + 6;
	fill(p, share);
	at += 6 + share;
	n = range(0, 200);		/* padding */
	if (at + 4 + n <= room) {
		put16(out + at, 0x0015);
		put16(out + at + 2, n);
		memset(out + at + 4, 0, n);
		at += 4 + n;
	}
	put16(out + ext, at - ext - 2);
	put16(out + 3, at - 5);		/* record length */
	out[6] = (at - 9) >> 16;	/* handshake length */
	put16(out + 7, (at - 9) & 0xffff);
	return at;
}

/* Knobs of one crafted frame. */
struct craft {
	int v6, vlans;
	unsigned ip_opts;		/* IPv4 option bytes (multiple of 4) */
	unsigned nexts;			/* IPv6 extension headers */
	unsigned doff;			/* TCP data offset, words */
	uint8_t flags;
	size_t payload;
	int hello;			/* payload is a ClientHello */
	int clean;			/* true lengths, TCP, no padding, no cut */
};

/* An IPv6 extension header of type t at p, next header nh; returns its length. */
static size_t put_ext(uint8_t *p, unsigned t, unsigned nh, size_t room)
{
	size_t n;

	if (t == 44) {			/* fragment: 8 bytes, mostly a first fragment */
		p[0] = nh;
		p[1] = 0;
		put16(p + 2, chance(80) ? below(2) : (range(1, 8191) << 3) | below(2));
		fill(p + 4, 4);
		return 8;
	}
	if (t == 51) {			/* AH: (len + 2) * 4 bytes */
		unsigned words = range(1, 8);

		n = (words + 2) * 4;
		if (n > room)
			return 0;
		p[0] = nh;
		p[1] = words;
		fill(p + 2, n - 2);
		return n;
	}
	n = (range(0, 3) + 1) * 8;	/* hop-by-hop, routing, destination options */
	if (n > room)
		return 0;
	p[0] = nh;
	p[1] = n / 8 - 1;
	fill(p + 2, n - 2);
	if (t != 43 && chance(70))
		memset(p + 2, 1, n - 2);	/* PadN-ish: all Pad1 would be 0 */
	return n;
}

static size_t build_crafted(uint8_t *b, const struct craft *c)
{
	static const unsigned ext_types[] = { 0, 43, 60, 44, 51 };
	uint8_t *ip, *th, saddr[16], daddr[16];
	size_t at, l3, n, ext_at[8], ext_len[8];
	unsigned i, next_types[8];

	at = put_eth(b, c->v6 ? 0x86dd : 0x0800, c->vlans);
	l3 = at;
	ip = b + at;
	rand_addr(saddr, c->v6);
	rand_addr(daddr, c->v6);
	if (!c->v6) {
		ip[0] = 0x40 | (5 + c->ip_opts / 4);
		ip[1] = below(256);
		fill(ip + 4, 2);		/* id */
		put16(ip + 6, c->clean || chance(85) ? (chance(50) ? 0x4000 : 0) :
			      chance(50) ? 0x2000 : range(1, 0x1fff) | (below(2) << 13));
		ip[8] = range(1, 255);
		ip[9] = c->clean || chance(93) ? 6 : below(256);
		put16(ip + 10, 0);
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		fill(ip + 20, c->ip_opts);
		at += 20 + c->ip_opts;
	} else {
		put32(ip, 0x60000000 | below(1u << 20) | (below(256) << 20));
		ip[7] = range(1, 255);
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		at += 40;
		for (i = 0; i < c->nexts; i++)
			next_types[i] = ext_types[below(5)];
		/* Headers in a chain, each naming the next; the last names TCP (mostly). */
		for (i = 0; i < c->nexts; i++) {
			unsigned nh = i + 1 < c->nexts ? next_types[i + 1] : 6;

			ext_at[i] = at;
			ext_len[i] = put_ext(b + at, next_types[i], nh, frame_max - at - 80);
			if (!ext_len[i])
				break;
			at += ext_len[i];
		}
		ip[6] = i ? next_types[0] : 6;
		if (i && i < c->nexts)		/* ran out of room: the chain ends here */
			b[ext_at[i - 1]] = 6;
		if (!c->clean && chance(5))	/* something else than TCP at the end */
			b[c->nexts && i ? ext_at[i - 1] : l3 + 6] = chance(50) ? 17 : below(256);
	}
	th = b + at;
	put16(th, range(1, 65535));
	put16(th + 2, chance(50) ? 443 : range(1, 65535));
	put32(th + 4, rnd());
	put32(th + 8, rnd());
	th[12] = c->doff << 4 | (!c->clean && chance(5) ? below(16) : 0);
	th[13] = c->flags;
	put16(th + 14, range(0, 65535));
	put16(th + 16, 0);
	put16(th + 18, chance(5) ? rnd() : 0);
	n = c->doff > 5 ? (c->doff - 5) * 4 : 0;
	if (at + 20 + n > frame_max)
		n = frame_max - at - 20;
	tcp_options(th + 20, n);
	at += 20 + n;
	n = c->payload;
	if (at + n > frame_max)
		n = frame_max - at;
	if (c->hello && n >= 600) {
		size_t h = build_hello(b + at, n);

		n = h ? h : n;
		if (!h)
			fill(b + at, n);
	} else if (chance(20) && n >= 16) {
		static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Gray: beta\r\n\r\n";

		fill(b + at, n);
		memcpy(b + at, req, n < sizeof(req) - 1 ? n : sizeof(req) - 1);
	} else {
		fill(b + at, n);
	}
	at += n;
	/* The IP lengths: true, or a lie. */
	if (!c->v6) {
		uint32_t tot = at - l3;

		switch (c->clean ? 19 : below(20)) {
		case 0: tot = 0; break;					/* GSO / BIG TCP */
		case 1: tot = range(0, tot); break;			/* short */
		case 2: tot = tot + range(1, 100); break;		/* long */
		case 3: tot = range(tot, 65535); break;			/* far too long */
		case 4: tot = range(0, 60); break;
		default: break;
		}
		put16(ip + 2, tot > 65535 ? 65535 : tot);
	} else {
		uint32_t plen = at - l3 - 40;

		switch (c->clean ? 19 : below(20)) {
		case 0: plen = 0; break;
		case 1: plen = range(0, plen); break;
		case 2: plen = plen + range(1, 100); break;
		case 3: plen = range(plen, 65535); break;
		case 4: plen = range(0, 60); break;
		default: break;
		}
		put16(ip + 4, plen > 65535 ? 65535 : plen);
	}
	if (c->clean)
		return at;
	/* Ethernet padding or trailer bytes after the packet. */
	if (chance(10)) {
		n = range(1, 64);
		if (at + n > frame_max)
			n = frame_max - at;
		fill(b + at, n);
		at += n;
	}
	/* Cut short: headers or payload missing. */
	if (chance(12))
		at = range(ETH_MIN, at);
	else if (chance(3))
		at = range(0, at);
	return at;
}

static void random_craft(struct craft *c)
{
	static const uint8_t flag_sets[] = {
		F_SYN, F_SYN | F_ACK, F_ACK, F_PSH | F_ACK, F_FIN | F_ACK, F_RST, F_RST | F_ACK,
		F_FIN | F_PSH | F_ACK, F_SYN | F_FIN, F_SYN | F_RST, F_URG | F_ACK | F_PSH,
	};
	size_t room;

	memset(c, 0, sizeof(*c));
	c->v6 = chance(45);
	c->vlans = chance(70) ? 0 : chance(50) ? 1 : chance(85) ? 2 : 3;
	if (!c->v6)
		c->ip_opts = chance(70) ? 0 : 4 * range(1, 10);
	else
		c->nexts = chance(40) ? 0 : chance(90) ? range(1, 4) : range(5, 8);
	c->doff = chance(75) ? (chance(60) ? 5 : range(6, 15)) : range(0, 15);
	c->flags = chance(70) ? flag_sets[below(sizeof(flag_sets))] : below(256);
	room = frame_max - 200;
	switch (below(6)) {
	case 0: c->payload = 0; break;
	case 1: c->payload = range(1, 16); break;
	case 2: c->payload = range(1, 600); break;
	case 3: c->payload = range(600, room); break;
	default: c->payload = range(0, 1500); break;
	}
	c->hello = chance(30);
}

/* Random bytes behind a start that gets past the first checks often enough. */
static size_t build_noise(uint8_t *b)
{
	static const unsigned types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x9100 };
	size_t len = chance(50) ? range(ETH_MIN, 80) : range(ETH_MIN, 400), at;

	fill(b, len);
	at = 12;
	put16(b + at, chance(85) ? types[below(4)] : types[below(6)]);
	while (at + 6 <= len && (get16(b + at) == 0x8100 || get16(b + at) == 0x88a8) && chance(80)) {
		at += 4;
		put16(b + at, chance(90) ? types[below(4)] : rnd());
	}
	at += 2;
	if (at < len && chance(80)) {
		if (get16(b + at - 2) == 0x0800)
			b[at] = chance(80) ? 0x40 | (b[at] & 0xf) : b[at];
		else
			b[at] = chance(80) ? 0x60 | (b[at] & 0xf) : b[at];
	}
	if (get16(b + at - 2) == 0x0800 && at + 9 < len && chance(80))
		b[at + 9] = 6;
	if (get16(b + at - 2) == 0x86dd && at + 6 < len && chance(80))
		b[at + 6] = chance(70) ? 6 : (uint8_t[]){ 0, 43, 44, 51, 60 }[below(5)];
	return len;
}

static size_t build_random(uint8_t *b)
{
	size_t len = chance(6) ? below(ETH_MIN) : chance(60) ? range(ETH_MIN, 128) :
		     range(ETH_MIN, frame_max);

	fill(b, len);
	return len;
}

/* A valid ClientHello frame, then 1..8 mutations. */
static size_t build_hello_mutant(uint8_t *b)
{
	static const uint8_t interesting[] = { 0x00, 0xff, 0x7f, 0x80, 0x16, 0x01, 0x05, 0x06,
					       0x08, 0x45, 0x60, 0x86, 0xdd, 0x81, 0x2c, 0x33 };
	struct craft c;
	size_t len, n, at;
	unsigned i, k;

	memset(&c, 0, sizeof(c));
	c.v6 = chance(45);
	c.vlans = chance(70) ? 0 : chance(50) ? 1 : 2;
	c.ip_opts = c.v6 || chance(80) ? 0 : 4 * range(1, 10);
	c.nexts = c.v6 && chance(30) ? range(1, 3) : 0;
	c.doff = chance(50) ? 5 : 8;
	c.flags = chance(80) ? F_PSH | F_ACK : chance(50) ? F_SYN : F_PSH | F_ACK | F_FIN;
	c.payload = frame_max - 200;
	c.hello = 1;
	c.clean = 1;
	len = build_crafted(b, &c);
	k = range(1, 8);
	for (i = 0; i < k && len; i++) {
		/* Half of the hits land in the headers, where they matter most. */
		at = chance(50) ? below(len < 120 ? len : 120) : below(len);
		switch (below(6)) {
		case 0:
			b[at] ^= 1u << below(8);
			break;
		case 1:
			b[at] = interesting[below(sizeof(interesting))];
			break;
		case 2:
			len = range(0, len);
			break;
		case 3:		/* insert */
			n = range(1, 16);
			if (len + n > frame_max)
				n = frame_max - len;
			memmove(b + at + n, b + at, len - at);
			fill(b + at, n);
			len += n;
			break;
		case 4:		/* delete */
			n = range(1, 16);
			if (at + n > len)
				n = len - at;
			memmove(b + at, b + at + n, len - at - n);
			len -= n;
			break;
		default:	/* a 16- or 32-bit field */
			if (at + 4 <= len)
				put32(b + at, chance(50) ? rnd() : 0);
			break;
		}
	}
	return len;
}

static size_t build_frame(uint8_t *b, uint64_t seed, uint64_t index, enum kind *kind)
{
	struct craft c;
	unsigned r;

	rng_s = seed ^ (index * 0xd1342543de82ef95ull);
	rnd();
	r = below(100);
	if (r < 15) {
		*kind = K_RANDOM;
		return build_random(b);
	}
	if (r < 30) {
		*kind = K_NOISE;
		return build_noise(b);
	}
	if (r < 72) {
		*kind = K_CRAFTED;
		random_craft(&c);
		return build_crafted(b, &c);
	}
	*kind = K_HELLO;
	return build_hello_mutant(b);
}

/* ---- the BPF side ------------------------------------------------------------------- */

struct got_rec {
	size_t size;
	uint8_t buf[sizeof(struct gp_payload_event) + GP_FIRST_PAYLOAD_MAX];
};

static struct got_rec got[NREC_MAX];
static unsigned ngot, extra_got;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	/* HTTP records have their own checks (tests/tools/l7dump); random bytes rarely make one. */
	if (gp_event_type(data, size) == GP_EV_L7)
		return 0;
	if (ngot >= NREC_MAX || size > sizeof(got[0].buf)) {
		extra_got++;
		return 0;
	}
	got[ngot].size = size;
	memcpy(got[ngot].buf, data, size);
	ngot++;
	return 0;
}

struct bpf {
	struct gp_loader *l;
	int prog_fd, flows_fd;
};

static int bpf_open(struct bpf *b)
{
	/*
	 * The TC program alone, as `grayprobe replay` loads it. A frame leaves
	 * at most one flow, removed before the next; a small table keeps the
	 * per-frame walks (get_next_key scans every bucket) cheap.
	 */
	struct gp_tc_only_opts o = { .flows_max = 1024, .adopt_midstream = 1, .on_event = on_event };
	const char *stage;
	int err;

	err = gp_loader_open_tc_only(&b->l, &o, &stage);
	if (err)
		return err;
	b->prog_fd = gp_loader_tc_fd(b->l);
	b->flows_fd = gp_loader_flows_fd(b->l);
	return 0;
}

static void bpf_close(struct bpf *b)
{
	gp_loader_close(b->l);
}

static uint64_t stat_get(struct bpf *b, uint32_t idx)
{
	uint64_t s;

	return gp_loader_stat(b->l, idx, &s) ? UINT64_MAX : s;
}

static int test_run(struct bpf *b, const void *frame, size_t len, uint32_t *retval)
{
	struct gp_test_run r = { .frame = frame, .len = len, .repeat = 1 };
	int err = gp_test_run(b->prog_fd, &r);

	*retval = r.retval;
	return err;
}

/* ---- checking --------------------------------------------------------------------- */

static char why[512];

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *tuple_str(const struct gp_flow_tuple *t, char *buf, size_t len)
{
	char a[48], d[48];

	gp_addr_str(t->family, t->saddr, a, sizeof(a));
	gp_addr_str(t->family, t->daddr, d, sizeof(d));
	snprintf(buf, len, "%s%s%s:%u -> %s%s%s:%u (family %u)", t->family == AF_INET6 ? "[" : "", a,
		 t->family == AF_INET6 ? "]" : "", t->sport, t->family == AF_INET6 ? "[" : "", d,
		 t->family == AF_INET6 ? "]" : "", t->dport, t->family);
	return buf;
}

static int check_record(unsigned i, const struct expect *x)
{
	const struct gp_payload_event *w = &x->rec[i];
	struct gp_payload_event h;
	const uint8_t *data;
	char t1[200], t2[200];

	if (gp_payload_decode(got[i].buf, got[i].size, &h, &data))
		return fail("record %u (%zu bytes) refused by gp_payload_decode", i, got[i].size);
	if (got[i].size != sizeof(h) + h.len)
		return fail("record %u: %zu bytes for len %u", i, got[i].size, h.len);
	if (h.type != w->type)
		return fail("record %u: type %u, expected %u", i, h.type, w->type);
	if (memcmp(&h.flow, &w->flow, sizeof(h.flow)))
		return fail("record %u: flow %s, expected %s", i, tuple_str(&h.flow, t1, sizeof(t1)),
			    tuple_str(&w->flow, t2, sizeof(t2)));
	if (h.off != 0 || h.len != w->len)
		return fail("record %u: off %u len %u, expected off 0 len %u", i, h.off, h.len, w->len);
	if (h.bytes != w->bytes || h.isn != w->isn)
		return fail("record %u: bytes %" PRIu64 " isn %u, expected bytes %" PRIu64 " isn %u", i,
			    (uint64_t)h.bytes, h.isn, (uint64_t)w->bytes, w->isn);
	if (h.ifindex != w->ifindex || !h.ts_ns || h._pad)
		return fail("record %u: ifindex %u ts %" PRIu64 " pad %u", i, h.ifindex,
			    (uint64_t)h.ts_ns, h._pad);
	if (h.len && memcmp(data, x->data, h.len)) {
		unsigned j = 0;

		while (data[j] == x->data[j])
			j++;
		return fail("record %u: data differs from the frame's payload at byte %u", i, j);
	}
	return 0;
}

/* The flow table as predicted: the one entry under the documented key, or none. */
static int check_flows(struct bpf *b, const struct expect *x)
{
	struct gp_flow_key k, *prev = NULL;
	struct gp_flow_val v, w;
	unsigned n = 0;

	if (x->flow) {
		if (bpf_map_lookup_elem(b->flows_fd, &x->key, &v))
			return fail("no gp_flows entry under the expected key");
		w = x->val;
		if (v.syn_ts && w.syn_ts)
			w.syn_ts = v.syn_ts;
		/* the HTTP walkers' state is l7dump's to check */
		if (memcmp(&v, &w, offsetof(struct gp_flow_val, l7)))
			return fail("gp_flows entry: syn_ts %s bytes %" PRIu64 " isn %u cap %u segs %u "
				    "client %u ended %u ifindex %u tls_walk %u; expected syn_ts %s bytes %"
				    PRIu64 " isn %u cap %u segs %u client %u ended %u ifindex %u tls_walk %u",
				    v.syn_ts ? "set" : "0", (uint64_t)v.bytes, v.isn, v.cap, v.segs,
				    v.client, v.ended, v.ifindex, v.tls_walk, x->val.syn_ts ? "set" : "0",
				    (uint64_t)w.bytes, w.isn, w.cap, w.segs, w.client, w.ended, w.ifindex,
				    w.tls_walk);
		if (v.tls_next != w.tls_next)
			return fail("gp_flows entry: tls_next %u, expected %u", v.tls_next, w.tls_next);
	}
	while (!bpf_map_get_next_key(b->flows_fd, prev, &k)) {
		prev = &k;
		n++;
	}
	if (n != (unsigned)x->flow)
		return fail("%u gp_flows entries, expected %d", n, x->flow);
	return 0;
}

/* Every frame meets an empty flow table, whatever the last one left. */
static void empty_flows(struct bpf *b)
{
	struct gp_flow_key k;

	while (!bpf_map_get_next_key(b->flows_fd, NULL, &k))
		if (bpf_map_delete_elem(b->flows_fd, &k))
			break;
}

struct totals {
	uint64_t generated, run, einval_short, einval_l3, einval_other, records, mismatches;
	uint64_t verdicts[V_MAX], kinds[K_MAX], payload_recs, end_recs, flows, malformed;
	uint64_t feat[FT_MAX];
	const char *why[32];
	uint64_t why_n[32];
};

static void count_why(struct totals *t, const char *w)
{
	unsigned i;

	for (i = 0; i < 32 && t->why[i] && t->why[i] != w; i++)
		;
	if (i < 32) {
		t->why[i] = w;
		t->why_n[i]++;
	}
}

static void hexdump(FILE *o, const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(o, "%s%02x", i % 32 ? (i % 8 ? "" : " ") : (i ? "\n    " : "    "), d[i]);
	fputc('\n', o);
}

/* One frame: 0 agreed, -1 mismatch (why[] says how). */
static int compare(struct bpf *b, const uint8_t *f, size_t len, struct totals *t, struct expect *x,
	       struct ref *r)
{
	uint64_t before, after;
	uint32_t retval = 0;
	unsigned i;
	int rc;

	ref_parse(f, len, r);
	ref_expect(f, len, r, x);
	t->verdicts[r->v]++;
	if (r->why)
		count_why(t, r->why);
	for (i = 0; i < FT_MAX; i++)
		t->feat[i] += !!(r->feat & (1u << i));
	ngot = extra_got = 0;
	before = stat_get(b, GP_STAT_PKT_MALFORMED);
	rc = test_run(b, f, len, &retval);
	if (!rc)
		t->run++;
	else if (rc == -EINVAL && r->v == V_EINVAL_SHORT)
		t->einval_short++;
	else if (rc == -EINVAL && r->v == V_EINVAL_L3)
		t->einval_l3++;
	else
		t->einval_other++;
	gp_loader_drain(b->l);
	after = stat_get(b, GP_STAT_PKT_MALFORMED);
	if (rc != x->rc)
		return fail("BPF_PROG_TEST_RUN returned %d (%s), expected %d", rc,
			    rc ? strerror(-rc) : "ok", x->rc);
	if (!rc && (int32_t)retval != TC_ACT_UNSPEC)
		return fail("program returned %d, expected %d (TC_ACT_UNSPEC)", (int32_t)retval,
			    TC_ACT_UNSPEC);
	if (before == UINT64_MAX || after == UINT64_MAX)
		return fail("reading gp_stats: %s", strerror(errno));
	t->malformed += after - before;
	if (after - before != x->malformed)
		return fail("GP_STAT_PKT_MALFORMED went up by %" PRIu64 ", expected %u", after - before,
			    x->malformed);
	if (ngot != x->nrec || extra_got)
		return fail("%u records (+%u unreadable), expected %u", ngot, extra_got, x->nrec);
	for (i = 0; i < ngot; i++) {
		if (check_record(i, x))
			return -1;
		t->records++;
		if (x->rec[i].type == GP_EV_PAYLOAD)
			t->payload_recs++;
		else
			t->end_recs++;
	}
	t->flows += x->flow;
	return check_flows(b, x);
}

static int one(struct bpf *b, const uint8_t *f, size_t len, struct totals *t, struct expect *x,
	       struct ref *r)
{
	int bad = compare(b, f, len, t, x, r);

	empty_flows(b);
	return bad;
}

static void show(uint64_t seed, uint64_t index, enum kind kind, const uint8_t *f, size_t len,
		 const struct ref *r, const struct expect *x)
{
	unsigned i;

	fprintf(stderr, "MISMATCH frame %" PRIu64 " (seed %" PRIu64 ", %s, %zu bytes): %s\n", index, seed,
		kind_names[kind], len, why);
	fprintf(stderr, "  reference: %s%s%s", verdict_names[r->v], r->why ? ": " : "", r->why ? r->why : "");
	if (r->v == V_TCP)
		fprintf(stderr, ", flags 0x%02x seq %u payload at %u, %u by IP length, %zu in the frame",
			r->flags, r->seq, r->pl_off, r->pl_len, len > r->pl_off ? len - r->pl_off : 0);
	fprintf(stderr, "; expects %u record(s)%s\n", x->nrec, x->flow ? " and a flow" : "");
	for (i = 0; i < ngot; i++) {
		struct gp_payload_event h;
		char tb[200];

		memcpy(&h, got[i].buf, got[i].size < sizeof(h) ? got[i].size : sizeof(h));
		fprintf(stderr, "  got record %u: type %u %s off %u len %u bytes %" PRIu64 " isn %u\n", i,
			h.type, tuple_str(&h.flow, tb, sizeof(tb)), h.off, h.len, (uint64_t)h.bytes, h.isn);
	}
	hexdump(stderr, f, len > 512 ? 512 : len);
	if (len > 512)
		fprintf(stderr, "    ... (%zu more bytes; replay with -s %" PRIu64 " -i %" PRIu64 " -v)\n",
			len - 512, seed, index);
}

/* What this kernel's BPF_PROG_TEST_RUN refuses, for the reference and the log. */
static int probe(struct bpf *b, int verbose)
{
	static uint8_t f[FRAME_CAP + 1];
	uint32_t ret;
	size_t lo, hi, m;
	int a, c;

	memset(f, 0, sizeof(f));
	a = test_run(b, f, ETH_MIN - 1, &ret);
	c = test_run(b, f, ETH_MIN, &ret);
	if (a != -EINVAL || c) {
		fprintf(stderr, "tcfuzz: test_run of 13/14 bytes gave %d/%d, expected -EINVAL/0\n", a, c);
		return -1;
	}
	put16(f + 12, 0x0800);
	a = test_run(b, f, ETH_MIN + 19, &ret);
	c = test_run(b, f, ETH_MIN + 20, &ret);
	if (c) {
		fprintf(stderr, "tcfuzz: test_run of a 20-byte IPv4 packet failed: %s\n", strerror(-c));
		return -1;
	}
	kernel_rejects_short_l3 = a == -EINVAL;
	put16(f + 12, 0x86dd);
	a = test_run(b, f, ETH_MIN + 39, &ret);
	if ((a == -EINVAL) != kernel_rejects_short_l3) {
		fprintf(stderr, "tcfuzz: short IPv4 and IPv6 treated differently (%d)\n", a);
		return -1;
	}
	/* Largest frame taken (one page of linear data). */
	put16(f + 12, 0x0800);
	lo = ETH_MIN + 20;
	hi = FRAME_CAP;
	if (test_run(b, f, hi, &ret)) {
		while (lo < hi) {
			m = (lo + hi + 1) / 2;
			if (test_run(b, f, m, &ret))
				hi = m - 1;
			else
				lo = m;
		}
		frame_max = lo;
	}
	(void)verbose;
	printf("tcfuzz: kernel: frames under %d bytes refused (EINVAL); IPv4/IPv6 frames shorter "
		       "than their fixed IP header %s; frames up to %zu bytes\n", ETH_MIN,
		       kernel_rejects_short_l3 ? "refused (EINVAL)" : "run", frame_max);
	/* Leave nothing behind. */
	ngot = 0;
	gp_loader_drain(b->l);
	return 0;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: tcfuzz [-n COUNT] [-s SEED] [-m SHOW] [-i INDEX] [-v] [--probe]\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "probe", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t frame[FRAME_CAP + 64];
	uint64_t count = 200000, seed = 1, index = UINT64_MAX, k, lo = 0, hi;
	unsigned show_max = 5, v;
	int opt, verbose = 0, probe_only = 0, err;
	struct timespec t0, t1;
	struct totals t = { 0 };
	struct bpf b = { 0 };
	struct expect x;
	struct ref r;
	enum kind kind;
	char *end;
	size_t len;
	double secs;

	while ((opt = getopt_long(argc, argv, "n:s:m:i:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
		case 's':
		case 'm':
		case 'i':
			errno = 0;
			k = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "tcfuzz: -%c: not a number: %s\n", opt, optarg);
				return 2;
			}
			if (opt == 'n')
				count = k;
			else if (opt == 's')
				seed = k;
			else if (opt == 'm')
				show_max = k;
			else
				index = k;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'P':
			probe_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	err = bpf_open(&b);
	if (err) {
		fprintf(stderr, "tcfuzz: loading the BPF object: %s (needs root)\n", strerror(-err));
		bpf_close(&b);
		return 3;
	}
	if (probe(&b, verbose)) {
		bpf_close(&b);
		return 3;
	}
	if (probe_only) {
		bpf_close(&b);
		return 0;
	}
	hi = count;
	if (index != UINT64_MAX) {
		lo = index;
		hi = index + 1;
		verbose = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = lo; k < hi; k++) {
		len = build_frame(frame, seed, k, &kind);
		if (len > frame_max)
			len = frame_max;
		t.generated++;
		t.kinds[kind]++;
		if (one(&b, frame, len, &t, &x, &r)) {
			if (t.mismatches++ < show_max || verbose)
				show(seed, k, kind, frame, len, &r, &x);
		} else if (verbose) {
			printf("frame %" PRIu64 " (%s, %zu bytes): %s%s%s, %u record(s)%s: agreed\n", k,
			       kind_names[kind], len, verdict_names[r.v], r.why ? ": " : "",
			       r.why ? r.why : "", x.nrec, x.flow ? " and a flow" : "");
			hexdump(stdout, frame, len);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (stat_get(&b, GP_STAT_LOST_PAYLOAD) || stat_get(&b, GP_STAT_LOST_RINGBUF)) {
		fprintf(stderr, "tcfuzz: records were lost in the ring buffer\n");
		t.mismatches++;
	}
	printf("tcfuzz: seed %" PRIu64 ": %" PRIu64 " generated (", seed, t.generated);
	for (v = 0; v < K_MAX; v++)
		printf("%s%s %" PRIu64, v ? ", " : "", kind_names[v], t.kinds[v]);
	printf("), %" PRIu64 " run, %" PRIu64 " rejected by test_run (%" PRIu64 " under 14 bytes, %"
	       PRIu64 " IP shorter than its header, %" PRIu64 " otherwise)\n", t.run,
	       t.einval_short + t.einval_l3 + t.einval_other, t.einval_short, t.einval_l3,
	       t.einval_other);
	printf("tcfuzz: reference verdicts:");
	for (v = 0; v < V_MAX; v++)
		printf(" %s %" PRIu64, verdict_names[v], t.verdicts[v]);
	printf("\ntcfuzz: coverage:");
	for (v = 0; v < FT_MAX; v++)
		printf(" %s %" PRIu64, feat_names[v], t.feat[v]);
	printf("\ntcfuzz: rules:");
	for (v = 0; v < 32 && t.why[v]; v++)
		printf("%s %s %" PRIu64, v ? ";" : "", t.why[v], t.why_n[v]);
	printf("\ntcfuzz: %" PRIu64 " records matched (%" PRIu64 " payload, %" PRIu64 " flow end), %"
	       PRIu64 " flows checked, %" PRIu64 " malformed counted; %" PRIu64 " mismatches; %.2f s\n",
	       t.records, t.payload_recs, t.end_recs, t.flows, t.malformed, t.mismatches, secs);
	bpf_close(&b);
	return t.mismatches ? 1 : 0;
}
