// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "util/htab.h"

uint32_t gp_hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

int gp_htab_init(struct gp_htab *h, size_t nb)
{
	h->b = calloc(nb, sizeof(*h->b));
	h->nb = h->b ? nb : 0;
	h->n = 0;
	return h->b ? 0 : -ENOMEM;
}

void gp_htab_release(struct gp_htab *h)
{
	free(h->b);
	h->b = NULL;
	h->nb = h->n = 0;
}

struct gp_hnode *gp_htab_chain(const struct gp_htab *h, uint32_t hash)
{
	return h->b[hash & (h->nb - 1)];
}

static void grow(struct gp_htab *h)
{
	size_t nb = h->nb * 2, i;
	struct gp_hnode **b = calloc(nb, sizeof(*b)), *x, *next;

	if (!b)
		return;	/* longer chains, still correct */
	for (i = 0; i < h->nb; i++)
		for (x = h->b[i]; x; x = next) {
			next = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

void gp_htab_add(struct gp_htab *h, struct gp_hnode *x, uint32_t hash)
{
	struct gp_hnode **head;

	if (h->n >= h->nb)
		grow(h);
	head = &h->b[hash & (h->nb - 1)];
	x->hash = hash;
	x->next = *head;
	*head = x;
	h->n++;
}

void gp_htab_del(struct gp_htab *h, struct gp_hnode *x)
{
	struct gp_hnode **pp = &h->b[x->hash & (h->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			h->n--;
			return;
		}
}

void gp_htab_each(struct gp_htab *h, void (*fn)(void *ctx, struct gp_hnode *x), void *ctx)
{
	struct gp_hnode *x, *next;
	size_t i;

	for (i = 0; i < h->nb; i++)
		for (x = h->b[i]; x; x = next) {
			next = x->next;
			fn(ctx, x);
		}
}
