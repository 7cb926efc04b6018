// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * How fast the running agent drains its ring buffer: writes connection-
 * outcome records straight into the agent's own gp_events ring buffer (a
 * BPF program run with BPF_PROG_TEST_RUN, see ringprod.bpf.c) at an offered
 * rate, step by step, and reports the highest rate at which no record was
 * refused for want of room (the agent kept up). No packet is sent anywhere.
 *
 *   ringfeed [-t STEP_MS] [-s START_RATE] [-m MAX_RATE] [-k BISECT] AGENT_PID
 *
 * Rates double from START_RATE until a step loses records (or MAX_RATE),
 * then BISECT halvings narrow the bound. Each step offers its rate for
 * STEP_MS in bursts of 0.5 ms worth of records, then lets the agent drain.
 * Output: one "ring_step OFFERED ACHIEVED LOST" line per step, then
 * "ring_max_zero_loss RATE" and "ring_delivered N" (records the agent must
 * have counted in grayprobe_events_total).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ringprod.skel.h"

#define BPF_MAP_TYPE_RINGBUF_ID	27

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000u, .tv_nsec = t % 1000000000u };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* The id of the one ring buffer map the process holds, or 0. */
static unsigned agent_ringbuf(int pid)
{
	char path[320], line[256];
	unsigned id = 0, found = 0, type, mid;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, d->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		type = mid = 0;
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "map_type: %u", &type);
			sscanf(line, "map_id: %u", &mid);
		}
		fclose(f);
		if (type == BPF_MAP_TYPE_RINGBUF_ID && mid && mid != id) {
			id = mid;
			found++;
		}
	}
	closedir(dir);
	return found == 1 ? id : 0;
}

struct step {
	double offered, achieved;
	uint64_t lost, sent;
};

static int run_step(struct ringprod_bpf *s, int fd, double rate, unsigned ms, struct step *out)
{
	uint64_t chunk = rate / 2000 < 1 ? 1 : (uint64_t)(rate / 2000);
	uint64_t t0, t, sent = 0, failed0 = s->bss->failed, prod0 = s->bss->produced;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (chunk > 4000000)
		chunk = 4000000;
	s->bss->batch = chunk;
	t0 = now_ns();
	for (;;) {
		t = now_ns();
		if (t - t0 >= ms * 1000000ull)
			break;
		if (t < t0 + (uint64_t)(sent / rate * 1e9)) {
			sleep_until(t0 + (uint64_t)(sent / rate * 1e9));
			continue;
		}
		if (bpf_prog_test_run_opts(fd, &o)) {
			fprintf(stderr, "ringfeed: test run: %s\n", strerror(errno));
			return -1;
		}
		sent += chunk;
	}
	t = now_ns();
	out->offered = rate;
	out->sent = sent;
	out->achieved = sent * 1e9 / (t - t0);
	out->lost = s->bss->failed - failed0;
	(void)prod0;
	usleep(200000);	/* let the agent catch up before the next step */
	return 0;
}

int main(int argc, char **argv)
{
	unsigned step_ms = 1000, bisect = 4, id, k;
	double start = 250000, max = 64e6, ok = 0, bad = 0, rate;
	int opt, pid, mfd, pfd;
	struct ringprod_bpf *s;
	struct step st;

	while ((opt = getopt(argc, argv, "t:s:m:k:")) != -1) {
		switch (opt) {
		case 't':
			step_ms = atoi(optarg);
			break;
		case 's':
			start = atof(optarg);
			break;
		case 'm':
			max = atof(optarg);
			break;
		case 'k':
			bisect = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || !step_ms || start < 1)
		goto usage;
	pid = atoi(argv[optind]);
	id = agent_ringbuf(pid);
	if (!id) {
		fprintf(stderr, "ringfeed: pid %d holds no single ring buffer map\n", pid);
		return 1;
	}
	mfd = bpf_map_get_fd_by_id(id);
	s = ringprod_bpf__open();
	if (mfd < 0 || !s || bpf_map__reuse_fd(s->maps.gp_events, mfd) || ringprod_bpf__load(s)) {
		fprintf(stderr, "ringfeed: cannot load the producer on map %u: %s\n", id,
			strerror(errno));
		return 1;
	}
	pfd = bpf_program__fd(s->progs.produce);

	/* Double until a step loses records or the producer cannot offer more. */
	for (rate = start; rate <= max; rate *= 2) {
		if (run_step(s, pfd, rate, step_ms, &st))
			return 1;
		printf("ring_step %.0f %.0f %llu\n", st.offered, st.achieved,
		       (unsigned long long)st.lost);
		fflush(stdout);
		if (st.lost) {
			bad = rate;
			break;
		}
		if (st.achieved < 0.97 * st.offered) {
			fprintf(stderr, "ringfeed: the producer tops out at %.0f/s without loss\n",
				st.achieved);
			ok = st.achieved;
			break;
		}
		ok = rate;
	}
	for (k = 0; bad && k < bisect; k++) {
		rate = (ok + bad) / 2;
		if (run_step(s, pfd, rate, step_ms, &st))
			return 1;
		printf("ring_step %.0f %.0f %llu\n", st.offered, st.achieved,
		       (unsigned long long)st.lost);
		fflush(stdout);
		if (st.lost)
			bad = rate;
		else
			ok = rate;
	}
	printf("ring_max_zero_loss %.0f\n", ok);
	printf("ring_delivered %llu\n", (unsigned long long)s->bss->produced);
	ringprod_bpf__destroy(s);
	close(mfd);
	return 0;
usage:
	fprintf(stderr, "usage: ringfeed [-t STEP_MS] [-s START_RATE] [-m MAX_RATE] [-k BISECT] AGENT_PID\n");
	return 2;
}
