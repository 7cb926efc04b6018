// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/h2.h"
#include "decode/hpack.h"
#include "util/label.h"

/* RFC 9113 6: frame types and flags. */
enum { F_DATA, F_HEADERS, F_PRIORITY, F_RST_STREAM, F_SETTINGS, F_PUSH_PROMISE, F_PING,
       F_GOAWAY, F_WINDOW_UPDATE, F_CONTINUATION };
#define FL_END_STREAM	0x01
#define FL_ACK		0x01
#define FL_END_HEADERS	0x04
#define FL_PADDED	0x08
#define FL_PRIORITY	0x20
#define SETTINGS_HEADER_TABLE_SIZE	0x1
#define FRAME_HDR	9

struct h2_dir {
	struct gp_hpack *hp;		/* NULL once dead or blind */
	int dead;
	unsigned blind;			/* HPACK state unknown: GP_HTTP_LOST_RINGBUF or _MIDSTREAM */
	/* Blind: what the first field of the block being received says (peek_block()). */
	uint8_t pk_kind;
	int pk_status;
	uint32_t max_sid;		/* dir 0: the highest stream a request opened */
	uint32_t missed;		/* dir 0: requests the kernel could not deliver */
	/* A header block waiting for its CONTINUATION frames. */
	int open;
	uint8_t type, end_stream;
	uint32_t stream;
	uint64_t ts_ns;
	uint8_t *blk;
	size_t blk_len, blk_cap;
	/* The decoded block's regular fields as HTTP/1 lines. */
	uint8_t *lines;
	size_t lines_cap;
};

struct gp_h2_conn {
	gp_http_msg_fn fn;
	void *ctx;
	struct h2_dir d[2];
	uint8_t joined;		/* a direction was joined mid-stream */
	uint8_t said;		/* a message other than LOST was told */
	uint8_t swap;		/* joined the wrong way round: record dir 0 is the server's */
};

/* h2_dir.pk_kind */
enum { PK_UNKNOWN = 0, PK_REQUEST, PK_RESPONSE, PK_OTHER };

/* What a header block says, pseudo-headers picked out. */
struct h2_head {
	const uint8_t *method, *authority, *host, *path, *status, *ctype, *grpc;
	size_t method_len, authority_len, host_len, path_len, status_len, ctype_len, grpc_len;
	size_t lines_len;
	int request;			/* has request pseudo-headers */
	int malformed;
};

struct gp_h2_conn *gp_h2_conn_new(gp_http_msg_fn fn, void *ctx)
{
	struct gp_h2_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fn = fn;
	c->ctx = ctx;
	c->d[0].hp = gp_hpack_new();
	c->d[1].hp = gp_hpack_new();
	if (!c->d[0].hp || !c->d[1].hp) {
		gp_h2_conn_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void dir_release(struct h2_dir *d)
{
	gp_hpack_free(d->hp);
	free(d->blk);
	free(d->lines);
	d->hp = NULL;
	d->blk = d->lines = NULL;
	d->blk_len = d->blk_cap = d->lines_cap = 0;
	d->open = 0;
}

void gp_h2_conn_free(struct gp_h2_conn *c)
{
	if (!c)
		return;
	dir_release(&c->d[0]);
	dir_release(&c->d[1]);
	free(c);
}

static void msg_init(struct gp_http_msg *m, enum gp_http_ev ev, unsigned dir, uint32_t stream,
		     uint64_t ts_ns)
{
	gp_http_msg_init(m, ev, GP_L7P_H2, dir, ts_ns);
	m->stream = stream;
}

static int blind_block(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint32_t stream,
		       int end_stream, uint64_t ts0, uint64_t ts1);

static void say(struct gp_h2_conn *c, const struct gp_http_msg *m)
{
	c->said |= m->ev != GP_HTTP_LOST;
	c->fn(c->ctx, m);
}

/* dir is lost from here on: one GP_HTTP_LOST, its memory freed. */
static int lose(struct gp_h2_conn *c, unsigned dir, unsigned reason, uint64_t ts_ns)
{
	struct gp_http_msg m;

	if (c->d[dir].dead)
		return -EBADMSG;
	c->d[dir].dead = 1;
	dir_release(&c->d[dir]);
	msg_init(&m, GP_HTTP_LOST, dir, 0, ts_ns);
	m.reason = reason;
	say(c, &m);
	return -EBADMSG;
}

/*
 * dir's HPACK state is unknown from here on, framing goes on. The ring's
 * losses are told per direction (with dir 0's count of requests missed);
 * a mid-stream join once per connection, in the direction joined first,
 * which may yet turn out to be the other one.
 */
static void go_blind(struct gp_h2_conn *c, unsigned dir, unsigned reason, uint32_t missed,
		     uint64_t ts_ns)
{
	struct h2_dir *d = &c->d[dir];
	struct gp_http_msg m;
	int tell = reason == GP_HTTP_LOST_MIDSTREAM ? !c->joined : !d->blind || missed > d->missed;

	if (!d->blind || reason == GP_HTTP_LOST_RINGBUF)
		d->blind = reason;
	d->missed = missed > d->missed ? missed : d->missed;
	gp_hpack_free(d->hp);
	d->hp = NULL;
	if (!tell)
		return;
	if (reason == GP_HTTP_LOST_MIDSTREAM)
		c->joined = 1;
	msg_init(&m, GP_HTTP_LOST, dir, 0, ts_ns);
	m.reason = reason;
	m.missed = d->missed;
	say(c, &m);
}

void gp_h2_lost(struct gp_h2_conn *c, unsigned dir, unsigned reason, uint32_t missed,
		uint64_t ts_ns)
{
	struct h2_dir *d;
	int open;

	if (dir > 1)
		return;
	dir ^= c->swap;
	d = &c->d[dir];
	if ((reason != GP_HTTP_LOST_RINGBUF && reason != GP_HTTP_LOST_MIDSTREAM) || d->dead) {
		lose(c, dir, reason, ts_ns);
		return;
	}
	open = d->open;
	d->open = 0;	/* its CONTINUATION may be among the records lost */
	go_blind(c, dir, reason, missed, ts_ns);
	/* A request whose CONTINUATION was lost: the kernel counted its HEADERS delivered. */
	if (open && dir == 0 && d->type == F_HEADERS)
		blind_block(c, dir, F_HEADERS, d->stream, d->end_stream, d->ts_ns, ts_ns);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int eq(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

/* RFC 9113 8.2.1: lowercase visible ASCII, no colon (pseudo-headers aside). */
static int name_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || (s[i] >= 'A' && s[i] <= 'Z') || s[i] >= 0x7f || s[i] == ':')
			return 0;
	return n > 0;
}

/* RFC 9113 8.2.1: no NUL, CR or LF, which would also forge HTTP/1 lines. */
static int value_ok(const uint8_t *s, size_t n)
{
	return !memchr(s, '\0', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n);
}

/* *dst = the field's value, unless already set (a duplicate: malformed). */
static void pick(const uint8_t **dst, size_t *dlen, const uint8_t *v, size_t vlen, int *malformed)
{
	if (*dst) {
		*malformed = 1;
		return;
	}
	*dst = v;
	*dlen = vlen;
}

static void pseudo(struct h2_head *hd, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	if (eq(n, nl, ":method"))
		pick(&hd->method, &hd->method_len, v, vl, &hd->malformed);
	else if (eq(n, nl, ":authority"))
		pick(&hd->authority, &hd->authority_len, v, vl, &hd->malformed);
	else if (eq(n, nl, ":path"))
		pick(&hd->path, &hd->path_len, v, vl, &hd->malformed);
	else if (eq(n, nl, ":status"))
		pick(&hd->status, &hd->status_len, v, vl, &hd->malformed);
	else if (eq(n, nl, ":scheme") || eq(n, nl, ":protocol"))
		hd->request = 1;
	else
		hd->malformed = 1;
}

/* Room for the block's lines: each field's name and value plus ": " and CRLF. */
static int lines_room(struct h2_dir *d, const struct gp_hpack_block *b)
{
	size_t i, need = 1, cap;
	uint8_t *p;

	for (i = 0; i < b->n; i++)
		need += b->f[i].name_len + b->f[i].value_len + 4;
	if (need <= d->lines_cap)
		return 0;
	for (cap = d->lines_cap ? d->lines_cap : 1024; cap < need; cap *= 2)
		;
	p = realloc(d->lines, cap);
	if (!p)
		return -ENOMEM;
	d->lines = p;
	d->lines_cap = cap;
	return 0;
}

/*
 * RFC 9113 8.2.3: cookie crumbs become one "cookie: a; b" line, as in
 * HTTP/1, at out (room for them as separate lines suffices). Its length.
 */
static size_t join_cookies(const struct gp_hpack_block *b, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < b->n; i++) {
		const struct gp_hpack_field *f = &b->f[i];

		if (!eq(b->base + f->name_off, f->name_len, "cookie"))
			continue;
		memcpy(out + o, o ? "; " : "cookie: ", o ? 2 : 8);
		o += o ? 2 : 8;
		memcpy(out + o, b->base + f->value_off, f->value_len);
		o += f->value_len;
	}
	if (o) {
		memcpy(out + o, "\r\n", 2);
		o += 2;
	}
	return o;
}

/* Picks the pseudo-headers and the few fields events carry; the rest become lines. */
static int classify(struct h2_dir *d, const struct gp_hpack_block *b, struct h2_head *hd)
{
	size_t i, o = 0;
	int regular = 0, err;

	memset(hd, 0, sizeof(*hd));
	hd->malformed = b->truncated;
	if ((err = lines_room(d, b)))
		return err;
	for (i = 0; i < b->n; i++) {
		const uint8_t *n = b->base + b->f[i].name_off, *v = b->base + b->f[i].value_off;
		size_t nl = b->f[i].name_len, vl = b->f[i].value_len;

		if (!value_ok(v, vl))
			hd->malformed = 1;
		if (nl && n[0] == ':') {
			/* RFC 9113 8.3: pseudo-headers come first. */
			hd->malformed |= regular;
			pseudo(hd, n, nl, v, vl);
			continue;
		}
		regular = 1;
		if (!name_ok(n, nl))
			hd->malformed = 1;
		else if (eq(n, nl, "host") && !hd->host)
			pick(&hd->host, &hd->host_len, v, vl, &hd->malformed);
		else if (eq(n, nl, "content-type") && !hd->ctype)
			pick(&hd->ctype, &hd->ctype_len, v, vl, &hd->malformed);
		else if (eq(n, nl, "grpc-status") && !hd->grpc)
			pick(&hd->grpc, &hd->grpc_len, v, vl, &hd->malformed);
		else if (eq(n, nl, "cookie"))
			continue;	/* joined below */
		memcpy(d->lines + o, n, nl);
		memcpy(d->lines + o + nl, ": ", 2);
		memcpy(d->lines + o + nl + 2, v, vl);
		memcpy(d->lines + o + nl + 2 + vl, "\r\n", 2);
		o += nl + vl + 4;
	}
	hd->lines_len = o + join_cookies(b, d->lines + o);
	hd->request |= hd->method || hd->path || hd->authority;
	return 0;
}

/* "200": 100..599, else 0. */
static int parse_status(const uint8_t *s, size_t n)
{
	int v;

	if (n != 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
	    s[2] > '9')
		return 0;
	v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return v;
}

/* grpc-status: 0..16, else -1. */
static int parse_grpc(const uint8_t *s, size_t n)
{
	int v = 0;
	size_t i;

	if (!s || !n || n > 2)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 16 ? v : -1;
}

static void set_hdrs(struct gp_http_msg *m, const struct h2_dir *d, const struct h2_head *hd)
{
	m->malformed = hd->malformed;
	if (!hd->malformed) {
		m->hdrs = d->lines;
		m->hdrs_len = hd->lines_len;
	}
}

static void emit_request(struct gp_h2_conn *c, uint32_t stream, uint64_t ts_ns,
			 struct h2_head *hd, int end_stream)
{
	char method[GP_HTTP_METHOD_LEN + 1], authority[GP_HTTP_AUTHORITY_LEN + 1];
	char path[GP_HTTP_PATH_LEN + 1];
	struct gp_http_msg m;

	msg_init(&m, GP_HTTP_REQUEST, 0, stream, ts_ns);
	gp_sanitize_label(hd->method, hd->method_len, method, GP_HTTP_METHOD_LEN);
	if (hd->authority)
		gp_sanitize_label(hd->authority, hd->authority_len, authority,
				  GP_HTTP_AUTHORITY_LEN);
	else
		gp_sanitize_label(hd->host, hd->host_len, authority, GP_HTTP_AUTHORITY_LEN);
	gp_sanitize_label(hd->path, hd->path_len, path, GP_HTTP_PATH_LEN);
	m.method = method;
	m.authority = authority;
	m.path = path;
	m.end_stream = end_stream;
	/* RFC 9113 8.3.1: a request without :method is malformed. */
	hd->malformed |= !hd->method;
	set_hdrs(&m, &c->d[0], hd);
	say(c, &m);
}

/* A block with :status (or one too large to tell) is a response head, else trailers. */
static void emit_response(struct gp_h2_conn *c, uint32_t stream, uint64_t ts_ns,
			  struct h2_head *hd)
{
	struct gp_http_msg m;

	msg_init(&m, hd->status || hd->malformed ? GP_HTTP_RESPONSE : GP_HTTP_TRAILERS, 1, stream,
		 ts_ns);
	m.grpc_status = parse_grpc(hd->grpc, hd->grpc_len);
	if (m.ev == GP_HTTP_RESPONSE) {
		m.status = parse_status(hd->status, hd->status_len);
		hd->malformed |= !m.status;
		m.interim = m.status / 100 == 1 && m.status != 101;
		m.is_grpc = hd->ctype_len >= 16 &&
			    !strncasecmp((const char *)hd->ctype, "application/grpc", 16);
	}
	set_hdrs(&m, &c->d[1], hd);
	say(c, &m);
}

static void emit_simple(struct gp_h2_conn *c, enum gp_http_ev ev, unsigned dir, uint32_t stream,
			uint64_t ts_ns, uint32_t error_code, uint32_t last_stream)
{
	struct gp_http_msg m;

	msg_init(&m, ev, dir, stream, ts_ns);
	m.error_code = error_code;
	m.last_stream = last_stream;
	say(c, &m);
}

/* What a blind block's first field (pseudo-headers come first, RFC 9113 8.3) says. */
static void peek_block(struct h2_dir *d, const uint8_t *frag, size_t len)
{
	struct gp_hpack_peek pk;

	d->pk_kind = PK_UNKNOWN;
	d->pk_status = 0;
	if (gp_hpack_peek(frag, len, &pk) || !pk.name_known)
		return;
	if (strcmp(pk.name, ":status")) {
		d->pk_kind = pk.name[0] == ':' ? PK_REQUEST : PK_OTHER;
		return;
	}
	d->pk_kind = PK_RESPONSE;
	if (pk.value_known)
		d->pk_status = parse_status((const uint8_t *)pk.value, strlen(pk.value));
}

/*
 * A joined connection's first block says which side is the client: turned
 * round before anything but its LOST was told, and while no direction is
 * lost (the consumer then turns its
 * flow round: GP_HTTP_REORIENT); the directions' states go with them.
 */
static unsigned reorient(struct gp_h2_conn *c, unsigned dir)
{
	struct h2_dir t = c->d[0];
	struct gp_http_msg m;
	uint8_t kind = c->d[dir].pk_kind;

	if (!c->joined || c->said || c->d[0].dead || c->d[1].dead || kind == PK_UNKNOWN ||
	    kind == PK_OTHER ||
	    (kind == PK_RESPONSE) == (dir == 1))
		return dir;
	c->d[0] = c->d[1];
	c->d[1] = t;
	c->swap ^= 1;
	msg_init(&m, GP_HTTP_REORIENT, 0, 0, 0);
	say(c, &m);
	return dir ^ 1;
}

/*
 * A header block without HPACK state: told from its stream and what its
 * first field says, never decoded further. A client's new stream has a
 * higher id than all before it (RFC 9113 5.1.1): a request of unknown
 * headers; else the request's trailers. A server's block is a response
 * head (its status when the static table or a literal gives it) or, when
 * it opens with a regular field, trailers.
 */
static int blind_block(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint32_t stream,
		       int end_stream, uint64_t ts0, uint64_t ts1)
{
	struct h2_dir *d;
	struct gp_http_msg m;

	if (type == F_PUSH_PROMISE)
		return 0;
	dir = reorient(c, dir);
	d = &c->d[dir];
	/* A head from the wrong side is no request and no response: not told. */
	if (d->pk_kind == (dir ? PK_REQUEST : PK_RESPONSE))
		return 0;
	if (dir == 0 && (stream <= d->max_sid || d->pk_kind == PK_OTHER))
		return 0;
	msg_init(&m, !dir ? GP_HTTP_REQUEST : d->pk_kind == PK_OTHER ? GP_HTTP_TRAILERS :
		 GP_HTTP_RESPONSE, dir, stream, ts0);
	m.reason = d->blind;
	if (dir == 0) {
		d->max_sid = stream;
		m.end_stream = end_stream;
	} else if (d->pk_status) {
		m.status = d->pk_status;
		m.interim = m.status / 100 == 1 && m.status != 101;
	}
	say(c, &m);
	if (dir && end_stream)
		emit_simple(c, GP_HTTP_RESPONSE_END, 1, stream, ts1, 0, 0);
	return 0;
}

/*
 * A whole header block of stream: decoded (PUSH_PROMISE only for the HPACK
 * state) and told. ts0 is its first frame's, ts1 its last's.
 */
static int block_done(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint32_t stream,
		      int end_stream, const uint8_t *blk, size_t len, uint64_t ts0, uint64_t ts1)
{
	struct h2_dir *d = &c->d[dir];
	struct gp_hpack_block b;
	struct h2_head hd;

	if (d->blind)
		return blind_block(c, dir, type, stream, end_stream, ts0, ts1);
	if (gp_hpack_decode(d->hp, blk, len, &b) || classify(d, &b, &hd))
		return lose(c, dir, GP_HTTP_LOST_HPACK, ts1);
	if (type == F_PUSH_PROMISE)
		return 0;
	if (dir == 0) {
		/* A block without request pseudo-headers is the request's trailers. */
		if (hd.request || b.truncated) {
			if (stream > d->max_sid)
				d->max_sid = stream;
			emit_request(c, stream, ts0, &hd, end_stream);
		}
		return 0;
	}
	emit_response(c, stream, ts0, &hd);
	if (end_stream)
		emit_simple(c, GP_HTTP_RESPONSE_END, 1, stream, ts1, 0, 0);
	return 0;
}

/* A HEADERS or PUSH_PROMISE payload less its padding and priority or promised stream. */
static int fragment(uint8_t type, uint8_t flags, const uint8_t *p, size_t n,
		    const uint8_t **frag, size_t *flen)
{
	size_t pad = 0, skip = 0;

	if (flags & FL_PADDED) {
		if (!n)
			return -EBADMSG;
		pad = p[0];
		skip = 1;
	}
	if (type == F_HEADERS && (flags & FL_PRIORITY))
		skip += 5;
	if (type == F_PUSH_PROMISE)
		skip += 4;
	/* RFC 9113 6.2: padding past the fragment is a protocol error. */
	if (skip + pad > n)
		return -EBADMSG;
	*frag = p + skip;
	*flen = n - skip - pad;
	return 0;
}

static int blk_append(struct h2_dir *d, const uint8_t *p, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (n > GP_H2_BLOCK_MAX - d->blk_len)
		return -E2BIG;
	if (!n)
		return 0;	/* an empty fragment: blk may still be NULL */
	if (d->blk_len + n > d->blk_cap) {
		for (cap = d->blk_cap ? d->blk_cap : 4096; cap < d->blk_len + n; cap *= 2)
			;
		b = realloc(d->blk, cap);
		if (!b)
			return -ENOMEM;
		d->blk = b;
		d->blk_cap = cap;
	}
	memcpy(d->blk + d->blk_len, p, n);
	d->blk_len += n;
	return 0;
}

static int on_headers(struct gp_h2_conn *c, unsigned dir, uint8_t type, uint8_t flags,
		      uint32_t sid, const uint8_t *p, size_t n, uint64_t ts_ns)
{
	struct h2_dir *d = &c->d[dir];
	int end_stream = type == F_HEADERS && (flags & FL_END_STREAM);
	const uint8_t *frag;
	size_t flen;

	if (!sid || fragment(type, flags, p, n, &frag, &flen))
		return lose(c, dir, GP_HTTP_LOST_HPACK, ts_ns);
	if (d->blind)
		peek_block(d, frag, flen);
	if (flags & FL_END_HEADERS)
		return block_done(c, dir, type, sid, end_stream, frag, flen, ts_ns, ts_ns);
	d->blk_len = 0;
	if (!d->blind && blk_append(d, frag, flen))
		return lose(c, dir, GP_HTTP_LOST_TRUNCATED, ts_ns);
	d->open = 1;
	d->type = type;
	d->end_stream = (uint8_t)end_stream;
	d->stream = sid;
	d->ts_ns = ts_ns;
	return 0;
}

static int on_continuation(struct gp_h2_conn *c, unsigned dir, uint8_t flags, uint32_t sid,
			   const uint8_t *p, size_t n, uint64_t ts_ns)
{
	struct h2_dir *d = &c->d[dir];

	if (d->blind && !d->open)
		return 0;	/* its block's start was among the records lost */
	/* RFC 9113 6.10: only right after a block left open, on its stream. */
	if (!d->open || sid != d->stream)
		return lose(c, dir, GP_HTTP_LOST_HPACK, ts_ns);
	if (!d->blind && blk_append(d, p, n))
		return lose(c, dir, GP_HTTP_LOST_TRUNCATED, ts_ns);
	if (!(flags & FL_END_HEADERS))
		return 0;
	d->open = 0;
	return block_done(c, dir, d->type, d->stream, d->end_stream, d->blk, d->blk_len,
			  d->ts_ns, ts_ns);
}

/* SETTINGS_HEADER_TABLE_SIZE from dir's sender bounds the other direction's encoder. */
static int on_settings(struct gp_h2_conn *c, unsigned dir, uint8_t flags, uint32_t sid,
		       const uint8_t *p, size_t n, size_t plen, uint64_t ts_ns)
{
	struct gp_hpack *peer = c->d[!dir].hp;
	size_t i;

	if (sid || (!(flags & FL_ACK) && plen % 6))
		return lose(c, dir, GP_HTTP_LOST_MALFORMED, ts_ns);
	if (flags & FL_ACK)
		return 0;
	for (i = 0; i + 6 <= n; i += 6)
		if (p[i] == 0 && p[i + 1] == SETTINGS_HEADER_TABLE_SIZE && peer)
			gp_hpack_set_max(peer, be32(p + i + 2));
	return 0;
}

int gp_h2_frame(struct gp_h2_conn *c, unsigned dir, const uint8_t *frame, size_t len,
		int truncated, uint64_t ts_ns)
{
	const uint8_t *p;
	size_t plen, n;
	uint8_t type, flags;
	uint32_t sid;

	if (dir > 1)
		return -EINVAL;
	dir ^= c->swap;
	if (c->d[dir].dead)
		return -EBADMSG;
	if (len < FRAME_HDR)
		return lose(c, dir, GP_HTTP_LOST_MALFORMED, ts_ns);
	plen = (size_t)frame[0] << 16 | (size_t)frame[1] << 8 | frame[2];
	type = frame[3];
	flags = frame[4];
	sid = be32(frame + 5) & 0x7fffffff;
	p = frame + FRAME_HDR;
	n = len - FRAME_HDR;
	/* DATA comes as its header only; any other frame whole unless truncated. */
	if (type != F_DATA && (n > plen || (n < plen && !truncated)))
		return lose(c, dir, GP_HTTP_LOST_MALFORMED, ts_ns);
	if (c->d[dir].open && type != F_CONTINUATION)
		return lose(c, dir, GP_HTTP_LOST_HPACK, ts_ns);
	if (n < plen && (type == F_HEADERS || type == F_PUSH_PROMISE || type == F_CONTINUATION))
		return lose(c, dir, GP_HTTP_LOST_TRUNCATED, ts_ns);
	switch (type) {
	case F_DATA:
		if (dir == 1 && sid && (flags & FL_END_STREAM))
			emit_simple(c, GP_HTTP_RESPONSE_END, 1, sid, ts_ns, 0, 0);
		return 0;
	case F_HEADERS:
	case F_PUSH_PROMISE:
		return on_headers(c, dir, type, flags, sid, p, n, ts_ns);
	case F_CONTINUATION:
		return on_continuation(c, dir, flags, sid, p, n, ts_ns);
	case F_SETTINGS:
		return on_settings(c, dir, flags, sid, p, n, plen, ts_ns);
	case F_RST_STREAM:
		if (!sid || plen != 4 || n != 4)
			return lose(c, dir, GP_HTTP_LOST_MALFORMED, ts_ns);
		emit_simple(c, GP_HTTP_RESET, dir, sid, ts_ns, be32(p), 0);
		return 0;
	case F_GOAWAY:
		if (sid || plen < 8 || n < 8)
			return lose(c, dir, GP_HTTP_LOST_MALFORMED, ts_ns);
		emit_simple(c, GP_HTTP_GOAWAY, dir, 0, ts_ns, be32(p + 4), be32(p) & 0x7fffffff);
		return 0;
	default:
		return 0;
	}
}
