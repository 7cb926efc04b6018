// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* strerrorname_np */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "export/json.h"

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

/* "family", "saddr", "sport", "daddr", "dport": client first, as everywhere. */
static void json_endpoints(FILE *f, int family, const uint8_t saddr[16], uint16_t sport,
			   const uint8_t daddr[16], uint16_t dport)
{
	int af = family == AF_INET6 ? AF_INET6 : AF_INET;
	char addr[64];

	json_key_str(f, "family", af == AF_INET6 ? "ipv6" : "ipv4");
	gp_addr_str(af, saddr, addr, sizeof(addr));
	json_key_str(f, "saddr", addr);
	fprintf(f, ",\"sport\":%u", sport);
	gp_addr_str(af, daddr, addr, sizeof(addr));
	json_key_str(f, "daddr", addr);
	fprintf(f, ",\"dport\":%u", dport);
}

/*
 * What decided the tag, the same keys for outcomes and replay's flows.
 * alpn_offered_truncated appears only when names were dropped.
 */
static void json_tag(FILE *f, const char *alpn, const char *offered, int offered_truncated,
		     const char *sni, const char *gray, const char *marker)
{
	json_key_str(f, "alpn", alpn);
	json_key_str(f, "alpn_offered", offered);
	if (offered_truncated)
		fputs(",\"alpn_offered_truncated\":true", f);
	json_key_str(f, "sni", sni);
	json_key_str(f, "gray", gray);
	json_key_str(f, "http_marker", marker);
}

int gp_json_conn(FILE *f, const struct gp_conn *c, int64_t realtime_offset_ns)
{
	char ts[64];
	const char *ename = c->sk_err ? strerrorname_np(c->sk_err) : NULL;

	fmt_ts(ts, sizeof(ts), c->ts_ns, realtime_offset_ns);
	fprintf(f, "{\"type\":\"connection\",\"ts\":\"%s\"", ts);
	json_key_str(f, "direction", gp_direction_name(c->dir));
	json_endpoints(f, c->family, c->saddr, c->sport, c->daddr, c->dport);
	fprintf(f, ",\"pid\":%" PRIu32, c->pid);
	json_key_str(f, "comm", c->comm);
	json_key_str(f, "result", gp_result_name(c->result));
	if (ename)
		json_key_str(f, "error", ename);
	else if (c->sk_err)
		fprintf(f, ",\"error\":\"%d\"", c->sk_err);
	else
		fputs(",\"error\":null", f);
	fprintf(f, ",\"latency_ns\":%" PRIu64, c->latency_ns);
	json_tag(f, c->alpn, c->alpn_offered, c->alpn_offered_truncated, c->sni, c->gray,
		 c->http_marker);
	/* Only when the tag is not the attempt's own, so other lines stay as they were. */
	if (c->tag_from_endpoint)
		json_key_str(f, "tag_from", "endpoint");
	fprintf(f, ",\"netns\":%" PRIu32 "}\n", c->netns);
	return ferror(f) ? -EIO : 0;
}

int gp_json_flow(FILE *f, const struct gp_flow_result *r, uint64_t frame, uint64_t ts_ns)
{
	char ts[64];

	fmt_ts(ts, sizeof(ts), ts_ns, 0);
	fprintf(f, "{\"frame\":%" PRIu64 ",\"ts\":\"%s\"", frame, ts);
	json_endpoints(f, r->flow.family, r->flow.saddr, r->flow.sport, r->flow.daddr,
		       r->flow.dport);
	json_tag(f, r->alpn, r->alpn_offered, r->alpn_offered_truncated, r->sni, r->gray,
		 r->http_marker);
	json_key_str(f, "http_method", r->http_method);
	fprintf(f, ",\"tunnel\":%s,\"bytes_classified\":%zu}\n", r->tunnel ? "true" : "false",
		r->bytes_seen);
	return ferror(f) ? -EIO : 0;
}

/* The keys request and handshake lines start with: type, time, direction, flow, alpn. */
static void json_flow_head(FILE *f, const char *type, uint64_t ts_ns, int64_t offset_ns,
			   unsigned dir, const struct gp_flow_tuple *flow, const char *alpn)
{
	char ts[64];

	fmt_ts(ts, sizeof(ts), ts_ns, offset_ns);
	fprintf(f, "{\"type\":\"%s\",\"ts\":\"%s\"", type, ts);
	json_key_str(f, "direction", dir < GP_DIR_MAX ? gp_direction_name(dir) : "unknown");
	json_endpoints(f, flow->family, flow->saddr, flow->sport, flow->daddr, flow->dport);
	json_key_str(f, "alpn", alpn);
}

int gp_json_tls_handshake(FILE *f, const struct gp_tls_handshake *h, int64_t realtime_offset_ns)
{
	json_flow_head(f, "tls_handshake", h->ts_ns, realtime_offset_ns, h->dir, &h->flow,
		       h->alpn);
	json_key_str(f, "gray", h->gray);
	fprintf(f, ",\"duration_ns\":%" PRIu64 "}\n", h->duration_ns);
	return ferror(f) ? -EIO : 0;
}

/* ,"KEY":N or ,"KEY":null. */
static void json_key_opt(FILE *f, const char *key, int has, uint64_t v)
{
	if (has)
		fprintf(f, ",\"%s\":%" PRIu64, key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

int gp_json_request(FILE *f, const struct gp_request *r, int64_t realtime_offset_ns)
{
	json_flow_head(f, "request", r->ts_ns, realtime_offset_ns, r->dir, &r->flow, r->alpn);
	/* The protocol TLS agreed on, as its plaintext shows; cleartext negotiated none. */
	fprintf(f, ",\"tls\":%s", r->tls ? "true" : "false");
	if (r->tls)
		json_key_str(f, "alpn_negotiated", r->alpn);
	else
		fputs(",\"alpn_negotiated\":null", f);
	json_key_str(f, "gray", r->gray);
	json_key_str(f, "marker", r->marker);
	json_key_str(f, "method", r->method);
	json_key_str(f, "authority", r->authority);
	json_key_str(f, "path", r->path);
	json_key_opt(f, "status", r->status != 0, (uint64_t)r->status);
	if (r->grpc)
		json_key_str(f, "grpc_status", gp_grpc_slot_name(r->grpc_slot));
	else
		fputs(",\"grpc_status\":null", f);
	if (r->no_status)
		fputs(",\"code\":null", f);
	else
		json_key_str(f, "code", gp_req_code_name(r->code));
	json_key_opt(f, "latency_ns", r->has_latency, r->latency_ns);
	json_key_opt(f, "duration_ns", r->has_duration, r->duration_ns);
	json_key_opt(f, "stream", r->stream != 0, r->stream);
	/* Only for requests not decoded whole, so other lines stay as they are. */
	if (r->undecoded)
		json_key_str(f, "undecoded", gp_http_lost_name(r->reason));
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
