/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_HTAB_H
#define GP_HTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * A chained hash table of nodes embedded in their owners (the tagger's flows
 * and server endpoints, the aggregation's tags). The table keeps each node's
 * hash; owners compare keys themselves while walking a chain. It grows with
 * its load (gp_htab_reserve ahead of time, for owners that must not allocate
 * later) and never allocates nodes: bounds are the owners' business.
 */
struct gp_hnode {
	struct gp_hnode *next;
	uint32_t hash;
};

struct gp_htab {
	struct gp_hnode **b;
	size_t nb, n;		/* buckets (a power of two), nodes */
};

#define gp_container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/*
 * FNV-1a, the one hash, inline for the lookups on every outcome: over several
 * pieces, h = GP_HASH_INIT then h = gp_hash_more(h, piece, len) or
 * gp_hash_str(h, string) for each; over one, gp_hash_bytes (fixed-size keys
 * with their padding zeroed).
 */
#define GP_HASH_INIT	2166136261u
#define GP_HASH_PRIME	16777619u

static inline uint32_t gp_hash_more(uint32_t h, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * GP_HASH_PRIME;
	return h;
}

static inline uint32_t gp_hash_bytes(const void *p, size_t n)
{
	return gp_hash_more(GP_HASH_INIT, p, n);
}

/* A string piece, its NUL included: ("a", "bc") and ("ab", "c") differ. */
static inline uint32_t gp_hash_str(uint32_t h, const char *s)
{
	do
		h = (h ^ (uint8_t)*s) * GP_HASH_PRIME;
	while (*s++);
	return h;
}

/* nb: initial buckets, a power of two. 0 or -ENOMEM. */
int gp_htab_init(struct gp_htab *h, size_t nb);
void gp_htab_release(struct gp_htab *h);	/* the buckets; nodes are the owner's */
/* Buckets for n nodes: while it holds at most n, adding never allocates. 0 or -ENOMEM. */
int gp_htab_reserve(struct gp_htab *h, size_t n);
/* The first node of hash's chain: walk ->next, skipping other hashes. */
static inline struct gp_hnode *gp_htab_chain(const struct gp_htab *h, uint32_t hash)
{
	return h->b[hash & (h->nb - 1)];
}
void gp_htab_add(struct gp_htab *h, struct gp_hnode *x, uint32_t hash);
void gp_htab_del(struct gp_htab *h, struct gp_hnode *x);
/* Every node once; fn may delete (and free) the node it is given, no other. */
void gp_htab_each(struct gp_htab *h, void (*fn)(void *ctx, struct gp_hnode *x), void *ctx);

#endif
