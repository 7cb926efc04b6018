// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* open_memstream */
/*
 * The ncurses view of `grayprobe top`: header, tag table, verdicts, recent
 * outcomes and footer, each its own window. The lines come from toptext.c;
 * this file places them, adds attributes and reads keys.
 */
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "top/toptext.h"
#include "top/topui.h"

#define MIN_COLS	40
#define MIN_LINES	8
#define MSG_NS		(5 * 1000000000ull)	/* a log line stays in the footer */

enum { PAIR_ALERT = 1, PAIR_OK, PAIR_WARN };
enum { W_HEAD, W_TABLE, W_REQS, W_VERDICT, W_RECENT, W_FOOT, W_MAX };

struct gp_top_view {
	struct gp_top_ui *ui;
	struct gp_top_model *m;
	WINDOW *win[W_MAX];
	int h[W_MAX];
	int lines, cols;		/* the geometry the windows were made for */
	int colors;
	size_t scroll;			/* first table row shown */
	int editing;			/* the '/' prompt is open */
	char edit[GP_TOP_FILTER_MAX + 1], saved[GP_TOP_FILTER_MAX + 1];
	/* Log lines while the screen is ours: kept here, the latest in the footer. */
	FILE *log;
	char *logbuf;
	size_t loglen, logseen;
	char msg[256];
	uint64_t msg_until;
	SCREEN *scr;
	int dirty;			/* something to redraw */
};

int gp_top_ui_conn(void *ctx, const struct gp_conn *c)
{
	struct gp_top_ui *ui = ctx;

	if (!ui->paused)
		gp_top_model_conn(ui->model, c);
	return 0;
}

static attr_t pair(const struct gp_top_view *v, int p)
{
	return v->colors ? COLOR_PAIR(p) : 0;
}

static void put_line(WINDOW *w, int y, const char *s, attr_t a)
{
	if (!w || y >= getmaxy(w))
		return;
	wattrset(w, a);
	mvwaddnstr(w, y, 0, s, getmaxx(w));
	wattrset(w, A_NORMAL);
}

static void free_windows(struct gp_top_view *v)
{
	int i;

	for (i = 0; i < W_MAX; i++) {
		if (v->win[i])
			delwin(v->win[i]);
		v->win[i] = NULL;
		v->h[i] = 0;
	}
}

/*
 * The panes between header and footer, at least min lines each while there
 * is room, then up to want lines each, in turn: table, verdicts, requests,
 * recent (verdicts matter more than request rows on a small screen); the
 * last one shown (the recent pane, else the table) takes what is left.
 */
static void fit(int h[W_MAX], const int want[W_MAX], const int min[W_MAX], int avail, int last)
{
	static const int order[] = { W_TABLE, W_VERDICT, W_REQS, W_RECENT };
	int i, p, left = avail, more;

	for (p = 0; p < 4; p++) {
		i = order[p];
		h[i] = min[i] < left ? min[i] : left;
		left -= h[i];
	}
	for (p = 0; p < 4; p++) {
		i = order[p];
		more = want[i] - h[i];
		more = more < left ? more : left;
		if (more > 0) {
			h[i] += more;
			left -= more;
		}
	}
	h[last] += left;
}

/*
 * Heights: header 2, footer 1; the table as many rows as it has (at least
 * 3 when short of room), the request table likewise when there are
 * requests, the verdicts (at least 2), the recent pane the rest. Windows
 * are remade only when a height changes.
 */
static void geometry(struct gp_top_view *v)
{
	const struct gp_top_model *m = v->m;
	int h[W_MAX] = { 2, 0, 0, 0, 0, 1 }, want[W_MAX] = { 0 }, min[W_MAX] = { 0 };
	int nt = m->n_view ? (int)m->n_view : 1, nv = m->n_verdicts ? (int)m->n_verdicts : 1;
	int nq = m->n_req_view ? (int)m->n_req_view : 1, y = 0, i, changed = 0;

	want[W_TABLE] = 2 + nt;
	min[W_TABLE] = 2 + (nt < 3 ? nt : 3);
	if (m->n_reqs) {	/* no requests decoded: no pane */
		want[W_REQS] = 2 + nq;
		min[W_REQS] = 2 + (nq < 2 ? nq : 2);
	}
	want[W_VERDICT] = 2 + nv;
	min[W_VERDICT] = 2 + (nv < 2 ? nv : 2);
	min[W_RECENT] = m->cfg.recent ? 3 : 0;
	fit(h, want, min, LINES - 3, m->cfg.recent ? W_RECENT : W_TABLE);

	for (i = 0; i < W_MAX; i++)
		changed |= h[i] != v->h[i] || (h[i] > 0 && !v->win[i]);
	if (!changed && v->lines == LINES && v->cols == COLS)
		return;
	free_windows(v);
	for (i = 0; i < W_MAX; i++) {
		if (i == W_FOOT)
			y = LINES - 1;
		if (h[i] > 0)
			v->win[i] = newwin(h[i], COLS, y, 0);
		v->h[i] = v->win[i] ? h[i] : 0;
		y += h[i] > 0 ? h[i] : 0;
	}
	v->lines = LINES;
	v->cols = COLS;
}

static void draw_header(struct gp_top_view *v, const struct gp_top_layout *l)
{
	WINDOW *w = v->win[W_HEAD];
	char buf[GP_TOP_LINE_MAX];
	static const char paused[] = " PAUSED ";

	werase(w);
	gp_top_fmt_header(buf, l, v->m, 0);
	wattrset(w, A_REVERSE);
	mvwhline(w, 0, 0, ' ', COLS);
	put_line(w, 0, buf, A_REVERSE | A_BOLD);
	gp_top_fmt_header(buf, l, v->m, 1);
	put_line(w, 1, buf, A_NORMAL);
	/* Over the end of the line: the state matters more than what it hides. */
	if (v->ui->paused && COLS > (int)sizeof(paused)) {
		wattrset(w, A_REVERSE | A_BOLD | pair(v, PAIR_WARN));
		mvwaddstr(w, 1, COLS - (int)sizeof(paused), paused);
		wattrset(w, A_NORMAL);
	}
}

static void draw_table(struct gp_top_view *v, const struct gp_top_layout *l)
{
	const struct gp_top_model *m = v->m;
	WINDOW *w = v->win[W_TABLE];
	int rows = v->h[W_TABLE] - 2, y, c = m->sort_col;
	char buf[GP_TOP_LINE_MAX];

	if (!w)
		return;
	werase(w);
	if (rows < 1)
		rows = 0;
	if (m->n_view <= (size_t)rows)
		v->scroll = 0;
	else if (v->scroll > m->n_view - rows)
		v->scroll = m->n_view - rows;
	gp_top_fmt_groups(buf, l, m);
	put_line(w, 0, buf, A_NORMAL);
	if (m->n_view > (size_t)rows && l->show[GP_TOP_COL_DIR]) {
		/* Where the names are, the group line is blank: say what is shown. */
		snprintf(buf, sizeof(buf), "rows %zu-%zu of %zu", v->scroll + 1,
			 v->scroll + rows, m->n_view);
		if (strlen(buf) < l->x[GP_TOP_COL_CONN])
			mvwaddstr(w, 0, 0, buf);
	}
	gp_top_fmt_columns(buf, l);
	put_line(w, 1, buf, A_BOLD);
	if (l->show[c])
		mvwchgat(w, 1, l->x[c], l->w[c], A_BOLD | A_REVERSE, 0, NULL);
	for (y = 0; y < rows && v->scroll + y < m->n_view; y++) {
		const struct gp_top_row *r = &m->rows[m->view[v->scroll + y]];

		gp_top_fmt_row(buf, l, r);
		put_line(w, 2 + y, buf, A_NORMAL);
		if (r->fail_rate > 0 && l->show[GP_TOP_COL_FAIL])
			mvwchgat(w, 2 + y, l->x[GP_TOP_COL_FAIL], l->w[GP_TOP_COL_FAIL],
				 A_BOLD, v->colors ? PAIR_WARN : 0, NULL);
	}
	if (!m->n_view && rows)
		put_line(w, 2, m->n_rows ? "(no tag matches the filter)" : "(no connections yet)",
			 A_DIM);
}

/* A pane's first two lines, bold: its title (or group line) and its column names. */
static void pane_heads(WINDOW *w, const char *title, const char *cols)
{
	werase(w);
	put_line(w, 0, title, A_BOLD);
	put_line(w, 1, cols, A_BOLD);
}

static void draw_reqs(struct gp_top_view *v, const struct gp_top_layout *l)
{
	const struct gp_top_model *m = v->m;
	WINDOW *w = v->win[W_REQS];
	char buf[GP_TOP_LINE_MAX], cols[GP_TOP_LINE_MAX];
	size_t i;

	if (!w)
		return;
	gp_top_fmt_req_groups(buf, l, m);
	gp_top_fmt_req_columns(cols, l);
	pane_heads(w, buf, cols);
	for (i = 0; i < m->n_req_view && (int)i + 2 < v->h[W_REQS]; i++) {
		const struct gp_top_req_row *r = &m->reqs[m->req_view[i]];

		gp_top_fmt_req_row(buf, l, r);
		put_line(w, 2 + (int)i, buf, A_NORMAL);
		if (r->win_errs && l->rshow[GP_TOP_RCOL_ERR])
			mvwchgat(w, 2 + (int)i, l->rx[GP_TOP_RCOL_ERR], l->rw[GP_TOP_RCOL_ERR],
				 A_BOLD, v->colors ? PAIR_WARN : 0, NULL);
	}
	if (!m->n_req_view)
		put_line(w, 2, "(no request tag matches the filter)", A_DIM);
}

static void draw_verdicts(struct gp_top_view *v, const struct gp_top_layout *l)
{
	const struct gp_top_model *m = v->m;
	WINDOW *w = v->win[W_VERDICT];
	char buf[GP_TOP_LINE_MAX], cols[GP_TOP_LINE_MAX];
	size_t i;

	if (!w)
		return;
	gp_top_fmt_verdict_title(buf, l, m);
	gp_top_fmt_verdict_columns(cols, l);
	pane_heads(w, buf, cols);
	for (i = 0; i < m->n_verdicts && (int)i + 2 < v->h[W_VERDICT]; i++) {
		const struct gp_top_verdict *vd = &m->verdicts[i];
		char word[16];
		attr_t a = vd->flags ? A_BOLD | pair(v, PAIR_ALERT) :
			   !strcmp(gp_top_verdict_word(vd, word, sizeof(word)), "ok") ?
			   pair(v, PAIR_OK) : A_NORMAL;

		gp_top_fmt_verdict(buf, l, m, vd);
		put_line(w, 2 + (int)i, buf, a);
	}
	if (!m->n_verdicts)
		put_line(w, 2, "(no gray tag with a stable one of the same direction and alpn)",
			 A_DIM);
}

static void draw_recent(struct gp_top_view *v, const struct gp_top_layout *l)
{
	const struct gp_top_model *m = v->m;
	WINDOW *w = v->win[W_RECENT];
	const struct gp_conn *c;
	char buf[GP_TOP_LINE_MAX], cols[GP_TOP_LINE_MAX];
	int i;

	if (!w)
		return;
	gp_top_fmt_recent_title(buf, l, m);
	gp_top_fmt_recent_columns(cols, l);
	pane_heads(w, buf, cols);
	for (i = 0; i + 2 < v->h[W_RECENT] && (c = gp_top_model_recent(m, i)); i++) {
		gp_top_fmt_recent(buf, l, m, c);
		put_line(w, 2 + i, buf, c->result != GP_RES_ESTABLISHED ? pair(v, PAIR_WARN) : A_NORMAL);
	}
}

static void draw_footer(struct gp_top_view *v, uint64_t now)
{
	static const char keys_long[] =
		"q quit  space pause  / filter  sort: n dir a alpn g gray c conn f fail "
		"5 9 0 p50/p90/p99 b bytes  < > column  r reverse";
	static const char keys_short[] =
		"q quit  spc pause  / filter  sort n a g c f 5 9 0 b  < > col  r rev";
	WINDOW *w = v->win[W_FOOT];
	char buf[GP_TOP_LINE_MAX];

	werase(w);
	if (v->editing) {
		snprintf(buf, sizeof(buf), "filter (dir/alpn/gray words; Enter keeps, Esc cancels): %s_",
			 v->edit);
		put_line(w, 0, buf, A_BOLD);
		return;
	}
	if (v->msg[0] && now < v->msg_until) {
		put_line(w, 0, v->msg, A_BOLD | pair(v, PAIR_WARN));
		return;
	}
	put_line(w, 0, COLS >= (int)sizeof(keys_long) ? keys_long : keys_short, A_REVERSE);
}

static void draw(struct gp_top_view *v, uint64_t now)
{
	struct gp_top_layout l;
	int i;

	werase(stdscr);
	wnoutrefresh(stdscr);
	if (LINES < MIN_LINES || COLS < MIN_COLS) {
		free_windows(v);
		mvwprintw(stdscr, 0, 0, "grayprobe top needs %dx%d (q quits)", MIN_COLS, MIN_LINES);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	geometry(v);
	gp_top_layout(&l, v->m, COLS);
	draw_header(v, &l);
	draw_table(v, &l);
	draw_reqs(v, &l);
	draw_verdicts(v, &l);
	draw_recent(v, &l);
	draw_footer(v, now);
	for (i = 0; i < W_MAX; i++)
		if (v->win[i])
			wnoutrefresh(v->win[i]);
	doupdate();
}

/* The newest complete log line, for the footer; 1 when there is one. */
static int take_log(struct gp_top_view *v, uint64_t now)
{
	char *end, *start;

	fflush(v->log);
	if (v->loglen <= v->logseen)
		return 0;
	end = v->logbuf + v->loglen;
	while (end > v->logbuf + v->logseen && end[-1] == '\n')
		end--;
	start = end;
	while (start > v->logbuf + v->logseen && start[-1] != '\n')
		start--;
	snprintf(v->msg, sizeof(v->msg), "%.*s", (int)(end - start), start);
	v->logseen = v->loglen;
	v->msg_until = now + MSG_NS;
	return 1;
}

/* The next shown column left (-1) or right (+1) of the sort column. */
static enum gp_top_col next_col(const struct gp_top_view *v, int step)
{
	struct gp_top_layout l;
	int c = v->m->sort_col, i;

	gp_top_layout(&l, v->m, COLS);
	for (i = 0; i < GP_TOP_COL_MAX; i++) {
		c = (c + step + GP_TOP_COL_MAX) % GP_TOP_COL_MAX;
		if (l.show[c])
			break;
	}
	return c;
}

static void edit_key(struct gp_top_view *v, int ch)
{
	size_t n = strlen(v->edit);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		v->editing = 0;
		return;
	}
	if (ch == 27) {		/* Esc: the filter before the prompt */
		v->editing = 0;
		gp_top_model_filter(v->m, v->saved);
		return;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			v->edit[n - 1] = '\0';
	} else if (ch == 21) {	/* ^U */
		v->edit[0] = '\0';
	} else if (ch >= 0x20 && ch < 0x7f && n < GP_TOP_FILTER_MAX) {
		v->edit[n] = (char)ch;
		v->edit[n + 1] = '\0';
	} else {
		return;
	}
	gp_top_model_filter(v->m, v->edit);	/* as you type */
}

/* A key outside the prompt; 1 to quit. */
static int key(struct gp_top_view *v, int ch)
{
	static const struct { int key; enum gp_top_col col; } sort_keys[] = {
		{ 'n', GP_TOP_COL_DIR }, { 'a', GP_TOP_COL_ALPN }, { 'g', GP_TOP_COL_GRAY },
		{ 'c', GP_TOP_COL_CONN }, { 'f', GP_TOP_COL_FAIL }, { '5', GP_TOP_COL_P50 },
		{ '9', GP_TOP_COL_P90 }, { '0', GP_TOP_COL_P99 }, { 'b', GP_TOP_COL_BYTES },
	};
	struct gp_top_model *m = v->m;
	size_t i, page = v->h[W_TABLE] > 3 ? (size_t)v->h[W_TABLE] - 3 : 1;

	for (i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++) {
		if (ch == sort_keys[i].key) {
			gp_top_model_sort(m, sort_keys[i].col);
			return 0;
		}
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case ' ':
		/* On resume the schedule goes on: no window is shorter than -d. */
		v->ui->paused = !v->ui->paused;
		break;
	case '/':
		v->editing = 1;
		snprintf(v->saved, sizeof(v->saved), "%s", m->filter);
		snprintf(v->edit, sizeof(v->edit), "%s", m->filter);
		break;
	case 'r':
		gp_top_model_set_sort(m, m->sort_col, !m->sort_desc);
		break;
	case '<':
	case '>':
		gp_top_model_sort(m, next_col(v, ch == '<' ? -1 : 1));
		break;
	case KEY_UP:
	case 'k':
		if (v->scroll)
			v->scroll--;
		break;
	case KEY_DOWN:
	case 'j':
		v->scroll++;	/* draw_table clamps */
		break;
	case KEY_PPAGE:
		v->scroll = v->scroll > page ? v->scroll - page : 0;
		break;
	case KEY_NPAGE:
		v->scroll += page;
		break;
	case KEY_HOME:
		v->scroll = 0;
		break;
	case KEY_RESIZE:
		free_windows(v);	/* remade at the new size */
		break;
	case 12:		/* ^L */
		clearok(curscr, TRUE);
		break;
	}
	return 0;
}

/* The terminal, as top wants it; 0 or -errno after saying why. */
static int take_terminal(struct gp_top_view *v)
{
	const char *nc = getenv("NO_COLOR");

	/* newterm, not initscr: an unknown TERM is an error to report, not an exit. */
	v->scr = newterm(NULL, stdout, stdin);
	if (!v->scr) {
		gp_err("cannot drive this terminal (TERM=%s); try --once", getenv("TERM") ?: "");
		return -ENOTTY;
	}
	gp_log_set_stream(v->log);
	cbreak();		/* ^C stays a signal */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);	/* the caller's loop waits, not getch */
	set_escdelay(25);
	curs_set(0);
	/* https://no-color.org: set and not empty means no colour. */
	if (has_colors() && !(nc && nc[0])) {
		start_color();
		use_default_colors();
		init_pair(PAIR_ALERT, COLOR_RED, -1);
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		v->colors = 1;
	}
	return 0;
}

int gp_top_ui_open(struct gp_top_ui *ui)
{
	struct gp_top_view *v = calloc(1, sizeof(*v));
	int err = -ENOMEM;

	ui->view = v;
	if (v)
		v->log = open_memstream(&v->logbuf, &v->loglen);
	if (!v || !v->log) {
		gp_err("out of memory");
		goto cleanup;
	}
	v->ui = ui;
	v->m = ui->model;
	v->dirty = 1;
	err = take_terminal(v);
	if (!err)
		return 0;
cleanup:
	gp_top_ui_close(ui);
	return err;
}

void gp_top_ui_close(struct gp_top_ui *ui)
{
	struct gp_top_view *v = ui->view;

	if (!v)
		return;
	free_windows(v);
	if (v->scr) {
		endwin();
		delscreen(v->scr);
	}
	gp_log_set_stream(NULL);
	if (v->log) {
		fclose(v->log);
		if (v->loglen)
			fwrite(v->logbuf, 1, v->loglen, stderr);
	}
	free(v->logbuf);
	free(v);
	ui->view = NULL;
}

int gp_top_ui_input(struct gp_top_ui *ui)
{
	struct gp_top_view *v = ui->view;
	int ch;

	while ((ch = getch()) != ERR) {
		v->dirty = 1;
		if (v->editing)
			edit_key(v, ch);
		else if (key(v, ch))
			return 1;
	}
	return 0;
}

int gp_top_ui_draw(struct gp_top_ui *ui, const struct gp_snapshot *snap, uint64_t now)
{
	struct gp_top_view *v = ui->view;
	int err;

	if (snap) {
		err = gp_top_model_update(v->m, snap, now);
		if (err) {
			gp_err("updating the view failed: %s", strerror(-err));
			return err;
		}
		v->dirty = 1;
	}
	if (take_log(v, now))
		v->dirty = 1;
	if (v->msg[0] && now >= v->msg_until) {	/* back to the key help */
		v->msg[0] = '\0';
		v->dirty = 1;
	}
	if (v->dirty)
		draw(v, now);
	v->dirty = 0;
	return 0;
}
