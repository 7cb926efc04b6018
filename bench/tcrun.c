// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-packet cost of grayprobe's TC classifier (gp_tc), as the kernel
 * reports it through BPF_PROG_TEST_RUN (topts.duration: ns per run, timed
 * by the kernel around the program). Nothing is attached anywhere and no
 * packet reaches any network: frames are crafted here and handed to the
 * program in memory.
 *
 *   tcrun [-R ROUNDS] [-n REPEAT] [-f FLOWS] [-c EVERY] [-C CASE,...] [-B]
 *
 * Variant A is an empty sched_cls program (r0 = TC_ACT_UNSPEC; exit) run on
 * the same frames: the floor of the test-run harness. Variant B is gp_tc.
 * They alternate round by round (A B A B ...). Cases:
 *   midflow  a 1448-byte data segment of a known IPv4 flow (SYN, SYN-ACK,
 *            ACK and a first request went through first), far past the
 *            capture window: flow lookup and byte count only. REPEAT runs.
 *   nontcp   an IPv4 UDP datagram. REPEAT runs.
 *   hello    the first payload of a new flow: a 2 KB TLS 1.3 ClientHello
 *            (X25519MLKEM768 key share, SNI, ALPN h2,http/1.1), copied to
 *            the ring buffer. Needs a new flow per run, so each of FLOWS
 *            flows gets its SYN, then the hello with repeat=1; the round's
 *            figure is the median over its flows.
 *   http     the same with a plaintext HTTP/1.1 request carrying X-Gray.
 *   h2data   a 1448-byte segment inside a long HTTP/2 DATA frame of a known
 *            h2c flow (both directions' handshake and prefaces seen): the
 *            walker's arithmetic-only path. Each run is a new segment (a
 *            repeated one would be a retransmit), so runs are repeat=1 and
 *            the figure is the median over FLOWS consecutive segments.
 *   tlsdata  the same segments in a TLS flow (not HTTP: the path without
 *            the walker), measured the same way: h2data - tlsdata is what
 *            following HTTP/2 costs such a segment.
 *   h2headers  a segment holding a HEADERS frame (300-byte block) and a
 *            DATA frame with END_STREAM: one unit and one end forwarded.
 *   h1head   a segment holding one HTTP/1.1 request head (the http case's,
 *            463 bytes) of a keep-alive flow: scanned byte by byte, forwarded.
 * The ring buffer is drained (outside any timing) every EVERY flows; with
 * the default 1 the consumer is always caught up, so each record takes the
 * wake-up path an idle agent's ring buffer takes.
 * -C runs only the cases named; -B only variant B (for profiling gp_tc alone).
 * Output, one line per round and case: "tc_CASE VARIANT NS".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "grayprobe.h"
#include "collect/loader.h"

#define FRAME_MAX	3584

static uint8_t frame[FRAME_MAX];

struct flow4 {
	uint32_t c, s;		/* network order */
	uint16_t cport, sport;
	uint32_t cisn, sisn;
};

static uint16_t csum16(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s & 0xffff);
}

static size_t eth_ip4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint8_t *ip = f + 14;
	uint16_t tot = htons(20 + l4len), id = htons(0x1234), frag = htons(0x4000);

	memcpy(f, mac, 12);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	memcpy(ip + 2, &tot, 2);
	memcpy(ip + 4, &id, 2);
	memcpy(ip + 6, &frag, 2);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	{
		uint16_t c = csum16(ip, 20);

		memcpy(ip + 10, &c, 2);
	}
	return 14 + 20;
}

/* A TCP segment of flow fl with the timestamp option, as Linux sends them. */
static size_t tcp4(const struct flow4 *fl, int from_client, uint32_t seq, uint32_t ack,
		   uint8_t flags, const void *data, size_t len)
{
	size_t off = eth_ip4(frame, from_client ? fl->c : fl->s, from_client ? fl->s : fl->c,
			     6, 32 + len);
	uint8_t *th = frame + off;
	uint16_t sp = htons(from_client ? fl->cport : fl->sport);
	uint16_t dp = htons(from_client ? fl->sport : fl->cport);
	uint16_t win = htons(502);
	uint32_t s = htonl(seq), a = htonl(ack);
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0 };

	memset(th, 0, 32);
	memcpy(th, &sp, 2);
	memcpy(th + 2, &dp, 2);
	memcpy(th + 4, &s, 4);
	memcpy(th + 8, &a, 4);
	th[12] = 8 << 4;
	th[13] = flags;
	memcpy(th + 14, &win, 2);
	memcpy(th + 20, opts, 12);
	if (len)
		memcpy(th + 32, data, len);
	return off + 32 + len;
}

static size_t udp4(size_t len)
{
	size_t off = eth_ip4(frame, inet_addr("198.18.0.1"), inet_addr("198.18.0.53"), 17, 8 + len);
	uint8_t *uh = frame + off;
	uint16_t sp = htons(41000), dp = htons(53), ul = htons(8 + len);

	memcpy(uh, &sp, 2);
	memcpy(uh + 2, &dp, 2);
	memcpy(uh + 4, &ul, 2);
	memset(uh + 6, 0, 2 + len);
	return off + 8 + len;
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	*p++ = v >> 8;
	*p++ = v;
	return p;
}

/* A TLS 1.3 ClientHello of total record size ~2 KB, like a post-quantum Chromium hello. */
static size_t client_hello(uint8_t *out)
{
	static const char sni[] = "shop.example.com";
	uint8_t *p = out, *hs_len, *ext_len, *e;
	size_t i, n;

	*p++ = 0x16;
	p = put16(p, 0x0301);
	p += 2;				/* record length */
	*p++ = 0x01;			/* client_hello */
	hs_len = p;
	p += 3;
	p = put16(p, 0x0303);
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(i * 37 + 11);	/* random */
	*p++ = 32;
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(i * 91 + 5);	/* legacy session id */
	p = put16(p, 16 * 2);
	for (i = 0; i < 16; i++)
		p = put16(p, 0x1301 + (i % 3) + (i >= 3 ? 0xbe00 : 0));
	*p++ = 1;
	*p++ = 0;
	ext_len = p;
	p += 2;
	e = p;
	/* server_name */
	p = put16(p, 0);
	p = put16(p, strlen(sni) + 5);
	p = put16(p, strlen(sni) + 3);
	*p++ = 0;
	p = put16(p, strlen(sni));
	memcpy(p, sni, strlen(sni));
	p += strlen(sni);
	/* ALPN: h2, http/1.1 */
	p = put16(p, 16);
	p = put16(p, 14);
	p = put16(p, 12);
	*p++ = 2;
	memcpy(p, "h2", 2);
	p += 2;
	*p++ = 8;
	memcpy(p, "http/1.1", 8);
	p += 8;
	/* supported_versions: TLS 1.3, 1.2 */
	p = put16(p, 43);
	p = put16(p, 5);
	*p++ = 4;
	p = put16(p, 0x0304);
	p = put16(p, 0x0303);
	/* supported_groups */
	p = put16(p, 10);
	p = put16(p, 6);
	p = put16(p, 4);
	p = put16(p, 0x11ec);
	p = put16(p, 0x001d);
	/* key_share: X25519MLKEM768 (1216 bytes) and x25519 (32) */
	p = put16(p, 51);
	p = put16(p, 2 + 4 + 1216 + 4 + 32);
	p = put16(p, 4 + 1216 + 4 + 32);
	p = put16(p, 0x11ec);
	p = put16(p, 1216);
	for (i = 0; i < 1216; i++)
		*p++ = (uint8_t)(i * 131 + 7);
	p = put16(p, 0x001d);
	p = put16(p, 32);
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(i * 17 + 3);
	/* padding up to a 2048-byte record */
	n = p - out;
	if (n + 4 < 2048) {
		size_t pad = 2048 - n - 4;

		p = put16(p, 21);
		p = put16(p, pad);
		memset(p, 0, pad);
		p += pad;
	}
	n = p - out;
	put16(ext_len, p - e);
	hs_len[0] = (n - 9) >> 16;
	hs_len[1] = (n - 9) >> 8;
	hs_len[2] = n - 9;
	put16(out + 3, n - 5);
	return n;
}

static const char http_req[] =
	"GET /api/v2/cart/items?page=1 HTTP/1.1\r\n"
	"Host: shop.example.com\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/131.0.0.0 Safari/537.36\r\n"
	"Accept: application/json\r\n"
	"Accept-Encoding: gzip, deflate, br\r\n"
	"Accept-Language: en-US,en;q=0.9\r\n"
	"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; cart=3\r\n"
	"X-Request-Id: 6b86b273ff34fce19d6b804eff5a3f57\r\n"
	"X-Gray: canary\r\n"
	"\r\n";

static int run(int fd, size_t len, unsigned repeat, uint32_t *ns)
{
	struct gp_test_run r = { .frame = frame, .len = len, .repeat = repeat };
	int err = gp_test_run(fd, &r);

	if (err) {
		fprintf(stderr, "tcrun: test run: %s\n", strerror(-err));
		return -1;
	}
	*ns = r.duration_ns;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int drop_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static int empty_prog(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "gpb_empty", "Dual BSD/GPL", insns, 2, NULL);
}

static int want(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static uint32_t next_port = 20000;

static struct flow4 new_flow(void)
{
	struct flow4 f = {
		.c = inet_addr("198.18.0.1"), .s = inet_addr("198.18.0.2"),
		.cport = next_port++, .sport = 443,
		.cisn = 0x10000000u + next_port * 7919u, .sisn = 0x80000000u + next_port * 104729u,
	};

	if (next_port > 65000)
		next_port = 20000;
	return f;
}

/*
 * A flow past its handshake (SYN, SYN-ACK, ACK) and first payloads: c0 from
 * the client, s0 from the server. Returns the client's next sequence number.
 */
static uint32_t open_flow(int fd, struct flow4 *f, uint16_t port, const void *c0, size_t c0len,
			  const void *s0, size_t s0len)
{
	uint32_t ns;

	*f = new_flow();
	f->sport = port;
	run(fd, tcp4(f, 1, f->cisn, 0, 0x02, NULL, 0), 1, &ns);
	run(fd, tcp4(f, 0, f->sisn, f->cisn + 1, 0x12, NULL, 0), 1, &ns);
	run(fd, tcp4(f, 1, f->cisn + 1, f->sisn + 1, 0x10, NULL, 0), 1, &ns);
	run(fd, tcp4(f, 1, f->cisn + 1, f->sisn + 1, 0x18, c0, c0len), 1, &ns);
	if (s0len)
		run(fd, tcp4(f, 0, f->sisn + 1, f->cisn + 1 + c0len, 0x18, s0, s0len), 1, &ns);
	return f->cisn + 1 + c0len;
}

/* Median ns over n consecutive client segments of seg bytes each, from sequence seq. */
static int stream_segs(int fd, struct gp_loader *l, const struct flow4 *f, uint32_t seq,
		       const uint8_t *seg, size_t seglen, unsigned n, uint32_t *out)
{
	uint32_t *v = calloc(n, sizeof(*v));
	unsigned i;

	if (!v)
		return -1;
	for (i = 0; i < n; i++, seq += seglen) {
		if (run(fd, tcp4(f, 1, seq, f->sisn + 1, 0x10, seg, seglen), 1, &v[i])) {
			free(v);
			return -1;
		}
		if (l && (i + 1) % 64 == 0)
			gp_loader_drain(l);
	}
	if (l)
		gp_loader_drain(l);
	qsort(v, n, sizeof(*v), cmp_u32);
	*out = v[n / 2];
	free(v);
	return 0;
}

static size_t h2_frame(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
	p[0] = len >> 16;
	p[1] = len >> 8;
	p[2] = len;
	p[3] = type;
	p[4] = flags;
	p[5] = stream >> 24;
	p[6] = stream >> 16;
	p[7] = stream >> 8;
	p[8] = stream;
	return 9;
}

/* The HTTP/2 cases: median ns per segment of each kind, on variant fd. */
static int h2_cases(int fd, struct gp_loader *l, const char *cases, unsigned n, const char *var)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static uint8_t c0[64], s0[16], seg[1448], hs[400];
	struct flow4 f;
	uint32_t seq, ns;
	size_t len, hl;

	memcpy(c0, preface, 24);
	len = 24 + h2_frame(c0 + 24, 0, 4, 0, 0);
	h2_frame(s0, 0, 4, 0, 0);
	if (want(cases, "h2data")) {
		/* HEADERS, then a DATA frame of 16 MB: the segments land inside it */
		memcpy(c0 + len, "\0\0\0\x01\x04\0\0\0\x01", 9);
		h2_frame(c0 + len + 9, 0xffffff, 0, 0, 1);
		seq = open_flow(fd, &f, 80, c0, len + 18, s0, 9);
		if (stream_segs(fd, l, &f, seq, seg, sizeof(seg), n, &ns))
			return -1;
		printf("tc_h2data %s %u\n", var, ns);
	}
	if (want(cases, "tlsdata")) {
		static const uint8_t tls[] = { 0x16, 3, 1, 0, 4, 1, 0, 0, 0 };

		seq = open_flow(fd, &f, 443, tls, sizeof(tls), NULL, 0);
		if (stream_segs(fd, l, &f, seq, seg, sizeof(seg), n, &ns))
			return -1;
		printf("tc_tlsdata %s %u\n", var, ns);
	}
	if (want(cases, "h2headers")) {
		hl = h2_frame(hs, 300, 1, 4, 1);
		memset(hs + hl, 0x82, 300);
		hl += 300;
		hl += h2_frame(hs + hl, 50, 0, 1, 1);
		memset(hs + hl, 'x', 50);
		hl += 50;
		seq = open_flow(fd, &f, 80, c0, len, s0, 9);
		if (stream_segs(fd, l, &f, seq, hs, hl, n, &ns))
			return -1;
		printf("tc_h2headers %s %u\n", var, ns);
	}
	if (want(cases, "h1head")) {
		seq = open_flow(fd, &f, 80, http_req, sizeof(http_req) - 1, NULL, 0);
		if (stream_segs(fd, l, &f, seq, (const uint8_t *)http_req, sizeof(http_req) - 1, n, &ns))
			return -1;
		printf("tc_h1head %s %u\n", var, ns);
	}
	return 0;
}

/* Median ns of a first-payload record over nflows new flows. */
static int first_payload(int fd, struct gp_loader *l, const uint8_t *data, size_t dlen,
			 unsigned nflows, unsigned every, uint32_t *out)
{
	uint32_t *v = calloc(nflows, sizeof(*v)), ns;
	unsigned i;
	size_t len;

	if (!v)
		return -1;
	for (i = 0; i < nflows; i++) {
		struct flow4 f = new_flow();

		len = tcp4(&f, 1, f.cisn, 0, 0x02, NULL, 0);
		if (run(fd, len, 1, &ns))
			goto fail;
		len = tcp4(&f, 1, f.cisn + 1, f.sisn + 1, 0x18, data, dlen);
		if (run(fd, len, 1, &v[i]))
			goto fail;
		if (l && (i + 1) % every == 0)
			gp_loader_drain(l);
	}
	if (l)
		gp_loader_drain(l);
	qsort(v, nflows, sizeof(*v), cmp_u32);
	*out = v[nflows / 2];
	free(v);
	return 0;
fail:
	free(v);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned rounds = 5, repeat = 1000000, nflows = 2000, every = 1, r, k;
	const char *cases = "midflow,nontcp,hello,http,h2data,tlsdata,h2headers,h1head";
	int only_b = 0;
	struct gp_tc_only_opts lo = { .on_event = drop_record };
	struct gp_loader *l;
	const char *stage;
	uint64_t stats[GP_STAT_MAX];
	uint8_t hello[2200];
	size_t hello_len, len;
	struct flow4 mid;
	uint32_t ns;
	int opt, fd[2], err;

	while ((opt = getopt(argc, argv, "R:n:f:c:C:B")) != -1) {
		switch (opt) {
		case 'R':
			rounds = atoi(optarg);
			break;
		case 'n':
			repeat = atoi(optarg);
			break;
		case 'f':
			nflows = atoi(optarg);
			break;
		case 'c':
			every = atoi(optarg);
			break;
		case 'C':
			cases = optarg;
			break;
		case 'B':
			only_b = 1;
			break;
		default:
			fprintf(stderr, "usage: tcrun [-R ROUNDS] [-n REPEAT] [-f FLOWS] [-c EVERY] "
				"[-C CASE,...] [-B]\n");
			return 2;
		}
	}
	if (!rounds || !repeat || !nflows || !every || nflows > 40000)
		return 2;
	hello_len = client_hello(hello);

	/* Flows from their SYN only, the object's table sizes: as the agent runs it. */
	err = gp_loader_open_tc_only(&l, &lo, &stage);
	if (err) {
		fprintf(stderr, "tcrun: %s: %s\n", stage, strerror(-err));
		return 1;
	}
	fd[0] = empty_prog();
	fd[1] = gp_loader_tc_fd(l);
	if (fd[0] < 0) {
		fprintf(stderr, "tcrun: empty program: %s\n", strerror(errno));
		return 1;
	}

	/* A known flow: handshake and a first request, then mid-flow data far past the capture. */
	mid = new_flow();
	len = tcp4(&mid, 1, mid.cisn, 0, 0x02, NULL, 0);
	run(fd[1], len, 1, &ns);
	len = tcp4(&mid, 0, mid.sisn, mid.cisn + 1, 0x12, NULL, 0);
	run(fd[1], len, 1, &ns);
	len = tcp4(&mid, 1, mid.cisn + 1, mid.sisn + 1, 0x10, NULL, 0);
	run(fd[1], len, 1, &ns);
	len = tcp4(&mid, 1, mid.cisn + 1, mid.sisn + 1, 0x18, http_req, sizeof(http_req) - 1);
	run(fd[1], len, 1, &ns);
	gp_loader_drain(l);

	for (r = 0; r < rounds; r++) {
		for (k = only_b; k < 2; k++) {
			static const char *const var[2] = { "empty", "gp_tc" };
			static uint8_t payload[1448];

			if (want(cases, "midflow")) {
				len = tcp4(&mid, 1, mid.cisn + 1 + 100000, mid.sisn + 1, 0x10, payload,
					   sizeof(payload));
				if (run(fd[k], len, repeat, &ns))
					return 1;
				printf("tc_midflow %s %u\n", var[k], ns);
			}
			if (want(cases, "nontcp")) {
				len = udp4(100);
				if (run(fd[k], len, repeat, &ns))
					return 1;
				printf("tc_nontcp %s %u\n", var[k], ns);
			}
			if (want(cases, "hello")) {
				if (first_payload(fd[k], k ? l : NULL, hello, hello_len, nflows, every, &ns))
					return 1;
				printf("tc_hello %s %u\n", var[k], ns);
			}
			if (want(cases, "http")) {
				if (first_payload(fd[k], k ? l : NULL, (const uint8_t *)http_req,
						  sizeof(http_req) - 1, nflows, every, &ns))
					return 1;
				printf("tc_http %s %u\n", var[k], ns);
			}
			if (h2_cases(fd[k], k ? l : NULL, cases, nflows, var[k]))
				return 1;
			fflush(stdout);
		}
	}
	/* Nothing was lost or skipped, or the figures are not of the paths named. */
	if (!gp_loader_stats(l, stats))
		for (k = 0; k < GP_STAT_MAX; k++)
			if (stats[k])
				fprintf(stderr, "tcrun: warning: gp_stats[%u] = %llu\n", k,
					(unsigned long long)stats[k]);
	fprintf(stderr, "tcrun: hello frame %zu bytes (record %zu), http frame %zu bytes\n",
		hello_len + 66, hello_len, sizeof(http_req) - 1 + 66);
	close(fd[0]);
	gp_loader_close(l);
	return 0;
}
