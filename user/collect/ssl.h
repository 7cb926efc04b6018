/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_SSL_H
#define GP_SSL_H

#include <stddef.h>
#include <stdint.h>

#include "collect/ssllib.h"

/*
 * The TLS source: bpf/ssl.bpf.c's uprobes on OpenSSL, put on each libssl
 * file found (collect/ssllib.h), and its two socket tracepoints (Linux 6.3+)
 * that join a session to its TCP flow. It shares the main object's ring
 * buffer, flow table and counters.
 */
struct gp_ssl;

/* The main object's maps, by fd (gp_loader_maps()). */
struct gp_ssl_maps {
	int events, flows, stats;
};

/*
 * Open, load (the maps reused), attach the tracepoints. On failure nothing
 * stays and why says what is missing, in one line. 0 or -errno.
 */
int gp_ssl_open(struct gp_ssl **out, const struct gp_ssl_maps *m, uint32_t netns_ino,
		char *why, size_t len);
void gp_ssl_close(struct gp_ssl *s);	/* NULL-safe; every uprobe detached */

/*
 * The uprobes on one library file found, in every process (its pid is for
 * the log). SSL_read and SSL_write are needed; SSL_read_ex, SSL_write_ex
 * (1.1.1+) and SSL_free are taken where they are. 0 or -errno; said either
 * way.
 */
int gp_ssl_attach(struct gp_ssl *s, const struct gp_ssllib_found *f);
/* The uprobes of the file with key k off (no process maps it), said; none: nothing. */
void gp_ssl_detach(struct gp_ssl *s, const struct gp_ssllib_key *k);
unsigned gp_ssl_libs(const struct gp_ssl *s);	/* files with uprobes */

/*
 * Whether keeping only the capabilities in keep still lets a new uprobe
 * attach (tried in a child on a file already attached). Linux 6.16 and
 * the stable kernels since July 2025 want CAP_SYS_ADMIN for the uprobe PMU,
 * older ones CAP_PERFMON. 1 yes, 0 no, -errno when nothing could be tried.
 */
int gp_ssl_attach_works_with(struct gp_ssl *s, uint64_t keep);

/* `grayprobe check`: what works here, found by really loading and attaching. */
#define GP_SSL_CHECK_LIBS	16
struct gp_ssl_check {
	int uprobe_err;			/* 0: a uprobe on the host's libssl attached */
	char uprobe[256];		/* what attached, or why not */
	int tp_err;			/* 0: both sock tracepoints attach */
	char tp[256];
	char libs[GP_SSL_CHECK_LIBS][256];	/* found, "path (pid N)" */
	size_t n_libs, more_libs;		/* listed; found beyond the list */
};
void gp_ssl_check(struct gp_ssl_check *c);

#endif
