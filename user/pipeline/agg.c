// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/agg.h"
#include "pipeline/request.h"
#include "pipeline/rules.h"
#include "util/htab.h"

/*
 * A tag and when it was last used, in the caller's clock (gp_agg_retire's).
 * Connection tags and request series are both tags: the same cap, folding,
 * pinning and retirement, one tag set each.
 */
struct slot {
	struct gp_hnode node;		/* in its set's index; first: beside the key a lookup compares */
	uint8_t dir, grpc, pinned, touched;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t last_seen;
	union {
		struct gp_tag_stats conn;
		struct gp_req_stats req;
	} s;				/* key fields filled by a snapshot */
};

/* A tag's identity: grpc series have alpn "" and their own overflow tag. */
struct tkey {
	unsigned dir;
	int grpc;
	const char *alpn, *gray;
};

struct tagset {
	unsigned max_tags;
	unsigned dynamic[GP_DIR_MAX];	/* unpinned tags, the overflow tags not counted */
	unsigned pinned[GP_DIR_MAX];
	uint64_t overflow;		/* outcomes folded */
	uint64_t retired;
	struct gp_agg_fold fold;	/* the last outcome folded */
	size_t n, cap, max_cap;		/* tags in use, allocated, most there can be */
	struct slot *tags;
	struct gp_htab index;		/* tags[0, n), buckets for cap: adding never allocates */
};

struct gp_agg {
	struct tagset conns, reqs;
	uint64_t events;
	uint64_t rejected;
	uint64_t req_undecoded[GP_DIR_MAX][GP_REQ_UNDECODED_MAX];
	uint64_t req_unattributed;
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

const char *gp_req_code_name(unsigned code)
{
	static const char *const names[GP_CODE_MAX] = {
		"1xx", "2xx", "3xx", "4xx", "5xx", "reset", "none",
	};

	return code < GP_CODE_MAX ? names[code] : "none";
}

const char *gp_grpc_slot_name(unsigned slot)
{
	static const char *const names[GP_GRPC_SLOTS] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED", "reset", "none",
	};

	return slot < GP_GRPC_SLOTS ? names[slot] : "none";
}

static int pinned_alpn(const char *alpn)
{
	unsigned i;

	for (i = 0; i < GP_PINNED_ALPNS; i++)
		if (!strcmp(alpn, pinned_alpns[i]))
			return 1;
	return 0;
}

/* Where a tag past the cap goes: (other, other), for gRPC ("", other). */
static const char *overflow_alpn(int grpc)
{
	return grpc ? "" : GP_OVERFLOW_TAG;
}

/* gRPC series have no ALPN to choose: a fixed gray pins them. */
static int pinnable(const struct tkey *k)
{
	return k->grpc || pinned_alpn(k->alpn);
}

static int is_overflow(const struct slot *t)
{
	return !strcmp(t->alpn, overflow_alpn(t->grpc)) && !strcmp(t->gray, GP_OVERFLOW_TAG);
}

static uint32_t tag_hash(const struct tkey *k)
{
	uint8_t d[2] = { (uint8_t)k->dir, (uint8_t)!!k->grpc };

	return gp_hash_str(gp_hash_str(gp_hash_more(GP_HASH_INIT, d, 2), k->alpn), k->gray);
}

/* A tag moves to a free place (growing, compacting): its node goes with it. */
static void move_tag(struct tagset *ts, struct slot *to, struct slot *from)
{
	gp_htab_del(&ts->index, &from->node);
	*to = *from;
	gp_htab_add(&ts->index, &to->node, to->node.hash);	/* one was taken out: no growth */
}

/* Every direction's dynamic tags plus its overflow tags up front; pinned ones grow it. */
static int tagset_init(struct tagset *ts, unsigned max_tags, unsigned overflow_tags)
{
	ts->max_tags = max_tags;
	ts->cap = (size_t)GP_DIR_MAX * (max_tags + overflow_tags);
	ts->max_cap = (size_t)GP_DIR_MAX * (max_tags + overflow_tags * (GP_PINNED_TAGS_MAX + 1));
	ts->tags = calloc(ts->cap, sizeof(*ts->tags));
	if (!ts->tags || gp_htab_init(&ts->index, 16) || gp_htab_reserve(&ts->index, ts->cap))
		return -ENOMEM;
	return 0;
}

static void tagset_release(struct tagset *ts)
{
	free(ts->tags);
	gp_htab_release(&ts->index);
}

struct gp_agg *gp_agg_new(unsigned max_tags)
{
	struct gp_agg *agg;

	if (max_tags == 0 || max_tags > GP_MAX_TAGS_LIMIT)
		return NULL;
	agg = calloc(1, sizeof(*agg));
	if (!agg)
		return NULL;
	/* Requests: HTTP and gRPC series each have an overflow tag. */
	if (tagset_init(&agg->conns, max_tags, 1) || tagset_init(&agg->reqs, max_tags, 2)) {
		gp_agg_free(agg);
		return NULL;
	}
	return agg;
}

void gp_agg_free(struct gp_agg *agg)
{
	if (!agg)
		return;
	tagset_release(&agg->conns);
	tagset_release(&agg->reqs);
	free(agg);
}

/* Room for one more tag; 0 when out of memory or at max_cap. */
static int room(struct tagset *ts)
{
	size_t cap = 2 * ts->cap < ts->max_cap ? 2 * ts->cap : ts->max_cap, i;
	struct slot *tags;

	if (ts->n < ts->cap)
		return 1;
	if (cap <= ts->cap || gp_htab_reserve(&ts->index, cap))
		return 0;
	tags = malloc(cap * sizeof(*tags));
	if (!tags)
		return 0;
	for (i = 0; i < ts->n; i++)
		move_tag(ts, &tags[i], &ts->tags[i]);
	free(ts->tags);
	ts->tags = tags;
	ts->cap = cap;
	return 1;
}

static struct slot *lookup(struct tagset *ts, const struct tkey *k, int create)
{
	uint32_t hash = tag_hash(k);
	struct gp_hnode *x;
	struct slot *t;

	for (x = gp_htab_chain(&ts->index, hash); x; x = x->next) {
		t = gp_container_of(x, struct slot, node);
		if (x->hash == hash && t->dir == k->dir && t->grpc == !!k->grpc &&
		    !strcmp(t->alpn, k->alpn) && !strcmp(t->gray, k->gray))
			return t;
	}
	if (!create || !room(ts))
		return NULL;
	t = &ts->tags[ts->n++];
	memset(t, 0, sizeof(*t));
	t->dir = (uint8_t)k->dir;
	t->grpc = (uint8_t)!!k->grpc;
	snprintf(t->alpn, sizeof(t->alpn), "%s", k->alpn);
	snprintf(t->gray, sizeof(t->gray), "%s", k->gray);
	gp_htab_add(&ts->index, &t->node, hash);
	return t;
}

/* A new pinned tag, while the direction's pinned bound allows. */
static struct slot *new_pinned(struct tagset *ts, const struct tkey *k)
{
	struct slot *t = lookup(ts, k, 0);

	if (t || ts->pinned[k->dir] >= GP_PINNED_TAGS_MAX)
		return t;
	t = lookup(ts, k, 1);
	if (t) {
		t->pinned = 1;
		ts->pinned[k->dir]++;
	}
	return t;
}

/*
 * The tag's stats, made if the caps allow, else a fold: alpn "other" for a
 * fixed gray, the direction's overflow tag for the rest. Pinned tags have a
 * bound of their own, so strangers filling the dynamic cap cannot keep them
 * out. NULL only when out of memory.
 */
static struct slot *tag_for(struct tagset *ts, const struct tkey *k, int fixed, int *folded)
{
	const char *over = overflow_alpn(k->grpc);
	struct tkey fold = *k;
	struct slot *t = lookup(ts, k, 0);

	*folded = 0;
	if (t && fixed && !t->pinned && pinnable(k) && ts->pinned[k->dir] < GP_PINNED_TAGS_MAX) {
		t->pinned = 1;	/* made by a header value first, now a fixed rule's */
		ts->dynamic[k->dir]--;
		ts->pinned[k->dir]++;
	}
	if (t)
		return t;
	if (fixed && pinnable(k)) {
		t = new_pinned(ts, k);
	} else if (ts->dynamic[k->dir] < ts->max_tags) {
		t = lookup(ts, k, 1);
		ts->dynamic[k->dir] += t != NULL;
	}
	fold.alpn = over;
	if (!t && fixed && strcmp(k->alpn, over)) {
		*folded = 1;
		t = new_pinned(ts, &fold);
	}
	if (!t) {
		/* Cardinality cap: strangers choose ALPN/SNI/headers, not our memory. */
		*folded = 1;
		fold.gray = GP_OVERFLOW_TAG;
		t = lookup(ts, &fold, 1);
	}
	return t;
}

static void note_fold(struct tagset *ts, const struct tkey *k, const struct slot *t)
{
	ts->overflow++;
	ts->fold.count = ts->overflow;
	ts->fold.dir = k->dir;
	snprintf(ts->fold.alpn, sizeof(ts->fold.alpn), "%s", k->alpn);
	snprintf(ts->fold.gray, sizeof(ts->fold.gray), "%s", k->gray);
	snprintf(ts->fold.to_alpn, sizeof(ts->fold.to_alpn), "%s", t ? t->alpn : "");
	snprintf(ts->fold.to_gray, sizeof(ts->fold.to_gray), "%s", t ? t->gray : "");
}

/* The tag an outcome (count_fold: counted if folded) or flow bytes go to. */
static struct slot *get(struct tagset *ts, const struct tkey *k, unsigned gray_flags,
			int count_fold)
{
	int folded;
	struct slot *t = tag_for(ts, k, !!(gray_flags & GP_GRAY_FIXED), &folded);

	if (folded && count_fold)
		note_fold(ts, k, t);
	if (t)
		t->touched = 1;
	return t;
}

static unsigned dir_of(unsigned dir)
{
	return dir < GP_DIR_MAX ? dir : GP_DIR_OUTBOUND;
}

void gp_agg_add_bytes(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
		      unsigned gray_flags, uint64_t bytes)
{
	struct tkey k = { dir_of(dir), 0, alpn, gray };
	struct slot *t = get(&agg->conns, &k, gray_flags, 0);

	if (t)
		t->s.conn.bytes += bytes;
}

void gp_agg_add_handshake(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
			  unsigned gray_flags, uint64_t ns)
{
	struct tkey k = { dir_of(dir), 0, alpn, gray };
	struct slot *t = get(&agg->conns, &k, gray_flags, 0);

	if (!t)
		return;
	t->s.conn.hs_buckets[gp_hist_bucket(ns)]++;
	t->s.conn.hs_sum_ns += ns;
}

void gp_agg_record(struct gp_agg *agg, const struct gp_conn *c)
{
	struct tkey k = { dir_of(c->dir), 0, c->alpn, c->gray };
	struct gp_tag_stats *s;
	struct slot *t;

	agg->events++;
	agg->rejected += !!(c->gray_flags & GP_GRAY_REJECTED);
	t = get(&agg->conns, &k, c->gray_flags, 1);
	if (!t)
		return;
	s = &t->s.conn;
	s->results[c->result < GP_RES_MAX ? c->result : GP_RES_OTHER]++;
	if (c->result == GP_RES_ESTABLISHED) {
		s->buckets[gp_hist_bucket(c->latency_ns)]++;
		s->sum_ns += c->latency_ns;
	}
}

static void req_series(struct tagset *ts, const struct tkey *k, const struct gp_request *r)
{
	struct slot *t = get(ts, k, r->gray_flags, 1);
	struct gp_req_stats *s;

	if (!t)
		return;
	s = &t->s.req;
	if (k->grpc)
		s->grpc_status[r->grpc_slot < GP_GRPC_SLOTS ? r->grpc_slot : GP_GRPC_NONE]++;
	else
		s->codes[r->code < GP_CODE_MAX ? r->code : GP_CODE_NONE]++;
	if (r->has_latency) {
		s->buckets[gp_hist_bucket(r->latency_ns)]++;
		s->sum_ns += r->latency_ns;
	}
}

void gp_agg_record_request(struct gp_agg *agg, const struct gp_request *r)
{
	struct tkey k = { r->dir, 0, r->alpn, r->gray };

	if (r->dir >= GP_DIR_MAX) {
		agg->req_unattributed++;
		return;
	}
	if (r->undecoded)
		agg->req_undecoded[r->dir][r->reason < GP_REQ_UNDECODED_MAX ? r->reason : 0]++;
	if (r->no_status)
		return;
	req_series(&agg->reqs, &k, r);
	if (r->grpc) {
		k.grpc = 1;
		k.alpn = "";
		req_series(&agg->reqs, &k, r);
	}
}

static size_t retire(struct tagset *ts, uint64_t now_ns, uint64_t idle_ns)
{
	size_t i, kept = 0, n0 = ts->n;

	for (i = 0; i < ts->n; i++) {
		struct slot *t = &ts->tags[i];

		if (t->touched || !t->last_seen)
			t->last_seen = now_ns;
		t->touched = 0;
		if (idle_ns && !t->pinned && !is_overflow(t) && now_ns - t->last_seen >= idle_ns) {
			ts->dynamic[t->dir]--;
			gp_htab_del(&ts->index, &t->node);
			continue;
		}
		if (kept != i)
			move_tag(ts, &ts->tags[kept], t);
		kept++;
	}
	ts->n = kept;
	ts->retired += n0 - kept;
	return n0 - kept;
}

size_t gp_agg_retire(struct gp_agg *agg, uint64_t now_ns, uint64_t idle_ns)
{
	return retire(&agg->conns, now_ns, idle_ns) + retire(&agg->reqs, now_ns, idle_ns);
}

void gp_agg_last_fold(const struct gp_agg *agg, struct gp_agg_fold *out)
{
	*out = agg->conns.fold;
	out->max_tags = agg->conns.max_tags;
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

int gp_req_cmp(const void *a, const void *b)
{
	const struct gp_req_stats *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->grpc != y->grpc)
		return x->grpc < y->grpc ? -1 : 1;
	r = strcmp(x->alpn, y->alpn);
	return r ? r : strcmp(x->gray, y->gray);
}

/* A tag's stats in a snapshot: its key fields filled from the slot. */
static void fill_tag(void *dst, const struct slot *t)
{
	struct gp_tag_stats *c = dst;

	*c = t->s.conn;
	c->dir = t->dir;
	c->pinned = t->pinned;
	memcpy(c->alpn, t->alpn, sizeof(t->alpn));
	memcpy(c->gray, t->gray, sizeof(t->gray));
}

static void fill_req(void *dst, const struct slot *t)
{
	struct gp_req_stats *c = dst;

	*c = t->s.req;
	c->dir = t->dir;
	c->grpc = t->grpc;
	c->pinned = t->pinned;
	memcpy(c->alpn, t->alpn, sizeof(t->alpn));
	memcpy(c->gray, t->gray, sizeof(t->gray));
}

/* A set's stats copied out (NULL when empty) and sorted; -ENOMEM. */
static int snap_set(const struct tagset *ts, size_t size, void (*fill)(void *, const struct slot *),
		    int (*cmp)(const void *, const void *), void **out)
{
	char *copy;
	size_t i;

	*out = NULL;
	if (!ts->n)
		return 0;
	copy = malloc(ts->n * size);
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < ts->n; i++)
		fill(copy + i * size, &ts->tags[i]);
	qsort(copy, ts->n, size, cmp);
	*out = copy;
	return 0;
}

int gp_agg_snapshot(const struct gp_agg *agg, struct gp_snapshot *snap)
{
	void *tags, *reqs = NULL;
	int err = snap_set(&agg->conns, sizeof(*snap->tags), fill_tag, gp_tag_cmp, &tags);

	if (!err)
		err = snap_set(&agg->reqs, sizeof(*snap->reqs), fill_req, gp_req_cmp, &reqs);
	snap->tags = tags;
	snap->reqs = reqs;
	if (err) {
		gp_snapshot_release(snap);
		return err;
	}
	snap->events = agg->events;
	snap->tags_overflow = agg->conns.overflow;
	snap->gray_rejected = agg->rejected;
	snap->tags_retired = agg->conns.retired + agg->reqs.retired;
	snap->n_tags = agg->conns.n;
	snap->n_reqs = agg->reqs.n;
	memcpy(snap->req_undecoded, agg->req_undecoded, sizeof(snap->req_undecoded));
	snap->req_unattributed = agg->req_unattributed;
	snap->req_overflow = agg->reqs.overflow;
	return 0;
}

void gp_snapshot_release(struct gp_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->tags);
	free(snap->reqs);
	snap->tags = NULL;
	snap->reqs = NULL;
	snap->n_tags = 0;
	snap->n_reqs = 0;
}
