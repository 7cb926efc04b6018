// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HPACK decoder on arbitrary blocks, one table across the blocks of an
 * input: [1 byte: 0x80 = a SETTINGS value of the next 2 bytes << 4 first]
 * [2 bytes: block length] [block]... No crash, the table within its
 * bounds, fields within the decoder's output, the Huffman decoder's count
 * and output agreeing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/hpack.h"

static void check_block(const struct gp_hpack *h, const struct gp_hpack_block *b)
{
	volatile uint8_t sink = 0;
	size_t i, j;

	if (b->truncated && b->n)
		abort();
	if (b->n > GP_HPACK_FIELDS_MAX)
		abort();
	for (i = 0; i < b->n; i++) {
		const struct gp_hpack_field *f = &b->f[i];

		if (f->name_off + (size_t)f->name_len > GP_HPACK_OUT_MAX ||
		    f->value_off + (size_t)f->value_len > GP_HPACK_OUT_MAX)
			abort();
		/* Touch every byte: ASan tells any that is not the decoder's. */
		for (j = 0; j < f->name_len; j++)
			sink ^= b->base[f->name_off + j];
		for (j = 0; j < f->value_len; j++)
			sink ^= b->base[f->value_off + j];
	}
	if (gp_hpack_table_size(h) > gp_hpack_table_max(h) ||
	    gp_hpack_table_max(h) > GP_HPACK_TABLE_CAP ||
	    gp_hpack_table_len(h) * 32 > gp_hpack_table_size(h))
		abort();
	(void)sink;
}

/* What the first field says without the table agrees with the table's decoding. */
static void check_peek(const uint8_t *blk, size_t n, const struct gp_hpack_block *b)
{
	struct gp_hpack_peek pk;
	const struct gp_hpack_field *f = b->f;

	if (gp_hpack_peek(blk, n, &pk))
		abort();
	if (!b->n)
		return;
	if (pk.name_known && (f->name_len != strlen(pk.name) ||
			      memcmp(b->base + f->name_off, pk.name, f->name_len)))
		abort();
	if (pk.value_known && (f->value_len != strlen(pk.value) ||
			       memcmp(b->base + f->value_off, pk.value, f->value_len)))
		abort();
}

static void check_huffman(const uint8_t *in, size_t n)
{
	uint8_t *out = malloc(n * 8 / 5 + 1);
	long len = gp_hpack_huffman(in, n, NULL, 0), len2;

	if (!out)
		return;
	len2 = gp_hpack_huffman(in, n, out, n * 8 / 5 + 1);
	if (len != len2 || len > (long)(n * 8 / 5) || (len < 0 && len != -EBADMSG))
		abort();
	if (len > 0 && gp_hpack_huffman(in, n, out, (size_t)len - 1) != -ENOSPC)
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_hpack *h = gp_hpack_new();
	struct gp_hpack_block b;
	size_t pos = 0, n;
	char name[64], value[64];

	if (!h)
		return 0;
	check_huffman(data, size < 4096 ? size : 4096);
	while (pos + 3 <= size) {
		uint8_t ctl = data[pos];

		n = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if ((ctl & 0x80) && n) {
			gp_hpack_set_max(h, (uint32_t)n << 4);
			continue;
		}
		if (n > size - pos)
			n = size - pos;
		/* An exactly-sized copy: ASan tells a read past the block. */
		uint8_t *blk = malloc(n ? n : 1);

		if (!blk)
			break;
		memcpy(blk, data + pos, n);
		pos += n;
		if (gp_hpack_decode(h, blk, n, &b) == 0) {
			check_block(h, &b);
			check_peek(blk, n, &b);
		} else {
			/* The table is unknown after an error: start over, as a new connection. */
			gp_hpack_free(h);
			h = gp_hpack_new();
		}
		free(blk);
		if (!h)
			return 0;
		if (gp_hpack_table_len(h))
			gp_hpack_table_entry(h, gp_hpack_table_len(h), name, sizeof(name), value,
					     sizeof(value));
	}
	gp_hpack_free(h);
	return 0;
}
