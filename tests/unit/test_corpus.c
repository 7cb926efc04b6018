// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cross-check against tshark on real captures: every TCP flow of every
 * capture in <project>/../shared/corpus/pcap is reassembled (libpcap), its
 * client's first payload classified, and every ClientHello tshark reports
 * must have the same ALPN list and server_name here. The captures stay
 * outside the repo; without them or without tshark the test is skipped, with
 * the reason printed.
 */
#define _GNU_SOURCE	/* getline */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "pipeline/payload.h"

#ifndef GP_SRCDIR
#error "GP_SRCDIR must name the project root"
#endif
#define CORPUS_DIR GP_SRCDIR "/../shared/corpus/pcap"

/* Client bytes kept per flow: room for a CONNECT request and the hello after it. */
#define STREAM_CAP	(64 * 1024)
#define MAX_LATER	3

struct seg {
	uint32_t seq;
	uint32_t len;
	uint8_t *data;
};

/* One direction of a flow: the bytes endpoint i sent. */
struct half {
	int syn;		/* its SYN (or SYN-ACK) was seen */
	uint32_t isn;
	struct seg *segs;
	size_t n, cap;
	uint64_t first;		/* frame index of its first payload; UINT64_MAX: none */
};

struct flow {
	int af;
	uint8_t addr[2][16];
	uint16_t port[2];
	struct half h[2];
	int syn_from;		/* endpoint that sent a bare SYN, or -1 */
	int reused;		/* a second bare SYN with another ISN: two connections */
	/* Set by finish_flow(). */
	int client;		/* -1: no payload either way */
	uint8_t *stream;	/* the client's bytes, reassembled */
	size_t slen;
	struct gp_payload_info info;	/* the client's first payload */
	struct gp_payload_info hello;	/* what tshark's hello is checked against */
	int in_tunnel;		/* hello is the first payload of a CONNECT tunnel */
	/* Hellos after the first (after a HelloRetryRequest), in stream order. */
	struct gp_payload_info later[MAX_LATER];
	size_t n_later;
	size_t tshark_hellos;
};

struct capture {
	struct flow *f;
	size_t n, cap;
	uint64_t frames, ip_frags, snapped, not_tcp;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	assert_non_null(p);
	return p;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- flows and reassembly ----------------------------------------------- */

static struct flow *flow_get(struct capture *c, int af, const uint8_t *sa, uint16_t sp,
			     const uint8_t *da, uint16_t dp, int create, int *side)
{
	size_t alen = af == AF_INET ? 4 : 16, i;
	struct flow *f;

	for (i = 0; i < c->n; i++) {
		f = &c->f[i];
		if (f->af != af)
			continue;
		if (!memcmp(f->addr[0], sa, alen) && f->port[0] == sp &&
		    !memcmp(f->addr[1], da, alen) && f->port[1] == dp) {
			*side = 0;
			return f;
		}
		if (!memcmp(f->addr[1], sa, alen) && f->port[1] == sp &&
		    !memcmp(f->addr[0], da, alen) && f->port[0] == dp) {
			*side = 1;
			return f;
		}
	}
	if (!create)
		return NULL;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->f = xrealloc(c->f, c->cap * sizeof(*c->f));
	}
	f = &c->f[c->n++];
	memset(f, 0, sizeof(*f));
	f->af = af;
	memcpy(f->addr[0], sa, alen);
	memcpy(f->addr[1], da, alen);
	f->port[0] = sp;
	f->port[1] = dp;
	f->syn_from = -1;
	f->client = -1;
	f->h[0].first = f->h[1].first = UINT64_MAX;
	*side = 0;
	return f;
}

static void on_tcp(struct capture *c, int af, const uint8_t *sa, const uint8_t *da,
		   const uint8_t *t, size_t len, size_t captured)
{
	size_t doff;
	uint8_t flags;
	uint32_t seq;
	struct flow *f;
	struct half *h;
	int side;

	if (captured < 20 || len < 20)
		return;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > len || doff > captured)
		return;
	flags = t[13];
	seq = be32(t + 4);
	f = flow_get(c, af, sa, be16(t), da, be16(t + 2), 1, &side);
	h = &f->h[side];
	if (flags & 0x02) {			/* SYN */
		if (!(flags & 0x10)) {		/* without ACK: the connect */
			if (f->syn_from == side && h->syn && h->isn != seq)
				f->reused = 1;
			f->syn_from = side;
		}
		h->syn = 1;
		h->isn = seq;
		seq++;				/* data in a SYN (TFO) starts after it */
	}
	if (flags & 0x04)			/* RST payload is diagnostic text */
		return;
	len -= doff, captured -= doff, t += doff;
	if (!len)
		return;
	if (captured < len) {
		c->snapped++;			/* snaplen: keep what is there, a hole follows */
		len = captured;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 8;
		h->segs = xrealloc(h->segs, h->cap * sizeof(*h->segs));
	}
	h->segs[h->n].seq = seq;
	h->segs[h->n].len = (uint32_t)len;
	h->segs[h->n].data = xrealloc(NULL, len);
	memcpy(h->segs[h->n].data, t, len);
	h->n++;
	if (h->first == UINT64_MAX)
		h->first = c->frames;
}

/* Ethernet, any number of 802.1Q/802.1ad tags, IPv4 or IPv6, TCP. */
static void on_frame(struct capture *c, const uint8_t *p, size_t caplen, size_t wirelen)
{
	size_t off = 14, len;
	uint16_t type;

	c->frames++;
	if (caplen < 14)
		return;
	type = be16(p + 12);
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
		if (caplen < off + 4)
			return;
		type = be16(p + off + 2);
		off += 4;
	}
	/* What the wire had after the link header; caplen may be less (snaplen). */
	len = wirelen > off ? wirelen - off : 0;
	p += off, caplen -= off < caplen ? off : caplen;

	if (type == 0x0800) {
		size_t ihl, tot;

		if (caplen < 20 || p[0] >> 4 != 4)
			return;
		ihl = (size_t)(p[0] & 0x0f) * 4;
		tot = be16(p + 2);
		if (ihl < 20 || tot < ihl || tot > len || caplen < ihl)
			return;
		if ((be16(p + 6) & 0x3fff) != 0) {	/* MF or an offset */
			c->ip_frags++;
			return;
		}
		if (p[9] != 6) {
			c->not_tcp++;
			return;
		}
		/* tot trims Ethernet padding. */
		on_tcp(c, AF_INET, p + 12, p + 16, p + ihl, tot - ihl,
		       (caplen < tot ? caplen : tot) - ihl);
	} else if (type == 0x86dd) {
		size_t pl, o = 40, end;
		uint8_t nh;

		if (caplen < 40 || p[0] >> 4 != 6)
			return;
		pl = be16(p + 4);
		end = 40 + pl;
		if (end > len)
			return;
		nh = p[6];
		/* Extension headers before TCP: hop-by-hop, routing, destination options, AH. */
		while (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
			size_t hl;

			if (nh == 44) {
				c->ip_frags++;
				return;
			}
			if (caplen < o + 2)
				return;
			hl = nh == 51 ? ((size_t)p[o + 1] + 2) * 4 : ((size_t)p[o + 1] + 1) * 8;
			nh = p[o];
			o += hl;
			if (o > end)
				return;
		}
		if (nh != 6) {
			c->not_tcp++;
			return;
		}
		if (caplen < o)
			return;
		on_tcp(c, AF_INET6, p + 8, p + 24, p + o, end - o,
		       (caplen < end ? caplen : end) - o);
	} else {
		c->not_tcp++;
	}
}

/*
 * The bytes one side sent, in sequence order from its ISN + 1 (or, without
 * its SYN, from the lowest sequence number seen), up to the first hole.
 * Out-of-order segments land in place; of retransmitted or overlapping
 * bytes the first copy wins.
 */
static size_t reassemble(const struct half *h, uint8_t *out, size_t cap)
{
	uint8_t *filled = calloc(cap, 1);
	uint32_t base;
	size_t i, j, len = 0;

	assert_non_null(filled);
	if (!h->n) {
		free(filled);
		return 0;
	}
	base = h->syn ? h->isn + 1 : h->segs[0].seq;
	if (!h->syn)
		for (i = 1; i < h->n; i++)
			if ((int32_t)(h->segs[i].seq - base) < 0)
				base = h->segs[i].seq;
	for (i = 0; i < h->n; i++) {
		int64_t rel = (int32_t)(h->segs[i].seq - base);

		for (j = 0; j < h->segs[i].len; j++) {
			int64_t o = rel + (int64_t)j;

			if (o < 0 || o >= (int64_t)cap || filled[o])
				continue;
			out[o] = h->segs[i].data[j];
			filled[o] = 1;
		}
	}
	while (len < cap && filled[len])
		len++;
	free(filled);
	return len;
}

static enum gp_payload_kind parse_stream(const uint8_t *s, size_t n,
					 struct gp_payload_info *out)
{
	return gp_payload_parse(s, n, out);
}

/*
 * Offsets of the records that start a ClientHello, walking the client's
 * plaintext records (up to the first application data). A handshake message
 * may span records; several in one record do not occur in a client's
 * first flights. An encrypted Finished may look like one: its parse fails.
 */
static size_t find_hellos(const uint8_t *s, size_t n, size_t *offs, size_t max)
{
	size_t o = 0, k = 0, left = 0;	/* left: bytes of the current message still due */

	while (n - o >= 5 && k < max && (s[o] == 20 || s[o] == 21 || s[o] == 22)) {
		size_t rlen = be16(s + o + 3);

		if (rlen > n - o - 5)
			break;
		if (s[o] == 22 && !left && rlen >= 4) {
			const uint8_t *b = s + o + 5;

			if (b[0] == 1)
				offs[k++] = o;
			left = 4 + ((size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3]);
		}
		if (s[o] == 22)
			left = left > rlen ? left - rlen : 0;
		o += 5 + rlen;
	}
	return k;
}

/*
 * The client is the side that sent the bare SYN; without one in the capture,
 * the side whose first payload parses (TLS, HTTP/1, h2c, else a valid
 * prefix), the earlier if both do; else the side that spoke first.
 */
static void finish_flow(struct flow *f)
{
	struct gp_payload_info in[2];
	uint8_t *s[2];
	size_t n[2];
	int i, best = -1, rank[2];

	for (i = 0; i < 2; i++) {
		s[i] = xrealloc(NULL, STREAM_CAP);
		n[i] = reassemble(&f->h[i], s[i], STREAM_CAP);
		parse_stream(s[i], n[i], &in[i]);
		rank[i] = !f->h[i].n ? 0 : in[i].kind == GP_PL_UNKNOWN ? 1 :
			  in[i].kind == GP_PL_NEED_MORE ? 2 : 3;
	}
	if (f->syn_from >= 0) {
		best = f->syn_from;
	} else if (rank[0] || rank[1]) {
		best = rank[0] > rank[1] ? 0 : rank[1] > rank[0] ? 1 :
		       f->h[0].first <= f->h[1].first ? 0 : 1;
	}
	f->client = best;
	if (best >= 0) {
		f->stream = s[best];
		f->slen = n[best];
		f->info = in[best];
		free(s[!best]);
	} else {
		free(s[0]);
		free(s[1]);
		memset(&f->info, 0, sizeof(f->info));
		f->info.kind = GP_PL_NEED_MORE;
	}
	f->hello = f->info;
	/*
	 * A CONNECT request's tunnel starts after its header block: tshark finds
	 * the hello there (the agent itself tags such a flow http/1.1).
	 */
	if (f->info.kind == GP_PL_HTTP1 && !strcmp(f->info.http_method, "CONNECT") &&
	    f->info.body_off) {
		parse_stream(f->stream + f->info.body_off, f->slen - f->info.body_off,
			     &f->hello);
		f->in_tunnel = 1;
	}
	if (f->hello.kind == GP_PL_TLS) {
		size_t base = f->in_tunnel ? f->info.body_off : 0, offs[MAX_LATER + 1], k, n;

		n = find_hellos(f->stream + base, f->slen - base, offs, MAX_LATER + 1);
		assert_true(n >= 1 && offs[0] == 0);
		for (k = 1; k < n; k++) {
			struct gp_payload_info *h = &f->later[f->n_later];

			parse_stream(f->stream + base + offs[k], f->slen - base - offs[k], h);
			if (h->kind == GP_PL_TLS)
				f->n_later++;
		}
	}
}

static void free_capture(struct capture *c)
{
	size_t i, j, k;

	for (i = 0; i < c->n; i++) {
		for (k = 0; k < 2; k++) {
			for (j = 0; j < c->f[i].h[k].n; j++)
				free(c->f[i].h[k].segs[j].data);
			free(c->f[i].h[k].segs);
		}
		free(c->f[i].stream);
	}
	free(c->f);
	memset(c, 0, sizeof(*c));
}

static int read_capture(const char *path, struct capture *c, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	pcap_t *p;
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	p = pcap_open_offline(path, ebuf);
	if (!p) {
		snprintf(err, errlen, "pcap_open_offline: %s", ebuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "link type %d, not Ethernet", pcap_datalink(p));
		pcap_close(p);
		return -1;
	}
	while ((r = pcap_next_ex(p, &hdr, &data)) == 1)
		on_frame(c, data, hdr->caplen, hdr->len);
	if (r != PCAP_ERROR_BREAK) {
		snprintf(err, errlen, "reading: %s", pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	for (i = 0; i < c->n; i++)
		finish_flow(&c->f[i]);
	return 0;
}

/* ---- tshark --------------------------------------------------------------- */

/*
 * The one normalization, checked on tls-non-ascii-alpn.pcap and on probe
 * captures: tshark (4.0) prints ALPN names and server_name as ASCII strings,
 * each byte >= 0x80 as U+FFFD (so even valid UTF-8 shows as one U+FFFD per
 * byte) and a backslash as itself; it joins several ALPN names with ','
 * (-E aggregator), as alpn_offered does. So our \x80..\xff becomes EF BF BD
 * and our \x5c a backslash, for comparing only. Nothing else is mapped: a
 * control byte (tshark: raw, or \t \n) would show as a mismatch.
 */
static void to_tshark_form(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	while (*s && o + 4 < cap) {
		unsigned v;

		if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3] && sscanf(s + 2, "%2x", &v) == 1) {
			if (v >= 0x80) {
				memcpy(out + o, "\xef\xbf\xbd", 3);
				o += 3, s += 4;
				continue;
			}
			if (v == '\\') {
				out[o++] = '\\';
				s += 4;
				continue;
			}
		}
		out[o++] = *s++;
	}
	out[o] = '\0';
}

struct row {
	int af;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	const char *alpn, *sni;
};

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Splits one tshark line (8 tab-separated fields) in place. */
static int parse_row(char *line, struct row *r)
{
	char *f[8];
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *tab = strchr(p, '\t');

		if (n == 8)
			return -1;
		f[n++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n != 8)
		return -1;
	/* ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport alpn sni */
	if (*f[0] && !*f[1] && *f[3] && !*f[4]) {
		r->af = AF_INET;
		if (inet_pton(AF_INET, f[0], r->src) != 1 || inet_pton(AF_INET, f[3], r->dst) != 1)
			return -1;
	} else if (!*f[0] && *f[1] && !*f[3] && *f[4]) {
		r->af = AF_INET6;
		if (inet_pton(AF_INET6, f[1], r->src) != 1 ||
		    inet_pton(AF_INET6, f[4], r->dst) != 1)
			return -1;
	} else {
		return -1;	/* tunnels (several ip.src) are not in the corpus */
	}
	if (parse_port(f[2], &r->sport) || parse_port(f[5], &r->dport))
		return -1;
	r->alpn = f[6];
	r->sni = f[7];
	return 0;
}

static const char *kind_name(enum gp_payload_kind k)
{
	static const char *const names[] = { "need-more", "tls", "http1", "h2c", "unknown" };

	return k <= GP_PL_UNKNOWN ? names[k] : "?";
}

/*
 * Prints each mismatch; returns how many. *compared counts tshark's hellos,
 * *later those that were not a flow's first: tshark's n-th hello of a flow
 * is checked against the n-th one here.
 */
static size_t check_capture(const char *path, const char *base, struct capture *c,
			    size_t *compared, size_t *later)
{
	static const char fmt[] =
		"tshark -n -r '%s' -Y 'tls.handshake.type==1 && tcp' -T fields "
		"-E separator=/t -E occurrence=a -E aggregator=, -E quote=n "
		"-e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport "
		"-e tls.handshake.extensions_alpn_str -e tls.handshake.extensions_server_name "
		"2>/dev/null";
	char cmd[PATH_MAX + sizeof(fmt)], *line = NULL;
	size_t cap = 0, bad = 0, lineno = 0;
	ssize_t got;
	FILE *f;
	int st;

	*compared = *later = 0;
	if (strchr(path, '\'') || strlen(path) >= PATH_MAX) {
		print_message("%s: path unusable in a shell command\n", base);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), fmt, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((got = getline(&line, &cap, f)) > 0) {
		char alpn[2 * GP_ALPN_OFFERED_MAX + 1], sni[2 * GP_SNI_MAX + 1];
		const struct gp_payload_info *h;
		struct row r;
		struct flow *fl;
		int side;

		lineno++;
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (parse_row(line, &r)) {
			print_message("%s: tshark line %zu unparsable: %s\n", base, lineno, line);
			bad++;
			continue;
		}
		(*compared)++;
		fl = flow_get(c, r.af, r.src, r.sport, r.dst, r.dport, 0, &side);
		if (!fl) {
			print_message("%s: hello %zu (port %u): no such flow here\n", base, lineno,
				      r.sport);
			bad++;
			continue;
		}
		h = !fl->tshark_hellos ? &fl->hello :
		    fl->tshark_hellos <= fl->n_later ? &fl->later[fl->tshark_hellos - 1] : NULL;
		fl->tshark_hellos++;
		if (fl->reused || fl->client != side || !h) {
			print_message("%s: hello %zu (port %u): %s\n", base, lineno, r.sport,
				      fl->reused ? "port reused, connections ambiguous" :
				      !h ? "more hellos than this flow has" :
				      "sent by the side we took as server");
			bad++;
			continue;
		}
		if (h != &fl->hello)
			(*later)++;
		to_tshark_form(h->alpn_offered, alpn, sizeof(alpn));
		to_tshark_form(h->sni, sni, sizeof(sni));
		if (h->kind != GP_PL_TLS || h->alpn_offered_truncated || h->sni_truncated ||
		    strcmp(alpn, r.alpn) || strcmp(sni, r.sni)) {
			print_message("%s: hello %zu (port %u): tshark alpn \"%s\" sni \"%s\"; "
				      "ours %s alpn \"%s\" sni \"%s\"\n", base, lineno, r.sport,
				      r.alpn, r.sni, kind_name(h->kind), h->alpn_offered, h->sni);
			bad++;
		}
	}
	free(line);
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_message("%s: tshark failed (status %d)\n", base, st);
		bad++;
	}
	return bad;
}

static int have_tshark(void)
{
	return system("command -v tshark >/dev/null 2>&1") == 0;
}

static void test_corpus_vs_tshark(void **state)
{
	struct stat st;
	glob_t g;
	size_t i, total = 0, bad = 0;

	(void)state;
	if (stat(CORPUS_DIR, &st) || !S_ISDIR(st.st_mode)) {
		print_message("skipped: no corpus at %s\n", CORPUS_DIR);
		skip();
	}
	if (!have_tshark()) {
		print_message("skipped: tshark not installed (Debian package tshark)\n");
		skip();
	}
	assert_int_equal(glob(CORPUS_DIR "/*.pcap", 0, NULL, &g), 0);
	assert_true(g.gl_pathc > 0);

	for (i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i], *base = strrchr(path, '/') + 1;
		size_t kinds[GP_PL_UNKNOWN + 1] = { 0 }, j, compared = 0, later = 0, b;
		struct capture c;
		char err[PCAP_ERRBUF_SIZE + 64];

		if (read_capture(path, &c, err, sizeof(err))) {
			print_message("%s: %s\n", base, err);
			bad++;
			continue;
		}
		b = check_capture(path, base, &c, &compared, &later);
		for (j = 0; j < c.n; j++) {
			const struct flow *f = &c.f[j];

			if (f->client < 0)
				continue;
			kinds[f->info.kind]++;
			if (getenv("GP_CORPUS_VERBOSE")) {
				char head[3 * 8 + 1] = "";
				size_t h;

				for (h = 0; h < f->slen && h < 8; h++)
					sprintf(head + 3 * h, "%02x ", f->stream[h]);
				print_message("%s:   %u->%u syn=%d %s%s alpn \"%s\" sni \"%s\" "
					      "(%zu bytes: %s)\n", base, f->port[f->client],
					      f->port[!f->client], f->syn_from >= 0,
					      kind_name(f->info.kind), f->in_tunnel ? "+tunnel" : "",
					      f->hello.alpn_offered, f->hello.sni, f->slen, head);
			}
			/* Not a failure: tshark decodes TLS by port and heuristics only. */
			if (f->hello.kind == GP_PL_TLS && !f->tshark_hellos)
				print_message("%s: note: port %u->%u is a hello here, none to tshark "
					      "(alpn \"%s\" sni \"%s\")\n", base,
					      f->port[f->client], f->port[!f->client],
					      f->hello.alpn_offered, f->hello.sni);
		}
		print_message("%s: %zu ClientHellos compared (%zu after a HelloRetryRequest), "
			      "%zu mismatched; client first payloads: %zu tls, %zu http1, %zu h2c, "
			      "%zu need-more, %zu unknown\n", base, compared, later, b,
			      kinds[GP_PL_TLS], kinds[GP_PL_HTTP1],
			      kinds[GP_PL_H2C], kinds[GP_PL_NEED_MORE], kinds[GP_PL_UNKNOWN]);
		total += compared;
		bad += b;
		free_capture(&c);
	}
	globfree(&g);
	print_message("corpus: %zu ClientHellos compared with tshark, %zu mismatches\n", total,
		      bad);
	assert_int_equal(bad, 0);
	/* tshark answering nothing at all would otherwise pass. */
	assert_true(total > 0);
}

/* ---- reassembly on synthetic frames ------------------------------------- */

/* Ethernet (+ VLAN), IPv4 or IPv6 (+ a hop-by-hop header), TCP. */
static size_t frame(uint8_t *out, int af, int vlan, int fwd, uint32_t seq, uint8_t flags,
		    const char *data, size_t len)
{
	static const uint8_t a4[2][4] = { { 198, 18, 0, 1 }, { 198, 18, 0, 2 } };
	static const uint8_t a6[2][16] = {
		{ 0xfd, 0, 1, 0x98, 0, 0x18, [15] = 1 }, { 0xfd, 0, 1, 0x98, 0, 0x18, [15] = 2 },
	};
	size_t o = 12, ip, t;
	int s = fwd ? 0 : 1;

	memset(out, 0, 128);
	if (vlan) {
		out[o++] = 0x81, out[o++] = 0x00, out[o++] = 0, out[o++] = 42;
	}
	out[o++] = af == AF_INET ? 0x08 : 0x86;
	out[o++] = af == AF_INET ? 0x00 : 0xdd;
	ip = o;
	if (af == AF_INET) {
		out[ip] = 0x45;
		out[ip + 2] = (uint8_t)((20 + 20 + len) >> 8), out[ip + 3] = (uint8_t)(20 + 20 + len);
		out[ip + 6] = 0x40;			/* DF */
		out[ip + 8] = 64, out[ip + 9] = 6;
		memcpy(out + ip + 12, a4[s], 4);
		memcpy(out + ip + 16, a4[!s], 4);
		t = ip + 20;
	} else {
		out[ip] = 0x60;
		out[ip + 4] = (uint8_t)((8 + 20 + len) >> 8), out[ip + 5] = (uint8_t)(8 + 20 + len);
		out[ip + 6] = 0;			/* hop-by-hop, then TCP */
		out[ip + 7] = 64;
		memcpy(out + ip + 8, a6[s], 16);
		memcpy(out + ip + 24, a6[!s], 16);
		out[ip + 40] = 6;
		out[ip + 42] = 1, out[ip + 43] = 4;	/* PadN */
		t = ip + 48;
	}
	out[t] = fwd ? 0xc3 : 0x01, out[t + 1] = fwd ? 0x50 : 0xbb;	/* 50000 / 443 */
	out[t + 2] = fwd ? 0x01 : 0xc3, out[t + 3] = fwd ? 0xbb : 0x50;
	out[t + 4] = (uint8_t)(seq >> 24), out[t + 5] = (uint8_t)(seq >> 16);
	out[t + 6] = (uint8_t)(seq >> 8), out[t + 7] = (uint8_t)seq;
	out[t + 12] = 5 << 4;
	out[t + 13] = flags;
	memcpy(out + t + 20, data, len);
	return t + 20 + len;
}

static void test_reassembly(void **state)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\nX-Traffic-Tag: canary\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	/* Offsets into req of the segments, in the order they are "captured". */
	static const size_t order[][2] = {
		{ 30, 51 }, { 0, 10 }, { 20, 40 }, { 0, 10 }, { 10, 25 }, { 5, 30 },
	};
	uint8_t fr[256], val[64];
	int pass;

	(void)state;
	for (pass = 0; pass < 4; pass++) {
		/* v4, v6 + VLAN, v4 + VLAN + SYN, v6 + SYN. */
		int af = pass & 1 ? AF_INET6 : AF_INET, with_syn = pass >= 2;
		int vlan = pass == 1 || pass == 2;
		/* Across the 2^32 wrap. */
		uint32_t isn = 0xffffffe0u, sisn = 77;
		struct capture c;
		struct flow *f;
		size_t k, n;

		memset(&c, 0, sizeof(c));
		if (with_syn) {
			n = frame(fr, af, vlan, 1, isn, 0x02, "", 0);
			on_frame(&c, fr, n, n);
			n = frame(fr, af, vlan, 0, sisn, 0x12, "", 0);
			on_frame(&c, fr, n, n);
		}
		/* The server speaks first in the capture: its bytes do not parse. */
		n = frame(fr, af, vlan, 0, sisn + 1, 0x18, resp, sizeof(resp) - 1);
		on_frame(&c, fr, n, n);
		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			size_t a = order[k][0], b = order[k][1];

			n = frame(fr, af, vlan, 1, isn + 1 + (uint32_t)a, 0x18, req + a, b - a);
			/* Ethernet padding past the IP length must be ignored. */
			memset(fr + n, 0xee, 8);
			on_frame(&c, fr, n + 8, n + 8);
		}
		assert_int_equal(c.n, 1);
		f = &c.f[0];
		finish_flow(f);
		assert_true(f->client >= 0);
		assert_int_equal(f->port[f->client], 50000);
		assert_int_equal(f->slen, sizeof(req) - 1);
		assert_memory_equal(f->stream, req, sizeof(req) - 1);
		assert_int_equal(f->info.kind, GP_PL_HTTP1);
		assert_int_equal(gp_http1_header(f->stream + f->info.hdr_off, f->info.hdr_len,
						 "x-traffic-tag", (char *)val, sizeof(val)), 1);
		assert_string_equal((char *)val, "canary");
		free_capture(&c);
	}
}

/* A hole stops the stream; a SYN names the client even if it never spoke. */
static void test_reassembly_hole_and_syn(void **state)
{
	uint8_t fr[256];
	struct capture c;
	size_t n;

	(void)state;
	memset(&c, 0, sizeof(c));
	n = frame(fr, AF_INET, 0, 1, 1000, 0x02, "", 0);
	on_frame(&c, fr, n, n);
	n = frame(fr, AF_INET, 0, 0, 5000, 0x18, "SSH-2.0-x\r\n", 11);
	on_frame(&c, fr, n, n);
	n = frame(fr, AF_INET, 0, 1, 1001, 0x18, "GET /", 5);
	on_frame(&c, fr, n, n);
	n = frame(fr, AF_INET, 0, 1, 1010, 0x18, "HTTP/1.1\r\n", 10);
	on_frame(&c, fr, n, n);
	/* IP fragments are counted and left out. */
	n = frame(fr, AF_INET, 0, 1, 1006, 0x18, "abc ", 4);
	fr[14 + 6] = 0x20;
	on_frame(&c, fr, n, n);
	assert_int_equal(c.ip_frags, 1);
	finish_flow(&c.f[0]);
	assert_int_equal(c.f[0].client, 0);
	assert_int_equal(c.f[0].slen, 5);
	assert_int_equal(c.f[0].info.kind, GP_PL_NEED_MORE);
	free_capture(&c);
}

int main(void)
{
	const struct CMUnitTest test_corpus[] = {
		cmocka_unit_test(test_reassembly),
		cmocka_unit_test(test_reassembly_hole_and_syn),
		cmocka_unit_test(test_corpus_vs_tshark),
	};

	return cmocka_run_group_tests(test_corpus, NULL, NULL);
}
