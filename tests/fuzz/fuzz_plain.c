// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Any TLS session's calls, both directions, through decode/plain.c and its
 * records through decode/l7.c: no crash or leak, l7.c takes every record
 * (bad_records 0), each record carries bytes that were captured at the
 * offsets it names, units come whole and in order within the limits. And
 * when nothing was cut, skipped or joined: the same units (merged per
 * unit) when each run of one direction's calls comes as one call.
 *
 * Input: [session flags] then calls of [op][len hi][len lo][aux] + len bytes.
 * Session flags bit 0: the first call says first (joined). op bit 0: dir;
 * bit 1: only aux % (len + 1) bytes captured; bit 2: the offset jumps
 * aux * 8 bytes first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/l7.h"
#include "decode/plain.h"

#define STREAM_MAX	(1u << 18)
#define UNITS_MAX	4096

struct unit {
	uint8_t kind, proto, flags;
	uint32_t unit_off, off, reason, len;
	uint32_t at;		/* its bytes in the run's byte pool */
};

struct run {
	struct unit u[2][UNITS_MAX];
	unsigned n[2];
	uint8_t *pool;
	size_t pool_len, pool_cap;
};

static struct {
	uint8_t b[2][STREAM_MAX];	/* each direction's bytes, where captured */
	uint8_t cap[2][STREAM_MAX];
	uint64_t off[2];
	struct gp_l7 *l7;
	struct run *r;
	uint32_t open[2];		/* a unit's records so far, or 0 */
} s;

static struct run runs[2];

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	(void)ctx;
	(void)c;
	if (m->dir > 1)
		abort();
}

static void pool_add(struct run *r, const uint8_t *data, uint32_t len)
{
	if (r->pool_len + len > r->pool_cap) {
		size_t cap = (r->pool_len + len) * 2;
		uint8_t *p = realloc(r->pool, cap);

		if (!p)
			abort();
		r->pool = p;
		r->pool_cap = cap;
	}
	memcpy(r->pool + r->pool_len, data, len);
	r->pool_len += len;
}

/* A record: its bytes captured there; merged into its unit. */
static void on_rec(void *ctx, const struct gp_l7_event *h, const uint8_t *data)
{
	struct run *r = s.r;
	unsigned d = h->dir, i;
	struct unit *last;

	(void)ctx;
	if (d > 1 || h->type != GP_EV_L7 || (h->len && !data))
		abort();
	for (i = 0; i < h->len; i++) {
		uint32_t at = h->off + i;

		if (h->kind == GP_L7_END && h->proto == GP_L7P_H2)
			at = h->unit_off + i;
		if (at >= STREAM_MAX || !s.cap[d][at] || s.b[d][at] != data[i])
			abort();
	}
	if (gp_l7_record(s.l7, h, data) == -EINVAL)
		abort();
	last = r->n[d] ? &r->u[d][r->n[d] - 1] : NULL;
	if (h->kind == GP_L7_UNIT && last && last->kind == GP_L7_UNIT &&
	    !(last->flags & GP_L7_F_LAST) && last->unit_off == h->unit_off) {
		if (h->off != last->unit_off + last->len)
			abort();
		pool_add(r, data, h->len);
		last->len += h->len;
		last->flags = h->flags;
		if (last->len > (h->proto == GP_L7P_H2 ? GP_L7_FRAME_MAX : GP_L7_HEAD_MAX))
			abort();
		return;
	}
	if ((h->kind == GP_L7_UNIT && h->off != h->unit_off) || r->n[d] == UNITS_MAX)
		abort();
	r->u[d][r->n[d]++] = (struct unit){ h->kind, h->proto, h->flags, h->unit_off, h->off,
					     h->reason, h->len, (uint32_t)r->pool_len };
	if (h->len)
		pool_add(r, data, h->len);
}

struct call {
	unsigned dir;
	uint64_t off;
	const uint8_t *data;
	uint32_t len, total;
};

/* The calls fed to a new walker into run r; 0, or -1 when a stream outgrew the buffers. */
static int feed_all(struct run *r, const struct call *c, size_t n, int first)
{
	static const struct gp_l7_ops ops = { .msg = on_msg };
	struct gp_plain *p = gp_plain_new();
	struct gp_l7_event t;
	struct gp_l7_stats st;
	size_t i;

	memset(r->n, 0, sizeof(r->n));
	r->pool_len = 0;
	s.r = r;
	s.l7 = gp_l7_new(&ops);
	if (!p || !s.l7)
		abort();
	memset(&t, 0, sizeof(t));
	t.type = GP_EV_L7;
	t.flow.family = 2;
	t.flow.sport = 1000;
	t.flow.dport = 443;
	for (i = 0; i < n; i++) {
		t.dir = (uint8_t)c[i].dir;
		t.ts_ns = i + 1;
		if (gp_plain_feed(p, &t, c[i].off, c[i].data, c[i].len, c[i].total, first && !i,
				  on_rec, NULL))
			abort();
	}
	gp_plain_free(p);
	gp_l7_stats(s.l7, &st);
	if (st.bad_records)
		abort();
	gp_l7_free(s.l7);
	return 0;
}

static void same(const struct run *a, const struct run *b)
{
	unsigned d, i;

	for (d = 0; d < 2; d++) {
		if (a->n[d] != b->n[d])
			abort();
		for (i = 0; i < a->n[d]; i++) {
			const struct unit *x = &a->u[d][i], *y = &b->u[d][i];

			if (x->kind != y->kind || x->proto != y->proto || x->flags != y->flags ||
			    x->unit_off != y->unit_off || x->off != y->off || x->reason != y->reason ||
			    x->len != y->len || memcmp(a->pool + x->at, b->pool + y->at, x->len))
				abort();
		}
	}
}

static struct call calls[9000], whole[9000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t p = 1, n = 0, nw = 0;
	int first, plain = 1;

	if (!size)
		return 0;
	first = data[0] & 1;
	memset(&s, 0, sizeof(s));
	while (size - p >= 4 && n < sizeof(calls) / sizeof(calls[0])) {
		const uint8_t *h = data + p;
		unsigned d = h[0] & 1;
		uint32_t len = (uint32_t)h[1] << 8 | h[2], got;

		p += 4;
		if (len > size - p)
			len = (uint32_t)(size - p);
		if (h[0] & 4) {
			s.off[d] += (uint64_t)h[3] * 8;
			plain = 0;
		}
		got = h[0] & 2 ? h[3] % (len + 1) : len;
		plain &= got == len;
		if (s.off[d] + len > STREAM_MAX)
			break;
		memcpy(s.b[d] + s.off[d], data + p, got);
		memset(s.cap[d] + s.off[d], 1, got);
		calls[n++] = (struct call){ d, s.off[d], data + p, got, len };
		/* the same bytes, each run of one direction as one call */
		if (nw && whole[nw - 1].dir == d)
			whole[nw - 1].len = whole[nw - 1].total += len;
		else
			whole[nw++] = (struct call){ d, s.off[d], data + p, len, len };
		s.off[d] += len;
		p += len;
	}
	feed_all(&runs[0], calls, n, first);
	if (plain && !first) {
		/* a merged call's bytes are contiguous in s.b: point into it */
		for (p = 0; p < nw; p++)
			whole[p].data = s.b[whole[p].dir] + whole[p].off;
		feed_all(&runs[1], whole, nw, 0);
		same(&runs[0], &runs[1]);
	}
	return 0;
}
