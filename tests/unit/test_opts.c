// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command line: every mistake must exit 2 with one line that names the culprit. */
#define _GNU_SOURCE	/* open_memstream */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "grayprobe.h"
#include "cmd/opts.h"
#include "util/parse.h"

#define MAX_ARGS 32

struct parsed {
	int rc;
	struct gp_opts o;
	char *err;		/* what went to the err stream */
	char *argv[MAX_ARGS + 1];	/* kept alive: opts point into it */
};

/* Freed by the per-test teardown, so a failed assertion leaks nothing. */
static char **pool;
static size_t npool;

static char *keep(char *s)
{
	char **np;

	assert_non_null(s);
	np = realloc(pool, (npool + 1) * sizeof(*pool));
	assert_non_null(np);
	pool = np;
	pool[npool++] = s;
	return s;
}

static int free_pool(void **state)
{
	(void)state;
	while (npool)
		free(pool[--npool]);
	free(pool);
	pool = NULL;
	return 0;
}

/* argv[0] is supplied; the list ends with NULL. */
static void parse_v(struct parsed *p, va_list ap)
{
	size_t errlen = 0;
	const char *a;
	FILE *err;
	int argc = 0;

	memset(p, 0, sizeof(*p));
	p->argv[argc++] = keep(strdup("grayprobe"));
	while ((a = va_arg(ap, const char *))) {
		assert_true(argc < MAX_ARGS);
		p->argv[argc++] = keep(strdup(a));
	}
	p->argv[argc] = NULL;
	err = open_memstream(&p->err, &errlen);
	assert_non_null(err);
	/* Poison so the parser must set every field itself. */
	memset(&p->o, 0x5a, sizeof(p->o));
	p->rc = gp_opts_parse(argc, p->argv, &p->o, err);
	assert_int_equal(fclose(err), 0);
	keep(p->err);
}

static void parse(struct parsed *p, ...)
{
	va_list ap;

	va_start(ap, p);
	parse_v(p, ap);
	va_end(ap);
}

/*
 * rc 2, exactly "grayprobe: ...needle...\nTry 'grayprobe --help'.\n".
 * line is the caller's, since every case shares this one check.
 */
static void expect_usage_error_at(struct parsed *p, const char *needle, int line)
{
	static const char hint[] = "Try 'grayprobe --help'.\n";
	const char *e = p->err ? p->err : "", *nl = strchr(e, '\n');

	if (p->rc != 2)
		fail_msg("line %d: rc %d, want 2 (err: %s)", line, p->rc, e);
	if (strncmp(e, "grayprobe: ", 11) || !nl)
		fail_msg("line %d: not a grayprobe: line: %s", line, e);
	/* The needle must sit in the first line, not only in the hint. */
	if (!strstr(e, needle) || strstr(e, needle) > nl)
		fail_msg("line %d: first line lacks \"%s\": %.*s", line, needle,
			 (int)(nl - e), e);
	if (strcmp(nl + 1, hint))
		fail_msg("line %d: want one line then the hint, got: %s", line, e);
}

#define expect_usage_error(p, needle) expect_usage_error_at(p, needle, __LINE__)

/* Variadic wrappers so each case reads as a command line. */
#define PARSE(p, ...)	parse(p, __VA_ARGS__, (const char *)NULL)
#define BAD(needle, ...) do {				\
		struct parsed p_;			\
		PARSE(&p_, __VA_ARGS__);		\
		expect_usage_error(&p_, needle);	\
	} while (0)

/* gp_usage's text for cmd, freed by the teardown. */
static const char *usage_of(enum gp_cmd cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	gp_usage(f, cmd);
	assert_int_equal(fclose(f), 0);
	return keep(buf);
}

static void test_defaults(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_RUN);
	assert_null(p.o.textfile);
	assert_int_equal(p.o.interval, 15);
	assert_int_equal(p.o.events_json, 0);
	assert_null(p.o.netns);
	assert_int_equal(p.o.connect_hook, GP_CONNECT_AUTO);
	assert_int_equal(p.o.state_hook, GP_STATE_AUTO);
	assert_int_equal(p.o.ringbuf_kb, 1024);
	assert_int_equal(p.o.max_tags, 64);
	assert_int_equal(p.o.tag_idle_s, 600);
	assert_int_equal(p.o.request_timeout_s, 30);
	assert_int_equal(p.o.verbose, 0);
	/* TC classifier and tagging: default-route interfaces, ingress, wait 2 s. */
	assert_int_equal(p.o.n_ifaces, 0);
	assert_int_equal(p.o.no_tc, 0);
	assert_int_equal(p.o.egress, 0);
	assert_int_equal(p.o.tc_mode, GP_TC_AUTO);
	assert_int_equal(p.o.tag_wait_ms, 2000);
	assert_null(p.o.rules_file);
	assert_int_equal(p.o.n_rule_flags, 0);
	assert_null(p.o.replay_file);

	PARSE(&p, "check");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.cmd, GP_CMD_CHECK);
	assert_int_equal(p.o.interval, 15);
}

static void test_every_option(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run", "--textfile", "/tmp/x.prom", "--interval", "60", "--events", "json",
	      "--netns", "/run/netns/blue", "--connect-hook", "kprobe", "--state-hook", "raw_tp",
	      "--ringbuf-kb", "4096", "--max-tags", "4096", "-v", "--verbose", "-vv");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_RUN);
	assert_string_equal(p.o.textfile, "/tmp/x.prom");
	assert_int_equal(p.o.interval, 60);
	assert_int_equal(p.o.events_json, 1);
	assert_string_equal(p.o.netns, "/run/netns/blue");
	assert_int_equal(p.o.connect_hook, GP_CONNECT_KPROBE);
	assert_int_equal(p.o.state_hook, GP_STATE_RAW_TP);
	assert_int_equal(p.o.ringbuf_kb, 4096);
	assert_int_equal(p.o.max_tags, 4096);
	assert_int_equal(p.o.verbose, 4);
}

static void test_option_equals_form_and_last_wins(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run", "--interval=30", "--events=json", "--interval", "1",
	      "--interval=3600", "--ringbuf-kb=4", "--max-tags=1");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.interval, 3600);
	assert_int_equal(p.o.events_json, 1);
	assert_int_equal(p.o.ringbuf_kb, 4);
	assert_int_equal(p.o.max_tags, 1);

	PARSE(&p, "run", "--ringbuf-kb", "1048576");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.ringbuf_kb, GP_RINGBUF_KB_MAX);
}

static void test_events_last_wins(void **state)
{
	struct parsed p;

	(void)state;
	/* Like every other option, a later --events overrides an earlier one. */
	PARSE(&p, "run", "--events", "none");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.events_json, 0);
	PARSE(&p, "run", "--events", "none", "--events", "json");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.events_json, 1);
	PARSE(&p, "run", "--events", "json", "--events", "none");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.events_json, 0);
}

static void test_hook_names(void **state)
{
	static const char *const cn[] = { "auto", "fentry", "kprobe", "state" };
	static const char *const sn[] = { "auto", "tp_btf", "raw_tp", "tracepoint" };
	struct parsed p;
	int i;

	(void)state;
	for (i = 0; i < GP_CONNECT_MAX; i++) {
		PARSE(&p, "run", "--connect-hook", cn[i]);
		assert_int_equal(p.rc, 0);
		assert_int_equal(p.o.connect_hook, i);
		assert_string_equal(gp_connect_hook_name(p.o.connect_hook), cn[i]);
	}
	for (i = 0; i < GP_STATE_MAX; i++) {
		PARSE(&p, "check", "--state-hook", sn[i]);
		assert_int_equal(p.rc, 0);
		assert_int_equal(p.o.state_hook, i);
		assert_string_equal(gp_state_hook_name(p.o.state_hook), sn[i]);
	}
	PARSE(&p, "run", "--connect-hook", "tracepoint");	/* the former name of state */
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.connect_hook, GP_CONNECT_STATE);
	assert_string_equal(gp_connect_hook_name(GP_CONNECT_MAX), "?");
	assert_string_equal(gp_state_hook_name(GP_STATE_MAX), "?");
}

static void test_bad_interval(void **state)
{
	(void)state;
	BAD("--interval", "run", "--interval", "0");
	BAD("--interval", "run", "--interval", "3601");
	BAD("--interval", "run", "--interval", "-1");
	BAD("--interval", "run", "--interval", "5x");
	BAD("--interval", "run", "--interval", "");
	BAD("--interval", "run", "--interval", " 5");
	BAD("--interval", "run", "--interval=99999999999999999999999");
	/* The message also quotes the offending value and the allowed range. */
	BAD("'3601' is not a whole number in 1..3600", "run", "--interval", "3601");
}

static void test_bad_ringbuf(void **state)
{
	(void)state;
	/* 3 is also below the minimum: the range check speaks first. */
	BAD("--ringbuf-kb", "run", "--ringbuf-kb", "3");
	BAD("--ringbuf-kb", "run", "--ringbuf-kb", "2");
	BAD("4..1048576", "run", "--ringbuf-kb", "2");
	BAD("--ringbuf-kb", "run", "--ringbuf-kb", "0");
	BAD("--ringbuf-kb", "run", "--ringbuf-kb", "2097152");
	/* In range but not a power of two. */
	BAD("--ringbuf-kb: '12' is not a power of two", "run", "--ringbuf-kb", "12");
	BAD("--ringbuf-kb: '1048575' is not a power of two", "run", "--ringbuf-kb", "1048575");
}

static void test_bad_max_tags(void **state)
{
	(void)state;
	BAD("--max-tags", "run", "--max-tags", "0");
	BAD("--max-tags", "run", "--max-tags", "4097");
}

static void test_bad_words(void **state)
{
	(void)state;
	BAD("--connect-hook: 'bogus'", "run", "--connect-hook", "bogus");
	BAD("--connect-hook: 'AUTO'", "run", "--connect-hook", "AUTO");
	/* A state-hook name is not a connect-hook name, and vice versa. */
	BAD("--connect-hook: 'tp_btf'", "run", "--connect-hook", "tp_btf");
	BAD("--state-hook: 'bogus'", "run", "--state-hook", "bogus");
	BAD("--state-hook: 'fentry'", "check", "--state-hook", "fentry");
	BAD("--events: 'xml'", "run", "--events", "xml");
	BAD("--textfile needs a path", "run", "--textfile", "");
	BAD("--netns needs a path", "run", "--netns", "");
}

static void test_unknown_option(void **state)
{
	(void)state;
	BAD("unknown option '--bogus'", "run", "--bogus");
	BAD("unknown option '-x'", "run", "-x");
	BAD("unknown option '--bogus'", "check", "-v", "--bogus", "x");
}

static void test_unknown_short_option_in_cluster(void **state)
{
	(void)state;
	/* The bad letter comes first in its cluster: the message must still name it. */
	BAD("unknown option '-x", "run", "-xv");
}

static void test_missing_value(void **state)
{
	(void)state;
	BAD("--textfile needs a value", "run", "--textfile");
	BAD("--interval needs a value", "run", "-v", "--interval");
	BAD("--state-hook needs a value", "check", "--state-hook");
}

static void test_positional_and_commands(void **state)
{
	struct parsed p;

	(void)state;
	BAD("unexpected argument 'foo'", "run", "foo");
	/* Options after a stray word are not silently parsed as options. */
	BAD("unexpected argument 'foo'", "run", "-v", "foo", "--interval", "5");
	BAD("unexpected argument 'foo'", "run", "--", "foo");
	BAD("unknown command 'start'", "start");
	BAD("unknown command '--interval'", "--interval", "5");
	BAD("unknown command ''", "");

	/* No command at all: argc == 1. */
	PARSE(&p, (const char *)NULL);
	expect_usage_error(&p, "missing command");
}

static void test_check_rejects_run_options(void **state)
{
	struct parsed p;

	(void)state;
	BAD("check takes only", "check", "--textfile", "x");
	BAD("check takes only", "check", "--netns", "/run/netns/x");
	BAD("check takes only", "check", "--events", "json");
	/* The list comes from the option table, the option as it was typed. */
	BAD("check takes only --tc-mode, --connect-hook, --state-hook and -v, not '--interface'",
	    "check", "--interface=eth0");
	BAD("'--events' is an option of run, not of top", "top", "--events", "json");
	PARSE(&p, "check", "-v", "--connect-hook", "fentry", "--state-hook", "tracepoint");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_CHECK);
	assert_int_equal(p.o.verbose, 1);
	assert_int_equal(p.o.connect_hook, GP_CONNECT_FENTRY);
	assert_int_equal(p.o.state_hook, GP_STATE_TRACEPOINT);
}

static void expect_cmd(enum gp_cmd cmd, ...)
{
	struct parsed p;
	va_list ap;

	va_start(ap, cmd);
	parse_v(&p, ap);
	va_end(ap);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, cmd);
}

static void test_help_and_version(void **state)
{
	(void)state;
	expect_cmd(GP_CMD_HELP, "--help", NULL);
	expect_cmd(GP_CMD_HELP, "-h", NULL);
	expect_cmd(GP_CMD_HELP, "help", NULL);
	expect_cmd(GP_CMD_HELP, "run", "--help", NULL);
	expect_cmd(GP_CMD_HELP, "run", "-h", NULL);
	expect_cmd(GP_CMD_HELP, "check", "-v", "-h", NULL);
	/* Help wins over later mistakes: the user asked how to fix them. */
	expect_cmd(GP_CMD_HELP, "run", "--help", "--interval", "0", NULL);
	expect_cmd(GP_CMD_HELP, "--help", "bogus", NULL);
	expect_cmd(GP_CMD_VERSION, "--version", NULL);
	expect_cmd(GP_CMD_VERSION, "version", NULL);
	expect_cmd(GP_CMD_VERSION, "run", "--version", NULL);
}

static void test_parse_is_repeatable(void **state)
{
	struct parsed p;

	(void)state;
	/* getopt keeps state between calls; a second parse must start clean. */
	BAD("unknown option", "run", "-vx");
	PARSE(&p, "run", "-v", "--interval", "7");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.verbose, 1);
	assert_int_equal(p.o.interval, 7);
	PARSE(&p, "run", "-v", "--interval", "7");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.verbose, 1);
	assert_int_equal(p.o.interval, 7);
}

static void test_parse_uint(void **state)
{
	unsigned long v;

	(void)state;
	v = 77;
	assert_int_equal(gp_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(gp_parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(gp_parse_uint("1", 1, 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(gp_parse_uint("007", 1, 10, &v), 0);
	assert_int_equal(v, 7);

	v = 77;
	assert_int_equal(gp_parse_uint("11", 0, 10, &v), -ERANGE);
	assert_int_equal(gp_parse_uint("4", 5, 10, &v), -ERANGE);
	assert_int_equal(gp_parse_uint("99999999999999999999999", 0, ULONG_MAX, &v), -ERANGE);
	assert_int_equal(gp_parse_uint("18446744073709551616", 0, ULONG_MAX, &v), -ERANGE);
	assert_int_equal(v, 77);	/* untouched on failure */

	assert_int_equal(gp_parse_uint(" 5", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("\t5", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("+5", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("-5", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("-0", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("5 ", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("5x", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("0x5", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint("", 0, 10, &v), -EINVAL);
	assert_int_equal(gp_parse_uint(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(v, 77);

	/* The whole unsigned long range is reachable. */
	assert_int_equal(gp_parse_uint("18446744073709551615", 0, ULONG_MAX, &v), 0);
	assert_true(v == ULONG_MAX);
}

static void test_usage_and_default_textfile(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	FILE *f;
	const char *def;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	gp_usage(f, GP_CMD_RUN);
	assert_int_equal(fclose(f), 0);
	assert_true(strncmp(buf, "Usage: grayprobe run", 20) == 0);
	/* The numbers in the help text come from the same constants as the checks. */
	assert_non_null(strstr(buf, "1..3600 (default 15)"));
	assert_non_null(strstr(buf, "4..1048576\n                       (default 1024)"));
	assert_non_null(strstr(buf, "1..4096 (default 64)"));
	free(buf);

	def = gp_default_textfile();
	if (!stat(GP_DEFAULT_TEXTFILE_DIR, &st) && S_ISDIR(st.st_mode))
		assert_string_equal(def, GP_DEFAULT_TEXTFILE_DIR "/grayprobe.prom");
	else
		assert_string_equal(def, "./grayprobe.prom");
}

static void test_interface_and_tc_flags(void **state)
{
	static const char *const modes[] = { "auto", "tcx", "clsact" };
	struct parsed p;
	int i;

	(void)state;
	PARSE(&p, "run", "-i", "eth0", "--interface", "veth*", "--interface=lo", "-ieth1",
	      "--egress", "--tc-mode", "clsact");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.n_ifaces, 4);
	assert_string_equal(p.o.ifaces[0], "eth0");
	assert_string_equal(p.o.ifaces[1], "veth*");	/* a pattern, matched later */
	assert_string_equal(p.o.ifaces[2], "lo");
	assert_string_equal(p.o.ifaces[3], "eth1");
	assert_int_equal(p.o.no_tc, 0);
	assert_int_equal(p.o.egress, 1);
	assert_int_equal(p.o.ingress_only, 0);
	assert_int_equal(p.o.tc_mode, GP_TC_CLSACT);

	/* Egress is hooked by default; --ingress-only turns it off. */
	PARSE(&p, "run", "-i", "eth0", "--ingress-only");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.ingress_only, 1);
	assert_int_equal(p.o.egress, 0);

	PARSE(&p, "run", "-i", "none");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.no_tc, 1);
	assert_int_equal(p.o.n_ifaces, 0);

	for (i = 0; i < GP_TC_MAX; i++) {
		PARSE(&p, "run", "--tc-mode", modes[i]);
		assert_int_equal(p.rc, 0);
		assert_int_equal(p.o.tc_mode, i);
		assert_string_equal(gp_tc_mode_name(p.o.tc_mode), modes[i]);
	}
	assert_string_equal(gp_tc_mode_name(GP_TC_MAX), "?");
}

static void test_interface_limits(void **state)
{
	char *argv[2 * GP_IFACES_MAX + 5];	/* command, 65 -i pairs, NULL */
	struct parsed p;
	FILE *err;
	size_t errlen = 0;
	char *msg = NULL;
	int argc = 0, i;

	(void)state;
	BAD("-i needs an interface name or pattern", "run", "-i", "");
	BAD("-i needs a value", "run", "-i");
	BAD("--interface needs a value", "run", "--interface");

	/* 64 -i are fine, the 65th is not. */
	argv[argc++] = keep(strdup("grayprobe"));
	argv[argc++] = keep(strdup("run"));
	for (i = 0; i < GP_IFACES_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "veth%d", i);
		argv[argc++] = keep(strdup("-i"));
		argv[argc++] = keep(strdup(name));
	}
	argv[argc] = NULL;
	err = open_memstream(&msg, &errlen);
	assert_non_null(err);
	assert_int_equal(gp_opts_parse(argc, argv, &p.o, err), 0);
	assert_int_equal(fclose(err), 0);
	keep(msg);
	assert_int_equal(p.o.n_ifaces, GP_IFACES_MAX);
	assert_string_equal(p.o.ifaces[GP_IFACES_MAX - 1], "veth63");

	argv[argc++] = keep(strdup("-i"));
	argv[argc++] = keep(strdup("one-more"));
	argv[argc] = NULL;
	msg = NULL;
	err = open_memstream(&msg, &errlen);
	assert_non_null(err);
	p.rc = gp_opts_parse(argc, argv, &p.o, err);
	assert_int_equal(fclose(err), 0);
	p.err = keep(msg);
	expect_usage_error(&p, "-i: more than 64 interfaces");
}

static void test_interface_none_is_alone(void **state)
{
	(void)state;
	BAD("-i none cannot be combined", "run", "-i", "none", "-i", "eth0");
	BAD("-i none cannot be combined", "run", "-i", "eth0", "-i", "none");
	BAD("-i none cannot be combined", "run", "-i", "none", "--egress");
	BAD("-i none cannot be combined", "run", "--egress", "--interface=none");
	BAD("-i none cannot be combined", "run", "-i", "none", "--ingress-only");
	BAD("--egress and --ingress-only cannot be combined", "run", "--egress", "--ingress-only");
}

static void test_bad_tc_mode(void **state)
{
	(void)state;
	BAD("--tc-mode: 'bogus' is not one of auto, tcx, clsact", "run", "--tc-mode", "bogus");
	BAD("--tc-mode: 'TCX'", "run", "--tc-mode", "TCX");
	BAD("--tc-mode: ''", "check", "--tc-mode", "");
	BAD("--tc-mode needs a value", "run", "--tc-mode");
	/* --egress is a switch. */
	BAD("option '--egress=1' takes no value", "run", "--egress=1");
}

static void test_tag_wait(void **state)
{
	static const struct { const char *arg; unsigned ms; } ok[] = {
		{ "0.5", 500 }, { "1.250", 1250 }, { "1.25", 1250 }, { "1.2", 1200 },
		{ "60", 60000 }, { "60.000", 60000 }, { "0", 0 }, { "0.000", 0 }, { "0.001", 1 },
		{ "2", 2000 }, { "007.5", 7500 }, { "59.999", 59999 },
	};
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		PARSE(&p, "run", "--tag-wait", ok[i].arg);
		if (p.rc)
			fail_msg("--tag-wait %s refused: %s", ok[i].arg, p.err);
		assert_int_equal(p.o.tag_wait_ms, ok[i].ms);
	}
	PARSE(&p, "run", "--tag-wait=0.75", "--tag-wait", "3");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.tag_wait_ms, 3000);
}

/* run OPT VALUE refused, naming OPT and the value, for each of bad[n]. */
static void expect_bad_values(const char *opt, const char *const *bad, size_t n)
{
	char needle[64];
	size_t i;

	for (i = 0; i < n; i++) {
		struct parsed p;

		PARSE(&p, "run", opt, bad[i]);
		snprintf(needle, sizeof(needle), "%s: '%s'", opt, bad[i]);
		expect_usage_error(&p, needle);
	}
}

static void test_bad_tag_wait(void **state)
{
	static const char *const bad[] = {
		"60.001", "61", "-1", "1.", ".5", "abc", "", "1.2345", "0.0001", "1e3", " 1",
		"1 ", "1.5x", "1.-5", "1.2.3", "0x1", "+1", "99999999999999999999", "1,5",
	};

	(void)state;
	expect_bad_values("--tag-wait", bad, sizeof(bad) / sizeof(bad[0]));
	/* The message says what is allowed. */
	BAD("is not a number of seconds in 0..60 (up to 3 decimals)", "run", "--tag-wait", "-1");
	BAD("--tag-wait needs a value", "run", "--tag-wait");
}

static void test_endpoint_memory(void **state)
{
	static const struct { const char *arg; unsigned s; } ok[] = {
		{ "600", 600 }, { "90s", 90 }, { "10m", 600 }, { "1h", 3600 }, { "0", 0 },
		{ "0s", 0 }, { "0h", 0 }, { "24h", 86400 }, { "1440m", 86400 }, { "86400", 86400 },
		{ "007m", 420 },
	};
	struct parsed p;
	size_t i;

	(void)state;
	PARSE(&p, "run");
	assert_int_equal(p.o.endpoint_memory_s, 600);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		PARSE(&p, "run", "--endpoint-memory", ok[i].arg);
		if (p.rc)
			fail_msg("--endpoint-memory %s refused: %s", ok[i].arg, p.err);
		assert_int_equal(p.o.endpoint_memory_s, ok[i].s);
	}
	PARSE(&p, "top", "--endpoint-memory=0");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.endpoint_memory_s, 0);
	BAD("check takes only", "check", "--endpoint-memory", "0");
	BAD("replay takes only", "replay", "--endpoint-memory", "0", "x.pcap");
}

static void test_bad_endpoint_memory(void **state)
{
	static const char *const bad[] = {
		"86401", "25h", "1441m", "-1", "", "s", "m", "1d", "1.5m", "1 m", " 1", "1ms", "1hh",
		"0x10", "+1", "99999999999999999999h", "4294967296", "1H", "m1",
	};

	(void)state;
	expect_bad_values("--endpoint-memory", bad, sizeof(bad) / sizeof(bad[0]));
	BAD("is not a duration such as 600, 90s, 10m, 1h or 0, at most 86400s", "run", "--endpoint-memory", "2d");
	BAD("--endpoint-memory needs a value", "run", "--endpoint-memory");
}

static void test_tag_idle(void **state)
{
	static const struct { const char *arg; unsigned s; } ok[] = {
		{ "600", 600 }, { "90s", 90 }, { "10m", 600 }, { "1h", 3600 }, { "0", 0 },
		{ "0s", 0 }, { "2s", 2 }, { "168h", 7 * 86400 }, { "604800", 604800 },
	};
	static const char *const bad[] = {
		"", "s", "m", "-1", "10x", "1.5m", "10 m", " 10", "1d", "169h", "604801",
		"99999999999999999999h", "+5", "10M", "5ms", "h1",
	};
	char needle[64];
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		PARSE(&p, "run", "--tag-idle", ok[i].arg);
		if (p.rc)
			fail_msg("--tag-idle %s refused: %s", ok[i].arg, p.err);
		assert_int_equal(p.o.tag_idle_s, ok[i].s);
	}
	PARSE(&p, "top", "--tag-idle=2s");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.tag_idle_s, 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PARSE(&p, "run", "--tag-idle", bad[i]);
		snprintf(needle, sizeof(needle), "--tag-idle: '%s' is not a duration", bad[i]);
		expect_usage_error(&p, needle);
	}
	BAD("such as 600, 90s, 10m, 1h or 0, at most 604800s", "run", "--tag-idle", "8d");
	BAD("replay takes only --rules, --rule, -v and the capture file, not '--tag-idle'",
	    "replay", "--tag-idle", "1m", "x.pcap");
}

static void test_request_timeout(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run", "--request-timeout", "45s");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.request_timeout_s, 45);
	PARSE(&p, "top", "--request-timeout=1h");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.request_timeout_s, 3600);
	PARSE(&p, "run", "--request-timeout", "1");
	assert_int_equal(p.o.request_timeout_s, 1);
	BAD("--request-timeout: '0' is below 1s", "run", "--request-timeout", "0");
	BAD("--request-timeout: '3601' is not a duration such as 600, 90s, 10m, 1h or 0, "
	    "at most 3600s", "run", "--request-timeout", "3601");
	BAD("--request-timeout: '5ms' is not a duration", "run", "--request-timeout", "5ms");
	BAD("replay takes only --rules, --rule, -v and the capture file, not '--request-timeout'",
	    "replay", "--request-timeout", "1m", "x.pcap");
}

static void test_parse_seconds_ms(void **state)
{
	unsigned v;

	(void)state;
	/* A bound that is no whole second. */
	assert_int_equal(gp_parse_seconds_ms("1.5", 1500, &v), 0);
	assert_int_equal(v, 1500);
	v = 77;
	assert_true(gp_parse_seconds_ms("1.501", 1500, &v) < 0);
	assert_true(gp_parse_seconds_ms("2", 1500, &v) < 0);
	assert_true(gp_parse_seconds_ms("1", 999, &v) < 0);
	assert_int_equal(v, 77);	/* untouched on failure */
	assert_int_equal(gp_parse_seconds_ms("0.999", 999, &v), 0);
	assert_int_equal(v, 999);
	assert_int_equal(gp_parse_seconds_ms("4294967", 4294967295u, &v), 0);
	assert_int_equal(v, 4294967000u);
	assert_int_equal(gp_parse_seconds_ms("4294967.295", 4294967295u, &v), 0);
	assert_true(v == 4294967295u);
}

static void test_rule_flags(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run", "--rules", "/etc/grayprobe/rules", "--rule", "dport 443 = canary",
	      "--rule=header x-user", "--rule", "");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.rules_file, "/etc/grayprobe/rules");
	assert_int_equal(p.o.n_rule_flags, 3);
	assert_string_equal(p.o.rule_flags[0], "dport 443 = canary");
	assert_string_equal(p.o.rule_flags[1], "header x-user");
	assert_string_equal(p.o.rule_flags[2], "");
	BAD("--rules needs a path", "run", "--rules", "");
	BAD("--rule needs a value", "run", "--rule");
}

/* --ssl-lib is repeatable; --no-tls is a switch of run and top that excludes it. */
static void test_tls_flags(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "run", "--ssl-lib", "/opt/app/lib/libssl.so.3", "--ssl-lib=/usr/lib64/libssl.so.1.1");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.n_ssl_libs, 2);
	assert_string_equal(p.o.ssl_libs[0], "/opt/app/lib/libssl.so.3");
	assert_string_equal(p.o.ssl_libs[1], "/usr/lib64/libssl.so.1.1");
	assert_int_equal(p.o.no_tls, 0);
	PARSE(&p, "top", "--no-tls", "--once");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.no_tls, 1);
	assert_int_equal(p.o.n_ssl_libs, 0);
	BAD("--ssl-lib needs a path", "run", "--ssl-lib", "");
	BAD("--no-tls cannot be combined with --ssl-lib", "run", "--no-tls", "--ssl-lib", "/x");
	BAD("replay takes only --rules, --rule, -v and the capture file, not '--no-tls'", "replay",
	    "--no-tls", "f.pcap");
	BAD("option '--no-tls=1' takes no value", "run", "--no-tls=1");
}

static void test_rule_flags_limit(void **state)
{
	char *argv[2 * (GP_RULE_FLAGS_MAX + 1) + 3];	/* command, 65 pairs, NULL */
	struct parsed p;
	size_t errlen = 0;
	char *msg = NULL;
	FILE *err;
	int argc = 0, i;

	(void)state;
	argv[argc++] = keep(strdup("grayprobe"));
	argv[argc++] = keep(strdup("run"));
	for (i = 0; i <= GP_RULE_FLAGS_MAX; i++) {
		argv[argc++] = keep(strdup("--rule"));
		argv[argc++] = keep(strdup("dport 443 = canary"));
	}
	argv[argc] = NULL;
	err = open_memstream(&msg, &errlen);
	assert_non_null(err);
	/* The 64 before the last are accepted... */
	assert_int_equal(gp_opts_parse(argc - 2, argv, &p.o, err), 0);
	assert_int_equal(p.o.n_rule_flags, GP_RULE_FLAGS_MAX);
	assert_int_equal(fclose(err), 0);
	keep(msg);
	/* ...the 65th is not, and the message points to the file. */
	msg = NULL;
	err = open_memstream(&msg, &errlen);
	assert_non_null(err);
	p.rc = gp_opts_parse(argc, argv, &p.o, err);
	assert_int_equal(fclose(err), 0);
	p.err = keep(msg);
	expect_usage_error(&p, "--rule: more than 64 given; use --rules FILE");
}

static void test_check_rejects_tagging_options(void **state)
{
	struct parsed p;

	(void)state;
	BAD("check takes only", "check", "-i", "eth0");
	BAD("check takes only", "check", "-i", "none");
	BAD("check takes only", "check", "--egress");
	BAD("check takes only", "check", "--rules", "/etc/grayprobe/rules");
	BAD("check takes only", "check", "--rule", "dport 443 = canary");
	PARSE(&p, "check", "--tc-mode", "tcx");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.cmd, GP_CMD_CHECK);
	assert_int_equal(p.o.tc_mode, GP_TC_TCX);
}

static void test_replay(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "replay", "capture.pcap");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_REPLAY);
	assert_string_equal(p.o.replay_file, "capture.pcap");
	assert_int_equal(p.o.n_rule_flags, 0);

	PARSE(&p, "replay", "--rules", "r.txt", "--rule", "sni *.canary.example.com = canary",
	      "-vv", "--", "-odd-name.pcapng");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_REPLAY);
	assert_string_equal(p.o.replay_file, "-odd-name.pcapng");
	assert_string_equal(p.o.rules_file, "r.txt");
	assert_int_equal(p.o.n_rule_flags, 1);
	assert_int_equal(p.o.verbose, 2);

	expect_cmd(GP_CMD_HELP, "replay", "--help", NULL);
}

static void test_replay_needs_one_file(void **state)
{
	(void)state;
	BAD("replay needs a capture file", "replay");
	BAD("replay needs a capture file", "replay", "-v", "--rule", "dport 443 = canary");
	BAD("unexpected argument 'b.pcap'", "replay", "a.pcap", "b.pcap");
}

static void test_replay_rejects_run_options(void **state)
{
	(void)state;
	BAD("replay takes only --rules, --rule, -v and the capture file", "replay",
	    "--textfile", "/tmp/x.prom", "a.pcap");
	BAD("replay takes only", "replay", "--events", "json", "a.pcap");
	BAD("replay takes only", "replay", "--netns", "/run/netns/blue", "a.pcap");
	BAD("replay takes only", "replay", "-i", "eth0", "a.pcap");
	BAD("replay takes only", "replay", "-i", "none", "a.pcap");
	BAD("replay takes only", "replay", "--egress", "a.pcap");
	BAD("replay takes only", "replay", "--tc-mode", "tcx", "a.pcap");
	BAD("replay takes only", "replay", "--connect-hook", "kprobe", "a.pcap");
	BAD("replay takes only", "replay", "--state-hook", "raw_tp", "a.pcap");
}

/* "Only --rules, --rule, -v and the file": the numeric run options too. */
static void test_replay_rejects_numeric_run_options(void **state)
{
	(void)state;
	BAD("replay takes only", "replay", "--interval", "5", "a.pcap");
	BAD("replay takes only", "replay", "--ringbuf-kb", "64", "a.pcap");
	BAD("replay takes only", "replay", "--max-tags", "8", "a.pcap");
	BAD("replay takes only", "replay", "--tag-wait", "1", "a.pcap");
}

/* An option given its default value is still an option replay does not take. */
static void test_replay_rejects_options_at_their_default(void **state)
{
	(void)state;
	BAD("replay takes only", "replay", "--events", "none", "a.pcap");
	BAD("replay takes only", "replay", "--tc-mode", "auto", "a.pcap");
	BAD("replay takes only", "replay", "--connect-hook", "auto", "a.pcap");
	BAD("replay takes only", "replay", "--state-hook", "auto", "a.pcap");
}

/* --help must tell about what the parser accepts. */
static void test_usage_documents_tagging_flags_and_replay(void **state)
{
	static const char *const words[] = {
		"-i, --interface", "--egress", "--tc-mode", "--tag-wait", "--rules FILE", "--rule ",
	};
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	(void)state;
	assert_non_null(strstr(usage_of(GP_CMD_NONE), "grayprobe replay [OPTIONS] FILE"));
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	gp_usage(f, GP_CMD_RUN);
	assert_int_equal(fclose(f), 0);
	keep(buf);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(buf, words[i]))
			fail_msg("usage does not mention \"%s\"", words[i]);
}

/* top: run's flags but --events, plus its own; its own are refused elsewhere. */
static void test_top(void **state)
{
	struct parsed p;

	(void)state;
	PARSE(&p, "top");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_TOP);
	assert_null(p.o.textfile);	/* top writes none unless asked */
	assert_int_equal(p.o.refresh_ms, 1000);
	assert_int_equal(p.o.once, 0);
	assert_true(p.o.p99_delta == 8);
	assert_true(p.o.fail_delta == 2);
	assert_int_equal(p.o.min_samples, 20);
	assert_int_equal(p.o.recent, 20);

	PARSE(&p, "top", "-i", "veth*", "--egress", "--rules", "r", "--rule", "alpn h2 = x",
	      "--netns", "/run/netns/b", "--textfile", "/tmp/t.prom", "--interval", "5",
	      "-d", "2.5", "--once", "--p99-delta", "12.5", "--fail-delta", "0.25",
	      "--recent", "0", "--tag-wait", "1", "-v");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.o.cmd, GP_CMD_TOP);
	assert_int_equal(p.o.n_ifaces, 1);
	assert_int_equal(p.o.egress, 1);
	assert_string_equal(p.o.rules_file, "r");
	assert_string_equal(p.o.textfile, "/tmp/t.prom");
	assert_int_equal(p.o.interval, 5);
	assert_int_equal(p.o.refresh_ms, 2500);
	assert_int_equal(p.o.once, 1);
	assert_true(p.o.p99_delta == 12.5);
	assert_true(p.o.fail_delta == 0.25);
	assert_int_equal(p.o.recent, 0);
	PARSE(&p, "top", "-d1", "--p99-delta=0", "--fail-delta", "100", "--recent=1000");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.refresh_ms, 1000);
	assert_true(p.o.p99_delta == 0);
	assert_true(p.o.fail_delta == 100);
	assert_int_equal(p.o.recent, 1000);
	PARSE(&p, "top", "-d", "3600", "--p99-delta", "10000");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.o.refresh_ms, 3600000);
	assert_true(p.o.p99_delta == 10000);
}

static void test_bad_top(void **state)
{
	(void)state;
	BAD("-d: '0.5' is not a number of seconds in 1..3600", "top", "-d", "0.5");
	BAD("-d: '0' is not", "top", "-d", "0");
	BAD("-d: '3600.001' is not", "top", "-d", "3600.001");
	BAD("-d: 'x' is not", "top", "-d", "x");
	BAD("-d needs a value", "top", "-d");
	BAD("--p99-delta: '10001' is not a percentage in 0..10000", "top", "--p99-delta", "10001");
	BAD("--p99-delta: '-1' is not", "top", "--p99-delta", "-1");
	BAD("--fail-delta: '100.5' is not a number of percentage points in 0..100", "top",
	    "--fail-delta", "100.5");
	BAD("--recent: '1001' is not a whole number in 0..1000", "top", "--recent", "1001");
	BAD("--once", "top", "--once=yes");
	/* The event stream would land in the middle of the screen. */
	BAD("'--events' is an option of run, not of top", "top", "--events", "none");
	/* top's flags are not run's, check's or replay's. */
	BAD("'-d' is an option of top, not of run", "run", "-d", "2");
	BAD("'--once' is an option of top, not of run", "run", "--once");
	BAD("'--recent' is an option of top", "run", "--recent", "5");
	BAD("'--p99-delta' is an option of top", "run", "--p99-delta", "5");
	BAD("'--fail-delta' is an option of top", "run", "--fail-delta", "5");
	BAD("check takes only", "check", "--once");
	BAD("check takes only", "check", "-d", "2");
	BAD("replay takes only", "replay", "--recent", "3", "a.pcap");
	BAD("unknown option '-x'", "top", "-x");
}

static void test_usage_documents_top(void **state)
{
	static const char *const words[] = {
		"grayprobe top", "-d SECONDS", "--once", "--p99-delta PCT", "--fail-delta PP",
		"--recent N", "PCT % above", "(default 8)", "(default 2)", "every result but established",
		"--min-samples N", "5xx, reset, none", "gRPC: not",
	};
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	gp_usage(f, GP_CMD_TOP);
	assert_int_equal(fclose(f), 0);
	keep(buf);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(buf, words[i]))
			fail_msg("usage does not mention \"%s\"", words[i]);
}

/* Each command's --help shows its own options only; the bare --help the commands. */
static void test_usage_per_command(void **state)
{
	static const struct { enum gp_cmd cmd; const char *has, *lacks; } cases[] = {
		{ GP_CMD_NONE, "grayprobe COMMAND --help", "--connect-hook" },
		{ GP_CMD_NONE, "grayprobe check [OPTIONS]", "--textfile" },
		{ GP_CMD_RUN, "--events json|none", "--once" },
		{ GP_CMD_RUN, "--textfile PATH      Prometheus textfile", "-d SECONDS" },
		{ GP_CMD_TOP, "--once", "--events" },
		{ GP_CMD_TOP, "--textfile PATH      keep writing the textfile too", "Prometheus textfile," },
		{ GP_CMD_REPLAY, "--rules FILE", "--interface" },
		{ GP_CMD_REPLAY, "Usage: grayprobe replay [OPTIONS] FILE", "--tc-mode" },
		{ GP_CMD_CHECK, "--connect-hook HOOK", "--rules" },
		{ GP_CMD_CHECK, "-v, --verbose", "--textfile" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *u = usage_of(cases[i].cmd);

		if (!strstr(u, cases[i].has))
			fail_msg("help of %d lacks \"%s\"", cases[i].cmd, cases[i].has);
		if (strstr(u, cases[i].lacks))
			fail_msg("help of %d has \"%s\"", cases[i].cmd, cases[i].lacks);
	}
}

static void test_help_for(void **state)
{
	static const struct { const char *a, *b; enum gp_cmd want; } cases[] = {
		{ "run", "--help", GP_CMD_RUN }, { "top", "-h", GP_CMD_TOP },
		{ "replay", "--help", GP_CMD_REPLAY }, { "check", "-h", GP_CMD_CHECK },
		{ "help", "check", GP_CMD_CHECK }, { "--help", "top", GP_CMD_TOP },
		{ "help", "bogus", GP_CMD_NONE }, { "--help", NULL, GP_CMD_NONE },
	};
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PARSE(&p, cases[i].a, cases[i].b);
		assert_int_equal(p.rc, 0);
		assert_int_equal(p.o.cmd, GP_CMD_HELP);
		assert_int_equal(p.o.help_for, cases[i].want);
	}
}

static void test_listen_address(void **state)
{
	static const struct { const char *arg, *host, *port; } ok[] = {
		{ ":9435", "", "9435" }, { "127.0.0.1:9435", "127.0.0.1", "9435" },
		{ "[::1]:80", "::1", "80" }, { "localhost:1", "localhost", "1" },
		{ "[fd00:198:18::1]:65535", "fd00:198:18::1", "65535" }, { ":09435", "", "9435" },
	};
	static const char *const bad[] = {
		"", "9435", ":", ":0", ":65536", "host:", "::1:9435", "[::1:9435", "[::1]", "[]:80",
		"a]:80", "h:p", ":-1", ": 80", ":80 ", "[::1]x:80",
	};
	char host[GP_LISTEN_HOST_MAX], port[8], needle[96];
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (gp_parse_listen(ok[i].arg, host, sizeof(host), port, sizeof(port)))
			fail_msg("'%s' refused", ok[i].arg);
		assert_string_equal(host, ok[i].host);
		assert_string_equal(port, ok[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!gp_parse_listen(bad[i], host, sizeof(host), port, sizeof(port)))
			fail_msg("'%s' accepted", bad[i]);
		PARSE(&p, "run", "--web.listen-address", bad[i]);
		snprintf(needle, sizeof(needle), "--web.listen-address: '%s' is not HOST:PORT", bad[i]);
		expect_usage_error(&p, needle);
	}
	PARSE(&p, "run", "--web.listen-address=:9435");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.web_listen, ":9435");
	PARSE(&p, "run");
	assert_null(p.o.web_listen);	/* off by default */
	BAD("'--web.listen-address' is an option of run, not of top", "top", "--web.listen-address", ":1");
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, free_pool)
	const struct CMUnitTest test_opts[] = {
		T(test_defaults),
		T(test_every_option),
		T(test_option_equals_form_and_last_wins),
		T(test_events_last_wins),
		T(test_hook_names),
		T(test_bad_interval),
		T(test_bad_ringbuf),
		T(test_bad_max_tags),
		T(test_bad_words),
		T(test_unknown_option),
		T(test_unknown_short_option_in_cluster),
		T(test_missing_value),
		T(test_positional_and_commands),
		T(test_check_rejects_run_options),
		T(test_help_and_version),
		T(test_parse_is_repeatable),
		T(test_parse_uint),
		T(test_usage_and_default_textfile),
		T(test_interface_and_tc_flags),
		T(test_interface_limits),
		T(test_interface_none_is_alone),
		T(test_bad_tc_mode),
		T(test_tag_wait),
		T(test_bad_tag_wait),
		T(test_endpoint_memory),
		T(test_bad_endpoint_memory),
		T(test_tag_idle),
		T(test_request_timeout),
		T(test_parse_seconds_ms),
		T(test_rule_flags),
		T(test_rule_flags_limit),
		T(test_tls_flags),
		T(test_check_rejects_tagging_options),
		T(test_replay),
		T(test_replay_needs_one_file),
		T(test_replay_rejects_run_options),
		T(test_replay_rejects_numeric_run_options),
		T(test_replay_rejects_options_at_their_default),
		T(test_usage_documents_tagging_flags_and_replay),
		T(test_top),
		T(test_bad_top),
		T(test_usage_documents_top),
		T(test_usage_per_command),
		T(test_help_for),
		T(test_listen_address),
	};

	return cmocka_run_group_tests(test_opts, NULL, NULL);
}
