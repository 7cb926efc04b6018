// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* strsignal */
/*
 * grayprobe: the commands, one loop each. Collecting lives in engine.c (loader.c,
 * pipeline.c), showing in prom.c, json.c and, for top, topmodel.c, toptext.c and topui.c.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd/check.h"
#include "cmd/engine.h"
#include "pipeline/event.h"
#include "export/json.h"
#include "collect/loader.h"
#include "util/log.h"
#include "cmd/opts.h"
#include "input/pcapin.h"
#include "input/pktsplit.h"
#include "pipeline/pipeline.h"
#include "pipeline/rules.h"
#include "top/topmodel.h"
#include "top/toptext.h"
#include "top/topui.h"

/* BPF_PROG_TEST_RUN's skb limit is about a page; bigger frames are cut up. */
#define REPLAY_FRAME_MAX	3584

static volatile sig_atomic_t stop_signal, reload_rules;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_rules = 1;
	else
		stop_signal = sig;
}

struct run_ctx {
	int events_json;
	int64_t rt_offset_ns;		/* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static int run_conn(void *ctx, const struct gp_conn *c)
{
	struct run_ctx *r = ctx;

	if (r->events_json && gp_json_conn(stdout, c, r->rt_offset_ns))
		return errno ? errno : EIO;
	return 0;
}

static int run_request(void *ctx, const struct gp_request *q)
{
	struct run_ctx *r = ctx;

	if (r->events_json && gp_json_request(stdout, q, r->rt_offset_ns))
		return errno ? errno : EIO;
	return 0;
}

static int run_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	struct run_ctx *r = ctx;

	if (r->events_json && gp_json_tls_handshake(stdout, h, r->rt_offset_ns))
		return errno ? errno : EIO;
	return 0;
}

/* No SA_RESTART: a signal must interrupt the ring buffer's epoll wait. */
static void catch_signals(const struct sigaction *sa)
{
	sigaction(SIGINT, sa, NULL);
	sigaction(SIGTERM, sa, NULL);
	sigaction(SIGHUP, sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Held while starting, delivered once attached: a stop asked for as soon as
 * "attached" is logged (or before) detaches cleanly, where it used to kill
 * the agent, or be lost when SIGINT came in ignored, as in a script's
 * background job.
 */
static void hold_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(how, &set, NULL);
}

static struct gp_rule_sources rule_sources(const struct gp_opts *o)
{
	return (struct gp_rule_sources){
		.flags = o->rule_flags, .n_flags = o->n_rule_flags, .file = o->rules_file,
	};
}

/* The engine's settings, as run and top were asked. */
static struct gp_engine_config engine_config(const struct gp_opts *o, const char *textfile)
{
	return (struct gp_engine_config){
		.textfile = textfile,
		.tell_first_write = o->cmd == GP_CMD_RUN,
		.interval_s = o->interval,
		.netns = o->netns,
		.user = o->user,
		.web_listen = o->web_listen,
		.ifaces = o->ifaces,
		.n_ifaces = o->n_ifaces,
		.no_tc = o->no_tc,
		.ssl_libs = o->ssl_libs,
		.n_ssl_libs = o->n_ssl_libs,
		.no_tls = o->no_tls,
		.load = {
			.connect_hook = o->connect_hook, .state_hook = o->state_hook,
			.tc_mode = o->tc_mode, .egress = !o->ingress_only, .ringbuf_kb = o->ringbuf_kb,
		},
		.max_tags = o->max_tags,
		.tag_idle_s = o->tag_idle_s,
		.request_timeout_s = o->request_timeout_s,
		.tag_wait_ms = o->tag_wait_ms,
		.endpoint_memory_s = o->endpoint_memory_s,
		.rules = rule_sources(o),
	};
}

/*
 * Signals are held while starting and acted on once attached; the handlers
 * go in before ncurses starts (top), which leaves ones already there alone.
 * 0, 1 or 2, as gp_engine_open.
 */
static int open_engine(struct gp_engine **e, const struct gp_engine_config *cfg,
		       const struct gp_engine_ops *ops, const struct sigaction *sa)
{
	int err;

	hold_signals(SIG_BLOCK);
	catch_signals(sa);
	err = gp_engine_open(e, cfg, ops);
	hold_signals(SIG_UNBLOCK);
	return err;
}

static int64_t rt_offset_ns(void)
{
	return (int64_t)(gp_now_ns(CLOCK_REALTIME) - gp_now_ns(CLOCK_MONOTONIC));
}

/*
 * The one wait of every loop: until the engine's fd or *in_fd (-1: none) is
 * readable, a signal comes, or the engine's deadline or until_ns, whichever
 * is first. A hung-up *in_fd becomes -1, so it cannot spin the loop.
 * Returns the time after.
 */
static uint64_t wait_engine(struct gp_engine *e, int *in_fd, uint64_t until_ns)
{
	struct pollfd fds[2] = {
		{ .fd = gp_engine_fd(e), .events = POLLIN },
		{ .fd = in_fd ? *in_fd : -1, .events = POLLIN },
	};
	uint64_t now = gp_now_ns(CLOCK_MONOTONIC), due = gp_engine_next_deadline_ns(e);
	uint64_t ms;

	if (until_ns < due)
		due = until_ns;
	ms = due > now ? (due - now) / 1000000u + 1 : 0;
	if (poll(fds, 2, (int)(ms < INT_MAX ? ms : INT_MAX)) > 0 && in_fd &&
	    (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)))
		*in_fd = -1;
	return gp_now_ns(CLOCK_MONOTONIC);
}

/* Until a stop: events out as they are decided, SIGHUP reloads the rules. */
static int run_loop(struct gp_engine *e, struct run_ctx *r)
{
	int ret;

	while (!stop_signal) {
		if (reload_rules) {
			reload_rules = 0;
			gp_engine_reload_rules(e);
		}
		r->rt_offset_ns = rt_offset_ns();
		ret = gp_engine_dispatch(e, gp_now_ns(CLOCK_MONOTONIC));
		if (!ret && r->events_json && fflush(stdout))
			ret = -errno;
		if (ret) {
			if (r->events_json)
				gp_err("writing events to stdout failed: %s", strerror(-ret));
			return ret;
		}
		wait_engine(e, NULL, UINT64_MAX);
	}
	return 0;
}

static int cmd_run(const struct gp_opts *opts)
{
	struct gp_engine_config cfg = engine_config(opts, opts->textfile ? opts->textfile :
						    gp_default_textfile());
	struct run_ctx r = { .events_json = opts->events_json };
	struct gp_engine_ops ops = { .conn = run_conn, .request = run_request,
				     .handshake = run_handshake, .ctx = &r };
	struct sigaction sa = { .sa_handler = on_signal };
	struct gp_engine *e = NULL;
	int err, ret;

	err = open_engine(&e, &cfg, &ops, &sa);
	if (err)
		return err;
	err = 1;
	if (run_loop(e, &r))
		goto cleanup;
	ret = gp_engine_finish(e);
	if (!ret && opts->events_json && fflush(stdout))
		ret = -errno;
	if (ret) {
		gp_err("writing events to stdout failed: %s", strerror(-ret));
		goto cleanup;
	}
	gp_info("stopped by %s; detached", strsignal(stop_signal));
	err = 0;
cleanup:
	gp_engine_close(e);
	return err;
}

/* For top, SIGHUP is the terminal going away, not a reload. */
static void on_top_signal(int sig)
{
	stop_signal = sig;
}

/* Swept first, so long-lived flows' bytes are up to date; 0 or -errno, said. */
static int take_snapshot(struct gp_engine *e, uint64_t now, struct gp_snapshot *snap)
{
	int err;

	gp_engine_sweep(e, now);
	err = gp_engine_snapshot(e, snap);
	if (err)
		gp_err("taking a snapshot failed: %s", strerror(-err));
	return err;
}

/* --once, or no terminal: one period, then the table as text, like top -b -n 1. */
static int top_once(struct gp_engine *e, struct gp_top_model *m, unsigned refresh_ms)
{
	uint64_t end = gp_engine_started_ns(e) + (uint64_t)refresh_ms * 1000000u;
	uint64_t now = gp_now_ns(CLOCK_MONOTONIC);
	struct gp_snapshot snap;
	struct winsize ws;
	unsigned width = 0;
	int err;

	while (!stop_signal && now < end) {
		if (gp_engine_dispatch(e, now))
			return 1;
		now = wait_engine(e, NULL, end);
	}
	/* Outcomes still waiting for their tag are counted too, with what is known. */
	if (gp_engine_finish(e))
		return 1;
	now = gp_now_ns(CLOCK_MONOTONIC);
	if (take_snapshot(e, now, &snap))
		return 1;
	m->rt_offset_ns = rt_offset_ns();
	err = gp_top_model_update(m, &snap, now);
	gp_snapshot_release(&snap);
	if (err) {
		gp_err("out of memory");
		return 1;
	}
	/* A terminal's width; a pipe or file gets every column. */
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		width = ws.ws_col;
	if (gp_top_render_text(stdout, m, width) || fflush(stdout)) {
		gp_err("writing to stdout failed: %s", strerror(errno ? errno : EIO));
		return 1;
	}
	return 0;
}

static int top_refresh(struct gp_engine *e, struct gp_top_ui *ui, uint64_t now)
{
	struct gp_snapshot snap;
	int err = take_snapshot(e, now, &snap);

	if (err)
		return err;
	ui->model->rt_offset_ns = rt_offset_ns();
	err = gp_top_ui_draw(ui, &snap, now);
	gp_snapshot_release(&snap);
	return err;
}

/*
 * The full screen until q or a stop: a new snapshot every refresh_ms unless
 * paused, keys as they come, the engine's work in between.
 */
static int top_screen(struct gp_engine *e, struct gp_top_ui *ui, unsigned refresh_ms)
{
	uint64_t refresh_ns = (uint64_t)refresh_ms * 1000000u, now, next, until;
	int in = STDIN_FILENO, err = 1;

	if (gp_top_ui_open(ui))
		return 1;
	now = next = gp_now_ns(CLOCK_MONOTONIC);
	while (!stop_signal) {
		if (!ui->paused && now >= next) {
			if (top_refresh(e, ui, now))
				goto out;
			next += refresh_ns;
			if (next <= now)	/* fell behind, or was paused */
				next = now + refresh_ns;
		} else if (gp_top_ui_draw(ui, NULL, now)) {
			goto out;
		}
		if (gp_engine_dispatch(e, now))
			goto out;	/* the engine said why */
		until = now + GP_TOP_UI_TICK_MS * 1000000ull;
		if (!ui->paused && next < until)
			until = next;
		now = wait_engine(e, &in, until);
		if (gp_top_ui_input(ui))
			break;
	}
	err = 0;
out:
	gp_top_ui_close(ui);
	return err;
}

static int cmd_top(const struct gp_opts *opts)
{
	struct gp_top_model m;
	struct gp_top_ui ui = { .model = &m };
	struct gp_engine_ops ops = { .conn = gp_top_ui_conn, .ctx = &ui };
	struct sigaction sa = { .sa_handler = on_top_signal };
	struct gp_top_config cfg = {
		.p99_delta_pct = opts->p99_delta,
		.fail_delta_pp = opts->fail_delta,
		.min_samples = opts->min_samples,
		.recent = opts->recent,
		.max_tags = opts->max_tags,
	};
	int once = opts->once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO);
	/* A textfile only when asked for: top is mostly run beside an agent that writes one. */
	struct gp_engine_config ecfg = engine_config(opts, opts->textfile);
	struct gp_engine *e = NULL;
	int err;

	memset(&m, 0, sizeof(m));
	err = open_engine(&e, &ecfg, &ops, &sa);
	if (err)
		return err;
	err = 1;
	cfg.started_ns = gp_engine_started_ns(e);
	cfg.classifier = gp_engine_tc_desc(e);
	if (gp_top_model_init(&m, &cfg)) {
		gp_err("out of memory");
		goto cleanup;
	}
	if (once ? top_once(e, &m, opts->refresh_ms) :
		   top_screen(e, &ui, opts->refresh_ms) || gp_engine_finish(e))
		goto cleanup;
	if (stop_signal)
		gp_info("stopped by %s; detached", strsignal(stop_signal));
	else if (!once)
		gp_info("quit; detached");
	err = 0;
cleanup:
	gp_top_model_free(&m);
	gp_engine_close(e);
	return err;
}

struct replay_ctx {
	struct gp_pipeline *pipe;
	struct gp_loader *loader;
	uint64_t frame, frame_ts, flows, run_errors, too_big;
	int out_err;
};

static void replay_flow(void *ctx, const struct gp_flow_result *res)
{
	struct replay_ctx *r = ctx;

	r->flows++;
	if (gp_json_flow(stdout, res, r->frame, r->frame_ts))
		r->out_err = 1;
}

/* The same request lines as run's; the capture's clock is UTC already. */
static void replay_request(void *ctx, const struct gp_request *q)
{
	struct replay_ctx *r = ctx;

	if (gp_json_request(stdout, q, 0))
		r->out_err = 1;
}

static int replay_event(void *ctx, void *data, size_t size)
{
	struct replay_ctx *r = ctx;

	/* The capture's clock: a flow's wait runs on frame timestamps. A bad record is counted. */
	gp_pipeline_record(r->pipe, data, size, r->frame_ts);
	return 0;
}

static int replay_piece(void *ctx, const uint8_t *frame, size_t len)
{
	struct replay_ctx *r = ctx;
	int err = gp_loader_test_run(r->loader, frame, len);

	if (err)
		r->run_errors++;
	return 0;
}

/* Each frame through the classifier, its records through the pipeline; 0 or 1. */
static int replay_frames(struct replay_ctx *r, struct gp_pcap *pc)
{
	struct gp_pcap_frame f;
	char errbuf[512];
	int ret;

	while ((ret = gp_pcap_next(pc, &f, errbuf, sizeof(errbuf))) == 1) {
		r->frame = f.index;
		r->frame_ts = f.ts_ns;
		if (gp_frame_split(f.data, f.len, REPLAY_FRAME_MAX, replay_piece, r) == -EMSGSIZE)
			r->too_big++;
		/* Records in frame order, so a flow is decided at the frame that settles it. */
		gp_loader_drain(r->loader);
		if (r->out_err)
			break;
	}
	if (ret < 0) {
		gp_err("%s", errbuf);
		return 1;
	}
	return 0;
}

static void replay_summary(const struct replay_ctx *r, const struct gp_pcap *pc, const char *file)
{
	uint64_t kstats[GP_STAT_MAX];
	struct gp_pcap_stats ps;

	gp_pcap_stats(pc, &ps);
	if (gp_loader_stats(r->loader, kstats))
		memset(kstats, 0, sizeof(kstats));
	gp_info("%s: %llu frames (%s), %llu flows classified; skipped: %llu truncated, "
		"%llu unsupported, %llu oversized, %llu malformed, %llu test-run errors, "
		"%llu bad records",
		file, (unsigned long long)ps.frames, gp_pcap_linktype(pc),
		(unsigned long long)r->flows, (unsigned long long)ps.truncated,
		(unsigned long long)ps.unsupported, (unsigned long long)(ps.too_long + r->too_big),
		(unsigned long long)kstats[GP_STAT_PKT_MALFORMED],
		(unsigned long long)r->run_errors,
		(unsigned long long)gp_pipeline_bad_records(r->pipe));
}

static int cmd_replay(const struct gp_opts *opts)
{
	struct replay_ctx r = { 0 };
	/*
	 * A capture has no sockets, so no outcomes: flows and requests (direction
	 * "unknown"), nothing aggregated. Records are stamped by the run, not the
	 * capture: requests take the frames' time.
	 */
	struct gp_pipeline_sinks sinks = {
		.flow = replay_flow, .request = replay_request, .ctx = &r,
	};
	struct gp_pipeline_config pcfg = {
		.tagger.tag_wait_ns = (uint64_t)opts->tag_wait_ms * 1000000u,
		.l7_frame_time = 1,
	};
	struct gp_rule_sources src = rule_sources(opts);
	struct gp_rules *rules = NULL;
	struct gp_pcap *pc = NULL;
	char errbuf[512];
	int err = 1, ret;

	rules = gp_load_rules(&src, 0);
	if (!rules)
		return 2;
	gp_print_rules(rules);
	ret = gp_pcap_open(&pc, opts->replay_file, errbuf, sizeof(errbuf));
	if (ret) {
		gp_err("%s", errbuf);
		err = 2;
		goto cleanup;
	}
	if (gp_pipeline_new(&r.pipe, &pcfg, &sinks)) {
		gp_err("out of memory");
		goto cleanup;
	}
	gp_pipeline_set_rules(r.pipe, rules);
	if (gp_loader_open_replay(&r.loader, GP_RINGBUF_KB_DEFAULT, replay_event, &r))
		goto cleanup;

	if (replay_frames(&r, pc))
		goto cleanup;
	gp_pipeline_flush(r.pipe);
	if (r.out_err || fflush(stdout)) {
		gp_err("writing to stdout failed: %s", strerror(errno ? errno : EIO));
		goto cleanup;
	}
	replay_summary(&r, pc, opts->replay_file);
	err = 0;
cleanup:
	gp_loader_close(r.loader);
	gp_pipeline_free(r.pipe);
	gp_pcap_close(pc);
	gp_rules_free(rules);
	return err;
}

int main(int argc, char **argv)
{
	struct gp_opts opts;
	int ret;

	gp_log_init();
	ret = gp_opts_parse(argc, argv, &opts, stderr);
	if (ret)
		return ret;
	gp_log_set_level(opts.verbose >= 2 ? GP_LOG_TRACE :
			 opts.verbose ? GP_LOG_DEBUG : GP_LOG_INFO);
	switch (opts.cmd) {
	case GP_CMD_HELP:
		gp_usage(stdout, opts.help_for);
		return 0;
	case GP_CMD_VERSION:
		printf("grayprobe %s\n", GP_VERSION);
		return 0;
	case GP_CMD_CHECK:
		return gp_cmd_check(stdout, &(struct gp_check_want){
			.connect_hook = opts.connect_hook, .state_hook = opts.state_hook,
			.tc_mode = opts.tc_mode });
	case GP_CMD_RUN:
		return cmd_run(&opts);
	case GP_CMD_TOP:
		return cmd_top(&opts);
	case GP_CMD_REPLAY:
		return cmd_replay(&opts);
	default:
		gp_usage(stderr, GP_CMD_NONE);
		return 2;
	}
}
