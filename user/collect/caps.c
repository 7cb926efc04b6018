// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* setresuid, setresgid */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collect/caps.h"
#include "util/log.h"

#define HAS(eff, cap)		(((eff) >> (cap)) & 1)

int gp_caps_effective(uint64_t *eff)
{
	char line[256], *end;
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CapEff:", 7))
			continue;
		errno = 0;
		*eff = strtoull(line + 7, &end, 16);
		err = (errno || end == line + 7) ? -EINVAL : 0;
		break;
	}
	fclose(f);
	return err;
}

int gp_caps_sufficient(uint64_t eff, char *buf, size_t len)
{
	if (HAS(eff, GP_CAP_BIT_SYS_ADMIN) || (HAS(eff, GP_CAP_BIT_BPF) && HAS(eff, GP_CAP_BIT_PERFMON))) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	snprintf(buf, len, "%s%s%s",
		 HAS(eff, GP_CAP_BIT_BPF) ? "" : "CAP_BPF",
		 !HAS(eff, GP_CAP_BIT_BPF) && !HAS(eff, GP_CAP_BIT_PERFMON) ? " and " : "",
		 HAS(eff, GP_CAP_BIT_PERFMON) ? "" : "CAP_PERFMON");
	return -EPERM;
}

int gp_caps_net_admin(uint64_t eff)
{
	return HAS(eff, GP_CAP_BIT_NET_ADMIN) ? 0 : -EPERM;
}

int gp_caps_require(int net_admin)
{
	char missing[64];
	uint64_t eff;
	int err;

	err = gp_caps_effective(&eff);
	if (err) {
		gp_err("cannot read capabilities from /proc/self/status: %s", strerror(-err));
		return err;
	}
	if (gp_caps_sufficient(eff, missing, sizeof(missing))) {
		gp_err("missing %s: run as root, or grant CAP_BPF and CAP_PERFMON "
		       "(CAP_SYS_ADMIN on kernels before 5.8)", missing);
		return -EPERM;
	}
	if (net_admin && gp_caps_net_admin(eff)) {
		gp_err("missing CAP_NET_ADMIN, which the TC classifier needs (or run with -i none)");
		return -EPERM;
	}
	return 0;
}

int gp_caps_limit(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	/* Nothing a child could get back: no ambient set, no gain from setuid files. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

struct passwd *gp_caps_lookup(const char *user, char *why, size_t len)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		snprintf(why, len, "--user %s: %s", user, errno ? strerror(errno) : "no such user");
	return pw;
}

int gp_caps_become(const char *user, uint64_t keep, char *why, size_t len)
{
	struct passwd *pw = gp_caps_lookup(user, why, len);

	if (!pw)
		return -ENOENT;
	/* Keep permitted capabilities across setuid, then cut them to keep. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
		int err = -errno;

		snprintf(why, len, "--user %s: %s", user, strerror(errno));
		return err;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return gp_caps_limit(keep);
}
