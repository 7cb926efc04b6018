/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PIPELINE_TLS_H
#define GP_PIPELINE_TLS_H

#include <stdint.h>

#include "decode/l7.h"
#include "grayprobe.h"

/*
 * TLS sessions' plaintext (GP_EV_TLS) in, GP_EV_L7 records for the L7
 * reassembler out: decode/plain walks each session into the units TC
 * forwards of a cleartext flow, so TLS requests meet the same decoders,
 * tracker and tags. A flow is decoded from one end's session only: with
 * client and server on this node both libraries report it, the first
 * session seen keeps the flow and the other's records count as other_end
 * (the tracker still counts the request once per socket direction). A
 * session whose socket TC does not follow is not decoded (no_flow): its
 * requests would have no connection to meet, and a guessed one could be
 * the wrong one.
 */
enum gp_tls_result {
	GP_TLS_R_DECODED = 0,	/* walked into L7 records */
	GP_TLS_R_OTHER_END,	/* the flow's other end on this node is decoded instead */
	GP_TLS_R_NO_FLOW,	/* no socket seen in the calls, or a flow TC does not follow */
	GP_TLS_R_NOT_HTTP,	/* neither HTTP/1 nor HTTP/2 */
	GP_TLS_R_TABLE_FULL,	/* GP_TLS_SESS_MAX sessions followed already */
	GP_TLS_R_MAX,
};

struct gp_tls_stats {
	uint64_t sessions;			/* followed now */
	uint64_t records[GP_TLS_R_MAX];		/* plaintext records, by what became of them */
};

struct gp_tls;

struct gp_tls *gp_tls_new(struct gp_l7 *l7);	/* NULL: ENOMEM */
void gp_tls_free(struct gp_tls *t);		/* NULL-safe; l7 is the caller's */
/* One GP_EV_TLS record (header copied out, data its len bytes), timed ts_ns. */
void gp_tls_record(struct gp_tls *t, const struct gp_tls_event *h, const uint8_t *data,
		   uint64_t ts_ns);
/* Sessions without a record for idle_ns are forgotten (their SSL_free was not seen). */
void gp_tls_expire(struct gp_tls *t, uint64_t now_ns, uint64_t idle_ns);
void gp_tls_stats(const struct gp_tls *t, struct gp_tls_stats *out);
const char *gp_tls_result_name(unsigned r);

#endif
