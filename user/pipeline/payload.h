/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PAYLOAD_H
#define GP_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "grayprobe.h"
#include "util/label.h"

/*
 * Classification of the first bytes a TCP client sends (the reassembled
 * client->server stream prefix, possibly incomplete): TLS ClientHello,
 * HTTP/1.x request or h2c preface. Pure parsing: no allocation, no output.
 * Only the first GP_FIRST_PAYLOAD_MAX bytes are looked at, as that is all the
 * kernel keeps: what is still undecided there is GP_PL_UNKNOWN.
 */

/*
 * alpn_offered is bounded rather than sized for the worst case (~20 KB of
 * 1-byte escaped names in 8 KiB): names that do not fit whole are dropped from
 * the end and alpn_offered_truncated is set.
 */
#define GP_ALPN_OFFERED_MAX	1024
/* Longest HTTP method we recognise, "CONNECT"/"OPTIONS". */
#define GP_HTTP_METHOD_MAX	7

enum gp_payload_kind {
	GP_PL_NEED_MORE,	/* a prefix of something we recognise; more bytes could decide */
	GP_PL_TLS,		/* complete ClientHello parsed */
	GP_PL_HTTP1,		/* HTTP/1.x request line (+ headers so far) */
	GP_PL_H2C,		/* HTTP/2 prior-knowledge preface */
	GP_PL_UNKNOWN,		/* not TLS ClientHello, not HTTP/1, not h2c, or malformed */
};

struct gp_payload_info {
	enum gp_payload_kind kind;
	/*
	 * The tag: first non-GREASE offered ALPN, sanitized and cut to
	 * GP_TAG_MAX bytes (never inside an escape); "tls" for a
	 * ClientHello offering none; "http/1.1"; "h2c"; "unknown"; "" while
	 * GP_PL_NEED_MORE.
	 */
	char alpn[GP_TAG_MAX + 1];
	/* Every offered ALPN in order, GREASE skipped, sanitized, ','-joined. */
	char alpn_offered[GP_ALPN_OFFERED_MAX + 1];
	/* First host_name of server_name, sanitized; "" if none. */
	char sni[GP_SNI_MAX + 1];
	uint8_t alpn_offered_truncated;
	uint8_t sni_truncated;
	/* TLS: the hello offers 0-RTT (early_data), whose records may come before the handshake's end. */
	uint8_t early_data;
	/* HTTP/1 only: "GET", "CONNECT", ... and the version's minor digit. */
	char http_method[GP_HTTP_METHOD_MAX + 1];
	uint8_t http_minor;
	/*
	 * HTTP/1 only: the header block, for gp_http1_header(buf + hdr_off,
	 * hdr_len, ...): complete header lines after the request line, the
	 * blank line excluded. body_off is the offset just past the blank line,
	 * 0 while it has not arrived.
	 */
	size_t hdr_off;
	size_t hdr_len;
	size_t body_off;
};

enum gp_payload_kind gp_payload_parse(const uint8_t *buf, size_t len,
				      struct gp_payload_info *out);

/*
 * Looks a header up in an HTTP/1 header block (possibly incomplete: only
 * lines ended by LF count; the scan stops at a blank line). The name matches
 * case-insensitively and whole; the first match wins. Its value, trimmed of
 * OWS and sanitized, goes to val (vlen bytes with the NUL). Folded
 * continuation lines (obs-fold) are not joined. Returns 1 if found, else 0.
 */
int gp_http1_header(const uint8_t *buf, size_t len, const char *name, char *val,
		    size_t vlen);


#endif
