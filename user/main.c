// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* CLONE_NEWNET, strsignal */
/*
 * grayprobe: the agent. Collecting lives in loader.c, tagger.c and agg.c,
 * showing in prom.c and json.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "event.h"
#include "iface.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "opts.h"
#include "pcapin.h"
#include "pktsplit.h"
#include "prom.h"
#include "rules.h"
#include "tagger.h"

/* BPF_PROG_TEST_RUN's skb limit is about a page; bigger frames are cut up. */
#define REPLAY_FRAME_MAX	3584

struct run_ctx {
	const struct gp_opts *opts;
	const char *textfile;
	struct gp_loader *loader;
	struct gp_agg *agg;
	struct gp_tagger *tagger;
	struct gp_rules *rules;
	int64_t rt_offset_ns;		/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t bad_records;
	uint64_t bad_records_logged;
	uint64_t textfile_errors;
	int out_err;			/* stdout (JSON) failed */
};

static volatile sig_atomic_t stop_signal, reload_rules;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_rules = 1;
	else
		stop_signal = sig;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* A tagged outcome: counted, and shown when asked. */
static void on_tagged(void *ctx, const struct gp_conn *c)
{
	struct run_ctx *r = ctx;

	gp_agg_record(r->agg, c);
	if (r->opts->events_json && !r->out_err && gp_json_conn(stdout, c, r->rt_offset_ns))
		r->out_err = errno ? errno : EIO;
}

static void on_bytes(void *ctx, unsigned dir, const char *alpn, const char *gray, uint64_t n)
{
	struct run_ctx *r = ctx;

	gp_agg_add_bytes(r->agg, dir, alpn, gray, n);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct run_ctx *r = ctx;
	struct gp_payload_event h;
	const uint8_t *payload;
	struct gp_conn c;
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	switch (gp_event_type(data, size)) {
	case GP_EV_CONN:
		if (gp_conn_decode(data, size, &c))
			break;
		gp_tagger_conn(r->tagger, &c, now);
		return r->out_err ? -EIO : 0;	/* -EIO stops this poll; the loop reports it */
	case GP_EV_PAYLOAD:
	case GP_EV_FLOW_END:
		if (gp_payload_decode(data, size, &h, &payload))
			break;
		gp_tagger_payload(r->tagger, &h, payload, now);
		return r->out_err ? -EIO : 0;
	}
	r->bad_records++;
	return 0;
}

static int sweep_flow(void *ctx, const struct gp_flow_key *k, const struct gp_flow_val *v)
{
	struct run_ctx *r = ctx;
	struct gp_flow_tuple t;

	gp_flow_tuple_from_key(k, v, &t);
	gp_tagger_flow_bytes(r->tagger, &t, v->isn, v->bytes);
	return 0;
}

/* Bytes of long-lived flows, and forgetting what the kernel forgot. */
static void sweep_flows(struct run_ctx *r)
{
	int err;

	gp_tagger_sweep_begin(r->tagger);
	err = gp_loader_flows(r->loader, sweep_flow, r);
	if (err)
		gp_warn("reading the flow table failed: %s", strerror(-err));
	gp_tagger_tick(r->tagger, now_ns(CLOCK_MONOTONIC), !err);
}

/*
 * Rules from --rule flags, then --rules FILE, then the defaults. NULL after
 * logging why; with reload set, the message says the old rules stay.
 */
static struct gp_rules *load_rules(const struct gp_opts *o, int reload)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	struct gp_rules *rules;
	char err[512];
	size_t i;

	if (!b) {
		gp_err("out of memory");
		return NULL;
	}
	for (i = 0; i < o->n_rule_flags; i++)
		if (gp_rules_add_line(b, o->rule_flags[i], "--rule", 0, err, sizeof(err)))
			goto bad;
	if (o->rules_file && gp_rules_add_file(b, o->rules_file, err, sizeof(err)))
		goto bad;
	rules = gp_rules_build(b);
	if (!rules)
		gp_err("building the rules failed: %s", strerror(errno));
	return rules;
bad:
	gp_rules_builder_free(b);
	gp_err("%s%s", err, reload ? "; keeping the rules in use" : "");
	return NULL;
}

static void print_rules(const struct gp_rules *rules)
{
	if (gp_log_get_level() < GP_LOG_DEBUG)
		return;
	fprintf(stderr, "gray rules, first match wins (none: gray=\"stable\"):\n");
	gp_rules_print(rules, stderr);
}

static void write_textfile(struct run_ctx *r)
{
	uint64_t stats[GP_STAT_MAX] = { 0 };
	struct gp_snapshot snap = { 0 };
	int err;

	sweep_flows(r);
	err = gp_loader_stats(r->loader, stats);
	if (err)
		gp_warn("reading kernel counters failed: %s", strerror(-err));
	if (r->bad_records != r->bad_records_logged) {
		gp_warn("%llu malformed ring buffer records dropped so far",
			(unsigned long long)r->bad_records);
		r->bad_records_logged = r->bad_records;
	}
	err = gp_agg_snapshot(r->agg, &snap);
	if (err) {
		gp_warn("textfile not written: %s", strerror(-err));
		r->textfile_errors++;
		return;
	}
	snap.version = GP_VERSION;
	snap.connect_hook = gp_connect_hook_name(gp_loader_connect_hook(r->loader));
	snap.state_hook = gp_state_hook_name(gp_loader_state_hook(r->loader));
	snap.lost_ringbuf = stats[GP_STAT_LOST_RINGBUF];
	snap.lost_malformed = r->bad_records;
	snap.lost_track = stats[GP_STAT_LOST_TRACK];
	snap.lost_payload = stats[GP_STAT_LOST_PAYLOAD];
	snap.pkt_malformed = stats[GP_STAT_PKT_MALFORMED];
	snap.textfile_errors = r->textfile_errors;
	err = gp_textfile_write(r->textfile, &snap);
	if (err) {
		r->textfile_errors++;
		gp_warn("writing %s failed: %s; the previous file stays in place",
			r->textfile, strerror(-err));
	}
	gp_snapshot_release(&snap);
}

/* Inode of a network namespace file, or a negative errno with a message. */
static int netns_inode(const char *path, uint32_t *ino)
{
	struct stat st;
	int fd, type, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		gp_err("--netns %s: %s", path, strerror(errno));
		return err;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET || fstat(fd, &st)) {
		gp_err("--netns %s: not a network namespace", path);
		err = -EINVAL;
	} else {
		*ino = st.st_ino;
	}
	close(fd);
	return err;
}

static int textfile_dir_ok(const char *path)
{
	char buf[PATH_MAX], *dir;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		gp_err("--textfile: path too long");
		return 0;
	}
	dir = dirname(buf);
	if (access(dir, W_OK)) {
		gp_err("--textfile %s: directory %s is not writable: %s", path, dir, strerror(errno));
		return 0;
	}
	return 1;
}

/*
 * -i patterns against the interfaces this namespace has; none given: those
 * carrying a default route, plus lo. A pattern that matches nothing is an
 * error: a typo must not silently tag nothing.
 */
static int resolve_ifaces(const struct gp_opts *o, struct gp_ifaces *out)
{
	struct if_nameindex *all = NULL, *ni;
	const char *names[GP_IFACE_NAMES_MAX];
	FILE *r4, *r6;
	size_t n = 0, i;
	int err = -EINVAL, hits;

	memset(out, 0, sizeof(*out));
	if (o->no_tc)
		return 0;
	if (!o->n_ifaces) {
		r4 = fopen("/proc/net/route", "re");
		r6 = fopen("/proc/net/ipv6_route", "re");
		gp_ifaces_default_routes(out, r4, r6);
		if (r4)
			fclose(r4);
		if (r6)
			fclose(r6);
		gp_ifaces_add(out, "lo");
		return 0;
	}
	all = if_nameindex();
	if (!all) {
		err = -errno;
		gp_err("listing interfaces: %s", strerror(errno));
		return err;
	}
	for (ni = all; ni->if_index && n < GP_IFACE_NAMES_MAX; ni++)
		names[n++] = ni->if_name;
	for (i = 0; i < o->n_ifaces; i++) {
		hits = gp_ifaces_match(out, o->ifaces[i], names, n);
		if (hits < 0) {
			gp_err("-i %s: more than %d interfaces", o->ifaces[i], GP_IFACE_NAMES_MAX);
			goto out;
		}
		if (!hits) {
			gp_err("-i %s: no such interface", o->ifaces[i]);
			goto out;
		}
	}
	err = 0;
out:
	if_freenameindex(all);
	return err;
}

static int cmd_run(const struct gp_opts *opts)
{
	struct gp_loader_opts lo = { 0 };
	struct run_ctx r = { .opts = opts };
	struct sigaction sa = { .sa_handler = on_signal };
	struct gp_tagger_ops ops = { .conn = on_tagged, .bytes = on_bytes, .ctx = &r };
	uint64_t next_write, interval_ns = (uint64_t)opts->interval * 1000000000u;
	const char *ifnames[GP_IFACE_NAMES_MAX];
	struct gp_ifaces *ifs = NULL;
	size_t i;
	int err = 1, ret;

	if (gp_check_privileges())
		return 1;
	r.textfile = opts->textfile ? opts->textfile : gp_default_textfile();
	ifs = calloc(1, sizeof(*ifs));
	if (!ifs) {
		gp_err("out of memory");
		return 1;
	}
	if ((opts->netns && netns_inode(opts->netns, &lo.netns_ino)) ||
	    !textfile_dir_ok(r.textfile) || resolve_ifaces(opts, ifs)) {
		fputs("Try 'grayprobe --help'.\n", stderr);
		free(ifs);
		return 2;
	}
	r.rules = load_rules(opts, 0);
	if (!r.rules) {
		free(ifs);
		return 2;
	}
	print_rules(r.rules);
	r.agg = gp_agg_new(opts->max_tags);
	r.tagger = gp_tagger_new(&ops, (uint64_t)opts->tag_wait_ms * 1000000u);
	if (!r.agg || !r.tagger) {
		gp_err("out of memory");
		goto cleanup;
	}
	gp_tagger_set_rules(r.tagger, r.rules);

	/* No SA_RESTART: a signal must interrupt the ring buffer's epoll wait. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < ifs->n; i++)
		ifnames[i] = ifs->name[i];
	lo.ifaces = ifnames;
	lo.n_ifaces = ifs->n;
	lo.egress = opts->egress;
	lo.tc_mode = opts->tc_mode;

	lo.connect_hook = opts->connect_hook;
	lo.state_hook = opts->state_hook;
	lo.ringbuf_kb = opts->ringbuf_kb;
	lo.on_event = on_event;
	lo.ctx = &r;
	if (gp_loader_open(&r.loader, &lo))
		goto cleanup;

	gp_info("attached: connect_hook=%s state_hook=%s netns=%s classifier=%s; writing %s every %us",
		gp_connect_hook_name(gp_loader_connect_hook(r.loader)),
		gp_state_hook_name(gp_loader_state_hook(r.loader)),
		opts->netns ? opts->netns : "all",
		ifs->n ? gp_loader_tc_desc(r.loader) : "none (outcomes untagged)",
		r.textfile, opts->interval);
	write_textfile(&r);
	next_write = now_ns(CLOCK_MONOTONIC) + interval_ns;

	while (!stop_signal) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int timeout = now >= next_write ? 0 : (int)((next_write - now) / 1000000u) + 1;

		if (reload_rules) {
			struct gp_rules *nr = load_rules(opts, 1);

			reload_rules = 0;
			if (nr) {
				gp_tagger_set_rules(r.tagger, nr);
				gp_rules_free(r.rules);
				r.rules = nr;
				gp_info("SIGHUP: %zu gray rules loaded", gp_rules_count(nr));
				print_rules(nr);
			}
		}
		r.rt_offset_ns = (int64_t)(now_ns(CLOCK_REALTIME) - now);
		/* Short polls while outcomes wait for tags, so they leave on time. */
		ret = gp_loader_poll(r.loader, timeout > 100 ? 100 : timeout);
		if (ret < 0 && ret != -EINTR) {
			if (r.out_err)
				gp_err("writing events to stdout failed: %s", strerror(r.out_err));
			else
				gp_err("ring buffer poll failed: %s", strerror(-ret));
			goto cleanup;
		}
		if (opts->events_json && fflush(stdout)) {
			gp_err("writing events to stdout failed: %s", strerror(errno));
			goto cleanup;
		}
		now = now_ns(CLOCK_MONOTONIC);
		gp_tagger_tick(r.tagger, now, 0);
		if (now >= next_write) {
			write_textfile(&r);
			next_write += interval_ns;
			if (next_write <= now)	/* fell behind: do not burst */
				next_write = now + interval_ns;
		}
	}

	/* Stopping: what the kernel already produced still counts, tagged with what is known. */
	ret = gp_loader_drain(r.loader);
	gp_tagger_flush(r.tagger);
	if (ret < 0 && r.out_err) {
		gp_err("writing events to stdout failed: %s", strerror(r.out_err));
		goto cleanup;
	}
	if (opts->events_json && fflush(stdout)) {
		gp_err("writing events to stdout failed: %s", strerror(errno));
		goto cleanup;
	}
	write_textfile(&r);
	gp_info("stopped by %s; detached", strsignal(stop_signal));
	err = 0;
cleanup:
	gp_loader_close(r.loader);
	gp_tagger_free(r.tagger);
	gp_rules_free(r.rules);
	gp_agg_free(r.agg);
	free(ifs);
	return err;
}

struct replay_ctx {
	struct gp_tagger *tagger;
	struct gp_loader *loader;
	uint64_t frame, frame_ts, bad_records, flows, run_errors, too_big;
	int out_err;
};

static void replay_flow(void *ctx, const struct gp_flow_result *res)
{
	struct replay_ctx *r = ctx;

	r->flows++;
	if (gp_json_flow(stdout, res, r->frame, r->frame_ts))
		r->out_err = 1;
}

static void replay_conn(void *ctx, const struct gp_conn *c)
{
	(void)ctx;
	(void)c;	/* a capture has no sockets, so no outcomes */
}

static int replay_event(void *ctx, void *data, size_t size)
{
	struct replay_ctx *r = ctx;
	struct gp_payload_event h;
	const uint8_t *payload;

	if (gp_payload_decode(data, size, &h, &payload)) {
		r->bad_records++;
		return 0;
	}
	gp_tagger_payload(r->tagger, &h, payload, r->frame_ts);
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

static int cmd_replay(const struct gp_opts *opts)
{
	struct replay_ctx r = { 0 };
	struct gp_tagger_ops ops = { .conn = replay_conn, .flow = replay_flow, .ctx = &r };
	struct gp_pcap_frame f;
	struct gp_pcap_stats ps;
	uint64_t kstats[GP_STAT_MAX];
	struct gp_rules *rules = NULL;
	struct gp_pcap *pc = NULL;
	char errbuf[512];
	int err = 1, ret;

	rules = load_rules(opts, 0);
	if (!rules)
		return 2;
	print_rules(rules);
	ret = gp_pcap_open(&pc, opts->replay_file, errbuf, sizeof(errbuf));
	if (ret) {
		gp_err("%s", errbuf);
		err = 2;
		goto cleanup;
	}
	r.tagger = gp_tagger_new(&ops, (uint64_t)opts->tag_wait_ms * 1000000u);
	if (!r.tagger) {
		gp_err("out of memory");
		goto cleanup;
	}
	gp_tagger_set_rules(r.tagger, rules);
	if (gp_loader_open_replay(&r.loader, GP_RINGBUF_KB_DEFAULT, replay_event, &r))
		goto cleanup;

	while ((ret = gp_pcap_next(pc, &f, errbuf, sizeof(errbuf))) == 1) {
		r.frame = f.index;
		r.frame_ts = f.ts_ns;
		if (gp_frame_split(f.data, f.len, REPLAY_FRAME_MAX, replay_piece, &r) == -EMSGSIZE)
			r.too_big++;
		/* Records in frame order, so a flow is decided at the frame that settles it. */
		gp_loader_drain(r.loader);
		if (r.out_err)
			break;
	}
	if (ret < 0) {
		gp_err("%s", errbuf);
		goto cleanup;
	}
	gp_tagger_flush(r.tagger);
	if (r.out_err || fflush(stdout)) {
		gp_err("writing to stdout failed: %s", strerror(errno ? errno : EIO));
		goto cleanup;
	}
	gp_pcap_stats(pc, &ps);
	if (gp_loader_stats(r.loader, kstats))
		memset(kstats, 0, sizeof(kstats));
	gp_info("%s: %llu frames (%s), %llu flows classified; skipped: %llu truncated, "
		"%llu unsupported, %llu oversized, %llu malformed, %llu test-run errors, "
		"%llu bad records",
		opts->replay_file, (unsigned long long)ps.frames, gp_pcap_linktype(pc),
		(unsigned long long)r.flows, (unsigned long long)ps.truncated,
		(unsigned long long)ps.unsupported, (unsigned long long)(ps.too_long + r.too_big),
		(unsigned long long)kstats[GP_STAT_PKT_MALFORMED],
		(unsigned long long)r.run_errors, (unsigned long long)r.bad_records);
	err = 0;
cleanup:
	gp_loader_close(r.loader);
	gp_tagger_free(r.tagger);
	gp_pcap_close(pc);
	gp_rules_free(rules);
	return err;
}

int main(int argc, char **argv)
{
	struct gp_opts opts;
	int ret;

	ret = gp_opts_parse(argc, argv, &opts, stderr);
	if (ret)
		return ret;
	gp_log_set_level(opts.verbose >= 2 ? GP_LOG_TRACE :
			 opts.verbose ? GP_LOG_DEBUG : GP_LOG_INFO);
	switch (opts.cmd) {
	case GP_CMD_HELP:
		gp_usage(stdout);
		return 0;
	case GP_CMD_VERSION:
		printf("grayprobe %s\n", GP_VERSION);
		return 0;
	case GP_CMD_CHECK:
		return gp_check(stdout, &opts);
	case GP_CMD_RUN:
		return cmd_run(&opts);
	case GP_CMD_REPLAY:
		return cmd_replay(&opts);
	default:
		gp_usage(stderr);
		return 2;
	}
}
