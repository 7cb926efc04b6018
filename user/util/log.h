/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_LOG_H
#define GP_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum gp_log_level { GP_LOG_ERR, GP_LOG_WARN, GP_LOG_INFO, GP_LOG_DEBUG, GP_LOG_TRACE };

/* Messages at or below this level reach the log stream (stderr by default). */
void gp_log_set_level(enum gp_log_level level);
void gp_log_set_stream(FILE *f);
void gp_log(enum gp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Lines start "grayprobe: error: ", "grayprobe: warning: ", "grayprobe: "...;
 * when stderr is the journal (JOURNAL_STREAM names it, systemd.exec(5)) they
 * start with the sd-daemon(3) priority instead: <3>, <4>, <6>, <7>.
 * gp_log_init decides that once, at start.
 */
void gp_log_init(void);
int gp_log_is_journal_stream(const char *env, int fd);	/* 1 when env names fd */
void gp_log_set_journal(int on);
/* One line to f with the level's prefix, whatever the level set (usage errors). */
void gp_vlog_to(FILE *f, enum gp_log_level level, const char *fmt, va_list ap);
/* Lines of text as they are, each given level's priority for the journal. */
void gp_log_block(FILE *f, enum gp_log_level level, const char *text);
/* The line after a usage error. */
void gp_log_usage_hint(FILE *f);

#define gp_err(...)	gp_log(GP_LOG_ERR, __VA_ARGS__)
#define gp_warn(...)	gp_log(GP_LOG_WARN, __VA_ARGS__)
#define gp_info(...)	gp_log(GP_LOG_INFO, __VA_ARGS__)
#define gp_dbg(...)	gp_log(GP_LOG_DEBUG, __VA_ARGS__)

/*
 * libbpf's own messages are kept in a bounded tail so that a failed load can
 * show the verifier's last lines (-v) without flooding a normal start, where
 * probing a missing hook is expected to fail.
 */
void gp_log_tail_clear(void);
int gp_log_tail_vappend(const char *fmt, va_list ap);	/* echoes at TRACE */
void gp_log_tail_dump(FILE *f, unsigned max_lines);
enum gp_log_level gp_log_get_level(void);

#endif
