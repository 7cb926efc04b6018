/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_CAPS_H
#define GP_CAPS_H

#include <stddef.h>
#include <stdint.h>

/* This process's effective capability mask, from /proc/self/status. */
int gp_caps_effective(uint64_t *eff);

/*
 * What loading and attaching needs: CAP_BPF and CAP_PERFMON, or
 * CAP_SYS_ADMIN, which implies both (and is all a pre-5.8 kernel knows).
 * Returns 0 when eff suffices, else -EPERM with the missing names in buf.
 */
int gp_caps_sufficient(uint64_t eff, char *buf, size_t len);

/*
 * The TC classifier also needs CAP_NET_ADMIN: the kernel asks for it to
 * load networking program types and to attach to an interface. 0 or -EPERM.
 */
int gp_caps_net_admin(uint64_t eff);

#define GP_CAP_BIT_NET_ADMIN	12
#define GP_CAP_BIT_SYS_PTRACE	19
#define GP_CAP_BIT_SYS_ADMIN	21
#define GP_CAP_BIT_PERFMON	38
#define GP_CAP_BIT_BPF		39

/*
 * The one check before loading, once per command: CAP_BPF and CAP_PERFMON
 * (or CAP_SYS_ADMIN), and CAP_NET_ADMIN too when net_admin is set (the
 * classifier). 0, or a negative errno after logging what is missing.
 */
int gp_caps_require(int net_admin);

/*
 * After attaching: keep only the capabilities in keep (a mask of bits),
 * effective and permitted, and set no_new_privs. 0 or a negative errno.
 */
int gp_caps_limit(uint64_t keep);
struct passwd;
/* --user's account, or NULL with the reason in why (checked before attaching). */
struct passwd *gp_caps_lookup(const char *user, char *why, size_t len);
/* --user: switch uid/gid (groups dropped) keeping only keep; why gets the reason. */
int gp_caps_become(const char *user, uint64_t keep, char *why, size_t len);

#endif
