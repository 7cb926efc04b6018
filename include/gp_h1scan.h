/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP/1 byte scanner on struct gp_l7_h1: one byte of a head, trailer
 * section or chunk-size line at a time, and what its first line says.
 * Compiled by the TC walker (bpf/l7.bpf.h) and by the TLS plaintext
 * walker (user/decode/plain.c), so that both frame HTTP/1 alike: no skb,
 * no maps, only the state and bytes. The forms are the verifier's
 * (literals as 64-bit constants, masked indexes); plain arithmetic in
 * user space.
 */
#ifndef GP_H1SCAN_H
#define GP_H1SCAN_H

#include "grayprobe.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* gp_l7_h1.ls */
enum { LS_START = 0, LS_NAME, LS_SKIP, LS_CLV, LS_TEV, LS_FIRST, LS_HEX, LS_EXT };
/* gp_l7_h1.sf */
#define SF_CL		0x01	/* Content-Length seen */
#define SF_CHUNKED	0x02
#define SF_BIG		0x04	/* a length past 2^31 */
#define SF_DONE		0x08	/* blank line (or chunk-size line end) reached */
#define SF_BAD		0x10	/* a chunk-size line that does not parse */
/* gp_l7_h1.k: header names matched; Transfer-Encoding's bytes count from TE_K */
#define TE_K		32

/* Request kinds awaiting a response, 2 bits each in a 32-bit FIFO, oldest lowest */
enum { RQ_PLAIN = 0, RQ_HEAD, RQ_CONNECT };
#define FIFO_MAX	16

/*
 * Byte k of a lower-case literal, from constants: a static const array
 * would be .rodata, whose BTF clang 14 writes with offsets the kernel
 * refuses ("Invalid offset"), failing the object's BTF and with it the
 * global functions of bpf/l7.bpf.h.
 */
#define LIT8(s, i) ((__u64)(__u8)(s)[i] << (8 * (i)))
#define LIT64(s) (LIT8(s, 0) | LIT8(s, 1) | LIT8(s, 2) | LIT8(s, 3) | LIT8(s, 4) | \
		  LIT8(s, 5) | LIT8(s, 6) | LIT8(s, 7))

static __always_inline __u8 lit_byte(__u64 w0, __u64 w1, __u64 w2, __u32 k)
{
	__u64 w = k < 8 ? w0 : k < 16 ? w1 : w2;

	return w >> (8 * (k & 7));
}

static __always_inline __u8 cl_byte(__u32 k)	/* "content-length:" */
{
	return lit_byte(LIT64("content-"), LIT64("length:\0"), 0, k);
}

static __always_inline __u8 te_byte(__u32 k)	/* "transfer-encoding:" */
{
	return lit_byte(LIT64("transfer"), LIT64("-encodin"), LIT64("g:\0\0\0\0\0\0"), k);
}

static __always_inline void h1_scan_init(struct gp_l7_h1 *h, __u8 ls)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->ls = ls;
}

static __always_inline void h1_name(struct gp_l7_h1 *h, __u8 lc)
{
	__u32 k = h->k;

	if (k < TE_K) {
		if (k >= sizeof("content-length:") - 1 || lc != cl_byte(k)) {
			h->ls = LS_SKIP;
			return;
		}
		if (++h->k == sizeof("content-length:") - 1) {
			h->ls = LS_CLV;
			h->k = 0;
			h->num = 0;
			h->sf = (h->sf | SF_CL) & ~SF_BIG;
		}
		return;
	}
	k -= TE_K;
	if (k >= sizeof("transfer-encoding:") - 1 || lc != te_byte(k)) {
		h->ls = LS_SKIP;
		return;
	}
	if (++h->k == TE_K + sizeof("transfer-encoding:") - 1) {
		h->ls = LS_TEV;
		h->k = 0;
	}
}

/* A chunk-size line's byte; 1 when the line does not parse. */
static __always_inline int h1_hex(struct gp_l7_h1 *h, __u8 c, __u8 lc)
{
	__u8 v = c >= '0' && c <= '9' ? c - '0' : lc >= 'a' && lc <= 'f' ? lc - 'a' + 10 : 16;

	if (v < 16) {
		if (h->num > 0x07ffffff)
			h->sf |= SF_BIG;
		h->num = (h->num << 4) | v;
	} else if (c == ';' || c == ' ' || c == '\t') {
		h->ls = LS_EXT;
	} else {
		h->sf |= SF_BAD | SF_DONE;
		return 1;
	}
	return 0;
}

/* One byte of a head, trailer section or chunk-size line; 1 when the line or head is done. */
static __always_inline int h1_byte(struct gp_l7_h1 *h, __u8 c)
{
	__u8 lc = c | 0x20;

	if (c == '\n') {
		if (h->ls == LS_HEX || h->ls == LS_EXT || h->ls == LS_START) {
			h->sf |= SF_DONE;
			return 1;
		}
		h->ls = LS_START;
		return 0;
	}
	if (c == '\r')
		return 0;
	switch (h->ls) {
	case LS_START:
		h->k = lc == 'c' ? 1 : lc == 't' ? TE_K + 1 : 0;
		h->ls = h->k ? LS_NAME : LS_SKIP;
		break;
	case LS_NAME:
		h1_name(h, lc);
		break;
	case LS_CLV:
		if (c >= '0' && c <= '9') {
			/* past about 2^31: offsets compare as signed 32-bit distances */
			if (h->num > 0x7fffffff / 10)
				h->sf |= SF_BIG;
			h->num = h->num * 10 + (c - '0');
		} else if (c != ' ' && c != '\t') {
			h->ls = LS_SKIP;
		}
		break;
	case LS_TEV:
		if (h->k < sizeof("chunked") - 1 && lc == (__u8)(LIT64("chunked\0") >> (8 * (h->k & 7)))) {
			if (++h->k == sizeof("chunked") - 1)
				h->sf |= SF_CHUNKED;
		} else {
			h->k = lc == 'c';
		}
		break;
	case LS_FIRST:
		/* col stops at first[]'s end: counting on, a line past 255 bytes would wrap onto it */
		if (h->col < sizeof(h->first))
			h->first[h->col++ & 15] = c;
		break;
	case LS_HEX:
		return h1_hex(h, c, lc);
	default:
		break;
	}
	return 0;
}

static __always_inline int h1_prefix(const __u8 *a, const char *lit, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (a[i] != (__u8)lit[i])
			return 0;
	return 1;
}

/* The first line's start (gp_l7_h1.first) names the request kind. */
static __always_inline __u32 h1_req_kind(const __u8 *f)
{
	if (h1_prefix(f, "HEAD ", 5))
		return RQ_HEAD;
	if (h1_prefix(f, "CONNECT ", 8))
		return RQ_CONNECT;
	return RQ_PLAIN;
}

/* "HTTP/1.x NNN" (gp_l7_h1.first): the status, or 0. */
static __always_inline __u32 h1_status(const __u8 *f)
{
	__u32 i, st = 0;

	if (!h1_prefix(f, "HTTP/1.", 7) || f[8] != ' ')
		return 0;
	for (i = 9; i < 12; i++) {
		if (f[i] < '0' || f[i] > '9')
			return 0;
		st = st * 10 + f[i] - '0';
	}
	return st;
}

#endif /* GP_H1SCAN_H */
