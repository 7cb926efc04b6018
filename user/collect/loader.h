/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_LOADER_H
#define GP_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grayprobe.h"
#include "collect/iface.h"
#include "collect/hooks.h"
#include "collect/tc.h"

/* The collecting half: BPF objects, hooks, ring buffer, kernel counters. */
struct gp_loader;

typedef int (*gp_event_fn)(void *ctx, void *data, size_t size);

struct gp_loader_opts {
	enum gp_connect_hook connect_hook;	/* AUTO or forced */
	enum gp_state_hook state_hook;		/* AUTO or forced */
	uint32_t netns_ino;			/* 0: every namespace */
	unsigned ringbuf_kb;
	gp_event_fn on_event;
	void *ctx;
	/* TC classifier: ingress of each, and egress too when egress is set. */
	const struct gp_ifaces *ifaces;
	int classifier;		/* load the TC program (ifaces may be empty yet) */
	int egress;
	enum gp_tc_mode tc_mode;
};

/*
 * Load and attach the preferred hooks; only when they fail, probe each hook
 * by really loading and attaching it, then load and attach the chosen pair.
 * On failure nothing stays attached and the reason has been logged. Returns
 * 0 or a negative errno.
 */
int gp_loader_open(struct gp_loader **out, const struct gp_loader_opts *opts);
void gp_loader_close(struct gp_loader *l);	/* NULL-safe; detaches all */

/*
 * Replay: only the TC program, attached nowhere, adopting flows whose SYN
 * the capture lacks. Packets go in through gp_loader_test_run().
 */
int gp_loader_open_replay(struct gp_loader **out, unsigned ringbuf_kb, gp_event_fn on_event,
			  void *ctx);
/* One Ethernet frame through the TC program with BPF_PROG_TEST_RUN. */
int gp_loader_test_run(struct gp_loader *l, const void *frame, size_t len);

/* Every flow in the TC flow table; stops early when fn returns non-zero. */
typedef int (*gp_flow_fn)(void *ctx, const struct gp_flow_key *k, const struct gp_flow_val *v);
int gp_loader_flows(struct gp_loader *l, gp_flow_fn fn, void *ctx);
/* TC hook points attached, for the log and build_info; "" when none. */
const char *gp_loader_tc_desc(const struct gp_loader *l);
/*
 * Hook exactly these interfaces now: new ones are attached, vanished or
 * unwanted ones forgotten (their hooks went with them). Returns the number
 * of changes; failures are logged and retried at the next call.
 */
int gp_loader_sync_ifaces(struct gp_loader *l, const struct gp_ifaces *want);
/* Some hook is a clsact filter: removing it at exit needs CAP_NET_ADMIN. */
int gp_loader_uses_clsact(const struct gp_loader *l);

int gp_loader_poll(struct gp_loader *l, int timeout_ms);	/* events handled or -errno */
int gp_loader_drain(struct gp_loader *l);
/* The ring buffer's epoll fd, to wait on beside others; gp_loader_poll(l, 0) reads it. */
int gp_loader_events_fd(const struct gp_loader *l);
/* Kernel-side counters summed over CPUs, indexed by enum gp_stat. */
int gp_loader_stats(struct gp_loader *l, uint64_t out[GP_STAT_MAX]);
enum gp_connect_hook gp_loader_connect_hook(const struct gp_loader *l);
enum gp_state_hook gp_loader_state_hook(const struct gp_loader *l);

/* 0, or -EPERM after saying which capabilities are missing. */
int gp_check_privileges(void);

/* `grayprobe check`: print what works here; 0 when run can work. */
struct gp_check_want {
	enum gp_connect_hook connect_hook;	/* AUTO or forced, as run would get them */
	enum gp_state_hook state_hook;
	enum gp_tc_mode tc_mode;
};
int gp_check(FILE *out, const struct gp_check_want *want);

#endif
