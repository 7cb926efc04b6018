// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* unshare */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/tc.h"

/*
 * tcx attach types arrived in 6.6, commit e420bed02507 ("bpf: Add fd-based
 * tcx multi-prog infra with link support"); Debian's uapi headers and
 * libbpf 1.1 predate it, so the link is created with the raw numbers.
 */
#define GP_BPF_TCX_INGRESS	46
#define GP_BPF_TCX_EGRESS	47
/*
 * clsact filters go in at a fixed handle and priority ("gp"), so a start
 * after a SIGKILL finds the stale filter and replaces it instead of adding a
 * second one; gp_tc_lock() makes sure no live grayprobe owns it then.
 */
#define GP_TC_HANDLE		0x6770
#define GP_TC_PRIORITY		0xc067
#define GP_TC_LOCK_DIR		"/run/lock"
int gp_tc_have_tcx(char *why, size_t len)
{
	int lo = if_nametoindex("lo");
	__u32 cnt = 0;
	int ok;

	/* Querying attachments changes nothing; pre-6.6 kernels reject the type. */
	ok = lo > 0 && !bpf_prog_query(lo, GP_BPF_TCX_INGRESS, 0, NULL, NULL, &cnt);
	snprintf(why, len, "%s", ok ? "tcx links (6.6+)" : strerror(errno));
	return ok;
}

static int attach_tcx(int prog_fd, struct gp_tc_att *a)
{
	int fd = bpf_link_create(prog_fd, a->ifindex,
				 a->egress ? GP_BPF_TCX_EGRESS : GP_BPF_TCX_INGRESS, NULL);

	if (fd < 0) {
		a->failed_at = GP_TC_STEP_LINK;
		return fd;
	}
	a->link_fd = fd;
	a->mode = GP_TC_TCX;
	return 0;
}

static int attach_clsact(int prog_fd, struct gp_tc_att *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = GP_TC_HANDLE,
		    .priority = GP_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		a->failed_at = GP_TC_STEP_QDISC;
		return err;
	}
	a->created_qdisc = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		a->failed_at = GP_TC_STEP_FILTER;
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

static void att_init(struct gp_tc_att *out, const char *ifname, int ifindex, int egress)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ifindex = ifindex;
	out->egress = egress;
	out->link_fd = -1;
}

int gp_tc_attach_tcx(int prog_fd, const char *ifname, int ifindex, int egress,
		     struct gp_tc_att *out)
{
	att_init(out, ifname, ifindex, egress);
	return attach_tcx(prog_fd, out);
}

int gp_tc_attach_clsact(int prog_fd, const char *ifname, int ifindex, int egress,
			struct gp_tc_att *out)
{
	att_init(out, ifname, ifindex, egress);
	return attach_clsact(prog_fd, out);
}

int gp_tc_no_tcx(int err)
{
	/* Kernels before 6.6 reject the attach type itself. */
	return err == -EINVAL || err == -EOPNOTSUPP;
}

const char *gp_tc_hint(const struct gp_tc_att *a, int err)
{
	/* A qdisc or filter kind the kernel does not know is ENOENT (no module, no autoload). */
	int unknown_kind = err == -ENOENT || err == -EOPNOTSUPP;

	switch (a->failed_at) {
	case GP_TC_STEP_LINK:
		return gp_tc_no_tcx(err) ? "tcx needs Linux 6.6" : NULL;
	case GP_TC_STEP_QDISC:
		return unknown_kind ? "the clsact qdisc needs sch_ingress (modprobe sch_ingress)" : NULL;
	case GP_TC_STEP_FILTER:
		return unknown_kind ? "a BPF filter needs cls_bpf (modprobe cls_bpf)" : NULL;
	default:
		return NULL;
	}
}

/* In the child: both modes on lo's ingress, each taken down again. */
static void probe_child(int prog_fd, struct gp_tc_probe *p)
{
	struct gp_tc_att a;

	if (unshare(CLONE_NEWNET)) {
		p->ns_err = -errno;
		return;
	}
	p->tcx_err = gp_tc_attach_tcx(prog_fd, "lo", GP_LOOPBACK_IFINDEX, 0, &a);
	p->tcx_step = a.failed_at;
	if (!p->tcx_err)
		gp_tc_detach(&a);
	/* A namespace of its own: no other grayprobe can hold its clsact lock. */
	p->clsact_err = gp_tc_attach_clsact(prog_fd, "lo", GP_LOOPBACK_IFINDEX, 0, &a);
	p->clsact_step = a.failed_at;
	if (!p->clsact_err)
		gp_tc_detach(&a);
}

int gp_tc_probe_attach(int prog_fd, struct gp_tc_probe *p)
{
	int fds[2], status, err = -EIO;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto cleanup;
	}
	if (!pid) {
		probe_child(prog_fd, p);
		_exit(write(fds[1], p, sizeof(*p)) == sizeof(*p) ? 0 : 1);
	}
	close(fds[1]);
	fds[1] = -1;
	if (read(fds[0], p, sizeof(*p)) == sizeof(*p))
		err = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
cleanup:
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return err;
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

int gp_tc_lock(int *fd_out, char *why, size_t len)
{
	char path[128], pid[32] = "";
	struct stat st;
	ssize_t n;
	int fd;

	*fd_out = -1;
	if (stat("/proc/self/ns/net", &st)) {
		snprintf(why, len, "/proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), GP_TC_LOCK_DIR "/grayprobe-net-%lu.lock",
		 (unsigned long)st.st_ino);
	/* Minimal hosts and containers often lack /run/lock; root may make it (FHS: 1777). */
	if (mkdir(GP_TC_LOCK_DIR, 01777) == 0)
		chmod(GP_TC_LOCK_DIR, 01777);	/* the umask cut the sticky and world bits */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(why, len, "another grayprobe (pid %s) holds %s", pid[0] ? pid : "?", path);
		close(fd);
		return err == -EWOULDBLOCK ? -EBUSY : err;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	/* The pid is only a hint for the message above: a failed write changes nothing. */
	if (!ftruncate(fd, 0))
		n = pwrite(fd, pid, n, 0);
	*fd_out = fd;
	return 0;
}
