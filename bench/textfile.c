// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Textfile cost: an aggregate holding 64 tags in each direction (the
 * default --max-tags), every tag with outcomes of every result, latencies
 * spread over the buckets, and flow bytes, rendered and written the way
 * the agent writes it (gp_textfile_write: temporary file, write, rename;
 * no fsync since f2919c4), into DIR.
 *
 *   textfile [-n RUNS] [-t TAGS] DIR
 *
 * Prints per run "tf_snapshot NS", "tf_render NS" (gp_prom_render into
 * memory: formatting alone), "tf_write NS" (gp_textfile_write: render,
 * write, rename) and "tf_io NS" (the same I/O steps for the already
 * rendered bytes: open, one write, fsync, rename, directory fsync: the floor
 * for any renderer on this file system) and "tf_io_nosync NS" (the same
 * without the two fsyncs: rename alone keeps readers from a partial file),
 * then "tf_bytes N" and "tf_series N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/agg.h"
#include "export/prom.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* What gp_textfile_write does around rendering, for a ready buffer. */
static int io_only(const char *dir, const char *path, const char *buf, size_t len, int sync)
{
	char tmp[4200];
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.tmp.io", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || (sync && fsync(fd))) {
		close(fd);
		return -EIO;
	}
	close(fd);
	if (rename(tmp, path))
		return -errno;
	dfd = sync ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void fill(struct gp_agg *agg, unsigned tags)
{
	static const char *const alpns[4] = { "h2", "http/1.1", "none", "tls" };
	struct gp_conn c;
	unsigned d, t, k;

	for (d = 0; d < GP_DIR_MAX; d++) {
		for (t = 0; t < tags; t++) {
			memset(&c, 0, sizeof(c));
			c.dir = d;
			c.family = 2;
			snprintf(c.alpn, sizeof(c.alpn), "%s", alpns[t % 4]);
			snprintf(c.gray, sizeof(c.gray), "%s%u", t % 5 ? "canary-" : "stable-", t);
			for (k = 0; k < 400; k++) {
				c.result = k % 50 ? GP_RES_ESTABLISHED : (enum gp_result)(1 + k % 4);
				/* 10 us .. ~160 ms, log-spread: many buckets in use */
				c.latency_ns = 10000ull << (k % 14);
				c.latency_ns += (k * 7919) % c.latency_ns;
				gp_agg_record(agg, &c);
			}
			gp_agg_add_bytes(agg, d, c.alpn, c.gray, 0, 123456789ull * (t + 1));
		}
	}
}

int main(int argc, char **argv)
{
	unsigned runs = 200, tags = 64, i, n;
	char path[4096], *mem = NULL;
	struct gp_snapshot snap;
	struct gp_agg *agg;
	uint64_t t0, t1;
	size_t memlen = 0;
	int opt, err;
	FILE *f;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			runs = atoi(optarg);
			break;
		case 't':
			tags = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || !runs || !tags || tags > GP_MAX_TAGS_LIMIT)
		goto usage;
	snprintf(path, sizeof(path), "%s/grayprobe.prom", argv[optind]);
	agg = gp_agg_new(tags);
	if (!agg)
		return 1;
	fill(agg, tags);

	for (i = 0; i < runs; i++) {
		memset(&snap, 0, sizeof(snap));
		t0 = now_ns();
		err = gp_agg_snapshot(agg, &snap);
		t1 = now_ns();
		if (err)
			return fprintf(stderr, "textfile: snapshot: %s\n", strerror(-err)), 1;
		printf("tf_snapshot %llu\n", (unsigned long long)(t1 - t0));
		snap.version = "bench";
		snap.connect_hook = "state";
		snap.state_hook = "tp_btf";

		f = open_memstream(&mem, &memlen);
		if (!f)
			return 1;
		t0 = now_ns();
		err = gp_prom_render(f, &snap);
		fflush(f);
		t1 = now_ns();
		fclose(f);
		if (err)
			return fprintf(stderr, "textfile: render failed\n"), 1;
		printf("tf_render %llu\n", (unsigned long long)(t1 - t0));

		t0 = now_ns();
		err = gp_textfile_write(path, &snap);
		t1 = now_ns();
		if (err)
			return fprintf(stderr, "textfile: %s: %s\n", path, strerror(-err)), 1;
		printf("tf_write %llu\n", (unsigned long long)(t1 - t0));
		t0 = now_ns();
		err = io_only(argv[optind], path, mem, memlen, 1);
		t1 = now_ns();
		if (err)
			return fprintf(stderr, "textfile: io: %s\n", strerror(-err)), 1;
		printf("tf_io %llu\n", (unsigned long long)(t1 - t0));
		t0 = now_ns();
		err = io_only(argv[optind], path, mem, memlen, 0);
		t1 = now_ns();
		if (err)
			return fprintf(stderr, "textfile: io: %s\n", strerror(-err)), 1;
		printf("tf_io_nosync %llu\n", (unsigned long long)(t1 - t0));
		gp_snapshot_release(&snap);
		if (i + 1 < runs)
			free(mem);
	}
	for (n = 0, i = 0; i < memlen; i++)
		n += mem[i] == '\n' && i + 1 < memlen && mem[i + 1] != '#';
	printf("tf_bytes %zu\ntf_series %u\n", memlen, n);
	free(mem);
	unlink(path);
	gp_agg_free(agg);
	return 0;
usage:
	fprintf(stderr, "usage: textfile [-n RUNS] [-t TAGS] DIR\n");
	return 2;
}
