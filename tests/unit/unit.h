/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the unit tests; include after <cmocka.h>. */
#ifndef GP_UNIT_H
#define GP_UNIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/agg.h"
#include "pipeline/event.h"
#include "pipeline/rules.h"

/* An HTTP/2 frame header (RFC 9113 4.1) at out: a payload of len bytes follows. */
static inline void h2_header(uint8_t out[9], uint32_t len, uint8_t type, uint8_t flags,
			     uint32_t sid)
{
	out[0] = (uint8_t)(len >> 16);
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	out[3] = type;
	out[4] = flags;
	out[5] = (uint8_t)(sid >> 24);
	out[6] = (uint8_t)(sid >> 16);
	out[7] = (uint8_t)(sid >> 8);
	out[8] = (uint8_t)sid;
}

/* A FILE * into memory, so renderers are tested without touching disk. */
struct mem {
	FILE *f;
	char *buf;
	size_t len;
};

static inline void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

/* Closes the stream so buf/len are final; caller frees buf. */
static inline char *mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->f), 0);
	m->f = NULL;
	return m->buf;
}

/* A decoded outcome with only what aggregation looks at. */
static inline struct gp_conn make_conn(enum gp_direction dir, const char *alpn,
				       const char *gray, enum gp_result res,
				       uint64_t latency_ns)
{
	struct gp_conn c;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.result = res;
	c.latency_ns = latency_ns;
	snprintf(c.alpn, sizeof(c.alpn), "%s", alpn);
	snprintf(c.gray, sizeof(c.gray), "%s", gray);
	return c;
}

/* Rules from '\n'-separated --rule lines (defaults appended unless no-defaults). */
static inline struct gp_rules *rules_from(const char *text)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char err[512], *copy = strdup(text), *line, *save = NULL;
	struct gp_rules *r;

	assert_non_null(b);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (gp_rules_add_line(b, line, "--rule", 0, err, sizeof(err)))
			fail_msg("'%s' refused: %s", line, err);
	free(copy);
	r = gp_rules_build(b);
	assert_non_null(r);
	return r;
}

/* Request stats of one tag, all counts 0; grpc with alpn "". */
static inline struct gp_req_stats make_req(unsigned dir, int grpc, const char *alpn,
					   const char *gray)
{
	struct gp_req_stats r;

	memset(&r, 0, sizeof(r));
	r.dir = dir;
	r.grpc = grpc;
	snprintf(r.alpn, sizeof(r.alpn), "%s", alpn);
	snprintf(r.gray, sizeof(r.gray), "%s", gray);
	return r;
}

/* A whole file, NUL-terminated; its length in *len unless len is NULL. */
static inline char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

#endif
