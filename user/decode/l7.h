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
 */
struct gp_l7;

/* A connection as the decoders and the request tracker know it. */
struct gp_l7_conn {
	struct gp_flow_tuple flow;	/* client -> server */
	uint32_t isn;			/* client ISN: reused 4-tuples are other connections */
	uint32_t ifindex;		/* of its first record */
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
/* One GP_EV_L7 record (header copied out, data its len bytes). 0 or -EINVAL. */
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

#endif
