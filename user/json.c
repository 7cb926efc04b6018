// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* strerrorname_np */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void gp_json_string(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f), i++;
		} else if (c == '\t') {
			fputs("\\t", f), i++;
		} else if (c == '\r') {
			fputs("\\r", f), i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c), i++;
		} else if ((n = utf8_len(s + i, len - i))) {
			fwrite(s + i, 1, n, f);
			i += n;
		} else {
			fputs("\\ufffd", f), i++;
		}
	}
	fputc('"', f);
}

static void json_key_str(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	gp_json_string(f, val, strlen(val));
}

static void fmt_ts(char *buf, size_t len, uint64_t mono_ns, int64_t offset_ns)
{
	int64_t real = (int64_t)mono_ns + offset_ns;
	time_t sec = real / 1000000000;
	struct tm tm;

	if (real < 0 || !gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000000000Z");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, real % 1000000000);
}

int gp_json_conn(FILE *f, const struct gp_conn *c, int64_t realtime_offset_ns)
{
	char ts[64], saddr[64], daddr[64];
	const char *ename = c->sk_err ? strerrorname_np(c->sk_err) : NULL;

	fmt_ts(ts, sizeof(ts), c->ts_ns, realtime_offset_ns);
	gp_addr_str(c->family, c->saddr, saddr, sizeof(saddr));
	gp_addr_str(c->family, c->daddr, daddr, sizeof(daddr));

	fprintf(f, "{\"ts\":\"%s\"", ts);
	json_key_str(f, "direction", gp_direction_name(c->dir));
	json_key_str(f, "family", c->family == AF_INET6 ? "ipv6" : "ipv4");
	json_key_str(f, "saddr", saddr);
	fprintf(f, ",\"sport\":%u", c->sport);
	json_key_str(f, "daddr", daddr);
	fprintf(f, ",\"dport\":%u,\"pid\":%" PRIu32, c->dport, c->pid);
	json_key_str(f, "comm", c->comm);
	json_key_str(f, "result", gp_result_name(c->result));
	if (ename)
		json_key_str(f, "error", ename);
	else if (c->sk_err)
		fprintf(f, ",\"error\":\"%d\"", c->sk_err);
	else
		fputs(",\"error\":null", f);
	fprintf(f, ",\"latency_ns\":%" PRIu64, c->latency_ns);
	json_key_str(f, "alpn", c->alpn);
	json_key_str(f, "alpn_offered", c->alpn_offered);
	json_key_str(f, "sni", c->sni);
	json_key_str(f, "gray", c->gray);
	json_key_str(f, "http_marker", c->http_marker);
	fprintf(f, ",\"netns\":%" PRIu32 "}\n", c->netns);
	return ferror(f) ? -EIO : 0;
}

int gp_json_flow(FILE *f, const struct gp_flow_result *r, uint64_t frame, uint64_t ts_ns)
{
	char saddr[64], daddr[64], ts[64];
	int af = r->flow.family == AF_INET6 ? AF_INET6 : AF_INET;

	fmt_ts(ts, sizeof(ts), ts_ns, 0);
	gp_addr_str(af, r->flow.saddr, saddr, sizeof(saddr));
	gp_addr_str(af, r->flow.daddr, daddr, sizeof(daddr));
	fprintf(f, "{\"frame\":%" PRIu64 ",\"ts\":\"%s\"", frame, ts);
	json_key_str(f, "family", af == AF_INET6 ? "ipv6" : "ipv4");
	json_key_str(f, "saddr", saddr);
	fprintf(f, ",\"sport\":%u", r->flow.sport);
	json_key_str(f, "daddr", daddr);
	fprintf(f, ",\"dport\":%u", r->flow.dport);
	json_key_str(f, "alpn", r->alpn);
	json_key_str(f, "alpn_offered", r->alpn_offered);
	json_key_str(f, "sni", r->sni);
	json_key_str(f, "gray", r->gray);
	json_key_str(f, "http_marker", r->http_marker);
	json_key_str(f, "http_method", r->http_method);
	fprintf(f, ",\"tunnel\":%s,\"bytes_classified\":%zu}\n", r->tunnel ? "true" : "false",
		r->bytes_seen);
	return ferror(f) ? -EIO : 0;
}
