/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TOPUI_H
#define GP_TOPUI_H

#include <signal.h>

#include "cmd/engine.h"
#include "top/topmodel.h"

/* The full-screen view of `grayprobe top`: ncurses over a running engine. */
struct gp_top_ui {
	struct gp_top_model *model;
	int paused;			/* frozen view: neither table nor recent pane move */
};

/* The engine's ops.conn: feeds the recent pane unless paused. ctx is a struct gp_top_ui. */
int gp_top_ui_conn(void *ctx, const struct gp_conn *c);

/*
 * Draws until q, or until *stop is set (SIGINT, SIGTERM, SIGHUP), refreshing
 * every refresh_ms. Log lines are held while the screen is in use and written
 * to stderr once the terminal is restored, whatever the way out. 0 or 1.
 */
int gp_top_ui_run(struct gp_top_ui *ui, struct gp_engine *e, unsigned refresh_ms,
		  volatile sig_atomic_t *stop);

#endif
