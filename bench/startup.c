// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Start-up time of a command, from exec to a line on its stderr:
 *
 *   startup [-n RUNS] PATTERN -- COMMAND [ARG...]
 *
 * Each run forks, execs COMMAND with stderr on a pipe, and stops the clock
 * at the first stderr line containing PATTERN (grayprobe prints
 * "attached:" once its hooks and classifier are attached), then sends
 * SIGINT and waits for the command to exit. The clock starts just before
 * fork. Prints one "startup_ns N" line per run. Exit 1 if a run never
 * printed PATTERN.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int one_run(const char *pattern, char **cmd, uint64_t *ns)
{
	char buf[8192];
	size_t used = 0;
	uint64_t t0;
	pid_t pid;
	int p[2], st, found = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(p[1], 2);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(p[1]);
	while (!found && (n = read(p[0], buf + used, sizeof(buf) - 1 - used)) > 0) {
		used += n;
		buf[used] = 0;
		if (strstr(buf, pattern)) {
			*ns = now_ns() - t0;
			found = 1;
		} else if (used > sizeof(buf) / 2) {
			/* keep the tail only: the pattern may straddle */
			memmove(buf, buf + used - 256, 256);
			used = 256;
		}
	}
	kill(pid, SIGINT);
	/* Read on so the command never blocks on a full pipe while it stops. */
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	close(p[0]);
	waitpid(pid, &st, 0);
	if (!found) {
		fprintf(stderr, "startup: '%s' never appeared (exit status %d)\n", pattern, st);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 1, opt, i;
	uint64_t ns;

	while ((opt = getopt(argc, argv, "+n:")) != -1) {
		if (opt != 'n')
			goto usage;
		runs = atoi(optarg);
	}
	if (argc - optind < 3 || strcmp(argv[optind + 1], "--") || runs < 1)
		goto usage;
	for (i = 0; i < runs; i++) {
		if (one_run(argv[optind], argv + optind + 2, &ns))
			return 1;
		printf("startup_ns %llu\n", (unsigned long long)ns);
		fflush(stdout);
	}
	return 0;
usage:
	fprintf(stderr, "usage: startup [-n RUNS] PATTERN -- COMMAND [ARG...]\n");
	return 2;
}
