/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_HTTP_H
#define GP_DECODE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "grayprobe.h"

/*
 * What the HTTP decoders (HTTP/1 heads, HTTP/2 frames + HPACK) tell the
 * request tracker: one message event at a time, per connection. Decoding
 * only: no tags, no aggregation, no output. Strings point into the
 * decoder's buffers and are valid during the callback only.
 */

/* Longest method, authority and path kept (sanitized, then cut). */
#define GP_HTTP_METHOD_LEN	16
#define GP_HTTP_AUTHORITY_LEN	128
#define GP_HTTP_PATH_LEN	256

enum gp_http_ev {
	/* A request head: method, authority, path, headers (stream for HTTP/2). */
	GP_HTTP_REQUEST = 1,
	/*
	 * A response head: status (1xx interim ones too; interim marks them),
	 * grpc_status when a trailers-only gRPC response carries it.
	 */
	GP_HTTP_RESPONSE,
	/* HTTP/2 trailers of a response: grpc_status if present. */
	GP_HTTP_TRAILERS,
	/* The response's last byte (H1 body end, H2 END_STREAM from the server). */
	GP_HTTP_RESPONSE_END,
	/* HTTP/2 RST_STREAM on stream (either direction): the stream ends as reset. */
	GP_HTTP_RESET,
	/* HTTP/2 GOAWAY: streams above last_stream that are open end as reset. */
	GP_HTTP_GOAWAY,
	/*
	 * The direction cannot be decoded from here on (reason: a
	 * GP_HTTP_LOST_* value): requests whose tag or status is no longer
	 * knowable are the tracker's to count as undecoded.
	 */
	GP_HTTP_LOST,
	/*
	 * HTTP/2 joined mid-stream (GP_HTTP_LOST_MIDSTREAM): the endpoint
	 * taken for the client is the server (a response head came from it).
	 * Comes before any message but that LOST; the messages after it have
	 * their directions the right way round, and so must the flow.
	 */
	GP_HTTP_REORIENT,
};

/* Why decoding stopped; the first five are the kernel's enum gp_l7_lost. */
enum gp_http_lost {
	GP_HTTP_LOST_GAP = GP_L7_LOST_GAP,
	GP_HTTP_LOST_RINGBUF = GP_L7_LOST_RINGBUF,
	GP_HTTP_LOST_MIDSTREAM = GP_L7_LOST_MIDSTREAM,
	GP_HTTP_LOST_MALFORMED = GP_L7_LOST_MALFORMED,	/* the kernel's framing */
	GP_HTTP_LOST_HPACK = GP_L7_LOST_MAX,		/* a header block that does not decode */
	GP_HTTP_LOST_HEAD,				/* an HTTP/1 head that does not parse */
	GP_HTTP_LOST_TRUNCATED,				/* a unit cut by the kernel's limits */
	GP_HTTP_LOST_MAX,
};

/* "gap", "ringbuf", "midstream", "malformed", "hpack", "head", "truncated". */
const char *gp_http_lost_name(unsigned reason);

struct gp_http_msg {
	enum gp_http_ev ev;
	uint8_t dir;			/* 0: client -> server, 1: server -> client */
	uint8_t proto;			/* GP_L7P_H1 or GP_L7P_H2 */
	uint32_t stream;		/* HTTP/2 stream id; 0 for HTTP/1 */
	uint64_t ts_ns;			/* first byte of the unit (END: the last byte) */
	/* GP_HTTP_REQUEST */
	const char *method;		/* sanitized, "" unknown */
	const char *authority;		/* :authority or Host, sanitized and cut, "" none */
	const char *path;		/* sanitized and cut, "" none */
	int end_stream;			/* the request has no body (H2 END_STREAM on HEADERS) */
	int http10;			/* HTTP/1 request line says HTTP/1.0 (alpn "http/1.0") */
	/*
	 * Request and response: the header block as HTTP/1 lines
	 * ("name: value\r\n", names lowercase for HTTP/2), for
	 * gp_http1_header() and the gray rules. Pseudo-headers excluded.
	 */
	const uint8_t *hdrs;
	size_t hdrs_len;
	/* GP_HTTP_RESPONSE */
	int status;			/* 100..599 */
	int interim;			/* 1xx other than 101 */
	int is_grpc;			/* content-type application/grpc... */
	/* RESPONSE (trailers-only) and TRAILERS: grpc-status 0..16, else -1. */
	int grpc_status;
	/* GP_HTTP_RESET / GP_HTTP_GOAWAY: the error code; GOAWAY's last stream id. */
	uint32_t error_code;
	uint32_t last_stream;
	/*
	 * GP_HTTP_LOST: why. REQUEST and RESPONSE: 0, or the head exists but
	 * could not be decoded (GP_HTTP_LOST_RINGBUF or _MIDSTREAM: HPACK
	 * state unknown): only its stream, end_stream and (RESPONSE) a status
	 * the static table or a literal gave are known.
	 */
	unsigned reason;
	/*
	 * GP_HTTP_LOST of RINGBUF in dir 0 (HTTP/2): requests the kernel could
	 * not deliver at all on this connection so far (it grows, told again).
	 * With h1_walk_on (HTTP/1): heads of dir refused so far, requests in
	 * dir 0, final responses in dir 1; the direction goes on.
	 */
	uint32_t missed;
	int h1_walk_on;
	/* HTTP/1 only: the message asked to close the connection after it. */
	int conn_close;
	/*
	 * REQUEST, RESPONSE, TRAILERS: the head decoded (the connection goes
	 * on) but is malformed (RFC 9113 8.1.1: a value with NUL/CR/LF, a
	 * bad name, a pseudo-header missing, repeated or late, a bad :status)
	 * or larger than the decoder keeps: hdrs is empty and the gray tag
	 * unknowable. status is 0 when :status is missing or bad.
	 */
	int malformed;
};

typedef void (*gp_http_msg_fn)(void *ctx, const struct gp_http_msg *m);

/* *m as an event that knows nothing yet: empty strings, no gRPC status. */
void gp_http_msg_init(struct gp_http_msg *m, enum gp_http_ev ev, unsigned proto, unsigned dir,
		      uint64_t ts_ns);

#endif
