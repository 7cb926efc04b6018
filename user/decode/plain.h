/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_PLAIN_H
#define GP_DECODE_PLAIN_H

#include <stdint.h>

#include "grayprobe.h"

/*
 * One TLS session's plaintext, both directions, in (one call at a time, as
 * the TLS library handed it over); the GP_EV_L7 records the kernel's TC
 * walker (bpf/l7.bpf.h) gives for the same bytes in cleartext out, so
 * that decode/l7.c follows TLS as it follows cleartext. Pure user space,
 * no allocation past gp_plain_new(): a unit is sent in several records
 * (one per call it spans), never held.
 *
 * Where it differs from the kernel, on purpose:
 * - What decides a direction may come in pieces of any size (the h2
 *   preface, a method, a status line, a server's SETTINGS, the "PRI " of a
 *   client upgrading to h2c): the records do not depend on how the
 *   stream is cut into calls, only their times do.
 * - A chunk-size line is followed up to 129 bytes whatever the cut (the
 *   kernel: 129 to 192, by segment), a Content-Length or chunk size past
 *   2^31 always loses the direction.
 * - Bytes not captured (len < total) or skipped (an offset jump) cost
 *   nothing inside a body or an HTTP/2 payload that is not forwarded.
 *   Where they had to be read, HTTP/1 is lost (GAP: a head missed cannot
 *   be counted, and responses would pair with the wrong requests); HTTP/2
 *   goes on as after the kernel's ring losses: GP_L7_LOST_MIDSTREAM of
 *   proto H2 there (RINGBUF's count of requests missed is not known),
 *   then the walk rejoins at the first of 8 calls that starts with a
 *   plausible frame header, else GAP.
 * - A session joined (first) is taken up per direction: the client's
 *   preface or a request line, the server's first SETTINGS (no ACK) or a
 *   status line at the first byte seen start the direction as at the
 *   session's start; else the first of 8 calls that starts with an
 *   HTTP/1 request line (client) or status line (server), or with a
 *   plausible HTTP/2 frame header (GP_L7_LOST_MIDSTREAM of proto H2 first,
 *   as the kernel's join), else the direction is not followed.
 */
struct gp_plain;

typedef void (*gp_plain_emit_fn)(void *ctx, const struct gp_l7_event *h, const uint8_t *data);

struct gp_plain *gp_plain_new(void);		/* NULL: ENOMEM */
void gp_plain_free(struct gp_plain *p);		/* NULL-safe */
/*
 * One call's bytes: tmpl gives dir (0 client->server), ts_ns and the
 * fields copied as they are (type, flow, isn, ifindex); the walker sets
 * dir, kind, proto, flags, unit_off, off, len and reason (a record may be
 * of the other direction: it follows this one's choice of protocol). data
 * holds the first len of the call's total bytes at stream offset off.
 * first: the producer joined the session here, maybe after its start (see
 * above); it counts before the session's first byte only. Calls of a
 * direction come in stream order; bytes below those walked are skipped.
 * 0, or -EINVAL (dir > 1, or len bytes without data).
 */
int gp_plain_feed(struct gp_plain *p, const struct gp_l7_event *tmpl, uint64_t off,
		  const uint8_t *data, uint32_t len, uint32_t total, int first,
		  gp_plain_emit_fn emit, void *ctx);
/*
 * What direction dir was found to speak: enum gp_l7_proto (the last one
 * followed, so HTTP/2 after an h2c upgrade; kept once the direction is lost
 * or ends in a tunnel). GP_L7P_NONE: not decided yet, or not HTTP.
 */
unsigned gp_plain_proto(const struct gp_plain *p, unsigned dir);
/*
 * 1 when neither direction gives records any more (not HTTP, lost, or a
 * tunnel): the caller may forget the session, its calls cost nothing.
 */
int gp_plain_finished(const struct gp_plain *p);

#endif
