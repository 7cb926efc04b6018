// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tc.h"

/*
 * tcx attach types arrived in 6.6, commit e420bed02507 ("bpf: Add fd-based
 * tcx multi-prog infra with link support"); Debian's uapi headers and
 * libbpf 1.1 predate it, so the link is created with the raw numbers.
 */
#define GP_BPF_TCX_INGRESS	46
#define GP_BPF_TCX_EGRESS	47

static int attach_tcx(int prog_fd, struct gp_tc_att *a)
{
	int fd = bpf_link_create(prog_fd, a->ifindex,
				 a->egress ? GP_BPF_TCX_EGRESS : GP_BPF_TCX_INGRESS, NULL);

	if (fd < 0)
		return fd;
	a->link_fd = fd;
	a->mode = GP_TC_TCX;
	return 0;
}

static int attach_clsact(int prog_fd, struct gp_tc_att *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	/* handle and priority 0: the kernel picks free ones and tells us. */
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	a->created_qdisc = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		if (a->created_qdisc) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
			a->created_qdisc = 0;
		}
		return err;
	}
	a->handle = opts.handle;
	a->priority = opts.priority;
	a->mode = GP_TC_CLSACT;
	return 0;
}

int gp_tc_attach(int prog_fd, const char *ifname, int ifindex, int egress,
		 enum gp_tc_mode mode, struct gp_tc_att *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ifindex = ifindex;
	out->egress = egress;
	out->link_fd = -1;
	if (mode != GP_TC_CLSACT) {
		err = attach_tcx(prog_fd, out);
		/* Kernels before 6.6 reject the attach type itself. */
		if (!err || mode == GP_TC_TCX || (err != -EINVAL && err != -EOPNOTSUPP))
			return err;
	}
	return attach_clsact(prog_fd, out);
}

int gp_tc_detach(struct gp_tc_att *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts);
	int err = 0;

	if (a->mode == GP_TC_TCX) {
		if (a->link_fd >= 0 && close(a->link_fd))
			err = -errno;
		a->link_fd = -1;
	} else if (a->mode == GP_TC_CLSACT) {
		opts.handle = a->handle;
		opts.priority = a->priority;
		err = bpf_tc_detach(&hook, &opts);
		/* The interface may be gone already: then so is everything on it. */
		if (err == -ENODEV || err == -ENOENT)
			err = 0;
		if (a->created_qdisc) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	a->mode = GP_TC_AUTO;
	return err;
}
