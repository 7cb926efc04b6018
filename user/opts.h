/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_OPTS_H
#define GP_OPTS_H

#include <stdio.h>

enum gp_cmd { GP_CMD_NONE, GP_CMD_RUN, GP_CMD_CHECK, GP_CMD_HELP, GP_CMD_VERSION };

/* Where a connect attempt's start is stamped. */
enum gp_connect_hook {
	GP_CONNECT_AUTO,
	GP_CONNECT_FENTRY,	/* fentry/tcp_connect */
	GP_CONNECT_KPROBE,	/* kprobe/tcp_connect */
	GP_CONNECT_TRACEPOINT,	/* CLOSE->SYN_SENT seen by the state hook */
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

struct gp_opts {
	enum gp_cmd cmd;
	const char *textfile;		/* NULL: gp_default_textfile() */
	unsigned interval;		/* seconds between textfile writes */
	int events_json;
	const char *netns;		/* NULL: every namespace */
	enum gp_connect_hook connect_hook;
	enum gp_state_hook state_hook;
	unsigned ringbuf_kb;
	unsigned max_tags;
	int verbose;
};

/*
 * Parse argv. Returns 0 to go on with opts->cmd, or 2 after printing the
 * problem to err (bad usage: exit 2). --help and --version set cmd.
 */
int gp_opts_parse(int argc, char **argv, struct gp_opts *opts, FILE *err);
void gp_usage(FILE *f);

/* Parse a decimal integer in [min, max]; 0 or -EINVAL / -ERANGE. */
int gp_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

const char *gp_connect_hook_name(enum gp_connect_hook h);
const char *gp_state_hook_name(enum gp_state_hook h);
const char *gp_default_textfile(void);

#endif
