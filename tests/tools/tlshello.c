// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test peer: one TLS 1.3 ClientHello whose shape the test chooses, so the
 * classifier's reassembly is exercised on a known layout:
 *
 *   tlshello [-s SNI] [-a ALPN[,ALPN...]] [-p PAD] [-r RECORDS] [-m MSS] ADDR PORT
 *
 * The extensions come in this order: padding (type 21, PAD zero bytes, 1800
 * by default), supported_versions, supported_groups, signature_algorithms,
 * key_share (x25519), then server_name and ALPN last, so that with a hello
 * larger than the MSS the names sit in a later TCP segment than the record
 * header. -r splits the handshake message over RECORDS TLS records of
 * nearly equal size (type 22, version 0x0301), the names in the last one.
 * -m sets TCP_MAXSEG before connecting. The whole hello goes out in one
 * write(); then the first byte the server answers is read (3 s at most) and
 * the connection closed. Prints one line:
 *   hello=N records=K sent=N alpn_at=N sni_at=N server=handshake|alert|eof|none
 * hello: handshake message bytes (4-byte header included); sent: bytes written
 * (record headers included); alpn_at/sni_at: stream offset of the ALPN /
 * server_name extension's type field.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sockaddr.h"

#define PAD_MAX		12000
#define HS_MAX		(PAD_MAX + 2048)
#define RECORD_MAX	16384	/* TLS plaintext fragment limit */

static uint8_t hs[HS_MAX];
static size_t hs_len;

static void put8(unsigned v) { hs[hs_len++] = v & 0xff; }
static void put16(unsigned v) { put8(v >> 8); put8(v); }
static void put24(unsigned v) { put8(v >> 16); put16(v & 0xffff); }
static void putn(const void *p, size_t n) { memcpy(hs + hs_len, p, n); hs_len += n; }
static void set16(size_t at, unsigned v) { hs[at] = (v >> 8) & 0xff; hs[at + 1] = v & 0xff; }

static void rnd(void *p, size_t n)
{
	if (getrandom(p, n, 0) != (ssize_t)n)
		memset(p, 0x5a, n);
}

/* Builds the handshake message; returns the offsets of the two name extensions. */
static int build(const char *sni, const char *alpn, size_t pad, size_t *alpn_at, size_t *sni_at)
{
	static const uint16_t suites[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030 };
	uint8_t buf[32];
	size_t ext_len_at, at, i;

	put8(1);		/* client_hello */
	put24(0);		/* length, set below */
	put16(0x0303);		/* legacy_version */
	rnd(buf, 32);
	putn(buf, 32);		/* random */
	rnd(buf, 32);
	put8(32);
	putn(buf, 32);		/* legacy_session_id */
	put16(sizeof(suites));
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put16(suites[i]);
	put8(1);
	put8(0);		/* null compression */
	ext_len_at = hs_len;
	put16(0);

	put16(21);		/* padding first: the large one */
	put16(pad);
	memset(hs + hs_len, 0, pad);
	hs_len += pad;

	put16(43);		/* supported_versions: TLS 1.3, 1.2 */
	put16(5);
	put8(4);
	put16(0x0304);
	put16(0x0303);

	put16(10);		/* supported_groups: x25519, secp256r1 */
	put16(6);
	put16(4);
	put16(0x001d);
	put16(0x0017);

	put16(13);		/* signature_algorithms */
	put16(8);
	put16(6);
	put16(0x0403);		/* ecdsa_secp256r1_sha256 */
	put16(0x0804);		/* rsa_pss_rsae_sha256 */
	put16(0x0401);		/* rsa_pkcs1_sha256 */

	put16(45);		/* psk_key_exchange_modes: psk_dhe_ke */
	put16(2);
	put8(1);
	put8(1);

	put16(51);		/* key_share: x25519 */
	put16(38);
	put16(36);
	put16(0x001d);
	put16(32);
	rnd(buf, 32);
	putn(buf, 32);

	if (*sni) {
		size_t n = strlen(sni);

		if (n > 255)
			return -1;
		*sni_at = hs_len;
		put16(0);	/* server_name */
		put16(n + 5);
		put16(n + 3);
		put8(0);	/* host_name */
		put16(n);
		putn(sni, n);
	}
	if (*alpn) {
		const char *p = alpn;

		*alpn_at = hs_len;
		put16(16);	/* application_layer_protocol_negotiation */
		at = hs_len;
		put16(0);
		put16(0);
		while (*p) {
			size_t n = strcspn(p, ",");

			if (n == 0 || n > 255)
				return -1;
			put8(n);
			putn(p, n);
			p += n + (p[n] == ',');
		}
		set16(at, hs_len - at - 2);
		set16(at + 2, hs_len - at - 4);
	}
	set16(ext_len_at, hs_len - ext_len_at - 2);
	hs[1] = (hs_len - 4) >> 16;
	set16(2, (hs_len - 4) & 0xffff);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: tlshello [-s SNI] [-a ALPN[,ALPN...]] [-p PAD] [-r RECORDS] "
			"[-m MSS] ADDR PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	static uint8_t wire[HS_MAX + 5 * 64];
	const char *sni = "", *alpn = "";
	long pad = 1800, records = 1, mss = 0;
	size_t alpn_at = 0, sni_at = 0, alpn_w = 0, sni_w = 0, w = 0, off = 0, k;
	struct sockaddr_storage ss;
	struct timeval tv = { .tv_sec = 3 };
	const char *answer = "none";
	socklen_t len;
	uint8_t c;
	ssize_t n;
	char *end;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:a:p:r:m:")) != -1) {
		switch (opt) {
		case 's': sni = optarg; break;
		case 'a': alpn = optarg; break;
		case 'p':
			pad = strtol(optarg, &end, 10);
			if (*end || pad < 0 || pad > PAD_MAX)
				return usage();
			break;
		case 'r':
			records = strtol(optarg, &end, 10);
			if (*end || records < 1 || records > 64)
				return usage();
			break;
		case 'm':
			mss = strtol(optarg, &end, 10);
			if (*end || mss < 64 || mss > 65535)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 || parse_addr(argv[optind], argv[optind + 1], &ss, &len) ||
	    strlen(alpn) > 1024)
		return usage();
	if (build(sni, alpn, pad, &alpn_at, &sni_at)) {
		fprintf(stderr, "tlshello: a name is empty or longer than 255 bytes\n");
		return 2;
	}
	if ((size_t)records > hs_len || (hs_len + records - 1) / records > RECORD_MAX) {
		fprintf(stderr, "tlshello: cannot cut %zu bytes into %ld records\n", hs_len, records);
		return 2;
	}

	/* The message cut into records of nearly equal size; offsets follow the cut. */
	for (k = 0; k < (size_t)records; k++) {
		size_t part = hs_len / records + (k < hs_len % records);

		if (*alpn && alpn_at >= off && alpn_at < off + part)
			alpn_w = alpn_at - off + w + 5;
		if (*sni && sni_at >= off && sni_at < off + part)
			sni_w = sni_at - off + w + 5;
		wire[w++] = 22;
		wire[w++] = 3;
		wire[w++] = 1;
		wire[w++] = part >> 8;
		wire[w++] = part & 0xff;
		memcpy(wire + w, hs + off, part);
		w += part;
		off += part;
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perror("tlshello: socket"), 1;
	if (mss && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &(int){ mss }, sizeof(int)))
		return perror("tlshello: TCP_MAXSEG"), 1;
	if (connect(fd, (struct sockaddr *)&ss, len))
		return perror("tlshello: connect"), 1;
	n = write(fd, wire, w);
	if (n != (ssize_t)w) {
		fprintf(stderr, "tlshello: write: %s\n", n < 0 ? strerror(errno) : "short write");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = read(fd, &c, 1);
	if (n == 1)
		answer = c == 22 ? "handshake" : c == 21 ? "alert" : "other";
	else if (n == 0 || errno == ECONNRESET)
		answer = "eof";
	close(fd);
	printf("hello=%zu records=%ld sent=%zu alpn_at=%zu sni_at=%zu server=%s\n", hs_len, records,
	       w, alpn_w, sni_w, answer);
	return 0;
}
