/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_ENGINE_H
#define GP_ENGINE_H

#include <stdint.h>
#include <time.h>

#include "collect/loader.h"
#include "pipeline/agg.h"
#include "pipeline/event.h"
#include "pipeline/request.h"
#include "pipeline/rules.h"
#include "pipeline/tagger.h"

/* Collecting for run and top: hooks, tagging, rules, aggregation, textfile. */
struct gp_engine;

/* Where the gray rules come from: --rule flags, then --rules FILE, else the defaults. */
struct gp_rule_sources {
	const char *const *flags;
	size_t n_flags;
	const char *file;		/* NULL: none */
};

/* What run and top ask of the engine; filled from the options in main.c. */
struct gp_engine_config {
	const char *textfile;		/* NULL: no textfile */
	int tell_first_write;		/* say once where the textfile went and how to look */
	unsigned interval_s;		/* between textfile writes */
	const char *netns;		/* NULL: every namespace */
	const char *user;		/* run as this user once attached; NULL: stay root */
	const char *web_listen;		/* the /metrics endpoint; NULL: off */
	/* TC classifier: names or fnmatch patterns (none: default route + lo). */
	const char *const *ifaces;
	size_t n_ifaces;
	int no_tc;			/* outcomes only, untagged */
	/* TLS source: OpenSSL uprobes on the libraries found, and these (--ssl-lib). */
	const char *const *ssl_libs;
	size_t n_ssl_libs;
	int no_tls;			/* --no-tls: none, and no capability kept for it */
	/* Hooks, TC mode, egress, ring size; the engine sets the rest. */
	struct gp_loader_opts load;
	unsigned max_tags;
	unsigned tag_idle_s;		/* 0: tags never retired */
	unsigned request_timeout_s;	/* a request without response is "none" after it */
	unsigned tag_wait_ms;
	unsigned endpoint_memory_s;	/* 0: off */
	struct gp_rule_sources rules;
};

struct gp_engine_ops {
	/* Each tagged outcome after it was counted; non-zero (an errno) stops polling. */
	int (*conn)(void *ctx, const struct gp_conn *c);
	/* Each finished request after it was counted (NULL: not wanted); the same. */
	int (*request)(void *ctx, const struct gp_request *r);
	/* Each TLS handshake's end after it was counted (NULL: not wanted); the same. */
	int (*handshake)(void *ctx, const struct gp_tls_handshake *h);
	void *ctx;
};

/*
 * Checks privileges and flags, loads the rules, attaches. Returns 0, 1
 * (runtime failure) or 2 (bad usage), having said why. cfg's strings must
 * outlive the engine.
 */
int gp_engine_open(struct gp_engine **out, const struct gp_engine_config *cfg,
		   const struct gp_engine_ops *ops);
/*
 * The caller's loop: wait until gp_engine_fd is readable (poll(2), beside
 * its own fds) or gp_engine_next_deadline_ns (CLOCK_MONOTONIC) has come,
 * whichever is first, then gp_engine_dispatch with the time. dispatch does
 * what is due: reads the ring buffer, lets tag waits expire, retires idle
 * tags, follows interfaces, rewrites the textfile and the endpoint. 0 or
 * -errno (an ops.conn error, or the ring buffer failing, said).
 */
int gp_engine_fd(const struct gp_engine *e);
uint64_t gp_engine_next_deadline_ns(const struct gp_engine *e);
int gp_engine_dispatch(struct gp_engine *e, uint64_t now_ns);
void gp_engine_reload_rules(struct gp_engine *e);		/* SIGHUP */
/* Long-lived flows' bytes brought up to date, flows the kernel forgot forgotten. */
void gp_engine_sweep(struct gp_engine *e, uint64_t now_ns);
/* The aggregate as it is, with the kernel's counters; release with gp_snapshot_release. */
int gp_engine_snapshot(struct gp_engine *e, struct gp_snapshot *snap);
/* Stopping: drain, decide every waiting outcome, write the textfile once more. */
int gp_engine_finish(struct gp_engine *e);
void gp_engine_close(struct gp_engine *e);			/* NULL-safe; detaches */
const char *gp_engine_tc_desc(const struct gp_engine *e);	/* "lo/ingress(tcx)" */
uint64_t gp_engine_started_ns(const struct gp_engine *e);	/* CLOCK_MONOTONIC */

/* Rules from --rule, then --rules, then the defaults; NULL after saying why. */
struct gp_rules *gp_load_rules(const struct gp_rule_sources *src, int reload);
void gp_print_rules(const struct gp_rules *rules);		/* with -v */
uint64_t gp_now_ns(clockid_t clk);

#endif
