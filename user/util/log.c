// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* strchrnul */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#define TAIL_BYTES 16384

static enum gp_log_level log_level = GP_LOG_INFO;
static FILE *log_stream;
static int journal;	/* stderr is the journal: sd-daemon(3) priorities, not words */
/* sd-daemon(3) priorities of the levels: err, warning, info, debug, debug. */
static const char *const journal_prio[] = { "<3>", "<4>", "<6>", "<7>", "<7>" };
static char tail[TAIL_BYTES];
static size_t tail_len;

void gp_log_set_level(enum gp_log_level level)
{
	log_level = level;
}

void gp_log_set_stream(FILE *f)
{
	log_stream = f;
}

int gp_log_is_journal_stream(const char *env, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	/* systemd.exec(5): JOURNAL_STREAM is "DEVICE:INODE" of the stream it connected. */
	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 || env[end] || fstat(fd, &st))
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void gp_log_init(void)
{
	journal = gp_log_is_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

void gp_log_set_journal(int on)
{
	journal = on;
}

static int to_journal(FILE *f)
{
	return journal && f == stderr;
}

/* The journal ranks a line by its "<N>"; a terminal or file reads words. */
static void put_prefix(FILE *f, enum gp_log_level level)
{
	static const char *const words[] = { "error: ", "warning: ", "", "debug: ", "trace: " };

	if (to_journal(f))
		fputs(journal_prio[level], f);
	else
		fprintf(f, "grayprobe: %s", words[level]);
}

void gp_vlog_to(FILE *f, enum gp_log_level level, const char *fmt, va_list ap)
{
	put_prefix(f, level);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void gp_log(enum gp_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	gp_vlog_to(log_stream ? log_stream : stderr, level, fmt, ap);
	va_end(ap);
}

void gp_log_block(FILE *f, enum gp_log_level level, const char *text)
{
	const char *nl;

	if (!to_journal(f)) {
		fputs(text, f);
		return;
	}
	for (; *text; text = nl + 1) {
		nl = strchrnul(text, '\n');
		fprintf(f, "%s%.*s\n", journal_prio[level], (int)(nl - text), text);
		if (!*nl)
			break;
	}
}

void gp_log_usage_hint(FILE *f)
{
	gp_log_block(f, GP_LOG_INFO, "Try 'grayprobe --help'.\n");
}

static void tail_append(const char *s, size_t n)
{
	if (n >= TAIL_BYTES) {
		s += n - (TAIL_BYTES - 1);
		n = TAIL_BYTES - 1;
	}
	if (tail_len + n >= TAIL_BYTES) {
		size_t drop = tail_len + n - (TAIL_BYTES - 1);

		memmove(tail, tail + drop, tail_len - drop);
		tail_len -= drop;
	}
	memcpy(tail + tail_len, s, n);
	tail_len += n;
	tail[tail_len] = '\0';
}

enum gp_log_level gp_log_get_level(void)
{
	return log_level;
}

void gp_log_tail_clear(void)
{
	tail_len = 0;
	tail[0] = '\0';
}

int gp_log_tail_vappend(const char *fmt, va_list ap)
{
	char line[1024], *big = NULL, *s = line;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	/* libbpf hands the whole verifier log over as one message: its end matters most. */
	if (n >= (int)sizeof(line)) {
		big = malloc((size_t)n + 1);
		if (big && vsnprintf(big, (size_t)n + 1, fmt, again) >= 0)
			s = big;
	}
	va_end(again);
	if (n < 0) {
		free(big);
		return n;
	}
	tail_append(s, strlen(s));
	if (log_level >= GP_LOG_TRACE)
		gp_log_block(log_stream ? log_stream : stderr, GP_LOG_TRACE, s);
	free(big);
	return n;
}

void gp_log_tail_dump(FILE *f, unsigned max_lines)
{
	const char *start = tail + tail_len;
	unsigned lines = 0;

	while (start > tail) {
		if (start[-1] == '\n' && start != tail + tail_len && ++lines > max_lines)
			break;
		start--;
	}
	gp_log_block(f, GP_LOG_DEBUG, start);
	if (tail_len && tail[tail_len - 1] != '\n' && !to_journal(f))
		fputc('\n', f);
}
