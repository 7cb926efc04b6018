// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TAIL_BYTES 16384

static enum gp_log_level log_level = GP_LOG_INFO;
static FILE *log_stream;
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

void gp_log(enum gp_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: ", "trace: " };
	FILE *f = log_stream ? log_stream : stderr;
	va_list ap;

	if (level > log_level)
		return;
	fprintf(f, "grayprobe: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
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
		fputs(s, log_stream ? log_stream : stderr);
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
	fputs(start, f);
	if (tail_len && tail[tail_len - 1] != '\n')
		fputc('\n', f);
}
