// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "decode/http.h"

void gp_http_msg_init(struct gp_http_msg *m, enum gp_http_ev ev, unsigned proto, unsigned dir,
		      uint64_t ts_ns)
{
	memset(m, 0, sizeof(*m));
	m->ev = ev;
	m->dir = (uint8_t)dir;
	m->proto = (uint8_t)proto;
	m->ts_ns = ts_ns;
	m->method = m->authority = m->path = "";
	m->hdrs = (const uint8_t *)"";
	m->grpc_status = -1;
}

const char *gp_http_lost_name(unsigned reason)
{
	static const char *const names[GP_HTTP_LOST_MAX] = {
		[GP_HTTP_LOST_GAP] = "gap",
		[GP_HTTP_LOST_RINGBUF] = "ringbuf",
		[GP_HTTP_LOST_MIDSTREAM] = "midstream",
		[GP_HTTP_LOST_MALFORMED] = "malformed",
		[GP_HTTP_LOST_HPACK] = "hpack",
		[GP_HTTP_LOST_HEAD] = "head",
		[GP_HTTP_LOST_TRUNCATED] = "truncated",
	};

	return reason < GP_HTTP_LOST_MAX && names[reason] ? names[reason] : "unknown";
}
