/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TAGGER_H
#define GP_TAGGER_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/payload.h"
#include "pipeline/event.h"
#include "grayprobe.h"
#include "pipeline/rules.h"

/*
 * Joins connection outcomes with what the TC classifier saw of their flow.
 * Payload records are reassembled per flow (client bytes [0, 8 KiB)) and
 * classified; an outcome waits for its flow's tag at most tag_wait, then
 * leaves with what is known ("none" without any payload). Each outcome is
 * emitted exactly once, tagged. Pure user space: time comes from the caller.
 *
 * A failed attempt (any result but established) has no payload. Its tag is,
 * first match wins: the gray rules' when one matches the attempt itself
 * (addresses, ports, alpn "none"); else the tag of the last established
 * outcome whose flow carried payload to the same server endpoint (netns,
 * direction, server address and port) within the endpoint memory, marked
 * tag_from_endpoint; else none/stable.
 */

/* How long an ended, decided flow is kept for an outcome that races its end. */
#define GP_TAGGER_END_GRACE_NS	(250ull * 1000 * 1000)
/* Flows remembered in user space at once; past it new flows are not tagged. */
#define GP_TAGGER_FLOWS_MAX	(2 * GP_FLOW_MAX)
/* Server endpoints remembered for failures' tags; past it the least recently tagged goes. */
#define GP_TAGGER_ENDPOINTS_MAX	8192

/* A flow's classification, as replay prints it. */
struct gp_flow_result {
	struct gp_flow_tuple flow;	/* client -> server */
	uint64_t first_ts_ns;		/* first payload record */
	char alpn[GP_TAG_MAX + 1];
	char alpn_offered[GP_ALPN_OFFERED_MAX + 1];
	int alpn_offered_truncated;	/* names past GP_ALPN_OFFERED_MAX were dropped */
	char sni[GP_SNI_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	char http_marker[GP_TAG_MAX + 1];
	enum gp_payload_kind kind;
	char http_method[GP_HTTP_METHOD_MAX + 1];
	int tunnel;			/* alpn/sni are of the TLS inside an HTTP CONNECT */
	size_t bytes_seen;		/* contiguous client bytes classified */
};

/*
 * A TLS flow's handshake time as its client's bytes show it (pipeline/tlshs.h),
 * for one direction an outcome joined, under that outcome's tag. Only flows
 * that start with a ClientHello (not inside a CONNECT tunnel, no 0-RTT offer).
 */
struct gp_tls_handshake {
	struct gp_flow_tuple flow;	/* client -> server */
	unsigned dir;			/* enum gp_direction */
	const char *alpn, *gray;
	unsigned gray_flags;
	uint64_t ts_ns;			/* the client's first application-data record */
	uint64_t duration_ns;		/* the ClientHello's first segment to it */
};

struct gp_tagger_ops {
	/* A tagged outcome, once (NULL: not wanted). */
	void (*conn)(void *ctx, const struct gp_conn *c);
	/* Flow bytes since the last call, for a tag its outcome got (gray_flags: its GP_GRAY_*). */
	void (*bytes)(void *ctx, unsigned dir, const char *alpn, const char *gray,
		      unsigned gray_flags, uint64_t n);
	/* A flow's classification, once (NULL: not wanted). */
	void (*flow)(void *ctx, const struct gp_flow_result *r);
	/* A handshake's end, once per joined direction, whichever comes last (NULL: not wanted). */
	void (*handshake)(void *ctx, const struct gp_tls_handshake *h);
	void *ctx;
};

struct gp_tagger_stats {
	uint64_t flows;			/* in the table now */
	uint64_t flows_dropped;		/* not tagged: table full */
	uint64_t waited_out;		/* outcomes that left at tag_wait */
	uint64_t endpoints;		/* in the endpoint memory now */
	uint64_t endpoint_tags;		/* failures tagged from it */
};

struct gp_tagger_config {
	uint64_t tag_wait_ns;		/* longest an outcome waits for its flow's tag */
	uint64_t endpoint_memory_ns;	/* how long an endpoint's tag is kept; 0: off */
};

struct gp_tagger;

struct gp_tagger *gp_tagger_new(const struct gp_tagger_ops *ops,
				const struct gp_tagger_config *cfg);
void gp_tagger_free(struct gp_tagger *t);	/* NULL-safe; emits nothing */
/* Rules for flows decided from now on; the caller keeps r alive until replaced. */
void gp_tagger_set_rules(struct gp_tagger *t, const struct gp_rules *r);

void gp_tagger_conn(struct gp_tagger *t, const struct gp_conn *c, uint64_t now_ns);
void gp_tagger_payload(struct gp_tagger *t, const struct gp_payload_event *h,
		       const uint8_t *data, uint64_t now_ns);
/* The kernel's running byte total for a flow (flow table walk) and its client ISN. */
void gp_tagger_flow_bytes(struct gp_tagger *t, const struct gp_flow_tuple *f, uint32_t isn,
			  uint64_t total);
/*
 * Which directions (bit 1 << GP_DIR_*) have a socket outcome for the flow
 * (client ISN isn), waiting or joined: both for loopback, 0 for a flow no
 * socket of this node owns, or one already forgotten.
 */
unsigned gp_tagger_dirs(const struct gp_tagger *t, const struct gp_flow_tuple *f, uint32_t isn);
/* The SNI of the flow's ClientHello, once decided; "" for none or an unknown flow. */
const char *gp_tagger_sni(const struct gp_tagger *t, const struct gp_flow_tuple *f, uint32_t isn);
/*
 * Outcomes whose wait is over leave; flows that are decided, have no
 * outcome waiting and were not seen since the last sweep are forgotten.
 * Call sweep_begin before a flow table walk and tick after it.
 */
void gp_tagger_sweep_begin(struct gp_tagger *t);
void gp_tagger_tick(struct gp_tagger *t, uint64_t now_ns, int after_sweep);
/* Decide every flow now and emit every waiting outcome (stop, end of replay). */
void gp_tagger_flush(struct gp_tagger *t);
void gp_tagger_stats(const struct gp_tagger *t, struct gp_tagger_stats *out);

/* The flow tuple as the kernel's key names it (for gp_tagger_flow_bytes). */
void gp_flow_tuple_from_key(const struct gp_flow_key *k, const struct gp_flow_val *v,
			    struct gp_flow_tuple *out);

#endif
