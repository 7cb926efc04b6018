/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_REQUEST_H
#define GP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "decode/http.h"
#include "decode/l7.h"
#include "pipeline/agg.h"
#include "pipeline/rules.h"

/*
 * Decoded HTTP message events of each connection in, one finished request
 * out (per direction that has a socket outcome: loopback twice, like
 * connections). HTTP/1 requests match responses first in, first out
 * (pipelining); HTTP/2 ones by stream. Pure user space; time is the
 * messages' (ts_ns) and the caller's (expire), on one clock.
 *
 * - Latency: the request's first byte -> the first byte of its final
 *   response (interim 1xx do not count: a 100 Continue says nothing of the
 *   handler). An h2c upgrade's request is answered by stream 1's response.
 *   Duration: to the response's last byte, where it is delimited.
 * - Ends: reset (RST_STREAM, GOAWAY above last stream, connection closed)
 *   or none (no response within the timeout) when no final status came; a
 *   request that has its status but not its end leaves with it, without
 *   a duration, at the timeout (or reset, close). A gRPC call that has its
 *   response head waits for its trailers without a timeout (streams last):
 *   its reset or close is status "reset".
 * - Lost directions: responses that come for requests not seen (the
 *   request direction lost) are requests of gray "unknown"; requests whose
 *   response can no longer be seen (the response direction lost) have no
 *   status: both are counted undecoded under the loss's reason, and the
 *   latter under nothing else.
 * - A connection no socket outcome claims (routed traffic, replay): its
 *   requests have direction GP_DIR_MAX ("unknown").
 */

/* How long a request waits for its response by default: --request-timeout. */
#define GP_REQ_TIMEOUT_DEFAULT_S	30
#define GP_REQ_TIMEOUT_MAX_S		3600
/* Requests open at once; past it a new one is not followed (counted). */
#define GP_REQ_OPEN_MAX			65536

/* A finished request, as the aggregation and the JSON line take it. */
struct gp_request {
	struct gp_flow_tuple flow;	/* client -> server */
	uint32_t isn;
	unsigned dir;			/* enum gp_direction; GP_DIR_MAX: no socket outcome */
	uint32_t stream;		/* HTTP/2 stream id; 0 for HTTP/1 */
	char alpn[GP_TAG_MAX + 1];	/* "http/1.1", "http/1.0", "h2c"; over TLS "h2" */
	int tls;			/* decoded from TLS plaintext: alpn is the negotiated one */
	char gray[GP_TAG_MAX + 1];	/* "unknown" when the request was not seen */
	char marker[GP_TAG_MAX + 1];	/* the header that decided gray, "" */
	unsigned gray_flags;		/* GP_GRAY_* */
	char method[GP_HTTP_METHOD_LEN + 1];
	char authority[GP_HTTP_AUTHORITY_LEN + 1];
	char path[GP_HTTP_PATH_LEN + 1];
	int status;			/* final response status, 0 none */
	int grpc;			/* a gRPC call (content-type application/grpc) */
	int grpc_status;		/* 0..16, -1 none */
	unsigned code;			/* enum gp_req_code */
	unsigned grpc_slot;		/* enum gp_grpc_slot, with grpc */
	/* Not decodable: the tag or the status unknown (reason: GP_HTTP_LOST_*). */
	int undecoded;
	unsigned reason;
	int no_status;			/* undecoded: no status can be known (not counted by code) */
	uint64_t ts_ns;			/* request's first byte */
	int has_latency, has_duration;
	uint64_t latency_ns;		/* to the final response's first byte */
	uint64_t duration_ns;		/* to the response's last byte */
};

struct gp_req_ops {
	/* A finished request, once per direction that saw it. */
	void (*done)(void *ctx, const struct gp_request *r);
	/* Which directions (bit 1 << GP_DIR_*) have a socket outcome for the flow. */
	unsigned (*dirs)(void *ctx, const struct gp_flow_tuple *f, uint32_t isn);
	/* The flow's TLS SNI for the rules, "" if none (NULL: never any). */
	const char *(*sni)(void *ctx, const struct gp_flow_tuple *f, uint32_t isn);
	void *ctx;
};

struct gp_req_tracker_stats {
	uint64_t open;			/* requests waiting now */
	uint64_t dropped;		/* not followed: GP_REQ_OPEN_MAX */
};

struct gp_req_tracker;

/* NULL: ENOMEM. timeout_ns: how long a request waits for its response. */
struct gp_req_tracker *gp_req_new(const struct gp_req_ops *ops, uint64_t timeout_ns);
/* NULL-safe; emits nothing, and leaves the connections' user slots NULL. */
void gp_req_free(struct gp_req_tracker *t);
/* Rules for requests seen from now on; the caller keeps r alive until replaced. */
void gp_req_set_rules(struct gp_req_tracker *t, const struct gp_rules *r);
/* struct gp_l7_ops's two callbacks (ctx: the tracker). */
void gp_req_msg(void *tracker, struct gp_l7_conn *c, const struct gp_http_msg *m);
/* c is forgotten: its open requests end as reset (answered ones with their status). */
void gp_req_close(void *tracker, struct gp_l7_conn *c);
/* Requests older than the timeout at now_ns end (none without a status); not answered gRPC calls. */
void gp_req_expire(struct gp_req_tracker *t, uint64_t now_ns);
/* Every open request ends now as none (end of replay, stop). */
void gp_req_flush(struct gp_req_tracker *t);
void gp_req_tracker_stats(const struct gp_req_tracker *t, struct gp_req_tracker_stats *out);

#endif
