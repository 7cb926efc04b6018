/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_DLIST_H
#define GP_DLIST_H

#include <stddef.h>

/*
 * A doubly linked list of links embedded in their owners, in the order they
 * were appended: the tagger's queues by deadline, end time and tagging time.
 */
struct gp_dlink {
	struct gp_dlink *prev, *next;
};

struct gp_dlist {
	struct gp_dlink *head, *tail;	/* oldest, newest */
};

static inline void gp_dlist_append(struct gp_dlist *l, struct gp_dlink *x)
{
	x->prev = l->tail;
	x->next = NULL;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
}

static inline void gp_dlist_del(struct gp_dlist *l, struct gp_dlink *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = NULL;
}

#endif
