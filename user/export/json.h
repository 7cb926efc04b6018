/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_JSON_H
#define GP_JSON_H

#include <stdint.h>
#include <stdio.h>

#include "pipeline/event.h"
#include "pipeline/request.h"
#include "pipeline/tagger.h"

/*
 * A JSON string literal: quotes, backslash and control characters escaped,
 * valid UTF-8 kept, each invalid byte replaced by U+FFFD, so the stream
 * stays valid JSON whatever a process names itself.
 */
void gp_json_string(FILE *f, const char *s, size_t len);

/* One event as one line ("type":"connection"); realtime_offset_ns maps CLOCK_MONOTONIC to UTC. */
int gp_json_conn(FILE *f, const struct gp_conn *c, int64_t realtime_offset_ns);

/*
 * One finished request as one line ("type":"request"): status, grpc_status,
 * code (null: no status could be seen), latency_ns, duration_ns and stream
 * null when there is none; "undecoded":REASON only for requests not decoded
 * whole. realtime_offset_ns as for gp_json_conn (replay: 0, times are UTC).
 */
int gp_json_request(FILE *f, const struct gp_request *r, int64_t realtime_offset_ns);

/*
 * One TLS handshake's end as one line ("type":"tls_handshake"), per joined
 * direction; it comes after its connection's line. realtime_offset_ns as
 * for gp_json_conn.
 */
int gp_json_tls_handshake(FILE *f, const struct gp_tls_handshake *h, int64_t realtime_offset_ns);

/* replay: one classified flow; frame is where it was decided, ts_ns its UTC time. */
int gp_json_flow(FILE *f, const struct gp_flow_result *r, uint64_t frame, uint64_t ts_ns);

#endif
