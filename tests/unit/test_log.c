// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Log lines: "grayprobe: error: " words, or sd-daemon <N> priorities when stderr is the journal. */
#define _GNU_SOURCE	/* open_memstream */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/log.h"
#include "cmd/opts.h"

/* stderr goes to a temporary file for the test; the real one is kept in saved_fd. */
static int saved_fd = -1, file_fd = -1;

static int capture_stderr(void **state)
{
	char path[] = "/tmp/gp-test-log.XXXXXX";

	(void)state;
	fflush(stderr);
	file_fd = mkstemp(path);
	assert_true(file_fd >= 0);
	unlink(path);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_int_equal(dup2(file_fd, STDERR_FILENO), STDERR_FILENO);
	gp_log_set_level(GP_LOG_DEBUG);
	return 0;
}

static int restore_stderr(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	close(file_fd);
	gp_log_set_journal(0);
	gp_log_set_level(GP_LOG_INFO);
	unsetenv("JOURNAL_STREAM");
	return 0;
}

/* What went to stderr since the last call. */
static const char *captured(void)
{
	static char buf[4096];
	ssize_t n;

	fflush(stderr);
	n = pread(file_fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_int_equal(ftruncate(file_fd, 0), 0);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	return buf;
}

/* JOURNAL_STREAM's "DEVICE:INODE" of fd. */
static void stream_id(int fd, char *buf, size_t len)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(buf, len, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
}

static void test_journal_stream_match(void **state)
{
	char id[64], other[80];
	struct stat st;

	(void)state;
	stream_id(STDERR_FILENO, id, sizeof(id));
	assert_int_equal(gp_log_is_journal_stream(id, STDERR_FILENO), 1);
	/* The journal's stream, but stderr was redirected since: not the journal. */
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(other, sizeof(other), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_int_equal(gp_log_is_journal_stream(other, STDERR_FILENO), 0);
	snprintf(other, sizeof(other), "%llu:%llu", (unsigned long long)st.st_dev + 1,
		 (unsigned long long)st.st_ino);
	assert_int_equal(gp_log_is_journal_stream(other, STDERR_FILENO), 0);
	assert_int_equal(gp_log_is_journal_stream(NULL, STDERR_FILENO), 0);
	assert_int_equal(gp_log_is_journal_stream("", STDERR_FILENO), 0);
	assert_int_equal(gp_log_is_journal_stream("garbage", STDERR_FILENO), 0);
	snprintf(other, sizeof(other), "%sx", id);
	assert_int_equal(gp_log_is_journal_stream(other, STDERR_FILENO), 0);
	assert_int_equal(gp_log_is_journal_stream(id, 999), 0);	/* no such fd */
}

static void log_each_level(void)
{
	gp_err("e %d", 1);
	gp_warn("w");
	gp_info("i");
	gp_dbg("d");
	gp_log(GP_LOG_TRACE, "not shown at debug");
}

static void test_words_when_not_journal(void **state)
{
	(void)state;
	gp_log_init();	/* no JOURNAL_STREAM */
	log_each_level();
	assert_string_equal(captured(), "grayprobe: error: e 1\ngrayprobe: warning: w\n"
			    "grayprobe: i\ngrayprobe: debug: d\n");
	gp_log_block(stderr, GP_LOG_DEBUG, "a\nb\n");
	gp_log_usage_hint(stderr);
	assert_string_equal(captured(), "a\nb\nTry 'grayprobe --help'.\n");
}

static void test_priorities_when_journal(void **state)
{
	char id[64];

	(void)state;
	stream_id(STDERR_FILENO, id, sizeof(id));
	setenv("JOURNAL_STREAM", id, 1);
	gp_log_init();
	log_each_level();
	assert_string_equal(captured(), "<3>e 1\n<4>w\n<6>i\n<7>d\n");
	/* Every line of a block gets its priority, the last one even without "\n". */
	gp_log_block(stderr, GP_LOG_DEBUG, "a\nb\nc");
	gp_log_usage_hint(stderr);
	assert_string_equal(captured(), "<7>a\n<7>b\n<7>c\n<6>Try 'grayprobe --help'.\n");
}

/* A stream other than stderr (top's log pane) is never the journal. */
static void test_other_stream_keeps_words(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	gp_log_set_journal(1);
	gp_log_set_stream(f);
	gp_err("x");
	gp_log_set_stream(NULL);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "grayprobe: error: x\n");
	free(buf);
}

/* Usage errors go the same way: one prefix style for every message. */
static void test_usage_error_through_log(void **state)
{
	char *argv[] = { "grayprobe", "run", "--interval", "0", NULL };
	struct gp_opts o;

	(void)state;
	assert_int_equal(gp_opts_parse(4, argv, &o, stderr), 2);
	assert_string_equal(captured(), "grayprobe: error: --interval: '0' is not a whole number in "
			    "1..3600\nTry 'grayprobe --help'.\n");
	gp_log_set_journal(1);
	assert_int_equal(gp_opts_parse(4, argv, &o, stderr), 2);
	assert_string_equal(captured(), "<3>--interval: '0' is not a whole number in 1..3600\n"
			    "<6>Try 'grayprobe --help'.\n");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, capture_stderr, restore_stderr)
	const struct CMUnitTest tests[] = {
		T(test_journal_stream_match),
		T(test_words_when_not_journal),
		T(test_priorities_when_journal),
		T(test_other_stream_keeps_words),
		T(test_usage_error_through_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
