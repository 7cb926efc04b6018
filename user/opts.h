/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_OPTS_H
#define GP_OPTS_H

#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

enum gp_cmd {
	GP_CMD_NONE, GP_CMD_RUN, GP_CMD_CHECK, GP_CMD_REPLAY, GP_CMD_TOP, GP_CMD_HELP, GP_CMD_VERSION,
};

/* How the classifier is hooked into an interface. */
enum gp_tc_mode {
	GP_TC_AUTO,	/* tcx where the kernel has it, else clsact */
	GP_TC_TCX,	/* BPF link (6.6+): gone with the process, never disturbs others */
	GP_TC_CLSACT,	/* cls_bpf filter in a clsact qdisc, via libbpf's bpf_tc_* */
	GP_TC_MAX,
};

/* Where a connect attempt's start is stamped. */
enum gp_connect_hook {
	GP_CONNECT_AUTO,
	GP_CONNECT_FENTRY,	/* fentry/tcp_connect */
	GP_CONNECT_KPROBE,	/* kprobe/tcp_connect */
	GP_CONNECT_STATE,	/* CLOSE->SYN_SENT seen by the state hook */
	GP_CONNECT_MAX,
};

/* Which flavour of the sock:inet_sock_set_state tracepoint we attach. */
enum gp_state_hook {
	GP_STATE_AUTO,
	GP_STATE_TP_BTF,
	GP_STATE_RAW_TP,
	GP_STATE_TRACEPOINT,	/* classic: needs tracefs for the event id */
	GP_STATE_MAX,
};

#define GP_INTERVAL_DEFAULT	15
#define GP_INTERVAL_MAX		3600
#define GP_DEFAULT_TEXTFILE_DIR	"/var/lib/prometheus/node-exporter"
#define GP_TEXTFILE_NAME	"grayprobe.prom"
#define GP_IFACES_MAX		64	/* -i patterns */
#define GP_RULE_FLAGS_MAX	64	/* --rule flags */
#define GP_TAG_WAIT_DEFAULT_MS	2000
#define GP_TAG_WAIT_MAX_MS	60000
#define GP_ENDPOINT_MEMORY_DEFAULT_S	600
#define GP_ENDPOINT_MEMORY_MAX_S	86400
#define GP_REFRESH_MIN_MS	1000	/* top -d, also its default */
#define GP_REFRESH_MAX_MS	3600000
#define GP_P99_DELTA_MAX	10000	/* top --p99-delta, percent */
#define GP_FAIL_DELTA_MAX	100	/* top --fail-delta, percentage points */
#define GP_LISTEN_HOST_MAX	256	/* --web.listen-address's HOST */

struct gp_opts {
	enum gp_cmd cmd;
	enum gp_cmd help_for;		/* GP_CMD_HELP: whose options (NONE: the commands') */
	const char *textfile;		/* NULL: gp_default_textfile() */
	unsigned interval;		/* seconds between textfile writes */
	int events_json;
	const char *netns;		/* NULL: every namespace */
	enum gp_connect_hook connect_hook;
	enum gp_state_hook state_hook;
	unsigned ringbuf_kb;
	unsigned max_tags;
	unsigned tag_idle_s;		/* --tag-idle: dynamic tags unused this long go; 0 never */
	int verbose;
	/* TC classifier: -i names or fnmatch patterns (none given: default route + lo). */
	const char *ifaces[GP_IFACES_MAX];
	size_t n_ifaces;
	int no_tc;			/* -i none: outcomes only, untagged */
	int egress;
	enum gp_tc_mode tc_mode;
	unsigned tag_wait_ms;
	unsigned endpoint_memory_s;	/* failures take their endpoint's last tag; 0: off */
	const char *rules_file;
	const char *rule_flags[GP_RULE_FLAGS_MAX];
	size_t n_rule_flags;
	const char *replay_file;	/* replay's FILE */
	const char *user;		/* --user: run as this user once attached */
	const char *web_listen;		/* --web.listen-address: NULL, off */
	/* top */
	unsigned refresh_ms;		/* -d */
	int once;			/* --once: print the table once, exit */
	double p99_delta;		/* percent: gray p99 over stable's by more is marked */
	double fail_delta;		/* percentage points, the same for failure ratios */
	unsigned recent;		/* outcomes kept for the recent pane */
};

/*
 * Parse argv. Returns 0 to go on with opts->cmd, or 2 after printing the
 * problem to err (bad usage: exit 2). --help and --version set cmd.
 */
int gp_opts_parse(int argc, char **argv, struct gp_opts *opts, FILE *err);
/* A command's options, or with GP_CMD_NONE the list of commands. */
void gp_usage(FILE *f, enum gp_cmd cmd);

/* Parse a decimal integer in [min, max]; 0 or -EINVAL / -ERANGE. */
int gp_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* "2", "0.5", "1.250": seconds with up to 3 decimals, as ms in [0, max_ms]. */
int gp_parse_seconds_ms(const char *s, unsigned max_ms, unsigned *out);
/* "600", "90s", "10m", "1h": whole seconds in [0, max_s]. 0 or -EINVAL / -ERANGE. */
int gp_parse_duration_s(const char *s, unsigned max_s, unsigned *out);

/* "HOST:PORT", "[V6]:PORT", ":PORT" (port 1..65535) split; 0 or -EINVAL. */
int gp_parse_listen(const char *s, char *host, size_t hlen, char *port, size_t plen);

const char *gp_connect_hook_name(enum gp_connect_hook h);
const char *gp_state_hook_name(enum gp_state_hook h);
const char *gp_default_textfile(void);
const char *gp_tc_mode_name(enum gp_tc_mode m);

#endif
