// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS handshake time from the client's record headers: the walker on
 * records built from RFC 8446 / RFC 5246 message sequences, then the
 * tagger on the real captures in <project>/../shared/corpus/pcap, each
 * flow's time checked against tshark's frame times (ClientHello frame to
 * the client's first frame with an application_data record). Without the
 * captures or tshark that part is skipped, with the reason printed.
 */
#define _GNU_SOURCE	/* getline, popen */
#include <arpa/inet.h>
#include <glob.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "pipeline/tagger.h"
#include "pipeline/tlshs.h"

#ifndef GP_SRCDIR
#error "GP_SRCDIR must name the project root"
#endif
#define CORPUS_DIR GP_SRCDIR "/../shared/corpus/pcap"

#define MS	1000000ull

/* ---- the walker --------------------------------------------------------- */

/* A record header and len body bytes of fill at b; returns the bytes written. */
static size_t rec(uint8_t *b, uint8_t type, uint8_t minor, size_t len, uint8_t fill)
{
	b[0] = type, b[1] = 3, b[2] = minor, b[3] = (uint8_t)(len >> 8), b[4] = (uint8_t)len;
	memset(b + 5, fill, len);
	return 5 + len;
}

/* A stream: ClientHello (300 bytes), then the given records, each 40 bytes. */
static size_t stream(uint8_t *b, const uint8_t *types, size_t n)
{
	size_t k = rec(b, 22, 1, 300, 0x17), i;

	for (i = 0; i < n; i++)
		k += rec(b + k, types[i], 3, 40, 0x17);
	return k;
}

/* Every byte its own segment, at 1 ms each: the header's first byte decides. */
static void test_tls13_byte_by_byte(void **state)
{
	static const uint8_t t13[] = { 20, 23, 23 };
	struct gp_tls_hs w = { 0 };
	uint8_t b[1024];
	size_t n = stream(b, t13, 3), i;
	enum gp_tls_hs_state st = GP_TLS_HS_IDLE;

	(void)state;
	for (i = 0; i < n && st != GP_TLS_HS_DONE; i++)
		st = gp_tls_hs_feed(&w, (uint32_t)i, b + i, 1, (i + 1) * MS);
	assert_int_equal(st, GP_TLS_HS_DONE);
	/* Its header is at 305 (hello) + 6 + 40 (ChangeCipherSpec of 40 here): byte 351. */
	assert_int_equal(i, 305 + 45 + 5);
	assert_int_equal(w.hello_ts, MS);
	assert_int_equal(w.end_ts, (305 + 45 + 1) * MS);
}

/* TLS 1.2: key exchange, ChangeCipherSpec, encrypted Finished, then data; an alert on the way. */
static void test_tls12_and_retransmits(void **state)
{
	static const uint8_t t12[] = { 22, 20, 22, 21, 23 };
	struct gp_tls_hs w = { 0 };
	uint8_t b[1024];
	size_t n = stream(b, t12, 5), end23 = 305 + 4 * 45;

	(void)state;
	assert_int_equal(gp_tls_hs_feed(&w, 0, b, 200, 10), GP_TLS_HS_WALK);
	/* Retransmitted and overlapping segments change nothing. */
	assert_int_equal(gp_tls_hs_feed(&w, 0, b, 100, 20), GP_TLS_HS_WALK);
	assert_int_equal(gp_tls_hs_feed(&w, 150, b + 150, (uint32_t)(end23 - 150), 30),
			 GP_TLS_HS_WALK);
	assert_int_equal(gp_tls_hs_feed(&w, (uint32_t)end23, b + end23, (uint32_t)(n - end23), 40),
			 GP_TLS_HS_DONE);
	assert_int_equal(w.hello_ts, 10);
	assert_int_equal(w.end_ts, 40);
	/* Done is done. */
	assert_int_equal(gp_tls_hs_feed(&w, (uint32_t)n, b, 10, 50), GP_TLS_HS_DONE);
	assert_int_equal(w.end_ts, 40);
}

static enum gp_tls_hs_state whole(const uint8_t *b, size_t n)
{
	struct gp_tls_hs w = { 0 };

	return gp_tls_hs_feed(&w, 0, b, (uint32_t)n, 1);
}

/* Anything that is not a record sequence from a ClientHello on gives up. */
static void test_gives_up(void **state)
{
	static const uint8_t ok[] = { 20, 23 }, heartbeat[] = { 24, 23 };
	struct gp_tls_hs w = { 0 };
	uint8_t b[1024];
	size_t n = stream(b, ok, 2);

	(void)state;
	assert_int_equal(whole(b, n), GP_TLS_HS_DONE);
	assert_int_equal(whole(b, 305 + 45 + 4), GP_TLS_HS_WALK);	/* not whole yet */
	assert_int_equal(whole(b, stream(b, heartbeat, 2)), GP_TLS_HS_OFF);
	n = stream(b, ok, 2);
	b[305 + 1] = 2;							/* SSL 2 */
	assert_int_equal(whole(b, n), GP_TLS_HS_OFF);
	n = stream(b, ok, 2);
	b[305 + 2] = 5;							/* 0x0305 */
	assert_int_equal(whole(b, n), GP_TLS_HS_OFF);
	n = stream(b, ok, 2);
	b[305 + 3] = 0x48;						/* > 2^14 + 2048 */
	assert_int_equal(whole(b, n), GP_TLS_HS_OFF);
	n = stream(b, ok, 2);
	b[305 + 4] = 0;							/* empty */
	assert_int_equal(whole(b, n), GP_TLS_HS_OFF);
	b[0] = 23;							/* application data first */
	assert_int_equal(whole(b, n), GP_TLS_HS_OFF);
	assert_int_equal(whole((const uint8_t *)"GET / HTTP/1.1\r\n", 16), GP_TLS_HS_OFF);
	/* A gap, and a first segment that is not the stream's start. */
	n = stream(b, ok, 2);
	assert_int_equal(gp_tls_hs_feed(&w, 0, b, 100, 1), GP_TLS_HS_WALK);
	assert_int_equal(gp_tls_hs_feed(&w, 101, b + 101, (uint32_t)(n - 101), 2), GP_TLS_HS_OFF);
	assert_int_equal(gp_tls_hs_feed(&w, 100, b + 100, 1, 3), GP_TLS_HS_OFF);
	memset(&w, 0, sizeof(w));
	assert_int_equal(gp_tls_hs_feed(&w, 100, b + 100, (uint32_t)(n - 100), 1), GP_TLS_HS_OFF);
}

/* ---- the tagger on real captures, against tshark ------------------------ */

#define FLOWS_MAX	256

struct flow {
	int af;
	uint8_t addr[2][16];
	uint16_t port[2];
	int client;		/* side that sent the SYN */
	uint32_t isn;
	int tls;		/* the client's stream starts with a handshake record */
	char key[128];		/* "client:port>server:port", as from tshark's fields */
	/* tshark's word */
	uint64_t t_hello, t_app;
	/* ours */
	size_t seen;
	uint64_t dur;
};

static struct {
	struct flow f[FLOWS_MAX];
	size_t n;
	struct gp_tagger *t;
} cap;

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct flow *flow_of(int af, const uint8_t *sa, uint16_t sp, const uint8_t *da,
			    uint16_t dp, int *side)
{
	size_t alen = af == AF_INET ? 4 : 16, i;

	for (i = 0; i < cap.n; i++) {
		struct flow *f = &cap.f[i];

		if (f->af != af)
			continue;
		for (*side = 0; *side < 2; (*side)++)
			if (!memcmp(f->addr[*side], sa, alen) && f->port[*side] == sp &&
			    !memcmp(f->addr[!*side], da, alen) && f->port[!*side] == dp)
				return f;
	}
	return NULL;
}

static void tuple(const struct flow *f, struct gp_flow_tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, f->addr[f->client], 16);
	memcpy(t->daddr, f->addr[!f->client], 16);
	t->sport = f->port[f->client];
	t->dport = f->port[!f->client];
	t->family = (uint16_t)f->af;
}

/* A connect seen: the client's outcome, which waits for its tag as live. */
static void on_syn(int af, const uint8_t *sa, uint16_t sp, const uint8_t *da, uint16_t dp,
		   uint32_t seq, uint64_t ts)
{
	struct gp_conn c;
	struct flow *f;
	char a[2][INET6_ADDRSTRLEN];
	int side;

	f = flow_of(af, sa, sp, da, dp, &side);
	if (f || cap.n == FLOWS_MAX)
		return;	/* a retransmitted SYN, or a reused 4-tuple: not in the corpus */
	f = &cap.f[cap.n++];
	f->af = af;
	memcpy(f->addr[0], sa, af == AF_INET ? 4 : 16);
	memcpy(f->addr[1], da, af == AF_INET ? 4 : 16);
	f->port[0] = sp;
	f->port[1] = dp;
	f->isn = seq;
	inet_ntop(af, sa, a[0], sizeof(a[0]));
	inet_ntop(af, da, a[1], sizeof(a[1]));
	snprintf(f->key, sizeof(f->key), "%s:%u>%s:%u", a[0], sp, a[1], dp);
	memset(&c, 0, sizeof(c));
	c.family = af;
	memcpy(c.saddr, f->addr[0], 16);
	memcpy(c.daddr, f->addr[1], 16);
	c.sport = sp;
	c.dport = dp;
	c.dir = GP_DIR_OUTBOUND;
	c.result = GP_RES_ESTABLISHED;
	c.has_flow = 1;
	c.flow_isn = seq;
	c.ts_ns = ts;
	gp_tagger_conn(cap.t, &c, ts);
}

static void on_tcp(int af, const uint8_t *sa, const uint8_t *da, const uint8_t *t, size_t len,
		   uint64_t ts)
{
	struct gp_payload_event h;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	struct flow *f;
	int side;

	if (len < 20 || doff < 20 || doff > len)
		return;
	if ((t[13] & 0x12) == 0x02)
		on_syn(af, sa, be16(t), da, be16(t + 2), be32(t + 4), ts);
	f = flow_of(af, sa, be16(t), da, be16(t + 2), &side);
	if (!f || side != f->client || len == doff || (t[13] & 0x06))
		return;
	memset(&h, 0, sizeof(h));
	h.type = GP_EV_PAYLOAD;
	h.ts_ns = ts;
	tuple(f, &h.flow);
	h.off = be32(t + 4) - f->isn - 1;
	h.len = (uint32_t)(len - doff);
	h.isn = f->isn;
	if (!h.off)
		f->tls = t[doff] == 22;
	gp_tagger_payload(cap.t, &h, t + doff, ts);
}

/* Ethernet, 802.1Q tags, IPv4 or IPv6 (no extension headers), TCP; whole frames only. */
static void on_frame(const uint8_t *p, size_t len, uint64_t ts)
{
	size_t off = 14;
	uint16_t type;

	if (len < 14)
		return;
	for (type = be16(p + 12); type == 0x8100 && len >= off + 4; off += 4)
		type = be16(p + off + 2);
	p += off, len -= off;
	if (type == 0x0800 && len >= 20 && p[9] == 6) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4, tot = be16(p + 2);

		if ((be16(p + 6) & 0x3fff) || tot > len || ihl < 20 || tot < ihl)
			return;
		on_tcp(AF_INET, p + 12, p + 16, p + ihl, tot - ihl, ts);
	} else if (type == 0x86dd && len >= 40 && p[6] == 6 && 40u + be16(p + 4) <= len) {
		on_tcp(AF_INET6, p + 8, p + 24, p + 40, be16(p + 4), ts);
	}
}

static void on_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	struct flow *f;
	int side;

	(void)ctx;
	f = flow_of(h->flow.family, h->flow.saddr, h->flow.sport, h->flow.daddr, h->flow.dport,
		    &side);
	assert_non_null(f);
	assert_int_equal(side, f->client);
	assert_int_equal(h->dir, GP_DIR_OUTBOUND);
	f->seen++;
	f->dur = h->duration_ns;
}

/* "1687555545.422062000" as ns. */
static uint64_t epoch_ns(const char *s)
{
	char *end;
	uint64_t sec = strtoull(s, &end, 10), frac = 0;
	int i;

	assert_int_equal(*end, '.');
	for (i = 0, end++; i < 9; i++, end++)
		frac = frac * 10 + (*end >= '0' && *end <= '9' ? (uint64_t)(*end - '0') : 0);
	return sec * 1000000000u + frac;
}

/* Whether tshark's ','-aggregated list has the value v. */
static int has(const char *list, const char *v)
{
	char copy[256], *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, v))
			return 1;
	return 0;
}

/* Frame times by frame number, of the capture tshark reads. */
#define FRAMES_MAX	4096
static uint64_t frame_ts[FRAMES_MAX];

/*
 * The reference: the client's first ClientHello frame, then the first
 * frame after it with an application_data record (opaque_type in TLS 1.3).
 * tshark names the frame a record ends in; one that spans segments began
 * in one of its PDU's segments (tcp.segment), so t_app is a set.
 */
#define APP_SET_MAX	64
static uint64_t app_set[FLOWS_MAX][APP_SET_MAX];
static size_t app_n[FLOWS_MAX];

static void tshark_times(const char *path)
{
	char cmd[1024], *line = NULL;
	size_t cap_len = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "tshark -n -r '%s' -Y 'tcp' -T fields -E aggregator=, "
		 "-e frame.number -e frame.time_epoch "
		 "-e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport "
		 "-e tls.record.content_type -e tls.record.opaque_type -e tls.handshake.type "
		 "-e tcp.segment 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (getline(&line, &cap_len, p) > 0) {
		char *v[12], *s = line, key[128], *tok, *save = NULL;
		unsigned long fn;
		size_t i;

		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < 12; i++)
			v[i] = strsep(&s, "\t");
		assert_non_null(v[11]);
		fn = strtoul(v[0], NULL, 10);
		assert_true(fn > 0 && fn < FRAMES_MAX);
		frame_ts[fn] = epoch_ns(v[1]);
		snprintf(key, sizeof(key), "%s:%s>%s:%s", *v[2] ? v[2] : v[3], v[4],
			 *v[5] ? v[5] : v[6], v[7]);
		for (i = 0; i < cap.n; i++) {
			struct flow *f = &cap.f[i];

			if (strcmp(f->key, key))
				continue;
			if (!f->t_hello && has(v[10], "1")) {
				f->t_hello = frame_ts[fn];
			} else if (f->t_hello && !f->t_app && (has(v[8], "23") || has(v[9], "23"))) {
				f->t_app = frame_ts[fn];
				app_set[i][app_n[i]++] = f->t_app;
				for (tok = strtok_r(v[11], ",", &save); tok && app_n[i] < APP_SET_MAX;
				     tok = strtok_r(NULL, ",", &save))
					app_set[i][app_n[i]++] = frame_ts[strtoul(tok, NULL, 10) % FRAMES_MAX];
			}
		}
	}
	free(line);
	assert_int_equal(pclose(p), 0);
}

static int in_app_set(size_t i, uint64_t ts)
{
	size_t k;

	for (k = 0; k < app_n[i]; k++)
		if (app_set[i][k] == ts)
			return 1;
	return 0;
}

/* Every TLS flow with a SYN: timed iff tshark saw its data, to the nanosecond. */
static size_t check_capture(const char *path, size_t *timed)
{
	static const struct gp_tagger_ops ops = { .handshake = on_handshake };
	static const struct gp_tagger_config cfg = { .tag_wait_ns = 2000 * MS };
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *ph;
	const uint8_t *data;
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	size_t i, tls = 0;

	assert_non_null(pc);
	memset(&cap, 0, sizeof(cap));
	memset(app_n, 0, sizeof(app_n));
	memset(frame_ts, 0, sizeof(frame_ts));
	cap.t = gp_tagger_new(&ops, &cfg);
	assert_non_null(cap.t);
	while (pcap_next_ex(pc, &ph, &data) == 1)
		if (ph->caplen == ph->len)
			on_frame(data, ph->caplen,
				 (uint64_t)ph->ts.tv_sec * 1000000000u + (uint64_t)ph->ts.tv_usec);
	pcap_close(pc);
	gp_tagger_flush(cap.t);
	tshark_times(path);
	for (i = 0; i < cap.n; i++) {
		struct flow *f = &cap.f[i];

		if (!f->tls || !f->t_hello)
			continue;
		tls++;
		if (!f->t_app) {
			if (f->seen)
				fail_msg("%s %s: timed %" PRIu64 " ns, tshark saw no data", path,
					 f->key, f->dur);
			continue;
		}
		if (f->seen != 1 || f->dur > f->t_app - f->t_hello ||
		    !in_app_set(i, f->t_hello + f->dur))
			fail_msg("%s %s: %zu times, %" PRIu64 " ns; tshark: %" PRIu64 " ns", path,
				 f->key, f->seen, f->dur, f->t_app - f->t_hello);
		++*timed;
	}
	gp_tagger_free(cap.t);
	return tls;
}

static void test_corpus_vs_tshark(void **state)
{
	size_t i, flows = 0, timed = 0;
	glob_t g;

	(void)state;
	if (system("command -v tshark >/dev/null 2>&1")) {
		print_message("skipped: no tshark (Debian package tshark)\n");
		return;
	}
	if (glob(CORPUS_DIR "/*.pcap", 0, NULL, &g)) {
		print_message("skipped: no corpus at %s\n", CORPUS_DIR);
		return;
	}
	for (i = 0; i < g.gl_pathc; i++)
		flows += check_capture(g.gl_pathv[i], &timed);
	globfree(&g);
	print_message("corpus: %zu TLS flows, %zu handshakes timed as tshark has them\n", flows,
		      timed);
	/* latest.pcap alone has TLS 1.2 and 1.3 handshakes that reach application data. */
	assert_true(timed >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_byte_by_byte),
		cmocka_unit_test(test_tls12_and_retransmits),
		cmocka_unit_test(test_gives_up),
		cmocka_unit_test(test_corpus_vs_tshark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
