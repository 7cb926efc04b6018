// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test tool (root): TCP streams through the TC classifier (gp_tc) with
 * BPF_PROG_TEST_RUN, printing the GP_EV_L7 records it emits.
 *
 *   l7dump [-6] [-r KB] < SCRIPT  one flow per script, records on stdout
 *   l7dump --random N [-s SEED] [-i FIRST]   N random HTTP/1 and HTTP/2
 *                                 flows (from flow FIRST on: -i K -n 1 replays
 *                                 flow K), each checked against a reference cutter
 *   l7dump --stats                the loaded program's size and verifier cost
 *   l7dump --live IF              the agent's hooks on IF's ingress and egress:
 *                                 real traffic; "l7dump: attached" on stderr once
 *                                 hooked, the records on stdout at SIGTERM
 *
 * Script lines (C escapes \r \n \t \\ \xHH in TEXT):
 *   open [nosyn|nosynack]  handshake (SYN, SYN-ACK, ACK); nosyn sends none
 *                          (the flow is adopted), nosynack no SYN-ACK
 *   c TEXT / s TEXT        append TEXT to the client's / server's pending bytes
 *   c.h2 TYPE FLAGS STREAM LEN / s.h2 ...   append an HTTP/2 frame, LEN
 *                          payload bytes of a counting pattern
 *   c.fill N / s.fill N    append N pattern bytes
 *   c.send [SIZE,...]      send the pending bytes as segments of these sizes
 *                          (the last repeats; default 1400)
 *   c.resend OFF LEN       send stream bytes [OFF, OFF+LEN) again
 *   c.skip N               the next N pending bytes are never sent (a gap)
 *   nodrain / drain        stop reading the ring buffer / read it now and again
 *                          after every segment (with -r KB, a small ring fills)
 *   stats                  print the records so far, then l7_lost=GP_STAT_L7_LOST
 * Records print as
 *   dir=D kind=K unit=U off=O len=L flags=F reason=R proto=P data="..."
 * (data escaped in full up to 256 bytes, else fnv=HASH).
 *
 * The random mode writes its own reference cutter from the record format,
 * not from bpf/l7.bpf.h: whole streams are cut into units, and the
 * kernel's records, reassembled per unit, must match them exactly.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "grayprobe.h"
#include "collect/loader.h"

#define STREAM_MAX	(1 << 20)
#define SEG_MAX		1400
#define REC_MAX		4096

struct dirbuf {
	uint8_t *b;
	size_t len;		/* bytes appended */
	size_t sent;		/* bytes sent or skipped */
	uint32_t isn;
};

struct rec {
	struct gp_l7_event h;
	uint8_t *data;
};

static struct {
	struct gp_loader *l;
	int prog_fd, v6;
	uint16_t sport;
	struct dirbuf d[2];
	struct rec *recs;
	size_t nrec, cap;
	int nodrain;
	int live;		/* records name their flow's client port first */
} S;

static int on_event(void *ctx, void *data, size_t size)
{
	struct gp_l7_event h;
	struct rec *r;

	(void)ctx;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if (h.type != GP_EV_L7)
		return 0;
	if (S.nrec == S.cap) {
		S.cap = S.cap ? S.cap * 2 : 256;
		S.recs = realloc(S.recs, S.cap * sizeof(*S.recs));
		if (!S.recs)
			abort();
	}
	r = &S.recs[S.nrec++];
	r->h = h;
	r->data = malloc(h.len + 1);
	if (!r->data)
		abort();
	memcpy(r->data, (uint8_t *)data + sizeof(h), size - sizeof(h) < h.len ? size - sizeof(h) : h.len);
	return 0;
}

static void put16(uint8_t *p, unsigned v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* One TCP segment of direction dir (0 client) through the program. */
static int send_seg(int dir, uint8_t flags, uint32_t seq, const uint8_t *data, size_t n)
{
	uint8_t f[SEG_MAX + 128] = { 0 };
	size_t at = 14, l4 = 20 + n;
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	struct gp_test_run r = { .frame = f, .repeat = 1 };
	uint16_t sp = dir ? 80 : S.sport, dp = dir ? S.sport : 80;

	if (S.v6) {
		memcpy(a, "\xfd\x00\x01\x98\x00\x18\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(b, "\xfd\x00\x01\x98\x00\x18\0\0\0\0\0\0\0\0\0\x02", 16);
	} else {
		memcpy(a, "\xc6\x12\x00\x01", 4);
		memcpy(b, "\xc6\x12\x00\x02", 4);
	}
	put16(f + 12, S.v6 ? 0x86dd : 0x0800);
	if (S.v6) {
		f[at] = 0x60;
		put16(f + at + 4, l4);
		f[at + 6] = 6;
		f[at + 7] = 64;
		memcpy(f + at + 8, dir ? b : a, 16);
		memcpy(f + at + 24, dir ? a : b, 16);
		at += 40;
	} else {
		f[at] = 0x45;
		put16(f + at + 2, 20 + l4);
		f[at + 8] = 64;
		f[at + 9] = 6;
		memcpy(f + at + 12, dir ? b : a, 4);
		memcpy(f + at + 16, dir ? a : b, 4);
		at += 20;
	}
	put16(f + at, sp);
	put16(f + at + 2, dp);
	put32(f + at + 4, seq);
	f[at + 12] = 5 << 4;
	f[at + 13] = flags;
	put16(f + at + 14, 65535);
	memcpy(f + at + 20, data, n);
	r.len = at + 20 + n;
	if (gp_test_run(S.prog_fd, &r)) {
		fprintf(stderr, "l7dump: test_run failed\n");
		return -1;
	}
	return S.nodrain || gp_loader_drain(S.l) >= 0 ? 0 : -1;
}

static int flow_open(const char *how)
{
	uint8_t none = 0;

	memset(S.d, 0, sizeof(S.d));
	for (int i = 0; i < 2; i++) {
		S.d[i].b = calloc(1, STREAM_MAX);
		if (!S.d[i].b)
			return -1;
	}
	S.d[0].isn = 0xfffffff0u;	/* offsets wrap the sequence space early */
	S.d[1].isn = 0x12345678u;
	if (!strcmp(how, "nosyn"))
		return 0;
	if (send_seg(0, 0x02, S.d[0].isn, &none, 0))
		return -1;
	if (strcmp(how, "nosynack") && send_seg(1, 0x12, S.d[1].isn, &none, 0))
		return -1;
	return send_seg(0, 0x10, S.d[0].isn + 1, &none, 0);
}

static int send_range(int dir, size_t off, size_t n)
{
	return send_seg(dir, 0x18, S.d[dir].isn + 1 + (uint32_t)off, S.d[dir].b + off, n);
}

/* The pending bytes as segments of sizes[] (the last one repeating). */
static int flush(int dir, const size_t *sizes, size_t nsizes)
{
	struct dirbuf *d = &S.d[dir];
	size_t i = 0;

	while (d->sent < d->len) {
		size_t n = sizes[i < nsizes ? i : nsizes - 1];

		if (n > d->len - d->sent)
			n = d->len - d->sent;
		if (!n || n > SEG_MAX || send_range(dir, d->sent, n))
			return -1;
		d->sent += n;
		i++;
	}
	return 0;
}

#include "l7stream.h"

/* ---- printing ------------------------------------------------------------------ */

static const char *kind_name(unsigned k)
{
	return k == GP_L7_UNIT ? "UNIT" : k == GP_L7_END ? "END" : k == GP_L7_LOST ? "LOST" : "?";
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void print_rec(const struct rec *r)
{
	const struct gp_l7_event *h = &r->h;

	if (S.live)
		printf("cport=%u ", h->flow.sport);
	printf("dir=%u kind=%s unit=%u off=%u len=%u flags=%u reason=%u proto=%u", h->dir,
	       kind_name(h->kind), h->unit_off, h->off, h->len, h->flags, h->reason, h->proto);
	if (h->len > 256) {
		printf(" fnv=%08x\n", fnv(r->data, h->len));
		return;
	}
	printf(" data=\"");
	for (uint32_t i = 0; i < h->len; i++) {
		uint8_t c = r->data[i];

		if (c == '\r')
			printf("\\r");
		else if (c == '\n')
			printf("\\n");
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("\"\n");
}

static void clear_recs(void)
{
	for (size_t i = 0; i < S.nrec; i++)
		free(S.recs[i].data);
	S.nrec = 0;
}

/* ---- scripts ---------------------------------------------------------------------- */

static size_t unescape(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s && *s != '\n') {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case 'x': {
			char hx[3] = { s[1], s[1] ? s[2] : 0, 0 };

			out[n++] = strtoul(hx, NULL, 16);
			s += 3;
			break;
		}
		default: out[n++] = *s++; break;
		}
	}
	return n;
}

static int script_line(char *line)
{
	static uint8_t tmp[1 << 16];
	char cmd[32] = "", rest[64] = "";
	unsigned a, b, c, d;
	int dir, off = 0;

	if (sscanf(line, "%31s %n", cmd, &off) < 1 || cmd[0] == '#')
		return 0;
	if (!strcmp(cmd, "nodrain")) {
		S.nodrain = 1;
		return 0;
	}
	if (!strcmp(cmd, "drain")) {
		S.nodrain = 0;
		return gp_loader_drain(S.l) < 0 ? -1 : 0;
	}
	if (!strcmp(cmd, "stats")) {
		uint64_t v;

		if (gp_loader_drain(S.l) < 0 || gp_loader_stat(S.l, GP_STAT_L7_LOST, &v))
			return -1;
		for (size_t i = 0; i < S.nrec; i++)
			print_rec(&S.recs[i]);
		clear_recs();
		printf("l7_lost=%" PRIu64 "\n", v);
		return 0;
	}
	if (!strcmp(cmd, "open")) {
		sscanf(line + off, "%63s", rest);
		return flow_open(rest);
	}
	if ((cmd[0] != 'c' && cmd[0] != 's') || (cmd[1] && cmd[1] != '.'))
		return -1;
	dir = cmd[0] == 's';
	if (!cmd[1]) {
		append(dir, tmp, unescape(line + off, tmp));
		return 0;
	}
	if (!strcmp(cmd + 2, "h2") && sscanf(line + off, "%u %u %u %u", &a, &b, &c, &d) == 4) {
		append_h2(dir, a, b, c, d);
		return 0;
	}
	if (!strcmp(cmd + 2, "fill") && sscanf(line + off, "%u", &a) == 1) {
		append_fill(dir, a);
		return 0;
	}
	if (!strcmp(cmd + 2, "skip") && sscanf(line + off, "%u", &a) == 1) {
		S.d[dir].sent += a;
		return S.d[dir].sent <= S.d[dir].len ? 0 : -1;
	}
	if (!strcmp(cmd + 2, "resend") && sscanf(line + off, "%u %u", &a, &b) == 2)
		return a + b <= S.d[dir].len ? send_range(dir, a, b) : -1;
	if (!strcmp(cmd + 2, "send")) {
		size_t sizes[64], n = 0;
		char *p = line + off, *end;

		while (n < 64) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			sizes[n++] = v;
			p = *end == ',' ? end + 1 : end;
		}
		if (!n)
			sizes[n++] = SEG_MAX;
		return flush(dir, sizes, n);
	}
	return -1;
}

static int run_script(FILE *in)
{
	char line[1 << 17];
	unsigned ln = 0;

	while (fgets(line, sizeof(line), in)) {
		ln++;
		if (script_line(line)) {
			fprintf(stderr, "l7dump: line %u: bad or failed: %s", ln, line);
			return 1;
		}
	}
	for (size_t i = 0; i < S.nrec; i++)
		print_rec(&S.recs[i]);
	return 0;
}

/* ---- live ------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int live(const char *ifname)
{
	struct gp_ifaces ifs = { .n = 0 };
	struct gp_loader_opts o = {
		.ringbuf_kb = GP_RINGBUF_KB_DEFAULT, .on_event = on_event, .ifaces = &ifs,
		.classifier = 1, .egress = 1,
	};
	int err;

	if (gp_ifaces_add(&ifs, ifname))
		return 2;
	S.live = 1;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	err = gp_loader_open(&S.l, &o);
	if (err) {
		fprintf(stderr, "l7dump: hooking %s: %s\n", ifname, strerror(-err));
		return 3;
	}
	fprintf(stderr, "l7dump: attached\n");
	while (!stop) {
		gp_loader_drain(S.l);
		usleep(50000);
	}
	gp_loader_drain(S.l);
	for (size_t i = 0; i < S.nrec; i++)
		print_rec(&S.recs[i]);
	gp_loader_close(S.l);
	return 0;
}

/* ---- random differential ------------------------------------------------------------ */

#include "l7ref.h"

int main(int argc, char **argv)
{
	struct gp_tc_only_opts o = { .flows_max = 1024, .adopt_midstream = 1, .on_event = on_event };
	const char *stage;
	unsigned long n = 0, seed = 1, first = 0;
	int err, i, stats = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-6"))
			S.v6 = 1;
		else if (!strcmp(argv[i], "--random") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			o.ringbuf_kb = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--live") && i + 1 < argc)
			return live(argv[i + 1]);
		else if (!strcmp(argv[i], "--stats"))
			stats = 1;
		else if (!strcmp(argv[i], "-i") && i + 1 < argc)
			first = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: l7dump [-6] < SCRIPT | l7dump --random N [-s SEED]\n");
			return 2;
		}
	}
	err = gp_loader_open_tc_only(&S.l, &o, &stage);
	if (err) {
		fprintf(stderr, "l7dump: %s: %s\n", stage, strerror(-err));
		return 3;
	}
	S.prog_fd = gp_loader_tc_fd(S.l);
	S.sport = 40001;
	if (stats) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(S.prog_fd, &info, &len))
			printf("gp_tc: %u insns (xlated %u bytes, jited %u bytes), verifier processed %u\n",
			       info.xlated_prog_len / 8, info.xlated_prog_len, info.jited_prog_len,
			       info.verified_insns);
		gp_loader_close(S.l);
		return 0;
	}
	err = n ? random_flows(n, seed, first) : run_script(stdin);
	gp_loader_close(S.l);
	return err;
}
