// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "htab.h"

struct gp_agg {
	unsigned max_tags;
	unsigned per_dir[GP_DIR_MAX];
	uint64_t events;
	uint64_t overflow;
	size_t n, cap;			/* tags in use, allocated */
	struct gp_tag_stats *tags;
	struct gp_htab index;		/* of nodes[i], standing for tags[i] */
	struct gp_hnode *nodes;
};

static uint32_t tag_hash(unsigned dir, const char *alpn, const char *gray)
{
	uint32_t h = 2166136261u ^ dir;	/* FNV-1a */
	const char *s;

	for (s = alpn; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;	/* separator: ("a","bc") != ("ab","c") */
	for (s = gray; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

struct gp_agg *gp_agg_new(unsigned max_tags)
{
	struct gp_agg *agg;
	size_t slots;

	if (max_tags == 0 || max_tags > GP_MAX_TAGS_LIMIT)
		return NULL;
	agg = calloc(1, sizeof(*agg));
	if (!agg)
		return NULL;
	agg->max_tags = max_tags;
	/* Every direction's tags plus its overflow tag, fixed up front. */
	agg->cap = (size_t)GP_DIR_MAX * (max_tags + 1);
	/* Buckets for every tag up front: recording never allocates. */
	for (slots = 16; slots < agg->cap; slots <<= 1)
		;
	agg->tags = calloc(agg->cap, sizeof(*agg->tags));
	agg->nodes = calloc(agg->cap, sizeof(*agg->nodes));
	if (!agg->tags || !agg->nodes || gp_htab_init(&agg->index, slots)) {
		gp_agg_free(agg);
		return NULL;
	}
	return agg;
}

void gp_agg_free(struct gp_agg *agg)
{
	if (!agg)
		return;
	free(agg->tags);
	free(agg->nodes);
	gp_htab_release(&agg->index);
	free(agg);
}

static struct gp_tag_stats *lookup(struct gp_agg *agg, unsigned dir, const char *alpn,
				   const char *gray, int create)
{
	uint32_t hash = tag_hash(dir, alpn, gray);
	struct gp_tag_stats *t;
	struct gp_hnode *x;

	for (x = gp_htab_chain(&agg->index, hash); x; x = x->next) {
		t = &agg->tags[x - agg->nodes];
		if (x->hash == hash && t->dir == dir && !strcmp(t->alpn, alpn) &&
		    !strcmp(t->gray, gray))
			return t;
	}
	if (!create || agg->n == agg->cap)
		return NULL;
	gp_htab_add(&agg->index, &agg->nodes[agg->n], hash);
	t = &agg->tags[agg->n++];
	t->dir = dir;
	snprintf(t->alpn, sizeof(t->alpn), "%s", alpn);
	snprintf(t->gray, sizeof(t->gray), "%s", gray);
	return t;
}

/* The tag's stats, made if the cap allows, else the direction's overflow tag. */
static struct gp_tag_stats *tag_for(struct gp_agg *agg, unsigned dir, const char *alpn,
				    const char *gray, int *folded)
{
	struct gp_tag_stats *t;

	*folded = 0;
	t = lookup(agg, dir, alpn, gray, 0);
	if (!t && agg->per_dir[dir] < agg->max_tags) {
		t = lookup(agg, dir, alpn, gray, 1);
		agg->per_dir[dir]++;
	}
	if (!t) {
		/* Cardinality cap: strangers choose ALPN/SNI/headers, not our memory. */
		*folded = 1;
		t = lookup(agg, dir, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG, 1);
	}
	return t;
}

void gp_agg_add_bytes(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
		      uint64_t bytes)
{
	int folded;

	if (dir >= GP_DIR_MAX)
		dir = GP_DIR_OUTBOUND;
	tag_for(agg, dir, alpn, gray, &folded)->bytes += bytes;
}

void gp_agg_record(struct gp_agg *agg, const struct gp_conn *c)
{
	unsigned dir = c->dir < GP_DIR_MAX ? c->dir : GP_DIR_OUTBOUND;
	struct gp_tag_stats *t;
	int folded;

	agg->events++;
	t = tag_for(agg, dir, c->alpn, c->gray, &folded);
	agg->overflow += folded;
	t->results[c->result < GP_RES_MAX ? c->result : GP_RES_OTHER]++;
	if (c->result == GP_RES_ESTABLISHED) {
		t->buckets[gp_hist_bucket(c->latency_ns)]++;
		t->sum_ns += c->latency_ns;
	}
}

int gp_tag_cmp(const void *a, const void *b)
{
	const struct gp_tag_stats *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	r = strcmp(x->alpn, y->alpn);
	return r ? r : strcmp(x->gray, y->gray);
}

int gp_agg_snapshot(const struct gp_agg *agg, struct gp_snapshot *snap)
{
	struct gp_tag_stats *copy = NULL;

	if (agg->n) {
		copy = malloc(agg->n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, agg->tags, agg->n * sizeof(*copy));
		qsort(copy, agg->n, sizeof(*copy), gp_tag_cmp);
	}
	snap->events = agg->events;
	snap->tags_overflow = agg->overflow;
	snap->n_tags = agg->n;
	snap->tags = copy;
	return 0;
}

void gp_snapshot_release(struct gp_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->tags);
	snap->tags = NULL;
	snap->n_tags = 0;
}
