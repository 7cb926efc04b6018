// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/plain.h"
#include "gp_h1scan.h"

/*
 * The kernel's walker (bpf/l7.bpf.h) for one session's plaintext: the same
 * modes, HTTP/1 scanner and HTTP/2 frame arithmetic, on calls instead of
 * TCP segments. Offsets are 64-bit here, cut to 32 in the records.
 */

/* pdir.mode */
enum {
	M_DECIDE = 0,	/* the first bytes (pend) decide; or waiting for the client's choice */
	M_JOIN,		/* joined mid-stream: each call's start is looked at */
	M_RESYNC,	/* HTTP/2 after a gap: as M_JOIN, for a frame header only */
	M_H1,
	M_H2,
	M_OFF,
};

/* pdir.sub, HTTP/1 */
enum { H1S_HEAD = 0, H1S_BODY, H1S_CHUNKDATA, H1S_CHUNK, H1S_TRAILER, H1S_CLOSE };

/* The kernel's two 64-byte steps of a chunk-size line, and its line end. */
#define CHUNK_LINE_MAX	129
/* Calls of a joined direction looked at for a place to start (the kernel's segments). */
#define JOIN_TRIES	8
/* What decides a direction: the client's preface, the server's first frame header. */
#define PREFIX_MAX	24
#define PREFIX_SERVER	9

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* A direction's first bytes, held until they decide, as the calls brought them. */
struct pend {
	uint64_t base;		/* stream offset of buf[0] */
	uint64_t end;		/* bytes below this were seen */
	uint64_t ts[PREFIX_MAX];
	uint8_t len[PREFIX_MAX];
	uint8_t buf[PREFIX_MAX];
	uint8_t n, np;
	uint8_t closed;		/* bytes missed after buf: no more come to it */
};

struct pdir {
	uint64_t pos;		/* bytes below this were walked */
	uint64_t unit;		/* start of the unit being walked */
	uint64_t next;		/* H2: next frame header; H1: end of the body part skipped */
	uint64_t fwd_end;	/* H2: end of what is forwarded of the current frame */
	uint64_t hts;		/* ts of hdr[0] */
	struct gp_l7_h1 h1;
	uint8_t mode, sub;
	uint8_t hlen;		/* bytes held in hdr */
	uint8_t trunc;		/* GP_L7_F_TRUNC when the current frame is cut */
	uint8_t hdr[9];		/* H2: a frame header in pieces; H1 dir 0: a head's first bytes */
	uint8_t seen, join, tries, found;
	struct pend pend;
};

struct gp_plain {
	struct pdir d[2];
	uint32_t fifo;		/* HTTP/1 requests awaiting a response */
	uint8_t nfifo;
	uint8_t joined;		/* a call said first before the session's first byte */
};

/* One call being fed: where records go, and the time of the bytes walked. */
struct cx {
	struct gp_plain *p;
	const struct gp_l7_event *tmpl;
	gp_plain_emit_fn emit;
	void *ctx;
	uint64_t ts;
};

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static unsigned dir_of(const struct cx *x, const struct pdir *d)
{
	return d == &x->p->d[1];
}

static void rec(struct cx *x, struct pdir *d, uint8_t kind, uint8_t flags, uint64_t unit_off,
		uint64_t off, const uint8_t *data, uint64_t len, uint32_t reason, uint64_t ts)
{
	struct gp_l7_event h = *x->tmpl;

	h.ts_ns = ts;
	h.dir = (uint8_t)dir_of(x, d);
	h.kind = kind;
	h.proto = d->mode == M_H1 ? GP_L7P_H1 :
		  d->mode == M_H2 || d->mode == M_RESYNC ? GP_L7P_H2 : GP_L7P_NONE;
	h.flags = flags;
	h.unit_off = (uint32_t)unit_off;
	h.off = (uint32_t)off;
	h.len = (uint32_t)len;
	h.reason = reason;
	x->emit(x->ctx, &h, len ? data : NULL);
}

/* The direction is lost from off on: one LOST, nothing more. */
static void lose(struct cx *x, struct pdir *d, uint64_t off, uint32_t why)
{
	rec(x, d, GP_L7_LOST, 0, off, off, NULL, 0, why, x->ts);
	d->mode = M_OFF;
}

/* ---- HTTP/1 scanner: h1_byte() of gp_h1scan.h, as the kernel's ------------------- */

/* Bytes of b consumed: through the one that completed the head or line, else all n. */
static uint32_t h1_scan(struct gp_l7_h1 *h, const uint8_t *b, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (h1_byte(h, b[i]))
			return i + 1;
	return n;
}

static int has_prefix(const uint8_t *a, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && h1_prefix(a, lit, (uint32_t)l);
}

/* 1: a[0..n) starts with a method and a space; 0: it may yet; -1: it cannot. */
static int h1_method(const uint8_t *a, size_t n)
{
	static const char *const m[] = { "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ",
					 "PATCH ", "CONNECT ", "TRACE " };
	int r = -1;
	size_t i, l;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		l = strlen(m[i]);
		if (!memcmp(a, m[i], n < l ? n : l))
			r = n >= l ? 1 : r < 0 ? 0 : r;
	}
	return r;
}

/* ---- HTTP/2 ------------------------------------------------------------------------ */

static void h2_start(struct pdir *d, uint64_t pos, uint64_t next)
{
	d->mode = M_H2;
	d->found = GP_L7P_H2;
	d->pos = pos;
	d->next = next;
	d->fwd_end = pos;
	d->hlen = 0;
}

/* What is forwarded of a frame: those that carry or change header state, GOAWAY's fixed part. */
static uint32_t h2_fwd_len(uint8_t type, uint32_t flen)
{
	switch (type) {
	case 1: case 3: case 4: case 5: case 9:	/* HEADERS RST_STREAM SETTINGS PUSH_PROMISE CONTINUATION */
		return flen < GP_L7_FRAME_MAX ? flen : GP_L7_FRAME_MAX;
	case 7:					/* GOAWAY */
		return flen < GP_L7_GOAWAY_FWD ? flen : GP_L7_GOAWAY_FWD;
	}
	return 0;
}

/* A frame header a sender could really have written: bpf/l7.bpf.h h2_plausible(). */
static int h2_plausible(const uint8_t *a)
{
	uint32_t len = ((uint32_t)a[1] << 8) | a[2];
	uint8_t t = a[3], f = a[4];
	int sid0;

	if (a[0] || len > 16384 || t > 9 || (a[5] & 0x80))
		return 0;
	sid0 = !(a[5] | a[6] | a[7] | a[8]);
	switch (t) {
	case 0:	return !sid0 && !(f & ~0x09);
	case 1:	return !sid0 && !(f & ~0x2d);
	case 2:	return !sid0 && !f && len == 5;
	case 3:	return !sid0 && !f && len == 4;
	case 4:	return sid0 && !(f & ~0x01) && !(len % 6);
	case 6:	return sid0 && !(f & ~0x01) && len == 8;
	case 7:	return sid0 && !f && len >= 8;
	case 8:	return !f && len == 4;
	}
	return 0;
}

/* The frame header now complete in hd (in b too unless held): its unit, or its END. */
static void h2_frame(struct cx *x, struct pdir *d, const uint8_t *hd, const uint8_t *b,
		     uint32_t n, int held)
{
	uint32_t flen = 9 + (((uint32_t)hd[0] << 16) | ((uint32_t)hd[1] << 8) | hd[2]);
	uint32_t fwd = h2_fwd_len(hd[3], flen), k;

	d->hlen = 0;
	d->unit = d->next;
	d->next = d->unit + flen;
	d->fwd_end = d->pos;
	if (!fwd) {
		if (hd[3] == 0 && (hd[4] & 0x1))
			rec(x, d, GP_L7_END, 0, d->unit, d->unit, hd, 9, 0, x->ts);
		return;
	}
	d->fwd_end = d->unit + fwd;
	d->trunc = flen > fwd ? GP_L7_F_TRUNC : 0;
	if (held) {
		rec(x, d, GP_L7_UNIT, fwd == 9 ? GP_L7_F_LAST | d->trunc : 0, d->unit, d->unit, hd,
		    9, 0, d->hts);
		return;
	}
	/* the header is b's first 9 bytes: it goes with what b has of the rest */
	k = (uint32_t)min64(n - 9, fwd - 9);
	d->pos += k;
	rec(x, d, GP_L7_UNIT, d->pos == d->fwd_end ? GP_L7_F_LAST | d->trunc : 0, d->unit,
	    d->unit, b, 9 + k, 0, x->ts);
}

static void h2_step(struct cx *x, struct pdir *d, const uint8_t *b, uint32_t n)
{
	uint32_t k;

	if (d->pos < d->fwd_end) {	/* the forwarded part of a frame, continued */
		k = (uint32_t)min64(n, d->fwd_end - d->pos);
		rec(x, d, GP_L7_UNIT, d->pos + k == d->fwd_end ? GP_L7_F_LAST | d->trunc : 0,
		    d->unit, d->pos, b, k, 0, x->ts);
		d->pos += k;
		return;
	}
	if (d->pos < d->next) {		/* a payload not forwarded */
		d->pos += min64(n, d->next - d->pos);
		return;
	}
	if (!d->hlen && n >= 9) {
		d->pos += 9;
		h2_frame(x, d, b, b, n, 0);
		return;
	}
	if (!d->hlen)
		d->hts = x->ts;
	k = (uint32_t)min64(n, 9 - d->hlen);
	memcpy(d->hdr + d->hlen, b, k);
	d->hlen += k;
	d->pos += k;
	if (d->hlen == 9)
		h2_frame(x, d, d->hdr, NULL, 0, 1);
}

/* ---- HTTP/1 ------------------------------------------------------------------------ */

static void h1_start(struct pdir *d, uint64_t at)
{
	d->mode = M_H1;
	d->found = GP_L7P_H1;
	d->sub = H1S_HEAD;
	d->unit = at;
	d->hlen = 0;
	h1_scan_init(&d->h1, LS_FIRST);
}

/* A message's end; for responses a GP_L7_END record. */
static void h1_msg_end(struct cx *x, struct pdir *d)
{
	if (dir_of(x, d))
		rec(x, d, GP_L7_END, 0, d->unit, d->pos, NULL, 0, 0, x->ts);
	h1_start(d, d->pos);
}

/* The body framing the head gave: chunked, a length, read until close, or none. */
static void h1_body(struct cx *x, struct pdir *d, int close_delim)
{
	if (d->h1.sf & SF_CHUNKED) {
		d->sub = H1S_CHUNK;
		h1_scan_init(&d->h1, LS_HEX);
	} else if ((d->h1.sf & SF_CL) && (d->h1.sf & SF_BIG)) {
		lose(x, d, d->pos, GP_L7_LOST_MALFORMED);
	} else if ((d->h1.sf & SF_CL) && d->h1.num) {
		d->sub = H1S_BODY;
		d->next = d->pos + d->h1.num;
	} else if (close_delim && !(d->h1.sf & SF_CL)) {
		d->sub = H1S_CLOSE;
	} else {
		h1_msg_end(x, d);
	}
}

static void h1_request_done(struct cx *x, struct pdir *d)
{
	struct gp_plain *p = x->p;
	struct pdir *sd = &p->d[1];

	/* responses followed, or not decided yet, need their request's kind */
	if (sd->mode == M_H1 || sd->mode == M_DECIDE || sd->mode == M_JOIN) {
		if (p->nfifo >= FIFO_MAX) {
			if (sd->mode == M_H1)
				lose(x, sd, sd->pos, GP_L7_LOST_MALFORMED);
			sd->mode = M_OFF;
		} else {
			p->fifo |= h1_req_kind(d->h1.first) << (p->nfifo * 2);
			p->nfifo++;
		}
	}
	h1_body(x, d, 0);
}

static void h1_response_done(struct cx *x, struct pdir *d)
{
	struct gp_plain *p = x->p;
	unsigned st = h1_status(d->h1.first), kind = p->fifo & 3;

	if (st < 100 || st > 999) {
		lose(x, d, d->unit, GP_L7_LOST_MALFORMED);
		return;
	}
	if (st < 200 && st != 101) {
		h1_start(d, d->pos);	/* interim: the final response follows */
		return;
	}
	if (p->nfifo) {
		p->fifo >>= 2;
		p->nfifo--;
	}
	if (st == 101) {
		h1_msg_end(x, d);
		h2_start(d, d->pos, d->pos);
	} else if (kind == RQ_CONNECT && st < 300) {
		h1_msg_end(x, d);	/* a tunnel: neither direction is HTTP now */
		p->d[0].mode = M_OFF;
		d->mode = M_OFF;
	} else if (kind == RQ_HEAD || st == 204 || st == 304) {
		h1_msg_end(x, d);
	} else {
		h1_body(x, d, 1);
	}
}

/*
 * The head's first bytes in a client direction, held until 4 say whether
 * it is the h2 preface (after Upgrade: h2c) or a head; 1 while held.
 */
static int h1_head_start(struct cx *x, struct pdir *d, const uint8_t *b, uint32_t n)
{
	uint32_t used = (uint32_t)(d->pos - d->unit), r;
	int done;

	r = h1_scan(&d->h1, b, (uint32_t)min64(n, 4 - used));
	if (!used)
		d->hts = x->ts;
	memcpy(d->hdr + used, b, r);
	d->pos += r;
	used += r;
	done = !!(d->h1.sf & SF_DONE);
	if (!done && used < 4)
		return 1;
	if (!done && !memcmp(d->hdr, "PRI ", 4)) {
		h2_start(d, d->pos, d->unit + 24);
		return 1;
	}
	rec(x, d, GP_L7_UNIT, done ? GP_L7_F_LAST : 0, d->unit, d->unit, d->hdr, used, 0, d->hts);
	return done ? 0 : 1;
}

/* Part of a head; once complete, what follows it. */
static void h1_head(struct cx *x, struct pdir *d, const uint8_t *b, uint32_t n)
{
	unsigned dir = dir_of(x, d);
	uint64_t at = d->pos;
	uint32_t r;

	if (!dir && d->pos - d->unit < 4) {
		if (h1_head_start(x, d, b, n))
			return;
	} else {
		r = h1_scan(&d->h1, b, (uint32_t)min64(n, GP_L7_HEAD_MAX - (d->pos - d->unit)));
		d->pos += r;
		rec(x, d, GP_L7_UNIT, d->h1.sf & SF_DONE ? GP_L7_F_LAST : 0, d->unit, at, b, r, 0,
		    x->ts);
		if (!(d->h1.sf & SF_DONE)) {
			if (d->pos - d->unit >= GP_L7_HEAD_MAX)
				lose(x, d, d->unit, GP_L7_LOST_MALFORMED);
			return;
		}
	}
	if (dir)
		h1_response_done(x, d);
	else
		h1_request_done(x, d);
}

static void h1_chunk_line(struct cx *x, struct pdir *d, const uint8_t *b, uint32_t n)
{
	uint32_t r = h1_scan(&d->h1, b, (uint32_t)min64(n, CHUNK_LINE_MAX - d->h1.col));

	d->pos += r;
	if (!(d->h1.sf & SF_DONE)) {
		/* col counts the line's bytes here */
		d->h1.col += r;
		if (d->h1.col >= CHUNK_LINE_MAX)
			lose(x, d, d->pos, GP_L7_LOST_MALFORMED);
		return;
	}
	if (d->h1.sf & (SF_BAD | SF_BIG)) {
		lose(x, d, d->pos, GP_L7_LOST_MALFORMED);
	} else if (!d->h1.num) {
		d->sub = H1S_TRAILER;
		h1_scan_init(&d->h1, LS_START);
	} else {
		d->sub = H1S_CHUNKDATA;
		d->next = d->pos + d->h1.num + 2;	/* the data's CRLF is skipped with it */
	}
}

/* A body (or chunk) skipped to d->next: what follows it. */
static void h1_body_part_done(struct cx *x, struct pdir *d)
{
	if (d->sub == H1S_CHUNKDATA) {
		d->sub = H1S_CHUNK;
		h1_scan_init(&d->h1, LS_HEX);
	} else {
		h1_msg_end(x, d);
	}
}

static void h1_step(struct cx *x, struct pdir *d, const uint8_t *b, uint32_t n)
{
	switch (d->sub) {
	case H1S_HEAD:
		h1_head(x, d, b, n);
		break;
	case H1S_BODY:
	case H1S_CHUNKDATA:
		d->pos += min64(n, d->next - d->pos);
		if (d->pos == d->next)
			h1_body_part_done(x, d);
		break;
	case H1S_CHUNK:
		h1_chunk_line(x, d, b, n);
		break;
	case H1S_TRAILER:
		d->pos += h1_scan(&d->h1, b, n);
		if (d->h1.sf & SF_DONE)
			h1_msg_end(x, d);
		break;
	default:
		d->pos += n;	/* delimited by close */
	}
}

/* ---- walking ------------------------------------------------------------------------ */

static void join_call(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data,
		      uint32_t len, uint64_t end);

/*
 * HTTP/2 bytes [d->pos, to) that had to be read were missed: frames of
 * unknown number and HPACK state with them. Told as the kernel's join
 * (MIDSTREAM: no count of requests missed, which RINGBUF's would claim),
 * then the walk rejoins at a call that starts with a frame header.
 */
static void resync(struct cx *x, struct pdir *d, uint64_t to)
{
	d->mode = M_RESYNC;
	rec(x, d, GP_L7_LOST, 0, d->pos, d->pos, NULL, 0, GP_L7_LOST_MIDSTREAM, x->ts);
	d->pos = to;
	d->hlen = 0;
	d->tries = 0;
}

/* Bytes [off, off + len) of data, off <= d->pos: walked from d->pos on. */
static void walk(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	uint64_t end = off + len;

	while (d->pos < end) {
		const uint8_t *b = data + (d->pos - off);
		uint32_t n = (uint32_t)(end - d->pos);

		if (d->mode == M_H1)
			h1_step(x, d, b, n);
		else if (d->mode == M_H2)
			h2_step(x, d, b, n);
		else
			return;
	}
}

/* Bytes [d->pos, to) were not seen: skipped where the framing says what they are, else a GAP. */
static void missing(struct cx *x, struct pdir *d, uint64_t to)
{
	while (d->pos < to) {
		if (d->mode == M_H1 && (d->sub == H1S_BODY || d->sub == H1S_CHUNKDATA)) {
			d->pos = min64(d->next, to);
			if (d->pos == d->next)
				h1_body_part_done(x, d);
		} else if (d->mode == M_H1 && d->sub == H1S_CLOSE) {
			d->pos = to;
		} else if (d->mode == M_H2 && d->pos >= d->fwd_end && d->pos < d->next) {
			d->pos = min64(d->next, to);
		} else if (d->mode == M_H2) {
			resync(x, d, to);
			return;
		} else {
			/*
			 * HTTP/1: a head missed cannot be counted, and the
			 * FIFO would pair later responses with the wrong
			 * requests.
			 */
			if (d->mode == M_H1)
				lose(x, d, d->pos, GP_L7_LOST_GAP);
			return;
		}
	}
}

/* A call of a followed direction: [off, off + len) captured of [off, end). */
static void walk_call(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data,
		      uint32_t len, uint64_t end)
{
	uint64_t skip;

	if (end <= d->pos)
		return;		/* walked already */
	if (off > d->pos)
		missing(x, d, off);
	if (d->mode == M_RESYNC) {	/* this call may be where the walk rejoins */
		join_call(x, d, off, data, len, end);
		return;
	}
	if (off < d->pos) {
		skip = min64(d->pos - off, len);
		if (skip)
			data += skip;
		len -= (uint32_t)skip;
		off += skip;
	}
	if (off == d->pos)
		walk(x, d, off, data, len);
	missing(x, d, end);
}

/* The bytes held while deciding, walked now that the mode is set. */
static void replay(struct cx *x, struct pdir *d)
{
	const struct pend *pd = &d->pend;
	uint64_t at = pd->base, ts = x->ts;
	unsigned i, o = 0;

	for (i = 0; i < pd->np; i++) {
		x->ts = pd->ts[i];
		walk_call(x, d, at, pd->buf + o, pd->len[i], at + pd->len[i]);
		at += pd->len[i];
		o += pd->len[i];
	}
	x->ts = ts;
}

/* ---- deciding ------------------------------------------------------------------------ */

enum { D_WAIT, D_NO, D_H1, D_H2 };

/*
 * A server's first frame: SETTINGS on stream 0. Joined, not an ACK: the
 * server's preface is its SETTINGS (RFC 9113 3.4), an ACK answers the client's.
 */
static int server_settings(const uint8_t *a, int join)
{
	return a[3] == 4 && !(a[5] | a[6] | a[7] | a[8]) && !(join && (a[4] & 0x1));
}

/* Bytes that may yet become a joined server's first SETTINGS. */
static int may_be_settings(const uint8_t *a, unsigned n)
{
	return (n < 4 || a[3] == 4) && (n < 5 || !(a[4] & 0x1)) &&
	       !(n > 5 && (a[5] | (n > 6 ? a[6] : 0) | (n > 7 ? a[7] : 0)));
}

static int decide(const struct pdir *d, unsigned dir)
{
	const struct pend *pd = &d->pend;
	const uint8_t *a = pd->buf;
	unsigned n = pd->n;
	int m;

	if (!dir) {
		if (!memcmp(a, preface, n < 24 ? n : 24))
			return n >= 24 ? D_H2 : pd->closed ? D_NO : D_WAIT;
		m = h1_method(a, n);
		return m > 0 ? D_H1 : !m && !pd->closed ? D_WAIT : D_NO;
	}
	if (!memcmp(a, "HTTP/1.", n < 7 ? n : 7) && (n >= 7 || !pd->closed))
		return n >= 7 ? D_H1 : D_WAIT;
	if (n >= PREFIX_SERVER)
		return server_settings(a, d->join) ? D_H2 : D_NO;
	if (d->join)
		return pd->closed || !may_be_settings(a, n) ? D_NO : D_WAIT;
	return D_WAIT;	/* too short to tell: the client decides (kept until then) */
}

/* A direction starts being walked from its first byte. */
static void start(struct pdir *d, int how, uint64_t at, uint64_t next)
{
	d->pos = at;
	if (how == D_H1)
		h1_start(d, at);
	else
		h2_start(d, at, next);
}

/* The server's direction follows the client's choice, unless it made its own. */
static void server_follow(struct cx *x, int how)
{
	struct pdir *sd = &x->p->d[1];

	if (sd->mode != M_DECIDE || sd->join)
		return;
	sd->seen = 1;
	if (how == D_NO) {
		sd->mode = M_OFF;
		return;
	}
	start(sd, how, 0, 0);
	replay(x, sd);
	missing(x, sd, sd->pend.end);	/* then what it missed, if anything */
}

/* A joined direction's call: a place to start, or one try fewer. */
static void join_at(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data,
		    uint32_t len, uint64_t end)
{
	unsigned dir = dir_of(x, d);
	int resyncing = d->mode == M_RESYNC;
	uint32_t flen;

	if (len >= 9 && h2_plausible(data)) {
		flen = 9 + (((uint32_t)data[1] << 8) | data[2]);
		if (flen + 9 > len || h2_plausible(data + flen)) {
			h2_start(d, off, off);
			if (!resyncing)	/* told at the gap */
				rec(x, d, GP_L7_LOST, 0, off, off, NULL, 0, GP_L7_LOST_MIDSTREAM,
				    x->ts);
			walk_call(x, d, off, data, len, end);
			return;
		}
	}
	if (!resyncing &&
	    (dir ? has_prefix(data, len, "HTTP/1.") : h1_method(data, len < 9 ? len : 9) > 0)) {
		start(d, D_H1, off, off);
		walk_call(x, d, off, data, len, end);
		return;
	}
	d->pos = end;
	if (++d->tries < JOIN_TRIES)
		return;
	if (resyncing)
		lose(x, d, end, GP_L7_LOST_GAP);
	d->mode = M_OFF;
}

/* A call of a direction looking for a place to start: tried if it starts past the walk. */
static void join_call(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data,
		      uint32_t len, uint64_t end)
{
	if (off >= d->pos && len)
		join_at(x, d, off, data, len, end);
	else if (end > d->pos)
		d->pos = end;
}

/* What a decision does: the walk from the first byte, or the join's tries, or nothing. */
static void decided(struct cx *x, struct pdir *d, int how, uint64_t off, const uint8_t *data,
		    uint32_t len, uint64_t end, int whole)
{
	unsigned dir = dir_of(x, d);
	struct pdir *od = &x->p->d[!dir];

	if (how == D_H1 || how == D_H2) {
		start(d, how, d->pend.base, d->pend.base + (dir || how == D_H1 ? 0 : 24));
		/* first, as the kernel: the requests walked next need its mode */
		if (!dir && !d->join)
			server_follow(x, how);
		replay(x, d);
		walk_call(x, d, off, data, len, end);
		return;
	}
	if (d->join) {
		d->mode = M_JOIN;
		d->pos = d->pend.end;
		if (whole && len)
			join_at(x, d, off, data, len, end);
		return;
	}
	d->mode = M_OFF;
	if (!dir)
		server_follow(x, D_NO);
	else if (od->mode == M_DECIDE && !od->join)
		od->mode = M_OFF;	/* a server that speaks first, not HTTP/2: neither is HTTP */
}

/* A call of a direction still deciding: its first bytes held, then judged. */
static void deciding(struct cx *x, struct pdir *d, uint64_t off, const uint8_t *data,
		     uint32_t len, uint64_t end)
{
	struct pend *pd = &d->pend;
	unsigned cap = dir_of(x, d) ? PREFIX_SERVER : PREFIX_MAX, k = 0;
	uint64_t at = pd->base + pd->n, skip;
	int how;

	if (end <= pd->end)
		return;		/* seen already */
	if (off > at) {
		pd->closed = 1;	/* bytes missed */
	} else if (!pd->closed) {
		skip = at - off;
		if (skip < len) {
			k = (unsigned)min64(len - skip, cap - pd->n);
			memcpy(pd->buf + pd->n, data + skip, k);
			pd->ts[pd->np] = x->ts;
			pd->len[pd->np++] = (uint8_t)k;
			pd->n += k;
		}
		if (skip + k >= len && end > off + len)
			pd->closed = 1;	/* the call's rest was not captured */
	}
	pd->end = end;
	how = decide(d, dir_of(x, d));
	if (how != D_WAIT)
		decided(x, d, how, off, data, len, end, off >= at);
}

/* ---- the interface ------------------------------------------------------------------------ */

struct gp_plain *gp_plain_new(void)
{
	return calloc(1, sizeof(struct gp_plain));
}

void gp_plain_free(struct gp_plain *p)
{
	free(p);
}

int gp_plain_feed(struct gp_plain *p, const struct gp_l7_event *tmpl, uint64_t off,
		  const uint8_t *data, uint32_t len, uint32_t total, int first,
		  gp_plain_emit_fn emit, void *ctx)
{
	struct cx x = { .p = p, .tmpl = tmpl, .emit = emit, .ctx = ctx, .ts = tmpl->ts_ns };
	struct pdir *d;
	uint64_t end;

	if (tmpl->dir > 1 || (len && !data))
		return -EINVAL;
	d = &p->d[tmpl->dir];
	end = off + (total > len ? total : len);
	if (first && !p->d[0].seen && !p->d[1].seen)
		p->joined = 1;
	if (!d->seen) {
		d->seen = 1;
		d->join = p->joined;
		d->pend.base = d->pend.end = d->join ? off : 0;
	}
	switch (d->mode) {
	case M_DECIDE:
		deciding(&x, d, off, data, len, end);
		break;
	case M_JOIN:
		join_call(&x, d, off, data, len, end);
		break;
	case M_H1:
	case M_H2:
	case M_RESYNC:
		walk_call(&x, d, off, data, len, end);
		break;
	}
	return 0;
}

unsigned gp_plain_proto(const struct gp_plain *p, unsigned dir)
{
	return dir > 1 ? GP_L7P_NONE : p->d[dir].found;
}

int gp_plain_finished(const struct gp_plain *p)
{
	return p->d[0].mode == M_OFF && p->d[1].mode == M_OFF;
}
