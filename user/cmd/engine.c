// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* CLONE_NEWNET */
/*
 * The collecting engine shared by run and top: loader, tagger, rules and
 * aggregation, polled by the caller, which decides what to show.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/caps.h"
#include "cmd/engine.h"
#include "collect/iface.h"
#include "collect/loader.h"
#include "collect/ssl.h"
#include "collect/ssllib.h"
#include "util/log.h"
#include "export/prom.h"
#include "pipeline/pipeline.h"
#include "export/web.h"

#define GP_IFACE_SCAN_NS	1000000000ull
#define GP_RETIRE_PERIOD_NS	1000000000ull	/* how often idle tags are looked for */
#define GP_FOLD_LOG_NS		(60 * 1000000000ull)	/* one cap warning a minute at most */
/*
 * Most records come without a wake-up (the loader's adaptive wake-ups), and
 * outcomes waiting for tags must leave on time: the ring is read this often.
 */
#define GP_CONSUME_NS		(100 * 1000000ull)

struct gp_engine {
	struct gp_engine_config cfg;
	struct gp_engine_ops ops;
	const char *textfile;		/* NULL: none */
	struct gp_loader *loader;
	struct gp_ssl *ssl;		/* the TLS source; NULL: off or unavailable */
	struct gp_ssllib *ssllib;	/* libssl files found so far */
	struct gp_pipeline *pipe;
	struct gp_rules *rules;
	uint64_t next_write, interval_ns, started_ns, next_iface_scan;
	uint64_t next_retire, next_consume, next_lib_scan;
	uint64_t now;			/* the clock of the dispatch reading records */
	uint64_t next_fold_log, folds_logged;
	uint64_t bad_records_logged;
	uint64_t textfile_errors;
	int cb_err;			/* ops.conn failed */
	int rescan;			/* -i patterns (or none): follow interfaces as they come and go */
	struct gp_web *web;		/* --web.listen-address; NULL: off */
	int told;			/* the first textfile write was reported */
};

uint64_t gp_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* A tagged outcome, already counted: handed on. */
static void on_conn(void *ctx, const struct gp_conn *c)
{
	struct gp_engine *r = ctx;

	if (r->ops.conn && !r->cb_err)
		r->cb_err = r->ops.conn(r->ops.ctx, c);
}

static void on_request(void *ctx, const struct gp_request *q)
{
	struct gp_engine *r = ctx;

	if (r->ops.request && !r->cb_err)
		r->cb_err = r->ops.request(r->ops.ctx, q);
}

static void on_handshake(void *ctx, const struct gp_tls_handshake *h)
{
	struct gp_engine *r = ctx;

	if (r->ops.handshake && !r->cb_err)
		r->cb_err = r->ops.handshake(r->ops.ctx, h);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct gp_engine *r = ctx;

	/* A malformed record is counted and skipped. */
	gp_pipeline_record(r->pipe, data, size, r->now);
	return r->cb_err ? -EIO : 0;	/* -EIO stops this poll */
}

static int walk_flows(void *src, gp_pipeline_flow_fn fn, void *ctx)
{
	struct gp_engine *r = src;

	return gp_loader_flows(r->loader, fn, ctx);
}

void gp_engine_sweep(struct gp_engine *r, uint64_t now_ns)
{
	uint64_t bad = gp_pipeline_bad_records(r->pipe);
	int err = gp_pipeline_sweep(r->pipe, now_ns);

	if (err)
		gp_warn("reading the flow table failed: %s", strerror(-err));
	if (bad != r->bad_records_logged) {
		gp_warn("%llu malformed ring buffer records dropped so far",
			(unsigned long long)bad);
		r->bad_records_logged = bad;
	}
}

/* Each line of a rules error list, as its own log line. */
static void log_rule_errors(char *err, int reload)
{
	char *line, *save = NULL;

	for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		gp_err("%s%s", line, reload ? "; keeping the rules in use" : "");
}

/*
 * Rules from --rule flags, then --rules FILE, then the defaults. NULL after
 * logging every error; with reload set, each says the old rules stay.
 */
struct gp_rules *gp_load_rules(const struct gp_rule_sources *src, int reload)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	struct gp_rules *rules;
	/* A file's whole error list, GP_RULES_ERRORS_MAX lines and the summary. */
	static char err[(GP_RULES_ERRORS_MAX + 1) * GP_RULES_ERR_MAX];
	int bad = 0;
	size_t i;

	if (!b) {
		gp_err("out of memory");
		return NULL;
	}
	for (i = 0; i < src->n_flags; i++)
		if (gp_rules_add_line(b, src->flags[i], "--rule", 0, err, sizeof(err))) {
			log_rule_errors(err, reload);
			bad = 1;
		}
	if (src->file && gp_rules_add_file(b, src->file, err, sizeof(err))) {
		log_rule_errors(err, reload);
		bad = 1;
	}
	if (bad) {
		gp_rules_builder_free(b);
		return NULL;
	}
	rules = gp_rules_build(b);
	if (!rules)
		gp_err("building the rules failed: %s", strerror(errno));
	return rules;
}

void gp_print_rules(const struct gp_rules *rules)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (gp_log_get_level() < GP_LOG_DEBUG)
		return;
	f = open_memstream(&text, &len);
	if (!f)
		return;
	fprintf(f, "gray rules, first match wins (none: gray=\"stable\"):\n");
	gp_rules_print(rules, f);
	if (!fclose(f))
		gp_log_block(stderr, GP_LOG_DEBUG, text);
	free(text);
}

int gp_engine_snapshot(struct gp_engine *r, struct gp_snapshot *snap)
{
	uint64_t stats[GP_STAT_MAX] = { 0 };
	int err;

	err = gp_loader_stats(r->loader, stats);
	if (err)
		gp_warn("reading kernel counters failed: %s", strerror(-err));
	err = gp_pipeline_snapshot(r->pipe, snap);
	if (err)
		return err;
	snap->version = GP_VERSION;
	snap->connect_hook = gp_connect_hook_name(gp_loader_connect_hook(r->loader));
	snap->state_hook = gp_state_hook_name(gp_loader_state_hook(r->loader));
	snap->lost_ringbuf = stats[GP_STAT_LOST_RINGBUF];
	snap->lost_track = stats[GP_STAT_LOST_TRACK];
	snap->lost_payload = stats[GP_STAT_LOST_PAYLOAD];
	snap->lost_l7 = stats[GP_STAT_L7_LOST];
	snap->lost_tls = stats[GP_STAT_TLS_LOST];
	/* Counted where they were seen: such calls are not sent. */
	snap->tls.records[GP_TLS_R_NO_FLOW] += stats[GP_STAT_TLS_NO_FLOW];
	snap->pkt_malformed = stats[GP_STAT_PKT_MALFORMED];
	snap->textfile_errors = r->textfile_errors;
	return 0;
}

static int exporting(const struct gp_engine *r)
{
	return r->textfile || r->web;
}

/* Said once, so a first run shows where the numbers went and how to look. */
static void tell_first_write(struct gp_engine *r, const char *buf, size_t len)
{
	const char *web = r->cfg.web_listen;

	r->told = 1;
	if (!r->cfg.tell_first_write)
		return;
	gp_info("wrote %s (%zu series), every %us%s%s%s%s; look with: grayprobe top, "
		"or grayprobe run --events json", r->textfile, gp_prom_series(buf, len),
		r->cfg.interval_s, web ? ", also on http://" : "", web && web[0] == ':' ? "localhost" : "",
		web ? web : "", web ? GP_WEB_PATH : "");
}

/* Rendered once per interval; the textfile and the HTTP endpoint get the same bytes. */
static void export_metrics(struct gp_engine *r, uint64_t now)
{
	struct gp_snapshot snap;
	char *buf = NULL;
	size_t len = 0;
	int err;

	gp_engine_sweep(r, now);
	err = gp_engine_snapshot(r, &snap);
	if (!err) {
		err = gp_prom_render_mem(&snap, &buf, &len);
		gp_snapshot_release(&snap);
	}
	if (err) {
		gp_warn("metrics not rendered: %s", strerror(-err));
		r->textfile_errors++;
		return;
	}
	if (r->web && gp_web_publish(r->web, buf, len))
		gp_warn("metrics not published on %s: out of memory", r->cfg.web_listen);
	err = r->textfile ? gp_textfile_write_bytes(r->textfile, buf, len) : 0;
	if (err) {
		r->textfile_errors++;
		gp_warn("writing %s failed: %s; the previous file stays in place",
			r->textfile, strerror(-err));
	} else if (r->textfile && !r->told) {
		tell_first_write(r, buf, len);
	}
	free(buf);
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

/* Tried for real: a target that fails now would fail every interval. */
static int textfile_ok(const char *path, const char *user)
{
	char why[PATH_MAX + 64];

	if (!gp_textfile_probe(path, why, sizeof(why)))
		return 1;
	if (user)
		gp_err("--textfile %s (as --user %s)", why, user);
	else
		gp_err("--textfile %s", why);
	return 0;
}

/*
 * With --user the writer is that user: the probe runs as it, in a child,
 * before anything is loaded, so a directory only root may write is refused
 * up front rather than after attaching.
 */
static int textfile_ok_as(const char *path, const char *user)
{
	char why[256];
	int status;
	pid_t pid;

	if (!user)
		return textfile_ok(path, NULL);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return textfile_ok(path, NULL);
	if (!pid) {
		if (gp_caps_become(user, 0, why, sizeof(why))) {
			gp_err("%s", why);
			_exit(1);
		}
		_exit(textfile_ok(path, user) ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/* A --user that does not exist is a usage error, found before anything is loaded. */
static int user_known(const char *user)
{
	char why[256];

	if (gp_caps_lookup(user, why, sizeof(why)))
		return 1;
	gp_err("%s", why);
	return 0;
}

static int web_addr_ok(const char *listen, struct gp_web_addr *a)
{
	char why[512];

	if (!gp_web_resolve(listen, a, why, sizeof(why)))
		return 1;
	gp_err("--web.listen-address %s: %s", listen, why);
	return 0;
}

static int web_listen(struct gp_engine *r, const struct gp_web_addr *a)
{
	char why[256];
	int err = gp_web_listen(&r->web, a, why, sizeof(why));

	if (err)
		gp_err("--web.listen-address %s: %s", r->cfg.web_listen, why);
	return err;
}

/* After privileges went: capabilities are per thread, and the server's is new. */
static int web_start(struct gp_engine *r)
{
	char why[256];
	int err = gp_web_start(r->web, why, sizeof(why));

	if (err)
		gp_err("--web.listen-address %s: %s", r->cfg.web_listen, why);
	return err;
}

static int is_pattern(const char *iface)
{
	return strpbrk(iface, "*?[") != NULL;
}

/* Without -i the default routes decide, and they can change too. */
static int has_patterns(const struct gp_engine_config *o)
{
	size_t i;

	for (i = 0; i < o->n_ifaces; i++)
		if (is_pattern(o->ifaces[i]))
			return 1;
	return !o->n_ifaces;
}

/*
 * -i patterns against the interfaces this namespace has; none given: those
 * carrying a default route, plus lo. A pattern that matches nothing is an
 * error: a typo must not silently tag nothing.
 */
static int resolve_ifaces(const struct gp_engine_config *o, struct gp_ifaces *out, int strict)
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
		if (hits < 0 && !strict)
			break;
		if (hits < 0) {
			gp_err("-i %s: more than %d interfaces", o->ifaces[i], GP_IFACE_NAMES_MAX);
			goto out;
		}
		/* A name must exist; a pattern may match nothing yet (no pods so far). */
		if (!hits && strict && !is_pattern(o->ifaces[i])) {
			gp_err("-i %s: no such interface", o->ifaces[i]);
			goto out;
		}
		if (!hits && strict)
			gp_info("-i %s matches no interface yet", o->ifaces[i]);
	}
	err = 0;
out:
	if_freenameindex(all);
	return err;
}

/*
 * Library rescans read other processes' maps and roots (CAP_SYS_PTRACE: a
 * process of another user, or with capabilities we lack, is refused
 * without it) and open new uprobes: CAP_PERFMON, or CAP_SYS_ADMIN where
 * the kernel wants it (Linux 6.16, and stable kernels since July 2025).
 * Which one is tried in a child: the smallest set that attaches. What this
 * process does not have (a narrower bounding set) cannot be kept: said.
 */
static uint64_t tls_keep(struct gp_engine *r, uint64_t keep)
{
	const uint64_t ptrace = 1ull << GP_CAP_BIT_SYS_PTRACE;
	const uint64_t sets[] = {
		ptrace | 1ull << GP_CAP_BIT_PERFMON,
		ptrace | 1ull << GP_CAP_BIT_PERFMON | 1ull << GP_CAP_BIT_BPF,
		ptrace | 1ull << GP_CAP_BIT_SYS_ADMIN,
	};
	static const char *const names[] = {
		"CAP_SYS_PTRACE and CAP_PERFMON", "CAP_SYS_PTRACE, CAP_PERFMON and CAP_BPF",
		"CAP_SYS_PTRACE and CAP_SYS_ADMIN",
	};
	uint64_t eff = 0;
	size_t i;

	if (!r->ssl)
		return 0;
	/* Nothing attached to try with: the set that works on every kernel. */
	for (i = 0; i < 2; i++)
		if (gp_ssl_attach_works_with(r->ssl, keep | sets[i]) == 1)
			break;
	if (gp_caps_effective(&eff) || (eff & sets[i]) != sets[i]) {
		gp_warn("tls: library rescans need %s, which this process lacks: libssl files "
			"found after start get no uprobes", names[i]);
		return 0;
	}
	gp_info("tls: keeping %s for library rescans", names[i]);
	return sets[i];
}

/*
 * Loaded and attached: from here on only fds already held are used, so every
 * capability goes, but CAP_NET_ADMIN while a clsact filter must be removed
 * at exit or interfaces that appear must be hooked, and what the TLS
 * source's rescans need (tls_keep). With --user, the agent also stops
 * being root.
 */
static int drop_privileges(struct gp_engine *r)
{
	uint64_t keep = gp_loader_uses_clsact(r->loader) || r->rescan ?
			1ull << GP_CAP_BIT_NET_ADMIN : 0;
	char why[256];
	int err;

	keep |= tls_keep(r, keep);
	if (!r->cfg.user) {
		err = gp_caps_limit(keep);
		if (err)
			gp_err("dropping capabilities: %s", strerror(-err));
		return err;
	}
	err = gp_caps_become(r->cfg.user, keep, why, sizeof(why));
	if (err) {
		gp_err("%s", why);
		return err;
	}
	if (r->textfile && !textfile_ok(r->textfile, r->cfg.user))
		return -EACCES;
	return 0;
}

/* The pipeline's half of the engine: tagging, rules, aggregation. 0, 1 or 2. */
static int open_pipeline(struct gp_engine *r)
{
	const struct gp_engine_config *c = &r->cfg;
	struct gp_pipeline_sinks sinks = { .conn = on_conn, .request = on_request,
					   .handshake = on_handshake, .ctx = r };
	struct gp_pipeline_config pc = {
		.tagger.tag_wait_ns = (uint64_t)c->tag_wait_ms * 1000000u,
		.tagger.endpoint_memory_ns = (uint64_t)c->endpoint_memory_s * 1000000000u,
		.aggregate = 1,
		.max_tags = c->max_tags,
		.tag_idle_ns = (uint64_t)c->tag_idle_s * 1000000000u,
		.request_timeout_ns = (uint64_t)c->request_timeout_s * 1000000000u,
		.walk = walk_flows,
		.walk_src = r,
	};

	r->rules = gp_load_rules(&c->rules, 0);
	if (!r->rules)
		return 2;
	gp_print_rules(r->rules);
	if (gp_pipeline_new(&r->pipe, &pc, &sinks)) {
		gp_err("out of memory");
		return 1;
	}
	gp_pipeline_set_rules(r->pipe, r->rules);
	return 0;
}

/* A library found: its uprobes. One whose process went meanwhile is tried again. */
static int on_ssllib(void *ctx, const struct gp_ssllib_found *f)
{
	struct gp_engine *r = ctx;

	if (f->err) {
		gp_warn("--ssl-lib %s: %s; taken when it appears", f->path, strerror(-f->err));
		return 0;
	}
	if (!gp_ssl_attach(r->ssl, f))
		return 0;
	return f->pid && access(f->path, F_OK);
}

static void on_ssllib_gone(void *ctx, const struct gp_ssllib_key *k)
{
	struct gp_engine *r = ctx;

	gp_ssl_detach(r->ssl, k);
}

static void scan_ssllibs(struct gp_engine *r)
{
	int n = gp_ssllib_scan(r->ssllib, on_ssllib, r);

	if (n < 0)
		gp_warn("tls: looking for libssl in /proc failed: %s", strerror(-n));
}

/*
 * The TLS source, after the main object (whose maps it shares) and before
 * privileges go. Unavailable, it is one warning: TLS flows keep their
 * connection-level tags. 0, or -ENOMEM.
 */
static int open_tls(struct gp_engine *r)
{
	struct gp_ssl_maps m = gp_loader_maps(r->loader);
	struct gp_ssllib_opts so = {
		.paths = r->cfg.ssl_libs, .n_paths = r->cfg.n_ssl_libs, .gone = on_ssllib_gone,
	};
	char why[256];
	int err;

	if (r->cfg.no_tls)
		return 0;
	err = gp_ssl_open(&r->ssl, &m, gp_loader_netns(r->loader), why, sizeof(why));
	if (err == -ENOMEM)
		return err;
	if (err) {
		gp_warn("tls: %s; HTTPS gets connection-level tags only (--no-tls: not tried)", why);
		return 0;
	}
	err = gp_ssllib_new(&r->ssllib, &so);
	if (err)
		return err;
	scan_ssllibs(r);
	return 0;
}

/* Loaded, attached, privileges dropped, the endpoint serving; 0 or -errno, said. */
static int attach(struct gp_engine *r, struct gp_loader_opts *lo, const struct gp_ifaces *ifs)
{
	const struct gp_engine_config *cfg = &r->cfg;
	char tls[32] = "off";
	int err;

	lo->ifaces = ifs;
	lo->classifier = !cfg->no_tc;
	lo->on_event = on_event;
	lo->ctx = r;
	err = gp_loader_open(&r->loader, lo);
	if (err)
		return err;
	err = open_tls(r);
	if (err)
		return err;
	/* The hook probes' skeletons are freed: give that heap back (~11 MB). */
	malloc_trim(0);
	err = drop_privileges(r);
	if (!err && r->web)
		err = web_start(r);
	if (err)
		return err;
	r->started_ns = gp_now_ns(CLOCK_MONOTONIC);
	if (r->ssl)
		snprintf(tls, sizeof(tls), "%u libssl files", gp_ssl_libs(r->ssl));
	gp_info("attached: connect_hook=%s state_hook=%s netns=%s classifier=%s tls=%s; %s%s",
		gp_connect_hook_name(gp_loader_connect_hook(r->loader)),
		gp_state_hook_name(gp_loader_state_hook(r->loader)),
		cfg->netns ? cfg->netns : "all", gp_engine_tc_desc(r),
		tls,
		r->textfile ? "writing " : "no textfile", r->textfile ? r->textfile : "");
	return 0;
}

int gp_engine_open(struct gp_engine **out, const struct gp_engine_config *cfg,
		   const struct gp_engine_ops *ops)
{
	const char *textfile = cfg->textfile;
	struct gp_loader_opts lo = cfg->load;
	struct gp_ifaces *ifs = NULL;
	struct gp_web_addr wa;
	struct gp_engine *r;
	int err = 1;

	*out = NULL;
	if (gp_caps_require(!cfg->no_tc))
		return 1;
	r = calloc(1, sizeof(*r));
	ifs = calloc(1, sizeof(*ifs));
	if (!r || !ifs) {
		gp_err("out of memory");
		goto cleanup;
	}
	r->cfg = *cfg;
	r->ops = *ops;
	r->textfile = textfile;
	r->interval_ns = (uint64_t)cfg->interval_s * 1000000000u;
	if ((cfg->netns && netns_inode(cfg->netns, &lo.netns_ino)) ||
	    (cfg->user && !user_known(cfg->user)) ||
	    (textfile && !textfile_ok_as(textfile, cfg->user)) ||
	    (cfg->web_listen && !web_addr_ok(cfg->web_listen, &wa)) ||
	    resolve_ifaces(cfg, ifs, 1)) {
		gp_log_usage_hint(stderr);
		err = 2;
		goto cleanup;
	}
	r->rescan = !cfg->no_tc && has_patterns(cfg);
	err = open_pipeline(r);
	if (err)
		goto cleanup;
	err = 1;

	/* Bound now: before the hooks (a port in use stops nothing attached) and before --user. */
	if (cfg->web_listen && web_listen(r, &wa))
		goto cleanup;

	if (attach(r, &lo, ifs))
		goto cleanup;
	if (exporting(r)) {
		export_metrics(r, r->started_ns);
		r->next_write = gp_now_ns(CLOCK_MONOTONIC) + r->interval_ns;
	}
	free(ifs);
	*out = r;
	return 0;
cleanup:
	free(ifs);
	gp_engine_close(r);
	return err;
}

void gp_engine_reload_rules(struct gp_engine *r)
{
	struct gp_rules *nr = gp_load_rules(&r->cfg.rules, 1);

	if (!nr)
		return;
	gp_pipeline_set_rules(r->pipe, nr);
	gp_rules_free(r->rules);
	r->rules = nr;
	gp_info("SIGHUP: %zu gray rules loaded", gp_rules_count(nr));
	gp_print_rules(nr);
}

/*
 * Interfaces come and go (pods start and stop): each second the -i patterns
 * (or the default-route rule) are matched again and the hooks follow.
 */
static void rescan_ifaces(struct gp_engine *r)
{
	struct gp_ifaces *now = calloc(1, sizeof(*now));

	if (now && !resolve_ifaces(&r->cfg, now, 0) && gp_loader_sync_ifaces(r->loader, now))
		gp_info("classifier now on %s", gp_engine_tc_desc(r));
	free(now);
}

/* Folded outcomes: said at once, then at most once a minute while it goes on. */
static void log_folds(struct gp_engine *r, uint64_t now)
{
	struct gp_agg_fold f;

	gp_pipeline_last_fold(r->pipe, &f);
	if (f.count == r->folds_logged || now < r->next_fold_log)
		return;
	gp_warn("%s tag cap reached (--max-tags %u): alpn=\"%s\" gray=\"%s\" counted as "
		"alpn=\"%s\" gray=\"%s\"; outcomes folded so far: %llu "
		"(grayprobe_tags_overflow_total)", gp_direction_name(f.dir), f.max_tags,
		f.alpn, f.gray, f.to_alpn, f.to_gray, (unsigned long long)f.count);
	r->folds_logged = f.count;
	r->next_fold_log = now + GP_FOLD_LOG_NS;
}

int gp_engine_fd(const struct gp_engine *r)
{
	return gp_loader_events_fd(r->loader);
}

uint64_t gp_engine_next_deadline_ns(const struct gp_engine *r)
{
	if (exporting(r) && r->next_write < r->next_consume)
		return r->next_write;
	return r->next_consume;
}

/* The periodic chores: tag caps said, idle tags retired, interfaces followed. */
static void housekeep(struct gp_engine *r, uint64_t now)
{
	log_folds(r, now);
	if (now >= r->next_retire) {
		size_t n = gp_pipeline_retire(r->pipe, now);

		if (n)
			gp_dbg("%zu tags unused for --tag-idle retired", n);
		r->next_retire = now + GP_RETIRE_PERIOD_NS;
	}
	if (r->rescan && now >= r->next_iface_scan) {
		rescan_ifaces(r);
		r->next_iface_scan = now + GP_IFACE_SCAN_NS;
	}
	/* Processes come and go like interfaces: their libraries are looked for as often. */
	if (r->ssllib && now >= r->next_lib_scan) {
		scan_ssllibs(r);
		r->next_lib_scan = now + GP_IFACE_SCAN_NS;
	}
}

int gp_engine_dispatch(struct gp_engine *r, uint64_t now)
{
	int ret;

	r->now = now;
	/* The caller waited on gp_engine_fd already: what is there, read it. */
	ret = gp_loader_drain(r->loader);
	if (ret < 0) {
		if (r->cb_err)
			return -r->cb_err;
		gp_err("ring buffer poll failed: %s", strerror(-ret));
		return ret;
	}
	r->next_consume = now + GP_CONSUME_NS;
	gp_pipeline_expire(r->pipe, now);
	housekeep(r, now);
	if (exporting(r) && now >= r->next_write) {
		export_metrics(r, now);
		r->next_write += r->interval_ns;
		if (r->next_write <= now)	/* fell behind: do not burst */
			r->next_write = now + r->interval_ns;
	}
	return r->cb_err ? -r->cb_err : 0;
}

int gp_engine_finish(struct gp_engine *r)
{
	/* What the kernel already produced still counts, tagged with what is known. */
	r->now = gp_now_ns(CLOCK_MONOTONIC);
	gp_loader_drain(r->loader);
	gp_pipeline_flush(r->pipe);
	if (exporting(r))
		export_metrics(r, r->now);
	return r->cb_err ? -r->cb_err : 0;
}

void gp_engine_close(struct gp_engine *r)
{
	if (!r)
		return;
	gp_web_close(r->web);
	gp_ssl_close(r->ssl);		/* before the maps it shares */
	gp_ssllib_free(r->ssllib);
	gp_loader_close(r->loader);
	gp_pipeline_free(r->pipe);
	gp_rules_free(r->rules);
	free(r);
}

const char *gp_engine_tc_desc(const struct gp_engine *r)
{
	if (r->cfg.no_tc)
		return "none (outcomes untagged)";
	return gp_loader_tc_desc(r->loader)[0] ? gp_loader_tc_desc(r->loader) : "no interface yet";
}

uint64_t gp_engine_started_ns(const struct gp_engine *r)
{
	return r->started_ns;
}
