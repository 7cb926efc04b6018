/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * l7dump's random differential: random HTTP/1 and HTTP/2 streams, cut into
 * units by this reference (it knows where every message and frame starts,
 * having written them), sent in random segmentations with retransmits and
 * overlapping segments among them; the kernel's records,
 * reassembled per unit, must equal the reference's list exactly.
 * Included by l7dump.c (the kernel's walker) and tests/unit/test_plainref.c
 * (decode/plain.c, the same walk for TLS plaintext).
 */

static uint64_t rng;

static uint32_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 11);
}

static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }
static uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }

#define EXP_MAX 512

/* One expected unit (or end) of a direction. */
struct exp {
	uint8_t kind, flags;
	uint32_t unit, off;
	uint32_t len;		/* bytes carried: from the stream at unit (UNIT) or off (END) */
};

static struct exp ex[2][EXP_MAX];
static unsigned nex[2];

static void expect(int dir, uint8_t kind, uint8_t flags, uint32_t unit, uint32_t off, uint32_t len)
{
	if (nex[dir] < EXP_MAX)
		ex[dir][nex[dir]++] = (struct exp){ kind, flags, unit, off, len };
}

/* ---- HTTP/2 streams ---- */

static void gen_h2(int dir)
{
	static const uint8_t types[] = { 0, 0, 0, 0, 1, 1, 9, 4, 3, 7, 8, 6, 2, 10, 5 };
	unsigned i, n = range(3, 30);

	if (!dir)
		append(0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	for (i = 0; i < n; i++) {
		/* both ends open with SETTINGS: a server may send it before the preface arrives */
		uint8_t type = i ? types[below(sizeof(types))] : 4, fl = i ? below(256) : 0;
		uint32_t at = S.d[dir].len, len, flen, fwd = 0;

		len = below(20) ? range(40, 900) : range(0, 39);
		if (type == 0 && !below(4))
			len = range(1000, 40000);
		if (type == 1 && !below(25))
			len = range(16000, 17500);
		if (type == 7)
			len = range(8, 60);
		flen = len + 9;
		if (type == 1 || type == 9 || type == 4 || type == 3 || type == 5)
			fwd = flen < GP_L7_FRAME_MAX ? flen : GP_L7_FRAME_MAX;
		if (type == 7)
			fwd = flen < GP_L7_GOAWAY_FWD ? flen : GP_L7_GOAWAY_FWD;
		append_h2(dir, type, fl, type == 4 ? 0 : 2 * below(50) + 1, len);
		if (fwd)
			expect(dir, GP_L7_UNIT, GP_L7_F_LAST | (fwd < flen ? GP_L7_F_TRUNC : 0), at, at, fwd);
		else if (type == 0 && (fl & 1))
			expect(dir, GP_L7_END, 0, at, at, 9);
	}
}

/* ---- HTTP/1 streams ---- */

static void appends(int dir, const char *s)
{
	append(dir, s, strlen(s));
}

static void extra_headers(int dir)
{
	static const char *names[] = { "Host", "X-Gray", "Accept", "content-type", "Cookie",
				       "Contents", "Transfer-Enc", "TE", "Connection" };
	unsigned i, n = below(6);
	char line[128];

	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s: ", names[below(9)]);
		appends(dir, line);
		append_fill(dir, range(1, 80));
		appends(dir, "\r\n");
	}
}

/* A body of len bytes, chunked (a few chunks, a trailer sometimes) or not. */
static void body(int dir, int chunked, uint32_t len)
{
	char line[64];

	if (!chunked) {
		append_fill(dir, len);
		return;
	}
	while (len) {
		/* chunks of a few bytes, many to a segment, exhaust the walk's steps */
		uint32_t c = len > 20 ? range(20, len) : len;

		snprintf(line, sizeof(line), below(4) ? "%x\r\n" : "%X;ext=%u\r\n", c, below(99));
		appends(dir, line);
		append_fill(dir, c);
		appends(dir, "\r\n");
		len -= c;
	}
	appends(dir, "0\r\n");
	if (!below(3))
		appends(dir, "X-Trailer: yes\r\n");
	appends(dir, "\r\n");
}

static void framing(int dir, int chunked, uint32_t len, int say_len)
{
	char line[64];

	if (chunked) {
		appends(dir, below(2) ? "Transfer-Encoding: chunked\r\n" : "transfer-encoding: gzip, chunked\r\n");
	} else if (say_len) {
		snprintf(line, sizeof(line), below(2) ? "Content-Length: %u\r\n" : "content-length:%u\r\n", len);
		appends(dir, line);
	}
}

static void gen_h1(void)
{
	static const char *methods[] = { "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS" };
	static const unsigned statuses[] = { 200, 200, 404, 503, 204, 304, 201 };
	unsigned i, n = range(1, 6);
	char line[128];

	for (i = 0; i < n; i++) {
		const char *m = methods[below(6)];
		int head = !strcmp(m, "HEAD"), chunked, has_body;
		unsigned st = statuses[below(7)];
		uint32_t at, len;

		/* the request */
		at = S.d[0].len;
		snprintf(line, sizeof(line), "%s /p%u HTTP/1.1\r\n", m, below(1000));
		appends(0, line);
		extra_headers(0);
		has_body = !strcmp(m, "POST") || !strcmp(m, "PUT");
		chunked = has_body && !below(3);
		len = has_body ? range(0, 3000) : 0;
		framing(0, chunked, len, has_body);
		extra_headers(0);
		appends(0, "\r\n");
		expect(0, GP_L7_UNIT, GP_L7_F_LAST, at, at, S.d[0].len - at);
		body(0, chunked, len);

		/* its response, an interim one first sometimes */
		if (!below(6)) {
			at = S.d[1].len;
			appends(1, "HTTP/1.1 100 Continue\r\n\r\n");
			expect(1, GP_L7_UNIT, GP_L7_F_LAST, at, at, S.d[1].len - at);
		}
		at = S.d[1].len;
		snprintf(line, sizeof(line), "HTTP/1.1 %u Something\r\n", st);
		appends(1, line);
		extra_headers(1);
		has_body = !head && st != 204 && st != 304;
		chunked = has_body && !below(3);
		len = has_body ? range(0, 5000) : range(1, 5000);
		framing(1, chunked, len, 1);
		appends(1, "\r\n");
		expect(1, GP_L7_UNIT, GP_L7_F_LAST, at, at, S.d[1].len - at);
		if (has_body)
			body(1, chunked, len);
		expect(1, GP_L7_END, 0, at, S.d[1].len, 0);
	}
}

/* ---- comparing ---- */

static int mismatch(unsigned long flow, int dir, unsigned i, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "l7dump: flow %lu dir %d unit %u: MISMATCH: ", flow, dir, i);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* The kernel's records of dir, merged per unit, against ex[dir]. */
static int compare_dir(unsigned long flow, int dir, uint64_t *bytes)
{
	unsigned i = 0;
	size_t r = 0;

	while (r < S.nrec || i < nex[dir]) {
		const struct exp *x = i < nex[dir] ? &ex[dir][i] : NULL;
		const struct gp_l7_event *h;
		uint32_t have = 0;
		uint8_t flags = 0;

		while (r < S.nrec && S.recs[r].h.dir != dir)
			r++;
		if (r == S.nrec)
			return x ? mismatch(flow, dir, i, "missing %u at %u", x->kind, x->unit) : 0;
		h = &S.recs[r].h;
		if (!x)
			return mismatch(flow, dir, i, "extra kind %u unit %u off %u reason %u", h->kind,
					h->unit_off, h->off, h->reason);
		if (h->kind != x->kind || h->unit_off != x->unit)
			return mismatch(flow, dir, i, "kind %u unit %u (reason %u), expected kind %u unit %u",
					h->kind, h->unit_off, h->reason, x->kind, x->unit);
		if (x->kind == GP_L7_END) {
			if (h->off != x->off || h->len != x->len ||
			    memcmp(S.recs[r].data, S.d[dir].b + x->off, x->len))
				return mismatch(flow, dir, i, "END off %u len %u, expected %u %u", h->off,
						h->len, x->off, x->len);
			r++;
			i++;
			continue;
		}
		/* a unit: records in stream order until the one flagged LAST */
		for (;; r++) {
			while (r < S.nrec && S.recs[r].h.dir != dir)
				r++;
			if (r == S.nrec)
				return mismatch(flow, dir, i, "unit %u cut off after %u bytes", x->unit, have);
			h = &S.recs[r].h;
			if (h->kind != GP_L7_UNIT || h->unit_off != x->unit || h->off != x->unit + have ||
			    have + h->len > x->len ||
			    memcmp(S.recs[r].data, S.d[dir].b + x->unit + have, h->len))
				return mismatch(flow, dir, i, "record kind %u unit %u off %u len %u: not the next "
						"of unit %u (%u of %u bytes)", h->kind, h->unit_off, h->off,
						h->len, x->unit, have, x->len);
			have += h->len;
			*bytes += h->len;
			flags = h->flags;
			if (flags & GP_L7_F_LAST) {
				r++;
				break;
			}
			if (flags)
				return mismatch(flow, dir, i, "flags %u before the unit's end", flags);
		}
		if (have != x->len || flags != x->flags)
			return mismatch(flow, dir, i, "unit %u: %u bytes flags %u, expected %u flags %u",
					x->unit, have, flags, x->len, x->flags);
		i++;
	}
	return 0;
}

/* Sizes for one direction's segments: all small, all large, or mixed. */
static size_t next_size(int mode)
{
	switch (mode) {
	case 0:
		return range(1, 16);
	case 1:
		return range(1000, SEG_MAX);
	}
	return below(3) ? range(1, SEG_MAX) : range(1, 40);
}

static int send_some(int dir, int mode)
{
	struct dirbuf *d = &S.d[dir];
	size_t n = next_size(mode);

	/* the protocol is decided on a direction's first 8 (or 9) bytes: see bpf/l7.bpf.h */
	if (!d->sent && n < 24)
		n = 24;

	if (n > d->len - d->sent)
		n = d->len - d->sent;
	/* now and then a retransmit of bytes sent, or a segment overlapping them */
	if (d->sent && !below(20)) {
		size_t back = range(1, d->sent < 3000 ? d->sent : 3000);

		if (below(2))
			return send_range(dir, d->sent - back, back < n ? back : n);
		if (back + n > SEG_MAX)
			back = SEG_MAX - n;
		if (send_range(dir, d->sent - back, back + n))
			return -1;
		d->sent += n;
		return 0;
	}
	if (send_range(dir, d->sent, n))
		return -1;
	d->sent += n;
	return 0;
}

static int random_flow(unsigned long k, uint64_t *bytes, uint64_t *sent)
{
	int h2 = below(2), mode[2], dir, err = 0;

	S.v6 = below(2);
	S.sport = 10000 + k % 50000;
	nex[0] = nex[1] = 0;
	clear_recs();
	if (flow_open(""))
		return -1;
	if (h2) {
		gen_h2(0);
		gen_h2(1);
	} else {
		gen_h1();
	}
	for (dir = 0; dir < 2; dir++)
		mode[dir] = S.d[dir].len > 20000 && !below(2) ? 1 : below(3);
	/* HTTP/1: requests first, so the responses' framing knows its request (HEAD) */
	while (!err && (S.d[0].sent < S.d[0].len || S.d[1].sent < S.d[1].len)) {
		dir = S.d[0].sent == S.d[0].len || (h2 && S.d[1].sent < S.d[1].len && below(2));
		err = send_some(dir, mode[dir]);
	}
	*sent += S.d[0].len + S.d[1].len;
	if (!err)
		err = compare_dir(k, 0, bytes) || compare_dir(k, 1, bytes) ? 1 : 0;
	if (err) {
		fprintf(stderr, "l7dump: flow %lu was %s, %s, segments %d/%d; its records:\n", k,
			h2 ? "HTTP/2" : "HTTP/1", S.v6 ? "IPv6" : "IPv4", mode[0], mode[1]);
		for (size_t i = 0; i < S.nrec && (i < 20 || getenv("L7DUMP_ALL")); i++)
			print_rec(&S.recs[i]);
		if (getenv("L7DUMP_ALL"))
			for (dir = 0; dir < 2; dir++)
				fwrite(S.d[dir].b, 1, S.d[dir].len, stdout);
	}
	free(S.d[0].b);
	free(S.d[1].b);
	return err;
}

static int random_flows(unsigned long n, unsigned long seed, unsigned long first)
{
	uint64_t bytes = 0, sent = 0;
	unsigned long k, bad = 0;

	for (k = first; k < first + n; k++) {
		rng = seed * 0x100000001b3ull + k;
		if (random_flow(k, &bytes, &sent) && ++bad >= 3)
			break;
	}
	printf("l7dump: seed %lu: %lu flows, %" PRIu64 " stream bytes, %" PRIu64
	       " forwarded, %lu mismatches\n", seed, k, sent, bytes, bad);
	return bad ? 1 : 0;
}
