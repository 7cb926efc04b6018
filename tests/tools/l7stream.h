/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The streams the L7 differentials write, each direction's bytes in
 * S.d[dir] (b, len; at most STREAM_MAX): l7dump.c (through the kernel's
 * walker) and tests/unit/test_plainref.c (through decode/plain.c) include
 * it after their S.
 */

static void append(int dir, const void *p, size_t n)
{
	struct dirbuf *d = &S.d[dir];

	if (d->len + n > STREAM_MAX)
		abort();
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

static void append_fill(int dir, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = 'a' + (S.d[dir].len % 26);

		append(dir, &c, 1);
	}
}

static void append_h2(int dir, unsigned type, unsigned flags, uint32_t stream, size_t len)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags, stream >> 24, stream >> 16,
			 stream >> 8, stream };

	append(dir, h, 9);
	append_fill(dir, len);
}
