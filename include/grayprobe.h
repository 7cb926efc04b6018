/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel/user ABI of grayprobe: the records that cross the ring buffer,
 * the stats array layout and the limits both sides must agree on.
 * Compiled by the BPF objects (after vmlinux.h) and by the user side.
 * Fixed-width types only, no bool, no padding holes: the asserts at the end
 * fail the build on either side if the layout drifts.
 */
#ifndef GRAYPROBE_H
#define GRAYPROBE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GP_COMM_LEN		16
/* Longest alpn or gray label value, in bytes, after sanitizing. */
#define GP_TAG_MAX		32
/*
 * Bytes of a flow's first client payload kept for ALPN/gray classification.
 * A post-quantum Chromium ClientHello (X25519MLKEM768 key share) is ~2 KB,
 * may span several TCP segments and TLS records; 8 KiB holds it with room.
 */
#define GP_FIRST_PAYLOAD_MAX	8192
/* Longest TLS server_name kept, in bytes, after sanitizing (a DNS name is <= 253). */
#define GP_SNI_MAX		255
/* Outstanding connects tracked at once; past it, a start is counted lost. */
#define GP_TRACK_MAX		65536
/* Ring buffer size, in KiB; must be a power of two and a multiple of the page. */
#define GP_RINGBUF_KB_DEFAULT	1024
#define GP_RINGBUF_KB_MIN	4
#define GP_RINGBUF_KB_MAX	(1024 * 1024)

enum gp_event_type {
	GP_EV_CONN = 1,		/* struct gp_conn_event */
};

enum gp_direction {
	GP_DIR_OUTBOUND = 0,
	GP_DIR_INBOUND = 1,
	GP_DIR_MAX,
};

/* Indexes of the per-CPU stats array (map gp_stats). */
enum gp_stat {
	GP_STAT_LOST_RINGBUF = 0,	/* ring buffer reserve failed */
	GP_STAT_LOST_TRACK = 1,		/* connect start table full */
	GP_STAT_MAX,
};

/*
 * One finished connection attempt. saddr/sport is always the side that sent
 * the SYN, daddr/dport the side that accepted, so a flow reads the same from
 * either end. Addresses are in network order; IPv4 uses the first 4 bytes.
 */
struct gp_conn_event {
	__u32 type;		/* GP_EV_CONN */
	__u32 pid;		/* tgid that called connect() */
	__u64 ts_ns;		/* CLOCK_MONOTONIC of the outcome */
	__u64 latency_ns;	/* connect start to outcome */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;		/* inode of the socket's network namespace */
	__s32 sk_err;		/* sk->sk_err at the outcome, 0 if none */
	__u16 sport;		/* host order */
	__u16 dport;		/* host order */
	__u16 family;		/* AF_INET or AF_INET6, as the socket has it */
	__u8 direction;		/* enum gp_direction */
	__u8 new_state;		/* TCP_ESTABLISHED or TCP_CLOSE */
	char comm[GP_COMM_LEN];	/* taken in process context at connect */
};

#define GP_ASSERT_OFF(t, f, o) _Static_assert(__builtin_offsetof(t, f) == (o), #t "." #f " moved")
_Static_assert(sizeof(struct gp_conn_event) == 88, "gp_conn_event size changed");
GP_ASSERT_OFF(struct gp_conn_event, type, 0);
GP_ASSERT_OFF(struct gp_conn_event, pid, 4);
GP_ASSERT_OFF(struct gp_conn_event, ts_ns, 8);
GP_ASSERT_OFF(struct gp_conn_event, latency_ns, 16);
GP_ASSERT_OFF(struct gp_conn_event, saddr, 24);
GP_ASSERT_OFF(struct gp_conn_event, daddr, 40);
GP_ASSERT_OFF(struct gp_conn_event, netns, 56);
GP_ASSERT_OFF(struct gp_conn_event, sk_err, 60);
GP_ASSERT_OFF(struct gp_conn_event, sport, 64);
GP_ASSERT_OFF(struct gp_conn_event, dport, 66);
GP_ASSERT_OFF(struct gp_conn_event, family, 68);
GP_ASSERT_OFF(struct gp_conn_event, direction, 70);
GP_ASSERT_OFF(struct gp_conn_event, new_state, 71);
GP_ASSERT_OFF(struct gp_conn_event, comm, 72);

#endif /* GRAYPROBE_H */
