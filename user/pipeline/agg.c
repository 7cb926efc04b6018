// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/agg.h"
#include "pipeline/rules.h"
#include "util/htab.h"

/* A tag and when it was last used, in the caller's clock (gp_agg_retire's). */
struct slot {
	struct gp_hnode node;		/* in gp_agg.index; first: beside the key a lookup compares */
	struct gp_tag_stats s;
	uint64_t last_seen;
	uint8_t touched;		/* used since the last gp_agg_retire */
};

struct gp_agg {
	unsigned max_tags;
	unsigned dynamic[GP_DIR_MAX];	/* unpinned tags, the overflow tag not counted */
	unsigned pinned[GP_DIR_MAX];
	uint64_t events;
	uint64_t overflow;
	uint64_t rejected;
	uint64_t retired;
	struct gp_agg_fold fold;	/* the last outcome folded */
	size_t n, cap, max_cap;		/* tags in use, allocated, most there can be */
	struct slot *tags;
	struct gp_htab index;		/* tags[0, n), buckets for cap: adding never allocates */
};

/*
 * ALPN labels a pinned tag may have. The ALPN is the client's choice: with
 * any value allowed, random offers under a fixed gray would pin without
 * bound. These are what grayprobe itself names flows (none, unknown, tls,
 * http/1.1, h2c) and what HTTP clients offer first; GP_OVERFLOW_TAG is where
 * the others go once the dynamic cap is full.
 */
static const char *const pinned_alpns[GP_PINNED_ALPNS] = {
	"h2", "http/1.1", "http/1.0", "h2c", "tls", "unknown", "none", GP_OVERFLOW_TAG,
};

static int pinned_alpn(const char *alpn)
{
	unsigned i;

	for (i = 0; i < GP_PINNED_ALPNS; i++)
		if (!strcmp(alpn, pinned_alpns[i]))
			return 1;
	return 0;
}

static int is_overflow(const struct gp_tag_stats *t)
{
	return !strcmp(t->alpn, GP_OVERFLOW_TAG) && !strcmp(t->gray, GP_OVERFLOW_TAG);
}

static uint32_t tag_hash(unsigned dir, const char *alpn, const char *gray)
{
	uint8_t d = (uint8_t)dir;

	return gp_hash_str(gp_hash_str(gp_hash_more(GP_HASH_INIT, &d, 1), alpn), gray);
}

/* A tag moves to a free place (growing, compacting): its node goes with it. */
static void move_tag(struct gp_agg *agg, struct slot *to, struct slot *from)
{
	gp_htab_del(&agg->index, &from->node);
	*to = *from;
	gp_htab_add(&agg->index, &to->node, to->node.hash);	/* one was taken out: no growth */
}

struct gp_agg *gp_agg_new(unsigned max_tags)
{
	struct gp_agg *agg;

	if (max_tags == 0 || max_tags > GP_MAX_TAGS_LIMIT)
		return NULL;
	agg = calloc(1, sizeof(*agg));
	if (!agg)
		return NULL;
	agg->max_tags = max_tags;
	/* Every direction's dynamic tags plus its overflow tag up front; pinned ones grow it. */
	agg->cap = (size_t)GP_DIR_MAX * (max_tags + 1);
	agg->max_cap = (size_t)GP_DIR_MAX * (max_tags + GP_PINNED_TAGS_MAX + 1);
	agg->tags = calloc(agg->cap, sizeof(*agg->tags));
	if (!agg->tags || gp_htab_init(&agg->index, 16) ||
	    gp_htab_reserve(&agg->index, agg->cap)) {
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
	gp_htab_release(&agg->index);
	free(agg);
}

/* Room for one more tag; 0 when out of memory or at max_cap. */
static int room(struct gp_agg *agg)
{
	size_t cap = 2 * agg->cap < agg->max_cap ? 2 * agg->cap : agg->max_cap, i;
	struct slot *tags;

	if (agg->n < agg->cap)
		return 1;
	if (cap <= agg->cap || gp_htab_reserve(&agg->index, cap))
		return 0;
	tags = malloc(cap * sizeof(*tags));
	if (!tags)
		return 0;
	for (i = 0; i < agg->n; i++)
		move_tag(agg, &tags[i], &agg->tags[i]);
	free(agg->tags);
	agg->tags = tags;
	agg->cap = cap;
	return 1;
}

static struct slot *lookup(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
			   int create)
{
	uint32_t hash = tag_hash(dir, alpn, gray);
	struct gp_hnode *x;
	struct slot *t;

	for (x = gp_htab_chain(&agg->index, hash); x; x = x->next) {
		t = gp_container_of(x, struct slot, node);
		if (x->hash == hash && t->s.dir == dir && !strcmp(t->s.alpn, alpn) &&
		    !strcmp(t->s.gray, gray))
			return t;
	}
	if (!create || !room(agg))
		return NULL;
	t = &agg->tags[agg->n++];
	memset(t, 0, sizeof(*t));
	t->s.dir = dir;
	snprintf(t->s.alpn, sizeof(t->s.alpn), "%s", alpn);
	snprintf(t->s.gray, sizeof(t->s.gray), "%s", gray);
	gp_htab_add(&agg->index, &t->node, hash);
	return t;
}

/* A new pinned tag, while the direction's pinned bound allows. */
static struct slot *new_pinned(struct gp_agg *agg, unsigned dir, const char *alpn,
			       const char *gray)
{
	struct slot *t = lookup(agg, dir, alpn, gray, 0);

	if (t || agg->pinned[dir] >= GP_PINNED_TAGS_MAX)
		return t;
	t = lookup(agg, dir, alpn, gray, 1);
	if (t) {
		t->s.pinned = 1;
		agg->pinned[dir]++;
	}
	return t;
}

/*
 * The tag's stats, made if the caps allow, else a fold: alpn "other" for a
 * fixed gray, the direction's overflow tag for the rest. Pinned tags have a
 * bound of their own, so strangers filling the dynamic cap cannot keep them
 * out. NULL only when out of memory.
 */
static struct slot *tag_for(struct gp_agg *agg, unsigned dir, const char *alpn,
			    const char *gray, int fixed, int *folded)
{
	struct slot *t = lookup(agg, dir, alpn, gray, 0);

	*folded = 0;
	if (t && fixed && !t->s.pinned && pinned_alpn(alpn) &&
	    agg->pinned[dir] < GP_PINNED_TAGS_MAX) {
		t->s.pinned = 1;	/* made by a header value first, now a fixed rule's */
		agg->dynamic[dir]--;
		agg->pinned[dir]++;
	}
	if (t)
		return t;
	if (fixed && pinned_alpn(alpn)) {
		t = new_pinned(agg, dir, alpn, gray);
	} else if (agg->dynamic[dir] < agg->max_tags) {
		t = lookup(agg, dir, alpn, gray, 1);
		agg->dynamic[dir] += t != NULL;
	}
	if (!t && fixed && strcmp(alpn, GP_OVERFLOW_TAG)) {
		*folded = 1;
		t = new_pinned(agg, dir, GP_OVERFLOW_TAG, gray);
	}
	if (!t) {
		/* Cardinality cap: strangers choose ALPN/SNI/headers, not our memory. */
		*folded = 1;
		t = lookup(agg, dir, GP_OVERFLOW_TAG, GP_OVERFLOW_TAG, 1);
	}
	return t;
}

static struct slot *get(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
			unsigned gray_flags, int *folded)
{
	struct slot *t = tag_for(agg, dir, alpn, gray, !!(gray_flags & GP_GRAY_FIXED), folded);

	if (t)
		t->touched = 1;
	return t;
}

void gp_agg_add_bytes(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
		      unsigned gray_flags, uint64_t bytes)
{
	struct slot *t;
	int folded;

	if (dir >= GP_DIR_MAX)
		dir = GP_DIR_OUTBOUND;
	t = get(agg, dir, alpn, gray, gray_flags, &folded);
	if (t)
		t->s.bytes += bytes;
}

static void note_fold(struct gp_agg *agg, unsigned dir, const struct gp_conn *c,
		      const struct slot *t)
{
	agg->overflow++;
	agg->fold.count = agg->overflow;
	agg->fold.dir = dir;
	memcpy(agg->fold.alpn, c->alpn, sizeof(agg->fold.alpn));
	memcpy(agg->fold.gray, c->gray, sizeof(agg->fold.gray));
	snprintf(agg->fold.to_alpn, sizeof(agg->fold.to_alpn), "%s", t ? t->s.alpn : "");
	snprintf(agg->fold.to_gray, sizeof(agg->fold.to_gray), "%s", t ? t->s.gray : "");
}

void gp_agg_record(struct gp_agg *agg, const struct gp_conn *c)
{
	unsigned dir = c->dir < GP_DIR_MAX ? c->dir : GP_DIR_OUTBOUND;
	struct gp_tag_stats *s;
	struct slot *t;
	int folded;

	agg->events++;
	agg->rejected += !!(c->gray_flags & GP_GRAY_REJECTED);
	t = get(agg, dir, c->alpn, c->gray, c->gray_flags, &folded);
	if (folded)
		note_fold(agg, dir, c, t);
	if (!t)
		return;
	s = &t->s;
	s->results[c->result < GP_RES_MAX ? c->result : GP_RES_OTHER]++;
	if (c->result == GP_RES_ESTABLISHED) {
		s->buckets[gp_hist_bucket(c->latency_ns)]++;
		s->sum_ns += c->latency_ns;
	}
}

size_t gp_agg_retire(struct gp_agg *agg, uint64_t now_ns, uint64_t idle_ns)
{
	size_t i, kept = 0, n0 = agg->n;

	for (i = 0; i < agg->n; i++) {
		struct slot *t = &agg->tags[i];

		if (t->touched || !t->last_seen)
			t->last_seen = now_ns;
		t->touched = 0;
		if (idle_ns && !t->s.pinned && !is_overflow(&t->s) &&
		    now_ns - t->last_seen >= idle_ns) {
			agg->dynamic[t->s.dir]--;
			gp_htab_del(&agg->index, &t->node);
			continue;
		}
		if (kept != i)
			move_tag(agg, &agg->tags[kept], t);
		kept++;
	}
	agg->n = kept;
	agg->retired += n0 - kept;
	return n0 - kept;
}

void gp_agg_last_fold(const struct gp_agg *agg, struct gp_agg_fold *out)
{
	*out = agg->fold;
	out->max_tags = agg->max_tags;
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
	size_t i;

	if (agg->n) {
		copy = malloc(agg->n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		for (i = 0; i < agg->n; i++)
			copy[i] = agg->tags[i].s;
		qsort(copy, agg->n, sizeof(*copy), gp_tag_cmp);
	}
	snap->events = agg->events;
	snap->tags_overflow = agg->overflow;
	snap->gray_rejected = agg->rejected;
	snap->tags_retired = agg->retired;
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
