// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"

#define GP_CAP_NET_ADMIN	12
#define GP_CAP_SYS_ADMIN	21
#define GP_CAP_PERFMON		38
#define GP_CAP_BPF		39
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
	if (HAS(eff, GP_CAP_SYS_ADMIN) || (HAS(eff, GP_CAP_BPF) && HAS(eff, GP_CAP_PERFMON))) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	snprintf(buf, len, "%s%s%s",
		 HAS(eff, GP_CAP_BPF) ? "" : "CAP_BPF",
		 !HAS(eff, GP_CAP_BPF) && !HAS(eff, GP_CAP_PERFMON) ? " and " : "",
		 HAS(eff, GP_CAP_PERFMON) ? "" : "CAP_PERFMON");
	return -EPERM;
}

int gp_caps_net_admin(uint64_t eff)
{
	return HAS(eff, GP_CAP_NET_ADMIN) ? 0 : -EPERM;
}
