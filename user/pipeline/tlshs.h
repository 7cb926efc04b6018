/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TLSHS_H
#define GP_TLSHS_H

#include <stdint.h>

/*
 * When a TLS client's handshake ends, from the record headers of its own
 * byte stream (RFC 8446 5.1, RFC 5246 6.2.1): the ClientHello's first
 * segment to the segment carrying the first application_data (23) record
 * header. In TLS 1.3 that record is the client's Finished (after a
 * ChangeCipherSpec); in TLS 1.2 it follows the encrypted Finished (22).
 * Only bodies are skipped, so a record cut off after its header is fine.
 * Segments must come in stream order from offset 0 (retransmits and
 * overlaps are fine): a gap or anything that is not a TLS record gives up,
 * so a wrong time is never made up. Pure: time is the caller's.
 */
enum gp_tls_hs_state {
	GP_TLS_HS_IDLE = 0,	/* nothing seen yet */
	GP_TLS_HS_WALK,		/* walking the client's records */
	GP_TLS_HS_DONE,		/* end_ts is the first application-data record's */
	GP_TLS_HS_OFF,		/* not TLS from offset 0, or a gap: never observed */
};

struct gp_tls_hs {
	uint64_t hello_ts;	/* the segment at offset 0 */
	uint64_t hdr_ts;	/* the segment holding the current header's first byte */
	uint64_t end_ts;	/* GP_TLS_HS_DONE */
	uint32_t pos;		/* stream bytes walked */
	uint32_t rec_end;	/* end of the record whose body is being skipped */
	uint8_t hdr[5];
	uint8_t hlen;
	uint8_t state;		/* enum gp_tls_hs_state */
};

/* Client bytes [off, off + len) seen at ts; returns the new state. */
enum gp_tls_hs_state gp_tls_hs_feed(struct gp_tls_hs *w, uint32_t off, const uint8_t *data,
				    uint32_t len, uint64_t ts);

#endif
