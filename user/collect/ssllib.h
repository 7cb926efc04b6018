/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_SSLLIB_H
#define GP_SSLLIB_H

#include <stddef.h>
#include <stdint.h>

/*
 * OpenSSL's libssl.so.* as files to put uprobes on: the host's usual
 * places, --ssl-lib paths, and what processes map (/proc/PID/maps), opened
 * through /proc/PID/root so a container's own copy is found. A uprobe is
 * on an inode and fires in every process mapping it, now and later: each
 * inode is given once, remembered, and later scans give only new ones.
 */
struct gp_ssllib;

/*
 * Processes whose maps one scan reads; the next scan goes on after the last
 * (measured on a 2-core VM: 86 processes in 4.7 ms, ~55 us each, so 128
 * cost ~7 ms a scan, and a node of 1280 processes is covered every 10 s).
 */
#define GP_SSLLIB_PIDS_PER_SCAN	128

/*
 * A file as the kernel maps it: the inode a uprobe attaches to. For overlayfs
 * (containers) it is the layer's real inode, not what stat() on the overlay
 * path says, so containers of one image share it and get one uprobe.
 */
struct gp_ssllib_key {
	uint32_t major, minor;
	uint64_t ino;
};

struct gp_ssllib_found {
	const char *path;	/* to attach to: a host or --ssl-lib path, or /proc/PID/root/... */
	int pid;		/* the process that maps it; 0: found as a path */
	int err;		/* a --ssl-lib path that cannot be used: -errno, else 0 */
	struct gp_ssllib_key key;
};

/* 0: remembered (attached, or failed for good); non-zero: offered again next scan. */
typedef int (*gp_ssllib_fn)(void *ctx, const struct gp_ssllib_found *f);
/*
 * A file found in processes that none maps any more (a whole round of
 * processes read without it: a container gone, an image upgraded). It is
 * forgotten, so its uprobes can go (they hold the inode) and come back if a
 * process maps it again. Files found as paths are never gone.
 */
typedef void (*gp_ssllib_gone_fn)(void *ctx, const struct gp_ssllib_key *k);

struct gp_ssllib_opts {
	const char *proc;		/* NULL: "/proc" (tests: a tree of their own) */
	const char *host_root;		/* the usual places under it; NULL: "" (/) */
	const char *const *paths;	/* --ssl-lib */
	size_t n_paths;
	unsigned pids_per_scan;		/* 0: GP_SSLLIB_PIDS_PER_SCAN */
	gp_ssllib_gone_fn gone;		/* NULL: files are remembered for good */
};

/* What the last scan did. */
struct gp_ssllib_scan_stats {
	unsigned pids;		/* processes whose maps were read */
	unsigned denied;	/* whose maps could not be read (gone, or no ptrace access) */
	unsigned offered;	/* files given to fn */
};

int gp_ssllib_new(struct gp_ssllib **out, const struct gp_ssllib_opts *o);	/* 0 or -ENOMEM */
void gp_ssllib_free(struct gp_ssllib *s);					/* NULL-safe */
/*
 * Paths, then the next processes: each new file to fn, each file gone to
 * opts' gone (both with ctx). The number offered, or -errno.
 */
int gp_ssllib_scan(struct gp_ssllib *s, gp_ssllib_fn fn, void *ctx);
const struct gp_ssllib_scan_stats *gp_ssllib_last(const struct gp_ssllib *s);
size_t gp_ssllib_count(const struct gp_ssllib *s);	/* files remembered */

/*
 * The key of a file as this process maps it (one page, read from
 * /proc/self/maps, then unmapped): what a uprobe on the path would hit.
 * 0 or -errno.
 */
int gp_ssllib_file_key(const char *path, struct gp_ssllib_key *k);
/* A /proc/PID/maps line naming libssl.so.*: 1 with key and path set, else 0. */
int gp_ssllib_maps_line(const char *line, struct gp_ssllib_key *k, const char **path);

#endif
