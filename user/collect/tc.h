/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TC_H
#define GP_TC_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/hooks.h"

#define GP_LOOPBACK_IFINDEX	1	/* lo is ifindex 1 in every namespace */

/* The steps of an attach, so that a failure can name what the kernel lacks. */
enum gp_tc_step { GP_TC_STEP_NONE, GP_TC_STEP_LINK, GP_TC_STEP_QDISC, GP_TC_STEP_FILTER };

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
	enum gp_tc_step failed_at;	/* after a failed attach: which step */
};

/*
 * Attach prog_fd on ifindex's ingress (or egress) as a tcx link, or as a
 * clsact filter (take gp_tc_lock first). 0 or a negative errno; nothing
 * stays attached on failure.
 */
int gp_tc_attach_tcx(int prog_fd, const char *ifname, int ifindex, int egress,
		     struct gp_tc_att *out);
int gp_tc_attach_clsact(int prog_fd, const char *ifname, int ifindex, int egress,
			struct gp_tc_att *out);
/* Whether this kernel has tcx (asks about lo, changing nothing); why says it. */
int gp_tc_have_tcx(char *why, size_t len);
/* The tcx error meaning "this kernel has no tcx": fall back to clsact. */
int gp_tc_no_tcx(int err);
/*
 * What a failed attach's err says is missing ("sch_ingress", "cls_bpf",
 * tcx's kernel version), as a phrase for an error message; NULL if nothing
 * more than strerror is known.
 */
const char *gp_tc_hint(const struct gp_tc_att *a, int err);

/* An attach really tried on lo of a private network namespace (`check`). */
struct gp_tc_probe {
	int ns_err;		/* 0, or why no private namespace could be made */
	int tcx_err;		/* 0 or the tcx attach's error */
	int clsact_err;		/* 0 or the clsact attach's error */
	enum gp_tc_step tcx_step, clsact_step;
};
/* Fills p; run in a child process, so the caller's namespace is untouched. 0 or -errno. */
int gp_tc_probe_attach(int prog_fd, struct gp_tc_probe *p);

/* Removes exactly what gp_tc_attach added; 0 or the first error. */
int gp_tc_detach(struct gp_tc_att *a);

/*
 * clsact filters sit at one fixed handle and priority, so only one grayprobe
 * per network namespace may use clsact: this takes that namespace's lock
 * (fd kept open while attached). 0, -EBUSY with the holder's pid in why, or
 * another negative errno. tcx needs no lock: instances coexist.
 */
int gp_tc_lock(int *fd, char *why, size_t len);

#endif
