// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/maps text: each line gp_ssllib_maps_line() takes names a
 * libssl.so.* path inside that line; the same text as a process's maps in
 * a /proc tree of our own, scanned, offers only files under that
 * process's root.
 */
#define _GNU_SOURCE	/* mkdtemp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect/ssllib.h"

static char top[64];

/* The tree holds only what the harness made: maps, its directories. */
static void remove_tree(void)
{
	static const char *const parts[] = { "/proc/1/maps", "/proc/1", "/proc", "" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", top, parts[i]);
		remove(p);
	}
}

static int check_found(void *ctx, const struct gp_ssllib_found *f)
{
	const char *root = ctx;

	if (f->pid != 1 || strncmp(f->path, root, strlen(root)))
		abort();
	return 0;
}

static void check_lines(char *text)
{
	struct gp_ssllib_key k;
	char *line, *save = NULL;
	const char *path, *base;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!gp_ssllib_maps_line(line, &k, &path))
			continue;
		base = strrchr(path, '/');
		if (path < line || path >= line + strlen(line) || *path != '/' || !base ||
		    strncmp(base + 1, "libssl.so", 9))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char p[128], root[128], *text = malloc(size + 1);
	struct gp_ssllib_opts o = { .proc = p, .host_root = top };
	struct gp_ssllib *s;
	FILE *f;

	if (!top[0]) {
		snprintf(top, sizeof(top), "/tmp/gp-fuzz-ssllib-XXXXXX");
		if (!mkdtemp(top))
			abort();
		snprintf(p, sizeof(p), "%s/proc", top);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/proc/1", top);
		mkdir(p, 0700);
		atexit(remove_tree);
	}
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	snprintf(p, sizeof(p), "%s/proc/1/maps", top);
	f = fopen(p, "w");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/proc", top);
	snprintf(root, sizeof(root), "%s/proc/1/root/", top);
	if (!gp_ssllib_new(&s, &o)) {
		gp_ssllib_scan(s, check_found, root);
		gp_ssllib_free(s);
	}
	check_lines(text);
	free(text);
	return 0;
}
