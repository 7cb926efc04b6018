// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "collect/caps.h"
#include "collect/ssl.h"
#include "ssl.skel.h"
#include "util/log.h"

#define UPROBE_PMU	"/sys/bus/event_source/devices/uprobe"

/* The uprobes of one library, in this order; the first four are needed. */
static const struct {
	const char *sym;
	int ret;
	int optional;
} probes[] = {
	{ "SSL_write", 0, 0 },	  { "SSL_write", 1, 0 },    { "SSL_read", 0, 0 },
	{ "SSL_read", 1, 0 },	  { "SSL_write_ex", 0, 1 }, { "SSL_write_ex", 1, 1 },
	{ "SSL_read_ex", 0, 1 },  { "SSL_read_ex", 1, 1 },  { "SSL_free", 0, 1 },
};
#define N_PROBES	(sizeof(probes) / sizeof(probes[0]))

struct lib {
	struct bpf_link *links[N_PROBES];
	char *path;
	struct gp_ssllib_key key;
};

struct gp_ssl {
	struct gp_ssl_bpf *skel;
	struct bpf_link *tp[2];
	struct lib *libs;
	size_t n, cap;
};

static struct bpf_program *probe_prog(struct gp_ssl_bpf *s, size_t i)
{
	struct bpf_program *p[N_PROBES] = {
		s->progs.gp_ssl_write_in, s->progs.gp_ssl_write_out, s->progs.gp_ssl_read_in,
		s->progs.gp_ssl_read_out, s->progs.gp_ssl_write_ex_in, s->progs.gp_ssl_write_ex_out,
		s->progs.gp_ssl_read_ex_in, s->progs.gp_ssl_read_ex_out, s->progs.gp_ssl_free,
	};

	return p[i];
}

/* The kernel's sock_send_length and sock_recv_length tracepoints (6.3+), by their BTF. */
static int have_sock_tps(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int ok;

	if (!btf)
		return 0;
	ok = btf__find_by_name_kind(btf, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) > 0 &&
	     btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return ok;
}

/* The main object's maps in; without them (check) every table is one entry. */
static int setup_maps(struct gp_ssl_bpf *skel, const struct gp_ssl_maps *m)
{
	int err;

	if (m) {
		err = bpf_map__reuse_fd(skel->maps.gp_events, m->events);
		if (!err)
			err = bpf_map__reuse_fd(skel->maps.gp_flows, m->flows);
		return err ? err : bpf_map__reuse_fd(skel->maps.gp_stats, m->stats);
	}
	err = bpf_map__set_max_entries(skel->maps.gp_events, getpagesize());
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.gp_flows, 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.gp_ssl_calls, 1);
	return err ? err : bpf_map__set_max_entries(skel->maps.gp_ssl_sess, 1);
}

/* Opened and loaded, the tracepoints attached when with_tp; why says what failed. */
static int load(struct gp_ssl *s, const struct gp_ssl_maps *m, uint32_t netns, int with_tp,
		char *why, size_t len)
{
	struct bpf_program *tps[2];
	int err, i;

	s->skel = gp_ssl_bpf__open();
	if (!s->skel) {
		err = -errno;
		snprintf(why, len, "cannot open its BPF object: %s", strerror(-err));
		return err;
	}
	tps[0] = s->skel->progs.gp_ssl_sock_send;
	tps[1] = s->skel->progs.gp_ssl_sock_recv;
	for (i = 0; i < 2; i++)
		bpf_program__set_autoload(tps[i], with_tp);
	s->skel->rodata->target_netns = netns;
	err = setup_maps(s->skel, m);
	if (!err)
		err = gp_ssl_bpf__load(s->skel);
	if (err) {
		snprintf(why, len, "loading its BPF programs failed: %s (-v shows the verifier log)",
			 strerror(-err));
		return err;
	}
	for (i = 0; with_tp && i < 2; i++) {
		s->tp[i] = bpf_program__attach(tps[i]);
		if (!s->tp[i]) {
			err = -errno;
			snprintf(why, len, "attaching tp_btf/%s failed: %s", bpf_program__section_name(tps[i]) +
				 strlen("tp_btf/"), strerror(-err));
			return err;
		}
	}
	return 0;
}

int gp_ssl_open(struct gp_ssl **out, const struct gp_ssl_maps *m, uint32_t netns_ino,
		char *why, size_t len)
{
	struct gp_ssl *s;
	int err = -ENOTSUP;

	*out = NULL;
	if (access(UPROBE_PMU, F_OK)) {
		snprintf(why, len, "no uprobe PMU (%s: %s; CONFIG_UPROBE_EVENTS=y is needed)",
			 UPROBE_PMU, strerror(errno));
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	err = load(s, m, netns_ino, 1, why, len);
	/* The reason looked for only now: parsing the kernel's BTF costs ~50 ms. */
	if (err && !have_sock_tps())
		snprintf(why, len, "the kernel has no sock_send_length/sock_recv_length tracepoints "
			 "(Linux 6.3+), which join a TLS session to its TCP flow");
	if (err) {
		gp_ssl_close(s);
		return err;
	}
	*out = s;
	return 0;
}

static void lib_detach(struct lib *l)
{
	size_t i;

	for (i = 0; i < N_PROBES; i++) {
		bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
	}
	free(l->path);
	l->path = NULL;
}

void gp_ssl_close(struct gp_ssl *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		lib_detach(&s->libs[i]);
	free(s->libs);
	bpf_link__destroy(s->tp[0]);
	bpf_link__destroy(s->tp[1]);
	gp_ssl_bpf__destroy(s->skel);
	free(s);
}

static struct bpf_link *attach_one(struct bpf_program *prog, const char *path, size_t i)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = probes[i].sym, .retprobe = probes[i].ret);

	return bpf_program__attach_uprobe_opts(prog, -1 /* every process */, path, 0, &o);
}

static int grow(struct gp_ssl *s)
{
	size_t cap = s->cap ? 2 * s->cap : 8;
	struct lib *libs;

	if (s->n < s->cap)
		return 0;
	libs = realloc(s->libs, cap * sizeof(*libs));
	if (!libs)
		return -ENOMEM;
	s->libs = libs;
	s->cap = cap;
	return 0;
}

static const char *by_pid(char buf[32], int pid)
{
	buf[0] = '\0';
	if (pid)
		snprintf(buf, 32, " (pid %d)", pid);
	return buf;
}

/* " (without SSL_write_ex, SSL_read_ex)" for the optional ones that are missing. */
static void say_attached(const struct lib *l, const char *path, int pid)
{
	char missing[128] = "", by[32];
	size_t i;

	for (i = 0; i < N_PROBES; i++)
		if (!l->links[i] && !probes[i].ret)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 missing[0] ? ", " : " (without ", probes[i].sym);
	if (missing[0])
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), ")");
	gp_info("tls: attached OpenSSL uprobes to %s%s%s", path, by_pid(by, pid), missing);
}

int gp_ssl_attach(struct gp_ssl *s, const struct gp_ssllib_found *f)
{
	struct lib l = { .key = f->key };
	const char *what = "";
	char by[32];
	size_t i;
	int err = grow(s);

	for (i = 0; !err && i < N_PROBES; i++) {
		l.links[i] = attach_one(probe_prog(s->skel, i), f->path, i);
		if (!l.links[i] && !probes[i].optional) {
			err = -errno;
			what = probes[i].sym;
		}
	}
	l.path = err ? NULL : strdup(f->path);
	if (!err && !l.path)
		err = -ENOMEM;
	if (err) {
		lib_detach(&l);
		gp_warn("tls: no uprobes on %s%s, TLS there gets connection-level tags only: %s%s%s",
			f->path, by_pid(by, f->pid), what, what[0] ? ": " : "",
			err == -ENOENT ? "no such symbol (not OpenSSL's libssl?)" : strerror(-err));
		return err;
	}
	s->libs[s->n++] = l;
	say_attached(&l, f->path, f->pid);
	return 0;
}

void gp_ssl_detach(struct gp_ssl *s, const struct gp_ssllib_key *k)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct lib *l = &s->libs[i];

		if (l->key.major != k->major || l->key.minor != k->minor || l->key.ino != k->ino)
			continue;
		gp_info("tls: uprobes off %s: no process maps it any more", l->path);
		lib_detach(l);
		s->libs[i] = s->libs[--s->n];
		return;
	}
}

unsigned gp_ssl_libs(const struct gp_ssl *s)
{
	return s ? (unsigned)s->n : 0;
}

int gp_ssl_attach_works_with(struct gp_ssl *s, uint64_t keep)
{
	int status;
	pid_t pid;

	if (!s->n)
		return -ENOENT;
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (gp_caps_limit(keep))
			_exit(2);
		_exit(attach_one(probe_prog(s->skel, 0), s->libs[0].path, 0) ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

static int note_lib(void *ctx, const struct gp_ssllib_found *f)
{
	struct gp_ssl_check *c = ctx;
	char by[32];

	if (f->err)
		return 0;
	if (c->n_libs == GP_SSL_CHECK_LIBS) {
		c->more_libs++;
		return 0;
	}
	snprintf(c->libs[c->n_libs++], sizeof(c->libs[0]), "%s%s", f->path, by_pid(by, f->pid));
	return 0;
}

/* Every process looked at once, not a scan's share. */
static void find_libs(struct gp_ssl_check *c, char first[PATH_MAX])
{
	struct gp_ssllib_opts o = { .pids_per_scan = ~0u };
	struct gp_ssllib *libs;

	first[0] = '\0';
	if (gp_ssllib_new(&libs, &o))
		return;
	gp_ssllib_scan(libs, note_lib, c);
	gp_ssllib_free(libs);
	if (c->n_libs)
		snprintf(first, PATH_MAX, "%.*s", (int)strcspn(c->libs[0], " "), c->libs[0]);
}

/* One uprobe on SSL_write in the first library found, attached and taken down. */
static void try_uprobe(struct gp_ssl_check *c, struct gp_ssl *s, const char *path)
{
	struct bpf_link *l;

	if (!path[0]) {
		c->uprobe_err = -ENOENT;
		snprintf(c->uprobe, sizeof(c->uprobe), "uprobe PMU there, but no libssl.so.* found to try");
		return;
	}
	l = attach_one(probe_prog(s->skel, 0), path, 0);
	c->uprobe_err = l ? 0 : -errno;
	if (l)
		snprintf(c->uprobe, sizeof(c->uprobe), "SSL_write in %s attaches", path);
	else
		snprintf(c->uprobe, sizeof(c->uprobe), "SSL_write in %s: attach failed: %s", path,
			 strerror(-c->uprobe_err));
	bpf_link__destroy(l);
}

void gp_ssl_check(struct gp_ssl_check *c)
{
	char first[PATH_MAX], why[256];
	struct gp_ssl s = { 0 };
	int tps = have_sock_tps(), err;

	memset(c, 0, sizeof(*c));
	find_libs(c, first);
	c->tp_err = tps ? 0 : -ENOENT;
	snprintf(c->tp, sizeof(c->tp), tps ? "sock_send_length, sock_recv_length" :
		 "no sock_send_length/sock_recv_length (Linux 6.3+): no TLS source");
	if (access(UPROBE_PMU, F_OK)) {
		c->uprobe_err = -errno;
		snprintf(c->uprobe, sizeof(c->uprobe), "no uprobe PMU (%s)", UPROBE_PMU);
		return;
	}
	err = load(&s, NULL, 0, tps, why, sizeof(why));
	if (err && tps) {
		c->tp_err = err;
		snprintf(c->tp, sizeof(c->tp), "%s", why);
	}
	if (err) {
		c->uprobe_err = err;
		snprintf(c->uprobe, sizeof(c->uprobe), "%s", why);
	} else {
		try_uprobe(c, &s, first);
	}
	bpf_link__destroy(s.tp[0]);
	bpf_link__destroy(s.tp[1]);
	gp_ssl_bpf__destroy(s.skel);
}
