// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * decode/plain.c against the reference the kernel's walker is held to
 * (tests/tools/l7ref.h, l7dump's random differential): random HTTP/1 and
 * HTTP/2 streams, sent as calls of random sizes with repeats and overlaps
 * among them, must give exactly the reference's units, also when the
 * producer says it joined them (first) at their start; every record goes
 * through decode/l7.c too, which must take it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode/l7.h"
#include "decode/plain.h"

#define STREAM_MAX	(1 << 20)
#define SEG_MAX		1400

struct dirbuf {
	uint8_t *b;
	size_t len;		/* bytes appended */
	size_t sent;		/* bytes sent or skipped */
};

struct rec {
	struct gp_l7_event h;
	uint8_t *data;
};

/* What l7ref.h knows of l7dump's state, the kernel's place taken by a gp_plain. */
static struct {
	struct dirbuf d[2];
	struct rec *recs;
	size_t nrec, cap;
	int v6;
	uint16_t sport;
	struct gp_plain *p;
	struct gp_l7 *l7;
	uint64_t ts;
	int join, sent;		/* the flow's first call says first */
} S;

static void on_msg(void *ctx, struct gp_l7_conn *c, const struct gp_http_msg *m)
{
	(void)ctx;
	(void)c;
	(void)m;
}

static void on_rec(void *ctx, const struct gp_l7_event *h, const uint8_t *data)
{
	struct rec *r;

	(void)ctx;
	if (S.nrec == S.cap) {
		S.cap = S.cap ? S.cap * 2 : 256;
		S.recs = realloc(S.recs, S.cap * sizeof(*S.recs));
		assert_non_null(S.recs);
	}
	r = &S.recs[S.nrec++];
	r->h = *h;
	r->data = malloc(h->len + 1);
	assert_non_null(r->data);
	if (h->len)
		memcpy(r->data, data, h->len);
	assert_int_not_equal(gp_l7_record(S.l7, h, data), -EINVAL);
}

static int flow_open(const char *how)
{
	(void)how;
	memset(S.d, 0, sizeof(S.d));
	for (int i = 0; i < 2; i++) {
		S.d[i].b = calloc(1, STREAM_MAX);
		if (!S.d[i].b)
			return -1;
	}
	gp_plain_free(S.p);
	S.p = gp_plain_new();
	S.sent = 0;
	return S.p ? 0 : -1;
}

/* One TLS call of dir: bytes [off, off + n). */
static int send_range(int dir, size_t off, size_t n)
{
	struct gp_l7_event t;

	memset(&t, 0, sizeof(t));
	t.type = GP_EV_L7;
	t.ts_ns = ++S.ts;
	t.flow.family = S.v6 ? 10 : 2;
	t.flow.sport = S.sport;
	t.flow.dport = 443;
	t.isn = S.sport;
	t.dir = (uint8_t)dir;
	return gp_plain_feed(S.p, &t, off, S.d[dir].b + off, (uint32_t)n, (uint32_t)n,
			     S.join && !S.sent++, on_rec, NULL);
}

#include "../tools/l7stream.h"

static void print_rec(const struct rec *r)
{
	const struct gp_l7_event *h = &r->h;

	fprintf(stderr, "dir=%u kind=%u unit=%u off=%u len=%u flags=%u reason=%u proto=%u\n",
		h->dir, h->kind, h->unit_off, h->off, h->len, h->flags, h->reason, h->proto);
}

static void clear_recs(void)
{
	for (size_t i = 0; i < S.nrec; i++)
		free(S.recs[i].data);
	S.nrec = 0;
}

#include "../tools/l7ref.h"

static void test_random_flows(void **state)
{
	static const struct gp_l7_ops ops = { .msg = on_msg };
	struct gp_l7_stats st;
	unsigned long seed;

	(void)state;
	/* joined (first) flows seen from their start give the same records */
	for (seed = 1; seed <= 4; seed++) {
		S.join = seed > 2;
		S.l7 = gp_l7_new(&ops);
		assert_non_null(S.l7);
		assert_int_equal(random_flows(500, seed, 0), 0);
		gp_l7_stats(S.l7, &st);
		assert_int_equal(st.bad_records, 0);
		gp_l7_free(S.l7);
	}
	clear_recs();
	free(S.recs);
	gp_plain_free(S.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
