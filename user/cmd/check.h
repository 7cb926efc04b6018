/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_CHECK_H
#define GP_CHECK_H

#include <stdio.h>

#include "collect/loader.h"

/* The check table from the loader's facts. */
void gp_check_render(FILE *out, const struct gp_check_facts *f);

/* The TLS source's rows: uprobes, the socket tracepoints, the libraries found. */
void gp_check_render_tls(FILE *out, const struct gp_ssl_check *c);

/* `grayprobe check`: print what works here; the exit status, 0 when run can work. */
int gp_cmd_check(FILE *out, const struct gp_check_want *want);

#endif
