// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/h1.h"
#include "decode/h2.h"
#include "decode/l7.h"
#include "util/dlist.h"
#include "util/htab.h"

/*
 * Bytes held by units still being received, all connections together: a
 * peer that leaves many units unfinished costs no more (4 KiB heads or
 * 16 KiB frames on every connection would be gigabytes).
 */
#define PARTIAL_BYTES_MAX	(32u << 20)

struct key {
	struct gp_flow_tuple flow;	/* _pad zeroed */
	uint32_t isn;
};

/* One direction of a connection. */
struct dir {
	uint8_t *buf;		/* the unit so far, when it spans records */
	uint32_t have, cap;	/* its bytes, buf's size */
	uint32_t unit_off;
	uint32_t prev_off, prev_len;	/* the last unit completed */
	uint64_t ts;		/* of the unit's first record */
	uint8_t partial;	/* a unit is being received */
	uint8_t proto;		/* of that unit */
	uint8_t trunc;
	uint8_t dead;		/* GP_HTTP_LOST sent: nothing more is decoded */
	uint8_t h2;		/* HTTP/2 seen: HTTP/1 records are contradictions now */
	uint8_t started;	/* prev_* set */
	uint8_t resync;		/* after a ring loss: records until a unit's start are skipped */
};

struct conn {
	struct gp_l7_conn pub;
	struct key key;
	struct gp_hnode node;
	struct gp_dlink lru;		/* t->lru, by last record */
	struct gp_dlink endl;		/* t->ended, by flow end */
	struct gp_l7 *t;
	struct gp_h2_conn *h2;		/* created at the first HTTP/2 record */
	struct dir d[2];
	uint64_t last_ts, end_ts;
	uint8_t ended;
	uint8_t resp_open;		/* an HTTP/1 final response head without its end */
	uint8_t told_lost[2];		/* a GP_HTTP_LOST that ends the direction was told */
};

struct gp_l7 {
	struct gp_l7_ops ops;
	struct gp_htab tab;
	struct gp_dlist lru, ended;
	uint64_t dropped, bad;
	size_t partial_bytes;		/* the dirs' cap, summed */
	uint8_t scratch[GP_L7_HEAD_MAX];	/* a one-record HTTP/1 head, parsed in place */
};

/*
 * A direction told lost says nothing more, whichever decoder would: an
 * HTTP/2 connection turned round after a mid-stream join may find its
 * client's side among the HTTP/1 directions lost.
 */
static void emit(struct conn *c, const struct gp_http_msg *m)
{
	unsigned dir = m->dir & 1;

	if (c->told_lost[dir])
		return;
	if (m->ev == GP_HTTP_LOST && !m->h1_walk_on &&
	    !(m->proto == GP_L7P_H2 && (m->reason == GP_HTTP_LOST_RINGBUF ||
					m->reason == GP_HTTP_LOST_MIDSTREAM)))
		c->told_lost[dir] = 1;
	c->t->ops.msg(c->t->ops.ctx, &c->pub, m);
}

static void flow_reverse(struct gp_flow_tuple *f)
{
	struct gp_flow_tuple r = *f;

	memcpy(r.saddr, f->daddr, sizeof(r.saddr));
	memcpy(r.daddr, f->saddr, sizeof(r.daddr));
	r.sport = f->dport;
	r.dport = f->sport;
	*f = r;
}

static void h2_emit(void *ctx, const struct gp_http_msg *m)
{
	struct conn *c = ctx;

	if (m->ev == GP_HTTP_REORIENT) {
		flow_reverse(&c->pub.flow);
		return;
	}
	emit(c, m);
}

static void h1_msg(struct gp_http_msg *m, enum gp_http_ev ev, unsigned dir, uint64_t ts,
		   unsigned reason)
{
	gp_http_msg_init(m, ev, GP_L7P_H1, dir, ts);
	m->reason = reason;
}

static void emit_h1(struct conn *c, enum gp_http_ev ev, unsigned dir, uint64_t ts,
		    unsigned reason)
{
	struct gp_http_msg m;

	h1_msg(&m, ev, dir, ts, reason);
	emit(c, &m);
}

static void drop_unit(struct gp_l7 *t, struct dir *d)
{
	t->partial_bytes -= d->cap;
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	d->have = 0;
	d->partial = 0;
}

static struct gp_h2_conn *h2_of(struct conn *c)
{
	if (!c->h2)
		c->h2 = gp_h2_conn_new(h2_emit, c);
	return c->h2;
}

/* dir is lost from here (reason: GP_HTTP_LOST_*), told once, to its decoder. */
static void lose(struct conn *c, unsigned dir, int h2, unsigned reason, uint64_t ts)
{
	struct dir *d = &c->d[dir];

	if (d->dead)
		return;
	d->dead = 1;
	drop_unit(c->t, d);
	if (!h2)
		emit_h1(c, GP_HTTP_LOST, dir, ts, reason);
	else if (h2_of(c))
		gp_h2_lost(c->h2, dir, reason, 0, ts);
}

static int bad(struct conn *c, const struct gp_l7_event *h, unsigned reason)
{
	c->t->bad++;
	lose(c, h->dir, h->proto == GP_L7P_H2 || c->d[h->dir].h2, reason, h->ts_ns);
	return -EINVAL;
}

static void h1_unit(struct conn *c, unsigned dir, uint8_t *buf, size_t len, uint64_t ts)
{
	struct gp_h1_head head;
	struct gp_http_msg m;
	ssize_t n = gp_h1_parse(buf, len, &head);

	if (n < 0 || (size_t)n != len || head.request != !dir) {
		lose(c, dir, 0, GP_HTTP_LOST_HEAD, ts);
		return;
	}
	gp_h1_msg(&head, buf, dir, ts, &m);
	if (dir)
		c->resp_open = !m.interim && m.status != 101;
	emit(c, &m);
}

/* A whole unit of d: to the HTTP/1 parser or the HTTP/2 decoder. */
static void deliver(struct conn *c, unsigned dir, const uint8_t *buf, size_t len)
{
	struct dir *d = &c->d[dir];
	uint8_t *own = d->buf;

	if (d->proto == GP_L7P_H2) {
		if (!h2_of(c) || gp_h2_frame(c->h2, dir, buf, len, d->trunc, d->ts) < 0)
			d->dead = 1;	/* the decoder has said so, or could not be made */
		return;
	}
	if (d->trunc) {
		lose(c, dir, 0, GP_HTTP_LOST_TRUNCATED, d->ts);
		return;
	}
	if (!own) {
		own = c->t->scratch;
		if (len)
			memcpy(own, buf, len);
	}
	h1_unit(c, dir, own, len, d->ts);
}

static int proto_ok(const struct dir *d, unsigned proto)
{
	return proto == GP_L7P_H2 || (proto == GP_L7P_H1 && !d->h2);
}

/* Bytes of the unit d receives: they start it, or continue it exactly. */
static int unit_fits(const struct dir *d, const struct gp_l7_event *h)
{
	if (!d->partial)
		return h->off == h->unit_off &&
		       !(d->started && (uint32_t)(h->unit_off - d->prev_off) < d->prev_len);
	return h->unit_off == d->unit_off && h->off == d->unit_off + d->have &&
	       h->proto == d->proto;
}

/* Room in d->buf for need bytes (need <= max): -ENOBUFS past PARTIAL_BYTES_MAX, -ENOMEM. */
static int grow(struct gp_l7 *t, struct dir *d, size_t need, size_t max)
{
	size_t cap = d->cap ? 2 * (size_t)d->cap : 512;
	uint8_t *b;

	if (need <= d->cap)
		return 0;
	cap = cap < need ? need : cap > max ? max : cap;
	if (t->partial_bytes - d->cap + cap > PARTIAL_BYTES_MAX)
		return -ENOBUFS;
	b = realloc(d->buf, cap);
	if (!b)
		return -ENOMEM;
	t->partial_bytes += cap - d->cap;
	d->buf = b;
	d->cap = (uint32_t)cap;
	return 0;
}

static int unit_rec(struct conn *c, const struct gp_l7_event *h, const uint8_t *data)
{
	struct dir *d = &c->d[h->dir];
	size_t max = h->proto == GP_L7P_H2 ? GP_L7_FRAME_MAX : GP_L7_HEAD_MAX;
	int last = h->flags & GP_L7_F_LAST;

	if (!proto_ok(d, h->proto))
		return bad(c, h, GP_HTTP_LOST_MALFORMED);
	if (d->resync && !d->partial) {
		if (h->off != h->unit_off)
			return 0;	/* the rest of a unit whose start the ring lost */
		d->resync = 0;
	}
	if (!unit_fits(d, h))
		return bad(c, h, GP_HTTP_LOST_GAP);
	if (h->len > max - d->have)
		return bad(c, h, GP_HTTP_LOST_MALFORMED);
	if (!d->partial)
		*d = (struct dir){ .prev_off = d->prev_off, .prev_len = d->prev_len,
				   .started = d->started, .h2 = d->h2, .partial = 1,
				   .unit_off = h->unit_off, .ts = h->ts_ns, .proto = h->proto };
	d->h2 |= h->proto == GP_L7P_H2;
	d->trunc |= !!(h->flags & GP_L7_F_TRUNC);
	if (d->buf || !last) {
		int err = grow(c->t, d, d->have + h->len, max);

		if (err) {
			lose(c, h->dir, d->h2, err == -ENOBUFS ? GP_HTTP_LOST_TRUNCATED :
			     GP_HTTP_LOST_MALFORMED, h->ts_ns);
			return err;
		}
		if (h->len)
			memcpy(d->buf + d->have, data, h->len);
	}
	d->have += h->len;
	if (!last)
		return 0;
	d->prev_off = d->unit_off;
	d->prev_len = d->have;
	d->started = 1;
	deliver(c, h->dir, d->buf ? d->buf : data, d->have);
	drop_unit(c->t, &c->d[h->dir]);
	return 0;
}

static int end_rec(struct conn *c, const struct gp_l7_event *h, const uint8_t *data)
{
	struct dir *d = &c->d[h->dir];

	if (!proto_ok(d, h->proto))
		return bad(c, h, GP_HTTP_LOST_MALFORMED);
	if (d->partial)
		return bad(c, h, GP_HTTP_LOST_GAP);
	if (h->proto == GP_L7P_H2) {
		if (h->len != 9)
			return bad(c, h, GP_HTTP_LOST_MALFORMED);
		d->h2 = 1;
		if (!h2_of(c) || gp_h2_frame(c->h2, h->dir, data, 9, 0, h->ts_ns) < 0)
			d->dead = 1;
		return 0;
	}
	/* The end of a request body, or of an interim response, is no event. */
	if (h->dir && c->resp_open) {
		c->resp_open = 0;
		emit_h1(c, GP_HTTP_RESPONSE_END, 1, h->ts_ns, 0);
	}
	return 0;
}

/*
 * Records the ring lost, or an HTTP/2 direction joined mid-stream: framing
 * goes on. HTTP/2's decoder goes on with the HPACK state unknown; HTTP/1
 * needs no state, and the kernel's count of heads refused (unit_off) keeps
 * requests and responses in step (GP_HTTP_LOST with missed).
 */
static int lost_rec(struct conn *c, const struct gp_l7_event *h)
{
	struct dir *d = &c->d[h->dir];
	unsigned reason = h->reason;
	int h2 = h->proto == GP_L7P_H2 || d->h2;
	struct gp_http_msg m;

	if (!reason || reason >= GP_L7_LOST_MAX)
		reason = GP_HTTP_LOST_MALFORMED;
	if (reason == GP_HTTP_LOST_RINGBUF && h->proto == GP_L7P_H1 && !h2) {
		drop_unit(c->t, d);
		d->resync = 1;
		h1_msg(&m, GP_HTTP_LOST, h->dir, h->ts_ns, reason);
		m.missed = h->unit_off;
		m.h1_walk_on = 1;
		emit(c, &m);
		return 0;
	}
	/* proto NONE: the kernel stopped the walk (a LOST of its own was refused) */
	if ((reason != GP_HTTP_LOST_RINGBUF && reason != GP_HTTP_LOST_MIDSTREAM) ||
	    h->proto == GP_L7P_NONE || !h2 || !h2_of(c)) {
		lose(c, h->dir, h2, reason, h->ts_ns);
		return 0;
	}
	drop_unit(c->t, d);
	d->resync = 1;
	d->h2 = 1;
	/* HTTP/2 dir 0: unit_off is the kernel's count of requests refused */
	gp_h2_lost(c->h2, h->dir, reason, h->dir ? 0 : h->unit_off, h->ts_ns);
	return 0;
}

static void make_key(struct key *k, const struct gp_flow_tuple *f, uint32_t isn)
{
	memset(k, 0, sizeof(*k));
	k->flow = *f;
	k->flow._pad = 0;
	k->isn = isn;
}

static struct conn *find(struct gp_l7 *t, const struct key *k, uint32_t hash)
{
	struct gp_hnode *x;

	for (x = gp_htab_chain(&t->tab, hash); x; x = x->next) {
		struct conn *c = gp_container_of(x, struct conn, node);

		if (x->hash == hash && !memcmp(&c->key, k, sizeof(*k)))
			return c;
	}
	return NULL;
}

int gp_l7_known(struct gp_l7 *t, const struct gp_flow_tuple *f, uint32_t isn)
{
	struct key k;

	make_key(&k, f, isn);
	return find(t, &k, gp_hash_bytes(&k, sizeof(k))) != NULL;
}

/* The record's connection, new if need be; NULL when the table is full. */
static struct conn *conn_of(struct gp_l7 *t, const struct gp_l7_event *h)
{
	struct key k;
	uint32_t hash;
	struct conn *c;

	make_key(&k, &h->flow, h->isn);
	hash = gp_hash_bytes(&k, sizeof(k));
	c = find(t, &k, hash);
	if (c) {
		gp_dlist_del(&t->lru, &c->lru);
	} else {
		if (t->tab.n >= GP_L7_CONNS_MAX || !(c = calloc(1, sizeof(*c)))) {
			t->dropped++;
			return NULL;
		}
		c->key = k;
		c->pub.flow = k.flow;
		c->pub.isn = h->isn;
		c->pub.ifindex = h->ifindex;
		c->pub.tls = !!(h->flags & GP_L7_F_TLS);
		c->t = t;
		gp_htab_add(&t->tab, &c->node, hash);
	}
	gp_dlist_append(&t->lru, &c->lru);
	if (h->ts_ns > c->last_ts)
		c->last_ts = h->ts_ns;
	return c;
}

int gp_l7_record(struct gp_l7 *t, const struct gp_l7_event *h, const uint8_t *data)
{
	struct conn *c;

	if (h->type != GP_EV_L7 || h->dir > 1 || (h->len && !data)) {
		t->bad++;
		return -EINVAL;
	}
	c = conn_of(t, h);
	if (!c)
		return 0;
	if (c->d[h->dir].dead)
		return 0;
	switch (h->kind) {
	case GP_L7_UNIT:
		return unit_rec(c, h, data);
	case GP_L7_END:
		return end_rec(c, h, data);
	case GP_L7_LOST:
		return lost_rec(c, h);
	default:
		return bad(c, h, GP_HTTP_LOST_MALFORMED);
	}
}

/* An HTTP/1 response still open at the flow's end was delimited by the close. */
static void close_delimited(struct conn *c)
{
	if (c->resp_open && !c->d[1].dead && !c->d[1].h2) {
		c->resp_open = 0;
		emit_h1(c, GP_HTTP_RESPONSE_END, 1, c->end_ts, 0);
	}
}

void gp_l7_flow_end(struct gp_l7 *t, const struct gp_flow_tuple *f, uint32_t isn,
		    uint64_t ts_ns)
{
	struct key k;
	struct conn *c;

	make_key(&k, f, isn);
	c = find(t, &k, gp_hash_bytes(&k, sizeof(k)));
	if (!c || c->ended)
		return;
	c->ended = 1;
	c->end_ts = ts_ns;
	gp_dlist_append(&t->ended, &c->endl);
	close_delimited(c);
}

static void conn_close(struct gp_l7 *t, struct conn *c)
{
	if (c->ended)
		close_delimited(c);	/* a head that raced the FIN */
	if (t->ops.close)
		t->ops.close(t->ops.ctx, &c->pub);
	gp_htab_del(&t->tab, &c->node);
	gp_dlist_del(&t->lru, &c->lru);
	if (c->ended)
		gp_dlist_del(&t->ended, &c->endl);
	gp_h2_conn_free(c->h2);
	drop_unit(t, &c->d[0]);
	drop_unit(t, &c->d[1]);
	free(c);
}

void gp_l7_expire(struct gp_l7 *t, uint64_t now_ns, uint64_t idle_ns)
{
	struct conn *c;

	while (t->ended.head) {
		c = gp_container_of(t->ended.head, struct conn, endl);
		if (now_ns < c->end_ts + GP_L7_END_GRACE_NS)
			break;
		conn_close(t, c);
	}
	while (t->lru.head) {
		c = gp_container_of(t->lru.head, struct conn, lru);
		if (now_ns <= c->last_ts || now_ns - c->last_ts < idle_ns)
			break;
		conn_close(t, c);
	}
}

struct gp_l7 *gp_l7_new(const struct gp_l7_ops *ops)
{
	struct gp_l7 *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = *ops;
	if (gp_htab_init(&t->tab, 256)) {
		free(t);
		return NULL;
	}
	return t;
}

void gp_l7_free(struct gp_l7 *t)
{
	if (!t)
		return;
	while (t->lru.head)
		conn_close(t, gp_container_of(t->lru.head, struct conn, lru));
	gp_htab_release(&t->tab);
	free(t);
}

void gp_l7_stats(const struct gp_l7 *t, struct gp_l7_stats *out)
{
	out->conns = t->tab.n;
	out->conns_dropped = t->dropped;
	out->bad_records = t->bad;
}
