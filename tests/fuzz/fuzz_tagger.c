// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tagger driven by a script read from the input: outcomes, payload
 * records at any offsets, flow ends, byte totals, ticks, sweeps, over a few
 * 4-tuples and ISNs. Whatever the order, every outcome handed in comes out
 * exactly once, tagged with a printable label; a handshake time comes
 * only for a direction an outcome joined, under that outcome's label.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pipeline/tagger.h"

struct count {
	uint64_t in, out;
};

static void on_conn(void *ctx, const struct gp_conn *c)
{
	struct count *n = ctx;
	const char *s;

	n->out++;
	for (s = c->alpn; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
	if (!c->alpn[0] || !c->gray[0])
		abort();
}

static void on_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	const char *s;

	(void)ctx;
	if (h->dir >= GP_DIR_MAX || !h->alpn[0] || !h->gray[0] || h->ts_ns < h->duration_ns)
		abort();
	for (s = h->alpn; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

static void tuple(struct gp_flow_tuple *t, uint8_t sel)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	t->saddr[0] = 198, t->saddr[1] = 18, t->saddr[3] = 1;
	t->daddr[0] = 198, t->daddr[1] = 19, t->daddr[3] = 2;
	t->sport = 40000 + (sel & 3);
	t->dport = 443;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct count n = { 0 };
	struct gp_tagger_ops ops = { .conn = on_conn, .handshake = on_handshake, .ctx = &n };
	struct gp_tagger_config cfg = { .tag_wait_ns = 1000, .endpoint_memory_ns = 100000 };
	struct gp_tagger *t = gp_tagger_new(&ops, &cfg);
	struct gp_rules *rules = gp_rules_build(gp_rules_builder_new());
	uint8_t *rec = malloc(sizeof(struct gp_payload_event) + GP_FIRST_PAYLOAD_MAX);
	uint64_t now = 1;
	size_t i = 0;

	if (!t || !rec)
		goto out;
	gp_tagger_set_rules(t, rules);
	while (i + 4 <= size) {
		uint8_t op = data[i], sel = data[i + 1];
		uint16_t arg = (uint16_t)(data[i + 2] | data[i + 3] << 8);
		struct gp_payload_event h = { 0 };
		struct gp_conn c = { 0 };

		i += 4;
		now += 1 + (arg & 0x3ff);
		switch (op % 6) {
		case 0:	/* an outcome */
			tuple(&h.flow, sel);
			c.family = AF_INET;
			memcpy(c.saddr, h.flow.saddr, 16);
			memcpy(c.daddr, h.flow.daddr, 16);
			c.sport = h.flow.sport;
			c.dport = h.flow.dport;
			c.dir = sel & 4 ? GP_DIR_INBOUND : GP_DIR_OUTBOUND;
			c.result = sel & 8 ? GP_RES_REFUSED : GP_RES_ESTABLISHED;
			c.has_flow = !(sel & 16);
			c.flow_isn = sel >> 6;
			c.netns = arg >> 14;	/* endpoint memory: a few namespaces */
			n.in++;
			gp_tagger_conn(t, &c, now);
			break;
		case 1:	/* payload: the rest of the input up to arg bytes, at offset from sel */
		case 2: {
			size_t len = arg % (GP_FIRST_PAYLOAD_MAX + 1);

			if (len > size - i)
				len = size - i;
			tuple(&h.flow, sel);
			h.type = GP_EV_PAYLOAD;
			h.ts_ns = now;
			h.isn = sel >> 6;
			h.off = (uint32_t)(sel & 0x30) * 32;
			if (h.off + len > GP_FIRST_PAYLOAD_MAX)
				len = GP_FIRST_PAYLOAD_MAX - h.off;
			h.len = len;
			h.bytes = arg;
			gp_tagger_payload(t, &h, data + i, now);
			i += len;
			break;
		}
		case 3:
			tuple(&h.flow, sel);
			h.type = GP_EV_FLOW_END;
			h.isn = sel >> 6;
			h.bytes = arg;
			gp_tagger_payload(t, &h, NULL, now);
			break;
		case 4:
			tuple(&h.flow, sel);
			gp_tagger_flow_bytes(t, &h.flow, sel >> 6, arg);
			break;
		default:
			if (sel & 1)
				gp_tagger_sweep_begin(t);
			gp_tagger_tick(t, now, sel & 2);
			break;
		}
		/* Nothing leaves twice, nothing appears from nowhere. */
		if (n.out > n.in)
			abort();
	}
	gp_tagger_flush(t);
	if (n.out != n.in)
		abort();
out:
	gp_tagger_free(t);
	gp_rules_free(rules);
	free(rec);
	return 0;
}
