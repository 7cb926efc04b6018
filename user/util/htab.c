// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "util/htab.h"

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

static int resize(struct gp_htab *h, size_t nb)
{
	struct gp_hnode **b = calloc(nb, sizeof(*b)), *x, *next;
	size_t i;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < h->nb; i++)
		for (x = h->b[i]; x; x = next) {
			next = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	free(h->b);
	h->b = b;
	h->nb = nb;
	return 0;
}

int gp_htab_reserve(struct gp_htab *h, size_t n)
{
	size_t nb = h->nb;

	while (nb < n)
		nb *= 2;
	return nb == h->nb ? 0 : resize(h, nb);
}

void gp_htab_add(struct gp_htab *h, struct gp_hnode *x, uint32_t hash)
{
	struct gp_hnode **head;

	if (h->n >= h->nb)
		resize(h, h->nb * 2);	/* on failure: longer chains, still correct */
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
