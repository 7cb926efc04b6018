// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "collect/caps.h"
#include "grayprobe.skel.h"
#include "collect/loader.h"
#include "util/log.h"

#define VERIFIER_TAIL_LINES	60

enum hook_id { H_FENTRY, H_KPROBE, H_TP_BTF, H_RAW_TP, H_TRACEPOINT, H_MAX };

static const char *const hook_names[H_MAX] = {
	"fentry", "kprobe", "tp_btf", "raw_tp", "tracepoint",
};
static const char *const hook_targets[H_MAX] = {
	"tcp_connect", "tcp_connect", "inet_sock_set_state", "inet_sock_set_state",
	"sock/inet_sock_set_state",
};

struct hook_result {
	int err;		/* 0 or negative errno */
	const char *stage;	/* "open", "load" or "attach" when err */
};

struct gp_loader {
	struct grayprobe_bpf *skel;
	struct ring_buffer *rb;
	enum gp_connect_hook connect_hook;
	enum gp_state_hook state_hook;
	struct gp_tc_att *tc;
	size_t n_tc, cap_tc;
	int egress;
	enum gp_tc_mode tc_mode;
	int tc_lock_fd;			/* held while clsact filters are ours */
	uint32_t netns_ino;
	char tc_desc[256];
};

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return gp_log_tail_vappend(fmt, ap);
}

static struct bpf_program *hook_prog(struct grayprobe_bpf *s, enum hook_id h)
{
	switch (h) {
	case H_FENTRY:
		return s->progs.gp_conn_fentry;
	case H_KPROBE:
		return s->progs.gp_conn_kprobe;
	case H_TP_BTF:
		return s->progs.gp_state_btf;
	case H_RAW_TP:
		return s->progs.gp_state_raw;
	default:
		return s->progs.gp_state_tp;
	}
}

static enum hook_id state_hook_id(enum gp_state_hook h)
{
	return h == GP_STATE_TP_BTF ? H_TP_BTF : h == GP_STATE_RAW_TP ? H_RAW_TP : H_TRACEPOINT;
}

/* Opens the object with only the hooks in mask (and the TC program if tc) set to load. */
static struct grayprobe_bpf *open_with(unsigned mask, int tc, unsigned ringbuf_bytes, int *err)
{
	struct grayprobe_bpf *skel;
	int h;

	skel = grayprobe_bpf__open();
	if (!skel) {
		*err = -errno;
		return NULL;
	}
	for (h = 0; h < H_MAX; h++)
		bpf_program__set_autoload(hook_prog(skel, h), !!(mask & (1u << h)));
	bpf_program__set_autoload(skel->progs.gp_tc, tc);
	*err = bpf_map__set_max_entries(skel->maps.gp_events, ringbuf_bytes);
	if (*err) {
		grayprobe_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/*
 * A probe's object: only the programs asked for, tables shrunk to one entry
 * (nothing is tracked), loaded. NULL with *stage and *err set on failure.
 */
static struct grayprobe_bpf *load_probe(unsigned mask, int tc, const char **stage, int *err)
{
	struct grayprobe_bpf *skel;

	gp_log_tail_clear();	/* a failure's log then holds this attempt only */
	skel = open_with(mask, tc, getpagesize(), err);
	if (!skel) {
		*stage = "open";
		return NULL;
	}
	bpf_map__set_max_entries(skel->maps.gp_starts, 1);
	bpf_map__set_max_entries(skel->maps.gp_flows, 1);
	*err = grayprobe_bpf__load(skel);
	if (*err) {
		*stage = "load";
		grayprobe_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Really load and attach one hook's program, then take it all down again. */
static void try_hook(enum hook_id h, struct hook_result *r)
{
	struct grayprobe_bpf *skel;
	struct bpf_link *link;

	r->err = 0;
	r->stage = NULL;
	skel = load_probe(1u << h, 0, &r->stage, &r->err);
	if (!skel)
		return;
	link = bpf_program__attach(hook_prog(skel, h));
	if (!link) {
		r->err = -errno;
		r->stage = "attach";
	}
	bpf_link__destroy(link);
	grayprobe_bpf__destroy(skel);
}

static void describe(char *buf, size_t len, enum hook_id h, const struct hook_result *r)
{
	const char *hint = "";

	if (!r->err) {
		snprintf(buf, len, "%s", hook_targets[h]);
		return;
	}
	if (h == H_TRACEPOINT && r->err == -ENOENT)
		hint = " (is tracefs mounted at /sys/kernel/tracing?)";
	else if (h == H_KPROBE && r->err == -ENOENT)
		hint = " (kernel built without kprobes?)";
	else if (r->stage && !strcmp(r->stage, "load") && (r->err == -EINVAL || r->err == -EACCES))
		hint = " (rejected by the verifier? -v shows its log)";
	snprintf(buf, len, "%s: %s failed: %s%s", hook_targets[h], r->stage,
		 strerror(-r->err), hint);
}

static void dump_verifier_tail(void)
{
	if (gp_log_get_level() < GP_LOG_DEBUG) {
		gp_err("run with -v for libbpf's and the verifier's last messages");
		return;
	}
	gp_dbg("---- libbpf / verifier log (last %d lines) ----", VERIFIER_TAIL_LINES);
	gp_log_tail_dump(stderr, VERIFIER_TAIL_LINES);
	gp_dbg("---- end of log ----");
}

static void report_unavailable(const char *what, enum hook_id h, const struct hook_result *r)
{
	char why[256];

	describe(why, sizeof(why), h, r);
	gp_err("%s '%s' is unavailable on this kernel: %s", what, hook_names[h], why);
	if (gp_log_get_level() >= GP_LOG_DEBUG)
		dump_verifier_tail();
}

/*
 * The preference order and forcing rules, one place for run and check:
 * state tp_btf, raw_tp, tracepoint; connect fentry, kprobe, else the state
 * hook's CLOSE->SYN_SENT. Returns 0, or -ENOTSUP with *failed set to the
 * forced hook that did not work (H_MAX when auto found no state hook).
 */
static int choose(const struct hook_result res[H_MAX], enum gp_connect_hook want_c,
		  enum gp_state_hook want_s, enum gp_connect_hook *c, enum gp_state_hook *s,
		  enum hook_id *failed)
{
	enum gp_state_hook h;

	*s = GP_STATE_MAX;
	for (h = GP_STATE_TP_BTF; h < GP_STATE_MAX && *s == GP_STATE_MAX; h++)
		if ((want_s == GP_STATE_AUTO || want_s == h) && !res[state_hook_id(h)].err)
			*s = h;
	if (*s == GP_STATE_MAX) {
		*failed = want_s == GP_STATE_AUTO ? H_MAX : state_hook_id(want_s);
		return -ENOTSUP;
	}
	if (want_c == GP_CONNECT_FENTRY || want_c == GP_CONNECT_KPROBE) {
		*failed = want_c == GP_CONNECT_FENTRY ? H_FENTRY : H_KPROBE;
		*c = want_c;
		return res[*failed].err ? -ENOTSUP : 0;
	}
	if (want_c == GP_CONNECT_AUTO && !res[H_FENTRY].err)
		*c = GP_CONNECT_FENTRY;
	else if (want_c == GP_CONNECT_AUTO && !res[H_KPROBE].err)
		*c = GP_CONNECT_KPROBE;
	else
		*c = GP_CONNECT_STATE;
	return 0;
}

/* Each hook really loaded and attached once, then taken down. */
static void probe_all(struct hook_result res[H_MAX])
{
	int h;

	for (h = 0; h < H_MAX; h++)
		try_hook(h, &res[h]);
}

static int choose_or_explain(enum gp_connect_hook want_c, enum gp_state_hook want_s,
			     enum gp_connect_hook *c, enum gp_state_hook *s)
{
	struct hook_result res[H_MAX];
	enum hook_id failed;
	int h;

	probe_all(res);
	for (h = 0; h < H_MAX; h++)
		if (res[h].err)
			gp_dbg("%s unavailable (%s: %s)", hook_names[h], res[h].stage,
			       strerror(-res[h].err));
	if (!choose(res, want_c, want_s, c, s, &failed))
		return 0;
	if (failed == H_MAX) {
		gp_err("no flavour of the inet_sock_set_state tracepoint attaches (tp_btf, raw_tp, tracepoint)");
		return -ENOTSUP;
	}
	/* Again, so that the log tail -v shows is this hook's own. */
	try_hook(failed, &res[failed]);
	report_unavailable(failed == H_FENTRY || failed == H_KPROBE ? "connect hook" : "state hook",
			   failed, &res[failed]);
	return res[failed].err ? res[failed].err : -ENOTSUP;
}

static struct bpf_link **hook_link(struct grayprobe_bpf *s, enum hook_id h)
{
	switch (h) {
	case H_FENTRY:
		return &s->links.gp_conn_fentry;
	case H_KPROBE:
		return &s->links.gp_conn_kprobe;
	case H_TP_BTF:
		return &s->links.gp_state_btf;
	case H_RAW_TP:
		return &s->links.gp_state_raw;
	default:
		return &s->links.gp_state_tp;
	}
}

/* The skeleton's link slot holds it: destroying the skeleton detaches it. */
static int attach_hook(struct grayprobe_bpf *s, enum hook_id h)
{
	struct bpf_link *link = bpf_program__attach(hook_prog(s, h));

	if (!link)
		return -errno;
	*hook_link(s, h) = link;
	return 0;
}

/*
 * One real load of the connect hook conn (H_MAX: none, the state hook's
 * CLOSE->SYN_SENT is the start), the state hook and the classifier, then
 * their attach. With conn_optional, a connect hook that loads but does not
 * attach leaves the start to the state hook. 0, or a negative errno with
 * *stage set and nothing left loaded.
 */
static int load_pair(struct gp_loader *l, const struct gp_loader_opts *o, enum hook_id conn,
		     enum hook_id state, int conn_optional, const char **stage)
{
	unsigned mask = 1u << state | (conn < H_MAX ? 1u << conn : 0);
	int err;

	gp_log_tail_clear();
	*stage = "open";
	l->skel = open_with(mask, o->classifier, o->ringbuf_kb * 1024u, &err);
	if (!l->skel)
		return err;
	l->skel->rodata->target_netns = o->netns_ino;
	l->netns_ino = o->netns_ino;
	l->skel->rodata->adopt_midstream = o->classifier ? GP_ADOPT_HTTP : GP_ADOPT_NONE;
	*stage = "load";
	err = grayprobe_bpf__load(l->skel);
	if (err)
		goto fail;
	*stage = "attach";
	err = conn < H_MAX ? attach_hook(l->skel, conn) : 0;
	if (err && conn_optional) {
		gp_dbg("%s unavailable (attach: %s)", hook_names[conn], strerror(-err));
		conn = H_MAX;
		err = 0;
	}
	if (err)
		goto fail;
	l->skel->bss->start_from_state = conn == H_MAX;
	err = attach_hook(l->skel, state);
	if (err)
		goto fail;
	l->connect_hook = conn == H_FENTRY ? GP_CONNECT_FENTRY :
			  conn == H_KPROBE ? GP_CONNECT_KPROBE : GP_CONNECT_STATE;
	l->state_hook = state == H_TP_BTF ? GP_STATE_TP_BTF :
			state == H_RAW_TP ? GP_STATE_RAW_TP : GP_STATE_TRACEPOINT;
	return 0;
fail:
	grayprobe_bpf__destroy(l->skel);
	l->skel = NULL;
	return err;
}

/*
 * The wanted hooks as real loads, each of which parses the kernel's BTF
 * (~50 ms, a minute under valgrind): the preferred pair, then in auto mode
 * kprobe, whose failed attach leaves the start to the state hook. Only
 * when these fail is every hook probed on its own (choose_or_explain), so
 * that the choice and the message name the hook at fault.
 */
static int load_preferred(struct gp_loader *l, const struct gp_loader_opts *o)
{
	static const struct {
		enum gp_connect_hook want;
		enum hook_id conn;
		int optional;
	} tries[] = {
		{ GP_CONNECT_AUTO, H_FENTRY, 0 },	{ GP_CONNECT_AUTO, H_KPROBE, 1 },
		{ GP_CONNECT_FENTRY, H_FENTRY, 0 },	{ GP_CONNECT_KPROBE, H_KPROBE, 0 },
		{ GP_CONNECT_STATE, H_MAX, 0 },
	};
	enum hook_id state = o->state_hook == GP_STATE_AUTO ? H_TP_BTF :
			     state_hook_id(o->state_hook);
	const char *stage;
	size_t i;
	int err = -ENOTSUP;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (tries[i].want != o->connect_hook)
			continue;
		err = load_pair(l, o, tries[i].conn, state, tries[i].optional, &stage);
		if (!err)
			return 0;
		gp_dbg("%s with %s: %s failed: %s", tries[i].conn < H_MAX ?
		       hook_names[tries[i].conn] : "no connect hook", hook_names[state], stage,
		       strerror(-err));
	}
	return err;
}

/* The pair choose_or_explain() picked, loaded and attached, or why not. */
static int load_chosen(struct gp_loader *l, const struct gp_loader_opts *o)
{
	enum hook_id conn = l->connect_hook == GP_CONNECT_FENTRY ? H_FENTRY :
			    l->connect_hook == GP_CONNECT_KPROBE ? H_KPROBE : H_MAX;
	const char *stage;
	int err;

	err = load_pair(l, o, conn, state_hook_id(l->state_hook), 0, &stage);
	if (!err)
		return 0;
	if (!strcmp(stage, "open")) {
		gp_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	gp_err("%s BPF programs failed: %s", strcmp(stage, "load") ? "attaching" : "loading",
	       strerror(-err));
	dump_verifier_tail();
	return err;
}

/*
 * parse: also parse it (check). run only looks: its load parses it anyway,
 * and fails with the reason if it does not parse.
 */
static int check_btf(int parse, char *why, size_t len)
{
	struct btf *btf;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, len, "/sys/kernel/btf/vmlinux: %s (needs CONFIG_DEBUG_INFO_BTF=y)",
			 strerror(errno));
		return -ENOENT;
	}
	snprintf(why, len, "/sys/kernel/btf/vmlinux");
	if (!parse)
		return 0;
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		snprintf(why, len, "/sys/kernel/btf/vmlinux does not parse: %s", strerror(errno));
		return -EINVAL;
	}
	btf__free(btf);
	return 0;
}

static int require_btf(int parse)
{
	char why[256];
	int err = check_btf(parse, why, sizeof(why));

	if (err)
		gp_err("no kernel BTF: %s", why);
	return err;
}

/* Capabilities are the caller's: gp_caps_require(), once per command. */
static int common_preflight(void)
{
	libbpf_set_print(libbpf_print_fn);
	return require_btf(0);
}

static int take_tc_lock(struct gp_loader *l, const char *ifname)
{
	char why[256];
	int err;

	if (l->tc_lock_fd >= 0)
		return 0;
	err = gp_tc_lock(&l->tc_lock_fd, why, sizeof(why));
	if (err)
		gp_err("cannot use clsact on %s: %s%s", ifname, why,
		       err == -EBUSY ? "; one grayprobe per network namespace can use clsact "
		       "(with tcx, Linux 6.6+, several coexist)" : "");
	return err;
}

static void rebuild_desc(struct gp_loader *l)
{
	size_t i, used = 0;

	l->tc_desc[0] = '\0';
	for (i = 0; i < l->n_tc && used < sizeof(l->tc_desc); i++)
		used += snprintf(l->tc_desc + used, sizeof(l->tc_desc) - used, "%s%s/%s(%s)",
				 i ? "," : "", l->tc[i].ifname, l->tc[i].egress ? "egress" : "ingress",
				 gp_tc_mode_name(l->tc[i].mode));
}

/* Ingress (and egress if asked) of one interface, appended to l->tc. */
static int attach_iface(struct gp_loader *l, const char *name, int ifindex)
{
	int prog_fd = bpf_program__fd(l->skel->progs.gp_tc);
	struct gp_tc_att *grown;
	int err, dir;

	if (l->n_tc + 2 > l->cap_tc) {
		size_t cap = l->cap_tc ? 2 * l->cap_tc : 16;

		grown = realloc(l->tc, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		l->tc = grown;
		l->cap_tc = cap;
	}
	for (dir = 0; dir <= !!l->egress; dir++) {
		struct gp_tc_att *a = &l->tc[l->n_tc];

		/* Every packet sent on lo comes back in on its ingress: once is enough. */
		if (dir && ifindex == GP_LOOPBACK_IFINDEX) {
			gp_dbg("-i %s: egress not hooked, its ingress sees every packet", name);
			continue;
		}
		err = l->tc_mode == GP_TC_CLSACT ? -EOPNOTSUPP :
		      gp_tc_attach_tcx(prog_fd, name, ifindex, dir, a);
		if (err && l->tc_mode != GP_TC_TCX && gp_tc_no_tcx(err)) {
			err = take_tc_lock(l, name);
			if (err)
				return err;
			err = gp_tc_attach_clsact(prog_fd, name, ifindex, dir, a);
		}
		if (err) {
			const char *hint = gp_tc_hint(a, err);

			gp_err("attaching the classifier to %s %s (%s) failed: %s%s%s", name,
			       dir ? "egress" : "ingress", gp_tc_mode_name(l->tc_mode), strerror(-err),
			       hint ? ": " : "", hint ? hint : "");
			return err;
		}
		l->n_tc++;
	}
	return 0;
}

static int attach_tc(struct gp_loader *l, const struct gp_loader_opts *o)
{
	size_t i;
	int err;

	l->egress = o->egress;
	l->tc_mode = o->tc_mode;
	for (i = 0; o->ifaces && i < o->ifaces->n; i++) {
		const char *name = o->ifaces->name[i];
		int ifindex = if_nametoindex(name);

		if (!ifindex) {
			err = -errno;
			gp_err("-i %s: %s", name, strerror(errno));
			return err;
		}
		err = attach_iface(l, name, ifindex);
		if (err)
			return err;
	}
	rebuild_desc(l);
	return 0;
}

static int wanted(const struct gp_ifaces *want, const char *name)
{
	size_t i;

	for (i = 0; i < want->n; i++)
		if (!strcmp(want->name[i], name))
			return 1;
	return 0;
}

int gp_loader_sync_ifaces(struct gp_loader *l, const struct gp_ifaces *want)
{
	size_t i, j, kept = 0;
	int changes = 0, err;

	/* Gone, renamed or replaced (same name, new index): what was attached there went with it. */
	for (i = 0; i < l->n_tc; i++) {
		struct gp_tc_att *a = &l->tc[i];
		int same = (int)if_nametoindex(a->ifname) == a->ifindex;

		if (same && wanted(want, a->ifname)) {
			l->tc[kept++] = *a;
			continue;
		}
		gp_info("interface %s (%s): %s", a->ifname, a->egress ? "egress" : "ingress",
			same ? "no longer wanted, unhooked" : "gone, and its hook with it");
		gp_tc_detach(a);
		changes++;
	}
	l->n_tc = kept;
	for (j = 0; j < want->n; j++) {
		const char *name = want->name[j];
		int ifindex, have = 0;

		for (i = 0; i < l->n_tc; i++)
			have |= !strcmp(l->tc[i].ifname, name);
		ifindex = have ? 0 : (int)if_nametoindex(name);
		if (!ifindex)
			continue;
		err = attach_iface(l, name, ifindex);
		if (err) {
			gp_warn("new interface %s not hooked: %s", name, strerror(-err));
			continue;
		}
		gp_info("new interface %s hooked", name);
		changes++;
	}
	if (changes)
		rebuild_desc(l);
	return changes;
}

static void detach_tc(struct gp_loader *l)
{
	size_t i;
	int err;

	/* Reverse order: a clsact qdisc we made goes with the ingress filter, after egress. */
	for (i = l->n_tc; i-- > 0;) {
		err = gp_tc_detach(&l->tc[i]);
		if (err)
			gp_warn("detaching from %s %s: %s", l->tc[i].ifname,
				l->tc[i].egress ? "egress" : "ingress", strerror(-err));
	}
	free(l->tc);
	l->tc = NULL;
	l->n_tc = l->cap_tc = 0;
}

static int open_ringbuf(struct gp_loader *l, gp_event_fn fn, void *ctx)
{
	int err;

	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.gp_events), fn, ctx, NULL);
	if (l->rb)
		return 0;
	err = -errno;
	gp_err("cannot open the ring buffer: %s", strerror(-err));
	return err;
}

/* Only gp_tc set to load, the tables sized as asked. */
static int tc_only_setup(struct grayprobe_bpf *skel, const struct gp_tc_only_opts *o)
{
	struct bpf_program *p;
	int err = 0;

	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.gp_tc);
	bpf_map__set_max_entries(skel->maps.gp_starts, 1);
	if (o->flows_max)
		err = bpf_map__set_max_entries(skel->maps.gp_flows, o->flows_max);
	if (!err && o->ringbuf_kb)
		err = bpf_map__set_max_entries(skel->maps.gp_events, o->ringbuf_kb * 1024u);
	skel->rodata->adopt_midstream = o->adopt_midstream ? GP_ADOPT_ALL : GP_ADOPT_NONE;
	return err;
}

int gp_loader_open_tc_only(struct gp_loader **out, const struct gp_tc_only_opts *o,
			   const char **stage)
{
	struct gp_loader *l;
	int err = -ENOMEM;

	*out = NULL;
	*stage = "open";
	l = calloc(1, sizeof(*l));
	if (!l)
		return err;
	l->tc_lock_fd = -1;
	l->skel = grayprobe_bpf__open();
	err = l->skel ? tc_only_setup(l->skel, o) : -errno;
	if (err)
		goto cleanup;
	*stage = "load";
	err = grayprobe_bpf__load(l->skel);
	if (err)
		goto cleanup;
	*stage = "ring buffer";
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.gp_events), o->on_event, o->ctx, NULL);
	if (!l->rb) {
		err = -errno;
		goto cleanup;
	}
	*out = l;
	return 0;
cleanup:
	gp_loader_close(l);
	return err;
}

int gp_loader_open_replay(struct gp_loader **out, unsigned ringbuf_kb, gp_event_fn on_event,
			  void *ctx)
{
	struct gp_tc_only_opts o = {
		.ringbuf_kb = ringbuf_kb, .adopt_midstream = 1, .on_event = on_event, .ctx = ctx,
	};
	const char *stage;
	int err;

	*out = NULL;
	err = gp_caps_require(1);
	if (!err)
		err = common_preflight();
	if (err)
		return err;
	gp_log_tail_clear();
	err = gp_loader_open_tc_only(out, &o, &stage);
	if (!err)
		return 0;
	if (strcmp(stage, "load")) {
		gp_err("cannot open the %s: %s", strcmp(stage, "open") ? stage : "BPF object",
		       strerror(-err));
	} else if (!require_btf(1)) {
		gp_err("loading the classifier failed: %s", strerror(-err));
		dump_verifier_tail();
	}
	return err;
}

int gp_test_run(int prog_fd, struct gp_test_run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = r->frame, .data_size_in = r->len,
		    .repeat = r->repeat);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &topts);
	r->retval = topts.retval;
	r->duration_ns = topts.duration;
	return err ? -errno : 0;
}

int gp_loader_test_run(struct gp_loader *l, const void *frame, size_t len)
{
	struct gp_test_run r = { .frame = frame, .len = len, .repeat = 1 };

	return gp_test_run(gp_loader_tc_fd(l), &r);
}

int gp_loader_tc_fd(const struct gp_loader *l)
{
	return bpf_program__fd(l->skel->progs.gp_tc);
}

int gp_loader_flows_fd(const struct gp_loader *l)
{
	return bpf_map__fd(l->skel->maps.gp_flows);
}

#define FLOW_BATCH	1024

int gp_loader_flows(struct gp_loader *l, gp_flow_fn fn, void *ctx)
{
	int fd = bpf_map__fd(l->skel->maps.gp_flows), err = 0, done = 0;
	struct gp_flow_key *keys = calloc(FLOW_BATCH, sizeof(*keys));
	struct gp_flow_val *vals = calloc(FLOW_BATCH, sizeof(*vals));
	__u64 in = 0, out = 0;
	void *inp = NULL;
	__u32 i, n;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * In batches (one syscall per 1024 flows, not two per flow), draining
	 * the ring buffer in between so a busy node loses nothing meanwhile.
	 */
	while (!done) {
		n = FLOW_BATCH;
		err = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &n, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		done = !!err;
		err = 0;
		for (i = 0; i < n; i++)
			if (fn(ctx, &keys[i], &vals[i])) {
				done = 1;
				break;
			}
		in = out;
		inp = &in;
		if (l->rb)
			ring_buffer__consume(l->rb);
	}
out:
	free(keys);
	free(vals);
	return err;
}

const char *gp_loader_tc_desc(const struct gp_loader *l)
{
	return l->tc_desc;
}

int gp_loader_open(struct gp_loader **out, const struct gp_loader_opts *o)
{
	struct gp_loader *l = NULL;
	int err;

	*out = NULL;
	err = common_preflight();
	if (err)
		return err;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tc_lock_fd = -1;

	if (load_preferred(l, o)) {
		err = require_btf(1);
		if (err)
			goto cleanup;
		err = choose_or_explain(o->connect_hook, o->state_hook, &l->connect_hook,
					&l->state_hook);
		if (err)
			goto cleanup;
		err = load_chosen(l, o);
		if (err)
			goto cleanup;
	}
	err = attach_tc(l, o);
	if (err)
		goto cleanup;
	err = open_ringbuf(l, o->on_event, o->ctx);
	if (err)
		goto cleanup;
	*out = l;
	return 0;
cleanup:
	gp_loader_close(l);
	return err;
}

void gp_loader_close(struct gp_loader *l)
{
	if (!l)
		return;
	detach_tc(l);
	if (l->tc_lock_fd >= 0)
		close(l->tc_lock_fd);	/* after detaching: the next owner finds nothing of ours */
	ring_buffer__free(l->rb);
	grayprobe_bpf__destroy(l->skel);
	free(l);
}

struct gp_ssl_maps gp_loader_maps(const struct gp_loader *l)
{
	return (struct gp_ssl_maps){
		.events = bpf_map__fd(l->skel->maps.gp_events),
		.flows = bpf_map__fd(l->skel->maps.gp_flows),
		.stats = bpf_map__fd(l->skel->maps.gp_stats),
	};
}

uint32_t gp_loader_netns(const struct gp_loader *l)
{
	return l->netns_ino;
}

int gp_loader_drain(struct gp_loader *l)
{
	return ring_buffer__consume(l->rb);
}

int gp_loader_events_fd(const struct gp_loader *l)
{
	return ring_buffer__epoll_fd(l->rb);
}

int gp_loader_stat(struct gp_loader *l, unsigned key, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.gp_stats);
	uint64_t *vals;
	__u32 k = key;
	int i, err = 0;

	*sum = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &k, vals))
		err = -errno;
	for (i = 0; !err && i < ncpu; i++)
		*sum += vals[i];
	free(vals);
	return err;
}

int gp_loader_stats(struct gp_loader *l, uint64_t out[GP_STAT_MAX])
{
	unsigned key;
	int err = 0;

	for (key = 0; key < GP_STAT_MAX && !err; key++)
		err = gp_loader_stat(l, key, &out[key]);
	return err;
}

enum gp_connect_hook gp_loader_connect_hook(const struct gp_loader *l)
{
	return l->connect_hook;
}

enum gp_state_hook gp_loader_state_hook(const struct gp_loader *l)
{
	return l->state_hook;
}

static void fact(struct gp_check_row *r, const char *name, int err, const char *desc)
{
	r->name = name;
	r->err = err;
	r->stage = NULL;
	snprintf(r->desc, sizeof(r->desc), "%s", desc);
}

/* A row for one attach the probe tried: ok, or strerror and what is missing. */
static void attach_fact(struct gp_check_row *r, const char *name, int err, enum gp_tc_step step,
			const char *ok)
{
	struct gp_tc_att a = { .failed_at = step };
	const char *hint = gp_tc_hint(&a, err);

	fact(r, name, err, ok);
	if (err)
		snprintf(r->desc, sizeof(r->desc), "attach failed: %s%s%s", strerror(-err),
			 hint ? ": " : "", hint ? hint : "");
}

/* The classifier really loaded (verifier included), attached in a private namespace, taken down. */
static void check_classifier(struct gp_check_row *tc, struct gp_check_row *tcx,
			     const struct gp_check_want *want)
{
	struct grayprobe_bpf *skel;
	struct gp_tc_probe p;
	uint64_t eff = 0;
	int err;

	fact(tcx, "tcx", -ENOTSUP, "not tried");
	if (gp_caps_effective(&eff) || gp_caps_net_admin(eff)) {
		fact(tc, "tc", -EPERM, "needs CAP_NET_ADMIN (or run with -i none)");
		return;
	}
	skel = load_probe(0, 1, &tc->stage, &tc->err);
	if (!skel) {
		tc->name = "tc";
		snprintf(tc->desc, sizeof(tc->desc), "gp_tc: %s failed: %s (-v shows the verifier log)",
			 tc->stage, strerror(-tc->err));
		return;
	}
	err = gp_tc_probe_attach(bpf_program__fd(skel->progs.gp_tc), &p);
	grayprobe_bpf__destroy(skel);
	if (err || p.ns_err) {
		char why[GP_CHECK_DESC_MAX];
		int ok = gp_tc_have_tcx(why, sizeof(why));

		fact(tc, "tc", 0, "gp_tc (sched_cls) loads; attach not tried: no private namespace");
		fact(tcx, "tcx", ok ? 0 : -ENOTSUP, why);
		return;
	}
	attach_fact(tcx, "tcx", p.tcx_err, p.tcx_step, "tcx links (6.6+) attach");
	attach_fact(tc, "tc", p.clsact_err, p.clsact_step, "gp_tc loads and attaches as a clsact filter");
	/* The classifier works when run's mode does: tcx where it attaches, unless clsact is forced. */
	if (tc->err && !tcx->err && want->tc_mode != GP_TC_CLSACT)
		fact(tc, "tc", 0, "gp_tc loads and attaches as a tcx link (clsact would not)");
}

/* Each hook really loaded and attached, then the choice run would make from them. */
static int check_hooks(struct gp_check_facts *f, const struct gp_check_want *want)
{
	struct hook_result res[H_MAX];
	enum hook_id failed;
	int h, err;

	_Static_assert(H_MAX == GP_CHECK_HOOKS, "one row per hook");
	probe_all(res);
	for (h = 0; h < H_MAX; h++) {
		f->hooks[h].name = hook_names[h];
		f->hooks[h].err = res[h].err;
		f->hooks[h].stage = res[h].stage;
		describe(f->hooks[h].desc, sizeof(f->hooks[h].desc), h, &res[h]);
	}
	err = choose(res, want->connect_hook, want->state_hook, &f->connect, &f->state, &failed);
	if (err) {
		f->failed = failed == H_MAX ? NULL : hook_names[failed];
		f->failed_connect = failed == H_FENTRY || failed == H_KPROBE;
	}
	return err;
}

int gp_loader_check(struct gp_check_facts *f, const struct gp_check_want *want)
{
	char why[GP_CHECK_DESC_MAX];
	int ok;

	memset(f, 0, sizeof(*f));
	libbpf_set_print(libbpf_print_fn);
	f->btf.err = check_btf(1, why, sizeof(why));
	fact(&f->btf, "btf", f->btf.err, why);
	ok = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	fact(&f->ringbuf, "ringbuf", ok ? 0 : -ENOTSUP,
	     ok ? "BPF_MAP_TYPE_RINGBUF" : "needs Linux 5.8+");
	if (f->btf.err || f->ringbuf.err)
		return f->btf.err ? f->btf.err : f->ringbuf.err;
	f->probed = 1;
	f->choice_err = check_hooks(f, want);
	check_classifier(&f->tc, &f->tcx, want);
	f->tc_mode = want->tc_mode == GP_TC_CLSACT || f->tcx.err ? GP_TC_CLSACT : GP_TC_TCX;
	return f->choice_err;
}

int gp_loader_uses_clsact(const struct gp_loader *l)
{
	size_t i;

	for (i = 0; i < l->n_tc; i++)
		if (l->tc[i].mode == GP_TC_CLSACT)
			return 1;
	return 0;
}
