// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/agg.h"
#include "pipeline/request.h"
#include "grayprobe.h"
#include "util/log.h"
#include "cmd/opts.h"
#include "util/parse.h"
#include "top/topmodel.h"

const char *gp_default_textfile(void)
{
	struct stat st;

	if (!stat(GP_DEFAULT_TEXTFILE_DIR, &st) && S_ISDIR(st.st_mode))
		return GP_DEFAULT_TEXTFILE_DIR "/" GP_TEXTFILE_NAME;
	return "./" GP_TEXTFILE_NAME;
}




/* Which commands take an option: bits of enum gp_cmd. */
#define ON(c)		(1u << (c))
#define ON_ENGINE	(ON(GP_CMD_RUN) | ON(GP_CMD_TOP))
#define ON_HOOKS	(ON_ENGINE | ON(GP_CMD_CHECK))
#define ON_RULES	(ON_ENGINE | ON(GP_CMD_REPLAY))
#define ON_ALL		(ON_HOOKS | ON(GP_CMD_REPLAY))

#define HELP_COL	23	/* where an option's help starts in --help */
#define NUM_FMT		"%.10g"	/* table numbers: 1048576, 0.5, 20 */

enum {
	OPT_TEXTFILE = 256, OPT_INTERVAL, OPT_EVENTS, OPT_NETNS, OPT_CONNECT_HOOK,
	OPT_STATE_HOOK, OPT_RINGBUF_KB, OPT_MAX_TAGS, OPT_VERSION, OPT_EGRESS, OPT_INGRESS_ONLY, OPT_TC_MODE,
	OPT_TAG_WAIT, OPT_RULES, OPT_RULE, OPT_USER, OPT_ONCE, OPT_P99_DELTA, OPT_FAIL_DELTA,
	OPT_MIN_SAMPLES, OPT_RECENT, OPT_WEB_LISTEN, OPT_ENDPOINT_MEMORY, OPT_TAG_IDLE,
	OPT_REQUEST_TIMEOUT, OPT_SSL_LIB, OPT_NO_TLS,
};

/* How a number is kept: a whole number, or milli-units of up to 3 decimals. */
enum val_kind { V_NONE, V_UINT, V_MS, V_MILLI_DBL };

struct opt_def;
typedef int (*opt_parse_fn)(const struct opt_def *d, struct gp_opts *o, const char *arg,
			    FILE *err);

/*
 * One option: --help, the man page (tests/integration/test_deploy.sh checks
 * it against every command's --help) and the parser all come from this.
 */
struct opt_def {
	const char *name;		/* long name; NULL: a short option only */
	int key;			/* its letter, or an OPT_* above 255 */
	const char *arg;		/* the value's name in --help; NULL: a switch */
	unsigned cmds;			/* ON() of each command that takes it */
	opt_parse_fn parse;		/* NULL: -h and --version */
	size_t off;			/* the struct gp_opts field parse sets */
	enum val_kind kind;		/* numbers: how the field holds them */
	const char *what;		/* the value in messages: "path", "whole number" */
	const char *const *names;	/* a choice's words, NULL-terminated */
	double min, max, def;		/* numbers, in the unit --help shows; def is preset */
	const char *help;		/* {min} {max} {def} are filled in; \n: next line */
};

struct cmd_def {
	const char *name;
	enum gp_cmd cmd;
	const char *synopsis;		/* after "grayprobe NAME" */
	const char *summary;		/* its line(s) in the command list */
	const char *more;		/* after its options in its own --help */
	const char *operand;		/* the one argument it needs, in messages */
	int list_on_refusal;		/* few options: a refused one is answered with them */
};

static const struct cmd_def cmd_defs[] = {
	{ "run", GP_CMD_RUN, "[OPTIONS]",
	  "attach, tag, aggregate, export until SIGINT/SIGTERM", NULL, NULL, 0 },
	{ "top", GP_CMD_TOP, "[OPTIONS]",
	  "the same, shown live per tag with canary verdicts\n"
	  "(full screen; --once, or stdout not a terminal: one table)",
	  "Keys: q quit, space pause, / filter, n a g c f 5 9 0 b sort by a column (again: reverse),\n"
	  "< > sort by the column left or right, r reverse, up/down scroll. SIGHUP ends top.\n",
	  NULL, 0 },
	{ "replay", GP_CMD_REPLAY, "[OPTIONS] FILE",
	  "classify a pcap/pcapng capture offline, one JSON line\n"
	  "per TCP flow (same BPF program, BPF_PROG_TEST_RUN)", NULL, "capture file", 1 },
	{ "check", GP_CMD_CHECK, "[OPTIONS]",
	  "show which kernel hooks work here, and what run uses", NULL, NULL, 1 },
};

static int parse_path(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_number(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_pow2(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_choice(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_switch(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_count(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_iface(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_rule(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_listen(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_ssl_lib(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_duration(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err);
static int parse_connect_hook(const struct opt_def *d, struct gp_opts *o, const char *arg,
			      FILE *err);

static const char *const events_names[] = { "none", "json", NULL };

#define F(field)	offsetof(struct gp_opts, field)

/*
 * In --help order; an option may have a second row for another command's
 * help. A new option: its struct gp_opts field, a row here (a parse_* for
 * its kind of value), and its .TP in grayprobe(8) under the OPTIONS
 * subsection that names its commands (t_man_options checks both ways).
 */
static const struct opt_def opt_defs[] = {
	{ "textfile", OPT_TEXTFILE, "PATH", ON(GP_CMD_RUN), parse_path, F(textfile), .what = "path",
	  .help = "Prometheus textfile, rewritten atomically every interval\n"
		  "(default " GP_DEFAULT_TEXTFILE_DIR "/" GP_TEXTFILE_NAME "\n"
		  "when that directory exists, else ./" GP_TEXTFILE_NAME ")" },
	{ "textfile", OPT_TEXTFILE, "PATH", ON(GP_CMD_TOP), parse_path, F(textfile), .what = "path",
	  .help = "keep writing the textfile too (default: none for top)" },
	{ "interval", OPT_INTERVAL, "SECONDS", ON_ENGINE, parse_number, F(interval), V_UINT,
	  "whole number", .min = 1, .max = GP_INTERVAL_MAX, .def = GP_INTERVAL_DEFAULT,
	  .help = "textfile rewrite period, {min}..{max} (default {def})" },
	{ "events", OPT_EVENTS, "json|none", ON(GP_CMD_RUN), parse_choice, F(events_json),
	  .what = "json or none", .names = events_names,
	  .help = "one JSON object per tagged connection outcome on stdout (default none)" },
	{ "interface", 'i', "IF", ON_ENGINE, parse_iface, F(ifaces), .what = "interface name or pattern",
	  .help = "classify TCP flows on IF's ingress and egress; repeatable; fnmatch\n"
		  "patterns such as 'veth*' allowed. Default: the interfaces of the\n"
		  "default routes, plus lo. '-i none': no classifier, every alpn is\n"
		  "\"none\". Requests are matched to responses only where both\n"
		  "directions of a flow are seen." },
	{ "egress", OPT_EGRESS, NULL, ON_ENGINE, parse_switch, F(egress),
	  .help = "classify on the interfaces' egress too (the default)" },
	{ "ingress-only", OPT_INGRESS_ONLY, NULL, ON_ENGINE, parse_switch, F(ingress_only),
	  .help = "classify on the interfaces' ingress only: no outbound TLS\n"
		  "from host processes, no HTTP responses to their requests" },
	{ "tc-mode", OPT_TC_MODE, "MODE", ON_HOOKS, parse_choice, F(tc_mode), .names = gp_tc_mode_names,
	  .help = "auto|tcx|clsact (default auto: tcx links where the kernel has them,\n"
		  "6.6+; else a clsact qdisc filter; other programs are left alone)" },
	{ "tag-wait", OPT_TAG_WAIT, "SECONDS", ON_ENGINE, parse_number, F(tag_wait_ms), V_MS,
	  "number of seconds", .min = 0, .max = GP_TAG_WAIT_MAX_MS / 1000,
	  .def = GP_TAG_WAIT_DEFAULT_MS / 1000.0,
	  .help = "longest an outcome waits for its flow's first payload, {min}..{max}, up to\n"
		  "3 decimals (default {def}); then it is counted with what is known" },
	{ "endpoint-memory", OPT_ENDPOINT_MEMORY, "DURATION", ON_ENGINE, parse_duration,
	  F(endpoint_memory_s), V_UINT, .min = 0, .max = GP_ENDPOINT_MEMORY_MAX_S,
	  .def = GP_ENDPOINT_MEMORY_DEFAULT_S,
	  .help = "a failed attempt takes the tag of the last tagged flow to its server\n"
		  "address and port within DURATION: 600, 90s, 10m, 1h; 0 off\n"
		  "(default {def}s, at most {max}s)" },
	{ "rules", OPT_RULES, "FILE", ON_RULES, parse_path, F(rules_file), .what = "path",
	  .help = "gray rules, one per line (format in the README); SIGHUP reloads it,\n"
		  "a bad file is refused, each bad line named FILE:LINE, the old rules stay" },
	{ "rule", OPT_RULE, "RULE", ON_RULES, parse_rule, F(rule_flags),
	  .help = "one rule, e.g. 'sni *.canary.example.com = canary'; repeatable;\n"
		  "checked before the file. Defaults, after all others unless a rule\n"
		  "says no-defaults: headers x-gray, x-canary, x-traffic-tag,\n"
		  "x-envoy-gray, x-release-stage (the header's value is the gray label)" },
	{ "netns", OPT_NETNS, "PATH", ON_ENGINE, parse_path, F(netns), .what = "path",
	  .help = "only sockets of this network namespace, e.g. /run/netns/NAME or\n"
		  "/proc/PID/ns/net (default: every namespace)" },
	{ "connect-hook", OPT_CONNECT_HOOK, "HOOK", ON_HOOKS, parse_connect_hook, F(connect_hook),
	  .names = gp_connect_hook_names,
	  .help = "where a connect starts: auto|fentry|kprobe|state (default auto:\n"
		  "the first that really loads and attaches, in that order; state:\n"
		  "CLOSE->SYN_SENT seen by the state hook, alias tracepoint)" },
	{ "state-hook", OPT_STATE_HOOK, "HOOK", ON_HOOKS, parse_choice, F(state_hook),
	  .names = gp_state_hook_names,
	  .help = "how inet_sock_set_state is seen: auto|tp_btf|raw_tp|tracepoint\n"
		  "(default auto, same rule)" },
	{ "ringbuf-kb", OPT_RINGBUF_KB, "N", ON_ENGINE, parse_pow2, F(ringbuf_kb), V_UINT,
	  "whole number", .min = GP_RINGBUF_KB_MIN, .max = GP_RINGBUF_KB_MAX,
	  .def = GP_RINGBUF_KB_DEFAULT,
	  .help = "kernel->user ring buffer size in KiB, a power of two, {min}..{max}\n"
		  "(default {def}); overflow is counted in grayprobe_events_lost_total" },
	{ "max-tags", OPT_MAX_TAGS, "N", ON_ENGINE, parse_number, F(max_tags), V_UINT,
	  "whole number", .min = 1, .max = GP_MAX_TAGS_LIMIT, .def = GP_MAX_TAGS_DEFAULT,
	  .help = "distinct (alpn, gray) pairs per direction before folding into\n"
		  "alpn=\"other\",gray=\"other\", {min}..{max} (default {def})" },
	{ "tag-idle", OPT_TAG_IDLE, "DURATION", ON_ENGINE, parse_duration, F(tag_idle_s), V_UINT,
	  .min = 0, .max = GP_TAG_IDLE_MAX_S, .def = GP_TAG_IDLE_DEFAULT_S,
	  .help = "a header-valued tag without traffic this long is dropped, e.g.\n"
		  "90s, 10m, 1h; 0 never (default {def}s, at most {max}s)" },
	{ "request-timeout", OPT_REQUEST_TIMEOUT, "DURATION", ON_ENGINE, parse_duration,
	  F(request_timeout_s), V_UINT, .min = 1, .max = GP_REQ_TIMEOUT_MAX_S,
	  .def = GP_REQ_TIMEOUT_DEFAULT_S,
	  .help = "an HTTP request without a response this long is counted as\n"
		  "code=\"none\": 30s, 1m; {min}s..{max}s (default {def}s)" },
	{ "ssl-lib", OPT_SSL_LIB, "PATH", ON_ENGINE, parse_ssl_lib, F(ssl_libs), .what = "path",
	  .help = "also put the OpenSSL uprobes on this libssl file; repeatable (libssl.so.*\n"
		  "in the usual places and every one processes map, in containers too,\n"
		  "are found by themselves, rescanned each second)" },
	{ "no-tls", OPT_NO_TLS, NULL, ON_ENGINE, parse_switch, F(no_tls),
	  .help = "no OpenSSL uprobes: HTTPS keeps connection-level tags only, and\n"
		  "no capability is kept for library rescans" },
	{ "user", OPT_USER, "NAME", ON_ENGINE, parse_path, F(user), .what = "user name",
	  .help = "once attached, run as NAME (its textfile directory must be\n"
		  "writable by NAME); root or not, every capability is dropped\n"
		  "after attaching but CAP_NET_ADMIN with clsact (to detach) and\n"
		  "what TLS library rescans need (see --no-tls)" },
	{ "web.listen-address", OPT_WEB_LISTEN, "ADDR:PORT", ON(GP_CMD_RUN), parse_listen,
	  F(web_listen), .what = "HOST:PORT, [IPV6]:PORT or :PORT (port 1..65535)",
	  .help = "also serve the textfile's bytes on http://ADDR:PORT/metrics, e.g.\n"
		  ":19435 (every address) or 127.0.0.1:19435 (default: off; the textfile\n"
		  "is written either way). Bound before --user takes effect" },
	{ NULL, 'd', "SECONDS", ON(GP_CMD_TOP), parse_number, F(refresh_ms), V_MS,
	  "number of seconds", .min = GP_REFRESH_MIN_MS / 1000, .max = GP_REFRESH_MAX_MS / 1000,
	  .def = GP_REFRESH_MIN_MS / 1000,
	  .help = "refresh period and window of the rates and window percentiles,\n"
		  "{min}..{max}, up to 3 decimals (default {def})" },
	{ "once", OPT_ONCE, NULL, ON(GP_CMD_TOP), parse_switch, F(once),
	  .help = "wait one period, print the table as text, exit (like top -b -n 1);\n"
		  "chosen by itself when stdin or stdout is not a terminal" },
	/* Percentages parse like seconds: up to 3 decimals. */
	{ "p99-delta", OPT_P99_DELTA, "PCT", ON(GP_CMD_TOP), parse_number, F(p99_delta),
	  V_MILLI_DBL, "percentage", .min = 0, .max = GP_P99_DELTA_MAX,
	  .def = GP_TOP_P99_DELTA_DEFAULT,
	  .help = "mark a gray tag whose p99 (request latency where it has requests,\n"
		  "else connect latency) is more than PCT % above the stable tag's of\n"
		  "the same direction and alpn, {min}..{max} (default {def})" },
	{ "fail-delta", OPT_FAIL_DELTA, "PP", ON(GP_CMD_TOP), parse_number, F(fail_delta),
	  V_MILLI_DBL, "number of percentage points", .min = 0, .max = GP_FAIL_DELTA_MAX,
	  .def = GP_TOP_FAIL_DELTA_DEFAULT,
	  .help = "mark it when its error rate (requests: 5xx, reset, none; gRPC: not\n"
		  "OK; connections: every result but established) is more than PP\n"
		  "percentage points above stable's, {min}..{max} (default {def})" },
	{ "min-samples", OPT_MIN_SAMPLES, "N", ON(GP_CMD_TOP), parse_number, F(min_samples), V_UINT,
	  "whole number", .min = 1, .max = GP_TOP_MIN_SAMPLES_MAX, .def = GP_TOP_MIN_SAMPLES_DEFAULT,
	  .help = "judge p99 and errors over the window only when the gray and stable\n"
		  "tags both have N samples in it, else since start, else show n<N;\n"
		  "{min}..{max} (default {def})" },
	{ "recent", OPT_RECENT, "N", ON(GP_CMD_TOP), parse_number, F(recent), V_UINT,
	  "whole number", .min = 0, .max = GP_TOP_RECENT_MAX, .def = GP_TOP_RECENT_DEFAULT,
	  .help = "latest outcomes kept for the recent pane, {min}..{max} (default {def})" },
	{ "verbose", 'v', NULL, ON_ALL, parse_count, F(verbose),
	  .help = "more detail (the rules in force); on a failed load, the verifier\n"
		  "log tail (-vv: all of libbpf's messages)" },
	{ "help", 'h', NULL, ON_ALL, .help = "this text" },
	{ "version", OPT_VERSION, NULL, ON_ALL, .help = "the version" },
};

#define N_OPTS	(sizeof(opt_defs) / sizeof(opt_defs[0]))
#define N_CMDS	(sizeof(cmd_defs) / sizeof(cmd_defs[0]))

static int bad(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(FILE *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gp_vlog_to(err, GP_LOG_ERR, fmt, ap);
	va_end(ap);
	gp_log_usage_hint(err);
	return 2;
}

/* An option as messages name it: its letter if it has one. */
static const char *opt_name(const struct opt_def *d, char buf[48])
{
	if (d->key < 256)
		snprintf(buf, 48, "-%c", d->key);
	else
		snprintf(buf, 48, "--%s", d->name);
	return buf;
}

static void *field(const struct opt_def *d, struct gp_opts *o)
{
	return (char *)o + d->off;
}

static int parse_path(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48];

	if (!arg[0])
		return bad(err, "%s needs a %s", opt_name(d, n), d->what);
	*(const char **)field(d, o) = arg;
	return 0;
}

static void store_number(const struct opt_def *d, struct gp_opts *o, unsigned long v)
{
	if (d->kind == V_MILLI_DBL)
		*(double *)field(d, o) = v / 1000.0;
	else
		*(unsigned *)field(d, o) = v;
}

static int parse_number(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	unsigned long v;
	unsigned milli;
	int ok;
	char n[48];

	if (d->kind == V_UINT) {
		ok = !gp_parse_uint(arg, d->min, d->max, &v);
	} else {
		ok = !gp_parse_seconds_ms(arg, d->max * 1000, &milli) && milli >= d->min * 1000;
		v = milli;
	}
	if (!ok)
		return bad(err, "%s: '%s' is not a %s in " NUM_FMT ".." NUM_FMT "%s", opt_name(d, n),
			   arg, d->what, d->min, d->max, d->kind == V_UINT ? "" : " (up to 3 decimals)");
	store_number(d, o, v);
	return 0;
}

static int parse_duration(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48];

	if (gp_parse_duration_s(arg, (unsigned)d->max, field(d, o)))
		return bad(err, "%s: '%s' is not a duration such as 600, 90s, 10m, 1h or 0, "
			   "at most " NUM_FMT "s", opt_name(d, n), arg, d->max);
	if (*(unsigned *)field(d, o) < d->min)
		return bad(err, "%s: '%s' is below " NUM_FMT "s", opt_name(d, n), arg, d->min);
	return 0;
}

static int parse_pow2(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	unsigned v;
	char n[48];

	if (parse_number(d, o, arg, err))
		return 2;
	v = *(unsigned *)field(d, o);
	if (v & (v - 1))
		return bad(err, "%s: '%s' is not a power of two", opt_name(d, n), arg);
	return 0;
}

static int parse_choice(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48], list[128] = "one of ";
	size_t i;

	for (i = 0; d->names[i]; i++) {
		if (!strcmp(arg, d->names[i])) {
			*(int *)field(d, o) = (int)i;
			return 0;
		}
	}
	for (i = 0; !d->what && d->names[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 d->names[i]);
	return bad(err, "%s: '%s' is not %s", opt_name(d, n), arg, d->what ? d->what : list);
}

/* "tracepoint" is the former name of "state", still accepted. */
static int parse_connect_hook(const struct opt_def *d, struct gp_opts *o, const char *arg,
			      FILE *err)
{
	return parse_choice(d, o, strcmp(arg, "tracepoint") ? arg : "state", err);
}

static int parse_switch(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	(void)arg;
	(void)err;
	*(int *)field(d, o) = 1;
	return 0;
}

static int parse_count(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	(void)arg;
	(void)err;
	++*(int *)field(d, o);
	return 0;
}

static int parse_iface(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48];

	if (!arg[0])
		return bad(err, "%s needs an %s", opt_name(d, n), d->what);
	if (!strcmp(arg, "none")) {
		o->no_tc = 1;
		return 0;
	}
	if (o->n_ifaces == GP_IFACES_MAX)
		return bad(err, "%s: more than %d interfaces", opt_name(d, n), GP_IFACES_MAX);
	o->ifaces[o->n_ifaces++] = arg;
	return 0;
}

static int parse_rule(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48];

	if (o->n_rule_flags == GP_RULE_FLAGS_MAX)
		return bad(err, "%s: more than %d given; use --rules FILE", opt_name(d, n),
			   GP_RULE_FLAGS_MAX);
	o->rule_flags[o->n_rule_flags++] = arg;
	return 0;
}

static int parse_ssl_lib(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char n[48];

	if (!arg[0])
		return bad(err, "%s needs a %s", opt_name(d, n), d->what);
	if (o->n_ssl_libs == GP_SSL_LIBS_MAX)
		return bad(err, "%s: more than %d given", opt_name(d, n), GP_SSL_LIBS_MAX);
	o->ssl_libs[o->n_ssl_libs++] = arg;
	return 0;
}

static int parse_listen(const struct opt_def *d, struct gp_opts *o, const char *arg, FILE *err)
{
	char host[GP_LISTEN_HOST_MAX], port[8], n[48];

	if (gp_parse_listen(arg, host, sizeof(host), port, sizeof(port)))
		return bad(err, "%s: '%s' is not %s", opt_name(d, n), arg, d->what);
	*(const char **)field(d, o) = arg;
	return 0;
}

/* The commands of mask, for a message: "top", "run and top", "run, top and check". */
static void cmd_list(char *buf, size_t len, unsigned mask)
{
	size_t i, n = 0, k = 0;

	buf[0] = '\0';
	for (i = 0; i < N_CMDS; i++)
		n += !!(mask & ON(cmd_defs[i].cmd));
	for (i = 0; i < N_CMDS; i++)
		if (mask & ON(cmd_defs[i].cmd))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 !k++ ? "" : k == n ? " and " : ", ", cmd_defs[i].name);
}

static const struct cmd_def *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (!strcmp(name, cmd_defs[i].name))
			return &cmd_defs[i];
	return NULL;
}

static const struct cmd_def *cmd_def(enum gp_cmd cmd)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (cmd_defs[i].cmd == cmd)
			return &cmd_defs[i];
	return NULL;
}

/* The commands that take the option with this key. */
static unsigned takers(int key)
{
	unsigned mask = 0;
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (opt_defs[i].key == key)
			mask |= opt_defs[i].cmds;
	return mask;
}

/* The row for key, preferring cmd's own. */
static const struct opt_def *find_opt(int key, enum gp_cmd cmd)
{
	const struct opt_def *any = NULL;
	size_t i;

	for (i = 0; i < N_OPTS; i++) {
		if (opt_defs[i].key != key)
			continue;
		if (opt_defs[i].cmds & ON(cmd))
			return &opt_defs[i];
		if (!any)
			any = &opt_defs[i];
	}
	return any;
}

/* A later row with an earlier row's key is only another command's help. */
static int first_row(size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (opt_defs[j].key == opt_defs[i].key)
			return 0;
	return 1;
}

static void getopt_tables(struct option *longs, char *shorts)
{
	size_t i, nl = 0;

	strcpy(shorts, "+:");
	for (i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_defs[i];

		if (!first_row(i))
			continue;
		if (d->name)
			longs[nl++] = (struct option){ d->name, d->arg ? required_argument : no_argument,
						       NULL, d->key };
		if (d->key < 256)
			snprintf(shorts + strlen(shorts), 3, "%c%s", d->key, d->arg ? ":" : "");
	}
	memset(&longs[nl], 0, sizeof(longs[nl]));
}

static void set_defaults(struct gp_opts *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < N_OPTS; i++)
		if (opt_defs[i].kind != V_NONE && first_row(i))
			store_number(&opt_defs[i], o, opt_defs[i].kind == V_UINT ?
				     opt_defs[i].def : opt_defs[i].def * 1000);
}

/* {min}, {max} and {def} of the help text; anything else is printed as is. */
static const char *put_number(FILE *f, const struct opt_def *d, const char *s)
{
	static const char *const keys[] = { "{min}", "{max}", "{def}" };
	const double vals[] = { d->min, d->max, d->def };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!strncmp(s, keys[i], 5)) {
			fprintf(f, NUM_FMT, vals[i]);
			return s + 5;
		}
	}
	fputc(*s, f);
	return s + 1;
}

static void print_opt(FILE *f, const struct opt_def *d)
{
	char label[64];
	const char *s;
	int n;

	if (d->key < 256 && d->name)
		n = snprintf(label, sizeof(label), "-%c, --%s", d->key, d->name);
	else
		n = d->key < 256 ? snprintf(label, sizeof(label), "-%c", d->key) :
				   snprintf(label, sizeof(label), "--%s", d->name);
	if (d->arg)
		n += snprintf(label + n, sizeof(label) - n, " %s", d->arg);
	/* Two blanks at least between the option and its help, or a line of its own. */
	if (n > HELP_COL - 4)
		fprintf(f, "  %s\n%*s", label, HELP_COL, "");
	else
		fprintf(f, "  %-*s", HELP_COL - 2, label);
	for (s = d->help; *s;) {
		if (*s == '\n') {
			fprintf(f, "\n%*s", HELP_COL, "");
			s++;
		} else {
			s = put_number(f, d, s);
		}
	}
	fputc('\n', f);
}

/* Lines after the first start under the first's text. */
static void print_indented(FILE *f, const char *s, int col)
{
	for (; *s; s++) {
		fputc(*s, f);
		if (*s == '\n')
			fprintf(f, "%*s", col, "");
	}
	fputc('\n', f);
}

static void usage_commands(FILE *f)
{
	char lead[48];
	size_t i;

	for (i = 0; i < N_CMDS; i++) {
		snprintf(lead, sizeof(lead), "%s grayprobe %s %s", i ? "      " : "Usage:",
			 cmd_defs[i].name, cmd_defs[i].synopsis);
		fprintf(f, "%-41s", lead);
		print_indented(f, cmd_defs[i].summary, 41);
	}
	fputs("       grayprobe --help | --version\n"
"\n"
"grayprobe measures TCP connect latency and the outcome of every attempt, outbound (connect\n"
"to ESTABLISHED) and inbound (SYN seen at TC to ESTABLISHED), and tags each connection by\n"
"its flow's first bytes: the TLS ClientHello's first offered ALPN (alpn=\"h2\"), \"tls\" without\n"
"ALPN, \"http/1.1\", \"h2c\", \"unknown\", or \"none\" (no payload before close or --tag-wait),\n"
"and by gray rules (gray=\"stable\" unless a rule matches). Per (direction, alpn, gray) it\n"
"exports histograms and counters as a Prometheus textfile for node_exporter's textfile\n"
"collector and, optionally, a JSON event stream on stdout.\n"
"Needs root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN (CAP_SYS_ADMIN before 5.8).\n"
"\n"
"A command's options: grayprobe COMMAND --help (or grayprobe help COMMAND).\n", f);
}

void gp_usage(FILE *f, enum gp_cmd cmd)
{
	const struct cmd_def *c = cmd_def(cmd);
	size_t i;

	if (!c) {
		usage_commands(f);
	} else {
		fprintf(f, "Usage: grayprobe %s %s\n", c->name, c->synopsis);
		print_indented(f, c->summary, 0);
		fputs("\nOptions:\n", f);
		for (i = 0; i < N_OPTS; i++)
			if (opt_defs[i].cmds & ON(cmd))
				print_opt(f, &opt_defs[i]);
		if (c->more)
			fprintf(f, "\n%s", c->more);
	}
	fputs("\nExit status: 0 on a clean stop, 1 on a runtime failure, 2 on bad usage.\n", f);
}

static int pick_command(int argc, char **argv, struct gp_opts *o, FILE *err)
{
	const struct cmd_def *c;

	if (argc < 2)
		return bad(err, "missing command");
	c = find_cmd(argv[1]);
	if (c) {
		o->cmd = c->cmd;
	} else if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
		   !strcmp(argv[1], "-h")) {
		o->cmd = GP_CMD_HELP;
		/* help COMMAND: that command's options. */
		c = argc > 2 ? find_cmd(argv[2]) : NULL;
		o->help_for = c ? c->cmd : GP_CMD_NONE;
	} else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		o->cmd = GP_CMD_VERSION;
	} else {
		return bad(err, "unknown command '%s'", argv[1]);
	}
	return 0;
}

/* getopt's ':' and '?': a missing value, or an option nobody takes. */
static int bad_option(FILE *err, int c, char **av, const char *shorts)
{
	/* In a cluster such as -xv, optind has not moved past it yet. */
	if (c == ':')
		return bad(err, "%s needs a value", av[optind - 1]);
	if (optopt > 0 && optopt < 256 && optopt != ':' && !strchr(shorts, optopt)) {
		char flag[3] = { '-', (char)optopt, 0 };

		return bad(err, "unknown option '%s'", flag);
	}
	if (optopt && strchr(av[optind - 1], '='))
		return bad(err, "option '%s' takes no value", av[optind - 1]);
	return bad(err, "unknown option '%s'", av[optind - 1]);
}

/* An option of other commands, as typed, for the command given. */
static int refuse(FILE *err, const struct cmd_def *c, int key, const char *as)
{
	char list[256] = "", n[48];
	size_t i, k = 0, total = !!c->operand;

	if (!c->list_on_refusal) {
		cmd_list(list, sizeof(list), takers(key));
		return bad(err, "'%s' is an option of %s, not of %s", as, list, c->name);
	}
	for (i = 0; i < N_OPTS; i++)
		total += (opt_defs[i].cmds & ON(c->cmd)) && opt_defs[i].parse && first_row(i);
	for (i = 0; i < N_OPTS; i++)
		if ((opt_defs[i].cmds & ON(c->cmd)) && opt_defs[i].parse && first_row(i))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 !k++ ? "" : k == total ? " and " : ", ", opt_name(&opt_defs[i], n));
	if (c->operand)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sthe %s",
			 k ? " and " : "", c->operand);
	return bad(err, "%s takes only %s, not '%s'", c->name, list, as);
}

/* After the options: the operand, strays, options of other commands, conflicts. */
static int check_rest(struct gp_opts *o, int ac, char **av, int refused, const char *as,
		      FILE *err)
{
	const struct cmd_def *c = cmd_def(o->cmd);

	if (c->operand) {
		if (optind >= ac)
			return bad(err, "%s needs a %s", c->name, c->operand);
		o->replay_file = av[optind++];
		if (refused)
			return refuse(err, c, refused, as);
	}
	if (optind < ac)
		return bad(err, "unexpected argument '%s'", av[optind]);
	if (refused)
		return refuse(err, c, refused, as);
	if (o->no_tc && (o->n_ifaces || o->egress || o->ingress_only))
		return bad(err, "-i none cannot be combined with other -i, --egress or --ingress-only");
	if (o->egress && o->ingress_only)
		return bad(err, "--egress and --ingress-only cannot be combined");
	if (o->no_tls && o->n_ssl_libs)
		return bad(err, "--no-tls cannot be combined with --ssl-lib");
	return 0;
}

int gp_opts_parse(int argc, char **argv, struct gp_opts *o, FILE *err)
{
	struct option longs[N_OPTS + 1];
	char shorts[2 * N_OPTS + 3], as[48];
	char **av = argv + 1;	/* getopt sees the command as its argv[0] */
	int ac = argc - 1, c, li, refused = 0, ret;
	const struct opt_def *d;

	set_defaults(o);
	ret = pick_command(argc, argv, o, err);
	if (ret || o->cmd == GP_CMD_HELP || o->cmd == GP_CMD_VERSION)
		return ret;
	getopt_tables(longs, shorts);
	optind = 0;	/* full getopt reset: parse may run more than once */
	opterr = 0;
	while ((li = -1, c = getopt_long(ac, av, shorts, longs, &li)) != -1) {
		if (c == ':' || c == '?')
			return bad_option(err, c, av, shorts + 2);
		if (c == 'h' || c == OPT_VERSION) {
			o->help_for = o->cmd;
			o->cmd = c == 'h' ? GP_CMD_HELP : GP_CMD_VERSION;
			return 0;
		}
		d = find_opt(c, o->cmd);
		/* The last option of other commands is named, after every value is checked. */
		if (!(d->cmds & ON(o->cmd))) {
			refused = c;
			if (li >= 0)
				snprintf(as, sizeof(as), "--%s", longs[li].name);
			else
				snprintf(as, sizeof(as), "-%c", c);
		}
		if (d->parse(d, o, optarg, err))
			return 2;
	}
	return check_rest(o, ac, av, refused, as, err);
}
