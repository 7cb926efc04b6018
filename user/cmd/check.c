// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <sys/utsname.h>

#include "cmd/check.h"
#include "collect/caps.h"

static void row(FILE *out, const char *name, int ok, const char *detail)
{
	fprintf(out, "  %-12s %-4s %s\n", name, ok ? "ok" : "no", detail);
}

static void fact_row(FILE *out, const struct gp_check_row *r)
{
	row(out, r->name, !r->err, r->desc);
}

/* Named after what stamps the start: with no connect hook, the state hook's CLOSE->SYN_SENT. */
static void print_choice(FILE *out, enum gp_connect_hook connect, enum gp_state_hook state)
{
	char via[64] = "";

	if (connect == GP_CONNECT_STATE)
		snprintf(via, sizeof(via), " (CLOSE->SYN_SENT on %s)", gp_state_hook_name(state));
	fprintf(out, "run would use: connect_hook=%s%s state_hook=%s\n",
		gp_connect_hook_name(connect), via, gp_state_hook_name(state));
}

void gp_check_render(FILE *out, const struct gp_check_facts *f)
{
	size_t i;

	row(out, "privileges", 1, "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
	fact_row(out, &f->btf);
	fact_row(out, &f->ringbuf);
	if (!f->probed) {
		fprintf(out, "run would fail: %s is required\n", f->btf.err ? "BTF" : "a ring buffer");
		return;
	}
	for (i = 0; i < GP_CHECK_HOOKS; i++)
		fact_row(out, &f->hooks[i]);
	fact_row(out, &f->tc);
	fact_row(out, &f->tcx);
	if (f->choice_err) {
		if (!f->failed)
			fprintf(out, "run would fail: no state hook attaches\n");
		else
			fprintf(out, "run would fail: %s hook %s is unavailable\n",
				f->failed_connect ? "connect" : "state", f->failed);
		return;
	}
	print_choice(out, f->connect, f->state);
	if (f->tc.err)
		fprintf(out, "classifier: unavailable, run with -i none (every alpn \"none\")\n");
	else
		fprintf(out, "classifier: %s\n",
			f->tc_mode == GP_TC_CLSACT ? "clsact filters" : "tcx links");
}

void gp_check_render_tls(FILE *out, const struct gp_ssl_check *c)
{
	size_t i;

	row(out, "uprobe", !c->uprobe_err, c->uprobe);
	row(out, "sock_tp", !c->tp_err, c->tp);
	fprintf(out, "tls: %s\n", !c->uprobe_err && !c->tp_err ?
		"OpenSSL plaintext through uprobes (HTTPS requests tagged by their headers)" :
		"connection-level tags only (SNI, ALPN, addresses)");
	for (i = 0; i < c->n_libs; i++)
		fprintf(out, "  libssl       %s\n", c->libs[i]);
	if (c->more_libs)
		fprintf(out, "  libssl       and %zu more\n", c->more_libs);
	fprintf(out, "tls limits: statically linked TLS (Go crypto/tls, BoringSSL in Envoy or "
		"Chromium) and GnuTLS get connection-level tags only\n");
}

int gp_cmd_check(FILE *out, const struct gp_check_want *want)
{
	struct gp_ssl_check tls;
	struct gp_check_facts f;
	struct utsname u;
	int err;

	uname(&u);
	fprintf(out, "grayprobe %s on Linux %s (%s)\n", GP_VERSION, u.release, u.machine);
	if (gp_caps_require(0))
		return 1;
	err = gp_loader_check(&f, want);
	gp_check_render(out, &f);
	if (f.probed) {
		gp_ssl_check(&tls);
		gp_check_render_tls(out, &tls);
	}
	return err ? 1 : 0;
}
