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

static const char *const connect_names[GP_CONNECT_MAX] = {
	"auto", "fentry", "kprobe", "tracepoint",
};
static const char *const state_names[GP_STATE_MAX] = {
	"auto", "tp_btf", "raw_tp", "tracepoint",
};

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
"Usage: grayprobe run [OPTIONS]     attach, aggregate, export until SIGINT/SIGTERM\n"
"       grayprobe check [-v]        show which kernel hooks work here, and what run would use\n"
"       grayprobe --help | --version\n"
"\n"
"grayprobe measures TCP connect latency (SYN sent to ESTABLISHED) and the outcome of every\n"
"attempt, per (direction, alpn, gray) tag, and exports them as a Prometheus textfile for\n"
"node_exporter's textfile collector and, optionally, as a JSON event stream on stdout.\n"
"Needs root, or CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8).\n"
"\n"
"Options for run:\n"
"  --textfile PATH      Prometheus textfile, rewritten atomically every interval\n"
"                       (default " GP_DEFAULT_TEXTFILE_DIR "/" GP_TEXTFILE_NAME "\n"
"                       when that directory exists, else ./" GP_TEXTFILE_NAME ")\n"
"  --interval SECONDS   textfile rewrite period, 1..%d (default %d)\n"
"  --events json|none   write one JSON object per connection outcome to stdout (default none)\n"
"  --netns PATH         only sockets of this network namespace, e.g. /run/netns/NAME or\n"
"                       /proc/PID/ns/net (default: every namespace)\n"
"  --connect-hook HOOK  where a connect starts: auto|fentry|kprobe|tracepoint (default auto:\n"
"                       the first that really loads and attaches, in that order)\n"
"  --state-hook HOOK    how inet_sock_set_state is seen: auto|tp_btf|raw_tp|tracepoint\n"
"                       (default auto, same rule)\n"
"  --ringbuf-kb N       kernel->user ring buffer size in KiB, a power of two, %d..%d\n"
"                       (default %d); overflow is counted in grayprobe_events_lost_total\n"
"  --max-tags N         distinct (alpn, gray) pairs per direction before folding into\n"
"                       alpn=\"other\",gray=\"other\", 1..%d (default %d)\n"
"  -v, --verbose        more detail; on a failed load, the verifier log tail (-vv: all of\n"
"                       libbpf's messages)\n"
"  -h, --help           this text\n"
"\n"
"Exit status: 0 on a clean stop, 1 on a runtime failure, 2 on bad usage.\n",
		GP_INTERVAL_MAX, GP_INTERVAL_DEFAULT, GP_RINGBUF_KB_MIN, GP_RINGBUF_KB_MAX,
		GP_RINGBUF_KB_DEFAULT, GP_MAX_TAGS_LIMIT, GP_MAX_TAGS_DEFAULT);
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
	OPT_STATE_HOOK, OPT_RINGBUF_KB, OPT_MAX_TAGS, OPT_VERSION,
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

	memset(o, 0, sizeof(*o));
	o->interval = GP_INTERVAL_DEFAULT;
	o->ringbuf_kb = GP_RINGBUF_KB_DEFAULT;
	o->max_tags = GP_MAX_TAGS_DEFAULT;

	if (argc < 2)
		return bad(err, "missing command%s%s", "", "");
	if (!strcmp(argv[1], "run"))
		o->cmd = GP_CMD_RUN;
	else if (!strcmp(argv[1], "check"))
		o->cmd = GP_CMD_CHECK;
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
	while ((c = getopt_long(ac, av, "+:vh", long_opts, NULL)) != -1) {
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
			if (i < 0)
				return bad(err, "--connect-hook: '%s' is not one of %s", optarg,
					   "auto, fentry, kprobe, tracepoint");
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
			if (optopt > 0 && optopt < 256 && !strchr("vh", optopt)) {
				char flag[3] = { '-', (char)optopt, 0 };

				return bad(err, "unknown option '%s'%s", flag, "");
			}
			if (optopt && strchr(av[optind - 1], '='))
				return bad(err, "option '%s' takes no value%s", av[optind - 1], "");
			return bad(err, "unknown option '%s'%s", av[optind - 1], "");
		}
	}
	if (optind < ac)
		return bad(err, "unexpected argument '%s'%s", av[optind], "");
	if (o->cmd == GP_CMD_CHECK &&
	    (o->textfile || o->events_json || o->netns))
		return bad(err, "check takes only -v, --connect-hook and --state-hook%s%s", "", "");
	return 0;
}
