// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Ring-buffer records as the loader decodes them: any bytes, no crash, no read outside. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/event.h"

/* Every byte is read, so ASan sees an out-of-bounds one. */
static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_payload_event h;
	struct gp_tls_event th;
	const uint8_t *payload;
	struct gp_conn c;
	/* A private copy sized exactly, so ASan sees any overread. */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	gp_event_type(buf, size);
	if (!gp_conn_decode(buf, size, &c) && (c.dir >= GP_DIR_MAX || c.result >= GP_RES_MAX))
		abort();
	if (!gp_payload_decode(buf, size, &h, &payload)) {
		uint32_t i;

		if (payload + h.len > buf + size || h.off + h.len > GP_FIRST_PAYLOAD_MAX)
			abort();
		for (i = 0; i < h.len; i++)
			sink ^= payload[i];
	}
	if (!gp_tls_event_decode(buf, size, &th, &payload)) {
		uint32_t i;

		if (payload + th.len > buf + size || th.len > th.total || th.dir > 1)
			abort();
		for (i = 0; i < th.len; i++)
			sink ^= payload[i];
	}
	free(buf);
	return 0;
}
