// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The TLS plaintext path through the pipeline: GP_EV_TLS records scripted
 * from the input (two processes, two sessions each, both ends of two flows,
 * joined or not, first, cut, skipped, closed and reused), plaintext any
 * bytes. Every record is counted once under a result, the walker's records
 * never contradict their unit (l7_bad_records stays 0), and every request
 * out is a TLS one with labels in range.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "pipeline/pipeline.h"

#define MS	1000000ull

static void on_req(void *ctx, const struct gp_request *r)
{
	(void)ctx;
	if (!r->tls || r->code >= GP_CODE_MAX || (strcmp(r->alpn, "h2") &&
	    strcmp(r->alpn, "http/1.1") && strcmp(r->alpn, "http/1.0")))
		abort();
	printable(r->gray, GP_TAG_MAX);
}

/* Stream offsets per (process, session, direction): 2 x 2 x 2. */
static uint64_t offs[8];

/* One record from p[0..3] and the data after; returns the bytes it took. */
static size_t step(struct gp_pipeline *p, const uint8_t *in, size_t n, uint64_t ts,
		   uint64_t *fed)
{
	uint8_t rec[sizeof(struct gp_tls_event) + 512];
	struct gp_tls_event *h = (struct gp_tls_event *)rec;
	unsigned sel = in[0], slot = sel & 7;
	uint32_t len = ((uint32_t)in[2] << 8 | in[3]) % 512;

	in += 4;
	n -= 4;
	if (len > n)
		len = (uint32_t)n;
	memset(h, 0, sizeof(*h));
	h->type = GP_EV_TLS;
	h->pid = 100 + (slot >> 2);
	h->sess = 0x1000 + ((slot >> 1) & 1);
	h->dir = slot & 1;
	h->side = (uint8_t)(h->pid & 1);
	h->flow.family = AF_INET;
	h->flow.saddr[0] = 198, h->flow.saddr[1] = 18, h->flow.saddr[3] = 1;
	h->flow.daddr[0] = 198, h->flow.daddr[1] = 18, h->flow.daddr[3] = 2;
	h->flow.sport = 40000 + ((sel >> 3) & 1);
	h->flow.dport = 443;
	h->isn = 7 + h->flow.sport;
	h->flags = in[-3] & (GP_TLS_F_JOINED | GP_TLS_F_FIRST | GP_TLS_F_CLOSE);
	h->ts_ns = ts;
	if (sel & 0x10)
		offs[slot] += in[-3] >> 3;	/* bytes the kernel did not deliver */
	h->off = offs[slot];
	h->len = (h->flags & GP_TLS_F_CLOSE) ? 0 : len;
	h->total = h->len + ((sel & 0x20) && !(h->flags & GP_TLS_F_CLOSE) ? in[-2] : 0);
	memcpy(rec + sizeof(*h), in, h->len);
	offs[slot] += h->total;
	if (gp_pipeline_record(p, rec, sizeof(*h) + h->len, ts))
		abort();
	*fed += !(h->flags & GP_TLS_F_CLOSE);
	return 4 + h->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_pipeline_sinks sinks = { .request = on_req };
	struct gp_pipeline_config cfg = { .aggregate = 1, .max_tags = 16 };
	struct gp_rules_builder *b = gp_rules_builder_new();
	struct gp_rules *rules = b ? gp_rules_build(b) : NULL;
	struct gp_pipeline *p = NULL;
	struct gp_snapshot snap;
	uint64_t ts = 1000 * MS, fed = 0, sum = 0;
	unsigned r;

	memset(offs, 0, sizeof(offs));
	if (!rules || gp_pipeline_new(&p, &cfg, &sinks))
		abort();
	gp_pipeline_set_rules(p, rules);
	while (size >= 4) {
		size_t used = step(p, data, size, ts, &fed);

		data += used;
		size -= used;
		ts += MS;
	}
	if (gp_pipeline_snapshot(p, &snap))
		abort();
	for (r = 0; r < GP_TLS_R_MAX; r++)
		sum += snap.tls.records[r];
	if (sum != fed || snap.l7_bad_records || snap.tls.sessions > 8)
		abort();
	gp_snapshot_release(&snap);
	gp_pipeline_flush(p);
	gp_pipeline_free(p);
	gp_rules_free(rules);
	return 0;
}
