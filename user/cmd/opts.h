/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_OPTS_H
#define GP_OPTS_H

#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

#include "collect/hooks.h"

enum gp_cmd {
	GP_CMD_NONE, GP_CMD_RUN, GP_CMD_CHECK, GP_CMD_REPLAY, GP_CMD_TOP, GP_CMD_HELP, GP_CMD_VERSION,
};

#define GP_INTERVAL_DEFAULT	15
#define GP_INTERVAL_MAX		3600
#define GP_DEFAULT_TEXTFILE_DIR	"/var/lib/prometheus/node-exporter"
#define GP_TEXTFILE_NAME	"grayprobe.prom"
#define GP_IFACES_MAX		64	/* -i patterns */
#define GP_RULE_FLAGS_MAX	64	/* --rule flags */
#define GP_SSL_LIBS_MAX		16	/* --ssl-lib flags */
#define GP_TAG_WAIT_DEFAULT_MS	2000
#define GP_TAG_WAIT_MAX_MS	60000
#define GP_ENDPOINT_MEMORY_DEFAULT_S	600
#define GP_ENDPOINT_MEMORY_MAX_S	86400
#define GP_REFRESH_MIN_MS	1000	/* top -d, also its default */
#define GP_REFRESH_MAX_MS	3600000
#define GP_P99_DELTA_MAX	10000	/* top --p99-delta, percent */
#define GP_FAIL_DELTA_MAX	100	/* top --fail-delta, percentage points */

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
	unsigned request_timeout_s;	/* --request-timeout: a request without response is "none" */
	int verbose;
	/* TC classifier: -i names or fnmatch patterns (none given: default route + lo). */
	const char *ifaces[GP_IFACES_MAX];
	size_t n_ifaces;
	int no_tc;			/* -i none: outcomes only, untagged */
	int egress;		/* --egress: the default, said explicitly */
	int ingress_only;
	enum gp_tc_mode tc_mode;
	unsigned tag_wait_ms;
	unsigned endpoint_memory_s;	/* failures take their endpoint's last tag; 0: off */
	const char *rules_file;
	const char *rule_flags[GP_RULE_FLAGS_MAX];
	size_t n_rule_flags;
	const char *replay_file;	/* replay's FILE */
	const char *user;		/* --user: run as this user once attached */
	const char *web_listen;		/* --web.listen-address: NULL, off */
	const char *ssl_libs[GP_SSL_LIBS_MAX];	/* --ssl-lib: files to put uprobes on too */
	size_t n_ssl_libs;
	int no_tls;			/* --no-tls: no OpenSSL uprobes */
	/* top */
	unsigned refresh_ms;		/* -d */
	int once;			/* --once: print the table once, exit */
	double p99_delta;		/* percent: gray p99 over stable's by more is marked */
	double fail_delta;		/* percentage points, the same for error rates */
	unsigned min_samples;		/* per side before a verdict */
	unsigned recent;		/* outcomes kept for the recent pane */
};

/*
 * Parse argv. Returns 0 to go on with opts->cmd, or 2 after printing the
 * problem to err (bad usage: exit 2). --help and --version set cmd.
 */
int gp_opts_parse(int argc, char **argv, struct gp_opts *opts, FILE *err);
/* A command's options, or with GP_CMD_NONE the list of commands. */
void gp_usage(FILE *f, enum gp_cmd cmd);

const char *gp_default_textfile(void);

#endif
