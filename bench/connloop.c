// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark load: a fixed number of TCP connections, each opened, accepted
 * and closed by this one thread, so the time it takes is the connection
 * path's own cost and nothing waits on a peer process:
 *
 *   connloop [-p NPORTS] [-r RATE] [-j JOBS] ADDR PORT COUNT
 *
 * It listens on ADDR:PORT .. PORT+NPORTS-1 (connection i goes to port
 * PORT + i % NPORTS), then for each connection: socket, blocking connect
 * (on loopback the handshake completes inside connect), accept, close the
 * accepted socket first (the server side keeps TIME_WAIT, as an HTTP server
 * closing does, so client ports never run out), close the client.
 * -r paces the loop to RATE connections per second (0: as fast as it goes);
 * -j runs JOBS such processes in parallel (ports split between them).
 * Prints one line: "conns=N errors=N elapsed_ns=N ns_per_conn=N.N rate=N".
 * Exit 1 if any connection failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/tools/sockaddr.h"

#define PORTS_MAX	1024
#define PACE_BATCH	16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

struct job {
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned port0, nports;
	long count;
	double rate;
};

/* Runs one job; writes "conns errors elapsed_ns" to fd out. */
static int run_job(const struct job *j, int out)
{
	int lfd[PORTS_MAX];
	struct sockaddr_storage ss = j->ss;
	long i, errors = 0;
	uint64_t t0, t1;
	unsigned p;
	char line[128];
	int one = 1;

	for (p = 0; p < j->nports; p++) {
		set_port(&ss, j->port0 + p);
		lfd[p] = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd[p] < 0 || setsockopt(lfd[p], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(lfd[p], (struct sockaddr *)&ss, j->len) || listen(lfd[p], 4096)) {
			fprintf(stderr, "connloop: listen on port %u: %s\n", j->port0 + p,
				strerror(errno));
			return 1;
		}
	}
	t0 = now_ns();
	for (i = 0; i < j->count; i++) {
		int c, s;

		p = i % j->nports;
		if (j->rate > 0 && i % PACE_BATCH == 0) {
			uint64_t due = t0 + (uint64_t)(i / j->rate * 1e9);
			struct timespec ts = { .tv_sec = due / 1000000000u, .tv_nsec = due % 1000000000u };

			if (now_ns() < due)
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		set_port(&ss, j->port0 + p);
		c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0) {
			perror("connloop: socket");
			return 1;
		}
		if (connect(c, (struct sockaddr *)&ss, j->len)) {
			if (errors++ < 3)
				fprintf(stderr, "connloop: connect: %s\n", strerror(errno));
			close(c);
			continue;
		}
		s = accept(lfd[p], NULL, NULL);
		if (s < 0) {
			if (errors++ < 3)
				fprintf(stderr, "connloop: accept: %s\n", strerror(errno));
		} else {
			close(s);
		}
		close(c);
	}
	t1 = now_ns();
	for (p = 0; p < j->nports; p++)
		close(lfd[p]);
	snprintf(line, sizeof(line), "%ld %ld %llu\n", j->count, errors,
		 (unsigned long long)(t1 - t0));
	if (write(out, line, strlen(line)) < 0)
		return 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: connloop [-p NPORTS] [-r RATE] [-j JOBS] ADDR PORT COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct job j = { .nports = 1 };
	long jobs = 1, k, conns = 0, errors = 0, count;
	uint64_t elapsed = 0;
	int opt, pfd[2];
	char *end, buf[4096];
	ssize_t n, got = 0;

	while ((opt = getopt(argc, argv, "p:r:j:")) != -1) {
		switch (opt) {
		case 'p':
			j.nports = strtoul(optarg, &end, 10);
			if (*end || !j.nports || j.nports > PORTS_MAX)
				usage();
			break;
		case 'r':
			j.rate = strtod(optarg, &end);
			if (*end || j.rate < 0)
				usage();
			break;
		case 'j':
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > 64)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || parse_addr(argv[optind], argv[optind + 1], &j.ss, &j.len))
		usage();
	j.port0 = strtoul(argv[optind + 1], NULL, 10);
	count = strtol(argv[optind + 2], &end, 10);
	if (*end || count < 1 || j.port0 + j.nports * jobs > 65536 || j.nports % jobs)
		usage();
	if (jobs == 1) {
		j.count = count;
		if (pipe(pfd) || run_job(&j, pfd[1]))
			return 1;
	} else {
		/* Each job its own share of ports and of the rate. */
		unsigned per = j.nports / jobs, base = j.port0;

		if (pipe(pfd))
			return 1;
		for (k = 0; k < jobs; k++) {
			struct job jj = j;

			jj.port0 = base + k * per;
			jj.nports = per;
			jj.count = count / jobs + (k < count % jobs);
			jj.rate = j.rate / jobs;
			if (fork() == 0)
				_exit(run_job(&jj, pfd[1]));
		}
		for (k = 0; k < jobs; k++) {
			int st;

			if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				return 1;
		}
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		long c, e;
		unsigned long long t;

		if (sscanf(line, "%ld %ld %llu", &c, &e, &t) == 3) {
			conns += c;
			errors += e;
			if (t > elapsed)
				elapsed = t;	/* the slowest job's time */
		}
	}
	printf("conns=%ld errors=%ld elapsed_ns=%llu ns_per_conn=%.1f rate=%.0f\n", conns, errors,
	       (unsigned long long)elapsed, (double)elapsed / conns, conns * 1e9 / elapsed);
	return errors ? 1 : 0;
}
