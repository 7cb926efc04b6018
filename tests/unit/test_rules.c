// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gray rules: every condition on both sides of its edges, AND and first-match
 * order, the default header rules, header values as labels, SNI globs, and
 * every error with its exact text and line.
 * Addresses are from 198.18.0.0/15 and fd00:198:18::/48 (a few outside
 * them only as non-matching neighbours).
 */
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
#include <unistd.h>
#include <cmocka.h>

#include "pipeline/rules.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------ */

struct flow {
	uint8_t s[16], d[16];
	struct gp_flow_facts f;
};

static struct gp_gray g;	/* the last evaluation */

static void flow(struct flow *fl, const char *src, unsigned sport, const char *dst,
		 unsigned dport)
{
	memset(fl, 0, sizeof(*fl));
	fl->f.family = strchr(src, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fl->f.family, src, fl->s), 1);
	assert_int_equal(inet_pton(fl->f.family, dst, fl->d), 1);
	fl->f.saddr = fl->s;
	fl->f.daddr = fl->d;
	fl->f.sport = (uint16_t)sport;
	fl->f.dport = (uint16_t)dport;
	fl->f.alpn = "none";
	fl->f.sni = "";
}

/* A v4 flow to dst:dport, or a v6 one if dst has a ':'. */
static void to(struct flow *fl, const char *dst, unsigned dport)
{
	flow(fl, strchr(dst, ':') ? "fd00:198:18::100" : "198.18.0.100", 40000, dst, dport);
}

static void headers(struct flow *fl, const void *block, size_t len)
{
	fl->f.http_hdrs = block;
	fl->f.http_hdrs_len = len;
}

#define HDRS(fl, lit) headers(fl, lit, sizeof(lit) - 1)

/* Rules from '\n'-separated lines given as --rule flags; each must be accepted. */
static struct gp_rules *rules(const char *text)
{
	return rules_from(text);
}

static const char *eval(const struct gp_rules *r, const struct flow *fl)
{
	memset(&g, 0x5a, sizeof(g));	/* everything must be written */
	gp_rules_eval(r, &fl->f, &g);
	return g.gray;
}

/* Whether the lone rule "COND = hit" matches the flow. */
static int hits(const char *cond, const struct flow *fl)
{
	char text[600];
	struct gp_rules *r;
	int hit;

	snprintf(text, sizeof(text), "no-defaults\n%s = hit", cond);
	r = rules(text);
	assert_int_equal(gp_rules_count(r), 1);
	hit = !strcmp(eval(r, fl), "hit");
	assert_int_equal(g.rule, hit ? 0 : -1);
	if (!hit)
		assert_string_equal(g.gray, "stable");
	gp_rules_free(r);
	return hit;
}

static int hits_dst(const char *cond, const char *dst)
{
	struct flow fl;

	to(&fl, dst, 443);
	return hits(cond, &fl);
}

/* The line must be refused with exactly msg, and leave the builder as it was. */
static void refuse(const char *line, const char *msg)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char err[8192], want[8192];
	struct gp_rules *r;

	assert_non_null(b);
	assert_int_equal(gp_rules_add_line(b, "dport 443 = kept", "--rule", 0, err,
					   sizeof(err)), 0);
	memset(err, 0, sizeof(err));
	if (gp_rules_add_line(b, line, "rules", 7, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' accepted or wrong errno, err '%s'", line, err);
	snprintf(want, sizeof(want), "rules:7: %s", msg);
	assert_string_equal(err, want);
	assert_null(strchr(err, '\n'));
	r = gp_rules_build(b);
	assert_non_null(r);
	assert_int_equal(gp_rules_count(r), 6);	/* "kept" and the defaults */
	gp_rules_free(r);
}

static char *write_tmp(const void *data, size_t n)
{
	char *path = strdup("/tmp/gp_rules_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Rules from a file's exact bytes: 0 or the error, with err filled. */
static int from_file(const void *data, size_t n, struct gp_rules_builder *b, char *err,
		     size_t errlen, char **path)
{
	int rc;

	*path = write_tmp(data, n);
	rc = gp_rules_add_file(b, *path, err, errlen);
	assert_int_equal(unlink(*path), 0);
	return rc;
}

static char *print(const struct gp_rules *r)
{
	struct mem m;

	mem_open(&m);
	gp_rules_print(r, m.f);
	return mem_close(&m);
}

/* ---- conditions --------------------------------------------------------- */

static void test_no_rules_is_stable(void **state)
{
	struct gp_rules *r = rules("no-defaults");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	HDRS(&fl, "x-gray: blue\r\n");
	assert_int_equal(gp_rules_count(r), 0);
	assert_int_equal(gp_rules_want_headers(r), 0);
	assert_string_equal(eval(r, &fl), "stable");
	assert_string_equal(g.marker, "");
	assert_int_equal(g.rule, -1);
	gp_rules_free(r);
	/* No rules at all behaves the same. */
	assert_string_equal(eval(NULL, &fl), "stable");
	assert_int_equal(g.rule, -1);
}

static void test_dst_ipv4(void **state)
{
	(void)state;
	/* /15: the second octet's low bit is free, 18 and 19. */
	assert_true(hits_dst("dst 198.18.0.0/15", "198.18.0.0"));
	assert_true(hits_dst("dst 198.18.0.0/15", "198.19.255.255"));
	assert_false(hits_dst("dst 198.18.0.0/15", "198.17.255.255"));
	assert_false(hits_dst("dst 198.18.0.0/15", "198.20.0.0"));
	assert_false(hits_dst("dst 198.19.0.0/16", "198.18.255.255"));
	assert_true(hits_dst("dst 198.19.0.0/16", "198.19.0.0"));
	/* /7 keeps 198 and 199 in the first octet. */
	assert_true(hits_dst("dst 198.18.0.0/7", "198.18.0.1"));
	assert_true(hits_dst("dst 198.18.0.0/7", "198.19.255.255"));
	assert_false(hits_dst("dst 198.18.0.0/7", "197.255.255.255"));
	assert_false(hits_dst("dst 198.18.0.0/7", "200.0.0.0"));
	/* /31 and /32, and a bare address is /32. */
	assert_true(hits_dst("dst 198.18.0.2/31", "198.18.0.2"));
	assert_true(hits_dst("dst 198.18.0.2/31", "198.18.0.3"));
	assert_false(hits_dst("dst 198.18.0.2/31", "198.18.0.1"));
	assert_false(hits_dst("dst 198.18.0.2/31", "198.18.0.4"));
	assert_true(hits_dst("dst 198.18.0.7/32", "198.18.0.7"));
	assert_false(hits_dst("dst 198.18.0.7/32", "198.18.0.6"));
	assert_false(hits_dst("dst 198.18.0.7/32", "198.18.0.8"));
	assert_true(hits_dst("dst 198.18.0.7", "198.18.0.7"));
	assert_false(hits_dst("dst 198.18.0.7", "198.18.0.71"));
	/* /0 is every IPv4 address and no IPv6 one. */
	assert_true(hits_dst("dst 0.0.0.0/0", "198.19.1.1"));
	assert_false(hits_dst("dst 0.0.0.0/0", "fd00:198:18::1"));
	assert_false(hits_dst("dst 198.18.0.0/15", "fd00:198:18::1"));
	/* Host bits are cleared. */
	assert_true(hits_dst("dst 198.19.1.1/15", "198.18.0.0"));
}

static void test_src_and_dst_sides(void **state)
{
	struct flow fl;

	(void)state;
	flow(&fl, "198.18.0.1", 40000, "198.19.0.1", 443);
	assert_true(hits("src 198.18.0.0/16", &fl));
	assert_false(hits("dst 198.18.0.0/16", &fl));
	assert_true(hits("dst 198.19.0.0/16", &fl));
	assert_false(hits("src 198.19.0.0/16", &fl));
	/* A facts record without an address matches no CIDR. */
	fl.f.saddr = NULL;
	assert_false(hits("src 0.0.0.0/0", &fl));
}

static void test_ipv6(void **state)
{
	(void)state;
	assert_true(hits_dst("dst fd00:198:18::/48", "fd00:198:18::"));
	assert_true(hits_dst("dst fd00:198:18::/48", "fd00:198:18:ffff:ffff:ffff:ffff:ffff"));
	assert_false(hits_dst("dst fd00:198:18::/48", "fd00:198:17:ffff:ffff:ffff:ffff:ffff"));
	assert_false(hits_dst("dst fd00:198:18::/48", "fd00:198:19::"));
	/* Not on a byte boundary: /52 and /61. */
	assert_true(hits_dst("dst fd00:198:18:f000::/52", "fd00:198:18:ffff::1"));
	assert_false(hits_dst("dst fd00:198:18:f000::/52", "fd00:198:18:efff:ffff::"));
	assert_true(hits_dst("dst fd00:198:18:8::/61", "fd00:198:18:8::"));
	assert_true(hits_dst("dst fd00:198:18:8::/61", "fd00:198:18:f:ffff:ffff:ffff:ffff"));
	assert_false(hits_dst("dst fd00:198:18:8::/61", "fd00:198:18:7:ffff:ffff:ffff:ffff"));
	assert_false(hits_dst("dst fd00:198:18:8::/61", "fd00:198:18:10::"));
	/* /128 and bare. */
	assert_true(hits_dst("dst fd00:198:18::5/128", "fd00:198:18::5"));
	assert_false(hits_dst("dst fd00:198:18::5/128", "fd00:198:18::4"));
	assert_false(hits_dst("dst fd00:198:18::5/128", "fd00:198:18::6"));
	assert_true(hits_dst("dst fd00:198:18::5", "fd00:198:18::5"));
	assert_false(hits_dst("dst fd00:198:18::5", "fd00:198:18::5:0"));
	/* ::/0 is every IPv6 address and no IPv4 one. */
	assert_true(hits_dst("dst ::/0", "fd00:198:18::1"));
	assert_false(hits_dst("dst ::/0", "198.18.0.1"));
	/* A mapped CIDR is the IPv4 one, as mapped flows arrive as IPv4. */
	assert_true(hits_dst("dst ::ffff:198.18.0.0/111", "198.19.0.1"));
	assert_false(hits_dst("dst ::ffff:198.18.0.0/111", "198.20.0.1"));
	assert_true(hits_dst("dst ::ffff:198.18.0.1", "198.18.0.1"));
	assert_false(hits_dst("dst ::ffff:198.18.0.1", "198.18.0.2"));
}

static void test_ports(void **state)
{
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	assert_true(hits("dport 443", &fl));
	assert_false(hits("sport 443", &fl));
	fl.f.dport = 442;
	assert_false(hits("dport 443", &fl));
	fl.f.dport = 444;
	assert_false(hits("dport 443", &fl));

	fl.f.dport = 999;
	assert_false(hits("dport 1000-2000", &fl));
	fl.f.dport = 1000;
	assert_true(hits("dport 1000-2000", &fl));
	fl.f.dport = 2000;
	assert_true(hits("dport 1000-2000", &fl));
	fl.f.dport = 2001;
	assert_false(hits("dport 1000-2000", &fl));

	fl.f.dport = 1;
	assert_true(hits("dport 1-65535", &fl));
	assert_true(hits("dport 1", &fl));
	assert_true(hits("dport 1-1", &fl));
	fl.f.dport = 65535;
	assert_true(hits("dport 1-65535", &fl));
	assert_true(hits("dport 65535", &fl));
	assert_true(hits("dport 65534-65535", &fl));
	fl.f.dport = 65534;
	assert_false(hits("dport 65535", &fl));

	fl.f.sport = 40000;
	assert_true(hits("sport 40000-40001", &fl));
	assert_true(hits("sport 39999-40000", &fl));
	assert_false(hits("sport 40001-40002", &fl));
	assert_false(hits("sport 39998-39999", &fl));
}

static void test_alpn(void **state)
{
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	fl.f.alpn = "h2";
	assert_true(hits("alpn h2", &fl));
	assert_false(hits("alpn h2c", &fl));
	assert_false(hits("alpn H2", &fl));
	fl.f.alpn = "h2c";
	assert_false(hits("alpn h2", &fl));
	fl.f.alpn = "http/1.1";
	assert_true(hits("alpn http/1.1", &fl));
	fl.f.alpn = "none";
	assert_true(hits("alpn none", &fl));
	assert_false(hits("alpn unknown", &fl));
}

static int sni_hits(const char *glob, const char *sni)
{
	char cond[300];
	struct flow fl;

	to(&fl, "198.18.0.1", 443);
	fl.f.sni = sni;
	snprintf(cond, sizeof(cond), "sni %s", glob);
	return hits(cond, &fl);
}

static void test_sni_glob(void **state)
{
	(void)state;
	assert_true(sni_hits("*.canary.example.com", "a.canary.example.com"));
	assert_true(sni_hits("*.canary.example.com", "x.y.z.canary.example.com"));
	assert_true(sni_hits("*.canary.example.com", "WWW.Canary.Example.COM"));
	assert_true(sni_hits("*.CANARY.example.com", "www.canary.example.com"));
	assert_false(sni_hits("*.canary.example.com", "canary.example.com"));
	assert_false(sni_hits("*.canary.example.com", "a.canary.example.com.evil"));
	assert_false(sni_hits("*.canary.example.com", "a.stable.example.com"));
	/* No server_name matches nothing, not even '*'. */
	assert_false(sni_hits("*.canary.example.com", ""));
	assert_false(sni_hits("*", ""));
	assert_true(sni_hits("*", "x"));
	/* '?', sets (case-folded too), negation, escapes, ']' first. */
	assert_true(sni_hits("api-[ab]?.example.com", "api-a1.example.com"));
	assert_true(sni_hits("api-[ab]?.example.com", "API-B2.example.com"));
	assert_false(sni_hits("api-[ab]?.example.com", "api-c1.example.com"));
	assert_false(sni_hits("api-[ab]?.example.com", "api-a.example.com"));
	assert_true(sni_hits("api-[!a]1.example.com", "api-b1.example.com"));
	assert_false(sni_hits("api-[!a]1.example.com", "api-a1.example.com"));
	assert_false(sni_hits("api-[^a]1.example.com", "api-A1.example.com"));
	assert_true(sni_hits("\\*.example.com", "*.example.com"));
	assert_false(sni_hits("\\*.example.com", "a.example.com"));
	assert_true(sni_hits("[]x]", "]"));
	assert_true(sni_hits("[]x]", "x"));
	assert_false(sni_hits("[]x]", "y"));
	assert_true(sni_hits("a**b", "ab"));
	/* A sanitized name's escapes are plain bytes to the glob. */
	assert_true(sni_hits("*\\\\x01*", "a\\x01b"));
}

/* Many '*' on a long name must stay cheap (fnmatch backtracks to the last '*' only). */
static void test_sni_many_stars(void **state)
{
	char sni[256];

	(void)state;
	memset(sni, 'a', 255);
	sni[255] = '\0';
	assert_false(sni_hits("*a*a*a*a*a*a*a*a*a*a*b", sni));
	assert_true(sni_hits("*a*a*a*a*a*a*a*a*a*a*a", sni));
}

/* ---- headers ------------------------------------------------------------ */

static void test_header_value_label(void **state)
{
	struct gp_rules *r = rules("no-defaults\nheader x-user\ndport 443 = fallback");
	struct flow fl;

	(void)state;
	assert_int_equal(gp_rules_want_headers(r), 1);
	to(&fl, "198.18.0.1", 443);
	HDRS(&fl, "Host: a.canary.example.com\r\nx-user: beta\r\n");
	assert_string_equal(eval(r, &fl), "beta");
	assert_string_equal(g.marker, "x-user");
	assert_int_equal(g.rule, 0);

	/* Case-insensitive, OWS trimmed, value kept as sent. */
	HDRS(&fl, "X-USER: \t Beta-2 \r\n");
	assert_string_equal(eval(r, &fl), "Beta-2");
	assert_string_equal(g.marker, "x-user");

	/* No headers, an absent header, an empty value: the next rule. */
	headers(&fl, NULL, 0);
	assert_string_equal(eval(r, &fl), "fallback");
	assert_string_equal(g.marker, "");
	assert_int_equal(g.rule, 1);
	HDRS(&fl, "x-other: beta\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	HDRS(&fl, "x-user:\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	HDRS(&fl, "x-user:   \r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	/* "other" would pass for the --max-tags overflow. */
	HDRS(&fl, "x-user: other\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	HDRS(&fl, "x-user: Other\r\n");
	assert_string_equal(eval(r, &fl), "Other");
	/* Only complete lines count; the blank line ends the block. */
	HDRS(&fl, "x-user: beta");
	assert_string_equal(eval(r, &fl), "fallback");
	HDRS(&fl, "\r\nx-user: beta\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	gp_rules_free(r);
}

/*
 * "header NAME ~ LIST": a value outside the list makes the rule not match
 * and is flagged rejected; a value a literal names is fixed like "= LABEL".
 */
static void test_header_accept(void **state)
{
	struct gp_rules *r = rules("no-defaults\n"
				   "header x-canary ~ real-canary,beta-[0-9],rc-* \n"
				   "header x-stage ~ one = staged\n"
				   "dport 443 = fallback");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	HDRS(&fl, "x-canary: real-canary\r\n");
	assert_string_equal(eval(r, &fl), "real-canary");
	assert_int_equal(g.flags, GP_GRAY_FIXED);
	assert_string_equal(g.marker, "x-canary");
	/* A glob's value is the client's choice: not fixed. */
	HDRS(&fl, "x-canary: beta-7\r\n");
	assert_string_equal(eval(r, &fl), "beta-7");
	assert_int_equal(g.flags, 0);
	HDRS(&fl, "x-canary: rc-anything\r\n");
	assert_string_equal(eval(r, &fl), "rc-anything");
	assert_int_equal(g.flags, 0);
	/* Case-sensitive, whole value: the next rule decides, the rejection is told. */
	HDRS(&fl, "x-canary: Real-Canary\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	assert_int_equal(g.rule, 2);
	HDRS(&fl, "x-canary: junk-1\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	HDRS(&fl, "x-canary: beta-77\r\n");
	assert_string_equal(eval(r, &fl), "fallback");
	fl.f.dport = 80;
	assert_string_equal(eval(r, &fl), "stable");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	/* An absent header is no rejection. */
	HDRS(&fl, "x-other: junk\r\n");
	assert_string_equal(eval(r, &fl), "stable");
	assert_int_equal(g.flags, GP_GRAY_FIXED);
	/* With "= LABEL" the list only filters. */
	HDRS(&fl, "x-stage: one\r\n");
	assert_string_equal(eval(r, &fl), "staged");
	assert_int_equal(g.flags, GP_GRAY_FIXED);
	HDRS(&fl, "x-stage: two\r\n");
	assert_string_equal(eval(r, &fl), "stable");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	/* A rejection by one rule stays told when a later one matches. */
	HDRS(&fl, "x-canary: junk\r\nx-stage: one\r\n");
	assert_string_equal(eval(r, &fl), "staged");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	gp_rules_free(r);

	/* A value taken by an unrestricted header rule is not fixed; a fixed label is. */
	r = rules("no-defaults\nheader x-a\nheader x-b = b");
	HDRS(&fl, "x-a: v\r\n");
	assert_string_equal(eval(r, &fl), "v");
	assert_int_equal(g.flags, 0);
	HDRS(&fl, "x-b: v\r\n");
	assert_string_equal(eval(r, &fl), "b");
	assert_int_equal(g.flags, GP_GRAY_FIXED);
	gp_rules_free(r);
}

/* The default rule of a header restricted by '~' would take what it rejects: left out. */
static void test_header_accept_defaults(void **state)
{
	struct gp_rules *r = rules("header x-canary ~ real-canary\nheader x-gray = g");
	char *out = print(r);
	struct flow fl;

	(void)state;
	assert_string_equal(out,
			    "1: header x-canary ~ real-canary\n"
			    "2: header x-gray = g\n"
			    "3: header x-gray\n"
			    "4: header x-traffic-tag\n"
			    "5: header x-envoy-gray\n"
			    "6: header x-release-stage\n");
	free(out);
	to(&fl, "198.18.0.1", 443);
	HDRS(&fl, "x-canary: junk-3\r\n");
	assert_string_equal(eval(r, &fl), "stable");
	assert_int_equal(g.flags, GP_GRAY_FIXED | GP_GRAY_REJECTED);
	HDRS(&fl, "x-traffic-tag: t1\r\n");
	assert_string_equal(eval(r, &fl), "t1");
	assert_int_equal(g.flags, 0);
	gp_rules_free(r);
}

/* Globs fnmatch(3) reads as meant are all accepted. */
static void test_glob_valid(void **state)
{
	static const char *const ok[] = {
		"sni []x] = a", "sni [!]x] = a", "sni [^]] = a", "sni [a-] = a", "sni [-a] = a",
		"sni [[:digit:][:alpha:]-] = a", "sni \\[x = a", "sni [\\]] = a", "sni [a-a] = a",
		"sni [\\a-\\z] = a", "sni x[[] = a", "header x-a ~ [[:xdigit:]]*,\\*,a?b",
	};
	struct gp_rules_builder *b = gp_rules_builder_new();
	char err[256];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (gp_rules_add_line(b, ok[i], "--rule", 0, err, sizeof(err)))
			fail_msg("'%s' refused: %s", ok[i], err);
	gp_rules_builder_free(b);
	assert_true(sni_hits("x[[]", "x["));
	assert_true(sni_hits("[\\]]", "]"));
}

static void test_header_value_sanitized_and_cut(void **state)
{
	static const char ctl[] = "x-user: be\001ta\377\\\r\n";
	struct gp_rules *r = rules("no-defaults\nheader X-User");
	char block[128], want[64];
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 80);
	headers(&fl, ctl, sizeof(ctl) - 1);
	assert_string_equal(eval(r, &fl), "be\\x01ta\\xff\\x5c");
	assert_string_equal(g.marker, "x-user");	/* lowercase, as the rule's name */

	/* 40 bytes: the first 32. */
	snprintf(block, sizeof(block), "x-user: %040d\r\n", 7);
	headers(&fl, block, strlen(block));
	assert_string_equal(eval(r, &fl), "00000000000000000000000000000000");

	/* An escape that does not fit whole is left out... */
	snprintf(block, sizeof(block), "x-user: %030d\001b\r\n", 0);
	headers(&fl, block, strlen(block));
	snprintf(want, sizeof(want), "%030d", 0);
	assert_string_equal(eval(r, &fl), want);
	/* ...and one that ends at byte 32 is kept. */
	snprintf(block, sizeof(block), "x-user: %028d\001b\r\n", 0);
	headers(&fl, block, strlen(block));
	snprintf(want, sizeof(want), "%028d\\x01", 0);
	assert_string_equal(eval(r, &fl), want);
	assert_int_equal(strlen(g.gray), GP_TAG_MAX);
	gp_rules_free(r);
}

static void test_header_explicit_label(void **state)
{
	struct gp_rules *r = rules("no-defaults\nheader x-user = beta");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 80);
	HDRS(&fl, "x-user: anything\r\n");
	assert_string_equal(eval(r, &fl), "beta");
	assert_string_equal(g.marker, "x-user");
	/* The value is not the label, so "other" is just a value. */
	HDRS(&fl, "x-user: other\r\n");
	assert_string_equal(eval(r, &fl), "beta");
	HDRS(&fl, "x-user: \r\n");
	assert_string_equal(eval(r, &fl), "stable");
	gp_rules_free(r);
}

static void test_several_headers(void **state)
{
	struct gp_rules *r = rules("no-defaults\nheader x-b header x-a");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 80);
	HDRS(&fl, "x-a: one\r\nx-b: two\r\n");
	assert_string_equal(eval(r, &fl), "two");	/* the first condition's */
	assert_string_equal(g.marker, "x-b");
	HDRS(&fl, "x-b: two\r\n");
	assert_string_equal(eval(r, &fl), "stable");
	HDRS(&fl, "x-a: one\r\nx-b: two\r\nx-b: three\r\n");
	assert_string_equal(eval(r, &fl), "two");	/* first occurrence */
	gp_rules_free(r);
}

static void test_defaults(void **state)
{
	static const char *const names[] = {
		"x-gray", "x-canary", "x-traffic-tag", "x-envoy-gray", "x-release-stage",
	};
	struct gp_rules *r = rules("dport 443 = canary");
	char block[128];
	struct flow fl;
	unsigned i;

	(void)state;
	assert_int_equal(gp_rules_count(r), 6);
	assert_int_equal(gp_rules_want_headers(r), 1);
	to(&fl, "198.18.0.1", 80);
	for (i = 0; i < 5; i++) {
		snprintf(block, sizeof(block), "Host: x\r\n%s: v%u\r\n", names[i], i);
		headers(&fl, block, strlen(block));
		eval(r, &fl);
		snprintf(block, sizeof(block), "v%u", i);
		assert_string_equal(g.gray, block);
		assert_string_equal(g.marker, names[i]);
		assert_int_equal(g.rule, 1 + (int)i);
	}
	/* Rule order, not header order, decides. */
	HDRS(&fl, "x-release-stage: late\r\nX-Canary: c\r\nX-Gray: g\r\n");
	assert_string_equal(eval(r, &fl), "g");
	assert_string_equal(g.marker, "x-gray");
	/* A default skipped for "other" gives way to the next. */
	HDRS(&fl, "x-gray: other\r\nx-canary: c\r\n");
	assert_string_equal(eval(r, &fl), "c");
	/* User rules come first. */
	fl.f.dport = 443;
	assert_string_equal(eval(r, &fl), "canary");
	assert_string_equal(g.marker, "");
	assert_int_equal(g.rule, 0);
	gp_rules_free(r);

	/* no-defaults anywhere, even after the rules. */
	r = rules("dport 443 = canary\n  no-defaults\t# not these");
	assert_int_equal(gp_rules_count(r), 1);
	assert_int_equal(gp_rules_want_headers(r), 0);
	fl.f.dport = 80;
	assert_string_equal(eval(r, &fl), "stable");
	gp_rules_free(r);
}

/* ---- combination and order ---------------------------------------------- */

static void test_and(void **state)
{
	struct gp_rules *r = rules("no-defaults\ndst 198.18.0.0/15 dport 443 = canary\n"
				   "sni *.canary.example.com header x-user = beta");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "canary");
	fl.f.dport = 80;
	assert_string_equal(eval(r, &fl), "stable");
	to(&fl, "198.20.0.1", 443);
	assert_string_equal(eval(r, &fl), "stable");

	to(&fl, "198.18.0.1", 80);
	fl.f.sni = "a.canary.example.com";
	assert_string_equal(eval(r, &fl), "stable");
	HDRS(&fl, "x-user: u1\r\n");
	assert_string_equal(eval(r, &fl), "beta");
	assert_string_equal(g.marker, "x-user");
	assert_int_equal(g.rule, 1);
	fl.f.sni = "a.stable.example.com";
	assert_string_equal(eval(r, &fl), "stable");
	gp_rules_free(r);
}

static void test_first_match(void **state)
{
	struct gp_rules *r = rules("no-defaults\ndport 443 = first\ndst 198.18.0.0/15 = second\n"
				   "dport 443 = never");
	struct flow fl;

	(void)state;
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "first");
	assert_int_equal(g.rule, 0);
	fl.f.dport = 80;
	assert_string_equal(eval(r, &fl), "second");
	assert_int_equal(g.rule, 1);
	to(&fl, "fd00:198:18::1", 80);
	assert_string_equal(eval(r, &fl), "stable");
	assert_int_equal(g.rule, -1);
	gp_rules_free(r);
}

static void test_tokens(void **state)
{
	struct gp_rules *r = rules("no-defaults\n"
				   "  dst\t198.18.0.0/15 \t dport   443\t=   canary   # why: DC1 café\n"
				   "# dport 80 = commented\n"
				   "   \t  \n"
				   "dport 80 = crlf\r\n"
				   "dport 81 = Other");
	struct flow fl;

	(void)state;
	assert_int_equal(gp_rules_count(r), 3);
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "canary");
	fl.f.dport = 80;
	assert_string_equal(eval(r, &fl), "crlf");
	fl.f.dport = 81;
	assert_string_equal(eval(r, &fl), "Other");	/* only "other" is reserved */
	gp_rules_free(r);

	/* A label may use every allowed character, up to 32 bytes. */
	r = rules("no-defaults\ndport 443 = aZ09._:/+-aZ09._:/+-aZ09._:/+-ab");
	fl.f.dport = 443;
	assert_string_equal(eval(r, &fl), "aZ09._:/+-aZ09._:/+-aZ09._:/+-ab");
	gp_rules_free(r);
}

/* ---- errors ------------------------------------------------------------- */

static void test_errors(void **state)
{
	static const struct {
		const char *line, *msg;
	} t[] = {
		{ "foo 1 = x", "unknown condition 'foo'" },
		{ "DST 198.18.0.0/15 = x", "unknown condition 'DST' (keywords are lowercase)" },
		{ "Header x-a", "unknown condition 'Header' (keywords are lowercase)" },
		{ "dst", "dst: missing CIDR" },
		{ "dst = x", "dst: missing CIDR" },
		{ "src # x", "src: missing CIDR" },
		{ "dport = x", "dport: missing PORT[-PORT]" },
		{ "sport", "sport: missing PORT[-PORT]" },
		{ "header", "header: missing NAME" },
		{ "sni = x", "sni: missing GLOB" },
		{ "alpn = x", "alpn: missing VALUE" },
		{ "dst 198.18.0.0/33 = x", "dst: prefix length 33 is longer than 32 (IPv4)" },
		{ "dst fd00:198:18::/129 = x", "dst: prefix length 129 is longer than 128 (IPv6)" },
		{ "src 198.18.0.0/99999999999999999999999 = x",
		  "src: prefix length 99999999999999999999999 is longer than 32 (IPv4)" },
		{ "dst 198.18.0.256 = x", "dst: '198.18.0.256' is not an IPv4 or IPv6 address" },
		{ "dst 198.18.0 = x", "dst: '198.18.0' is not an IPv4 or IPv6 address" },
		{ "src fd00:198:18:::1/64 = x", "src: 'fd00:198:18:::1' is not an IPv4 or IPv6 address" },
		{ "dst fd00:198:18::1%eth0 = x",
		  "dst: 'fd00:198:18::1%eth0' is not an IPv4 or IPv6 address" },
		{ "dst /15 = x", "dst: '' is not an IPv4 or IPv6 address" },
		{ "dst fd00:0198:0018:0000:0000:0000:0000:0000:0000:0000/48 = x",
		  "dst: 'fd00:0198:0018:0000:0000:0000:0000:0000:0000:0000' is not an IPv4 or IPv6 address" },
		{ "dst 198.18.0.0/ = x", "dst: '198.18.0.0/' has no prefix length after '/'" },
		{ "dst 198.18.0.0/x = x", "dst: 'x' is not a prefix length" },
		{ "dst 198.18.0.0/-1 = x", "dst: '-1' is not a prefix length" },
		{ "dst 198.18.0.0/15/16 = x", "dst: '15/16' is not a prefix length" },
		{ "dport 70000 = x", "dport: 70000 is not a port 1..65535" },
		{ "dport 0 = x", "dport: 0 is not a port 1..65535" },
		{ "dport http = x", "dport: http is not a port 1..65535" },
		{ "dport +443 = x", "dport: +443 is not a port 1..65535" },
		{ "sport 2000-1000 = x", "sport: range 2000-1000 is reversed" },
		{ "sport 0-1000 = x", "sport: 0 is not a port 1..65535" },
		{ "dport 1-70000 = x", "dport: 70000 is not a port 1..65535" },
		{ "dport 1000- = x", "dport: 1000- is not a port or a range PORT-PORT" },
		{ "dport -5 = x", "dport: -5 is not a port or a range PORT-PORT" },
		{ "dport 1-2-3 = x", "dport: 2-3 is not a port 1..65535" },
		{ "dport 443 =", "missing label after '='" },
		{ "dport 443 =  # c", "missing label after '='" },
		{ "dport 443 = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "label 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 32 bytes" },
		{ "dport 443 = can@ry",
		  "label 'can@ry': '@' is not allowed (only A-Z a-z 0-9 . _ : / + -)" },
		{ "dport 443 = canary#1",
		  "label 'canary#1': '#' is not allowed (only A-Z a-z 0-9 . _ : / + -)" },
		{ "dport 443 = other", "label 'other' is reserved (it tags what overflows --max-tags)" },
		{ "header x-a = other", "label 'other' is reserved (it tags what overflows --max-tags)" },
		{ "= canary", "rule has no condition before '='" },
		{ "dst 198.18.0.0/15", "rule has no '= LABEL' and no header to take it from" },
		{ "dport 443 = canary extra", "unexpected 'extra' after the label" },
		{ "dport 443 = canary = x", "unexpected '=' after the label" },
		{ "dport 443=canary", "dport: 443=canary is not a port 1..65535" },
		{ "no-defaults dport 443", "no-defaults must be alone on its line" },
		{ "dport 443 no-defaults = x", "no-defaults must be alone on its line" },
		{ "header x(a", "header: 'x(a' is not a header name ('(')" },
		{ "header x-a: = b", "header: 'x-a:' is not a header name (':')" },
		{ "header x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "header: name 'x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 32 bytes" },
		{ "alpn aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = x",
		  "alpn: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 32 bytes" },
		{ "dport 443 = canary\001", "byte 0x01 is not allowed outside a comment" },
		{ "dport 443 = caf\303\251", "byte 0xc3 is not allowed outside a comment" },
		{ "dport\v443 = x", "byte 0x0b is not allowed outside a comment" },
		{ "dport 443 = x\ndport 80 = y", "byte 0x0a is not allowed outside a comment" },
		{ "dport 443 = x\r\r", "byte 0x0d is not allowed outside a comment" },
		/* Globs fnmatch(3) would take silently, but not as meant. */
		{ "sni [unclosed = x", "sni: '[unclosed' has a '[' that is never closed" },
		{ "sni a[b-c = x", "sni: 'a[b-c' has a '[' that is never closed" },
		{ "sni [!] = x", "sni: '[!]' has a '[' that is never closed" },
		{ "sni [] = x", "sni: '[]' has a '[' that is never closed" },
		{ "sni *.example.com\\ = x", "sni: '*.example.com\\' ends in a lone backslash" },
		{ "sni [a\\ = x", "sni: '[a\\' ends in a lone backslash" },
		{ "sni [[:alfa:]] = x", "sni: '[[:alfa:]]' has an unknown or unclosed '[:class:]'" },
		{ "sni [[:alpha:] = x", "sni: '[[:alpha:]' has a '[' that is never closed" },
		{ "sni [[:alpha = x", "sni: '[[:alpha' has an unknown or unclosed '[:class:]'" },
		{ "sni [[=a=]] = x", "sni: '[[=a=]]': '[=' is not supported" },
		{ "sni [[.a.]] = x", "sni: '[[.a.]]': '[.' is not supported" },
		{ "sni [z-a].example.com = x", "sni: '[z-a].example.com' has a reversed range z-a" },
		/* Header value lists. */
		{ "header x-a ~", "header x-a ~: missing GLOB[,GLOB...]" },
		{ "header x-a ~ = x", "header x-a ~: missing GLOB[,GLOB...]" },
		{ "header x-a ~ ~", "header x-a ~: missing GLOB[,GLOB...]" },
		{ "header ~ a", "header: missing NAME" },
		{ "~ a = x", "'~' must follow header NAME" },
		{ "dport 443 ~ a = x", "'~' must follow header NAME" },
		{ "header x-a ~ a ~ b", "header x-a ~: one '~' list per header condition" },
		{ "header x-a ~ a, = x", "header x-a ~: 'a,' has an empty entry" },
		{ "header x-a ~ ,a", "header x-a ~: ',a' has an empty entry" },
		{ "header x-a ~ a,[b", "header x-a ~: '[b' has a '[' that is never closed" },
		{ "header x-a ~ a\\", "header x-a ~: 'a\\' ends in a lone backslash" },
		{ "header x-a ~ aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "header x-a ~: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 32 bytes, a value's most" },
		{ "header x-a ~ a dport 443 ~ b", "'~' must follow header NAME" },
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++)
		refuse(t[i].line, t[i].msg);
}

static void test_error_origins(void **state)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char err[128], tiny[12];

	(void)state;
	assert_int_equal(gp_rules_add_line(b, "foo", "--rule", 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rule: unknown condition 'foo'");
	assert_int_equal(gp_rules_add_line(b, "foo", NULL, 3, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown condition 'foo'");
	assert_int_equal(gp_rules_add_line(b, "dport 70000 = x", "/etc/grayprobe/rules", 7, err,
					   sizeof(err)), -EINVAL);
	assert_string_equal(err, "/etc/grayprobe/rules:7: dport: 70000 is not a port 1..65535");
	/* A short buffer is cut, still terminated; none at all is fine. */
	assert_int_equal(gp_rules_add_line(b, "foo", "--rule", 0, tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "--rule: unk");
	assert_int_equal(gp_rules_add_line(b, "foo", "--rule", 0, NULL, 0), -EINVAL);
	assert_int_equal(gp_rules_add_line(NULL, "dport 1 = x", "--rule", 0, err, sizeof(err)),
			 -EINVAL);
	/* Blank and comment lines add nothing. */
	assert_int_equal(gp_rules_add_line(b, "", "--rule", 0, err, sizeof(err)), 0);
	assert_int_equal(gp_rules_add_line(b, "  # x", "--rule", 0, err, sizeof(err)), 0);
	gp_rules_builder_free(b);
}

static void test_limits(void **state)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char line[GP_RULE_LINE_MAX + 8], err[128];
	struct gp_rules *r;
	struct flow fl;
	unsigned i;

	(void)state;
	for (i = 1; i <= GP_RULES_MAX; i++) {
		snprintf(line, sizeof(line), "dport %u = r%u", i, i);
		assert_int_equal(gp_rules_add_line(b, line, "--rule", 0, err, sizeof(err)), 0);
	}
	assert_int_equal(gp_rules_add_line(b, "dport 1 = x", "f", 4097, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "f:4097: more than 4096 rules");
	/* The defaults do not count against the limit. */
	r = gp_rules_build(b);
	assert_non_null(r);
	assert_int_equal(gp_rules_count(r), GP_RULES_MAX + 5);
	to(&fl, "198.18.0.1", GP_RULES_MAX);
	assert_string_equal(eval(r, &fl), "r4096");
	assert_int_equal(g.rule, GP_RULES_MAX - 1);
	gp_rules_free(r);

	/* 16 conditions, then 17. */
	strcpy(line, "no-defaults\n");
	for (i = 0; i < GP_RULE_CONDS_MAX; i++)
		strcat(line, "dport 443 ");
	strcat(line, "= x");
	r = rules(line);
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "x");
	gp_rules_free(r);
	line[0] = '\0';
	for (i = 0; i <= GP_RULE_CONDS_MAX; i++)
		strcat(line, "dport 443 ");
	strcat(line, "= x");
	refuse(line, "more than 16 conditions in one rule");

	/* 4096 bytes (plus a CR) is a line, 4097 is too long. */
	memset(line, ' ', GP_RULE_LINE_MAX);
	memcpy(line, "dport 443 = long", 16);
	line[GP_RULE_LINE_MAX - 1] = 'x';
	line[GP_RULE_LINE_MAX - 2] = '#';
	line[GP_RULE_LINE_MAX] = '\0';
	r = rules(line);
	assert_string_equal(eval(r, &fl), "long");
	gp_rules_free(r);
	strcat(line, "\r");
	r = rules(line);
	gp_rules_free(r);
	line[GP_RULE_LINE_MAX] = 'x';
	refuse(line, "line longer than 4096 bytes");
}

/* ---- files -------------------------------------------------------------- */

static void test_file(void **state)
{
	static const char text[] = "# canary rules\n"
				   "\n"
				   "dst 198.18.0.0/15 dport 443 = canary\r\n"
				   "\tno-defaults   # only ours\n"
				   "header x-user";	/* no final newline */
	struct gp_rules_builder *b = gp_rules_builder_new();
	struct gp_rules *r;
	struct flow fl;
	char err[256], *path;

	(void)state;
	assert_int_equal(from_file(text, sizeof(text) - 1, b, err, sizeof(err), &path), 0);
	free(path);
	r = gp_rules_build(b);
	assert_int_equal(gp_rules_count(r), 2);
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "canary");
	fl.f.dport = 80;
	HDRS(&fl, "x-user: u7\r\nx-gray: g\r\n");
	assert_string_equal(eval(r, &fl), "u7");
	assert_int_equal(g.rule, 1);
	HDRS(&fl, "x-gray: g\r\n");
	assert_string_equal(eval(r, &fl), "stable");
	gp_rules_free(r);

	/* Empty file: nothing, not an error. */
	b = gp_rules_builder_new();
	assert_int_equal(from_file("", 0, b, err, sizeof(err), &path), 0);
	free(path);
	r = gp_rules_build(b);
	assert_int_equal(gp_rules_count(r), 5);
	gp_rules_free(r);
}

/*
 * A bad file: its errors, and nothing of it kept (not even its no-defaults).
 * msg is the first line's message, then "\nLINE: message" for each further
 * error; the file's path is put before each.
 */
#define BAD_FILE(lit, line, msg) bad_file(lit, sizeof(lit) - 1, line, msg)

static void bad_file(const void *data, size_t n, unsigned line, const char *msg)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char err[4096], want[4096], *path;
	const char *nl = strchr(msg, '\n'), *p;
	struct gp_rules *r;
	struct flow fl;
	int w;

	assert_int_equal(gp_rules_add_line(b, "dport 443 = flag", "--rule", 0, err, sizeof(err)),
			 0);
	assert_int_equal(from_file(data, n, b, err, sizeof(err), &path), -EINVAL);
	w = snprintf(want, sizeof(want), "%s:%u: %.*s", path, line,
		     (int)(nl ? (size_t)(nl - msg) : strlen(msg)), msg);
	for (p = nl; p; p = strchr(p + 1, '\n')) {
		nl = strchr(p + 1, '\n');
		w += snprintf(want + w, sizeof(want) - (size_t)w, "\n%s:%.*s", path,
			      (int)(nl ? (size_t)(nl - p - 1) : strlen(p + 1)), p + 1);
	}
	assert_string_equal(err, want);
	free(path);
	r = gp_rules_build(b);
	assert_int_equal(gp_rules_count(r), 6);
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(r, &fl), "flag");
	gp_rules_free(r);
}

static void test_file_errors(void **state)
{
	/* "no-defaults\n" then a line 2 of exactly GP_RULE_LINE_MAX bytes. */
	const size_t at = 12 + GP_RULE_LINE_MAX;
	char *big = malloc(at + 16);

	(void)state;
	BAD_FILE("no-defaults\ndport 80 = a\n# c\ndport 70000 = b\ndport 81 = c\n", 4,
		 "dport: 70000 is not a port 1..65535");
	/* The last line, without its '\n', still has its number. */
	BAD_FILE("no-defaults\n\ndport 80 = other", 3,
		 "label 'other' is reserved (it tags what overflows --max-tags)");
	BAD_FILE("dport 80 = a\ndport 4\0 = b\n", 2, "NUL byte in line");
	BAD_FILE("\0", 1, "NUL byte in line");
	BAD_FILE("dport 80 = a\n\ndport 81 = \001\n", 3,
		 "byte 0x01 is not allowed outside a comment");

	/* 4096 bytes + CRLF is a line (the error is on the next one); 4097 is not. */
	assert_non_null(big);
	memset(big, ' ', at);
	memcpy(big, "no-defaults\ndport 80 = a", 24);
	memcpy(big + at, "\r\nno-defaults x\n", 16);
	bad_file(big, at + 16, 3, "no-defaults must be alone on its line");
	big[at] = ' ';
	/* The rest of a long line is skipped: the next line is read as one. */
	bad_file(big, at + 16, 2, "line longer than 4096 bytes\n"
				  "3: no-defaults must be alone on its line");
	bad_file(big, at + 1, 2, "line longer than 4096 bytes");
	big[at + 1] = ' ';
	bad_file(big, at + 16, 2, "line longer than 4096 bytes");
	free(big);
}

/* Every bad line of a file is listed, in order, each with its number. */
static void test_file_all_errors(void **state)
{
	struct gp_rules_builder *b;
	char *text, *p, err[64 * 1024], want[128], *path;
	unsigned i;

	(void)state;
	BAD_FILE("sni [unclosed = x\n"
		 "dport 443 = ok\n"
		 "dport 70000 = y\n"
		 "# fine\n"
		 "header x-a ~ a,,b\n"
		 "dport 80 = other",
		 1, "sni: '[unclosed' has a '[' that is never closed\n"
		 "3: dport: 70000 is not a port 1..65535\n"
		 "5: header x-a ~: 'a,,b' has an empty entry\n"
		 "6: label 'other' is reserved (it tags what overflows --max-tags)");
	/* A NUL byte does not stop the reading either. */
	BAD_FILE("dport 4\0 = b\nfoo\n", 1, "NUL byte in line\n2: unknown condition 'foo'");

	/* Past GP_RULES_ERRORS_MAX, one line sums up the rest. */
	text = malloc(64 * 40);
	assert_non_null(text);
	for (p = text, i = 1; i <= GP_RULES_ERRORS_MAX + 5; i++)
		p += sprintf(p, "dport %u = x\n", 70000 + i);
	b = gp_rules_builder_new();
	assert_int_equal(from_file(text, strlen(text), b, err, sizeof(err), &path), -EINVAL);
	for (p = err, i = 0; (p = strchr(p, '\n')); p++)
		i++;
	assert_int_equal(i, GP_RULES_ERRORS_MAX);
	snprintf(want, sizeof(want), "\n%s: 5 more errors", path);
	assert_string_equal(strrchr(err, '\n'), want);
	snprintf(want, sizeof(want), "%s:%u: dport: %u is not a port 1..65535", path,
		 GP_RULES_ERRORS_MAX, 70000 + GP_RULES_ERRORS_MAX);
	assert_non_null(strstr(err, want));
	/* A buffer too short for all: whole lines, the summary counting the rest. */
	i = (unsigned)strlen(path);
	free(path);
	assert_int_equal(from_file(text, strlen(text), b, err, 2 * i + 100, &path), -EINVAL);
	assert_non_null(strstr(err, "1 is not a port"));
	assert_null(strstr(err, "2 is not a port"));
	snprintf(want, sizeof(want), "\n%s: %u more errors", path, GP_RULES_ERRORS_MAX + 4);
	assert_string_equal(strrchr(err, '\n'), want);
	gp_rules_builder_free(b);
	free(path);
	free(text);
}

static void test_file_unreadable(void **state)
{
	struct gp_rules_builder *b = gp_rules_builder_new();
	char dir[] = "/tmp/gp_rules_dir_XXXXXX", path[64], err[256], want[320];
	struct gp_rules *r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(gp_rules_add_file(b, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(gp_rules_add_file(b, dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(gp_rules_add_file(NULL, dir, err, sizeof(err)), -EINVAL);
	/* The builder is still good. */
	r = gp_rules_build(b);
	assert_int_equal(gp_rules_count(r), 5);
	gp_rules_free(r);
}

/* ---- output and lifetime ------------------------------------------------ */

static void test_print(void **state)
{
	struct gp_rules *r = rules("dst 198.19.1.1/15 dport 443 = canary\n"
				   "src fd00:198:18::1/48\tsport 1000-2000 = beta\n"
				   "header X-User\n"
				   "sni *.Canary.example.com alpn h2 header x-a = c\n"
				   "dst ::ffff:198.18.0.1 dport 80-80 = m\n"
				   "src fd00:198:18::7 sport 1-65535 = v6");
	char *out = print(r);

	(void)state;
	assert_string_equal(out,
			    "1: dst 198.18.0.0/15 dport 443 = canary\n"
			    "2: src fd00:198:18::/48 sport 1000-2000 = beta\n"
			    "3: header x-user\n"
			    "4: sni *.Canary.example.com alpn h2 header x-a = c\n"
			    "5: dst 198.18.0.1/32 dport 80 = m\n"
			    "6: src fd00:198:18::7/128 sport 1-65535 = v6\n"
			    "7: header x-gray\n"
			    "8: header x-canary\n"
			    "9: header x-traffic-tag\n"
			    "10: header x-envoy-gray\n"
			    "11: header x-release-stage\n");
	free(out);
	gp_rules_free(r);
	out = print(NULL);
	assert_string_equal(out, "");
	free(out);
}

static void test_null_safe(void **state)
{
	struct flow fl;

	(void)state;
	gp_rules_free(NULL);
	gp_rules_builder_free(NULL);
	assert_null(gp_rules_build(NULL));
	assert_int_equal(gp_rules_count(NULL), 0);
	assert_int_equal(gp_rules_want_headers(NULL), 0);
	to(&fl, "198.18.0.1", 443);
	assert_string_equal(eval(NULL, &fl), "stable");
	assert_string_equal(g.marker, "");
	/* A builder thrown away with rules in it frees them. */
	{
		struct gp_rules_builder *b = gp_rules_builder_new();
		char err[64];

		assert_int_equal(gp_rules_add_line(b, "sni *.canary.example.com header x-a alpn h2 "
						   "dst 198.18.0.0/15 = x", "--rule", 0, err,
						   sizeof(err)), 0);
		gp_rules_builder_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest test_rules[] = {
		cmocka_unit_test(test_no_rules_is_stable),
		cmocka_unit_test(test_dst_ipv4),
		cmocka_unit_test(test_src_and_dst_sides),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_sni_glob),
		cmocka_unit_test(test_sni_many_stars),
		cmocka_unit_test(test_header_value_label),
		cmocka_unit_test(test_header_value_sanitized_and_cut),
		cmocka_unit_test(test_header_explicit_label),
		cmocka_unit_test(test_several_headers),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_and),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_origins),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_all_errors),
		cmocka_unit_test(test_header_accept),
		cmocka_unit_test(test_header_accept_defaults),
		cmocka_unit_test(test_glob_valid),
		cmocka_unit_test(test_file_unreadable),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_null_safe),
	};

	return cmocka_run_group_tests(test_rules, NULL, NULL);
}
