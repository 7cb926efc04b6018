/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_HPACK_H
#define GP_DECODE_HPACK_H

#include <stddef.h>
#include <stdint.h>

/*
 * HPACK (RFC 7541) decoding of one direction of an HTTP/2 connection: the
 * static table, the dynamic table (size updates, eviction), Huffman. One
 * decoder per direction; its memory is bounded and reused, so decoding
 * allocates only when a block is larger than any before it.
 *
 * An observer cannot make the encoder follow it, so the bounds are lenient
 * where that cannot go wrong: a dynamic table that keeps more than the
 * encoder's is a superset in the same order (its extra entries come last),
 * so a larger table never decodes differently, and a smaller one (our cap)
 * fails with an index past the table rather than decoding wrongly.
 */

/* The table size before any SETTINGS_HEADER_TABLE_SIZE (RFC 9113 6.5.2). */
#define GP_HPACK_TABLE_DEFAULT	4096u
/* Most octets of dynamic table kept; a larger allowed size is followed up to this. */
#define GP_HPACK_TABLE_CAP	65536u
/*
 * Most octets of decoded names and values of one block, and most fields:
 * past either the block still decodes (the table stays right) but its
 * fields are dropped and the block is marked truncated.
 */
#define GP_HPACK_OUT_MAX	65536u
#define GP_HPACK_FIELDS_MAX	512u

struct gp_hpack;

/* A decoded field: bytes [off, off + len) of the block's base. */
struct gp_hpack_field {
	uint32_t name_off, name_len;
	uint32_t value_off, value_len;
	uint8_t never_indexed;		/* sent as "never indexed" (a sensitive value) */
};

/* One decoded header block: valid until the decoder's next call. */
struct gp_hpack_block {
	const uint8_t *base;
	const struct gp_hpack_field *f;
	size_t n;
	int truncated;			/* past GP_HPACK_OUT_MAX / _FIELDS_MAX: n is 0 */
};

struct gp_hpack *gp_hpack_new(void);	/* NULL: ENOMEM */
void gp_hpack_free(struct gp_hpack *h);	/* NULL-safe */

/*
 * The decoding peer announced SETTINGS_HEADER_TABLE_SIZE = max. Before the
 * first block it is simply the table's maximum. After it, size updates are
 * allowed up to the largest value announced so far (the SETTINGS and the
 * encoder's next block race on the wire), and a larger value takes effect
 * at once, as for decoders that apply it without an update; a smaller one
 * waits for the encoder's size update, which RFC 7541 4.2 makes it send.
 */
void gp_hpack_set_max(struct gp_hpack *h, uint32_t max);

/*
 * Decodes one whole header block into *out. 0; -EBADMSG when it does not
 * decode (the table is then unknown: the direction is lost); -ENOMEM.
 */
int gp_hpack_decode(struct gp_hpack *h, const uint8_t *blk, size_t len,
		    struct gp_hpack_block *out);

/*
 * An integer with an N-bit prefix (RFC 7541 5.1) at *p (< end), *p moved
 * past it. Values above UINT32_MAX are -EBADMSG, as is running out of input.
 */
int gp_hpack_int(const uint8_t **p, const uint8_t *end, unsigned prefix_bits, uint32_t *out);

/*
 * Huffman-decodes n bytes (RFC 7541 5.2, Appendix B) into out (cap bytes;
 * out NULL only counts). The length, -EBADMSG (EOS inside, padding longer
 * than 7 bits or not all ones) or -ENOSPC.
 */
long gp_hpack_huffman(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/*
 * What a block's first field says without the dynamic table (a direction
 * joined mid-stream): its name where the static table or a literal gives
 * it, its value where one does too. Strings are cut to fit; one that does
 * not fit is unknown.
 */
struct gp_hpack_peek {
	char name[16], value[16];	/* NUL-terminated */
	uint8_t name_known, value_known;
};

/* 0 (an empty block knows nothing); -EBADMSG when the field does not parse. */
int gp_hpack_peek(const uint8_t *blk, size_t len, struct gp_hpack_peek *out);

/* The dynamic table: RFC size in octets, entries, and the current maximum. */
size_t gp_hpack_table_size(const struct gp_hpack *h);
size_t gp_hpack_table_len(const struct gp_hpack *h);
size_t gp_hpack_table_max(const struct gp_hpack *h);
/*
 * Dynamic entry i (1: newest) as NUL-terminated copies, cut to the buffers.
 * 0, or -ENOENT.
 */
int gp_hpack_table_entry(const struct gp_hpack *h, size_t i, char *name, size_t nlen,
			 char *value, size_t vlen);

#endif
