/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_HTAB_H
#define GP_HTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * A chained hash table of nodes embedded in their owners (the tagger's flows
 * and server endpoints, the aggregation's tags). The table keeps each node's
 * hash; owners compare keys themselves while walking a chain. It grows with
 * its load and never allocates nodes: bounds are the owners' business.
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

/* FNV-1a over n bytes: keys are fixed-size structs with their padding zeroed. */
uint32_t gp_hash_bytes(const void *p, size_t n);

/* nb: initial buckets, a power of two. 0 or -ENOMEM. */
int gp_htab_init(struct gp_htab *h, size_t nb);
void gp_htab_release(struct gp_htab *h);	/* the buckets; nodes are the owner's */
/* The first node of hash's chain: walk ->next, skipping other hashes. */
struct gp_hnode *gp_htab_chain(const struct gp_htab *h, uint32_t hash);
void gp_htab_add(struct gp_htab *h, struct gp_hnode *x, uint32_t hash);
void gp_htab_del(struct gp_htab *h, struct gp_hnode *x);
/* Every node once; fn may delete (and free) the node it is given, no other. */
void gp_htab_each(struct gp_htab *h, void (*fn)(void *ctx, struct gp_hnode *x), void *ctx);

#endif
