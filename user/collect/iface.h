/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_IFACE_H
#define GP_IFACE_H

#include <net/if.h>
#include <stddef.h>
#include <stdio.h>

#define GP_IFACE_NAMES_MAX	256

struct gp_ifaces {
	char name[GP_IFACE_NAMES_MAX][IF_NAMESIZE];
	size_t n;
};

/*
 * Adds the interfaces carrying a default route, read from /proc/net/route
 * and /proc/net/ipv6_route formatted streams (either may be NULL).
 */
void gp_ifaces_default_routes(struct gp_ifaces *out, FILE *route4, FILE *route6);
/* Adds name unless present; 0 or -ENOSPC. */
int gp_ifaces_add(struct gp_ifaces *out, const char *name);
/*
 * Adds every name in avail (n of them) that matches pattern (fnmatch(3));
 * returns how many matched, or -ENOSPC.
 */
int gp_ifaces_match(struct gp_ifaces *out, const char *pattern, const char *const *avail, size_t n);

#endif
