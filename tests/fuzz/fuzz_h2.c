// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP/2 connection decoder on arbitrary frame sequences: records of
 * [1 byte: bit 0 direction, bit 1 truncated, bit 2 keep the frame's own
 * length field (else it is set to match)] [2 bytes: frame length] [frame].
 * No crash; labels printable within their bounds; header lines whole, with
 * no CR or LF inside; exactly one LOST per direction at most, and nothing
 * from a direction after it.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/h2.h"
#include "fuzz.h"

struct seen {
	int lost[2];
};

/* "name: value\r\n" lines, CR and LF only as their ends. */
static void lines_ok(const uint8_t *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n' || i == start)
				abort();
			if (!memchr(p + start, ':', i - start))
				abort();
			i++;
			start = i + 1;
		} else if (p[i] == '\n' || p[i] == '\0') {
			abort();
		}
	}
	if (start != n)
		abort();
}

static void on_msg(void *ctx, const struct gp_http_msg *m)
{
	struct seen *s = ctx;

	if (m->dir > 1 || s->lost[m->dir])
		abort();
	printable(m->method, GP_HTTP_METHOD_LEN);
	printable(m->authority, GP_HTTP_AUTHORITY_LEN);
	printable(m->path, GP_HTTP_PATH_LEN);
	lines_ok(m->hdrs, m->hdrs_len);
	if (m->malformed && m->hdrs_len)
		abort();
	if (m->grpc_status < -1 || m->grpc_status > 16)
		abort();
	/* Blind heads (reason set): a status only where the static table or a literal gives it. */
	if (m->ev == GP_HTTP_RESPONSE && !m->malformed && (m->status || !m->reason) &&
	    (m->status < 100 || m->status > 599))
		abort();
	if (m->reason && m->ev != GP_HTTP_LOST && m->hdrs_len)
		abort();
	if (m->ev == GP_HTTP_LOST && m->reason != GP_HTTP_LOST_RINGBUF &&
	    m->reason != GP_HTTP_LOST_MIDSTREAM)
		s->lost[m->dir] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { { 0, 0 } };
	struct gp_h2_conn *c = gp_h2_conn_new(on_msg, &s);
	size_t pos = 0, n;

	if (!c)
		return 0;
	while (pos + 3 <= size) {
		uint8_t ctl = data[pos];
		uint8_t *f;

		n = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if (n > size - pos)
			n = size - pos;
		f = malloc(n ? n : 1);
		if (!f)
			break;
		memcpy(f, data + pos, n);
		pos += n;
		if (n >= 9 && !(ctl & 4)) {
			size_t plen = n - 9 + ((ctl & 2) ? 1 : 0);

			f[0] = (uint8_t)(plen >> 16);
			f[1] = (uint8_t)(plen >> 8);
			f[2] = (uint8_t)plen;
		}
		/* The kernel's losses that leave framing: a ring refusal, a mid-stream join. */
		if (ctl & 0x60)
			gp_h2_lost(c, ctl & 1, ctl & 0x20 ? GP_HTTP_LOST_RINGBUF : GP_HTTP_LOST_MIDSTREAM,
				   ctl >> 7, pos);
		gp_h2_frame(c, ctl & 1, f, n, (ctl & 2) != 0, pos);
		free(f);
	}
	gp_h2_lost(c, 0, GP_HTTP_LOST_GAP, 0, 0);
	gp_h2_conn_free(c);
	return 0;
}
