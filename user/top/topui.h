/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_TOPUI_H
#define GP_TOPUI_H

#include <stdint.h>

#include "pipeline/agg.h"
#include "pipeline/event.h"
#include "top/topmodel.h"

/*
 * The full-screen view of `grayprobe top`, ncurses: it draws snapshots and
 * reads keys; the caller's loop waits on stdin and the engine and says when.
 */
struct gp_top_view;

struct gp_top_ui {
	struct gp_top_model *model;
	int paused;			/* frozen view: neither table nor recent pane move */
	struct gp_top_view *view;	/* while open */
};

/* The loop comes back at least this often: log lines and the footer's timer. */
#define GP_TOP_UI_TICK_MS	50

/* The engine's ops.conn: feeds the recent pane unless paused. ctx is a struct gp_top_ui. */
int gp_top_ui_conn(void *ctx, const struct gp_conn *c);

/*
 * Takes the terminal. Log lines are held while the screen is in use and
 * written to stderr by gp_top_ui_close, whatever the way out. 0 or -errno,
 * said why.
 */
int gp_top_ui_open(struct gp_top_ui *ui);
void gp_top_ui_close(struct gp_top_ui *ui);	/* restores the terminal; idempotent */
/* The keys typed so far, without waiting; 1 when one was q. */
int gp_top_ui_input(struct gp_top_ui *ui);
/*
 * snap: the model moves to it (the caller set model->rt_offset_ns) and the
 * screen is redrawn; NULL: redrawn only when keys, a log line or the
 * footer's timer changed it. now is CLOCK_MONOTONIC. 0 or -errno.
 */
int gp_top_ui_draw(struct gp_top_ui *ui, const struct gp_snapshot *snap, uint64_t now);

#endif
