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
/* TCP flows tracked at TC at once (LRU: the oldest is forgotten first). */
#define GP_FLOW_MAX		65536
/*
 * Payload records a flow may send to user space. A ClientHello or request
 * head needs a few; cutting it off stops a sender of tiny segments from
 * turning one flow into thousands of records.
 */
#define GP_CAPTURE_SEGS_MAX	16
/*
 * Client bytes captured past the end of the first TLS record's ClientHello
 * length: room for the headers of further records when the hello is
 * fragmented across records.
 */
#define GP_TLS_RECORD_SLACK	256
/*
 * TLS record headers the classifier walks per client segment, from the
 * ClientHello on, so that the capture reaches the first application-data
 * record's header (the handshake's end) past a long flight: a second
 * ClientHello, client certificates, an RSA key exchange.
 */
#define GP_TLS_WALK_MAX		8
/* Ring buffer size, in KiB; must be a power of two and a multiple of the page. */
#define GP_RINGBUF_KB_DEFAULT	1024
#define GP_RINGBUF_KB_MIN	4
#define GP_RINGBUF_KB_MAX	(1024 * 1024)

enum gp_event_type {
	GP_EV_CONN = 1,		/* struct gp_conn_event */
	GP_EV_PAYLOAD = 2,	/* struct gp_payload_event + len bytes */
	GP_EV_FLOW_END = 3,	/* struct gp_payload_event, len 0: FIN or RST seen */
	GP_EV_L7 = 4,		/* struct gp_l7_event + len bytes */
	GP_EV_TLS = 5,		/* struct gp_tls_event + len bytes */
};

/* gp_conn_event.flags */
#define GP_CONN_F_FLOW	0x1	/* TC saw this flow's SYN: payload records may follow */

enum gp_direction {
	GP_DIR_OUTBOUND = 0,
	GP_DIR_INBOUND = 1,
	GP_DIR_MAX,
};

/* Indexes of the per-CPU stats array (map gp_stats). */
enum gp_stat {
	GP_STAT_LOST_RINGBUF = 0,	/* ring buffer reserve failed */
	GP_STAT_LOST_TRACK = 1,		/* connect start table full */
	GP_STAT_LOST_PAYLOAD = 2,	/* payload record did not fit the ring buffer */
	GP_STAT_PKT_MALFORMED = 3,	/* TC: headers cut short or inconsistent */
	GP_STAT_L7_LOST = 4,		/* an HTTP record did not fit the ring buffer */
	GP_STAT_TLS_LOST = 5,		/* a TLS plaintext record did not fit the ring buffer */
	GP_STAT_TLS_CALLS = 6,		/* TLS library read/write calls that returned data */
	GP_STAT_TLS_NO_FLOW = 7,	/* of those, calls of sessions not joined to a TC flow: not sent */
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
	__s32 sk_err;		/* the attempt's errno, 0 if none: sk_err, else (at
				 * CLOSE) sk_err_soft or a queued ICMP error */
	__u16 sport;		/* host order */
	__u16 dport;		/* host order */
	__u16 family;		/* AF_INET or AF_INET6, as the socket has it */
	__u8 direction;		/* enum gp_direction */
	__u8 new_state;		/* TCP_ESTABLISHED or TCP_CLOSE */
	char comm[GP_COMM_LEN];	/* taken in process context at connect; "" inbound */
	__u32 flags;		/* GP_CONN_F_* */
	__u32 flow_isn;		/* with GP_CONN_F_FLOW: the client ISN TC saw, which
				 * tells a reused 4-tuple's connections apart */
};

/*
 * A flow as TC sees it: client (the SYN's sender) -> server. Same address
 * and port conventions as gp_conn_event, so the two join on these fields.
 */
struct gp_flow_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 _pad;
};

/*
 * Client bytes [off, off + len) of a flow's stream, offset 0 being the first
 * byte after the SYN. Segments may arrive out of order, overlap or repeat;
 * user space reassembles. GP_EV_FLOW_END has len 0.
 */
struct gp_payload_event {
	__u32 type;		/* GP_EV_PAYLOAD or GP_EV_FLOW_END */
	__u32 ifindex;		/* interface the packet was seen on */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	struct gp_flow_tuple flow;
	__u32 off;
	__u32 len;
	__u64 bytes;		/* the flow's payload bytes so far, both ways */
	__u32 isn;		/* client ISN: a new one means a new connection on the 4-tuple */
	__u32 _pad;
	/* len bytes of data follow */
};

/*
 * The TC flow table (map gp_flows), which user space reads for per-flow
 * byte counts. The key orders the two endpoints (lower address, then lower
 * port, first, comparing the address as two native-endian u64) so both
 * directions of a flow find one entry.
 */
struct gp_flow_key {
	__u8 addr[2][16];
	__u16 port[2];		/* host order */
	__u16 family;
	__u16 _pad;
};

/*
 * HTTP/1 head scanner state, kept across segments: where in a line the
 * scanner is and what framing it has learned so far.
 */
struct gp_l7_h1 {
	__u32 num;		/* Content-Length, or the chunk size being read */
	__u8 ls;		/* line state */
	__u8 k;			/* bytes of a header name (or "chunked") matched */
	__u8 sf;		/* what was learned: GP-internal flags */
	__u8 col;		/* bytes of the first line seen, up to sizeof(first) */
	__u8 first[12];		/* the first line's start: method, or "HTTP/1.1 200" */
};

/* One direction of a flow as the TC program follows it; offsets are stream offsets. */
struct gp_l7_dir {
	__u32 isn;		/* this direction's initial sequence number */
	__u32 pos;		/* bytes below this were walked */
	__u32 next;		/* H2: next frame header; H1: end of the body part skipped */
	__u32 fwd_end;		/* H2: end of what is forwarded of the current frame */
	__u32 unit;		/* start of the unit being forwarded */
	__u8 mode;		/* what the direction is doing (bpf/l7.bpf.h) */
	__u8 sub;		/* H1: where in a message; H2: a record pending */
	__u8 hlen;		/* H2: bytes of a split frame header held in hdr */
	__u8 uflags;		/* GP_L7_F_TRUNC when the current unit is cut */
	__u8 hdr[9];		/* H2: the current frame header */
	__u8 reason;		/* LOST owed: enum gp_l7_lost (H1/H2: RINGBUF, walking on) */
	__u8 _pad[2];
	struct gp_l7_h1 h1;
};

struct gp_flow_val {
	__u64 syn_ts;		/* CLOCK_MONOTONIC of the first SYN, 0 if adopted */
	__u64 bytes;		/* TCP payload bytes, both directions */
	__u32 isn;		/* client's initial sequence number */
	__u32 cap;		/* client stream offsets below this are captured */
	__u16 segs;		/* payload records sent */
	__u8 client;		/* 0 or 1: which key endpoint sent the SYN */
	__u8 ended;		/* FIN or RST seen, GP_EV_FLOW_END sent */
	__u8 inbound_done;	/* passive open reported */
	__u8 tls_walk;		/* the client's TLS records: enum gp_tls_walk */
	__u8 _pad[2];
	/*
	 * Interface the SYN was seen on. Bytes are counted there only, so a
	 * packet crossing two hooked interfaces (pod veth, then eth0) counts once.
	 */
	__u32 ifindex;
	__u32 h1_resp_missed;	/* HTTP/1: final response heads the ring refused */
	/* Below: the TC program's own HTTP state (user space reads the fields above only). */
	struct gp_l7_dir l7[2];	/* [0] client -> server, [1] server -> client */
	__u32 fifo;		/* HTTP/1 requests awaiting a response: 2 bits each, oldest lowest */
	__u8 nfifo;
	__u8 _pad3[3];
	__u32 h2_sid;		/* HTTP/2: the highest stream a client HEADERS opened */
	__u32 h2_missed;	/* requests the ring refused: HTTP/2 HEADERS, HTTP/1 heads */
	__u32 tls_next;		/* GP_TLS_WALK_ON: the client's next record header */
	__u32 _pad4;
};

enum gp_tls_walk {
	GP_TLS_WALK_UNSEEN = 0,	/* no client payload at offset 0 yet */
	GP_TLS_WALK_ON = 1,	/* a ClientHello began the stream: records are walked */
	GP_TLS_WALK_OFF = 2,	/* not TLS, application data reached, or lost track */
};

/*
 * HTTP at TC. Per flow and direction the classifier knows where the next
 * HTTP/2 frame header or HTTP/1 message head starts and forwards only
 * those units: HTTP/1 heads (request/status line and headers, through the
 * blank line) and the HTTP/2 frames that carry or change header state
 * (HEADERS, CONTINUATION, PUSH_PROMISE, SETTINGS, RST_STREAM, GOAWAY).
 * Bodies and DATA payloads are skipped by arithmetic, never copied.
 */
/*
 * What the TC program does with a flow whose SYN it did not see (its
 * rodata adopt_midstream). ALL (replay: a capture may start mid-flow): the
 * first sender of payload is taken for the client, payload captured as
 * for any flow. HTTP (live: connections older than the agent, or whose
 * entry the LRU evicted): only at a segment that starts like HTTP, for
 * its HTTP alone, no payload captured: no socket outcome awaits it.
 */
enum gp_adopt {
	GP_ADOPT_NONE = 0,
	GP_ADOPT_ALL = 1,
	GP_ADOPT_HTTP = 2,
};

/* Longest HTTP/1 message head forwarded; a longer one loses the direction. */
#define GP_L7_HEAD_MAX		4096
/* Longest HTTP/2 frame forwarded whole: the default SETTINGS_MAX_FRAME_SIZE + header. */
#define GP_L7_FRAME_MAX		(16384 + 9)
/* GOAWAY: only its fixed part (last stream id, error code) is forwarded. */
#define GP_L7_GOAWAY_FWD	(9 + 8)

enum gp_l7_proto {
	GP_L7P_NONE = 0,	/* not (or no longer) HTTP: nothing forwarded */
	GP_L7P_H1 = 1,
	GP_L7P_H2 = 2,
};

enum gp_l7_kind {
	/*
	 * Bytes [off, off + len) of the unit (an HTTP/1 head or an HTTP/2
	 * frame) that starts at unit_off in direction dir. A unit split
	 * across segments comes in several records, in stream order;
	 * GP_L7_F_LAST marks the one that completes it.
	 */
	GP_L7_UNIT = 1,
	/*
	 * A message's last byte was seen at ts_ns: the HTTP/1 body's end
	 * (Content-Length reached, last chunk and trailers, or a message
	 * without body), no bytes; or an HTTP/2 DATA frame with END_STREAM,
	 * carrying its 9-byte frame header (the stream id).
	 */
	GP_L7_END = 2,
	/*
	 * Direction dir can no longer be followed from off on (reason: enum
	 * gp_l7_lost): nothing more comes for it. Its HPACK state and message
	 * boundaries are unknown from there. Except GP_L7_LOST_RINGBUF: one or
	 * more records of dir were refused by the ring, but framing is kept
	 * and records go on. It comes before any later record of the flow
	 * (either direction); the first records of dir after it may continue
	 * a unit whose start was lost (off != unit_off): skip those. HTTP/2:
	 * dir's HPACK state is unknown from there on. It may come again. For
	 * dir 0 (either protocol) and HTTP/1's dir 1, unit_off is then not an
	 * offset but the count of units refused so far: requests (client
	 * HEADERS frames on a new stream, RFC 9113 5.1.1; HTTP/1 request
	 * heads), final response heads (HTTP/1, 101 included, 1xx not); a
	 * LOST comes after each such unit refused, once its head is complete. A
	 * RINGBUF with proto GP_L7P_NONE is not one of these: the kernel's
	 * own LOST was refused and the walk stopped, as for other reasons.
	 */
	GP_L7_LOST = 3,
};

/* gp_l7_event.flags */
#define GP_L7_F_LAST	0x1	/* this record completes its unit */
#define GP_L7_F_TRUNC	0x2	/* the unit was longer than what is forwarded of it */

enum gp_l7_lost {
	GP_L7_LOST_GAP = 1,		/* bytes past those walked: a segment missed or reordered */
	GP_L7_LOST_RINGBUF = 2,		/* records of this direction did not fit the ring: units missed */
	GP_L7_LOST_MIDSTREAM = 3,	/* the flow was joined after its start */
	GP_L7_LOST_MALFORMED = 4,	/* framing that does not parse, or past our limits */
	GP_L7_LOST_MAX,
};

/*
 * One HTTP unit (or its end, or a loss) of a flow, in direction dir
 * (0: client -> server, 1: server -> client). Offsets count from each
 * direction's first byte after its SYN.
 */
struct gp_l7_event {
	__u32 type;		/* GP_EV_L7 */
	__u32 ifindex;		/* interface the packet was seen on */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	struct gp_flow_tuple flow;	/* client -> server */
	__u32 isn;		/* client ISN: a new one means a new connection on the 4-tuple */
	__u32 unit_off;		/* where the unit starts */
	__u32 off;		/* where the bytes carried start */
	__u32 len;		/* bytes that follow */
	__u8 dir;		/* 0 client -> server, 1 server -> client */
	__u8 kind;		/* enum gp_l7_kind */
	__u8 proto;		/* enum gp_l7_proto */
	__u8 flags;		/* GP_L7_F_* */
	__u32 reason;		/* GP_L7_LOST: enum gp_l7_lost; else 0 */
	/* len bytes of data follow */
};

/*
 * TLS plaintext, taken where a TLS library hands it to or from the
 * application (enum gp_tls_source: uprobes on OpenSSL's SSL_read/SSL_write
 * and their _ex forms). A session is one library object (an SSL *) in one
 * process; it is joined to its TCP flow by the socket its calls send and
 * receive on, learned on the calling thread (bpf/ssl.bpf.c).
 */
/* Plaintext bytes of one read or write call copied; past them the call is cut. */
#define GP_TLS_DATA_MAX		16384
/* TLS sessions followed at once in the kernel (LRU: the oldest is forgotten). */
#define GP_TLS_SESS_MAX		65536

enum gp_tls_source {
	GP_TLS_SRC_OPENSSL = 1,
};

/* gp_tls_event.flags */
#define GP_TLS_F_JOINED	0x1	/* flow, isn and dir are the TCP flow's (TC saw it) */
#define GP_TLS_F_FIRST	0x2	/* the session's first record here: it may have begun before */
#define GP_TLS_F_CLOSE	0x4	/* the session was freed (len 0) */

/*
 * One read or write call's plaintext: bytes [off, off + total) of
 * direction dir of the session, of which the first len follow (len <
 * total: cut at GP_TLS_DATA_MAX). Offsets count from the first byte of the
 * direction seen. Joined: flow is client -> server and dir 0 is the
 * client's bytes, as in gp_l7_event; side says which end this process is.
 * Not joined (no socket seen, or one TC does not follow), a call is only
 * counted (GP_STAT_TLS_NO_FLOW): uprobes fire for every process on the
 * node, and shipping what cannot be decoded would crowd out what can.
 * Such a record (from replay or tests) has flow as this end has it and dir
 * 0 for what the process wrote.
 */
struct gp_tls_event {
	__u32 type;		/* GP_EV_TLS */
	__u32 pid;		/* tgid */
	__u64 ts_ns;		/* CLOCK_MONOTONIC, when the call returned */
	struct gp_flow_tuple flow;
	__u32 isn;		/* joined: the client's ISN */
	__u32 len;		/* bytes that follow */
	__u64 sess;		/* the library's session object (SSL *); with pid, the session */
	__u64 off;
	__u32 total;
	__u8 dir;		/* 0 client -> server, 1 server -> client */
	__u8 side;		/* joined: 0 this process is the client, 1 the server */
	__u8 source;		/* enum gp_tls_source */
	__u8 flags;		/* GP_TLS_F_* */
	/* len bytes of data follow */
};

#define GP_ASSERT_OFF(t, f, o) _Static_assert(__builtin_offsetof(t, f) == (o), #t "." #f " moved")
_Static_assert(sizeof(struct gp_conn_event) == 96, "gp_conn_event size changed");
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
GP_ASSERT_OFF(struct gp_conn_event, flags, 88);
GP_ASSERT_OFF(struct gp_conn_event, flow_isn, 92);
_Static_assert(sizeof(struct gp_flow_tuple) == 40, "gp_flow_tuple size changed");
GP_ASSERT_OFF(struct gp_flow_tuple, daddr, 16);
GP_ASSERT_OFF(struct gp_flow_tuple, sport, 32);
GP_ASSERT_OFF(struct gp_flow_tuple, dport, 34);
GP_ASSERT_OFF(struct gp_flow_tuple, family, 36);
_Static_assert(sizeof(struct gp_payload_event) == 80, "gp_payload_event size changed");
GP_ASSERT_OFF(struct gp_payload_event, isn, 72);
GP_ASSERT_OFF(struct gp_payload_event, ifindex, 4);
GP_ASSERT_OFF(struct gp_payload_event, ts_ns, 8);
GP_ASSERT_OFF(struct gp_payload_event, flow, 16);
GP_ASSERT_OFF(struct gp_payload_event, off, 56);
GP_ASSERT_OFF(struct gp_payload_event, len, 60);
GP_ASSERT_OFF(struct gp_payload_event, bytes, 64);
_Static_assert(sizeof(struct gp_flow_key) == 40, "gp_flow_key size changed");
GP_ASSERT_OFF(struct gp_flow_key, port, 32);
GP_ASSERT_OFF(struct gp_flow_key, family, 36);
_Static_assert(sizeof(struct gp_l7_h1) == 20, "gp_l7_h1 size changed");
_Static_assert(sizeof(struct gp_l7_dir) == 56, "gp_l7_dir size changed");
GP_ASSERT_OFF(struct gp_l7_dir, h1, 36);
_Static_assert(sizeof(struct gp_flow_val) == 176, "gp_flow_val size changed");
GP_ASSERT_OFF(struct gp_flow_val, l7, 40);
GP_ASSERT_OFF(struct gp_flow_val, fifo, 152);
GP_ASSERT_OFF(struct gp_flow_val, ifindex, 32);
GP_ASSERT_OFF(struct gp_flow_val, h1_resp_missed, 36);
GP_ASSERT_OFF(struct gp_flow_val, bytes, 8);
GP_ASSERT_OFF(struct gp_flow_val, isn, 16);
GP_ASSERT_OFF(struct gp_flow_val, cap, 20);
GP_ASSERT_OFF(struct gp_flow_val, segs, 24);
GP_ASSERT_OFF(struct gp_flow_val, client, 26);
GP_ASSERT_OFF(struct gp_flow_val, ended, 27);
GP_ASSERT_OFF(struct gp_flow_val, inbound_done, 28);
GP_ASSERT_OFF(struct gp_flow_val, tls_walk, 29);
GP_ASSERT_OFF(struct gp_flow_val, tls_next, 168);
_Static_assert(sizeof(struct gp_l7_event) == 80, "gp_l7_event size changed");
GP_ASSERT_OFF(struct gp_l7_event, ifindex, 4);
GP_ASSERT_OFF(struct gp_l7_event, ts_ns, 8);
GP_ASSERT_OFF(struct gp_l7_event, flow, 16);
GP_ASSERT_OFF(struct gp_l7_event, isn, 56);
GP_ASSERT_OFF(struct gp_l7_event, unit_off, 60);
GP_ASSERT_OFF(struct gp_l7_event, off, 64);
GP_ASSERT_OFF(struct gp_l7_event, len, 68);
GP_ASSERT_OFF(struct gp_l7_event, dir, 72);
GP_ASSERT_OFF(struct gp_l7_event, kind, 73);
GP_ASSERT_OFF(struct gp_l7_event, proto, 74);
GP_ASSERT_OFF(struct gp_l7_event, flags, 75);
GP_ASSERT_OFF(struct gp_l7_event, reason, 76);
_Static_assert(sizeof(struct gp_tls_event) == 88, "gp_tls_event size changed");
GP_ASSERT_OFF(struct gp_tls_event, pid, 4);
GP_ASSERT_OFF(struct gp_tls_event, ts_ns, 8);
GP_ASSERT_OFF(struct gp_tls_event, flow, 16);
GP_ASSERT_OFF(struct gp_tls_event, isn, 56);
GP_ASSERT_OFF(struct gp_tls_event, len, 60);
GP_ASSERT_OFF(struct gp_tls_event, sess, 64);
GP_ASSERT_OFF(struct gp_tls_event, off, 72);
GP_ASSERT_OFF(struct gp_tls_event, total, 80);
GP_ASSERT_OFF(struct gp_tls_event, dir, 84);
GP_ASSERT_OFF(struct gp_tls_event, side, 85);
GP_ASSERT_OFF(struct gp_tls_event, source, 86);
GP_ASSERT_OFF(struct gp_tls_event, flags, 87);

#endif /* GRAYPROBE_H */
