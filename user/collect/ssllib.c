// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "collect/ssllib.h"
#include "util/htab.h"
#include "util/log.h"

#define LIB_PREFIX	"libssl.so"

/* Where distributions put libssl: Debian's multiarch, Fedora's lib64, Alpine's lib. */
static const char *const host_globs[] = {
	"/usr/lib/*/libssl.so.*", "/usr/lib64/libssl.so.*", "/usr/lib/libssl.so.*",
	"/lib/*/libssl.so.*", "/lib64/libssl.so.*", "/lib/libssl.so.*",
	"/usr/local/lib*/libssl.so.*",
};

struct key_node {
	struct gp_hnode h;
	struct gp_ssllib_key k;
	unsigned round;		/* libs: the last round of processes that mapped it */
	int pinned;		/* libs: found as a path, never gone */
};

struct gp_ssllib {
	struct gp_ssllib_opts o;	/* proc and host_root our own copies */
	struct gp_htab libs;		/* kernel keys given to fn and remembered */
	struct gp_htab stats;		/* stat() keys of paths already resolved */
	unsigned char *path_said;	/* a --ssl-lib error was given once */
	int cursor;			/* the last PID read; the next scan goes on after it */
	unsigned round;			/* rounds of every process read, so far */
	struct gp_ssllib_scan_stats last;
};

static uint32_t key_hash(const struct gp_ssllib_key *k)
{
	struct gp_ssllib_key c;

	memset(&c, 0, sizeof(c));	/* padding */
	c.major = k->major;
	c.minor = k->minor;
	c.ino = k->ino;
	return gp_hash_bytes(&c, sizeof(c));
}

static int key_eq(const struct gp_ssllib_key *a, const struct gp_ssllib_key *b)
{
	return a->major == b->major && a->minor == b->minor && a->ino == b->ino;
}

static struct key_node *find(const struct gp_htab *t, const struct gp_ssllib_key *k)
{
	uint32_t h = key_hash(k);
	struct gp_hnode *x;

	for (x = gp_htab_chain(t, h); x; x = x->next)
		if (x->hash == h && key_eq(&gp_container_of(x, struct key_node, h)->k, k))
			return gp_container_of(x, struct key_node, h);
	return NULL;
}

static int has(const struct gp_htab *t, const struct gp_ssllib_key *k)
{
	return !!find(t, k);
}

/* The node of k, added if new; NULL: out of memory. */
static struct key_node *add(struct gp_htab *t, const struct gp_ssllib_key *k)
{
	struct key_node *n = find(t, k);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->k = *k;
	gp_htab_add(t, &n->h, key_hash(k));
	return n;
}

static void free_node(void *ctx, struct gp_hnode *x)
{
	gp_htab_del(ctx, x);
	free(gp_container_of(x, struct key_node, h));
}

static void release(struct gp_htab *t)
{
	if (!t->b)
		return;
	gp_htab_each(t, free_node, t);
	gp_htab_release(t);
}

int gp_ssllib_new(struct gp_ssllib **out, const struct gp_ssllib_opts *o)
{
	struct gp_ssllib *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->o.proc = strdup(o->proc ? o->proc : "/proc");
	s->o.host_root = strdup(o->host_root ? o->host_root : "");
	if (!s->o.pids_per_scan)
		s->o.pids_per_scan = GP_SSLLIB_PIDS_PER_SCAN;
	s->path_said = calloc(o->n_paths + 1, 1);
	if (!s->o.proc || !s->o.host_root || !s->path_said || gp_htab_init(&s->libs, 16) || gp_htab_init(&s->stats, 16)) {
		gp_ssllib_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void gp_ssllib_free(struct gp_ssllib *s)
{
	if (!s)
		return;
	release(&s->libs);
	release(&s->stats);
	free(s->path_said);
	free((char *)s->o.proc);
	free((char *)s->o.host_root);
	free(s);
}

static int parse_key(const char *s, struct gp_ssllib_key *k, const char **rest)
{
	unsigned long long ino;
	unsigned maj, min;
	int n = 0;

	if (sscanf(s, "%x:%x %llu %n", &maj, &min, &ino, &n) != 3 || !n)
		return 0;
	k->major = maj;
	k->minor = min;
	k->ino = ino;
	*rest = s + n;
	return 1;
}

/* "start-end perms offset dev inode path": fields as show_map_vma() prints them. */
int gp_ssllib_maps_line(const char *line, struct gp_ssllib_key *k, const char **path)
{
	const char *p = line, *base;
	int field;

	for (field = 0; field < 3; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	if (!parse_key(p, k, path) || **path != '/' || !k->ino)
		return 0;
	base = strrchr(*path, '/') + 1;
	/* A file replaced since it was mapped has no path to attach to. */
	return !strncmp(base, LIB_PREFIX, strlen(LIB_PREFIX)) && !strstr(base, " (deleted)");
}

static int self_maps_key(unsigned long addr, struct gp_ssllib_key *k)
{
	unsigned long start, end;
	char line[PATH_MAX + 128];
	const char *rest;
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char *p = line;
		int field;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || addr != start)
			continue;
		for (field = 0; p && field < 3; field++) {
			p = strchr(p, ' ');
			p = p ? p + 1 : NULL;
		}
		err = p && parse_key(p, k, &rest) ? 0 : -EINVAL;
	}
	fclose(f);
	return err;
}

int gp_ssllib_file_key(const char *path, struct gp_ssllib_key *k)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	void *m;

	if (fd < 0)
		return -errno;
	m = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	err = m == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	err = self_maps_key((unsigned long)m, k);
	munmap(m, 1);
	return err;
}

static void stat_key(const struct stat *st, struct gp_ssllib_key *k)
{
	k->major = major(st->st_dev);
	k->minor = minor(st->st_dev);
	k->ino = st->st_ino;
}

/* A path, once per file: -errno only for a path that cannot be used. */
static int offer_path(struct gp_ssllib *s, const char *path, gp_ssllib_fn fn, void *ctx)
{
	struct gp_ssllib_found f = { .path = path };
	struct gp_ssllib_key sk;
	struct key_node *n;
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	stat_key(&st, &sk);
	if (has(&s->stats, &sk))
		return 0;
	err = gp_ssllib_file_key(path, &f.key);
	if (err)
		return err;
	if (!has(&s->libs, &f.key)) {
		s->last.offered++;
		if (fn(ctx, &f))
			return 0;	/* again next scan */
	}
	n = add(&s->libs, &f.key);
	if (!n || !add(&s->stats, &sk))
		return -ENOMEM;
	n->pinned = 1;
	return 0;
}

static void scan_paths(struct gp_ssllib *s, gp_ssllib_fn fn, void *ctx)
{
	char pat[PATH_MAX];
	size_t i, j;
	glob_t g;
	int err;

	for (i = 0; i < s->o.n_paths; i++) {
		struct gp_ssllib_found f = { .path = s->o.paths[i] };

		err = offer_path(s, s->o.paths[i], fn, ctx);
		if (!err || s->path_said[i])
			continue;
		/* Said once: a path that comes later is still picked up. */
		s->path_said[i] = 1;
		f.err = err;
		fn(ctx, &f);
	}
	for (i = 0; i < sizeof(host_globs) / sizeof(host_globs[0]); i++) {
		snprintf(pat, sizeof(pat), "%s%s", s->o.host_root, host_globs[i]);
		if (glob(pat, 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++)
			offer_path(s, g.gl_pathv[j], fn, ctx);
		globfree(&g);
	}
}

/* One process's libssl mappings not seen yet, through its own root. */
static void scan_pid(struct gp_ssllib *s, int pid, gp_ssllib_fn fn, void *ctx)
{
	struct gp_ssllib_found f = { .pid = pid };
	struct gp_ssllib_key k, tried = { 0 }, real;
	char buf[PATH_MAX + 128], root[PATH_MAX];
	struct key_node *n;
	const char *path;
	FILE *m;

	snprintf(buf, sizeof(buf), "%s/%d/maps", s->o.proc, pid);
	m = fopen(buf, "re");
	if (!m) {
		s->last.denied++;
		return;
	}
	s->last.pids++;
	while (fgets(buf, sizeof(buf), m)) {
		if (!strstr(buf, "/" LIB_PREFIX) || !gp_ssllib_maps_line(buf, &k, &path))
			continue;
		/* Each library is mapped several times, once per segment. */
		n = key_eq(&k, &tried) ? NULL : find(&s->libs, &k);
		if (n)
			n->round = s->round;
		if (n || key_eq(&k, &tried))
			continue;
		tried = k;
		buf[strcspn(buf, "\n")] = '\0';
		if ((size_t)snprintf(root, sizeof(root), "%s/%d/root%s", s->o.proc, pid, path) >=
		    sizeof(root))
			continue;
		/* Through its root, the path must still name the file it maps. */
		if (gp_ssllib_file_key(root, &real) || !key_eq(&real, &k)) {
			gp_dbg("tls: %s is not the file pid %d maps, skipped", root, pid);
			continue;
		}
		f.path = root;
		f.key = k;
		s->last.offered++;
		if (fn(ctx, &f))
			continue;
		n = add(&s->libs, &k);
		if (!n)
			break;
		n->round = s->round;
	}
	fclose(m);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every PID under proc, ascending; *n of them. NULL on failure. */
static int *list_pids(const char *proc, size_t *n)
{
	size_t cap = 256;
	int *pids = malloc(cap * sizeof(*pids)), *grown;
	struct dirent *d;
	DIR *dir;

	*n = 0;
	dir = opendir(proc);
	if (!dir || !pids)
		goto fail;
	while ((d = readdir(dir))) {
		char *end;
		long v;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		v = strtol(d->d_name, &end, 10);
		if (*end || v <= 0 || v > INT_MAX)
			continue;
		if (*n == cap) {
			grown = realloc(pids, 2 * cap * sizeof(*pids));
			if (!grown)
				goto fail;
			pids = grown;
			cap *= 2;
		}
		pids[(*n)++] = (int)v;
	}
	closedir(dir);
	qsort(pids, *n, sizeof(*pids), cmp_int);
	return pids;
fail:
	if (dir)
		closedir(dir);
	free(pids);
	return NULL;
}

struct round_end {
	struct gp_ssllib *s;
	void *ctx;
};

static void forget_unmapped(void *arg, struct gp_hnode *x)
{
	struct key_node *n = gp_container_of(x, struct key_node, h);
	struct round_end *e = arg;

	if (n->pinned || n->round == e->s->round)
		return;
	e->s->o.gone(e->ctx, &n->k);
	gp_htab_del(&e->s->libs, x);
	free(n);
}

/* Every process read once more: what none of them mapped is gone. */
static void end_round(struct gp_ssllib *s, void *ctx)
{
	struct round_end e = { s, ctx };

	if (s->o.gone)
		gp_htab_each(&s->libs, forget_unmapped, &e);
	s->round++;
}

/* The next pids_per_scan processes after the cursor, wrapping round. */
static int scan_pids(struct gp_ssllib *s, gp_ssllib_fn fn, void *ctx)
{
	size_t n, i, first = 0, done;
	int *pids = list_pids(s->o.proc, &n);

	if (!pids)
		return -errno ? -errno : -ENOMEM;
	while (first < n && pids[first] <= s->cursor)
		first++;
	for (done = 0; done < n && done < s->o.pids_per_scan; done++) {
		i = (first + done) % n;
		/* Back at the lowest PID: every process was read since the last time. */
		if (pids[i] <= s->cursor)
			end_round(s, ctx);
		scan_pid(s, pids[i], fn, ctx);
		s->cursor = pids[i];
	}
	free(pids);
	return 0;
}

int gp_ssllib_scan(struct gp_ssllib *s, gp_ssllib_fn fn, void *ctx)
{
	int err;

	memset(&s->last, 0, sizeof(s->last));
	scan_paths(s, fn, ctx);
	err = scan_pids(s, fn, ctx);
	return err ? err : (int)s->last.offered;
}

const struct gp_ssllib_scan_stats *gp_ssllib_last(const struct gp_ssllib *s)
{
	return &s->last;
}

size_t gp_ssllib_count(const struct gp_ssllib *s)
{
	return s->libs.n;
}
