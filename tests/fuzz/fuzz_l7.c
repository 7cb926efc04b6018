// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Any sequence of GP_EV_L7 records, flow ends and expiries into the
 * reassembly (and through it the HTTP/1 and HTTP/2 decoders): no crash or
 * leak, events well formed, at most one GP_HTTP_LOST per connection and
 * direction and nothing from that direction after it (but an HTTP/2
 * direction's RINGBUF, after which its events go on without decoded
 * heads, told again only with a higher count), close once per connection.
 *
 * Input: records of [op][arg][len hi][len lo][du][do] + len bytes.
 * op: bits 0-1 kind (0: LOST, 3: flow end or expiry), bit 2 dir, bits 3-4 proto,
 * bit 5 LAST, bit 6 TRUNC, bit 7 offsets moved by du/do (signed) from
 * where the stream is, else exactly where it is. arg: bits 0-1 the
 * connection (its ISN), bits 2-7 time to add.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/l7.h"
#include "fuzz.h"

struct track {			/* per connection, in gp_l7_conn.user */
	int joined;		/* HTTP/2 joined mid-stream: heads of either kind, either way round */
	int lost[2];
	int blind[2];		/* RINGBUF told: heads are no longer decoded */
	uint32_t missed[2];
};

static struct {
	uint32_t unit[4][2], next[4][2];	/* the harness's idea of each stream */
	int partial[4][2];
} s;

static volatile uint8_t sink;	/* where hdrs are read to */

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	struct track *t = c->user;
	size_t i;

	(void)ctx;
	if (!t && !(t = c->user = calloc(1, sizeof(*t))))
		abort();
	if (m->dir > 1 || m->ev < GP_HTTP_REQUEST || m->ev > GP_HTTP_LOST || t->lost[m->dir])
		abort();
	if (m->ev == GP_HTTP_LOST) {
		if (!m->reason || m->reason >= GP_HTTP_LOST_MAX)
			abort();
		if (m->h1_walk_on) {
			if (m->reason != GP_HTTP_LOST_RINGBUF || m->proto != GP_L7P_H1)
				abort();	/* HTTP/1 after the ring's loss: heads go on */
		} else if (m->reason == GP_HTTP_LOST_MIDSTREAM && m->proto == GP_L7P_H2 && !t->joined)
			t->joined = 1;
		else if (m->reason == GP_HTTP_LOST_RINGBUF && m->proto == GP_L7P_H2 &&
		    (!t->blind[m->dir] || m->missed > t->missed[m->dir])) {
			t->blind[m->dir] = 1;	/* told again when the count grows */
			t->missed[m->dir] = m->missed;
		} else
			t->lost[m->dir] = 1;
	}
	/* Blind heads: only their stream and a status the static table or a literal gives. */
	if ((m->ev == GP_HTTP_REQUEST || m->ev == GP_HTTP_RESPONSE || m->ev == GP_HTTP_TRAILERS) &&
	    m->reason && (m->hdrs_len || (m->status && (m->status < 100 || m->status > 599)) ||
			  (m->ev == GP_HTTP_REQUEST && m->status) ||
			  !(t->joined ? m->reason == GP_HTTP_LOST_MIDSTREAM ||
					m->reason == GP_HTTP_LOST_RINGBUF :
					t->blind[m->dir] && m->reason == GP_HTTP_LOST_RINGBUF)))
		abort();
	if ((m->ev == GP_HTTP_REQUEST || m->ev == GP_HTTP_RESPONSE) && t->blind[m->dir] &&
	    !t->joined && !m->reason)
		abort();	/* a head decoded with a table that is not known */
	if (m->ev == GP_HTTP_REQUEST) {
		printable(m->method, GP_HTTP_METHOD_LEN);
		printable(m->authority, GP_HTTP_AUTHORITY_LEN);
		printable(m->path, GP_HTTP_PATH_LEN);
	}
	if (m->ev == GP_HTTP_RESPONSE && !m->malformed && !m->reason &&
	    (m->status < 100 || m->status > 599))
		abort();
	if (m->hdrs_len && !m->hdrs)
		abort();
	for (i = 0; i < m->hdrs_len; i++)	/* readable, every byte */
		sink ^= m->hdrs[i];
}

static void on_close(void *ctx, struct gp_l7_conn *c)
{
	(void)ctx;
	free(c->user);	/* twice would be a double free, never would leak: ASan says either */
}

static void offsets(struct gp_l7_event *h, unsigned cid, int moved, int8_t du, int8_t dof)
{
	uint32_t *u = &s.unit[cid][h->dir], *n = &s.next[cid][h->dir];

	if (!s.partial[cid][h->dir])
		*u = *n;
	h->unit_off = *u + (moved ? (uint32_t)(int32_t)du : 0);
	h->off = *n + (moved ? (uint32_t)(int32_t)dof : 0);
	*n = h->off + h->len;
	s.partial[cid][h->dir] = h->kind == GP_L7_UNIT && !(h->flags & GP_L7_F_LAST);
	if (!s.partial[cid][h->dir] && (uint8_t)du & 1)
		*n += (uint8_t)dof;	/* a body between units */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct gp_l7_ops ops = { .msg = on_msg, .close = on_close };
	struct gp_l7 *t = gp_l7_new(&ops);
	uint64_t now = 1;
	size_t p = 0;

	if (!t)
		return 0;
	memset(&s, 0, sizeof(s));
	while (size - p >= 6) {
		const uint8_t *r = data + p;
		struct gp_l7_event h = { .type = GP_EV_L7, .ifindex = 1 };
		size_t len = (size_t)r[2] << 8 | r[3];

		p += 6;
		if (len > size - p)
			len = size - p;
		now += r[1] >> 2;
		h.ts_ns = now;
		h.flow.family = 2;
		h.flow.sport = 1000;
		h.flow.dport = 80;
		h.isn = r[1] & 3;
		if ((r[0] & 3) == 3) {
			if (r[0] & 4)
				gp_l7_flow_end(t, &h.flow, h.isn, now);
			else
				gp_l7_expire(t, now + (uint64_t)r[4] * 100000000ull, (uint64_t)r[5] << 24);
			continue;
		}
		h.kind = (uint8_t)(r[0] & 3 ? r[0] & 3 : GP_L7_LOST);
		h.dir = (r[0] >> 2) & 1;
		h.proto = (r[0] >> 3) & 3;
		h.flags = (uint8_t)((r[0] & 0x20 ? GP_L7_F_LAST : 0) | (r[0] & 0x40 ? GP_L7_F_TRUNC : 0));
		h.len = (uint32_t)len;
		h.reason = r[5] % 6;
		offsets(&h, h.isn, r[0] & 0x80, (int8_t)r[4], (int8_t)r[5]);
		gp_l7_record(t, &h, data + p);
		p += len;
	}
	gp_l7_free(t);
	return 0;
}
