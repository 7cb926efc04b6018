// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON event stream: every line must parse, whatever bytes a process name holds. */
#define _GNU_SOURCE	/* open_memstream */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "export/json.h"
#include "unit.h"


static void check_str(const char *in, size_t len, const char *want)
{
	struct mem m;
	char *out;

	mem_open(&m);
	gp_json_string(m.f, in, len);
	out = mem_close(&m);
	assert_string_equal(out, want);
	assert_int_equal(m.len, strlen(want));
	free(out);
}

#define CHECK(lit, want) check_str(lit, sizeof(lit) - 1, want)

static void test_plain_and_empty(void **state)
{
	(void)state;
	CHECK("", "\"\"");
	CHECK("curl", "\"curl\"");
	CHECK("a b/c-d_e.f", "\"a b/c-d_e.f\"");
}

static void test_quote_and_backslash(void **state)
{
	(void)state;
	CHECK("say \"hi\"", "\"say \\\"hi\\\"\"");
	CHECK("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	CHECK("\\\"", "\"\\\\\\\"\"");
	/* '/' needs no escape in JSON; escaping it would only add noise. */
	CHECK("/", "\"/\"");
}

static void test_named_controls(void **state)
{
	(void)state;
	CHECK("a\nb", "\"a\\nb\"");
	CHECK("a\tb", "\"a\\tb\"");
	CHECK("a\rb", "\"a\\rb\"");
	CHECK("\r\n\t", "\"\\r\\n\\t\"");
}

static void test_other_controls_and_del(void **state)
{
	(void)state;
	CHECK("\x01", "\"\\u0001\"");
	CHECK("\x1f", "\"\\u001f\"");
	CHECK("\x08\x0c", "\"\\u0008\\u000c\"");
	CHECK("\x1b[0m", "\"\\u001b[0m\"");
	CHECK("\x7f", "\"\\u007f\"");
	CHECK(" ~", "\" ~\"");
	/* len, not NUL, ends the input: an embedded NUL is data. */
	CHECK("a\0b", "\"a\\u0000b\"");
}

static void test_valid_utf8_kept(void **state)
{
	(void)state;
	CHECK("\xc3\xa9", "\"\xc3\xa9\"");			/* é, 2 bytes */
	CHECK("\xc2\x80", "\"\xc2\x80\"");			/* U+0080, lowest 2-byte */
	CHECK("\xdf\xbf", "\"\xdf\xbf\"");			/* U+07FF */
	CHECK("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");		/* U+0800, lowest 3-byte */
	CHECK("\xe2\x82\xac", "\"\xe2\x82\xac\"");		/* € */
	CHECK("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");		/* U+D7FF, below surrogates */
	CHECK("\xee\x80\x80", "\"\xee\x80\x80\"");		/* U+E000, above surrogates */
	CHECK("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");		/* U+FFFF */
	CHECK("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");	/* U+10000 */
	CHECK("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* 😀 */
	CHECK("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	CHECK("x\xc3\xa9y\xe2\x82\xacz", "\"x\xc3\xa9y\xe2\x82\xacz\"");
}

#define FFFD "\\ufffd"

static void test_invalid_bytes_replaced(void **state)
{
	(void)state;
	CHECK("\xff", "\"" FFFD "\"");
	CHECK("\xfe", "\"" FFFD "\"");
	CHECK("\x80", "\"" FFFD "\"");
	CHECK("a\x80z", "\"a" FFFD "z\"");
	/* One replacement per bad byte: C0 is never valid, then 80 is stray. */
	CHECK("\xc0\x80", "\"" FFFD FFFD "\"");
	CHECK("\xc1\xbf", "\"" FFFD FFFD "\"");
	/* Overlong 3- and 4-byte forms. */
	CHECK("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\"");
	/* UTF-16 surrogates are not UTF-8. */
	CHECK("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");
	/* Beyond U+10FFFF. */
	CHECK("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
	CHECK("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
}

static void test_truncated_sequences(void **state)
{
	(void)state;
	/* Cut by the end of input (a 16-byte comm can split a character). */
	CHECK("ab\xe2\x82", "\"ab" FFFD FFFD "\"");
	CHECK("\xc3", "\"" FFFD "\"");
	CHECK("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"");
	/* Cut by a non-continuation byte: the ASCII byte must survive. */
	CHECK("\xe2\x82" "A", "\"" FFFD FFFD "A\"");
	CHECK("\xc3\"", "\"" FFFD "\\\"\"");
}

static void test_len_bounds_read(void **state)
{
	/* A valid multi-byte char past len must not be read into. */
	static const char in[] = "ok\xc3\xa9";

	(void)state;
	check_str(in, 3, "\"ok" FFFD "\"");
	check_str(in, 2, "\"ok\"");
	check_str(in, 0, "\"\"");
}

static struct gp_conn base_conn(void)
{
	struct gp_conn c;

	memset(&c, 0, sizeof(c));
	c.ts_ns = 5123456789ull;
	c.latency_ns = 1500;
	c.pid = 4242;
	c.netns = 4026531840u;
	c.family = AF_INET;
	c.saddr[0] = 198, c.saddr[1] = 18, c.saddr[2] = 0, c.saddr[3] = 1;
	c.daddr[0] = 198, c.daddr[1] = 18, c.daddr[2] = 0, c.daddr[3] = 2;
	c.sport = 40000;
	c.dport = 443;
	c.dir = GP_DIR_OUTBOUND;
	c.result = GP_RES_ESTABLISHED;
	strcpy(c.comm, "curl");
	strcpy(c.alpn, "h2");
	strcpy(c.gray, "stable");
	return c;
}

static void check_conn(const struct gp_conn *c, int64_t off, const char *want)
{
	struct mem m;
	char *out;

	mem_open(&m);
	assert_int_equal(gp_json_conn(m.f, c, off), 0);
	out = mem_close(&m);
	assert_string_equal(out, want);
	free(out);
}

static void test_conn_ipv4_established(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	/* 5.123456789 s monotonic + offset = 1700000000.123456789 = 2023-11-14T22:13:20Z. */
	check_conn(&c, 1699999995000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"established\",\"error\":null,\"latency_ns\":1500,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");
}

static void test_conn_ipv6_refused(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	c.family = AF_INET6;
	memset(c.saddr, 0, 16);
	memset(c.daddr, 0, 16);
	c.saddr[0] = 0xfd, c.saddr[2] = 0x01, c.saddr[3] = 0x98, c.saddr[5] = 0x18;
	c.saddr[15] = 0x01;
	memcpy(c.daddr, c.saddr, 16);
	c.daddr[15] = 0x02;
	c.sport = 51000;
	c.dport = 8443;
	c.pid = 0;
	c.netns = 4026532000u;
	c.dir = GP_DIR_INBOUND;
	c.result = GP_RES_REFUSED;
	c.sk_err = ECONNREFUSED;
	c.latency_ns = 250000;
	strcpy(c.comm, "we\"ird\n");
	strcpy(c.alpn, "none");
	strcpy(c.gray, "canary");
	c.ts_ns = 3600000000007ull;
	/* 2000-02-29 (leap day) exactly, plus 7 ns: the fraction keeps its zeros. */
	check_conn(&c, 951778800000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2000-02-29T00:00:00.000000007Z\",\"direction\":\"inbound\","
		   "\"family\":\"ipv6\",\"saddr\":\"fd00:198:18::1\",\"sport\":51000,"
		   "\"daddr\":\"fd00:198:18::2\",\"dport\":8443,\"pid\":0,"
		   "\"comm\":\"we\\\"ird\\n\",\"result\":\"refused\",\"error\":\"ECONNREFUSED\","
		   "\"latency_ns\":250000,\"alpn\":\"none\",\"alpn_offered\":\"\",\"sni\":\"\","
		   "\"gray\":\"canary\",\"http_marker\":\"\","
		   "\"netns\":4026532000}\n");
}

static void test_conn_error_names(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	c.result = GP_RES_TIMEOUT;
	c.sk_err = ETIMEDOUT;
	c.latency_ns = 127000000000ull;
	c.ts_ns = 0;
	check_conn(&c, 4102444799000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2099-12-31T23:59:59.000000000Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"timeout\",\"error\":\"ETIMEDOUT\",\"latency_ns\":127000000000,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");

	/* Given up by the client: no errno. */
	c.result = GP_RES_ABANDONED;
	c.sk_err = 0;
	c.latency_ns = 1500000000ull;
	check_conn(&c, 4102444799000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2099-12-31T23:59:59.000000000Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"abandoned\",\"error\":null,\"latency_ns\":1500000000,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");

	/* An errno glibc has no name for still yields a JSON string. */
	c.result = GP_RES_OTHER;
	c.sk_err = 4095;
	c.latency_ns = 1;
	check_conn(&c, 4102444799000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2099-12-31T23:59:59.000000000Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"other\",\"error\":\"4095\",\"latency_ns\":1,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");
}

static void test_conn_ts_edges(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	/* A negative offset is legal arithmetic; only a negative sum is clamped. */
	c.ts_ns = 5000000000ull;
	check_conn(&c, -4999999999ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"1970-01-01T00:00:00.000000001Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"established\",\"error\":null,\"latency_ns\":1500,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");
	/* Before the epoch: clamp, never a negative fraction. */
	check_conn(&c, -5000000001ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"1970-01-01T00:00:00.000000000Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"established\",\"error\":null,\"latency_ns\":1500,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"netns\":4026531840}\n");
}

static void test_conn_tag_details(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	/* What decided the tag travels with it; the fields are escaped like any string. */
	strcpy(c.alpn, "h2");
	strcpy(c.alpn_offered, "h2,http/1.1,we\"ird\\x00");
	strcpy(c.sni, "www.canary.example.com");
	strcpy(c.gray, "canary");
	strcpy(c.http_marker, "x-traffic-tag");
	check_conn(&c, 1699999995000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"established\",\"error\":null,\"latency_ns\":1500,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"h2,http/1.1,we\\\"ird\\\\x00\","
		   "\"sni\":\"www.canary.example.com\",\"gray\":\"canary\","
		   "\"http_marker\":\"x-traffic-tag\",\"netns\":4026531840}\n");
}

/* A failure tagged from its server endpoint's memory says so; other lines have no such key. */
static void test_conn_tag_from_endpoint(void **state)
{
	struct gp_conn c = base_conn();

	(void)state;
	c.result = GP_RES_REFUSED;
	c.sk_err = ECONNREFUSED;
	strcpy(c.alpn, "http/1.1");
	strcpy(c.gray, "canary");
	c.tag_from_endpoint = 1;
	check_conn(&c, 1699999995000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"refused\",\"error\":\"ECONNREFUSED\",\"latency_ns\":1500,"
		   "\"alpn\":\"http/1.1\",\"alpn_offered\":\"\",\"sni\":\"\",\"gray\":\"canary\","
		   "\"http_marker\":\"\",\"tag_from\":\"endpoint\",\"netns\":4026531840}\n");
}

static void check_flow(const struct gp_flow_result *r, uint64_t frame, uint64_t ts,
		       const char *want)
{
	struct mem m;
	char *out;

	mem_open(&m);
	assert_int_equal(gp_json_flow(m.f, r, frame, ts), 0);
	out = mem_close(&m);
	assert_string_equal(out, want);
	free(out);
}

/* 198.18.0.1:40000 -> 198.19.0.2:80, nothing classified yet. */
static struct gp_flow_result base_flow(void)
{
	struct gp_flow_result r;

	memset(&r, 0, sizeof(r));
	r.flow.family = AF_INET;
	r.flow.saddr[0] = 198, r.flow.saddr[1] = 18, r.flow.saddr[3] = 1;
	r.flow.daddr[0] = 198, r.flow.daddr[1] = 19, r.flow.daddr[3] = 2;
	r.flow.sport = 40000;
	r.flow.dport = 80;
	return r;
}

static void test_flow_lines(void **state)
{
	struct gp_flow_result r = base_flow();

	(void)state;
	strcpy(r.alpn, "http/1.1");
	strcpy(r.gray, "canary");
	strcpy(r.http_marker, "x-traffic-tag");
	strcpy(r.http_method, "GET");
	r.kind = GP_PL_HTTP1;
	r.bytes_seen = 77;
	/* ts is already UTC: 1700000000.000000001 s. */
	check_flow(&r, 3, 1700000000000000001ull,
		   "{\"frame\":3,\"ts\":\"2023-11-14T22:13:20.000000001Z\",\"family\":\"ipv4\","
		   "\"saddr\":\"198.18.0.1\",\"sport\":40000,\"daddr\":\"198.19.0.2\","
		   "\"dport\":80,\"alpn\":\"http/1.1\",\"alpn_offered\":\"\",\"sni\":\"\","
		   "\"gray\":\"canary\",\"http_marker\":\"x-traffic-tag\",\"http_method\":\"GET\","
		   "\"tunnel\":false,\"bytes_classified\":77}\n");

	/* An HTTP CONNECT tunnel over IPv6: the TLS inside names alpn and sni. */
	memset(&r, 0, sizeof(r));
	r.flow.family = AF_INET6;
	r.flow.saddr[0] = 0xfd, r.flow.saddr[2] = 0x01, r.flow.saddr[3] = 0x98;
	r.flow.saddr[5] = 0x18, r.flow.saddr[15] = 0x01;
	memcpy(r.flow.daddr, r.flow.saddr, 16);
	r.flow.daddr[15] = 0x02;
	r.flow.sport = 51000;
	r.flow.dport = 3128;
	strcpy(r.alpn, "h2");
	strcpy(r.alpn_offered, "h2,http/1.1");
	strcpy(r.sni, "tunnel.example.com");
	strcpy(r.gray, "stable");
	strcpy(r.http_method, "CONNECT");
	r.tunnel = 1;
	r.kind = GP_PL_TLS;
	r.bytes_seen = 8192;
	check_flow(&r, 18446744073709551615ull, 0,
		   "{\"frame\":18446744073709551615,\"ts\":\"1970-01-01T00:00:00.000000000Z\","
		   "\"family\":\"ipv6\",\"saddr\":\"fd00:198:18::1\",\"sport\":51000,"
		   "\"daddr\":\"fd00:198:18::2\",\"dport\":3128,\"alpn\":\"h2\","
		   "\"alpn_offered\":\"h2,http/1.1\",\"sni\":\"tunnel.example.com\","
		   "\"gray\":\"stable\",\"http_marker\":\"\",\"http_method\":\"CONNECT\","
		   "\"tunnel\":true,\"bytes_classified\":8192}\n");
}

/* A cut alpn_offered says so, right after it, on both kinds of line. */
static void test_alpn_offered_truncated_key(void **state)
{
	struct gp_conn c = base_conn();
	struct gp_flow_result r = base_flow();

	(void)state;
	strcpy(c.alpn_offered, "h2,http/1.1");
	c.alpn_offered_truncated = 1;
	check_conn(&c, 1699999995000000000ll,
		   "{\"type\":\"connection\","
		   "\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"direction\":\"outbound\","
		   "\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\",\"sport\":40000,"
		   "\"daddr\":\"198.18.0.2\",\"dport\":443,\"pid\":4242,\"comm\":\"curl\","
		   "\"result\":\"established\",\"error\":null,\"latency_ns\":1500,"
		   "\"alpn\":\"h2\",\"alpn_offered\":\"h2,http/1.1\",\"alpn_offered_truncated\":true,"
		   "\"sni\":\"\",\"gray\":\"stable\",\"http_marker\":\"\",\"netns\":4026531840}\n");

	strcpy(r.alpn, "h2");
	strcpy(r.alpn_offered, "h2,http/1.1");
	r.alpn_offered_truncated = 1;
	strcpy(r.gray, "stable");
	r.kind = GP_PL_TLS;
	r.bytes_seen = 1600;
	check_flow(&r, 3, 1700000000000000001ull,
		   "{\"frame\":3,\"ts\":\"2023-11-14T22:13:20.000000001Z\",\"family\":\"ipv4\","
		   "\"saddr\":\"198.18.0.1\",\"sport\":40000,\"daddr\":\"198.19.0.2\","
		   "\"dport\":80,\"alpn\":\"h2\",\"alpn_offered\":\"h2,http/1.1\","
		   "\"alpn_offered_truncated\":true,\"sni\":\"\",\"gray\":\"stable\","
		   "\"http_marker\":\"\",\"http_method\":\"\",\"tunnel\":false,"
		   "\"bytes_classified\":1600}\n");
}

static void test_flow_reports_write_error(void **state)
{
	struct gp_flow_result r;
	FILE *f;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.flow.family = AF_INET;
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(gp_json_flow(f, &r, 1, 0), -EIO);
	fclose(f);
}

static void test_conn_invalid_utf8_comm(void **state)
{
	struct gp_conn c = base_conn();
	struct mem m;
	char *out;

	(void)state;
	memcpy(c.comm, "py\xe2\x82", 5);
	mem_open(&m);
	assert_int_equal(gp_json_conn(m.f, &c, 1699999995000000000ll), 0);
	out = mem_close(&m);
	assert_non_null(strstr(out, ",\"comm\":\"py\\ufffd\\ufffd\","));
	/* Exactly one line per event. */
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)strlen(out) - 1);
	free(out);
}

static struct gp_request base_request(void)
{
	struct gp_request r;

	memset(&r, 0, sizeof(r));
	r.flow.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", r.flow.saddr);
	inet_pton(AF_INET, "198.18.0.2", r.flow.daddr);
	r.flow.sport = 40000;
	r.flow.dport = 80;
	r.dir = GP_DIR_INBOUND;
	r.ts_ns = 5123456789ull;
	strcpy(r.alpn, "http/1.1");
	strcpy(r.gray, "canary");
	strcpy(r.marker, "x-canary");
	strcpy(r.method, "GET");
	strcpy(r.authority, "shop.example");
	strcpy(r.path, "/cart?id=\\x01\"");
	r.status = 503;
	r.code = GP_CODE_5XX;
	r.grpc_status = -1;
	r.has_latency = r.has_duration = 1;
	r.latency_ns = 150000000;
	r.duration_ns = 150500000;
	return r;
}

static void check_request(const struct gp_request *r, const char *want)
{
	struct mem m;
	char *out;

	mem_open(&m);
	assert_int_equal(gp_json_request(m.f, r, 1699999995000000000ll), 0);
	out = mem_close(&m);
	assert_string_equal(out, want);
	free(out);
}

static void test_request_lines(void **state)
{
	struct gp_request r = base_request();

	(void)state;
	check_request(&r,
		      "{\"type\":\"request\",\"ts\":\"2023-11-14T22:13:20.123456789Z\","
		      "\"direction\":\"inbound\",\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\","
		      "\"sport\":40000,\"daddr\":\"198.18.0.2\",\"dport\":80,"
		      "\"alpn\":\"http/1.1\",\"tls\":false,\"alpn_negotiated\":null,\"gray\":\"canary\",\"marker\":\"x-canary\","
		      "\"method\":\"GET\",\"authority\":\"shop.example\","
		      "\"path\":\"/cart?id=\\\\x01\\\"\",\"status\":503,\"grpc_status\":null,"
		      "\"code\":\"5xx\",\"latency_ns\":150000000,\"duration_ns\":150500000,"
		      "\"stream\":null}\n");
	/* gRPC on a stream, reset before any response; no socket: direction unknown. */
	r.dir = GP_DIR_MAX;
	strcpy(r.alpn, "h2c");
	r.stream = 3;
	r.status = 0;
	r.code = GP_CODE_RESET;
	r.grpc = 1;
	r.grpc_slot = GP_GRPC_RESET;
	r.has_latency = r.has_duration = 0;
	r.path[0] = r.marker[0] = '\0';
	check_request(&r,
		      "{\"type\":\"request\",\"ts\":\"2023-11-14T22:13:20.123456789Z\","
		      "\"direction\":\"unknown\",\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\","
		      "\"sport\":40000,\"daddr\":\"198.18.0.2\",\"dport\":80,"
		      "\"alpn\":\"h2c\",\"tls\":false,\"alpn_negotiated\":null,\"gray\":\"canary\",\"marker\":\"\","
		      "\"method\":\"GET\",\"authority\":\"shop.example\",\"path\":\"\","
		      "\"status\":null,\"grpc_status\":\"reset\",\"code\":\"reset\","
		      "\"latency_ns\":null,\"duration_ns\":null,\"stream\":3}\n");
	/* Its response direction lost: no code, and why. */
	r.grpc = 0;
	r.undecoded = r.no_status = 1;
	r.reason = GP_HTTP_LOST_RINGBUF;
	check_request(&r,
		      "{\"type\":\"request\",\"ts\":\"2023-11-14T22:13:20.123456789Z\","
		      "\"direction\":\"unknown\",\"family\":\"ipv4\",\"saddr\":\"198.18.0.1\","
		      "\"sport\":40000,\"daddr\":\"198.18.0.2\",\"dport\":80,"
		      "\"alpn\":\"h2c\",\"tls\":false,\"alpn_negotiated\":null,\"gray\":\"canary\",\"marker\":\"\","
		      "\"method\":\"GET\",\"authority\":\"shop.example\",\"path\":\"\","
		      "\"status\":null,\"grpc_status\":null,\"code\":null,"
		      "\"latency_ns\":null,\"duration_ns\":null,\"stream\":3,"
		      "\"undecoded\":\"ringbuf\"}\n");
}

static void test_tls_handshake_lines(void **state)
{
	struct gp_tls_handshake h = {
		.dir = GP_DIR_OUTBOUND, .alpn = "h2", .gray = "x\"y", .ts_ns = 5123456789ull,
		.duration_ns = 2083417,
	};
	struct mem m;
	char *out;

	(void)state;
	h.flow.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "fd00:198:18::1", h.flow.saddr), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:198:18::2", h.flow.daddr), 1);
	h.flow.sport = 40000;
	h.flow.dport = 443;
	mem_open(&m);
	assert_int_equal(gp_json_tls_handshake(m.f, &h, 1699999995000000000ll), 0);
	h.dir = GP_DIR_MAX;
	assert_int_equal(gp_json_tls_handshake(m.f, &h, 1699999995000000000ll), 0);
	out = mem_close(&m);
	assert_string_equal(out,
		"{\"type\":\"tls_handshake\",\"ts\":\"2023-11-14T22:13:20.123456789Z\","
		"\"direction\":\"outbound\",\"family\":\"ipv6\",\"saddr\":\"fd00:198:18::1\","
		"\"sport\":40000,\"daddr\":\"fd00:198:18::2\",\"dport\":443,"
		"\"alpn\":\"h2\",\"gray\":\"x\\\"y\",\"duration_ns\":2083417}\n"
		"{\"type\":\"tls_handshake\",\"ts\":\"2023-11-14T22:13:20.123456789Z\","
		"\"direction\":\"unknown\",\"family\":\"ipv6\",\"saddr\":\"fd00:198:18::1\","
		"\"sport\":40000,\"daddr\":\"fd00:198:18::2\",\"dport\":443,"
		"\"alpn\":\"h2\",\"gray\":\"x\\\"y\",\"duration_ns\":2083417}\n");
	free(out);
}

static void test_conn_reports_write_error(void **state)
{
	struct gp_conn c = base_conn();
	FILE *f;

	(void)state;
	/* A closed stdout pipe must surface, not be dropped silently. */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(gp_json_conn(f, &c, 0), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest test_json[] = {
		cmocka_unit_test(test_plain_and_empty),
		cmocka_unit_test(test_quote_and_backslash),
		cmocka_unit_test(test_named_controls),
		cmocka_unit_test(test_other_controls_and_del),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_bytes_replaced),
		cmocka_unit_test(test_truncated_sequences),
		cmocka_unit_test(test_len_bounds_read),
		cmocka_unit_test(test_conn_ipv4_established),
		cmocka_unit_test(test_conn_ipv6_refused),
		cmocka_unit_test(test_conn_error_names),
		cmocka_unit_test(test_conn_ts_edges),
		cmocka_unit_test(test_conn_tag_details),
		cmocka_unit_test(test_conn_tag_from_endpoint),
		cmocka_unit_test(test_conn_invalid_utf8_comm),
		cmocka_unit_test(test_conn_reports_write_error),
		cmocka_unit_test(test_flow_lines),
		cmocka_unit_test(test_alpn_offered_truncated_key),
		cmocka_unit_test(test_flow_reports_write_error),
		cmocka_unit_test(test_request_lines),
		cmocka_unit_test(test_tls_handshake_lines),
	};

	return cmocka_run_group_tests(test_json, NULL, NULL);
}
