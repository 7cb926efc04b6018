// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "decode/http.h"

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
