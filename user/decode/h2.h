/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_H2_H
#define GP_DECODE_H2_H

#include <stddef.h>
#include <stdint.h>

#include "decode/http.h"

/*
 * HTTP/2 (RFC 9113) of one connection, both directions: the frames the
 * kernel forwards, whole and in stream order per direction, turned into
 * message events. HEADERS (+ PADDED, PRIORITY) and CONTINUATION are joined
 * into one header block and decoded with that direction's HPACK state;
 * PUSH_PROMISE blocks are decoded (they change HPACK state) and otherwise
 * ignored; SETTINGS_HEADER_TABLE_SIZE bounds the peer's table size updates;
 * RST_STREAM and GOAWAY end streams; DATA frames come as their 9-byte
 * header only (END_STREAM matters, not the payload).
 */
struct gp_h2_conn;

/* Longest header block (HEADERS + CONTINUATION fragments) joined; past it the direction is lost. */
#define GP_H2_BLOCK_MAX		(64u * 1024)

/* NULL (errno ENOMEM). fn gets every event, ctx passed through. */
struct gp_h2_conn *gp_h2_conn_new(gp_http_msg_fn fn, void *ctx);
void gp_h2_conn_free(struct gp_h2_conn *c);	/* NULL-safe; emits nothing */

/*
 * One frame seen in dir (0: client -> server) whose first byte was seen at
 * ts_ns: its 9-byte header and what the kernel forwarded of its payload
 * (len - 9 bytes; truncated: the payload was longer). Returns 0, or
 * -EBADMSG when it cannot be decoded: a GP_HTTP_LOST event was emitted and
 * this direction is dead (later frames in it are ignored, returning
 * -EBADMSG).
 */
int gp_h2_frame(struct gp_h2_conn *c, unsigned dir, const uint8_t *frame, size_t len,
		int truncated, uint64_t ts_ns);
/*
 * The kernel lost dir (reason: GP_HTTP_LOST_*): emits GP_HTTP_LOST once, dir
 * is dead. GP_HTTP_LOST_RINGBUF (records missed, framing kept) and
 * _MIDSTREAM (dir joined at a frame header): dir goes on blind, its HPACK
 * state unknown: its header blocks are never decoded, only their first
 * field peeked at (gp_hpack_peek()); a client block on a new stream is a
 * GP_HTTP_REQUEST, a server block a GP_HTTP_RESPONSE (with the status
 * that field gives, else 0) or, opening with a regular field,
 * GP_HTTP_TRAILERS, all with that reason; RST_STREAM, GOAWAY and
 * END_STREAM go on as before. A client block left open by the loss is
 * its request, told then. missed (RINGBUF, dir 0): the kernel's count of
 * requests it could not deliver; each RINGBUF that raises it is told
 * again (GP_HTTP_LOST, missed). MIDSTREAM is told once per connection, in
 * the direction joined first (it says nothing of which side is whose); when the first block decided
 * shows the client was taken for the server, GP_HTTP_REORIENT is told and
 * the directions turn round (dir arguments stay the records').
 */
void gp_h2_lost(struct gp_h2_conn *c, unsigned dir, unsigned reason, uint32_t missed,
		uint64_t ts_ns);

#endif
