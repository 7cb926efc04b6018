// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/1 message heads (RFC 9112): request and status lines, the four
 * request-target forms, framing fields (Content-Length, Transfer-Encoding),
 * connection persistence, obs-fold, what is malformed, and that several
 * heads in a row (keep-alive, pipelining) are taken one at a time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "decode/h1.h"
#include "pipeline/payload.h"

static uint8_t buf[8192];

/* Parses s (copied: the parser writes to its buffer); returns what gp_h1_parse did. */
static ssize_t parse(const char *s, struct gp_h1_head *h)
{
	size_t n = strlen(s);

	assert_true(n <= sizeof(buf));
	memcpy(buf, s, n);
	return gp_h1_parse(buf, n, h);
}

static void parses(const char *s, struct gp_h1_head *h)
{
	assert_int_equal(parse(s, h), (ssize_t)strlen(s));
}

static void rejects(const char *s)
{
	struct gp_h1_head h;

	if (parse(s, &h) != -EBADMSG)
		fail_msg("accepted: %s", s);
}

static void hdr_is(const struct gp_h1_head *h, const char *name, const char *want)
{
	char val[128];

	assert_int_equal(gp_http1_header(buf + h->hdr_off, h->hdr_len, name, val, sizeof(val)), 1);
	assert_string_equal(val, want);
}

/* RFC 9110 1.2's exchange; RFC 9112 3.2.1's origin-form. */
static void test_request_origin_form(void **state)
{
	struct gp_h1_head h;
	struct gp_http_msg m;

	(void)state;
	parses("GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\nHost: www.example.com\r\n"
	       "Accept-Language: en, mi\r\nX-Gray: canary\r\n\r\n", &h);
	assert_int_equal(h.request, 1);
	assert_int_equal(h.minor, 1);
	assert_string_equal(h.method, "GET");
	assert_string_equal(h.authority, "www.example.com");
	assert_string_equal(h.path, "/hello.txt");
	assert_int_equal(h.content_length, -1);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(h.conn_close, 0);
	assert_int_equal(h.hdr_off, strlen("GET /hello.txt HTTP/1.1\r\n"));
	hdr_is(&h, "x-gray", "canary");
	hdr_is(&h, "accept-language", "en, mi");

	gp_h1_msg(&h, buf, 0, 42, &m);
	assert_int_equal(m.ev, GP_HTTP_REQUEST);
	assert_int_equal(m.proto, GP_L7P_H1);
	assert_int_equal(m.ts_ns, 42);
	assert_int_equal(m.stream, 0);
	assert_string_equal(m.path, "/hello.txt");
	assert_ptr_equal(m.hdrs, buf + h.hdr_off);
	assert_int_equal(m.hdrs_len, h.hdr_len);
	assert_int_equal(m.end_stream, 1);
	assert_int_equal(m.is_grpc, 0);

	parses("GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n", &h);
	assert_string_equal(h.path, "/where?q=now");
	assert_string_equal(h.authority, "www.example.org");
}

/* RFC 9112 3.2.2-3.2.4: absolute-form, authority-form, asterisk-form. */
static void test_request_target_forms(void **state)
{
	struct gp_h1_head h;

	(void)state;
	parses("GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\n"
	       "Host: other.example\r\n\r\n", &h);
	assert_string_equal(h.authority, "www.example.org");
	assert_string_equal(h.path, "/pub/WWW/TheProject.html");

	parses("CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com\r\n\r\n", &h);
	assert_string_equal(h.method, "CONNECT");
	assert_string_equal(h.authority, "www.example.com:80");
	assert_string_equal(h.path, "");

	parses("OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n", &h);
	assert_string_equal(h.path, "*");
	assert_string_equal(h.authority, "www.example.org:8001");

	parses("OPTIONS http://www.example.org:8001 HTTP/1.1\r\n\r\n", &h);
	assert_string_equal(h.authority, "www.example.org:8001");
	assert_string_equal(h.path, "/");

	parses("GET https://user:pw@h.example?x=1 HTTP/1.1\r\n\r\n", &h);
	assert_string_equal(h.authority, "h.example");
	assert_string_equal(h.path, "/?x=1");

	/* No Host, no absolute-form: no authority (the server answers 400). */
	parses("GET / HTTP/1.1\r\n\r\n", &h);
	assert_string_equal(h.authority, "");
	/* Two Host fields: the first. */
	parses("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &h);
	assert_string_equal(h.authority, "a");
}

/* RFC 9110 1.2's response; the reason phrase is optional. */
static void test_response(void **state)
{
	struct gp_h1_head h;
	struct gp_http_msg m;

	(void)state;
	parses("HTTP/1.1 200 OK\r\nDate: Mon, 27 Jul 2009 12:28:53 GMT\r\nServer: Apache\r\n"
	       "Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\nETag: \"34aa387-d-1568eb00\"\r\n"
	       "Accept-Ranges: bytes\r\nContent-Length: 51\r\nVary: Accept-Encoding\r\n"
	       "Content-Type: text/plain\r\n\r\n", &h);
	assert_int_equal(h.request, 0);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.content_length, 51);
	assert_int_equal(h.conn_close, 0);
	hdr_is(&h, "etag", "\"34aa387-d-1568eb00\"");
	gp_h1_msg(&h, buf, 1, 7, &m);
	assert_int_equal(m.ev, GP_HTTP_RESPONSE);
	assert_int_equal(m.dir, 1);
	assert_int_equal(m.status, 200);
	assert_int_equal(m.interim, 0);
	assert_int_equal(m.grpc_status, -1);

	parses("HTTP/1.1 204\r\n\r\n", &h);
	assert_int_equal(h.status, 204);
	parses("HTTP/1.1 404 \r\n\r\n", &h);
	assert_int_equal(h.status, 404);
	parses("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/grpc\r\n\r\n", &h);
	gp_h1_msg(&h, buf, 1, 0, &m);
	assert_int_equal(m.status, 503);
	assert_int_equal(m.is_grpc, 0);

	parses("HTTP/1.1 100 Continue\r\n\r\n", &h);
	gp_h1_msg(&h, buf, 1, 0, &m);
	assert_int_equal(m.interim, 1);
	parses("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", &h);
	gp_h1_msg(&h, buf, 1, 0, &m);
	assert_int_equal(m.interim, 0);
	assert_int_equal(h.upgrade_h2c, 1);
}

static void test_persistence(void **state)
{
	struct gp_h1_head h;

	(void)state;
	parses("GET / HTTP/1.0\r\n\r\n", &h);
	assert_int_equal(h.minor, 0);
	assert_int_equal(h.conn_close, 1);
	parses("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h);
	assert_int_equal(h.conn_close, 0);
	parses("HTTP/1.0 200 OK\r\n\r\n", &h);
	assert_int_equal(h.conn_close, 1);
	parses("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n", &h);
	assert_int_equal(h.conn_close, 1);
	parses("HTTP/1.1 200 OK\r\nconnection: keep-alive\r\nConnection: CLOSE\r\n\r\n", &h);
	assert_int_equal(h.conn_close, 1);
	parses("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &h);
	assert_int_equal(h.conn_close, 0);
	/* A higher minor reads as 1.1. */
	parses("GET / HTTP/1.7\r\n\r\n", &h);
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.conn_close, 0);
	parses("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	       "Upgrade: websocket, H2C\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", &h);
	assert_int_equal(h.upgrade_h2c, 1);
}

static void test_framing(void **state)
{
	struct gp_h1_head h;
	struct gp_http_msg m;

	(void)state;
	parses("POST /p HTTP/1.1\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\n", &h);
	assert_int_equal(h.content_length, 5);
	gp_h1_msg(&h, buf, 0, 0, &m);
	assert_int_equal(m.end_stream, 0);
	parses("POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h);
	assert_int_equal(h.content_length, 0);
	parses("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", &h);
	assert_int_equal(h.content_length, INT64_MAX);
	rejects("POST /p HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
	rejects("POST /p HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n");
	rejects("POST /p HTTP/1.1\r\nContent-Length: 5x\r\n\r\n");
	rejects("POST /p HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	rejects("POST /p HTTP/1.1\r\nContent-Length: +1\r\n\r\n");
	rejects("POST /p HTTP/1.1\r\nContent-Length:\r\n\r\n");
	rejects("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n");

	parses("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
	assert_int_equal(h.chunked, 1);
	gp_h1_msg(&h, buf, 0, 0, &m);
	assert_int_equal(m.end_stream, 0);
	parses("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", &h);
	assert_int_equal(h.chunked, 1);
	/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length. */
	parses("POST /p HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.content_length, -1);
	/* A response may end in another coding (delimited by close); a request may not. */
	parses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &h);
	assert_int_equal(h.chunked, 0);
	rejects("POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
}

/* RFC 9112 5.2: obs-fold becomes SP; right after the start line it is an error. */
static void test_obs_fold(void **state)
{
	struct gp_h1_head h;

	(void)state;
	parses("GET / HTTP/1.1\r\nHost: a\r\nX-Gray: can\r\n ary\r\nX-B: b\n\tc\r\n\r\n", &h);
	hdr_is(&h, "x-gray", "can   ary");
	hdr_is(&h, "x-b", "b \\x09c");	/* sanitized: HTAB is \x09 */
	rejects("GET / HTTP/1.1\r\n Host: a\r\n\r\n");
}

static void test_line_ends(void **state)
{
	struct gp_h1_head h;

	(void)state;
	parses("GET /lf HTTP/1.1\nHost: a\nX-Canary: one\n\n", &h);
	assert_string_equal(h.path, "/lf");
	hdr_is(&h, "x-canary", "one");
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	parses("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &h);
	assert_string_equal(h.authority, "a");
	assert_int_equal(h.hdr_off, 4 + strlen("GET / HTTP/1.1\r\n"));
	rejects("GET / HTTP/1.1\rHost: a\r\n\r\n");
	rejects("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n");
}

static void test_malformed(void **state)
{
	(void)state;
	rejects("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
	rejects("GET / HTTP/1.1\r\nHost a\r\n\r\n");
	rejects("GET / HTTP/1.1\r\n: a\r\n\r\n");
	rejects("GET / HTTP/1.1\r\nX-\x01: a\r\n\r\n");
	rejects("GET /  HTTP/1.1\r\n\r\n");
	rejects("GET  / HTTP/1.1\r\n\r\n");
	rejects("GET / HTTP/1.1 \r\n\r\n");
	rejects("GET / HTTP/2.0\r\n\r\n");
	rejects("GET / http/1.1\r\n\r\n");
	rejects("GET / HTTP/1.\r\n\r\n");
	rejects("GET /\r\n\r\n");
	rejects("G(T / HTTP/1.1\r\n\r\n");
	rejects("GET /\x7f HTTP/1.1\r\n\r\n");
	rejects(" GET / HTTP/1.1\r\n\r\n");
	rejects("HTTP/1.1 20 OK\r\n\r\n");
	rejects("HTTP/1.1 2000 OK\r\n\r\n");
	rejects("HTTP/1.1 200OK\r\n\r\n");
	rejects("HTTP/1.1 099 X\r\n\r\n");
	rejects("HTTP/1.1 600 X\r\n\r\n");
	rejects("HTTP/1.1  200 OK\r\n\r\n");
	rejects("HTTP/1.1\r\n\r\n");
	rejects("HTTP/2 200\r\n\r\n");
	rejects("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

	{
		static const char nul[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
		struct gp_h1_head h;

		memcpy(buf, nul, sizeof(nul) - 1);
		assert_int_equal(gp_h1_parse(buf, sizeof(nul) - 1, &h), -EBADMSG);
	}
}

/* Every proper prefix of a head is incomplete, never a head. */
static void test_incomplete(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Gray: b\r\n\r\n";
	struct gp_h1_head h;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(s) - 1; n++) {
		memcpy(buf, s, sizeof(s) - 1);
		assert_int_equal(gp_h1_parse(buf, n, &h), -EAGAIN);
	}
}

/* Keep-alive and pipelining: heads back to back, each its own tag. */
static void test_pipelined(void **state)
{
	static const char *const want[] = { "one", "", "two" };
	const char *s = "GET /a HTTP/1.1\r\nHost: h\r\nX-Gray: one\r\n\r\n"
			"HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
			"POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Gray: two\r\n\r\n";
	size_t len = strlen(s), off = 0, i;
	struct gp_h1_head h;
	char val[64];

	(void)state;
	memcpy(buf, s, len);
	for (i = 0; i < 3; i++) {
		ssize_t n = gp_h1_parse(buf + off, len - off, &h);

		assert_true(n > 0);
		val[0] = '\0';
		gp_http1_header(buf + off + h.hdr_off, h.hdr_len, "x-gray", val, sizeof(val));
		assert_string_equal(val, want[i]);
		off += (size_t)n;
	}
	assert_int_equal(off, len);
	assert_string_equal(h.method, "POST");
	assert_int_equal(h.content_length, 3);
}

static void test_limits(void **state)
{
	static char s[GP_L7_HEAD_MAX + 64];
	struct gp_h1_head h;
	int n;

	(void)state;
	n = snprintf(s, sizeof(s), "GET /%0*d HTTP/1.1\r\nHost: %0*d\r\n\r\n", 1000, 0, 500, 0);
	assert_true(n > 0 && (size_t)n < sizeof(s));
	parses(s, &h);
	assert_int_equal(strlen(h.path), GP_HTTP_PATH_LEN);
	assert_int_equal(strlen(h.authority), GP_HTTP_AUTHORITY_LEN);

	parses("VERYLONGMETHODNAME-X /p HTTP/1.1\r\n\r\n", &h);
	assert_int_equal(strlen(h.method), GP_HTTP_METHOD_LEN);

	/* Raw bytes come out escaped, and an escape is never cut. */
	parses("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: \\x\r\n\r\n", &h);
	assert_string_equal(h.path, "/caf\\xc3\\xa9");
	assert_string_equal(h.authority, "\\x5cx");
}

static void test_lost_names(void **state)
{
	(void)state;
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_GAP), "gap");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_RINGBUF), "ringbuf");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_MIDSTREAM), "midstream");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_MALFORMED), "malformed");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_HPACK), "hpack");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_HEAD), "head");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_TRUNCATED), "truncated");
	assert_string_equal(gp_http_lost_name(0), "unknown");
	assert_string_equal(gp_http_lost_name(GP_HTTP_LOST_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_origin_form),
		cmocka_unit_test(test_request_target_forms),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_obs_fold),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_lost_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
