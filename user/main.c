// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* CLONE_NEWNET, strsignal */
/* grayprobe: the agent. Collecting lives in loader.c and agg.c, showing in prom.c and json.c. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "event.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "opts.h"
#include "prom.h"

struct run_ctx {
	const struct gp_opts *opts;
	const char *textfile;
	struct gp_loader *loader;
	struct gp_agg *agg;
	int64_t rt_offset_ns;		/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t bad_records;
	uint64_t bad_records_logged;
	uint64_t textfile_errors;
	int out_err;			/* stdout (JSON) failed */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct run_ctx *r = ctx;
	struct gp_conn c;

	if (gp_conn_decode(data, size, &c)) {
		r->bad_records++;
		return 0;
	}
	gp_agg_record(r->agg, &c);
	if (r->opts->events_json && gp_json_conn(stdout, &c, r->rt_offset_ns)) {
		r->out_err = errno ? errno : EIO;
		return -EIO;	/* stops this poll; the loop reports it */
	}
	return 0;
}

static void write_textfile(struct run_ctx *r)
{
	uint64_t stats[GP_STAT_MAX] = { 0 };
	struct gp_snapshot snap = { 0 };
	int err;

	err = gp_loader_stats(r->loader, stats);
	if (err)
		gp_warn("reading kernel counters failed: %s", strerror(-err));
	if (r->bad_records != r->bad_records_logged) {
		gp_warn("%llu malformed ring buffer records dropped so far",
			(unsigned long long)r->bad_records);
		r->bad_records_logged = r->bad_records;
	}
	err = gp_agg_snapshot(r->agg, &snap);
	if (err) {
		gp_warn("textfile not written: %s", strerror(-err));
		r->textfile_errors++;
		return;
	}
	snap.version = GP_VERSION;
	snap.connect_hook = gp_connect_hook_name(gp_loader_connect_hook(r->loader));
	snap.state_hook = gp_state_hook_name(gp_loader_state_hook(r->loader));
	snap.lost_ringbuf = stats[GP_STAT_LOST_RINGBUF];
	snap.lost_malformed = r->bad_records;
	snap.lost_track = stats[GP_STAT_LOST_TRACK];
	snap.textfile_errors = r->textfile_errors;
	err = gp_textfile_write(r->textfile, &snap);
	if (err) {
		r->textfile_errors++;
		gp_warn("writing %s failed: %s; the previous file stays in place",
			r->textfile, strerror(-err));
	}
	gp_snapshot_release(&snap);
}

/* Inode of a network namespace file, or a negative errno with a message. */
static int netns_inode(const char *path, uint32_t *ino)
{
	struct stat st;
	int fd, type, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		gp_err("--netns %s: %s", path, strerror(errno));
		return err;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET || fstat(fd, &st)) {
		gp_err("--netns %s: not a network namespace", path);
		err = -EINVAL;
	} else {
		*ino = st.st_ino;
	}
	close(fd);
	return err;
}

static int textfile_dir_ok(const char *path)
{
	char buf[PATH_MAX], *dir;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		gp_err("--textfile: path too long");
		return 0;
	}
	dir = dirname(buf);
	if (access(dir, W_OK)) {
		gp_err("--textfile %s: directory %s is not writable: %s", path, dir, strerror(errno));
		return 0;
	}
	return 1;
}

static int cmd_run(const struct gp_opts *opts)
{
	struct gp_loader_opts lo = { 0 };
	struct run_ctx r = { .opts = opts };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_write, interval_ns = (uint64_t)opts->interval * 1000000000u;
	int err = 1, ret;

	if (gp_check_privileges())
		return 1;
	r.textfile = opts->textfile ? opts->textfile : gp_default_textfile();
	if ((opts->netns && netns_inode(opts->netns, &lo.netns_ino)) || !textfile_dir_ok(r.textfile)) {
		fputs("Try 'grayprobe --help'.\n", stderr);
		return 2;
	}
	r.agg = gp_agg_new(opts->max_tags);
	if (!r.agg) {
		gp_err("out of memory");
		goto cleanup;
	}

	/* No SA_RESTART: a signal must interrupt the ring buffer's epoll wait. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lo.connect_hook = opts->connect_hook;
	lo.state_hook = opts->state_hook;
	lo.ringbuf_kb = opts->ringbuf_kb;
	lo.on_event = on_event;
	lo.ctx = &r;
	if (gp_loader_open(&r.loader, &lo))
		goto cleanup;

	gp_info("attached: connect_hook=%s state_hook=%s netns=%s; writing %s every %us",
		gp_connect_hook_name(gp_loader_connect_hook(r.loader)),
		gp_state_hook_name(gp_loader_state_hook(r.loader)),
		opts->netns ? opts->netns : "all", r.textfile, opts->interval);
	write_textfile(&r);
	next_write = now_ns(CLOCK_MONOTONIC) + interval_ns;

	while (!stop_signal) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int timeout = now >= next_write ? 0 : (int)((next_write - now) / 1000000u) + 1;

		r.rt_offset_ns = (int64_t)(now_ns(CLOCK_REALTIME) - now);
		ret = gp_loader_poll(r.loader, timeout > 1000 ? 1000 : timeout);
		if (ret < 0 && ret != -EINTR) {
			if (r.out_err)
				gp_err("writing events to stdout failed: %s", strerror(r.out_err));
			else
				gp_err("ring buffer poll failed: %s", strerror(-ret));
			goto cleanup;
		}
		if (opts->events_json && fflush(stdout)) {
			gp_err("writing events to stdout failed: %s", strerror(errno));
			goto cleanup;
		}
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= next_write) {
			write_textfile(&r);
			next_write += interval_ns;
			if (next_write <= now)	/* fell behind: do not burst */
				next_write = now + interval_ns;
		}
	}

	/* Stopping: what the kernel already produced still counts. */
	ret = gp_loader_drain(r.loader);
	if (ret < 0 && r.out_err) {
		gp_err("writing events to stdout failed: %s", strerror(r.out_err));
		goto cleanup;
	}
	if (opts->events_json && fflush(stdout)) {
		gp_err("writing events to stdout failed: %s", strerror(errno));
		goto cleanup;
	}
	write_textfile(&r);
	gp_info("stopped by %s; detached", strsignal(stop_signal));
	err = 0;
cleanup:
	gp_loader_close(r.loader);
	gp_agg_free(r.agg);
	return err;
}

int main(int argc, char **argv)
{
	struct gp_opts opts;
	int ret;

	ret = gp_opts_parse(argc, argv, &opts, stderr);
	if (ret)
		return ret;
	gp_log_set_level(opts.verbose >= 2 ? GP_LOG_TRACE :
			 opts.verbose ? GP_LOG_DEBUG : GP_LOG_INFO);
	switch (opts.cmd) {
	case GP_CMD_HELP:
		gp_usage(stdout);
		return 0;
	case GP_CMD_VERSION:
		printf("grayprobe %s\n", GP_VERSION);
		return 0;
	case GP_CMD_CHECK:
		return gp_check(stdout, &opts);
	case GP_CMD_RUN:
		return cmd_run(&opts);
	default:
		gp_usage(stderr);
		return 2;
	}
}
