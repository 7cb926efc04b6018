// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture reader: small captures of every supported link type are
 * written with libpcap itself (pcapng and big-endian files by hand) into a
 * temporary directory that the group teardown removes, and read back as
 * Ethernet II. The last test reads the shared corpus and checks frame
 * numbers, timestamps and lengths against tshark.
 */
#define _GNU_SOURCE	/* getline */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "input/pcapin.h"

#ifndef GP_SRCDIR
#error "GP_SRCDIR must name the project root"
#endif
#define CORPUS_DIR GP_SRCDIR "/../shared/corpus/pcap"

#define NS		1000000000ull
#define TS0		(1763700194ull * NS + 871941699ull)	/* 2025-11-21T04:43:14.871941699Z */
#define UNSUPPORTED_TAIL "is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback are)"

static char tmpdir[PATH_MAX];

struct rec {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t len;		/* 0: caplen */
	uint64_t ts_ns;		/* 0: TS0 + index */
};

/* ---- crafted packets ------------------------------------------------------ */

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* A bare TCP SYN header, 20 bytes. */
static size_t tcp_syn(uint8_t *b)
{
	memset(b, 0, 20);
	put16(b, 40000);
	put16(b + 2, 8080);
	put32(b + 4, 0x01020304);
	b[12] = 0x50;
	b[13] = 0x02;
	put16(b + 14, 64240);
	return 20;
}

/* 198.18.0.1 -> 198.18.0.2, TCP SYN: 40 bytes. */
static size_t ip4_syn(uint8_t *b)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, 40);
	put16(b + 6, 0x4000);
	b[8] = 64;
	b[9] = 6;
	put32(b + 12, 0xc6120001);
	put32(b + 16, 0xc6120002);
	return 20 + tcp_syn(b + 20);
}

/* fd00:198:18::1 -> fd00:198:18::2, TCP SYN: 60 bytes. */
static size_t ip6_syn(uint8_t *b)
{
	static const uint8_t pfx[6] = { 0xfd, 0x00, 0x01, 0x98, 0x00, 0x18 };

	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, 20);
	b[6] = 6;
	b[7] = 64;
	memcpy(b + 8, pfx, sizeof(pfx));
	b[23] = 1;
	memcpy(b + 24, pfx, sizeof(pfx));
	b[39] = 2;
	return 40 + tcp_syn(b + 40);
}

/* Ethernet header, then the payload: returns the frame length. */
static size_t eth(uint8_t *b, uint16_t type, const uint8_t *pl, size_t plen)
{
	memcpy(b, mac_b, 6);
	memcpy(b + 6, mac_a, 6);
	put16(b + 12, type);
	if (plen)
		memcpy(b + 14, pl, plen);
	return 14 + plen;
}

/* ---- files ---------------------------------------------------------------- */

static void tmp_path(char *buf, size_t len, const char *name)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", tmpdir, name) < len);
}

/* Writes recs with libpcap; returns the file's path in path (PATH_MAX). */
static void write_pcap(char *path, const char *name, int dlt, unsigned precision,
		       const struct rec *recs, size_t n)
{
	pcap_t *pd;
	pcap_dumper_t *d;
	size_t i;

	tmp_path(path, PATH_MAX, name);
	pd = pcap_open_dead_with_tstamp_precision(dlt, 262144, precision);
	assert_non_null(pd);
	d = pcap_dump_open(pd, path);
	if (!d)
		print_message("pcap_dump_open: %s\n", pcap_geterr(pd));
	assert_non_null(d);
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h;
		uint64_t ts = recs[i].ts_ns ? recs[i].ts_ns : TS0 + i;

		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)(ts / NS);
		h.ts.tv_usec = (suseconds_t)(precision == PCAP_TSTAMP_PRECISION_NANO ?
					     ts % NS : ts % NS / 1000);
		h.caplen = recs[i].caplen;
		h.len = recs[i].len ? recs[i].len : recs[i].caplen;
		pcap_dump((u_char *)d, &h, recs[i].data);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

static void write_bytes(char *path, const char *name, const void *b, size_t n)
{
	FILE *f;

	tmp_path(path, PATH_MAX, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ---- reading -------------------------------------------------------------- */

static struct gp_pcap *open_ok(const char *path, const char *linktype)
{
	struct gp_pcap *p = NULL;
	char err[512] = "";
	int r;

	r = gp_pcap_open(&p, path, err, sizeof(err));
	if (r)
		print_message("gp_pcap_open: %d %s\n", r, err);
	assert_int_equal(r, 0);
	assert_non_null(p);
	assert_string_equal(gp_pcap_linktype(p), linktype);
	return p;
}

static void next_ok(struct gp_pcap *p, struct gp_pcap_frame *f, uint64_t index)
{
	char err[512] = "";
	int r;

	memset(f, 0, sizeof(*f));
	r = gp_pcap_next(p, f, err, sizeof(err));
	if (r != 1)
		print_message("gp_pcap_next: %d %s\n", r, err);
	assert_int_equal(r, 1);
	assert_int_equal(f->index, index);
	assert_true(f->len >= 14 && f->len <= f->wire_len && f->len <= GP_PCAP_FRAME_MAX);
}

static void next_eof(struct gp_pcap *p)
{
	struct gp_pcap_frame f;
	char err[512] = "";

	assert_int_equal(gp_pcap_next(p, &f, err, sizeof(err)), 0);
	assert_int_equal(gp_pcap_next(p, &f, err, sizeof(err)), 0);	/* stays at the end */
}

/* A frame passed through untouched. */
static void expect_same(struct gp_pcap *p, uint64_t index, const uint8_t *b, size_t len)
{
	struct gp_pcap_frame f;

	next_ok(p, &f, index);
	assert_int_equal(f.len, len);
	assert_int_equal(f.wire_len, len);
	assert_memory_equal(f.data, b, len);
	assert_int_equal(f.ts_ns, TS0 + index - 1);
}

/* A frame built from a cooked, raw or loopback one: zero MACs, type, payload. */
static void expect_built(struct gp_pcap *p, uint64_t index, uint16_t type,
			 const uint8_t *pl, size_t plen)
{
	static const uint8_t zero[12];
	struct gp_pcap_frame f;

	next_ok(p, &f, index);
	assert_int_equal(f.len, 14 + plen);
	assert_int_equal(f.wire_len, 14 + plen);
	assert_memory_equal(f.data, zero, sizeof(zero));
	assert_int_equal(get16(f.data + 12), type);
	assert_memory_equal(f.data + 14, pl, plen);
	assert_int_equal(f.ts_ns, TS0 + index - 1);
}

static void expect_stats(struct gp_pcap *p, uint64_t frames, uint64_t truncated,
			 uint64_t unsupported, uint64_t too_long)
{
	struct gp_pcap_stats st;

	gp_pcap_stats(p, &st);
	assert_int_equal(st.frames, frames);
	assert_int_equal(st.truncated, truncated);
	assert_int_equal(st.unsupported, unsupported);
	assert_int_equal(st.too_long, too_long);
}

/* ---- link types ----------------------------------------------------------- */

static void test_en10mb(void **state)
{
	uint8_t ip4[40], ip6[60], tagged[64], plain[64], vlan[96], arp[42], runt[10];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), lp, lv;
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	lp = eth(plain, 0x0800, ip4, l4);
	/* 802.1Q tag 100, then IPv6: left in place for the BPF program. */
	put16(tagged, 0x0064);
	put16(tagged + 2, 0x86dd);
	memcpy(tagged + 4, ip6, l6);
	lv = eth(vlan, 0x8100, tagged, 4 + l6);
	memset(arp, 0, sizeof(arp));
	eth(arp, 0x0806, arp + 14, 0);
	memset(runt, 0xee, sizeof(runt));

	const struct rec recs[] = {
		{ plain, (uint32_t)lp, 0, 0 },
		{ vlan, (uint32_t)lv, 0, 0 },
		{ runt, sizeof(runt), 0, 0 },	/* no room for an Ethernet header */
		{ arp, sizeof(arp), 0, 0 },
	};
	write_pcap(path, "en10mb.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, recs, 4);
	p = open_ok(path, "EN10MB");
	expect_same(p, 1, plain, lp);
	expect_same(p, 2, vlan, lv);
	expect_same(p, 4, arp, sizeof(arp));
	next_eof(p);
	expect_stats(p, 4, 0, 1, 0);
	gp_pcap_close(p);
}

/* Linux cooked v1: packet type, ARPHRD, address length, address (8), protocol. */
static size_t sll(uint8_t *b, uint16_t proto, const uint8_t *pl, size_t plen)
{
	memset(b, 0, 16);
	put16(b, 4);		/* sent by us */
	put16(b + 2, 1);	/* ARPHRD_ETHER */
	put16(b + 4, 6);
	memcpy(b + 6, mac_a, 6);
	put16(b + 14, proto);
	memcpy(b + 16, pl, plen);
	return 16 + plen;
}

static void test_linux_sll(void **state)
{
	uint8_t ip4[40], ip6[60], tagged[64], arp[28], f1[64], f2[96], f3[96], f4[12], f5[64];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), n1, n2, n3, n5;
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	n1 = sll(f1, 0x0800, ip4, l4);
	n2 = sll(f2, 0x86dd, ip6, l6);
	put16(tagged, 0x0064);
	put16(tagged + 2, 0x0800);
	memcpy(tagged + 4, ip4, l4);
	n3 = sll(f3, 0x8100, tagged, 4 + l4);
	memcpy(f4, f1, sizeof(f4));		/* cut inside the cooked header */
	memset(arp, 0x11, sizeof(arp));
	n5 = sll(f5, 0x0806, arp, sizeof(arp));

	const struct rec recs[] = {
		{ f1, (uint32_t)n1, 0, 0 },
		{ f2, (uint32_t)n2, 0, 0 },
		{ f3, (uint32_t)n3, 0, 0 },
		{ f4, sizeof(f4), 0, 0 },
		{ f5, (uint32_t)n5, 0, 0 },
	};
	write_pcap(path, "sll.pcap", DLT_LINUX_SLL, PCAP_TSTAMP_PRECISION_NANO, recs, 5);
	p = open_ok(path, "LINUX_SLL");
	expect_built(p, 1, 0x0800, ip4, l4);
	expect_built(p, 2, 0x86dd, ip6, l6);
	expect_built(p, 3, 0x8100, tagged, 4 + l4);
	expect_built(p, 5, 0x0806, arp, sizeof(arp));	/* whatever the protocol is */
	next_eof(p);
	expect_stats(p, 5, 0, 1, 0);
	gp_pcap_close(p);
}

/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address. */
static size_t sll2(uint8_t *b, uint16_t proto, const uint8_t *pl, size_t plen)
{
	memset(b, 0, 20);
	put16(b, proto);
	put32(b + 4, 7);
	put16(b + 8, 1);
	b[10] = 0;		/* to us */
	b[11] = 6;
	memcpy(b + 12, mac_a, 6);
	memcpy(b + 20, pl, plen);
	return 20 + plen;
}

static void test_linux_sll2(void **state)
{
	uint8_t ip4[40], ip6[60], f1[96], f2[64], f3[19];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), n1, n2;
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	n1 = sll2(f1, 0x86dd, ip6, l6);
	n2 = sll2(f2, 0x0800, ip4, l4);
	memcpy(f3, f2, sizeof(f3));

	const struct rec recs[] = {
		{ f1, (uint32_t)n1, 0, 0 },
		{ f3, sizeof(f3), 0, 0 },	/* one byte short of the header */
		{ f2, (uint32_t)n2, 0, 0 },
	};
	write_pcap(path, "sll2.pcap", DLT_LINUX_SLL2, PCAP_TSTAMP_PRECISION_NANO, recs, 3);
	p = open_ok(path, "LINUX_SLL2");
	expect_built(p, 1, 0x86dd, ip6, l6);
	expect_built(p, 3, 0x0800, ip4, l4);
	next_eof(p);
	expect_stats(p, 3, 0, 1, 0);
	gp_pcap_close(p);
}

static void test_raw(void **state)
{
	uint8_t ip4[40], ip6[60], bad[40], hdr[24];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6);
	char path[PATH_MAX];
	struct gp_pcap *p;
	FILE *f;

	(void)state;
	memcpy(bad, ip4, sizeof(bad));
	bad[0] = 0x55;		/* version 5 */

	const struct rec recs[] = {
		{ ip4, (uint32_t)l4, 0, 0 },
		{ ip6, (uint32_t)l6, 0, 0 },
		{ bad, sizeof(bad), 0, 0 },
		{ ip4, 0, 40, 0 },		/* nothing captured: no version */
		{ ip6, (uint32_t)l6, 0, 0 },
	};
	write_pcap(path, "raw.pcap", DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, recs, 5);
	/* libpcap writes DLT_RAW as LINKTYPE_RAW (101) and maps it back. */
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	fclose(f);
	assert_int_equal(hdr[20] | hdr[21] << 8, 101);

	p = open_ok(path, "RAW");
	expect_built(p, 1, 0x0800, ip4, l4);
	expect_built(p, 2, 0x86dd, ip6, l6);
	expect_built(p, 5, 0x86dd, ip6, l6);
	next_eof(p);
	expect_stats(p, 5, 0, 2, 0);
	gp_pcap_close(p);
}

/* DLT_IPV4 and DLT_IPV6 hold only their own version. */
static void test_ipv4_ipv6(void **state)
{
	uint8_t ip4[40], ip6[60];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6);
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	const struct rec recs[] = {
		{ ip4, (uint32_t)l4, 0, 0 },
		{ ip6, (uint32_t)l6, 0, 0 },
	};
	write_pcap(path, "ipv4.pcap", DLT_IPV4, PCAP_TSTAMP_PRECISION_NANO, recs, 2);
	p = open_ok(path, "IPV4");
	expect_built(p, 1, 0x0800, ip4, l4);
	next_eof(p);
	expect_stats(p, 2, 0, 1, 0);
	gp_pcap_close(p);

	write_pcap(path, "ipv6.pcap", DLT_IPV6, PCAP_TSTAMP_PRECISION_NANO, recs, 2);
	p = open_ok(path, "IPV6");
	expect_built(p, 2, 0x86dd, ip6, l6);
	next_eof(p);
	expect_stats(p, 2, 0, 1, 0);
	gp_pcap_close(p);
}

/* A loopback frame: the family in the given order, then the payload. */
static size_t loop_frame(uint8_t *b, uint32_t af, int big_endian, const uint8_t *pl, size_t plen)
{
	if (big_endian)
		put32(b, af);
	else
		memcpy(b, &af, 4);	/* host order, as DLT_NULL (tests run little- or big-endian) */
	memcpy(b + 4, pl, plen);
	return 4 + plen;
}

static int host_big_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 0;
}

static void test_null(void **state)
{
	static const uint32_t v6[] = { 24, 28, 30, 10 };
	uint8_t ip4[40], ip6[60], fr[8][64];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), n[8], i;
	struct rec recs[8];
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	memset(fr, 0, sizeof(fr));
	n[0] = loop_frame(fr[0], 2, host_big_endian(), ip4, l4);
	for (i = 0; i < 4; i++)
		n[1 + i] = loop_frame(fr[1 + i], v6[i], host_big_endian(), ip6, l6);
	n[5] = loop_frame(fr[5], 99, host_big_endian(), ip4, l4);	/* unknown family */
	/* Captured on a host of the other byte order: told apart as Wireshark does. */
	n[6] = loop_frame(fr[6], 2, !host_big_endian(), ip4, l4);
	n[7] = 3;						/* cut inside the family */
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 8; i++) {
		recs[i].data = fr[i];
		recs[i].caplen = (uint32_t)n[i];
	}
	write_pcap(path, "null.pcap", DLT_NULL, PCAP_TSTAMP_PRECISION_NANO, recs, 8);
	p = open_ok(path, "NULL");
	expect_built(p, 1, 0x0800, ip4, l4);
	for (i = 0; i < 4; i++)
		expect_built(p, 2 + i, 0x86dd, ip6, l6);
	expect_built(p, 7, 0x0800, ip4, l4);
	next_eof(p);
	expect_stats(p, 8, 0, 2, 0);
	gp_pcap_close(p);
}

/*
 * A DLT_NULL file written big-endian by hand (libpcap writes host order):
 * libpcap swaps the record headers, the reader the family.
 */
static void test_null_big_endian_file(void **state)
{
	uint8_t ip4[40], ip6[60], file[24 + 2 * (16 + 64)], *b = file;
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), n;
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	memset(file, 0, sizeof(file));
	put32(b, 0xa1b23c4d);	/* nanosecond pcap */
	put16(b + 4, 2);
	put16(b + 6, 4);
	put32(b + 16, 65535);
	put32(b + 20, 0);	/* LINKTYPE_NULL */
	b += 24;
	put32(b, (uint32_t)(TS0 / NS));
	put32(b + 4, (uint32_t)(TS0 % NS));
	n = loop_frame(b + 16, 30, 1, ip6, l6);
	put32(b + 8, (uint32_t)n);
	put32(b + 12, (uint32_t)n);
	b += 16 + n;
	put32(b, (uint32_t)(TS0 / NS));
	put32(b + 4, (uint32_t)(TS0 % NS + 1));
	n = loop_frame(b + 16, 2, 1, ip4, l4);
	put32(b + 8, (uint32_t)n);
	put32(b + 12, (uint32_t)n);
	b += 16 + n;
	write_bytes(path, "null-be.pcap", file, (size_t)(b - file));

	p = open_ok(path, "NULL");
	expect_built(p, 1, 0x86dd, ip6, l6);
	expect_built(p, 2, 0x0800, ip4, l4);
	next_eof(p);
	expect_stats(p, 2, 0, 0, 0);
	gp_pcap_close(p);
}

static void test_loop(void **state)
{
	static const uint32_t fam[] = { 2, 30, 24, 28, 10, 7 };
	uint8_t ip4[40], ip6[60], fr[7][64];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), n[7], i;
	struct rec recs[7];
	char path[PATH_MAX];
	struct gp_pcap *p;

	(void)state;
	memset(fr, 0, sizeof(fr));
	for (i = 0; i < 6; i++)
		n[i] = fam[i] == 2 ? loop_frame(fr[i], 2, 1, ip4, l4) :
		       loop_frame(fr[i], fam[i], 1, ip6, l6);
	/* Always network order: AF_INET in little-endian is family 0x02000000. */
	fr[6][0] = 2;
	fr[6][1] = fr[6][2] = fr[6][3] = 0;
	memcpy(fr[6] + 4, ip4, l4);
	n[6] = 4 + l4;
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 7; i++) {
		recs[i].data = fr[i];
		recs[i].caplen = (uint32_t)n[i];
	}
	write_pcap(path, "loop.pcap", DLT_LOOP, PCAP_TSTAMP_PRECISION_NANO, recs, 7);
	p = open_ok(path, "LOOP");
	expect_built(p, 1, 0x0800, ip4, l4);
	for (i = 1; i < 5; i++)
		expect_built(p, 1 + i, 0x86dd, ip6, l6);
	next_eof(p);
	expect_stats(p, 7, 0, 2, 0);
	gp_pcap_close(p);
}

/* ---- failures ------------------------------------------------------------- */

static void test_unsupported_linktype(void **state)
{
	static char sentinel;
	uint8_t frame[24] = { 0x80 };
	struct gp_pcap *p = (struct gp_pcap *)(void *)&sentinel;	/* must become NULL */
	char path[PATH_MAX], err[512], want[PATH_MAX + 128];
	const struct rec recs[] = { { frame, sizeof(frame), 0, 0 } };

	(void)state;
	write_pcap(path, "wifi.pcap", DLT_IEEE802_11, PCAP_TSTAMP_PRECISION_NANO, recs, 1);
	assert_int_equal(gp_pcap_open(&p, path, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_null(p);
	snprintf(want, sizeof(want), "%s: link type IEEE802_11 (105) " UNSUPPORTED_TAIL, path);
	assert_string_equal(err, want);
}

static void test_missing_file(void **state)
{
	char path[PATH_MAX], err[512], want[PATH_MAX + 64], small[8];
	struct gp_pcap *p = NULL;

	(void)state;
	tmp_path(path, sizeof(path), "missing.pcap");
	assert_int_equal(gp_pcap_open(&p, path, err, sizeof(err)), -ENOENT);
	assert_null(p);
	/* libpcap already names the file; the path is not repeated. */
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	/* A short buffer is cut, never overrun. */
	assert_int_equal(gp_pcap_open(&p, path, small, sizeof(small)), -ENOENT);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(gp_pcap_open(&p, path, NULL, 0), -ENOENT);
}

static void test_not_a_capture(void **state)
{
	static const char text[] = "198.18.0.1 sent a SYN\nto 198.18.0.2\n";
	char path[PATH_MAX], err[512], want[PATH_MAX + 64];
	struct gp_pcap *p = NULL;

	(void)state;
	write_bytes(path, "notes.txt", text, sizeof(text) - 1);
	assert_int_equal(gp_pcap_open(&p, path, err, sizeof(err)), -EINVAL);
	assert_null(p);
	snprintf(want, sizeof(want), "%s: unknown file format", path);
	assert_string_equal(err, want);
}

/*
 * A capture cut inside its last record. libpcap 1.10 reports it whether the
 * cut is in the record's header or in its data, as pcap_next_ex() == -1
 * ("truncated dump file; tried to read ..."): the reader returns -EIO, and
 * again on every later call. Only a cut between records is a clean end.
 */
static void test_truncated_file(void **state)
{
	uint8_t ip4[40], frame[64];
	size_t l = eth(frame, 0x0800, ip4, ip4_syn(ip4));
	const struct rec recs[] = { { frame, (uint32_t)l, 0, 0 }, { frame, (uint32_t)l, 0, 0 } };
	const off_t rec_len = 16 + (off_t)l;
	/* Cut off: half the record, all but 8 bytes of its header, all of it. */
	const off_t cuts[] = { rec_len / 2, rec_len - 8, rec_len };
	char path[PATH_MAX], err[512], want[PATH_MAX + 64];
	struct gp_pcap_frame f;
	struct gp_pcap *p;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		write_pcap(path, "cut.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, recs, 2);
		assert_int_equal(truncate(path, file_size(path) - cuts[i]), 0);
		p = open_ok(path, "EN10MB");
		expect_same(p, 1, frame, l);
		if (cuts[i] == rec_len) {
			next_eof(p);
		} else {
			snprintf(want, sizeof(want), "%s: truncated dump file; tried to read ", path);
			assert_int_equal(gp_pcap_next(p, &f, err, sizeof(err)), -EIO);
			print_message("cut %lld bytes: %s\n", (long long)cuts[i], err);
			assert_memory_equal(err, want, strlen(want));
			assert_null(strchr(err, '\n'));
			err[0] = '\0';
			assert_int_equal(gp_pcap_next(p, &f, err, sizeof(err)), -EIO);
			assert_memory_equal(err, want, strlen(want));
		}
		expect_stats(p, 1, 0, 0, 0);
		gp_pcap_close(p);
	}
}

/* caplen < len: returned, counted, the wire length adjusted like the data. */
static void test_snapped_frames(void **state)
{
	uint8_t ip4[40], frame[64], cooked[64];
	size_t l4 = ip4_syn(ip4), le = eth(frame, 0x0800, ip4, l4), ls = sll(cooked, 0x0800, ip4, l4);
	char path[PATH_MAX];
	struct gp_pcap_frame f;
	struct gp_pcap *p;

	(void)state;
	const struct rec eth_recs[] = {
		{ frame, (uint32_t)le, 1514, 0 },
		{ frame, (uint32_t)le, 0, 0 },
	};
	write_pcap(path, "snap-eth.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, eth_recs, 2);
	p = open_ok(path, "EN10MB");
	next_ok(p, &f, 1);
	assert_int_equal(f.len, le);
	assert_int_equal(f.wire_len, 1514);
	assert_memory_equal(f.data, frame, le);
	expect_same(p, 2, frame, le);
	next_eof(p);
	expect_stats(p, 2, 1, 0, 0);
	gp_pcap_close(p);

	const struct rec sll_recs[] = { { cooked, (uint32_t)ls, 1516, 0 } };
	write_pcap(path, "snap-sll.pcap", DLT_LINUX_SLL, PCAP_TSTAMP_PRECISION_NANO, sll_recs, 1);
	p = open_ok(path, "LINUX_SLL");
	next_ok(p, &f, 1);
	assert_int_equal(f.len, 14 + l4);
	assert_int_equal(f.wire_len, 1514);
	assert_memory_equal(f.data + 14, ip4, l4);
	expect_stats(p, 1, 1, 0, 0);
	gp_pcap_close(p);

	const struct rec raw_recs[] = { { ip4, (uint32_t)l4, 1500, 0 } };
	write_pcap(path, "snap-raw.pcap", DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, raw_recs, 1);
	p = open_ok(path, "RAW");
	next_ok(p, &f, 1);
	assert_int_equal(f.len, 14 + l4);
	assert_int_equal(f.wire_len, 1514);
	expect_stats(p, 1, 1, 0, 0);
	gp_pcap_close(p);
}

/* The bound is on the frame after normalization, 14 bytes of Ethernet included. */
static void test_too_long(void **state)
{
	const uint32_t max = GP_PCAP_FRAME_MAX;
	uint8_t *big = calloc(1, max + 1);
	char path[PATH_MAX];
	struct gp_pcap_frame f;
	struct gp_pcap *p;

	(void)state;
	assert_non_null(big);
	eth(big, 0x0800, NULL, 0);
	ip4_syn(big + 14);
	const struct rec eth_recs[] = {
		{ big, max + 1, 0, 0 },
		{ big, max, 0, 0 },
	};
	write_pcap(path, "long-eth.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, eth_recs, 2);
	p = open_ok(path, "EN10MB");
	expect_same(p, 2, big, max);
	next_eof(p);
	expect_stats(p, 2, 0, 0, 1);
	gp_pcap_close(p);

	const struct rec raw_recs[] = {
		{ big + 14, max - 14, 0, 0 },
		{ big + 14, max - 13, 0, 0 },
		{ big + 14, 40, 0, 0 },
	};
	write_pcap(path, "long-raw.pcap", DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, raw_recs, 3);
	p = open_ok(path, "RAW");
	next_ok(p, &f, 1);
	assert_int_equal(f.len, max);
	assert_memory_equal(f.data + 14, big + 14, max - 14);
	next_ok(p, &f, 3);
	assert_int_equal(f.len, 54);
	next_eof(p);
	expect_stats(p, 3, 0, 0, 1);
	gp_pcap_close(p);
	free(big);
}

/* ---- timestamps and pcapng ------------------------------------------------ */

static void test_timestamps(void **state)
{
	/* From 2^31 s (2038) on, libpcap hands out negative seconds: read unsigned. */
	static const uint64_t ts[] = {
		1, NS - 1, TS0, 2147483647ull * NS + 999999999ull, 2147483648ull * NS,
		4294967295ull * NS + 999999999ull,	/* the last pcap second */
	};
	uint8_t ip4[40], frame[64];
	size_t l = eth(frame, 0x0800, ip4, ip4_syn(ip4)), i, n = sizeof(ts) / sizeof(ts[0]);
	struct rec recs[sizeof(ts) / sizeof(ts[0])];
	char path[PATH_MAX];
	struct gp_pcap_frame f;
	struct gp_pcap *p;

	(void)state;
	for (i = 0; i < n; i++)
		recs[i] = (struct rec){ frame, (uint32_t)l, 0, ts[i] };
	write_pcap(path, "ts-nano.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, recs, n);
	p = open_ok(path, "EN10MB");
	for (i = 0; i < n; i++) {
		next_ok(p, &f, i + 1);
		assert_int_equal(f.ts_ns, ts[i]);
	}
	next_eof(p);
	gp_pcap_close(p);

	/* A microsecond file: libpcap scales to the nanoseconds asked for. */
	write_pcap(path, "ts-micro.pcap", DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, n);
	p = open_ok(path, "EN10MB");
	for (i = 0; i < n; i++) {
		next_ok(p, &f, i + 1);
		assert_int_equal(f.ts_ns, ts[i] / 1000 * 1000);
	}
	next_eof(p);
	gp_pcap_close(p);
}

struct buf {
	uint8_t b[1024];
	size_t n;
};

static void le32(struct buf *b, uint32_t v)
{
	assert_true(b->n + 4 <= sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
	b->b[b->n++] = (uint8_t)(v >> 8);
	b->b[b->n++] = (uint8_t)(v >> 16);
	b->b[b->n++] = (uint8_t)(v >> 24);
}

/* pcapng blocks, little-endian. */
static void ng_shb(struct buf *b)
{
	le32(b, 0x0a0d0d0a);
	le32(b, 28);
	le32(b, 0x1a2b3c4d);
	le32(b, 1);		/* version 1.0 */
	le32(b, 0xffffffff);	/* section length unknown */
	le32(b, 0xffffffff);
	le32(b, 28);
}

/* An interface with nanosecond timestamps (if_tsresol 9). */
static void ng_idb(struct buf *b, uint16_t linktype)
{
	le32(b, 1);
	le32(b, 32);
	le32(b, linktype);	/* and 16 reserved bits */
	le32(b, 0);		/* no snaplen */
	le32(b, 9 | 1 << 16);	/* if_tsresol, 1 byte: */
	le32(b, 9);		/* 10^-9, padded */
	le32(b, 0);		/* opt_endofopt */
	le32(b, 32);
}

static void ng_epb(struct buf *b, uint32_t ifid, uint64_t ts, const uint8_t *d, uint32_t len)
{
	uint32_t pad = (4 - len % 4) % 4, total = 32 + len + pad;

	le32(b, 6);
	le32(b, total);
	le32(b, ifid);
	le32(b, (uint32_t)(ts >> 32));
	le32(b, (uint32_t)ts);
	le32(b, len);
	le32(b, len);
	assert_true(b->n + len + pad + 4 <= sizeof(b->b));
	memcpy(b->b + b->n, d, len);
	memset(b->b + b->n + len, 0, pad);
	b->n += len + pad;
	le32(b, total);
}

/*
 * pcapng: one Ethernet interface reads like a pcap file; a second interface
 * of another link type is refused by libpcap when its block is reached, and
 * the reader passes libpcap's words on.
 */
static void test_pcapng(void **state)
{
	uint8_t ip4[40], ip6[60], frame[64];
	size_t l4 = ip4_syn(ip4), l6 = ip6_syn(ip6), l = eth(frame, 0x0800, ip4, l4);
	char path[PATH_MAX], err[512];
	struct buf b = { .n = 0 };
	struct gp_pcap_frame f;
	struct gp_pcap *p;

	(void)state;
	ng_shb(&b);
	ng_idb(&b, 1);
	ng_epb(&b, 0, TS0, frame, (uint32_t)l);
	ng_epb(&b, 0, TS0 + 1, frame, 13);	/* a runt, skipped */
	ng_epb(&b, 0, TS0 + 2, frame, (uint32_t)l);
	write_bytes(path, "one.pcapng", b.b, b.n);
	p = open_ok(path, "EN10MB");
	expect_same(p, 1, frame, l);
	expect_same(p, 3, frame, l);
	next_eof(p);
	expect_stats(p, 3, 0, 1, 0);
	gp_pcap_close(p);

	ng_idb(&b, 101);			/* LINKTYPE_RAW */
	ng_epb(&b, 1, TS0 + 3, ip6, (uint32_t)l6);
	write_bytes(path, "mixed.pcapng", b.b, b.n);
	p = open_ok(path, "EN10MB");
	expect_same(p, 1, frame, l);
	expect_same(p, 3, frame, l);
	assert_int_equal(gp_pcap_next(p, &f, err, sizeof(err)), -EIO);
	print_message("mixed link types: %s\n", err);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_string_equal(err + strlen(path),
			    ": an interface has a type 101 different from the type of the first interface");
	gp_pcap_close(p);
}

static void test_close_null(void **state)
{
	(void)state;
	gp_pcap_close(NULL);
}

/* ---- the corpus against tshark -------------------------------------------- */

static int have_tshark(void)
{
	return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* path in single quotes for sh -c. */
static void sh_quote(char *out, size_t len, const char *s)
{
	size_t n = 0;

	out[n++] = '\'';
	for (; *s; s++) {
		assert_true(n + 5 < len);
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\'';
	out[n] = '\0';
}

/* "1703606032.925092000" -> ns; -1 if not in that form. */
static int parse_epoch(const char *s, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	int digits = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9')
		sec = sec * 10 + (uint64_t)(*s++ - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 9)
				frac = frac * 10 + (uint64_t)(*s - '0');
	if (*s)
		return -1;
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = sec * NS + frac;
	return 0;
}

struct seen {
	uint64_t index, ts_ns;
	size_t len, wire_len;
};

/* Returns the mismatches of one capture, printed. */
static size_t check_file(const char *path, uint64_t *total)
{
	const char *base = strrchr(path, '/') + 1;
	char cmd[3 * PATH_MAX], q[2 * PATH_MAX + 3], err[512], *line = NULL;
	size_t bad = 0, n = 0, cap = 0, lines = 0, i = 0, linecap = 0;
	uint64_t ip4 = 0, ip6 = 0, vlan = 0, qinq = 0, arp = 0, other = 0, ts_unparsed = 0;
	struct gp_pcap_frame f;
	struct gp_pcap_stats st;
	struct seen *s = NULL;
	struct gp_pcap *p;
	ssize_t got;
	FILE *t;
	int r;

	r = gp_pcap_open(&p, path, err, sizeof(err));
	if (r) {
		print_message("%s\n", err);
		return 1;
	}
	while ((r = gp_pcap_next(p, &f, err, sizeof(err))) == 1) {
		uint16_t type = get16(f.data + 12);

		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			s = realloc(s, cap * sizeof(*s));
			assert_non_null(s);
		}
		s[n++] = (struct seen){ f.index, f.ts_ns, f.len, f.wire_len };
		if (type == 0x0800)
			ip4++;
		else if (type == 0x86dd)
			ip6++;
		else if (type == 0x8100)
			vlan++;
		else if (type == 0x88a8)
			qinq++;
		else if (type == 0x0806)
			arp++;
		else
			other++;
	}
	if (r < 0) {
		print_message("%s\n", err);
		bad++;
	}
	gp_pcap_stats(p, &st);
	print_message("%s: %s, %llu frames (ipv4 %llu, ipv6 %llu, 802.1q %llu, 802.1ad %llu, "
		      "arp %llu, other %llu; snapped %llu, unsupported %llu, too long %llu)\n",
		      base, gp_pcap_linktype(p), (unsigned long long)st.frames,
		      (unsigned long long)ip4, (unsigned long long)ip6,
		      (unsigned long long)vlan, (unsigned long long)qinq,
		      (unsigned long long)arp, (unsigned long long)other,
		      (unsigned long long)st.truncated, (unsigned long long)st.unsupported,
		      (unsigned long long)st.too_long);

	sh_quote(q, sizeof(q), path);
	snprintf(cmd, sizeof(cmd), "tshark -n -r %s -T fields -e frame.number "
		 "-e frame.time_epoch -e frame.len -e frame.cap_len 2>/dev/null", q);
	t = popen(cmd, "r");
	assert_non_null(t);
	while ((got = getline(&line, &linecap, t)) > 0) {
		unsigned long long num, len, caplen;
		char epoch[64];
		uint64_t ts;

		lines++;
		if (sscanf(line, "%llu\t%63s\t%llu\t%llu", &num, epoch, &len, &caplen) != 4 ||
		    num != lines) {
			print_message("%s: tshark line %zu unparsable: %s", base, lines, line);
			bad++;
			continue;
		}
		while (i < n && s[i].index < num)
			i++;
		if (i == n || s[i].index != num)
			continue;	/* skipped here */
		if (parse_epoch(epoch, &ts))
			ts_unparsed++;
		else if (ts != s[i].ts_ns) {
			print_message("%s: frame %llu: ts %llu here, %s to tshark\n", base, num,
				      (unsigned long long)s[i].ts_ns, epoch);
			bad++;
		}
		/* Lengths are comparable as long as nothing was rebuilt. */
		if (!strcmp(gp_pcap_linktype(p), "EN10MB") &&
		    (s[i].len != caplen || s[i].wire_len != len)) {
			print_message("%s: frame %llu: %zu/%zu bytes here, %llu/%llu to tshark\n",
				      base, num, s[i].len, s[i].wire_len, caplen, len);
			bad++;
		}
	}
	free(line);
	assert_int_equal(pclose(t), 0);
	if (ts_unparsed)
		print_message("%s: note: %llu tshark timestamps not in seconds.nanoseconds form, "
			      "not compared\n", base, (unsigned long long)ts_unparsed);
	if (lines != st.frames) {
		print_message("%s: %llu frames here, %zu to tshark\n", base,
			      (unsigned long long)st.frames, lines);
		bad++;
	}
	*total += st.frames;
	free(s);
	gp_pcap_close(p);
	return bad;
}

static void test_corpus_vs_tshark(void **state)
{
	uint64_t total = 0;
	size_t i, bad = 0;
	struct stat st;
	glob_t g;

	(void)state;
	if (stat(CORPUS_DIR, &st) || !S_ISDIR(st.st_mode)) {
		print_message("skipped: no corpus at %s\n", CORPUS_DIR);
		skip();
	}
	if (!have_tshark()) {
		print_message("skipped: tshark not installed (Debian package tshark)\n");
		skip();
	}
	assert_int_equal(glob(CORPUS_DIR "/*.pcap", 0, NULL, &g), 0);
	assert_true(g.gl_pathc > 0);
	for (i = 0; i < g.gl_pathc; i++)
		bad += check_file(g.gl_pathv[i], &total);
	print_message("%zu captures, %llu frames, %zu mismatches\n", g.gl_pathc,
		      (unsigned long long)total, bad);
	globfree(&g);
	assert_true(total > 0);
	assert_int_equal(bad, 0);
}

/* ---- the temporary directory ---------------------------------------------- */

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/gp-pcapin-XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	(void)state;
	d = opendir(tmpdir);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name) < sizeof(path))
			unlink(path);
	closedir(d);
	return rmdir(tmpdir) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest test_pcapin[] = {
		cmocka_unit_test(test_en10mb),
		cmocka_unit_test(test_linux_sll),
		cmocka_unit_test(test_linux_sll2),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_ipv4_ipv6),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_null_big_endian_file),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_unsupported_linktype),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_capture),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_snapped_frames),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_close_null),
		cmocka_unit_test(test_corpus_vs_tshark),
	};

	return cmocka_run_group_tests(test_pcapin, group_setup, group_teardown);
}
