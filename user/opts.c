// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg.h"
#include "grayprobe.h"
#include "opts.h"
#include "topmodel.h"

static const char *const connect_names[GP_CONNECT_MAX] = {
	"auto", "fentry", "kprobe", "state",
};
static const char *const state_names[GP_STATE_MAX] = {
	"auto", "tp_btf", "raw_tp", "tracepoint",
};
static const char *const tc_mode_names[GP_TC_MAX] = { "auto", "tcx", "clsact" };

const char *gp_tc_mode_name(enum gp_tc_mode m)
{
	return (unsigned)m < GP_TC_MAX ? tc_mode_names[m] : "?";
}

const char *gp_connect_hook_name(enum gp_connect_hook h)
{
	return (unsigned)h < GP_CONNECT_MAX ? connect_names[h] : "?";
}

const char *gp_state_hook_name(enum gp_state_hook h)
{
	return (unsigned)h < GP_STATE_MAX ? state_names[h] : "?";
}

const char *gp_default_textfile(void)
{
	struct stat st;

	if (!stat(GP_DEFAULT_TEXTFILE_DIR, &st) && S_ISDIR(st.st_mode))
		return GP_DEFAULT_TEXTFILE_DIR "/" GP_TEXTFILE_NAME;
	return "./" GP_TEXTFILE_NAME;
}

void gp_usage(FILE *f)
{
	fprintf(f,
"Usage: grayprobe run [OPTIONS]           attach, tag, aggregate, export until SIGINT/SIGTERM\n"
"       grayprobe top [OPTIONS]           the same, shown live per tag with canary verdicts\n"
"                                         (full screen; --once, or stdout not a terminal: one table)\n"
"       grayprobe replay [RULES] FILE     classify a pcap/pcapng capture offline, one JSON line\n"
"                                         per TCP flow (same BPF program, BPF_PROG_TEST_RUN)\n"
"       grayprobe check [-v]              show which kernel hooks work here, and what run uses\n"
"       grayprobe --help | --version\n"
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
"Options for run:\n"
"  --textfile PATH      Prometheus textfile, rewritten atomically every interval\n"
"                       (default " GP_DEFAULT_TEXTFILE_DIR "/" GP_TEXTFILE_NAME "\n"
"                       when that directory exists, else ./" GP_TEXTFILE_NAME ")\n"
"  --interval SECONDS   textfile rewrite period, 1..%d (default %d)\n"
"  --events json|none   one JSON object per tagged connection outcome on stdout (default none)\n"
"  -i, --interface IF   classify TCP flows on IF's ingress; repeatable; fnmatch patterns\n"
"                       such as 'veth*' allowed. Default: the interfaces of the default\n"
"                       routes, plus lo. '-i none': no classifier, every alpn is \"none\".\n"
"                       Pods' traffic is seen on their host-side veth's ingress; outbound\n"
"                       TLS from host processes only on egress (--egress).\n"
"  --egress             also classify on the interfaces' egress\n"
"  --tc-mode MODE       auto|tcx|clsact (default auto: tcx links where the kernel has them,\n"
"                       6.6+; else a clsact qdisc filter; other programs are left alone)\n"
"  --tag-wait SECONDS   longest an outcome waits for its flow's first payload, 0..%d, up to\n"
"                       3 decimals (default %d); then it is counted with what is known\n"
"  --rules FILE         gray rules, one per line (format in the README); SIGHUP reloads it,\n"
"                       a bad file is refused with FILE:LINE and the old rules stay\n"
"  --rule RULE          one rule, e.g. 'sni *.canary.example.com = canary'; repeatable;\n"
"                       checked before the file. Defaults, after all others unless a rule\n"
"                       says no-defaults: headers x-gray, x-canary, x-traffic-tag,\n"
"                       x-envoy-gray, x-release-stage (the header's value is the gray label)\n"
"  --netns PATH         only sockets of this network namespace, e.g. /run/netns/NAME or\n"
"                       /proc/PID/ns/net (default: every namespace)\n"
"  --connect-hook HOOK  where a connect starts: auto|fentry|kprobe|state (default auto:\n"
"                       the first that really loads and attaches, in that order; state:\n"
"                       CLOSE->SYN_SENT seen by the state hook, alias tracepoint)\n"
"  --state-hook HOOK    how inet_sock_set_state is seen: auto|tp_btf|raw_tp|tracepoint\n"
"                       (default auto, same rule)\n"
"  --ringbuf-kb N       kernel->user ring buffer size in KiB, a power of two, %d..%d\n"
"                       (default %d); overflow is counted in grayprobe_events_lost_total\n"
"  --max-tags N         distinct (alpn, gray) pairs per direction before folding into\n"
"                       alpn=\"other\",gray=\"other\", 1..%d (default %d)\n"
"  --user NAME          once attached, run as NAME (its textfile directory must be\n"
"                       writable by NAME); root or not, every capability is dropped\n"
"                       after attaching but CAP_NET_ADMIN with clsact (to detach)\n"
"  -v, --verbose        more detail (the rules in force); on a failed load, the verifier\n"
"                       log tail (-vv: all of libbpf's messages)\n"
"  -h, --help           this text\n"
"\n"
"Options for top: those of run but --events, and\n"
"  -d SECONDS           refresh period and window of the rates and window percentiles,\n"
"                       %d..%d, up to 3 decimals (default %d)\n"
"  --once               wait one period, print the table as text, exit (like top -b -n 1);\n"
"                       chosen by itself when stdin or stdout is not a terminal\n"
"  --p99-delta PCT      mark a gray tag whose p99 is more than PCT %% above the stable tag's\n"
"                       of the same direction and alpn, 0..%d (default %g)\n"
"  --fail-delta PP      mark it when its failure ratio (every result but established) is\n"
"                       more than PP percentage points above stable's, 0..%d (default %g)\n"
"  --recent N           latest outcomes kept for the recent pane, 0..%d (default %d)\n"
"  --textfile PATH      keep writing the textfile too (default: none for top)\n"
"Keys: q quit, space pause, / filter, n a g c f 5 9 0 b sort by a column (again: reverse),\n"
"< > sort by the column left or right, r reverse, up/down scroll. SIGHUP ends top.\n"
"\n"
"Exit status: 0 on a clean stop, 1 on a runtime failure, 2 on bad usage.\n",
		GP_INTERVAL_MAX, GP_INTERVAL_DEFAULT,
		GP_TAG_WAIT_MAX_MS / 1000, GP_TAG_WAIT_DEFAULT_MS / 1000,
		GP_RINGBUF_KB_MIN, GP_RINGBUF_KB_MAX, GP_RINGBUF_KB_DEFAULT,
		GP_MAX_TAGS_LIMIT, GP_MAX_TAGS_DEFAULT,
		GP_REFRESH_MIN_MS / 1000, GP_REFRESH_MAX_MS / 1000, GP_REFRESH_MIN_MS / 1000,
		GP_P99_DELTA_MAX, GP_TOP_P99_DELTA_DEFAULT,
		GP_FAIL_DELTA_MAX, GP_TOP_FAIL_DELTA_DEFAULT,
		GP_TOP_RECENT_MAX, GP_TOP_RECENT_DEFAULT);
}

int gp_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts leading blanks and a minus sign: we do not. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int gp_parse_seconds_ms(const char *s, unsigned max_ms, unsigned *out)
{
	unsigned long whole, ms = 0;
	const char *dot = strchr(s, '.');
	char buf[32];
	size_t n = dot ? (size_t)(dot - s) : strlen(s), i;

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (gp_parse_uint(buf, 0, max_ms / 1000, &whole))
		return -EINVAL;
	if (dot) {
		const char *frac = dot + 1;

		size_t nf = strlen(frac);

		if (!nf || nf > 3)
			return -EINVAL;
		for (i = 0; i < 3; i++) {
			if (i < nf && !isdigit((unsigned char)frac[i]))
				return -EINVAL;
			ms = ms * 10 + (i < nf ? (unsigned long)(frac[i] - '0') : 0);
		}
	}
	if (whole * 1000 + ms > max_ms)
		return -ERANGE;
	*out = whole * 1000 + ms;
	return 0;
}

static int pick(const char *arg, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

enum {
	OPT_TEXTFILE = 256, OPT_INTERVAL, OPT_EVENTS, OPT_NETNS, OPT_CONNECT_HOOK,
	OPT_STATE_HOOK, OPT_RINGBUF_KB, OPT_MAX_TAGS, OPT_VERSION, OPT_EGRESS, OPT_TC_MODE,
	OPT_TAG_WAIT, OPT_RULES, OPT_RULE, OPT_USER, OPT_ONCE, OPT_P99_DELTA, OPT_FAIL_DELTA,
	OPT_RECENT,
};

static const struct option long_opts[] = {
	{ "textfile", required_argument, NULL, OPT_TEXTFILE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "connect-hook", required_argument, NULL, OPT_CONNECT_HOOK },
	{ "state-hook", required_argument, NULL, OPT_STATE_HOOK },
	{ "ringbuf-kb", required_argument, NULL, OPT_RINGBUF_KB },
	{ "max-tags", required_argument, NULL, OPT_MAX_TAGS },
	{ "interface", required_argument, NULL, 'i' },
	{ "egress", no_argument, NULL, OPT_EGRESS },
	{ "tc-mode", required_argument, NULL, OPT_TC_MODE },
	{ "tag-wait", required_argument, NULL, OPT_TAG_WAIT },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "user", required_argument, NULL, OPT_USER },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "p99-delta", required_argument, NULL, OPT_P99_DELTA },
	{ "fail-delta", required_argument, NULL, OPT_FAIL_DELTA },
	{ "recent", required_argument, NULL, OPT_RECENT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

static int bad(FILE *err, const char *fmt, const char *a, const char *b)
{
	fputs("grayprobe: ", err);
	fprintf(err, fmt, a, b);
	fputs("\nTry 'grayprobe --help'.\n", err);
	return 2;
}

/* A limit for a message, from the constant that enforces it. */
static const char *lim(char buf[24], unsigned long v)
{
	snprintf(buf, 24, "%lu", v);
	return buf;
}

static int num_opt(FILE *err, const char *name, const char *arg, unsigned long min,
		   unsigned long max, unsigned *out)
{
	unsigned long v;
	char range[64];

	if (gp_parse_uint(arg, min, max, &v)) {
		snprintf(range, sizeof(range), "%lu..%lu", min, max);
		fprintf(err, "grayprobe: --%s: '%s' is not a whole number in %s\n"
			"Try 'grayprobe --help'.\n", name, arg, range);
		return 2;
	}
	*out = v;
	return 0;
}

int gp_opts_parse(int argc, char **argv, struct gp_opts *o, FILE *err)
{
	char **av = argv + 1;	/* getopt sees the command as its argv[0] */
	int ac = argc - 1, c, i;
	/*
	 * The last option given that replay, check, run or top does not take
	 * (even at its default).
	 */
	char not_replay[48] = "", not_check[48] = "", not_run[48] = "", not_top[48] = "", name[48];
	char num[24];
	unsigned milli;
	int li;

	memset(o, 0, sizeof(*o));
	o->interval = GP_INTERVAL_DEFAULT;
	o->ringbuf_kb = GP_RINGBUF_KB_DEFAULT;
	o->max_tags = GP_MAX_TAGS_DEFAULT;
	o->tag_wait_ms = GP_TAG_WAIT_DEFAULT_MS;
	o->refresh_ms = GP_REFRESH_MIN_MS;
	o->p99_delta = GP_TOP_P99_DELTA_DEFAULT;
	o->fail_delta = GP_TOP_FAIL_DELTA_DEFAULT;
	o->recent = GP_TOP_RECENT_DEFAULT;

	if (argc < 2)
		return bad(err, "missing command%s%s", "", "");
	if (!strcmp(argv[1], "run"))
		o->cmd = GP_CMD_RUN;
	else if (!strcmp(argv[1], "check"))
		o->cmd = GP_CMD_CHECK;
	else if (!strcmp(argv[1], "replay"))
		o->cmd = GP_CMD_REPLAY;
	else if (!strcmp(argv[1], "top"))
		o->cmd = GP_CMD_TOP;
	else if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		o->cmd = GP_CMD_HELP;
	else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		o->cmd = GP_CMD_VERSION;
	else
		return bad(err, "unknown command '%s'%s", argv[1], "");
	if (o->cmd == GP_CMD_HELP || o->cmd == GP_CMD_VERSION)
		return 0;

	optind = 0;	/* full getopt reset: parse may run more than once */
	opterr = 0;
	while ((li = -1, c = getopt_long(ac, av, "+:vhi:d:", long_opts, &li)) != -1) {
		if (li >= 0)
			snprintf(name, sizeof(name), "--%s", long_opts[li].name);
		else
			snprintf(name, sizeof(name), "-%c", c);
		if (c != 'v' && c != 'h' && c != OPT_VERSION && c != OPT_RULES && c != OPT_RULE &&
		    c != ':' && c != '?')
			memcpy(not_replay, name, sizeof(name));
		if (c != 'v' && c != 'h' && c != OPT_VERSION && c != OPT_CONNECT_HOOK &&
		    c != OPT_STATE_HOOK && c != OPT_TC_MODE && c != ':' && c != '?')
			memcpy(not_check, name, sizeof(name));
		if (c == 'd' || c == OPT_ONCE || c == OPT_P99_DELTA || c == OPT_FAIL_DELTA ||
		    c == OPT_RECENT)
			memcpy(not_run, name, sizeof(name));
		if (c == OPT_EVENTS)
			memcpy(not_top, name, sizeof(name));
		switch (c) {
		case OPT_TEXTFILE:
			if (!optarg[0])
				return bad(err, "--textfile needs a path%s%s", "", "");
			o->textfile = optarg;
			break;
		case OPT_INTERVAL:
			if (num_opt(err, "interval", optarg, 1, GP_INTERVAL_MAX, &o->interval))
				return 2;
			break;
		case OPT_EVENTS:
			if (!strcmp(optarg, "json") || !strcmp(optarg, "none"))
				o->events_json = !strcmp(optarg, "json");
			else
				return bad(err, "--events: '%s' is not json or none%s", optarg, "");
			break;
		case OPT_NETNS:
			if (!optarg[0])
				return bad(err, "--netns needs a path%s%s", "", "");
			o->netns = optarg;
			break;
		case OPT_CONNECT_HOOK:
			i = pick(optarg, connect_names, GP_CONNECT_MAX);
			if (i < 0 && !strcmp(optarg, "tracepoint"))
				i = GP_CONNECT_STATE;	/* its former name */
			if (i < 0)
				return bad(err, "--connect-hook: '%s' is not one of %s", optarg,
					   "auto, fentry, kprobe, state");
			o->connect_hook = i;
			break;
		case OPT_STATE_HOOK:
			i = pick(optarg, state_names, GP_STATE_MAX);
			if (i < 0)
				return bad(err, "--state-hook: '%s' is not one of %s", optarg,
					   "auto, tp_btf, raw_tp, tracepoint");
			o->state_hook = i;
			break;
		case OPT_RINGBUF_KB:
			if (num_opt(err, "ringbuf-kb", optarg, GP_RINGBUF_KB_MIN, GP_RINGBUF_KB_MAX,
				    &o->ringbuf_kb))
				return 2;
			if (o->ringbuf_kb & (o->ringbuf_kb - 1))
				return bad(err, "--ringbuf-kb: '%s' is not a power of two%s", optarg, "");
			break;
		case OPT_MAX_TAGS:
			if (num_opt(err, "max-tags", optarg, 1, GP_MAX_TAGS_LIMIT, &o->max_tags))
				return 2;
			break;
		case 'i':
			if (!optarg[0])
				return bad(err, "-i needs an interface name or pattern%s%s", "", "");
			if (!strcmp(optarg, "none")) {
				o->no_tc = 1;
				break;
			}
			if (o->n_ifaces == GP_IFACES_MAX)
				return bad(err, "-i: more than %s interfaces%s", lim(num, GP_IFACES_MAX), "");
			o->ifaces[o->n_ifaces++] = optarg;
			break;
		case OPT_EGRESS:
			o->egress = 1;
			break;
		case OPT_TC_MODE:
			i = pick(optarg, tc_mode_names, GP_TC_MAX);
			if (i < 0)
				return bad(err, "--tc-mode: '%s' is not one of %s", optarg, "auto, tcx, clsact");
			o->tc_mode = i;
			break;
		case OPT_TAG_WAIT:
			if (gp_parse_seconds_ms(optarg, GP_TAG_WAIT_MAX_MS, &o->tag_wait_ms))
				return bad(err, "--tag-wait: '%s' is not a number of seconds in 0..%s "
					   "(up to 3 decimals)", optarg, lim(num, GP_TAG_WAIT_MAX_MS / 1000));
			break;
		case OPT_RULES:
			if (!optarg[0])
				return bad(err, "--rules needs a path%s%s", "", "");
			o->rules_file = optarg;
			break;
		case OPT_RULE:
			if (o->n_rule_flags == GP_RULE_FLAGS_MAX)
				return bad(err, "--rule: more than %s given; use --rules FILE%s",
					   lim(num, GP_RULE_FLAGS_MAX), "");
			o->rule_flags[o->n_rule_flags++] = optarg;
			break;
		case OPT_USER:
			if (!optarg[0])
				return bad(err, "--user needs a user name%s%s", "", "");
			o->user = optarg;
			break;
		case 'd':
			if (gp_parse_seconds_ms(optarg, GP_REFRESH_MAX_MS, &o->refresh_ms) ||
			    o->refresh_ms < GP_REFRESH_MIN_MS)
				return bad(err, "-d: '%s' is not a number of seconds in 1..%s (up to 3 decimals)",
					   optarg, lim(num, GP_REFRESH_MAX_MS / 1000));
			break;
		case OPT_ONCE:
			o->once = 1;
			break;
		/* Percentages parse like seconds: up to 3 decimals, in thousandths. */
		case OPT_P99_DELTA:
			if (gp_parse_seconds_ms(optarg, GP_P99_DELTA_MAX * 1000, &milli))
				return bad(err, "--p99-delta: '%s' is not a percentage in 0..%s (up to 3 decimals)",
					   optarg, lim(num, GP_P99_DELTA_MAX));
			o->p99_delta = milli / 1000.0;
			break;
		case OPT_FAIL_DELTA:
			if (gp_parse_seconds_ms(optarg, GP_FAIL_DELTA_MAX * 1000, &milli))
				return bad(err, "--fail-delta: '%s' is not a number of percentage points in "
					   "0..%s (up to 3 decimals)", optarg, lim(num, GP_FAIL_DELTA_MAX));
			o->fail_delta = milli / 1000.0;
			break;
		case OPT_RECENT:
			if (num_opt(err, "recent", optarg, 0, GP_TOP_RECENT_MAX, &o->recent))
				return 2;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			o->cmd = GP_CMD_HELP;
			return 0;
		case OPT_VERSION:
			o->cmd = GP_CMD_VERSION;
			return 0;
		case ':':
			return bad(err, "%s needs a value%s", av[optind - 1], "");
		default:
			/* In a cluster such as -xv, optind has not moved past it yet. */
			if (optopt > 0 && optopt < 256 && !strchr("vhid", optopt)) {
				char flag[3] = { '-', (char)optopt, 0 };

				return bad(err, "unknown option '%s'%s", flag, "");
			}
			if (optopt && strchr(av[optind - 1], '='))
				return bad(err, "option '%s' takes no value%s", av[optind - 1], "");
			return bad(err, "unknown option '%s'%s", av[optind - 1], "");
		}
	}
	if (o->cmd == GP_CMD_REPLAY) {
		if (optind >= ac)
			return bad(err, "replay needs a capture file%s%s", "", "");
		o->replay_file = av[optind++];
		if (not_replay[0])
			return bad(err, "replay takes only --rules, --rule, -v and the capture file, not '%s'%s",
				   not_replay, "");
	}
	if (optind < ac)
		return bad(err, "unexpected argument '%s'%s", av[optind], "");
	if (o->cmd == GP_CMD_RUN && not_run[0])
		return bad(err, "'%s' is an option of top, not of run%s", not_run, "");
	if (o->cmd == GP_CMD_TOP && not_top[0])
		return bad(err, "top shows outcomes itself and does not take '%s'%s", not_top, "");
	if (o->cmd == GP_CMD_CHECK && not_check[0])
		return bad(err, "check takes only -v, --connect-hook, --state-hook and --tc-mode, not '%s'%s",
			   not_check, "");
	if (o->no_tc && (o->n_ifaces || o->egress))
		return bad(err, "-i none cannot be combined with other -i or --egress%s%s", "", "");
	return 0;
}
