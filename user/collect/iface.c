// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "collect/iface.h"

int gp_ifaces_add(struct gp_ifaces *out, const char *name)
{
	size_t i;

	if (!name[0] || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	for (i = 0; i < out->n; i++)
		if (!strcmp(out->name[i], name))
			return 0;
	if (out->n == GP_IFACE_NAMES_MAX)
		return -ENOSPC;
	snprintf(out->name[out->n++], IF_NAMESIZE, "%s", name);
	return 0;
}

void gp_ifaces_default_routes(struct gp_ifaces *out, FILE *route4, FILE *route6)
{
	char line[512], ifname[64], dst[64], mask[64], plen[8];

	/* "Iface Destination Gateway Flags RefCnt Use Metric Mask ...": dst and mask 0. */
	while (route4 && fgets(line, sizeof(line), route4))
		/* A reject route (unreachable, blackhole, prohibit) names no device: "*". */
		if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s", ifname, dst, mask) == 3 &&
		    !strcmp(dst, "00000000") && !strcmp(mask, "00000000") && strcmp(ifname, "*"))
			gp_ifaces_add(out, ifname);
	/* "dst plen src splen nexthop metric refcnt use flags iface": ::/0, not lo (unreachable). */
	while (route6 && fgets(line, sizeof(line), route6))
		if (sscanf(line, "%63s %7s %*s %*s %*s %*s %*s %*s %*s %63s", dst, plen, ifname) == 3 &&
		    !strcmp(dst, "00000000000000000000000000000000") && !strcmp(plen, "00") &&
		    strcmp(ifname, "lo"))
			gp_ifaces_add(out, ifname);
}

int gp_ifaces_match(struct gp_ifaces *out, const char *pattern, const char *const *avail, size_t n)
{
	size_t i;
	int hits = 0;

	for (i = 0; i < n; i++) {
		if (fnmatch(pattern, avail[i], 0))
			continue;
		if (gp_ifaces_add(out, avail[i]) == -ENOSPC)
			return -ENOSPC;
		hits++;
	}
	return hits;
}
