// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding libssl: a /proc tree of our own under a temporary directory (maps
 * files as the kernel writes them, each process's root a directory), host
 * places under a root of our own, --ssl-lib paths; each file offered once.
 */
#define _GNU_SOURCE	/* mkdtemp */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "collect/ssllib.h"

#define LIBDIR	"/usr/lib/x86_64-linux-gnu"
#define MAX_SEEN	32

static char top[64];

struct seen {
	char path[MAX_SEEN][512];
	int pid[MAX_SEEN], err[MAX_SEEN];
	size_t n;
	int refuse;		/* fn's answer: non-zero, offer again */
	struct gp_ssllib_key gone[MAX_SEEN];
	size_t n_gone;
};

static int record(void *ctx, const struct gp_ssllib_found *f)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	snprintf(s->path[s->n], sizeof(s->path[0]), "%s", f->path + (f->path[0] == '/' &&
		 !strncmp(f->path, top, strlen(top)) ? strlen(top) : 0));
	s->pid[s->n] = f->pid;
	s->err[s->n] = f->err;
	s->n++;
	return s->refuse;
}

static void record_gone(void *ctx, const struct gp_ssllib_key *k)
{
	struct seen *s = ctx;

	assert_true(s->n_gone < MAX_SEEN);
	s->gone[s->n_gone++] = *k;
}

static void mkdirs(const char *rel)
{
	char p[512], *slash;

	snprintf(p, sizeof(p), "%s%s", top, rel);
	for (slash = p + strlen(top) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	mkdir(p, 0755);
}

/* A file of its own (its own inode) at top/rel. */
static void put_file(const char *rel, const char *text)
{
	char p[512], dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	snprintf(p, sizeof(p), "%s%s", top, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%s", text);
	assert_int_equal(fclose(f), 0);
}

/* PID's maps: libc, then lib (in PID's root) as three segments with its real key. */
static void put_maps(int pid, const char *lib, const char *extra)
{
	struct gp_ssllib_key k;
	char p[512], text[4096];
	int n;

	snprintf(p, sizeof(p), "%s/proc/%d/root%s", top, pid, lib);
	assert_int_equal(gp_ssllib_file_key(p, &k), 0);
	n = snprintf(text, sizeof(text),
		     "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1837 /usr/bin/python3.11\n"
		     "7f1c2a000000-7f1c2a028000 r--p 00000000 fd:01 4461 " LIBDIR "/libc.so.6\n"
		     "7f1c2b000000-7f1c2b020000 r--p 00000000 %02x:%02x %llu                    %s\n"
		     "7f1c2b020000-7f1c2b07b000 r-xp 00020000 %02x:%02x %llu                    %s\n"
		     "7f1c2b07b000-7f1c2b098000 r--p 0007b000 %02x:%02x %llu                    %s\n"
		     "7ffd1b3f0000-7ffd1b411000 rw-p 00000000 00:00 0                          [stack]\n",
		     k.major, k.minor, (unsigned long long)k.ino, lib, k.major, k.minor,
		     (unsigned long long)k.ino, lib, k.major, k.minor, (unsigned long long)k.ino, lib);
	snprintf(text + n, sizeof(text) - n, "%s", extra ? extra : "");
	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	put_file(p, text);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/gp-ssllib-XXXXXX");
	assert_non_null(mkdtemp(top));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct gp_ssllib *open_lib(const char *const *paths, size_t n, unsigned per_scan)
{
	char proc[128], host[128];
	struct gp_ssllib *s;
	struct gp_ssllib_opts o = {
		.paths = paths, .n_paths = n, .pids_per_scan = per_scan, .gone = record_gone,
	};

	snprintf(proc, sizeof(proc), "%s/proc", top);
	snprintf(host, sizeof(host), "%s/host", top);
	mkdirs("/proc");
	o.proc = proc;
	o.host_root = host;
	assert_int_equal(gp_ssllib_new(&s, &o), 0);
	return s;
}

static void test_maps_line(void **state)
{
	struct gp_ssllib_key k;
	const char *path;

	(void)state;
	assert_int_equal(gp_ssllib_maps_line("7f1c2b020000-7f1c2b07b000 r-xp 00020000 fd:01 "
					     "2753561                    " LIBDIR "/libssl.so.3\n",
					     &k, &path), 1);
	assert_int_equal(k.major, 0xfd);
	assert_int_equal(k.minor, 1);
	assert_int_equal(k.ino, 2753561);
	assert_string_equal(path, LIBDIR "/libssl.so.3\n");
	assert_int_equal(gp_ssllib_maps_line("7f1c2b020000-7f1c2b07b000 r-xp 00020000 103:02 "
					     "99 /usr/lib64/libssl.so.1.1", &k, &path), 1);
	assert_int_equal(k.major, 0x103);
	/* NSS's libssl3.so, libcrypto, a replaced file, anonymous memory: none of them. */
	assert_int_equal(gp_ssllib_maps_line("7f1c2b020000-7f1c2b07b000 r-xp 00020000 fd:01 7 "
					     LIBDIR "/libssl3.so", &k, &path), 0);
	assert_int_equal(gp_ssllib_maps_line("7f1c2b020000-7f1c2b07b000 r-xp 00020000 fd:01 7 "
					     LIBDIR "/libcrypto.so.3", &k, &path), 0);
	assert_int_equal(gp_ssllib_maps_line("7f1c2b020000-7f1c2b07b000 r-xp 00020000 fd:01 7 "
					     LIBDIR "/libssl.so.3 (deleted)", &k, &path), 0);
	assert_int_equal(gp_ssllib_maps_line("7ffd1b3f0000-7ffd1b411000 rw-p 00000000 00:00 0 "
					     "[stack]", &k, &path), 0);
	assert_int_equal(gp_ssllib_maps_line("garbage", &k, &path), 0);
}

/* Each process's own copy is offered through its root; a shared inode once. */
static void test_processes(void **state)
{
	struct gp_ssllib *s;
	struct seen seen = { 0 };
	char a[512], b[512];

	(void)state;
	put_file("/proc/100/root" LIBDIR "/libssl.so.3", "one");
	put_maps(100, LIBDIR "/libssl.so.3", NULL);
	/* 200 shares 100's file (a second container of the same image). */
	snprintf(a, sizeof(a), "%s/proc/100/root", top);
	mkdirs("/proc/200");
	snprintf(b, sizeof(b), "%s/proc/200/root", top);
	assert_int_equal(symlink(a, b), 0);
	put_maps(200, LIBDIR "/libssl.so.3", NULL);
	/* 300 has a copy of its own, at another path. */
	put_file("/proc/300/root/opt/app/lib/libssl.so.1.1", "two");
	put_maps(300, "/opt/app/lib/libssl.so.1.1",
		 "7f1c2c000000-7f1c2c020000 r--p 00000000 fd:01 77 " LIBDIR "/libssl.so.3 (deleted)\n");
	/* 400: its maps name a file its root no longer has at that path. */
	put_file("/proc/400/root" LIBDIR "/libssl.so.3", "old");
	put_maps(400, LIBDIR "/libssl.so.3", NULL);
	/* Replaced by a new file (a new inode: the old one is still there until the rename). */
	put_file("/proc/400/root" LIBDIR "/libssl.so.3.new", "new");
	snprintf(a, sizeof(a), "%s/proc/400/root" LIBDIR "/libssl.so.3.new", top);
	snprintf(b, sizeof(b), "%s/proc/400/root" LIBDIR "/libssl.so.3", top);
	assert_int_equal(rename(a, b), 0);
	/* 500: no maps (a kernel thread, or no access). */
	mkdirs("/proc/500");

	s = open_lib(NULL, 0, 0);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 2);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.path[0], "/proc/100/root" LIBDIR "/libssl.so.3");
	assert_int_equal(seen.pid[0], 100);
	assert_string_equal(seen.path[1], "/proc/300/root/opt/app/lib/libssl.so.1.1");
	assert_int_equal(seen.pid[1], 300);
	assert_int_equal(gp_ssllib_last(s)->pids, 4);
	assert_int_equal(gp_ssllib_last(s)->denied, 1);
	assert_int_equal(gp_ssllib_count(s), 2);

	/* A rescan offers nothing old; a process started since, with a new copy, is offered. */
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);
	put_file("/proc/600/root" LIBDIR "/libssl.so.3", "three");
	put_maps(600, LIBDIR "/libssl.so.3", NULL);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 1);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.path[2], "/proc/600/root" LIBDIR "/libssl.so.3");
	gp_ssllib_free(s);
}

/* The host's usual places and --ssl-lib; a bad path said once; fn's refusal retried. */
static void test_paths(void **state)
{
	const char *paths[2];
	char mine[512], missing[512];
	struct gp_ssllib *s;
	struct seen seen = { 0 };

	(void)state;
	put_file("/host" LIBDIR "/libssl.so.3", "host");
	put_file("/host/usr/lib64/libssl.so.1.1", "old host");
	put_file("/host" LIBDIR "/libssl3.so", "nss");
	put_file("/copy/libssl.so.3", "copy");
	snprintf(mine, sizeof(mine), "%s/copy/libssl.so.3", top);
	snprintf(missing, sizeof(missing), "%s/nowhere/libssl.so.3", top);
	paths[0] = mine;
	paths[1] = missing;

	s = open_lib(paths, 2, 0);
	seen.refuse = 1;
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 3);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.path[0], "/copy/libssl.so.3");
	assert_int_equal(seen.pid[0], 0);
	assert_string_equal(seen.path[1], "/nowhere/libssl.so.3");
	assert_int_equal(seen.err[1], -ENOENT);
	assert_string_equal(seen.path[2], "/host" LIBDIR "/libssl.so.3");
	assert_string_equal(seen.path[3], "/host/usr/lib64/libssl.so.1.1");
	assert_int_equal(gp_ssllib_count(s), 0);
	/* Refused: offered again, the missing path not said again. */
	seen.refuse = 0;
	seen.n = 0;
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 3);
	assert_int_equal(seen.n, 3);
	assert_int_equal(gp_ssllib_count(s), 3);
	seen.n = 0;
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);
	assert_int_equal(seen.n, 0);
	gp_ssllib_free(s);
}

/* pids_per_scan bounds a scan; the next goes on where it stopped, then wraps round. */
static void test_bounded(void **state)
{
	struct gp_ssllib *s;
	struct seen seen = { 0 };
	char rel[128];
	int pid;

	(void)state;
	for (pid = 10; pid <= 14; pid++) {
		snprintf(rel, sizeof(rel), "/proc/%d/root/lib/libssl.so.3", pid);
		put_file(rel, rel);
		put_maps(pid, "/lib/libssl.so.3", NULL);
	}
	s = open_lib(NULL, 0, 2);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 2);
	assert_int_equal(gp_ssllib_last(s)->pids, 2);
	assert_int_equal(seen.pid[0], 10);
	assert_int_equal(seen.pid[1], 11);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 2);
	assert_int_equal(seen.pid[3], 13);
	/* 14, then 10 again: seen, not offered. */
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 1);
	assert_int_equal(seen.pid[4], 14);
	assert_int_equal(gp_ssllib_last(s)->pids, 2);
	gp_ssllib_free(s);
}

/* A round of every process without a file: it is gone, and offered again when mapped again. */
static void test_gone_when_unmapped(void **state)
{
	struct gp_ssllib_key k;
	struct gp_ssllib *s;
	struct seen seen = { 0 };
	char p[512];
	int pid;

	(void)state;
	put_file("/host" LIBDIR "/libssl.so.3", "host");
	for (pid = 20; pid <= 22; pid++) {
		snprintf(p, sizeof(p), "/proc/%d/root/lib/libssl.so.3", pid);
		put_file(p, pid == 22 ? "22" : "shared");
	}
	/* 20 and 21 share a file; 22 maps its own and the host's. */
	snprintf(p, sizeof(p), "%s/proc/21/root/lib/libssl.so.3", top);
	assert_int_equal(unlink(p), 0);
	snprintf(seen.path[0], sizeof(seen.path[0]), "%s/proc/20/root/lib/libssl.so.3", top);
	assert_int_equal(link(seen.path[0], p), 0);
	put_maps(20, "/lib/libssl.so.3", NULL);
	put_maps(21, "/lib/libssl.so.3", NULL);
	put_maps(22, "/lib/libssl.so.3", NULL);
	s = open_lib(NULL, 0, 2);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 2);	/* the host's; 20's (21's) */
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 1);	/* 22's; a round ends, 20 */
	assert_int_equal(seen.n_gone, 0);
	/* 20 goes: 21 still maps the file. 22 goes: its file is gone after a round. */
	snprintf(p, sizeof(p), "rm -rf '%s/proc/20' '%s/proc/22'", top, top);
	snprintf(seen.path[0], sizeof(seen.path[0]), "%s/proc/22/root/lib/libssl.so.3", top);
	assert_int_equal(gp_ssllib_file_key(seen.path[0], &k), 0);
	assert_int_equal(system(p), 0);
	assert_int_equal(gp_ssllib_count(s), 3);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);	/* 21, the round goes on */
	assert_int_equal(seen.n_gone, 0);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);	/* it ends: 22's is gone; 21 */
	assert_int_equal(seen.n_gone, 1);
	assert_true(seen.gone[0].ino == k.ino && seen.gone[0].major == k.major &&
		    seen.gone[0].minor == k.minor);
	assert_int_equal(gp_ssllib_count(s), 2);
	/* 21 goes: after a round without it (30 maps nothing) the shared file is gone too. */
	snprintf(p, sizeof(p), "rm -rf '%s/proc/21'", top);
	assert_int_equal(system(p), 0);
	mkdirs("/proc/30");
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);	/* 30 */
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);	/* the round 21 was in ends; 30 */
	assert_int_equal(seen.n_gone, 1);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 0);	/* a round of 30 alone ends */
	assert_int_equal(seen.n_gone, 2);
	/* The host's file, found as a path, stays with no process mapping it. */
	assert_int_equal(gp_ssllib_count(s), 1);
	/* Mapped again: offered again. */
	put_file("/proc/31/root/lib/libssl.so.3", "22 again");
	put_maps(31, "/lib/libssl.so.3", NULL);
	assert_int_equal(gp_ssllib_scan(s, record, &seen), 1);
	assert_int_equal(seen.pid[seen.n - 1], 31);
	gp_ssllib_free(s);
}

static void test_file_key(void **state)
{
	struct gp_ssllib_key a, b;
	char p[512], q[512];

	(void)state;
	put_file("/k/a", "a");
	snprintf(p, sizeof(p), "%s/k/a", top);
	snprintf(q, sizeof(q), "%s/k/b", top);
	assert_int_equal(link(p, q), 0);
	assert_int_equal(gp_ssllib_file_key(p, &a), 0);
	assert_int_equal(gp_ssllib_file_key(q, &b), 0);
	assert_true(a.ino && a.ino == b.ino && a.major == b.major && a.minor == b.minor);
	snprintf(q, sizeof(q), "%s/k/none", top);
	assert_int_equal(gp_ssllib_file_key(q, &b), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_line),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_when_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
