/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_AGG_H
#define GP_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "hist.h"

#define GP_MAX_TAGS_DEFAULT	64
#define GP_MAX_TAGS_LIMIT	4096
#define GP_OVERFLOW_TAG		"other"

/* Everything grayprobe knows about one (direction, alpn, gray). */
struct gp_tag_stats {
	uint8_t dir;			/* enum gp_direction */
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t buckets[GP_HIST_SLOTS];	/* non-cumulative, established only */
	uint64_t sum_ns;
	uint64_t results[GP_RES_MAX];
	uint64_t bytes;			/* TCP payload bytes of the tag's flows */
};

struct gp_agg;

/* At most max_tags distinct (alpn, gray) per direction, plus the overflow tag. */
struct gp_agg *gp_agg_new(unsigned max_tags);
void gp_agg_free(struct gp_agg *agg);
void gp_agg_record(struct gp_agg *agg, const struct gp_conn *c);
/* Flow bytes for a tag; a tag past the cap adds to the overflow tag. */
void gp_agg_add_bytes(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
		      uint64_t bytes);

/* What a renderer sees: a consistent copy, tags sorted by (dir, alpn, gray). */
struct gp_snapshot {
	const char *version;
	const char *connect_hook;
	const char *state_hook;
	uint64_t events;		/* outcomes received from the kernel */
	uint64_t lost_ringbuf;
	uint64_t lost_track;
	uint64_t lost_malformed;	/* records the loader could not decode */
	uint64_t lost_payload;		/* payload records the ring buffer refused */
	uint64_t pkt_malformed;		/* packets the classifier skipped */
	uint64_t tags_overflow;		/* outcomes folded into the overflow tag */
	uint64_t textfile_errors;	/* failed textfile rewrites so far */
	size_t n_tags;
	struct gp_tag_stats *tags;
};

/* qsort order of struct gp_tag_stats: direction, then alpn, then gray. */
int gp_tag_cmp(const void *a, const void *b);

/* Fills snap (tags allocated); the caller sets version/hooks/lost counts. */
int gp_agg_snapshot(const struct gp_agg *agg, struct gp_snapshot *snap);
void gp_snapshot_release(struct gp_snapshot *snap);

#endif
