/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_L7_H
#define GP_DECODE_L7_H

#include <stddef.h>
#include <stdint.h>

#include "decode/http.h"
#include "grayprobe.h"

/*
 * GP_EV_L7 records of every connection in, message events out: units
 * (HTTP/1 heads, HTTP/2 frames) reassembled from their parts, handed to
 * the connection's HTTP/1 or HTTP/2 decoder (a connection may go from one
 * to the other: Upgrade: h2c). Pure user space; time is the caller's.
 *
 * - A unit's records must come in stream order: the first at unit_off,
 *   each next one where the last ended, within GP_L7_HEAD_MAX (HTTP/1) or
 *   GP_L7_FRAME_MAX (HTTP/2); a unit overlapping the one before, a record
 *   off its unit, HTTP/1 after HTTP/2 in a direction, or an HTTP/2 END
 *   without its 9 bytes is a bad record: the direction is lost (GAP for
 *   offsets, MALFORMED otherwise). A unit's ts is its first record's.
 * - A direction is lost once (one GP_HTTP_LOST, from the decoder it was
 *   in); its later records are ignored. Except an HTTP/2 direction's
 *   GP_L7_LOST_RINGBUF or _MIDSTREAM: the unit being received is dropped,
 *   then records that continue a unit begun before are skipped, and the
 *   HTTP/2 decoder goes on without HPACK state (gp_h2_lost()); after a
 *   mid-stream join it may find the flow the wrong way round, and turns
 *   gp_l7_conn.flow round before telling any request. And an HTTP/1
 *   direction's GP_L7_LOST_RINGBUF: the unit being received is dropped,
 *   its rest skipped, and GP_HTTP_LOST with h1_walk_on tells the kernel's
 *   count of heads refused (missed); heads after it decode as ever. HTTP/1: a head that does not
 *   parse, or a response head in dir 0 (request in dir 1), is LOST_HEAD;
 *   a unit flagged GP_L7_F_TRUNC is LOST_TRUNCATED.
 * - HTTP/1 END in dir 1 is GP_HTTP_RESPONSE_END after a final response
 *   head only: the end of an interim (1xx) or 101 head, or of a request
 *   body, is no event.
 */
struct gp_l7;

/*
 * gp_l7_event.flags, set by user space only (the kernel never does): the
 * record was made from TLS plaintext (decode/plain.h), not taken at TC.
 */
#define GP_L7_F_TLS	0x80

/* A connection as the decoders and the request tracker know it. */
struct gp_l7_conn {
	struct gp_flow_tuple flow;	/* client -> server */
	uint32_t isn;			/* client ISN: reused 4-tuples are other connections */
	uint32_t ifindex;		/* of its first record */
	int tls;			/* its first record had GP_L7_F_TLS */
	void *user;			/* the consumer's, NULL at first */
};

struct gp_l7_ops {
	/* One message event of connection c. */
	void (*msg)(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m);
	/* c is forgotten (ended, idle, or table full): last chance for c->user. */
	void (*close)(void *ctx, struct gp_l7_conn *c);
	void *ctx;
};

/* Connections followed at once; past it a new one is dropped and counted. */
#define GP_L7_CONNS_MAX		GP_FLOW_MAX
/* An ended connection is kept this long for records that raced its FIN. */
#define GP_L7_END_GRACE_NS	2000000000ull

struct gp_l7_stats {
	uint64_t conns;			/* followed now */
	uint64_t conns_dropped;		/* records not followed: table full (per record) */
	uint64_t bad_records;		/* records that contradict their unit */
};

struct gp_l7 *gp_l7_new(const struct gp_l7_ops *ops);	/* NULL: ENOMEM */
void gp_l7_free(struct gp_l7 *t);	/* NULL-safe; calls close for each connection */
/*
 * One GP_EV_L7 record (header copied out, data its len bytes). 0; -EINVAL
 * for a record that contradicts its unit or direction (counted in
 * bad_records; its direction is lost); -ENOBUFS when the units being
 * received, all connections together, would hold more than 32 MiB, or
 * -ENOMEM (the direction is lost: GP_HTTP_LOST_TRUNCATED or _MALFORMED).
 */
int gp_l7_record(struct gp_l7 *t, const struct gp_l7_event *h, const uint8_t *data);
/*
 * The flow ended (FIN or RST, GP_EV_FLOW_END): HTTP/1 responses delimited
 * by the close end now; the connection is closed after a grace period.
 */
void gp_l7_flow_end(struct gp_l7 *t, const struct gp_flow_tuple *f, uint32_t isn,
		    uint64_t ts_ns);
/* Connections ended, or idle for idle_ns, are closed. */
void gp_l7_expire(struct gp_l7 *t, uint64_t now_ns, uint64_t idle_ns);
void gp_l7_stats(const struct gp_l7 *t, struct gp_l7_stats *out);
/* Whether records of this connection were taken and it is not forgotten yet. */
int gp_l7_known(struct gp_l7 *t, const struct gp_flow_tuple *f, uint32_t isn);

#endif
