// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/tlshs.h"

#define CT_CHANGE_CIPHER_SPEC	20
#define CT_ALERT		21
#define CT_HANDSHAKE		22
#define CT_APPLICATION_DATA	23
/* RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes. */
#define RECORD_MAX		(16384 + 2048)

static enum gp_tls_hs_state give_up(struct gp_tls_hs *w)
{
	w->state = GP_TLS_HS_OFF;
	return GP_TLS_HS_OFF;
}

/* A complete header: the record's body is skipped, or the walk is over. */
static enum gp_tls_hs_state header(struct gp_tls_hs *w)
{
	uint32_t rlen = (uint32_t)w->hdr[3] << 8 | w->hdr[4];
	uint8_t type = w->hdr[0];

	w->hlen = 0;
	/* Record versions 0x0300..0x0304; the first record is the ClientHello's. */
	if (w->hdr[1] != 3 || w->hdr[2] > 4 || !rlen || rlen > RECORD_MAX ||
	    (w->pos == 5 && type != CT_HANDSHAKE))
		return give_up(w);
	switch (type) {
	case CT_APPLICATION_DATA:
		w->end_ts = w->hdr_ts;
		w->state = GP_TLS_HS_DONE;
		return GP_TLS_HS_DONE;
	case CT_CHANGE_CIPHER_SPEC:
	case CT_ALERT:
	case CT_HANDSHAKE:
		w->rec_end = w->pos + rlen;
		return GP_TLS_HS_WALK;
	}
	return give_up(w);
}

enum gp_tls_hs_state gp_tls_hs_feed(struct gp_tls_hs *w, uint32_t off, const uint8_t *data,
				    uint32_t len, uint64_t ts)
{
	uint32_t i;

	if (w->state == GP_TLS_HS_IDLE) {
		if (off || !len || data[0] != CT_HANDSHAKE)
			return give_up(w);
		w->state = GP_TLS_HS_WALK;
		w->hello_ts = ts;
	}
	if (w->state != GP_TLS_HS_WALK || (uint64_t)off + len <= w->pos)
		return w->state;
	if (off > w->pos)
		return give_up(w);
	for (i = w->pos - off; i < len && w->state == GP_TLS_HS_WALK;) {
		if (w->pos < w->rec_end) {
			uint32_t skip = w->rec_end - w->pos;

			if (skip > len - i)
				skip = len - i;
			w->pos += skip;
			i += skip;
			continue;
		}
		if (!w->hlen)
			w->hdr_ts = ts;
		w->hdr[w->hlen++] = data[i++];
		w->pos++;
		if (w->hlen == sizeof(w->hdr))
			header(w);
	}
	return w->state;
}
