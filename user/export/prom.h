/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PROM_H
#define GP_PROM_H

#include <stdio.h>

#include "pipeline/agg.h"

/* Prometheus text exposition of a snapshot; returns 0 or -EIO. */
int gp_prom_render(FILE *f, const struct gp_snapshot *snap);

/* Label value escaping per the exposition format: \\, \" and \n. */
void gp_prom_write_label(FILE *f, const char *value);

/*
 * Render into a temporary file beside path, fsync, rename over path, so a
 * reader (node_exporter) sees the old file or the new one, never a part.
 * Returns 0 or a negative errno; on failure path is left untouched.
 */
int gp_textfile_write(const char *path, const struct gp_snapshot *snap);

/* The exposition in memory (malloc'd, *len bytes); 0 or a negative errno. */
int gp_prom_render_mem(const struct gp_snapshot *snap, char **buf, size_t *len);
/* gp_textfile_write for bytes already rendered. */
int gp_textfile_write_bytes(const char *path, const char *buf, size_t len);
/* Samples (lines not comments) of an exposition: its series. */
size_t gp_prom_series(const char *buf, size_t len);

/*
 * Whether gp_textfile_write can work: path is no directory or device, and
 * its temporary file can be created (then removed). 0, or a negative errno
 * with the reason in why ("PATH: is a directory").
 */
int gp_textfile_probe(const char *path, char *why, size_t len);

#endif
