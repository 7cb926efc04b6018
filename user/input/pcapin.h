/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PCAPIN_H
#define GP_PCAPIN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a pcap or pcapng file (libpcap) for `grayprobe replay` and yields
 * every frame as Ethernet II, which is what the TC program run through
 * BPF_PROG_TEST_RUN expects:
 *
 *   EN10MB              as is, VLAN tags left in place; a frame with fewer
 *                       than 14 captured bytes is skipped (unsupported)
 *   LINUX_SLL / SLL2    the cooked header becomes an Ethernet header, the
 *                       cooked protocol its ethertype, whatever it is
 *   RAW / IPV4 / IPV6   Ethernet prepended, ethertype from the IP version
 *                       nibble (4 or 6; for IPV4/IPV6 it must match)
 *   NULL / LOOP         Ethernet replaces the 4-byte address family (host
 *                       order for NULL, network order for LOOP): AF_INET is
 *                       IPv4; 10, 24, 28 and 30 are the AF_INET6 values
 *
 * Built headers carry all-zero MACs (the loopback device's address, which is
 * where BPF_PROG_TEST_RUN runs the program, so the kernel sees PACKET_HOST).
 * Frames that cannot be converted are skipped and counted as unsupported.
 * Any other link type is refused by gp_pcap_open. A pcapng file whose
 * interfaces have different link types fails at the first packet of the
 * second one (libpcap allows one link type per file).
 */

struct gp_pcap;

/*
 * Largest frame returned, after normalization: any IP packet (65535) plus 64
 * bytes of link header. Longer frames, i.e. GSO super-packets captured on a
 * BIG TCP host, are counted as too_long and skipped.
 */
#define GP_PCAP_FRAME_MAX	(65535 + 64)

struct gp_pcap_frame {
	const uint8_t *data;	/* Ethernet II frame, valid until the next call */
	size_t len;		/* captured bytes after normalization, >= 14 */
	size_t wire_len;	/* length on the wire, adjusted like len (>= len) */
	uint64_t ts_ns;		/* capture timestamp, ns since the epoch */
	uint64_t index;		/* 1-based frame number in the file, as tshark's frame.number */
};

struct gp_pcap_stats {
	uint64_t frames;	/* records read, skipped ones included (= last index) */
	uint64_t truncated;	/* returned frames with len < wire_len */
	uint64_t unsupported;	/* skipped: header missing or not understood */
	uint64_t too_long;	/* skipped: longer than GP_PCAP_FRAME_MAX */
};

/*
 * 0, or a negative errno with err filled with one line "PATH: reason":
 * -ENOENT and the like when the file cannot be opened, -EINVAL when libpcap
 * does not take it, -EPROTONOSUPPORT for a link type not listed above,
 * -ENOMEM.
 */
int gp_pcap_open(struct gp_pcap **out, const char *path, char *err, size_t errlen);
/*
 * 1: *f filled; 0: end of file; -EIO on a read error (a truncated or corrupt
 * file), err filled with "PATH: reason"; the error sticks to later calls.
 * Skipped frames are not returned but counted.
 */
int gp_pcap_next(struct gp_pcap *p, struct gp_pcap_frame *f, char *err, size_t errlen);
const char *gp_pcap_linktype(const struct gp_pcap *p);	/* libpcap's name: "EN10MB" */
void gp_pcap_stats(const struct gp_pcap *p, struct gp_pcap_stats *out);
void gp_pcap_close(struct gp_pcap *p);	/* NULL-safe */

#endif
