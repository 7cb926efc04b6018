/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DECODE_H1_H
#define GP_DECODE_H1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode/http.h"

/*
 * HTTP/1.x message heads (RFC 9112): a request line or status line, the
 * header fields and the blank line, as the kernel forwards them (bodies are
 * delimited there, never seen here). Pure parsing, no allocation.
 *
 * Choices where RFC 9112 lets a recipient pick:
 * - Lines end in CRLF or a bare LF (2.2); a bare CR elsewhere is an error.
 * - Empty lines before the start line are skipped (2.2).
 * - obs-fold (5.2) is handled, not rejected: each CRLF/LF that precedes
 *   SP or HTAB within a field is overwritten with SP in buf, so the value
 *   reads as one line (for gp_http1_header() and the gray rules too). A
 *   fold right after the start line is an error (2.2: smuggling).
 * - Whitespace between a field name and its colon is an error (5.1).
 * - Content-Length: a list of equal values is that value; values that
 *   disagree (in one field or several) or are not digits are an error.
 *   With Transfer-Encoding as well, Content-Length is ignored (6.3).
 * - Transfer-Encoding: chunked when chunked is the final coding; a request
 *   whose final coding is another one is an error (6.3).
 * - Several Host fields: the first counts (the server answers 400; the
 *   framing is still known). An absolute-form target's authority wins
 *   over Host (3.2.2); its userinfo is dropped.
 * - Versions: HTTP/1.0 and HTTP/1.1; a higher 1.x minor reads as 1.1.
 * - Status codes 100..599 only.
 * - content-type application/grpc is not looked at: gRPC is HTTP/2 only.
 */
struct gp_h1_head {
	int request;			/* 1: request line, 0: status line */
	int minor;			/* HTTP/1.minor, 0 or 1 */
	/* Request: sanitized and cut (see http.h); "" when absent. */
	char method[GP_HTTP_METHOD_LEN + 1];
	char authority[GP_HTTP_AUTHORITY_LEN + 1];
	char path[GP_HTTP_PATH_LEN + 1];	/* the target as :path would be */
	int status;			/* response: 100..599 */
	/* The header block in buf: the lines after the start line, blank line excluded. */
	size_t hdr_off, hdr_len;
	int64_t content_length;		/* -1: none (or ignored for chunked) */
	int chunked;			/* Transfer-Encoding ends in chunked */
	int conn_close;			/* Connection: close, or 1.0 without keep-alive */
	int upgrade_h2c;		/* Upgrade lists h2c */
};

/*
 * One head at the start of buf (len bytes; obs-folds are rewritten in
 * place). Returns its length through the blank line, -EAGAIN when no blank
 * line ends it within len, -EBADMSG when it does not parse.
 */
ssize_t gp_h1_parse(uint8_t *buf, size_t len, struct gp_h1_head *out);

/*
 * The message event of a parsed head seen in dir at ts_ns: a
 * GP_HTTP_REQUEST or GP_HTTP_RESPONSE whose strings point into h and
 * whose hdrs point into buf (the one given to gp_h1_parse).
 */
void gp_h1_msg(const struct gp_h1_head *h, const uint8_t *buf, unsigned dir, uint64_t ts_ns,
	       struct gp_http_msg *m);

#endif
