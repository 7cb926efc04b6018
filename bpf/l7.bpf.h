/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP at TC: per flow and direction, where the next HTTP/2 frame header or
 * HTTP/1 message head starts. Only the units user space decodes are copied
 * (struct gp_l7_event); bodies and DATA payloads are skipped by arithmetic.
 * Included by grayprobe.bpf.c after its maps.
 *
 * Verifier budget: the slow path (gp_l7_seg), the walkers (gp_h2_walk,
 * gp_h1_walk, gp_h1_step), the record writer (gp_l7_emit) and the HTTP/1
 * byte scanner (gp_h1_scan, gp_h1_scan_all) are global functions, each
 * verified once on its own instead of once per path that reaches it:
 * inlined, the loops cost the verifier more than its 1M instructions. A
 * global function takes scalars only on 5.10 (pointer arguments came with
 * 5.12's e5069b9c23b3), so each finds the segment (flow key, offsets) and
 * its state in the per-CPU staging buffer and looks the flow up again.
 *
 * Per direction: mode WAIT until its first payload at offset 0 decides
 * (the client's: the h2 preface, possibly in pieces, or an HTTP/1 method
 * and a space in its first segment; the server's: a SETTINGS frame at 0),
 * then H2 or H1 until the stream ends, a gap (a segment past the walked
 * point) or framing past the limits here end it with one GP_L7_LOST. A
 * record the ring buffer refuses costs its unit only: GP_L7_LOST(RINGBUF)
 * is sent before the flow's next record and the walk goes on (l7_emit),
 * with the running count of requests (and HTTP/1 final responses) refused.
 * Adopted mid-stream (no SYN seen): mode MID until a segment that starts
 * with an HTTP/2 frame header joins it (l7_midstream). Retransmits and
 * overlaps are walked from the walked point, so no unit is sent twice.
 */
#ifndef GP_L7_BPF_H
#define GP_L7_BPF_H

#include "gp_h1scan.h"

/* gp_l7_dir.mode */
enum {
	L7M_OFF = 0,	/* not followed: not HTTP, lost, or a tunnel */
	L7M_WAIT,	/* the first payload at offset 0 decides */
	L7M_NOISN,	/* server direction whose SYN-ACK was not seen */
	L7M_MID,	/* adopted mid-stream: the first payload says whether to report it */
	L7M_H2,
	L7M_H1,
	L7M_LOSTPEND,	/* a record was lost: GP_L7_LOST (reason) still to be sent */
};

/* gp_l7_dir.sub, HTTP/2: what the walker still owes for the frame whose header it read */
enum { H2P_NONE = 0, H2P_UNIT, H2P_END };
/* gp_l7_dir.sub, HTTP/1 */
enum { H1S_HEAD = 0, H1S_BODY, H1S_CHUNKDATA, H1S_CHUNK, H1S_TRAILER, H1S_CLOSE };

#define H2_FRAMES_MAX	16	/* frame headers walked per gp_h2_walk() call */
#define H2_WALKS	16	/* its calls per segment */
#define H1_STEPS_MAX	128	/* head, body and chunk steps per segment */
#define L7_REC_MAX	8192	/* bytes in one record; a longer unit takes several */
#define H1_CHUNKLINE_MAX 64	/* a chunk-size line read per step */
#define H1_SCAN_STEP	64	/* bytes per gp_h1_scan() call */
#define L7_AT_BUF	0xffffffff	/* l7_rec.at: the bytes are in the staging buffer already */
/*
 * gp_l7_dir.reason in H1/H2 mode: GP_L7_LOST_RINGBUF while a LOST is owed;
 * L7_TOLD once sent, until the direction's next record: records refused
 * before then need no other LOST.
 */
#define L7_TOLD		0x80
#define L7_OWED(r)	((r) & 0x7f)
/* gp_l7_dir.uflags: the frame is a client HEADERS opening a stream (not forwarded) */
#define L7_UF_REQ	0x80
/* gp_l7_dir.uflags, HTTP/1: a record of the head being walked was refused */
#define L7_UF_HLOST	0x40

/* What one packet is to a direction: stream bytes [s, e) of flow v. */
struct l7_seg {
	struct gp_flow_val *v;
	struct gp_l7_dir *d;
	__u32 s, e;
	__u32 poff;		/* skb offset of stream byte s */
	__u8 dir;
};

struct l7_rec {
	__u32 unit_off, off;
	__u32 n;		/* bytes from the skb (or the buffer) */
	__u32 at;		/* 0, or L7_AT_BUF: they are in the buffer */
	__u8 kind, flags, pre;	/* pre: 9 = the frame header in d->hdr goes first */
	__u8 reason;
};

static __always_inline int seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline __u32 seq_min(__u32 a, __u32 b)
{
	return seq_before(a, b) ? a : b;
}

/*
 * bpf_skb_load_bytes() of n bytes, 1 <= n <= mask + 1. clang tests a
 * zero-extended copy of n and passes the original, whose bounds the
 * verifier then does not know; a mask it cannot drop bounds the register
 * that is passed (see flow_record()).
 */
#define L7_LOAD(skb, at, dst, n, mask) ({					\
	__u64 __m = (n) - 1;							\
	asm volatile("%[m] &= %[k]" : [m] "+r"(__m) : [k] "i"(mask));		\
	bpf_skb_load_bytes(skb, at, dst, __m + 1);				\
})

/*
 * Scans the staging buffer's bytes [from, n), at most H1_SCAN_STEP of them,
 * with the state in its scan field; returns the bytes consumed: through the
 * line end that completed the head or line (SF_DONE), else all it looked at.
 * Short steps: each byte's branches wait on the verifier's stack, which
 * holds 8192 of them.
 */
__noinline int gp_h1_scan(__u32 from, __u32 n)
{
	struct payload_buf *b;
	__u32 zero = 0, i;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b || from >= n)
		return 0;
	for (i = 0; i < H1_SCAN_STEP && from + i < n; i++) {
		if (h1_byte(&b->scan, b->data[(from + i) & (GP_L7_HEAD_MAX - 1)]))
			return i + 1;
	}
	return i;
}

/* gp_h1_scan() over the buffer's first n bytes; the bytes consumed. Global: verified once. */
__noinline int gp_h1_scan_all(__u32 n)
{
	__u32 at = 0, i;
	struct payload_buf *b;
	__u32 zero = 0;
	int r;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return 0;
	for (i = 0; i < GP_L7_HEAD_MAX / H1_SCAN_STEP && at < n; i++) {
		r = gp_h1_scan(at, n);
		if (r <= 0 || r > H1_SCAN_STEP)
			break;
		at += r;
		if (b->scan.sf & SF_DONE)
			break;
	}
	return at;
}

/* The segment the staging buffer describes, for a global function: 0 or -1. */
static __always_inline int l7_seg_load(struct l7_seg *g)
{
	struct payload_buf *b;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return -1;
	g->v = bpf_map_lookup_elem(&gp_flows, &b->seg.key);
	if (!g->v)
		return -1;
	g->dir = b->seg.dir & 1;
	g->d = &g->v->l7[g->dir];
	g->s = b->seg.s;
	g->e = b->seg.e;
	g->poff = b->seg.poff;
	return 0;
}

/* packed argument of gp_l7_emit() */
#define EM_KIND(x)	((x) & 0xff)
#define EM_FLAGS(x)	(((x) >> 8) & 0xff)
#define EM_REASON(x)	(((x) >> 16) & 0xf)
#define EM_PROTO(x)	(((x) >> 20) & 0x3)
#define EM_PRE		(1u << 22)	/* the frame header is in data[0..9) already */
#define EM_INBUF	(1u << 23)	/* all bytes are in data already */
#define EM_DIR		(1u << 24)	/* server -> client */

/*
 * Sends one record of the segment described in the staging buffer's seg
 * field: n bytes from stream offset off (+ 9 with EM_PRE) of the skb. A
 * global function, verified once: see the top of this file.
 */
__noinline int gp_l7_emit(struct __sk_buff *skb, __u32 unit_off, __u32 off, __u32 n, __u32 packed)
{
	struct payload_buf *b;
	__u32 zero = 0, pre = packed & EM_PRE ? 9 : 0;
	__u64 m = n, size;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b || m > L7_REC_MAX)
		return -1;
	if (m && !(packed & EM_INBUF) &&
	    L7_LOAD(skb, b->seg.poff + (off + pre - b->seg.s), b->data + pre, m, L7_REC_MAX - 1))
		return -1;
	size = m + pre;
	asm volatile("%[s] &= %[mask]" : [s] "+r"(size) : [mask] "i"(L7_REC_MAX * 2 - 1));
	b->l7.type = GP_EV_L7;
	b->l7.ifindex = skb->ifindex;
	b->l7.ts_ns = bpf_ktime_get_ns();
	b->l7.flow = b->seg.flow;
	b->l7.isn = b->seg.isn;
	b->l7.unit_off = unit_off;
	b->l7.off = off;
	b->l7.len = size;
	b->l7.dir = !!(packed & EM_DIR);
	b->l7.kind = EM_KIND(packed);
	b->l7.proto = EM_PROTO(packed);
	b->l7.flags = EM_FLAGS(packed);
	b->l7.reason = EM_REASON(packed);
	return bpf_ringbuf_output(&gp_events, b, sizeof(b->l7) + size, rb_flags()) ? -1 : 0;
}

/*
 * The GP_L7_LOST(RINGBUF) each walked direction of the segment's flow
 * owes, sent before any later record of the flow: 0, or -1 when the ring
 * is still full. Global: verified once, not per record written.
 */
__noinline int gp_l7_flush(struct __sk_buff *skb)
{
	struct l7_seg g;
	__u32 i, packed;

	if (l7_seg_load(&g))
		return -1;
	for (i = 0; i < 2; i++) {
		struct gp_l7_dir *x = &g.v->l7[i];

		if (!L7_OWED(x->reason) || (x->mode != L7M_H1 && x->mode != L7M_H2))
			continue;
		packed = GP_L7_LOST | (GP_L7_LOST_RINGBUF << 16) | (i ? EM_DIR : 0) |
			 (x->mode == L7M_H1 ? GP_L7P_H1 : GP_L7P_H2) << 20;
		if (gp_l7_emit(skb, !i ? g.v->h2_missed : x->mode == L7M_H1 ? g.v->h1_resp_missed :
			       x->pos, x->pos, 0,
			       packed))
			return -1;
		x->reason = L7_TOLD;
	}
	return 0;
}

/*
 * One record of direction g->dir. A UNIT or END the ring refuses costs
 * its unit only: the walk goes on (framing is not lost) and the direction
 * owes a LOST(RINGBUF), sent before the flow's next record. A LOST the
 * ring refuses is owed by the direction, which stops (L7M_LOSTPEND).
 */
static __always_inline int l7_emit(struct __sk_buff *skb, struct l7_seg *g, struct l7_rec *r)
{
	struct gp_l7_dir *d = g->d;
	__u32 packed = r->kind | (r->flags << 8) | ((r->reason & 0xf) << 16), zero = 0;

	if (L7_OWED(g->v->l7[0].reason | g->v->l7[1].reason) && gp_l7_flush(skb))
		goto fail;

	packed |= (d->mode == L7M_H1 ? GP_L7P_H1 : d->mode == L7M_H2 ? GP_L7P_H2 : GP_L7P_NONE) << 20;
	if (r->at == L7_AT_BUF)
		packed |= EM_INBUF;
	if (g->dir)
		packed |= EM_DIR;
	if (r->pre) {
		struct payload_buf *b = bpf_map_lookup_elem(&gp_payload_buf, &zero);

		if (!b)
			return -1;
		__builtin_memcpy(b->data, d->hdr, 9);
		packed |= EM_PRE;
	}
	if (!gp_l7_emit(skb, r->unit_off, r->off, r->n, packed)) {
		d->reason = 0;
		return 0;
	}
fail:
	stat_inc(GP_STAT_L7_LOST);
	if (r->kind != GP_L7_LOST && (d->mode == L7M_H1 || d->mode == L7M_H2)) {
		/* a request refused: a LOST with the new count, even when told already */
		if (d->reason != L7_TOLD || (d->uflags & L7_UF_REQ))
			d->reason = GP_L7_LOST_RINGBUF;
		if (d->uflags & L7_UF_REQ)
			g->v->h2_missed++;
		d->uflags &= ~L7_UF_REQ;
		if (d->mode == L7M_H1 && r->kind == GP_L7_UNIT)
			d->uflags |= L7_UF_HLOST;	/* counted once the head says what it was */
		return 0;
	}
	d->mode = L7M_LOSTPEND;
	d->reason = GP_L7_LOST_RINGBUF;
	d->pos = r->off;
	return -1;
}

/* The direction is lost from off on: report it (or owe the report) and stop. */
static __always_inline void l7_lose(struct __sk_buff *skb, struct l7_seg *g, __u32 off, __u8 why)
{
	struct l7_rec r = { .unit_off = off, .off = off, .kind = GP_L7_LOST, .reason = why };

	if (!l7_emit(skb, g, &r)) {
		g->d->mode = L7M_OFF;
		g->d->reason = 0;
	}
}

static __always_inline int l7_unit_rec(struct __sk_buff *skb, struct l7_seg *g, __u32 off,
				       __u32 n, __u8 pre, __u8 flags)
{
	struct gp_l7_dir *d = g->d;
	struct l7_rec r = {
		.unit_off = d->unit, .off = off, .n = n,
		.kind = GP_L7_UNIT, .flags = flags, .pre = pre,
	};

	return l7_emit(skb, g, &r);
}

/* ---- HTTP/2 ------------------------------------------------------------------------ */

/* Frame types whose bytes change header state or end streams. */
static __always_inline __u32 h2_fwd_len(__u8 type, __u32 flen)
{
	switch (type) {
	case 1: case 3: case 4: case 5: case 9:	/* HEADERS RST_STREAM SETTINGS PUSH_PROMISE CONTINUATION */
		return flen < GP_L7_FRAME_MAX ? flen : GP_L7_FRAME_MAX;
	case 7:					/* GOAWAY: its fixed part */
		return flen < GP_L7_GOAWAY_FWD ? flen : GP_L7_GOAWAY_FWD;
	}
	return 0;
}

/*
 * Completes the frame header at d->next from the segment; 1 once all 9
 * bytes are in d->hdr. A header split across segments keeps its start there.
 */
static __always_inline int h2_header(struct __sk_buff *skb, struct l7_seg *g, __u32 pos)
{
	struct gp_l7_dir *d = g->d;
	__u32 at = g->poff + (pos - g->s), i;

	if (!d->hlen && g->e - pos >= 9)
		return !bpf_skb_load_bytes(skb, at, d->hdr, 9) ? 1 : -1;
	for (i = 0; i < 9; i++) {
		if (d->hlen >= 9 || pos + i == g->e)
			break;
		__u64 k = d->hlen;

		/* clang drops a plain & 15 it can prove redundant; the verifier cannot */
		asm volatile("%[k] &= 15" : [k] "+r"(k));
		if (bpf_skb_load_bytes(skb, at + i, &d->hdr[k], 1))
			return -1;
		d->hlen++;
	}
	return d->hlen >= 9;
}

/* Reads the frame header at d->next: what to forward of the frame, or an END. */
static __always_inline void h2_frame(struct gp_l7_dir *d)
{
	__u32 len = ((__u32)d->hdr[0] << 16) | ((__u32)d->hdr[1] << 8) | d->hdr[2];
	__u32 fwd = h2_fwd_len(d->hdr[3], len + 9);

	d->hlen = 0;
	d->unit = d->next;
	d->pos = d->next + 9;
	d->sub = H2P_NONE;
	d->uflags = 0;
	if (fwd) {
		d->fwd_end = d->next + fwd;
		d->uflags = len + 9 > fwd ? GP_L7_F_TRUNC : 0;
		d->sub = H2P_UNIT;
	} else if (d->hdr[3] == 0 && (d->hdr[4] & 0x1)) {
		d->sub = H2P_END;
	}
	d->next += len + 9;
}

/* A client HEADERS on a stream above all before it opens a request (RFC 9113 5.1.1). */
static __always_inline void h2_new_stream(struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	__u32 sid = ((__u32)(d->hdr[5] & 0x7f) << 24) | ((__u32)d->hdr[6] << 16) |
		    ((__u32)d->hdr[7] << 8) | d->hdr[8];

	if (sid > g->v->h2_sid) {
		g->v->h2_sid = sid;
		d->uflags |= L7_UF_REQ;
	}
}

/* Forwards what the segment holds of the current frame; 0, or -1 when lost. */
static __always_inline int h2_forward(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	__u32 pos = d->pos, n, pre = 0;
	__u8 flags;

	if (d->sub == H2P_END) {
		struct l7_rec r = { .unit_off = d->unit, .off = d->unit, .kind = GP_L7_END, .pre = 9 };

		d->sub = H2P_NONE;
		return l7_emit(skb, g, &r);
	}
	if (d->sub == H2P_UNIT) {
		pre = 9;
		pos -= 9;
	} else if (!seq_before(d->pos, d->fwd_end) || d->pos == g->e) {
		return 0;
	}
	n = seq_min(d->fwd_end, g->e) - d->pos;
	if (n > L7_REC_MAX - pre)
		n = L7_REC_MAX - pre;
	flags = d->pos + n == d->fwd_end ? GP_L7_F_LAST | (d->uflags & GP_L7_F_TRUNC) : 0;
	d->sub = H2P_NONE;
	d->pos += n;
	return l7_unit_rec(skb, g, pos, n, pre, flags);
}

/* Walks the frame headers that start in the segment, from d->pos on. */
static __always_inline int h2_walk(struct __sk_buff *skb, struct l7_seg *g, int last)
{
	struct gp_l7_dir *d = g->d;
	int i, h;

	/*
	 * Before 6.3 the verifier refuses a loop whose back-edge is an
	 * instruction's fall-through (check_cfg's loop_ok), which clang makes
	 * of a continue here: the loop ends in an explicit conditional jump.
	 */
	i = 0;
next_frame:
	if (h2_forward(skb, g) || d->pos == g->e)
		return 0;
	if (!seq_before(d->pos, d->fwd_end)) {	/* else a unit longer than one record */
		if (seq_before(d->pos, d->next))
			d->pos = seq_min(d->next, g->e);
		if (d->pos == g->e)
			return 0;
		h = h2_header(skb, g, d->pos);
		if (h < 0) {
			l7_lose(skb, g, d->next, GP_L7_LOST_MALFORMED);
			return 0;
		}
		if (!h) {
			d->pos = g->e;
			return 0;
		}
		h2_frame(d);
		if (!g->dir && d->hdr[3] == 1)
			h2_new_stream(g);
	}
	if (++i < H2_FRAMES_MAX)
		goto next_frame;
	if (h2_forward(skb, g))
		return 0;
	if (!seq_before(d->pos, d->fwd_end) && seq_before(d->pos, d->next))
		d->pos = seq_min(d->next, g->e);
	if (d->pos == g->e)
		return 0;
	if (!last)
		return 1;	/* called again for the rest */
	/* More frames than a segment's walks: the rest cannot be followed. */
	l7_lose(skb, g, d->pos, GP_L7_LOST_MALFORMED);
	return 0;
}

static __always_inline void h2_start(struct gp_l7_dir *d, __u32 next)
{
	d->mode = L7M_H2;
	d->sub = H2P_NONE;
	d->hlen = 0;
	d->next = next;
	d->fwd_end = d->pos;
}

/* ---- HTTP/1 ------------------------------------------------------------------------ */

static __always_inline void h1_start(struct gp_l7_dir *d, __u32 at)
{
	d->mode = L7M_H1;
	d->sub = H1S_HEAD;
	d->unit = at;
	h1_scan_init(&d->h1, LS_FIRST);
}

/* A message's end; for responses a GP_L7_END record. */
static __always_inline int h1_msg_end(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	struct l7_rec r = { .unit_off = d->unit, .off = d->pos, .kind = GP_L7_END };

	h1_start(d, d->pos);
	return g->dir ? l7_emit(skb, g, &r) : 0;
}

/* The body framing learned from the head: chunked, a length, or none. */
static __always_inline int h1_body(struct __sk_buff *skb, struct l7_seg *g, int close_delim)
{
	struct gp_l7_dir *d = g->d;

	if (d->h1.sf & SF_CHUNKED) {
		d->sub = H1S_CHUNK;
		h1_scan_init(&d->h1, LS_HEX);
		return 0;
	}
	if ((d->h1.sf & SF_CL) && d->h1.num) {
		if (d->h1.sf & SF_BIG) {
			l7_lose(skb, g, d->pos, GP_L7_LOST_MALFORMED);
			return -1;
		}
		d->sub = H1S_BODY;
		d->next = d->pos + d->h1.num;
		return 0;
	}
	if (close_delim && !(d->h1.sf & SF_CL)) {
		d->sub = H1S_CLOSE;
		return 0;
	}
	return h1_msg_end(skb, g);
}

/*
 * A head with a record the ring refused: counted (count, or none for an
 * interim response, which pairs with no request) and the new count owed
 * in a LOST, so user space keeps its requests and responses in step.
 */
static __always_inline void h1_head_refused(struct gp_l7_dir *d, __u32 *count)
{
	if (!(d->uflags & L7_UF_HLOST))
		return;
	d->uflags &= ~L7_UF_HLOST;
	if (!count)
		return;
	(*count)++;
	d->reason = GP_L7_LOST_RINGBUF;
}

static __always_inline int h1_request_done(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	struct gp_flow_val *v = g->v;

	if (h1_prefix(d->h1.first, "PRI * HTTP/2", 12)) {
		h1_head_refused(d, NULL);
		h2_start(d, d->unit + 24);
		return 1;
	}
	h1_head_refused(d, &v->h2_missed);
	/* Only responses that are followed need their request's kind. */
	if (v->l7[1].mode == L7M_H1 && v->nfifo >= FIFO_MAX) {
		struct l7_seg sg = *g;

		/* more requests outstanding than kept: the responses' framing is unknown */
		sg.d = &v->l7[1];
		sg.dir = 1;
		l7_lose(skb, &sg, sg.d->pos, GP_L7_LOST_MALFORMED);
	} else if (v->l7[1].mode == L7M_H1) {
		v->fifo |= h1_req_kind(d->h1.first) << ((v->nfifo & (FIFO_MAX - 1)) * 2);
		v->nfifo++;
	}
	return h1_body(skb, g, 0);
}

static __always_inline int h1_response_done(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	struct gp_flow_val *v = g->v;
	__u32 st = h1_status(d->h1.first), kind = v->fifo & 3;

	if (st < 100 || st > 999) {
		l7_lose(skb, g, d->unit, GP_L7_LOST_MALFORMED);
		return -1;
	}
	if (st < 200 && st != 101) {
		h1_head_refused(d, NULL);
		h1_start(d, d->pos);	/* interim: the final response follows */
		return 0;
	}
	h1_head_refused(d, &v->h1_resp_missed);
	if (v->nfifo) {
		v->fifo >>= 2;
		v->nfifo--;
	}
	if (st == 101) {
		if (h1_msg_end(skb, g))
			return -1;
		h2_start(d, d->pos);
		return 1;
	}
	if (kind == RQ_CONNECT && st < 300) {
		h1_msg_end(skb, g);
		v->l7[0].mode = L7M_OFF;
		d->mode = L7M_OFF;
		return -1;
	}
	if (kind == RQ_HEAD || st == 204 || st == 304)
		return h1_msg_end(skb, g);
	return h1_body(skb, g, 1);
}

/*
 * The segment's next n bytes (1..GP_L7_HEAD_MAX) through the scanner, with
 * the direction's scan state; left in the staging buffer. The bytes
 * consumed, or -1.
 */
static __always_inline int h1_scan_seg(struct __sk_buff *skb, struct l7_seg *g, __u32 n)
{
	struct gp_l7_dir *d = g->d;
	struct payload_buf *b;
	__u32 zero = 0;
	int r;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b || !n || n > GP_L7_HEAD_MAX ||
	    L7_LOAD(skb, g->poff + (d->pos - g->s), b->data, n, GP_L7_HEAD_MAX - 1))
		return -1;
	b->scan = d->h1;
	r = gp_h1_scan_all(n);
	if (r < 0 || r > (int)n)
		return -1;
	d->h1 = b->scan;
	return r;
}

/* Part of a head (or trailer section) from the segment; 1 when it completed. */
static __always_inline int h1_head(struct __sk_buff *skb, struct l7_seg *g, int trailer)
{
	struct gp_l7_dir *d = g->d;
	__u32 used = trailer ? 0 : d->pos - d->unit, n = g->e - d->pos;
	int r;

	if (used >= GP_L7_HEAD_MAX) {
		l7_lose(skb, g, d->unit, GP_L7_LOST_MALFORMED);
		return -1;
	}
	if (n > GP_L7_HEAD_MAX - used)
		n = GP_L7_HEAD_MAX - used;
	r = h1_scan_seg(skb, g, n);
	if (r < 0)
		return -1;
	if (!trailer) {
		struct l7_rec rec = {
			.unit_off = d->unit, .off = d->pos, .n = r, .at = L7_AT_BUF,
			.kind = GP_L7_UNIT, .flags = d->h1.sf & SF_DONE ? GP_L7_F_LAST : 0,
		};

		if (l7_emit(skb, g, &rec))
			return -1;
	}
	d->pos += r;
	if (d->h1.sf & SF_DONE)
		return 1;
	if (!trailer && d->pos - d->unit >= GP_L7_HEAD_MAX) {
		l7_lose(skb, g, d->unit, GP_L7_LOST_MALFORMED);
		return -1;
	}
	return 0;
}

/* A chunk-size line; 0 on progress, -1 when lost. */
static __always_inline int h1_chunk_line(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	__u32 n = g->e - d->pos;
	int r;

	r = h1_scan_seg(skb, g, n < H1_CHUNKLINE_MAX ? n : H1_CHUNKLINE_MAX);
	if (r < 0)
		return -1;
	d->pos += r;
	if (!(d->h1.sf & SF_DONE)) {
		/* col counts the line's bytes here: extensions past what is worth following */
		if (d->h1.col + r > H1_CHUNKLINE_MAX * 2) {
			l7_lose(skb, g, d->pos, GP_L7_LOST_MALFORMED);
			return -1;
		}
		d->h1.col += r;
		return 0;
	}
	if (d->h1.sf & (SF_BAD | SF_BIG)) {
		l7_lose(skb, g, d->pos, GP_L7_LOST_MALFORMED);
		return -1;
	}
	if (!d->h1.num) {
		d->sub = H1S_TRAILER;
		h1_scan_init(&d->h1, LS_START);
		return 0;
	}
	d->sub = H1S_CHUNKDATA;
	d->next = d->pos + d->h1.num + 2;	/* the data's CRLF is skipped with it */
	return 0;
}

static __always_inline int h1_is_pri(struct __sk_buff *skb, struct l7_seg *g)
{
	__u8 a[4];

	return !bpf_skb_load_bytes(skb, g->poff + (g->d->pos - g->s), a, 4) &&
	       h1_prefix(a, "PRI ", 4);
}

/* One step of a message; 0 to go on, 1 when the direction became HTTP/2, -1 to stop. */
static __always_inline int h1_step(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	int r;

	switch (d->sub) {
	case H1S_HEAD:
		if (!g->dir && d->pos == d->unit && g->e - d->pos >= 4 && h1_is_pri(skb, g)) {
			h2_start(d, d->unit + 24);	/* after Upgrade: h2c, the preface */
			return 1;
		}
		r = h1_head(skb, g, 0);
		if (r <= 0)
			return r;
		return g->dir ? h1_response_done(skb, g) : h1_request_done(skb, g);
	case H1S_BODY:
	case H1S_CHUNKDATA:
		d->pos = seq_min(d->next, g->e);
		if (d->pos != d->next)
			return 0;
		if (d->sub == H1S_CHUNKDATA) {
			d->sub = H1S_CHUNK;
			h1_scan_init(&d->h1, LS_HEX);
			return 0;
		}
		return h1_msg_end(skb, g);
	case H1S_CHUNK:
		return h1_chunk_line(skb, g);
	case H1S_TRAILER:
		r = h1_head(skb, g, 1);
		if (r <= 0)
			return r;
		return h1_msg_end(skb, g);
	}
	d->pos = g->e;	/* delimited by close */
	return 0;
}

/* One step of the segment's HTTP/1 walk, global: verified once, not per step. */
__noinline int gp_h1_step(struct __sk_buff *skb)
{
	struct l7_seg g;

	if (l7_seg_load(&g) || g.d->mode != L7M_H1 || g.d->pos == g.e)
		return -1;
	return h1_step(skb, &g);
}

/* Walks the segment's messages; 1 when the rest of it is HTTP/2. */
static __always_inline int h1_walk(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	int i, r;

	for (i = 0; i < H1_STEPS_MAX; i++) {
		if (d->pos == g->e || d->mode != L7M_H1)
			return 0;
		r = gp_h1_step(skb);
		if (r)
			return r > 0;
	}
	if (d->pos != g->e && d->mode == L7M_H1)
		l7_lose(skb, g, d->pos, GP_L7_LOST_MALFORMED);
	return 0;
}

/*
 * The walkers as global functions, each verified once on its own: inlined
 * into the decision code their loops cost the verifier half its 1M budget.
 */
/* H2_FRAMES_MAX frame headers of the segment; 1 when more are left for another call. */
__noinline int gp_h2_walk(struct __sk_buff *skb, int last)
{
	struct l7_seg g;

	if (l7_seg_load(&g) || g.d->mode != L7M_H2)
		return 0;
	return h2_walk(skb, &g, last);
}

/* 1 when the direction switched to HTTP/2 within the segment. */
__noinline int gp_h1_walk(struct __sk_buff *skb)
{
	struct l7_seg g;

	if (l7_seg_load(&g) || g.d->mode != L7M_H1)
		return 0;
	return h1_walk(skb, &g);
}

/* ---- deciding ------------------------------------------------------------------------ */

static __always_inline int h1_method(const __u8 *a, __u32 n)
{
#define M(lit) (n >= sizeof(lit) - 1 && h1_prefix(a, lit, sizeof(lit) - 1))
	return M("GET ") || M("HEAD ") || M("POST ") || M("PUT ") || M("DELETE ") ||
	       M("OPTIONS ") || M("PATCH ") || M("CONNECT ") || M("TRACE ");
#undef M
}

/*
 * A frame header a sender could really have written (RFC 9113 4.1, 6):
 * within the default SETTINGS_MAX_FRAME_SIZE, a known type on the stream
 * kind it belongs to, only that type's flags, and the fixed lengths. A
 * segment that starts inside a frame rarely passes it, and a join also
 * checks the frame header after the first one when the segment holds it.
 */
static __always_inline int h2_plausible(const __u8 *a)
{
	__u32 len = ((__u32)a[1] << 8) | a[2], sid0;
	__u8 t = a[3], f = a[4];

	if (a[0] || len > 16384 || t > 9 || (a[5] & 0x80))
		return 0;
	sid0 = !(a[5] | a[6] | a[7] | a[8]);
	switch (t) {
	case 0:	return !sid0 && !(f & ~0x09);			/* DATA */
	case 1:	return !sid0 && !(f & ~0x2d);			/* HEADERS */
	case 2:	return !sid0 && !f && len == 5;			/* PRIORITY */
	case 3:	return !sid0 && !f && len == 4;			/* RST_STREAM */
	case 4:	return sid0 && !(f & ~0x01) && !(len % 6);	/* SETTINGS */
	case 6:	return sid0 && !(f & ~0x01) && len == 8;	/* PING */
	case 7:	return sid0 && !f && len >= 8;			/* GOAWAY */
	case 8:	return !f && len == 4;				/* WINDOW_UPDATE */
	}
	return 0;	/* PUSH_PROMISE, CONTINUATION: not where a block can be joined */
}

/*
 * A segment of a flow not followed that starts like HTTP: worth an entry.
 * Its bytes go to the staging buffer: gp_tc's stack adds to every call
 * chain's 512 bytes.
 */
static __always_inline int l7_joinable(struct __sk_buff *skb, __u32 poff)
{
	struct payload_buf *b;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b || bpf_skb_load_bytes(skb, poff, b->data, 9))
		return 0;
	return h2_plausible(b->data) || h1_method(b->data, 9) || h1_prefix(b->data, "HTTP/1.", 7);
}

/* Segments of an adopted direction looked at for a frame header before giving up. */
#define L7_JOIN_TRIES	8

/*
 * An adopted flow's direction: HTTP/2 is joined at a segment that starts
 * with a frame header, its HPACK state unknown (told by a LOST(MIDSTREAM)
 * of proto H2, after which framing goes on); HTTP/1 is reported and not
 * followed. 1 when the walker is to follow the segment.
 */
static __always_inline int l7_midstream(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	struct l7_rec r = { .unit_off = g->s, .off = g->s, .kind = GP_L7_LOST,
			    .reason = GP_L7_LOST_MIDSTREAM };
	__u8 a[16] = {};
	__u32 n = g->e - g->s, flen;

	n = n < 9 ? n : 9;
	if (!n || L7_LOAD(skb, g->poff, a, n, 15))
		return 0;
	if (n == 9 && h2_plausible(a)) {
		flen = 9 + (((__u32)a[1] << 8) | a[2]);
		if (flen + 9 > g->e - g->s ||
		    (!bpf_skb_load_bytes(skb, g->poff + flen, a, 9) && h2_plausible(a))) {
			d->pos = g->s;
			h2_start(d, g->s);
			return !l7_emit(skb, g, &r);
		}
	}
	if (h1_method(a, n) || (n >= 7 && h1_prefix(a, "HTTP/1.", 7))) {
		d->mode = L7M_OFF;
		l7_lose(skb, g, g->s, GP_L7_LOST_MIDSTREAM);
		return 0;
	}
	/* d->pos counts the segments looked at (mode MID) */
	if (++d->pos >= L7_JOIN_TRIES)
		d->mode = L7M_OFF;
	return 0;
}

/* The server direction follows the client's choice, or is lost when its ISN is unknown. */
static __always_inline void l7_server_follow(struct __sk_buff *skb, struct l7_seg *g, __u8 mode)
{
	struct gp_l7_dir *sd = &g->v->l7[1];
	struct l7_seg sg = *g;

	if (sd->mode == L7M_NOISN && mode != L7M_OFF) {
		sg.d = sd;
		sg.dir = 1;
		sd->mode = mode;	/* the record names the protocol */
		l7_lose(skb, &sg, 0, GP_L7_LOST_MIDSTREAM);
		return;
	}
	if (sd->mode != L7M_WAIT && sd->mode != L7M_NOISN)
		return;
	sd->pos = 0;
	if (mode == L7M_H2)
		h2_start(sd, 0);
	else if (mode == L7M_H1)
		h1_start(sd, 0);
	else
		sd->mode = L7M_OFF;
}

/* a[0..n) is the HTTP/2 preface from byte from on (the preface may come in pieces). */
static __always_inline int preface_match(const __u8 *a, __u32 n, __u32 from)
{
	__u32 i;

	for (i = 0; i < 24; i++) {
		if (i >= n)
			break;
		if (a[i] != lit_byte(LIT64("PRI * HT"), LIT64("TP/2.0\r\n"), LIT64("\r\nSM\r\n\r\n"),
				     (from + i) & 31))
			return 0;
	}
	return 1;
}

/* First bytes of a direction at its offset 0: HTTP/2, HTTP/1 or neither. */
static __always_inline __u8 l7_decide(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	__u8 a[32] = {};
	__u32 n = g->e - g->s, m;

	n = n < 24 ? n : 24;
	if (!n || L7_LOAD(skb, g->poff, a, n, 31))
		return L7M_WAIT;
	if (g->dir) {
		d->pos = 0;
		/* A server speaking first: only HTTP/2's SETTINGS on stream 0. */
		if (n >= 9 && a[3] == 4 && !(a[5] | a[6] | a[7] | a[8])) {
			h2_start(d, 0);
			return L7M_H2;
		}
		if (n < 9)
			return L7M_WAIT;	/* too short to tell: the client decides */
		d->mode = L7M_OFF;
		g->v->l7[0].mode = L7M_OFF;
		return L7M_OFF;
	}
	/* d->pos: bytes of the preface matched by earlier segments */
	m = 24 - d->pos < n ? 24 - d->pos : n;
	if (preface_match(a, m, d->pos)) {
		if (d->pos + m < 24) {
			d->pos += m;
			return L7M_WAIT;
		}
		d->pos = g->s;
		h2_start(d, 24);
		l7_server_follow(skb, g, L7M_H2);
		return L7M_H2;
	}
	if (!d->pos && h1_method(a, n)) {
		h1_start(d, 0);
		l7_server_follow(skb, g, L7M_H1);
		return L7M_H1;
	}
	d->mode = L7M_OFF;
	l7_server_follow(skb, g, L7M_OFF);
	return L7M_OFF;
}

/* The checks before a walk: 1 when the segment is for the walker of d->mode. */
static __always_inline int l7_slow(struct __sk_buff *skb, struct l7_seg *g)
{
	struct gp_l7_dir *d = g->d;
	__u8 mode = d->mode;

	switch (mode) {
	case L7M_LOSTPEND:
		l7_lose(skb, g, d->pos, d->reason);
		return 0;
	case L7M_MID:
		return l7_midstream(skb, g);
	case L7M_WAIT:
		if (g->s != d->pos)
			return 0;	/* offset 0 (or the preface's next byte) missed or still to come */
		mode = l7_decide(skb, g);
		return mode == L7M_H1 || mode == L7M_H2;
	case L7M_H1:
	case L7M_H2:
		if (L7_OWED(d->reason))
			gp_l7_flush(skb);	/* told even when no record follows */
		if (!seq_before(d->pos, g->e))
			return 0;	/* a retransmit: walked already */
		if (seq_before(d->pos, g->s)) {
			l7_lose(skb, g, d->pos, GP_L7_LOST_GAP);
			return 0;
		}
		return 1;
	}
	return 0;
}

/*
 * The slow path, verified once: the segment is described in the staging
 * buffer. 1 when a walker is to follow: the caller calls it, so that the
 * call chain's stacks stay within the verifier's 512 bytes.
 */
__noinline int gp_l7_seg(struct __sk_buff *skb)
{
	struct l7_seg g;

	return !l7_seg_load(&g) && l7_slow(skb, &g);
}

/* The staging buffer, describing the flow and direction for the global functions. */
static __always_inline struct payload_buf *l7_stage(const struct pkt *p, const struct gp_flow_key *k,
						    const struct gp_flow_val *v, __u8 dir)
{
	struct payload_buf *b;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return NULL;
	__builtin_memcpy(&b->seg.key, k, sizeof(*k));
	flow_tuple(&b->seg.flow, p, dir);
	b->seg.isn = v->isn;
	b->seg.dir = dir;
	return b;
}

/* A FIN or RST: the LOSTs still owed, so that the last requests refused are counted. */
static __always_inline void l7_flow_end(struct __sk_buff *skb, const struct pkt *p,
					const struct gp_flow_key *k, struct gp_flow_val *v,
					__u8 sender)
{
	if (L7_OWED(v->l7[0].reason | v->l7[1].reason) && l7_stage(p, k, v, sender != v->client))
		gp_l7_flush(skb);
}

/*
 * Per packet with payload. Off and non-HTTP directions cost one test; a
 * segment that only continues a skipped body or DATA payload is arithmetic.
 */
static __always_inline void l7_packet(struct __sk_buff *skb, const struct pkt *p,
				      const struct gp_flow_key *k, struct gp_flow_val *v,
				      __u8 sender, __u32 held)
{
	__u8 dir = sender != v->client;
	struct gp_l7_dir *d = &v->l7[dir & 1];
	struct payload_buf *b;
	__u32 s, e;
	int i;

	if (d->mode == L7M_OFF || d->mode == L7M_NOISN || !held)
		return;
	s = p->seq - d->isn - !(p->flags & TCP_FL_SYN);
	e = s + held;
	if (d->mode == L7M_H2 && d->sub == H2P_NONE && !d->hlen && !seq_before(d->pos, d->fwd_end) &&
	    !seq_before(d->pos, s) && seq_before(d->pos, e) && !seq_before(d->next, e)) {
		d->pos = e;
		return;
	}
	if (d->mode == L7M_H1 && (d->sub == H1S_BODY || d->sub == H1S_CHUNKDATA) &&
	    !seq_before(d->pos, s) && seq_before(d->pos, e) && seq_before(e, d->next)) {
		d->pos = e;
		return;
	}
	b = l7_stage(p, k, v, dir);
	if (!b)
		return;
	b->seg.s = s;
	b->seg.e = e;
	b->seg.poff = p->payload_off;
	/* The walkers find the direction's mode themselves (H1 may turn H2 midway). */
	if (!gp_l7_seg(skb))
		return;
	if (d->mode == L7M_H1 && !gp_h1_walk(skb))
		return;
	for (i = 0; i < H2_WALKS && d->mode == L7M_H2; i++)
		if (!gp_h2_walk(skb, i == H2_WALKS - 1))
			break;
}

#endif /* GP_L7_BPF_H */
