/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TC_H
#define GP_TC_H

#include <net/if.h>
#include <stdint.h>

#include "opts.h"

/* One hook point grayprobe attached, and what it takes to remove just that. */
struct gp_tc_att {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int egress;
	enum gp_tc_mode mode;	/* TCX or CLSACT once attached */
	int link_fd;		/* tcx */
	uint32_t handle;	/* clsact filter */
	uint32_t priority;
	int created_qdisc;	/* the clsact qdisc is ours to remove */
};

/*
 * Attach prog_fd on ifindex's ingress (or egress). AUTO tries tcx first and
 * falls back to clsact only when the kernel has no tcx. Returns 0 or a
 * negative errno; nothing stays attached on failure.
 */
int gp_tc_attach(int prog_fd, const char *ifname, int ifindex, int egress,
		 enum gp_tc_mode mode, struct gp_tc_att *out);
/* Removes exactly what gp_tc_attach added; 0 or the first error. */
int gp_tc_detach(struct gp_tc_att *a);

#endif
