// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prometheus textfile: node_exporter rejects the whole file on one bad line,
 * so the output is pinned byte for byte to a golden file.
 */
#define _GNU_SOURCE	/* open_memstream */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/prom.h"
#include "pipeline/request.h"
#include "unit.h"

#ifndef PROMTOOL
#define PROMTOOL	"/usr/bin/promtool"
#endif

/* GP_SRCDIR is the project root, passed by the Makefile: any cwd works. */
static const char golden_basic[] = GP_SRCDIR "/tests/unit/golden/basic.prom";


static void record(struct gp_agg *a, enum gp_direction dir, const char *alpn, const char *gray,
		   enum gp_result res, uint64_t latency_ns)
{
	struct gp_conn c = make_conn(dir, alpn, gray, res, latency_ns);

	gp_agg_record(a, &c);
}

static void request(struct gp_agg *a, enum gp_direction dir, const char *alpn, const char *gray,
		    int status, unsigned code, int grpc_slot, uint64_t latency_ns)
{
	struct gp_request r;

	memset(&r, 0, sizeof(r));
	r.dir = dir;
	snprintf(r.alpn, sizeof(r.alpn), "%s", alpn);
	snprintf(r.gray, sizeof(r.gray), "%s", gray);
	r.status = status;
	r.code = code;
	r.grpc = grpc_slot >= 0;
	r.grpc_slot = grpc_slot >= 0 ? (unsigned)grpc_slot : 0;
	r.has_latency = latency_ns != 0;
	r.latency_ns = latency_ns;
	gp_agg_record_request(a, &r);
}

/*
 * Requests of the golden scenario: HTTP/1 and h2c series, a gRPC one, an
 * undecoded one under gray "unknown", one without a status, one of a flow
 * no socket claims.
 */
static void basic_requests(struct gp_agg *a)
{
	struct gp_request r;

	request(a, GP_DIR_OUTBOUND, "http/1.1", "stable", 200, GP_CODE_2XX, -1, 1000000);
	request(a, GP_DIR_OUTBOUND, "http/1.1", "stable", 503, GP_CODE_5XX, -1, 150000000);
	request(a, GP_DIR_OUTBOUND, "http/1.1", "stable", 0, GP_CODE_RESET, -1, 0);
	request(a, GP_DIR_INBOUND, "h2c", "canary", 200, GP_CODE_2XX, 0, 2000000);
	request(a, GP_DIR_INBOUND, "h2c", "canary", 200, GP_CODE_2XX, 14, 1250);
	request(a, GP_DIR_INBOUND, "h2c", "canary", 0, GP_CODE_NONE, GP_GRPC_NONE, 0);
	memset(&r, 0, sizeof(r));
	r.dir = GP_DIR_INBOUND;
	strcpy(r.alpn, "h2c");
	strcpy(r.gray, "unknown");
	r.status = 404;
	r.code = GP_CODE_4XX;
	r.undecoded = 1;
	r.reason = GP_HTTP_LOST_HPACK;
	gp_agg_record_request(a, &r);
	r.no_status = 1;
	r.reason = GP_HTTP_LOST_GAP;
	r.dir = GP_DIR_OUTBOUND;
	gp_agg_record_request(a, &r);
	r.dir = GP_DIR_MAX;
	gp_agg_record_request(a, &r);
}

/*
 * The golden scenario. Interleaved on purpose so the snapshot must sort.
 * Established latencies hit: exactly the first bound (1 us), inside and on
 * the 1.25 us bound, 3 ms (le 0.003072), 250 us (le 0.000256), 40 s (+Inf).
 */
static void basic_snapshot(struct gp_snapshot *s)
{
	struct gp_agg *a = gp_agg_new(64);

	assert_non_null(a);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1000);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1200);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_RES_ESTABLISHED, 40000000000ull);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_REFUSED, 500000);
	record(a, GP_DIR_INBOUND, "none", "stable", GP_RES_ESTABLISHED, 250000);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 1250);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_TIMEOUT, 3000000000ull);
	record(a, GP_DIR_INBOUND, "h2", "x\"y\\z", GP_RES_OTHER, 0);
	record(a, GP_DIR_OUTBOUND, "http/1.1", "canary", GP_RES_REFUSED, 700000);
	record(a, GP_DIR_OUTBOUND, "h2", "stable", GP_RES_ESTABLISHED, 3000000);
	record(a, GP_DIR_INBOUND, "none", "stable", GP_RES_UNREACHABLE, 1000000);
	/* Flow bytes come in deltas; a tag without any keeps a 0 series. */
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 1000000);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "http/1.1", "canary", 0, 517);
	gp_agg_add_bytes(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 234567);
	gp_agg_add_bytes(a, GP_DIR_INBOUND, "h2", "x\"y\\z", 0, 1);
	/* TLS handshakes: only tags that have one get the histogram. */
	gp_agg_add_handshake(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 2000000);
	gp_agg_add_handshake(a, GP_DIR_OUTBOUND, "h2", "stable", 0, 1950001);
	gp_agg_add_handshake(a, GP_DIR_INBOUND, "h2", "x\"y\\z", 0, 40000000000ull);
	basic_requests(a);

	memset(s, 0, sizeof(*s));
	assert_int_equal(gp_agg_snapshot(a, s), 0);
	gp_agg_free(a);
	s->version = "0.1.0";
	s->connect_hook = "state";
	s->state_hook = "tp_btf";
	s->lost_ringbuf = 3;
	/* Largest counter: must print as an integer, never as a float. */
	s->lost_track = UINT64_MAX;
	s->lost_malformed = 2;
	s->lost_payload = 7;
	s->lost_l7 = 3;
	s->l7_conns_dropped = 17;
	s->l7_bad_records = 19;
	s->req_open_dropped = 23;
	s->pkt_malformed = 11;
	s->textfile_errors = 2;
	s->tags_retired = 5;
	s->gray_rejected = 13;
}

static char *render(const struct gp_snapshot *s, size_t *len)
{
	struct mem m;
	char *out;

	mem_open(&m);
	assert_int_equal(gp_prom_render(m.f, s), 0);
	out = mem_close(&m);
	if (len)
		*len = m.len;
	return out;
}

/* Names the first differing line: a 456-line blob diff is unreadable. */
static void assert_text_equal(const char *got, const char *want, const char *what)
{
	const char *g = got, *w = want;
	unsigned line = 1;

	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	if (*g || *w) {
		const char *ge = strchr(g, '\n'), *we = strchr(w, '\n');

		while (g > got && g[-1] != '\n')
			g--;
		while (w > want && w[-1] != '\n')
			w--;
		fail_msg("%s differs at line %u:\n  got:  %.*s\n  want: %.*s", what, line,
			 ge ? (int)(ge - g) : (int)strlen(g), g,
			 we ? (int)(we - w) : (int)strlen(w), w);
	}
}

static void test_golden_basic(void **state)
{
	struct gp_snapshot s;
	size_t glen, rlen;
	char *want, *got;

	(void)state;
	basic_snapshot(&s);
	assert_int_equal(s.n_tags, 4);
	assert_int_equal(s.events, 11);
	got = render(&s, &rlen);
	/* GP_GOLDEN_WRITE=1 rewrites the golden file: review its diff. */
	if (getenv("GP_GOLDEN_WRITE")) {
		FILE *f = fopen(golden_basic, "w");

		assert_non_null(f);
		fwrite(got, 1, rlen, f);
		fclose(f);
	}
	want = slurp(golden_basic, &glen);
	assert_text_equal(got, want, golden_basic);
	assert_int_equal(rlen, glen);
	assert_memory_equal(got, want, glen);
	free(got);
	free(want);
	gp_snapshot_release(&s);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Structural checks that hold for any snapshot, independent of the golden text. */
static void test_render_invariants(void **state)
{
	/* Connection and request histograms alike. */
	static const char bucket[] = "_duration_seconds_bucket{";
	static const char count[] = "_duration_seconds_count{";
	static const char sum[] = "_duration_seconds_sum{";
	static const char bytes[] = "grayprobe_flow_bytes_total{";
	unsigned long long prev = 0, inf = 0, n_inf = 0, n_count = 0, n_first = 0, n_bytes = 0;
	struct gp_snapshot s;
	char *out, *line, *nl;

	(void)state;
	basic_snapshot(&s);
	out = render(&s, NULL);
	assert_true(out[0] && out[strlen(out) - 1] == '\n');
	for (line = out; *line; line = nl + 1) {
		const char *val, *close;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		assert_true(line[0] != '\0');
		if (line[0] == '#') {
			assert_true(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
			continue;
		}
		/* "name{labels} value" or "name value": a third field would be a timestamp. */
		val = strrchr(line, ' ');
		assert_non_null(val);
		val++;
		close = strrchr(line, '}');
		if (close)
			assert_ptr_equal(val, close + 2);
		else
			assert_ptr_equal(strchr(line, ' '), val - 1);
		if (strstr(line, sum))
			continue;	/* seconds: the only non-integer samples */
		if (!all_digits(val))
			fail_msg("not an integer sample: %s", line);
		if (strstr(line, bucket)) {
			unsigned long long v = strtoull(val, NULL, 10);

			if (strstr(line, ",le=\"0.000001\"}")) {
				prev = 0;	/* first bucket of a series */
				n_first++;
			}
			assert_true(v >= prev);
			prev = v;
			if (strstr(line, ",le=\"+Inf\"}")) {
				inf = v;
				n_inf++;
			}
		} else if (strstr(line, count)) {
			assert_int_equal(strtoull(val, NULL, 10), inf);
			n_count++;
		} else if (!strncmp(line, bytes, sizeof(bytes) - 1)) {
			n_bytes++;
		}
	}
	/* 4 connection tags, 2 of them with handshakes, 3 HTTP request series, 1 gRPC one. */
	assert_int_equal(n_first, 10);
	assert_int_equal(n_inf, 10);
	assert_int_equal(n_count, 10);
	/* One bytes series per tag, even one whose flows carried nothing yet. */
	assert_int_equal(n_bytes, 4);
	free(out);
	gp_snapshot_release(&s);
}

static void check_label(const char *in, const char *want)
{
	struct mem m;
	char *out;

	mem_open(&m);
	gp_prom_write_label(m.f, in);
	out = mem_close(&m);
	assert_string_equal(out, want);
	free(out);
}

static void test_label_escaping(void **state)
{
	(void)state;
	check_label("", "");
	check_label("plain", "plain");
	check_label("a\\b", "a\\\\b");
	check_label("say \"hi\"", "say \\\"hi\\\"");
	check_label("two\nlines", "two\\nlines");
	check_label("\\\"\n", "\\\\\\\"\\n");
	/* Only those three are special: tab, UTF-8 and braces pass through. */
	check_label("t\tb {x=\"1\"} \xc3\xa9", "t\tb {x=\\\"1\\\"} \xc3\xa9");
}

static const char empty_text[] =
	"# HELP grayprobe_requests_undecoded_total HTTP requests whose gray tag (counted under "
	"gray=\"unknown\") or status could not be decoded, by why; direction=\"unknown\" "
	"reason=\"no_socket\": requests of flows no socket on this node owns, not counted "
	"elsewhere; direction=\"unknown\" reason=\"open_limit\": requests not followed "
	"because 65536 were waiting for a response already, not counted elsewhere either "
	"(lower --request-timeout, or raise the build's GP_REQ_OPEN_MAX).\n"
	"# TYPE grayprobe_requests_undecoded_total counter\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"gap\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"ringbuf\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"midstream\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"malformed\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"hpack\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"head\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"outbound\",reason=\"truncated\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"gap\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"ringbuf\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"midstream\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"malformed\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"hpack\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"head\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"inbound\",reason=\"truncated\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"unknown\",reason=\"no_socket\"} 0\n"
	"grayprobe_requests_undecoded_total{direction=\"unknown\",reason=\"open_limit\"} 0\n"
	"# HELP grayprobe_requests_overflow_total Requests recorded under alpn=\"other\" (gRPC: "
	"alpn-less) because the tag cap was reached: gray=\"other\", or the gray when a "
	"fixed-value rule gave it.\n"
	"# TYPE grayprobe_requests_overflow_total counter\n"
	"grayprobe_requests_overflow_total 0\n"
	"# HELP grayprobe_events_total Connection outcome events received from the kernel.\n"
	"# TYPE grayprobe_events_total counter\n"
	"grayprobe_events_total 0\n"
	"# HELP grayprobe_events_lost_total Connection outcomes lost: ring buffer full, too many "
	"connects in flight to track, or a record the loader could not decode.\n"
	"# TYPE grayprobe_events_lost_total counter\n"
	"grayprobe_events_lost_total{reason=\"ringbuf_full\"} 0\n"
	"grayprobe_events_lost_total{reason=\"track_table_full\"} 5\n"
	"grayprobe_events_lost_total{reason=\"malformed\"} 0\n"
	"# HELP grayprobe_payload_records_lost_total First-payload records the classifier could "
	"not deliver (ring buffer full); their flows may be tagged alpn=\"unknown\" or \"none\".\n"
	"# TYPE grayprobe_payload_records_lost_total counter\n"
	"grayprobe_payload_records_lost_total 0\n"
	"# HELP grayprobe_http_records_lost_total HTTP records (heads, frames) the classifier "
	"could not deliver (ring buffer full); their connection's direction is counted undecoded "
	"from there (grayprobe_requests_undecoded_total{reason=\"ringbuf\"}).\n"
	"# TYPE grayprobe_http_records_lost_total counter\n"
	"grayprobe_http_records_lost_total 0\n"
	"# HELP grayprobe_http_records_undecoded_total HTTP records (heads, frames) delivered "
	"but not decoded, by why: conn_table_full: records of a new connection while 65536 were "
	"followed (until they end or go idle); its requests are counted nowhere: raise the "
	"build's GP_L7_CONNS_MAX. contradicting: records that do not continue their unit "
	"(offset, order, size); their direction is counted in "
	"grayprobe_requests_undecoded_total{reason=\"gap\"|\"malformed\"}: it should stay 0, report "
	"it with a capture.\n"
	"# TYPE grayprobe_http_records_undecoded_total counter\n"
	"grayprobe_http_records_undecoded_total{reason=\"conn_table_full\"} 0\n"
	"grayprobe_http_records_undecoded_total{reason=\"contradicting\"} 0\n"
	"# HELP grayprobe_tls_records_total TLS plaintext records (one per SSL_read/SSL_write call that moved bytes) by what became of them: decoded into requests; other_end: the flow's other end on this node was decoded instead; no_flow: the calls' socket is not a flow the classifier follows (an interface not hooked, or no socket seen): not decoded, never guessed; not_http; table_full.\n"
	"# TYPE grayprobe_tls_records_total counter\n"
	"grayprobe_tls_records_total{result=\"decoded\"} 0\n"
	"grayprobe_tls_records_total{result=\"other_end\"} 0\n"
	"grayprobe_tls_records_total{result=\"no_flow\"} 0\n"
	"grayprobe_tls_records_total{result=\"not_http\"} 0\n"
	"grayprobe_tls_records_total{result=\"table_full\"} 0\n"
	"# HELP grayprobe_tls_records_lost_total TLS plaintext records the uprobes could not deliver (ring buffer full); the session's requests from there are counted undecoded (reason=\"gap\" over HTTP/1, \"midstream\" over HTTP/2).\n"
	"# TYPE grayprobe_tls_records_lost_total counter\n"
	"grayprobe_tls_records_lost_total 0\n"
	"# HELP grayprobe_tls_sessions TLS sessions (SSL objects) followed now.\n"
	"# TYPE grayprobe_tls_sessions gauge\n"
	"grayprobe_tls_sessions 0\n"
	"# HELP grayprobe_packets_malformed_total TCP/IP packets the classifier skipped because "
	"their headers were cut short or inconsistent.\n"
	"# TYPE grayprobe_packets_malformed_total counter\n"
	"grayprobe_packets_malformed_total 0\n"
	"# HELP grayprobe_tags_overflow_total Outcomes recorded under alpn=\"other\" because the "
	"tag cap was reached: gray=\"other\", or the gray when a fixed-value rule gave it.\n"
	"# TYPE grayprobe_tags_overflow_total counter\n"
	"grayprobe_tags_overflow_total 0\n"
	"# HELP grayprobe_tags_retired_total Tags (connection tags and request tags) removed after "
	"--tag-idle without traffic; their series leave this file and start over if the tag comes "
	"back.\n"
	"# TYPE grayprobe_tags_retired_total counter\n"
	"grayprobe_tags_retired_total 0\n"
	"# HELP grayprobe_gray_values_rejected_total Outcomes whose HTTP header value a gray rule's "
	"~ list did not accept (that rule did not match).\n"
	"# TYPE grayprobe_gray_values_rejected_total counter\n"
	"grayprobe_gray_values_rejected_total 0\n"
	"# HELP grayprobe_textfile_write_errors_total Textfile rewrites that failed; "
	"the previous file was left in place.\n"
	"# TYPE grayprobe_textfile_write_errors_total counter\n"
	"grayprobe_textfile_write_errors_total 0\n"
	"# HELP grayprobe_build_info grayprobe version and the kernel hooks this agent attached.\n"
	"# TYPE grayprobe_build_info gauge\n"
	"grayprobe_build_info{version=\"0.1.0\",connect_hook=\"kprobe\",state_hook=\"raw_tp\"} 1\n";

static void test_empty_agg(void **state)
{
	struct gp_agg *a = gp_agg_new(64);
	struct gp_snapshot s;
	char *out;

	(void)state;
	assert_non_null(a);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_agg_snapshot(a, &s), 0);
	gp_agg_free(a);
	s.version = "0.1.0";
	s.connect_hook = "kprobe";
	s.state_hook = "raw_tp";
	s.lost_track = 5;
	out = render(&s, NULL);
	/* A histogram family with no series would be an empty, confusing metric. */
	assert_null(strstr(out, "grayprobe_connect_duration_seconds"));
	assert_null(strstr(out, "grayprobe_connections_total"));
	assert_null(strstr(out, "grayprobe_flow_bytes_total"));
	assert_null(strstr(out, "grayprobe_http_request"));
	assert_null(strstr(out, "grayprobe_grpc_request"));
	assert_text_equal(out, empty_text, "empty render");
	free(out);
	gp_snapshot_release(&s);
}

static void test_build_info_unset_and_escaped(void **state)
{
	struct gp_snapshot s;
	char *out;

	(void)state;
	memset(&s, 0, sizeof(s));
	out = render(&s, NULL);
	assert_non_null(strstr(out, "\ngrayprobe_build_info{version=\"\",connect_hook=\"\","
				    "state_hook=\"\"} 1\n"));
	free(out);
	s.version = "0.1.0-\"dirty\"";
	out = render(&s, NULL);
	assert_non_null(strstr(out, "{version=\"0.1.0-\\\"dirty\\\"\","));
	free(out);
}

static void test_render_reports_write_error(void **state)
{
	struct gp_snapshot s;
	FILE *f;

	(void)state;
	/* A stream that refuses writes: ENOSPC and friends must not pass silently. */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_prom_render(f, &s), -EIO);
	fclose(f);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/gp-test-prom.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

/* Names in dir other than "." and ".."; fails the test on any *.tmp.* leftover. */
static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strstr(de->d_name, ".tmp."))
			fail_msg("temporary file left behind: %s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void rm_tmpdir(char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path))
				rmdir(path);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

static void test_textfile_write(void **state)
{
	char *dir = make_tmpdir(), path[PATH_MAX];
	struct gp_snapshot s, e;
	char *want, *got;
	size_t wlen, glen;
	struct stat st;
	mode_t mask = umask(0);

	(void)state;
	umask(mask);
	snprintf(path, sizeof(path), "%s/grayprobe.prom", dir);
	basic_snapshot(&s);
	assert_int_equal(gp_textfile_write(path, &s), 0);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* Created 0644 so node_exporter, often another user, can read it (umask permitting). */
	assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
	want = render(&s, &wlen);
	got = slurp(path, &glen);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	free(got);
	free(want);

	/* A rewrite replaces the whole file, never appends or leaves a tail. */
	memset(&e, 0, sizeof(e));
	e.version = "0.1.0";
	e.connect_hook = "kprobe";
	e.state_hook = "raw_tp";
	e.lost_track = 5;
	assert_int_equal(gp_textfile_write(path, &e), 0);
	assert_int_equal(count_entries(dir), 1);
	got = slurp(path, &glen);
	assert_text_equal(got, empty_text, path);
	assert_int_equal(glen, sizeof(empty_text) - 1);
	free(got);

	gp_snapshot_release(&s);
	rm_tmpdir(dir);
}

static void test_textfile_missing_dir(void **state)
{
	char *dir = make_tmpdir(), path[PATH_MAX], missing[PATH_MAX];
	struct gp_snapshot s;
	int rc;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	snprintf(path, sizeof(path), "%s/nope/grayprobe.prom", dir);
	memset(&s, 0, sizeof(s));
	rc = gp_textfile_write(path, &s);
	assert_true(rc < 0);
	assert_int_equal(rc, -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(missing, F_OK), -1);
	assert_int_equal(count_entries(dir), 0);
	rm_tmpdir(dir);
}

static void test_textfile_target_is_directory(void **state)
{
	char *dir = make_tmpdir(), path[PATH_MAX];
	struct gp_snapshot s;
	struct stat st;
	int rc;

	(void)state;
	/* rename() fails after the temp file is complete: it must still be removed. */
	snprintf(path, sizeof(path), "%s/grayprobe.prom", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	memset(&s, 0, sizeof(s));
	rc = gp_textfile_write(path, &s);
	assert_true(rc < 0);
	assert_int_equal(rc, -EISDIR);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	rm_tmpdir(dir);
}

static void test_textfile_name_too_long(void **state)
{
	char path[PATH_MAX];
	struct gp_snapshot s;

	(void)state;
	/* Fits PATH_MAX itself, but not with the ".tmp.PID" suffix. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 4] = '\0';
	memset(&s, 0, sizeof(s));
	assert_int_equal(gp_textfile_write(path, &s), -ENAMETOOLONG);
}

/* One rendering for the textfile and the HTTP endpoint: the same bytes, and their series. */
static void test_render_mem_and_series(void **state)
{
	char *dir = make_tmpdir(), path[PATH_MAX], *buf, *want, *got, *p;
	size_t len, wlen, glen, lines = 0;
	struct gp_snapshot s;

	(void)state;
	basic_snapshot(&s);
	assert_int_equal(gp_prom_render_mem(&s, &buf, &len), 0);
	want = render(&s, &wlen);
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, want, len);
	for (p = want; (p = strchr(p, '\n')); p++)
		lines += p[1] && p[1] != '#';
	lines += want[0] != '#';
	assert_int_equal(gp_prom_series(buf, len), lines);
	{
		static const char text[] = "# HELP x\n# TYPE x gauge\nx 1\n\ny{a=\"b\"} 2";

		assert_int_equal(gp_prom_series(text, sizeof(text) - 1), 2);
	}
	assert_int_equal(gp_prom_series("", 0), 0);
	snprintf(path, sizeof(path), "%s/grayprobe.prom", dir);
	assert_int_equal(gp_textfile_write_bytes(path, buf, len), 0);
	got = slurp(path, &glen);
	assert_int_equal(glen, len);
	assert_memory_equal(got, buf, len);
	assert_int_equal(count_entries(dir), 1);
	free(got);
	free(want);
	free(buf);
	gp_snapshot_release(&s);
	rm_tmpdir(dir);
}

/* Before attaching: a target gp_textfile_write could never replace is named, and nothing is left. */
static void test_textfile_probe(void **state)
{
	char *dir = make_tmpdir(), path[PATH_MAX], why[PATH_MAX + 64];

	(void)state;
	snprintf(path, sizeof(path), "%s/grayprobe.prom", dir);
	assert_int_equal(gp_textfile_probe(path, why, sizeof(why)), 0);
	assert_int_equal(count_entries(dir), 0);	/* the temporary file went again */
	assert_int_equal(gp_textfile_probe(dir, why, sizeof(why)), -EISDIR);
	assert_non_null(strstr(why, ": is a directory"));
	assert_int_equal(gp_textfile_probe("/dev/null", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "/dev/null: not a regular file");
	snprintf(path, sizeof(path), "%s/nope/grayprobe.prom", dir);
	assert_int_equal(gp_textfile_probe(path, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, ": cannot create "));
	assert_non_null(strstr(why, "No such file or directory"));
	assert_int_equal(count_entries(dir), 0);
	rm_tmpdir(dir);
}

static void test_promtool_accepts_golden(void **state)
{
	char cmd[PATH_MAX + 64];
	int status;

	(void)state;
	if (access(PROMTOOL, X_OK)) {
		print_message("promtool not installed at " PROMTOOL ": skipping lint\n");
		skip();
	}
	/* The golden file only proves stability; promtool proves it is valid. */
	assert_int_equal(access(golden_basic, R_OK), 0);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < '%s'", golden_basic);
	status = system(cmd);
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest test_prom[] = {
		cmocka_unit_test(test_golden_basic),
		cmocka_unit_test(test_render_invariants),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_empty_agg),
		cmocka_unit_test(test_build_info_unset_and_escaped),
		cmocka_unit_test(test_render_reports_write_error),
		cmocka_unit_test(test_textfile_write),
		cmocka_unit_test(test_textfile_missing_dir),
		cmocka_unit_test(test_textfile_target_is_directory),
		cmocka_unit_test(test_textfile_name_too_long),
		cmocka_unit_test(test_render_mem_and_series),
		cmocka_unit_test(test_textfile_probe),
		cmocka_unit_test(test_promtool_accepts_golden),
	};

	return cmocka_run_group_tests(test_prom, NULL, NULL);
}
