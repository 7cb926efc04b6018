// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HPACK decoder: every example of RFC 7541 Appendix C (integers, field
 * representations, requests and responses with and without Huffman, with
 * eviction), the dynamic table's contents and size after each block as the
 * RFC lists them, and the errors a decoder must catch. Blocks are copied to
 * exactly-sized heap buffers so ASan catches any read past the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode/hpack.h"

/* ---- helpers ------------------------------------------------------------ */

/* Hex with any spaces between digit pairs, into a malloc'ed buffer of exactly its size. */
static uint8_t *unhex(const char *s, size_t *len)
{
	uint8_t *buf = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	unsigned v;

	assert_non_null(buf);
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		buf[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return realloc(buf, n ? n : 1);
}

static int decode_hex(struct gp_hpack *h, const char *hex, struct gp_hpack_block *b)
{
	size_t len;
	uint8_t *buf = unhex(hex, &len);
	int err = gp_hpack_decode(h, buf, len, b);

	free(buf);
	return err;
}

/* Block fields as "name: value" lines, joined. */
static char *fields_str(const struct gp_hpack_block *b)
{
	size_t i, cap = 1, o = 0;
	char *s;

	for (i = 0; i < b->n; i++)
		cap += b->f[i].name_len + b->f[i].value_len + 3;
	s = malloc(cap);
	assert_non_null(s);
	for (i = 0; i < b->n; i++)
		o += (size_t)sprintf(s + o, "%.*s: %.*s\n", (int)b->f[i].name_len,
				     (const char *)b->base + b->f[i].name_off, (int)b->f[i].value_len,
				     (const char *)b->base + b->f[i].value_off);
	s[o] = '\0';
	return s;
}

static void expect_block(struct gp_hpack *h, const char *hex, const char *want)
{
	struct gp_hpack_block b;
	char *got;

	assert_int_equal(decode_hex(h, hex, &b), 0);
	assert_int_equal(b.truncated, 0);
	got = fields_str(&b);
	assert_string_equal(got, want);
	free(got);
}

/* The dynamic table, newest first, as "name: value" lines; and its RFC size. */
static void expect_table(const struct gp_hpack *h, const char *want, size_t size)
{
	char name[256], value[256], got[2048];
	size_t i, o = 0;

	for (i = 1; i <= gp_hpack_table_len(h); i++) {
		assert_int_equal(gp_hpack_table_entry(h, i, name, sizeof(name), value, sizeof(value)), 0);
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s: %s\n", name, value);
	}
	got[o] = '\0';
	assert_string_equal(got, want);
	assert_int_equal(gp_hpack_table_size(h), size);
	assert_int_equal(gp_hpack_table_entry(h, i, name, sizeof(name), value, sizeof(value)),
			 -ENOENT);
}

static int decode_err(struct gp_hpack *h, const char *hex)
{
	struct gp_hpack_block b;

	return decode_hex(h, hex, &b);
}

/* ---- C.1 integers ------------------------------------------------------- */

static void test_c1_integers(void **state)
{
	/* The prefix's high bits (X in the RFC) belong to the representation. */
	static const uint8_t c11[] = { 0xea }, c12[] = { 0xff, 0x9a, 0x0a }, c13[] = { 0x2a };
	const uint8_t *p;
	uint32_t v;

	(void)state;
	p = c11;
	assert_int_equal(gp_hpack_int(&p, c11 + sizeof(c11), 5, &v), 0);
	assert_int_equal(v, 10);
	assert_ptr_equal(p, c11 + 1);
	p = c12;
	assert_int_equal(gp_hpack_int(&p, c12 + sizeof(c12), 5, &v), 0);
	assert_int_equal(v, 1337);
	assert_ptr_equal(p, c12 + 3);
	p = c13;
	assert_int_equal(gp_hpack_int(&p, c13 + sizeof(c13), 8, &v), 0);
	assert_int_equal(v, 42);
	assert_ptr_equal(p, c13 + 1);
}

static void test_integer_bounds(void **state)
{
	/* 2^32 - 1 = 31 + 0xffffffe0: e0 ff ff ff 0f. */
	static const uint8_t max[] = { 0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t over[] = { 0x1f, 0xe1, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t longer[] = { 0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t cut[] = { 0x1f, 0x9a };
	const uint8_t *p;
	uint32_t v;

	(void)state;
	p = max;
	assert_int_equal(gp_hpack_int(&p, max + sizeof(max), 5, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	p = over;
	assert_int_equal(gp_hpack_int(&p, over + sizeof(over), 5, &v), -EBADMSG);
	p = longer;
	assert_int_equal(gp_hpack_int(&p, longer + sizeof(longer), 5, &v), -EBADMSG);
	p = cut;
	assert_int_equal(gp_hpack_int(&p, cut + sizeof(cut), 5, &v), -EBADMSG);
	p = cut;
	assert_int_equal(gp_hpack_int(&p, cut, 5, &v), -EBADMSG);
}

/* ---- C.2 field representations ------------------------------------------- */

static void test_c2_representations(void **state)
{
	struct gp_hpack *h = gp_hpack_new();
	struct gp_hpack_block b;

	(void)state;
	assert_non_null(h);
	/* C.2.1 literal with indexing. */
	expect_block(h, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
		     "custom-key: custom-header\n");
	expect_table(h, "custom-key: custom-header\n", 55);
	gp_hpack_free(h);

	/* C.2.2 literal without indexing. */
	h = gp_hpack_new();
	expect_block(h, "040c 2f73 616d 706c 652f 7061 7468", ":path: /sample/path\n");
	expect_table(h, "", 0);
	gp_hpack_free(h);

	/* C.2.3 literal never indexed. */
	h = gp_hpack_new();
	assert_int_equal(decode_hex(h, "1008 7061 7373 776f 7264 0673 6563 7265 74", &b), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.f[0].never_indexed, 1);
	expect_block(h, "1008 7061 7373 776f 7264 0673 6563 7265 74", "password: secret\n");
	expect_table(h, "", 0);
	gp_hpack_free(h);

	/* C.2.4 indexed. */
	h = gp_hpack_new();
	assert_int_equal(decode_hex(h, "82", &b), 0);
	assert_int_equal(b.f[0].never_indexed, 0);
	expect_block(h, "82", ":method: GET\n");
	expect_table(h, "", 0);
	gp_hpack_free(h);
}

/* ---- C.3 / C.4 requests ------------------------------------------------- */

static const char req1[] = ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n";
static const char req2[] = ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n"
			   "cache-control: no-cache\n";
static const char req3[] = ":method: GET\n:scheme: https\n:path: /index.html\n"
			   ":authority: www.example.com\ncustom-key: custom-value\n";
static const char reqtab1[] = ":authority: www.example.com\n";
static const char reqtab2[] = "cache-control: no-cache\n:authority: www.example.com\n";
static const char reqtab3[] = "custom-key: custom-value\ncache-control: no-cache\n"
			      ":authority: www.example.com\n";

static void test_c3_requests(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	expect_block(h, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", req1);
	expect_table(h, reqtab1, 57);
	expect_block(h, "8286 84be 5808 6e6f 2d63 6163 6865", req2);
	expect_table(h, reqtab2, 110);
	expect_block(h, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
		     req3);
	expect_table(h, reqtab3, 164);
	gp_hpack_free(h);
}

static void test_c4_requests_huffman(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	expect_block(h, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", req1);
	expect_table(h, reqtab1, 57);
	expect_block(h, "8286 84be 5886 a8eb 1064 9cbf", req2);
	expect_table(h, reqtab2, 110);
	expect_block(h, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", req3);
	expect_table(h, reqtab3, 164);
	gp_hpack_free(h);
}

/* ---- C.5 / C.6 responses, table size 256 --------------------------------- */

static const char resp1[] = ":status: 302\ncache-control: private\n"
			    "date: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com\n";
static const char resp2[] = ":status: 307\ncache-control: private\n"
			    "date: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com\n";
static const char resp3[] = ":status: 200\ncache-control: private\n"
			    "date: Mon, 21 Oct 2013 20:13:22 GMT\nlocation: https://www.example.com\n"
			    "content-encoding: gzip\n"
			    "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n";
static const char resptab1[] = "location: https://www.example.com\n"
			       "date: Mon, 21 Oct 2013 20:13:21 GMT\ncache-control: private\n"
			       ":status: 302\n";
static const char resptab2[] = ":status: 307\nlocation: https://www.example.com\n"
			       "date: Mon, 21 Oct 2013 20:13:21 GMT\ncache-control: private\n";
static const char resptab3[] = "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n"
			       "content-encoding: gzip\ndate: Mon, 21 Oct 2013 20:13:22 GMT\n";

static struct gp_hpack *new_256(void)
{
	struct gp_hpack *h = gp_hpack_new();

	assert_non_null(h);
	gp_hpack_set_max(h, 256);
	assert_int_equal(gp_hpack_table_max(h), 256);
	return h;
}

static void test_c5_responses(void **state)
{
	struct gp_hpack *h = new_256();

	(void)state;
	expect_block(h, "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 "
			"3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 "
			"7777 2e65 7861 6d70 6c65 2e63 6f6d", resp1);
	expect_table(h, resptab1, 222);
	expect_block(h, "4803 3330 37c1 c0bf", resp2);
	expect_table(h, resptab2, 222);
	expect_block(h, "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 "
			"3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a "
			"584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 "
			"3630 303b 2076 6572 7369 6f6e 3d31", resp3);
	expect_table(h, resptab3, 215);
	gp_hpack_free(h);
}

static void test_c6_responses_huffman(void **state)
{
	struct gp_hpack *h = new_256();

	(void)state;
	expect_block(h, "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 "
			"66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", resp1);
	expect_table(h, resptab1, 222);
	expect_block(h, "4883 640e ffc1 c0bf", resp2);
	expect_table(h, resptab2, 222);
	expect_block(h, "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a "
			"839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 "
			"72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", resp3);
	expect_table(h, resptab3, 215);
	gp_hpack_free(h);
}

/* ---- errors and bounds --------------------------------------------------- */

/* ---- first field without the dynamic table (a mid-stream join) ---------- */

static void expect_peek(const char *hex, int err, const char *name, const char *value)
{
	struct gp_hpack_peek pk;
	size_t len;
	uint8_t *buf = unhex(hex, &len);

	assert_int_equal(gp_hpack_peek(buf, len, &pk), err);
	free(buf);
	assert_int_equal(pk.name_known, name != NULL);
	assert_string_equal(pk.name, name ? name : "");
	assert_int_equal(pk.value_known, value != NULL);
	assert_string_equal(pk.value, value ? value : "");
}

static void test_peek_first_field(void **state)
{
	(void)state;
	/* Every block of C.3 to C.6, with its table unknown: the first field alone. */
	expect_peek("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", 0, ":method", "GET");
	expect_peek("8286 84be 5886 a8eb 1064 9cbf", 0, ":method", "GET");
	expect_peek("4803 3330 3258 0770 7269 7661 7465", 0, ":status", "302");
	expect_peek("4803 3330 37c1 c0bf", 0, ":status", "307");
	expect_peek("88c1 611d 4d6f 6e2c", 0, ":status", "200");
	expect_peek("4882 6402 5885 aec3 771a", 0, ":status", "302");	/* Huffman */
	expect_peek("4883 640e ffc1 c0bf", 0, ":status", "307");
	/* C.2: literal names, with and without indexing, never indexed. */
	expect_peek("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", 0,
		    "custom-key", "custom-header");
	expect_peek("040c 2f73 616d 706c 652f 7061 7468", 0, ":path", "/sample/path");
	expect_peek("1008 7061 7373 776f 7264 0673 6563 7265 74", 0, "password", "secret");
	/* A size update first; a literal :status without indexing (nginx's 503). */
	expect_peek("3fe1 1f 88", 0, ":status", "200");
	expect_peek("0803 3530 33", 0, ":status", "503");
	/* The dynamic table's entries and names are not known; nor is a name past 15 octets. */
	expect_peek("be", 0, NULL, NULL);
	expect_peek("7f00 0335 3033", 0, NULL, NULL);
	expect_peek("4010 782d 7665 7279 2d6c 6f6e 672d 6e61 6d65 0131", 0, NULL, "1");
	expect_peek("0f09 1161 6161 6161 6161 6161 6161 6161 6161 6161 61", 0, "cache-control", NULL);
	expect_peek("", 0, NULL, NULL);
	/* Not HPACK at all. */
	expect_peek("80", -EBADMSG, NULL, NULL);
	expect_peek("4805 3330", -EBADMSG, ":status", NULL);
	expect_peek("3f", -EBADMSG, NULL, NULL);
	expect_peek("4882 ffff", -EBADMSG, ":status", NULL);
}

static void test_index_errors(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	assert_int_equal(decode_err(h, "80"), -EBADMSG);		/* index 0 */
	assert_int_equal(decode_err(h, "be"), -EBADMSG);		/* 62, table empty */
	assert_int_equal(decode_err(h, "7e 0161"), -EBADMSG);	/* name 62 */
	assert_int_equal(decode_err(h, "bd"), 0);			/* 61: www-authenticate */
	expect_block(h, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572 be",
		     "custom-key: custom-header\ncustom-key: custom-header\n");
	assert_int_equal(decode_err(h, "bf"), -EBADMSG);		/* 63: one entry */
	assert_int_equal(decode_err(h, "ff ffff ffff 0f"), -EBADMSG);	/* index > 2^32 */
	gp_hpack_free(h);
}

static void test_size_updates(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	expect_block(h, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", req1);
	assert_int_equal(decode_err(h, "3fe2 1f"), -EBADMSG);	/* 4097 > 4096 */
	assert_int_equal(decode_err(h, "82 20"), -EBADMSG);		/* not at the start */
	gp_hpack_free(h);

	h = gp_hpack_new();
	expect_block(h, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", req1);
	/* Two updates open a block (RFC 7541 4.2): to 0 (evicting all), then 4096. */
	expect_block(h, "20 3fe1 1f 82", ":method: GET\n");
	expect_table(h, "", 0);
	assert_int_equal(gp_hpack_table_max(h), 4096);
	assert_int_equal(decode_err(h, "be"), -EBADMSG);
	expect_block(h, "3fe1 1f", "");	/* 4096 exactly; an empty block */
	/* A larger allowed size applies at once and bounds updates; ours caps it. */
	gp_hpack_set_max(h, 1u << 20);
	assert_int_equal(gp_hpack_table_max(h), GP_HPACK_TABLE_CAP);
	expect_block(h, "3fe1 ff3f", "");	/* 31 + 0xfffe0 = 1 MiB */
	assert_int_equal(gp_hpack_table_max(h), GP_HPACK_TABLE_CAP);
	/* A smaller one once blocks flowed waits for the encoder's update. */
	gp_hpack_set_max(h, 100);
	assert_int_equal(gp_hpack_table_max(h), GP_HPACK_TABLE_CAP);
	expect_block(h, "3f45", "");		/* 100 */
	assert_int_equal(gp_hpack_table_max(h), 100);
	gp_hpack_free(h);
}

/* Ten '0's in hex. */
#define Z10 "30303030303030303030"

static void test_eviction_of_referenced_name(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	/* Table of 100: custom-key: custom-header (55), then a 40-byte value under name 62. */
	expect_block(h, "3f45 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
		     "custom-key: custom-header\n");
	expect_block(h, "7e 28 " Z10 Z10 Z10 Z10,
		     "custom-key: 0000000000000000000000000000000000000000\n");
	expect_table(h, "custom-key: 0000000000000000000000000000000000000000\n", 82);
	/* An entry larger than the table empties it. */
	expect_block(h, "40 0161 46 " Z10 Z10 Z10 Z10 Z10 Z10 Z10,
		     "a: " "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
		     "0000000000" "0000000000\n");
	expect_table(h, "", 0);
	gp_hpack_free(h);
}

static void test_strings(void **state)
{
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_non_null(h);
	assert_int_equal(decode_err(h, "00 0361 6263 0561 62"), -EBADMSG);	/* value cut */
	assert_int_equal(decode_err(h, "00 0561 62"), -EBADMSG);		/* name cut */
	assert_int_equal(decode_err(h, "00 7f"), -EBADMSG);		/* length cut */
	assert_int_equal(decode_err(h, "00"), -EBADMSG);			/* no name */
	assert_int_equal(decode_err(h, "0f"), -EBADMSG);			/* index cut */
	/* Empty strings, plain and Huffman. */
	expect_block(h, "00 00 00 10 80 80", ": \n: \n");
	gp_hpack_free(h);
}

static void test_huffman_errors(void **state)
{
	static const uint8_t a_pad3[] = { 0x1f };		/* 'a' 00011 + 111 */
	static const uint8_t a_pad0[] = { 0x1e };		/* 'a' + 110 */
	static const uint8_t a_pad11[] = { 0x1f, 0xff };	/* 'a' + 11 ones */
	static const uint8_t ones8[] = { 0xff };
	static const uint8_t eos[] = { 0xff, 0xff, 0xff, 0xff };	/* EOS + 11 */
	static const uint8_t www[] = { 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0,
				       0xab, 0x90, 0xf4, 0xff };
	uint8_t out[32];
	struct gp_hpack *h = gp_hpack_new();

	(void)state;
	assert_int_equal(gp_hpack_huffman(a_pad3, 1, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(gp_hpack_huffman(a_pad0, 1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(gp_hpack_huffman(a_pad11, 2, out, sizeof(out)), -EBADMSG);
	assert_int_equal(gp_hpack_huffman(ones8, 1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(gp_hpack_huffman(eos, 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(gp_hpack_huffman(www, sizeof(www), NULL, 0), 15);
	assert_int_equal(gp_hpack_huffman(www, sizeof(www), out, 14), -ENOSPC);
	assert_int_equal(gp_hpack_huffman(www, sizeof(www), out, 15), 15);
	assert_memory_equal(out, "www.example.com", 15);
	assert_int_equal(gp_hpack_huffman(NULL, 0, NULL, 0), 0);
	/* The same in blocks: a bad value loses the block. */
	assert_non_null(h);
	assert_int_equal(decode_err(h, "00 0161 811e"), -EBADMSG);
	assert_int_equal(decode_err(h, "00 0161 82 1fff"), -EBADMSG);
	assert_int_equal(decode_err(h, "00 0161 84 ffff ffff"), -EBADMSG);
	expect_block(h, "00 0161 811f", "a: a\n");
	gp_hpack_free(h);
}

/* Packs codes MSB first, padding with ones: a Huffman string. */
static size_t huff_pack(const uint32_t (*codes)[2], size_t n, uint8_t *out)
{
	uint64_t acc = 0;
	unsigned nb = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = acc << codes[i][1] | codes[i][0];
		nb += codes[i][1];
		while (nb >= 8) {
			out[o++] = (uint8_t)(acc >> (nb - 8));
			nb -= 8;
		}
	}
	if (nb)
		out[o++] = (uint8_t)(acc << (8 - nb) | ((1u << (8 - nb)) - 1));
	return o;
}

/* Codes of every length class, from RFC 7541 Appendix B, long ones included. */
static void test_huffman_long_codes(void **state)
{
	static const uint32_t codes[][2] = {
		{ 0x1ff8, 13 }, { 0x7fffd8, 23 }, { 0x3ffffffc, 30 }, { 0xfffffe2, 28 },
		{ 0x3ffffffd, 30 }, { 0x3ffffffe, 30 }, { 0x14, 6 }, { 0x3f8, 10 },
		{ 0x7fa, 11 }, { 0xffa, 12 }, { 0x3ffc, 14 }, { 0x7ffc, 15 }, { 0x7fff0, 19 },
		{ 0xffffffc, 28 }, { 0xfffe6, 20 }, { 0x1fffdc, 21 }, { 0x3fffd2, 22 },
		{ 0xffffea, 24 }, { 0x1ffffec, 25 }, { 0x3ffffe0, 26 }, { 0x7ffffde, 27 },
		{ 0x3ffffee, 26 }, { 0x7fffff0, 27 }, { 0x0, 5 }, { 0x5c, 7 }, { 0xf8, 8 },
		{ 0x7b, 7 }, { 0xfd, 8 },
	};
	static const uint8_t want[] = { 0, 1, 10, 2, 13, 22, ' ', '!', '\'', '#', '^', '<',
					'\\', 127, 128, 153, 129, 9, 199, 192, 203, 255, 254,
					'0', ':', '&', 'z', 'Z' };
	uint8_t enc[128], out[64];
	size_t n = huff_pack(codes, sizeof(codes) / sizeof(codes[0]), enc);

	(void)state;
	assert_int_equal(gp_hpack_huffman(enc, n, out, sizeof(out)), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

/* Past the block's output bounds, fields are dropped but the table stays right. */
static void test_truncated_block(void **state)
{
	size_t n = GP_HPACK_FIELDS_MAX + 1, big = 40000, i, o = 0;
	uint8_t *blk = malloc(n + 2 * (big + 8) + 64);
	struct gp_hpack *h = gp_hpack_new();
	struct gp_hpack_block b;

	(void)state;
	assert_non_null(blk);
	assert_non_null(h);
	for (i = 0; i < n; i++)
		blk[o++] = 0x82;
	memcpy(blk + o, "\x40\x01" "a" "\x01" "b", 5);	/* a: b, indexed */
	o += 5;
	assert_int_equal(gp_hpack_decode(h, blk, o, &b), 0);
	assert_int_equal(b.truncated, 1);
	assert_int_equal(b.n, 0);
	expect_table(h, "a: b\n", 34);
	expect_block(h, "be", "a: b\n");

	/* Two 40000-byte values overflow GP_HPACK_OUT_MAX; then an entry to keep. */
	o = 0;
	for (i = 0; i < 2; i++) {
		memcpy(blk + o, "\x00\x01" "x" "\x7f", 4);
		o += 4;
		/* 40000 - 127 = 39873 = 0x9bc1: c1 b7 02 */
		memcpy(blk + o, "\xc1\xb7\x02", 3);
		o += 3;
		memset(blk + o, 'v', big);
		o += big;
	}
	memcpy(blk + o, "\x7e\x01" "c", 3);	/* name of entry 62 (a), value c */
	o += 3;
	assert_int_equal(gp_hpack_decode(h, blk, o, &b), 0);
	assert_int_equal(b.truncated, 1);
	assert_int_equal(b.n, 0);
	expect_table(h, "a: c\na: b\n", 68);
	free(blk);
	gp_hpack_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c1_integers),
		cmocka_unit_test(test_integer_bounds),
		cmocka_unit_test(test_c2_representations),
		cmocka_unit_test(test_c3_requests),
		cmocka_unit_test(test_c4_requests_huffman),
		cmocka_unit_test(test_c5_responses),
		cmocka_unit_test(test_c6_responses_huffman),
		cmocka_unit_test(test_peek_first_field),
		cmocka_unit_test(test_index_errors),
		cmocka_unit_test(test_size_updates),
		cmocka_unit_test(test_eviction_of_referenced_name),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_huffman_errors),
		cmocka_unit_test(test_huffman_long_codes),
		cmocka_unit_test(test_truncated_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
