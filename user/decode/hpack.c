// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/hpack.h"

/* RFC 7541 4.1: an entry's size is its name and value plus 32 octets. */
#define ENTRY_OVERHEAD	32u

_Static_assert(GP_HPACK_OUT_MAX >= GP_HPACK_TABLE_CAP,
	       "an entry that fits the table must fit the block's output");

struct stat_ent {
	const char *name, *value;
	uint8_t nlen, vlen;
};

#define S(n, v) { n, v, sizeof(n) - 1, sizeof(v) - 1 }
/* RFC 7541 Appendix A; index 1 is [0]. */
static const struct stat_ent static_table[] = {
	S(":authority", ""), S(":method", "GET"), S(":method", "POST"), S(":path", "/"),
	S(":path", "/index.html"), S(":scheme", "http"), S(":scheme", "https"),
	S(":status", "200"), S(":status", "204"), S(":status", "206"), S(":status", "304"),
	S(":status", "400"), S(":status", "404"), S(":status", "500"),
	S("accept-charset", ""), S("accept-encoding", "gzip, deflate"),
	S("accept-language", ""), S("accept-ranges", ""), S("accept", ""),
	S("access-control-allow-origin", ""), S("age", ""), S("allow", ""),
	S("authorization", ""), S("cache-control", ""), S("content-disposition", ""),
	S("content-encoding", ""), S("content-language", ""), S("content-length", ""),
	S("content-location", ""), S("content-range", ""), S("content-type", ""),
	S("cookie", ""), S("date", ""), S("etag", ""), S("expect", ""), S("expires", ""),
	S("from", ""), S("host", ""), S("if-match", ""), S("if-modified-since", ""),
	S("if-none-match", ""), S("if-range", ""), S("if-unmodified-since", ""),
	S("last-modified", ""), S("link", ""), S("location", ""), S("max-forwards", ""),
	S("proxy-authenticate", ""), S("proxy-authorization", ""), S("range", ""),
	S("referer", ""), S("refresh", ""), S("retry-after", ""), S("server", ""),
	S("set-cookie", ""), S("strict-transport-security", ""),
	S("transfer-encoding", ""), S("user-agent", ""), S("vary", ""), S("via", ""),
	S("www-authenticate", ""),
};
#undef S
#define STATIC_LEN	(sizeof(static_table) / sizeof(static_table[0]))
_Static_assert(STATIC_LEN == 61, "RFC 7541 Appendix A has 61 entries");

/* RFC 7541 Appendix B symbols in canonical order (by code length, then value). */
static const uint16_t huff_sym[257] = {
	48, 49, 50, 97, 99, 101, 105, 111, 115, 116, 32, 37,
	45, 46, 47, 51, 52, 53, 54, 55, 56, 57, 61, 65,
	95, 98, 100, 102, 103, 104, 108, 109, 110, 112, 114, 117,
	58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
	77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89,
	106, 107, 113, 118, 119, 120, 121, 122, 38, 42, 44, 59,
	88, 90, 33, 34, 40, 41, 63, 39, 43, 124, 35, 62,
	0, 36, 64, 91, 93, 126, 94, 125, 60, 96, 123, 92,
	195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161,
	167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230, 129,
	132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170,
	173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
	233, 1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150,
	151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182,
	183, 188, 191, 197, 231, 239, 9, 142, 144, 145, 148, 159,
	171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193,
	200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243,
	255, 203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245,
	246, 247, 248, 250, 251, 252, 253, 254, 2, 3, 4, 5,
	6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20,
	21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220,
	249, 10, 13, 22, 256,
};
/*
 * Per code length L (5..30): its first code, and where its symbols start in
 * huff_sym (they end where L + 1's start).
 */
static const uint32_t huff_first[31] = {
	[5] = 0, 20, 92, 248, 508, 1016, 2042, 4090, 8184, 16380, 32764, 65534, 131068,
	262136, 524272, 1048550, 2097116, 4194258, 8388568, 16777194, 33554412, 67108832,
	134217694, 268435426, 536870910, 1073741820,
};
static const uint16_t huff_off[32] = {
	[5] = 0, 10, 36, 68, 74, 74, 79, 82, 84, 90, 92, 95, 95, 95, 95, 98, 106, 119,
	145, 174, 186, 190, 205, 224, 253, 253, 257,
};

/* The shortest and longest codes of Appendix B; EOS is the all-ones 30-bit code. */
#define HUFF_MIN	5
#define HUFF_MAX	30
#define HUFF_EOS	256

long gp_hpack_huffman(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uint64_t acc = 0;	/* the nb unread bits, right-aligned */
	unsigned nb = 0, len;
	size_t i = 0, o = 0;
	uint32_t win, code;

	for (;;) {
		while (nb <= 56 && i < n) {
			acc = acc << 8 | in[i++];
			nb += 8;
		}
		if (!nb)
			break;
		/* The next 32 bits, padded with ones as an unfinished code would be. */
		win = nb >= 32 ? (uint32_t)(acc >> (nb - 32))
			       : (uint32_t)(acc << (32 - nb)) | (uint32_t)((1ull << (32 - nb)) - 1);
		/* Canonical code: the shortest length whose codes end above win. */
		for (len = HUFF_MIN; len < HUFF_MAX; len++) {
			code = win >> (32 - len);
			if (code - huff_first[len] < (uint32_t)(huff_off[len + 1] - huff_off[len]))
				break;
		}
		code = win >> (32 - len);
		if (len > nb) {
			/* What is left is padding: at most 7 bits, all ones (RFC 7541 5.2). */
			if (nb > 7 || acc != (1ull << nb) - 1)
				return -EBADMSG;
			break;
		}
		if (huff_sym[huff_off[len] + code - huff_first[len]] == HUFF_EOS)
			return -EBADMSG;
		if (out) {
			if (o >= cap)
				return -ENOSPC;
			out[o] = (uint8_t)huff_sym[huff_off[len] + code - huff_first[len]];
		}
		o++;
		nb -= len;
		acc &= (1ull << nb) - 1;
	}
	return (long)o;
}

int gp_hpack_int(const uint8_t **p, const uint8_t *end, unsigned prefix_bits, uint32_t *out)
{
	const uint8_t *q = *p;
	uint32_t mask = (1u << prefix_bits) - 1;
	uint64_t v;
	unsigned shift = 0;
	uint8_t b;

	if (q >= end)
		return -EBADMSG;
	v = *q++ & mask;
	if (v == mask) {
		do {
			/* 5 continuation bytes carry 35 bits: enough for any uint32_t. */
			if (q >= end || shift > 28)
				return -EBADMSG;
			b = *q++;
			v += (uint64_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
		if (v > UINT32_MAX)
			return -EBADMSG;
	}
	*p = q;
	*out = (uint32_t)v;
	return 0;
}

/* ---- dynamic table ---------------------------------------------------------- */

/* An entry's name then value, at off in the byte ring (possibly wrapping). */
struct dyn_ent {
	uint32_t off, nlen, vlen;
};

struct gp_hpack {
	/* Dynamic table: bytes in a ring of ring_cap, entries in a ring of ents_cap. */
	uint8_t *ring;
	size_t ring_cap, ring_head;
	struct dyn_ent *ents;
	size_t ents_cap, ents_head, n;
	size_t size, max, allowed;
	/* This block's decoded strings and fields. */
	uint8_t *arena;
	size_t arena_cap, used;
	struct gp_hpack_field *f;
	size_t f_cap, nf;
	int overflow;
	uint64_t blocks;		/* decoded so far */
};

struct gp_hpack *gp_hpack_new(void)
{
	struct gp_hpack *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->max = GP_HPACK_TABLE_DEFAULT;
	h->allowed = GP_HPACK_TABLE_DEFAULT;
	return h;
}

void gp_hpack_free(struct gp_hpack *h)
{
	if (!h)
		return;
	free(h->ring);
	free(h->ents);
	free(h->arena);
	free(h->f);
	free(h);
}

size_t gp_hpack_table_size(const struct gp_hpack *h)
{
	return h->size;
}

size_t gp_hpack_table_len(const struct gp_hpack *h)
{
	return h->n;
}

size_t gp_hpack_table_max(const struct gp_hpack *h)
{
	return h->max;
}

/* Dynamic entry i, 0 the newest. */
static const struct dyn_ent *dyn_get(const struct gp_hpack *h, size_t i)
{
	return &h->ents[(h->ents_head + h->ents_cap - 1 - i) % h->ents_cap];
}

static void ring_read(const struct gp_hpack *h, size_t off, size_t len, uint8_t *dst)
{
	size_t first = h->ring_cap - off < len ? h->ring_cap - off : len;

	memcpy(dst, h->ring + off, first);
	memcpy(dst + first, h->ring, len - first);
}

static void ring_write(struct gp_hpack *h, const uint8_t *src, size_t len)
{
	size_t first = h->ring_cap - h->ring_head < len ? h->ring_cap - h->ring_head : len;

	memcpy(h->ring + h->ring_head, src, first);
	memcpy(h->ring, src + first, len - first);
	h->ring_head = (h->ring_head + len) % h->ring_cap;
}

static void evict_to(struct gp_hpack *h, size_t max)
{
	while (h->size > max) {
		const struct dyn_ent *e = dyn_get(h, h->n - 1);

		h->size -= ENTRY_OVERHEAD + e->nlen + e->vlen;
		h->n--;
	}
}

/* Room for a table of max octets: the entries move into new rings, in order. */
static int table_grow(struct gp_hpack *h, size_t max)
{
	size_t ents_cap = max / ENTRY_OVERHEAD + 1, i, pos = 0;
	struct dyn_ent *ents = malloc(ents_cap * sizeof(*ents));
	uint8_t *ring = malloc(max);

	if (!ents || !ring) {
		free(ents);
		free(ring);
		return -ENOMEM;
	}
	for (i = 0; i < h->n; i++) {
		const struct dyn_ent *e = dyn_get(h, h->n - 1 - i);

		ents[i] = (struct dyn_ent){ (uint32_t)pos, e->nlen, e->vlen };
		ring_read(h, e->off, e->nlen + e->vlen, ring + pos);
		pos += e->nlen + e->vlen;
	}
	free(h->ring);
	free(h->ents);
	h->ring = ring;
	h->ring_cap = max;
	h->ring_head = pos % max;
	h->ents = ents;
	h->ents_cap = ents_cap;
	h->ents_head = h->n % ents_cap;
	return 0;
}

/* RFC 7541 4.4. name/value NULL: too long to keep, so the entry empties the table. */
static int table_add(struct gp_hpack *h, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen)
{
	size_t sz = ENTRY_OVERHEAD + nlen + vlen;
	int err;

	if (sz > h->max) {
		evict_to(h, 0);
		return 0;
	}
	if (!name || !value)
		return -EBADMSG;
	evict_to(h, h->max - sz);
	if (h->ring_cap < h->max && (err = table_grow(h, h->max)))
		return err;
	h->ents[h->ents_head] = (struct dyn_ent){ (uint32_t)h->ring_head, (uint32_t)nlen,
						  (uint32_t)vlen };
	h->ents_head = (h->ents_head + 1) % h->ents_cap;
	ring_write(h, name, nlen);
	ring_write(h, value, vlen);
	h->n++;
	h->size += sz;
	return 0;
}

void gp_hpack_set_max(struct gp_hpack *h, uint32_t max)
{
	/* Before any block nothing can race the new value: it simply applies. */
	if (max > h->allowed || !h->blocks)
		h->allowed = max;
	if (max > h->max || !h->blocks)
		h->max = max < GP_HPACK_TABLE_CAP ? max : GP_HPACK_TABLE_CAP;
}

int gp_hpack_table_entry(const struct gp_hpack *h, size_t i, char *name, size_t nlen,
			 char *value, size_t vlen)
{
	const struct dyn_ent *e;
	uint8_t *tmp;

	if (i < 1 || i > h->n || !nlen || !vlen)
		return -ENOENT;
	e = dyn_get(h, i - 1);
	tmp = malloc(e->nlen + e->vlen + 1);
	if (!tmp)
		return -ENOMEM;
	ring_read(h, e->off, e->nlen + e->vlen, tmp);
	snprintf(name, nlen, "%.*s", (int)e->nlen, (const char *)tmp);
	snprintf(value, vlen, "%.*s", (int)e->vlen, (const char *)tmp + e->nlen);
	free(tmp);
	return 0;
}

/* ---- header block ----------------------------------------------------------- */

/* A string of the field being decoded: arena bytes, or (have 0) only its length. */
struct str {
	uint32_t off, len;
	int have;
};

/* The field being decoded: its strings start at start in the arena. */
struct fld {
	size_t start;
	struct str name, value;
};

/* Room for len more arena bytes, growing it up to GP_HPACK_OUT_MAX. */
static int arena_room(struct gp_hpack *h, size_t len)
{
	size_t cap;
	uint8_t *a;

	/* Allocated even for nothing: fields always point into it. */
	if (h->arena && len <= h->arena_cap - h->used)
		return 0;
	if (len > GP_HPACK_OUT_MAX - h->used)
		return -ENOSPC;
	for (cap = h->arena_cap ? h->arena_cap : 1024; cap < h->used + len; cap *= 2)
		;
	if (cap > GP_HPACK_OUT_MAX)
		cap = GP_HPACK_OUT_MAX;
	a = realloc(h->arena, cap);
	if (!a)
		return -ENOMEM;
	h->arena = a;
	h->arena_cap = cap;
	return 0;
}

/*
 * As arena_room; past the bound the block's fields are dropped (overflow)
 * and the arena keeps only the current field's bytes, so an entry it adds
 * to the table still has them.
 */
static int room(struct gp_hpack *h, struct fld *fl, size_t len)
{
	int err = arena_room(h, len);

	if (err != -ENOSPC || h->overflow)
		return err;
	h->overflow = 1;
	memmove(h->arena, h->arena + fl->start, h->used - fl->start);
	h->used -= fl->start;
	if (fl->name.have)
		fl->name.off -= (uint32_t)fl->start;
	fl->start = 0;
	return arena_room(h, len);
}

/* Huffman-decodes n bytes at the arena's end: the length or a negative errno. */
static long huff_into(struct gp_hpack *h, struct fld *fl, const uint8_t *in, size_t n, int *err)
{
	long len = -ENOSPC;

	*err = 0;
	if (h->arena)
		len = gp_hpack_huffman(in, n, h->arena + h->used, h->arena_cap - h->used);
	if (len != -ENOSPC)
		return len;
	/* Not enough room: measure, make room, decode again. */
	len = gp_hpack_huffman(in, n, NULL, 0);
	if (len < 0)
		return len;
	*err = room(h, fl, (size_t)len);
	if (*err)
		return len;
	return gp_hpack_huffman(in, n, h->arena + h->used, (size_t)len);
}

/* A string literal (RFC 7541 5.2) at *p. */
static int get_str(struct gp_hpack *h, const uint8_t **p, const uint8_t *end, struct fld *fl,
		   struct str *s)
{
	int huff, err;
	uint32_t n;
	long len;

	if (*p >= end)
		return -EBADMSG;
	huff = **p & 0x80;
	if ((err = gp_hpack_int(p, end, 7, &n)))
		return err;
	if (n > (size_t)(end - *p))
		return -EBADMSG;
	if (huff) {
		len = huff_into(h, fl, *p, n, &err);
		if (len < 0)
			return (int)len;
	} else {
		len = n;
		if (!(err = room(h, fl, n)))
			memcpy(h->arena + h->used, *p, n);
	}
	if (err && err != -ENOSPC)
		return err;
	*s = (struct str){ (uint32_t)h->used, (uint32_t)len, !err };
	if (!err)
		h->used += (size_t)len;
	*p += n;
	return 0;
}

/* Table entry idx (RFC 7541 2.3.3): its name, and its value if with_value, into the arena. */
static int get_indexed(struct gp_hpack *h, uint32_t idx, struct fld *fl, int with_value)
{
	const uint8_t *sname = NULL, *svalue = NULL;
	const struct dyn_ent *e = NULL;
	size_t nlen, vlen;
	int err;

	if (idx == 0)
		return -EBADMSG;
	if (idx <= STATIC_LEN) {
		sname = (const uint8_t *)static_table[idx - 1].name;
		svalue = (const uint8_t *)static_table[idx - 1].value;
		nlen = static_table[idx - 1].nlen;
		vlen = static_table[idx - 1].vlen;
	} else {
		if (idx - STATIC_LEN > h->n)
			return -EBADMSG;
		e = dyn_get(h, idx - STATIC_LEN - 1);
		nlen = e->nlen;
		vlen = e->vlen;
	}
	/* A whole indexed field adds nothing to the table: no bytes needed once dropped. */
	if (with_value && h->overflow)
		return 0;
	if (!with_value)
		vlen = 0;
	if ((err = room(h, fl, nlen + vlen)))
		return err == -ENOSPC ? 0 : err;
	if (e)
		ring_read(h, e->off, nlen + vlen, h->arena + h->used);
	else {
		memcpy(h->arena + h->used, sname, nlen);
		memcpy(h->arena + h->used + nlen, svalue, vlen);
	}
	fl->name = (struct str){ (uint32_t)h->used, (uint32_t)nlen, 1 };
	fl->value = (struct str){ (uint32_t)(h->used + nlen), (uint32_t)vlen, with_value };
	h->used += nlen + vlen;
	return 0;
}

static int emit(struct gp_hpack *h, const struct fld *fl, int never)
{
	struct gp_hpack_field *f;
	size_t cap;

	if (h->overflow)
		return 0;
	if (h->nf == h->f_cap) {
		if (h->f_cap >= GP_HPACK_FIELDS_MAX) {
			h->overflow = 1;
			return 0;
		}
		cap = h->f_cap ? h->f_cap * 2 : 32;
		f = realloc(h->f, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		h->f = f;
		h->f_cap = cap;
	}
	h->f[h->nf++] = (struct gp_hpack_field){ fl->name.off, fl->name.len, fl->value.off,
						 fl->value.len, (uint8_t)never };
	return 0;
}

/* One field representation (RFC 7541 6.1, 6.2) at *p. */
static int field(struct gp_hpack *h, const uint8_t **p, const uint8_t *end)
{
	uint8_t b = **p;
	struct fld fl = { 0 };
	int err, add = (b & 0xc0) == 0x40;
	uint32_t idx;

	if (h->overflow)
		h->used = 0;
	fl.start = h->used;
	if (b & 0x80) {
		if ((err = gp_hpack_int(p, end, 7, &idx)) || (err = get_indexed(h, idx, &fl, 1)))
			return err;
		return emit(h, &fl, 0);
	}
	if ((err = gp_hpack_int(p, end, add ? 6 : 4, &idx)))
		return err;
	err = idx ? get_indexed(h, idx, &fl, 0) : get_str(h, p, end, &fl, &fl.name);
	if (err || (err = get_str(h, p, end, &fl, &fl.value)))
		return err;
	if (add && (err = table_add(h, fl.name.have ? h->arena + fl.name.off : NULL, fl.name.len,
				    fl.value.have ? h->arena + fl.value.off : NULL,
				    fl.value.len)))
		return err;
	return emit(h, &fl, !add && (b & 0x10));
}

/* RFC 7541 6.3; the new size bounded by what the decoder allowed. */
static int size_update(struct gp_hpack *h, const uint8_t **p, const uint8_t *end)
{
	uint32_t v;
	int err = gp_hpack_int(p, end, 5, &v);

	if (err)
		return err;
	if (v > h->allowed)
		return -EBADMSG;
	h->max = v < GP_HPACK_TABLE_CAP ? v : GP_HPACK_TABLE_CAP;
	evict_to(h, h->max);
	return 0;
}

int gp_hpack_decode(struct gp_hpack *h, const uint8_t *blk, size_t len,
		    struct gp_hpack_block *out)
{
	const uint8_t *p = blk, *end = len ? blk + len : blk;
	int err, fields = 0;

	h->used = 0;
	h->nf = 0;
	h->overflow = 0;
	h->blocks++;
	while (p < end) {
		if ((*p & 0xe0) == 0x20) {
			/* RFC 7541 4.2: size updates only open a block. */
			if (fields)
				return -EBADMSG;
			err = size_update(h, &p, end);
		} else {
			fields = 1;
			err = field(h, &p, end);
		}
		if (err)
			return err;
	}
	out->base = h->arena;
	out->f = h->f;
	out->n = h->overflow ? 0 : h->nf;
	out->truncated = h->overflow;
	return 0;
}

/* A string literal at *p into out: 1 known, 0 too long for out, or -EBADMSG. */
static int peek_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	int huff;
	uint32_t n;
	long len;

	if (*p >= end)
		return -EBADMSG;
	huff = **p & 0x80;
	if (gp_hpack_int(p, end, 7, &n) || n > (size_t)(end - *p))
		return -EBADMSG;
	if (huff)
		len = gp_hpack_huffman(*p, n, (uint8_t *)out, cap - 1);
	else if (n < cap)
		len = (long)n;
	else
		len = -ENOSPC;
	if (!huff && len >= 0)
		memcpy(out, *p, n);
	*p += n;
	if (len == -ENOSPC) {
		out[0] = '\0';
		return 0;
	}
	if (len < 0)
		return -EBADMSG;
	out[len] = '\0';
	return !memchr(out, '\0', (size_t)len);	/* one with a NUL is not what it seems */
}

static void peek_static(uint32_t idx, struct gp_hpack_peek *out, int with_value)
{
	const struct stat_ent *e = &static_table[idx - 1];

	snprintf(out->name, sizeof(out->name), "%s", e->name);
	out->name_known = e->nlen < sizeof(out->name);
	if (with_value) {
		snprintf(out->value, sizeof(out->value), "%s", e->value);
		out->value_known = e->vlen < sizeof(out->value);
	}
}

int gp_hpack_peek(const uint8_t *blk, size_t len, struct gp_hpack_peek *out)
{
	const uint8_t *p = blk, *end = len ? blk + len : blk;
	uint32_t idx;
	int r, add;

	memset(out, 0, sizeof(*out));
	while (p < end && (*p & 0xe0) == 0x20)
		if (gp_hpack_int(&p, end, 5, &idx))
			return -EBADMSG;
	if (p == end)
		return 0;
	if (*p & 0x80) {
		if (gp_hpack_int(&p, end, 7, &idx) || !idx)
			return -EBADMSG;
		if (idx <= STATIC_LEN)
			peek_static(idx, out, 1);
		return 0;
	}
	add = (*p & 0xc0) == 0x40;
	if (gp_hpack_int(&p, end, add ? 6 : 4, &idx))
		return -EBADMSG;
	if (idx > STATIC_LEN)
		return 0;	/* a dynamic entry's name: unknown */
	if (idx)
		peek_static(idx, out, 0);
	else if ((r = peek_str(&p, end, out->name, sizeof(out->name))) < 0)
		return r;
	else
		out->name_known = (uint8_t)r;
	if ((r = peek_str(&p, end, out->value, sizeof(out->value))) < 0)
		return r;
	out->value_known = (uint8_t)r;
	return 0;
}
