// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "pipeline/payload.h"

#define TLS_CT_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_EXT_SERVER_NAME	0
#define TLS_EXT_ALPN		16
#define TLS_EXT_EARLY_DATA	42
/* RFC 8446 5.1: a plaintext record carries at most 2^14 bytes. */
#define TLS_RECORD_MAX		16384

static const char h2c_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2C_PREFACE_LEN		(sizeof(h2c_preface) - 1)

static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

/* ---- TLS ---------------------------------------------------------------- */

/* Outcome of parsing a structure of which maybe only a prefix has arrived. */
enum pr { PR_OK, PR_SHORT, PR_BAD };

/*
 * Cursor over a message whose length is known but of which only the first
 * `avail` bytes have arrived: crossing `end` (the enclosing vector's end) is
 * malformed, crossing `avail` only means more bytes are needed. So a prefix is
 * judged by everything it already shows.
 */
struct cur {
	const uint8_t *b;
	size_t pos, end, avail;
};

#define TRY(x) do { enum pr r_ = (x); if (r_ != PR_OK) return r_; } while (0)

static enum pr need(const struct cur *c, size_t n)
{
	if (n > c->end - c->pos)
		return PR_BAD;
	if (c->pos + n > c->avail)
		return PR_SHORT;
	return PR_OK;
}

static enum pr get_u8(struct cur *c, size_t *v)
{
	TRY(need(c, 1));
	*v = c->b[c->pos++];
	return PR_OK;
}

static enum pr get_u16(struct cur *c, size_t *v)
{
	TRY(need(c, 2));
	*v = (size_t)c->b[c->pos] << 8 | c->b[c->pos + 1];
	c->pos += 2;
	return PR_OK;
}

static enum pr skip(struct cur *c, size_t n)
{
	TRY(need(c, n));
	c->pos += n;
	return PR_OK;
}

/* Sub-cursor over the next n bytes, which need not have arrived yet. */
static enum pr sub(struct cur *c, size_t n, struct cur *s)
{
	if (n > c->end - c->pos)
		return PR_BAD;
	*s = *c;
	s->end = c->pos + n;
	c->pos += n;
	return PR_OK;
}

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
static int grease16(size_t v)
{
	return (v >> 8) == (v & 0xff) && (v & 0x0f) == 0x0a;
}

struct ch_ctx {
	struct gp_payload_info *out;
	size_t offered_len;
	int seen_alpn, seen_sni, have_label;
};

static void offer_alpn(struct ch_ctx *x, const uint8_t *name, size_t n)
{
	struct gp_payload_info *o = x->out;
	size_t want = gp_sanitized_len(name, n) + (x->offered_len ? 1 : 0);

	if (!x->have_label) {
		gp_sanitize_label(name, n, o->alpn, GP_TAG_MAX);
		x->have_label = 1;
	}
	/* Whole names only, and none after one that did not fit: order matters. */
	if (o->alpn_offered_truncated || want > GP_ALPN_OFFERED_MAX - x->offered_len) {
		o->alpn_offered_truncated = 1;
		return;
	}
	if (x->offered_len)
		o->alpn_offered[x->offered_len++] = ',';
	x->offered_len += gp_sanitize_label(name, n, o->alpn_offered + x->offered_len,
					    GP_ALPN_OFFERED_MAX - x->offered_len);
}

/*
 * RFC 7301 3.1. An empty name (or list) makes the whole ClientHello
 * malformed, as OpenSSL and BoringSSL answer it with decode_error: the
 * connection will not carry any protocol, so it gets no ALPN tag.
 */
static enum pr parse_alpn(struct cur *c, struct ch_ctx *x)
{
	size_t n;

	TRY(get_u16(c, &n));
	if (n < 2 || n != c->end - c->pos)
		return PR_BAD;
	while (c->pos < c->end) {
		const uint8_t *name;

		TRY(get_u8(c, &n));
		if (!n)
			return PR_BAD;
		TRY(need(c, n));
		name = c->b + c->pos;
		c->pos += n;
		if (n == 2 && grease16((size_t)name[0] << 8 | name[1]))
			continue;
		offer_alpn(x, name, n);
	}
	return PR_OK;
}

/* RFC 6066 3: entries are name_type + 2-byte length; the first host_name wins. */
static enum pr parse_sni(struct cur *c, struct ch_ctx *x)
{
	struct gp_payload_info *o = x->out;
	size_t n, type;
	int got = 0;

	TRY(get_u16(c, &n));
	if (!n || n != c->end - c->pos)
		return PR_BAD;
	while (c->pos < c->end) {
		TRY(get_u8(c, &type));
		TRY(get_u16(c, &n));
		if (!n)
			return PR_BAD;
		TRY(need(c, n));
		if (type == 0 && !got) {
			o->sni_truncated = gp_sanitized_len(c->b + c->pos, n) > GP_SNI_MAX;
			gp_sanitize_label(c->b + c->pos, n, o->sni, GP_SNI_MAX);
			got = 1;
		}
		c->pos += n;
	}
	return PR_OK;
}

/* RFC 8446 4.1.2, from legacy_version on. */
static enum pr parse_client_hello(struct cur *c, struct ch_ctx *x)
{
	size_t n, type;
	struct cur e;

	TRY(get_u16(c, &n));		/* legacy_version: SSL 3.0 .. TLS 1.2 */
	if (n >> 8 != 3)
		return PR_BAD;
	TRY(skip(c, 32));		/* random */
	TRY(get_u8(c, &n));		/* legacy_session_id */
	if (n > 32)
		return PR_BAD;
	TRY(skip(c, n));
	TRY(get_u16(c, &n));		/* cipher_suites<2..2^16-2> */
	if (n < 2 || n % 2)
		return PR_BAD;
	TRY(skip(c, n));
	TRY(get_u8(c, &n));		/* legacy_compression_methods<1..2^8-1> */
	if (!n)
		return PR_BAD;
	TRY(skip(c, n));
	if (c->pos == c->end)		/* pre-RFC 3546 hello: no extensions */
		return PR_OK;
	TRY(get_u16(c, &n));
	if (n != c->end - c->pos)
		return PR_BAD;
	/* Any order (Chromium shuffles); GREASE and unknown types are skipped. */
	while (c->pos < c->end) {
		TRY(get_u16(c, &type));
		TRY(get_u16(c, &n));
		TRY(sub(c, n, &e));
		if (type == TLS_EXT_ALPN) {
			if (x->seen_alpn++)
				return PR_BAD;	/* RFC 8446 4.2: one of each type */
			TRY(parse_alpn(&e, x));
		} else if (type == TLS_EXT_SERVER_NAME) {
			if (x->seen_sni++)
				return PR_BAD;
			TRY(parse_sni(&e, x));
		} else if (type == TLS_EXT_EARLY_DATA) {
			x->out->early_data = 1;
		}
	}
	return PR_OK;
}

/*
 * Gathers the handshake message from consecutive handshake records (it may
 * be fragmented over several, each fragment possibly cut by the end of the
 * data), then parses what arrived. Bytes after the ClientHello are not
 * looked at.
 */
static enum gp_payload_kind parse_tls(const uint8_t *buf, size_t len,
				      struct gp_payload_info *out)
{
	uint8_t hs[GP_FIRST_PAYLOAD_MAX];
	size_t off = 0, have = 0, msg = 0;	/* msg: 4 + body, 0 until known */
	struct ch_ctx x = { .out = out };
	struct cur c;
	enum pr r;

	while (!(msg && have >= msg) && off < len) {
		size_t hdr = len - off < 5 ? len - off : 5, rlen, take;

		if (buf[off] != TLS_CT_HANDSHAKE)
			return GP_PL_UNKNOWN;
		if (hdr > 1 && buf[off + 1] != 3)
			return GP_PL_UNKNOWN;
		if (hdr > 2 && buf[off + 2] > 4)	/* record version 0x0300..0x0304 */
			return GP_PL_UNKNOWN;
		if (hdr < 5)
			break;		/* what came before still gets judged */
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		/* Zero-length handshake fragments are forbidden (RFC 8446 5.1). */
		if (!rlen || rlen > TLS_RECORD_MAX)
			return GP_PL_UNKNOWN;
		off += 5;
		take = len - off < rlen ? len - off : rlen;
		/* len <= GP_FIRST_PAYLOAD_MAX and each record costs 5 bytes: fits. */
		memcpy(hs + have, buf + off, take);
		have += take;
		off += take;
		if (have >= 1 && hs[0] != TLS_HS_CLIENT_HELLO)
			return GP_PL_UNKNOWN;
		if (!msg && have >= 4) {
			msg = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
			/* It could never complete within what the kernel keeps. */
			if (msg + 5 > GP_FIRST_PAYLOAD_MAX)
				return GP_PL_UNKNOWN;
		}
	}
	if (have < 4)
		return GP_PL_NEED_MORE;
	if (have > msg)
		have = msg;
	c = (struct cur){ .b = hs + 4, .pos = 0, .end = msg - 4, .avail = have - 4 };
	r = parse_client_hello(&c, &x);
	if (r == PR_BAD)
		return GP_PL_UNKNOWN;
	/* OK with bytes missing: a skipped extension that had not arrived. */
	if (r == PR_SHORT || have < msg)
		return GP_PL_NEED_MORE;
	if (!x.have_label)
		strcpy(out->alpn, "tls");
	return GP_PL_TLS;
}

/* ---- HTTP/1 and h2c ----------------------------------------------------- */

/* Whether buf[0..n) is a method (whole) or a prefix of one (!whole). */
static int http_method(const uint8_t *buf, size_t n, int whole)
{
	size_t i;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		size_t mlen = strlen(http_methods[i]);

		if (whole ? n == mlen : n <= mlen)
			if (!memcmp(buf, http_methods[i], n))
				return 1;
	}
	return 0;
}

/*
 * RFC 9112 3: method SP request-target SP HTTP-version CRLF. A bare LF is
 * accepted as line end (RFC 9112 2.2 allows it); the target is any run of
 * bytes but controls and SP (raw UTF-8 paths are seen in the wild).
 */
static enum gp_payload_kind parse_http1(const uint8_t *buf, size_t len,
					struct gp_payload_info *out)
{
	static const char ver[] = "HTTP/1.";
	size_t i, start, k, p, q;
	uint8_t minor;

	for (i = 0; i < len && i <= GP_HTTP_METHOD_MAX && buf[i] != ' '; i++)
		;
	if (i == len && i <= GP_HTTP_METHOD_MAX)
		return http_method(buf, len, 0) ? GP_PL_NEED_MORE : GP_PL_UNKNOWN;
	if (i > GP_HTTP_METHOD_MAX || !http_method(buf, i, 1))
		return GP_PL_UNKNOWN;
	memcpy(out->http_method, buf, i);
	out->http_method[i] = '\0';

	start = ++i;
	for (; i < len && buf[i] != ' '; i++)
		if (buf[i] < 0x21 || buf[i] == 0x7f)
			return GP_PL_UNKNOWN;
	if (i == len)
		return GP_PL_NEED_MORE;
	if (i == start)
		return GP_PL_UNKNOWN;
	i++;
	for (k = 0; k < sizeof(ver) - 1; k++, i++) {
		if (i == len)
			return GP_PL_NEED_MORE;
		if (buf[i] != (uint8_t)ver[k])
			return GP_PL_UNKNOWN;
	}
	if (i == len)
		return GP_PL_NEED_MORE;
	if (buf[i] < '0' || buf[i] > '9')
		return GP_PL_UNKNOWN;
	minor = buf[i++] - '0';
	if (i < len && buf[i] == '\r')
		i++;
	if (i == len)
		return GP_PL_NEED_MORE;
	if (buf[i++] != '\n')
		return GP_PL_UNKNOWN;
	out->http_minor = minor;

	/* Header block: complete lines up to the blank one. */
	out->hdr_off = p = q = i;
	for (;;) {
		const uint8_t *nl = memchr(buf + p, '\n', len - p);
		size_t e;

		if (!nl)
			break;
		e = (size_t)(nl - buf);
		if (e == p || (e == p + 1 && buf[p] == '\r')) {
			out->body_off = e + 1;
			break;
		}
		p = q = e + 1;
	}
	out->hdr_len = q - out->hdr_off;
	return GP_PL_HTTP1;
}

enum gp_payload_kind gp_payload_parse(const uint8_t *buf, size_t len,
				      struct gp_payload_info *out)
{
	enum gp_payload_kind k;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (len > GP_FIRST_PAYLOAD_MAX)
		len = GP_FIRST_PAYLOAD_MAX;
	n = len < H2C_PREFACE_LEN ? len : H2C_PREFACE_LEN;
	if (!len)
		k = GP_PL_NEED_MORE;
	else if (buf[0] == TLS_CT_HANDSHAKE)
		k = parse_tls(buf, len, out);
	/* Before HTTP/1: "PRI * HTTP/2.0" is no HTTP/1 request. */
	else if (!memcmp(buf, h2c_preface, n))
		k = n < H2C_PREFACE_LEN ? GP_PL_NEED_MORE : GP_PL_H2C;
	else
		k = parse_http1(buf, len, out);
	/* Undecided with all the bytes the kernel keeps: it never will be. */
	if (k == GP_PL_NEED_MORE && len == GP_FIRST_PAYLOAD_MAX)
		k = GP_PL_UNKNOWN;

	switch (k) {
	case GP_PL_TLS:
		break;
	case GP_PL_HTTP1:
		/* 1.0 too: one tag for HTTP/1 keeps labels few; http_minor tells them apart. */
		strcpy(out->alpn, "http/1.1");
		break;
	case GP_PL_H2C:
		strcpy(out->alpn, "h2c");
		break;
	case GP_PL_UNKNOWN:
		memset(out, 0, sizeof(*out));
		strcpy(out->alpn, "unknown");
		break;
	default:
		memset(out, 0, sizeof(*out));
		break;
	}
	out->kind = k;
	return k;
}

static int name_eq(const uint8_t *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t x = a[i], y = (uint8_t)b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

int gp_http1_header(const uint8_t *buf, size_t len, const char *name, char *val,
		    size_t vlen)
{
	size_t nlen = strlen(name), p = 0;

	if (!nlen)
		return 0;
	while (p < len) {
		const uint8_t *nl = memchr(buf + p, '\n', len - p);
		size_t s = p, e;

		if (!nl)
			return 0;	/* an incomplete line may still grow */
		e = (size_t)(nl - buf);
		p = e + 1;
		if (e > s && buf[e - 1] == '\r')
			e--;
		if (e == s)
			return 0;	/* blank line: end of the header block */
		if (e - s <= nlen || buf[s + nlen] != ':' || !name_eq(buf + s, name, nlen))
			continue;
		s += nlen + 1;
		while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
			s++;
		while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		if (vlen)
			gp_sanitize_label(buf + s, e - s, val, vlen - 1);
		return 1;
	}
	return 0;
}
