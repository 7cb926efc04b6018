// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input/pktsplit.h"

#define TCP_FIN	0x01
#define TCP_SYN	0x02
#define TCP_RST	0x04
#define TCP_PSH	0x08

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Offsets of the IP and TCP headers and of the payload; 0 or -EMSGSIZE. */
static int locate(const uint8_t *f, size_t len, size_t *l3, size_t *l4, size_t *pl, size_t *plen,
		  int *v6)
{
	size_t off = 14, iplen, hl;
	uint16_t proto = get16(f + 12);
	uint8_t nh;
	int i;

	for (i = 0; i < 2 && (proto == 0x8100 || proto == 0x88a8); i++) {
		if (len < off + 4)
			return -EMSGSIZE;
		proto = get16(f + off + 2);
		off += 4;
	}
	*l3 = off;
	if (proto == 0x0800) {
		if (len < off + 20 || (f[off] >> 4) != 4 || f[off + 9] != 6 ||
		    (get16(f + off + 6) & 0x3fff))	/* MF or an offset: a fragment */
			return -EMSGSIZE;
		hl = (f[off] & 0xf) * 4;
		iplen = get16(f + off + 2);
		if (hl < 20 || iplen < hl || off + iplen > len)
			return -EMSGSIZE;
		*v6 = 0;
		off += hl;
		iplen -= hl;
	} else if (proto == 0x86dd) {
		if (len < off + 40 || (f[off] >> 4) != 6)
			return -EMSGSIZE;
		iplen = get16(f + off + 4);
		nh = f[off + 6];
		if (off + 40 + iplen > len)
			return -EMSGSIZE;
		*v6 = 1;
		off += 40;
		for (i = 0; i < 6 && nh != 6; i++) {
			if (nh != 0 && nh != 43 && nh != 60)	/* fragments and AH: leave them */
				return -EMSGSIZE;
			if (len < off + 8)
				return -EMSGSIZE;
			hl = (f[off + 1] + 1) * 8;
			if (hl > iplen)
				return -EMSGSIZE;
			nh = f[off];
			off += hl;
			iplen -= hl;
		}
		if (nh != 6)
			return -EMSGSIZE;
	} else {
		return -EMSGSIZE;
	}
	if (iplen < 20 || len < off + 20)
		return -EMSGSIZE;
	hl = (f[off + 12] >> 4) * 4;
	if (hl < 20 || hl > iplen)
		return -EMSGSIZE;
	*l4 = off;
	*pl = off + hl;
	*plen = iplen - hl;
	return 0;
}

int gp_frame_split(const uint8_t *frame, size_t len, size_t max_len, gp_piece_fn fn, void *ctx)
{
	size_t l3, l4, pl, plen, room, done, n;
	uint8_t *buf, flags;
	uint32_t seq;
	int v6, err, pieces = 0;

	if (len <= max_len) {
		err = fn(ctx, frame, len);
		return err < 0 ? err : 1;
	}
	if (len < 14 || locate(frame, len, &l3, &l4, &pl, &plen, &v6) || pl >= max_len)
		return -EMSGSIZE;
	room = max_len - pl;
	buf = malloc(max_len);
	if (!buf)
		return -ENOMEM;
	seq = get32(frame + l4 + 4);
	flags = frame[l4 + 13];
	for (done = 0; done < plen || !pieces; done += n) {
		n = plen - done < room ? plen - done : room;
		memcpy(buf, frame, pl);
		memcpy(buf + pl, frame + pl + done, n);
		/* Lengths count from the IP header (v4) or after the fixed one (v6). */
		if (v6)
			put16(buf + l3 + 4, (uint16_t)(pl - l3 - 40 + n));
		else
			put16(buf + l3 + 2, (uint16_t)(pl - l3 + n));
		put32(buf + l4 + 4, seq + (uint32_t)done + (done && (flags & TCP_SYN) ? 1 : 0));
		buf[l4 + 13] = flags & ~(done ? TCP_SYN : 0);
		if (done + n < plen)
			buf[l4 + 13] &= ~(TCP_FIN | TCP_RST | TCP_PSH);
		err = fn(ctx, buf, pl + n);
		if (err < 0) {
			free(buf);
			return err;
		}
		pieces++;
	}
	free(buf);
	return pieces;
}
