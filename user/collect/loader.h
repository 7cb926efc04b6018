/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_LOADER_H
#define GP_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "grayprobe.h"
#include "collect/iface.h"
#include "collect/hooks.h"
#include "collect/ssl.h"
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
 * the capture lacks. Packets go in through gp_loader_test_run(). Replay's
 * one capability check (gp_caps_require(1)) and BTF check are made here;
 * every failure is logged.
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

/* The maps the TLS source shares: ring buffer, flow table, counters. */
struct gp_ssl_maps gp_loader_maps(const struct gp_loader *l);
/* The netns filter run was given (0: every namespace). */
uint32_t gp_loader_netns(const struct gp_loader *l);

/* Records waiting in the ring buffer, handled now: their count or -errno. */
int gp_loader_drain(struct gp_loader *l);
/*
 * The ring buffer's epoll fd, to wait on beside others; gp_loader_drain()
 * reads it. Most records are submitted without a wake-up (see rb_flags()),
 * so a caller drains on a timer too, not only when the fd is readable.
 */
int gp_loader_events_fd(const struct gp_loader *l);
/* Kernel-side counters summed over CPUs, indexed by enum gp_stat. */
int gp_loader_stats(struct gp_loader *l, uint64_t out[GP_STAT_MAX]);
/* One of them; 0 or a negative errno. */
int gp_loader_stat(struct gp_loader *l, unsigned key, uint64_t *sum);
enum gp_connect_hook gp_loader_connect_hook(const struct gp_loader *l);
enum gp_state_hook gp_loader_state_hook(const struct gp_loader *l);

/*
 * The TC program alone, attached nowhere, for BPF_PROG_TEST_RUN: replay,
 * tests/tools/tcfuzz and bench/tcrun. Zeros keep the object's sizes.
 */
struct gp_tc_only_opts {
	unsigned ringbuf_kb;	/* gp_events */
	unsigned flows_max;	/* gp_flows */
	int adopt_midstream;	/* track flows whose SYN was never seen */
	gp_event_fn on_event;
	void *ctx;
};
/* Logs nothing; on failure *stage says which step: "open", "load" or "ring buffer". */
int gp_loader_open_tc_only(struct gp_loader **out, const struct gp_tc_only_opts *o,
			   const char **stage);

/* One frame through a sched_cls program with BPF_PROG_TEST_RUN. */
struct gp_test_run {
	const void *frame;
	size_t len;
	unsigned repeat;	/* runs; 0 is one */
	uint32_t retval;	/* out: the program's verdict */
	uint32_t duration_ns;	/* out: the kernel's mean time per run */
};
int gp_test_run(int prog_fd, struct gp_test_run *r);	/* 0 or -errno */
/* gp_tc's program and its flow table, for the test and bench tools. */
int gp_loader_tc_fd(const struct gp_loader *l);
int gp_loader_flows_fd(const struct gp_loader *l);

/* `grayprobe check`'s question: the hooks as run would get them. */
struct gp_check_want {
	enum gp_connect_hook connect_hook;	/* AUTO or forced */
	enum gp_state_hook state_hook;
	enum gp_tc_mode tc_mode;
};

#define GP_CHECK_DESC_MAX	256
#define GP_CHECK_HOOKS		5	/* fentry kprobe tp_btf raw_tp tracepoint */

struct gp_check_row {
	const char *name;
	int err;			/* 0 or a negative errno */
	const char *stage;		/* "open", "load" or "attach" when a hook's err */
	char desc[GP_CHECK_DESC_MAX];	/* what works, or why not */
};

/* What works here, found by really loading; user/cmd/check.c prints it. */
struct gp_check_facts {
	struct gp_check_row btf, ringbuf;
	int probed;			/* the rest is filled: BTF and a ring buffer are there */
	struct gp_check_row hooks[GP_CHECK_HOOKS], tc, tcx;
	int choice_err;			/* 0: connect and state are run's pair */
	enum gp_connect_hook connect;
	enum gp_state_hook state;
	const char *failed;		/* the forced hook that does not work; NULL: no state hook */
	int failed_connect;		/* failed is a connect hook */
	enum gp_tc_mode tc_mode;	/* TCX or CLSACT: how run would hook the classifier */
};
/* Fills f (privileges are the caller's); 0 when run can work, else a negative errno. */
int gp_loader_check(struct gp_check_facts *f, const struct gp_check_want *want);

#endif
