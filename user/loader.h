/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_LOADER_H
#define GP_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grayprobe.h"
#include "opts.h"

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
};

/*
 * Probe hooks by really loading and attaching them, then load and attach
 * the chosen pair. On failure nothing stays attached and the reason has
 * been logged. Returns 0 or a negative errno.
 */
int gp_loader_open(struct gp_loader **out, const struct gp_loader_opts *opts);
void gp_loader_close(struct gp_loader *l);	/* NULL-safe; detaches all */

int gp_loader_poll(struct gp_loader *l, int timeout_ms);	/* events handled or -errno */
int gp_loader_drain(struct gp_loader *l);
/* Kernel-side counters summed over CPUs, indexed by enum gp_stat. */
int gp_loader_stats(struct gp_loader *l, uint64_t out[GP_STAT_MAX]);
enum gp_connect_hook gp_loader_connect_hook(const struct gp_loader *l);
enum gp_state_hook gp_loader_state_hook(const struct gp_loader *l);

/* 0, or -EPERM after saying which capabilities are missing. */
int gp_check_privileges(void);

/* `grayprobe check`: print what works here; 0 when run can work. */
int gp_check(FILE *out, const struct gp_opts *opts);

#endif
