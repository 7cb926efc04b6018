// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode/http.h"
#include "decode/l7.h"
#include "export/prom.h"
#include "pipeline/request.h"

/* n bytes of a label value escaped (2 bytes per byte at most) into out, NUL-terminated. */
static char *escape_label(char *out, const char *v, size_t n)
{
	for (; n; v++, n--) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			*out++ = '\\';
			*out++ = *v == '\n' ? 'n' : *v;
		} else {
			*out++ = *v;
		}
	}
	*out = '\0';
	return out;
}

void gp_prom_write_label(FILE *f, const char *v)
{
	size_t n = strlen(v), k;
	char buf[2 * 64 + 1];

	for (; n; v += k, n -= k) {
		k = n < 64 ? n : 64;
		escape_label(buf, v, k);
		fputs(buf, f);
	}
}

/* Room for direction="inbound",alpn="<64>",gray="<64>". */
#define TAG_LABELS_MAX	(64 + 4 * GP_TAG_MAX)

/* A series' labels, escaped once per render rather than once per line; alpn NULL: none. */
static void labels_str(char *buf, unsigned dir, const char *alpn, const char *gray)
{
	char *p = buf + sprintf(buf, "direction=\"%s\"", gp_direction_name(dir));

	if (alpn) {
		p += sprintf(p, ",alpn=\"");
		p = escape_label(p, alpn, strlen(alpn));
		*p++ = '"';
	}
	p += sprintf(p, ",gray=\"");
	p = escape_label(p, gray, strlen(gray));
	strcpy(p, "\"");
}

static void tag_labels_str(char *buf, const struct gp_tag_stats *t)
{
	labels_str(buf, t->dir, t->alpn, t->gray);
}

/* A request series' labels: gRPC ones have no alpn. */
static void req_labels_str(char *buf, const struct gp_req_stats *r)
{
	labels_str(buf, r->dir, r->grpc ? NULL : r->alpn, r->gray);
}

static void tag_labels(FILE *f, const struct gp_tag_stats *t)
{
	char buf[TAG_LABELS_MAX];

	tag_labels_str(buf, t);
	fputs(buf, f);
}

/* Whether the snapshot has a request series of the kind (gRPC or HTTP). */
static int any_reqs(const struct gp_snapshot *s, int grpc)
{
	size_t i;

	for (i = 0; i < s->n_reqs; i++)
		if (!!s->reqs[i].grpc == grpc)
			return 1;
	return 0;
}

/* The le="..." values: the same 101 bounds on every render, formatted once. */
static const char *bound_str(unsigned b)
{
	static char bounds[GP_HIST_NB][32];
	static int ready;
	unsigned i;

	if (!ready) {
		for (i = 0; i < GP_HIST_NB; i++)
			gp_fmt_seconds(bounds[i], sizeof(bounds[i]), gp_hist_bound_ns(i));
		ready = 1;
	}
	return bounds[b];
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter or gauge without labels. */
static void metric1(FILE *f, const char *type, const char *name, const char *help, uint64_t v)
{
	header(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	metric1(f, "counter", name, help, v);
}

/* Decimal digits of v at out, no NUL; returns their count (at most 20). */
static size_t u64_digits(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static size_t put(char *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	return n;
}

/*
 * NAME_bucket{LABELS,le="BOUND"} COUNT: 102 lines per tag, so assembled by
 * hand and written at once; vfprintf made up most of a render.
 */
static void bucket_line(FILE *f, const char *name, const char *lbl, const char *bound,
			uint64_t count)
{
	char line[64 + TAG_LABELS_MAX + 32 + 24];
	size_t n = 0;

	n += put(line + n, name);
	n += put(line + n, "_bucket{");
	n += put(line + n, lbl);
	n += put(line + n, ",le=\"");
	n += put(line + n, bound);
	n += put(line + n, "\"} ");
	n += u64_digits(line + n, count);
	line[n++] = '\n';
	fwrite(line, 1, n, f);
}

/* One series of a histogram: cumulative buckets, sum, count. */
static void histogram(FILE *f, const char *name, const char *lbl, const uint64_t *buckets,
		      uint64_t sum_ns)
{
	char num[32];
	uint64_t cum = 0;
	unsigned b;

	for (b = 0; b < GP_HIST_SLOTS; b++) {
		cum += buckets[b];
		bucket_line(f, name, lbl, b < GP_HIST_NB ? bound_str(b) : "+Inf", cum);
	}
	gp_fmt_seconds(num, sizeof(num), sum_ns);
	fprintf(f, "%s_sum{%s} %s\n%s_count{%s} %" PRIu64 "\n", name, lbl, num, name, lbl, cum);
}

static void render_histograms(FILE *f, const struct gp_snapshot *s)
{
	static const char name[] = "grayprobe_connect_duration_seconds";
	size_t i;

	if (!s->n_tags)
		return;
	header(f, name, "histogram",
	       "TCP handshake latency of established connections: connect start (outbound) "
	       "or SYN arrival (inbound) to ESTABLISHED.");
	for (i = 0; i < s->n_tags; i++) {
		char lbl[TAG_LABELS_MAX];

		tag_labels_str(lbl, &s->tags[i]);
		histogram(f, name, lbl, s->tags[i].buckets, s->tags[i].sum_ns);
	}
}

static uint64_t hs_count(const struct gp_tag_stats *t)
{
	uint64_t n = 0;
	unsigned b;

	for (b = 0; b < GP_HIST_SLOTS; b++)
		n += t->hs_buckets[b];
	return n;
}

/* Only tags with a handshake: most (none, http/1.1, h2c) never have one. */
static void render_tls_handshakes(FILE *f, const struct gp_snapshot *s)
{
	static const char name[] = "grayprobe_tls_handshake_duration_seconds";
	size_t i;
	int any = 0;

	for (i = 0; i < s->n_tags; i++) {
		char lbl[TAG_LABELS_MAX];

		if (!hs_count(&s->tags[i]))
			continue;
		if (!any++)
			header(f, name, "histogram",
			       "TLS handshake time as the client's bytes show it at TC: its "
			       "ClientHello to its first application-data record.");
		tag_labels_str(lbl, &s->tags[i]);
		histogram(f, name, lbl, s->tags[i].hs_buckets, s->tags[i].hs_sum_ns);
	}
}

static void render_connections(FILE *f, const struct gp_snapshot *s)
{
	size_t i;
	int r;

	if (!s->n_tags)
		return;
	header(f, "grayprobe_connections_total", "counter",
	       "TCP connection attempts by outcome: established, refused (RST), timeout, "
	       "unreachable (ICMP), abandoned (closed by the client while connecting), other.");
	for (i = 0; i < s->n_tags; i++) {
		for (r = 0; r < GP_RES_MAX; r++) {
			fputs("grayprobe_connections_total{", f);
			tag_labels(f, &s->tags[i]);
			fprintf(f, ",result=\"%s\"} %" PRIu64 "\n", gp_result_name(r),
				s->tags[i].results[r]);
		}
	}
}

static void render_bytes(FILE *f, const struct gp_snapshot *s)
{
	size_t i;

	if (!s->n_tags)
		return;
	header(f, "grayprobe_flow_bytes_total", "counter",
	       "TCP payload bytes, both ways, of the tag's flows as the TC classifier saw them.");
	for (i = 0; i < s->n_tags; i++) {
		fputs("grayprobe_flow_bytes_total{", f);
		tag_labels(f, &s->tags[i]);
		fprintf(f, "} %" PRIu64 "\n", s->tags[i].bytes);
	}
}

static void render_req_histograms(FILE *f, const struct gp_snapshot *s, int grpc)
{
	const char *name = grpc ? "grayprobe_grpc_request_duration_seconds" :
				  "grayprobe_http_request_duration_seconds";
	size_t i;

	if (!any_reqs(s, grpc))
		return;
	header(f, name, "histogram", grpc ?
	       "gRPC call latency: the request's first byte to its response's first byte, "
	       "as seen at this node." :
	       "HTTP request latency: the request's first byte to its final response's "
	       "first byte (interim 1xx not counted), as seen at this node.");
	for (i = 0; i < s->n_reqs; i++) {
		char lbl[TAG_LABELS_MAX];

		if (!!s->reqs[i].grpc != grpc)
			continue;
		req_labels_str(lbl, &s->reqs[i]);
		histogram(f, name, lbl, s->reqs[i].buckets, s->reqs[i].sum_ns);
	}
}

static void render_req_counts(FILE *f, const struct gp_snapshot *s, int grpc)
{
	const char *name = grpc ? "grayprobe_grpc_requests_total" : "grayprobe_http_requests_total";
	unsigned n = grpc ? GP_GRPC_SLOTS : GP_CODE_MAX, k;
	size_t i;

	if (!any_reqs(s, grpc))
		return;
	header(f, name, "counter", grpc ?
	       "gRPC calls by grpc-status (trailers or trailers-only response), or reset "
	       "(stream or connection reset or closed first), or none (no status within "
	       "--request-timeout)." :
	       "HTTP requests by response status class, or reset (stream or connection reset "
	       "or closed before a response), or none (no response within --request-timeout).");
	for (i = 0; i < s->n_reqs; i++) {
		const struct gp_req_stats *r = &s->reqs[i];
		char lbl[TAG_LABELS_MAX];

		if (!!r->grpc != grpc)
			continue;
		req_labels_str(lbl, r);
		for (k = 0; k < n; k++)
			fprintf(f, "%s{%s,%s=\"%s\"} %" PRIu64 "\n", name, lbl,
				grpc ? "status" : "code",
				grpc ? gp_grpc_slot_name(k) : gp_req_code_name(k),
				grpc ? r->grpc_status[k] : r->codes[k]);
	}
}

static void render_undecoded(FILE *f, const struct gp_snapshot *s)
{
	static const char name[] = "grayprobe_requests_undecoded_total";
	char help[512];
	unsigned d, r;

	snprintf(help, sizeof(help),
		 "HTTP requests whose gray tag (counted under gray=\"unknown\") or status could "
		 "not be decoded, by why; direction=\"unknown\" reason=\"no_socket\": requests "
		 "of flows no socket on this node owns, not counted elsewhere; "
		 "direction=\"unknown\" reason=\"open_limit\": requests not followed because "
		 "%u were waiting for a response already, not counted elsewhere either "
		 "(lower --request-timeout, or raise the build's GP_REQ_OPEN_MAX).",
		 GP_REQ_OPEN_MAX);
	header(f, name, "counter", help);
	for (d = 0; d < GP_DIR_MAX; d++)
		for (r = GP_HTTP_LOST_GAP; r < GP_HTTP_LOST_MAX; r++)
			fprintf(f, "%s{direction=\"%s\",reason=\"%s\"} %" PRIu64 "\n", name,
				gp_direction_name(d), gp_http_lost_name(r), s->req_undecoded[d][r]);
	fprintf(f, "%s{direction=\"unknown\",reason=\"no_socket\"} %" PRIu64 "\n", name,
		s->req_unattributed);
	/* Counted once, not per direction: the tracker drops them before it knows those. */
	fprintf(f, "%s{direction=\"unknown\",reason=\"open_limit\"} %" PRIu64 "\n", name,
		s->req_open_dropped);
}

static void render_requests(FILE *f, const struct gp_snapshot *s)
{
	render_req_histograms(f, s, 0);
	render_req_counts(f, s, 0);
	render_req_histograms(f, s, 1);
	render_req_counts(f, s, 1);
	render_undecoded(f, s);
	counter(f, "grayprobe_requests_overflow_total",
		"Requests recorded under alpn=\"other\" (gRPC: alpn-less) because the tag cap "
		"was reached: gray=\"other\", or the gray when a fixed-value rule gave it.",
		s->req_overflow);
}

/* Records that arrived but were not decoded: none of them is in the counts above. */
static void render_records_undecoded(FILE *f, const struct gp_snapshot *s)
{
	static const char name[] = "grayprobe_http_records_undecoded_total";
	char help[640];

	snprintf(help, sizeof(help),
		 "HTTP records (heads, frames) delivered but not decoded, by why: "
		 "conn_table_full: records of a new connection while %u were followed "
		 "(until they end or go idle); its requests are counted nowhere: raise the "
		 "build's GP_L7_CONNS_MAX. contradicting: records that do not continue their "
		 "unit (offset, order, size); their direction is counted in "
		 "grayprobe_requests_undecoded_total{reason=\"gap\"|\"malformed\"}: "
		 "it should stay 0, report it with a capture.", GP_L7_CONNS_MAX);
	header(f, name, "counter", help);
	fprintf(f, "%s{reason=\"conn_table_full\"} %" PRIu64 "\n", name, s->l7_conns_dropped);
	fprintf(f, "%s{reason=\"contradicting\"} %" PRIu64 "\n", name, s->l7_bad_records);
}

/* TLS plaintext records: every one is in exactly one of these, or lost. */
static void render_tls(FILE *f, const struct gp_snapshot *s)
{
	static const char name[] = "grayprobe_tls_records_total";
	unsigned r;

	header(f, name, "counter",
	       "TLS plaintext records (one per SSL_read/SSL_write call that moved bytes) by what "
	       "became of them: decoded into requests; other_end: the flow's other end on this "
	       "node was decoded instead; no_flow: the calls' socket is not a flow the classifier "
	       "follows (an interface not hooked, or no socket seen): not decoded, never guessed; "
	       "not_http; table_full.");
	for (r = 0; r < GP_TLS_R_MAX; r++)
		fprintf(f, "%s{result=\"%s\"} %" PRIu64 "\n", name, gp_tls_result_name(r),
			s->tls.records[r]);
	counter(f, "grayprobe_tls_records_lost_total",
		"TLS plaintext records the uprobes could not deliver (ring buffer full); the "
		"session's requests from there are counted undecoded (reason=\"gap\" over HTTP/1, "
		"\"midstream\" over HTTP/2).",
		s->lost_tls);
	metric1(f, "gauge", "grayprobe_tls_sessions", "TLS sessions (SSL objects) followed now.",
		s->tls.sessions);
}

/* What did not reach the counts above: kernel-side losses and records not decoded. */
static void render_losses(FILE *f, const struct gp_snapshot *s)
{
	counter(f, "grayprobe_events_total", "Connection outcome events received from the kernel.",
		s->events);

	header(f, "grayprobe_events_lost_total", "counter",
	       "Connection outcomes lost: ring buffer full, too many connects in flight "
	       "to track, or a record the loader could not decode.");
	fprintf(f, "grayprobe_events_lost_total{reason=\"ringbuf_full\"} %" PRIu64 "\n",
		s->lost_ringbuf);
	fprintf(f, "grayprobe_events_lost_total{reason=\"track_table_full\"} %" PRIu64 "\n",
		s->lost_track);
	fprintf(f, "grayprobe_events_lost_total{reason=\"malformed\"} %" PRIu64 "\n",
		s->lost_malformed);

	counter(f, "grayprobe_payload_records_lost_total",
		"First-payload records the classifier could not deliver (ring buffer full); "
		"their flows may be tagged alpn=\"unknown\" or \"none\".",
		s->lost_payload);

	counter(f, "grayprobe_http_records_lost_total",
		"HTTP records (heads, frames) the classifier could not deliver (ring buffer "
		"full); their connection's direction is counted undecoded from there "
		"(grayprobe_requests_undecoded_total{reason=\"ringbuf\"}).",
		s->lost_l7);
	render_records_undecoded(f, s);

	render_tls(f, s);

	counter(f, "grayprobe_packets_malformed_total",
		"TCP/IP packets the classifier skipped because their headers were cut short "
		"or inconsistent.",
		s->pkt_malformed);
}

static void render_build_info(FILE *f, const struct gp_snapshot *s)
{
	header(f, "grayprobe_build_info", "gauge",
	       "grayprobe version and the kernel hooks this agent attached.");
	fputs("grayprobe_build_info{version=\"", f);
	gp_prom_write_label(f, s->version ? s->version : "");
	fputs("\",connect_hook=\"", f);
	gp_prom_write_label(f, s->connect_hook ? s->connect_hook : "");
	fputs("\",state_hook=\"", f);
	gp_prom_write_label(f, s->state_hook ? s->state_hook : "");
	fputs("\"} 1\n", f);
}

int gp_prom_render(FILE *f, const struct gp_snapshot *s)
{
	render_histograms(f, s);
	render_connections(f, s);
	render_bytes(f, s);
	render_tls_handshakes(f, s);
	render_requests(f, s);
	render_losses(f, s);

	counter(f, "grayprobe_tags_overflow_total",
		"Outcomes recorded under alpn=\"other\" because the tag cap was reached: "
		"gray=\"other\", or the gray when a fixed-value rule gave it.",
		s->tags_overflow);

	counter(f, "grayprobe_tags_retired_total",
		"Tags (connection tags and request tags) removed after --tag-idle without "
		"traffic; their series leave this file and start over if the tag comes back.",
		s->tags_retired);

	counter(f, "grayprobe_gray_values_rejected_total",
		"Outcomes whose HTTP header value a gray rule's ~ list did not accept "
		"(that rule did not match).",
		s->gray_rejected);

	counter(f, "grayprobe_textfile_write_errors_total",
		"Textfile rewrites that failed; the previous file was left in place.",
		s->textfile_errors);

	render_build_info(f, s);
	return ferror(f) ? -EIO : 0;
}

/* The temporary file beside path; node_exporter only reads *.prom, so it never matches. */
static int open_tmp(const char *path, char tmp[PATH_MAX])
{
	int fd;

	if (snprintf(tmp, PATH_MAX, "%s.tmp.%ld", path, (long)getpid()) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	return fd < 0 ? -errno : fd;
}

int gp_textfile_probe(const char *path, char *why, size_t len)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd;

	/* rename() over a directory or a device would fail every interval. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" :
			 "not a regular file");
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	fd = open_tmp(path, tmp);
	if (fd < 0) {
		snprintf(why, len, "%s: cannot create %s: %s", path,
			 fd == -ENAMETOOLONG ? "its temporary file" : tmp, strerror(-fd));
		return fd;
	}
	close(fd);
	unlink(tmp);
	return 0;
}

int gp_prom_render_mem(const struct gp_snapshot *snap, char **buf, size_t *len)
{
	FILE *f;
	int err;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	err = gp_prom_render(f, snap);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return err;
}

size_t gp_prom_series(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t n = 0;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		n += nl > p && *p != '#';
	}
	return n;
}

int gp_textfile_write_bytes(const char *path, const char *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, err = 0;
	ssize_t n;

	fd = open_tmp(path, tmp);
	if (fd < 0)
		return fd;
	while (len && !err) {
		n = write(fd, buf, len);
		if (n < 0 && errno != EINTR)
			err = -errno;
		if (n > 0) {
			buf += n;
			len -= n;
		}
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	/*
	 * No fsync: rename() already keeps readers from seeing half a file, and
	 * after a crash the next interval rewrites it; durability is not worth
	 * a disk flush every interval on every node.
	 */
	if (err)
		unlink(tmp);
	return err;
}

int gp_textfile_write(const char *path, const struct gp_snapshot *snap)
{
	char *buf;
	size_t len;
	int err;

	err = gp_prom_render_mem(snap, &buf, &len);
	if (!err)
		err = gp_textfile_write_bytes(path, buf, len);
	free(buf);
	return err;
}
